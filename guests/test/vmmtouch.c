/*
 * vmmtouch: a 32-bit multiboot kernel that reads and writes lvisor's own
 * memory, which the guest's memory map marks reserved. lvisor must refuse
 * the access and stop this guest; if we get past it, the run fails.
 *
 * With an address as its command line's last word (e.g. "0x14000000"),
 * it reads and writes there instead: the other guest's memory, which is
 * as much out of bounds (make qemu KERNEL=vmmtouch APPEND=0x14000000
 * KERNEL2=lv6: the second guest's RAM, host 0x14000000; KERNEL2=vmmtouch
 * MEM2=96 APPEND2=0x6000000: the first byte past the second guest's 96 MiB).
 */
#include <lib/cmdline.h>
#include <lib/console.h>
#include <lib/string.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lvisor/multiboot.h>

#define VMM_MEMORY	0x10000000	/* the start of lvisor's memory (see vmm/) */

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

/* The command line's last word as a hexadecimal address "0x...", or 0. */
static uint32_t address_word(const char *cmdline)
{
	const char *last = strrchr(cmdline, ' '), *end;

	last = last ? last + 1 : cmdline;
	if (last[0] != '0' || last[1] != 'x')
		return 0;
	uint32_t a = (uint32_t)cmdline_number(last + 2, 16, &end);
	return *end ? 0 : a;
}

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	const char *cmdline = multiboot_cmdline(magic, info);

	/* As the second guest (KERNEL2) it prints on COM2. */
	console_port_from_cmdline(cmdline);
	console_init("vmmtouch: ", 0);
	uint32_t at = address_word(cmdline);
	volatile uint32_t *p = (volatile uint32_t *)(at ? at : VMM_MEMORY);
	if (at)
		printk("reading memory at 0x%08x\n", at);
	else
		printk("reading VMM memory at 0x%08x\n", VMM_MEMORY);
	uint32_t v = *p;
	printk("read 0x%08x\n", v);
	*p = ~v;
	printk("still running\n");
	poweroff(0);
}
