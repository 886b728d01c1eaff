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

/* ---- Loopback transport ---------------------------------------------------- */

struct bell {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned rung;
};

struct loop {
	void *region;
	size_t len;
	struct bell bell[2][2]; /* [queue][towards role-1] */
	int dead;               /* the peer of everyone is gone */
};

struct loop_end {
	struct vr_transport t; /* first: the channel gets &t */
	struct loop *loop;
};

static uint64_t now_ns(struct vr_transport *t)
{
	struct timespec ts;

	(void)t;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct bell *bell_of(struct loop_end *e, uint32_t q, uint32_t towards)
{
	return &e->loop->bell[q][towards - 1];
}

static int lb_notify(struct vr_transport *t, uint32_t q)
{
	struct loop_end *e = (struct loop_end *)t;
	struct bell *b = bell_of(e, q, t->role == VR_ROLE_DRIVER ? VR_ROLE_DEVICE
								 : VR_ROLE_DRIVER);

	pthread_mutex_lock(&b->lock);
	b->rung++;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static int lb_wait(struct vr_transport *t, uint32_t q, uint64_t timeout_ns)
{
	struct loop_end *e = (struct loop_end *)t;
	struct bell *b = bell_of(e, q, t->role);
	struct timespec ts;
	uint64_t until;
	int r = 0;

	if (__atomic_load_n(&e->loop->dead, __ATOMIC_ACQUIRE))
		return VR_EPEERDEAD;
	until = timeout_ns > 3600ull * 1000000000u ? now_ns(t) + 3600ull * 1000000000u
						   : now_ns(t) + timeout_ns;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	(void)ts;
	pthread_mutex_lock(&b->lock);
	while (!b->rung && !__atomic_load_n(&e->loop->dead, __ATOMIC_ACQUIRE)) {
		struct timespec abs;
		struct timespec rt;
		uint64_t now = now_ns(t), left;

		if (now >= until) {
			r = VR_ETIMEDOUT;
			break;
		}
		/* condvars use CLOCK_REALTIME by default */
		left = until - now;
		if (left > 20000000u)
			left = 20000000u; /* re-check 'dead' every 20 ms */
		clock_gettime(CLOCK_REALTIME, &rt);
		abs.tv_sec = rt.tv_sec + (time_t)(left / 1000000000u);
		abs.tv_nsec = rt.tv_nsec + (long)(left % 1000000000u);
		if (abs.tv_nsec >= 1000000000L) {
			abs.tv_sec++;
			abs.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&b->cond, &b->lock, &abs);
	}
	if (b->rung)
		b->rung = 0;
	pthread_mutex_unlock(&b->lock);
	if (__atomic_load_n(&e->loop->dead, __ATOMIC_ACQUIRE))
		return VR_EPEERDEAD;
	return r;
}

static int lb_peer_state(struct vr_transport *t)
{
	struct loop_end *e = (struct loop_end *)t;

	return __atomic_load_n(&e->loop->dead, __ATOMIC_ACQUIRE) ? VR_EPEERDEAD
								 : VR_PEER_ALIVE;
}

static const struct vr_transport_ops lb_ops = {lb_notify, lb_wait, lb_peer_state, now_ns};

static struct loop *loop_new(uint32_t format, uint32_t qsize, uint32_t buf_bytes,
			     uint32_t buf_count, uint64_t features)
{
	struct loop *l = calloc(1, sizeof(*l));
	struct vr_region_cfg cfg;
	uint64_t bytes;
	int q, r;

	assert_non_null(l);
	memset(&cfg, 0, sizeof(cfg));
	cfg.queue_count = 2;
	cfg.queue[0].size = cfg.queue[1].size = qsize;
	cfg.queue[0].format = cfg.queue[1].format = format;
	cfg.buf_bytes = buf_bytes;
	cfg.buf_count = buf_count;
	cfg.device_features = features;
	bytes = vr_region_bytes(&cfg);
	assert_true(bytes > 0);
	l->len = (size_t)((bytes + 4095) & ~(uint64_t)4095);
	l->region = aligned_alloc(4096, l->len);
	assert_non_null(l->region);
	assert_int_equal(vr_region_format(l->region, l->len, &cfg, 1, NULL), 0);
	for (q = 0; q < 2; q++)
		for (r = 0; r < 2; r++) {
			pthread_mutex_init(&l->bell[q][r].lock, NULL);
			pthread_cond_init(&l->bell[q][r].cond, NULL);
		}
	return l;
}

static void loop_free(struct loop *l)
{
	free(l->region);
	free(l);
}

static void end_init(struct loop_end *e, struct loop *l, uint32_t role)
{
	memset(e, 0, sizeof(*e));
	e->loop = l;
	e->t.ops = &lb_ops;
	e->t.region = l->region;
	e->t.region_len = l->len;
	e->t.role = role;
}

struct end {
	struct loop_end le;
	struct vr_chan ch;
	void *state;
};

static int end_open(struct end *e, struct loop *l, uint32_t role, uint64_t features)
{
	struct vr_chan_cfg cfg;
	size_t n;

	end_init(&e->le, l, role);
	n = vr_chan_state_size(&e->le.t);
	assert_true(n > 0);
	free(e->state);
	e->state = aligned_alloc(64, (n + 63) & ~(size_t)63);
	assert_non_null(e->state);
	memset(&cfg, 0, sizeof(cfg));
	cfg.features = features;
	return vr_chan_open(&e->ch, &e->le.t, &cfg, e->state, n);
}

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
	assert_int_equal(vr_chan_stats(&d.ch)->sent, 2000);
	assert_int_equal(vr_chan_stats(&v.ch)->received, 2000);
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
	__atomic_store_n(&l->dead, 1, __ATOMIC_RELEASE);
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
	assert_int_equal(vr_chan_stats(&d.ch)->resubmitted, 5);
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
	       (unsigned long long)(vr_chan_stats(&d.ch)->waits + vr_chan_stats(&v.ch)->waits),
	       (unsigned long long)(vr_chan_stats(&d.ch)->notifies + vr_chan_stats(&v.ch)->notifies),
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
		cmocka_unit_test(test_threads_split),
		cmocka_unit_test(test_threads_packed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
