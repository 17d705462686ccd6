/*
 * The I/O APIC, split between two guests.
 *
 * With one guest, the I/O APIC is the guest's: its page is mapped like any
 * other device's. With a second guest (KERNEL2) each guest needs
 * interrupts from its own devices, on its own CPU, and neither may aim a
 * pin at the other's CPU. So lvisor keeps the I/O APIC: the nested page
 * tables leave its page out of both guests' maps (vmm/svm/npt.c,
 * vmm/vmx/ept.c), every load and store there is a nested page fault or EPT
 * violation, which core_npf hands here. lvisor decodes it (vmm/decode.c)
 * and carries it out on a
 * view of the I/O APIC that each guest has of its own.
 *
 * Each guest owns pins of the machine's I/O APIC, under numbers of its
 * own: the second guest those of its devices (its policy's devices:
 * section, struct policy_device): a device's IRQ in its view is its pin
 * of that number, the machine's pin for the device's machine IRQ (by
 * default its COM1's IRQ 4 is COM2's IRQ 3, machine pin 3 unless the MADT
 * overrides it); the first guest all the other pins, under their own
 * numbers. Programming a pin it owns programs the machine's pin
 * with the guest's vector, trigger mode, polarity and mask, but always to
 * its own CPU: physical destination mode, its CPU's APIC ID. A write to a
 * pin it does not own is dropped and reported once per pin; the guest goes
 * on (xv6 and Linux mask every pin at boot). Reads of such a pin find it
 * masked.
 *
 * The registers (82093AA I/O APIC datasheet, 3.0): two in memory, IOREGSEL
 * at +0x00 (which register IOWIN shows) and IOWIN at +0x10 (its 32 bits);
 * through them IOAPICID (0x00), IOAPICVER (0x01: bits 23:16, the highest
 * pin), IOAPICARB (0x02) and the redirection table, pin n's entry at
 * 0x10 + 2n (bits 31:0) and 0x11 + 2n (bits 63:32). Newer I/O APICs
 * (version 0x20, as QEMU's) add an EOI register at +0x40. Each guest has
 * its own IOREGSEL; lvisor selects and reads the machine's registers under
 * a lock, since the two CPUs share its IOREGSEL.
 *
 * On both backends: SVM's nested page tables and VMX's EPT leave the page
 * out alike, and vmm/decode.c decodes the accesses for either.
 */
#include <lib/printk.h>
#include <lib/string.h>
#include <lib/spinlock.h>
#include "acpi.h"
#include "apic.h"
#include "exits.h"
#include "policy.h"
#include "vcpu.h"
#include "vmm.h"

/* The registers in the I/O APIC's page. */
#define IOREGSEL	0x00
#define IOWIN		0x10
#define IOEOI		0x40	/* version 0x20 and later: write a vector */

/* Registers through IOREGSEL/IOWIN. */
#define IOAPICID	0x00
#define IOAPICVER	0x01
#define IOAPICARB	0x02
#define IOREDTBL	0x10	/* pin n: 0x10 + 2n low, 0x11 + 2n high */
#define PINS_MAX	24	/* the 82093AA's; IOAPICVER says how many there are */

/* A redirection entry's low dword (datasheet 3.2.4). */
#define RTE_VECTOR		0x000000ffu
#define RTE_DELMOD(lo)		((lo) >> 8 & 7)	/* delivery mode */
#define DELMOD_FIXED		0
#define DELMOD_LOWEST		1
#define DELMOD_NMI		4
#define DELMOD_EXTINT		7
#define RTE_DESTMOD		(1u << 11)	/* logical destination */
#define RTE_DELIVS		(1u << 12)	/* delivery status, read-only */
#define RTE_POLARITY		(1u << 13)	/* active low */
#define RTE_REMOTE_IRR		(1u << 14)	/* read-only */
#define RTE_TRIGGER		(1u << 15)	/* level */
#define RTE_MASK		(1u << 16)
#define RTE_READ_ONLY		(RTE_DELIVS | RTE_REMOTE_IRR)

#define IOAPIC_DEFAULT		0xfec00000ull	/* where a PC's is without a MADT */

/* One guest's view: its pins (virtual pin -> machine pin, -1: not its
 * own), its IOREGSEL, what it wrote to each of its pins' entries, and the
 * pins it has been told off for. */
struct ioapic_view {
	int machine[PINS_MAX];
	uint8_t regsel;
	uint32_t lo[PINS_MAX], hi[PINS_MAX];
	uint32_t reported;	/* bit n: pin n's write was reported */
	uint32_t refused;	/* bit n: its delivery mode was refused (reported) */
};

uint64_t ioapic_page;		/* 0: not emulated (one guest) */
static unsigned npins;		/* IOAPICVER's highest pin + 1 */
static uint32_t gsi_base;
static struct ioapic_view views[2];	/* the first guest's, the second's */
static spinlock_t lock;		/* the machine's IOREGSEL */

static uint32_t hw_read(uint8_t reg)
{
	*(volatile uint32_t *)(ioapic_page + IOREGSEL) = reg;
	return *(volatile uint32_t *)(ioapic_page + IOWIN);
}

static void hw_write(uint8_t reg, uint32_t val)
{
	*(volatile uint32_t *)(ioapic_page + IOREGSEL) = reg;
	*(volatile uint32_t *)(ioapic_page + IOWIN) = val;
}

/* The machine's I/O APIC pin for ISA IRQ irq (the MADT's overrides). */
static int isa_pin(int irq)
{
	uint32_t gsi;

	acpi_isa_irq(irq, &gsi);
	return (int)(gsi - gsi_base);
}

/*
 * With a second guest: find the I/O APIC (the MADT's first, else the PC's default
 * address), build each guest's pin table and mask the second guest's pins
 * on the machine, before either guest runs.
 */
void ioapic_init(void)
{
	if (!guest2.size)
		return;
	const struct acpi_header *madt = acpi_find("APIC");
	uint64_t base;
	uint8_t id;
	if (!acpi_ioapic(&id, &base, &gsi_base))
		base = IOAPIC_DEFAULT;
	/* One I/O APIC, as QEMU's and Bochs' machines have: a second one
	 * would stay in the first guest's map, free to send its pins to the
	 * second guest's CPU. */
	if (madt && madt_next(madt, madt_next(madt, NULL, MADT_IOAPIC, 12), MADT_IOAPIC, 12))
		panic("the MADT lists more than one I/O APIC: lvisor splits one between two guests");
	if ((base & (PAGE_SIZE - 1)) || base >= GUEST_PHYS_LIMIT || gpa_is_vmm(base) || gpa_is_guest2(base) ||
	    (base & ~(uint64_t)(PAGE_SIZE - 1)) == apic_page)
		panic("the I/O APIC at 0x%lx is not a page lvisor can keep from the guests", base);
	mm_uncached(base);	/* a device's registers (SDM 11.4.1 says it of the APIC's) */
	ioapic_page = base;
	npins = (hw_read(IOAPICVER) >> 16 & 0xff) + 1;
	if (npins > PINS_MAX)
		npins = PINS_MAX;

	/* The second guest's pins, its devices' IRQs; the first guest's,
	 * every pin the second does not own, under its own number. */
	const struct policy *p2 = policy_guest2();
	char owned[POLICY_DEVICES_MAX * 64] = "";
	unsigned len = 0;
	for (unsigned v = 0; v < PINS_MAX; v++)
		views[0].machine[v] = views[1].machine[v] = -1;
	for (unsigned i = 0; i < p2->device_count; i++) {
		const struct policy_device *d = &p2->devices[i];
		if (d->irq < 0)
			continue;
		int pin = isa_pin(d->machine_irq);
		if (pin < 0 || pin >= (int)npins || d->irq >= (int)npins)
			panic("the second guest's %s: the machine's IRQ %d has no I/O APIC pin (%s)",
			      d->name, d->machine_irq, d->rule);
		/* The generator keeps the first guest's IRQs from the second
		 * guest; the MADT's overrides must not bring them back under
		 * another number, nor give two devices one pin. */
		static const int8_t kept[] = { 0, 1, 2, 4, 8, 9, 12 };	/* codegen/devices.py IRQS_KEPT */
		for (unsigned k = 0; k < sizeof(kept); k++)
			if (pin == isa_pin(kept[k]))
				panic("the second guest's %s: the machine's IRQ %d is on pin %d, which is ISA "
				      "IRQ %d's, the first guest's (%s)", d->name, d->machine_irq, pin, kept[k], d->rule);
		for (unsigned v = 0; v < PINS_MAX; v++)
			if (views[1].machine[v] == pin)
				panic("the second guest's %s: the machine's IRQ %d is on pin %d, another of its "
				      "devices' (%s)", d->name, d->machine_irq, pin, d->rule);
		views[1].machine[d->irq] = pin;
		hw_write(IOREDTBL + 2 * pin, RTE_MASK);	/* until the second guest programs it */
		if (len < sizeof(owned))
			len += snprintf(owned + len, sizeof(owned) - len, ", the second guest's pin %d (%s) is pin %d",
					d->irq, d->name, pin);
	}
	for (unsigned pin = 0; pin < npins; pin++) {
		bool second = false;
		for (unsigned v = 0; v < PINS_MAX; v++)
			second |= views[1].machine[v] == (int)pin;
		if (!second)
			views[0].machine[pin] = pin;
	}
	/* The first guest's pins as the firmware left them, but masked: an
	 * entry left unmasked would reach whichever CPUs it names, the second
	 * guest's among them, until the first guest programmed it (it reads
	 * masked, as the kernels expect at boot). The second's masked, as
	 * after reset. */
	for (unsigned v = 0; v < PINS_MAX; v++) {
		views[0].lo[v] = views[1].lo[v] = RTE_MASK;
		if (views[0].machine[v] >= 0) {
			views[0].lo[v] = (hw_read(IOREDTBL + 2 * v) & ~RTE_READ_ONLY) | RTE_MASK;
			views[0].hi[v] = hw_read(IOREDTBL + 2 * v + 1);
			hw_write(IOREDTBL + 2 * v, views[0].lo[v]);
		}
	}
	printk("I/O APIC at 0x%lx, %u pins: lvisor's%s\n", base, npins, owned);
}

bool gpa_is_ioapic(uint64_t gpa)
{
	return ioapic_page && (gpa & ~(uint64_t)(PAGE_SIZE - 1)) == ioapic_page;
}

/* A write to a pin the guest does not own: dropped, reported once per pin.
 * The first guest's unowned pins are the second guest's; the second
 * guest's are reported when the machine ends (ioapic_report): COM1 is the
 * first guest's while it runs. */
static void not_owned(struct vcpu *v, struct ioapic_view *view, unsigned pin)
{
	if (pin < 32 && !(view->reported & 1u << pin) && !v->guest->second)
		printk("guest programs I/O APIC pin %u, the second guest's: ignored\n", pin);
	if (pin < 32)
		view->reported |= 1u << pin;
}

/*
 * The machine's entry for a guest's pin: the guest's vector, trigger
 * mode, polarity and mask, its delivery mode if that is fixed, lowest
 * priority (one CPU: the same), NMI or, for the first guest, ExtINT, to
 * its own CPU only (physical destination mode, this CPU's APIC ID: the
 * guest's handler runs on its CPU). SMI and INIT (and the reserved modes)
 * would reach firmware or reset the CPU, lvisor with it; ExtINT takes its
 * vector from the 8259 PIC, the first guest's: such an entry stays masked
 * and is reported once.
 */
static void program(struct vcpu *v, struct ioapic_view *view, unsigned virt, int pin)
{
	uint32_t lo = view->lo[virt], mode = RTE_DELMOD(lo);

	if (mode == DELMOD_LOWEST)
		mode = DELMOD_FIXED;
	if (mode != DELMOD_FIXED && mode != DELMOD_NMI && (mode != DELMOD_EXTINT || v->guest->second)) {
		if (!(view->refused & 1u << virt) && !v->guest->second)
			printk("guest sets I/O APIC pin %u to delivery mode %u (SMI, INIT or reserved): "
			       "the pin stays masked\n", virt, RTE_DELMOD(lo));
		view->refused |= 1u << virt;
		lo |= RTE_MASK;
		mode = DELMOD_FIXED;
	}
	uint32_t real = (lo & (RTE_VECTOR | RTE_POLARITY | RTE_TRIGGER | RTE_MASK)) | mode << 8;
	spin_lock(&lock);
	hw_write(IOREDTBL + 2 * pin + 1, (uint32_t)apic_id() << 24);	/* physical: this CPU */
	hw_write(IOREDTBL + 2 * pin, real);
	spin_unlock(&lock);
}

/* A read of IOWIN: the register IOREGSEL selects, as this guest sees it. */
static uint32_t window_read(struct ioapic_view *view)
{
	uint8_t reg = view->regsel;
	uint32_t val = 0;

	if (reg < IOREDTBL) {		/* ID, version, arbitration: the machine's */
		spin_lock(&lock);
		val = reg <= IOAPICARB ? hw_read(reg) : 0;
		spin_unlock(&lock);
		return val;
	}
	unsigned virt = (reg - IOREDTBL) / 2;
	bool high = (reg - IOREDTBL) & 1;
	if (virt >= npins || view->machine[virt] < 0)
		return high ? 0 : RTE_MASK;	/* not its own: a masked pin */
	if (high)
		return view->hi[virt];
	/* Its own entry, with the machine's delivery status and remote IRR. */
	spin_lock(&lock);
	val = hw_read(IOREDTBL + 2 * view->machine[virt]) & RTE_READ_ONLY;
	spin_unlock(&lock);
	return (view->lo[virt] & ~RTE_READ_ONLY) | val;
}

/* A write to IOWIN: ID, version and arbitration writes are dropped (the
 * machine's ID is the machine's); an entry of one of its pins programs the
 * machine's pin; any other pin's is reported and dropped. */
static void window_write(struct vcpu *v, struct ioapic_view *view, uint32_t val)
{
	uint8_t reg = view->regsel;

	if (reg < IOREDTBL)
		return;
	unsigned virt = (reg - IOREDTBL) / 2;
	if (virt >= npins)
		return;		/* no such pin: as the hardware, nothing */
	if (view->machine[virt] < 0) {
		not_owned(v, view, virt);
		return;
	}
	if ((reg - IOREDTBL) & 1)
		view->hi[virt] = val;
	else
		view->lo[virt] = val & ~RTE_READ_ONLY;
	program(v, view, virt, view->machine[virt]);
}

/*
 * The EOI register (version 0x20 and later): the hardware clears the
 * remote IRR of every pin with the vector written, whoever's pin it is.
 * An I/O APIC older than 0x20 has no such register: the write does
 * nothing there, and nothing here (the guest reads the machine's version).
 * Passed on only for a vector one of the guest's own pins has, and only if
 * no pin of the other guest is level-triggered with that vector: its
 * remote IRR, cleared early, would deliver the other guest's interrupt
 * again while its handler runs. Then lvisor clears the remote IRR of the
 * guest's own pins alone, as kernels do on I/O APICs without the EOI
 * register: the entry written edge-triggered and masked, then its own
 * value again. The datasheet leaves remote IRR undefined for an edge-
 * triggered pin (3.2.4); the I/O APICs kernels do this on clear it then,
 * QEMU's among them. Under the lock, on the machine's entries as they are.
 */
static void eoi(struct ioapic_view *view, uint32_t vector)
{
	uint32_t mine = 0, lo[PINS_MAX];
	bool own = false, others_level = false;

	vector &= RTE_VECTOR;
	for (unsigned virt = 0; virt < PINS_MAX; virt++)
		if (view->machine[virt] >= 0)
			mine |= 1u << view->machine[virt];
	spin_lock(&lock);
	if ((hw_read(IOAPICVER) & 0xff) < 0x20) {
		spin_unlock(&lock);
		return;
	}
	for (unsigned pin = 0; pin < npins; pin++) {
		lo[pin] = hw_read(IOREDTBL + 2 * pin);
		if ((lo[pin] & RTE_VECTOR) != vector)
			continue;
		if (mine & 1u << pin)
			own = true;
		else if (lo[pin] & RTE_TRIGGER)
			others_level = true;
	}
	if (own && !others_level)
		*(volatile uint32_t *)(ioapic_page + IOEOI) = vector;
	for (unsigned pin = 0; own && others_level && pin < npins; pin++) {
		if (!(mine & 1u << pin) || (lo[pin] & RTE_VECTOR) != vector || !(lo[pin] & RTE_REMOTE_IRR))
			continue;
		hw_write(IOREDTBL + 2 * pin, (lo[pin] & ~(RTE_READ_ONLY | RTE_TRIGGER)) | RTE_MASK);
		hw_write(IOREDTBL + 2 * pin, lo[pin] & ~RTE_READ_ONLY);
	}
	spin_unlock(&lock);
}

/* The machine's I/O APIC version (IOAPICVER bits 7:0), for the second
 * guest's MP table (vmm/mptable.c): it must say what the guest reads from
 * the register (window_read). With a second guest, after ioapic_init. */
uint8_t ioapic_version(void)
{
	spin_lock(&lock);
	uint8_t version = hw_read(IOAPICVER) & 0xff;
	spin_unlock(&lock);
	return version;
}

/*
 * A guest's load or store in the I/O APIC's page (core_npf): decoded, done
 * on its view, and the guest stepped past it. Its registers take aligned
 * 32-bit accesses (datasheet 3.0); any other access stops the guest, as
 * lvisor cannot tell what the hardware would make of it. Other offsets in
 * the page read as zero and ignore writes.
 */
int ioapic_access(struct vcpu *v)
{
	struct ioapic_view *view = &views[v->guest->second];
	uint64_t gpa = v->exit.gpa;
	uint32_t off = gpa - ioapic_page;
	struct mmio_access a;
	const char *why;

	if (v->exit.gpa_walk)
		return vcpu_stop(v, "guest's page tables lie in the I/O APIC's page (GPA 0x%lx)", gpa);
	if (!backend->decode_mmio(v, &a, &why))
		return vcpu_stop(v, "guest accessed the I/O APIC at GPA 0x%lx with an instruction "
				 "lvisor does not carry out: %s", gpa, why);
	if (a.load == v->exit.gpa_write)
		return vcpu_stop(v, "guest accessed the I/O APIC at GPA 0x%lx: its instruction "
				 "is not the access that faulted", gpa);
	if (a.size != 4 || (gpa & 3))
		return vcpu_stop(v, "guest accessed the I/O APIC at GPA 0x%lx with %u bytes: it "
				 "takes aligned 32-bit loads and stores only", gpa, a.size);
	if (a.load) {
		uint32_t val = off == IOREGSEL ? view->regsel : off == IOWIN ? window_read(view) : 0;
		vcpu_mmio_load(v, &a, val);
		return EXIT_RESUME;
	}
	if (off == IOREGSEL)
		view->regsel = a.value;
	else if (off == IOWIN)
		window_write(v, view, a.value);
	else if (off == IOEOI)
		eoi(view, a.value);
	backend->skip_len(v, a.len);
	return EXIT_RESUME;
}

/* The second guest's pins that it programmed without owning them, when
 * the machine ends (smp_wait_guest2): one line. */
void ioapic_report(const struct guest *g)
{
	const struct ioapic_view *view = &views[g->second];
	char pins[3 * PINS_MAX + 1] = "";
	unsigned n = 0, len = 0;

	for (unsigned p = 0; p < PINS_MAX; p++)
		if (view->reported & 1u << p)
			len += snprintf(pins + len, sizeof(pins) - len, "%s%u", n++ ? " " : "", p);
	if (n)
		printk("second guest: guest programs I/O APIC pin%s %s, not the guest's: ignored\n",
		       n == 1 ? "" : "s", pins);
	for (unsigned p = 0; p < PINS_MAX; p++)
		if (view->refused & 1u << p)
			printk("second guest: guest sets I/O APIC pin %u to delivery mode %u (SMI, INIT, "
			       "ExtINT or reserved): the pin stays masked\n", p, RTE_DELMOD(view->lo[p]));
}
