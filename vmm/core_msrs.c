/*
 * The MSRs the core keeps for itself are declared once, in codegen/core.py
 * (its MSRS list), which writes their numbers into core_ports.h as
 * CORE_MSR_<name>. vmm/exits.c (core_own_msr, svm_msr) still names them
 * through asm/x86.h and asm/svm.h. Until it uses the CORE_MSR_ names
 * itself, these checks fail the build when the two places disagree: an MSR
 * changed in core.py cannot leave exits.c handling another one than the
 * generator keeps policies off. There is no code here.
 */
#include <asm/svm.h>
#include <asm/x86.h>
#include "core_ports.h"

_Static_assert(CORE_MSR_IA32_APIC_BASE == MSR_IA32_APICBASE,
	       "codegen/core.py and asm/x86.h disagree on IA32_APIC_BASE: exits.c uses the latter");
_Static_assert(CORE_MSR_IA32_PAT == MSR_PAT,
	       "codegen/core.py and asm/x86.h disagree on IA32_PAT: exits.c uses the latter");
_Static_assert(CORE_MSR_EFER == MSR_EFER,
	       "codegen/core.py and asm/x86.h disagree on EFER: exits.c uses the latter");
_Static_assert(CORE_MSR_SVM_FIRST == MSR_VM_CR && CORE_MSR_SVM_LAST == MSR_SVM_KEY,
	       "codegen/core.py and asm/svm.h disagree on SVM's MSRs: exits.c uses the latter");
