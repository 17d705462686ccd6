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

/* --- CPUs: the MADT (ACPI 5.2.12) ---------------------------------------- */

#define MADT_ENTRIES		44	/* after the header, the local APIC address and flags */
#define MADT_LOCAL_APIC		0	/* type, length 8, ACPI UID, APIC ID, flags (4) */
#define MADT_LOCAL_X2APIC	9	/* type, length 16, reserved (2), x2APIC ID (4), flags, UID */
#define MADT_LAPIC_ENABLED	1

/* Is this MADT entry the local APIC (or x2APIC) of this CPU? */
static bool madt_entry_is_cpu(const uint8_t *p, uint8_t apic_id)
{
	uint32_t x2id;

	if (p[0] == MADT_LOCAL_APIC && p[1] >= 8)
		return p[3] == apic_id;
	if (p[0] != MADT_LOCAL_X2APIC || p[1] < 16)
		return false;
	memcpy(&x2id, p + 4, 4);
	return x2id == apic_id;
}

/* Take this CPU's entries out of a MADT, the rest moved up, the length
 * and checksum fixed: a kernel finds no trace of it. How many went. */
static int madt_drop_cpu(struct acpi_header *madt, uint8_t apic_id)
{
	uint8_t *start = (uint8_t *)madt, *p = start + MADT_ENTRIES, *end = start + madt->length;
	int dropped = 0;

	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		if (!madt_entry_is_cpu(p, apic_id)) {
			p += p[1];
			continue;
		}
		uint8_t len = p[1];
		memmove(p, p + len, end - (p + len));
		end -= len;
		memset(end, 0, len);
		dropped++;
	}
	madt->length = end - start;
	madt->checksum = 0;
	madt->checksum = -sum(madt, madt->length);
	return dropped;
}

int acpi_hide_cpu(uint8_t apic_id)
{
	int dropped = 0, madts = 0;

	/* Every MADT the XSDT or the RSDT points to (usually one table,
	 * from both): once edited, a table has nothing more to drop. */
	for (int which = 0; which < 2; which++) {
		unsigned size;
		struct acpi_header *root = root_table(which, &size);
		if (!root)
			continue;
		const uint8_t *entries = (const uint8_t *)(root + 1);
		for (unsigned i = 0; i < (root->length - sizeof(*root)) / size; i++) {
			uint64_t addr = 0;
			memcpy(&addr, entries + i * size, size);
			struct acpi_header *madt = table_at(addr, "APIC");
			if (madt) {
				madts++;
				dropped += madt_drop_cpu(madt, apic_id);
			}
		}
	}
	return madts ? dropped : -1;
}

unsigned acpi_cpus(uint8_t *ids, unsigned max)
{
	const struct acpi_header *madt = acpi_find("APIC");
	unsigned n = 0;

	if (!madt)
		return 0;
	const uint8_t *p = (const uint8_t *)madt + MADT_ENTRIES, *end = (const uint8_t *)madt + madt->length;
	for (; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1])
		if (p[0] == MADT_LOCAL_APIC && p[1] >= 8 && (p[4] & MADT_LAPIC_ENABLED) && n < max)
			ids[n++] = p[3];
	return n;
}
