"""The generated handlers, run: tests/codegen/policies/all-events.yaml linked
with stubs of the core (harness/), each exit called through the table the
way the core's run loop calls it."""

import pytest

ALL = "tests/codegen/policies/all-events.yaml"
U64 = (1 << 64) - 1


@pytest.fixture(scope="module")
def p(probe):
    return probe(ALL)


@pytest.mark.parametrize("backend,code", [("vmx", 16), ("svm", 0x6E)])
def test_rdtsc_offset(p, backend, code):
    r = p.run(backend, code)
    val = (r["rdx"] << 32) | r["rax"]
    assert r["tsc_before"] - 1000 <= val <= r["tsc_after"] - 1000
    assert r["skips"] == 1 and r["ret"] == 0


def test_rdtscp_scale_fraction(p):
    r = p.run("svm", 0x87)
    val = (r["rdx"] << 32) | r["rax"]
    assert r["tsc_before"] * 3 // 2 <= val <= r["tsc_after"] * 3 // 2


def test_cpuid_vendor_leaves_features(p):
    r = p.run("vmx", 10, rax=0)
    assert r["rbx"].to_bytes(4, "little") + r["rdx"].to_bytes(4, "little") + \
        r["rcx"].to_bytes(4, "little") == b"LvisorLvisor"
    r = p.run("svm", 0x72, rax=0x15)
    assert (r["rax"], r["rbx"], r["rcx"], r["rdx"]) == (1, 1000, 2500000, 0)   # tsc_hz 2.5 GHz in kHz
    r = p.run("vmx", 10, rax=0x40000000, rcx=0)
    assert r["rax"] >= 0x40000001 and r["rbx"] & 0xFF == 0xF0
    r = p.run("vmx", 10, rax=1)
    assert r["rcx"] & (1 << 31) and not r["rcx"] & (1 << 5)     # hypervisor set, vmx clear


def test_simple_actions(p):
    assert p.run("vmx", 12)["skips"] == 1                            # hlt: emulate
    r = p.run("vmx", 40)                                              # pause: inject #UD
    assert r["inject"] == [6, 0, 0] and r["skips"] == 0
    assert p.run("vmx", 14)["called"] == "core_unhandled"           # invlpg: unhandled
    r = p.run("svm", 0x6F, rcx=3)                                     # rdpmc: constant
    assert (r["rax"], r["rdx"], r["skips"]) == (0x1234, 0, 1)
    assert p.run("svm", 0x89)["skips"] == 1                          # wbinvd: ignore
    r = p.run("svm", 0x81, rax=7)                                     # vmcall: constant 42, log
    assert r["rax"] == 42 and r["log"] == 1 and "all-events.yaml:21: vmcall" in p.stderr


def test_cr_rules(p):
    r = p.run("vmx", 28, cr__cr=0, cr__write=1, cr__gpr=3, rbx=0x80000011)
    assert r["set_cr"] == [0, 0x80000011] and r["skips"] == 1
    # A value the CPU refuses (the backend says so): #GP, the instruction not skipped.
    r = p.run("vmx", 28, cr__cr=0, cr__write=1, cr__gpr=3, rbx=1 << 32 | 0x11)
    assert r["inject"] == [13, 1, 0] and r["skips"] == 0
    r = p.run("svm", 0x03, cr__cr=3, cr__write=0, cr__gpr=2)
    assert r["rdx"] == 0x5000 and r["skips"] == 1
    assert p.run("vmx", 28, cr__cr=3, cr__write=1, cr__gpr=0)["set_cr"] == [-1, 0]
    r = p.run("vmx", 28, cr__cr=4, cr__write=1, cr__gpr=0)
    assert r["inject"] == [13, 1, 0]
    # Not the policy's: the core's CR handler (VMX: its own CR0/CR4 bits).
    assert p.run("vmx", 28, cr__cr=4, cr__write=0)["called"] == "core_cr_access"
    # No register operand (LMSW/CLTS): stop rather than guess.
    assert p.run("vmx", 28, cr__cr=0, cr__write=1)["called"] == "vcpu_stop"


def test_exceptions(p):
    assert p.run("vmx", 0, vector=6)["inject"] == [13, 1, 3]
    assert p.run("svm", 0x43, vector=3)["inject"] == [3, 0, 0]       # reflected #BP
    assert p.run("vmx", 0, vector=13)["called"] == "core_unhandled"


# act_sys_decode's answers (vmm/actions.h): the #UD's instruction.
SYS_NONE, SYS_CALL, SYS_RET, SYS_STOPPED = range(4)


def test_syscall_first_then_the_ud_rule(p):
    # all-events: `syscall: {action: count, log: true}` and `exception: {ud: inject #GP 3}`.
    assert p.dump["efer_hide"] == 1 and p.dump["syscall_counts"]     # EFER.SCE, bit 0
    for backend, code in (("vmx", 0), ("svm", 0x46)):
        r = p.run(backend, code, vector=6, sys=SYS_CALL, rax=60, rdi=0x1e1)
        assert (r["called"], r["counted"], r["log"], r["inject"][0]) == ("act_syscall", 1, 1, -1)
        assert "all-events.yaml:41: syscall: count (log): rip 0x1000: syscall 60 (rdi 0x1e1, " \
            in p.stderr
        r = p.run(backend, code, vector=6, sys=SYS_RET)
        assert (r["called"], r["counted"], r["log"], r["inject"][0]) == ("act_sysret", 0, 0, -1)
        assert p.run(backend, code, vector=6, sys=SYS_STOPPED)["ret"] == 1     # EXIT_STOP
        # Any other #UD: the `exception ud` rule.
        assert p.run(backend, code, vector=6, sys=SYS_NONE)["inject"] == [13, 1, 3]


def test_syscall_without_ud_rule(tmp_path, probe):
    path = tmp_path / "s.yaml"
    path.write_text("description: t\nexits:\n  syscall: unhandled\n  exception: {bp: emulate}\n")
    q = probe(str(path))
    assert q.dump["efer_hide"] == 1 and not q.dump["syscall_counts"]
    for backend, code in (("vmx", 0), ("svm", 0x46)):
        r = q.run(backend, code, vector=6, sys=SYS_CALL)
        assert r["called"] == "act_syscall_unhandled" and r["ret"] == 1
        assert q.run(backend, code, vector=6, sys=SYS_RET)["called"] == "act_sysret"
        assert q.run(backend, code, vector=6, sys=SYS_NONE)["inject"] == [6, 0, 0]   # the guest's #UD


def test_io(p):
    r = p.run("vmx", 30, io__port=0x6A, io__size=1, io__in=1, rax=0x1234)
    assert r["rax"] == 0x12AB and r["skips"] == 1                     # AL only
    r = p.run("svm", 0x7B, io__port=0x68, io__size=4, io__in=1, rax=U64)
    assert r["rax"] == 0xAB                                           # EAX: upper half cleared
    assert p.run("vmx", 30, io__port=0x80, io__size=1, io__in=0)["skips"] == 1
    assert p.run("vmx", 30, io__port=0x6F, io__size=1, io__in=0)["called"] == "core_unhandled"
    assert p.run("vmx", 30, io__port=0x3F8, io__size=1, io__in=1)["inject"] == [13, 1, 0]


def test_core_poweroff_ports(p):
    # Both directions go to the core: the bitmaps cannot tell IN from OUT.
    for port in (0xF4, 0xF7, 0x604, 0x605, 0x8900, 0xB004, 0xB005):
        for direction in (0, 1):
            r = p.run("vmx", 30, io__port=port, io__size=1, io__in=direction)
            assert r["called"] == "core_poweroff_io", hex(port)
    assert p.run("svm", 0x7B, io__port=0x604, io__size=2, io__in=0)["called"] == "core_poweroff_io"


def test_core_reset_ports(p):
    for port in (0x60, 0x64, 0x92, 0xCF9):
        for direction in (0, 1):
            r = p.run("vmx", 30, io__port=port, io__size=1, io__in=direction)
            assert r["called"] == "core_reset_io", hex(port)
    assert p.run("svm", 0x7B, io__port=0xCF9, io__size=1, io__in=0)["called"] == "core_reset_io"


def test_vmcall_stats(tmp_path, probe):
    path = tmp_path / "stats.yaml"
    path.write_text("description: t\nexits:\n  vmcall: stats\n")
    q = probe(str(path))
    for backend, code in (("vmx", 18), ("svm", 0x81)):
        r = q.run(backend, code, rax=7)
        assert r["called"] == "stats_print" and r["rax"] == 0 and r["skips"] == 1


def test_msr(p):
    r = p.run("vmx", 31, msr__index=0x10)
    assert (r["rdx"], r["rax"]) == (0x1, 0x23456789)
    assert p.run("vmx", 32, msr__index=0x10, msr__write=1)["skips"] == 1
    assert p.run("svm", 0x7C, msr__index=0xC0010002)["inject"] == [13, 1, 0]
    assert p.run("svm", 0x7C, msr__index=0xC0000080)["called"] == "core_msr"   # EFER
    # Not granted and no rule: the core's (which gives #GP).
    assert p.run("vmx", 31, msr__index=0x11)["called"] == "core_msr"
    # Granted, but outside VMX's MSR bitmap: exits there, and is carried out.
    r = p.run("vmx", 31, msr__index=0xC0010010)
    assert (r["rdx"], r["rax"], r["skips"]) == (0x1, 0x23456789, 1)


def test_ports_not_granted_are_absent(p):
    """Deny by default: a port no rule grants, a direction a rule does not
    name, and an access that only straddles a rule's ports find absent
    hardware; any access touching a core port goes to the core."""
    assert p.run("vmx", 30, io__port=0x3F9, io__size=1, io__in=1)["called"] == "core_absent_io"
    assert p.run("svm", 0x7B, io__port=0x70, io__size=1, io__in=0)["called"] == "core_absent_io"
    assert p.run("vmx", 30, io__port=0x80, io__size=2, io__in=0)["called"] == "core_absent_io"
    assert p.run("vmx", 30, io__port=0x63, io__size=2, io__in=0)["called"] == "core_reset_io"
    assert p.run("vmx", 30, io__port=0x90, io__size=4, io__in=0)["called"] == "core_reset_io"
    assert p.run("vmx", 30, io__port=0xCF8, io__size=4, io__in=0)["called"] == "core_pci_io"
    assert p.run("vmx", 30, io__port=0xCFC, io__size=4, io__in=1)["called"] == "core_pci_io"
    assert p.run("svm", 0x7B, io__port=0xCF9, io__size=1, io__in=0)["called"] == "core_reset_io"


def test_bitmap_lists(p):
    """What the backends clear in their I/O and MSR bitmaps, which intercept
    everything else (1 = READ, 2 = WRITE, vmm/policy.h)."""
    d = p.dump
    assert d["io_grants"] == [[0x40, 0x43, f"{ALL}:34"]]
    assert d["msr_grants"] == [[0x174, 0x174, 1, f"{ALL}:39"], [0x174, 0x174, 2, f"{ALL}:39"],
                               [0xC0010010, 0xC0010010, 1, f"{ALL}:40"]]
