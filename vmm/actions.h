/*
 * Runtime support for the handlers generated from a policy
 * (build/.../gen/policy_actions.c): small helpers that keep the generated
 * code short and backend-neutral. Everything here works through struct vcpu
 * and the vcpu_* accessors only.
 */
#ifndef VMM_ACTIONS_H
#define VMM_ACTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <asm/x86.h>
#include "vcpu.h"

/*
 * `log: true` on a rule. Each rule has its own counter, so a busy rule
 * cannot hide a rare one: the first ACT_LOG_BURST occurrences are printed,
 * then only the 2^k-th ones (with their number), so a rule that fires a
 * million times prints about 30 lines. Two guests without a policy of
 * their own share `policy` and its handlers: each counts apart (indexed by
 * guest->second), so that one's flood cannot quiet the other, and the
 * counts go up atomically (two CPUs, or a guest's own several).
 */
#define ACT_LOG_BURST 10
struct act_ratelimit {
	uint64_t count[2];	/* by guest: [guest->second] */
};
void act_log(struct vcpu *v, struct act_ratelimit *rl, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Count one more occurrence: its number if it is to be printed (the first
 * ACT_LOG_BURST, then each power of two), else 0. */
uint64_t act_log_due(struct vcpu *v, struct act_ratelimit *rl);
/* One counter per call site: ACT_LOG(v, "policies/x.yaml:7: rdtsc: emulate (log)", "...", ...). */
#define ACT_LOG(v, rule, ...) do {					\
		static struct act_ratelimit rl_;			\
		act_log((v), &rl_, (rule), __VA_ARGS__);		\
	} while (0)

/* TSC transforms. val * num / den without overflow for num, den < 2^32
 * (no 128-bit division in a freestanding VMM). */
uint64_t act_scale(uint64_t val, uint64_t num, uint64_t den);
/* RDTSCP on the host; *aux gets IA32_TSC_AUX, which lvisor never switches,
 * so it is the guest's value. */
uint64_t act_rdtscp(uint32_t *aux);

/* Instructions run on the host's behalf ("emulate"). */
uint64_t act_rdpmc(uint32_t counter);
void act_wbinvd(void);

/* CPUID's OSXSAVE (leaf 1) and OSPKE (leaf 7) copy the CR4 of the CPU that
 * runs CPUID, lvisor: act_cpuid_os_bits() takes them from the guest's CR4. */
uint32_t act_cpuid_os_bits(struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t ecx);

/* CPUID results into RAX, RBX, RCX, RDX (upper halves cleared), for the
 * leaf and subleaf still in RAX and RCX. Inline: it is on the path of every
 * CPUID exit, and the common leaves pass by the call. */
static inline void act_set_cpuid(struct vcpu *v, struct cpuid_regs r)
{
	uint32_t leaf = (uint32_t)v->regs.rax;

	v->regs.rax = r.eax;
	v->regs.rbx = r.ebx;
	v->regs.rdx = r.edx;
	if (__builtin_expect((leaf & ~6u) == 1, 0))	/* leaves 1, 3, 5, 7: one test */
		r.ecx = act_cpuid_os_bits(v, leaf, (uint32_t)v->regs.rcx, r.ecx);
	v->regs.rcx = r.ecx;
}

/* I/O: run the guest's IN or OUT on the real port and skip it; string
 * I/O (INS/OUTS) is not emulated: the guest is stopped with a message. */
int act_io_emulate(struct vcpu *v);
/* MSRs: run the guest's RDMSR or WRMSR on the CPU and skip it; #GP in the
 * guest when the CPU raises it (no such MSR, a value it refuses). */
int act_msr_emulate(struct vcpu *v);
/* The result of an IN: val goes into AL, AX or EAX as the access size says. */
void act_io_set_in(struct vcpu *v, uint32_t val);
/* AL, AX or EAX as the access size says: what an OUT writes, or what an IN read. */
uint32_t act_io_value(struct vcpu *v);
/* Carry out the exit's IN or OUT (not a string one), of its size, on port
 * (the exit's own, or another: the second guest's COM1 is COM2): an IN's
 * value into the guest's EAX, an OUT of val; then step past it. */
void act_io_on(struct vcpu *v, uint16_t port, uint32_t val);

/* MOV from CR: the value goes into the instruction's register, then skip.
 * MOV to CR: vcpu_set_cr() with the register's value, then skip (or #GP,
 * for a value the CPU would refuse). Both stop
 * the guest if the backend could not tell the register (gpr < 0). */
int act_cr_read(struct vcpu *v, uint64_t val);
int act_cr_write(struct vcpu *v);
/* The register operand of a MOV to CR, 0 if unknown (for log lines). */
uint64_t act_cr_value(struct vcpu *v);

/*
 * The `syscall` event (vmm/syscall.c): the #UD that SYSCALL and SYSRET
 * raise while the policy keeps EFER.SCE out of the CPU. act_sys_decode()
 * says which instruction it was: ACT_SYS_NONE for any other #UD (the
 * guest's own), ACT_SYS_STOPPED when it stopped the guest (AMD's legacy
 * mode, which lvisor does not emulate them in); act_syscall() and
 * act_sysret() carry them out.
 */
enum { ACT_SYS_NONE, ACT_SYS_CALL, ACT_SYS_RET, ACT_SYS_STOPPED };
struct act_sys {
	unsigned len;		/* prefixes included */
	bool rex_w;		/* SYSRET back to 64-bit code */
	bool long64;		/* from 64-bit mode; else compatibility mode (AMD) */
};
int act_sys_decode(struct vcpu *v, struct act_sys *s);
int act_syscall(struct vcpu *v, const struct act_sys *s);
int act_sysret(struct vcpu *v, const struct act_sys *s);
int act_syscall_unhandled(struct vcpu *v, const char *rule);
/* `syscall: count`: system calls by number (RAX), the last slot for all
 * numbers from SYSCALL_COUNT_MAX on; printed with the exit statistics.
 * By guest, [guest->second]: two guests may share the policy. */
#define SYSCALL_COUNT_MAX	512
struct syscall_counts {
	const char *rule;	/* "policies/x.yaml:7: syscall: count" */
	uint64_t count[2][SYSCALL_COUNT_MAX + 1];
};
void act_syscall_count(struct vcpu *v, struct syscall_counts *c);
void syscall_counts_print(struct vcpu *v, const struct syscall_counts *c);

/* Exceptions: deliver the intercepted exception to the guest unchanged. */
int act_reflect(struct vcpu *v);
bool act_has_error_code(int vector);

#endif
