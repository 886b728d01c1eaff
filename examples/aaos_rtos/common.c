/* SPDX-License-Identifier: BSD-3-Clause */
/* Clocks, histogram, pinning, arguments and reports for aaos and rtos. */
#define _GNU_SOURCE

#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void demo_cycles_describe(char *what, size_t len, unsigned ms)
{
#if defined(__x86_64__)
	uint64_t t0, t1, c0, c1;
	double hz;

	t0 = demo_now_ns();
	c0 = demo_cycles();
	while ((t1 = demo_now_ns()) - t0 < (uint64_t)ms * 1000000u)
		;
	c1 = demo_cycles();
	hz = (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
	snprintf(what, len,
		 "rdtsc, TSC at %.3f GHz measured against CLOCK_MONOTONIC over "
		 "%u ms (cycles = TSC reference cycles)",
		 hz / 1e9, ms);
#elif defined(__aarch64__)
	uint64_t f;

	(void)ms;
	__asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(f));
	snprintf(what, len,
		 "cntvct_el0 at %.3f MHz (cntfrq_el0); cycles = counter ticks, "
		 "not CPU cycles",
		 (double)f / 1e6);
#else
	(void)ms;
	snprintf(what, len,
		 "CLOCK_MONOTONIC: no cycle counter on this CPU, cycles/message "
		 "is nanoseconds/message");
#endif
}

/* ---- Histogram ------------------------------------------------------------ */

static unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < DEMO_HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* e >= SUB_BITS */
	return (e - DEMO_HIST_SUB_BITS + 1u) * DEMO_HIST_SUB +
	       (unsigned)((v >> (e - DEMO_HIST_SUB_BITS)) & (DEMO_HIST_SUB - 1u));
}

/* Largest value that falls in bucket @i. */
static uint64_t hist_upper(unsigned i)
{
	unsigned e, sub;
	uint64_t lo;

	if (i < DEMO_HIST_SUB)
		return i;
	e = i / DEMO_HIST_SUB + DEMO_HIST_SUB_BITS - 1u;
	sub = i % DEMO_HIST_SUB;
	lo = ((uint64_t)1 << e) | ((uint64_t)sub << (e - DEMO_HIST_SUB_BITS));
	return lo + (((uint64_t)1 << (e - DEMO_HIST_SUB_BITS)) - 1u);
}

void demo_hist_add(struct demo_hist *h, uint64_t v)
{
	h->bucket[hist_index(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

uint64_t demo_hist_quantile(const struct demo_hist *h, double q)
{
	uint64_t want, seen = 0, up;
	unsigned i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)(q * (double)h->count);
	if ((double)want < q * (double)h->count)
		want++; /* ceil */
	if (want == 0)
		want = 1;
	for (i = 0; i < DEMO_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want) {
			up = hist_upper(i);
			return up < h->max ? up : h->max;
		}
	}
	return h->max;
}

/* ---- CPUs ----------------------------------------------------------------------- */

/* The CPUs this process could use before demo_pin() narrowed them. */
static cpu_set_t demo_orig_cpus;
static bool demo_pinned;

int demo_pin(unsigned index)
{
	cpu_set_t set, one;
	unsigned n = 0, i;

	if (sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) < 2)
		return -1;
	demo_orig_cpus = set;
	demo_pinned = true;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (n++ == index % (unsigned)CPU_COUNT(&set)) {
			CPU_ZERO(&one);
			CPU_SET(i, &one);
			/* A failure only costs some performance. */
			return sched_setaffinity(0, sizeof(one), &one) == 0 ? (int)i : -1;
		}
	}
	return -1;
}

void demo_unpin(void)
{
	if (demo_pinned)
		(void)sched_setaffinity(0, sizeof(demo_orig_cpus), &demo_orig_cpus);
}

/* ---- Arguments -------------------------------------------------------------------- */

int demo_parse_u64(const char *prog, const char *opt, const char *s,
		   uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9') {
		fprintf(stderr, "%s: %s: \"%s\" is not a number (try --help)\n",
			prog, opt, s);
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end) {
		fprintf(stderr, "%s: %s: \"%s\" is not a number (try --help)\n",
			prog, opt, s);
		return -1;
	}
	if (v < min || v > max) {
		fprintf(stderr,
			"%s: %s: %llu is out of range %llu..%llu (try --help)\n",
			prog, opt, v, (unsigned long long)min,
			(unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

int demo_opt_value(const char *prog, int argc, char **argv, int *i,
		   const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "%s: %s needs a value (try --help)\n", prog, name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

/* ---- Reports ------------------------------------------------------------------------ */

void demo_print_summary(const struct demo_summary *s)
{
	double secs = (double)s->ns / 1e9;
	double m = s->messages ? (double)s->messages : 1.0;
	const struct vr_chan_stats *st = s->stats;

	printf("[%s] ---- summary ----\n", s->who);
	printf("[%s] messages             %" PRIu64 "\n", s->who, s->messages);
	printf("[%s] seconds              %.3f\n", s->who, secs);
	printf("[%s] messages/s           %.0f\n", s->who,
	       secs > 0 ? (double)s->messages / secs : 0.0);
	/* Wall time, not CPU cost: it includes every wait for the peer. */
	printf("[%s] wall cycles/message  %.0f  (elapsed counter ticks per message, "
	       "waiting included; not CPU cost)\n", s->who, (double)s->cycles / m);
	printf("[%s] clock                %s\n", s->who, s->clock);
	printf("[%s] CPU us/message       %.3f  (this process, user + system, "
	       "CLOCK_PROCESS_CPUTIME_ID)\n", s->who, (double)s->cpu_ns / 1e3 / m);
	if (s->lat && s->lat->count) {
		printf("[%s] %s, us (%" PRIu64 " samples):\n", s->who, s->lat_what,
		       s->lat->count);
		printf("[%s]   p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", s->who,
		       (double)demo_hist_quantile(s->lat, 0.50) / 1e3,
		       (double)demo_hist_quantile(s->lat, 0.99) / 1e3,
		       (double)demo_hist_quantile(s->lat, 0.999) / 1e3,
		       (double)s->lat->max / 1e3);
	}
	if (s->polling)
		/* The channel counts a notification whenever the ring's
		 * suppression logic asks for one; in polling mode the
		 * transport rings nothing. */
		printf("[%s] notifications/msg    0  (polling, no doorbells; the rings "
		       "asked for %" PRIu64 ", %" PRIu64 " suppressed; %" PRIu64
		       " sleeps; sent %" PRIu64 ", received %" PRIu64 ")\n",
		       s->who, st->notifies, st->notifies_suppressed, st->waits,
		       st->sent, st->received);
	else
		printf("[%s] notifications/msg    %.4f  (%" PRIu64 " doorbells rung, %" PRIu64
		       " suppressed, %" PRIu64 " sleeps; sent %" PRIu64 ", received %" PRIu64
		       ")\n",
		       s->who, (double)st->notifies / m, st->notifies,
		       st->notifies_suppressed, st->waits, st->sent, st->received);
	fflush(stdout);
}

void demo_progress_tick(struct demo_progress *p, const char *who, const char *what,
			uint64_t count, uint64_t total, uint64_t now_ns,
			const struct demo_hist *lat, const char *lat_what)
{
	double secs;

	if (p->next_ns == 0) {
		p->last_ns = now_ns;
		p->last_count = count;
		p->next_ns = now_ns + 1000000000ull;
		return;
	}
	if (now_ns < p->next_ns)
		return;
	secs = (double)(now_ns - p->last_ns) / 1e9;
	printf("[%s] progress: %" PRIu64, who, count);
	if (total)
		printf("/%" PRIu64, total);
	printf(" %s, %.0f/s over the last %.1f s (wall clock)", what,
	       secs > 0 ? (double)(count - p->last_count) / secs : 0.0, secs);
	if (lat && lat->count)
		printf("; %s so far: p50 %.1f us, p99 %.1f us", lat_what,
		       (double)demo_hist_quantile(lat, 0.50) / 1e3,
		       (double)demo_hist_quantile(lat, 0.99) / 1e3);
	printf("\n");
	fflush(stdout);
	p->last_ns = now_ns;
	p->last_count = count;
	p->next_ns = now_ns + 1000000000ull;
}

int demo_report_error(const char *prog, const char *what, int err,
		      const struct vr_shm *shm)
{
	if (err == VR_EPEERDEAD) {
		const char *why = shm ? vr_shm_peer_error(shm) : "";

		fprintf(stderr, "%s: the peer is gone during %s (%s): stopping\n",
			prog, what, *why ? why : "VR_EPEERDEAD");
		return DEMO_EXIT_PEERDEAD;
	}
	fprintf(stderr, "%s: %s failed: %s (%s)%s\n", prog, what, vr_errname(err),
		vr_strerror(err),
		vr_is_protocol_error(err) ? ": the peer broke the ring protocol" : "");
	return DEMO_EXIT_FAIL;
}
