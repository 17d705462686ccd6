/* lv6's user space: three system calls, hey, bye and exit. Runs at CPL 3;
 * a system call takes its number in RAX and its argument in RDI. */
#include "lv6.h"

	.text
	.globl user_start
user_start:
	mov	$SYS_hey, %eax
	mov	$481, %edi
	syscall
	mov	$SYS_bye, %eax
	mov	$451, %edi
	syscall
	mov	$SYS_exit, %eax
	xor	%edi, %edi
	syscall
1:	jmp	1b

/*
 * With "bench" on the command line, user space is this instead (main.c):
 * it times the round trip of a system call that does nothing, SYS_nop:
 * SYSCALL, the kernel's entry and dispatch, SYSRET, back in user space.
 * BENCH_CALLS calls to warm up (QEMU translates the code), then
 * BENCH_ROUNDS rounds of BENCH_CALLS, each timed with LFENCE; RDTSC;
 * LFENCE (RDTSC is not serializing: guests/bench/bench.c says why the
 * fences), and SYS_bench prints the fastest round's TSC cycles. The
 * fastest, because a host's hiccup only makes a round slower; and under
 * policies/syscall-log.yaml, whose log prints the 1024th and 2048th calls,
 * the third round (calls 3001-4000) is one that prints nothing.
 * The loop's registers are callee-saved: the kernel's C code keeps them,
 * and SYSCALL and SYSRET change only RCX and R11.
 */
	.globl user_bench
user_bench:
	mov	$BENCH_CALLS, %ebx
1:	mov	$SYS_nop, %eax
	syscall
	dec	%ebx
	jnz	1b

	mov	$BENCH_ROUNDS, %r12d
	mov	$-1, %r13		/* the fastest round so far */
2:	lfence
	rdtsc
	lfence
	shl	$32, %rdx
	or	%rax, %rdx
	mov	%rdx, %r14		/* the round's start */
	mov	$BENCH_CALLS, %ebx
3:	mov	$SYS_nop, %eax
	syscall
	dec	%ebx
	jnz	3b
	lfence
	rdtsc
	lfence
	shl	$32, %rdx
	or	%rax, %rdx
	sub	%r14, %rdx
	cmp	%r13, %rdx
	cmovb	%rdx, %r13
	dec	%r12d
	jnz	2b

	mov	$SYS_bench, %eax
	mov	%r13, %rdi
	syscall
	mov	$SYS_exit, %eax
	xor	%edi, %edi
	syscall
4:	jmp	4b

	.bss
	.align 16
	.space 4096
	.globl user_stack_top
user_stack_top:
