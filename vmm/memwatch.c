/*
 * Memory watches: the policy's `memory:` rules (policies/README.md).
 *
 * A watch is a permission taken away in the nested page tables: the
 * watched 4 KiB pages are mapped without write permission (write watch),
 * not at all (read watch: neither EPT nor NPT can refuse reads alone, a
 * writable page must be readable, SDM 29.3.3.1), or without execute
 * permission (EPT's X clear, NPT's NX set; SDM 29.3.2, APM 15.25.5).
 * vmm/vmx/ept.c and vmm/svm/npt.c ask watch_perms() for each page. A
 * watched access then exits, an EPT violation (SDM 29.3.3.2) or a nested
 * page fault (APM 15.25.6), which core_npf (vmm/apic.c) hands here.
 *
 * How the guest goes on after a watched access: lvisor carries it out
 * itself. It decodes the instruction with the decoder the APIC pages use
 * (vmm/decode.c: MOV loads and stores of 1, 2, 4 or 8 bytes, with any
 * prefixes and addressing; and the stores of STOS and MOVS, one element
 * per exit), does the load or store on the guest's memory
 * (host = base + GPA: the page is checked to be the guest's RAM, or the
 * VGA window, before the guest runs) and moves RIP past the instruction.
 * The other way, single-stepping the instruction with the page opened
 * (VMX's monitor trap flag; on SVM RFLAGS.TF and #DB), would run any
 * instruction, but opens the page to the guest for a while: an interrupt
 * or exception taken during the step, a guest that sets or reads TF
 * itself, an access that straddles pages, all must be caught, or the
 * watch leaks. Emulating never opens the page: what lvisor does not
 * decode (XCHG, read-modify-write, string loads, an operand that crosses a page,
 * the guest's own page tables in a watched page) stops the guest with a
 * report, and the rule says what a decoded access does. An instruction
 * fetch cannot be emulated: execute watches inject or stop.
 *
 * The cost: one exit per watched access, and per access of the watched
 * kind elsewhere on a watched page (carried out silently).
 */
#include <lib/printk.h>
#include "actions.h"
#include "decode.h"
#include "guest_mem.h"
#include "exits.h"
#include "policy.h"
#include "vmm.h"

#define VGA_WINDOW	0xa0000ull	/* the legacy VGA memory, 0xa0000-0xbffff */
#define VGA_WINDOW_END	0xc0000ull

/* The kinds of access (POLICY_READ, _WRITE, _EXEC) watched somewhere on
 * the 4 KiB page at gpa: what EPT/NPT take away there. */
unsigned watch_perms(const struct policy *p, uint64_t gpa)
{
	uint64_t page = gpa & ~(uint64_t)(PAGE_SIZE - 1);
	unsigned kinds = 0;

	for (unsigned i = 0; i < p->watch_count; i++)
		if (p->watches[i].first <= page + PAGE_SIZE - 1 && page <= p->watches[i].last)
			kinds |= p->watches[i].access;
	return kinds;
}

/* Does the 2 MiB region at base hold a watched page (mapped with 4 KiB
 * pages then)? */
bool watch_2m(const struct policy *p, uint64_t base)
{
	for (unsigned i = 0; i < p->watch_count; i++)
		if (p->watches[i].first <= base + (1 << 21) - 1 && base <= p->watches[i].last)
			return true;
	return false;
}

/* Is the page at gpa wholly guest g's RAM by its memory map? */
static bool page_is_ram(const struct guest *g, uint64_t gpa)
{
	for (unsigned i = 0; i < g->ram_count; i++)
		if (gpa >= g->ram[i].start && gpa + PAGE_SIZE <= g->ram[i].end)
			return true;
	return false;
}

/*
 * Before the guest runs: every watched page must be memory that lvisor may
 * load and store for the guest, its RAM (which never includes lvisor's
 * memory, the firmware's area or the second guest's, vmm/guest.c) or the
 * VGA window. The second guest has no watches: its memory is elsewhere in
 * the host (base + GPA), and its reports wait for the machine's end.
 */
void watch_check(const struct policy *p, const struct guest *g)
{
	if (!p->watch_count)
		return;
	if (g->second)
		panic("the second guest's policy %s watches memory (%s): lvisor watches the "
		      "first guest's memory only; give the second guest another policy (POLICY2)",
		      p->name, p->watches[0].rule);
	for (unsigned i = 0; i < p->watch_count; i++) {
		const struct policy_watch *w = &p->watches[i];
		for (uint64_t page = w->first & ~(uint64_t)(PAGE_SIZE - 1); page <= w->last; page += PAGE_SIZE)
			if (!page_is_ram(g, page) && !(page >= VGA_WINDOW && page < VGA_WINDOW_END))
				panic("%s: GPA 0x%lx is not the guest's RAM (nor the VGA window "
				      "0xa0000-0xbffff): lvisor watches only memory it may load and "
				      "store for the guest", w->rule, page);
	}
}

/* Each watch's log is rate-limited as every rule's is (vmm/actions.c):
 * the first ACT_LOG_BURST accesses, then each power of two. A scrolling
 * text screen is 4000 stores. */
#define WATCHES_MAX	16	/* codegen/events.py MEMORY_MAX */
static struct act_ratelimit logged[WATCHES_MAX];

static bool log_due(struct vcpu *v, const struct policy_watch *w, uint64_t *n)
{
	unsigned i = w - v->policy->watches;

	*n = i < WATCHES_MAX ? act_log_due(v, &logged[i]) : 0;
	return *n != 0;
}

static const char *quieter(uint64_t n)
{
	return n > ACT_LOG_BURST ? ", quieter from now on" : "";
}

/* The first rule for this kind of access that covers any of [first, last]. */
static const struct policy_watch *watch_find(const struct policy *p, unsigned kind,
					     uint64_t first, uint64_t last)
{
	for (unsigned i = 0; i < p->watch_count; i++) {
		const struct policy_watch *w = &p->watches[i];
		if (w->access == kind && w->first <= last && first <= w->last)
			return w;
	}
	return NULL;
}

/* size bytes (1, 2, 4 or 8: what mmio_decode gives) at host address at. */
static uint64_t load(uint64_t at, unsigned size)
{
	if (size == 1)
		return *(volatile uint8_t *)at;
	if (size == 2)
		return *(volatile uint16_t *)at;
	if (size == 4)
		return *(volatile uint32_t *)at;
	return *(volatile uint64_t *)at;
}

static void store(uint64_t at, unsigned size, uint64_t value)
{
	if (size == 1)
		*(volatile uint8_t *)at = (uint8_t)value;
	else if (size == 2)
		*(volatile uint16_t *)at = (uint16_t)value;
	else if (size == 4)
		*(volatile uint32_t *)at = (uint32_t)value;
	else
		*(volatile uint64_t *)at = value;
}

static const char *const kind_names[] = { [POLICY_READ] = "read", [POLICY_WRITE] = "write",
					  [POLICY_EXEC] = "execute" };

/* MOVS's source, size bytes at linear address va: the guest's RAM, or
 * the VGA window (xv6 scrolls its screen by copying it onto itself). */
static bool read_source(struct vcpu *v, uint64_t va, unsigned size, uint64_t *value)
{
	uint64_t gpa;

	*value = 0;
	if (guest_read_virt(v, va, value, size))
		return true;
	if ((va & (PAGE_SIZE - 1)) + size > PAGE_SIZE || !guest_virt_to_phys(v, va, &gpa) ||
	    gpa < VGA_WINDOW || gpa + size > VGA_WINDOW_END)
		return false;
	*value = load(v->guest->base + gpa, size);
	return true;
}

/* One element of a STOS or MOVS that stored into a watched page:
 * as a MOV store, then rDI (and rCX) stepped; RIP moves past the
 * instruction only when it is done, else the CPU runs on with the rest. */
static int watched_string(struct vcpu *v, const struct policy *p, struct string_store *s,
			uint64_t gpa, uint64_t rip)
{
	const struct policy_watch *w = watch_find(p, POLICY_WRITE, gpa, gpa + s->size - 1);
	uint64_t n;

	if (s->movs && !read_source(v, s->from, s->size, &s->value))
		return vcpu_stop(v, "guest wrote watched memory at GPA 0x%lx with a MOVS from linear "
				 "0x%lx, which is neither its RAM nor the VGA window", gpa, s->from);
	if (w && w->action == WATCH_UNHANDLED)
		return vcpu_stop(v, "guest wrote %u bytes of watched memory at GPA 0x%lx: %s",
				 s->size, gpa, w->rule);
	if (w && (w->action == WATCH_LOG || w->log) && log_due(v, w, &n))
		printk("guest write at GPA 0x%lx: %u bytes, 0x%0*lx, rip 0x%lx, %s (%s%s)\n", gpa,
		       s->size, (int)s->size * 2, s->value, rip, s->movs ? "MOVS" : "STOS", w->rule, quieter(n));
	if (w && w->action == WATCH_INJECT) {
		vcpu_inject(v, w->vector, w->has_error, w->error_code);
		return EXIT_RESUME;
	}
	if (!w || w->action != WATCH_IGNORE)
		store(v->guest->base + gpa, s->size, s->value);	/* watch_check: its RAM or VGA */
	if (string_step(v, s))
		backend->skip_len(v, s->len);
	return EXIT_RESUME;
}

/* An access to a watched page (core_npf): see the comment at the top. */
int memory_access(struct vcpu *v)
{
	const struct policy *p = v->policy;
	struct guest *g = v->guest;
	uint64_t gpa = v->exit.gpa, rip = vcpu_rip(v);
	const struct policy_watch *w;
	struct mmio_access a;
	const char *why = "lvisor does not decode it on this backend";

	/* The CPU's walk of the guest's page tables, setting an accessed or
	 * dirty bit in a watched page: no instruction to decode. */
	if (v->exit.gpa_walk)
		return vcpu_stop(v, "the guest's page-table walk touched watched memory at GPA 0x%lx: "
				 "lvisor does not walk for it; watch pages that hold no page tables", gpa);
	/* The CPU's delivery of an interrupt or exception (its IDT, its
	 * stack): the instruction at RIP is not the access. */
	if (v->exit.gpa_event)
		return vcpu_stop(v, "the delivery of an interrupt or exception touched watched memory "
				 "at GPA 0x%lx (the guest's IDT or stack): lvisor does not deliver it "
				 "for the guest; watch pages that hold neither", gpa);
	if (v->exit.gpa_fetch) {
		w = watch_find(p, POLICY_EXEC, gpa, gpa);
		if (!w)		/* a read watch leaves the page not present */
			return vcpu_stop(v, "guest fetched an instruction at GPA 0x%lx, in a page whose "
					 "reads lvisor watches: it carries out loads and stores there, "
					 "it cannot run code", gpa);
		if (w->action == WATCH_UNHANDLED)
			return vcpu_stop(v, "guest executed watched memory at GPA 0x%lx: %s", gpa, w->rule);
		uint64_t n;
		if (w->log && log_due(v, w, &n))
			printk("guest execute at GPA 0x%lx, rip 0x%lx (%s%s)\n", gpa, rip, w->rule, quieter(n));
		vcpu_inject(v, w->vector, w->has_error, w->error_code);
		return EXIT_RESUME;
	}
	bool decoded = backend->decode_mmio && backend->decode_mmio(v, &a, &why);
	struct string_store s;
	const char *string_why = NULL;
	if (!decoded && v->exit.gpa_write && string_store_decode(v, &s, &string_why))
		return watched_string(v, p, &s, gpa, rip);
	if (!decoded && string_why)
		why = string_why;	/* a string store, but not one lvisor carries out */
	if (!decoded)
		return vcpu_stop(v, "guest %s watched memory at GPA 0x%lx with an instruction lvisor "
				 "does not carry out: %s", v->exit.gpa_write ? "wrote" : "read", gpa, why);
	if (a.load == v->exit.gpa_write)
		return vcpu_stop(v, "guest %s watched memory at GPA 0x%lx, but its instruction is a %s",
				 v->exit.gpa_write ? "wrote" : "read", gpa, a.load ? "load" : "store");

	unsigned kind = a.load ? POLICY_READ : POLICY_WRITE;
	uint64_t at = g->base + gpa;	/* watch_check: the guest's RAM or the VGA window */
	w = watch_find(p, kind, gpa, gpa + a.size - 1);
	if (w && w->action == WATCH_UNHANDLED)
		return vcpu_stop(v, "guest %s %u bytes of watched memory at GPA 0x%lx: %s",
				 a.load ? "read" : "wrote", a.size, gpa, w->rule);
	uint64_t value = a.load ? load(at, a.size) : a.value;
	uint64_t n;
	if (w && (w->action == WATCH_LOG || w->log) && log_due(v, w, &n))
		printk("guest %s at GPA 0x%lx: %u bytes, 0x%0*lx, rip 0x%lx (%s%s)\n", kind_names[kind],
		       gpa, a.size, (int)a.size * 2, value, rip, w->rule, quieter(n));
	if (w && w->action == WATCH_INJECT) {
		vcpu_inject(v, w->vector, w->has_error, w->error_code);
		return EXIT_RESUME;
	}
	if (a.load) {
		vcpu_mmio_load(v, &a, value);
		return EXIT_RESUME;
	}
	if (!w || w->action != WATCH_IGNORE)	/* no rule here: elsewhere on the page */
		store(at, a.size, value);
	backend->skip_len(v, a.len);
	return EXIT_RESUME;
}
