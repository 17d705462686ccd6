/*
 * The TSC as a clock: find its frequency once, then turn ticks into
 * seconds. Used by the VMM and by lv6 alike, so "tsc:" lines appear twice
 * when lv6 runs under lvisor.
 */
#include <asm/x86.h>
#include <lib/cmdline.h>
#include <lib/printk.h>
#include <lib/tsc.h>

uint64_t tsc_hz;
uint64_t tsc_boot;

#define PIT_HZ		1193182
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PIT_GATE	0x61	/* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */

/* Count TSC ticks across 10 ms of PIT channel 2 in mode 0 (interrupt on
 * terminal count): its output goes high when the count reaches zero. */
static uint64_t tsc_hz_from_pit(void)
{
	const uint16_t count = PIT_HZ / 100;

	outb(PIT_GATE, (inb(PIT_GATE) & ~0x02) | 0x01);	/* gate on, speaker off */
	outb(PIT_CMD, 0xb0);				/* channel 2, lo/hi byte, mode 0 */
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);			/* counting starts here */
	uint64_t t0 = rdtsc();
	while (!(inb(PIT_GATE) & 0x20))
		;
	uint64_t t1 = rdtsc();
	return (t1 - t0) * 100;
}

/* The frequency that the kernel's command line gives (tsc_hz_from_cmdline),
 * or 0. */
static uint64_t cmdline_hz;

void tsc_hz_from_cmdline(const char *cmdline)
{
	const char *value = cmdline_value(cmdline, "tsc_khz=");

	if (value)
		cmdline_hz = cmdline_number(value, 10, NULL) * 1000;
}

void tsc_init(void)
{
	uint32_t max = cpuid(0, 0).eax;
	const char *how = "PIT";

	tsc_hz = 0;
	if (max >= 0x15) {	/* SDM Vol. 2A, CPUID leaf 15H: TSC = crystal * EBX / EAX */
		struct cpuid_regs r = cpuid(0x15, 0);
		if (r.eax && r.ebx && r.ecx) {
			tsc_hz = (uint64_t)r.ecx * r.ebx / r.eax;
			how = "CPUID 0x15";
		}
	}
	if (!tsc_hz && cmdline_hz) {
		tsc_hz = cmdline_hz;
		how = "command line";
	}
	if (!tsc_hz && max >= 0x16) {	/* leaf 16H: base frequency in MHz */
		struct cpuid_regs r = cpuid(0x16, 0);
		if (r.eax) {
			tsc_hz = (uint64_t)r.eax * 1000000;
			how = "CPUID 0x16";
		}
	}
	if (!tsc_hz)
		tsc_hz = tsc_hz_from_pit();
	if (!tsc_hz)	/* a TSC that does not move; avoid dividing by zero */
		tsc_hz = 1;
	tsc_boot = rdtsc();
	printk("tsc: %lu.%03lu MHz (%s)\n", (unsigned long)(tsc_hz / 1000000),
	       (unsigned long)(tsc_hz / 1000 % 1000), how);
}

void uptime(uint64_t *sec, uint64_t *usec)
{
	uint64_t d = rdtsc() - tsc_boot;
	if (!tsc_hz) {		/* before tsc_init() */
		*sec = *usec = 0;
		return;
	}
	*sec = d / tsc_hz;
	*usec = d % tsc_hz * 1000000 / tsc_hz;
}
