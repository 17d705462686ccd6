/*
 * How lvisor hands the guest's kernel to the in-guest firmware.
 *
 * Before the first VM entry the VMM copies the firmware to FIRMWARE_ADDR,
 * the kernel file (and any modules) to the staging area, and fills a struct
 * handoff at HANDOFF_ADDR. All addresses are guest-physical, which equal
 * host-physical outside the VMM's own memory for the first guest; the
 * second guest has the same layout in its own memory.
 *
 * The firmware, its stack, the handoff and the multiboot information it
 * builds live in FIRMWARE_AREA, the 256 KiB just below 16 MiB, which the
 * guest's memory map marks reserved (vmm/guest.c). Low ("conventional")
 * memory, 0x500-0x9ffff, is thus all the kernel's, as after a BIOS: a
 * kernel may have a segment at 0x8000. 16 MiB is where a relocatable
 * Linux loads itself, and test kernels, lv6 and xv6 load at 1 MiB and
 * end far below 15 MiB.
 *
 *   0xfc0000-0xfdffff  the firmware image, code, data and .bss (FIRMWARE_ADDR, FIRMWARE_MAX)
 *   0xfe0000-0xfeffff  what it builds for the kernel: multiboot information,
 *                      or Linux's boot_params and command line
 *   0xff0000-0xffefff  its stack, growing down from HANDOFF_ADDR
 *   0xfff000-0xffffff  the handoff from the VMM (struct handoff below)
 *
 * The guest starts in real mode, as a CPU does after reset, but with the
 * CS base at FIRMWARE_ADDR and IP 0: real-mode code runs at CS base + IP,
 * and a VMM may load CS with any base, as the CPU itself does at reset
 * (CS base 0xffff0000: SDM Vol. 3A 10.1.4; VMX allows it with
 * "unrestricted guest", SDM 27.3.1.2; SVM's VMRUN takes the base as given,
 * APM 15.5). The selector is 0 and is never used: the firmware's first far
 * jump already switches to protected mode with a flat CS (entry.S).
 */
#ifndef LVISOR_HANDOFF_H
#define LVISOR_HANDOFF_H

#define FIRMWARE_AREA		0x00fc0000	/* the firmware's reserved area... */
#define FIRMWARE_AREA_END	0x01000000	/* ... up to 16 MiB */
#define FIRMWARE_ADDR	FIRMWARE_AREA	/* firmware image, entered in real mode at CS base FIRMWARE_ADDR, IP 0 */
#define FIRMWARE_MAX	0x20000		/* ... up to 0xfe0000 */
#define HANDOFF_ADDR	0x00fff000	/* struct handoff, its last page; the firmware's stack grows down below it */
/* The page where a second CPU starts (vmm/smp.c, boot/trampoline.S): its
 * start-up IPI's vector is this address >> 12, so it lies below 1 MiB:
 * the guest's low memory, which no guest runs in yet. lvisor copies its
 * trampoline there after guest_setup(), waits until the CPU has left it
 * for lvisor's own memory, and zeroes it before the guests run. */
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
