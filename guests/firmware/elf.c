/*
 * Loading an ELF executable the way a multiboot loader does (multiboot
 * spec 3.1.3 with flag bit 16 clear, and QEMU's -kernel): copy every
 * PT_LOAD segment to its *physical* address p_paddr and clear the rest of
 * its memory size. Both ELF32 (i386) and ELF64 (x86-64) files are read;
 * the kernel is entered in 32-bit mode either way.
 *
 * Field layouts from the System V ABI, "ELF Header" and "Program Header".
 */
#include <lib/printk.h>
#include <lib/string.h>
#include "firmware.h"

#define ELFCLASS32	1
#define ELFCLASS64	2
#define ELFDATA2LSB	1
#define ET_EXEC		2
#define EM_386		3
#define EM_X86_64	62
#define PT_LOAD		1
#define PF_X		1

struct elf32_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version, entry, phoff, shoff, flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf32_phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

/* One program header, whatever the class: ELF32 and ELF64 differ only in
 * field widths and order, so the loader reads both into this. */
struct segment {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

bool elf_probe(const struct kernel_file *k)
{
	return k->size >= 4 && memcmp(k->data, "\177ELF", 4) == 0;
}

/* What the loader needs from the ELF header, whatever the class. */
struct elf {
	bool is64;
	uint64_t entry, phoff;
	uint16_t type, machine, phentsize, phnum;
};

/* Program header i, read into the common form. */
static struct segment segment(const struct kernel_file *k, const struct elf *e, uint16_t i)
{
	const uint8_t *ph = k->data + e->phoff + (uint32_t)i * e->phentsize;

	if (e->is64) {
		const struct elf64_phdr *p = (const void *)ph;
		return (struct segment){ p->type, p->flags, p->offset, p->vaddr, p->paddr, p->filesz, p->memsz };
	}
	const struct elf32_phdr *p = (const void *)ph;
	return (struct segment){ p->type, p->flags, p->offset, p->vaddr, p->paddr, p->filesz, p->memsz };
}

/* Read and check the ELF header; fails unless it is an x86 executable. */
static struct elf read_header(const struct kernel_file *k)
{
	const uint8_t *ident = k->data;
	struct elf e = { .is64 = ident[4] == ELFCLASS64 };

	if (k->size < sizeof(struct elf32_ehdr) || (ident[4] != ELFCLASS32 && ident[4] != ELFCLASS64))
		fail(k, "not a valid ELF file (bad class or truncated header)");
	if (ident[5] != ELFDATA2LSB)
		fail(k, "ELF file is not little-endian");
	if (e.is64) {
		const struct elf64_ehdr *h = (const void *)k->data;
		if (k->size < sizeof(*h))
			fail(k, "truncated ELF64 header");
		e.type = h->type, e.machine = h->machine, e.entry = h->entry, e.phoff = h->phoff;
		e.phentsize = h->phentsize, e.phnum = h->phnum;
	} else {
		const struct elf32_ehdr *h = (const void *)k->data;
		e.type = h->type, e.machine = h->machine, e.entry = h->entry, e.phoff = h->phoff;
		e.phentsize = h->phentsize, e.phnum = h->phnum;
	}
	if (e.machine != (e.is64 ? EM_X86_64 : EM_386))
		fail(k, "ELF%d file for machine %u, not %s", e.is64 ? 64 : 32, e.machine,
		     e.is64 ? "x86-64" : "i386");
	if (e.type != ET_EXEC)
		fail(k, "ELF file of type %u, not an executable", e.type);
	if (e.phentsize != (e.is64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr)) ||
	    e.phoff > k->size || (uint64_t)e.phnum * e.phentsize > k->size - e.phoff)
		fail(k, "ELF program headers are malformed or truncated");
	return e;
}

uint32_t elf_load(const struct kernel_file *k)
{
	struct elf e = read_header(k);
	int loads = 0;

	printk("%s: ELF%d %s executable\n", k->name, e.is64 ? 64 : 32, e.is64 ? "x86-64" : "i386");

	/* Check every segment before copying any: a bad one leaves memory alone. */
	for (uint16_t i = 0; i < e.phnum; i++) {
		struct segment s = segment(k, &e, i);
		if (s.type != PT_LOAD)
			continue;
		if (s.filesz > s.memsz)
			fail(k, "ELF segment %u has more bytes in the file (0x%llx) than in memory (0x%llx)",
			     i, s.filesz, s.memsz);
		if (s.offset > k->size || s.filesz > k->size - s.offset)
			fail(k, "truncated: ELF segment %u needs the file up to offset 0x%llx, the file has 0x%x bytes",
			     i, s.offset + s.filesz, k->size);
		check_load_range(k, "ELF segment", s.paddr, s.paddr + s.memsz);
		loads++;
	}
	if (!loads)
		fail(k, "ELF file has no loadable segment");

	for (uint16_t i = 0; i < e.phnum; i++) {
		struct segment s = segment(k, &e, i);
		if (s.type != PT_LOAD)
			continue;
		printk("%s: segment %u at 0x%08llx-0x%08llx (0x%llx bytes from the file, virtual 0x%llx)\n",
		       k->name, i, s.paddr, s.paddr + s.memsz - 1, s.filesz, s.vaddr);
		memcpy((void *)(uint32_t)s.paddr, k->data + s.offset, s.filesz);
		memset((void *)(uint32_t)(s.paddr + s.filesz), 0, s.memsz - s.filesz);
	}

	/*
	 * e_entry is a virtual address. Like QEMU, translate it to physical
	 * when it lies inside an executable segment loaded elsewhere than its
	 * virtual address; otherwise take it as physical as it is (xv6 links
	 * at 0x80100000 but gives its physical _start as e_entry).
	 */
	uint64_t entry = e.entry;
	for (uint16_t i = 0; i < e.phnum; i++) {
		struct segment s = segment(k, &e, i);
		if (s.type == PT_LOAD && (s.flags & PF_X) && s.vaddr != s.paddr &&
		    entry >= s.vaddr && entry < s.vaddr + s.filesz) {
			entry = entry - s.vaddr + s.paddr;
			break;
		}
	}
	if (entry >= 0x100000000ull)
		fail(k, "entry point 0x%llx lies above 4 GiB", entry);
	return (uint32_t)entry;
}
