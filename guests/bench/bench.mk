# guests/bench/: the bench guest and `make bench`.
#   bench      a 32-bit multiboot kernel that times VM exits and exit-free
#              loops with the TSC (guests/bench/bench.c says what and how)
#   bench.py   runs it, lv6 and Linux (KERNEL=linux) under lvisor and bare on
#              QEMU/SVM and Bochs/VMX, and writes $(BUILD)/bench/bench.md and
#              bench.png
BENCH = $(BUILD)/guests/bench
BENCH_OBJS = $(call obj32,guests/test/start32.S guests/bench/bench.c)
$(BENCH).elf: $(BENCH_OBJS) $(LIB32) guests/test/test.ld
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(LD) $(LDFLAGS32) -T guests/test/test.ld -o $@ $(BENCH_OBJS) $(LIB32)
$(BENCH): $(BENCH).elf
	$(call msg,STRIP,$@)
	$(Q)$(OBJCOPY) --strip-debug $< $@

GUEST_KERNELS += $(BENCH)

# Runs of each measurement, and a quick mode (one run, fewer iterations,
# no Linux) for the tests. BENCH_LINUX=0 leaves Linux out; Linux boots
# BENCH_RUNS times each way on QEMU, but BENCH_LINUX_BOCHS_RUNS times on
# Bochs (about two minutes of wall time a boot, and its figures are
# deterministic anyway).
BENCH_RUNS ?= 5
BENCH_QUICK ?=
BENCH_LINUX ?= 1
BENCH_LINUX_BOCHS_RUNS ?= 1
BENCH_WITH_LINUX = $(and $(filter-out 0,$(BENCH_LINUX)),$(if $(BENCH_QUICK),,yes))

NEED_BENCH = $(Q)boot/need.sh $(PYTHON):python3 python:matplotlib:python3-matplotlib

## bench          measure exit costs and overheads on QEMU/SVM and Bochs/VMX (BENCH_RUNS=5, BENCH_QUICK=1, BENCH_LINUX=0)
bench: $(BENCH) $(LV6) $(FIRMWARE) $(if $(BENCH_WITH_LINUX),$(LINUX_KERNEL) $(LINUX_INITRD))
	$(NEED_BENCH)
	$(NEED_QEMU)
	$(NEED_BOCHS)
	$(if $(BENCH_WITH_LINUX),$(Q)boot/need.sh $(PYTHON):python3 python:pexpect:python3-pexpect)
	$(Q)$(PYTHON) guests/bench/bench.py --build $(BUILD) --runs $(BENCH_RUNS) $(if $(BENCH_QUICK),--quick) \
		$(if $(BENCH_WITH_LINUX),--linux-bochs-runs $(BENCH_LINUX_BOCHS_RUNS),--no-linux)

.PHONY: bench
