/*
 * Entry of the 32-bit test kernels (pm32, vmmtouch): the loader left us in
 * the multiboot machine state (multiboot spec 3.2), without a stack. Make
 * one and call kernel_main(eax, ebx): the magic and the multiboot info.
 */
	.text
	.code32
	.globl start
start:
	cli
	cld
	mov	$stack_top, %esp
	push	%ebx
	push	%eax
	call	kernel_main
1:	hlt
	jmp	1b

	.bss
	.align 16
	.space 8192
stack_top:
