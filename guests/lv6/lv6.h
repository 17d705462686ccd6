/* lv6: a tiny x86-64 OS that shows what a guest sees of time and of the CPU. */
#ifndef LV6_H
#define LV6_H


/* GDT layout: SYSCALL loads CS/SS from STAR[47:32], SYSRET from STAR[63:48]
 * (SDM Vol. 2B, SYSCALL/SYSRET), hence kernel code, kernel data, user data,
 * user code in this order. */
#define KERNEL_CS	0x08
#define KERNEL_DS	0x10
#define USER_DS		(0x18 | 3)
#define USER_CS		(0x20 | 3)
#define TSS_SEL		0x28

/* System call numbers (syscall.c). */
#define SYS_hey		0
#define SYS_bye		1
#define SYS_exit	2
#define SYS_nop		3	/* does nothing: "bench" times its round trip */
#define SYS_bench	4	/* "bench": print the measurement (RDI: TSC cycles) */

/* "bench" on the command line: user space (user_bench, user.S) makes
 * BENCH_CALLS system calls to warm up, then BENCH_ROUNDS rounds of
 * BENCH_CALLS, and reports the fastest round. */
#define BENCH_CALLS	1000
#define BENCH_ROUNDS	3

#ifndef __ASSEMBLER__
#include <stdint.h>

/* trap.S */
void syscall_entry(void);
void enter_user(uint64_t rip, uint64_t rsp) __attribute__((noreturn));
extern uint64_t trap_vectors[32];

/* syscall.c */
uint64_t syscall(uint64_t num, uint64_t arg);

/* user.S */
extern char user_start[], user_bench[], user_stack_top[];
#endif

#endif
