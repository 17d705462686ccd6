/*
 * Build the VMCS (SDM chapter 25): the controls from the policy, adjusted
 * to what this CPU allows; the bitmaps that decide which I/O ports and
 * MSRs exit; the host state that every VM exit loads; and the guest state
 * of a CPU just out of reset, in real mode at IP 0 with CS base cs_base.
 */
#include <asm/vmx.h>
#include <asm/x86.h>
#include <lib/printk.h>
#include <lib/string.h>
#include "../policy.h"
#include "../vmm.h"
#include "vmx.h"

/*
 * SDM A.3-A.5: each control MSR says which bits may be 0 (its low half:
 * a 1 there means the bit must be 1) and which may be 1 (its high half).
 * IA32_VMX_BASIC bit 55 says the TRUE_* MSRs exist; they allow clearing
 * some "default1" bits that the older MSRs force on (SDM A.2).
 */
static uint32_t adjust(const char *what, uint32_t msr, uint32_t want, bool *ok)
{
	uint64_t cap = rdmsr(msr);
	uint32_t must_be_1 = (uint32_t)cap, may_be_1 = cap >> 32;

	if (want & ~may_be_1) {
		printk("this CPU lacks %s controls 0x%x\n", what, want & ~may_be_1);
		*ok = false;
	}
	return (want | must_be_1) & may_be_1;
}

/* I/O bitmaps A (ports 0-0x7fff) and B (0x8000-0xffff), one bit per port,
 * set = exit (SDM 25.6.4). They are contiguous here: A, then B. Every port
 * exits but those the policy grants (deny by default). */
static uint64_t build_io_bitmaps(const struct vcpu *v)
{
	uint8_t *bitmap = page_alloc(2);

	memset(bitmap, 0xff, 2 * PAGE_SIZE);
	for (unsigned i = 0; i < v->io_grant_count; i++)	/* the policy's; with two guests, vmm/devices.c's */
		for (uint32_t port = v->io_grants[i].first; port <= v->io_grants[i].last; port++)
			bitmap[port / 8] &= ~(1 << (port % 8));
	return (uint64_t)bitmap;
}

/* The MSR bitmap (SDM 25.6.9): four 1 KiB bitmaps, read/write for the low
 * MSRs 0-0x1fff and the high MSRs 0xc0000000-0xc0001fff, set = exit. Every
 * MSR exits but those the policy grants; MSRs outside these ranges always
 * exit. */
static void msr_grant(uint8_t *bitmap, unsigned offset, uint32_t index)
{
	bitmap[offset + index / 8] &= ~(1 << (index % 8));
}

static uint64_t build_msr_bitmap(const struct policy *p)
{
	uint8_t *bitmap = page_alloc(1);

	memset(bitmap, 0xff, PAGE_SIZE);
	for (unsigned i = 0; i < p->msr_grant_count; i++) {
		const struct policy_msr_grant *g = &p->msr_grants[i];
		for (uint64_t msr = g->first; msr <= g->last; msr++) {
			bool high = msr >= 0xc0000000;
			uint32_t index = (uint32_t)msr & 0x1fff;
			if (msr >= 0x2000 && (msr < 0xc0000000 || msr >= 0xc0002000))
				continue;
			if (g->dirs & POLICY_READ)
				msr_grant(bitmap, high ? MSR_BITMAP_READ_HIGH : MSR_BITMAP_READ_LOW, index);
			if (g->dirs & POLICY_WRITE)
				msr_grant(bitmap, high ? MSR_BITMAP_WRITE_HIGH : MSR_BITMAP_WRITE_LOW, index);
		}
	}
	return (uint64_t)bitmap;
}

/* VM-execution, VM-exit and VM-entry controls (SDM 25.6-25.8): the policy's. */
static int setup_controls(const struct vcpu *v)
{
	const struct policy *p = v->policy;
	const struct policy_vmx *ctl = p->vmx;
	bool true_ctls = rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS;
	uint32_t proc = ctl->proc_based, pin = ctl->pin_based;
	bool ok = true;

	/* The second guest's ports are the core's to decide whatever the
	 * policy says: every one but its own devices' exits (vmm/devices.c). */
	if (v->guest->second)
		proc = (proc & ~CPU_BASED_UNCOND_IO_EXITING) | CPU_BASED_USE_IO_BITMAPS;
	/* An NMI on the second guest's CPU is another CPU's (its own APIC
	 * writes are checked, vmm/apic.c, and it has no device that sends
	 * one): the first guest's NMI IPI, which vmm/apic.c refuses before it
	 * is sent; should one come all the same, with "NMI exiting" it exits
	 * instead of going through the second guest's IDT (SDM 25.6.1, 26.2),
	 * and lvisor drops it (vmx.c, guest2_exception). */
	if (v->guest->second)
		pin |= PIN_BASED_NMI_EXITING;

	if (ctl->proc_based2)
		proc |= CPU_BASED_ACTIVATE_SECONDARY;
	vmwrite(PIN_BASED_VM_EXEC_CONTROL,
		adjust("pin-based", true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
					      : MSR_IA32_VMX_PINBASED_CTLS, pin, &ok));
	proc = adjust("processor-based", true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
						   : MSR_IA32_VMX_PROCBASED_CTLS, proc, &ok);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, proc);
	/* INVPCID, XSAVES and TPAUSE/UMONITOR/UMWAIT raise #UD in the guest
	 * unless enabled (SDM 25.6.2), yet CPUID offers them: enable them
	 * wherever this CPU can. */
	uint32_t proc2 = ctl->proc_based2 | ((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) &
		(SECONDARY_ENABLE_INVPCID | SECONDARY_ENABLE_XSAVES | SECONDARY_ENABLE_USR_WAIT_PAUSE));
	if (proc & CPU_BASED_ACTIVATE_SECONDARY)
		vmwrite(SECONDARY_VM_EXEC_CONTROL,
			adjust("secondary processor-based", MSR_IA32_VMX_PROCBASED_CTLS2, proc2, &ok));
	vmwrite(VM_EXIT_CONTROLS,
		adjust("VM-exit", true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
		       ctl->exit_controls, &ok));
	/* The guest starts in real mode: not "IA-32e mode guest" (cr.c sets it). */
	vmwrite(VM_ENTRY_CONTROLS,
		adjust("VM-entry", true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS,
		       ctl->entry_controls & ~VM_ENTRY_IA32E_MODE, &ok));

	vmwrite(EXCEPTION_BITMAP, ctl->exception_bitmap);
	vmwrite(PAGE_FAULT_ERROR_CODE_MASK, 0);		/* with the bitmap's #PF bit: all #PFs */
	vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmwrite(CR3_TARGET_COUNT, 0);
	vmwrite(VM_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmwrite(TSC_OFFSET, 0);
	if (proc & CPU_BASED_USE_IO_BITMAPS) {
		uint64_t io = build_io_bitmaps(v);
		vmwrite(IO_BITMAP_A, io);
		vmwrite(IO_BITMAP_B, io + PAGE_SIZE);
	}
	if (proc & CPU_BASED_USE_MSR_BITMAPS)
		vmwrite(MSR_BITMAP, build_msr_bitmap(p));
	if (ctl->proc_based2 & SECONDARY_ENABLE_EPT)
		vmwrite(EPT_POINTER, ept_build(v->guest, v->policy));
	return ok ? 0 : -1;
}

/*
 * The host's task register. A VM exit loads TR from HOST_TR_SELECTOR, which
 * must not be 0 (SDM 27.2.3), but lvisor itself never needed a TSS. So we
 * make one: an empty 64-bit TSS (SDM 8.7), described in a copy of the boot
 * GDT (boot/entry.S) with one more entry, selector 0x18 (SDM 8.2.3).
 * The CPU's, not a guest's; a second CPU needs its own, as LTR marks the
 * TSS busy and refuses a busy one (SDM Vol. 2A, LTR).
 */
#define HOST_TR		0x18
extern const uint64_t gdt[3];
static uint64_t host_gdt[5] __attribute__((aligned(16)));
static uint32_t host_tss[26] __attribute__((aligned(16)));	/* 104 bytes */

static void setup_host_tss(void)
{
	uint64_t base = (uint64_t)host_tss, limit = sizeof(host_tss) - 1;
	struct { uint16_t limit; uint64_t base; } __attribute__((packed))
		gdtr = { sizeof(host_gdt) - 1, (uint64_t)host_gdt };

	host_tss[25] = sizeof(host_tss) << 16;	/* I/O map base beyond the limit: no I/O bitmap */
	memcpy(host_gdt, gdt, sizeof(gdt));
	host_gdt[3] = (limit & 0xffff) | (base & 0xffffff) << 16 |
		      0x89ull << 40 |			/* present, 64-bit TSS (available) */
		      ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	host_gdt[4] = base >> 32;
	__asm__ volatile("lgdt %0; ltr %w1" : : "m"(gdtr), "r"(HOST_TR) : "memory");
}

/* The host-state area (SDM 25.5, checked by SDM 27.2.3): what a VM exit
 * loads, i.e. lvisor as it runs now. HOST_RSP is set by vmx_enter. */
static void setup_host(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr, idtr;

	setup_host_tss();
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	vmwrite(HOST_CR0, read_cr0());
	vmwrite(HOST_CR3, read_cr3());
	vmwrite(HOST_CR4, read_cr4());
	vmwrite(HOST_CS_SELECTOR, 0x08);
	vmwrite(HOST_SS_SELECTOR, 0x10);
	vmwrite(HOST_DS_SELECTOR, 0x10);
	vmwrite(HOST_ES_SELECTOR, 0x10);
	vmwrite(HOST_FS_SELECTOR, 0);
	vmwrite(HOST_GS_SELECTOR, 0);
	vmwrite(HOST_TR_SELECTOR, HOST_TR);
	vmwrite(HOST_FS_BASE, 0);
	vmwrite(HOST_GS_BASE, 0);
	vmwrite(HOST_TR_BASE, (uint64_t)host_tss);
	vmwrite(HOST_GDTR_BASE, gdtr.base);
	vmwrite(HOST_IDTR_BASE, idtr.base);
	vmwrite(HOST_IA32_SYSENTER_CS, 0);
	vmwrite(HOST_IA32_SYSENTER_ESP, 0);
	vmwrite(HOST_IA32_SYSENTER_EIP, 0);
	vmwrite(HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmwrite(HOST_IA32_PAT, rdmsr(MSR_PAT));
	vmwrite(HOST_RIP, (uint64_t)vmx_exit);
}

/* One guest segment register (SDM 25.4.1). The VMCS lists ES, CS, SS, DS,
 * FS, GS, LDTR, TR in this order (enum seg), two encodings apart. */
static void guest_segment(enum seg s, uint32_t ar)
{
	vmwrite(GUEST_ES_SELECTOR + 2 * s, 0);
	vmwrite(GUEST_ES_BASE + 2 * s, 0);
	vmwrite(GUEST_ES_LIMIT + 2 * s, 0xffff);
	vmwrite(GUEST_ES_AR_BYTES + 2 * s, ar);
}

/*
 * The guest-state area (SDM 25.4, checked by SDM 27.3.1): a CPU after reset
 * (SDM 10.1.1, table 10-1) in real mode, which "unrestricted guest" lets us
 * run directly (SDM 27.3.1.1), at IP 0 with CS base cs_base. Real mode
 * does not tie the base to the selector outside virtual-8086 mode (SDM
 * 27.3.1.2); include/lvisor/handoff.h says why we want it.
 */
static void setup_guest(const struct policy *p, uint64_t cs_base)
{
	guest_segment(SEG_CS, 0x9b);		/* present, code, readable, accessed */
	vmwrite(GUEST_CS_BASE, cs_base);
	guest_segment(SEG_DS, 0x93);		/* present, data, writable, accessed */
	guest_segment(SEG_ES, 0x93);
	guest_segment(SEG_SS, 0x93);
	guest_segment(SEG_FS, 0x93);
	guest_segment(SEG_GS, 0x93);
	guest_segment(SEG_LDTR, VMX_AR_UNUSABLE);
	guest_segment(SEG_TR, 0x8b);		/* present, busy 32-bit TSS */
	vmwrite(GUEST_GDTR_BASE, 0);
	vmwrite(GUEST_GDTR_LIMIT, 0xffff);
	vmwrite(GUEST_IDTR_BASE, 0);
	vmwrite(GUEST_IDTR_LIMIT, 0xffff);

	cr_setup(p->vmx);			/* CR0 = ET, CR4 = 0, as the guest sees them */
	vmwrite(GUEST_CR3, 0);
	vmwrite(GUEST_DR7, 0x400);
	vmwrite(GUEST_IA32_DEBUGCTL, 0);
	vmwrite(GUEST_IA32_EFER, 0);
	vmwrite(GUEST_IA32_PAT, 0x0007040600070406ull);	/* the PAT's power-on value */
	vmwrite(GUEST_SYSENTER_CS, 0);
	vmwrite(GUEST_SYSENTER_ESP, 0);
	vmwrite(GUEST_SYSENTER_EIP, 0);

	vmwrite(GUEST_RIP, 0);
	vmwrite(GUEST_RSP, 0);
	vmwrite(GUEST_RFLAGS, 2);		/* bit 1 is always 1 */
	vmwrite(GUEST_ACTIVITY_STATE, 0);	/* active */
	vmwrite(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmwrite(VMCS_LINK_POINTER, ~0ull);	/* no shadow VMCS (SDM 25.4.2) */
}

/* SDM 25.11.3 "Initializing a VMCS": a region with the revision id, VMCLEAR
 * (launch state "clear"), VMPTRLD (current), then VMWRITE every field. */
int vmcs_create(void *vmcs, const struct vcpu *v, uint64_t cs_base)
{
	*(uint32_t *)vmcs = rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK;
	if (!vmclear((uint64_t)vmcs) || !vmptrld((uint64_t)vmcs)) {
		printk("VMX: VMCLEAR/VMPTRLD of the VMCS failed\n");
		return -1;
	}
	if (setup_controls(v))
		return -1;
	setup_host();
	setup_guest(v->policy, cs_base);
	return 0;
}
