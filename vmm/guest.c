/*
 * The guest's machine: its memory map and what it boots.
 *
 * The boot loader (QEMU's -kernel or GRUB) gave lvisor three kinds of
 * multiboot modules: the firmware, the guest kernel (with its command line)
 * and any INITRD files. We copy the firmware to where the guest starts, the
 * kernel and its modules to the staging area in guest memory, and describe
 * it all in the handoff that the firmware reads (include/lvisor/handoff.h).
 * The firmware and the handoff sit in FIRMWARE_AREA, just below 16 MiB,
 * which each guest's memory map marks reserved: its kernel keeps off it.
 */
#include <lib/cmdline.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lib/tsc.h>
#include <lvisor/handoff.h>
#include <lvisor/multiboot.h>
#include "vmm.h"

extern char __vmm_image_end[];
struct guest guest1 = { .name = "guest" };
struct guest guest2 = { .name = "second guest", .second = true };

bool gpa_is_vmm(uint64_t gpa)
{
	return gpa >= VMM_BASE && gpa < VMM_END;
}

bool gpa_is_guest2(uint64_t gpa)
{
	return guest2.size && gpa >= guest2.base && gpa < guest2.base + guest2.size;
}

static void add_e820(struct guest *g, struct handoff *h, uint64_t addr, uint64_t len, uint32_t type)
{
	if (!len)
		return;
	if (h->e820_count == HANDOFF_MAX_E820)
		panic("guest memory map: more than %d ranges", HANDOFF_MAX_E820);
	h->e820[h->e820_count++] = (struct handoff_e820){ addr, len, type, 0 };
	if (type != E820_RAM)
		return;
	if (addr + len > g->ram_end)
		g->ram_end = addr + len;
	g->ram[g->ram_count++] = (struct ram_range){ addr, addr + len };
}

/* What the first guest's map shows as reserved inside the machine's RAM:
 * its firmware's area, lvisor's memory and, with a second guest, that
 * guest's. Sorted. */
static struct ram_range holes[3];
static unsigned nholes;

/* RAM [a, b) into the first guest's map, the holes from `from` on cut out
 * as reserved (the holes before `from` do not meet it). */
static void add_ram(struct handoff *h, uint64_t a, uint64_t b, unsigned from)
{
	for (unsigned i = from; i < nholes; i++) {
		uint64_t hs = holes[i].start, he = holes[i].end;
		if (a < he && b > hs) {
			if (a < hs)
				add_e820(&guest1, h, a, hs - a, E820_RAM);
			add_e820(&guest1, h, a > hs ? a : hs, (b < he ? b : he) - (a > hs ? a : hs), E820_RESERVED);
			if (b > he)
				add_ram(h, he, b, i + 1);
			return;
		}
	}
	add_e820(&guest1, h, a, b - a, E820_RAM);
}

/* The machine's memory map with our own memory (and the second guest's)
 * cut out of it as reserved: the guest's kernel must never allocate it.
 * The firmware's area is cut out too: the firmware needs it until the
 * kernel runs, the kernel its GDT and multiboot information after. */
static void build_e820(struct handoff *h, struct multiboot_info *mbi)
{
	if (!(mbi->flags & MULTIBOOT_INFO_MEM_MAP))
		panic("the boot loader gave no memory map");
	holes[0] = (struct ram_range){ FIRMWARE_AREA, FIRMWARE_AREA_END };
	holes[1] = (struct ram_range){ VMM_BASE, VMM_END };
	nholes = 2;
	if (guest2.size)
		holes[nholes++] = (struct ram_range){ guest2.base, guest2.base + guest2.size };
	uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
	bool clipped = false, guest2_ram = false, firmware_ram = false;
	while (p < end) {
		struct multiboot_mmap *m = (void *)p;
		uint64_t a = m->addr, b = m->addr + m->len;
		uint32_t type = m->type == 1 ? E820_RAM : m->type;
		if (type == E820_RAM && a <= guest2.base && b >= guest2.base + guest2.size)
			guest2_ram = true;
		if (type == E820_RAM && a <= FIRMWARE_AREA && b >= FIRMWARE_AREA_END)
			firmware_ram = true;
		/* EPT and NPT map the first 4 GiB (GUEST_PHYS_LIMIT): RAM
		 * above is not the guest's. */
		if (type == E820_RAM && b > GUEST_PHYS_LIMIT) {
			if (!clipped)
				printk("RAM above 4 GiB is left out of the guest's memory map\n");
			clipped = true;
			b = a > GUEST_PHYS_LIMIT ? a : GUEST_PHYS_LIMIT;
		}
		if (type == E820_RAM)
			add_ram(h, a, b, 0);
		else
			add_e820(&guest1, h, a, b - a, type);
		p += m->size + 4;
	}
	if (!firmware_ram)
		panic("no RAM for the guest's firmware at 0x%x-0x%x (give the machine more memory)",
		      FIRMWARE_AREA, FIRMWARE_AREA_END - 1);
	if (guest2.size && !guest2_ram)
		panic("MEM2=%lu: no RAM for the second guest at host 0x%lx-0x%lx: the machine needs %lu MiB or more "
		      "(QEMU_MEM, BOCHS_MEM), or a smaller MEM2",
		      guest2.size >> 20, guest2.base, guest2.base + guest2.size - 1, (guest2.base + guest2.size) >> 20);
	printk("guest memory map:\n");
	for (uint32_t i = 0; i < h->e820_count; i++)
		printk("  %016lx-%016lx %s\n", h->e820[i].addr, h->e820[i].addr + h->e820[i].len - 1,
		       h->e820[i].type == E820_RAM ? "RAM" : gpa_is_vmm(h->e820[i].addr) ? "reserved (lvisor)" :
		       gpa_is_guest2(h->e820[i].addr) ? "reserved (second guest)" :
		       h->e820[i].addr == FIRMWARE_AREA ? "reserved (firmware)" : "reserved");
}

/* The second guest's map: all of its memory is RAM but the legacy VGA and
 * BIOS area, which has no devices behind it here (its pages are its own
 * RAM, which is what EPT/NPT map), and its firmware's area, reserved as
 * in the first guest's map. */
static void build_e820_guest2(struct handoff *h)
{
	add_e820(&guest2, h, 0, 0xa0000, E820_RAM);
	add_e820(&guest2, h, 0xa0000, 0x60000, E820_RESERVED);
	add_e820(&guest2, h, 0x100000, FIRMWARE_AREA - 0x100000, E820_RAM);
	add_e820(&guest2, h, FIRMWARE_AREA, FIRMWARE_AREA_END - FIRMWARE_AREA, E820_RESERVED);
	add_e820(&guest2, h, FIRMWARE_AREA_END, guest2.size - FIRMWARE_AREA_END, E820_RAM);
	printk("second guest: its own %lu MiB at host 0x%lx-0x%lx, console COM2 (port 0x%x)\n",
	       guest2.size >> 20, guest2.base, guest2.base + guest2.size - 1, GUEST2_COM);
}

static const char *basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* A boot module, copied out of the boot loader's structures: those lie in
 * low memory (QEMU puts them at 0x9000) that the guest will overwrite. */
struct module {
	uint64_t start, end;
	char string[1100];	/* "path [command line]": room for HANDOFF cmdline */
};

/* Copy one module into guest g's memory at guest-physical *at; returns
 * where it went (guest-physical). */
static uint32_t stage(struct guest *g, struct module *m, uint64_t *at)
{
	uint64_t size = m->end - m->start, dst = *at;
	if (!g->second && dst + size > VMM_BASE)
		panic("guest kernel and modules do not fit below lvisor's memory (%lu bytes)", size);
	if (g->second && dst + size > g->size)
		panic("second guest's kernel and modules do not fit in its memory (%lu bytes)", size);
	memmove((void *)(g->base + dst), (void *)m->start, size);
	*at = (dst + size + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	return (uint32_t)dst;
}

/* A module meant for the second guest: its command line (after the path)
 * starts with this word, which the boot scripts add (boot/run.mk). */
#define GUEST2_MARK	"guest2"

/* The second guest's memory in MiB: the MEM2 setting, which the boot
 * scripts put on its firmware's module line as "mem=MiB" (boot/run.mk).
 * Checked here; whether the machine has the RAM, in build_e820. */
static uint64_t guest2_mib(const char *string)
{
	const char *value = cmdline_value(string, "mem="), *end;

	if (!value)
		return GUEST2_MIB_DEFAULT;
	uint64_t mib = cmdline_number(value, 10, &end);
	/* At most 5 digits: cmdline_number does not guard against overflow. */
	if ((*end && *end != ' ') || end == value || end - value > 5 ||
	    mib < GUEST2_MIB_MIN || mib > GUEST2_MIB_MAX || mib % 2)
		panic("MEM2: the second guest's memory must be %d to %d MiB, a multiple of 2 (its firmware's module line says \"%s\")",
		      GUEST2_MIB_MIN, GUEST2_MIB_MAX, string);
	return mib;
}

static bool for_guest2(struct module *m)
{
	char *space = strchr(m->string, ' ');
	size_t n = strlen(GUEST2_MARK);

	if (!space || strncmp(space + 1, GUEST2_MARK, n) || (space[1 + n] && space[1 + n] != ' '))
		return false;
	/* "path guest2 words" -> "path words" */
	memmove(space, space + 1 + n, strlen(space + 1 + n) + 1);
	return true;
}

/* Stage guest g's firmware mods[0], kernel mods[1] and modules mods[2..n)
 * into its memory and write its handoff there; h has its memory map. */
static void load(struct guest *g, struct handoff *h, struct module *mods, uint32_t n)
{
	const char *who = g->second ? "second guest's" : "guest";

	/* The kernel's module string is "path [command line]". */
	char *space = strchr(mods[1].string, ' ');
	if (space)
		*space = '\0';
	strncpy(h->kernel_name, basename(mods[1].string), sizeof(h->kernel_name) - 1);
	/* The second guest's console is COM2: its firmware reads that from
	 * the handoff, its kernel from its command line. Its kernel also
	 * finds the host TSC's frequency there: it has no PIT to measure it
	 * with (every port but COM2 reads all ones), and its policy's CPUID
	 * may say nothing (leaf 0x15, which lv6 prefers). */
	if (g->second) {
		h->console_port = GUEST2_COM;
		snprintf(h->cmdline, sizeof(h->cmdline), "console=0x%x tsc_khz=%lu%s%s", GUEST2_COM,
			 (unsigned long)(tsc_hz / 1000), space ? " " : "", space ? space + 1 : "");
	} else if (space) {
		strncpy(h->cmdline, space + 1, sizeof(h->cmdline) - 1);
	}

	/* The second guest's files go at the top of its memory, as a boot
	 * loader puts an initrd: clear of a kernel loaded low and of the
	 * memory it decompresses into (vmm/vmm.h). */
	uint64_t at = STAGING_ADDR;
	if (g->second) {
		uint64_t total = 0;
		for (uint32_t i = 1; i < n; i++)
			total += (mods[i].end - mods[i].start + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
		if (total > g->size - FIRMWARE_AREA_END)
			panic("second guest's kernel and modules do not fit in its memory (%lu bytes)", total);
		at = g->size - total;
	}
	h->kernel_start = stage(g, &mods[1], &at);
	h->kernel_end = h->kernel_start + (mods[1].end - mods[1].start);
	printk("%s kernel: %s (%u bytes)%s%s\n", who, h->kernel_name, h->kernel_end - h->kernel_start,
	       h->cmdline[0] ? ", command line: " : "", h->cmdline);
	if (h->kernel_end == h->kernel_start)
		panic("%s kernel %s is empty", who, h->kernel_name);

	for (uint32_t i = 2; i < n; i++) {
		struct handoff_module *hm = &h->mods[h->mods_count++];
		hm->start = stage(g, &mods[i], &at);
		hm->end = hm->start + (mods[i].end - mods[i].start);
		/* "path words..." -> "file words..." */
		char *words = strchr(mods[i].string, ' ');
		if (words)
			*words = '\0';
		snprintf(hm->string, sizeof(hm->string), "%s%s%s", basename(mods[i].string),
			 words ? " " : "", words ? words + 1 : "");
		printk("%s module: %s (%u bytes)\n", who, hm->string, hm->end - hm->start);
	}

	uint64_t fw_size = mods[0].end - mods[0].start;
	if (fw_size > FIRMWARE_MAX)
		panic("firmware too large: %lu bytes", fw_size);
	/* lvisor reads the firmware's instructions too (vmm/guest_mem.c).
	 * g->ram has room: the map has at most HANDOFF_MAX_E820 (32) ranges,
	 * the firmware's area, reserved, one of them. */
	g->ram[g->ram_count++] = (struct ram_range){ FIRMWARE_AREA, FIRMWARE_AREA_END };
	memcpy((void *)(g->base + FIRMWARE_ADDR), (void *)mods[0].start, fw_size);
	memcpy((void *)(g->base + HANDOFF_ADDR), h, sizeof(*h));
}

void guest_setup(struct multiboot_info *mbi)
{
	static struct module mods[2 + HANDOFF_MAX_MODS], mods2[2 + HANDOFF_MAX_MODS];
	struct multiboot_module *mb = (void *)(uint64_t)mbi->mods_addr;
	uint32_t count = mbi->flags & MULTIBOOT_INFO_MODS ? mbi->mods_count : 0, n = 0, n2 = 0;

	/* The first guest's modules, then (marked) the second's, each
	 * firmware, kernel, extra modules. */
	for (uint32_t i = 0; i < count; i++) {
		struct module m = { mb[i].start, mb[i].end, "" };
		strncpy(m.string, mb[i].string ? (const char *)(uint64_t)mb[i].string : "",
			sizeof(m.string) - 1);
		bool second = for_guest2(&m);
		if ((second ? n2 : n) == 2 + HANDOFF_MAX_MODS)
			panic("too many modules for the guest (at most %d)", HANDOFF_MAX_MODS);
		if (second)
			mods2[n2++] = m;
		else
			mods[n++] = m;
	}
	if (n < 2)
		panic("no guest: lvisor expects the firmware and a kernel as multiboot modules");
	if (n2 == 1)
		panic("second guest: lvisor expects the firmware and a kernel as its modules");
	if (n2) {
		guest2.base = GUEST2_BASE;
		guest2.size = guest2_mib(mods2[0].string) << 20;
	}

	/* Our page allocator starts after our image and any module placed in
	 * our memory; modules elsewhere are safe from it. */
	uint64_t free = (uint64_t)__vmm_image_end;
	for (uint32_t i = 0; i < n + n2; i++) {
		struct module *m = i < n ? &mods[i] : &mods2[i - n];
		if (gpa_is_vmm(m->start) && m->end > free)
			free = m->end;
	}
	mm_init(free);

	/* Modules outside our memory may lie where the guests' copies go:
	 * move them into our memory first. */
	for (uint32_t i = 0; i < n + n2; i++) {
		struct module *m = i < n ? &mods[i] : &mods2[i - n];
		if (gpa_is_vmm(m->start))
			continue;
		uint64_t size = m->end - m->start;
		void *copy = page_alloc((size + PAGE_SIZE - 1) / PAGE_SIZE);
		memmove(copy, (void *)m->start, size);
		m->start = (uint64_t)copy;
		m->end = m->start + size;
	}

	static struct handoff h, h2;	/* built here, copied to the guests at the end */
	h.magic = h2.magic = HANDOFF_MAGIC;
	build_e820(&h, mbi);
	load(&guest1, &h, mods, n);
	if (n2) {
		/* Its memory starts as zeros, as RAM after power-on reads
		 * nothing of the first guest's or lvisor's. On an emulator
		 * that starts cold only the boot loader has written there
		 * (GRUB's heap and buffers, the modules it or QEMU loaded),
		 * but a warm reset keeps whatever the last run left, and
		 * GRUB's heap is nowhere listed: all of it is zeroed. With
		 * REP STOSQ, which Bochs carries out in bulk: 256 MiB cost a
		 * Bochs run about 20 s with memset's byte loop, 1.2 s this
		 * way (QEMU: too little to see). */
		uint64_t d = guest2.base, n = guest2.size / 8;
		__asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
		build_e820_guest2(&h2);
		load(&guest2, &h2, mods2, n2);
	}
}
