/*
 * The firmware starts here, in real mode, at its first byte: the VMM
 * enters the guest with the CS base at FIRMWARE_ADDR (just below 16 MiB)
 * and IP 0, the way a CPU out of reset runs its first instruction near the
 * top of memory with a CS base that no real-mode selector gives
 * (include/lvisor/handoff.h). We switch to 32-bit protected mode with flat
 * segments (SDM Vol. 3A 10.9.1, "Switching to Protected Mode") and call
 * firmware_main() in C.
 *
 * In real mode an address is a segment's base plus a 16-bit offset, so our
 * symbols (linked at FIRMWARE_ADDR) are out of reach as plain 16-bit
 * addresses: the few real-mode instructions below name their operand
 * through CS, as an offset from _start, and must not reload CS (a real-mode
 * far jump would set its base to selector * 16). DS and the others keep
 * the base 0 the VMM gave them; we use none of them before protected mode.
 */
#include "firmware.h"

#define REL(x)	((x) - _start)		/* a symbol as an offset from CS's base */

	.section .text.entry, "ax"	/* first in the image: FIRMWARE_ADDR is its first byte */
	.code16
	.globl _start
_start:
	cli
	cld

	/*
	 * A20 through the "fast A20" bit of system control port A (0x92,
	 * bit 1), only if it is off: bit 0 of the same port resets the CPU,
	 * so we leave the port alone when there is nothing to do. The
	 * multiboot spec (3.2) promises the kernel A20 on, and this is where
	 * a firmware makes sure. (Here it is always on: the boot loader
	 * turned it on for lvisor, which keeps it on, and we could not run at
	 * FIRMWARE_ADDR, which has bit 20 set, otherwise.)
	 */
	inb	$0x92, %al
	test	$0x02, %al
	jnz	2f
	or	$0x02, %al
	and	$0xfe, %al
	outb	%al, $0x92
2:
	/* LGDT with a 32-bit operand size: all 32 bits of the GDT's base
	 * (gdt_desc) are loaded, not only 24 (SDM Vol. 2A, LGDT). */
	lgdtl	%cs:REL(gdt_desc)
	mov	%cr0, %eax
	or	$1, %eax		/* CR0.PE */
	mov	%eax, %cr0
	/* A far jump with a 32-bit offset: start32's full address. It loads
	 * CS from the GDT (base 0, 32-bit): from here on, addresses are
	 * plain. */
	ljmpl	$SEL_CODE32, $start32

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
 * section so that the real-mode LGDT above reaches gdt_desc within CS's
 * 64 KiB.
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
