"""Memory watches (`memory:` in a policy, vmm/memwatch.c): guest-physical
ranges whose accesses exit through EPT/NPT permissions. The watch test
kernel (guests/test/watch.c) stores known values to watched memory, reads
them back and prints what it read; on both backends lvisor must log each
watched access with its address, value and RIP, carry logged stores out,
drop ignored ones, and stop the guest at a watched instruction fetch."""
import io
import re

import pexpect

import pytest

from lvtest import ROOT, assert_lvisor_lived_on, make, plain, require_xv6
from test_policies import rule_at

TARGETS = {"svm": "qemu", "vmx": "bochs"}
# How lvisor's lines name the VGA page's rule: its line in the policy.
VGA_RULE = rule_at("policies/watch-vga.yaml", "exits:", "write: log") + \
    ": memory 0xb8000-0xb8f9f write: log"


@pytest.fixture(scope="module", params=sorted(TARGETS))
def watched(request):
    return request.param, make(TARGETS[request.param], KERNEL="watch",
                               POLICY="tests/policies/watch.yaml", APPEND="more")


def logged(run, kind, gpa):
    """lvisor's lines for a watched access at gpa: (bytes, value, rip, rule)."""
    pat = re.compile(rf"lvisor: guest {kind} at GPA {gpa}: (\d) bytes, (0x[0-9a-f]+), "
                     r"rip (0x[0-9a-f]+) \((.*)\)$")
    return [m.groups() for m in map(pat.match, run.lines("lvisor: guest ")) if m]


def test_logged_writes_are_carried_out(watched):
    _, run = watched
    assert run.status == 0, run
    # The VGA text page (policies/watch-vga.yaml): two 16-bit stores,
    # each logged once with its value and the RIP of its MOV, and the
    # guest reads what it wrote.
    vga = logged(run, "write", "0xb8000") + logged(run, "write", "0xb8002")
    assert [(n, v) for n, v, _, _ in vga] == [("2", "0x0748"), ("2", "0x0769")], run
    assert all(rule == VGA_RULE
               for _, _, _, rule in vga), run
    assert all(0x100000 <= int(rip, 16) < 0x110000 for _, _, rip, _ in vga), run   # the kernel's code
    assert "watch: vga 0xb8000 reads 0x0748 0x0769" in run.lines("watch: "), run
    # RAM: a logged 32-bit store, read back as written.
    assert [v for _, v, _, _ in logged(run, "write", "0x301000")] == ["0xcafe1234"], run
    assert "watch: logged 0x301000 reads 0xcafe1234" in run.lines("watch: "), run
    # A read watch logs the load with the value the guest gets; the store
    # before it (not watched) is carried out without a line.
    assert [v for _, v, _, _ in logged(run, "read", "0x302000")] == ["0x0000600d"], run
    assert logged(run, "write", "0x302000") == [], run
    assert "watch: read-watched 0x302000 reads 0x600d" in run.lines("watch: "), run
    assert_lvisor_lived_on(run, stopped=False)


def test_ignored_write_leaves_memory_unchanged(watched):
    _, run = watched
    m = [re.fullmatch(r"watch: ignored 0x300000: before (0x[0-9a-f]+), after (0x[0-9a-f]+)", l)
         for l in run.lines("watch: ignored")]
    assert len(m) == 1 and m[0], run
    assert m[0].group(1) == m[0].group(2), run
    assert logged(run, "write", "0x300000") == [], run     # ignore: no line


@pytest.mark.parametrize("backend", sorted(TARGETS))
def test_watched_execution_stops_the_guest(backend):
    run = make(TARGETS[backend], KERNEL="watch", POLICY="tests/policies/watch-exec.yaml",
               APPEND="exec")
    assert "watch: calling 0x303000" in run.lines("watch: "), run
    assert "lvisor: guest executed watched memory at GPA 0x303000: tests/policies/" \
           "watch-exec.yaml:9: memory 0x303000-0x303fff execute: unhandled" in run.lines("lvisor: "), run
    assert not run.lines("watch: returned"), run
    assert_lvisor_lived_on(run)


def test_watch_outside_ram_is_refused():
    """A watched page that the guest's memory map does not call RAM: lvisor
    would load and store there for the guest. Refused before it runs."""
    run = make("qemu", KERNEL="watch", POLICY="tests/policies/watch-hole.yaml")
    assert "lvisor: panic: tests/policies/watch-hole.yaml:8: memory 0xe0000000 write: log: " \
           "GPA 0xe0000000 is not the guest's RAM (nor the VGA window 0xa0000-0xbffff)" in run.out, run
    assert not run.lines("watch: "), run
    assert run.status != 0, run


def test_second_guest_watches_are_refused():
    """lvisor watches the first guest's memory only: a second guest's policy
    with memory: is refused with the rule named, before either guest runs."""
    run = make("qemu", KERNEL="lv6", KERNEL2="watch", POLICY2="watch-vga")
    assert "lvisor: panic: the second guest's policy watch-vga watches memory " \
           f"({VGA_RULE}): lvisor watches " \
           "the first guest's memory only; give the second guest another policy (POLICY2)" \
           in run.out, run
    assert run.status != 0, run


def test_xv6_scrolls_under_watch_vga():
    """xv6 under policies/watch-vga.yaml on QEMU: each character is two
    logged 16-bit stores to the VGA text page; when the screen scrolls,
    xv6's memmove copies it onto itself with MOVSB and memset clears the
    last line with STOS, each element an exit that lvisor carries out
    (the source read from the VGA window), so xv6 goes on and answers."""
    xv6 = require_xv6()
    child = pexpect.spawn("make", ["-s", "qemu", f"KERNEL={xv6}", "POLICY=watch-vga"], cwd=str(ROOT),
                          timeout=180, encoding="utf-8", codec_errors="replace")
    child.logfile_read = seen = io.StringIO()
    try:
        child.expect("init: starting")
        for _ in range(4):             # about 25 lines each: the screen scrolls
            child.sendline("ls")
            child.expect(r"console +3 ", timeout=60)
        child.sendline("echo done@@")
        child.expect_exact("echo done@@", timeout=60)     # its echo, then its output
        child.expect(r"done@@\r*\n", timeout=60)
    except (pexpect.TIMEOUT, pexpect.EOF):
        pytest.fail("xv6 under watch-vga: " + plain(seen.getvalue())[-3000:])
    finally:
        child.terminate(force=True)
    out = plain(seen.getvalue())
    rule = r"\(policies/watch-vga\.yaml:\d+: memory 0xb8000-0xb8f9f write: log(, quieter from now on)?\)"
    assert re.search(r"^lvisor: guest write at GPA 0xb8[0-9a-f]{3}: 2 bytes, 0x07[0-9a-f]{2}, "
                     r"rip 0x8010[0-9a-f]{4} " + rule + "$", out, re.M), out[-3000:]
    assert re.search(r"^lvisor: guest write at GPA 0xb8[0-9a-f]{3}: 1 bytes, 0x[0-9a-f]{2}, "
                     r"rip 0x8010[0-9a-f]{4}, MOVS " + rule + "$", out, re.M), out[-3000:]
    assert "lvisor: guest stopped" not in out and "does not carry out" not in out, out[-3000:]
