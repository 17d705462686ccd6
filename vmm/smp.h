/* smp.c: the second CPU, started by the boot CPU, and the second guest
 * that it runs (KERNEL2). */
#ifndef VMM_SMP_H
#define VMM_SMP_H

/* Find a second CPU in the ACPI MADT and start it; it prints one line,
 * creates the second guest if there is one and waits for smp_go(), or
 * parks. Returns once it runs in lvisor's memory (or did not start). Needs
 * page_alloc (after guest_setup) and the local APIC's mapping (apic_init). */
void smp_init(void);
/* Is this the boot CPU, whose guest lvisor runs? (true with one CPU) */
#include <stdbool.h>
bool smp_on_boot_cpu(void);
/* The boot CPU enters the first guest now: the second guest, created and
 * waiting on the AP, starts too. */
void smp_go(void);
/* The first guest has ended (the boot CPU): wait, with no time limit,
 * for a second guest that still runs, then report its end; true if it
 * ended well (or there is none). */
bool smp_wait_guest2(void);
/* With two guests, the line that says how each ended and the status. */
void smp_exit_status(bool ok1, bool ok2);

#endif
