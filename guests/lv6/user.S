/* lv6's user space: three system calls, hey, bye and exit. Runs at CPL 3;
 * a system call takes its number in RAX and its argument in RDI. */
#include "lv6.h"

	.text
	.globl user_start
user_start:
	mov	$SYS_hey, %eax
	mov	$481, %edi
	syscall
	mov	$SYS_bye, %eax
	mov	$451, %edi
	syscall
	mov	$SYS_exit, %eax
	xor	%edi, %edi
	syscall
1:	jmp	1b

	.bss
	.align 16
	.space 4096
	.globl user_stack_top
user_stack_top:
