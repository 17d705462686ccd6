/*
 * Nested paging (APM 15.25): the guest's physical addresses are translated
 * by a second set of page tables that lvisor owns. We map the first 4 GiB
 * one to one with 2 MiB pages, except lvisor's own memory, which is left
 * not present: a guest access there exits with #VMEXIT(NPF), which the core
 * reports as "guest touched VMM memory".
 */
#include "../vmm.h"
#include "svm.h"

#define NPT_P		(1ull << 0)
#define NPT_RW		(1ull << 1)
#define NPT_US		(1ull << 2)	/* nested walks are user accesses (APM 15.25.5) */
#define NPT_PS		(1ull << 7)	/* 2 MiB page */
#define NPT_LEAF	(NPT_P | NPT_RW | NPT_US)

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
	return (uint64_t)pml4;
}
