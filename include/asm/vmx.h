/*
 * Intel VMX definitions, named after the Intel SDM Volume 3C:
 * chapter 25 "VMCS" (control bits in 25.6-25.8, field encodings in
 * appendix B), appendix A (capability MSRs) and appendix C (exit reasons).
 */
#ifndef ASM_VMX_H
#define ASM_VMX_H

/* CPUID.1:ECX bit 5: VMX supported (SDM 24.6). */
#define CPUID_1_ECX_VMX                 (1u << 5)

/* Capability MSRs (SDM appendix A). */
#define MSR_IA32_FEATURE_CONTROL        0x03a
#define FEATURE_CONTROL_LOCKED          (1u << 0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX (1u << 2)
#define MSR_IA32_VMX_BASIC              0x480
#define MSR_IA32_VMX_PINBASED_CTLS      0x481
#define MSR_IA32_VMX_PROCBASED_CTLS     0x482
#define MSR_IA32_VMX_EXIT_CTLS          0x483
#define MSR_IA32_VMX_ENTRY_CTLS         0x484
#define MSR_IA32_VMX_MISC               0x485
#define MSR_IA32_VMX_CR0_FIXED0         0x486
#define MSR_IA32_VMX_CR0_FIXED1         0x487
#define MSR_IA32_VMX_CR4_FIXED0         0x488
#define MSR_IA32_VMX_CR4_FIXED1         0x489
#define MSR_IA32_VMX_VMCS_ENUM          0x48a
#define MSR_IA32_VMX_PROCBASED_CTLS2    0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP       0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS     0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS    0x490
#define VMX_BASIC_TRUE_CTLS             (1ull << 55)

/* Pin-based VM-execution controls (SDM 25.6.1). */
#define PIN_BASED_EXT_INTR_EXITING      (1u << 0)
#define PIN_BASED_NMI_EXITING           (1u << 3)
#define PIN_BASED_VIRTUAL_NMIS          (1u << 5)
#define PIN_BASED_PREEMPTION_TIMER      (1u << 6)

/* Primary processor-based VM-execution controls (SDM 25.6.2). */
#define CPU_BASED_INTR_WINDOW_EXITING   (1u << 2)
#define CPU_BASED_USE_TSC_OFFSETTING    (1u << 3)
#define CPU_BASED_HLT_EXITING           (1u << 7)
#define CPU_BASED_INVLPG_EXITING        (1u << 9)
#define CPU_BASED_MWAIT_EXITING         (1u << 10)
#define CPU_BASED_RDPMC_EXITING         (1u << 11)
#define CPU_BASED_RDTSC_EXITING         (1u << 12)
#define CPU_BASED_CR3_LOAD_EXITING      (1u << 15)
#define CPU_BASED_CR3_STORE_EXITING     (1u << 16)
#define CPU_BASED_CR8_LOAD_EXITING      (1u << 19)
#define CPU_BASED_CR8_STORE_EXITING     (1u << 20)
#define CPU_BASED_TPR_SHADOW            (1u << 21)
#define CPU_BASED_NMI_WINDOW_EXITING    (1u << 22)
#define CPU_BASED_MOV_DR_EXITING        (1u << 23)
#define CPU_BASED_UNCOND_IO_EXITING     (1u << 24)
#define CPU_BASED_USE_IO_BITMAPS        (1u << 25)
#define CPU_BASED_MONITOR_TRAP_FLAG     (1u << 27)
#define CPU_BASED_USE_MSR_BITMAPS       (1u << 28)
#define CPU_BASED_MONITOR_EXITING       (1u << 29)
#define CPU_BASED_PAUSE_EXITING         (1u << 30)
#define CPU_BASED_ACTIVATE_SECONDARY    (1u << 31)

/* Secondary processor-based VM-execution controls (SDM 25.6.2). */
#define SECONDARY_VIRTUALIZE_APIC       (1u << 0)
#define SECONDARY_ENABLE_EPT            (1u << 1)
#define SECONDARY_DESC_EXITING          (1u << 2)
#define SECONDARY_ENABLE_RDTSCP         (1u << 3)
#define SECONDARY_VIRTUALIZE_X2APIC     (1u << 4)
#define SECONDARY_ENABLE_VPID           (1u << 5)
#define SECONDARY_WBINVD_EXITING        (1u << 6)
#define SECONDARY_UNRESTRICTED_GUEST    (1u << 7)
#define SECONDARY_PAUSE_LOOP_EXITING    (1u << 10)
#define SECONDARY_RDRAND_EXITING        (1u << 11)
#define SECONDARY_ENABLE_INVPCID        (1u << 12)
#define SECONDARY_ENABLE_VMFUNC         (1u << 13)
#define SECONDARY_RDSEED_EXITING        (1u << 16)
#define SECONDARY_ENABLE_XSAVES         (1u << 20)
#define SECONDARY_TSC_SCALING           (1u << 25)
#define SECONDARY_ENABLE_USR_WAIT_PAUSE (1u << 26)

/* The exit qualification of a #DB exit: DR6's B0-B3, BD, BS (SDM table 28-1). */
#define DR6_EXIT_BITS                   0x600full

/* VM-exit controls (SDM 25.7.1). */
#define VM_EXIT_SAVE_DEBUG_CONTROLS     (1u << 2)
#define VM_EXIT_HOST_ADDR_SPACE_SIZE    (1u << 9)
#define VM_EXIT_LOAD_PERF_GLOBAL_CTRL   (1u << 12)
#define VM_EXIT_ACK_INTR_ON_EXIT        (1u << 15)
#define VM_EXIT_SAVE_PAT                (1u << 18)
#define VM_EXIT_LOAD_PAT                (1u << 19)
#define VM_EXIT_SAVE_EFER               (1u << 20)
#define VM_EXIT_LOAD_EFER               (1u << 21)

/* VM-entry controls (SDM 25.8.1). */
#define VM_ENTRY_LOAD_DEBUG_CONTROLS    (1u << 2)
#define VM_ENTRY_IA32E_MODE             (1u << 9)
#define VM_ENTRY_LOAD_PAT               (1u << 14)
#define VM_ENTRY_LOAD_EFER              (1u << 15)

/* Basic exit reasons (SDM appendix C). */
#define EXIT_REASON_EXCEPTION_NMI       0
#define EXIT_REASON_EXTERNAL_INTERRUPT  1
#define EXIT_REASON_TRIPLE_FAULT        2
#define EXIT_REASON_INIT_SIGNAL         3
#define EXIT_REASON_SIPI_SIGNAL         4
#define EXIT_REASON_IO_SMI              5
#define EXIT_REASON_OTHER_SMI           6
#define EXIT_REASON_INTERRUPT_WINDOW    7
#define EXIT_REASON_NMI_WINDOW          8
#define EXIT_REASON_TASK_SWITCH         9
#define EXIT_REASON_CPUID               10
#define EXIT_REASON_GETSEC              11
#define EXIT_REASON_HLT                 12
#define EXIT_REASON_INVD                13
#define EXIT_REASON_INVLPG              14
#define EXIT_REASON_RDPMC               15
#define EXIT_REASON_RDTSC               16
#define EXIT_REASON_RSM                 17
#define EXIT_REASON_VMCALL              18
#define EXIT_REASON_VMCLEAR             19
#define EXIT_REASON_VMLAUNCH            20
#define EXIT_REASON_VMPTRLD             21
#define EXIT_REASON_VMPTRST             22
#define EXIT_REASON_VMREAD              23
#define EXIT_REASON_VMRESUME            24
#define EXIT_REASON_VMWRITE             25
#define EXIT_REASON_VMXOFF              26
#define EXIT_REASON_VMXON               27
#define EXIT_REASON_CR_ACCESS           28
#define EXIT_REASON_DR_ACCESS           29
#define EXIT_REASON_IO_INSTRUCTION      30
#define EXIT_REASON_MSR_READ            31
#define EXIT_REASON_MSR_WRITE           32
#define EXIT_REASON_INVALID_GUEST_STATE 33
#define EXIT_REASON_MSR_LOADING         34
#define EXIT_REASON_MWAIT_INSTRUCTION   36
#define EXIT_REASON_MONITOR_TRAP_FLAG   37
#define EXIT_REASON_MONITOR_INSTRUCTION 39
#define EXIT_REASON_PAUSE_INSTRUCTION   40
#define EXIT_REASON_MCE_DURING_VMENTRY  41
#define EXIT_REASON_TPR_BELOW_THRESHOLD 43
#define EXIT_REASON_APIC_ACCESS         44
#define EXIT_REASON_EOI_INDUCED         45
#define EXIT_REASON_GDTR_IDTR           46
#define EXIT_REASON_LDTR_TR             47
#define EXIT_REASON_EPT_VIOLATION       48
#define EXIT_REASON_EPT_MISCONFIG       49
#define EXIT_REASON_INVEPT              50
#define EXIT_REASON_RDTSCP              51
#define EXIT_REASON_PREEMPTION_TIMER    52
#define EXIT_REASON_INVVPID             53
#define EXIT_REASON_WBINVD              54
#define EXIT_REASON_XSETBV              55
#define EXIT_REASON_APIC_WRITE          56
#define EXIT_REASON_RDRAND              57
#define EXIT_REASON_INVPCID             58
#define EXIT_REASON_VMFUNC              59
#define EXIT_REASON_ENCLS               60
#define EXIT_REASON_RDSEED              61
#define EXIT_REASON_XSAVES              63
#define EXIT_REASON_XRSTORS             64
/* Size of an exit-handler table indexed by basic exit reason. */
#define VMX_EXIT_NR                     65
/* Bit 31 of the exit reason: VM-entry failure (SDM 27.8). */
#define VMX_EXIT_REASON_ENTRY_FAILURE   (1u << 31)

/* VM-entry interruption-information field (SDM 25.8.3). */
#define INTR_INFO_VALID                 (1u << 31)
#define INTR_INFO_DELIVER_CODE          (1u << 11)
#define INTR_TYPE_EXT_INTR              (0u << 8)
#define INTR_TYPE_NMI                   (2u << 8)
#define INTR_TYPE_MASK                  (7u << 8)
#define INTR_TYPE_HARD_EXCEPTION        (3u << 8)
#define INTR_TYPE_SOFT_EXCEPTION        (6u << 8)

/* EPT entries (SDM 29.3.2) and EPTP (SDM 25.6.11). */
#define EPT_READ                        (1ull << 0)
#define EPT_WRITE                       (1ull << 1)
#define EPT_EXEC                        (1ull << 2)
#define EPT_MT_UC                       (0ull << 3)
#define EPT_MT_WB                       (6ull << 3)
#define EPT_IGNORE_PAT                  (1ull << 6)
#define EPT_LARGE                       (1ull << 7)
#define EPTP_MT_WB                      6ull
#define EPTP_WALK_4                     (3ull << 3)

/* VMCS field encodings (SDM appendix B). */
enum vmcs_field {
	VIRTUAL_PROCESSOR_ID            = 0x00000000,
	GUEST_ES_SELECTOR               = 0x00000800,
	GUEST_CS_SELECTOR               = 0x00000802,
	GUEST_SS_SELECTOR               = 0x00000804,
	GUEST_DS_SELECTOR               = 0x00000806,
	GUEST_FS_SELECTOR               = 0x00000808,
	GUEST_GS_SELECTOR               = 0x0000080a,
	GUEST_LDTR_SELECTOR             = 0x0000080c,
	GUEST_TR_SELECTOR               = 0x0000080e,
	HOST_ES_SELECTOR                = 0x00000c00,
	HOST_CS_SELECTOR                = 0x00000c02,
	HOST_SS_SELECTOR                = 0x00000c04,
	HOST_DS_SELECTOR                = 0x00000c06,
	HOST_FS_SELECTOR                = 0x00000c08,
	HOST_GS_SELECTOR                = 0x00000c0a,
	HOST_TR_SELECTOR                = 0x00000c0c,
	IO_BITMAP_A                     = 0x00002000,
	IO_BITMAP_B                     = 0x00002002,
	MSR_BITMAP                      = 0x00002004,
	VM_EXIT_MSR_STORE_ADDR          = 0x00002006,
	VM_EXIT_MSR_LOAD_ADDR           = 0x00002008,
	VM_ENTRY_MSR_LOAD_ADDR          = 0x0000200a,
	TSC_OFFSET                      = 0x00002010,
	EPT_POINTER                     = 0x0000201a,
	GUEST_PHYSICAL_ADDRESS          = 0x00002400,
	VMCS_LINK_POINTER               = 0x00002800,
	GUEST_IA32_DEBUGCTL             = 0x00002802,
	GUEST_IA32_PAT                  = 0x00002804,
	GUEST_IA32_EFER                 = 0x00002806,
	GUEST_PDPTR0                    = 0x0000280a,
	GUEST_PDPTR1                    = 0x0000280c,
	GUEST_PDPTR2                    = 0x0000280e,
	GUEST_PDPTR3                    = 0x00002810,
	HOST_IA32_PAT                   = 0x00002c00,
	HOST_IA32_EFER                  = 0x00002c02,
	PIN_BASED_VM_EXEC_CONTROL       = 0x00004000,
	CPU_BASED_VM_EXEC_CONTROL       = 0x00004002,
	EXCEPTION_BITMAP                = 0x00004004,
	PAGE_FAULT_ERROR_CODE_MASK      = 0x00004006,
	PAGE_FAULT_ERROR_CODE_MATCH     = 0x00004008,
	CR3_TARGET_COUNT                = 0x0000400a,
	VM_EXIT_CONTROLS                = 0x0000400c,
	VM_EXIT_MSR_STORE_COUNT         = 0x0000400e,
	VM_EXIT_MSR_LOAD_COUNT          = 0x00004010,
	VM_ENTRY_CONTROLS               = 0x00004012,
	VM_ENTRY_MSR_LOAD_COUNT         = 0x00004014,
	VM_ENTRY_INTR_INFO_FIELD        = 0x00004016,
	VM_ENTRY_EXCEPTION_ERROR_CODE   = 0x00004018,
	VM_ENTRY_INSTRUCTION_LEN        = 0x0000401a,
	TPR_THRESHOLD                   = 0x0000401c,
	SECONDARY_VM_EXEC_CONTROL       = 0x0000401e,
	PLE_GAP                         = 0x00004020,
	PLE_WINDOW                      = 0x00004022,
	VM_INSTRUCTION_ERROR            = 0x00004400,
	VM_EXIT_REASON                  = 0x00004402,
	VM_EXIT_INTR_INFO               = 0x00004404,
	VM_EXIT_INTR_ERROR_CODE         = 0x00004406,
	IDT_VECTORING_INFO_FIELD        = 0x00004408,
	IDT_VECTORING_ERROR_CODE        = 0x0000440a,
	VM_EXIT_INSTRUCTION_LEN         = 0x0000440c,
	VMX_INSTRUCTION_INFO            = 0x0000440e,
	GUEST_ES_LIMIT                  = 0x00004800,
	GUEST_CS_LIMIT                  = 0x00004802,
	GUEST_SS_LIMIT                  = 0x00004804,
	GUEST_DS_LIMIT                  = 0x00004806,
	GUEST_FS_LIMIT                  = 0x00004808,
	GUEST_GS_LIMIT                  = 0x0000480a,
	GUEST_LDTR_LIMIT                = 0x0000480c,
	GUEST_TR_LIMIT                  = 0x0000480e,
	GUEST_GDTR_LIMIT                = 0x00004810,
	GUEST_IDTR_LIMIT                = 0x00004812,
	GUEST_ES_AR_BYTES               = 0x00004814,
	GUEST_CS_AR_BYTES               = 0x00004816,
	GUEST_SS_AR_BYTES               = 0x00004818,
	GUEST_DS_AR_BYTES               = 0x0000481a,
	GUEST_FS_AR_BYTES               = 0x0000481c,
	GUEST_GS_AR_BYTES               = 0x0000481e,
	GUEST_LDTR_AR_BYTES             = 0x00004820,
	GUEST_TR_AR_BYTES               = 0x00004822,
	GUEST_INTERRUPTIBILITY_INFO     = 0x00004824,
	GUEST_ACTIVITY_STATE            = 0x00004826,
	GUEST_SYSENTER_CS               = 0x0000482a,
	VMX_PREEMPTION_TIMER_VALUE      = 0x0000482e,
	HOST_IA32_SYSENTER_CS           = 0x00004c00,
	CR0_GUEST_HOST_MASK             = 0x00006000,
	CR4_GUEST_HOST_MASK             = 0x00006002,
	CR0_READ_SHADOW                 = 0x00006004,
	CR4_READ_SHADOW                 = 0x00006006,
	EXIT_QUALIFICATION              = 0x00006400,
	GUEST_LINEAR_ADDRESS            = 0x0000640a,
	GUEST_CR0                       = 0x00006800,
	GUEST_CR3                       = 0x00006802,
	GUEST_CR4                       = 0x00006804,
	GUEST_ES_BASE                   = 0x00006806,
	GUEST_CS_BASE                   = 0x00006808,
	GUEST_SS_BASE                   = 0x0000680a,
	GUEST_DS_BASE                   = 0x0000680c,
	GUEST_FS_BASE                   = 0x0000680e,
	GUEST_GS_BASE                   = 0x00006810,
	GUEST_LDTR_BASE                 = 0x00006812,
	GUEST_TR_BASE                   = 0x00006814,
	GUEST_GDTR_BASE                 = 0x00006816,
	GUEST_IDTR_BASE                 = 0x00006818,
	GUEST_DR7                       = 0x0000681a,
	GUEST_RSP                       = 0x0000681c,
	GUEST_RIP                       = 0x0000681e,
	GUEST_RFLAGS                    = 0x00006820,
	GUEST_PENDING_DBG_EXCEPTIONS    = 0x00006822,
	GUEST_SYSENTER_ESP              = 0x00006824,
	GUEST_SYSENTER_EIP              = 0x00006826,
	HOST_CR0                        = 0x00006c00,
	HOST_CR3                        = 0x00006c02,
	HOST_CR4                        = 0x00006c04,
	HOST_FS_BASE                    = 0x00006c06,
	HOST_GS_BASE                    = 0x00006c08,
	HOST_TR_BASE                    = 0x00006c0a,
	HOST_GDTR_BASE                  = 0x00006c0c,
	HOST_IDTR_BASE                  = 0x00006c0e,
	HOST_IA32_SYSENTER_ESP          = 0x00006c10,
	HOST_IA32_SYSENTER_EIP          = 0x00006c12,
	HOST_RSP                        = 0x00006c14,
	HOST_RIP                        = 0x00006c16,
};


/* ---- Added for the VMX backend (vmm/vmx/) ---- */

/* IA32_VMX_BASIC (SDM A.1): revision id, VMCS region size. */
#define VMX_BASIC_REVISION_MASK         0x7fffffffull
#define VMX_BASIC_VMCS_SIZE(basic)      (((basic) >> 32) & 0x1fff)

/* IA32_VMX_EPT_VPID_CAP (SDM A.10). */
#define EPT_CAP_WALK_4                  (1ull << 6)
#define EPT_CAP_WB                      (1ull << 14)
#define EPT_CAP_2MB_PAGES               (1ull << 16)

/* Guest segment access rights (SDM 25.4.1, table 25-2): bit 16 "unusable",
 * bit 13 "L" (64-bit code segment). */
#define VMX_AR_UNUSABLE                 (1u << 16)
#define VMX_AR_L                        (1u << 13)

/* Guest interruptibility state (SDM 25.4.2, table 25-3). */
#define GUEST_INTR_STATE_STI            (1u << 0)
#define GUEST_INTR_STATE_MOV_SS         (1u << 1)
#define GUEST_INTR_STATE_NMI            (1u << 3)

/* Exit qualification for control-register accesses (SDM 28.2.1, table 28-3). */
#define CR_QUAL_CR(q)                   ((q) & 15)
#define CR_QUAL_TYPE(q)                 (((q) >> 4) & 3)
#define CR_QUAL_GPR(q)                  (((q) >> 8) & 15)
#define CR_QUAL_LMSW_DATA(q)            (((q) >> 16) & 0xffff)
#define CR_TYPE_MOV_TO_CR               0
#define CR_TYPE_MOV_FROM_CR             1
#define CR_TYPE_CLTS                    2
#define CR_TYPE_LMSW                    3

/* Exit qualification for I/O instructions (SDM 28.2.1, table 28-5). */
#define IO_QUAL_SIZE(q)                 (((q) & 7) + 1)
#define IO_QUAL_IN                      (1u << 3)
#define IO_QUAL_STRING                  (1u << 4)
#define IO_QUAL_REP                     (1u << 5)
#define IO_QUAL_PORT(q)                 (((q) >> 16) & 0xffff)

/* VM-exit interruption information (SDM 25.9.2, table 25-19). */
#define INTR_INFO_VECTOR(i)             ((i) & 0xff)

/* VMX I/O bitmaps and MSR bitmap layout (SDM 25.6.4, 25.6.9). */
#define MSR_BITMAP_READ_LOW             0x000	/* MSRs 0x00000000-0x00001fff */
#define MSR_BITMAP_READ_HIGH            0x400	/* MSRs 0xc0000000-0xc0001fff */
#define MSR_BITMAP_WRITE_LOW            0x800
#define MSR_BITMAP_WRITE_HIGH           0xc00

#endif
