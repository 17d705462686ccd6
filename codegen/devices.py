"""The `devices:` section: what a guest owns when it is the second guest.

With two guests (KERNEL2), the machine is split: the second guest owns the
devices its policy's `devices:` section lists, and the first guest owns the
rest. (With one guest, the guest owns the machine and the section does
nothing.) Each device is a range of I/O ports where the guest finds it, the
machine's ports behind them (the same, or others: lvisor then carries each
IN and OUT over), and optionally its interrupt: the ISA IRQ the guest finds
it on (its MP table, its I/O APIC pin) and the machine's. Or it is a device
lvisor emulates (`emulate: vga-cursor`).

Everything is checked here, before any C is written, so that a split that
cannot work is a `file:line:col` error, not a surprise at run time: no
device may take the core's ports, lvisor's console (COM1, the first
guest's too), the PIC or the PIT (the first guest's), or the timer's or
the cascade's IRQ; no two devices may share a port or an IRQ; and one
device must be the machine's COM2, where lvisor's firmware and the second
guest's console are.
"""

from dataclasses import dataclass

import core
from errors import PolicyError

MAX_DEVICES = 8                 # POLICY_DEVICES_MAX in vmm/policy.h
COM2 = (0x2F8, 0x2FF)           # the second guest's console: GUEST2_COM in vmm/vmm.h
KEYS = ("device", "ports", "machine_ports", "irq", "machine_irq", "emulate")

# What lvisor emulates: name -> (its ports, what it is).
EMULATED = {
    "vga-cursor": ((0x3D4, 0x3D5), "the VGA CRT controller's index and data registers, "
                                   "with no screen: a text console keeps its cursor there"),
}

# Machine ports no device may take (besides the core's, core.IO): (first, last, why).
# The first guest's interrupt controllers and timer, which the machine has
# one of, and the ISA DMA controllers, which write memory below 16 MiB:
# the first guest's.
FIRST_GUESTS = [
    (0x3F8, 0x3FF, "COM1, lvisor's console and the first guest's"),
    (0x20, 0x21, "the master 8259 PIC, the first guest's"),
    (0x22, 0x23, "the IMCR, which routes the PIC's interrupts: the first guest's"),
    (0xA0, 0xA1, "the slave 8259 PIC, the first guest's"),
    (0x4D0, 0x4D1, "the PICs' edge/level control, the first guest's"),
    (0x40, 0x43, "the 8254 PIT, the first guest's"),
    (0x61, 0x61, "port B (the PIT's speaker gate, NMI status), the first guest's"),
    (0x70, 0x71, "the CMOS and real-time clock, whose index port masks the machine's NMIs: the "
                 "first guest's"),
    (0x00, 0x1F, "the 8237 DMA controller, which writes memory below 16 MiB (the first guest's)"),
    (0x80, 0x8F, "the DMA page registers, which aim DMA at memory below 16 MiB (the first "
                 "guest's)"),
    (0xC0, 0xDF, "the second 8237 DMA controller, which writes memory below 16 MiB (the first "
                 "guest's)"),
]

# Machine IRQs no device may take: irq -> why.
IRQS_KEPT = {
    0: "the PIT's, the first guest's timer",
    1: "the keyboard's: its controller (ports 0x60, 0x64) is the core's and the first guest's",
    2: "the cascade from the slave PIC",
    4: "COM1's, the first guest's console",
    8: "the real-time clock's, the first guest's",
    9: "the ACPI SCI, of the power-management ports the first guest has",
    12: "the mouse's: its controller (ports 0x60, 0x64) is the core's and the first guest's",
}


@dataclass
class Device:
    name: str
    first: int              # its ports, where the guest finds them
    last: int
    machine_first: int      # the machine's ports behind them
    irq: int                # ISA IRQ in the guest's view, -1: none
    machine_irq: int        # the machine's ISA IRQ, -1: none
    emulate: str            # "" or a name in EMULATED
    src: object             # where the entry was written

    @property
    def machine_last(self):
        return self.machine_first + self.last - self.first

    @property
    def kind(self):
        return "DEVICE_VGA_CURSOR" if self.emulate == "vga-cursor" else "DEVICE_PORTS"

    @property
    def remapped(self):
        return not self.emulate and self.machine_first != self.first

    @property
    def comment(self):
        """What the entry does, in words, for the generated C."""
        ports = _ports(self.first, self.last)
        if self.emulate:
            return f"{self.name}: ports {ports}, emulated by lvisor ({self.emulate})"
        text = f"{self.name}: ports {ports}"
        if self.remapped:
            text += f", the machine's {_ports(self.machine_first, self.machine_last)} (each access exits)"
        else:
            text += " (no exit)"
        if self.irq >= 0:
            text += f", ISA IRQ {self.irq}"
            if self.machine_irq != self.irq:
                text += f", the machine's IRQ {self.machine_irq}"
        return text


def _ports(first, last):
    return hex(first) if first == last else f"{hex(first)}-{hex(last)}"


def _overlap(a, b, c, d):
    return a <= d and c <= b


def parse(node, range_, int_, str_, mapping, check_keys):
    """The devices: section (a list of mappings) -> [Device]. The scalar
    checks are model.py's, passed in to keep one spelling of each message."""
    if not isinstance(node.value, list):
        raise PolicyError(node.src, f"devices must be a list of devices, got {node.kind()}")
    out = []
    for item in node.value:
        m = mapping(item, "a device")
        check_keys(item, KEYS, "a device")
        for key in ("device", "ports"):
            if key not in m and not (key == "ports" and "emulate" in m):
                raise PolicyError(item.src, f'a device needs "{key}", e.g. '
                                            f"{{device: COM2, ports: [0x2f8, 0x2ff], irq: 3}}")
        name = str_(m["device"], "device").strip()
        if (not name or len(name) > 31 or not name.isprintable() or not name.isascii() or
                any(c in name for c in '"\\?*')):
            raise PolicyError(m["device"].src, "device must be a name of 1 to 31 printable "
                                               "ASCII characters, without \" \\ ? or *")
        emulate = ""
        if "emulate" in m:
            emulate = str_(m["emulate"], "emulate")
            if emulate not in EMULATED:
                raise PolicyError(m["emulate"].src, f'lvisor emulates no device "{emulate}"; '
                                                    f"it emulates: {', '.join(EMULATED)}")
            for key in ("machine_ports", "irq", "machine_irq"):
                if key in m:
                    raise PolicyError(item.keys[key], f"{key}: an emulated device has no "
                                                      f"machine device behind it")
        want = EMULATED[emulate][0] if emulate else None
        first, last = range_(m["ports"], "ports", 0xFFFF) if "ports" in m else want
        if emulate and (first, last) != want:
            raise PolicyError(m["ports"].src, f"{emulate} is at ports {_ports(*want)}, "
                                              f"where a PC has it")
        mfirst = first
        if "machine_ports" in m:
            mfirst, mlast = range_(m["machine_ports"], "machine_ports", 0xFFFF)
            if mlast - mfirst != last - first:
                raise PolicyError(m["machine_ports"].src,
                                  f"machine_ports {_ports(mfirst, mlast)} must be as many ports "
                                  f"as ports {_ports(first, last)} ({last - first + 1})")
        irq = int_(m["irq"], "irq", 0, 15) if "irq" in m else -1
        if "machine_irq" in m and irq < 0:
            raise PolicyError(item.keys["machine_irq"], 'machine_irq needs "irq", the IRQ '
                                                        "where the guest finds it")
        mirq = int_(m["machine_irq"], "machine_irq", 0, 15) if "machine_irq" in m else irq
        if irq in (0, 2):
            raise PolicyError(m["irq"].src, f"irq {irq}: a guest's ISA IRQ {irq} is "
                                            f"{'the timer' if irq == 0 else 'the cascade'}: "
                                            f"its I/O APIC pin is not the same number")
        if mirq in IRQS_KEPT:
            at = m["machine_irq"] if "machine_irq" in m else m["irq"]
            raise PolicyError(at.src, f"the machine's IRQ {mirq} is {IRQS_KEPT[mirq]}: "
                                      f"the second guest cannot own it")
        dev = Device(name, first, last, mfirst, irq, mirq, emulate, item.src)
        _check_ports(dev, m)
        for other in out:
            _check_pair(dev, other, m)
        out.append(dev)
        if len(out) > MAX_DEVICES:
            raise PolicyError(item.src, f"more than {MAX_DEVICES} devices")
    if not any(not d.remapped and not d.emulate and d.first <= COM2[0] and COM2[1] <= d.last
               for d in out):
        raise PolicyError(node.src, f"no device is the machine's COM2 ({_ports(*COM2)}), the "
                                    f"second guest's console, where its firmware prints, at its "
                                    f"own ports: add "
                                    f"{{device: COM2, ports: [0x2f8, 0x2ff]}}")
    return out


def _where(m, key):
    return (m[key] if key in m else m["ports"] if "ports" in m else m["emulate"]).src


def _check_ports(dev, m):
    """Neither the guest's ports nor the machine's may be the core's (its
    reset, power-off and PCI ports work the same for the second guest);
    the machine's may not be the first guest's own devices, nor reach memory."""
    views = [("ports", dev.first, dev.last)]
    if not dev.emulate:
        views.append(("machine_ports", dev.machine_first, dev.machine_last))
    for key, first, last in views:
        for c in core.IO:
            if _overlap(first, last, c.first, c.last):
                raise PolicyError(_where(m, key), f"{key} {_ports(first, last)} include port "
                                                  f"{_ports(c.first, c.last)}, the core's ({c.why})")
    if dev.emulate:
        return
    a, b = dev.machine_first, dev.machine_last
    for lo, hi, why in FIRST_GUESTS:
        if _overlap(a, b, lo, hi):
            raise PolicyError(_where(m, "machine_ports"),
                              f"the machine's ports {_ports(lo, hi)} are {why}: the second "
                              f"guest cannot own them")
    for lo, hi, name, why in core.IO_REFUSED:
        if _overlap(a, b, lo, hi):
            raise PolicyError(_where(m, "machine_ports"),
                              f"the machine's ports {_ports(lo, hi)} ({name}) may not be "
                              f"granted: {why}")


def _check_pair(dev, other, m):
    if dev.name == other.name:
        raise PolicyError(m["device"].src, f'device "{dev.name}" is already at line {other.src.line}')
    if _overlap(dev.first, dev.last, other.first, other.last):
        raise PolicyError(_where(m, "ports"), f"ports {_ports(dev.first, dev.last)} overlap "
                                              f"{other.name}'s (line {other.src.line})")
    if (not dev.emulate and not other.emulate and
            _overlap(dev.machine_first, dev.machine_last, other.machine_first, other.machine_last)):
        # Two views of one machine device are fine when one is the device
        # at its own ports: COM1's ports over COM2, and COM2's own.
        if dev.remapped == other.remapped:
            raise PolicyError(_where(m, "machine_ports"),
                              f"the machine's ports {_ports(dev.machine_first, dev.machine_last)} "
                              f"are {other.name}'s already (line {other.src.line})")
    if dev.irq >= 0 and dev.irq == other.irq:
        raise PolicyError(m["irq"].src, f"irq {dev.irq} is {other.name}'s already (line {other.src.line})")
    if dev.machine_irq >= 0 and dev.machine_irq == other.machine_irq:
        at = m["machine_irq"] if "machine_irq" in m else m["irq"]
        raise PolicyError(at.src, f"the machine's IRQ {dev.machine_irq} is {other.name}'s already "
                                  f"(line {other.src.line})")
