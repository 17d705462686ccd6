/*
 * The console: an 8250 UART on COM1 (plus the 0xe9 debug port under Bochs),
 * shared by the VMM, the guest firmware and lv6. Each of them names itself
 * once with console_init(): its lines then start with its own ANSI color
 * and prefix, so a reader sees at once who printed what.
 */
#ifndef LIB_CONSOLE_H
#define LIB_CONSOLE_H

#define COLOR_VMM	"\033[1;36m"	/* bold cyan: lvisor */
#define COLOR_FIRMWARE	"\033[33m"	/* yellow: the guest firmware */
#define COLOR_GUEST	"\033[32m"	/* green: the guest */
#define COLOR_RESET	"\033[0m"

void console_init(const char *prefix, const char *color);
void console_port(unsigned short port);	/* before console_init: another UART than COM1 */
void console_port_from_cmdline(const char *cmdline);	/* its "console=0x..." word, if any */
/* Program the UART afresh (115200 8N1, no interrupts, no loopback), e.g.
 * after a guest has used it. */
void console_reset(void);
void console_putc(char c);
void console_write(const char *s, unsigned long n);
/* From now on the guest prints too, in color `c`: switch to it, and back to
 * it after each of our own lines. */
void console_guest_color(const char *c);
/* Called at the start of every line, after the prefix (lv6 prints its
 * timestamp from here). */
extern void (*console_line_hook)(void);
/* The next byte the UART received, or -1 if none waits (it polls). */
int console_getc(void);
/* Wait until the UART has sent everything. */
void console_flush(void);
/* Emit raw bytes without prefix/color handling (e.g. to set the guest's color). */
void console_raw(const char *s);
/* More than one CPU may print from now on: each console_write (one printk)
 * and console_raw goes out whole, under a spinlock. Not with a line hook
 * that prints (lv6's): that would wait for its own lock. */
void console_shared(void);
/* One line (no newline in s) on another UART, e.g. COM2 at 0x2f8, with
 * the console's color and prefix. */
void console_line_on(unsigned short uart, const char *s);

#endif
