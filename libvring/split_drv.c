/* SPDX-License-Identifier: BSD-3-Clause */
/* Split ring, driver side: set-up, reset, indirect add, in-order
 * collection, notification control. The per-message paths are inline in
 * <vring/split.h>. */
#include <vring/vring.h>

#include "internal.h"

size_t vr_split_drv_state_size(uint32_t num)
{
	if (!vr_split_size_valid(num))
		return 0;
	return (size_t)num * sizeof(struct vr_drv_slot);
}

/* Bind the queue object to its areas and state; touches neither shared
 * memory nor the state buffer. The caller has checked everything. */
static void drv_bind(struct vr_split_drv *q, const struct vr_queue_cfg *cfg,
		     const struct vr_split_areas *areas, void *state)
{
	vr__zero(q, sizeof(*q));
	q->desc = (struct vr_desc *)areas->desc;
	q->avail = (struct vr_avail *)areas->avail;
	q->used = (struct vr_used *)areas->used;
	q->slot = (struct vr_drv_slot *)state;
	q->mem = cfg->mem;
	q->features = cfg->features;
	q->flags = cfg->flags;
	q->num = (uint16_t)cfg->num;
	q->mask = (uint16_t)(cfg->num - 1);
	q->event_idx = (cfg->features & VR_FEATURE(VR_F_EVENT_IDX)) != 0;
	q->indirect = (cfg->features & VR_FEATURE(VR_F_INDIRECT_DESC)) != 0;
	q->in_order = (cfg->features & VR_FEATURE(VR_F_IN_ORDER)) != 0;
}

/* Check the arguments, then bind. */
static int drv_setup(struct vr_split_drv *q, const struct vr_queue_cfg *cfg,
		     const struct vr_split_areas *areas, void *state,
		     size_t state_len)
{
	if (!q || !cfg || !areas || !state || !areas->desc || !areas->avail ||
	    !areas->used)
		return VR_EINVAL;
	if (!vr_split_size_valid(cfg->num) ||
	    (cfg->features & VR_FEATURE(VR_F_RING_PACKED)))
		return VR_EINVAL;
	if (vr__queue_cfg_unsupported(cfg))
		return VR_ENOTSUP; /* not in this build (vring/config.h) */
	if (!vr__aligned(areas->desc, VR_DESC_ALIGN) ||
	    !vr__aligned(areas->avail, VR_AVAIL_ALIGN) ||
	    !vr__aligned(areas->used, VR_USED_ALIGN) ||
	    !vr__aligned(state, sizeof(void *)))
		return VR_EALIGN;
	if (state_len < vr_split_drv_state_size(cfg->num))
		return VR_ERANGE;
	if (vr__split_areas_overlap(areas, cfg->num))
		return VR_EINVAL;
	drv_bind(q, cfg, areas, state);
	return 0;
}

/* Forget every chain (all descriptors free) and continue at index @idx
 * for both rings: private state only. */
static void drv_forget(struct vr_split_drv *q, uint16_t idx)
{
	unsigned i;

	for (i = 0; i < q->num; i++) {
		q->slot[i].cookie = 0;
		q->slot[i].in_len = 0;
		q->slot[i].ndesc = 0;
		q->slot[i].next = (uint16_t)(i + 1 < q->num ? i + 1 : 0);
		q->slot[i].last = 0;
		q->slot[i].order_next = VR__NONE;
	}
	q->num_free = q->num;
	q->free_head = 0;
	q->io_head = 0; /* (free_head + num_free) & mask */
	q->avail_idx = q->avail_pub = q->kick_old = idx;
	q->last_used = q->used_seen = idx;
	q->in_flight = 0;
	q->avail_flags = 0;
	q->batch_end = VR__NONE;
	q->batch_len = 0;
	q->since_kick = 0;
	q->broken = 0;
}

/* @clear_device: also zero the areas the device writes (an explicit reset:
 * the device is stopped, perhaps dead, and cannot); not at init, where a
 * device may already have set them up. */
static void reset_queue(struct vr_split_drv *q, bool clear_device)
{
	/* The device is stopped (reset) while this runs: plain stores. The
	 * used ring is the device's, but a device that died cannot clear it,
	 * and a stale used->idx would read as a violation before a new device
	 * initialises: on reset the owner of the queue's memory clears it. */
	vr__zero(q->desc, vr_split_desc_bytes(q->num));
	vr__zero(q->avail, vr_split_avail_bytes(q->num));
	if (clear_device)
		vr__zero(q->used, vr_split_used_bytes(q->num));
	vr_mem_clean(&q->mem, q->desc, vr_split_desc_bytes(q->num));
	vr_mem_clean(&q->mem, q->avail, vr_split_avail_bytes(q->num));
	if (clear_device)
		vr_mem_clean(&q->mem, q->used, vr_split_used_bytes(q->num));
	drv_forget(q, 0);
}

int vr_split_drv_init(struct vr_split_drv *q, const struct vr_queue_cfg *cfg,
		      const struct vr_split_areas *areas, void *state,
		      size_t state_len)
{
	int err = drv_setup(q, cfg, areas, state, state_len);

	if (err)
		return err;
	reset_queue(q, false);
	return 0;
}

int vr__split_drv_init_parsed(struct vr_split_drv *q,
                              const struct vr_queue_cfg *cfg,
                              const struct vr_split_areas *areas, void *state)
{
	/* What the region parser cannot know: the features and the memory
	 * hooks this build leaves out. */
	if (vr__queue_cfg_unsupported(cfg))
		return VR_ENOTSUP;
	drv_bind(q, cfg, areas, state);
	reset_queue(q, false);
	return 0;
}

int vr_split_drv_attach(struct vr_split_drv *q, const struct vr_queue_cfg *cfg,
			const struct vr_split_areas *areas, void *state,
			size_t state_len, const struct vr_split_base *base)
{
	int err;

	/* With chains in flight the driver would meet used ids it has no
	 * record of: only a drained ring can change hands. */
	if (!base || base->avail_idx != base->used_idx)
		return VR_EINVAL;
	err = drv_setup(q, cfg, areas, state, state_len);
	if (err)
		return err;
	/* Nothing shared is written or read: the device may be polling. */
	drv_forget(q, base->avail_idx);
	return 0;
}

void vr_split_drv_reset(struct vr_split_drv *q)
{
	reset_queue(q, true);
}

int vr__split_drv_break(struct vr_split_drv *q, int err)
{
	q->broken = err;
	return err;
}

void vr__split_drv_clean_descs(struct vr_split_drv *q, uint16_t head)
{
	uint16_t idx = head;
	unsigned i;

	for (i = 0; i < q->slot[head].ndesc; i++) {
		vr_mem_clean(&q->mem, &q->desc[idx], sizeof(struct vr_desc));
		idx = q->in_order ? (uint16_t)((idx + 1) & q->mask)
				  : q->slot[idx].next;
	}
	vr_mem_clean(&q->mem,
		     &vr_avail_ring(q->avail)[(uint16_t)(q->avail_idx - 1) & q->mask],
		     sizeof(uint16_t));
}

int vr_split_drv_add_indirect(struct vr_split_drv *q, const struct vr_seg *seg,
			      unsigned n_out, unsigned n_in,
			      struct vr_desc *table, uint64_t table_addr,
			      void *cookie)
{
	unsigned n = n_out + n_in, i;
	uint32_t in_len;
	int err;
	struct vr_seg ring_seg;
	int head;

	if (q->broken)
		return VR_EBROKEN;
	if (!VR_CONFIG_INDIRECT || !q->indirect)
		return VR_ENOTSUP;
	err = vr__segs_check(seg, n_out, n_in, q->num,
			     (q->flags & VR_QF_ZERO_LEN_OK) != 0, &in_len);
	if (err)
		return err;
	if (!table || !vr__aligned(table, VR_DESC_ALIGN))
		return VR_EINVAL;
	if (q->num_free == 0)
		return VR_ENOSPC;
	if (q->mem.clean) {
		err = vr__mem_clean_segs(&q->mem, seg, n_out);
		if (err)
			return err;
	}
	/* The table is ours until published: plain stores, published by the
	 * release of avail->idx (R1) like the ring descriptors. */
	for (i = 0; i < n; i++) {
		uint16_t flags = (uint16_t)(i >= n_out ? VR_DESC_F_WRITE : 0);

		if (i + 1 < n)
			flags |= VR_DESC_F_NEXT;
		table[i].addr = vr__le64(seg[i].addr);
		table[i].len = vr__le32(seg[i].len);
		table[i].flags = vr__le16(flags);
		table[i].next = vr__le16((uint16_t)(i + 1 < n ? i + 1 : 0));
	}
	/* One ring descriptor naming the table, added as a readable buffer
	 * (so that with cache hooks the table is translated and cleaned like
	 * any buffer), then marked INDIRECT. */
	ring_seg.addr = table_addr;
	ring_seg.len = (uint32_t)(n * sizeof(struct vr_desc));
	head = vr_split_drv_add(q, &ring_seg, 1, 0, cookie);
	if (head < 0)
		return head;
	q->desc[head].flags = vr__le16(VR_DESC_F_INDIRECT);
	q->slot[head].in_len = (uint32_t)in_len;
	if (q->mem.clean)
		vr__split_drv_clean_descs(q, (uint16_t)head);
	return head;
}

/*
 * In-order collection: the used entry read at last_used names head @id
 * with length @len, closing the chains from the oldest to it. The head
 * must be in flight (so its position is in [last_used, avail_idx)), the
 * batch within what used->idx announced, the length within what was
 * posted (or clamped with VR_QF_CLAMP_USED_LEN); then the batch is open:
 * 0, or the code that broke the queue. Always inline: out of line, the
 * call costs 32 bytes of flash in a build for size (size.sh).
 */
VR__HOT_INLINE int drv_open_batch(struct vr_split_drv *q, uint32_t id,
				  uint32_t len)
{
	if (id >= q->num || q->slot[id].ndesc == 0)
		return vr__split_drv_break(q, VR_EUSEDID);
	if ((uint16_t)(q->slot[id].last - q->last_used) >=
	    (uint16_t)(q->used_seen - q->last_used))
		return vr__split_drv_break(q, VR_EUSEDIDX);
	if (len > q->slot[id].in_len) {
		if (!(q->flags & VR_QF_CLAMP_USED_LEN))
			return vr__split_drv_break(q, VR_EUSEDLEN);
		len = q->slot[id].in_len;
		q->stats.used_len_clamped++;
	}
	q->batch_end = (uint16_t)id;
	q->batch_len = len;
	return 0;
}

/*
 * In-order collection, compiled: what vr_split_drv_get_used() calls on an
 * in-order queue when built for size (the header's inline path is not
 * carried in flash there). Built for speed, the inline path itself; built
 * for size, one function for every entry: the named head is checked by
 * drv_open_batch, as in vr__split_drv_used_batch, then the oldest chain
 * is handed out.
 */
int vr__split_drv_get_used_in_order(struct vr_split_drv *q,
				    struct vr_used_buf *out)
{
#if !VR__OPT_SIZE
	/* The inline path with the invalidate hook's calls (the inline
	 * entry sends a queue with that hook here). */
	return vr__split_drv_get_used_io_(q, out, true);
#else
	struct vr_drv_slot *s;
	uint16_t head;
	uint32_t len;
	int err;

	if (q->batch_end == VR__NONE) {
		struct vr_used_elem *elem;
		uint32_t id;

		if (q->last_used == q->used_seen) {
			err = vr__split_drv_used_refresh(q, q->used, q->last_used, true);
			if (err)
				return err;
		}
		elem = &vr_used_ring(q->used)[q->last_used & q->mask];
		vr_mem_invalidate(&q->mem, elem, sizeof(*elem));
		/* Relaxed, read once: ordered after A2. */
		id = vr__le32(vr__load32(&elem->id));
		len = vr__le32(vr__load32(&elem->len));
		err = drv_open_batch(q, id, len);
		if (err)
			return err;
	}
	head = q->io_head; /* (free_head + num_free) & mask */
	s = &q->slot[head];
	if (head == q->batch_end) {
		len = q->batch_len;
		q->batch_end = VR__NONE;
	} else {
		len = s->in_len;
	}
	out->cookie = s->cookie;
	out->len = len;
	out->id = head;
	/* Sequential allocation: the oldest chain's descriptors are the next
	 * ones the cursor reaches after the newer ones, so only the count
	 * changes. */
	q->num_free = (uint16_t)(q->num_free + s->ndesc);
	q->io_head = (uint16_t)((head + s->ndesc) & q->mask);
	s->ndesc = 0;
	q->in_flight--;
	q->last_used++;
	return 0;
#endif
}

/*
 * In-order collection, an entry that does not name the oldest chain in
 * flight (see vr__split_drv_get_used_io): @id and @len as read from the
 * used entry at last_used (once). It closes the chains from the oldest to
 * the head it names, which must be in flight (so its position is in
 * [last_used, avail_idx)) with the batch within what used->idx announced;
 * the oldest is handed out now, the rest by the next calls.
 */
int vr__split_drv_used_batch(struct vr_split_drv *q, struct vr_used_buf *out,
			     uint32_t id, uint32_t len)
{
	int err = drv_open_batch(q, id, len);

	if (err)
		return err;
	/* Not the oldest (that is the inline path): the oldest gets all its
	 * writable bytes, the batch's last the entry's length, later. */
	return vr__split_drv_get_used_io(q, out);
}

void vr_split_drv_suppress_used_notify(struct vr_split_drv *q)
{
	if (q->broken)
		return;
	if (q->event_idx) {
		/* Relaxed: a hint; the device may still notify once. An event
		 * just behind what we have collected is never crossed again
		 * before 65536 more buffers. */
		vr__store16(vr_avail_used_event(q->avail, q->num),
			    vr__le16((uint16_t)(q->last_used - 1)));
		vr_mem_clean(&q->mem, vr_avail_used_event(q->avail, q->num),
			     sizeof(uint16_t));
	} else if (!(q->avail_flags & VR_AVAIL_F_NO_INTERRUPT)) {
		q->avail_flags |= VR_AVAIL_F_NO_INTERRUPT;
		/* Relaxed: a hint. */
		vr__store16(&q->avail->flags, vr__le16(q->avail_flags));
		vr_mem_clean(&q->mem, &q->avail->flags, sizeof(uint16_t));
	}
}

int vr_split_drv_arm_used_notify(struct vr_split_drv *q)
{
	uint16_t seen;

	if (q->broken)
		return VR_EBROKEN;
	if (q->event_idx) {
		/* Notify me when the device publishes entry last_used. */
		vr__store16(vr_avail_used_event(q->avail, q->num),
			    vr__le16(q->last_used));
		vr_mem_clean(&q->mem, vr_avail_used_event(q->avail, q->num),
			     sizeof(uint16_t));
	} else {
		q->avail_flags &= (uint16_t)~VR_AVAIL_F_NO_INTERRUPT;
		vr__store16(&q->avail->flags, vr__le16(q->avail_flags));
		vr_mem_clean(&q->mem, &q->avail->flags, sizeof(uint16_t));
	}
	/* F3 (full fence): the request above is ordered before the re-read
	 * of used->idx below. Partner: F2 in vr_split_dev_need_notify, which
	 * publishes used->idx and then reads our request. One of the two
	 * sides is bound to see the other's store: no lost wakeup. */
	vr__fence_full();
	if (q->batch_end != VR__NONE || q->last_used != q->used_seen)
		return 1;
	vr_mem_invalidate(&q->mem, &q->used->idx, sizeof(uint16_t));
	/* Acquire: pairs with R2 like A2, if we go on to collect. */
	seen = vr__le16(vr__load_acquire16(&q->used->idx));
	return seen != q->last_used;
}
