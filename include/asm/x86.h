/* Small x86 instructions as inline functions (SDM Vol. 2 names). */
#ifndef ASM_X86_H
#define ASM_X86_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

struct cpuid_regs { uint32_t eax, ebx, ecx, edx; };

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
	return r;
}

static inline void cpu_relax(void) { __asm__ volatile("pause"); }
static inline __attribute__((noreturn)) void halt_forever(void) { for (;;) __asm__ volatile("cli; hlt"); }

#ifdef __x86_64__
static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t read_dr6(void) { uint64_t v; __asm__ volatile("mov %%dr6, %0" : "=r"(v)); return v; }
static inline void write_dr6(uint64_t v) { __asm__ volatile("mov %0, %%dr6" : : "r"(v)); }
static inline uint64_t read_cr8(void) { uint64_t v; __asm__ volatile("mov %%cr8, %0" : "=r"(v)); return v; }
static inline void write_cr8(uint64_t v) { __asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory"); }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
#endif

/* Control-register and EFER bits (SDM 2.5, 2.2.1). */
#define CR0_PE		(1u << 0)
#define CR0_MP		(1u << 1)
#define CR0_ET		(1u << 4)
#define CR0_NE		(1u << 5)
#define CR0_WP		(1u << 16)
#define CR0_NW		(1u << 29)
#define CR0_CD		(1u << 30)
#define CR0_PG		(1u << 31)
#define CR4_PSE		(1u << 4)
#define CR4_PAE		(1u << 5)
#define CR4_PGE		(1u << 7)
#define CR4_OSFXSR	(1u << 9)
#define CR4_OSXMMEXCPT	(1u << 10)
#define CR4_VMXE	(1u << 13)
#define CR4_LA57	(1u << 12)
#define CR4_PCIDE	(1u << 17)
#define CR4_OSXSAVE	(1u << 18)
#define CR4_PKE		(1u << 22)
#define MSR_EFER	0xc0000080
#define EFER_SCE	(1u << 0)
#define EFER_LME	(1u << 8)
#define EFER_LMA	(1u << 10)
#define EFER_NXE	(1u << 11)
#define EFER_SVME	(1u << 12)
#define EFER_FFXSR	(1u << 14)
#define MSR_STAR	0xc0000081
#define MSR_LSTAR	0xc0000082
#define MSR_CSTAR	0xc0000083	/* SYSCALL from compatibility mode (AMD) */
#define MSR_SFMASK	0xc0000084
#define MSR_PAT		0x277
/* IA32_APIC_BASE (SDM 11.4.4): BSP (8), x2APIC enable (10), APIC global
 * enable (11), the APIC page's address (12 up to MAXPHYADDR, at most 52). */
#define MSR_IA32_APICBASE	0x1b
#define APICBASE_ADDRESS	0x000ffffffffff000ull
#define APICBASE_RESERVED	(0xfff0000000000000ull | 0x2ffull)
#define APICBASE_EXTD		(1u << 10)
#define APICBASE_ENABLE		(1u << 11)
#define MSR_IA32_DEBUGCTL	0x1d9
#define DEBUGCTL_BTF	(1u << 1)	/* single-step on branches (SDM 18.4.1) */
#define RFLAGS_TF	(1u << 8)
#define RFLAGS_RF	(1u << 16)	/* resume: no instruction breakpoint */
#define RFLAGS_VM	(1u << 17)	/* virtual-8086 mode */
#define RFLAGS_IF	(1u << 9)
#define RFLAGS_DF	(1u << 10)	/* string instructions count down */
/* DR6.BS: the #DB was a single step (SDM 18.2.3). */
#define DR6_BS		(1u << 14)

/* CPUID.1:ECX bit 26: XSAVE/XRSTOR/XSETBV/XGETBV and XCR0; bit 27:
 * OSXSAVE, a copy of CR4.OSXSAVE. CPUID.7.0:ECX bit 3: PKU; bit 4: OSPKE,
 * a copy of CR4.PKE (SDM Vol. 2A, CPUID). */
#define CPUID_1_ECX_XSAVE	(1u << 26)
#define CPUID_1_ECX_OSXSAVE	(1u << 27)
#define CPUID_7_ECX_PKU		(1u << 3)
#define CPUID_7_ECX_OSPKE	(1u << 4)
/* CPUID.80000001H:EDX: SYSCALL (11), NX (20), FFXSR (25, AMD), LM (29). */
#define CPUID_80000001_EDX_SYSCALL	(1u << 11)
#define CPUID_80000001_EDX_NX		(1u << 20)
#define CPUID_80000001_EDX_FFXSR	(1u << 25)
#define CPUID_80000001_EDX_LM		(1u << 29)
/* CPUID.1:ECX bit 31: "hypervisor present" (reserved for hypervisors). */
#define CPUID_1_ECX_HYPERVISOR	(1u << 31)

/* Exception vectors (SDM 6.3.1). */
enum {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5, VEC_UD = 6,
	VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12, VEC_GP = 13,
	VEC_PF = 14, VEC_MF = 16, VEC_AC = 17, VEC_MC = 18, VEC_XM = 19, VEC_VE = 20,
};

#endif
