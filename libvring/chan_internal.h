/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the three parts of the channel share: channel.c (open, reset, the
 * calls), chan_notify.c (publishing, batching, doorbells, coalescing) and
 * chan_wait.c (polling, adaptive spinning, arm / re-check / sleep).
 */
#ifndef LIBVRING_CHAN_INTERNAL_H
#define LIBVRING_CHAN_INTERNAL_H

#include <vring/channel.h>

#include "internal.h"

/* VR__CHAN_QUEUE_FN: a channel helper that works on one queue of one
 * format (the ring call it wraps inlined into it). Out of line in a build
 * for size (-Os), where the queue's fields are then addressed from the
 * queue's own pointer instead of being recomputed from the channel's at
 * every access; always inlined where speed was asked for. */
#if defined(__OPTIMIZE_SIZE__) && (defined(__GNUC__) || defined(__clang__))
#define VR__CHAN_QUEUE_FN static __attribute__((noinline))
#elif defined(__GNUC__) || defined(__clang__)
#define VR__CHAN_QUEUE_FN static inline __attribute__((always_inline))
#else
#define VR__CHAN_QUEUE_FN static inline
#endif

/* Format and role of a channel end. With a format or a role configured
 * out (vring/config.h) the answer is a constant, so the compiler keeps one
 * branch of every dispatch and the linker drops the other side's code;
 * vr_chan_open() refused what this build does not carry. */
static inline bool vr__chan_is_packed(const struct vr_chan *ch)
{
#if !VR_CONFIG_SPLIT
	(void)ch;
	return true;
#elif !VR_CONFIG_PACKED
	(void)ch;
	return false;
#else
	return ch->format == VR_FORMAT_PACKED;
#endif
}

static inline bool vr__chan_is_driver(const struct vr_chan *ch)
{
#if !VR_CONFIG_DEVICE
	(void)ch;
	return true;
#elif !VR_CONFIG_DRIVER
	(void)ch;
	return false;
#else
	return ch->role == VR_ROLE_DRIVER;
#endif
}

/* Does this build carry format @p format / role @p role? */
static inline bool vr__chan_has_format(uint32_t format)
{
	return format == VR_FORMAT_PACKED ? VR_CONFIG_PACKED != 0 : VR_CONFIG_SPLIT != 0;
}

static inline bool vr__chan_has_role(uint32_t role)
{
	return role == VR_ROLE_DRIVER ? VR_CONFIG_DRIVER != 0 : VR_CONFIG_DEVICE != 0;
}

/*
 * Count one event of kind @which on queue @q: the private counter, then its
 * copy in the region's statistics record. The counter has a single writer
 * (the thread that drives @q on this end), so a relaxed load and store, not
 * a read-modify-write; readers (vr_chan_get_stats, vringctl) take relaxed
 * snapshots. The region copy is informational and never read back.
 */
static inline void vr__chan_count_here(struct vr_chan *ch, uint32_t q,
				       enum vr_region_stat which)
{
	VR__ATOMIC(uintptr_t) *a =
		(VR__ATOMIC(uintptr_t) *)(void *)&ch->qs[q].c[which];
	uintptr_t v;

	v = VR__LOAD(a, VR__MO(relaxed)) + 1;
	VR__STORE(a, v, VR__MO(relaxed));
	vr_region_stat_store(ch->rstats[q], which, (uint32_t)v);
}

#ifdef __OPTIMIZE_SIZE__
/* Size builds: one out-of-line copy (channel.c) for every call site. */
void vr__chan_count_call(struct vr_chan *ch, uint32_t q,
			 enum vr_region_stat which);
#endif

static inline void vr__chan_count(struct vr_chan *ch, uint32_t q,
				  enum vr_region_stat which)
{
	if (!VR_CONFIG_STATS)
		return; /* nothing is counted in this build */
#ifdef __OPTIMIZE_SIZE__
	vr__chan_count_call(ch, q, which);
#else
	vr__chan_count_here(ch, q, which);
#endif
}

/* The same, by @n, for a counter that any thread of this end may bump
 * (doorbells rung by vr_chan_service from a timer): an atomic add. The region copy
 * may briefly lag when two threads race; it is informational. Without
 * VR_CONFIG_NOTIFY_POLICIES nothing is ever owed, so only the thread that
 * publishes on @q rings its doorbell: one writer, a relaxed load and store
 * as in vr__chan_count (no read-modify-write: Cortex-M0+ has none). */
static inline void vr__chan_count_shared(struct vr_chan *ch, uint32_t q,
					 enum vr_region_stat which, uintptr_t n)
{
	VR__ATOMIC(uintptr_t) *a =
		(VR__ATOMIC(uintptr_t) *)(void *)&ch->qs[q].c[which];
	uintptr_t v;

	if (!VR_CONFIG_STATS)
		return;
	if (!VR_CONFIG_NOTIFY_POLICIES) {
		v = VR__LOAD(a, VR__MO(relaxed)) + n;
		VR__STORE(a, v, VR__MO(relaxed));
	} else {
		v = VR__FETCH_ADD(a, n, VR__MO(relaxed)) + n;
	}

	vr_region_stat_store(ch->rstats[q], which, (uint32_t)v);
}

/*
 * A device end whose driver started another session: the region's
 * generation moved (the transport changes it the moment it declares this
 * end dead, and at every attach). Such an end must not touch the rings
 * again: they are being reset, or already belong to a new device. Checked
 * before every access a device makes to the rings; one acquire load of a
 * read-mostly header word (partner: the transport's release store). A
 * device stopped between this check and its store can still write once:
 * a mapping cannot be revoked (docs/HOSTILE.md).
 */
VR_INLINE bool vr__chan_stale_inline(struct vr_chan *ch)
{
	return ch->role != VR_ROLE_DRIVER &&
	       vr_region_load(ch->base, VR_RH_GENERATION) != ch->generation;
}

/* Inlined where speed was asked for; one compiled copy (channel.c) in a
 * build optimised for size, where the compiler would otherwise keep one
 * per file. */
#if defined(__OPTIMIZE_SIZE__)
bool vr__chan_stale(struct vr_chan *ch);
#else
#define vr__chan_stale vr__chan_stale_inline
#endif

static inline uint64_t vr__chan_peek(const uintptr_t *c)
{
	return VR__LOAD((VR__ATOMIC(uintptr_t) *)(void *)(uintptr_t *)c,
			VR__MO(relaxed));
}

/* chan_notify.c */

/* A buffer was added (driver) or completed (device) on @q: publish it now
 * or when the batch is full, then ring the peer if it asked (or owe it). */
void vr__chan_published(struct vr_chan *ch, uint32_t q);
/* Publish @q's pending batch and ring what is owed on @q. */
void vr__chan_flush_owed(struct vr_chan *ch, uint32_t q);
static inline void vr__chan_flush_queue(struct vr_chan *ch, uint32_t q)
{
	/* Without policies every batch is one buffer, published at once,
	 * and nothing is ever owed: no call at all. */
	if (VR_CONFIG_NOTIFY_POLICIES)
		vr__chan_flush_owed(ch, q);
}
/* Ring the owed doorbells that are due; ns until the next is due. */
uint64_t vr__chan_pay_due(struct vr_chan *ch, uint64_t now_ns);
/* Forget batches and owed doorbells (the queues were reset). */
void vr__chan_policy_reset(struct vr_chan *ch);

static inline bool vr__chan_owes(struct vr_chan *ch)
{
	if (!VR_CONFIG_NOTIFY_POLICIES)
		return false; /* no coalescing in this build: nothing is owed */
	/* Relaxed: a hint; vr__chan_pay_due decides with an exchange. */
	return VR__LOAD((VR__ATOMIC(uint32_t) *)(void *)&ch->pol[0].owed,
			VR__MO(relaxed)) != 0 ||
	       VR__LOAD((VR__ATOMIC(uint32_t) *)(void *)&ch->pol[1].owed,
			VR__MO(relaxed)) != 0;
}

/* chan_wait.c */

/*
 * The loop of every blocking call: @look at queue @q (1: found, 0: nothing
 * yet, or a negative code, returned as is), and while it finds nothing,
 * wait as the queue's policy says (spin, or arm / look again / sleep) until
 * @timeout_ns. Returns 0 when found, or VR_EAGAIN (timeout 0),
 * VR_ETIMEDOUT, VR_EPEERDEAD, a protocol error.
 */
int vr__chan_wait_for(struct vr_chan *ch, uint32_t q, uint64_t timeout_ns,
		      int (*look)(struct vr_chan *ch, uint32_t q, void *arg),
		      void *arg);
/* Tell the peer not to ring for @q: a channel end asks for doorbells
 * only while it sleeps (arm, look again, sleep, suppress). */
void vr__chan_suppress(struct vr_chan *ch, uint32_t q);
/* Stop using the channel after a protocol violation (channel.c). */
int vr__chan_break(struct vr_chan *ch, int err);

#endif /* LIBVRING_CHAN_INTERNAL_H */
