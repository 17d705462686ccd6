/*
 * RDMSR and WRMSR for MSRs that may not exist: on a CPU without the MSR
 * they raise #GP (SDM Vol. 2B), which vmm_trap() turns into a return of -1
 * through msr_fixups below, instead of stopping lvisor. The core uses them
 * to carry out a guest's access to an MSR it does not know, so that the
 * guest sees exactly the #GP the hardware would have given it. XSETBV
 * likewise, for an XCR0 value the CPU refuses (SDM Vol. 2C, XSETBV).
 *
 *   int rdmsr_safe(uint32_t msr, uint64_t *val);
 *   int wrmsr_safe(uint32_t msr, uint64_t val);
 *   int xsetbv_safe(uint32_t xcr, uint64_t val);
 */
	.text
	.globl rdmsr_safe
rdmsr_safe:
	mov	%edi, %ecx
1:	rdmsr
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, (%rsi)
	xor	%eax, %eax
	ret

	.globl wrmsr_safe
wrmsr_safe:
	mov	%edi, %ecx
	mov	%esi, %eax
	mov	%rsi, %rdx
	shr	$32, %rdx
2:	wrmsr
	xor	%eax, %eax
	ret

	.globl xsetbv_safe
xsetbv_safe:
	mov	%edi, %ecx
	mov	%esi, %eax
	mov	%rsi, %rdx
	shr	$32, %rdx
3:	xsetbv
	xor	%eax, %eax
	ret

msr_faulted:
	mov	$-1, %eax
	ret

/* { faulting instruction, where to continue } pairs, read by vmm_trap(). */
	.section .rodata
	.align 8
	.globl msr_fixups, msr_fixups_end
msr_fixups:
	.quad 1b, msr_faulted
	.quad 2b, msr_faulted
	.quad 3b, msr_faulted
msr_fixups_end:
