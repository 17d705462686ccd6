"""The `syscall` event (vmm/syscall.c) on lv6: SYSCALL and SYSRET never
exit, so under a `syscall` rule the CPU's EFER.SCE is kept 0, both raise #UD,
which exits, and lvisor carries them out. lv6 must not notice (its output is
the same as under `default`), while lvisor logs (policies/syscall-log.yaml),
counts or stops on its three system calls: hey 481, bye 451 and exit 0
(guests/lv6/user.S: number in EAX, argument in EDI). On AMD SVM (QEMU) and
Intel VMX (Bochs) for the shipped policy; the test policies on QEMU."""
import io
import re
import subprocess

import pexpect
import pytest

from lvtest import ROOT, assert_lvisor_lived_on, make, plain, require_xv6
from xv6 import diagnose, qmp_extra, rerun_on_xv6_deadlock
from test_policies import BOTH, SVM, backend, boot, rule_at  # noqa: F401 (backend: the fixture)

LV6_LINE = re.compile(r"\[\s*\d+\.\d{6}\] (.*)")
# lv6's system calls: (number, RDI).
LV6_CALLS = [(0, 481), (1, 451), (2, 0)]
HEX = "0x[0-9a-f]+"


def lv6_lines(run):
    """What lv6 printed, without its timestamps, and without the TSC
    frequency it measured, which on QEMU follows the host's load."""
    return [re.sub(r"^tsc: [\d.]+ MHz", "tsc: N MHz", m.group(1))
            for m in map(LV6_LINE.match, run.out.splitlines()) if m]


def lv6_syscall_rips():
    """The addresses of the SYSCALL instructions (0f 05) of lv6's user space,
    user_start in user.S (not user_bench's, which runs with `bench` only)."""
    r = subprocess.run(["objdump", "-d", str(ROOT / "build/guests/lv6.elf")],
                       capture_output=True, text=True, check=True)
    code = re.search(r"^[0-9a-f]+ <user_start>:\n(.*?)(?:^[0-9a-f]+ <|\Z)", r.stdout,
                     re.M | re.S)
    assert code, r.stdout
    return re.findall(r"^\s*([0-9a-f]+):\s+0f 05\s+syscall\s*$", code.group(1), re.M)


def ud_exits(run):
    """How many #UD exits lvisor's statistics count (SVM 0x046, VMX reason 0)."""
    m = re.search(r"^lvisor:\s+(?:0x046 EXCP6|0 EXCEPTION_NMI)\s+(\d+)\s", run.out, re.M)
    return int(m.group(1)) if m else 0


@BOTH
def test_syscall_log_lv6(backend):
    run = boot(backend["target"], "syscall-log")
    default = boot(backend["target"])
    assert run.status == 0 and default.status == 0, run
    # lv6 sees no difference.
    assert lv6_lines(run) == lv6_lines(default) and "bye 451" in lv6_lines(run), run
    rule = rule_at("policies/syscall-log.yaml", "exits:", "syscall: log")
    logged = re.findall(rf"^lvisor: {rule}: syscall: log: rip 0x([0-9a-f]+): syscall (\d+) "
                        rf"\(rdi ({HEX}), rsi {HEX}, rdx {HEX}, r10 {HEX}, r8 {HEX}, r9 {HEX}\)$",
                        run.out, re.M)
    assert [(int(n), int(rdi, 16)) for _, n, rdi in logged] == LV6_CALLS, run
    # At the RIPs of user.S's three SYSCALLs, each logged before what it prints.
    rips = lv6_syscall_rips()
    assert len(rips) == 3 and [rip for rip, _, _ in logged] == rips, (rips, run)
    out = run.out
    assert out.index("syscall 0 (") < out.index("hey 481") < out.index("syscall 1 (") < \
        out.index("bye 451") < out.index("syscall 2 (") < out.index("user space exited"), run
    # Two exits per system call: three SYSCALLs, and three SYSRETs (the
    # first enters user space); no #UD exit without the rule.
    assert ud_exits(run) == 6 and ud_exits(default) == 0, run


@SVM
def test_syscall_count(backend):
    policy = "tests/policies/syscall-count.yaml"
    run = boot(backend["target"], policy)
    assert run.status == 0, run
    assert lv6_lines(run) == lv6_lines(boot(backend["target"])), run
    rule = rule_at(policy, "exits:", "syscall: count")
    table = run.out.split(f"lvisor: {rule}: syscall: count: 3 system calls\n")
    assert len(table) == 2, run
    assert table[1].splitlines()[:4] == ["lvisor:       0          1", "lvisor:       1          1",
                                         "lvisor:       2          1", "lvisor: image intact"], run


@SVM
def test_syscall_count_two_guests_apart(backend):
    # Two lv6 without POLICY2 share the generated `policy` and its count
    # table: each guest's statistics show its own three system calls.
    policy = "tests/policies/syscall-count.yaml"
    run = make(backend["target"], POLICY=policy, KERNEL2="lv6")
    assert run.status == 0 and "second guest: exit statistics" in run.out, run
    rule = rule_at(policy, "exits:", "syscall: count")
    tables = re.findall(rf"^lvisor: {rule}: syscall: count: (\d+) system calls\n"
                        r"((?:lvisor:\s+\d+\s+\d+\n)*)", run.out, re.M)
    assert [(n, [l.split()[1:] for l in t.splitlines()]) for n, t in tables] == \
        [("3", [["0", "1"], ["1", "1"], ["2", "1"]])] * 2, run


@SVM
def test_syscall_unhandled_stops_at_the_first(backend):
    policy = "tests/policies/syscall-unhandled.yaml"
    run = boot(backend["target"], policy)
    rule = rule_at(policy, "exits:", "syscall: unhandled")
    # lv6's SYSRET into user space ran; its first SYSCALL stopped it, before `hey 481`.
    assert re.search(rf"^lvisor: unhandled system call 0 \(rdi 0x1e1, rsi {HEX}, rdx {HEX}\) "
                     rf"\({rule}: syscall: unhandled\)$", run.out, re.M), run
    assert "lv6: entering user space" in run.out and "hey 481" not in run.out, run
    assert "lvisor:   rip " in run.out, run        # the guest's state
    assert_lvisor_lived_on(run)


@SVM
def test_other_ud_is_the_guests(backend):
    # The probe guest's VMMCALL without a rule raises #UD on SVM (no
    # intercept). Under syscall-log that #UD exits, is no SYSCALL, and is
    # delivered unchanged: the probe catches it where it did under default,
    # and prints all it printed there (but its RDTSC values).
    def lines(run):
        return [l for l in run.out.splitlines() if l.startswith("probe: ") and "rdtsc" not in l]
    run = boot(backend["target"], "syscall-log", "probe")
    default = boot(backend["target"], "default", "probe")
    assert run.status == 0 and "probe: done" in run.out, run
    assert lines(run) == lines(default), run
    assert re.search(r"^probe: vmmcall at (0x\w+): faulted$", run.out, re.M), run
    assert ud_exits(run) == 1 and ud_exits(default) == 0, run


# lm64 (guests/test/lm64.c) with EFER.SCE set, at CPL 0: its lines after
# the EFER one, on AMD SVM and Intel VMX.
LM64_LINES = {
    "svm": ["lm64: compat-mode syscall: to CSTAR, rcx the next eip"],
    "vmx": ["lm64: compat-mode syscall: vector 6 at it+0, dr6.bs 0"],
}


@BOTH
def test_syscall_edges_lm64(backend):
    # Under syscall-log every #UD exits to lvisor, which must give lm64 what
    # the CPU gives it under default: a #UD for an invalid opcode (06, 66
    # 06) on a page's last bytes before a page not present, which the CPU
    # raises without reading on (lvisor used to stop the guest there);
    # SYSCALL in compatibility mode, which AMD's CPUs run, to CSTAR in
    # 64-bit mode, and Intel's refuse with #UD; the single-step #DB after a
    # SYSCALL with TF set, which follows the TF it leaves (none where FMASK
    # clears TF; at LSTAR, with DR6.BS, where it does not).
    def lines(run):
        out = [l for l in run.out.splitlines() if l.startswith("lm64: ")]
        return out[out.index("lm64: EFER written without LMA: EFER 0x500, still in long mode") + 1:]
    run = boot(backend["target"], "syscall-log", "lm64")
    default = boot(backend["target"], "default", "lm64")
    assert run.status == 0 and default.status == 0, run
    expect = ["lm64: 06 at a page's end: vector 6 at it+0, dr6.bs 0",
              "lm64: 66 06 at a page's end: vector 6 at it+0, dr6.bs 0"] + LM64_LINES[backend["name"]] + [
              "lm64: syscall with TF, FMASK clearing it: no trap",
              "lm64: syscall with TF, FMASK keeping it: vector 1 at it+0, dr6.bs 1"]
    assert lines(run) == expect, run
    # Without lvisor in the way the same, but for Bochs's own SYSCALL, which
    # traps on the TF from before it even where FMASK clears it (as Xen did
    # until XSA-204; the CPUs and QEMU do not).
    if backend["name"] == "vmx":
        expect[3] = "lm64: syscall with TF, FMASK clearing it: vector 1 at it+0, dr6.bs 1"
    assert lines(default) == expect, default
    # Each SYSCALL went through lvisor: two at CPL 0 in 64-bit mode, and on
    # SVM the compatibility-mode one, at its 32-bit address.
    rule = rule_at("policies/syscall-log.yaml", "exits:", "syscall: log")
    logged = re.findall(rf"^lvisor: {rule}: syscall: log: rip ({HEX}): ", run.out, re.M)
    assert len(logged) == (3 if backend["name"] == "svm" else 2), run
    assert "cannot read the instruction" not in run.out, run


@rerun_on_xv6_deadlock
def test_xv6_usertests_under_syscall_log():
    # xv6 makes its system calls with INT 0x40 and never sets EFER.SCE: the
    # #UD intercept costs it nothing, and nothing is logged. It boots to
    # its shell and passes its usertests (QEMU: on Bochs xv6 takes no input).
    xv6 = require_xv6()
    qmp, extra = qmp_extra("syscall-log")
    child = pexpect.spawn("make", ["-s", "qemu", f"KERNEL={xv6}", "POLICY=syscall-log", extra],
                          cwd=str(ROOT), timeout=180, encoding="utf-8", codec_errors="replace")
    child.logfile_read = seen = io.StringIO()
    try:
        child.expect(r"init: starting sh\s+\$ ")
        child.sendline("usertests")
        child.expect("ALL TESTS PASSED", timeout=400)
    except (pexpect.TIMEOUT, pexpect.EOF):
        pytest.fail("xv6 under syscall-log: " + plain(child.before or "")[-3000:] + "\n" +
                    diagnose(qmp, xv6, "", ["first"]))
    finally:
        child.terminate(force=True)
    out = plain(seen.getvalue())
    assert "lvisor: guest kernel: " in out and ": syscall: log: " not in out, out


def test_linux_under_syscall_log():
    # Debian's Linux (guests/linux/) boots to its busybox shell under
    # syscall-log on QEMU, answers a command and powers off: its system
    # calls all went through lvisor, logged (the first ten, then the 16th,
    # 32nd, ...) with numbers that x86-64 Linux has.
    from test_linux import Session
    run = make("linux-files", timeout=900)
    assert run.status == 0, run
    release = (ROOT / "build" / "linux" / "version").read_text().strip()
    s = Session("qemu", 120, POLICY="syscall-log")
    s.child.logfile_read = seen = io.StringIO()
    s(["uname -r"], "Linux under syscall-log (SVM, QEMU)")
    assert s.answers["uname -r"] == release and s.status == 0, s.tail[-2000:]
    out = plain(seen.getvalue())
    rule = rule_at("policies/syscall-log.yaml", "exits:", "syscall: log")
    numbers = [int(n) for n in re.findall(rf"^lvisor: {rule}: syscall: log: rip {HEX}: syscall (\d+) \(",
                                          out, re.M)]
    assert len(numbers) >= 14 and all(n < 512 for n in numbers), out[-4000:]
    assert "quieter from now on]" in out, out[-4000:]
