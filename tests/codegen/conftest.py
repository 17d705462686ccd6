"""Shared helpers for the generator's tests.

Run with Debian's Python: /usr/bin/python3 -m pytest -q tests/codegen
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
LVPOLICY = os.path.join(ROOT, "codegen", "lvpolicy.py")
SHIPPED = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "policies")) if f.endswith(".yaml"))
GEN_FILES = ("policy_actions.h", "policy_actions.c", "policy_vmx.c", "policy_svm.c")
# The exact command the VMM's generated C must compile with, so the tests compile what make builds.
GCC_FREESTANDING = ["gcc", "-std=gnu11", "-ffreestanding", "-fno-pic", "-mno-red-zone",
                    "-mgeneral-regs-only", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-Iinclude", "-Ivmm", "-c"]


def lvpolicy(*args):
    """Run the generator from the repository root, as make does."""
    return subprocess.run([sys.executable, LVPOLICY, *args], cwd=ROOT,
                          capture_output=True, text=True)


def generate(policy, outdir):
    r = lvpolicy("generate", policy, str(outdir))
    assert r.returncode == 0, r.stderr
    return {f: (outdir / f).read_text() for f in GEN_FILES}


class Probe:
    """One policy's generated C linked into tests/codegen/harness/probe."""

    def __init__(self, policy, tmp):
        self.gen = tmp / "gen"
        generate(policy, self.gen)
        self.exe = tmp / "probe"
        h = os.path.join(HERE, "harness")
        cmd = ["gcc", "-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", "-rdynamic",
               "-Iinclude", "-Ivmm", f"-I{h}", f"-I{self.gen}", "-o", str(self.exe),
               os.path.join(h, "probe.c"), os.path.join(h, "stubs.c"), "vmm/actions.c", "vmm/policy.c",
               *(str(self.gen / f) for f in GEN_FILES if f.endswith(".c"))]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        self.dump = self._json("dump")

    def _json(self, *args):
        r = subprocess.run([str(self.exe), *args], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        self.stderr = r.stderr
        return json.loads(r.stdout)

    def run(self, backend, code, **fields):
        args = [f"{k.replace('__', '.')}={v}" for k, v in fields.items()]
        return self._json("run", backend, str(code), *args)


@pytest.fixture(scope="session")
def probe(tmp_path_factory):
    """probe("policies/x.yaml") -> Probe, built once per policy."""
    cache = {}

    def get(policy):
        if policy not in cache:
            cache[policy] = Probe(policy, tmp_path_factory.mktemp("probe"))
        return cache[policy]
    return get
