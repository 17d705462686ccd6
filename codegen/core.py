"""What the VMM core needs from every policy, whatever the policy says.

This is the one place that lists the controls and exit-table entries the core
relies on (vmm/exits.h has the handlers). The encoders merge these with the
policy's rules; each lands in the generated C marked "required by the core".
Each entry says why.

It is also the one place for the numbers of the I/O ports and MSRs the core
keeps for itself (IO, MSRS): `lvpolicy.py core-header` writes them into
core_ports.h as CORE_PORT_<name> and CORE_MSR_<name>, and the C that
handles them (vmm/reset.c, poweroff.c, pci.c, exits.c) uses those names, so
a port or MSR changed here changes in the C too.
"""

from dataclasses import dataclass

from encoding import by_core


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
                "every port exits but those in io_grants[] (deny by default)"),
    CoreControl("proc_based", "CPU_BASED_USE_MSR_BITMAPS", "SDM 25.6.2",
                "every MSR exits but those in msr_grants[] (deny by default)"),
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
             "INIT always exits in VMX non-root operation (and is blocked in root): report and stop; "
             "on the second guest's CPU, from another CPU: ignored"),
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
             "every MSR the policy does not grant exits: the core's own, else #GP",
             policy="msr"),
    CoreExit(32, "EXIT_REASON_MSR_WRITE", "core_msr", "SDM 26.1.3",
             "every MSR the policy does not grant exits: the core's own, else #GP",
             policy="msr"),
    CoreExit(33, "EXIT_REASON_INVALID_GUEST_STATE", "core_invalid_state", "SDM 27.8",
             "VM entry failed on the guest state"),
    CoreExit(34, "EXIT_REASON_MSR_LOADING", "core_invalid_state", "SDM 27.8",
             "VM entry failed loading MSRs"),
    CoreExit(41, "EXIT_REASON_MCE_DURING_VMENTRY", "core_invalid_state", "SDM 27.8",
             "VM entry failed on a machine check"),
    CoreExit(48, "EXIT_REASON_EPT_VIOLATION", "core_npf", "SDM 29.3.3",
             "with two guests, a write to the local APIC's read-only page, which the core "
             "checks for INIT and IPIs to other CPUs and carries out, or an access to the I/O "
             "APIC's, which it emulates; else the guest touched memory EPT does not give it "
             "(the VMM's)"),
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
                "every MSR but those in msr_grants[] exits (deny by default)"),
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
             "every MSR the policy does not grant exits: the core's own, else #GP", policy="msr"),
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
    CoreExit(0x400, "SVM_EXIT_NPF", "core_npf", "APM 15.25",
             "a write to the local APIC's read-only page, which the core checks for INIT and "
             "IPIs to other CPUs and carries out, or with two guests an access to the I/O "
             "APIC's, which it emulates; else the guest touched memory the nested page tables "
             "do not give it (the VMM's)"),
]

# ---- MSRs: deny by default -------------------------------------------------
#
# Every MSR exits unless a policy grants it (an msr rule with passthrough);
# the core gives #GP for any MSR that no rule names, as a CPU without it
# would (vmm/exits.c, core_msr). Two lists say what a policy may not do.


@dataclass(frozen=True)
class CoreMsr:
    """MSRs that are the core's in the given directions: a policy rule for
    them is an error, and core_msr handles every access."""
    first: int
    last: int
    name: str       # C name: CORE_MSR_<name> in core_ports.h (_FIRST/_LAST for a range)
    dirs: tuple     # ("read", "write") or one of them
    title: str      # what error messages call it
    why: str


MSRS = [
    CoreMsr(0x1B, 0x1B, "IA32_APIC_BASE", ("write",), "IA32_APIC_BASE",
            "moving the local APIC page could put it over lvisor's memory: the core takes "
            "writes that keep the address and gives #GP for the others"),
    CoreMsr(0x277, 0x277, "IA32_PAT", ("read", "write"), "IA32_PAT",
            "the guest's PAT lives in the VMCS/VMCB (SDM 25.4.1, APM 15.25.8), never in the "
            "CPU's own PAT, which sets the memory types of lvisor's memory"),
    CoreMsr(0xC0000080, 0xC0000080, "EFER", ("read", "write"), "EFER",
            "on SVM the guest must keep EFER.SVME set and not see it (APM 15.4)"),
    CoreMsr(0xC0010114, 0xC0010118, "SVM", ("read", "write"), "SVM's MSRs, VM_CR to the SVM lock key",
            "#GP, as without SVM; VM_HSAVE_PA is lvisor's (APM 15.30)"),
]

# MSRs whose writes change the machine under lvisor: a policy may not let a
# write reach the CPU (passthrough or emulate); ignore, constant, inject and
# unhandled are fine, and so is reading them.
# (first, last, name, why)
MSR_WRITES_REFUSED = [
    (0x10, 0x10, "IA32_TIME_STAMP_COUNTER", "it is lvisor's clock too"),
    (0x3A, 0x3A, "IA32_FEATURE_CONTROL", "it enables or locks VMX for lvisor"),
    (0x3B, 0x3B, "IA32_TSC_ADJUST", "it moves lvisor's clock"),
    (0x9B, 0x9B, "IA32_SMM_MONITOR_CTL", "it sets up SMM's dual monitor, which runs outside lvisor"),
    (0x1A0, 0x1A0, "IA32_MISC_ENABLE", "it switches CPU features off under lvisor"),
    (0x200, 0x2FF, "the MTRRs", "they set the memory types of lvisor's own memory"),
    (0x800, 0x8FF, "the x2APIC registers", "the ICR (0x830) sends INIT, SIPI and NMI"),
    (0xC0010010, 0xC0010010, "SYSCFG", "it changes how the CPU decodes memory (MTRR fix DRAM, TOM2)"),
    (0xC0010015, 0xC0010015, "HWCR", "it holds the SMM lock and switches CPU features off"),
    (0xC0010016, 0xC001001A, "the IORRs and TOP_MEM", "they send memory accesses to I/O instead of RAM"),
    (0xC001001D, 0xC001001D, "TOP_MEM2", "it sends memory accesses above 4 GiB to I/O"),
    (0xC0010111, 0xC0010113, "SMM_BASE, SMM_ADDR and SMM_MASK", "they move SMM's memory, which runs outside lvisor"),
]

# ---- I/O ports the core intercepts for itself -------------------------------


@dataclass(frozen=True)
class CoreIo:
    """A port range the core keeps for itself: never granted, so every
    access exits, and exit_io hands any access that touches it to `handler`
    first. The core is after one direction (`dir`), but the I/O bitmaps
    have one bit per port for both (SDM 25.6.4, APM 15.10.1): the handler
    carries the other direction out as the hardware would."""
    first: int
    last: int
    name: str       # C name: CORE_PORT_<name> in core_ports.h (_FIRST/_LAST for a range)
    handler: str    # vmm/exits.h function
    ref: str
    why: str
    dir = "out"     # the direction the core is after
    exits = True    # (read like a policy Rule by the encoders and the templates)
    core = True

    @property
    def where(self):
        return by_core(self.why, self.ref).comment

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
# that straddles one of these ports is caught too. And PCI configuration
# space, which the core filters (vmm/pci.c). Every other port is the
# policy's to grant; a port it does not grant is absent hardware
# (vmm/exits.c).
IO = [
    CoreIo(0x60, 0x60, "KBC_DATA", "core_reset_io", "8042 keyboard controller",
           "reset: the data byte after command 0xD1 is the output port (bit 0 clear resets, bit 1 is A20)"),
    CoreIo(0x64, 0x64, "KBC_CMD", "core_reset_io", "8042 keyboard controller",
           "reset: a command to port 0x64 that pulses the reset line (0xF0-0xFF, bit 0 clear)"),
    CoreIo(0x92, 0x92, "SYSTEM_CONTROL_A", "core_reset_io", "PS/2 system control port A",
           "reset: bit 0 of port 0x92 (fast reset); bit 1 (A20) stays on"),
    CoreIo(0xCF8, 0xCF8, "PCI_CONFIG_ADDRESS", "core_pci_io", "PCI Local Bus 3.0 3.2.2.3.2",
           "PCI configuration: CONFIG_ADDRESS, a dword at 0xcf8"),
    CoreIo(0xCF9, 0xCF9, "PIIX_RESET_CONTROL", "core_reset_io", "PIIX3/4 reset control register",
           "reset: port 0xcf9 with bit 2 (RST_CPU) set"),
    CoreIo(0xCFA, 0xCFB, "PCI_CONFIG_ADDRESS_HI", "core_pci_io", "PCI Local Bus 3.0 3.2.2.3.2",
           "PCI configuration: the high bytes of CONFIG_ADDRESS, which only a dword at 0xcf8 "
           "reaches: alone they are absent hardware"),
    CoreIo(0xCFC, 0xCFF, "PCI_CONFIG_DATA", "core_pci_io", "PCI Local Bus 3.0 3.2.2.3.2",
           "PCI configuration: CONFIG_DATA; writes that would let a device write "
           "memory (bus mastering, BARs, MSI) are dropped"),
    CoreIo(0xF4, 0xF7, "QEMU_DEBUG_EXIT", "core_poweroff_io", "boot/qemu.sh",
           "power-off: QEMU's isa-debug-exit (iobase=0xf4, iosize=4): any OUT ends QEMU"),
    CoreIo(0x604, 0x605, "QEMU_PM1A_CNT", "core_poweroff_io", "ACPI 6.0 4.8.3.2.1",
           "power-off: ACPI PM1a_CNT on QEMU's i440fx (PIIX4 PM at 0x600): SLP_EN (bit 13)"),
    CoreIo(0x8900, 0x8900, "BOCHS_SHUTDOWN", "core_poweroff_io", "boot/bochs.sh",
           "power-off: Bochs' shutdown port: the bytes \"Shutdown\""),
    CoreIo(0xB004, 0xB005, "BOCHS_PM1A_CNT", "core_poweroff_io", "ACPI 6.0 4.8.3.2.1",
           "power-off: ACPI PM1a_CNT on Bochs (PM base 0xb000): SLP_EN (bit 13)"),
]

# Ports that reach memory: a policy may not grant them (passthrough or
# emulate); with any other action the guest still never reaches the device.
# (first, last, name, why)
IO_REFUSED = [
    (0x510, 0x51B, "QEMU's fw_cfg", "its DMA interface (0x514-0x51b) writes guest-chosen "
                                    "physical memory, lvisor's included"),
]
