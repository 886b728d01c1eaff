/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl check: every broken invariant of a region, one line each.
 *
 * Each finding comes from one private copy, so it is consistent with
 * itself. But a copy of rings that two peers are driving is taken over a
 * few microseconds, not at one instant: a correct but busy ring can look
 * broken in one copy (an index copied before, the entries it covers
 * after). So when the first copy shows anything, check copies again (up
 * to ten times, 10 ms apart) until two copies in a row have identical
 * rings, and reports only what every copy showed. A stalled or broken
 * ring does not move: it is confirmed at the second copy.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze.h"

#define RECHECKS 10

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vringctl check [--strict] [--quiet] REGION\n"
		"Read the region (one private copy) and report every broken\n"
		"invariant, one line each, with its queue and index: indexes out of\n"
		"range, chains that loop or run past the ring, next out of range,\n"
		"buffers outside the region or the pool, bad indirect tables, used\n"
		"ids and lengths that do not match what is in flight, inconsistent\n"
		"packed wrap counters, reserved suppression values, a side that set\n"
		"NEEDS_RESET, features the device did not offer, and the header rules\n"
		"of REGION.md section 3. States that are legal but may strand a\n"
		"message are warnings.\n"
		"  --strict    warnings count as errors for the exit status\n"
		"  --quiet     print nothing; the exit status says it all\n"
		"  --help      this text\n"
		"Exit status: 0 no error (warnings may be printed); 1 at least one\n"
		"error (with --strict: or warning); 2 bad arguments; 3 not a region\n"
		"check can read (missing, shorter than the header page, bad magic,\n"
		"unsupported version, I/O error).\n");
}

static bool same_finding(const struct vc_finding *a, const struct vc_finding *b)
{
	if (a->more || b->more) /* "N more": the same line if both have one */
		return a->more && b->more && a->sev == b->sev && a->queue == b->queue;
	return a->sev == b->sev && a->queue == b->queue && a->code == b->code &&
	       strcmp(a->text, b->text) == 0;
}

/* Keep in @f only what @g has too. */
static void intersect(struct vc_findings *f, const struct vc_findings *g)
{
	size_t i, j, n = 0;

	f->errors = f->warnings = 0;
	for (i = 0; i < f->n; i++) {
		struct vc_finding *e = &f->v[i];
		const struct vc_finding *match = NULL;

		for (j = 0; j < g->n && !match; j++)
			if (same_finding(e, &g->v[j]))
				match = &g->v[j];
		if (!match)
			continue;
		if (e->more && match->more < e->more) {
			e->more = match->more;
			snprintf(e->text, sizeof(e->text), "%zu more %s%s not listed",
				 e->more, e->sev == VC_SEV_ERROR ? "error" : "warning",
				 e->more == 1 ? "" : "s");
		}
		f->v[n++] = *e;
		if (e->sev == VC_SEV_ERROR)
			f->errors += e->more ? e->more : 1;
		else
			f->warnings += e->more ? e->more : 1;
	}
	f->n = n;
}

/* Did the rings change between two copies? */
static bool rings_equal(const struct vc_snap *a, const struct vc_snap *b)
{
	uint32_t i;

	if (a->parse_err || b->parse_err || a->len != b->len ||
	    memcmp(&a->info, &b->info, sizeof(a->info)) != 0)
		return false;
	for (i = 0; i < a->info.queue_count; i++) {
		const struct vr_region_queue *q = &a->info.queue[i];
		bool split = q->format == VR_FORMAT_SPLIT;
		size_t d = 16u * q->size;
		size_t dr = split ? vr_split_avail_bytes(q->size) : 4;
		size_t dv = split ? vr_split_used_bytes(q->size) : 4;

		if (memcmp(a->buf + q->desc_off, b->buf + q->desc_off, d) ||
		    memcmp(a->buf + q->driver_off, b->buf + q->driver_off, dr) ||
		    memcmp(a->buf + q->device_off, b->buf + q->device_off, dv))
			return false;
	}
	return true;
}

static void pause_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};

	nanosleep(&ts, NULL);
}

int vc_cmd_check(int argc, char **argv)
{
	enum { O_HELP = 1, O_STRICT, O_QUIET };
	static const struct vc_opt opts[] = {
		{"--help", false, O_HELP}, {"--strict", false, O_STRICT},
		{"--quiet", false, O_QUIET}, {NULL, false, 0},
	};
	struct vc_args args = {"check", argc, argv, 1, false};
	const char *val, *region = NULL;
	bool strict = false, quiet = false, stable = false;
	struct vc_findings f;
	struct vc_target t;
	struct vc_region r;
	struct vc_snap s;
	struct vc_analysis *a = NULL;
	int id, rc, round = 0;
	size_t k;

	while ((id = vc_next_arg(&args, opts, &val)) != VC_ARG_END) {
		switch (id) {
		case VC_ARG_ERR:
			return VC_EXIT_USAGE;
		case O_HELP:
			usage(stdout);
			return VC_EXIT_OK;
		case O_STRICT:
			strict = true;
			break;
		case O_QUIET:
			quiet = true;
			break;
		default:
			if (vc_take_region("check", &region, val))
				return VC_EXIT_USAGE;
		}
	}
	if (vc_need_region("check", region))
		return VC_EXIT_USAGE;
	rc = vc_open_snapshot("check", region, &t, &r, &s);
	if (rc)
		return rc;
	memset(&f, 0, sizeof(f));
	if (s.parse_err == VR_EMAGIC || s.parse_err == VR_EVERSION ||
	    (s.parse_err && s.len < VR_REGION_HEADER_BYTES)) {
		vc_err("check", "%s: %s (%s)", t.shown,
		       s.len < VR_REGION_HEADER_BYTES
			       ? "truncated: shorter than the 4096-byte header page"
			       : vc_region_error_text(s.parse_err),
		       vr_errname(s.parse_err));
		vc_snap_free(&s);
		vc_region_close(&r);
		return VC_EXIT_REGION;
	}
	if (s.parse_err) {
		/* A libvring region of our version whose header breaks the
		 * rules: say which, and stop there (nothing it places can be
		 * trusted). */
		vc_header_diagnose(&s, &f);
		stable = true;
	} else {
		a = calloc(1, sizeof(*a));
		if (!a || vc_analyze(&s, a)) {
			vc_err("check", "out of memory");
			rc = VC_EXIT_REGION;
			goto out;
		}
		f = a->f;
		memset(&a->f, 0, sizeof(a->f));
		stable = f.n == 0;
		for (round = 1; !stable && f.n > 0 && round <= RECHECKS; round++) {
			struct vc_snap s2;
			struct vc_analysis *a2 = calloc(1, sizeof(*a2));

			pause_ms(10);
			if (!a2 || vc_snapshot("check", &r, VC_SNAP_FULL, &s2) != 0) {
				free(a2);
				break;
			}
			if (rings_equal(&s, &s2)) {
				/* Nothing moved: what the first copy shows is so. */
				stable = true;
				free(a2);
				vc_snap_free(&s2);
				break;
			}
			if (s2.parse_err || vc_analyze(&s2, a2)) {
				vc_analysis_free(a2);
				free(a2);
				vc_snap_free(&s2);
				break;
			}
			intersect(&f, &a2->f);
			stable = rings_equal(&s, &s2);
			vc_analysis_free(a2);
			free(a2);
			vc_snap_free(&s);
			s = s2;
		}
	}
	if (!quiet) {
		for (k = 0; k < f.n; k++)
			vc_print_finding(stdout, "", &f.v[k]);
		if (!stable)
			printf("note: the rings changed between each of the %d copies "
			       "taken (peers running): only what every copy showed is "
			       "reported\n", round);
		if (f.n == 0)
			printf("%s: no problem found (%u queue%s checked)\n", t.shown,
			       s.info.queue_count, s.info.queue_count == 1 ? "" : "s");
		else if (s.parse_err)
			printf("%s: %zu error%s in the header (%s)\n", t.shown, f.errors,
			       f.errors == 1 ? "" : "s", vr_errname(s.parse_err));
		else
			printf("%s: %zu error%s, %zu warning%s (%u queue%s checked)\n",
			       t.shown, f.errors, f.errors == 1 ? "" : "s", f.warnings,
			       f.warnings == 1 ? "" : "s", s.info.queue_count,
			       s.info.queue_count == 1 ? "" : "s");
	}
	rc = f.errors || (strict && f.warnings) ? VC_EXIT_FAIL : VC_EXIT_OK;
out:
	vc_findings_free(&f);
	if (a) {
		vc_analysis_free(a);
		free(a);
	}
	vc_snap_free(&s);
	vc_region_close(&r);
	if (fflush(stdout) != 0 && rc == VC_EXIT_OK)
		rc = VC_EXIT_REGION;
	return rc;
}
