"""Golden generated C for three shipped policies (the minimum, the RDTSC
exercise's rule, and a rule with `log` on every event: between them every
template path a shipped policy takes), determinism, and the real proof that
every shipped policy's C fits the core: it compiles with the VMM's flags
against the real headers.

After an intended change to the generator or a policy, regenerate with
    UPDATE_GOLDEN=1 /usr/bin/python3 -m pytest -q tests/codegen/test_golden.py
and review the diff of tests/codegen/golden/ before committing it."""

import os
import subprocess

import pytest

from conftest import GCC_FREESTANDING, GEN_FILES, HERE, ROOT, SHIPPED, Probe, generate, lvpolicy

GOLDEN = os.path.join(HERE, "golden")


GOLDEN_POLICIES = ["default", "tsc-negate", "trace"]


@pytest.mark.parametrize("name", GOLDEN_POLICIES)
def test_golden(tmp_path, name):
    files = generate(f"policies/{name}.yaml", tmp_path)
    for f, text in files.items():
        path = os.path.join(GOLDEN, name, f)
        if os.environ.get("UPDATE_GOLDEN"):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as g:
                g.write(text)
        with open(path) as g:
            assert text == g.read(), f"{name}/{f} differs from the golden file (UPDATE_GOLDEN=1?)"


def compile_freestanding(gen, obj):
    """policy.c (which includes the other generated files), as the VMM compiles it."""
    r = subprocess.run(GCC_FREESTANDING + [str(gen / "policy.c"), "-o", str(obj)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def exported(obj):
    """The names an object file gives the linker (nm: defined, global)."""
    r = subprocess.run(["nm", "--defined-only", "--extern-only", str(obj)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return sorted(line.split()[-1] for line in r.stdout.splitlines())


@pytest.mark.parametrize("name", SHIPPED + ["../tests/codegen/policies/all-events"])
def test_compiles_freestanding(tmp_path, name):
    generate(f"policies/{name}.yaml", tmp_path)
    compile_freestanding(tmp_path, tmp_path / "x.o")
    # Everything but the struct policy is static.
    assert exported(tmp_path / "x.o") == ["policy"]


def test_two_policies_link_together(tmp_path):
    """POLICY2: a second policy, generated with another name, links into the
    same program as the first without a clash, even when both define the
    same handlers (exit_cpuid, exit_io...) and the same tables. ld -r
    refuses two definitions of one global name."""
    generate("policies/default.yaml", tmp_path / "a")
    generate("policies/tsc-negate.yaml", tmp_path / "b", "--symbol", "policy2")
    compile_freestanding(tmp_path / "a", tmp_path / "a.o")
    compile_freestanding(tmp_path / "b", tmp_path / "b.o")
    assert exported(tmp_path / "b.o") == ["policy2"]
    r = subprocess.run(["ld", "-r", "-o", str(tmp_path / "ab.o"), str(tmp_path / "a.o"),
                        str(tmp_path / "b.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert exported(tmp_path / "ab.o") == ["policy", "policy2"]


def test_two_policies_in_one_program(tmp_path, probe):
    """Both policies linked into the probe: each struct is its own policy's,
    with its own handlers, as if linked alone."""
    both = Probe("policies/default.yaml", tmp_path, second="policies/tsc-negate.yaml")
    second = both._json("dump", "policy2")
    assert both.dump == probe("policies/default.yaml").dump
    assert second == probe("policies/tsc-negate.yaml").dump
    assert second["name"] == "tsc-negate" and second["svm_exits"]["110"] == "exit_rdtsc"
    assert "110" not in both.dump["svm_exits"]      # default: RDTSC passes through


def test_symbol_must_be_a_c_name(tmp_path):
    r = lvpolicy("generate", "policies/default.yaml", str(tmp_path), "--symbol", "policy-2")
    assert r.returncode != 0 and "not a C name" in r.stderr
    assert not (tmp_path / "policy.c").exists()


def test_deterministic(tmp_path):
    for name in SHIPPED:
        a = generate(f"policies/{name}.yaml", tmp_path / "a")
        b = generate(f"policies/{name}.yaml", tmp_path / "b")
        # A policy's own C (action: c) is followed by a #line that names
        # the generated file by its path: the one difference allowed.
        assert a == {f: t.replace(f'"{tmp_path / "b"}/', f'"{tmp_path / "a"}/') for f, t in b.items()}


def test_unchanged_output_is_not_rewritten(tmp_path):
    generate("policies/default.yaml", tmp_path)
    mtimes = {f: os.stat(tmp_path / f).st_mtime_ns for f in GEN_FILES}
    generate("policies/default.yaml", tmp_path)
    assert {f: os.stat(tmp_path / f).st_mtime_ns for f in GEN_FILES} == mtimes


def test_one_line_change_gives_a_small_diff(tmp_path):
    base = (open(os.path.join(ROOT, "policies/default.yaml")).read())
    (tmp_path / "a.yaml").write_text(base)
    (tmp_path / "b.yaml").write_text(base.replace("rdtsc: passthrough", "rdtsc: negate"))
    a = generate(str(tmp_path / "a.yaml"), tmp_path / "A")
    b = generate(str(tmp_path / "b.yaml"), tmp_path / "B")
    changed = 0
    for f in GEN_FILES:
        la = a[f].replace("/a.yaml", "/X").splitlines()
        lb = b[f].replace("/b.yaml", "/X").splitlines()
        changed += len(set(lb) - set(la)) + len(set(la) - set(lb))
    # RDTSC exiting + requirement + table entry + RDTSCP entry (VMX), intercept
    # + entry (SVM), two prototypes, two handlers (~20 lines).
    assert 0 < changed <= 32


def test_depfile(tmp_path):
    r = lvpolicy("generate", "policies/tsc-negate.yaml", str(tmp_path), "--depfile",
                 str(tmp_path / "policy.d"), "--target", "STAMP")
    assert r.returncode == 0
    dep = (tmp_path / "policy.d").read_text()
    target, deps = dep.split(":", 1)
    assert target == "STAMP"
    for d in ("policies/tsc-negate.yaml", "policies/default.yaml", "codegen/model.py",
              "codegen/lvpolicy.py", "codegen/templates/policy_vmx.c.j2"):
        assert d in deps
        assert f"\n{d}:\n" in dep        # a deleted input does not break make


def test_list():
    r = lvpolicy("list", "policies")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names == SHIPPED
    assert "default  " in r.stdout
