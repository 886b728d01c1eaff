/* SPDX-License-Identifier: BSD-3-Clause */
/* Packed ring, device side: set-up, reset, the validating chain walk,
 * in-order completion, notification control. */
#include <stddef.h>

#include <vring/vring.h>

#include "internal.h"

size_t vr_packed_dev_state_size(uint32_t num)
{
	if (!vr_packed_size_valid(num))
		return 0;
	/* order[num] (by ring position) then chain_ndesc[num]: the array
	 * indexed by the peer's ids comes last, so that with a buffer of
	 * exactly this size a read one past its end is outside the buffer
	 * (ASan sees it). */
	return vr__round_up((size_t)num * 2 * sizeof(uint16_t), sizeof(void *));
}

/* io_one of a queue without the inline complete_in_order: above every
 * unsigned count. */
#define VR__IO_NONE ((uint64_t)1 << 32)

/* Bind the queue object to its areas and state; touches neither shared
 * memory nor the state buffer. The caller has checked everything. */
static void dev_bind(struct vr_packed_dev *q, const struct vr_queue_cfg *cfg,
		     const struct vr_packed_areas *areas, void *state)
{
	vr__zero(q, sizeof(*q));
	q->desc = (struct vr_packed_desc *)areas->desc;
	q->driver_event = (struct vr_packed_event *)areas->driver_event;
	q->device_event = (struct vr_packed_event *)areas->device_event;
	q->order = (uint16_t *)state;
	q->chain_ndesc = q->order + cfg->num;
	q->mem = cfg->mem;
	q->flags = cfg->flags;
	q->num = (uint16_t)cfg->num;
	q->event_idx = (cfg->features & VR_FEATURE(VR_F_EVENT_IDX)) != 0;
	q->indirect = (cfg->features & VR_FEATURE(VR_F_INDIRECT_DESC)) != 0;
	q->in_order = (cfg->features & VR_FEATURE(VR_F_IN_ORDER)) != 0;
	q->max_indirect = cfg->max_indirect ? cfg->max_indirect : cfg->num;
	/* No count takes the inline complete_in_order until dev_forget
	 * says so (never in a build for size). */
	q->io_one = VR__IO_NONE;
}

/* Check the arguments, then bind. */
static int dev_setup(struct vr_packed_dev *q, const struct vr_queue_cfg *cfg,
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
	    !vr__aligned(state, sizeof(uint16_t)))
		return VR_EALIGN;
	if (state_len < vr_packed_dev_state_size(cfg->num))
		return VR_ERANGE;
	if (vr__packed_areas_overlap(areas, cfg->num))
		return VR_EINVAL;
	/* At most 32768: with up to 32767 ring descriptors before it, a
	 * chain's segment count still fits the 16-bit chain counters. */
	if (cfg->max_indirect > VR_QUEUE_SIZE_MAX)
		return VR_EINVAL;
	dev_bind(q, cfg, areas, state);
	return 0;
}

/*
 * Is the window one the short paths of the pops may check a buffer
 * against alone (pop_fast)? No translate callback, no invalidate hook, and
 * at most 2^63 bytes ending at or below 2^64: then "inside the window and
 * not empty" is one subtraction, one addition and two compares, the same
 * answer as vr_mem_translate() with vr__range_wraps() and the zero-length
 * test of the full walk.
 *
 * How: off is the buffer's address less the window's bus base (mod 2^64),
 * len < 2^32, and with bend = off + len (mod 2^64) the buffer is inside
 * and not empty exactly when off < bend <= size. Without a wrap, bend >
 * off is len != 0, and bend <= size then puts off below size. With one,
 * off >= 2^64 - len > 2^63 >= size (outside), and bend < len <= off:
 * refused by bend <= off. The short paths test the two apart (bend <= off
 * last), so that GCC branches on each instead of computing both and
 * combining them.
 */
static bool dev_window_fast(const struct vr_mem *mem)
{
	const uint64_t base = mem->bus_base, size = mem->size;

	return mem->translate == NULL && mem->invalidate == NULL && size != 0 &&
	       size - 1 <= UINT64_MAX - base && size <= (uint64_t)1 << 63;
}

/* Forget every chain and continue at the given positions: private state
 * only. Inlined in a build for size: reset's constant positions fold
 * (attach, the other caller, is rarely linked). */
#if VR__OPT_SIZE
VR__HOT_INLINE
#else
static
#endif
void dev_forget(struct vr_packed_dev *q, const struct vr_packed_base *b)
{
	vr__zero(q->order, (size_t)q->num * 2 * sizeof(uint16_t));
	q->next_avail = b->avail_pos;
	q->avail_wrap = b->avail_wrap;
	q->next_used = q->pub_pos = q->notify_pos = b->used_pos;
	q->used_wrap = q->pub_wrap = q->notify_wrap = b->used_wrap;
	q->unpub = q->since_notify = 0;
	q->held = false;
	q->in_flight = q->desc_in_flight = 0;
	q->order_gap = (uint16_t)(b->avail_pos >= b->used_pos ?
					  b->avail_pos - b->used_pos :
					  b->avail_pos + q->num - b->used_pos);
	q->broken = 0;
#if !VR__OPT_SIZE
	/* A build for size has no short path that reads them (the single
	 * pop is one walk, complete_in_order the compiled call, pop_bufs
	 * checks the window per call): pop_fast stays false and io_one
	 * VR__IO_NONE, as dev_bind left them (a caller built for speed
	 * reads io_one: no count is right). */
	q->pop_fast = dev_window_fast(&q->mem);
	q->io_one = q->in_order && q->order_gap == 0 && q->mem.clean == NULL
			    ? 1
			    : VR__IO_NONE;
#endif
}

int vr_packed_dev_init(struct vr_packed_dev *q, const struct vr_queue_cfg *cfg,
		       const struct vr_packed_areas *areas, void *state,
		       size_t state_len)
{
	int err = dev_setup(q, cfg, areas, state, state_len);

	if (err)
		return err;
	vr_packed_dev_reset(q);
	return 0;
}

int vr__packed_dev_init_parsed(struct vr_packed_dev *q,
			       const struct vr_queue_cfg *cfg,
			       const struct vr_packed_areas *areas, void *state)
{
	/* What the region parser cannot know: the features and the memory
	 * hooks this build leaves out. */
	if (vr__queue_cfg_unsupported(cfg))
		return VR_ENOTSUP;
	dev_bind(q, cfg, areas, state);
	vr_packed_dev_reset(q);
	return 0;
}

int vr_packed_dev_attach(struct vr_packed_dev *q, const struct vr_queue_cfg *cfg,
			 const struct vr_packed_areas *areas, void *state,
			 size_t state_len, const struct vr_packed_base *base)
{
	int err;

	if (!base || !cfg || base->avail_pos >= cfg->num ||
	    base->used_pos >= cfg->num)
		return VR_EINVAL;
	err = dev_setup(q, cfg, areas, state, state_len);
	if (err)
		return err;
	/* Nothing shared is written or read: the ring is live. */
	dev_forget(q, base);
	return 0;
}

void vr_packed_dev_reset(struct vr_packed_dev *q)
{
	static const struct vr_packed_base start = { 0, 0, true, true };

	/* The driver is stopped (reset) while this runs: plain stores. */
	vr__zero(q->device_event, sizeof(*q->device_event));
	vr_mem_clean(&q->mem, q->device_event, sizeof(*q->device_event));
	dev_forget(q, &start);
}

int vr__packed_dev_break(struct vr_packed_dev *q, int err)
{
	q->broken = err;
#if !VR__OPT_SIZE
	/* (Built for size they are never set: see dev_forget.) */
	q->pop_fast = false;
	q->io_one = VR__IO_NONE;
#endif
	return err;
}

/* Walk the entries of an indirect table: sequential, only WRITE counts
 * (section 2.8.7), NEXT is ignored, INDIRECT is a nesting violation. The
 * table may sit at any address (vr__load_entry). */
static int vr__packed_walk_table(struct vr_packed_dev *q, struct vr__walk *w,
				 const unsigned char *table, int entries)
{
	bool any_align = vr__table_any_align(table);
	int i;

	for (i = 0; i < entries; i++) {
		struct vr__entry e;
		bool write;
		int err;

		/* Each field once; relaxed: the table was reached through an
		 * acquired descriptor. Packed: id at 12, flags at 14. */
		vr__load_entry(table + 16 * (size_t)i, any_align, &e);
		if (e.w14 & VR_DESC_F_INDIRECT)
			return VR_ENESTED;
		write = (e.w14 & VR_DESC_F_WRITE) != 0;
		err = vr__walk_segment(w, &q->mem, e.addr, e.len, write);
		if (VR_UNLIKELY(err) &&
		    (err = vr__walk_fail(w, q->flags, err, write)) != 0)
			return err;
	}
	return 0;
}

/*
 * Walk the chain starting at next_avail. Its first flags were acquired by
 * the caller; every later descriptor must be available in the wrap in force
 * at its own position. Returns the ring descriptors used (> 0) and the
 * buffer id, or a negative code.
 */
static int vr__packed_walk(struct vr_packed_dev *q, uint16_t first_flags,
			   struct vr_chain *chain, uint16_t *id_out)
{
	struct vr__walk w;
	uint16_t pos = q->next_avail, flags = first_flags;
	bool wrap = q->avail_wrap;
	uint32_t k;

	if (!(flags & (VR_DESC_F_NEXT | VR_DESC_F_INDIRECT))) {
		const struct vr_packed_desc *d = &q->desc[pos];

		/* Relaxed, each field once: ordered after A1. */
		*id_out = vr__le16(vr__load16(&d->id));
		return vr__walk_single(chain, &q->mem, q->flags,
				       vr__load_addr(&d->addr),
				       vr__le32(vr__load32(&d->len)), flags);
	}
	vr__walk_start(&w, chain);
	for (k = 0;; k++) {
		const struct vr_packed_desc *d = &q->desc[pos];
		uint64_t addr;
		uint32_t len;
		uint16_t id;
		int err;

		if (k > 0) {
			if (k >= q->num)
				return VR_ELOOP; /* longer than the ring */
			vr_mem_invalidate(&q->mem, d, sizeof(*d));
			/* Relaxed: ordered after the head's acquire (A1),
			 * which the driver released after this store. */
			flags = vr__le16(vr__load16(&d->flags));
			if (!vr__packed_is_avail(flags, wrap))
				return VR_EFLAGS;
		}
		/* Relaxed, each field once: ordered after A1. */
		addr = vr__load_addr(&d->addr);
		len = vr__le32(vr__load32(&d->len));
		id = vr__le16(vr__load16(&d->id));

		if (flags & VR_DESC_F_INDIRECT) {
			const unsigned char *t;
			int entries;

			if (k > 0)
				return VR_EINDIRECT; /* inside a NEXT list */
			entries = vr__map_indirect(&q->mem, q->indirect, addr,
						   len, flags, q->max_indirect, &t);
			if (entries < 0)
				return entries;
			err = vr__packed_walk_table(q, &w, t, entries);
			if (err)
				return err;
			*id_out = id;
			break;
		}
		err = vr__walk_segment(&w, &q->mem, addr, len,
				       (flags & VR_DESC_F_WRITE) != 0);
		if (VR_UNLIKELY(err) &&
		    (err = vr__walk_fail(&w, q->flags, err,
					 (flags & VR_DESC_F_WRITE) != 0)) != 0)
			return err;
		if (!(flags & VR_DESC_F_NEXT)) {
			*id_out = id; /* the buffer id is in the last descriptor */
			break;
		}
		if (++pos == q->num) {
			pos = 0;
			wrap = !wrap;
		}
	}
	chain->ndesc = (uint16_t)(k + 1);
	return w.too_many ? VR_E2BIG : 0;
}

/* The general pop: any chain, every check, each code exactly. Out of
 * line, so that the fast path of vr_packed_dev_pop() stays a leaf; in a
 * build for size it is the single pop itself (one walk, no short path). */
#if VR__OPT_SIZE
#define DEV_POP_ANY_ATTR VR__HOT_INLINE
#else
#define DEV_POP_ANY_ATTR VR__NOINLINE
#endif
DEV_POP_ANY_ATTR int dev_pop_any(struct vr_packed_dev *q,
				 struct vr_chain *chain)
{
	struct vr_packed_desc *d;
	uint16_t flags, id = 0, pos;
	int err;

	if (q->broken)
		return VR_EBROKEN;
	if (!chain || (chain->iov_cap && !chain->iov))
		return VR_EINVAL;
	d = &q->desc[q->next_avail];
	vr_mem_invalidate(&q->mem, d, sizeof(*d));
	/* A1 (acquire): the chain's descriptors, written before the driver
	 * released this flags word, are visible after it. Partner: R1 in
	 * vr_packed_drv_publish. */
	flags = vr__le16(vr__load_acquire16(&d->flags));
	if (!vr__packed_is_avail(flags, q->avail_wrap))
		return VR_EAGAIN;
	err = vr__packed_walk(q, flags, chain, &id);
	if (err && err != VR_E2BIG)
		return vr__packed_dev_break(q, err);
	if (id >= q->num)
		return vr__packed_dev_break(q, VR_EBUFID);
	if (q->chain_ndesc[id] != 0 ||
	    (uint32_t)q->desc_in_flight + chain->ndesc > q->num)
		return vr__packed_dev_break(q, VR_EINFLIGHT);
	if (err == VR_E2BIG)
		return err; /* valid chain, caller's array too small: keep it */
	chain->id = id;
	q->chain_ndesc[id] = chain->ndesc;
	q->desc_in_flight = (uint16_t)(q->desc_in_flight + chain->ndesc);
	if (q->in_order)
		q->order[q->next_avail] = id; /* by the position of its head */
	q->in_flight++;
	pos = (uint16_t)(q->next_avail + chain->ndesc);
	if (pos >= q->num) {
		pos = (uint16_t)(pos - q->num);
		q->avail_wrap = !q->avail_wrap;
	}
	q->next_avail = pos;
	return 0;
}



/* Every chain through vr_packed_dev_pop(). */
VR__COLD int dev_pop_each(struct vr_packed_dev *q, struct vr_chain *chains,
			  unsigned max)
{
	unsigned n;

	for (n = 0; n < max; n++) {
		int err = vr_packed_dev_pop(q, &chains[n]);

		if (err == VR_EAGAIN)
			break;
		if (err < 0)
			return n ? (int)n : err;
	}
	return (int)n;
}

/* One chain of a pop burst through vr_packed_dev_pop(): out of line, so
 * that the burst's loop keeps its state in registers. */
VR__COLD int dev_pop_general(struct vr_packed_dev *q, struct vr_chain *c)
{
	return vr_packed_dev_pop(q, c);
}

/*
 * A descriptor in two loads where a 64-bit atomic load is a plain load
 * (64-bit hosts): addr (bytes 0..7), then len, id and flags (8..15). Each
 * value is the little-endian word whatever the host's byte order, so in
 * the second len is bits 0..31, id 32..47 and flags 48..63 (not used: the
 * flags are the ones acquired before). Elsewhere (Cortex-M: no access
 * wider than 32 bits, see detail/atomic.h) the fields are loaded one by
 * one.
 */
#if defined(__GCC_ATOMIC_LLONG_LOCK_FREE) && __GCC_ATOMIC_LLONG_LOCK_FREE == 2 && \
	defined(UINTPTR_MAX) && UINTPTR_MAX > 0xffffffffu
#define VR__DESC_WIDE 1
VR_STATIC_ASSERT(sizeof(VR__ATOMIC(uint64_t)) == 8, "atomic u64 must be 8 bytes");
/* Relaxed: ordered after the acquire of the descriptor's flags. */
VR__HOT_INLINE uint64_t dev_load64(const void *p)
{
	return vr__le64(VR__LOAD((VR__ATOMIC(uint64_t) *)(uintptr_t)p,
				 VR__MO(relaxed)));
}
#else
#define VR__DESC_WIDE 0
#endif

/*
 * Fill @p c for a one-descriptor chain: id, ndesc 1, the direction
 * counts and byte totals; @p wf is the descriptor's VR_DESC_F_WRITE bit.
 * On little-endian CPUs id, n_out, n_in, ndesc take one 64-bit store and
 * out_bytes, in_bytes another (a 16-bit constant costs x86 a register
 * load besides its store, and the two directions a branch).
 */
VR_STATIC_ASSERT(offsetof(struct vr_chain, n_out) == offsetof(struct vr_chain, id) + 2 &&
			 offsetof(struct vr_chain, n_in) == offsetof(struct vr_chain, id) + 4 &&
			 offsetof(struct vr_chain, ndesc) == offsetof(struct vr_chain, id) + 6 &&
			 offsetof(struct vr_chain, in_bytes) ==
				 offsetof(struct vr_chain, out_bytes) + 4,
		 "vr_chain: id..ndesc and out_bytes, in_bytes adjacent");
VR__HOT_INLINE void dev_chain_one(struct vr_chain *c, unsigned id,
				  uint32_t len, unsigned wf)
{
#if VR__BIG_ENDIAN || UINTPTR_MAX <= 0xffffffffu
	c->id = (uint16_t)id;
	c->ndesc = 1;
	if (wf) {
		c->n_out = 0;
		c->n_in = 1;
		c->out_bytes = 0;
		c->in_bytes = len;
	} else {
		c->n_out = 1;
		c->n_in = 0;
		c->out_bytes = len;
		c->in_bytes = 0;
	}
#else
	/* By direction (wf / VR_DESC_F_WRITE): the constant part of the
	 * id..ndesc word, and the factor placing len in out_bytes or
	 * in_bytes (a multiply: a shift by a variable count wants cl on
	 * x86, one more register in the pop loop). */
	static const struct {
		uint64_t ids, mul;
	} dir[2] = {
		{ (uint64_t)1 << 16 | (uint64_t)1 << 48, 1 },
		{ (uint64_t)1 << 32 | (uint64_t)1 << 48, (uint64_t)1 << 32 },
	};
	const unsigned w = wf / VR_DESC_F_WRITE;
	uint64_t ids = (uint64_t)id | dir[w].ids;
	uint64_t bytes = (uint64_t)len * dir[w].mul;

	__builtin_memcpy(&c->id, &ids, sizeof(ids));
	__builtin_memcpy(&c->out_bytes, &bytes, sizeof(bytes));
#endif
}

/*
 * The single pop. A chain of one direct descriptor inside the window,
 * with an id in range and not in flight and room for it, is taken here with
 * the checks of the full walk (the same ones, in the form of the pop
 * burst's short path); anything else (NEXT, INDIRECT, a translate
 * callback, cache hooks, a broken queue, any check failing) goes to
 * dev_pop_any, which computes the exact result. A build for size (-Os)
 * keeps only dev_pop_any, as the single pop (one walk in flash).
 */
#if VR__OPT_SIZE
int vr_packed_dev_pop(struct vr_packed_dev *q, struct vr_chain *chain)
{
	return dev_pop_any(q, chain);
}
#else
int vr_packed_dev_pop(struct vr_packed_dev *q, struct vr_chain *chain)
{
	const struct vr_packed_desc *d;
	struct vr_iov *iov;
	uint64_t addr, off, bend;
	uint32_t len;
	unsigned pos, id, bits, num;
	uint16_t flags;

	if (VR_UNLIKELY(!q->pop_fast || chain == NULL ||
			(iov = chain->iov) == NULL || chain->iov_cap == 0))
		return dev_pop_any(q, chain);
	pos = q->next_avail;
	d = &q->desc[pos];
	bits = vr__packed_avail_bits(q->avail_wrap);
	/* A1 (acquire): the chain's descriptors, written before the driver
	 * released this flags word, are visible after it. Partner: R1 in
	 * vr_packed_drv_publish. */
	flags = vr__le16(vr__load_acquire16(&d->flags));
	/* One compare: available in this wrap, no NEXT, no INDIRECT. */
	if (VR_UNLIKELY((flags & (VR_DESC_F_AVAIL | VR_DESC_F_USED |
				  VR_DESC_F_NEXT | VR_DESC_F_INDIRECT)) != bits)) {
		if ((flags & (VR_DESC_F_AVAIL | VR_DESC_F_USED)) != bits)
			return VR_EAGAIN;
		return dev_pop_any(q, chain);
	}
	/* Relaxed, each field once: ordered after A1. */
#if VR__DESC_WIDE
	addr = dev_load64(&d->addr);
	{
		/* Its flags bits are not used. */
		uint64_t lif = dev_load64(&d->len);

		len = (uint32_t)lif;
		id = (uint16_t)(lif >> 32);
	}
#else
	addr = vr__load_addr(&d->addr);
	len = vr__le32(vr__load32(&d->len));
	id = vr__le16(vr__load16(&d->id));
#endif
	num = q->num;
	off = addr - q->mem.bus_base;
	bend = off + len;
	/* Inside the window and not empty (see dev_window_fast), the id in
	 * range and not in flight, room for the descriptor. */
	if (VR_UNLIKELY(bend > q->mem.size || id >= num ||
			q->chain_ndesc[id] != 0 || q->desc_in_flight >= num ||
			bend <= off))
		return dev_pop_any(q, chain);
	iov->base = (unsigned char *)q->mem.local + off;
	iov->len = len;
	dev_chain_one(chain, id, len, flags & VR_DESC_F_WRITE);
	q->chain_ndesc[id] = 1;
	q->desc_in_flight++;
	q->in_flight++;
	if (q->in_order)
		q->order[pos] = (uint16_t)id; /* by the position of its head */
	if (++pos == num) {
		pos = 0;
		q->avail_wrap = !q->avail_wrap;
	}
	q->next_avail = (uint16_t)pos;
	return 0;
}
#endif /* VR__OPT_SIZE */
#undef DEV_POP_ANY_ATTR

/*
 * The pop burst, specialised for IN_ORDER or not. The queue's fields live
 * in locals (stores into the caller's chains and the private arrays could
 * alias them as far as the compiler knows), read once and written back
 * once, and around a chain that takes the single call. The room for
 * descriptors in flight is folded into the bound @c lim: the short path
 * takes chains up to it, and a chain at it (no room) goes to the single
 * call, which finds VR_EINFLIGHT. in_flight and desc_in_flight both grow
 * by one per chain of the short path: c - from for both until they are
 * written back.
 */
VR__HOT_INLINE int dev_pop_burst(struct vr_packed_dev *q,
				 struct vr_chain *chains, unsigned max,
				 const bool in_order)
{
	const struct vr_packed_desc *const desc = q->desc;
	const struct vr_packed_desc *const desc_end = desc + q->num;
	uint16_t *const chain_ndesc = q->chain_ndesc;
	const unsigned num = q->num;
	const uint64_t base = q->mem.bus_base, size = q->mem.size;
	unsigned char *const local = (unsigned char *)q->mem.local;
	struct vr_chain *c = chains, *const end = chains + max, *from, *lim, *stop;
	/* One pointer walks the ring (and with IN_ORDER one the order array
	 * beside it): fewer live values than a base and an index. */
	const struct vr_packed_desc *d;
	uint16_t *op;
	unsigned bits;

#define DEV_POP_LOAD()                                                         \
	do {                                                                   \
		unsigned room_ = num - q->desc_in_flight;                      \
		d = desc + q->next_avail;                                      \
		op = q->order + q->next_avail;                                 \
		bits = vr__packed_avail_bits(q->avail_wrap);                   \
		from = c;                                                      \
		lim = (size_t)(end - c) > room_ ? c + room_ : end;             \
	} while (0)
#define DEV_POP_STORE()                                                        \
	do {                                                                   \
		unsigned taken_ = (unsigned)(c - from);                        \
		q->next_avail = (uint16_t)(d - desc);                          \
		q->avail_wrap = bits == VR_DESC_F_AVAIL;                       \
		q->in_flight = (uint16_t)(q->in_flight + taken_);              \
		q->desc_in_flight = (uint16_t)(q->desc_in_flight + taken_);    \
	} while (0)

	/* No call inside the inner loop (with one there, GCC kept the loop's
	 * state in the stack): a chain for the single call leaves it, and
	 * the loop starts again after that chain. */
	for (;;) {
		DEV_POP_LOAD();
	run:
		/* The wrap is folded into the inner loop's bound: it runs to
		 * the ring's end or lim, whichever comes first, and the wrap
		 * is handled between runs. */
		stop = (size_t)(lim - c) > (size_t)(desc_end - d) ?
			       c + (desc_end - d) :
			       lim;
		for (; c != stop; c++, d++) {
			struct vr_iov *iov = c->iov;
			uint64_t addr, off, bend;
			uint32_t len;
			unsigned id;
			uint16_t flags;

			if (VR_UNLIKELY(iov == NULL || c->iov_cap == 0))
				goto general; /* VR_EINVAL or VR_E2BIG, exactly */
			/* A1 (acquire): the chain's descriptors, written
			 * before the driver released this flags word, are
			 * visible after it. Partner: R1 in
			 * vr_packed_drv_publish. */
			flags = vr__le16(vr__load_acquire16(&d->flags));
			/* One compare: available in this wrap, no NEXT, no
			 * INDIRECT. */
			if (VR_UNLIKELY((flags & (VR_DESC_F_AVAIL | VR_DESC_F_USED |
						  VR_DESC_F_NEXT |
						  VR_DESC_F_INDIRECT)) != bits)) {
				if ((flags & (VR_DESC_F_AVAIL | VR_DESC_F_USED)) != bits)
					goto out; /* not available: VR_EAGAIN */
				goto general;
			}
			/* Relaxed, each field once: ordered after A1. */
#if VR__DESC_WIDE
			addr = dev_load64(&d->addr);
			{
				/* Its flags bits are not used. */
				uint64_t lif = dev_load64(&d->len);

				len = (uint32_t)lif;
				id = (uint16_t)(lif >> 32);
			}
#else
			addr = vr__load_addr(&d->addr);
			len = vr__le32(vr__load32(&d->len));
			id = vr__le16(vr__load16(&d->id));
#endif
			/* Inside the window and not empty: one subtraction,
			 * one addition, two compares (see dev_window_fast).
			 * The id in range and not in flight. Any failure:
			 * the single call finds the exact code. */
			off = addr - base;
			bend = off + len;
			if (VR_UNLIKELY(bend > size || id >= num ||
					chain_ndesc[id] != 0 || bend <= off))
				goto general;
			iov->base = local + off;
			iov->len = len;
			chain_ndesc[id] = 1;
			dev_chain_one(c, id, len, flags & VR_DESC_F_WRITE);
			if (in_order)
				*op++ = (uint16_t)id; /* by its head's position */
		}
		if (d == desc_end) {
			d = desc;
			op = q->order;
			bits ^= VR_DESC_F_AVAIL | VR_DESC_F_USED;
		}
		if (c != lim)
			goto run;
		if (c == end)
			break;
		/* At the bound: no room, VR_EINFLIGHT, exactly. */
general:
		{
			int err;

			DEV_POP_STORE();
			err = dev_pop_general(q, c);
			if (err == VR_EAGAIN)
				return (int)(c - chains);
			if (err < 0)
				return c != chains ? (int)(c - chains) : err;
			c++;
		}
	}
out:
	DEV_POP_STORE();
#undef DEV_POP_LOAD
#undef DEV_POP_STORE
	return (int)(c - chains);
}

int vr_packed_dev_pop_burst(struct vr_packed_dev *q, struct vr_chain *chains,
			    unsigned max)
{
	const uint64_t base = q->mem.bus_base, size = q->mem.size;
	int args;

	if (!VR__OPT_SIZE && VR_UNLIKELY(max <= 1)) {
		/* None, or one chain: the single pop, without the loop's
		 * set-up (the test replaces the one for none). */
		int err;

		if (max == 0)
			return 0;
		err = vr_packed_dev_pop(q, chains);
		return err == 0 ? 1 : err == VR_EAGAIN ? 0 : err;
	}
	args = vr__burst_args(max, q->broken, chains);
	if (args <= 0)
		return args;
	/* The short path checks a buffer against the window alone; a
	 * translate callback, cache hooks, a window reaching past 2^64
	 * (where its range check would differ from vr__range_wraps) or
	 * larger than 2^63 bytes (see dev_window_fast) take the single call
	 * for every chain. */
	if (VR_UNLIKELY(q->mem.translate != NULL || q->mem.invalidate != NULL ||
			size == 0 || size - 1 > UINT64_MAX - base ||
			size > (uint64_t)1 << 63))
		return dev_pop_each(q, chains, max);
	if (chains[0].iov != NULL || chains[0].iov_cap == 0) {
		/* Relaxed: a peek, so that polling an empty ring costs no
		 * set-up; the loop reads the flags again with acquire (A1).
		 * After the argument checks the single call makes first. */
		uint16_t flags = vr__le16(vr__load16(&q->desc[q->next_avail].flags));

		if (!vr__packed_is_avail(flags, q->avail_wrap))
			return 0;
	}
#define CALL(in_order) dev_pop_burst(q, chains, max, in_order)
	return VR__SPECIALISE(q->in_order, CALL);
#undef CALL
}

/* ---- pop_bufs: single-segment chains as struct vr_buf ------------------- */

/* A chain popped with one iov entry, as pop_bufs hands it out. */
static void dev_buf_from_chain(struct vr_buf *b, const struct vr_chain *c,
			       const struct vr_iov *iov)
{
	b->id = c->id;
	if (c->n_out + c->n_in == 0) {
		/* Only zero-length descriptors (VR_QF_ZERO_LEN_OK). */
		b->base = NULL;
		b->len = 0;
		b->writable = 0;
	} else {
		b->base = iov->base;
		b->len = iov->len;
		b->writable = c->n_in == 1;
	}
}

/* One chain of a pop_bufs call through vr_packed_dev_pop() (iov_cap 1):
 * the exact result. Out of line, so that the loop keeps its state in
 * registers. */
VR__COLD int dev_pop_buf_general(struct vr_packed_dev *q, struct vr_buf *b)
{
	struct vr_iov iov;
	struct vr_chain c;
	int err;

	c.iov = &iov;
	c.iov_cap = 1;
	err = vr_packed_dev_pop(q, &c);
	if (err == 0)
		dev_buf_from_chain(b, &c, &iov);
	return err;
}

/* Every chain through vr_packed_dev_pop(): a translate callback, an
 * invalidate hook, or a window the short path cannot check alone. */
VR__COLD int dev_pop_bufs_each(struct vr_packed_dev *q, struct vr_buf *bufs,
			       unsigned max)
{
	unsigned n;

	for (n = 0; n < max; n++) {
		int err = dev_pop_buf_general(q, &bufs[n]);

		if (err == VR_EAGAIN)
			break;
		if (err < 0)
			return n ? (int)n : err;
	}
	return (int)n;
}

/*
 * Hand out a one-descriptor chain as a vr_buf: base, then len, id and
 * writable. Where a descriptor's second 8 bytes are one 64-bit load
 * (VR__DESC_WIDE) on a little-endian CPU, @p lif is them (len, id, flags)
 * and the buf's second 8 bytes (len, id, writable) are lif with the flags
 * replaced by the WRITE bit (@p flags: the descriptor's flags).
 */
#if VR__DESC_WIDE && !VR__BIG_ENDIAN
VR_STATIC_ASSERT(offsetof(struct vr_buf, len) == 8 &&
			 offsetof(struct vr_buf, id) == 12 &&
			 offsetof(struct vr_buf, writable) == 14 &&
			 sizeof(struct vr_buf) == 16,
		 "vr_buf: base, then len, id, writable in 8 bytes");
VR__HOT_INLINE void dev_buf_one(struct vr_buf *b, void *base, uint64_t lif,
				unsigned flags)
{
	/* len, id and the flags in one store, then writable over the
	 * flags: fewer instructions than masking the flags out. */
	b->base = base;
	__builtin_memcpy(&b->len, &lif, sizeof(lif));
	b->writable = (uint16_t)((flags & VR_DESC_F_WRITE) / VR_DESC_F_WRITE);
}
#endif

/*
 * The pop_bufs loop, specialised for IN_ORDER or not: dev_pop_burst's
 * shape (the queue's fields in locals, the room folded into the bound
 * @c lim, the wrap into the inner loop's bound, no call inside the inner
 * loop) with the narrow output. A chain for the single call leaves the
 * inner loop, and the loop starts again after it.
 */
VR__HOT_INLINE int dev_pop_bufs(struct vr_packed_dev *q, struct vr_buf *bufs,
				unsigned max, const bool in_order)
{
	const struct vr_packed_desc *const desc = q->desc;
	const struct vr_packed_desc *const desc_end = desc + q->num;
	uint16_t *const chain_ndesc = q->chain_ndesc;
	const unsigned num = q->num;
	const uint64_t base = q->mem.bus_base, size = q->mem.size;
	unsigned char *const local = (unsigned char *)q->mem.local;
	struct vr_buf *b = bufs, *const end = bufs + max, *from, *lim, *stop;
	const struct vr_packed_desc *d;
	uint16_t *op;
	unsigned bits;

#define DEV_BUFS_LOAD()                                                        \
	do {                                                                   \
		unsigned room_ = num - q->desc_in_flight;                      \
		d = desc + q->next_avail;                                      \
		op = q->order + q->next_avail;                                 \
		bits = vr__packed_avail_bits(q->avail_wrap);                   \
		from = b;                                                      \
		lim = (size_t)(end - b) > room_ ? b + room_ : end;             \
	} while (0)
#define DEV_BUFS_STORE()                                                       \
	do {                                                                   \
		unsigned taken_ = (unsigned)(b - from);                        \
		q->next_avail = (uint16_t)(d - desc);                          \
		q->avail_wrap = bits == VR_DESC_F_AVAIL;                       \
		q->in_flight = (uint16_t)(q->in_flight + taken_);              \
		q->desc_in_flight = (uint16_t)(q->desc_in_flight + taken_);    \
	} while (0)

	for (;;) {
		DEV_BUFS_LOAD();
	run:
		stop = (size_t)(lim - b) > (size_t)(desc_end - d) ?
			       b + (desc_end - d) :
			       lim;
		for (; b != stop; b++, d++) {
			uint64_t addr, off, bend;
			uint32_t len;
			unsigned id;
			uint16_t flags;
#if VR__DESC_WIDE
			uint64_t lif;
#endif

			/* A1 (acquire): the chain's descriptors, written
			 * before the driver released this flags word, are
			 * visible after it. Partner: R1 in
			 * vr_packed_drv_publish. */
			flags = vr__le16(vr__load_acquire16(&d->flags));
			/* One compare: available in this wrap, no NEXT, no
			 * INDIRECT. */
			if (VR_UNLIKELY((flags & (VR_DESC_F_AVAIL | VR_DESC_F_USED |
						  VR_DESC_F_NEXT |
						  VR_DESC_F_INDIRECT)) != bits)) {
				if ((flags & (VR_DESC_F_AVAIL | VR_DESC_F_USED)) != bits)
					goto out; /* not available */
				goto general;
			}
			/* Relaxed, each field once: ordered after A1. */
#if VR__DESC_WIDE
			addr = dev_load64(&d->addr);
			lif = dev_load64(&d->len); /* its flags: see dev_buf_one */
			len = (uint32_t)lif;
			id = (uint16_t)(lif >> 32);
#else
			addr = vr__load_addr(&d->addr);
			len = vr__le32(vr__load32(&d->len));
			id = vr__le16(vr__load16(&d->id));
#endif
			/* Inside the window and not empty, the id in range
			 * and not in flight (see dev_pop_burst); any failure:
			 * the single call finds the exact code. */
			off = addr - base;
			bend = off + len;
			if (VR_UNLIKELY(bend > size || id >= num ||
					chain_ndesc[id] != 0 || bend <= off))
				goto general;
			chain_ndesc[id] = 1;
#if VR__DESC_WIDE && !VR__BIG_ENDIAN
			dev_buf_one(b, local + off, lif, flags);
#else
			b->base = local + off;
			b->len = len;
			b->id = (uint16_t)id;
			b->writable = (flags & VR_DESC_F_WRITE) != 0;
#endif
			if (in_order)
				*op++ = (uint16_t)id; /* by its head's position */
		}
		if (d == desc_end) {
			d = desc;
			op = q->order;
			bits ^= VR_DESC_F_AVAIL | VR_DESC_F_USED;
		}
		if (b != lim)
			goto run;
		if (b == end)
			break;
		/* At the bound: no room, VR_EINFLIGHT, exactly. */
general:
		{
			int err;

			DEV_BUFS_STORE();
			err = dev_pop_buf_general(q, b);
			if (err == VR_EAGAIN)
				return (int)(b - bufs);
			if (err < 0)
				return b != bufs ? (int)(b - bufs) : err;
			b++;
		}
	}
out:
	DEV_BUFS_STORE();
#undef DEV_BUFS_LOAD
#undef DEV_BUFS_STORE
	return (int)(b - bufs);
}

int vr_packed_dev_pop_bufs(struct vr_packed_dev *q, struct vr_buf *bufs,
			   unsigned max)
{
	uint16_t flags;
	int args;

	if (!VR__OPT_SIZE && VR_UNLIKELY(max <= 1)) {
		/* None, or one chain: the single pop (its short path),
		 * without the loop's set-up (the test replaces the one for
		 * none). */
		struct vr_iov iov;
		struct vr_chain c;
		int err;

		args = vr__burst_args(max, q->broken, bufs);
		if (args <= 0)
			return args;
		c.iov = &iov;
		c.iov_cap = 1;
		err = vr_packed_dev_pop(q, &c);
		if (err)
			return err == VR_EAGAIN ? 0 : err;
		dev_buf_from_chain(bufs, &c, &iov);
		return 1;
	}
	args = vr__burst_args(max, q->broken, bufs);
	if (args <= 0)
		return args;
	/* pop_fast: the window alone checks a buffer (see dev_window_fast);
	 * otherwise every chain through the single call. */
	if (VR_UNLIKELY(VR__OPT_SIZE ? !dev_window_fast(&q->mem) : !q->pop_fast))
		return dev_pop_bufs_each(q, bufs, max);
	/* Relaxed: a peek, so that polling an empty ring costs no set-up;
	 * the loop reads the flags again with acquire (A1). */
	flags = vr__le16(vr__load16(&q->desc[q->next_avail].flags));
	if (!vr__packed_is_avail(flags, q->avail_wrap))
		return 0;
#define CALL(in_order) dev_pop_bufs(q, bufs, max, in_order)
	return VR__SPECIALISE(q->in_order, CALL);
#undef CALL
}

/* Every completion through vr_packed_dev_complete(): cache hooks. */
VR__COLD int dev_complete_each(struct vr_packed_dev *q, const struct vr_done *done,
			     unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		int err = vr_packed_dev_complete(q, done[i].id, done[i].len);

		if (err < 0)
			return i ? (int)i : err;
	}
	return (int)n;
}

/* The state of a complete burst, in locals (see dev_complete_burst). */
struct dev_cstate {
	struct vr_packed_desc *d; /* at next_used: one pointer walks the ring */
	unsigned bits, opos;
	unsigned wrapped; /* num per wrap: pos + wrapped - the first pos
			     counts the descriptors returned */
};

/*
 * Complete chain @p id with @p len written, as vr_packed_dev_complete()
 * does; @p hold: the batch's first used descriptor, whose flags wait for
 * publish. False when the chain is not taken (or, with IN_ORDER, not the
 * oldest): nothing is changed then.
 */
VR__HOT_INLINE bool dev_complete_one(struct vr_packed_dev *q,
				     struct vr_packed_desc *desc,
				     uint16_t *chain_ndesc, const uint16_t *order,
				     unsigned num, struct dev_cstate *st,
				     unsigned id, uint32_t len,
				     const bool in_order, const bool hold)
{
	struct vr_packed_desc *d = st->d;
	uintptr_t next;
	unsigned ndesc;
	uint16_t flags;

	/* Taken, and with IN_ORDER the oldest: the chain whose head is at
	 * next_used + order_gap. */
	if (VR_UNLIKELY(id >= num || (ndesc = chain_ndesc[id]) == 0 ||
			(in_order && order[st->opos] != id)))
		return false;
	if (in_order) {
		st->opos += ndesc;
		if (st->opos >= num)
			st->opos -= num;
	}
	/* Relaxed: published by the release of the batch's first flags
	 * (R2). */
	vr__store16(&d->id, vr__le16((uint16_t)id));
	vr__store32(&d->len, vr__le32(len));
	flags = (uint16_t)(len ? st->bits | VR_DESC_F_WRITE : st->bits);
	if (!hold) {
		/* Relaxed: the driver reads it only after acquiring the held
		 * first flags, released (R2) after this store. */
		vr__store16(&d->flags, vr__le16(flags));
	} else {
		q->held = true;
		q->held_pos = (uint16_t)(d - desc);
		q->held_flags = flags;
	}
	/* Skipped as an address: d + ndesc may point past the ring's end
	 * (before the wrap), which a pointer may not. */
	next = (uintptr_t)d + ndesc * sizeof(*d);
	if (VR_UNLIKELY(next >= (uintptr_t)(desc + num))) {
		next -= num * sizeof(*d);
		st->wrapped += num;
		st->bits ^= VR_DESC_F_AVAIL | VR_DESC_F_USED;
	}
	st->d = (struct vr_packed_desc *)next;
	chain_ndesc[id] = 0;
	return true;
}

/*
 * The complete burst, specialised for IN_ORDER or not, with the queue's
 * fields in full-width locals (see dev_pop_burst), written back once. The
 * first completion of an unpublished batch (its flags held) is taken
 * before the loop, which then stores every flags word.
 */
VR__HOT_INLINE int dev_complete_burst(struct vr_packed_dev *q,
				      const struct vr_done *done, unsigned n,
				      const bool in_order)
{
	struct vr_packed_desc *const desc = q->desc;
	uint16_t *const chain_ndesc = q->chain_ndesc;
	const uint16_t *const order = q->order;
	const unsigned num = q->num;
	struct dev_cstate st;
	const struct vr_done *dn, *dn_end;
	unsigned i = 0, skipped;

	st.d = desc + q->next_used;
	st.bits = vr__packed_used_bits(q->used_wrap);
	st.opos = q->next_used + q->order_gap;
	if (st.opos >= num)
		st.opos -= num;
	st.wrapped = 0;
#if !defined(__OPTIMIZE_SIZE__)
	if (!q->held) {
		if (dev_complete_one(q, desc, chain_ndesc, order, num, &st,
				     done[0].id, done[0].len, in_order, true))
			i = 1;
		else
			n = 0; /* the first fails: VR_ESTATE below */
	}
#endif
	/* -Os: one copy of the completion's code, which asks. One pointer
	 * walks done (i = dn - done afterwards). */
	for (dn = done + i, dn_end = done + n; dn != dn_end; dn++)
		if (!dev_complete_one(q, desc, chain_ndesc, order, num, &st,
				      dn->id, dn->len, in_order,
				      VR__OPT_SIZE && !q->held))
			break;
	i = (unsigned)(dn - done);
	skipped = (unsigned)(st.d - desc) + st.wrapped - q->next_used;
	q->next_used = (uint16_t)(st.d - desc);
	q->used_wrap = st.bits != 0;
	q->unpub += skipped;
	q->desc_in_flight = (uint16_t)(q->desc_in_flight - skipped);
	q->in_flight = (uint16_t)(q->in_flight - i);
	return i ? (int)i : VR_ESTATE;
}

int vr_packed_dev_complete_burst(struct vr_packed_dev *q,
				 const struct vr_done *done, unsigned n)
{
	int args = vr__burst_args(n, q->broken, done);

	if (args <= 0)
		return args;
	if (VR_UNLIKELY(q->mem.clean != NULL))
		return dev_complete_each(q, done, n);
#define CALL(in_order) dev_complete_burst(q, done, n, in_order)
	return VR__SPECIALISE(q->in_order, CALL);
#undef CALL
}

/* vr_packed_dev_complete_in_order() but for one chain without cache
 * hooks: any count, hooks, and every error. */
int vr__packed_dev_complete_in_order(struct vr_packed_dev *q, unsigned count,
				     uint32_t last_len)
{
	struct vr_packed_desc *d;
	uint16_t *const chain_ndesc = q->chain_ndesc;
	const uint16_t *const order = q->order;
	const unsigned num = q->num, pos = q->next_used;
	unsigned skip, walk = pos + q->order_gap, wrapped = 0, start, last = 0, i;

	if (q->broken)
		return VR_EBROKEN;
	if (!q->in_order)
		return VR_ENOTSUP;
	if (count == 0 || count > q->in_flight)
		return VR_EINVAL;
	if (walk >= num)
		walk -= num;
	start = walk;
	/* The chains in flight, oldest first, sit at next_used + order_gap
	 * and after it in ring order: each one's id is recorded by its head's
	 * position. walk + wrapped - start counts their descriptors. */
	for (i = count; i != 0; i--) {
		last = order[walk];
		walk += chain_ndesc[last];
		chain_ndesc[last] = 0;
		if (VR_UNLIKELY(walk >= num)) {
			walk -= num;
			wrapped += num;
		}
	}
	skip = walk + wrapped - start;
	/* One used descriptor over the batch's first descriptor names its
	 * last id. Relaxed: published by R2. */
	d = &q->desc[pos];
	vr__packed_dev_put_used(q, d, pos, (uint16_t)last, last_len);
	vr_mem_clean(&q->mem, d, sizeof(*d));
	q->desc_in_flight = (uint16_t)(q->desc_in_flight - skip);
	q->unpub += skip;
	/* next_used moves by the descriptors returned, from its own place. */
	skip += pos;
	if (skip >= num) {
		skip -= num;
		q->used_wrap = !q->used_wrap;
	}
	q->next_used = (uint16_t)skip;
	q->in_flight = (uint16_t)(q->in_flight - count);
	return 0;
}

void vr_packed_dev_suppress_avail_notify(struct vr_packed_dev *q)
{
	if (q->broken)
		return;
	/* Relaxed: a hint; the driver may still kick once. */
	vr__store16(&q->device_event->flags, vr__le16(VR_EVENT_F_DISABLE));
	vr_mem_clean(&q->mem, q->device_event, sizeof(*q->device_event));
}

int vr_packed_dev_arm_avail_notify(struct vr_packed_dev *q)
{
	uint16_t flags;

	if (q->broken)
		return VR_EBROKEN;
	if (q->event_idx) {
		/* Kick me when the descriptor at next_avail is made available. */
		vr__store16(&q->device_event->off_wrap,
			    vr__le16((uint16_t)(q->next_avail |
						((unsigned)q->avail_wrap << VR_EVENT_WRAP_SHIFT))));
		vr__store16(&q->device_event->flags, vr__le16(VR_EVENT_F_DESC));
	} else {
		vr__store16(&q->device_event->flags, vr__le16(VR_EVENT_F_ENABLE));
	}
	vr_mem_clean(&q->mem, q->device_event, sizeof(*q->device_event));
	/* F4 (full fence): the request is ordered before the re-read below.
	 * Partner: F1 in vr_packed_drv_need_notify (see the argument at F3 in
	 * packed_drv.c). */
	vr__fence_full();
	vr_mem_invalidate(&q->mem, &q->desc[q->next_avail], sizeof(struct vr_packed_desc));
	/* Acquire: pairs with R1 like A1, if we go on to pop. */
	flags = vr__le16(vr__load_acquire16(&q->desc[q->next_avail].flags));
	return vr__packed_is_avail(flags, q->avail_wrap);
}
