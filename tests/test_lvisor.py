"""lvisor on both backends: AMD SVM under QEMU (software emulation with nested
paging) and Intel VMX under Bochs (broadwell_ult: EPT, unrestricted guest).
lv6, the test kernels, xv6, and the cases where lvisor must stop a guest."""
import re

import pexpect
import pytest

from lvtest import ROOT, assert_lvisor_lived_on, make, plain, require_xv6
from xv6 import diagnose, qmp_extra, rerun_on_xv6_deadlock

# backend -> (make target, what lvisor says it runs on)
BACKENDS = {
    "svm": ("qemu", "lvisor: hardware virtualization: AMD SVM"),
    "vmx": ("bochs", "lvisor: hardware virtualization: Intel VMX"),
}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def lv6(backend):
    return make(BACKENDS[backend][0])


def test_lv6_runs_under_lvisor(lv6, backend):
    assert lv6.status == 0, lv6
    assert BACKENDS[backend][1] in lv6.out, lv6
    assert "hey 481" in lv6.out and "bye 451" in lv6.out, lv6


def test_one_cpu_by_default(lv6):
    # CPUS=1: no second CPU to start, and nothing said about one
    # (tests/test_smp.py boots with CPUS=2).
    assert "CPUs (ACPI MADT)" not in lv6.out and "lvisor: CPU 1 " not in lv6.out, lv6


def test_three_voices(lv6):
    # lvisor's and the firmware's lines carry prefixes and their own colors;
    # the guest's lines come through in the guest's color.
    assert any(l.startswith("lvisor: ") for l in lv6.out.splitlines()), lv6
    assert any(l.startswith("firmware: ") for l in lv6.out.splitlines()), lv6
    assert "\x1b[1;36mlvisor: " in lv6.raw and "\x1b[33mfirmware: " in lv6.raw
    assert "\x1b[32m[" in lv6.raw          # green before lv6's timestamped lines


def test_tsc_calibrated_twice(lv6):
    assert len(lv6.lines("lvisor: tsc: ")) == 1, lv6
    assert len([l for l in lv6.out.splitlines() if "] tsc: " in l]) == 1, lv6


def test_memory_map_reserves_lvisor(lv6):
    assert "0000000010000000-0000000013ffffff reserved (lvisor)" in lv6.out, lv6


@pytest.mark.parametrize("kernel,lines", [
    ("pm32", ["pm32: hello from 32-bit protected mode"]),
    # lm64 also writes EFER without LMA, which must not take it out of long
    # mode, and runs CPUID with REX prefixes: on SVM without nRIP save
    # lvisor finds the length through the guest's 4-level page tables.
    ("lm64", ["lm64: EFER written without LMA: EFER 0x500, still in long mode"] +
     [f"lm64: cpuid {b}: resumed after it, vendor {{vendor}}\n"
      for b in ("48 0f a2", "3e 48 0f a2", "48 3e 0f a2")]),
])
def test_test_kernels(backend, kernel, lines):
    run = make(BACKENDS[backend][0], KERNEL=kernel)
    assert run.status == 0, run
    vendor = {"svm": "AuthenticAMD", "vmx": "GenuineIntel"}[backend]
    for line in lines:
        assert line.format(vendor=vendor) in run.out, run


def test_pae_pdptes_outside_guest_ram_are_gp():
    """VMX loads the PAE PDPTEs for the guest when it turns paging on (CR0.PG
    exits): from guest RAM only. PDPTEs in lvisor's memory, at the local
    APIC or where there is no RAM are #GP for the guest, as from where no
    memory answers; a PDPT in RAM works. (On SVM the CPU loads them itself,
    through the nested page tables.)"""
    run = make("bochs", KERNEL="probe", APPEND="pdpte")
    assert run.status == 0 and "probe: done" in run.out, run
    assert re.search(r"^probe: pae paging with the PDPT at 0x\w+: on and off; "
                     r"prefixed cpuid with it on: resumed after it$", run.out, re.M), run
    for at, what in (("0x10000000", "lvisor's memory"), ("0xfee00000", "the local APIC"),
                     ("0xf0000000", "no RAM")):
        assert f"probe: pdpte at {at} ({what}): #GP\n" in run.out, run


def test_guest_touching_lvisor_memory_is_stopped(backend):
    run = make(BACKENDS[backend][0], KERNEL="vmmtouch")
    assert run.status != 0, run
    assert "vmmtouch: reading VMM memory at 0x10000000" in run.out, run
    assert "lvisor: guest touched VMM memory at GPA 0x10000000" in run.out, run
    assert "lvisor:   rip " in run.out, run                    # the state dump
    assert "vmmtouch: still running" not in run.out, run
    assert_lvisor_lived_on(run)


# What lvisor says when the guest misbehaves (guests/test/misbehave.c), per backend.
MISBEHAVIOUR = {
    "triple": {"svm": "guest triple fault (SHUTDOWN)", "vmx": "guest triple fault (TRIPLE_FAULT)"},
    "nested": {"svm": "guest executed VMRUN: lvisor offers no nested virtualization",
               "vmx": "guest executed VMXON: lvisor offers no nested virtualization"},
    # The HPET's page is read-only: its timers could write memory (FSB delivery).
    "hpet": {b: "guest wrote to the HPET at GPA 0xfed00100, which lvisor keeps: its timers can write memory"
             for b in ("svm", "vmx")},
}


@pytest.mark.parametrize("how", sorted(MISBEHAVIOUR))
def test_misbehaving_guest_is_stopped(backend, how):
    run = make(BACKENDS[backend][0], KERNEL="misbehave", APPEND=how)
    assert run.status != 0, run
    assert "lvisor: " + MISBEHAVIOUR[how][backend] in run.out, run
    assert "lvisor:   rip " in run.out, run                    # the state dump
    assert "lvisor: last " in run.out, run                     # the exit trace
    assert "misbehave: still running" not in run.out, run
    # lvisor itself is unharmed: it prints its statistics and powers off.
    assert_lvisor_lived_on(run)


# (the port, the value the guest writes)
RESETS = {"reset-cf9": (0xCF9, "0x6"), "reset-kbd": (0x64, "0xfe"), "reset-92": (0x92, None)}


# The resets work alike in the core: QEMU checks all three, Bochs two.
@pytest.mark.parametrize("backend,how", [("svm", "reset-cf9"), ("svm", "reset-kbd"),
                                         ("svm", "reset-92"), ("vmx", "reset-cf9"),
                                         ("vmx", "reset-kbd")])
def test_guest_reset_is_reported(backend, how):
    # A reset would restart lvisor's machine in silence: lvisor reports it.
    port, value = RESETS[how]
    run = make(BACKENDS[backend][0], KERNEL="misbehave", APPEND=how)
    assert run.status != 0, run
    assert f"misbehave: resetting the machine through port {port:#x}" in run.out, run
    said = re.search(rf"lvisor: guest resets the machine \(out (0x[0-9a-f]+) to port {port:#x}\)",
                     run.out)
    assert said, run
    if value:
        assert said.group(1) == value, run
    else:                                   # port 0x92: bit 0 set, the rest as read
        assert int(said.group(1), 16) & 1, run
    assert "lvisor:   rip " in run.out, run                    # the state dump
    assert "misbehave: still running" not in run.out, run
    assert_lvisor_lived_on(run)


# A reset through a wider OUT than a byte, or through the keyboard
# controller's output port: what lvisor says (the byte that lands on the
# reset port is the one that counts). Every case on QEMU, two on Bochs:
# the check is the core's, alike on both.
WIDE_RESETS = {
    "reset-92w": r"outw 0x[0-9a-f]+ to port 0x91: 0x[0-9a-f]*[13579bdf] on port 0x92",
    "reset-92l": r"outl 0x[0-9a-f]+ to port 0x92: 0x[0-9a-f]*[13579bdf] on port 0x92",
    "reset-kbdw": r"outw 0xfe00 to port 0x63: 0xfe on port 0x64",
    "reset-cf9w": r"outw 0x600 to port 0xcf8: 0x6 on port 0xcf9",
}


@pytest.mark.parametrize("backend,how", [("svm", h) for h in sorted(WIDE_RESETS) + ["reset-kbd-out"]] +
                         [("vmx", "reset-92w"), ("vmx", "reset-kbd-out")])
def test_wide_or_kbc_reset_is_reported(backend, how):
    run = make(BACKENDS[backend][0], KERNEL="misbehave", APPEND=how)
    assert f"misbehave: resetting the machine with {how}" in run.out, run
    if how == "reset-kbd-out":
        assert ("lvisor: guest resets the machine through the keyboard controller's output port "
                "(command 0xd1, then bit 0 clear) (out 0xfe to port 0x60)") in run.out, run
    else:
        assert re.search(r"lvisor: guest resets the machine \(" + WIDE_RESETS[how] + r"\)$",
                         run.out, re.M), run
    assert "lvisor:   rip " in run.out, run                    # the state dump
    assert "misbehave: still running" not in run.out, run
    assert_lvisor_lived_on(run)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_string_out_to_reset_port_is_refused(backend):
    run = make(BACKENDS[backend][0], KERNEL="misbehave", APPEND="reset-outs")
    assert ("lvisor: guest writes port 0x64 with OUTS: string I/O to the ports that reset, "
            "sleep or power off the machine is refused") in run.out, run
    assert "misbehave: still running" not in run.out, run
    assert_lvisor_lived_on(run)


# ACPI sleep (SLP_TYP 1, S3) through PM1a_CNT: 0x604 on QEMU, 0xb004 on Bochs.
SLEEP_PORT = {"svm": 0x604, "vmx": 0xB004}


@pytest.mark.parametrize("backend,how", [("svm", "sleep"), ("svm", "sleep-byte"),
                                         ("vmx", "sleep")])
def test_sleep_is_reported(backend, how):
    run = make(BACKENDS[backend][0], KERNEL="misbehave", APPEND=how)
    port = SLEEP_PORT[backend]
    said = (f"out 0x24 to port {port + 1:#x}" if how == "sleep-byte"
            else f"outw 0x2400 to port {port:#x}: 0x24 on port {port + 1:#x}")
    assert ("lvisor: guest puts the machine to sleep (ACPI SLP_TYP not S5: it would wake up "
            f"in the BIOS) ({said})") in run.out, run
    assert "lvisor:   rip " in run.out, run
    assert "misbehave: still running" not in run.out, run
    assert_lvisor_lived_on(run)


def test_pci_config_address_passes(backend):
    # A dword at 0xcf8 covers 0xcf9 but is CONFIG_ADDRESS: it must work.
    run = make(BACKENDS[backend][0], KERNEL="misbehave", APPEND="pci")
    assert run.status == 0, run
    assert re.search(r"misbehave: PCI 00:00\.0: vendor 8086 device [0-9a-f]{4}", run.out), run
    assert "lvisor: guest resets" not in run.out, run
    assert_lvisor_lived_on(run, stopped=False)


# A20 off would, on QEMU, cut bit 20 from lvisor's own accesses too: lvisor
# keeps it on, says so, and the guest finds it on.
@pytest.mark.parametrize("backend,how", [("svm", "a20-92"), ("svm", "a20-kbd"), ("vmx", "a20-kbd")])
def test_a20_stays_on(backend, how):
    run = make(BACKENDS[backend][0], KERNEL="misbehave", APPEND=how)
    assert run.status == 0, run
    port = "0x92" if how == "a20-92" else "0x60"
    assert f"lvisor: the guest turns A20 off (port {port}): lvisor keeps it on" in run.out, run
    assert "misbehave: A20 is on" in run.out, run
    assert "lvisor: the guest powers the machine off" in run.out, run
    assert_lvisor_lived_on(run, stopped=False)


# An INIT IPI to itself. On VMX INIT always exits in a guest (SDM 26.2). On
# QEMU the INIT intercept does exit, but QEMU keeps the INIT pending and
# delivers it to the CPU as soon as it runs lvisor, GIF clear or not: so on
# SVM lvisor maps the local APIC's page read-only and checks every write to
# it (vmm/apic.c), and the ICR write that would send the INIT is reported
# and never carried out.
INIT_REPORT = {
    "svm": "lvisor: guest sent an INIT IPI (ICR 0x84500): it would reset the CPU, lvisor with it",
    "vmx": "lvisor: guest sent INIT (INIT_SIGNAL): it would reset the CPU, lvisor with it",
}


def assert_stopped(run, said):
    assert said in run.out, run
    assert "lvisor:   rip " in run.out, run                    # the state dump
    assert "misbehave: still running" not in run.out, run
    assert_lvisor_lived_on(run)


def test_init_is_reported(backend):
    run = make(BACKENDS[backend][0], KERNEL="misbehave", APPEND="init")
    assert "misbehave: sending INIT to itself" in run.out, run
    assert_stopped(run, INIT_REPORT[backend])


# On SVM the ICR write is decoded (vmm/svm/decode.c): gcc's MOV from EAX
# (A3, the init case above), MOV of an immediate (C7); an instruction lvisor
# does not decode (XCHG) is reported and stopped, not guessed at or let
# through; and an IPI to another CPU is refused, as lvisor gives the guest
# one CPU.
@pytest.mark.parametrize("how,said", [
    ("init-imm", INIT_REPORT["svm"]),
    ("init-xchg", "lvisor: guest wrote its local APIC at GPA 0xfee00300 with an instruction "
                  "lvisor does not carry out: not a MOV store (89, C7, A3, 88, C6 or A2)"),
    ("ipi-other", "lvisor: guest sent an IPI to another CPU (ICR 0x40): lvisor gives the guest one CPU"),
    # A store from the page before into the APIC's faults at the page's
    # start: not the APIC's first register, but a straddling access.
    ("apic-straddle", "lvisor: guest wrote its local APIC at GPA 0xfee00000 with an instruction lvisor "
                      "does not carry out: its operand crosses a page boundary: lvisor carries out "
                      "accesses within one page"),
])
def test_apic_writes_checked_svm(how, said):
    run = make("qemu", KERNEL="misbehave", APPEND=how)
    assert run.status != 0, run
    assert_stopped(run, said)
    if how == "apic-straddle":      # the aligned store through a base register went through
        assert "misbehave: wrote the TPR through a base register; now 4 bytes at 0xfedffffe" in run.out, run


def test_guest_nmi_reaches_guest(backend):
    # An NMI the guest sends itself (ICR, delivery mode NMI) goes to its own
    # IDT's vector 2, not to lvisor.
    run = make(BACKENDS[backend][0], KERNEL="misbehave", APPEND="nmi")
    assert run.status == 0, run
    assert "misbehave: NMIs seen by the guest's handler: 1" in run.out, run
    assert_lvisor_lived_on(run, stopped=False)


def test_report_after_guest_broke_the_uart(backend):
    # DLAB on, loopback, 9600 baud, 7 bits, then a triple fault: lvisor
    # programs COM1 afresh before its report, which must come through.
    run = make(BACKENDS[backend][0], KERNEL="misbehave", APPEND="uart")
    assert "misbehave: breaking the UART" in run.out, run
    assert "lvisor: " + MISBEHAVIOUR["triple"][backend] in run.out, run
    assert "lvisor:   rip " in run.out, run
    assert_lvisor_lived_on(run)


def test_not_a_kernel(backend):
    run = make(BACKENDS[backend][0], KERNEL="README.md")
    assert run.status != 0, run
    assert "firmware: README.md: not a multiboot kernel" in run.out, run


def test_empty_kernel(backend, tmp_path):
    # Reported by name at boot, and lvisor powers off rather than hang.
    empty = tmp_path / "empty.elf"
    empty.write_bytes(b"")
    run = make(BACKENDS[backend][0], KERNEL=str(empty), timeout=120)
    assert run.status != 0, run
    assert "lvisor: panic: guest kernel empty.elf is empty" in run.out, run
    assert "lvisor: guest stopped; lvisor powers the machine off" in run.out, run


def test_missing_kernel(backend):
    run = make(BACKENDS[backend][0], KERNEL="missing-kernel", timeout=60)
    assert run.status != 0
    assert "missing-kernel: no such file" in run.out, run
    assert "lvisor: hardware virtualization" not in run.out, run   # no emulator started


def xv6_shell(target, *extra):
    xv6 = require_xv6()
    child = pexpect.spawn("make", ["-s", target, f"KERNEL={xv6}", *extra], cwd=str(ROOT),
                          timeout=180, encoding="utf-8", codec_errors="replace")
    try:
        child.expect(r"init: starting sh\s+\$ ")
    except (pexpect.TIMEOUT, pexpect.EOF):
        child.terminate(force=True)
        pytest.fail(f"xv6 under lvisor ({target}): " + plain(child.before or "")[-3000:])
    return child


@rerun_on_xv6_deadlock
def test_xv6_usertests_svm():
    qmp, extra = qmp_extra("usertests")
    child = xv6_shell("qemu", extra)
    try:
        child.sendline("usertests")
        child.expect("ALL TESTS PASSED", timeout=400)
    except (pexpect.TIMEOUT, pexpect.EOF):
        pytest.fail("xv6 usertests under lvisor: " + plain(child.before or "")[-3000:] + "\n" +
                    diagnose(qmp, require_xv6(), "", ["first"]))
    finally:
        child.terminate(force=True)


def test_xv6_shell_vmx():
    # xv6 leaves the UART's receive interrupts off on Bochs (MCR.OUT2), so
    # there is no typing into it there: reaching the shell is the test.
    xv6_shell("bochs").terminate(force=True)
