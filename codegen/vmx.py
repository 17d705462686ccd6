"""The model -> Intel VMX: execution/exit/entry controls, exception bitmap,
CR guest/host masks, exit-handler table (SDM 25.6-25.8, appendix C)."""

import core
import events as ev
from encoding import Encoding, Reason, Requirement, by_core, by_rule
from errors import PolicyError
from handlers import by_event

FIELDS = ("pin_based", "proc_based", "proc_based2", "exit_controls", "entry_controls",
          "exception_bitmap", "cr0_guest_host_mask", "cr4_guest_host_mask")
# Controls the boot-time check looks up in the capability MSRs (SDM appendix A).
REQ_FIELD = {"pin_based": "FIELD_VMX_PIN", "proc_based": "FIELD_VMX_PROC",
             "proc_based2": "FIELD_VMX_PROC2", "exit_controls": "FIELD_VMX_EXIT",
             "entry_controls": "FIELD_VMX_ENTRY"}


def encode(pol):
    enc = Encoding({f: [] for f in FIELDS})
    hs = by_event(pol)

    for c in core.VMX_CONTROLS:
        enc.set_bit(c.field, c.name, by_core(c.why, c.ref))
    for x in core.VMX_EXITS:
        enc.set_entry(x.code, x.name, x.handler, by_core(x.why, x.ref))

    # Instructions: rdtsc, cpuid, hlt, ...
    for name, e in ev.SIMPLE.items():
        rule, h = pol.rule(name), hs.get(name)
        if h and h.note:        # implied by VMX itself (handlers.implied)
            enc.set_entry(e.vmx_exit.code, e.vmx_exit.name, h.name,
                          Reason(f"{h.rule.src.short}: {h.note}"))
        if not rule:
            continue
        if name == "vmcall" and rule.action == "passthrough":
            enc.set_entry(e.vmx_exit.code, e.vmx_exit.name, "core_hypercall_ud",
                          by_rule(rule, "VMCALL always exits on VMX (SDM 26.1.2): "
                                        "#UD, as on a CPU without VMX"))
        if not rule.exits:
            continue
        if e.vmx:
            _control(enc, e.vmx, rule)
        ref = e.vmx.ref if e.vmx else "SDM 26.1.2"
        enc.set_entry(e.vmx_exit.code, e.vmx_exit.name, _handler(rule, h), by_rule(rule, ref))

    # Control registers: one exit reason for all (CR_ACCESS), dispatched by exit_cr.
    if "cr" in hs:
        for (cr, d), rule in hs["cr"].cases:
            ctl = ev.CR[(cr, d)].vmx
            if ctl is None:
                raise PolicyError(rule.src, f"{cr} {d} cannot be intercepted on VMX: reads of "
                                            "CR0 and CR4 return the read shadow and never exit "
                                            "(SDM 25.6.6)")
            _control(enc, ctl, rule)
        enc.set_entry(28, "EXIT_REASON_CR_ACCESS", "exit_cr",
                      Reason("policy cr rules, then the core's core_cr_access", "SDM 26.1.3"))

    # Exceptions: one exit reason (EXCEPTION_NMI), dispatched by exit_exception.
    if "exception" in hs:
        if hs["exception"].syscall:
            enc.set_bit("exception_bitmap", f"(1u << {ev.vec_name('ud')})",
                        by_rule(hs["exception"].syscall, "SDM 25.6.3; " + ev.SYSCALL_REF))
        for name, rule in hs["exception"].cases:
            enc.set_bit("exception_bitmap", f"(1u << {ev.vec_name(name)})",
                        by_rule(rule, "SDM 25.6.3"))
        enc.set_entry(0, "EXIT_REASON_EXCEPTION_NMI", "exit_exception",
                      Reason("policy syscall rule (on #UD), then exception rules"
                             if hs["exception"].syscall else "policy exception rules", "SDM 25.6.3"))

    # I/O: always: every port the policy does not grant exits (deny by default).
    enc.set_entry(30, "EXIT_REASON_IO_INSTRUCTION", "exit_io",
                  by_core("every port the policy does not grant: the core's ports, then "
                               "the policy's io rules, else absent hardware", "SDM 25.6.4"))
    if "msr" in hs:
        for code, name in ((31, "EXIT_REASON_MSR_READ"), (32, "EXIT_REASON_MSR_WRITE")):
            enc.set_entry(code, name, "exit_msr",
                          Reason("policy msr rules, then the core's core_msr", "SDM 25.6.9, 26.1.3"))

    # The boot-time check names, for each control, the first rule that asked for it.
    for fld, bits in enc.fields.items():
        if fld in REQ_FIELD:
            for b in bits:
                enc.requirements.append(Requirement(REQ_FIELD[fld], b.expr, b.expr, b.reason.rule))
    return enc


def _control(enc, ctl, rule):
    enc.set_bit(ctl.field, ctl.name, by_rule(rule, ctl.ref))


def _handler(rule, h):
    return "core_unhandled" if rule.action == "unhandled" else h.name
