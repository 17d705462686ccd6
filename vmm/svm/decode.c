/*
 * Instruction lengths on SVM without nRIP save (QEMU's TCG): the VMCB says
 * where the exiting instruction starts (RIP) but not where the next one
 * does, and the guest chooses its encoding. CPUID is 0F A2, but 3E 0F A2
 * (a DS override, which CPUID ignores) is CPUID too, one byte longer: a
 * fixed length would resume the guest inside the instruction.
 *
 * So we read the bytes at CS.base + RIP through the guest's page tables
 * (guest_read_virt), skip the prefixes (SDM Vol. 2A 2.1.1 and 2.2.1; APM
 * Vol. 3 1.2), and check that the opcode is the one the exit names. The
 * instructions whose exits a handler completes have no ModRM operand, so
 * prefixes and opcode are the whole length; but for the loads and stores
 * that a nested page fault stops (the local APIC page, vmm/apic.c; the I/O
 * APIC's, vmm/ioapic.c), which vmm/decode.c reads operand and length of.
 */
#include <asm/svm.h>
#include <asm/x86.h>
#include <lib/string.h>
#include "../decode.h"
#include "../vmm.h"
#include "svm.h"

#define VMCB_ATTR_L	(1u << 9)	/* descriptor bit 53, packed (APM B.2) */
#define VMCB_ATTR_DB	(1u << 10)	/* descriptor bit 54: D/B, 32-bit code */

/* The opcode (after the prefixes) of each instruction exit. */
static const struct {
	uint8_t len;
	uint8_t bytes[3];
} opcodes[] = {
	[SVM_EXIT_RDTSC] = { 2, { 0x0f, 0x31 } }, [SVM_EXIT_RDPMC] = { 2, { 0x0f, 0x33 } },
	[SVM_EXIT_CPUID] = { 2, { 0x0f, 0xa2 } }, [SVM_EXIT_INVD] = { 2, { 0x0f, 0x08 } },
	[SVM_EXIT_PAUSE] = { 1, { 0x90 } },	/* F3 90: its F3 is a prefix */
	[SVM_EXIT_HLT] = { 1, { 0xf4 } },
	[SVM_EXIT_MSR] = { 2, { 0x0f, 0x32 } },	/* RDMSR; WRMSR is 0F 30 */
	[SVM_EXIT_VMMCALL] = { 3, { 0x0f, 0x01, 0xd9 } }, [SVM_EXIT_RDTSCP] = { 3, { 0x0f, 0x01, 0xf9 } },
	[SVM_EXIT_WBINVD] = { 2, { 0x0f, 0x09 } },
	[SVM_EXIT_MONITOR] = { 3, { 0x0f, 0x01, 0xc8 } }, [SVM_EXIT_MWAIT] = { 3, { 0x0f, 0x01, 0xc9 } },
	[SVM_EXIT_XSETBV] = { 3, { 0x0f, 0x01, 0xd1 } },
	[SVM_EXIT_EXCP(VEC_BP)] = { 1, { 0xcc } },	/* INT3 */
	[SVM_EXIT_EXCP(VEC_OF)] = { 1, { 0xce } },	/* INTO */
};

/*
 * The length of the instruction at the guest's CS:RIP that made this exit,
 * or 0 with *why set: its bytes are unreadable, too long, or not the
 * instruction the exit names. The CPU has just executed it, so none of
 * these can happen unless the guest's memory or page tables changed under
 * the CPU's feet (a TLB entry it did not flush, another agent): lvisor
 * must not guess then.
 */
static bool long_mode64(const struct vmcb *vmcb)
{
	return (vmcb->save.efer & EFER_LMA) && (vmcb->save.cs.attrib & VMCB_ATTR_L);
}

/* The linear address of the guest's CS:RIP; CS.base is 0 in 64-bit mode
 * (SDM 3.4.4). */
static uint64_t code_address(const struct vmcb *vmcb)
{
	return (long_mode64(vmcb) ? 0 : vmcb->save.cs.base) + vmcb->save.rip;
}

unsigned svm_insn_length(struct vcpu *v, const struct vmcb *vmcb, const char **why)
{
	uint32_t code = v->exit.code;
	uint8_t buf[MAX_INSN_LEN];
	bool long64 = long_mode64(vmcb);
	uint64_t at = code_address(vmcb);
	struct mmio_access access;

	if (code == SVM_EXIT_NPF)	/* an access lvisor carried out for the guest */
		return mmio_decode(v, &access, why) ? access.len : 0;
	if (code >= sizeof(opcodes) / sizeof(opcodes[0]) || !opcodes[code].len) {
		*why = "lvisor does not decode this instruction";
		return 0;
	}
	unsigned n = insn_fetch(v, at, buf), i = 0;
	if (!n) {
		*why = "its bytes are not in guest RAM";
		return 0;
	}
	/* Prefixes, and in 64-bit mode REX (40-4F, SDM 2.2.1): a REX
	 * followed by another prefix is ignored, but its byte still counts. */
	while (i < n && (insn_legacy_prefix(buf[i]) || (long64 && (buf[i] & 0xf0) == 0x40)))
		i++;
	const uint8_t *op = opcodes[code].bytes;
	uint8_t wrmsr[2] = { 0x0f, 0x30 };
	if (code == SVM_EXIT_MSR && v->exit.msr.write)
		op = wrmsr;
	unsigned len = i + opcodes[code].len;
	if (len > MAX_INSN_LEN) {
		*why = "longer than 15 bytes, which the CPU refuses with #GP";
		return 0;
	}
	if (len > n || memcmp(buf + i, op, opcodes[code].len)) {
		*why = "the bytes there are not that instruction";
		return 0;
	}
	return len;
}

/*
 * The guest's code for vmm/decode.c: where CS:RIP is, and the default
 * operand and address sizes, in bytes (SDM 3.6; APM Vol. 3 1.2.3): 16 in
 * real and virtual-8086 mode, CS.D in protected mode; 64-bit mode has
 * 32-bit operands and 64-bit addresses.
 */
void svm_code_mode(struct vcpu *v, struct code_mode *m)
{
	const struct vmcb *vmcb = svm_vmcb(v);

	m->linear_rip = code_address(vmcb);
	m->long64 = long_mode64(vmcb);
	if (m->long64) {
		m->op = 4;
		m->addr = 8;
	} else if (!(vmcb->save.cr0 & CR0_PE) || (vmcb->save.rflags & RFLAGS_VM) ||
		   !(vmcb->save.cs.attrib & VMCB_ATTR_DB)) {
		m->op = m->addr = 2;
	} else {
		m->op = m->addr = 4;
	}
}
