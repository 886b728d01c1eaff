/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpdk_ring: DPDK's rte_ring, single producer / single consumer, carrying
 * 8-byte pointers to the message buffers: rte_ring_enqueue_bulk (all or
 * nothing) and rte_ring_dequeue_burst. No EAL: the ring lives in a
 * cache-aligned buffer of rte_ring_get_memsize() bytes set up by
 * rte_ring_init() with RING_F_SP_ENQ | RING_F_SC_DEQ.
 */
#include <rte_ring.h>

#include <stdlib.h>

#include "bench_common.h"

struct vbp_q {
	struct rte_ring *r;
};

typedef void *vbp_elem_t;

#define VBP_NAME dpdk_ring
#define VBP_UNBOUNDED 0
#define VBP_HEADROOM 0u

static int vbp_q_init(struct vbp_q *q, uint32_t num)
{
	ssize_t sz = rte_ring_get_memsize(num);

	if (sz < 0)
		return -1;
	q->r = (struct rte_ring *)vb_alloc((size_t)sz);
	if (!q->r)
		return -1;
	/* Holds num - 1 (no RING_F_EXACT_SZ). */
	return rte_ring_init(q->r, "vb_dpdk_ring", num,
			     RING_F_SP_ENQ | RING_F_SC_DEQ) == 0 ? 0 : -1;
}

static void vbp_q_fini(struct vbp_q *q)
{
	free(q->r);
}

static VB_ALWAYS_INLINE unsigned vbp_enq(struct vbp_q *q, const vbp_elem_t *e,
					 unsigned n)
{
	return rte_ring_enqueue_bulk(q->r, (void *const *)e, n, NULL);
}

static VB_ALWAYS_INLINE unsigned vbp_deq(struct vbp_q *q, vbp_elem_t *e,
					 unsigned max)
{
	return rte_ring_dequeue_burst(q->r, (void **)e, max, NULL);
}

static VB_ALWAYS_INLINE vbp_elem_t vbp_make(unsigned char *buf, unsigned len,
					    uint64_t seq)
{
	(void)len;
	(void)seq;
	return buf;
}

static VB_ALWAYS_INLINE unsigned char *vbp_buf(const vbp_elem_t *e)
{
	return (unsigned char *)*e;
}

static VB_ALWAYS_INLINE bool vbp_elem_ok(const vbp_elem_t *e, unsigned len,
					 uint64_t seq)
{
	(void)len;
	(void)seq;
	return *e != NULL;
}

#include "bench_peer.h"
