"""action: c, a rule's handler written in C in the policy: where the code
lands in the generated C (between #line directives naming the policy's
line), that gcc's messages about it name the policy's file:line:col, and
what the handlers do when run (the probe harness, as test_handlers.py).
The errors of `code` itself are in bad/c-*.yaml (test_errors.py)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GCC_FREESTANDING, ROOT, generate
from test_errors import fails_with

sys.path.insert(0, os.path.join(ROOT, "codegen"))
import render  # noqa: E402

U64 = (1 << 64) - 1

# Every event that takes `action: c`, each with its code, for the probe;
# `log: true` on most, so that gcc checks each log line's format too.
ALL_C = """\
description: action c on every event that takes it (tests only)
exits:
  rdtsc:
    action: c
    code: |
      val = tsc * 100;
  rdtscp:
    action: c
    log: true
    code: |
      val = -tsc;
      aux = 7;
  cpuid:
    action: c
    log: true
    code: |
      if (leaf == 0x15) {
              r.eax = 1;
              r.ebx = 1000;
              r.ecx = (uint32_t)(tsc_hz / 1000);
      }
  vmcall: {action: c, log: true, code: "v->regs.rax = v->regs.rbx + 1;"}
  io:
    - port: [0x500, 0x503]
      in:
        action: c
        log: true
        code: |
          val = port << 8 | v->exit.io.size;
      out:
        action: c
        log: true
        code: |
          if (val == 0xdead)
                  return vcpu_stop(v, "out 0x%x: 0x%x", port, val);
  msr:
    - msr: 0x40
      read: {action: c, log: true, code: "val = (uint64_t)msr << 32 | 1;"}
      write:
        action: c
        log: true
        code: |
          if (val > 5) {
                  vcpu_inject(v, VEC_GP, true, 0);
                  return EXIT_RESUME;
          }
"""


def line_of(text, needle):
    """The 1-based line of text on which needle first appears."""
    return next(i for i, l in enumerate(text.splitlines(), 1) if needle in l)


@pytest.fixture(scope="module")
def p(probe, tmp_path_factory):
    path = tmp_path_factory.mktemp("c") / "all-c.yaml"
    path.write_text(ALL_C)
    return probe(str(path))


def test_shipped_tsc_c_pastes_the_code_between_line_directives(tmp_path):
    """policies/tsc-c.yaml: the YAML line of the code, then the code as
    written there (its indentation too, so columns agree), then #line back
    to the generated file at its true next line."""
    yaml = (Path(ROOT) / "policies" / "tsc-c.yaml").read_text()
    code_line = line_of(yaml, "      val = tsc * 100;")
    gen = tmp_path / "gen"
    c = generate("policies/tsc-c.yaml", gen)["policy_actions.c"]
    lines = c.splitlines()
    i = lines.index(f'#line {code_line} "policies/tsc-c.yaml"')
    assert lines[i - 1].strip().startswith(f"/* policies/tsc-c.yaml:{code_line}: the policy's own C")
    assert lines[i + 1] == yaml.splitlines()[code_line - 1] == "      val = tsc * 100;"
    # `#line N` numbers the line after it N: lines[i + 2] is line i + 3.
    assert lines[i + 2] == f'#line {i + 4} "{gen}/policy_actions.c"'
    assert lines[i + 3] == "\tvcpu_set_edx_eax(v, val);"
    # The handler around it: the real TSC in `tsc`, `val` given to the guest.
    assert "\tconst uint64_t tsc = rdtsc();\t/* the real TSC */" in lines[:i]
    # RDTSCP too, at its own line.
    rdtscp_line = line_of(yaml, "  rdtscp:") + 3
    assert f'#line {rdtscp_line} "policies/tsc-c.yaml"' in lines


def test_every_line_directive_back_is_true(tmp_path):
    """In a policy with several pieces of code, each #line back to the
    generated file names the line that follows it."""
    path = tmp_path / "all-c.yaml"
    path.write_text(ALL_C)
    gen = tmp_path / "gen"
    lines = generate(str(path), gen)["policy_actions.c"].splitlines()
    back = [(n, l) for n, l in enumerate(lines, 1) if l.startswith("#line") and "policy_actions.c" in l]
    to_yaml = [l for l in lines if l.startswith("#line") and l.endswith(f'"{path}"')]
    assert len(back) == len(to_yaml) == 8
    for n, l in back:
        assert l == f'#line {n + 1} "{gen}/policy_actions.c"'
    # A one-line code keeps its column: spaces up to where the string starts.
    yaml_lines = ALL_C.splitlines()
    vmcall = line_of(ALL_C, "vmcall:")
    i = lines.index(f'#line {vmcall} "{path}"')
    col = yaml_lines[vmcall - 1].index('"v->regs') + 1
    assert lines[i + 1] == " " * col + "v->regs.rax = v->regs.rbx + 1;"


def gcc(tmp_path, source):
    """Compile as lvisor's C is compiled; messages in plain ASCII quotes."""
    return subprocess.run(GCC_FREESTANDING + ["-o", str(tmp_path / "p.o"), str(source)], cwd=ROOT,
                          capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))


def test_gcc_names_the_policy_file_line_and_column(tmp_path):
    """A mistake in the C: gcc's error is at the policy's file:line:col."""
    path = tmp_path / "typo.yaml"
    path.write_text("description: x\n"
                    "exits:\n"
                    "  rdtsc:\n"
                    "    action: c\n"
                    "    code: |\n"
                    "      val = tsc * 100\n"           # line 6: no ';'
                    "      val += 1;\n"
                    "  rdtscp: {action: c, code: \"val = tsc * 100 aux;\"}\n")   # line 8
    gen = tmp_path / "gen"
    generate(str(path), gen)
    r = gcc(tmp_path, gen / "policy.c")
    assert r.returncode != 0
    assert f"{path}:6:22: error: expected ';'" in r.stderr, r.stderr
    # After `100`, where the ';' belongs: the string's text starts at column 30.
    assert f"{path}:8:45: error: expected ';'" in r.stderr, r.stderr


def test_gcc_compiles_the_exercise_handlers(tmp_path):
    """The exercise's handlers, each one line of C, compile as lvisor's C does."""
    for name, code in (("negate", "val = -tsc;"), ("times10", "val = tsc * 10;"),
                       ("scale100", "val = tsc * 100;"), ("emulate", "val = tsc;")):
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"description: x\ninclude: default\nexits:\n"
                        f"  rdtsc:\n    action: c\n    code: |\n      {code}\n")
        gen = tmp_path / name
        generate(str(path), gen)
        r = gcc(tmp_path, gen / "policy.c")
        assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("code,factor", [("val = -tsc;", -1), ("val = tsc * 10;", 10),
                                         ("val = tsc * 100;", 100)])
def test_exercise_handlers_run(probe, tmp_path, code, factor):
    path = tmp_path / "ex.yaml"
    path.write_text(f"description: x\nexits:\n  rdtsc:\n    action: c\n    code: |\n      {code}\n")
    q = probe(str(path))
    for backend, exit_code in (("vmx", 16), ("svm", 0x6E)):
        r = q.run(backend, exit_code)
        val = (r["rdx"] << 32) | r["rax"]
        lo, hi = sorted((r["tsc_before"] * factor & U64, r["tsc_after"] * factor & U64))
        assert lo <= val <= hi and r["skips"] == 1 and r["ret"] == 0


def test_tsc_rules(p):
    r = p.run("svm", 0x6E)
    val = (r["rdx"] << 32) | r["rax"]
    assert r["tsc_before"] * 100 <= val <= r["tsc_after"] * 100 and r["skips"] == 1
    r = p.run("vmx", 51)
    val = (r["rdx"] << 32) | r["rax"]
    assert -r["tsc_after"] & U64 <= val <= -r["tsc_before"] & U64
    assert r["rcx"] == 7 and r["skips"] == 1
    assert r["log"] == 1 and re.search(r"rdtscp: c \(log\): .*rdtscp -> 0x[0-9a-f]+ aux 0x7", p.stderr)


def test_cpuid(p):
    r = p.run("vmx", 10, rax=0x15)
    assert (r["rax"], r["rbx"], r["rcx"]) == (1, 1000, 2500000)     # tsc_hz 2.5 GHz in kHz
    cpuid = line_of(ALL_C, "  cpuid:")
    assert r["skips"] == 1 and r["log"] == 1 and f"all-c.yaml:{cpuid}: cpuid: c (log)" in p.stderr


def test_vmcall(p):
    r = p.run("svm", 0x81, rbx=41)
    assert r["rax"] == 42 and r["skips"] == 1


def test_io(p):
    r = p.run("vmx", 30, io__port=0x501, io__size=2, io__in=1, rax=U64)
    assert r["rax"] == (U64 & ~0xFFFF) | 0x0102 and r["skips"] == 1     # AX only
    r = p.run("svm", 0x7B, io__port=0x500, io__size=4, io__in=0, rax=0x1234)
    assert r["skips"] == 1 and r["called"] == ""                          # dropped
    # A `return` in the code ends the handler: no skip.
    r = p.run("svm", 0x7B, io__port=0x500, io__size=4, io__in=0, rax=0xDEAD)
    assert r["called"] == "vcpu_stop" and r["ret"] == 1 and r["skips"] == 0


def test_msr(p):
    r = p.run("vmx", 31, msr__index=0x40)
    assert (r["rdx"], r["rax"], r["skips"]) == (0x40, 1, 1)
    assert p.run("svm", 0x7C, msr__index=0x40, msr__write=1, rax=5)["skips"] == 1
    r = p.run("svm", 0x7C, msr__index=0x40, msr__write=1, rax=6)
    assert r["inject"] == [13, 1, 0] and r["skips"] == 0


@pytest.mark.parametrize("code,why", [
    ('"val = tsc\\n* 100;"', "a quoted string with a line break in it"),
    ("val = tsc\n      * 100;", "a plain string over two lines"),
])
def test_code_that_would_not_keep_its_lines(tmp_path, code, why):
    path = tmp_path / "bad.yaml"
    path.write_text(f"description: x\nexits:\n  rdtsc:\n    action: c\n    code: {code}\n")
    fails_with(tmp_path, str(path), f"{path}:5:11: code must be one line, or a literal block "
                                    "(code: |)")


def test_code_with_another_line_break(tmp_path):
    """U+2028 ends a line for YAML, not for gcc: the lines would not agree."""
    path = tmp_path / "bad.yaml"
    path.write_bytes("description: x\nexits:\n  rdtsc:\n    action: c\n    code: |\n"
                     "      val = tsc;\u2028      val *= 2;\n".encode())
    fails_with(tmp_path, str(path), f"{path}:5:11: code holds a line break other than a plain "
                                    "newline")


def test_short_diff_hides_the_line_directives(tmp_path):
    path = tmp_path / "all-c.yaml"
    path.write_text(ALL_C)
    short = render.uncite(generate(str(path), tmp_path / "gen")["policy_actions.c"])
    assert short.count('#line ... "<policy>"\n') == short.count('#line ... "<generated>"\n') == 8
    assert not re.search(r"#line \d", short) and str(tmp_path) not in short

