"""Bad input gets a clear error, before any emulator starts."""
from lvtest import make


def test_missing_kernel_qemu_kernel():
    run = make("qemu-kernel", KERNEL="no/such/kernel", timeout=60)
    assert run.status != 0
    assert "KERNEL=no/such/kernel: no/such/kernel: no such file" in run.out, run
    assert "SeaBIOS" not in run.out, run                      # QEMU never started


def test_policy_c_code_error_names_the_policy_line(tmp_path):
    """A mistake in a policy's own C (action: c) stops the build of lvisor
    with gcc's error at the policy's file, line and column (#line), and the
    policy's line quoted."""
    policy = tmp_path / "tsc-typo.yaml"
    policy.write_text("description: x100, with a ';' missing\n"
                      "include: tsc-scale100\n"
                      "exits:\n"
                      "  rdtsc:\n"
                      "    action: c\n"
                      "    code: |\n"
                      "      val = tsc * 100\n")          # line 7, ends at column 21
    run = make("all", POLICY=str(policy), timeout=120)
    assert run.status != 0, run
    assert f"{policy}:7:22: error: expected" in run.out, run
    assert "    7 |       val = tsc * 100\n" in run.out, run
