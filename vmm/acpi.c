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

static const uint8_t *find_rsdp(void)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
		if (!memcmp((const void *)a, "RSD PTR ", 8) && !memsum((const void *)a, 20))
			return (const uint8_t *)a;
	return NULL;
}

/* A table that the BIOS put in RAM below 4 GiB (all that lvisor maps for
 * itself, boot/entry.S), never in lvisor's memory, with this signature
 * and a good checksum (ACPI 5.2.6). */
static struct acpi_header *table_at(uint64_t addr, const char *sig)
{
	struct acpi_header *t = (void *)addr;

	if (!addr || addr > GUEST_PHYS_LIMIT - sizeof(*t) || gpa_is_vmm(addr) || memcmp(t->signature, sig, 4))
		return NULL;
	/* Its length covers its header at least (a shorter one would make
	 * the count of a root table's entries wrap around) and ends where it
	 * began, below 4 GiB and before lvisor's memory: lvisor reads and
	 * edits no byte past it. */
	if (t->length < sizeof(*t) || t->length > GUEST_PHYS_LIMIT - addr ||
	    (addr < VMM_END && addr + t->length > VMM_BASE))
		return NULL;
	return memsum(t, t->length) ? NULL : t;
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

/* The tables with this signature that the XSDT and the RSDT point to, one
 * per call: *pos starts at 0; NULL at the end. A table that both point to
 * (the usual case) comes twice. */
static struct acpi_header *next_table(const char *sig, unsigned *pos)
{
	for (; *pos < 2u << 16; *pos = ((*pos >> 16) + 1) << 16) {
		unsigned size, which = *pos >> 16;
		struct acpi_header *root = root_table(which, &size);
		if (!root)
			continue;
		const uint8_t *entries = (const uint8_t *)(root + 1);
		/* *pos: which root table (high half), which of its entries
		 * (low): at most 0xffff entries, or the count would run into
		 * the next root table's and never end */
		unsigned n = (root->length - sizeof(*root)) / size;
		if (n > 0xffff)
			n = 0xffff;
		while ((*pos & 0xffff) < n) {
			unsigned i = (*pos)++ & 0xffff;
			uint64_t addr = 0;
			memcpy(&addr, entries + i * size, size);
			struct acpi_header *t = table_at(addr, sig);
			if (t)
				return t;
		}
	}
	return NULL;
}

const struct acpi_header *acpi_find(const char *sig)
{
	unsigned pos = 0;

	return next_table(sig, &pos);
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
		/* an address lvisor maps and may read (table_at's), for its
		 * signature alone */
		if (addr && addr <= GUEST_PHYS_LIMIT - 4 && !gpa_is_vmm(addr) &&
		    !memcmp((const void *)addr, sig, 4))
			continue;
		memmove(entries + kept * entry_size, entries + i * entry_size, entry_size);
		kept++;
	}
	root->length = sizeof(*root) + kept * entry_size;
	root->checksum = 0;
	root->checksum = -memsum(root, root->length);
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

#define MADT_ENTRIES	44	/* after the header, the local APIC address and flags */

/* The entry after e (NULL: the first), of any type; NULL past the end. */
static const uint8_t *madt_any(const struct acpi_header *madt, const uint8_t *e)
{
	const uint8_t *end = (const uint8_t *)madt + madt->length;
	const uint8_t *p = e ? e + e[1] : (const uint8_t *)madt + MADT_ENTRIES;

	return p + 2 <= end && p[1] >= 2 && p + p[1] <= end ? p : NULL;
}

const uint8_t *madt_next(const struct acpi_header *madt, const uint8_t *e, uint8_t type, uint8_t len)
{
	while ((e = madt_any(madt, e)) && (e[0] != type || e[1] < len))
		;
	return e;
}

bool acpi_ioapic(uint8_t *id, uint64_t *addr, uint32_t *gsi_base)
{
	const struct acpi_header *madt = acpi_find("APIC");
	const uint8_t *e = madt ? madt_next(madt, NULL, MADT_IOAPIC, 12) : NULL;
	uint32_t a;

	if (!e)
		return false;
	*id = e[2];
	memcpy(&a, e + 4, 4);
	*addr = a;
	memcpy(gsi_base, e + 8, 4);
	return true;
}

/* ISA IRQ irq's global system interrupt and its MPS INTI flags (polarity,
 * bits 1:0; trigger mode, bits 3:2; 0: as the bus says, ISA's active high,
 * edge): the MADT's interrupt source override for it (bus 0, ISA), else
 * the identity and 0 (ACPI 5.2.12.5). */
uint16_t acpi_isa_irq(int irq, uint32_t *gsi)
{
	const struct acpi_header *madt = acpi_find("APIC");
	const uint8_t *e = NULL;
	uint16_t flags = 0;

	*gsi = irq;
	while (madt && (e = madt_next(madt, e, MADT_OVERRIDE, 10))) {
		if (e[2] == 0 && e[3] == irq) {
			memcpy(gsi, e + 4, 4);
			memcpy(&flags, e + 8, 2);
		}
	}
	return flags;
}

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
	uint8_t *start = (uint8_t *)madt, *end = start + madt->length;
	const uint8_t *e = NULL;
	int dropped = 0;

	/* After a drop the next entry is where the dropped one was: look
	 * again from the one before it. */
	for (const uint8_t *prev = NULL; (e = madt_any(madt, prev));) {
		if (!madt_entry_is_cpu(e, apic_id)) {
			prev = e;
			continue;
		}
		uint8_t *p = (uint8_t *)e, len = p[1];
		memmove(p, p + len, end - (p + len));
		end -= len;
		memset(end, 0, len);
		madt->length = end - start;
		dropped++;
	}
	madt->checksum = 0;
	madt->checksum = -memsum(madt, madt->length);
	return dropped;
}

int acpi_hide_cpu(uint8_t apic_id)
{
	int dropped = 0, madts = 0;

	/* Every MADT the XSDT or the RSDT points to (usually one table,
	 * from both): once edited, a table has nothing more to drop. */
	unsigned pos = 0;
	for (struct acpi_header *madt; (madt = next_table("APIC", &pos));) {
		madts++;
		dropped += madt_drop_cpu(madt, apic_id);
	}
	return madts ? dropped : -1;
}

unsigned acpi_cpus(uint8_t *ids, unsigned max)
{
	const struct acpi_header *madt = acpi_find("APIC");
	const uint8_t *e = NULL;
	unsigned n = 0;

	while (madt && n < max && (e = madt_next(madt, e, MADT_LOCAL_APIC, 8)))
		if (e[4] & MADT_LAPIC_ENABLED)
			ids[n++] = e[3];
	return n;
}
