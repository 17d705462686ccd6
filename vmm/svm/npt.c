/*
 * Nested paging (APM 15.25): the guest's physical addresses are translated
 * by a second set of page tables that lvisor owns. We map the first 4 GiB
 * one to one with 2 MiB pages, except lvisor's own memory (and a second
 * guest's), which is left not present: a guest access there exits with #VMEXIT(NPF), which the
 * core reports. The HPET's page is read-only (gpa_is_read_only), and so is
 * the local APIC's: the guest may read them, and their writes exit with NPF
 * too, which the core checks (vmm/apic.c: APIC writes are carried out
 * unless they send INIT or an IPI elsewhere; HPET writes stop the guest).
 * The 2 MiB that hold each are mapped with 4 KiB pages. With a second
 * guest, the I/O APIC's page is in neither guest's map: every access
 * there exits with NPF, for vmm/ioapic.c. The second guest's map has its
 * own RAM and its local APIC's page, read-only as the first guest's.
 * The pages the first guest's policy watches (memory:, vmm/memwatch.c)
 * lose the permissions of the accesses watched there.
 */
#include <asm/x86.h>
#include "../apic.h"
#include "../policy.h"
#include "../vmm.h"
#include "svm.h"

#define NPT_P		(1ull << 0)
#define NPT_RW		(1ull << 1)
#define NPT_US		(1ull << 2)	/* nested walks are user accesses (APM 15.25.5) */
#define NPT_PS		(1ull << 7)	/* 2 MiB page */
#define NPT_LEAF	(NPT_P | NPT_RW | NPT_US)
#define NPT_NX		(1ull << 63)	/* no execute, with the host's EFER.NXE (APM 5.6.1) */

/* A page's entry, less the permissions of the accesses the policy
 * watches there (APM 15.25.5, 5.3.3): a write watch clears R/W; a read
 * watch leaves it not present (NPT has no readable bit: P is all or
 * nothing); an execute watch sets NX. */
static uint64_t watched(const struct policy *p, uint64_t gpa, uint64_t pte)
{
	unsigned kinds = watch_perms(p, gpa);

	if (kinds & POLICY_READ)
		return 0;
	if (kinds & POLICY_WRITE)
		pte &= ~NPT_RW;
	if (kinds & POLICY_EXEC)
		pte |= NPT_NX;
	return pte;
}

/* The 2 MiB region that holds gpa? */
static bool in_2m(uint64_t base, uint64_t gpa)
{
	return gpa && (gpa & ~0x1fffffull) == base;
}

/*
 * A 2 MiB region with a 4 KiB page of its own kind, split into 4 KiB pages
 * (a page table under the PDE, APM 15.25.5 and 5.3.3): the HPET's and the
 * local APIC's without RW, so that only writes to them exit; the I/O
 * APIC's, when lvisor keeps it, not present; the rest as before.
 */
static uint64_t small_pages(const struct policy *p, uint64_t base)
{
	uint64_t *pt = page_alloc(1);

	for (int j = 0; j < 512; j++) {
		uint64_t gpa = base + ((uint64_t)j << 12);
		if (gpa_is_ioapic(gpa))
			continue;
		pt[j] = gpa | (gpa_is_read_only(gpa) || gpa == apic_page ? NPT_P | NPT_US : NPT_LEAF);
		if (p->watch_count)
			pt[j] = watched(p, gpa, pt[j]);
	}
	return (uint64_t)pt | NPT_LEAF;
}

/*
 * The second guest's: its GPA 0..size to host base..base+size, 2 MiB
 * pages; and, on a backend that decodes its stores, its CPU's local APIC
 * page, read-only like the first guest's, so that vmm/apic.c checks each
 * write (no INIT, no IPI to the other CPU). Nothing else: no lvisor
 * memory, none of the first guest's, no device. Any other access exits
 * with NPF, which the core reports (or the I/O APIC's, which it emulates).
 */
static uint64_t npt_build_guest2(const struct guest *g)
{
	uint64_t *pml4 = page_alloc(1), *pdpt = page_alloc(1), *pd = page_alloc(4);

	pml4[0] = (uint64_t)pdpt | NPT_LEAF;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (uint64_t)&pd[512 * i] | NPT_LEAF;
	for (uint64_t gpa = 0; gpa < g->size; gpa += 1 << 21)
		pd[gpa >> 21] = (g->base + gpa) | NPT_LEAF | NPT_PS;
	if (apic_page >= g->size) {	/* not inside its RAM: it is its APIC */
		uint64_t *pt = page_alloc(1);
		pt[apic_page >> 12 & 511] = apic_page | NPT_P | NPT_US;
		pd[apic_page >> 21] = (uint64_t)pt | NPT_LEAF;
	}
	return (uint64_t)pml4;
}

uint64_t npt_build(const struct guest *g, const struct policy *p)
{
	watch_check(p, g);	/* watches are the first guest's only */
	if (g->second)
		return npt_build_guest2(g);
	/* NX in a nested entry is reserved unless the host's EFER.NXE is set
	 * (APM 5.6.1, 15.25.5), and without NXE (or SMEP) the nested page
	 * fault's error code does not say whether the access was a fetch
	 * (bit 4, I/D): a fetch from a read-watched page would pass for a
	 * load. So with any watch this CPU, the one that runs the guest, gets
	 * NXE. lvisor's own tables use no NX bit. */
	if (p->watch_count)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);

	uint64_t *pml4 = page_alloc(1), *pdpt = page_alloc(1), *pd = page_alloc(4);

	pml4[0] = (uint64_t)pdpt | NPT_LEAF;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (uint64_t)&pd[512 * i] | NPT_LEAF;
	for (uint64_t i = 0; i < GUEST_PHYS_LIMIT >> 21; i++) {
		uint64_t gpa = i << 21;
		if (gpa_is_vmm(gpa) || gpa_is_guest2(gpa))
			continue;
		bool split = gpa_2m_is_split(gpa) || in_2m(gpa, apic_page) || in_2m(gpa, ioapic_page) ||
			     (p->watch_count && watch_2m(p, gpa));
		pd[i] = !split ? gpa | NPT_LEAF | NPT_PS : small_pages(p, gpa);
	}
	return (uint64_t)pml4;
}
