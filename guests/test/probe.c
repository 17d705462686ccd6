/*
 * probe: a 32-bit multiboot test kernel that shows what an exit policy
 * changes, one line per effect, then powers off. It runs bare too
 * (`make qemu-kernel KERNEL=probe`), for comparison. Each line starts
 * "probe: " and names what was done and what came back:
 *
 *   cpuid 0 / 1 / 0x80000001 / 0x40000000   vendor, feature bits, hypervisor leaf
 *   rdtsc                                   two reads in a row, and their delta
 *   rdmsr 0x1b                              IA32_APIC_BASE, 40 times (if CPUID says there
 *                                           is an APIC)
 *   out/in port 0x3ff                       the 16550 scratch register of COM1: written,
 *                                           then read back (an ignored write leaves it)
 *   in port 0x2e8                           a 32-bit read where nothing is (COM4's place)
 *   vmmcall / vmcall                        a hypercall, chosen by the CPU vendor
 *   invlpg, wbinvd                          instructions a policy may turn into #UD / #GP
 *   int3                                    where #BP returns to: after the INT3
 *   rdmsr 0xc0010117                        VM_HSAVE_PA, SVM's host save area: #GP under
 *                                           lvisor, which hides SVM
 *   wrmsr EFER                              unchanged, then with reserved bit 1 (#GP)
 *   dr7                                     set, then read back after a CPUID (an exit)
 *   dr0 breakpoint                          an execute breakpoint: #DB, with DR6.B0 set
 *   prefixed                                CPUID and RDMSR with prefixes the CPU ignores
 *                                           (3e 0f a2, ...): lvisor must resume after
 *                                           the whole instruction; 16 bytes is #GP
 *   single step                             TF set over CPUID, a prefixed CPUID, RDMSR,
 *                                           IN: one #DB, right after the instruction
 *   pae paging                              PAE paging on and off, a prefixed CPUID
 *                                           with it on (lvisor reads the guest's tables)
 *   pdpte                                   (APPEND=pdpte) PAE paging with CR3 at lvisor's
 *                                           memory, the LAPIC, past RAM: #GP
 *
 * APPEND=devices runs other probes instead: what the guest can do to the
 * machine through devices and MSRs that could reach lvisor (lvisor grants
 * none of it, so each must come back as written here when run under it):
 *
 *   fw_cfg                                  QEMU's firmware interface: its signature,
 *                                           and a DMA transfer aimed at lvisor's memory
 *                                           (ports not granted: absent hardware)
 *   pci D:F command / BAR / register 0x40   bus mastering switched on, a BAR moved,
 *                                           sized and put back, a device-specific
 *                                           register written, each read back
 *   wrmsr ...                               IA32_APIC_BASE moved (#GP) and rewritten,
 *                                           the PAT with an undefined type (#GP),
 *                                           the MTRR default type (dropped), the TSC
 *                                           (not granted: #GP)
 *
 * A small IDT catches every exception: the expected ones (a hypercall
 * without a hypervisor, an injected fault) print "caught #XX ... at ADDR"
 * and resume after the faulting instruction; any other one fails the run.
 */
#include <stdbool.h>
#include <stdint.h>
#include <asm/svm.h>
#include <asm/vmx.h>
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/multiboot.h>


#define SCRATCH_PORT	0x3ff		/* COM1 + 7: 16550 scratch register */
#define SCRATCH_VALUE	0x5a
#define EMPTY_PORT	0x2e8		/* COM4's base: no device there on QEMU or Bochs */
#define MSR_APIC_BASE	0x1b		/* IA32_APIC_BASE */
#define MSR_READS	40
#define HYPERCALL_RAX	0x1b		/* what the guest passes in RAX */

#define MSR_VM_HSAVE_PA	0xc0010117	/* AMD: the host save area of SVM (APM 15.30.4) */
#define DR7_L0		(1u << 0)	/* DR0 enabled (SDM 18.2.4) */
#define DR7_FIXED	0x400		/* bit 10 reads as 1 */

#define CPUID_1_EDX_MSR		(1u << 5)
#define CPUID_1_EDX_APIC	(1u << 9)
#define CPUID_1_ECX_X2APIC	(1u << 21)
#define CPUID_1_ECX_AVX		(1u << 28)
#define CPUID_80000001_EDX_RDTSCP	(1u << 27)

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

/* ---- descriptor tables: a flat GDT of our own and an IDT -------------- */

struct desc_ptr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

static const uint64_t gdt[] = {
	0,
	0x00cf9a000000ffffull,		/* 0x08: code, base 0, limit 4 GiB, 32-bit */
	0x00cf92000000ffffull,		/* 0x10: data, base 0, limit 4 GiB */
};

static uint64_t idt[32];

/* The 32 entry stubs, 16 bytes apart: each pushes a dummy error code
 * where the CPU pushes none (SDM 6.13), then the vector. */
extern char probe_vectors[];
__asm__(
	"	.pushsection .text\n"
	"	.align 16\n"
	"probe_vectors:\n"
	"	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	"	.align 16\n"
	"	.if (\\n == 8) || (\\n >= 10 && \\n <= 14) || (\\n == 17) || (\\n == 21) || (\\n == 29) || (\\n == 30)\n"
	"	.else\n"
	"	pushl $0\n"
	"	.endif\n"
	"	pushl $\\n\n"
	"	jmp probe_trap_common\n"
	"	.endr\n"
	"probe_trap_common:\n"
	"	pushal\n"
	"	pushl %esp\n"
	"	call probe_trap\n"
	"	addl $4, %esp\n"
	"	popal\n"
	"	addl $8, %esp\n"		/* vector and error code */
	"	iret\n"
	"	.popsection\n");

struct trap_frame {
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;	/* pushal */
	uint32_t vector, error_code;
	uint32_t eip, cs, eflags;				/* pushed by the CPU */
};

static const char *const vector_names[32] = {
	"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "9", "TS", "NP", "SS", "GP",
	"PF", "15", "MF", "AC", "MC", "XM", "VE", "CP",
};

/* Where to resume after an expected fault (0: none expected): set by TRY()
 * below, cleared by the handler, which also counts the faults it caught. */
static volatile uint32_t fixup;
static volatile uint32_t faults;
static volatile uint32_t fault_eip;	/* where the CPU would have returned to */
static volatile uint32_t fault_dr6;	/* DR6 in the last #DB */
/* Single-stepping (TF): the #DBs taken, where the first one was raised
 * (the address it returns to) and DR6 then. */
static volatile bool stepping;
static volatile uint32_t steps, step_eip, step_dr6;

#define EFLAGS_TF	(1u << 8)
#define DR6_BS		(1u << 14)
#define DR6_INIT	0xffff0ff0u

void probe_trap(struct trap_frame *f);
void probe_trap(struct trap_frame *f)
{
	const char *name = vector_names[f->vector] ? vector_names[f->vector] : "?";
	bool err = (1u << f->vector) & ((1u << 8) | (0x1fu << 10) | (1u << 17) |
					 (1u << 21) | (1u << 29) | (1u << 30));

	if (f->vector == 1 && stepping) {
		uint32_t dr6;
		__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
		__asm__ volatile("mov %0, %%dr6" : : "r"(DR6_INIT));
		if (!steps++) {
			step_eip = f->eip;
			step_dr6 = dr6;
		}
		f->eflags &= ~EFLAGS_TF;	/* one step is enough: a second #DB is lvisor's bug */
		return;
	}
	if (!fixup) {
		printk("unexpected exception #%s (vector %u, error code 0x%x) at 0x%08x\n",
		       name, f->vector, f->error_code, f->eip);
		poweroff(0);
	}
	if (err)
		printk("caught #%s error code 0x%x at 0x%08x\n", name, f->error_code, f->eip);
	else
		printk("caught #%s at 0x%08x\n", name, f->eip);
	fault_eip = f->eip;
	if (f->vector == 1) {
		uint32_t dr6;
		__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
		fault_dr6 = dr6;
		__asm__ volatile("mov %0, %%dr6" : : "r"(DR6_INIT));	/* DR6's bits are sticky */
	}
	f->eip = fixup;		/* skip the faulting instruction */
	fixup = 0;
	faults++;
}

static void tables_init(void)
{
	struct desc_ptr g = { sizeof(gdt) - 1, (uint32_t)gdt };
	struct desc_ptr i = { sizeof(idt) - 1, (uint32_t)idt };

	__asm__ volatile("lgdt %0\n"
			 "ljmp $0x08, $1f\n"
			 "1: movw $0x10, %%ax\n"
			 "movw %%ax, %%ds\n"
			 "movw %%ax, %%es\n"
			 "movw %%ax, %%ss\n"
			 "movw %%ax, %%fs\n"
			 "movw %%ax, %%gs\n"
			 : : "m"(g) : "eax", "memory");
	for (int v = 0; v < 32; v++) {
		uint32_t h = (uint32_t)probe_vectors + 16 * v;
		/* 32-bit interrupt gate, DPL 0, present (SDM 6.11) */
		idt[v] = (h & 0xffff) | (0x08u << 16) | ((uint64_t)0x8e00 << 32) |
			 ((uint64_t)(h >> 16) << 48);
	}
	__asm__ volatile("lidt %0" : : "m"(i) : "memory");
}

/*
 * Run one instruction that may fault: `at` gets its address, a fault
 * resumes right after it. Returns whether it faulted.
 */
#define TRY(insn, at, ...) ({							\
		uint32_t before_ = faults;					\
		__asm__ volatile("movl $2f, %[fix]\n"				\
				 "movl $1f, %[at]\n"				\
				 "1: " insn "\n"				\
				 "2:\n"						\
				 : [fix] "=m"(fixup), [at] "=&r"(at), ##__VA_ARGS__ \
				 : : "memory");					\
		fixup = 0;							\
		faults != before_;						\
	})

/* ---- the probes ------------------------------------------------------- */

static void printable(char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			s[i] = '.';
}

static char vendor[13];

static void probe_cpuid(void)
{
	struct cpuid_regs r = cpuid(0, 0);

	memcpy(vendor, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	printable(vendor, 12);
	printk("cpuid 0: vendor \"%s\" max leaf 0x%x\n", vendor, r.eax);

	r = cpuid(1, 0);
	/* OSXSAVE copies CR4.OSXSAVE, which this kernel leaves clear. */
	uint32_t cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	printk("cpuid 1: ecx 0x%08x edx 0x%08x: hypervisor=%d vmx=%d x2apic=%d avx=%d msr=%d "
	       "xsave=%d osxsave=%d (cr4 0x%x)\n",
	       r.ecx, r.edx, !!(r.ecx & CPUID_1_ECX_HYPERVISOR), !!(r.ecx & CPUID_1_ECX_VMX),
	       !!(r.ecx & CPUID_1_ECX_X2APIC), !!(r.ecx & CPUID_1_ECX_AVX),
	       !!(r.edx & CPUID_1_EDX_MSR), !!(r.ecx & CPUID_1_ECX_XSAVE),
	       !!(r.ecx & CPUID_1_ECX_OSXSAVE), cr4);
	bool hypervisor = r.ecx & CPUID_1_ECX_HYPERVISOR;

	uint32_t max_ext = cpuid(0x80000000, 0).eax;
	if (max_ext >= 0x80000001) {
		r = cpuid(0x80000001, 0);
		printk("cpuid 0x80000001: ecx 0x%08x edx 0x%08x: svm=%d rdtscp=%d lm=%d\n",
		       r.ecx, r.edx, !!(r.ecx & CPUID_80000001_ECX_SVM), !!(r.edx & CPUID_80000001_EDX_RDTSCP),
		       !!(r.edx & CPUID_80000001_EDX_LM));
	}

	/* The hypervisor's own leaves: 0x40000000 gives a signature in EBX, ECX, EDX. */
	if (hypervisor) {
		char sig[13] = { 0 };
		r = cpuid(0x40000000, 0);
		memcpy(sig, &r.ebx, 4);
		memcpy(sig + 4, &r.ecx, 4);
		memcpy(sig + 8, &r.edx, 4);
		printable(sig, 12);
		printk("cpuid 0x40000000: max leaf 0x%x signature \"%s\"\n", r.eax, sig);
	}
}

static void probe_rdtsc(void)
{
	uint64_t t0 = rdtsc();
	uint64_t t1 = rdtsc();

	printk("rdtsc 0x%016llx then 0x%016llx: delta %lld\n",
	       (unsigned long long)t0, (unsigned long long)t1, (long long)(t1 - t0));
}

static void probe_msr(void)
{
	uint32_t edx = cpuid(1, 0).edx;

	if ((edx & (CPUID_1_EDX_MSR | CPUID_1_EDX_APIC)) != (CPUID_1_EDX_MSR | CPUID_1_EDX_APIC)) {
		printk("rdmsr: CPUID says there is no APIC base MSR\n");
		return;
	}
	/* Read it MSR_READS times: a rule with `log: true` shows its rate limit. */
	uint64_t first = rdmsr(MSR_APIC_BASE);
	int same = 1;
	for (int i = 1; i < MSR_READS; i++)
		same += rdmsr(MSR_APIC_BASE) == first;
	printk("rdmsr 0x%x (IA32_APIC_BASE) %d times: 0x%016llx (%d the same)\n", MSR_APIC_BASE,
	       MSR_READS, (unsigned long long)first, same);
}

static void probe_io(void)
{
	uint8_t before = inb(SCRATCH_PORT);
	outb(SCRATCH_PORT, SCRATCH_VALUE);
	uint8_t after = inb(SCRATCH_PORT);

	printk("scratch register (port 0x%x): 0x%02x, out 0x%02x, in 0x%02x: %s\n",
	       SCRATCH_PORT, before, SCRATCH_VALUE, after,
	       after == SCRATCH_VALUE ? "written" : "not written");
	printk("in port 0x%x (32-bit, no device): 0x%08x\n", EMPTY_PORT, inl(EMPTY_PORT));
}

static void hypercall(const char *name)
{
	uint32_t at, rax = HYPERCALL_RAX;
	bool fault;

	if (name[2] == 'm')
		fault = TRY("vmmcall", at, "+a"(rax));
	else
		fault = TRY("vmcall", at, "+a"(rax));
	if (fault)
		printk("%s at 0x%08x: faulted\n", name, at);
	else
		printk("%s at 0x%08x: rax 0x%x -> 0x%x\n", name, at, HYPERCALL_RAX, rax);
}

static void probe_hypercall(void)
{
	/* VMMCALL is AMD's, VMCALL Intel's; each raises #UD on the other's CPU
	 * (and on both without a hypervisor). A vendor we do not know: try both. */
	if (!strcmp(vendor, "AuthenticAMD")) {
		hypercall("vmmcall");
	} else if (!strcmp(vendor, "GenuineIntel")) {
		hypercall("vmcall");
	} else {
		hypercall("vmcall");
		hypercall("vmmcall");
	}
}

static void probe_faults(void)
{
	uint32_t at;
	bool fault;

	fault = TRY("invlpg (0x1000)", at);
	printk("invlpg at 0x%08x: %s\n", at, fault ? "faulted" : "ran");
	fault = TRY("wbinvd", at);
	printk("wbinvd at 0x%08x: %s\n", at, fault ? "faulted" : "ran");
}

/* INT3 is a trap: #BP returns to the instruction after it (SDM 6.5). */
static void probe_int3(void)
{
	uint32_t at;

	if (TRY("int3", at))
		printk("int3 at 0x%08x: #BP returns to int3+%d\n", at, (int)(fault_eip - at));
	else
		printk("int3 at 0x%08x: no #BP\n", at);
}

/* What the guest may do with EFER, and whether SVM's MSRs show through. */
static void probe_msrs(void)
{
	uint32_t at, lo, hi, ecx = MSR_VM_HSAVE_PA;
	bool fault;

	fault = TRY("rdmsr", at, "=a"(lo), "=d"(hi), "+c"(ecx));
	if (fault)
		printk("rdmsr 0xc0010117 (VM_HSAVE_PA): faulted\n");
	else
		printk("rdmsr 0xc0010117 (VM_HSAVE_PA): 0x%08x%08x\n", hi, lo);

	if (cpuid(0x80000000, 0).eax < 0x80000001 ||
	    !(cpuid(0x80000001, 0).edx & CPUID_80000001_EDX_LM)) {
		printk("wrmsr EFER: CPUID says there is no EFER with LME\n");
		return;
	}
	uint64_t efer = rdmsr(MSR_EFER);
	lo = (uint32_t)efer;
	hi = (uint32_t)(efer >> 32);
	ecx = MSR_EFER;
	fault = TRY("wrmsr", at, "+a"(lo), "+d"(hi), "+c"(ecx));
	printk("wrmsr EFER 0x%llx (unchanged): %s\n", (unsigned long long)efer,
	       fault ? "faulted" : "ran");
	lo = (uint32_t)efer | (1u << 1);
	fault = TRY("wrmsr", at, "+a"(lo), "+d"(hi), "+c"(ecx));
	printk("wrmsr EFER 0x%llx (reserved bit 1): %s; EFER now 0x%llx\n",
	       (unsigned long long)efer | 2, fault ? "faulted" : "ran",
	       (unsigned long long)rdmsr(MSR_EFER));
}

/* DR7 is the guest's: a VM exit must not reset it (SDM 28.5.1). */
static void probe_dr7(void)
{
	uint32_t dr7;

	/* DR0 = an address nothing executes, as an execute breakpoint */
	__asm__ volatile("mov %0, %%dr0" : : "r"(0xfffffff0u));
	__asm__ volatile("mov %0, %%dr7" : : "r"(DR7_FIXED | DR7_L0));
	(void)cpuid(0, 0);
	__asm__ volatile("mov %%dr7, %0" : "=r"(dr7));
	__asm__ volatile("mov %0, %%dr7" : : "r"(DR7_FIXED));
	printk("dr7 0x%x, after a CPUID 0x%x\n", DR7_FIXED | DR7_L0, dr7);
}

/* An execute breakpoint (DR0, DR7.L0) on an instruction: #DB before it
 * runs, and DR6.B0 says which breakpoint it was (SDM 18.2.3, 18.3.1.1). */
static void probe_breakpoint(void)
{
	uint32_t at;

	fault_dr6 = 0;
	__asm__ volatile("movl $2f, %[fix]\n"
			 "movl $1f, %[at]\n"
			 "movl %[at], %%dr0\n"
			 "movl %[dr7], %%dr7\n"
			 "nop\n"
			 "1: nop\n"
			 "2:\n"
			 : [fix] "=m"(fixup), [at] "=&r"(at)
			 : [dr7] "r"(DR7_FIXED | DR7_L0) : "memory");
	fixup = 0;
	__asm__ volatile("mov %0, %%dr7" : : "r"(DR7_FIXED));
	printk("dr0 breakpoint at 0x%08x: %s, dr6 0x%08x\n", at,
	       fault_eip == at ? "#DB there" : "no #DB there", fault_dr6);
}

/*
 * Prefixes that these instructions ignore (a segment override, operand
 * size) still count in their length (SDM 2.1.1): lvisor must resume the
 * guest after all of it. 15 bytes is the most an instruction may have; a
 * 16th is #GP (SDM 2.3.11) before anything exits. Each case runs the
 * instruction, then `mov $0x600d, %esi`: resumed in the middle, the guest
 * would run other instructions instead.
 */
#define PREFIXED(insn, ...) ({						\
		uint32_t at, esi_ = 0;					\
		bool f_ = TRY(insn "\n\tmov $0x600d, %%esi", at,		\
			      "+S"(esi_), ##__VA_ARGS__);			\
		f_ ? "faulted" : esi_ == 0x600d ? "resumed after it" : "lost its way"; \
	})

static void probe_prefixes(void)
{
	static const char *const names[] = {
		"3e 0f a2", "66 0f a2", "26 2e 36 3e 64 65 0f a2", "13 x 3e, 0f a2 (15 bytes)",
		"14 x 3e, 0f a2 (16 bytes)",
	};
	char v[13];
	const char *how;
	uint32_t a, b, c, d;

	for (int i = 0; i < 5; i++) {
		a = c = 0;
		b = d = 0;
		switch (i) {
		case 0: how = PREFIXED(".byte 0x3e, 0x0f, 0xa2", "+a"(a), "=b"(b), "+c"(c), "=d"(d)); break;
		case 1: how = PREFIXED(".byte 0x66, 0x0f, 0xa2", "+a"(a), "=b"(b), "+c"(c), "=d"(d)); break;
		case 2: how = PREFIXED(".byte 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x0f, 0xa2",
				       "+a"(a), "=b"(b), "+c"(c), "=d"(d)); break;
		case 3: how = PREFIXED(".rept 13; .byte 0x3e; .endr; .byte 0x0f, 0xa2",
				       "+a"(a), "=b"(b), "+c"(c), "=d"(d)); break;
		default: how = PREFIXED(".rept 14; .byte 0x3e; .endr; .byte 0x0f, 0xa2",
					"+a"(a), "=b"(b), "+c"(c), "=d"(d)); break;
		}
		memcpy(v, &b, 4);
		memcpy(v + 4, &d, 4);
		memcpy(v + 8, &c, 4);
		v[12] = 0;
		printable(v, 12);
		printk("prefixed cpuid %s: %s, vendor \"%s\"\n", names[i], how, v);
	}
	if (cpuid(0x80000000, 0).eax < 0x80000001 ||
	    !(cpuid(0x80000001, 0).edx & CPUID_80000001_EDX_LM))
		return;
	a = d = 0;
	c = MSR_EFER;
	how = PREFIXED(".byte 0x3e, 0x0f, 0x32", "+a"(a), "+c"(c), "+d"(d));
	printk("prefixed rdmsr 3e 0f 32 (EFER): %s, 0x%x%08x\n", how, d, a);
}

/*
 * One instruction with RFLAGS.TF set: the single-step #DB comes right after
 * it (SDM 18.3.1.4), with DR6.BS, once; also when lvisor emulates it. TF is
 * set by POPF, which steps the instruction after it, not itself; the
 * handler clears TF again.
 */
#define STEP(what, insn, ...) do {						\
		uint32_t at_, next_;						\
		steps = 0;							\
		stepping = true;						\
		__asm__ volatile("movl $1f, %[at]\n"				\
				 "movl $2f, %[next]\n"				\
				 "pushfl\n"					\
				 "orl %[tf], (%%esp)\n"				\
				 "popfl\n"					\
				 "1: " insn "\n"				\
				 "2: nop\n"					\
				 : [at] "=&m"(at_), [next] "=&m"(next_), ##__VA_ARGS__ \
				 : [tf] "i"(EFLAGS_TF) : "memory");		\
		stepping = false;						\
		printk("single step over %s: %u #DB, at %s+%d, dr6.bs %d\n", what, steps, \
		       what, (int)(step_eip - at_), !!(step_dr6 & DR6_BS));	\
		(void)next_;							\
	} while (0)

static void probe_single_step(void)
{
	uint32_t a = 0, b, c = 0, d;

	STEP("cpuid", "cpuid", "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	a = c = 0;
	STEP("3e-cpuid", ".byte 0x3e, 0x0f, 0xa2", "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (cpuid(0x80000000, 0).eax >= 0x80000001 &&
	    (cpuid(0x80000001, 0).edx & CPUID_80000001_EDX_LM)) {
		c = MSR_EFER;
		STEP("rdmsr", "rdmsr", "=a"(a), "+c"(c), "=d"(d));
	}
	d = SCRATCH_PORT;
	STEP("in", "inb %%dx, %%al", "=a"(a), "+d"(d));
}

/* ---- PAE paging: the PDPTEs that MOV to CR0 loads (SDM 4.4.1) ---------- */

static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pae_pd[512] __attribute__((aligned(4096)));

#define CR0_PG_BIT	(1u << 31)
#define CR4_PAE_BIT	(1u << 5)

/* Paging on with CR3 = cr3 under PAE, then off again: whether MOV to CR0 faulted. */
static bool pae_on_off(uint32_t cr3, bool cpuid_too, const char **prefixed)
{
	uint32_t cr0, cr4, at, a = 0, b, c = 0, d, esi = 0;
	bool fault;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_PAE_BIT));
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3));
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 |= CR0_PG_BIT;
	fault = TRY("mov %[v], %%cr0", at, [v] "+r"(cr0));
	if (!fault && cpuid_too) {
		/* Resumed after it only if lvisor found the bytes through
		 * these page tables (on SVM without nRIP save). */
		bool f = TRY(".byte 0x3e, 0x0f, 0xa2\n\tmov $0x600d, %%esi", at,
			     "+a"(a), "=b"(b), "+c"(c), "=d"(d), "+S"(esi));
		*prefixed = f ? "faulted" : esi == 0x600d ? "resumed after it" : "lost its way";
	}
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 & ~CR0_PG_BIT));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	return fault;
}

static void probe_pae(bool bad_pdptes)
{
	const char *prefixed = "not run";

	for (int i = 0; i < 512; i++)		/* 1 GiB identity-mapped with 2 MiB pages */
		pae_pd[i] = ((uint64_t)i << 21) | 0x83;	/* present, writable, PS */
	pdpt[0] = (uint32_t)pae_pd | 1;
	bool fault = pae_on_off((uint32_t)pdpt, true, &prefixed);
	printk("pae paging with the PDPT at 0x%08x: %s; prefixed cpuid with it on: %s\n",
	       (uint32_t)pdpt, fault ? "faulted" : "on and off", prefixed);
	if (!bad_pdptes)
		return;
	static const struct { uint32_t cr3; const char *what; } bad[] = {
		{ 0x10000000, "lvisor's memory" }, { 0xfee00000, "the local APIC" },
		{ 0xf0000000, "no RAM" },
	};
	for (int i = 0; i < 3; i++) {
		fault = pae_on_off(bad[i].cr3, false, &prefixed);
		printk("pdpte at 0x%08x (%s): %s\n", bad[i].cr3, bad[i].what,
		       fault ? "#GP" : "paging on");
	}
}

/* ---- APPEND=devices: what could reach lvisor through the machine ------ */

#define FW_CFG_SELECTOR	0x510
#define FW_CFG_DATA	0x511
#define FW_CFG_DMA_HIGH	0x514		/* big-endian 64-bit address of a descriptor */
#define FW_CFG_DMA_LOW	0x518		/* writing the low half starts the transfer */
#define FW_CFG_READ	0x02		/* DMA control: read from the device to memory */
#define FW_CFG_SELECT	0x08
#define VMM_MEMORY	0x10000000	/* where lvisor lives (vmm/vmm.h) */

static uint32_t bswap32(uint32_t x)
{
	return __builtin_bswap32(x);
}

/* QEMU's fw_cfg: the signature at key 0, then a DMA read of it aimed at
 * lvisor's memory. Under lvisor these ports are absent hardware. */
static void probe_fw_cfg(void)
{
	static struct { uint32_t control, length; uint64_t address; } __attribute__((aligned(16))) dma;
	char sig[5] = { 0 };

	outw(FW_CFG_SELECTOR, 0);
	for (int i = 0; i < 4; i++)
		sig[i] = inb(FW_CFG_DATA);
	printable(sig, 4);
	printk("fw_cfg signature: \"%s\"\n", sig);

	dma.control = bswap32(FW_CFG_SELECT << 0 | FW_CFG_READ);	/* key 0 */
	dma.length = bswap32(4);
	dma.address = (uint64_t)bswap32(VMM_MEMORY) << 32;	/* big-endian 64-bit */
	outl(FW_CFG_DMA_HIGH, 0);
	outl(FW_CFG_DMA_LOW, bswap32((uint32_t)&dma));
	printk("fw_cfg DMA to 0x%08x: control now 0x%08x\n", VMM_MEMORY, bswap32(dma.control));
}

static uint32_t pci_read(uint32_t bdf, uint8_t reg)
{
	outl(0xcf8, 0x80000000u | bdf | reg);
	return inl(0xcfc);
}

static void pci_write(uint32_t bdf, uint8_t reg, uint32_t val)
{
	outl(0xcf8, 0x80000000u | bdf | reg);
	outl(0xcfc, val);
}

/* The first PCI function on bus 0 with an I/O BAR 4: the IDE controller's
 * bus-master DMA engine (PIIX). */
static uint32_t pci_find_dma_engine(void)
{
	for (uint32_t dev = 0; dev < 32; dev++)
		for (uint32_t fn = 0; fn < 8; fn++) {
			uint32_t bdf = dev << 11 | fn << 8;
			if ((pci_read(bdf, 0) & 0xffff) != 0xffff && (pci_read(bdf, 0x20) & 1) &&
			    (pci_read(bdf, 0x08) >> 16) == 0x0101)	/* class: IDE */
				return bdf;
		}
	return 0;
}

static void probe_pci(void)
{
	uint32_t bdf = pci_find_dma_engine();
	if (!bdf) {
		printk("pci: no IDE controller with a DMA engine\n");
		return;
	}
	unsigned dev = bdf >> 11, fn = bdf >> 8 & 7;

	uint32_t cmd = pci_read(bdf, 0x04) & 0xffff;
	pci_write(bdf, 0x04, cmd | 4);
	printk("pci %02x.%u command 0x%04x, bus master set: now 0x%04x (bus master %s)\n", dev, fn,
	       cmd, pci_read(bdf, 0x04) & 0xffff, pci_read(bdf, 0x04) & 4 ? "on" : "off");
	pci_write(bdf, 0x04, cmd);

	uint32_t bar = pci_read(bdf, 0x20);
	pci_write(bdf, 0x20, 0xe001);
	printk("pci %02x.%u BAR4 0x%08x, moved to 0xe001: now 0x%08x (%s)\n", dev, fn, bar,
	       pci_read(bdf, 0x20), pci_read(bdf, 0x20) == bar ? "not moved" : "moved");
	pci_write(bdf, 0x20, 0xffffffff);
	uint32_t size = pci_read(bdf, 0x20);
	pci_write(bdf, 0x20, bar);
	printk("pci %02x.%u BAR4 sized: 0x%08x, put back: 0x%08x (%s)\n", dev, fn, size,
	       pci_read(bdf, 0x20), pci_read(bdf, 0x20) == bar ? "as before" : "changed");

	uint32_t reg = pci_read(bdf, 0x40);
	pci_write(bdf, 0x40, ~reg);
	printk("pci %02x.%u register 0x40 0x%08x, inverted: now 0x%08x (%s)\n", dev, fn, reg,
	       pci_read(bdf, 0x40), pci_read(bdf, 0x40) == reg ? "unchanged" : "changed");
	pci_write(bdf, 0x40, reg);
}

static bool try_wrmsr(uint32_t msr, uint64_t val)
{
	uint32_t at, lo = (uint32_t)val, hi = (uint32_t)(val >> 32), ecx = msr;

	return !TRY("wrmsr", at, "+a"(lo), "+d"(hi), "+c"(ecx));
}

static void probe_device_msrs(void)
{
	uint64_t apic = rdmsr(MSR_APIC_BASE);
	bool ok = try_wrmsr(MSR_APIC_BASE, (apic & 0xfff) | 0x0f000000);
	printk("wrmsr IA32_APIC_BASE moved to 0x0f000000: %s; now 0x%llx\n",
	       ok ? "ran" : "faulted", (unsigned long long)rdmsr(MSR_APIC_BASE));
	try_wrmsr(MSR_APIC_BASE, apic);		/* put back, in case it moved */
	ok = try_wrmsr(MSR_APIC_BASE, apic);
	printk("wrmsr IA32_APIC_BASE unchanged: %s\n", ok ? "ran" : "faulted");

	uint64_t pat = rdmsr(0x277);
	ok = try_wrmsr(0x277, (pat & ~0xffull) | 2);
	printk("wrmsr IA32_PAT with type 2: %s; now 0x%llx\n", ok ? "ran" : "faulted",
	       (unsigned long long)rdmsr(0x277));
	ok = try_wrmsr(0x277, (pat & ~0xffull) | 1);
	printk("wrmsr IA32_PAT entry 0 = 1 (WC): %s; reads 0x%02x\n", ok ? "ran" : "faulted",
	       (unsigned)(rdmsr(0x277) & 0xff));
	try_wrmsr(0x277, pat);

	uint64_t def = rdmsr(0x2ff);
	ok = try_wrmsr(0x2ff, def & ~0xc00ull);		/* MTRRs off: all memory uncached */
	printk("wrmsr IA32_MTRR_DEF_TYPE 0x%llx without E: %s; now 0x%llx (%s)\n",
	       (unsigned long long)def, ok ? "ran" : "faulted", (unsigned long long)rdmsr(0x2ff),
	       rdmsr(0x2ff) == def ? "unchanged" : "changed");
	try_wrmsr(0x2ff, def);

	ok = try_wrmsr(0x10, 0);
	printk("wrmsr IA32_TIME_STAMP_COUNTER 0: %s\n", ok ? "ran" : "faulted");
}

static void probe_devices(void)
{
	probe_fw_cfg();
	probe_pci();
	probe_device_msrs();
}

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	const struct multiboot_info *mbi = (const struct multiboot_info *)info;
	bool pdpte = false, devices = false;

	console_init("probe: ", 0);
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
		printk("entered with EAX=0x%08x, not the multiboot magic\n", magic);
		poweroff(0);
	}
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MULTIBOOT_INFO_CMDLINE))
	{
		const char *space = strrchr((const char *)mbi->cmdline, ' ');
		pdpte = space && !strcmp(space + 1, "pdpte");
		devices = space && !strcmp(space + 1, "devices");
	}
	tables_init();
	if (devices) {
		probe_devices();
		printk("done\n");
		poweroff(1);
	}
	probe_cpuid();
	probe_rdtsc();
	probe_msr();
	probe_io();
	probe_hypercall();
	probe_faults();
	probe_int3();
	probe_msrs();
	probe_dr7();
	probe_breakpoint();
	probe_prefixes();
	probe_single_step();
	probe_pae(pdpte);
	printk("done\n");
	poweroff(1);
}
