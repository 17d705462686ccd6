/*
 * Decoding the guest's instructions, for either backend: the loads and
 * stores that lvisor carries out for the guest when a nested page fault or
 * EPT violation stops them (the local APIC's page, vmm/apic.c; the I/O
 * APIC's, vmm/ioapic.c), and the fetching that SVM's instruction lengths
 * need too (vmm/svm/decode.c). The backend says where the guest's code is
 * and in which mode (backend->code_mode: CS base, RIP, CS.L and CS.D,
 * EFER.LMA, CR0.PE, RFLAGS.VM); we read the bytes at CS.base + RIP through
 * the guest's page tables (guest_read_virt).
 */
#include <asm/x86.h>
#include "decode.h"
#include "guest_mem.h"
#include "vmm.h"

/* Operand-size, address-size, segment, LOCK, REP/REPNE (SDM 2.1.1). */
bool insn_legacy_prefix(uint8_t b)
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
unsigned insn_fetch(struct vcpu *v, uint64_t at, uint8_t *buf)
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
 * The linear address of a memory operand (SDM 3.7.5, 2.1.5; 2.2.1.6 for
 * RIP-relative): base + index * scale + displacement, or the 16-bit
 * forms' BX/BP + SI/DI + displacement, cut to the address size, plus its
 * segment's base: the one a prefix names, else SS for a base of rBP or
 * rSP (BP in 16-bit forms), else DS; in 64-bit mode only FS's and GS's
 * bases count (SDM 3.4.4). p is the ModRM byte, or with moffs (A1, A3) the
 * address itself; next_rip, RIP after the instruction.
 */
static uint64_t operand_address(struct vcpu *v, const uint8_t *p, bool moffs, unsigned addr, uint8_t rex,
				int seg, bool long64, uint64_t next_rip)
{
	static const int8_t first16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };	/* BX BX BP BP SI DI BP BX */
	static const int8_t second16[8] = { 6, 7, 6, 7, -1, -1, -1, -1 };	/* SI DI SI DI */
	uint8_t mod = p[0] >> 6, rm = p[0] & 7;
	int base = -1, index = -1;
	unsigned scale = 0;
	uint64_t ea = 0;

	if (moffs) {
		for (unsigned b = 0; b < addr; b++)
			ea |= (uint64_t)p[b] << 8 * b;
	} else if (addr == 2) {
		base = mod == 0 && rm == 6 ? -1 : first16[rm];
		index = second16[rm];
		ea = mod == 1 ? (uint64_t)(int8_t)p[1] : mod == 2 || base < 0 ? (uint64_t)(p[1] | p[2] << 8) : 0;
	} else {
		const uint8_t *d = p + 1;
		if (rm == 4) {		/* SIB: index 100 without REX.X is none; base 101 with mod 00, disp32 */
			uint8_t sib = *d++;
			scale = sib >> 6;
			index = (sib >> 3 & 7) | (rex & 2 ? 8 : 0);
			if (index == 4)
				index = -1;
			base = mod == 0 && (sib & 7) == 5 ? -1 : (sib & 7) | (rex & 1 ? 8 : 0);
		} else if (!(mod == 0 && rm == 5)) {
			base = rm | (rex & 1 ? 8 : 0);
		} else if (long64) {
			ea = next_rip;	/* RIP-relative */
		}
		int32_t disp = 0;
		if (mod == 1)
			disp = (int8_t)d[0];
		else if (mod == 2 || base < 0)
			disp = (int32_t)(d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24);
		ea += (uint64_t)(int64_t)disp;
	}
	if (base >= 0)
		ea += *vcpu_gpr(v, base);
	if (index >= 0)
		ea += *vcpu_gpr(v, index) << scale;
	if (addr < 8)
		ea &= (1ull << 8 * addr) - 1;
	if (seg < 0)
		seg = !moffs && (base == 4 || base == 5) ? SEG_SS : SEG_DS;
	if (long64 && seg != SEG_FS && seg != SEG_GS)
		return ea;
	struct segment s;
	backend->segment(v, seg, &s);
	return long64 ? s.base + ea : (uint32_t)(s.base + ea);
}

unsigned insn_prefixes(const uint8_t *buf, unsigned n, const struct code_mode *m, struct prefixes *p)
{
	bool op_prefix = false, addr_prefix = false;
	unsigned i;

	*p = (struct prefixes){ .op = m->op, .addr = m->addr, .seg = -1 };
	for (i = 0; i < n; i++) {
		if (m->long64 && (buf[i] & 0xf0) == 0x40) {
			p->rex = buf[i];
			continue;
		}
		if (!insn_legacy_prefix(buf[i]))
			break;
		op_prefix |= buf[i] == 0x66;
		addr_prefix |= buf[i] == 0x67;
		p->rep |= buf[i] == 0xf3;
		p->repne |= buf[i] == 0xf2;
		p->lock |= buf[i] == 0xf0;
		switch (buf[i]) {
		case 0x26: p->seg = SEG_ES; break;
		case 0x2e: p->seg = SEG_CS; break;
		case 0x36: p->seg = SEG_SS; break;
		case 0x3e: p->seg = SEG_DS; break;
		case 0x64: p->seg = SEG_FS; break;
		case 0x65: p->seg = SEG_GS; break;
		}
		p->rex = 0;		/* a REX before a legacy prefix is ignored */
	}
	if (op_prefix)
		p->op = p->op == 4 ? 2 : 4;
	if (addr_prefix)
		p->addr = p->addr == 8 ? 4 : p->addr == 4 ? 2 : 4;
	if (p->rex & 8)
		p->op = 8;
	return i;
}

/*
 * A byte register's number in ModRM's reg field (SDM 3.4.1.1, table 3-1;
 * 2.2.1.2): with any REX prefix, the low byte of register reg (SPL, BPL,
 * SIL, DIL for 4-7); without one, 4-7 are AH, CH, DH and BH, bits 15:8 of
 * registers 0-3.
 */
static int byte_reg(unsigned reg, uint8_t rex, bool *high8)
{
	*high8 = !rex && reg >= 4 && reg < 8;
	return *high8 ? (int)reg - 4 : (int)reg;
}

/*
 * The load or store at the guest's CS:RIP that faulted on a page lvisor
 * maps read-only (the local APIC) or not at all (the I/O APIC, with two
 * guests), on either backend, in the forms that compilers and kernels use for device
 * registers (SDM Vol. 2B, MOV; APM Vol. 3, MOV):
 *
 *   89 /r           MOV r/m, reg    Linux, xv6: lapic[index] = value
 *   C7 /0 imm       MOV r/m, imm    a constant to a register
 *   A3 moffs        MOV moffs, eAX  gcc's store of EAX to a constant address
 *   8B /r           MOV reg, r/m    Linux's readl, xv6's ioapic->data
 *   A1 moffs        MOV eAX, moffs  gcc's load from a constant address
 *   88, C6 /0, A2   the byte forms of the stores (a byte copy: memmove)
 *   8A, A0          the byte forms of the loads
 *
 * with any prefixes, REX, ModRM, SIB and displacement. The CPU gives the
 * address (SVM's EXITINFO2, VMX's guest-physical address), so the memory operand matters only for the length;
 * a store's value is the register's or the immediate, a load names its
 * register. Anything else (byte MOVZX, XCHG, OR to memory, string
 * moves...) is refused with *why: lvisor does not guess what an
 * instruction it does not know would read or write.
 */
bool mmio_decode(struct vcpu *v, struct mmio_access *a, const char **why)
{
	struct code_mode m;
	/* Zeroed past what insn_fetch() reads: 15 prefix bytes, the opcode,
	 * ModRM, SIB, disp32 and imm32 would reach byte 26, which the checks
	 * at the end refuse. */
	uint8_t buf[32] = { 0 };

	backend->code_mode(v, &m);
	unsigned n = insn_fetch(v, m.linear_rip, buf);
	struct prefixes px;

	if (!n) {
		*why = "its bytes are not in guest RAM";
		return false;
	}
	unsigned i = insn_prefixes(buf, n, &m, &px), op = px.op, addr = px.addr;
	uint8_t rex = px.rex;
	int seg = px.seg;
	uint8_t opcode = buf[i++], modrm = buf[i];
	unsigned operand = i;		/* its ModRM, or the moffs address */
	unsigned reg = (modrm >> 3 & 7) | (rex & 4 ? 8 : 0);	/* REX.R */
	bool has_modrm = opcode != 0xa3 && opcode != 0xa1 && opcode != 0xa2 && opcode != 0xa0;
	a->load = false;
	a->high8 = false;
	switch (opcode) {
	case 0x88:
		op = 1;
		a->value = *vcpu_gpr(v, byte_reg(reg, rex, &a->high8)) >> (a->high8 ? 8 : 0);
		i += modrm_len(buf + i, addr);
		break;
	case 0xc6:
		if (reg & 7) {
			*why = "opcode C6 with a ModRM reg field other than 0 is not MOV";
			return false;
		}
		op = 1;
		i += modrm_len(buf + i, addr);
		a->value = buf[i++];
		break;
	case 0xa2:
		op = 1;
		a->value = v->regs.rax;		/* AL */
		i += addr;
		break;
	case 0x8a:
		op = 1;
		a->load = true;
		a->reg = byte_reg(reg, rex, &a->high8);
		i += modrm_len(buf + i, addr);
		break;
	case 0xa0:
		op = 1;
		a->load = true;
		a->reg = 0;		/* AL */
		i += addr;
		break;
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
		*why = v->exit.gpa_write ? "not a MOV store (89, C7, A3, 88, C6 or A2)" :
					   "not a MOV load (8B, A1, 8A or A0)";
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
	/*
	 * The operand must be the access that faulted, within one page. The
	 * CPU gives the guest-physical address of the faulting byte (SVM's
	 * EXITINFO2, APM 15.25.6; VMX's guest-physical address, SDM 28.2.1):
	 * an access that crosses from the page before into this one faults
	 * here at offset 0, which would pass for an aligned access to the
	 * page's first register. Paging keeps a linear address's offset in
	 * its 4 KiB page (SDM 4.3-4.5), so the operand's linear address must
	 * have the fault's offset, and its bytes must end in that page.
	 */
	uint64_t at = operand_address(v, buf + operand, !has_modrm, addr, rex, seg, m.long64, m.linear_rip + i);
	unsigned off = at & (PAGE_SIZE - 1);
	if (off + op > PAGE_SIZE) {
		*why = "its operand crosses a page boundary: lvisor carries out accesses within one page";
		return false;
	}
	if (off != (v->exit.gpa & (PAGE_SIZE - 1))) {
		*why = "its operand is not at the address that faulted";
		return false;
	}
	a->size = op;
	a->len = i;
	if (op < 8)
		a->value &= (1ull << 8 * op) - 1;
	return true;
}

/*
 * STOS and MOVS (SDM Vol. 2B, STOS, MOVS, REP): AA and AB store AL, or AX,
 * EAX or RAX (by the operand size), at ES:rDI; A4 and A5 copy a byte, or
 * a word, dword or quadword, from DS:rSI (or the segment a prefix names)
 * to ES:rDI; rDI and rSI are of the address size; with F3 (REP) rCX
 * times. memset's and memmove's ways to fill and copy memory (xv6 scrolls
 * its screen with MOVSB, clears its last line with STOS). A REP string
 * instruction is restartable between iterations: an interrupt may come
 * after any element, with rDI, rSI and rCX showing the progress and RIP
 * still on the instruction, and the CPU goes on from there when it
 * returns. So lvisor carries out the one element whose store faulted,
 * steps the registers, and leaves RIP on the instruction while elements
 * remain: the CPU runs the rest, and each store to a watched page exits
 * again. The caller reads MOVS's source (s->from): it is a plain read,
 * not watched.
 */
bool string_store_decode(struct vcpu *v, struct string_store *s, const char **why)
{
	struct code_mode m;
	uint8_t buf[32] = { 0 };
	struct prefixes px;

	backend->code_mode(v, &m);
	unsigned n = insn_fetch(v, m.linear_rip, buf);
	unsigned i = insn_prefixes(buf, n, &m, &px);
	int seg = px.seg < 0 ? SEG_DS : px.seg;	/* MOVS's source; its destination is always ES */
	s->rep = px.rep;
	uint8_t opcode = i < n ? buf[i] : 0;
	if (opcode != 0xaa && opcode != 0xab && opcode != 0xa4 && opcode != 0xa5) {
		*why = NULL;		/* not a string store at all */
		return false;
	}
	if (px.repne || i + 1 > MAX_INSN_LEN) {
		*why = px.repne ? "REPNE with STOS or MOVS, which the manuals do not define" : "longer than 15 bytes";
		return false;
	}
	s->movs = opcode == 0xa4 || opcode == 0xa5;
	s->size = opcode == 0xaa || opcode == 0xa4 ? 1 : px.op;
	s->addr = px.addr;
	s->len = i + 1;
	uint64_t mask = s->addr == 8 ? ~0ull : (1ull << 8 * s->addr) - 1;
	if (s->rep && !(v->regs.rcx & mask)) {
		*why = "REP with a count of 0, which stores nothing";
		return false;
	}
	/* ES:rDI, the element that faulted: its offset in the page is the
	 * fault's (paging keeps it), and it ends in that page. */
	uint64_t at = v->regs.rdi & mask;
	if (!m.long64) {
		struct segment es;
		backend->segment(v, SEG_ES, &es);
		at = (uint32_t)(es.base + at);
	}
	unsigned off = at & (PAGE_SIZE - 1);
	if (off != (v->exit.gpa & (PAGE_SIZE - 1)) || off + s->size > PAGE_SIZE) {
		*why = "its element is not the store that faulted, or crosses a page boundary";
		return false;
	}
	s->value = 0;
	if (!s->movs) {
		s->value = v->regs.rax & (s->size == 8 ? ~0ull : (1ull << 8 * s->size) - 1);
		return true;
	}
	uint64_t from = v->regs.rsi & mask;
	if (!m.long64 || seg == SEG_FS || seg == SEG_GS) {
		struct segment sg;
		backend->segment(v, seg, &sg);
		from = m.long64 ? sg.base + from : (uint32_t)(sg.base + from);
	}
	s->from = from;
	return true;
}

/* A register of the address size: a 32-bit write clears bits 63:32, a
 * 16-bit one keeps them (SDM 3.4.1.1). */
static void set_sized(uint64_t *r, uint64_t val, unsigned size)
{
	if (size == 8)
		*r = val;
	else if (size == 4)
		*r = (uint32_t)val;
	else
		*r = (*r & ~0xffffull) | (uint16_t)val;
}

bool string_step(struct vcpu *v, const struct string_store *s)
{
	uint64_t step = backend->rflags(v) & RFLAGS_DF ? -(uint64_t)s->size : s->size;
	uint64_t mask = s->addr == 8 ? ~0ull : (1ull << 8 * s->addr) - 1;

	set_sized(&v->regs.rdi, v->regs.rdi + step, s->addr);
	if (s->movs)
		set_sized(&v->regs.rsi, v->regs.rsi + step, s->addr);
	if (!s->rep)
		return true;
	set_sized(&v->regs.rcx, v->regs.rcx - 1, s->addr);
	return !(v->regs.rcx & mask);
}
