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
GEN_FILES = ("policy_actions.h", "policy_actions.c", "policy_vmx.c", "policy_svm.c", "policy.c")
# The exact command the VMM's generated C must compile with, so the tests compile what make builds.
GCC_FREESTANDING = ["gcc", "-std=gnu11", "-ffreestanding", "-fno-pic", "-mno-red-zone",
                    "-mgeneral-regs-only", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-Iinclude", "-Ivmm", "-c"]


def lvpolicy(*args):
    """Run the generator from the repository root, as make does."""
    return subprocess.run([sys.executable, LVPOLICY, *args], cwd=ROOT,
                          capture_output=True, text=True)


def generate(policy, outdir, *options):
    r = lvpolicy("generate", policy, str(outdir), *options)
    assert r.returncode == 0, r.stderr
    return {f: (outdir / f).read_text() for f in GEN_FILES}


def symbols(exe):
    """address -> name of every function in a program, static ones included
    (nm reads the full symbol table): how the tests name the static handlers
    that the probe prints as addresses. gcc may add a suffix to a static
    function's name (exit_io.part.0): it is left off."""
    r = subprocess.run(["nm", "--defined-only", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    names = {}
    for line in r.stdout.splitlines():
        addr, kind, name = line.split(maxsplit=2)
        if kind in "tT":
            names.setdefault(int(addr, 16), name.split(".")[0])
    return names


class Probe:
    """One policy's generated C linked into tests/codegen/harness/probe; with
    `second`, another policy's too, generated as `policy2` (POLICY2)."""

    def __init__(self, policy, tmp, second=None):
        self.gen = tmp / "gen"
        generate(policy, self.gen)
        srcs = [str(self.gen / "policy.c")]
        if second:
            self.gen2 = tmp / "gen2"
            generate(second, self.gen2, "--symbol", "policy2")
            srcs.append(str(self.gen2 / "policy.c"))
        self.exe = tmp / "probe"
        h = os.path.join(HERE, "harness")
        # -no-pie: the addresses the probe prints are those nm lists.
        cmd = ["gcc", "-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", "-no-pie",
               "-Iinclude", "-Ivmm", f"-I{h}", "-o", str(self.exe),
               os.path.join(h, "probe.c"), os.path.join(h, "stubs.c"), "vmm/actions.c", "vmm/policy.c",
               *srcs]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        self.names = symbols(self.exe)
        self.dump = self._json("dump")

    def name(self, addr):
        return addr and self.names.get(int(addr, 16), addr)

    def _json(self, *args):
        r = subprocess.run([str(self.exe), *args], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        self.stderr = r.stderr
        out = json.loads(r.stdout)
        for table in ("vmx_exits", "svm_exits"):
            if table in out:
                out[table] = {k: self.name(v) for k, v in out[table].items()}
        if "handler" in out:
            out["handler"] = self.name(out["handler"])
        return out

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
