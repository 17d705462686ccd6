/*
 * Multiboot v1 kernels (the Multiboot Specification 0.6.96): find the
 * header, load the image either by the header's address fields (the "a.out
 * kludge", flag bit 16) or as an ELF file, build the multiboot information
 * and jump to the kernel.
 */
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/multiboot.h>
#include "firmware.h"

/* Header flags we understand: bits 0-15 are requirements a loader must
 * fail on if it cannot meet them (spec 3.1.2); 16 is the a.out kludge. */
#define FLAGS_KNOWN	(MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_VIDEO_MODE)

/*
 * The header: a 32-bit aligned magic number within the first 8 KiB of the
 * file, whose flags and checksum make the three fields sum to zero (spec
 * 3.1.1). Returns its offset, or -1; *bad_checksum says a magic number was
 * found but none had a valid checksum.
 */
static int find_header(const struct kernel_file *k, bool *bad_checksum)
{
	uint32_t limit = k->size < MULTIBOOT_SEARCH ? k->size : MULTIBOOT_SEARCH;

	*bad_checksum = false;
	for (uint32_t off = 0; off + 12 <= limit; off += 4) {
		const struct multiboot_header *mh = (const void *)(k->data + off);
		if (mh->magic != MULTIBOOT_HEADER_MAGIC)
			continue;
		if (mh->magic + mh->flags + mh->checksum == 0)
			return (int)off;
		*bad_checksum = true;
	}
	return -1;
}

bool multiboot_probe(const struct kernel_file *k)
{
	bool bad_checksum;
	return find_header(k, &bad_checksum) >= 0 || bad_checksum;
}

/*
 * The a.out kludge (spec 3.1.3, flag bit 16): the header gives physical
 * addresses. The file is loaded from header offset - (header_addr -
 * load_addr), up to load_end_addr (0: the whole rest of the file); memory
 * up to bss_end_addr (0: none) is cleared.
 */
static uint32_t load_kludge(const struct kernel_file *k, const struct multiboot_header *mh, uint32_t off)
{
	if (off + sizeof(*mh) > k->size)
		fail(k, "multiboot header truncated: the address fields (flag bit 16) are missing");
	if (mh->load_addr > mh->header_addr || mh->header_addr - mh->load_addr > off)
		fail(k, "multiboot header: load_addr 0x%x does not fit header_addr 0x%x at offset 0x%x",
		     mh->load_addr, mh->header_addr, off);

	if (mh->load_end_addr && mh->load_end_addr < mh->load_addr)
		fail(k, "multiboot header: load_end_addr 0x%x is below load_addr 0x%x",
		     mh->load_end_addr, mh->load_addr);

	uint32_t file_off = off - (mh->header_addr - mh->load_addr);
	uint32_t load_size = mh->load_end_addr ? mh->load_end_addr - mh->load_addr : k->size - file_off;
	uint32_t load_end = mh->load_addr + load_size;
	uint32_t bss_end = mh->bss_end_addr ? mh->bss_end_addr : load_end;

	if (load_size > k->size - file_off)
		fail(k, "truncated: the multiboot header asks for 0x%x bytes from offset 0x%x, the file has 0x%x",
		     load_size, file_off, k->size);
	if (bss_end < load_end)
		fail(k, "multiboot header: bss_end_addr 0x%x is below load_end_addr 0x%x", bss_end, load_end);
	check_load_range(k, "image", mh->load_addr, (uint64_t)bss_end);

	printk("%s: a.out kludge: 0x%x bytes from offset 0x%x to 0x%08x-0x%08x, bss to 0x%08x\n",
	       k->name, load_size, file_off, mh->load_addr, load_end - 1, bss_end - 1);
	memcpy((void *)mh->load_addr, k->data + file_off, load_size);
	memset((void *)load_end, 0, bss_end - load_end);
	return mh->entry_addr;
}

void multiboot_boot(const struct kernel_file *k, const struct handoff *h)
{
	bool bad_checksum;
	int off = find_header(k, &bad_checksum);

	if (off < 0)
		fail(k, "multiboot header has a bad checksum (magic + flags + checksum must be 0)");
	const struct multiboot_header *mh = (const void *)(k->data + off);
	printk("%s: multiboot kernel, header at offset 0x%x, flags 0x%x\n", k->name, off, mh->flags);

	uint32_t unknown = mh->flags & 0xffff & ~FLAGS_KNOWN;
	if (unknown)
		fail(k, "multiboot header requires features this firmware lacks (flag bits 0x%x)", unknown);
	/* QEMU warns and boots such a kernel too: it just gets no video mode. */
	if (mh->flags & MULTIBOOT_VIDEO_MODE)
		printk("%s: asks for a video mode (flag bit 2): none is set, serial console only\n", k->name);
	if (mh->flags & MULTIBOOT_PAGE_ALIGN)
		for (uint32_t i = 0; i < h->mods_count; i++)
			if (h->mods[i].start & 0xfff)
				fail(k, "module %s is not page-aligned (flag bit 0)", h->mods[i].string);

	uint32_t entry;
	if (mh->flags & MULTIBOOT_AOUT_KLUDGE)
		entry = load_kludge(k, mh, (uint32_t)off);
	else if (elf_probe(k))
		entry = elf_load(k);
	else
		fail(k, "multiboot kernel is neither ELF nor has load addresses in its header (flag bit 16)");

	uint32_t info = mbinfo_build(k, h);
	printk("%s: entering at 0x%08x with multiboot information at 0x%x\n", k->name, entry, info);
	multiboot_enter(entry, info);
}
