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
 * 1 for VMfailInvalid, 2 for VMfailValid. */
#define VMX_ENTER_EXITED	0
#define VMX_ENTER_FAIL_INVALID	1
#define VMX_ENTER_FAIL_VALID	2
int vmx_enter(struct guest_regs *regs, bool launched);
void vmx_exit(void);	/* HOST_RIP: where every VM exit lands (not callable) */

/* vmcs.c: make a new VMCS current and fill it in; NULL on failure. */
void *vmcs_create(uint64_t rip16);

/* cr.c: the guest's control registers (who owns which CR0/CR4 bits). */
void cr_setup(void);				/* masks, shadows, the reset values */
uint64_t cr_guest(int n);			/* CRn as the guest sees it */
bool cr_set_guest(int n, uint64_t val);		/* as if the guest wrote CRn; false: #GP */

/* ept.c: returns the EPT pointer (SDM 25.6.11). */
uint64_t ept_build(void);

/* Not an SDM exit reason: the code of a VMLAUNCH/VMRESUME that failed
 * without a VM exit (VMfailInvalid, VMfailValid). It is beyond the
 * exit-handler table, so it reaches core_unhandled, which sees entry_failed
 * and hands it to core_invalid_state. */
#define VMX_EXIT_VMFAIL		0xffff

/* vmx_exits.c: SDM names. */
const char *vmx_exit_name(uint32_t reason);	/* basic exit reasons */
const char *vmx_error_name(uint64_t error);	/* VM-instruction error numbers */

#endif
