/*
 * watch: a 32-bit multiboot kernel for the policy's memory watches
 * (memory:, policies/README.md): it writes known values to watched
 * memory, reads them back and prints what it read, so that a test can
 * compare what the guest saw with lvisor's log line.
 *
 * Under policies/watch-vga.yaml it writes "Hi" to the top-left of the VGA
 * text page, which lvisor logs (address, value, RIP) and carries out: the
 * guest reads "Hi" back. Under tests/policies/watch.yaml also: a store to
 * a page whose writes are ignored (the guest reads the old value back), a
 * logged store to RAM and a logged load (APPEND=more). Each access is a
 * MOV, the form lvisor decodes (vmm/decode.c). With APPEND=exec it calls
 * a RET it wrote to a page whose execution is watched: lvisor must stop it.
 */
#include <stdbool.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/multiboot.h>

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

#define VGA_TEXT	0xb8000u	/* 80x25 cells: character, attribute */
#define IGNORED		0x300000u	/* tests/policies/watch.yaml: write: ignore */
#define LOGGED		0x301000u	/* write: log */
#define READ_LOGGED	0x302000u	/* read: log */
#define NO_EXEC		0x303000u	/* tests/policies/watch-exec.yaml: execute: unhandled */

static volatile uint16_t *const vga = (volatile uint16_t *)VGA_TEXT;

/* Is the command line's last word `word`? */
static bool last_word(const char *cmdline, const char *word)
{
	const char *last = cmdline ? strrchr(cmdline, ' ') : NULL;

	return last && strcmp(last + 1, word) == 0;
}

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	const char *cmdline = multiboot_cmdline(magic, info);

	console_init("watch: ", 0);
	vga[0] = 0x0748;		/* 'H', grey on black: 66 C7 05 imm16 */
	vga[1] = 0x0769;		/* 'i' */
	printk("vga 0x%x reads 0x%04x 0x%04x\n", VGA_TEXT, vga[0], vga[1]);
	if (last_word(cmdline, "more")) {
		volatile uint32_t *ign = (volatile uint32_t *)IGNORED;
		volatile uint32_t *log = (volatile uint32_t *)LOGGED;
		volatile uint32_t *rd = (volatile uint32_t *)READ_LOGGED;
		uint32_t before = *ign;
		*ign = before ^ 0x5a5a5a5a;
		printk("ignored 0x%x: before 0x%x, after 0x%x\n", IGNORED, before, *ign);
		*log = 0xcafe1234;
		printk("logged 0x%x reads 0x%x\n", LOGGED, *log);
		*rd = 0x600d;		/* a store there is not watched: no line */
		printk("read-watched 0x%x reads 0x%x\n", READ_LOGGED, *rd);
	}
	if (last_word(cmdline, "exec")) {
		*(volatile uint8_t *)NO_EXEC = 0xc3;	/* RET: the page's writes are not watched */
		printk("calling 0x%x\n", NO_EXEC);
		((void (*)(void))NO_EXEC)();
		printk("returned from 0x%x: its execution was not stopped\n", NO_EXEC);
	}
	poweroff(1);
}
