"""lv6 on its own, without lvisor: the baseline every other run is compared with."""
import re

from lvtest import make, timestamps


def test_lv6_bare_qemu():
    run = make("qemu-kernel")
    assert run.status == 0, run
    assert "hey 481" in run.out and "bye 451" in run.out, run
    assert len(run.lines("[")) >= 5, run                      # every line is timestamped
    assert len([l for l in run.out.splitlines() if "] tsc: " in l]) == 1, run
    assert "lvisor:" not in run.out and "firmware:" not in run.out, run
    hey, = timestamps(run, "hey 481")
    bye, = timestamps(run, "bye 451")
    assert 0 < hey <= bye < 10, run


def test_lv6_bare_bochs():
    run = make("bochs-kernel")
    assert run.status == 0, run
    assert "hey 481" in run.out and "bye 451" in run.out, run
    assert len([l for l in run.out.splitlines() if "] tsc: " in l]) == 1, run
    # Bochs' TSC counts emulated instructions: ips=10000000 makes it 10 MHz.
    mhz, = re.findall(r"\] tsc: ([0-9.]+) MHz", run.out)
    assert 9.9 < float(mhz) < 10.1, run
