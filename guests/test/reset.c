/*
 * reset: a 32-bit multiboot kernel that resets the machine, in the way its
 * command line's last word names:
 *
 *   cf9    0x06 to the PIIX reset control register, port 0xcf9 (the default;
 *          what Linux does through the ACPI reset register of QEMU's and
 *          Bochs' tables)
 *   kbd    command 0xFE to the keyboard controller, port 0x64 (what many
 *          small kernels do)
 *   92     bit 0 (fast reset) of system control port A, port 0x92
 *
 * Under lvisor that must be reported with the guest's state, not restart
 * the machine in silence; if we get past it, the run fails.
 */
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/multiboot.h>

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	const struct multiboot_info *mbi = (const struct multiboot_info *)info;
	const char *how = "cf9";

	console_init("reset: ", 0);
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MULTIBOOT_INFO_CMDLINE)) {
		const char *space = strrchr((const char *)mbi->cmdline, ' ');
		if (space)
			how = space + 1;
	}
	if (!strcmp(how, "kbd")) {
		printk("resetting the machine through port 0x64\n");
		console_flush();
		outb(0x64, 0xfe);	/* pulse output line 0: the CPU's reset */
	} else if (!strcmp(how, "92")) {
		printk("resetting the machine through port 0x92\n");
		console_flush();
		outb(0x92, inb(0x92) | 1);	/* fast reset; keep A20 as it is */
	} else {
		printk("resetting the machine through port 0xcf9\n");
		console_flush();
		outb(0xcf9, 0x06);	/* SYS_RST | RST_CPU */
	}
	for (volatile int i = 0; i < 10000000; i++)	/* the reset takes a moment */
		;
	printk("still running\n");
	poweroff(0);
}
