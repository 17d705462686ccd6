#!/bin/sh
# Run a multiboot kernel under QEMU with the serial console on this terminal
# (Ctrl-a x quits). Used by `make qemu` (lvisor with the firmware and the
# guest as multiboot modules) and `make qemu-kernel` (the guest alone).
#
#   boot/qemu.sh [--gdb PORT] KERNEL [MODULE...]
#
# Environment: QEMU, QEMU_CPU, QEMU_MEM, QEMU_EXTRA, QMP (a Unix socket's path
# for QEMU's machine protocol), CPUS (-smp, when not 1),
# COM2 (a second serial port, the second guest's console: see below),
# COM1_LOG (with COM2: a copy of COM1's output). KERNEL and each module
# are "path" or "path words..." (the words become the command line: -append
# for KERNEL, the module's multiboot command line for a module).
#
# With COM2=FILE the script runs itself again under boot/consoles.py: COM1
# is still QEMU's own terminal (mon:stdio, a pseudo-terminal whose output
# consoles.py copies here and to COM1_LOG), COM2 a second pseudo-terminal
# (LVISOR_COM2_TTY) whose output goes to FILE unchanged and here, its lines
# behind a magenta "guest2| ". Ctrl-] switches typing between COM1 and COM2.
#
# Exit status: QEMU's own, except for the isa-debug-exit port (0xf4) that
# our guests and the VMM power off with (include/lib/poweroff.h): 0 after
# POWEROFF_SUCCESS, 1 after POWEROFF_FAILURE.
QEMU=${QEMU:-qemu-system-x86_64}
if [ -n "${COM2:-}" ] && [ -z "${LVISOR_COM2_TTY:-}" ]; then
	exec /usr/bin/python3 "$(dirname "$0")/consoles.py" ${COM1_LOG:+--com1-log "$COM1_LOG"} \
		--com2-log "$COM2" -- "$0" "$@"
fi
gdb=""
if [ "$1" = --gdb ]; then
	gdb="-S -gdb tcp::$2"
	echo "lvisor: QEMU is stopped, waiting for GDB on port $2 (see README: Debugging)" >&2
	shift 2
fi
kernel=$1; shift
append=""
case $kernel in *" "*) append=${kernel#* }; kernel=${kernel%% *} ;; esac
for f in "$kernel" "$@"; do
	f=${f%% *}
	if [ ! -f "$f" ]; then
		echo "lvisor: $f: no such file" >&2
		exit 1
	fi
done
modules=""
for m in "$@"; do
	m=$(printf '%s' "$m" | sed 's/,/,,/g')	# QEMU's -initrd separates modules with commas
	modules="${modules:+$modules,}$m"
done
set -- -nographic -no-reboot -net none -m "${QEMU_MEM:-512}" -cpu "${QEMU_CPU:-qemu64,+svm,+npt}" \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$kernel"
[ "${CPUS:-1}" != 1 ] && set -- "$@" -smp "$CPUS"
# Both ports named: with -nographic a lone second -serial would take COM1.
# A /dev/ path is a terminal to QEMU (its "serial" character device).
[ -n "${COM2:-}" ] && set -- "$@" -serial mon:stdio -serial "$LVISOR_COM2_TTY"
[ -n "$append" ] && set -- "$@" -append "$append"
[ -n "${QMP:-}" ] && set -- "$@" -qmp "unix:$(printf '%s' "$QMP" | sed 's/,/,,/g'),server=on,wait=off"
[ -n "$modules" ] && set -- "$@" -initrd "$modules"
# shellcheck disable=SC2086
"$QEMU" "$@" $gdb ${QEMU_EXTRA:-}
status=$?
case $status in
33) status=0 ;;		# (POWEROFF_SUCCESS << 1) | 1
35) status=1 ;;		# (POWEROFF_FAILURE << 1) | 1
esac
exit $status
