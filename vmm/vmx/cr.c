/*
 * The guest's CR0 and CR4 under VMX: who owns which bit.
 *
 * VMX forces some bits of the real CR0 and CR4 while the guest runs
 * (IA32_VMX_CR0_FIXED0/1, CR4_FIXED0/1, SDM A.7-A.8): CR0.NE must be 1, and
 * CR4.VMXE; with "unrestricted guest" only PE and PG are free (SDM 27.3.1.1).
 * The guest must not notice: each such bit is set in the guest/host mask,
 * so that the guest reads it from the read shadow (its own value) and its
 * writes to it exit to core_cr_access (SDM 25.6.6). We also own CR0.PG, so
 * that turning paging on or off passes through us: that is where EFER.LMA
 * and the "IA-32e mode guest" entry control must follow (SDM 10.8.5, 25.8.1).
 *
 * The guest sees (real & ~mask) | (shadow & mask). When we write CRn for
 * the guest, the shadow gets the guest's whole value and the real register
 * the same with the fixed bits forced; the guest's own writes to bits
 * outside the mask go straight to the real register, without an exit.
 */
#include <asm/vmx.h>
#include <asm/x86.h>
#include <lib/printk.h>
#include "../exits.h"
#include "../guest_mem.h"
#include "../policy.h"
#include "../vmm.h"
#include "vmx.h"

#define CR0_TS		(1u << 3)
#define CR4_PSE_PAE_PGE	(CR4_PSE | CR4_PAE | CR4_PGE)

/* The CPU's (capability MSRs), the same for every vCPU: not per vCPU. */
static uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;

/* The real register for the value the guest wants. */
static uint64_t real_cr0(uint64_t val)
{
	return (val | (cr0_fixed0 & ~(uint64_t)(CR0_PE | CR0_PG))) & cr0_fixed1;
}
static uint64_t real_cr4(uint64_t val)
{
	return (val | cr4_fixed0) & cr4_fixed1;
}

static void set_cr0(uint64_t val)
{
	vmwrite(CR0_READ_SHADOW, val);
	vmwrite(GUEST_CR0, real_cr0(val));
}
static void set_cr4(uint64_t val)
{
	vmwrite(CR4_READ_SHADOW, val);
	vmwrite(GUEST_CR4, real_cr4(val));
}

/* The guest/host masks (SDM 25.6.6): the fixed bits (PE is exempt under
 * unrestricted guest), PG, and whatever the policy intercepts. Reset
 * values: CR0 = ET, CR4 = 0 (SDM 10.1.1, table 10-1). */
void cr_setup(const struct policy_vmx *ctl)
{
	cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);

	vmwrite(CR0_GUEST_HOST_MASK,
		(cr0_fixed0 & ~(uint64_t)CR0_PE) | CR0_PG | ctl->cr0_guest_host_mask);
	vmwrite(CR4_GUEST_HOST_MASK, cr4_fixed0 | ctl->cr4_guest_host_mask);
	set_cr0(CR0_ET);
	set_cr4(0);
}

uint64_t cr_guest(int n)
{
	switch (n) {
	case 0: {
		uint64_t mask = vmread(CR0_GUEST_HOST_MASK);
		return (vmread(GUEST_CR0) & ~mask) | (vmread(CR0_READ_SHADOW) & mask);
	}
	case 2:
		return read_cr2();	/* not in the VMCS: the guest's CR2 stays in the CPU */
	case 3:
		return vmread(GUEST_CR3);
	case 4: {
		uint64_t mask = vmread(CR4_GUEST_HOST_MASK);
		return (vmread(GUEST_CR4) & ~mask) | (vmread(CR4_READ_SHADOW) & mask);
	}
	case 8:
		return read_cr8();	/* the TPR: passed through */
	default:
		return 0;
	}
}

/*
 * PAE paging without long mode: the CPU loads the four PDPTEs when CR0,
 * CR3 or CR4 changes (SDM 4.4.1); if we made the change, we load them into
 * the VMCS (SDM 27.3.1.6). A present PDPTE with reserved bits set is #GP.
 * CR3 is the guest's choice: PDPTEs outside the guest's RAM (lvisor's
 * memory, the LAPIC, a hole) are #GP too, which is what a CPU gets from
 * where no memory answers (all ones: present, with reserved bits). The
 * guest goes on with its fault rather than being stopped: loading bad
 * PDPTEs is a guest error the architecture defines, not an attack on us.
 */
static bool load_pdptrs(const struct guest *g, uint64_t cr3)
{
	uint64_t pdpte[4];

	if (!guest_read_phys(g, cr3 & 0xffffffe0, pdpte, sizeof(pdpte)))
		return false;
	for (int i = 0; i < 4; i++)
		if ((pdpte[i] & 1) && (pdpte[i] & 0x1e6))	/* reserved bits 2:1, 8:5 */
			return false;
	for (int i = 0; i < 4; i++)	/* only now: a #GP leaves the old ones */
		vmwrite(GUEST_PDPTR0 + 2 * i, pdpte[i]);
	return true;
}

static bool pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA);
}

/* MOV to CR0 as the CPU does it (SDM Vol. 2 "MOV to/from Control
 * Registers" and 10.8.5 "Initializing IA-32e Mode"); false means #GP. */
static bool guest_write_cr0(const struct guest *g, uint64_t val)
{
	uint64_t old = cr_guest(0), cr4 = cr_guest(4);
	uint64_t efer = vmread(GUEST_IA32_EFER), entry = vmread(VM_ENTRY_CONTROLS);

	if (cr0_write_faults(val, cr4, efer))
		return false;
	if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME)) {
		/* Paging on with EFER.LME: the guest enters IA-32e mode. */
		efer |= EFER_LMA;
		entry |= VM_ENTRY_IA32E_MODE;
	} else if (!(val & CR0_PG) && (old & CR0_PG) && (efer & EFER_LMA)) {
		/* Paging off: back to legacy mode. */
		efer &= ~(uint64_t)EFER_LMA;
		entry &= ~(uint64_t)VM_ENTRY_IA32E_MODE;
	}
	if (pae_paging(val, cr4, efer) && !pae_paging(old, cr4, efer) &&
	    !load_pdptrs(g, vmread(GUEST_CR3)))
		return false;
	vmwrite(GUEST_IA32_EFER, efer);
	vmwrite(VM_ENTRY_CONTROLS, entry);
	set_cr0(val);
	return true;
}

/* MOV to CR4 (the same references); false means #GP. */
static bool guest_write_cr4(const struct guest *g, uint64_t val)
{
	uint64_t old = cr_guest(4), cr0 = cr_guest(0), efer = vmread(GUEST_IA32_EFER);

	if ((val & ~cr4_fixed1) ||
	    ((efer & EFER_LMA) && !(val & CR4_PAE)))
		return false;
	if (pae_paging(cr0, val, efer) && ((old ^ val) & CR4_PSE_PAE_PGE) &&
	    !load_pdptrs(g, vmread(GUEST_CR3)))
		return false;
	set_cr4(val);
	return true;
}

static bool guest_write_cr3(const struct guest *g, uint64_t val)
{
	/* With CR4.PCIDE, bit 63 asks MOV to CR3 not to flush; CR3 never
	 * holds it (SDM 4.10.4.1), and a VM entry with it set fails. */
	if (cr_guest(4) & CR4_PCIDE)
		val &= ~(1ull << 63);
	if (pae_paging(cr_guest(0), cr_guest(4), vmread(GUEST_IA32_EFER)) && !load_pdptrs(g, val))
		return false;
	vmwrite(GUEST_CR3, val);
	return true;
}

/* For the backend's set_cr accessor: a handler changing the guest's CRn;
 * false means #GP. */
bool cr_set_guest(const struct guest *g, int n, uint64_t val)
{
	switch (n) {
	case 0: return guest_write_cr0(g, val);
	case 2: __asm__ volatile("mov %0, %%cr2" : : "r"(val)); return true;
	case 3: return guest_write_cr3(g, val);
	case 4: return guest_write_cr4(g, val);
	case 8:
		/* The TPR, passed through. Bits 63:4 are reserved: MOV to CR8
		 * with any of them set is #GP (SDM Vol. 2B, MOV to/from Control
		 * Registers), and would be in lvisor too. */
		if (val > 15)
			return false;
		write_cr8(val);
		return true;
	default: return false;
	}
}

/* Operands of MOV CR are 64 bits wide in 64-bit mode, 32 bits otherwise. */
static bool guest_64bit(void)
{
	return (vmread(GUEST_IA32_EFER) & EFER_LMA) && (vmread(GUEST_CS_AR_BYTES) & VMX_AR_L);
}

/*
 * EXIT_REASON_CR_ACCESS (SDM 28.2.1, table 28-3 for the qualification):
 * the guest wrote a CR0/CR4 bit that we own (MOV to CR, CLTS, LMSW), or
 * touched CR3/CR8 because the policy intercepts it. Do what the CPU would
 * have done, keeping the fixed bits in the real registers.
 */
int core_cr_access(struct vcpu *v)
{
	uint64_t q = v->exit.qualification;
	uint64_t *gpr = vcpu_gpr(v, CR_QUAL_GPR(q));
	uint64_t width = guest_64bit() ? ~0ull : 0xffffffffull;
	bool ok = true;

	switch (CR_QUAL_TYPE(q)) {
	case CR_TYPE_MOV_TO_CR:
		ok = cr_set_guest(v->guest, CR_QUAL_CR(q), *gpr & width);
		break;
	case CR_TYPE_MOV_FROM_CR:
		*gpr = cr_guest(CR_QUAL_CR(q)) & width;
		break;
	case CR_TYPE_CLTS:
		ok = guest_write_cr0(v->guest, cr_guest(0) & ~(uint64_t)CR0_TS);
		break;
	case CR_TYPE_LMSW: {
		/* LMSW loads CR0 bits 3:0 (PE, MP, EM, TS) but cannot clear PE. */
		uint64_t cr0 = cr_guest(0), msw = CR_QUAL_LMSW_DATA(q) & 0xf;
		ok = guest_write_cr0(v->guest, (cr0 & ~0xeull) | msw);	/* bit 0 of cr0 stays */
		break;
	}
	}
	if (!ok) {
		vcpu_inject(v, VEC_GP, true, 0);
		return EXIT_RESUME;
	}
	vcpu_skip(v);
	return EXIT_RESUME;
}
