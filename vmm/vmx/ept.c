/*
 * Extended page tables (SDM 29.3): the guest's physical addresses are
 * translated by a second set of page tables that lvisor owns. We map the
 * first 4 GiB one to one with 2 MiB pages (SDM 29.3.2, table 29-4), except
 * lvisor's own memory (and a second guest's), which is left not present: a guest access there
 * exits with EPT_VIOLATION, which the core reports. The HPET's page is
 * read-only (gpa_is_read_only): the 2 MiB that hold it are mapped with
 * 4 KiB pages. With a second guest, so is the local APIC's in both
 * guests' maps, and the I/O APIC's is in neither (vmm/ioapic.c). RAM is
 * write-back; everything above the guest's RAM (the APIC,
 * the I/O APIC, PCI holes) is uncacheable, as MMIO must be (SDM 29.3.7).
 * The pages the policy watches (memory:, vmm/memwatch.c) lose the
 * permissions of the accesses watched there.
 */
#include <asm/vmx.h>
#include "../apic.h"
#include "../policy.h"
#include "../vmm.h"
#include "vmx.h"

#define EPT_RWX		(EPT_READ | EPT_WRITE | EPT_EXEC)

/* With a second guest, each guest's local APIC page is read-only, so that
 * vmm/apic.c checks every write (no INIT, no IPI to the other guest's
 * CPU), as on SVM. Without one, the first guest's APIC is its own. */
static bool apic_read_only(uint64_t gpa)
{
	return guest2.size && gpa == apic_page;
}

/* A page's permissions, less those of the accesses the policy watches
 * there (SDM 29.3.2, table 29-6): a write watch clears W; a read watch
 * clears R, and W and X with it (W without R is a misconfiguration, SDM
 * 29.3.3.1, and X without R needs the execute-only capability); an
 * execute watch clears X. */
static uint64_t watched(const struct policy *p, uint64_t gpa, uint64_t perms)
{
	unsigned kinds = watch_perms(p, gpa);

	if (kinds & POLICY_READ)
		return 0;
	if (kinds & POLICY_WRITE)
		perms &= ~EPT_WRITE;
	if (kinds & POLICY_EXEC)
		perms &= ~EPT_EXEC;
	return perms;
}

/* The 2 MiB region that holds gpa? */
static bool in_2m(uint64_t base, uint64_t gpa)
{
	return gpa && (gpa & ~0x1fffffull) == base;
}

/* A 2 MiB region with a 4 KiB page of its own kind: a page table of its
 * own (SDM 29.3.2, table 29-6). The HPET's page and (above) the APIC's
 * read-only; the I/O APIC's, when lvisor keeps it (vmm/ioapic.c), not
 * present. */
static uint64_t small_pages(const struct policy *p, uint64_t base, uint64_t type)
{
	uint64_t *pt = page_alloc(1);

	for (int j = 0; j < 512; j++) {
		uint64_t gpa = base + ((uint64_t)j << 12);
		if (gpa_is_ioapic(gpa))
			continue;
		uint64_t perms = gpa_is_read_only(gpa) || apic_read_only(gpa) ? EPT_READ : EPT_RWX;
		if (p->watch_count)
			perms = watched(p, gpa, perms);
		/* no permission at all: not present, the memory type unused */
		pt[j] = perms ? gpa | perms | type : 0;
	}
	return (uint64_t)pt | EPT_RWX;
}

uint64_t ept_build(const struct guest *g, const struct policy *p)
{
	uint64_t *pml4 = page_alloc(1), *pdpt = page_alloc(1), *pd = page_alloc(4);

	/* The second guest's: its GPA 0..size to host base..base+size, RAM
	 * (write-back), and its CPU's local APIC page, read-only and
	 * uncacheable (its writes checked by vmm/apic.c); nothing else: no
	 * lvisor memory, none of the first guest's, no other device. Any
	 * other access is an EPT violation, which the core reports (or, the
	 * I/O APIC's, emulates). */
	watch_check(p, g);	/* watches are the first guest's only */
	if (g->second) {
		pml4[0] = (uint64_t)pdpt | EPT_RWX;
		for (int i = 0; i < 4; i++)
			pdpt[i] = (uint64_t)&pd[512 * i] | EPT_RWX;
		for (uint64_t gpa = 0; gpa < g->size; gpa += 1 << 21)
			pd[gpa >> 21] = (g->base + gpa) | EPT_RWX | EPT_MT_WB | EPT_LARGE;
		if (apic_page >= g->size) {
			uint64_t *pt = page_alloc(1);
			pt[apic_page >> 12 & 511] = apic_page | EPT_READ | EPT_MT_UC;
			pd[apic_page >> 21] = (uint64_t)pt | EPT_RWX;
		}
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
		bool split = gpa_2m_is_split(gpa) || (guest2.size && in_2m(gpa, apic_page)) ||
			     in_2m(gpa, ioapic_page) || (p->watch_count && watch_2m(p, gpa));
		pd[i] = !split ? gpa | EPT_RWX | type | EPT_LARGE : small_pages(p, gpa, type);
	}
	/* EPTP (SDM 25.6.11): the PML4's address, WB for the tables
	 * themselves, and "page-walk length - 1" = 3 for four levels. */
	return (uint64_t)pml4 | EPTP_MT_WB | EPTP_WALK_4;
}
