/*
 * How lvisor hands the guest's kernel to the in-guest firmware.
 *
 * Before the first VM entry the VMM copies the firmware to FIRMWARE_ADDR,
 * the kernel file (and any modules) to the staging area, and fills a struct
 * handoff at HANDOFF_ADDR. The guest then starts in real mode at
 * 0000:FIRMWARE_ADDR, exactly like a BIOS jumping to a boot sector; the
 * firmware reads the handoff, loads the kernel by its own rules (multiboot,
 * later the Linux boot protocol) and jumps to it. All addresses are
 * guest-physical, which equal host-physical outside the VMM's own memory.
 */
#ifndef LVISOR_HANDOFF_H
#define LVISOR_HANDOFF_H

#define HANDOFF_ADDR	0x7000		/* struct handoff; the firmware's stack grows down below it */
#define FIRMWARE_ADDR	0x8000		/* firmware image, entered at 0000:8000 in real mode */
#define FIRMWARE_MAX	0x18000		/* ... up to 0x20000 */
/* The page where a second CPU starts (vmm/smp.c, boot/trampoline.S): its
 * start-up IPI's vector is this address >> 12. It is the firmware's stack
 * page (guests/firmware/firmware.h), which the firmware overwrites later;
 * lvisor copies its trampoline there after guest_setup(), waits until the
 * CPU has left it for lvisor's own memory, and zeroes it before the guest
 * runs. */
#define AP_TRAMPOLINE_ADDR	0x6000
#define STAGING_ADDR	0x08000000	/* kernel file, then modules, page-aligned */
#define HANDOFF_MAGIC	0x6f686c76	/* "lvho" */

#define HANDOFF_MAX_MODS	8
#define HANDOFF_MAX_E820	32

#ifndef __ASSEMBLER__
#include <stdint.h>

/* One range of the guest's physical memory map (the e820 types). */
#define E820_RAM	1
#define E820_RESERVED	2
/* aligned(8): the 32-bit firmware must lay this out as the 64-bit VMM does
 * (i386 aligns uint64_t to 4 bytes only). */
struct handoff_e820 {
	uint64_t addr, len;
	uint32_t type, pad;
} __attribute__((aligned(8)));

struct handoff_module {
	uint32_t start, end;		/* [start, end) in the staging area */
	char string[120];		/* its command line (file name first) */
};

struct handoff {
	uint32_t magic;			/* HANDOFF_MAGIC */
	uint32_t kernel_start, kernel_end;	/* the kernel file, as read from disk */
	char kernel_name[64];		/* its file name, for messages */
	char cmdline[1024];		/* the kernel's command line (APPEND) */
	uint32_t mods_count;
	struct handoff_module mods[HANDOFF_MAX_MODS];	/* INITRD files */
	uint32_t e820_count;
	struct handoff_e820 e820[HANDOFF_MAX_E820];	/* the VMM's memory is E820_RESERVED */
	uint32_t console_port;		/* the UART the firmware prints on; 0: COM1 */
};
#endif

#endif
