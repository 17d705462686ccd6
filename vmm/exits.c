/*
 * The core's own exit handlers (see exits.h): what lvisor does whatever the
 * policy says, to stay correct and to report a guest that misbehaves.
 * Backend-neutral: they use the vcpu accessors only.
 */
#include <asm/svm.h>
#include <asm/vmx.h>
#include <asm/x86.h>
#include <lib/printk.h>
#include "actions.h"
#include "core_ports.h"	/* the core's ports and MSRs, from codegen/core.py */
#include "exits.h"
#include "policy.h"
#include "stats.h"
#include "vmm.h"

int core_unhandled(struct vcpu *v)
{
	/* Failed VM entries whose code has no handler come here (vcpu.c:
	 * the run loop does not test entry_failed on every exit). */
	if (v->exit.entry_failed)
		return core_invalid_state(v);
	return vcpu_stop(v, backend->hex_reasons ? "unhandled VM exit: reason 0x%x (%s)"
						 : "unhandled VM exit: reason %u (%s)",
			 v->exit.code, vcpu_exit_name(v));
}

int core_triple_fault(struct vcpu *v)
{
	return vcpu_stop(v, "guest triple fault (%s): the guest could not handle an exception",
			 vcpu_exit_name(v));
}

int core_vmm_memory(struct vcpu *v)
{
	/* The second guest's nested page tables map its own memory alone:
	 * lvisor's, the HPET's and the first guest's addresses are not there. */
	if (v->guest->second)
		return vcpu_stop(v, "guest touched memory outside its map at GPA 0x%lx", v->exit.gpa);
	if (gpa_is_vmm(v->exit.gpa))
		return vcpu_stop(v, "guest touched VMM memory at GPA 0x%lx", v->exit.gpa);
	if (gpa_is_guest2(v->exit.gpa))
		return vcpu_stop(v, "guest touched the second guest's memory at GPA 0x%lx", v->exit.gpa);
	if (gpa_is_read_only(v->exit.gpa))
		return vcpu_stop(v, "guest wrote to the HPET at GPA 0x%lx, which lvisor keeps: "
				 "its timers can write memory", v->exit.gpa);
	return vcpu_stop(v, "guest touched unmapped memory at GPA 0x%lx", v->exit.gpa);
}

int core_virt_instruction(struct vcpu *v)
{
	return vcpu_stop(v, "guest executed %s: lvisor offers no nested virtualization",
			 vcpu_exit_name(v));
}

/*
 * An INIT signal, e.g. an INIT IPI the guest sent through its local APIC
 * (to itself: ICR destination shorthand "all including self"), or, on the
 * second guest's CPU, one the first guest sent there (below). Outside a
 * guest it would reset the CPU into real mode at the reset vector, lvisor
 * gone. In VMX non-root operation INIT always exits (SDM 26.2), and it is
 * blocked in root operation; on SVM the INIT intercept turns it into a
 * #VMEXIT (APM 15.9, table B-1). The guest wanted its CPU reset: report it
 * and stop the guest.
 */
#define INITS_IN_A_ROW_MAX	1000

int core_init_signal(struct vcpu *v)
{
	/*
	 * The second guest's CPU, on VMX. That guest cannot send an INIT:
	 * vmm/apic.c refuses it at the ICR write. Nor can the first guest
	 * send one here: with two guests its APIC writes are checked on VMX
	 * too (vmm/vmx/ept.c). Should an INIT come from another CPU all the
	 * same, stopping the second guest for it would let another agent
	 * kill it. On VMX the exit is all that INIT does: "A
	 * logical processor performs none of the operations normally
	 * associated with these events. Such exits do not modify register
	 * state or clear pending events" (SDM 26.2, "INIT signals"). The
	 * guest's state is the one before the INIT, so resuming it is sound:
	 * the INIT is dropped, counted and reported at the machine's end
	 * (smp_wait_guest2). On SVM the intercepted INIT stays pending (see
	 * vmm/apic.c; there lvisor refuses the first guest's INIT IPIs to
	 * other CPUs before they are sent), so this is VMX's alone.
	 *
	 * Bochs 2.7 does not take the INIT away at the exit: it stays
	 * pending, and every VM entry exits again at once, the guest making
	 * no progress. An INIT exit right after an INIT exit, with nothing in
	 * between, many times over, is that: the second guest is reported and
	 * stopped alone, lvisor and the first guest go on.
	 */
	if (v->guest->second && backend->init_exit_consumes) {
		struct guest *g = v->guest;
		unsigned exit = v->stats->trace_next;	/* this one's number */
		g->inits_in_a_row = exit == g->last_init_exit + 1 ? g->inits_in_a_row + 1 : 1;
		g->last_init_exit = exit;
		if (g->inits_in_a_row < INITS_IN_A_ROW_MAX) {
			if (g->inits_in_a_row == 1)
				g->inits_ignored++;	/* one INIT, however often it exits */
			return EXIT_RESUME;
		}
		return vcpu_stop(v, "INIT from another CPU exits again at every VM entry "
				 "(%u times in a row): this CPU keeps it pending (an emulator's bug: "
				 "SDM 26.2), this guest alone stops", g->inits_in_a_row);
	}
	return vcpu_stop(v, "guest sent INIT (%s): it would reset the CPU, lvisor with it",
			 vcpu_exit_name(v));
}

int core_invalid_state(struct vcpu *v)
{
	return vcpu_stop(v, "VM entry failed (%s): invalid guest state",
			 v->exit.failure ? v->exit.failure : vcpu_exit_name(v));
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
	return msr >= CORE_MSR_SVM_FIRST && msr <= CORE_MSR_SVM_LAST;
}

/* WRMSR to IA32_APIC_BASE (SDM 11.4.4): the guest may enable or disable
 * its local APIC, or switch it to x2APIC mode, but not move it: at another
 * address the APIC page could cover lvisor's memory, and lvisor's own
 * accesses there would reach the APIC. */
static bool apic_base_write_ok(uint64_t val)
{
	uint64_t now = rdmsr(MSR_IA32_APICBASE);

	/* With two guests the APIC stays on and in xAPIC mode: lvisor checks
	 * its writes through its page (vmm/apic.c), which x2APIC mode takes
	 * away, and a disabled APIC passes the 8259's interrupts on. */
	if (guest2.size && ((val ^ now) & (APICBASE_EXTD | APICBASE_ENABLE)))
		return false;
	return (val & APICBASE_ADDRESS) == (now & APICBASE_ADDRESS) && !(val & APICBASE_RESERVED);
}

/* A PAT value the CPU takes: every entry a memory type that exists
 * (0, 1, 4, 5, 6, 7; SDM 12.12.2), else WRMSR raises #GP. */
static bool pat_ok(uint64_t val)
{
	for (int i = 0; i < 8; i++) {
		uint8_t type = val >> 8 * i;
		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

bool core_msr_is_own(uint32_t msr, bool write)
{
	return msr == CORE_MSR_EFER || msr == CORE_MSR_IA32_PAT || svm_msr(msr) ||
	       (msr == CORE_MSR_IA32_APIC_BASE && write);
}

/* An access to one of the core's own MSRs (core_msr_is_own): false when
 * the guest gets #GP for it. */
static bool core_own_msr(struct vcpu *v, uint32_t msr)
{
	bool write = v->exit.msr.write;
	uint64_t val = vcpu_edx_eax(v);

	switch (msr) {
	case CORE_MSR_EFER:
		/* The bits a `syscall` rule keeps out of the CPU's EFER (SCE,
		 * vmm/syscall.c): the guest reads what it wrote. */
		if (!write) {
			uint64_t hide = v->policy->efer_hide;
			vcpu_set_edx_eax(v, (backend->efer(v) & ~(uint64_t)EFER_SVME & ~hide) |
					    v->efer_hidden);
		} else if (efer_write_ok(v, val)) {
			v->efer_hidden = val & v->policy->efer_hide;
			backend->set_efer(v, val & ~v->policy->efer_hide);
		} else {
			return false;
		}
		return true;
	case CORE_MSR_IA32_PAT:	/* the guest's lives in the VMCS/VMCB, never in the CPU's */
		if (!write)
			vcpu_set_edx_eax(v, backend->pat(v));
		else if (pat_ok(val))
			backend->set_pat(v, val);
		else
			return false;
		return true;
	case CORE_MSR_IA32_APIC_BASE:	/* writes only: reads are the policy's */
		return apic_base_write_ok(val) && !wrmsr_safe(msr, val);
	default:			/* SVM's MSRs: as on a CPU without SVM */
		return false;
	}
}

/*
 * Every RDMSR/WRMSR that the policy does not grant and has no rule for
 * (deny by default): the core's own MSRs (EFER: on SVM the guest must keep
 * EFER.SVME set and not see it; the PAT; moves of the APIC; SVM's MSRs,
 * whose VM_HSAVE_PA would let a guest choose the state lvisor gets back at
 * the next exit); any other MSR gets #GP, as on a CPU without it.
 */
int core_msr(struct vcpu *v)
{
	uint32_t msr = v->exit.msr.index;

	if (!core_msr_is_own(msr, v->exit.msr.write) || !core_own_msr(v, msr)) {
		vcpu_inject(v, VEC_GP, true, 0);
		return EXIT_RESUME;
	}
	vcpu_skip(v);
	return EXIT_RESUME;
}

/*
 * An I/O port the policy does not grant (deny by default): absent
 * hardware, as on a PC with nothing at that address. IN reads all ones,
 * OUT is dropped. String I/O (INS/OUTS) would need lvisor to write or read
 * the guest's memory through its page tables: reported and stopped.
 */
int core_absent_io(struct vcpu *v)
{
	if (v->exit.io.string)
		return vcpu_stop(v, "string I/O on port 0x%x, which is not the guest's", v->exit.io.port);
	if (v->exit.io.in)
		act_io_set_in(v, 0xffffffff);
	vcpu_skip(v);
	return EXIT_RESUME;
}
