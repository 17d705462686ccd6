/*
 * The CPU tables each guest finds, with a second guest (KERNEL2).
 *
 * A kernel learns its CPUs and its I/O APIC from the firmware's tables:
 * the ACPI MADT (Linux, when there is ACPI) or the Intel MP tables (xv6
 * always; Linux without ACPI or with acpi=off). With two guests each must
 * see its own machine only:
 *
 *  - the second guest gets the tables a PC BIOS would write for a machine
 *    with one CPU (CPU 1's APIC ID, as lvisor found it in the MADT), an ISA
 *    bus and the I/O APIC: mptable_guest2() writes the BIOS data area's
 *    words and an MP 1.4 floating pointer and configuration table into its
 *    own memory, in its F-segment (0xf0000), which its memory map reserves
 *    (vmm/guest.c), where xv6's and Linux's searches look. It gets no ACPI
 *    tables: Linux finds no RSDP and falls back to the MP table (acpi=off
 *    says so from the start);
 *  - the first guest's tables are the BIOS's: the MADT and the MP table
 *    lose CPU 1 (mptable_guest1_hide), or a kernel would start it with INIT
 *    and start-up IPIs, which lvisor refuses and which stop the first guest
 *    on SVM (vmm/apic.c).
 *
 * Intel MultiProcessor Specification 1.4, chapter 4: the floating pointer
 * (4.1) holds the configuration table's address; the table is a header
 * (4.2) and entries (4.3), processors first; the bytes of each (the
 * floating pointer's 16, the table's base length) sum to zero.
 */
#include <asm/x86.h>
#include <lib/printk.h>
#include <lib/string.h>
#include "acpi.h"
#include "apic.h"
#include "policy.h"
#include "vmm.h"

/* MP spec 4.1: the floating pointer structure. */
struct mp_float {
	char signature[4];	/* "_MP_" */
	uint32_t config;	/* the configuration table's physical address */
	uint8_t length;		/* in 16-byte units: 1 */
	uint8_t spec_rev;	/* 4: version 1.4 */
	uint8_t checksum;
	uint8_t feature[5];	/* 1: 0, a table is present; 2 bit 7: IMCR present */
} __attribute__((packed));

/* MP spec 4.2: the configuration table's header. */
struct mp_config {
	char signature[4];	/* "PCMP" */
	uint16_t length;	/* the base table's, header included */
	uint8_t spec_rev, checksum;
	char oem[8], product[12];
	uint32_t oem_table;
	uint16_t oem_table_size, entries;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
} __attribute__((packed));

/* MP spec 4.3: the entries, by type; a processor entry is 20 bytes, the
 * others 8. */
#define MP_PROCESSOR	0
#define MP_BUS		1
#define MP_IOAPIC	2
#define MP_IOINTR	3
#define MP_LINTR	4
#define MP_CPU_EN	1	/* processor flags: enabled */
#define MP_CPU_BP	2	/* the bootstrap processor */
#define MP_INT		0	/* interrupt types: a vectored interrupt */
#define MP_NMI		1
#define MP_EXTINT	3	/* an 8259A's, through LINT0 in virtual-wire mode (MP spec 3.6.2.2) */

struct mp_processor {
	uint8_t type, apic_id, apic_version, flags;
	uint32_t signature, features;	/* CPUID 1: EAX, EDX */
	uint32_t reserved[2];
} __attribute__((packed));

#define LAPIC_ADDR	0xfee00000u
#define APIC_VERSION	0x030	/* the local APIC's version register (SDM 11.4.8) */

/* Where its tables go: the F-segment, reserved in its map. */
#define GUEST2_MP_FLOAT	0xf0000u
#define GUEST2_MP_CONFIG	(GUEST2_MP_FLOAT + 16)


static uint8_t *add8(uint8_t *p, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3,
		     uint8_t b4, uint8_t b5, uint8_t b6, uint8_t b7)
{
	const uint8_t e[8] = { b0, b1, b2, b3, b4, b5, b6, b7 };

	memcpy(p, e, 8);
	return p + 8;
}

/*
 * The second guest's BIOS data area and MP tables, in its memory (zeroed
 * before), before it runs. Its machine: one CPU, APIC ID ap_id, the
 * bootstrap processor; an ISA bus; the machine's I/O APIC, ID and address
 * as in the MADT (lvisor emulates it for the second guest: its ID register
 * must read the same, or xv6 stops, "ioapicinit: id isn't equal to
 * ioapicid"); its devices' ISA IRQs (its policy's devices: section), each
 * on the pin of the same number in its view of the I/O APIC (by default
 * IRQ 4, its COM1, on pin 4); and the local interrupts of
 * virtual-wire mode, ExtINT on LINT0 and NMI on LINT1 (MP spec 3.6.2.2,
 * 5.1). Returns the I/O APIC's ID, -1 if the MADT lists none (then the
 * table has no I/O APIC and no interrupt entries).
 */
int mptable_guest2(const struct guest *g, uint8_t ap_id)
{
	uint8_t *mem = (uint8_t *)g->base, ioapic_id = 0;
	uint64_t ioapic_addr = 0;
	uint32_t gsi_base;
	bool ioapic = acpi_ioapic(&ioapic_id, &ioapic_addr, &gsi_base);
	const struct policy *devs = policy_guest2();
	char irqs[POLICY_DEVICES_MAX * 48] = "";
	unsigned len = 0;

	/* The BIOS data area (IBM PC technical reference; xv6's and Linux's
	 * MP searches read it): no extended BIOS data area (segment 0 at
	 * 0x40e), 640 KiB of base memory (0x413), as its memory map says
	 * (RAM 0-0x9ffff). */
	*(uint16_t *)(mem + 0x40e) = 0;
	*(uint16_t *)(mem + 0x413) = 640;

	struct mp_config *c = (void *)(mem + GUEST2_MP_CONFIG);
	memcpy(c->signature, "PCMP", 4);
	c->spec_rev = 4;
	memcpy(c->oem, "LVISOR  ", 8);
	memcpy(c->product, "SECOND GUEST", 12);
	c->lapic_addr = LAPIC_ADDR;

	struct mp_processor *cpu = (void *)(c + 1);
	struct cpuid_regs id = cpuid(1, 0);
	*cpu = (struct mp_processor){ MP_PROCESSOR, ap_id, apic_read(APIC_VERSION) & 0xff,
				      MP_CPU_EN | MP_CPU_BP, id.eax, id.edx, { 0, 0 } };
	uint8_t *p = (uint8_t *)(cpu + 1);
	p = add8(p, MP_BUS, 0, 'I', 'S', 'A', ' ', ' ', ' ');
	c->entries = 2;
	if (ioapic) {
		/* its version: the machine's, which its IOAPICVER reads
		 * (QEMU's 0x20, with an EOI register; Bochs' 0x11) */
		p = add8(p, MP_IOAPIC, ioapic_id, ioapic_version(), 1, ioapic_addr, ioapic_addr >> 8,
			 ioapic_addr >> 16, ioapic_addr >> 24);
		c->entries++;
		/* Its flags are the machine IRQ's, which the guest will
		 * program its pin with (MPS 1.4 table 4-10, the MADT's INTI
		 * flags: the same bits; 0 is the bus's, ISA's active high,
		 * edge). */
		for (unsigned i = 0; i < devs->device_count; i++) {
			const struct policy_device *d = &devs->devices[i];
			if (d->irq < 0)
				continue;
			uint32_t gsi;
			uint16_t flags = acpi_isa_irq(d->machine_irq, &gsi);
			p = add8(p, MP_IOINTR, MP_INT, flags, flags >> 8, 0, d->irq, ioapic_id, d->irq);
			c->entries++;
			if (len < sizeof(irqs))
				len += snprintf(irqs + len, sizeof(irqs) - len, ", ISA IRQ %d (%s) on pin %d",
						d->irq, d->name, d->irq);
		}
	}
	/* to every local APIC (0xff), LINT0 and LINT1 */
	p = add8(p, MP_LINTR, MP_EXTINT, 0, 0, 0, 0, 0xff, 0);
	p = add8(p, MP_LINTR, MP_NMI, 0, 0, 0, 0, 0xff, 1);
	c->entries += 2;
	c->length = p - (uint8_t *)c;
	c->checksum = -memsum(c, c->length);

	struct mp_float *f = (void *)(mem + GUEST2_MP_FLOAT);
	memcpy(f->signature, "_MP_", 4);
	f->config = GUEST2_MP_CONFIG;
	f->length = 1;
	f->spec_rev = 4;
	f->checksum = -memsum(f, sizeof(*f));

	if (ioapic)
		printk("second guest's tables: MP 1.4 at 0x%x: 1 CPU (APIC ID %u), I/O APIC %u at 0x%lx%s; "
		       "no ACPI\n", GUEST2_MP_FLOAT, ap_id, ioapic_id, ioapic_addr, irqs);
	else
		printk("second guest's tables: MP 1.4 at 0x%x: 1 CPU (APIC ID %u), no I/O APIC (none in "
		       "the MADT); no ACPI\n", GUEST2_MP_FLOAT, ap_id);
	return ioapic ? ioapic_id : -1;
}

/* --- The first guest's: the BIOS's tables without CPU 1 ------------------- */

/* A floating pointer with a good checksum in [a, a + len), 16-byte steps. */
static struct mp_float *mp_search(uint64_t a, uint64_t len)
{
	for (uint64_t p = a; p + 16 <= a + len; p += 16)
		if (!memcmp((void *)p, "_MP_", 4) && !memsum((void *)p, 16))
			return (struct mp_float *)p;
	return NULL;
}

/* Where xv6 and the MP spec (4: "Locating the MP floating pointer") look:
 * the first KiB of the EBDA, else the last KiB of base memory; then the
 * BIOS ROM, 0xf0000-0xfffff. */
static struct mp_float *mp_find(void)
{
	uint64_t bda = 0x400;
	__asm__("" : "+r"(bda));	/* a real address, not a null pointer's neighbour, to GCC */
	uint64_t ebda = (uint64_t)*(volatile uint16_t *)(bda + 0x0e) << 4;
	uint64_t base = (uint64_t)*(volatile uint16_t *)(bda + 0x13) << 10;
	struct mp_float *f = NULL;

	if (ebda && ebda < 0xa0000)
		f = mp_search(ebda, 1024);
	else if (base >= 1024 && base <= 0xa0000)
		f = mp_search(base - 1024, 1024);
	return f ? f : mp_search(0xf0000, 0x10000);
}

/*
 * The i440FX's PAM registers (Intel 82441FX datasheet 3.2.17: PAM0, byte
 * 0x59 of the host bridge's configuration space, bits 5:4 for
 * 0xf0000-0xfffff: 01 read-only, 11 read/write). The BIOS copies itself
 * to RAM there and makes it read-only before it boots us (SeaBIOS on QEMU,
 * Bochs' BIOS): its MP table, in that segment, can be edited only with
 * write access turned on for a moment. QEMU's "pc" machine and Bochs have
 * this bridge (8086:1237); with any other, lvisor leaves the table alone.
 */
#define I440FX		0x12378086u
#define PAM_DWORD	0x58
#define PAM0_F_SHIFT	12	/* byte 0x59 bits 5:4 in the dword at 0x58 */
#define PAM_RW		3u

static bool fsegment_writable(bool on, uint32_t *saved)
{
	if (pci_config_read(0, 0) != I440FX)
		return false;
	if (on) {
		*saved = pci_config_read(0, PAM_DWORD);
		pci_config_write(0, PAM_DWORD, *saved | PAM_RW << PAM0_F_SHIFT);
	} else {
		pci_config_write(0, PAM_DWORD, *saved);
	}
	return true;
}

/* The MP table without the processor entries of this APIC ID, built in
 * buf (the base table and any extended one after it); its size, or 0 if
 * there is nothing to drop or the table is not one. */
static size_t mp_without(const struct mp_config *c, uint8_t apic_id, uint8_t *buf, size_t max)
{
	size_t total = (size_t)c->length + c->ext_length;

	/* total > ...: a table that would run past 4 GiB, where lvisor
	 * maps nothing (boot/entry.S), or into lvisor's memory, which
	 * mp_hide would overwrite */
	if (memcmp(c->signature, "PCMP", 4) || c->length < sizeof(*c) || total > max ||
	    total > GUEST_PHYS_LIMIT - (uint64_t)c || ((uint64_t)c < VMM_END && (uint64_t)c + total > VMM_BASE) ||
	    memsum(c, c->length))
		return 0;
	memcpy(buf, c, total);
	struct mp_config *n = (void *)buf;
	uint8_t *p = buf + sizeof(*n);
	size_t end = total;
	bool dropped = false;
	for (unsigned i = 0; i < c->entries && p < buf + n->length; i++) {
		size_t len = p[0] == MP_PROCESSOR ? 20 : 8;
		/* an entry that runs past the base table's end is not one: the
		 * walk stops before it (what is dropped is moved within the
		 * table) */
		if (p + len > buf + n->length)
			break;
		if (p[0] == MP_PROCESSOR && p[1] == apic_id) {
			memmove(p, p + len, buf + end - (p + len));
			memset(buf + end - len, 0, len);
			end -= len;
			n->length -= len;
			n->entries--;
			dropped = true;
			continue;
		}
		p += len;
	}
	if (!dropped)
		return 0;
	n->checksum = 0;
	n->checksum = -memsum(n, n->length);
	return total;	/* the old size: the freed tail is zeros */
}

/* Take this CPU out of the BIOS's MP table; what, for lvisor's line: what
 * became of it. */
static void mp_hide(uint8_t apic_id, char *what, size_t size)
{
	static uint8_t buf[4096];
	struct mp_float *f = mp_find();

	if (!f || !f->config || f->config > GUEST_PHYS_LIMIT - sizeof(struct mp_config) ||
	    gpa_is_vmm(f->config) || gpa_is_guest2(f->config)) {
		snprintf(what, size, "no MP table");
		return;
	}
	struct mp_config *c = (void *)(uint64_t)f->config;
	size_t n = mp_without(c, apic_id, buf, sizeof(buf));
	if (!n) {
		snprintf(what, size, "MP table at 0x%x: no APIC ID %u in it", f->config, apic_id);
		return;
	}
	uint32_t saved = 0;
	bool unlocked = false;
	memcpy(c, buf, n);
	if (memcmp(c, buf, n) && f->config >= 0xf0000 && f->config + n <= 0x100000 &&
	    (unlocked = fsegment_writable(true, &saved))) {
		memcpy(c, buf, n);
		fsegment_writable(false, &saved);
	}
	if (memcmp(c, buf, n))
		snprintf(what, size, "MP table at 0x%x in read-only BIOS memory: left as is, it lists APIC ID %u",
			 f->config, apic_id);
	else
		snprintf(what, size, "MP table at 0x%x%s: APIC ID %u taken out", f->config,
			 unlocked ? " (read-only BIOS memory, written through the i440FX's PAM)" : "", apic_id);
}

/*
 * With a second guest, the first guest's tables list every CPU but CPU 1,
 * the second guest's (APIC ID ap_id): its entries leave the ACPI MADT
 * (acpi_hide_cpu) and the BIOS's MP table. One line says what the first
 * guest's tables show.
 */
void mptable_guest1_hide(uint8_t ap_id)
{
	char mp[128], cpus[64] = "";
	uint8_t ids[8];
	int madt = acpi_hide_cpu(ap_id);
	unsigned n = acpi_cpus(ids, 8), at = 0;

	for (unsigned i = 0; i < n; i++)
		at += snprintf(cpus + at, sizeof(cpus) - at, "%s%u", i ? ", " : "", ids[i]);
	mp_hide(ap_id, mp, sizeof(mp));
	if (madt < 0)
		printk("first guest's tables: no ACPI MADT; %s\n", mp);
	else
		printk("first guest's tables: ACPI MADT lists %u CPU%s (APIC ID %s), APIC ID %u taken out; %s\n",
		       n, n == 1 ? "" : "s", cpus, ap_id, mp);
}
