/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split ring burst calls, both roles: many messages per call, with the
 * queue's indices in locals (registers) for the whole call and stored back
 * once, and the checks that cannot change within a call (broken, argument
 * pointers, cache hooks, address translation mode) made once.
 *
 * Every per-message check of the single calls is made on every message,
 * with the same error codes, in the same order: the results (chains, ids,
 * lengths, error codes, ring bytes, queue state) are those of the single
 * call in a loop (tests/test_split_burst.c compares the two on random and
 * corrupted rings). What the fast paths do not handle (chained or indirect
 * descriptors, zero lengths, multi-segment adds, cache hooks, a translate
 * callback) goes through the single call inside the same burst, with the
 * locals written back before and reloaded after.
 *
 * Why locals: a store into the shared ring (a uint16_t or uint32_t) may
 * alias the queue object's fields as far as the compiler knows, so inside
 * the single calls every field is reloaded after every such store.
 */
#include <stddef.h>

#include <vring/vring.h>

#include "internal.h"

/* The chain fields a pop fills, as two groups of adjacent fields that a
 * little-endian CPU writes with one store each (vr__chain_fill). */
VR_STATIC_ASSERT(offsetof(struct vr_chain, n_out) == offsetof(struct vr_chain, id) + 2 &&
			 offsetof(struct vr_chain, n_in) == offsetof(struct vr_chain, id) + 4 &&
			 offsetof(struct vr_chain, ndesc) == offsetof(struct vr_chain, id) + 6 &&
			 offsetof(struct vr_chain, in_bytes) ==
				 offsetof(struct vr_chain, out_bytes) + 4,
		 "vr_chain field groups");

/* A one-descriptor chain: @wf is the descriptor's VR_DESC_F_WRITE bit (0
 * or VR_DESC_F_WRITE). */
static inline void vr__chain_fill(struct vr_chain *c, uint16_t head,
				  uint32_t len, uint32_t wf)
{
	const uint32_t w = wf / VR_DESC_F_WRITE; /* 0 or 1 */

#if VR__BIG_ENDIAN
	c->id = head;
	c->n_out = (uint16_t)(w ^ 1u);
	c->n_in = (uint16_t)w;
	c->ndesc = 1;
	c->out_bytes = len & (w - 1u);
	c->in_bytes = len & (0u - w);
#else
	/* id, n_out, n_in, ndesc = 1; then out_bytes, in_bytes. memcpy:
	 * the groups are only 2- and 4-byte aligned. */
	static const struct {
		uint64_t ids, scale;
	} shape[2] = {
		/* readable: n_out 1; the length is out_bytes */
		{ (uint64_t)1 << 16 | (uint64_t)1 << 48, 1 },
		/* writable: n_in 1; the length is in_bytes */
		{ (uint64_t)1 << 32 | (uint64_t)1 << 48, (uint64_t)1 << 32 },
	};
	uint64_t ids = (uint64_t)head | shape[w].ids;
#if UINTPTR_MAX > 0xffffffffu
	/* A multiply from the table, not a shift by a variable count: x86
	 * wants that count in cl, which costs the pop loop a register. */
	uint64_t bytes = (uint64_t)len * shape[w].scale;
#else
	/* A select on 32-bit CPUs: a 64-bit multiply or shift by a variable
	 * is a libgcc call there (__aeabi_lmul / __aeabi_llsl on armv6-m). */
	uint64_t bytes = w ? (uint64_t)len << 32 : (uint64_t)len;
#endif

	__builtin_memcpy(&c->id, &ids, sizeof(ids));
	__builtin_memcpy(&c->out_bytes, &bytes, sizeof(bytes));
#endif
}

/* A descriptor's 64-bit address, copied out once. On 64-bit CPUs one
 * 64-bit relaxed load (8-byte aligned: the descriptor is 16-byte aligned);
 * elsewhere the two untorn halves of vr__load_addr (no 64-bit atomics on
 * Cortex-M4). Relaxed: the caller has acquired the descriptor (A1). */
static inline uint64_t vr__load_desc_addr(const uint64_t *field)
{
#if UINTPTR_MAX > 0xffffffffu
	return vr__le64(VR__LOAD((const VR__ATOMIC(uint64_t) *)(const void *)field,
				 VR__MO(relaxed)));
#else
	return vr__load_addr(field);
#endif
}

/* ---- Driver: add ------------------------------------------------------- */

/* What a fast loop says when it stops before the end: VR__GENERAL means
 * the entry it stopped at needs the single call; otherwise a VR_E* code
 * (VR_EAGAIN: nothing more; a violation: the queue is broken already).
 * The count and the code come back packed in one register (a pointer for
 * the code would keep one more value alive through the loop). */
#define VR__GENERAL 1


static inline uint64_t vr__fast_ret(unsigned n, int err)
{
	return (uint64_t)(uint32_t)err << 32 | n;
}

static inline unsigned vr__fast_n(uint64_t r)
{
	return (unsigned)(uint32_t)r;
}

static inline int vr__fast_err(uint64_t r)
{
	return (int)(int32_t)(uint32_t)(r >> 32);
}

/* The fast loop of an add burst: one-segment chains, no cache hooks (the
 * caller checked). No call inside, so that the state stays in registers.
 * The run is bounded by the free descriptors once, so that the loop makes
 * no room test: past them, the single call says what the next entry gets
 * (its argument checks come before the room check). */
VR__HOT_INLINE uint64_t split_add_fast(struct vr_split_drv *q,
				       const struct vr_add *a, unsigned n,
				       uint16_t *ids, const bool in_order)
{
	const struct vr_add *const first = a;
	const struct vr_add *const end = a + (n < q->num_free ? n : q->num_free);
	struct vr_desc *const desc = q->desc;
	uint16_t *const ring = vr_avail_ring(q->avail);
	struct vr_drv_slot *const slot = q->slot;
	const unsigned mask = q->mask;
	const uint16_t free_head0 = q->free_head;
	uint16_t free_head = free_head0;
	/* Wider than the 16-bit index, so that masking it needs no zero
	 * extension; stored back truncated. */
	unsigned avail_idx = q->avail_idx;
	unsigned done;
	int err = 0;

	for (; a != end; a++) {
		const struct vr_seg *seg = a->seg;
		struct vr_desc *d;
		struct vr_drv_slot *s;
		uint16_t head, next;
		uint32_t w;
		uint64_t addr;
		uint32_t len;

		/* One segment, present: the checks below are vr__segs_check's
		 * for n = 1 (n <= num always holds). */
		if (VR_UNLIKELY(a->n_out + a->n_in != 1 || seg == NULL)) {
			err = VR__GENERAL;
			break;
		}
		addr = seg->addr;
		len = seg->len;
		/* Zero length: VR_EINVAL or, with VR_QF_ZERO_LEN_OK, added:
		 * the single call says which (one test less per message). */
		if (VR_UNLIKELY(len == 0)) {
			err = VR__GENERAL;
			break;
		}
		w = a->n_in; /* 0 or 1 */
		head = free_head;
		s = &slot[head];
		next = in_order ? (uint16_t)((head + 1) & mask) : s->next;
		d = &desc[head];
		/* Plain stores: the device may not read this descriptor until
		 * the release store of avail->idx in publish (R1). */
		d->addr = vr__le64(addr);
		/* Separate stores, d->next apart from d->flags: merging them
		 * into wider ones (GCC does, when they are adjacent) takes
		 * more shifts and ors than it saves stores. */
		d->len = vr__le32(len);
		d->flags = vr__le16((uint16_t)(w << 1)); /* VR_DESC_F_WRITE */
		s->cookie = a->cookie;
		s->in_len = len & (0u - w);
		s->ndesc = 1;
		d->next = vr__le16(next);
		s->last = in_order ? (uint16_t)avail_idx : head;
		/* Relaxed: published by the release store of avail->idx (R1). */
		vr__store16(&ring[avail_idx & mask], vr__le16(head));
		free_head = next;
		avail_idx++;
	}
	if (a == end && end != first + n)
		err = VR__GENERAL; /* out of descriptors: the single call */
	done = (unsigned)(a - first);
	if (ids) {
		/* The heads taken, from private state only (not read back
		 * from the shared ring): in order, consecutive from the old
		 * free head; otherwise the free list from it, whose links
		 * the loop read and did not change. */
		uint16_t h = free_head0;
		unsigned j;

		for (j = 0; j < done; j++) {
			ids[j] = h;
			h = in_order ? (uint16_t)((h + 1) & mask) : slot[h].next;
		}
	}
	q->free_head = free_head;
	q->num_free = (uint16_t)(q->num_free - done);
	q->avail_idx = (uint16_t)avail_idx;
	q->in_flight = (uint16_t)(q->in_flight + done);
	return vr__fast_ret(done, err);
}

VR__NOINLINE uint64_t split_add_fast_plain(struct vr_split_drv *q,
					    const struct vr_add *a, unsigned n,
					    uint16_t *ids)
{
	return split_add_fast(q, a, n, ids, false);
}

VR__NOINLINE uint64_t split_add_fast_in_order(struct vr_split_drv *q,
					       const struct vr_add *a,
					       unsigned n, uint16_t *ids)
{
	return split_add_fast(q, a, n, ids, true);
}

int vr_split_drv_add_burst(struct vr_split_drv *q, const struct vr_add *adds,
			   unsigned n, uint16_t *ids)
{
	unsigned i = 0;
	int res = 0;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	if (n <= 1) {
		/* None, or one chain: the single call, without the loop's
		 * set-up (the same head, ring bytes and code); the test
		 * replaces the loop's own for none. */
		if (n == 0)
			return 0;
		if (VR_UNLIKELY(adds == NULL))
			return VR_EINVAL;
		res = vr_split_drv_add(q, adds->seg, adds->n_out, adds->n_in,
				       adds->cookie);
		if (res < 0)
			return res;
		if (ids)
			ids[0] = (uint16_t)res;
		return 1;
	}
	if (VR_UNLIKELY(adds == NULL))
		return VR_EINVAL;
	while (i < n) {
		/* Non-coherent memory: every chain through the single call,
		 * which cleans what it writes. */
		if (VR_LIKELY(q->mem.clean == NULL)) {
			uint16_t *at = ids ? ids + i : NULL;
			uint64_t r = q->in_order
					     ? split_add_fast_in_order(q, adds + i, n - i, at)
					     : split_add_fast_plain(q, adds + i, n - i, at);

			i += vr__fast_n(r);
			res = vr__fast_err(r);
			if (res != VR__GENERAL)
				break;
		}
		res = vr_split_drv_add(q, adds[i].seg, adds[i].n_out,
				       adds[i].n_in, adds[i].cookie);
		if (res < 0)
			break;
		if (ids)
			ids[i] = (uint16_t)res;
		res = 0;
		i++;
	}
	return i ? (int)i : res;
}

/* ---- Driver: collect used ---------------------------------------------- */

/*
 * The used entry at @last_used, checked, for both collection loops: 0 with
 * its @id (a head in flight) and @len, or VR_EAGAIN (none yet), VR_EUSEDIDX
 * (the device's index ran past what is in flight: @in_flight0 when the
 * burst began at @last_used0) or VR_EUSEDID. used->idx is read again only
 * when every entry seen before (@used_seen) is taken.
 */
VR__HOT_INLINE int used_next(const struct vr_used *used,
			     const struct vr_used_elem *uring,
			     const struct vr_drv_slot *slot, unsigned mask,
			     unsigned last_used, uint16_t last_used0,
			     uint16_t in_flight0, uint16_t *used_seen,
			     uint32_t *id, uint32_t *len)
{
	const struct vr_used_elem *elem;

	if ((uint16_t)last_used == *used_seen) {
		/* A2 (acquire): the used entries the device wrote before its
		 * release of used->idx are visible after this load. Partner:
		 * R2 in vr_split_dev_publish. */
		uint16_t seen = vr__le16(vr__load_acquire16(&used->idx));

		if (seen == (uint16_t)last_used)
			return VR_EAGAIN;
		if (VR_UNLIKELY((uint16_t)(seen - last_used) >
				(uint16_t)(in_flight0 - (last_used - last_used0))))
			return VR_EUSEDIDX;
		*used_seen = seen;
	}
	elem = &uring[last_used & mask];
	/* Relaxed, each field read once: ordered after A2. */
	*id = vr__le32(vr__load32(&elem->id));
	*len = vr__le32(vr__load32(&elem->len));
	if (VR_UNLIKELY(*id > mask || slot[*id].ndesc == 0))
		return VR_EUSEDID;
	return 0;
}

/* The plain loop of a get_used burst, without hooks (the caller checked).
 * A violation is recorded in q->broken at the end, as vr__split_drv_break
 * would. A length above the writable bytes stops the loop (VR__GENERAL)
 * before the entry changes anything: the single call clamps it or breaks
 * the queue. */
VR__NOINLINE uint64_t split_get_used_fast_plain(struct vr_split_drv *q,
						struct vr_used_buf *out,
						unsigned max)
{
	struct vr_used_buf *const first = out, *const end = out + max;
	struct vr_used *const used = q->used;
	struct vr_used_elem *const uring = vr_used_ring(q->used);
	struct vr_drv_slot *const slot = q->slot;
	const unsigned mask = q->mask;
	uint16_t free_head = q->free_head;
	uint16_t num_free = q->num_free;
	/* Wider than the 16-bit index (no zero extension to mask it);
	 * compared and stored back truncated. */
	unsigned last_used = q->last_used;
	const uint16_t last_used0 = q->last_used;
	uint16_t used_seen = q->used_seen;
	/* In flight at the start; less the entries taken where tested. */
	const uint16_t in_flight0 = q->in_flight;
	unsigned n;
	int err = 0;

	for (; out != end; out++) {
		struct vr_drv_slot *s;
		uint32_t id, len;

		err = used_next(used, uring, slot, mask, last_used, last_used0,
				in_flight0, &used_seen, &id, &len);
		if (VR_UNLIKELY(err))
			break;
		s = &slot[id];
		if (VR_UNLIKELY(len > s->in_len)) {
			err = VR__GENERAL;
			break;
		}
		/* Give the descriptors back through the private record
		 * only. */
		slot[s->last].next = free_head;
		free_head = (uint16_t)id;
		out->cookie = s->cookie;
		out->len = len;
		out->id = (uint16_t)id;
		num_free = (uint16_t)(num_free + s->ndesc);
		s->ndesc = 0;
		last_used++;
	}
	/* Every entry taken moved last_used and in_flight by one. */
	n = (unsigned)(out - first);
	q->free_head = free_head;
	q->num_free = num_free;
	q->last_used = (uint16_t)last_used;
	q->used_seen = used_seen;
	q->in_flight = (uint16_t)(in_flight0 - n);
	if (err < VR_EAGAIN)
		q->broken = err;
	return vr__fast_ret(n, err);
}

/*
 * The IN_ORDER loop of a get_used burst, without hooks (the caller
 * checked), in runs: once a batch is known (a used entry naming its last
 * head, checked as split_get_used_fast_plain does), the chains up to it are the
 * next (avail position of that head) - last_used + 1 oldest, so that the
 * run takes them with no test per chain; the run's last chain, when it
 * closes the batch, gets the entry's length. The oldest chain starts at
 * descriptor cursor & mask (sequential allocation); the cursor is kept
 * unmasked so that num_free is cursor - free_head at the end (free_head
 * does not move here).
 */
VR__NOINLINE uint64_t split_get_used_fast_in_order(struct vr_split_drv *q,
						   struct vr_used_buf *out,
						   unsigned max)
{
	struct vr_used_buf *const first = out, *const end = out + max;
	struct vr_used *const used = q->used;
	struct vr_used_elem *const uring = vr_used_ring(q->used);
	struct vr_drv_slot *const slot = q->slot;
	const unsigned mask = q->mask;
	const uint16_t free_head = q->free_head;
	unsigned cursor = (unsigned)free_head + q->num_free;
	/* Wider than the 16-bit index; compared and stored back truncated. */
	unsigned last_used = q->last_used;
	const uint16_t last_used0 = q->last_used;
	uint16_t used_seen = q->used_seen;
	const uint16_t in_flight0 = q->in_flight;
	uint16_t batch_end = q->batch_end;
	uint32_t batch_len = q->batch_len;
	unsigned n;
	int err = 0;

	while (out != end) {
		struct vr_used_buf *rend;
		unsigned k;
		bool closes;

		if (batch_end == VR__NONE) {
			uint32_t id, len;

			err = used_next(used, uring, slot, mask, last_used,
					last_used0, in_flight0, &used_seen, &id,
					&len);
			if (VR_UNLIKELY(err))
				break;
			if (id == (cursor & mask) && len <= slot[id].in_len) {
				/* The oldest chain alone (what a device completing
				 * chain by chain returns): as the run below with
				 * k = 1, without its set-up. */
				struct vr_drv_slot *const s = &slot[id];

				out->cookie = s->cookie;
				out->len = len;
				out->id = (uint16_t)id;
				cursor += s->ndesc;
				s->ndesc = 0;
				out++;
				last_used++;
				continue;
			}
			/* The named head's avail position says how many chains
			 * the entry closes; they must fit in what used->idx
			 * announced. */
			if (VR_UNLIKELY((uint16_t)(slot[id].last - last_used) >=
					(uint16_t)(used_seen - last_used))) {
				err = VR_EUSEDIDX;
				break;
			}
			/* Too long: the single call clamps or breaks (nothing
			 * is changed yet for this entry). */
			if (VR_UNLIKELY(len > slot[id].in_len)) {
				err = VR__GENERAL;
				break;
			}
			batch_end = (uint16_t)id;
			batch_len = len;
		}
		/* The chains up to the batch's last (in flight, checked when
		 * the entry was read), or to the end of the burst. */
		k = (uint16_t)(slot[batch_end].last - last_used) + 1u;
		closes = k <= (unsigned)(end - out);
		if (!closes)
			k = (unsigned)(end - out);
		rend = out + k;
		for (; out != rend; out++) {
			const unsigned id = cursor & mask;
			struct vr_drv_slot *const s = &slot[id];

			out->cookie = s->cookie;
			out->len = s->in_len;
			out->id = (uint16_t)id;
			cursor += s->ndesc;
			s->ndesc = 0;
		}
		last_used += k;
		if (closes) {
			out[-1].len = batch_len;
			batch_end = VR__NONE;
		}
	}
	/* Every entry taken moved last_used and in_flight by one. */
	n = (unsigned)(out - first);
	q->num_free = (uint16_t)(cursor - free_head);
	q->io_head = (uint16_t)(cursor & q->mask);
	q->last_used = (uint16_t)last_used;
	q->used_seen = used_seen;
	q->in_flight = (uint16_t)(in_flight0 - n);
	q->batch_end = batch_end;
	q->batch_len = batch_len;
	if (err < VR_EAGAIN)
		q->broken = err;
	return vr__fast_ret(n, err);
}

int vr_split_drv_get_used_burst(struct vr_split_drv *q, struct vr_used_buf *out,
				unsigned max)
{
	unsigned i = 0;
	int err = 0;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	if (VR_UNLIKELY(out == NULL && max != 0))
		return VR_EINVAL;
	if (VR_UNLIKELY(q->mem.invalidate != NULL) || max <= 1) {
		/* Non-coherent memory: every entry through the single call,
		 * which invalidates what it reads. None or one entry: the
		 * single call too, without the loop's set-up. */
		for (i = 0; i < max; i++) {
			err = vr_split_drv_get_used(q, &out[i]);
			if (err)
				break;
		}
		return i ? (int)i : (err == VR_EAGAIN ? 0 : err);
	}
	for (;;) {
		uint64_t r = q->in_order
				     ? split_get_used_fast_in_order(q, out + i, max - i)
				     : split_get_used_fast_plain(q, out + i, max - i);

		i += vr__fast_n(r);
		err = vr__fast_err(r);
		if (VR_LIKELY(err != VR__GENERAL))
			break;
		/* A length above the writable bytes: the single call. */
		err = vr_split_drv_get_used(q, &out[i]);
		if (err)
			break;
		if (++i == max)
			break;
	}
	return i ? (int)i : (err == VR_EAGAIN ? 0 : err);
}

/* ---- Device: pop ------------------------------------------------------- */

/*
 * One run of a pop burst: the @k avail entries from ring position @i on
 * (no wrap, no more than pending, room in flight or chains left: the
 * caller bounded k), each a one-descriptor chain on a window that does not
 * wrap, without hooks (the caller checked). No call inside, and a function
 * of its own: inlined into the outer loop, GCC kept the outer loop's
 * values in registers and spilled the window and table pointers, read on
 * every message. Returns the entries of the run not taken (one live value
 * less than the count taken: the caller knows k) and the code that stopped
 * the run (0 when all k were taken), packed.
 */
VR__HOT_INLINE uint64_t split_pop_run(struct vr_split_dev *q,
				      struct vr_chain *c, unsigned i,
				      unsigned pos, unsigned k,
				      const bool in_order)
{
	const struct vr_desc *const desc = q->desc;
	uint16_t *const chain_ndesc = q->chain_ndesc;
	unsigned char *const local = (unsigned char *)q->mem.local;
	const uint64_t bus_base = q->mem.bus_base;
	const uint64_t size = q->mem.size;
	const unsigned mask = q->mask;
	const uint16_t *p = &vr_avail_ring(q->avail)[i];
	const uint16_t *const pend = p + k;
	uint16_t *order = in_order ? &q->order[i] : NULL;
	/* IN_ORDER (vr__split_dev_io_window): the window of chains in flight
	 * starts at oldest (q's fields are stored back only after the
	 * burst) and holds @span of them before this entry. */
	const unsigned oldest = (uint16_t)(q->last_avail - q->in_flight);
	unsigned span = (uint16_t)(pos - oldest);
	int err = 0;

	for (; p != pend; p++, c++) {
		struct vr_iov *const iov = c->iov;
		const struct vr_desc *d;
		uint64_t addr, off, room;
		uint32_t len, flags;
		unsigned head;

		/* No iov array (E2BIG or EINVAL): the single call says
		 * which. */
		if (VR_UNLIKELY(c->iov_cap == 0 || iov == NULL)) {
			err = VR__GENERAL;
			break;
		}
		/* Relaxed, read once: ordered after A1. */
		head = vr__le16(vr__load16(p));
		if (VR_UNLIKELY(head > mask)) {
			err = VR_EHEAD;
			break;
		}
		if (in_order && VR__SPLIT_IO_POS) {
			const unsigned at = chain_ndesc[head];

			if (VR_UNLIKELY((uint16_t)(at - oldest) < span &&
					q->order[at & mask] == head)) {
				err = VR_EINFLIGHT;
				break;
			}
			/* Recorded before the descriptor is looked at, as
			 * the single pop does (harmless if it is not taken:
			 * see split_dev_pop). */
			chain_ndesc[head] = (uint16_t)pos;
			*order = (uint16_t)head;
		} else if (VR_UNLIKELY(chain_ndesc[head] != 0)) {
			err = VR_EINFLIGHT;
			break;
		}
		d = &desc[head];
		/* Relaxed, each field once into locals: after A1. */
		addr = vr__load_desc_addr(&d->addr);
		len = vr__le32(vr__load32(&d->len));
		flags = vr__le16(vr__load16(&d->flags));
		/* Chained, indirect or empty: the general walk (which reads
		 * the descriptor again and uses only its own copy). */
		if (VR_UNLIKELY((flags & (VR_DESC_F_NEXT | VR_DESC_F_INDIRECT)) ||
				len == 0)) {
			err = VR__GENERAL;
			break;
		}
		/* The window check: [addr, addr + len) inside [bus_base,
		 * bus_base + size), which does not wrap (checked by the
		 * caller): len <= size and off <= size - len. An address
		 * below bus_base makes off wrap to at least 2^64 - bus_base
		 * >= size > size - len (len is not 0). The exact code is
		 * worked out only on failure. */
		off = addr - bus_base;
		room = size - len; /* wraps (above size) when len > size */
		if (VR_UNLIKELY(room > size || off > room)) {
			err = vr__range_wraps(addr, len) ? VR_EOVERFLOW : VR_EFAULT;
			break;
		}
		iov->base = local + (size_t)off;
		iov->len = len;
		vr__chain_fill(c, (uint16_t)head, len, flags & VR_DESC_F_WRITE);
		if (in_order) {
			if (!VR__SPLIT_IO_POS) { /* as without IN_ORDER */
				chain_ndesc[head] = 1;
				*order = (uint16_t)head;
			}
			order++;
			pos++;
			span++;
		} else {
			chain_ndesc[head] = 1;
		}
	}
#if !VR__OPT_SIZE
	/* The newest head, for the inline complete_in_order
	 * (vr_split_dev.last_head): order[] at the position before the
	 * one @order stopped at (which moved past every chain taken).
	 * Taken before, if this run took none; never popped, if nothing is
	 * in flight, when last_head is not read. */
	if (in_order)
		q->last_head = order != q->order ? order[-1] : q->order[mask];
#endif
	/* What is left of the run (the caller knows k): one live value
	 * less than the count taken. */
	return vr__fast_ret((unsigned)(pend - p), err);
}

VR__NOINLINE uint64_t split_pop_run_plain(struct vr_split_dev *q,
					  struct vr_chain *c, unsigned i,
					  unsigned k)
{
	return split_pop_run(q, c, i, 0, k, false);
}

VR__NOINLINE uint64_t split_pop_run_in_order(struct vr_split_dev *q,
					     struct vr_chain *c, unsigned i,
					     unsigned pos, unsigned k)
{
	return split_pop_run(q, c, i, pos, k, true);
}

/*
 * The fast path of a pop burst, without hooks (the caller checked);
 * @in_order is a constant in each of the two copies. Per run of entries,
 * not per message: avail->idx is read when the entries seen are used up,
 * and the run is bounded by what is pending, the room in flight, the
 * chains left and the end of the avail ring, so that split_pop_run
 * indexes the ring without a mask and makes no count or room test. The
 * room bound is also implied by the in-flight test on each head (every
 * chain in flight holds a marked head); exhausted, the single call says
 * what the next entry gets. Queue state is worked out from the chains
 * taken (each moved last_avail and in_flight by one) and stored once.
 */
VR__HOT_INLINE uint64_t split_pop_fast(struct vr_split_dev *q,
				       struct vr_chain *c, unsigned max,
				       const bool in_order)
{
	struct vr_chain *const first = c, *const end = c + max;
	const unsigned mask = q->mask;
	uint16_t avail_seen = q->avail_seen;
	unsigned n;
	int err = 0;

	while (c != end) {
		const uint16_t taken = (uint16_t)(c - first);
		const uint16_t last_avail = (uint16_t)(q->last_avail + taken);
		const unsigned room = mask + 1 - (uint16_t)(q->in_flight + taken);
		unsigned i, k = (uint16_t)(avail_seen - last_avail);

		if (k == 0) {
			uint16_t seen;

			/* The single call checks the iov arguments before the
			 * avail index: a bad one goes to it. */
			if (VR_UNLIKELY(c->iov_cap == 0 || c->iov == NULL)) {
				err = VR__GENERAL;
				break;
			}
			/* A1 (acquire): the ring entries and descriptors the
			 * driver wrote before its release of avail->idx are
			 * visible after this load. Partner: R1 in
			 * vr_split_drv_publish. */
			seen = vr__le16(vr__load_acquire16(&q->avail->idx));
			k = (uint16_t)(seen - last_avail);
			if (k == 0) {
				err = VR_EAGAIN;
				break;
			}
			if (VR_UNLIKELY(k > mask + 1)) {
				err = VR_EAVAILIDX;
				break;
			}
			avail_seen = seen;
		}
		/* No room in flight: a violation if an entry is pending, which
		 * the single call works out (head checks first). */
		if (VR_UNLIKELY(room == 0)) {
			err = VR__GENERAL;
			break;
		}
		if (k > room)
			k = room;
		if (k > (unsigned)(end - c))
			k = (unsigned)(end - c);
		i = last_avail & mask;
		if (k > mask + 1 - i)
			k = mask + 1 - i;
		{
			const uint64_t r = in_order ? split_pop_run_in_order(q, c, i, last_avail, k)
						    : split_pop_run_plain(q, c, i, k);

			c += k - vr__fast_n(r);
			err = vr__fast_err(r);
		}
		if (err)
			break;
	}
	/* Every chain taken moved last_avail and in_flight by one. */
	n = (unsigned)(c - first);
	q->last_avail = (uint16_t)(q->last_avail + n);
	q->avail_seen = avail_seen;
	q->in_flight = (uint16_t)(q->in_flight + n);
	if (err < VR_EAGAIN) {
		/* A violation: as vr__split_dev_break. */
		q->broken = err;
#if !VR__OPT_SIZE
		q->io_fast = false; /* (never set built for size) */
#endif
	}
	return vr__fast_ret(n, err);
}

int vr_split_dev_pop_burst(struct vr_split_dev *q, struct vr_chain *chains,
			   unsigned max)
{
	unsigned i = 0;
	int res = 0;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	if (VR_UNLIKELY(chains == NULL && max != 0))
		return VR_EINVAL;
	/* A translate callback, cache hooks, or a window that wraps past
	 * 2^64 (where the fast window check would not be exact): every
	 * chain through the single call. */
	if (VR_UNLIKELY(q->mem.translate != NULL || q->mem.invalidate != NULL ||
			(q->mem.size != 0 &&
			 q->mem.size - 1 > UINT64_MAX - q->mem.bus_base))) {
		for (i = 0; i < max; i++) {
			res = vr_split_dev_pop(q, &chains[i]);
			if (res)
				break;
		}
		return i ? (int)i : (res == VR_EAGAIN ? 0 : res);
	}
	while (i < max) {
		uint64_t r = q->in_order
				     ? split_pop_fast(q, chains + i, max - i, true)
				     : split_pop_fast(q, chains + i, max - i, false);

		i += vr__fast_n(r);
		res = vr__fast_err(r);
		if (res != VR__GENERAL)
			break;
		res = vr_split_dev_pop(q, &chains[i]);
		if (res)
			break;
		i++;
	}
	return i ? (int)i : (res == VR_EAGAIN ? 0 : res);
}

/* ---- Device: complete -------------------------------------------------- */

/* The loop of a complete burst, without hooks (the caller checked); one
 * copy per IN_ORDER mode. */
VR__HOT_INLINE uint64_t split_complete_fast(struct vr_split_dev *q,
					    const struct vr_done *done,
					    unsigned n, const bool in_order)
{
	const struct vr_done *const first = done, *const end = done + n;
	struct vr_used_elem *const uring = vr_used_ring(q->used);
	uint16_t *const chain_ndesc = q->chain_ndesc;
	const uint16_t *const order = q->order;
	const unsigned mask = q->mask;
	/* Wider than the 16-bit index: no zero extension to mask it. */
	unsigned oldest = (uint16_t)(q->last_avail - q->in_flight);
	/* In flight before this entry: q->in_flight less the entries done
	 * (only IN_ORDER tests it; the count is stored back once). */
	uint16_t in_flight = q->in_flight;
	const unsigned pos = q->used_idx & mask;
	/* In at most two runs, each not wrapping the used ring: an entry
	 * pointer, no mask per message. */
	const struct vr_done *rend = n < mask + 1 - pos ? end : done + (mask + 1 - pos);
	struct vr_used_elem *elem = &uring[pos];
	int err = 0;

	for (;;) {
		for (; done != rend; done++, elem++) {
			const unsigned id = done->id;

			if (in_order) {
				/* Only the oldest in flight, popped at avail
				 * position last_avail - in_flight. */
				if (VR_UNLIKELY(in_flight == 0 ||
						order[oldest & mask] != id)) {
					err = VR_ESTATE;
					break;
				}
				oldest++;
				in_flight--;
			} else if (VR_UNLIKELY(id > mask || chain_ndesc[id] == 0)) {
				err = VR_ESTATE;
				break;
			}
			/* Relaxed: published by the release store of
			 * used->idx (R2). */
			vr__store32(&elem->id, vr__le32(id));
			vr__store32(&elem->len, vr__le32(done->len));
			/* IN_ORDER: oldest moved on; built for speed the
			 * record needs no clearing (vr__split_dev_io_window),
			 * built for size it does (VR__SPLIT_IO_POS); cleared
			 * in both, as vr_split_dev_complete does. */
			chain_ndesc[id] = 0;
		}
		if (err || done == end)
			break;
		elem = uring;
		rend = end;
	}
	n = (unsigned)(done - first);
	q->used_idx = (uint16_t)(q->used_idx + n);
	q->in_flight = (uint16_t)(q->in_flight - n);
	return vr__fast_ret(n, err);
}

VR__NOINLINE uint64_t split_complete_fast_plain(struct vr_split_dev *q,
						const struct vr_done *done,
						unsigned n)
{
	return split_complete_fast(q, done, n, false);
}

VR__NOINLINE uint64_t split_complete_fast_in_order(struct vr_split_dev *q,
						   const struct vr_done *done,
						   unsigned n)
{
	return split_complete_fast(q, done, n, true);
}

int vr_split_dev_complete_burst(struct vr_split_dev *q,
				const struct vr_done *done, unsigned n)
{
	unsigned i;
	uint64_t r;
	int err = 0;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	if (VR_UNLIKELY(done == NULL && n != 0))
		return VR_EINVAL;
	if (VR_UNLIKELY(q->mem.clean != NULL)) {
		/* Non-coherent memory: the single call cleans each entry. */
		for (i = 0; i < n; i++) {
			err = vr_split_dev_complete(q, done[i].id, done[i].len);
			if (err)
				break;
		}
		return i ? (int)i : err;
	}
	r = q->in_order ? split_complete_fast_in_order(q, done, n)
			: split_complete_fast_plain(q, done, n);
	return vr__fast_n(r) ? (int)vr__fast_n(r) : vr__fast_err(r);
}

/* ---- The narrow calls: one segment per message ------------------------- */


/*
 * The loop of vr_split_drv_add_bufs, without cache hooks (the caller
 * checked): each entry as vr_split_drv_add(q, &seg, !writable, writable,
 * cookie). The run is bounded by the free descriptors once (past them the
 * single call says what the next entry gets), so the loop makes no room
 * test; a one-segment add needs none of vr__segs_check's other tests but
 * the zero length, which goes to the single call (VR_EINVAL, or added with
 * VR_QF_ZERO_LEN_OK). One copy per direction and IN_ORDER mode.
 */
VR__HOT_INLINE uint64_t split_add_bufs_fast(struct vr_split_drv *q,
					    const struct vr_add_buf *b,
					    unsigned n, uint16_t *ids,
					    const bool writable,
					    const bool in_order)
{
	const struct vr_add_buf *const first = b;
	const struct vr_add_buf *const end = b + (n < q->num_free ? n : q->num_free);
	struct vr_desc *const desc = q->desc;
	uint16_t *const ring = vr_avail_ring(q->avail);
	struct vr_drv_slot *const slot = q->slot;
	const unsigned mask = q->mask;
	const uint16_t free_head0 = q->free_head;
	const uint16_t flags_le = vr__le16(writable ? VR_DESC_F_WRITE : 0);
	unsigned free_head = free_head0;
	/* Wider than the 16-bit index: masking needs no zero extension. */
	unsigned avail_idx = q->avail_idx;
	unsigned done;
	int err = 0;

	for (; b != end; b++) {
		const uint32_t len = b->seg.len;
		struct vr_desc *d;
		struct vr_drv_slot *s;
		unsigned head, next;

		if (VR_UNLIKELY(len == 0)) {
			err = VR__GENERAL;
			break;
		}
		head = free_head;
		s = &slot[head];
		next = in_order ? (head + 1) & mask : s->next;
		d = &desc[head];
		/* Plain stores: the device may not read this descriptor until
		 * the release store of avail->idx in publish (R1). */
		d->addr = vr__le64(b->seg.addr);
		d->len = vr__le32(len);
		d->flags = flags_le;
		/* d->next apart from d->flags (see split_add_fast). */
		s->cookie = b->cookie;
		s->in_len = writable ? len : 0;
		s->ndesc = 1;
		d->next = vr__le16((uint16_t)next);
		s->last = (uint16_t)(in_order ? avail_idx : head);
		/* Relaxed: published by the release store of avail->idx (R1). */
		vr__store16(&ring[avail_idx & mask], vr__le16((uint16_t)head));
		free_head = next;
		avail_idx++;
	}
	if (b == end && end != first + n)
		err = VR__GENERAL; /* out of descriptors: the single call */
	done = (unsigned)(b - first);
	if (ids) {
		/* The heads taken, from private state only (as in
		 * split_add_fast). */
		unsigned h = free_head0, j;

		for (j = 0; j < done; j++) {
			ids[j] = (uint16_t)h;
			h = in_order ? (h + 1) & mask : slot[h].next;
		}
	}
	q->free_head = (uint16_t)free_head;
	q->num_free = (uint16_t)(q->num_free - done);
	q->avail_idx = (uint16_t)avail_idx;
	q->in_flight = (uint16_t)(q->in_flight + done);
	return vr__fast_ret(done, err);
}

#define VR__ADD_BUFS_COPY(name, w, io)                                         \
	VR__NOINLINE uint64_t name(struct vr_split_drv *q,                     \
				   const struct vr_add_buf *b, unsigned n,     \
				   uint16_t *ids)                              \
	{                                                                      \
		return split_add_bufs_fast(q, b, n, ids, w, io);               \
	}
VR__ADD_BUFS_COPY(split_add_bufs_r_plain, false, false)
VR__ADD_BUFS_COPY(split_add_bufs_w_plain, true, false)
VR__ADD_BUFS_COPY(split_add_bufs_r_in_order, false, true)
VR__ADD_BUFS_COPY(split_add_bufs_w_in_order, true, true)
#undef VR__ADD_BUFS_COPY

/*
 * One buffer of vr_split_drv_add_bufs (n == 1) on coherent memory, with a
 * nonzero length and a free descriptor (the caller checked, and broken):
 * what vr_split_drv_add() writes for a one-segment chain, without its
 * segment loop and mode tests. With IN_ORDER the head is the cursor and
 * the next free descriptor the one after it: no free list is read. The
 * queue's fields are read into locals first (the stores below may alias
 * them as far as the compiler knows).
 */
VR__HOT_INLINE int split_add_buf_one(struct vr_split_drv *q,
				     const struct vr_add_buf *b,
				     const bool writable, const bool in_order)
{
	const unsigned mask = q->mask, head = q->free_head;
	const uint16_t pos = q->avail_idx, num_free = q->num_free;
	const uint16_t in_flight = q->in_flight;
	struct vr_drv_slot *const s = &q->slot[head];
	struct vr_desc *const d = &q->desc[head];
	uint16_t *const ring = vr_avail_ring(q->avail);
	const uint32_t len = b->seg.len;
	const unsigned next = in_order ? (head + 1) & mask : s->next;

	/* Plain stores: the device may not read this descriptor until the
	 * release store of avail->idx in publish (R1). */
	d->addr = vr__le64(b->seg.addr);
	d->len = vr__le32(len);
	d->flags = vr__le16(writable ? VR_DESC_F_WRITE : 0);
	d->next = vr__le16((uint16_t)next);
	s->cookie = b->cookie;
	s->in_len = writable ? len : 0;
	s->ndesc = 1;
	s->last = in_order ? pos : (uint16_t)head;
	/* Relaxed: published by the release store of avail->idx (R1). */
	vr__store16(&ring[pos & mask], vr__le16((uint16_t)head));
	q->free_head = (uint16_t)next;
	q->num_free = (uint16_t)(num_free - 1);
	q->avail_idx = (uint16_t)(pos + 1);
	q->in_flight = (uint16_t)(in_flight + 1);
	return (int)head;
}

int vr_split_drv_add_bufs(struct vr_split_drv *q, const struct vr_add_buf *bufs,
			  unsigned n, bool writable, uint16_t *ids)
{
	const unsigned n_out = writable ? 0 : 1, n_in = writable ? 1 : 0;
	unsigned i = 0;
	int res = 0;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	if (n <= 1) {
		/* None, or one buffer: the single call, without the loop's
		 * set-up; the test replaces the loop's own for none. */
		if (n == 0)
			return 0;
		if (VR_UNLIKELY(bufs == NULL))
			return VR_EINVAL;
		if (VR_LIKELY(q->mem.clean == NULL && bufs->seg.len != 0 &&
			      q->num_free != 0)) {
			if (q->in_order)
				res = writable ? split_add_buf_one(q, bufs, true, true)
					       : split_add_buf_one(q, bufs, false, true);
			else
				res = writable ? split_add_buf_one(q, bufs, true, false)
					       : split_add_buf_one(q, bufs, false, false);
		} else {
			/* Hooks, a zero length, no room: the single call
			 * (its code, or the add it makes). */
			res = vr_split_drv_add(q, &bufs->seg, n_out, n_in,
					       bufs->cookie);
			if (res < 0)
				return res;
		}
		if (ids)
			ids[0] = (uint16_t)res;
		return 1;
	}
	if (VR_UNLIKELY(bufs == NULL))
		return VR_EINVAL;
	while (i < n) {
		/* Non-coherent memory: every entry through the single call,
		 * which cleans what it writes. */
		if (VR_LIKELY(q->mem.clean == NULL)) {
			uint16_t *at = ids ? ids + i : NULL;
			uint64_t r;

			if (q->in_order)
				r = writable ? split_add_bufs_w_in_order(q, bufs + i, n - i, at)
					     : split_add_bufs_r_in_order(q, bufs + i, n - i, at);
			else
				r = writable ? split_add_bufs_w_plain(q, bufs + i, n - i, at)
					     : split_add_bufs_r_plain(q, bufs + i, n - i, at);

			i += vr__fast_n(r);
			res = vr__fast_err(r);
			if (res != VR__GENERAL)
				break;
		}
		res = vr_split_drv_add(q, &bufs[i].seg, n_out, n_in, bufs[i].cookie);
		if (res < 0)
			break;
		if (ids)
			ids[i] = (uint16_t)res;
		res = 0;
		i++;
	}
	return i ? (int)i : res;
}

/*
 * One run of a pop_bufs call, as split_pop_run for struct vr_buf: the @k
 * avail entries from position @pos on (no wrap, no more than pending, room
 * in flight or entries left: the caller bounded k), each a one-descriptor
 * chain on a window that does not wrap, without hooks. Per entry: the head
 * (range, in flight), the descriptor's flags (NEXT or INDIRECT: the
 * general path) and length (0: the general path), the window. Returns the
 * entries of the run not taken and the code that stopped it, packed.
 */
VR__HOT_INLINE uint64_t split_pop_bufs_run(struct vr_split_dev *q,
					   struct vr_buf *o, unsigned pos,
					   unsigned k, const bool in_order)
{
	/* Few locals: the loop has more values than x86-64 has registers,
	 * and a field of *q read where it is used is one memory operand,
	 * where a spilled local costs a store and a load. */
	uint16_t *const chain_ndesc = q->chain_ndesc;
	const uint16_t *p = &vr_avail_ring(q->avail)[pos & q->mask];
	const uint16_t *const pend = p + k;
	uint16_t *order = in_order ? &q->order[pos & q->mask] : NULL;
	/* IN_ORDER (vr__split_dev_io_window): the window of chains in flight
	 * starts at oldest (q's indices are stored back only after the
	 * call); pos - oldest of them are in flight before this entry. */
	const unsigned oldest = (uint16_t)(q->last_avail - q->in_flight);
	int err = 0;

	for (; p != pend; p++, o++) {
		const struct vr_desc *d;
		uint64_t addr, off, room;
		uint32_t len, flags;
		unsigned head;

		/* Relaxed, read once: ordered after A1. */
		head = vr__le16(vr__load16(p));
		if (VR_UNLIKELY(head > q->mask)) {
			err = VR_EHEAD;
			break;
		}
		if (in_order && VR__SPLIT_IO_POS) {
			const unsigned at = chain_ndesc[head];

			if (VR_UNLIKELY((uint16_t)(at - oldest) < (uint16_t)(pos - oldest) &&
					q->order[at & q->mask] == head)) {
				err = VR_EINFLIGHT;
				break;
			}
			/* Recorded before the descriptor is looked at, as
			 * the single pop does (harmless if it is not taken:
			 * see split_dev_pop). */
			chain_ndesc[head] = (uint16_t)pos;
			*order = (uint16_t)head;
		} else if (VR_UNLIKELY(chain_ndesc[head] != 0)) {
			err = VR_EINFLIGHT;
			break;
		}
		d = &q->desc[head];
		/* Relaxed, each field once into locals: after A1. */
		addr = vr__load_desc_addr(&d->addr);
		len = vr__le32(vr__load32(&d->len));
		flags = vr__le16(vr__load16(&d->flags));
		/* Chained or indirect (one test of the flags), or empty: the
		 * general walk, which reads the descriptor again and uses
		 * only its own copy. */
		if (VR_UNLIKELY((flags & (VR_DESC_F_NEXT | VR_DESC_F_INDIRECT)) ||
				len == 0)) {
			err = VR__GENERAL;
			break;
		}
		/* The window check of split_pop_run: [addr, addr + len)
		 * inside [bus_base, bus_base + size), which does not wrap;
		 * the exact code only on failure. */
		off = addr - q->mem.bus_base;
		room = q->mem.size - len;
		if (VR_UNLIKELY(room > q->mem.size || off > room)) {
			err = vr__range_wraps(addr, len) ? VR_EOVERFLOW : VR_EFAULT;
			break;
		}
		o->base = (unsigned char *)q->mem.local + (size_t)off;
		o->len = len;
		o->id = (uint16_t)head;
		o->writable = (uint16_t)((flags & VR_DESC_F_WRITE) >> 1);
		if (in_order) {
			if (!VR__SPLIT_IO_POS) { /* as without IN_ORDER */
				chain_ndesc[head] = 1;
				*order = (uint16_t)head;
			}
			order++;
			pos++;
		} else {
			chain_ndesc[head] = 1;
		}
	}
#if !VR__OPT_SIZE
	/* The newest head, for the inline complete_in_order
	 * (vr_split_dev.last_head): order[] at the position before the
	 * one @order stopped at (which moved past every chain taken).
	 * Taken before, if this run took none; never popped, if nothing is
	 * in flight, when last_head is not read. */
	if (in_order)
		q->last_head = order != q->order ? order[-1] : q->order[q->mask];
#endif
	return vr__fast_ret((unsigned)(pend - p), err);
}

VR__NOINLINE uint64_t split_pop_bufs_run_plain(struct vr_split_dev *q,
					       struct vr_buf *o, unsigned pos,
					       unsigned k)
{
	return split_pop_bufs_run(q, o, pos, k, false);
}

VR__NOINLINE uint64_t split_pop_bufs_run_in_order(struct vr_split_dev *q,
						  struct vr_buf *o, unsigned pos,
						  unsigned k)
{
	return split_pop_bufs_run(q, o, pos, k, true);
}

/* The fast path of vr_split_dev_pop_bufs: split_pop_fast for struct
 * vr_buf (no iov arguments to check). */
VR__HOT_INLINE uint64_t split_pop_bufs_fast(struct vr_split_dev *q,
					    struct vr_buf *o, unsigned max,
					    const bool in_order)
{
	struct vr_buf *const first = o, *const end = o + max;
	const unsigned mask = q->mask;
	uint16_t avail_seen = q->avail_seen;
	unsigned n;
	int err = 0;

	while (o != end) {
		const uint16_t taken = (uint16_t)(o - first);
		const uint16_t last_avail = (uint16_t)(q->last_avail + taken);
		const unsigned room = mask + 1 - (uint16_t)(q->in_flight + taken);
		unsigned i, k = (uint16_t)(avail_seen - last_avail);

		if (k == 0) {
			uint16_t seen;

			/* A1 (acquire): the ring entries and descriptors the
			 * driver wrote before its release of avail->idx are
			 * visible after this load. Partner: R1 in
			 * vr_split_drv_publish. */
			seen = vr__le16(vr__load_acquire16(&q->avail->idx));
			k = (uint16_t)(seen - last_avail);
			if (k == 0) {
				err = VR_EAGAIN;
				break;
			}
			if (VR_UNLIKELY(k > mask + 1)) {
				err = VR_EAVAILIDX;
				break;
			}
			avail_seen = seen;
		}
		/* No room in flight: the single call works out the code. */
		if (VR_UNLIKELY(room == 0)) {
			err = VR__GENERAL;
			break;
		}
		if (k > room)
			k = room;
		if (k > (unsigned)(end - o))
			k = (unsigned)(end - o);
		i = last_avail & mask;
		if (k > mask + 1 - i)
			k = mask + 1 - i;
		{
			const uint64_t r = in_order
						   ? split_pop_bufs_run_in_order(q, o, last_avail, k)
						   : split_pop_bufs_run_plain(q, o, last_avail, k);

			o += k - vr__fast_n(r);
			err = vr__fast_err(r);
		}
		if (err)
			break;
	}
	n = (unsigned)(o - first);
	q->last_avail = (uint16_t)(q->last_avail + n);
	q->avail_seen = avail_seen;
	q->in_flight = (uint16_t)(q->in_flight + n);
	if (err < VR_EAGAIN) {
		/* A violation: as vr__split_dev_break. */
		q->broken = err;
#if !VR__OPT_SIZE
		q->io_fast = false; /* (never set built for size) */
#endif
	}
	return vr__fast_ret(n, err);
}

/* One entry through vr_split_dev_pop (iov_cap 1), converted. */
static int split_pop_bufs_one(struct vr_split_dev *q, struct vr_buf *o)
{
	struct vr_iov iov;
	struct vr_chain c;
	int err;

	c.iov = &iov;
	c.iov_cap = 1;
	err = vr_split_dev_pop(q, &c);
	if (err)
		return err;
	if (c.n_out + c.n_in == 0) {
		/* Only zero-length descriptors (VR_QF_ZERO_LEN_OK). */
		o->base = NULL;
		o->len = 0;
		o->writable = 0;
	} else {
		o->base = iov.base;
		o->len = iov.len;
		o->writable = c.n_in == 1;
	}
	o->id = c.id;
	return 0;
}

int vr_split_dev_pop_bufs(struct vr_split_dev *q, struct vr_buf *bufs,
			  unsigned max)
{
	unsigned i = 0;
	int res = 0;

	if (VR_UNLIKELY(q->broken))
		return VR_EBROKEN;
	if (VR_UNLIKELY(bufs == NULL && max != 0))
		return VR_EINVAL;
	/* A translate callback, cache hooks, or a window that wraps past
	 * 2^64: every chain through the single call (as the pop burst). */
	if (VR_UNLIKELY(q->mem.translate != NULL || q->mem.invalidate != NULL ||
			(q->mem.size != 0 &&
			 q->mem.size - 1 > UINT64_MAX - q->mem.bus_base))) {
		for (i = 0; i < max; i++) {
			res = split_pop_bufs_one(q, &bufs[i]);
			if (res)
				break;
		}
		return i ? (int)i : (res == VR_EAGAIN ? 0 : res);
	}
	while (i < max) {
		uint64_t r = q->in_order
				     ? split_pop_bufs_fast(q, bufs + i, max - i, true)
				     : split_pop_bufs_fast(q, bufs + i, max - i, false);

		i += vr__fast_n(r);
		res = vr__fast_err(r);
		if (res != VR__GENERAL)
			break;
		res = split_pop_bufs_one(q, &bufs[i]);
		if (res)
			break;
		i++;
	}
	return i ? (int)i : (res == VR_EAGAIN ? 0 : res);
}
