/*
 * Runtime support for the generated policy handlers (see actions.h).
 */
#include <stdarg.h>
#include <lib/printk.h>
#include "actions.h"
#include "exits.h"
#include "policy.h"
#include "vmm.h"

uint64_t act_log_due(struct vcpu *v, struct act_ratelimit *rl)
{
	uint64_t n = __atomic_add_fetch(&rl->count[v->guest->second], 1, __ATOMIC_RELAXED);

	/* After the burst, print only when n is a power of two. */
	return n <= ACT_LOG_BURST || (n & (n - 1)) == 0 ? n : 0;
}

void act_log(struct vcpu *v, struct act_ratelimit *rl, const char *rule, const char *fmt, ...)
{
	uint64_t n = act_log_due(v, rl);
	char msg[224];	/* a system call and its six arguments */
	va_list ap;

	if (!n)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > ACT_LOG_BURST)
		printk("%s: rip 0x%lx: %s [#%lu, quieter from now on]\n", rule, vcpu_rip(v), msg, n);
	else
		printk("%s: rip 0x%lx: %s\n", rule, vcpu_rip(v), msg);
}

uint64_t act_scale(uint64_t val, uint64_t num, uint64_t den)
{
	/* val = q * den + r, so val * num / den = q * num + r * num / den,
	 * and r * num < 2^64 because both are below 2^32. */
	uint64_t q = val / den, r = val % den;

	return q * num + r * num / den;
}

uint64_t act_rdtscp(uint32_t *aux)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(*aux));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t act_rdpmc(uint32_t counter)
{
	uint32_t lo, hi;

	__asm__ volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(counter));
	return ((uint64_t)hi << 32) | lo;
}

void act_wbinvd(void)
{
	__asm__ volatile("wbinvd" : : : "memory");
}

void act_io_set_in(struct vcpu *v, uint32_t val)
{
	/* IN AL/AX keeps the rest of RAX; IN EAX clears the upper half (SDM Vol. 1 3.4.1.1). */
	switch (v->exit.io.size) {
	case 1:
		v->regs.rax = (v->regs.rax & ~0xffull) | (uint8_t)val;
		break;
	case 2:
		v->regs.rax = (v->regs.rax & ~0xffffull) | (uint16_t)val;
		break;
	default:
		v->regs.rax = val;
		break;
	}
}

uint32_t act_io_value(struct vcpu *v)
{
	switch (v->exit.io.size) {
	case 1:
		return (uint8_t)v->regs.rax;
	case 2:
		return (uint16_t)v->regs.rax;
	default:
		return (uint32_t)v->regs.rax;
	}
}

int act_msr_emulate(struct vcpu *v)
{
	uint32_t msr = v->exit.msr.index;
	uint64_t val;

	if (v->exit.msr.write) {
		if (wrmsr_safe(msr, vcpu_edx_eax(v)))
			goto fault;
	} else {
		if (rdmsr_safe(msr, &val))
			goto fault;
		vcpu_set_edx_eax(v, val);
	}
	vcpu_skip(v);
	return EXIT_RESUME;
fault:
	vcpu_inject(v, VEC_GP, true, 0);	/* the CPU has no such MSR, or refuses the value */
	return EXIT_RESUME;
}

void act_io_on(struct vcpu *v, uint16_t port, uint32_t val)
{
	if (v->exit.io.in) {
		if (v->exit.io.size == 1)
			val = inb(port);
		else if (v->exit.io.size == 2)
			val = inw(port);
		else
			val = inl(port);
		act_io_set_in(v, val);
	} else {
		if (v->exit.io.size == 1)
			outb(port, val);
		else if (v->exit.io.size == 2)
			outw(port, val);
		else
			outl(port, val);
	}
	vcpu_skip(v);
}

int act_io_emulate(struct vcpu *v)
{
	uint16_t port = v->exit.io.port;
	uint32_t val = act_io_value(v);

	/* Every OUT on the hardware is the core's to check first: the bytes
	 * that would reset the machine, put it to sleep or turn A20 off. */
	if (!v->exit.io.in && core_io_out(v, &val) == EXIT_STOP)
		return EXIT_STOP;
	if (v->exit.io.string)
		return vcpu_stop(v, "string I/O on port 0x%x is not emulated", port);
	act_io_on(v, port, val);
	return EXIT_RESUME;
}

uint32_t act_cpuid_os_bits(struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t ecx)
{
	if (leaf != 1 && (leaf != 7 || subleaf != 0))
		return ecx;
	uint32_t bit = leaf == 1 ? CPUID_1_ECX_OSXSAVE : CPUID_7_ECX_OSPKE;
	uint32_t feature = leaf == 1 ? CPUID_1_ECX_XSAVE : CPUID_7_ECX_PKU;
	uint64_t cr4_bit = leaf == 1 ? CR4_OSXSAVE : CR4_PKE;

	ecx &= ~bit;
	if ((ecx & feature) && (vcpu_cr(v, 4) & cr4_bit))
		ecx |= bit;
	return ecx;
}

int act_cr_read(struct vcpu *v, uint64_t val)
{
	if (v->exit.cr.gpr < 0)
		return vcpu_stop(v, "MOV from CR%d: register operand unknown", v->exit.cr.cr);
	*vcpu_gpr(v, v->exit.cr.gpr) = val;
	vcpu_skip(v);
	return EXIT_RESUME;
}

int act_cr_write(struct vcpu *v)
{
	if (v->exit.cr.gpr < 0)
		return vcpu_stop(v, "write to CR%d without a register operand (CLTS, LMSW) is not emulated",
				 v->exit.cr.cr);
	if (!vcpu_set_cr(v, v->exit.cr.cr, *vcpu_gpr(v, v->exit.cr.gpr))) {
		vcpu_inject(v, VEC_GP, true, 0);	/* as the CPU refuses it */
		return EXIT_RESUME;
	}
	vcpu_skip(v);
	return EXIT_RESUME;
}

uint64_t act_cr_value(struct vcpu *v)
{
	return v->exit.cr.gpr < 0 ? 0 : *vcpu_gpr(v, v->exit.cr.gpr);
}

bool act_has_error_code(int vector)
{
	/* SDM 6.3.1, table 6-1: #DF, #TS, #NP, #SS, #GP, #PF, #AC. */
	switch (vector) {
	case VEC_DF: case VEC_TS: case VEC_NP: case VEC_SS:
	case VEC_GP: case VEC_PF: case VEC_AC:
		return true;
	default:
		return false;
	}
}

int act_reflect(struct vcpu *v)
{
	bool err = act_has_error_code(v->exit.vector);

	vcpu_inject(v, v->exit.vector, err, err ? v->exit.error_code : 0);
	return EXIT_RESUME;
}
