/*
 * What the generated policy gives the core: one struct policy.
 *
 * codegen/ turns policies/NAME.yaml into build/<...>/gen/policy.c (with the
 * policy_svm.c, policy_vmx.c and policy_actions.c it includes), which
 * defines one `const struct policy policy` and keeps everything else
 * static. The core never hard-codes an execution control, nor reads a
 * policy from a global: a vCPU is created with a policy (vcpu_create), and
 * the backend takes that policy's masks, adjusts them against what the CPU
 * allows, builds its bitmaps from the grants, and dispatches every exit
 * through its table. So two vCPUs can run two policies.
 */
#ifndef VMM_POLICY_H
#define VMM_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <asm/svm.h>
#include <asm/vmx.h>
#include "vcpu.h"

/* AMD SVM: the VMCB intercept vectors (APM appendix B, table B-1). */
struct policy_svm {
	uint32_t intercept_cr;		/* VMCB offset 0x000 */
	uint32_t intercept_dr;		/* VMCB offset 0x004 */
	uint32_t intercept_exceptions;	/* VMCB offset 0x008 */
	uint32_t intercept_misc1;	/* VMCB offset 0x00c ("vector 3") */
	uint32_t intercept_misc2;	/* VMCB offset 0x010 ("vector 4") */
};

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

/*
 * A device the guest owns when it is the second guest (KERNEL2), from the
 * policy's devices: section (codegen/devices.py checked it): its ports,
 * where the guest finds them; the machine's ports behind them (the same:
 * no exit; others: each IN and OUT exits and lvisor carries it over); the
 * ISA IRQ the guest finds it on and the machine's, or -1. Or a device
 * lvisor emulates. vmm/devices.c carries the split out.
 */
#define POLICY_DEVICES_MAX	8	/* codegen/devices.py MAX_DEVICES */
enum policy_device_kind { DEVICE_PORTS, DEVICE_VGA_CURSOR };
struct policy_device {
	const char *name;		/* "COM1" */
	enum policy_device_kind kind;
	uint16_t first, last;		/* its ports, in the guest's view */
	uint16_t machine_first;		/* the machine's port for `first` */
	int8_t irq, machine_irq;	/* ISA IRQs: the guest's view, the machine's */
	const char *rule;		/* "policies/default.yaml:190" */
};

/*
 * A guest-physical range the policy watches (memory:, policies/README.md),
 * for one kind of access: EPT/NPT map its pages with less permission
 * (watch_perms, vmm/memwatch.c), the access exits, and vmm/memwatch.c
 * carries out the rule. The first guest's only.
 */
#define POLICY_EXEC	4	/* memory: an instruction fetch */
enum policy_watch_action {
	WATCH_LOG,		/* carry the access out, print it */
	WATCH_IGNORE,		/* a store: dropped, the guest goes on after it */
	WATCH_INJECT,		/* the exception `vector` instead of the access */
	WATCH_UNHANDLED,	/* report the guest with its state and stop it */
};
struct policy_watch {
	uint64_t first, last;	/* guest-physical, inclusive */
	uint8_t access;		/* POLICY_READ, POLICY_WRITE or POLICY_EXEC */
	uint8_t action;		/* enum policy_watch_action */
	bool log;		/* print the access too (`log: true`) */
	uint8_t vector;		/* WATCH_INJECT */
	bool has_error;
	uint32_t error_code;
	const char *rule;	/* "policies/watch-vga.yaml:40: memory 0xb8000-0xb8f9f write: log" */
};

/*
 * Every control the policy sets, with the rule that asked for it, so that the
 * core can name the rule when the CPU lacks the control (checked by the
 * backend as it creates a vCPU with the policy).
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

/* One policy, as generated: everything a backend needs to set up a vCPU
 * that runs it. Each array is the generated file's own (static). */
struct policy {
	const char *name;		/* "tsc-negate" */
	const char *file;		/* "policies/tsc-negate.yaml": the file it was generated from */
	const char *description;	/* the policy's description line */

	const struct policy_vmx *vmx;	/* policy_vmx.c */
	const exit_handler_t *vmx_exits;	/* VMX_EXIT_NR entries, by basic exit reason */
	const struct policy_requirement *vmx_requirements;
	unsigned vmx_requirement_count;

	const struct policy_svm *svm;	/* policy_svm.c */
	const exit_handler_t *svm_exits;	/* SVM_EXIT_NR entries, by EXITCODE */
	const struct policy_requirement *svm_requirements;
	unsigned svm_requirement_count;

	const struct policy_io_grant *io_grants;	/* policy_actions.c */
	unsigned io_grant_count;
	const struct policy_msr_grant *msr_grants;
	unsigned msr_grant_count;

	const struct policy_device *devices;	/* policy_actions.c */
	unsigned device_count;
	/* A `syscall` rule (vmm/syscall.c): the EFER bits the guest may set
	 * but the CPU's EFER lacks while it runs (EFER_SCE: SYSCALL and SYSRET
	 * then raise #UD, which exits), kept in vcpu->efer_hidden; and for
	 * `syscall: count`, the counts printed with the exit statistics. */
	uint64_t efer_hide;
	struct syscall_counts *syscall_counts;

	const struct policy_watch *watches;	/* policy_actions.c; NULL: none */
	unsigned watch_count;
};

/* The policy lvisor was built with (POLICY), for the first guest. */
extern const struct policy policy;
/* A second policy linked into the same lvisor (POLICY2), for a second
 * guest. Weak: without POLICY2 nothing defines it, and &policy2 is NULL. */
extern const struct policy policy2 __attribute__((weak));

/* The second guest's policy: POLICY2's, else the first guest's. */
static inline const struct policy *policy_guest2(void)
{
	return &policy2 ? &policy2 : &policy;
}

/* policy.c: is this entry the core's own ("required by the core")? Report
 * a requirement the CPU does not meet. */
bool policy_rule_is_core(const char *rule);
void policy_lacks(const struct policy_requirement *r);

#endif
