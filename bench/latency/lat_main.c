/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vring_latency: options, then the (load, policy) matrix, --rounds times:
 * round by round (every cell once, then every cell again ...), so that a
 * disturbance of a few seconds spoils one round of a few cells, not every
 * measurement of one; within a round load by load (the policies compared
 * under one load run close together in time), the policies of a load in an
 * order that changes every round (round_order); each run between two
 * probes of the vCPUs' placement (lat_place.c). Then the runs made with the
 * vCPUs apart are marked, and the JSON file (each cell's median over its
 * rounds, those left out) and the tables written.
 */
#include "lat_proto.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POLICIES 32
#define MAX_LOADS 16
#define MAX_ROUNDS 100

struct args {
	struct vl_opts o;
	struct vl_policy pol[MAX_POLICIES];
	size_t npol;
	struct vl_load load[MAX_LOADS];
	size_t nload;
	const char *json;
	const char *cpus;
	uint32_t fault_round; /* > 0: --fault only in this round */
	uint32_t apart_retries; /* runs made with the vCPUs apart are repeated */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " VL_PROG " [options]\n"
		"Round-trip latency of a libvring channel between two processes over the\n"
		"shared-memory transport, for each notification/wait policy and load.\n"
		"\n"
		"  --policies LIST      comma-separated built-in policies (default: all:\n"
		"                       notify-always,flags,event-idx,coalesce,adaptive,polling)\n"
		"  --policy SPEC        add one policy, repeatable: NAME[:key=value,...]\n"
		"                       keys: spin_ns spin_min_ns spin_max_ns adapt\n"
		"                       coalesce_msgs coalesce_us batch label\n"
		"                       e.g. adaptive:spin_max_ns=20000,label=adaptive-20us\n"
		"  --loads LIST         comma-separated loads (default:\n"
		"                       single,paced-10k,paced-100k,saturation);\n"
		"                       paced-RATE[k|M], LOAD@SECONDS for a length\n"
		"  --seconds S          measured seconds of every run (default per load:\n"
		"                       single 3, paced-10k 8, paced-100k 4, saturation 3)\n"
		"  --messages N         and at most N round trips per run\n"
		"  --rounds N           measure the whole matrix N times, round after round\n"
		"                       (the policies in another order each round), and\n"
		"                       report each cell's median over its rounds, with the\n"
		"                       spread (default 1; scripts/bench.sh: 3; at most %d)\n"
		"  --warmup S           unrecorded seconds before each run (default 0.2)\n"
		"  --warmup-messages N  ... or N round trips, if that comes first\n"
		"  --qsize N            ring size of both queues (default 256)\n"
		"  --format F           split or packed (default split)\n"
		"  --size BYTES         request and reply size, %u..%u (default %u)\n"
		"  --cpus A,B           client and device CPUs (default: the first two\n"
		"                       this process may use; -1,-1: do not pin)\n"
		"  --calib-rounds N     rounds of each calibration (default 20000; 0: none)\n"
		"  --reply-timeout-ms N a reply later than this fails the run (default 20000:\n"
		"                       a busy shared machine can stall a process for seconds)\n"
		"  --rt PRIO            run both processes SCHED_FIFO at PRIO (1..99; needs\n"
		"                       CAP_SYS_NICE): no time-sharing with other work, but\n"
		"                       a spinning policy then takes its CPU from everything\n"
		"                       else (the kernel's RT throttling leaves it 5%%)\n"
		"  --json FILE          write the results there\n"
		"  --apart F            a run whose cross-core round trip, probed before\n"
		"                       and after it, is above F times the usual one (the\n"
		"                       10th percentile of all probes) ran with the vCPUs\n"
		"                       apart: its cell's medians leave it out (default\n"
		"                       %.1f; 0: keep every run)\n"
		"  --apart-retries N    measure a run made with the vCPUs apart again, up\n"
		"                       to N times (default %u)\n"
		"  --fault KIND         test the tool's checks: the device drops, corrupts\n"
		"                       or exits at request %u (drop, corrupt, exit), or\n"
		"                       the placement probes of a run's first attempt\n"
		"                       read %ux (apart), or the first probe of all\n"
		"                       reads %u times less (fast)\n"
		"  --fault-round N      ... only in round N (the other rounds pass)\n"
		"  -v, --verbose        more detail on the terminal\n"
		"\n"
		"A message is one request and its reply. Paced loads measure latency from\n"
		"each request's scheduled send time (no coordinated omission).\n"
		"Exit status: 0 all runs passed, 1 a run failed (wrong or missing reply),\n"
		"2 bad arguments.\n",
		MAX_ROUNDS, VL_MSG_MIN, VL_BUF_BYTES, VL_MSG_MIN, VL_APART_DEFAULT, VL_APART_RETRIES, VL_FAULT_AT,
		VL_FAULT_APART_X, VL_FAULT_FAST_DIV);
}

static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, VL_PROG ": %s: \"%s\" is not a number in %" PRIu64 "..%" PRIu64
				"\n", opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_secs(const char *opt, const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0 || v > 86400) {
		fprintf(stderr, VL_PROG ": %s: \"%s\" is not a number of seconds\n", opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* --apart: 0 (keep every run), or a factor from 1 to 1000. */
static int parse_factor(const char *opt, const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v == 0 || (v >= 1 && v <= 1000))) {
		fprintf(stderr, VL_PROG ": %s: \"%s\" is neither 0 nor a factor in 1..1000\n",
			opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Split a comma-separated @list and add each item with @add. */
static int each_item(const char *list, int (*add)(struct args *, const char *),
		     struct args *a)
{
	char buf[512], *tok, *save = NULL;

	if (strlen(list) >= sizeof(buf)) {
		fprintf(stderr, VL_PROG ": list too long: %s\n", list);
		return -1;
	}
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (add(a, tok))
			return -1;
	return 0;
}

static int add_policy(struct args *a, const char *spec)
{
	if (a->npol == MAX_POLICIES) {
		fprintf(stderr, VL_PROG ": at most %d policies\n", MAX_POLICIES);
		return -1;
	}
	if (vl_policy_parse(spec, &a->pol[a->npol]))
		return -1;
	a->npol++;
	return 0;
}

static int add_load(struct args *a, const char *spec)
{
	if (a->nload == MAX_LOADS) {
		fprintf(stderr, VL_PROG ": at most %d loads\n", MAX_LOADS);
		return -1;
	}
	if (vl_load_parse(spec, &a->load[a->nload]))
		return -1;
	a->nload++;
	return 0;
}

/* "--opt=value" or "--opt value". 1 matched (value in *val), 0 not this
 * option, -1 value missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, VL_PROG ": %s needs a value\n", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

static int parse_cpus(struct args *a)
{
	int x, y;

	if (sscanf(a->cpus, "%d,%d", &x, &y) != 2 || x < -1 || y < -1) {
		fprintf(stderr, VL_PROG ": --cpus: want A,B (e.g. 0,1), got %s\n", a->cpus);
		return -1;
	}
	a->o.cpu_client = x;
	a->o.cpu_device = y;
	return 0;
}

/* 0 go on, 1 done (help), -1 bad arguments. */
static int parse_args(int argc, char **argv, struct args *a)
{
	uint64_t v;
	int i;

	memset(a, 0, sizeof(*a));
	a->o.qsize = 256;
	a->o.format = VR_FORMAT_SPLIT;
	a->o.msg_bytes = VL_MSG_MIN;
	a->o.warmup_seconds = 0.2;
	a->o.reply_timeout_ns = 20000ull * 1000000ull;
	a->o.calib_rounds = 20000;
	a->o.rounds = 1;
	a->o.apart_factor = VL_APART_DEFAULT;
	a->apart_retries = VL_APART_RETRIES;
	for (i = 1; i < argc; i++) {
		const char *val = NULL;
		int m;

		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			a->o.verbose = true;
			continue;
		}
#define OPT(name) ((m = opt_value(argc, argv, &i, name, &val)) != 0)
		if (OPT("--policies")) {
			if (m < 0 || each_item(val, add_policy, a))
				return -1;
		} else if (OPT("--policy")) {
			if (m < 0 || add_policy(a, val))
				return -1;
		} else if (OPT("--loads")) {
			if (m < 0 || each_item(val, add_load, a))
				return -1;
		} else if (OPT("--load")) {
			if (m < 0 || add_load(a, val))
				return -1;
		} else if (OPT("--seconds")) {
			if (m < 0 || parse_secs("--seconds", val, &a->o.seconds))
				return -1;
		} else if (OPT("--messages")) {
			if (m < 0 || parse_u64("--messages", val, 1, UINT64_MAX, &a->o.max_messages))
				return -1;
		} else if (OPT("--rounds")) {
			if (m < 0 || parse_u64("--rounds", val, 1, MAX_ROUNDS, &v))
				return -1;
			a->o.rounds = (uint32_t)v;
		} else if (OPT("--warmup-messages")) {
			if (m < 0 || parse_u64("--warmup-messages", val, 0, UINT64_MAX,
					       &a->o.warmup_messages))
				return -1;
		} else if (OPT("--warmup")) {
			if (m < 0 || parse_secs("--warmup", val, &a->o.warmup_seconds))
				return -1;
		} else if (OPT("--qsize")) {
			if (m < 0 || parse_u64("--qsize", val, 2, 32768, &v))
				return -1;
			a->o.qsize = (uint32_t)v;
		} else if (OPT("--format")) {
			if (m < 0)
				return -1;
			if (strcmp(val, "split") == 0)
				a->o.format = VR_FORMAT_SPLIT;
			else if (strcmp(val, "packed") == 0)
				a->o.format = VR_FORMAT_PACKED;
			else {
				fprintf(stderr, VL_PROG ": --format: split or packed\n");
				return -1;
			}
		} else if (OPT("--size")) {
			if (m < 0 || parse_u64("--size", val, VL_MSG_MIN, VL_BUF_BYTES, &v))
				return -1;
			a->o.msg_bytes = (uint32_t)v;
		} else if (OPT("--cpus")) {
			if (m < 0)
				return -1;
			a->cpus = val;
		} else if (OPT("--calib-rounds")) {
			if (m < 0 || parse_u64("--calib-rounds", val, 0, 10000000, &v))
				return -1;
			a->o.calib_rounds = (uint32_t)v;
		} else if (OPT("--reply-timeout-ms")) {
			if (m < 0 || parse_u64("--reply-timeout-ms", val, 1, 600000, &v))
				return -1;
			a->o.reply_timeout_ns = v * 1000000ull;
		} else if (OPT("--fault-round")) {
			if (m < 0 || parse_u64("--fault-round", val, 1, MAX_ROUNDS, &v))
				return -1;
			a->fault_round = (uint32_t)v;
		} else if (OPT("--fault")) {
			if (m < 0)
				return -1;
			if (strcmp(val, "drop") == 0)
				a->o.fault = VL_FAULT_DROP;
			else if (strcmp(val, "corrupt") == 0)
				a->o.fault = VL_FAULT_CORRUPT;
			else if (strcmp(val, "exit") == 0)
				a->o.fault = VL_FAULT_EXIT;
			else if (strcmp(val, "apart") == 0)
				a->o.fault = VL_FAULT_APART;
			else if (strcmp(val, "fast") == 0)
				a->o.fault = VL_FAULT_FAST;
			else {
				fprintf(stderr, VL_PROG ": --fault: drop, corrupt, exit, apart or "
						"fast\n");
				return -1;
			}
		} else if (OPT("--apart")) {
			if (m < 0 || parse_factor("--apart", val, &a->o.apart_factor))
				return -1;
		} else if (OPT("--apart-retries")) {
			if (m < 0 || parse_u64("--apart-retries", val, 0, 10, &v))
				return -1;
			a->apart_retries = (uint32_t)v;
		} else if (OPT("--rt")) {
			if (m < 0 || parse_u64("--rt", val, 1, 99, &v))
				return -1;
			a->o.rt_priority = (int)v;
		} else if (OPT("--json")) {
			if (m < 0)
				return -1;
			a->json = val;
		} else {
			fprintf(stderr, VL_PROG ": unknown argument %s (try --help)\n", argv[i]);
			return -1;
		}
#undef OPT
	}
	if (a->npol == 0)
		for (i = 0; vl_default_policies[i]; i++)
			if (add_policy(a, vl_default_policies[i]))
				return -1;
	if (a->nload == 0)
		for (i = 0; vl_default_loads[i]; i++)
			if (add_load(a, vl_default_loads[i]))
				return -1;
	if (a->cpus) {
		if (parse_cpus(a))
			return -1;
	} else {
		a->o.cpu_client = vl_cpu_pick(0);
		a->o.cpu_device = vl_cpu_pick(1);
	}
	return 0;
}

/* Faked probes (--fault apart, --fault fast): the first attempt's probes
 * of a run read @apart_x times more; while @fast_once, the next probe reads
 * VL_FAULT_FAST_DIV times less (once). */
struct fake_probes {
	uint64_t apart_x;
	bool fast_once;
};

/* One cell's run of a round into @g: between two probes of the
 * placement, and again, up to --apart-retries times, while they say that
 * the vCPUs were apart (above --apart times the usual round trip of the
 * probes in @ref, which gets these). Returns 0, or non-zero when the run
 * failed (the caller says so). */
static int run_cell(const struct args *a, const struct vl_opts *ro, struct fake_probes *fk,
		    const struct vl_cell *c, struct vl_fig *g, struct vl_result *res,
		    struct vl_place_ref *ref)
{
	uint32_t attempt;

	for (attempt = 1;; attempt++) {
		uint64_t x = attempt == 1 ? fk->apart_x : 1, before, after, xc, usual;
		int rc;

		before = vl_place_probe(ro) * x;
		if (fk->fast_once) {
			before /= VL_FAULT_FAST_DIV;
			fk->fast_once = false;
		}
		rc = vl_run(ro, c->policy, c->load, res);
		after = vl_place_probe(ro) * x;
		if (rc != 0)
			return rc;
		vl_place_ref_add(ref, before);
		vl_place_ref_add(ref, after);
		usual = vl_place_ref_usual(ref);
		/* The larger: the run may have started or ended apart. */
		xc = before > after ? before : after;
		if (attempt > a->apart_retries ||
		    !vl_place_is_apart(a->o.apart_factor, usual, xc)) {
			vl_fig_from_result(res, g);
			g->xcore_before_ns = before;
			g->xcore_after_ns = after;
			g->xcore_ns = xc;
			g->attempts = attempt;
			return 0;
		}
		printf("round %u: %s / %s: the vCPUs were apart (cross-core round trip %llu ns, "
		       "usual %llu): measured again\n", g->round, c->policy->name,
		       c->load->name, (unsigned long long)xc, (unsigned long long)usual);
	}
}

/* The @k-th policy of @n to run in round @round (from 0): round 0 in the
 * given order; round r the cyclic shift by r of the zigzag 0, 1, n-1, 2,
 * n-2, ..., relabelled so that round 0 is 0, 1, 2, ... (a Williams
 * design). With an even @n, over @n rounds each policy runs right after
 * every other exactly once; with an odd one, at most twice; so no policy
 * always follows the same one (a run that leaves the machine warm, or the
 * host's vCPUs placed apart, hands it to a different policy each round). */
static size_t round_order(size_t n, uint32_t round, size_t k)
{
	size_t zz[MAX_POLICIES], label[MAX_POLICIES], lo = 1, hi = n - 1, j;

	for (j = 0; j < n; j++)
		zz[j] = j == 0 ? 0 : j % 2 ? lo++ : hi--;
	for (j = 0; j < n; j++)
		label[zz[j]] = j;
	return label[(zz[k] + round) % n];
}

int main(int argc, char **argv)
{
	struct args *a = calloc(1, sizeof(*a));
	struct vl_result *res;
	struct vl_cell *cells;
	struct vl_fig *figs;
	struct vl_machine m;
	struct vl_calib cal;
	struct vl_place place;
	struct vl_place_ref ref = {0};
	struct fake_probes fk;
	size_t ncell, failed = 0, i, j, k;
	uint32_t r, seq = 0;
	uint64_t t_start = 0;
	int rc;

	if (!a)
		return VL_EXIT_FAIL;
	rc = parse_args(argc, argv, a);
	if (rc)
		return rc > 0 ? VL_EXIT_OK : VL_EXIT_USAGE;
	ncell = a->npol * a->nload;
	res = malloc(sizeof(*res));
	cells = calloc(ncell, sizeof(*cells));
	figs = calloc(ncell * a->o.rounds, sizeof(*figs));
	if (!res || !cells || !figs) {
		fprintf(stderr, VL_PROG ": out of memory\n");
		return VL_EXIT_FAIL;
	}
	/* Cells load by load, in the given policy order (the JSON's order). */
	for (j = 0; j < a->nload; j++)
		for (i = 0; i < a->npol; i++) {
			struct vl_cell *c = &cells[j * a->npol + i];

			c->policy = &a->pol[i];
			c->load = &a->load[j];
			c->fig = &figs[(j * a->npol + i) * a->o.rounds];
		}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A hung-up socket must give an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	vl_timer_slack_min();
	vl_machine_probe(&m);
	if (a->o.rt_priority > 0) {
		int e = vl_realtime(a->o.rt_priority);

		if (e) {
			fprintf(stderr, VL_PROG ": --rt %d: %s\n", a->o.rt_priority, strerror(e));
			return VL_EXIT_FAIL;
		}
	}
	if (a->o.cpu_client >= 0 && vl_pin(a->o.cpu_client) != 0) {
		fprintf(stderr, VL_PROG ": cannot pin to CPU %d\n", a->o.cpu_client);
		a->o.cpu_client = -1;
	}
	printf("%s, %d CPUs; client on CPU %d, device on CPU %d; load average %.2f %.2f "
	       "%.2f; %s rings of %u, %u-byte messages%s; %u round%s\n",
	       m.cpu_model, m.cores, a->o.cpu_client, a->o.cpu_device, m.load_before[0],
	       m.load_before[1], m.load_before[2],
	       a->o.format == VR_FORMAT_PACKED ? "packed" : "split", a->o.qsize,
	       a->o.msg_bytes, a->o.rt_priority > 0 ? "; SCHED_FIFO" : "", a->o.rounds,
	       a->o.rounds == 1 ? "" : "s");
	memset(&cal, 0, sizeof(cal));
	if (a->o.calib_rounds > 0) {
		if (vl_calibrate(&a->o, &cal))
			failed++;
		printf("calibration (round trips between the two CPUs): eventfd p50 %.1f us "
		       "p99 %.1f us, %.1f us of CPU; spin p50 %.2f us p99 %.2f us; a 10 us "
		       "timer is late by p50 %.1f us p99 %.1f us; an eventfd write costs "
		       "%.2f us\n",
		       (double)cal.efd_p50 / 1e3, (double)cal.efd_p99 / 1e3,
		       (double)cal.efd_cpu_ns / 1e3,
		       (double)cal.spin_p50 / 1e3, (double)cal.spin_p99 / 1e3,
		       (double)cal.timer_p50 / 1e3, (double)cal.timer_p99 / 1e3,
		       (double)cal.efd_write_ns / 1e3);
	}
	vl_place_ref_add(&ref, cal.spin_p50); /* the calibration's spin: a probe too */
	fk.fast_once = a->o.fault == VL_FAULT_FAST; /* the whole run's first probe */
	for (r = 0; r < a->o.rounds; r++) {
		struct vl_opts ro = a->o;

		if (a->fault_round && a->fault_round != r + 1)
			ro.fault = VL_FAULT_NONE;
		fk.apart_x = ro.fault == VL_FAULT_APART ? VL_FAULT_APART_X : 1;
		if (ro.fault == VL_FAULT_APART || ro.fault == VL_FAULT_FAST)
			ro.fault = VL_FAULT_NONE; /* the device has nothing to do with them */
		for (j = 0; j < a->nload; j++) {
			for (k = 0; k < a->npol; k++) {
				size_t pi = round_order(a->npol, r, k);
				struct vl_cell *c = &cells[j * a->npol + pi];
				struct vl_fig *g = &c->fig[r];
				uint64_t now = vl_now_ns();

				if (seq == 0)
					t_start = now;
				g->round = r + 1;
				g->seq = ++seq;
				g->started_s = (double)(now - t_start) / 1e9;
				if (a->o.verbose)
					printf("-- round %u: %s / %s: %s\n", r + 1, c->policy->name,
					       c->load->name, c->policy->params);
				if (run_cell(a, &ro, &fk, c, g, res, &ref) != 0) {
					if (a->o.rounds > 1)
						fprintf(stderr, VL_PROG ": run %s / %s (round %u of "
								"%u) FAILED\n",
							c->policy->name, c->load->name, r + 1,
							a->o.rounds);
					else
						fprintf(stderr, VL_PROG ": run %s / %s FAILED\n",
							c->policy->name, c->load->name);
					failed++;
					continue;
				}
				vl_fig_line(c, g, a->o.rounds);
			}
		}
	}
	vl_place_mark(cells, ncell, a->o.rounds, a->o.apart_factor, vl_place_ref_usual(&ref),
		      &place);
	vl_place_ref_free(&ref);
	place.retries = a->apart_retries;
	if (place.probed && a->o.apart_factor > 0)
		printf("placement: %u of %u runs with the vCPUs apart (cross-core round trip "
		       "above %.1fx the usual, %.0f ns)%s; %u measured again\n",
		       place.apart, place.probed, a->o.apart_factor, (double)place.usual_ns,
		       place.apart ? ", left out of their cells' medians" : "", place.repeated);
	else if (place.probed)
		printf("placement: usual cross-core round trip %.0f ns; --apart 0: every run "
		       "kept\n", (double)place.usual_ns);
	if (a->o.rounds > 1)
		vl_summary(cells, ncell, a->o.rounds);
	vl_loadavg(m.load_after);
	if (a->json && vl_json_write(a->json, &a->o, &m, &cal, &place, cells, ncell) != 0)
		failed++;
	printf("load average after: %.2f %.2f %.2f%s%s\n", m.load_after[0], m.load_after[1],
	       m.load_after[2], a->json ? "; wrote " : "", a->json ? a->json : "");
	if (failed)
		fprintf(stderr, VL_PROG ": %zu failure(s)\n", failed);
	free(figs);
	free(cells);
	free(res);
	free(a);
	return failed ? VL_EXIT_FAIL : VL_EXIT_OK;
}
