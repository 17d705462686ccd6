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

/*
 * Traps and SYSCALL (lvisor's `syscall` event, vmm/syscall.c: under
 * syscall-log the CPU's EFER.SCE is 0, both raise #UD, lvisor decides).
 * A trap handler notes the vector, RIP and DR6 and resumes 64-bit code at
 * RBX (the tests below set it): the IDT has #DB, #UD, #GP and #PF.
 */
struct gate { uint16_t off0, sel, attr, off1; uint32_t off2, zero; };
static struct gate idt[15] __attribute__((aligned(16)));
volatile int trap_vector;
volatile uint64_t trap_rip, trap_dr6;
extern char trap1[], trap6[], trap13[], trap14[], c32_syscall[], lstar_land[], cstar_land[],
	tf_syscall_insn[];
void run_at(void *code);		/* jumps to code, which must trap */
uint64_t compat_syscall(void);		/* RCX after a SYSCALL in 32-bit code, or 0 */
void tf_syscall(void);			/* SYSCALL with RFLAGS.TF set */
__asm__(
	".macro trap vec, err\n"
	"trap\\vec:\n"
	"	.if \\err\n"
	"	add $8, %rsp\n"			/* the error code */
	"	.endif\n"
	"	movl $\\vec, trap_vector(%rip)\n"
	"	mov (%rsp), %rax\n"
	"	mov %rax, trap_rip(%rip)\n"
	"	mov %dr6, %rax\n"
	"	mov %rax, trap_dr6(%rip)\n"
	"	mov %rbx, (%rsp)\n"		/* resume at RBX, in CS 0x08, TF clear */
	"	movq $0x08, 8(%rsp)\n"
	"	andq $~0x100, 16(%rsp)\n"
	"	iretq\n"
	".endm\n"
	"trap 1, 0\n trap 6, 0\n trap 13, 1\n trap 14, 1\n"
	"run_at:\n"
	"	push %rbx\n"
	"	lea 1f(%rip), %rbx\n"
	"	jmp *%rdi\n"			/* no return: only a trap comes back */
	"1:	pop %rbx\n"
	"	ret\n"
	/* Far return into the 32-bit code segment, whose SYSCALL goes to
	 * CSTAR in 64-bit mode (AMD) or raises #UD (Intel). */
	"compat_syscall:\n"
	"	push %rbx\n"
	"	lea 1f(%rip), %rbx\n"
	"	xor %eax, %eax\n"
	"	xor %ecx, %ecx\n"
	"	pushq $0x18\n"
	"	lea c32_syscall(%rip), %rdx\n"
	"	push %rdx\n"
	"	lretq\n"
	"	.code32\n"
	"c32_syscall: syscall\n"
	"	hlt\n"
	"	.code64\n"
	"cstar_land:\n"
	"	mov %rcx, %rax\n"
	"1:	pop %rbx\n"
	"	ret\n"
	"tf_syscall:\n"
	"	push %rbx\n"
	"	lea 1f(%rip), %rbx\n"
	"	pushfq\n"
	"	orq $0x100, (%rsp)\n"
	"	popfq\n"
	"tf_syscall_insn: syscall\n"
	"lstar_land:\n"			/* FMASK cleared TF; without the #DB: here */
	"1:	pop %rbx\n"
	"	ret\n");

static void set_gate(int vec, void *handler)
{
	uint64_t a = (uint64_t)handler;

	idt[vec] = (struct gate){ (uint16_t)a, 0x08, 0x8e00, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0 };
}

static void trap_reset(void)
{
	trap_vector = -1;
	__asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ull));
}

static void print_trap(const char *what, uint64_t base)
{
	if (trap_vector < 0)
		printk("%s: no trap\n", what);
	else
		printk("%s: vector %d at %s+%lu, dr6.bs %d\n", what, trap_vector,
		       trap_rip >= base ? "it" : "before it", trap_rip >= base ? trap_rip - base : 0,
		       trap_vector == 1 ? (int)(trap_dr6 >> 14 & 1) : 0);
}

/* An invalid opcode (06: PUSH ES, no 64-bit instruction; then 66 06) on
 * a page's last bytes, the next page not present: the CPU raises #UD
 * without reading on, and so must lvisor leave it (vmm/syscall.c). */
static uint8_t area[2 * 4096] __attribute__((aligned(4096)));
static uint64_t pt[512] __attribute__((aligned(4096)));

static void page_end_ud(void)
{
	uint64_t cr3, va = (uint64_t)area, region = va & ~0x1fffffull;
	uint64_t *pml4, *pdpt, *pd;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(cr3 & ~0xfffull);
	pdpt = (uint64_t *)(pml4[0] & ~0xfffull);
	pd = (uint64_t *)(pdpt[0] & ~0xfffull);
	for (int i = 0; i < 512; i++)
		pt[i] = (region + i * 4096ull) | 3;
	pt[((va + 4096) >> 12) & 511] = 0;	/* area's second page: not present */
	pd[region >> 21] = (uint64_t)pt | 3;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
	static const char *const names[] = { "06", "66 06" };
	for (int n = 1; n <= 2; n++) {
		uint8_t *at = area + 4096 - n;
		memcpy(at, n == 1 ? "\x06" : "\x66\x06", n);
		trap_reset();
		run_at(at);
		char what[48];
		snprintf(what, sizeof(what), "%s at a page's end", names[n - 1]);
		print_trap(what, (uint64_t)at);
	}
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

	set_gate(1, trap1);
	set_gate(6, trap6);
	set_gate(13, trap13);
	set_gate(14, trap14);
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* STAR: SYSCALL's CS 0x08 (SS 0x10); FMASK clears TF. */
	wrmsr(MSR_STAR, 0x08ull << 32);
	wrmsr(MSR_LSTAR, (uint64_t)lstar_land);
	wrmsr(MSR_CSTAR, (uint64_t)cstar_land);
	wrmsr(MSR_SFMASK, RFLAGS_TF);
	page_end_ud();
	/* SYSCALL in compatibility mode: AMD's go to CSTAR in 64-bit mode,
	 * RCX the next EIP (APM Vol. 3); Intel's raise #UD (SDM Vol. 2B). */
	trap_reset();
	uint64_t rcx = compat_syscall();
	if (trap_vector < 0)
		printk("compat-mode syscall: to CSTAR, rcx %s\n",
		       rcx == (uint64_t)c32_syscall + 2 ? "the next eip" : "wrong");
	else
		print_trap("compat-mode syscall", (uint64_t)c32_syscall);
	/* TF set before SYSCALL: the single-step #DB (SDM 18.3.1.4, APM
	 * 13.1.1.3) follows the TF it leaves: none where FMASK clears TF, at
	 * LSTAR with DR6.BS where it does not. */
	trap_reset();
	tf_syscall();
	print_trap("syscall with TF, FMASK clearing it", (uint64_t)lstar_land);
	wrmsr(MSR_SFMASK, 0);
	trap_reset();
	tf_syscall();
	print_trap("syscall with TF, FMASK keeping it", (uint64_t)lstar_land);
	poweroff(1);
}
