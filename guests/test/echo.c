/*
 * echo: a 32-bit multiboot kernel that reads its console, to test typing to
 * a guest, a second guest's COM2 above all (boot/consoles.py): it prompts
 * with "> ", echoes each key it gets, and on Enter (CR or LF) prints the
 * line back, "echo: LINE". The line "quit" powers it off.
 *
 * It polls its UART (console_getc: LSR bit 0, data ready, then RBR), with
 * no interrupts: as the second guest its one device is COM2.
 */
#include <stdbool.h>
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/multiboot.h>

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	const struct multiboot_info *mbi = (const void *)info;
	char line[80], key[2] = "";
	unsigned n = 0;
	bool cr = false;

	/* As the second guest (KERNEL2) it reads and prints on COM2. */
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MULTIBOOT_INFO_CMDLINE))
		console_port_from_cmdline((const char *)mbi->cmdline);
	console_init("echo: ", 0);
	printk("type a line and Enter: it comes back; quit powers off\n");
	console_raw("> ");	/* raw: the prompt and the keys are no line of ours */
	for (;;) {
		int c = console_getc();
		if (c < 0) {
			cpu_relax();
			continue;
		}
		if (c == '\n' && cr) {		/* the LF of a CR LF */
			cr = false;
			continue;
		}
		cr = c == '\r';
		if (c == '\r' || c == '\n') {
			console_raw("\r\n");
			line[n] = '\0';
			if (n)
				printk("%s\n", line);
			if (!strcmp(line, "quit"))
				poweroff(1);
			n = 0;
			console_raw("> ");
		} else if (c == 0x7f || c == '\b') {	/* Backspace: DEL or BS */
			if (n) {
				n--;
				console_raw("\b \b");
			}
		} else if (c >= ' ' && c < 0x7f && n < sizeof(line) - 1) {
			line[n++] = (char)c;
			key[0] = (char)c;
			console_raw(key);
		}
	}
}
