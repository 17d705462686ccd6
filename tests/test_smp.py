"""A second CPU (CPUS=2): lvisor finds it in the ACPI MADT, starts it with
INIT-SIPI-SIPI through its real-mode trampoline (vmm/smp.c,
boot/trampoline.S), and the AP prints one line and parks; the guest runs on
the boot CPU exactly as with one. One boot per backend. That the default
(one CPU) prints no such line is checked on test_lvisor.py's lv6 boots."""
import re

import pytest

from lvtest import assert_lvisor_lived_on, make

BACKENDS = {"svm": "qemu", "vmx": "bochs"}
BSP_LINE = re.compile(r"lvisor: 2 CPUs \(ACPI MADT\); this one's APIC ID is (\d+): "
                      r"starting CPU 1 \(APIC ID (\d+)\) at 0x6000 with INIT-SIPI-SIPI$")
AP_LINE = re.compile(r"lvisor: CPU 1 started \(APIC ID (\d+)\)$")
# lv6's own lines, without their timestamps: the same as with one CPU.
LV6 = ["lv6: hello", "lv6: entering user space", "hey 481", "bye 451",
       "lv6: user space exited with 0, shutting down"]


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def two_cpus(request):
    return make(BACKENDS[request.param], CPUS=2)


def test_second_cpu_started(two_cpus):
    run = two_cpus
    bsp = [m for m in map(BSP_LINE.match, run.lines("lvisor: ")) if m]
    ap = [m for m in map(AP_LINE.match, run.lines("lvisor: ")) if m]
    assert len(bsp) == 1 and len(ap) == 1, run
    # The MADT's ID for the AP is the one its own local APIC reports, and
    # not the boot CPU's.
    assert ap[0].group(1) == bsp[0].group(2) != bsp[0].group(1), run
    # The boot CPU waits for the AP's line before it goes on to the guest.
    lines = run.out.splitlines()
    assert (lines.index(ap[0].group(0)) <
            lines.index("lvisor: entering the guest in real mode at CS base 0xfc0000, IP 0")), run


def test_guest_runs_as_with_one_cpu(two_cpus):
    run = two_cpus
    assert run.status == 0, run
    said = [re.sub(r"^\[\s*\d+\.\d{6}\] ", "", l) for l in run.out.splitlines()
            if re.match(r"\[\s*\d+\.\d{6}\] ", l)]
    assert [l for l in said if not l.startswith("tsc: ")] == LV6, run
    assert "lvisor: the guest powers the machine off (out 0x10 to port 0xf4)" in run.out, run
    assert_lvisor_lived_on(run, stopped=False)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_guest_nmi_to_all_leaves_the_parked_cpu_alone(backend):
    """The guest's NMI to all CPUs (misbehave `nmi`: ICR shorthand "all
    including self") reaches the parked CPU too, in lvisor's NMI handler:
    it counts it and leaves the boot CPU's guest alone, which gets its own
    NMI once, and the run ends as with one CPU."""
    run = make(BACKENDS[backend], CPUS=2, KERNEL="misbehave", APPEND="nmi")
    assert run.status == 0, run
    assert len([m for m in map(AP_LINE.match, run.lines("lvisor: ")) if m]) == 1, run
    assert "misbehave: NMIs seen by the guest's handler: 1" in run.out, run
    assert_lvisor_lived_on(run, stopped=False)
