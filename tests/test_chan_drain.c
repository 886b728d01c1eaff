/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vr_chan_drain(): the driver waits until the device has acknowledged
 * every message it sent (batched ones are published first), reports a
 * timeout or a dead device, and after a reset drains the resubmitted
 * messages; the device publishes what it holds back. Split and packed,
 * over the in-process loopback transport. Timing: only generous upper
 * bounds; the checks are on counts and order.
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

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {0, (long)ms * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- Single thread: timeouts, what counts as sent ------------------------ */

static void basics(uint32_t format)
{
	struct loop *l = loop_new(format, 8, 64, 8, EVIDX);
	struct end d = {0}, v = {0};
	unsigned char buf[64];
	void *p;
	uint32_t cap;
	int tok, i;

	assert_int_equal(vr_chan_drain(NULL, 0), VR_EINVAL);
	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, EVIDX), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, EVIDX), 0);
	/* Nothing sent: drained at once, even without waiting. */
	assert_int_equal(vr_chan_drain(&d.ch, 0), 0);
	/* A reserved buffer is not sent: nothing to wait for. */
	tok = vr_chan_send_reserve(&d.ch, &p, &cap, 0);
	assert_true(tok >= 0);
	assert_int_equal(vr_chan_drain(&d.ch, 0), 0);
	memcpy(p, "r", 1);
	assert_int_equal(vr_chan_send_commit(&d.ch, tok, 1), 0);
	/* Sent, not taken: not drained. */
	for (i = 0; i < 2; i++)
		assert_int_equal(vr_chan_send(&d.ch, "abc", 3, 0), 0);
	assert_int_equal(vr_chan_drain(&d.ch, 0), VR_EAGAIN);
	assert_int_equal(vr_chan_drain(&d.ch, 20 * MS), VR_ETIMEDOUT);
	/* Taken one by one: drained only after the last one. */
	assert_int_equal(vr_chan_recv(&v.ch, buf, sizeof(buf), 0), 1);
	assert_int_equal(vr_chan_drain(&d.ch, 0), VR_EAGAIN);
	assert_int_equal(vr_chan_recv(&v.ch, buf, sizeof(buf), 0), 3);
	assert_int_equal(vr_chan_drain(&d.ch, 0), VR_EAGAIN);
	assert_int_equal(vr_chan_recv(&v.ch, buf, sizeof(buf), 0), 3);
	assert_int_equal(vr_chan_drain(&d.ch, 0), 0);
	/* A borrowed message is not acknowledged until released. */
	{
		struct vr_chan_msg m;

		assert_int_equal(vr_chan_send(&d.ch, "xy", 2, 0), 0);
		assert_int_equal(vr_chan_recv_borrow(&v.ch, &m, 0), 2);
		assert_int_equal(vr_chan_drain(&d.ch, 0), VR_EAGAIN);
		assert_int_equal(vr_chan_recv_release(&v.ch, &m), 0);
		assert_int_equal(vr_chan_drain(&d.ch, 0), 0);
	}
	/* Every TX buffer is free again: exactly tx_bufs (half of 8) sends
	 * go through without waiting. */
	for (i = 0; i < 4; i++)
		assert_int_equal(vr_chan_send(&d.ch, "z", 1, 0), 0);
	assert_int_equal(vr_chan_send(&d.ch, "z", 1, 0), VR_EAGAIN);
	free(d.state);
	free(v.state);
	loop_free(l);
}

static void test_basics_split(void **s)
{
	(void)s;
	basics(VR_FORMAT_SPLIT);
}

static void test_basics_packed(void **s)
{
	(void)s;
	basics(VR_FORMAT_PACKED);
}

/* ---- A slow device in another thread ---------------------------------------- */

struct slow_dev {
	struct end *v;
	unsigned expect;
	unsigned taken; /* messages whose release was about to happen */
	unsigned bad;   /* out of order or garbled */
};

static void *slow_device(void *arg)
{
	struct slow_dev *sd = (struct slow_dev *)arg;
	unsigned n;

	for (n = 0; n < sd->expect; n++) {
		struct vr_chan_msg m;
		uint32_t seq;

		if (vr_chan_recv_borrow(&sd->v->ch, &m, 30000 * MS) != 4) {
			sd->bad++;
			break;
		}
		memcpy(&seq, m.data, 4);
		if (seq != n)
			sd->bad++;
		sleep_ms(n % 4 == 0 ? 2 : 0);
		/* Counted before the release that acknowledges it: a drain that
		 * returned must see this count complete. */
		__atomic_fetch_add(&sd->taken, 1, __ATOMIC_RELEASE);
		if (vr_chan_recv_release(&sd->v->ch, &m) != 0) {
			sd->bad++;
			break;
		}
	}
	return NULL;
}

static void drain_waits(uint32_t format, uint32_t batch)
{
	struct loop *l = loop_new(format, 16, 64, 16, EVIDX);
	struct end d = {0}, v = {0};
	struct vr_notify_policy np;
	struct slow_dev sd;
	pthread_t th;
	uint32_t seq;
	unsigned round;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, EVIDX), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, EVIDX), 0);
	memset(&np, 0, sizeof(np));
	np.batch = batch; /* batched messages must be published by drain */
	assert_int_equal(vr_chan_set_notify_policy(&d.ch, VR_CHAN_TX, &np), 0);
	memset(&sd, 0, sizeof(sd));
	sd.v = &v;
	sd.expect = 3 * 5;
	assert_int_equal(pthread_create(&th, NULL, slow_device, &sd), 0);
	seq = 0;
	for (round = 0; round < 5; round++) {
		unsigned i;

		/* Fewer than a batch: without drain's flush the device would
		 * never see them. */
		for (i = 0; i < 3; i++, seq++)
			assert_int_equal(vr_chan_send(&d.ch, &seq, 4, 30000 * MS), 0);
		assert_int_equal(vr_chan_drain(&d.ch, 30000 * MS), 0);
		assert_int_equal(__atomic_load_n(&sd.taken, __ATOMIC_ACQUIRE), seq);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(sd.bad, 0);
	assert_int_equal(sd.taken, sd.expect);
	assert_int_equal(vr_chan_drain(&d.ch, 0), 0);
	free(d.state);
	free(v.state);
	loop_free(l);
}

static void test_drain_waits_split(void **s)
{
	(void)s;
	drain_waits(VR_FORMAT_SPLIT, 1);
}

static void test_drain_waits_packed(void **s)
{
	(void)s;
	drain_waits(VR_FORMAT_PACKED, 1);
}

static void test_drain_flushes_batch_split(void **s)
{
	(void)s;
	drain_waits(VR_FORMAT_SPLIT, 8);
}

static void test_drain_flushes_batch_packed(void **s)
{
	(void)s;
	drain_waits(VR_FORMAT_PACKED, 8);
}

/* ---- A device that dies with messages unacknowledged ------------------------ */

static void peer_dies(uint32_t format)
{
	struct loop *l = loop_new(format, 8, 64, 8, EVIDX);
	struct end d = {0}, v = {0}, v2 = {0};
	unsigned char buf[64];
	uint64_t t0;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, EVIDX), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, EVIDX), 0);
	assert_int_equal(vr_chan_send(&d.ch, "one", 3, 0), 0);
	assert_int_equal(vr_chan_send(&d.ch, "two", 3, 0), 0);
	assert_int_equal(vr_chan_recv(&v.ch, buf, sizeof(buf), 0), 3); /* "one" acked */
	/* The device dies: even an unbounded drain returns. */
	__atomic_store_n(&l->dead, 1, __ATOMIC_RELEASE);
	t0 = now_ns(NULL);
	assert_int_equal(vr_chan_drain(&d.ch, VR_WAIT_FOREVER), VR_EPEERDEAD);
	assert_true(now_ns(NULL) - t0 < 10000 * MS);
	/* Reset resubmits "two"; a new device takes it; then drained. */
	assert_int_equal(vr_chan_reset(&d.ch), 0);
	__atomic_store_n(&l->dead, 0, __ATOMIC_RELEASE);
	assert_int_equal(end_open(&v2, l, VR_ROLE_DEVICE, EVIDX), 0);
	assert_int_equal(vr_chan_drain(&d.ch, 0), VR_EAGAIN);
	assert_int_equal(vr_chan_recv(&v2.ch, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "two", 3);
	assert_int_equal(vr_chan_recv(&v2.ch, buf, sizeof(buf), 0), VR_EAGAIN);
	assert_int_equal(vr_chan_drain(&d.ch, 0), 0);
	free(d.state);
	free(v.state);
	free(v2.state);
	loop_free(l);
}

static void test_peer_dies_split(void **s)
{
	(void)s;
	peer_dies(VR_FORMAT_SPLIT);
}

static void test_peer_dies_packed(void **s)
{
	(void)s;
	peer_dies(VR_FORMAT_PACKED);
}

/* ---- Device end: publishes its batch, does not wait ------------------------- */

static void device_drain(uint32_t format)
{
	struct loop *l = loop_new(format, 8, 64, 8, EVIDX);
	struct end d = {0}, v = {0};
	struct vr_notify_policy np;
	unsigned char buf[64];

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, EVIDX), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, EVIDX), 0);
	memset(&np, 0, sizeof(np));
	np.batch = 8;
	assert_int_equal(vr_chan_set_notify_policy(&v.ch, VR_CHAN_RX, &np), 0);
	assert_int_equal(vr_chan_send(&v.ch, "up1", 3, 0), 0);
	assert_int_equal(vr_chan_send(&v.ch, "up22", 4, 0), 0);
	/* Held back by the batch: the driver sees nothing yet. */
	assert_int_equal(vr_chan_recv(&d.ch, buf, sizeof(buf), 0), VR_EAGAIN);
	assert_int_equal(vr_chan_drain(&v.ch, 0), 0);
	assert_int_equal(vr_chan_recv(&d.ch, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "up1", 3);
	assert_int_equal(vr_chan_recv(&d.ch, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "up22", 4);
	free(d.state);
	free(v.state);
	loop_free(l);
}

static void test_device_drain_split(void **s)
{
	(void)s;
	device_drain(VR_FORMAT_SPLIT);
}

static void test_device_drain_packed(void **s)
{
	(void)s;
	device_drain(VR_FORMAT_PACKED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basics_split),
		cmocka_unit_test(test_basics_packed),
		cmocka_unit_test(test_drain_waits_split),
		cmocka_unit_test(test_drain_waits_packed),
		cmocka_unit_test(test_drain_flushes_batch_split),
		cmocka_unit_test(test_drain_flushes_batch_packed),
		cmocka_unit_test(test_peer_dies_split),
		cmocka_unit_test(test_peer_dies_packed),
		cmocka_unit_test(test_device_drain_split),
		cmocka_unit_test(test_device_drain_packed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
