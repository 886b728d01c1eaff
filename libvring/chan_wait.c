/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The waiting side of a channel: what a blocking call does when its ring
 * has nothing for it. Three policies per queue: block at once (arm the
 * notification, look again, sleep on the doorbell), poll (spin on the ring,
 * never arm), or adaptive (spin for a budget, then block; the budget
 * follows the observed gaps, as KVM's halt polling does).
 *
 * The arm / look again / sleep order is what makes blocking safe: the arm
 * call stores this side's request, executes a full fence (F3 / F4 in
 * docs/ORDERING.md) and re-reads the ring; the peer publishes, executes
 * its full fence (F1 / F2) and reads the request. One of the two sees the
 * other, so either the look finds the work or the peer rings. model/
 * checks this in Promela, under TSO store buffers.
 */
#include "chan_internal.h"

/* Spin iterations between two reads of the clock while polling. */
#define SPIN_BATCH 16u
/* How often a spinning wait asks the transport whether the peer lives. */
#define PEER_CHECK_NS 1000000u

/* The state of one blocking call's wait loop; starts zeroed. */
struct vr__wait {
	bool last_look; /* the peer was reported dead: one more look first */
	bool spinning;  /* a spin phase has started */
	bool slept;     /* this call slept on the doorbell */
	bool woke;      /* the last sleep ended by a doorbell */
	uint64_t start_ns; /* when the spin phase (or the first wait) began */
	uint64_t peer_ns;  /* last time the peer's state was asked */
};

static uint64_t deadline_of(struct vr_chan *ch, uint64_t timeout_ns)
{
	uint64_t now;

	if (timeout_ns == VR_WAIT_FOREVER)
		return UINT64_MAX;
	now = ch->t->ops->now_ns(ch->t);
	return timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
}

/* Is the peer still there (transport's view, and for the device the
 * region's generation: a driver that reset the region means a new
 * session)? */
static int peer_check(struct vr_chan *ch)
{
	int st = ch->t->ops->peer_state(ch->t);

	if (st < 0)
		return st;
	if (vr__chan_stale(ch))
		return VR_EPEERDEAD;
	return 0;
}

/* After a first report of death, one more look collects the peer's last
 * words, unless this is a device whose session ended: the rings are the
 * next session's now, and it must not touch them. */
static bool one_more_look(struct vr_chan *ch, struct vr__wait *w)
{
	if (w->last_look || vr__chan_stale(ch))
		return false;
	w->last_look = true;
	return true;
}

/* Ask for a notification on @q, then look again: > 0 when work is there. */
static int arm(struct vr_chan *ch, uint32_t q)
{
	if (vr__chan_is_driver(ch))
		return vr__chan_is_packed(ch)
			       ? vr_packed_drv_arm_used_notify(&ch->pdrv[q])
			       : vr_split_drv_arm_used_notify(&ch->sdrv[q]);
	return vr__chan_is_packed(ch)
		       ? vr_packed_dev_arm_avail_notify(&ch->pdev[q])
		       : vr_split_dev_arm_avail_notify(&ch->sdev[q]);
}

void vr__chan_suppress(struct vr_chan *ch, uint32_t q)
{
	if (vr__chan_stale(ch))
		return; /* the rings are the next session's */
	if (vr__chan_is_driver(ch)) {
		if (vr__chan_is_packed(ch))
			vr_packed_drv_suppress_used_notify(&ch->pdrv[q]);
		else
			vr_split_drv_suppress_used_notify(&ch->sdrv[q]);
	} else {
		if (vr__chan_is_packed(ch))
			vr_packed_dev_suppress_avail_notify(&ch->pdev[q]);
		else
			vr_split_dev_suppress_avail_notify(&ch->sdev[q]);
	}
}

/* Spin budget of this wait: 0 for BLOCK, unbounded for POLL. */
static uint64_t spin_budget(const struct vr_chan *ch, uint32_t q)
{
	const struct vr__chan_qpol *p = &ch->pol[q];

	if (!VR_CONFIG_NOTIFY_POLICIES)
		return 0; /* only the blocking wait in this build */
	if (p->wait.mode == VR_WAIT_POLL)
		return UINT64_MAX;
	if (p->wait.mode == VR_WAIT_ADAPTIVE)
		return p->spin_budget;
	return 0;
}

/* Spin phase: returns 1 to look again, 0 when the budget is spent. */
static int spin(struct vr_chan *ch, uint32_t q, uint64_t now,
		struct vr__wait *w)
{
	uint64_t budget = spin_budget(ch, q);
	unsigned i;

	if (budget == 0)
		return 0;
	if (!w->spinning) {
		w->spinning = true;
		w->start_ns = now;
		vr__chan_count(ch, q, VR_RS_SPINS);
	}
	if (budget != UINT64_MAX && now - w->start_ns >= budget)
		return 0;
	for (i = 0; i < SPIN_BATCH; i++)
		vr__cpu_relax();
	return 1;
}

/* Nothing found on @q: spin, or arm / look again / sleep. 0: look again. */
static int wait_once(struct vr_chan *ch, uint32_t q, uint64_t timeout_ns,
		     uint64_t deadline, struct vr__wait *w)
{
	uint64_t now, sleep_ns, owed_ns;
	int r;

	if (w->woke) {
		/* Rung, yet the look found nothing. */
		vr__chan_count(ch, q, VR_RS_SPURIOUS);
		w->woke = false;
	}
	now = ch->t->ops->now_ns(ch->t);
	/* While spinning, ask the transport about the peer once per
	 * PEER_CHECK_NS only: that question may cost a system call. */
	if (!w->spinning || now - w->peer_ns >= PEER_CHECK_NS) {
		w->peer_ns = now;
		r = peer_check(ch);
		if (r == VR_EPEERDEAD && one_more_look(ch, w))
			return 0; /* its last words may have arrived */
		if (r)
			return r;
	}
	/* The peer cannot answer what it cannot see: this queue's batch goes
	 * out, with any doorbell owed on it, before this side waits. */
	vr__chan_flush_queue(ch, q);
	if (timeout_ns == 0)
		return VR_EAGAIN;
	if (deadline != UINT64_MAX && now >= deadline)
		return VR_ETIMEDOUT;
	owed_ns = vr__chan_owes(ch) ? vr__chan_pay_due(ch, now) : VR_WAIT_FOREVER;
	if (spin(ch, q, now, w))
		return 0;
	if (!w->spinning && !w->slept)
		w->start_ns = now;
	if (vr__chan_stale(ch))
		return VR_EPEERDEAD; /* arming writes into the rings */
	r = arm(ch, q);
	if (r != 0) {
		vr__chan_suppress(ch, q);
		return r > 0 ? 0 : vr__chan_break(ch, r);
	}
	sleep_ns = deadline == UINT64_MAX ? VR_WAIT_FOREVER : deadline - now;
	/* A doorbell this end owes the peer falls due during the sleep:
	 * wake up in time to ring it (no stranded message). */
	if (owed_ns < sleep_ns)
		sleep_ns = owed_ns;
	vr__chan_count(ch, q, VR_RS_WAITS);
	w->slept = true;
	r = ch->t->ops->wait(ch->t, q, sleep_ns);
	vr__chan_suppress(ch, q);
	if (r == 0 && !(ch->t->flags & VR_TRANSPORT_POLLING)) {
		vr__chan_count(ch, q, VR_RS_WAKEUPS);
		w->woke = true;
	}
	/* A timeout here is decided by the next round, after one more look;
	 * so is a first report of death (see above). */
	if (r == VR_ETIMEDOUT)
		return 0;
	if (r == VR_EPEERDEAD && one_more_look(ch, w))
		return 0;
	return r;
}

/* Adaptive spinning, after the look that ended a wait found work. A spin
 * that found it is a hit. A sleep means the budget was too short for this
 * gap: double it if a spin of at most spin_max_ns would have caught the
 * work, halve it if not (spinning that long would have been waste). */
static void found(struct vr_chan *ch, uint32_t q, struct vr__wait *w)
{
	struct vr__chan_qpol *p = &ch->pol[q];
	uint64_t gap;

	w->woke = false;
	if (w->spinning && !w->slept)
		vr__chan_count(ch, q, VR_RS_SPIN_HITS);
	if (!VR_CONFIG_NOTIFY_POLICIES || p->wait.mode != VR_WAIT_ADAPTIVE ||
	    !p->wait.adapt || !w->slept)
		return;
	gap = ch->t->ops->now_ns(ch->t) - w->start_ns;
	if (gap <= p->wait.spin_max_ns) {
		uint64_t grown = (uint64_t)p->spin_budget * 2u;

		if (grown < p->wait.spin_min_ns)
			grown = p->wait.spin_min_ns;
		if (grown < gap)
			grown = gap + gap / 4u;
		p->spin_budget = (uint32_t)(grown > p->wait.spin_max_ns
						    ? p->wait.spin_max_ns
						    : grown);
	} else {
		p->spin_budget /= 2u;
		if (p->spin_budget < p->wait.spin_min_ns)
			p->spin_budget = p->wait.spin_min_ns;
	}
}

int vr__chan_wait_for(struct vr_chan *ch, uint32_t q, uint64_t timeout_ns,
		      int (*look)(struct vr_chan *ch, uint32_t q, void *arg),
		      void *arg)
{
	uint64_t deadline = deadline_of(ch, timeout_ns);
	struct vr__wait w = {0};
	int r;

	for (;;) {
		r = look(ch, q, arg);
		if (r > 0) {
			found(ch, q, &w);
			return 0;
		}
		if (r < 0)
			return r;
		r = wait_once(ch, q, timeout_ns, deadline, &w);
		if (r)
			return r;
	}
}

int vr_chan_set_wait_policy(struct vr_chan *ch, uint32_t q,
			    const struct vr_wait_policy *pol)
{
	if (!ch || !pol || q > VR_CHAN_RX || pol->mode > VR_WAIT_ADAPTIVE)
		return VR_EINVAL;
	if (!VR_CONFIG_NOTIFY_POLICIES && pol->mode != VR_WAIT_BLOCK)
		return VR_ENOTSUP; /* configured out (vring/config.h) */
	if (pol->mode == VR_WAIT_ADAPTIVE && pol->adapt &&
	    (pol->spin_min_ns > pol->spin_ns || pol->spin_ns > pol->spin_max_ns))
		return VR_EINVAL;
	ch->pol[q].wait = *pol;
	ch->pol[q].spin_budget = pol->mode == VR_WAIT_ADAPTIVE ? pol->spin_ns : 0;
	/* A poller never sleeps: tell the peer not to ring. */
	if (pol->mode == VR_WAIT_POLL && !ch->broken)
		vr__chan_suppress(ch, q);
	return 0;
}

int vr_chan_get_policy(const struct vr_chan *ch, uint32_t q,
		       struct vr_notify_policy *notify,
		       struct vr_wait_policy *wait)
{
	if (!ch || q > VR_CHAN_RX)
		return VR_EINVAL;
	if (notify)
		*notify = ch->pol[q].notify;
	if (wait)
		*wait = ch->pol[q].wait;
	return 0;
}
