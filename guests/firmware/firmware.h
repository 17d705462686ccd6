/*
 * The guest firmware: what its files share.
 *
 * Low memory while the firmware runs (all guest-physical):
 *   0x00000-0x004ff  real-mode IVT and BIOS data area: left alone, kernels
 *                    read the BDA (xv6 finds the EBDA through it)
 *   0x01000-0x05fff  the multiboot information we build for the kernel
 *   0x06000-0x06fff  our stack (grows down from HANDOFF_ADDR)
 *   0x07000-0x07fff  the handoff from the VMM (include/lvisor/handoff.h)
 *   0x08000-0x1ffff  the firmware itself (FIRMWARE_ADDR, FIRMWARE_MAX)
 * and the kernel file and its modules at STAGING_ADDR (128 MiB).
 */
#ifndef FIRMWARE_H
#define FIRMWARE_H

#include <lvisor/handoff.h>

#define INFO_START	0x1000
#define INFO_END	0x6000
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
