/*
 * svm_enter(struct guest_regs *regs, uint64_t vmcb_pa): load the guest's
 * general registers, VMRUN, and save them again at #VMEXIT (APM 15.5).
 * VMRUN itself switches RAX, RSP, RIP, RFLAGS, the control registers and
 * the segments; VMLOAD/VMSAVE switch the rest of the hidden state (FS, GS,
 * TR, LDTR, the SYSCALL/SYSENTER MSRs, APM 15.5.2), which lvisor itself
 * never uses, so the guest's values simply live in the CPU meanwhile.
 */
#define R(n)	(8 * n)(%rax)	/* struct guest_regs, in SDM register order */

	.text
	.globl svm_enter
svm_enter:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* regs, for after the exit */
	push	%rsi			/* vmcb_pa */

	mov	%rdi, %rax
	mov	R(1), %rcx
	mov	R(2), %rdx
	mov	R(3), %rbx
	mov	R(5), %rbp
	mov	R(6), %rsi
	mov	R(8), %r8
	mov	R(9), %r9
	mov	R(10), %r10
	mov	R(11), %r11
	mov	R(12), %r12
	mov	R(13), %r13
	mov	R(14), %r14
	mov	R(15), %r15
	mov	R(7), %rdi
	pop	%rax			/* RAX = the VMCB's physical address */

	vmload	%rax
	vmrun	%rax
	vmsave	%rax

	mov	(%rsp), %rax		/* regs */
	mov	%rcx, R(1)
	mov	%rdx, R(2)
	mov	%rbx, R(3)
	mov	%rbp, R(5)
	mov	%rsi, R(6)
	mov	%rdi, R(7)
	mov	%r8, R(8)
	mov	%r9, R(9)
	mov	%r10, R(10)
	mov	%r11, R(11)
	mov	%r12, R(12)
	mov	%r13, R(13)
	mov	%r14, R(14)
	mov	%r15, R(15)

	pop	%rdi
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
