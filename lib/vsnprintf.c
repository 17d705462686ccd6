/* vsnprintf: the formatting engine behind printk, written for a freestanding
 * world (no floating point, no locale). */
#include <stdint.h>
#include <stdbool.h>
#include <lib/printk.h>

struct out {
	char *buf;
	size_t size, len;	/* len counts every character, even past size */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

struct spec {
	bool left, zero, plus, space, alt;
	int width, prec;	/* prec < 0: none given */
};

/* Print an unsigned number in base 8, 10 or 16 with sign, padding, precision. */
static void number(struct out *o, uint64_t n, int base, bool upper, char sign, struct spec *s)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int len = 0;

	do {
		tmp[len++] = digits[n % base];
		n /= base;
	} while (n);
	if (s->prec == 0 && len == 1 && tmp[0] == '0')
		len = 0;

	int zeros = s->prec > len ? s->prec - len : 0;
	const char *prefix = s->alt && base == 16 ? (upper ? "0X" : "0x") : "";
	int plen = (sign ? 1 : 0) + (int)(prefix[0] ? 2 : 0);
	int pad = s->width - (len + zeros + plen);

	if (s->zero && !s->left && s->prec < 0) {
		zeros += pad > 0 ? pad : 0;
		pad = 0;
	}
	for (; !s->left && pad > 0; pad--)
		put(o, ' ');
	if (sign)
		put(o, sign);
	for (; *prefix; prefix++)
		put(o, *prefix);
	while (zeros-- > 0)
		put(o, '0');
	while (len > 0)
		put(o, tmp[--len]);
	for (; pad > 0; pad--)
		put(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		struct spec s = { .prec = -1 };
		for (;; fmt++) {	/* flags */
			char c = fmt[1];
			if (c == '-') s.left = true;
			else if (c == '0') s.zero = true;
			else if (c == '+') s.plus = true;
			else if (c == ' ') s.space = true;
			else if (c == '#') s.alt = true;
			else break;
		}
		fmt++;
		if (*fmt == '*') {
			s.width = va_arg(ap, int);
			if (s.width < 0) {
				s.left = true;
				s.width = -s.width;
			}
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			s.width = s.width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			fmt++;
			s.prec = 0;
			if (*fmt == '*') {
				s.prec = va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				s.prec = s.prec * 10 + (*fmt++ - '0');
		}
		int lng = 0;	/* 0: int, 1: long, 2: long long, -1: short, -2: char */
		for (;; fmt++) {
			if (*fmt == 'l') lng++;
			else if (*fmt == 'z') lng = 1;
			else if (*fmt == 'h') lng--;
			else break;
		}

		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng >= 2 ? va_arg(ap, long long)
				  : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
			if (lng == -1) v = (short)v;
			if (lng <= -2) v = (signed char)v;
			char sign = v < 0 ? '-' : s.plus ? '+' : s.space ? ' ' : 0;
			number(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, false, sign, &s);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			uint64_t v = lng >= 2 ? va_arg(ap, unsigned long long)
				   : lng == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			if (lng == -1) v = (unsigned short)v;
			if (lng <= -2) v = (unsigned char)v;
			int base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
			number(&o, v, base, *fmt == 'X', 0, &s);
			break;
		}
		case 'p':
			s.alt = true;
			number(&o, (uintptr_t)va_arg(ap, void *), 16, false, 0, &s);
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);
			for (int pad = s.width - 1; !s.left && pad > 0; pad--) put(&o, ' ');
			put(&o, c);
			for (int pad = s.width - 1; s.left && pad > 0; pad--) put(&o, ' ');
			break;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			int len = 0;
			while (str[len] && (s.prec < 0 || len < s.prec))
				len++;
			for (int pad = s.width - len; !s.left && pad > 0; pad--) put(&o, ' ');
			for (int i = 0; i < len; i++) put(&o, str[i]);
			for (int pad = s.width - len; s.left && pad > 0; pad--) put(&o, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;	/* a lone '%' at the end */
			break;
		default:	/* unknown: print it as written */
			put(&o, '%');
			put(&o, *fmt);
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
