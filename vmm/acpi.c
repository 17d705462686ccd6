/*
 * The devices lvisor keeps from the guest although they sit in guest-
 * physical address space: the HPET. Its timers can deliver their
 * interrupts as a memory write of a value the guest chooses to an address
 * the guest chooses ("FSB" delivery, IA-PC HPET 1.0a, 2.3.9.2.2), which
 * would let the guest write lvisor's memory without an IOMMU to stop it.
 *
 * So EPT/NPT map the HPET's page read-only (gpa_is_read_only(): the
 * firmware's ACPI code reads its capabilities; a write is reported and the
 * guest stopped), and acpi_hide_hpet() takes the HPET's table out of the
 * firmware's ACPI tables before the guest runs, so that a kernel that reads
 * them (Linux) does not use it and keeps time with the PIT, the ACPI PM
 * timer and the TSC.
 *
 * ACPI 6.0: the RSDP (5.2.5) is found on a 16-byte boundary in the BIOS
 * area 0xe0000-0xfffff; it points to the RSDT (5.2.7, 32-bit entries) and,
 * from revision 2, the XSDT (5.2.8, 64-bit entries); each entry is the
 * address of a table whose header starts with its signature (5.2.6). A
 * table's bytes, its checksum included, sum to zero.
 */
#include <lib/printk.h>
#include <lib/string.h>
#include "acpi.h"
#include "vmm.h"

#define HPET_BASE	0xfed00000ull	/* where QEMU's and Bochs' HPET decode (ACPI HPET table) */
#define HPET_SIZE	0x1000ull

bool gpa_is_read_only(uint64_t gpa)
{
	return gpa >= HPET_BASE && gpa < HPET_BASE + HPET_SIZE;
}

bool gpa_2m_is_split(uint64_t base)
{
	return HPET_BASE >= base && HPET_BASE < base + (1 << 21);
}

static uint8_t sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

static const uint8_t *find_rsdp(void)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
		if (!memcmp((const void *)a, "RSD PTR ", 8) && !sum((const void *)a, 20))
			return (const uint8_t *)a;
	return NULL;
}

/* A table that the BIOS put in RAM below 4 GiB, never in lvisor's memory,
 * with this signature and a good checksum (ACPI 5.2.6). */
static struct acpi_header *table_at(uint64_t addr, const char *sig)
{
	struct acpi_header *t = (void *)addr;

	if (!addr || addr >= GUEST_PHYS_LIMIT || gpa_is_vmm(addr) || memcmp(t->signature, sig, 4))
		return NULL;
	return sum(t, t->length) ? NULL : t;
}

/* The root tables: which 0 is the XSDT (64-bit entries, RSDP revision 2
 * and later), which 1 the RSDT (32-bit entries). */
static struct acpi_header *root_table(int which, unsigned *entry_size)
{
	const uint8_t *rsdp = find_rsdp();
	uint64_t addr = 0;

	if (!rsdp)
		return NULL;	/* no ACPI */
	if (which == 0 && rsdp[15] >= 2)
		memcpy(&addr, rsdp + 24, 8);
	else if (which == 1)
		memcpy(&addr, rsdp + 16, 4);
	*entry_size = which == 0 ? 8 : 4;
	return table_at(addr, which == 0 ? "XSDT" : "RSDT");
}

const struct acpi_header *acpi_find(const char *sig)
{
	for (int which = 0; which < 2; which++) {
		unsigned size;
		const struct acpi_header *root = root_table(which, &size);
		if (!root)
			continue;
		const uint8_t *entries = (const uint8_t *)(root + 1);
		for (unsigned i = 0; i < (root->length - sizeof(*root)) / size; i++) {
			uint64_t addr = 0;
			memcpy(&addr, entries + i * size, size);
			const struct acpi_header *t = table_at(addr, sig);
			if (t)
				return t;
		}
	}
	return NULL;
}

/* Drop the entries of a root table (entry_size 4: RSDT, 8: XSDT) that
 * point to a table with this signature; returns how many. */
static int drop_entries(struct acpi_header *root, unsigned entry_size, const char *sig)
{
	uint8_t *entries = (uint8_t *)(root + 1);
	unsigned n = (root->length - sizeof(*root)) / entry_size, kept = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t addr = 0;
		memcpy(&addr, entries + i * entry_size, entry_size);
		if (addr && !gpa_is_vmm(addr) && !memcmp((const void *)addr, sig, 4))
			continue;
		memmove(entries + kept * entry_size, entries + i * entry_size, entry_size);
		kept++;
	}
	root->length = sizeof(*root) + kept * entry_size;
	root->checksum = 0;
	root->checksum = -sum(root, root->length);
	return n - kept;
}

void acpi_hide_hpet(void)
{
	int dropped = 0;

	for (int which = 0; which < 2; which++) {
		unsigned size;
		struct acpi_header *root = root_table(which, &size);
		if (root)
			dropped += drop_entries(root, size, "HPET");
	}
	if (dropped)
		printk("ACPI: the HPET is lvisor's (its timers can write memory): out of the guest's tables, read-only\n");
}
