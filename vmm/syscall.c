/*
 * The `syscall` policy event: SYSCALL and SYSRET, carried out by lvisor.
 *
 * Neither instruction exits, on VMX or on SVM: there is no control for
 * them. But both raise #UD when EFER.SCE is 0 (SDM Vol. 2B and APM Vol. 3,
 * SYSCALL and SYSRET), and #UD can be intercepted. So under a policy with a
 * `syscall` rule the CPU's EFER never has SCE while the guest runs
 * (policy->efer_hide; the guest's own SCE is vcpu->efer_hidden, which
 * RDMSR and WRMSR of EFER see, vmm/exits.c), #UD exits, and the generated
 * exit_exception hands it here first: a SYSCALL or SYSRET that the guest,
 * with its own SCE, may run is done here, as the CPU would; any other #UD
 * is the guest's own. Two exits per system call: one for SYSCALL, one for
 * the kernel's SYSRET.
 *
 * In 64-bit mode on both; in compatibility mode on AMD, whose CPUs run
 * them in long mode whatever CS.L says (APM Vol. 3, SYSCALL: CSTAR, and
 * SYSRET), while Intel's raise #UD outside 64-bit mode (SDM Vol. 2B; so
 * does lvisor, on VMX). AMD's run them in legacy mode too (EFER.LMA 0),
 * which lvisor does not emulate: it stops the guest and says so. The
 * single-step #DB after either follows the RFLAGS.TF it leaves, as on the
 * CPU (the backends' far_transfer).
 */
#include <lib/printk.h>
#include "actions.h"
#include "decode.h"
#include "exits.h"
#include "policy.h"
#include "vmm.h"

/* SYSRET's RFLAGS: R11's bits that it may load (SDM Vol. 2B, SYSRET:
 * "RFLAGS := (R11 & 3C7FD7H) OR 2"; not VM, nor the reserved bits). */
#define SYSRET_RFLAGS	0x3c7fd7ull
#define RFLAGS_FIXED	2ull		/* bit 1 always reads 1 */
#define FLAT_LIMIT	0xffffffffu	/* limit 0xfffff in 4 KiB units */

/* SYSRET's #GP(0): at CPL > 0, or outside protected mode (APM Vol. 3,
 * SYSRET; Intel's only runs in 64-bit mode, SDM Vol. 2B), whatever the mode. */
static bool sysret_gp(struct vcpu *v)
{
	return backend->cpl(v) != 0 || !(vcpu_cr(v, 0) & CR0_PE);
}

/* Is the #UD's instruction SYSCALL or SYSRET, one the guest may run? */
int act_sys_decode(struct vcpu *v, struct act_sys *s)
{
	struct code_mode m;
	uint8_t buf[MAX_INSN_LEN];
	struct prefixes px;
	unsigned n, i;

	/* With its own SCE clear the guest gets the #UD the CPU gave. */
	if (!(v->efer_hidden & EFER_SCE))
		return ACT_SYS_NONE;
	backend->code_mode(v, &m);
	/* Intel: #UD outside 64-bit mode, whatever the bytes (SDM Vol. 2B,
	 * SYSCALL and SYSRET): nothing to read. */
	if (!m.long64 && !backend->syscall_legacy)
		return ACT_SYS_NONE;
	n = insn_fetch(v, m.linear_rip, buf);
	i = insn_prefixes(buf, n, &m, &px);
	if (px.lock)		/* LOCK: #UD, as on the CPU */
		return ACT_SYS_NONE;
	/* What was read may decide already. The CPU raises #UD for an invalid
	 * opcode without fetching past it (a one-byte 06 on a page's last
	 * byte, the next page unmapped): insn_fetch() then reads up to the
	 * page's end only, and that #UD is the guest's. */
	if (i < n && buf[i] != 0x0f)
		return ACT_SYS_NONE;
	if (i + 1 < n && buf[i + 1] != 0x05 && buf[i + 1] != 0x07)
		return ACT_SYS_NONE;
	if (i + 2 > n) {
		if (n == MAX_INSN_LEN)
			return ACT_SYS_NONE;	/* too long: #UD would be #GP, but it is no SYSCALL */
		vcpu_stop(v, "#UD at rip 0x%lx: lvisor cannot read the instruction (a SYSCALL "
			  "or SYSRET?) from guest RAM", m.linear_rip);
		return ACT_SYS_STOPPED;
	}
	s->len = i + 2;
	s->rex_w = px.rex & 8;
	s->long64 = m.long64;
	int kind = buf[i + 1] == 0x05 ? ACT_SYS_CALL : ACT_SYS_RET;
	/* AMD in legacy mode (EFER.LMA 0): SYSRET's #GP(0) comes before
	 * anything else (act_sysret gives it); the rest lvisor does not do.
	 * In compatibility mode (LMA 1, CS.L 0) both are long mode's, below. */
	if (!m.long64 && !(backend->efer(v) & EFER_LMA)) {
		if (kind == ACT_SYS_RET && sysret_gp(v))
			return kind;
		vcpu_stop(v, "%s in legacy mode (EFER.LMA 0) at rip 0x%lx: lvisor emulates SYSCALL "
			  "and SYSRET in long mode only", kind == ACT_SYS_CALL ? "SYSCALL" : "SYSRET",
			  m.linear_rip);
		return ACT_SYS_STOPPED;
	}
	return kind;
}

/*
 * SYSCALL in long mode (SDM Vol. 2B, SYSCALL; APM Vol. 3, SYSCALL): RCX
 * gets the next RIP, R11 RFLAGS (RF cleared), RFLAGS loses the bits of
 * IA32_FMASK and RF; CPL 0 with CS = STAR[47:32] (RPL cleared) and SS =
 * STAR[47:32] + 8, both flat with fixed hidden parts, not read from the
 * GDT; RIP = LSTAR. From compatibility mode (AMD only) the same, but RIP
 * = CSTAR: the CS loaded is a 64-bit one, so the kernel runs in 64-bit
 * mode, and RCX gets the 32-bit code's next EIP. STAR, LSTAR and FMASK are the guest's in the CPU:
 * lvisor never switches them (VMX has no field for them, SVM's VMLOAD
 * loads the guest's, vmm/svm/svm_enter.S).
 */
int act_syscall(struct vcpu *v, const struct act_sys *s)
{
	uint64_t star = rdmsr(MSR_STAR), rflags = backend->rflags(v);
	uint16_t sel = star >> 32;
	struct segment cs = { sel & 0xfffc, FLAT_LIMIT, 0,
			      SEG_ATTR_TYPE(0xb) | SEG_ATTR_S | SEG_ATTR_DPL(0) | SEG_ATTR_P |
			      SEG_ATTR_L | SEG_ATTR_G };
	struct segment ss = { (uint16_t)(sel + 8), FLAT_LIMIT, 0,
			      SEG_ATTR_TYPE(3) | SEG_ATTR_S | SEG_ATTR_DPL(0) | SEG_ATTR_P |
			      SEG_ATTR_DB | SEG_ATTR_G };

	v->regs.rcx = vcpu_rip(v) + s->len;
	if (!s->long64)
		v->regs.rcx = (uint32_t)v->regs.rcx;	/* EIP wraps at 4 GiB */
	v->regs.r11 = rflags & ~(uint64_t)RFLAGS_RF;
	rflags &= ~rdmsr(MSR_SFMASK) & ~(uint64_t)RFLAGS_RF;
	backend->far_transfer(v, &cs, &ss, rdmsr(s->long64 ? MSR_LSTAR : MSR_CSTAR),
			      rflags | RFLAGS_FIXED);
	return EXIT_RESUME;
}

/* Canonical for the guest's paging: 57 bits with CR4.LA57, else 48. */
static bool canonical(struct vcpu *v, uint64_t va)
{
	unsigned bits = vcpu_cr(v, 4) & CR4_LA57 ? 57 : 48;

	return (uint64_t)((int64_t)(va << (64 - bits)) >> (64 - bits)) == va;
}

/*
 * SYSRET in long mode (SDM Vol. 2B, SYSRET; APM Vol. 3, SYSRET, which also
 * runs it from compatibility mode, without REX.W): #GP(0) at CPL > 0, and
 * with REX.W for a non-canonical RCX (Intel's check, before anything
 * changes; AMD would raise it at CPL 3, lvisor does Intel's on both). With
 * REX.W back to 64-bit code: RIP = RCX, CS = STAR[63:48] + 16; without,
 * to compatibility mode: RIP = ECX, CS = STAR[63:48]. RPL 3 in both, SS =
 * STAR[63:48] + 8 with RPL 3, flat, DPL 3 (Intel sets SS's hidden part so;
 * AMD keeps it as it was, which for a 64-bit OS's user stack is the same
 * flat segment); RFLAGS from R11.
 */
int act_sysret(struct vcpu *v, const struct act_sys *s)
{
	uint64_t star = rdmsr(MSR_STAR), rip = v->regs.rcx;
	uint16_t sel = star >> 48;
	uint32_t code = SEG_ATTR_TYPE(0xb) | SEG_ATTR_S | SEG_ATTR_DPL(3) | SEG_ATTR_P | SEG_ATTR_G;

	if (sysret_gp(v) || (s->rex_w && !canonical(v, rip))) {
		vcpu_inject(v, VEC_GP, true, 0);
		return EXIT_RESUME;
	}
	if (s->rex_w) {
		sel += 16;
		code |= SEG_ATTR_L;
	} else {
		rip = (uint32_t)rip;
		code |= SEG_ATTR_DB;
	}
	struct segment cs = { sel | 3, FLAT_LIMIT, 0, code };
	struct segment ss = { (uint16_t)((star >> 48) + 8) | 3, FLAT_LIMIT, 0,
			      SEG_ATTR_TYPE(3) | SEG_ATTR_S | SEG_ATTR_DPL(3) | SEG_ATTR_P |
			      SEG_ATTR_DB | SEG_ATTR_G };
	backend->far_transfer(v, &cs, &ss, rip, (v->regs.r11 & SYSRET_RFLAGS) | RFLAGS_FIXED);
	return EXIT_RESUME;
}

/* `syscall: unhandled`: the guest stops at its first SYSCALL. */
int act_syscall_unhandled(struct vcpu *v, const char *rule)
{
	return vcpu_stop(v, "unhandled system call %lu (rdi 0x%lx, rsi 0x%lx, rdx 0x%lx) (%s)",
			 v->regs.rax, v->regs.rdi, v->regs.rsi, v->regs.rdx, rule);
}

/* `syscall: count`: by number, RAX; those beyond the table together. */
void act_syscall_count(struct vcpu *v, struct syscall_counts *c)
{
	uint64_t nr = v->regs.rax;

	__atomic_fetch_add(&c->count[v->guest->second][nr < SYSCALL_COUNT_MAX ? nr : SYSCALL_COUNT_MAX],
			   1, __ATOMIC_RELAXED);
}

/* With the exit statistics (stats_print_vcpu): the counts of the policy's
 * `syscall: count` rule, by number, for v's guest. */
void syscall_counts_print(struct vcpu *v, const struct syscall_counts *c)
{
	const uint64_t *count = c->count[v->guest->second];
	uint64_t total = 0;

	for (unsigned i = 0; i <= SYSCALL_COUNT_MAX; i++)
		total += count[i];
	printk("%s: %lu system calls\n", c->rule, total);
	for (unsigned i = 0; i <= SYSCALL_COUNT_MAX; i++) {
		if (!count[i])
			continue;
		if (i == SYSCALL_COUNT_MAX)
			printk("  number >= %u %10lu\n", SYSCALL_COUNT_MAX, count[i]);
		else
			printk("  %5u %10lu\n", i, count[i]);
	}
}
