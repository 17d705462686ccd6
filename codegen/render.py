"""Model -> C text through the Jinja2 templates, and writing the results.

Each generated file is written atomically (a temporary file, then rename), and
only if its contents changed, so a failed run leaves nothing half-written and
an unchanged policy does not make make rebuild anything.
"""

import difflib
import os
import re
import tempfile

import jinja2

import core
import events as ev
import handlers
import model
import svm
import vmx
from yamlsrc import Lit

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(HERE, "templates")
# policy.c is the one file to compile: it includes the other three (see its comment).
OUTPUTS = ("policy_actions.h", "policy_actions.c", "policy_vmx.c", "policy_svm.c", "policy.c")
# The name of the struct policy that policy.c exports: `policy` for the
# first guest's; the build gives a second policy linked into the same lvisor
# another (lvpolicy.py generate --symbol).
DEFAULT_SYMBOL = "policy"
CORE_HEADER = "core_ports.h"    # the same for every policy: lvpolicy.py core-header


def c_num(n):
    """An integer as C: as the policy wrote it (decimal or hex) when it can,
    else small ones in decimal and others in hex; ull when over 32 bits."""
    if n < 0:
        return f"-{c_num(-n)}"
    text = getattr(n, "text", "").lower()
    if not re.fullmatch(r"0x[0-9a-f]+|0|[1-9][0-9]*", text):
        text = str(int(n)) if n < 10 else hex(n)
    return text + ("ull" if n > 0xFFFFFFFF else "")


def c_abs(n):
    """|n| as C, keeping the policy's spelling (offset -1000 -> 1000)."""
    text = getattr(n, "text", "")
    n = abs(int(n))
    return c_num(Lit(n, text.lstrip("+-")) if text else n)


def c_str(s):
    """A C string literal's contents. A ? is escaped: "??/" would be a
    trigraph (gcc warns, and the VMM builds with -Werror)."""
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("?", "\\?")


def c_comment(s):
    """Text inside a C comment: neither ending it nor opening another
    (gcc's -Wcomment), nor a trigraph."""
    s = str(s).replace("*/", "* /").replace("/*", "/ *")
    while "??" in s:
        s = s.replace("??", "? ?")
    return s


def range_cond(var, first, last, width):
    """`port == 0x80`, `port >= 0x60 && port <= 0x64`, without tests that are
    always true for the variable's width (gcc's -Wtype-limits)."""
    if first == last:
        return f"{var} == {c_num(first)}"
    parts = []
    if first > 0:
        parts.append(f"{var} >= {c_num(first)}")
    if last < (1 << width) - 1:
        parts.append(f"{var} <= {c_num(last)}")
    return " && ".join(parts) or "true"


def overlap_cond(var, lastvar, first, last):
    """An access [var, lastvar] that touches any of the ports first-last."""
    if first == 0:
        return f"{var} <= {c_num(last)}"
    return f"{var} <= {c_num(last)} && {lastvar} >= {c_num(first)}"


def within_cond(var, lastvar, first, last):
    """An access [var, lastvar] that lies within the ports first-last."""
    if first == last:
        return f"{var} == {c_num(first)} && {lastvar} == {c_num(first)}"
    parts = [f"{var} >= {c_num(first)}"] if first > 0 else []
    return " && ".join(parts + [f"{lastvar} <= {c_num(last)}"])


def le32(text):
    """Four characters as the little-endian register CPUID returns them in."""
    return hex(int.from_bytes(text.encode("ascii"), "little"))


def msr_grants(pol):
    """msr_grants[] (policy_actions.c): the MSRs the policy passes through, by direction
    (MSRs outside a backend's MSR bitmap exit there anyway: exit_msr)."""
    out = []
    for f, l, d, r in pol.msr_entries():
        if r.exits:
            continue
        if out and out[-1]["last"] == f - 1 and out[-1]["dirs"] == ev.MSR_DIRS[d] \
                and out[-1]["rule"] == r.src.short:
            out[-1]["last"] = l
            continue
        out.append(dict(first=f, last=l, dirs=ev.MSR_DIRS[d], rule=r.src.short, comment=r.text))
    return sorted(out, key=lambda e: (e["first"], e["last"], e["dirs"]))


def io_grants(pol):
    """io_grants[] (policy_actions.c): the ports the policy passes through both ways."""
    out = []
    for f, l, rin, rout in model.io_grants(pol.io_entries()):
        rule = rin.src.short
        if rout.src.short != rin.src.short:
            rule += f",{rout.src.line}" if rout.src.file == rin.src.file else f", {rout.src.short}"
        comment = f"{rin.text}, out: {rout.action}" if rin.event[:-3] == rout.event[:-4] \
            else f"{rin.text}; {rout.text}"
        out.append(dict(first=f, last=l, rule=rule, comment=comment))
    return out


# What each watched kind of access takes away from the watched pages, as
# vmm/memwatch.c's watch_perms() does: (EPT, NPT).
MEMORY_PERMS = {
    "read": ("R, W and X clear: not present (a page must be readable to be writable, "
             "SDM 29.3.3.1)", "P clear: not present (NPT cannot refuse reads alone, APM 15.25.5)"),
    "write": ("W clear: R-X (SDM 29.3.2, table 29-6)", "R/W clear: read-only (APM 15.25.5)"),
    "execute": ("X clear: RW- (SDM 29.3.2, table 29-6)", "NX set, with EFER.NXE (APM 15.25.5)"),
}
MEMORY_ACTION_C = {"log": "WATCH_LOG", "ignore": "WATCH_IGNORE", "inject": "WATCH_INJECT",
                   "unhandled": "WATCH_UNHANDLED"}


def memory_watches(pol):
    """watches[] (policy_actions.c): the policy's memory rules, first wins."""
    out = []
    for r in pol.memory:
        rule = r.rule
        vec = rule.params.get("vector")
        ept, npt = MEMORY_PERMS[r.dir]
        out.append(dict(first=r.first, last=r.last, access=ev.MEMORY_DIRS[r.dir],
                        action=MEMORY_ACTION_C[rule.action], log="true" if rule.log else "false",
                        vector=ev.vec_name(vec) if vec else "0",
                        has_error="true" if vec and ev.EXCEPTIONS[vec][1] else "false",
                        error_code=rule.params.get("error_code", 0),
                        rule=f"{rule.src.short}: {rule.text}", where=rule.src.short,
                        comment=rule.text, pages=f"{hex(r.first & ~0xFFF)}-{hex(r.last | 0xFFF)}",
                        ept=ept, npt=npt))
    return out


def tabs(text, n=1):
    """Indent C by n tabs (blank lines stay empty); no trailing newline."""
    lines = text.rstrip("\n").split("\n")
    return "\n".join(("\t" * n + line) if line.strip() else "" for line in lines)


# The C of `action: c` rules is pasted after rendering (paste_code): the
# template marks where with this line, whatever its indentation.
_CODE_MARK = re.compile(r"^[ \t]*@@policy-code (\d+)@@$")


def paste_code(text, codes, gen_file):
    """Replace each code mark in text by the rule's C, as written in the
    policy: `#line` (C17 6.10.4) first, so that the compiler's messages
    about it name the policy file and line, and its indentation restored,
    so that their columns are the file's too; then `#line` back to the
    generated file (gen_file, as the compiler names it), for what follows."""
    out = []
    for line in text.split("\n"):
        m = _CODE_MARK.match(line)
        if not m:
            out.append(line)
            continue
        code = codes[int(m.group(1))]
        lines = code.text.split("\n")
        if lines[-1] == "":
            lines.pop()
        out.append(f'#line {code.src.line} "{c_str(code.src.file)}"')
        out += [" " * (code.src.col - 1) + l if l.strip() else "" for l in lines]
        out.append(f'#line {len(out) + 2} "{c_str(gen_file)}"')
    return "\n".join(out)


def environment(codes=None):
    """codes: where the `code_mark` filter collects the rules' C (paste_code)."""
    codes = [] if codes is None else codes

    def code_mark(code):
        codes.append(code)
        return f"@@policy-code {len(codes) - 1}@@"

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(c_num=c_num, c_str=c_str, c_comment=c_comment, tabs=tabs, le32=le32,
                       c_abs=c_abs, code_mark=code_mark)
    env.globals.update(range_cond=range_cond, overlap_cond=overlap_cond, within_cond=within_cond, ev=ev, hex=hex)
    return env


def has_code(pol):
    """Does any rule of the policy carry C (`action: c`)?"""
    rules = list(pol.rules.values()) + [r.rule for r in pol.io + pol.msr]
    return any(r.action == "c" for r in rules)


def render(pol, symbol=DEFAULT_SYMBOL, outdir=None):
    """All generated files of a policy: name -> text. Raises PolicyError when
    a backend cannot implement a rule, before anything is written. outdir:
    where they will be written, for the `#line` that follows each rule's C
    in policy_actions.c (the compiler names the file by that path)."""
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", symbol), f"{symbol}: not a C name"
    ctx = dict(pol=pol, symbol=symbol, handlers=handlers.handlers(pol), vmx=vmx.encode(pol), svm=svm.encode(pol),
               io_grants=io_grants(pol), msr_grants=msr_grants(pol), has_code=has_code(pol),
               watches=memory_watches(pol))
    codes = []
    env = environment(codes)
    out = {name: env.get_template(name + ".j2").render(ctx) for name in OUTPUTS}
    gen_file = os.path.normpath(os.path.join(outdir or "", "policy_actions.c"))
    out["policy_actions.c"] = paste_code(out["policy_actions.c"], codes, gen_file)
    return out


def core_defines(prefix, entries, comment):
    """#define lines for core.IO or core.MSRS: (macro, value, comment) dicts,
    by number; a range gets PREFIX_NAME_FIRST and _LAST, one number
    PREFIX_NAME. A bad name is the generator's bug, so it is an assert."""
    names = [e.name for e in entries]
    assert len(set(names)) == len(names), f"{prefix}: a name twice in {names}"
    out = []
    for e in sorted(entries, key=lambda e: (e.first, e.last)):
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", e.name), f"{prefix}{e.name}: not a C name"
        assert e.first <= e.last, f"{prefix}{e.name}: first after last"
        if e.first == e.last:
            out.append((prefix + e.name, e.first, comment(e)))
        else:
            out += [(f"{prefix}{e.name}_FIRST", e.first, comment(e)),
                    (f"{prefix}{e.name}_LAST", e.last, "")]
    width = max(len(m) for m, _, _ in out) + 1
    vwidth = max(len(c_num(v)) for _, v, _ in out) + 1
    return [dict(macro=m.ljust(width), value=c_num(v).ljust(vwidth) if c else c_num(v), comment=c)
            for m, v, c in out]


def _msr_comment(m):
    dirs = "reads and writes" if len(m.dirs) == 2 else f"{m.dirs[0]}s"
    return f"{m.title}, {dirs}: {m.why}"


def core_header():
    """core_ports.h: the numbers of the ports and MSRs core.py declares."""
    ports = core_defines("CORE_PORT_", core.IO, lambda p: f"{p.handler}: {p.why} -- {p.ref}")
    msrs = core_defines("CORE_MSR_", core.MSRS, _msr_comment)
    return environment().get_template(CORE_HEADER + ".j2").render(ports=ports, msrs=msrs)


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return True


def sources():
    """The generator's own files: a change to any of them regenerates."""
    py = sorted(os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".py"))
    tpl = sorted(os.path.join(TEMPLATES, f) for f in os.listdir(TEMPLATES) if f.endswith(".j2"))
    return [os.path.relpath(p) for p in py + tpl]


# A policy file's path, and a citation of one of its lines: "x.yaml:14", or
# "x.yaml:40,41" and "x.yaml:40, y.yaml:41" for the two directions of a port.
_PATH = r'[^\s"(]+\.yaml'
_CITATION = re.compile(rf"{_PATH}:\d+(?:,\d+)*(?:, {_PATH}:\d+(?:,\d+)*)*(?:: )?")
_FILE = re.compile(_PATH)
# The #line directives around a rule's C (paste_code): their line numbers and
# the generated file's path are citations too.
_LINE_DIRECTIVE = re.compile(r'^#line \d+ "((?:[^"\\]|\\.)*)"$', re.M)
DIFF_ORDER = ("policy_vmx.c", "policy_svm.c", "policy_actions.h", "policy_actions.c", "policy.c")


def uncite(text):
    """Generated C without its citations, for the short diff: `/* x.yaml:14:
    rdtsc: negate */` becomes `/* rdtsc: negate */`, and a file named on its
    own (the header, policy_file) becomes `<policy>`, and so do the
    `#line` directives around a rule's C. Only what a rule does is left to
    differ, not where it is written."""
    text = _LINE_DIRECTIVE.sub(lambda m: '#line ... "<policy>"' if m.group(1).endswith(".yaml")
                               else '#line ... "<generated>"', text)
    return _FILE.sub("<policy>", _CITATION.sub("", text))


def diff(dir_a, dir_b, short=False):
    """The unified diff of the C generated into two directories."""
    out = []
    for name in DIFF_ORDER:
        a, b = (os.path.join(d, name) for d in (dir_a, dir_b))
        texts = []
        for path in (a, b):
            with open(path, encoding="utf-8") as f:
                texts.append(uncite(f.read()) if short else f.read())
        out += difflib.unified_diff(texts[0].splitlines(keepends=True),
                                    texts[1].splitlines(keepends=True), a, b)
    return "".join(out)


def depfile(target, deps):
    """A make rule `target: deps`, plus an empty rule per dep so that a
    deleted file does not stop make."""
    lines = [f"{target}: " + " \\\n  ".join(deps), ""]
    lines += [f"{d}:" for d in deps]
    return "\n".join(lines) + "\n"
