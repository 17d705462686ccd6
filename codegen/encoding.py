"""What an encoder produces for one backend: control lines, table entries
and requirements, each with the comment that explains it. The templates
print these one per line."""

from dataclasses import dataclass, field

CORE = "required by the core"


@dataclass
class Bit:
    expr: str           # CPU_BASED_RDTSC_EXITING, (1u << VEC_UD), ~0ull
    comment: str        # policies/x.yaml:7: rdtsc: negate -- SDM 25.6.2


@dataclass
class Entry:
    code: int           # only for ordering
    index: str          # EXIT_REASON_RDTSC
    handler: str        # exit_rdtsc, core_unhandled, ...
    comment: str


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

    def set_bit(self, fld, expr, comment):
        """Add a bit once; a second rule asking for it is named in the comment."""
        for b in self.fields[fld]:
            if b.expr == expr:
                b.comment += f"; also {comment.split(' -- ')[0]}"
                return False
        self.fields[fld].append(Bit(expr, comment))
        return True

    def set_entry(self, code, index, handler, comment):
        self.entries[code] = Entry(code, index, handler, comment)

    def table(self):
        return [self.entries[c] for c in sorted(self.entries)]


def rule_comment(rule, ref):
    return f"{rule.where} -- {ref}"


def core_comment(why, ref):
    return f"{CORE}: {why} -- {ref}"
