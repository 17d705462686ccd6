/*
 * Nested paging (APM 15.25): the guest's physical addresses are translated
 * by a second set of page tables that lvisor owns. We map the first 4 GiB
 * one to one with 2 MiB pages, except lvisor's own memory, which is left
 * not present: a guest access there exits with #VMEXIT(NPF), which the core
 * reports as "guest touched VMM memory". And the local APIC's page, which
 * the guest may read but not write: its writes exit with NPF too, and the
 * core checks and carries them out (vmm/apic.c).
 */
#include "../vmm.h"
#include "svm.h"

#define NPT_P		(1ull << 0)
#define NPT_RW		(1ull << 1)
#define NPT_US		(1ull << 2)	/* nested walks are user accesses (APM 15.25.5) */
#define NPT_PS		(1ull << 7)	/* 2 MiB page */
#define NPT_LEAF	(NPT_P | NPT_RW | NPT_US)

/*
 * The 2 MiB page that holds the local APIC's page, split into 4 KiB pages
 * (a page table under the PDE, APM 15.25.5 and 5.3.3): all as before,
 * but the APIC's without RW, so that only writes to it exit.
 */
static void apic_read_only(uint64_t *pd)
{
	uint64_t *pt = page_alloc(1), big = apic_page & ~0x1fffffull;

	for (int i = 0; i < 512; i++)
		pt[i] = (big + (uint64_t)i * PAGE_SIZE) | NPT_LEAF;
	pt[apic_page >> 12 & 511] &= ~NPT_RW;
	pd[apic_page >> 21] = (uint64_t)pt | NPT_LEAF;
}

uint64_t npt_build(void)
{
	uint64_t *pml4 = page_alloc(1), *pdpt = page_alloc(1), *pd = page_alloc(4);

	pml4[0] = (uint64_t)pdpt | NPT_LEAF;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (uint64_t)&pd[512 * i] | NPT_LEAF;
	for (uint64_t i = 0; i < GUEST_PHYS_LIMIT >> 21; i++) {
		uint64_t gpa = i << 21;
		if (!gpa_is_vmm(gpa))
			pd[i] = gpa | NPT_LEAF | NPT_PS;
	}
	apic_read_only(pd);
	return (uint64_t)pml4;
}
