/*
 * low: a 32-bit multiboot kernel that lives in conventional memory, as
 * real-mode test kernels do: linked at 0x8000 (test.mk), its one loadable
 * segment holds code, data, .bss and stack, all below 640 KiB. QEMU's
 * -kernel loads it there; so must lvisor's firmware, which keeps its own
 * things out of that memory. It prints where its code and data are and a
 * string out of that data, then powers off.
 */
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lvisor/multiboot.h>

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

/* Initialized data: the loader copied it from the file to its place. */
static char greeting[] = "hello from conventional memory";

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	/* As the second guest (KERNEL2) it prints on COM2. */
	console_port_from_cmdline(multiboot_cmdline(magic, info));
	console_init("low: ", 0);
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
		printk("entered with EAX=0x%08x, not the multiboot magic\n", magic);
		poweroff(0);
	}
	printk("code at 0x%08x, data at 0x%08x: %s\n", (uint32_t)kernel_main, (uint32_t)greeting, greeting);
	poweroff(1);
}
