/*
 * What the guest's exits cost: per exit reason, how many and how many TSC
 * cycles from the VM exit to the next VM entry; and the most recent exits,
 * for every crash report. Always on: two RDTSCs and a few stores per exit,
 * inline in the run loop (vmm/vcpu.c), which is why the data is visible here.
 */
#ifndef VMM_STATS_H
#define VMM_STATS_H

#include <stdint.h>
#include "vcpu.h"

#define STATS_REASONS	0x402	/* SVM's largest table, plus one bucket for the rest */
#define TRACE_SIZE	16	/* a power of two: the ring's index is a mask */

struct stats_reason {
	uint64_t count, cycles;
};
struct stats_trace {
	uint64_t rip, qualification;
	uint32_t code, unused[3];	/* 32 bytes: the index is a shift */
};
extern struct stats_reason stats_reasons[STATS_REASONS];
extern struct stats_trace stats_trace[TRACE_SIZE];
extern unsigned stats_trace_next;

/* An exit code as an index into stats_reasons[] (and the run loop's
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
	struct stats_reason *r = &stats_reasons[slot];
	struct stats_trace *t = &stats_trace[stats_trace_next++ % TRACE_SIZE];

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
	r->cycles += (uint32_t)(stats_now() - exit_tsc);
}

/* The table: reason, count, total and average cycles. */
void stats_print(void);
/* The last exits, oldest first. */
void trace_print(void);

#endif
