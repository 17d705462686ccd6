/* lv6's system calls: the table that maps a number in RAX to a function. */
#include <lib/poweroff.h>
#include <lib/printk.h>
#include "lv6.h"

static uint64_t sys_hey(uint64_t arg)
{
	printk("hey %lu\n", (unsigned long)arg);
	return 0;
}

static uint64_t sys_bye(uint64_t arg)
{
	printk("bye %lu\n", (unsigned long)arg);
	return 0;
}

static uint64_t sys_exit(uint64_t arg)
{
	printk("lv6: user space exited with %lu, shutting down\n", (unsigned long)arg);
	poweroff(arg == 0);
}

/* "bench" (user.S, user_bench): a system call that does nothing, so that
 * user space can time the round trip, and one that prints the result,
 * the fastest round of BENCH_CALLS round trips. */
static uint64_t sys_nop(uint64_t arg)
{
	(void)arg;
	return 0;
}

static uint64_t sys_bench(uint64_t cycles)
{
	printk("lv6: syscall cycles=%lu total=%lu iterations=%u\n",
	       (unsigned long)(cycles / BENCH_CALLS), (unsigned long)cycles, BENCH_CALLS);
	return 0;
}

static uint64_t (*const syscalls[])(uint64_t) = {
	[SYS_hey] = sys_hey,
	[SYS_bye] = sys_bye,
	[SYS_exit] = sys_exit,
	[SYS_nop] = sys_nop,
	[SYS_bench] = sys_bench,
};

uint64_t syscall(uint64_t num, uint64_t arg)
{
	if (num >= sizeof(syscalls) / sizeof(syscalls[0]) || !syscalls[num]) {
		printk("lv6: unknown system call %lu\n", (unsigned long)num);
		return (uint64_t)-1;
	}
	return syscalls[num](arg);
}
