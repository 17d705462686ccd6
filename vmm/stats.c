/* Exit statistics and the exit trace (stats.h: the per-exit part is inline). */
#include <lib/printk.h>
#include "actions.h"
#include "policy.h"
#include "stats.h"
#include "vmm.h"


static void print_reason(uint32_t code)
{
	if (backend->hex_reasons)
		printk("  0x%03x %-18s", code, backend->exit_name(code));
	else
		printk("  %5u %-18s", code, backend->exit_name(code));
}

void stats_init(struct vcpu *v)
{
	v->stats = page_alloc((sizeof(struct stats) + PAGE_SIZE - 1) / PAGE_SIZE);
	for (unsigned i = 0; i < STATS_REASONS; i++)
		v->stats->reasons[i].min = UINT32_MAX;
}

void stats_print(void)
{
	struct vcpu *v = vcpu_here();

	if (v)
		stats_print_vcpu(v);
}

void trace_print(void)
{
	struct vcpu *v = vcpu_here();

	if (v)
		trace_print_vcpu(v);
}

void stats_print_vcpu(struct vcpu *v)
{
	struct stats *s = v->stats;
	uint64_t total = 0;

	for (unsigned i = 0; i < STATS_REASONS; i++)
		total += s->reasons[i].count;
	printk("%sexit statistics: %lu exits\n", v->guest->second ? "second guest: " : "", total);
	if (vmm_nmis && !v->guest->second)
		printk("NMIs while lvisor ran: %u, %u of them injected into the guest\n",
		       vmm_nmis, vmm_nmis_to_guest);
	if (!total)
		return;
	/* The table is printed while an exit is handled (a power-off, a stop,
	 * a hypercall): that exit is counted, but its cycles are not in yet. */
	uint32_t handling = stats_slot(s->trace[(s->trace_next - 1) % TRACE_SIZE].code);

	printk("  reason                  count        cycles  cycles/exit         min\n");
	for (unsigned i = 0; i < STATS_REASONS; i++) {
		struct stats_reason *r = &s->reasons[i];
		uint64_t timed = r->count - (i == handling);

		if (!r->count)
			continue;
		if (i == STATS_REASONS - 1)
			printk("  other                     ");
		else
			print_reason(i);
		printk(" %10lu %13lu", r->count, r->cycles);
		if (!timed || r->min == UINT32_MAX)	/* only the exit being handled */
			printk("            -           -\n");
		else
			printk(" %12lu %11u\n", r->cycles / timed, r->min);
	}
	printk("  cycles: TSC ticks from the exit to the next entry. A reason's first exits\n"
	       "  cost more (cold caches; on QEMU, TCG translating lvisor's code): see min.\n");
	if (v->policy->syscall_counts)		/* `syscall: count` (vmm/syscall.c) */
		syscall_counts_print(v, v->policy->syscall_counts);
}

void trace_print_vcpu(struct vcpu *v)
{
	struct stats *s = v->stats;
	unsigned n = s->trace_next < TRACE_SIZE ? s->trace_next : TRACE_SIZE;

	if (!n)
		return;		/* a panic before the guest ran */
	printk("last %u exits, oldest first:\n", n);
	for (unsigned i = s->trace_next - n; i != s->trace_next; i++) {
		struct stats_trace *t = &s->trace[i % TRACE_SIZE];
		print_reason(t->code);
		printk(" rip %016lx qualification %016lx\n", t->rip, t->qualification);
	}
}
