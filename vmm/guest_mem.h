/*
 * Reading the guest's memory (vmm/guest_mem.c). lvisor never dereferences
 * an address the guest chose: it copies through these, which read guest RAM
 * only, and say so when they cannot.
 */
#ifndef VMM_GUEST_MEM_H
#define VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vcpu.h"

/* Copy len bytes from guest g's guest-physical gpa; false (buf undefined)
 * unless every byte lies in a RAM range of its memory map. */
struct guest;
bool guest_read_phys(const struct guest *g, uint64_t gpa, void *buf, size_t len);

/* Copy len bytes from the guest's linear address va, translated by the
 * guest's own page tables for its current paging mode; false if a page is
 * not present or a table or the data lies outside guest RAM. */
bool guest_read_virt(struct vcpu *v, uint64_t va, void *buf, size_t len);
/* The guest-physical address of linear address va, through the guest's
 * page tables as guest_read_virt walks them. */
bool guest_virt_to_phys(struct vcpu *v, uint64_t va, uint64_t *gpa);

#endif
