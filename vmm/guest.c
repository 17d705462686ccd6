/*
 * The guest's machine: its memory map and what it boots.
 *
 * The boot loader (QEMU's -kernel or GRUB) gave lvisor three kinds of
 * multiboot modules: the firmware, the guest kernel (with its command line)
 * and any INITRD files. We copy the firmware to where the guest starts, the
 * kernel and its modules to the staging area in guest memory, and describe
 * it all in the handoff that the firmware reads (include/lvisor/handoff.h).
 */
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/handoff.h>
#include <lvisor/multiboot.h>
#include "vmm.h"

extern char __vmm_image_end[];
uint64_t guest_ram_end;
struct ram_range guest_ram[HANDOFF_MAX_E820];
unsigned guest_ram_count;

bool gpa_is_vmm(uint64_t gpa)
{
	return gpa >= VMM_BASE && gpa < VMM_END;
}

static void add_e820(struct handoff *h, uint64_t addr, uint64_t len, uint32_t type)
{
	if (!len)
		return;
	if (h->e820_count == HANDOFF_MAX_E820)
		panic("guest memory map: more than %d ranges", HANDOFF_MAX_E820);
	h->e820[h->e820_count++] = (struct handoff_e820){ addr, len, type, 0 };
	if (type != E820_RAM)
		return;
	if (addr + len > guest_ram_end)
		guest_ram_end = addr + len;
	guest_ram[guest_ram_count++] = (struct ram_range){ addr, addr + len };
}

/* The machine's memory map with our own memory cut out of it as reserved:
 * the guest's kernel must never allocate it. */
static void build_e820(struct handoff *h, struct multiboot_info *mbi)
{
	if (!(mbi->flags & MULTIBOOT_INFO_MEM_MAP))
		panic("the boot loader gave no memory map");
	uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
	bool clipped = false;
	while (p < end) {
		struct multiboot_mmap *m = (void *)p;
		uint64_t a = m->addr, b = m->addr + m->len;
		uint32_t type = m->type == 1 ? E820_RAM : m->type;
		/* EPT and NPT map the first 4 GiB (GUEST_PHYS_LIMIT): RAM
		 * above is not the guest's. */
		if (type == E820_RAM && b > GUEST_PHYS_LIMIT) {
			if (!clipped)
				printk("RAM above 4 GiB is left out of the guest's memory map\n");
			clipped = true;
			b = a > GUEST_PHYS_LIMIT ? a : GUEST_PHYS_LIMIT;
		}
		if (type == E820_RAM && a < VMM_END && b > VMM_BASE) {
			add_e820(h, a, (a < VMM_BASE ? VMM_BASE : a) - a, E820_RAM);
			add_e820(h, a < VMM_BASE ? VMM_BASE : a, (b > VMM_END ? VMM_END : b) - (a < VMM_BASE ? VMM_BASE : a), E820_RESERVED);
			add_e820(h, VMM_END, b > VMM_END ? b - VMM_END : 0, E820_RAM);
		} else {
			add_e820(h, a, b - a, type);
		}
		p += m->size + 4;
	}
	printk("guest memory map:\n");
	for (uint32_t i = 0; i < h->e820_count; i++)
		printk("  %016lx-%016lx %s\n", h->e820[i].addr, h->e820[i].addr + h->e820[i].len - 1,
		       h->e820[i].type == E820_RAM ? "RAM" : gpa_is_vmm(h->e820[i].addr) ? "reserved (lvisor)" : "reserved");
}

static const char *basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* A boot module, copied out of the boot loader's structures: those lie in
 * low memory (QEMU puts them at 0x9000) that the firmware will overwrite. */
struct module {
	uint64_t start, end;
	char string[1100];	/* "path [command line]": room for HANDOFF cmdline */
};

/* Copy one module to guest memory at *at; returns where it went. */
static uint32_t stage(struct module *m, uint64_t *at)
{
	uint64_t size = m->end - m->start, dst = *at;
	if (dst + size > VMM_BASE)
		panic("guest kernel and modules do not fit below lvisor's memory (%lu bytes)", size);
	memmove((void *)dst, (void *)m->start, size);
	*at = (dst + size + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	return (uint32_t)dst;
}

void guest_setup(struct multiboot_info *mbi)
{
	static struct module mods[2 + HANDOFF_MAX_MODS];
	struct multiboot_module *mb = (void *)(uint64_t)mbi->mods_addr;
	uint32_t n = mbi->flags & MULTIBOOT_INFO_MODS ? mbi->mods_count : 0;

	if (n < 2)
		panic("no guest: lvisor expects the firmware and a kernel as multiboot modules");
	if (n > 2 + HANDOFF_MAX_MODS)
		panic("too many modules for the guest (at most %d)", HANDOFF_MAX_MODS);
	for (uint32_t i = 0; i < n; i++) {
		mods[i].start = mb[i].start;
		mods[i].end = mb[i].end;
		strncpy(mods[i].string, mb[i].string ? (const char *)(uint64_t)mb[i].string : "",
			sizeof(mods[i].string) - 1);
	}

	/* Our page allocator starts after our image and any module placed in
	 * our memory; modules elsewhere are safe from it. */
	uint64_t free = (uint64_t)__vmm_image_end;
	for (uint32_t i = 0; i < n; i++)
		if (gpa_is_vmm(mods[i].start) && mods[i].end > free)
			free = mods[i].end;
	mm_init(free);

	/* Modules outside our memory may lie where the guest's copies go:
	 * move them into our memory first. */
	for (uint32_t i = 0; i < n; i++) {
		if (gpa_is_vmm(mods[i].start))
			continue;
		uint64_t size = mods[i].end - mods[i].start;
		void *copy = page_alloc((size + PAGE_SIZE - 1) / PAGE_SIZE);
		memmove(copy, (void *)mods[i].start, size);
		mods[i].start = (uint64_t)copy;
		mods[i].end = mods[i].start + size;
	}

	static struct handoff h;	/* built here, copied to the guest at the end */
	h.magic = HANDOFF_MAGIC;
	build_e820(&h, mbi);

	/* The kernel's module string is "path [command line]". */
	char *space = strchr(mods[1].string, ' ');
	if (space)
		*space = '\0';
	strncpy(h.kernel_name, basename(mods[1].string), sizeof(h.kernel_name) - 1);
	if (space)
		strncpy(h.cmdline, space + 1, sizeof(h.cmdline) - 1);

	uint64_t at = STAGING_ADDR;
	h.kernel_start = stage(&mods[1], &at);
	h.kernel_end = h.kernel_start + (mods[1].end - mods[1].start);
	printk("guest kernel: %s (%u bytes)%s%s\n", h.kernel_name, h.kernel_end - h.kernel_start,
	       h.cmdline[0] ? ", command line: " : "", h.cmdline);
	if (h.kernel_end == h.kernel_start)
		panic("guest kernel %s is empty", h.kernel_name);

	for (uint32_t i = 2; i < n; i++) {
		struct handoff_module *hm = &h.mods[h.mods_count++];
		hm->start = stage(&mods[i], &at);
		hm->end = hm->start + (mods[i].end - mods[i].start);
		/* "path words..." -> "file words..." */
		char *words = strchr(mods[i].string, ' ');
		if (words)
			*words = '\0';
		snprintf(hm->string, sizeof(hm->string), "%s%s%s", basename(mods[i].string),
			 words ? " " : "", words ? words + 1 : "");
		printk("guest module: %s (%u bytes)\n", hm->string, hm->end - hm->start);
	}

	uint64_t fw_size = mods[0].end - mods[0].start;
	if (fw_size > FIRMWARE_MAX)
		panic("firmware too large: %lu bytes", fw_size);
	memcpy((void *)FIRMWARE_ADDR, (void *)mods[0].start, fw_size);
	memcpy((void *)HANDOFF_ADDR, &h, sizeof(h));
}
