/*
 * misbehave: a 32-bit multiboot kernel that does what a guest must not, in
 * the way its command line's last word names:
 *
 *   triple  an exception with an empty IDT: #GP, then #DF, then a triple
 *           fault, which would reset the machine (SDM 6.15, interrupt 8;
 *           APM 8.2.9)
 *   nested  VMXON (Intel) or VMRUN (AMD), by CPUID's vendor: the guest tries
 *           to become a hypervisor itself; in a guest these always exit
 *           (SDM 26.1.2, APM 15.5.1), and lvisor does not nest
 *   reset-cf9  0x06 to the PIIX reset control register, port 0xcf9 (what
 *           Linux does through the ACPI reset register of QEMU's and Bochs'
 *           tables)
 *   reset-kbd  command 0xFE to the keyboard controller, port 0x64 (what many
 *           small kernels do)
 *   reset-92   bit 0 (fast reset) of system control port A, port 0x92
 *   reset-92w  the same bit as the high byte of an OUTW to port 0x91
 *   reset-92l  an OUTL to port 0x92
 *   reset-kbdw 0xFE as the high byte of an OUTW to port 0x63
 *   reset-cf9w an OUTW to port 0xcf8 whose high byte (0x06) lands on 0xcf9
 *   reset-kbd-out  command 0xD1 to port 0x64, then an output port value
 *           with bit 0 (reset) clear to port 0x60
 *   reset-outs  REP OUTSB of 0xFE to port 0x64
 *   sleep   ACPI PM1a_CNT (0x604 on QEMU, 0xb004 on Bochs, by CPUID's
 *           vendor) with SLP_EN and SLP_TYP 1 (S3, suspend to RAM): the
 *           machine would wake up in the BIOS
 *   sleep-byte  the same as one byte to the register's high half
 *   init    an INIT IPI to itself through the local APIC's ICR (shorthand
 *           "all including self"): the CPU would reset. gcc stores the
 *           ICR from EAX (MOV moffs32, EAX: A3)
 *   init-imm   the same INIT as MOV of an immediate (C7 05 disp32 imm32)
 *   init-xchg  the same INIT with XCHG (87 05 disp32), which lvisor does
 *           not carry out on SVM: it must report and stop all the same
 *   ipi-other  a fixed IPI to APIC ID 15, another CPU: lvisor gives the
 *           guest one CPU (on SVM; VMX does not look at IPIs)
 *   init-other an INIT IPI to the other CPU: APIC ID 1, the CPU that
 *           runs the second guest (KERNEL2); as the second guest itself
 *           (its console is COM2, console=0x2f8), APIC ID 0, the first
 *           guest's. From the first guest: on SVM lvisor refuses it and
 *           stops this guest; on VMX it reaches that CPU, whose INIT exit
 *           lvisor ignores (vmm/exits.c; or it stops the second guest alone
 *           if the INIT stays pending, as on Bochs 2.7), and this guest
 *           runs on and powers off normally. From the second guest: on SVM
 *           lvisor refuses the ICR write and stops it alone; on VMX its map
 *           has no local APIC, so lvisor stops it alone at the first APIC
 *           access
 *   nmi-other  an NMI IPI to the other CPU, the same way: on VMX that
 *           CPU's NMI exits and lvisor drops it (vmm/vmx/vmx.c)
 *   hpet    read the HPET's capabilities (allowed), then write its timer 0
 *           configuration with FSB delivery on: its interrupt would become a
 *           memory write of the guest's choosing (IA-PC HPET 1.0a, 2.3.9.2.2)
 *   uart    leave COM1 with the divisor latch selected, in loopback, at
 *           another speed and 7-bit words, then triple-fault: lvisor's
 *           report must still reach the console
 *
 * The command line can name several, done in order: "wait devices"
 * (words with "=", such as console=0x2f8, are not modes).
 *
 * A reset would restart the machine, lvisor with it, in silence. Under lvisor
 * each must be reported with the guest's state and the guest stopped, lvisor
 * itself unharmed; if we get past it, the run fails.
 *
 * These must work and end in a normal power-off:
 *
 *   devices write a line straight to COM1 (port 0x3f8), then read PIT
 *           counter 0 (port 0x40) and the master PIC's mask (port 0x21) and
 *           print what they gave: as the second guest, whose one device is
 *           COM2, nothing reaches the machine's COM1 (with two guests on
 *           SVM or VMX its COM1 ports are COM2's: the line shows on its own
 *           console) and both read 0xff (absent hardware)
 *   com2    write a line straight to COM2 (port 0x2f8), then read its line
 *           status (0x2fd): as the first guest with two guests, COM2 is the
 *           second guest's: the line reaches no one, the status reads 0xff
 *   ioapic-pin2  program I/O APIC pin 2 (the PIT's: the first guest's timer)
 *           to vector 0x22, unmasked, and read it back. With two guests
 *           lvisor keeps the I/O APIC (SVM): as the second guest, not its
 *           pin, so the write is dropped (reported at the machine's end)
 *           and the entry reads masked (0x00010000); the guest goes on
 *   wait    wait one second by the TSC (lib/tsc.c finds its frequency; the
 *           second guest's comes in its command line, tsc_khz=): the
 *           second guest outlives a first that ends at once
 *   pci     a dword OUT to 0xcf8 (PCI CONFIG_ADDRESS, which covers 0xcf9),
 *           then the vendor and device of 00:00.0 from 0xcfc
 *   a20-92  turn A20 off through bit 1 of port 0x92, then check it
 *   a20-kbd turn A20 off through the keyboard controller's output port
 *           (command 0xD1, bit 1 clear), then check it: lvisor keeps it on
 *   smi-self  an SMI to itself through the ICR (shorthand "self"): the CPU
 *           would enter the firmware's SMM, outside lvisor; lvisor refuses
 *           it wherever it checks the guest's APIC writes (SVM; VMX with a
 *           second guest) and stops this guest
 *   nmi     an NMI to itself through the ICR: its IDT's vector 2 handler
 *           must see it
 *   apic-straddle  a store to the local APIC's TPR through a base register
 *           (carried out), then a 4-byte store at 0xfedffffe, two bytes
 *           before the APIC's page and two on its first register: not an
 *           access to one register, lvisor stops the guest (SVM; VMX with
 *           a second guest)
 *   crtc    as the second guest: CRTC register 0x0e set through ports
 *           0x3d4 and 0x3d5, then read back as a word and a dword IN at
 *           0x3d4 (the index in the low byte, the register in the next,
 *           all ones past 0x3d5)
 */
#include <stdbool.h>
#include <stdint.h>
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <lib/tsc.h>
#include <lvisor/multiboot.h>

MULTIBOOT_ELF_HEADER(MULTIBOOT_MEMORY_INFO);

/* VMXON's and VMRUN's operand: a page-aligned region (never used). */
static uint8_t region[4096] __attribute__((aligned(4096)));

static void triple_fault(void)
{
	static const struct { uint16_t limit; uint32_t base; } __attribute__((packed))
		empty_idt = { 0, 0 };

	printk("loading an empty IDT, then UD2\n");
	console_flush();
	__asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
}

static void nested(void)
{
	uint32_t a = 0, b, c = 0, d;
	uint64_t pa = (uint32_t)region;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (b == 0x756e6547) {			/* "Genu"ineIntel */
		printk("executing VMXON\n");
		console_flush();
		__asm__ volatile("vmxon %0" : : "m"(pa) : "memory");
	} else {
		printk("executing VMRUN\n");
		console_flush();
		__asm__ volatile("vmrun %%eax" : : "a"(region) : "memory");
	}
}

static void reset(uint16_t port)
{
	printk("resetting the machine through port 0x%x\n", port);
	console_flush();
	if (port == 0x64)
		outb(0x64, 0xfe);		/* pulse output line 0: the CPU's reset */
	else if (port == 0x92)
		outb(0x92, inb(0x92) | 1);	/* fast reset; keep A20 as it is */
	else
		outb(0xcf9, 0x06);		/* SYS_RST | RST_CPU */
	for (volatile int i = 0; i < 10000000; i++)	/* a reset takes a moment */
		;
}

static void reset_wide(const char *how)
{
	printk("resetting the machine with %s\n", how);
	console_flush();
	if (!strcmp(how, "reset-92w"))
		outw(0x91, (uint16_t)((inb(0x92) | 1) << 8 | inb(0x91)));
	else if (!strcmp(how, "reset-92l"))
		outl(0x92, inb(0x92) | 1);
	else if (!strcmp(how, "reset-kbdw"))
		outw(0x63, 0xfe00);
	else if (!strcmp(how, "reset-cf9w"))
		outw(0xcf8, 0x0600);
	else if (!strcmp(how, "reset-kbd-out")) {
		outb(0x64, 0xd1);		/* write the output port */
		outb(0x60, 0xfe);		/* A20 on, bit 0 (reset) clear */
	} else if (!strcmp(how, "reset-outs")) {
		static const uint8_t cmd = 0xfe;
		__asm__ volatile("rep outsb" : : "S"(&cmd), "c"(1), "d"(0x64) : "memory");
	}
	for (volatile int i = 0; i < 10000000; i++)	/* a reset takes a moment */
		;
}

static bool intel(void)
{
	uint32_t a = 0, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return b == 0x756e6547;			/* "Genu"ineIntel: Bochs */
}

/* ACPI PM1a_CNT: SLP_EN (bit 13) with SLP_TYP 1 (bits 10-12), S3. */
static void sleep(bool byte)
{
	uint16_t port = intel() ? 0xb004 : 0x604;

	printk("putting the machine to sleep (S3) through port 0x%x\n", port + byte);
	console_flush();
	if (byte)
		outb(port + 1, (1 << 5) | (1 << 2));
	else
		outw(port, (1 << 13) | (1 << 10));
	for (volatile int i = 0; i < 10000000; i++)
		;
}

/* PCI configuration mechanism #1: CONFIG_ADDRESS at 0xcf8 (a dword),
 * CONFIG_DATA at 0xcfc. 00:00.0 is the host bridge. */
static bool pci(void)
{
	outl(0xcf8, 0x80000000);
	uint32_t id = inl(0xcfc);
	printk("PCI 00:00.0: vendor %04x device %04x\n", id & 0xffff, id >> 16);
	return (id & 0xffff) != 0xffff;
}

/* With A20 off, bit 20 of every address is dropped: a word at 1 MiB + x
 * and one at x are the same. We run above 1 MiB: if A20 were off, this
 * code would not be running at all, but look anyway. */
static volatile uint32_t a20_probe;

static bool a20_check(void)
{
	volatile uint32_t *low = (volatile uint32_t *)((uint32_t)&a20_probe & ~0x100000u);
	uint32_t saved = *low;

	a20_probe = ~saved;
	printk("A20 is %s\n", *low == saved ? "on" : "off");
	return *low == saved;
}

static bool a20_off(bool kbd)
{
	printk("turning A20 off through %s\n", kbd ? "the keyboard controller's output port" : "port 0x92");
	console_flush();
	if (kbd) {
		outb(0x64, 0xd1);
		outb(0x60, 0xdd);		/* bit 0 set (no reset), bit 1 (A20) clear */
	} else {
		outb(0x92, inb(0x92) & ~2);
	}
	return a20_check();
}

/* The local APIC (xAPIC, SDM 10.6.1): the ICR's low word sends the IPI. */
#define APIC_SVR		0xfee000f0
#define APIC_ICR_LOW		0xfee00300
#define APIC_ICR_HIGH		0xfee00310
#define ICR_NMI			(4 << 8)
#define ICR_INIT		(5 << 8)
#define ICR_ASSERT		(1 << 14)
#define ICR_ALL_INCLUDING_SELF	(2 << 18)
#define ICR_SMI			(2 << 8)
#define ICR_SELF		(1 << 18)

/* Are we lvisor's second guest? Its console is COM2 (console=0x2f8). */
static bool second_guest;

static void self_ipi(uint32_t mode)
{
	*(volatile uint32_t *)APIC_SVR |= 0x100;	/* software-enable the APIC */
	*(volatile uint32_t *)APIC_ICR_HIGH = 0;
	*(volatile uint32_t *)APIC_ICR_LOW = mode | ICR_ASSERT | ICR_ALL_INCLUDING_SELF;
	for (volatile int i = 0; i < 1000000; i++)	/* delivery takes a moment */
		;
}

static void smi_self(void)
{
	printk("sending an SMI to itself\n");
	console_flush();
	*(volatile uint32_t *)APIC_SVR |= 0x100;
	*(volatile uint32_t *)APIC_ICR_LOW = ICR_SMI | ICR_ASSERT | ICR_SELF;
	for (volatile int i = 0; i < 1000000; i++)
		;
}

static void init_ipi(void)
{
	printk("sending INIT to itself\n");
	console_flush();
	self_ipi(ICR_INIT);
}

/* The ICR's low dword written by the instruction `how` names; lvisor on
 * SVM decodes MOV stores only (vmm/svm/decode.c). */
static void ipi_insn(const char *how)
{
	volatile uint32_t *icr = (volatile uint32_t *)APIC_ICR_LOW;
	uint32_t val = ICR_INIT | ICR_ASSERT | ICR_ALL_INCLUDING_SELF;

	if (!strcmp(how, "init-other") || !strcmp(how, "nmi-other")) {
		bool init = how[0] == 'i';
		uint32_t other = second_guest ? 0 : 1;	/* the CPU that runs the other guest */
		printk("sending %s to APIC ID %u\n", init ? "INIT" : "an NMI", other);
		console_flush();
		/* Said first: as the second guest, the first APIC access stops us. */
		*(volatile uint32_t *)APIC_SVR |= 0x100;
		*(volatile uint32_t *)APIC_ICR_HIGH = other << 24;
		*icr = (init ? ICR_INIT : ICR_NMI) | ICR_ASSERT;	/* physical destination, no shorthand */
		for (volatile int i = 0; i < 1000000; i++)
			;
		return;
	}
	*(volatile uint32_t *)APIC_SVR |= 0x100;
	if (!strcmp(how, "ipi-other")) {
		printk("sending a fixed IPI to APIC ID 15\n");
		console_flush();
		*(volatile uint32_t *)APIC_ICR_HIGH = 15u << 24;
		*icr = 0x40;		/* vector 0x40, fixed, physical, no shorthand */
	} else if (!strcmp(how, "init-imm")) {
		printk("sending INIT to itself with MOV of an immediate\n");
		console_flush();
		*(volatile uint32_t *)APIC_ICR_HIGH = 0;
		__asm__ volatile("movl %1, %0" : "=m"(*icr) : "i"(ICR_INIT | ICR_ASSERT | ICR_ALL_INCLUDING_SELF));
	} else {
		printk("sending INIT to itself with XCHG\n");
		console_flush();
		*(volatile uint32_t *)APIC_ICR_HIGH = 0;
		__asm__ volatile("xchg %0, %1" : "+r"(val), "+m"(*icr));
	}
	for (volatile int i = 0; i < 1000000; i++)
		;
}

static void apic_straddle(void)
{
	uint32_t page = 0xfee00000;

	__asm__ volatile("movl %1, 0x80(%0)" : : "r"(page), "r"(0) : "memory");	/* TPR: 0 */
	printk("wrote the TPR through a base register; now 4 bytes at 0xfedffffe\n");
	console_flush();
	__asm__ volatile("movl %1, 2(%0)" : : "r"(page - 4), "r"(0x12345678) : "memory");
	for (volatile int i = 0; i < 1000000; i++)
		;
}

static bool crtc(void)
{
	outb(0x3d4, 0x0e);
	outb(0x3d5, 0x12);
	uint16_t w = inw(0x3d4);
	uint32_t d = inl(0x3d4);
	printk("CRTC at 0x3d4: word IN 0x%04x, dword IN 0x%08x\n", w, d);
	return true;
}

/* The I/O APIC (82093AA datasheet 3.0): IOREGSEL selects, IOWIN shows;
 * pin n's redirection entry is registers 0x10 + 2n (low) and 0x11 + 2n. */
#define IOAPIC_IOREGSEL		0xfec00000
#define IOAPIC_IOWIN		0xfec00010

static uint32_t ioapic_rw(uint32_t reg, bool write, uint32_t val)
{
	*(volatile uint32_t *)IOAPIC_IOREGSEL = reg;
	if (write)
		*(volatile uint32_t *)IOAPIC_IOWIN = val;
	return *(volatile uint32_t *)IOAPIC_IOWIN;
}

static bool ioapic_pin2(void)
{
	printk("programming I/O APIC pin 2 (the PIT's) to vector 0x22, unmasked\n");
	ioapic_rw(0x15, true, 0);		/* destination APIC ID 0 */
	uint32_t lo = ioapic_rw(0x14, true, 0x22);	/* fixed, edge, active high */
	printk("I/O APIC pin 2 reads 0x%08x\n", lo);
	return true;
}

/* The NMI handler: count, return. */
volatile uint32_t nmis;
void nmi_entry(void);
__asm__(".text\n"
	"nmi_entry:\n"
	"	lock incl nmis\n"
	"	iret\n");

static bool nmi(void)
{
	static uint64_t idt[3];
	static struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idtr;
	uint16_t cs;
	uint32_t h = (uint32_t)nmi_entry;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	/* a 32-bit interrupt gate, DPL 0 (SDM 6.11) */
	idt[2] = (h & 0xffff) | (uint32_t)cs << 16 | (uint64_t)0x8e00 << 32 | (uint64_t)(h >> 16) << 48;
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint32_t)idt;
	__asm__ volatile("lidt %0" : : "m"(idtr));
	printk("sending an NMI to itself\n");
	self_ipi(ICR_NMI);
	printk("NMIs seen by the guest's handler: %u\n", nmis);
	return nmis == 1;
}

/* COM1's line control (DLAB, bit 7; word length, bits 0-1), modem control
 * (loopback, bit 4), interrupt enable. */
static void uart_break(void)
{
	printk("breaking the UART (DLAB, loopback, 9600 baud, 7 bits), then a triple fault\n");
	console_flush();
	outb(0x3fb, 0x80);		/* DLAB */
	outb(0x3f8, 12);		/* divisor 12: 9600 baud */
	outb(0x3f9, 0);
	outb(0x3fb, 0x82);		/* 7 bits, DLAB still on */
	outb(0x3fc, 0x10);		/* loopback */
	triple_fault();
}

#define HPET_BASE		0xfed00000u	/* QEMU's and Bochs' (their ACPI HPET table) */
#define HPET_TIMER0_CONFIG	0x100
#define HPET_TN_FSB_EN		(1u << 14)

/* The machine's devices that the second guest must not reach: its writes
 * to COM1 go to its own console (with two guests its COM1 is the
 * machine's COM2, vmm/exits.c), never the machine's COM1; its reads of the
 * PIT and the PIC give all ones. */
static void uart_line(uint16_t port, const char *line)
{
	for (const char *c = line; *c; c++) {
		for (int i = 0; i < 100000 && !(inb(port + 5) & 0x20); i++)	/* LSR: THR empty */
			;
		outb(port, *c);
	}
}

static bool devices(void)
{
	printk("writing a line straight to COM1 (port 0x3f8)\n");
	uart_line(0x3f8, "misbehave on COM1: this line is not the second guest's to write\r\n");
	outb(0x43, 0x00);			/* PIT: latch counter 0 */
	uint8_t lo = inb(0x40), hi = inb(0x40);
	uint8_t mask = inb(0x21);		/* master PIC: interrupt mask (OCW1) */
	printk("read PIT counter 0 (port 0x40): 0x%02x%02x, PIC mask (port 0x21): 0x%02x\n", hi, lo, mask);
	return true;
}

/* The first guest's view of COM2, the second guest's console: with two
 * guests lvisor takes its ports from the first guest's I/O bitmap, even
 * when its policy grants them, so the line reaches no one and the line
 * status register reads all ones (absent hardware). */
static bool com2(void)
{
	printk("writing a line straight to COM2 (port 0x2f8)\n");
	uart_line(0x2f8, "misbehave on COM2: this line is not the first guest's to write\r\n");
	printk("read COM2's line status (port 0x2fd): 0x%02x\n", inb(0x2fd));
	return true;
}

/* One second by the TSC. */
static bool wait(void)
{
	tsc_init();
	uint64_t start = rdtsc();
	printk("waiting one second\n");
	while (rdtsc() - start < tsc_hz)
		;
	printk("waited one second\n");
	return true;
}

static void hpet_fsb(void)
{
	volatile uint32_t *hpet = (volatile uint32_t *)HPET_BASE;

	printk("HPET capabilities 0x%08x; timer 0: FSB delivery on\n", hpet[0]);
	hpet[HPET_TIMER0_CONFIG / 4] |= HPET_TN_FSB_EN;
}

/* Do what one word of the command line says: true if it went as it must
 * (the modes that must be stopped return only if they were not). */
static bool misbehave(const char *how)
{
	bool ok = false;		/* the cases that must work say so */

	if (!strcmp(how, "triple"))
		triple_fault();
	else if (!strcmp(how, "nested"))
		nested();
	else if (!strcmp(how, "reset-cf9"))
		reset(0xcf9);
	else if (!strcmp(how, "reset-kbd"))
		reset(0x64);
	else if (!strcmp(how, "reset-92"))
		reset(0x92);
	else if (!strncmp(how, "reset-", 6))
		reset_wide(how);
	else if (!strcmp(how, "sleep") || !strcmp(how, "sleep-byte"))
		sleep(how[5] == '-');
	else if (!strcmp(how, "pci"))
		ok = pci();
	else if (!strcmp(how, "a20-92") || !strcmp(how, "a20-kbd"))
		ok = a20_off(how[4] == 'k');
	else if (!strcmp(how, "init"))
		init_ipi();
	else if (!strcmp(how, "smi-self"))
		smi_self();
	else if (!strcmp(how, "init-imm") || !strcmp(how, "init-xchg") || !strcmp(how, "ipi-other"))
		ipi_insn(how);
	else if (!strcmp(how, "init-other") || !strcmp(how, "nmi-other")) {
		ipi_insn(how);
		ok = true;	/* on VMX: it only reached the other CPU */
	}
	else if (!strcmp(how, "nmi"))
		ok = nmi();
	else if (!strcmp(how, "apic-straddle"))
		apic_straddle();
	else if (!strcmp(how, "crtc"))
		ok = crtc();
	else if (!strcmp(how, "ioapic-pin2"))
		ok = ioapic_pin2();
	else if (!strcmp(how, "uart"))
		uart_break();
	else if (!strcmp(how, "hpet"))
		hpet_fsb();
	else if (!strcmp(how, "devices"))
		ok = devices();
	else if (!strcmp(how, "com2"))
		ok = com2();
	else if (!strcmp(how, "wait"))
		ok = wait();
	else
		printk("say how: APPEND=triple, nested, reset-..., sleep, init, init-imm, init-xchg, ipi-other, init-other, nmi-other, ioapic-pin2, "
		       "apic-straddle, crtc, uart, hpet, pci, a20-92, a20-kbd, nmi, devices, com2 or wait\n");
	return ok;
}

void kernel_main(uint32_t magic, uint32_t info);
void kernel_main(uint32_t magic, uint32_t info)
{
	const struct multiboot_info *mbi = (const struct multiboot_info *)info;
	char words[256] = "";
	bool ok = true, any = false;

	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MULTIBOOT_INFO_CMDLINE)) {
		const char *cmdline = (const char *)mbi->cmdline;
		console_port_from_cmdline(cmdline);	/* COM2 as the second guest */
		tsc_hz_from_cmdline(cmdline);		/* the second guest's TSC (wait) */
		strncpy(words, cmdline, sizeof(words) - 1);
	}
	console_init("misbehave: ", 0);
	/* The first word is the kernel's name; the rest, modes and settings. */
	char *w = strchr(words, ' ');
	while (w) {
		*w++ = '\0';
		char *next = strchr(w, ' ');
		if (next)
			*next = '\0';
		if (!strncmp(w, "console=0x2f8", 13))
			second_guest = true;
		else if (*w && !strchr(w, '=')) {
			ok = misbehave(w) && ok;
			any = true;
		}
		if (next)
			*next = ' ';
		w = next;
	}
	if (!any)
		ok = misbehave("");
	printk("still running\n");
	poweroff(ok);
}
