"""Deny by default: what a guest can do to the machine through devices and
MSRs that could reach lvisor. The probe guest (guests/test/probe.c,
APPEND=devices) tries each and prints what it saw; under lvisor, on both
backends, none of it may take effect. Bare, under QEMU, the same probe
changes the machine each time: the checks below would see it."""
import pytest

from lvtest import assert_lvisor_lived_on, make

TARGETS = {"svm": "qemu", "vmx": "bochs"}


@pytest.fixture(scope="module", params=sorted(TARGETS))
def devices(request):
    return request.param, make(TARGETS[request.param], KERNEL="probe", APPEND="devices")


def probe_lines(run):
    return [l[len("probe: "):] for l in run.lines("probe: ")]


def test_devices_cannot_reach_lvisor(devices):
    backend, run = devices
    assert run.status == 0, run
    lines = probe_lines(run)
    assert lines[-1] == "done", run
    # QEMU's fw_cfg ports are not granted: absent hardware, so no signature
    # and no DMA.
    assert 'fw_cfg signature: "...."' in lines, run
    # PCI: bus mastering stays off, a BAR does not move (sizing still
    # works), a device-specific register keeps its value.
    assert any("bus master set: now" in l and l.endswith("(bus master off)") for l in lines), run
    assert any("moved to 0xe001" in l and l.endswith("(not moved)") for l in lines), run
    assert any("BAR4 sized: 0xfffffff1, put back:" in l and l.endswith("(as before)") for l in lines), run
    assert any("register 0x40" in l and l.endswith("(unchanged)") for l in lines), run
    assert "lvisor: lvisor's PCI filter: " in run.out, run
    # MSRs: the APIC cannot move, the PAT takes only defined types, the
    # MTRRs do not change, the TSC is not granted.
    assert any(l.startswith("wrmsr IA32_APIC_BASE moved to 0x0f000000: faulted; now 0xfee00") for l in lines), run
    assert "wrmsr IA32_APIC_BASE unchanged: ran" in lines, run
    assert any(l.startswith("wrmsr IA32_PAT with type 2: faulted") for l in lines), run
    assert "wrmsr IA32_PAT entry 0 = 1 (WC): ran; reads 0x01" in lines, run
    assert any(l.startswith("wrmsr IA32_MTRR_DEF_TYPE") and l.endswith("(unchanged)") for l in lines), run
    assert "wrmsr IA32_TIME_STAMP_COUNTER 0: faulted" in lines, run
    assert_lvisor_lived_on(run, stopped=False)


def test_devices_bare_do_change_the_machine():
    """The same probes without lvisor: each one works, so the checks above
    test lvisor, not a probe that does nothing."""
    run = make("qemu-kernel", KERNEL="probe", APPEND="devices")
    lines = probe_lines(run)
    assert 'probe: fw_cfg signature: "QEMU"' in run.out, run     # after SeaBIOS' last words
    assert any(l.endswith("(bus master on)") for l in lines), run
    assert any("moved to 0xe001" in l and l.endswith("(moved)") for l in lines), run
    assert any(l.startswith("wrmsr IA32_APIC_BASE moved to 0x0f000000: ran") for l in lines), run
    assert any(l.startswith("wrmsr IA32_MTRR_DEF_TYPE") and l.endswith("(changed)") for l in lines), run


def test_denied_accesses_can_be_logged():
    """`denied: {action: absent, log: true}`: every access to a port or MSR
    that no rule names is printed, and still finds absent hardware."""
    run = make("qemu", POLICY="tests/policies/denied.yaml", KERNEL="probe", APPEND="devices")
    assert run.status == 0, run
    log = [l for l in run.lines("lvisor: tests/policies/denied.yaml:7: denied: absent (log): ")]
    assert any(l.endswith(": out port 0x518 size 4: absent") for l in log), run
    assert any(l.endswith(": wrmsr 0x10: #GP") for l in log), run
    assert 'probe: fw_cfg signature: "...."' in run.out, run
