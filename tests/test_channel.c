/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The channel API over an in-process loopback transport (one region in
 * process memory, doorbells as condition variables): copy and zero-copy in
 * both directions, sizes and timeouts, peer death, and reset with
 * resubmission of unacknowledged messages. Split and packed.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <vring/vring.h>

#include "loopback.h"

#define MS 1000000ull
#define EVIDX VR_FEATURE(VR_F_EVENT_IDX)

/* Deterministic payload of message @seq, @len bytes. */
static void fill(unsigned char *p, uint32_t seq, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seq * 131u + i * 7u + (seq >> 8));
}

static size_t size_of(uint32_t seq, size_t max)
{
	return 1 + (seq * 2654435761u >> 7) % max;
}

/* ---- Single-threaded behaviour ------------------------------------------------ */

static void roundtrip_copy(uint32_t format)
{
	struct loop *l = loop_new(format, 8, 256, 8, EVIDX);
	struct end d = {0}, v = {0};
	unsigned char out[300], in[300];
	uint32_t seq;

	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, EVIDX), VR_EAGAIN); /* driver not ready */
	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, EVIDX), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, EVIDX), 0);
	assert_true(vr_chan_features(&v.ch) & EVIDX);
	assert_int_equal(vr_chan_max_msg(&d.ch), 256);
	for (seq = 1; seq <= 2000; seq++) {
		size_t n = size_of(seq, 256);
		int r;

		fill(out, seq, n);
		assert_int_equal(vr_chan_send(&d.ch, out, n, 0), 0);
		r = vr_chan_recv(&v.ch, in, sizeof(in), 0);
		assert_int_equal(r, (int)n);
		assert_memory_equal(in, out, n);
		/* and back */
		fill(out, ~seq, n);
		assert_int_equal(vr_chan_send(&v.ch, out, n, 0), 0);
		r = vr_chan_recv(&d.ch, in, sizeof(in), 0);
		assert_int_equal(r, (int)n);
		assert_memory_equal(in, out, n);
	}
	assert_int_equal(vr_chan_stats(&d.ch).sent, 2000);
	assert_int_equal(vr_chan_stats(&v.ch).received, 2000);
	free(d.state);
	free(v.state);
	loop_free(l);
}

static void test_roundtrip_copy_split(void **s)
{
	(void)s;
	roundtrip_copy(VR_FORMAT_SPLIT);
}

static void test_roundtrip_copy_packed(void **s)
{
	(void)s;
	roundtrip_copy(VR_FORMAT_PACKED);
}

static void sizes_and_timeouts(uint32_t format)
{
	struct loop *l = loop_new(format, 4, 64, 4, 0);
	struct end d = {0}, v = {0};
	unsigned char buf[128] = {1, 2, 3};
	uint64_t t0;
	int i;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, 0), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, 0), 0);
	/* Too large: refused, nothing sent. */
	assert_int_equal(vr_chan_send(&d.ch, buf, 65, 0), VR_EMSGSIZE);
	assert_int_equal(vr_chan_send(&v.ch, buf, 65, 0), VR_EMSGSIZE);
	assert_int_equal(vr_chan_send(&d.ch, buf, 0, 0), VR_EINVAL);
	/* Nothing there: EAGAIN without blocking, ETIMEDOUT after the wait. */
	assert_int_equal(vr_chan_recv(&v.ch, buf, sizeof(buf), 0), VR_EAGAIN);
	t0 = now_ns(NULL);
	assert_int_equal(vr_chan_recv(&v.ch, buf, sizeof(buf), 30 * MS), VR_ETIMEDOUT);
	assert_true(now_ns(NULL) - t0 >= 30 * MS);
	assert_true(now_ns(NULL) - t0 < 2000 * MS);
	assert_int_equal(vr_chan_recv(&d.ch, buf, sizeof(buf), 10 * MS), VR_ETIMEDOUT);
	/* A receive buffer too small: the message stays for a larger one. */
	assert_int_equal(vr_chan_send(&d.ch, buf, 40, 0), 0);
	assert_int_equal(vr_chan_recv(&v.ch, buf, 39, 0), VR_EMSGSIZE);
	assert_int_equal(vr_chan_recv(&v.ch, buf, 40, 0), 40);
	assert_int_equal(vr_chan_send(&v.ch, buf, 50, 0), 0);
	assert_int_equal(vr_chan_recv(&d.ch, buf, 10, 0), VR_EMSGSIZE);
	assert_int_equal(vr_chan_recv(&d.ch, buf, 50, 0), 50);
	/* Back-pressure: the driver has 2 TX buffers; unacknowledged, the
	 * third send cannot go. */
	for (i = 0; i < 2; i++)
		assert_int_equal(vr_chan_send(&d.ch, buf, 8, 0), 0);
	assert_int_equal(vr_chan_send(&d.ch, buf, 8, 0), VR_EAGAIN);
	assert_int_equal(vr_chan_send(&d.ch, buf, 8, 20 * MS), VR_ETIMEDOUT);
	assert_int_equal(vr_chan_recv(&v.ch, buf, sizeof(buf), 0), 8);
	assert_int_equal(vr_chan_send(&d.ch, buf, 8, 0), 0);
	free(d.state);
	free(v.state);
	loop_free(l);
}

static void test_sizes_and_timeouts_split(void **s)
{
	(void)s;
	sizes_and_timeouts(VR_FORMAT_SPLIT);
}

static void test_sizes_and_timeouts_packed(void **s)
{
	(void)s;
	sizes_and_timeouts(VR_FORMAT_PACKED);
}

static void zero_copy(uint32_t format)
{
	struct loop *l = loop_new(format, 8, 128, 8, EVIDX);
	struct end d = {0}, v = {0};
	struct vr_chan_msg m;
	void *p;
	uint32_t cap;
	int tok, seq;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, EVIDX), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, EVIDX), 0);
	for (seq = 0; seq < 500; seq++) {
		size_t n = size_of((uint32_t)seq, 128);
		unsigned char want[128];

		tok = vr_chan_send_reserve(&d.ch, &p, &cap, 0);
		assert_true(tok >= 0);
		assert_int_equal(cap, 128);
		fill(p, (uint32_t)seq, n);
		assert_int_equal(vr_chan_send_commit(&d.ch, tok, 129), VR_EMSGSIZE);
		assert_int_equal(vr_chan_send_commit(&d.ch, tok, (uint32_t)n), 0);
		assert_int_equal(vr_chan_send_commit(&d.ch, tok, (uint32_t)n), VR_EINVAL);
		assert_int_equal(vr_chan_recv_borrow(&v.ch, &m, 0), (int)n);
		fill(want, (uint32_t)seq, n);
		assert_memory_equal(m.data, want, n);
		/* The borrowed bytes lie in the region's pool. */
		assert_true((const unsigned char *)m.data >= (unsigned char *)l->region);
		assert_true((const unsigned char *)m.data + n <= (unsigned char *)l->region + l->len);
		assert_int_equal(vr_chan_recv_release(&v.ch, &m), 0);
		/* device -> driver, zero-copy both ends */
		tok = vr_chan_send_reserve(&v.ch, &p, &cap, 0);
		assert_true(tok >= 0);
		assert_true(cap >= n);
		fill(p, (uint32_t)~seq, n);
		assert_int_equal(vr_chan_send_commit(&v.ch, tok, (uint32_t)n), 0);
		assert_int_equal(vr_chan_recv_borrow(&d.ch, &m, 0), (int)n);
		fill(want, (uint32_t)~seq, n);
		assert_memory_equal(m.data, want, n);
		assert_int_equal(vr_chan_recv_release(&d.ch, &m), 0);
		assert_int_equal(vr_chan_recv_release(&d.ch, &m), VR_EINVAL); /* twice */
	}
	free(d.state);
	free(v.state);
	loop_free(l);
}

static void test_zero_copy_split(void **s)
{
	(void)s;
	zero_copy(VR_FORMAT_SPLIT);
}

static void test_zero_copy_packed(void **s)
{
	(void)s;
	zero_copy(VR_FORMAT_PACKED);
}

static void test_peer_dead(void **s)
{
	struct loop *l = loop_new(VR_FORMAT_SPLIT, 4, 64, 4, 0);
	struct end d = {0}, v = {0};
	unsigned char buf[64];
	uint64_t t0;

	(void)s;
	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, 0), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, 0), 0);
	/* The device's last words, then it dies: they are still delivered. */
	assert_int_equal(vr_chan_send(&v.ch, "last", 4, 0), 0);
	__atomic_store_n(&l->dead, 1, __ATOMIC_RELEASE);
	assert_int_equal(vr_chan_recv(&d.ch, buf, sizeof(buf), VR_WAIT_FOREVER), 4);
	assert_memory_equal(buf, "last", 4);
	/* Then the death, also to a non-blocking call. */
	assert_int_equal(vr_chan_recv(&d.ch, buf, sizeof(buf), 0), VR_EPEERDEAD);
	t0 = now_ns(NULL);
	assert_int_equal(vr_chan_recv(&d.ch, buf, sizeof(buf), VR_WAIT_FOREVER), VR_EPEERDEAD);
	assert_int_equal(vr_chan_recv(&v.ch, buf, sizeof(buf), VR_WAIT_FOREVER), VR_EPEERDEAD);
	assert_true(now_ns(NULL) - t0 < 1000 * MS);
	free(d.state);
	free(v.state);
	loop_free(l);
}

/* A device that acknowledged some messages dies; after reset a new device
 * gets exactly the unacknowledged ones, in order. */
static void reset_resubmits(uint32_t format)
{
	struct loop *l = loop_new(format, 8, 64, 16, EVIDX);
	struct end d = {0}, v = {0}, v2 = {0};
	unsigned char buf[64];
	uint32_t seq;
	int r;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, EVIDX), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, EVIDX), 0);
	for (seq = 0; seq < 8; seq++) {
		memcpy(buf, &seq, 4);
		assert_int_equal(vr_chan_send(&d.ch, buf, 4, 0), 0);
	}
	/* The old device acknowledges 0..2 and takes 3 without returning it. */
	for (seq = 0; seq < 3; seq++) {
		assert_int_equal(vr_chan_recv(&v.ch, buf, sizeof(buf), 0), 4);
		assert_memory_equal(buf, &seq, 4);
	}
	{
		struct vr_chan_msg m;

		assert_int_equal(vr_chan_recv_borrow(&v.ch, &m, 0), 4);
	}
	/* It also sends the driver one message before dying. */
	assert_int_equal(vr_chan_send(&v.ch, "bye", 3, 0), 0);
	/* ... dies. A new session: generation bumped by the transport. */
	vr_region_store(l->region, VR_RH_GENERATION, 2);
	assert_int_equal(vr_chan_recv(&v.ch, buf, sizeof(buf), 10 * MS), VR_EPEERDEAD);
	assert_int_equal(vr_chan_reset(&d.ch), 0);
	assert_int_equal(vr_chan_stats(&d.ch).resubmitted, 5);
	assert_int_equal(vr_chan_reset(&v.ch), VR_ESTATE);
	/* The message the old device published is still delivered. */
	assert_int_equal(vr_chan_recv(&d.ch, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "bye", 3);
	assert_int_equal(end_open(&v2, l, VR_ROLE_DEVICE, EVIDX), 0);
	for (seq = 3; seq < 8; seq++) {
		r = vr_chan_recv(&v2.ch, buf, sizeof(buf), 0);
		assert_int_equal(r, 4);
		assert_memory_equal(buf, &seq, 4);
	}
	assert_int_equal(vr_chan_recv(&v2.ch, buf, sizeof(buf), 0), VR_EAGAIN);
	/* And the stream goes on. */
	seq = 8;
	memcpy(buf, &seq, 4);
	assert_int_equal(vr_chan_send(&d.ch, buf, 4, 0), 0);
	assert_int_equal(vr_chan_recv(&v2.ch, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, &seq, 4);
	free(d.state);
	free(v.state);
	free(v2.state);
	loop_free(l);
}

static void test_reset_resubmits_split(void **s)
{
	(void)s;
	reset_resubmits(VR_FORMAT_SPLIT);
}

static void test_reset_resubmits_packed(void **s)
{
	(void)s;
	reset_resubmits(VR_FORMAT_PACKED);
}

static void test_open_errors(void **s)
{
	struct loop *l = loop_new(VR_FORMAT_SPLIT, 4, 64, 4, 0);
	struct loop_end e;
	struct vr_chan ch;
	struct vr_chan_cfg cfg;
	void *state = aligned_alloc(64, 1 << 16);
	size_t need;

	(void)s;
	memset(&cfg, 0, sizeof(cfg));
	end_init(&e, l, VR_ROLE_DRIVER);
	need = vr_chan_state_size(&e.t);
	assert_true(need > 0 && need < (1 << 16));
	assert_int_equal(vr_chan_open(&ch, &e.t, &cfg, state, need - 1), VR_ERANGE);
	assert_int_equal(vr_chan_open(&ch, &e.t, NULL, state, need), VR_EINVAL);
	/* A device may not open before the driver is ready. */
	end_init(&e, l, VR_ROLE_DEVICE);
	assert_int_equal(vr_chan_open(&ch, &e.t, &cfg, state, 1 << 16), VR_EAGAIN);
	/* Not a region: a clear code, no crash. */
	memcpy(l->region, "NOTVRING", 8);
	assert_int_equal(vr_chan_state_size(&e.t), 0);
	assert_int_equal(vr_chan_open(&ch, &e.t, &cfg, state, 1 << 16), VR_EMAGIC);
	free(state);
	loop_free(l);
}

/* A pool larger than the rings hold: each side gets at most its queue size
 * of buffers (one descriptor each), the rest stay unused; an explicit TX
 * share above the TX queue size is refused. */
static void test_pool_larger_than_rings(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		uint32_t format = f ? VR_FORMAT_PACKED : VR_FORMAT_SPLIT;
		struct loop *l = loop_new(format, 4, 64, 20, EVIDX);
		struct end d = {0}, v = {0};
		struct vr_chan_cfg cfg;
		struct vr_chan ch;
		uint32_t i, m;
		size_t n;

		assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, EVIDX), 0);
		assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, EVIDX), 0);
		assert_int_equal(d.ch.tx_bufs, 4);
		assert_int_equal(d.ch.rx_end - d.ch.tx_bufs, 4);
		/* Both ways, far more messages than buffers. */
		for (i = 0; i < 100; i++) {
			assert_int_equal(vr_chan_send(&d.ch, &i, sizeof(i), 0), 0);
			assert_int_equal(vr_chan_recv(&v.ch, &m, sizeof(m), 0), 4);
			assert_int_equal(m, i);
			assert_int_equal(vr_chan_send(&v.ch, &i, sizeof(i), 0), 0);
			assert_int_equal(vr_chan_recv(&d.ch, &m, sizeof(m), 0), 4);
			assert_int_equal(m, i);
		}
		/* Four in flight fill TX; the fifth waits for room. */
		for (i = 0; i < 4; i++)
			assert_int_equal(vr_chan_send(&d.ch, &i, sizeof(i), 0), 0);
		assert_int_equal(vr_chan_send(&d.ch, &i, sizeof(i), 0), VR_EAGAIN);
		memset(&cfg, 0, sizeof(cfg));
		cfg.tx_bufs = 5;
		n = vr_chan_state_size(&d.le.t);
		assert_int_equal(vr_chan_open(&ch, &d.le.t, &cfg, d.state, n), VR_EINVAL);
		free(d.state);
		free(v.state);
		loop_free(l);
	}
}

/* ---- Two threads -------------------------------------------------------------- */

struct run {
	struct end *e;
	uint32_t count;
	int failed;
};

static void *device_thread(void *arg)
{
	struct run *r = arg;
	unsigned char in[512], want[512];
	uint32_t seq;

	for (seq = 0; seq < r->count; seq++) {
		size_t n = size_of(seq, 512);
		int got = vr_chan_recv(&r->e->ch, in, sizeof(in), 5000 * MS);

		fill(want, seq, n);
		if (got != (int)n || memcmp(in, want, n)) {
			r->failed = 1;
			return NULL;
		}
		/* acknowledge every 16th with a reply */
		if (seq % 16 == 15 &&
		    vr_chan_send(&r->e->ch, &seq, sizeof(seq), 5000 * MS) != 0) {
			r->failed = 2;
			return NULL;
		}
	}
	return NULL;
}

static void threads(uint32_t format, uint64_t features)
{
	struct loop *l = loop_new(format, 16, 512, 32, features);
	struct end d = {0}, v = {0};
	struct run r;
	pthread_t th;
	unsigned char out[512];
	uint32_t seq, replies = 0, reply;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, features), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, features), 0);
	r.e = &v;
	r.count = 200000;
	r.failed = 0;
	assert_int_equal(pthread_create(&th, NULL, device_thread, &r), 0);
	for (seq = 0; seq < r.count; seq++) {
		size_t n = size_of(seq, 512);

		fill(out, seq, n);
		assert_int_equal(vr_chan_send(&d.ch, out, n, 5000 * MS), 0);
		while (vr_chan_recv(&d.ch, &reply, sizeof(reply), 0) == 4) {
			assert_int_equal(reply, replies * 16 + 15);
			replies++;
		}
	}
	while (replies < r.count / 16) {
		assert_int_equal(vr_chan_recv(&d.ch, &reply, sizeof(reply), 5000 * MS), 4);
		assert_int_equal(reply, replies * 16 + 15);
		replies++;
	}
	pthread_join(th, NULL);
	assert_int_equal(r.failed, 0);
	printf("  %s: %llu waits, %llu doorbells for %u messages\n",
	       format == VR_FORMAT_PACKED ? "packed" : "split",
	       (unsigned long long)(vr_chan_stats(&d.ch).waits + vr_chan_stats(&v.ch).waits),
	       (unsigned long long)(vr_chan_stats(&d.ch).notifies + vr_chan_stats(&v.ch).notifies),
	       r.count);
	free(d.state);
	free(v.state);
	loop_free(l);
}

static void test_threads_split(void **s)
{
	(void)s;
	threads(VR_FORMAT_SPLIT, EVIDX);
	threads(VR_FORMAT_SPLIT, 0);
}

static void test_threads_packed(void **s)
{
	(void)s;
	threads(VR_FORMAT_PACKED, EVIDX);
	threads(VR_FORMAT_PACKED, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_copy_split),
		cmocka_unit_test(test_roundtrip_copy_packed),
		cmocka_unit_test(test_sizes_and_timeouts_split),
		cmocka_unit_test(test_sizes_and_timeouts_packed),
		cmocka_unit_test(test_zero_copy_split),
		cmocka_unit_test(test_zero_copy_packed),
		cmocka_unit_test(test_peer_dead),
		cmocka_unit_test(test_reset_resubmits_split),
		cmocka_unit_test(test_reset_resubmits_packed),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_pool_larger_than_rings),
		cmocka_unit_test(test_threads_split),
		cmocka_unit_test(test_threads_packed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
