/*
 * reset: a 32-bit multiboot kernel that resets the machine through the PIIX
 * reset control register (0x06 to port 0xcf9), as Linux does through the
 * ACPI reset register of QEMU's and Bochs' tables.
 * Under lvisor that must be reported with the guest's state, not restart
 * the machine in silence; if we get past it, the run fails.
 */
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lvisor/multiboot.h>

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	(void)magic, (void)info;
	console_init("reset: ", 0);
	printk("resetting the machine through port 0xcf9\n");
	console_flush();
	outb(0xcf9, 0x06);	/* SYS_RST | RST_CPU */
	for (volatile int i = 0; i < 10000000; i++)	/* the reset takes a moment */
		;
	printk("still running\n");
	poweroff(0);
}
