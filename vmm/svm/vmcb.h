/*
 * The Virtual Machine Control Block (APM Vol. 2, appendix B): a 4 KiB page
 * whose control area (offset 0) says what to intercept and reports exits,
 * and whose state save area (offset 0x400) holds the guest's registers.
 */
#ifndef VMM_SVM_VMCB_H
#define VMM_SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>

struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib;	/* descriptor bits 40-47 and 52-55, packed (APM B.2) */
	uint32_t limit;
	uint64_t base;
};

struct vmcb_control {				/* APM table B-1 */
	uint32_t intercept_cr;			/* 0x000 */
	uint32_t intercept_dr;			/* 0x004 */
	uint32_t intercept_exceptions;		/* 0x008 */
	uint32_t intercept_misc1;		/* 0x00c */
	uint32_t intercept_misc2;		/* 0x010 */
	uint8_t reserved1[0x03c - 0x014];
	uint16_t pause_filter_threshold;	/* 0x03c */
	uint16_t pause_filter_count;		/* 0x03e */
	uint64_t iopm_base_pa;			/* 0x040 */
	uint64_t msrpm_base_pa;			/* 0x048 */
	uint64_t tsc_offset;			/* 0x050 */
	uint32_t asid;				/* 0x058 */
	uint8_t tlb_control;			/* 0x05c */
	uint8_t reserved2[3];
	uint64_t vintr;				/* 0x060 */
	uint64_t interrupt_shadow;		/* 0x068 */
	uint64_t exitcode;			/* 0x070 */
	uint64_t exitinfo1;			/* 0x078 */
	uint64_t exitinfo2;			/* 0x080 */
	uint64_t exitintinfo;			/* 0x088 */
	uint64_t np_enable;			/* 0x090: bit 0 nested paging */
	uint8_t reserved3[0x0a8 - 0x098];
	uint64_t eventinj;			/* 0x0a8 */
	uint64_t n_cr3;				/* 0x0b0 */
	uint64_t lbr_virt;			/* 0x0b8 */
	uint32_t clean;				/* 0x0c0 */
	uint32_t reserved4;
	uint64_t next_rip;			/* 0x0c8: with nRIP save */
	uint8_t insn_len;			/* 0x0d0: with decode assists */
	uint8_t insn_bytes[15];
	uint8_t reserved5[0x400 - 0x0e0];
};

struct vmcb_save {				/* APM table B-2, at offset 0x400 */
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;	/* 0x400-0x49f */
	uint8_t reserved1[0x4cb - 0x4a0];
	uint8_t cpl;				/* 0x4cb */
	uint32_t reserved2;
	uint64_t efer;				/* 0x4d0 */
	uint8_t reserved3[0x548 - 0x4d8];
	uint64_t cr4;				/* 0x548 */
	uint64_t cr3;				/* 0x550 */
	uint64_t cr0;				/* 0x558 */
	uint64_t dr7;				/* 0x560 */
	uint64_t dr6;				/* 0x568 */
	uint64_t rflags;			/* 0x570 */
	uint64_t rip;				/* 0x578 */
	uint8_t reserved4[0x5d8 - 0x580];
	uint64_t rsp;				/* 0x5d8 */
	uint8_t reserved5[0x5f8 - 0x5e0];
	uint64_t rax;				/* 0x5f8 */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;	/* 0x600-0x620 */
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;	/* 0x628-0x638 */
	uint64_t cr2;				/* 0x640 */
	uint8_t reserved6[0x668 - 0x648];
	uint64_t g_pat;				/* 0x668 */
	uint64_t dbgctl;			/* 0x670 */
};

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __attribute__((aligned(4096)));

_Static_assert(offsetof(struct vmcb_control, iopm_base_pa) == 0x040, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, exitcode) == 0x070, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, n_cr3) == 0x0b0, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, next_rip) == 0x0c8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save) == 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cpl) == 0x4cb, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4d0, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cr4) == 0x548, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5d8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cr2) == 0x640, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB layout");

#endif
