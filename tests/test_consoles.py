"""Both guests' consoles on one terminal (boot/consoles.py, runs with
KERNEL2): the second guest's lines behind "guest2| ", never mixed with
the first guest's mid-line; each console also in a file; Ctrl-] switches
typing between the guests. First the merging itself, with made-up output
and times; then typing to the `echo` test kernel as the second guest (its
only device COM2, polled) on QEMU and on Bochs, lv6 as the first."""
import importlib.util
import io
import re
import tempfile

import pexpect
import pytest

from lvtest import ROOT, plain
from test_two_guests import LV6, com1_of, first_lines, lv6_lines, second_lines

spec = importlib.util.spec_from_file_location("consoles", ROOT / "boot" / "consoles.py")
consoles = importlib.util.module_from_spec(spec)
spec.loader.exec_module(consoles)


class Screen:
    """A consoles.Terminal writing to a file we read back as plain text."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()
        self.term = consoles.Terminal(self.file.fileno())

    def text(self):
        self.file.seek(0)
        return plain(self.file.read().decode())


def test_second_guest_lines_wait_for_a_line_start():
    s = Screen()
    t = s.term
    t.com1(b"\x1b[32mlv6: one\r\n", 0.0)
    t.com2(b"firmware: a\r\nfirm", 0.0)	# a whole line: out at once; a partial one waits
    assert s.text() == "lv6: one\nguest2| firmware: a\n"
    t.com1(b"$ ", 0.1)				# the first guest's prompt
    t.com2(b"ware: b\r\n", 0.2)
    t.com2(b"", 0.35)				# the prompt is 0.25 s old: the line waits
    assert s.text() == "lv6: one\nguest2| firmware: a\n$ "
    assert 0.39 < t.deadline() < 0.41
    t.com2(b"", 0.41)				# 0.3 s: a new line
    assert s.text() == "lv6: one\nguest2| firmware: a\n$ \nguest2| firmware: b\n"
    # The first guest's colors are back for its next bytes.
    t.com1(b"ls\r\n", 0.5)
    s.file.seek(0)
    raw = s.file.read()
    assert raw.endswith(b"\x1b[0m\x1b[32mls\r\n"), raw


def test_second_guest_prompt_shows_and_is_not_split():
    s = Screen()
    t = s.term
    t.com2(b"> ", 0.0)
    t.com2(b"", 0.2)
    assert s.text() == ""				# a partial line waits a little
    t.com2(b"", 0.31)
    assert s.text() == "guest2| > "		# then shows
    t.com2(b"he", 0.4)				# and goes on at once
    assert s.text() == "guest2| > he"
    t.com1(b"lvisor: a line\r\n", 0.5)		# the first guest breaks in: a new line
    t.com2(b"llo", 0.6)				# the rest: the line again, from its start
    t.com2(b"\r\n", 0.6)
    assert s.text() == "guest2| > he\nlvisor: a line\nguest2| > hello\n"
    t.com1(b"x\x1b[3", 0.7)			# nothing between an escape's bytes,
    t.com2(b"line\n", 2.0)			# for longer than for a prompt
    assert s.text().endswith("hello\nx\x1b[3")
    t.com1(b"2mz\r\n", 2.1)
    t.com2(b"", 2.1)
    assert s.text().endswith("hello\nxz\nguest2| line\n")


def test_a_broken_prompt_comes_back_when_typing_goes_there():
    s = Screen()
    t = s.term
    t.com2(b"> ", 0.0)
    t.com2(b"", 0.3)
    t.com1(b"lvisor: one\r\n", 0.4)		# breaks the prompt's line
    t.com1(b"lvisor: two\r\n", 0.5)
    t.com2(b"", 1.0)
    assert s.text() == "guest2| > \nlvisor: one\nlvisor: two\n"	# not after every line
    t.notice(b"[typing to the second guest (Ctrl-] switches)]", True)
    t.com2(b"", 1.1)
    assert s.text().endswith("lvisor: two\n[typing to the second guest (Ctrl-] switches)]\nguest2| > ")


def echo_run(target, policy_dir="default"):
    """lv6 as the first guest, echo as the second, under pexpect (a
    terminal): the second guest's banner and prompt come prefixed; Ctrl-]
    sends "hello" to it, whose echo comes back prefixed; QEMU's Ctrl-a h
    (on QEMU) answers once typing goes to the first guest again; "quit" to
    the second guest powers it off and lvisor ends the run. The output,
    COM1's and COM2's files."""
    com2_log = ROOT / "build" / "policy" / policy_dir / "com2-echo.log"
    com1_log = ROOT / "build" / "policy" / policy_dir / "com1-lv6.log"
    for log in (com1_log, com2_log):
        if log.exists():
            log.unlink()
    esc = r"(?:\x1b\[[0-9;]*m)*"
    child = pexpect.spawn("make", ["-s", target, "KERNEL2=echo"], cwd=str(ROOT),
                          timeout=300, encoding="utf-8", codec_errors="replace")
    child.logfile_read = seen = io.StringIO()
    try:
        child.expect(r"guest2\| " + esc + r"echo: type a line")
        child.expect(r"guest2\| " + esc + "> ")
        child.send("\x1d")
        child.expect(re.escape("[typing to the second guest (Ctrl-] switches)]"), timeout=10)
        child.send("hello\r")
        child.expect(r"guest2\| " + esc + "echo: hello", timeout=60)
        if target == "qemu":
            child.send("\x1d")
            child.expect(re.escape("[typing to the first guest (Ctrl-] switches)]"), timeout=10)
            child.send("\x01h")				# QEMU's Ctrl-a h: its help
            child.expect(r"C-a x\s+exit emulator", timeout=10)
            child.send("\x1d")
            child.expect(re.escape("[typing to the second guest"), timeout=10)
        child.send("quit\r")
        child.expect(pexpect.EOF, timeout=120)
    except (pexpect.TIMEOUT, pexpect.EOF):
        child.terminate(force=True)
        pytest.fail(f"{target}: " + plain(seen.getvalue())[-3000:])
    child.close()
    out = plain(seen.getvalue())
    return child.exitstatus, out, com1_of(policy_dir), \
        plain(com2_log.read_text(errors="replace")) if com2_log.exists() else ""


@pytest.mark.parametrize("target", ["qemu", "bochs"])
def test_typing_to_the_second_guest(target):
    status, out, com1, com2 = echo_run(target)
    assert status == 0, out
    # The second guest's lines: on the terminal only behind the prefix.
    second = second_lines(out)
    assert "> hello" in second and "echo: hello" in second and "echo: quit" in second, out
    assert not any("echo: " in l for l in first_lines(out)), out
    # lv6, the first guest, ended long before: lvisor held the machine
    # until the second guest powered off.
    assert ("lvisor: the guest has ended; the machine powers off when the second guest ends"
            in first_lines(out)), out
    assert ("lvisor: second guest powers off (out 0x10 to port 0xf4): its CPU stopped; "
            "both guests have ended") in first_lines(out), out
    # The first guest's lines: unprefixed, whole, in order.
    assert [t for _, t in lv6_lines(out) if not t.startswith("tsc: ")] == LV6, out
    # Each console in its file: COM2 as the guest wrote it (its echo of each
    # key, then its line), COM1 the first guest's and lvisor's lines.
    assert "> hello\necho: hello\n> quit\necho: quit\n" in com2, com2
    assert "guest2| " not in com2 and "lv6: hello" not in com2, com2
    assert [t for _, t in lv6_lines(com1) if not t.startswith("tsc: ")] == LV6, com1
    assert "lvisor: image intact" in com1 and "echo: hello" not in com1, com1
