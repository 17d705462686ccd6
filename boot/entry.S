/*
 * lvisor's entry: a multiboot v1 kernel entered in 32-bit protected mode
 * with paging off (Multiboot spec 3.2). We build page tables that map the
 * first 4 GiB one to one with 2 MiB pages, switch to long mode (SDM 10.8.5,
 * "Initializing IA-32e Mode") and call vmm_main(magic, info) in C.
 */
#include <lvisor/multiboot.h>

#define STACK_SIZE	(64 * 1024)
#define PTE_P		0x001
#define PTE_W		0x002
#define PTE_PS		0x080	/* 2 MiB page in a page directory */

	.section .multiboot, "a"
	.align 4
	.long MULTIBOOT_HEADER_MAGIC
	.long MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO
	.long -(MULTIBOOT_HEADER_MAGIC + (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO))

	.text
	.code32
	.globl start32
start32:
	cli
	cld
	mov	%eax, %edi		/* magic: first argument of vmm_main */
	mov	%ebx, %esi		/* multiboot info: second argument */
	mov	$boot_stack_top, %esp

	/* PML4[0] -> PDPT, PDPT[0..3] -> four page directories. */
	mov	$pdpt + PTE_P + PTE_W, %eax
	mov	%eax, pml4
	mov	$pd + PTE_P + PTE_W, %eax
	mov	$pdpt, %ebx
	mov	$4, %ecx
1:	mov	%eax, (%ebx)
	add	$4096, %eax
	add	$8, %ebx
	loop	1b

	/* 2048 entries of 2 MiB cover 4 GiB: entry i maps i * 2 MiB. */
	mov	$pd, %ebx
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	shl	$21, %eax
	or	$PTE_P + PTE_W + PTE_PS, %eax
	mov	%eax, (%ebx, %ecx, 8)
	mov	%ecx, %eax
	shr	$11, %eax		/* bits 32+ of i * 2 MiB */
	mov	%eax, 4(%ebx, %ecx, 8)
	inc	%ecx
	cmp	$2048, %ecx
	jne	1b

	mov	%cr4, %eax
	or	$(1 << 5), %eax		/* CR4.PAE */
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* EFER */
	rdmsr
	or	$(1 << 8), %eax		/* EFER.LME */
	wrmsr
	mov	%cr0, %eax
	or	$((1 << 31) | (1 << 16) | 1), %eax	/* CR0.PG, WP, PE */
	mov	%eax, %cr0

	lgdt	gdt_desc
	ljmp	$0x08, $start64

	.code64
start64:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	xor	%ax, %ax
	mov	%ax, %fs
	mov	%ax, %gs
	mov	$boot_stack_top, %rsp
	/* rdi = magic, rsi = info: zero-extended by the 32-bit moves above. */
	call	vmm_main
1:	cli
	hlt
	jmp	1b

	.section .rodata
	.align 16
	.globl gdt
gdt:
	.quad 0				/* null */
	/* The accessed bits are set: loading a segment would set them
	 * otherwise, writing .rodata (SDM 3.4.5.1), which vmm/selfcheck.c
	 * expects never to change. */
	.quad 0x00af9b000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf93000000ffff	/* 0x10: data, DPL 0 */
gdt_end:
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.bss
	.align 4096
pml4:	.space 4096
pdpt:	.space 4096
pd:	.space 4 * 4096
	.align 16
	.globl boot_stack
boot_stack:
	.space STACK_SIZE
boot_stack_top:
