"""Every error class: each bad policy in tests/codegen/bad/ says on its first
line what the generator must answer:

    # expect: LINE:COL: message            (in this file)
    # expect: FILE:LINE:COL: message       (in another file, e.g. an include)

The answer must be that one line on stderr (message as a prefix), exit
status 1, no traceback, and no file written."""

import os
import re

import pytest

from conftest import HERE, ROOT, lvpolicy

BAD = sorted(f for f in os.listdir(os.path.join(HERE, "bad")) if f.endswith(".yaml"))


@pytest.mark.parametrize("name", BAD)
def test_bad_policy(tmp_path, name):
    path = f"tests/codegen/bad/{name}"
    with open(os.path.join(ROOT, path)) as f:
        expect = re.match(r"# expect: (.*)", f.readline()).group(1)
    if not expect.startswith("tests/"):
        expect = f"{path}:{expect}"
    out = tmp_path / "gen"
    r = lvpolicy("generate", path, str(out), "--depfile", str(tmp_path / "d"))
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(expect), f"\n got: {lines[0]}\nwant: {expect}"
    assert not out.exists() and not (tmp_path / "d").exists()


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
