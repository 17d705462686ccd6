#!/bin/sh
# Fetch a Debian package's file without installing the package on this
# machine: apt-get download the .deb, take one file out of it with
# dpkg-deb, drop the .deb. Used by guests/linux/linux.mk for Debian's stock
# kernel and for busybox-static (the initramfs's only program).
#
#   guests/linux/fetch.sh kernel DIR    DIR/vmlinuz (the bzImage), DIR/version (its `uname -r`)
#   guests/linux/fetch.sh busybox DIR   DIR/busybox (statically linked)
#
# The kernel is the one the metapackage linux-image-amd64 depends on today
# (apt-cache depends), e.g. linux-image-6.1.0-56-amd64. Only the 8 MiB
# bzImage is kept, not the 400 MiB of modules.
set -eu
what=$1 dir=$2
prog="lvisor: linux"
die() { echo "$prog: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb tar; do
	command -v $tool >/dev/null 2>&1 || die "$tool not found: the Linux guest is fetched from Debian's packages (a Debian system is needed)"
done

# The package lists may be empty on a fresh machine (a container, a CI image).
known() { apt-cache show "$1" >/dev/null 2>&1; }
have_lists() {
	known "$1" && return 0
	if [ "$(id -u)" = 0 ]; then
		echo "$prog: no package $1 in apt's lists; running apt-get update" >&2
		apt-get update -q >&2 && known "$1" && return 0
	fi
	die "apt knows no package $1: run 'sudo apt-get update' first"
}

# Download package $1 into $tmp and extract its file $2 to $3.
extract() {
	tmp=$dir/download
	rm -rf "$tmp" && mkdir -p "$tmp"
	echo "$prog: downloading $1 (apt-get download)" >&2
	# As root, apt would rather download as its user _apt, who cannot
	# write here: it warns, then downloads as root anyway. Say so upfront.
	sandbox=""
	[ "$(id -u)" = 0 ] && sandbox="-o APT::Sandbox::User=root"
	# shellcheck disable=SC2086
	(cd "$tmp" && apt-get download -q $sandbox "$1" >&2) || die "apt-get download $1 failed"
	dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -xO ".$2" > "$3.tmp" ||
		die "$1 has no file $2"
	[ -s "$3.tmp" ] || die "$1: $2 is empty"
	mv "$3.tmp" "$3"
	rm -rf "$tmp"
}

mkdir -p "$dir"
case $what in
kernel)
	have_lists linux-image-amd64
	# "Depends: linux-image-6.1.0-56-amd64" -> the real package, and the
	# kernel's release (what `uname -r` says in the guest): 6.1.0-56-amd64.
	pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
	[ -n "$pkg" ] || die "cannot tell which kernel linux-image-amd64 depends on (apt-cache depends linux-image-amd64)"
	release=${pkg#linux-image-}
	extract "$pkg" "/boot/vmlinuz-$release" "$dir/vmlinuz"
	echo "$release" > "$dir/version"
	echo "$prog: $dir/vmlinuz is Linux $release ($pkg)" >&2
	;;
busybox)
	have_lists busybox-static
	extract busybox-static /bin/busybox "$dir/busybox"
	chmod +x "$dir/busybox"
	;;
*)
	die "usage: $0 kernel|busybox DIR"
	;;
esac
