/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/packed.h
 * @brief Packed virtqueue (virtio 1.2 section 2.8), driver and device roles.
 *
 * The packed ring is one array of descriptors written by both sides: the
 * driver marks descriptors available, the device overwrites them used, and
 * each side tracks a wrap counter (both start at 1). Queue sizes need not be
 * powers of two (1..32768).
 *
 * Memory, concurrency, batching and errors follow vring/split.h:
 * caller-provided areas and private state, one thread per queue object,
 * add/complete many then publish once, a broken queue stays broken until
 * reset. Batching here holds back the flags of the first descriptor of the
 * batch: everything after it is written first, and one release store of
 * that first flags word publishes the whole batch (the device stops at the
 * first descriptor that is not available).
 *
 * Bursts: vr_packed_drv_add_burst(), vr_packed_dev_pop_burst(),
 * vr_packed_dev_complete_burst(), vr_packed_drv_get_used_burst() and the
 * single-segment vr_packed_drv_add_bufs() and vr_packed_dev_pop_bufs() give
 * exactly the results of the single calls in a loop (same ids, chains,
 * codes, ring bytes and queue state, every check made), with the queue's
 * state in registers and the per-call checks made once per burst; a chain
 * of one descriptor takes a short path, anything else the single call
 * inside the burst. They do not publish: call publish (or kick_prepare /
 * notify_prepare) once after them. The single calls stay the cheaper way
 * to move one message.
 *
 * With VIRTIO_F_IN_ORDER the driver's buffer id of a chain is the ring
 * position of its head (unique among chains in flight), and both sides
 * keep their order by ring position instead of a list.
 */
#ifndef VRING_PACKED_H
#define VRING_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detail/atomic.h"
#include "detail/compiler.h"
#include "detail/endian.h"
#include "errors.h"
#include "layout.h"
#include "mem.h"
#include "notify.h"
#include "queue.h"

VR_EXTERN_C_BEGIN

/** The three areas of a packed queue, as virtio-mmio or PCI give them. */
struct vr_packed_areas {
	void *desc;         /**< descriptor ring: 16 * num bytes, align 16 */
	void *driver_event; /**< driver event suppression: 4 bytes, align 4 */
	void *device_event; /**< device event suppression: 4 bytes, align 4 */
};

/**
 * @brief Carve the three areas out of one region (vr_packed_layout()).
 * @return 0; VR_EINVAL; VR_ERANGE when @p len is too small; VR_EALIGN when
 *         @p base is not 16-byte aligned
 */
int vr_packed_areas_from_region(struct vr_packed_areas *areas, void *base,
				size_t len, uint32_t num);

/* Flags word of a descriptor made available (driver) or used (device) in
 * wrap @p wrap (section 2.8.1). */
VR_INLINE uint16_t vr__packed_avail_bits(bool wrap)
{
	return (uint16_t)(wrap ? VR_DESC_F_AVAIL : VR_DESC_F_USED);
}

VR_INLINE uint16_t vr__packed_used_bits(bool wrap)
{
	return (uint16_t)(wrap ? (VR_DESC_F_AVAIL | VR_DESC_F_USED) : 0);
}

/* Is a descriptor with @p flags available in driver wrap @p wrap? */
VR_INLINE bool vr__packed_is_avail(uint16_t flags, bool wrap)
{
	return (flags & (VR_DESC_F_AVAIL | VR_DESC_F_USED)) ==
	       vr__packed_avail_bits(wrap);
}

/* Is a descriptor with @p flags used in device wrap @p wrap? */
VR_INLINE bool vr__packed_is_used(uint16_t flags, bool wrap)
{
	return (flags & (VR_DESC_F_AVAIL | VR_DESC_F_USED)) ==
	       vr__packed_used_bits(wrap);
}

/*
 * The decision both roles make after publishing (section 2.8.10): full
 * fence, then the peer's event suppression area. An unknown flags value
 * counts as ENABLE: an extra notification is harmless, a missing one
 * strands a message. (@last_pos, @last_wrap) is where the previous check
 * stopped; @since counts descriptors published since then, capped at
 * 2 * num: a whole cycle passes every event point.
 */
VR_INLINE int vr__packed_need_notify(const struct vr_mem *mem, bool event_idx,
				     const struct vr_packed_event *peer,
				     uint16_t num, uint16_t pub_pos, bool pub_wrap,
				     uint16_t *last_pos, bool *last_wrap,
				     uint32_t *since, struct vr_queue_stats *stats)
{
	uint16_t ev_flags, off_wrap;
	int need;

	/* Full fence (F1 on the driver, F2 on the device): the flags store
	 * that published (R1 / R2) is ordered before the loads of the peer's
	 * event area. Partner: the fence in the peer's arm call (F4 / F3). */
	vr__fence_full();
	if (*since == 0)
		return 0;
	vr_mem_invalidate(mem, peer, sizeof(*peer));
	/* Relaxed, read once each: ordered after the publishing store. */
	ev_flags = vr__le16(vr__load16(&peer->flags));
	off_wrap = vr__le16(vr__load16(&peer->off_wrap));
	if (ev_flags == VR_EVENT_F_DISABLE)
		need = 0;
	else if (ev_flags == VR_EVENT_F_DESC && event_idx)
		need = *since >= 2u * num ||
		       vr_packed_need_event(off_wrap, num, pub_pos, pub_wrap,
					    *last_pos, *last_wrap);
	else
		need = 1;
	*last_pos = pub_pos;
	*last_wrap = pub_wrap;
	*since = 0;
	if (need)
		stats->notify_needed++;
	else
		stats->notify_suppressed++;
	return need;
}

/* ======================================================================= */
/*                              Driver side                                */
/* ======================================================================= */

/** Driver-side packed queue. Fields are private: use the functions. */
struct vr_packed_drv {
	struct vr_packed_desc *desc;
	struct vr_packed_event *driver_event; /* we write it */
	struct vr_packed_event *device_event; /* the device writes it */
	struct vr_drv_slot *slot;             /* per buffer id, private */
	struct vr_mem mem;
	uint64_t features;
	uint32_t flags;
	uint16_t num;
	uint16_t next_avail;  /* next ring position to fill */
	uint16_t next_used;   /* next ring position to read used from */
	uint16_t num_free;    /* free ring positions */
	uint16_t free_id;     /* head of the free buffer-id list */
	uint16_t in_flight;
	uint16_t held_pos;    /* first head of the unpublished batch */
	uint16_t held_flags;  /* its flags, stored at publish */
	uint16_t pub_pos;     /* next_avail at the last publish */
	uint16_t kick_pos;    /* pub_pos at the last need_notify */
	uint16_t batch_end;   /* in-order: last id of the batch being
				 collected, VR__NONE if none */
	uint32_t batch_len;
	uint32_t unpub;       /* descriptors added since the last publish */
	uint32_t since_kick;  /* descriptors published since need_notify,
				 capped at 2 * num */
	bool avail_wrap;      /* driver ring wrap counter */
	bool used_wrap;       /* wrap counter expected on used descriptors */
	bool pub_wrap;
	bool kick_wrap;
	bool held;            /* a batch is waiting for publish */
	bool event_idx;
	bool indirect;
	bool in_order;
	uint8_t used_mode;    /* how get_used collects: 0 without IN_ORDER
				 (not broken), 1 with IN_ORDER and no
				 invalidate hook (not broken), 2 otherwise */
	int broken;
	struct vr_queue_stats stats;
};

size_t vr_packed_drv_state_size(uint32_t num);

/**
 * @brief Initialise a driver queue; zeroes the descriptor ring and the
 *        driver event area (the driver owns the ring memory).
 * @return 0; VR_EINVAL (NULL, bad size, overlapping areas); VR_EALIGN;
 *         VR_ERANGE (state too small)
 */
int vr_packed_drv_init(struct vr_packed_drv *q, const struct vr_queue_cfg *cfg,
		       const struct vr_packed_areas *areas, void *state,
		       size_t state_len);

/**
 * Where a packed queue stands, as vhost-user's GET/SET_VRING_BASE pass it
 * (there: position | wrap << 15, avail in the low and used in the high 16
 * bits). Device side: the next ring position to take from and the wrap
 * counter expected there, and the next position to write used
 * descriptors to with the device's wrap counter. Driver side: the next
 * position to fill and the next to collect, with their wrap counters.
 */
struct vr_packed_base {
	uint16_t avail_pos;  /**< 0 .. num - 1 */
	uint16_t used_pos;   /**< 0 .. num - 1 */
	bool avail_wrap;
	bool used_wrap;
};

/**
 * @brief Take over the driver side of a live, drained ring at @p base
 *        without touching shared memory. Only a ring with nothing in flight
 *        can change hands: avail and used positions and wrap counters must
 *        be equal (vr_packed_drv_get_base() of the previous driver once it
 *        had collected everything).
 * @return 0; VR_EINVAL (NULL, a position >= num, avail != used, or as
 *         vr_packed_drv_init()); VR_EALIGN; VR_ERANGE
 */
int vr_packed_drv_attach(struct vr_packed_drv *q, const struct vr_queue_cfg *cfg,
			 const struct vr_packed_areas *areas, void *state,
			 size_t state_len, const struct vr_packed_base *base);

/** @brief Where the driver stands (equal positions when nothing is in
 *         flight). */
VR_INLINE void vr_packed_drv_get_base(const struct vr_packed_drv *q,
				      struct vr_packed_base *out)
{
	out->avail_pos = q->next_avail;
	out->avail_wrap = q->avail_wrap;
	out->used_pos = q->next_used;
	out->used_wrap = q->used_wrap;
}

/** @brief Reset (RING_RESET semantics): forget chains, zero the ring and
 *         both event areas (the device is stopped, perhaps dead). */
void vr_packed_drv_reset(struct vr_packed_drv *q);

VR_INLINE int vr_packed_drv_broken(const struct vr_packed_drv *q)
{
	return q->broken;
}

/** @brief The queue's counters (notifications asked and suppressed...). */
VR_INLINE const struct vr_queue_stats *vr_packed_drv_stats(const struct vr_packed_drv *q)
{
	return &q->stats;
}

VR_INLINE unsigned vr_packed_drv_free(const struct vr_packed_drv *q)
{
	return q->num_free;
}

VR_INLINE unsigned vr_packed_drv_in_flight(const struct vr_packed_drv *q)
{
	return q->in_flight;
}

int vr__packed_drv_break(struct vr_packed_drv *q, int err);
void vr__packed_drv_clean_descs(struct vr_packed_drv *q, uint16_t first,
				unsigned n);
int vr__packed_drv_get_used_in_order(struct vr_packed_drv *q,
				     struct vr_used_buf *out);

/* Store the flags of ring position @p pos, holding back the first head of
 * a batch until publish. */
VR_INLINE void vr__packed_drv_set_head(struct vr_packed_drv *q, uint16_t pos,
				       uint16_t flags)
{
	if (!q->held) {
		q->held = true;
		q->held_pos = pos;
		q->held_flags = flags;
	} else {
		/* Relaxed: the device reads it only after acquiring the held
		 * head, which is released (R1) after this store. */
		vr__store16(&q->desc[pos].flags, vr__le16(flags));
	}
}

/* Record a chain of @p n ring descriptors just written under buffer id
 * @p id, ending before (@p pos, @p wrap). */
VR_INLINE void vr__packed_drv_commit(struct vr_packed_drv *q, uint16_t id,
				     uint16_t pos, bool wrap, unsigned n,
				     uint32_t in_len, void *cookie)
{
	struct vr_drv_slot *s = &q->slot[id];

	q->next_avail = pos;
	q->avail_wrap = wrap;
	q->num_free = (uint16_t)(q->num_free - n);
	q->unpub += n;
	s->cookie = cookie;
	s->in_len = in_len;
	s->ndesc = (uint16_t)n;
	q->in_flight++;
}

/* The buffer id of the next chain. With IN_ORDER it is the ring position
 * of the chain's head: unique among the chains in flight (their heads sit
 * at different positions), and collection order is ring order, so neither
 * a free list nor a FIFO is kept. Otherwise the head of the free list. */
VR_INLINE uint16_t vr__packed_drv_take_id(struct vr_packed_drv *q)
{
	uint16_t id;

	if (q->in_order)
		return q->next_avail;
	id = q->free_id;
	q->free_id = q->slot[id].next;
	return id;
}

/**
 * @brief Add a chain of @p n_out readable then @p n_in writable buffers.
 *        Not visible to the device until vr_packed_drv_publish().
 * With IN_ORDER the buffer id is the ring position of the chain's head.
 * @return the buffer id (>= 0); VR_ENOSPC; VR_EINVAL (no segment, a zero
 *         length without VR_QF_ZERO_LEN_OK, more than num segments or
 *         4 GiB in total); VR_EFAULT
 *         (cache hooks set and a readable buffer outside cfg->mem);
 *         VR_EBROKEN
 */
VR_INLINE int vr_packed_drv_add(struct vr_packed_drv *q, const struct vr_seg *seg,
				unsigned n_out, unsigned n_in, void *cookie)
{
	unsigned n = n_out + n_in, i;
	uint16_t id, pos, first;
	bool wrap;
	uint32_t in_len;
	int err;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	err = vr__segs_check(seg, n_out, n_in, q->num,
			     (q->flags & VR_QF_ZERO_LEN_OK) != 0, &in_len);
	if (VR_UNLIKELY(err))
		return err;
	if (n > q->num_free)
		return VR_ENOSPC;
	if (VR_UNLIKELY(q->mem.clean != NULL)) {
		/* Before anything is written: a buffer outside the window
		 * fails the add with nothing changed. */
		err = vr__mem_clean_segs(&q->mem, seg, n_out);
		if (err)
			return err;
	}

	id = vr__packed_drv_take_id(q);
	first = pos = q->next_avail;
	wrap = q->avail_wrap;
	for (i = 0; i < n; i++) {
		struct vr_packed_desc *d = &q->desc[pos];
		uint16_t flags = vr__packed_avail_bits(wrap);

		if (i >= n_out)
			flags |= VR_DESC_F_WRITE;
		if (i + 1 < n)
			flags |= VR_DESC_F_NEXT;
		/* Plain stores: the device reads them only after acquiring
		 * the head's flags, released at publish (R1). The buffer id
		 * goes in every descriptor; the spec reads it from the last. */
		d->addr = vr__le64(seg[i].addr);
		d->len = vr__le32(seg[i].len);
		d->id = vr__le16(id);
		if (i == 0)
			vr__packed_drv_set_head(q, pos, flags);
		else
			/* Relaxed: published with the head (R1). */
			vr__store16(&d->flags, vr__le16(flags));
		if (++pos == q->num) {
			pos = 0;
			wrap = !wrap;
		}
	}
	vr__packed_drv_commit(q, id, pos, wrap, n, in_len, cookie);
	if (VR_UNLIKELY(q->mem.clean != NULL))
		vr__packed_drv_clean_descs(q, first, n);
	return id;
}

/**
 * @brief Add a chain through an indirect table of n_out + n_in packed
 *        descriptors at @p table (device bus address @p table_addr).
 * @return the buffer id; VR_ENOTSUP without INDIRECT_DESC; as add otherwise
 */
int vr_packed_drv_add_indirect(struct vr_packed_drv *q, const struct vr_seg *seg,
			       unsigned n_out, unsigned n_in,
			       struct vr_packed_desc *table, uint64_t table_addr,
			       void *cookie);

/**
 * @brief Add @p n chains, as @p n calls of vr_packed_drv_add() would
 *        (same ids, ring bytes and queue state), with the queue's state
 *        kept in registers and the per-call checks made once. Chains of one
 *        segment take a short path; longer ones, and every chain when cache
 *        hooks are set, go through vr_packed_drv_add() inside this call.
 *        Nothing is visible to the device until vr_packed_drv_publish()
 *        (or kick_prepare), which the caller calls once after the burst.
 * @param ids where the buffer id of each chain added goes (may be NULL)
 * @return how many chains were added (0..@p n), stopping at the first that
 *         cannot be; when that is the first, its code as vr_packed_drv_add()
 *         returns it: VR_ENOSPC, VR_EINVAL (also @p adds NULL with
 *         @p n > 0), VR_EFAULT, VR_EBROKEN
 */
int vr_packed_drv_add_burst(struct vr_packed_drv *q, const struct vr_add *adds,
			    unsigned n, uint16_t *ids);

/**
 * @brief Add @p n single-segment messages, all device-readable or all
 *        device-writable: exactly what @p n calls of
 *        vr_packed_drv_add(q, &bufs[i].seg, writable ? 0 : 1,
 *        writable ? 1 : 0, bufs[i].cookie) would do (same ids, ring bytes
 *        and queue state), with the queue's state kept in registers and the
 *        per-call checks made once; every per-message check is kept (room,
 *        a zero length without VR_QF_ZERO_LEN_OK). A message that fails a
 *        check, and every message when cache hooks are set, goes through
 *        vr_packed_drv_add() inside this call. Nothing is visible to the
 *        device until vr_packed_drv_publish() (or kick_prepare), which the
 *        caller calls once after.
 * @param writable true: every buffer is device-writable (its length is
 *        what the device may write); false: device-readable
 * @param ids where the buffer id of each message added goes (may be NULL)
 * @return how many were added (0..@p n), stopping at the first that cannot
 *         be; when that is the first, its code as vr_packed_drv_add()
 *         returns it: VR_ENOSPC (no free descriptor), VR_EINVAL (a zero
 *         length without VR_QF_ZERO_LEN_OK, or @p bufs NULL with
 *         @p n > 0), VR_EFAULT (cache hooks set and a readable buffer
 *         outside cfg->mem), VR_EBROKEN
 */
int vr_packed_drv_add_bufs(struct vr_packed_drv *q, const struct vr_add_buf *bufs,
			   unsigned n, bool writable, uint16_t *ids);

/** @brief Make every chain added since the last publish visible (nothing
 *         on a broken queue). */
VR_INLINE void vr_packed_drv_publish(struct vr_packed_drv *q)
{
	if (!q->held || VR_UNLIKELY(q->broken))
		return;
	q->held = false;
	/* R1 (release): every descriptor of the batch, written above, is
	 * visible before the first head's flags mark it available. Partner:
	 * A1 in vr_packed_dev_pop. */
	vr__store_release16(&q->desc[q->held_pos].flags,
			    vr__le16(q->held_flags));
	if (VR_UNLIKELY(q->mem.clean != NULL))
		vr_mem_clean(&q->mem, &q->desc[q->held_pos].flags,
			     sizeof(uint16_t));
	q->pub_pos = q->next_avail;
	q->pub_wrap = q->avail_wrap;
	q->since_kick += q->unpub;
	if (q->since_kick > 2u * q->num)
		q->since_kick = 2u * q->num;
	q->unpub = 0;
}

/**
 * @brief After publish: must the device be notified? Full fence, then the
 *        device event suppression area (ENABLE, DISABLE or DESC with
 *        EVENT_IDX). An unknown flags value counts as ENABLE: an extra
 *        notification is harmless, a missing one strands a message.
 * @return 1 to notify, 0 not to, VR_EBROKEN
 */
VR_INLINE int vr_packed_drv_need_notify(struct vr_packed_drv *q)
{
	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	return vr__packed_need_notify(&q->mem, q->event_idx, q->device_event,
				      q->num, q->pub_pos, q->pub_wrap,
				      &q->kick_pos, &q->kick_wrap,
				      &q->since_kick, &q->stats);
}

VR_INLINE int vr_packed_drv_kick_prepare(struct vr_packed_drv *q)
{
	vr_packed_drv_publish(q);
	return vr_packed_drv_need_notify(q);
}

/* vr_packed_drv_get_used with IN_ORDER (used_mode 1: not broken, no
 * invalidate hook): the chain at next_used, returned
 * alone by a used descriptor carrying its id (ids are head positions), or
 * the next chain of a batch whose used descriptor was read and checked
 * before (batch_end), is collected here; anything else (the start of a
 * batch of several chains, cache hooks, a violation) goes to the compiled
 * path, which reads the descriptor again and makes every check. No free
 * list: see vr__packed_drv_take_id. */
VR_INLINE int vr__packed_drv_get_used_io(struct vr_packed_drv *q,
					 struct vr_used_buf *out)
{
	const unsigned head = q->next_used;
	struct vr_packed_desc *d = &q->desc[head];
	struct vr_drv_slot *s = &q->slot[head];
	uint16_t flags, id;
	uint32_t len, in_len;
	unsigned next;

	/* used_mode 1: IN_ORDER, not broken, no invalidate hook. */
	if (VR_UNLIKELY(q->batch_end != VR__NONE)) {
		/* Inside a batch: the chains before its last count as fully
		 * written, the last gets the length the device wrote. */
		if (head == q->batch_end) {
			len = q->batch_len;
			q->batch_end = VR__NONE;
		} else {
			len = s->in_len;
		}
		id = (uint16_t)head;
		goto take;
	}
	/* A2 (acquire): the used descriptor's id and len, and the buffer
	 * contents, are visible after its flags. Partner: R2 in
	 * vr_packed_dev_publish. */
	flags = vr__le16(vr__load_acquire16(&d->flags));
	if (!vr__packed_is_used(flags, q->used_wrap))
		return VR_EAGAIN;
	/* Relaxed, read once: ordered after A2. */
	id = vr__le16(vr__load16(&d->id));
	len = vr__le32(vr__load32(&d->len));
	in_len = s->in_len;
	if (!(flags & VR_DESC_F_WRITE) &&
	    (!(q->flags & VR_QF_USED_LEN_WITHOUT_WRITE) || in_len == 0))
		len = 0;
	/* A record at next_used means a chain in flight (records are 0 for
	 * the rest): nothing in flight (VR_EUSEDIDX) fails it too. */
	if (VR_UNLIKELY(id != head || s->ndesc == 0 || len > in_len))
		return vr__packed_drv_get_used_in_order(q, out);
take:
	out->cookie = s->cookie;
	out->len = len;
	out->id = id;
	/* Skip by the driver's own record of the chain. */
	next = head + s->ndesc;
	if (next >= q->num) {
		next -= q->num;
		q->used_wrap = !q->used_wrap;
	}
	q->next_used = (uint16_t)next;
	q->num_free = (uint16_t)(q->num_free + s->ndesc);
	s->ndesc = 0;
	q->in_flight--;
	return 0;
}

/**
 * @brief Collect one used chain.
 * @return 0; VR_EAGAIN; VR_EBROKEN; or a violation that breaks the queue:
 *         VR_EUSEDIDX (a used descriptor with nothing in flight),
 *         VR_EUSEDID, VR_EUSEDLEN
 */
VR_INLINE int vr_packed_drv_get_used(struct vr_packed_drv *q,
				     struct vr_used_buf *out)
{
	struct vr_packed_desc *d = &q->desc[q->next_used];
	struct vr_drv_slot *s;
	uint16_t flags, id;
	uint32_t len;

#if defined(__OPTIMIZE_SIZE__)
	/* Built for size: IN_ORDER always through the compiled path, which
	 * takes the same chains with the same checks; tested on the fields
	 * themselves, so that a caller that tested them already (the
	 * channel) has the tests folded away. */
	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	if (q->in_order)
		return vr__packed_drv_get_used_in_order(q, out);
#else
	/* One test for the common cases: 0 is a queue without IN_ORDER
	 * that is not broken. */
	if (VR_UNLIKELY(q->used_mode != 0)) {
		if (q->used_mode == 1)
			return vr__packed_drv_get_used_io(q, out);
		if (q->broken)
			return VR_EBROKEN;
		/* IN_ORDER with an invalidate hook. */
		return vr__packed_drv_get_used_in_order(q, out);
	}
#endif
	vr_mem_invalidate(&q->mem, d, sizeof(*d));
	/* A2 (acquire): the used descriptor's id and len, and the buffer
	 * contents, are visible after its flags. Partner: R2 in
	 * vr_packed_dev_publish. */
	flags = vr__le16(vr__load_acquire16(&d->flags));
	if (!vr__packed_is_used(flags, q->used_wrap))
		return VR_EAGAIN;
	if (VR_UNLIKELY(q->in_flight == 0))
		return vr__packed_drv_break(q, VR_EUSEDIDX);
	/* Relaxed, read once: ordered after A2. */
	id = vr__le16(vr__load16(&d->id));
	len = vr__le32(vr__load32(&d->len));
	if (VR_UNLIKELY(id >= q->num || q->slot[id].ndesc == 0))
		return vr__packed_drv_break(q, VR_EUSEDID);
	s = &q->slot[id];
	/* Section 2.8.4: len is reserved without WRITE, unless the caller
	 * takes it anyway for QEMU (VR_QF_USED_LEN_WITHOUT_WRITE). */
	if (!(flags & VR_DESC_F_WRITE) &&
	    (!(q->flags & VR_QF_USED_LEN_WITHOUT_WRITE) || s->in_len == 0))
		len = 0;
	if (VR_UNLIKELY(len > s->in_len)) {
		if (!(q->flags & VR_QF_CLAMP_USED_LEN))
			return vr__packed_drv_break(q, VR_EUSEDLEN);
		len = s->in_len;
		q->stats.used_len_clamped++;
	}
	out->cookie = s->cookie;
	out->len = len;
	out->id = id;
	/* Skip by the driver's own record of the chain, never by anything
	 * the device wrote. */
	q->next_used = (uint16_t)(q->next_used + s->ndesc);
	if (q->next_used >= q->num) {
		q->next_used = (uint16_t)(q->next_used - q->num);
		q->used_wrap = !q->used_wrap;
	}
	q->num_free = (uint16_t)(q->num_free + s->ndesc);
	s->ndesc = 0;
	s->next = q->free_id;
	q->free_id = id;
	q->in_flight--;
	return 0;
}

/**
 * @brief Collect up to @p max used chains into @p out: the same results as
 *        calling vr_packed_drv_get_used() until it fails, with the queue's
 *        state kept in registers and the per-call checks made once.
 * @return how many were collected (0 when none is used: no VR_EAGAIN);
 *         when the first one fails, its code as vr_packed_drv_get_used()
 *         returns it: VR_EBROKEN, VR_EINVAL (@p out NULL with @p max > 0),
 *         or a violation that breaks the queue (VR_EUSEDIDX, VR_EUSEDID,
 *         VR_EUSEDLEN). A violation after the first breaks the queue too,
 *         and the count so far is returned; the next call says VR_EBROKEN.
 */
int vr_packed_drv_get_used_burst(struct vr_packed_drv *q,
				 struct vr_used_buf *out, unsigned max);

/** @brief Ask the device not to send used-buffer notifications. */
void vr_packed_drv_suppress_used_notify(struct vr_packed_drv *q);

/**
 * @brief Ask for a notification at the next used buffer (ENABLE, or DESC
 *        at next_used with EVENT_IDX), full fence, look again.
 * @return 1 when a used buffer is already there, 0 when it is safe to
 *         sleep, VR_EBROKEN
 */
int vr_packed_drv_arm_used_notify(struct vr_packed_drv *q);

/* ======================================================================= */
/*                              Device side                                */
/* ======================================================================= */

/** Device-side packed queue. Fields are private: use the functions. */
struct vr_packed_dev {
	struct vr_packed_desc *desc;
	struct vr_packed_event *driver_event; /* the driver writes it */
	struct vr_packed_event *device_event; /* we write it */
	uint16_t *chain_ndesc; /* per buffer id: ring descriptors, 0 = free */
	uint32_t max_indirect; /* longest indirect table accepted */
	uint16_t *order;       /* in-order: per ring position, the id taken
				  with its head there */
	struct vr_mem mem;
	uint64_t io_one;      /* the count complete_in_order takes inline:
				 1 on an in-order queue with order_gap 0, no
				 cache hooks and not broken (never when
				 built for size), else 2^32, which no
				 unsigned count equals (one compare tests
				 the queue and the count) */
	uint32_t flags;
	uint16_t num;
	uint16_t next_avail;  /* next ring position to take from */
	uint16_t next_used;   /* next ring position to write used to */
	uint16_t in_flight;   /* chains taken, not yet returned */
	uint16_t desc_in_flight; /* their ring descriptors */
	uint16_t order_gap;   /* in-order: the oldest chain in flight has its
				 head at next_used + order_gap (mod num): 0
				 but after an attach that left chains
				 behind; constant until reset */
	uint16_t held_pos;
	uint16_t held_flags;
	uint16_t pub_pos;     /* next_used at the last publish */
	uint16_t notify_pos;  /* pub_pos at the last need_notify */
	uint32_t unpub;       /* used descriptors since the last publish */
	uint32_t since_notify; /* published since need_notify, <= 2 * num */
	bool avail_wrap;      /* wrap counter of the next available desc */
	bool used_wrap;       /* device ring wrap counter */
	bool pub_wrap;
	bool notify_wrap;
	bool held;
	bool event_idx;
	bool indirect;
	bool in_order;
	bool pop_fast;        /* not broken, and a plain window of at most
				 2^63 bytes ending at or below 2^64 (no
				 translate, no invalidate): the single pop
				 takes its short path */
	int broken;
	struct vr_queue_stats stats;
};

size_t vr_packed_dev_state_size(uint32_t num);

/**
 * @brief Initialise a device queue; zeroes only the device event area (the
 *        descriptor ring belongs to the driver until it is used).
 * @return 0; VR_EINVAL (NULL, bad size, overlapping areas); VR_EALIGN;
 *         VR_ERANGE (state too small)
 */
int vr_packed_dev_init(struct vr_packed_dev *q, const struct vr_queue_cfg *cfg,
		       const struct vr_packed_areas *areas, void *state,
		       size_t state_len);

/**
 * @brief Take over the device side of a live ring at @p base without
 *        touching shared memory (vhost-user SET_VRING_BASE; see
 *        vr_split_dev_attach() for what happens to chains the previous
 *        device took and did not return: pass avail = used to take them
 *        again).
 * @return 0; VR_EINVAL (NULL, a position >= num, or as
 *         vr_packed_dev_init()); VR_EALIGN; VR_ERANGE
 */
int vr_packed_dev_attach(struct vr_packed_dev *q, const struct vr_queue_cfg *cfg,
			 const struct vr_packed_areas *areas, void *state,
			 size_t state_len, const struct vr_packed_base *base);

/**
 * @brief Where the device stands (vhost-user GET_VRING_BASE): next
 *        position to take from, and the used position it last published.
 *        Completions not yet published are not included: publish first.
 */
VR_INLINE void vr_packed_dev_get_base(const struct vr_packed_dev *q,
				      struct vr_packed_base *out)
{
	out->avail_pos = q->next_avail;
	out->avail_wrap = q->avail_wrap;
	out->used_pos = q->pub_pos;
	out->used_wrap = q->pub_wrap;
}

/** @brief Reset: forget chains in flight, zero the device event area,
 *         clear broken. */
void vr_packed_dev_reset(struct vr_packed_dev *q);

VR_INLINE int vr_packed_dev_broken(const struct vr_packed_dev *q)
{
	return q->broken;
}

/** @brief The queue's counters (notifications asked and suppressed...). */
VR_INLINE const struct vr_queue_stats *vr_packed_dev_stats(const struct vr_packed_dev *q)
{
	return &q->stats;
}

VR_INLINE unsigned vr_packed_dev_in_flight(const struct vr_packed_dev *q)
{
	return q->in_flight;
}

int vr__packed_dev_break(struct vr_packed_dev *q, int err);

/**
 * @brief Is a chain available at the device's next position?
 * @return 1 or 0; VR_EBROKEN
 */
VR_INLINE int vr_packed_dev_avail(struct vr_packed_dev *q)
{
	uint16_t flags;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	vr_mem_invalidate(&q->mem, &q->desc[q->next_avail].flags,
			  sizeof(uint16_t));
	/* Relaxed: a peek; vr_packed_dev_pop re-reads with acquire (A1). */
	flags = vr__le16(vr__load16(&q->desc[q->next_avail].flags));
	return vr__packed_is_avail(flags, q->avail_wrap);
}

/**
 * @brief Take the next available chain, validated and translated; each
 *        descriptor is read from shared memory once.
 * @return 0; VR_EAGAIN; VR_E2BIG (chain stays, call again with a larger
 *         iov array); VR_EBROKEN; or a violation that breaks the queue:
 *         VR_EBUFID, VR_EINFLIGHT, VR_ELOOP, VR_EFLAGS, VR_ENESTED,
 *         VR_EINDIRECT, VR_EOVERFLOW, VR_EFAULT, VR_EORDER, VR_EZEROLEN
 *         (without VR_QF_ZERO_LEN_OK; see vr_split_dev_pop())
 */
int vr_packed_dev_pop(struct vr_packed_dev *q, struct vr_chain *chain);

/**
 * @brief Take up to @p max available chains into @p chains (each with its
 *        iov and iov_cap set by the caller): the same results as calling
 *        vr_packed_dev_pop() until it fails, with the queue's state kept in
 *        registers and the per-call checks made once. A chain of one
 *        direct descriptor inside the window takes a short path with every
 *        check of the full walk; anything else (NEXT, INDIRECT, a
 *        translate callback, cache hooks, any check failing) goes through
 *        vr_packed_dev_pop() inside this call, which computes the exact
 *        result.
 * @return how many were taken (0 when none is available: no VR_EAGAIN);
 *         when the first cannot be, its code as vr_packed_dev_pop()
 *         returns it: VR_EBROKEN, VR_EINVAL (@p chains NULL with
 *         @p max > 0, or an iov NULL with iov_cap > 0), VR_E2BIG (the chain
 *         stays), or a violation that breaks the queue (see
 *         vr_packed_dev_pop()). A violation after the first breaks the
 *         queue too, and the count so far is returned; the next call says
 *         VR_EBROKEN.
 */
int vr_packed_dev_pop_burst(struct vr_packed_dev *q, struct vr_chain *chains,
			    unsigned max);

/**
 * @brief Take up to @p max available single-segment chains into @p bufs:
 *        exactly what calls of vr_packed_dev_pop() with a chain of one
 *        iov entry (iov_cap 1) would do until one fails, each chain popped
 *        handed out as {base = iov[0].base, len = iov[0].len, id,
 *        writable = (n_in == 1)}, and an empty chain (only zero-length
 *        descriptors, with VR_QF_ZERO_LEN_OK) as {NULL, 0, id, 0}. The
 *        queue's state is kept in registers and the per-call checks made
 *        once; every per-message check is kept (available in this wrap,
 *        NEXT and INDIRECT in the same compare, the buffer inside the
 *        window and not empty, the id in range and not in flight, room
 *        for the descriptor). Anything unusual (NEXT, INDIRECT, a
 *        translate callback, cache hooks, any check failing) goes through
 *        vr_packed_dev_pop() inside this call, which computes the exact
 *        result.
 * @return how many were taken (0 when none is available: no VR_EAGAIN);
 *         when the first cannot be, its code as vr_packed_dev_pop()
 *         returns it: VR_EBROKEN, VR_EINVAL (@p bufs NULL with
 *         @p max > 0), VR_E2BIG (a chain of more than one segment: it stays
 *         in the ring; after the first the call stops before it), or a
 *         violation that breaks the queue: VR_EBUFID, VR_EINFLIGHT,
 *         VR_ELOOP, VR_EFLAGS, VR_ENESTED, VR_EINDIRECT, VR_EOVERFLOW,
 *         VR_EFAULT, VR_EORDER, VR_EZEROLEN. A violation after the first
 *         breaks the queue too, and the count so far is returned; the next
 *         call says VR_EBROKEN.
 */
int vr_packed_dev_pop_bufs(struct vr_packed_dev *q, struct vr_buf *bufs,
			   unsigned max);

/* Write the used descriptor @p d (at ring position @p pos): @p id and
 * @p len, and its flags, held back when it is the first of a batch (the
 * release in vr_packed_dev_publish makes the batch visible). */
VR_INLINE void vr__packed_dev_put_used(struct vr_packed_dev *q,
				       struct vr_packed_desc *d, unsigned pos,
				       uint16_t id, uint32_t len)
{
	uint16_t flags;

	/* Relaxed: published by the release of the batch's first flags (R2). */
	vr__store16(&d->id, vr__le16(id));
	vr__store32(&d->len, vr__le32(len));
	flags = vr__packed_used_bits(q->used_wrap);
	if (len)
		flags |= VR_DESC_F_WRITE;
	if (!q->held) {
		q->held = true;
		q->held_pos = (uint16_t)pos;
		q->held_flags = flags;
	} else {
		/* Relaxed: the driver reads it only after acquiring the
		 * held first flags, released (R2) after this store. */
		vr__store16(&d->flags, vr__le16(flags));
	}
}

/**
 * @brief Return chain @p id used with @p len bytes written. Not visible
 *        until publish.
 * @return 0; VR_ESTATE (id not taken, or not the oldest with IN_ORDER);
 *         VR_EBROKEN
 */
VR_INLINE int vr_packed_dev_complete(struct vr_packed_dev *q, uint16_t id,
				     uint32_t len)
{
	struct vr_packed_desc *d;
	/* In locals: the ring stores below could alias the queue's fields
	 * as far as the compiler knows. */
	const unsigned num = q->num, pos = q->next_used;
	unsigned ndesc, next;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	if (VR_UNLIKELY(id >= num || (ndesc = q->chain_ndesc[id]) == 0))
		return VR_ESTATE;
	if (q->in_order) {
		/* Only the oldest chain: the one popped with its head at
		 * next_used + order_gap. */
		unsigned opos = pos + q->order_gap;

		if (opos >= num)
			opos -= num;
		if (VR_UNLIKELY(q->order[opos] != id))
			return VR_ESTATE;
	}
	d = &q->desc[pos];
	vr__packed_dev_put_used(q, d, pos, id, len);
	if (VR_UNLIKELY(q->mem.clean != NULL))
		vr_mem_clean(&q->mem, d, sizeof(*d));
	next = pos + ndesc;
	if (next >= num) {
		next -= num;
		q->used_wrap = !q->used_wrap;
	}
	q->next_used = (uint16_t)next;
	q->chain_ndesc[id] = 0;
	q->unpub += ndesc;
	q->desc_in_flight = (uint16_t)(q->desc_in_flight - ndesc);
	q->in_flight--;
	return 0;
}

/**
 * @brief Return @p n chains used, as @p n calls of
 *        vr_packed_dev_complete() would (same ring bytes and queue state),
 *        with the queue's state kept in registers and the per-call checks
 *        made once. Not visible until vr_packed_dev_publish() (or
 *        notify_prepare), which the caller calls once after the burst.
 * @return how many were completed (0..@p n), stopping at the first that
 *         cannot be; when that is the first, its code: VR_ESTATE (id not
 *         taken, or not the oldest with IN_ORDER), VR_EINVAL (@p done
 *         NULL with @p n > 0), VR_EBROKEN
 */
int vr_packed_dev_complete_burst(struct vr_packed_dev *q,
				 const struct vr_done *done, unsigned n);

int vr__packed_dev_complete_in_order(struct vr_packed_dev *q, unsigned count,
				     uint32_t last_len);

/**
 * @brief With VIRTIO_F_IN_ORDER: return the @p count oldest chains with one
 *        used descriptor carrying the last id (section 2.8.9). Not visible
 *        until publish.
 * One chain on a queue without cache hooks is returned here, inline (the
 * oldest chain's id comes from the queue's own record, so it needs none of
 * vr_packed_dev_complete()'s checks of a caller's id); anything else,
 * every error included, in the compiled call (everything in a build for
 * size, -Os).
 * @return 0; VR_ENOTSUP (no IN_ORDER); VR_EINVAL (@p count 0 or more than
 *         the chains in flight); VR_EBROKEN
 */
VR_INLINE int vr_packed_dev_complete_in_order(struct vr_packed_dev *q,
					      unsigned count, uint32_t last_len)
{
#if defined(__OPTIMIZE_SIZE__)
	/* Built for size: the compiled call alone (same results, the
	 * inline path below is not carried in flash at every call). */
	return vr__packed_dev_complete_in_order(q, count, last_len);
#else
	struct vr_packed_desc *d;
	/* In locals: the ring stores below could alias the queue's fields
	 * as far as the compiler knows. */
	const unsigned num = q->num, pos = q->next_used;
	uint16_t *rec;
	unsigned id, ndesc, next;

	/* A queue that may take it (IN_ORDER, not broken, no cache hooks,
	 * and the oldest chain in flight is the one popped with its head at
	 * next_used) and a count of 1, in one compare (io_one). */
	if (VR_UNLIKELY(count != q->io_one))
		return vr__packed_dev_complete_in_order(q, count, last_len);
	/* Its record is 0 exactly when nothing is in flight (every record
	 * is 0 then, and the oldest chain in flight has one): VR_EINVAL,
	 * from the compiled call. */
	id = q->order[pos];
	rec = &q->chain_ndesc[id];
	ndesc = *rec;
	if (VR_UNLIKELY(ndesc == 0))
		return vr__packed_dev_complete_in_order(q, count, last_len);
	d = &q->desc[pos];
	vr__packed_dev_put_used(q, d, pos, (uint16_t)id, last_len);
	/* The record back to 0, as ndesc is its value: one subtraction
	 * into memory (x86 stores a 16-bit 0 with two instructions). */
	*rec = (uint16_t)(*rec - ndesc);
	next = pos + ndesc;
	if (next >= num) {
		next -= num;
		q->used_wrap = !q->used_wrap;
	}
	q->next_used = (uint16_t)next;
	q->unpub += ndesc;
	q->desc_in_flight = (uint16_t)(q->desc_in_flight - ndesc);
	q->in_flight--;
	return 0;
#endif
}

/** @brief Make every completion since the last publish visible (nothing
 *         on a broken queue). */
VR_INLINE void vr_packed_dev_publish(struct vr_packed_dev *q)
{
	if (!q->held || VR_UNLIKELY(q->broken))
		return;
	q->held = false;
	/* R2 (release): the used descriptors of the batch, and the bytes
	 * written into the buffers, are visible before the first one's flags
	 * mark it used. Partner: A2 in vr_packed_drv_get_used. */
	vr__store_release16(&q->desc[q->held_pos].flags,
			    vr__le16(q->held_flags));
	if (VR_UNLIKELY(q->mem.clean != NULL))
		vr_mem_clean(&q->mem, &q->desc[q->held_pos].flags,
			     sizeof(uint16_t));
	q->pub_pos = q->next_used;
	q->pub_wrap = q->used_wrap;
	q->since_notify += q->unpub;
	if (q->since_notify > 2u * q->num)
		q->since_notify = 2u * q->num;
	q->unpub = 0;
}

/**
 * @brief After publish: must the driver be notified? Mirror of
 *        vr_packed_drv_need_notify().
 */
VR_INLINE int vr_packed_dev_need_notify(struct vr_packed_dev *q)
{
	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	return vr__packed_need_notify(&q->mem, q->event_idx, q->driver_event,
				      q->num, q->pub_pos, q->pub_wrap,
				      &q->notify_pos, &q->notify_wrap,
				      &q->since_notify, &q->stats);
}

VR_INLINE int vr_packed_dev_notify_prepare(struct vr_packed_dev *q)
{
	vr_packed_dev_publish(q);
	return vr_packed_dev_need_notify(q);
}

VR_INLINE int vr_packed_dev_push(struct vr_packed_dev *q, uint16_t id,
				 uint32_t len)
{
	int err = vr_packed_dev_complete(q, id, len);

	if (err == 0)
		vr_packed_dev_publish(q);
	return err;
}

/** @brief Ask the driver not to kick (device event DISABLE). */
void vr_packed_dev_suppress_avail_notify(struct vr_packed_dev *q);

/**
 * @brief Ask for a kick at the next available chain, full fence, look
 *        again.
 * @return 1 when a chain is already available, 0 when it is safe to sleep,
 *         VR_EBROKEN
 */
int vr_packed_dev_arm_avail_notify(struct vr_packed_dev *q);

VR_EXTERN_C_END

#endif /* VRING_PACKED_H */
