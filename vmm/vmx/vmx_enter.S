/*
 * int vmx_enter(struct guest_regs *regs, bool launched)
 *
 * Enter the guest (SDM 27, "VM Entries") and come back at its next VM exit
 * (SDM 28, "VM Exits"). VM entry and exit switch RIP, RSP, RFLAGS, the
 * control registers, the segments and EFER/PAT through the VMCS; the other
 * general registers are ours to switch, here, and so is the copy of the
 * guest's RSP in regs (GUEST_RSP in the VMCS).
 *
 * A VM exit does not return to the instruction after VMLAUNCH: it jumps to
 * HOST_RIP (vmx_exit below) with RSP = HOST_RSP, with the regs pointer on
 * top of the stack, so that vmx_exit finds where to save the guest's
 * registers. vmx_run always calls us from the same stack depth, so HOST_RSP
 * is written once, before VMLAUNCH.
 *
 * Returns 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed with
 * VMfailInvalid (CF=1), 2 with VMfailValid (ZF=1: see VM_INSTRUCTION_ERROR),
 * plus 4 if it was VMRESUME that failed: the caller need not keep what it
 * passed as `launched` across the call to know.
 */
#define R(n)		(8 * n)(%rax)	/* struct guest_regs, in SDM register order */
#define HOST_RSP	0x6c14		/* VMCS field encodings (SDM appendix B) */
#define GUEST_RSP	0x681c

	.text
	.globl vmx_enter
vmx_enter:
	push	%rbx			/* the SysV ABI's callee-saved registers */
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* regs, for vmx_exit */

	mov	%rdi, %rax
	mov	$GUEST_RSP, %ecx	/* cannot fail: the VMCS is current, the field exists */
	vmwrite	R(4), %rcx

	test	%sil, %sil		/* ZF=1: never launched. The MOVs below keep the flags. */
	jnz	1f
	mov	$HOST_RSP, %ecx		/* first entry: where vmx_exit finds the stack */
	vmwrite	%rsp, %rcx
	test	%sil, %sil		/* ZF=1 again */
1:	mov	R(1), %rcx
	mov	R(2), %rdx
	mov	R(3), %rbx
	mov	R(5), %rbp		/* R(4), RSP, went to GUEST_RSP above */
	mov	R(6), %rsi
	mov	R(7), %rdi
	mov	R(8), %r8
	mov	R(9), %r9
	mov	R(10), %r10
	mov	R(11), %r11
	mov	R(12), %r12
	mov	R(13), %r13
	mov	R(14), %r14
	mov	R(15), %r15
	mov	R(0), %rax		/* last: RAX was the base */
	jz	1f
	vmresume
	mov	$4, %edx		/* still here: VMRESUME failed (MOV keeps the flags) */
	jmp	2f
1:	vmlaunch
	mov	$0, %edx		/* still here: VMLAUNCH failed */

	/* The entry failed and the guest never ran. */
2:	mov	$1, %eax		/* VMfailInvalid (CF=1) */
	jc	3f
	mov	$2, %eax		/* VMfailValid (ZF=1) */
3:	or	%edx, %eax
	pop	%rdi
	jmp	vmx_return

	/* HOST_RIP: the VM exit. RSP = HOST_RSP, the regs pointer on top. */
	.globl vmx_exit
vmx_exit:
	push	%rax			/* the guest's RAX, for a moment */
	mov	8(%rsp), %rax		/* regs */
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
	popq	R(0)			/* the guest's RAX into regs->rax */
	mov	$GUEST_RSP, %ecx	/* and its RSP into regs->rsp */
	vmread	%rcx, R(4)
	pop	%rdi
	xor	%eax, %eax		/* 0: exited */

vmx_return:
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
