# Running lvisor and its guests under QEMU and Bochs.

# KERNEL names one of our guests or a path to a multiboot kernel.
KERNEL_FILE = $(or $(filter $(BUILD)/guests/$(KERNEL),$(GUEST_KERNELS)),$(KERNEL))
# Build it first if it is one of ours.
KERNEL_DEP = $(filter $(GUEST_KERNELS),$(KERNEL_FILE))
# The guest's multiboot modules: the kernel with its command line, then INITRD.
GUEST_MODULES = "$(strip $(KERNEL_FILE) $(APPEND))" $(foreach m,$(subst $(comma), ,$(INITRD)),"$(m)")
comma = ,

# KERNEL2: a second guest, run by the second CPU with POLICY2 (or POLICY),
# its own memory and COM2 as its console (vmm/smp.c, vmm/guest.c). Its
# firmware and kernel are multiboot modules too, marked by their command
# line's first word, "guest2"; the firmware's line also gives the second
# guest's memory, MEM2 MiB ("mem=MEM2"). It needs two CPUs: KERNEL2 sets
# CPUS=2, and the machine lvisor's end (320 MiB) plus MEM2 of RAM:
# QEMU_MEM and BOCHS_MEM default to 1024 with KERNEL2 (config.def).
KERNEL2_FILE = $(or $(filter $(BUILD)/guests/$(KERNEL2),$(GUEST_KERNELS)),$(KERNEL2))
KERNEL2_DEP = $(filter $(GUEST_KERNELS),$(KERNEL2_FILE))
# KERNEL2=linux: the same kernel and initramfs as KERNEL=linux (below), its
# command line LINUX_CMDLINE then APPEND2; INITRD2 replaces the initramfs.
ifeq ($(KERNEL2),linux)
KERNEL2_FILE = $(LINUX_KERNEL)
override INITRD2 := $(or $(INITRD2),$(LINUX_INITRD))
override APPEND2 := $(strip $(LINUX_CMDLINE) $(APPEND2))
qemu bochs: $(LINUX_KERNEL) $(if $(filter $(LINUX_INITRD),$(INITRD2)),$(LINUX_INITRD))
endif
ifneq ($(strip $(KERNEL2)),)
ifeq ($(CPUS),1)
override CPUS = 2
endif
GUEST_MODULES += "$(FIRMWARE) guest2 mem=$(MEM2)" "$(strip $(KERNEL2_FILE) guest2 $(APPEND2))" \
	$(foreach m,$(subst $(comma), ,$(INITRD2)),"$(m) guest2")
KERNEL_DEP += $(KERNEL2_DEP)
CHECK_KERNEL2 = ; test -f "$(KERNEL2_FILE)" || { echo "lvisor: KERNEL2=$(KERNEL2): $(KERNEL2_FILE): no such file" >&2; exit 1; }
endif

# KERNEL=linux: Debian's kernel and our busybox initramfs, fetched and built
# first (guests/linux/linux.mk). Its command line is LINUX_CMDLINE, then
# APPEND; INITRD replaces our initramfs.
ifeq ($(KERNEL),linux)
KERNEL_FILE = $(LINUX_KERNEL)
LINUX_DEPS := $(LINUX_KERNEL) $(if $(INITRD),,$(LINUX_INITRD))
override INITRD := $(or $(INITRD),$(LINUX_INITRD))
override APPEND := $(strip $(LINUX_CMDLINE) $(APPEND))
qemu qemu-kernel qemu-gdb bochs bochs-kernel bochs-debug: $(LINUX_DEPS)
endif

# A missing kernel is reported before any emulator starts.
CHECK_KERNEL = $(Q)test -f "$(KERNEL_FILE)" || { echo "lvisor: KERNEL=$(KERNEL): $(KERNEL_FILE): no such file" >&2; exit 1; } $(CHECK_KERNEL2)

# With KERNEL2, both guests' consoles are on the terminal (boot/consoles.py:
# the second guest's lines behind "guest2| ", Ctrl-] switches typing
# between them) and each in a file: COM2 in COM2_LOG, COM1 in COM1_LOG.
COM2_LOG = $(POLICY_DIR)/com2-$(notdir $(KERNEL2_FILE)).log
COM1_LOG = $(POLICY_DIR)/com1-$(notdir $(KERNEL_FILE)).log
QEMU_ENV = $(if $(strip $(KERNEL2)),COM2="$(COM2_LOG)" COM1_LOG="$(COM1_LOG)") CPUS="$(CPUS)" QEMU="$(QEMU)" QEMU_CPU="$(QEMU_CPU)" QEMU_MEM="$(QEMU_MEM)" QEMU_EXTRA="$(QEMU_EXTRA)" QMP="$(QMP)"
NEED_QEMU = $(Q)boot/need.sh $(QEMU):qemu-system-x86

## qemu           boot lvisor in QEMU (SVM backend) with KERNEL as its guest
qemu: $(LVISOR) $(FIRMWARE) $(KERNEL_DEP)
	$(CHECK_KERNEL)
	$(NEED_QEMU)
	$(Q)$(QEMU_ENV) boot/qemu.sh $(LVISOR) $(FIRMWARE) $(GUEST_MODULES)

## qemu-kernel    boot KERNEL in QEMU directly, without lvisor, for comparison
qemu-kernel: $(KERNEL_DEP)
	$(CHECK_KERNEL)
	$(NEED_QEMU)
	$(Q)$(QEMU_ENV) boot/qemu.sh "$(strip $(KERNEL_FILE) $(APPEND))" $(subst $(comma), ,$(INITRD))

## qemu-gdb       like qemu, but stopped at the first instruction with a GDB stub
qemu-gdb: $(LVISOR) $(FIRMWARE) $(KERNEL_DEP)
	$(CHECK_KERNEL)
	$(NEED_QEMU)
	$(Q)$(QEMU_ENV) boot/qemu.sh --gdb $(GDB_PORT) $(LVISOR) $(FIRMWARE) $(GUEST_MODULES)

.PHONY: qemu qemu-kernel qemu-gdb

## gdb            attach GDB to `make qemu-gdb`, with symbols for lvisor, the firmware and lv6
gdb:
	$(Q)boot/need.sh gdb:gdb
	gdb -q $(LVISOR).elf -ex 'set confirm off' \
		-ex 'add-symbol-file $(FIRMWARE:.bin=.elf)' \
		$(if $(KERNEL_DEP),-ex 'add-symbol-file $(KERNEL_DEP).elf') \
		-ex 'target remote localhost:$(GDB_PORT)'

.PHONY: gdb

# Bochs: boot/bochs.sh builds a GRUB rescue ISO (Bochs cannot load a kernel
# itself) and runs Bochs headless with COM1 on this terminal.
BOCHS_ENV = boot/bochs.sh --cpu $(BOCHS_CPU) --cpus $(CPUS) --megs $(BOCHS_MEM)
# With KERNEL2, COM2 goes to the terminal and the same file as QEMU's
# (COM2_LOG), COM1 also to COM1_LOG (boot/consoles.py): the second
# guest's modules reach lvisor through GRUB's module lines, their strings
# starting "basename guest2", which lvisor's marker test takes as QEMU's
# "path guest2" (vmm/guest.c looks at the word after the first space).
BOCHS_COM2 = $(if $(strip $(KERNEL2)),--com2 "$(COM2_LOG)" --com1-log "$(COM1_LOG)")
# Its ISO, configuration and logs: one directory per policy and guest, so
# that runs of different guests can go on side by side (and of CPUS other
# than 1: -cpusN; with KERNEL2: +KERNEL2).
BOCHS_DIR = $(BUILD)/bochs/$(notdir $(POLICY_DIR))-$(notdir $(KERNEL_FILE))$(if $(strip $(KERNEL2)),+$(notdir $(KERNEL2_FILE)))$(if $(filter-out 1,$(CPUS)),-cpus$(CPUS))
NEED_BOCHS = $(Q)boot/need.sh bochs:bochs /usr/share/bochs/BIOS-bochs-latest:bochsbios \
	/usr/share/vgabios/vgabios.bin:vgabios grub-mkrescue:grub-common \
	/usr/lib/grub/i386-pc:grub-pc-bin xorriso:xorriso mformat:mtools

## bochs          boot lvisor in Bochs (VMX backend with BOCHS_CPU=broadwell_ult) with KERNEL as its guest
bochs: $(LVISOR) $(FIRMWARE) $(KERNEL_DEP)
	$(CHECK_KERNEL)
	$(NEED_BOCHS)
	$(Q)$(BOCHS_ENV) $(BOCHS_COM2) $(BOCHS_DIR) $(LVISOR) $(FIRMWARE) $(GUEST_MODULES)

## bochs-kernel   boot KERNEL in Bochs directly, without lvisor
# A multiboot kernel is booted by GRUB's multiboot command, a Linux bzImage
# (KERNEL=linux) by its linux and initrd commands (boot/bochs.sh). Its
# directory is $(BUILD)/bochs/bare-KERNEL, or BOCHS_DIR if given on the
# command line (make bench keeps its runs apart from the tests' that way).
bochs-kernel: $(KERNEL_DEP)
	$(CHECK_KERNEL)
	$(NEED_BOCHS)
	$(Q)$(BOCHS_ENV) $(if $(APPEND),--cmdline "$(APPEND)") \
		$(if $(filter command line,$(origin BOCHS_DIR)),$(BOCHS_DIR),$(BUILD)/bochs/bare-$(notdir $(KERNEL_FILE))) \
		$(KERNEL_FILE) $(subst $(comma), ,$(INITRD))

## bochs-debug    like bochs, but stopped in Bochs' internal debugger (Debian's Bochs has no GDB stub)
bochs-debug: $(LVISOR) $(FIRMWARE) $(KERNEL_DEP)
	$(CHECK_KERNEL)
	$(NEED_BOCHS)
	$(Q)$(BOCHS_ENV) $(BOCHS_COM2) --debugger $(BOCHS_DIR) $(LVISOR) $(FIRMWARE) $(GUEST_MODULES)

.PHONY: bochs bochs-kernel bochs-debug
