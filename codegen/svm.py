"""The model -> AMD SVM: the VMCB intercept vectors and the exit-handler
table (APM 15.7-15.12, appendix B table B-1, appendix C)."""

import core
import events as ev
from encoding import Encoding, Reason, Requirement, by_core, by_rule
from handlers import by_event

FIELDS = ("intercept_cr", "intercept_dr", "intercept_exceptions",
          "intercept_misc1", "intercept_misc2")


def encode(pol):
    enc = Encoding({f: [] for f in FIELDS})
    hs = by_event(pol)

    for c in core.SVM_CONTROLS:
        enc.set_bit(c.field, c.name, by_core(c.why, c.ref))
    for x in core.SVM_EXITS:
        if x.policy == "cpuid" and pol.rule("cpuid"):
            continue            # the policy decides about CPUID
        enc.set_entry(x.code, x.name, x.handler, by_core(x.why, x.ref))
    if not pol.rule("cpuid"):
        c = core.SVM_CPUID
        enc.set_bit(c.field, c.name, by_core(c.why, c.ref))

    for name, e in ev.SIMPLE.items():
        rule = pol.rule(name)
        if not (rule and rule.exits):
            continue
        enc.set_bit(e.svm.field, e.svm.name, by_rule(rule, e.svm.ref))
        enc.set_entry(e.svm_exit.code, e.svm_exit.name, _handler(rule, hs.get(name)),
                      by_rule(rule, "APM appendix C"))
        # INVLPG has no fixed length: skipping it needs the next RIP from the CPU.
        if name == "invlpg" and rule.action == "emulate":
            _require(enc, "SVM_FEATURE_NRIPS", rule, "the handler skips INVLPG")

    if "cr" in hs:
        for (cr, d), rule in hs["cr"].cases:
            e = ev.CR[(cr, d)]
            enc.set_bit(e.svm.field, e.svm.name, by_rule(rule, e.svm.ref))
            enc.set_entry(e.svm_exit.code, e.svm_exit.name, _handler(rule, hs["cr"]),
                          by_rule(rule, "APM appendix C"))
            # MOV CR has no fixed length and names a register: without decode
            # assists the VMM cannot tell which (EXITINFO1, APM 15.33).
            if rule.action in ("emulate", "constant"):
                _require(enc, "SVM_FEATURE_DECODE_ASSISTS", rule, "the handler needs the MOV CR register")
            if rule.action in ("emulate", "constant", "ignore"):
                _require(enc, "SVM_FEATURE_NRIPS", rule, "the handler skips MOV CR")

    if "exception" in hs:
        if hs["exception"].syscall:
            enc.set_bit("intercept_exceptions", f"SVM_INTERCEPT_EXCEPTION({ev.vec_name('ud')})",
                        by_rule(hs["exception"].syscall, "APM 15.12; " + ev.SYSCALL_REF))
        for name, rule in hs["exception"].cases:
            vec = ev.vec_name(name)
            enc.set_bit("intercept_exceptions", f"SVM_INTERCEPT_EXCEPTION({vec})",
                        by_rule(rule, "APM 15.12"))
            enc.set_entry(0x40 + ev.EXCEPTIONS[name][0], f"SVM_EXIT_EXCP({vec})",
                          _handler(rule, hs["exception"]), by_rule(rule, "APM 15.12"))

    # `syscall`: #UD goes to exit_exception first, whatever an `exception ud` rule says.
    sc = hs["exception"].syscall if "exception" in hs else None
    if sc:
        enc.set_entry(0x40 + ev.EXCEPTIONS["ud"][0], f"SVM_EXIT_EXCP({ev.vec_name('ud')})",
                      "exit_exception", by_rule(sc, "APM 15.12"))

    # I/O: always: every port the policy does not grant exits (deny by default).
    enc.set_bit("intercept_misc1", "SVM_INTERCEPT_IOIO_PROT",
                by_core("every port but those in io_grants[] exits (deny by default)",
                             "APM 15.10"))
    enc.set_entry(0x7b, "SVM_EXIT_IOIO", "exit_io",
                  by_core("every port the policy does not grant: the core's ports, then "
                               "the policy's io rules, else absent hardware", "APM 15.10"))
    if "msr" in hs:
        enc.set_entry(0x7c, "SVM_EXIT_MSR", "exit_msr",
                      Reason("policy msr rules, then the core's core_msr", "APM 15.11"))
    return enc


def _handler(rule, h):
    return "core_unhandled" if rule.action == "unhandled" else h.name


def _require(enc, feature, rule, why):
    if not any(r.bit == feature and r.rule == rule.where for r in enc.requirements):
        enc.requirements.append(Requirement("FIELD_SVM_FEATURE", feature, f"{feature} ({why})",
                                            rule.where))
