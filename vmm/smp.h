/* smp.c: a second CPU, started and parked (the first step toward a guest
 * on each CPU). */
#ifndef VMM_SMP_H
#define VMM_SMP_H

/* Find a second CPU in the ACPI MADT and start it; it prints one line and
 * parks. Returns once it runs in lvisor's memory (or did not start). Needs
 * page_alloc (after guest_setup) and the local APIC's mapping (apic_init). */
void smp_init(void);
/* Is this the boot CPU, whose guest lvisor runs? (true with one CPU) */
#include <stdbool.h>
bool smp_on_boot_cpu(void);
/* The boot CPU enters the first guest now: the second guest, created and
 * waiting on the AP, starts too. */
void smp_go(void);
/* The first guest ends the machine: let a second guest that still runs
 * finish first (at most GUEST2_WAIT_SECONDS), from the boot CPU. */
void smp_wait_guest2(void);
#define GUEST2_WAIT_SECONDS	30

#endif
