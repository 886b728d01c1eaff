/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client's loads. Each request gets a sequence number and a slot (its
 * scheduled and actual send times); a reply is matched to its slot by
 * sequence number and checked, so replies may come in any order, and one
 * that is wrong, repeated or never comes ends the run with a message.
 *
 *   single      send, wait for the reply, send the next one at once.
 *   paced       request k is due at start + k / rate; it is sent then (or
 *               as soon as the client can, if it is late), and replies are
 *               taken as they come in between, so several requests may be
 *               in flight. Latency is measured from the *scheduled* time:
 *               a stall delays every request due during it, and each of
 *               them records the stall (no coordinated omission). The
 *               service time from the actual send, and how late sends
 *               were, are recorded too.
 *   saturation  keep the TX ring full: send until no buffer is free, then
 *               take what replies there are (waiting for the first).
 */
#include "lat_proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

union vl_buf {
	struct vl_msg m;
	unsigned char bytes[VL_BUF_BYTES];
};

/* What the steps below return. */
enum { DONE = 0, NONE = 1, BAD = -1 };

static int fail(struct vl_client *c, const char *what, int err)
{
	fprintf(stderr, VL_PROG ": %s/%s: %s: %s (%s)\n", c->r->policy.name,
		c->load->name, what, vr_strerror(err), vr_errname(err));
	return BAD;
}

/* Send the next request, due at @sched: DONE, NONE (no room, timeout 0)
 * or BAD (printed). */
static int send_req(struct vl_client *c, uint64_t sched, uint64_t timeout_ns)
{
	union vl_buf b;
	struct vl_slot *s = &c->slot[c->next_seq & c->mask];
	uint64_t now = vl_now_ns();
	int err;

	if (s->busy) {
		fprintf(stderr, VL_PROG ": %s/%s: no reply to request #%" PRIu64 ": still "
				"outstanding after %u later requests\n",
			c->r->policy.name, c->load->name, s->seq, c->window);
		return BAD;
	}
	memset(b.bytes, 0, c->o->msg_bytes);
	vl_msg_fill(&b.m, VL_REQ, c->next_seq);
	err = vr_chan_send(c->ch, &b, c->o->msg_bytes, timeout_ns);
	if (err == VR_EAGAIN)
		return NONE;
	if (err)
		return fail(c, "sending a request", err);
	s->seq = c->next_seq++;
	s->sched = sched;
	s->sent = now;
	s->busy = true;
	if (c->outstanding++ == 0)
		c->oldest = s->seq;
	if (c->record && c->outstanding > c->r->max_outstanding)
		c->r->max_outstanding = c->outstanding;
	if (c->record && c->load->kind == VL_LOAD_PACED)
		vl_hist_add(&c->r->late, now > sched ? now - sched : 0);
	return DONE;
}

static int take_reply(struct vl_client *c, const union vl_buf *b, int n, uint64_t now)
{
	struct vl_slot *s = &c->slot[b->m.seq & c->mask];

	if (!vl_msg_ok(&b->m, n, VL_REQ_ACK) || (uint32_t)n != c->o->msg_bytes) {
		fprintf(stderr, VL_PROG ": %s/%s: wrong reply (%d bytes, kind %" PRIu32
				", seq %" PRIu64 ", check %s)\n",
			c->r->policy.name, c->load->name, n, b->m.kind, b->m.seq,
			b->m.check == vl_check(b->m.seq, b->m.kind) ? "ok" : "bad");
		return BAD;
	}
	if (!s->busy || s->seq != b->m.seq) {
		fprintf(stderr, VL_PROG ": %s/%s: reply to request #%" PRIu64
				", which is not outstanding (a duplicate?)\n",
			c->r->policy.name, c->load->name, b->m.seq);
		return BAD;
	}
	s->busy = false;
	c->outstanding--;
	if (c->record) {
		vl_hist_add(&c->r->lat, now - s->sched);
		if (c->load->kind == VL_LOAD_PACED)
			vl_hist_add(&c->r->service, now - s->sent);
		c->r->messages++;
	}
	/* The oldest outstanding request moves on past answered ones. */
	while (c->outstanding && !c->slot[c->oldest & c->mask].busy)
		c->oldest++;
	return DONE;
}

/* A missing reply: the oldest request has waited longer than allowed. */
static int check_missing(struct vl_client *c, uint64_t now)
{
	const struct vl_slot *s = &c->slot[c->oldest & c->mask];

	if (c->outstanding == 0 || now - s->sent < c->o->reply_timeout_ns)
		return NONE;
	fprintf(stderr, VL_PROG ": %s/%s: no reply to request #%" PRIu64 " after %.0f ms "
			"(%u outstanding)\n",
		c->r->policy.name, c->load->name, s->seq, (double)(now - s->sent) / 1e6,
		c->outstanding);
	return BAD;
}

/* Take one reply, waiting at most @timeout_ns: DONE, NONE (none yet) or
 * BAD. */
static int recv_reply(struct vl_client *c, uint64_t timeout_ns)
{
	union vl_buf b;
	int n = vr_chan_recv(c->ch, &b, sizeof(b), timeout_ns);
	uint64_t now = vl_now_ns();

	if (n > 0)
		return take_reply(c, &b, n, now);
	if (n == VR_ETIMEDOUT || n == VR_EAGAIN)
		return check_missing(c, now);
	return fail(c, "waiting for a reply", n);
}

/* Time left until the oldest request's reply is overdue (at least 1 ns). */
static uint64_t reply_wait(const struct vl_client *c, uint64_t now)
{
	uint64_t due = c->slot[c->oldest & c->mask].sent + c->o->reply_timeout_ns;

	return due > now ? due - now : 1;
}

static int drain(struct vl_client *c)
{
	while (c->outstanding) {
		if (recv_reply(c, reply_wait(c, vl_now_ns())) == BAD)
			return BAD;
	}
	return DONE;
}

static int run_single(struct vl_client *c, uint64_t end, uint64_t limit)
{
	uint64_t n;
	int r;

	for (n = 0; n < limit && vl_now_ns() < end; n++) {
		r = send_req(c, vl_now_ns(), c->o->reply_timeout_ns);
		if (r == NONE)
			r = fail(c, "sending a request", VR_ETIMEDOUT);
		if (r == BAD)
			return BAD;
		do
			r = recv_reply(c, reply_wait(c, vl_now_ns()));
		while (r == NONE);
		if (r == BAD)
			return BAD;
	}
	return DONE;
}

static int run_paced(struct vl_client *c, uint64_t start, uint64_t end, uint64_t limit)
{
	const uint64_t rate = c->load->rate;
	uint64_t k = 0, due = start, now, tmo;
	int r;

	for (;;) {
		bool sending = k < limit && due < end;

		now = vl_now_ns();
		if (!sending && c->outstanding == 0)
			return DONE;
		if (sending && now >= due && c->outstanding < c->window) {
			r = send_req(c, due, 0);
			if (r == DONE) {
				k++;
				/* k / rate seconds after the start, exactly: no
				 * drift from rounding a period, no overflow. */
				due = start + k / rate * 1000000000u +
				      k % rate * 1000000000u / rate;
				continue;
			}
			if (r == BAD)
				return BAD;
		}
		/* Take replies until the next request is due. */
		if (sending && c->outstanding < c->window)
			tmo = due > now ? due - now : 0;
		else
			tmo = c->outstanding ? reply_wait(c, now) : 0;
		if (c->outstanding && tmo > reply_wait(c, now))
			tmo = reply_wait(c, now);
		if (recv_reply(c, tmo) == BAD)
			return BAD;
	}
}

static int run_saturation(struct vl_client *c, uint64_t end, uint64_t limit)
{
	uint64_t n = 0;
	unsigned i;
	int r;

	for (;;) {
		bool sending = n < limit && vl_now_ns() < end;

		while (sending && c->outstanding < c->window && n < limit) {
			r = send_req(c, vl_now_ns(), 0);
			if (r == NONE)
				break;
			if (r == BAD)
				return BAD;
			n++;
		}
		if (c->outstanding == 0)
			return DONE;
		do
			r = recv_reply(c, reply_wait(c, vl_now_ns()));
		while (r == NONE);
		if (r == BAD)
			return BAD;
		/* Whatever else has arrived, without waiting. */
		for (i = 1; i < c->window && c->outstanding; i++) {
			r = recv_reply(c, 0);
			if (r == NONE)
				break;
			if (r == BAD)
				return BAD;
		}
	}
}

int vl_client_phase(struct vl_client *c, double seconds, uint64_t messages)
{
	uint64_t start = vl_now_ns();
	uint64_t end = start + (uint64_t)(seconds * 1e9);
	uint64_t limit = messages ? messages : UINT64_MAX;
	int r;

	switch (c->load->kind) {
	case VL_LOAD_SINGLE:
		r = run_single(c, end, limit);
		break;
	case VL_LOAD_PACED:
		r = run_paced(c, start, end, limit);
		break;
	default:
		r = run_saturation(c, end, limit);
		break;
	}
	if (r == DONE)
		r = drain(c);
	return r == DONE ? 0 : VL_EXIT_FAIL;
}

int vl_client_control(struct vl_client *c, uint32_t kind, void *reply, size_t cap)
{
	union vl_buf b;
	uint64_t seq = c->next_seq++;
	uint64_t t0 = vl_now_ns();
	int n;

	memset(&b.m, 0, sizeof(b.m));
	vl_msg_fill(&b.m, kind, seq);
	n = vr_chan_send(c->ch, &b, sizeof(b.m), c->o->reply_timeout_ns);
	if (n) {
		(void)fail(c, "sending a control message", n);
		return -1;
	}
	/* Its doorbell, if coalesced, goes now: nothing else will follow. */
	(void)vr_chan_flush(c->ch, VR_CHAN_TX);
	n = vr_chan_recv(c->ch, &b, sizeof(b), c->o->reply_timeout_ns);
	if (n < 0) {
		fprintf(stderr, VL_PROG ": %s/%s: no answer to %s after %.0f ms: %s (%s)\n",
			c->r->policy.name, c->load->name, kind == VL_START ? "START" : "STOP",
			(double)(vl_now_ns() - t0) / 1e6, vr_strerror(n), vr_errname(n));
		return -1;
	}
	if (!vl_msg_ok(&b.m, n, kind + 1) || b.m.seq != seq) {
		fprintf(stderr, VL_PROG ": %s/%s: wrong answer to %s (kind %" PRIu32
				", seq %" PRIu64 ")\n",
			c->r->policy.name, c->load->name, kind == VL_START ? "START" : "STOP",
			b.m.kind, b.m.seq);
		return -1;
	}
	memcpy(reply, &b, (size_t)n < cap ? (size_t)n : cap);
	return n;
}
