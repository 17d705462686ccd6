/* Formatted output to the console (lib/printk.c, lib/vsnprintf.c). */
#ifndef LIB_PRINTK_H
#define LIB_PRINTK_H

#include <stdarg.h>
#include <stddef.h>

/* %d %i %u %x %X %o %s %c %p %%, flags '-' '0' ' ' '+', field width and
 * precision (also '*'), length modifiers hh h l ll z. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Print through the console: each new line starts with the console's color
 * and prefix (see lib/console.h). */
int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintk(const char *fmt, va_list ap);

#endif
