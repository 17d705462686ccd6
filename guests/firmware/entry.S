/*
 * The firmware starts here, in real mode at 0000:8000, the way a BIOS
 * starts a boot sector (include/lvisor/handoff.h says what the VMM sets
 * up). We switch to 32-bit protected mode with flat segments (SDM Vol. 3A
 * 10.9.1, "Switching to Protected Mode") and call firmware_main() in C.
 */
#include "firmware.h"

	.section .text.entry, "ax"	/* first in the image: 0x8000 is its first byte */
	.code16
	.globl _start
_start:
	cli
	cld
	ljmp	$0, $1f			/* CS:IP = 0000:xxxx, whatever CS we came in with */
1:	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$STACK_TOP, %sp

	/*
	 * A20 through the "fast A20" bit of system control port A (0x92,
	 * bit 1), only if it is off: bit 0 of the same port resets the CPU,
	 * so we leave the port alone when there is nothing to do.
	 */
	inb	$0x92, %al
	test	$0x02, %al
	jnz	2f
	or	$0x02, %al
	and	$0xfe, %al
	outb	%al, $0x92
2:
	lgdtl	gdt_desc
	mov	%cr0, %eax
	or	$1, %eax		/* CR0.PE */
	mov	%eax, %cr0
	ljmpl	$SEL_CODE32, $start32	/* loads CS from the GDT: now 32-bit */

	.code32
start32:
	mov	$SEL_DATA32, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%ax, %ss
	mov	$STACK_TOP, %esp

	/* The VMM copied only the file: clear our .bss ourselves. */
	mov	$__bss_start, %edi
	mov	$_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb

	push	$HANDOFF_ADDR
	call	firmware_main		/* never returns */
3:	hlt
	jmp	3b

/*
 * The GDT stays here, in firmware memory, so it is still valid when the
 * kernel starts with our selectors loaded. Flat 4 GiB segments, base 0
 * (SDM Vol. 3A 3.4.5: G=1, D/B=1, present, DPL 0). It sits in this first
 * section so that the real-mode LGDT above reaches it with a 16-bit address.
 */
	.align 8
	.globl gdt
gdt:
	.quad 0				/* the null descriptor */
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code, execute/read */
	.quad 0x00cf92000000ffff	/* 0x10: 32-bit data, read/write */
gdt_end:
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
