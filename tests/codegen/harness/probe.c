/*
 * A hosted test program linked with one policy's generated C (policy.c),
 * vmm/actions.c and stubs of the core (stubs.c), and optionally a second
 * policy's generated with --symbol policy2. It shows the tests what the
 * compiler made of the generated C:
 *   probe dump [policy2]            the control words, tables, lists (JSON)
 *   probe run vmx|svm CODE k=v ...  call `policy`'s handler for exit CODE
 *                                   with the given exit fields/registers set
 * Functions are printed as addresses ("0x401136"): the policy's handlers
 * are static, so no dynamic symbol names them; the tests look the
 * addresses up in the program's symbol table (nm), which has them all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"
#include "stubs.h"
#include "vmm.h"		/* struct guest: act_log counts by guest */

static void table(const char *name, const exit_handler_t *t, unsigned n)
{
	const char *sep = "";

	printf("\"%s\": {", name);
	for (unsigned i = 0; i < n; i++) {
		if (t[i]) {
			printf("%s\"%u\": \"%p\"", sep, i, (void *)t[i]);
			sep = ", ";
		}
	}
	printf("},\n");
}

static void reqs(const char *name, const struct policy_requirement *r, unsigned n)
{
	printf("\"%s\": [", name);
	for (unsigned i = 0; i < n; i++)
		printf("%s[%d, %u, \"%s\", \"%s\"]", i ? ", " : "", r[i].field, r[i].bit, r[i].control, r[i].rule);
	printf("],\n");
}

static void dump(const struct policy *p)
{
	const struct policy_vmx *vmx = p->vmx;
	const struct policy_svm *svm = p->svm;

	printf("{\"name\": \"%s\", \"file\": \"%s\", \"description\": \"%s\",\n",
	       p->name, p->file, p->description);
	printf("\"vmx\": {\"pin_based\": %u, \"proc_based\": %u, \"proc_based2\": %u, "
	       "\"exit_controls\": %u, \"entry_controls\": %u, \"exception_bitmap\": %u, "
	       "\"cr0_guest_host_mask\": %llu, \"cr4_guest_host_mask\": %llu},\n",
	       vmx->pin_based, vmx->proc_based, vmx->proc_based2,
	       vmx->exit_controls, vmx->entry_controls, vmx->exception_bitmap,
	       (unsigned long long)vmx->cr0_guest_host_mask,
	       (unsigned long long)vmx->cr4_guest_host_mask);
	printf("\"svm\": {\"intercept_cr\": %u, \"intercept_dr\": %u, \"intercept_exceptions\": %u, "
	       "\"intercept_misc1\": %u, \"intercept_misc2\": %u},\n",
	       svm->intercept_cr, svm->intercept_dr, svm->intercept_exceptions,
	       svm->intercept_misc1, svm->intercept_misc2);
	table("vmx_exits", p->vmx_exits, VMX_EXIT_NR);
	table("svm_exits", p->svm_exits, SVM_EXIT_NR);
	reqs("vmx_requirements", p->vmx_requirements, p->vmx_requirement_count);
	reqs("svm_requirements", p->svm_requirements, p->svm_requirement_count);
	printf("\"io_grants\": [");
	for (unsigned i = 0; i < p->io_grant_count; i++)
		printf("%s[%u, %u, \"%s\"]", i ? ", " : "", p->io_grants[i].first,
		       p->io_grants[i].last, p->io_grants[i].rule);
	printf("],\n\"msr_grants\": [");
	for (unsigned i = 0; i < p->msr_grant_count; i++)
		printf("%s[%u, %u, %u, \"%s\"]", i ? ", " : "", p->msr_grants[i].first,
		       p->msr_grants[i].last, p->msr_grants[i].dirs, p->msr_grants[i].rule);
	printf("],\n\"efer_hide\": %llu, \"syscall_counts\": %s}\n",
	       (unsigned long long)p->efer_hide, p->syscall_counts ? "true" : "false");
}

/* k=v: a register (rax...) or an exit field (io.port, msr.index, cr.cr, vector...). */
static void set(struct vcpu *v, const char *arg)
{
	static const char *regs[] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi" };
	const char *eq = strchr(arg, '=');
	size_t n = eq - arg;
	uint64_t val = strtoull(eq + 1, NULL, 0);

	for (unsigned i = 0; i < 8; i++)
		if (strlen(regs[i]) == n && !strncmp(arg, regs[i], n)) {
			*vcpu_gpr(v, i) = val;
			return;
		}
#define FIELD(name, lv) if (strlen(name) == n && !strncmp(arg, name, n)) { lv = val; return; }
	FIELD("io.port", v->exit.io.port)
	FIELD("io.size", v->exit.io.size)
	FIELD("io.in", v->exit.io.in)
	FIELD("io.string", v->exit.io.string)
	FIELD("msr.index", v->exit.msr.index)
	FIELD("msr.write", v->exit.msr.write)
	FIELD("cr.cr", v->exit.cr.cr)
	FIELD("cr.write", v->exit.cr.write)
	FIELD("cr.gpr", v->exit.cr.gpr)
	FIELD("vector", v->exit.vector)
	FIELD("error_code", v->exit.error_code)
	FIELD("qualification", v->exit.qualification)
	FIELD("sys", stub_sys)
	fprintf(stderr, "unknown field %s\n", arg);
	exit(2);
}

static int run(int argc, char **argv)
{
	const exit_handler_t *t = strcmp(argv[2], "vmx") ? policy.svm_exits : policy.vmx_exits;
	unsigned code = strtoul(argv[3], NULL, 0);
	static struct guest g = { .name = "guest" };
	struct vcpu v = { .guest = &g };

	v.exit.code = code;
	v.exit.cr.gpr = -1;
	for (int i = 4; i < argc; i++)
		set(&v, argv[i]);
	if (!t[code]) {
		printf("{\"handler\": null}\n");
		return 0;
	}
	uint64_t before = tsc_now();
	int ret = t[code](&v);
	uint64_t after = tsc_now();
	printf("{\"handler\": \"%p\", \"ret\": %d, \"called\": \"%s\", \"skips\": %d, "
	       "\"inject\": [%d, %d, %u], \"set_cr\": [%d, %llu], "
	       "\"rax\": %llu, \"rbx\": %llu, \"rcx\": %llu, \"rdx\": %llu, "
	       "\"tsc_before\": %llu, \"tsc_after\": %llu, \"log\": %d, \"counted\": %d}\n",
	       (void *)t[code], ret, stub_called, stub_skips,
	       stub_inject_vector, stub_inject_has_error, stub_inject_error, stub_set_cr_n,
	       (unsigned long long)stub_set_cr_val,
	       (unsigned long long)v.regs.rax, (unsigned long long)v.regs.rbx,
	       (unsigned long long)v.regs.rcx, (unsigned long long)v.regs.rdx,
	       (unsigned long long)before, (unsigned long long)after,
	       stub_log_lines, stub_sys_counted);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "dump")) {
		dump(&policy);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "dump") && !strcmp(argv[2], "policy2") && &policy2) {
		dump(&policy2);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "run"))
		return run(argc, argv);
	fprintf(stderr, "usage: probe dump [policy2] | probe run vmx|svm CODE [k=v...]\n");
	return 2;
}
