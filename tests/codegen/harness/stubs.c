/*
 * Stand-ins for the VMM core, so that a policy's generated C and
 * vmm/actions.c run as an ordinary Linux program: the core's handlers
 * record that they were called, the backend accessors record what a
 * handler asked for. (Rules that touch real ports or MSRs, io/msr
 * "emulate", cannot run here: the tests use constant/ignore/inject.)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include "vcpu.h"
#include "actions.h"
#include "exits.h"
#include "stubs.h"

const char *stub_called = "";
int stub_skips, stub_inject_vector = -1, stub_inject_has_error, stub_set_cr_n = -1;
uint32_t stub_inject_error;
uint64_t stub_set_cr_val;
int stub_log_lines;

uint64_t tsc_hz = 2500000000ull;	/* 2.5 GHz */
uint64_t tsc_boot;

uint64_t tsc_now(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#define CORE(name) int name(struct vcpu *v) { (void)v; stub_called = #name; return 7; }
CORE(core_unhandled)
CORE(core_triple_fault)
CORE(core_vmm_memory)
CORE(core_npf)
CORE(core_virt_instruction)
CORE(core_invalid_state)
CORE(core_cpuid)
CORE(core_xsetbv)
CORE(core_invd)
CORE(core_hypercall_ud)
CORE(core_msr)
CORE(core_cr_access)
CORE(core_poweroff_io)
CORE(core_reset_io)
CORE(core_absent_io)
CORE(core_pci_io)
CORE(core_init_signal)

bool core_msr_is_own(uint32_t msr, bool write)
{
	(void)write;
	return msr == 0xc0000080;
}

/* MSR 0x10 reads as 0x123456789, MSR 0x11 does not exist; writes to MSRs
 * below 0x100 are taken. */
int rdmsr_safe(uint32_t msr, uint64_t *val)
{
	*val = 0x123456789ull;
	stub_called = "rdmsr_safe";
	return msr == 0x11 ? -1 : 0;
}

int wrmsr_safe(uint32_t msr, uint64_t val)
{
	(void)val;
	stub_called = "wrmsr_safe";
	return msr < 0x100 ? 0 : -1;
}

/* The core's check of every OUT (vmm/reset.c): nothing to refuse here. */
int core_io_out(struct vcpu *v, uint32_t *val)
{
	(void)v;
	(void)val;
	return EXIT_RESUME;
}

void stats_print(void)
{
	stub_called = "stats_print";
}

/* vmm/syscall.c: the #UD's instruction is what the test says (sys=N:
 * ACT_SYS_NONE, _CALL, _RET, _STOPPED); carrying it out is recorded. */
int stub_sys, stub_sys_counted;

int act_sys_decode(struct vcpu *v, struct act_sys *s)
{
	(void)v;
	s->len = 2;
	s->rex_w = true;
	return stub_sys;
}

#define SYS(name) int name(struct vcpu *v, const struct act_sys *s) \
	{ (void)v; (void)s; stub_called = #name; return EXIT_RESUME; }
SYS(act_syscall)
SYS(act_sysret)

int act_syscall_unhandled(struct vcpu *v, const char *rule)
{
	(void)v;
	(void)rule;
	stub_called = "act_syscall_unhandled";
	return EXIT_STOP;
}

void act_syscall_count(struct vcpu *v, struct syscall_counts *c)
{
	c->count[0][v->regs.rax < SYSCALL_COUNT_MAX ? v->regs.rax : SYSCALL_COUNT_MAX]++;
	stub_sys_counted++;
}

static uint64_t rip(struct vcpu *v) { (void)v; return 0x1000; }
static void skip(struct vcpu *v) { (void)v; stub_skips++; }
static void inject(struct vcpu *v, int vector, bool has_error, uint32_t error)
{
	(void)v;
	stub_inject_vector = vector;
	stub_inject_has_error = has_error;
	stub_inject_error = error;
}
static uint64_t cr(struct vcpu *v, int n) { (void)v; return 0x100 + n; }
static bool set_cr(struct vcpu *v, int n, uint64_t val)
{
	(void)v;
	stub_set_cr_n = n;
	stub_set_cr_val = val;
	return !(val >> 32);	/* a value the CPU would refuse: #GP */
}

static const struct backend fake = {
	.name = "fake", .rip = rip, .skip = skip, .inject = inject, .cr = cr, .set_cr = set_cr,
};
const struct backend *backend = &fake;

uint64_t *vcpu_gpr(struct vcpu *v, int index)
{
	return &(&v->regs.rax)[index];
}

int vcpu_stop(struct vcpu *v, const char *fmt, ...)
{
	(void)v;
	(void)fmt;
	stub_called = "vcpu_stop";
	return EXIT_STOP;
}

int printk(const char *fmt, ...)
{
	va_list ap;
	int n;

	stub_log_lines++;
	va_start(ap, fmt);
	n = vfprintf(stderr, fmt, ap);
	va_end(ap);
	return n;
}
