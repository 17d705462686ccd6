/*
 * Page allocation for the VMM's own structures (page tables for EPT/NPT,
 * VMCS/VMCB, bitmaps): a bump allocator over the VMM's memory, after its
 * image and the boot modules. Nothing is ever freed: lvisor runs one guest.
 */
#include <lib/printk.h>
#include <lib/string.h>
#include "vmm.h"

static uint64_t next_free;

void mm_init(uint64_t free_start)
{
	next_free = (free_start + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

void *page_alloc(size_t pages)
{
	uint64_t addr = next_free;

	if (addr + pages * PAGE_SIZE > VMM_END)
		panic("out of VMM memory allocating %zu pages", pages);
	next_free += pages * PAGE_SIZE;
	memset((void *)addr, 0, pages * PAGE_SIZE);
	return (void *)addr;
}
