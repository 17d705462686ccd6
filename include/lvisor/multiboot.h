/* Multiboot specification version 0.6.96: the header a kernel carries and
 * the information a boot loader hands it. */
#ifndef LVISOR_MULTIBOOT_H
#define LVISOR_MULTIBOOT_H

#define MULTIBOOT_HEADER_MAGIC		0x1badb002	/* in the kernel image */
#define MULTIBOOT_BOOTLOADER_MAGIC	0x2badb002	/* in EAX at entry */
#define MULTIBOOT_SEARCH		8192		/* header within the first 8 KiB */

/* Header flags. */
#define MULTIBOOT_PAGE_ALIGN		(1u << 0)	/* modules page-aligned */
#define MULTIBOOT_MEMORY_INFO		(1u << 1)	/* mem_* and mmap_* wanted */
#define MULTIBOOT_VIDEO_MODE		(1u << 2)
#define MULTIBOOT_AOUT_KLUDGE		(1u << 16)	/* load by the address fields */

/* Info flags. */
#define MULTIBOOT_INFO_MEMORY		(1u << 0)
#define MULTIBOOT_INFO_CMDLINE		(1u << 2)
#define MULTIBOOT_INFO_MODS		(1u << 3)
#define MULTIBOOT_INFO_MEM_MAP		(1u << 6)
#define MULTIBOOT_INFO_LOADER_NAME	(1u << 9)

#ifndef __ASSEMBLER__
#include <stdint.h>

struct multiboot_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;	/* AOUT_KLUDGE */
};

/* The header of a multiboot kernel loaded as an ELF file (no a.out-kludge
 * addresses), in the .multiboot section that the linker script puts first,
 * well within the first 8 KiB. */
#define MULTIBOOT_ELF_HEADER(header_flags)					\
	__attribute__((section(".multiboot"), used))			\
	static const struct multiboot_header multiboot_header = {	\
		.magic = MULTIBOOT_HEADER_MAGIC,			\
		.flags = (header_flags),				\
		.checksum = -(MULTIBOOT_HEADER_MAGIC + (header_flags)),	\
	}

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;	/* KiB below 1 MiB, KiB above 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe[6];
};

struct multiboot_module {
	uint32_t start, end;	/* [start, end) physical */
	uint32_t string;	/* its command line */
	uint32_t reserved;
};

/* A memory map entry; `size` does not count itself. */
struct multiboot_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;		/* 1: RAM, 2: reserved, 3: ACPI, 4: NVS, 5: bad */
} __attribute__((packed));

/* A 32-bit kernel's command line, from the boot loader's EAX (magic) and
 * EBX (info, a physical address, which the kernel sees as is before it
 * pages): "" if the loader gave none. */
static inline const char *multiboot_cmdline(uint32_t magic, uint32_t info)
{
	const struct multiboot_info *mbi = (const void *)(uintptr_t)info;

	if (magic != MULTIBOOT_BOOTLOADER_MAGIC || !(mbi->flags & MULTIBOOT_INFO_CMDLINE))
		return "";
	return (const char *)(uintptr_t)mbi->cmdline;
}
#endif

#endif
