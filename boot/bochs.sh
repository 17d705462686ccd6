#!/bin/bash
# boot/bochs.sh: run a multiboot kernel or a Linux bzImage under Bochs, with
# COM1 as the terminal.
#
#   boot/bochs.sh [options] OUTDIR KERNEL [MODULE...]
#
# Bochs cannot load a kernel itself (no -kernel), so this script builds a GRUB
# rescue ISO in OUTDIR that loads KERNEL and the MODULEs, writes a bochsrc
# next to it and runs Bochs headless. The guest's COM1 output appears on our
# stdout as it is written; Bochs' own messages go to OUTDIR/bochs.log.
#
# A multiboot kernel (grub-file --is-x86-multiboot; lvisor, our guests) is
# loaded with GRUB's multiboot and module commands. A MODULE argument is
# "path" or "path words...": GRUB gives the module the string
# "basename words..." (QEMU's -initrd would give "path words..."). The kernel
# command line is exactly --cmdline's words, joined by single spaces (QEMU's
# -append puts the kernel's path first).
#
# A Linux bzImage (grub-file --is-x86-linux: "HdrS" at 0x202) is loaded with
# GRUB's linux and initrd commands, by the Linux boot protocol, as QEMU's
# -kernel does: the MODULEs (paths only) are its initrds, which GRUB puts one
# after the other in memory (Linux unpacks every cpio archive it finds), and
# its command line is "BOOT_IMAGE=/boot/kernel " and then --cmdline's words
# (GRUB always puts BOOT_IMAGE first; Linux passes it to init as an
# environment variable).
#
# GRUB leaves COM1 alone on a good boot: the kernel must program the UART
# (8N1 in LCR).
#
# Ending the run (the guest decides):
#   - write the bytes "Shutdown" to I/O port 0x8900, or ACPI power-off
#     (outw 0x2000 to port 0xb004, PM1a_CNT as the Bochs BIOS sets it up):
#     exit status 0;
#   - a triple fault: exit status 2;
#   - cli; hlt (halted for good, nothing logged or printed for a few seconds
#     after Bochs reported "HLT instruction with IF=0"): exit status 3;
#   - GRUB failing to load the files, or anything else that stops Bochs
#     (a panic, a bad configuration): exit status 1; Ctrl-C: 130.
# Before ending the run, a guest should wait until its UART has sent the
# last byte (LSR bit 6, TEMT), or Bochs drops the last one or two bytes.
#
# OUTDIR gets: lvisor.iso, grub.cfg, bochsrc, bochs.log (Bochs' messages),
# bochs.out (Bochs' stdout: the debugger's and port 0xe9's output) and
# serial.log (COM1, when not interactive). One run per OUTDIR at a time;
# paths must not contain spaces or commas (bochsrc cannot quote them).
#
# With --com2 FILE (a second guest's console), the script runs itself again
# under boot/consoles.py, which gives it a pseudo-terminal as its terminal
# (so COM1 is Bochs' mode=term, as when interactive) and another for COM2
# (mode=term too, LVISOR_COM2_TTY): both guests' output comes here, the
# second guest's lines behind a magenta "guest2| ", COM2's also to FILE
# unchanged and COM1's to --com1-log's file; Ctrl-] switches typing
# between COM1 and COM2.
set -u

here=$(cd "$(dirname "$0")" && pwd)
prog=boot/bochs.sh

usage() {
	cat <<EOF
usage: $prog [options] OUTDIR KERNEL [MODULE...]
  KERNEL is a multiboot kernel or a Linux bzImage
  MODULE is "path" or "path words..." (module string: basename words...);
  for a bzImage, the path of an initrd (several are concatenated)
options:
  --cmdline "..."   kernel command line (default: empty)
  --cpu MODEL       Bochs CPU model (default: broadwell_ult; see bochs --help cpu)
  --cpus N          CPUs of the machine (default: 1)
  --megs N          guest memory in MiB (default: 512)
  --ips N           emulated instructions per emulated second (default: 10000000)
  --com2 FILE       COM2 (the second guest's console) here and to FILE,
                    through boot/consoles.py (default: no COM2)
  --com1-log FILE   with --com2: COM1's output to FILE too
  --halt-wait S     seconds of silence after "cli; hlt" before ending Bochs
                    (default: 3; 0 never ends it)
  --debugger        stop in Bochs' internal debugger before the first
                    instruction instead of running (type c to continue)
  --gdb             the same: Debian's Bochs has no GDB stub
EOF
}

die() { echo "$prog: $*" >&2; exit 1; }

# --- Options -----------------------------------------------------------------
cmdline='' cpu=broadwell_ult cpus=1 megs=512 ips=10000000 halt_wait=3 debugger=0 com2file='' com1log=''
args=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	--cmdline|--cpu|--cpus|--megs|--ips|--halt-wait|--com2|--com1-log)
		[ $# -ge 2 ] || die "$1 needs a value"
		opt=${1#--}; val=$2; shift 2 ;;
	--cmdline=*|--cpu=*|--cpus=*|--megs=*|--ips=*|--halt-wait=*|--com2=*|--com1-log=*)
		opt=${1%%=*}; opt=${opt#--}; val=${1#*=}; shift ;;
	--debugger|--gdb)
		[ "$1" = --gdb ] &&
			echo "$prog: Debian's Bochs has no GDB stub; starting its internal debugger" >&2
		debugger=1; shift; continue ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	-*) usage >&2; die "unknown option $1" ;;
	*) break ;;
	esac
	case $opt in
	cmdline) cmdline=$val ;;
	cpu) cpu=$val ;;
	cpus) cpus=$val ;;
	megs) megs=$val ;;
	ips) ips=$val ;;
	halt-wait) halt_wait=$val ;;
	com2) com2file=$val ;;
	com1-log) com1log=$val ;;
	esac
done
[ $# -ge 2 ] || { usage >&2; exit 1; }
case $cpus in ''|0|*[!0-9]*) die "--cpus wants a number of CPUs, not '$cpus'" ;; esac
outdir=$1 kernel=$2
shift 2

# A second guest: both consoles through boot/consoles.py, which runs this
# script again with LVISOR_COM2_TTY set.
if [ -n "$com2file" ] && [ -z "${LVISOR_COM2_TTY:-}" ]; then
	exec /usr/bin/python3 "$here/consoles.py" ${com1log:+--com1-log "$com1log"} \
		--com2-log "$com2file" -- "$0" "${args[@]}"
fi

# --- Tools and input files ---------------------------------------------------
missing=''
for tool in bochs grub-mkrescue grub-file xorriso mformat; do
	command -v $tool >/dev/null 2>&1 || missing="$missing $tool"
done
for file in /usr/share/bochs/BIOS-bochs-latest /usr/share/bochs/VGABIOS-lgpl-latest \
    /usr/lib/grub/i386-pc/multiboot.mod; do
	[ -e $file ] || missing="$missing $file"
done
if [ -n "$missing" ]; then
	echo "$prog: missing:$missing" >&2
	echo "$prog: install them (as root) with: apt-get install bochs bochsbios vgabios grub-pc-bin xorriso mtools" >&2
	exit 1
fi

bochs --help cpu 2>&1 | grep -qx -e "$cpu" ||
	die "unknown CPU model $cpu (bochs --help cpu lists them)"

[ -f "$kernel" ] || die "kernel not found: $kernel"
if grub-file --is-x86-multiboot "$kernel"; then
	format=multiboot
elif grub-file --is-x86-linux "$kernel"; then
	format=linux
else
	die "neither a multiboot (v1) kernel nor a Linux bzImage: $kernel"
fi

# --- The GRUB configuration and the ISO --------------------------------------
mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)

# GRUB script quoting: each word of $1 single-quoted ('\'' for a quote), so
# that GRUB passes the words on unchanged, joined by single spaces. (GRUB
# would put an argument holding spaces in double quotes, and it puts a
# backslash before quotes and backslashes.)
quote() {
	local words word
	read -ra words <<<"$1"
	for word in "${words[@]}"; do
		printf " '%s'" "$(printf %s "$word" | sed "s/'/'\\\\''/g")"
	done
}

grafts=("/boot/kernel=$kernel")
if [ $format = multiboot ]; then
	load="multiboot /boot/kernel$(quote "$cmdline")"
else
	load="linux /boot/kernel$(quote "$cmdline")"
	initrds=''
fi
n=0
for mod in "$@"; do
	path=${mod%% *}
	args=''
	[ "$path" = "$mod" ] || args=${mod#* }
	[ -f "$path" ] || die "module not found: $path"
	if [ $format = multiboot ]; then
		load="$load
module /boot/module$n$(quote "$(basename "$path") $args")"
	else
		[ -z "$args" ] || die "an initrd has no command line: $mod"
		initrds="$initrds /boot/module$n"
	fi
	grafts+=("/boot/module$n=$path")
	n=$((n + 1))
done
[ $format = linux ] && [ -n "$initrds" ] && load="$load
initrd$initrds"

# The ISO is rebuilt only when something it depends on changed: the GRUB
# configuration, or the name, size or time of an input file (or this script).
sed -e "/@LOAD@/{r /dev/stdin" -e "d}" "$here/grub.cfg.in" <<<"$load" \
	>"$outdir/grub.cfg.new"
stamp=$( (cat "$outdir/grub.cfg.new"
	  stat -L -c "%n %s %Y" "$here/bochs.sh" "$here/grub.cfg.in" "${grafts[@]#*=}") )
iso=$outdir/lvisor.iso
if [ -f "$iso" ] && [ "$stamp" = "$(cat "$outdir/iso.stamp" 2>/dev/null)" ]; then
	rm -f "$outdir/grub.cfg.new"
else
	mv "$outdir/grub.cfg.new" "$outdir/grub.cfg"
	rm -f "$outdir/iso.stamp"
	# Only what a BIOS boot from CD needs: no locales, fonts or themes.
	grub-mkrescue -o "$iso" --locales= --fonts= --themes= \
		--install-modules="$format iso9660 biosdisk serial terminal terminfo echo iorw halt" \
		"${grafts[@]}" "/boot/grub/grub.cfg=$outdir/grub.cfg" \
		>"$outdir/grub-mkrescue.log" 2>&1 ||
		{ cat "$outdir/grub-mkrescue.log" >&2; die "grub-mkrescue failed"; }
	printf '%s\n' "$stamp" >"$outdir/iso.stamp"
fi

# --- The serial console ------------------------------------------------------
# Interactive (stdin and stdout are a terminal, pexpect's pty included):
# Bochs drives the terminal itself (mode=term: what is typed goes to COM1,
# Ctrl-C ends the run). Otherwise COM1 goes to OUTDIR/serial.log and
# "tail -f" copies it to stdout as it grows.
serial=$outdir/serial.log
interactive=0
[ $debugger = 0 ] && [ -t 0 ] && [ -t 1 ] && interactive=1
if [ $interactive = 1 ]; then
	com1="mode=term, dev=$(tty)"
else
	com1="mode=file, dev=$serial"
fi

# COM2, with --com2: consoles.py's second pseudo-terminal (a second
# guest's console, lvisor's KERNEL2), which it copies here and to the file.
# Bochs makes it raw (no echo, no translation) as it does COM1's. The
# file's path made absolute: Bochs runs in OUTDIR, and watch_halt looks at
# its size.
com2='# com2: none'
if [ -n "$com2file" ]; then
	com2file=$(cd "$(dirname "$com2file")" && pwd)/$(basename "$com2file")
	com2="com2: enabled=1, mode=term, dev=$LVISOR_COM2_TTY"
	[ -n "$com1log" ] && com1log=$(cd "$(dirname "$com1log")" && pwd)/$(basename "$com1log")
fi

# --- The Bochs configuration -------------------------------------------------
log=$outdir/bochs.log
sed -e "s|@CPU@|$cpu|" -e "s|@CPUS@|$cpus|" -e "s|@IPS@|$ips|" -e "s|@MEGS@|$megs|" \
    -e "s|@ISO@|$iso|" -e "s|@COM1@|$com1|" -e "s|@COM2@|$com2|" -e "s|@LOG@|$log|" \
    "$here/bochsrc.in" >"$outdir/bochsrc"
echo c >"$outdir/bochs.rc"

# --- Run ---------------------------------------------------------------------
cd "$outdir" || exit 1
rm -f "$log" halted
: >"$serial"
export BXSHARE=/usr/share/bochs

# Ends Bochs when the guest has halted with interrupts off: Bochs logs
# "HLT instruction with IF=0" and then nothing happens any more. (Under a
# hypervisor a guest's own "cli; hlt" logs the same warning before its VM
# exit, hence the wait for silence: no new log line, no serial output.
# In interactive mode the serial output cannot be seen here: log only,
# unless consoles.py copies it to --com1-log's file. COM2's file, with
# --com2, counts as output too: a second guest may still be printing
# there.) Only the first CPU's halt counts: with --cpus 2, lvisor parks
# the second one in "cli; hlt" for good (vmm/smp.c), and Bochs logs that
# as "[CPU1  ] ... HLT instruction with IF=0" while the guest runs on CPU0.
watch_halt() {
	local last='' now quiet=0 nap=''
	trap 'kill $nap 2>/dev/null; wait $nap; exit' TERM	# the sleep too
	while kill -0 $bochs_pid 2>/dev/null; do
		sleep 1 & nap=$!
		wait $nap
		now=$(stat -c %s "$log" "$serial" ${com2file:+"$com2file"} ${com1log:+"$com1log"})
		if [ "$now" = "$last" ] &&
		   tail -n 20 "$log" | grep -v '\[CPU[1-9][0-9]* *\].*HLT instruction with IF=0' |
		   tail -n 1 | grep -q 'HLT instruction with IF=0'; then
			quiet=$((quiet + 1))
		else
			quiet=0
		fi
		last=$now
		if [ $quiet -ge "$halt_wait" ]; then
			: >halted
			kill $bochs_pid
			exit
		fi
	done
}

# No process of ours outlives the script; the terminal is left as it was
# (Bochs restores it when it exits normally, but not when it is killed).
saved_tty='' bochs_pid='' watch_pid='' tail_pid=''
[ -t 0 ] && saved_tty=$(stty -g)
cleanup() {
	for pid in $watch_pid $tail_pid $bochs_pid; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	[ -n "$saved_tty" ] && stty "$saved_tty" 2>/dev/null
}
trap cleanup EXIT

if [ $debugger = 1 ]; then
	# The debugger owns the terminal; the guest's output is copied to it.
	# Ctrl-C belongs to the debugger (it stops the guest), not to us.
	trap : INT
	tail -c +1 -s 0.2 -f "$serial" &
	tail_pid=$!
	bochs -q -f bochsrc
	trap - INT
else
	trap 'echo "$prog: interrupted" >&2; exit 130' INT TERM HUP
	# Bochs' debugger runs bochs.rc ("c": run), then reads stdin: /dev/null
	# makes it quit instead of waiting at a prompt (after Ctrl-C, say).
	bochs -q -f bochsrc -rc bochs.rc </dev/null >bochs.out 2>&1 &
	bochs_pid=$!
	if [ "$halt_wait" -gt 0 ]; then
		watch_halt </dev/null >/dev/null 2>&1 &
		watch_pid=$!
	fi
	if [ $interactive = 1 ]; then
		# Bochs makes the terminal raw, Ctrl-C included. Once it has (it
		# logs COM1's mode right after), let Ctrl-C end the run again, and
		# turn "\n" into "\r\n" on output again, as QEMU's stdio does.
		for _ in $(seq 50); do
			grep -q 'com1 at .*(mode: term)' "$log" 2>/dev/null && break
			sleep 0.1
		done
		stty isig intr ^C quit undef susp undef opost onlcr
	else
		# With --pid, tail stops once Bochs has exited and all is printed.
		tail -c +1 -s 0.1 -f --pid=$bochs_pid "$serial"
	fi
	wait $bochs_pid
	bochs_pid=''
fi

# --- How did it end? ---------------------------------------------------------
if grep -q '\[BIOS  \] grub failed' "$log" 2>/dev/null; then
	echo "$prog: GRUB could not boot $kernel (GRUB's error is above)" >&2
	exit 1
fi
# Bochs logs to bochs.out until it has read the log setting from bochsrc.
panic=$(cat "$log" bochs.out 2>/dev/null | grep -m 1 '>>PANIC<<' | sed 's/.*>>PANIC<< //')
case $panic in
"Shutdown port: shutdown requested"|"ACPI control: soft power off")
	exit 0 ;;
*"3rd (13) exception with no resolution"*)
	echo "$prog: triple fault: the guest CPU would reset (see $log)" >&2
	exit 2 ;;
esac
if [ -e halted ]; then
	echo "$prog: the guest halted with interrupts off (cli; hlt): Bochs stopped" >&2
	exit 3
fi
if [ -n "$panic" ]; then
	echo "$prog: Bochs stopped: $panic (see $outdir/bochs.out, $log)" >&2
else
	echo "$prog: Bochs stopped (see $outdir/bochs.out and $log)" >&2
fi
exit 1
