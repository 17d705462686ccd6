/*
 * The firmware's C side: read what the VMM handed over, pick the loader for
 * the kernel's format and let it boot the kernel. Anything that cannot be
 * booted ends the run with one line saying why, never with a hang.
 */
#include <stdarg.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lvisor/multiboot.h>
#include "firmware.h"
#include "linux.h"

/* The VMM is 64-bit and we are 32-bit: the handoff must be laid out the same
 * for both, and i386 aligns uint64_t to only 4 bytes inside a structure. */
_Static_assert(offsetof(struct handoff, e820) % 8 == 0,
	       "struct handoff: e820[] must be 8-byte aligned so that the 32-bit firmware and "
	       "the 64-bit VMM agree on its layout (include/lvisor/handoff.h)");

/* The layout of FIRMWARE_AREA (include/lvisor/handoff.h): the handoff fits
 * in its last page, our stack between it and the information area. */
_Static_assert(sizeof(struct handoff) <= FIRMWARE_AREA_END - HANDOFF_ADDR,
	       "struct handoff must fit between HANDOFF_ADDR and FIRMWARE_AREA_END");
_Static_assert(INFO_END + 0x4000 <= STACK_TOP, "the firmware's stack: at least 16 KiB");

void fail(const struct kernel_file *k, const char *fmt, ...)
{
	va_list ap;

	printk("%s: ", k->name);
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	printk("\n");
	poweroff(0);
}

/* A broken handoff is the VMM's bug, not the kernel's: say so and stop. */
static void bad_handoff(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad_handoff(const char *fmt, ...)
{
	va_list ap;

	printk("bad handoff from the VMM at 0x%x: ", HANDOFF_ADDR);
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	printk("\n");
	poweroff(0);
}

/* Whether a fixed-size string field holds its terminating NUL. */
static bool terminated(const char *s, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (!s[i])
			return true;
	return false;
}

void firmware_main(const struct handoff *h) __attribute__((noreturn));
void firmware_main(const struct handoff *h)
{
	/* The UART the VMM gives us (the second guest's is COM2), if the
	 * handoff is one at all; else COM1, to say what is wrong. */
	if (h->magic == HANDOFF_MAGIC && h->console_port)
		console_port(h->console_port);
	console_init("firmware: ", COLOR_FIRMWARE);
	console_guest_color(COLOR_GUEST);	/* the kernel's output, after ours */
	if (h->magic != HANDOFF_MAGIC)
		bad_handoff("magic number 0x%08x, not 0x%08x", h->magic, HANDOFF_MAGIC);
	if (!terminated(h->kernel_name, sizeof(h->kernel_name)) ||
	    !terminated(h->cmdline, sizeof(h->cmdline)))
		bad_handoff("unterminated string");
	if (h->mods_count > HANDOFF_MAX_MODS || h->e820_count > HANDOFF_MAX_E820)
		bad_handoff("too many modules or memory ranges");
	for (uint32_t i = 0; i < h->mods_count; i++)
		if (!terminated(h->mods[i].string, sizeof(h->mods[i].string)) || h->mods[i].end < h->mods[i].start)
			bad_handoff("module %u is malformed", i);
	if (h->kernel_end < h->kernel_start)
		bad_handoff("kernel ends before it starts");

	struct kernel_file k = {
		.name = h->kernel_name,
		.data = (const uint8_t *)h->kernel_start,
		.size = h->kernel_end - h->kernel_start,
	};
	printk("loading %s (%u bytes at 0x%x)%s%s\n", k.name, k.size, h->kernel_start,
	       h->cmdline[0] ? ", command line: " : "", h->cmdline);
	memory_init(h);

	if (multiboot_probe(&k))
		multiboot_boot(&k, h);
	if (linux_probe(&k))
		linux_boot(&k, h);
	fail(&k, "not a multiboot kernel (no multiboot header in the first %u KiB) "
	     "nor a Linux bzImage (no \"HdrS\" at offset 0x202)", MULTIBOOT_SEARCH / 1024);
}
