/*
 * lvisor starts here, in 64-bit mode (boot/entry.S got us there): find the
 * TSC's frequency, take over the machine's memory map, pick the hardware
 * backend that this CPU has, prepare the guest and run it until it stops.
 */
#include <asm/x86.h>
#include <lib/console.h>
#include <lib/poweroff.h>
#include <lib/printk.h>
#include <lib/tsc.h>
#include <lvisor/handoff.h>
#include <lvisor/multiboot.h>
#include "policy.h"
#include "selfcheck.h"
#include "smp.h"
#include "stats.h"
#include "vcpu.h"
#include "vmm.h"

extern const struct backend svm_backend;
extern const struct backend vmx_backend;
static const struct backend *const backends[] = { &vmx_backend, &svm_backend };

static struct vcpu vcpu0;

void vmm_stop(bool ok)
{
	bool ok2 = smp_wait_guest2();	/* a second guest that still runs: its end first */
	console_reset();	/* the guest may have left the UART unusable */
	stats_print();
	selfcheck_report();
	smp_exit_status(ok, ok2);
	printk("guest stopped; lvisor powers the machine off\n");
	poweroff(ok && ok2);
}

void panic(const char *fmt, ...)
{
	char buf[504];	/* with "panic: " and the newline: printk's 512 bytes */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_reset();
	printk("panic: %s\n", buf);	/* one printk: one line, whole (console_shared) */
	trace_print();
	vmm_stop(false);
}

void vmm_main(uint32_t magic, struct multiboot_info *mbi)
{
	selfcheck_init();	/* first: nothing has run that could change the image */
	console_init("lvisor: ", COLOR_VMM);
	console_shared();	/* every CPU's lvisor prints here */
	trap_init();
	printk("lvisor, a minimal hypervisor for learning; policy \"%s\" (%s): %s\n",
	       policy.name, policy.file, policy.description);
	if (&policy2)	/* linked in with POLICY2 (policy.h) */
		printk("second policy \"%s\" (%s) linked, for the second guest\n",
		       policy2.name, policy2.file);
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		panic("not started by a multiboot loader (EAX=0x%x)", magic);
	tsc_init();
	/* Guests set XCR0 through lvisor (XSETBV exits on VMX), which needs
	 * CR4.OSXSAVE in lvisor's own CR4 (SDM Vol. 2C, XSETBV). */
	if (cpuid(1, 0).ecx & CPUID_1_ECX_XSAVE)
		write_cr4(read_cr4() | CR4_OSXSAVE);

	for (unsigned i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i]->detect())
			backend = backends[i];
	if (!backend)
		panic("this CPU has neither Intel VMX nor AMD SVM (CPUID); under QEMU use -cpu with +svm, under Bochs a model with VMX");
	printk("hardware virtualization: %s\n", backend->name);

	guest_setup(mbi);
	pci_init();
	acpi_hide_hpet();
	apic_init();
	ioapic_init();	/* with a second guest: lvisor's, split between the two */
	smp_init();	/* a second CPU, if the machine has one: started and parked */
	if (backend->init() || vcpu_create(&vcpu0, &policy, &guest1, FIRMWARE_ADDR))
		vmm_stop(false);

	printk("entering the guest in real mode at CS base 0x%x, IP 0\n", FIRMWARE_ADDR);
	console_guest_color(COLOR_GUEST);
	smp_go();
	vcpu_run_loop(&vcpu0);
	vmm_stop(false);
}
