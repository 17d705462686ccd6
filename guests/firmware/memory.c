/*
 * Where a kernel may be loaded: into RAM of the guest's memory map (so
 * never into the VMM's memory, which the map marks reserved), and not over
 * what the firmware still needs while it loads: its own code, stack and
 * handoff, the multiboot information it builds, and the staged files it is
 * copying from.
 */
#include "firmware.h"

static const struct handoff *handoff;
/* The staged kernel file and modules: [staging_start, staging_end). The
 * VMM stages them at STAGING_ADDR, or lower for a guest with less memory. */
static uint64_t staging_start, staging_end;

void memory_init(const struct handoff *h)
{
	handoff = h;
	staging_start = h->kernel_start;
	staging_end = h->kernel_end;
	for (uint32_t i = 0; i < h->mods_count; i++)
		if (h->mods[i].end > staging_end)
			staging_end = h->mods[i].end;
}

static bool overlaps(uint64_t start, uint64_t end, uint64_t a, uint64_t b)
{
	return start < b && a < end;
}

/* The RAM range of the memory map that contains addr, or NULL. */
static const struct handoff_e820 *ram_at(uint64_t addr)
{
	for (uint32_t i = 0; i < handoff->e820_count; i++) {
		const struct handoff_e820 *e = &handoff->e820[i];
		if (e->type == E820_RAM && addr >= e->addr && addr < e->addr + e->len)
			return e;
	}
	return NULL;
}

void check_load_range(const struct kernel_file *k, const char *what, uint64_t start, uint64_t end)
{
	if (end <= start)
		return;
	/* We run without paging: the kernel must fit below 4 GiB. */
	if (end > 0x100000000ull)
		fail(k, "%s at 0x%llx-0x%llx lies above 4 GiB", what, start, end - 1);
	/* The map marks this area reserved too (below): this says why. */
	if (overlaps(start, end, FIRMWARE_AREA, FIRMWARE_AREA_END))
		fail(k, "%s at 0x%llx-0x%llx overlaps the firmware and its data (0x%x-0x%x)",
		     what, start, end - 1, FIRMWARE_AREA, FIRMWARE_AREA_END - 1);
	if (overlaps(start, end, staging_start, staging_end))
		fail(k, "%s at 0x%llx-0x%llx overlaps the staged kernel file and modules (0x%llx-0x%llx)",
		     what, start, end - 1, staging_start, staging_end - 1);
	/* Walk the RAM ranges from start: adjacent ones may cover it together. */
	for (uint64_t p = start; p < end;) {
		const struct handoff_e820 *e = ram_at(p);
		if (!e)
			fail(k, "%s at 0x%llx-0x%llx is not all RAM: 0x%llx is reserved or absent in the memory map",
			     what, start, end - 1, p);
		p = e->addr + e->len;
	}
}
