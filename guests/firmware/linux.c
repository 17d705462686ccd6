/*
 * Booting Linux: a bzImage by the Linux/x86 boot protocol, as described in
 * the kernel's Documentation/arch/x86/boot.rst ("boot.rst" below; section
 * names in quotes) and Documentation/arch/x86/zero-page.rst.
 *
 * A bzImage is a small real-mode "setup" program followed by the
 * protected-mode kernel (compressed, with its own decompressor). A BIOS
 * boot loader loads both and runs the setup code in real mode, which asks
 * the BIOS for the memory map and the like. We are already in 32-bit
 * protected mode and know the memory map from the VMM's handoff, so we use
 * the "32-bit Boot Protocol": skip the setup code, fill the structure it
 * would have filled ("boot_params", the "zero page") ourselves, copy the
 * protected-mode kernel into memory and jump to its first byte.
 *
 * We require protocol 2.10 or later (Linux 2.6.31, 2009): from 2.10 on the
 * header gives the preferred load address (pref_address) and how much
 * memory the kernel needs there while it decompresses itself (init_size),
 * so the firmware can check that it fits before jumping.
 */
#include <lib/printk.h>
#include <lib/string.h>
#include "linux.h"

/*
 * The setup header: at offset 0x1f1 of the file, and at the same offset in
 * boot_params (boot.rst "The Real-Mode Kernel Header"). Offsets and the
 * protocol version each field appeared in are in the comments.
 */
struct setup_header {
	uint8_t setup_sects;		/* 0x1f1: size of the setup code in 512-byte sectors (0 means 4) */
	uint16_t root_flags;		/* 0x1f2 */
	uint32_t syssize;		/* 0x1f4: size of the protected-mode code in 16-byte units */
	uint16_t ram_size;		/* 0x1f8: obsolete */
	uint16_t vid_mode;		/* 0x1fa */
	uint16_t root_dev;		/* 0x1fc */
	uint16_t boot_flag;		/* 0x1fe: 0xaa55 */
	uint16_t jump;			/* 0x200: a short jump over the header */
	uint32_t header;		/* 0x202: "HdrS" */
	uint16_t version;		/* 0x206: protocol version, major in the high byte */
	uint32_t realmode_swtch;	/* 0x208 */
	uint16_t start_sys_seg;		/* 0x20c: obsolete */
	uint16_t kernel_version;	/* 0x20e */
	uint8_t type_of_loader;		/* 0x210: written by us */
	uint8_t loadflags;		/* 0x211 */
	uint16_t setup_move_size;	/* 0x212 */
	uint32_t code32_start;		/* 0x214 */
	uint32_t ramdisk_image;		/* 0x218: written by us: the initrd's address */
	uint32_t ramdisk_size;		/* 0x21c: written by us: its size */
	uint32_t bootsect_kludge;	/* 0x220: obsolete */
	uint16_t heap_end_ptr;		/* 0x224: for the real-mode setup code only */
	uint8_t ext_loader_ver;		/* 0x226 */
	uint8_t ext_loader_type;	/* 0x227 */
	uint32_t cmd_line_ptr;		/* 0x228: written by us: the command line's address */
	uint32_t initrd_addr_max;	/* 0x22c (2.03): highest address the initrd may use */
	uint32_t kernel_alignment;	/* 0x230 (2.05): alignment a relocatable kernel needs */
	uint8_t relocatable_kernel;	/* 0x234 (2.05): may be loaded at any aligned address */
	uint8_t min_alignment;		/* 0x235 (2.10) */
	uint16_t xloadflags;		/* 0x236 (2.12) */
	uint32_t cmdline_size;		/* 0x238 (2.06): longest command line, without its NUL */
	uint32_t hardware_subarch;	/* 0x23c (2.07): 0, a normal PC */
	uint64_t hardware_subarch_data;	/* 0x240 (2.07) */
	uint32_t payload_offset;	/* 0x248 (2.08) */
	uint32_t payload_length;	/* 0x24c (2.08) */
	uint64_t setup_data;		/* 0x250 (2.09): a list of extra data; we pass none */
	uint64_t pref_address;		/* 0x258 (2.10): preferred load address */
	uint32_t init_size;		/* 0x260 (2.10): memory needed from the load address */
	uint32_t handover_offset;	/* 0x264 (2.11): EFI only */
	uint32_t kernel_info_offset;	/* 0x268 (2.15) */
} __attribute__((packed));

#define HDRS			0x53726448	/* "HdrS", little-endian */
#define BOOT_FLAG		0xaa55
#define LOADED_HIGH		0x01		/* loadflags bit 0: a bzImage, loaded at 1 MiB or above */
#define LOADER_UNDEFINED	0xff		/* type_of_loader: "a boot loader without an assigned ID" */
#define MIN_VERSION		0x020a		/* 2.10: pref_address and init_size */

/* One memory range, as in boot_params.e820_table (zero-page.rst). */
struct boot_e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

#define E820_MAX_ENTRIES_ZEROPAGE	128

/*
 * boot_params, the "zero page": 4 KiB whose layout zero-page.rst lists.
 * We fill only what the real-mode setup code would have found out from the
 * BIOS and what boot.rst asks a loader to write; the rest stays zero
 * (no video information: the console is the serial port; no ACPI RSDP
 * address: Linux finds the tables the BIOS left in low memory itself).
 */
struct boot_params {
	uint8_t _unused0[0x1e8];
	uint8_t e820_entries;		/* 0x1e8: entries used in e820_table */
	uint8_t _unused1[0x1f1 - 0x1e9];
	struct setup_header hdr;	/* 0x1f1 */
	uint8_t _unused2[0x2d0 - 0x1f1 - sizeof(struct setup_header)];
	struct boot_e820_entry e820_table[E820_MAX_ENTRIES_ZEROPAGE];	/* 0x2d0 */
	uint8_t _unused3[0x1000 - 0x2d0 - E820_MAX_ENTRIES_ZEROPAGE * sizeof(struct boot_e820_entry)];
} __attribute__((packed));

_Static_assert(sizeof(struct setup_header) == 0x26c - 0x1f1, "setup header: 0x1f1 to 0x26c");
_Static_assert(offsetof(struct boot_params, hdr) == 0x1f1, "boot_params.hdr is at 0x1f1");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "boot_params.e820_table is at 0x2d0");
_Static_assert(sizeof(struct boot_params) == 0x1000, "boot_params is one 4 KiB page");

/*
 * Where we put them: in the firmware's area (firmware.h), which the memory
 * map marks reserved and check_load_range() keeps the kernel out of. Linux
 * copies both early; its 32-bit entry builds page tables that reach them
 * (the first 4 GiB).
 */
#define BOOT_PARAMS_ADDR	INFO_START
#define CMDLINE_ADDR		(INFO_START + sizeof(struct boot_params))
#define CMDLINE_MAX		(INFO_END - CMDLINE_ADDR - 1)

/* The header as it is in the file. */
static const struct setup_header *file_header(const struct kernel_file *k)
{
	return (const void *)(k->data + offsetof(struct boot_params, hdr));
}

bool linux_probe(const struct kernel_file *k)
{
	return k->size >= offsetof(struct boot_params, hdr.version) &&
	       file_header(k)->header == HDRS;
}

static uint32_t max32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

/*
 * Check the header and return the file offset of the protected-mode
 * kernel: it follows the setup code, which is (setup_sects + 1) sectors
 * long counting the boot sector (boot.rst "Loading the Rest of the
 * Kernel"; setup_sects 0 means 4).
 */
static uint32_t check_header(const struct kernel_file *k, const struct setup_header *hdr)
{
	/* The header ends at 0x202 + the byte at 0x201, the jump's offset
	 * (boot.rst "The 64-bit Boot Protocol", which the 32-bit one shares). */
	uint32_t header_end = 0x202 + k->data[0x201];
	if (k->size < offsetof(struct boot_params, hdr) + sizeof(*hdr) || k->size < header_end)
		fail(k, "truncated: %u bytes, too short for its own setup header", k->size);

	if (hdr->version < MIN_VERSION)
		fail(k, "Linux boot protocol %u.%02u is too old: this firmware needs 2.%02u or later (Linux 2.6.31)",
		     hdr->version >> 8, hdr->version & 0xff, MIN_VERSION & 0xff);
	if (hdr->boot_flag != BOOT_FLAG)
		fail(k, "not a Linux kernel: boot_flag at 0x1fe is 0x%04x, not 0x%04x", hdr->boot_flag, BOOT_FLAG);
	if (!(hdr->loadflags & LOADED_HIGH))
		fail(k, "a zImage (loadflags bit 0 clear): only bzImages are supported");

	uint32_t setup_sects = hdr->setup_sects ? hdr->setup_sects : 4;
	uint32_t offset = (setup_sects + 1) * 512;
	uint64_t end = offset + (uint64_t)hdr->syssize * 16;
	if (end > k->size)
		fail(k, "truncated: the header says the kernel ends at byte %llu, the file has %u",
		     end, k->size);
	return offset;
}

/*
 * Where the protected-mode kernel goes (boot.rst "Loading the Rest of the
 * Kernel" and the fields' details): a relocatable kernel at its
 * pref_address, if that is aligned to kernel_alignment; one that is not at
 * 1 MiB, the traditional address of a bzImage.
 */
static uint32_t load_address(const struct kernel_file *k, const struct setup_header *hdr)
{
	if (!hdr->relocatable_kernel)
		return 0x100000;
	if (hdr->pref_address >= 0x100000000ull)
		fail(k, "prefers to be loaded above 4 GiB (0x%llx)", hdr->pref_address);
	uint32_t align = hdr->kernel_alignment ? hdr->kernel_alignment : 1;
	if (hdr->pref_address % align)
		fail(k, "pref_address 0x%llx is not a multiple of kernel_alignment 0x%x",
		     hdr->pref_address, align);
	return (uint32_t)hdr->pref_address;
}

/*
 * The initrd: the handoff's modules (INITRD=...). Linux takes one range of
 * memory; several cpio archives one after the other are fine, with zero
 * bytes between them (Documentation/driver-api/early-userspace/
 * buffer-format.rst). The VMM staged the modules in order, each on a page
 * boundary: we clear the gaps and pass them all as one.
 */
static void set_initrd(const struct kernel_file *k, const struct handoff *h, struct setup_header *hdr)
{
	if (!h->mods_count)
		return;
	uint32_t start = h->mods[0].start, end = h->mods[0].end;
	for (uint32_t i = 1; i < h->mods_count; i++) {
		if (h->mods[i].start < end)
			fail(k, "initrd %s overlaps the one before it", h->mods[i].string);
		memset((void *)end, 0, h->mods[i].start - end);
		end = h->mods[i].end;
	}
	/* initrd_addr_max is the address of the last byte allowed. */
	if (end - 1 > hdr->initrd_addr_max)
		fail(k, "initrd at 0x%x-0x%x lies above the kernel's limit 0x%x (initrd_addr_max)",
		     start, end - 1, hdr->initrd_addr_max);
	hdr->ramdisk_image = start;
	hdr->ramdisk_size = end - start;
	printk("%s: initrd %s%s at 0x%08x-0x%08x\n", k->name, h->mods[0].string,
	       h->mods_count > 1 ? " and more" : "", start, end - 1);
}

/* The memory map, as is: the VMM's own memory is already E820_RESERVED. */
static void set_e820(struct boot_params *bp, const struct handoff *h)
{
	for (uint32_t i = 0; i < h->e820_count && i < E820_MAX_ENTRIES_ZEROPAGE; i++) {
		bp->e820_table[i].addr = h->e820[i].addr;
		bp->e820_table[i].size = h->e820[i].len;
		bp->e820_table[i].type = h->e820[i].type;
		bp->e820_entries = i + 1;
	}
}

void linux_boot(const struct kernel_file *k, const struct handoff *h)
{
	const struct setup_header *fhdr = file_header(k);
	uint32_t offset = check_header(k, fhdr);
	uint32_t size = k->size - offset;	/* the protected-mode kernel */
	uint32_t load = load_address(k, fhdr);
	uint32_t need = max32(size, fhdr->init_size);

	printk("%s: Linux bzImage, boot protocol %u.%02u, %u bytes of kernel at offset 0x%x\n",
	       k->name, fhdr->version >> 8, fhdr->version & 0xff, size, offset);
	check_load_range(k, "kernel (with the memory it decompresses into, init_size)", load,
			 (uint64_t)load + need);

	/*
	 * boot_params: zeroed, then the setup header copied from the file, as
	 * far as the file's header goes ("The 32-bit Boot Protocol"); a newer
	 * header than ours is cut to the fields we know.
	 */
	struct boot_params *bp = (void *)BOOT_PARAMS_ADDR;
	uint32_t header_end = 0x202 + k->data[0x201];
	uint32_t ours = offsetof(struct boot_params, hdr) + sizeof(struct setup_header);
	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, fhdr, (header_end < ours ? header_end : ours) - offsetof(struct boot_params, hdr));

	/* The fields a boot loader writes (boot.rst "Details of Header Fields"). */
	bp->hdr.type_of_loader = LOADER_UNDEFINED;
	bp->hdr.code32_start = load;	/* where the kernel is; read by the setup code only */

	size_t len = strlen(h->cmdline);
	if (len > fhdr->cmdline_size || len > CMDLINE_MAX)
		fail(k, "command line of %u bytes: the kernel takes at most %u", (unsigned)len,
		     fhdr->cmdline_size < CMDLINE_MAX ? fhdr->cmdline_size : (uint32_t)CMDLINE_MAX);
	memcpy((void *)CMDLINE_ADDR, h->cmdline, len + 1);
	bp->hdr.cmd_line_ptr = CMDLINE_ADDR;

	set_initrd(k, h, &bp->hdr);
	set_e820(bp, h);

	printk("%s: kernel at 0x%08x-0x%08x (0x%x bytes reserved for it), %u memory ranges, command line \"%s\"\n",
	       k->name, load, load + size - 1, need, bp->e820_entries, (const char *)CMDLINE_ADDR);
	memcpy((void *)load, k->data + offset, size);

	/* "The 32-bit Boot Protocol": enter at the first byte of the
	 * protected-mode kernel with ESI = boot_params. */
	printk("%s: entering the 32-bit entry point at 0x%08x with boot_params at 0x%x\n",
	       k->name, load, BOOT_PARAMS_ADDR);
	linux_enter(load, BOOT_PARAMS_ADDR);
}
