/*
 * What the guest's exits cost: per exit reason, how many, how many TSC
 * cycles from the VM exit to the next VM entry in all, and the fewest that
 * one exit took; and the most recent exits, for every crash report. Always
 * on: two RDTSCs, a compare and a few stores per exit, inline in the run
 * loop (vmm/vcpu.c), which is why the data is visible here.
 */
#ifndef VMM_STATS_H
#define VMM_STATS_H

#include <stdint.h>
#include "vcpu.h"

#define STATS_REASONS	0x402	/* SVM's largest table, plus one bucket for the rest */
#define TRACE_SIZE	16	/* a power of two: the ring's index is a mask */

/* min: the cheapest exit of the reason. The first exits of a reason cost
 * more than the rest (cold caches; on QEMU, TCG translating lvisor's code
 * on its first run), and the mean, cycles / count, keeps their cost long
 * after; min does not. */
struct stats_reason {
	uint64_t count, cycles;
	uint32_t min, unused[3];	/* 32 bytes: the index is a shift */
};
struct stats_trace {
	uint64_t rip, qualification;
	uint32_t code, unused[3];	/* 32 bytes: the index is a shift */
};
/* One vCPU's (v->stats): with a guest on each CPU, neither CPU's exits
 * land in the other's counters or trace. */
struct stats {
	struct stats_reason reasons[STATS_REASONS];
	struct stats_trace trace[TRACE_SIZE];
	unsigned trace_next;	/* exits so far: the next trace slot */
};

/* An exit code as an index into reasons[] (and the run loop's
 * handlers[]): the codes beyond both backends' tables share the last. */
static inline uint32_t stats_slot(uint32_t code)
{
	return code < STATS_REASONS - 1 ? code : STATS_REASONS - 1;
}

/* The TSC's low half: handling one exit takes far less than 2^32 cycles
 * (a second at 4 GHz), and the low half needs no shift and OR. */
static inline uint32_t stats_now(void)
{
	uint32_t lo;

	__asm__ volatile("rdtsc" : "=a"(lo) : : "rdx");
	return lo;
}

/* The exit just happened: count it under its slot (stats_slot), remember
 * it. Returns its reason's totals, for stats_resume. */
static inline struct stats_reason *stats_exit(struct vcpu *v, uint32_t slot)
{
	struct stats *s = v->stats;
	struct stats_reason *r = &s->reasons[slot];
	struct stats_trace *t = &s->trace[s->trace_next++ % TRACE_SIZE];

	r->count++;
	t->code = v->exit.code;
	t->rip = v->exit.rip;
	t->qualification = v->exit.qualification;
	return r;
}

/* Its handler is done: the guest is about to be entered again. exit_tsc
 * is stats_now() at the exit. */
static inline void stats_resume(struct stats_reason *r, uint32_t exit_tsc)
{
	uint32_t cycles = stats_now() - exit_tsc;

	r->cycles += cycles;
	if (cycles < r->min)
		r->min = cycles;
}

/* Before v's first exit: its counters, no minimum yet. */
void stats_init(struct vcpu *v);
/* v's table: reason, count, total, average and fewest cycles (the exit
 * being handled as it is printed counts, but has no cycles yet). */
void stats_print_vcpu(struct vcpu *v);
/* v's last exits, oldest first. */
void trace_print_vcpu(struct vcpu *v);
/* The same for the vCPU in this CPU's run loop (none: nothing). */
void stats_print(void);
void trace_print(void);

#endif
