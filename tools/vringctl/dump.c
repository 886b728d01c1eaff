/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl dump: the command, and the text rendering. Everything printed
 * comes from one private copy of the region (vc_snapshot), taken once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"

const char *vc_channel_role(const struct vc_analysis *a, uint32_t q)
{
	if (a->nq < 2 || a->q[0].format != a->q[1].format || q > 1)
		return NULL;
	return q == 0 ? "channel TX: driver -> device" : "channel RX: device -> driver";
}

static void print_desc(FILE *out, const struct vc_queue_view *q,
		       const struct vc_desc_view *d)
{
	char flags[96];
	bool packed = q->format == VR_FORMAT_PACKED;

	vc_desc_flag_names(d->flags, packed && !d->indirect, flags, sizeof(flags));
	fprintf(out, "    %s %u: addr 0x%llx len %u flags %s",
		d->indirect ? "indirect" : "desc", d->index,
		(unsigned long long)d->addr, d->len, flags);
	if (packed && !d->indirect)
		fprintf(out, " id %u", d->next);
	else if (!packed && (d->flags & VR_DESC_F_NEXT))
		fprintf(out, " next %u", d->next);
	fputc('\n', out);
}

static void print_chain(FILE *out, const struct vc_queue_view *q,
			const struct vc_chain_view *ch)
{
	size_t i;

	if (q->format == VR_FORMAT_SPLIT)
		fprintf(out, "  chain avail[%u] head %u:", ch->pos, ch->head);
	else
		fprintf(out, "  chain at descriptor %u, id %u:", ch->pos, ch->id);
	fprintf(out, " %u ring descriptor%s, %u segment%s, %llu readable + %llu "
		     "writable bytes\n", ch->ndesc, ch->ndesc == 1 ? "" : "s",
		ch->nsegs, ch->nsegs == 1 ? "" : "s",
		(unsigned long long)ch->out_bytes, (unsigned long long)ch->in_bytes);
	for (i = 0; i < ch->count; i++)
		print_desc(out, q, &q->descs[ch->first + i]);
	if (ch->hidden)
		fprintf(out, "    ... %u more descriptor%s not shown\n", ch->hidden,
			ch->hidden == 1 ? "" : "s");
	if (ch->err)
		fprintf(out, "    problem: %s (%s)\n", ch->why, vr_errname(ch->err));
	else if (ch->why[0])
		fprintf(out, "    note: %s\n", ch->why);
}

/* Every chain in flight the view kept, then how many it left out. */
static void print_chains(FILE *out, const struct vc_queue_view *q)
{
	size_t i;

	for (i = 0; i < q->nchains; i++)
		print_chain(out, q, &q->chains[i]);
	if (q->chains_total > q->nchains)
		fprintf(out, "  ... %zu more chains in flight not shown\n",
			q->chains_total - q->nchains);
}

static void print_stats(FILE *out, const struct vc_queue_view *q)
{
	static const char *const side[2] = {"driver", "device"};
	unsigned s, k;

	if (!q->has_stats) {
		fprintf(out, "  statistics        none (the region has no statistics area)\n");
		return;
	}
	for (s = 0; s < 2; s++) {
		fprintf(out, "  %-18s", s == 0 ? "statistics" : "");
		fprintf(out, "%s:", side[s]);
		for (k = 0; k < VR_RS_ERROR; k++)
			fprintf(out, " %s %u", vc_stat_name(k), q->stat[s][k]);
		if (q->stat[s][VR_RS_ERROR])
			fprintf(out, " error %s", vr_errname((int)(int32_t)q->stat[s][VR_RS_ERROR]));
		else
			fprintf(out, " error 0");
		fputc('\n', out);
	}
}

static void print_split(FILE *out, const struct vc_analysis *a,
			const struct vc_queue_view *q)
{
	bool event_idx = (a->features & VR_FEATURE(VR_F_EVENT_IDX)) != 0;
	size_t i;

	fprintf(out, "  areas             desc 0x%llx, avail 0x%llx, used 0x%llx\n",
		(unsigned long long)q->desc_off, (unsigned long long)q->driver_off,
		(unsigned long long)q->device_off);
	fprintf(out, "  avail             idx %u, flags 0x%x%s, used_event %u\n",
		q->avail_idx, q->avail_flags,
		q->avail_flags & VR_AVAIL_F_NO_INTERRUPT ? " (NO_INTERRUPT)" : "",
		q->used_event);
	fprintf(out, "  used              idx %u, flags 0x%x%s, avail_event %u\n",
		q->used_idx, q->used_flags,
		q->used_flags & VR_USED_F_NO_NOTIFY ? " (NO_NOTIFY)" : "",
		q->avail_event);
	if (!q->pending_ok) {
		fprintf(out, "  in flight         %u chains (avail idx - used idx): more "
			     "than the queue size\n", q->pending);
	} else {
		fprintf(out, "  in flight         %u chain%s made available and not yet "
			     "used (avail idx - used idx)\n", q->pending,
			q->pending == 1 ? "" : "s");
	}
	/* What the peers' private indexes were, as far as shared memory
	 * tells. */
	if (event_idx) {
		uint32_t taken = (uint16_t)(q->avail_event - q->used_idx);

		fprintf(out, "  device seen       avail_event %u: how far the device had "
			     "taken (or one less) when it last set it\n", q->avail_event);
		fprintf(out, "  driver seen       used_event %u: how far the driver had "
			     "collected (or one less) when it last set it\n",
			q->used_event);
		if (q->pending_ok && q->pending > 0 && taken <= q->pending)
			fprintf(out, "  inferred          at least %u taken by the device and "
				     "not yet used, at most %u not yet taken\n", taken,
				q->pending - taken);
	} else {
		fprintf(out, "  peers seen        not in shared memory without "
			     "EVENT_IDX\n");
	}
	if (q->pending_ok)
		fprintf(out, "  completion        %s\n",
			a->features & VR_FEATURE(VR_F_IN_ORDER)
				? "in order (IN_ORDER negotiated)"
			: q->in_order_evidence
				? "in order (the newest used entries match the "
				  "available ones)"
				: "out of order: chains in flight are a best guess");
	print_chains(out, q);
	if (q->nused)
		fprintf(out, "  used entries      the newest %zu (the driver may have "
			     "collected them):\n", q->nused);
	for (i = 0; i < q->nused; i++)
		fprintf(out, "    used[%u] id %u len %u\n", q->used[i].pos,
			q->used[i].id, q->used[i].len);
}

static void print_event(FILE *out, const char *who, const char *what,
			uint16_t flags, uint16_t off_wrap)
{
	fprintf(out, "  %-18sflags %s", who, vc_event_flags_name(flags));
	if (flags > VR_EVENT_F_DESC)
		fprintf(out, " (%u)", flags);
	fprintf(out, ", off_wrap 0x%04x (offset %u, wrap %u)", off_wrap,
		off_wrap & 0x7fffu, (off_wrap >> VR_EVENT_WRAP_SHIFT) & 1u);
	if (flags == VR_EVENT_F_DESC)
		fprintf(out, ": %s descriptor %u, wrap %u", what, off_wrap & 0x7fffu,
			(off_wrap >> VR_EVENT_WRAP_SHIFT) & 1u);
	else if (flags == VR_EVENT_F_ENABLE)
		fprintf(out, ": %s any descriptor", what);
	else if (flags == VR_EVENT_F_DISABLE)
		fprintf(out, ": no notifications");
	fputc('\n', out);
}

static void print_packed(FILE *out, const struct vc_queue_view *q)
{
	size_t i;

	fprintf(out, "  areas             desc 0x%llx, driver event 0x%llx, device "
		     "event 0x%llx\n", (unsigned long long)q->desc_off,
		(unsigned long long)q->driver_off, (unsigned long long)q->device_off);
	print_event(out, "driver event", "notify the driver when the device uses",
		    q->drv_evt_flags, q->drv_evt_off_wrap);
	print_event(out, "device event", "kick the device when the driver makes "
					 "available", q->dev_evt_flags, q->dev_evt_off_wrap);
	fprintf(out, "  descriptors       %u available, %u used, %u never written (by "
		     "their flags)\n", q->avail_state, q->used_state, q->blank_state);
	if (!q->pos_ok) {
		fprintf(out, "  driver position   unknown: the avail bits are inconsistent\n");
		return;
	}
	fprintf(out, "  driver position   next descriptor %u, wrap counter %u "
		     "(inferred from the avail bits)\n", q->drv_pos, q->drv_wrap);
	if (q->held >= 0)
		fprintf(out, "  held head         %d: a batch from there is written but "
			     "not yet published\n", q->held);
	if (q->last_used >= 0)
		fprintf(out, "  newest used       descriptor %d\n", q->last_used);
	else
		fprintf(out, "  newest used       none in the last lap\n");
	fprintf(out, "  in flight         %zu chain%s, %u descriptor%s after the newest "
		     "used one (inferred)\n", q->chains_total, q->chains_total == 1 ? "" : "s",
		q->pending_descs, q->pending_descs == 1 ? "" : "s");
	print_chains(out, q);
	if (q->nused)
		fprintf(out, "  used descriptors  the newest %zu:\n", q->nused);
	for (i = 0; i < q->nused; i++) {
		char flags[96];

		vc_desc_flag_names(q->used[i].flags, true, flags, sizeof(flags));
		fprintf(out, "    desc %u: id %u len %u flags %s\n", q->used[i].pos,
			q->used[i].id, q->used[i].len, flags);
	}
}

void vc_dump_text(FILE *out, const struct vc_region *r, const struct vc_analysis *a,
		  int only_q)
{
	const struct vc_snap *s = a->snap;
	const struct vr_region_info *in = &s->info;
	char names[256];
	uint32_t i;
	size_t k, shown_e = 0, shown_w = 0;

	fprintf(out, "region %s: layout version %u, %u queue%s, %llu bytes (file %llu "
		     "bytes)\n", r->t.shown, in->version, in->queue_count,
		in->queue_count == 1 ? "" : "s", (unsigned long long)in->region_bytes,
		(unsigned long long)s->file_bytes);
	fprintf(out, "  generation        %u\n", in->generation);
	vc_feature_names(a->device_features, names, sizeof(names));
	fprintf(out, "  features          device 0x%016llx %s\n",
		(unsigned long long)a->device_features, names);
	vc_feature_names(a->driver_features, names, sizeof(names));
	fprintf(out, "                    driver 0x%016llx %s (%s)\n",
		(unsigned long long)a->driver_features, names,
		a->negotiated ? "negotiated: FEATURES_OK"
			      : "not in force: the driver status lacks FEATURES_OK");
	vc_status_names(a->driver_status, names, sizeof(names));
	fprintf(out, "  driver            status 0x%x %s, heartbeat %u\n",
		a->driver_status, names, a->driver_heartbeat);
	vc_status_names(a->device_status, names, sizeof(names));
	fprintf(out, "  device            status 0x%x %s, heartbeat %u\n",
		a->device_status, names, a->device_heartbeat);
	fprintf(out, "  pool              0x%llx, %llu bytes: %u buffers of %u bytes\n",
		(unsigned long long)in->pool_off, (unsigned long long)in->pool_bytes,
		in->buf_count, in->buf_bytes);
	if (in->stats_off)
		fprintf(out, "  statistics        0x%llx, %llu bytes\n",
			(unsigned long long)in->stats_off,
			(unsigned long long)VR_REGION_STATS_BYTES(in->queue_count));
	else
		fprintf(out, "  statistics        none\n");
	for (i = 0; i < a->nq; i++) {
		const struct vc_queue_view *q = &a->q[i];
		const char *role = vc_channel_role(a, i);

		if (only_q >= 0 && (uint32_t)only_q != i)
			continue;
		fprintf(out, "queue %u: %s, size %u%s%s%s\n", i,
			q->format == VR_FORMAT_SPLIT ? "split" : "packed", q->size,
			role ? " (" : "", role ? role : "", role ? ")" : "");
		if (q->format == VR_FORMAT_SPLIT)
			print_split(out, a, q);
		else
			print_packed(out, q);
		print_stats(out, q);
	}
	for (k = 0; k < a->f.n; k++) {
		const struct vc_finding *e = &a->f.v[k];

		if (only_q >= 0 && e->queue >= 0 && e->queue != only_q)
			continue;
		if (e->sev == VC_SEV_ERROR)
			shown_e += e->more ? e->more : 1;
		else
			shown_w += e->more ? e->more : 1;
	}
	fprintf(out, "findings: %zu error%s, %zu warning%s\n", shown_e,
		shown_e == 1 ? "" : "s", shown_w, shown_w == 1 ? "" : "s");
	for (k = 0; k < a->f.n; k++) {
		const struct vc_finding *e = &a->f.v[k];

		if (only_q >= 0 && e->queue >= 0 && e->queue != only_q)
			continue;
		vc_print_finding(out, "  ", e);
	}
}

/* ---- The command ------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vringctl dump [--json] [--queue Q] REGION\n"
		"Print the region's header (sizes, features by name, status words,\n"
		"heartbeats, generation) and, per queue, its indexes, event\n"
		"suppression, the chains in flight with their descriptors decoded,\n"
		"the newest used entries and both sides' statistics, then what\n"
		"vringctl check would report. Everything comes from one private copy\n"
		"of the region, taken at start.\n"
		"  --json       machine-readable output (one JSON object)\n"
		"  --queue Q    only queue Q (the header is always shown)\n"
		"  --help       this text\n"
		"Exit status: 0 printed; 2 bad arguments; 3 the region cannot be read\n"
		"or its header is refused.\n");
}

int vc_cmd_dump(int argc, char **argv)
{
	enum { O_HELP = 1, O_JSON, O_QUEUE };
	static const struct vc_opt opts[] = {
		{"--help", false, O_HELP}, {"--json", false, O_JSON},
		{"--queue", true, O_QUEUE}, {NULL, false, 0},
	};
	struct vc_args args = {"dump", argc, argv, 1, false};
	const char *val, *region = NULL;
	struct vc_target t;
	struct vc_region r;
	struct vc_snap s;
	struct vc_analysis *a;
	bool json = false;
	int64_t only_q = -1;
	int id, rc;

	while ((id = vc_next_arg(&args, opts, &val)) != VC_ARG_END) {
		uint64_t v;

		switch (id) {
		case VC_ARG_ERR:
			return VC_EXIT_USAGE;
		case O_HELP:
			usage(stdout);
			return VC_EXIT_OK;
		case O_JSON:
			json = true;
			break;
		case O_QUEUE:
			if (vc_parse_u64("dump", "--queue", val, 0, VR_REGION_MAX_QUEUES - 1, &v))
				return VC_EXIT_USAGE;
			only_q = (int64_t)v;
			break;
		default:
			if (vc_take_region("dump", &region, val))
				return VC_EXIT_USAGE;
		}
	}
	if (vc_need_region("dump", region))
		return VC_EXIT_USAGE;
	rc = vc_open_snapshot("dump", region, &t, &r, &s);
	if (rc)
		return rc;
	if (s.parse_err) {
		vc_err("dump", "%s: %s (%s)", t.shown, vc_region_error_text(s.parse_err),
		       vr_errname(s.parse_err));
		rc = VC_EXIT_REGION;
		goto out;
	}
	if (only_q >= (int64_t)s.info.queue_count) {
		vc_err("dump", "--queue %lld: the region has %u queue%s", (long long)only_q,
		       s.info.queue_count, s.info.queue_count == 1 ? "" : "s");
		rc = VC_EXIT_USAGE;
		goto out;
	}
	a = calloc(1, sizeof(*a));
	if (!a || vc_analyze(&s, a)) {
		if (!a)
			vc_err("dump", "out of memory");
		rc = VC_EXIT_REGION;
	} else if (json) {
		vc_dump_json(stdout, &r, a, (int)only_q);
	} else {
		vc_dump_text(stdout, &r, a, (int)only_q);
	}
	if (a) {
		vc_analysis_free(a);
		free(a);
	}
out:
	vc_snap_free(&s);
	vc_region_close(&r);
	if (fflush(stdout) != 0 && rc == 0) {
		vc_err("dump", "writing the output failed");
		rc = VC_EXIT_REGION;
	}
	return rc;
}
