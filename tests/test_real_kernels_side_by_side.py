"""Unmodified kernels side by side, one per CPU: two xv6 at once on QEMU
(SVM), Linux beside xv6 on QEMU, and xv6 beside lv6 on Bochs (VMX) in
either slot.

Two xv6 at once, each with its
own console: the first on COM1, the second on its COM1 that is the
machine's COM2 (vmm/exits.c), each with its own local APIC timer, their
UART interrupts through the I/O APIC that lvisor splits by pins
(vmm/ioapic.c), the second finding its one CPU in the MP table lvisor
wrote for it (vmm/mptable.c). Each passes its usertests, typed to through
boot/consoles.py (Ctrl-] switches between the guests)."""
import io
import re
import time

import pexpect
import pytest

from lvtest import ROOT, plain, require_xv6
from xv6 import diagnose, qmp_extra, rerun_on_xv6_deadlock
from test_two_guests import first_lines, second_lines

ESC = r"(?:\x1b\[[0-9;]*m)*"
SWITCH = "\x1d"		# Ctrl-]


def not_passed(out):
    """The slots whose xv6 has not (yet) passed its usertests."""
    out = plain(out)
    return [slot for slot, lines in (("first", first_lines), ("second", second_lines))
            if not any("ALL TESTS PASSED" in l for l in lines(out))]


def both(out):
    """For a failure: lvisor's lines, then each guest's last lines (where
    each one stood, whichever of them stopped)."""
    first, second = first_lines(out), second_lines(out)
    return "\n".join(["lvisor's lines:", *[l for l in first + second if "lvisor: " in l],
                      "the first guest's last lines:", *first[-25:],
                      "the second guest's last lines:", *second[-25:]])


@rerun_on_xv6_deadlock
def test_two_xv6_pass_their_usertests():
    xv6 = require_xv6()
    qmp, extra = qmp_extra("two-xv6")
    child = pexpect.spawn("make", ["-s", "qemu", f"KERNEL={xv6}", f"KERNEL2={xv6}", extra], cwd=str(ROOT),
                          timeout=120, encoding="utf-8", codec_errors="replace")
    child.logfile_read = seen = io.StringIO()
    try:
        # Both shells, in whichever order they come.
        child.expect([r"\n" + ESC + r"\$ ", r"guest2\| " + ESC + r"\$ "])
        child.expect([r"\n" + ESC + r"\$ ", r"guest2\| " + ESC + r"\$ "])
        while "$ " not in "\n".join(first_lines(plain(seen.getvalue()))) or \
                "$ " not in "\n".join(second_lines(plain(seen.getvalue()))):
            child.expect([r"\$ ", pexpect.TIMEOUT], timeout=1)
        child.send("usertests\r")			# to the first guest
        # Its line whole before the notice of the switch (boot/consoles.py),
        # which starts a line of its own and would split one it came into.
        child.expect(r"\n" + ESC + r"usertests starting\r*\n")
        child.send(SWITCH)
        child.expect(re.escape("[typing to the second guest (Ctrl-] switches)]"), timeout=10)
        child.send("usertests\r")
        deadline = time.time() + 600
        while time.time() < deadline:
            out = plain(seen.getvalue())
            if sum("ALL TESTS PASSED" in l for l in first_lines(out)) and \
                    sum("ALL TESTS PASSED" in l for l in second_lines(out)):
                break
            child.expect([r"ALL TESTS PASSED", pexpect.TIMEOUT], timeout=10)
        else:
            pytest.fail("usertests did not pass in both guests: " + both(plain(seen.getvalue())) + "\n" +
                        diagnose(qmp, xv6, seen.getvalue(), not_passed(seen.getvalue())))
    except (pexpect.TIMEOUT, pexpect.EOF):
        pytest.fail("two xv6: " + both(plain(seen.getvalue())) + "\n" +
                    diagnose(qmp, xv6, seen.getvalue(), not_passed(seen.getvalue())))
    finally:
        child.terminate(force=True)
    out = plain(seen.getvalue())
    first, second = first_lines(out), second_lines(out)
    # Each ran its own tests on its own console: the second's lines came
    # behind the prefix only, whole.
    assert "usertests starting" in first and "usertests starting" in second, both(out)
    assert second.count("xv6...") == 1 and first.count("xv6...") == 1, both(out)
    # The second found its one CPU (APIC ID 1) in its own MP table; the
    # first's MADT lost CPU 1; the first's I/O APIC write to the second's
    # pin was reported and ignored; nothing else of lvisor's came between.
    assert ("lvisor: second guest's tables: MP 1.4 at 0xf0000: 1 CPU (APIC ID 1), I/O APIC 0 "
            "at 0xfec00000, ISA IRQ 4 (COM1) on pin 4; no ACPI") in first, both(out)
    assert "lvisor: guest programs I/O APIC pin 3, the second guest's: ignored" in first, both(out)
    running = first[first.index("lvisor: entering the guest in real mode at CS base 0xfc0000, IP 0") + 1:]
    assert [l for l in running if l.startswith("lvisor: ")] == [
        "lvisor: guest programs I/O APIC pin 3, the second guest's: ignored"], both(out)


def wait_for(child, seen, done, timeout):
    """Read the run's output until done(its plain text) holds; False if
    the time runs out or the run ends first."""
    deadline = time.time() + timeout
    while not done(plain(seen.getvalue())):
        if time.time() > deadline:
            return False
        try:
            child.expect([r"\$ ", r"\n"], timeout=5)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return done(plain(seen.getvalue()))
    return True


@pytest.mark.parametrize("slot", ["first", "second"])
def test_xv6_beside_lv6_on_bochs(slot):
    """On Bochs (VMX) xv6 reaches its shell in either slot while lv6 runs to
    its end in the other: its local APIC's writes checked through EPT, its
    I/O APIC pins through lvisor, its console on COM1 or on COM2 behind
    the prefix. xv6 never powers off: the test ends the run at its shell."""
    xv6 = require_xv6()
    kernels = [f"KERNEL={xv6}", "KERNEL2=lv6"] if slot == "first" else ["KERNEL=lv6", f"KERNEL2={xv6}"]
    child = pexpect.spawn("make", ["-s", "bochs", *kernels], cwd=str(ROOT),
                          timeout=300, encoding="utf-8", codec_errors="replace")
    child.logfile_read = seen = io.StringIO()
    xv6_of = first_lines if slot == "first" else second_lines
    lv6_of = second_lines if slot == "first" else first_lines
    try:
        ok = wait_for(child, seen, lambda out: "$ " in xv6_of(out) and
                      "[    0.0" in "\n".join(lv6_of(out)) and
                      any("lv6: user space exited with 0, shutting down" in l for l in lv6_of(out)),
                      timeout=400)
    finally:
        child.terminate(force=True)
    out = plain(seen.getvalue())
    assert ok, f"xv6 as the {slot} guest on Bochs: " + both(out)
    # Its shell's prompt after init's line. (On Bochs xv6 drops characters
    # of its first lines on a UART that is its own: it polls the
    # transmitter 128 times with no delay (microdelay does nothing), and
    # Bochs' UART takes a character time at xv6's 9600 baud. As the second
    # guest every access exits, which gives the UART that time.)
    lines = xv6_of(out)
    assert any(l.endswith("init: starting sh") for l in lines) and lines[-1] == "$ ", both(out)
    if slot == "second":
        assert "cpu0: starting 0" in lines, both(out)


@rerun_on_xv6_deadlock
def test_linux_answers_while_xv6_runs_usertests():
    """Linux (Debian's, our busybox initramfs) as the first guest reaches
    its shell and answers commands on COM1 while xv6 as the second guest
    runs its usertests on its own console, to the end. Linux's tables show
    it one CPU; xv6's show it its own."""
    xv6 = require_xv6()
    qmp, extra = qmp_extra("linux-xv6")
    child = pexpect.spawn("make", ["-s", "qemu", "KERNEL=linux", f"KERNEL2={xv6}", extra], cwd=str(ROOT),
                          timeout=300, encoding="utf-8", codec_errors="replace")
    child.logfile_read = seen = io.StringIO()
    try:
        # xv6's shell (it is up long before Linux's): usertests there.
        assert wait_for(child, seen, lambda out: "$ " in second_lines(out), timeout=300), \
            "xv6's shell: " + both(plain(seen.getvalue()))
        child.send(SWITCH)
        child.expect(re.escape("[typing to the second guest (Ctrl-] switches)]"), timeout=10)
        child.send("usertests\r")
        child.send(SWITCH)
        child.expect(re.escape("[typing to the first guest (Ctrl-] switches)]"), timeout=10)
        # Linux's shell, then a question for it while xv6 works.
        child.expect_exact("lvisor-linux: ready", timeout=300)
        child.expect_exact("# ", timeout=60)
        child.sendline("echo @@$((6*7)) $(nproc)")
        child.expect(r"@@42 (\d+)\r*\n", timeout=60)
        cpus = int(child.match.group(1))
        if not wait_for(child, seen, lambda out: "ALL TESTS PASSED" in second_lines(out), timeout=600):
            pytest.fail("xv6's usertests beside Linux: " + both(plain(seen.getvalue())) + "\n" +
                        diagnose(qmp, xv6, seen.getvalue(), ["second"]))
        # Linux still answers after xv6's tests.
        child.sendline("echo @@$((6*6))")
        child.expect(r"@@36\r*\n", timeout=60)
    except (pexpect.TIMEOUT, pexpect.EOF):
        pytest.fail("Linux beside xv6: " + both(plain(seen.getvalue())))
    finally:
        child.terminate(force=True)
    out = plain(seen.getvalue())
    assert cpus == 1, both(out)
    second = second_lines(out)
    assert "usertests starting" in second and "ALL TESTS PASSED" in second, both(out)
    assert not any("lvisor-linux" in l for l in second), both(out)


def test_linux_as_the_second_guest_answers_while_xv6_runs():
    """Linux (Debian's, our busybox initramfs) as the second guest, beside
    xv6 as the first on QEMU: it finds its one CPU in its MP table, boots
    with no PIT, HPET or ACPI (POLICY2=linux2 tells it the TSC's and the
    local APIC timer's frequencies through CPUID 0x15), reaches its shell
    on its COM1 (the machine's COM2) and answers there, with its UART's
    IRQ 4 and its APIC timer counting, while xv6 answers on COM1."""
    xv6 = require_xv6()
    child = pexpect.spawn("make", ["-s", "qemu", f"KERNEL={xv6}", "KERNEL2=linux", "POLICY2=linux2"],
                          cwd=str(ROOT), timeout=300, encoding="utf-8", codec_errors="replace")
    child.logfile_read = seen = io.StringIO()
    try:
        assert wait_for(child, seen, lambda out: "$ " in first_lines(out) and
                        any(l.startswith("/ # ") for l in second_lines(out)), timeout=400), \
            "both shells: " + both(plain(seen.getvalue()))
        child.send(SWITCH)
        child.expect(re.escape("[typing to the second guest (Ctrl-] switches)]"), timeout=10)
        # sleep needs its timer; $(nproc) a fork; grep the interrupts.
        child.send("sleep 1; echo @@$((6*7)) $(nproc); grep -E 'ttyS0|LOC' /proc/interrupts\r")
        child.expect(r"@@42 (\d+)\r*\n", timeout=60)
        cpus = int(child.match.group(1))
        child.expect(r"LOC: +\d+", timeout=60)
        child.send(SWITCH)
        child.expect(re.escape("[typing to the first guest (Ctrl-] switches)]"), timeout=10)
        child.send("echo xv6@@\r")
        child.expect(r"\nxv6@@\r*\n", timeout=60)
    except (pexpect.TIMEOUT, pexpect.EOF):
        pytest.fail("Linux as the second guest: " + both(plain(seen.getvalue())))
    finally:
        child.terminate(force=True)
    out = plain(seen.getvalue())
    first, second = first_lines(out), second_lines(out)
    assert cpus == 1, both(out)
    # Its console's interrupt is its IRQ 4 through the I/O APIC (lvisor's
    # pin 3); its local APIC timer ticks.
    serial = [int(m.group(1)) for m in map(re.compile(r"^ +4: +(\d+) +IO-APIC +4-edge +ttyS0$").match, second) if m]
    timer = [int(m.group(1)) for m in map(re.compile(r"^LOC: +(\d+) +Local timer interrupts$").match, second) if m]
    assert serial and serial[0] > 0 and timer and timer[0] > 0, both(out)
    assert "lvisor-linux: ready" in second and not any("lvisor-linux" in l for l in first), both(out)
    # lvisor refused nothing of either guest's, and stopped neither.
    running = first[first.index("lvisor: entering the guest in real mode at CS base 0xfc0000, IP 0") + 1:]
    assert [l for l in running if l.startswith("lvisor: ")] == [
        "lvisor: guest programs I/O APIC pin 3, the second guest's: ignored"], both(out)
