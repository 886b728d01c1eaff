/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Request/response matching (vring/frame.h): a small table of the sequence
 * numbers a side is waiting on, with deadlines in the caller's clock.
 * Freestanding: no clock, no allocation. The table is searched linearly:
 * it holds the requests in flight on one port (tens, not thousands), and a
 * linear scan over a few cache lines beats any index at that size.
 *
 * Finished requests (answered, expired, cancelled) keep their slot until a
 * new request needs it, the longest-finished first, so that an answer
 * arriving twice or after its deadline is told apart from one that answers
 * nothing the table knows.
 */
#include <vring/frame.h>

int vr_req_init(struct vr_req_table *t, struct vr_req_slot *slots, uint32_t n,
		uint32_t first_seq)
{
	uint32_t i;

	if (!t || !slots || n == 0)
		return VR_EINVAL;
	t->slot = slots;
	t->n = n;
	t->next_seq = first_seq ? first_seq : 1;
	t->pending = 0;
	t->tick = 0;
	t->st = (struct vr_req_stats){0};
	for (i = 0; i < n; i++)
		t->slot[i] = (struct vr_req_slot){0};
	return 0;
}

static struct vr_req_slot *vr__find(const struct vr_req_table *t, uint32_t seq)
{
	uint32_t i;

	if (seq == 0)
		return 0;
	for (i = 0; i < t->n; i++)
		if (t->slot[i].state != VR_REQ_FREE && t->slot[i].seq == seq)
			return &t->slot[i];
	return 0;
}

static void vr__finish(struct vr_req_table *t, struct vr_req_slot *s, uint32_t state)
{
	s->state = state;
	s->done_at = ++t->tick;
	t->pending--;
}

int vr_req_start(struct vr_req_table *t, uint64_t now, uint64_t timeout,
		 uint32_t *seq)
{
	struct vr_req_slot *use = 0;
	uint32_t i, s;

	if (!t || !seq)
		return VR_EINVAL;
	if (t->pending >= t->n)
		return VR_ENOSPC;
	/* A free slot, else the one finished longest ago. */
	for (i = 0; i < t->n; i++) {
		struct vr_req_slot *c = &t->slot[i];

		if (c->state == VR_REQ_FREE) {
			use = c;
			break;
		}
		if (c->state != VR_REQ_PENDING && (!use || c->done_at < use->done_at))
			use = c;
	}
	if (!use)
		return VR_ENOSPC; /* unreachable while pending < n */
	use->state = VR_REQ_FREE;
	/* The next number that is neither 0 nor still in the table (after a
	 * wrap of 2^32 requests an old slot may hold it). At most n + 1 tries. */
	do {
		s = t->next_seq++;
	} while (s == 0 || vr__find(t, s));
	use->seq = s;
	use->state = VR_REQ_PENDING;
	use->deadline = timeout > UINT64_MAX - now ? UINT64_MAX : now + timeout;
	use->done_at = 0;
	t->pending++;
	t->st.started++;
	*seq = s;
	return 0;
}

int vr_req_match(struct vr_req_table *t, uint32_t seq, uint64_t now)
{
	struct vr_req_slot *s;

	if (!t)
		return VR_EINVAL;
	s = vr__find(t, seq);
	if (!s || s->state == VR_REQ_CANCELLED) {
		t->st.unknown++;
		return VR_ENOMATCH;
	}
	switch (s->state) {
	case VR_REQ_PENDING:
		if (now >= s->deadline) {
			vr__finish(t, s, VR_REQ_EXPIRED);
			t->st.expired++;
			t->st.late++;
			return VR_ETIMEDOUT;
		}
		vr__finish(t, s, VR_REQ_ANSWERED);
		t->st.answered++;
		return 0;
	case VR_REQ_ANSWERED:
		t->st.duplicate++;
		return VR_EDUPLICATE;
	default: /* VR_REQ_EXPIRED */
		t->st.late++;
		return VR_ETIMEDOUT;
	}
}

int vr_req_expire(struct vr_req_table *t, uint64_t now, uint32_t *seq)
{
	uint32_t i;

	if (!t || !seq)
		return VR_EINVAL;
	for (i = 0; i < t->n; i++) {
		struct vr_req_slot *s = &t->slot[i];

		if (s->state == VR_REQ_PENDING && now >= s->deadline) {
			vr__finish(t, s, VR_REQ_EXPIRED);
			t->st.expired++;
			*seq = s->seq;
			return 0;
		}
	}
	return VR_EAGAIN;
}

int vr_req_cancel(struct vr_req_table *t, uint32_t seq)
{
	struct vr_req_slot *s;

	if (!t)
		return VR_EINVAL;
	s = vr__find(t, seq);
	if (!s || s->state != VR_REQ_PENDING)
		return VR_ENOMATCH;
	vr__finish(t, s, VR_REQ_CANCELLED);
	t->st.cancelled++;
	return 0;
}

int vr_req_state(const struct vr_req_table *t, uint32_t seq)
{
	const struct vr_req_slot *s;

	if (!t)
		return VR_EINVAL;
	s = vr__find(t, seq);
	return s ? (int)s->state : VR_REQ_FREE;
}

uint64_t vr_req_next_deadline(const struct vr_req_table *t)
{
	uint64_t d = UINT64_MAX;
	uint32_t i;

	if (!t)
		return d;
	for (i = 0; i < t->n; i++)
		if (t->slot[i].state == VR_REQ_PENDING && t->slot[i].deadline < d)
			d = t->slot[i].deadline;
	return d;
}

uint32_t vr_req_pending(const struct vr_req_table *t)
{
	return t ? t->pending : 0;
}

void vr_req_get_stats(const struct vr_req_table *t, struct vr_req_stats *out)
{
	if (t && out)
		*out = t->st;
}
