/* SPDX-License-Identifier: BSD-3-Clause */
/* vringctl dump --json: the same content as the text dump, one JSON object
 * (its shape is documented in docs/VRINGCTL.md). */
#include <string.h>

#include "dump.h"
#include "json.h"

static void names_of(struct vj *j, const char *key, void (*fn)(uint64_t, char *, size_t),
		     uint64_t v)
{
	char names[256];

	fn(v, names, sizeof(names));
	vj_names(j, key, names);
}

static void features_fn(uint64_t v, char *out, size_t len)
{
	vc_feature_names(v, out, len);
}

static void status_fn(uint64_t v, char *out, size_t len)
{
	vc_status_names((uint32_t)v, out, len);
}

static void side(struct vj *j, const char *key, uint32_t status, uint32_t hb)
{
	vj_obj(j, key);
	vj_u64(j, "status", status);
	names_of(j, "status_names", status_fn, status);
	vj_u64(j, "heartbeat", hb);
	vj_end_obj(j);
}

static void desc(struct vj *j, const struct vc_queue_view *q, const struct vc_desc_view *d)
{
	char flags[96];
	bool packed = q->format == VR_FORMAT_PACKED;

	vc_desc_flag_names(d->flags, packed && !d->indirect, flags, sizeof(flags));
	vj_obj(j, NULL);
	vj_str(j, "table", d->indirect ? "indirect" : "ring");
	vj_u64(j, "index", d->index);
	vj_hex(j, "addr", d->addr);
	vj_u64(j, "len", d->len);
	vj_u64(j, "flags", d->flags);
	vj_names(j, "flag_names", flags);
	if (!packed)
		vj_u64(j, "next", d->next);
	else if (!d->indirect)
		vj_u64(j, "id", d->next);
	vj_end_obj(j);
}

static void chain(struct vj *j, const struct vc_queue_view *q,
		  const struct vc_chain_view *ch)
{
	size_t i;

	vj_obj(j, NULL);
	if (q->format == VR_FORMAT_SPLIT) {
		vj_u64(j, "avail_index", ch->pos);
		vj_u64(j, "head", ch->head);
	} else {
		vj_u64(j, "position", ch->pos);
		vj_u64(j, "id", ch->id);
	}
	vj_u64(j, "ring_descriptors", ch->ndesc);
	vj_u64(j, "segments", ch->nsegs);
	vj_u64(j, "readable_bytes", ch->out_bytes);
	vj_u64(j, "writable_bytes", ch->in_bytes);
	vj_arr(j, "descriptors");
	for (i = 0; i < ch->count; i++)
		desc(j, q, &q->descs[ch->first + i]);
	vj_end_arr(j);
	vj_u64(j, "descriptors_not_shown", ch->hidden);
	if (ch->err) {
		vj_obj(j, "problem");
		vj_str(j, "code", vr_errname(ch->err));
		vj_str(j, "text", ch->why);
		vj_end_obj(j);
	} else {
		vj_null(j, "problem");
	}
	vj_end_obj(j);
}

static void event(struct vj *j, const char *key, uint16_t flags, uint16_t off_wrap)
{
	vj_obj(j, key);
	vj_u64(j, "flags", flags);
	vj_str(j, "flags_name", vc_event_flags_name(flags));
	vj_u64(j, "offset", off_wrap & 0x7fffu);
	vj_u64(j, "wrap", (off_wrap >> VR_EVENT_WRAP_SHIFT) & 1u);
	vj_end_obj(j);
}

static void stats(struct vj *j, const struct vc_queue_view *q)
{
	unsigned s, k;

	if (!q->has_stats) {
		vj_null(j, "statistics");
		return;
	}
	vj_obj(j, "statistics");
	for (s = 0; s < 2; s++) {
		int32_t err = (int32_t)q->stat[s][VR_RS_ERROR];

		vj_obj(j, s ? "device" : "driver");
		for (k = 0; k < VR_RS_ERROR; k++)
			vj_u64(j, vc_stat_name(k), q->stat[s][k]);
		vj_i64(j, "error", err);
		if (err)
			vj_str(j, "error_name", vr_errname(err));
		else
			vj_null(j, "error_name");
		vj_end_obj(j);
	}
	vj_end_obj(j);
}

static void queue(struct vj *j, const struct vc_analysis *a, const struct vc_queue_view *q)
{
	const char *role = vc_channel_role(a, q->index);
	bool event_idx = (a->features & VR_FEATURE(VR_F_EVENT_IDX)) != 0;
	size_t i;

	vj_obj(j, NULL);
	vj_u64(j, "index", q->index);
	vj_str(j, "format", q->format == VR_FORMAT_SPLIT ? "split" : "packed");
	vj_u64(j, "size", q->size);
	if (role)
		vj_str(j, "channel_role", q->index == 0 ? "tx" : "rx");
	else
		vj_null(j, "channel_role");
	vj_obj(j, "areas");
	vj_hex(j, "desc", q->desc_off);
	vj_hex(j, "driver", q->driver_off);
	vj_hex(j, "device", q->device_off);
	vj_end_obj(j);
	if (q->format == VR_FORMAT_SPLIT) {
		vj_obj(j, "avail");
		vj_u64(j, "idx", q->avail_idx);
		vj_u64(j, "flags", q->avail_flags);
		vj_u64(j, "used_event", q->used_event);
		vj_end_obj(j);
		vj_obj(j, "used");
		vj_u64(j, "idx", q->used_idx);
		vj_u64(j, "flags", q->used_flags);
		vj_u64(j, "avail_event", q->avail_event);
		vj_end_obj(j);
		vj_u64(j, "in_flight", q->pending);
		vj_bool(j, "in_flight_valid", q->pending_ok);
		vj_str(j, "completion",
		       a->features & VR_FEATURE(VR_F_IN_ORDER) ? "in_order_negotiated"
		       : q->in_order_evidence ? "in_order_evidence" : "out_of_order");
		vj_obj(j, "inferred");
		{
			uint32_t taken = (uint16_t)(q->avail_event - q->used_idx);

			if (event_idx && q->pending_ok && q->pending > 0 &&
			    taken <= q->pending) {
				vj_u64(j, "device_taken_at_least", taken);
				vj_u64(j, "not_taken_at_most", q->pending - taken);
			} else {
				vj_null(j, "device_taken_at_least");
				vj_null(j, "not_taken_at_most");
			}
		}
		vj_end_obj(j);
	} else {
		event(j, "driver_event", q->drv_evt_flags, q->drv_evt_off_wrap);
		event(j, "device_event", q->dev_evt_flags, q->dev_evt_off_wrap);
		vj_u64(j, "descriptors_available", q->avail_state);
		vj_u64(j, "descriptors_used", q->used_state);
		vj_u64(j, "descriptors_never_written", q->blank_state);
		if (q->pos_ok) {
			vj_obj(j, "driver_position");
			vj_u64(j, "next", q->drv_pos);
			vj_u64(j, "wrap", q->drv_wrap);
			vj_end_obj(j);
		} else {
			vj_null(j, "driver_position");
		}
		if (q->held >= 0)
			vj_u64(j, "held_head", (uint64_t)q->held);
		else
			vj_null(j, "held_head");
		if (q->last_used >= 0)
			vj_u64(j, "newest_used", (uint64_t)q->last_used);
		else
			vj_null(j, "newest_used");
		vj_u64(j, "in_flight", q->chains_total);
		vj_u64(j, "in_flight_descriptors", q->pending_descs);
	}
	vj_arr(j, "chains");
	for (i = 0; i < q->nchains; i++)
		chain(j, q, &q->chains[i]);
	vj_end_arr(j);
	vj_u64(j, "chains_not_shown", q->chains_total - q->nchains);
	vj_arr(j, "used");
	for (i = 0; i < q->nused; i++) {
		vj_obj(j, NULL);
		vj_u64(j, q->format == VR_FORMAT_SPLIT ? "index" : "position", q->used[i].pos);
		vj_u64(j, "id", q->used[i].id);
		vj_u64(j, "len", q->used[i].len);
		if (q->format == VR_FORMAT_PACKED)
			vj_u64(j, "flags", q->used[i].flags);
		vj_end_obj(j);
	}
	vj_end_arr(j);
	stats(j, q);
	vj_end_obj(j);
}

void vc_dump_json(FILE *out, const struct vc_region *r, const struct vc_analysis *a,
		  int only_q)
{
	const struct vc_snap *s = a->snap;
	const struct vr_region_info *in = &s->info;
	size_t k, ne = 0, nw = 0;
	uint32_t i;
	struct vj j;

	vj_init(&j, out);
	vj_obj(&j, NULL);
	vj_str(&j, "region", r->t.shown);
	vj_u64(&j, "file_bytes", s->file_bytes);
	vj_u64(&j, "layout_version", in->version);
	vj_u64(&j, "region_bytes", in->region_bytes);
	vj_u64(&j, "queue_count", in->queue_count);
	vj_u64(&j, "generation", in->generation);
	vj_u64(&j, "header_flags", a->hdr_flags);
	vj_obj(&j, "features");
	vj_hex(&j, "device", a->device_features);
	names_of(&j, "device_names", features_fn, a->device_features);
	vj_hex(&j, "driver", a->driver_features);
	names_of(&j, "driver_names", features_fn, a->driver_features);
	vj_bool(&j, "negotiated", a->negotiated);
	vj_end_obj(&j);
	side(&j, "driver", a->driver_status, a->driver_heartbeat);
	side(&j, "device", a->device_status, a->device_heartbeat);
	vj_obj(&j, "pool");
	vj_hex(&j, "offset", in->pool_off);
	vj_u64(&j, "bytes", in->pool_bytes);
	vj_u64(&j, "buf_bytes", in->buf_bytes);
	vj_u64(&j, "buf_count", in->buf_count);
	vj_end_obj(&j);
	if (in->stats_off) {
		vj_obj(&j, "statistics_area");
		vj_hex(&j, "offset", in->stats_off);
		vj_u64(&j, "bytes", VR_REGION_STATS_BYTES(in->queue_count));
		vj_end_obj(&j);
	} else {
		vj_null(&j, "statistics_area");
	}
	vj_arr(&j, "queues");
	for (i = 0; i < a->nq; i++)
		if (only_q < 0 || (uint32_t)only_q == i)
			queue(&j, a, &a->q[i]);
	vj_end_arr(&j);
	vj_arr(&j, "findings");
	for (k = 0; k < a->f.n; k++) {
		const struct vc_finding *e = &a->f.v[k];

		if (only_q >= 0 && e->queue >= 0 && e->queue != only_q)
			continue;
		if (e->sev == VC_SEV_ERROR)
			ne += e->more ? e->more : 1;
		else
			nw += e->more ? e->more : 1;
		vj_obj(&j, NULL);
		vj_str(&j, "severity", e->sev == VC_SEV_ERROR ? "error" : "warning");
		if (e->queue >= 0)
			vj_u64(&j, "queue", (uint64_t)e->queue);
		else
			vj_null(&j, "queue");
		if (e->code)
			vj_str(&j, "code", vr_errname(e->code));
		else
			vj_null(&j, "code");
		vj_str(&j, "text", e->text);
		vj_u64(&j, "more", e->more);
		vj_end_obj(&j);
	}
	vj_end_arr(&j);
	vj_u64(&j, "errors", ne);
	vj_u64(&j, "warnings", nw);
	vj_end_obj(&j);
	vj_finish(&j);
}
