/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Notification and wait policies of the channel (vring/channel.h): each
 * decision on its own (notify as asked / always, flags and event index,
 * batching, coalescing, polling, adaptive spinning and its budget), the
 * counters and their copy in the region's statistics area, and the "no
 * stranded message" rule of coalescing with the sender idle. Split and
 * packed, over the in-process loopback transport.
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
#define US 1000ull
#define EVIDX VR_FEATURE(VR_F_EVENT_IDX)

static const uint32_t formats[2] = {VR_FORMAT_SPLIT, VR_FORMAT_PACKED};

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};

	nanosleep(&ts, NULL);
}

/* A driver and a device end on a fresh loopback region. */
struct pair {
	struct loop *l;
	struct end d, v;
};

static void pair_open(struct pair *p, uint32_t format, uint64_t features,
		      uint32_t qsize, uint32_t bufs)
{
	memset(p, 0, sizeof(*p));
	p->l = loop_new(format, qsize, 64, bufs, features);
	assert_int_equal(end_open(&p->d, p->l, VR_ROLE_DRIVER, features), 0);
	assert_int_equal(end_open(&p->v, p->l, VR_ROLE_DEVICE, features), 0);
}

static void pair_close(struct pair *p)
{
	free(p->d.state);
	free(p->v.state);
	loop_free(p->l);
}

static uint64_t qstat(const struct vr_chan *ch, uint32_t q, enum vr_region_stat which)
{
	uint64_t c[VR_RS_COUNT];

	assert_int_equal(vr_chan_get_queue_stats(ch, q, c), 0);
	return c[which];
}

static void send_n(struct end *e, unsigned n, uint32_t first)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint32_t m = first + i;

		assert_int_equal(vr_chan_send(&e->ch, &m, sizeof(m), 0), 0);
	}
}

static void recv_n(struct end *e, unsigned n, uint32_t first, uint64_t timeout)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint32_t m = 0;

		assert_int_equal(vr_chan_recv(&e->ch, &m, sizeof(m), timeout), 4);
		assert_int_equal(m, first + i);
	}
}

/* The device waits once on an empty TX queue (arms, sleeps, times out,
 * suppresses again): afterwards the driver is asked not to notify. */
static void device_waits_once(struct pair *p)
{
	uint32_t m;

	assert_int_equal(vr_chan_recv(&p->v.ch, &m, sizeof(m), 1 * MS), VR_ETIMEDOUT);
}

/* The device asks for doorbells on TX and stays asking, as if it were
 * asleep: the ring-level arm call, without the sleep. */
static void device_arms(struct pair *p)
{
	int r = p->v.ch.format == VR_FORMAT_PACKED
			? vr_packed_dev_arm_avail_notify(&p->v.ch.pdev[VR_CHAN_TX])
			: vr_split_dev_arm_avail_notify(&p->v.ch.sdev[VR_CHAN_TX]);

	assert_int_equal(r, 0); /* nothing pending */
}

/* ---- A fake clock for the driver end -------------------------------------- */

/*
 * Coalescing is about time; a test of it on the real clock either asserts
 * tight wall-clock figures (and fails on a loaded machine) or proves
 * little. So the driver end of these tests runs on a clock that only the
 * test moves: now_ns returns fk_now, a wait advances it by the timeout it
 * was given (nobody rings the driver in these tests), and every doorbell
 * on TX is recorded with the time it was rung. Single-threaded.
 */
static uint64_t fk_now;
static uint64_t fk_rung[256];
static unsigned fk_nrung;

static uint64_t fk_now_ns(struct vr_transport *t)
{
	(void)t;
	return fk_now;
}

static int fk_notify(struct vr_transport *t, uint32_t q)
{
	if (q == VR_CHAN_TX && fk_nrung < 256)
		fk_rung[fk_nrung++] = fk_now;
	return lb_notify(t, q);
}

static int fk_wait(struct vr_transport *t, uint32_t q, uint64_t timeout_ns)
{
	(void)t;
	(void)q;
	fk_now += timeout_ns < 1000 * MS ? timeout_ns : 1000 * MS;
	return VR_ETIMEDOUT;
}

static const struct vr_transport_ops fk_ops = {fk_notify, fk_wait, lb_peer_state,
					       fk_now_ns};

/* The driver of @p on the fake clock, starting at an odd time (not a
 * multiple of the channel's internal tick). */
static void fake_clock(struct pair *p)
{
	fk_now = 1000 * MS + 777;
	fk_nrung = 0;
	p->d.le.t.ops = &fk_ops;
}

/* Move the fake clock to @until as an application timer would: call
 * vr_chan_service and sleep exactly as long as it says, until @until. */
static void timer_until(struct end *d, uint64_t until)
{
	for (;;) {
		uint64_t next = vr_chan_service(&d->ch);

		if (next == VR_WAIT_FOREVER || fk_now + next > until)
			break;
		fk_now += next;
	}
	fk_now = until;
}

/* The first doorbell rung at or after @t, or UINT64_MAX. */
static uint64_t rung_after(uint64_t t)
{
	unsigned i;

	for (i = 0; i < fk_nrung; i++)
		if (fk_rung[i] >= t)
			return fk_rung[i];
	return UINT64_MAX;
}

/* ---- Notify: as asked versus always, flags and event index ---------------- */

static void test_notify_as_asked_and_always(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		struct vr_notify_policy always = {VR_NOTIFY_ALWAYS, 0, 0, 0};

		/* Event index: once the device has waited and gone back to
		 * work, its event index lies behind: nothing is rung for. */
		pair_open(&p, formats[f], EVIDX, 16, 32);
		device_waits_once(&p);
		send_n(&p.d, 10, 0);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 0);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_SUPPRESSED), 10);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_PUBLISHED), 10);
		recv_n(&p.v, 10, 0, 0);
		assert_int_equal(qstat(&p.v.ch, VR_CHAN_TX, VR_RS_CONSUMED), 10);
		/* Always: every publish rings, whatever the device asked. */
		assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, &always), 0);
		send_n(&p.d, 5, 10);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 5);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_SUPPRESSED), 10);
		recv_n(&p.v, 5, 10, 0);
		pair_close(&p);

		/* Flags: a channel end asks for doorbells only while it
		 * sleeps, from the moment it opens. The driver's receive
		 * buffers were offered without a doorbell as well. */
		pair_open(&p, formats[f], 0, 16, 16);
		send_n(&p.d, 3, 0);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 0);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_SUPPRESSED), 3);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_RX, VR_RS_NOTIFIES), 0);
		recv_n(&p.v, 3, 0, 0);
		device_waits_once(&p);
		send_n(&p.d, 4, 3);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 0);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_SUPPRESSED), 7);
		recv_n(&p.v, 4, 3, 0);
		pair_close(&p);
	}
}

/* ---- Batching --------------------------------------------------------------- */

static void test_batching(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		struct vr_notify_policy batch4 = {VR_NOTIFY_AS_ASKED, 4, 0, 0};
		struct vr_notify_policy each = {0};
		uint32_t m;

		pair_open(&p, formats[f], 0, 16, 16);
		device_arms(&p);
		assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, &batch4), 0);
		send_n(&p.d, 3, 0);
		/* Added, not yet visible: nothing to receive, no doorbell. */
		assert_int_equal(vr_chan_recv(&p.v.ch, &m, sizeof(m), 0), VR_EAGAIN);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 0);
		send_n(&p.d, 1, 3);
		/* The fourth publishes the batch with one doorbell. */
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 1);
		recv_n(&p.v, 4, 0, 0);
		/* A flush publishes a partial batch. */
		send_n(&p.d, 2, 4);
		assert_int_equal(vr_chan_recv(&p.v.ch, &m, sizeof(m), 0), VR_EAGAIN);
		assert_int_equal(vr_chan_flush(&p.d.ch, VR_CHAN_TX), 0);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 2);
		recv_n(&p.v, 2, 4, 0);
		/* Changing the policy publishes what is pending. */
		send_n(&p.d, 1, 6);
		assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, &each), 0);
		recv_n(&p.v, 1, 6, 0);
		/* Batching on the device's completions: acknowledgements
		 * reach the driver four at a time. */
		assert_int_equal(vr_chan_set_notify_policy(&p.v.ch, VR_CHAN_TX, &batch4), 0);
		send_n(&p.d, 8, 100); /* every TX buffer in flight */
		recv_n(&p.v, 3, 100, 0);
		m = 1;
		/* Three acknowledgements wait in the device's batch. */
		assert_int_equal(vr_chan_send(&p.d.ch, &m, sizeof(m), 0), VR_EAGAIN);
		recv_n(&p.v, 1, 103, 0);
		assert_int_equal(vr_chan_send(&p.d.ch, &m, sizeof(m), 0), 0);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_CONSUMED), 7 + 4);
		pair_close(&p);
	}
}

/* A full TX queue under batching: the sender's wait publishes its own
 * pending batch first, or the device could never free a buffer. */
static void test_batch_flushed_before_waiting(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		struct vr_notify_policy batch64 = {VR_NOTIFY_AS_ASKED, 64, 0, 0};
		uint32_t m = 99;

		pair_open(&p, formats[f], EVIDX, 8, 16); /* 8 TX buffers */
		assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, &batch64), 0);
		send_n(&p.d, 8, 0);
		/* No room; the wait publishes the 8, then times out. */
		assert_int_equal(vr_chan_send(&p.d.ch, &m, sizeof(m), 1 * MS), VR_ETIMEDOUT);
		recv_n(&p.v, 8, 0, 0);
		assert_int_equal(vr_chan_send(&p.d.ch, &m, sizeof(m), 1 * MS), 0);
		pair_close(&p);
	}
}

/* ---- Coalescing ------------------------------------------------------------ */

static void test_coalesce_count(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		/* One doorbell per 4 messages, or after one second. */
		struct vr_notify_policy c4 = {VR_NOTIFY_AS_ASKED, 1, 4, 1000000};

		/* Flags, the device asking: every publish is asked for. */
		pair_open(&p, formats[f], 0, 16, 32);
		fake_clock(&p);
		device_arms(&p);
		assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, &c4), 0);
		send_n(&p.d, 10, 0);
		/* Doorbells at the 4th and the 8th: 3 + 3 merged, 2 owed. */
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 2);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_COALESCED), 6);
		/* Two are owed, due one second after the 9th was published. */
		fk_now += 300 * MS;
		assert_true(vr_chan_service(&p.d.ch) <= 700 * MS);
		assert_true(vr_chan_service(&p.d.ch) > 690 * MS);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 2);
		/* A flush pays them. */
		assert_int_equal(vr_chan_flush(&p.d.ch, VR_CHAN_TX), 0);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 3);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_COALESCED), 7);
		assert_int_equal(vr_chan_service(&p.d.ch), VR_WAIT_FOREVER);
		assert_int_equal(fk_nrung, 3);
		recv_n(&p.v, 10, 0, 0);
		pair_close(&p);
	}
}

static void test_coalesce_time(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		struct vr_notify_policy t = {VR_NOTIFY_AS_ASKED, 1, 1000, 2000}; /* 2 ms */
		uint64_t left, t0;
		uint32_t m;

		pair_open(&p, formats[f], 0, 16, 32);
		fake_clock(&p);
		device_arms(&p);
		assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, &t), 0);
		t0 = fk_now;
		send_n(&p.d, 1, 0);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 0);
		fk_now += 500 * US;
		left = vr_chan_service(&p.d.ch);
		/* What is left of T, not T again (a little early is allowed:
		 * the channel counts in 1024 ns ticks, rounding T down). */
		assert_true(left <= 1500 * US && left > 1490 * US);
		fk_now += left;
		/* Due: the timer's call rings it, once, in time. */
		assert_int_equal(vr_chan_service(&p.d.ch), VR_WAIT_FOREVER);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 1);
		assert_true(fk_rung[0] - t0 <= 2 * MS); /* exactly in time */
		assert_int_equal(vr_chan_service(&p.d.ch), VR_WAIT_FOREVER);
		/* Any later call on the end pays a due doorbell too. */
		send_n(&p.d, 1, 1);
		fk_now += 3 * MS;
		assert_int_equal(vr_chan_recv(&p.d.ch, &m, sizeof(m), 0), VR_EAGAIN);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 2);
		recv_n(&p.v, 2, 0, 0);
		pair_close(&p);
	}
}

/*
 * The deadline is per message: with a steady stream whose gaps are shorter
 * than T, every message's doorbell comes within T of its own publish. A
 * deadline that restarts at each new owed buffer would never ring for such
 * a stream; a timer told "a full T from now" would ring late. Then the
 * same from a blocking wait: it sleeps only what is left of T.
 */
static void test_coalesce_deadline_per_message(void **s)
{
	unsigned f, g, i;

	(void)s;
	for (f = 0; f < 2; f++) {
		for (g = 0; g < 3; g++) {
			static const uint64_t gaps[3] = {40 * US, 73 * US, 99 * US};
			/* Never late; early by at most two 1024 ns ticks. */
			const uint64_t T = 100 * US, slack = 2048;
			struct vr_notify_policy c = {VR_NOTIFY_AS_ASKED, 1, 1000, 100};
			uint64_t pub[40], t0, r;
			struct pair p;
			uint32_t m;

			pair_open(&p, formats[f], 0, 64, 128);
			fake_clock(&p);
			device_arms(&p);
			assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, &c), 0);
			t0 = fk_now;
			for (i = 0; i < 40; i++) {
				timer_until(&p.d, t0 + i * gaps[g]);
				pub[i] = fk_now;
				send_n(&p.d, 1, i);
			}
			timer_until(&p.d, fk_now + 10 * T);
			assert_int_equal(vr_chan_service(&p.d.ch), VR_WAIT_FOREVER);
			for (i = 0; i < 40; i++) {
				r = rung_after(pub[i]);
				if (r == UINT64_MAX || r - pub[i] > T)
					fail_msg("gap %llu ns: message %u published at +%llu ns, "
						 "its doorbell at +%lld ns (T = %llu ns)",
						 (unsigned long long)gaps[g], i,
						 (unsigned long long)(pub[i] - t0),
						 r == UINT64_MAX ? -1ll : (long long)(r - t0),
						 (unsigned long long)T);
			}
			/* Coalesced all the same: fewer doorbells than messages. */
			assert_true(fk_nrung < 40);
			assert_true(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_COALESCED) > 0);
			recv_n(&p.v, 40, 0, 0);

			/* A blocking wait 60 us after a publish sleeps the
			 * remaining 40 us, not T, and rings in time. */
			device_arms(&p);
			fk_nrung = 0;
			t0 = fk_now;
			send_n(&p.d, 1, 40);
			fk_now += 60 * US;
			assert_int_equal(vr_chan_recv(&p.d.ch, &m, sizeof(m), 1 * MS),
					 VR_ETIMEDOUT);
			assert_int_equal(fk_nrung, 1);
			assert_true(fk_rung[0] - t0 <= T);
			assert_true(fk_rung[0] - t0 >= T - slack);
			recv_n(&p.v, 1, 40, 0);
			pair_close(&p);
		}
	}
}

static void test_policy_errors(void **s)
{
	struct pair p;
	struct vr_notify_policy np = {0};
	struct vr_wait_policy wp = {0};

	(void)s;
	pair_open(&p, VR_FORMAT_SPLIT, EVIDX, 16, 16);
	np.coalesce_msgs = 8; /* without a time bound: could strand */
	assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, &np), VR_EINVAL);
	np.coalesce_us = 100;
	assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, 2, &np), VR_EINVAL);
	np.mode = 7;
	assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, &np), VR_EINVAL);
	assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, NULL), VR_EINVAL);
	wp.mode = 3;
	assert_int_equal(vr_chan_set_wait_policy(&p.d.ch, VR_CHAN_RX, &wp), VR_EINVAL);
	wp.mode = VR_WAIT_ADAPTIVE;
	wp.adapt = true;
	wp.spin_min_ns = 10;
	wp.spin_ns = 5;
	wp.spin_max_ns = 100;
	assert_int_equal(vr_chan_set_wait_policy(&p.d.ch, VR_CHAN_RX, &wp), VR_EINVAL);
	wp.spin_ns = 50;
	assert_int_equal(vr_chan_set_wait_policy(&p.d.ch, VR_CHAN_RX, &wp), 0);
	memset(&wp, 0, sizeof(wp));
	assert_int_equal(vr_chan_get_policy(&p.d.ch, VR_CHAN_RX, &np, &wp), 0);
	assert_int_equal(wp.mode, VR_WAIT_ADAPTIVE);
	assert_int_equal(np.batch, 1);
	assert_int_equal(vr_chan_flush(&p.d.ch, 5), VR_EINVAL);
	pair_close(&p);
}

/* ---- Waiting: wakeups, spurious wakeups, polling, adaptive ----------------- */

static void test_spurious_wakeup(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		uint32_t m;

		pair_open(&p, formats[f], EVIDX, 16, 16);
		/* Ring the device's TX doorbell with nothing in the ring. */
		assert_int_equal(lb_notify(&p.d.le.t, VR_CHAN_TX), 0);
		/* 100 ms: room for a loaded machine to reach the first sleep. */
		assert_int_equal(vr_chan_recv(&p.v.ch, &m, sizeof(m), 100 * MS), VR_ETIMEDOUT);
		assert_int_equal(qstat(&p.v.ch, VR_CHAN_TX, VR_RS_WAKEUPS), 1);
		assert_int_equal(qstat(&p.v.ch, VR_CHAN_TX, VR_RS_SPURIOUS), 1);
		assert_true(qstat(&p.v.ch, VR_CHAN_TX, VR_RS_WAITS) >= 2);
		assert_int_equal(vr_chan_stats(&p.v.ch).spurious_wakeups, 1);
		pair_close(&p);
	}
}

struct sender {
	struct end *e;
	unsigned count;
	uint64_t gap_ns;
	int failed;
	/* If set (a fresh receiver): before message i, wait until this
	 * receiver has gone to sleep on its doorbell i + 1 times, so the gap
	 * it sees is at least gap_ns however late either thread runs. */
	struct end *asleep;
};

/* The receiver's sleeps on TX so far (any thread may read the counters). */
static uint64_t sleeps(struct end *v)
{
	uint64_t c[VR_RS_COUNT];

	if (vr_chan_get_queue_stats(&v->ch, VR_CHAN_TX, c) != 0)
		return 0;
	return c[VR_RS_WAITS];
}

static void *paced_sender(void *arg)
{
	struct sender *sd = arg;
	uint32_t i;

	for (i = 0; i < sd->count; i++) {
		if (sd->asleep) {
			uint64_t t0 = now_ns(NULL);

			while (sleeps(sd->asleep) < i + 1u) {
				if (now_ns(NULL) - t0 > 10000 * MS) {
					sd->failed = 2;
					return NULL;
				}
				sleep_ns(100 * US);
			}
		}
		sleep_ns(sd->gap_ns);
		if (vr_chan_send(&sd->e->ch, &i, sizeof(i), 10000 * MS) != 0) {
			sd->failed = 1;
			break;
		}
	}
	return NULL;
}

static void run_paced_as(struct pair *p, unsigned count, uint64_t gap_ns,
			 bool after_sleep)
{
	struct sender sd = {&p->d, count, gap_ns, 0, after_sleep ? &p->v : NULL};
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, paced_sender, &sd), 0);
	recv_n(&p->v, count, 0, 10000 * MS);
	pthread_join(th, NULL);
	assert_int_equal(sd.failed, 0);
}

static void run_paced(struct pair *p, unsigned count, uint64_t gap_ns)
{
	run_paced_as(p, count, gap_ns, false);
}

static void test_poll_never_asks(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		struct vr_wait_policy poll = {VR_WAIT_POLL, 0, 0, 0, false};
		uint32_t m;

		pair_open(&p, formats[f], 0, 16, 16);
		assert_int_equal(vr_chan_set_wait_policy(&p.v.ch, VR_CHAN_TX, &poll), 0);
		/* A timed-out spin: no doorbell asked for. 50 ms, so that even
		 * a late thread starts spinning before its deadline. */
		assert_int_equal(vr_chan_recv(&p.v.ch, &m, sizeof(m), 50 * MS), VR_ETIMEDOUT);
		run_paced(&p, 50, 200 * US);
		/* The device spun, never slept, and the driver never rang. */
		assert_int_equal(qstat(&p.v.ch, VR_CHAN_TX, VR_RS_WAITS), 0);
		assert_true(qstat(&p.v.ch, VR_CHAN_TX, VR_RS_SPIN_HITS) >= 1);
		/* Every spin found its message but the one that timed out. */
		assert_int_equal(qstat(&p.v.ch, VR_CHAN_TX, VR_RS_SPINS),
				 qstat(&p.v.ch, VR_CHAN_TX, VR_RS_SPIN_HITS) + 1);
		assert_int_equal(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_NOTIFIES), 0);
		pair_close(&p);
	}
}

/* ---- Adaptive waiting, on a fake clock ------------------------------------- */

/*
 * The device end (the receiver on TX) on a clock that only the test moves:
 * every reading advances it by AD_STEP (spinning takes time), a sleep on
 * the doorbell ends AD_WAKE after the message it waits for arrives, and a
 * timed sleep that nothing ends returns AD_LATE after its timeout. The
 * driver sends message n at its arrival time, set by the test before each
 * receive as "when the receiver begins to wait, plus the gap". Only counts
 * are asserted (spins, spin hits, sleeps), never times: the decisions are
 * the test's subject. Single-threaded.
 */
#define AD_STEP 100u
#define AD_WAKE (20 * US) /* a doorbell wakes the sleeper this late */
#define AD_LATE (8 * US)  /* a timer wakes the sleeper this late */

static uint64_t ad_now, ad_due;
static uint32_t ad_seq;
/* Messages that arrive together at ad_due, numbered from ad_seq. */
static unsigned ad_burst;
/* Preemption: every ad_preempt_every-th reading of the clock (0: never)
 * finds it AD_PREEMPT later, as a thread that lost its CPU would. */
#define AD_PREEMPT (3 * MS)
static unsigned ad_preempt_every, ad_reads;
static struct end *ad_sender;

static void ad_deliver(void)
{
	if (ad_due != UINT64_MAX && ad_now >= ad_due) {
		unsigned k;

		ad_due = UINT64_MAX;
		for (k = 0; k < ad_burst; k++) {
			uint32_t v = ad_seq + k;

			assert_int_equal(vr_chan_send(&ad_sender->ch, &v, sizeof(v), 0), 0);
		}
	}
}

static uint64_t ad_now_ns(struct vr_transport *t)
{
	(void)t;
	ad_now += AD_STEP;
	if (ad_preempt_every && ++ad_reads % ad_preempt_every == 0)
		ad_now += AD_PREEMPT;
	ad_deliver();
	return ad_now;
}

static int ad_wait(struct vr_transport *t, uint32_t q, uint64_t timeout_ns)
{
	(void)t;
	(void)q;
	if (ad_due != UINT64_MAX && ad_due - ad_now <= timeout_ns) {
		ad_now = ad_due;
		ad_deliver();
		ad_now += AD_WAKE;
		return 0;
	}
	assert_true(timeout_ns < 1000 * MS); /* nothing due: a test bug */
	ad_now += timeout_ns + AD_LATE;
	return VR_ETIMEDOUT;
}

static const struct vr_transport_ops ad_ops = {lb_notify, ad_wait, lb_peer_state,
					       ad_now_ns};

/* What the device's waits on TX did so far. */
struct ad_counts {
	uint64_t spins, hits, sleeps;
};

static struct ad_counts ad_counts(struct pair *p)
{
	struct ad_counts c = {qstat(&p->v.ch, VR_CHAN_TX, VR_RS_SPINS),
			      qstat(&p->v.ch, VR_CHAN_TX, VR_RS_SPIN_HITS),
			      qstat(&p->v.ch, VR_CHAN_TX, VR_RS_WAITS)};

	return c;
}

/* @n arrivals of ad_burst messages each (one, unless a test says), @gap_ns
 * after the receiver begins to wait for the first: what the waits did (one
 * per arrival: the others are there when it looks). */
static struct ad_counts ad_run(struct pair *p, unsigned n, uint64_t gap_ns)
{
	struct ad_counts a = ad_counts(p), b;
	unsigned i, k;

	for (i = 0; i < n; i++) {
		uint32_t first = ad_seq + 1, m = 0;

		ad_seq = first;
		ad_due = ad_now + gap_ns;
		for (k = 0; k < ad_burst; k++) {
			assert_int_equal(vr_chan_recv(&p->v.ch, &m, sizeof(m), 100 * MS), 4);
			assert_int_equal(m, first + k);
		}
		ad_seq = first + ad_burst - 1;
	}
	b = ad_counts(p);
	b.spins -= a.spins;
	b.hits -= a.hits;
	b.sleeps -= a.sleeps;
	return b;
}

/* How many of @n (at most AD_MAX) messages, @gap_ns apart, go by before
 * a run of @quiet waits that (@spinning) all spin and catch their message
 * without a sleep, or (not @spinning) all sleep without spinning, but for
 * at most @probes of them that spin. Fails if there is no such run. */
#define AD_MAX 4096u

static unsigned ad_settle(struct pair *p, unsigned n, uint64_t gap_ns, bool spinning,
			  unsigned quiet, unsigned probes)
{
	static bool good[AD_MAX], spun[AD_MAX];
	unsigned i, j, ngood, nspun;

	assert_true(n <= AD_MAX && quiet > 0);
	for (i = 0; i < n; i++) {
		struct ad_counts c = ad_run(p, 1, gap_ns);

		/* Blocking: a wait that spun is one of the probes allowed. */
		good[i] = spinning ? c.hits == 1 && c.sleeps == 0 : c.spins || c.sleeps >= 1;
		spun[i] = c.spins != 0;
		if (i + 1 < quiet)
			continue;
		for (j = i + 1 - quiet, ngood = nspun = 0; j <= i; j++) {
			ngood += good[j];
			nspun += spun[j];
		}
		if (ngood == quiet && (spinning || nspun <= probes))
			return i + 1 - quiet;
	}
	fail_msg("no %u quiet waits in %u (gap %llu ns, %s)", quiet, n,
		 (unsigned long long)gap_ns, spinning ? "spinning" : "blocking");
	return n;
}

static void ad_open(struct pair *p, uint32_t format, uint32_t spin_ns)
{
	struct vr_wait_policy ad = {VR_WAIT_ADAPTIVE, spin_ns, 0, 50 * US, true};

	pair_open(p, format, EVIDX, 16, 32);
	p->v.le.t.ops = &ad_ops;
	ad_now = 1000 * MS + 777;
	ad_due = UINT64_MAX;
	ad_seq = 0;
	ad_burst = 1;
	ad_preempt_every = 0;
	ad_reads = 0;
	ad_sender = &p->d;
	assert_int_equal(vr_chan_set_wait_policy(&p->v.ch, VR_CHAN_TX, &ad), 0);
}

/* Gaps of 2 us against a 20 us wake-up, starting from no spin at all:
 * the queue learns to spin, and then catches every message without a
 * sleep. */
static void test_adaptive_short_gaps_spin(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		struct ad_counts c;

		ad_open(&p, formats[f], 0);
		c = ad_run(&p, 64, 2 * US); /* warm-up */
		assert_true(c.sleeps >= 1); /* it did start blocking */
		c = ad_run(&p, 500, 2 * US);
		assert_int_equal(c.sleeps, 0);
		assert_int_equal(c.spins, 500);
		assert_int_equal(c.hits, 500);
		assert_true(p.v.ch.pol[VR_CHAN_TX].spin_budget >= 2 * US);
		pair_close(&p);
	}
}

/* Gaps of 300 us, far beyond any useful spin, starting from a 50 us
 * budget: the queue learns to block at once; the only spins left are
 * the probes, which back off (here: at most 3 in 500 waits). The timer
 * measured the wake-up cost on the way. */
static void test_adaptive_long_gaps_block(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		struct ad_counts c;
		uint32_t wake;

		ad_open(&p, formats[f], 50 * US);
		c = ad_run(&p, 64, 300 * US); /* warm-up */
		assert_true(c.spins >= 1);    /* it did start spinning */
		c = ad_run(&p, 500, 300 * US);
		assert_int_equal(c.hits, 0);
		assert_true(c.spins <= 3);
		assert_true(c.sleeps >= 500);
		assert_int_equal(p.v.ch.pol[VR_CHAN_TX].spin_budget, 0);
		wake = p.v.ch.pol[VR_CHAN_TX].wake_ns;
		assert_true(wake >= AD_LATE / 2 && wake <= AD_LATE * 2);
		pair_close(&p);
	}
}

/* Short, long, short again: each change is followed within a bounded
 * number of waits by the behaviour that suits the new gaps. */
static void test_adaptive_load_changes(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;

		ad_open(&p, formats[f], 4 * US);
		/* From the start (a 4 us budget) to spinning through 2 us
		 * gaps; then to blocking through 300 us gaps (probes aside);
		 * back to spinning; to blocking through 40 us gaps, which a
		 * 50 us budget could catch but which cost more than a sleep
		 * (two wake-ups, measured between the timer's 8 us and the
		 * doorbell's 20 us); back to spinning. */
		assert_true(ad_settle(&p, 400, 2 * US, true, 100, 0) <= 16);
		assert_true(ad_settle(&p, 400, 300 * US, false, 100, 2) <= 192);
		assert_true(ad_settle(&p, 400, 2 * US, true, 100, 0) <= 192);
		assert_true(ad_settle(&p, 400, 40 * US, false, 100, 2) <= 192);
		assert_true(ad_settle(&p, 400, 2 * US, true, 100, 0) <= 192);
		pair_close(&p);
	}
}

/* Gaps of 10 us (100k messages/s), but the spinning thread loses its CPU
 * for 3 ms after about 0.5 ms of spinning (a CPU shared with busy work):
 * spinning then costs more than a wake-up, and the queue blocks. Once the
 * CPU is its own again and the gaps are short (2 us), it spins again,
 * within a bounded number of waits (the preemption it saw fades). */
static void test_adaptive_preempted_spin(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;

		ad_open(&p, formats[f], 4 * US);
		assert_true(ad_settle(&p, 400, 10 * US, true, 100, 0) <= 16);
		/* Blocking; the probes, which catch their short gaps, keep
		 * their shortest interval (one wait in 32). */
		ad_preempt_every = 5000;
		assert_true(ad_settle(&p, 1000, 10 * US, false, 100, 4) <= 400);
		ad_preempt_every = 0;
		assert_true(ad_settle(&p, AD_MAX, 2 * US, true, 100, 0) <= 1500);
		pair_close(&p);
	}
}

/* Waits that end by their deadline (a caller that polls with a 5 us
 * timeout between its own work) are gaps too: the queue spins through
 * them instead of sleeping on a timer that would come back late. */
static void test_adaptive_deadlines(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		struct ad_counts a, b;
		uint32_t m;
		unsigned i;

		ad_open(&p, formats[f], 0);
		for (i = 0; i < 40; i++)
			assert_int_equal(vr_chan_recv(&p.v.ch, &m, sizeof(m), 5 * US),
					 VR_ETIMEDOUT);
		a = ad_counts(&p);
		for (i = 0; i < 100; i++)
			assert_int_equal(vr_chan_recv(&p.v.ch, &m, sizeof(m), 5 * US),
					 VR_ETIMEDOUT);
		b = ad_counts(&p);
		assert_int_equal(b.sleeps - a.sleeps, 0);
		assert_int_equal(b.spins - a.spins, 100);
		pair_close(&p);
	}
}

/* Gaps of 40 us cost more to spin through than a sleep when a sleep
 * delays one message (test_adaptive_load_changes), and still when it
 * delays 6, a paced sender's few (up to BACKLOG_FREE, 8, cost no more).
 * When every sleep lets a saturating sender fill the ring, 12 messages
 * waiting for each wake-up, the queue spins through them and catches
 * every arrival; back to a backlog of 1, it blocks again. */
static void test_adaptive_backlog_spins(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		struct ad_counts c;

		ad_open(&p, formats[f], 4 * US);
		ad_burst = 6;
		(void)ad_run(&p, 200, 40 * US); /* warm-up */
		c = ad_run(&p, 200, 40 * US);
		assert_true(c.sleeps >= 190);
		assert_true(c.hits <= 10); /* the probes */
		ad_burst = 12;
		(void)ad_run(&p, 200, 40 * US);
		c = ad_run(&p, 200, 40 * US);
		assert_int_equal(c.sleeps, 0);
		assert_int_equal(c.hits, 200);
		assert_true(p.v.ch.pol[VR_CHAN_TX].spin_budget > 40 * US);
		ad_burst = 1;
		assert_true(ad_settle(&p, 1000, 40 * US, false, 100, 2) <= 600);
		pair_close(&p);
	}
}

/* Without adapt, the budget is what was set, whatever the gaps. */
static void test_adaptive_fixed_budget(void **s)
{
	struct pair p;
	struct vr_wait_policy fixed = {VR_WAIT_ADAPTIVE, 10 * US, 0, 0, false};
	struct ad_counts c;

	(void)s;
	ad_open(&p, VR_FORMAT_SPLIT, 0);
	assert_int_equal(vr_chan_set_wait_policy(&p.v.ch, VR_CHAN_TX, &fixed), 0);
	c = ad_run(&p, 50, 2 * US);
	assert_int_equal(c.hits, 50);
	assert_int_equal(c.sleeps, 0);
	c = ad_run(&p, 50, 300 * US);
	assert_int_equal(c.hits, 0);
	assert_int_equal(c.spins, 50);
	assert_int_equal(c.sleeps, 50);
	assert_int_equal(p.v.ch.pol[VR_CHAN_TX].spin_budget, 10 * US);
	pair_close(&p);
}

/* ---- Counters in the region ------------------------------------------------ */

static void test_region_counters(void **s)
{
	struct pair p;
	const uint32_t *drv, *dev;
	struct vr_region_info info;
	unsigned i;

	(void)s;
	pair_open(&p, VR_FORMAT_PACKED, EVIDX, 16, 16);
	send_n(&p.d, 7, 0);
	recv_n(&p.v, 7, 0, 0);
	assert_int_equal(vr_region_parse(p.l->region, p.l->len, &info), 0);
	drv = vr_region_stats(p.l->region, &info, VR_CHAN_TX, VR_ROLE_DRIVER);
	dev = vr_region_stats(p.l->region, &info, VR_CHAN_TX, VR_ROLE_DEVICE);
	assert_non_null(drv);
	assert_non_null(dev);
	for (i = 0; i < VR_RS_COUNT; i++) {
		assert_int_equal(vr_region_stat_load(drv, i),
				 (uint32_t)qstat(&p.d.ch, VR_CHAN_TX, i));
		assert_int_equal(vr_region_stat_load(dev, i),
				 (uint32_t)qstat(&p.v.ch, VR_CHAN_TX, i));
	}
	assert_int_equal(vr_region_stat_load(drv, VR_RS_PUBLISHED), 7);
	assert_int_equal(vr_region_stat_load(dev, VR_RS_CONSUMED), 7);
	/* RX: the driver offered its 8 receive buffers at open. */
	drv = vr_region_stats(p.l->region, &info, VR_CHAN_RX, VR_ROLE_DRIVER);
	assert_int_equal(vr_region_stat_load(drv, VR_RS_PUBLISHED), 8);
	pair_close(&p);
}

/* ---- No stranded message: the sender goes idle, a timer pays ------------- */

struct timer {
	struct end *e;
	volatile int stop;
};

/* What an application's timer does: call vr_chan_service and sleep until
 * the next doorbell falls due (at most 1 ms). */
static void *service_timer(void *arg)
{
	struct timer *t = arg;

	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		uint64_t next = vr_chan_service(&t->e->ch);

		sleep_ns(next < 1 * MS ? next : 1 * MS);
	}
	return NULL;
}

struct receiver {
	struct end *e;
	unsigned count;
	uint64_t worst_ns;
	int failed;
	unsigned got; /* messages received so far (atomic) */
};

/* A stamped message: its number and when it was sent. */
struct stamped {
	uint32_t seq;
	uint64_t sent_ns;
};

/* Receives in order with a timeout far longer than the test: a message
 * that no doorbell announces is found only at that timeout, so it shows
 * as missing in the sender's check below, never as a late arrival. */
static void *blocking_receiver(void *arg)
{
	struct receiver *r = arg;
	unsigned i;

	for (i = 0; i < r->count; i++) {
		struct stamped m = {0, 0};
		int got = vr_chan_recv(&r->e->ch, &m, sizeof(m), 60000 * MS);
		uint64_t late;

		if (got != (int)sizeof(m) || m.seq != i) {
			r->failed = got < 0 ? got : 1;
			__atomic_store_n(&r->got, r->count + 1, __ATOMIC_RELEASE);
			return NULL;
		}
		late = now_ns(NULL) - m.sent_ns;
		if (late > r->worst_ns)
			r->worst_ns = late;
		__atomic_store_n(&r->got, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Wait, without calling the channel, until the receiver has @n messages;
 * false after @limit_ns. */
static bool received_within(struct receiver *r, unsigned n, uint64_t limit_ns)
{
	uint64_t t0 = now_ns(NULL);

	while (__atomic_load_n(&r->got, __ATOMIC_ACQUIRE) < n) {
		if (now_ns(NULL) - t0 > limit_ns)
			return false;
		sleep_ns(200 * US);
	}
	return __atomic_load_n(&r->got, __ATOMIC_ACQUIRE) == n;
}

/*
 * No stranded message: after each burst (far smaller than N = 64) the
 * sender goes idle without calling the channel, so only the time bound,
 * paid by the application's timer thread, can ring for the blocked
 * receiver. Each burst must be received in full before the sender does
 * anything else; the sender waits up to 10 s for it, which no loaded
 * machine or sanitizer needs (T is 2 ms, the timer naps at most 1 ms),
 * while a stranded message never arrives (the receiver would find it only
 * at its own 60 s timeout). Order and counts, no wall-clock bound.
 */
static void test_coalesce_never_strands(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 4; f++) {
		uint64_t features = f & 2 ? EVIDX : 0;
		struct pair p;
		/* At most one doorbell per 64 messages, or 2 ms. */
		struct vr_notify_policy c = {VR_NOTIFY_AS_ASKED, 1, 64, 2000};
		struct timer t;
		struct receiver r;
		pthread_t tt, rt;
		struct stamped m = {0, 0};
		unsigned burst, total = 0;

		pair_open(&p, formats[f & 1], features, 64, 128);
		assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, &c), 0);
		t.e = &p.d;
		t.stop = 0;
		memset(&r, 0, sizeof(r));
		r.e = &p.v;
		for (burst = 0; burst < 16; burst++)
			r.count += 1 + burst % 5;
		assert_int_equal(pthread_create(&tt, NULL, service_timer, &t), 0);
		assert_int_equal(pthread_create(&rt, NULL, blocking_receiver, &r), 0);
		for (burst = 0; burst < 16; burst++) {
			unsigned k;

			/* Let the receiver fall asleep on its doorbell. */
			sleep_ns(5 * MS);
			for (k = 0; k < 1 + burst % 5; k++, m.seq++) {
				m.sent_ns = now_ns(NULL);
				assert_int_equal(vr_chan_send(&p.d.ch, &m, sizeof(m), 10000 * MS), 0);
			}
			total += k;
			if (!received_within(&r, total, 10000 * MS))
				break;
		}
		if (burst < 16) {
			unsigned got = __atomic_load_n(&r.got, __ATOMIC_ACQUIRE);

			/* Stop both threads (the receiver sees a dead peer),
			 * then fail. */
			__atomic_store_n(&t.stop, 1, __ATOMIC_RELEASE);
			pthread_join(tt, NULL);
			__atomic_store_n(&p.l->dead, 1, __ATOMIC_RELEASE);
			pthread_join(rt, NULL);
			fail_msg("burst %u (messages %u..%u): %u messages received in "
				 "all after 10 s: stranded", burst, total - (1 + burst % 5),
				 total - 1, got);
		}
		pthread_join(rt, NULL);
		__atomic_store_n(&t.stop, 1, __ATOMIC_RELEASE);
		pthread_join(tt, NULL);
		assert_int_equal(r.failed, 0);
		assert_int_equal(r.got, r.count);
		/* Informational: how long the worst one waited. */
		print_message("    worst delivery %.2f ms (T = 2 ms)\n",
			      (double)r.worst_ns / 1e6);
		/* With flags a sleeping receiver asks for every message of a
		 * burst, and a burst of several gets one doorbell (its sends
		 * take far less than T). With an event index it asks once per
		 * sleep: nothing to merge. */
		if (!features)
			assert_true(qstat(&p.d.ch, VR_CHAN_TX, VR_RS_COALESCED) > 0);
		pair_close(&p);
	}
}

/* Request/response on one thread with coalescing and no timer: the blocking
 * receive of the reply wakes up in time to ring the owed doorbell. */
static void *echo_device(void *arg)
{
	struct receiver *r = arg;
	unsigned i;

	for (i = 0; i < r->count; i++) {
		uint32_t m = 0;

		if (vr_chan_recv(&r->e->ch, &m, sizeof(m), 10000 * MS) != 4 ||
		    vr_chan_send(&r->e->ch, &m, sizeof(m), 10000 * MS) != 0) {
			r->failed = 1;
			return NULL;
		}
	}
	return NULL;
}

static void test_coalesce_request_response(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct pair p;
		struct vr_notify_policy c = {VR_NOTIFY_AS_ASKED, 1, 1000, 200};
		struct receiver r;
		pthread_t th;
		uint32_t i;

		pair_open(&p, formats[f], 0, 16, 32);
		assert_int_equal(vr_chan_set_notify_policy(&p.d.ch, VR_CHAN_TX, &c), 0);
		memset(&r, 0, sizeof(r));
		r.e = &p.v;
		r.count = 200;
		assert_int_equal(pthread_create(&th, NULL, echo_device, &r), 0);
		for (i = 0; i < r.count; i++) {
			uint32_t m = 0;

			assert_int_equal(vr_chan_send(&p.d.ch, &i, sizeof(i), 10000 * MS), 0);
			assert_int_equal(vr_chan_recv(&p.d.ch, &m, sizeof(m), 10000 * MS), 4);
			assert_int_equal(m, i);
		}
		pthread_join(th, NULL);
		assert_int_equal(r.failed, 0);
		pair_close(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_as_asked_and_always),
		cmocka_unit_test(test_batching),
		cmocka_unit_test(test_batch_flushed_before_waiting),
		cmocka_unit_test(test_coalesce_count),
		cmocka_unit_test(test_coalesce_time),
		cmocka_unit_test(test_coalesce_deadline_per_message),
		cmocka_unit_test(test_policy_errors),
		cmocka_unit_test(test_spurious_wakeup),
		cmocka_unit_test(test_poll_never_asks),
		cmocka_unit_test(test_adaptive_short_gaps_spin),
		cmocka_unit_test(test_adaptive_long_gaps_block),
		cmocka_unit_test(test_adaptive_load_changes),
		cmocka_unit_test(test_adaptive_preempted_spin),
		cmocka_unit_test(test_adaptive_deadlines),
		cmocka_unit_test(test_adaptive_backlog_spins),
		cmocka_unit_test(test_adaptive_fixed_budget),
		cmocka_unit_test(test_region_counters),
		cmocka_unit_test(test_coalesce_never_strands),
		cmocka_unit_test(test_coalesce_request_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
