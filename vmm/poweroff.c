/*
 * The guest powers the emulated machine off (core_poweroff_io, exits.h).
 *
 * QEMU and Bochs stop when a guest writes to one of a few I/O ports, and
 * then lvisor never sees its guest stop. So the core intercepts OUT to
 * exactly these ports, prints the exit statistics when the write is one
 * that ends the machine, and then does the guest's OUT itself: the
 * emulator stops the way the guest asked, with the guest's exit status. A
 * write that puts the machine to sleep instead is reported and the guest
 * stopped. The ports are declared once, in codegen/core.py (its IO list),
 * which writes their numbers into core_ports.h as CORE_PORT_<name>, the
 * names the code below uses (the table is a reminder):
 *
 *   0xf4-0xf7      QEMU_DEBUG_EXIT: QEMU's isa-debug-exit (boot/qemu.sh):
 *                  any write ends QEMU
 *   0x604-0x605    QEMU_PM1A_CNT: ACPI PM1a_CNT on QEMU's i440fx machine
 *                  (PIIX4 PM at 0x600)
 *   0x8900         BOCHS_SHUTDOWN: Bochs' shutdown port: the bytes
 *                  "Shutdown", one by one
 *   0xb004-0xb005  BOCHS_PM1A_CNT: ACPI PM1a_CNT on Bochs (its BIOS puts the
 *                  PM base at 0xb000)
 *
 * A PM1a_CNT write with SLP_EN (bit 13) set enters the sleep state that
 * SLP_TYP (bits 10-12) names (ACPI 6.0 4.8.3.2.1). Both bits live in the
 * register's high byte, 0x605 or 0xb005, however the guest writes it (a
 * word, a dword, byte by byte, straddling): core_io_out() hands us each
 * byte. The addresses were checked on QEMU 7.2 (`info mtree`: acpi-cnt at
 * 0x604) and in boot/bochs.sh (outw 0x2000 to 0xb004).
 *
 * S5 (soft off) is SLP_TYP 0 on both emulators: in QEMU's PIIX4 PM model
 * (0 powers off, 1 is S3, which resets the machine to resume through the
 * BIOS) and its i440fx ACPI tables, and in Bochs' ACPI model (iodev/acpi.cc:
 * 0 powers off, 1 is suspend to RAM, again a reset), whose BIOS tables name
 * 0 for \_S5 (lib/poweroff.c's outw 0x2000). Any other SLP_TYP is a sleep state:
 * the machine would wake up in the BIOS, not in lvisor, so the core stops
 * the guest with a report instead (POWER_SLEEP).
 *
 * The table is printed once, at the first such write: lv6 and the test
 * kernels (lib/poweroff.c) write to 0xf4 first, which ends QEMU; under
 * Bochs nothing listens there, so their "Shutdown" bytes that follow are
 * not in the table.
 */
#include <stdbool.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include "actions.h"
#include "core_ports.h"
#include "exits.h"
#include "selfcheck.h"
#include "smp.h"
#include "stats.h"
#include "vmm.h"

#define PM1_CNT_HI(first)	((first) + 1)	/* the 16-bit register's high byte */
#define ACPI_PM1_CNT_SLP_EN_HI	(1u << 5)	/* bit 13, in the high byte */
#define ACPI_SLP_TYP_HI(b)	(((b) >> 2) & 7)	/* bits 10-12, in the high byte */
#define ACPI_SLP_TYP_S5		0

/* Bochs' shutdown port: each byte that continues "Shutdown" advances,
 * any other byte starts again (as Bochs' iodev/unmapped.cc does). Each
 * guest has its own count: the second guest's bytes must not complete
 * the first's word. */
static bool bochs_shutdown_byte(struct guest *g, uint8_t c)
{
	static const char word[] = "Shutdown";
	unsigned *matched = &g->bochs_shutdown_matched;

	if (c == word[*matched])
		(*matched)++;
	else
		*matched = 0;
	if (*matched < sizeof(word) - 1)
		return false;
	*matched = 0;
	return true;
}

/* Is port one of first-last (a range of core_ports.h)? */
static bool within(uint16_t port, uint16_t first, uint16_t last)
{
	return port >= first && port <= last;
}

bool poweroff_port(uint16_t port)
{
	return within(port, CORE_PORT_QEMU_DEBUG_EXIT_FIRST, CORE_PORT_QEMU_DEBUG_EXIT_LAST) ||
	       within(port, CORE_PORT_QEMU_PM1A_CNT_FIRST, CORE_PORT_QEMU_PM1A_CNT_LAST) ||
	       port == CORE_PORT_BOCHS_SHUTDOWN ||
	       within(port, CORE_PORT_BOCHS_PM1A_CNT_FIRST, CORE_PORT_BOCHS_PM1A_CNT_LAST);
}

/* What one byte of an OUT does to the machine. */
enum power poweroff_byte(struct vcpu *v, uint16_t port, uint8_t val)
{
	if (within(port, CORE_PORT_QEMU_DEBUG_EXIT_FIRST, CORE_PORT_QEMU_DEBUG_EXIT_LAST))
		return POWER_OFF;
	if (port == CORE_PORT_BOCHS_SHUTDOWN)
		return bochs_shutdown_byte(v->guest, val) ? POWER_OFF : POWER_NONE;
	if ((port == PM1_CNT_HI(CORE_PORT_QEMU_PM1A_CNT_FIRST) ||
	     port == PM1_CNT_HI(CORE_PORT_BOCHS_PM1A_CNT_FIRST)) && (val & ACPI_PM1_CNT_SLP_EN_HI))
		return ACPI_SLP_TYP_HI(val) == ACPI_SLP_TYP_S5 ? POWER_OFF : POWER_SLEEP;
	return POWER_NONE;
}

/* Does this power-off OUT end the run as a failure? QEMU's debug-exit
 * port with any value but POWEROFF_SUCCESS (lib/poweroff.h, boot/qemu.sh);
 * ACPI S5 and Bochs' "Shutdown" end it well. */
bool poweroff_failure(uint16_t port, uint32_t val)
{
	return within(port, CORE_PORT_QEMU_DEBUG_EXIT_FIRST, CORE_PORT_QEMU_DEBUG_EXIT_LAST) &&
	       val != POWEROFF_SUCCESS;
}

/*
 * The OUT that follows ends the emulator: the statistics first. With a
 * second guest that still runs, lvisor first waits for its end
 * (smp_wait_guest2): the machine powers off when both guests have ended.
 * The guest's OUT then ends the run with the guest's own status, unless
 * the second guest failed: then lvisor powers off itself, with the failure
 * status (on Bochs: halted, boot/bochs.sh's status 3).
 */
void poweroff_announce(struct vcpu *v, uint32_t val)
{
	static bool printed;

	if (printed)
		return;
	printed = true;
	bool ok2 = smp_wait_guest2();	/* its end and statistics before the machine's */
	console_reset();	/* the guest may have reprogrammed the UART */
	printk("the guest powers the machine off (out 0x%x to port 0x%x)\n", val, v->exit.io.port);
	stats_print();
	selfcheck_report();
	smp_exit_status(!poweroff_failure(v->exit.io.port, val), ok2);
	if (!ok2) {
		printk("the second guest failed: lvisor powers the machine off with the failure status\n");
		poweroff(false);
	}
	console_flush();	/* before the emulator goes away */
}

int core_poweroff_io(struct vcpu *v)
{
	return act_io_emulate(v);	/* core_io_out() looks at the OUTs */
}
