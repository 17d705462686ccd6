/*
 * The guest resets the machine (core_reset_io, exits.h).
 *
 * A reset would restart the whole emulated machine, lvisor included, with no
 * word of what happened to the guest. So the core intercepts the ports that
 * reset a PC (codegen/core.py puts them into policy_io[]), reports a reset
 * request with the guest's state and stops the guest; every other access to
 * these ports is carried out as the guest asked:
 *
 *   0x64   the 8042 keyboard controller's command port: commands 0xF0-0xFF
 *          pulse its output lines for a moment, and bit 0 low pulses the
 *          CPU's reset line (0xFE, the classic way to reboot a PC)
 *   0x92   system control port A: bit 0 is a fast reset (bit 1 is the A20 gate)
 *   0xcf9  PIIX reset control: a write with bit 2 (RST_CPU) set resets; it is
 *          also the ACPI reset register of QEMU's and Bochs' tables, which
 *          Linux tries first when it reboots
 *
 * Port 0xcf9 lies within the PCI configuration address register (0xcf8,
 * a dword): those accesses exit too, and pass through.
 */
#include <stdbool.h>
#include "actions.h"
#include "exits.h"

static bool resets(struct vcpu *v)
{
	uint16_t port = v->exit.io.port;
	uint32_t val = act_io_value(v);

	if (v->exit.io.in || v->exit.io.string || v->exit.io.size != 1)
		return false;
	return (port == 0x64 && (val & 0xf1) == 0xf0) ||
	       (port == 0x92 && (val & 1)) ||
	       (port == 0xcf9 && (val & 4));
}

int core_reset_io(struct vcpu *v)
{
	if (resets(v))
		return vcpu_stop(v, "guest resets the machine (out 0x%x to port 0x%x)",
				 act_io_value(v), v->exit.io.port);
	return act_io_emulate(v);
}
