/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers private to the compiled core: validation shared by the split and
 * packed device sides, and the few checks every init does.
 */
#ifndef LIBVRING_INTERNAL_H
#define LIBVRING_INTERNAL_H

#include <stdint.h>

#include <vring/vring.h>

/* VR__COLD: a function off the hot path, not inlined, laid out apart.
 * VR__HOT_INLINE: a helper of every device pop, inlined whatever the size
 * heuristics say (GCC 12 stopped inlining vr__walk_segment once the walk
 * grew, which cost 55 instructions per message in a callgrind count). */
/* VR__NOINLINE: a static function kept out of line, so that its callers
 * (or the copies it is chosen from) keep only their own registers. */
#if defined(__GNUC__) || defined(__clang__)
#define VR__COLD static __attribute__((noinline, cold, unused))
#define VR__HOT_INLINE static inline __attribute__((always_inline))
#define VR__NOINLINE static __attribute__((noinline))
#else
#define VR__COLD static
#define VR__HOT_INLINE static inline
#define VR__NOINLINE static
#endif

/* VR__SIZE_NOINLINE: a static helper of a slow path kept out of line in a
 * build for size (-Os), where inlining it costs flash; as the compiler
 * likes otherwise. */
#if defined(__OPTIMIZE_SIZE__) && (defined(__GNUC__) || defined(__clang__))
#define VR__SIZE_NOINLINE static __attribute__((noinline))
#else
#define VR__SIZE_NOINLINE static
#endif

/* The argument checks a packed burst or batch call makes first, in this
 * order: @n 0 does nothing (0), a @broken queue is VR_EBROKEN, no @array
 * VR_EINVAL; 1 when the call goes on. Callers: r = vr__burst_args(...);
 * if (r <= 0) return r. Inlined: the constants fold into each entry. */
VR__HOT_INLINE int vr__burst_args(unsigned n, int broken, const void *array)
{
	if (n == 0)
		return 0;
	if (VR_UNLIKELY(broken))
		return VR_EBROKEN;
	if (VR_UNLIKELY(array == NULL))
		return VR_EINVAL;
	return 1;
}

/* The burst loops are specialised (IN_ORDER or not, hooks or not) where
 * speed counts; a build for size (-Os) keeps one copy of each. */
#if defined(__OPTIMIZE_SIZE__)
#define VR__SPECIALISE(cond, call) call(cond)
#define VR__OPT_SIZE 1
#else
#define VR__SPECIALISE(cond, call) ((cond) ? call(true) : call(false))
#define VR__OPT_SIZE 0
#endif

/* Split device with IN_ORDER: what chain_ndesc[] holds per head (private
 * to the compiled core: the header's inline calls clear a record, which is
 * right for both). Built for speed (1): the avail position the head was
 * last popped at, never cleared by complete_in_order, the in-flight test
 * vr__split_dev_io_window's. Built for size (0): as without IN_ORDER,
 * nonzero exactly while in flight, complete_in_order clearing its batch
 * one by one: one pop for both modes, the smallest. */
#define VR__SPLIT_IO_POS (!VR__OPT_SIZE)

/* The only libc the core uses, through the compiler's builtins so that the
 * freestanding build needs no header: memset (and memcpy, memmove). */
#define vr__zero(p, n) __builtin_memset((p), 0, (n))

static inline int vr__aligned(const void *p, uintptr_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

/* Do [a, a + alen) and [b, b + blen) share a byte (lengths > 0)? Only
 * differences: an area ending exactly at the top of the address space,
 * where pb + blen wraps to 0, is compared right. */
static inline bool vr__overlap(const void *a, size_t alen, const void *b,
			       size_t blen)
{
	uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;

	return pa >= pb ? pa - pb < blen : pb - pa < alen;
}

/*
 * What every queue init refuses before anything else is looked at: a
 * feature or a hook this build does not carry (vring/config.h). VR_ENOTSUP,
 * so that a configuration never changes behaviour in silence.
 */
static inline int vr__queue_cfg_unsupported(const struct vr_queue_cfg *cfg)
{
	if (!VR_CONFIG_INDIRECT &&
	    (cfg->features & VR_FEATURE(VR_F_INDIRECT_DESC)))
		return VR_ENOTSUP;
	return vr_mem_supported(&cfg->mem) ? 0 : VR_ENOTSUP;
}

/* Round a private-state size up so the next array stays pointer-aligned. */
static inline size_t vr__round_up(size_t n, size_t align)
{
	return (n + align - 1) & ~(align - 1);
}

/* vr_split_dev_init for areas and state that vr_region_parse and the
 * channel have already checked (the queue's size, the areas' alignment,
 * bounds and overlap, the state's size and alignment, no RING_PACKED
 * feature, max_indirect 0): only what this build leaves out is checked
 * here (VR_ENOTSUP). Never for areas an application hands in. */
int vr__split_dev_init_parsed(struct vr_split_dev *q,
			      const struct vr_queue_cfg *cfg,
			      const struct vr_split_areas *areas, void *state);
/* The same for the packed device and for both drivers (the driver state's
 * pointer alignment and size: plan_state and vr_chan_open). */
int vr__packed_dev_init_parsed(struct vr_packed_dev *q,
			       const struct vr_queue_cfg *cfg,
			       const struct vr_packed_areas *areas, void *state);
int vr__split_drv_init_parsed(struct vr_split_drv *q,
			      const struct vr_queue_cfg *cfg,
			      const struct vr_split_areas *areas, void *state);
int vr__packed_drv_init_parsed(struct vr_packed_drv *q,
			       const struct vr_queue_cfg *cfg,
			       const struct vr_packed_areas *areas, void *state);

/* Ring areas must not overlap each other (hostile-inputs #23). */
static inline bool vr__split_areas_overlap(const struct vr_split_areas *a,
					   uint32_t num)
{
	size_t d = vr_split_desc_bytes(num), av = vr_split_avail_bytes(num),
	       u = vr_split_used_bytes(num);

	return vr__overlap(a->desc, d, a->avail, av) ||
	       vr__overlap(a->desc, d, a->used, u) ||
	       vr__overlap(a->avail, av, a->used, u);
}

static inline bool vr__packed_areas_overlap(const struct vr_packed_areas *a,
					    uint32_t num)
{
	size_t d = vr_packed_desc_bytes(num), e = sizeof(struct vr_packed_event);

	return vr__overlap(a->desc, d, a->driver_event, e) ||
	       vr__overlap(a->desc, d, a->device_event, e) ||
	       vr__overlap(a->driver_event, e, a->device_event, e);
}

/*
 * Does [addr, addr + len) stay below 2^64? For len > 0 only: len - 1 cannot
 * wrap then, and a range whose last byte is the last bus address (ending
 * exactly at 2^64) is accepted, which addr + len < addr would refuse. As
 * cheap as that sum (the same instruction count in a callgrind run).
 */
static inline bool vr__range_wraps(uint64_t addr, uint32_t len)
{
	return (uint64_t)len - 1 > UINT64_MAX - addr;
}

/*
 * What walking a device-side chain has gathered so far. The caller's chain
 * (iov array, counters) is filled in place; only complete, valid chains are
 * ever committed to the queue state.
 */
struct vr__walk {
	struct vr_chain *chain;
	uint32_t total;  /* all bytes so far: at most 4 GiB - 1 */
	bool seen_write; /* a writable segment was seen */
	bool too_many;   /* more segments than chain->iov_cap */
};

static inline void vr__walk_start(struct vr__walk *w, struct vr_chain *chain)
{
	w->chain = chain;
	w->total = 0;
	w->seen_write = false;
	w->too_many = false;
	chain->n_out = chain->n_in = 0;
	chain->out_bytes = chain->in_bytes = 0;
}

/*
 * Compiled once or inlined: in a build optimised for size (-Os) the two
 * helpers below are one compiled copy each (libvring/mem.c defines them,
 * with VR__WALK_HELPERS_HERE), shared by the split and packed walks, which
 * would otherwise carry one copy each; elsewhere vr__walk_segment is
 * inlined into each walk (see VR__HOT_INLINE) and vr__walk_fail_cold is a
 * cold static function.
 */
#if defined(__OPTIMIZE_SIZE__)
#define VR__WALK_COLD
#define VR__WALK_HOT
int vr__walk_fail_cold(uint32_t qflags, int err, bool write, bool seen_write);
int vr__walk_segment(struct vr__walk *w, const struct vr_mem *mem,
		     uint64_t addr, uint32_t len, bool write);
#else
#define VR__WALK_COLD VR__COLD
#define VR__WALK_HOT VR__HOT_INLINE
#endif

#if !defined(__OPTIMIZE_SIZE__) || defined(VR__WALK_HELPERS_HERE)
/*
 * What a failed vr__walk_segment means for the walk: its error, except for a
 * zero-length descriptor on a queue with VR_QF_ZERO_LEN_OK, which adds
 * nothing (its address is never looked at) but whose direction still counts
 * for the readable-before-writable rule. Reached only on the error path, so
 * the flag costs nothing on the hot path; takes values only, so that the
 * caller's walk state can stay in registers.
 */
VR__WALK_COLD int vr__walk_fail_cold(uint32_t qflags, int err, bool write,
				     bool seen_write)
{
	if (err != VR_EZEROLEN || !(qflags & VR_QF_ZERO_LEN_OK))
		return err;
	return !write && seen_write ? VR_EORDER : 0;
}

/*
 * Check one data descriptor (already copied out of shared memory) and
 * append it to the chain. Returns 0 or a protocol error. Running out of iov
 * entries is not an error here: the walk goes on validating and reports
 * VR_E2BIG at the end, so that a malformed chain is always caught.
 */
VR__WALK_HOT int vr__walk_segment(struct vr__walk *w, const struct vr_mem *mem,
				  uint64_t addr, uint32_t len, bool write)
{
	struct vr_chain *c = w->chain;
	unsigned n = (unsigned)c->n_out + c->n_in;
	void *p;

	if (VR_UNLIKELY(len == 0))
		return VR_EZEROLEN; /* first: see vr__walk_fail */
	if (vr__range_wraps(addr, len))
		return VR_EOVERFLOW;
	if (write)
		w->seen_write = true;
	else if (w->seen_write)
		return VR_EORDER;
	/* The chain's bytes must fit 32 bits: checked before the sum, in
	 * 32-bit arithmetic (cheaper on a 32-bit core, as cheap on x86). */
	if (len > UINT32_MAX - w->total)
		return VR_EOVERFLOW;
	w->total += len;
	p = vr_mem_translate(mem, addr, len,
			     write ? VR_ACCESS_WRITE : VR_ACCESS_READ);
	if (!p)
		return VR_EFAULT;
	if (n >= c->iov_cap) {
		w->too_many = true;
	} else {
		c->iov[n].base = p;
		c->iov[n].len = len;
		if (!write)
			vr_mem_invalidate(mem, p, len);
	}
	if (write) {
		c->n_in++;
		c->in_bytes += len;
	} else {
		c->n_out++;
		c->out_bytes += len;
	}
	return 0;
}
#endif

static inline int vr__walk_fail(struct vr__walk *w, uint32_t qflags, int err,
				bool write)
{
	err = vr__walk_fail_cold(qflags, err, write, w->seen_write);
	if (err == 0 && write)
		w->seen_write = true;
	return err;
}

/*
 * The whole walk of a chain that is one direct descriptor (no NEXT, no
 * INDIRECT): the common case of a message channel. The same checks and
 * codes as the general walk, without its loop state; both device sides
 * take this path first.
 */
#if VR__OPT_SIZE
static inline
#else
/* Forced: GCC 12 -O2 stopped inlining it into the split pop once that
 * pop had a copy per IN_ORDER mode (28 more instructions per message in
 * BM_split_local at -O2, callgrind). */
VR__HOT_INLINE
#endif
int vr__walk_single(struct vr_chain *chain,
				  const struct vr_mem *mem, uint32_t qflags,
				  uint64_t addr, uint32_t len, uint16_t flags)
{
	struct vr__walk w;
	int err;

	vr__walk_start(&w, chain);
	err = vr__walk_segment(&w, mem, addr, len,
			       (flags & VR_DESC_F_WRITE) != 0);
	if (VR_UNLIKELY(err) &&
	    (err = vr__walk_fail(&w, qflags, err,
				 (flags & VR_DESC_F_WRITE) != 0)) != 0)
		return err;
	chain->ndesc = 1;
	return w.too_many ? VR_E2BIG : 0;
}

/*
 * Check an indirect descriptor (copied) and map its table. @max_entries is
 * the longest table accepted (the queue size). Returns the entry count
 * (> 0) with *table set, or a protocol error. The table may sit at any
 * address: the spec sets no alignment for it, so its entries are read with
 * vr__load_entry, which assumes none.
 */
static inline int vr__map_indirect(const struct vr_mem *mem, bool negotiated,
				   uint64_t addr, uint32_t len, uint16_t flags,
				   uint32_t max_entries,
				   const unsigned char **table)
{
	/* Without VR_CONFIG_INDIRECT no queue negotiated the feature (init
	 * refused it): the answer is a constant, and the table walk behind
	 * the call folds away. */
	if (!VR_CONFIG_INDIRECT || !negotiated || (flags & VR_DESC_F_NEXT))
		return VR_EINDIRECT;
	if (len == 0 || len % 16 != 0 || len / 16 > max_entries)
		return VR_EINDIRECT;
	if (vr__range_wraps(addr, len))
		return VR_EOVERFLOW;
	*table = (const unsigned char *)vr_mem_translate(mem, addr, len,
							 VR_ACCESS_READ);
	if (!*table)
		return VR_EFAULT;
	vr_mem_invalidate(mem, *table, len);
	return (int)(len / 16);
}

/* Read a 64-bit little-endian field as two untorn 32-bit halves: no 64-bit
 * atomics exist on Cortex-M4, and a torn value is no worse than any other
 * value a hostile peer could write (it is validated before use). On the
 * wire the low half comes first whatever the CPU. Relaxed: the caller has
 * already acquired the descriptor. */
static inline uint64_t vr__load_addr(const uint64_t *field)
{
	const uint32_t *half = (const uint32_t *)(const void *)field;
	uint32_t lo = vr__le32(vr__load32(&half[0]));
	uint32_t hi = vr__le32(vr__load32(&half[1]));

	return ((uint64_t)hi << 32) | lo;
}

/*
 * One 16-byte descriptor copied out of shared memory, each byte read once:
 * addr at 0, len at 8, and the 16-bit words at 12 and 14 (split: flags,
 * next; packed: id, flags). Both layouts are the same bytes.
 */
struct vr__entry {
	uint64_t addr;
	uint32_t len;
	uint16_t w12, w14;
};

/* Little-endian value of @n bytes at @p, read with byte loads (any
 * alignment, untorn per byte; a peer changing them meanwhile gets a value
 * no worse than any other it could write). */
static inline uint32_t vr__load_le_bytes(const unsigned char *p, unsigned n)
{
	uint32_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v |= (uint32_t)vr__load8(p + i) << (8 * i);
	return v;
}

/*
 * Load descriptor @e. @any_align: @e may be at any address (an indirect
 * table), so it is read byte by byte; otherwise it is 4-byte aligned and
 * read with the 32- and 16-bit loads of the ring path. Relaxed: the caller
 * has acquired what publishes it (A1).
 */
#if defined(__OPTIMIZE_SIZE__)
/* For size: four 32-bit words, each as one load or (an unaligned table)
 * four byte loads, in one loop; the 16-bit words at 12 and 14 are the
 * halves of the last (each byte still read once). */
static inline void vr__load_entry(const unsigned char *e, bool any_align,
				  struct vr__entry *out)
{
	const uint32_t *w = (const uint32_t *)(const void *)e;
	uint32_t v[4];
	unsigned i;

	if (VR_CONFIG_INDIRECT) {
		for (i = 0; i < 4; i++)
			v[i] = VR_UNLIKELY(any_align) ? vr__load_le_bytes(e + 4 * i, 4)
						      : vr__le32(vr__load32(&w[i]));
	} else {
		/* No table: @e is a ring descriptor, aligned; straight
		 * loads are smaller than the loop then. */
		v[0] = vr__le32(vr__load32(&w[0]));
		v[1] = vr__le32(vr__load32(&w[1]));
		v[2] = vr__le32(vr__load32(&w[2]));
		v[3] = vr__le32(vr__load32(&w[3]));
	}
	out->addr = (uint64_t)v[1] << 32 | v[0];
	out->len = v[2];
	out->w12 = (uint16_t)v[3];
	out->w14 = (uint16_t)(v[3] >> 16);
}
#else
static inline void vr__load_entry(const unsigned char *e, bool any_align,
				  struct vr__entry *out)
{
	if (VR_UNLIKELY(any_align)) {
		out->addr = (uint64_t)vr__load_le_bytes(e, 4) |
			    (uint64_t)vr__load_le_bytes(e + 4, 4) << 32;
		out->len = vr__load_le_bytes(e + 8, 4);
		out->w12 = (uint16_t)vr__load_le_bytes(e + 12, 2);
		out->w14 = (uint16_t)vr__load_le_bytes(e + 14, 2);
		return;
	}
	{
		const uint32_t *w = (const uint32_t *)(const void *)e;
		const uint16_t *h = (const uint16_t *)(const void *)e;

		out->addr = (uint64_t)vr__le32(vr__load32(&w[1])) << 32 |
			    vr__le32(vr__load32(&w[0]));
		out->len = vr__le32(vr__load32(&w[2]));
		out->w12 = vr__le16(vr__load16(&h[6]));
		out->w14 = vr__le16(vr__load16(&h[7]));
	}
}
#endif

/* Is an indirect table at @t aligned enough for the word loads? */
static inline bool vr__table_any_align(const unsigned char *t)
{
	return !vr__aligned(t, 4);
}

#endif /* LIBVRING_INTERNAL_H */
