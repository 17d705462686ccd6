/*
 * pm32: a multiboot kernel that stays in 32-bit protected mode, prints one
 * line and powers off. Its header uses the "a.out kludge" (multiboot spec
 * 3.1.3, flag bit 16): the loader places it by the header's addresses, not
 * by an ELF file's program headers; the build ships it as a flat binary.
 */
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lvisor/multiboot.h>

#define FLAGS	(MULTIBOOT_AOUT_KLUDGE | MULTIBOOT_MEMORY_INFO)

extern char __image_start[], _edata[], _end[];	/* test.ld */
void start(void);				/* start32.S */

__attribute__((section(".multiboot"), used))
static const struct multiboot_header header = {
	.magic = MULTIBOOT_HEADER_MAGIC,
	.flags = FLAGS,
	.checksum = -(MULTIBOOT_HEADER_MAGIC + FLAGS),
	.header_addr = (uint32_t)&header,	/* where this header ends up */
	.load_addr = (uint32_t)__image_start,	/* the file's first byte goes here */
	.load_end_addr = (uint32_t)_edata,	/* end of code and data */
	.bss_end_addr = (uint32_t)_end,		/* cleared by the loader up to here */
	.entry_addr = (uint32_t)start,
};

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	(void)info;
	console_init("pm32: ", 0);
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
		printk("entered with EAX=0x%08x, not the multiboot magic\n", magic);
		poweroff(0);
	}
	printk("hello from 32-bit protected mode\n");
	poweroff(1);
}
