/* SPDX-License-Identifier: BSD-3-Clause */
/* Packed ring, driver side: set-up, reset, indirect add, in-order
 * collection, notification control. */
#include <stddef.h>

#include <vring/vring.h>

#include "internal.h"

size_t vr_packed_drv_state_size(uint32_t num)
{
	if (!vr_packed_size_valid(num))
		return 0;
	return (size_t)num * sizeof(struct vr_drv_slot);
}

/* Bind the queue object to its areas and state; touches neither shared
 * memory nor the state buffer. The caller has checked everything. */
static void drv_bind(struct vr_packed_drv *q, const struct vr_queue_cfg *cfg,
		     const struct vr_packed_areas *areas, void *state)
{
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
}

/* Check the arguments, then bind. */
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
	drv_bind(q, cfg, areas, state);
	return 0;
}

/* Forget every chain (all ids free) and continue at ring position @pos in
 * wrap @wrap for both making available and collecting: private state
 * only. */
static void drv_forget(struct vr_packed_drv *q, uint16_t pos, bool wrap)
{
	unsigned i;

	/* Each id's successor on the free list is the next id; the last
	 * one's is none (num >= 1: checked at init). */
	for (i = 0; i < q->num; i++) {
		q->slot[i].cookie = 0;
		q->slot[i].in_len = 0;
		q->slot[i].ndesc = 0;
		q->slot[i].next = (uint16_t)(i + 1);
		q->slot[i].last = 0;
		q->slot[i].order_next = VR__NONE;
	}
	q->slot[q->num - 1].next = VR__NONE;
	q->free_id = 0;
	q->num_free = q->num;
	q->next_avail = q->next_used = pos;
	q->avail_wrap = q->used_wrap = wrap;
	q->pub_pos = q->kick_pos = pos;
	q->unpub = q->since_kick = 0;
	q->pub_wrap = q->kick_wrap = wrap;
	q->held = false;
	q->in_flight = 0;
	q->batch_end = VR__NONE;
	q->batch_len = 0;
	q->broken = 0;
#if VR__OPT_SIZE
	/* Built for size, get_used takes IN_ORDER through the compiled path
	 * alone: mode 2 (which a caller built for speed also handles right)
	 * in one shift. */
	q->used_mode = (uint8_t)(q->in_order << 1);
#else
	q->used_mode = !q->in_order ? 0 : q->mem.invalidate == NULL ? 1 : 2;
#endif
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

int vr__packed_drv_init_parsed(struct vr_packed_drv *q,
                               const struct vr_queue_cfg *cfg,
                               const struct vr_packed_areas *areas, void *state)
{
	/* What the region parser cannot know: the features and the memory
	 * hooks this build leaves out. */
	if (vr__queue_cfg_unsupported(cfg))
		return VR_ENOTSUP;
	drv_bind(q, cfg, areas, state);
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
	q->used_mode = 2;
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
	id = vr__packed_drv_take_id(q);
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

/* A used length larger than the chain's @p in_len writable bytes: clamped
 * and counted with VR_QF_CLAMP_USED_LEN, else VR_EUSEDLEN. */
VR__COLD int64_t drv_used_len_over(struct vr_packed_drv *q, uint32_t in_len)
{
	if (!(q->flags & VR_QF_CLAMP_USED_LEN))
		return VR_EUSEDLEN;
	q->stats.used_len_clamped++;
	return in_len;
}

/* The length handed to the caller for a used descriptor with @p flags and
 * @p len naming a chain of @p in_len writable bytes (section 2.8.4: len is
 * reserved without WRITE, unless the caller takes it anyway for QEMU with
 * VR_QF_USED_LEN_WITHOUT_WRITE), or VR_EUSEDLEN. */
static inline int64_t drv_used_len(struct vr_packed_drv *q, uint32_t qflags,
				   uint16_t flags, uint32_t len,
				   uint32_t in_len)
{
	if (!(flags & VR_DESC_F_WRITE) &&
	    (in_len == 0 || !(qflags & VR_QF_USED_LEN_WITHOUT_WRITE)))
		len = 0;
	if (VR_UNLIKELY(len > in_len))
		return drv_used_len_over(q, in_len);
	return len;
}

/* The queue's collecting fields in full-width locals (see drv_add_burst:
 * the stores into the caller's array and the private slots could alias
 * them as far as the compiler knows), read once, written back once. The
 * @c freed descriptors count for num_free, @c k chains for in_flight. */
#define DRV_USED_LOCALS                                                        \
	unsigned pos = q->next_used;                                           \
	unsigned bits = vr__packed_used_bits(q->used_wrap);                    \
	unsigned in_flight = q->in_flight, freed = 0, k
#define DRV_USED_STORE()                                                       \
	do {                                                                   \
		q->next_used = (uint16_t)pos;                                  \
		q->used_wrap = bits != 0;                                      \
		q->num_free = (uint16_t)(q->num_free + freed);                 \
		q->in_flight = (uint16_t)(in_flight - k);                      \
	} while (0)

/* In-order collection of the chain whose head is at *@pos (record @s):
 * hand it out with @len, free its record, and step past it by the
 * driver's own record of its length (wrapping: *@wrapped grows by num and
 * the expected used bits *@bits flip). */
VR__HOT_INLINE void take_in_order(struct vr_used_buf *o, struct vr_drv_slot *s,
				  uint32_t len, unsigned num, unsigned *pos,
				  unsigned *wrapped, unsigned *bits)
{
	o->cookie = s->cookie;
	o->len = len;
	o->id = (uint16_t)*pos;
	*pos += s->ndesc;
	s->ndesc = 0;
	if (VR_UNLIKELY(*pos >= num)) {
		*pos -= num;
		*wrapped += num;
		*bits ^= VR_DESC_F_AVAIL | VR_DESC_F_USED;
	}
}

/*
 * In-order collection (section 2.8.9). Buffer ids are ring positions (see
 * vr__packed_drv_take_id), so the chain due next is the one whose head is
 * at next_used. One used descriptor, written over the first descriptor of
 * a batch, names the batch's last id; the chains before it count as fully
 * written, and next_used skips all of them, each by the driver's own
 * record of its length.
 *
 * Which ids may end a batch: the chains in flight occupy the ring
 * contiguously from next_used to next_avail, each recorded (ndesc != 0) in
 * the slot of its head's position, and every other slot is 0 (cleared when
 * its chain is collected, never set but by add). So "id < num and
 * slot[id].ndesc != 0" holds exactly for the heads of chains in flight,
 * all of which lie at or after next_used in ring order: the check that
 * walking the driver's records from next_used would reach id, without the
 * walk. Anything else (a collected id, a position inside a chain, an id
 * never issued) is VR_EUSEDID.
 */
static int drv_collect_in_order(struct vr_packed_drv *q,
				struct vr_used_buf *out, unsigned max)
{
	struct vr_packed_desc *const desc = q->desc;
	struct vr_drv_slot *const slot = q->slot;
	const unsigned num = q->num;
	const uint32_t qflags = q->flags;
	const bool inv = q->mem.invalidate != NULL;
	unsigned batch_end = q->batch_end;
	uint32_t batch_len = q->batch_len;
	struct vr_used_buf *o = out, *const oend = out + max;
	const unsigned pos0 = q->next_used;
	/* pos + wrapped - pos0: the descriptors skipped (for num_free). */
	unsigned wrapped = 0;
	int err = 0;
	DRV_USED_LOCALS;

	while (o != oend) {
		struct vr_drv_slot *s;

		if (batch_end == VR__NONE) {
			struct vr_packed_desc *d = &desc[pos];
			unsigned id;
			uint16_t flags;
			uint32_t len;
			int64_t l;

			if (VR_UNLIKELY(inv))
				vr_mem_invalidate(&q->mem, d, sizeof(*d));
			/* A2 (acquire): the used descriptor's id and len, and
			 * the buffer contents, are visible after its flags.
			 * Partner: R2 in vr_packed_dev_publish. */
			flags = vr__le16(vr__load_acquire16(&d->flags));
			if ((flags & (VR_DESC_F_AVAIL | VR_DESC_F_USED)) != bits)
				break;
			if (VR_UNLIKELY(in_flight == (unsigned)(o - out))) {
				err = VR_EUSEDIDX; /* nothing in flight */
				break;
			}
			/* Relaxed, read once: ordered after A2. */
			id = vr__le16(vr__load16(&d->id));
			len = vr__le32(vr__load32(&d->len));
			/* In range and the head of a chain in flight: then it
			 * is the chain at next_used or one after it (see
			 * above), and collecting walks to it by the driver's
			 * own records, chain by chain. */
			if (VR_UNLIKELY(id >= num || slot[id].ndesc == 0)) {
				err = VR_EUSEDID;
				break;
			}
			l = drv_used_len(q, qflags, flags, len, slot[id].in_len);
			if (VR_UNLIKELY(l < 0)) {
				err = (int)l;
				break;
			}
			batch_end = id;
			batch_len = (uint32_t)l;
		}
		/* The chains before the batch's last: fully written. Each
		 * skipped by the driver's own record of the chain. */
		for (;;) {
			s = &slot[pos];
			if (pos == batch_end)
				break;
			take_in_order(o, s, s->in_len, num, &pos, &wrapped, &bits);
			if (++o == oend)
				goto done;
		}
		/* The batch's last: the length the device wrote. */
		take_in_order(o, s, batch_len, num, &pos, &wrapped, &bits);
		batch_end = VR__NONE;
		o++;
	}
done:
	k = (unsigned)(o - out);
	freed = pos + wrapped - pos0;
	DRV_USED_STORE();
	q->batch_end = (uint16_t)batch_end;
	q->batch_len = batch_len;
	if (err) {
		vr__packed_drv_break(q, err);
		return k ? (int)k : err;
	}
	return (int)k;
}

/* The single call's in-order path (vr_packed_drv_get_used): the same
 * checks as drv_collect_in_order for one chain, without a burst's set-up. */
int vr__packed_drv_get_used_in_order(struct vr_packed_drv *q,
				     struct vr_used_buf *out)
{
	struct vr_drv_slot *const slot = q->slot;
	struct vr_drv_slot *s;
	unsigned head = q->next_used;
	uint32_t len;

	if (q->batch_end == VR__NONE) {
		struct vr_packed_desc *d = &q->desc[head];
		uint16_t flags, id;
		int64_t l;

		vr_mem_invalidate(&q->mem, d, sizeof(*d));
		/* A2 (acquire), as in drv_collect_in_order. */
		flags = vr__le16(vr__load_acquire16(&d->flags));
		if (!vr__packed_is_used(flags, q->used_wrap))
			return VR_EAGAIN;
		if (VR_UNLIKELY(q->in_flight == 0))
			return vr__packed_drv_break(q, VR_EUSEDIDX);
		/* Relaxed, read once: ordered after A2. */
		id = vr__le16(vr__load16(&d->id));
		len = vr__le32(vr__load32(&d->len));
		/* The head of a chain in flight (see drv_collect_in_order). */
		if (VR_UNLIKELY(id >= q->num || slot[id].ndesc == 0))
			return vr__packed_drv_break(q, VR_EUSEDID);
		l = drv_used_len(q, q->flags, flags, len, slot[id].in_len);
		if (VR_UNLIKELY(l < 0))
			return vr__packed_drv_break(q, (int)l);
		s = &slot[head];
		if (id == head) {
			len = (uint32_t)l; /* one chain: no batch to remember */
			goto release;
		}
		q->batch_end = id;
		q->batch_len = (uint32_t)l;
	}
	s = &slot[head];
	if (head == q->batch_end) {
		len = q->batch_len;
		q->batch_end = VR__NONE;
	} else {
		len = s->in_len; /* skipped: fully written */
	}
release:
	out->cookie = s->cookie;
	out->len = len;
	out->id = (uint16_t)head;
	/* Skip by the driver's own record of the chain. */
	head += s->ndesc;
	if (head >= q->num) {
		head -= q->num;
		q->used_wrap = !q->used_wrap;
	}
	q->next_used = (uint16_t)head;
	q->num_free = (uint16_t)(q->num_free + s->ndesc);
	s->ndesc = 0;
	q->in_flight--;
	return 0;
}

/* Slot @p s no longer in flight, at the head of the free list before
 * @p free_id: ndesc 0 and next, adjacent, with one 32-bit store. */
VR_STATIC_ASSERT(offsetof(struct vr_drv_slot, next) ==
			 offsetof(struct vr_drv_slot, ndesc) + sizeof(uint16_t),
		 "vr_drv_slot: ndesc and next adjacent");
VR__HOT_INLINE void drv_slot_free(struct vr_drv_slot *s, unsigned free_id)
{
#if VR__BIG_ENDIAN
	const uint32_t w = free_id & 0xffffu;
#else
	const uint32_t w = (uint32_t)free_id << 16;
#endif

	__builtin_memcpy(&s->ndesc, &w, sizeof(w));
}

/* Collection without IN_ORDER: any chain in flight may come back.
 * Specialised for cache hooks (@p inv) or not, and for
 * VR_QF_USED_LEN_WITHOUT_WRITE (@p ulww) or not. No call inside the inner
 * loop (a call there made GCC keep the loop's state in the stack): the
 * rare cases leave it, are handled, and the loop starts again. The count
 * in flight bounds it (@c lim): a used descriptor past the last chain in
 * flight is VR_EUSEDIDX, found after the loop. */
VR__HOT_INLINE int drv_collect(struct vr_packed_drv *q, struct vr_used_buf *out,
			       unsigned max, const bool inv, const bool ulww)
{
	struct vr_packed_desc *const desc = q->desc;
	struct vr_drv_slot *const slot = q->slot;
	const unsigned num = q->num;
	unsigned free_id = q->free_id, lim;
	struct vr_used_buf *o, *olim;
	const unsigned pos0 = q->next_used;
	/* pos + wrapped - pos0: the descriptors freed. */
	unsigned wrapped = 0;
	int err = 0;
	DRV_USED_LOCALS;

	lim = max < in_flight ? max : in_flight;
	/* One pointer walks out (k = o - out, computed when needed). */
	o = out;
	olim = out + lim;
	for (;;) {
		struct vr_packed_desc *d;
		struct vr_drv_slot *s;
		unsigned id, ndesc;
		uint32_t len, in_len;
		uint16_t flags;

		for (; o != olim; o++) {
			d = &desc[pos];
			if (VR_UNLIKELY(inv))
				vr_mem_invalidate(&q->mem, d, sizeof(*d));
			/* A2 (acquire): the used descriptor's id and len, and
			 * the buffer contents, are visible after its flags.
			 * Partner: R2 in vr_packed_dev_publish. */
			flags = vr__le16(vr__load_acquire16(&d->flags));
			if ((flags & (VR_DESC_F_AVAIL | VR_DESC_F_USED)) != bits)
				goto done;
			/* Relaxed, read once: ordered after A2. */
			id = vr__le16(vr__load16(&d->id));
			len = vr__le32(vr__load32(&d->len));
			if (VR_UNLIKELY(id >= num)) {
				err = VR_EUSEDID;
				goto done;
			}
			s = &slot[id];
			ndesc = s->ndesc;
			if (VR_UNLIKELY(ndesc == 0)) {
				err = VR_EUSEDID; /* not in flight */
				goto done;
			}
			in_len = s->in_len;
			/* Section 2.8.4: see drv_used_len. */
			if (!(flags & VR_DESC_F_WRITE) && (in_len == 0 || !ulww))
				len = 0;
			if (VR_UNLIKELY(len > in_len))
				goto over;
emit:
			o->cookie = s->cookie;
			o->len = len;
			o->id = (uint16_t)id;
			/* Skip by the driver's own record of the chain, never
			 * by anything the device wrote. */
			pos += ndesc;
			if (VR_UNLIKELY(pos >= num)) {
				pos -= num;
				wrapped += num;
				bits ^= VR_DESC_F_AVAIL | VR_DESC_F_USED;
			}
			drv_slot_free(s, free_id);
			free_id = id;
		}
		if (lim < max) {
			/* Every chain in flight collected: one more used
			 * descriptor is a violation. */
			d = &desc[pos];
			if (VR_UNLIKELY(inv))
				vr_mem_invalidate(&q->mem, d, sizeof(*d));
			/* A2 (acquire), as above. */
			flags = vr__le16(vr__load_acquire16(&d->flags));
			if ((flags & (VR_DESC_F_AVAIL | VR_DESC_F_USED)) == bits)
				err = VR_EUSEDIDX; /* nothing in flight */
		}
		goto done;
over:
		{
			int64_t l = drv_used_len_over(q, in_len);

			if (l < 0) {
				err = (int)l;
				goto done;
			}
			len = (uint32_t)l;
		}
		goto emit;
	}
done:
	k = (unsigned)(o - out);
	freed = pos + wrapped - pos0;
	DRV_USED_STORE();
	q->free_id = (uint16_t)free_id;
	if (err) {
		vr__packed_drv_break(q, err);
		return k ? (int)k : err;
	}
	return (int)k;
}

#undef DRV_USED_LOCALS
#undef DRV_USED_STORE

int vr_packed_drv_get_used_burst(struct vr_packed_drv *q,
				 struct vr_used_buf *out, unsigned max)
{
	if (max == 0)
		return 0;
	if (!VR__OPT_SIZE && max == 1 && out != NULL) {
		/* One chain: the single call (VR_EBROKEN its own), without
		 * a burst's set-up. */
		int err = vr_packed_drv_get_used(q, out);

		return err == 0 ? 1 : err == VR_EAGAIN ? 0 : err;
	}
	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	if (VR_UNLIKELY(out == NULL))
		return VR_EINVAL;
	if (q->mem.invalidate == NULL && q->batch_end == VR__NONE) {
		/* Relaxed: a peek, so that polling an empty ring costs no
		 * set-up; the loop reads the flags again with acquire (A2). */
		uint16_t flags = vr__le16(vr__load16(&q->desc[q->next_used].flags));

		if (!vr__packed_is_used(flags, q->used_wrap))
			return 0;
	}
	if (q->in_order)
		return drv_collect_in_order(q, out, max);
	/* Specialised for cache hooks (inv) and VR_QF_USED_LEN_WITHOUT_WRITE
	 * (ulww) where speed counts: the common copy, neither, takes a used
	 * length only with WRITE, in one test. */
	if (VR__OPT_SIZE || q->mem.invalidate != NULL)
		return drv_collect(q, out, max, q->mem.invalidate != NULL,
				   (q->flags & VR_QF_USED_LEN_WITHOUT_WRITE) != 0);
	if (q->flags & VR_QF_USED_LEN_WITHOUT_WRITE)
		return drv_collect(q, out, max, false, true);
	return drv_collect(q, out, max, false, false);
}

/* One chain of an add burst through vr_packed_drv_add(): a longer chain,
 * or one that fails (the single call computes the exact code). Out of
 * line, so that the burst's loop keeps its state in registers. */
VR__COLD int drv_add_general(struct vr_packed_drv *q, const struct vr_add *a)
{
	return vr_packed_drv_add(q, a->seg, a->n_out, a->n_in, a->cookie);
}

/* Every chain through vr_packed_drv_add(): cache hooks are set. */
VR__COLD int drv_add_each(struct vr_packed_drv *q, const struct vr_add *adds,
			  unsigned n, uint16_t *ids)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		int id = drv_add_general(q, &adds[i]);

		if (id < 0)
			return i ? (int)i : id;
		if (ids)
			ids[i] = (uint16_t)id;
	}
	return (int)n;
}

/* The state of an add burst, in full-width locals: with 16-bit ones GCC's
 * SLP vectoriser packed them into one vector register rebuilt on every
 * chain (pextrw and shifts, seen in a callgrind count). */
struct drv_astate {
	struct vr_packed_desc *d; /* at next_avail: one pointer walks the ring */
	unsigned bits;
	unsigned free_id; /* the next id: the free list's head, or with
			     IN_ORDER the ring position of d */
};

/*
 * Add the chain @p a on the short path, as vr_packed_drv_add() would, and
 * put its id in @p id_out; @p hold: the batch's first head, whose flags
 * wait for publish. False, with nothing changed, for a chain the short
 * path does not take: more than one segment, or an error whose exact code
 * vr_packed_drv_add() computes. The room was checked by the caller.
 */
VR__HOT_INLINE bool drv_add_one(struct vr_packed_drv *q,
				struct vr_packed_desc *desc,
				struct vr_drv_slot *slot,
				uint32_t zero_ok, struct drv_astate *st,
				const struct vr_add *a, uint16_t *id_out,
				const bool in_order, const bool hold)
{
	/* Each field of the caller's entry once, before the stores. */
	const struct vr_seg *seg = a->seg;
	const unsigned n_out = a->n_out, n_in = a->n_in;
	void *const cookie = a->cookie;
	struct vr_packed_desc *const d = st->d;
	struct vr_drv_slot *s;
	uint16_t id, flags;
	uint64_t addr;
	uint32_t len;

	if (VR_UNLIKELY(n_out + n_in != 1 || seg == NULL))
		return false;
	addr = seg->addr;
	len = seg->len;
	if (VR_UNLIKELY(len == 0 && !zero_ok))
		return false;
	id = (uint16_t)st->free_id;
	if (in_order)
		st->free_id++; /* the ring position: see vr__packed_drv_take_id */
	else
		st->free_id = slot[id].next;
	flags = (uint16_t)(n_in ? st->bits | VR_DESC_F_WRITE : st->bits);
	/* Plain stores: the device reads them only after acquiring the
	 * batch's first head flags, released at publish (R1). */
	d->addr = vr__le64(addr);
	d->len = vr__le32(len);
	d->id = vr__le16(id);
	if (!hold) {
		/* Relaxed: the device reads it only after acquiring the held
		 * head, released (R1) after this store. */
		vr__store16(&d->flags, vr__le16(flags));
	} else {
		q->held = true;
		q->held_pos = (uint16_t)(d - desc);
		q->held_flags = flags;
	}
	s = &slot[id];
	s->cookie = cookie;
	s->in_len = n_in ? len : 0;
	s->ndesc = 1;
	st->d++; /* the caller wraps it (drv_add_wrap) */
	*id_out = id;
	return true;
}

/* After a chain: at the ring's end, back to its start in the next wrap. */
VR__HOT_INLINE void drv_add_wrap(struct drv_astate *st,
				 struct vr_packed_desc *desc,
				 struct vr_packed_desc *desc_end,
				 const bool in_order)
{
	if (st->d == desc_end) {
		st->d = desc;
		st->bits ^= VR_DESC_F_AVAIL | VR_DESC_F_USED;
		if (in_order)
			st->free_id = 0;
	}
}

/*
 * The add burst, specialised for IN_ORDER or not. The queue's fields live
 * in locals (stores into the ring and the private slots could alias them
 * as far as the compiler knows), read once and written back once, and
 * around a chain that takes the single call. num_free, in_flight and unpub
 * all move by one per chain of the short path: i - i0 stands for the three
 * until they are written back. No call inside the inner loop (with one
 * there, GCC kept the loop's state in the stack): a chain for the single
 * call leaves it, and the loop starts again after that chain. The room is
 * folded into the bound @c lim: a chain at it (no room) takes the single
 * call, which finds VR_ENOSPC. The first head of an unpublished batch
 * (its flags held) is taken before the loop, which then stores every
 * flags word.
 */
VR__HOT_INLINE int drv_add_burst(struct vr_packed_drv *q,
				 const struct vr_add *adds, unsigned n,
				 uint16_t *ids, const bool in_order)
{
	struct vr_packed_desc *const desc = q->desc;
	struct vr_packed_desc *const desc_end = desc + q->num;
	struct vr_drv_slot *const slot = q->slot;
	const uint32_t zero_ok = q->flags & VR_QF_ZERO_LEN_OK;
	struct drv_astate st;
	unsigned room, i, i0, lim, stop;
	uint16_t id;

#define DRV_ADD_LOAD()                                                         \
	do {                                                                   \
		st.d = desc + q->next_avail;                                   \
		st.bits = vr__packed_avail_bits(q->avail_wrap);                \
		st.free_id = in_order ? q->next_avail : q->free_id;            \
		room = q->num_free;                                            \
		i0 = i;                                                        \
		lim = n - i > room ? i + room : n;                             \
	} while (0)
#define DRV_ADD_STORE()                                                        \
	do {                                                                   \
		q->next_avail = (uint16_t)(st.d - desc);                       \
		q->avail_wrap = st.bits == VR_DESC_F_AVAIL;                    \
		q->num_free = (uint16_t)(room - (i - i0));                     \
		if (!in_order)                                                 \
			q->free_id = (uint16_t)st.free_id;                     \
		q->in_flight = (uint16_t)(q->in_flight + (i - i0));            \
		q->unpub += i - i0;                                            \
	} while (0)

	for (i = 0;;) {
		DRV_ADD_LOAD();
#if !defined(__OPTIMIZE_SIZE__)
		if (!q->held && i < lim) {
			if (!drv_add_one(q, desc, slot, zero_ok, &st,
					 &adds[i], &id, in_order, true))
				goto general;
			if (ids)
				ids[i] = id;
			i++;
			drv_add_wrap(&st, desc, desc_end, in_order);
		}
#endif
		/* The wrap is folded into the inner loop's bound: it runs to
		 * the ring's end or lim, whichever comes first, and the wrap
		 * is handled between runs. */
		while (i < lim) {
			stop = lim - i > (unsigned)(desc_end - st.d) ?
				       i + (unsigned)(desc_end - st.d) :
				       lim;
			for (; i < stop; i++) {
				/* -Os: one copy of the chain's code, which
				 * asks. */
				if (!drv_add_one(q, desc, slot, zero_ok, &st,
						 &adds[i], &id, in_order,
						 VR__OPT_SIZE && !q->held))
					goto general;
				if (ids)
					ids[i] = id;
			}
			drv_add_wrap(&st, desc, desc_end, in_order);
		}
		if (i == n)
			break;
general:
		{
			int ret;

			DRV_ADD_STORE();
			ret = drv_add_general(q, &adds[i]);
			if (ret < 0)
				return i ? (int)i : ret;
			if (ids)
				ids[i] = (uint16_t)ret;
			i++;
		}
	}
	DRV_ADD_STORE();
#undef DRV_ADD_LOAD
#undef DRV_ADD_STORE
	return (int)n;
}

int vr_packed_drv_add_burst(struct vr_packed_drv *q, const struct vr_add *adds,
			    unsigned n, uint16_t *ids)
{
	int args = vr__burst_args(n, q->broken, adds);

	if (args <= 0)
		return args;
	if (VR_UNLIKELY(q->mem.clean != NULL))
		return drv_add_each(q, adds, n, ids);
#define CALL(in_order) drv_add_burst(q, adds, n, ids, in_order)
	return VR__SPECIALISE(q->in_order, CALL);
#undef CALL
}

/* ---- add_bufs: single-segment messages ----------------------------------- */

/* One message of an add_bufs call through vr_packed_drv_add(): the exact
 * result. Out of line (see drv_add_general). */
VR__COLD int drv_add_buf_general(struct vr_packed_drv *q,
				 const struct vr_add_buf *b, bool writable)
{
	return vr_packed_drv_add(q, &b->seg, writable ? 0 : 1, writable ? 1 : 0,
				 b->cookie);
}

/* Every message through vr_packed_drv_add(): cache hooks are set. */
VR__COLD int drv_add_bufs_each(struct vr_packed_drv *q,
			       const struct vr_add_buf *bufs, unsigned n,
			       bool writable, uint16_t *ids)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		int id = drv_add_buf_general(q, &bufs[i], writable);

		if (id < 0)
			return i ? (int)i : id;
		if (ids)
			ids[i] = (uint16_t)id;
	}
	return (int)n;
}

/*
 * The add_bufs loop, specialised for IN_ORDER or not: drv_add_burst's
 * shape (the queue's fields in locals, num_free, in_flight and unpub as
 * i - i0 until written back, the room folded into @c lim, the wrap into
 * the inner loop's bound, no call inside the inner loop, the batch's held
 * head taken before it) with one segment per message and the direction
 * the call's. A message the short path does not take (a zero length
 * without VR_QF_ZERO_LEN_OK, or no room at @c lim) goes to
 * vr_packed_drv_add(), which computes the exact code.
 */
VR__HOT_INLINE int drv_add_bufs(struct vr_packed_drv *q,
				const struct vr_add_buf *bufs, unsigned n,
				const bool writable, uint16_t *ids,
				const bool in_order)
{
	struct vr_packed_desc *const desc = q->desc;
	struct vr_packed_desc *const desc_end = desc + q->num;
	struct vr_drv_slot *const slot = q->slot;
	const bool zero_ok = (q->flags & VR_QF_ZERO_LEN_OK) != 0;
	const unsigned wbit = writable ? VR_DESC_F_WRITE : 0;
	struct vr_packed_desc *d;
	unsigned bits, free_id, room, i, i0, lim, stop;

#define DRV_BUFS_LOAD()                                                        \
	do {                                                                   \
		d = desc + q->next_avail;                                      \
		bits = vr__packed_avail_bits(q->avail_wrap) | wbit;            \
		free_id = in_order ? q->next_avail : q->free_id;               \
		room = q->num_free;                                            \
		i0 = i;                                                        \
		lim = n - i > room ? i + room : n;                             \
	} while (0)
#define DRV_BUFS_STORE()                                                       \
	do {                                                                   \
		q->next_avail = (uint16_t)(d - desc);                          \
		q->avail_wrap = (bits & ~wbit) == VR_DESC_F_AVAIL;             \
		q->num_free = (uint16_t)(room - (i - i0));                     \
		if (!in_order)                                                 \
			q->free_id = (uint16_t)free_id;                        \
		q->in_flight = (uint16_t)(q->in_flight + (i - i0));            \
		q->unpub += i - i0;                                            \
	} while (0)
/* One message on the short path: @c hold, the batch's held head; ids
 * written when @c with_ids. Each field of the caller's entry read once. */
#define DRV_BUFS_ONE(hold, with_ids)                                           \
	do {                                                                   \
		const uint64_t addr_ = bufs[i].seg.addr;                       \
		const uint32_t len_ = bufs[i].seg.len;                         \
		void *const cookie_ = bufs[i].cookie;                          \
		struct vr_drv_slot *s_;                                        \
		unsigned id_;                                                  \
									       \
		if (VR_UNLIKELY(len_ == 0) && !zero_ok)                        \
			goto general;                                          \
		/* With IN_ORDER free_id is the ring position of d. */      \
		id_ = free_id;                                                 \
		if (in_order)                                                  \
			free_id++;                                             \
		else                                                           \
			free_id = slot[id_].next;                              \
		/* Plain stores: the device reads them only after acquiring   \
		 * the batch's first head flags, released at publish (R1). */ \
		d->addr = vr__le64(addr_);                                     \
		d->len = vr__le32(len_);                                       \
		d->id = vr__le16((uint16_t)id_);                               \
		if (hold) {                                                    \
			q->held = true;                                        \
			q->held_pos = (uint16_t)(d - desc);                    \
			q->held_flags = (uint16_t)bits;                        \
		} else {                                                       \
			/* Relaxed: published with the held head (R1). */      \
			vr__store16(&d->flags, vr__le16((uint16_t)bits));      \
		}                                                              \
		s_ = &slot[id_];                                               \
		s_->cookie = cookie_;                                          \
		s_->in_len = writable ? len_ : 0;                              \
		s_->ndesc = 1;                                                 \
		if (with_ids)                                                  \
			ids[i] = (uint16_t)id_;                                \
		d++;                                                           \
	} while (0)

	for (i = 0;;) {
		DRV_BUFS_LOAD();
		if (!q->held && i < lim) {
			DRV_BUFS_ONE(true, ids != NULL);
			i++;
			if (d == desc_end) {
				d = desc;
				bits ^= VR_DESC_F_AVAIL | VR_DESC_F_USED;
				if (in_order)
					free_id = 0;
			}
		}
		while (i < lim) {
			stop = lim - i > (unsigned)(desc_end - d) ?
				       i + (unsigned)(desc_end - d) :
				       lim;
			/* The test of ids once per run, not per message
			 * (-Os: one copy, which asks). */
			if (VR__OPT_SIZE || ids != NULL)
				for (; i < stop; i++)
					DRV_BUFS_ONE(false, ids != NULL);
			else
				for (; i < stop; i++)
					DRV_BUFS_ONE(false, false);
			if (d == desc_end) {
				d = desc;
				bits ^= VR_DESC_F_AVAIL | VR_DESC_F_USED;
				if (in_order)
					free_id = 0;
			}
		}
		if (i == n)
			break;
general:
		{
			int ret;

			DRV_BUFS_STORE();
			ret = drv_add_buf_general(q, &bufs[i], writable);
			if (ret < 0)
				return i ? (int)i : ret;
			if (ids)
				ids[i] = (uint16_t)ret;
			i++;
		}
	}
	DRV_BUFS_STORE();
#undef DRV_BUFS_LOAD
#undef DRV_BUFS_STORE
#undef DRV_BUFS_ONE
	return (int)n;
}

/* The call's checks and the loop, for two messages or more (any number
 * built for size). Out of line but built for size, so that the path of
 * vr_packed_drv_add_bufs for one message (drv_add_bufs_one) saves only
 * the registers it needs. */
#if VR__OPT_SIZE
#define DRV_ADD_BUFS_MANY_ATTR VR__HOT_INLINE
#else
#define DRV_ADD_BUFS_MANY_ATTR VR__NOINLINE
#endif
DRV_ADD_BUFS_MANY_ATTR int drv_add_bufs_many(struct vr_packed_drv *q,
					     const struct vr_add_buf *bufs,
					     unsigned n, bool writable,
					     uint16_t *ids)
{
	int args = vr__burst_args(n, q->broken, bufs);

	if (args <= 0)
		return args;
	if (VR_UNLIKELY(q->mem.clean != NULL))
		return drv_add_bufs_each(q, bufs, n, writable, ids);
	/* Specialised for the direction too where speed counts (-Os: one
	 * copy, which asks). */
#define CALL(in_order)                                                         \
	(VR__OPT_SIZE ? drv_add_bufs(q, bufs, n, writable, ids, in_order) :    \
	 writable     ? drv_add_bufs(q, bufs, n, true, ids, in_order) :        \
			drv_add_bufs(q, bufs, n, false, ids, in_order))
	return VR__SPECIALISE(q->in_order, CALL);
#undef CALL
}
#undef DRV_ADD_BUFS_MANY_ATTR

#if !VR__OPT_SIZE
/* None, or one message: the single call, without the loop's set-up (see
 * vr_packed_drv_add_burst). Out of line, as drv_add_bufs_many: each keeps
 * its own registers, and vr_packed_drv_add_bufs only chooses. */
VR__NOINLINE int drv_add_bufs_one(struct vr_packed_drv *q,
				  const struct vr_add_buf *bufs, unsigned n,
				  bool writable, uint16_t *ids)
{
	int args = vr__burst_args(n, q->broken, bufs), id;

	if (args <= 0)
		return args;
	id = vr_packed_drv_add(q, &bufs[0].seg, writable ? 0 : 1,
			       writable ? 1 : 0, bufs[0].cookie);
	if (id < 0)
		return id;
	if (ids)
		ids[0] = (uint16_t)id;
	return 1;
}
#endif

int vr_packed_drv_add_bufs(struct vr_packed_drv *q, const struct vr_add_buf *bufs,
			   unsigned n, bool writable, uint16_t *ids)
{
#if !VR__OPT_SIZE
	if (VR_UNLIKELY(n <= 1))
		return drv_add_bufs_one(q, bufs, n, writable, ids);
#endif
	return drv_add_bufs_many(q, bufs, n, writable, ids);
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
