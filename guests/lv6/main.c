/*
 * lv6's kernel: set up the console, the clock, the descriptor tables and
 * SYSCALL, then drop to user space (user.S), whose three system calls print
 * "hey 481" and "bye 451" and power the machine off (exit); or, with
 * "bench" on the command line, whose user space times system calls. Every line
 * carries the time since boot, read with RDTSC: that is what a policy's
 * RDTSC rules change.
 */
#include <asm/x86.h>
#include <lib/cmdline.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lib/tsc.h>
#include <lvisor/multiboot.h>
#include "lv6.h"

/* The familiar kernel-log timestamp, "[    7.431022] ". */
static void timestamp(void)
{
	uint64_t sec, usec;
	uptime(&sec, &usec);
	printk("[%5lu.%06lu] ", (unsigned long)sec, (unsigned long)usec);
}

struct tss {
	uint32_t reserved0;
	uint64_t rsp0;		/* stack for traps from user mode */
	uint64_t rsp1, rsp2, reserved1, ist[7], reserved2;
	uint16_t reserved3, iomap_base;
} __attribute__((packed));

static struct tss tss;
static uint64_t gdt[7];
static uint64_t idt[32 * 2];
static uint8_t kernel_stack[8192] __attribute__((aligned(16)));

static void load_descriptors(void)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;

	gdt[1] = 0x00af9a000000ffff;	/* kernel code, 64-bit */
	gdt[2] = 0x00cf92000000ffff;	/* kernel data */
	gdt[3] = 0x00cff2000000ffff;	/* user data, DPL 3 */
	gdt[4] = 0x00affa000000ffff;	/* user code, 64-bit, DPL 3 */
	/* 64-bit TSS descriptor, two entries (SDM 8.2.3). */
	gdt[5] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
		 ((base >> 24) & 0xff) << 56;
	gdt[6] = base >> 32;
	tss.rsp0 = (uint64_t)kernel_stack + sizeof(kernel_stack);
	tss.iomap_base = sizeof(tss);

	struct { uint16_t limit; uint64_t base; } __attribute__((packed))
		gdtr = { sizeof(gdt) - 1, (uint64_t)gdt },
		idtr = { sizeof(idt) - 1, (uint64_t)idt };

	/* Interrupt gates for the 32 exceptions, all in trap.S. */
	for (int v = 0; v < 32; v++) {
		uint64_t h = trap_vectors[v];
		idt[2 * v] = (h & 0xffff) | (uint64_t)KERNEL_CS << 16 | 0x8eull << 40 |
			     ((h >> 16) & 0xffff) << 48;
		idt[2 * v + 1] = h >> 32;
	}
	__asm__ volatile("lgdt %0; lidt %1; ltr %w2" : : "m"(gdtr), "m"(idtr), "r"(TSS_SEL));
}

/* SYSCALL jumps to LSTAR with CS = STAR[47:32] and SS = CS + 8; SYSRET
 * returns with SS = STAR[63:48] + 8 and CS = STAR[63:48] + 16, so 0x10
 * there selects USER_DS and USER_CS. RFLAGS bits in SFMASK are cleared. */
static void syscall_init(void)
{
	wrmsr(MSR_STAR, (uint64_t)KERNEL_DS << 48 | (uint64_t)KERNEL_CS << 32);
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_SFMASK, 0x4700);	/* clear TF, IF, DF, NT on entry */
}

/* Called from trap.S for any CPU exception. */
void trap(uint64_t vector, uint64_t error, uint64_t rip)
{
	printk("lv6: exception %lu (error 0x%lx) at rip 0x%lx\n",
	       (unsigned long)vector, (unsigned long)error, (unsigned long)rip);
	poweroff(0);
}


/* The console's UART: COM1, unless the command line says "console=PORT"
 * (in hex, 0x2f8 for COM2: lvisor's second guest prints there); the
 * TSC's frequency, if it says "tsc_khz=N" (lvisor's second guest, which
 * has no PIT to measure it with); and "bench", which runs user_bench
 * (user.S) as user space, for make bench. */
extern uint32_t mb_info;	/* head.S: EBX at entry, the multiboot information */
static int bench;

static void console_from_cmdline(void)
{
	const struct multiboot_info *mbi = (const void *)(uint64_t)mb_info;

	if (mbi && (mbi->flags & MULTIBOOT_INFO_CMDLINE)) {
		console_port_from_cmdline((const char *)(uint64_t)mbi->cmdline);
		tsc_hz_from_cmdline((const char *)(uint64_t)mbi->cmdline);	/* for tsc_init() */
		const char *w = cmdline_value((const char *)(uint64_t)mbi->cmdline, "bench");
		bench = w && (*w == ' ' || *w == 0);
	}
}

void main(void)
{
	console_from_cmdline();
	console_init("", 0);
	console_line_hook = timestamp;
	printk("lv6: hello\n");
	tsc_init();
	load_descriptors();
	syscall_init();
	printk("lv6: entering user space\n");
	enter_user(bench ? (uint64_t)user_bench : (uint64_t)user_start,
		   (uint64_t)user_stack_top);
}
