/* Decoding the guest's instructions (vmm/decode.c), for both backends. */
#ifndef VMM_DECODE_H
#define VMM_DECODE_H

#include <stdbool.h>
#include <stdint.h>
#include "vcpu.h"

#define MAX_INSN_LEN	15	/* longer is #GP (SDM 2.3.11, APM Vol. 3 1.1) */

/* Up to MAX_INSN_LEN bytes at the guest's linear address `at`: those of
 * the first page, and of the next if it is readable. Returns how many. */
unsigned insn_fetch(struct vcpu *v, uint64_t at, uint8_t *buf);
/* Operand-size, address-size, segment, LOCK, REP/REPNE (SDM 2.1.1). */
bool insn_legacy_prefix(uint8_t b);
/*
 * An instruction's prefixes (SDM 2.1.1, 2.2.1; APM Vol. 3 1.2): legacy
 * prefixes in any order, then in 64-bit mode a REX right before the
 * opcode (a REX followed by a legacy prefix is ignored). The operand and
 * address sizes they make from the mode's (66 and 67 switch to the other
 * size, SDM 3.6.1, table 3-4; 2.2.1.2; REX.W, which wins over 66, makes
 * the operand 64 bits), the segment an override names (-1: none), REP,
 * REPNE and LOCK. Returns the opcode's index (n if the bytes ran out).
 */
struct prefixes {
	uint8_t rex;
	unsigned op, addr;
	int seg;
	bool rep, repne, lock;
};
unsigned insn_prefixes(const uint8_t *buf, unsigned n, const struct code_mode *m, struct prefixes *p);
/* The load or store at the guest's CS:RIP that made a nested page fault or
 * EPT violation (backend->decode_mmio): false with *why set if it is not
 * one lvisor carries out. */
bool mmio_decode(struct vcpu *v, struct mmio_access *a, const char **why);

/* A STOS or MOVS at the guest's CS:RIP whose store made the fault: one
 * element of it, which lvisor carries out (vmm/memwatch.c), then
 * string_step. */
struct string_store {
	uint64_t value;		/* STOS: AL, AX, EAX or RAX; MOVS: the caller reads it */
	uint64_t from;		/* MOVS: the linear address of DS:rSI */
	unsigned size;		/* bytes: 1, 2, 4 or 8 */
	unsigned addr;		/* address size: rDI's, rSI's and rCX's width */
	unsigned len;		/* the instruction's length */
	bool rep, movs;
};
/* False with *why NULL if the instruction is not STOS or MOVS, with *why
 * set if it is one lvisor does not carry out. */
bool string_store_decode(struct vcpu *v, struct string_store *s, const char **why);
/* rDI (and for MOVS rSI) past the element, by RFLAGS.DF, and with REP rCX
 * one less: true when the instruction is done (RIP may move past it). */
bool string_step(struct vcpu *v, const struct string_store *s);

#endif
