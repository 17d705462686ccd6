# guests/bench/: the bench guest and `make bench`.
#   bench      a 32-bit multiboot kernel that times VM exits and exit-free
#              loops with the TSC (guests/bench/bench.c says what and how)
#   bench.py   runs it, and lv6, under lvisor and bare on QEMU/SVM and
#              Bochs/VMX, and writes $(BUILD)/bench/bench.md and bench.png
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

# Runs of each measurement, and a quick mode (one run, fewer iterations)
# for the tests.
BENCH_RUNS ?= 5
BENCH_QUICK ?=

NEED_BENCH = $(Q)boot/need.sh $(PYTHON):python3 python:matplotlib:python3-matplotlib

## bench          measure exit costs and overheads on QEMU/SVM and Bochs/VMX (BENCH_RUNS=5, BENCH_QUICK=1)
bench: $(BENCH) $(LV6) $(FIRMWARE)
	$(NEED_BENCH)
	$(NEED_QEMU)
	$(NEED_BOCHS)
	$(Q)$(PYTHON) guests/bench/bench.py --build $(BUILD) --runs $(BENCH_RUNS) $(if $(BENCH_QUICK),--quick)

.PHONY: bench
