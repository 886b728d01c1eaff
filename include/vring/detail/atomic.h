/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The only place libvring touches memory-ordering primitives. Every access to
 * a field that the peer may read or write concurrently goes through one of
 * these helpers, so that:
 *  - the compiler never tears, merges or re-reads a shared field (each helper
 *    is one C11 atomic access of the field's own width);
 *  - ThreadSanitizer sees the protocol as it is;
 *  - no access is wider than 32 bits, so Cortex-M4 (no LDREXD) needs no
 *    libatomic helper.
 * The ordering each call site needs is commented at the call site, naming
 * its partner on the other side of the ring.
 *
 * The wire structures hold plain integers (their layout is the spec's); the
 * helpers view them as atomics of the same size and alignment, which the
 * static assertions below check.
 *
 * Internal: include <vring/vring.h> instead.
 */
#ifndef VRING_DETAIL_ATOMIC_H
#define VRING_DETAIL_ATOMIC_H

#include <stdint.h>

#include "compiler.h"

#if defined(__cplusplus)
#include <atomic>
#define VR__ATOMIC(T) std::atomic<T>
#define VR__MO(x) std::memory_order_##x
#define VR__LOAD(p, mo) std::atomic_load_explicit(p, mo)
#define VR__STORE(p, v, mo) std::atomic_store_explicit(p, v, mo)
#define VR__FENCE(mo) std::atomic_thread_fence(mo)
#define VR__FETCH_ADD(p, v, mo) std::atomic_fetch_add_explicit(p, v, mo)
#define VR__EXCHANGE(p, v, mo) std::atomic_exchange_explicit(p, v, mo)
#else
#include <stdatomic.h>
#define VR__ATOMIC(T) _Atomic(T)
#define VR__MO(x) memory_order_##x
#define VR__LOAD(p, mo) atomic_load_explicit(p, mo)
#define VR__STORE(p, v, mo) atomic_store_explicit(p, v, mo)
#define VR__FENCE(mo) atomic_thread_fence(mo)
#define VR__FETCH_ADD(p, v, mo) atomic_fetch_add_explicit(p, v, mo)
#define VR__EXCHANGE(p, v, mo) atomic_exchange_explicit(p, v, mo)
#endif

VR_STATIC_ASSERT(sizeof(VR__ATOMIC(uint8_t)) == 1, "atomic u8 must be 1 byte");
VR_STATIC_ASSERT(sizeof(VR__ATOMIC(uint16_t)) == 2, "atomic u16 must be 2 bytes");
VR_STATIC_ASSERT(sizeof(VR__ATOMIC(uint32_t)) == 4, "atomic u32 must be 4 bytes");

#define VR__A8(p) ((VR__ATOMIC(uint8_t) *)(void *)(p))
#define VR__A16(p) ((VR__ATOMIC(uint16_t) *)(void *)(p))
#define VR__A32(p) ((VR__ATOMIC(uint32_t) *)(void *)(p))

/* Acquire load: later reads of the peer's data may not move above it. */
VR_INLINE uint16_t vr__load_acquire16(const uint16_t *p)
{
	return VR__LOAD(VR__A16(p), VR__MO(acquire));
}

/* Relaxed load: a single untorn read; ordering comes from elsewhere. */
VR_INLINE uint16_t vr__load16(const uint16_t *p)
{
	return VR__LOAD(VR__A16(p), VR__MO(relaxed));
}

/* Relaxed byte load: for peer data at an address with no alignment
 * guarantee (an indirect table may sit anywhere). */
VR_INLINE uint8_t vr__load8(const uint8_t *p)
{
	return VR__LOAD(VR__A8(p), VR__MO(relaxed));
}

VR_INLINE uint32_t vr__load32(const uint32_t *p)
{
	return VR__LOAD(VR__A32(p), VR__MO(relaxed));
}

VR_INLINE uint32_t vr__load32_acquire(const uint32_t *p)
{
	return VR__LOAD(VR__A32(p), VR__MO(acquire));
}

VR_INLINE void vr__store32_release(uint32_t *p, uint32_t v)
{
	VR__STORE(VR__A32(p), v, VR__MO(release));
}

/* Release store: earlier writes to shared memory are visible before it. */
VR_INLINE void vr__store_release16(uint16_t *p, uint16_t v)
{
	VR__STORE(VR__A16(p), v, VR__MO(release));
}

/* Relaxed store: a single untorn write; ordering comes from elsewhere. */
VR_INLINE void vr__store16(uint16_t *p, uint16_t v)
{
	VR__STORE(VR__A16(p), v, VR__MO(relaxed));
}

VR_INLINE void vr__store32(uint32_t *p, uint32_t v)
{
	VR__STORE(VR__A32(p), v, VR__MO(relaxed));
}

/*
 * Full fence: orders an earlier store before a later load (store-buffering
 * pattern). The notification-suppression handshake needs exactly this and
 * nothing weaker: "publish my index, then read the peer's event index" on
 * one side against "publish my event index, then re-read the index" on the
 * other.
 */
VR_INLINE void vr__fence_full(void)
{
	VR__FENCE(VR__MO(seq_cst));
}

/* Acquire fence: loads before it are ordered before loads/stores after it. */
VR_INLINE void vr__fence_acquire(void)
{
	VR__FENCE(VR__MO(acquire));
}

/* Release fence: loads/stores before it are ordered before stores after it. */
VR_INLINE void vr__fence_release(void)
{
	VR__FENCE(VR__MO(release));
}

/*
 * A short pause inside a spin loop: lets the sibling hyper-thread run and
 * saves power, without giving the CPU up (x86 PAUSE, Arm YIELD).
 */
VR_INLINE void vr__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
	__asm__ __volatile__("yield" ::: "memory");
#elif defined(__GNUC__)
	__asm__ __volatile__("" ::: "memory");
#endif
}

#endif /* VRING_DETAIL_ATOMIC_H */
