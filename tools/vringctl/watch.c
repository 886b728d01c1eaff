/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl watch: a live view of a region, like top. Each sample is a fresh
 * private copy of the header, the rings and the statistics area (not the
 * pool); rates are unsigned differences between two samples, so free-running
 * counters that wrap are still right.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"

struct qsample {
	uint32_t format, size;
	uint16_t avail_idx, used_idx;
	uint32_t in_flight;
	bool has_stats;
	uint32_t stat[2][VR_RS_COUNT];
};

struct sample {
	uint64_t t_ns;
	uint32_t nq;
	uint32_t driver_status, device_status;
	uint32_t driver_hb, device_hb;
	struct qsample q[VR_REGION_MAX_QUEUES];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One sample; VC_EXIT_* on failure (printed). */
static int take(const struct vc_target *t, struct sample *out)
{
	struct vc_region r;
	struct vc_snap s;
	struct vc_analysis *a;
	uint32_t i;
	int rc;

	rc = vc_region_open("watch", t, &r);
	if (rc)
		return rc;
	rc = vc_snapshot("watch", &r, VC_SNAP_RINGS, &s);
	vc_region_close(&r);
	if (rc)
		return rc;
	out->t_ns = now_ns();
	if (s.parse_err) {
		vc_err("watch", "%s: %s (%s)", t->shown, vc_region_error_text(s.parse_err),
		       vr_errname(s.parse_err));
		vc_snap_free(&s);
		return VC_EXIT_REGION;
	}
	a = calloc(1, sizeof(*a));
	if (!a || vc_analyze(&s, a)) {
		free(a);
		vc_snap_free(&s);
		vc_err("watch", "out of memory");
		return VC_EXIT_REGION;
	}
	out->nq = a->nq;
	out->driver_status = a->driver_status;
	out->device_status = a->device_status;
	out->driver_hb = a->driver_heartbeat;
	out->device_hb = a->device_heartbeat;
	for (i = 0; i < a->nq; i++) {
		const struct vc_queue_view *q = &a->q[i];
		struct qsample *o = &out->q[i];

		o->format = q->format;
		o->size = q->size;
		o->avail_idx = q->avail_idx;
		o->used_idx = q->used_idx;
		o->in_flight = q->format == VR_FORMAT_SPLIT ? q->pending : (uint32_t)q->chains_total;
		o->has_stats = q->has_stats;
		memcpy(o->stat, q->stat, sizeof(o->stat));
	}
	vc_analysis_free(a);
	free(a);
	vc_snap_free(&s);
	return 0;
}

static void rate(char *buf, size_t len, bool ok, uint32_t delta, double secs)
{
	if (!ok)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f", (double)delta / secs);
}

static void report(const struct vc_target *t, const struct sample *p,
		   const struct sample *c, uint64_t interval_ns, unsigned long n)
{
	double secs = (double)(c->t_ns - p->t_ns) / 1e9;
	char ds[128], vs[128];
	uint32_t i;

	if (secs <= 0)
		secs = 1e-9;
	if (isatty(STDOUT_FILENO))
		fputs("\033[H\033[2J", stdout);
	printf("vringctl watch %s: %u queue%s, every %.2f s, report %lu\n", t->shown,
	       c->nq, c->nq == 1 ? "" : "s", (double)interval_ns / 1e9, n);
	vc_status_names(c->driver_status, ds, sizeof(ds));
	vc_status_names(c->device_status, vs, sizeof(vs));
	printf("driver %s, heartbeat +%.0f/s; device %s, heartbeat +%.0f/s\n", ds,
	       (double)(uint32_t)(c->driver_hb - p->driver_hb) / secs, vs,
	       (double)(uint32_t)(c->device_hb - p->device_hb) / secs);
	printf("%2s %-6s %5s %8s %9s %9s  %-6s %9s %9s %9s %9s %s\n", "Q", "FORMAT",
	       "SIZE", "INFLIGHT", "AVAIL/s", "USED/s", "SIDE", "NOTIFY/s", "SUPPR/s",
	       "WAITS/s", "WAKEUP/s", "ERROR");
	for (i = 0; i < c->nq && i < p->nq; i++) {
		const struct qsample *a = &p->q[i], *b = &c->q[i];
		char av[32], us[32];
		int side;

		uint32_t dpub = b->stat[0][VR_RS_PUBLISHED] - a->stat[0][VR_RS_PUBLISHED];
		uint32_t vpub = b->stat[1][VR_RS_PUBLISHED] - a->stat[1][VR_RS_PUBLISHED];

		/* Messages each way: the sides' 32-bit counters when they keep
		 * them; else (split) the 16-bit ring indexes, exact below
		 * 65536 per interval. A packed ring has no indexes. */
		if (b->has_stats && (dpub || vpub || b->format == VR_FORMAT_PACKED)) {
			rate(av, sizeof(av), true, dpub, secs);
			rate(us, sizeof(us), true, vpub, secs);
		} else if (b->format == VR_FORMAT_SPLIT) {
			rate(av, sizeof(av), true, (uint16_t)(b->avail_idx - a->avail_idx), secs);
			rate(us, sizeof(us), true, (uint16_t)(b->used_idx - a->used_idx), secs);
		} else {
			rate(av, sizeof(av), false, 0, secs);
			rate(us, sizeof(us), false, 0, secs);
		}
		for (side = 0; side < 2; side++) {
			static const unsigned cols[4] = {VR_RS_NOTIFIES, VR_RS_SUPPRESSED,
							 VR_RS_WAITS, VR_RS_WAKEUPS};
			char v[4][32];
			int k;

			for (k = 0; k < 4; k++)
				rate(v[k], sizeof(v[k]), b->has_stats,
				     b->stat[side][cols[k]] - a->stat[side][cols[k]], secs);
			if (side == 0)
				printf("%2u %-6s %5u %8u %9s %9s  ", i,
				       b->format == VR_FORMAT_SPLIT ? "split" : "packed", b->size,
				       b->in_flight, av, us);
			else
				printf("%2s %-6s %5s %8s %9s %9s  ", "", "", "", "", "", "");
			printf("%-6s %9s %9s %9s %9s %s\n", side ? "device" : "driver", v[0],
			       v[1], v[2], v[3],
			       b->has_stats && b->stat[side][VR_RS_ERROR]
				       ? vr_errname((int)(int32_t)b->stat[side][VR_RS_ERROR])
				       : "-");
		}
	}
	fflush(stdout);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vringctl watch [--interval SEC] [--count N | --once] REGION\n"
		"Show, every interval, per queue: chains in flight, chains made\n"
		"available and returned used per second (from the sides' statistics\n"
		"counters; for a split ring whose peers keep none, from the ring\n"
		"indexes), and per side notifications, suppressed notifications,\n"
		"waits and wakeups per second and the last error, from the\n"
		"statistics area libvring keeps in the region.\n"
		"  --interval SEC  time between reports (default 1; e.g. 0.5, 250ms)\n"
		"  --count N       stop after N reports (default: until interrupted)\n"
		"  --once          one report, one interval after the start\n"
		"  --help          this text\n"
		"Exit status: 0 done or interrupted; 2 bad arguments; 3 the region\n"
		"cannot be read (also when it disappears while watched).\n");
}

int vc_cmd_watch(int argc, char **argv)
{
	enum { O_HELP = 1, O_INTERVAL, O_COUNT, O_ONCE };
	static const struct vc_opt opts[] = {
		{"--help", false, O_HELP}, {"--interval", true, O_INTERVAL},
		{"--count", true, O_COUNT}, {"--once", false, O_ONCE},
		{NULL, false, 0},
	};
	struct vc_args args = {"watch", argc, argv, 1, false};
	uint64_t interval = 1000000000ull, count = 0;
	const char *val, *region = NULL;
	struct sample *prev, *cur;
	struct vc_target t;
	unsigned long n;
	int id, rc;

	while ((id = vc_next_arg(&args, opts, &val)) != VC_ARG_END) {
		switch (id) {
		case VC_ARG_ERR:
			return VC_EXIT_USAGE;
		case O_HELP:
			usage(stdout);
			return VC_EXIT_OK;
		case O_INTERVAL:
			if (vc_parse_secs("watch", "--interval", val, &interval))
				return VC_EXIT_USAGE;
			if (interval < 10000000ull) {
				vc_err("watch", "--interval: at least 10 ms");
				return VC_EXIT_USAGE;
			}
			break;
		case O_COUNT:
			if (vc_parse_u64("watch", "--count", val, 1, UINT32_MAX, &count))
				return VC_EXIT_USAGE;
			break;
		case O_ONCE:
			count = 1;
			break;
		default:
			if (vc_take_region("watch", &region, val))
				return VC_EXIT_USAGE;
		}
	}
	if (vc_need_region("watch", region))
		return VC_EXIT_USAGE;
	rc = vc_target_parse("watch", region, &t);
	if (rc)
		return rc;
	prev = calloc(1, sizeof(*prev));
	cur = calloc(1, sizeof(*cur));
	if (!prev || !cur) {
		vc_err("watch", "out of memory");
		free(prev);
		free(cur);
		return VC_EXIT_REGION;
	}
	vc_catch_signals();
	rc = take(&t, prev);
	for (n = 1; rc == 0 && (count == 0 || n <= count); n++) {
		uint64_t end = now_ns() + interval;
		struct sample *tmp;

		while (!vc_interrupted) {
			uint64_t now = now_ns(), left;
			struct timespec ts;

			if (now >= end)
				break;
			left = end - now < 100000000ull ? end - now : 100000000ull;
			ts.tv_sec = 0;
			ts.tv_nsec = (long)left;
			nanosleep(&ts, NULL);
		}
		if (vc_interrupted)
			break;
		rc = take(&t, cur);
		if (rc)
			break;
		report(&t, prev, cur, interval, n);
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	free(prev);
	free(cur);
	return rc;
}
