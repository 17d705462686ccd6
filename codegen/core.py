"""What the VMM core needs from every policy, whatever the policy says.

This is the one place that lists the controls and exit-table entries the core
relies on (vmm/exits.h has the handlers). The encoders merge these with the
policy's rules; each lands in the generated C marked "required by the core".
Each entry says why.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CoreControl:
    field: str      # struct member: proc_based, intercept_misc1, ...
    name: str       # header constant
    ref: str        # manual section
    why: str


@dataclass(frozen=True)
class CoreExit:
    code: int       # exit code, only used for ordering the table
    name: str       # header constant
    handler: str    # vmm/exits.h function
    ref: str
    why: str
    policy: str = None   # the event whose policy rule replaces this entry


# ---- Intel VMX ------------------------------------------------------------

VMX_CONTROLS = [
    CoreControl("proc_based", "CPU_BASED_USE_IO_BITMAPS", "SDM 25.6.2",
                "I/O exits follow the I/O bitmaps built from policy_io[]"),
    CoreControl("proc_based", "CPU_BASED_USE_MSR_BITMAPS", "SDM 25.6.2",
                "MSR exits follow the MSR bitmap built from policy_msr[]"),
    CoreControl("proc_based", "CPU_BASED_ACTIVATE_SECONDARY", "SDM 25.6.2",
                "EPT and unrestricted guest are secondary controls"),
    CoreControl("proc_based2", "SECONDARY_ENABLE_EPT", "SDM 25.6.2",
                "guest-physical memory is mapped by EPT"),
    CoreControl("proc_based2", "SECONDARY_UNRESTRICTED_GUEST", "SDM 25.6.2",
                "the firmware starts in real mode"),
    CoreControl("proc_based2", "SECONDARY_ENABLE_RDTSCP", "SDM 25.6.2",
                "without it RDTSCP raises #UD in the guest"),
    CoreControl("exit_controls", "VM_EXIT_HOST_ADDR_SPACE_SIZE", "SDM 25.7.1",
                "the VMM runs in 64-bit mode"),
    CoreControl("exit_controls", "VM_EXIT_SAVE_DEBUG_CONTROLS", "SDM 25.7.1",
                "the guest's DR7 and IA32_DEBUGCTL live in the VMCS: an exit resets them (SDM 28.5.1)"),
    CoreControl("exit_controls", "VM_EXIT_SAVE_EFER", "SDM 25.7.1",
                "the guest's EFER lives in the VMCS"),
    CoreControl("exit_controls", "VM_EXIT_LOAD_EFER", "SDM 25.7.1",
                "the VMM gets its own EFER back on every exit"),
    CoreControl("exit_controls", "VM_EXIT_SAVE_PAT", "SDM 25.7.1",
                "the guest's PAT lives in the VMCS"),
    CoreControl("exit_controls", "VM_EXIT_LOAD_PAT", "SDM 25.7.1",
                "the VMM gets its own PAT back on every exit"),
    CoreControl("entry_controls", "VM_ENTRY_LOAD_DEBUG_CONTROLS", "SDM 25.8.1",
                "the guest gets its DR7 and IA32_DEBUGCTL back on every entry"),
    CoreControl("entry_controls", "VM_ENTRY_LOAD_EFER", "SDM 25.8.1",
                "the guest's EFER is loaded on every entry"),
    CoreControl("entry_controls", "VM_ENTRY_LOAD_PAT", "SDM 25.8.1",
                "the guest's PAT is loaded on every entry"),
]

_VMX_INSNS = [(19, "VMCLEAR"), (20, "VMLAUNCH"), (21, "VMPTRLD"), (22, "VMPTRST"),
              (23, "VMREAD"), (24, "VMRESUME"), (25, "VMWRITE"), (26, "VMXOFF"),
              (27, "VMXON"), (50, "INVEPT"), (53, "INVVPID"), (59, "VMFUNC")]

VMX_EXITS = [
    CoreExit(2, "EXIT_REASON_TRIPLE_FAULT", "core_triple_fault", "SDM 28.1",
             "the guest is dead: report and stop"),
    CoreExit(3, "EXIT_REASON_INIT_SIGNAL", "core_init_signal", "SDM 26.2",
             "INIT always exits in VMX non-root operation (and is blocked in root): report and stop"),
    CoreExit(10, "EXIT_REASON_CPUID", "core_cpuid", "SDM 26.1.2",
             "CPUID always exits; the core hides VMX from the guest", policy="cpuid"),
    CoreExit(13, "EXIT_REASON_INVD", "core_invd", "SDM 26.1.2",
             "INVD always exits"),
    CoreExit(18, "EXIT_REASON_VMCALL", "core_hypercall_ud", "SDM 26.1.2",
             "VMCALL always exits; with no rule the guest gets #UD", policy="vmcall"),
    CoreExit(28, "EXIT_REASON_CR_ACCESS", "core_cr_access", "SDM 26.1.3",
             "CR0/CR4 writes to bits the core owns (it sets its own guest/host masks)",
             policy="cr"),
    CoreExit(31, "EXIT_REASON_MSR_READ", "core_msr", "SDM 26.1.3",
             "MSRs outside the bitmap ranges always exit; EFER is in policy_msr[]",
             policy="msr"),
    CoreExit(32, "EXIT_REASON_MSR_WRITE", "core_msr", "SDM 26.1.3",
             "MSRs outside the bitmap ranges always exit; EFER is in policy_msr[]",
             policy="msr"),
    CoreExit(33, "EXIT_REASON_INVALID_GUEST_STATE", "core_invalid_state", "SDM 27.8",
             "VM entry failed on the guest state"),
    CoreExit(34, "EXIT_REASON_MSR_LOADING", "core_invalid_state", "SDM 27.8",
             "VM entry failed loading MSRs"),
    CoreExit(41, "EXIT_REASON_MCE_DURING_VMENTRY", "core_invalid_state", "SDM 27.8",
             "VM entry failed on a machine check"),
    CoreExit(48, "EXIT_REASON_EPT_VIOLATION", "core_vmm_memory", "SDM 29.3.3",
             "the guest touched memory EPT does not give it (the VMM's)"),
    CoreExit(49, "EXIT_REASON_EPT_MISCONFIG", "core_vmm_memory", "SDM 29.3.3",
             "a broken EPT entry: report and stop"),
    CoreExit(55, "EXIT_REASON_XSETBV", "core_xsetbv", "SDM 26.1.2",
             "XSETBV always exits"),
] + [CoreExit(code, f"EXIT_REASON_{name}", "core_virt_instruction", "SDM 26.1.2",
              f"{name} always exits: no nested virtualization")
     for code, name in _VMX_INSNS]

# ---- AMD SVM --------------------------------------------------------------

SVM_CONTROLS = [
    CoreControl("intercept_misc1", "SVM_INTERCEPT_INVD", "APM table B-1",
                "INVD would drop lvisor's own dirty cache lines: core_invd does WBINVD"),
    CoreControl("intercept_misc1", "SVM_INTERCEPT_INVLPGA", "APM table B-1",
                "INVLPGA would flush the VMM's ASID: no nested virtualization"),
    CoreControl("intercept_misc1", "SVM_INTERCEPT_MSR_PROT", "APM 15.11",
                "EFER must be intercepted: the guest must keep EFER.SVME set and not see it"),
    CoreControl("intercept_misc1", "SVM_INTERCEPT_INIT", "APM table B-1",
                "an INIT would reset the CPU under lvisor: report and stop"),
    CoreControl("intercept_misc1", "SVM_INTERCEPT_SHUTDOWN", "APM table B-1",
                "a guest triple fault must not reset the machine"),
    CoreControl("intercept_misc2", "SVM_INTERCEPT_VMRUN", "APM 15.5.1",
                "VMRUN must be intercepted, else VMRUN fails"),
    CoreControl("intercept_misc2", "SVM_INTERCEPT_VMLOAD", "APM table B-1",
                "no nested virtualization"),
    CoreControl("intercept_misc2", "SVM_INTERCEPT_VMSAVE", "APM table B-1",
                "no nested virtualization"),
    CoreControl("intercept_misc2", "SVM_INTERCEPT_STGI", "APM table B-1",
                "no nested virtualization"),
    CoreControl("intercept_misc2", "SVM_INTERCEPT_CLGI", "APM table B-1",
                "no nested virtualization"),
    CoreControl("intercept_misc2", "SVM_INTERCEPT_SKINIT", "APM table B-1",
                "no nested virtualization"),
]
# CPUID is intercepted for the core (it hides SVM) unless the policy has a
# cpuid rule; the SVM encoder adds it then.
SVM_CPUID = CoreControl("intercept_misc1", "SVM_INTERCEPT_CPUID", "APM table B-1",
                        "the core hides SVM from the guest")

SVM_EXITS = [
    CoreExit(0x76, "SVM_EXIT_INVD", "core_invd", "APM table B-1",
             "INVD would drop lvisor's own dirty cache lines"),
    CoreExit(0x63, "SVM_EXIT_INIT", "core_init_signal", "APM table B-1",
             "an INIT would reset the CPU under lvisor: report and stop"),
    CoreExit(0x72, "SVM_EXIT_CPUID", "core_cpuid", "APM table B-1",
             "the core hides SVM from the guest", policy="cpuid"),
    CoreExit(0x7a, "SVM_EXIT_INVLPGA", "core_virt_instruction", "APM table B-1",
             "no nested virtualization"),
    CoreExit(0x7c, "SVM_EXIT_MSR", "core_msr", "APM 15.11",
             "EFER (and MSRs outside the MSRPM ranges) are the core's", policy="msr"),
    CoreExit(0x7f, "SVM_EXIT_SHUTDOWN", "core_triple_fault", "APM table B-1",
             "the guest is dead: report and stop"),
    CoreExit(0x80, "SVM_EXIT_VMRUN", "core_virt_instruction", "APM 15.5.1",
             "no nested virtualization"),
    CoreExit(0x82, "SVM_EXIT_VMLOAD", "core_virt_instruction", "APM table B-1",
             "no nested virtualization"),
    CoreExit(0x83, "SVM_EXIT_VMSAVE", "core_virt_instruction", "APM table B-1",
             "no nested virtualization"),
    CoreExit(0x84, "SVM_EXIT_STGI", "core_virt_instruction", "APM table B-1",
             "no nested virtualization"),
    CoreExit(0x85, "SVM_EXIT_CLGI", "core_virt_instruction", "APM table B-1",
             "no nested virtualization"),
    CoreExit(0x86, "SVM_EXIT_SKINIT", "core_virt_instruction", "APM table B-1",
             "no nested virtualization"),
    CoreExit(0x400, "SVM_EXIT_NPF", "core_vmm_memory", "APM 15.25",
             "the guest touched memory the nested page tables do not give it (the VMM's)"),
]

# The MSRs the core intercepts for itself, listed in policy_msr[]; a policy
# rule for any of them is an error (model.py).
# (first, last, dirs, name, why)
MSRS = [
    (0xC0000080, 0xC0000080, "POLICY_READ | POLICY_WRITE", "EFER",
     "on SVM the guest must keep EFER.SVME set and not see it (APM 15.4)"),
    (0xC0010114, 0xC0010118, "POLICY_READ | POLICY_WRITE", "SVM's MSRs, VM_CR to the SVM lock key",
     "#GP, as without SVM; VM_HSAVE_PA is lvisor's (APM 15.30)"),
]

# ---- I/O ports the core intercepts for itself -------------------------------


@dataclass(frozen=True)
class CoreIo:
    """A port range whose OUT the core intercepts, listed in policy_io[] and
    dispatched by exit_io to `handler`. The I/O bitmaps have one bit per port
    for both directions (SDM 25.6.4, APM 15.10.1), so an IN from these ports
    exits too: the handler performs it as the hardware would."""
    first: int
    last: int
    handler: str    # vmm/exits.h function
    ref: str
    why: str
    dir = "out"     # the direction the core is after
    exits = True    # (read like a policy Rule by the encoders and the templates)
    core = True

    @property
    def where(self):
        return f"required by the core: {self.why} -- {self.ref}"

    @property
    def text(self):
        return self.where


# The ports guests power the emulated machine off with. Each of these writes
# ends the emulator, so lvisor would never see the guest stop: the core
# prints its exit statistics first, then does the guest's OUT itself
# (vmm/poweroff.c). And the ports that reset the machine: a reset would
# restart lvisor's machine without a word, so the core reports the guest's
# state and stops it instead (vmm/reset.c), as it does for an ACPI sleep
# state; every OUT lvisor performs is checked byte by byte, so a wide OUT
# that straddles one of these ports is caught too. Every other port passes through.
IO = [
    CoreIo(0x60, 0x60, "core_reset_io", "8042 keyboard controller",
           "reset: the data byte after command 0xD1 is the output port (bit 0 clear resets, bit 1 is A20)"),
    CoreIo(0x64, 0x64, "core_reset_io", "8042 keyboard controller",
           "reset: a command to port 0x64 that pulses the reset line (0xF0-0xFF, bit 0 clear)"),
    CoreIo(0x92, 0x92, "core_reset_io", "PS/2 system control port A",
           "reset: bit 0 of port 0x92 (fast reset); bit 1 (A20) stays on"),
    CoreIo(0xCF9, 0xCF9, "core_reset_io", "PIIX3/4 reset control register",
           "reset: port 0xcf9 with bit 2 (RST_CPU) set"),
    CoreIo(0xF4, 0xF7, "core_poweroff_io", "boot/qemu.sh",
           "power-off: QEMU's isa-debug-exit (iobase=0xf4, iosize=4): any OUT ends QEMU"),
    CoreIo(0x604, 0x605, "core_poweroff_io", "ACPI 6.0 4.8.3.2.1",
           "power-off: ACPI PM1a_CNT on QEMU's i440fx (PIIX4 PM at 0x600): SLP_EN (bit 13)"),
    CoreIo(0x8900, 0x8900, "core_poweroff_io", "boot/bochs.sh",
           "power-off: Bochs' shutdown port: the bytes \"Shutdown\""),
    CoreIo(0xB004, 0xB005, "core_poweroff_io", "ACPI 6.0 4.8.3.2.1",
           "power-off: ACPI PM1a_CNT on Bochs (PM base 0xb000): SLP_EN (bit 13)"),
]
