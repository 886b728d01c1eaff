/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What an RTOS on a Cortex-M0+ (armv6-m: no LDREX/STREX) provides when it
 * builds libvring with the notification policies (VR_CONFIG_NOTIFY_POLICIES=1,
 * the default): the two 32-bit read-modify-write operations GCC turns C11
 * atomics into calls for on that core. Nothing else is needed: loads,
 * stores and fences compile to LDR/STR/DMB, and the minimal configuration
 * (VR_CONFIG_NOTIFY_POLICIES=0) calls neither of these.
 *
 *   unsigned int __atomic_fetch_add_4(volatile void *p, unsigned int v, int order);
 *   unsigned int __atomic_exchange_4(volatile void *p, unsigned int v, int order);
 *
 * libvring applies them only to words in its private channel state (the
 * coalescing count of owed doorbells, the doorbell counters), never to
 * memory shared with the peer, so they need to be atomic only against the
 * other threads and interrupt handlers of this core: with interrupts
 * masked (PRIMASK) on a single-core M0+, as below. An RTOS may use its own
 * critical section instead. A multi-core armv6-m system whose cores share
 * a channel end would need a hardware lock (e.g. the RP2040 spinlocks); a
 * channel end belongs to one core in every libvring example.
 *
 * Built into the Cortex-M0+ programs of scripts/size.sh (the default
 * configuration); an ordinary C file, no library.
 */
#include <stdint.h>

unsigned int __atomic_fetch_add_4(volatile void *p, unsigned int v, int order);
unsigned int __atomic_exchange_4(volatile void *p, unsigned int v, int order);

/* Mask interrupts, returning the previous PRIMASK (nesting-safe). The
 * "memory" clobbers keep the compiler from moving accesses across. */
static uint32_t irq_save(void)
{
	uint32_t primask;

	__asm__ __volatile__("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
	return primask;
}

static void irq_restore(uint32_t primask)
{
	__asm__ __volatile__("msr primask, %0" : : "r"(primask) : "memory");
}

/* Every order is served as seq_cst: a DMB before and after orders the
 * operation against other bus masters (a DMA engine, the peer core) as the
 * strongest order requires. Replaces *p by (add ? *p + v : v) with
 * interrupts masked and returns the old value. */
static unsigned int rmw(volatile void *p, unsigned int v, int add)
{
	volatile unsigned int *w = (volatile unsigned int *)p;
	uint32_t s = irq_save();
	unsigned int old;

	__asm__ __volatile__("dmb" : : : "memory");
	old = *w;
	*w = add ? old + v : v;
	__asm__ __volatile__("dmb" : : : "memory");
	irq_restore(s);
	return old;
}

unsigned int __atomic_fetch_add_4(volatile void *p, unsigned int v, int order)
{
	(void)order;
	return rmw(p, v, 1);
}

unsigned int __atomic_exchange_4(volatile void *p, unsigned int v, int order)
{
	(void)order;
	return rmw(p, v, 0);
}
