/*
 * Jump to a Linux kernel's 32-bit entry point in the machine state that
 * the kernel's Documentation/arch/x86/boot.rst, "The 32-bit Boot
 * Protocol", asks for: protected mode without paging; a GDT with flat 4 GiB
 * segments at selectors __BOOT_CS (0x10, execute/read) and __BOOT_DS (0x18,
 * read/write); CS = __BOOT_CS; DS = ES = SS = __BOOT_DS; interrupts off;
 * ESI = the address of boot_params; EBP = EDI = EBX = 0.
 *
 * These are not entry.S's selectors (code 0x08, data 0x10, as QEMU's
 * multiboot loader uses), hence a GDT of our own.
 *
 * void linux_enter(uint32_t entry, uint32_t boot_params);
 */
#define BOOT_CS	0x10
#define BOOT_DS	0x18

	.text
	.code32
	.globl linux_enter
linux_enter:
	cli
	mov	4(%esp), %eax		/* entry point */
	mov	8(%esp), %esi		/* ESI: boot_params */
	lgdt	linux_gdt_desc
	ljmp	$BOOT_CS, $1f		/* CS = __BOOT_CS */
1:	mov	$BOOT_DS, %cx
	mov	%cx, %ds
	mov	%cx, %es
	mov	%cx, %ss		/* the same flat memory: the stack stays valid */
	mov	%cx, %fs
	mov	%cx, %gs
	xor	%ebp, %ebp
	xor	%edi, %edi
	xor	%ebx, %ebx
	pushl	$0x2			/* EFLAGS: IF, DF and VM clear (bit 1 always reads 1) */
	popfl
	jmp	*%eax

/*
 * The kernel loads its own GDT early, but until then this one must stay
 * where it is: in the firmware's memory, which the kernel does not touch.
 * Flat 4 GiB segments, base 0 (SDM Vol. 3A 3.4.5: G=1, D/B=1, present, DPL 0).
 */
	.data
	.align 8
linux_gdt:
	.quad 0				/* the null descriptor */
	.quad 0				/* 0x08: unused */
	.quad 0x00cf9a000000ffff	/* 0x10: __BOOT_CS, 32-bit code, execute/read */
	.quad 0x00cf92000000ffff	/* 0x18: __BOOT_DS, 32-bit data, read/write */
linux_gdt_end:
linux_gdt_desc:
	.word linux_gdt_end - linux_gdt - 1
	.long linux_gdt
