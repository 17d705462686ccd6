/*
 * AMD SVM definitions, named after the AMD64 Architecture Programmer's Manual
 * Volume 2 (System Programming), chapter 15 "Secure Virtual Machine" and
 * appendix B "Layout of VMCB" / appendix C "SVM Intercept Exit Codes".
 */
#ifndef ASM_SVM_H
#define ASM_SVM_H

/* CPUID Fn8000_0001 ECX bit 2: SVM supported (APM 15.4). */
#define CPUID_80000001_ECX_SVM      (1u << 2)
/* CPUID Fn8000_000A EDX: SVM features (APM 15.4, E.4.9). */
#define SVM_FEATURE_NPT             (1u << 0)
#define SVM_FEATURE_LBRV            (1u << 1)
#define SVM_FEATURE_SVML            (1u << 2)
#define SVM_FEATURE_NRIPS           (1u << 3)
#define SVM_FEATURE_TSC_SCALE       (1u << 4)
#define SVM_FEATURE_VMCB_CLEAN      (1u << 5)
#define SVM_FEATURE_FLUSH_ASID      (1u << 6)
#define SVM_FEATURE_DECODE_ASSISTS  (1u << 7)
#define SVM_FEATURE_PAUSE_FILTER    (1u << 10)

/* MSRs (APM 15.30). */
#define MSR_VM_CR                   0xc0010114
#define MSR_VM_HSAVE_PA             0xc0010117
#define MSR_SVM_KEY                 0xc0010118
#define VM_CR_SVMDIS                (1u << 4)

/*
 * VMCB control area, intercept vectors (APM appendix B, table B-1).
 * Offset 0x000: CR reads (bits 0-15) and CR writes (bits 16-31).
 */
#define SVM_INTERCEPT_CR_READ(n)    (1u << (n))
#define SVM_INTERCEPT_CR_WRITE(n)   (1u << (16 + (n)))
/* Offset 0x004: DR reads (bits 0-15), DR writes (bits 16-31). */
#define SVM_INTERCEPT_DR_READ(n)    (1u << (n))
#define SVM_INTERCEPT_DR_WRITE(n)   (1u << (16 + (n)))
/* Offset 0x008: exception intercepts, one bit per vector. */
#define SVM_INTERCEPT_EXCEPTION(v)  (1u << (v))

/* Offset 0x00C: "intercept vector 3" (miscellaneous). */
#define SVM_INTERCEPT_INTR          (1u << 0)
#define SVM_INTERCEPT_NMI           (1u << 1)
#define SVM_INTERCEPT_SMI           (1u << 2)
#define SVM_INTERCEPT_INIT          (1u << 3)
#define SVM_INTERCEPT_VINTR         (1u << 4)
#define SVM_INTERCEPT_CR0_SEL_WRITE (1u << 5)
#define SVM_INTERCEPT_IDTR_READ     (1u << 6)
#define SVM_INTERCEPT_GDTR_READ     (1u << 7)
#define SVM_INTERCEPT_LDTR_READ     (1u << 8)
#define SVM_INTERCEPT_TR_READ       (1u << 9)
#define SVM_INTERCEPT_IDTR_WRITE    (1u << 10)
#define SVM_INTERCEPT_GDTR_WRITE    (1u << 11)
#define SVM_INTERCEPT_LDTR_WRITE    (1u << 12)
#define SVM_INTERCEPT_TR_WRITE      (1u << 13)
#define SVM_INTERCEPT_RDTSC         (1u << 14)
#define SVM_INTERCEPT_RDPMC         (1u << 15)
#define SVM_INTERCEPT_PUSHF         (1u << 16)
#define SVM_INTERCEPT_POPF          (1u << 17)
#define SVM_INTERCEPT_CPUID         (1u << 18)
#define SVM_INTERCEPT_RSM           (1u << 19)
#define SVM_INTERCEPT_IRET          (1u << 20)
#define SVM_INTERCEPT_INTN          (1u << 21)
#define SVM_INTERCEPT_INVD          (1u << 22)
#define SVM_INTERCEPT_PAUSE         (1u << 23)
#define SVM_INTERCEPT_HLT           (1u << 24)
#define SVM_INTERCEPT_INVLPG        (1u << 25)
#define SVM_INTERCEPT_INVLPGA       (1u << 26)
#define SVM_INTERCEPT_IOIO_PROT     (1u << 27)
#define SVM_INTERCEPT_MSR_PROT      (1u << 28)
#define SVM_INTERCEPT_TASK_SWITCH   (1u << 29)
#define SVM_INTERCEPT_FERR_FREEZE   (1u << 30)
#define SVM_INTERCEPT_SHUTDOWN      (1u << 31)

/* Offset 0x010: "intercept vector 4". */
#define SVM_INTERCEPT_VMRUN         (1u << 0)
#define SVM_INTERCEPT_VMMCALL       (1u << 1)
#define SVM_INTERCEPT_VMLOAD        (1u << 2)
#define SVM_INTERCEPT_VMSAVE        (1u << 3)
#define SVM_INTERCEPT_STGI          (1u << 4)
#define SVM_INTERCEPT_CLGI          (1u << 5)
#define SVM_INTERCEPT_SKINIT        (1u << 6)
#define SVM_INTERCEPT_RDTSCP        (1u << 7)
#define SVM_INTERCEPT_ICEBP         (1u << 8)
#define SVM_INTERCEPT_WBINVD        (1u << 9)
#define SVM_INTERCEPT_MONITOR       (1u << 10)
#define SVM_INTERCEPT_MWAIT         (1u << 11)
#define SVM_INTERCEPT_MWAIT_COND    (1u << 12)
#define SVM_INTERCEPT_XSETBV        (1u << 13)
#define SVM_INTERCEPT_RDPRU         (1u << 14)

/* EXITCODE values (APM appendix C). */
#define SVM_EXIT_READ_CR(n)         (0x000 + (n))
#define SVM_EXIT_WRITE_CR(n)        (0x010 + (n))
#define SVM_EXIT_READ_DR(n)         (0x020 + (n))
#define SVM_EXIT_WRITE_DR(n)        (0x030 + (n))
#define SVM_EXIT_EXCP(v)            (0x040 + (v))
#define SVM_EXIT_INTR               0x060
#define SVM_EXIT_NMI                0x061
#define SVM_EXIT_SMI                0x062
#define SVM_EXIT_INIT               0x063
#define SVM_EXIT_VINTR              0x064
#define SVM_EXIT_CR0_SEL_WRITE      0x065
#define SVM_EXIT_IDTR_READ          0x066
#define SVM_EXIT_GDTR_READ          0x067
#define SVM_EXIT_LDTR_READ          0x068
#define SVM_EXIT_TR_READ            0x069
#define SVM_EXIT_IDTR_WRITE         0x06a
#define SVM_EXIT_GDTR_WRITE         0x06b
#define SVM_EXIT_LDTR_WRITE         0x06c
#define SVM_EXIT_TR_WRITE           0x06d
#define SVM_EXIT_RDTSC              0x06e
#define SVM_EXIT_RDPMC              0x06f
#define SVM_EXIT_PUSHF              0x070
#define SVM_EXIT_POPF               0x071
#define SVM_EXIT_CPUID              0x072
#define SVM_EXIT_RSM                0x073
#define SVM_EXIT_IRET               0x074
#define SVM_EXIT_SWINT              0x075
#define SVM_EXIT_INVD               0x076
#define SVM_EXIT_PAUSE              0x077
#define SVM_EXIT_HLT                0x078
#define SVM_EXIT_INVLPG             0x079
#define SVM_EXIT_INVLPGA            0x07a
#define SVM_EXIT_IOIO               0x07b
#define SVM_EXIT_MSR                0x07c
#define SVM_EXIT_TASK_SWITCH        0x07d
#define SVM_EXIT_FERR_FREEZE        0x07e
#define SVM_EXIT_SHUTDOWN           0x07f
#define SVM_EXIT_VMRUN              0x080
#define SVM_EXIT_VMMCALL            0x081
#define SVM_EXIT_VMLOAD             0x082
#define SVM_EXIT_VMSAVE             0x083
#define SVM_EXIT_STGI               0x084
#define SVM_EXIT_CLGI               0x085
#define SVM_EXIT_SKINIT             0x086
#define SVM_EXIT_RDTSCP             0x087
#define SVM_EXIT_ICEBP              0x088
#define SVM_EXIT_WBINVD             0x089
#define SVM_EXIT_MONITOR            0x08a
#define SVM_EXIT_MWAIT              0x08b
#define SVM_EXIT_MWAIT_COND         0x08c
#define SVM_EXIT_XSETBV             0x08d
#define SVM_EXIT_RDPRU              0x08e
#define SVM_EXIT_EFER_WRITE_TRAP    0x08f
#define SVM_EXIT_NPF                0x400
#define SVM_EXIT_INVALID            (-1)
/* Size of an exit-handler table indexed by EXITCODE (NPF is the largest we use). */
#define SVM_EXIT_NR                 0x401

/* EXITINFO1 for IOIO (APM 15.10.2, figure 15-2). */
#define SVM_IOIO_TYPE_IN            (1u << 0)
#define SVM_IOIO_STR                (1u << 2)
#define SVM_IOIO_REP                (1u << 3)
#define SVM_IOIO_SZ8                (1u << 4)
#define SVM_IOIO_SZ16               (1u << 5)
#define SVM_IOIO_SZ32               (1u << 6)
#define SVM_IOIO_PORT_SHIFT         16

/* EXITINFO1 for NPF (APM 15.25.6): a #PF error code (bit 1 set for a write),
 * bit 33 set when the fault hit the CPU's walk of the guest's page tables. */
#define SVM_NPF_WRITE               (1ull << 1)
#define SVM_NPF_FETCH               (1ull << 4)
#define SVM_NPF_GUEST_WALK          (1ull << 33)

/* EVENTINJ (APM 15.20). */
#define SVM_EVTINJ_VALID            (1u << 31)
#define SVM_EVTINJ_VALID_ERR        (1u << 11)
#define SVM_EVTINJ_TYPE_INTR        (0u << 8)
#define SVM_EVTINJ_TYPE_NMI         (2u << 8)
#define SVM_EVTINJ_TYPE_EXEPT       (3u << 8)
#define SVM_EVTINJ_TYPE_SOFT        (4u << 8)

/* TLB_CONTROL (APM 15.16). */
#define SVM_TLB_FLUSH_NOTHING       0
#define SVM_TLB_FLUSH_ALL           1

/* Sizes of the permission maps (APM 15.10.1, 15.11). */
#define SVM_IOPM_SIZE               (3 * 4096)
#define SVM_MSRPM_SIZE              (2 * 4096)

#endif
