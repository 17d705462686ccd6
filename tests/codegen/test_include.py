"""Include merging: the including file wins rule by rule; io/msr ranges of
the including file take precedence port by port."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "codegen"))

import model  # noqa: E402


def write(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def test_child_rule_wins(tmp_path):
    write(tmp_path, "base.yaml", "description: b\nexits:\n  rdtsc: negate\n  hlt: emulate\n")
    p = model.load_policy(write(tmp_path, "c.yaml",
                                "description: c\ninclude: base\nexits:\n  rdtsc: emulate\n"))
    assert p.rule("rdtsc").action == "emulate" and p.rule("rdtsc").src.file.endswith("c.yaml")
    assert p.rule("hlt").action == "emulate" and p.rule("hlt").src.file.endswith("base.yaml")
    assert p.description == "c" and p.name == "c"
    # Neither says which devices the guest owns as the second guest: the
    # shipped default policy's devices, which make must watch too.
    assert [os.path.basename(f) for f in p.files] == ["c.yaml", "base.yaml", "default.yaml"]
    assert [d.name for d in p.devices] == ["COM1", "COM2", "VGA cursor"]


def test_nested_cr_and_exception_keys_merge(tmp_path):
    write(tmp_path, "base.yaml", "description: b\nexits:\n  cr3: {read: emulate, write: ignore}\n"
                                 "  exception: {ud: emulate}\n")
    p = model.load_policy(write(tmp_path, "c.yaml", "description: c\ninclude: base.yaml\nexits:\n"
                                "  cr3: {write: emulate}\n  exception: {bp: emulate}\n"))
    assert p.rule(("cr3", "read")).action == "emulate"
    assert p.rule(("cr3", "write")).action == "emulate"
    assert p.rule(("exception", "ud")) and p.rule(("exception", "bp"))


def test_io_ranges_child_first(tmp_path):
    write(tmp_path, "base.yaml", "description: b\nexits:\n  io:\n"
                                 "    - {port: [0x70, 0x7f], in: emulate, out: emulate}\n")
    p = model.load_policy(write(tmp_path, "c.yaml", "description: c\ninclude: base\nexits:\n  io:\n"
                                "    - {port: 0x74, in: passthrough}\n"
                                "    - {port: [0x78, 0x80], in: {action: constant, value: 1}}\n"))
    got = [(a, b, d, r.action) for a, b, d, r in p.io_entries()]
    assert got == [(0x70, 0x73, "in", "emulate"), (0x70, 0x7F, "out", "emulate"),
                   (0x74, 0x74, "in", "passthrough"),
                   (0x75, 0x77, "in", "emulate"), (0x78, 0x80, "in", "constant")]


def test_msr_range_merge_adjacent(tmp_path):
    p = model.load_policy(write(tmp_path, "p.yaml", "description: p\nexits:\n  msr:\n"
                                "    - {msr: [0x10, 0x1a], read: emulate, write: ignore}\n"))
    got = [(a, b, d) for a, b, d, r in p.msr_entries()]
    assert got == [(0x10, 0x1A, "read"), (0x10, 0x1A, "write")]


# ---- where `include:` looks: beside the including file, then policies/ ---------

from conftest import lvpolicy  # noqa: E402


def test_include_shipped_by_name_from_anywhere(tmp_path):
    """A policy outside policies/ includes a shipped one by its name; the C
    cites the shipped file as policies/x.yaml, with no relative path."""
    pol = write(tmp_path, "mine.yaml", "description: m\ninclude: default\nexits:\n  rdtsc: negate\n")
    r = lvpolicy("generate", pol, str(tmp_path / "gen"), "--depfile", str(tmp_path / "p.d"))
    assert r.returncode == 0, r.stderr
    c = (tmp_path / "gen" / "policy_actions.c").read_text()
    assert f"/* {pol}:4: rdtsc: negate */" in c
    assert '"policies/default.yaml:' in c and "/* policies/default.yaml:" in c
    assert "../" not in c
    # Nothing named default.yaml beside mine.yaml yet: make must look again
    # when that directory changes.
    deps = (tmp_path / "p.d").read_text()
    assert "policies/default.yaml" in deps and f"\n{tmp_path}:\n" in deps


def test_include_beside_the_file_first(tmp_path):
    write(tmp_path, "default.yaml", "description: my own default\nexits:\n  hlt: emulate\n")
    p = model.load_policy(write(tmp_path, "c.yaml", "description: c\ninclude: default\n"))
    assert p.rule("hlt").src.file == str(tmp_path / "default.yaml")
    assert p.files == [str(tmp_path / "c.yaml"), str(tmp_path / "default.yaml"),
                       os.path.join(model.shown(model.SHIPPED_DIR), "default.yaml")]
    assert p.dirs == []


def test_own_copy_named_like_a_shipped_one_includes_the_shipped_one(tmp_path):
    """students/default.yaml with `include: default` means policies/default.yaml,
    not an include cycle."""
    p = model.load_policy(write(tmp_path, "default.yaml",
                                "description: mine\ninclude: default\nexits:\n  rdtsc: negate\n"))
    shipped = os.path.join(model.SHIPPED_DIR, "default.yaml")
    assert [os.path.realpath(f) for f in p.files] == [str(tmp_path / "default.yaml"), shipped]
    assert p.rule("cpuid").src.file == model.shown(shipped)


def test_include_not_found_says_where_it_looked(tmp_path):
    pol = write(tmp_path, "c.yaml", "description: c\ninclude: nothere\n")
    r = lvpolicy("generate", pol, str(tmp_path / "gen"))
    assert r.returncode == 1
    assert r.stderr.strip() == (f"{pol}:2:10: included policy nothere not found "
                                f"(looked in {tmp_path}/nothere.yaml, policies/nothere.yaml)")
    assert not (tmp_path / "gen").exists()
