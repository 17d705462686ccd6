"""Linux as a guest: Debian's stock kernel with a busybox initramfs
(guests/linux/), loaded by the firmware's Linux boot protocol loader
(guests/firmware/linux.c). The same kernel boots bare too, so that a failure
under lvisor points at lvisor and not at the kernel or the test setup.

Each boot is one shell session: the checks below read what it answered."""
import re
import shutil
import subprocess
import time

import pexpect
import pytest

from lvtest import ROOT, make, plain

READY = "lvisor-linux: ready"      # printed by guests/linux/init
VMM_RANGE = "10000000-13ffffff : Reserved"
FIRMWARE_RANGE = "00fc0000-00ffffff : Reserved"


@pytest.fixture(scope="module")
def release():
    """Fetch the kernel and build the initramfs first (the first run downloads
    Debian's package); the kernel's release is what `uname -r` must say."""
    run = make("linux-files", timeout=900)
    assert run.status == 0, run
    return (ROOT / "build" / "linux" / "version").read_text().strip()


class Session:
    """Linux booted by `make TARGET KERNEL=linux`, its shell on the serial
    console driven through pexpect."""

    def __init__(self, target, boot_timeout, **variables):
        args = ["-s", target, "KERNEL=linux"] + [f"{k}={v}" for k, v in variables.items()]
        self.start = time.monotonic()
        self.child = pexpect.spawn("make", args, cwd=str(ROOT), timeout=boot_timeout,
                                   encoding="utf-8", codec_errors="replace")
        self.answers = {}
        self.status = None
        self.boot_seconds = None

    @property
    def out(self):
        return plain(self.child.before or "")

    def boot(self):
        self.child.expect_exact(READY)
        self.boot_seconds = time.monotonic() - self.start
        self.child.expect_exact("# ")
        self.run("dmesg -n 1")      # no more kernel messages between our answers

    def run(self, command, timeout=30):
        """The output of a shell command: between two markers that the shell
        computes, so that the echo of the command line never matches them."""
        self.child.sendline(f"echo @@$((6*6)); {command}; echo @@$((6*7))")
        self.child.expect(r"@@36\r*\n", timeout=timeout)
        self.child.expect(r"@@42\r*\n", timeout=timeout)
        answer = plain(self.child.before).strip("\n")
        self.answers[command] = answer
        return answer

    def poweroff(self, timeout=60):
        self.child.sendline("poweroff")
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.child.close()
        self.status = self.child.exitstatus
        self.tail = self.out

    def __call__(self, commands, on_failure):
        try:
            self.boot()
            for c in commands:
                self.run(c)
            self.poweroff()
        except (pexpect.TIMEOUT, pexpect.EOF) as e:
            pytest.fail(f"{on_failure}: {type(e).__name__} after {time.monotonic() - self.start:.0f} s; "
                        f"output:\n{self.out[-4000:]}")
        finally:
            self.child.terminate(force=True)
        return self


COMMANDS = ["uname -r", "cat /proc/cmdline", "cat /proc/iomem", "grep -w flags /proc/cpuinfo",
            "sleep 5 & jobs", "cat /etc/lvtest"]


@pytest.fixture(scope="module")
def extra_initrd(tmp_path_factory):
    """A second cpio archive for INITRD, after ours: it adds /etc/lvtest."""
    import sys
    sys.path.insert(0, str(ROOT / "guests" / "linux"))
    from mkinitramfs import Cpio
    cpio = Cpio()
    cpio.file("etc/lvtest", b"from the second initrd\n")
    path = tmp_path_factory.mktemp("initrd") / "extra.cpio"
    path.write_bytes(cpio.finish())
    return path


@pytest.fixture(scope="module")
def bare(release):
    return Session("qemu-kernel", 60)(COMMANDS[:-1], "Linux bare under QEMU")


@pytest.fixture(scope="module")
def lvisor(release, extra_initrd):
    ours = ROOT / "build" / "linux" / "initramfs.cpio.gz"
    return Session("qemu", 90, APPEND="lvtest.append=1", INITRD=f"{ours},{extra_initrd}")(
        COMMANDS, "Linux under lvisor (SVM, QEMU)")


@pytest.fixture(params=["bare", "lvisor"])
def linux(request):
    return request.getfixturevalue(request.param)


def test_uname(linux, release):
    assert linux.answers["uname -r"] == release


def test_job_control_on_the_console(linux):
    # cttyhack gave the shell ttyS0 as its terminal: jobs are tracked.
    assert re.search(r"\[1\]\+ +Running +sleep 5", linux.answers["sleep 5 & jobs"]), linux.answers


def test_poweroff_ends_the_run(linux):
    assert linux.status == 0, linux.tail[-2000:]
    assert "reboot: Power down" in linux.tail, linux.tail[-2000:]


def test_boot_time(bare, lvisor):
    # The issue asks for at most 1.3x under lvisor (measured by the benchmark);
    # here only a gross slowdown fails, as machines vary.
    print(f"ready line: bare {bare.boot_seconds:.1f} s, under lvisor {lvisor.boot_seconds:.1f} s")
    assert lvisor.boot_seconds < 3 * bare.boot_seconds + 10


def test_bare_sees_svm(bare):
    # QEMU offers SVM with nested paging (CPUID leaf 0x8000000A): bare Linux
    # sees both, so their absence below is lvisor's doing.
    flags = bare.answers["grep -w flags /proc/cpuinfo"].split()
    assert "svm" in flags and "npt" in flags, flags


def test_lvisor_hides_vmx_and_svm(lvisor):
    flags = lvisor.answers["grep -w flags /proc/cpuinfo"].split()
    assert flags, lvisor.answers
    assert "svm" not in flags and "vmx" not in flags, flags
    assert "npt" not in flags, flags          # SVM's own leaf reads as zeros too
    assert "hypervisor" in flags, flags


def test_lvisor_memory_is_reserved(lvisor, bare):
    assert VMM_RANGE in lvisor.answers["cat /proc/iomem"], lvisor.answers["cat /proc/iomem"]
    assert VMM_RANGE not in bare.answers["cat /proc/iomem"]
    # So is the firmware's area, where boot_params and the command line were.
    assert FIRMWARE_RANGE in lvisor.answers["cat /proc/iomem"], lvisor.answers["cat /proc/iomem"]


def test_append_and_initrd(lvisor):
    # APPEND comes after the default command line (config.def: LINUX_CMDLINE)...
    assert lvisor.answers["cat /proc/cmdline"].endswith(" lvtest.append=1"), lvisor.answers
    assert lvisor.answers["cat /proc/cmdline"].startswith("console=ttyS0"), lvisor.answers
    # ...and INITRD's archives are all unpacked, one after the other.
    assert lvisor.answers["cat /etc/lvtest"] == "from the second initrd", lvisor.answers


# --- What the firmware refuses to boot -----------------------------------

@pytest.fixture(scope="module")
def bzimage(release):
    return (ROOT / "build" / "linux" / "vmlinuz").read_bytes()


@pytest.mark.parametrize("name,change,message", [
    ("truncated", lambda b: b[:1 << 20],
     "truncated: the header says the kernel ends at byte"),
    ("too-old", lambda b: b[:0x206] + bytes([0x09, 0x02]) + b[0x208:],
     "Linux boot protocol 2.09 is too old: this firmware needs 2.10 or later"),
    ("no-boot-flag", lambda b: b[:0x1fe] + b"\0\0" + b[0x200:],
     "not a Linux kernel: boot_flag at 0x1fe is 0x0000"),
])
def test_firmware_refuses(tmp_path, bzimage, name, change, message):
    path = tmp_path / name
    path.write_bytes(change(bzimage))
    run = make("qemu", KERNEL=path, timeout=120)
    assert f"firmware: {name}: {message}" in run.out, run
    assert "Linux version" not in run.out, run


def test_not_a_kernel_names_both_formats():
    run = make("qemu", KERNEL="README.md", timeout=120)
    assert "not a multiboot kernel" in run.out and "nor a Linux bzImage" in run.out, run


# --- Bochs: Intel VMX ----------------------------------------------------

def bochs_available():
    return subprocess.run(["make", "-n", "bochs"], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0 and shutil.which("bochs")


def test_bochs_vmx(release):
    """One boot under Bochs (VMX): slow (the emulator runs about 150 s to a
    shell bare), so everything is checked in that one session."""
    if not bochs_available():
        pytest.skip("Bochs targets not yet available")
    s = Session("bochs", 900, APPEND="lvtest.append=1")(
        ["uname -r", "grep -w flags /proc/cpuinfo", "cat /proc/iomem"],
        "Linux under lvisor (VMX, Bochs)")
    assert s.answers["uname -r"] == release
    flags = s.answers["grep -w flags /proc/cpuinfo"].split()
    assert flags and "vmx" not in flags and "svm" not in flags, flags
    assert VMM_RANGE in s.answers["cat /proc/iomem"], s.answers
    assert s.status == 0, s.tail[-2000:]
