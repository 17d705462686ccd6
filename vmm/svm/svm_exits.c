/* The names of SVM exit codes, as APM appendix C gives them. */
#include <asm/svm.h>
#include <lib/printk.h>
#include "svm.h"

/* The numbered names (READ_CR0 ... WRITE_DR15, EXCP0 ... EXCP31) are made
 * once, by svm_exit_names_init, so that naming an exit is a table lookup. */
static char numbered[0x60][16];
static const char *names[] = {
	[SVM_EXIT_INTR] = "INTR", [SVM_EXIT_NMI] = "NMI", [SVM_EXIT_SMI] = "SMI",
	[SVM_EXIT_INIT] = "INIT", [SVM_EXIT_VINTR] = "VINTR",
	[SVM_EXIT_CR0_SEL_WRITE] = "CR0_SEL_WRITE",
	[SVM_EXIT_IDTR_READ] = "IDTR_READ", [SVM_EXIT_GDTR_READ] = "GDTR_READ",
	[SVM_EXIT_LDTR_READ] = "LDTR_READ", [SVM_EXIT_TR_READ] = "TR_READ",
	[SVM_EXIT_IDTR_WRITE] = "IDTR_WRITE", [SVM_EXIT_GDTR_WRITE] = "GDTR_WRITE",
	[SVM_EXIT_LDTR_WRITE] = "LDTR_WRITE", [SVM_EXIT_TR_WRITE] = "TR_WRITE",
	[SVM_EXIT_RDTSC] = "RDTSC", [SVM_EXIT_RDPMC] = "RDPMC",
	[SVM_EXIT_PUSHF] = "PUSHF", [SVM_EXIT_POPF] = "POPF", [SVM_EXIT_CPUID] = "CPUID",
	[SVM_EXIT_RSM] = "RSM", [SVM_EXIT_IRET] = "IRET", [SVM_EXIT_SWINT] = "SWINT",
	[SVM_EXIT_INVD] = "INVD", [SVM_EXIT_PAUSE] = "PAUSE", [SVM_EXIT_HLT] = "HLT",
	[SVM_EXIT_INVLPG] = "INVLPG", [SVM_EXIT_INVLPGA] = "INVLPGA",
	[SVM_EXIT_IOIO] = "IOIO", [SVM_EXIT_MSR] = "MSR",
	[SVM_EXIT_TASK_SWITCH] = "TASK_SWITCH", [SVM_EXIT_FERR_FREEZE] = "FERR_FREEZE",
	[SVM_EXIT_SHUTDOWN] = "SHUTDOWN", [SVM_EXIT_VMRUN] = "VMRUN",
	[SVM_EXIT_VMMCALL] = "VMMCALL", [SVM_EXIT_VMLOAD] = "VMLOAD",
	[SVM_EXIT_VMSAVE] = "VMSAVE", [SVM_EXIT_STGI] = "STGI", [SVM_EXIT_CLGI] = "CLGI",
	[SVM_EXIT_SKINIT] = "SKINIT", [SVM_EXIT_RDTSCP] = "RDTSCP", [SVM_EXIT_ICEBP] = "ICEBP",
	[SVM_EXIT_WBINVD] = "WBINVD", [SVM_EXIT_MONITOR] = "MONITOR", [SVM_EXIT_MWAIT] = "MWAIT",
	[SVM_EXIT_MWAIT_COND] = "MWAIT_CONDITIONAL", [SVM_EXIT_XSETBV] = "XSETBV",
	[SVM_EXIT_RDPRU] = "RDPRU", [SVM_EXIT_EFER_WRITE_TRAP] = "EFER_WRITE_TRAP",
};

void svm_exit_names_init(void)
{
	static const char *const cr[] = { "READ_CR", "WRITE_CR", "READ_DR", "WRITE_DR" };

	for (uint32_t code = 0; code < 0x60; code++) {
		if (code < 0x40)	/* CRn/DRn accesses: the name carries n */
			snprintf(numbered[code], sizeof(numbered[code]), "%s%u", cr[code >> 4], code & 15);
		else
			snprintf(numbered[code], sizeof(numbered[code]), "EXCP%u", code - 0x40);
		names[code] = numbered[code];
	}
}

const char *svm_exit_name(uint32_t code)
{
	if (code < sizeof(names) / sizeof(names[0]) && names[code])
		return names[code];
	if (code == SVM_EXIT_NPF)
		return "NPF";
	if (code == (uint32_t)SVM_EXIT_INVALID)
		return "INVALID";
	return "UNKNOWN";
}
