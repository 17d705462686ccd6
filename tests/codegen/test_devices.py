"""The devices: section: what the guest owns as the second guest, as the
generated C carries it (devices[] in policy_actions.c, one entry per
device, each citing its line). Errors are in tests/codegen/bad/devices-*."""
from conftest import generate

POLICY = """description: devices
include: default
devices:
  - device: COM2
    ports: [0x2f8, 0x2ff]
  - device: its COM3
    ports: [0x3e8, 0x3ef]
    machine_ports: [0x2e8, 0x2ef]
    irq: 4
    machine_irq: 5
  - {device: cursor, emulate: vga-cursor}
"""


def test_devices_in_the_generated_c(tmp_path):
    pol = tmp_path / "d.yaml"
    pol.write_text(POLICY)
    c = generate(str(pol), tmp_path / "gen")["policy_actions.c"]
    table = c[c.index("static const struct policy_device devices[] = {"):]
    table = table[:table.index("};")]
    entries = [l.strip() for l in table.splitlines() if l.strip().startswith("{ ")]
    # The including file's section replaces default.yaml's whole.
    assert entries == [
        f'{{ "COM2", DEVICE_PORTS, 0x2f8, 0x2ff, 0x2f8, -1, -1, "{pol}:4" }},',
        f'{{ "its COM3", DEVICE_PORTS, 0x3e8, 0x3ef, 0x2e8, 4, 5, "{pol}:6" }},',
        f'{{ "cursor", DEVICE_VGA_CURSOR, 0x3d4, 0x3d5, 0x3d4, -1, -1, "{pol}:11" }},',
    ], table
    assert (f"/* {pol}:6: its COM3: ports 0x3e8-0x3ef, the machine's 0x2e8-0x2ef (each access "
            f"exits), ISA IRQ 4, the machine's IRQ 5 */") in table
    assert ".devices = devices," in generate(str(pol), tmp_path / "gen2")["policy.c"]


def test_a_policy_without_devices_gets_the_defaults(tmp_path):
    pol = tmp_path / "bare.yaml"
    pol.write_text("description: bare\nexits:\n  rdtsc: negate\n")
    c = generate(str(pol), tmp_path / "gen")["policy_actions.c"]
    assert '{ "COM1", DEVICE_PORTS, 0x3f8, 0x3ff, 0x2f8, 4, 3, "policies/default.yaml:' in c
    assert '{ "VGA cursor", DEVICE_VGA_CURSOR, 0x3d4, 0x3d5, 0x3d4, -1, -1, "policies/default.yaml:' in c
