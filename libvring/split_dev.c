/* SPDX-License-Identifier: BSD-3-Clause */
/* Split ring, device side: set-up, reset, the validating chain walk,
 * in-order completion, notification control. */
#include <vring/vring.h>

#include "internal.h"

size_t vr_split_dev_state_size(uint32_t num)
{
	if (!vr_split_size_valid(num))
		return 0;
	/* order[num] then chain_ndesc[num]: the array indexed by the peer's
	 * ids comes last, so that with a buffer of exactly this size a read
	 * one past its end is outside the buffer (ASan sees it). */
	return vr__round_up((size_t)num * 2 * sizeof(uint16_t), sizeof(void *));
}

/* Bind the queue object to its areas and state; touches neither shared
 * memory nor the state buffer. The caller has checked everything. */
static void dev_bind(struct vr_split_dev *q, const struct vr_queue_cfg *cfg,
		     const struct vr_split_areas *areas, void *state)
{
	vr__zero(q, sizeof(*q));
	q->desc = (struct vr_desc *)areas->desc;
	q->avail = (struct vr_avail *)areas->avail;
	q->used = (struct vr_used *)areas->used;
	q->order = (uint16_t *)state;
	q->chain_ndesc = q->order + cfg->num;
	q->mem = cfg->mem;
	q->features = cfg->features;
	q->flags = cfg->flags;
	q->num = (uint16_t)cfg->num;
	q->mask = (uint16_t)(cfg->num - 1);
	q->event_idx = (cfg->features & VR_FEATURE(VR_F_EVENT_IDX)) != 0;
	q->in_order = (cfg->features & VR_FEATURE(VR_F_IN_ORDER)) != 0;
	q->io_fast = false; /* set by dev_forget */
	/* Without VR_CONFIG_INDIRECT neither is read (vr__map_indirect
	 * refuses every table) and init refused the feature: both stay 0. */
	if (VR_CONFIG_INDIRECT) {
		q->indirect = (cfg->features & VR_FEATURE(VR_F_INDIRECT_DESC)) != 0;
		q->max_indirect = cfg->max_indirect ? cfg->max_indirect : cfg->num;
	}
}

/* Check the arguments, then bind. */
static int dev_setup(struct vr_split_dev *q, const struct vr_queue_cfg *cfg,
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
	    !vr__aligned(state, sizeof(uint16_t)))
		return VR_EALIGN;
	if (state_len < vr_split_dev_state_size(cfg->num))
		return VR_ERANGE;
	if (vr__split_areas_overlap(areas, cfg->num))
		return VR_EINVAL;
	/* At most 32768: with up to 32767 ring descriptors before it, a
	 * chain's segment count still fits the 16-bit chain counters. */
	if (cfg->max_indirect > VR_QUEUE_SIZE_MAX)
		return VR_EINVAL;
	dev_bind(q, cfg, areas, state);
	return 0;
}

/* Forget every chain: private state only. */
static void dev_forget(struct vr_split_dev *q, uint16_t avail_idx,
		       uint16_t used_idx)
{
	vr__zero(q->order, (size_t)q->num * 2 * sizeof(uint16_t));
	q->last_avail = q->avail_seen = avail_idx;
	q->used_idx = q->used_pub = q->notify_old = used_idx;
	q->in_flight = 0;
	q->used_flags = 0;
	q->since_notify = 0;
	q->broken = 0;
#if !VR__OPT_SIZE
	/* A build for size reads it nowhere (the header's
	 * vr_split_dev_complete_in_order is the compiled call there): it stays
	 * false, as dev_bind left it, which a caller built for speed reads
	 * right (its inline test sends it to the compiled call). */
	q->io_fast = q->in_order && q->mem.clean == NULL;
#endif
}

int vr_split_dev_init(struct vr_split_dev *q, const struct vr_queue_cfg *cfg,
		      const struct vr_split_areas *areas, void *state,
		      size_t state_len)
{
	int err = dev_setup(q, cfg, areas, state, state_len);

	if (err)
		return err;
	vr_split_dev_reset(q);
	return 0;
}

int vr__split_dev_init_parsed(struct vr_split_dev *q,
			      const struct vr_queue_cfg *cfg,
			      const struct vr_split_areas *areas, void *state)
{
	/* What the region parser cannot know: the features and the memory
	 * hooks this build leaves out. */
	if (vr__queue_cfg_unsupported(cfg))
		return VR_ENOTSUP;
	dev_bind(q, cfg, areas, state);
	vr_split_dev_reset(q);
	return 0;
}

int vr_split_dev_attach(struct vr_split_dev *q, const struct vr_queue_cfg *cfg,
			const struct vr_split_areas *areas, void *state,
			size_t state_len, const struct vr_split_base *base)
{
	int err;

	if (!base)
		return VR_EINVAL;
	err = dev_setup(q, cfg, areas, state, state_len);
	if (err)
		return err;
	/* Nothing shared is written or read: the ring is live and the
	 * driver may be using it right now. */
	dev_forget(q, base->avail_idx, base->used_idx);
	return 0;
}

void vr_split_dev_reset(struct vr_split_dev *q)
{
	/* The driver is stopped (reset) while this runs: plain stores. */
	vr__zero(q->used, vr_split_used_bytes(q->num));
	vr_mem_clean(&q->mem, q->used, vr_split_used_bytes(q->num));
	dev_forget(q, 0, 0);
}

int vr__split_dev_break(struct vr_split_dev *q, int err)
{
	q->broken = err;
#if !VR__OPT_SIZE
	q->io_fast = false; /* (never set in a build for size: dev_forget) */
#endif
	return err;
}

#if defined(__OPTIMIZE_SIZE__)
/*
 * The walk in a build optimised for size (the RTOS builds): the same checks
 * in the same order with the same codes as the walk below, as one loop that
 * loads every descriptor, ring or table entry, in one place, and no
 * separate path for a single descriptor (which the loop handles in one
 * pass). The speed-optimised walk below keeps both.
 */
static int vr__split_walk(struct vr_split_dev *q, uint16_t head,
			  struct vr_chain *chain)
{
	struct vr__walk w;
	const unsigned char *table = NULL; /* the indirect table, once reached */
	bool any_align = false;   /* the table is not 4-byte aligned */
	uint32_t limit = q->num;  /* entries in the current table */
	uint32_t count = 0;       /* descriptors read from it */
	uint16_t ring_desc = 0, next = head;

	chain->id = head;
	vr__walk_start(&w, chain);
	for (;;) {
		struct vr__entry e;
		const unsigned char *p;
		int err;

		if (++count > limit)
			return VR_ELOOP; /* chain longer than its table: a loop */
		if (!table) {
			p = (const unsigned char *)&q->desc[next];
			vr_mem_invalidate(&q->mem, p, sizeof(struct vr_desc));
			ring_desc++;
		} else {
			p = table + 16 * (size_t)next;
		}
		/* Each field once; relaxed: ordered after A1 (a ring
		 * descriptor, 16-byte aligned) or reached through a
		 * descriptor acquired by A1 (a table entry, at whatever
		 * alignment the driver chose). */
		vr__load_entry(p, any_align, &e);
		next = e.w14;
		if (e.w12 & VR_DESC_F_INDIRECT) {
			int entries;

			if (table)
				return VR_ENESTED;
			entries = vr__map_indirect(&q->mem, q->indirect, e.addr,
						   e.len, e.w12, q->max_indirect,
						   &table);
			if (entries < 0)
				return entries;
			any_align = vr__table_any_align(table);
			limit = (uint32_t)entries;
			count = 0;
			next = 0;
			continue;
		}
		{
			bool write = (e.w12 & VR_DESC_F_WRITE) != 0;

			err = vr__walk_segment(&w, &q->mem, e.addr, e.len, write);
			if (VR_UNLIKELY(err) &&
			    (err = vr__walk_fail(&w, q->flags, err, write)) != 0)
				return err;
		}
		if (!(e.w12 & VR_DESC_F_NEXT))
			break;
		if (next >= limit)
			return VR_ENEXT;
	}
	chain->ndesc = ring_desc;
	return w.too_many ? VR_E2BIG : 0;
}
#else
/*
 * Walk the chain at @head: ring descriptors first (at most num of them),
 * then optionally one indirect table at the tail (at most num entries, each
 * read once, NEXT followed within the table only). Every descriptor is
 * copied out of shared memory into locals before it is looked at.
 */
/* The rest of the walk, from the head descriptor (copied: @addr, @len,
 * @flags, @next) when it is chained or indirect. Out of line: each copy
 * of the pop keeps only the one-descriptor path (split_dev_walk). */
VR__NOINLINE int vr__split_walk_rest(struct vr_split_dev *q, struct vr_chain *chain,
		    uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vr__walk w;
	const struct vr_desc *d;
	const unsigned char *table = NULL; /* the indirect table, once reached */
	bool any_align = false;   /* the table is not 4-byte aligned */
	uint32_t limit = q->num;  /* entries in the current table */
	uint32_t count = 1;       /* descriptors read from it */
	bool in_indirect = false;
	uint16_t ring_desc = 1;

	vr__walk_start(&w, chain);
	for (;;) {
		int err;

		if (flags & VR_DESC_F_INDIRECT) {
			int entries;

			if (in_indirect)
				return VR_ENESTED;
			entries = vr__map_indirect(&q->mem, q->indirect, addr,
						   len, flags, q->max_indirect,
						   &table);
			if (entries < 0)
				return entries;
			any_align = vr__table_any_align(table);
			limit = (uint32_t)entries;
			count = 0;
			next = 0;
			in_indirect = true;
		} else {
			bool write = (flags & VR_DESC_F_WRITE) != 0;

			err = vr__walk_segment(&w, &q->mem, addr, len, write);
			if (VR_UNLIKELY(err) &&
			    (err = vr__walk_fail(&w, q->flags, err, write)) != 0)
				return err;
			if (!(flags & VR_DESC_F_NEXT))
				break;
			if (next >= limit)
				return VR_ENEXT;
		}
		if (++count > limit)
			return VR_ELOOP; /* chain longer than its table: a loop */
		if (!in_indirect) {
			d = &q->desc[next];
			vr_mem_invalidate(&q->mem, d, sizeof(*d));
			ring_desc++;
			/* Relaxed, each field once: ordered after A1. */
			addr = vr__load_addr(&d->addr);
			len = vr__le32(vr__load32(&d->len));
			flags = vr__le16(vr__load16(&d->flags));
			next = vr__le16(vr__load16(&d->next));
		} else {
			struct vr__entry e;

			/* Each field once, at whatever alignment the driver
			 * chose; relaxed: the table was reached through a
			 * descriptor acquired by A1. */
			vr__load_entry(table + 16 * (size_t)next, any_align, &e);
			addr = e.addr;
			len = e.len;
			flags = e.w12;
			next = e.w14;
		}
	}
	chain->ndesc = ring_desc;
	return w.too_many ? VR_E2BIG : 0;
}

/*
 * Walk the chain at @head: the head descriptor is copied out here, and a
 * chain of that one direct descriptor (the common case of a message
 * channel) is checked inline; anything else goes on in vr__split_walk_rest.
 */
VR__HOT_INLINE int split_dev_walk(struct vr_split_dev *q, uint16_t head,
				  struct vr_chain *chain)
{
	const struct vr_desc *d = &q->desc[head];
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;

	vr_mem_invalidate(&q->mem, d, sizeof(*d));
	/* Relaxed, each field once: ordered after A1. */
	addr = vr__load_addr(&d->addr);
	len = vr__le32(vr__load32(&d->len));
	flags = vr__le16(vr__load16(&d->flags));
	next = vr__le16(vr__load16(&d->next));
	chain->id = head;
	if (VR_LIKELY(!(flags & (VR_DESC_F_NEXT | VR_DESC_F_INDIRECT))))
		return vr__walk_single(chain, &q->mem, q->flags, addr, len, flags);
	return vr__split_walk_rest(q, chain, addr, len, flags, next);
}
#endif

#if defined(__OPTIMIZE_SIZE__)
#define split_dev_walk vr__split_walk
#endif

/*
 * The second half of the IN_ORDER in-flight test (see
 * vr__split_dev_io_window), reached only when a head's last position is in
 * the window: a head in flight named again (a hostile driver), a record
 * 65536 positions old, or the zeroed records of a reset queue before the
 * first num positions pass. Out of line, so that the pop keeps no register
 * for it.
 */
VR__COLD bool split_io_named(const struct vr_split_dev *q, uint16_t at,
			     unsigned head)
{
	return q->order[at & q->mask] == head;
}

#if VR__SPLIT_IO_POS
/* VR_EINFLIGHT out of line: shared with the pop's other breaks, the code
 * was set up before the test, on the path that passes it too. */
VR__COLD int split_break_inflight(struct vr_split_dev *q)
{
	return vr__split_dev_break(q, VR_EINFLIGHT);
}

/*
 * The pop, one copy per IN_ORDER mode (@in_order is a constant in each:
 * VR__SPECIALISE), so that neither tests the mode per chain. The position
 * and mask are kept in locals: the chain's fields written by the walk may
 * alias the queue's as far as the compiler knows.
 */
VR__HOT_INLINE int split_dev_pop(struct vr_split_dev *q, struct vr_chain *chain,
				 const bool in_order)
{
	const uint16_t *slot;
	uint16_t *chain_ndesc;
	unsigned head; /* read as 16 bits: no zero extension to index */
	uint16_t pos;
	unsigned mask;
	int err;

	if (q->broken)
		return VR_EBROKEN;
	if (!chain || (chain->iov_cap && !chain->iov))
		return VR_EINVAL;
	if (q->last_avail == q->avail_seen) {
		err = vr_split_dev_avail(q); /* A1 inside */
		if (err <= 0)
			return err ? err : VR_EAGAIN;
	}
	pos = q->last_avail;
	mask = q->mask;
	slot = &vr_avail_ring(q->avail)[pos & mask];
	vr_mem_invalidate(&q->mem, slot, sizeof(*slot));
	/* Relaxed, read once: ordered after A1. */
	head = vr__le16(vr__load16(slot));
	if (head > mask)
		return vr__split_dev_break(q, VR_EHEAD);
	chain_ndesc = q->chain_ndesc;
	/*
	 * The head in flight (a hostile driver naming it again) breaks the
	 * queue. No separate test of room in flight is needed: the chains in
	 * flight have distinct heads (each was taken only after this test
	 * found its head not in flight, and a head leaves flight only by
	 * being returned), so at most num are in flight, and with num in
	 * flight every head is one of theirs and this test refuses the
	 * entry, whatever it names. Exact in both modes: without IN_ORDER a
	 * head's record is nonzero exactly while it is in flight (a chain
	 * has one ring descriptor at least); with it see
	 * vr__split_dev_io_window.
	 */
	if (in_order ? vr__split_dev_io_window(pos, q->in_flight,
					       chain_ndesc[head]) &&
			       split_io_named(q, chain_ndesc[head], head)
		     : chain_ndesc[head] != 0)
		return split_break_inflight(q);
	if (in_order) {
		/* Its position (vr__split_dev_io_window), recorded before the
		 * walk, so that nothing of it lives across: harmless if the
		 * chain is not taken. The head is not in flight, and position
		 * pos is outside the window [pos - in_flight, pos), whose
		 * order[] slots are other than pos's (in_flight < num, as
		 * the test above found the head not in flight): the
		 * head stays not in flight, every head in flight keeps its
		 * record. */
		chain_ndesc[head] = pos;
		q->order[pos & mask] = (uint16_t)head;
	}
	err = split_dev_walk(q, (uint16_t)head, chain);
	if (err == VR_E2BIG)
		return err; /* valid chain, caller's array too small: keep it */
	if (err)
		return vr__split_dev_break(q, err);
	if (in_order)
		q->last_head = (uint16_t)head; /* order[pos & mask], for complete_in_order */
	else
		chain_ndesc[head] = chain->ndesc;
	/* Read again here: kept from the test, it would live across the
	 * walk. */
	q->in_flight++;
	q->last_avail = (uint16_t)(pos + 1);
	return 0;
}

/* Each copy on its own, vr_split_dev_pop only choosing (a tail call): in
 * one function the two copies shared its exit, and one of them paid a
 * jump to it; apart, each has its own. */
VR__NOINLINE int split_dev_pop_in_order(struct vr_split_dev *q,
					struct vr_chain *chain)
{
	return split_dev_pop(q, chain, true);
}

VR__NOINLINE int split_dev_pop_plain(struct vr_split_dev *q,
				     struct vr_chain *chain)
{
	return split_dev_pop(q, chain, false);
}

int vr_split_dev_pop(struct vr_split_dev *q, struct vr_chain *chain)
{
	return q->in_order ? split_dev_pop_in_order(q, chain)
			   : split_dev_pop_plain(q, chain);
}
#else
/*
 * The pop in a build for size: one copy for both modes, with IN_ORDER's
 * records kept as without it (VR__SPLIT_IO_POS): a head is in flight when
 * its record is not 0.
 */
int vr_split_dev_pop(struct vr_split_dev *q, struct vr_chain *chain)
{
	const uint16_t *slot;
	uint16_t head;
	int err;

	if (q->broken)
		return VR_EBROKEN;
	if (!chain || (chain->iov_cap && !chain->iov))
		return VR_EINVAL;
	if (q->last_avail == q->avail_seen) {
		err = vr_split_dev_avail(q); /* A1 inside */
		if (err <= 0)
			return err ? err : VR_EAGAIN;
	}
	slot = &vr_avail_ring(q->avail)[q->last_avail & q->mask];
	vr_mem_invalidate(&q->mem, slot, sizeof(*slot));
	/* Relaxed, read once: ordered after A1. */
	head = vr__le16(vr__load16(slot));
	if (head >= q->num)
		return vr__split_dev_break(q, VR_EHEAD);
	/* No test of room in flight: with num in flight every head is in
	 * flight and this test refuses the entry (see the pop built for
	 * speed above). */
	if (q->chain_ndesc[head] != 0)
		return vr__split_dev_break(q, VR_EINFLIGHT);
	err = vr__split_walk(q, head, chain);
	if (err == VR_E2BIG)
		return err; /* valid chain, caller's array too small: keep it */
	if (err)
		return vr__split_dev_break(q, err);
	q->chain_ndesc[head] = chain->ndesc;
	if (q->in_order)
		q->order[q->last_avail & q->mask] = head;
	q->in_flight++;
	q->last_avail++;
	return 0;
}
#endif

/* The general vr_split_dev_complete_in_order (its inline part handles the
 * usual case): every check, and the clean hook. */
int vr__split_dev_complete_in_order(struct vr_split_dev *q, unsigned count,
				    uint32_t last_len)
{
	struct vr_used_elem *elem;
	uint16_t last;

	if (q->broken)
		return VR_EBROKEN;
	if (!q->in_order)
		return VR_ENOTSUP;
	if (count == 0 || count > q->in_flight)
		return VR_EINVAL;
	/* The oldest chain in flight was popped at avail position
	 * last_avail - in_flight; the batch is the count from there. Built
	 * for speed nothing to clear per chain (vr__split_dev_io_window). */
#if VR__SPLIT_IO_POS
	last = q->order[(uint16_t)(q->last_avail - q->in_flight + count - 1u) &
			q->mask];
#else
	{
		/* Built for size: each record of the batch cleared. Locals: a
		 * store into chain_ndesc may alias the queue's fields as far
		 * as the compiler knows. */
		const uint16_t *const order = q->order;
		uint16_t *const chain_ndesc = q->chain_ndesc;
		const unsigned mask = q->mask;
		/* Unmasked (masking is the same mod 2^16): no truncation. */
		unsigned i = (unsigned)q->last_avail - q->in_flight;
		const unsigned end = i + count;

		last = 0;
		for (; i != end; i++) {
			last = order[i & mask];
			chain_ndesc[last] = 0;
		}
	}
#endif
	/* One entry at the batch's first slot names its last head; used->idx
	 * then moves by the batch size (section 2.7.9). Relaxed: published
	 * by R2. */
	elem = &vr_used_ring(q->used)[q->used_idx & q->mask];
	vr__store32(&elem->id, vr__le32(last));
	vr__store32(&elem->len, vr__le32(last_len));
	vr_mem_clean(&q->mem, elem, sizeof(*elem));
	q->in_flight = (uint16_t)(q->in_flight - count);
	q->used_idx = (uint16_t)(q->used_idx + count);
	return 0;
}

void vr_split_dev_suppress_avail_notify(struct vr_split_dev *q)
{
	if (q->broken)
		return;
	if (q->event_idx) {
		/* Relaxed: a hint. An event just behind what we have taken is
		 * not crossed again before 65536 more chains. */
		vr__store16(vr_used_avail_event(q->used, q->num),
			    vr__le16((uint16_t)(q->last_avail - 1)));
		vr_mem_clean(&q->mem, vr_used_avail_event(q->used, q->num),
			     sizeof(uint16_t));
	} else if (!(q->used_flags & VR_USED_F_NO_NOTIFY)) {
		q->used_flags |= VR_USED_F_NO_NOTIFY;
		vr__store16(&q->used->flags, vr__le16(q->used_flags));
		vr_mem_clean(&q->mem, &q->used->flags, sizeof(uint16_t));
	}
}

int vr_split_dev_arm_avail_notify(struct vr_split_dev *q)
{
	uint16_t seen, pending;

	if (q->broken)
		return VR_EBROKEN;
	if (q->event_idx) {
		/* Kick me when the driver publishes entry last_avail. */
		vr__store16(vr_used_avail_event(q->used, q->num),
			    vr__le16(q->last_avail));
		vr_mem_clean(&q->mem, vr_used_avail_event(q->used, q->num),
			     sizeof(uint16_t));
	} else {
		q->used_flags &= (uint16_t)~VR_USED_F_NO_NOTIFY;
		vr__store16(&q->used->flags, vr__le16(q->used_flags));
		vr_mem_clean(&q->mem, &q->used->flags, sizeof(uint16_t));
	}
	/* F4 (full fence): the request above is ordered before the re-read
	 * of avail->idx. Partner: F1 in vr_split_drv_need_notify. */
	vr__fence_full();
	vr_mem_invalidate(&q->mem, &q->avail->idx, sizeof(uint16_t));
	/* Acquire: pairs with R1 like A1, if we go on to pop. */
	seen = vr__le16(vr__load_acquire16(&q->avail->idx));
	pending = (uint16_t)(seen - q->last_avail);
	if (pending > q->num)
		return vr__split_dev_break(q, VR_EAVAILIDX);
	q->avail_seen = seen;
	return pending;
}
