/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The message channel: two queues of a region, the driver's buffer pool,
 * open, reset, and the calls. Publishing and doorbells are in
 * chan_notify.c, waiting in chan_wait.c. Freestanding: the
 * only library calls are memcpy and memset (as builtins).
 */
#include "chan_internal.h"

#define vr__copy(d, s, n) __builtin_memcpy((d), (s), (n))

/* ch->broken is set by whichever thread meets a violation and read by the
 * other one (a sender and a receiver may share an end). Relaxed: it is a
 * stop sign, not a publication; the thread that sets it has stopped using
 * the rings. */
static int broken_of(const struct vr_chan *ch)
{
	return VR__LOAD((VR__ATOMIC(int) *)(void *)&((struct vr_chan *)ch)->broken,
			VR__MO(relaxed));
}

static void set_broken(struct vr_chan *ch, int err)
{
	VR__STORE((VR__ATOMIC(int) *)(void *)&ch->broken, err, VR__MO(relaxed));
}

/* A counter with one writer (see struct vr__chan_qstats): a relaxed load
 * and store, read from any thread by vr_chan_get_stats. */
static void bump(uintptr_t *c)
{
	VR__ATOMIC(uintptr_t) *a = (VR__ATOMIC(uintptr_t) *)(void *)c;

	if (VR_CONFIG_STATS)
		VR__STORE(a, VR__LOAD(a, VR__MO(relaxed)) + 1, VR__MO(relaxed));
}

#if defined(__OPTIMIZE_SIZE__)
bool vr__chan_stale(struct vr_chan *ch)
{
	return vr__chan_stale_inline(ch); /* the one compiled copy */
}
#endif

/* Driver buffer states. */
enum {
	BUF_FREE = 0,     /* TX, available to send */
	BUF_RESERVED = 1, /* TX, lent to the application to fill */
	BUF_INFLIGHT = 2, /* TX, sent, not yet acknowledged */
	BUF_POSTED = 3,   /* RX, offered to the device */
	BUF_RECEIVED = 4, /* RX, filled by the device, in the backlog */
	BUF_BORROWED = 5, /* RX, lent to the application */
	BUF_RESENT = 6,   /* TX, in flight, already resubmitted by this reset */
	BUF_UNUSED = 7    /* beyond what the rings can hold at once */
};

#ifdef __OPTIMIZE_SIZE__
void vr__chan_count_call(struct vr_chan *ch, uint32_t q,
			 enum vr_region_stat which)
{
	vr__chan_count_here(ch, q, which);
}
#endif

static unsigned char *buf_ptr(const struct vr_chan *ch, uint32_t i)
{
	return ch->base + vr_region_buf_addr(&ch->info, i);
}

static uint32_t rx_bufs(const struct vr_chan *ch)
{
	return ch->rx_end - ch->tx_bufs;
}

/* Drop the oldest backlog entry (no divide: small MCUs have none). */
static void backlog_pop(struct vr_chan *ch)
{
	if (++ch->backlog_head == rx_bufs(ch))
		ch->backlog_head = 0;
	ch->backlog_count--;
}

/* ---- Format dispatch ------------------------------------------------------ */

static size_t queue_state_size(uint32_t role, uint32_t format, uint32_t num)
{
	/* Constants when a format or role is configured out, so only the
	 * sizes of what this build carries are linked. */
	bool packed = VR_CONFIG_SPLIT ? VR_CONFIG_PACKED && format == VR_FORMAT_PACKED : true;
	bool driver = VR_CONFIG_DEVICE ? VR_CONFIG_DRIVER && role == VR_ROLE_DRIVER : true;

	if (packed)
		return driver ? vr_packed_drv_state_size(num) : vr_packed_dev_state_size(num);
	return driver ? vr_split_drv_state_size(num) : vr_split_dev_state_size(num);
}

static int q_init(struct vr_chan *ch, uint32_t q)
{
	const struct vr_region_queue *rq = &ch->info.queue[q];
	struct vr_queue_cfg qc;
	void *desc, *drv, *dev;

	vr__zero(&qc, sizeof(qc));
	qc.num = ch->info.queue[q].size;
	qc.features = ch->features;
	qc.flags = ch->cfg.queue_flags;
	qc.mem = vr_region_pool_window(ch->base, &ch->info);
	/* The areas straight from the parsed table (what
	 * vr_region_*_areas() return): the queue exists and has the
	 * channel's format (plan_state checked both). */
	desc = ch->base + rq->desc_off;
	drv = ch->base + rq->driver_off;
	dev = ch->base + rq->device_off;
	/* The region parser and plan_state checked what the public
	 * vr_*_init would (the sizes, areas and state; the state is
	 * 16-aligned and qstate_len long), so the unchecked binding
	 * suffices. */
	if (vr__chan_is_packed(ch)) {
		struct vr_packed_areas a;

		a.desc = desc;
		a.driver_event = drv;
		a.device_event = dev;
		return vr__chan_is_driver(ch)
			? vr__packed_drv_init_parsed(&ch->pdrv[q], &qc, &a, ch->qstate[q])
			: vr__packed_dev_init_parsed(&ch->pdev[q], &qc, &a, ch->qstate[q]);
	} else {
		struct vr_split_areas a;

		a.desc = desc;
		a.avail = drv;
		a.used = dev;
		return vr__chan_is_driver(ch)
			? vr__split_drv_init_parsed(&ch->sdrv[q], &qc, &a, ch->qstate[q])
			: vr__split_dev_init_parsed(&ch->sdev[q], &qc, &a, ch->qstate[q]);
	}
}

/* Stop using the channel after a protocol violation, and say so in the
 * region (NEEDS_RESET) so that the peer and tools can see it. */
int vr__chan_break(struct vr_chan *ch, int err)
{
	enum vr_region_field f = vr__chan_is_driver(ch) ? VR_RH_DRIVER_STATUS
					       : VR_RH_DEVICE_STATUS;

	if (!vr_is_protocol_error(err) && err != VR_E2BIG)
		return err;
	set_broken(ch, err);
	if (VR_CONFIG_STATS) {
		vr_region_stat_store(ch->rstats[VR_CHAN_TX], VR_RS_ERROR, (uint32_t)err);
		vr_region_stat_store(ch->rstats[VR_CHAN_RX], VR_RS_ERROR, (uint32_t)err);
	}
	vr_region_store(ch->base, f, vr_region_load(ch->base, f) | VR_STATUS_NEEDS_RESET);
	return err;
}

/* One buffer added to a queue of either format, readable (@tx: the TX
 * queue) or writable (RX): a chain of one descriptor, which the compiler
 * sees (n_out + n_in is 1). Functions of their own in size builds: the
 * queue's fields are addressed from its own pointer, not recomputed from
 * the channel's (inlined where speed was asked for). */
VR__CHAN_QUEUE_FN int packed_add(struct vr_packed_drv *d, const struct vr_seg *seg,
				 bool tx, void *cookie)
{
	return vr_packed_drv_add(d, seg, tx, !tx, cookie);
}

VR__CHAN_QUEUE_FN int split_add(struct vr_split_drv *d, const struct vr_seg *seg,
				bool tx, void *cookie)
{
	return vr_split_drv_add(d, seg, tx, !tx, cookie);
}

/* Driver: add one buffer to queue @q (readable on TX, writable on RX) and
 * publish it (now, or with its batch). */
static int drv_post(struct vr_chan *ch, uint32_t q, uint32_t idx, uint32_t len)
{
	struct vr_seg seg;
	int r;

	seg.addr = vr_region_buf_addr(&ch->info, idx);
	seg.len = len;
	if (vr__chan_is_packed(ch)) {
		r = packed_add(&ch->pdrv[q], &seg, q == VR_CHAN_TX,
			       (void *)(uintptr_t)(idx + 1));
		if (r < 0)
			return r;
	} else {
		r = split_add(&ch->sdrv[q], &seg, q == VR_CHAN_TX,
			      (void *)(uintptr_t)(idx + 1));
		if (r < 0)
			return r;
	}
	vr__chan_published(ch, q);
	return 0;
}

/* Used buffers a driver collects per call (on the stack); one at a time in
 * size builds (see drv_collect). */
#ifndef __OPTIMIZE_SIZE__
#define COLLECT_MAX 16u
#else
#define COLLECT_MAX 1u
#endif

#ifdef __OPTIMIZE_SIZE__
/* One used buffer of a queue, in a function of its own: the queue's fields
 * are addressed from its own pointer, not recomputed from the channel's. */
VR__CHAN_QUEUE_FN int packed_get_one(struct vr_packed_drv *d, struct vr_used_buf *u)
{
	/* In order: straight to the compiled path, which makes every check
	 * of the header's inline fast path (that fast path is not carried a
	 * second time in flash). */
	return !d->broken && d->in_order ? vr__packed_drv_get_used_in_order(d, u)
					 : vr_packed_drv_get_used(d, u);
}

VR__CHAN_QUEUE_FN int split_get_one(struct vr_split_drv *d, struct vr_used_buf *u)
{
	return vr_split_drv_get_used(d, u);
}
#endif

/*
 * Driver: collect up to @max used buffers of queue @q into @u. Returns how
 * many (0: none there yet) or the violation that broke the queue. Speed
 * builds take them with one burst call (one set-up, the queue's state in
 * registers, every check per buffer kept); size builds (-Os: an RTOS
 * image) loop over the single call, which the channel links anyway, so
 * that the burst code is not carried twice in flash.
 */
static int drv_collect(struct vr_chan *ch, uint32_t q, struct vr_used_buf *u,
		       unsigned max)
{
	int r;
#ifndef __OPTIMIZE_SIZE__
	r = vr__chan_is_packed(ch) ? vr_packed_drv_get_used_burst(&ch->pdrv[q], u, max)
				   : vr_split_drv_get_used_burst(&ch->sdrv[q], u, max);
	if (r == VR_EAGAIN)
		r = 0;
	else if (r == VR_EBROKEN)
		/* A burst that meets a violation returns the buffers before it;
		 * the next call says only "broken". The queue keeps the
		 * violation's own code, which is what the channel reports. */
		r = vr__chan_is_packed(ch) ? vr_packed_drv_broken(&ch->pdrv[q])
					   : vr_split_drv_broken(&ch->sdrv[q]);
#else
	(void)max; /* COLLECT_MAX is 1 here */
	r = vr__chan_is_packed(ch) ? packed_get_one(&ch->pdrv[q], u)
				   : split_get_one(&ch->sdrv[q], u);
	r = r == 0 ? 1 : r == VR_EAGAIN ? 0 : r;
#endif
	for (unsigned i = 0; i < (r > 0 ? (unsigned)r : 0u); i++)
		vr__chan_count(ch, q, VR_RS_CONSUMED);
	return r;
}

static int dev_pop(struct vr_chan *ch, uint32_t q, struct vr_chain *c)
{
	int r = vr__chan_is_packed(ch) ? vr_packed_dev_pop(&ch->pdev[q], c)
				       : vr_split_dev_pop(&ch->sdev[q], c);

	if (r == 0)
		vr__chan_count(ch, q, VR_RS_CONSUMED);
	return r;
}

/* A chain returned used, on a queue of either format (functions of their
 * own in size builds, as packed_add). */
VR__CHAN_QUEUE_FN int packed_complete(struct vr_packed_dev *v, uint16_t id, uint32_t len)
{
	return vr_packed_dev_complete(v, id, len);
}

VR__CHAN_QUEUE_FN int split_complete(struct vr_split_dev *v, uint16_t id, uint32_t len)
{
	return vr_split_dev_complete(v, id, len);
}

static int dev_push(struct vr_chan *ch, uint32_t q, uint16_t id, uint32_t len)
{
	int err = vr__chan_is_packed(ch) ? packed_complete(&ch->pdev[q], id, len)
					 : split_complete(&ch->sdev[q], id, len);

	if (!err)
		vr__chan_published(ch, q);
	return err;
}

/* ---- Open, reset --------------------------------------------------------- */

/* Private state: two queue states, then (driver) buffer records, the TX
 * free stack and the RX backlog. */
struct layout {
	size_t qstate, bufs, free_tx, backlog, total;
};

static int plan_state(const struct vr_region_info *info, uint32_t role,
		      struct layout *l)
{
	size_t q0, q1;
	uint32_t format;

	if (info->queue_count < 2 || info->queue[0].format != info->queue[1].format)
		return VR_EREGION;
	format = info->queue[0].format;
	if (!vr__chan_has_format(format) || !vr__chan_has_role(role))
		return VR_ENOTSUP; /* not in this build (vring/config.h) */
	q0 = queue_state_size(role, format, info->queue[0].size);
	q1 = queue_state_size(role, format, info->queue[1].size);
	l->qstate = vr__round_up(q0 > q1 ? q0 : q1, 16);
	l->bufs = l->free_tx = l->backlog = 0;
	if (role == VR_ROLE_DRIVER) {
		if (info->buf_count < 2)
			return VR_EREGION;
		l->bufs = vr__round_up((size_t)info->buf_count * sizeof(struct vr__chan_buf), 16);
		l->free_tx = vr__round_up((size_t)info->buf_count * sizeof(uint32_t), 16);
		l->backlog = l->free_tx;
	}
	l->total = 2 * l->qstate + l->bufs + l->free_tx + l->backlog;
	return 0;
}

size_t vr_chan_state_size(const struct vr_transport *t)
{
	struct vr_region_info info;
	struct layout l;

	if (!t || vr_region_parse(t->region, t->region_len, &info) ||
	    plan_state(&info, t->role, &l))
		return 0;
	return l.total;
}

/* Driver: offer every RX buffer that is not holding a message. */
static int drv_stock_rx(struct vr_chan *ch)
{
	uint32_t i;
	int err;

	for (i = ch->tx_bufs; i < ch->rx_end; i++) {
		if (ch->buf[i].state != BUF_POSTED)
			continue;
		err = drv_post(ch, VR_CHAN_RX, i, ch->info.buf_bytes);
		if (err)
			return err;
	}
	return 0;
}

/* A fresh queue asks for every doorbell (the virtio default: flags 0,
 * event index 0, packed ENABLE). A channel end sleeps only after arming,
 * so it starts with doorbells off: otherwise a queue this end never waits
 * on (the driver's TX acknowledgements while it has free buffers, the
 * device's RX while it has buffers) would be rung for on every publish. */
static void suppress_both(struct vr_chan *ch)
{
	vr__chan_suppress(ch, VR_CHAN_TX);
	vr__chan_suppress(ch, VR_CHAN_RX);
}

/* Both queues, in this end's role. */
static int setup_queues(struct vr_chan *ch)
{
	int err = q_init(ch, VR_CHAN_TX);

	if (!err)
		err = q_init(ch, VR_CHAN_RX);
	if (!err)
		suppress_both(ch);
	return err;
}

int vr_chan_open(struct vr_chan *ch, struct vr_transport *t,
		 const struct vr_chan_cfg *cfg, void *state, size_t state_len)
{
	struct layout l;
	unsigned char *s = (unsigned char *)state;
	uint64_t offered, want;
	uint32_t i, n;
	int err;

	if (!ch || !t || !t->ops || !cfg || !state ||
	    (t->role != VR_ROLE_DRIVER && t->role != VR_ROLE_DEVICE))
		return VR_EINVAL;
	if (!vr__chan_has_role(t->role))
		return VR_ENOTSUP; /* configured out (vring/config.h) */
	if (!VR_CONFIG_INDIRECT && (cfg->features & VR_FEATURE(VR_F_INDIRECT_DESC)))
		return VR_ENOTSUP; /* asked for, not in this build */
	vr__zero(ch, sizeof(*ch));
	ch->t = t;
	ch->base = (unsigned char *)t->region;
	ch->cfg = *cfg;
	ch->role = t->role;
	err = vr_region_parse(t->region, t->region_len, &ch->info);
	if (err)
		return err;
	for (i = 0; i < 2; i++) {
		ch->pol[i].notify.batch = 1;
		if (!VR_CONFIG_STATS)
			continue; /* this end writes no records */
		ch->rstats[i] = vr_region_stats(ch->base, &ch->info, i, ch->role);
		if (!ch->rstats[i])
			ch->rstats[i] = ch->rstats_none[i];
		else
			/* This side's record starts from zero each session;
			 * single stores, as a monitor may be reading. */
			for (n = 0; n < VR_RS_COUNT; n++)
				vr_region_stat_store(ch->rstats[i],
						     (enum vr_region_stat)n, 0);
	}
	err = plan_state(&ch->info, ch->role, &l);
	if (err)
		return err;
	if (state_len < l.total)
		return VR_ERANGE;
	if (!vr__aligned(state, 16))
		return VR_EALIGN;
	ch->format = ch->info.queue[0].format;
	ch->qstate[0] = s;
	ch->qstate[1] = s + l.qstate;
	ch->qstate_len = l.qstate;
	offered = ch->info.device_features;
	want = cfg->features & VR_RING_FEATURES & ~VR_FEATURE(VR_F_RING_PACKED);

	if (vr__chan_is_driver(ch)) {
		ch->buf = (struct vr__chan_buf *)(void *)(s + 2 * l.qstate);
		ch->free_tx = (uint32_t *)(void *)(s + 2 * l.qstate + l.bufs);
		ch->backlog = (uint32_t *)(void *)(s + 2 * l.qstate + l.bufs + l.free_tx);
		/* Every buffer of a side must fit its ring at once (one
		 * descriptor each): TX at most the TX queue size, RX at most
		 * the RX queue size. By default half the pool each, within
		 * those limits; buffers beyond them stay unused. */
		if (cfg->tx_bufs) {
			ch->tx_bufs = cfg->tx_bufs;
			if (ch->tx_bufs >= ch->info.buf_count ||
			    ch->tx_bufs > ch->info.queue[VR_CHAN_TX].size)
				return VR_EINVAL;
		} else {
			ch->tx_bufs = ch->info.buf_count / 2;
			if (ch->tx_bufs > ch->info.queue[VR_CHAN_TX].size)
				ch->tx_bufs = ch->info.queue[VR_CHAN_TX].size;
		}
		ch->rx_end = ch->info.buf_count;
		if (ch->rx_end - ch->tx_bufs > ch->info.queue[VR_CHAN_RX].size)
			ch->rx_end = ch->tx_bufs + ch->info.queue[VR_CHAN_RX].size;
		ch->features = offered & want;
		if (vr__chan_is_packed(ch))
			ch->features |= VR_FEATURE(VR_F_RING_PACKED);
		/* Not ready while the queues are rebuilt. */
		vr_region_store(ch->base, VR_RH_DRIVER_STATUS,
				VR_STATUS_ACKNOWLEDGE | VR_STATUS_DRIVER);
		vr_region_store_features(ch->base, VR_RH_DRIVER_FEATURES, ch->features);
		err = setup_queues(ch);
		if (err)
			return err;
		for (i = 0; i < ch->info.buf_count; i++) {
			ch->buf[i].state = i < ch->tx_bufs ? BUF_FREE
				: i < ch->rx_end ? BUF_POSTED : BUF_UNUSED;
			ch->buf[i].len = 0;
			ch->buf[i].seq = 0;
		}
		ch->n_free_tx = 0;
		for (i = ch->tx_bufs; i-- > 0;)
			ch->free_tx[ch->n_free_tx++] = i;
		ch->no_peer = true;
		err = drv_stock_rx(ch);
		ch->no_peer = false;
		if (err)
			return err;
		ch->generation = vr_region_load(ch->base, VR_RH_GENERATION);
		/* Release: the queues above are set up before DRIVER_OK. */
		vr_region_store(ch->base, VR_RH_DRIVER_STATUS,
				VR_STATUS_ACKNOWLEDGE | VR_STATUS_DRIVER |
					VR_STATUS_FEATURES_OK | VR_STATUS_DRIVER_OK);
		return 0;
	}

	/* Device. Acquire: the driver's queues are set up before its
	 * DRIVER_OK. */
	if (!(vr_region_load(ch->base, VR_RH_DRIVER_STATUS) & VR_STATUS_DRIVER_OK))
		return VR_EAGAIN;
	ch->generation = vr_region_load(ch->base, VR_RH_GENERATION);
	ch->features = vr_region_load_features(ch->base, VR_RH_DRIVER_FEATURES);
	if (ch->features & ~(offered | VR_FEATURE(VR_F_RING_PACKED)) ||
	    ((ch->features & VR_FEATURE(VR_F_RING_PACKED)) != 0) != vr__chan_is_packed(ch))
		return VR_EFEATURES;
	ch->features &= VR_RING_FEATURES;
	/* Indirect descriptors negotiated by a driver while this build has
	 * no table walk: the queue init refuses them (VR_ENOTSUP). */
	err = setup_queues(ch);
	if (err)
		return err;
	vr_region_store(ch->base, VR_RH_DEVICE_STATUS,
			VR_STATUS_ACKNOWLEDGE | VR_STATUS_DRIVER |
				VR_STATUS_FEATURES_OK | VR_STATUS_DRIVER_OK);
	return 0;
}

/* Driver: take every acknowledged TX buffer back. */
static int drv_reclaim_tx(struct vr_chan *ch)
{
	struct vr_used_buf u[COLLECT_MAX];
	int r, i;

	/* Until none is left: a short burst may have stopped at a violation,
	 * which the next call reports (drv_collect). */
	while ((r = drv_collect(ch, VR_CHAN_TX, u, COLLECT_MAX)) > 0) {
		for (i = 0; i < r; i++) {
			uint32_t idx = (uint32_t)(uintptr_t)u[i].cookie - 1;

			ch->buf[idx].state = BUF_FREE;
			ch->free_tx[ch->n_free_tx++] = idx;
		}
	}
	return r == 0 ? 0 : vr__chan_break(ch, r);
}

/* Driver: move every filled RX buffer into the backlog, in order. */
static int drv_collect_rx(struct vr_chan *ch)
{
	struct vr_used_buf u[COLLECT_MAX];
	int r, i;

	/* Until none is left: a short burst may have stopped at a violation,
	 * which the next call reports (drv_collect). */
	while ((r = drv_collect(ch, VR_CHAN_RX, u, COLLECT_MAX)) > 0) {
		for (i = 0; i < r; i++) {
			uint32_t idx = (uint32_t)(uintptr_t)u[i].cookie - 1;
			uint32_t slot = ch->backlog_head + ch->backlog_count;

			if (slot >= rx_bufs(ch))
				slot -= rx_bufs(ch);
			ch->buf[idx].state = BUF_RECEIVED;
			ch->buf[idx].len = u[i].len;
			ch->backlog[slot] = idx;
			ch->backlog_count++;
		}
	}
	return r == 0 ? 0 : vr__chan_break(ch, r);
}

/* Driver reset, with the queues empty: offer the receive buffers again and
 * submit every unacknowledged message again, oldest first, all published
 * (whatever the batching policy) before the caller sets DRIVER_OK. */
static int resubmit(struct vr_chan *ch)
{
	uint32_t i, sent = 0, inflight = 0;
	int err;

	err = drv_stock_rx(ch);
	if (err)
		return err;
	/* Unacknowledged messages again, oldest first. Sequence numbers are
	 * free-running: the oldest is the farthest behind next_seq. Each one
	 * sent is marked (BUF_RESENT) and numbered anew in sending order. */
	for (i = 0; i < ch->tx_bufs; i++)
		if (ch->buf[i].state == BUF_INFLIGHT)
			inflight++;
	while (sent < inflight) {
		uint32_t best = UINT32_MAX, best_age = 0, base_seq = ch->next_seq;

		for (i = 0; i < ch->tx_bufs; i++) {
			uint32_t age;

			if (ch->buf[i].state != BUF_INFLIGHT)
				continue;
			age = base_seq - ch->buf[i].seq;
			if (best == UINT32_MAX || age > best_age) {
				best = i;
				best_age = age;
			}
		}
		ch->buf[best].state = BUF_RESENT;
		ch->buf[best].seq = ++ch->next_seq;
		err = drv_post(ch, VR_CHAN_TX, best, ch->buf[best].len);
		if (err)
			return err;
		bump(&ch->resubmitted);
		sent++;
	}
	vr__chan_flush_queue(ch, VR_CHAN_TX);
	vr__chan_flush_queue(ch, VR_CHAN_RX);
	return 0;
}

/* Driver: has queue @q seen a protocol violation? */
static bool q_broken(const struct vr_chan *ch, uint32_t q)
{
	return vr__chan_is_packed(ch) ? vr_packed_drv_broken(&ch->pdrv[q]) != 0
				      : vr_split_drv_broken(&ch->sdrv[q]) != 0;
}

int vr_chan_reset(struct vr_chan *ch)
{
	uint32_t i;
	int err;

	if (!ch || !vr__chan_is_driver(ch))
		return VR_ESTATE;
	/* A new session, whatever the transport: a device of the old one that
	 * still runs (stopped, not dead, and resumed) sees the generation
	 * move before it touches the rings again (vr__chan_stale), so it
	 * cannot write into the reset ones. A transport that moved it when it
	 * declared the peer dead loses nothing. Release store (the header
	 * word); the device's acquire load is its partner. */
	vr_region_store(ch->base, VR_RH_GENERATION,
			vr_region_load(ch->base, VR_RH_GENERATION) + 1);
	vr_region_store(ch->base, VR_RH_DRIVER_STATUS,
			VR_STATUS_ACKNOWLEDGE | VR_STATUS_DRIVER);
	/* What the old device published is acknowledged (TX) or received
	 * (RX): keep it, queue by queue. A queue the device broke cannot be
	 * trusted beyond the violation (the entries before it were taken
	 * when they were read); the other queue is intact, and its used
	 * entries are checked one by one as always, so a channel broken on
	 * RX still counts the TX acknowledgements it had not collected (or
	 * it would send those messages twice). */
	if (!q_broken(ch, VR_CHAN_TX))
		drv_reclaim_tx(ch);
	if (!q_broken(ch, VR_CHAN_RX))
		drv_collect_rx(ch);
	set_broken(ch, 0);
	vr__chan_policy_reset(ch);
	vr_region_store(ch->base, VR_RH_DEVICE_STATUS, 0);
	if (vr__chan_is_packed(ch)) {
		vr_packed_drv_reset(&ch->pdrv[VR_CHAN_TX]);
		vr_packed_drv_reset(&ch->pdrv[VR_CHAN_RX]);
	} else {
		vr_split_drv_reset(&ch->sdrv[VR_CHAN_TX]);
		vr_split_drv_reset(&ch->sdrv[VR_CHAN_RX]);
	}
	suppress_both(ch);
	ch->no_peer = true; /* the next device looks at its rings anyway */
	err = resubmit(ch);
	ch->no_peer = false;
	if (err)
		return vr__chan_break(ch, err);
	for (i = 0; i < ch->tx_bufs; i++)
		if (ch->buf[i].state == BUF_RESENT)
			ch->buf[i].state = BUF_INFLIGHT;
	ch->generation = vr_region_load(ch->base, VR_RH_GENERATION);
	vr_region_store(ch->base, VR_RH_DRIVER_STATUS,
			VR_STATUS_ACKNOWLEDGE | VR_STATUS_DRIVER |
				VR_STATUS_FEATURES_OK | VR_STATUS_DRIVER_OK);
	return 0;
}

/* ---- Driver side ------------------------------------------------------------- */

/* Driver: a free TX buffer (reclaiming acknowledged ones when none is). */
static int look_free_tx(struct vr_chan *ch, uint32_t q, void *arg)
{
	uint32_t *idx = (uint32_t *)arg;
	int r;

	(void)q;
	if (ch->n_free_tx == 0) {
		r = drv_reclaim_tx(ch);
		if (r)
			return r;
	}
	if (ch->n_free_tx == 0)
		return 0;
	*idx = ch->free_tx[--ch->n_free_tx];
	ch->buf[*idx].state = BUF_RESERVED;
	return 1;
}

static int drv_reserve(struct vr_chan *ch, uint64_t timeout_ns, uint32_t *idx)
{
	return vr__chan_wait_for(ch, VR_CHAN_TX, timeout_ns, look_free_tx, idx);
}

static int drv_submit(struct vr_chan *ch, uint32_t idx, uint32_t len)
{
	int err;

	ch->buf[idx].state = BUF_INFLIGHT;
	ch->buf[idx].len = len;
	ch->buf[idx].seq = ++ch->next_seq;
	err = drv_post(ch, VR_CHAN_TX, idx, len);
	if (err)
		return vr__chan_break(ch, err);
	bump(&ch->qs[VR_CHAN_TX].msgs);
	return 0;
}

/* Driver: the oldest received message; empty completions go straight
 * back to the device. */
static int look_rx(struct vr_chan *ch, uint32_t q, void *arg)
{
	uint32_t *idx = (uint32_t *)arg;
	int r;

	(void)q;
	if (ch->backlog_count == 0) {
		r = drv_collect_rx(ch);
		if (r)
			return r;
	}
	while (ch->backlog_count > 0) {
		*idx = ch->backlog[ch->backlog_head];
		if (ch->buf[*idx].len > 0)
			return 1;
		backlog_pop(ch);
		ch->buf[*idx].state = BUF_POSTED;
		r = drv_post(ch, VR_CHAN_RX, *idx, ch->info.buf_bytes);
		if (r)
			return vr__chan_break(ch, r);
	}
	return 0;
}

/* Driver: the oldest received message, waiting if needed. */
static int drv_next_rx(struct vr_chan *ch, uint64_t timeout_ns, uint32_t *idx)
{
	return vr__chan_wait_for(ch, VR_CHAN_RX, timeout_ns, look_rx, idx);
}

static void drv_take_rx(struct vr_chan *ch)
{
	backlog_pop(ch);
	bump(&ch->qs[VR_CHAN_RX].msgs);
}

/* ---- Device side ------------------------------------------------------------- */

/* Device: the chain held on queue @q, or the next one popped. */
static int look_chain(struct vr_chan *ch, uint32_t q, void *arg)
{
	struct vr_chain **out = (struct vr_chain **)arg;
	struct vr_chain *c = &ch->held_chain[q];
	int r;

	if (!ch->held[q]) {
		if (vr__chan_stale(ch))
			return VR_EPEERDEAD;
		c->iov = ch->held_iov[q];
		c->iov_cap = VR_CHAN_MAX_SEGS;
		r = dev_pop(ch, q, c);
		if (r == VR_EAGAIN)
			return 0;
		if (r)
			return vr__chan_break(ch, r);
		ch->held[q] = true;
	}
	*out = c;
	return 1;
}

/* Device: the next chain of queue @q (held, or popped), waiting if needed. */
static int dev_next(struct vr_chan *ch, uint32_t q, uint64_t timeout_ns,
		    struct vr_chain **out)
{
	return vr__chan_wait_for(ch, q, timeout_ns, look_chain, out);
}

static int dev_done(struct vr_chan *ch, uint32_t q, uint32_t len)
{
	int err;

	ch->held[q] = false;
	if (vr__chan_stale(ch))
		return VR_EPEERDEAD; /* the chain belongs to the old session */
	err = dev_push(ch, q, ch->held_chain[q].id, len);
	return err ? vr__chan_break(ch, err) : 0;
}

/*
 * Device, by copy, both directions in one: send (@q = VR_CHAN_RX) copies
 * @len bytes from @buf into the next chain with that much writable room;
 * recv (@q = VR_CHAN_TX) copies the next message (chains with nothing to
 * read go straight back) into @buf of @len bytes. The chain is returned
 * used (send: with the bytes written). Returns the bytes copied, or
 * VR_EMSGSIZE (the chain is kept: its buffer is too small to send into,
 * or its message too large for @buf) or what waiting returned.
 */
static int dev_copy(struct vr_chan *ch, uint32_t q, unsigned char *buf,
		    size_t len, uint64_t timeout_ns)
{
	bool send = q == VR_CHAN_RX;
	struct vr_chain *c = NULL; /* set when dev_next returns 0 */
	unsigned i, end;
	size_t left;
	int r;

	for (;;) {
		r = dev_next(ch, q, timeout_ns, &c);
		if (r)
			return r;
		if (send || c->out_bytes > 0)
			break;
		r = dev_done(ch, q, 0); /* nothing to read */
		if (r)
			return r;
	}
	if (send ? c->in_bytes < len : c->out_bytes > len)
		return VR_EMSGSIZE; /* kept (see above) */
	if (!send)
		len = c->out_bytes;
	i = send ? c->n_out : 0;
	end = send ? (unsigned)c->n_out + c->n_in : c->n_out;
	/* A kept chain has every segment in iov (VR_E2BIG never gets
	 * here): the segments hold out_bytes / in_bytes. */
	for (left = len; left > 0 && i < end; i++) {
		size_t part = c->iov[i].len < left ? c->iov[i].len : left;

		if (send)
			vr__copy(c->iov[i].base, buf, part);
		else
			vr__copy(buf, c->iov[i].base, part);
		buf += part;
		left -= part;
	}
	r = dev_done(ch, q, send ? (uint32_t)len : 0);
	if (r)
		return r;
	bump(&ch->qs[q].msgs);
	return (int)len;
}

/* ---- The calls ------------------------------------------------------------- */

static int usable(struct vr_chan *ch)
{
	if (!ch || !ch->t)
		return VR_EINVAL;
	if (broken_of(ch))
		return VR_EBROKEN;
	/* A device stops the moment the driver starts a new session: the
	 * rings are about to be reset under it. */
	if (vr__chan_stale(ch))
		return VR_EPEERDEAD;
	/* Coalesced doorbells that fell due since the last call. */
	if (vr__chan_owes(ch))
		vr__chan_pay_due(ch, ch->t->ops->now_ns(ch->t));
	return 0;
}

int vr_chan_send(struct vr_chan *ch, const void *data, size_t len,
		 uint64_t timeout_ns)
{
	int r = usable(ch);

	if (r)
		return r;
	if (!data || len == 0)
		return VR_EINVAL;
	if (len > ch->info.buf_bytes)
		return VR_EMSGSIZE;
	if (vr__chan_is_driver(ch)) {
		uint32_t idx;

		r = drv_reserve(ch, timeout_ns, &idx);
		if (r)
			return r;
		vr__copy(buf_ptr(ch, idx), data, len);
		return drv_submit(ch, idx, (uint32_t)len);
	}
	r = dev_copy(ch, VR_CHAN_RX, (unsigned char *)(uintptr_t)data, len, timeout_ns);
	return r < 0 ? r : 0;
}

int vr_chan_recv(struct vr_chan *ch, void *buf, size_t cap, uint64_t timeout_ns)
{
	int r = usable(ch);

	if (r)
		return r;
	if (!buf)
		return VR_EINVAL;
	if (vr__chan_is_driver(ch)) {
		uint32_t idx, len;

		r = drv_next_rx(ch, timeout_ns, &idx);
		if (r)
			return r;
		len = ch->buf[idx].len;
		if (len > cap)
			return VR_EMSGSIZE; /* stays first in the backlog */
		vr__copy(buf, buf_ptr(ch, idx), len);
		drv_take_rx(ch);
		ch->buf[idx].state = BUF_POSTED;
		r = drv_post(ch, VR_CHAN_RX, idx, ch->info.buf_bytes);
		return r ? vr__chan_break(ch, r) : (int)len;
	}
	return dev_copy(ch, VR_CHAN_TX, (unsigned char *)buf, cap, timeout_ns);
}

int vr_chan_send_reserve(struct vr_chan *ch, void **buf, uint32_t *cap,
			 uint64_t timeout_ns)
{
	int r = usable(ch);

	if (r)
		return r;
	if (!buf || !cap)
		return VR_EINVAL;
	if (vr__chan_is_driver(ch)) {
		uint32_t idx;

		r = drv_reserve(ch, timeout_ns, &idx);
		if (r)
			return r;
		*buf = buf_ptr(ch, idx);
		*cap = ch->info.buf_bytes;
		return (int)idx;
	} else {
		struct vr_chain *c;

		r = dev_next(ch, VR_CHAN_RX, timeout_ns, &c);
		if (r)
			return r;
		if (c->n_in == 0) {
			r = dev_done(ch, VR_CHAN_RX, 0); /* no room: return it */
			return r ? r : VR_EAGAIN;
		}
		/* One held chain per direction: the token is its id. */
		*buf = c->iov[c->n_out].base;
		*cap = c->iov[c->n_out].len;
		return c->id;
	}
}

int vr_chan_send_commit(struct vr_chan *ch, int token, uint32_t len)
{
	int r = usable(ch);

	if (r)
		return r;
	if (vr__chan_is_driver(ch)) {
		uint32_t idx = (uint32_t)token;

		if (token < 0 || idx >= ch->tx_bufs || ch->buf[idx].state != BUF_RESERVED)
			return VR_EINVAL;
		if (len > ch->info.buf_bytes)
			return VR_EMSGSIZE;
		if (len == 0) {
			ch->buf[idx].state = BUF_FREE;
			ch->free_tx[ch->n_free_tx++] = idx;
			return 0;
		}
		return drv_submit(ch, idx, len);
	} else {
		struct vr_chain *c = &ch->held_chain[VR_CHAN_RX];

		if (!ch->held[VR_CHAN_RX] || token != c->id || c->n_in == 0)
			return VR_EINVAL;
		if (len > c->iov[c->n_out].len)
			return VR_EMSGSIZE;
		r = dev_done(ch, VR_CHAN_RX, len);
		if (!r && len)
			bump(&ch->qs[VR_CHAN_RX].msgs);
		return r;
	}
}

int vr_chan_recv_borrow(struct vr_chan *ch, struct vr_chan_msg *msg,
			uint64_t timeout_ns)
{
	int r = usable(ch);

	if (r)
		return r;
	if (!msg)
		return VR_EINVAL;
	if (vr__chan_is_driver(ch)) {
		uint32_t idx;

		r = drv_next_rx(ch, timeout_ns, &idx);
		if (r)
			return r;
		drv_take_rx(ch);
		ch->buf[idx].state = BUF_BORROWED;
		msg->data = buf_ptr(ch, idx);
		msg->len = ch->buf[idx].len;
		msg->nseg = 1;
		msg->seg[0].base = buf_ptr(ch, idx);
		msg->seg[0].len = msg->len;
		msg->token = idx;
		return (int)msg->len;
	} else {
		struct vr_chain *c;
		unsigned i;

		for (;;) {
			r = dev_next(ch, VR_CHAN_TX, timeout_ns, &c);
			if (r)
				return r;
			if (c->out_bytes > 0)
				break;
			r = dev_done(ch, VR_CHAN_TX, 0);
			if (r)
				return r;
		}
		/* Lent: the chain leaves the held slot; its id is the token. */
		ch->held[VR_CHAN_TX] = false;
		msg->data = c->iov[0].base;
		msg->len = c->out_bytes;
		msg->nseg = c->n_out;
		for (i = 0; i < c->n_out; i++)
			msg->seg[i] = c->iov[i];
		msg->token = c->id;
		bump(&ch->qs[VR_CHAN_TX].msgs);
		return (int)msg->len;
	}
}

int vr_chan_recv_release(struct vr_chan *ch, const struct vr_chan_msg *msg)
{
	int r = usable(ch);

	if (r)
		return r;
	if (!msg)
		return VR_EINVAL;
	if (vr__chan_is_driver(ch)) {
		uint32_t idx = msg->token;

		if (idx < ch->tx_bufs || idx >= ch->rx_end ||
		    ch->buf[idx].state != BUF_BORROWED)
			return VR_EINVAL;
		ch->buf[idx].state = BUF_POSTED;
		r = drv_post(ch, VR_CHAN_RX, idx, ch->info.buf_bytes);
		return r ? vr__chan_break(ch, r) : 0;
	}
	if (msg->token > 0xffffu)
		return VR_EINVAL;
	if (vr__chan_stale(ch))
		return VR_EPEERDEAD;
	r = dev_push(ch, VR_CHAN_TX, (uint16_t)msg->token, 0);
	/* VR_ESTATE: not a chain this side lent. */
	return r == VR_ESTATE ? VR_EINVAL : (r ? vr__chan_break(ch, r) : 0);
}

/* ---- Drain ------------------------------------------------------------------- */

/* Driver: collect acknowledgements; 1 once no sent message is waiting for
 * one (reserved but uncommitted buffers are not sent). */
static int look_drained(struct vr_chan *ch, uint32_t q, void *arg)
{
	uint32_t i;
	int r;

	(void)q;
	(void)arg;
	r = drv_reclaim_tx(ch);
	if (r)
		return r;
	for (i = 0; i < ch->tx_bufs; i++)
		if (ch->buf[i].state == BUF_INFLIGHT || ch->buf[i].state == BUF_RESENT)
			return 0;
	return 1;
}

int vr_chan_drain(struct vr_chan *ch, uint64_t timeout_ns)
{
	int r = usable(ch);

	if (r)
		return r;
	if (!vr__chan_is_driver(ch)) {
		/* The device's messages are delivered once published (they lie
		 * in the driver's buffers): publish the batch, ring what is
		 * owed. */
		vr__chan_flush_queue(ch, VR_CHAN_RX);
		return broken_of(ch) ? VR_EBROKEN : 0;
	}
	/* What is batched cannot be acknowledged: out with it first. */
	vr__chan_flush_queue(ch, VR_CHAN_TX);
	return vr__chan_wait_for(ch, VR_CHAN_TX, timeout_ns, look_drained, NULL);
}

static uint64_t both(const struct vr_chan *ch, enum vr_region_stat which)
{
	return vr__chan_peek(&ch->qs[0].c[which]) + vr__chan_peek(&ch->qs[1].c[which]);
}

int vr_chan_get_stats(const struct vr_chan *ch, struct vr_chan_stats *out)
{
	uint32_t tx = ch->role == VR_ROLE_DRIVER ? VR_CHAN_TX : VR_CHAN_RX;

	if (!VR_CONFIG_STATS) {
		vr__zero(out, sizeof(*out));
		return VR_ENOTSUP; /* nothing is counted in this build */
	}
	out->sent = vr__chan_peek(&ch->qs[tx].msgs);
	out->received = vr__chan_peek(&ch->qs[tx ^ 1].msgs);
	out->notifies = both(ch, VR_RS_NOTIFIES);
	out->notifies_suppressed = both(ch, VR_RS_SUPPRESSED);
	out->waits = both(ch, VR_RS_WAITS);
	out->resubmitted = vr__chan_peek(&ch->resubmitted);
	out->coalesced = both(ch, VR_RS_COALESCED);
	out->wakeups = both(ch, VR_RS_WAKEUPS);
	out->spurious_wakeups = both(ch, VR_RS_SPURIOUS);
	out->spins = both(ch, VR_RS_SPINS);
	out->spin_hits = both(ch, VR_RS_SPIN_HITS);
	return 0;
}

int vr_chan_get_queue_stats(const struct vr_chan *ch, uint32_t q,
			    uint64_t out[VR_RS_COUNT])
{
	unsigned i;

	if (!ch || !out || q > VR_CHAN_RX)
		return VR_EINVAL;
	for (i = 0; i < VR_RS_COUNT; i++)
		out[i] = VR_CONFIG_STATS ? vr__chan_peek(&ch->qs[q].c[i]) : 0;
	return VR_CONFIG_STATS ? 0 : VR_ENOTSUP;
}
