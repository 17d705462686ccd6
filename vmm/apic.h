/* The local APIC's registers as lvisor reads and writes them (SDM 11.4.1,
 * table 11-1; 11.6.1, figure 11-12), for vmm/apic.c (the guest's writes,
 * on SVM) and vmm/smp.c (the start-up IPIs). */
#ifndef VMM_APIC_H
#define VMM_APIC_H

#include <stdint.h>

extern uint64_t apic_page;	/* its physical address (IA32_APIC_BASE), apic_init() */

/* Register offsets in the APIC's page. */
#define APIC_ID		0x020	/* bits 31:24, the APIC ID */
#define APIC_LDR	0x0d0	/* logical destination: bits 31:24 */
#define APIC_DFR	0x0e0	/* destination format: bits 31:28, 1111 flat, 0000 cluster */
#define APIC_ICR_LOW	0x300	/* a write sends the IPI */
#define APIC_ICR_HIGH	0x310	/* bits 31:24, the destination */
#define APIC_LVT_LINT0	0x350
#define APIC_LVT_LINT1	0x360
#define APIC_LVT_MASKED	(1u << 16)	/* an LVT entry's mask bit */

/* ICR low fields; the LVT's delivery mode is in the same bits (figure 11-8). */
#define ICR_MODE(icr)		((icr) >> 8 & 7)
#define MODE_FIXED		0
#define MODE_SMI		2
#define MODE_NMI		4
#define MODE_INIT		5
#define MODE_EXTINT		7	/* LVT: the 8259's interrupt; ICR: reserved */
#define MODE_STARTUP		6
#define ICR_INIT		(MODE_INIT << 8)	/* delivery modes, in place */
#define ICR_STARTUP		(MODE_STARTUP << 8)
#define ICR_LOGICAL		(1u << 11)
#define ICR_PENDING		(1u << 12)	/* delivery status: not yet accepted */
#define ICR_ASSERT		(1u << 14)	/* level: clear only for INIT level de-assert */
#define ICR_LEVEL_TRIGGERED	(1u << 15)
#define ICR_SHORTHAND(icr)	((icr) >> 18 & 3)
#define SHORTHAND_NONE		0
#define SHORTHAND_SELF		1
#define SHORTHAND_ALL		2	/* all including self */
#define SHORTHAND_OTHERS	3	/* all excluding self */

static inline uint32_t apic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(apic_page + reg);
}

static inline void apic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(apic_page + reg) = val;
}

/* This CPU's APIC ID (xAPIC mode). */
static inline uint8_t apic_id(void)
{
	return apic_read(APIC_ID) >> 24;
}

#endif
