/*
 * The Intel VMX backend (SDM Vol. 3C, chapters 24-29): enter VMX operation,
 * build the VMCS from the policy (vmcs.c), run the guest with VMLAUNCH and
 * VMRESUME (vmx_enter.S) and decode each VM exit into the neutral struct
 * exit_info that the core's handlers read.
 */
#include <asm/vmx.h>
#include <asm/x86.h>
#include <lib/printk.h>
#include <lib/string.h>
#include "../decode.h"
#include "../exits.h"
#include "../policy.h"
#include "../stats.h"
#include "../vmm.h"
#include "vmx.h"

void vmx_field_failed(const char *insn, uint32_t field)
{
	uint64_t error = 0;

	/* Not vmread(): it would come back here if this failed too. */
	__asm__ volatile("vmread %1, %0" : "=rm"(error) : "r"((uint64_t)VM_INSTRUCTION_ERROR) : "cc");
	panic("%s of VMCS field 0x%x failed: %s", insn, field, vmx_error_name(error));
}

static bool vmx_detect(void)
{
	return cpuid(1, 0).ecx & CPUID_1_ECX_VMX;
}

/* The capability MSR that says which bits of a control field may be 1. */
static uint32_t allowed1(enum policy_field field)
{
	bool true_ctls = rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS;

	switch (field) {
	case FIELD_VMX_PIN:
		return rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS) >> 32;
	case FIELD_VMX_PROC:
		return rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS) >> 32;
	case FIELD_VMX_PROC2:
		if (!(allowed1(FIELD_VMX_PROC) & CPU_BASED_ACTIVATE_SECONDARY))
			return 0;
		return rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;
	case FIELD_VMX_EXIT:
		return rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS) >> 32;
	case FIELD_VMX_ENTRY:
		return rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS) >> 32;
	default:
		return 0;
	}
}

/* Every control the policy asks for must be one this CPU has (SDM A.3-A.5),
 * and its EPT must do what ept.c builds (SDM A.10). Checked for each vCPU,
 * since each may run its own policy. */
static int check_capabilities(const struct policy *p)
{
	for (unsigned i = 0; i < p->vmx_requirement_count; i++) {
		const struct policy_requirement *r = &p->vmx_requirements[i];
		if (!(allowed1(r->field) & r->bit)) {
			policy_lacks(r);
			return -1;
		}
	}
	if (!(p->vmx->proc_based2 & SECONDARY_ENABLE_EPT))
		return 0;
	if (!(allowed1(FIELD_VMX_PROC2) & SECONDARY_ENABLE_EPT)) {
		printk("this CPU lacks EPT (SECONDARY_ENABLE_EPT)\n");
		return -1;
	}
	/* The EPT capability MSR exists only on CPUs with EPT or VPID (SDM A.10). */
	if (~rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) & (EPT_CAP_WALK_4 | EPT_CAP_WB | EPT_CAP_2MB_PAGES)) {
		printk("this CPU's EPT lacks 4-level walks, write-back tables or 2 MiB pages\n");
		return -1;
	}
	return 0;
}

/* SDM 24.7 "Enabling and entering VMX operation": IA32_FEATURE_CONTROL must
 * allow VMXON outside SMX and be locked (the BIOS usually does it; if it
 * did not, we do), then CR4.VMXE. */
static int enable_feature_control(void)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		fc |= FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX;
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
	}
	if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
		printk("VMX is disabled by the firmware (IA32_FEATURE_CONTROL is locked without VMXON outside SMX)\n");
		return -1;
	}
	return 0;
}

/* SDM 24.8 "Restrictions on VMX operation": in VMX operation CR0 and CR4
 * must keep the bits that IA32_VMX_CR0/CR4_FIXED0 say are 1 set (CR0.NE,
 * CR4.VMXE) and those that FIXED1 say are 0 clear (SDM A.7, A.8).
 * We also turn the caches on (CR0.CD and NW clear, SDM 12.5.3): VM entries
 * and exits never change CD and NW (SDM 27.3.2.1, 28.5.1), so the guest
 * starts with ours. */
static void fix_control_registers(void)
{
	uint64_t cr0 = read_cr0() & ~(uint64_t)(CR0_CD | CR0_NW);

	write_cr0((cr0 | rdmsr(MSR_IA32_VMX_CR0_FIXED0)) & rdmsr(MSR_IA32_VMX_CR0_FIXED1));
	write_cr4((read_cr4() | rdmsr(MSR_IA32_VMX_CR4_FIXED0)) & rdmsr(MSR_IA32_VMX_CR4_FIXED1));
}

/* SDM 25.11.5 "VMXON region": a page starting with the VMCS revision
 * identifier from IA32_VMX_BASIC (SDM A.1); VMXON enters VMX root
 * operation (SDM Vol. 2, "VMXON"). */
static int vmx_on(void)
{
	uint32_t *region = page_alloc(1);

	region[0] = rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK;
	if (!vmxon((uint64_t)region)) {
		printk("VMXON failed\n");
		return -1;
	}
	return 0;
}

static int vmx_init(void)
{
	if (enable_feature_control())
		return -1;
	fix_control_registers();
	if (vmx_on())
		return -1;
	printk("VMX: VMCS revision %u, EPT, unrestricted guest%s\n",
	       (uint32_t)(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK),
	       rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS ? ", TRUE_* control MSRs" : "");
	return 0;
}

/*
 * The second guest's exception-or-NMI exits (SDM appendix C, reason 0). An
 * NMI there (interruption type 2, SDM 25.9.2) came from another CPU (see
 * vmcs.c): dropped, counted, reported at the machine's end. The exit
 * happened between two instructions, the guest's state is the one before
 * the NMI: resuming it is all there is to do; an event whose delivery the
 * NMI interrupted is delivered again at the entry (IDT-vectoring
 * information, reinject_interrupted_event). Exceptions go to the policy's
 * handler as for any guest.
 */
static int guest2_exception(struct vcpu *v)
{
	struct vmx_vcpu *vmx = v->arch;

	if ((vmread(VM_EXIT_INTR_INFO) & INTR_TYPE_MASK) != INTR_TYPE_NMI)
		return vmx->guest2_exceptions(v);
	v->guest->nmis_ignored++;
	return EXIT_RESUME;
}

static int vmx_create(struct vcpu *v, uint64_t cs_base)
{
	if (check_capabilities(v->policy))
		return -1;

	struct vmx_vcpu *vmx = page_alloc((sizeof(struct vmx_vcpu) + PAGE_SIZE - 1) / PAGE_SIZE);

	memset(&v->regs, 0, sizeof(v->regs));
	v->arch = vmx;				/* not launched, no entry error */
	if (v->guest->second) {
		uint32_t slot = stats_slot(EXIT_REASON_EXCEPTION_NMI);
		vmx->guest2_exceptions = v->handlers[slot];
		v->handlers[slot] = guest2_exception;
	}
	return vmcs_create(vmx->vmcs, v, cs_base);	/* and current: VMREAD/VMWRITE use it */
}

/* Decode the VM exit into neutral terms (SDM 28.2 "Recording VM-exit
 * information", appendix C for the reasons). The fields of one kind of exit
 * (gpa, io, msr, cr, vector) are filled in for that kind only: clearing
 * them on every exit would cost more than all the rest. */
static void decode_exit(struct vcpu *v)
{
	struct exit_info *e = &v->exit;
	uint32_t reason = (uint32_t)vmread(VM_EXIT_REASON);
	uint64_t q = vmread(EXIT_QUALIFICATION);

	e->code = reason & 0xffff;		/* the basic exit reason */
	e->entry_failed = reason & VMX_EXIT_REASON_ENTRY_FAILURE;
	e->qualification = q;
	e->rip = vmread(GUEST_RIP);

	switch (e->code) {
	case EXIT_REASON_IO_INSTRUCTION:	/* SDM table 28-5 */
		e->io.port = IO_QUAL_PORT(q);
		e->io.size = IO_QUAL_SIZE(q);
		e->io.in = q & IO_QUAL_IN;
		e->io.string = q & IO_QUAL_STRING;
		e->io.rep = q & IO_QUAL_REP;
		break;
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		e->msr.index = (uint32_t)v->regs.rcx;
		e->msr.write = e->code == EXIT_REASON_MSR_WRITE;
		break;
	case EXIT_REASON_CR_ACCESS:		/* SDM table 28-3 */
		e->cr.cr = CR_QUAL_CR(q);
		e->cr.write = CR_QUAL_TYPE(q) != CR_TYPE_MOV_FROM_CR;	/* CLTS, LMSW write CR0 */
		e->cr.gpr = CR_QUAL_TYPE(q) <= CR_TYPE_MOV_FROM_CR ? (int)CR_QUAL_GPR(q) : -1;
		break;
	case EXIT_REASON_EXCEPTION_NMI: {	/* SDM 25.9.2 */
		uint32_t info = (uint32_t)vmread(VM_EXIT_INTR_INFO);
		e->vector = INTR_INFO_VECTOR(info);
		e->error_code = 0;
		if (info & INTR_INFO_DELIVER_CODE)
			e->error_code = (uint32_t)vmread(VM_EXIT_INTR_ERROR_CODE);
		break;
	}
	case EXIT_REASON_EPT_VIOLATION:		/* SDM 28.2.1, table 28-7 */
	case EXIT_REASON_EPT_MISCONFIG:
		e->gpa = vmread(GUEST_PHYSICAL_ADDRESS);
		e->gpa_write = e->code == EXIT_REASON_EPT_VIOLATION && (q & 2);	/* a data write */
		/* bit 7: a linear address was translated; bit 8 clear: the
		 * access was to one of its paging-structure entries */
		e->gpa_walk = e->code == EXIT_REASON_EPT_VIOLATION && (q & 0x80) && !(q & 0x100);
		e->gpa_fetch = e->code == EXIT_REASON_EPT_VIOLATION && (q & 4);	/* bit 2 */
		e->gpa_event = vmread(IDT_VECTORING_INFO_FIELD) & INTR_INFO_VALID;	/* SDM 28.2.4 */
		break;
	}
}

/* VMLAUNCH or VMRESUME failed before the guest ran (SDM 31.2, 27.1-27.2).
 * Cold and out of line: inlined, it would make vmx_run keep `how` in a
 * callee-saved register, a push and a pop on every exit. */
static __attribute__((cold, noinline)) void entry_failed(struct vcpu *v, int how)
{
	struct vmx_vcpu *vmx = v->arch;
	struct exit_info *e = &v->exit;
	static char name[128];
	bool resume = how & VMX_ENTER_RESUME;

	if (!resume)
		vmx->launched = false;	/* VMLAUNCH failed: the VMCS is still clear (first_entry) */
	memset(e, 0, sizeof(*e));
	e->code = VMX_EXIT_VMFAIL;	/* not 0, EXCEPTION_NMI: that may be the policy's */
	e->entry_failed = true;
	e->cr.gpr = -1;
	if ((how & ~VMX_ENTER_RESUME) == VMX_ENTER_FAIL_INVALID) {
		e->failure = "VMfailInvalid: no current VMCS";
		return;
	}
	vmx->entry_error = vmread(VM_INSTRUCTION_ERROR);
	snprintf(name, sizeof(name), "%s: VM-instruction error %lu, %s",
		 resume ? "VMRESUME" : "VMLAUNCH", vmx->entry_error, vmx_error_name(vmx->entry_error));
	e->failure = name;
}

/*
 * A VM exit can interrupt the delivery of an event through the guest's IDT
 * (an interrupt, an exception): the IDT-vectoring information says which
 * (SDM 28.2.4). Unless the handler injected something itself, we deliver
 * that event again at the next entry, or the guest would lose it.
 */
static void reinject_interrupted_event(void)
{
	uint32_t info = (uint32_t)vmread(IDT_VECTORING_INFO_FIELD);

	if (!(info & INTR_INFO_VALID) || (vmread(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID))
		return;
	if (info & INTR_INFO_DELIVER_CODE)
		vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, vmread(IDT_VECTORING_ERROR_CODE));
	vmwrite(VM_ENTRY_INSTRUCTION_LEN, vmread(VM_EXIT_INSTRUCTION_LEN));	/* software events */
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, info & ~(1u << 12));	/* bit 12 is undefined here */
}

/*
 * The vCPU starts running on this CPU: its VMCS must be the current one
 * (struct vmx_vcpu's rule, vmx.h). It counts as launched from here on:
 * set after the VMLAUNCH, it would cost every exit a store, or a register
 * kept across vmx_enter; a VMLAUNCH that fails sets it back (entry_failed).
 * Cold: once per vCPU.
 */
static __attribute__((cold, noinline)) void first_entry(struct vmx_vcpu *vmx)
{
	if (!vmptrld((uint64_t)vmx->vmcs))
		panic("VMPTRLD of the vCPU's VMCS failed");
	vmx->launched = true;
}

static void vmx_run(struct vcpu *v)
{
	struct vmx_vcpu *vmx = v->arch;
	bool launched = vmx->launched;

	if (__builtin_expect(launched, 1))	/* the straight path: every entry but the first */
		reinject_interrupted_event();
	else
		first_entry(vmx);
	int how = vmx_enter(&v->regs, launched);	/* RSP too: it goes through GUEST_RSP */
	if (__builtin_expect(how != VMX_ENTER_EXITED, 0)) {	/* rare: off the straight path */
		entry_failed(v, how);
		return;
	}
	decode_exit(v);
}

/*
 * Past the instruction that exited (SDM 28.2.5: VM_EXIT_INSTRUCTION_LEN).
 * Like the CPU completing it, this ends blocking by STI or MOV SS. And if
 * the guest runs with RFLAGS.TF, the CPU would now raise the single-step
 * #DB (DR6.BS, SDM 18.3.1.4), unless IA32_DEBUGCTL.BTF makes TF step
 * branches only: we leave it pending in the VMCS (SDM 25.4.2), and VM
 * entry delivers it, setting DR6.BS, before the guest's next instruction
 * (SDM 27.7.3). Pending, it also merges with a #DB the guest already had
 * pending (a data breakpoint on a MOV SS before): one #DB, as on the CPU.
 */
static inline __attribute__((always_inline)) void skip_to(uint64_t rip)
{
	uint64_t blocking = vmread(GUEST_INTERRUPTIBILITY_INFO);

	vmwrite(GUEST_RIP, rip);
	if (blocking & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmwrite(GUEST_INTERRUPTIBILITY_INFO, blocking &
			~(uint64_t)(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
	if (__builtin_expect(vmread(GUEST_RFLAGS) & RFLAGS_TF, 0) &&
	    !(vmread(GUEST_IA32_DEBUGCTL) & DEBUGCTL_BTF))
		vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, vmread(GUEST_PENDING_DBG_EXCEPTIONS) | DR6_BS);
}

static void vmx_skip(struct vcpu *v)
{
	skip_to(v->exit.rip + vmread(VM_EXIT_INSTRUCTION_LEN));
}

/* The same for an instruction lvisor decoded (vmm/decode.c): an EPT
 * violation's, for which the SDM leaves VM_EXIT_INSTRUCTION_LEN undefined
 * (28.2.5). */
static void vmx_skip_len(struct vcpu *v, unsigned len)
{
	skip_to(v->exit.rip + len);
}

/* The guest's code for vmm/decode.c (SDM 3.6, 25.4.1: CS's access rights,
 * L in bit 13, D/B in bit 14): 64-bit mode with EFER.LMA and CS.L; else
 * 16-bit in real and virtual-8086 mode, CS.D in protected mode. */
static void vmx_code_mode(struct vcpu *v, struct code_mode *m)
{
	uint32_t ar = vmread(GUEST_CS_AR_BYTES);

	(void)v;
	m->long64 = (vmread(GUEST_IA32_EFER) & EFER_LMA) && (ar & (1u << 13));
	m->linear_rip = (m->long64 ? 0 : vmread(GUEST_CS_BASE)) + vmread(GUEST_RIP);
	if (m->long64) {
		m->op = 4;
		m->addr = 8;
	} else if (!(cr_guest(0) & CR0_PE) || (vmread(GUEST_RFLAGS) & RFLAGS_VM) || !(ar & (1u << 14))) {
		m->op = m->addr = 2;
	} else {
		m->op = m->addr = 4;
	}
}

/* Event injection (SDM 27.6): an exception, delivered at the next VM
 * entry. #BP and #OF are software exceptions, raised by INT3 and INTO:
 * the CPU pushes the address after the instruction that exited, whose
 * length the exit recorded (SDM 28.2.5, 27.6.1.1). In real mode there are
 * no error codes (SDM 27.2.1.3). */
static void vmx_inject(struct vcpu *v, int vector, bool has_error, uint32_t error)
{
	uint32_t info = (uint32_t)vector | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID;

	/* An NMI that came into lvisor during this exit is queued already
	 * (vmx_queue_nmi): it goes first, as the CPU takes an NMI before the
	 * fault of the next instruction (SDM 6.9). The guest's RIP still
	 * points at the instruction that exited: after its NMI handler it runs
	 * again and exits again, and then gets this exception. (Not so a
	 * trap-like #DB, which follows an instruction already done: that one
	 * is lost, a rare price for not looking at NMIs on every exit.) */
	if ((vmread(VM_ENTRY_INTR_INFO_FIELD) & (INTR_INFO_VALID | INTR_TYPE_MASK)) ==
	    (INTR_INFO_VALID | INTR_TYPE_NMI))
		return;
	if (vector == VEC_BP || vector == VEC_OF) {
		info = (uint32_t)vector | INTR_TYPE_SOFT_EXCEPTION | INTR_INFO_VALID;
		vmwrite(VM_ENTRY_INSTRUCTION_LEN, vmread(VM_EXIT_INSTRUCTION_LEN));
	}
	/* A #DB that exits leaves DR6 as it was and puts the bits it would
	 * have set there into the exit qualification (SDM 28.1, table 28-1):
	 * they go to DR6, where the guest's handler looks (the guest's DR6 is
	 * the CPU's: the VMCS has no field for it). */
	if (vector == VEC_DB && v->exit.code == EXIT_REASON_EXCEPTION_NMI && v->exit.vector == VEC_DB)
		write_dr6((read_dr6() & ~DR6_EXIT_BITS) | (v->exit.qualification & DR6_EXIT_BITS));

	if (has_error && (cr_guest(0) & CR0_PE)) {
		info |= INTR_INFO_DELIVER_CODE;
		vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	}
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, info);
}

/*
 * lvisor's NMI handler (vmm/trap.c) hands an NMI on to the guest: an NMI
 * in the VM-entry interruption-information field (type 2, SDM 25.8.3),
 * delivered at the next entry. Only when nothing else is to be delivered:
 * not while the field holds an event already, nor while the exit
 * interrupted the delivery of one (reinject_interrupted_event() will put
 * it there), nor while the guest blocks NMIs or sits in a MOV SS or STI
 * shadow, where VM entry would refuse an NMI (SDM 27.3.1.5). The VMCS is
 * v's: it is current on its CPU (struct vmx_vcpu's rule, vmx.h).
 */
static bool vmx_queue_nmi(struct vcpu *v)
{
	struct vmx_vcpu *vmx = v->arch;
	uint64_t blocking = vmread(GUEST_INTERRUPTIBILITY_INFO);

	if ((vmread(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID) ||
	    (vmx->launched && (vmread(IDT_VECTORING_INFO_FIELD) & INTR_INFO_VALID)) ||
	    (blocking & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS | GUEST_INTR_STATE_NMI)))
		return false;
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, VEC_NMI | INTR_TYPE_NMI | INTR_INFO_VALID);
	return true;
}

static uint64_t vmx_rip(struct vcpu *v) { (void)v; return vmread(GUEST_RIP); }
static void vmx_set_rip(struct vcpu *v, uint64_t rip) { (void)v; vmwrite(GUEST_RIP, rip); }
static uint64_t vmx_rflags(struct vcpu *v) { (void)v; return vmread(GUEST_RFLAGS); }
static uint64_t vmx_cr(struct vcpu *v, int n) { (void)v; return cr_guest(n); }
static bool vmx_set_cr(struct vcpu *v, int n, uint64_t val) { return cr_set_guest(v->guest, n, val); }
static uint64_t vmx_efer(struct vcpu *v) { (void)v; return vmread(GUEST_IA32_EFER); }

/* WRMSR to EFER: LMA is the CPU's to change, with CR0.PG (SDM 10.8.5). */
static void vmx_set_efer(struct vcpu *v, uint64_t val)
{
	uint64_t lma = vmread(GUEST_IA32_EFER) & EFER_LMA;
	(void)v;
	vmwrite(GUEST_IA32_EFER, (val & ~(uint64_t)EFER_LMA) | lma);
}

/* The guest's PAT lives in the VMCS: loaded at entry, saved at exit
 * (VM_ENTRY_LOAD_PAT, VM_EXIT_SAVE_PAT; SDM 25.4.1). */
static uint64_t vmx_pat(struct vcpu *v) { (void)v; return vmread(GUEST_IA32_PAT); }
static void vmx_set_pat(struct vcpu *v, uint64_t val) { (void)v; vmwrite(GUEST_IA32_PAT, val); }

static void vmx_segment(struct vcpu *v, enum seg s, struct segment *out)
{
	(void)v;
	out->selector = vmread(GUEST_ES_SELECTOR + 2 * s);
	out->limit = vmread(GUEST_ES_LIMIT + 2 * s);
	out->base = vmread(GUEST_ES_BASE + 2 * s);
	out->attrib = vmread(GUEST_ES_AR_BYTES + 2 * s);
}

/* SYSCALL and SYSRET done by lvisor (vmm/syscall.c): the access rights
 * hold descriptor bits 52-55 in bits 12-15 (SDM 25.4.1, table 25-2); the
 * CPL is SS.DPL (SDM 25.4.1). Blocking by STI or MOV SS ends, as after
 * any instruction (VM entry would refuse STI blocking with IF clear, SDM
 * 27.3.1.5). */
static uint32_t vmx_ar(uint32_t attrib)
{
	return (attrib & 0xff) | (attrib & 0xf00) << 4;
}

/* The single-step #DB as skip_to() gives it (SDM 18.3.1.4), but for the
 * TF that SYSCALL or SYSRET leave, not the one before: SYSCALL's FMASK
 * clearing TF keeps a user's TF from trapping at the kernel's entry,
 * before it has its own stack (the SDM does not say so; the CPUs do);
 * SYSRET with TF in R11 traps right after. */
static void vmx_far_transfer(struct vcpu *v, const struct segment *cs, const struct segment *ss,
			     uint64_t rip, uint64_t rflags)
{
	uint64_t blocking = vmread(GUEST_INTERRUPTIBILITY_INFO);

	if ((rflags & RFLAGS_TF) && !(vmread(GUEST_IA32_DEBUGCTL) & DEBUGCTL_BTF))
		vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, vmread(GUEST_PENDING_DBG_EXCEPTIONS) | DR6_BS);

	(void)v;
	vmwrite(GUEST_CS_SELECTOR, cs->selector);
	vmwrite(GUEST_CS_BASE, cs->base);
	vmwrite(GUEST_CS_LIMIT, cs->limit);
	vmwrite(GUEST_CS_AR_BYTES, vmx_ar(cs->attrib));
	vmwrite(GUEST_SS_SELECTOR, ss->selector);
	vmwrite(GUEST_SS_BASE, ss->base);
	vmwrite(GUEST_SS_LIMIT, ss->limit);
	vmwrite(GUEST_SS_AR_BYTES, vmx_ar(ss->attrib));
	vmwrite(GUEST_RIP, rip);
	vmwrite(GUEST_RFLAGS, rflags);
	if (blocking & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmwrite(GUEST_INTERRUPTIBILITY_INFO, blocking &
			~(uint64_t)(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
}

static unsigned vmx_cpl(struct vcpu *v)
{
	(void)v;
	return (vmread(GUEST_SS_AR_BYTES) >> 5) & 3;
}

static void vmx_dump_extra(struct vcpu *v)
{
	struct vmx_vcpu *vmx = v->arch;

	printk("  VMX: exit reason 0x%lx qualification 0x%lx guest-physical 0x%lx\n",
	       vmread(VM_EXIT_REASON), vmread(EXIT_QUALIFICATION), vmread(GUEST_PHYSICAL_ADDRESS));
	printk("  VMX: interruption info 0x%lx error 0x%lx, IDT vectoring 0x%lx, instruction length %lu\n",
	       vmread(VM_EXIT_INTR_INFO), vmread(VM_EXIT_INTR_ERROR_CODE),
	       vmread(IDT_VECTORING_INFO_FIELD), vmread(VM_EXIT_INSTRUCTION_LEN));
	printk("  VMX: cr0 real %lx shadow %lx mask %lx, cr4 real %lx shadow %lx mask %lx, entry controls %lx\n",
	       vmread(GUEST_CR0), vmread(CR0_READ_SHADOW), vmread(CR0_GUEST_HOST_MASK),
	       vmread(GUEST_CR4), vmread(CR4_READ_SHADOW), vmread(CR4_GUEST_HOST_MASK),
	       vmread(VM_ENTRY_CONTROLS));
	if (vmx->entry_error)
		printk("  VMX: VM-instruction error %lu (%s)\n", vmx->entry_error, vmx_error_name(vmx->entry_error));
}

static const exit_handler_t *vmx_policy_exits(const struct policy *p)
{
	return p->vmx_exits;
}

const struct backend vmx_backend = {
	.name = "Intel VMX",
	.exits = vmx_policy_exits,
	.io_exit = EXIT_REASON_IO_INSTRUCTION,
	.nexits = VMX_EXIT_NR,
	.hex_reasons = false,
	.init_exit_consumes = true,
	.detect = vmx_detect,
	.init = vmx_init,
	.create = vmx_create,
	.run = vmx_run,
	.exit_name = vmx_exit_name,
	.rip = vmx_rip,
	.set_rip = vmx_set_rip,
	.skip = vmx_skip,
	.inject = vmx_inject,
	.cr = vmx_cr,
	.set_cr = vmx_set_cr,
	.efer = vmx_efer,
	.set_efer = vmx_set_efer,
	.pat = vmx_pat,
	.set_pat = vmx_set_pat,
	.rflags = vmx_rflags,
	.segment = vmx_segment,
	.dump_extra = vmx_dump_extra,
	.queue_nmi = vmx_queue_nmi,
	.decode_mmio = mmio_decode,
	.code_mode = vmx_code_mode,
	.skip_len = vmx_skip_len,
	.far_transfer = vmx_far_transfer,
	.cpl = vmx_cpl,
};
