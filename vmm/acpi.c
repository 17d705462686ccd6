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

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_revision, creator, creator_revision;
} __attribute__((packed));

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
	const uint8_t *rsdp = find_rsdp();
	uint32_t rsdt;
	uint64_t xsdt = 0;
	int dropped = 0;

	if (!rsdp)
		return;		/* no ACPI: a kernel finds no HPET either */
	memcpy(&rsdt, rsdp + 16, 4);
	if (rsdp[15] >= 2)
		memcpy(&xsdt, rsdp + 24, 8);
	if (rsdt && !gpa_is_vmm(rsdt))
		dropped += drop_entries((struct acpi_header *)(uint64_t)rsdt, 4, "HPET");
	if (xsdt && xsdt < GUEST_PHYS_LIMIT && !gpa_is_vmm(xsdt))
		dropped += drop_entries((struct acpi_header *)xsdt, 8, "HPET");
	if (dropped)
		printk("ACPI: the HPET is lvisor's (its timers can write memory): out of the guest's tables, read-only\n");
}
