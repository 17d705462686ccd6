/*
 * The virtual CPU as the core and the policy handlers see it: backend-neutral.
 *
 * A handler (generated from the policy, or one of the core's own in
 * vmm/exits.c) receives a struct vcpu whose general registers are already
 * saved in v->regs and whose exit has been decoded into v->exit by the
 * backend. It reads and writes guest state only through v->regs and the
 * vcpu_* accessors below, never through VMCS or VMCB fields: that is what
 * lets one handler body serve both Intel VMX and AMD SVM.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <stdbool.h>
#include <stdint.h>

/* Guest general registers, saved on every exit, restored on every entry.
 * rax and rsp are mirrored from/to the VMCB on SVM, rsp from/to the VMCS on
 * VMX, so a handler always finds all sixteen here. */
struct guest_regs {
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/* What a handler returns. */
enum exit_action {
	EXIT_RESUME = 0,	/* enter the guest again */
	EXIT_STOP = 1,		/* stop the guest (the handler has said why) */
};

/* The exit, decoded by the backend into neutral terms. code, rip,
 * qualification and entry_failed are set on every exit; gpa, io, msr, cr,
 * vector and error_code only on their kind of exit: they keep an older
 * exit's values otherwise (the backends do not clear them, to keep exits
 * cheap), so only that kind's handlers may read them. Nor is the exit's
 * name here: vcpu_exit_name() looks it up for the messages that print it,
 * which most exits never reach. */
struct exit_info {
	uint32_t code;		/* hardware exit reason (VMX) / EXITCODE (SVM) */
	uint64_t rip;		/* the guest's RIP at the exit */
	uint64_t qualification;	/* VMX exit qualification / SVM EXITINFO1 */
	uint64_t gpa;		/* EPT/NPT faults: the guest-physical address */
	bool gpa_write;		/* EPT/NPT faults: the access was a write */
	bool gpa_walk;		/* NPT faults: by the walk of the guest's page tables */
	bool gpa_fetch;		/* EPT/NPT faults: an instruction fetch */
	bool gpa_event;		/* EPT/NPT faults: while delivering an event (IDT, stack) */
	struct {		/* I/O instruction exits */
		uint16_t port;
		uint8_t size;	/* 1, 2 or 4 */
		bool in;	/* IN (true) or OUT (false) */
		bool string;	/* INS/OUTS */
		bool rep;
	} io;
	struct {		/* RDMSR/WRMSR exits */
		uint32_t index;	/* ECX */
		bool write;
	} msr;
	struct {		/* control-register access exits */
		int cr;		/* 0, 3, 4 or 8 */
		bool write;
		int gpr;	/* index into struct guest_regs, or -1 if unknown */
	} cr;
	bool entry_failed;	/* VM entry failed: nothing ran */
	const char *failure;	/* a VM entry that failed without a VM exit (VMX's
				 * VMfailInvalid/VMfailValid): why, for the report;
				 * NULL otherwise (the guest stops at the first) */
	int vector;		/* exception exits: the vector */
	uint32_t error_code;	/* exception exits: the error code, if any */
};

struct vcpu;
typedef int (*exit_handler_t)(struct vcpu *v);

/* Exit codes as slots of a handler table: every code from 0 to
 * VCPU_EXIT_SLOTS - 2 has its own, the codes beyond (VMX's VMfail, none of
 * the policy's) share the last. The same slots as the statistics'
 * (stats_slot in stats.h; vcpu.c checks that the two agree). */
#define VCPU_EXIT_SLOTS	0x402	/* SVM's largest table, plus one for the rest */

/*
 * One virtual CPU: everything that belongs to this guest's CPU and not to
 * the physical CPU or to lvisor as a whole, so that two of them could run
 * at once, one per CPU, each with its own policy.
 */
struct policy;
struct policy_io_grant;
struct guest;
struct stats;

struct vcpu {
	struct guest_regs regs;
	struct exit_info exit;
	void *arch;		/* the backend's: struct svm_vcpu (svm.h), struct vmx_vcpu (vmx.h) */
	/* The policy this vCPU runs (policy.h), set by vcpu_create: the
	 * backend builds the vCPU's controls and bitmaps from it. */
	const struct policy *policy;
	/* The guest whose CPU this is (vmm.h): its memory, for EPT/NPT and
	 * for reading guest memory. */
	struct guest *guest;
	/* The ports the backend's I/O bitmap lets through: the policy's
	 * grants, or for the second guest the core's (COM2 only). */
	const struct policy_io_grant *io_grants;
	unsigned io_grant_count;
	/* This vCPU's exit statistics and trace (stats.h), from the run loop
	 * on: each vCPU counts its own, so two CPUs never share a counter. */
	struct stats *stats;
	/* The policy's handlers, by slot (stats_slot), its gaps filled with
	 * core_unhandled (vcpu_create): finding an exit's handler is one
	 * load, from the vCPU's own table, so each vCPU runs its own policy. */
	exit_handler_t handlers[VCPU_EXIT_SLOTS];
	/* The guest's EFER bits that its policy keeps out of the CPU's EFER
	 * (policy->efer_hide: SCE under a `syscall` rule, vmm/syscall.c), as
	 * the guest last wrote them: RDMSR shows them, WRMSR sets them here. */
	uint64_t efer_hidden;
};

/* Segment registers, for the state dump. */
enum seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_NR };
struct segment {
	uint16_t selector;
	uint32_t limit;
	uint64_t base;
	uint32_t attrib;	/* in the backend's own encoding, printed raw */
};
/* Segment attributes in descriptor order (bits 40-47 and 52-55 of the
 * descriptor, packed as SVM keeps them, APM B.2), for far_transfer. */
#define SEG_ATTR_TYPE(t)	(t)		/* 0xb: code, execute/read, accessed; 3: data, read/write, accessed */
#define SEG_ATTR_S		(1u << 4)	/* code or data, not system */
#define SEG_ATTR_DPL(d)		((d) << 5)
#define SEG_ATTR_P		(1u << 7)
#define SEG_ATTR_L		(1u << 9)	/* 64-bit code */
#define SEG_ATTR_DB		(1u << 10)	/* 32-bit code / big stack */
#define SEG_ATTR_G		(1u << 11)	/* limit in 4 KiB units */

/* A load or store that faulted (an MMIO page lvisor mediates), decoded
 * from the guest's instruction by the backend: what the guest meant to
 * write, or which register it loads, and how long its instruction is. */
struct mmio_access {
	bool load;		/* a load into register reg; else a store of value */
	int reg;		/* loads: index into struct guest_regs */
	bool high8;		/* size 1: bits 15:8 of reg (AH, CH, DH, BH) */
	uint64_t value;		/* stores: the value, size bytes of it */
	unsigned size;		/* bytes: 1, 2, 4 or 8 */
	unsigned len;		/* the instruction's length */
};

/* Where the guest's code is and how it runs, for the instruction decoder
 * (vmm/decode.c). */
struct code_mode {
	uint64_t linear_rip;	/* CS.base + RIP (CS.base is 0 in 64-bit mode) */
	bool long64;		/* 64-bit mode: REX prefixes */
	unsigned op, addr;	/* default operand and address sizes, bytes */
};

/*
 * The backend's part. vmm/svm/svm.c and vmm/vmx/vmx.c each define one;
 * vmm/main.c picks one by CPUID and stores it in `backend`.
 */
struct backend {
	const char *name;				/* "SVM" or "VMX" */
	/* A policy's exit table for this backend, by hardware exit code,
	 * with nexits entries. */
	const exit_handler_t *(*exits)(const struct policy *p);
	uint32_t nexits;
	uint32_t io_exit;				/* the exit code of IN/OUT */
	bool hex_reasons;				/* print exit codes in hex, as the manual does */
	/* An INIT exit takes the INIT: resuming the guest after it is safe
	 * (VMX, SDM 26.2). Not on SVM, where the INIT stays pending. */
	bool init_exit_consumes;
	bool (*detect)(void);				/* CPUID says the CPU has it */
	int (*init)(void);				/* enable; 0 on success */
	/* The vCPU's backend state, v->arch, from its policy v->policy
	 * (which it checks against the CPU first); the guest starts in real
	 * mode at IP 0 with CS base cs_base (include/lvisor/handoff.h). On
	 * the CPU that will run it. */
	int (*create)(struct vcpu *v, uint64_t cs_base);
	void (*run)(struct vcpu *v);			/* enter the guest; returns at the next exit with v->exit filled */
	const char *(*exit_name)(uint32_t code);
	/* accessors */
	uint64_t (*rip)(struct vcpu *v);
	void (*set_rip)(struct vcpu *v, uint64_t rip);
	void (*skip)(struct vcpu *v);			/* advance RIP past the exiting instruction */
	void (*inject)(struct vcpu *v, int vector, bool has_error, uint32_t error);
	uint64_t (*cr)(struct vcpu *v, int n);		/* the guest's CR0/2/3/4 as the guest sees them */
	bool (*set_cr)(struct vcpu *v, int n, uint64_t val);	/* false: the CPU would #GP */
	uint64_t (*efer)(struct vcpu *v);
	void (*set_efer)(struct vcpu *v, uint64_t val);
	uint64_t (*pat)(struct vcpu *v);		/* the guest's IA32_PAT (VMCS / VMCB G_PAT) */
	void (*set_pat)(struct vcpu *v, uint64_t val);
	uint64_t (*rflags)(struct vcpu *v);
	void (*segment)(struct vcpu *v, enum seg s, struct segment *out);
	void (*dump_extra)(struct vcpu *v);		/* backend-only state for the dump */
	/* Called from lvisor's NMI handler: give the guest an NMI at the next
	 * entry if that can be done safely now (true); NULL: never. */
	bool (*queue_nmi)(struct vcpu *v);
	/* The load or store at the guest's CS:RIP that made a nested page
	 * fault or EPT violation: false with *why set if it is not one lvisor
	 * decodes (mmio_decode, vmm/decode.c, for both backends). */
	bool (*decode_mmio)(struct vcpu *v, struct mmio_access *a, const char **why);
	void (*code_mode)(struct vcpu *v, struct code_mode *m);	/* for the decoder */
	/* Advance RIP past an instruction of len bytes that lvisor decoded
	 * and carried out (a nested page fault's, whose length the CPU does
	 * not give), as skip does. */
	void (*skip_len)(struct vcpu *v, unsigned len);
	/* SYSCALL and SYSRET, carried out by lvisor (vmm/syscall.c): load CS
	 * and SS, selector and hidden part (attrib here in descriptor order,
	 * SEG_ATTR_* below, whatever the backend's encoding), the CPL that
	 * SS.DPL gives, RIP and RFLAGS; as at the end of any instruction, the
	 * interrupt shadow of a preceding STI or MOV SS ends. */
	void (*far_transfer)(struct vcpu *v, const struct segment *cs, const struct segment *ss,
			     uint64_t rip, uint64_t rflags);
	unsigned (*cpl)(struct vcpu *v);		/* the guest's current privilege level */
	/* SYSCALL and SYSRET exist outside 64-bit mode too (AMD: APM Vol. 3);
	 * on Intel they raise #UD there (SDM Vol. 2B). */
	bool syscall_legacy;
};

extern const struct backend *backend;
/* The boot CPU's vCPU once in its run loop, NULL before: trap.c's NMI
 * path hands NMIs to it alone. */
extern struct vcpu *vcpu_current;
struct vcpu *vcpu_here(void);			/* the vCPU in this CPU's run loop, or NULL */

static inline uint64_t vcpu_rip(struct vcpu *v) { return backend->rip(v); }
static inline void vcpu_skip(struct vcpu *v) { backend->skip(v); }
static inline void vcpu_inject(struct vcpu *v, int vector, bool has_error, uint32_t error)
{
	backend->inject(v, vector, has_error, error);
}
static inline uint64_t vcpu_cr(struct vcpu *v, int n) { return backend->cr(v, n); }
static inline bool vcpu_set_cr(struct vcpu *v, int n, uint64_t val) { return backend->set_cr(v, n, val); }

/* RDTSC/RDMSR-style results: EDX:EAX, upper halves of RAX/RDX cleared. */
static inline void vcpu_set_edx_eax(struct vcpu *v, uint64_t val)
{
	v->regs.rax = (uint32_t)val;
	v->regs.rdx = val >> 32;
}
static inline uint64_t vcpu_edx_eax(struct vcpu *v)
{
	return (v->regs.rdx << 32) | (uint32_t)v->regs.rax;
}

/* The exit's manual name, e.g. "RDTSC": for messages. */
static inline const char *vcpu_exit_name(struct vcpu *v) { return backend->exit_name(v->exit.code); }

/* vmm/vcpu.c */
/* Create v on this CPU, to run policy p as guest g's CPU; 0 on success. */
int vcpu_create(struct vcpu *v, const struct policy *p, struct guest *g, uint64_t cs_base);
void vcpu_run_loop(struct vcpu *v);		/* enter, dispatch, repeat until a handler stops */
void vcpu_dump(struct vcpu *v);			/* print the guest state */
int vcpu_stop(struct vcpu *v, const char *fmt, ...);	/* print why + dump; returns EXIT_STOP */
uint64_t *vcpu_gpr(struct vcpu *v, int index);	/* 0=rax ... 15=r15 (SDM/APM register numbering) */
/* Complete a decoded MMIO load: the value into its register as MOV puts it
 * (a 32-bit load zeroes the upper half, SDM 3.4.1.1; a 16-bit one keeps
 * it), and RIP past the instruction. */
void vcpu_mmio_load(struct vcpu *v, const struct mmio_access *a, uint64_t value);

#endif
