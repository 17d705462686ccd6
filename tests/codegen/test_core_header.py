"""core_ports.h: the numbers of the ports and MSRs the core keeps for itself,
written by `lvpolicy.py core-header` from codegen/core.py, the one place that
declares them. vmm/reset.c, poweroff.c and pci.c take their port numbers from
it, so these tests check that it says exactly what core.py says."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, lvpolicy

sys.path.insert(0, os.path.join(ROOT, "codegen"))
import core  # noqa: E402
import render  # noqa: E402


def expected():
    """Macro -> number, from core.py: one name per port or MSR, _FIRST and
    _LAST per range."""
    out = {}
    for prefix, entries in (("CORE_PORT_", core.IO), ("CORE_MSR_", core.MSRS)):
        for e in entries:
            if e.first == e.last:
                out[prefix + e.name] = e.first
            else:
                out[f"{prefix}{e.name}_FIRST"] = e.first
                out[f"{prefix}{e.name}_LAST"] = e.last
    return out


@pytest.fixture
def header(tmp_path):
    path = tmp_path / "gen" / "core_ports.h"
    r = lvpolicy("core-header", str(path), "--depfile", str(tmp_path / "core_ports.d"))
    assert r.returncode == 0, r.stderr
    return path


def test_defines_are_core_py(header):
    """Every #define but the include guard is a number core.py declares."""
    defines = dict(re.findall(r"^#define (CORE_\w+)\s+(0x[0-9a-f]+|[0-9]+)\b", header.read_text(), re.M))
    assert {k: int(v, 0) for k, v in defines.items()} == expected()
    others = re.findall(r"^#define (\w+)", header.read_text(), re.M)
    assert set(others) - set(defines) == {"CORE_PORTS_H"}


def test_compiles_and_prints_core_py(header, tmp_path):
    """A C program that includes the header prints the numbers core.py has:
    the header is C the compiler reads as the generator meant."""
    names = expected()
    prog = tmp_path / "print.c"
    prog.write_text("#include <stdio.h>\n#include \"core_ports.h\"\nint main(void)\n{\n" + "".join(
        f'\tprintf("%s %llu\\n", "{n}", (unsigned long long){n});\n' for n in names) + "\treturn 0;\n}\n")
    exe = tmp_path / "print"
    r = subprocess.run(["gcc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", f"-I{header.parent}",
                        "-o", str(exe), str(prog)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    assert {n: int(v) for n, v in (line.split() for line in out.splitlines())} == names


def test_every_entry_says_why(header):
    """Each port and MSR (the first line of a range) carries its reason."""
    text = header.read_text()
    for e in core.IO + core.MSRS:
        line = next(l for l in text.splitlines() if re.match(rf"#define CORE_\w+_{e.name}(_FIRST)?\s", l))
        assert e.why in line


def test_unchanged_header_is_not_rewritten(header, tmp_path):
    before = header.stat().st_mtime_ns
    r = lvpolicy("core-header", str(header))
    assert r.returncode == 0, r.stderr
    assert header.stat().st_mtime_ns == before
    assert os.listdir(header.parent) == ["core_ports.h"]     # no temporary file left


def test_depfile_names_core_py(header, tmp_path):
    dep = (tmp_path / "core_ports.d").read_text()
    assert dep.startswith(f"{header}:")
    assert "codegen/core.py" in dep


def test_names_are_checked():
    """Two entries with one name would be two #defines of one macro."""
    twice = [core.IO[0], core.IO[0]]
    with pytest.raises(AssertionError, match="a name twice"):
        render.core_defines("CORE_PORT_", twice, lambda e: "")


def test_core_c_has_no_port_numbers_of_its_own():
    """The C that handles the core's ports #defines none of their numbers:
    they come from core_ports.h, so core.py stays the one place."""
    numbers = set(expected().values())
    for f in ("vmm/reset.c", "vmm/poweroff.c", "vmm/pci.c"):
        with open(os.path.join(ROOT, f)) as src:
            for name, value in re.findall(r"^#define (\w+)\s+(0x[0-9a-fA-F]+|[0-9]+)\b", src.read(), re.M):
                assert int(value, 0) not in numbers, f"{f}: #define {name} {value}: use core_ports.h"
