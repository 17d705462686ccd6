/*
 * The core's own exit handlers (see exits.h): what lvisor does whatever the
 * policy says, to stay correct and to report a guest that misbehaves.
 * Backend-neutral: they use the vcpu accessors only.
 */
#include <asm/svm.h>
#include <asm/vmx.h>
#include <asm/x86.h>
#include "actions.h"
#include "exits.h"
#include "vmm.h"

int core_unhandled(struct vcpu *v)
{
	return vcpu_stop(v, backend->hex_reasons ? "unhandled VM exit: reason 0x%x (%s)"
						 : "unhandled VM exit: reason %u (%s)",
			 v->exit.code, v->exit.name);
}

int core_triple_fault(struct vcpu *v)
{
	return vcpu_stop(v, "guest triple fault (%s): the guest could not handle an exception",
			 v->exit.name);
}

int core_vmm_memory(struct vcpu *v)
{
	if (gpa_is_vmm(v->exit.gpa))
		return vcpu_stop(v, "guest touched VMM memory at GPA 0x%lx", v->exit.gpa);
	return vcpu_stop(v, "guest touched unmapped memory at GPA 0x%lx", v->exit.gpa);
}

int core_virt_instruction(struct vcpu *v)
{
	return vcpu_stop(v, "guest executed %s: lvisor offers no nested virtualization",
			 v->exit.name);
}

/*
 * An INIT signal, e.g. an INIT IPI the guest sent through its local APIC
 * (to itself: ICR destination shorthand "all including self"). Outside a
 * guest it would reset the CPU into real mode at the reset vector, lvisor
 * gone. In VMX non-root operation INIT always exits (SDM 26.2), and it is
 * blocked in root operation; on SVM the INIT intercept turns it into a
 * #VMEXIT (APM 15.9, table B-1). The guest wanted its CPU reset: report it
 * and stop the guest.
 */
int core_init_signal(struct vcpu *v)
{
	return vcpu_stop(v, "guest sent INIT (%s): it would reset the CPU, lvisor with it",
			 v->exit.name);
}

int core_invalid_state(struct vcpu *v)
{
	return vcpu_stop(v, "VM entry failed (%s): invalid guest state", v->exit.name);
}

/* CPUID as the hardware answers it, except that the guest must not think it
 * can use VMX or SVM itself (lvisor does not nest). */
int core_cpuid(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->regs.rax, subleaf = (uint32_t)v->regs.rcx;
	struct cpuid_regs r = cpuid(leaf, subleaf);

	if (leaf == 1)
		r.ecx &= ~CPUID_1_ECX_VMX;
	if (leaf == 0x80000001)
		r.ecx &= ~CPUID_80000001_ECX_SVM;
	if (leaf == 0x8000000a)		/* SVM's own leaf (APM E.4.9) */
		r = (struct cpuid_regs){ 0 };
	act_set_cpuid(v, r);
	vcpu_skip(v);
	return EXIT_RESUME;
}

/* XSETBV (SDM Vol. 2C): done for the guest after the checks that would
 * otherwise raise #GP inside lvisor. */
int core_xsetbv(struct vcpu *v)
{
	uint64_t val = vcpu_edx_eax(v);
	struct cpuid_regs xsave = cpuid(0xd, 0);
	uint64_t supported = ((uint64_t)xsave.edx << 32) | xsave.eax;

	/* The rules that newer state components add (AVX-512's three bits
	 * together, AMX's two...) are many: xsetbv_safe() catches the #GP of
	 * any value these checks let through. */
	if ((uint32_t)v->regs.rcx != 0 || !(val & 1) || (val & ~supported) ||
	    ((val & 4) && !(val & 2)) || xsetbv_safe(0, val)) {
		vcpu_inject(v, VEC_GP, true, 0);
		return EXIT_RESUME;
	}
	vcpu_skip(v);
	return EXIT_RESUME;
}

int core_invd(struct vcpu *v)
{
	__asm__ volatile("wbinvd");	/* INVD would drop our own dirty lines too */
	vcpu_skip(v);
	return EXIT_RESUME;
}

int core_hypercall_ud(struct vcpu *v)
{
	vcpu_inject(v, VEC_UD, false, 0);
	return EXIT_RESUME;
}

/*
 * WRMSR to EFER (SDM Vol. 4, IA32_EFER; APM 3.1.7): #GP for a bit the CPU
 * does not offer, and for a change of LME while paging is on. Returns
 * whether the write is allowed; LMA and SVME are the backend's to keep.
 */
static bool efer_write_ok(struct vcpu *v, uint64_t val)
{
	uint32_t edx = cpuid(0x80000001, 0).edx;
	uint64_t allowed = EFER_LMA;

	if (edx & CPUID_80000001_EDX_SYSCALL)
		allowed |= EFER_SCE;
	if (edx & CPUID_80000001_EDX_LM)
		allowed |= EFER_LME;
	if (edx & CPUID_80000001_EDX_NX)
		allowed |= EFER_NXE;
	if (edx & CPUID_80000001_EDX_FFXSR)
		allowed |= EFER_FFXSR;
	if (val & ~allowed)
		return false;
	return !(vcpu_cr(v, 0) & CR0_PG) || !((val ^ backend->efer(v)) & EFER_LME);
}

/* SVM's own MSRs, VM_CR to the SVM lock key (APM 15.30): the host save
 * area's address among them. The guest sees a CPU without SVM. */
static bool svm_msr(uint32_t msr)
{
	return msr >= MSR_VM_CR && msr <= MSR_SVM_KEY;
}

/*
 * The MSR accesses that exit without a policy rule:
 * - EFER: on SVM, VMRUN requires EFER.SVME in the guest's EFER (APM 15.5.1),
 *   so the guest's writes keep it set and its reads don't show it; the
 *   backend keeps the guest's EFER (and on VMX the IA-32e mode control).
 * - SVM's MSRs: #GP, as on a CPU without SVM; a guest that could write
 *   VM_HSAVE_PA would choose the state lvisor gets back at the next exit.
 * - MSRs outside the ranges that the MSR bitmaps cover always exit (SDM
 *   25.6.9, APM 15.11): carry the access out as the guest asked, and give
 *   the guest the #GP that the hardware gives for an MSR it lacks.
 */
int core_msr(struct vcpu *v)
{
	uint32_t msr = v->exit.msr.index;
	uint64_t val;

	if (svm_msr(msr) || (msr == MSR_EFER && v->exit.msr.write &&
			     !efer_write_ok(v, vcpu_edx_eax(v)))) {
		vcpu_inject(v, VEC_GP, true, 0);
		return EXIT_RESUME;
	}
	if (msr == MSR_EFER) {
		if (v->exit.msr.write)
			backend->set_efer(v, vcpu_edx_eax(v));
		else
			vcpu_set_edx_eax(v, backend->efer(v) & ~(uint64_t)EFER_SVME);
	} else if (v->exit.msr.write) {
		if (wrmsr_safe(msr, vcpu_edx_eax(v))) {
			vcpu_inject(v, VEC_GP, true, 0);
			return EXIT_RESUME;
		}
	} else {
		if (rdmsr_safe(msr, &val)) {
			vcpu_inject(v, VEC_GP, true, 0);
			return EXIT_RESUME;
		}
		vcpu_set_edx_eax(v, val);
	}
	vcpu_skip(v);
	return EXIT_RESUME;
}
