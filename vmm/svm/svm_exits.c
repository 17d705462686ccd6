/* The names of SVM exit codes, as APM appendix C gives them. */
#include <asm/svm.h>
#include <lib/printk.h>
#include "svm.h"

static const char *const names[] = {
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

const char *svm_exit_name(uint32_t code)
{
	static const char *const cr[] = { "READ_CR", "WRITE_CR", "READ_DR", "WRITE_DR" };
	static char buf[16];

	if (code == SVM_EXIT_NPF)
		return "NPF";
	if (code == (uint32_t)SVM_EXIT_INVALID)
		return "INVALID";
	if (code < 0x40) {	/* CRn/DRn accesses: the name carries n */
		snprintf(buf, sizeof(buf), "%s%u", cr[code >> 4], code & 15);
		return buf;
	}
	if (code < 0x60) {
		snprintf(buf, sizeof(buf), "EXCP%u", code - 0x40);
		return buf;
	}
	if (code < sizeof(names) / sizeof(names[0]) && names[code])
		return names[code];
	return "UNKNOWN";
}
