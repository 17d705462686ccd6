/*
 * Page allocation for the VMM's own structures (page tables for EPT/NPT,
 * VMCS/VMCB, bitmaps): a bump allocator over the VMM's memory, after its
 * image and the boot modules. Nothing is ever freed: lvisor runs one guest.
 * The CPUs share it: `lock` makes taking pages one step, so that two CPUs
 * creating their vCPUs at once never get the same page.
 */
#include <lib/printk.h>
#include <lib/spinlock.h>
#include <lib/string.h>
#include "vmm.h"

static spinlock_t lock;
static uint64_t next_free;

void mm_init(uint64_t free_start)
{
	next_free = (free_start + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

void *page_alloc(size_t pages)
{
	spin_lock(&lock);
	uint64_t addr = next_free;
	if (addr + pages * PAGE_SIZE > VMM_END) {
		spin_unlock(&lock);
		panic("out of VMM memory allocating %zu pages", pages);
	}
	next_free += pages * PAGE_SIZE;
	spin_unlock(&lock);
	memset((void *)addr, 0, pages * PAGE_SIZE);	/* the pages are ours alone now */
	return (void *)addr;
}

#define PTE_PWT		(1ull << 3)	/* with PCD: PAT entry 3, UC at power-on (SDM 12.12.2) */
#define PTE_PCD		(1ull << 4)
#define PTE_ADDR	0x000ffffffffff000ull

/*
 * Make the 2 MiB page of lvisor's own address space that holds pa
 * uncacheable, for a device's registers that lvisor writes (the local
 * APIC's page must be UC, SDM 11.4.1). boot/entry.S maps the first 4 GiB
 * one to one with 2 MiB pages and no cache attributes, leaving the memory
 * type to the firmware's MTRRs.
 */
void mm_uncached(uint64_t pa)
{
	uint64_t *pml4 = (uint64_t *)(read_cr3() & PTE_ADDR);
	uint64_t *pdpt = (uint64_t *)(pml4[pa >> 39 & 511] & PTE_ADDR);
	uint64_t *pd = (uint64_t *)(pdpt[pa >> 30 & 511] & PTE_ADDR);

	pd[pa >> 21 & 511] |= PTE_PCD | PTE_PWT;
	__asm__ volatile("invlpg (%0)" : : "r"(pa) : "memory");
}
