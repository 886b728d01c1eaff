/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libvring under benchmark: split and packed rings, each with and without
 * VIRTIO_F_IN_ORDER, in three patterns, with the single-message calls,
 * (when the core has them, VRB_HAVE_BURSTS) with the burst calls, and (with
 * the bursts and VRB_HAVE_PACKED_BUFS / VRB_HAVE_SPLIT_BUFS below) with the
 * single-segment batch calls vr_*_drv_add_bufs / vr_*_dev_pop_bufs (the
 * _bufs bodies: completion and collection through the burst calls).
 *
 * One shared region holds the ring and a pool of message buffers after it;
 * descriptors carry offsets into the region, as between two VMs. A message
 * is one device-readable descriptor naming a buffer of <payload> bytes; the
 * driver (producer) writes the payload, adds the descriptor and publishes
 * once per batch (kick_prepare: EVENT_IDX on, notifications counted, never
 * delivered: both sides poll, and each asked the other at set-up not to
 * notify it, as a busy channel does). The device (consumer) pops each chain
 * (validated and translated by libvring), copies the payload out, checks
 * its sequence number, and returns it used: one used entry per chain, or
 * with IN_ORDER one vr_*_dev_complete_in_order() per batch; then it
 * publishes once per batch. The driver collects the used buffers and checks
 * that each one is the next it expects.
 *
 *   stream    driver on one CPU, device on the other; the driver collects
 *             used buffers only when it lacks room for a batch
 *   pingpong  the driver sends a batch, then waits for all of it to come
 *             back used (a round trip per batch)
 *   local     both roles on one CPU, one after the other: the instruction
 *             cost of a message with no cache line changing hands
 *
 * Payload bytes are written and copied only in stream. In pingpong and
 * local the descriptor is the message (as the element is for the peers):
 * the device checks that it names the expected buffer and length, and
 * nothing else is touched, so these measure the ring itself.
 *
 * The harness (what is not a ring call) does per message what the peers'
 * harness does (bench_peer.h), and no more: the buffer's vr_seg comes from a
 * table built at set-up (buffer k of the pool is always the same segment),
 * sequence numbers and pool positions live in locals, the pattern's choices
 * (format, IN_ORDER, payload touched or not, single or burst calls) are
 * compile-time constants, and each message is checked once on each side:
 * the device checks the chain's shape and that it names the next buffer (as
 * the peers' consumer checks each element and its buffer), the driver that
 * each used buffer is the next one it lent (as the peers' _ret producer
 * checks each returned buffer). BM_harness_vring_* runs the local body with
 * the ring calls replaced by the null ring below, so that this stays
 * measured (vring_icount, report_instructions.py's harness table).
 */

/*
 * The single-segment batch calls vr_X_drv_add_bufs / vr_X_dev_pop_bufs
 * (the _bufs bodies): 1 once the format's two calls are in libvring.
 */
#define VRB_HAVE_PACKED_BUFS 1
#define VRB_HAVE_SPLIT_BUFS 1

#include <stdio.h>
#include <stdlib.h>

#include <vring/vring.h>

#include "bench_common.h"

/* Some _bufs body is built: the format's two calls are in, and the burst
 * calls that complete and collect for it. */
#if defined(VRB_HAVE_BURSTS) && (VRB_HAVE_PACKED_BUFS || VRB_HAVE_SPLIT_BUFS)
#define VRB_BUFS 1
#else
#define VRB_BUFS 0
#endif

/*
 * Role-split counting (vring_icount only, VRB_ROLES): the local body's
 * instances "_roles" switch callgrind's collection at each change of role,
 * twice per batch (driver -> device before the device takes the batch,
 * device -> driver before the driver collects it). vring_icount --roles
 * driver starts with collection on, --roles device with it off: the two
 * runs execute the same instructions and each instruction is counted in
 * exactly one of them, so driver + device = the whole loop of the role
 * instance (the regular body's count plus the two switches per batch,
 * which report_instructions.py shows as the split's overhead).
 */
#ifdef VRB_ROLES
#include <valgrind/callgrind.h>
#define VRB_ROLE_SWITCH(RS)                                                    \
	do {                                                                   \
		if (RS)                                                        \
			CALLGRIND_TOGGLE_COLLECT;                              \
	} while (0)
#else
#define VRB_ROLE_SWITCH(RS) ((void)(RS))
#endif

/* Which calls a body makes: one message per call, the bursts, or the
 * single-segment batch calls (add_bufs / pop_bufs; completion and
 * collection by the burst calls). A constant after inlining. */
enum vrb_kind { VRB_SINGLE, VRB_BURST, VRB_BUFS_K };

/* A message that came back wrong (not a libvring error code). */
#define VRB_EBADUSED (-1000)
#define VRB_ESTALL (-1001)

/* Largest batch (the per-batch arrays of the burst calls). */
#define VRB_MAX_BATCH 256u

/* Payload of pingpong and local (the descriptor is the message). */
#define VRB_SMALL 8u

/* The ring a body runs on, a compile-time constant after inlining. */
enum vrb_ring { VRB_SPLIT, VRB_PACKED, VRB_NULL };

/*
 * The null ring: stand-ins for the ring calls, for the local body only
 * (BM_harness_vring_*). It measures the harness alone: the loops, the
 * sequence numbers, the segments and cookies handed in, and every check of
 * what comes back, exactly as the real bodies run them. Each stand-in does
 * the least that lets those checks pass: add records the segment pointer
 * and the cookie it was given (two stores), pop hands the recorded segment
 * back as the chain's buffer (its base), get_used hands the recorded cookie
 * back; the chain shape (n_out 1, n_in 0, the buffer's length) and the used
 * length (0) are written once at set-up. Its positions are pointers into
 * one batch of records, in locals, set back to the first record once per
 * batch (kick_prepare, notify_prepare): the local body drains every batch.
 * Each stand-in ends in an empty asm statement that takes its result and
 * the memory it wrote as operands the compiler cannot see through: nothing
 * is folded, no check is decided at compile time, and the statement adds
 * no instruction. Counted besides the harness: per message those two
 * stores, the loads that give them back, a pointer increment per call and
 * a register copy per opaque result (about 15 instructions per message at
 * batch 32 with gcc 12, by callgrind's per-line counts of these lines);
 * the peers' stand-in (bench_peer.h) copies its elements with one memcpy
 * per batch (about 1). A call's result is tested after each call, as a
 * caller of the single-message API does: with the real (inline) calls the
 * compiler threads that test into the call's own error branches, where an
 * OR of the batch's results tested once costs more (measured: 2 to 3
 * instructions per message more in split and packed local/32).
 */
struct vrb_null_rec {
	const struct vr_seg *seg;
	void *cookie;
};

struct vrb_null {
	struct vrb_null_rec *rec; /* VRB_MAX_BATCH records */
	struct vrb_null_rec *add, *pop, *used; /* next record of each call */
	const void *adds; /* bursts: the last add_burst's entries */
	unsigned n_adds;
};

#define VRB_OPAQUE(x) __asm__ __volatile__("" : "+r"(x))

struct vrb {
	enum vrb_ring ring;
	uint32_t num;
	unsigned batch;
	unsigned payload; /* bytes per buffer */
	unsigned char *region;
	size_t region_len;
	size_t pool_off; /* offset of buffer 0 in the region (= bus address) */
	/* Built at set-up, num + VRB_MAX_BATCH entries each: entry k is buffer
	 * k % num of the pool, so that a batch starting anywhere reads its
	 * entries one after the other, without a wrap test per message. */
	struct vr_seg *segs;   /* what the driver adds */
	unsigned char **bufs;  /* what the device must find in the chain */
#if VRB_BUFS
	/* The _bufs bodies' add_bufs entries, the same k: the segment set at
	 * set-up, the cookie written per message. A batch hands add_bufs a
	 * run of this table, as a caller with a fixed buffer pool would. */
	struct vr_add_buf *abufs;
#endif
	void *drv_state, *dev_state;
	/* Each queue object on lines of its own: one per thread. */
	struct vr_split_drv *sdrv;
	struct vr_packed_drv *pdrv;
	struct vr_split_dev *sdev;
	struct vr_packed_dev *pdev;
	struct vrb_null_rec *null_rec; /* VRB_NULL: the null ring's records */
	/* Driver (producer) side, stored back at the end of the run. */
	uint64_t sent, done, kicks;
	/* Device side results, written by the consumer before it returns. */
	_Alignas(VB_LINE) uint64_t dev_got;
	uint64_t dev_irqs;
	struct vb_pair pair;
};

/* ---- The calls, per ring (R is a constant after inlining) ----------------- */

static VB_ALWAYS_INLINE int vrb_add(struct vrb *b, const enum vrb_ring R,
				    struct vrb_null *z, const struct vr_seg *seg,
				    void *cookie)
{
	if (R == VRB_NULL) {
		struct vrb_null_rec *r = z->add++;
		int ret = 0;

		r->seg = seg;
		r->cookie = cookie;
		__asm__ __volatile__("" : "+r"(ret) : "m"(*r));
		return ret;
	}
	return R == VRB_PACKED ? vr_packed_drv_add(b->pdrv, seg, 1, 0, cookie)
			       : vr_split_drv_add(b->sdrv, seg, 1, 0, cookie);
}

static VB_ALWAYS_INLINE int vrb_kick(struct vrb *b, const enum vrb_ring R,
				     struct vrb_null *z)
{
	if (R == VRB_NULL) {
		int ret = 0;

		z->add = z->used = z->rec;
		VRB_OPAQUE(ret);
		return ret;
	}
	return R == VRB_PACKED ? vr_packed_drv_kick_prepare(b->pdrv)
			       : vr_split_drv_kick_prepare(b->sdrv);
}

static VB_ALWAYS_INLINE int vrb_get_used(struct vrb *b, const enum vrb_ring R,
					 struct vrb_null *z, struct vr_used_buf *u)
{
	if (R == VRB_NULL) {
		int ret = 0;

		u->cookie = z->used++->cookie;
		__asm__ __volatile__("" : "+r"(ret), "+m"(*u));
		return ret;
	}
	return R == VRB_PACKED ? vr_packed_drv_get_used(b->pdrv, u)
			       : vr_split_drv_get_used(b->sdrv, u);
}

static VB_ALWAYS_INLINE unsigned vrb_free(struct vrb *b, const enum vrb_ring R)
{
	return R == VRB_PACKED ? vr_packed_drv_free(b->pdrv)
			       : vr_split_drv_free(b->sdrv);
}

static VB_ALWAYS_INLINE int vrb_pop(struct vrb *b, const enum vrb_ring R,
				    struct vrb_null *z, struct vr_chain *c)
{
	if (R == VRB_NULL) {
		const struct vr_seg *seg = z->pop++->seg;
		int ret = 0;

		c->iov[0].base = b->region + seg->addr;
		__asm__ __volatile__("" : "+r"(ret), "+m"(*c), "+m"(c->iov[0]));
		return ret;
	}
	return R == VRB_PACKED ? vr_packed_dev_pop(b->pdev, c)
			       : vr_split_dev_pop(b->sdev, c);
}

static VB_ALWAYS_INLINE int vrb_complete(struct vrb *b, const enum vrb_ring R,
					 uint16_t id)
{
	if (R == VRB_NULL) {
		int ret = 0;

		__asm__ __volatile__("" : "+r"(ret) : "r"(id));
		return ret;
	}
	return R == VRB_PACKED ? vr_packed_dev_complete(b->pdev, id, 0)
			       : vr_split_dev_complete(b->sdev, id, 0);
}

static VB_ALWAYS_INLINE int vrb_complete_in_order(struct vrb *b,
						  const enum vrb_ring R,
						  unsigned n)
{
	if (R == VRB_NULL) {
		int ret = 0;

		__asm__ __volatile__("" : "+r"(ret) : "r"(n));
		return ret;
	}
	return R == VRB_PACKED ? vr_packed_dev_complete_in_order(b->pdev, n, 0)
			       : vr_split_dev_complete_in_order(b->sdev, n, 0);
}

static VB_ALWAYS_INLINE int vrb_notify(struct vrb *b, const enum vrb_ring R,
				       struct vrb_null *z)
{
	if (R == VRB_NULL) {
		int ret = 0;

		z->pop = z->rec;
		VRB_OPAQUE(ret);
		return ret;
	}
	return R == VRB_PACKED ? vr_packed_dev_notify_prepare(b->pdev)
			       : vr_split_dev_notify_prepare(b->sdev);
}

#ifdef VRB_HAVE_BURSTS
/* The burst calls (issue 14): count done, or the first entry's error when
 * none was; they do not publish. The null ring's stand-ins move, per
 * message, only what the harness checks (the buffer's base and the
 * cookie), and take their operands through one asm statement per burst. */

static VB_ALWAYS_INLINE int vrb_add_burst(struct vrb *b, const enum vrb_ring R,
					  struct vrb_null *z,
					  const struct vr_add *adds, unsigned n)
{
	if (R == VRB_NULL) {
		int ret = (int)n;

		z->adds = adds;
		z->n_adds = n;
		__asm__ __volatile__("" : "+r"(ret) : "r"(adds) : "memory");
		return ret;
	}
	return R == VRB_PACKED ? vr_packed_drv_add_burst(b->pdrv, adds, n, NULL)
			       : vr_split_drv_add_burst(b->sdrv, adds, n, NULL);
}

static VB_ALWAYS_INLINE int vrb_pop_burst(struct vrb *b, const enum vrb_ring R,
					  struct vrb_null *z,
					  struct vr_chain *chains, unsigned max)
{
	if (R == VRB_NULL) {
		const struct vr_add *adds = (const struct vr_add *)z->adds;
		unsigned n = z->n_adds < max ? z->n_adds : max, i;
		int ret;

		for (i = 0; i < n; i++)
			chains[i].iov[0].base = b->region + adds[i].seg->addr;
		ret = (int)n;
		__asm__ __volatile__("" : "+r"(ret) : "r"(chains) : "memory");
		return ret;
	}
	return R == VRB_PACKED ? vr_packed_dev_pop_burst(b->pdev, chains, max)
			       : vr_split_dev_pop_burst(b->sdev, chains, max);
}

static VB_ALWAYS_INLINE int vrb_complete_burst(struct vrb *b,
					       const enum vrb_ring R,
					       const struct vr_done *done,
					       unsigned n)
{
	if (R == VRB_NULL) {
		int ret = (int)n;

		__asm__ __volatile__("" : "+r"(ret) : "r"(done) : "memory");
		return ret;
	}
	return R == VRB_PACKED ? vr_packed_dev_complete_burst(b->pdev, done, n)
			       : vr_split_dev_complete_burst(b->sdev, done, n);
}

static VB_ALWAYS_INLINE int vrb_get_used_burst(struct vrb *b,
					       const enum vrb_ring R,
					       struct vrb_null *z, const bool U,
					       struct vr_used_buf *out,
					       unsigned max)
{
	if (R == VRB_NULL) {
		unsigned n = z->n_adds < max ? z->n_adds : max, i;
		int ret;

		/* U: the entries were add_bufs' (struct vr_add_buf). */
		if (U) {
#if VRB_BUFS
			const struct vr_add_buf *adds = (const struct vr_add_buf *)z->adds;

			for (i = 0; i < n; i++)
				out[i].cookie = adds[i].cookie;
#endif
		} else {
			const struct vr_add *adds = (const struct vr_add *)z->adds;

			for (i = 0; i < n; i++)
				out[i].cookie = adds[i].cookie;
		}
		ret = (int)n;
		__asm__ __volatile__("" : "+r"(ret) : "r"(out) : "memory");
		return ret;
	}
	return R == VRB_PACKED ? vr_packed_drv_get_used_burst(b->pdrv, out, max)
			       : vr_split_drv_get_used_burst(b->sdrv, out, max);
}
#endif /* VRB_HAVE_BURSTS */

#if VRB_BUFS
/* The single-segment batch calls (FLAT.md): count done, or the first
 * entry's error when none was; they do not publish. add_bufs adds every
 * buffer device-readable and asks for no ids. The null ring's stand-ins,
 * as the bursts': add_bufs records where the entries are, pop_bufs writes
 * each buffer's base (its length and direction are written once at
 * set-up), one asm statement per call. */

static VB_ALWAYS_INLINE int vrb_add_bufs(struct vrb *b, const enum vrb_ring R,
					 struct vrb_null *z,
					 const struct vr_add_buf *bufs, unsigned n)
{
	if (R == VRB_NULL) {
		int ret = (int)n;

		z->adds = bufs;
		z->n_adds = n;
		__asm__ __volatile__("" : "+r"(ret) : "r"(bufs) : "memory");
		return ret;
	}
#if VRB_HAVE_PACKED_BUFS
	if (R == VRB_PACKED)
		return vr_packed_drv_add_bufs(b->pdrv, bufs, n, false, NULL);
#endif
#if VRB_HAVE_SPLIT_BUFS
	if (R == VRB_SPLIT)
		return vr_split_drv_add_bufs(b->sdrv, bufs, n, false, NULL);
#endif
	(void)b;
	return VR_ENOTSUP; /* no such body is registered */
}

static VB_ALWAYS_INLINE int vrb_pop_bufs(struct vrb *b, const enum vrb_ring R,
					 struct vrb_null *z, struct vr_buf *out,
					 unsigned max)
{
	if (R == VRB_NULL) {
		const struct vr_add_buf *adds = (const struct vr_add_buf *)z->adds;
		unsigned n = z->n_adds < max ? z->n_adds : max, i;
		int ret;

		for (i = 0; i < n; i++)
			out[i].base = b->region + adds[i].seg.addr;
		ret = (int)n;
		__asm__ __volatile__("" : "+r"(ret) : "r"(out) : "memory");
		return ret;
	}
#if VRB_HAVE_PACKED_BUFS
	if (R == VRB_PACKED)
		return vr_packed_dev_pop_bufs(b->pdev, out, max);
#endif
#if VRB_HAVE_SPLIT_BUFS
	if (R == VRB_SPLIT)
		return vr_split_dev_pop_bufs(b->sdev, out, max);
#endif
	return VR_ENOTSUP; /* no such body is registered */
}
#endif /* VRB_BUFS */

/* ---- Per-batch arrays of the burst calls ------------------------------------- */

/* The driver's and the device's arrays for the burst calls, each on the
 * side that uses it; the fields that never change (n_out, n_in, iov,
 * iov_cap, the completion length) are set once. */
struct vrb_drv_arrays {
#ifdef VRB_HAVE_BURSTS
	struct vr_add adds[VRB_MAX_BATCH];
#endif
	struct vr_used_buf used[VRB_MAX_BATCH];
};

struct vrb_dev_arrays {
	struct vr_iov iov[VRB_MAX_BATCH];
	struct vr_chain chains[VRB_MAX_BATCH];
#ifdef VRB_HAVE_BURSTS
	struct vr_done done[VRB_MAX_BATCH];
#endif
#if VRB_BUFS
	struct vr_buf vbufs[VRB_MAX_BATCH]; /* what pop_bufs hands out */
#endif
};

static void vrb_drv_arrays_init(struct vrb_drv_arrays *a)
{
	memset(a, 0, sizeof(*a));
#ifdef VRB_HAVE_BURSTS
	for (unsigned i = 0; i < VRB_MAX_BATCH; i++) {
		a->adds[i].n_out = 1;
		a->adds[i].n_in = 0;
	}
#endif
}

static void vrb_dev_arrays_init(struct vrb_dev_arrays *a, const struct vrb *b)
{
	memset(a, 0, sizeof(*a));
	for (unsigned i = 0; i < VRB_MAX_BATCH; i++) {
		a->chains[i].iov = &a->iov[i];
		a->chains[i].iov_cap = 1;
		/* What the null ring does not write; a real ring's pop must
		 * write them, or the device's check fails. */
		if (b->ring == VRB_NULL) {
			a->chains[i].n_out = 1;
			a->iov[i].len = b->payload;
#if VRB_BUFS
			a->vbufs[i].len = b->payload; /* writable stays 0 */
#endif
		}
	}
}

/* The chain names one readable buffer of @p len bytes: one test for the
 * three fields. */
static VB_ALWAYS_INLINE bool vrb_shape_bad(const struct vr_chain *c,
					   unsigned len)
{
	return ((c->n_out ^ 1u) | c->n_in | (c->iov[0].len ^ len)) != 0;
}

#if VRB_BUFS
/* The same for a pop_bufs entry: one readable buffer (pop_bufs hands out
 * single-segment chains only; an empty chain has length 0) of @p len. */
static VB_ALWAYS_INLINE bool vrb_buf_bad(const struct vr_buf *v, unsigned len)
{
	return (v->writable | (v->len ^ len)) != 0;
}
#endif

/* ---- Driver steps ------------------------------------------------------------ */

/* Write and add one batch of messages from *sent on, then publish once.
 * T: the payload is written (stream). K: single calls, one burst call or
 * one add_bufs call. */
static VB_ALWAYS_INLINE int vrb_send(struct vrb *b, const enum vrb_ring R,
				     struct vrb_null *z, const bool T,
				     const enum vrb_kind K,
				     struct vrb_drv_arrays *a, uint64_t *sent)
{
	const bool B = K == VRB_BURST, U = K == VRB_BUFS_K;
	const uint32_t mask = b->num - 1;
	const struct vr_seg *seg = &b->segs[*sent & mask];
	const unsigned batch = b->batch;
	uint64_t seq = *sent;
	const uint64_t end = seq + batch;
	int ret;

	(void)a;
	if (B) {
#ifdef VRB_HAVE_BURSTS
		struct vr_add *ad = a->adds;

		/* Buffer of message seq: seq % num (at most num messages
		 * are in flight and they come back in order, so seq's buffer
		 * is free again once seq itself was collected). */
		for (; seq != end; seq++, ad++, seg++) {
			ad->seg = seg;
			ad->cookie = (void *)(uintptr_t)seq;
			if (T)
				vb_fill(b->region + seg->addr, seq, b->payload);
		}
		ret = vrb_add_burst(b, R, z, a->adds, batch);
		if (ret != (int)batch)
			return ret < 0 ? ret : VR_ENOSPC;
#endif
	} else if (U) {
#if VRB_BUFS
		/* The table's run for this batch: only the cookie changes. */
		struct vr_add_buf *const first = &b->abufs[seq & mask];
		struct vr_add_buf *ab = first;

		for (; seq != end; seq++, ab++) {
			ab->cookie = (void *)(uintptr_t)seq;
			if (T)
				vb_fill(b->region + ab->seg.addr, seq, b->payload);
		}
		ret = vrb_add_bufs(b, R, z, first, batch);
		if (ret != (int)batch)
			return ret < 0 ? ret : VR_ENOSPC;
#endif
	} else {
		for (; seq != end; seq++, seg++) {
			if (T)
				vb_fill(b->region + seg->addr, seq, b->payload);
			ret = vrb_add(b, R, z, seg, (void *)(uintptr_t)seq);
			if (ret < 0) {
				*sent = seq;
				return ret;
			}
		}
	}
	*sent = end;
	ret = vrb_kick(b, R, z);
	if (ret < 0)
		return ret;
	b->kicks += (unsigned)ret;
	return 0;
}

/* Check used buffers u[0 .. n) against the next ones lent from *done on. */
static VB_ALWAYS_INLINE int vrb_check_used(const struct vr_used_buf *u,
					   unsigned n, uint64_t *done)
{
	uint64_t d = *done;
	unsigned i;
	int err = 0;

	for (i = 0; i < n; i++, d++)
		if ((uintptr_t)u[i].cookie != (uintptr_t)d || u[i].len != 0) {
			err = VRB_EBADUSED;
			break;
		}
	*done = d;
	return err;
}

/* Collect every used buffer there is; each must be the next one sent. */
static VB_ALWAYS_INLINE int vrb_reclaim(struct vrb *b, const enum vrb_ring R,
					const enum vrb_kind K,
					struct vrb_drv_arrays *a, uint64_t *done)
{
	/* A local: its fields stay in registers. */
	struct vr_used_buf u;
	int err;

	(void)a;
	if (K != VRB_SINGLE) {
#ifdef VRB_HAVE_BURSTS
		while ((err = vrb_get_used_burst(b, R, NULL, K == VRB_BUFS_K, a->used,
						 VRB_MAX_BATCH)) > 0) {
			err = vrb_check_used(a->used, (unsigned)err, done);
			if (err)
				return err;
		}
		return err;
#endif
	}
	while ((err = vrb_get_used(b, R, NULL, &u)) == 0) {
		err = vrb_check_used(&u, 1, done);
		if (err)
			return err;
	}
	return err == VR_EAGAIN ? 0 : err;
}

/* Collect used buffers until at most @p outstanding_max messages are out. */
static VB_ALWAYS_INLINE int vrb_wait_back(struct vrb *b, const enum vrb_ring R,
					  const enum vrb_kind K,
					  struct vrb_drv_arrays *a,
					  uint64_t sent, uint64_t *done,
					  uint64_t outstanding_max)
{
	struct vb_spin w;

	vb_spin_init(&w);
	for (;;) {
		int err = vrb_reclaim(b, R, K, a, done);

		if (err)
			return err;
		if (sent - *done <= outstanding_max)
			return 0;
		if (!vb_spin(&w, &b->pair, "used buffers"))
			return VRB_ESTALL;
	}
}

/* ---- Device loop (stream and pingpong) ------------------------------------------- */

/* The other thread: take up to a batch of chains, check each message,
 * return them used, publish once per batch. T: check the payload (stream),
 * else that the descriptor names the expected buffer (pingpong). */
static VB_ALWAYS_INLINE void vrb_device_loop(struct vb_pair *p, void *arg,
					     const enum vrb_ring R, const bool IO,
					     const bool T, const enum vrb_kind K)
{
	const bool B = K == VRB_BURST, U = K == VRB_BUFS_K;
	struct vrb *b = (struct vrb *)arg;
	struct vrb_dev_arrays *a = (struct vrb_dev_arrays *)vb_alloc(sizeof(*a));
	unsigned char copy[VB_PAYLOAD_MAX];
	const unsigned batch = b->batch, payload = b->payload;
	const uint32_t mask = b->num - 1;
	uint64_t expect = 0, irqs = 0;
	const char *what = NULL;
	int err = 0;

	if (!a) {
		vb_pair_fail(p, "device: out of memory");
		return;
	}
	vrb_dev_arrays_init(a, b);
	vb_pair_ready(p);
	for (;;) {
		struct vr_chain *c = a->chains;
		unsigned char *const *want = &b->bufs[expect & mask];
		unsigned n = 0, i;

		if (B) {
#ifdef VRB_HAVE_BURSTS
			err = vrb_pop_burst(b, R, NULL, a->chains, batch);
			if (err < 0) {
				what = "pop_burst";
				break;
			}
			n = (unsigned)err;
			err = 0;
#endif
		} else if (U) {
#if VRB_BUFS
			err = vrb_pop_bufs(b, R, NULL, a->vbufs, batch);
			if (err < 0) {
				what = "pop_bufs";
				break;
			}
			n = (unsigned)err;
			err = 0;
#endif
		} else {
			while (n < batch && (err = vrb_pop(b, R, NULL, &a->chains[n])) == 0)
				n++;
			if (err && err != VR_EAGAIN) {
				what = "pop";
				break;
			}
			err = 0;
		}
#if VRB_BUFS
		/* The same checks on pop_bufs' entries. */
		for (i = 0; U && i < n; i++, expect++) {
			const struct vr_buf *v = &a->vbufs[i];

			if (vrb_buf_bad(v, payload) ||
			    (T ? !vb_take(copy, v->base, expect, payload)
			       : v->base != *want++)) {
				err = VRB_EBADUSED;
				break;
			}
			if (!IO)
				a->done[i].id = v->id;
		}
#endif
		for (i = 0; !U && i < n; i++, c++, expect++) {
			if (vrb_shape_bad(c, payload) ||
			    (T ? !vb_take(copy, c->iov[0].base, expect, payload)
			       : c->iov[0].base != *want++)) {
				err = VRB_EBADUSED;
				break;
			}
#ifdef VRB_HAVE_BURSTS
			if (B && !IO)
				a->done[i].id = c->id;
#endif
			if (!B && !IO && (err = vrb_complete(b, R, c->id))) {
				what = "complete";
				break;
			}
		}
		if (err) {
			if (!what)
				what = "message";
			break;
		}
		if (n == 0) {
			if (vb_pair_stopping(p))
				break;
			vb_cpu_relax();
			continue;
		}
		if (IO) {
			if ((err = vrb_complete_in_order(b, R, n))) {
				what = "complete_in_order";
				break;
			}
		} else if (B || U) {
#ifdef VRB_HAVE_BURSTS
			if ((err = vrb_complete_burst(b, R, a->done, n)) != (int)n) {
				err = err < 0 ? err : VR_ESTATE;
				what = "complete_burst";
				break;
			}
#endif
		}
		err = vrb_notify(b, R, NULL);
		if (err < 0) {
			what = "notify_prepare";
			break;
		}
		irqs += (unsigned)err;
		err = 0;
	}
	if (err == VRB_EBADUSED)
		vb_pair_fail(p, "device: message %llu: wrong chain, buffer or payload",
			     (unsigned long long)expect);
	else if (err)
		vb_pair_fail(p, "device: %s: %s (%s)", what, vr_errname(err),
			     vr_strerror(err));
	b->dev_got = expect;
	b->dev_irqs = irqs;
	free(a);
}

/* ---- Set-up ---------------------------------------------------------------------- */

static void vrb_free_all(struct vrb *b)
{
	if (!b)
		return;
	free(b->region);
	free(b->segs);
	free(b->bufs);
#if VRB_BUFS
	free(b->abufs);
#endif
	free(b->drv_state);
	free(b->dev_state);
	free(b->sdrv);
	free(b->pdrv);
	free(b->sdev);
	free(b->pdev);
	free(b->null_rec);
	free(b);
}

static struct vrb *vrb_new(struct vb_state *s, enum vrb_ring ring, bool in_order,
			   unsigned batch, unsigned payload, uint32_t num)
{
	const bool packed = ring == VRB_PACKED;
	struct vr_queue_cfg cfg;
	struct vr_layout lay;
	struct vrb *b;
	size_t ds, vs;
	int err;
	char msg[120];

	if (batch == 0 || batch > VRB_MAX_BATCH || batch > num) {
		vb_fail(s, "batch must be 1..256 and at most the queue size");
		return NULL;
	}
	b = (struct vrb *)vb_alloc(sizeof(*b));
	if (!b) {
		vb_fail(s, "out of memory");
		return NULL;
	}
	b->ring = ring;
	b->num = num;
	b->batch = batch;
	b->payload = payload;
	err = packed ? vr_packed_layout(num, &lay)
		     : vr_split_layout(num, VR_LEGACY_ALIGN, &lay);
	if (err)
		goto fail;
	b->pool_off = (lay.total + 4095) & ~(size_t)4095;
	b->region_len = b->pool_off + (size_t)num * payload;
	b->region = (unsigned char *)vb_alloc(b->region_len);
	b->segs = (struct vr_seg *)vb_alloc((num + VRB_MAX_BATCH) * sizeof(*b->segs));
	b->bufs = (unsigned char **)vb_alloc((num + VRB_MAX_BATCH) * sizeof(*b->bufs));
	if (!b->region || !b->segs || !b->bufs)
		goto oom;
#if VRB_BUFS
	b->abufs = (struct vr_add_buf *)vb_alloc((num + VRB_MAX_BATCH) * sizeof(*b->abufs));
	if (!b->abufs)
		goto oom;
#endif
	for (uint32_t k = 0; k < num + VRB_MAX_BATCH; k++) {
		b->segs[k].addr = b->pool_off + (size_t)(k % num) * payload;
		b->segs[k].len = payload;
		b->bufs[k] = b->region + b->segs[k].addr;
#if VRB_BUFS
		b->abufs[k].seg = b->segs[k];
		b->abufs[k].cookie = NULL;
#endif
	}
	if (ring == VRB_NULL) {
		b->null_rec = (struct vrb_null_rec *)vb_alloc(VRB_MAX_BATCH *
							       sizeof(*b->null_rec));
		if (!b->null_rec)
			goto oom;
		return b;
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_EVENT_IDX);
	if (packed)
		cfg.features |= VR_FEATURE(VR_F_RING_PACKED);
	if (in_order)
		cfg.features |= VR_FEATURE(VR_F_IN_ORDER);
	cfg.mem = vr_mem_window(b->region, 0, b->region_len);

	ds = packed ? vr_packed_drv_state_size(num) : vr_split_drv_state_size(num);
	vs = packed ? vr_packed_dev_state_size(num) : vr_split_dev_state_size(num);
	b->drv_state = vb_alloc(ds);
	b->dev_state = vb_alloc(vs);
	if (packed) {
		struct vr_packed_areas a;

		b->pdrv = (struct vr_packed_drv *)vb_alloc(sizeof(*b->pdrv));
		b->pdev = (struct vr_packed_dev *)vb_alloc(sizeof(*b->pdev));
		if (!b->drv_state || !b->dev_state || !b->pdrv || !b->pdev)
			goto oom;
		err = vr_packed_areas_from_region(&a, b->region, lay.total, num);
		if (!err)
			err = vr_packed_drv_init(b->pdrv, &cfg, &a, b->drv_state, ds);
		if (!err)
			err = vr_packed_dev_init(b->pdev, &cfg, &a, b->dev_state, vs);
	} else {
		struct vr_split_areas a;

		b->sdrv = (struct vr_split_drv *)vb_alloc(sizeof(*b->sdrv));
		b->sdev = (struct vr_split_dev *)vb_alloc(sizeof(*b->sdev));
		if (!b->drv_state || !b->dev_state || !b->sdrv || !b->sdev)
			goto oom;
		err = vr_split_areas_from_region(&a, b->region, lay.total, num,
						 VR_LEGACY_ALIGN);
		if (!err)
			err = vr_split_drv_init(b->sdrv, &cfg, &a, b->drv_state, ds);
		if (!err)
			err = vr_split_dev_init(b->sdev, &cfg, &a, b->dev_state, vs);
	}
	if (err)
		goto fail;
	/* Both sides poll, as a busy channel does: each asks the other not to
	 * notify it. need_notify still runs (fence, event check) after every
	 * publish and its answers are counted. */
	if (packed) {
		vr_packed_drv_suppress_used_notify(b->pdrv);
		vr_packed_dev_suppress_avail_notify(b->pdev);
	} else {
		vr_split_drv_suppress_used_notify(b->sdrv);
		vr_split_dev_suppress_avail_notify(b->sdev);
	}
	return b;
oom:
	vrb_free_all(b);
	vb_fail(s, "out of memory");
	return NULL;
fail:
	snprintf(msg, sizeof(msg), "ring set-up: %s", vr_errname(err));
	vrb_free_all(b);
	vb_fail(s, msg);
	return NULL;
}

/* Report an error of the driver side and leave the loop. */
static void vrb_driver_error(struct vb_state *s, struct vrb *b, int err)
{
	char msg[200];

	if (vb_pair_failed(&b->pair) || err == VRB_ESTALL)
		snprintf(msg, sizeof(msg), "%s", b->pair.why);
	else if (err == VRB_EBADUSED)
		snprintf(msg, sizeof(msg),
			 "driver: used buffer out of order or with a bad length "
			 "after message %llu",
			 (unsigned long long)b->done);
	else
		snprintf(msg, sizeof(msg), "driver: %s (%s)", vr_errname(err),
			 vr_strerror(err));
	vb_fail(s, msg);
}

/* After a run: every message went through, both ways; report. */
static void vrb_finish(struct vb_state *s, struct vrb *b,
		       const struct vb_timer *t, bool two_threads)
{
	char msg[160];

	if (two_threads && vb_pair_failed(&b->pair)) {
		vb_fail(s, b->pair.why);
		return;
	}
	if (b->dev_got != b->sent || b->done != b->sent) {
		snprintf(msg, sizeof(msg),
			 "lost messages: sent %llu, device took %llu, driver "
			 "collected %llu",
			 (unsigned long long)b->sent,
			 (unsigned long long)b->dev_got,
			 (unsigned long long)b->done);
		vb_fail(s, msg);
		return;
	}
	vb_report(s, t, b->sent);
	vb_counter(s, "notifications_per_msg",
		   (double)(b->kicks + b->dev_irqs) / (double)b->sent);
}

/* ---- The three patterns ------------------------------------------------------------ */

static VB_ALWAYS_INLINE void vrb_stream(struct vb_state *s, const enum vrb_ring R,
					const bool IO, const enum vrb_kind K,
					void (*dev)(struct vb_pair *, void *))
{
	unsigned batch = (unsigned)vb_arg(s, 0, 32);
	unsigned payload = (unsigned)vb_arg(s, 1, 8);
	uint32_t num = (uint32_t)vb_arg(s, 2, VB_QSIZE);
	struct vrb_drv_arrays *a = (struct vrb_drv_arrays *)vb_alloc(sizeof(*a));
	struct vb_timer t;
	struct vrb *b = a ? vrb_new(s, R, IO, batch, payload, num) : NULL;
	uint64_t sent = 0, done = 0;
	int err = 0;

	if (!b) {
		if (!a)
			vb_fail(s, "out of memory");
		free(a);
		return;
	}
	vrb_drv_arrays_init(a);
	if (vb_pair_start(&b->pair, dev, b)) {
		vb_pair_stop(&b->pair);
		vb_fail(s, b->pair.why);
		vrb_free_all(b);
		free(a);
		return;
	}
	vb_timer_start(&t);
	while (vb_run(s, batch)) {
		/* Collect used buffers only when a batch does not fit. */
		if (vrb_free(b, R) < batch &&
		    (err = vrb_wait_back(b, R, K, a, sent, &done, num - batch)))
			break;
		if ((err = vrb_send(b, R, NULL, true, K, a, &sent)))
			break;
		if (vb_last(s) && (err = vrb_wait_back(b, R, K, a, sent, &done, 0)))
			break;
	}
	vb_timer_stop(&t);
	vb_pair_stop(&b->pair);
	b->sent = sent;
	b->done = done;
	if (err)
		vrb_driver_error(s, b, err);
	else
		vrb_finish(s, b, &t, true);
	vrb_free_all(b);
	free(a);
}

static VB_ALWAYS_INLINE void vrb_pingpong(struct vb_state *s,
					  const enum vrb_ring R, const bool IO,
					  const enum vrb_kind K,
					  void (*dev)(struct vb_pair *, void *))
{
	unsigned batch = (unsigned)vb_arg(s, 0, 1);
	struct vrb_drv_arrays *a = (struct vrb_drv_arrays *)vb_alloc(sizeof(*a));
	struct vb_timer t;
	struct vrb *b = a ? vrb_new(s, R, IO, batch, VRB_SMALL, VB_QSIZE) : NULL;
	uint64_t sent = 0, done = 0;
	int err = 0;

	if (!b) {
		if (!a)
			vb_fail(s, "out of memory");
		free(a);
		return;
	}
	vrb_drv_arrays_init(a);
	if (vb_pair_start(&b->pair, dev, b)) {
		vb_pair_stop(&b->pair);
		vb_fail(s, b->pair.why);
		vrb_free_all(b);
		free(a);
		return;
	}
	vb_timer_start(&t);
	while (vb_run(s, batch)) {
		if ((err = vrb_send(b, R, NULL, false, K, a, &sent)))
			break;
		if ((err = vrb_wait_back(b, R, K, a, sent, &done, 0)))
			break;
	}
	vb_timer_stop(&t);
	vb_pair_stop(&b->pair);
	b->sent = sent;
	b->done = done;
	if (err) {
		vrb_driver_error(s, b, err);
	} else {
		vrb_finish(s, b, &t, true);
		if (b->sent)
			vb_counter(s, "cycles_per_roundtrip",
				   (double)(t.c1 - t.c0) * batch / (double)b->sent);
	}
	vrb_free_all(b);
	free(a);
}

/* The chain names one readable buffer and nothing writable: n_out and
 * n_in, adjacent in struct vr_chain, in one compare. */
static const uint16_t vrb_one_out[2] = { 1, 0 };
_Static_assert(offsetof(struct vr_chain, n_in) ==
		       offsetof(struct vr_chain, n_out) + sizeof(uint16_t),
	       "n_out and n_in adjacent");

/* Both roles on one CPU, a batch at a time: the driver adds and publishes
 * it, the device takes every chain, checks it and returns it, the driver
 * collects exactly the batch and checks every used buffer. RS: switch
 * callgrind's collection at each change of role (VRB_ROLES, above). */
static VB_ALWAYS_INLINE void vrb_local(struct vb_state *s, const enum vrb_ring R,
				       const bool IO, const enum vrb_kind K,
				       const bool RS)
{
	const bool B = K == VRB_BURST, U = K == VRB_BUFS_K;
	const unsigned batch = (unsigned)vb_arg(s, 0, 32);
	struct vrb_drv_arrays *da = (struct vrb_drv_arrays *)vb_alloc(sizeof(*da));
	struct vrb_dev_arrays *va = (struct vrb_dev_arrays *)vb_alloc(sizeof(*va));
	struct vrb *b = da && va ? vrb_new(s, R, IO, batch, VRB_SMALL, VB_QSIZE) : NULL;
	struct vr_chain *const chains_end = va ? va->chains + batch : NULL;
#if VRB_BUFS
	const struct vr_buf *const vbufs_end = va ? va->vbufs + batch : NULL;
#endif
	uint32_t mask;
	uint64_t sent = 0, done = 0, taken = 0, irqs = 0;
	struct vrb_null z = { NULL, NULL, NULL, NULL, NULL, 0 };
	/* A local, so that its fields stay in registers; zeroed once, as the
	 * null ring writes only the cookie. */
	struct vr_used_buf u = { NULL, 0, 0 };
	struct vb_timer t;
	const char *what = "";
	char msg[160];
	int err = 0;

	if (!b) {
		if (!da || !va)
			vb_fail(s, "out of memory");
		free(da);
		free(va);
		return;
	}
	vrb_drv_arrays_init(da);
	vrb_dev_arrays_init(va, b);
	z.rec = z.add = z.pop = z.used = b->null_rec;
	mask = b->num - 1;
	vb_pin_self(vb_cpu_producer);
	vb_timer_start(&t);
	while (vb_run(s, batch)) {
		/* The buffers the device must find, in order. */
		unsigned char *const *want = &b->bufs[taken & mask];
		struct vr_chain *c;
#ifdef VRB_HAVE_BURSTS
		struct vr_done *dn = va->done;
#endif

		/* Driver: a batch out, one publish. */
		if ((err = vrb_send(b, R, &z, false, K, da, &sent))) {
			what = "driver: add or kick_prepare";
			break;
		}
		VRB_ROLE_SWITCH(RS);
		/* Device: every chain of the batch, each the next message. */
		if (U) {
#if VRB_BUFS
			const struct vr_buf *v;

			err = vrb_pop_bufs(b, R, &z, va->vbufs, batch);
			if (err != (int)batch) {
				what = "device: pop_bufs (short or failed)";
				err = err < 0 ? err : VR_EAGAIN;
				break;
			}
			err = 0;
			for (v = va->vbufs; v != vbufs_end; v++) {
				if (v->writable != 0 || v->len != VRB_SMALL ||
				    v->base != *want++) {
					what = "device: wrong buffer";
					err = VRB_EBADUSED;
					break;
				}
				if (!IO)
					(dn++)->id = v->id;
			}
#endif
		}
		if (B) {
#ifdef VRB_HAVE_BURSTS
			err = vrb_pop_burst(b, R, &z, va->chains, batch);
			if (err != (int)batch) {
				what = "device: pop_burst (short or failed)";
				err = err < 0 ? err : VR_EAGAIN;
				break;
			}
			err = 0;
#endif
		}
		for (c = va->chains; !U && c != chains_end; c++) {
			if (!B && (err = vrb_pop(b, R, &z, c))) {
				what = "device: pop";
				break;
			}
			if (memcmp(&c->n_out, vrb_one_out, sizeof(vrb_one_out)) != 0 ||
			    c->iov[0].len != VRB_SMALL || c->iov[0].base != *want++) {
				what = "device: wrong chain or buffer";
				err = VRB_EBADUSED;
				break;
			}
#ifdef VRB_HAVE_BURSTS
			if (B && !IO)
				(dn++)->id = c->id;
#endif
			if (!B && !IO && (err = vrb_complete(b, R, c->id))) {
				what = "device: complete";
				break;
			}
		}
		if (err)
			break;
		taken += batch;
		if (IO) {
			if ((err = vrb_complete_in_order(b, R, batch))) {
				what = "device: complete_in_order";
				break;
			}
		} else if (B || U) {
#ifdef VRB_HAVE_BURSTS
			if ((err = vrb_complete_burst(b, R, va->done, batch)) != (int)batch) {
				what = "device: complete_burst";
				err = err < 0 ? err : VR_ESTATE;
				break;
			}
			err = 0;
#endif
		}
		if ((err = vrb_notify(b, R, &z)) < 0) {
			what = "device: notify_prepare";
			break;
		}
		irqs += (unsigned)err;
		err = 0;
		VRB_ROLE_SWITCH(RS);
		/* Driver: exactly the batch back, each the next one lent. */
		if (B || U) {
#ifdef VRB_HAVE_BURSTS
			err = vrb_get_used_burst(b, R, &z, U, da->used, batch);
			if (err != (int)batch) {
				what = "driver: get_used_burst (short or failed)";
				err = err < 0 ? err : VR_EAGAIN;
				break;
			}
			if ((err = vrb_check_used(da->used, batch, &done))) {
				what = "driver: used buffer out of order or with a length";
				break;
			}
#endif
		} else {
			const uint64_t end = done + batch;

			for (; done != end; done++) {
				if ((err = vrb_get_used(b, R, &z, &u))) {
					what = "driver: get_used";
					break;
				}
				if ((uintptr_t)u.cookie != (uintptr_t)done || u.len != 0) {
					what = "driver: used buffer out of order or with a length";
					err = VRB_EBADUSED;
					break;
				}
			}
			if (err)
				break;
		}
	}
	vb_timer_stop(&t);
	/* Nothing more may come back than was sent. */
	if (!err && R != VRB_NULL) {
		int extra = vrb_get_used(b, R, &z, &da->used[0]);

		if (extra != VR_EAGAIN) {
			what = "driver: a used buffer more than was sent";
			err = extra ? extra : VRB_EBADUSED;
		}
	}
	b->sent = sent;
	b->done = done;
	b->dev_got = taken;
	b->dev_irqs = irqs;
	if (err) {
		snprintf(msg, sizeof(msg), "local, after message %llu: %s: %s",
			 (unsigned long long)done, what,
			 err == VRB_EBADUSED ? "check failed" : vr_errname(err));
		vb_fail(s, msg);
	} else {
		vrb_finish(s, b, &t, false);
	}
	free(da);
	free(va);
	vrb_free_all(b);
}

/* ---- The implementations ----------------------------------------------------------- */

#define VRB_IMPL(name, R, IO, K)                                               \
	static void vrb_dev_stream_##name(struct vb_pair *p, void *arg)        \
	{                                                                      \
		vrb_device_loop(p, arg, R, IO, true, K);                       \
	}                                                                      \
	static void vrb_dev_pingpong_##name(struct vb_pair *p, void *arg)      \
	{                                                                      \
		vrb_device_loop(p, arg, R, IO, false, K);                      \
	}                                                                      \
	static void bm_##name##_stream(struct vb_state *s)                     \
	{                                                                      \
		vrb_stream(s, R, IO, K, vrb_dev_stream_##name);                \
	}                                                                      \
	static void bm_##name##_pingpong(struct vb_state *s)                   \
	{                                                                      \
		vrb_pingpong(s, R, IO, K, vrb_dev_pingpong_##name);            \
	}                                                                      \
	static void bm_##name##_local(struct vb_state *s)                      \
	{                                                                      \
		vrb_local(s, R, IO, K, false);                                 \
	}

/* The local body of @p name with the role switches (vring_icount only). */
#ifdef VRB_ROLES
#define VRB_ROLE_IMPL(name, R, IO, K)                                          \
	static void bm_roles_##name##_local(struct vb_state *s)                \
	{                                                                      \
		vrb_local(s, R, IO, K, true);                                  \
	}
#else
#define VRB_ROLE_IMPL(name, R, IO, K)
#endif

#define VRB_BOTH_IMPL(name, R, IO, K)                                          \
	VRB_IMPL(name, R, IO, K)                                               \
	VRB_ROLE_IMPL(name, R, IO, K)

VRB_BOTH_IMPL(split, VRB_SPLIT, false, VRB_SINGLE)
VRB_BOTH_IMPL(packed, VRB_PACKED, false, VRB_SINGLE)
VRB_BOTH_IMPL(split_inorder, VRB_SPLIT, true, VRB_SINGLE)
VRB_BOTH_IMPL(packed_inorder, VRB_PACKED, true, VRB_SINGLE)

/* The harness alone: the local body on the null ring. */
#define VRB_HARNESS_IMPL(name, IO, K)                                          \
	static void bm_harness_##name(struct vb_state *s)                      \
	{                                                                      \
		vrb_local(s, VRB_NULL, IO, K, false);                          \
	}                                                                      \
	VRB_ROLE_IMPL(harness_##name, VRB_NULL, IO, K)

VRB_HARNESS_IMPL(vring, false, VRB_SINGLE)
VRB_HARNESS_IMPL(vring_inorder, true, VRB_SINGLE)

#define VRB_LIST(name, sfx)                                                    \
	{ "BM_" #name "_stream" sfx, bm_##name##_stream, VB_STREAM },          \
	{ "BM_" #name "_pingpong" sfx, bm_##name##_pingpong, VB_PINGPONG },    \
	{ "BM_" #name "_local" sfx, bm_##name##_local, VB_LOCAL }

#ifdef VRB_HAVE_BURSTS
VRB_BOTH_IMPL(split_b, VRB_SPLIT, false, VRB_BURST)
VRB_BOTH_IMPL(packed_b, VRB_PACKED, false, VRB_BURST)
VRB_BOTH_IMPL(split_inorder_b, VRB_SPLIT, true, VRB_BURST)
VRB_BOTH_IMPL(packed_inorder_b, VRB_PACKED, true, VRB_BURST)
VRB_HARNESS_IMPL(vring_b, false, VRB_BURST)
VRB_HARNESS_IMPL(vring_inorder_b, true, VRB_BURST)

/* "BM_packed_stream_burst", ...: the pattern then "_burst", so that each
 * burst body sorts next to its single-call twin. */
#define VRB_LIST_B(name)                                                       \
	{ "BM_" #name "_stream_burst", bm_##name##_b_stream, VB_STREAM },      \
	{ "BM_" #name "_pingpong_burst", bm_##name##_b_pingpong, VB_PINGPONG }, \
	{ "BM_" #name "_local_burst", bm_##name##_b_local, VB_LOCAL }
#endif

/* The _bufs bodies ("BM_packed_local_bufs", next to "..._burst"), per
 * format as its calls come in. */
#if VRB_BUFS
#if VRB_HAVE_SPLIT_BUFS
VRB_BOTH_IMPL(split_u, VRB_SPLIT, false, VRB_BUFS_K)
VRB_BOTH_IMPL(split_inorder_u, VRB_SPLIT, true, VRB_BUFS_K)
#endif
#if VRB_HAVE_PACKED_BUFS
VRB_BOTH_IMPL(packed_u, VRB_PACKED, false, VRB_BUFS_K)
VRB_BOTH_IMPL(packed_inorder_u, VRB_PACKED, true, VRB_BUFS_K)
#endif
VRB_HARNESS_IMPL(vring_u, false, VRB_BUFS_K)
VRB_HARNESS_IMPL(vring_inorder_u, true, VRB_BUFS_K)

#define VRB_LIST_U(name)                                                       \
	{ "BM_" #name "_stream_bufs", bm_##name##_u_stream, VB_STREAM },       \
	{ "BM_" #name "_pingpong_bufs", bm_##name##_u_pingpong, VB_PINGPONG }, \
	{ "BM_" #name "_local_bufs", bm_##name##_u_local, VB_LOCAL }
#endif

const struct vb_bench vb_vring_benches[] = {
	VRB_LIST(split, ""),
	VRB_LIST(packed, ""),
	VRB_LIST(split_inorder, ""),
	VRB_LIST(packed_inorder, ""),
#ifdef VRB_HAVE_BURSTS
	VRB_LIST_B(split),
	VRB_LIST_B(packed),
	VRB_LIST_B(split_inorder),
	VRB_LIST_B(packed_inorder),
#endif
#if VRB_BUFS && VRB_HAVE_SPLIT_BUFS
	VRB_LIST_U(split),
	VRB_LIST_U(split_inorder),
#endif
#if VRB_BUFS && VRB_HAVE_PACKED_BUFS
	VRB_LIST_U(packed),
	VRB_LIST_U(packed_inorder),
#endif
	/* The harness alone (null ring), next to the peers' BM_harness_*. */
	{ "BM_harness_vring_local", bm_harness_vring, VB_LOCAL },
	{ "BM_harness_vring_inorder_local", bm_harness_vring_inorder, VB_LOCAL },
#ifdef VRB_HAVE_BURSTS
	{ "BM_harness_vring_local_burst", bm_harness_vring_b, VB_LOCAL },
	{ "BM_harness_vring_inorder_local_burst", bm_harness_vring_inorder_b, VB_LOCAL },
#endif
#if VRB_BUFS
	{ "BM_harness_vring_local_bufs", bm_harness_vring_u, VB_LOCAL },
	{ "BM_harness_vring_inorder_local_bufs", bm_harness_vring_inorder_u, VB_LOCAL },
#endif
	{ NULL, NULL, VB_STREAM },
};

#ifdef VRB_ROLES
/* vring_icount --roles: the same names, the local bodies with the role
 * switches. */
#define VRB_ROLE_LIST(name, sfx, fn)                                           \
	{ "BM_" #name "_local" sfx, bm_roles_##fn##_local, VB_LOCAL }

const struct vb_bench vb_vring_role_benches[] = {
	VRB_ROLE_LIST(split, "", split),
	VRB_ROLE_LIST(packed, "", packed),
	VRB_ROLE_LIST(split_inorder, "", split_inorder),
	VRB_ROLE_LIST(packed_inorder, "", packed_inorder),
#ifdef VRB_HAVE_BURSTS
	VRB_ROLE_LIST(split, "_burst", split_b),
	VRB_ROLE_LIST(packed, "_burst", packed_b),
	VRB_ROLE_LIST(split_inorder, "_burst", split_inorder_b),
	VRB_ROLE_LIST(packed_inorder, "_burst", packed_inorder_b),
#endif
#if VRB_BUFS && VRB_HAVE_SPLIT_BUFS
	VRB_ROLE_LIST(split, "_bufs", split_u),
	VRB_ROLE_LIST(split_inorder, "_bufs", split_inorder_u),
#endif
#if VRB_BUFS && VRB_HAVE_PACKED_BUFS
	VRB_ROLE_LIST(packed, "_bufs", packed_u),
	VRB_ROLE_LIST(packed_inorder, "_bufs", packed_inorder_u),
#endif
	VRB_ROLE_LIST(harness_vring, "", harness_vring),
	VRB_ROLE_LIST(harness_vring_inorder, "", harness_vring_inorder),
#ifdef VRB_HAVE_BURSTS
	VRB_ROLE_LIST(harness_vring, "_burst", harness_vring_b),
	VRB_ROLE_LIST(harness_vring_inorder, "_burst", harness_vring_inorder_b),
#endif
#if VRB_BUFS
	VRB_ROLE_LIST(harness_vring, "_bufs", harness_vring_u),
	VRB_ROLE_LIST(harness_vring_inorder, "_bufs", harness_vring_inorder_u),
#endif
	{ NULL, NULL, VB_LOCAL },
};
#endif
