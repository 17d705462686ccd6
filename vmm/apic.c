/*
 * The guest's writes to its local APIC, on SVM, and on VMX with two guests.
 *
 * lvisor does not virtualize the local APIC: the guest's is the CPU's own,
 * and most of what a guest does with it is its own business (EOI, the
 * timer, the task priority, an interrupt or an NMI to itself). Not so an
 * INIT IPI: it resets the CPU, and lvisor with it. The INIT intercept
 * does turn it into a #VMEXIT, but QEMU keeps the INIT pending and
 * delivers it to the CPU as soon as it runs lvisor, GIF clear or not
 * (measured on QEMU 7.2): the only place to stop it is the write to
 * the ICR. So vmm/svm/npt.c maps the APIC's page read-only: every write
 * there is a nested page fault (APM 15.25.6), which core_npf hands here.
 * Reads stay direct. lvisor decodes the instruction (a MOV store,
 * vmm/decode.c), checks what it would send and carries the store out on
 * the real APIC, or reports the guest and stops it.
 *
 * The cost is one exit per APIC write: mostly the EOI at the end of each
 * interrupt handler, which xv6 and Linux write on every interrupt.
 *
 * With a second guest, its CPU's APIC is mapped for it the same way, on
 * both backends (vmm/vmx/ept.c maps both guests' APIC page read-only
 * then: an IPI from one guest to the other's CPU must not be sent at all).
 * The checks below run on the CPU of the guest that wrote, so "this CPU"
 * is the writer's (its APIC ID), and the other CPU runs the other guest.
 *
 * With one guest on VMX none of this runs: INIT always causes a VM exit in
 * VMX non-root operation and is blocked in root operation (SDM 26.2,
 * 24.8), where core_init_signal reports it; EPT maps the APIC's page
 * writable.
 */
#include "apic.h"
#include "exits.h"
#include "policy.h"
#include "vmm.h"

uint64_t apic_page;

/* The APIC's page as lvisor finds it: IA32_APIC_BASE, which the guest may
 * not change (core_msr), mapped uncacheable in lvisor's address space, as
 * a device's registers must be (SDM 11.4.1). */
void apic_init(void)
{
	apic_page = rdmsr(MSR_IA32_APICBASE) & APICBASE_ADDRESS;
	if (apic_page >= GUEST_PHYS_LIMIT || gpa_is_vmm(apic_page))
		panic("the local APIC's page at 0x%lx is outside what lvisor maps", apic_page);
	mm_uncached(apic_page);
}

/*
 * A logical destination (SDM 11.6.2.2) that selects this CPU and no other
 * possible one: in the flat model, MDA bits that are all this CPU's; in
 * the cluster model, this CPU's cluster (not 0xF, all clusters) and bits
 * that are all this CPU's.
 */
static bool logical_self(uint8_t mda)
{
	uint8_t ldr = apic_read(APIC_LDR) >> 24;

	if (!mda || (apic_read(APIC_DFR) >> 28) == 0xf)
		return mda && !(mda & ~ldr);
	return (mda >> 4) == (ldr >> 4) && (mda >> 4) != 0xf && (mda & 0xf) && !(mda & ~ldr & 0xf);
}

/*
 * The IPI that a write of icr to the ICR's low dword sends (SDM 11.6.1),
 * refused if it could reset or start a CPU, or reach a CPU other than
 * this one: the report (a format for the ICR), or NULL to send it. The destination field is the
 * ICR's high dword, which the guest wrote before (through here) and the
 * real APIC holds; this CPU's IDs are the real APIC's too.
 */
static bool init_deassert(uint32_t icr)
{
	return ICR_MODE(icr) == MODE_INIT && (icr & ICR_LEVEL_TRIGGERED) && !(icr & ICR_ASSERT);
}

/* A fixed IPI to a logical destination that, by this CPU's LDR and DFR,
 * selects this CPU only: Linux's flat APIC mode sends its own CPU IPIs
 * that way (to retrigger an interrupt, for one). */
static bool logical_fixed_self(uint32_t icr, uint8_t dest)
{
	return ICR_MODE(icr) == MODE_FIXED && logical_self(dest);
}

static const char *ipi_refused(uint32_t icr)
{
	/* With a second guest, the other CPU runs it: what reaches that CPU
	 * reaches the other guest. */
	bool two = guest2.size;

	/* INIT level de-assert only synchronizes the APICs' arbitration IDs
	 * (P6 and Pentium; later CPUs ignore it): no reset. xv6 sends one
	 * to all when it sets up its APIC, and Linux when it starts a CPU. */
	if (ICR_MODE(icr) == MODE_INIT && !init_deassert(icr))
		return "guest sent an INIT IPI (ICR 0x%x): it would reset the CPU, lvisor with it";
	if (ICR_MODE(icr) == MODE_STARTUP)
		return "guest sent a start-up IPI (ICR 0x%x): lvisor gives the guest one CPU";
	/* SMI hands the CPU to the firmware's SMM, outside lvisor, which on
	 * a real machine may gather every CPU; 3 and 7 are reserved. */
	if (ICR_MODE(icr) == MODE_SMI || ICR_MODE(icr) == 3 || ICR_MODE(icr) == 7)
		return "guest sent an IPI with delivery mode SMI or a reserved one (ICR 0x%x): "
		       "lvisor does not hand a CPU to SMM";
	switch (ICR_SHORTHAND(icr)) {
	case SHORTHAND_SELF:
		return NULL;
	case SHORTHAND_ALL:
		/* Also reaches every other CPU, which with one guest lvisor
		 * leaves in wait-for-SIPI, where nothing but INIT and start-up
		 * IPIs (refused above) does anything (SDM 9.4). The second
		 * guest's CPU runs: only the harmless de-assert goes there. */
		if (two && !init_deassert(icr))
			return "guest sent an IPI to all CPUs (ICR 0x%x): the other CPU runs the other guest";
		return NULL;
	case SHORTHAND_OTHERS:
		return "guest sent an IPI to all other CPUs (ICR 0x%x): lvisor gives the guest one CPU";
	}
	uint8_t dest = apic_read(APIC_ICR_HIGH) >> 24;
	/* A logical destination selects every CPU whose logical ID matches
	 * (SDM 11.6.2.2): the other guest sets its CPU's, so with two guests
	 * lvisor cannot tell which CPUs one reaches. A fixed IPI to this
	 * CPU's own logical ID is sent to self instead (ipi_contained). */
	if ((icr & ICR_LOGICAL) && two && !logical_fixed_self(icr, dest))
		return "guest sent an IPI to a logical destination (ICR 0x%x): with two guests "
		       "lvisor cannot tell which CPUs it reaches";
	if (icr & ICR_LOGICAL ? logical_self(dest) : dest == apic_id())
		return NULL;
	return "guest sent an IPI to another CPU (ICR 0x%x): lvisor gives the guest one CPU";
}

/* A write to an LVT entry of a local interrupt pin (SDM 11.5.1): with
 * delivery mode INIT, a signal on LINT0 or LINT1 would reset the CPU. */
static const char *lvt_refused(uint32_t reg, uint32_t val)
{
	/* The APIC ID routes interrupts: with two guests the I/O APIC sends
	 * each guest's pins to its CPU's ID (vmm/ioapic.c), and the other
	 * guest's IPIs to itself go to its own. QEMU's xAPIC ID is writable. */
	if (reg == APIC_ID && guest2.size)
		return "guest wrote its local APIC ID (0x%x): with two guests each CPU's ID "
		       "routes its guest's interrupts";
	if ((reg == APIC_LVT_LINT0 || reg == APIC_LVT_LINT1) && ICR_MODE(val) == MODE_INIT)
		return reg == APIC_LVT_LINT0
			? "guest set LINT0 to deliver INIT (LVT 0x%x): a signal there would reset the CPU, lvisor with it"
			: "guest set LINT1 to deliver INIT (LVT 0x%x): a signal there would reset the CPU, lvisor with it";
	/* Every LVT entry (timer 0x320 to error 0x370, and CMCI 0x2f0) may
	 * not deliver an SMI, for the ICR's reason above. */
	if (((reg >= 0x320 && reg <= 0x370) || reg == 0x2f0) && ICR_MODE(val) == MODE_SMI)
		return "guest set a local interrupt to deliver an SMI (LVT 0x%x): lvisor does not hand a CPU to SMM";
	return NULL;
}

/* The 8259 PIC is the first guest's: its interrupt reaches every CPU whose
 * LINT0 takes ExtINT unmasked (SDM 11.5.1; QEMU wires it so). On the
 * second guest's CPU the entry is written masked (its MP table still names
 * LINT0 ExtINT, as a PC's does: a kernel that follows it in virtual-wire
 * mode simply gets no 8259 interrupts, which it has none of). */
static uint32_t lvt_contained(struct vcpu *v, uint32_t reg, uint32_t val)
{
	if (v->guest->second && (reg == APIC_LVT_LINT0 || reg == APIC_LVT_LINT1) &&
	    ICR_MODE(val) == MODE_EXTINT)
		val |= APIC_LVT_MASKED;
	return val;
}

/* With two guests the other CPU may share this one's logical ID (its
 * guest sets its LDR): a fixed IPI to this CPU's logical ID, which
 * ipi_refused let through, goes out with the self shorthand, which reaches
 * this CPU alone whatever the IDs (SDM 11.6.1: valid with fixed delivery;
 * the destination field is then ignored). */
static uint32_t ipi_contained(uint32_t icr)
{
	if (guest2.size && ICR_SHORTHAND(icr) == SHORTHAND_NONE && (icr & ICR_LOGICAL))
		icr = (icr & ~ICR_LOGICAL) | SHORTHAND_SELF << 18;
	return icr;
}

/*
 * A write the guest made to its local APIC's page: decode it, check it,
 * carry it out on the real APIC and step the guest past it. The APIC's
 * registers are 32 bits wide at 16-byte boundaries and take aligned
 * 32-bit stores only (SDM 11.4.1): any other store is refused, as lvisor
 * cannot tell what the APIC would make of it.
 */
static int guest_apic_write(struct vcpu *v)
{
	uint64_t gpa = v->exit.gpa;
	uint32_t reg = gpa - apic_page;
	struct mmio_access s;
	const char *why = "lvisor does not decode stores on this backend";

	bool decoded = backend->decode_mmio && backend->decode_mmio(v, &s, &why);
	if (decoded && s.load)
		why = "a load, not the store that faulted";
	if (!decoded || s.load)
		return vcpu_stop(v, "guest wrote its local APIC at GPA 0x%lx with an instruction "
				 "lvisor does not carry out: %s", gpa, why);
	if (s.size != 4 || (gpa & 15))
		return vcpu_stop(v, "guest wrote %u bytes to its local APIC at GPA 0x%lx: the APIC "
				 "takes aligned 32-bit stores only", s.size, gpa);
	const char *refused = reg == APIC_ICR_LOW ? ipi_refused(s.value) : lvt_refused(reg, s.value);
	if (refused)
		return vcpu_stop(v, refused, (uint32_t)s.value);
	*(volatile uint32_t *)gpa = reg == APIC_ICR_LOW ? ipi_contained(s.value) : lvt_contained(v, reg, s.value);
	backend->skip_len(v, s.len);
	return EXIT_RESUME;
}

/*
 * A nested page fault (SVM NPF), or an EPT violation (VMX): a write to the
 * APIC's page, which is mediated (above); an access to the I/O APIC's,
 * with two guests (vmm/ioapic.c); an access to a page the policy watches
 * (vmm/memwatch.c); else the guest touched memory the nested page tables
 * do not give it.
 */
int core_npf(struct vcpu *v)
{
	if (v->exit.gpa_write && (v->exit.gpa & ~(uint64_t)(PAGE_SIZE - 1)) == apic_page)
		return guest_apic_write(v);
	if (gpa_is_ioapic(v->exit.gpa))
		return ioapic_access(v);
	if (v->policy->watch_count && watch_perms(v->policy, v->exit.gpa))
		return memory_access(v);
	return core_vmm_memory(v);
}
