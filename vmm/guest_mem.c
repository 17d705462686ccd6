/*
 * Reading the guest's memory, for the few things lvisor must see there:
 * the PAE PDPTEs that a MOV to CR0/CR3/CR4 loads, the bytes of an
 * instruction whose length the CPU did not report.
 *
 * Guest-physical is host-physical below 4 GiB (EPT/NPT map it one to one,
 * lvisor's own page tables map all of it), so a read is a copy. But the
 * address is the guest's choice: it may be lvisor's memory, the LAPIC page
 * (lvisor's own LAPIC, since the guest's is the CPU's), a PCI hole, or
 * nothing at all. guest_read_phys reads only what the guest's memory map
 * (vmm/guest.c) calls RAM, which never includes lvisor's memory.
 */
#include <lib/string.h>
#include "guest_mem.h"
#include "vmm.h"

#define PTE_P		(1u << 0)	/* present (SDM 4.3, 4.5) */
#define PTE_PS		(1u << 7)	/* page size: this entry maps a page */
#define PTE_ADDR	0x000ffffffffff000ull	/* bits 51:12 of a 64-bit entry */

/* The end of guest g's RAM range holding gpa, or 0 if gpa is not RAM. */
static uint64_t ram_end(const struct guest *g, uint64_t gpa)
{
	for (unsigned i = 0; i < g->ram_count; i++)
		if (gpa >= g->ram[i].start && gpa < g->ram[i].end)
			return g->ram[i].end;
	return 0;
}

bool guest_read_phys(const struct guest *g, uint64_t gpa, void *buf, size_t len)
{
	uint8_t *out = buf;

	while (len) {
		/* Ranges may be adjacent (the machine's map splits RAM where
		 * it likes): a read may span two. */
		uint64_t end = ram_end(g, gpa);
		if (!end)
			return false;
		size_t n = end - gpa < len ? end - gpa : len;
		memcpy(out, (const void *)(g->base + gpa), n);	/* host = base + GPA */
		out += n;
		gpa += n;
		len -= n;
	}
	return true;
}

/* Entry `index` of the table at `table`, `size` bytes wide: false if it is
 * outside RAM or not present. */
static bool table_entry(const struct guest *g, uint64_t table, uint64_t index, size_t size, uint64_t *e)
{
	*e = 0;
	return guest_read_phys(g, table + index * size, e, size) && (*e & PTE_P);
}

/*
 * The guest-physical address of linear address va, by the guest's paging
 * mode (SDM 4.1.1, table 4-1): none, 32-bit (4.3), PAE (4.4) or 4-level
 * (4.5). No permission or reserved-bit checks: lvisor reads where the CPU
 * has just read, it does not emulate an access. Two approximations: PAE's
 * PDPTEs come from memory, not from the registers the CPU loaded at the
 * last MOV to CR3 (on SVM with nested paging there are no such registers
 * anyway: APM 15.25, "Legacy PAE Mode"), and a TLB entry that the guest has not flushed is
 * not seen. Callers check what they read.
 */
static bool translate(struct vcpu *v, uint64_t va, uint64_t *pa)
{
	uint64_t cr0 = vcpu_cr(v, 0), cr3 = vcpu_cr(v, 3), cr4 = vcpu_cr(v, 4), e;
	bool lma = backend->efer(v) & EFER_LMA;

	if (!lma)
		va = (uint32_t)va;		/* linear addresses are 32 bits wide */
	if (!(cr0 & CR0_PG)) {
		*pa = va;
		return true;
	}
	if (!(cr4 & CR4_PAE)) {			/* 32-bit paging: 4-byte entries */
		if (!table_entry(v->guest, cr3 & 0xfffff000, va >> 22, 4, &e))
			return false;
		if ((e & PTE_PS) && (cr4 & CR4_PSE)) {
			/* a 4 MiB page; PDE bits 20:13 are address bits 39:32 (table 4-4) */
			*pa = (e & 0xffc00000) | ((e >> 13 & 0xff) << 32) | (va & 0x3fffff);
			return true;
		}
		if (!table_entry(v->guest, e & 0xfffff000, (va >> 12) & 0x3ff, 4, &e))
			return false;
		*pa = (e & 0xfffff000) | (va & 0xfff);
		return true;
	}
	if (lma && (cr4 & CR4_LA57))
		return false;			/* 5-level paging: not walked */
	/* PAE starts at the 4 PDPTEs (CR3 bits 31:5), 4-level at the PML4. */
	uint64_t table = lma ? cr3 & PTE_ADDR : cr3 & 0xffffffe0;
	for (int level = lma ? 4 : 3; level >= 1; level--) {
		int shift = 12 + 9 * (level - 1);
		uint64_t index = (va >> shift) & (lma || level < 3 ? 511 : 3);
		if (!table_entry(v->guest, table, index, 8, &e))
			return false;
		/* PS maps a 2 MiB page in a PDE, a 1 GiB page in a PDPTE of
		 * 4-level paging (PAE's PDPTEs have no PS). */
		if (level == 1 || ((e & PTE_PS) && (level == 2 || (level == 3 && lma)))) {
			uint64_t offset = (1ull << shift) - 1;
			*pa = (e & PTE_ADDR & ~offset) | (va & offset);
			return true;
		}
		table = e & PTE_ADDR;
	}
	return false;
}

bool guest_virt_to_phys(struct vcpu *v, uint64_t va, uint64_t *gpa)
{
	return translate(v, va, gpa);
}

bool guest_read_virt(struct vcpu *v, uint64_t va, void *buf, size_t len)
{
	uint8_t *out = buf;
	uint64_t pa;

	while (len) {			/* page by page: each has its own translation */
		size_t n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		if (n > len)
			n = len;
		if (!translate(v, va, &pa) || !guest_read_phys(v->guest, pa, out, n))
			return false;
		out += n;
		va += n;
		len -= n;
	}
	return true;
}
