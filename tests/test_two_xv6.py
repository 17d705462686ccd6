"""Two unmodified xv6 at once on QEMU (SVM), one per CPU, each with its
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
from test_two_guests import first_lines, second_lines

ESC = r"(?:\x1b\[[0-9;]*m)*"
SWITCH = "\x1d"		# Ctrl-]


def test_two_xv6_pass_their_usertests():
    xv6 = require_xv6()
    child = pexpect.spawn("make", ["-s", "qemu", f"KERNEL={xv6}", f"KERNEL2={xv6}"], cwd=str(ROOT),
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
        child.send(SWITCH)
        child.expect(re.escape("[typing to the second guest (Ctrl-] switches)]"), timeout=10)
        child.send("usertests\r")
        deadline = time.time() + 900
        while time.time() < deadline:
            out = plain(seen.getvalue())
            if sum("ALL TESTS PASSED" in l for l in first_lines(out)) and \
                    sum("ALL TESTS PASSED" in l for l in second_lines(out)):
                break
            child.expect([r"ALL TESTS PASSED", pexpect.TIMEOUT], timeout=10)
        else:
            pytest.fail("usertests did not pass in both guests: " + plain(seen.getvalue())[-3000:])
    except (pexpect.TIMEOUT, pexpect.EOF):
        pytest.fail("two xv6: " + plain(seen.getvalue())[-3000:])
    finally:
        child.terminate(force=True)
    out = plain(seen.getvalue())
    first, second = first_lines(out), second_lines(out)
    # Each ran its own tests on its own console: the second's lines came
    # behind the prefix only, whole.
    assert "usertests starting" in first and "usertests starting" in second, out[-3000:]
    assert second.count("xv6...") == 1 and first.count("xv6...") == 1, out[-3000:]
    # The second found its one CPU (APIC ID 1) in its own MP table; the
    # first's MADT lost CPU 1; the first's I/O APIC write to the second's
    # pin was reported and ignored; nothing else of lvisor's came between.
    assert ("lvisor: second guest's tables: MP 1.4 at 0xf0000: 1 CPU (APIC ID 1), I/O APIC 0 "
            "at 0xfec00000, ISA IRQ 4 (COM2, its COM1) on pin 4; no ACPI") in first, out[-3000:]
    assert "lvisor: guest programs I/O APIC pin 3, the second guest's: ignored" in first, out[-3000:]
    running = first[first.index("lvisor: entering the guest in real mode at CS base 0xfc0000, IP 0") + 1:]
    assert [l for l in running if l.startswith("lvisor: ")] == [
        "lvisor: guest programs I/O APIC pin 3, the second guest's: ignored"], out[-3000:]
