/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cacheline: the floor. No ring protocol, only 64-byte lines changing hands
 * between the same two CPUs as every other benchmark.
 *
 *   stream    one line per message: the producer writes the message's
 *             sequence number (and its buffer index) into the next line of
 *             an array of <queue size> lines with a release store; the
 *             consumer waits for exactly that value, copies the payload out
 *             of the buffer and checks it, and publishes how far it got
 *             once per batch (the producer's flow control). Payload buffers
 *             as for the other one-way peers.
 *   pingpong  the producer writes <batch> request lines, the consumer
 *             answers each with a reply line, the producer waits for all
 *             of them: at batch 1, one line each way per round trip.
 *   local     write and read a batch of lines on one CPU.
 */

#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

struct cl_line {
	_Alignas(VB_LINE) _Atomic uint64_t seq; /* message seq + 1; 0 = none yet */
	uint64_t buf;                           /* buffer index */
};

struct clb {
	uint32_t num;
	unsigned batch, payload;
	uint32_t nbufs;
	unsigned char *pool;
	struct cl_line *lines; /* num lines (stream, local) */
	struct cl_line *req;   /* batch lines each way (pingpong) */
	struct cl_line *resp;
	/* Consumer progress, published once per batch. */
	_Alignas(VB_LINE) _Atomic uint64_t done;
	/* Producer private. */
	_Alignas(VB_LINE) uint64_t sent, done_seen;
	uint32_t bi;
	/* Consumer result. */
	_Alignas(VB_LINE) uint64_t got;
	struct vb_pair pair;
};

static void clb_free(struct clb *b)
{
	if (!b)
		return;
	free(b->pool);
	free(b->lines);
	free(b->req);
	free(b->resp);
	free(b);
}

static struct clb *clb_new(struct vb_state *s, unsigned batch, unsigned payload,
			   uint32_t num)
{
	struct clb *b = (struct clb *)vb_alloc(sizeof(*b));

	if (!b) {
		vb_fail(s, "out of memory");
		return NULL;
	}
	b->num = num;
	b->batch = batch;
	b->payload = payload;
	b->nbufs = vb_peer_bufs(num, batch);
	b->pool = (unsigned char *)vb_alloc((size_t)b->nbufs * payload);
	b->lines = (struct cl_line *)vb_alloc((size_t)num * sizeof(struct cl_line));
	b->req = (struct cl_line *)vb_alloc((size_t)batch * sizeof(struct cl_line));
	b->resp = (struct cl_line *)vb_alloc((size_t)batch * sizeof(struct cl_line));
	if (!b->pool || !b->lines || !b->req || !b->resp) {
		clb_free(b);
		vb_fail(s, "out of memory");
		return NULL;
	}
	return b;
}

/* ---- stream ----------------------------------------------------------------- */

static void clb_stream_consumer(struct vb_pair *p, void *arg)
{
	struct clb *b = (struct clb *)arg;
	unsigned char copy[VB_PAYLOAD_MAX];
	uint64_t m = 0, published = 0;
	const uint32_t mask = b->num - 1;

	vb_pair_ready(p);
	for (;;) {
		struct cl_line *l = &b->lines[m & mask];
		uint64_t v = atomic_load_explicit(&l->seq, memory_order_acquire);

		if (v == m + 1) {
			const unsigned char *src = b->pool + l->buf * b->payload;

			if (!vb_take(copy, src, m, b->payload)) {
				vb_pair_fail(p, "consumer: message %llu: wrong payload",
					     (unsigned long long)m);
				break;
			}
			m++;
			if (m - published >= b->batch) {
				/* Release: the payload reads above are done
				 * before the producer may reuse the buffers. */
				atomic_store_explicit(&b->done, m, memory_order_release);
				published = m;
			}
			continue;
		}
		if (published != m) {
			atomic_store_explicit(&b->done, m, memory_order_release);
			published = m;
		}
		if (vb_pair_stopping(p))
			break;
		vb_cpu_relax();
	}
	b->got = m;
}

/* Wait until at most @p max messages are unconsumed. */
static bool clb_wait_done(struct clb *b, uint64_t max)
{
	struct vb_spin w;

	vb_spin_init(&w);
	while (b->sent - b->done_seen > max) {
		b->done_seen = atomic_load_explicit(&b->done, memory_order_acquire);
		if (b->sent - b->done_seen <= max)
			break;
		if (!vb_spin(&w, &b->pair, "the consumer"))
			return false;
	}
	return true;
}

static void bm_cacheline_stream(struct vb_state *s)
{
	unsigned batch = (unsigned)vb_arg(s, 0, 32);
	unsigned payload = (unsigned)vb_arg(s, 1, 8);
	uint32_t num = (uint32_t)vb_arg(s, 2, VB_QSIZE);
	struct clb *b = clb_new(s, batch, payload, num);
	struct vb_timer t;
	bool ok = true;
	unsigned i;

	if (!b)
		return;
	if (vb_pair_start(&b->pair, clb_stream_consumer, b)) {
		vb_pair_stop(&b->pair);
		vb_fail(s, b->pair.why);
		clb_free(b);
		return;
	}
	vb_timer_start(&t);
	while (ok && vb_run(s, batch)) {
		if (b->sent + batch - b->done_seen > num &&
		    !(ok = clb_wait_done(b, num - batch)))
			break;
		for (i = 0; i < batch; i++) {
			uint64_t m = b->sent++;
			struct cl_line *l = &b->lines[m & (num - 1)];

			vb_fill(b->pool + (size_t)b->bi * payload, m, payload);
			l->buf = b->bi;
			if (++b->bi == b->nbufs)
				b->bi = 0;
			atomic_store_explicit(&l->seq, m + 1, memory_order_release);
		}
		if (vb_last(s))
			ok = clb_wait_done(b, 0);
	}
	vb_timer_stop(&t);
	vb_pair_stop(&b->pair);
	if (!ok || vb_pair_failed(&b->pair))
		vb_fail(s, b->pair.why);
	else if (b->got != b->sent)
		vb_fail(s, "lost messages");
	else
		vb_report(s, &t, b->sent);
	clb_free(b);
}

/* ---- pingpong ----------------------------------------------------------------- */

static void clb_pingpong_consumer(struct vb_pair *p, void *arg)
{
	struct clb *b = (struct clb *)arg;
	uint64_t m = 0;
	unsigned i = 0;

	vb_pair_ready(p);
	for (;;) {
		uint64_t v = atomic_load_explicit(&b->req[i].seq, memory_order_acquire);

		if (v == m + 1) {
			atomic_store_explicit(&b->resp[i].seq, m + 1,
					      memory_order_release);
			m++;
			if (++i == b->batch)
				i = 0;
			continue;
		}
		if (vb_pair_stopping(p))
			break;
		vb_cpu_relax();
	}
	b->got = m;
}

static void bm_cacheline_pingpong(struct vb_state *s)
{
	unsigned batch = (unsigned)vb_arg(s, 0, 1);
	struct clb *b = clb_new(s, batch, 8, VB_QSIZE);
	struct vb_timer t;
	bool ok = true;
	unsigned i;

	if (!b)
		return;
	if (vb_pair_start(&b->pair, clb_pingpong_consumer, b)) {
		vb_pair_stop(&b->pair);
		vb_fail(s, b->pair.why);
		clb_free(b);
		return;
	}
	vb_timer_start(&t);
	while (ok && vb_run(s, batch)) {
		uint64_t first = b->sent;

		for (i = 0; i < batch; i++)
			atomic_store_explicit(&b->req[i].seq, first + i + 1,
					      memory_order_release);
		b->sent += batch;
		for (i = 0; i < batch && ok; i++) {
			struct vb_spin w;

			vb_spin_init(&w);
			while (atomic_load_explicit(&b->resp[i].seq,
						    memory_order_acquire) !=
			       first + i + 1)
				if (!(ok = vb_spin(&w, &b->pair, "a reply line")))
					break;
		}
	}
	vb_timer_stop(&t);
	vb_pair_stop(&b->pair);
	if (!ok || vb_pair_failed(&b->pair)) {
		vb_fail(s, b->pair.why);
	} else if (b->got != b->sent) {
		vb_fail(s, "lost messages");
	} else {
		vb_report(s, &t, b->sent);
		vb_counter(s, "cycles_per_roundtrip",
			   (double)(t.c1 - t.c0) * batch / (double)b->sent);
	}
	clb_free(b);
}

/* ---- local ---------------------------------------------------------------------- */

static void bm_cacheline_local(struct vb_state *s)
{
	unsigned batch = (unsigned)vb_arg(s, 0, 32);
	struct clb *b = clb_new(s, batch, 8, VB_QSIZE);
	struct vb_timer t;
	uint64_t got = 0;
	bool ok = true;
	unsigned i;

	if (!b)
		return;
	vb_pin_self(vb_cpu_producer);
	vb_timer_start(&t);
	while (ok && vb_run(s, batch)) {
		for (i = 0; i < batch; i++) {
			uint64_t m = b->sent++;

			atomic_store_explicit(&b->lines[m & (VB_QSIZE - 1)].seq, m + 1,
					      memory_order_release);
		}
		for (i = 0; i < batch; i++) {
			if (atomic_load_explicit(&b->lines[got & (VB_QSIZE - 1)].seq,
						 memory_order_acquire) != got + 1) {
				ok = false;
				break;
			}
			got++;
		}
	}
	vb_timer_stop(&t);
	if (!ok)
		vb_fail(s, "local: a line did not hold its message");
	else
		vb_report(s, &t, b->sent);
	clb_free(b);
}

const struct vb_bench vb_cacheline_benches[] = {
	{ "BM_cacheline_stream", bm_cacheline_stream, VB_STREAM },
	{ "BM_cacheline_pingpong", bm_cacheline_pingpong, VB_PINGPONG },
	{ "BM_cacheline_local", bm_cacheline_local, VB_LOCAL },
	{ NULL, NULL, VB_STREAM },
};
