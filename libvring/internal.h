/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers private to the compiled core: validation shared by the split and
 * packed device sides, and the few checks every init does.
 */
#ifndef LIBVRING_INTERNAL_H
#define LIBVRING_INTERNAL_H

#include <stdint.h>

#include <vring/vring.h>

/* The only libc the core uses, through the compiler's builtins so that the
 * freestanding build needs no header: memset (and memcpy, memmove). */
#define vr__zero(p, n) __builtin_memset((p), 0, (n))

static inline int vr__aligned(const void *p, uintptr_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

/* Alignment the device side demands of an indirect table. */
#define VR_INDIRECT_ALIGN 8u

/* Do [a, a + alen) and [b, b + blen) share a byte? */
static inline bool vr__overlap(const void *a, size_t alen, const void *b,
			       size_t blen)
{
	uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;

	return pa < pb + blen && pb < pa + alen;
}

/* Round a private-state size up so the next array stays pointer-aligned. */
static inline size_t vr__round_up(size_t n, size_t align)
{
	return (n + align - 1) & ~(align - 1);
}

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
 * What walking a device-side chain has gathered so far. The caller's chain
 * (iov array, counters) is filled in place; only complete, valid chains are
 * ever committed to the queue state.
 */
struct vr__walk {
	struct vr_chain *chain;
	uint64_t total;  /* all bytes so far, to catch the 4 GiB limit */
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
 * Check one data descriptor (already copied out of shared memory) and
 * append it to the chain. Returns 0 or a protocol error. Running out of iov
 * entries is not an error here: the walk goes on validating and reports
 * VR_E2BIG at the end, so that a malformed chain is always caught.
 */
static inline int vr__walk_segment(struct vr__walk *w, const struct vr_mem *mem,
				   uint64_t addr, uint32_t len, bool write)
{
	struct vr_chain *c = w->chain;
	unsigned n = (unsigned)c->n_out + c->n_in;
	void *p;

	if (len == 0)
		return VR_EZEROLEN;
	if (addr + len < addr)
		return VR_EOVERFLOW;
	if (write)
		w->seen_write = true;
	else if (w->seen_write)
		return VR_EORDER;
	w->total += len;
	if (w->total > UINT32_MAX)
		return VR_EOVERFLOW;
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

/*
 * The whole walk of a chain that is one direct descriptor (no NEXT, no
 * INDIRECT): the common case of a message channel. The same checks and
 * codes as the general walk, without its loop state; both device sides
 * take this path first.
 */
static inline int vr__walk_single(struct vr_chain *chain,
				  const struct vr_mem *mem, uint64_t addr,
				  uint32_t len, uint16_t flags)
{
	struct vr__walk w;
	int err;

	vr__walk_start(&w, chain);
	err = vr__walk_segment(&w, mem, addr, len,
			       (flags & VR_DESC_F_WRITE) != 0);
	if (err)
		return err;
	chain->ndesc = 1;
	return w.too_many ? VR_E2BIG : 0;
}

/*
 * Check an indirect descriptor (copied) and map its table. @max_entries is
 * the longest table accepted (the queue size). Returns the entry count
 * (> 0) with *table set, or a protocol error.
 */
static inline int vr__map_indirect(const struct vr_mem *mem, bool negotiated,
				   uint64_t addr, uint32_t len, uint16_t flags,
				   uint32_t max_entries, const void **table)
{
	if (!negotiated || (flags & VR_DESC_F_NEXT))
		return VR_EINDIRECT;
	if (len == 0 || len % 16 != 0 || len / 16 > max_entries)
		return VR_EINDIRECT;
	if (addr + len < addr)
		return VR_EOVERFLOW;
	*table = vr_mem_translate(mem, addr, len, VR_ACCESS_READ);
	if (!*table)
		return VR_EFAULT;
	/* Entries are read with 16- and 32-bit loads: a table the peer placed
	 * at an odd address would be undefined behaviour here and a fault on
	 * cores that trap unaligned access. Drivers allocate descriptor
	 * tables aligned (Linux's are 16-byte aligned in practice). */
	if (!vr__aligned(*table, VR_INDIRECT_ALIGN))
		return VR_EINDIRECT;
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

#endif /* LIBVRING_INTERNAL_H */
