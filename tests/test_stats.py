"""Exit statistics and the exit trace (vmm/stats.c) on both backends: the
table when a guest powers off (vmm/poweroff.c) or asks for it with a
hypercall (vmcall: stats), exact counts, the trace in a dump; and
`make bench` in its quick mode."""
import json
import re

import pytest

from lvtest import ROOT, make

# backend -> (make target, CPUID's exit code: VMX basic exit reason 10, SVM EXITCODE 0x72)
BACKENDS = {"svm": ("qemu", 0x72), "vmx": ("bochs", 10)}
IO_EXIT = {"svm": 0x7b, "vmx": 30}     # IOIO, IO_INSTRUCTION

HEADER = re.compile(r"^lvisor: exit statistics: (\d+) exits$")
# reason, name, count, cycles, cycles/exit, min ("-": only the exit being handled)
ROW = re.compile(r"^lvisor:\s+(0x[0-9a-f]+|\d+) (\S+)\s+(\d+)\s+(\d+)\s+(\d+|-)\s+(\d+|-)$")
NOTE = ("lvisor:   cycles: TSC ticks from the exit to the next entry. A reason's first exits\n"
        "lvisor:   cost more (cold caches; on QEMU, TCG translating lvisor's code): see min.\n")
TRACE = re.compile(r"^lvisor:\s+(0x[0-9a-f]+|\d+) (\S+)\s+rip ([0-9a-f]{16}) qualification")


def tables(run):
    """Every statistics table printed: [(total, {code: (name, count, cycles,
    cycles/exit, min)})], the last two None for "-"."""
    found, current = [], None
    for line in run.out.splitlines():
        m = HEADER.match(line)
        if m:
            current = {}
            found.append((int(m.group(1)), current))
            continue
        m = ROW.match(line)
        if m and current is not None:
            mean, least = (None if x == "-" else int(x) for x in m.group(5, 6))
            current[int(m.group(1), 0)] = (m.group(2), int(m.group(3)), int(m.group(4)), mean, least)
        elif not line.startswith("lvisor:   reason"):
            current = None
    return found


@pytest.fixture(params=sorted(BACKENDS))
def backend(request):
    return request.param


def test_table_when_lv6_powers_off(backend):
    target, cpuid = BACKENDS[backend]
    run = make(target)
    assert run.status == 0, run
    assert "lvisor: the guest powers the machine off (out 0x10 to port 0xf4)" in run.out, run
    [(total, rows)] = tables(run)
    assert total == sum(count for _, count, *_ in rows.values()), run
    assert rows[cpuid][0] == "CPUID" and rows[cpuid][1] >= 1, run
    assert "bye 451" in run.out
    # lv6's last OUT powers the machine off: counted, but still being
    # handled as the table is printed, so the mean is over the other one.
    name, count, cycles, mean, least = rows[IO_EXIT[backend]]
    assert count == 2 and cycles == mean == least > 0, run


def test_table_at_acpi_poweroff(backend):
    # The bench guest writes SLP_EN to PM1a_CNT at 0x604 (QEMU), then 0xb004 (Bochs).
    target, _ = BACKENDS[backend]
    run = make(target, KERNEL="bench", APPEND="acpi empty")
    assert run.status == 0, run
    assert "lvisor: the guest powers the machine off (out 0x2000 to port 0x604)" in run.out, run
    assert len(tables(run)) == 1, run
    assert "ACPI power-off failed" not in run.out, run


def test_exactly_1000_cpuid(backend):
    target, cpuid = BACKENDS[backend]
    run = make(target, KERNEL="bench", APPEND="cpuid1000")
    assert run.status == 0, run
    assert "bench: cpuid1000: 1000 CPUID done" in run.out, run
    [(_, rows)] = tables(run)
    assert rows[cpuid][:2] == ("CPUID", 1000), run
    _, count, cycles, mean, least = rows[cpuid]
    assert cycles > 0 and mean == cycles // count, run     # cycles from exit to entry
    assert 0 < least <= mean, run              # the cheapest exit, beside the mean
    assert NOTE in run.out, run                # what makes the mean larger, under the table


def test_stats_hypercall(backend, tmp_path):
    target, cpuid = BACKENDS[backend]
    policy = tmp_path / "test-vmcall-stats.yaml"
    policy.write_text(f"description: vmcall prints the statistics\n"
                      f"include: {ROOT}/policies/default\nexits:\n  vmcall: stats\n")
    run = make(target, KERNEL="bench", APPEND="cpuid1000 hypercall", POLICY=policy)
    assert run.status == 0, run
    (_, asked), (_, at_poweroff) = tables(run)
    assert asked[cpuid][1] == 1000 and at_poweroff[cpuid][1] == 1000, run
    hypercall = 18 if backend == "vmx" else 0x81
    assert asked[hypercall][1] == 1, run       # counted at the exit, before its handler runs
    assert asked[hypercall][3:] == (None, None), run       # but not yet timed: "-"
    assert at_poweroff[hypercall][3] == at_poweroff[hypercall][4] > 0, run  # timed once done


def test_exit_trace_in_dump(backend):
    target, _ = BACKENDS[backend]
    run = make(target, POLICY="rdtsc-unhandled")
    assert run.status != 0, run
    assert "lvisor: unhandled VM exit: reason" in run.out, run
    trace = [TRACE.match(l) for l in run.out.splitlines() if TRACE.match(l)]
    n = int(re.search(r"^lvisor: last (\d+) exits, oldest first:$", run.out, re.M).group(1))
    assert 1 <= n <= len(trace), run
    assert trace[-1].group(2) == "RDTSC", run   # the exit that stopped the guest comes last
    assert tables(run), run                     # and the statistics when lvisor stops


# Every figure `make bench` reports, per backend; guest1 and guest2: the
# bench guest as both of lvisor's guests at once, the second on COM2.
BENCH_ROWS = ["lvisor:cpuid", "guest1:cpuid", "guest2:cpuid", "lvisor:hypercall", "rdtsc:rdtsc",
              "lvisor:io", "lvisor:msr", "lvisor:rdtsc", "lvisor:empty", "bare:cpuid", "bare:rdtsc", "bare:io", "bare:msr",
              "loop-reg", "loop-mem", "lv6-boot", "lv6-exits",
              "lv6-log:syscall", "lv6:syscall", "lv6-bare:syscall"]


def test_make_bench_quick():
    run = make("bench", BENCH_QUICK=1, timeout=600)
    assert run.status == 0, run
    cells = {}
    for line in run.out.splitlines():
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(parts) == 4:
            cells[parts[0]] = parts[2:]
    for row in BENCH_ROWS:
        assert row in cells, f"{row} missing from:\n{run.out}"
        for cell in cells[row]:                 # QEMU/SVM, then Bochs/VMX
            assert float(cell.split()[0].rstrip("x")) > 0, f"{row}: {cell}"
    assert "Bochs' TSC counts emulated instructions" in run.out
    assert "## Targets (measured, not asserted)" in run.out
    assert "- Bochs/VMX: CPUID exit round trip <= 200 ticks: " in run.out
    assert "- Bochs/VMX: CPUID exit round trip <= 200 ticks in each of two guests at once: " \
        "first guest " in run.out
    assert not re.search(r"(?i)\bissues?\s*#?\d", run.out), run.out   # targets, not history
    data = json.loads((ROOT / "build" / "bench" / "bench.json").read_text())
    assert data["quick"] and set(data["results"]) == {"svm", "vmx"}
    # The two guests' CPUID loops ran at the same time (each printed its
    # TSC span; Bochs' TSC is one clock for both CPUs).
    assert data["results"]["vmx"]["values"]["guests:overlap"]["min"] > 0, data
    # lv6's system call round trip: two exits under syscall-log, none under
    # default, which on Bochs (instructions) runs exactly as bare.
    for b, values in data["results"].items():
        logged, native = values["values"]["lv6-log:syscall"], values["values"]["lv6:syscall"]
        assert logged["median"] > 10 * native["median"], (b, logged, native)
    vmx = data["results"]["vmx"]["values"]
    assert vmx["lv6:syscall"]["median"] == vmx["lv6-bare:syscall"]["median"], vmx
    assert (ROOT / "build" / "bench" / "bench.png").stat().st_size > 1000

