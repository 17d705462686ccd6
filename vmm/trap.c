/* A fault inside the VMM: print what the CPU pushed, the registers and the
 * last exits (the one being handled comes last), stop. */
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/printk.h>
#include "smp.h"
#include "stats.h"
#include "vcpu.h"
#include "vmm.h"

struct trap_frame {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};

extern const uint64_t trap_vectors[32];
static uint64_t idt[32 * 2];

void trap_init(void)
{
	for (int v = 0; v < 32; v++) {
		uint64_t h = trap_vectors[v];
		/* 64-bit interrupt gate, DPL 0, selector 0x08 (SDM 6.14.1) */
		idt[2 * v] = (h & 0xffff) | 0x08ull << 16 | 0x8eull << 40 | ((h >> 16) & 0xffff) << 48;
		idt[2 * v + 1] = h >> 32;
	}
	struct { uint16_t limit; uint64_t base; } __attribute__((packed))
		idtr = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

/*
 * An NMI while lvisor runs. With the "NMI exiting" control clear (VMX,
 * SDM 25.6.1) and no NMI intercept (SVM), an NMI that arrives while the
 * guest runs goes straight to the guest's IDT; one that arrives in the
 * short time lvisor handles an exit lands here, in lvisor's vector 2. It
 * was the guest's (the machine's NMI sources are the guest's devices and
 * its own IPIs): count it and hand it on, as an NMI injected at the next
 * entry (backend->queue_nmi). Nothing is added to the per-exit path: the
 * backend writes its injection field from here, when that is safe. On SVM
 * lvisor runs with GIF clear after the first #VMEXIT, which holds NMIs
 * pending until VMRUN sets GIF again and delivers them in the guest (APM
 * 15.17): NMIs reach this handler only before the guest starts, and are
 * just counted, as are those the backend could not queue.
 */
unsigned vmm_nmis, vmm_nmis_to_guest;

static void vmm_nmi(void)
{
	vmm_nmis++;
	if (vcpu_current && smp_on_boot_cpu() && backend->queue_nmi && backend->queue_nmi(vcpu_current))
		vmm_nmis_to_guest++;
}

/* msr_safe.S: instructions allowed to fault, and where to go when they do. */
extern const struct { uint64_t insn, target; } msr_fixups[], msr_fixups_end[];

void vmm_trap(struct trap_frame *f)
{
	if (f->vector == VEC_NMI) {	/* not a fault: back to where lvisor was */
		vmm_nmi();
		return;
	}
	for (const typeof(msr_fixups[0]) *x = msr_fixups; x < msr_fixups_end; x++) {
		if (f->vector == VEC_GP && f->rip == x->insn) {
			f->rip = x->target;
			return;
		}
	}

	console_reset();	/* the guest may have left the UART unusable */
	printk("VMM fault: exception %lu, error code 0x%lx\n", f->vector, f->error);
	printk("  rip %016lx  cs %04lx  rflags %016lx\n", f->rip, f->cs, f->rflags);
	printk("  rsp %016lx  ss %04lx  cr2 %016lx  cr3 %016lx\n", f->rsp, f->ss, read_cr2(), read_cr3());
	printk("  rax %016lx  rbx %016lx  rcx %016lx  rdx %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	printk("  rsi %016lx  rdi %016lx  rbp %016lx  r8  %016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
	printk("  r9  %016lx  r10 %016lx  r11 %016lx  r12 %016lx\n", f->r9, f->r10, f->r11, f->r12);
	printk("  r13 %016lx  r14 %016lx  r15 %016lx\n", f->r13, f->r14, f->r15);
	trace_print();
	vmm_stop(false);
}
