"""The policy language as data: events, actions, and how each backend
intercepts each event.

Everything a student may write under `exits:` is declared here; the parser
(model.py) and the two encoders (vmx.py, svm.py) only read these tables.
Numbers (exit codes) are kept only to order the generated tables and to
document them; the generated C uses the manuals' names from include/asm/.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Control:
    """One control bit: the struct field it lives in and the header's name.
    field None: the event cannot be intercepted on this backend (why: ref)."""
    field: str
    name: str
    ref: str


@dataclass(frozen=True)
class Exit:
    """A hardware exit: code (VMX basic exit reason / SVM EXITCODE) and the
    header's name for it."""
    code: int
    name: str


@dataclass(frozen=True)
class Event:
    name: str
    actions: tuple          # the actions this event accepts
    vmx: Control            # the control that makes it exit (None: always exits)
    vmx_exit: Exit
    svm: Control
    svm_exit: Exit
    doc: str


# --- actions --------------------------------------------------------------

# Parameters per action: name -> (required, kind). Kinds are checked by
# model.py: "u64", "s64", "u32", "factor", "vector", "code" (C text).
ACTIONS = {
    "passthrough": ({}, "no exit at all: the guest runs the instruction on the CPU"),
    "emulate":     ({}, "exit, do what the hardware would, resume after the instruction"),
    "negate":      ({}, "the guest reads minus the TSC"),
    "scale":       ({"factor": (True, "factor")}, "the guest reads TSC * factor (integer or \"num/den\")"),
    "offset":      ({"value": (True, "s64")}, "the guest reads TSC + value"),
    "constant":    ({"value": (True, "u64")}, "the read returns value"),
    "ignore":      ({}, "the write (or instruction) is dropped; the guest resumes after it"),
    "inject":      ({"vector": (True, "vector"), "error_code": (False, "u32")},
                    "raise an exception in the guest instead of running the instruction"),
    "unhandled":   ({}, "exit with no handler: the VMM prints the exit reason and stops"),
    "stats":       ({}, "the VMM prints its exit statistics table (vmm/stats.c); RAX = 0"),
    "absent":      ({}, "denied: a port reads all ones and drops writes, an MSR raises #GP"),
    "c":           ({"code": (True, "code")},
                    "the rule's own C code (`code:`), pasted into the generated handler"),
    "log":         ({}, "syscall: carry it out and print it, number and arguments; memory: the "
                        "access is carried out and printed (GPA, kind, RIP, value)"),
    "count":       ({}, "syscall: carry it out and count it by number (printed with the exit statistics)"),
}

# Extra keys of `cpuid: {action: emulate, ...}`.
CPUID_KEYS = ("set", "clear", "vendor", "leaves")
CPUID_REGS = ("eax", "ebx", "ecx", "edx")
# Register values a cpuid leaf may take from the VMM: name -> C expression.
CPUID_SYMBOLS = {
    "tsc_hz": "(uint32_t)tsc_hz",
    "tsc_khz": "(uint32_t)(tsc_hz / 1000)",
    "tsc_mhz": "(uint32_t)(tsc_hz / 1000000)",
}

TSC_ACTIONS = ("passthrough", "emulate", "negate", "scale", "offset", "constant", "inject", "c",
               "unhandled")
BASIC = ("passthrough", "emulate", "inject", "unhandled")

# --- CPUID feature bits by name (SDM Vol. 2A CPUID; APM Vol. 3 appendix E) ---
# name -> (leaf, register, bit, C expression or None for a plain shift)
FEATURES = {
    "fpu":        (0x1, "edx", 0, None),
    "pse":        (0x1, "edx", 3, None),
    "tsc":        (0x1, "edx", 4, None),
    "msr":        (0x1, "edx", 5, None),
    "pae":        (0x1, "edx", 6, None),
    "apic":       (0x1, "edx", 9, None),
    "mtrr":       (0x1, "edx", 12, None),
    "pge":        (0x1, "edx", 13, None),
    "pat":        (0x1, "edx", 16, None),
    "sse":        (0x1, "edx", 25, None),
    "sse2":       (0x1, "edx", 26, None),
    "sse3":       (0x1, "ecx", 0, None),
    "monitor":    (0x1, "ecx", 3, None),
    "vmx":        (0x1, "ecx", 5, "CPUID_1_ECX_VMX"),
    "pcid":       (0x1, "ecx", 17, None),
    "x2apic":     (0x1, "ecx", 21, None),
    "tsc_deadline": (0x1, "ecx", 24, None),
    "xsave":      (0x1, "ecx", 26, None),
    "avx":        (0x1, "ecx", 28, None),
    "rdrand":     (0x1, "ecx", 30, None),
    "hypervisor": (0x1, "ecx", 31, "CPUID_1_ECX_HYPERVISOR"),
    "svm":        (0x80000001, "ecx", 2, "CPUID_80000001_ECX_SVM"),
    "nx":         (0x80000001, "edx", 20, None),
    "rdtscp":     (0x80000001, "edx", 27, None),
    "lm":         (0x80000001, "edx", 29, None),
    "invtsc":     (0x80000007, "edx", 8, None),
}

# Features that a whole CPUID leaf describes: when the feature is cleared,
# that leaf reads as zeros too, or the guest would still see its details.
FEATURE_LEAVES = {
    "svm": (0x8000000A, "APM E.4.9: SVM revision, ASIDs and features"),
}

# --- exceptions (SDM 6.3.1): name -> (vector, pushes an error code) ---------
EXCEPTIONS = {
    "de": (0, False), "db": (1, False), "bp": (3, False), "of": (4, False),
    "br": (5, False), "ud": (6, False), "nm": (7, False), "df": (8, True),
    "ts": (10, True), "np": (11, True), "ss": (12, True), "gp": (13, True),
    "pf": (14, True), "mf": (16, False), "ac": (17, True), "mc": (18, False),
    "xm": (19, False),
}


def vec_name(name):
    """The x86.h constant of an exception: ud -> VEC_UD."""
    return "VEC_" + name.upper()


# --- simple events: one instruction, one exit -------------------------------

_P2 = "SDM 25.6.2"
_B1 = "APM table B-1"
_ALWAYS = "SDM 26.1.2"

SIMPLE = {e.name: e for e in [
    Event("rdtsc", TSC_ACTIONS,
          Control("proc_based", "CPU_BASED_RDTSC_EXITING", _P2), Exit(16, "EXIT_REASON_RDTSC"),
          Control("intercept_misc1", "SVM_INTERCEPT_RDTSC", _B1), Exit(0x6e, "SVM_EXIT_RDTSC"),
          "RDTSC: read the time-stamp counter into EDX:EAX"),
    Event("rdtscp", TSC_ACTIONS,
          # RDTSCP exits when "RDTSC exiting" is 1 (and "enable RDTSCP" is 1): SDM 26.1.3.
          Control("proc_based", "CPU_BASED_RDTSC_EXITING", "SDM 25.6.2, 26.1.3"), Exit(51, "EXIT_REASON_RDTSCP"),
          Control("intercept_misc2", "SVM_INTERCEPT_RDTSCP", _B1), Exit(0x87, "SVM_EXIT_RDTSCP"),
          "RDTSCP: TSC into EDX:EAX and IA32_TSC_AUX into ECX"),
    Event("cpuid", ("passthrough", "emulate", "inject", "c", "unhandled"),
          None, Exit(10, "EXIT_REASON_CPUID"),
          Control("intercept_misc1", "SVM_INTERCEPT_CPUID", _B1), Exit(0x72, "SVM_EXIT_CPUID"),
          "CPUID: processor identification (always exits on VMX, SDM 26.1.2)"),
    Event("hlt", BASIC,
          Control("proc_based", "CPU_BASED_HLT_EXITING", _P2), Exit(12, "EXIT_REASON_HLT"),
          Control("intercept_misc1", "SVM_INTERCEPT_HLT", _B1), Exit(0x78, "SVM_EXIT_HLT"),
          "HLT: wait for an interrupt"),
    Event("pause", BASIC,
          Control("proc_based", "CPU_BASED_PAUSE_EXITING", _P2), Exit(40, "EXIT_REASON_PAUSE_INSTRUCTION"),
          Control("intercept_misc1", "SVM_INTERCEPT_PAUSE", _B1), Exit(0x77, "SVM_EXIT_PAUSE"),
          "PAUSE: spin-loop hint"),
    Event("invlpg", BASIC,
          Control("proc_based", "CPU_BASED_INVLPG_EXITING", _P2), Exit(14, "EXIT_REASON_INVLPG"),
          Control("intercept_misc1", "SVM_INTERCEPT_INVLPG", _B1), Exit(0x79, "SVM_EXIT_INVLPG"),
          "INVLPG: invalidate one TLB entry"),
    Event("rdpmc", ("passthrough", "emulate", "constant", "inject", "unhandled"),
          Control("proc_based", "CPU_BASED_RDPMC_EXITING", _P2), Exit(15, "EXIT_REASON_RDPMC"),
          Control("intercept_misc1", "SVM_INTERCEPT_RDPMC", _B1), Exit(0x6f, "SVM_EXIT_RDPMC"),
          "RDPMC: read performance counter ECX into EDX:EAX"),
    Event("wbinvd", ("passthrough", "emulate", "ignore", "inject", "unhandled"),
          Control("proc_based2", "SECONDARY_WBINVD_EXITING", _P2), Exit(54, "EXIT_REASON_WBINVD"),
          Control("intercept_misc2", "SVM_INTERCEPT_WBINVD", _B1), Exit(0x89, "SVM_EXIT_WBINVD"),
          "WBINVD: write back and invalidate caches"),
    Event("vmcall", ("passthrough", "ignore", "constant", "stats", "inject", "c", "unhandled"),
          None, Exit(18, "EXIT_REASON_VMCALL"),
          Control("intercept_misc2", "SVM_INTERCEPT_VMMCALL", _B1), Exit(0x81, "SVM_EXIT_VMMCALL"),
          "VMCALL (Intel) / VMMCALL (AMD): a hypercall (always exits on VMX, SDM 26.1.2)"),
]}

# --- control registers: "cr0" -> {"read": ..., "write": ...} ---------------
CR_ACTIONS = {
    "read": ("passthrough", "emulate", "constant", "inject", "unhandled"),
    "write": ("passthrough", "emulate", "ignore", "inject", "unhandled"),
}
_CR_MASK = "SDM 25.6.6"
_CR_VMX = {
    # CR0/CR4 reads come from the read shadow: they never exit (SDM 25.6.6).
    ("cr0", "read"): None,
    ("cr0", "write"): Control("cr0_guest_host_mask", "~0ull", _CR_MASK),
    ("cr3", "read"): Control("proc_based", "CPU_BASED_CR3_STORE_EXITING", _P2),
    ("cr3", "write"): Control("proc_based", "CPU_BASED_CR3_LOAD_EXITING", _P2),
    ("cr4", "read"): None,
    ("cr4", "write"): Control("cr4_guest_host_mask", "~0ull", _CR_MASK),
    ("cr8", "read"): Control("proc_based", "CPU_BASED_CR8_STORE_EXITING", _P2),
    ("cr8", "write"): Control("proc_based", "CPU_BASED_CR8_LOAD_EXITING", _P2),
}
CR = {}
for (_cr, _dir), _vmx in _CR_VMX.items():
    _n = int(_cr[2:])
    _rw = "READ" if _dir == "read" else "WRITE"
    CR[(_cr, _dir)] = Event(
        f"{_cr} {_dir}", CR_ACTIONS[_dir],
        _vmx, Exit(28, "EXIT_REASON_CR_ACCESS"),
        Control("intercept_cr", f"SVM_INTERCEPT_CR_{_rw}({_n})", _B1),
        Exit((0 if _dir == "read" else 0x10) + _n, f"SVM_EXIT_{_rw}_CR({_n})"),
        f"MOV {'from' if _dir == 'read' else 'to'} {_cr.upper()}")
CR_NAMES = ("cr0", "cr3", "cr4", "cr8")

# --- exceptions: "exception" -> {"ud": ...} --------------------------------
EXCEPTION_ACTIONS = ("passthrough", "emulate", "inject", "unhandled")
EXCEPTION_VMX_EXIT = Exit(0, "EXIT_REASON_EXCEPTION_NMI")

# --- system calls: `syscall` ------------------------------------------------
# SYSCALL and SYSRET never exit (no control on VMX or SVM). Under a `syscall`
# rule the CPU's EFER.SCE stays 0 while the guest runs, so both raise #UD
# (SDM Vol. 2B, APM Vol. 3: SYSCALL, SYSRET), #UD is intercepted, and lvisor
# carries them out (vmm/syscall.c); the guest's own SCE is kept apart.
SYSCALL_ACTIONS = ("passthrough", "emulate", "log", "count", "unhandled")
SYSCALL_REF = "SDM Vol. 2B / APM Vol. 3 SYSCALL, SYSRET: #UD while EFER.SCE is 0"

# --- I/O and MSR lists -----------------------------------------------------
IO_DIRS = {"in": "POLICY_IN", "out": "POLICY_OUT"}
IO_ACTIONS = {
    "in": ("passthrough", "emulate", "constant", "inject", "c", "unhandled"),
    "out": ("passthrough", "emulate", "ignore", "inject", "c", "unhandled"),
}
MSR_DIRS = {"read": "POLICY_READ", "write": "POLICY_WRITE"}
MSR_ACTIONS = {
    "read": ("passthrough", "emulate", "constant", "inject", "c", "unhandled"),
    "write": ("passthrough", "emulate", "ignore", "inject", "c", "unhandled"),
}
# The MSRs the bitmaps can express (SDM 25.6.9; APM 15.11).
MSR_RANGES_VMX = ((0x0, 0x1FFF), (0xC0000000, 0xC0001FFF))
MSR_RANGES_SVM = MSR_RANGES_VMX + ((0xC0010000, 0xC0011FFF),)

# Every key allowed under `exits:`.
# `denied`: what a port or MSR that no rule names does (deny by default).
# Its one action is absent hardware; `log: true` prints each access.
DENIED_ACTIONS = ("absent",)

# --- memory: guest-physical ranges watched through EPT/NPT permissions ------
# `memory: [{range: [first, last], write: log}, ...]`. A watched access is
# an EPT violation / nested page fault (SDM 29.3.3.2, APM 15.25.6) that
# lvisor decodes and carries out itself (vmm/memwatch.c), or refuses.
MEMORY_DIRS = {"read": "POLICY_READ", "write": "POLICY_WRITE", "execute": "POLICY_EXEC"}
MEMORY_ACTIONS = ("log", "ignore", "inject", "unhandled")
# Actions that one kind of access cannot take: (kind, action) -> why.
MEMORY_REFUSED = {
    ("read", "ignore"): "a load cannot be dropped: its register must get a value; "
                        "use log, inject or unhandled",
    ("execute", "ignore"): "an instruction fetch cannot be dropped (what would run instead?); "
                           "use inject or unhandled",
    ("execute", "log"): "lvisor carries out watched loads and stores itself (MOV forms, "
                        "vmm/decode.c) and never opens a watched page, so it cannot let one "
                        "instruction run there and watch the next; use inject or unhandled",
}
# Exceptions a watch may not inject: vector -> why. #BP and #OF are traps
# that return past their instruction, whose length an EPT violation or a
# nested page fault does not give (SDM 28.2.5: VM-exit instruction length
# is for the exits that list it); #PF needs CR2 set to the faulting linear
# address, which lvisor does not have.
MEMORY_INJECT_REFUSED = {
    "bp": "a trap returns after the instruction, whose length the fault does not give; "
          "use a fault such as gp or ud",
    "of": "a trap returns after the instruction, whose length the fault does not give; "
          "use a fault such as gp or ud",
    "pf": "#PF needs CR2, the linear address, which the fault does not give; use gp or ud",
}
MEMORY_MAX = 16         # rules (range x kind) per policy: vmm/memwatch.c walks them per fault
MEMORY_LIMIT = 1 << 32  # EPT/NPT map the guest's first 4 GiB (vmm/vmx/ept.c, vmm/svm/npt.c)
# What no watch may cover: the core's own (first, last, why).
MEMORY_REFUSED_RANGES = (
    (0xC0000, 0xFFFFF, "the BIOS and option ROMs (read-only memory, not the guest's RAM)"),
    (0xFC0000, 0xFFFFFF, "the firmware's area (its code, the handoff), lvisor's loader for the "
                         "guest"),
    (0x10000000, 0x13FFFFFF, "lvisor's own memory, which no guest ever maps"),
    (0xFEC00000, 0xFFFFFFFF, "the I/O APIC, HPET and local APIC pages, which the core "
                             "handles, and the BIOS"),
)

EVENT_NAMES = tuple(SIMPLE) + CR_NAMES + ("exception", "syscall", "io", "msr", "denied", "memory")
