"""xv6's usertests under lvisor, and what to make of a run that stalls.

The xv6 the tests run (../shared/guests/xv6: xv6-public, unmodified) can
deadlock by itself in usertests' linkunlink and concreate, which link,
unlink and create one name from two processes. iput() takes the inode's
sleep-lock, and xv6 calls it in two orders: create() and sys_unlink() put
the directory (iunlockput) while they hold the file's lock, and dirlink()
puts the file it finds while its caller holds the directory's. A timer
interrupt in the few instructions between iunlock() and iput() can leave
two processes each waiting for the lock the other holds, for good. (Later
xv6 versions take the lock in iput() only when nobody else can hold it.)
It is rare; timing decides it, so a loaded host makes it likelier.

So a test that gives up waiting for usertests on QEMU stops the machine
and reads, through QEMU's QMP socket, the process table and inode cache of
each xv6 whose usertests have not passed. If in each of them two or more
processes wait in a cycle for inode locks the next one holds, the stall
was xv6's own and the test runs once more (rerun_on_xv6_deadlock), with a
warning; anything else fails the test, with what xv6's processes were
waiting for.
"""
import functools
import json
import os
import re
import socket
import subprocess
import warnings

import pytest

from lvtest import plain

# The layout of xv6-public's 32-bit kernel (gdb on kernelmemfs: struct
# proc, struct inode, NPROC, NINODE).
KERNBASE = 0x80000000		# virtual = physical + KERNBASE
SPINLOCK = 52			# ptable.lock and icache.lock come first
NPROC, PROC_SIZE, PROC_STATE, PROC_PID, PROC_CHAN, PROC_NAME = 64, 124, 0x0c, 0x10, 0x20, 0x6c
NINODE, INODE_SIZE, INODE_INUM, INODE_LOCK, INODE_LOCK_PID = 50, 144, 0x04, 0x0c, 0x48
SLEEPING = 2

# Where the second guest's memory starts on the host (lvisor says it).
SECOND_BASE = re.compile(r"second guest: its own \d+ MiB at host (0x[0-9a-f]+)-")


class Xv6Deadlock(Exception):
    """xv6 deadlocked by itself (the module's docstring)."""


def qmp_extra(name):
    """A QMP socket for one test's QEMU: its path, and the make variable
    that opens it."""
    path = f"/tmp/lvisor-qmp-{os.getpid()}-{name}.sock"
    if os.path.exists(path):
        os.unlink(path)
    return path, f"QMP={path}"


class Qmp:
    """QEMU's machine protocol (JSON lines), for the monitor's xp."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")
        json.loads(self.file.readline())		# the greeting
        self.command("qmp_capabilities")

    def command(self, name, **arguments):
        self.file.write(json.dumps({"execute": name, "arguments": arguments}) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "error" in reply:
                raise RuntimeError(reply["error"].get("desc", reply))
            if "return" in reply:
                return reply["return"]		# (anything else is an event)

    def words(self, addr, count):
        """count 32-bit words of physical memory from addr."""
        text = self.command("human-monitor-command", **{"command-line": f"xp /{count}wx {addr:#x}"})
        words = []
        for line in text.splitlines():
            words += [int(w, 16) for w in line.split(":", 1)[1].split()]
        return words

    def close(self):
        self.sock.close()


def symbols(kernel):
    out = subprocess.run(["nm", str(kernel)], capture_output=True, text=True, check=True).stdout
    return {f[2]: int(f[0], 16) for f in map(str.split, out.splitlines()) if len(f) == 3}


def near(sym, addr):
    """addr as symbol+offset: what a sleeper's channel is."""
    name, at = max(((n, a) for n, a in sym.items() if a <= addr), key=lambda s: s[1], default=("", 0))
    return f"{name}+{addr - at:#x}" if name else f"{addr:#x}"


def waits(qmp, sym, base):
    """The xv6 whose physical memory starts at host address base: for each
    process that sleeps on an inode's lock that is held, (pid, name, inode
    number, holder's pid); and the other sleepers, (pid, name, channel)."""
    def word(data, offset):
        return data[offset // 4]
    procs = qmp.words(base + sym["ptable"] - KERNBASE + SPINLOCK, NPROC * PROC_SIZE // 4)
    inodes = qmp.words(base + sym["icache"] - KERNBASE + SPINLOCK, NINODE * INODE_SIZE // 4)
    locks = {sym["icache"] + SPINLOCK + i * INODE_SIZE + INODE_LOCK: i for i in range(NINODE)}
    on_locks, others = [], []
    for p in range(NPROC):
        proc = procs[p * PROC_SIZE // 4:(p + 1) * PROC_SIZE // 4]
        if word(proc, PROC_STATE) != SLEEPING:
            continue
        pid, chan = word(proc, PROC_PID), word(proc, PROC_CHAN)
        name = b"".join(w.to_bytes(4, "little") for w in proc[PROC_NAME // 4:PROC_NAME // 4 + 4])
        name = name.split(b"\0")[0].decode(errors="replace")
        inode = inodes[locks[chan] * INODE_SIZE // 4:(locks[chan] + 1) * INODE_SIZE // 4] if chan in locks else None
        if inode and word(inode, INODE_LOCK) == 1:
            on_locks.append((pid, name, word(inode, INODE_INUM), word(inode, INODE_LOCK_PID)))
        else:
            others.append((pid, name, chan))
    return on_locks, others


def cycle(on_locks):
    """Processes that each wait for an inode lock the next one holds, the
    last one's held by the first: two or more of them, or []."""
    holder = {pid: (name, inum, held_by) for pid, name, inum, held_by in on_locks}
    for start in holder:
        members, pid = [], start
        while pid in holder and pid not in members:
            members.append(pid)
            pid = holder[pid][2]
        if pid == start and len(members) >= 2:
            return [(p, *holder[p]) for p in members]
    return []


def diagnose(qmp_path, kernel, out, slots):
    """After usertests stalled in the guests of slots ("first", "second"),
    with QEMU still running: raise Xv6Deadlock if each of them deadlocked
    by itself; else return what their processes were waiting for, for the
    failure's message. The machine is stopped while its memory is read,
    so that what is read is one moment's."""
    try:
        qmp = Qmp(qmp_path)
    except (OSError, ValueError, RuntimeError) as e:
        return f"(QEMU's QMP socket: {e!r})"
    try:
        sym = symbols(kernel)
        qmp.command("stop")
        found, said = [], []
        m = SECOND_BASE.search(plain(out))
        for slot in slots:
            if slot == "second" and not m:
                said.append("the second guest's memory: lvisor did not say where it is")
                continue
            on_locks, others = waits(qmp, sym, int(m.group(1), 16) if slot == "second" else 0)
            members = cycle(on_locks)
            if members:
                found.append(f"xv6 as the {slot} guest deadlocked by itself: " + "; ".join(
                    f"pid {p} ({n}) waits for inode {i}'s lock, held by pid {h}" for p, n, i, h in members))
            said.append(f"the {slot} guest's sleeping processes: " + ", ".join(
                [f"pid {p} ({n}) on inode {i}'s lock (pid {h}'s)" for p, n, i, h in on_locks] +
                [f"pid {p} ({n}) on {near(sym, c)}" for p, n, c in others]))
        if slots and len(found) == len(slots):
            raise Xv6Deadlock("; ".join(found))
        return "; ".join(said)
    except (OSError, RuntimeError, ValueError, KeyError, IndexError, subprocess.CalledProcessError) as e:
        return f"(reading xv6's memory through QMP: {e!r})"
    finally:
        qmp.close()


def rerun_on_xv6_deadlock(test):
    """Run the test again, once, if it ended in xv6's own deadlock."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        except Xv6Deadlock as e:
            warnings.warn(f"{e}: the test runs once more")
        try:
            return test(*args, **kwargs)
        except Xv6Deadlock as e:
            pytest.fail(f"{e}, twice in a row")
    return run
