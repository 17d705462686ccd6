/* A kernel's command line (lib/cmdline.c). */
#ifndef LIB_CMDLINE_H
#define LIB_CMDLINE_H

#include <stdint.h>

/* What follows key (e.g. "console=0x") in the first word that starts with
 * it, or NULL. */
const char *cmdline_value(const char *cmdline, const char *key);
/* The number at s in base (10 or 16), up to the first other character
 * (*end, if end is given). */
uint64_t cmdline_number(const char *s, unsigned base, const char **end);

#endif
