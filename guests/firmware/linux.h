/*
 * The firmware's Linux loader (linux.c): a bzImage by the Linux/x86 boot
 * protocol (the kernel's Documentation/arch/x86/boot.rst), beside the
 * multiboot loader; the same probe/boot pair as the other formats in
 * firmware.h.
 */
#ifndef FIRMWARE_LINUX_H
#define FIRMWARE_LINUX_H

#include "firmware.h"

/* Whether the file carries the boot protocol's "HdrS" signature at 0x202. */
bool linux_probe(const struct kernel_file *k);
/* Load it, fill boot_params and enter it at its 32-bit entry point; or fail
 * with a message (too old, truncated, not loadable here). */
void linux_boot(const struct kernel_file *k, const struct handoff *h) __attribute__((noreturn));

/* linux_enter.S: the jump itself, in the machine state of the 32-bit boot
 * protocol. */
void linux_enter(uint32_t entry, uint32_t boot_params) __attribute__((noreturn));

#endif
