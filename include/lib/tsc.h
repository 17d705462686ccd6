/* The time-stamp counter as a clock (lib/tsc.c). */
#ifndef LIB_TSC_H
#define LIB_TSC_H

#include <stdint.h>

extern uint64_t tsc_hz;		/* TSC ticks per second, set by tsc_init() */
extern uint64_t tsc_boot;	/* TSC value taken as time zero */

/*
 * Find the TSC frequency: from CPUID leaf 0x15 (TSC/crystal ratio) or 0x16
 * (base MHz) when the CPU reports one, otherwise by counting ticks across a
 * 10 ms PIT interval. Prints one "tsc: ..." line saying which and the result.
 */
void tsc_init(void);
/* Seconds and microseconds since tsc_init(). */
void uptime(uint64_t *sec, uint64_t *usec);

#endif
