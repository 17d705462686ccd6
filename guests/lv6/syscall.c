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

static uint64_t (*const syscalls[])(uint64_t) = {
	[SYS_hey] = sys_hey,
	[SYS_bye] = sys_bye,
	[SYS_exit] = sys_exit,
};

uint64_t syscall(uint64_t num, uint64_t arg)
{
	if (num >= sizeof(syscalls) / sizeof(syscalls[0]) || !syscalls[num]) {
		printk("lv6: unknown system call %lu\n", (unsigned long)num);
		return (uint64_t)-1;
	}
	return syscalls[num](arg);
}
