/* acpi.c: the firmware's ACPI tables, as lvisor reads and edits them
 * before the guest runs (ACPI 6.0, 5.2). */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stdint.h>

/* Every system description table's header (ACPI 5.2.6). */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_revision, creator, creator_revision;
} __attribute__((packed));

/* The table with this signature ("APIC": the MADT), through the XSDT, else
 * the RSDT; NULL when there is none, or it is not in RAM below 4 GiB
 * outside lvisor's memory, or its checksum is wrong. */
const struct acpi_header *acpi_find(const char *sig);

/* The MADT's entries (ACPI 6.x 5.2.12): each is a type, its length, then
 * its fields. madt_next(madt, NULL, type, len) is the first entry of this
 * type at least len bytes long, madt_next(madt, e, ...) the next one after
 * e; NULL at the end, or at an entry that does not fit in the table. */
#define MADT_LOCAL_APIC		0	/* length 8: ACPI UID, APIC ID, flags (4) */
#define MADT_IOAPIC		1	/* length 12: ID, 0, address (4), GSI base (4) */
#define MADT_OVERRIDE		2	/* length 10: bus, source IRQ, GSI (4), flags (2) */
#define MADT_LOCAL_X2APIC	9	/* length 16: 0 (2), x2APIC ID (4), flags (4), UID (4) */
#define MADT_LAPIC_ENABLED	1	/* a local APIC's flags: the CPU can be used */
const uint8_t *madt_next(const struct acpi_header *madt, const uint8_t *e, uint8_t type, uint8_t len);
/* The machine's first I/O APIC in the MADT: its ID, address and first GSI;
 * false without one. */
#include <stdbool.h>
bool acpi_ioapic(uint8_t *id, uint64_t *addr, uint32_t *gsi_base);
uint16_t acpi_isa_irq(int irq, uint32_t *gsi);	/* its GSI; returns its MPS INTI flags */

/* The MADT's: take the local APIC (and x2APIC) entries of this CPU out of
 * every MADT, fixing lengths and checksums (how many went; -1: no MADT),
 * and the APIC IDs of the enabled CPUs it lists (at most max). */
int acpi_hide_cpu(uint8_t apic_id);
unsigned acpi_cpus(uint8_t *ids, unsigned max);

#endif
