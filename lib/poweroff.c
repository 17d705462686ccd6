/*
 * Power off: QEMU's isa-debug-exit device tells QEMU whether the run
 * succeeded. Bochs has no such device: a success writes "Shutdown" to its
 * shutdown port, a failure stops the CPU (cli; hlt), which boot/bochs.sh
 * reports with a non-zero status. Each step is harmless on the other emulator.
 */
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/poweroff.h>

void poweroff(int ok)
{
	console_flush();	/* or the emulator may drop the last characters */
	outb(POWEROFF_PORT, ok ? POWEROFF_SUCCESS : POWEROFF_FAILURE);
	if (ok)
		for (const char *s = "Shutdown"; *s; s++)	/* Bochs: port 0x8900 */
			outb(0x8900, *s);
	halt_forever();
}
