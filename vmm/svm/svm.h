/* The SVM backend's internals. */
#ifndef VMM_SVM_SVM_H
#define VMM_SVM_SVM_H

#include <stdint.h>
#include "../vcpu.h"
#include "vmcb.h"

/*
 * The backend's state for one vCPU, v->arch: what belongs to the guest's
 * CPU. What describes the physical CPU (its SVM features, the host save
 * area) stays in svm.c, per CPU. The VMCB comes first, so the structure's
 * address is the VMCB's (VMRUN wants it 4 KiB aligned: struct vmcb is),
 * and an accessor reaches it with one load, of v->arch; more per-vCPU
 * state would follow it.
 */
struct svm_vcpu {
	struct vmcb vmcb;
};

static inline struct vmcb *svm_vmcb(struct vcpu *v)
{
	return &((struct svm_vcpu *)v->arch)->vmcb;
}

struct guest;
uint64_t npt_build(const struct guest *g, const struct policy *p);		/* npt.c: returns nCR3 */
void svm_enter(struct guest_regs *regs, uint64_t vmcb_pa);	/* svm_enter.S */
const char *svm_exit_name(uint32_t code);			/* svm_exits.c */
void svm_exit_names_init(void);					/* once, before the first */
unsigned svm_insn_length(struct vcpu *v, const struct vmcb *vmcb, const char **why);	/* decode.c */
void svm_code_mode(struct vcpu *v, struct code_mode *m);		/* decode.c */

#endif
