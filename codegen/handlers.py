"""Which handler functions policy_actions.c defines, and for which rules.

The handlers are written once for both backends. Most come straight from a
rule; a few are implied by a backend's limits (see implied()). Both
encoders and the actions template read the same list, so a table entry
never names a function that was not generated.
"""

from dataclasses import dataclass, field

import core
import events as ev
from model import Rule, io_grants


@dataclass
class Handler:
    name: str               # exit_rdtsc
    event: str              # rdtsc, cr, exception, io, msr
    rule: Rule = None       # simple events
    cases: list = field(default_factory=list)   # dispatchers: (key, Rule) in order
    note: str = None        # why an implied handler exists
    denied: Rule = None     # exit_io/exit_msr: the `denied` rule (absent, maybe logged)
    syscall: Rule = None    # exit_exception: the `syscall` rule, first on #UD


def _emulate_natively(rule, event, note):
    r = Rule(event, "emulate", {"set": [], "clear": [], "vendor": None, "leaves": []}
             if event == "cpuid" else {}, False, rule.src)
    return r, note


def implied(pol):
    """VMX handlers no rule asks for but the hardware makes necessary:
    event -> (rule, why)."""
    out = {}
    cpuid = pol.rule("cpuid")
    if cpuid and cpuid.action == "passthrough":
        out["cpuid"] = _emulate_natively(cpuid, "cpuid", "cpuid: passthrough, but CPUID always "
                                         "exits on VMX (SDM 26.1.2): answered by the CPU as is")
    # RDTSC and RDTSCP share "RDTSC exiting" on VMX (SDM 26.1.3).
    for a, b in (("rdtsc", "rdtscp"), ("rdtscp", "rdtsc")):
        ra, rb = pol.rule(a), pol.rule(b)
        if ra and ra.exits and not (rb and rb.exits):
            out[b] = _emulate_natively(ra, b, f"{b} passes through, but on VMX it exits with "
                                       f"{a} (RDTSC exiting, SDM 26.1.3): answered natively")
    return out


def handlers(pol):
    """All handler functions, in a fixed order (the order of events.py)."""
    out = []
    imp = implied(pol)
    for name in ev.SIMPLE:
        rule = pol.rule(name)
        if rule and rule.exits and rule.action != "unhandled":
            out.append(Handler(f"exit_{name}", name, rule))
        elif name in imp:
            rule, note = imp[name]
            out.append(Handler(f"exit_{name}", name, rule, note=note))
    cr = [((c, d), pol.rule((c, d))) for c in ev.CR_NAMES for d in ("read", "write")
          if pol.rule((c, d)) and pol.rule((c, d)).exits]
    if cr:
        out.append(Handler("exit_cr", "cr", cases=cr))
    exc = [(name, pol.rule(("exception", name))) for name in ev.EXCEPTIONS
           if pol.rule(("exception", name)) and pol.rule(("exception", name)).exits]
    sc = pol.rule("syscall")
    sc = sc if sc and sc.exits else None
    if exc or sc:
        out.append(Handler("exit_exception", "exception", cases=exc, syscall=sc))
    denied = pol.rule("denied")
    out.append(Handler("exit_io", "io", cases=io_cases(pol), denied=denied))
    msr = msr_cases(pol)
    if msr or (denied and denied.log):
        out.append(Handler("exit_msr", "msr", cases=msr, denied=denied))
    return out


def io_cases(pol):
    """exit_io's cases, sorted by port: the core's own ports (core.IO, never
    overlapping the policy's: model.py checks), the policy's io rules that
    exit, and its passthrough rules for a direction whose port exits anyway
    (the other direction is not granted)."""
    entries = pol.io_entries()
    grants = io_grants(entries)
    granted = lambda a, b: any(g[0] <= a and b <= g[1] for g in grants)
    cases = [e for e in entries if e[3].exits or not granted(e[0], e[1])]
    cases += [(c.first, c.last, c.dir, c) for c in core.IO]
    order = list(ev.IO_DIRS)
    return sorted(cases, key=lambda e: (e[0], e[1], order.index(e[2])))


def msr_cases(pol):
    """exit_msr's cases: the policy's msr rules that exit, and its
    passthrough rules for MSRs that exit anyway on VMX (outside its MSR
    bitmap, SDM 25.6.9), which exit_msr carries out."""
    def outside_vmx(a, b):
        return not any(lo <= a and b <= hi for lo, hi in ev.MSR_RANGES_VMX)
    return [e for e in pol.msr_entries() if e[3].exits or outside_vmx(e[0], e[1])]


def by_event(pol):
    return {h.event: h for h in handlers(pol)}
