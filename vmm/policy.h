/*
 * What the generated policy gives the core.
 *
 * codegen/ turns policies/NAME.yaml into build/<...>/gen/policy_svm.c,
 * policy_vmx.c and policy_actions.c, which define everything declared here.
 * The core never hard-codes an execution control: it takes these masks,
 * adjusts them against what the CPU allows, and dispatches every exit
 * through the tables below.
 */
#ifndef VMM_POLICY_H
#define VMM_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <asm/svm.h>
#include <asm/vmx.h>
#include "vcpu.h"

extern const char policy_name[];		/* "tsc-negate" */
extern const char policy_file[];		/* "policies/tsc-negate.yaml": the file it was generated from */
extern const char policy_description[];		/* the policy's description line */

/* AMD SVM: the VMCB intercept vectors (APM appendix B, table B-1). */
struct policy_svm {
	uint32_t intercept_cr;		/* VMCB offset 0x000 */
	uint32_t intercept_dr;		/* VMCB offset 0x004 */
	uint32_t intercept_exceptions;	/* VMCB offset 0x008 */
	uint32_t intercept_misc1;	/* VMCB offset 0x00c ("vector 3") */
	uint32_t intercept_misc2;	/* VMCB offset 0x010 ("vector 4") */
};
extern const struct policy_svm policy_svm;
extern const exit_handler_t policy_svm_exits[SVM_EXIT_NR];

/* Intel VMX: the VM-execution, VM-exit and VM-entry controls (SDM 25.6-25.8),
 * before the core adjusts them to the capability MSRs (SDM appendix A). */
struct policy_vmx {
	uint32_t pin_based;
	uint32_t proc_based;
	uint32_t proc_based2;
	uint32_t exit_controls;
	uint32_t entry_controls;
	uint32_t exception_bitmap;
	uint64_t cr0_guest_host_mask;	/* CR0 bits whose writes exit */
	uint64_t cr4_guest_host_mask;	/* CR4 bits whose writes exit */
};
extern const struct policy_vmx policy_vmx;
extern const exit_handler_t policy_vmx_exits[VMX_EXIT_NR];

/*
 * The I/O ports and MSRs the policy grants: deny by default. Each backend
 * builds bitmaps that intercept every port and MSR (VMX: I/O bitmaps A/B
 * and the MSR bitmap, SDM 25.6.4 and 25.6.9; SVM: IOPM and MSRPM, APM
 * 15.10 and 15.11) and then clears the bits of these grants. An access
 * that exits goes to exit_io/exit_msr: the core's own ports and MSRs, the
 * policy's other rules, else absent hardware (a port) or #GP (an MSR).
 */
#define POLICY_READ	1	/* MSR: RDMSR */
#define POLICY_WRITE	2	/* MSR: WRMSR */
struct policy_io_grant {
	uint16_t first, last;	/* IN and OUT: the bitmaps cannot tell them apart */
	const char *rule;	/* "policies/default.yaml:30" */
};
struct policy_msr_grant {
	uint32_t first, last;
	uint8_t dirs;		/* POLICY_READ | POLICY_WRITE */
	const char *rule;
};
extern const struct policy_io_grant policy_io_grants[];
extern const unsigned policy_io_grant_count;
extern const struct policy_msr_grant policy_msr_grants[];
extern const unsigned policy_msr_grant_count;

/*
 * Every control the policy sets, with the rule that asked for it, so that the
 * core can name the rule when the CPU lacks the control (checked at boot).
 */
enum policy_field {
	FIELD_VMX_PIN, FIELD_VMX_PROC, FIELD_VMX_PROC2, FIELD_VMX_EXIT, FIELD_VMX_ENTRY,
	FIELD_SVM_FEATURE,	/* bit in CPUID Fn8000_000A EDX the rule needs */
};
struct policy_requirement {
	enum policy_field field;
	uint32_t bit;
	const char *control;	/* "CPU_BASED_RDTSC_EXITING" */
	const char *rule;	/* "policies/tsc-negate.yaml:7: rdtsc: negate" */
};
extern const struct policy_requirement policy_vmx_requirements[];
extern const unsigned policy_vmx_requirement_count;
extern const struct policy_requirement policy_svm_requirements[];
extern const unsigned policy_svm_requirement_count;

/* policy.c: is this entry the core's own ("required by the core")? Report
 * a requirement the CPU does not meet. */
bool policy_rule_is_core(const char *rule);
void policy_lacks(const struct policy_requirement *r);

#endif
