/*
 * The multiboot information the kernel finds in EBX (multiboot spec 3.3,
 * "Boot information format"): memory sizes and map, command line, modules
 * and our name. Everything is built in [INFO_START, INFO_END), in the
 * firmware's area just below 16 MiB (firmware.h), which the memory map
 * marks reserved and check_load_range() keeps kernels out of: a kernel
 * that maps only its first 16 MiB, or reads the information late, still
 * finds it intact.
 */
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/multiboot.h>
#include "firmware.h"

static const struct kernel_file *kernel;	/* for error messages */
static uint32_t next;				/* first free byte */

/* Take size zeroed bytes from the info area, 8-byte aligned. */
static void *alloc(uint32_t size)
{
	next = (next + 7) & ~7u;
	if (size > INFO_END - next)
		fail(kernel, "multiboot information does not fit in 0x%x-0x%x", INFO_START, INFO_END - 1);
	void *p = (void *)next;
	next += size;
	memset(p, 0, size);
	return p;
}

static uint32_t copy_string(const char *s)
{
	size_t n = strlen(s) + 1;
	return (uint32_t)memcpy(alloc(n), s, n);
}

/* The kernel's command line: like QEMU, its file name, then APPEND. */
static uint32_t cmdline(const struct handoff *h)
{
	size_t name = strlen(h->kernel_name), args = strlen(h->cmdline);
	char *s = alloc(name + 1 + args + 1);

	memcpy(s, h->kernel_name, name);
	if (args) {
		s[name] = ' ';
		memcpy(s + name + 1, h->cmdline, args);
	}
	return (uint32_t)s;
}

/*
 * mem_lower: KiB of RAM from address 0 (at most 640); mem_upper: KiB of RAM
 * from 1 MiB up to the first hole (spec 3.3). Adjacent RAM ranges count
 * as one.
 */
static uint32_t ram_from(const struct handoff *h, uint64_t start)
{
	uint64_t end = start;
	bool grew = true;

	while (grew) {
		grew = false;
		for (uint32_t i = 0; i < h->e820_count; i++) {
			const struct handoff_e820 *e = &h->e820[i];
			if (e->type == E820_RAM && e->addr <= end && e->addr + e->len > end) {
				end = e->addr + e->len;
				grew = true;
			}
		}
	}
	return (uint32_t)((end - start) / 1024);
}

static void memory(struct multiboot_info *mbi, const struct handoff *h)
{
	uint32_t lower = ram_from(h, 0);
	mbi->mem_lower = lower > 640 ? 640 : lower;
	mbi->mem_upper = ram_from(h, 0x100000);
	mbi->flags |= MULTIBOOT_INFO_MEMORY;

	/* The map itself: one entry per e820 range, same types (1 = RAM). */
	struct multiboot_mmap *map = alloc(h->e820_count * sizeof(*map));
	for (uint32_t i = 0; i < h->e820_count; i++) {
		map[i].size = sizeof(map[i]) - sizeof(map[i].size);
		map[i].addr = h->e820[i].addr;
		map[i].len = h->e820[i].len;
		map[i].type = h->e820[i].type;
	}
	mbi->mmap_addr = (uint32_t)map;
	mbi->mmap_length = h->e820_count * sizeof(*map);
	mbi->flags |= MULTIBOOT_INFO_MEM_MAP;
}

/* Modules stay where the VMM staged them. */
static void modules(struct multiboot_info *mbi, const struct handoff *h)
{
	struct multiboot_module *mods = alloc(h->mods_count * sizeof(*mods));

	for (uint32_t i = 0; i < h->mods_count; i++) {
		mods[i].start = h->mods[i].start;
		mods[i].end = h->mods[i].end;
		mods[i].string = copy_string(h->mods[i].string);
		printk("%s: module %s at 0x%08x-0x%08x\n", kernel->name, h->mods[i].string,
		       mods[i].start, mods[i].end - 1);
	}
	mbi->mods_count = h->mods_count;
	mbi->mods_addr = (uint32_t)mods;
	mbi->flags |= MULTIBOOT_INFO_MODS;
}

uint32_t mbinfo_build(const struct kernel_file *k, const struct handoff *h)
{
	kernel = k;
	next = INFO_START;

	struct multiboot_info *mbi = alloc(sizeof(*mbi));
	memory(mbi, h);
	mbi->cmdline = cmdline(h);
	mbi->flags |= MULTIBOOT_INFO_CMDLINE;
	modules(mbi, h);
	mbi->boot_loader_name = copy_string("lvisor firmware");
	mbi->flags |= MULTIBOOT_INFO_LOADER_NAME;

	printk("%s: memory %u KiB lower, %u KiB upper, %u map entries; command line \"%s\"\n",
	       k->name, mbi->mem_lower, mbi->mem_upper, h->e820_count, (const char *)mbi->cmdline);
	return (uint32_t)mbi;
}
