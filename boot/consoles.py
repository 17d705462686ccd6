#!/usr/bin/python3
"""boot/consoles.py: both guests' consoles on one terminal, for a run with a
second guest (KERNEL2). boot/qemu.sh and boot/bochs.sh run themselves again
under it when they are given a COM2:

    boot/consoles.py [--com1-log FILE] [--com2-log FILE] -- COMMAND [ARG...]

COMMAND (the script, then the emulator) runs with a new pseudo-terminal as
its terminal (stdin, stdout, stderr and controlling terminal): the
emulator's COM1 is that terminal as it would be ours (QEMU's mon:stdio,
Bochs' mode=term), and COM2 is a second pseudo-terminal, whose path
COMMAND finds in the environment variable LVISOR_COM2_TTY (QEMU: -serial
/dev/pts/N; Bochs: com2: mode=term, dev=/dev/pts/N).

Output: everything COM1's terminal gets is copied to our stdout unchanged,
and to --com1-log. COM2's bytes go unchanged to --com2-log, and to our
stdout line by line, each line behind a magenta "guest2| " prefix, so that
the two guests' lines never mix: a second-guest line goes out when the
terminal is at the start of a line, or after the first guest has left a
partial line (a shell prompt) alone for WAIT seconds (then on a new line).
A partial second-guest line (its prompt) shows once it has waited WAIT
seconds itself; if the first guest writes in the meantime, the line is
shown again from its start on a new line when more of it comes (or when
typing switches to the second guest).

Input (our stdin) goes to the first guest's COM1; Ctrl-] switches it to the
second guest's COM2 and back, with a notice on the terminal. QEMU's Ctrl-a
commands work while typing to the first guest (they are QEMU's COM1
terminal's). If stdin is a terminal, it is raw while we run (every key,
Ctrl-C too, reaches the guest or the emulator, as with QEMU alone) and
restored at the end, also after a signal.

Exit status: COMMAND's (128 + N if signal N ended it), after the last bytes
of both pseudo-terminals have been copied.
"""
import errno
import fcntl
import os
import re
import select
import signal
import sys
import termios
import time
import tty

SWITCH = 0x1D			# Ctrl-]
WAIT = 0.3			# seconds a partial line keeps the terminal
WAIT_ESC = 3.0			# the first guest's escape sequence, begun
RESET = b"\x1b[0m"
PREFIX = b"\x1b[35mguest2| " + RESET	# magenta
NOTICE = b"\x1b[1;36m"		# lvisor's own color (include/lib/console.h)
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
ANSI_TAIL = re.compile(rb"\x1b(\[[0-9;?]*)?$")	# an escape cut at a read's end
SGR = re.compile(rb"\x1b\[([0-9;]*)m")


def printable(data):
    """Whether data puts anything on a line: not only colors and returns."""
    return bool(ANSI_TAIL.sub(b"", ANSI.sub(b"", data)).replace(b"\r", b""))


def cut(data):
    """The escape sequence that data ends in the middle of, if any."""
    m = ANSI_TAIL.search(ANSI.sub(b"", data))
    return m.group(0) if m else b""


def sgr_after(state, data):
    """A stream's color after data: its last reset and what followed it."""
    for m in SGR.finditer(data):
        params = m.group(1)
        if params in (b"", b"0"):
            state = b""
        elif params.startswith(b"0;"):
            state = m.group(0)
        else:
            state += m.group(0)
    return state


class Terminal:
    """Our stdout, shared by the two streams: 1 (COM1's terminal) and 2
    (COM2). `owner` is the stream whose partial line the terminal shows
    (None at a line's start); `last` is the stream whose bytes, and so
    whose colors, it got last (0: ours)."""

    def __init__(self, fd):
        self.fd = fd
        self.owner = None
        self.last = 1
        self.sgr = {1: b"", 2: b""}
        self.carry1 = b""	# an escape sequence COM1 has begun
        self.line1 = False	# COM1 has put something on the terminal's line
        self.t1 = 0.0		# COM1's last byte
        self.t2 = 0.0		# COM2's last byte
        self.buf2 = b""		# COM2's bytes from its current line on, not all shown
        self.shown = 0		# of buf2, on the terminal (owner == 2)
        self.sgr2_line = b""	# COM2's color at its current line's start
        self.flushing = False	# the end: all goes out
        self.redraw = False	# show COM2's partial line again, though not new

    def write(self, data):
        while data and self.fd is not None:
            try:
                data = data[os.write(self.fd, data):]
            except OSError:		# nobody reads any more: keep the logs going
                self.fd = None

    def switch_to(self, stream, state):
        if self.last != stream:
            self.write(RESET + state)
            self.last = stream

    def newline(self):
        """End the partial line the terminal shows."""
        if self.owner is not None:
            self.write(RESET + b"\r\n")
            self.last = 0
            self.owner = None
            self.line1 = False

    def notice(self, text, redraw=False):
        """Our line; then, with redraw, the second guest's partial line (its
        prompt) again, though it has nothing new."""
        self.newline()
        self.write(RESET + NOTICE + text + RESET + b"\r\n")
        self.last = 0
        self.redraw = redraw

    def com1(self, data, now):
        if not data:
            return
        whole = self.carry1 + data
        self.carry1 = cut(whole)
        whole = whole[:len(whole) - len(self.carry1)]
        if self.owner == 2 and (printable(whole) or self.carry1):
            self.newline()
        self.switch_to(1, self.sgr[1])
        self.write(data)
        self.sgr[1] = sgr_after(self.sgr[1], whole)
        self.t1 = now
        nl = whole.rfind(b"\n")
        if nl >= 0:
            self.line1 = printable(whole[nl + 1:])
        else:
            self.line1 = self.line1 or printable(whole)
        # Nothing goes between an escape sequence's bytes either.
        if self.line1 or self.carry1:
            self.owner = 1
        elif self.owner == 1:
            self.owner = None

    def com2(self, data, now):
        self.buf2 += data
        if data:
            self.t2 = now
        while True:
            nl, end = self.end2()
            if self.owner == 2 or not self.redraw:
                if end <= self.shown:
                    return	# nothing new (a line broken off stays so)
            elif end == 0:
                return
            if self.owner != 2:
                if nl < 0 and now - self.t2 < WAIT:
                    return		# a partial line: give it time to end
                if self.owner == 1:
                    if now - self.t1 < self.wait1():
                        return	# the first guest's line: give it time to end
                    self.newline()
                # The line from its start: a part of it may have been shown
                # before the first guest broke in.
                self.write(RESET + PREFIX + self.sgr2_line)
                self.last = 2
                self.redraw = False
                start = 0
            else:
                self.switch_to(2, self.sgr[2])
                start = self.shown
            self.write(self.buf2[start:end])
            self.sgr[2] = sgr_after(self.sgr[2], self.buf2[self.shown:end])
            if nl >= 0:
                self.buf2 = self.buf2[end:]
                self.shown = 0
                self.sgr2_line = self.sgr[2]
                self.owner = None
            else:
                self.shown = end
                self.owner = 2
                return

    def wait1(self):
        return WAIT_ESC if self.carry1 else WAIT

    def end2(self):
        """Where COM2's first line ends (its newline, or -1), and the end of
        what of it may go out: a partial line up to an escape sequence it
        has only begun, as nothing may come between its bytes."""
        nl = self.buf2.find(b"\n")
        if nl >= 0:
            return nl, nl + 1
        return nl, len(self.buf2) - (0 if self.flushing else len(cut(self.buf2)))

    def deadline(self):
        """When com2() may have something to show without new bytes."""
        end = self.end2()[1]
        if self.owner == 2 or end == 0 or (end <= self.shown and not self.redraw):
            return None
        t = self.t2 + WAIT if b"\n" not in self.buf2 else 0.0
        if self.owner == 1:
            t = max(t, self.t1 + self.wait1())
        return t


def open_log(path):
    if not path:
        return None
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)


def log(fd, data):
    if fd is not None and data:
        os.write(fd, data)


def read(fd):
    """What the pseudo-terminal's master has; b"" once its other side is
    closed (EIO) or nothing waits."""
    try:
        return os.read(fd, 65536)
    except OSError as e:
        if e.errno in (errno.EIO, errno.EAGAIN):
            return b""
        raise


def copy_size(fd):
    """Our terminal's size to COM1's (the size of a window, to a guest that
    asks: the kernel tells the emulator with SIGWINCH)."""
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        pass


def kill(pid, sig):
    """COMMAND and what it runs: its session's one process group."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def main(argv):
    logs = {"--com1-log": None, "--com2-log": None}
    while argv and argv[0] in logs:
        if len(argv) < 2:
            sys.exit(f"consoles.py: {argv[0]} needs a file")
        logs[argv[0]] = argv[1]
        argv = argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.exit("usage: consoles.py [--com1-log FILE] [--com2-log FILE] -- COMMAND [ARG...]")
    log1, log2 = open_log(logs["--com1-log"]), open_log(logs["--com2-log"])

    # COM1's terminal looks to the emulator as ours would (same settings
    # and size); without one, as a new terminal does, but passing "\n" on
    # as it is, as the pipe or file it replaces would. COM2's passes bytes
    # through unchanged either way: QEMU only adds OPOST (chardev/char-serial.c,
    # tty_serial_init), which with no other output flag changes nothing, and
    # Bochs makes it raw itself (iodev/serial.cc, mode "term").
    interactive = os.isatty(0)
    m1, s1 = os.openpty()
    m2, s2 = os.openpty()
    if interactive:
        saved = termios.tcgetattr(0)
        termios.tcsetattr(s1, termios.TCSANOW, saved)
        copy_size(s1)
        signal.signal(signal.SIGWINCH, lambda n, f: copy_size(s1))
    else:
        attrs = termios.tcgetattr(s1)
        attrs[1] &= ~termios.ONLCR
        termios.tcsetattr(s1, termios.TCSANOW, attrs)
    raw = termios.tcgetattr(s2)
    raw[0] = 0					# iflag: no CR/NL translation, no flow control
    raw[1] = 0					# oflag: no "\n" -> "\r\n"
    raw[2] = (raw[2] & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
    raw[3] = 0					# lflag: no echo, no line editing, no signals
    raw[6][termios.VMIN], raw[6][termios.VTIME] = 1, 0
    termios.tcsetattr(s2, termios.TCSANOW, raw)

    env = dict(os.environ, LVISOR_COM2_TTY=os.ttyname(s2))
    pid = os.fork()
    if pid == 0:
        os.close(m1)
        os.close(m2)
        os.close(s2)
        for fd in (log1, log2):
            if fd is not None:
                os.close(fd)
        os.login_tty(s1)			# a session of its own, s1 its terminal
        try:
            os.execvpe(argv[0], argv, env)
        except OSError as e:
            os.write(2, f"consoles.py: {argv[0]}: {e.strerror}\r\n".encode())
        os._exit(127)

    # We keep both slaves open while it runs: COM2's until the emulator has
    # opened it (reads would fail before), COM1's alike (the script may
    # close it between programs). Closing them at the end makes the reads
    # below return what is left, then EIO: nothing is lost.
    term = Terminal(1)
    got = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda n, f: got.append(n))
    if interactive:
        tty.setraw(0, termios.TCSANOW)
    target = 1
    inputs = [0]
    status = None
    killed_at = None
    try:
        while status is None:
            if got and killed_at is None:
                kill(pid, signal.SIGTERM)
                killed_at = time.monotonic()
            if killed_at is not None and time.monotonic() - killed_at > 5:
                kill(pid, signal.SIGKILL)
            now = time.monotonic()
            due = term.deadline()
            timeout = 0.1 if due is None else min(0.1, max(0.0, due - now))
            try:
                ready, _, _ = select.select([m1, m2] + inputs, [], [], timeout)
            except InterruptedError:
                continue
            now = time.monotonic()
            # COM2 first: of two lines that wait together, its was likely
            # written first (lvisor reports on COM1 once the second guest
            # has stopped).
            if m2 in ready:
                data = read(m2)
                log(log2, data)
                term.com2(data, now)
            else:
                term.com2(b"", now)
            if m1 in ready:
                data = read(m1)
                log(log1, data)
                term.com1(data, now)
            if 0 in ready:
                keys = os.read(0, 1024)
                if not keys:
                    inputs = []		# end of input (/dev/null): output only
                for part in re.split(rb"(\x1d)", keys):
                    if part == bytes([SWITCH]):
                        target = 3 - target
                        term.notice(b"[typing to the %s guest (Ctrl-] switches)]"
                                    % (b"first" if target == 1 else b"second"), target == 2)
                    elif part:
                        os.write(m1 if target == 1 else m2, part)
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(code)
        # The last bytes: the emulator has exited, its writes are in the
        # pseudo-terminals; with our slaves closed, a read returns them and
        # then EIO (or, if something else still holds one, nothing for a
        # while).
        os.close(s1)
        os.close(s2)
        open_fds = [m1, m2]
        while open_fds:
            ready, _, _ = select.select(open_fds, [], [], 0.5)
            if not ready:
                break
            for fd in ready:
                data = read(fd)
                if not data:
                    open_fds.remove(fd)
                elif fd == m1:
                    log(log1, data)
                    term.com1(data, time.monotonic())
                else:
                    log(log2, data)
                    term.com2(data, time.monotonic())
        # A partial last line of the second guest, at once.
        term.t1 = term.t2 = 0.0
        term.flushing = True
        term.com2(b"", time.monotonic())
        if term.owner == 2:
            term.newline()
        if term.last != 1:
            term.write(RESET + term.sgr[1])
    finally:
        if interactive:
            termios.tcsetattr(0, termios.TCSAFLUSH, saved)
    if status < 0:
        status = 128 - status
    elif got and status == 0:
        status = 128 + got[0]
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
