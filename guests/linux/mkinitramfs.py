#!/usr/bin/python3
"""Write the Linux guest's initramfs: a gzip-compressed cpio archive in the
"newc" format, the one Linux unpacks into its first root file system
(Documentation/driver-api/early-userspace/buffer-format.rst).

    mkinitramfs.py OUT BUSYBOX INIT INITTAB

The archive holds busybox (statically linked, so nothing else is needed),
/bin/sh as a link to it, the /init script, busybox init's /etc/inittab, the
directories they mount on, and /dev/console, which the kernel opens as
init's standard input and output before any /dev is mounted. Every file
belongs to root and has time 0, so the same inputs give the same archive.
"""
import gzip
import stat
import sys

# newc: each entry is a 110-byte ASCII header, "070701" then 13 fields of 8
# hex digits, then the NUL-terminated name, padded to a multiple of 4 bytes,
# then the data, padded to a multiple of 4. The archive ends with an entry
# named "TRAILER!!!".
FIELDS = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
          "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check")


def pad4(data):
    return data + b"\0" * (-len(data) % 4)


class Cpio:
    def __init__(self):
        self.out = bytearray()
        self.ino = 0

    def entry(self, name, mode, data=b"", rdev=(0, 0), nlink=1):
        self.ino += 1
        fields = dict.fromkeys(FIELDS, 0)
        fields.update(ino=self.ino, mode=mode, nlink=nlink, filesize=len(data),
                      rdevmajor=rdev[0], rdevminor=rdev[1], namesize=len(name) + 1)
        header = "070701" + "".join("%08x" % fields[f] for f in FIELDS)
        self.out += pad4(header.encode() + name.encode() + b"\0")
        self.out += pad4(data)

    def directory(self, name):
        self.entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name, data, perm=0o644):
        self.entry(name, stat.S_IFREG | perm, data)

    def symlink(self, name, target):
        self.entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor):
        self.entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self):
        self.entry("TRAILER!!!", 0)
        return bytes(self.out)


def main(out, busybox, init, inittab):
    cpio = Cpio()
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys",
              "tmp", "root"):
        cpio.directory(d)
    cpio.file("bin/busybox", open(busybox, "rb").read(), 0o755)
    cpio.symlink("bin/sh", "busybox")   # for /init's #!; /init installs the other applets
    cpio.file("init", open(init, "rb").read(), 0o755)
    cpio.file("etc/inittab", open(inittab, "rb").read())
    cpio.chardev("dev/console", 5, 1)   # Documentation/admin-guide/devices.txt: 5,1 /dev/console
    with open(out, "wb") as f:
        f.write(gzip.compress(cpio.finish(), mtime=0))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
