"""What an encoder produces for one backend: control lines, table entries
and requirements, each with the reason that explains it. The templates
print these one per line."""

from dataclasses import dataclass, field

CORE = "required by the core"


@dataclass(frozen=True)
class Reason:
    """Why a control bit or an exit-table entry is in the generated C: who
    asked for it, and where the manual defines it. The comment beside it and
    the rule a boot-time requirement names are both built from these fields,
    so nothing has to be parsed back out of a comment."""
    rule: str           # the rule's where (policies/x.yaml:7: rdtsc: negate), CORE,
                        # or a few words for entries that serve several rules
    ref: str = ""       # the manual section (SDM 25.6.2), or a sentence citing it
    why: str = ""       # the core's reason, when rule is CORE

    @property
    def who(self):
        """`policies/x.yaml:7: rdtsc: negate`, or `required by the core: why`."""
        return f"{CORE}: {self.why}" if self.rule == CORE else self.rule

    @property
    def comment(self):
        """`who -- ref`: the one place comments of the generated C are made."""
        return f"{self.who} -- {self.ref}" if self.ref else self.who


def by_rule(rule, ref):
    """A policy rule asked, for something the manual defines at ref."""
    return Reason(rule.where, ref)


def by_core(why, ref):
    """The core asked (core.py), for why."""
    return Reason(CORE, ref, why)


@dataclass
class Bit:
    expr: str           # CPU_BASED_RDTSC_EXITING, (1u << VEC_UD), ~0ull
    reason: Reason      # the first to ask for it
    also: list = field(default_factory=list)   # [Reason] of those that asked again

    @property
    def comment(self):
        """policies/x.yaml:7: rdtsc: negate -- SDM 25.6.2; also policies/x.yaml:8: ..."""
        return self.reason.comment + "".join(f"; also {r.who}" for r in self.also)


@dataclass
class Entry:
    code: int           # only for ordering
    index: str          # EXIT_REASON_RDTSC
    handler: str        # exit_rdtsc, core_unhandled, ...
    reason: Reason

    @property
    def comment(self):
        return self.reason.comment


@dataclass
class Requirement:
    field: str          # FIELD_VMX_PROC
    bit: str            # C expression of the bit
    control: str        # its name, for the boot-time message
    rule: str           # the rule that asked for it


@dataclass
class Encoding:
    fields: dict                            # struct member -> [Bit]
    entries: dict = field(default_factory=dict)   # code -> Entry
    requirements: list = field(default_factory=list)

    def set_bit(self, fld, expr, reason):
        """Add a bit once; a second reason for it is named in its comment."""
        for b in self.fields[fld]:
            if b.expr == expr:
                b.also.append(reason)
                return False
        self.fields[fld].append(Bit(expr, reason))
        return True

    def set_entry(self, code, index, handler, reason):
        self.entries[code] = Entry(code, index, handler, reason)

    def table(self):
        return [self.entries[c] for c in sorted(self.entries)]
