/*
 * The VMX backend's internals, and the VMX instructions as C functions.
 *
 * Every VMX instruction reports failure in RFLAGS (SDM 31.2 "Conventions"):
 * CF=1 is VMfailInvalid (no current VMCS to say why), ZF=1 is VMfailValid
 * (the reason is in the VMCS field VM_INSTRUCTION_ERROR). "setna" and
 * "jna" catch both at once.
 */
#ifndef VMM_VMX_VMX_H
#define VMM_VMX_VMX_H

#include <stdbool.h>
#include <stdint.h>
#include <asm/vmx.h>
#include "../vcpu.h"

/* VMXON, VMCLEAR, VMPTRLD take a pointer to a 64-bit physical address. */
static inline bool vmxon(uint64_t pa)
{
	bool fail;
	__asm__ volatile("vmxon %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmclear(uint64_t pa)
{
	bool fail;
	__asm__ volatile("vmclear %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmptrld(uint64_t pa)
{
	bool fail;
	__asm__ volatile("vmptrld %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

void vmx_field_failed(const char *insn, uint32_t field) __attribute__((noreturn));

/* VMREAD/VMWRITE of the current VMCS. A failure is a bug in lvisor (a
 * field this CPU does not have): say which field, and stop. They are on
 * every exit's path, so the check is one JNA to a cold label ("asm goto")
 * rather than SETNA, TEST and JNE. */
static inline uint64_t vmread(uint32_t field)
{
	uint64_t val;

	__asm__ goto("vmread %1, %0; jna %l[fail]"
		     : "=rm"(val) : "r"((uint64_t)field) : "cc" : fail);
	return val;
fail: __attribute__((cold));
	vmx_field_failed("VMREAD", field);
}

static inline void vmwrite(uint32_t field, uint64_t val)
{
	__asm__ goto("vmwrite %1, %0; jna %l[fail]"
		     : : "r"((uint64_t)field), "rm"(val) : "cc", "memory" : fail);
	return;
fail: __attribute__((cold));
	vmx_field_failed("VMWRITE", field);
}

/* vmx_enter.S: load the guest's registers, VMLAUNCH (first time) or
 * VMRESUME, and save them at the VM exit. Returns 0 after a VM exit,
 * 1 for VMfailInvalid, 2 for VMfailValid, either with VMX_ENTER_RESUME
 * added if it was VMRESUME that failed. */
#define VMX_ENTER_EXITED	0
#define VMX_ENTER_FAIL_INVALID	1
#define VMX_ENTER_FAIL_VALID	2
#define VMX_ENTER_RESUME	4
int vmx_enter(struct guest_regs *regs, bool launched);
void vmx_exit(void);	/* HOST_RIP: where every VM exit lands (not callable) */

/*
 * The backend's state for one vCPU, v->arch: what belongs to the guest's
 * CPU. What describes the physical CPU (VMX operation, its capability
 * MSRs, the host state a VM exit loads) stays per CPU, in vmx.c, cr.c and
 * vmcs.c. The VMCS region comes first, so the structure's address is the
 * region's (page-aligned, SDM 25.2).
 *
 * The accessors name no VMCS: VMREAD and VMWRITE act on the CPU's current
 * VMCS (SDM 25.11.1), which keeps them one instruction each on every
 * exit's path. The rule that makes that right: a vCPU's VMCS is current on
 * the CPU that runs it whenever lvisor touches the vCPU there. It is made
 * current by vmcs_create(), on the CPU that will run the vCPU, and again
 * as the vCPU starts running (vmx_run, first entry); nothing else loads a
 * VMCS, so one CPU runs one vCPU, and a vCPU never moves to another CPU
 * (that would take VMCLEAR on the old CPU, then VMPTRLD and a new
 * VMLAUNCH on the new one, SDM 25.11.1, 25.11.3).
 */
struct vmx_vcpu {
	uint8_t vmcs[4096];	/* at most 4 KiB (IA32_VMX_BASIC, SDM A.1) */
	bool launched;		/* VMLAUNCH done: VMRESUME from now on (SDM 25.11.3) */
	uint64_t entry_error;	/* VM_INSTRUCTION_ERROR of a failed VM entry */
	/* second guest: the policy's handler for exception exits, which
	 * share their exit reason with the NMIs lvisor drops (vmx_create) */
	int (*guest2_exceptions)(struct vcpu *v);
};

struct policy;
struct policy_vmx;

/* vmcs.c: make the region a VMCS, current, and fill it in from policy p;
 * 0 on success. */
int vmcs_create(void *vmcs, const struct vcpu *v, uint64_t cs_base);

/* cr.c: the guest's control registers (who owns which CR0/CR4 bits). */
void cr_setup(const struct policy_vmx *ctl);	/* masks, shadows, the reset values */
uint64_t cr_guest(int n);			/* CRn as the guest sees it */
struct guest;
bool cr_set_guest(const struct guest *g, int n, uint64_t val);	/* as if guest g wrote CRn; false: #GP */

/* ept.c: returns the EPT pointer (SDM 25.6.11). */
uint64_t ept_build(const struct guest *g, const struct policy *p);

/* Not an SDM exit reason: the code of a VMLAUNCH/VMRESUME that failed
 * without a VM exit (VMfailInvalid, VMfailValid). It is beyond the
 * exit-handler table, so it reaches core_unhandled, which sees entry_failed
 * and hands it to core_invalid_state. */
#define VMX_EXIT_VMFAIL		0xffff

/* vmx_exits.c: SDM names. */
const char *vmx_exit_name(uint32_t reason);	/* basic exit reasons */
const char *vmx_error_name(uint64_t error);	/* VM-instruction error numbers */

#endif
