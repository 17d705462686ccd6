/*
 * Extended page tables (SDM 29.3): the guest's physical addresses are
 * translated by a second set of page tables that lvisor owns. We map the
 * first 4 GiB one to one with 2 MiB pages (SDM 29.3.2, table 29-4), except
 * lvisor's own memory (and a second guest's), which is left not present: a guest access there
 * exits with EPT_VIOLATION, which the core reports. The HPET's page is
 * read-only (gpa_is_read_only): the 2 MiB that hold it are mapped with
 * 4 KiB pages. RAM is write-back; everything above the guest's RAM (the APIC,
 * the I/O APIC, PCI holes) is uncacheable, as MMIO must be (SDM 29.3.7).
 */
#include <asm/vmx.h>
#include "../vmm.h"
#include "vmx.h"

#define EPT_RWX		(EPT_READ | EPT_WRITE | EPT_EXEC)

/* A 2 MiB region with a read-only 4 KiB page: a page table of its own
 * (SDM 29.3.2, table 29-6). */
static uint64_t small_pages(uint64_t base, uint64_t type)
{
	uint64_t *pt = page_alloc(1);

	for (int j = 0; j < 512; j++) {
		uint64_t gpa = base + ((uint64_t)j << 12);
		pt[j] = gpa | (gpa_is_read_only(gpa) ? EPT_READ : EPT_RWX) | type;
	}
	return (uint64_t)pt | EPT_RWX;
}

uint64_t ept_build(const struct guest *g)
{
	uint64_t *pml4 = page_alloc(1), *pdpt = page_alloc(1), *pd = page_alloc(4);

	/* The second guest's: its GPA 0..size to host base..base+size, RAM
	 * (write-back), and nothing else: no lvisor memory, none of the first
	 * guest's, no device (no APIC: no IPIs). Any other access is an
	 * EPT violation, which the core reports. */
	if (g->second) {
		pml4[0] = (uint64_t)pdpt | EPT_RWX;
		for (int i = 0; i < 4; i++)
			pdpt[i] = (uint64_t)&pd[512 * i] | EPT_RWX;
		for (uint64_t gpa = 0; gpa < g->size; gpa += 1 << 21)
			pd[gpa >> 21] = (g->base + gpa) | EPT_RWX | EPT_MT_WB | EPT_LARGE;
		return (uint64_t)pml4 | EPTP_MT_WB | EPTP_WALK_4;
	}

	pml4[0] = (uint64_t)pdpt | EPT_RWX;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (uint64_t)&pd[512 * i] | EPT_RWX;
	for (uint64_t i = 0; i < GUEST_PHYS_LIMIT >> 21; i++) {
		uint64_t gpa = i << 21;
		uint64_t type = gpa < g->ram_end ? EPT_MT_WB : EPT_MT_UC;
		if (gpa_is_vmm(gpa) || gpa_is_guest2(gpa))
			continue;
		pd[i] = !gpa_2m_is_split(gpa) ? gpa | EPT_RWX | type | EPT_LARGE : small_pages(gpa, type);
	}
	/* EPTP (SDM 25.6.11): the PML4's address, WB for the tables
	 * themselves, and "page-walk length - 1" = 3 for four levels. */
	return (uint64_t)pml4 | EPTP_MT_WB | EPTP_WALK_4;
}
