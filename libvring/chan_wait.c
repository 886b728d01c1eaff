/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The waiting side of a channel: what a blocking call does when its ring
 * has nothing for it. Three policies per queue: block at once (arm the
 * notification, look again, sleep on the doorbell), poll (spin on the ring,
 * never arm), or adaptive (spin for a budget, then block; the budget is
 * chosen from the recent gaps and the measured cost of a wake-up, see
 * "Adaptive waiting" below).
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
	bool started;   /* the first look found nothing: this is a wait */
	bool spinning;  /* a spin phase has started */
	bool slept;     /* this call slept on the doorbell */
	bool woke;      /* the last sleep ended by a doorbell */
	bool probe;     /* adaptive: this wait spins the probe budget */
	uint64_t budget;   /* spin budget of this wait, ns */
	uint64_t start_ns; /* when the wait began (the first empty look) */
	uint64_t last_ns;  /* the clock at the last round of the loop */
	uint64_t lost_ns;  /* adaptive: time the spin lost to preemption */
	uint64_t spun_ns;  /* how long the spin phase lasted, once over */
	uint64_t peer_ns;  /* last time the peer's state was asked */
};

/* ---- Adaptive waiting --------------------------------------------------- */

/*
 * A wait costs either its spin (the time until the work came, or the whole
 * budget when it did not) or, when the budget runs out first, a sleep: the
 * waiter's wake-up latency, paid by every message that is waiting when it
 * wakes, plus about as much CPU for going to sleep and waking up (on the
 * machines measured, the CPU of an eventfd wake-up is within a factor of
 * two of its latency). So a miss costs K = 2 W, W the measured wake-up
 * cost; and W more for every message of the backlog B beyond the first
 * BACKLOG_FREE. B is the run of messages the queue takes after a wait
 * found work, up to its next wait (averaged; 1 to start with, and always
 * without VR_CONFIG_STATS, whose consumed count it reads): how many
 * messages a peer sends in a row, which are what a sleep at the head of
 * the run delays. A saturating peer keeps the ring busy: runs in the
 * hundreds, each message of which would wait for the wake-up, and the
 * spin wins. A paced peer's runs are a message or a few (about 5 after a
 * sleep at 100k requests/s), and there the tail latency is set by the
 * peer's own pacing more than by this side's wake-up: spinning bought no
 * p99 at 1.4x the CPU (vring_latency, 2026-12-06), so those few cost
 * nothing extra. Runs after spins count as well as runs after sleeps, so
 * a queue that spins still sees its runs shorten. A budget b costs, per
 * wait,
 *
 *     E[min(gap, b)] + P(gap > b) K,   against K for blocking at once.
 *
 * Both terms come from a histogram of recent gaps in log2 buckets, so the
 * choice is a scan of twelve buckets with integer multiply and add, every
 * GAP_CHOOSE waits (no division, no floating point). A spin that saves
 * less than an eighth of the cost of blocking is not worth its certain
 * CPU against an estimated saving: the queue blocks. Among the budgets
 * within one eighth of the best saving, the longest wins: what a longer
 * spin still catches are the slow percentiles, and they are what a tail
 * latency is made of. A spin that found the work, or a deadline that
 * ended the wait, measured its gap; a spin that missed knows a lower
 * bound; a wait that slept without spinning only estimates it (the
 * sleep's length less W), and that estimate counts a quarter. While the
 * budget is short of the longest useful spin (min(K, spin_max_ns)), now
 * and then a wait spins that long anyway (a probe): a blocking queue sees
 * its gaps only through its own wake-ups, whose cost is an estimate, and
 * the probe checks what a spin would catch.
 *
 * A spin runs only while its thread has a CPU. When the CPU is shared with
 * other work, a spinning thread uses up its share and is preempted, for
 * milliseconds, with work waiting: a cost a sleeper does not pay (the
 * scheduler favours a thread that wakes up). A round of the spin loop
 * takes well under a microsecond, so one that took over PREEMPT_NS lost
 * its CPU; the queue keeps the recent spinning time R and the part of it
 * lost L, and a spin of s is charged s (1 + L / R): compared, without a
 * division, as gain R against cost (R + L). Quiet, L is about 0; on a
 * CPU shared with busy work the queue learns to block.
 *
 * All of it is this queue's own state, written only by the thread that
 * waits on the queue (the one that calls the blocking call), so plain
 * loads and stores; the clock is the transport's now_ns.
 */
#define GAP_EXACT 16u   /* weight of a gap a spin or a deadline measured */
#define GAP_GUESS 4u    /* weight of a gap estimated across a sleep */
#define GAP_MASS 1024u  /* halve the histogram beyond this (ageing) */
#define GAP_CHOOSE 8u   /* choose the budget again every this many gaps */
/* One wait in 2^PROBE_SHIFT spins the probe budget; each probe that
 * misses doubles the interval, up to 2^PROBE_SHIFT_MAX (a queue whose
 * gaps are long wastes almost nothing on probes), a hit resets it. */
#define PROBE_SHIFT 5u
#define PROBE_SHIFT_MAX 10u
/* One sleep in 2^MEASURE_SHIFT is cut to MEASURE_NS: how late the timer
 * returns is what a wake-up costs (from an event to running again). The
 * interval doubles with each measurement up to 2^MEASURE_SHIFT_MAX: a
 * measuring sleep costs one more wake-up. */
#define MEASURE_SHIFT 4u
#define MEASURE_SHIFT_MAX 9u
#define MEASURE_NS 1000u
#define WAKE_MAX_NS (1u << 24) /* bound of the estimate (16 ms) */
#define PREEMPT_NS 50000u      /* a spin round this long was preempted */
#define RUN_MAX (1u << 14)     /* halve R and L beyond this (16 ms) */
#define LOST_MAX (1u << 22)    /* bound of L (4 s) */
#define LOST_AGE 64u           /* halve L every this many choices */
#define BACKLOG_MAX 255u       /* bound of B (messages) */
#define BACKLOG_FREE 8u        /* a backlog this long costs no more than 2 W */
#define MISS_MAX (1u << 20)    /* bound of K, units of 128 ns (134 ms) */

static bool adapting(const struct vr_chan *ch, uint32_t q)
{
	return VR_CONFIG_NOTIFY_POLICIES && ch->pol[q].wait.mode == VR_WAIT_ADAPTIVE &&
	       ch->pol[q].wait.adapt;
}

/* Bucket of a gap: 0 below 256 ns, k for [128 << k, 256 << k), the last
 * for 256 us and more. */
static unsigned gap_bucket(uint64_t gap_ns)
{
	uint64_t g = gap_ns >> 8;
	unsigned k = 0;

	while (g && k < VR__GAP_BUCKETS - 1u) {
		g >>= 1;
		k++;
	}
	return k;
}

/* The longest spin worth trying: a miss costs 2 W, and no budget above
 * spin_max_ns is allowed. */
static uint64_t probe_budget(const struct vr__chan_qpol *p)
{
	uint64_t k = (uint64_t)p->wake_ns * 2u;

	return k < p->wait.spin_max_ns ? k : p->wait.spin_max_ns;
}

/* The cost of a miss, K = (2 + max(0, B - BACKLOG_FREE)) W, in units of
 * 128 ns, at most MISS_MAX: W in those units is at most 2^17 (WAKE_MAX_NS)
 * and the factor in sixteenths below 2^12, so the product fits 32 bits. */
static uint32_t miss_cost(const struct vr__chan_qpol *p)
{
	const uint32_t free16 = BACKLOG_FREE << 4;
	uint32_t f16 = 32u + (p->backlog16 > free16 ? p->backlog16 - free16 : 0u);
	uint32_t k = ((p->wake_ns >> 7) * f16) >> 4;

	return k < MISS_MAX ? k : MISS_MAX;
}

/* Choose the budget that minimises the expected cost of a wait (see
 * above), then age the histogram. In units of 128 ns, 32 bits suffice:
 * the histogram holds under 2^11 (GAP_MASS, plus GAP_CHOOSE gaps), a
 * miss costs at most MISS_MAX (2^20 units), the middle of a bucket and a
 * spin's budget are below 2^11 units. */
static void gap_choose(struct vr__chan_qpol *p)
{
	const uint32_t miss = miss_cost(p); /* K */
	const uint32_t cap = p->wait.spin_max_ns;
	/* Preemption: gain x R against cost x (R + L), in 64 bits (under
	 * 2^29 x 2^15 and 2^23 x 2^23). */
	const uint32_t run = p->spin_run ? p->spin_run : 1u;
	const uint32_t with_lost = p->spin_run ? p->spin_run + p->spin_lost : 1u;
	uint64_t saved[VR__GAP_BUCKETS - 1u], best = 0;
	uint32_t total = 0, hits = 0, spun = 0, budget;
	unsigned k, n, pick = 0;

	for (k = 0; k < VR__GAP_BUCKETS; k++)
		total += p->gap_hist[k];
	for (n = 0; n < VR__GAP_BUCKETS - 1u; n++) {
		uint32_t edge = 2u << n, gain, cost;

		/* A bucket starting at or above the cap cannot be caught. */
		if (n > 0 && (128u << n) >= cap)
			break;
		if (edge > cap >> 7)
			edge = cap >> 7;
		hits += p->gap_hist[n];
		/* Spin time of the gaps caught: the bucket's middle. */
		spun += p->gap_hist[n] * (n ? 3u << (n - 1u) : 1u);
		gain = miss * hits;
		cost = spun + (total - hits) * edge;
		/* 32 x 32 -> 64 products (vr__mul32_wide: no libgcc call on
		 * Cortex-M0+). */
		{
			uint64_t g = vr__mul32_wide(gain, run),
				 c = vr__mul32_wide(cost, with_lost);

			saved[n] = g > c ? g - c : 0;
		}
		if (saved[n] > best)
			best = saved[n];
	}
	/* A spin must save at least an eighth of what blocking costs: its
	 * CPU is certain, the wake-up it saves an estimate (W from a timer,
	 * gaps from bucket middles), and a queue that blocks frees its CPU.
	 * Close calls block. */
	if (best <= vr__mul32_wide(miss * total, run) >> 3) {
		budget = p->wait.spin_min_ns;
	} else {
		for (k = 0; k < n; k++)
			if (saved[k] >= best - (best >> 3))
				pick = k;
		budget = 256u << pick;
		if (budget > cap)
			budget = cap;
		if (budget < p->wait.spin_min_ns)
			budget = p->wait.spin_min_ns;
	}
	p->spin_budget = budget;
	if (total > GAP_MASS)
		for (k = 0; k < VR__GAP_BUCKETS; k++)
			p->gap_hist[k] >>= 1;
	/* While the queue blocks it has no new spinning to weigh its old
	 * preemptions against: they fade (spinning, R and L age together,
	 * see spin_account). */
	if (budget == 0 && (++p->chosen & (LOST_AGE - 1u)) == 0)
		p->spin_lost >>= 1;
}

/* A wait that spun ends: add its spinning time and what it lost. */
static void spin_account(struct vr__chan_qpol *p, const struct vr__wait *w)
{
	uint64_t wall, lost = w->lost_ns >> 10, run;

	if (!w->spinning)
		return;
	wall = w->slept ? w->spun_ns : w->last_ns - w->start_ns;
	run = wall > w->lost_ns ? (wall - w->lost_ns) >> 10 : 0;
	p->spin_run += (uint32_t)(run < RUN_MAX ? run : RUN_MAX);
	p->spin_lost += (uint32_t)(lost < LOST_MAX ? lost : LOST_MAX);
	if (p->spin_lost > LOST_MAX)
		p->spin_lost = LOST_MAX;
	if (p->spin_run > RUN_MAX) {
		p->spin_run >>= 1;
		p->spin_lost >>= 1;
	}
}

/* Record one gap of @weight; every GAP_CHOOSE gaps, choose again. */
static void gap_add(struct vr__chan_qpol *p, uint64_t gap_ns, unsigned weight)
{
	p->gap_hist[gap_bucket(gap_ns)] += (uint16_t)weight;
	if (++p->gap_new >= GAP_CHOOSE) {
		p->gap_new = 0;
		gap_choose(p);
	}
}

/* A measurement of the wake-up cost, @late_ns: how late a timed sleep
 * returned (@timer), or how long a sleep that a doorbell ended lasted
 * (an upper bound: the work may have come after the arm). Timer samples
 * move the estimate both ways (by a quarter); a doorbell sleep shorter
 * than the estimate pulls it down (by an eighth), a longer one says
 * nothing. */
VR__SIZE_NOINLINE void wake_sample(struct vr__chan_qpol *p, uint64_t late_ns, bool timer)
{
	uint32_t w = p->wake_ns;
	uint32_t x = late_ns < WAKE_MAX_NS ? (uint32_t)late_ns : WAKE_MAX_NS;

	if (x < w)
		w -= (w - x) >> (timer ? 2 : 3);
	else if (timer)
		w += (x - w) >> 2;
	p->wake_ns = w;
}

/* A wait ends with a gap of @gap_ns seen with @weight: its spinning is
 * accounted, then the gap recorded. */
static void gap_end(struct vr__chan_qpol *p, const struct vr__wait *w,
		    uint64_t gap_ns, unsigned weight)
{
	spin_account(p, w);
	gap_add(p, gap_ns, weight);
}

/* The spin budget of a wait that begins: 0 for BLOCK, unbounded for POLL;
 * adaptive: the chosen budget, or now and then the probe budget. */
VR__SIZE_NOINLINE uint64_t wait_budget(struct vr_chan *ch, uint32_t q, struct vr__wait *w)
{
	struct vr__chan_qpol *p = &ch->pol[q];
	uint64_t probe;

	if (!VR_CONFIG_NOTIFY_POLICIES)
		return 0; /* only the blocking wait in this build */
	if (p->wait.mode == VR_WAIT_POLL)
		return UINT64_MAX;
	if (p->wait.mode != VR_WAIT_ADAPTIVE)
		return 0;
	if (!p->wait.adapt)
		return p->wait.spin_ns;
	probe = probe_budget(p);
	if (p->spin_budget < probe && --p->probe_in == 0) {
		/* How this probe ends sets the next interval (found / timed
		 * out); until then, the same one again. */
		p->probe_in = (uint16_t)(1u << p->probe_shift);
		w->probe = true;
		return probe;
	}
	return p->spin_budget;
}

/* A wait ended after at least one sleep, at @now: the gap is estimated
 * (a probe that missed knows it was longer than any useful budget). */
static void gap_after_sleep(struct vr__chan_qpol *p, struct vr__wait *w,
			    uint64_t now)
{
	uint64_t gap = now - w->start_ns - w->lost_ns;

	gap = gap > p->wake_ns ? gap - p->wake_ns : 0;
	if (gap <= w->budget)
		gap = w->budget + 1u; /* the spin did not catch it */
	if (w->probe) {
		if (gap < w->budget * 2u)
			gap = w->budget * 2u;
		if (p->probe_shift < PROBE_SHIFT_MAX)
			p->probe_shift++;
		p->probe_in = (uint16_t)(1u << p->probe_shift);
	}
	/* A spin that missed is sure the gap was longer than its budget:
	 * full weight; without a spin, the gap is all estimate. */
	gap_end(p, w, gap, w->budget ? GAP_EXACT : GAP_GUESS);
}

/* This queue's consumed count: what it has taken from its ring.
 * vr__chan_peek's relaxed load: this thread is the count's only writer
 * (vr__chan_count), so it reads its own last store. */
static uintptr_t consumed(struct vr_chan *ch, uint32_t q)
{
	return (uintptr_t)vr__chan_peek(&ch->qs[q].c[VR_RS_CONSUMED]);
}

/* A wait ended with work found: the run that follows begins (it counts
 * toward B, see "Adaptive waiting"). */
static void run_open(struct vr_chan *ch, uint32_t q)
{
	struct vr__chan_qpol *p = &ch->pol[q];

	if (!VR_CONFIG_STATS)
		return; /* nothing counted: B stays 1 */
	p->run_from = consumed(ch, q);
	p->run_open = true;
}

/* A wait begins: the run after the last wait, if one is open, ends here
 * with B messages taken; B moves the average by an eighth. */
static void run_close(struct vr_chan *ch, uint32_t q)
{
	struct vr__chan_qpol *p = &ch->pol[q];
	uintptr_t b;
	uint32_t b16;

	if (!p->run_open)
		return;
	p->run_open = false;
	b = consumed(ch, q) - p->run_from;
	b16 = (b < BACKLOG_MAX ? (uint32_t)b : BACKLOG_MAX) << 4;
	p->backlog16 = (uint16_t)((int32_t)p->backlog16 +
				  ((int32_t)b16 - (int32_t)p->backlog16) / 8);
}

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

/* Spin phase: returns 1 to look again, 0 when the budget is spent. */
static int spin(struct vr_chan *ch, uint32_t q, uint64_t now,
		struct vr__wait *w)
{
	uint64_t budget = w->budget;
	unsigned i;

	if (budget == 0 || w->slept)
		return 0;
	if (!w->spinning) {
		w->spinning = true;
		vr__chan_count(ch, q, VR_RS_SPINS);
	}
	if (budget != UINT64_MAX && now - w->start_ns >= budget) {
		w->spun_ns = now - w->start_ns;
		return 0;
	}
	for (i = 0; i < SPIN_BATCH; i++)
		vr__cpu_relax();
	return 1;
}

/* Nothing found on @q: spin, or arm / look again / sleep. 0: look again. */
static int wait_once(struct vr_chan *ch, uint32_t q, uint64_t timeout_ns,
		     uint64_t deadline, struct vr__wait *w)
{
	struct vr__chan_qpol *p = &ch->pol[q];
	uint64_t now, sleep_ns, owed_ns;
	bool measure;
	int r;

	if (w->woke) {
		/* Rung, yet the look found nothing. */
		vr__chan_count(ch, q, VR_RS_SPURIOUS);
		w->woke = false;
	}
	now = ch->t->ops->now_ns(ch->t);
	/* A spin round that took this long lost its CPU (see above). */
	if (VR_CONFIG_NOTIFY_POLICIES) {
		if (w->spinning && !w->slept && now - w->last_ns > PREEMPT_NS)
			w->lost_ns += now - w->last_ns;
		w->last_ns = now;
	}
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
	/* Without the policies every wait blocks at once: no budget, no
	 * gap to measure. */
	if (VR_CONFIG_NOTIFY_POLICIES && !w->started) {
		w->started = true;
		w->start_ns = now;
		if (adapting(ch, q))
			run_close(ch, q);
		w->budget = wait_budget(ch, q, w);
	}
	if (deadline != UINT64_MAX && now >= deadline)
		return VR_ETIMEDOUT;
	owed_ns = vr__chan_owes(ch) ? vr__chan_pay_due(ch, now) : VR_WAIT_FOREVER;
	if (VR_CONFIG_NOTIFY_POLICIES && spin(ch, q, now, w))
		return 0;
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
	/* Adaptive: now and then a short timed sleep, to measure how late a
	 * wake-up comes (the doorbell still ends it early). */
	measure = adapting(ch, q) && !(ch->t->flags & VR_TRANSPORT_POLLING);
	if (measure && --p->measure_in == 0) {
		if (p->measure_shift < MEASURE_SHIFT_MAX)
			p->measure_shift++;
		p->measure_in = (uint16_t)(1u << p->measure_shift);
		if (sleep_ns > MEASURE_NS)
			sleep_ns = MEASURE_NS;
	}
	vr__chan_count(ch, q, VR_RS_WAITS);
	w->slept = true;
	r = ch->t->ops->wait(ch->t, q, sleep_ns);
	vr__chan_suppress(ch, q);
	if (r == 0 && !(ch->t->flags & VR_TRANSPORT_POLLING)) {
		vr__chan_count(ch, q, VR_RS_WAKEUPS);
		w->woke = true;
	}
	/* Adaptive: what this sleep says about the cost of a wake-up. */
	if (measure &&
	    (r == 0 || (r == VR_ETIMEDOUT && sleep_ns != VR_WAIT_FOREVER))) {
		uint64_t then = ch->t->ops->now_ns(ch->t) - now;

		if (r == 0)
			wake_sample(p, then, false);
		else if (then >= sleep_ns)
			wake_sample(p, then - sleep_ns, true);
	}
	/* A timeout here is decided by the next round, after one more look;
	 * so is a first report of death (see above). */
	if (r == VR_ETIMEDOUT)
		return 0;
	if (r == VR_EPEERDEAD && one_more_look(ch, w))
		return 0;
	return r;
}

/* The look that ended a wait found work. A spin that found it is a hit;
 * an adaptive queue records the gap. */
static void found(struct vr_chan *ch, uint32_t q, struct vr__wait *w)
{
	w->woke = false;
	if (w->spinning && !w->slept)
		vr__chan_count(ch, q, VR_RS_SPIN_HITS);
	if (!adapting(ch, q) || !w->started)
		return;
	if (!w->slept) {
		if (w->probe) {
			ch->pol[q].probe_shift = PROBE_SHIFT;
			ch->pol[q].probe_in = 1u << PROBE_SHIFT;
		}
		gap_end(&ch->pol[q], w, w->last_ns - w->start_ns - w->lost_ns, GAP_EXACT);
	} else
		gap_after_sleep(&ch->pol[q], w, ch->t->ops->now_ns(ch->t));
	run_open(ch, q);
}

/* The wait reached its deadline: a spin that long would have ended it,
 * so for an adaptive queue that is a gap seen exactly. */
static void timed_out(struct vr_chan *ch, uint32_t q, uint64_t deadline,
		      const struct vr__wait *w)
{
	if (adapting(ch, q) && w->started && deadline != UINT64_MAX &&
	    deadline >= w->start_ns) {
		gap_end(&ch->pol[q], w, deadline - w->start_ns, GAP_EXACT);
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
		if (r == VR_ETIMEDOUT)
			timed_out(ch, q, deadline, &w);
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
	if (adapting(ch, q)) {
		/* No gaps seen yet; a wake-up is assumed to cost half the
		 * longest spin until one is measured. */
		struct vr__chan_qpol *p = &ch->pol[q];

		vr__zero(p->gap_hist, sizeof(p->gap_hist));
		p->wake_ns = pol->spin_max_ns / 2u;
		if (p->wake_ns > WAKE_MAX_NS)
			p->wake_ns = WAKE_MAX_NS;
		p->gap_new = 0;
		p->probe_shift = PROBE_SHIFT;
		p->probe_in = 1u << PROBE_SHIFT;
		p->measure_shift = MEASURE_SHIFT;
		p->measure_in = 1u << MEASURE_SHIFT;
		p->spin_run = 0;
		p->spin_lost = 0;
		p->chosen = 0;
		p->backlog16 = 16u; /* B = 1 until a run after a sleep says */
		p->run_open = false;
	}
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
