#!/usr/bin/python3
"""make bench: what lvisor costs, measured on both backends.

Runs, on QEMU (AMD SVM) and on Bochs (Intel VMX), RUNS times each:
  - the bench guest under lvisor with policies/bench.yaml: the exit round
    trips (CPUID, hypercall, IN, RDMSR), RDTSC passed through, the empty
    loop, and the two exit-free loops;
  - the bench guest under lvisor with policies/bench-rdtsc.yaml: RDTSC
    emulated (that figure only);
  - the bench guest under lvisor with policies/bench-memory.yaml: a store
    to a write-watched page (the `memory` figure only);
  - the bench guest as both of lvisor's guests at once (KERNEL2=bench,
    POLICY2=bench: the second on CPU 1, its console COM2, which the
    emulators write to COM2_LOG), each timing CPUID while the other does
    (they start together; each prints its measurement's TSC span, from
    which the overlap is reported); always the full iterations, even with
    --quick, so that the loops last long enough to overlap;
  - the bench guest bare (make qemu-kernel / bochs-kernel): the same
    instructions without lvisor, and the exit-free loops' bare cost;
  - lv6 under lvisor with the default policy, and bare: its boot time as
    lv6 itself measures it, and the exits it takes (lvisor's statistics);
  - lv6 with `bench` on its command line (guests/lv6/user.S: user space
    times round trips of a system call that does nothing) under lvisor with
    policies/syscall-log.yaml (SYSCALL and SYSRET raise #UD, exit and are
    carried out and logged: two exits a call), with the default policy
    (SYSCALL and SYSRET run natively), and bare;
  - Linux (make qemu KERNEL=linux, guests/linux/) under lvisor with the
    default policy, and bare, driven through a terminal (pexpect) to its
    ready line, then `poweroff`: the time to the ready line by the emulator's
    wall clock and by the kernel's own clock (the uptime line that
    guests/linux/init prints just before the ready line), and the exits of
    the whole run (lvisor's statistics at power-off). --linux-bochs-runs
    times on Bochs (about two minutes a boot), RUNS times on QEMU; --no-linux
    leaves Linux out, and so does --quick.

Prints a markdown table of medians with [min-max] over the runs, and writes
it to BUILD/bench/bench.md, the numbers to BUILD/bench/bench.json and a
chart to BUILD/bench/bench.png. guests/bench/bench.c says how the guest
measures; README.md ("Measuring: make bench") how to read the figures.
"""

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc")

# backend -> how to run it
BACKENDS = {
    "svm": {"title": "QEMU/SVM", "lvisor": "qemu", "bare": "qemu-kernel"},
    "vmx": {"title": "Bochs/VMX", "lvisor": "bochs", "bare": "bochs-kernel"},
}

# The rows of the first table: (key, what it measures). Keys name where the
# figure comes from: "lvisor:x" the bench policy's run, "rdtsc:x" the
# bench-rdtsc run, "bare:x" the bare run, "guest1:x" and "guest2:x" the
# bench guest as both of lvisor's guests at once; x is the guest's figure name.
# "lv6-log:syscall", "lv6:syscall" and "lv6-bare:syscall": lv6's `bench`
# under policies/syscall-log.yaml, under the default policy, and bare.
CYCLE_ROWS = [
    ("lvisor:cpuid", "CPUID: exit round trip"),
    ("guest1:cpuid", "CPUID: exit round trip in the first guest, while the second guest "
     "(KERNEL2=bench) runs the same loop on the other CPU"),
    ("guest2:cpuid", "CPUID: exit round trip in the second guest (CPU 1, policy bench, "
     "console COM2), while the first runs the same loop"),
    ("lvisor:hypercall", "hypercall (SVM: VMMCALL, VMX: VMCALL): exit round trip"),
    ("rdtsc:rdtsc", "RDTSC emulated: exit round trip (policy bench-rdtsc)"),
    ("lvisor:io", "IN from port 0xed: exit round trip"),
    ("lvisor:msr", "RDMSR 0x10: exit round trip"),
    ("memory:memory", "MOV store to a write-watched page (EPT violation / NPF, decoded; "
     "policy bench-memory)"),
    ("lvisor:rdtsc", "RDTSC passed through (no exit)"),
    ("lvisor:empty", "empty loop iteration (included in every figure above)"),
    ("lv6-log:syscall", "logged syscall round trip (2 exits): lv6's SYSCALL to a system call "
     "that does nothing and SYSRET back, under policies/syscall-log.yaml (both raise #UD, "
     "which exits; lvisor carries them out and logs the SYSCALL, printing nothing in the "
     "round measured)"),
    ("lv6:syscall", "SYSCALL+SYSRET: native, under default (no exit): the same round trip "
     "(both include lv6's loop, entry and dispatch)"),
    ("lvisor:loop-mem", "exit-free loop-mem: one page touched (a TLB miss, an NPT/EPT walk)"),
    ("bare:loop-mem", "loop-mem without lvisor: one page touched (a TLB miss)"),
    ("bare:cpuid", "CPUID without lvisor"),
    ("bare:rdtsc", "RDTSC without lvisor"),
    ("bare:io", "IN from port 0xed without lvisor"),
    ("bare:msr", "RDMSR 0x10 without lvisor"),
    ("lv6-bare:syscall", "SYSCALL+SYSRET without lvisor (lv6's round trip)"),
]
# Overheads: (key, what, numerator, denominator).
RATIO_ROWS = [
    ("loop-reg", "exit-free loop, registers only", "lvisor:loop-reg", "bare:loop-reg"),
    ("loop-mem", "exit-free loop over 16384 pages (TLB misses, EPT/NPT walks)",
     "lvisor:loop-mem", "bare:loop-mem"),
    ("lv6-boot", "lv6's boot, by its own clock", "lv6:boot", "lv6-bare:boot"),
    ("linux-boot", "Linux to its ready line, the kernel's own clock (/proc/uptime: from the "
     "kernel's start, after firmware and decompressor, to the ready line)",
     "linux:uptime", "linux-bare:uptime"),
    ("linux-wall", "Linux to its ready line, wall time from the emulator's start (BIOS, GRUB "
     "on Bochs, lvisor's start and the decompressor included)", "linux:wall", "linux-bare:wall"),
]
# Seconds to Linux's ready line: (key, what).
LINUX_ROWS = [
    ("linux:uptime", "under lvisor: kernel clock at the ready line"),
    ("linux-bare:uptime", "bare: kernel clock at the ready line"),
    ("linux:wall", "under lvisor: wall time, start to ready line"),
    ("linux-bare:wall", "bare: wall time, start to ready line"),
]
# The target for Linux's boot (under lvisor at most 1.3x bare): on each
# backend, the figure that it is judged by. Bochs:
# the kernel's clock, which counts emulated instructions (the BIOS and GRUB
# before it are not comparable: GRUB loads other files bare); QEMU: wall time
# from start to the ready line (its kernel clock is host time too).
LINUX_TARGET = {"svm": "linux-wall", "vmx": "linux-boot"}
LINUX_TOP = 8           # exit reasons shown per Linux boot (the rest summed)

BOCHS_NOTE = ("Bochs' TSC counts emulated instructions (boot/bochs.sh: ips=10000000, a 10 MHz "
              "TSC, one tick per instruction), so its figures are instruction counts: nearly "
              "deterministic from run to run, and blind to what costs time but not "
              "instructions (TLB misses, page walks, the VM entry and exit themselves). "
              "QEMU's TSC is the host's: its figures are host time under TCG, and vary from "
              "run to run; the [min-max] spread says how far to trust them.")


def plain(text):
    return ANSI.sub("", text).replace("\r", "")


def make(target, timeout=900, **variables):
    """Run one `make -s` target; its output, colors removed. Stops on failure."""
    cmd = ["make", "-s", target] + [f"{k}={v}" for k, v in variables.items()]
    try:
        p = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.exit(f"bench: {' '.join(cmd)} did not finish in {timeout} s")
    out = plain(p.stdout.decode(errors="replace"))
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed (status {p.returncode}):\n{out[-3000:]}")
    return out


# ---- reading what the runs printed ----------------------------------------

FIGURE = re.compile(r"^bench: (\S+) cycles=\d+ total=(\d+) iterations=(\d+)", re.M)
SPAN = re.compile(r"^bench: (\S+) span start=(\d+) end=(\d+)", re.M)
STATS = re.compile(r"^lvisor: exit statistics: (\d+) exits$", re.M)
# reason, name, count, cycles, cycles/exit, min ("-": only the exit being handled)
STATS_ROW = re.compile(r"^lvisor:\s+(\S+) (\S+)\s+(\d+)\s+(\d+)\s+(\d+|-)\s+(\d+|-)$")
LV6_SYSCALL = re.compile(r"\] lv6: syscall cycles=\d+ total=(\d+) iterations=(\d+)$", re.M)
LV6_END = re.compile(r"^\[\s*(\d+)\.(\d{6})\] lv6: user space exited", re.M)
LINUX_UPTIME = r"lvisor-linux: uptime (\d+\.\d+)"     # guests/linux/init, just before:
LINUX_READY = "lvisor-linux: ready"
TSC_MHZ = re.compile(r"^lvisor: tsc: ([\d.]+) MHz", re.M)


def figures(out):
    """The bench guest's figures: name -> cycles per iteration."""
    found = {name: int(total) / int(n) for name, total, n in FIGURE.findall(out)}
    if "bench: done" not in out:
        sys.exit(f"bench: the bench guest did not finish:\n{out[-3000:]}")
    return found


def overlap(first, second, name="cpuid"):
    """The share of the shorter of two guests' spans of one figure (TSC
    start and end, from outputs `first` and `second`) during which the other
    measured too: 1.0 when one ran wholly while the other did."""
    spans = []
    for out in (first, second):
        found = {n: (int(a), int(b)) for n, a, b in SPAN.findall(out)}
        if name not in found:
            sys.exit(f"bench: no {name} span in the output:\n{out[-3000:]}")
        spans.append(found[name])
    (a0, a1), (b0, b1) = spans
    shorter = min(a1 - a0, b1 - b0)
    return max(0, min(a1, b1) - max(a0, b0)) / shorter if shorter > 0 else 0.0


def exit_stats(out, cycles=False):
    """lvisor's last statistics table: (total, {"CPUID (10)": count, ...}),
    or with cycles=True {"CPUID (10)": (count, cycles), ...}."""
    m = list(STATS.finditer(out))
    if not m:
        sys.exit(f"bench: no exit statistics in the output:\n{out[-3000:]}")
    rows = {}
    for line in out[m[-1].end():].splitlines()[2:]:
        r = STATS_ROW.match(line)
        if not r:
            break
        count = int(r.group(3))
        rows[f"{r.group(2)} ({r.group(1)})"] = (count, int(r.group(4))) if cycles else count
    return int(m[-1].group(1)), rows


def lv6_seconds(out):
    m = LV6_END.search(out)
    if not m:
        sys.exit(f"bench: lv6 did not reach its shutdown line:\n{out[-3000:]}")
    return int(m.group(1)) + int(m.group(2)) / 1e6


def lv6_syscall(out):
    """lv6's `bench`: the cycles of one system call's round trip."""
    m = LV6_SYSCALL.search(out)
    if not m:
        sys.exit(f"bench: lv6 printed no syscall figure:\n{out[-3000:]}")
    return int(m.group(1)) / int(m.group(2))


# ---- the runs ----------------------------------------------------------------

def linux(target, timeout, **variables):
    """One Linux boot: `make TARGET KERNEL=linux` on a terminal (pexpect; Bochs
    reads COM1 from it), to the ready line, then `poweroff`. Returns (wall
    seconds from start to the ready line, the kernel's uptime there, output)."""
    import pexpect
    args = ["-s", target, "KERNEL=linux"] + [f"{k}={v}" for k, v in variables.items()]
    log = io.StringIO()
    start = time.monotonic()
    child = pexpect.spawn("make", args, cwd=ROOT, timeout=timeout, encoding="utf-8",
                          codec_errors="replace", dimensions=(24, 200))
    child.logfile_read = log
    try:
        child.expect(LINUX_UPTIME)
        uptime = float(child.match.group(1))
        child.expect_exact(LINUX_READY)
        wall = time.monotonic() - start
        child.expect_exact("# ")
        child.sendline("poweroff")
        child.expect(pexpect.EOF, timeout=300)
        child.close()
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        child.terminate(force=True)
        sys.exit(f"bench: make {' '.join(args)}: {type(e).__name__} after "
                 f"{time.monotonic() - start:.0f} s:\n{plain(log.getvalue())[-3000:]}")
    out = plain(log.getvalue())
    if child.exitstatus != 0:
        sys.exit(f"bench: make {' '.join(args)} failed (status {child.exitstatus}):\n{out[-3000:]}")
    return wall, uptime, out


def run_linux(b, runs, values, exits):
    """Linux under lvisor and bare, RUNS times each."""
    t = BACKENDS[b]
    timeout = 1800 if b == "vmx" else 300
    # Bochs: directories of our own (boot/run.mk), apart from the tests' runs.
    dirs = ({"lvisor": {"BOCHS_DIR": "build/bench/bochs-linux"},
             "bare": {"BOCHS_DIR": "build/bench/bochs-linux-bare"}} if b == "vmx"
            else {"lvisor": {}, "bare": {}})
    def under_lvisor(i):
        wall, uptime, out = linux(t["lvisor"], timeout, POLICY="default", **dirs["lvisor"])
        values.setdefault("linux:wall", []).append(wall)
        values.setdefault("linux:uptime", []).append(uptime)
        total, rows = exit_stats(out, cycles=True)
        values.setdefault("linux:exits", []).append(total)
        mhz = TSC_MHZ.search(out)
        values.setdefault("linux:vmm-seconds", []).append(
            sum(c for _, c in rows.values()) / float(mhz.group(1)) / 1e6 if mhz else float("nan"))
        for reason in set(exits) | set(rows):   # a reason not taken in a run counts 0 there
            exits.setdefault(reason, [0] * i).append(rows.get(reason, (0, 0))[0])

    def bare(i):
        wall, uptime, _ = linux(t["bare"], timeout, **dirs["bare"])
        values.setdefault("linux-bare:wall", []).append(wall)
        values.setdefault("linux-bare:uptime", []).append(uptime)

    for i in range(runs):
        print(f"bench: {t['title']}: Linux, run {i + 1} of {runs}", file=sys.stderr, flush=True)
        # Each run boots both, in turn first, so that a change in the
        # host's load during the runs does not favor either.
        for boot in ((under_lvisor, bare) if i % 2 == 0 else (bare, under_lvisor)):
            boot(i)


def two_guests(target, build):
    """The bench guest as both guests, timing CPUID at once: the run's output
    (the first guest's COM1) and the second guest's COM2, from the file the
    emulator writes it to (boot/run.mk: COM2_LOG)."""
    log = os.path.join(ROOT, build, "policy", "bench+bench", "com2-bench.log")
    if os.path.exists(log):
        os.unlink(log)
    words = "cpuid span"
    out = make(target, KERNEL="bench", POLICY="bench", APPEND=words,
               KERNEL2="bench", POLICY2="bench", APPEND2=words)
    if not os.path.exists(log):
        sys.exit(f"bench: the second guest's console, {log}, was not written:\n{out[-3000:]}")
    with open(log, errors="replace") as f:
        return out, plain(f.read())


def run_backend(b, runs, quick, linux_runs, build):
    """All runs on one backend: {key: [value per run]}, {reason: [count per
    run]} for lv6, and the same for Linux."""
    t = BACKENDS[b]
    words = "quick" if quick else ""
    values, exits, linux_exits = {}, {}, {}

    def add(key, v):
        values.setdefault(key, []).append(v)

    for i in range(runs):
        print(f"bench: {t['title']}: run {i + 1} of {runs}", file=sys.stderr, flush=True)
        for name, v in figures(make(t["lvisor"], KERNEL="bench", POLICY="bench",
                                    APPEND=words)).items():
            add(f"lvisor:{name}", v)
        for name, v in figures(make(t["lvisor"], KERNEL="bench", POLICY="bench-rdtsc",
                                    APPEND=f"{words} rdtsc".strip())).items():
            add(f"rdtsc:{name}", v)
        for name, v in figures(make(t["lvisor"], KERNEL="bench", POLICY="bench-memory",
                                    APPEND=f"{words} memory".strip())).items():
            add(f"memory:{name}", v)
        for name, v in figures(make(t["bare"], KERNEL="bench", APPEND=words)).items():
            add(f"bare:{name}", v)
        first, second = two_guests(t["lvisor"], build)
        add("guest1:cpuid", figures(first)["cpuid"])
        add("guest2:cpuid", figures(second)["cpuid"])
        add("guests:overlap", overlap(first, second))
        out = make(t["lvisor"], KERNEL="lv6", POLICY="default")
        add("lv6:boot", lv6_seconds(out))
        total, rows = exit_stats(out)
        add("lv6:exits", total)
        for reason, count in rows.items():
            exits.setdefault(reason, []).append(count)
        add("lv6-bare:boot", lv6_seconds(make(t["bare"], KERNEL="lv6")))
        add("lv6-log:syscall", lv6_syscall(make(t["lvisor"], KERNEL="lv6", POLICY="syscall-log",
                                                APPEND="bench")))
        add("lv6:syscall", lv6_syscall(make(t["lvisor"], KERNEL="lv6", POLICY="default",
                                            APPEND="bench")))
        add("lv6-bare:syscall", lv6_syscall(make(t["bare"], KERNEL="lv6", APPEND="bench")))
    if linux_runs:
        run_linux(b, linux_runs, values, linux_exits)
    for key, what, num, den in RATIO_ROWS:
        if num in values:
            values[key] = [n / d for n, d in zip(values[num], values[den])]
    return values, exits, linux_exits


def summary(vals):
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "runs": vals}


# ---- the report ------------------------------------------------------------

def cycles(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def cell(s, fmt):
    if s is None:
        return "-"
    if len(s["runs"]) == 1:
        return fmt(s["median"])
    if s["min"] == s["max"]:
        return f"{fmt(s['median'])} (every run)"
    return f"{fmt(s['median'])} [{fmt(s['min'])}-{fmt(s['max'])}]"


def ratio(x):
    return f"{x:.3f}x"


def percent(x):
    return f"{x * 100:.1f}%"


def seconds(x):
    return f"{x:.2f} s"


def report(results, runs, quick):
    bs = [b for b in BACKENDS if b in results]
    has_linux = any("linux:exits" in results[b]["values"] for b in bs)
    head = "| figure | what it measures | " + " | ".join(BACKENDS[b]["title"] for b in bs) + " |"
    rule = "|---|---|" + "---|" * len(bs)
    get = lambda b, k: results[b]["values"].get(k)  # noqa: E731
    md = [f"# lvisor bench: median [min-max] of {runs} run{'s' if runs > 1 else ''}"
          f"{' (quick mode: fewer iterations)' if quick else ''}", "", BOCHS_NOTE, "",
          "## Cycles per loop iteration: one instruction, plus the empty loop", "", head, rule]
    for key, what in CYCLE_ROWS:
        md.append(f"| {key} | {what} | " + " | ".join(cell(get(b, key), cycles) for b in bs) + " |")
    md += ["", "guest1, guest2: the bench guest as both of lvisor's guests at once (KERNEL2=bench, "
           "POLICY2=bench), each timing its CPUID loop; they start together, and their "
           "measurements (warm-up to last round) overlapped: " +
           ", ".join(f"{BACKENDS[b]['title']} {cell(get(b, 'guests:overlap'), percent)}"
                     for b in bs) + " (of the shorter one's span)."]
    md += ["", "## Overheads: the same work under lvisor / bare", "", head, rule]
    for key, what, _, _ in RATIO_ROWS:
        if any(get(b, key) for b in bs):
            md.append(f"| {key} | {what} | " + " | ".join(cell(get(b, key), ratio) for b in bs) +
                      " |")
    md += ["", "## Exits per lv6 boot (policy default, from lvisor's statistics at power-off)", "",
           head, rule]
    md.append("| lv6-exits | all exits | " +
              " | ".join(cell(get(b, "lv6:exits"), lambda x: f"{x:.0f}") for b in bs) + " |")
    reasons = sorted({r for b in bs for r in results[b]["exits"]})
    for r in reasons:
        md.append(f"| {r} | | " + " | ".join(cell(results[b]["exits"].get(r), lambda x: f"{x:.0f}")
                                            for b in bs) + " |")
    if has_linux:
        md += linux_report(results, bs, head, rule)
    md += ["", "## Targets (measured, not asserted)", "",
           "What lvisor aims at: a short exit path (Bochs counts its instructions), code "
           "that takes no exit as fast as bare (nested paging the only cost), a simple OS "
           "that needs the hypervisor rarely, and a real OS that stays usable.", ""]
    md += targets(results)
    if has_linux:
        md += linux_target(results)
    return "\n".join(md) + "\n"


def linux_report(results, bs, head, rule):
    get = lambda b, k: results[b]["values"].get(k)  # noqa: E731
    count = lambda x: f"{x:.0f}"  # noqa: E731
    runs = ", ".join(f"{len(get(b, 'linux:exits')['runs'])} on {BACKENDS[b]['title']}"
                     for b in bs if get(b, "linux:exits"))
    md = ["", f"## Linux (KERNEL=linux) to its ready line, in seconds (runs: {runs})", "",
          "The kernel's clock is /proc/uptime as guests/linux/init reads it just before the "
          "ready line: from the kernel's start (after the BIOS, GRUB or lvisor's firmware, "
          "and the decompressor) to the ready line, the same span bare and under lvisor. "
          "On Bochs it counts emulated instructions (and idle time at 10 million a second), "
          "so it varies by a few tenths of a percent only (the clock chip starts at the "
          "host's time); wall time on Bochs depends on the host's load. On QEMU both are "
          "host time.", "", head, rule]
    for key, what in LINUX_ROWS:
        md.append(f"| {key} | {what} | " + " | ".join(cell(get(b, key), seconds) for b in bs) +
                  " |")
    md += ["", "## Exits per Linux boot (policy default, from power-on to `poweroff` right "
           "after the ready line; lvisor's statistics)", "", head, rule]
    md.append("| linux-exits | all exits | " +
              " | ".join(cell(get(b, "linux:exits"), count) for b in bs) + " |")
    md.append("| linux-vmm | seconds in lvisor from exits to entries (the table's cycles over "
              "lvisor's TSC rate) | " +
              " | ".join(cell(get(b, "linux:vmm-seconds"), lambda x: f"{x * 1e3:.1f} ms")
                         for b in bs) + " |")
    # The reasons with the most exits on any backend, then the rest summed.
    top = sorted({r for b in bs for r in results[b]["linux_exits"]},
                 key=lambda r: -max(results[b]["linux_exits"].get(r, {"median": 0})["median"]
                                    for b in bs))
    for r in top[:LINUX_TOP]:
        md.append(f"| {r} | | " + " | ".join(cell(results[b]["linux_exits"].get(r), count)
                                            for b in bs) + " |")
    if len(top) > LINUX_TOP:
        rest = [sum(results[b]["linux_exits"][r]["median"] for r in top[LINUX_TOP:]
                    if r in results[b]["linux_exits"]) for b in bs]
        md.append(f"| other reasons | {len(top) - LINUX_TOP} more (medians summed) | " +
                  " | ".join(count(x) for x in rest) + " |")
    return md


def linux_target(results):
    """The target for a real OS: Linux's boot to the ready line under
    lvisor at most 1.3x bare."""
    out = []
    for b in ("svm", "vmx"):
        key = LINUX_TARGET[b]
        v = results.get(b, {}).get("values", {}).get(key)
        if v:
            what = "wall time" if key == "linux-wall" else "kernel clock"
            out.append(f"- {BACKENDS[b]['title']}: Linux boot under lvisor <= 1.3x bare (median, "
                       f"{what}, {len(v['runs'])} run(s)): {ratio(v['median'])}: "
                       f"{'met' if v['median'] <= 1.3 else 'NOT met'}")
    return out


def targets(results):
    """The targets for the exit path, exit-free code and lv6, each with its
    measured median and a verdict."""
    def med(b, key):
        return results[b]["values"][key]["median"]

    def verdict(ok):
        return "met" if ok else "NOT met"

    out = []
    if "vmx" in results:
        c = med("vmx", "lvisor:cpuid")
        out.append(f"- Bochs/VMX: CPUID exit round trip <= 200 ticks: {cycles(c)} "
                   f"({cycles(c - med('vmx', 'lvisor:empty'))} without the loop): "
                   f"{verdict(c <= 200)}")
        c1, c2 = med("vmx", "guest1:cpuid"), med("vmx", "guest2:cpuid")
        o = results["vmx"]["values"]["guests:overlap"]["min"]
        out.append(f"- Bochs/VMX: CPUID exit round trip <= 200 ticks in each of two guests at "
                   f"once: first guest {cycles(c1)}, second guest {cycles(c2)} (their loops "
                   f"overlapped {percent(o)} or more): " +
                   (verdict(c1 <= 200 and c2 <= 200) if o >= 0.9 else
                    "not judged (the loops overlapped less than 90%)"))
    for b, limit in (("vmx", 1.02), ("svm", 1.10)):
        if b in results:
            out.append(f"- {BACKENDS[b]['title']}: exit-free loops <= {limit:.2f}x bare: " +
                       ", ".join(f"{k} {ratio(med(b, k))} {verdict(med(b, k) <= limit)}"
                                 for k in ("loop-reg", "loop-mem")))
    if "svm" in results and med("svm", "loop-mem") > 1.10:
        out.append("  (QEMU's TCG fills two software TLBs on every guest TLB miss under nested "
                   "paging, the guest's and a 4 KiB-granular one for the nested translation: "
                   "README.md, \"Why loop-mem costs 2.6x on QEMU\")")
    for b in ("svm", "vmx"):
        if b in results:
            n = med(b, "lv6:exits")
            out.append(f"- {BACKENDS[b]['title']}: lv6 boot < 100 exits (policy default): "
                       f"{n:.0f}: {verdict(n < 100)}")
    return out


def chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bs = [b for b in BACKENDS if b in results]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    keys = ["lvisor:cpuid", "lvisor:hypercall", "rdtsc:rdtsc", "lvisor:io", "lvisor:msr",
            "lv6-log:syscall"]
    labels = ["CPUID", "hypercall", "RDTSC emul.", "IN", "RDMSR", "syscall logged\n(2 exits)"]
    width = 0.8 / len(bs)
    for i, b in enumerate(bs):
        vals = results[b]["values"]
        med = [vals[k]["median"] for k in keys]
        err = [[vals[k]["median"] - vals[k]["min"] for k in keys],
               [vals[k]["max"] - vals[k]["median"] for k in keys]]
        ax1.bar([x + i * width for x in range(len(keys))], med, width, yerr=err, capsize=3,
                label=BACKENDS[b]["title"])
    ax1.set_yscale("log")
    ax1.set_ylim(bottom=1)
    ax1.set_xticks([x + width * (len(bs) - 1) / 2 for x in range(len(keys))], labels)
    ax1.set_ylabel("TSC cycles per round trip (log)")
    ax1.set_title("VM exit round trips, seen from the guest")
    ax1.legend()
    rkeys = [k for k, _, _, _ in RATIO_ROWS if all(k in results[b]["values"] for b in bs)]
    for i, b in enumerate(bs):
        vals = results[b]["values"]
        med = [vals[k]["median"] for k in rkeys]
        err = [[vals[k]["median"] - vals[k]["min"] for k in rkeys],
               [vals[k]["max"] - vals[k]["median"] for k in rkeys]]
        ax2.bar([x + i * width for x in range(len(rkeys))], med, width, yerr=err, capsize=3,
                label=BACKENDS[b]["title"])
    ax2.axhline(1.0, color="gray", linewidth=0.8)
    ax2.axhline(1.10, color="tab:blue", linestyle=":", linewidth=0.8, label="target QEMU 1.10x")
    ax2.axhline(1.02, color="tab:orange", linestyle=":", linewidth=0.8, label="target Bochs 1.02x")
    if any(k.startswith("linux") for k in rkeys):
        ax2.axhline(1.30, color="tab:red", linestyle=":", linewidth=0.8, label="target Linux 1.30x")
    ax2.set_xticks([x + width * (len(bs) - 1) / 2 for x in range(len(rkeys))], rkeys)
    ax2.set_ylabel("under lvisor / bare")
    ax2.set_title("Overheads")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="the build directory (make's BUILD)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each measurement")
    ap.add_argument("--quick", action="store_true", help="one run, fewer iterations")
    ap.add_argument("--backends", default="svm,vmx", help="svm, vmx or both (default)")
    ap.add_argument("--no-linux", action="store_true", help="leave the Linux boots out")
    ap.add_argument("--linux-bochs-runs", type=int, default=1,
                    help="Linux boots on Bochs (each way; QEMU: --runs)")
    args = ap.parse_args()
    runs = 1 if args.quick else max(1, args.runs)
    with_linux = not (args.quick or args.no_linux)
    if with_linux:
        make("linux-files")     # fetched and built before anything is timed

    results = {}
    for b in args.backends.split(","):
        linux_runs = (max(1, args.linux_bochs_runs) if b == "vmx" else runs) if with_linux else 0
        values, exits, linux_exits = run_backend(b, runs, args.quick, linux_runs, args.build)
        results[b] = {"values": {k: summary(v) for k, v in values.items()},
                      "exits": {r: summary(v) for r, v in exits.items()},
                      "linux_exits": {r: summary(v) for r, v in linux_exits.items()}}
    outdir = os.path.join(ROOT, args.build, "bench")
    os.makedirs(outdir, exist_ok=True)
    md = report(results, runs, args.quick)
    with open(os.path.join(outdir, "bench.md"), "w") as f:
        f.write(md)
    with open(os.path.join(outdir, "bench.json"), "w") as f:
        json.dump({"runs": runs, "quick": args.quick, "results": results}, f, indent=1)
    chart(results, os.path.join(outdir, "bench.png"))
    print(md)
    print(f"bench: wrote {os.path.join(args.build, 'bench')}/bench.md, bench.json and bench.png")


if __name__ == "__main__":
    main()
