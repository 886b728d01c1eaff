/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Many threads sending into one channel through vr_mp_sender: every
 * message arrives once, each thread's messages in its own order, in both
 * modes and both formats; and the two modes measured side by side
 * (messages/s with 4 senders), which is what chose the default.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vring/mp_send.h>

#include "loopback.h"

#define SENDERS 4
#define MS 1000000ull

struct sender {
	struct vr_mp_sender *mp;
	uint32_t id;
	uint32_t count;
	int err;
};

static void *send_thread(void *arg)
{
	struct sender *s = arg;
	uint32_t i, msg[4];

	for (i = 0; i < s->count; i++) {
		msg[0] = s->id;
		msg[1] = i;
		msg[2] = s->id * 2654435761u ^ i;
		msg[3] = ~msg[2];
		int r = vr_mp_send(s->mp, msg, sizeof(msg) - (i % 3) * 4, 10000 * MS);
		if (r) {
			s->err = r;
			return NULL;
		}
	}
	return NULL;
}

struct receiver {
	struct end *e;
	uint32_t expect_total;
	uint32_t next[SENDERS];
	int err;
};

static void *recv_thread(void *arg)
{
	struct receiver *r = arg;
	uint32_t got = 0, msg[4];

	while (got < r->expect_total) {
		int n = vr_chan_recv(&r->e->ch, msg, sizeof(msg), 10000 * MS);

		if (n < 8 || msg[0] >= SENDERS || msg[1] != r->next[msg[0]] ||
		    (n >= 12 && msg[2] != (msg[0] * 2654435761u ^ msg[1])) ||
		    (n == 16 && msg[3] != ~msg[2])) {
			r->err = n < 0 ? n : -1000;
			return NULL;
		}
		r->next[msg[0]]++;
		got++;
	}
	return NULL;
}

/* Run SENDERS threads x @count messages on role @role's side. Returns
 * messages/s. */
static double run(uint32_t format, int mode, uint32_t role, uint32_t count)
{
	struct loop *l = loop_new(format, 64, 64, 64, VR_FEATURE(VR_F_EVENT_IDX));
	struct end d = {0}, v = {0};
	struct end *tx = role == VR_ROLE_DRIVER ? &d : &v;
	struct end *rx = role == VR_ROLE_DRIVER ? &v : &d;
	struct vr_mp_sender mp;
	struct sender s[SENDERS];
	struct receiver r;
	pthread_t th[SENDERS], rt;
	uint64_t t0, t1;
	int i;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, VR_FEATURE(VR_F_EVENT_IDX)), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, VR_FEATURE(VR_F_EVENT_IDX)), 0);
	assert_int_equal(vr_mp_init(&mp, &tx->ch, mode), 0);
	memset(&r, 0, sizeof(r));
	r.e = rx;
	r.expect_total = SENDERS * count;
	t0 = now_ns(NULL);
	assert_int_equal(pthread_create(&rt, NULL, recv_thread, &r), 0);
	for (i = 0; i < SENDERS; i++) {
		s[i].mp = &mp;
		s[i].id = (uint32_t)i;
		s[i].count = count;
		s[i].err = 0;
		assert_int_equal(pthread_create(&th[i], NULL, send_thread, &s[i]), 0);
	}
	for (i = 0; i < SENDERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(s[i].err, 0);
	}
	pthread_join(rt, NULL);
	t1 = now_ns(NULL);
	assert_int_equal(r.err, 0);
	for (i = 0; i < SENDERS; i++)
		assert_int_equal(r.next[i], count);
	if (mode == VR_MP_COMBINING)
		assert_true(mp.combined == (uint64_t)SENDERS * count);
	vr_mp_destroy(&mp);
	free(d.state);
	free(v.state);
	loop_free(l);
	return (double)SENDERS * count * 1e9 / (double)(t1 - t0);
}

static void test_all_arrive_in_order(void **state)
{
	uint32_t format, role;
	int mode;

	(void)state;
	for (format = 0; format < 2; format++)
		for (role = VR_ROLE_DRIVER; role <= VR_ROLE_DEVICE; role++)
			for (mode = VR_MP_COMBINING; mode <= VR_MP_MUTEX; mode++)
				run(format, mode, role, 20000);
}

static void test_measure_modes(void **state)
{
	double comb = 0, mtx = 0;
	int rep;

	(void)state;
	/* Same run, alternating, best of three each: the machine is shared. */
	for (rep = 0; rep < 3; rep++) {
		double c = run(VR_FORMAT_SPLIT, VR_MP_COMBINING, VR_ROLE_DRIVER, 50000);
		double m = run(VR_FORMAT_SPLIT, VR_MP_MUTEX, VR_ROLE_DRIVER, 50000);

		comb = c > comb ? c : comb;
		mtx = m > mtx ? m : mtx;
	}
	printf("  %d senders, split ring: combining (liburcu wfcqueue) %.0f msg/s, "
	       "mutex %.0f msg/s, ratio %.2f\n", SENDERS, comb, mtx, comb / mtx);
}

/* ---- vr_mp_drain while the others send ------------------------------------- */

struct taker {
	struct end *e;
	uint32_t expect_total;
	uint32_t taken[SENDERS]; /* counted before the release that acks */
	int err;
};

static void *take_thread(void *arg)
{
	struct taker *t = arg;
	uint32_t got;

	for (got = 0; got < t->expect_total; got++) {
		struct vr_chan_msg m;
		uint32_t msg[4];
		int n = vr_chan_recv_borrow(&t->e->ch, &m, 10000 * MS);

		if (n != (int)sizeof(msg)) {
			t->err = n < 0 ? n : -1000;
			return NULL;
		}
		memcpy(msg, m.data, sizeof(msg));
		if (msg[0] >= SENDERS) {
			t->err = -1001;
			return NULL;
		}
		__atomic_fetch_add(&t->taken[msg[0]], 1, __ATOMIC_RELEASE);
		if (vr_chan_recv_release(&t->e->ch, &m)) {
			t->err = -1002;
			return NULL;
		}
	}
	return NULL;
}

struct drainer {
	struct vr_mp_sender *mp;
	struct taker *t;
	uint32_t id, count, drains;
	int err;
};

/* Sends, and drains every 16 messages: a drain that returned has seen
 * every message this thread sent acknowledged. */
static void *drain_thread(void *arg)
{
	struct drainer *d = arg;
	uint32_t i, msg[4] = {0};

	for (i = 0; i < d->count; i++) {
		msg[0] = d->id;
		msg[1] = i;
		d->err = vr_mp_send(d->mp, msg, sizeof(msg), 10000 * MS);
		if (d->err)
			return NULL;
		if (i % 16 == 15) {
			d->err = vr_mp_drain(d->mp, 10000 * MS);
			if (d->err)
				return NULL;
			d->drains++;
			if (__atomic_load_n(&d->t->taken[d->id], __ATOMIC_ACQUIRE) < i + 1) {
				d->err = -2000; /* returned before its messages were acked */
				return NULL;
			}
		}
	}
	return NULL;
}

static void drain_run(uint32_t format, int mode)
{
	struct loop *l = loop_new(format, 16, 64, 16, VR_FEATURE(VR_F_EVENT_IDX));
	struct end d = {0}, v = {0};
	struct vr_mp_sender mp;
	struct drainer dr[SENDERS];
	struct taker t;
	pthread_t th[SENDERS], tt;
	int i;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, VR_FEATURE(VR_F_EVENT_IDX)), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, VR_FEATURE(VR_F_EVENT_IDX)), 0);
	assert_int_equal(vr_mp_init(&mp, &d.ch, mode), 0);
	assert_int_equal(vr_mp_drain(NULL, 0), VR_EINVAL);
	assert_int_equal(vr_mp_drain(&mp, 0), 0); /* nothing sent */
	memset(&t, 0, sizeof(t));
	t.e = &v;
	t.expect_total = SENDERS * 400;
	assert_int_equal(pthread_create(&tt, NULL, take_thread, &t), 0);
	for (i = 0; i < SENDERS; i++) {
		memset(&dr[i], 0, sizeof(dr[i]));
		dr[i].mp = &mp;
		dr[i].t = &t;
		dr[i].id = (uint32_t)i;
		dr[i].count = 400;
		assert_int_equal(pthread_create(&th[i], NULL, drain_thread, &dr[i]), 0);
	}
	for (i = 0; i < SENDERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(dr[i].err, 0);
		assert_int_equal(dr[i].drains, 400 / 16);
	}
	pthread_join(tt, NULL);
	assert_int_equal(t.err, 0);
	assert_int_equal(vr_mp_drain(&mp, 0), 0);
	vr_mp_destroy(&mp);
	free(d.state);
	free(v.state);
	loop_free(l);
}

static void test_drain_while_sending(void **state)
{
	(void)state;
	drain_run(VR_FORMAT_SPLIT, VR_MP_COMBINING);
	drain_run(VR_FORMAT_SPLIT, VR_MP_MUTEX);
	drain_run(VR_FORMAT_PACKED, VR_MP_COMBINING);
	drain_run(VR_FORMAT_PACKED, VR_MP_MUTEX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_arrive_in_order),
		cmocka_unit_test(test_measure_modes),
		cmocka_unit_test(test_drain_while_sending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
