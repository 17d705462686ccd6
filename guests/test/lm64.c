/* lm64's C side, running in 64-bit mode (start64.S got us here). */
#include <stdint.h>
#include <asm/x86.h>
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
	/* EFER.LMA is the CPU's: a write that clears it is ignored (SDM Vol. 4,
	 * IA32_EFER; APM 3.1.7), and we stay in long mode. */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~(uint64_t)EFER_LMA);
	printk("EFER written without LMA: EFER 0x%lx, still in long mode\n", rdmsr(MSR_EFER));
	poweroff(1);
}
