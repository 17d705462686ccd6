"""Two guests, each with its own lifetime, and what one can do to the other.

Whichever guest ends first (powers off, triple-faults, is stopped by
lvisor), the other runs to its end; lvisor holds the machine until both
have ended, then reports the second guest's end and the first's, says how
each ended and powers off with a failure status if either failed. The
second guest reaches no device but COM2, and no local APIC: writing COM1,
reading the PIT or the PIC, or sending the other CPU an INIT or an NMI does
nothing to the first guest or lvisor. The first guest's INIT and NMI to the
second guest's CPU on SVM (vmm/apic.c refuses them and stops the first
guest) leave the second guest running to its end. xv6 passes its usertests
as the first guest with lv6 as the second, and lv6 as the second guest
without a TSC policy gets the host TSC's frequency from lvisor."""
import re

import pexpect
import pytest

from lvtest import ROOT, plain, require_xv6
from xv6 import diagnose, qmp_extra, rerun_on_xv6_deadlock
from test_two_guests import (LV6, assert_first_guest_ended, assert_second_stopped, first_lines,
                             com2_of, lv6_lines)

HOLD = "lvisor: the guest has ended; the machine powers off when the second guest ends"
STOPPED = "lvisor: guest stopped; lvisor powers the machine off"
SECOND_FAILED = "lvisor: the second guest failed: lvisor powers the machine off with the failure status"


def status_line(first, second):
    ok = first == second == "ended well"
    return (f"lvisor: both guests have ended: the first {first}, the second {second}: "
            f"exit status {'success' if ok else 'failure'}")


def assert_first_stopped_second_ran_on(run, com2, report):
    """lvisor stopped the first guest (report, its state, at once); the
    second guest, misbehave `wait ...`, still ran: lvisor held the machine,
    then reported the second guest's end and statistics, then the first's,
    and powered off with a failure (the first guest's)."""
    lines = first_lines(run.out)
    assert run.status != 0, run
    assert report in lines, run
    at = lines.index(report)
    assert lines[at + 1].startswith("lvisor: guest state after "), run
    end2 = ("lvisor: second guest powers off (out 0x10 to port 0xf4): "
            "its CPU stopped; both guests have ended")
    stats2 = [i for i, l in enumerate(lines) if l.startswith("lvisor: second guest: exit statistics: ")]
    stats1 = [i for i, l in enumerate(lines) if l.startswith("lvisor: exit statistics: ")]
    assert HOLD in lines and end2 in lines and len(stats2) == len(stats1) == 1, run
    assert at < lines.index(HOLD) < lines.index(end2) < stats2[0] < stats1[0], run
    assert run.lines("lvisor: image ") == ["lvisor: image intact"], run
    assert run.lines("lvisor: ")[-2:] == [status_line("failed", "ended well"), STOPPED], run
    # The second guest waited a second, by the TSC, well after the first
    # had stopped, and powered off on its own.
    assert "misbehave: waited one second" in com2 and "misbehave: still running" in com2, com2


# The first guest triple-faults at once; the second, misbehave `wait
# devices`, waits a second, then writes COM1 and reads the PIT and the PIC.
# One boot per backend: QEMU (SVM) and Bochs (VMX).
@pytest.fixture(scope="module", params=["qemu", "bochs"])
def first_triple(request):
    run, com2 = com2_of(request.param, "default", "misbehave", KERNEL="misbehave",
                        APPEND="triple", APPEND2="wait devices")
    return run, com2, request.param


def test_first_guest_triple_fault_leaves_the_second_running(first_triple):
    run, com2, emulator = first_triple
    exit_name = "SHUTDOWN" if emulator == "qemu" else "TRIPLE_FAULT"
    assert_first_stopped_second_ran_on(
        run, com2, f"lvisor: guest triple fault ({exit_name}): the guest could not handle an exception")


def test_second_guest_devices_are_absent(first_triple):
    run, com2, _ = first_triple
    assert "misbehave: writing a line straight to COM1 (port 0x3f8)" in com2, com2
    # Its COM1 is the machine's COM2 (lvisor carries its ports 0x3f8-0x3ff
    # out there): the line is on its own console, nothing of it on COM1.
    assert "misbehave on COM1: this line is not the second guest's to write" in com2.splitlines(), com2
    assert not any("misbehave on COM1" in l for l in first_lines(run.out)), run
    # Absent hardware: all ones.
    assert "misbehave: read PIT counter 0 (port 0x40): 0xffff, PIC mask (port 0x21): 0xff" in com2, com2


def test_second_guest_triple_fault_leaves_the_first_running():
    """lv6 first, misbehave `triple` second, on QEMU: the second guest is
    stopped alone; lv6 runs to its end; the status is a failure, the
    second guest's."""
    run, com2 = com2_of("qemu", "default", "misbehave", APPEND2="triple")
    assert_first_guest_ended(run, second="failed")
    assert_second_stopped(run, com2, "guest triple fault (SHUTDOWN): the guest could not handle an exception")


@pytest.mark.parametrize("emulator", ["qemu", "bochs"])
@pytest.mark.parametrize("mode,report", [
    ("init-other", "lvisor: guest sent an INIT IPI (ICR 0x4500): it would reset the CPU, lvisor with it"),
    ("nmi-other", "lvisor: guest sent an IPI to another CPU (ICR 0x4400): lvisor gives the guest one CPU"),
])
def test_first_guest_ipi_to_second_cpu(emulator, mode, report):
    """The first guest's INIT or NMI IPI to APIC ID 1, the second guest's
    CPU: with two guests its APIC page is read-only on both backends, and
    vmm/apic.c refuses the ICR write before the IPI is sent and stops the
    first guest; the second runs to its end, and the machine powers off
    after it."""
    run, com2 = com2_of(emulator, "default", "misbehave", KERNEL="misbehave", APPEND=mode, APPEND2="wait")
    what = "INIT" if mode == "init-other" else "an NMI"
    assert f"misbehave: sending {what} to APIC ID 1" in run.out, run
    assert_first_stopped_second_ran_on(run, com2, report)


@pytest.mark.parametrize("emulator", ["qemu", "bochs"])
@pytest.mark.parametrize("mode", ["init-other", "nmi-other"])
def test_second_guest_ipi_to_first_cpu(emulator, mode):
    """The second guest's INIT or NMI IPI to APIC ID 0, the first guest's
    CPU, stops it alone; lv6 runs to its end. Its local APIC is in its map,
    read-only: vmm/apic.c refuses the ICR write before the IPI is sent."""
    run, com2 = com2_of(emulator, "default", "misbehave", APPEND2=mode)
    what = "INIT" if mode == "init-other" else "an NMI"
    assert f"misbehave: sending {what} to APIC ID 0" in com2, com2
    assert "misbehave: still running" not in com2, com2
    assert_first_guest_ended(run, second="failed")
    if mode == "init-other":
        why = "guest sent an INIT IPI (ICR 0x4500): it would reset the CPU, lvisor with it"
    else:
        why = "guest sent an IPI to another CPU (ICR 0x4400): lvisor gives the guest one CPU"
    assert_second_stopped(run, com2, why)


def test_lv6_second_without_tsc_policy_gets_the_host_tsc():
    """Without POLICY2 lv6 as the second guest has no PIT to measure its
    TSC with (absent: 0xff) and no CPUID 0x15 (qemu64): lvisor puts the host
    TSC's frequency on its command line (tsc_khz=), which lv6 uses and
    says so. Its timestamps are then those of the first lv6, give or take
    the emulator's timing: at half a millisecond, TCG's translation of new
    code and the host's load weigh (11x was seen), so within 100x (measured
    against the PIT that it does not have, they were 10,000x the first's)."""
    run, com2 = com2_of("qemu", "default", "lv6")
    assert run.status == 0, run
    assert run.lines("lvisor: ")[-1] == status_line("ended well", "ended well"), run
    mhz = re.search(r"lvisor: tsc: (\d+\.\d{3}) MHz", run.out).group(1)
    assert re.search(r"command line: console=0x2f8 tsc_khz=\d+", run.out), run
    first, second = dict((t, s) for s, t in lv6_lines(run.out)), dict((t, s) for s, t in lv6_lines(com2))
    assert f"tsc: {mhz} MHz (command line)" in second, com2
    assert [t for t in second if not t.startswith("tsc: ")] == LV6, com2
    end = "lv6: user space exited with 0, shutting down"
    assert first[end] / 100 < second[end] < first[end] * 100, (first, second)


@rerun_on_xv6_deadlock
def test_xv6_usertests_first_with_lv6_second():
    """xv6 as the first guest passes its usertests on QEMU while lv6 runs
    as the second guest, to its end on COM2. xv6 never powers off, so the
    run ends here, not in lvisor: lvisor's end-of-run lines (the second
    guest's report among them) must not have come, and none split xv6's
    console."""
    xv6 = require_xv6()
    log = ROOT / "build" / "policy" / "default" / "com2-lv6.log"
    if log.exists():
        log.unlink()
    qmp, extra = qmp_extra("lv6-second")
    child = pexpect.spawn("make", ["-s", "qemu", f"KERNEL={xv6}", "KERNEL2=lv6", extra], cwd=str(ROOT),
                          timeout=180, encoding="utf-8", codec_errors="replace")
    try:
        # The second guest's lines may come between the two.
        child.expect("init: starting sh")
        child.expect(r"\$ ")
        child.sendline("usertests")
        child.expect("ALL TESTS PASSED", timeout=600)
        out = plain(child.before or "")
    except (pexpect.TIMEOUT, pexpect.EOF):
        pytest.fail("xv6 usertests with lv6 as the second guest: " + plain(child.before or "")[-3000:] +
                    "\n" + diagnose(qmp, xv6, "", ["first"]))
    finally:
        child.terminate(force=True)
    assert "lvisor:" not in out, out[-3000:]
    com2 = plain(log.read_text(errors="replace"))
    assert [t for _, t in lv6_lines(com2) if not t.startswith("tsc: ")] == LV6, com2
