/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The results: one JSON document (machine, configuration, calibration, one
 * record per (policy, load)) for bench/latency/report_latency.py, and a
 * text table for the terminal.
 */
#include "lat_proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- Derived figures ---------------------------------------------------------------- */

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

static double throughput(const struct vl_result *r)
{
	return r->elapsed_ns ? (double)r->messages * 1e9 / (double)r->elapsed_ns : 0.0;
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

static void jhist(FILE *f, const char *name, const struct vl_hist *h)
{
	fprintf(f, "      \"%s\": {\"count\": %" PRIu64 ", \"p50\": %" PRIu64
		   ", \"p90\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"p999\": %" PRIu64
		   ", \"max\": %" PRIu64 "},\n",
		name, h->count, vl_hist_quantile(h, 0.5), vl_hist_quantile(h, 0.9),
		vl_hist_quantile(h, 0.99), vl_hist_quantile(h, 0.999), h->max);
}

static void jcounts(FILE *f, const char *name, const struct vl_counts *c)
{
	static const char *const names[VL_NSTAT] = {
		"published", "consumed", "notifies", "suppressed", "coalesced",
		"waits", "wakeups", "spurious_wakeups", "spins", "spin_hits"};
	unsigned i;

	fprintf(f, "      \"%s\": {", name);
	for (i = 0; i < VL_NSTAT; i++)
		fprintf(f, "%s\"%s\": [%" PRIu64 ", %" PRIu64 "]", i ? ", " : "", names[i],
			c->q[VR_CHAN_TX][i], c->q[VR_CHAN_RX][i]);
	fprintf(f, "},\n");
}

/* Percentiles for the distribution plot: 1 - 10^(-i/10), i = 0, 1, ...
 * while at least one sample lies above, then the maximum (1.0). */
static void jdistribution(FILE *f, const struct vl_hist *h)
{
	double tail = 1.0;
	unsigned i;

	fprintf(f, "      \"distribution\": [");
	for (i = 0; tail * (double)h->count >= 1.0 && i <= 100; i++) {
		double p = 1.0 - tail;

		fprintf(f, "%s[%.10g, %" PRIu64 "]", i ? ", " : "", p,
			vl_hist_quantile(h, p));
		tail /= 1.2589254117941673; /* 10^(1/10): ten points a decade */
	}
	fprintf(f, "%s[1, %" PRIu64 "]]\n", i ? ", " : "", h->max);
}

static void jrecord(FILE *f, const struct vl_result *r, bool last)
{
	const struct vl_hist *h = &r->lat;
	const struct vl_counts *cl = &r->client, *dv = &r->device;
	uint64_t pubs = publishes(r);

	fprintf(f, "    {\n      \"policy\": ");
	jstr(f, r->policy.name);
	fprintf(f, ",\n      \"policy_base\": ");
	jstr(f, r->policy.base);
	fprintf(f, ",\n      \"params\": ");
	jstr(f, r->policy.params);
	fprintf(f, ",\n      \"load\": ");
	jstr(f, r->load.name);
	fprintf(f, ",\n      \"load_kind\": \"%s\",\n",
		r->load.kind == VL_LOAD_SINGLE ? "single"
		: r->load.kind == VL_LOAD_PACED ? "paced" : "saturation");
	fprintf(f, "      \"offered_rate\": %" PRIu64 ",\n", r->load.rate);
	fprintf(f, "      \"latency_from\": \"%s\",\n",
		r->load.kind == VL_LOAD_PACED ? "scheduled send time" : "send call");
	fprintf(f, "      \"messages\": %" PRIu64 ",\n", r->messages);
	fprintf(f, "      \"seconds\": %.6f,\n", (double)r->elapsed_ns / 1e9);
	fprintf(f, "      \"throughput\": %.1f,\n", throughput(r));
	fprintf(f, "      \"p50\": %" PRIu64 ", \"p90\": %" PRIu64 ", \"p99\": %" PRIu64
		   ", \"p999\": %" PRIu64 ", \"p9999\": %" PRIu64 ", \"max\": %" PRIu64
		   ", \"min\": %" PRIu64 ", \"mean\": %.1f,\n",
		vl_hist_quantile(h, 0.5), vl_hist_quantile(h, 0.9), vl_hist_quantile(h, 0.99),
		vl_hist_quantile(h, 0.999), vl_hist_quantile(h, 0.9999), h->max,
		h->count ? h->min : 0, vl_hist_mean(h));
	fprintf(f, "      \"notifications_per_msg\": %.6f,\n",
		per_msg(r, (double)doorbells(r)));
	fprintf(f, "      \"notifications_per_publish\": %.6f,\n",
		pubs ? (double)doorbells(r) / (double)pubs : 0.0);
	fprintf(f, "      \"doorbells_per_msg\": {\"request\": %.6f, \"request_buffer_back\": "
		   "%.6f, \"reply_buffer\": %.6f, \"reply\": %.6f},\n",
		per_msg(r, (double)cl->q[VR_CHAN_TX][VR_RS_NOTIFIES]),
		per_msg(r, (double)dv->q[VR_CHAN_TX][VR_RS_NOTIFIES]),
		per_msg(r, (double)cl->q[VR_CHAN_RX][VR_RS_NOTIFIES]),
		per_msg(r, (double)dv->q[VR_CHAN_RX][VR_RS_NOTIFIES]));
	fprintf(f, "      \"cpu_per_msg\": %.1f,\n",
		per_msg(r, (double)(r->cpu_client_ns + r->cpu_device_ns)));
	fprintf(f, "      \"cpu_client_per_msg\": %.1f, \"cpu_device_per_msg\": %.1f,\n",
		per_msg(r, (double)r->cpu_client_ns), per_msg(r, (double)r->cpu_device_ns));
	fprintf(f, "      \"cpu_cores\": %.4f,\n",
		r->elapsed_ns ? (double)(r->cpu_client_ns + r->cpu_device_ns) /
					(double)r->elapsed_ns
			      : 0.0);
	fprintf(f, "      \"wakeups_per_msg\": %.6f, \"spurious_wakeups_per_msg\": %.6f,\n",
		per_msg(r, (double)(vl_counts_sum(cl, VR_RS_WAKEUPS) +
				    vl_counts_sum(dv, VR_RS_WAKEUPS))),
		per_msg(r, (double)(vl_counts_sum(cl, VR_RS_SPURIOUS) +
				    vl_counts_sum(dv, VR_RS_SPURIOUS))));
	fprintf(f, "      \"max_outstanding\": %u,\n", r->max_outstanding);
	fprintf(f, "      \"cpus\": {\"client\": %d, \"device\": %d},\n", r->client_cpu,
		r->device_cpu);
	jcounts(f, "client_counters", cl);
	jcounts(f, "device_counters", dv);
	if (r->load.kind == VL_LOAD_PACED) {
		jhist(f, "service", &r->service);
		jhist(f, "send_late", &r->late);
	}
	jdistribution(f, h);
	fprintf(f, "    }%s\n", last ? "" : ",");
}

int vl_json_write(const char *path, const struct vl_opts *o,
		  const struct vl_machine *m, const struct vl_calib *c,
		  const struct vl_result *r, size_t n, const char (*failed)[64],
		  size_t nfailed)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f, "{\n  \"tool\": \"" VL_PROG "\",\n  \"schema\": 1,\n");
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
		   "\"message\": \"one request and its reply (a round trip)\"},\n",
		o->qsize, o->format == VR_FORMAT_PACKED ? "packed" : "split", o->msg_bytes,
		VL_BUF_BYTES, o->warmup_seconds, o->warmup_messages, o->max_messages,
		o->seconds, (double)o->reply_timeout_ns / 1e6, o->cpu_client, o->cpu_device,
		o->rt_priority > 0 ? "SCHED_FIFO" : "SCHED_OTHER", o->rt_priority);
	fprintf(f, "  \"calibration\": {\"rounds\": %u, "
		   "\"eventfd_rtt_p50\": %" PRIu64 ", \"eventfd_rtt_p99\": %" PRIu64
		   ", \"eventfd_rtt_max\": %" PRIu64 ", \"eventfd_rtt_cpu_ns\": %" PRIu64 ", "
		   "\"spin_rtt_p50\": %" PRIu64 ", \"spin_rtt_p99\": %" PRIu64
		   ", \"spin_rtt_max\": %" PRIu64 ", "
		   "\"timer10us_late_p50\": %" PRIu64 ", \"timer10us_late_p99\": %" PRIu64
		   ", \"timer10us_late_max\": %" PRIu64 ", \"eventfd_write_ns\": %" PRIu64 "},\n",
		c->rounds, c->efd_p50, c->efd_p99, c->efd_max, c->efd_cpu_ns, c->spin_p50, c->spin_p99,
		c->spin_max, c->timer_p50, c->timer_p99, c->timer_max, c->efd_write_ns);
	fprintf(f, "  \"failed_runs\": [");
	for (i = 0; i < nfailed; i++) {
		fprintf(f, "%s", i ? ", " : "");
		jstr(f, failed[i]);
	}
	fprintf(f, "],\n  \"records\": [\n");
	for (i = 0; i < n; i++)
		jrecord(f, &r[i], i + 1 == n);
	fprintf(f, "  ]\n}\n");
	if (fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

/* ---- Text ------------------------------------------------------------------------------ */

static void line(const struct vl_result *r)
{
	const struct vl_hist *h = &r->lat;

	printf("%-14s %-11s %9" PRIu64 " %9.0f %8.1f %8.1f %8.1f %8.1f %8.1f %9.1f %7.3f %8.2f\n",
	       r->policy.name, r->load.name, r->messages, throughput(r),
	       (double)vl_hist_quantile(h, 0.5) / 1e3, (double)vl_hist_quantile(h, 0.9) / 1e3,
	       (double)vl_hist_quantile(h, 0.99) / 1e3, (double)vl_hist_quantile(h, 0.999) / 1e3,
	       (double)vl_hist_quantile(h, 0.9999) / 1e3, (double)h->max / 1e3,
	       per_msg(r, (double)doorbells(r)),
	       per_msg(r, (double)(r->cpu_client_ns + r->cpu_device_ns)) / 1e3);
}

static void header(void)
{
	printf("%-14s %-11s %9s %9s %8s %8s %8s %8s %8s %9s %7s %8s\n", "policy", "load",
	       "msgs", "msgs/s", "p50us", "p90us", "p99us", "p99.9us", "p99.99us", "max_us",
	       "dbl/msg", "cpu_us");
}

void vl_result_line(const struct vl_result *r)
{
	static bool headed;

	if (!headed) {
		header();
		headed = true;
	}
	line(r);
	fflush(stdout);
}
