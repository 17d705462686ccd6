# vmm/: the hypervisor core, its two backends (vmm/svm/, vmm/vmx/) and its
# entry code (boot/), linked with the C generated from the policy. Each
# policy file gets its own lvisor binary in $(BUILD)/policy/ID/ (ID: see
# POLICY_ID in the Makefile), so switching policies rebuilds only the
# generated files.
VMM_SRCS = boot/entry.S \
	vmm/main.c vmm/policy.c vmm/mm.c vmm/guest.c vmm/vcpu.c vmm/stats.c vmm/exits.c vmm/poweroff.c vmm/reset.c vmm/pci.c vmm/acpi.c vmm/apic.c vmm/ioapic.c vmm/devices.c vmm/memwatch.c vmm/selfcheck.c vmm/vectors.S vmm/trap.c vmm/msr_safe.S \
	$(wildcard vmm/actions.c) vmm/syscall.c \
	vmm/guest_mem.c vmm/decode.c \
	vmm/svm/svm.c vmm/svm/svm_enter.S vmm/svm/svm_exits.c vmm/svm/npt.c vmm/svm/decode.c \
	$(wildcard vmm/vmx/*.c vmm/vmx/*.S)
# A second CPU (make qemu CPUS=2): its real-mode trampoline and start-up.
VMM_SRCS += boot/trampoline.S vmm/smp.c vmm/mptable.c
VMM_OBJS = $(call obj64,$(VMM_SRCS))
CFLAGS_vmm = -Ivmm -I$(CORE_GEN)

# The core's port and MSR numbers come from codegen/core.py through the
# generated core_ports.h (codegen/codegen.mk), which must exist before a
# vmm object that includes it compiles, also in a parallel build from a clean
# tree. Order-only: afterwards the objects' -MMD dependency files name the
# header, so a change to it rebuilds exactly the objects that include it.
$(VMM_OBJS): | $(CORE_PORTS_H)

# With POLICY2, the second policy is linked in too (codegen/codegen.mk):
# that lvisor is the pair's, in $(BUILD)/policy/ID+ID2/; the first policy's
# object is the same as without it, in $(GEN).
POLICY_DIR = $(BUILD)/policy/$(POLICY_ID)$(if $(POLICY2),+$(POLICY2_ID))
GEN_OBJS = $(GEN_SRCS:.c=.o) $(GEN2_SRCS:.c=.o)
LVISOR = $(POLICY_DIR)/lvisor

$(GEN)/%.o: $(GEN)/%.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS64) -Ivmm -c -o $@ $<
ifneq ($(POLICY2),)
$(GEN2)/%.o: $(GEN2)/%.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS64) -Ivmm -c -o $@ $<
endif

$(LVISOR).elf: $(VMM_OBJS) $(GEN_OBJS) $(LIB64) boot/vmm.ld
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(LD) $(LDFLAGS64) -T boot/vmm.ld -o $@ $(VMM_OBJS) $(GEN_OBJS) $(LIB64)
$(LVISOR): $(LVISOR).elf
	$(call elf32,$<,$@)
