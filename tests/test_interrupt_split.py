"""Interrupts for two guests (KERNEL2), on QEMU (SVM) and Bochs (VMX): each guest its own
local APIC, the I/O APIC lvisor's (vmm/ioapic.c), split by pins. The
second guest's COM1 (ports 0x3f8-0x3ff, IRQ 4 at I/O APIC pin 4) is the
machine's COM2 (0x2f8-0x2ff, pin 3).

xv6 as the first guest masks every I/O APIC pin at boot (pin 3, the second
guest's, reported and ignored), takes COM1's and its timer's interrupts
and passes its usertests, while `echo irq` as the second guest takes each
key by interrupt through its pin 4. misbehave as the second guest
programs pin 2, not its own (reported at the end, it goes on), then sends
INIT to APIC ID 0, the first guest's CPU (stopped alone). On Bochs, lv6
first and `echo irq` second, typed to."""
import io
import re

import pexpect
import pytest

from lvtest import ROOT, assert_lvisor_lived_on, make, plain, require_xv6
from xv6 import diagnose, qmp_extra, rerun_on_xv6_deadlock
from test_two_guests import GUEST2, assert_first_guest_ended, assert_second_stopped, com2_of

IOAPIC = "lvisor: I/O APIC at 0xfec00000, 24 pins: lvisor's, the second guest's pin 4 (COM1) is pin 3"
PIN3 = "lvisor: guest programs I/O APIC pin 3, the second guest's: ignored"


ESC = r"(?:\x1b\[[0-9;]*m)*"


def type_to_echo(child):
    """Ctrl-] to the second guest, `echo irq`: a line comes back, "quit"
    says how many interrupts came. Returns that count."""
    child.send("\x1d")
    child.expect(re.escape("[typing to the second guest (Ctrl-] switches)]"), timeout=10)
    child.send("hello\r")
    child.expect(r"guest2\| " + ESC + "echo: hello", timeout=120)
    child.send("quit\r")
    child.expect(r"guest2\| " + ESC + r"echo: (\d+) interrupts", timeout=120)
    return int(child.match.group(1))


@rerun_on_xv6_deadlock
def test_xv6_first_echo_by_interrupt_second():
    """xv6 first, echo `irq` second: xv6's I/O APIC programming goes through
    lvisor (its write to pin 3 reported once, before xv6 prints), its
    console and timer work; keys typed to the second guest reach it by
    interrupt only (it sleeps in HLT), on its COM1, which is COM2; then xv6
    passes its usertests."""
    xv6 = require_xv6()
    log = ROOT / "build" / "policy" / "default" / "com2-echo.log"
    if log.exists():
        log.unlink()
    qmp, extra = qmp_extra("echo-irq")
    child = pexpect.spawn("make", ["-s", "qemu", f"KERNEL={xv6}", "KERNEL2=echo", "APPEND2=irq", extra],
                          cwd=str(ROOT), timeout=180, encoding="utf-8", codec_errors="replace")
    child.logfile_read = seen = io.StringIO()
    try:
        # The second guest's lines may come between the two.
        child.expect("init: starting sh")
        child.expect(r"\$ ")
        if "guest2| > " not in plain(seen.getvalue()):	# the two run side by side
            child.expect(r"guest2\| " + ESC + "> ")
        irqs = type_to_echo(child)
        child.send("\x1d")
        child.expect(re.escape("[typing to the first guest (Ctrl-] switches)]"), timeout=10)
        child.sendline("usertests")
        child.expect("ALL TESTS PASSED", timeout=600)
    except (pexpect.TIMEOUT, pexpect.EOF):
        pytest.fail("xv6 with echo irq: " + plain(seen.getvalue())[-3000:] + "\n" +
                    diagnose(qmp, xv6, "", ["first"]))
    finally:
        child.terminate(force=True)
    out = plain(seen.getvalue())
    lines = out.splitlines()
    assert IOAPIC in lines and PIN3 in lines, out[-3000:]
    assert sum(l == PIN3 for l in lines) == 1, out[-3000:]
    # Reported before xv6 said anything: its I/O APIC set-up comes first.
    assert lines.index(PIN3) < min(i for i, l in enumerate(lines) if l.startswith("cpu0: starting")), out
    com2 = plain(log.read_text(errors="replace"))
    assert "echo: keys come by interrupt: COM1 IRQ 4, I/O APIC pin 4, vector 0x24" in com2, com2
    assert "echo: hello" in com2.splitlines(), com2
    # At least one interrupt per line typed: nothing else wakes it.
    assert irqs >= 2, out[-3000:]
    # xv6's console is COM1 alone: none of echo's lines there.
    assert not any(l.startswith("echo: ") for l in lines), out[-3000:]


def test_second_guest_unowned_pin_then_ipi_to_first_cpu():
    """misbehave as the second guest (lv6 first): its write to I/O APIC pin
    2 (the PIT's, the first guest's) is dropped, the pin reads masked, and
    it goes on; its COM1 line lands on its own console (COM2), not on the
    machine's COM1; a word IN from its CRTC index port reads the index and
    the register it selects; its INIT to APIC ID 0 is refused before it is sent and
    stops it alone. The pin is reported at the machine's end."""
    run, com2 = com2_of("qemu", "default", "misbehave", APPEND2="ioapic-pin2 devices crtc init-other")
    assert "misbehave: I/O APIC pin 2 reads 0x00010000" in com2, com2
    # its VGA CRTC (vmm/exits.c): the index, then register 0x0e; all ones past 0x3d5
    assert "misbehave: CRTC at 0x3d4: word IN 0x120e, dword IN 0xffff120e" in com2, com2
    assert "misbehave on COM1: this line is not the second guest's to write" in com2, com2
    assert not any("misbehave on COM1" in l for l in run.out.splitlines() if not l.startswith(GUEST2)), run
    assert "misbehave: sending INIT to APIC ID 0" in com2, com2
    assert "misbehave: still running" not in com2, com2
    assert IOAPIC in run.out, run
    assert_first_guest_ended(run, second="failed")
    assert_second_stopped(run, com2, "guest sent an INIT IPI (ICR 0x4500): it would reset the CPU, lvisor with it")
    assert "lvisor: second guest: guest programs I/O APIC pin 2, not the guest's: ignored" in run.lines(), run


def test_echo_by_interrupt_second_on_vmx():
    """Bochs (VMX): lv6 first, `echo irq` second. EPT leaves the I/O APIC's
    page out and maps the second guest's APIC page read-only: echo's pin 4
    is programmed through lvisor, the keys typed to it come by interrupt
    through COM2's pin 3; it powers off, the machine with it."""
    log = ROOT / "build" / "policy" / "default" / "com2-echo.log"
    if log.exists():
        log.unlink()
    child = pexpect.spawn("make", ["-s", "bochs", "KERNEL2=echo", "APPEND2=irq"], cwd=str(ROOT),
                          timeout=300, encoding="utf-8", codec_errors="replace")
    child.logfile_read = seen = io.StringIO()
    try:
        child.expect(r"guest2\| " + ESC + "> ")
        irqs = type_to_echo(child)
        child.expect(pexpect.EOF, timeout=120)
    except (pexpect.TIMEOUT, pexpect.EOF):
        child.terminate(force=True)
        pytest.fail("bochs echo irq: " + plain(seen.getvalue())[-3000:])
    child.close()
    out = plain(seen.getvalue())
    assert IOAPIC in out.splitlines(), out[-3000:]
    assert irqs >= 2, out[-3000:]
    com2 = plain(log.read_text(errors="replace"))
    assert "echo: hello" in com2.splitlines(), com2
    assert child.exitstatus == 0, out[-3000:]


SMI = ("guest sent an IPI with delivery mode SMI or a reserved one (ICR 0x%x): "
       "lvisor does not hand a CPU to SMM" % 0x44200)


def test_smi_to_itself_is_refused_on_svm():
    """An SMI would take the CPU into the firmware's SMM, outside lvisor:
    with one guest on SVM, where lvisor checks every APIC write."""
    run = make("qemu", KERNEL="misbehave", APPEND="smi-self")
    assert "misbehave: sending an SMI to itself" in run.out, run
    assert "lvisor: " + SMI in run.out, run
    assert "misbehave: still running" not in run.out, run
    assert_lvisor_lived_on(run)


def test_second_guest_smi_is_refused_on_vmx():
    """The same SMI from the second guest on Bochs (VMX): its APIC page is
    read-only in its EPT, lvisor refuses the ICR write and stops it alone;
    lv6, the first guest, runs to its end."""
    run, com2 = com2_of("bochs", "default", "misbehave", APPEND2="smi-self")
    assert "misbehave: sending an SMI to itself" in com2, com2
    assert "misbehave: still running" not in com2, com2
    assert_first_guest_ended(run, second="failed")
    assert_second_stopped(run, com2, SMI)
