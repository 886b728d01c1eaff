/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl: a split queue in a snapshot.
 *
 * avail idx - used idx is the number of chains made available and not yet
 * returned used (at most the queue size). Which chains those are is
 * certain when the device completes in order (IN_ORDER, or evidence from
 * the ring: each of the newest used entries names the head made available
 * at the same index); then they are the available entries [used idx, avail
 * idx), and every one must be a valid chain. Without that evidence a chain
 * in that window may already be done (completed out of order) and its
 * descriptors reused, so what is wrong with it is reported as a warning.
 */
#include <stdlib.h>
#include <string.h>

#include "analyze.h"

struct split_ctx {
	struct vc_ctx *c;
	struct vc_queue_view *q;
	const unsigned char *desc, *avail, *used;
	uint32_t n, mask;
	uint32_t *owner;  /* per descriptor: 1 + avail index of the pending
			     chain using it */
	bool certain;     /* the pending set is known */
	bool multi;       /* a chain of several descriptors or segments seen */
};

static uint16_t avail_ring(const struct split_ctx *x, uint32_t pos)
{
	return vc_rd16(x->avail + 4 + 2 * (pos & x->mask));
}

static uint32_t used_id(const struct split_ctx *x, uint32_t pos)
{
	return vc_rd32(x->used + 4 + 8 * (pos & x->mask));
}

static uint32_t used_len(const struct split_ctx *x, uint32_t pos)
{
	return vc_rd32(x->used + 8 + 8 * (pos & x->mask));
}

struct rd_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct rd_desc rd(const unsigned char *table, uint32_t i)
{
	struct rd_desc d;
	const unsigned char *p = table + 16 * (size_t)i;

	d.addr = vc_rd64(p);
	d.len = vc_rd32(p + 8);
	d.flags = vc_rd16(p + 12);
	d.next = vc_rd16(p + 14);
	return d;
}

/*
 * Walk the chain at @head as libvring's device does (vr__split_walk):
 * ring descriptors, then at most one indirect table at the tail. With
 * @show the descriptors are recorded for display; @mark is called for
 * every ring descriptor visited. Returns -1 only when out of memory.
 */
typedef void (*mark_fn)(struct split_ctx *x, struct vc_chain_view *ch,
			uint32_t desc, void *arg);

static int walk(struct split_ctx *x, struct vc_chain_view *ch, uint32_t head,
		bool show, mark_fn mark, void *arg)
{
	struct vc_ctx *c = x->c;
	const unsigned char *table = x->desc;
	uint32_t limit = x->n, count = 1, idx = head;
	bool in_ind = false;
	struct vc_walk w;
	struct rd_desc d;

	memset(&w, 0, sizeof(w));
	d = rd(table, idx);
	ch->ndesc = 1;
	if (mark)
		mark(x, ch, idx, arg);
	if (show && vc_show_desc(x->q, ch, false, idx, d.addr, d.len, d.flags, d.next))
		return -1;
	if (!(d.flags & (VR_DESC_F_NEXT | VR_DESC_F_INDIRECT))) {
		vc_check_segment(c, &w, ch, d.addr, d.len, (d.flags & VR_DESC_F_WRITE) != 0);
		return 0;
	}
	for (;;) {
		if (c->budget == 0) {
			vc_chain_fail(ch, 0, "not checked: the walking budget is spent");
			return 0;
		}
		c->budget--;
		if (d.flags & VR_DESC_F_INDIRECT) {
			int entries;

			if (in_ind) {
				vc_chain_fail(ch, VR_ENESTED,
					      "indirect table entry %u is itself indirect", idx);
				return 0;
			}
			entries = vc_check_indirect(c, ch, d.addr, d.len, d.flags, x->n);
			if (entries < 0)
				return 0;
			table = c->s->buf + d.addr;
			limit = (uint32_t)entries;
			count = 0;
			d.next = 0;
			in_ind = true;
		} else {
			if (vc_check_segment(c, &w, ch, d.addr, d.len,
					     (d.flags & VR_DESC_F_WRITE) != 0))
				return 0;
			if (!(d.flags & VR_DESC_F_NEXT))
				return 0;
			if (d.next >= limit) {
				vc_chain_fail(ch, VR_ENEXT,
					      "%s %u: next %u is out of range (%u entries)",
					      in_ind ? "indirect entry" : "descriptor", idx,
					      d.next, limit);
				return 0;
			}
		}
		if (++count > limit) {
			vc_chain_fail(ch, VR_ELOOP,
				      "the chain loops: more than %u descriptors in %s",
				      limit, in_ind ? "its indirect table" : "the ring");
			return 0;
		}
		idx = d.next;
		d = rd(table, idx);
		if (!in_ind) {
			ch->ndesc++;
			if (mark)
				mark(x, ch, idx, arg);
		}
		if (show && vc_show_desc(x->q, ch, in_ind, idx, d.addr, d.len, d.flags,
					 d.next))
			return -1;
	}
}

/* Pending chains: remember which descriptors each one uses, and say when
 * two of them share one. */
struct own_arg {
	uint32_t me;       /* 1 + avail index of the chain */
	bool reported;
};

static void mark_owner(struct split_ctx *x, struct vc_chain_view *ch, uint32_t d,
		       void *argp)
{
	struct own_arg *arg = (struct own_arg *)argp;
	uint32_t other = x->owner[d];

	if (other && other != arg->me && !arg->reported) {
		arg->reported = true;
		vc_chain_fail(ch, VR_EINFLIGHT,
			      "descriptor %u also belongs to the chain at avail[%u]", d,
			      other - 1);
	}
	if (!other)
		x->owner[d] = arg->me;
}

static void report_chain(struct split_ctx *x, const struct vc_chain_view *ch)
{
	if (!ch->err)
		return;
	vc_find(x->c->f, x->certain ? VC_SEV_ERROR : VC_SEV_WARN, (int)x->q->index,
		ch->err, "avail[%u] head %u: %s%s", ch->pos, ch->head, ch->why,
		x->certain ? "" : " (the device completes out of order: this "
				  "chain may be done already)");
}

/* Used entries: which descriptors the chains of the newest ones reach. */
struct used_arg {
	uint32_t me;       /* 1 + the used entry's id */
	uint32_t *seen;    /* per descriptor: 1 + id of a used chain */
	bool conflict;
};

static void mark_used(struct split_ctx *x, struct vc_chain_view *ch, uint32_t d,
		      void *argp)
{
	struct used_arg *arg = (struct used_arg *)argp;

	(void)ch;
	if (x->owner[d] || (arg->seen[d] && arg->seen[d] != arg->me))
		arg->conflict = true;
	arg->seen[d] = arg->me;
}

/*
 * A used length larger than the writable bytes of its chain. Only the
 * newest entry of each id is looked at, and only when its chain (as the
 * table holds it now) shares no descriptor with a pending chain or with
 * another used chain: otherwise the driver may have reused the descriptors
 * since, and the table no longer says what the device was given.
 */
static int check_used_len(struct split_ctx *x, uint32_t from, uint32_t count)
{
	struct vc_queue_view *q = x->q;
	uint32_t *seen = calloc(x->n, sizeof(uint32_t));
	uint8_t *newest = calloc(x->n, 1);
	bool multi = x->multi;
	uint32_t k;

	if (!seen || !newest) {
		free(seen);
		free(newest);
		return -1;
	}
	/* Newest first: the first time an id is met is its newest entry. */
	for (k = count; k-- > 0;) {
		uint32_t pos = (uint16_t)(from + k), id = used_id(x, pos);
		struct vc_chain_view ch;
		struct used_arg arg;

		if (id >= x->n || newest[id])
			continue;
		newest[id] = 1;
		memset(&ch, 0, sizeof(ch));
		arg.me = id + 1;
		arg.seen = seen;
		arg.conflict = false;
		walk(x, &ch, id, false, mark_used, &arg);
		if (ch.err || arg.conflict)
			newest[id] = 2; /* not attributable */
		else if (ch.ndesc > 1 || ch.nsegs > 1)
			multi = true;
	}
	for (k = count; k-- > 0;) {
		uint32_t pos = (uint16_t)(from + k), id = used_id(x, pos);
		uint32_t len = used_len(x, pos);
		struct vc_chain_view ch;

		if (id >= x->n || newest[id] != 1)
			continue;
		newest[id] = 3; /* done */
		memset(&ch, 0, sizeof(ch));
		walk(x, &ch, id, false, NULL, NULL);
		if (len > ch.in_bytes)
			vc_find(x->c->f, multi ? VC_SEV_WARN : VC_SEV_ERROR,
				(int)q->index, VR_EUSEDLEN,
				"used[%u] id %u: length %u is more than the %llu writable "
				"bytes of its chain%s", pos, id, len,
				(unsigned long long)ch.in_bytes,
				multi ? " (chains of several descriptors: it may have been "
					"collected and its descriptors reused)" : "");
	}
	free(seen);
	free(newest);
	return 0;
}

int vc_analyze_split(struct vc_ctx *c, struct vc_queue_view *q)
{
	struct split_ctx x;
	const unsigned char *b = c->s->buf;
	uint64_t f = c->a->features;
	bool event_idx = (f & VR_FEATURE(VR_F_EVENT_IDX)) != 0;
	bool in_order = (f & VR_FEATURE(VR_F_IN_ORDER)) != 0;
	uint32_t i, k, p, a, u, window_from, window_n;
	uint32_t *head_at = NULL; /* per head: 1 + avail index of its chain */
	int qi = (int)q->index;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.q = q;
	x.n = q->size;
	x.mask = q->size - 1;
	x.desc = b + q->desc_off;
	x.avail = b + q->driver_off;
	x.used = b + q->device_off;
	q->avail_flags = vc_rd16(x.avail);
	q->avail_idx = vc_rd16(x.avail + 2);
	q->used_event = vc_rd16(x.avail + 4 + 2 * (size_t)x.n);
	q->used_flags = vc_rd16(x.used);
	q->used_idx = vc_rd16(x.used + 2);
	q->avail_event = vc_rd16(x.used + 4 + 8 * (size_t)x.n);
	a = q->avail_idx;
	u = q->used_idx;
	p = (uint16_t)(a - u);
	q->pending = p;
	q->pending_ok = p <= x.n;

	if (q->avail_flags & ~VR_AVAIL_F_NO_INTERRUPT)
		vc_find(c->f, VC_SEV_ERROR, qi, 0,
			"avail flags 0x%x: only bit 0 (NO_INTERRUPT) may be set",
			q->avail_flags);
	if (q->used_flags & ~VR_USED_F_NO_NOTIFY)
		vc_find(c->f, VC_SEV_ERROR, qi, 0,
			"used flags 0x%x: only bit 0 (NO_NOTIFY) may be set",
			q->used_flags);

	/* Used elements: an id is a head index, whatever else is unknown. */
	for (k = 0; k < x.n; k++) {
		uint32_t pos = (uint16_t)(u - 1 - ((u - 1 - k) & x.mask));
		uint32_t id = used_id(&x, pos);

		if (id >= x.n)
			vc_find(c->f, VC_SEV_ERROR, qi, VR_EUSEDID,
				"used[%u] id %u is out of range (queue size %u)", pos, id,
				x.n);
	}
	/* The newest used entries, for display. */
	k = x.n < VC_SHOW_USED ? x.n : VC_SHOW_USED;
	if (k > u)
		k = u;
	if (k) {
		q->used = calloc(k, sizeof(*q->used));
		if (!q->used)
			return -1;
		for (i = 0; i < k; i++) {
			uint32_t pos = (uint16_t)(u - k + i);

			q->used[i].pos = pos;
			q->used[i].id = used_id(&x, pos);
			q->used[i].len = used_len(&x, pos);
		}
		q->nused = k;
	}

	if (!q->pending_ok) {
		vc_find(c->f, VC_SEV_ERROR, qi, VR_EAVAILIDX,
			"avail idx %u - used idx %u = %u chains in flight, more than "
			"the queue size %u", a, u, p, x.n);
		return 0;
	}

	/* Evidence of in-order completion: the newest N - P used entries
	 * whose available entries are still in the ring. */
	window_from = (uint16_t)(a - x.n);
	window_n = x.n - p;
	q->in_order_evidence = true;
	for (k = 0; k < window_n; k++) {
		uint32_t pos = (uint16_t)(window_from + k);

		if (used_id(&x, pos) != avail_ring(&x, pos)) {
			q->in_order_evidence = false;
			break;
		}
	}
	x.certain = in_order || q->in_order_evidence;

	x.owner = calloc(x.n, sizeof(uint32_t));
	head_at = calloc(x.n, sizeof(uint32_t));
	if (!x.owner || !head_at)
		goto oom;
	for (k = 0; k < p; k++) {
		uint32_t pos = (uint16_t)(u + k), head = avail_ring(&x, pos);
		struct vc_chain_view scratch, *ch = vc_new_chain(q, &scratch);
		struct own_arg arg;

		if (!ch)
			goto oom;
		ch->pos = pos;
		ch->head = ch->id = head;
		if (head >= x.n) {
			vc_chain_fail(ch, VR_EHEAD, "the head is out of range (queue size %u)",
				      x.n);
		} else if (head_at[head]) {
			vc_chain_fail(ch, VR_EINFLIGHT,
				      "the head is already in flight (avail[%u])",
				      head_at[head] - 1);
		} else {
			head_at[head] = pos + 1;
			arg.me = pos + 1;
			arg.reported = false;
			if (walk(&x, ch, head, true, mark_owner, &arg))
				goto oom;
			if (ch->ndesc > 1 || ch->nsegs > 1)
				x.multi = true;
			if (ch->out_bytes)
				q->data_chains++;
		}
		report_chain(&x, ch);
	}

	/* Lengths of the used entries the ring still holds (not with
	 * IN_ORDER, where one entry stands for a whole batch). */
	if (!in_order && check_used_len(&x, (uint16_t)(u - x.n), x.n))
		goto oom;
	free(x.owner);
	free(head_at);

	/* Notification suppression, while both sides are up and messages
	 * (chains with readable bytes, not empty buffers offered for the
	 * device to fill) wait. Only flags can be judged: any 16-bit event index is legal, and one set long ago
	 * (a peer that has not waited since) says nothing about now. */
	if (!event_idx && (q->used_flags & VR_USED_F_NO_NOTIFY) && q->data_chains &&
	    c->a->live)
		vc_find(c->f, VC_SEV_WARN, qi, 0,
			"the device asks not to be notified (NO_NOTIFY) while %zu "
			"chain%s with data %s in flight: new ones reach it only if "
			"it polls", q->data_chains, q->data_chains == 1 ? "" : "s",
			q->data_chains == 1 ? "is" : "are");
	return 0;
oom:
	free(x.owner);
	free(head_at);
	return -1;
}
