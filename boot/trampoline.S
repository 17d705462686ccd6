/*
 * Where a second CPU (an AP) starts: a start-up IPI with vector VV starts
 * it in real mode at VV00:0000, that is at physical VV000 (SDM Vol. 3A
 * 9.4.4.1, "Typical BSP Initialization Sequence"; MP spec B.4). lvisor is
 * at 256 MiB, out of real mode's reach, so vmm/smp.c copies the bytes from
 * ap_trampoline to ap_trampoline_end to AP_TRAMPOLINE_ADDR (a page below
 * 1 MiB), fills in the ap_param_* words of the copy and sends the IPIs.
 *
 * The code below runs in that copy, never where it is linked: every
 * address it uses is PHYS(x), x's place in the copy, an assemble-time
 * constant. It takes the same road as boot/entry.S: protected mode with a
 * GDT of its own, then long mode with lvisor's page tables (the boot CPU's
 * CR3: the same 4 GiB identity map), and finally a jump to ap_entry below,
 * in lvisor's image, where the CPU loads lvisor's GDT and IDT and calls
 * ap_main(cpu) on a stack of its own. From then on it never touches the
 * low page again, which the boot CPU waits for before the guest runs.
 */
#include <lvisor/handoff.h>

#define PHYS(x)		(AP_TRAMPOLINE_ADDR + ((x) - ap_trampoline))

#define TSEL_CODE32	0x08	/* selectors of the trampoline's own GDT */
#define TSEL_DATA	0x10
#define TSEL_CODE64	0x18
#define SEL_CODE64	0x08	/* lvisor's GDT (boot/entry.S) */
#define SEL_DATA	0x10

	.text
	.code16
	.globl ap_trampoline
ap_trampoline:
	/* Real mode, CS = AP_TRAMPOLINE_ADDR >> 4, IP = 0 (SDM 9.4.4.1).
	 * With DS = 0, PHYS() addresses are offsets (all below 64 KiB). */
	cli
	cld
	xor	%ax, %ax
	mov	%ax, %ds
	/* Protected mode: a GDT, then CR0.PE, then a far jump that loads
	 * CS from the new GDT (SDM 10.9.1, "Switching to Protected Mode"). */
	lgdtl	PHYS(tramp_gdt_desc)
	mov	%cr0, %eax
	or	$1, %eax			/* CR0.PE */
	mov	%eax, %cr0
	ljmpl	$TSEL_CODE32, $PHYS(ap_trampoline32)

	.code32
ap_trampoline32:
	mov	$TSEL_DATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	/* Long mode (SDM 10.8.5, "Initializing IA-32e Mode"): PAE, the
	 * page tables, EFER.LME, then paging on; lvisor's tables map the
	 * first 4 GiB one to one, this page included. */
	mov	%cr4, %eax
	or	$(1 << 5), %eax			/* CR4.PAE */
	mov	%eax, %cr4
	mov	PHYS(ap_param_cr3), %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx		/* EFER */
	rdmsr
	or	$(1 << 8), %eax			/* EFER.LME */
	wrmsr
	/* INIT left CR0.CD and NW set (SDM 10.1.1, table 10-1: CR0 is
	 * 60000010H): the caches off. The BIOS turned them on for the boot
	 * CPU; boot/entry.S inherits that, the AP must do it itself. */
	mov	%cr0, %eax
	and	$~((1 << 30) | (1 << 29)), %eax	/* CR0.CD, NW */
	or	$((1 << 31) | (1 << 16) | 1), %eax	/* CR0.PG, WP, PE */
	mov	%eax, %cr0
	/* Now in compatibility mode; a 64-bit code segment takes us to
	 * 64-bit mode (SDM 10.8.5, step 5). */
	ljmp	$TSEL_CODE64, $PHYS(ap_trampoline64)

	.code64
ap_trampoline64:
	/* Absolute addresses, not RIP-relative ones: this code runs at
	 * PHYS(), not where it is linked. */
	mov	PHYS(ap_param_stack), %rsp
	lidt	PHYS(ap_param_idtr)		/* trap_init's table, as on the boot CPU */
	mov	PHYS(ap_param_cpu), %edi	/* ap_main's argument */
	movabs	$ap_entry, %rax
	jmp	*%rax				/* into lvisor's image: off this page */

	/* The trampoline's GDT: flat 32-bit code and data, and 64-bit code
	 * (SDM 3.4.5). Accessed bits set, as in boot/entry.S's. */
	.balign 8
tramp_gdt:
	.quad 0					/* null */
	.quad 0x00cf9b000000ffff		/* 0x08: 32-bit code */
	.quad 0x00cf93000000ffff		/* 0x10: data */
	.quad 0x00af9b000000ffff		/* 0x18: 64-bit code */
tramp_gdt_end:
tramp_gdt_desc:
	.word tramp_gdt_end - tramp_gdt - 1
	.long PHYS(tramp_gdt)

	/* Filled in the copy by vmm/smp.c (smp_start_ap) before the IPIs. */
	.balign 8
	.globl ap_param_cr3, ap_param_stack, ap_param_cpu, ap_param_idtr
ap_param_cr3:	.quad 0		/* lvisor's page tables (below 4 GiB) */
ap_param_stack:	.quad 0		/* top of the AP's stack, in lvisor's memory */
ap_param_cpu:	.quad 0		/* lvisor's number for the CPU */
ap_param_idtr:	.word 0		/* limit, base: the boot CPU's IDTR */
		.quad 0
	.globl ap_trampoline_end
ap_trampoline_end:

/*
 * In lvisor's image, on the AP's own stack: lvisor's GDT (boot/entry.S),
 * as the boot CPU has it, and its segments; then C.
 */
	.globl ap_entry
ap_entry:
	movabs	$gdt_desc, %rax
	lgdt	(%rax)
	/* CS from the new GDT: a far return to the next instruction. */
	pushq	$SEL_CODE64
	lea	1f(%rip), %rax
	pushq	%rax
	lretq
1:	mov	$SEL_DATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	xor	%ax, %ax
	mov	%ax, %fs
	mov	%ax, %gs
	call	ap_main			/* edi: the CPU's number; never returns */
1:	cli
	hlt
	jmp	1b
