/*
 * tables: a 32-bit multiboot test kernel that prints the machine it finds
 * in its firmware's tables, as a kernel reads them, then powers off. Each
 * line starts "tables: ":
 *
 *   memory: lower L KiB, upper U KiB, RAM top 0xT   the multiboot words and the
 *                                                   end of the highest RAM range
 *   BDA: EBDA segment 0xS, base memory N KiB        the BIOS data area's 0x40e, 0x413
 *   MP: floating pointer at 0xF, table at 0xC, spec 1.V, checksums ok|bad
 *   MP processor: APIC ID A, enabled|disabled[, BSP]
 *   MP bus B: NAME
 *   MP I/O APIC: ID I, version 0xV, address 0xA, enabled|disabled
 *   I/O APIC: IOAPICVER version 0xV, N pins        read from the I/O APIC the entry names
 *   MP interrupt: TYPE bus B IRQ Q -> I/O APIC I pin P
 *   MP local interrupt: TYPE -> LINTn
 *   MP CPUs: N (APIC IDs a, b)                      the processor entries
 *   MP: none                                        no floating pointer
 *   ACPI MADT CPUs: N (APIC IDs a, b)               its enabled local APIC entries
 *   ACPI: none                                      no RSDP, or no MADT
 *
 * The MP search is xv6's (and the MP spec's, 4): the first KiB of the
 * EBDA, else the last KiB of base memory, then 0xf0000-0xfffff. As the
 * second guest (KERNEL2) it prints on COM2 (console= on its command line).
 */
#include <stdbool.h>
#include <stdint.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/multiboot.h>

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

/* Read low memory through an address GCC cannot see is small. */
static const uint8_t *at(uint32_t a)
{
	__asm__("" : "+r"(a));
	return (const uint8_t *)a;
}

static uint16_t word(uint32_t a)
{
	uint16_t w;

	memcpy(&w, at(a), 2);
	return w;
}

static uint32_t dword(const uint8_t *p)
{
	uint32_t d;

	memcpy(&d, p, 4);
	return d;
}

static const uint8_t *mp_search(uint32_t a, uint32_t len)
{
	for (uint32_t p = a; p + 16 <= a + len; p += 16)
		if (!memcmp(at(p), "_MP_", 4) && !memsum(at(p), 16))
			return at(p);
	return NULL;
}

static void list(const char *what, const uint8_t *ids, unsigned n)
{
	char buf[80];
	unsigned len = 0;

	for (unsigned i = 0; i < n; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%u", i ? ", " : "", ids[i]);
	printk("%s: %u (APIC IDs %s)\n", what, n, buf);
}

/* IOAPICVER (register 1, through IOREGSEL at +0 and IOWIN at +0x10;
 * 82093AA datasheet 3.2.2): the version in bits 7:0, the highest pin in
 * 23:16. */
static void ioapic_version(uint32_t base)
{
	*(volatile uint32_t *)at(base) = 1;
	uint32_t ver = *(volatile uint32_t *)at(base + 0x10);
	printk("I/O APIC: IOAPICVER version 0x%02x, %u pins\n", ver & 0xff, (ver >> 16 & 0xff) + 1);
}

static void mp(void)
{
	static const char *const int_types[] = { "INT", "NMI", "SMI", "ExtINT" };
	uint32_t ebda = (uint32_t)word(0x40e) << 4, base = (uint32_t)word(0x413) << 10;
	const uint8_t *f = NULL;

	printk("BDA: EBDA segment 0x%04x, base memory %u KiB\n", ebda >> 4, base >> 10);
	if (ebda)
		f = mp_search(ebda, 1024);
	else
		f = mp_search(base - 1024, 1024);
	if (!f)
		f = mp_search(0xf0000, 0x10000);
	if (!f) {
		printk("MP: none\n");
		return;
	}
	const uint8_t *c = at(dword(f + 4));
	uint16_t len = c[4] | c[5] << 8, entries = c[34] | c[35] << 8;
	bool ok = !memcmp(c, "PCMP", 4) && !memsum(c, len);
	printk("MP: floating pointer at 0x%x, table at 0x%x, spec 1.%u, checksums %s\n",
	       (uint32_t)f, (uint32_t)c, c[6], ok ? "ok" : "bad");
	if (!ok)
		return;
	uint8_t cpus[16];
	unsigned ncpus = 0;
	const uint8_t *p = c + 44;
	for (unsigned i = 0; i < entries && p < c + len; i++) {
		switch (p[0]) {
		case 0:
			printk("MP processor: APIC ID %u, %s%s\n", p[1], p[3] & 1 ? "enabled" : "disabled",
			       p[3] & 2 ? ", BSP" : "");
			if (ncpus < 16)
				cpus[ncpus++] = p[1];
			p += 20;
			continue;
		case 1:
			printk("MP bus %u: %.6s\n", p[1], (const char *)p + 2);
			break;
		case 2:
			printk("MP I/O APIC: ID %u, version 0x%02x, address 0x%x, %s\n", p[1], p[2], dword(p + 4),
			       p[3] & 1 ? "enabled" : "disabled");
			ioapic_version(dword(p + 4));
			break;
		case 3:
			printk("MP interrupt: %s bus %u IRQ %u -> I/O APIC %u pin %u\n", int_types[p[1] & 3],
			       p[4], p[5], p[6], p[7]);
			break;
		case 4:
			printk("MP local interrupt: %s -> LINT%u\n", int_types[p[1] & 3], p[7]);
			break;
		default:
			printk("MP entry type %u: stop\n", p[0]);
			return;
		}
		p += 8;
	}
	list("MP CPUs", cpus, ncpus);
}

/* ACPI 5.2.5: the RSDP in 0xe0000-0xfffff; its RSDT's entries. */
static void acpi(void)
{
	const uint8_t *rsdp = NULL;

	for (uint32_t a = 0xe0000; a < 0x100000 && !rsdp; a += 16)
		if (!memcmp(at(a), "RSD PTR ", 8) && !memsum(at(a), 20))
			rsdp = at(a);
	if (!rsdp) {
		printk("ACPI: none\n");
		return;
	}
	const uint8_t *rsdt = at(dword(rsdp + 16));
	for (uint32_t i = 36; i + 4 <= dword(rsdt + 4); i += 4) {
		const uint8_t *t = at(dword(rsdt + i));
		if (memcmp(t, "APIC", 4))
			continue;
		uint8_t cpus[16];
		unsigned n = 0;
		if (memsum(t, dword(t + 4))) {
			printk("ACPI MADT: checksum bad\n");
			return;
		}
		for (const uint8_t *p = t + 44; p + 2 <= t + dword(t + 4) && p[1] >= 2; p += p[1])
			if (p[0] == 0 && (p[4] & 1) && n < 16)
				cpus[n++] = p[3];
		list("ACPI MADT CPUs", cpus, n);
		return;
	}
	printk("ACPI: none\n");
}

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	const struct multiboot_info *mbi = (const void *)info;

	console_port_from_cmdline(multiboot_cmdline(magic, info));
	console_init("tables: ", 0);
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
		printk("not started by a multiboot loader\n");
		poweroff(0);
	}
	uint64_t top = 0;
	if (mbi->flags & MULTIBOOT_INFO_MEM_MAP) {
		for (uint32_t p = mbi->mmap_addr; p < mbi->mmap_addr + mbi->mmap_length;) {
			const struct multiboot_mmap *m = (const void *)p;
			if (m->type == 1 && m->addr + m->len > top && m->addr < 0x100000000ull)
				top = m->addr + m->len;
			p += m->size + 4;
		}
	}
	printk("memory: lower %u KiB, upper %u KiB, RAM top 0x%llx\n", mbi->mem_lower, mbi->mem_upper,
	       (unsigned long long)top);
	mp();
	acpi();
	poweroff(1);
}
