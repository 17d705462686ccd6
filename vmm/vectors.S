/* The VMM's exception entry points: a fault inside lvisor itself must print
 * the registers and stop, never silently reset the machine. */
	.text
.macro vector n
	.align 16
vector\n:
	.if \n != 8 && (\n < 10 || \n > 14) && \n != 17 && \n != 21 && \n != 29 && \n != 30
	push	$0			/* no error code from the CPU: push one (SDM 6.13) */
	.endif
	push	$\n
	jmp	trap_common
.endm
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vector \n
	.endr

/* Save the general registers in struct trap_frame order and call
 * vmm_trap(frame). It returns only for a fault that was expected (see
 * msr_safe.S), after changing the frame's RIP: then resume there. */
trap_common:
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%r11
	push	%r10
	push	%r9
	push	%r8
	push	%rdi
	push	%rsi
	push	%rbp
	push	%rbx
	push	%rdx
	push	%rcx
	push	%rax
	mov	%rsp, %rdi
	mov	%rsp, %rbx		/* callee-saved: the frame, after the call */
	and	$~15, %rsp
	call	vmm_trap
	mov	%rbx, %rsp
	pop	%rax
	pop	%rcx
	pop	%rdx
	pop	%rbx
	pop	%rbp
	pop	%rsi
	pop	%rdi
	pop	%r8
	pop	%r9
	pop	%r10
	pop	%r11
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	add	$16, %rsp		/* vector and error code */
	iretq

	.section .rodata
	.align 8
	.globl trap_vectors
trap_vectors:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad vector\n
	.endr
