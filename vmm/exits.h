/*
 * The core's own exit handlers: the exits lvisor needs to stay correct
 * whatever the policy says. The generator puts them into the exit tables
 * (marked "required by the core"); a policy rule for the same exit replaces
 * the core's handler only where the policy language allows it (cpuid, msr).
 * Defined in vmm/exits.c (backend-neutral) unless marked otherwise.
 */
#ifndef VMM_EXITS_H
#define VMM_EXITS_H

#include "vcpu.h"

int core_unhandled(struct vcpu *v);		/* "unhandled VM exit: reason N (NAME)" + dump, stop; failed entries: core_invalid_state */
int core_triple_fault(struct vcpu *v);		/* VMX TRIPLE_FAULT, SVM SHUTDOWN: report, stop */
int core_vmm_memory(struct vcpu *v);		/* EPT violation / NPF: "guest touched VMM memory at GPA 0x..." */
int core_npf(struct vcpu *v);			/* NPF: a write to the local APIC, mediated (vmm/apic.c); else core_vmm_memory */
int core_virt_instruction(struct vcpu *v);	/* the guest ran VMX/SVM instructions: report, stop */
int core_invalid_state(struct vcpu *v);		/* VM entry failed: report, stop */
int core_cpuid(struct vcpu *v);			/* CPUID as the hardware answers it, minus VMX/SVM */
int core_xsetbv(struct vcpu *v);		/* XSETBV exits unconditionally on VMX (SDM 26.1.2) */
int core_invd(struct vcpu *v);			/* INVD exits unconditionally on VMX (SDM 26.1.2) */
int core_hypercall_ud(struct vcpu *v);		/* VMCALL with no policy rule: #UD, as on a CPU without VMX */
int core_msr(struct vcpu *v);			/* RDMSR/WRMSR no policy rule takes: the core's MSRs, else #GP */
#include <stdbool.h>
bool core_msr_is_own(uint32_t msr, bool write);	/* is this access one of the core's MSRs? */
int core_absent_io(struct vcpu *v);		/* IN/OUT on a port the policy does not grant: absent hardware */
int core_guest2_io(struct vcpu *v);		/* the second guest's IN/OUT: its devices (devices.c) */
int core_guest1_io(struct vcpu *v);		/* the first guest's, with a second: not the second's ports */
void devices_io_grants(struct vcpu *v);		/* the ports a guest's I/O bitmap lets through */
int core_pci_io(struct vcpu *v);		/* PCI configuration space: writes filtered (vmm/pci.c) */
int core_cr_access(struct vcpu *v);		/* VMX: CR0/CR4 writes touching host-owned bits (vmm/vmx/) */
int core_reset_io(struct vcpu *v);		/* OUT to the ports that reset the machine: report, stop (vmm/reset.c) */
int core_poweroff_io(struct vcpu *v);		/* OUT to the ports that power the emulator off: statistics, then the OUT (vmm/poweroff.c) */

int core_init_signal(struct vcpu *v);		/* VMX INIT_SIGNAL, SVM INIT: report, stop */

/* vmm/reset.c: every OUT lvisor carries out (act_io_emulate) passes here
 * first. EXIT_STOP: reported, the guest must stop (a reset, a sleep state,
 * OUTS to these ports); EXIT_RESUME: write *val, which may have A20 forced on. */
int core_io_out(struct vcpu *v, uint32_t *val);
/* The second guest's OUT to a port not its own: absent hardware, but an
 * attempt to reset the machine or put it to sleep is reported and stops
 * this guest, and a power-off stops it too (reported at the machine's end). */
int core_guest2_out(struct vcpu *v);

/* vmm/poweroff.c: what a byte written to a port does to the machine. */
enum power { POWER_NONE, POWER_OFF, POWER_SLEEP };
enum power poweroff_byte(struct vcpu *v, uint16_t port, uint8_t val);
bool poweroff_port(uint16_t port);			/* a port of poweroff_byte's */
bool poweroff_failure(uint16_t port, uint32_t val);	/* a power-off with the failure status */
void poweroff_announce(struct vcpu *v, uint32_t val);	/* once: "the guest powers ... off", statistics */

#endif
