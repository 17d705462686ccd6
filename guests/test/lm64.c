/* lm64's C side, running in 64-bit mode (start64.S got us here). */
#include <stdbool.h>
#include <stdint.h>
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/multiboot.h>

/* CPUID with a REX prefix, and with REX before and after a DS override (a
 * REX followed by another prefix is ignored, SDM 2.2.1, but its byte
 * counts): lvisor must resume after the whole instruction, then the MOV
 * to ESI runs. Returns whether it did and leaf 0's vendor in v. */
static bool rex_cpuid(int how, char *v)
{
	uint32_t a = 0, b, c = 0, d, esi = 0;

	if (how == 0)
		__asm__ volatile(".byte 0x48, 0x0f, 0xa2; mov $0x600d, %%esi"
				 : "+a"(a), "=b"(b), "+c"(c), "=d"(d), "+S"(esi));
	else if (how == 1)
		__asm__ volatile(".byte 0x3e, 0x48, 0x0f, 0xa2; mov $0x600d, %%esi"
				 : "+a"(a), "=b"(b), "+c"(c), "=d"(d), "+S"(esi));
	else
		__asm__ volatile(".byte 0x48, 0x3e, 0x0f, 0xa2; mov $0x600d, %%esi"
				 : "+a"(a), "=b"(b), "+c"(c), "=d"(d), "+S"(esi));
	memcpy(v, &b, 4);
	memcpy(v + 4, &d, 4);
	memcpy(v + 8, &c, 4);
	v[12] = 0;
	return esi == 0x600d;
}

void lm64_main(uint32_t magic);
void lm64_main(uint32_t magic)
{
	console_init("lm64: ", 0);
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
		printk("entered with EAX=0x%08x, not the multiboot magic\n", magic);
		poweroff(0);
	}
	printk("hello from 64-bit long mode\n");
	static const char *const names[] = { "48 0f a2", "3e 48 0f a2", "48 3e 0f a2" };
	for (int i = 0; i < 3; i++) {
		char v[13];
		bool ok = rex_cpuid(i, v);
		printk("cpuid %s: %s, vendor %s\n", names[i], ok ? "resumed after it" : "lost its way", v);
	}
	/* EFER.LMA is the CPU's: a write that clears it is ignored (SDM Vol. 4,
	 * IA32_EFER; APM 3.1.7), and we stay in long mode. */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~(uint64_t)EFER_LMA);
	printk("EFER written without LMA: EFER 0x%lx, still in long mode\n", rdmsr(MSR_EFER));
	poweroff(1);
}
