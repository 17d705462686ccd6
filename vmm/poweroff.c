/*
 * The guest powers the emulated machine off (core_poweroff_io, exits.h).
 *
 * QEMU and Bochs stop when a guest writes to one of a few I/O ports, and
 * then lvisor never sees its guest stop. So the core intercepts OUT to
 * exactly these ports (codegen/core.py, the IO list, puts them into
 * policy_io[]), prints the exit statistics when the write is one that ends
 * the machine, and then does the guest's OUT itself: the emulator stops
 * the way the guest asked, with the guest's exit status.
 *
 *   0xf4-0xf7      QEMU's isa-debug-exit (boot/qemu.sh): any write ends QEMU
 *   0x604-0x605    ACPI PM1a_CNT on QEMU's i440fx machine (PIIX4 PM at 0x600)
 *   0x8900         Bochs' shutdown port: the bytes "Shutdown", one by one
 *   0xb004-0xb005  ACPI PM1a_CNT on Bochs (its BIOS puts the PM base at 0xb000)
 *
 * A PM1a_CNT write with SLP_EN (bit 13) set enters the sleep state that
 * SLP_TYP (bits 10-12) names, which is how a guest powers off (S5) (ACPI 6.0
 * 4.8.3.2.1); any SLP_EN write counts here. The register may be written as
 * a word or byte by byte. The addresses were checked on QEMU 7.2 (`info
 * mtree`: acpi-cnt at 0x604) and in boot/bochs.sh (outw 0x2000 to 0xb004).
 *
 * The table is printed once, at the first such write: lv6 and the test
 * kernels (lib/poweroff.c) write to 0xf4 first, which ends QEMU; under
 * Bochs nothing listens there, so their "Shutdown" bytes that follow are
 * not in the table.
 */
#include <stdbool.h>
#include <lib/console.h>
#include <lib/printk.h>
#include "actions.h"
#include "exits.h"
#include "stats.h"

#define ACPI_PM1_CNT_SLP_EN	(1u << 13)

/* Bochs' shutdown port: each byte that continues "Shutdown" advances,
 * any other byte starts again (as Bochs' iodev/unmapped.cc does). */
static bool bochs_shutdown_byte(uint8_t c)
{
	static const char word[] = "Shutdown";
	static unsigned matched;

	if (c == word[matched])
		matched++;
	else
		matched = 0;
	if (matched < sizeof(word) - 1)
		return false;
	matched = 0;
	return true;
}

/* Does this OUT power the machine off? */
static bool powers_off(struct vcpu *v)
{
	uint16_t port = v->exit.io.port;
	uint32_t val = act_io_value(v);

	if (port >= 0xf4 && port <= 0xf7)
		return true;
	if (port == 0x8900)
		return bochs_shutdown_byte((uint8_t)val);
	if ((port & ~1) == 0x604 || (port & ~1) == 0xb004)	/* a byte write to 0x605 is bits 8-15 */
		return (val << 8 * (port & 1)) & ACPI_PM1_CNT_SLP_EN;
	return false;
}

int core_poweroff_io(struct vcpu *v)
{
	static bool printed;

	if (!v->exit.io.in && !v->exit.io.string && powers_off(v) && !printed) {
		printed = true;
		printk("the guest powers the machine off (out 0x%x to port 0x%x)\n",
		       act_io_value(v), v->exit.io.port);
		stats_print();
		console_flush();	/* before the emulator goes away */
	}
	return act_io_emulate(v);	/* the guest's IN or OUT, on the real port */
}
