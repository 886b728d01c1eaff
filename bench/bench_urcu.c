/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * urcu_wfcq: liburcu's wait-free concurrent queue (cds_wfcq_enqueue on the
 * producer side, __cds_wfcq_dequeue_nonblocking on the single consumer,
 * the linked library calls, not the _LGPL_SOURCE inline ones). A message
 * is a node at the head of its buffer. The queue is unbounded, so the
 * producer keeps at most <queue size> messages in flight from the
 * consumer's progress counter, which the consumer publishes after every
 * burst.
 */
#include <urcu/wfcqueue.h>

#include <stdlib.h>

#include "bench_common.h"

struct vbp_q {
	struct __cds_wfcq_head head; /* consumer's end */
	_Alignas(VB_LINE) struct cds_wfcq_tail tail; /* producer's end */
};

typedef struct cds_wfcq_node *vbp_elem_t;

#define VBP_NAME urcu_wfcq
#define VBP_UNBOUNDED 1
/* The node sits at the start of each buffer, the payload after it. */
#define VBP_HEADROOM ((unsigned)sizeof(struct cds_wfcq_node))

static int vbp_q_init(struct vbp_q *q, uint32_t num)
{
	(void)num;
	__cds_wfcq_init(&q->head, &q->tail);
	return 0;
}

static void vbp_q_fini(struct vbp_q *q)
{
	(void)q;
}

static VB_ALWAYS_INLINE unsigned vbp_enq(struct vbp_q *q, const vbp_elem_t *e,
					 unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		cds_wfcq_node_init(e[i]);
		cds_wfcq_enqueue(&q->head, &q->tail, e[i]);
	}
	return n;
}

static VB_ALWAYS_INLINE unsigned vbp_deq(struct vbp_q *q, vbp_elem_t *e,
					 unsigned max)
{
	unsigned i;

	for (i = 0; i < max; i++) {
		struct cds_wfcq_node *node =
			__cds_wfcq_dequeue_nonblocking(&q->head, &q->tail);

		/* NULL: empty; WOULDBLOCK: an enqueue is half done. */
		if (node == NULL || node == CDS_WFCQ_WOULDBLOCK)
			break;
		e[i] = node;
	}
	return i;
}

static VB_ALWAYS_INLINE vbp_elem_t vbp_make(unsigned char *buf, unsigned len,
					    uint64_t seq)
{
	(void)len;
	(void)seq;
	return (struct cds_wfcq_node *)(void *)buf;
}

static VB_ALWAYS_INLINE unsigned char *vbp_buf(const vbp_elem_t *e)
{
	return (unsigned char *)(void *)*e;
}

static VB_ALWAYS_INLINE bool vbp_elem_ok(const vbp_elem_t *e, unsigned len,
					 uint64_t seq)
{
	(void)len;
	(void)seq;
	return *e != NULL;
}

#include "bench_peer.h"
