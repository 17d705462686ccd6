"""The firmware tables each guest finds with a second guest (KERNEL2,
vmm/mptable.c): the `tables` test kernel (guests/test/tables.c) prints the
CPUs, I/O APIC, BIOS data area words and memory its tables show. The second
guest gets an MP table that lvisor wrote into its own memory (one CPU, APIC
ID 1; the machine's I/O APIC; its COM1 on pin 4; no ACPI) and MEM2 MiB of
RAM; the first guest's MADT and MP table no longer list CPU 1. Without a
second guest, CPUS=2 leaves the tables as they are. Linux as the first guest
sees one CPU and never starts CPU 1."""
import re

import pytest

from lvtest import make
from test_linux import release  # noqa: F401 (the fixture: Linux fetched and built)
from test_two_guests import com2_of, first_lines

# What the second guest's MP table says, on either machine; the I/O APIC's
# ID is the machine's (QEMU 0, Bochs 2), checked against lvisor's line, and
# its version the one its IOAPICVER reads (QEMU's 0x20, Bochs' 0x11).
VERSION = {"qemu": "0x20", "bochs": "0x11"}
SECOND = ["tables: memory: lower 640 KiB, upper 15104 KiB, RAM top 0x10000000",
          "tables: BDA: EBDA segment 0x0000, base memory 640 KiB",
          "tables: MP: floating pointer at 0xf0000, table at 0xf0010, spec 1.4, checksums ok",
          "tables: MP processor: APIC ID 1, enabled, BSP",
          "tables: MP bus 0: ISA   ",
          "tables: MP I/O APIC: ID {id}, version {ver}, address 0xfec00000, enabled",
          "tables: I/O APIC: IOAPICVER version {ver}, 24 pins",
          "tables: MP interrupt: INT bus 0 IRQ 4 -> I/O APIC {id} pin 4",
          "tables: MP local interrupt: ExtINT -> LINT0",
          "tables: MP local interrupt: NMI -> LINT1",
          "tables: MP CPUs: 1 (APIC IDs 1)",
          "tables: ACPI: none"]
GUEST2_LINE = re.compile(r"lvisor: second guest's tables: MP 1\.4 at 0xf0000: 1 CPU \(APIC ID 1\), "
                         r"I/O APIC (\d+) at 0xfec00000, ISA IRQ 4 \(COM1\) on pin 4; no ACPI$")


def tables_run(emulator):
    """`tables` as both guests: the run, the second guest's lines (COM2),
    the first guest's."""
    run, com2 = com2_of(emulator, "default", "tables", KERNEL="tables")
    first = [l for l in first_lines(run.out) if l.startswith("tables: ")]
    second = [l for l in com2.splitlines() if l.startswith("tables: ")]
    return run, second, first


def assert_second_guests_tables(run, second, emulator):
    found = [m for m in map(GUEST2_LINE.match, run.lines("lvisor: second guest's tables")) if m]
    assert len(found) == 1, run
    assert second == [l.format(id=found[0].group(1), ver=VERSION[emulator]) for l in SECOND], second


@pytest.fixture(scope="module")
def qemu_tables():
    return tables_run("qemu")


def test_second_guest_sees_its_own_machine(qemu_tables):
    """One CPU (APIC ID 1), the I/O APIC, 256 MiB (MEM2's default)."""
    run, second, _ = qemu_tables
    assert run.status == 0, run
    assert_second_guests_tables(run, second, "qemu")


def test_first_guest_sees_one_cpu(qemu_tables):
    """The MADT without CPU 1. SeaBIOS's MP table lists one processor per
    package, and QEMU's two CPUs are two cores of one: it has no APIC ID 1
    to take out."""
    run, _, first = qemu_tables
    assert "tables: ACPI MADT CPUs: 1 (APIC IDs 0)" in first, run
    assert "tables: MP CPUs: 1 (APIC IDs 0)" in first, run
    lines = run.lines("lvisor: first guest's tables: ")
    assert len(lines) == 1, run
    assert re.fullmatch(r"lvisor: first guest's tables: ACPI MADT lists 1 CPU \(APIC ID 0\), APIC ID 1 "
                        r"taken out; MP table at 0x[0-9a-f]+: no APIC ID 1 in it", lines[0]), run


def test_two_cpus_without_a_second_guest_keep_their_tables():
    run = make("qemu", KERNEL="tables", CPUS="2")
    assert run.status == 0, run
    assert "tables: ACPI MADT CPUs: 2 (APIC IDs 0, 1)" in run.lines("tables: "), run
    assert not run.lines("lvisor: first guest's tables"), run
    assert not run.lines("lvisor: second guest"), run
    assert "lvisor:   0000000014000000-000000001ffdffff RAM" in run.out, run


@pytest.mark.parametrize("mem2,message", [
    ("800", "lvisor: panic: MEM2=800: no RAM for the second guest at host 0x14000000-0x45ffffff: the machine "
            "needs 1120 MiB or more (QEMU_MEM, BOCHS_MEM), or a smaller MEM2"),
    ("63", "lvisor: panic: MEM2: the second guest's memory must be 64 to 3072 MiB, a multiple of 2 "),
])
def test_mem2_is_checked(mem2, message):
    run = make("qemu", KERNEL2="lv6", MEM2=mem2)
    assert run.status != 0, run
    assert [l for l in run.lines("lvisor: panic: ") if l.startswith(message)], run
    assert not run.lines("lvisor: entering the guest"), run


def test_bochs_tables():
    """On Bochs (VMX): its I/O APIC has ID 2; its BIOS's MP table, in the
    read-only F-segment, lists both CPUs: lvisor takes CPU 1 out through
    the i440FX's PAM register."""
    run, second, first = tables_run("bochs")
    assert run.status == 0, run
    assert_second_guests_tables(run, second, "bochs")
    assert "tables: ACPI MADT CPUs: 1 (APIC IDs 0)" in first, run
    assert "tables: MP CPUs: 1 (APIC IDs 0)" in first, run
    assert "tables: MP processor: APIC ID 0, enabled, BSP" in first, run
    lines = run.lines("lvisor: first guest's tables: ")
    assert len(lines) == 1, run
    assert re.fullmatch(r"lvisor: first guest's tables: ACPI MADT lists 1 CPU \(APIC ID 0\), APIC ID 1 "
                        r"taken out; MP table at 0x[0-9a-f]+ \(read-only BIOS memory, written through "
                        r"the i440FX's PAM\): APIC ID 1 taken out", lines[0]), run


def test_linux_as_the_first_guest_sees_one_cpu(release):
    """Linux (ACPI) as the first guest with lv6 as the second: its MADT
    lists CPU 0 alone, so it allows no other CPU, not even a hot-pluggable
    one, and never sends CPU 1 an INIT (on SVM lvisor would stop it). Both
    guests end well."""
    from test_linux import Session
    s = Session("qemu", 120, KERNEL2="lv6")(
        ["nproc", "cat /sys/devices/system/cpu/possible", "dmesg | grep -e smpboot: -e 'smp:'"],
        "Linux with a second guest (QEMU)")
    assert s.answers["nproc"] == "1", s.answers
    assert s.answers["cat /sys/devices/system/cpu/possible"] == "0", s.answers
    dmesg = s.answers["dmesg | grep -e smpboot: -e 'smp:'"]
    assert "smpboot: Allowing 1 CPUs, 0 hotplug CPUs" in dmesg, dmesg
    assert "smp: Brought up 1 node, 1 CPU" in dmesg, dmesg
    assert s.status == 0, s.tail
    assert "lvisor: both guests have ended: the first ended well, the second ended well: exit status success" \
        in s.tail, s.tail
