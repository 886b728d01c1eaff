/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The heartbeat watcher the hosted transports share (transports/shm,
 * transports/ivshmem and its guest peer): a peer is alive while the
 * heartbeat counter it keeps in the region header moves; one that stood
 * still for longer than the liveness timeout is declared dead.
 *
 * The watcher remembers the last value seen and when it last moved. Its
 * two fields are written by whichever thread samples (the caller's thread
 * in peer_state, a transport's heartbeat or waiter thread), hence atomics;
 * sequentially consistent is more than needed but these run a few times a
 * second, never per message. A sample races harmlessly with another: the
 * worst case is one stale "last moved" time, corrected by the next sample.
 * Private to the transports (not installed).
 */
#ifndef VR_TRANSPORTS_HOSTED_LIVENESS_H
#define VR_TRANSPORTS_HOSTED_LIVENESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct vr__hb_watch {
	atomic_uint_least64_t seen_ns; /* when the peer's heartbeat last moved */
	atomic_uint_least32_t last;    /* the value it had then */
};

static inline void vr__hb_watch_init(struct vr__hb_watch *w)
{
	atomic_init(&w->seen_ns, 0);
	atomic_init(&w->last, 0);
}

/* Start watching from @now, the heartbeat reading @value. */
static inline void vr__hb_watch_reset(struct vr__hb_watch *w, uint32_t value,
				      uint64_t now)
{
	atomic_store(&w->last, value);
	atomic_store(&w->seen_ns, now);
}

/* One sample: the heartbeat reads @value at @now. True when it has not
 * moved for more than @liveness_ns. */
static inline bool vr__hb_watch_stale(struct vr__hb_watch *w, uint32_t value,
				      uint64_t now, uint64_t liveness_ns)
{
	uint64_t seen;

	if (value != atomic_load(&w->last)) {
		vr__hb_watch_reset(w, value, now);
		return false;
	}
	seen = atomic_load(&w->seen_ns);
	return now > seen && now - seen > liveness_ns;
}

#endif /* VR_TRANSPORTS_HOSTED_LIVENESS_H */
