/* The time-stamp counter as a clock (lib/tsc.c). */
#ifndef LIB_TSC_H
#define LIB_TSC_H

#include <stdint.h>

extern uint64_t tsc_hz;		/* TSC ticks per second, set by tsc_init() */
extern uint64_t tsc_boot;	/* TSC value taken as time zero */

/*
 * Find the TSC frequency: from CPUID leaf 0x15 (TSC/crystal ratio), the
 * command line (tsc_hz_from_cmdline) or CPUID leaf 0x16 (base MHz), the
 * first that gives one, otherwise by counting ticks across a 10 ms PIT
 * interval. Prints one "tsc: ..." line saying which and the result.
 */
void tsc_init(void);
/* Before tsc_init(): the frequency in the kernel's command line, the word
 * "tsc_khz=N" (decimal kHz), if there is one. lvisor gives its second
 * guest the host TSC's this way: that guest has no PIT to measure with. */
void tsc_hz_from_cmdline(const char *cmdline);
/* Seconds and microseconds since tsc_init(). */
void uptime(uint64_t *sec, uint64_t *usec);

#endif
