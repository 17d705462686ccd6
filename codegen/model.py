"""Policy YAML -> the backend-neutral model.

load_policy() reads a policy and the policies it includes, checks every key
and value against the language in events.py, and returns a Policy: which
rule applies to which event, each rule carrying where it was written. The
encoders (vmx.py, svm.py) turn that model into controls and exit tables.
"""

import os
import re
from dataclasses import dataclass, field

import core
import devices as dv
import events as ev
import yamlsrc
from errors import PolicyError, Source, did_you_mean, unknown


@dataclass
class Rule:
    """One action applied to one event, e.g. `rdtsc: negate`."""
    event: str          # "rdtsc", "cr0 write", "exception ud", "io 0x80 out", ...
    action: str
    params: dict
    log: bool
    src: Source
    core = False        # a rule of the policy, not one the core adds (core.CoreIo)

    @property
    def text(self):
        """`rdtsc: scale 100`, as comments and messages quote the rule."""
        extra = " ".join(_show(v) for k, v in self.params.items()
                         if k in ("factor", "value", "vector"))
        extra = f" {extra}" if extra else ""
        return f"{self.event}: {self.action}{extra}{' (log)' if self.log else ''}"

    @property
    def where(self):
        """`policies/x.yaml:7: rdtsc: negate`."""
        return f"{self.src.short}: {self.text}"

    @property
    def exits(self):
        return self.action != "passthrough"


def _show(v):
    if isinstance(v, int) and not isinstance(v, bool):
        return getattr(v, "text", None) or (hex(v) if v > 9 else str(v))
    if isinstance(v, tuple):
        return f"{v[0]}/{v[1]}" if v[1] != 1 else str(v[0])
    return str(v)


@dataclass
class RangeRule:
    """An io or msr rule for one direction of a port/MSR range."""
    first: int
    last: int
    dir: str            # "in"/"out" or "read"/"write"
    rule: Rule


@dataclass
class Policy:
    name: str
    description: str
    file: str
    rules: dict = field(default_factory=dict)   # "rdtsc" / ("cr0","write") / ("exception","ud") -> Rule
    io: list = field(default_factory=list)      # RangeRule, highest precedence first
    msr: list = field(default_factory=list)
    files: list = field(default_factory=list)   # every policy file read (for the depfile)
    dirs: list = field(default_factory=list)    # directories an include looked in first, in vain
    devices: list = None                        # devices.Device: what it owns as the second guest
    memory: list = field(default_factory=list)  # RangeRule of guest-physical ranges, first wins

    def rule(self, key):
        return self.rules.get(key)

    def io_entries(self):
        return flatten(self.io, ev.IO_DIRS)

    def msr_entries(self):
        return flatten(self.msr, ev.MSR_DIRS)


# ---- scalar checks ---------------------------------------------------------

def _int(node, what, lo, hi):
    v = node.value
    if isinstance(v, bool) or not isinstance(v, int):
        raise PolicyError(node.src, f"{what} must be an integer, got {node.kind()}")
    if not lo <= v <= hi:
        raise PolicyError(node.src, f"{what} {_show(v)} is out of range "
                                    f"({_show(lo)} to {hex(hi)})")
    return v


def _str(node, what):
    if not isinstance(node.value, str):
        raise PolicyError(node.src, f"{what} must be a string, got {node.kind()}")
    return node.value


def _mapping(node, what):
    if not isinstance(node.value, dict):
        raise PolicyError(node.src, f"{what} must be a mapping, got {node.kind()}")
    return node.value


def _list(node, what):
    if isinstance(node.value, str):
        return [node]           # a single name is a list of one
    if not isinstance(node.value, list):
        raise PolicyError(node.src, f"{what} must be a list, got {node.kind()}")
    return node.value


def _check_keys(node, allowed, what):
    for key, src in node.keys.items():
        if key not in allowed:
            raise PolicyError(src, f'unknown key "{key}" in {what}{did_you_mean(key, allowed)}; '
                                   f"expected one of: {', '.join(allowed)}")


U64 = (1 << 64) - 1
U32 = (1 << 32) - 1


def _factor(node):
    """scale factor: an integer, or "num/den" (integer math: no floats in the VMM)."""
    v = node.value
    if isinstance(v, int) and not isinstance(v, bool):
        return (_int(node, "factor", 1, U32), 1)
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", v) if isinstance(v, str) else None
    if not m:
        raise PolicyError(node.src, f"factor must be a positive integer or a fraction "
                                    f'"num/den", got {node.kind()} {v!r} (handlers use '
                                    f"integer math: the VMM has no floating point)")
    num, den = int(m.group(1)), int(m.group(2))
    if not (1 <= num <= U32 and 1 <= den <= U32):
        raise PolicyError(node.src, f"factor {num}/{den}: numerator and denominator "
                                    f"must be 1 to {hex(U32)}")
    return (num, den)


@dataclass
class Code:
    """The C of `action: c`: its text, and where that text starts in the
    policy (line i of the text is line src.line + i, its columns are the
    file's from src.col), for the generated C's #line directives."""
    text: str
    src: Source


def _code(node):
    if not isinstance(node.value, str):
        raise PolicyError(node.src, f"code must be a string of C statements, got {node.kind()}")
    if not node.value.strip():
        raise PolicyError(node.src, "code is empty: write the C statements of the handler, "
                                    "e.g. code: \"val = tsc * 100;\"")
    if any(ch in node.value for ch in "\r\u2028\u2029"):
        raise PolicyError(node.src, "code holds a line break other than a plain newline (CR, "
                                    "U+2028 or U+2029): YAML and the compiler would count its "
                                    "lines differently")
    if node.text_src is None:
        raise PolicyError(node.src, "code must be one line, or a literal block (code: |) "
                                    "that keeps its lines: a folded or multi-line string "
                                    "joins them, so compiler errors could not name them")
    _check_c_shape(node.value, node.text_src)
    return Code(node.value, node.text_src)


def _check_c_shape(text, src):
    """The code goes inside a generated function, which must still end
    where the generator ends it: its braces must balance, and it may not
    leave a comment, string or line open, nor hold preprocessor lines (a
    #define would change the generated C after it). Not a C parser: a
    reader of comments, literals and braces, so that such a mistake is
    named at its place in the policy rather than somewhere in the
    generated C. Everything else is the compiler's to find."""
    def at(i, j):
        return Source(src.file, src.line + i, src.col + j)

    opened = []                 # positions of open braces
    state, start = None, None   # None, "//", "/*", '"' or "'"; where it began
    for i, line in enumerate(text.split("\n")):
        if state == "//":
            state = None
        stripped = line.lstrip()
        if state is None and stripped.startswith("#"):
            raise PolicyError(at(i, len(line) - len(stripped)),
                              "code may not hold preprocessor lines (#...): they would reach "
                              "the generated C after the handler")
        j = 0
        while j < len(line):
            c, two = line[j], line[j:j + 2]
            if state is None:
                if two in ("//", "/*"):
                    state, start = two, at(i, j)
                    j += 1
                elif c in "\"'":
                    state, start = c, at(i, j)
                elif c == "{":
                    opened.append(at(i, j))
                elif c == "}":
                    if not opened:
                        raise PolicyError(at(i, j), "this } closes the generated handler: the "
                                                    "code's braces must balance")
                    opened.pop()
            elif state == "/*":
                if two == "*/":
                    state = None
                    j += 1
            elif state in "\"'":
                if c == "\\":
                    j += 1
                elif c == state:
                    state = None
            j += 1
        if state in ('"', "'"):
            raise PolicyError(start, "this string or character literal is not closed on its line")
    if text.rstrip("\n").endswith("\\"):
        lines = text.rstrip("\n").split("\n")
        raise PolicyError(at(len(lines) - 1, len(lines[-1]) - 1),
                          "the code's last line ends with \\, which would join the generated "
                          "line after it")
    if state == "/*":
        raise PolicyError(start, "this comment is not closed: it would swallow the generated C "
                                 "after the code")
    if opened:
        raise PolicyError(opened[-1], "this { is not closed: the code's braces must balance")


def _vector(node):
    name = _str(node, "vector").lower().lstrip("#")
    if name not in ev.EXCEPTIONS:
        raise unknown(node.src, "exception", node.value, ev.EXCEPTIONS)
    return name


# ---- rules -----------------------------------------------------------------

def parse_rule(node, event, allowed, src, value_max=U64):
    """A rule: `action` or {action: ..., log: ..., params}. src: the event key."""
    if isinstance(node.value, str):
        action, body = node.value, {}
        action_src = node.src
    elif isinstance(node.value, dict):
        body = node.value
        if "action" not in body:
            raise PolicyError(node.src, f'{event}: missing "action" '
                                        f"(one of: {', '.join(allowed)})")
        action = _str(body["action"], "action")
        action_src = body["action"].src
    else:
        raise PolicyError(node.src, f"{event}: expected an action name or a mapping with "
                                    f'"action", got {node.kind()}')
    if action not in ev.ACTIONS:
        raise unknown(action_src, "action", action, ev.ACTIONS)
    if action not in allowed:
        raise PolicyError(action_src, f'action "{action}" does not apply to {event}'
                                      f"{did_you_mean(action, allowed)}; {event} accepts: "
                                      f"{', '.join(allowed)}")
    spec = ev.ACTIONS[action][0]
    keys = ["action", "log"] + list(spec)
    if event == "cpuid" and action == "emulate":
        keys += ev.CPUID_KEYS
    if isinstance(node.value, dict):
        if "code" in body and action != "c":
            raise PolicyError(node.keys["code"], f'"code" is for action: c; {event}: {action} '
                                                 f"takes no code")
        _check_keys(node, keys, f"{event} rule")
    params = {}
    for name, (required, kind) in spec.items():
        if name not in body:
            if required:
                raise PolicyError(node.src, f'{event}: {action} needs "{name}", e.g. '
                                            f"{{action: {action}, {name}: ...}}")
            continue
        p = body[name]
        if kind == "u64":
            params[name] = _int(p, name, 0, value_max)
        elif kind == "s64":
            params[name] = _int(p, name, -(1 << 63), (1 << 63) - 1)
        elif kind == "u32":
            params[name] = _int(p, name, 0, U32)
        elif kind == "factor":
            params[name] = _factor(p)
        elif kind == "vector":
            params[name] = _vector(p)
        elif kind == "code":
            params[name] = _code(p)
    if "error_code" in params and not ev.EXCEPTIONS[params["vector"]][1]:
        raise PolicyError(body["error_code"].src,
                          f"#{params['vector'].upper()} has no error code (SDM 6.3.1)")
    log = False
    if "log" in body:
        if not isinstance(body["log"].value, bool):
            raise PolicyError(body["log"].src, f"log must be true or false, got {body['log'].kind()}")
        log = body["log"].value
        if log and action == "passthrough":
            raise PolicyError(body["log"].src, "log: passthrough takes no exit, so there is "
                                               "nothing to log")
        if log and action == "unhandled":
            raise PolicyError(body["log"].src, "log: unhandled has no handler; the VMM prints "
                                               "the exit anyway")
        if log and action == "log":
            raise PolicyError(body["log"].src, "log: the action log prints every occurrence "
                                               "already")
    if event == "cpuid" and action == "emulate":
        params.update(parse_cpuid(body))
    return Rule(event, action, params, log, src)


def parse_cpuid(body):
    """The result edits of `cpuid: {action: emulate, ...}`."""
    out = {"set": [], "clear": [], "vendor": None, "leaves": []}
    seen = {}
    for what in ("set", "clear"):
        if what in body:
            for n in _list(body[what], what):
                name = _str(n, "feature")
                if name not in ev.FEATURES:
                    raise unknown(n.src, "CPUID feature", name, ev.FEATURES)
                if name in seen:
                    raise PolicyError(n.src, f'feature "{name}" is already in '
                                             f"{seen[name]} (line {body[seen[name]].src.line})")
                seen[name] = what
                out[what].append((name, n.src))
    if "vendor" in body:
        vendor = _str(body["vendor"], "vendor")
        if len(vendor) != 12 or not vendor.isascii():
            raise PolicyError(body["vendor"].src, f"vendor must be 12 ASCII characters "
                                                  f"(EBX, EDX, ECX of leaf 0), got {len(vendor)}")
        out["vendor"] = (vendor, body["vendor"].src)
    if "leaves" in body:
        keys = {}
        for item in _list(body["leaves"], "leaves"):
            m = _mapping(item, "a leaf")
            _check_keys(item, ("leaf", "subleaf") + ev.CPUID_REGS, "a cpuid leaf")
            if "leaf" not in m:
                raise PolicyError(item.src, 'a cpuid leaf needs "leaf", e.g. {leaf: 0x15, eax: 1}')
            leaf = _int(m["leaf"], "leaf", 0, U32)
            sub = _int(m["subleaf"], "subleaf", 0, U32) if "subleaf" in m else None
            if (leaf, sub) in keys:
                raise PolicyError(item.src, f"leaf {hex(leaf)} is already set at line {keys[(leaf, sub)]}")
            keys[(leaf, sub)] = item.src.line
            regs = {r: _cpuid_value(m[r], r) for r in ev.CPUID_REGS if r in m}
            out["leaves"].append({"leaf": leaf, "subleaf": sub, "regs": regs, "src": item.src})
    return out


def _cpuid_value(node, reg):
    """A register of a leaf: an integer, tsc_hz/tsc_khz/tsc_mhz, or {min, set, clear}."""
    v = node.value
    if isinstance(v, str):
        if v not in ev.CPUID_SYMBOLS:
            raise unknown(node.src, f"value for {reg}", v, ev.CPUID_SYMBOLS)
        return ("symbol", v)
    if isinstance(v, dict):
        _check_keys(node, ("min", "set", "clear"), reg)
        return ("edit", {k: _int(v[k], k, 0, U32) for k in ("min", "set", "clear") if k in v})
    return ("value", _int(node, reg, 0, U32))


# ---- io / msr lists ---------------------------------------------------------

def _range(node, what, hi):
    v = node.value
    if isinstance(v, list):
        if len(v) != 2:
            raise PolicyError(node.src, f"{what} range must be [first, last]")
        first, last = _int(v[0], what, 0, hi), _int(v[1], what, 0, hi)
        if first > last:
            raise PolicyError(node.src, f"{what} range [{hex(first)}, {hex(last)}] is backwards")
        return first, last
    n = _int(node, what, 0, hi)
    return n, n


def _range_text(first, last):
    return hex(first) if first == last else f"{hex(first)}-{hex(last)}"


def parse_ranges(node, event, key, dirs, actions, hi, value_max):
    out = []
    for item in _list(node, event):
        m = _mapping(item, f"an {event} rule")
        _check_keys(item, (key,) + tuple(dirs), f"an {event} rule")
        if key not in m:
            raise PolicyError(item.src, f'an {event} rule needs "{key}", e.g. '
                                        f"{{{key}: 0x80, {list(dirs)[1]}: ignore}}")
        first, last = _range(m[key], key, hi)
        if event == "msr":
            _check_msr_range(m[key].src, first, last)
        given = [d for d in dirs if d in m]
        if not given:
            raise PolicyError(item.src, f"an {event} rule needs {' or '.join(dirs)}")
        for d in given:
            name = f"{event} {_range_text(first, last)} {d}"
            rule = parse_rule(m[d], name, actions[d], item.keys[d], value_max)
            if event == "msr":
                _check_msr(m[key].src, first, last, d, rule)
            else:
                _check_io(m[key].src, first, last, rule)
            out.append(RangeRule(first, last, d, rule))
    return _no_overlaps(out)


def _no_overlaps(rules):
    """Within one file, two range rules for the same direction (or kind of
    access) may not overlap."""
    for i, a in enumerate(rules):
        for b in rules[:i]:
            if a.dir == b.dir and a.first <= b.last and b.first <= a.last:
                raise PolicyError(a.rule.src, f"{a.rule.event} overlaps the rule at {b.rule.src}")
    return rules


def _check_msr_range(src, first, last):
    if not any(lo <= first and last <= hi for lo, hi in ev.MSR_RANGES_SVM):
        ranges = ", ".join(f"{hex(lo)}-{hex(hi)}" for lo, hi in ev.MSR_RANGES_SVM)
        raise PolicyError(src, f"MSR {_range_text(first, last)} is outside the ranges the MSR "
                               f"bitmaps can express ({ranges}; SDM 25.6.9, APM 15.11)")


def _grants(rule):
    """Does the rule let the access reach the hardware?"""
    return rule.action in ("passthrough", "emulate")


def _check_msr(src, first, last, d, rule):
    for c in core.MSRS:
        if d in c.dirs and first <= c.last and c.first <= last:
            what = "" if len(c.dirs) == 2 else f"{d}s of "
            raise PolicyError(src, f"{what}MSR {_range_text(c.first, c.last)} ({c.title}) "
                                   f"{'are' if what else 'is'} handled by the core: {c.why}; "
                                   f"a policy may not override it")
    if d != "write" or not _grants(rule):
        return
    for lo, hi, name, why in core.MSR_WRITES_REFUSED:
        if first <= hi and lo <= last:
            raise PolicyError(rule.src, f"msr {_range_text(lo, hi)} ({name}): a write may not "
                                        f"reach the CPU ({rule.action}) because {why}; "
                                        f"ignore, constant, inject or unhandled are possible")


def _check_io(src, first, last, rule):
    for c in core.IO:
        if first <= c.last and c.first <= last:
            raise PolicyError(src, f"port {_range_text(c.first, c.last)} is handled by the core "
                                   f"({c.why}); a policy may not override it")
    if not _grants(rule):
        return
    for lo, hi, name, why in core.IO_REFUSED:
        if first <= hi and lo <= last:
            raise PolicyError(rule.src, f"port {_range_text(lo, hi)} ({name}) may not be "
                                        f"granted ({rule.action}): {why}")


def flatten(ranges, dirs):
    """The winning rule for every port/MSR, as sorted non-overlapping
    (first, last, dir, rule) entries; earlier rules in `ranges` win (the
    including file before the included one). Passthrough entries are the
    grants; a port or MSR with no entry is not granted."""
    out = []
    for d in dirs:
        rr = [r for r in ranges if r.dir == d]
        points = sorted({r.first for r in rr} | {r.last + 1 for r in rr})
        segs = []
        for a, b in zip(points, points[1:]):
            win = next((r.rule for r in rr if r.first <= a and b - 1 <= r.last), None)
            if win is None:
                continue
            if segs and segs[-1][1] == a - 1 and segs[-1][2] is win:
                segs[-1][1] = b - 1
            else:
                segs.append([a, b - 1, win])
        out += [(a, b, d, r) for a, b, r in segs]
    order = list(dirs)
    return sorted(out, key=lambda e: (e[0], e[1], order.index(e[2])))


def io_grants(entries):
    """The port ranges granted in both directions: (first, last, in_rule,
    out_rule). Only these pass through without an exit, since the I/O
    bitmaps have one bit per port for IN and OUT alike."""
    passing = {d: [(a, b, r) for a, b, dd, r in entries if dd == d and not r.exits]
               for d in ("in", "out")}
    out = []
    for a1, b1, rin in passing["in"]:
        for a2, b2, rout in passing["out"]:
            a, b = max(a1, a2), min(b1, b2)
            if a <= b:
                out.append((a, b, rin, rout))
    return sorted(out, key=lambda g: g[0])


# ---- files and includes -------------------------------------------------------

TOP_KEYS = ("description", "include", "exits", "devices")


def load_policy(path, _stack=()):
    """Read the policy at path (as the user named it, used in messages)."""
    real = os.path.realpath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise PolicyError(Source(path, 1, 1), f"cannot read policy: {e.strerror}") from None
    root = yamlsrc.load(path, data)
    top = _mapping(root, "a policy")
    _check_keys(root, TOP_KEYS, "a policy")
    if "description" not in top:
        raise PolicyError(root.src, 'missing "description": one line saying what the policy does')
    desc = _description(top["description"])
    name = os.path.splitext(os.path.basename(path))[0]
    pol = Policy(name, desc, path, files=[path])
    if "include" in top:
        base = _include(top["include"], path, _stack + (real,), pol)
        pol.rules.update(base.rules)
        pol.io, pol.msr, pol.files = list(base.io), list(base.msr), pol.files + base.files
        pol.dirs += base.dirs
        pol.devices = base.devices
        pol.memory = list(base.memory)
    if "devices" in top:        # replaces the included policy's, whole
        pol.devices = dv.parse(top["devices"], _range, _int, _str, _mapping, _check_keys)
    if pol.devices is None and not _stack:
        _default_devices(pol)
    has_exits = "exits" in top and top["exits"].value is not None   # `exits:` alone: none
    exits = _mapping(top["exits"], "exits") if has_exits else {}
    _parse_exits(exits, top.get("exits"), pol)
    return pol


def _default_devices(pol):
    """A policy that says nothing of devices, nor includes one that does,
    gets the shipped default policy's: the split that lv6, xv6 and Linux
    need in the second slot."""
    path = os.path.join(shown(SHIPPED_DIR), "default.yaml")
    if os.path.realpath(path) == os.path.realpath(pol.file):
        raise PolicyError(Source(pol.file, 1, 1), 'the shipped default policy must have "devices"')
    base = load_policy(path, (os.path.realpath(pol.file),))
    pol.devices = base.devices
    pol.files = pol.files + [f for f in base.files if f not in pol.files]


def _description(node):
    """One line: C prints it as a string literal, `lvpolicy.py list` one per line.
    (YAML's literal style, `description: |`, or a "\\n" escape could make it several.)"""
    desc = _str(node, "description").strip()
    if any(ch in desc for ch in "\r\n\u2028\u2029"):
        raise PolicyError(node.src, "description must be one line")
    return desc


def _check_cr8_constant(m, name):
    """CR8 is the 4-bit TPR: MOV from CR8 returns it in bits 3:0 and zeroes
    the rest, and bits 63:4 of a MOV to CR8 are reserved (#GP), so a read
    that returns more than 15 is not one the CPU can give."""
    rule = m.get("read")
    if name != "cr8" or rule is None or not isinstance(rule.value, dict) or "value" not in rule.value:
        return
    node = rule.value["value"]
    if isinstance(node.value, int) and node.value > 15:
        raise PolicyError(node.src, f"cr8 read: value {_show(node.value)} is out of range (0 to 0xf): "
                                    f"CR8 is the 4-bit TPR (SDM Vol. 2B, MOV to/from Control "
                                    f"Registers)")


# The shipped policies: `include: default` finds them from anywhere.
SHIPPED_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                            "policies"))


def shown(path):
    """A path as messages and the generated C cite it: relative to the
    current directory (the checkout, where make runs) when it lies within
    it, else absolute."""
    rel = os.path.relpath(path)
    return path if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def include_candidates(inc, path):
    """Where `include: inc` in the policy at path may be, in lookup order:
    beside the including file, then among the shipped policies. The
    including file itself is skipped: `include: default` in a student's own
    default.yaml means the shipped one."""
    if not inc.endswith(".yaml"):
        inc += ".yaml"
    out = []
    for d in (os.path.dirname(path), shown(SHIPPED_DIR)):
        c = os.path.normpath(os.path.join(d, inc))
        if c not in out and os.path.realpath(c) != os.path.realpath(path):
            out.append(c)
    return out


def _include(node, path, stack, pol):
    inc = _str(node, "include")
    tried = include_candidates(inc, path)
    ipath = next((c for c in tried if os.path.isfile(c)), None)
    if ipath is None:
        raise PolicyError(node.src, f"included policy {inc} not found "
                                    f"(looked in {', '.join(tried)})")
    # A file created later where the lookup looked first would change the
    # result: make regenerates when one of those directories changes.
    pol.dirs += [os.path.dirname(c) or "." for c in tried[:tried.index(ipath)]]
    if os.path.realpath(ipath) in stack:
        raise PolicyError(node.src, f"include cycle: {path} includes {ipath}, "
                                    f"which includes {path} again")
    return load_policy(ipath, stack)


def _parse_exits(exits, node, pol):
    """Merge the rules of this file over those of the included one."""
    io, msr, memory = [], [], []
    for name, value in exits.items():
        src = node.keys[name]
        if name not in ev.EVENT_NAMES:
            raise unknown(src, "event", name, ev.EVENT_NAMES)
        if name in ev.SIMPLE:
            pol.rules[name] = parse_rule(value, name, ev.SIMPLE[name].actions, src)
        elif name == "denied":
            pol.rules[name] = parse_rule(value, name, ev.DENIED_ACTIONS, src)
        elif name in ev.CR_NAMES:
            m = _mapping(value, name)
            _check_keys(value, ("read", "write"), name)
            for d in ("read", "write"):
                if d in m:
                    pol.rules[(name, d)] = parse_rule(m[d], f"{name} {d}", ev.CR_ACTIONS[d],
                                                      value.keys[d])
            _check_cr8_constant(m, name)
        elif name == "exception":
            m = _mapping(value, name)
            for vec, rnode in m.items():
                if vec not in ev.EXCEPTIONS:
                    raise unknown(value.keys[vec], "exception", vec, ev.EXCEPTIONS)
                rule = parse_rule(rnode, f"exception {vec}", ev.EXCEPTION_ACTIONS, value.keys[vec])
                if vec == "pf" and rule.action == "emulate":
                    raise PolicyError(rnode.src, "exception pf: emulate would have to set CR2 to "
                                                 "the fault address, which struct exit_info does "
                                                 "not carry; use inject or unhandled")
                pol.rules[("exception", vec)] = rule
        elif name == "syscall":
            pol.rules[name] = parse_rule(value, name, ev.SYSCALL_ACTIONS, src)
        elif name == "io":
            io = parse_ranges(value, "io", "port", ev.IO_DIRS, ev.IO_ACTIONS, 0xFFFF, U32)
        elif name == "msr":
            msr = parse_ranges(value, "msr", "msr", ev.MSR_DIRS, ev.MSR_ACTIONS, U32, U64)
        elif name == "memory":
            memory = parse_memory(value)
    pol.io = io + pol.io
    pol.msr = msr + pol.msr
    pol.memory = memory + pol.memory
    if len(pol.memory) > ev.MEMORY_MAX:
        first_over = max(0, ev.MEMORY_MAX - (len(pol.memory) - len(memory)))
        raise PolicyError(memory[first_over].rule.src if memory else node.src,
                          f"{len(pol.memory)} memory watches (ranges times kinds of access, "
                          f"with the included policy's): at most {ev.MEMORY_MAX}")


# ---- memory watches -----------------------------------------------------------

def parse_memory(node):
    """`memory:` rules: guest-physical ranges and what a read, write or
    execute access there does. Reads and writes may watch part of a page
    (the whole page traps, lvisor filters by address); execute needs whole
    pages, since a fetch elsewhere on the page could not run either."""
    out = []
    for item in _list(node, "memory"):
        m = _mapping(item, "a memory rule")
        _check_keys(item, ("range",) + tuple(ev.MEMORY_DIRS), "a memory rule")
        if "range" not in m:
            raise PolicyError(item.src, 'a memory rule needs "range", e.g. '
                                        '{range: [0xb8000, 0xb8f9f], write: log}')
        first, last = _range(m["range"], "memory", ev.MEMORY_LIMIT - 1)
        rsrc = m["range"].src
        for lo, hi, why in ev.MEMORY_REFUSED_RANGES:
            if first <= hi and lo <= last:
                raise PolicyError(rsrc, f"memory {_range_text(first, last)} overlaps "
                                        f"{_range_text(lo, hi)}, {why}: it cannot be watched")
        given = [d for d in ev.MEMORY_DIRS if d in m]
        if not given:
            raise PolicyError(item.src, "a memory rule needs read, write or execute")
        for d in given:
            name = f"memory {_range_text(first, last)} {d}"
            rule = parse_rule(m[d], name, ev.MEMORY_ACTIONS, item.keys[d])
            why = ev.MEMORY_REFUSED.get((d, rule.action))
            if why:
                raise PolicyError(m[d].src, f"{name}: {rule.action}: {why}")
            vector = rule.params.get("vector")
            if rule.action == "inject" and vector in ev.MEMORY_INJECT_REFUSED:
                raise PolicyError(m[d].value["vector"].src,
                                  f"{name}: inject #{vector.upper()}: {ev.MEMORY_INJECT_REFUSED[vector]}")
            if d == "execute" and (first & 0xFFF or (last + 1) & 0xFFF):
                raise PolicyError(rsrc, f"{name}: an execute watch takes whole 4 KiB pages (a fetch "
                                        f"elsewhere in a watched page traps too, and lvisor "
                                        f"cannot run it): make the range "
                                        f"[{hex(first & ~0xFFF)}, {hex(last | 0xFFF)}]")
            out.append(RangeRule(first, last, d, rule))
    return _no_overlaps(out)
