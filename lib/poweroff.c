/* Power off: QEMU's isa-debug-exit device, then Bochs' shutdown port; on a
 * machine with neither, stop the CPU. */
#include <asm/x86.h>
#include <lib/poweroff.h>

void poweroff(int ok)
{
	outb(POWEROFF_PORT, ok ? POWEROFF_SUCCESS : POWEROFF_FAILURE);
	for (const char *s = "Shutdown"; *s; s++)	/* Bochs: port 0x8900 */
		outb(0x8900, *s);
	halt_forever();
}
