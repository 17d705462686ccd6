/*
 * lv6 starts here: a multiboot kernel entered in 32-bit protected mode.
 * Enter 64-bit mode (SDM 10.8.5): page tables mapping the first 1 GiB one to
 * one (2 MiB pages, user-accessible so that lv6's user code can run from
 * the same image), PAE, EFER.LME, paging, then a 64-bit code segment.
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000003	/* page-aligned modules, memory info */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	cli
	mov	%ebx, mb_info		/* the multiboot information: main() reads the command line */
	mov	$stack_top, %esp
	lgdt	gdt32_desc		/* our own GDT: don't depend on the loader's */

	/* PML4[0] -> PDPT[0] -> PD: 512 entries of 2 MiB, present|write|user|large. */
	movl	$pdpt + 0x7, pml4
	movl	$pd + 0x7, pdpt
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	shl	$21, %eax
	or	$0x87, %eax
	mov	%eax, pd(, %ecx, 8)
	inc	%ecx
	cmp	$512, %ecx
	jne	1b

	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* EFER: long mode, SYSCALL */
	rdmsr
	or	$0x101, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax	/* PG, PE */
	mov	%eax, %cr0
	ljmp	$0x08, $start64

	.code64
start64:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$stack_top, %rsp
	call	main
1:	hlt
	jmp	1b

	.section .rodata
	.align 8
gdt32:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit kernel code */
	.quad 0x00cf92000000ffff	/* 0x10: kernel data */
gdt32_desc:
	.word gdt32_desc - gdt32 - 1
	.long gdt32

	.data
	.globl mb_info
	.align 4
mb_info:
	.long 0

	.bss
	.align 4096
pml4:	.space 4096
pdpt:	.space 4096
pd:	.space 4096
	.space 16384
stack_top:
