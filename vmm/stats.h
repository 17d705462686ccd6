/*
 * What the guest's exits cost: per exit reason, how many and how many TSC
 * cycles from the VM exit to the next VM entry; and the most recent exits,
 * for every crash report. Always on: two RDTSCs and a few stores per exit.
 */
#ifndef VMM_STATS_H
#define VMM_STATS_H

#include <stdint.h>
#include "vcpu.h"

/* The exit just happened (at TSC `now`): count it, remember it. */
void stats_exit(struct vcpu *v, uint64_t now);
/* Its handler is done: the guest is about to be entered again. */
void stats_resume(struct vcpu *v, uint64_t now);
/* The table: reason, count, total and average cycles. */
void stats_print(void);
/* The last exits, oldest first. */
void trace_print(void);

#endif
