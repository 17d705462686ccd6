/* The SVM backend's internals. */
#ifndef VMM_SVM_SVM_H
#define VMM_SVM_SVM_H

#include <stdint.h>
#include "../vcpu.h"

uint64_t npt_build(void);					/* npt.c: returns nCR3 */
void svm_enter(struct guest_regs *regs, uint64_t vmcb_pa);	/* svm_enter.S */
const char *svm_exit_name(uint32_t code);			/* svm_exits.c */
void svm_exit_names_init(void);					/* once, before the first */
struct vmcb;
unsigned svm_insn_length(struct vcpu *v, const struct vmcb *vmcb, const char **why);	/* decode.c */
bool svm_decode_store(struct vcpu *v, struct mmio_store *s, const char **why);		/* decode.c */

#endif
