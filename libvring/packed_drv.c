/* SPDX-License-Identifier: BSD-3-Clause */
/* Packed ring, driver side: set-up, reset, indirect add, in-order
 * collection, notification control. */
#include <vring/vring.h>

#include "internal.h"

size_t vr_packed_drv_state_size(uint32_t num)
{
	if (!vr_packed_size_valid(num))
		return 0;
	return (size_t)num * sizeof(struct vr_drv_slot);
}

/* Check the arguments and bind the queue object to its areas and state;
 * touches neither shared memory nor the state buffer. */
static int drv_setup(struct vr_packed_drv *q, const struct vr_queue_cfg *cfg,
		     const struct vr_packed_areas *areas, void *state,
		     size_t state_len)
{
	if (!q || !cfg || !areas || !state || !areas->desc ||
	    !areas->driver_event || !areas->device_event)
		return VR_EINVAL;
	if (!vr_packed_size_valid(cfg->num))
		return VR_EINVAL;
	if (vr__queue_cfg_unsupported(cfg))
		return VR_ENOTSUP; /* not in this build (vring/config.h) */
	if (!vr__aligned(areas->desc, VR_DESC_ALIGN) ||
	    !vr__aligned(areas->driver_event, VR_EVENT_ALIGN) ||
	    !vr__aligned(areas->device_event, VR_EVENT_ALIGN) ||
	    !vr__aligned(state, sizeof(void *)))
		return VR_EALIGN;
	if (state_len < vr_packed_drv_state_size(cfg->num))
		return VR_ERANGE;
	if (vr__packed_areas_overlap(areas, cfg->num))
		return VR_EINVAL;
	vr__zero(q, sizeof(*q));
	q->desc = (struct vr_packed_desc *)areas->desc;
	q->driver_event = (struct vr_packed_event *)areas->driver_event;
	q->device_event = (struct vr_packed_event *)areas->device_event;
	q->slot = (struct vr_drv_slot *)state;
	q->mem = cfg->mem;
	q->features = cfg->features;
	q->flags = cfg->flags;
	q->num = (uint16_t)cfg->num;
	q->event_idx = (cfg->features & VR_FEATURE(VR_F_EVENT_IDX)) != 0;
	q->indirect = (cfg->features & VR_FEATURE(VR_F_INDIRECT_DESC)) != 0;
	q->in_order = (cfg->features & VR_FEATURE(VR_F_IN_ORDER)) != 0;
	return 0;
}

/* Forget every chain (all ids free) and continue at ring position @pos in
 * wrap @wrap for both making available and collecting: private state
 * only. */
static void drv_forget(struct vr_packed_drv *q, uint16_t pos, bool wrap)
{
	unsigned i;

	for (i = 0; i < q->num; i++) {
		q->slot[i].cookie = 0;
		q->slot[i].in_len = 0;
		q->slot[i].ndesc = 0;
		q->slot[i].next = (uint16_t)(i + 1 < q->num ? i + 1 : VR__NONE);
		q->slot[i].last = 0;
		q->slot[i].order_next = VR__NONE;
	}
	q->free_id = 0;
	q->num_free = q->num;
	q->next_avail = q->next_used = pos;
	q->avail_wrap = q->used_wrap = wrap;
	q->pub_pos = q->kick_pos = pos;
	q->unpub = q->since_kick = 0;
	q->pub_wrap = q->kick_wrap = wrap;
	q->held = false;
	q->in_flight = 0;
	q->order_head = q->order_tail = VR__NONE;
	q->batch_end = VR__NONE;
	q->batch_len = 0;
	q->broken = 0;
}

/* @clear_device: also zero the areas the device writes (an explicit reset:
 * the device is stopped, perhaps dead, and cannot); not at init, where a
 * device may already have set them up. */
static void reset_queue(struct vr_packed_drv *q, bool clear_device)
{
	/* The device is stopped (reset) while this runs: plain stores. The
	 * ring starts all zero: no descriptor looks available in wrap 1. */
	vr__zero(q->desc, vr_packed_desc_bytes(q->num));
	vr__zero(q->driver_event, sizeof(*q->driver_event));
	if (clear_device) /* see split_drv.c */
		vr__zero(q->device_event, sizeof(*q->device_event));
	vr_mem_clean(&q->mem, q->desc, vr_packed_desc_bytes(q->num));
	vr_mem_clean(&q->mem, q->driver_event, sizeof(*q->driver_event));
	if (clear_device)
		vr_mem_clean(&q->mem, q->device_event, sizeof(*q->device_event));
	drv_forget(q, 0, true);
}

int vr_packed_drv_init(struct vr_packed_drv *q, const struct vr_queue_cfg *cfg,
		       const struct vr_packed_areas *areas, void *state,
		       size_t state_len)
{
	int err = drv_setup(q, cfg, areas, state, state_len);

	if (err)
		return err;
	reset_queue(q, false);
	return 0;
}

int vr_packed_drv_attach(struct vr_packed_drv *q, const struct vr_queue_cfg *cfg,
			 const struct vr_packed_areas *areas, void *state,
			 size_t state_len, const struct vr_packed_base *base)
{
	int err;

	/* Only a drained ring can change hands (see split_drv.c): the next
	 * position to make available is the next one to collect. */
	if (!base || !cfg || base->avail_pos >= cfg->num ||
	    base->avail_pos != base->used_pos ||
	    base->avail_wrap != base->used_wrap)
		return VR_EINVAL;
	err = drv_setup(q, cfg, areas, state, state_len);
	if (err)
		return err;
	/* Nothing shared is written or read: the device may be polling. */
	drv_forget(q, base->avail_pos, base->avail_wrap);
	return 0;
}

void vr_packed_drv_reset(struct vr_packed_drv *q)
{
	reset_queue(q, true);
}

int vr__packed_drv_break(struct vr_packed_drv *q, int err)
{
	q->broken = err;
	return err;
}

void vr__packed_drv_clean_descs(struct vr_packed_drv *q, uint16_t first,
				unsigned n)
{
	unsigned i;
	uint16_t pos = first;

	for (i = 0; i < n; i++) {
		vr_mem_clean(&q->mem, &q->desc[pos], sizeof(struct vr_packed_desc));
		if (++pos == q->num)
			pos = 0;
	}
}

int vr_packed_drv_add_indirect(struct vr_packed_drv *q, const struct vr_seg *seg,
			       unsigned n_out, unsigned n_in,
			       struct vr_packed_desc *table, uint64_t table_addr,
			       void *cookie)
{
	unsigned n = n_out + n_in, i;
	uint32_t in_len;
	int err;
	struct vr_packed_desc *d;
	uint16_t id, pos, first;
	bool wrap;

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
		struct vr_seg t;

		err = vr__mem_clean_segs(&q->mem, seg, n_out);
		if (err)
			return err;
		t.addr = table_addr;
		t.len = (uint32_t)(n * sizeof(*table));
		err = vr__mem_clean_segs(&q->mem, &t, 1);
		if (err)
			return err;
	}
	/* Table entries carry only WRITE (section 2.8.7); plain stores, the
	 * table is published with the ring descriptor (R1). */
	for (i = 0; i < n; i++) {
		table[i].addr = vr__le64(seg[i].addr);
		table[i].len = vr__le32(seg[i].len);
		table[i].id = 0;
		table[i].flags = vr__le16((uint16_t)(i >= n_out ? VR_DESC_F_WRITE : 0));
	}
	if (q->mem.clean)
		vr_mem_clean(&q->mem, table, n * sizeof(*table));
	id = q->free_id;
	q->free_id = q->slot[id].next;
	first = pos = q->next_avail;
	wrap = q->avail_wrap;
	d = &q->desc[pos];
	d->addr = vr__le64(table_addr);
	d->len = vr__le32((uint32_t)(n * sizeof(*table)));
	d->id = vr__le16(id);
	vr__packed_drv_set_head(q, pos, (uint16_t)(vr__packed_avail_bits(wrap) |
						   VR_DESC_F_INDIRECT));
	if (++pos == q->num) {
		pos = 0;
		wrap = !wrap;
	}
	vr__packed_drv_commit(q, id, pos, wrap, 1, (uint32_t)in_len, cookie);
	if (q->mem.clean)
		vr__packed_drv_clean_descs(q, first, 1);
	return id;
}

/* Advance next_used past the chain of buffer id @p id and release it. */
static void vr__packed_drv_release(struct vr_packed_drv *q, uint16_t id)
{
	struct vr_drv_slot *s = &q->slot[id];

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
}

/*
 * In-order collection (section 2.8.9): one used descriptor, written over
 * the first descriptor of a batch, names the batch's last buffer id; the
 * chains before it count as fully written, and next_used skips all of them.
 */
int vr__packed_drv_get_used_in_order(struct vr_packed_drv *q,
				     struct vr_used_buf *out)
{
	struct vr_drv_slot *s;
	uint16_t head;
	uint32_t len;

	if (q->batch_end == VR__NONE) {
		struct vr_packed_desc *d = &q->desc[q->next_used];
		uint16_t flags, id, walk;

		vr_mem_invalidate(&q->mem, d, sizeof(*d));
		/* A2 (acquire), as in vr_packed_drv_get_used. */
		flags = vr__le16(vr__load_acquire16(&d->flags));
		if (!vr__packed_is_used(flags, q->used_wrap))
			return VR_EAGAIN;
		if (q->in_flight == 0)
			return vr__packed_drv_break(q, VR_EUSEDIDX);
		/* Relaxed, read once: ordered after A2. */
		id = vr__le16(vr__load16(&d->id));
		len = vr__le32(vr__load32(&d->len));
		if (id >= q->num || q->slot[id].ndesc == 0)
			return vr__packed_drv_break(q, VR_EUSEDID);
		for (walk = q->order_head; walk != id; walk = q->slot[walk].order_next)
			if (walk == VR__NONE)
				return vr__packed_drv_break(q, VR_EUSEDID);
		if (!(flags & VR_DESC_F_WRITE) &&
		    (!(q->flags & VR_QF_USED_LEN_WITHOUT_WRITE) ||
		     q->slot[id].in_len == 0))
			len = 0;
		if (len > q->slot[id].in_len) {
			if (!(q->flags & VR_QF_CLAMP_USED_LEN))
				return vr__packed_drv_break(q, VR_EUSEDLEN);
			len = q->slot[id].in_len;
			q->stats.used_len_clamped++;
		}
		q->batch_end = id;
		q->batch_len = len;
	}
	head = q->order_head;
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
	q->order_head = s->order_next;
	if (q->order_head == VR__NONE)
		q->order_tail = VR__NONE;
	vr__packed_drv_release(q, head);
	return 0;
}

int vr_packed_drv_get_used_burst(struct vr_packed_drv *q,
				 struct vr_used_buf *out, unsigned max)
{
	unsigned n = 0;

	while (n < max) {
		int err = vr_packed_drv_get_used(q, &out[n]);

		if (err == VR_EAGAIN)
			break;
		if (err < 0)
			return n ? (int)n : err;
		n++;
	}
	return (int)n;
}

void vr_packed_drv_suppress_used_notify(struct vr_packed_drv *q)
{
	if (q->broken)
		return;
	/* Relaxed: a hint; the device may still notify once. */
	vr__store16(&q->driver_event->flags, vr__le16(VR_EVENT_F_DISABLE));
	vr_mem_clean(&q->mem, q->driver_event, sizeof(*q->driver_event));
}

int vr_packed_drv_arm_used_notify(struct vr_packed_drv *q)
{
	uint16_t flags;

	if (q->broken)
		return VR_EBROKEN;
	if (q->event_idx) {
		/* Notify me when the descriptor at next_used is used. */
		vr__store16(&q->driver_event->off_wrap,
			    vr__le16((uint16_t)(q->next_used |
						((unsigned)q->used_wrap << VR_EVENT_WRAP_SHIFT))));
		vr__store16(&q->driver_event->flags, vr__le16(VR_EVENT_F_DESC));
	} else {
		vr__store16(&q->driver_event->flags, vr__le16(VR_EVENT_F_ENABLE));
	}
	vr_mem_clean(&q->mem, q->driver_event, sizeof(*q->driver_event));
	/* F3 (full fence): the request is ordered before the re-read below.
	 * Partner: F2 in vr_packed_dev_need_notify. With both fences
	 * sequentially consistent, either the device's reads come after F3
	 * and see both fields above, or our re-read comes after F2 and sees
	 * the used descriptor. */
	vr__fence_full();
	if (q->batch_end != VR__NONE)
		return 1;
	vr_mem_invalidate(&q->mem, &q->desc[q->next_used], sizeof(struct vr_packed_desc));
	/* Acquire: pairs with R2 like A2, if we go on to collect. */
	flags = vr__le16(vr__load_acquire16(&q->desc[q->next_used].flags));
	return vr__packed_is_used(flags, q->used_wrap);
}
