/* Exit statistics and the exit trace (stats.h). */
#include <lib/printk.h>
#include "stats.h"

#define MAX_REASONS	0x402	/* SVM's largest table, plus one bucket for the rest */
#define TRACE_SIZE	16

static struct {
	uint64_t count, cycles;
} reasons[MAX_REASONS];
static uint64_t exit_tsc;	/* when the exit being handled happened */
static uint64_t total_exits;

static struct {
	uint32_t code;
	uint64_t rip, qualification;
} trace[TRACE_SIZE];
static unsigned trace_next;

static unsigned bucket(uint32_t code)
{
	return code < MAX_REASONS - 1 ? code : MAX_REASONS - 1;
}

void stats_exit(struct vcpu *v, uint64_t now)
{
	exit_tsc = now;
	reasons[bucket(v->exit.code)].count++;
	total_exits++;
	unsigned i = trace_next++ % TRACE_SIZE;
	trace[i].code = v->exit.code;
	trace[i].rip = v->exit.rip;
	trace[i].qualification = v->exit.qualification;
}

void stats_resume(struct vcpu *v, uint64_t now)
{
	reasons[bucket(v->exit.code)].cycles += now - exit_tsc;
}

static void print_reason(uint32_t code)
{
	if (backend->hex_reasons)
		printk("  0x%03x %-18s", code, backend->exit_name(code));
	else
		printk("  %5u %-18s", code, backend->exit_name(code));
}

void stats_print(void)
{
	printk("exit statistics: %lu exits\n", total_exits);
	printk("  reason                  count        cycles  cycles/exit\n");
	for (unsigned i = 0; i < MAX_REASONS; i++) {
		if (!reasons[i].count)
			continue;
		if (i == MAX_REASONS - 1)
			printk("  other                     ");
		else
			print_reason(i);
		printk(" %10lu %13lu %12lu\n", reasons[i].count, reasons[i].cycles,
		       reasons[i].cycles / reasons[i].count);
	}
}

void trace_print(void)
{
	unsigned n = trace_next < TRACE_SIZE ? trace_next : TRACE_SIZE;

	printk("last %u exits, oldest first:\n", n);
	for (unsigned i = trace_next - n; i != trace_next; i++) {
		print_reason(trace[i % TRACE_SIZE].code);
		printk(" rip %016lx qualification %016lx\n", trace[i % TRACE_SIZE].rip,
		       trace[i % TRACE_SIZE].qualification);
	}
}
