/*
 * The ports through which a guest could reset the machine or turn A20 off
 * (core_reset_io, core_io_out: exits.h).
 *
 * A reset would restart the whole emulated machine, lvisor included, with no
 * word of what happened to the guest. So the core intercepts the ports that
 * reset a PC, reports a reset request with the guest's state and stops the
 * guest; every other access to these ports is carried out as the guest
 * asked. The ports are declared once, in codegen/core.py (its IO list): the
 * generator keeps policies off them and writes their numbers into
 * core_ports.h, whose names the code below uses (the table is a reminder):
 *
 *   0x64   CORE_PORT_KBC_CMD: the 8042 keyboard controller's command port:
 *          commands 0xF0-0xFF pulse its output lines for a moment, and bit
 *          0 low pulses the CPU's reset line (0xFE, the classic way to
 *          reboot a PC); command 0xD1 makes the next byte written to port
 *          0x60 the controller's output port, whose bit 0 is the CPU's
 *          reset line (low: reset) and bit 1 the A20 gate
 *   0x60   CORE_PORT_KBC_DATA: the 8042's data port, the byte after 0xD1
 *   0x92   CORE_PORT_SYSTEM_CONTROL_A: system control port A: bit 0 is a
 *          fast reset, bit 1 the A20 gate
 *   0xcf9  CORE_PORT_PIIX_RESET_CONTROL: PIIX reset control: a write with
 *          bit 2 (RST_CPU) set resets; it is also the ACPI reset register
 *          of QEMU's and Bochs' tables, which Linux tries first when it
 *          reboots
 *
 * What counts is the byte that lands on each port, whatever the width of
 * the access: OUTW to 0x91 writes its high byte to 0x92, OUTL to 0x63 its
 * low byte to 0x63 and the next to 0x64. The I/O bitmaps make an access
 * exit if any of the ports it touches is intercepted (SDM 26.1.3, APM
 * 15.10.2), and every access the core or a policy carries out goes through
 * act_io_emulate(), which asks core_io_out() first. The one wide access
 * that is not a byte for 0xcf9 is a dword at 0xcf8: the PCI configuration
 * address register, CONFIG_ADDRESS, which passes through.
 *
 * A20: with the gate off the CPU drops bit 20 of every physical address.
 * On QEMU that mask applies to everything the CPU does, lvisor's own code
 * and data at 256 MiB included, so a guest could corrupt or crash lvisor by
 * turning it off. lvisor writes the guest's byte with the A20 bit forced on
 * (and says so once): the guest runs with A20 on, as every guest that
 * enters protected mode wants anyway.
 */
#include <stdbool.h>
#include <lib/printk.h>
#include "actions.h"
#include "core_ports.h"
#include "exits.h"
#include "stats.h"
#include "vmm.h"

/* The bits of what the guest writes there (the port numbers: core_ports.h). */
#define KBC_CMD_WRITE_OUTPUT	0xd1	/* the next data byte is the output port */
#define KBC_CMD_A20_OFF		0xdd	/* some controllers (QEMU's): A20 off */
#define KBC_CMD_A20_ON		0xdf
#define KBC_OUT_RESET		0x01	/* output port bit 0: low resets the CPU */
#define KBC_OUT_A20		0x02	/* output port bit 1: the A20 gate */
#define PORT_A_RESET		0x01
#define PORT_A_A20		0x02
#define PIIX_RST_CPU		0x04

/* Whether the keyboard controller's command 0xD1 waits for its data byte:
 * v->guest->kbc_output_port_next (the first guest's is the machine's
 * controller, the second guest's a copy that reaches no device). The
 * commands that take a data byte replace a waiting 0xD1 (the next byte is
 * theirs); QEMU's controller keeps it waiting across the others, so lvisor
 * does too. */

/* A byte of an OUT, on its port. */
struct io_byte {
	uint16_t port;
	uint8_t val;
};

static void a20_kept_on(struct vcpu *v, uint16_t port)
{
	static bool said;

	if (v->guest->second)
		return;		/* its byte reaches no device: nothing to keep */
	if (!said)
		printk("the guest turns A20 off (port 0x%x): lvisor keeps it on\n", port);
	said = true;
}

/* The keyboard controller's command port. false: the byte resets. */
static bool kbc_command(struct vcpu *v, struct io_byte *b)
{
	if ((b->val & 0xf0) == 0xf0)		/* pulse output lines 0-3 for 6 us */
		return b->val & KBC_OUT_RESET;
	if (b->val == KBC_CMD_A20_OFF) {
		b->val = KBC_CMD_A20_ON;
		a20_kept_on(v, b->port);
	}
	if (b->val == KBC_CMD_WRITE_OUTPUT)
		v->guest->kbc_output_port_next = true;
	else if (b->val == 0x60 || (b->val >= 0xd2 && b->val <= 0xd4))	/* write mode, output buffers, aux */
		v->guest->kbc_output_port_next = false;
	return true;
}

/* The keyboard controller's data port. false: the byte resets. */
static bool kbc_data(struct vcpu *v, struct io_byte *b)
{
	if (!v->guest->kbc_output_port_next)
		return true;			/* a byte for the keyboard */
	v->guest->kbc_output_port_next = false;
	if (!(b->val & KBC_OUT_RESET))
		return false;
	if (!(b->val & KBC_OUT_A20)) {
		b->val |= KBC_OUT_A20;
		a20_kept_on(v, b->port);
	}
	return true;
}

/* One byte of an OUT. false: it would reset the machine. */
static bool reset_byte(struct vcpu *v, struct io_byte *b)
{
	switch (b->port) {
	case CORE_PORT_KBC_CMD:
		return kbc_command(v, b);
	case CORE_PORT_KBC_DATA:
		return kbc_data(v, b);
	case CORE_PORT_SYSTEM_CONTROL_A:
		if (b->val & PORT_A_RESET)
			return false;
		if (!(b->val & PORT_A_A20)) {
			b->val |= PORT_A_A20;
			a20_kept_on(v, b->port);
		}
		return true;
	case CORE_PORT_PIIX_RESET_CONTROL:
		if (v->exit.io.port == CORE_PORT_PCI_CONFIG_ADDRESS && v->exit.io.size == 4)
			return true;		/* CONFIG_ADDRESS, a dword */
		return !(b->val & PIIX_RST_CPU);
	default:
		return true;
	}
}

static bool guarded(uint16_t port)
{
	return port == CORE_PORT_KBC_DATA || port == CORE_PORT_KBC_CMD ||
	       port == CORE_PORT_SYSTEM_CONTROL_A || port == CORE_PORT_PIIX_RESET_CONTROL ||
	       poweroff_port(port);
}

/* An OUT's report names its value and port, and the byte that mattered. */
static int stop_out(struct vcpu *v, const char *what, uint32_t val, const struct io_byte *b)
{
	/* The second guest's byte reaches no device: say whom it stops. */
	const char *only = v->guest->second ? ": it reaches no device, this guest alone stops" : "";

	if (v->exit.io.size == 1)
		return vcpu_stop(v, "guest %s (out 0x%x to port 0x%x)%s", what, val, v->exit.io.port, only);
	return vcpu_stop(v, "guest %s (out%c 0x%x to port 0x%x: 0x%x on port 0x%x)%s", what,
			 v->exit.io.size == 2 ? 'w' : 'l', val, v->exit.io.port, b->val, b->port, only);
}

/*
 * An OUT's bytes, one by one, as the machine would take them: EXIT_STOP
 * (reported) if one would reset the machine or put it to sleep; *off if
 * one powers it off; *val with A20 kept on. Nothing is written here.
 */
static int out_bytes(struct vcpu *v, uint32_t *val, bool *off)
{
	uint32_t out = 0;

	*off = false;
	for (unsigned i = 0; i < v->exit.io.size; i++) {
		struct io_byte b = { (uint16_t)(v->exit.io.port + i), (uint8_t)(*val >> 8 * i) };

		if (!reset_byte(v, &b))
			return stop_out(v, b.port == CORE_PORT_KBC_DATA ? "resets the machine through the keyboard "
					"controller's output port (command 0xd1, then bit 0 clear)" :
					"resets the machine", *val, &b);
		switch (poweroff_byte(v, b.port, b.val)) {
		case POWER_SLEEP:
			return stop_out(v, "puts the machine to sleep (ACPI SLP_TYP not S5: it "
					"would wake up in the BIOS)", *val, &b);
		case POWER_OFF:
			*off = true;
			break;
		case POWER_NONE:
			break;
		}
		out |= (uint32_t)b.val << 8 * i;
	}
	*val = out;
	return EXIT_RESUME;
}

/*
 * Every OUT that lvisor carries out on the hardware, before it does: stop
 * the guest (EXIT_STOP, reported) if a byte of it would reset the machine
 * or put it to sleep; keep A20 on (*val changed); print the exit statistics
 * before a power-off. EXIT_RESUME: go on and write *val.
 */
int core_io_out(struct vcpu *v, uint32_t *val)
{
	bool off;

	/* OUTS takes its bytes from guest memory, which lvisor does not read:
	 * on these ports it is refused outright, with a clear report. */
	if (v->exit.io.string) {
		for (unsigned i = 0; i < v->exit.io.size; i++)
			if (guarded(v->exit.io.port + i))
				return vcpu_stop(v, "guest writes port 0x%x with OUTS: string I/O to the "
						 "ports that reset, sleep or power off the machine is "
						 "refused", v->exit.io.port + i);
		return EXIT_RESUME;
	}
	if (out_bytes(v, val, &off) == EXIT_STOP)
		return EXIT_STOP;
	if (off)
		poweroff_announce(v, *val);
	return EXIT_RESUME;
}

/*
 * The second guest's OUT to any port but COM2 (core_guest2_io): the
 * machine's devices are the first guest's, so nothing is written. But what
 * would reset a PC or put it to sleep is a guest that wants to end: it is
 * reported and stopped, the machine and the first guest go on. Its
 * power-off stops its CPU too; that is reported at the machine's end (a
 * line now would land in the middle of the first guest's on COM1), and a
 * power-off with the failure value makes the machine's status a failure.
 */
int core_guest2_out(struct vcpu *v)
{
	uint32_t val = act_io_value(v);
	bool off;

	if (v->exit.io.string)
		return core_absent_io(v);	/* stops it: lvisor reads no guest memory */
	if (out_bytes(v, &val, &off) == EXIT_STOP)
		return EXIT_STOP;
	if (off) {
		snprintf(v->guest->end, sizeof(v->guest->end), "powers off (out 0x%x to port 0x%x)",
			 act_io_value(v), v->exit.io.port);
		v->guest->failed = poweroff_failure(v->exit.io.port, act_io_value(v));
		return EXIT_STOP;
	}
	return core_absent_io(v);
}

int core_reset_io(struct vcpu *v)
{
	return act_io_emulate(v);	/* core_io_out() looks at the OUTs */
}
