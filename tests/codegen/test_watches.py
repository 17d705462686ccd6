"""The memory: section: watched guest-physical ranges as the generated C
carries them (watches[] in policy_actions.c, each entry citing its line
and the EPT and NPT permissions it takes away; .watches in policy.c).
Errors are in tests/codegen/bad/memory-*."""
import os

from conftest import ROOT, generate


def vga_rule_line():
    """The line of watch-vga.yaml's `write: log`, which its entry cites."""
    with open(os.path.join(ROOT, "policies", "watch-vga.yaml")) as f:
        return next(n for n, line in enumerate(f, 1) if line.strip() == "write: log")

POLICY = """description: memory watches
include: watch-vga
exits:
  memory:
    - range: [0x300000, 0x300fff]
      write: ignore
      read: {action: inject, vector: gp, error_code: 0}
    - {range: [0x400000, 0x401fff], execute: unhandled}
"""


def test_watches_in_the_generated_c(tmp_path):
    pol = tmp_path / "m.yaml"
    pol.write_text(POLICY)
    gen = generate(str(pol), tmp_path / "gen")
    c = gen["policy_actions.c"]
    table = c[c.index("static const struct policy_watch watches[] = {"):]
    table = table[:table.index("};")]
    entries = [l.strip() for l in table.splitlines() if l.strip().startswith("{ ")]
    # The including file's rules first (first match wins), then watch-vga's;
    # per range: read, write, execute.
    assert entries == [
        "{ 0x300000, 0x300fff, POLICY_READ, WATCH_INJECT, false, VEC_GP, true, 0,",
        "{ 0x300000, 0x300fff, POLICY_WRITE, WATCH_IGNORE, false, 0, false, 0,",
        "{ 0x400000, 0x401fff, POLICY_EXEC, WATCH_UNHANDLED, false, 0, false, 0,",
        "{ 0xb8000, 0xb8f9f, POLICY_WRITE, WATCH_LOG, false, 0, false, 0,",
    ]
    assert f'"{pol}:6: memory 0x300000-0x300fff write: ignore" }},' in table
    assert f'"policies/watch-vga.yaml:{vga_rule_line()}: memory 0xb8000-0xb8f9f write: log" }},' in table
    # Each entry says what it takes away from its pages, on both backends.
    assert "pages 0x400000-0x401fff: EPT X clear: RW- (SDM 29.3.2, table 29-6);" in table
    assert "NPT NX set, with EFER.NXE (APM 15.25.5)" in table
    assert "pages 0xb8000-0xb8fff: EPT W clear: R-X" in table
    assert "NPT P clear: not present" in table
    assert ".watches = watches," in gen["policy.c"]


def test_no_watches_no_change(tmp_path):
    """A policy without memory: generates no watches[]: its C is as before."""
    gen = generate("policies/default.yaml", tmp_path / "gen")
    assert "watches" not in gen["policy_actions.c"] and "watches" not in gen["policy.c"]
