"""Bad input gets a clear error, before any emulator starts."""
from lvtest import make


def test_missing_kernel_qemu_kernel():
    run = make("qemu-kernel", KERNEL="no/such/kernel", timeout=60)
    assert run.status != 0
    assert "KERNEL=no/such/kernel: no/such/kernel: no such file" in run.out, run
    assert "SeaBIOS" not in run.out, run                      # QEMU never started
