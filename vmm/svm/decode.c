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
 * prefixes and opcode are the whole length.
 */
#include <asm/svm.h>
#include <asm/x86.h>
#include <lib/string.h>
#include "../guest_mem.h"
#include "../vmm.h"
#include "svm.h"
#include "vmcb.h"

#define MAX_INSN_LEN	15	/* longer is #GP (SDM 2.3.11, APM Vol. 3 1.1) */
#define VMCB_ATTR_L	(1u << 9)	/* descriptor bit 53, packed (APM B.2) */

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

/* Operand-size, address-size, segment, LOCK, REP/REPNE (SDM 2.1.1). */
static bool legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	default:
		return false;
	}
}

/* Up to MAX_INSN_LEN bytes at linear address `at`: those of the first
 * page, and of the next if it is readable. Returns how many. */
static unsigned fetch(struct vcpu *v, uint64_t at, uint8_t *buf)
{
	unsigned first = PAGE_SIZE - (at & (PAGE_SIZE - 1));

	if (first > MAX_INSN_LEN)
		first = MAX_INSN_LEN;
	if (!guest_read_virt(v, at, buf, first))
		return 0;
	if (first < MAX_INSN_LEN && guest_read_virt(v, at + first, buf + first, MAX_INSN_LEN - first))
		return MAX_INSN_LEN;
	return first;
}

/*
 * The length of the instruction at the guest's CS:RIP that made this exit,
 * or 0 with *why set: its bytes are unreadable, too long, or not the
 * instruction the exit names. The CPU has just executed it, so none of
 * these can happen unless the guest's memory or page tables changed under
 * the CPU's feet (a TLB entry it did not flush, another agent): lvisor
 * must not guess then.
 */
unsigned svm_insn_length(struct vcpu *v, const struct vmcb *vmcb, const char **why)
{
	uint32_t code = v->exit.code;
	uint8_t buf[MAX_INSN_LEN];
	bool long64 = (vmcb->save.efer & EFER_LMA) && (vmcb->save.cs.attrib & VMCB_ATTR_L);
	/* CS.base is 0 in 64-bit mode (SDM 3.4.4). */
	uint64_t at = (long64 ? 0 : vmcb->save.cs.base) + vmcb->save.rip;

	if (code >= sizeof(opcodes) / sizeof(opcodes[0]) || !opcodes[code].len) {
		*why = "lvisor does not decode this instruction";
		return 0;
	}
	unsigned n = fetch(v, at, buf), i = 0;
	if (!n) {
		*why = "its bytes are not in guest RAM";
		return 0;
	}
	/* Prefixes, and in 64-bit mode REX (40-4F, SDM 2.2.1): a REX
	 * followed by another prefix is ignored, but its byte still counts. */
	while (i < n && (legacy_prefix(buf[i]) || (long64 && (buf[i] & 0xf0) == 0x40)))
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
