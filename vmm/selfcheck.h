/* lvisor checks that its own code and read-only data are as loaded. */
#ifndef VMM_SELFCHECK_H
#define VMM_SELFCHECK_H

void selfcheck_init(void);	/* at start: remember the checksums */
void selfcheck_report(void);	/* "image intact" or what changed, one line */

#endif
