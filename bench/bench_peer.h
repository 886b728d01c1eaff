/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The three patterns for a one-way peer queue (ck_ring, urcu_wfcq,
 * dpdk_ring, dpdk_ring16), written once. Include this after defining:
 *
 *   VBP_NAME          the implementation's name token, e.g. ck_ring
 *   VBP_UNBOUNDED     1 when the queue has no capacity of its own (the
 *                     producer then keeps at most <queue size> messages in
 *                     flight from the consumer's progress counter)
 *   vbp_elem_t        what one enqueue carries
 *   struct vbp_q      one direction of the queue
 *   int      vbp_q_init(struct vbp_q *q, uint32_t num)   0 or -1
 *   void     vbp_q_fini(struct vbp_q *q)
 *   unsigned vbp_enq(struct vbp_q *q, const vbp_elem_t *e, unsigned n)
 *            enqueue up to n (all or nothing is fine), return how many
 *   unsigned vbp_deq(struct vbp_q *q, vbp_elem_t *e, unsigned max)
 *            dequeue up to max, return how many
 *   vbp_elem_t vbp_make(unsigned char *buf, unsigned len, uint64_t seq)
 *   unsigned char *vbp_buf(const vbp_elem_t *e)
 *   bool     vbp_elem_ok(const vbp_elem_t *e, unsigned len, uint64_t seq)
 *            what the element itself says is right (its length, ...)
 *   VBP_HEADROOM      bytes each buffer reserves before the payload
 *
 * Messages: the producer writes the payload into the next buffer of a pool
 * (cycled; vb_peer_bufs() buffers, so none is rewritten while the consumer
 * may still read it) and enqueues a reference to it; the consumer copies the
 * payload out and checks its sequence number. No completion path: these
 * queues are one way, and the ring's capacity is the flow control.
 * pingpong uses two queues, the consumer echoing each element back.
 * Payload bytes are written and copied only in stream; in pingpong and
 * local the element is the message, and the consumer checks that it names
 * the expected buffer (as libvring's device checks its descriptor).
 */
#ifndef VBP_NAME
#error "define VBP_NAME and the vbp_* hooks before including bench_peer.h"
#endif

#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

#define VBP_CAT2(a, b) a##b
#define VBP_CAT(a, b) VBP_CAT2(a, b)
#define VBP_STR2(a) #a
#define VBP_STR(a) VBP_STR2(a)
#define VBP_FN(x) VBP_CAT(VBP_CAT(vbp_, VBP_NAME), x)

/* Largest burst an element array on the stack holds. */
#define VBP_MAX_BATCH 256u

struct vbp {
	uint32_t num;
	unsigned batch, payload;
	bool touch; /* stream: payload written and copied; else the element
		       alone is the message */
	uint32_t nbufs;
	size_t stride;
	unsigned char *pool;
	struct vbp_q *q;    /* producer -> consumer */
	struct vbp_q *back; /* consumer -> producer (pingpong) */
	/* Consumer progress: published when it runs dry (and after every
	 * burst for an unbounded queue). */
	_Alignas(VB_LINE) _Atomic uint64_t done;
	/* Producer private. */
	_Alignas(VB_LINE) uint64_t sent, done_seen, back_got;
	uint32_t bi;
	uint32_t ri; /* _ret bodies: pool index of the next buffer due back */
	vbp_elem_t e[VBP_MAX_BATCH];
	/* The null queue of the BM_harness_* bodies: the last enqueue. */
	const vbp_elem_t *null_e;
	unsigned null_n;
	/* Consumer result. */
	_Alignas(VB_LINE) uint64_t got;
	struct vb_pair pair;
};

static void VBP_FN(_free)(struct vbp *b)
{
	if (!b)
		return;
	if (b->q) {
		vbp_q_fini(b->q);
		free(b->q);
	}
	if (b->back) {
		vbp_q_fini(b->back);
		free(b->back);
	}
	free(b->pool);
	free(b);
}

static struct vbp *VBP_FN(_new)(struct vb_state *s, unsigned batch,
				 unsigned payload, bool touch, uint32_t num,
				 bool two_way)
{
	struct vbp *b = (struct vbp *)vb_alloc(sizeof(*b));

	if (!b) {
		vb_fail(s, "out of memory");
		return NULL;
	}
	b->num = num;
	b->batch = batch;
	b->payload = payload;
	b->touch = touch;
	b->nbufs = vb_peer_bufs(num, batch);
	b->stride = (VBP_HEADROOM + payload + 7u) & ~(size_t)7;
	b->pool = (unsigned char *)vb_alloc((size_t)b->nbufs * b->stride);
	b->q = (struct vbp_q *)vb_alloc(sizeof(struct vbp_q));
	if (two_way)
		b->back = (struct vbp_q *)vb_alloc(sizeof(struct vbp_q));
	if (!b->pool || !b->q || (two_way && !b->back) || batch > VBP_MAX_BATCH) {
		free(b->pool);
		free(b->q);
		free(b->back);
		free(b);
		vb_fail(s, "out of memory");
		return NULL;
	}
	if (vbp_q_init(b->q, num) || (two_way && vbp_q_init(b->back, num))) {
		free(b->pool);
		free(b->q);
		free(b->back);
		free(b);
		vb_fail(s, "queue set-up failed");
		return NULL;
	}
	return b;
}

/* Fill the next batch of buffers and build their elements in b->e.
 * T: the payload is written (stream), a constant after inlining. */
static VB_ALWAYS_INLINE void VBP_FN(_fill)(struct vbp *b, const bool T)
{
	uint32_t bi = b->bi;
	unsigned i;

	for (i = 0; i < b->batch; i++) {
		unsigned char *buf = b->pool + (size_t)bi * b->stride;

		if (T)
			vb_fill(buf + VBP_HEADROOM, b->sent + i, b->payload);
		b->e[i] = vbp_make(buf, b->payload, b->sent + i);
		if (++bi == b->nbufs)
			bi = 0;
	}
	b->bi = bi;
}

/*
 * The null queue: stand-ins for vbp_enq and vbp_deq, for the local bodies
 * only (BM_harness_<peer>_local, _ret_local). They measure the harness
 * alone: the loops, the elements built, the sequence numbers and every
 * check of what comes back, exactly as the real bodies run them. The
 * enqueue stand-in records where the elements are; the dequeue stand-in
 * copies them out with one memcpy (what any queue that hands elements out
 * must do, less than an instruction per message at batch 32). Each ends in
 * an empty asm statement with a memory clobber, so that the compiler
 * neither folds the checks nor learns what the elements hold; it adds no
 * instruction.
 */
static VB_ALWAYS_INLINE unsigned VBP_FN(_qenq)(struct vbp *b, const bool NUL,
					      struct vbp_q *q,
					      const vbp_elem_t *e, unsigned n)
{
	if (NUL) {
		unsigned ret = n;

		b->null_e = e;
		b->null_n = n;
		__asm__ __volatile__("" : "+r"(ret) : "r"(e) : "memory");
		return ret;
	}
	return vbp_enq(q, e, n);
}

static VB_ALWAYS_INLINE unsigned VBP_FN(_qdeq)(struct vbp *b, const bool NUL,
					      struct vbp_q *q, vbp_elem_t *e,
					      unsigned max)
{
	if (NUL) {
		unsigned n = b->null_n < max ? b->null_n : max;

		if (e != b->null_e)
			memcpy(e, b->null_e, (size_t)n * sizeof(*e));
		b->null_n = 0;
		__asm__ __volatile__("" : "+r"(n) : "r"(e) : "memory");
		return n;
	}
	return vbp_deq(q, e, max);
}

/* Enqueue b->e[0 .. batch) on @p q, waiting for room. */
static VB_ALWAYS_INLINE bool VBP_FN(_push)(struct vbp *b, struct vbp_q *q)
{
	unsigned k = 0;
	struct vb_spin w;

	vb_spin_init(&w);
	while (k < b->batch) {
		unsigned n = vbp_enq(q, &b->e[k], b->batch - k);

		k += n;
		if (n == 0 && !vb_spin(&w, &b->pair, "room in the queue"))
			return false;
	}
	return true;
}

/* Wait until at most @p max messages are unconsumed. */
static bool VBP_FN(_wait_done)(struct vbp *b, uint64_t max)
{
	struct vb_spin w;

	vb_spin_init(&w);
	for (;;) {
		if (b->sent - b->done_seen <= max)
			return true;
		b->done_seen = atomic_load_explicit(&b->done, memory_order_acquire);
		if (b->sent - b->done_seen <= max)
			return true;
		if (!vb_spin(&w, &b->pair, "the consumer"))
			return false;
	}
}

/* Consumer: take bursts, check every message; echo them back on
 * b->back when it is set. */
static void VBP_FN(_consumer)(struct vb_pair *p, void *arg)
{
	struct vbp *b = (struct vbp *)arg;
	unsigned char copy[VB_PAYLOAD_MAX];
	vbp_elem_t e[VBP_MAX_BATCH];
	uint64_t m = 0, published = 0;
	uint32_t bi = 0; /* the producer's buffer index of message m */

	vb_pair_ready(p);
	for (;;) {
		unsigned n = vbp_deq(b->q, e, b->batch), i;

		if (n == 0) {
			if (published != m) {
				atomic_store_explicit(&b->done, m, memory_order_release);
				published = m;
			}
			if (vb_pair_stopping(p))
				break;
			vb_cpu_relax();
			continue;
		}
		for (i = 0; i < n; i++, m++) {
			const unsigned char *buf = vbp_buf(&e[i]);

			if (!vbp_elem_ok(&e[i], b->payload, m) ||
			    (b->touch ? !vb_take(copy, buf + VBP_HEADROOM, m,
						 b->payload)
				      : buf != b->pool + (size_t)bi * b->stride)) {
				vb_pair_fail(p, "consumer: message %llu is wrong",
					     (unsigned long long)m);
				b->got = m;
				return;
			}
			if (++bi == b->nbufs)
				bi = 0;
		}
		if (b->back) {
			struct vb_spin w;
			unsigned k = 0;

			vb_spin_init(&w);
			while (k < n) {
				unsigned d = vbp_enq(b->back, &e[k], n - k);

				k += d;
				if (d == 0 && !vb_spin(&w, p, "room for replies"))
					break;
			}
		}
		if (VBP_UNBOUNDED) {
			/* Release: the buffers are read before the producer
			 * may reuse them. */
			atomic_store_explicit(&b->done, m, memory_order_release);
			published = m;
		}
	}
	b->got = m;
}

static void VBP_FN(_finish)(struct vb_state *s, struct vbp *b, bool ok,
			   const struct vb_timer *t)
{
	if (!ok || vb_pair_failed(&b->pair))
		vb_fail(s, b->pair.why[0] ? b->pair.why : "failed");
	else if (b->got != b->sent)
		vb_fail(s, "lost messages");
	else
		vb_report(s, t, b->sent);
}

static void VBP_FN(_stream)(struct vb_state *s)
{
	unsigned batch = (unsigned)vb_arg(s, 0, 32);
	unsigned payload = (unsigned)vb_arg(s, 1, 8);
	uint32_t num = (uint32_t)vb_arg(s, 2, VB_QSIZE);
	struct vbp *b = VBP_FN(_new)(s, batch, payload, true, num, false);
	struct vb_timer t;
	bool ok = true;

	if (!b)
		return;
	if (vb_pair_start(&b->pair, VBP_FN(_consumer), b)) {
		vb_pair_stop(&b->pair);
		vb_fail(s, b->pair.why);
		VBP_FN(_free)(b);
		return;
	}
	vb_timer_start(&t);
	while (ok && vb_run(s, batch)) {
		if (VBP_UNBOUNDED && !(ok = VBP_FN(_wait_done)(b, num - batch)))
			break;
		VBP_FN(_fill)(b, true);
		if (!(ok = VBP_FN(_push)(b, b->q)))
			break;
		b->sent += batch;
		if (vb_last(s))
			ok = VBP_FN(_wait_done)(b, 0);
	}
	vb_timer_stop(&t);
	vb_pair_stop(&b->pair);
	VBP_FN(_finish)(s, b, ok, &t);
	VBP_FN(_free)(b);
}

static void VBP_FN(_pingpong)(struct vb_state *s)
{
	unsigned batch = (unsigned)vb_arg(s, 0, 1);
	struct vbp *b = VBP_FN(_new)(s, batch, 8, false, VB_QSIZE, true);
	vbp_elem_t r[VBP_MAX_BATCH];
	struct vb_timer t;
	bool ok = true;

	if (!b)
		return;
	if (vb_pair_start(&b->pair, VBP_FN(_consumer), b)) {
		vb_pair_stop(&b->pair);
		vb_fail(s, b->pair.why);
		VBP_FN(_free)(b);
		return;
	}
	vb_timer_start(&t);
	while (ok && vb_run(s, batch)) {
		unsigned k = 0;
		struct vb_spin w;

		VBP_FN(_fill)(b, false);
		if (!(ok = VBP_FN(_push)(b, b->q)))
			break;
		vb_spin_init(&w);
		while (k < batch) {
			unsigned n = vbp_deq(b->back, &r[k], batch - k), i;

			for (i = k; i < k + n; i++)
				if (vbp_buf(&r[i]) != vbp_buf(&b->e[i])) {
					vb_pair_fail(&b->pair,
						     "producer: reply %llu is not "
						     "its request",
						     (unsigned long long)(b->sent + i));
					ok = false;
				}
			k += n;
			if (!ok || (n == 0 && !(ok = vb_spin(&w, &b->pair, "replies"))))
				break;
		}
		b->sent += batch;
	}
	vb_timer_stop(&t);
	vb_pair_stop(&b->pair);
	VBP_FN(_finish)(s, b, ok, &t);
	if (ok && !vb_pair_failed(&b->pair) && b->sent)
		vb_counter(s, "cycles_per_roundtrip",
			   (double)(t.c1 - t.c0) * batch / (double)b->sent);
	VBP_FN(_free)(b);
}

/* Both sides on one CPU, a batch at a time. NUL: on the null queue. */
static VB_ALWAYS_INLINE void VBP_FN(_local_body)(struct vb_state *s, const bool NUL)
{
	unsigned batch = (unsigned)vb_arg(s, 0, 32);
	struct vbp *b = VBP_FN(_new)(s, batch, 8, false, VB_QSIZE, false);
	vbp_elem_t r[VBP_MAX_BATCH];
	struct vb_timer t;
	bool ok = true;

	if (!b)
		return;
	vb_pin_self(vb_cpu_producer);
	vb_timer_start(&t);
	while (ok && vb_run(s, batch)) {
		unsigned n, i;

		VBP_FN(_fill)(b, false);
		if (VBP_FN(_qenq)(b, NUL, b->q, b->e, batch) != batch) {
			ok = false;
			break;
		}
		n = VBP_FN(_qdeq)(b, NUL, b->q, r, batch);
		for (i = 0; i < n; i++)
			if (!vbp_elem_ok(&r[i], 8, b->sent + i) ||
			    vbp_buf(&r[i]) != vbp_buf(&b->e[i]))
				ok = false;
		if (n != batch)
			ok = false;
		b->sent += batch;
	}
	vb_timer_stop(&t);
	if (!ok)
		vb_fail(s, "local: a message was lost or wrong");
	else
		vb_report(s, &t, b->sent);
	VBP_FN(_free)(b);
}

static void VBP_FN(_local)(struct vb_state *s)
{
	VBP_FN(_local_body)(s, false);
}

static void VBP_FN(_harness_local)(struct vb_state *s)
{
	VBP_FN(_local_body)(s, true);
}

/* ---- With a return ring: the buffer comes back, as a used ring returns it ----
 *
 * libvring's driver gets every buffer back through the used ring, checks that
 * it is one it lent, and only then may reuse it: its flow control is the
 * buffers returned, not the queue's capacity. The _ret bodies give each peer
 * the same duty: a second queue carries every element back to the producer,
 * which checks that the returned buffer is the next one it lent (in order,
 * as libvring checks each used id against its own record), and sends only
 * while fewer than a queue's worth are out. */

/* Producer: take whatever came back, check it, count it. */
static VB_ALWAYS_INLINE bool VBP_FN(_reap_q)(struct vbp *b, const bool NUL,
					     vbp_elem_t *r)
{
	unsigned n = VBP_FN(_qdeq)(b, NUL, b->back, r, VBP_MAX_BATCH), i;
	uint32_t ri = b->ri;

	for (i = 0; i < n; i++) {
		if (vbp_buf(&r[i]) != b->pool + (size_t)ri * b->stride) {
			vb_pair_fail(&b->pair, "producer: returned buffer %llu is not "
					       "the one lent",
				     (unsigned long long)(b->back_got + i));
			return false;
		}
		if (++ri == b->nbufs)
			ri = 0;
	}
	b->ri = ri;
	b->back_got += n;
	return true;
}

static VB_ALWAYS_INLINE bool VBP_FN(_reap)(struct vbp *b, vbp_elem_t *r)
{
	return VBP_FN(_reap_q)(b, false, r);
}

/* Producer: reap until at most @p max buffers are out. */
static bool VBP_FN(_wait_back)(struct vbp *b, vbp_elem_t *r, uint64_t max)
{
	struct vb_spin w;

	vb_spin_init(&w);
	while (b->sent - b->back_got > max) {
		uint64_t before = b->back_got;

		if (!VBP_FN(_reap)(b, r))
			return false;
		if (b->back_got == before && !vb_spin(&w, &b->pair, "returned buffers"))
			return false;
	}
	return true;
}

static void VBP_FN(_ret_stream)(struct vb_state *s)
{
	unsigned batch = (unsigned)vb_arg(s, 0, 32);
	unsigned payload = (unsigned)vb_arg(s, 1, 8);
	uint32_t num = (uint32_t)vb_arg(s, 2, VB_QSIZE);
	struct vbp *b = VBP_FN(_new)(s, batch, payload, true, num, true);
	vbp_elem_t r[VBP_MAX_BATCH];
	struct vb_timer t;
	bool ok = true;

	if (!b)
		return;
	if (vb_pair_start(&b->pair, VBP_FN(_consumer), b)) {
		vb_pair_stop(&b->pair);
		vb_fail(s, b->pair.why);
		VBP_FN(_free)(b);
		return;
	}
	vb_timer_start(&t);
	while (ok && vb_run(s, batch)) {
		/* Room: fewer than a queue's worth lent (the return queue
		 * then always has room for what the consumer echoes). */
		if (!(ok = VBP_FN(_reap)(b, r)) ||
		    !(ok = VBP_FN(_wait_back)(b, r, num - batch)))
			break;
		VBP_FN(_fill)(b, true);
		if (!(ok = VBP_FN(_push)(b, b->q)))
			break;
		b->sent += batch;
		if (vb_last(s))
			ok = VBP_FN(_wait_back)(b, r, 0);
	}
	vb_timer_stop(&t);
	vb_pair_stop(&b->pair);
	if (ok && b->back_got != b->sent)
		ok = false;
	VBP_FN(_finish)(s, b, ok, &t);
	VBP_FN(_free)(b);
}

static VB_ALWAYS_INLINE void VBP_FN(_ret_local_body)(struct vb_state *s,
						     const bool NUL)
{
	unsigned batch = (unsigned)vb_arg(s, 0, 32);
	struct vbp *b = VBP_FN(_new)(s, batch, 8, false, VB_QSIZE, true);
	vbp_elem_t r[VBP_MAX_BATCH];
	struct vb_timer t;
	bool ok = true;

	if (!b)
		return;
	vb_pin_self(vb_cpu_producer);
	vb_timer_start(&t);
	while (ok && vb_run(s, batch)) {
		unsigned n, i;

		VBP_FN(_fill)(b, false);
		if (VBP_FN(_qenq)(b, NUL, b->q, b->e, batch) != batch) {
			ok = false;
			break;
		}
		/* The consumer's half: take, check, return. */
		n = VBP_FN(_qdeq)(b, NUL, b->q, r, batch);
		for (i = 0; i < n; i++)
			if (!vbp_elem_ok(&r[i], 8, b->sent + i) ||
			    vbp_buf(&r[i]) != vbp_buf(&b->e[i]))
				ok = false;
		if (n != batch || VBP_FN(_qenq)(b, NUL, b->back, r, n) != n) {
			ok = false;
			break;
		}
		b->sent += batch;
		/* The producer's half: collect and check every return. */
		if (!VBP_FN(_reap_q)(b, NUL, r) || b->back_got != b->sent)
			ok = false;
	}
	vb_timer_stop(&t);
	if (!ok)
		vb_fail(s, b->pair.why[0] ? b->pair.why : "local: a buffer was lost or wrong");
	else
		vb_report(s, &t, b->sent);
	VBP_FN(_free)(b);
}

static void VBP_FN(_ret_local)(struct vb_state *s)
{
	VBP_FN(_ret_local_body)(s, false);
}

static void VBP_FN(_harness_ret_local)(struct vb_state *s)
{
	VBP_FN(_ret_local_body)(s, true);
}

const struct vb_bench VBP_CAT(VBP_CAT(vb_, VBP_NAME), _list)[] = {
	{ "BM_" VBP_STR(VBP_NAME) "_stream", VBP_FN(_stream), VB_STREAM },
	{ "BM_" VBP_STR(VBP_NAME) "_pingpong", VBP_FN(_pingpong), VB_PINGPONG },
	{ "BM_" VBP_STR(VBP_NAME) "_local", VBP_FN(_local), VB_LOCAL },
	{ "BM_" VBP_STR(VBP_NAME) "_ret_stream", VBP_FN(_ret_stream), VB_STREAM },
	{ "BM_" VBP_STR(VBP_NAME) "_ret_local", VBP_FN(_ret_local), VB_LOCAL },
	/* The harness alone, on the null queue. */
	{ "BM_harness_" VBP_STR(VBP_NAME) "_local", VBP_FN(_harness_local), VB_LOCAL },
	{ "BM_harness_" VBP_STR(VBP_NAME) "_ret_local", VBP_FN(_harness_ret_local),
	  VB_LOCAL },
	{ NULL, NULL, VB_STREAM },
};
