/*
 * misbehave: a 32-bit multiboot kernel that does what a guest must not, in
 * the way its command line's last word names:
 *
 *   triple  an exception with an empty IDT: #GP, then #DF, then a triple
 *           fault, which would reset the machine (SDM 6.15, interrupt 8;
 *           APM 8.2.9)
 *   nested  VMXON (Intel) or VMRUN (AMD), by CPUID's vendor: the guest tries
 *           to become a hypervisor itself; in a guest these always exit
 *           (SDM 26.1.2, APM 15.5.1), and lvisor does not nest
 *   reset-cf9  0x06 to the PIIX reset control register, port 0xcf9 (what
 *           Linux does through the ACPI reset register of QEMU's and Bochs'
 *           tables)
 *   reset-kbd  command 0xFE to the keyboard controller, port 0x64 (what many
 *           small kernels do)
 *   reset-92   bit 0 (fast reset) of system control port A, port 0x92
 *
 * A reset would restart the machine, lvisor with it, in silence. Under lvisor
 * each must be reported with the guest's state and the guest stopped, lvisor
 * itself unharmed; if we get past it, the run fails.
 */
#include <stdint.h>
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/multiboot.h>

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

/* VMXON's and VMRUN's operand: a page-aligned region (never used). */
static uint8_t region[4096] __attribute__((aligned(4096)));

static void triple_fault(void)
{
	static const struct { uint16_t limit; uint32_t base; } __attribute__((packed))
		empty_idt = { 0, 0 };

	printk("loading an empty IDT, then UD2\n");
	console_flush();
	__asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
}

static void nested(void)
{
	uint32_t a = 0, b, c = 0, d;
	uint64_t pa = (uint32_t)region;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (b == 0x756e6547) {			/* "Genu"ineIntel */
		printk("executing VMXON\n");
		console_flush();
		__asm__ volatile("vmxon %0" : : "m"(pa) : "memory");
	} else {
		printk("executing VMRUN\n");
		console_flush();
		__asm__ volatile("vmrun %%eax" : : "a"(region) : "memory");
	}
}

static void reset(uint16_t port)
{
	printk("resetting the machine through port 0x%x\n", port);
	console_flush();
	if (port == 0x64)
		outb(0x64, 0xfe);		/* pulse output line 0: the CPU's reset */
	else if (port == 0x92)
		outb(0x92, inb(0x92) | 1);	/* fast reset; keep A20 as it is */
	else
		outb(0xcf9, 0x06);		/* SYS_RST | RST_CPU */
	for (volatile int i = 0; i < 10000000; i++)	/* a reset takes a moment */
		;
}

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	const struct multiboot_info *mbi = (const struct multiboot_info *)info;
	const char *how = "";

	console_init("misbehave: ", 0);
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MULTIBOOT_INFO_CMDLINE)) {
		const char *space = strrchr((const char *)mbi->cmdline, ' ');
		if (space)
			how = space + 1;
	}
	if (!strcmp(how, "triple"))
		triple_fault();
	else if (!strcmp(how, "nested"))
		nested();
	else if (!strcmp(how, "reset-cf9"))
		reset(0xcf9);
	else if (!strcmp(how, "reset-kbd"))
		reset(0x64);
	else if (!strcmp(how, "reset-92"))
		reset(0x92);
	else
		printk("say how: APPEND=triple, nested, reset-cf9, reset-kbd or reset-92\n");
	printk("still running\n");
	poweroff(0);
}
