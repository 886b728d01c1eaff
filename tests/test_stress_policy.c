/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Lost-wakeup stress of the notification and wait policies: request and
 * response between two threads over the loopback transport, where each
 * side sleeps whenever it has nothing to do, so every message needs the
 * arm / re-check / sleep handshake to be right. A lost wakeup shows as a
 * receive that times out (10 s while a message is queued), never as a
 * hang. Every combination of ring format, suppression (flags, event
 * index), notify policy (as asked, always, batched with flush, coalesced)
 * and wait policy (block, adaptive, adaptive with a zero-floor budget) runs
 * in turn, with bursts of 1..8 requests per round so that batches and
 * event indexes land everywhere.
 *
 * VR_STRESS_MESSAGES (scripts/test.sh: 10M plain, fewer under sanitizers)
 * sets the scale: each configuration gets VR_STRESS_MESSAGES / 400 round
 * trips (25,000 at 10M; 48 configurations). scripts/stress_long.sh runs
 * 100 million messages in all.
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
#define TIMEOUT (10000 * MS)
#define EVIDX VR_FEATURE(VR_F_EVENT_IDX)

struct config {
	uint32_t format;
	uint64_t features;
	struct vr_notify_policy notify;
	struct vr_wait_policy wait;
	const char *name;
};

struct echo {
	struct vr_chan *ch;
	uint32_t count;
	int err;
	uint32_t at;
};

/* The device: take each request, answer with the same number. Flushes
 * after each answer when its notify policy batches. */
static void *device(void *arg)
{
	struct echo *e = arg;
	uint32_t i;

	for (i = 0; i < e->count; i++) {
		uint32_t m = 0;
		int r = vr_chan_recv(e->ch, &m, sizeof(m), TIMEOUT);

		if (r != 4 || m != i) {
			e->err = r < 0 ? r : -1000;
			e->at = i;
			return NULL;
		}
		r = vr_chan_send(e->ch, &m, sizeof(m), TIMEOUT);
		if (r == 0)
			r = vr_chan_flush(e->ch, VR_CHAN_RX);
		if (r) {
			e->err = r;
			e->at = i;
			return NULL;
		}
	}
	return NULL;
}

static uint64_t messages_per_config(void)
{
	const char *env = getenv("VR_STRESS_MESSAGES");
	uint64_t n = env ? strtoull(env, NULL, 10) : 2000000;

	n /= 400;
	return n < 200 ? 200 : n;
}

static void run(const struct config *c, uint32_t count)
{
	struct loop *l = loop_new(c->format, 16, 64, 32, c->features);
	struct end d = {0}, v = {0};
	struct echo e;
	pthread_t th;
	uint32_t sent = 0, got = 0, q;
	unsigned burst = 0;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, c->features), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, c->features), 0);
	for (q = 0; q < 2; q++) {
		assert_int_equal(vr_chan_set_notify_policy(&d.ch, q, &c->notify), 0);
		assert_int_equal(vr_chan_set_notify_policy(&v.ch, q, &c->notify), 0);
		assert_int_equal(vr_chan_set_wait_policy(&d.ch, q, &c->wait), 0);
		assert_int_equal(vr_chan_set_wait_policy(&v.ch, q, &c->wait), 0);
	}
	e.ch = &v.ch;
	e.count = count;
	e.err = 0;
	e.at = 0;
	assert_int_equal(pthread_create(&th, NULL, device, &e), 0);
	while (got < count) {
		/* A burst of requests, then every answer: both sides go idle
		 * and sleep between bursts. */
		unsigned n = 1 + (burst++ * 2654435761u >> 13) % 8, k;

		for (k = 0; k < n && sent < count; k++, sent++) {
			int r = vr_chan_send(&d.ch, &sent, sizeof(sent), TIMEOUT);

			if (r) {
				print_error("%s: send %u: %s\n", c->name, sent, vr_errname(r));
				fail();
			}
		}
		assert_int_equal(vr_chan_flush(&d.ch, VR_CHAN_TX), 0);
		while (got < sent) {
			uint32_t m = 0;
			int r = vr_chan_recv(&d.ch, &m, sizeof(m), TIMEOUT);

			if (r != 4 || m != got) {
				print_error("%s: reply %u: %s (got %u; device at %u: %s)\n",
					    c->name, got, r < 0 ? vr_errname(r) : "wrong",
					    m, e.at, e.err ? vr_errname(e.err) : "fine");
				fail();
			}
			got++;
		}
	}
	pthread_join(th, NULL);
	assert_int_equal(e.err, 0);
	{
		struct vr_chan_stats a = vr_chan_stats(&d.ch), b = vr_chan_stats(&v.ch);

		printf("  %-34s %7u round trips: %.3f doorbells/msg, %llu waits, "
		       "%llu spin hits, %llu coalesced\n",
		       c->name, count,
		       (double)(a.notifies + b.notifies) / (2.0 * count),
		       (unsigned long long)(a.waits + b.waits),
		       (unsigned long long)(a.spin_hits + b.spin_hits),
		       (unsigned long long)(a.coalesced + b.coalesced));
	}
	free(d.state);
	free(v.state);
	loop_free(l);
}

static void test_every_policy(void **s)
{
	static const struct vr_notify_policy notifies[4] = {
		{VR_NOTIFY_AS_ASKED, 1, 0, 0},
		{VR_NOTIFY_ALWAYS, 1, 0, 0},
		{VR_NOTIFY_AS_ASKED, 4, 0, 0},     /* batches of 4, flushed */
		{VR_NOTIFY_AS_ASKED, 1, 8, 50},    /* 8 messages or 50 us */
	};
	static const char *notify_names[4] = {"as-asked", "always", "batch4",
					      "coalesce8/50us"};
	static const struct vr_wait_policy waits[3] = {
		{VR_WAIT_BLOCK, 0, 0, 0, false},
		{VR_WAIT_ADAPTIVE, 2000, 500, 50000, true},
		{VR_WAIT_ADAPTIVE, 0, 0, 20000, true}, /* from zero spin */
	};
	static const char *wait_names[3] = {"block", "adaptive", "adaptive0"};
	uint32_t count = (uint32_t)messages_per_config();
	unsigned f, sup, n, w;

	(void)s;
	for (f = 0; f < 2; f++)
		for (sup = 0; sup < 2; sup++)
			for (n = 0; n < 4; n++)
				for (w = 0; w < 3; w++) {
					struct config c;
					char name[64];

					snprintf(name, sizeof(name), "%s/%s/%s/%s",
						 f ? "packed" : "split",
						 sup ? "event-idx" : "flags",
						 notify_names[n], wait_names[w]);
					c.format = f ? VR_FORMAT_PACKED : VR_FORMAT_SPLIT;
					c.features = sup ? EVIDX : 0;
					c.notify = notifies[n];
					c.wait = waits[w];
					c.name = name;
					run(&c, count);
				}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
