/* lm64's C side, running in 64-bit mode (start64.S got us here). */
#include <stdint.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lvisor/multiboot.h>

void lm64_main(uint32_t magic);
void lm64_main(uint32_t magic)
{
	console_init("lm64: ", 0);
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
		printk("entered with EAX=0x%08x, not the multiboot magic\n", magic);
		poweroff(0);
	}
	printk("hello from 64-bit long mode\n");
	poweroff(1);
}
