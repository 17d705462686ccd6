/*
 * The console: COM1, an 8250/16550 UART at I/O port 0x3f8.
 *
 * Every line printed through printk starts with the owner's color and prefix
 * ("lvisor: " in cyan, "firmware: " in yellow) and ends with a color reset,
 * after which the guest's color is put back: the guest writes to the same
 * UART directly, and its output must keep its own color between our lines.
 */
#include <stdbool.h>
#include <asm/x86.h>
#include <lib/cmdline.h>
#include <lib/console.h>
#include <lib/spinlock.h>
#include <lib/string.h>

#define COM1		0x3f8
/* The UART: COM1 unless console_port() chose another (the second guest's
 * firmware and kernel print on COM2). */
static uint16_t port = COM1;
#define UART_THR	0	/* transmit holding register */
#define UART_IER	1	/* interrupt enable */
#define UART_DLL	0	/* divisor latch, low byte (DLAB=1) */
#define UART_DLM	1	/* divisor latch, high byte (DLAB=1) */
#define UART_FCR	2	/* FIFO control */
#define UART_LCR	3	/* line control */
#define UART_MCR	4	/* modem control */
#define UART_LSR	5	/* line status */
#define UART_RBR	0	/* receive buffer (DLAB=0) */
#define LSR_DR		0x01	/* data ready: a byte waits in RBR */
#define LSR_THRE	0x20	/* transmitter holding register empty */
#define LSR_TEMT	0x40	/* transmitter empty: the last bit has left */

static const char *prefix = "";
static const char *color;
static const char *guest_color;	/* restored after each of our lines, once the guest runs */
static bool line_start = true;
void (*console_line_hook)(void);

/*
 * Once console_shared() is called (lvisor does, before any second CPU could
 * print), what one call writes goes out whole under `lock`: one printk is
 * one call, and lvisor prints each line with one printk, so two CPUs' lines
 * do not mix. Without it no lock is taken: the firmware and lv6 print from
 * one CPU, and lv6's line hook prints from inside console_write, which would
 * wait forever for the lock its own CPU holds.
 */
static spinlock_t lock;
static bool shared;

void console_shared(void)
{
	shared = true;
}

static void console_lock(void)
{
	if (shared)
		spin_lock(&lock);
}

static void console_unlock(void)
{
	if (shared)
		spin_unlock(&lock);
}

void console_flush(void)
{
	for (int i = 0; i < 100000 && !(inb(port + UART_LSR) & LSR_TEMT); i++)
		cpu_relax();
}

/*
 * Program the UART as the console wants it. Also before each of lvisor's
 * reports: the guest drives COM1 directly and may have left it with the
 * divisor latch selected (DLAB: our bytes would go to the divisor), in
 * loopback (MCR bit 4: they would never leave the chip), at another speed
 * or word length, or with its interrupts on; any of them would swallow
 * the report.
 */
static void uart_setup(uint16_t uart)
{
	for (int i = 0; i < 100000 && !(inb(uart + UART_LSR) & LSR_TEMT); i++)
		cpu_relax();		/* let whoever used the UART before us finish */
	outb(uart + UART_IER, 0x00);	/* no interrupts: we poll */
	outb(uart + UART_LCR, 0x80);	/* DLAB on to set the speed */
	outb(uart + UART_DLL, 1);	/* 115200 baud */
	outb(uart + UART_DLM, 0);
	outb(uart + UART_LCR, 0x03);	/* 8 bits, no parity, one stop bit */
	outb(uart + UART_FCR, 0x07);	/* enable and clear the FIFOs */
	outb(uart + UART_MCR, 0x03);	/* DTR, RTS; no loopback */
}

void console_reset(void)
{
	console_lock();
	uart_setup(port);
	console_unlock();
}

void console_port(unsigned short p)
{
	port = p;
}

/* A kernel's command line may name its UART, "console=0x2f8" (COM2: lvisor's
 * second guest prints there; its firmware puts the word in). Shared by lv6
 * and the test kernels. */
void console_port_from_cmdline(const char *cmdline)
{
	const char *value = cmdline_value(cmdline, "console=0x"), *end;
	uint64_t p = value ? cmdline_number(value, 16, &end) : 0;

	if (p && p <= 0xffff && end != value)
		console_port((unsigned short)p);
}

void console_init(const char *p, const char *c)
{
	prefix = p ? p : "";
	color = c;
	console_reset();
}

void console_guest_color(const char *c)
{
	guest_color = c;
	if (c)
		console_raw(c);
}

static void uart_send(uint16_t uart, char c)
{
	/* A missing UART reads as 0xff: don't wait forever for it. */
	for (int i = 0; i < 100000 && !(inb(uart + UART_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(uart + UART_THR, (uint8_t)c);
}

static void uart_putc(char c)
{
	uart_send(port, c);
}

static void send(uint16_t uart, const char *s)
{
	while (*s)
		uart_send(uart, *s++);
}

static void raw(const char *s)
{
	send(port, s);
}

void console_raw(const char *s)
{
	console_lock();
	raw(s);
	console_unlock();
}

/* One character of a line; the caller holds the lock, if any. */
static void put(char c)
{
	if (line_start && c != '\n') {
		if (color)
			raw(color);
		raw(prefix);
		line_start = false;
		if (console_line_hook)
			console_line_hook();
	}
	if (c == '\n') {
		if (color)
			raw(COLOR_RESET);
		uart_putc('\r');
		uart_putc('\n');
		line_start = true;
		if (guest_color)	/* back to the guest's color until our next line */
			raw(guest_color);
		return;
	}
	uart_putc(c);
}

void console_write(const char *s, unsigned long n)
{
	console_lock();
	while (n--)
		put(*s++);
	console_unlock();
}

void console_putc(char c)
{
	console_write(&c, 1);
}

/* A byte received, or -1 if none waits: the console polls, no interrupts.
 * (A missing UART reads LSR 0xff: its "byte" is 0xff too.) */
int console_getc(void)
{
	if (!(inb(port + UART_LSR) & LSR_DR))
		return -1;
	return inb(port + UART_RBR);
}

/*
 * One line on another UART than the console's, in the console's color and
 * with its prefix: lvisor tells the second guest's console (COM2) at once
 * that its guest was stopped, while COM1 is still the first guest's. The
 * UART is programmed afresh first: the guest that used it may have left
 * it unusable (console_reset). The line starts on a line of its own, as
 * the guest may have stopped in the middle of one. No lock: that UART is
 * nobody else's now.
 */
void console_line_on(unsigned short uart, const char *s)
{
	uart_setup(uart);
	send(uart, "\r\n");
	send(uart, color ? color : "");
	send(uart, prefix);
	send(uart, s);
	send(uart, color ? COLOR_RESET "\r\n" : "\r\n");
}
