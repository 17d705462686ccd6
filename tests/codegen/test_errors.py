"""Every error class: each bad policy in tests/codegen/bad/ says on its first
line what the generator must answer:

    # expect: LINE:COL: message            (in this file)
    # expect: FILE:LINE:COL: message       (in another file, e.g. an include)

Files whose bytes would not be readable there (not UTF-8, control
characters, very long lines) are written by test_bad_bytes from BAD_BYTES.

The answer must be that one line on stderr (message as a prefix), exit
status 1, no traceback, and no file written."""

import os
import re

import pytest

from conftest import HERE, ROOT, generate, lvpolicy

BAD = sorted(f for f in os.listdir(os.path.join(HERE, "bad")) if f.endswith(".yaml"))


def fails_with(tmp_path, path, expect, exact=False):
    """Generating from path gives the one line expect (or one that starts
    with it) and nothing else."""
    out = tmp_path / "gen"
    r = lvpolicy("generate", path, str(out), "--depfile", str(tmp_path / "d"))
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    got = lines[0] if exact else lines[0][:len(expect)]
    assert got == expect, f"\n got: {lines[0]}\nwant: {expect}"
    assert not out.exists() and not (tmp_path / "d").exists()


@pytest.mark.parametrize("name", BAD)
def test_bad_policy(tmp_path, name):
    path = f"tests/codegen/bad/{name}"
    with open(os.path.join(ROOT, path)) as f:
        expect = re.match(r"# expect: (.*)", f.readline()).group(1)
    if not expect.startswith("tests/"):
        expect = f"{path}:{expect}"
    fails_with(tmp_path, path, expect)


OK = b"description: ok\nexits:\n  rdtsc: negate\n"
# Policies whose bytes would not be readable in tests/codegen/bad/, or are too
# long to read: (name, contents, the exact "line:col: message").
BAD_BYTES = [
    ("not-utf8", b"description: caf\xe9\n", "1:17: not UTF-8: byte 0xe9"),
    ("utf16", "description: x\n".encode("utf-16"), "1:1: not UTF-8: byte 0xff"),
    ("truncated-utf8", b"description: x\nexits:\n  rdtsc: \xe2\x82", "3:10: not UTF-8: byte 0xe2"),
    ("nul", b"description: x\x00\n", "1:15: control character U+0000 (NUL)"),
    ("escape", b"description: x\nexits:\n  rdtsc: \x1b[1mnegate\n",
     "3:10: control character U+001B (ESC)"),
    ("c1-control", "description: x\u0085y\n".encode(), "1:15: control character U+0085"),
    ("noncharacter", "description: x\uffff\n".encode(), "1:15: noncharacter U+FFFF"),
    # The first problem in the file wins: here the DEL of an ELF header.
    ("binary", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), "1:1: control character U+007F (DEL)"),
    ("empty", b"", '1:1: empty policy: expected a mapping with "description" and "exits"'),
    # CR LF and CR alone end lines as LF does.
    ("crlf", b"description: x\r\nexits:\r\n  rdtsc: negat\r\n",
     '3:10: unknown action "negat" (did you mean "negate"?); expected one of: absent, c, constant, '
     "emulate, ignore, inject, log, negate, offset, passthrough, scale, stats, unhandled"),
    ("cr", b"description: x\rexits:\r  rdtsc: \x00\r", "3:10: control character U+0000 (NUL)"),
    # A byte order mark is not a column.
    ("bom", b"\xef\xbb\xbfdescriptio: x\n",
     '1:1: unknown key "descriptio" in a policy (did you mean "description"?); '
     "expected one of: description, include, exits, devices"),
    ("deep", b"description: x\nexits: " + b"[" * 10000,
     "2:57: nested too deeply: a policy has at most 50 levels of lists and mappings"),
    ("long-integer", b"description: x\nexits:\n  rdtsc: {action: scale, factor: " + b"9" * 5000 + b"}\n",
     "3:34: integer too long (5000 characters): a policy's numbers fit in 64 bits"),
]


@pytest.mark.parametrize("name,data,expect", BAD_BYTES, ids=[b[0] for b in BAD_BYTES])
def test_bad_bytes(tmp_path, name, data, expect):
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(data)
    fails_with(tmp_path, str(path), f"{path}:{expect}", exact=True)


def test_byte_order_mark_is_ignored(tmp_path):
    """A policy saved with a BOM generates what it does without one."""
    p = tmp_path / "p.yaml"
    p.write_bytes(OK)
    plain = generate(p, tmp_path / "plain")
    p.write_bytes(b"\xef\xbb\xbf" + OK)
    assert generate(p, tmp_path / "bom") == plain


def test_failure_leaves_previous_output_alone(tmp_path):
    """A policy that becomes invalid leaves the last good output untouched."""
    p = tmp_path / "p.yaml"
    p.write_text("description: ok\nexits:\n  rdtsc: negate\n")
    assert lvpolicy("generate", str(p), str(tmp_path / "gen")).returncode == 0
    before = {f: (tmp_path / "gen" / f).read_bytes() for f in os.listdir(tmp_path / "gen")}
    p.write_text("description: ok\nexits:\n  rdtsc: negat\n")
    r = lvpolicy("generate", str(p), str(tmp_path / "gen"))
    assert r.returncode == 1 and "did you mean" in r.stderr
    after = {f: (tmp_path / "gen" / f).read_bytes() for f in os.listdir(tmp_path / "gen")}
    assert after == before      # no temporary file left behind either


def test_missing_policy_file(tmp_path):
    r = lvpolicy("generate", "policies/nope.yaml", str(tmp_path))
    assert r.returncode == 1
    assert r.stderr.startswith("policies/nope.yaml:1:1: cannot read policy")
