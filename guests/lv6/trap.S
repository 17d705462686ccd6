/* lv6's ways into the kernel: CPU exceptions and the SYSCALL instruction,
 * and the one way out to user space, SYSRET. */
#include "lv6.h"

	.text
/* Exceptions 0-31: push a dummy error code where the CPU pushes none
 * (SDM 6.13), then the vector, and call trap(vector, error, rip). */
.macro vector n
	.align 16
vector\n:
	.if \n != 8 && (\n < 10 || \n > 14) && \n != 17 && \n != 21 && \n != 29 && \n != 30
	push	$0
	.endif
	push	$\n
	jmp	trap_common
.endm
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vector \n
	.endr

trap_common:
	pop	%rdi			/* vector */
	pop	%rsi			/* error code */
	mov	(%rsp), %rdx		/* rip */
	and	$~15, %rsp
	call	trap
1:	hlt
	jmp	1b

	.section .rodata
	.align 8
	.globl trap_vectors
trap_vectors:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad vector\n
	.endr

	.text
/* SYSCALL: RCX = user RIP, R11 = user RFLAGS, still on the user stack.
 * Switch to the kernel stack, call syscall(rax, rdi), return with SYSRET. */
	.globl syscall_entry
syscall_entry:
	mov	%rsp, user_rsp(%rip)
	lea	syscall_stack_top(%rip), %rsp
	push	%rcx
	push	%r11
	mov	%rdi, %rsi		/* argument */
	mov	%rax, %rdi		/* number */
	call	syscall
	pop	%r11
	pop	%rcx
	mov	user_rsp(%rip), %rsp
	sysretq

/* enter_user(rip, rsp): SYSRET to user mode with interrupts off. */
	.globl enter_user
enter_user:
	mov	%rdi, %rcx
	mov	%rsi, %rsp
	mov	$0x2, %r11		/* RFLAGS: reserved bit 1 only */
	sysretq

	.bss
	.align 16
user_rsp:	.quad 0
	.space 8192
syscall_stack_top:
