"""Each event and action -> the exact control bits and exit-table entries on
both backends. The bit positions and exit codes are written here from the
manuals (SDM Vol. 3C 25.6-25.8 and appendix C; APM Vol. 2 table B-1 and
appendix C), not imported from the generator."""

import pytest

B = lambda n: 1 << n  # noqa: E731

# VMX controls the core always needs (SDM 25.6.2, 25.7.1, 25.8.1).
VMX_CORE_PROC = B(25) | B(28) | B(31)         # use I/O bitmaps, use MSR bitmaps, secondary
VMX_CORE_PROC2 = B(1) | B(3) | B(7)           # EPT, enable RDTSCP, unrestricted guest
VMX_CORE_EXIT = B(2) | B(9) | B(18) | B(19) | B(20) | B(21)   # save debug, host 64-bit, PAT, EFER
VMX_CORE_ENTRY = B(2) | B(14) | B(15)         # load debug, load PAT, load EFER
VMX_CORE_EXITS = {2: "core_triple_fault", 3: "core_init_signal", 10: "core_cpuid", 13: "core_invd",
                  18: "core_hypercall_ud", 28: "core_cr_access", 30: "exit_io",
                  31: "core_msr", 32: "core_msr",
                  33: "core_invalid_state", 34: "core_invalid_state", 41: "core_invalid_state",
                  48: "core_npf", 49: "core_vmm_memory", 55: "core_xsetbv",
                  **{n: "core_virt_instruction" for n in (19, 20, 21, 22, 23, 24, 25, 26, 27,
                                                          50, 53, 59)}}
# SVM: intercept vector 3 (misc1) and 4 (misc2), APM table B-1.
SVM_CORE_MISC1 = B(3) | B(22) | B(26) | B(27) | B(28) | B(31)   # INIT, INVD, INVLPGA, IOIO_PROT, MSR_PROT, SHUTDOWN
SVM_CORE_MISC2 = B(0) | B(2) | B(3) | B(4) | B(5) | B(6)   # VMRUN VMLOAD VMSAVE STGI CLGI SKINIT
SVM_CPUID = B(18)
SVM_CORE_EXITS = {0x76: "core_invd", 0x7a: "core_virt_instruction", 0x7b: "exit_io", 0x7c: "core_msr",
                  0x7f: "core_triple_fault", 0x63: "core_init_signal",
                  0x400: "core_npf",
                  **{n: "core_virt_instruction" for n in (0x80, 0x82, 0x83, 0x84, 0x85, 0x86)}}


def policy(tmp_path, exits):
    p = tmp_path / "p.yaml"
    p.write_text("description: test\nexits:\n" + "".join(f"  {line}\n" for line in exits))
    return str(p)


def table(d, which):
    return {int(k): v for k, v in d[which].items()}


def test_empty_policy_is_exactly_the_core(tmp_path, probe):
    d = probe(policy(tmp_path, [])).dump
    assert d["vmx"] == {"pin_based": 0, "proc_based": VMX_CORE_PROC, "proc_based2": VMX_CORE_PROC2,
                        "exit_controls": VMX_CORE_EXIT, "entry_controls": VMX_CORE_ENTRY,
                        "exception_bitmap": 0, "cr0_guest_host_mask": 0, "cr4_guest_host_mask": 0}
    assert d["svm"] == {"intercept_cr": 0, "intercept_dr": 0, "intercept_exceptions": 0,
                        "intercept_misc1": SVM_CORE_MISC1 | SVM_CPUID, "intercept_misc2": SVM_CORE_MISC2}
    assert table(d, "vmx_exits") == VMX_CORE_EXITS
    assert table(d, "svm_exits") == {**SVM_CORE_EXITS, 0x72: "core_cpuid"}
    # Deny by default: an empty policy grants no port and no MSR.
    assert d["io_grants"] == [] and d["msr_grants"] == []
    assert {r[3] for r in d["vmx_requirements"]} == {"required by the core"}
    assert len(d["vmx_requirements"]) == 15 and d["svm_requirements"] == []


# event rule -> (VMX field, bits, {exit: handler}), (SVM field, bits, {exit: handler})
CASES = {
    "rdtsc: negate": (("proc_based", B(12), {16: "exit_rdtsc", 51: "exit_rdtscp"}),
                      ("intercept_misc1", B(14), {0x6e: "exit_rdtsc"})),
    "rdtsc: unhandled": (("proc_based", B(12), {16: "core_unhandled", 51: "exit_rdtscp"}),
                         ("intercept_misc1", B(14), {0x6e: "core_unhandled"})),
    "rdtscp: {action: constant, value: 5}": (("proc_based", B(12), {51: "exit_rdtscp", 16: "exit_rdtsc"}),
                                             ("intercept_misc2", B(7), {0x87: "exit_rdtscp"})),
    "hlt: emulate": (("proc_based", B(7), {12: "exit_hlt"}), ("intercept_misc1", B(24), {0x78: "exit_hlt"})),
    "pause: emulate": (("proc_based", B(30), {40: "exit_pause"}), ("intercept_misc1", B(23), {0x77: "exit_pause"})),
    "invlpg: unhandled": (("proc_based", B(9), {14: "core_unhandled"}),
                          ("intercept_misc1", B(25), {0x79: "core_unhandled"})),
    "rdpmc: emulate": (("proc_based", B(11), {15: "exit_rdpmc"}), ("intercept_misc1", B(15), {0x6f: "exit_rdpmc"})),
    "wbinvd: ignore": (("proc_based2", B(6), {54: "exit_wbinvd"}), ("intercept_misc2", B(9), {0x89: "exit_wbinvd"})),
    "vmcall: ignore": (("proc_based", 0, {18: "exit_vmcall"}), ("intercept_misc2", B(1), {0x81: "exit_vmcall"})),
    "vmcall: passthrough": (("proc_based", 0, {18: "core_hypercall_ud"}), ("intercept_misc2", 0, {})),
    "vmcall: stats": (("proc_based", 0, {18: "exit_vmcall"}), ("intercept_misc2", B(1), {0x81: "exit_vmcall"})),
    "cpuid: emulate": (("proc_based", 0, {10: "exit_cpuid"}), ("intercept_misc1", B(18), {0x72: "exit_cpuid"})),
    "cpuid: passthrough": (("proc_based", 0, {10: "exit_cpuid"}), ("intercept_misc1", 0, {})),
    "cr3: {read: emulate}": (("proc_based", B(16), {28: "exit_cr"}), ("intercept_cr", B(3), {0x03: "exit_cr"})),
    "cr3: {write: emulate}": (("proc_based", B(15), {28: "exit_cr"}), ("intercept_cr", B(16 + 3), {0x13: "exit_cr"})),
    "cr8: {read: unhandled}": (("proc_based", B(20), {28: "exit_cr"}), ("intercept_cr", B(8), {0x08: "core_unhandled"})),
    "cr8: {write: ignore}": (("proc_based", B(19), {28: "exit_cr"}), ("intercept_cr", B(16 + 8), {0x18: "exit_cr"})),
    "cr0: {write: emulate}": (("cr0_guest_host_mask", (1 << 64) - 1, {28: "exit_cr"}),
                              ("intercept_cr", B(16), {0x10: "exit_cr"})),
    "cr4: {write: ignore}": (("cr4_guest_host_mask", (1 << 64) - 1, {28: "exit_cr"}),
                             ("intercept_cr", B(16 + 4), {0x14: "exit_cr"})),
    "exception: {ud: emulate}": (("exception_bitmap", B(6), {0: "exit_exception"}),
                                 ("intercept_exceptions", B(6), {0x46: "exit_exception"})),
    "exception: {pf: unhandled}": (("exception_bitmap", B(14), {0: "exit_exception"}),
                                   ("intercept_exceptions", B(14), {0x4e: "core_unhandled"})),
    "syscall: log": (("exception_bitmap", B(6), {0: "exit_exception"}),
                     ("intercept_exceptions", B(6), {0x46: "exit_exception"})),
    "syscall: passthrough": (("exception_bitmap", 0, {}), ("intercept_exceptions", 0, {})),
    "io: [{port: 0x80, out: ignore}]": (("proc_based", 0, {30: "exit_io"}),
                                        ("intercept_misc1", 0, {0x7b: "exit_io"})),
    "msr: [{msr: 0x10, read: emulate}]": (("proc_based", 0, {31: "exit_msr", 32: "exit_msr"}),
                                          ("intercept_misc1", 0, {0x7c: "exit_msr"})),
}


@pytest.mark.parametrize("rule", CASES)
def test_event(tmp_path, probe, rule):
    (vf, vbits, vexits), (sf, sbits, sexits) = CASES[rule]
    d = probe(policy(tmp_path, [rule])).dump
    base_vmx = {"proc_based": VMX_CORE_PROC, "proc_based2": VMX_CORE_PROC2}
    base_svm = {"intercept_misc1": SVM_CORE_MISC1, "intercept_misc2": SVM_CORE_MISC2}
    if not rule.startswith("cpuid"):
        base_svm["intercept_misc1"] |= SVM_CPUID
    assert d["vmx"][vf] == base_vmx.get(vf, 0) | vbits
    assert d["svm"][sf] == base_svm.get(sf, 0) | sbits
    # Every other field is untouched.
    for f, v in d["vmx"].items():
        if f != vf:
            assert v == {**base_vmx, "exit_controls": VMX_CORE_EXIT,
                         "entry_controls": VMX_CORE_ENTRY}.get(f, 0), f
    for f, v in d["svm"].items():
        if f != sf:
            assert v == base_svm.get(f, 0), f
    vt, st = table(d, "vmx_exits"), table(d, "svm_exits")
    assert vt == {**VMX_CORE_EXITS, **vexits}
    svm_core = dict(SVM_CORE_EXITS) if rule.startswith("cpuid") else {**SVM_CORE_EXITS, 0x72: "core_cpuid"}
    assert st == {**svm_core, **sexits}


def test_syscall_goes_before_an_exception_ud_rule(tmp_path, probe):
    # On SVM `exception: {ud: unhandled}` alone is core_unhandled in the
    # table; with a syscall rule #UD goes to exit_exception, which tries
    # the syscall rule first (test_handlers.py runs it).
    q = probe(policy(tmp_path, ["syscall: count", "exception: {ud: unhandled}"]))
    assert q.dump["vmx"]["exception_bitmap"] == B(6) and q.dump["svm"]["intercept_exceptions"] == B(6)
    assert table(q.dump, "vmx_exits")[0] == "exit_exception"
    assert table(q.dump, "svm_exits")[0x46] == "exit_exception"
    for backend, code in (("vmx", 0), ("svm", 0x46)):
        assert q.run(backend, code, vector=6, sys=1)["called"] == "act_syscall"
        assert q.run(backend, code, vector=6, sys=0)["called"] == "core_unhandled"


def test_requirements_name_the_rule(tmp_path, probe):
    d = probe(policy(tmp_path, ["rdtsc: negate", "cr3: {write: emulate}", "invlpg: emulate"])).dump
    mine = [r for r in d["vmx_requirements"] if r[3] != "required by the core"]
    where = f"{tmp_path}/p.yaml"
    assert [r[0:3] for r in mine] == [[1, B(12), "CPU_BASED_RDTSC_EXITING"],
                                     [1, B(9), "CPU_BASED_INVLPG_EXITING"],
                                     [1, B(15), "CPU_BASED_CR3_LOAD_EXITING"]]
    assert mine[0][3] == f"{where}:3: rdtsc: negate"
    # SVM: MOV CR and INVLPG have no fixed length; CR needs the register too.
    # CPUID Fn8000_000A EDX: NRIPS bit 3, DecodeAssists bit 7 (APM E.4.9).
    assert [(r[0], r[1], r[3]) for r in d["svm_requirements"]] == [
        (5, B(3), f"{where}:5: invlpg: emulate"),
        (5, B(7), f"{where}:4: cr3 write: emulate"),
        (5, B(3), f"{where}:4: cr3 write: emulate")]


def test_shipped_default(probe):
    d = probe("policies/default.yaml").dump
    assert d["vmx"]["proc_based"] == VMX_CORE_PROC          # rdtsc passes through
    assert table(d, "vmx_exits")[10] == "exit_cpuid"
    assert 16 not in table(d, "vmx_exits") and 0x6e not in table(d, "svm_exits")


def test_rdtsc_unhandled_is_reason_16_and_0x6e(probe):
    d = probe("policies/rdtsc-unhandled.yaml").dump
    assert table(d, "vmx_exits")[16] == "core_unhandled"
    assert table(d, "svm_exits")[0x6e] == "core_unhandled"
    assert d["vmx"]["proc_based"] & B(12) and d["svm"]["intercept_misc1"] & B(14)
