/*
 * echo: a 32-bit multiboot kernel that reads its console, to test typing to
 * a guest, a second guest's COM2 above all (boot/consoles.py): it prompts
 * with "> ", echoes each key it gets, and on Enter (CR or LF) prints the
 * line back, "echo: LINE". The line "quit" powers it off.
 *
 * It polls its UART (console_getc: LSR bit 0, data ready, then RBR), with
 * no interrupts: as the second guest its one device is COM2.
 *
 * With the word `irq` on its command line it waits for each key with
 * interrupts instead, as a PC kernel with COM1 does: its console is COM1
 * (port 0x3f8), whose receive interrupt (IER bit 0) is ISA IRQ 4, I/O APIC
 * pin 4, which it programs to vector 0x24 for APIC ID 0 (as xv6 does, its
 * CPU's index); it enables its local APIC and waits with STI; HLT. As
 * lvisor's second guest (SVM) that is the machine's COM2 and its pin 3,
 * sent to the second guest's CPU: no key gets through any other way.
 * "quit" says how many interrupts came.
 */
#include <stdbool.h>
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lvisor/multiboot.h>

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

#define COM1		0x3f8
#define UART_IER	1	/* interrupt enable: bit 0, received data */
#define UART_MCR	4	/* modem control: bit 3, OUT2, gates the IRQ on a PC */
#define IRQ_VECTOR	0x24
#define LAPIC_EOI	0xfee000b0
#define LAPIC_SVR	0xfee000f0	/* bit 8: APIC software enable */
#define IOAPIC_IOREGSEL	0xfec00000
#define IOAPIC_IOWIN	0xfec00010
#define IOREDTBL(pin)	(0x10 + 2 * (pin))

/* The interrupt handler: count, EOI, return; the main loop reads the UART. */
volatile uint32_t irqs;
void irq_entry(void);
void irq_count(void);
void irq_count(void)
{
	irqs++;
	*(volatile uint32_t *)LAPIC_EOI = 0;
}
__asm__(".text\n.globl irq_entry\nirq_entry:\n\tpushal\n\tcld\n\tcall irq_count\n\tpopal\n\tiret\n");

/* A 32-bit interrupt gate for `vector` (SDM 6.11, figure 6-2); every other
 * vector is not present. */
static uint64_t idt[256];

static void interrupts_on(void)
{
	uint16_t cs;
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint32_t)idt };
	uint32_t handler = (uint32_t)irq_entry;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	idt[IRQ_VECTOR] = (handler & 0xffff) | (uint32_t)cs << 16 |
			  (uint64_t)(0x8e00 | (handler & 0xffff0000)) << 32;	/* P, DPL 0, 32-bit interrupt gate */
	__asm__ volatile("lidt %0" : : "m"(idtr));
	*(volatile uint32_t *)LAPIC_SVR = 0x1ff;	/* enabled, spurious vector 0xff */
	/* I/O APIC pin 4: destination APIC ID 0 first, then vector, fixed,
	 * physical, edge, active high, unmasked (82093AA 3.2.4). */
	*(volatile uint32_t *)IOAPIC_IOREGSEL = IOREDTBL(4) + 1;
	*(volatile uint32_t *)IOAPIC_IOWIN = 0;
	*(volatile uint32_t *)IOAPIC_IOREGSEL = IOREDTBL(4);
	*(volatile uint32_t *)IOAPIC_IOWIN = IRQ_VECTOR;
	outb(COM1 + UART_MCR, 0x0b);		/* DTR, RTS, OUT2 */
	outb(COM1 + UART_IER, 0x01);		/* received data available */
}

/* Wait for the next key: poll, or (irq) sleep until an interrupt. */
static int getc_wait(bool irq)
{
	int c;

	while ((c = console_getc()) < 0) {
		if (irq)
			__asm__ volatile("sti; hlt; cli");
		else
			cpu_relax();
	}
	return c;
}

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	const struct multiboot_info *mbi = (const void *)info;
	char line[80], key[2] = "";
	unsigned n = 0;
	bool cr = false, irq = false;

	/* As the second guest (KERNEL2) it reads and prints on COM2; with
	 * `irq`, on COM1 (which lvisor makes COM2 for the second guest). */
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MULTIBOOT_INFO_CMDLINE)) {
		const char *cmdline = (const char *)mbi->cmdline;
		console_port_from_cmdline(cmdline);
		for (const char *w = strchr(cmdline, ' '); w; w = strchr(w + 1, ' '))
			irq |= !strncmp(w + 1, "irq", 3) && (w[4] == ' ' || !w[4]);
		if (irq)
			console_port(COM1);
	}
	console_init("echo: ", 0);
	if (irq) {
		interrupts_on();
		printk("keys come by interrupt: COM1 IRQ 4, I/O APIC pin 4, vector 0x%x\n", IRQ_VECTOR);
	}
	printk("type a line and Enter: it comes back; quit powers off\n");
	console_raw("> ");	/* raw: the prompt and the keys are no line of ours */
	for (;;) {
		int c = getc_wait(irq);
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
			if (!strcmp(line, "quit")) {
				if (irq)
					printk("%u interrupts\n", irqs);
				poweroff(1);
			}
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
