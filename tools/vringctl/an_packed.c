/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl: a packed queue in a snapshot.
 *
 * The driver writes descriptors in ring order, each with the avail bit of
 * its wrap counter; the device overwrites some of them as used with both
 * bits equal to the same counter. So the avail bits of the ring read
 * [W W ... W | !W !W ... !W]: the boundary is the driver's next position and
 * W its wrap counter. The only other shape a correct driver leaves is one
 * stale descriptor: the first head of a batch it has written but not yet
 * published (libvring holds it until publish). Anything else is a wrap
 * counter inconsistency.
 *
 * The chains made available and not yet used are the available
 * descriptors after the newest used one, up to the driver's position (or
 * the held head). A chain of several descriptors leaves its later ones
 * looking available after the device returns it; those are read as a
 * pending chain, and being the tail of a valid chain they check as valid.
 */
#include <stdlib.h>
#include <string.h>

#include "analyze.h"

struct pdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t id, flags;
};

static struct pdesc rd(const unsigned char *table, uint32_t i)
{
	struct pdesc d;
	const unsigned char *p = table + 16 * (size_t)i;

	d.addr = vc_rd64(p);
	d.len = vc_rd32(p + 8);
	d.id = vc_rd16(p + 12);
	d.flags = vc_rd16(p + 14);
	return d;
}

/* A descriptor nobody has written since the ring was set up. */
static bool blank(const unsigned char *desc, uint32_t i)
{
	static const unsigned char zero[16];

	return memcmp(desc + 16 * (size_t)i, zero, 16) == 0;
}

static bool abit(uint16_t flags)
{
	return (flags & VR_DESC_F_AVAIL) != 0;
}

static bool ubit(uint16_t flags)
{
	return (flags & VR_DESC_F_USED) != 0;
}

static void check_event(struct vc_ctx *c, struct vc_queue_view *q, const char *who,
			uint16_t flags, uint16_t off_wrap)
{
	bool event_idx = (c->a->features & VR_FEATURE(VR_F_EVENT_IDX)) != 0;
	int qi = (int)q->index;

	if (flags > VR_EVENT_F_DESC) {
		vc_find(c->f, VC_SEV_ERROR, qi, 0,
			"%s event flags %u: not ENABLE (0), DISABLE (1) or DESC (2)",
			who, flags);
		return;
	}
	if (flags != VR_EVENT_F_DESC)
		return;
	if (!event_idx)
		vc_find(c->f, VC_SEV_ERROR, qi, 0,
			"%s event flags DESC, but EVENT_IDX is not negotiated", who);
	if ((off_wrap & 0x7fffu) >= q->size)
		vc_find(c->f, VC_SEV_ERROR, qi, 0,
			"%s event offset %u is out of range (queue size %u)", who,
			off_wrap & 0x7fffu, q->size);
}

/*
 * Find the driver's position from the avail bits. Returns false when no
 * single boundary (with at most one held head) explains them, with the
 * boundaries listed in @why.
 */
static bool find_position(const unsigned char *desc, struct vc_queue_view *q,
			  char *why, size_t whylen)
{
	uint32_t n = q->size, t[4], nt = 0, p, k;
	uint32_t best_batch = UINT32_MAX;

	for (p = 1; p < n; p++)
		if (abit(rd(desc, p).flags) != abit(rd(desc, p - 1).flags)) {
			if (nt < 4)
				t[nt] = p;
			nt++;
		}
	if (nt == 0) {
		q->drv_pos = 0;
		q->drv_wrap = !abit(rd(desc, 0).flags);
		return true;
	}
	if (nt == 1) {
		q->drv_pos = t[0];
		q->drv_wrap = abit(rd(desc, 0).flags);
		return true;
	}
	/* One flip changes at most two boundaries: try each position next to
	 * a boundary as the held head; keep the smallest batch. */
	for (k = 0; nt <= 3 && k < nt; k++) {
		uint32_t cand[2] = {t[k] - 1, t[k]}, c;

		for (c = 0; c < 2; c++) {
			uint32_t h = cand[c], cnt = 0, first = 0, batch;
			bool a0, prev = false;

			for (p = 0; p < n; p++) {
				bool a = abit(rd(desc, p).flags) ^ (p == h);

				if (p > 0 && a != prev) {
					cnt++;
					first = p;
				}
				prev = a;
			}
			if (cnt > 1)
				continue;
			a0 = abit(rd(desc, 0).flags) ^ (h == 0);
			batch = cnt ? (first + n - h) % n : (n - h) % n;
			if (batch == 0)
				batch = n;
			if (batch < best_batch) {
				best_batch = batch;
				q->held = (int)h;
				q->drv_pos = cnt ? first : 0;
				q->drv_wrap = cnt ? a0 : !a0;
			}
		}
	}
	if (best_batch != UINT32_MAX)
		return true;
	snprintf(why, whylen, "the avail bits change wrap at %u places (positions %u, "
		 "%u%s%s): a driver writes the ring in order, so there is one such "
		 "place (two or three with a batch being published)",
		 nt, t[0], t[1], nt > 2 ? ", " : "", nt > 2 ? "..." : "");
	return false;
}

/* Walk the chain at ring position @pos as vr__packed_walk does; @avail is
 * how many descriptors from @pos on are published. */
static int walk(struct vc_ctx *c, struct vc_queue_view *q, struct vc_chain_view *ch,
		uint32_t pos, uint32_t avail)
{
	const unsigned char *desc = c->s->buf + q->desc_off;
	uint32_t n = q->size, k, cur = pos;
	struct pdesc d = rd(desc, pos);
	struct vc_walk w;

	memset(&w, 0, sizeof(w));
	ch->pos = ch->head = pos;
	ch->ndesc = 1;
	if (vc_show_desc(q, ch, false, pos, d.addr, d.len, d.flags, d.id))
		return -1;
	if (!(d.flags & (VR_DESC_F_NEXT | VR_DESC_F_INDIRECT))) {
		ch->id = d.id;
		vc_check_segment(c, &w, ch, d.addr, d.len, (d.flags & VR_DESC_F_WRITE) != 0);
		return 0;
	}
	for (k = 0;; k++) {
		if (c->budget == 0) {
			vc_chain_fail(ch, 0, "not checked: the walking budget is spent");
			return 0;
		}
		c->budget--;
		if (k > 0) {
			if (k >= n) {
				vc_chain_fail(ch, VR_ELOOP,
					      "the chain is longer than the ring (%u)", n);
				return 0;
			}
			if (++cur == n)
				cur = 0;
			d = rd(desc, cur);
			ch->ndesc = k + 1;
			if (vc_show_desc(q, ch, false, cur, d.addr, d.len, d.flags, d.id))
				return -1;
			if (k >= avail) {
				vc_chain_fail(ch, VR_EFLAGS,
					      "descriptor %u continues the chain but is not "
					      "available", cur);
				return 0;
			}
		}
		ch->id = d.id;
		if (d.flags & VR_DESC_F_INDIRECT) {
			const unsigned char *table;
			int entries, e;

			if (k > 0) {
				vc_chain_fail(ch, VR_EINDIRECT,
					      "an indirect descriptor in the middle of a chain");
				return 0;
			}
			entries = vc_check_indirect(c, ch, d.addr, d.len, d.flags, n);
			if (entries < 0)
				return 0;
			table = c->s->buf + d.addr;
			for (e = 0; e < entries; e++) {
				struct pdesc t = rd(table, (uint32_t)e);

				if (vc_show_desc(q, ch, true, (uint32_t)e, t.addr, t.len,
						 t.flags, t.id))
					return -1;
				if (t.flags & VR_DESC_F_INDIRECT) {
					vc_chain_fail(ch, VR_ENESTED,
						      "indirect table entry %d is itself "
						      "indirect", e);
					return 0;
				}
				if (vc_check_segment(c, &w, ch, t.addr, t.len,
						     (t.flags & VR_DESC_F_WRITE) != 0))
					return 0;
			}
			return 0;
		}
		if (vc_check_segment(c, &w, ch, d.addr, d.len,
				     (d.flags & VR_DESC_F_WRITE) != 0))
			return 0;
		if (!(d.flags & VR_DESC_F_NEXT))
			return 0;
	}
}

int vc_analyze_packed(struct vc_ctx *c, struct vc_queue_view *q)
{
	const unsigned char *b = c->s->buf;
	const unsigned char *desc = b + q->desc_off;
	uint32_t n = q->size, p, k, end, span, from, left, *id_at;
	int bound = -1;
	char why[200];
	int qi = (int)q->index;

	q->drv_evt_off_wrap = vc_rd16(b + q->driver_off);
	q->drv_evt_flags = vc_rd16(b + q->driver_off + 2);
	q->dev_evt_off_wrap = vc_rd16(b + q->device_off);
	q->dev_evt_flags = vc_rd16(b + q->device_off + 2);
	check_event(c, q, "driver", q->drv_evt_flags, q->drv_evt_off_wrap);
	check_event(c, q, "device", q->dev_evt_flags, q->dev_evt_off_wrap);

	for (p = 0; p < n; p++) {
		struct pdesc d = rd(desc, p);

		if (blank(desc, p)) {
			q->blank_state++;
		} else if (abit(d.flags) == ubit(d.flags)) {
			q->used_state++;
			if (d.id >= n)
				vc_find(c->f, VC_SEV_ERROR, qi, VR_EUSEDID,
					"used descriptor %u: id %u is out of range "
					"(queue size %u)", p, d.id, n);
		} else {
			q->avail_state++;
		}
	}

	q->pos_ok = find_position(desc, q, why, sizeof(why));
	if (!q->pos_ok) {
		vc_find(c->f, VC_SEV_ERROR, qi, VR_EFLAGS, "%s", why);
		return 0;
	}
	end = q->held >= 0 ? (uint32_t)q->held : q->drv_pos;
	/* Everything but the unpublished batch, newest first. */
	span = n - (q->drv_pos + n - end) % n;
	if (q->held >= 0 && span == n)
		span = 0; /* a batch of the whole ring */
	/* The newest descriptor not available: a used one, or one never
	 * written (all zero) in a ring not yet gone round once. */
	for (k = 1; k <= span; k++) {
		uint32_t pos = (end + n - k) % n;
		struct pdesc d = rd(desc, pos);

		if (abit(d.flags) == ubit(d.flags)) {
			bound = (int)pos;
			if (!blank(desc, pos))
				q->last_used = (int)pos;
			break;
		}
	}
	from = bound >= 0 ? ((uint32_t)bound + 1) % n : (end + n - span) % n;
	left = bound >= 0 ? (end + n - from) % n : span;
	q->pending_descs = left;

	/* The newest used descriptors, for display, newest last. */
	if (q->last_used >= 0) {
		struct vc_used_view tmp[VC_SHOW_USED];
		uint32_t got = 0, pos;

		for (k = 0; k < span && got < VC_SHOW_USED; k++) {
			struct pdesc d;

			pos = ((uint32_t)q->last_used + n - k) % n;
			d = rd(desc, pos);
			if (abit(d.flags) != ubit(d.flags) || blank(desc, pos))
				continue;
			tmp[got].pos = pos;
			tmp[got].id = d.id;
			tmp[got].len = d.len;
			tmp[got].flags = d.flags;
			got++;
		}
		q->used = calloc(got ? got : 1, sizeof(*q->used));
		if (!q->used)
			return -1;
		for (k = 0; k < got; k++)
			q->used[k] = tmp[got - 1 - k];
		q->nused = got;
	}

	/* The chains between the newest used descriptor and the driver. */
	id_at = calloc(n, sizeof(uint32_t));
	if (!id_at)
		return -1;
	p = from;
	while (left > 0) {
		struct vc_chain_view scratch, *ch = vc_new_chain(q, &scratch);
		uint32_t step;

		if (!ch || walk(c, q, ch, p, left)) {
			free(id_at);
			return -1;
		}
		if (!ch->err && ch->id >= n)
			vc_chain_fail(ch, VR_EBUFID, "buffer id %u is out of range "
				      "(queue size %u)", ch->id, n);
		if (ch->out_bytes)
			q->data_chains++;
		if (ch->err)
			vc_find(c->f, VC_SEV_ERROR, qi, ch->err, "descriptor %u (id %u): %s",
				ch->pos, ch->id, ch->why);
		else if (id_at[ch->id])
			vc_find(c->f, VC_SEV_WARN, qi, VR_EINFLIGHT,
				"descriptor %u: buffer id %u is also the id of the "
				"chain at %u (unless that one was completed out of "
				"order)", ch->pos, ch->id, id_at[ch->id] - 1);
		else
			id_at[ch->id] = ch->pos + 1;
		step = ch->ndesc ? ch->ndesc : 1;
		if (step > left)
			step = left;
		left -= step;
		p = (p + step) % n;
		if (c->budget == 0)
			break;
	}
	free(id_at);

	/* After a chain of several descriptors is used, its later ones still
	 * look available: say so when the first pending chain could be that. */
	if (q->last_used >= 0 && q->nchains > 0 && !q->chains[0].err &&
	    q->chains[0].pos == ((uint32_t)q->last_used + 1) % n &&
	    q->chains[0].id == rd(desc, (uint32_t)q->last_used).id)
		snprintf(q->chains[0].why, sizeof(q->chains[0].why),
			 "it carries the id of the used descriptor %d before it: it may "
			 "be the rest of that chain, not a new one", q->last_used);

	/* Notification suppression, while both sides are up and messages
	 * wait: as for split rings, only the flags can be judged (an event
	 * position may be laps old). */
	if (q->dev_evt_flags == VR_EVENT_F_DISABLE && q->data_chains && c->a->live)
		vc_find(c->f, VC_SEV_WARN, qi, 0,
			"the device asks not to be notified (DISABLE) while %zu "
			"chain%s with data %s pending: new ones reach it only if it "
			"polls", q->data_chains, q->data_chains == 1 ? "" : "s",
			q->data_chains == 1 ? "is" : "are");
	return 0;
}
