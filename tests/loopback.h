/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An in-process loopback transport for tests: one region in process memory,
 * doorbells as condition variables, and a "dead" switch that makes every
 * wait and peer_state report VR_EPEERDEAD. Plus channel-end helpers.
 */
#ifndef VR_TEST_LOOPBACK_H
#define VR_TEST_LOOPBACK_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vring/vring.h>

/* Needs <cmocka.h> included first (the helpers assert). */

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

static inline uint64_t now_ns(struct vr_transport *t)
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

static inline int lb_notify(struct vr_transport *t, uint32_t q)
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

static inline int lb_wait(struct vr_transport *t, uint32_t q, uint64_t timeout_ns)
{
	struct loop_end *e = (struct loop_end *)t;
	struct bell *b = bell_of(e, q, t->role);
	uint64_t until;
	int r = 0;

	if (__atomic_load_n(&e->loop->dead, __ATOMIC_ACQUIRE))
		return VR_EPEERDEAD;
	until = timeout_ns > 3600ull * 1000000000u ? now_ns(t) + 3600ull * 1000000000u
						   : now_ns(t) + timeout_ns;
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

static inline int lb_peer_state(struct vr_transport *t)
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

static inline void loop_free(struct loop *l)
{
	free(l->region);
	free(l);
}

static inline void end_init(struct loop_end *e, struct loop *l, uint32_t role)
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

static inline int end_open(struct end *e, struct loop *l, uint32_t role, uint64_t features)
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

#endif /* VR_TEST_LOOPBACK_H */
