/*
 * PCI configuration space, through CONFIG_ADDRESS (0xcf8) and CONFIG_DATA
 * (0xcfc-0xcff), configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2):
 * core_pci_io, exits.h. The ports are declared once, in codegen/core.py
 * (its IO list), which writes their numbers into core_ports.h:
 *
 *   0xcf8          CORE_PORT_PCI_CONFIG_ADDRESS: a dword selects a register
 *   0xcf9          CORE_PORT_PIIX_RESET_CONTROL: not PCI's (vmm/reset.c)
 *   0xcfa-0xcfb    CORE_PORT_PCI_CONFIG_ADDRESS_HI: only a dword at 0xcf8
 *                  reaches them; alone they are absent hardware
 *   0xcfc-0xcff    CORE_PORT_PCI_CONFIG_DATA: the selected register
 *
 * With no IOMMU, a device the guest can configure can be made to write
 * any physical memory, lvisor's included: bus mastering lets it DMA, a BAR
 * moved over RAM makes it decode lvisor's addresses, an MSI capability
 * makes it write a guest-chosen value to a guest-chosen address. And some
 * devices' own registers move what the core watches: the PIIX4's PM base
 * (the power-off and sleep ports), the i440FX's SMRAM control. So the
 * guest reads configuration space freely, and its writes are filtered:
 *
 *   command (0x04)          bus master enable (bit 2) always written as 0
 *   status, cache line size, latency timer, BIST, interrupt line
 *                           written as the guest asks
 *   0x10-0x3b (BARs, ROM)   a dword of all ones (sizing: the device answers
 *                           with its size) or the value the BIOS left there
 *                           (put back after sizing); nothing else, so no
 *                           device moves
 *   0x40-0xff               dropped: device-specific (PM base, SMRAM, PIRQ
 *                           routing, MSI and MSI-X capabilities live here)
 *
 * A dropped write is logged (rate-limited). pci_init() records each
 * device's BARs and turns bus mastering off before the guest runs.
 * Only bus 0 is scanned: the i440FX machines of QEMU and Bochs have no
 * PCI bridges. Memory-mapped configuration (PCIe ECAM) does not exist on
 * them either.
 */
#include <asm/x86.h>
#include <lib/printk.h>
#include "actions.h"
#include "core_ports.h"
#include "exits.h"
#include "vmm.h"

#define PCI_ENABLE		(1u << 31)
#define PCI_COMMAND		0x04
#define PCI_COMMAND_MASTER	(1u << 2)
#define PCI_HEADER_TYPE		0x0e
#define PCI_BARS_FIRST		0x10	/* BARs, CardBus CIS, subsystem IDs, ROM, capabilities */
#define PCI_BARS_END		0x3c	/* interrupt line */
#define PCI_DEVICE_SPECIFIC	0x40
#define PCI_MAX_FUNCTIONS	64

/* The BIOS's values of 0x10-0x3b, by bus/device/function (bits 23:8 of
 * CONFIG_ADDRESS). */
static struct {
	uint32_t bdf;
	uint32_t bars[(PCI_BARS_END - PCI_BARS_FIRST) / 4];
} functions[PCI_MAX_FUNCTIONS];
static unsigned function_count;

uint32_t pci_config_read(uint32_t bdf, uint8_t reg)
{
	outl(CORE_PORT_PCI_CONFIG_ADDRESS, PCI_ENABLE | bdf | reg);
	return inl(CORE_PORT_PCI_CONFIG_DATA_FIRST);
}

void pci_config_write(uint32_t bdf, uint8_t reg, uint32_t val)
{
	outl(CORE_PORT_PCI_CONFIG_ADDRESS, PCI_ENABLE | bdf | reg);
	outl(CORE_PORT_PCI_CONFIG_DATA_FIRST, val);
}

static void record_function(uint32_t bdf)
{
	if (function_count == PCI_MAX_FUNCTIONS)
		panic("more than %d PCI functions on bus 0", PCI_MAX_FUNCTIONS);
	functions[function_count].bdf = bdf;
	for (unsigned i = 0; i < (PCI_BARS_END - PCI_BARS_FIRST) / 4; i++)
		functions[function_count].bars[i] = pci_config_read(bdf, PCI_BARS_FIRST + 4 * i);
	function_count++;
	/* No DMA from here on (the command register is the low half). */
	uint32_t cmd = pci_config_read(bdf, PCI_COMMAND);
	if (cmd & PCI_COMMAND_MASTER)
		pci_config_write(bdf, PCI_COMMAND, cmd & 0xffff & ~PCI_COMMAND_MASTER);
}

void pci_init(void)
{
	for (uint32_t dev = 0; dev < 32; dev++) {
		for (uint32_t fn = 0; fn < 8; fn++) {
			uint32_t bdf = dev << 11 | fn << 8;
			if ((pci_config_read(bdf, 0) & 0xffff) == 0xffff) {
				if (fn == 0)
					break;		/* no device */
				continue;
			}
			record_function(bdf);
			/* Header type bit 7: a multi-function device. */
			if (fn == 0 && !(pci_config_read(bdf, PCI_HEADER_TYPE & ~3) >> 16 & 0x80))
				break;
		}
	}
	printk("PCI: %u functions on bus 0, bus mastering off, configuration writes filtered\n",
	       function_count);
}

/* May this dword be written into 0x10-0x3b: all ones (a ROM BAR keeps its
 * low 11 bits, PCI 3.0 6.2.5.2), or what the BIOS left there? */
static bool bar_write_ok(uint32_t bdf, uint8_t reg, uint32_t val)
{
	if ((val | 0x7ff) == 0xffffffff)
		return true;
	for (unsigned i = 0; i < function_count; i++)
		if (functions[i].bdf == bdf)
			return functions[i].bars[(reg - PCI_BARS_FIRST) / 4] == val;
	return false;		/* a function that appeared later: nothing moves */
}

/* The value to write for one byte of a CONFIG_DATA write, or -1 to drop
 * the whole write. */
static int filter_byte(uint8_t reg, uint8_t byte)
{
	if (reg >= PCI_DEVICE_SPECIFIC)
		return -1;
	if (reg == PCI_COMMAND)
		return byte & ~PCI_COMMAND_MASTER;
	return byte;
}

static int config_data_write(struct vcpu *v, uint32_t address)
{
	static struct act_ratelimit dropped;
	uint32_t bdf = address & 0xffff00;
	uint8_t reg = (address & 0xfc) + (v->exit.io.port - CORE_PORT_PCI_CONFIG_DATA_FIRST);
	uint32_t val = act_io_value(v), out = 0;

	if (!(address & PCI_ENABLE))		/* configuration cycles off: no effect */
		return act_io_emulate(v);
	if (reg >= PCI_BARS_FIRST && reg < PCI_BARS_END) {
		if (v->exit.io.size != 4 || !bar_write_ok(bdf, reg, val))
			goto drop;
		return act_io_emulate(v);
	}
	for (unsigned i = 0; i < v->exit.io.size; i++) {
		int b = filter_byte(reg + i, val >> 8 * i);
		if (b < 0)
			goto drop;
		out |= (uint32_t)b << 8 * i;
	}
	if (v->exit.io.size == 1)
		outb(v->exit.io.port, out);
	else if (v->exit.io.size == 2)
		outw(v->exit.io.port, out);
	else
		outl(v->exit.io.port, out);
	vcpu_skip(v);
	return EXIT_RESUME;
drop:
	act_log(v, &dropped, "lvisor's PCI filter", "PCI %02x:%02x.%u register 0x%x: write 0x%x dropped "
		"(the guest may not move a device, make it write memory or reconfigure the chipset)",
		bdf >> 16 & 0xff, bdf >> 11 & 0x1f, bdf >> 8 & 7, reg, val);
	vcpu_skip(v);
	return EXIT_RESUME;
}

int core_pci_io(struct vcpu *v)
{
	uint32_t port = v->exit.io.port, last = port + v->exit.io.size - 1;

	if (v->exit.io.string)
		return vcpu_stop(v, "string I/O to PCI configuration port 0x%x is not emulated", port);
	if (port == CORE_PORT_PCI_CONFIG_ADDRESS && v->exit.io.size == 4)
		return act_io_emulate(v);	/* CONFIG_ADDRESS itself: nothing happens yet */
	if (port <= CORE_PORT_PIIX_RESET_CONTROL && last >= CORE_PORT_PIIX_RESET_CONTROL)
		return core_reset_io(v);	/* the PIIX reset control register */
	if (port >= CORE_PORT_PCI_CONFIG_DATA_FIRST && last <= CORE_PORT_PCI_CONFIG_DATA_LAST) {
		if (v->exit.io.in)
			return act_io_emulate(v);
		return config_data_write(v, inl(CORE_PORT_PCI_CONFIG_ADDRESS));
	}
	return core_absent_io(v);	/* bytes of CONFIG_ADDRESS, or straddling CONFIG_DATA */
}
