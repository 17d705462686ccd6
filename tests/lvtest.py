"""Shared helpers for lvisor's boot tests: run make targets, boot guests, read
what they printed (ANSI colors stripped, so tests match plain text)."""
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
XV6 = SHARED / "guests" / "xv6" / "kernelmemfs"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc")


def plain(text):
    """Output as a reader sees it: no colors, no carriage returns."""
    return ANSI.sub("", text).replace("\r", "")


class Run:
    def __init__(self, args, status, raw):
        self.args, self.status, self.raw = args, status, raw
        self.out = plain(raw)

    def lines(self, prefix=""):
        return [l for l in self.out.splitlines() if l.startswith(prefix)]

    def __repr__(self):
        return f"make {' '.join(self.args)} -> {self.status}\n{self.out[-4000:]}"


def make(*args, timeout=300, **variables):
    """Run `make -s ARGS VAR=value...` in the project and capture everything."""
    cmd = ["make", "-s", *args] + [f"{k}={v}" for k, v in variables.items()]
    try:
        p = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raw = (e.stdout or b"").decode(errors="replace")
        pytest.fail(f"{' '.join(cmd)} did not finish in {timeout}s; output:\n{plain(raw)[-4000:]}")
    return Run(list(args) + [f"{k}={v}" for k, v in variables.items()], p.returncode,
               p.stdout.decode(errors="replace"))


def timestamps(run, text):
    """The lv6 timestamps ([   1.234567]) of the lines that contain `text`."""
    found = []
    for line in run.out.splitlines():
        m = re.match(r"\[\s*(\d+)\.(\d{6})\] (.*)", line)
        if m and text in m.group(3):
            found.append(int(m.group(1)) + int(m.group(2)) / 1e6)
    return found


def require_xv6():
    if not XV6.is_file():
        pytest.skip(f"xv6 test kernel not found at {XV6} (see README: guests)")
    return XV6


def assert_lvisor_lived_on(run, stopped=True):
    """lvisor came through the run whole: the machine was never reset (a
    reset reboots the BIOS and lvisor with it: lvisor's banner would appear
    twice, or QEMU, which runs with -no-reboot, would end before lvisor's
    last lines); its self-check, exactly once, found its code and read-only
    data intact; it printed its exit statistics; and, for a guest it
    stopped, it powered the machine off itself, as its closing line says."""
    assert run.out.count("lvisor: lvisor, a minimal hypervisor") == 1, run
    assert run.lines("lvisor: image ") == ["lvisor: image intact"], run
    assert "lvisor: exit statistics: " in run.out, run
    if stopped:
        assert run.lines("lvisor: ")[-1] == "lvisor: guest stopped; lvisor powers the machine off", run
        assert run.status != 0, run
