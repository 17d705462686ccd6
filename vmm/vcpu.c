/*
 * The run loop: enter the guest, take the exit, look the exit up in the
 * policy's table, call the handler, enter again. This is the one place
 * where VM exits meet code.
 */
#include <stdarg.h>
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/printk.h>
#include <lib/string.h>
#include "exits.h"
#include "policy.h"
#include "smp.h"
#include "stats.h"
#include "vcpu.h"
#include "vmm.h"

const struct backend *backend;
struct vcpu *vcpu_current;
static struct vcpu *vcpu_ap;	/* the second CPU's, once in its run loop */

struct vcpu *vcpu_here(void)
{
	return smp_on_boot_cpu() ? vcpu_current : vcpu_ap;
}

/* v->handlers[] is indexed by stats_slot(). */
_Static_assert(VCPU_EXIT_SLOTS == STATS_REASONS, "the handler table's slots are the statistics'");

int vcpu_create(struct vcpu *v, const struct policy *p, struct guest *g, uint64_t cs_base)
{
	const exit_handler_t *exits = backend->exits(p);	/* the table for this CPU's backend */

	v->policy = p;
	v->guest = g;
	v->io_grants = p->io_grants;
	v->io_grant_count = p->io_grant_count;
	for (uint32_t i = 0; i < VCPU_EXIT_SLOTS; i++)
		v->handlers[i] = i < backend->nexits && exits[i] ? exits[i] : core_unhandled;
	/* Two guests split the machine's devices (vmm/devices.c): the second
	 * guest's policy decides CPUID, RDTSC, MSRs..., its devices: section
	 * its ports; the first guest loses those ports. */
	if (guest2.size) {
		devices_io_grants(v);
		v->handlers[stats_slot(backend->io_exit)] = g->second ? core_guest2_io : core_guest1_io;
	}
	return backend->create(v, cs_base);
}

void vcpu_run_loop(struct vcpu *v)
{
	stats_init(v);
	if (smp_on_boot_cpu())
		vcpu_current = v;	/* from now on an NMI in lvisor is the guest's (vmm/trap.c) */
	else
		vcpu_ap = v;
	for (;;) {
		backend->run(v);
		uint32_t exit_tsc = stats_now();
		uint32_t slot = stats_slot(v->exit.code);
		struct stats_reason *stats = stats_exit(v, slot);

		/* No test of entry_failed here: a failed entry's code has
		 * core_invalid_state in the table (VMX's entry-failure
		 * reasons) or no handler at all (SVM's VMEXIT_INVALID, VMX's
		 * VMfail*), and core_unhandled hands it over. */
		if (v->handlers[slot](v) == EXIT_STOP)
			return;
		stats_resume(stats, exit_tsc);
	}
}

uint64_t *vcpu_gpr(struct vcpu *v, int index)
{
	uint64_t *regs = &v->regs.rax;	/* struct guest_regs is in SDM register order */
	return &regs[index & 15];
}

void vcpu_mmio_load(struct vcpu *v, const struct mmio_access *a, uint64_t value)
{
	uint64_t *r = vcpu_gpr(v, a->reg);

	if (a->size == 1) {		/* the other bits stay (SDM 3.4.1.1) */
		unsigned shift = a->high8 ? 8 : 0;
		*r = (*r & ~(0xffull << shift)) | (uint64_t)(uint8_t)value << shift;
	} else if (a->size == 2)
		*r = (*r & ~0xffffull) | (uint16_t)value;
	else if (a->size == 4)
		*r = (uint32_t)value;
	else
		*r = value;
	backend->skip_len(v, a->len);
}

static const char *const seg_names[SEG_NR] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };

void vcpu_dump(struct vcpu *v)
{
	struct guest_regs *r = &v->regs;

	printk("%s state after %u exits:\n", v->guest->name, v->stats->trace_next);	/* it counts them all */
	/* The exit's other raw fields (VMX guest-physical address, SVM
	 * EXITINFO2...) are the backend's to print, below (dump_extra). */
	printk("  rip %016lx  rflags %016lx  exit qualification/EXITINFO1 %016lx\n",
	       vcpu_rip(v), backend->rflags(v), v->exit.qualification);
	printk("  rax %016lx  rbx %016lx  rcx %016lx  rdx %016lx\n", r->rax, r->rbx, r->rcx, r->rdx);
	printk("  rsi %016lx  rdi %016lx  rbp %016lx  rsp %016lx\n", r->rsi, r->rdi, r->rbp, r->rsp);
	printk("  r8  %016lx  r9  %016lx  r10 %016lx  r11 %016lx\n", r->r8, r->r9, r->r10, r->r11);
	printk("  r12 %016lx  r13 %016lx  r14 %016lx  r15 %016lx\n", r->r12, r->r13, r->r14, r->r15);
	printk("  cr0 %016lx  cr2 %016lx  cr3 %016lx  cr4 %016lx  efer %016lx\n",
	       vcpu_cr(v, 0), vcpu_cr(v, 2), vcpu_cr(v, 3), vcpu_cr(v, 4), backend->efer(v));
	for (int s = 0; s < SEG_NR; s++) {
		struct segment seg;
		backend->segment(v, s, &seg);
		printk("  %-4s %04x base %016lx limit %08x attributes %05x\n",
		       seg_names[s], seg.selector, seg.base, seg.limit, seg.attrib);
	}
	if (backend->dump_extra)
		backend->dump_extra(v);
	trace_print_vcpu(v);
}

int vcpu_stop(struct vcpu *v, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* The second guest's report waits for the machine's end
	 * (smp_wait_guest2): the first guest writes COM1 directly, and
	 * lines from this CPU now would land in the middle of its own. */
	if (v->guest->second) {
		strncpy(v->guest->stop, buf, sizeof(v->guest->stop) - 1);
		return EXIT_STOP;
	}
	console_reset();	/* the guest may have left the UART unusable */
	printk("%s\n", buf);
	vcpu_dump(v);
	return EXIT_STOP;
}
