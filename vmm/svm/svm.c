/*
 * The AMD SVM backend (APM Vol. 2, chapter 15): enable SVM, build the VMCB
 * from the policy, run the guest with VMRUN and decode each #VMEXIT into
 * the neutral struct exit_info that the core's handlers read.
 */
#include <asm/svm.h>
#include <asm/x86.h>
#include <lib/printk.h>
#include <lib/string.h>
#include "../decode.h"
#include "../policy.h"
#include "../vmm.h"
#include "svm.h"

/* The CPU's, not a guest's: the same for every vCPU on it (and on every
 * CPU of the machine). Each vCPU's state is its struct svm_vcpu (svm.h). */
static bool has_nrips;	/* CPUID Fn8000_000A EDX[3]: VMCB.next_rip is filled */

static bool svm_detect(void)
{
	return cpuid(0x80000000, 0).eax >= 0x8000000a &&
	       (cpuid(0x80000001, 0).ecx & CPUID_80000001_ECX_SVM);
}

/* APM 15.4 "Enabling SVM": VM_CR.SVMDIS clear, then EFER.SVME; and a host
 * save area for VMRUN to keep our state in (APM 15.30.4, VM_HSAVE_PA).
 * Both are the CPU's own: a second CPU would do this too. */
static int svm_init(void)
{
	uint32_t features = cpuid(0x8000000a, 0).edx;

	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		printk("SVM is disabled by the firmware (VM_CR.SVMDIS)\n");
		return -1;
	}
	if (!(features & SVM_FEATURE_NPT)) {
		printk("this CPU has SVM without nested paging, which lvisor needs\n");
		return -1;
	}
	has_nrips = features & SVM_FEATURE_NRIPS;
	svm_exit_names_init();
	printk("SVM: nested paging, %s\n", has_nrips ? "nRIP save" : "no nRIP save (lvisor decodes instruction lengths)");
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, (uint64_t)page_alloc(1));
	return 0;
}

/* Every feature a policy's rules need (CPUID Fn8000_000A EDX, APM E.4.9):
 * checked for each vCPU, since each may run its own policy. */
static int check_requirements(const struct policy *p)
{
	uint32_t features = cpuid(0x8000000a, 0).edx;

	for (unsigned i = 0; i < p->svm_requirement_count; i++) {
		const struct policy_requirement *r = &p->svm_requirements[i];
		if (!(features & r->bit)) {
			policy_lacks(r);
			return -1;
		}
	}
	return 0;
}

/* I/O permission map (APM 15.10.1): one bit per port, set = intercept,
 * 12 KiB so that an access at 0xffff that wraps is covered too. Every port
 * is intercepted but those the policy grants (deny by default). */
static uint64_t build_iopm(const struct vcpu *v)
{
	uint8_t *iopm = page_alloc(SVM_IOPM_SIZE / PAGE_SIZE);

	memset(iopm, 0xff, SVM_IOPM_SIZE);
	for (unsigned i = 0; i < v->io_grant_count; i++)	/* the policy's; with two guests, vmm/devices.c's */
		for (uint32_t port = v->io_grants[i].first; port <= v->io_grants[i].last; port++)
			iopm[port / 8] &= ~(1 << (port % 8));
	return (uint64_t)iopm;
}

/* MSR permission map (APM 15.11): two bits per MSR (read, write) in three
 * 2 KiB ranges, set = intercept; MSRs outside them always exit. Every MSR
 * is intercepted but those the policy grants. */
static uint64_t build_msrpm(const struct policy *p)
{
	static const struct { uint32_t first, offset; } ranges[] = {
		{ 0x00000000, 0x0000 }, { 0xc0000000, 0x0800 }, { 0xc0010000, 0x1000 },
	};
	uint8_t *msrpm = page_alloc(SVM_MSRPM_SIZE / PAGE_SIZE);

	memset(msrpm, 0xff, SVM_MSRPM_SIZE);
	for (unsigned i = 0; i < p->msr_grant_count; i++) {
		const struct policy_msr_grant *g = &p->msr_grants[i];
		for (uint64_t msr = g->first; msr <= g->last; msr++) {
			for (unsigned r = 0; r < 3; r++) {
				if (msr < ranges[r].first || msr >= ranges[r].first + 0x2000)
					continue;
				uint32_t bit = (uint32_t)(msr - ranges[r].first) * 2;
				uint8_t *byte = &msrpm[ranges[r].offset + bit / 8];
				if (g->dirs & POLICY_READ)
					*byte &= ~(1 << (bit % 8));
				if (g->dirs & POLICY_WRITE)
					*byte &= ~(1 << (bit % 8 + 1));
			}
		}
	}
	return (uint64_t)msrpm;
}

static void real_mode_segment(struct vmcb_seg *s, uint16_t attrib)
{
	s->selector = 0;
	s->base = 0;
	s->limit = 0xffff;
	s->attrib = attrib;
}

/* Build the VMCB: intercepts from the policy, the guest in real mode as
 * after a reset (APM 14.1.3) but at IP 0 with CS base cs_base, which VMRUN
 * loads as given (APM 15.5.1; include/lvisor/handoff.h says why), nested
 * paging on. */
static int svm_create(struct vcpu *v, uint64_t cs_base)
{
	const struct policy *p = v->policy;

	if (check_requirements(p))
		return -1;

	struct svm_vcpu *svm = page_alloc((sizeof(struct svm_vcpu) + PAGE_SIZE - 1) / PAGE_SIZE);
	struct vmcb *vmcb = &svm->vmcb;

	v->arch = svm;

	struct vmcb_control *c = &vmcb->control;
	c->intercept_cr = p->svm->intercept_cr;
	c->intercept_dr = p->svm->intercept_dr;
	c->intercept_exceptions = p->svm->intercept_exceptions;
	c->intercept_misc1 = p->svm->intercept_misc1;
	c->intercept_misc2 = p->svm->intercept_misc2;
	/* The second guest's ports are the core's to decide whatever the
	 * policy says: every one but its own devices' exits (vmm/devices.c). */
	if (v->guest->second)
		c->intercept_misc1 |= SVM_INTERCEPT_IOIO_PROT;
	c->iopm_base_pa = build_iopm(v);
	c->msrpm_base_pa = build_msrpm(p);
	c->asid = 1;				/* ASID 0 belongs to the host */
	c->tlb_control = SVM_TLB_FLUSH_ALL;
	c->np_enable = 1;
	c->n_cr3 = npt_build(v->guest, v->policy);

	struct vmcb_save *s = &vmcb->save;
	real_mode_segment(&s->cs, 0x9b);	/* present, code, readable, accessed */
	s->cs.base = cs_base;
	real_mode_segment(&s->ds, 0x93);	/* present, data, writable, accessed */
	real_mode_segment(&s->es, 0x93);
	real_mode_segment(&s->ss, 0x93);
	real_mode_segment(&s->fs, 0x93);
	real_mode_segment(&s->gs, 0x93);
	real_mode_segment(&s->gdtr, 0);
	real_mode_segment(&s->idtr, 0);
	real_mode_segment(&s->ldtr, 0x82);	/* LDT */
	real_mode_segment(&s->tr, 0x8b);	/* busy TSS */
	s->cr0 = CR0_ET;
	s->efer = EFER_SVME;			/* VMRUN requires it (APM 15.5.1) */
	s->rflags = 2;
	s->rip = 0;
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->g_pat = 0x0007040600070406ull;	/* the PAT's power-on value */
	memset(&v->regs, 0, sizeof(v->regs));
	return 0;
}

/* Decode the #VMEXIT into neutral terms (APM 15.6, appendix C). The fields
 * of one kind of exit (gpa, io, msr, cr, vector) are filled in for that
 * kind only: clearing them on every exit would cost more than all the
 * rest. */
static void decode_exit(struct vcpu *v)
{
	struct vmcb *vmcb = svm_vmcb(v);
	struct vmcb_control *c = &vmcb->control;
	struct exit_info *e = &v->exit;

	e->code = (uint32_t)c->exitcode;
	e->qualification = c->exitinfo1;
	e->rip = vmcb->save.rip;
	e->entry_failed = c->exitcode == (uint64_t)SVM_EXIT_INVALID;

	switch (e->code) {
	case SVM_EXIT_IOIO:		/* APM 15.10.2, figure 15-2 */
		e->io.port = c->exitinfo1 >> SVM_IOIO_PORT_SHIFT;
		e->io.in = c->exitinfo1 & SVM_IOIO_TYPE_IN;
		e->io.string = c->exitinfo1 & SVM_IOIO_STR;
		e->io.rep = c->exitinfo1 & SVM_IOIO_REP;
		e->io.size = c->exitinfo1 & SVM_IOIO_SZ32 ? 4 : c->exitinfo1 & SVM_IOIO_SZ16 ? 2 : 1;
		break;
	case SVM_EXIT_MSR:		/* EXITINFO1: 0 = RDMSR, 1 = WRMSR */
		e->msr.index = (uint32_t)v->regs.rcx;
		e->msr.write = c->exitinfo1 & 1;
		break;
	case SVM_EXIT_NPF:		/* APM 15.25.6: EXITINFO2 the guest-physical */
		e->gpa = c->exitinfo2;	/* address, EXITINFO1 a #PF error code */
		/* a write by the instruction, not by the CPU's walk of the
		 * guest's page tables (accessed and dirty bits) */
		e->gpa_write = (c->exitinfo1 & SVM_NPF_WRITE) && !(c->exitinfo1 & SVM_NPF_GUEST_WALK);
		e->gpa_walk = c->exitinfo1 & SVM_NPF_GUEST_WALK;
		e->gpa_fetch = c->exitinfo1 & SVM_NPF_FETCH;	/* the #PF error code's I/D */
		e->gpa_event = c->exitintinfo & SVM_EVTINJ_VALID;	/* APM 15.7.2 */
		break;
	default:
		if (e->code < 0x20) {	/* CR access; the GPR is known with decode assists */
			e->cr.cr = e->code & 15;
			e->cr.write = e->code >= 0x10;
			e->cr.gpr = c->exitinfo1 & (1ull << 63) ? (int)(c->exitinfo1 & 15) : -1;
		} else if (e->code >= 0x40 && e->code < 0x60) {
			e->vector = e->code - 0x40;
			e->error_code = (uint32_t)c->exitinfo1;
		}
	}
}

static void svm_run(struct vcpu *v)
{
	struct vmcb *vmcb = svm_vmcb(v);
	struct vmcb_control *c = &vmcb->control;

	/* An exit that interrupted the delivery of an event (EXITINTINFO, APM
	 * 15.7.2), e.g. an intercepted exception while the guest's IDT was
	 * being read: unless the handler injected an event itself, deliver
	 * the interrupted one again (EVENTINJ has the same format). */
	if (!(c->eventinj & SVM_EVTINJ_VALID) && (c->exitintinfo & SVM_EVTINJ_VALID))
		c->eventinj = c->exitintinfo;
	vmcb->save.rax = v->regs.rax;
	vmcb->save.rsp = v->regs.rsp;
	svm_enter(&v->regs, (uint64_t)vmcb);
	v->regs.rax = vmcb->save.rax;
	v->regs.rsp = vmcb->save.rsp;
	c->tlb_control = SVM_TLB_FLUSH_NOTHING;
	decode_exit(v);
	/* The guest's TLB entries carry its ASID and survive VMRUN (APM
	 * 15.16): an intercepted INVLPG, whatever its handler does, flushes
	 * them at the next VMRUN. (EXITINFO1 has its address only with decode
	 * assists, so all of them.) */
	if (v->exit.code == SVM_EXIT_INVLPG)
		c->tlb_control = SVM_TLB_FLUSH_ALL;
}

/*
 * Advance RIP past the instruction that exited. For IOIO, EXITINFO2 is the
 * next RIP (APM 15.10.2); with nRIP save the CPU tells us where the next
 * instruction starts, for the instruction intercepts; without it (QEMU's
 * TCG), and for #BP and #OF, whose intercepts never save nRIP, we decode
 * the instruction's length (decode.c): the guest may have prefixed it. So
 * for a nested page fault on a load or store that lvisor carried out (the
 * local APIC's page, vmm/apic.c; the I/O APIC's, vmm/ioapic.c): nRIP is saved for instruction intercepts
 * only (APM 15.7.1). An
 * instruction completed this way also ends the interrupt shadow of a
 * preceding STI or MOV SS (APM 15.21.5).
 */
static void svm_advance(struct vcpu *v)
{
	struct vmcb *vmcb = svm_vmcb(v);
	struct vmcb_control *c = &vmcb->control;
	uint32_t code = v->exit.code;
	const char *why;
	unsigned len;

	c->interrupt_shadow &= ~1ull;
	if (code == SVM_EXIT_IOIO) {
		vmcb->save.rip = c->exitinfo2;
	} else if (has_nrips && code != SVM_EXIT_EXCP(VEC_BP) && code != SVM_EXIT_EXCP(VEC_OF) &&
		   code != SVM_EXIT_NPF) {
		vmcb->save.rip = c->next_rip;
	} else if ((len = svm_insn_length(v, vmcb, &why))) {
		vmcb->save.rip += len;
	} else {
		printk("cannot tell the length of the instruction behind exit %s at rip 0x%lx: %s\n",
		       svm_exit_name(code), vmcb->save.rip, why);
		vcpu_dump(v);
		vmm_stop(false);
	}
}

/*
 * The instruction that exited, completed by a handler. If the guest runs
 * with RFLAGS.TF, the CPU would now raise the single-step #DB, a trap, with
 * DR6.BS set (SDM 18.3.1.4, APM 13.1.1.3); unless IA32_DEBUGCTL.BTF makes
 * TF step branches only, which these instructions are not. The guest's
 * DEBUGCTL is the CPU's (no LBR virtualization); the VMCB holds DR6.
 */
static inline __attribute__((always_inline)) void single_step(struct vmcb *vmcb)
{
	uint64_t debugctl;

	if (__builtin_expect(!(vmcb->save.rflags & RFLAGS_TF), 1))
		return;
	if (!rdmsr_safe(MSR_IA32_DEBUGCTL, &debugctl) && (debugctl & DEBUGCTL_BTF))
		return;
	vmcb->save.dr6 |= DR6_BS;
	vmcb->control.eventinj = VEC_DB | SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID;
}

static void svm_skip(struct vcpu *v)
{
	svm_advance(v);
	single_step(svm_vmcb(v));
}

/* The same for an instruction lvisor decoded (vmm/decode.c): its length
 * known, RIP past it, the interrupt shadow ended. */
static void svm_skip_len(struct vcpu *v, unsigned len)
{
	struct vmcb *vmcb = svm_vmcb(v);

	vmcb->control.interrupt_shadow &= ~1ull;
	vmcb->save.rip += len;
	single_step(vmcb);
}

/* EVENTINJ (APM 15.20): the exception is delivered at the next VMRUN.
 * #BP and #OF are traps: the guest returns after the instruction that
 * raised them, so RIP moves past it first. Real mode pushes no error code
 * (SDM 6.13). */
static void svm_inject(struct vcpu *v, int vector, bool has_error, uint32_t error)
{
	struct vmcb *vmcb = svm_vmcb(v);

	if (vector == VEC_BP || vector == VEC_OF)
		svm_advance(v);		/* INT3 and INTO clear TF: no single step */
	if (!(vmcb->save.cr0 & CR0_PE))
		has_error = false;
	vmcb->control.eventinj = (uint64_t)vector | SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID |
				 (has_error ? SVM_EVTINJ_VALID_ERR | (uint64_t)error << 32 : 0);
}

static uint64_t svm_rip(struct vcpu *v) { return svm_vmcb(v)->save.rip; }
static void svm_set_rip(struct vcpu *v, uint64_t rip) { svm_vmcb(v)->save.rip = rip; }
static uint64_t svm_rflags(struct vcpu *v) { return svm_vmcb(v)->save.rflags; }
static uint64_t svm_efer(struct vcpu *v) { return svm_vmcb(v)->save.efer; }

/* WRMSR to EFER: LMA is the CPU's to change, with CR0.PG (APM 3.1.7); SVME
 * stays set for VMRUN (APM 15.5.1). */
static void svm_set_efer(struct vcpu *v, uint64_t val)
{
	struct vmcb *vmcb = svm_vmcb(v);

	vmcb->save.efer = (val & ~(uint64_t)EFER_LMA) | (vmcb->save.efer & EFER_LMA) | EFER_SVME;
}

/* With nested paging the guest's PAT is the VMCB's G_PAT, which the CPU
 * uses for the guest's page tables (APM 15.25.8); the PAT MSR itself stays
 * lvisor's, so the guest's RDMSR/WRMSR of it are intercepted. */
static uint64_t svm_pat(struct vcpu *v) { return svm_vmcb(v)->save.g_pat; }
static void svm_set_pat(struct vcpu *v, uint64_t val) { svm_vmcb(v)->save.g_pat = val; }

static uint64_t svm_cr(struct vcpu *v, int n)
{
	struct vmcb *vmcb = svm_vmcb(v);

	switch (n) {
	case 0: return vmcb->save.cr0;
	case 2: return vmcb->save.cr2;
	case 3: return vmcb->save.cr3;
	case 4: return vmcb->save.cr4;
	case 8: return read_cr8();	/* the TPR: the guest's is the CPU's (no V_INTR_MASKING) */
	default: return 0;
	}
}

/* A handler changing the guest's CRn: as MOV to CRn would, LMA follows
 * CR0.PG while EFER.LME is set (APM 14.6.1), and the guest's TLB entries,
 * which survive VMRUN under its ASID, are flushed at the next VMRUN. The
 * checks that would #GP are the ones VMRUN would otherwise fail on (APM
 * 15.5.1): cr0_write_faults(), and long mode without PAE in CR4. */
static bool svm_set_cr(struct vcpu *v, int n, uint64_t val)
{
	struct vmcb *vmcb = svm_vmcb(v);

	switch (n) {
	case 0:
		if (cr0_write_faults(val, vmcb->save.cr4, vmcb->save.efer))
			return false;
		if ((val & CR0_PG) && (vmcb->save.efer & EFER_LME))
			vmcb->save.efer |= EFER_LMA;
		else if (!(val & CR0_PG))
			vmcb->save.efer &= ~(uint64_t)EFER_LMA;
		vmcb->save.cr0 = val;
		break;
	case 2: vmcb->save.cr2 = val; return true;
	case 3: vmcb->save.cr3 = val; break;
	case 4:
		if ((vmcb->save.efer & EFER_LMA) && !(val & CR4_PAE))
			return false;
		vmcb->save.cr4 = val;
		break;
	case 8:
		/* The TPR, lvisor's own CR8 (no V_INTR_MASKING): bits 63:4 are
		 * reserved, MOV to CR8 with any set is #GP (APM 3.1.5). */
		if (val > 15)
			return false;
		write_cr8(val);
		return true;
	default: return false;
	}
	vmcb->control.tlb_control = SVM_TLB_FLUSH_ALL;
	return true;
}

static void svm_segment(struct vcpu *v, enum seg s, struct segment *out)
{
	static const size_t offsets[SEG_NR] = {
		[SEG_ES] = offsetof(struct vmcb_save, es), [SEG_CS] = offsetof(struct vmcb_save, cs),
		[SEG_SS] = offsetof(struct vmcb_save, ss), [SEG_DS] = offsetof(struct vmcb_save, ds),
		[SEG_FS] = offsetof(struct vmcb_save, fs), [SEG_GS] = offsetof(struct vmcb_save, gs),
		[SEG_LDTR] = offsetof(struct vmcb_save, ldtr), [SEG_TR] = offsetof(struct vmcb_save, tr),
	};
	const struct vmcb_seg *seg = (const void *)((const char *)&svm_vmcb(v)->save + offsets[s]);

	*out = (struct segment){ seg->selector, seg->limit, seg->base, seg->attrib };
}

/* SYSCALL and SYSRET done by lvisor (vmm/syscall.c): the VMCB keeps
 * segment attributes in descriptor order already (APM B.2), and the CPL
 * apart, which VMRUN loads as given (APM 15.5.1): SS.DPL's. Their
 * single-step #DB follows the TF they leave, not the one before them:
 * SYSCALL's FMASK clearing TF keeps a user's TF from trapping at the
 * kernel's entry, before it has its own stack (the manuals do not say so;
 * the CPUs do, as QEMU does); SYSRET with TF in R11 traps right after. */
static void svm_far_transfer(struct vcpu *v, const struct segment *cs, const struct segment *ss,
			     uint64_t rip, uint64_t rflags)
{
	struct vmcb *vmcb = svm_vmcb(v);

	vmcb->save.cs = (struct vmcb_seg){ cs->selector, (uint16_t)cs->attrib, cs->limit, cs->base };
	vmcb->save.ss = (struct vmcb_seg){ ss->selector, (uint16_t)ss->attrib, ss->limit, ss->base };
	vmcb->save.cpl = (ss->attrib >> 5) & 3;
	vmcb->save.rip = rip;
	vmcb->save.rflags = rflags;
	vmcb->control.interrupt_shadow &= ~1ull;
	single_step(vmcb);
}

static unsigned svm_cpl(struct vcpu *v) { return svm_vmcb(v)->save.cpl; }

static void svm_dump_extra(struct vcpu *v)
{
	struct vmcb *vmcb = svm_vmcb(v);

	printk("  SVM: exitcode 0x%lx exitinfo1 0x%lx exitinfo2 0x%lx exitintinfo 0x%lx cpl %u\n",
	       vmcb->control.exitcode, vmcb->control.exitinfo1, vmcb->control.exitinfo2,
	       vmcb->control.exitintinfo, vmcb->save.cpl);
}

static const exit_handler_t *svm_policy_exits(const struct policy *p)
{
	return p->svm_exits;
}

const struct backend svm_backend = {
	.name = "AMD SVM",
	.exits = svm_policy_exits,
	.io_exit = SVM_EXIT_IOIO,
	.nexits = SVM_EXIT_NR,
	.hex_reasons = true,
	.detect = svm_detect,
	.init = svm_init,
	.create = svm_create,
	.run = svm_run,
	.exit_name = svm_exit_name,
	.rip = svm_rip,
	.set_rip = svm_set_rip,
	.skip = svm_skip,
	.inject = svm_inject,
	.cr = svm_cr,
	.set_cr = svm_set_cr,
	.efer = svm_efer,
	.set_efer = svm_set_efer,
	.pat = svm_pat,
	.set_pat = svm_set_pat,
	.rflags = svm_rflags,
	.segment = svm_segment,
	.dump_extra = svm_dump_extra,
	.decode_mmio = mmio_decode,
	.code_mode = svm_code_mode,
	.skip_len = svm_skip_len,
	.far_transfer = svm_far_transfer,
	.cpl = svm_cpl,
	.syscall_legacy = true,
};
