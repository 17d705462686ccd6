/*
 * A kernel's command line: words separated by spaces, some of them
 * "key=value". lvisor puts words there for its second guest (console=0x2f8,
 * tsc_khz=...), which lv6 and the test kernels read with these.
 */
#include <lib/cmdline.h>
#include <lib/string.h>

const char *cmdline_value(const char *cmdline, const char *key)
{
	size_t n = strlen(key);

	for (const char *s = cmdline; s && *s; s++)
		if ((s == cmdline || s[-1] == ' ') && !strncmp(s, key, n))
			return s + n;
	return NULL;
}

uint64_t cmdline_number(const char *s, unsigned base, const char **end)
{
	uint64_t v = 0;

	for (;; s++) {
		unsigned d = *s >= '0' && *s <= '9' ? (unsigned)(*s - '0') :
			     *s >= 'a' && *s <= 'f' ? (unsigned)(*s - 'a' + 10) : 16;
		if (d >= base)
			break;
		v = v * base + d;
	}
	if (end)
		*end = s;
	return v;
}
