/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The notifying side of a channel: when buffers become visible to the peer
 * (batching), and when the peer's doorbell is rung (as the peer asked,
 * always, or coalesced: at most one per N buffers, never later than T).
 *
 * Coalescing and the "no stranded message" rule: a doorbell the peer asked
 * for and this side postponed is *owed*. ch->pol[q].owed counts the buffers
 * it covers, owed_since_us when the first was published. It is paid (the
 * doorbell rung, owed reset by an atomic exchange, so exactly one payer
 * rings) when N buffers are owed, by any later call on this end once T has
 * passed, by a blocking wait on this end (which sleeps no longer than the
 * owed deadline), or by vr_chan_service() from a timer. A doorbell rung a
 * little early or twice is harmless (the peer re-checks its ring); one
 * never rung would strand the message until the next one: the exchange
 * makes sure every owed count is paid by exactly one thread.
 */
#include "chan_internal.h"

#define OWED(ch, q) ((VR__ATOMIC(uint32_t) *)(void *)&(ch)->pol[q].owed)
#define OWED_SINCE(ch, q) \
	((VR__ATOMIC(uint32_t) *)(void *)&(ch)->pol[q].owed_since_us)

/* Coalescing time runs on a free-running 32-bit clock of 1024 ns ticks
 * (wraps after 73 minutes; only shorter differences are taken): a shift,
 * not a 64-bit division, which small MCUs do in a library call. */
#define TICK_SHIFT 10u

static uint32_t tick_of(uint64_t now_ns)
{
	return (uint32_t)(now_ns >> TICK_SHIFT);
}

/* T in ticks, rounded down: a doorbell may come a little early, never
 * late. us * 1000 / 1024 = us * 125 / 128, computed in 32 bits (no 64-bit
 * multiply, a libgcc call on Cortex-M0+): with us = 128 a + b,
 * 125 us / 128 = 125 a + 125 b / 128 exactly, and 125 a < 2^32. */
VR_STATIC_ASSERT(TICK_SHIFT == 10u, "limit_ticks assumes 1024 ns ticks");
static uint32_t limit_ticks(const struct vr_chan *ch, uint32_t q)
{
	uint32_t us = ch->pol[q].notify.coalesce_us;

	return (us >> 7) * 125u + (((us & 127u) * 125u) >> 7);
}

static void doorbell(struct vr_chan *ch, uint32_t q)
{
	vr__chan_count_shared(ch, q, VR_RS_NOTIFIES, 1);
	/* A dead peer shows at the next blocking call; the message is
	 * queued either way. */
	(void)ch->t->ops->notify(ch->t, q);
}

/* Ring the doorbell owed on @q, if any is still owed. */
static void pay(struct vr_chan *ch, uint32_t q)
{
	/* Relaxed load first: nothing owed is the common case, and needs no
	 * locked instruction. Exchange (acq_rel): exactly one thread takes a
	 * given owed count
	 * and rings for it; the buffers it covers were published (release,
	 * then the full fence of need_notify) before the add that counted
	 * them, which this exchange reads. */
	uint32_t owed;

	if (!VR_CONFIG_NOTIFY_POLICIES)
		return; /* no coalescing in this build: nothing is ever owed */
	if (VR__LOAD(OWED(ch, q), VR__MO(relaxed)) == 0)
		return;
	owed = VR__EXCHANGE(OWED(ch, q), 0, VR__MO(acq_rel));
	if (owed == 0)
		return;
	doorbell(ch, q);
	/* One doorbell for @owed requests: the others were merged away. */
	if (owed > 1)
		vr__chan_count_shared(ch, q, VR_RS_COALESCED, owed - 1);
}

static bool due(const struct vr_chan *ch, uint32_t q, uint32_t now)
{
	uint32_t since = VR__LOAD(OWED_SINCE((struct vr_chan *)ch, q),
				  VR__MO(relaxed));

	return (uint32_t)(now - since) >= limit_ticks(ch, q);
}

/* The peer asked to hear about what was just published on @q, and the
 * policy coalesces: owe the doorbell, pay it if N are owed or T passed. */
static void owe(struct vr_chan *ch, uint32_t q)
{
	const struct vr_notify_policy *p = &ch->pol[q].notify;
	uint32_t now, owed;

	if (!VR_CONFIG_NOTIFY_POLICIES)
		return; /* never called then; no read-modify-write in the image */
	now = tick_of(ch->t->ops->now_ns(ch->t));
	/* Relaxed add: the publishing store and the full fence in
	 * need_notify come first in this thread; pay() orders the rest. */
	owed = VR__FETCH_ADD(OWED(ch, q), 1, VR__MO(relaxed)) + 1;

	if (owed == 1)
		/* Relaxed: read by due(); a payer that sees owed before this
		 * store reads an older time and rings early: harmless. */
		VR__STORE(OWED_SINCE(ch, q), now, VR__MO(relaxed));
	if (owed >= p->coalesce_msgs || due(ch, q, now))
		pay(ch, q);
}

/* Both roles in the build (VR_CONFIG_*, always defined to 0 or 1). */
#if defined(__OPTIMIZE_SIZE__) && VR_CONFIG_DRIVER && VR_CONFIG_DEVICE
#define VR__CHAN_PREPARE_SHARED 1
#else
#define VR__CHAN_PREPARE_SHARED 0
#endif

#if VR__CHAN_PREPARE_SHARED
/*
 * Size builds with both roles: vr_*_kick_prepare / vr_*_notify_prepare of the ring headers,
 * with the notification decision that both roles of a format share
 * (vr__split_need_notify, vr__packed_need_notify) inlined once per format
 * instead of once per role: the same publish, the same broken check and
 * the same arguments as the header's vr_*_need_notify. One function per
 * format, whose queue is @d (driver) or, when that is NULL, @v (device):
 * the fields are addressed from the queue's pointer (VR__CHAN_QUEUE_FN).
 */
VR__CHAN_QUEUE_FN int packed_prepare(struct vr_packed_drv *d, struct vr_packed_dev *v)
{
	const struct vr_packed_event *peer;
	struct vr_queue_stats *stats;
	const struct vr_mem *mem;
	uint16_t num, pos, *last_pos;
	bool event_idx, wrap, *last_wrap;
	uint32_t *since;

	if (d) {
		vr_packed_drv_publish(d);
		if (VR_UNLIKELY(d->broken))
			return VR_EBROKEN;
		mem = &d->mem, event_idx = d->event_idx;
		peer = d->device_event, num = d->num;
		pos = d->pub_pos, wrap = d->pub_wrap;
		last_pos = &d->kick_pos, last_wrap = &d->kick_wrap;
		since = &d->since_kick, stats = &d->stats;
	} else {
		vr_packed_dev_publish(v);
		if (VR_UNLIKELY(v->broken))
			return VR_EBROKEN;
		mem = &v->mem, event_idx = v->event_idx;
		peer = v->driver_event, num = v->num;
		pos = v->pub_pos, wrap = v->pub_wrap;
		last_pos = &v->notify_pos, last_wrap = &v->notify_wrap;
		since = &v->since_notify, stats = &v->stats;
	}
	return vr__packed_need_notify(mem, event_idx, peer, num, pos, wrap,
				      last_pos, last_wrap, since, stats);
}

VR__CHAN_QUEUE_FN int split_prepare(struct vr_split_drv *d, struct vr_split_dev *v)
{
	const uint16_t *event, *flags;
	struct vr_queue_stats *stats;
	const struct vr_mem *mem;
	uint16_t quiet, idx, *old;
	uint32_t *since;
	bool event_idx;

	if (d) {
		vr_split_drv_publish(d);
		if (VR_UNLIKELY(d->broken))
			return VR_EBROKEN;
		mem = &d->mem, event_idx = d->event_idx;
		event = vr_used_avail_event(d->used, d->num);
		flags = &d->used->flags, quiet = VR_USED_F_NO_NOTIFY;
		idx = d->avail_pub, old = &d->kick_old;
		since = &d->since_kick, stats = &d->stats;
	} else {
		vr_split_dev_publish(v);
		if (VR_UNLIKELY(v->broken))
			return VR_EBROKEN;
		mem = &v->mem, event_idx = v->event_idx;
		event = vr_avail_used_event(v->avail, v->num);
		flags = &v->avail->flags, quiet = VR_AVAIL_F_NO_INTERRUPT;
		idx = v->used_pub, old = &v->notify_old;
		since = &v->since_notify, stats = &v->stats;
	}
	return vr__split_need_notify(mem, event_idx, event, flags, quiet, idx,
				     old, since, stats);
}

static int prepare(struct vr_chan *ch, uint32_t q)
{
	bool drv = vr__chan_is_driver(ch);

	return vr__chan_is_packed(ch)
		? packed_prepare(drv ? &ch->pdrv[q] : NULL, &ch->pdev[q])
		: split_prepare(drv ? &ch->sdrv[q] : NULL, &ch->sdev[q]);
}
#else
/* The ring headers' calls, each in a function of its own in size builds
 * (VR__CHAN_QUEUE_FN). */
VR__CHAN_QUEUE_FN int packed_kick_prepare(struct vr_packed_drv *d)
{
	return vr_packed_drv_kick_prepare(d);
}

VR__CHAN_QUEUE_FN int split_kick_prepare(struct vr_split_drv *d)
{
	return vr_split_drv_kick_prepare(d);
}

VR__CHAN_QUEUE_FN int packed_notify_prepare(struct vr_packed_dev *v)
{
	return vr_packed_dev_notify_prepare(v);
}

VR__CHAN_QUEUE_FN int split_notify_prepare(struct vr_split_dev *v)
{
	return vr_split_dev_notify_prepare(v);
}
#endif

/* Publish @q's pending buffers and decide on the doorbell. */
static void publish(struct vr_chan *ch, uint32_t q)
{
	const struct vr_notify_policy *p = &ch->pol[q].notify;
	int need;

	if (VR_CONFIG_NOTIFY_POLICIES)
		ch->pol[q].unpublished = 0; /* otherwise always 0: batch 1 */
	if (vr__chan_stale(ch))
		return; /* a device whose session ended writes nothing */
#if VR__CHAN_PREPARE_SHARED
	need = prepare(ch, q);
#else
	if (vr__chan_is_driver(ch))
		need = vr__chan_is_packed(ch) ? packed_kick_prepare(&ch->pdrv[q])
					      : split_kick_prepare(&ch->sdrv[q]);
	else
		need = vr__chan_is_packed(ch) ? packed_notify_prepare(&ch->pdev[q])
					      : split_notify_prepare(&ch->sdev[q]);
#endif
	if (need < 0 || (ch->t->flags & VR_TRANSPORT_POLLING) || ch->no_peer)
		return; /* broken (seen by the caller), no doorbells, no peer */
	if (need == 0 && (!VR_CONFIG_NOTIFY_POLICIES || p->mode != VR_NOTIFY_ALWAYS))
		vr__chan_count(ch, q, VR_RS_SUPPRESSED);
	else if (VR_CONFIG_NOTIFY_POLICIES && p->coalesce_msgs > 1)
		owe(ch, q);
	else
		doorbell(ch, q);
}

void vr__chan_published(struct vr_chan *ch, uint32_t q)
{
	struct vr__chan_qpol *p = &ch->pol[q];

	vr__chan_count(ch, q, VR_RS_PUBLISHED);
	/* Without policies every batch is one buffer (batch 1: nothing is
	 * ever left unpublished). */
	if (!VR_CONFIG_NOTIFY_POLICIES || ++p->unpublished >= p->notify.batch)
		publish(ch, q);
}

void vr__chan_flush_owed(struct vr_chan *ch, uint32_t q)
{
	if (!VR_CONFIG_NOTIFY_POLICIES)
		return; /* never called then (vr__chan_flush_queue) */
	if (ch->pol[q].unpublished)
		publish(ch, q);
	pay(ch, q);
}

uint64_t vr__chan_pay_due(struct vr_chan *ch, uint64_t now_ns)
{
	uint32_t now = tick_of(now_ns), q;
	uint64_t next = VR_WAIT_FOREVER;

	if (!VR_CONFIG_NOTIFY_POLICIES)
		return next; /* nothing is ever owed in this build */
	for (q = 0; q < 2; q++) {
		uint32_t since, left;
		uint64_t left_ns;

		/* Relaxed: a hint; pay() decides with the exchange. */
		if (VR__LOAD(OWED(ch, q), VR__MO(relaxed)) == 0)
			continue;
		if (due(ch, q, now)) {
			pay(ch, q);
			continue;
		}
		since = VR__LOAD(OWED_SINCE(ch, q), VR__MO(relaxed));
		/* Until the tick at which it falls due, counted from now_ns
		 * itself, not from the start of the current tick: a timer
		 * that sleeps exactly this long rings within T of the first
		 * owed publish (left >= 1 here, so the result is > 0). */
		left = limit_ticks(ch, q) - (uint32_t)(now - since);
		left_ns = ((uint64_t)left << TICK_SHIFT) -
			  (now_ns & ((1u << TICK_SHIFT) - 1u));
		if (left_ns < next)
			next = left_ns;
	}
	return next;
}

void vr__chan_policy_reset(struct vr_chan *ch)
{
	uint32_t q;

	for (q = 0; q < 2; q++) {
		ch->pol[q].unpublished = 0;
		VR__STORE(OWED(ch, q), 0, VR__MO(relaxed));
	}
}

/* ---- The calls ------------------------------------------------------------ */

int vr_chan_set_notify_policy(struct vr_chan *ch, uint32_t q,
			      const struct vr_notify_policy *pol)
{
	if (!ch || !ch->t || !pol || q > VR_CHAN_RX ||
	    pol->mode > VR_NOTIFY_ALWAYS ||
	    (pol->coalesce_msgs > 1 && pol->coalesce_us == 0))
		return VR_EINVAL;
	if (!VR_CONFIG_NOTIFY_POLICIES &&
	    (pol->mode != VR_NOTIFY_AS_ASKED || pol->batch > 1 || pol->coalesce_msgs > 1))
		return VR_ENOTSUP; /* configured out (vring/config.h) */
	if (!ch->broken)
		vr__chan_flush_queue(ch, q);
	ch->pol[q].notify = *pol;
	if (ch->pol[q].notify.batch == 0)
		ch->pol[q].notify.batch = 1;
	return 0;
}

int vr_chan_flush(struct vr_chan *ch, uint32_t q)
{
	if (!ch || !ch->t || q > VR_CHAN_RX)
		return VR_EINVAL;
	if (ch->broken)
		return VR_EBROKEN;
	if (vr__chan_stale(ch))
		return VR_EPEERDEAD;
	vr__chan_flush_queue(ch, q);
	return 0;
}

uint64_t vr_chan_service(struct vr_chan *ch)
{
	if (!ch || !ch->t || !vr__chan_owes(ch))
		return VR_WAIT_FOREVER;
	return vr__chan_pay_due(ch, ch->t->ops->now_ns(ch->t));
}
