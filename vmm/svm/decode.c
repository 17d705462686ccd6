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
 * APIC's, vmm/ioapic.c), which svm_decode_mmio reads operand and length of.
 */
#include <asm/svm.h>
#include <asm/x86.h>
#include <lib/string.h>
#include "../guest_mem.h"
#include "../vmm.h"
#include "svm.h"

#define MAX_INSN_LEN	15	/* longer is #GP (SDM 2.3.11, APM Vol. 3 1.1) */
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
		return svm_decode_mmio(v, &access, why) ? access.len : 0;
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

/*
 * The default operand and address sizes of the guest's code, in bytes
 * (SDM 3.6; APM Vol. 3 1.2.3): 16 in real and virtual-8086 mode, CS.D in
 * protected mode; 64-bit mode has 32-bit operands and 64-bit addresses.
 */
static void code_sizes(const struct vmcb *vmcb, unsigned *op, unsigned *addr)
{
	if (long_mode64(vmcb)) {
		*op = 4;
		*addr = 8;
	} else if (!(vmcb->save.cr0 & CR0_PE) || (vmcb->save.rflags & RFLAGS_VM) ||
		   !(vmcb->save.cs.attrib & VMCB_ATTR_DB)) {
		*op = *addr = 2;
	} else {
		*op = *addr = 4;
	}
}

/*
 * The bytes of a memory operand's ModRM, SIB and displacement (SDM 2.1.5,
 * tables 2-1 to 2-3; 2.2.1.6 for RIP-relative), or 0 for a register
 * operand (mod 11). p has room for the longest form: the caller zeroed
 * what it could not fetch and checks the total against what it fetched.
 */
static unsigned modrm_len(const uint8_t *p, unsigned addr)
{
	uint8_t mod = p[0] >> 6, rm = p[0] & 7;

	if (mod == 3)
		return 0;
	if (addr == 2)			/* 16-bit addressing: no SIB; [disp16] is mod 00 rm 110 */
		return 1 + (mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0);
	unsigned len = 1;
	if (rm == 4) {			/* a SIB byte; base 101 with mod 00: disp32, no base */
		len++;
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {	/* disp32 (RIP-relative in 64-bit mode) */
		len += 4;
	}
	return len + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

/*
 * The load or store at the guest's CS:RIP that faulted on a page lvisor
 * maps read-only (the local APIC) or not at all (the I/O APIC, with two
 * guests), in the forms that compilers and kernels use for device
 * registers (SDM Vol. 2B, MOV; APM Vol. 3, MOV):
 *
 *   89 /r           MOV r/m, reg    Linux, xv6: lapic[index] = value
 *   C7 /0 imm       MOV r/m, imm    a constant to a register
 *   A3 moffs        MOV moffs, eAX  gcc's store of EAX to a constant address
 *   8B /r           MOV reg, r/m    Linux's readl, xv6's ioapic->data
 *   A1 moffs        MOV eAX, moffs  gcc's load from a constant address
 *
 * with any prefixes, REX, ModRM, SIB and displacement. The CPU gives the
 * address (EXITINFO2), so the memory operand matters only for the length;
 * a store's value is the register's or the immediate, a load names its
 * register. Anything else (byte moves, MOVZX, XCHG, OR to memory, string
 * moves...) is refused with *why: lvisor does not guess what an
 * instruction it does not know would read or write.
 */
bool svm_decode_mmio(struct vcpu *v, struct mmio_access *a, const char **why)
{
	const struct vmcb *vmcb = svm_vmcb(v);
	/* Zeroed past what fetch() reads: 15 prefix bytes, the opcode, ModRM,
	 * SIB, disp32 and imm32 would reach byte 26, which the checks at the
	 * end refuse. */
	uint8_t buf[32] = { 0 };
	unsigned n = fetch(v, code_address(vmcb), buf), i = 0, op, addr;
	uint8_t rex = 0;

	if (!n) {
		*why = "its bytes are not in guest RAM";
		return false;
	}
	bool op_prefix = false, addr_prefix = false;
	for (; i < n; i++) {		/* prefixes (SDM 2.1.1); REX only right before the opcode */
		if (long_mode64(vmcb) && (buf[i] & 0xf0) == 0x40) {
			rex = buf[i];
			continue;
		}
		if (!legacy_prefix(buf[i]))
			break;
		op_prefix |= buf[i] == 0x66;
		addr_prefix |= buf[i] == 0x67;
		rex = 0;		/* a REX before a legacy prefix is ignored */
	}
	/* 66 and 67 switch to the other size (SDM 3.6.1, table 3-4; 2.2.1.2) */
	code_sizes(vmcb, &op, &addr);
	if (op_prefix)
		op = op == 4 ? 2 : 4;
	if (addr_prefix)
		addr = addr == 8 ? 4 : addr == 4 ? 2 : 4;
	if (rex & 8)			/* REX.W, which wins over 66 */
		op = 8;
	uint8_t opcode = buf[i++], modrm = buf[i];
	unsigned reg = (modrm >> 3 & 7) | (rex & 4 ? 8 : 0);	/* REX.R */
	bool has_modrm = opcode != 0xa3 && opcode != 0xa1;
	a->load = false;
	switch (opcode) {
	case 0x89:
		a->value = *vcpu_gpr(v, reg);
		i += modrm_len(buf + i, addr);
		break;
	case 0xc7:
		if (reg & 7) {
			*why = "opcode C7 with a ModRM reg field other than 0 is not MOV";
			return false;
		}
		i += modrm_len(buf + i, addr);
		if (op == 2) {
			a->value = buf[i] | buf[i + 1] << 8;
			i += 2;
		} else {		/* imm32, sign-extended to 64 bits with REX.W */
			a->value = (uint64_t)(int64_t)(int32_t)(buf[i] | buf[i + 1] << 8 |
								  buf[i + 2] << 16 | (uint32_t)buf[i + 3] << 24);
			i += 4;
		}
		break;
	case 0xa3:
		a->value = v->regs.rax;
		i += addr;		/* no ModRM: the address follows the opcode */
		break;
	case 0x8b:
		a->load = true;
		a->reg = reg;
		i += modrm_len(buf + i, addr);
		break;
	case 0xa1:
		a->load = true;
		a->reg = 0;		/* eAX */
		i += addr;
		break;
	default:		/* said as the fault asks: a store, or a load */
		*why = v->exit.gpa_write ? "not a MOV store (89, C7 or A3)" : "not a MOV load (8B or A1)";
		return false;
	}
	if (has_modrm && (modrm >> 6) == 3) {
		*why = "not an access to memory";
		return false;
	}
	if (i > MAX_INSN_LEN) {
		*why = "longer than 15 bytes, which the CPU refuses with #GP";
		return false;
	}
	if (i > n) {
		*why = "its bytes are not in guest RAM";
		return false;
	}
	a->size = op;
	a->len = i;
	if (op < 8)
		a->value &= (1ull << 8 * op) - 1;
	return true;
}
