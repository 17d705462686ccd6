/*
 * The guest firmware: what its files share.
 *
 * Everything the firmware uses while it runs lies in FIRMWARE_AREA (all
 * guest-physical; include/lvisor/handoff.h has the full layout), which the
 * guest's memory map marks reserved and check_load_range() keeps kernels
 * out of:
 *   0xfc0000-0xfdffff  the firmware itself (FIRMWARE_ADDR, FIRMWARE_MAX)
 *   0xfe0000-0xfeffff  what we build for the kernel: the multiboot
 *                      information, or Linux's boot_params and command line
 *   0xff0000-0xffefff  our stack (grows down from HANDOFF_ADDR)
 *   0xfff000-0xffffff  the handoff from the VMM
 * and the kernel file and its modules at STAGING_ADDR (128 MiB). Low memory
 * is the kernel's: we leave the real-mode IVT and BIOS data area
 * (0x0-0x4ff) alone, since kernels read the BDA (xv6 finds the EBDA
 * through it), and write nothing else below 1 MiB.
 */
#ifndef FIRMWARE_H
#define FIRMWARE_H

#include <lvisor/handoff.h>

#define INFO_START	(FIRMWARE_ADDR + FIRMWARE_MAX)
#define INFO_END	(INFO_START + 0x10000)
#define STACK_TOP	HANDOFF_ADDR

/* The flat GDT of entry.S; the same selectors QEMU's multiboot loader uses. */
#define SEL_CODE32	0x08
#define SEL_DATA32	0x10

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel file as the VMM staged it. */
struct kernel_file {
	const char *name;
	const uint8_t *data;
	uint32_t size;
};

/* main.c: stop the machine after one line naming the file and the reason. */
void fail(const struct kernel_file *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* memory.c: where a kernel may be loaded. */
void memory_init(const struct handoff *h);
/* Fails (naming the file) unless [start, end) is free RAM for the kernel. */
void check_load_range(const struct kernel_file *k, const char *what, uint64_t start, uint64_t end);

/* elf.c: an ELF32 or ELF64 x86 executable; elf_load() copies its segments
 * to their physical addresses and returns the physical entry point. */
bool elf_probe(const struct kernel_file *k);
uint32_t elf_load(const struct kernel_file *k);

/* mbinfo.c: build the multiboot information; returns its address. */
uint32_t mbinfo_build(const struct kernel_file *k, const struct handoff *h);

/* multiboot_enter.S: jump to a multiboot kernel. */
void multiboot_enter(uint32_t entry, uint32_t info) __attribute__((noreturn));

/* Kernel formats. Each *_probe() says whether the file is in its format; each
 * *_boot() loads it and jumps to it, or fails with a message. */
bool multiboot_probe(const struct kernel_file *k);
void multiboot_boot(const struct kernel_file *k, const struct handoff *h) __attribute__((noreturn));
#endif

#endif
