"""Which guest owns which device: the second guest's policy's `devices:`
section (policies/README.md), carried out by vmm/devices.c.

The first guest loses the second guest's ports whatever its own policy
grants, and lvisor says so once; a second guest's policy that gives it
COM2 alone (no COM1 view of it, no VGA cursor) changes its I/O APIC pins,
its MP table and what its COM1 writes reach. QEMU (SVM) and Bochs (VMX)
for the first: each backend builds its own I/O bitmap from the grants."""
import re

import pytest

from lvtest import ROOT, make, plain
from test_two_guests import first_lines


def run_pair(emulator, kernel2, **variables):
    """One run with KERNEL2=kernel2: the run and the second guest's COM2
    file, found by name (a policy given as a path has a hashed directory)."""
    for old in (ROOT / "build" / "policy").glob(f"*/com2-{kernel2}.log"):
        old.unlink()
    run = make(emulator, KERNEL2=kernel2, **variables)
    logs = list((ROOT / "build" / "policy").glob(f"*/com2-{kernel2}.log"))
    assert len(logs) == 1, logs
    return run, plain(logs[0].read_text(errors="replace"))


@pytest.mark.parametrize("emulator", ["qemu", "bochs"])
def test_first_guest_loses_the_second_guests_ports(emulator):
    """The first guest's policy grants COM2 (tests/policies/grants-com2.yaml);
    with two guests COM2 is the second guest's console: the first guest's
    line reaches no one, its line status reads all ones, lvisor reports the
    first access and names the rule that gave the port away."""
    run, com2 = run_pair(emulator, "misbehave", POLICY="tests/policies/grants-com2.yaml",
                         KERNEL="misbehave", APPEND="com2", APPEND2="wait")
    first = first_lines(run.out)
    assert "misbehave: writing a line straight to COM2 (port 0x2f8)" in first, run
    assert re.search(r"^lvisor: guest's IN from port 0x2fd is the second guest's COM2 "
                     r"\(policies/default\.yaml:\d+\): absent hardware$", run.out, re.M), run
    assert len(run.lines("lvisor: guest's ")) == 1, run      # once
    assert "misbehave: read COM2's line status (port 0x2fd): 0xff" in first, run
    assert "misbehave on COM2" not in com2 and "misbehave on COM2" not in run.out, com2
    assert "misbehave: waited one second" in com2, com2      # the second guest ran on


def test_second_guest_with_com2_alone():
    """POLICY2=tests/policies/com2-only.yaml: the second guest owns COM2 at
    its own ports and IRQ 3, nothing else. Its MP table and I/O APIC view
    say so; its COM1 is absent now, so its line written there reaches no
    console; its own lines on COM2 (console=0x2f8) still do."""
    run, com2 = run_pair("qemu", "misbehave", POLICY2="tests/policies/com2-only.yaml",
                         APPEND2="devices")
    assert "lvisor: I/O APIC at 0xfec00000, 24 pins: lvisor's, the second guest's pin 3 (COM2) is pin 3" \
        in run.out, run
    assert re.search(r"^lvisor: second guest's tables: MP 1\.4 at 0xf0000: 1 CPU \(APIC ID 1\), "
                     r"I/O APIC \d+ at 0xfec00000, ISA IRQ 3 \(COM2\) on pin 3; no ACPI$", run.out, re.M), run
    assert "misbehave: writing a line straight to COM1 (port 0x3f8)" in com2, com2
    assert "misbehave on COM1" not in com2 and "misbehave on COM1" not in run.out, com2
    assert "misbehave: read PIT counter 0 (port 0x40): 0xffff, PIC mask (port 0x21): 0xff" in com2, com2
