/*
 * lm64: a multiboot kernel shipped as an ELF64 file, so that a loader's
 * ELF64 path is tested. The loader enters it in 32-bit protected mode like
 * any multiboot kernel; it switches to 64-bit mode itself (SDM Vol. 3A
 * 10.8.5, "Initializing IA-32e Mode"): identity-map the first 1 GiB with
 * 2 MiB pages, CR4.PAE, EFER.LME, CR0.PG, then a far jump to 64-bit code.
 */
#include <lvisor/multiboot.h>

#define FLAGS	MULTIBOOT_MEMORY_INFO

	.section .multiboot, "a"
	.align 4
	.long MULTIBOOT_HEADER_MAGIC, FLAGS, -(MULTIBOOT_HEADER_MAGIC + FLAGS)

	.text
	.code32
	.globl start
start:
	cli
	cld
	mov	$stack_top, %esp
	mov	%eax, mb_magic		/* for lm64_main() to check */

	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] -> i * 2 MiB (present, write, large). */
	movl	$pdpt + 0x3, pml4
	movl	$pd + 0x3, pdpt
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	shl	$21, %eax
	or	$0x83, %eax
	mov	%eax, pd(, %ecx, 8)
	inc	%ecx
	cmp	$512, %ecx
	jne	1b

	mov	%cr4, %eax
	or	$0x20, %eax		/* CR4.PAE */
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000000, %eax	/* CR0.PG: long mode is now active */
	mov	%eax, %cr0
	lgdt	gdt_desc
	ljmp	$0x08, $start64

	.code64
start64:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	mb_magic, %edi		/* first argument */
	call	lm64_main
2:	hlt
	jmp	2b

	.section .rodata
	.align 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code (L=1) */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00cf9b000000ffff	/* 0x18: 32-bit code (L=0, D=1): compatibility mode */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.bss
	.align 4096
pml4:	.space 4096
pdpt:	.space 4096
pd:	.space 4096
mb_magic:
	.space 4
	.align 16
	.space 8192
stack_top:
