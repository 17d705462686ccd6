/* Exit statistics and the exit trace (stats.h: the per-exit part is inline). */
#include <lib/printk.h>
#include "stats.h"
#include "vmm.h"

struct stats_reason stats_reasons[STATS_REASONS];
struct stats_trace stats_trace[TRACE_SIZE];
unsigned stats_trace_next;

static void print_reason(uint32_t code)
{
	if (backend->hex_reasons)
		printk("  0x%03x %-18s", code, backend->exit_name(code));
	else
		printk("  %5u %-18s", code, backend->exit_name(code));
}

void stats_print(void)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < STATS_REASONS; i++)
		total += stats_reasons[i].count;
	printk("exit statistics: %lu exits\n", total);
	if (vmm_nmis)
		printk("NMIs while lvisor ran: %u, %u of them injected into the guest\n",
		       vmm_nmis, vmm_nmis_to_guest);
	if (!total)
		return;
	printk("  reason                  count        cycles  cycles/exit\n");
	for (unsigned i = 0; i < STATS_REASONS; i++) {
		struct stats_reason *r = &stats_reasons[i];
		if (!r->count)
			continue;
		if (i == STATS_REASONS - 1)
			printk("  other                     ");
		else
			print_reason(i);
		printk(" %10lu %13lu %12lu\n", r->count, r->cycles, r->cycles / r->count);
	}
}

void trace_print(void)
{
	unsigned n = stats_trace_next < TRACE_SIZE ? stats_trace_next : TRACE_SIZE;

	if (!n)
		return;		/* a panic before the guest ran */
	printk("last %u exits, oldest first:\n", n);
	for (unsigned i = stats_trace_next - n; i != stats_trace_next; i++) {
		struct stats_trace *t = &stats_trace[i % TRACE_SIZE];
		print_reason(t->code);
		printk(" rip %016lx qualification %016lx\n", t->rip, t->qualification);
	}
}
