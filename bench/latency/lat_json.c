/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The results: each run's figures, the median over the rounds of each
 * (policy, load) cell, one JSON document (machine, configuration,
 * calibration, one record per cell with its medians, spread and rounds) for
 * bench/latency/report_latency.py, and text tables for the terminal.
 */
#include "lat_proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- One run's figures ------------------------------------------------------------- */

static double per_msg(const struct vl_result *r, double v)
{
	return r->messages ? v / (double)r->messages : 0.0;
}

static uint64_t doorbells(const struct vl_result *r)
{
	return vl_counts_sum(&r->client, VR_RS_NOTIFIES) +
	       vl_counts_sum(&r->device, VR_RS_NOTIFIES);
}

static uint64_t publishes(const struct vl_result *r)
{
	return vl_counts_sum(&r->client, VR_RS_PUBLISHED) +
	       vl_counts_sum(&r->device, VR_RS_PUBLISHED);
}

/* count, p50, p90, p99, p99.9, max of @h into @v[0..5]. */
static void hist_figs(const struct vl_hist *h, double *v)
{
	v[0] = (double)h->count;
	v[1] = (double)vl_hist_quantile(h, 0.5);
	v[2] = (double)vl_hist_quantile(h, 0.9);
	v[3] = (double)vl_hist_quantile(h, 0.99);
	v[4] = (double)vl_hist_quantile(h, 0.999);
	v[5] = (double)h->max;
}

void vl_fig_from_result(const struct vl_result *r, struct vl_fig *f)
{
	const struct vl_hist *h = &r->lat;
	const struct vl_counts *cl = &r->client, *dv = &r->device;
	double *v = f->v;
	uint64_t pubs = publishes(r);
	double tail = 1.0;
	uint32_t i;

	f->ok = true;
	v[VL_F_MESSAGES] = (double)r->messages;
	v[VL_F_SECONDS] = (double)r->elapsed_ns / 1e9;
	v[VL_F_THROUGHPUT] =
		r->elapsed_ns ? (double)r->messages * 1e9 / (double)r->elapsed_ns : 0.0;
	v[VL_F_P50] = (double)vl_hist_quantile(h, 0.5);
	v[VL_F_P90] = (double)vl_hist_quantile(h, 0.9);
	v[VL_F_P99] = (double)vl_hist_quantile(h, 0.99);
	v[VL_F_P999] = (double)vl_hist_quantile(h, 0.999);
	v[VL_F_P9999] = (double)vl_hist_quantile(h, 0.9999);
	v[VL_F_MAX] = (double)h->max;
	v[VL_F_MIN] = h->count ? (double)h->min : 0.0;
	v[VL_F_MEAN] = vl_hist_mean(h);
	v[VL_F_NOTIF_MSG] = per_msg(r, (double)doorbells(r));
	v[VL_F_NOTIF_PUB] = pubs ? (double)doorbells(r) / (double)pubs : 0.0;
	v[VL_F_DB_REQ] = per_msg(r, (double)cl->q[VR_CHAN_TX][VR_RS_NOTIFIES]);
	v[VL_F_DB_REQ_BACK] = per_msg(r, (double)dv->q[VR_CHAN_TX][VR_RS_NOTIFIES]);
	v[VL_F_DB_REPLY_BUF] = per_msg(r, (double)cl->q[VR_CHAN_RX][VR_RS_NOTIFIES]);
	v[VL_F_DB_REPLY] = per_msg(r, (double)dv->q[VR_CHAN_RX][VR_RS_NOTIFIES]);
	v[VL_F_CPU_MSG] = per_msg(r, (double)(r->cpu_client_ns + r->cpu_device_ns));
	v[VL_F_CPU_CLIENT_MSG] = per_msg(r, (double)r->cpu_client_ns);
	v[VL_F_CPU_DEVICE_MSG] = per_msg(r, (double)r->cpu_device_ns);
	v[VL_F_CPU_CORES] = r->elapsed_ns ? (double)(r->cpu_client_ns + r->cpu_device_ns) /
						    (double)r->elapsed_ns
					  : 0.0;
	v[VL_F_WAKEUPS_MSG] = per_msg(r, (double)(vl_counts_sum(cl, VR_RS_WAKEUPS) +
						  vl_counts_sum(dv, VR_RS_WAKEUPS)));
	v[VL_F_SPURIOUS_MSG] = per_msg(r, (double)(vl_counts_sum(cl, VR_RS_SPURIOUS) +
						   vl_counts_sum(dv, VR_RS_SPURIOUS)));
	v[VL_F_CLIENT_SLEEPS] = per_msg(r, (double)cl->q[VR_CHAN_RX][VR_RS_WAITS]);
	v[VL_F_CLIENT_HITS] = per_msg(r, (double)cl->q[VR_CHAN_RX][VR_RS_SPIN_HITS]);
	v[VL_F_DEVICE_SLEEPS] = per_msg(r, (double)dv->q[VR_CHAN_TX][VR_RS_WAITS]);
	v[VL_F_DEVICE_HITS] = per_msg(r, (double)dv->q[VR_CHAN_TX][VR_RS_SPIN_HITS]);
	v[VL_F_MAX_OUTSTANDING] = (double)r->max_outstanding;
	hist_figs(&r->service, &v[VL_F_SVC_COUNT]);
	hist_figs(&r->late, &v[VL_F_LATE_COUNT]);
	f->client = *cl;
	f->device = *dv;
	f->client_cpu = r->client_cpu;
	f->device_cpu = r->device_cpu;
	/* 1 - 10^(-i/10): ten points a decade, while a sample lies above. */
	for (i = 0; i < VL_DIST_MAX && tail * (double)h->count >= 1.0; i++) {
		f->dist[i] = vl_hist_quantile(h, 1.0 - tail);
		tail /= 1.2589254117941673; /* 10^(1/10) */
	}
	f->ndist = i;
}

/* ---- Medians over rounds ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median, minimum and maximum of @v[0..n-1] (n >= 1; @v is sorted). */
struct stat3 {
	double med, lo, hi;
};

static struct stat3 stat_of(double *v, size_t n)
{
	struct stat3 s;

	qsort(v, n, sizeof(*v), cmp_double);
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
	s.lo = v[0];
	s.hi = v[n - 1];
	return s;
}

/* What a cell's record shows: the median over its rounds in use of every
 * figure, counter and distribution point (the points all of them have),
 * and the lowest and highest of them of every figure. The rounds in use are
 * the passed ones not run with the vCPUs apart (lat_place.c); every passed
 * one when all ran apart. */
struct agg {
	uint32_t nok;   /* rounds passed */
	uint32_t nuse;  /* ... in use */
	uint32_t napart; /* ... run apart */
	bool all_apart; /* every passed round ran apart (and is in use) */
	double v[VL_F_COUNT];
	struct stat3 s[VL_F_COUNT];
	double client[2][VL_NSTAT], device[2][VL_NSTAT];
	double dist[VL_DIST_MAX];
	uint32_t ndist;
	const struct vl_fig *first; /* the first round in use */
};

static bool in_use(const struct agg *a, const struct vl_fig *f)
{
	return f->ok && (a->all_apart || !f->apart);
}

/* 0, or -1 when out of memory. */
static int aggregate(const struct vl_cell *cell, uint32_t rounds, struct agg *a)
{
	double *tmp = calloc(rounds ? rounds : 1, sizeof(*tmp));
	uint32_t r, k, q, i;

	memset(a, 0, sizeof(*a));
	if (!tmp)
		return -1;
	a->ndist = VL_DIST_MAX;
	for (r = 0; r < rounds; r++) {
		a->nok += cell->fig[r].ok;
		a->napart += cell->fig[r].ok && cell->fig[r].apart;
	}
	if (a->nok == 0)
		goto out;
	a->all_apart = a->napart == a->nok;
	for (r = 0; r < rounds; r++) {
		const struct vl_fig *f = &cell->fig[r];

		if (!in_use(a, f))
			continue;
		if (!a->first)
			a->first = f;
		a->nuse++;
		if (f->ndist < a->ndist)
			a->ndist = f->ndist;
	}
#define MEDIAN_OF(expr, dst) do {                                             \
		for (r = 0, k = 0; r < rounds; r++)                           \
			if (in_use(a, &cell->fig[r])) {                       \
				const struct vl_fig *f_ = &cell->fig[r];      \
				tmp[k++] = (expr);                            \
			}                                                     \
		dst = stat_of(tmp, k);                                        \
	} while (0)
	for (i = 0; i < VL_F_COUNT; i++) {
		MEDIAN_OF(f_->v[i], a->s[i]);
		a->v[i] = a->s[i].med;
	}
	for (q = 0; q < 2; q++)
		for (i = 0; i < VL_NSTAT; i++) {
			struct stat3 s;

			MEDIAN_OF((double)f_->client.q[q][i], s);
			a->client[q][i] = s.med;
			MEDIAN_OF((double)f_->device.q[q][i], s);
			a->device[q][i] = s.med;
		}
	for (i = 0; i < a->ndist; i++) {
		struct stat3 s;

		MEDIAN_OF((double)f_->dist[i], s);
		a->dist[i] = s.med;
	}
#undef MEDIAN_OF
out:
	free(tmp);
	return 0;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* A histogram's figures from @v (count, p50, p90, p99, p99.9, max). */
static void jhist(FILE *f, const char *ind, const char *name, const double *v)
{
	fprintf(f, "%s\"%s\": {\"count\": %.0f, \"p50\": %.0f, \"p90\": %.0f, \"p99\": %.0f, "
		   "\"p999\": %.0f, \"max\": %.0f},\n",
		ind, name, v[0], v[1], v[2], v[3], v[4], v[5]);
}

static void jcounts(FILE *f, const char *ind, const char *name,
		    const double c[2][VL_NSTAT])
{
	static const char *const names[VL_NSTAT] = {
		"published", "consumed", "notifies", "suppressed", "coalesced",
		"waits", "wakeups", "spurious_wakeups", "spins", "spin_hits"};
	unsigned i;

	fprintf(f, "%s\"%s\": {", ind, name);
	for (i = 0; i < VL_NSTAT; i++)
		fprintf(f, "%s\"%s\": [%.0f, %.0f]", i ? ", " : "", names[i],
			c[VR_CHAN_TX][i], c[VR_CHAN_RX][i]);
	fprintf(f, "}");
}

static void counts_to_double(const struct vl_counts *c, double out[2][VL_NSTAT])
{
	unsigned q, i;

	for (q = 0; q < 2; q++)
		for (i = 0; i < VL_NSTAT; i++)
			out[q][i] = (double)c->q[q][i];
}

/* The figures of one run, or a cell's medians: the fields of schema 1
 * (plus waits_per_msg), each line indented by @ind, the last one without
 * its comma. */
static void jfigs(FILE *f, const char *ind, const double *v, const double cl[2][VL_NSTAT],
		  const double dv[2][VL_NSTAT], bool paced, int client_cpu, int device_cpu)
{
	fprintf(f, "%s\"messages\": %.0f,\n", ind, v[VL_F_MESSAGES]);
	fprintf(f, "%s\"seconds\": %.6f,\n", ind, v[VL_F_SECONDS]);
	fprintf(f, "%s\"throughput\": %.1f,\n", ind, v[VL_F_THROUGHPUT]);
	fprintf(f, "%s\"p50\": %.0f, \"p90\": %.0f, \"p99\": %.0f, \"p999\": %.0f, "
		   "\"p9999\": %.0f, \"max\": %.0f, \"min\": %.0f, \"mean\": %.1f,\n",
		ind, v[VL_F_P50], v[VL_F_P90], v[VL_F_P99], v[VL_F_P999], v[VL_F_P9999],
		v[VL_F_MAX], v[VL_F_MIN], v[VL_F_MEAN]);
	fprintf(f, "%s\"notifications_per_msg\": %.6f,\n", ind, v[VL_F_NOTIF_MSG]);
	fprintf(f, "%s\"notifications_per_publish\": %.6f,\n", ind, v[VL_F_NOTIF_PUB]);
	fprintf(f, "%s\"doorbells_per_msg\": {\"request\": %.6f, \"request_buffer_back\": "
		   "%.6f, \"reply_buffer\": %.6f, \"reply\": %.6f},\n",
		ind, v[VL_F_DB_REQ], v[VL_F_DB_REQ_BACK], v[VL_F_DB_REPLY_BUF], v[VL_F_DB_REPLY]);
	fprintf(f, "%s\"cpu_per_msg\": %.1f,\n", ind, v[VL_F_CPU_MSG]);
	fprintf(f, "%s\"cpu_client_per_msg\": %.1f, \"cpu_device_per_msg\": %.1f,\n", ind,
		v[VL_F_CPU_CLIENT_MSG], v[VL_F_CPU_DEVICE_MSG]);
	fprintf(f, "%s\"cpu_cores\": %.4f,\n", ind, v[VL_F_CPU_CORES]);
	fprintf(f, "%s\"wakeups_per_msg\": %.6f, \"spurious_wakeups_per_msg\": %.6f,\n", ind,
		v[VL_F_WAKEUPS_MSG], v[VL_F_SPURIOUS_MSG]);
	fprintf(f, "%s\"waits_per_msg\": {\"client_sleeps\": %.6f, \"client_spin_hits\": %.6f, "
		   "\"device_sleeps\": %.6f, \"device_spin_hits\": %.6f},\n",
		ind, v[VL_F_CLIENT_SLEEPS], v[VL_F_CLIENT_HITS], v[VL_F_DEVICE_SLEEPS],
		v[VL_F_DEVICE_HITS]);
	fprintf(f, "%s\"max_outstanding\": %.0f,\n", ind, v[VL_F_MAX_OUTSTANDING]);
	fprintf(f, "%s\"cpus\": {\"client\": %d, \"device\": %d},\n", ind, client_cpu,
		device_cpu);
	if (paced) {
		jhist(f, ind, "service", &v[VL_F_SVC_COUNT]);
		jhist(f, ind, "send_late", &v[VL_F_LATE_COUNT]);
	}
	jcounts(f, ind, "client_counters", cl);
	fprintf(f, ",\n");
	jcounts(f, ind, "device_counters", dv);
}

/* The figures whose spread over the rounds (lowest, highest) a record
 * shows, each with the precision jfigs gives it (so that the rounded median
 * lies within the rounded spread). */
static const struct {
	const char *name;
	enum vl_fig_id id;
	int decimals;
} spread_figs[] = {
	{"p50", VL_F_P50, 0}, {"p90", VL_F_P90, 0}, {"p99", VL_F_P99, 0},
	{"p999", VL_F_P999, 0}, {"max", VL_F_MAX, 0}, {"cpu_per_msg", VL_F_CPU_MSG, 1},
	{"throughput", VL_F_THROUGHPUT, 1}, {"notifications_per_msg", VL_F_NOTIF_MSG, 6},
	{"cpu_cores", VL_F_CPU_CORES, 4},
};

/* One cell: 0, or -1 when out of memory (nothing written). A cell no round
 * of which passed writes nothing and returns 0. */
static int jrecord(FILE *f, const struct vl_cell *cell, uint32_t rounds, bool *first_rec)
{
	const struct vl_load *l = cell->load;
	bool paced = l->kind == VL_LOAD_PACED;
	struct agg *a = malloc(sizeof(*a));
	double tail = 1.0;
	uint32_t r, i;
	bool first;

	if (!a)
		return -1;
	if (aggregate(cell, rounds, a)) {
		free(a);
		return -1;
	}
	if (a->nok == 0) {
		free(a);
		return 0;
	}
	fprintf(f, "%s    {\n      \"policy\": ", *first_rec ? "" : ",\n");
	*first_rec = false;
	jstr(f, cell->policy->name);
	fprintf(f, ",\n      \"policy_base\": ");
	jstr(f, cell->policy->base);
	fprintf(f, ",\n      \"params\": ");
	jstr(f, cell->policy->params);
	fprintf(f, ",\n      \"load\": ");
	jstr(f, l->name);
	fprintf(f, ",\n      \"load_kind\": \"%s\",\n",
		l->kind == VL_LOAD_SINGLE ? "single" : paced ? "paced" : "saturation");
	fprintf(f, "      \"offered_rate\": %" PRIu64 ",\n", l->rate);
	fprintf(f, "      \"latency_from\": \"%s\",\n",
		paced ? "scheduled send time" : "send call");
	fprintf(f, "      \"aggregate\": \"median of %u round%s%s\",\n", a->nuse,
		a->nuse == 1 ? "" : "s",
		a->all_apart ? ", every one run with the vCPUs apart"
		: a->napart ? ", those with the vCPUs apart left out" : "");
	fprintf(f, "      \"rounds_planned\": %u, \"rounds_passed\": %u, \"rounds_failed\": [",
		rounds, a->nok);
	for (r = 0, first = true; r < rounds; r++)
		if (!cell->fig[r].ok) {
			fprintf(f, "%s%u", first ? "" : ", ", r + 1);
			first = false;
		}
	fprintf(f, "],\n      \"rounds_used\": %u, \"rounds_apart\": [", a->nuse);
	for (r = 0, first = true; r < rounds; r++)
		if (cell->fig[r].ok && cell->fig[r].apart) {
			fprintf(f, "%s%u", first ? "" : ", ", r + 1);
			first = false;
		}
	fprintf(f, "],\n      \"placement\": \"%s\",\n",
		a->all_apart ? "apart" : a->first->xcore_ns ? "usual" : "not probed");
	jfigs(f, "      ", a->v, (const double(*)[VL_NSTAT])a->client,
	      (const double(*)[VL_NSTAT])a->device, paced, a->first->client_cpu,
	      a->first->device_cpu);
	fprintf(f, ",\n      \"spread\": {");
	for (i = 0; i < sizeof(spread_figs) / sizeof(spread_figs[0]); i++)
		fprintf(f, "%s\"%s\": [%.*f, %.*f]", i ? ", " : "", spread_figs[i].name,
			spread_figs[i].decimals, a->s[spread_figs[i].id].lo,
			spread_figs[i].decimals, a->s[spread_figs[i].id].hi);
	fprintf(f, "},\n      \"rounds\": [");
	for (r = 0, first = true; r < rounds; r++) {
		const struct vl_fig *g = &cell->fig[r];
		double cl[2][VL_NSTAT], dv[2][VL_NSTAT];

		if (!g->ok)
			continue;
		counts_to_double(&g->client, cl);
		counts_to_double(&g->device, dv);
		fprintf(f, "%s\n        {\"round\": %u, \"seq\": %u, \"started_s\": %.3f,\n"
			   "         \"xcore_rt_ns\": %" PRIu64 ", \"xcore_rt_before_ns\": %" PRIu64
			   ", \"xcore_rt_after_ns\": %" PRIu64 ", \"apart\": %s, \"attempts\": %u,\n",
			first ? "" : ",", g->round, g->seq, g->started_s, g->xcore_ns,
			g->xcore_before_ns, g->xcore_after_ns, g->apart ? "true" : "false",
			g->attempts);
		jfigs(f, "         ", g->v, (const double(*)[VL_NSTAT])cl,
		      (const double(*)[VL_NSTAT])dv, paced, g->client_cpu, g->device_cpu);
		fprintf(f, "}");
		first = false;
	}
	/* Percentiles for the distribution plot, 1 - 10^(-i/10) (as
	 * vl_fig_from_result took them), each the median over the rounds;
	 * then the maximum (the median of the maxima). */
	fprintf(f, "],\n      \"distribution\": [");
	for (i = 0; i < a->ndist; i++) {
		fprintf(f, "%s[%.10g, %.0f]", i ? ", " : "", 1.0 - tail, a->dist[i]);
		tail /= 1.2589254117941673; /* 10^(1/10) */
	}
	fprintf(f, "%s[1, %.0f]]\n    }", i ? ", " : "", a->v[VL_F_MAX]);
	free(a);
	return 0;
}

int vl_json_write(const char *path, const struct vl_opts *o,
		  const struct vl_machine *m, const struct vl_calib *c,
		  const struct vl_place *pl, const struct vl_cell *cells, size_t n)
{
	FILE *f = fopen(path, "w");
	bool first;
	size_t i;
	uint32_t r;
	int rc = 0;

	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f, "{\n  \"tool\": \"" VL_PROG "\",\n  \"schema\": 1,\n");
	fprintf(f, "  \"rounds\": %u,\n", o->rounds);
	fprintf(f, "  \"machine\": {\n    \"cpu_model\": ");
	jstr(f, m->cpu_model);
	fprintf(f, ",\n    \"cores\": %d,\n    \"cpus_allowed\": %d,\n", m->cores,
		m->cpus_allowed);
	fprintf(f, "    \"load_before\": [%.2f, %.2f, %.2f],\n", m->load_before[0],
		m->load_before[1], m->load_before[2]);
	fprintf(f, "    \"load_after\": [%.2f, %.2f, %.2f],\n", m->load_after[0],
		m->load_after[1], m->load_after[2]);
	fprintf(f, "    \"date\": ");
	jstr(f, m->date);
	fprintf(f, ",\n    \"kernel\": ");
	jstr(f, m->kernel);
	fprintf(f, ",\n    \"cpuidle\": ");
	jstr(f, m->cpuidle);
	fprintf(f, ",\n    \"hypervisor\": ");
	jstr(f, m->hypervisor);
	fprintf(f, "\n  },\n");
	fprintf(f, "  \"config\": {\"qsize\": %u, \"format\": \"%s\", \"msg_bytes\": %u, "
		   "\"buf_bytes\": %u, \"warmup_seconds\": %.3f, \"warmup_messages\": %" PRIu64
		   ", \"max_messages\": %" PRIu64 ", \"seconds_override\": %.3f, "
		   "\"reply_timeout_ms\": %.0f, \"cpu_client\": %d, \"cpu_device\": %d, "
		   "\"sched\": \"%s\", \"rt_priority\": %d, "
		   "\"clock\": \"CLOCK_MONOTONIC\", \"timer_slack_ns\": 1, "
		   "\"message\": \"one request and its reply (a round trip)\", "
		   "\"rounds\": %u, \"order\": \"round by round; in a round load by load; in a "
		   "load the policies in a balanced order that changes every round\"},\n",
		o->qsize, o->format == VR_FORMAT_PACKED ? "packed" : "split", o->msg_bytes,
		VL_BUF_BYTES, o->warmup_seconds, o->warmup_messages, o->max_messages,
		o->seconds, (double)o->reply_timeout_ns / 1e6, o->cpu_client, o->cpu_device,
		o->rt_priority > 0 ? "SCHED_FIFO" : "SCHED_OTHER", o->rt_priority, o->rounds);
	fprintf(f, "  \"calibration\": {\"rounds\": %u, "
		   "\"eventfd_rtt_p50\": %" PRIu64 ", \"eventfd_rtt_p99\": %" PRIu64
		   ", \"eventfd_rtt_max\": %" PRIu64 ", \"eventfd_rtt_cpu_ns\": %" PRIu64 ", "
		   "\"spin_rtt_p50\": %" PRIu64 ", \"spin_rtt_p99\": %" PRIu64
		   ", \"spin_rtt_max\": %" PRIu64 ", "
		   "\"timer10us_late_p50\": %" PRIu64 ", \"timer10us_late_p99\": %" PRIu64
		   ", \"timer10us_late_max\": %" PRIu64 ", \"eventfd_write_ns\": %" PRIu64 "},\n",
		c->rounds, c->efd_p50, c->efd_p99, c->efd_max, c->efd_cpu_ns, c->spin_p50, c->spin_p99,
		c->spin_max, c->timer_p50, c->timer_p99, c->timer_max, c->efd_write_ns);
	fprintf(f, "  \"placement\": {\"probe\": \"median of %u spin round trips between "
		   "the two CPUs, before and after each run; a run's probe is the larger; "
		   "usual_ns: the 10th percentile of all probes\", "
		   "\"apart_factor\": %.3g, \"apart_retries\": %u, \"usual_ns\": %" PRIu64
		   ", \"runs_probed\": %u, \"runs_apart\": %u, \"runs_repeated\": %u},\n",
		VL_PLACE_TRIPS, o->apart_factor, pl->retries, pl->usual_ns, pl->probed,
		pl->apart, pl->repeated);
	/* failed_runs: every cell with a failed round ("policy/load", as with
	 * one round); failed_rounds: each failed round. */
	fprintf(f, "  \"failed_runs\": [");
	for (i = 0, first = true; i < n; i++) {
		char name[sizeof(cells[i].policy->name) + sizeof(cells[i].load->name) + 2];

		for (r = 0; r < o->rounds && cells[i].fig[r].ok; r++)
			;
		if (r == o->rounds)
			continue;
		snprintf(name, sizeof(name), "%s/%s", cells[i].policy->name, cells[i].load->name);
		fprintf(f, "%s", first ? "" : ", ");
		jstr(f, name);
		first = false;
	}
	fprintf(f, "],\n  \"failed_rounds\": [");
	for (i = 0, first = true; i < n; i++)
		for (r = 0; r < o->rounds; r++) {
			if (cells[i].fig[r].ok)
				continue;
			fprintf(f, "%s{\"policy\": ", first ? "" : ", ");
			jstr(f, cells[i].policy->name);
			fprintf(f, ", \"load\": ");
			jstr(f, cells[i].load->name);
			fprintf(f, ", \"round\": %u}", r + 1);
			first = false;
		}
	fprintf(f, "],\n  \"records\": [\n");
	for (i = 0, first = true; i < n && rc == 0; i++)
		rc = jrecord(f, &cells[i], o->rounds, &first);
	fprintf(f, "\n  ]\n}\n");
	if (rc)
		fprintf(stderr, VL_PROG ": out of memory writing %s\n", path);
	if (fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return rc;
}

/* ---- Text ------------------------------------------------------------------------------ */

static void header(uint32_t rounds)
{
	if (rounds > 1)
		printf("%-7s ", "round");
	printf("%-14s %-11s %9s %9s %8s %8s %8s %8s %8s %9s %7s %8s %7s\n", "policy", "load",
	       "msgs", "msgs/s", "p50us", "p90us", "p99us", "p99.9us", "p99.99us", "max_us",
	       "dbl/msg", "cpu_us", "xc_ns");
}

void vl_fig_line(const struct vl_cell *cell, const struct vl_fig *g, uint32_t rounds)
{
	static bool headed;
	const double *v = g->v;

	if (!headed) {
		header(rounds);
		headed = true;
	}
	if (rounds > 1) {
		char rl[24];

		snprintf(rl, sizeof(rl), "%u/%u", g->round, rounds);
		printf("%-7s ", rl);
	}
	printf("%-14s %-11s %9.0f %9.0f %8.1f %8.1f %8.1f %8.1f %8.1f %9.1f %7.3f %8.2f %7.0f\n",
	       cell->policy->name, cell->load->name, v[VL_F_MESSAGES], v[VL_F_THROUGHPUT],
	       v[VL_F_P50] / 1e3, v[VL_F_P90] / 1e3, v[VL_F_P99] / 1e3, v[VL_F_P999] / 1e3,
	       v[VL_F_P9999] / 1e3, v[VL_F_MAX] / 1e3, v[VL_F_NOTIF_MSG],
	       v[VL_F_CPU_MSG] / 1e3, (double)g->xcore_ns);
	fflush(stdout);
}

void vl_summary(const struct vl_cell *cells, size_t n, uint32_t rounds)
{
	struct agg *a = malloc(sizeof(*a));
	size_t i;

	if (!a)
		return;
	printf("median of %u rounds (lowest..highest; rounds: in use/planned, and how many "
	       "ran with the vCPUs apart):\n", rounds);
	printf("%-14s %-11s %-11s %9s %8s %8s %-17s %8s %s\n", "policy", "load", "rounds",
	       "msgs/s", "p50us", "p99us", "(p99 spread)", "cpu_us", "(cpu spread)");
	for (i = 0; i < n; i++) {
		char sp[48], sc[48], rn[40];

		if (aggregate(&cells[i], rounds, a) || a->nok == 0)
			continue;
		snprintf(sp, sizeof(sp), "(%.1f..%.1f)", a->s[VL_F_P99].lo / 1e3,
			 a->s[VL_F_P99].hi / 1e3);
		snprintf(sc, sizeof(sc), "(%.2f..%.2f)", a->s[VL_F_CPU_MSG].lo / 1e3,
			 a->s[VL_F_CPU_MSG].hi / 1e3);
		if (a->napart)
			snprintf(rn, sizeof(rn), "%u/%u %u apart", a->nuse, rounds, a->napart);
		else
			snprintf(rn, sizeof(rn), "%u/%u", a->nuse, rounds);
		printf("%-14s %-11s %-11s %9.0f %8.1f %8.1f %-17s %8.2f %s\n",
		       cells[i].policy->name, cells[i].load->name, rn,
		       a->v[VL_F_THROUGHPUT], a->v[VL_F_P50] / 1e3, a->v[VL_F_P99] / 1e3, sp,
		       a->v[VL_F_CPU_MSG] / 1e3, sc);
	}
	free(a);
	fflush(stdout);
}
