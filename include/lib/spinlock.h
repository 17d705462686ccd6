/*
 * A spinlock, for what more than one CPU shares (the console, lvisor's page
 * allocator). Built for the VMM (64-bit) and the firmware (32-bit) alike.
 *
 * XCHG with a memory operand is locked whether or not it has a LOCK prefix
 * (SDM Vol. 2D, XCHG), and it is a full barrier: nothing done inside the
 * lock moves before it. While the lock is held by someone else we only read
 * it, with PAUSE (SDM Vol. 2B, PAUSE: it tells the CPU this is a spin-wait
 * loop), so that the waiting CPU does not keep taking the cache line away
 * from the holder; then try XCHG again. Unlocking is a plain store: x86
 * keeps stores in order (SDM 9.2.2), so everything written inside the lock
 * is visible before the lock is seen free; the "memory" clobber keeps the
 * compiler from moving accesses across either end.
 *
 * Not recursive: a CPU that takes a lock it holds waits forever. Nor does
 * it turn interrupts off: lvisor runs with them off, and the NMI handler
 * takes no lock.
 */
#ifndef LIB_SPINLOCK_H
#define LIB_SPINLOCK_H

#include <stdint.h>
#include <asm/x86.h>

typedef struct {
	volatile uint32_t locked;	/* 1: held */
} spinlock_t;

static inline void spin_lock(spinlock_t *l)
{
	uint32_t was = 1;

	for (;;) {
		__asm__ volatile("xchg %0, %1" : "+r"(was), "+m"(l->locked) : : "memory");
		if (!was)
			return;
		while (l->locked)
			cpu_relax();
		was = 1;
	}
}

static inline void spin_unlock(spinlock_t *l)
{
	__asm__ volatile("" : : : "memory");
	l->locked = 0;
}

#endif
