/*
 * A self-check: lvisor sums its code (.text) and read-only data (.rodata)
 * at start, and sums them again whenever it stops a guest and at power-off,
 * printing one line: "image intact" or which part changed. Nothing writes
 * these sections (boot/vmm.ld; the boot GDT in .rodata has its accessed
 * bits preset, so loading a segment never writes it, SDM 3.4.5.1): a
 * change means that a guest, or a bug, reached lvisor's memory.
 *
 * The sum is FNV-1a over 64-bit words: not a defence against an attacker
 * who can write lvisor's memory (they could fix the sum up too), but a
 * cheap witness that the isolation held.
 */
#include <stdint.h>
#include <lib/printk.h>
#include "selfcheck.h"

/* boot/vmm.ld */
extern const uint64_t __text_start[], __text_end[], __rodata_start[], __rodata_end[];

static uint64_t text_sum, rodata_sum;

static uint64_t checksum(const uint64_t *start, const uint64_t *end)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a's offset basis and prime */

	for (const volatile uint64_t *p = start; p < end; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

void selfcheck_init(void)
{
	text_sum = checksum(__text_start, __text_end);
	rodata_sum = checksum(__rodata_start, __rodata_end);
}

void selfcheck_report(void)
{
	uint64_t text = checksum(__text_start, __text_end);
	uint64_t rodata = checksum(__rodata_start, __rodata_end);

	if (text == text_sum && rodata == rodata_sum)
		printk("image intact\n");
	else if (text != text_sum && rodata != rodata_sum)
		printk("image CHANGED: text checksum 0x%lx expected 0x%lx, rodata checksum 0x%lx expected 0x%lx\n",
		       text, text_sum, rodata, rodata_sum);
	else if (text != text_sum)
		printk("image CHANGED: text checksum 0x%lx expected 0x%lx\n", text, text_sum);
	else
		printk("image CHANGED: rodata checksum 0x%lx expected 0x%lx\n", rodata, rodata_sum);
}
