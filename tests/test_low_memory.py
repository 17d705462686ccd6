"""Conventional memory is the kernel's: the firmware runs, keeps the handoff
and builds the multiboot information in its own area just below 16 MiB
(0xfc0000-0xffffff, reserved in the guest's memory map), so a kernel with a
segment at 0x8000 loads, as under QEMU's -kernel. guests/test/low.c is one:
linked at 0x8000, it prints where its code and data are and a string out of
that data. Bare, under lvisor on both backends, and as the second guest; a
kernel that reaches into the firmware's area is refused by name."""
import re
import struct

import pytest

from lvtest import ROOT, assert_lvisor_lived_on, make
from test_two_guests import assert_first_guest_ended, first_lines, second_end, second_run

# low's line (bare, it follows SeaBIOS's "Booting from ROM.." on the same line):
# code and data below 640 KiB, the string read from its data.
SAID = re.compile(r"low: code at (0x[0-9a-f]{8}), data at (0x[0-9a-f]{8}): "
                  r"hello from conventional memory$", re.M)
FIRMWARE_MAP = "0000000000fc0000-0000000000ffffff reserved (firmware)"


def assert_ran_low(text):
    said = SAID.search(text)
    assert said, text
    code, data = (int(a, 16) for a in said.groups())
    assert 0x8000 <= code < 0xa0000 and 0x8000 <= data < 0xa0000, said.group(0)


def test_bare():
    # The kernel itself is right: QEMU's -kernel loads and runs it.
    run = make("qemu-kernel", KERNEL="low", timeout=120)
    assert run.status == 0, run
    assert_ran_low(run.out)


@pytest.mark.parametrize("target", ["qemu", "bochs"])
def test_under_lvisor(target):
    run = make(target, KERNEL="low")
    assert run.status == 0, run
    assert "lvisor:   " + FIRMWARE_MAP in run.out, run
    assert "lvisor: entering the guest in real mode at CS base 0xfc0000, IP 0" in run.out, run
    assert re.search(r"^firmware: low: segment 0 at 0x00008000-0x0000[0-9a-f]{4} ", run.out, re.M), run
    assert "firmware: low: entering at 0x000080" in run.out, run
    assert "with multiboot information at 0xfe0000" in run.out, run
    assert_ran_low(run.out)
    assert "lvisor: the guest powers the machine off (out 0x10 to port 0xf4)" in run.out, run
    assert_lvisor_lived_on(run, stopped=False)


def test_second_guest():
    # In its own memory, the same layout: low at its guest-physical 0x8000,
    # its firmware at 0xfc0000; lv6 as the first guest.
    run, com2 = second_run("low")
    assert_first_guest_ended(run)
    assert "in real mode at CS base 0xfc0000, IP 0" in run.out, run
    assert re.search(r"^firmware: low: segment 0 at 0x00008000-", com2, re.M), com2
    assert_ran_low(com2)
    lines = first_lines(run.out)
    assert second_end(lines, "powers off (out 0x10 to port 0xf4)") in lines, run


def moved(elf, paddr):
    """low's ELF32 file with its loadable segment moved to paddr (physical
    and virtual address, and the entry point with it)."""
    elf = bytearray(elf)
    entry, phoff = struct.unpack_from("<II", elf, 0x18)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x2a)
    for i in range(phnum):
        at = phoff + i * phentsize
        kind, _, vaddr = struct.unpack_from("<III", elf, at)
        if kind == 1:                                   # PT_LOAD
            struct.pack_into("<II", elf, at + 8, paddr, paddr)
            struct.pack_into("<I", elf, 0x18, entry - vaddr + paddr)
    return bytes(elf)


def test_kernel_over_the_firmware_is_refused(tmp_path):
    assert make("build/guests/low").status == 0
    kernel = tmp_path / "over-firmware"
    kernel.write_bytes(moved((ROOT / "build" / "guests" / "low").read_bytes(), 0xfd0000))
    run = make("qemu", KERNEL=kernel)
    assert run.status != 0, run
    assert re.search(r"^firmware: over-firmware: ELF segment at 0xfd0000-0xfd[0-9a-f]{4} overlaps "
                     r"the firmware and its data \(0xfc0000-0xffffff\)$", run.out, re.M), run
    assert "low: " not in run.out, run
