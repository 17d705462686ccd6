/*
 * The machine's I/O ports, split between two guests.
 *
 * With a second guest (KERNEL2), the second guest owns the devices its
 * policy's devices: section lists (struct policy_device, generated from
 * the YAML and checked there: codegen/devices.py), and the first guest
 * owns every other device, as a Jailhouse root cell owns what no other
 * cell claims. With one guest none of this runs.
 *
 * Ports (this file):
 *  - the second guest's I/O bitmap lets through the ports of its devices
 *    that are at their own place (COM2 at 0x2f8: no exit); every other
 *    port exits to core_guest2_io: a device it sees elsewhere (its COM1 at
 *    0x3f8, which is the machine's COM2) is carried over port for port,
 *    one lvisor emulates (the VGA cursor) is emulated, and the rest is
 *    absent hardware;
 *  - the first guest's I/O bitmap loses the second guest's ports, whatever
 *    its policy grants, and core_guest1_io makes them absent hardware for
 *    it (reported once per device).
 * Interrupts: the devices' IRQs are the second guest's pins in its view
 * of the I/O APIC (vmm/ioapic.c) and its MP table (vmm/mptable.c).
 */
#include <lib/printk.h>
#include <lib/string.h>
#include "actions.h"
#include "exits.h"
#include "policy.h"
#include "vcpu.h"
#include "vmm.h"

/* The machine's ports of a device: [first, last]. */
static uint16_t machine_last(const struct policy_device *d)
{
	return d->machine_first + (d->last - d->first);
}

/* The second guest's device that owns machine port `port`, or NULL: the
 * one at its own ports if the guest sees the device at two places (COM2,
 * which is also its COM1). */
static const struct policy_device *guest2_owner(uint32_t port)
{
	const struct policy *p = policy_guest2();
	const struct policy_device *owner = NULL;

	for (unsigned i = 0; i < p->device_count; i++) {
		const struct policy_device *d = &p->devices[i];
		if (d->kind == DEVICE_PORTS && port >= d->machine_first && port <= machine_last(d) &&
		    (!owner || d->first == d->machine_first))
			owner = d;
	}
	return owner;
}

/*
 * The ports a guest's I/O bitmap lets through (the backends clear their
 * bits, vmm/svm/svm.c and vmm/vmx/vmcs.c). The second guest's: its devices
 * at their own place. The first guest's: its policy's grants, less the
 * second guest's devices' machine ports, cut out of any grant that covers
 * them. Each cut adds at most one range, so grants + devices ranges do.
 */
void devices_io_grants(struct vcpu *v)
{
	const struct policy *p2 = policy_guest2();
	unsigned n = 0, max = v->policy->io_grant_count + p2->device_count;
	struct policy_io_grant *out = page_alloc((max * sizeof(*out) + PAGE_SIZE - 1) / PAGE_SIZE);

	if (v->guest->second) {
		for (unsigned i = 0; i < p2->device_count; i++) {
			const struct policy_device *d = &p2->devices[i];
			if (d->kind == DEVICE_PORTS && d->machine_first == d->first)
				out[n++] = (struct policy_io_grant){ d->first, d->last, d->rule };
		}
	} else {
		for (unsigned i = 0; i < v->policy->io_grant_count; i++) {
			struct policy_io_grant g = v->policy->io_grants[i];
			/* Walk the grant upwards, skipping the second guest's ports. */
			for (uint32_t port = g.first; port <= g.last; ) {
				const struct policy_device *d = guest2_owner(port);
				if (d) {
					port = machine_last(d) + 1u;
					continue;
				}
				uint32_t end = port;
				while (end < g.last && !guest2_owner(end + 1))
					end++;
				if (n == max)
					panic("the first guest's I/O grants do not fit around the second guest's devices");
				out[n++] = (struct policy_io_grant){ port, end, g.rule };
				port = end + 1;
			}
		}
	}
	v->io_grants = out;
	v->io_grant_count = n;
}

/*
 * The first guest's IN or OUT (its policy's exit_io), with a second guest:
 * a port of the second guest's devices is absent hardware for it, whatever
 * its policy says (its grants lost these ports in devices_io_grants, so
 * every access exits); reported once per device. Any other port: its
 * policy's handler.
 */
int core_guest1_io(struct vcpu *v)
{
	static uint32_t reported;	/* bit i: the second guest's device i */
	uint32_t first = v->exit.io.port;

	for (uint32_t port = first; port < first + v->exit.io.size; port++) {
		const struct policy_device *d = guest2_owner(port);
		if (!d)
			continue;
		uint32_t bit = 1u << (d - policy_guest2()->devices);
		if (!(reported & bit))
			printk("guest's %s port 0x%x is the second guest's %s (%s): absent hardware\n",
			       v->exit.io.in ? "IN from" : "OUT to", port, d->name, d->rule);
		reported |= bit;
		return core_absent_io(v);
	}
	exit_handler_t policy_io = backend->exits(v->policy)[backend->io_exit];
	return policy_io ? policy_io(v) : core_unhandled(v);
}

/*
 * A device the second guest sees at other ports than the machine's (its
 * COM1 at 0x3f8 is the machine's COM2 at 0x2f8): each IN or OUT is carried
 * out on the same register of the machine's device, with its value. Its
 * IRQ is the machine's (vmm/ioapic.c). The machine's ports are never the
 * core's (reset, power-off, PCI) nor the first guest's: codegen/devices.py
 * refuses such a device, so these OUTs need no core_io_out.
 */
static void carry_over(struct vcpu *v, const struct policy_device *d)
{
	act_io_on(v, d->machine_first + (v->exit.io.port - d->first), act_io_value(v));
}

/*
 * The VGA CRT controller: its index register (port 0x3d4) and data
 * register (0x3d5), kept in struct guest with no screen behind them. A
 * PC's text console writes characters to the text page at 0xb8000 (the
 * second guest's own RAM) and keeps its cursor in CRTC registers 0x0e and
 * 0x0f; xv6 reads the cursor back before each character and panics if it
 * is off the screen, which an absent device's all-ones would be. An
 * access that starts at either port, of any size, is taken byte by byte,
 * as the bus splits it: a word OUT to 0x3d4 writes the index, then the
 * register it selects; a word IN there reads the index in its low byte and
 * that register in its high byte (0x3d5's, as on a VGA); the bytes past
 * 0x3d5 are absent hardware (all ones in, OUT dropped).
 */
#define CRTC_INDEX	0x3d4
#define CRTC_DATA	0x3d5

static void vga_cursor(struct vcpu *v)
{
	struct guest *g = v->guest;
	uint16_t port = v->exit.io.port;
	uint32_t val = act_io_value(v), in = 0;

	for (unsigned i = 0; i < v->exit.io.size; i++) {
		uint8_t *reg = g->crtc_index < GUEST2_CRTC_REGS ? &g->crtc[g->crtc_index] : NULL;
		uint8_t byte = val >> 8 * i, r = 0xff;
		if (port + i == CRTC_INDEX && v->exit.io.in)
			r = g->crtc_index;
		else if (port + i == CRTC_INDEX)
			g->crtc_index = byte;
		else if (port + i == CRTC_DATA && reg && v->exit.io.in)
			r = *reg;
		else if (port + i == CRTC_DATA && reg)
			*reg = byte;
		in |= (uint32_t)r << 8 * i;
	}
	if (v->exit.io.in)
		act_io_set_in(v, in);
	vcpu_skip(v);
}

/*
 * Every IN/OUT of the second guest that exits (its I/O bitmap lets only
 * its devices at their own ports through), the core's ports too (this
 * replaces its policy's exit_io, which would hand those to the core's
 * handlers, on the real devices): its devices, by the ports it sees them
 * at; the rest of the machine is the first guest's, absent hardware here.
 * An access that reaches past a device it sees elsewhere is not the
 * device's alone: absent too (the VGA cursor takes it byte by byte). Its OUTs pass core_guest2_out (vmm/reset.c): its power-off must not
 * end the machine under the first guest, its reset or sleep not reset it;
 * each stops this vCPU alone.
 */
int core_guest2_io(struct vcpu *v)
{
	uint32_t first = v->exit.io.port, last = first + v->exit.io.size - 1;
	const struct policy *p = policy_guest2();

	for (unsigned i = 0; i < p->device_count && !v->exit.io.string; i++) {
		const struct policy_device *d = &p->devices[i];
		if (d->kind == DEVICE_VGA_CURSOR && first >= d->first && first <= d->last) {
			vga_cursor(v);
			return EXIT_RESUME;
		}
		if (d->kind == DEVICE_PORTS && first >= d->first && last <= d->last) {
			carry_over(v, d);
			return EXIT_RESUME;
		}
	}
	if (!v->exit.io.in)
		return core_guest2_out(v);
	return core_absent_io(v);
}
