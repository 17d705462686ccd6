/*
 * Jump to a multiboot kernel in the machine state of the multiboot
 * specification, section 3.2 "Machine state", which is also how QEMU's
 * -kernel enters it: EAX = 0x2BADB002, EBX = the multiboot information,
 * CS = 0x08 flat 32-bit code, DS = ES = FS = GS = SS = 0x10 flat data,
 * protected mode without paging, interrupts off, A20 on (entry.S).
 *
 * void multiboot_enter(uint32_t entry, uint32_t info);
 */
#include <lvisor/multiboot.h>
#include "firmware.h"

	.text
	.code32
	.globl multiboot_enter
multiboot_enter:
	cli
	mov	4(%esp), %ecx		/* entry point */
	mov	8(%esp), %ebx		/* EBX: multiboot information */

	/* We already run on entry.S's GDT; reload every selector anyway so
	 * the kernel's state does not depend on what C code left there. */
	mov	$SEL_DATA32, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%ax, %ss
	ljmp	$SEL_CODE32, $1f
1:
	pushl	$0x2			/* EFLAGS: IF, DF and VM clear (bit 1 always reads 1) */
	popfl
	mov	$MULTIBOOT_BOOTLOADER_MAGIC, %eax
	jmp	*%ecx
