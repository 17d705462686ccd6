/*
 * bench: what VM exits cost, seen from inside the guest, in TSC cycles.
 *
 * A 32-bit multiboot kernel (paging off, interrupts off) that times loops
 * of one instruction each and prints one line per figure:
 *
 *   bench: cpuid cycles=404 total=4040123 iterations=10000
 *
 * cycles is total / iterations: the cost of one loop iteration, which is
 * the instruction plus about two cycles of loop (the `empty` figure). Each
 * figure is the best (smallest total) of ROUNDS rounds, after one warm-up
 * round: the warm-up lets QEMU translate the code, the minimum drops
 * rounds disturbed by the host.
 *
 *   empty      an empty loop iteration: what every other figure includes
 *   cpuid      CPUID leaf 0: exits under lvisor (always on VMX)
 *   hypercall  VMCALL (Intel) or VMMCALL (AMD), by CPUID's vendor; only
 *              under a bench policy (CPUID 0x40000000 says "LvisorBench!"),
 *              since without a hypervisor it raises #UD
 *   rdtsc      RDTSC: passes through under policies/bench.yaml, exits under
 *              policies/bench-rdtsc.yaml
 *   io         IN from port 0xed (nothing there): policies/bench.yaml makes
 *              it exit and answers a constant
 *   msr        RDMSR of IA32_TIME_STAMP_COUNTER (0x10): exits under the
 *              bench policies
 *   memory     a MOV store to a watched page (only when named): under
 *              policies/bench-memory.yaml its writes are watched (write:
 *              ignore), so each store is an EPT violation or nested page
 *              fault that lvisor decodes (vmm/memwatch.c)
 *   loop-reg   an exit-free loop on registers only
 *   loop-mem   an exit-free loop that touches one word in each of 16384
 *              pages (64 MiB at 16 MiB), so that TLB misses and EPT/NPT
 *              walks count
 *
 * Timing: LFENCE; RDTSC; LFENCE around each loop. RDTSC is not serializing;
 * the SDM (Vol. 2B, RDTSC) recommends LFENCE before it so that earlier
 * instructions have completed, and after it so that later ones do not start
 * early; the APM (Vol. 3, RDTSC) says the same of LFENCE on processors where
 * it is dispatch-serializing. CPUID, the classic serializer, would itself
 * exit under a hypervisor. (Under QEMU's TCG and Bochs every instruction is
 * completed in order anyway.)
 *
 * The command line picks what runs (words, in any order):
 *   (none)     every figure
 *   quick      a tenth of the iterations, two rounds (make bench BENCH_QUICK=1)
 *   span       after each figure, the TSC at its start (the warm-up's) and
 *              at its end, e.g. "bench: cpuid span start=123 end=456":
 *              make bench runs the guest as both of lvisor's guests at
 *              once and checks from them that the two loops overlapped
 *   NAME...    only these figures, e.g. "rdtsc"
 *   cpuid1000  exactly 1000 CPUID instructions in all (the first one reads
 *              the vendor), then power off: for counting exits
 *   hypercall  with cpuid1000: one hypercall after them (vmcall: stats)
 *   acpi       power off through ACPI (PM1a_CNT) rather than lib/poweroff.c
 *   console=0x2f8  print on COM2: lvisor's second guest has no other
 *              device, and lvisor puts the word in its command line. What
 *              the second guest measures must need no device either: the
 *              loops use the TSC only (RDTSC, which passes through under
 *              policies/bench.yaml), and the CPUID and hypercall exits,
 *              which its policy answers. Not so io (port 0xed is absent
 *              hardware to it whatever the policy: it times the core's
 *              handler for that) nor loop-mem (its pages, 16-80 MiB, lie
 *              past a second guest of MEM2=64, where lvisor stops it).
 */
#include <stdbool.h>
#include <stdint.h>
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/multiboot.h>

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

#define ROUNDS		3
#define BENCH_PORT	0xed		/* nothing there; policies/bench.yaml intercepts IN */
#define BENCH_MSR	0x10		/* IA32_TIME_STAMP_COUNTER */
#define MEM_BASE	0x01000000u	/* 16 MiB: above us, below the staging area (128 MiB) */
#define MEM_PAGES	16384u		/* 64 MiB */
#define WATCHED		0x00200000u	/* policies/bench-memory.yaml: write: ignore */

static bool intel;		/* VMCALL (Intel) or VMMCALL (AMD) */
static bool under_bench_policy;	/* the hypercall returns */
static uint32_t iterations_scale = 1;	/* 10: quick */
static bool spans;			/* span: print each figure's TSC span */

/* ---- the clock ------------------------------------------------------- */

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* ---- the measured loops: each returns its cycles for n iterations ------ */

static uint64_t loop_empty(uint32_t n)
{
	uint64_t t0 = tsc();
	__asm__ volatile("1: dec %0; jnz 1b" : "+r"(n));
	return tsc() - t0;
}

static uint64_t loop_cpuid(uint32_t n)
{
	uint64_t t0 = tsc();
	for (uint32_t i = 0; i < n; i++) {
		uint32_t a = 0, b, c = 0, d;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	}
	return tsc() - t0;
}

static inline void hypercall(void)
{
	uint32_t a = 0;

	if (intel)
		__asm__ volatile("vmcall" : "+a"(a) : : "memory");
	else
		__asm__ volatile("vmmcall" : "+a"(a) : : "memory");
}

static uint64_t loop_hypercall(uint32_t n)
{
	uint64_t t0 = tsc();
	for (uint32_t i = 0; i < n; i++)
		hypercall();
	return tsc() - t0;
}

static uint64_t loop_rdtsc(uint32_t n)
{
	uint64_t t0 = tsc();
	for (uint32_t i = 0; i < n; i++) {
		uint32_t lo, hi;
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	}
	return tsc() - t0;
}

static uint64_t loop_io(uint32_t n)
{
	uint64_t t0 = tsc();
	for (uint32_t i = 0; i < n; i++)
		(void)inb(BENCH_PORT);
	return tsc() - t0;
}

static uint64_t loop_msr(uint32_t n)
{
	uint64_t t0 = tsc();
	for (uint32_t i = 0; i < n; i++)
		(void)rdmsr(BENCH_MSR);
	return tsc() - t0;
}

static uint64_t loop_memory(uint32_t n)
{
	uint64_t t0 = tsc();
	for (uint32_t i = 0; i < n; i++)
		*(volatile uint32_t *)WATCHED = i;	/* MOV r/m32, r32: 89 /r */
	return tsc() - t0;
}

/* A linear congruential step and a xor: registers only, no exit, no memory. */
static uint64_t loop_reg(uint32_t n)
{
	uint32_t x = 1, y = 0;
	uint64_t t0 = tsc();
	__asm__ volatile("1: imul $1103515245, %0, %0\n\t"
			 "add $12345, %0\n\t"
			 "xor %0, %1\n\t"
			 "dec %2\n\t"
			 "jnz 1b"
			 : "+r"(x), "+r"(y), "+r"(n));
	return tsc() - t0;
}

/* n passes over MEM_PAGES pages, one read-modify-write in each; a
 * different cache line in each page, so the caches do not alias. */
static uint64_t loop_mem(uint32_t n)
{
	uint64_t t0 = tsc();
	for (uint32_t pass = 0; pass < n; pass++)
		for (uint32_t page = 0; page < MEM_PAGES; page++)
			(*(volatile uint32_t *)(MEM_BASE + page * 4096 + (page % 64) * 64))++;
	return tsc() - t0;
}

/* ---- figures ------------------------------------------------------------ */

struct figure {
	const char *name;
	uint64_t (*loop)(uint32_t n);
	uint32_t iterations;	/* loop_mem: passes over MEM_PAGES */
	bool needs_bench_policy;
	bool named_only;	/* not in "every figure": it means something under one policy */
};

static const struct figure figures[] = {
	{ "empty", loop_empty, 1000000, false, false },
	{ "cpuid", loop_cpuid, 10000, false, false },
	{ "hypercall", loop_hypercall, 10000, true, false },
	{ "rdtsc", loop_rdtsc, 10000, false, false },
	{ "io", loop_io, 10000, false, false },
	{ "msr", loop_msr, 10000, false, false },
	{ "memory", loop_memory, 10000, false, true },
	{ "loop-reg", loop_reg, 1000000, false, false },
	{ "loop-mem", loop_mem, 20, false, false },
};

static void measure(const struct figure *f, int rounds)
{
	uint32_t n = f->iterations / iterations_scale;
	uint64_t best = ~0ull, start = tsc();

	if (f->loop == loop_mem && n < 2)
		n = 2;
	f->loop(n / 10 ? n / 10 : 1);		/* warm up */
	for (int r = 0; r < rounds; r++) {
		uint64_t t = f->loop(n);
		if (t < best)
			best = t;
	}
	uint64_t end = tsc();
	if (f->loop == loop_mem)
		n *= MEM_PAGES;			/* per page touched */
	printk("%s cycles=%llu total=%llu iterations=%u\n", f->name,
	       (unsigned long long)((best + n / 2) / n), (unsigned long long)best, n);
	if (spans)
		printk("%s span start=%llu end=%llu\n", f->name,
		       (unsigned long long)start, (unsigned long long)end);
}

/* ---- set-up ------------------------------------------------------------- */

static uint32_t cpuid_ebx_ecx_edx(uint32_t leaf, char out[13])
{
	uint32_t a = leaf, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	memcpy(out, &b, 4);
	memcpy(out + 4, leaf == 0 ? &d : &c, 4);
	memcpy(out + 8, leaf == 0 ? &c : &d, 4);
	out[12] = 0;
	return a;
}

/* Is `word` one of the command line's words? (The first word may be the
 * kernel's path, as QEMU and lvisor's firmware give it, or not, as GRUB
 * does: no path is a figure's name.) */
static bool has_word(const char *cmdline, const char *word)
{
	size_t len = strlen(word);
	const char *p = cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, word, len) && (p[len] == ' ' || p[len] == 0))
			return true;
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

/* Exactly 1000 CPUID instructions, the first of them for the vendor. */
static void cpuid1000(const char *cmdline)
{
	char vendor[13];

	cpuid_ebx_ecx_edx(0, vendor);
	intel = !strcmp(vendor, "GenuineIntel");
	loop_cpuid(999);
	printk("cpuid1000: 1000 CPUID done (%s)\n", vendor);
	if (has_word(cmdline, "hypercall")) {
		printk("cpuid1000: one %s\n", intel ? "VMCALL" : "VMMCALL");
		hypercall();
	}
	poweroff(1);
}

/* ACPI power-off (S5: SLP_TYP 0, SLP_EN) through PM1a_CNT: at 0x604 on
 * QEMU's i440fx machine, at 0xb004 on Bochs; nothing listens at the other. */
static void acpi_poweroff(void)
{
	console_flush();
	outw(0x604, 0x2000);
	outw(0xb004, 0x2000);
	/* QEMU acts on the request a moment later, not during the OUT: give
	 * it time before calling this a failure. */
	for (volatile uint32_t i = 0; i < 100000000; i++)
		;
}

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	const struct multiboot_info *mbi = (const struct multiboot_info *)info;
	const char *cmdline = "";
	char vendor[13], signature[13];
	bool some = false;

	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MULTIBOOT_INFO_CMDLINE))
		cmdline = (const char *)mbi->cmdline;
	console_port_from_cmdline(cmdline);	/* COM2 as lvisor's second guest */
	console_init("bench: ", 0);
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
		printk("entered with EAX=0x%08x, not the multiboot magic\n", magic);
		poweroff(0);
	}
	if (has_word(cmdline, "cpuid1000"))
		cpuid1000(cmdline);

	cpuid_ebx_ecx_edx(0, vendor);
	intel = !strcmp(vendor, "GenuineIntel");
	cpuid_ebx_ecx_edx(0x40000000, signature);
	under_bench_policy = !strcmp(signature, "LvisorBench!");
	int rounds = ROUNDS;
	if (has_word(cmdline, "quick")) {
		iterations_scale = 10;
		rounds = 2;
	}
	spans = has_word(cmdline, "span");
	printk("vendor=%s hypercall=%s bench-policy=%s quick=%s timing=lfence,rdtsc,lfence\n",
	       vendor, intel ? "vmcall" : "vmmcall", under_bench_policy ? "yes" : "no",
	       iterations_scale > 1 ? "yes" : "no");

	for (unsigned i = 0; i < sizeof(figures) / sizeof(figures[0]); i++)
		some |= has_word(cmdline, figures[i].name);
	for (unsigned i = 0; i < sizeof(figures) / sizeof(figures[0]); i++) {
		const struct figure *f = &figures[i];
		if (some && !has_word(cmdline, f->name) && strcmp(f->name, "empty"))
			continue;
		if (f->named_only && !has_word(cmdline, f->name))
			continue;
		if (f->needs_bench_policy && !under_bench_policy) {
			printk("%s skipped: no lvisor bench policy (CPUID 0x40000000)\n", f->name);
			continue;
		}
		measure(f, rounds);
	}
	printk("done\n");
	if (has_word(cmdline, "acpi")) {
		acpi_poweroff();
		printk("ACPI power-off failed\n");
		poweroff(0);
	}
	poweroff(1);
}
