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

/* The MADT's: take the local APIC (and x2APIC) entries of this CPU out of
 * every MADT, fixing lengths and checksums (how many went; -1: no MADT),
 * and the APIC IDs of the enabled CPUs it lists (at most max). */
int acpi_hide_cpu(uint8_t apic_id);
unsigned acpi_cpus(uint8_t *ids, unsigned max);

#endif
