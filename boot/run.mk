# Running lvisor and its guests under QEMU and Bochs.

# KERNEL names one of our guests or a path to a multiboot kernel.
KERNEL_FILE = $(or $(filter $(BUILD)/guests/$(KERNEL),$(GUEST_KERNELS)),$(KERNEL))
# Build it first if it is one of ours.
KERNEL_DEP = $(filter $(GUEST_KERNELS),$(KERNEL_FILE))
# The guest's multiboot modules: the kernel with its command line, then INITRD.
GUEST_MODULES = "$(strip $(KERNEL_FILE) $(APPEND))" $(foreach m,$(subst $(comma), ,$(INITRD)),"$(m)")
comma = ,

QEMU_ENV = QEMU="$(QEMU)" QEMU_CPU="$(QEMU_CPU)" QEMU_MEM="$(QEMU_MEM)" QEMU_EXTRA="$(QEMU_EXTRA)"
NEED_QEMU = $(Q)boot/need.sh $(QEMU):qemu-system-x86

## qemu           boot lvisor in QEMU (SVM backend) with KERNEL as its guest
qemu: $(LVISOR) $(FIRMWARE) $(KERNEL_DEP)
	$(NEED_QEMU)
	$(Q)$(QEMU_ENV) boot/qemu.sh $(LVISOR) $(FIRMWARE) $(GUEST_MODULES)

## qemu-kernel    boot KERNEL in QEMU directly, without lvisor, for comparison
qemu-kernel: $(KERNEL_DEP)
	$(NEED_QEMU)
	$(Q)$(QEMU_ENV) boot/qemu.sh $(KERNEL_FILE) $(subst $(comma), ,$(INITRD))

## qemu-gdb       like qemu, but stopped at the first instruction with a GDB stub
qemu-gdb: $(LVISOR) $(FIRMWARE) $(KERNEL_DEP)
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
