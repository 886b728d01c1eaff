/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ck_ring: Concurrency Kit's single-producer single-consumer ring
 * (ck_ring_enqueue_spsc / ck_ring_dequeue_spsc), carrying a pointer to the
 * message buffer. ck_ring has no bulk call: every message is published on
 * its own (one store of the producer index, one of the consumer index), so
 * <batch> only groups the producer's loop.
 */
#include <ck_ring.h>

#include <stdlib.h>

#include "bench_common.h"

struct vbp_q {
	ck_ring_t ring; /* producer and consumer indexes on lines of their own */
	ck_ring_buffer_t *slots;
};

typedef void *vbp_elem_t;

#define VBP_NAME ck_ring
#define VBP_UNBOUNDED 0
#define VBP_HEADROOM 0u

static int vbp_q_init(struct vbp_q *q, uint32_t num)
{
	q->slots = (ck_ring_buffer_t *)vb_alloc((size_t)num * sizeof(*q->slots));
	if (!q->slots)
		return -1;
	ck_ring_init(&q->ring, num); /* holds num - 1 */
	return 0;
}

static void vbp_q_fini(struct vbp_q *q)
{
	free(q->slots);
}

static VB_ALWAYS_INLINE unsigned vbp_enq(struct vbp_q *q, const vbp_elem_t *e,
					 unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (!ck_ring_enqueue_spsc(&q->ring, q->slots, e[i]))
			break;
	return i;
}

static VB_ALWAYS_INLINE unsigned vbp_deq(struct vbp_q *q, vbp_elem_t *e,
					 unsigned max)
{
	unsigned i;

	for (i = 0; i < max; i++)
		if (!ck_ring_dequeue_spsc(&q->ring, q->slots, &e[i]))
			break;
	return i;
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
