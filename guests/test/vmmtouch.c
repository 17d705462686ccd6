/*
 * vmmtouch: a 32-bit multiboot kernel that reads and writes lvisor's own
 * memory, which the guest's memory map marks reserved. lvisor must refuse
 * the access and stop this guest; if we get past it, the run fails.
 */
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lvisor/multiboot.h>

#define VMM_MEMORY	0x10000000	/* the start of lvisor's memory (see vmm/) */

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	volatile uint32_t *p = (volatile uint32_t *)VMM_MEMORY;

	const struct multiboot_info *mbi = (const void *)info;

	/* As the second guest (KERNEL2) it prints on COM2. */
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MULTIBOOT_INFO_CMDLINE))
		console_port_from_cmdline((const char *)mbi->cmdline);
	console_init("vmmtouch: ", 0);
	printk("reading VMM memory at 0x%08x\n", VMM_MEMORY);
	uint32_t v = *p;
	printk("read 0x%08x\n", v);
	*p = ~v;
	printk("still running\n");
	poweroff(0);
}
