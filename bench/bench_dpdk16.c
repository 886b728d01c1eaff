/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpdk_ring16: the same rte_ring (SP/SC, no EAL) carrying 16-byte elements
 * through rte_ring_enqueue_bulk_elem / rte_ring_dequeue_burst_elem: an
 * address, a length and a tag, the payload of a virtio descriptor. The
 * consumer checks the length and the tag as well as the buffer.
 */
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <stdlib.h>

#include "bench_common.h"

struct vbp_q {
	struct rte_ring *r;
};

typedef struct {
	uint64_t addr;
	uint32_t len;
	uint32_t tag; /* low bits of the sequence number */
} vbp_elem_t;

_Static_assert(sizeof(vbp_elem_t) == 16, "a descriptor's worth");

#define VBP_NAME dpdk_ring16
#define VBP_UNBOUNDED 0
#define VBP_HEADROOM 0u

static int vbp_q_init(struct vbp_q *q, uint32_t num)
{
	ssize_t sz = rte_ring_get_memsize_elem(sizeof(vbp_elem_t), num);

	if (sz < 0)
		return -1;
	q->r = (struct rte_ring *)vb_alloc((size_t)sz);
	if (!q->r)
		return -1;
	return rte_ring_init(q->r, "vb_dpdk_ring16", num,
			     RING_F_SP_ENQ | RING_F_SC_DEQ) == 0 ? 0 : -1;
}

static void vbp_q_fini(struct vbp_q *q)
{
	free(q->r);
}

static VB_ALWAYS_INLINE unsigned vbp_enq(struct vbp_q *q, const vbp_elem_t *e,
					 unsigned n)
{
	return rte_ring_enqueue_bulk_elem(q->r, e, sizeof(vbp_elem_t), n, NULL);
}

static VB_ALWAYS_INLINE unsigned vbp_deq(struct vbp_q *q, vbp_elem_t *e,
					 unsigned max)
{
	return rte_ring_dequeue_burst_elem(q->r, e, sizeof(vbp_elem_t), max, NULL);
}

static VB_ALWAYS_INLINE vbp_elem_t vbp_make(unsigned char *buf, unsigned len,
					    uint64_t seq)
{
	vbp_elem_t e;

	e.addr = (uint64_t)(uintptr_t)buf;
	e.len = len;
	e.tag = (uint32_t)seq;
	return e;
}

static VB_ALWAYS_INLINE unsigned char *vbp_buf(const vbp_elem_t *e)
{
	return (unsigned char *)(uintptr_t)e->addr;
}

static VB_ALWAYS_INLINE bool vbp_elem_ok(const vbp_elem_t *e, unsigned len,
					 uint64_t seq)
{
	return e->len == len && e->tag == (uint32_t)seq;
}

#include "bench_peer.h"
