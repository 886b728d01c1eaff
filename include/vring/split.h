/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/split.h
 * @brief Split virtqueue (virtio 1.2 section 2.7), driver and device roles.
 *
 * struct vr_split_drv is the driver side: it adds buffer chains to the
 * available ring and collects them from the used ring. struct vr_split_dev
 * is the device side: it takes chains from the available ring, validates
 * every descriptor against a hostile peer, and returns them used.
 *
 * Memory: the caller provides everything. The ring areas (shared with the
 * peer) come as three pointers or one region (vr_split_areas_from_region);
 * the private per-queue state comes as a buffer of
 * vr_split_{drv,dev}_state_size(num) bytes, suitably aligned for a pointer.
 *
 * Concurrency: a queue object is single-threaded: one thread at a time may
 * call any function on it (a mutex or a multi-producer front end goes
 * around it where needed). The driver object and the device object of the
 * same ring run concurrently, in two threads, processes or VMs; every
 * shared access is a C11 atomic with the ordering noted at the access.
 *
 * Batching: add or complete many, then publish once. publish makes the
 * batch visible with one release store; need_notify then says whether the
 * peer asked to be notified (a full fence orders the two). The burst calls
 * (vr_split_drv_add_burst, vr_split_drv_get_used_burst,
 * vr_split_dev_pop_burst, vr_split_dev_complete_burst) do many messages in
 * one compiled call, with the queue's indices in registers and the checks
 * that cannot change within a batch made once; every per-message check of
 * the single calls stays, and the results are those of the single call in a
 * loop. They do not publish. The narrow calls vr_split_drv_add_bufs and
 * vr_split_dev_pop_bufs do the same for one-segment chains (struct
 * vr_add_buf, struct vr_buf), with less to read and write per message.
 *
 * Errors: see vring/errors.h. A protocol violation by the peer marks the
 * queue broken: every later call returns VR_EBROKEN until *_reset().
 */
#ifndef VRING_SPLIT_H
#define VRING_SPLIT_H

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

/** The three areas of a split queue, as virtio-mmio or PCI give them. */
struct vr_split_areas {
	void *desc;  /**< descriptor table: 16 * num bytes, align 16 */
	void *avail; /**< available ring: 6 + 2 * num bytes, align 2 */
	void *used;  /**< used ring: 6 + 8 * num bytes, align 4 */
};

/**
 * @brief Carve the three areas out of one region with the contiguous layout
 *        of vr_split_layout() (the legacy vring_init() layout).
 * @param align used-ring alignment (power of two >= 4; 4096 for legacy)
 * @return 0; VR_EINVAL for a NULL pointer, bad size or alignment;
 *         VR_ERANGE when @p len is too small; VR_EALIGN when @p base is not
 *         16-byte aligned.
 */
int vr_split_areas_from_region(struct vr_split_areas *areas, void *base,
			       size_t len, uint32_t num, size_t align);

/*
 * The decision both roles make after publishing (sections 2.7.7.2 and
 * 2.7.10.2): has the peer asked to hear about the entries published since
 * the last check? @event is the peer's event index (EVENT_IDX), @flags its
 * flags word and @quiet the bit that means "do not notify me". @since counts
 * entries published since the last check, capped at 65536: a whole 16-bit
 * cycle passes every event index.
 */
VR_INLINE int vr__split_need_notify(const struct vr_mem *mem, bool event_idx,
				    const uint16_t *event, const uint16_t *flags,
				    uint16_t quiet, uint16_t new_idx,
				    uint16_t *old_idx, uint32_t *since,
				    struct vr_queue_stats *stats)
{
	int need;

	/* Full fence (F1 on the driver, F2 on the device): the release store
	 * that published (R1 / R2) is ordered before the loads of the peer's
	 * suppression state below. Partner: the fence in the peer's arm call
	 * (F4 / F3), which stores its request, then re-reads the ring.
	 * Without it both sides could miss each other: a lost wakeup. */
	vr__fence_full();
	if (*since == 0)
		return 0;
	if (event_idx) {
		vr_mem_invalidate(mem, event, sizeof(*event));
		/* Relaxed: ordered after the publishing store by the fence. */
		need = *since >= 0x10000u ||
		       vr_need_event(vr__le16(vr__load16(event)), new_idx, *old_idx);
	} else {
		vr_mem_invalidate(mem, flags, sizeof(*flags));
		/* Relaxed: ordered after the publishing store by the fence. */
		need = !(vr__le16(vr__load16(flags)) & quiet);
	}
	*old_idx = new_idx;
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

/** Driver-side split queue. Fields are private: use the functions. */
struct vr_split_drv {
	struct vr_desc *desc;
	struct vr_avail *avail;
	struct vr_used *used;
	struct vr_drv_slot *slot; /* per descriptor index, private; with
				     IN_ORDER a head's .last holds the avail
				     position it was added at (the chains come
				     back in that order) instead of its tail */
	struct vr_mem mem;
	uint64_t features;
	uint32_t flags;
	uint16_t num;
	uint16_t mask;
	uint16_t num_free;   /* free descriptors */
	uint16_t free_head;  /* free list head, or the in-order cursor: with
				IN_ORDER the descriptors in flight are the
				num - num_free ones just before it */
	uint16_t avail_idx;  /* next avail index to fill (private shadow) */
	uint16_t avail_pub;  /* value last stored to avail->idx */
	uint16_t kick_old;   /* avail index at the last need_notify */
	uint16_t last_used;  /* next used entry to read */
	uint16_t used_seen;  /* last used->idx read */
	uint16_t in_flight;  /* chains added and not yet collected */
	uint16_t avail_flags; /* what we last wrote to avail->flags */
	uint16_t batch_end;  /* in-order: last head of the batch being
				collected, VR__NONE if none */
	uint32_t batch_len;  /* in-order: used length of batch_end (stale
				when batch_end is VR__NONE) */
	uint32_t since_kick; /* chains published since need_notify, capped
				at 65536: past that, 16-bit indexes cannot
				tell "none" from "a full cycle" */
	bool event_idx;
	bool indirect;
	bool in_order;
	int broken; /* 0, or the VR_E* code that broke the queue */
	uint16_t io_head;    /* in-order: the oldest chain's head, always
				(free_head + num_free) & mask (the
				collection moves it, add does not) */
	struct vr_queue_stats stats;
};

/** @brief Bytes of private state a driver queue of @p num entries needs. */
size_t vr_split_drv_state_size(uint32_t num);

/**
 * @brief Initialise a driver queue and the parts of the ring the driver
 *        owns (descriptor table and available ring are zeroed).
 * @param q     the queue object to fill
 * @param cfg   queue size (power of two, 1..32768), negotiated features,
 *              flags; cfg->mem is used only for the cache hooks and, when
 *              they are set, to find the driver's own buffers
 * @param areas the three ring areas, aligned as the spec requires
 * @param state private memory of vr_split_drv_state_size(num) bytes
 * @return 0; VR_EINVAL (NULL, bad size, RING_PACKED in features, areas
 *         that overlap);
 *         VR_EALIGN (misaligned area); VR_ERANGE (@p state_len too small)
 */
int vr_split_drv_init(struct vr_split_drv *q, const struct vr_queue_cfg *cfg,
		      const struct vr_split_areas *areas, void *state,
		      size_t state_len);

/**
 * Where a split queue stands, as vhost-user's GET/SET_VRING_BASE pass it:
 * the free-running 16-bit indices of the next available entry and the next
 * used entry. Device side: @c avail_idx is the next entry it takes
 * (last_avail_idx), @c used_idx the next used entry it fills (what it last
 * published to used->idx). Driver side: the next entry it fills and the
 * next used entry it reads.
 */
struct vr_split_base {
	uint16_t avail_idx;
	uint16_t used_idx;
};

/**
 * @brief Take over the driver side of a live, drained ring at @p base
 *        without touching shared memory (a restarted or handed-over
 *        driver). Every descriptor is free: only a ring with nothing in
 *        flight can change hands, so @p base->avail_idx must equal
 *        @p base->used_idx (what vr_split_drv_get_base() of the previous
 *        driver returned once it had collected everything).
 * @return 0; VR_EINVAL (NULL, avail_idx != used_idx, or as
 *         vr_split_drv_init()); VR_EALIGN; VR_ERANGE
 */
int vr_split_drv_attach(struct vr_split_drv *q, const struct vr_queue_cfg *cfg,
			const struct vr_split_areas *areas, void *state,
			size_t state_len, const struct vr_split_base *base);

/**
 * @brief Where the driver stands: next avail entry to fill, next used entry
 *        to read. Equal when nothing is in flight.
 */
VR_INLINE void vr_split_drv_get_base(const struct vr_split_drv *q,
				     struct vr_split_base *out)
{
	out->avail_idx = q->avail_idx;
	out->used_idx = q->last_used;
}

/**
 * @brief Reset the queue (VIRTIO_F_RING_RESET semantics): forget every chain
 *        in flight, zero all three ring areas (the used ring too: the device
 *        is stopped, perhaps dead, and cannot clear it), clear "broken".
 *        The device side must be reset too before the queue is used again.
 */
void vr_split_drv_reset(struct vr_split_drv *q);

/** @brief 0 when usable, else the VR_E* code that broke the queue. */
VR_INLINE int vr_split_drv_broken(const struct vr_split_drv *q)
{
	return q->broken;
}

/** @brief The queue's counters (notifications asked and suppressed...). */
VR_INLINE const struct vr_queue_stats *vr_split_drv_stats(const struct vr_split_drv *q)
{
	return &q->stats;
}

/** @brief Free descriptors: a chain of n segments fits when n <= this. */
VR_INLINE unsigned vr_split_drv_free(const struct vr_split_drv *q)
{
	return q->num_free;
}

/** @brief Chains added and not yet collected. */
VR_INLINE unsigned vr_split_drv_in_flight(const struct vr_split_drv *q)
{
	return q->in_flight;
}

/* Compiled slow paths (libvring/split_drv.c). */
int vr__split_drv_break(struct vr_split_drv *q, int err);
void vr__split_drv_clean_descs(struct vr_split_drv *q, uint16_t head);
int vr__split_drv_used_batch(struct vr_split_drv *q, struct vr_used_buf *out,
			     uint32_t id, uint32_t len);
int vr__split_drv_get_used_in_order(struct vr_split_drv *q,
				    struct vr_used_buf *out);

/**
 * @brief Add a chain of @p n_out device-readable then @p n_in
 *        device-writable buffers. Not visible to the device until
 *        vr_split_drv_publish().
 * @param seg    n_out + n_in segments, readable ones first; no zero length
 *               unless the queue has VR_QF_ZERO_LEN_OK
 * @param cookie returned with the chain by vr_split_drv_get_used() (may be
 *               NULL)
 * @return the head index (>= 0); VR_ENOSPC when fewer than n_out + n_in
 *         descriptors are free (try again after collecting used buffers);
 *         VR_EINVAL for no segment, a zero length (without
 *         VR_QF_ZERO_LEN_OK), more segments than the queue size or more
 *         than 4 GiB in total; VR_EFAULT when cache
 *         hooks are set and a readable buffer is outside cfg->mem;
 *         VR_EBROKEN after a protocol violation.
 */
VR_INLINE int vr_split_drv_add(struct vr_split_drv *q, const struct vr_seg *seg,
			       unsigned n_out, unsigned n_in, void *cookie)
{
	unsigned n = n_out + n_in, i;
	uint16_t head, idx, prev = 0;
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

	head = idx = q->free_head;
	for (i = 0; i < n; i++) {
		struct vr_desc *d = &q->desc[idx];
		uint16_t flags = (uint16_t)(i >= n_out ? VR_DESC_F_WRITE : 0);
		/* In-order queues allocate descriptors sequentially (section
		 * 2.7.5.2 asks next = x + 1); others follow the private free
		 * list, never the shared table. */
		uint16_t next = q->in_order ? (uint16_t)((idx + 1) & q->mask)
					    : q->slot[idx].next;

		if (i + 1 < n)
			flags |= VR_DESC_F_NEXT;
		/* Plain stores: the device may not read this descriptor
		 * until the release store of avail->idx in publish (R1). */
		d->addr = vr__le64(seg[i].addr);
		d->len = vr__le32(seg[i].len);
		d->flags = vr__le16(flags);
		d->next = vr__le16(next);
		prev = idx;
		idx = next;
	}
	q->free_head = idx;
	q->num_free = (uint16_t)(q->num_free - n);
	q->slot[head].cookie = cookie;
	q->slot[head].in_len = in_len;
	q->slot[head].ndesc = (uint16_t)n;
	q->slot[head].last = prev;
	if (q->in_order) /* the avail position instead (see slot) */
		q->slot[head].last = q->avail_idx;
	/* Relaxed: published by the release store of avail->idx (R1). */
	vr__store16(&vr_avail_ring(q->avail)[q->avail_idx & q->mask],
		    vr__le16(head));
	q->avail_idx++;
	q->in_flight++;
	if (VR_UNLIKELY(q->mem.clean != NULL))
		vr__split_drv_clean_descs(q, head);
	return head;
}

/**
 * @brief Add a chain through an indirect table (VIRTIO_F_INDIRECT_DESC):
 *        the segments are written into @p table (caller memory the device
 *        can reach at bus address @p table_addr) and the ring gets a single
 *        descriptor.
 * @param table      n_out + n_in entries, 16-byte aligned, in shared memory
 * @param table_addr bus address of @p table as the device sees it
 * @return the head index; VR_ENOTSUP when INDIRECT_DESC was not negotiated;
 *         otherwise as vr_split_drv_add()
 */
int vr_split_drv_add_indirect(struct vr_split_drv *q, const struct vr_seg *seg,
			      unsigned n_out, unsigned n_in,
			      struct vr_desc *table, uint64_t table_addr,
			      void *cookie);

/**
 * @brief Add up to @p n chains, as vr_split_drv_add() called on each entry
 *        of @p adds in turn, stopping at the first that cannot be added.
 *        Nothing becomes visible to the device: call
 *        vr_split_drv_publish() or vr_split_drv_kick_prepare() after.
 *
 * Checked once per call: broken, @p adds, the cache hooks. Per chain, all
 * of vr_split_drv_add()'s checks. One-segment chains on coherent memory
 * take a fast path; others go through vr_split_drv_add() inside the call.
 * @param adds the chains (segments, direction counts, cookies)
 * @param n    entries in @p adds
 * @param ids  if not NULL, receives the head index of each chain added
 * @return how many chains were added (0..n; 0 when @p n is 0); when none
 *         could be, the code vr_split_drv_add() gives for the first entry:
 *         VR_ENOSPC (not enough free descriptors: collect used buffers),
 *         VR_EINVAL (no segment, a zero length without VR_QF_ZERO_LEN_OK,
 *         more segments than the queue size, more than 4 GiB in a chain,
 *         a NULL segment array; or @p adds NULL with @p n > 0),
 *         VR_EFAULT (cache hooks set and a readable buffer outside
 *         cfg->mem), VR_EBROKEN. A count below @p n means the next entry
 *         failed: calling again with the rest returns its code.
 */
int vr_split_drv_add_burst(struct vr_split_drv *q, const struct vr_add *adds,
			   unsigned n, uint16_t *ids);

/**
 * @brief Add up to @p n one-segment chains, all readable or all writable:
 *        exactly what vr_split_drv_add(q, &bufs[i].seg, !writable,
 *        writable, bufs[i].cookie) on each entry in turn would do (the
 *        same heads, ring bytes and queue state), stopping at the first
 *        that cannot be added. Nothing becomes visible to the device: call
 *        vr_split_drv_publish() or vr_split_drv_kick_prepare() after.
 *
 * Checked once per call: broken, @p bufs, the cache hooks (with a clean
 * hook set, every entry goes through vr_split_drv_add()). Per entry: the
 * free descriptors (the run is bounded by them once) and the length (a
 * zero length goes through vr_split_drv_add(), which refuses it or, with
 * VR_QF_ZERO_LEN_OK, adds it).
 * @param bufs     the buffers and their cookies
 * @param n        entries in @p bufs
 * @param writable true: every buffer is device-writable (n_in = 1);
 *                 false: device-readable (n_out = 1)
 * @param ids      if not NULL, receives the head index of each chain added
 * @return how many were added (0..n; 0 when @p n is 0); when none could
 *         be, the code vr_split_drv_add() gives for the first entry:
 *         VR_ENOSPC (no free descriptor: collect used buffers), VR_EINVAL
 *         (a zero length without VR_QF_ZERO_LEN_OK; or @p bufs NULL with
 *         @p n > 0), VR_EFAULT (cache hooks set and a readable buffer
 *         outside cfg->mem), VR_EBROKEN. A count below @p n means the next
 *         entry failed: calling again with the rest returns its code.
 */
int vr_split_drv_add_bufs(struct vr_split_drv *q, const struct vr_add_buf *bufs,
			  unsigned n, bool writable, uint16_t *ids);

/**
 * @brief Make every chain added since the last publish visible to the
 *        device, with one release store of avail->idx. Does nothing on a
 *        broken queue: nothing more becomes visible until reset.
 */
VR_INLINE void vr_split_drv_publish(struct vr_split_drv *q)
{
	if (q->avail_pub == q->avail_idx || VR_UNLIKELY(q->broken))
		return;
	if (VR_UNLIKELY(q->mem.clean != NULL))
		vr_mem_clean(&q->mem, q->avail, vr_split_avail_bytes(q->num));
	/* R1 (release): the descriptors and ring entries written by add are
	 * visible before the new index. Partner: A1 in the device's read of
	 * avail->idx (vr_split_dev_avail). */
	vr__store_release16(&q->avail->idx, vr__le16(q->avail_idx));
	if (VR_UNLIKELY(q->mem.clean != NULL))
		vr_mem_clean(&q->mem, &q->avail->idx, sizeof(uint16_t));
	q->since_kick += (uint16_t)(q->avail_idx - q->avail_pub);
	if (q->since_kick > 0x10000u)
		q->since_kick = 0x10000u;
	q->avail_pub = q->avail_idx;
}

/**
 * @brief After publish: must the device be notified (kicked)?
 *
 * Reads the device's suppression state (used->flags, or avail_event with
 * VIRTIO_F_EVENT_IDX) after a full fence, so that a device going to sleep
 * concurrently either sees the new index or is kicked: no lost wakeup.
 * @return 1 to notify, 0 not to (nothing new, or the device said so),
 *         VR_EBROKEN
 */
VR_INLINE int vr_split_drv_need_notify(struct vr_split_drv *q)
{
	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	return vr__split_need_notify(&q->mem, q->event_idx,
				     vr_used_avail_event(q->used, q->num),
				     &q->used->flags, VR_USED_F_NO_NOTIFY,
				     q->avail_pub, &q->kick_old, &q->since_kick,
				     &q->stats);
}

/** @brief publish, then need_notify: the usual end of a batch. */
VR_INLINE int vr_split_drv_kick_prepare(struct vr_split_drv *q)
{
	vr_split_drv_publish(q);
	return vr_split_drv_need_notify(q);
}

/*
 * In-order collection (section 2.7.9): the device may return a batch with
 * one used entry, written at the slot of the batch's first chain and naming
 * the batch's last head; used->idx then moves by the batch size. Chains
 * before the last are complete with all their writable bytes.
 *
 * No list is kept: chains come back in the order they were added, and
 * descriptors are allocated sequentially, so the oldest chain in flight
 * starts at descriptor free_head + num_free, kept as io_head (the num -
 * num_free in use end at free_head); a head's private record holds the
 * avail position it was added at, which says how many chains an entry
 * closes.
 *
 * Inline here: the entry that names the oldest chain itself (a batch of
 * one, what vr_split_drv_get_used() meets when the device completes chain
 * by chain) and the chains of a batch already read. An entry naming any
 * other head (a batch of several, or a violation) goes to the compiled
 * vr__split_drv_used_batch() with the id and length read once here.
 */
/*
 * Private: every used entry seen so far is taken (last_used == used_seen):
 * read used->idx (of @used, the queue's used ring) again. 0 when it announces an entry at @last_used (and
 * used_seen follows it), VR_EAGAIN when none, or VR_EUSEDIDX (the queue
 * broken) when it moved past the chains in flight. @hooks false: the
 * caller knows there is no invalidate hook.
 */
VR_INLINE int vr__split_drv_used_refresh(struct vr_split_drv *q, struct vr_used *used,
					 uint16_t last_used, const bool hooks)
{
	uint16_t seen;

	if (hooks)
		vr_mem_invalidate(&q->mem, &used->idx, sizeof(uint16_t));
	/* A2 (acquire): the used entries and the buffer contents the device
	 * wrote before its release of used->idx are visible after this load.
	 * Partner: R2 in vr_split_dev_publish. */
	seen = vr__le16(vr__load_acquire16(&used->idx));
	if (seen == last_used)
		return VR_EAGAIN;
	if (VR_UNLIKELY((uint16_t)(seen - last_used) > q->in_flight))
		return vr__split_drv_break(q, VR_EUSEDIDX);
	q->used_seen = seen;
	return 0;
}

VR_INLINE int vr__split_drv_get_used_io_(struct vr_split_drv *q,
					struct vr_used_buf *out,
					const bool hooks)
{
	/* Locals: a cache hook called below may, as far as the compiler
	 * knows, change the queue's fields (it does not). */
	const unsigned mask = q->mask;
	const uint16_t last_used = q->last_used;
	const uint16_t head = q->io_head; /* the oldest in flight */
	struct vr_drv_slot *const s = &q->slot[head];
	uint32_t len;

	if (VR_LIKELY(q->batch_end == VR__NONE)) {
		struct vr_used *const used = q->used;
		const struct vr_used_elem *elem;
		uint32_t id;

		/* The used ring is read only here: with an invalidate hook,
		 * the compiled call (which is this code with the hook's
		 * calls), before anything changed. */
		if (!hooks && VR_UNLIKELY(VR_CONFIG_CACHE_HOOKS &&
					  q->mem.invalidate != NULL))
			return vr__split_drv_get_used_in_order(q, out);

		if (last_used == q->used_seen) {
			int err = vr__split_drv_used_refresh(q, used, last_used, hooks);

			if (err)
				return err;
		}
		elem = &vr_used_ring(used)[last_used & mask];
		if (hooks)
			vr_mem_invalidate(&q->mem, elem, sizeof(*elem));
		/* Relaxed, each field read once: ordered after A2. */
		id = vr__le32(vr__load32(&elem->id));
		len = vr__le32(vr__load32(&elem->len));
		if (VR_UNLIKELY(id != head))
			return vr__split_drv_used_batch(q, out, id, len);
		/* The oldest chain in flight (in flight: used->idx moved past
		 * last_used by at most in_flight, so in_flight > 0), added at
		 * avail position last_used: the entry closes it alone, which
		 * used->idx announced. Equality covers the checks that
		 * vr__split_drv_used_batch makes on any other id (range, in
		 * flight, batch within used->idx); the length is checked
		 * here. */
		if (VR_UNLIKELY(len > s->in_len)) {
			if (!(q->flags & VR_QF_CLAMP_USED_LEN))
				return vr__split_drv_break(q, VR_EUSEDLEN);
			len = s->in_len;
			q->stats.used_len_clamped++;
		}
	} else if (head == q->batch_end) {
		/* The batch's last chain: the entry's length. */
		len = q->batch_len;
		q->batch_end = VR__NONE;
	} else {
		/* Before the batch's last: all its writable bytes. */
		len = s->in_len;
	}
	out->cookie = s->cookie;
	out->len = len;
	out->id = head;
	/* Sequential allocation: the oldest chain's descriptors are the next
	 * ones the cursor reaches after the newer ones, so only the count
	 * changes. */
	{
		const unsigned ndesc = s->ndesc;

		q->num_free = (uint16_t)(q->num_free + ndesc);
		q->io_head = (uint16_t)((head + ndesc) & mask);
	}
	s->ndesc = 0;
	q->in_flight--;
	q->last_used = (uint16_t)(last_used + 1);
	return 0;
}

/*
 * The inline in-order collection, without an invalidate hook (no call
 * inside: nothing reloaded after one); with it, the compiled call (where
 * the used ring is read), which is the same code with the hook's calls.
 */
VR_INLINE int vr__split_drv_get_used_io(struct vr_split_drv *q,
				       struct vr_used_buf *out)
{
	return vr__split_drv_get_used_io_(q, out, false);
}

/**
 * @brief Collect one used chain.
 * @param out cookie, id and validated length of the chain
 * @return 0; VR_EAGAIN when none is ready; VR_EBROKEN; or a protocol
 *         violation that breaks the queue: VR_EUSEDIDX (used->idx moved
 *         past the chains in flight), VR_EUSEDID (id out of range or not in
 *         flight), VR_EUSEDLEN (length above the writable bytes, unless
 *         VR_QF_CLAMP_USED_LEN)
 */
VR_INLINE int vr_split_drv_get_used(struct vr_split_drv *q,
				    struct vr_used_buf *out)
{
	struct vr_used_elem *elem;
	struct vr_drv_slot *s;
	uint32_t id, len;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
#if defined(__OPTIMIZE_SIZE__)
	/* Built for size: IN_ORDER through the compiled call (same chains,
	 * same checks), the inline path not carried in flash. */
	if (q->in_order)
		return vr__split_drv_get_used_in_order(q, out);
#else
	if (q->in_order)
		return vr__split_drv_get_used_io(q, out);
#endif
	if (q->last_used == q->used_seen) {
		int err = vr__split_drv_used_refresh(q, q->used, q->last_used, true);

		if (err)
			return err;
	}
	elem = &vr_used_ring(q->used)[q->last_used & q->mask];
	vr_mem_invalidate(&q->mem, elem, sizeof(*elem));
	/* Relaxed, each field read once: ordered after A2. */
	id = vr__le32(vr__load32(&elem->id));
	len = vr__le32(vr__load32(&elem->len));
	if (VR_UNLIKELY(id >= q->num || q->slot[id].ndesc == 0))
		return vr__split_drv_break(q, VR_EUSEDID);
	s = &q->slot[id];
	if (VR_UNLIKELY(len > s->in_len)) {
		if (!(q->flags & VR_QF_CLAMP_USED_LEN))
			return vr__split_drv_break(q, VR_EUSEDLEN);
		len = s->in_len;
		q->stats.used_len_clamped++;
	}
	out->cookie = s->cookie;
	out->len = len;
	out->id = (uint16_t)id;
	/* Give the descriptors back through the private record only. */
	q->slot[s->last].next = q->free_head;
	q->free_head = (uint16_t)id;
	q->num_free = (uint16_t)(q->num_free + s->ndesc);
	s->ndesc = 0;
	q->in_flight--;
	q->last_used++;
	return 0;
}

/**
 * @brief Collect up to @p max used chains, as vr_split_drv_get_used() in a
 *        loop, with every check of that call made on every used entry.
 *
 * Checked once per call: broken, @p out, the cache hooks (with an
 * invalidate hook set, every entry goes through vr_split_drv_get_used()).
 * @return how many were collected (0..max; 0 when none is ready); when the
 *         first one fails, the code vr_split_drv_get_used() gives:
 *         VR_EBROKEN, VR_EINVAL (@p out NULL with @p max > 0), or a
 *         protocol violation that breaks the queue (VR_EUSEDIDX,
 *         VR_EUSEDID, VR_EUSEDLEN). A violation met after some entries
 *         were collected breaks the queue all the same; those entries are
 *         returned and the next call returns VR_EBROKEN.
 */
int vr_split_drv_get_used_burst(struct vr_split_drv *q, struct vr_used_buf *out,
				unsigned max);

/**
 * @brief Ask the device not to send used-buffer notifications (sets
 *        VR_AVAIL_F_NO_INTERRUPT, or moves used_event out of reach with
 *        EVENT_IDX). A hint: the device may still notify.
 */
void vr_split_drv_suppress_used_notify(struct vr_split_drv *q);

/**
 * @brief Ask for a notification at the next used buffer, then look again.
 *
 * Call before sleeping on the device's notification. A full fence sits
 * between the request and the re-check, so either this returns 1 (used
 * buffers are already there: collect them instead of sleeping) or the
 * device will see the request and notify.
 * @return 1 when used buffers are pending, 0 when it is safe to sleep,
 *         VR_EBROKEN
 */
int vr_split_drv_arm_used_notify(struct vr_split_drv *q);

/* ======================================================================= */
/*                              Device side                                */
/* ======================================================================= */

/** Device-side split queue. Fields are private: use the functions. */
struct vr_split_dev {
	struct vr_desc *desc;
	struct vr_avail *avail;
	struct vr_used *used;
	uint16_t *chain_ndesc; /* per head: ring descriptors, 0 = not in
				  flight; with IN_ORDER, in a library built
				  for speed, instead the avail position it
				  was last popped at (see
				  vr__split_dev_io_window), in one built for
				  size as without IN_ORDER; the inline
				  completion clears it, right for both */
	uint32_t max_indirect; /* longest indirect table accepted */
	uint16_t *order;       /* in-order: the head popped at each avail
				  position (index: position & mask); the
				  oldest in flight is at last_avail - in_flight */
	struct vr_mem mem;
	uint64_t features;
	uint32_t flags;
	uint16_t num;
	uint16_t mask;
	uint16_t last_avail;  /* next avail entry to take */
	uint16_t avail_seen;  /* last avail->idx read */
	uint16_t used_idx;    /* next used entry to fill (private shadow) */
	uint16_t used_pub;    /* value last stored to used->idx */
	uint16_t notify_old;  /* used index at the last need_notify */
	uint16_t in_flight;   /* chains taken and not yet returned */
	uint16_t used_flags;  /* what we last wrote to used->flags */
	uint16_t last_head;   /* in-order, built for speed: the head popped
				 at last_avail - 1 (order[] there), read by
				 the inline complete_in_order when the whole
				 window completes (only with io_fast, and
				 in_flight > 0: a pop made it since reset) */
	uint32_t since_notify; /* chains published since need_notify, capped
				  at 65536 (see vr_split_drv.since_kick) */
	bool event_idx;
	bool indirect;
	bool in_order;
	bool io_fast;         /* IN_ORDER, not broken, no clean hook:
				 complete_in_order inline (never set when
				 the library is built for size) */
	int broken;
	struct vr_queue_stats stats;
};

/** @brief Bytes of private state a device queue of @p num entries needs. */
size_t vr_split_dev_state_size(uint32_t num);

/**
 * @brief Initialise a device queue and the used ring (zeroed).
 * @param cfg cfg->mem decides which buffers the driver may name: every
 *            segment and indirect table is translated through it, and a
 *            chain naming anything else breaks the queue with VR_EFAULT
 * @return as vr_split_drv_init()
 */
int vr_split_dev_init(struct vr_split_dev *q, const struct vr_queue_cfg *cfg,
		      const struct vr_split_areas *areas, void *state,
		      size_t state_len);

/**
 * @brief Take over the device side of a live ring at @p base without
 *        touching shared memory, as a vhost-user back end does after
 *        SET_VRING_BASE: a restarted device, or one that a running device
 *        hands its ring to. Nothing is in flight for the new device. Chains
 *        the previous device took and did not return are not known to it:
 *        either the previous device returned them all before
 *        vr_split_dev_get_base(), or the caller passes avail_idx = used_idx
 *        to take them again (right when chains are returned in the order
 *        they were taken, as with IN_ORDER; the application must then
 *        tolerate doing a request twice).
 * @param base where to continue: next available entry to take, next used
 *             entry to fill (normally the value of used->idx)
 * @return 0; VR_EINVAL (NULL @p base, or as vr_split_dev_init());
 *         VR_EALIGN; VR_ERANGE
 */
int vr_split_dev_attach(struct vr_split_dev *q, const struct vr_queue_cfg *cfg,
			const struct vr_split_areas *areas, void *state,
			size_t state_len, const struct vr_split_base *base);

/**
 * @brief Where the device stands (vhost-user GET_VRING_BASE): next
 *        available entry to take, and the used index it last published.
 *        Completions not yet published are not included: publish first.
 */
VR_INLINE void vr_split_dev_get_base(const struct vr_split_dev *q,
				     struct vr_split_base *out)
{
	out->avail_idx = q->last_avail;
	out->used_idx = q->used_pub;
}

/** @brief Reset: forget chains in flight, zero the used ring, clear broken. */
void vr_split_dev_reset(struct vr_split_dev *q);

/** @brief 0 when usable, else the VR_E* code that broke the queue. */
VR_INLINE int vr_split_dev_broken(const struct vr_split_dev *q)
{
	return q->broken;
}

/** @brief The queue's counters (notifications asked and suppressed...). */
VR_INLINE const struct vr_queue_stats *vr_split_dev_stats(const struct vr_split_dev *q)
{
	return &q->stats;
}

/** @brief Chains taken and not yet returned. */
VR_INLINE unsigned vr_split_dev_in_flight(const struct vr_split_dev *q)
{
	return q->in_flight;
}

int vr__split_dev_break(struct vr_split_dev *q, int err);

/*
 * IN_ORDER: is a head in flight? Chains are returned oldest first, so the
 * chains in flight are those popped at the avail positions [oldest,
 * last_avail), oldest = last_avail - in_flight, and order[] holds the head
 * popped at each of them (at most num: one slot each). A head's record
 * (chain_ndesc[h]) is the position it was last popped at; the head is in
 * flight exactly when that position @at is in the window (this test) and
 * order[at & mask] names the head (made only then: a record 65536
 * positions old that falls in the window again names a slot that holds
 * another head, or this head popped there now). Nothing needs clearing
 * when a chain is returned: completing is moving oldest on. The test is
 * exact whatever a head not in flight has for a record (a slot of the
 * window names the head popped at that position, which is in flight), so
 * the single and burst completions may clear it (0) as they do without
 * IN_ORDER, and complete_in_order leaves it.
 */
VR_INLINE bool vr__split_dev_io_window(uint16_t last_avail, uint16_t in_flight,
				       uint16_t at)
{
	/* Counted back from the newest, below in_flight. */
	return (uint16_t)(last_avail - 1u - at) < in_flight;
}

/**
 * @brief How many chains the driver has made available and the device has
 *        not taken yet.
 * @return the count (0..num); VR_EBROKEN; VR_EAVAILIDX (breaks the queue)
 *         when avail->idx moved by more than the queue size
 */
VR_INLINE int vr_split_dev_avail(struct vr_split_dev *q)
{
	uint16_t seen, pending;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	vr_mem_invalidate(&q->mem, &q->avail->idx, sizeof(uint16_t));
	/* A1 (acquire): the ring entries and descriptors the driver wrote
	 * before its release of avail->idx are visible after this load.
	 * Partner: R1 in vr_split_drv_publish. */
	seen = vr__le16(vr__load_acquire16(&q->avail->idx));
	pending = (uint16_t)(seen - q->last_avail);
	if (VR_UNLIKELY(pending > q->num))
		return vr__split_dev_break(q, VR_EAVAILIDX);
	q->avail_seen = seen;
	return pending;
}

/**
 * @brief Take the next available chain, validated and translated.
 *
 * Each descriptor is copied out of shared memory once, checked on the copy,
 * and only the copy is used (no double fetch).
 * @param chain chain->iov and chain->iov_cap set by the caller; the rest is
 *              filled in
 * @return 0; VR_EAGAIN when none is available; VR_E2BIG when the chain has
 *         more segments than chain->iov_cap (the chain stays in the ring:
 *         call again with a larger array); VR_EBROKEN; or a protocol
 *         violation that breaks the queue: VR_EAVAILIDX, VR_EHEAD,
 *         VR_EINFLIGHT, VR_ENEXT, VR_ELOOP, VR_ENESTED, VR_EINDIRECT,
 *         VR_EOVERFLOW, VR_EFAULT, VR_EORDER, VR_EZEROLEN (without
 *         VR_QF_ZERO_LEN_OK; with it a zero-length descriptor adds nothing
 *         and a chain of only those has n_out = n_in = 0)
 */
int vr_split_dev_pop(struct vr_split_dev *q, struct vr_chain *chain);

/**
 * @brief Take up to @p max chains (each with its own iov array), as
 *        vr_split_dev_pop() in a loop, with every check of that call made
 *        on every chain.
 *
 * Checked once per call: broken, @p chains, the address translation (a
 * callback or cache hooks send every chain through vr_split_dev_pop()).
 * Per chain: its iov arguments, the avail index (when the entries seen are
 * used up), head range, head in flight, in-flight count, then the
 * descriptor: one direct descriptor is checked on a fast path (window,
 * wrap, zero length); chained, indirect or zero-length ones go through
 * vr_split_dev_pop() inside the call.
 * @return how many were taken (0..max; 0 when none is available); when the
 *         first one fails, the code vr_split_dev_pop() gives: VR_EINVAL
 *         (@p chains NULL with @p max > 0, or a chain with iov_cap > 0 and
 *         no iov), VR_E2BIG (that chain stays in the ring), VR_EBROKEN, or
 *         a violation that breaks the queue (VR_EAVAILIDX, VR_EHEAD,
 *         VR_EINFLIGHT, VR_ENEXT, VR_ELOOP, VR_ENESTED, VR_EINDIRECT,
 *         VR_EOVERFLOW, VR_EFAULT, VR_EORDER, VR_EZEROLEN). A violation
 *         met after some chains were taken breaks the queue all the same;
 *         those chains are returned (complete them as usual) and the next
 *         call returns VR_EBROKEN. Nothing is published: call
 *         vr_split_dev_publish() after completing.
 */
int vr_split_dev_pop_burst(struct vr_split_dev *q, struct vr_chain *chains,
			   unsigned max);

/**
 * @brief Take up to @p max one-segment chains: exactly what
 *        vr_split_dev_pop() with a one-entry iov array would do on each
 *        in turn, until one fails. Each chain taken becomes {base =
 *        iov[0].base, len = iov[0].len, id, writable = (n_in == 1)}; a
 *        chain of only zero-length descriptors (VR_QF_ZERO_LEN_OK) becomes
 *        {NULL, 0, id, 0}.
 *
 * Checked once per call: broken, @p bufs, the address translation (a
 * callback, cache hooks or a window that wraps past 2^64 send every chain
 * through vr_split_dev_pop()). Per chain, every check of the single pop:
 * the avail index (when the entries seen are used up), head range, head
 * in flight, room in flight, then the descriptor: NEXT or INDIRECT (one
 * test of its flags) or a zero length go through vr_split_dev_pop()
 * inside the call; a single direct descriptor is checked against the
 * window here (EOVERFLOW, EFAULT as the single pop says them).
 * @return how many were taken (0..max; 0 when none is available: no
 *         VR_EAGAIN); when the first one fails, its code: VR_E2BIG (it
 *         needs more than one segment: it stays in the ring, take it with
 *         vr_split_dev_pop()), VR_EBROKEN, VR_EINVAL (@p bufs NULL with
 *         @p max > 0), or a violation that breaks the queue (VR_EAVAILIDX,
 *         VR_EHEAD, VR_EINFLIGHT, VR_ENEXT, VR_ELOOP, VR_ENESTED,
 *         VR_EINDIRECT, VR_EOVERFLOW, VR_EFAULT, VR_EORDER, VR_EZEROLEN).
 *         A chain that needs more than one segment after the first stops
 *         the call before it; a violation after the first breaks the
 *         queue all the same: the chains taken are returned (complete them
 *         as usual) and the next call returns VR_EBROKEN. Nothing is
 *         published.
 */
int vr_split_dev_pop_bufs(struct vr_split_dev *q, struct vr_buf *bufs,
			  unsigned max);

/**
 * @brief Return chain @p id used, with @p len bytes written into its
 *        writable part. Not visible to the driver until publish.
 * @return 0; VR_ESTATE when @p id is not a chain this side took (or, with
 *         IN_ORDER, not the oldest one); VR_EBROKEN
 */
VR_INLINE int vr_split_dev_complete(struct vr_split_dev *q, uint16_t id,
				    uint32_t len)
{
	struct vr_used_elem *elem;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	if (!q->in_order) {
		if (VR_UNLIKELY(id >= q->num || q->chain_ndesc[id] == 0))
			return VR_ESTATE;
	} else if (VR_UNLIKELY(q->in_flight == 0 ||
			       q->order[(uint16_t)(q->last_avail - q->in_flight) &
					q->mask] != id)) {
		/* Only the oldest chain in flight, popped at avail position
		 * last_avail - in_flight (in flight implies id < num). */
		return VR_ESTATE;
	}
	elem = &vr_used_ring(q->used)[q->used_idx & q->mask];
	/* Relaxed: published by the release store of used->idx (R2). */
	vr__store32(&elem->id, vr__le32(id));
	vr__store32(&elem->len, vr__le32(len));
	if (VR_UNLIKELY(q->mem.clean != NULL))
		vr_mem_clean(&q->mem, elem, sizeof(*elem));
	/* IN_ORDER: oldest moves on; the record needs no clearing there
	 * (vr__split_dev_io_window is exact whatever a record holds), but
	 * one store costs less than testing the mode. */
	q->chain_ndesc[id] = 0;
	q->in_flight--;
	q->used_idx++;
	return 0;
}

/**
 * @brief Return up to @p n chains used, as vr_split_dev_complete() on each
 *        entry of @p done in turn, stopping at the first that cannot be.
 *        Nothing becomes visible to the driver: call
 *        vr_split_dev_publish() or vr_split_dev_notify_prepare() after.
 *
 * Checked once per call: broken, @p done, the clean hook (when set, every
 * entry goes through vr_split_dev_complete()). Per entry: the id is a chain
 * this side took (with IN_ORDER: the oldest one).
 * @return how many were completed (0..n); when none could be, the code of
 *         the first: VR_ESTATE (not a chain taken, or not the oldest with
 *         IN_ORDER), VR_EBROKEN, VR_EINVAL (@p done NULL with @p n > 0)
 */
int vr_split_dev_complete_burst(struct vr_split_dev *q,
				const struct vr_done *done, unsigned n);

int vr__split_dev_complete_in_order(struct vr_split_dev *q, unsigned count,
				    uint32_t last_len);

/**
 * @brief With VIRTIO_F_IN_ORDER: return the @p count oldest chains with one
 *        used entry (section 2.7.9); @p last_len is the length written into
 *        the last of them, the others count as fully written. Not visible
 *        to the driver until publish.
 *
 * Constant work whatever @p count: the batch's last head comes from the
 * queue's own record of what it popped (no id of the caller's to check)
 * and nothing is recorded per chain. Inline when it returns every chain in
 * flight (the usual case) on an IN_ORDER queue that is usable and without
 * a clean hook; otherwise the compiled call (same results).
 * @return 0; VR_ENOTSUP without IN_ORDER; VR_EINVAL when @p count is 0 or
 *         more than the chains in flight; VR_EBROKEN
 */
VR_INLINE int vr_split_dev_complete_in_order(struct vr_split_dev *q,
					     unsigned count, uint32_t last_len)
{
	struct vr_used_elem *elem;
	unsigned in_flight;

#if defined(__OPTIMIZE_SIZE__)
	/* Built for size: the compiled call alone (same results). */
	if (1)
		return vr__split_dev_complete_in_order(q, count, last_len);
#endif
	/* The whole window (count == in_flight, not 0): its last chain is
	 * the newest, whose head the pop kept (last_head, kept wherever
	 * io_fast can be set). Anything else, a part of the window or a
	 * count that is refused, goes to the compiled call. No record to
	 * clear per chain (vr__split_dev_io_window). */
	if (VR_UNLIKELY(!q->io_fast))
		return vr__split_dev_complete_in_order(q, count, last_len);
	in_flight = q->in_flight;
	if (VR_UNLIKELY(count != in_flight || in_flight == 0))
		return vr__split_dev_complete_in_order(q, count, last_len);
	/* One entry at the batch's first slot names its last head; used->idx
	 * then moves by the batch size (section 2.7.9). Relaxed: published
	 * by the release store of used->idx (R2). */
	elem = &vr_used_ring(q->used)[q->used_idx & q->mask];
	vr__store32(&elem->id, vr__le32(q->last_head));
	vr__store32(&elem->len, vr__le32(last_len));
	q->in_flight = 0;
	q->used_idx = (uint16_t)(q->used_idx + in_flight); /* + count */
	return 0;
}

/** @brief Make every completion since the last publish visible (nothing
 *         on a broken queue). */
VR_INLINE void vr_split_dev_publish(struct vr_split_dev *q)
{
	if (q->used_pub == q->used_idx || VR_UNLIKELY(q->broken))
		return;
	/* R2 (release): the used entries, and whatever the device wrote
	 * into the buffers, are visible before the new index. Partner: A2
	 * in vr_split_drv_get_used. */
	vr__store_release16(&q->used->idx, vr__le16(q->used_idx));
	if (VR_UNLIKELY(q->mem.clean != NULL))
		vr_mem_clean(&q->mem, &q->used->idx, sizeof(uint16_t));
	q->since_notify += (uint16_t)(q->used_idx - q->used_pub);
	if (q->since_notify > 0x10000u)
		q->since_notify = 0x10000u;
	q->used_pub = q->used_idx;
}

/**
 * @brief After publish: must the driver be notified (interrupted)?
 *        The mirror of vr_split_drv_need_notify().
 * @return 1 to notify, 0 not to, VR_EBROKEN
 */
VR_INLINE int vr_split_dev_need_notify(struct vr_split_dev *q)
{
	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	return vr__split_need_notify(&q->mem, q->event_idx,
				     vr_avail_used_event(q->avail, q->num),
				     &q->avail->flags, VR_AVAIL_F_NO_INTERRUPT,
				     q->used_pub, &q->notify_old,
				     &q->since_notify, &q->stats);
}

/** @brief publish, then need_notify. */
VR_INLINE int vr_split_dev_notify_prepare(struct vr_split_dev *q)
{
	vr_split_dev_publish(q);
	return vr_split_dev_need_notify(q);
}

/** @brief complete then publish one chain. */
VR_INLINE int vr_split_dev_push(struct vr_split_dev *q, uint16_t id,
				uint32_t len)
{
	int err = vr_split_dev_complete(q, id, len);

	if (err == 0)
		vr_split_dev_publish(q);
	return err;
}

/**
 * @brief Ask the driver not to kick (sets VR_USED_F_NO_NOTIFY, or moves
 *        avail_event out of reach with EVENT_IDX). A hint only.
 */
void vr_split_dev_suppress_avail_notify(struct vr_split_dev *q);

/**
 * @brief Ask for a kick at the next available chain, then look again.
 * @return the number of chains already available (> 0: take them instead
 *         of sleeping), 0 when it is safe to sleep, or a negative code as
 *         vr_split_dev_avail()
 */
int vr_split_dev_arm_avail_notify(struct vr_split_dev *q);

VR_EXTERN_C_END

#endif /* VRING_SPLIT_H */
