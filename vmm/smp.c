/*
 * The second CPU and its guest: found in the ACPI MADT, started with
 * INIT-SIPI-SIPI, and, with KERNEL2, running the second guest.
 *
 * The emulators can give us two CPUs (make qemu CPUS=2; KERNEL2 sets it);
 * the BIOS has already woken every other CPU (an AP) once to count it and
 * put it back to sleep. smp_init() finds the AP's local APIC ID in the
 * MADT, starts it (SDM Vol. 3A 9.4.4.1 "Typical BSP Initialization
 * Sequence", 8.4.4.1 in editions before 2023; MP spec B.4) through the
 * real-mode trampoline of boot/trampoline.S, and waits until the AP runs in
 * lvisor's own memory, with lvisor's page tables, GDT and IDT. The AP, in
 * ap_main(), enables VMX or SVM (in VMX root operation INIT is blocked) and
 * creates the second guest's vCPU, then waits for smp_go(): both guests
 * start together. Without a second guest it parks in a cli; hlt loop.
 *
 * The two guests end on their own (README "Two guests", Lifetimes): the
 * second guest's end is kept in guest2 and reported by the boot CPU once
 * the first guest has ended too (smp_wait_guest2), since the first guest
 * writes COM1 directly and a report from this CPU while it runs would
 * split its lines. A second guest that lvisor stops is named at once on
 * its own console, COM2, in one line.
 *
 * With one CPU in the MADT (the default), or no MADT, nothing happens and
 * nothing is printed. A third CPU and beyond stay where the BIOS left them.
 */
#include <asm/x86.h>
#include <lib/printk.h>
#include <lib/console.h>
#include <lib/string.h>
#include <lib/tsc.h>
#include <lvisor/handoff.h>
#include "acpi.h"
#include "apic.h"
#include "policy.h"
#include "smp.h"
#include "stats.h"
#include "vcpu.h"
#include "vmm.h"

/* --- Finding the AP: the ACPI MADT (ACPI 6.x 5.2.12) ----------------------- */

/* The APIC ID of the first enabled CPU in the MADT other than ours, or -1;
 * *count: how many enabled CPUs it lists. */
static int madt_find_ap(uint8_t bsp_id, unsigned *count)
{
	uint8_t ids[64];
	int ap = -1;

	*count = acpi_cpus(ids, sizeof(ids));
	for (unsigned i = 0; i < *count && ap < 0; i++)
		if (ids[i] != bsp_id)
			ap = ids[i];
	return ap;
}

/* --- The local APIC's interrupt command register (SDM 11.6.1, vmm/apic.h) -- */

static void udelay(uint64_t us)
{
	uint64_t start = rdtsc();

	while (rdtsc() - start < us * tsc_hz / 1000000)
		cpu_relax();
}

/* Send one IPI to the CPU with this APIC ID, physical destination mode,
 * and wait until the APIC has sent it (SDM 11.6.1: the delivery status
 * goes back to idle). */
static void send_ipi(uint8_t dest, uint32_t icr)
{
	apic_write(APIC_ICR_HIGH, (uint32_t)dest << 24);
	apic_write(APIC_ICR_LOW, icr);
	for (int i = 0; i < 100000 && (apic_read(APIC_ICR_LOW) & ICR_PENDING); i++)
		cpu_relax();
}

/*
 * INIT, then two start-up IPIs (SDM 9.4.4.1; MP spec B.4): INIT resets the
 * AP to wait-for-SIPI, wherever the BIOS had parked it; after 10 ms a
 * start-up IPI starts it in real mode at vector * 4 KiB; a second one,
 * 200 us later, is the specification's guard against a lost first one
 * (an AP that already runs ignores it: it is no longer waiting for one).
 * The MP spec's INIT level de-assert is for the discrete 82489DX APIC;
 * integrated APICs ignore it, and the SDM's sequence has none.
 */
static void init_sipi_sipi(uint8_t dest, uint32_t page)
{
	send_ipi(dest, ICR_INIT | ICR_ASSERT);
	udelay(10000);
	for (int i = 0; i < 2; i++) {
		send_ipi(dest, ICR_STARTUP | ICR_ASSERT | (page >> 12));
		udelay(200);
	}
}

/* --- The AP ------------------------------------------------------------------ */

#define AP_STACK_PAGES	4

extern const char ap_trampoline[], ap_trampoline_end[];
extern char ap_param_cr3[], ap_param_stack[], ap_param_cpu[], ap_param_idtr[];

/* Where one of the trampoline's words is in the copy that the AP runs. */
#define IN_COPY(sym)	((void *)(uint64_t)(AP_TRAMPOLINE_ADDR + ((sym) - ap_trampoline)))

/* Set by the AP once it runs on its own stack in lvisor's memory and has
 * printed its line: until then the boot CPU only waits. */
static volatile unsigned ap_started;
static uint8_t boot_apic_id;
static volatile bool guest2_running;	/* the AP is in the second guest's run loop */
static struct vcpu vcpu1;		/* the second guest's CPU */
/* A second guest that lvisor stopped (guest2.stop): the boot CPU, once
 * the first guest is stopped, asks the AP for its state dump (report_now),
 * since on VMX only the AP can read its VMCS, and waits for it (report_done). */
static volatile bool report_now, report_done;
/* Set by the boot CPU as it enters the first guest (smp_go): until then
 * the AP waits with the second guest created. The two guests start
 * together and run side by side: a short second guest (lv6 is done in
 * about 100,000 instructions) would otherwise have ended before lvisor had
 * set up the first, and what one guest can do to the other's CPU (an IPI,
 * vmm/exits.c) could never be seen while the other runs. */
static volatile bool go;

void smp_go(void)
{
	__atomic_store_n(&go, true, __ATOMIC_RELEASE);
}
#define GUEST2_DUMP_WAIT_SECONDS	5

static bool both_ended;		/* and the second's end is reported */

/*
 * Each guest has its own lifetime: the first guest's end (its power-off,
 * or lvisor stopping it) does not end the second, and the second's never
 * ends the first. The machine powers off when both have ended. Called on
 * the boot CPU once the first guest has ended, before lvisor's last lines
 * (vmm_stop, poweroff_announce): a second guest that still runs is waited
 * for, with no time limit (the first guest's CPU stays here, its power-off
 * OUT not carried out yet). Then its end and statistics: printed here,
 * with the first guest stopped, since the first guest writes COM1 directly
 * and a report from the other CPU while it runs would split its lines.
 * Returns whether the second guest ended well (true without one): not
 * stopped by lvisor, and not powered off with the failure value.
 */
bool smp_wait_guest2(void)
{
	static bool reported, ok = true;

	if (!guest2.size || reported || !smp_on_boot_cpu())
		return ok;
	reported = true;
	if (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		return ok;	/* lvisor stopped before either guest ran */
	bool held = __atomic_load_n(&guest2_running, __ATOMIC_ACQUIRE);
	if (held) {
		console_reset();	/* the guest may have left the UART unusable */
		printk("the guest has ended; the machine powers off when the second guest ends\n");
		while (__atomic_load_n(&guest2_running, __ATOMIC_ACQUIRE))
			cpu_relax();
	}
	if (!vcpu1.stats)
		return ok;	/* it never ran (smp_init said why) */
	ok = !guest2.failed;
	both_ended = true;
	if (guest2.stop[0]) {
		__atomic_store_n(&report_now, true, __ATOMIC_RELEASE);
		uint64_t start = rdtsc();
		while (!__atomic_load_n(&report_done, __ATOMIC_ACQUIRE) &&
		       rdtsc() - start < GUEST2_DUMP_WAIT_SECONDS * tsc_hz)
			cpu_relax();
	}
	console_reset();
	printk("second guest %s: its CPU stopped%s\n", guest2.end,
	       held ? "; both guests have ended" : ", the first guest went on");
	if (guest2.inits_ignored && !guest2.stop[0])
		printk("second guest: its CPU received %u INIT signal%s from another CPU: ignored, "
		       "the second guest went on (core_init_signal)\n",
		       guest2.inits_ignored, guest2.inits_ignored == 1 ? "" : "s");
	if (guest2.nmis_ignored)
		printk("second guest: its CPU received %u NMI%s from another CPU: ignored, "
		       "the second guest went on\n",
		       guest2.nmis_ignored, guest2.nmis_ignored == 1 ? "" : "s");
	ioapic_report(&guest2);
	stats_print_vcpu(&vcpu1);
	return ok;
}

/* The machine's exit status with two guests, after lvisor's last report:
 * one line that says how each guest ended. Nothing with one guest. */
void smp_exit_status(bool ok1, bool ok2)
{
	if (!both_ended)
		return;
	printk("both guests have ended: the first %s, the second %s: exit status %s\n",
	       ok1 ? "ended well" : "failed", ok2 ? "ended well" : "failed",
	       ok1 && ok2 ? "success" : "failure");
}

bool smp_on_boot_cpu(void)
{
	return !ap_started || apic_id() == boot_apic_id;
}

/*
 * The AP, in lvisor's image, with lvisor's page tables, GDT and IDT
 * (boot/trampoline.S). It prints while the boot CPU spins in
 * smp_start_ap() waiting for ap_started and prints nothing, so the
 * console needs no lock yet; a second CPU that prints while the other
 * runs a guest will need one.
 */
void __attribute__((noreturn)) ap_main(unsigned cpu)
{
	printk("CPU %u started (APIC ID %u)\n", cpu, apic_id());
	/* In VMX root operation INIT is blocked (SDM 24.8): a guest's INIT
	 * IPI to this CPU, which on VMX nothing intercepts, cannot reset it
	 * and start guest code here outside lvisor. (On SVM vmm/apic.c
	 * refuses the guest's IPIs to other CPUs.) */
	int failed = backend->init();
	if (failed)
		printk("CPU %u: %s could not be enabled\n", cpu, backend->name);

	/* A second guest (KERNEL2): this CPU runs it, with the second
	 * policy if one is linked in, while the boot CPU runs the first.
	 * Created and announced while the boot CPU waits for us (no guest
	 * prints on COM1 yet). When it stops, this CPU parks as below; the
	 * machine goes on until the first guest ends too (smp_wait_guest2). */
	const struct policy *p = policy_guest2();
	bool guest2_ok = guest2.size && !failed && !vcpu_create(&vcpu1, p, &guest2, FIRMWARE_ADDR);
	if (guest2_ok) {
		printk("CPU %u: entering the second guest (policy \"%s\") in real mode at CS base 0x%x, IP 0\n",
		       cpu, p->name, FIRMWARE_ADDR);
		guest2_running = true;
	}
	__atomic_store_n(&ap_started, 1, __ATOMIC_RELEASE);	/* after the lines */
	if (guest2_ok) {
		while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
			cpu_relax();
		vcpu_run_loop(&vcpu1);
		if (!guest2.end[0]) {	/* vcpu_stop has kept why, in guest2.stop */
			strncpy(guest2.end, "was stopped by lvisor", sizeof(guest2.end) - 1);
			guest2.failed = true;
		}
		__atomic_store_n(&guest2_running, false, __ATOMIC_RELEASE);
		if (guest2.stop[0]) {
			/* Said at once where the user watches the second
			 * guest: its console, COM2, which nobody uses now. */
			char line[sizeof(guest2.stop) + 96];
			snprintf(line, sizeof(line), "second guest: %s: stopped (its state follows "
				 "on COM1 once the first guest has ended)", guest2.stop);
			console_line_on(GUEST2_COM, line);
			/* Its report, when the boot CPU asks: the first guest
			 * is stopped then, COM1 lvisor's alone. */
			while (!__atomic_load_n(&report_now, __ATOMIC_ACQUIRE))
				cpu_relax();
			console_reset();	/* the first guest may have left COM1 unusable */
			printk("second guest: %s\n", guest2.stop);
			vcpu_dump(&vcpu1);
			__atomic_store_n(&report_done, true, __ATOMIC_RELEASE);
		}
	}
	/* Parked, interrupts off. An NMI still wakes it (a guest's NMI to
	 * all CPUs), into trap.c's handler, which counts it and leaves the
	 * boot CPU's guest alone (smp_on_boot_cpu). */
	halt_forever();
}

/* Copy the trampoline to its low page, fill in its words, start the AP and
 * wait for it: true when it came. */
static bool smp_start_ap(unsigned cpu, uint8_t dest)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr;
	size_t size = ap_trampoline_end - ap_trampoline;
	uint8_t *stack = page_alloc(AP_STACK_PAGES);

	memcpy((void *)AP_TRAMPOLINE_ADDR, ap_trampoline, size);
	__asm__ volatile("sidt %0" : "=m"(idtr));	/* trap_init's table */
	*(uint64_t *)IN_COPY(ap_param_cr3) = read_cr3();
	*(uint64_t *)IN_COPY(ap_param_stack) = (uint64_t)stack + AP_STACK_PAGES * PAGE_SIZE;
	*(uint64_t *)IN_COPY(ap_param_cpu) = cpu;
	memcpy(IN_COPY(ap_param_idtr), &idtr, sizeof(idtr));

	init_sipi_sipi(dest, AP_TRAMPOLINE_ADDR);
	uint64_t start = rdtsc();
	while (!__atomic_load_n(&ap_started, __ATOMIC_ACQUIRE) && rdtsc() - start < tsc_hz)
		cpu_relax();
	if (!ap_started) {
		/* Back to wait-for-SIPI, off the page before the guest gets it. */
		send_ipi(dest, ICR_INIT | ICR_ASSERT);
		udelay(10000);
	}
	/* The AP has left the page (or was reset): the guest finds zeros. */
	memset((void *)AP_TRAMPOLINE_ADDR, 0, PAGE_SIZE);
	return ap_started;
}

void smp_init(void)
{
	uint8_t bsp_id = boot_apic_id = apic_id();
	unsigned count;
	int ap = madt_find_ap(bsp_id, &count);

	if (ap < 0) {
		if (guest2.size)
			printk("no second CPU (ACPI MADT): the second guest does not run\n");
		return;		/* one CPU: as ever */
	}
	/* The APIC's registers in memory: xAPIC mode, not x2APIC (SDM 11.12). */
	if (rdmsr(MSR_IA32_APICBASE) & (1u << 10)) {
		printk("%u CPUs (ACPI MADT), but the local APIC is in x2APIC mode: lvisor uses one\n", count);
		return;
	}
	printk("%u CPUs (ACPI MADT); this one's APIC ID is %u: starting CPU 1 (APIC ID %d) "
	       "at 0x%x with INIT-SIPI-SIPI\n", count, bsp_id, ap, AP_TRAMPOLINE_ADDR);
	if (!smp_start_ap(1, ap)) {
		printk("CPU 1 (APIC ID %d) did not start within a second: reset, lvisor uses one CPU\n", ap);
		return;
	}
	/* With a second guest, each guest's tables show its own CPU: the
	 * second guest's, written into its memory; the first guest's, the
	 * BIOS's without CPU 1 (vmm/mptable.c). Both before either runs
	 * (smp_go); the AP waits for that with its guest created. */
	if (guest2.size) {
		mptable_guest2(&guest2, ap);
		mptable_guest1_hide(ap);
	}
}
