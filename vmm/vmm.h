/* The VMM core's shared declarations. */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <asm/x86.h>

/* lvisor's own memory: [VMM_BASE, VMM_END). The guest never sees it. */
#define VMM_BASE	0x10000000ull
#define VMM_SIZE	0x04000000ull
#define VMM_END		(VMM_BASE + VMM_SIZE)
#define PAGE_SIZE	4096
/* What EPT and NPT map for the guest: the first 4 GiB of physical memory. */
#define GUEST_PHYS_LIMIT	0x100000000ull

/* mm.c: pages from the VMM's own memory, zeroed. */
void mm_init(uint64_t free_start);
void *page_alloc(size_t pages);
void mm_uncached(uint64_t pa);	/* lvisor's 2 MiB page holding pa: uncacheable */

/* apic.c: the guest's local APIC is the CPU's; on SVM lvisor mediates
 * writes to its page (vmm/svm/npt.c maps it read-only). */
void apic_init(void);	/* apic.h: the registers, apic_page */

/* ioapic.c: with a second guest (on SVM), the I/O APIC is lvisor's: each
 * guest programs its own pins through it (NPT leaves its page out). */
extern uint64_t ioapic_page;	/* its page; 0 when the guests' maps have it */
void ioapic_init(void);		/* after guest_setup and apic_init, before any vCPU */
bool gpa_is_ioapic(uint64_t gpa);	/* in its page, when lvisor keeps it */
struct vcpu;
int ioapic_access(struct vcpu *v);	/* a load or store there (core_npf) */
struct guest;
void ioapic_report(const struct guest *g);	/* the second guest's, at the machine's end */
uint8_t ioapic_version(void);	/* the machine's IOAPICVER, bits 7:0 */

/* The RAM ranges of a guest's memory map: [start, end), guest-physical. */
struct ram_range {
	uint64_t start, end;
};

/*
 * One guest's machine: where its guest-physical memory lies in host memory
 * and what its memory map calls RAM. The first guest's addresses are the
 * host's (EPT/NPT map the first 4 GiB one to one, lvisor's memory and the
 * second guest's left out); the second guest's GPA 0..size is host
 * base..base+size, and nothing else is mapped for it.
 */
/* The VGA CRT controller's registers (0x00-0x18) that the second guest
 * keeps (vmm/exits.c). */
#define GUEST2_CRTC_REGS	0x19

struct guest {
	const char *name;	/* for lvisor's lines: "guest", "second guest" */
	bool second;		/* the second guest: COM2 only, its own memory */
	uint64_t base, size;	/* second guest: host-physical base, bytes */
	uint64_t ram_end;	/* top of RAM the guest may use, for EPT/NPT */
	/* What lvisor may read of the guest's memory (vmm/guest_mem.c): the
	 * RAM ranges of its map, and its firmware's area, reserved in the
	 * map but the guest's own memory, where the firmware's instructions
	 * that exit lie. */
	struct ram_range ram[32];
	unsigned ram_count;
	char end[96];		/* second guest: how it ended, for the report at the machine's end */
	/* second guest: what vcpu_stop would have printed, kept for that
	 * report (its CPU prints the state dump then: vcpu1's VMCS is
	 * current only there) */
	char stop[192];
	/* second guest, VMX: INIT signals that reached its CPU from another
	 * CPU, dropped (core_init_signal), reported at the machine's end */
	unsigned inits_ignored;
	unsigned inits_in_a_row, last_init_exit;	/* an INIT that stays pending */
	unsigned nmis_ignored;	/* the same for NMIs (vmm/vmx/vmx.c) */
	/* second guest: stopped by lvisor, or powered off with the failure
	 * value (lib/poweroff.h): the machine's exit status is failure */
	bool failed;
	/* What the reset and power-off ports remember between two bytes
	 * (vmm/reset.c, vmm/poweroff.c). The first guest's are the machine's
	 * devices; the second guest's writes reach no device, but lvisor
	 * follows them on its own copy to recognize a reset or a power-off. */
	bool kbc_output_port_next;	/* the 8042 waits for command 0xD1's data byte */
	/* second guest: its VGA CRT controller's registers, index and
	 * values, with no screen behind them (vmm/exits.c, guest2_crtc) */
	uint8_t crtc_index, crtc[GUEST2_CRTC_REGS];
	unsigned bochs_shutdown_matched;	/* bytes of "Shutdown" written so far */
};
extern struct guest guest1, guest2;	/* guest2.size == 0: no second guest */

/* The second guest's memory: the host RAM right above lvisor's, cut out of
 * the first guest's memory map. Its size is the MEM2 setting (MiB), which
 * reaches lvisor on the second guest's firmware module line, "guest2
 * mem=MiB" (boot/run.mk, vmm/guest.c); without it, GUEST2_MIB_DEFAULT. It
 * must hold the firmware's area (16 MiB) and its staged files, and stay
 * below GUEST2_MIB_MAX: its guest-physical addresses must not reach the
 * I/O APIC and local APIC pages at 0xfec00000 (nor the host's top of RAM
 * below 4 GiB: lvisor checks the machine's map). In 2 MiB steps: EPT/NPT map it with 2 MiB pages. */
#define GUEST2_BASE	VMM_END
#define GUEST2_MIB_DEFAULT	256
#define GUEST2_MIB_MIN		64
#define GUEST2_MIB_MAX		3072
/* Its kernel file and modules are staged at the top of its own memory
 * (vmm/guest.c), above where a kernel loads: Linux loads at 16 MiB and
 * decompresses up to its init_size beyond (Debian's: about 80 MiB), and the
 * first guest's STAGING_ADDR may lie beyond its memory. */
/* The second guest's console: COM2, the one port range it gets. */
#define GUEST2_COM	0x2f8

/* guest.c: the guests' memory maps and what they boot. */
struct multiboot_info;
void guest_setup(struct multiboot_info *mbi);
bool gpa_is_vmm(uint64_t gpa);
bool gpa_is_guest2(uint64_t gpa);	/* host-physical: the second guest's memory */
/* acpi.c: the 4 KiB pages that EPT/NPT map read-only: the HPET, which
 * could write memory for the guest; and taking the HPET out of the guest's
 * ACPI tables (before the guest runs). */
bool gpa_is_read_only(uint64_t gpa);
bool gpa_2m_is_split(uint64_t base);	/* does this 2 MiB region hold a read-only page? */

/* memwatch.c: the policy's memory watches (EPT/NPT permissions). */
struct policy;
unsigned watch_perms(const struct policy *p, uint64_t gpa);	/* kinds watched on gpa's page */
bool watch_2m(const struct policy *p, uint64_t base);	/* a watched page in this 2 MiB? */
void watch_check(const struct policy *p, const struct guest *g);	/* panics: not watchable */
int memory_access(struct vcpu *v);	/* an access to a watched page (core_npf) */
void acpi_hide_hpet(void);

/* A MOV to CR0 the CPU refuses with #GP, whichever backend emulates it
 * (SDM Vol. 2B, MOV to Control Registers; APM 3.1.1): reserved high bits,
 * PG without PE, NW without CD, paging on with EFER.LME but not CR4.PAE. */
static inline bool cr0_write_faults(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	return (cr0 >> 32) || ((cr0 & CR0_PG) && !(cr0 & CR0_PE)) ||
	       ((cr0 & CR0_NW) && !(cr0 & CR0_CD)) ||
	       ((cr0 & CR0_PG) && (efer & EFER_LME) && !(cr4 & CR4_PAE));
}

/* pci.c: record the BIOS's BARs and turn bus mastering off, before the
 * guest runs; a dword of bus 0's configuration space (bdf: device << 11 |
 * function << 8). */
void pci_init(void);
uint32_t pci_config_read(uint32_t bdf, uint8_t reg);
void pci_config_write(uint32_t bdf, uint8_t reg, uint32_t val);

/* mptable.c, with a second guest: its BIOS data area and MP tables (one
 * CPU, APIC ID ap_id; the I/O APIC's ID, -1 without one), and CPU 1 out of
 * the first guest's MADT and MP table. */
int mptable_guest2(const struct guest *g, uint8_t ap_id);
void mptable_guest1_hide(uint8_t ap_id);

/* trap.c */
void trap_init(void);
extern unsigned vmm_nmis, vmm_nmis_to_guest;	/* NMIs that arrived in lvisor; handed to the guest */

/* msr_safe.S: 0, or -1 when the CPU has no such MSR (#GP); xsetbv_safe:
 * -1 when the CPU refuses the value (#GP). */
int rdmsr_safe(uint32_t msr, uint64_t *val);
int wrmsr_safe(uint32_t msr, uint64_t val);
int xsetbv_safe(uint32_t xcr, uint64_t val);

/* main.c */
void vmm_stop(bool ok) __attribute__((noreturn));
/* lvisor cannot go on: print why, the last exits and the statistics, and
 * power the machine off as a failure. */
void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
