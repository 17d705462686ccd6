/* What the stubs of the core recorded (see stubs.c). */
#include <stdint.h>

extern const char *stub_called;		/* the core_* handler a policy handler fell back to */
extern int stub_skips, stub_inject_vector, stub_inject_has_error, stub_set_cr_n;
extern uint32_t stub_inject_error;
extern uint64_t stub_set_cr_val;
extern int stub_log_lines;
uint64_t tsc_now(void);
extern int stub_sys, stub_sys_counted;	/* act_sys_decode's answer; act_syscall_count's calls */
