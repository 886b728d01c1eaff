/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libvring under benchmark: split and packed rings, each with and without
 * VIRTIO_F_IN_ORDER, in three patterns.
 *
 * One shared region holds the ring and a pool of message buffers after it;
 * descriptors carry offsets into the region, as between two VMs. A message
 * is one device-readable descriptor naming a buffer of <payload> bytes; the
 * driver (producer) writes the payload, adds the descriptor and publishes
 * once per batch (kick_prepare: EVENT_IDX on, notifications counted, never
 * delivered: both sides poll, and each asked the other at set-up not to
 * notify it, as a busy channel does). The device (consumer) pops each chain
 * (validated and translated by libvring), copies the payload out, checks
 * its sequence number, and returns it used: one used entry per chain, or
 * with IN_ORDER one vr_*_dev_complete_in_order() per batch; then it
 * publishes once per batch. The driver collects the used buffers and checks
 * that each one is the next it expects.
 *
 *   stream    driver on one CPU, device on the other; the driver collects
 *             used buffers only when it lacks room for a batch
 *   pingpong  the driver sends a batch, then waits for all of it to come
 *             back used (a round trip per batch)
 *   local     both roles on one CPU, one after the other: the instruction
 *             cost of a message with no cache line changing hands
 *
 * Payload bytes are written and copied only in stream. In pingpong and
 * local the descriptor is the message (as the element is for the peers):
 * the device checks that it names the expected buffer and length, and
 * nothing else is touched, so these measure the ring itself.
 */

#include <stdio.h>
#include <stdlib.h>

#include <vring/vring.h>

#include "bench_common.h"

/* A message that came back wrong (not a libvring error code). */
#define VRB_EBADUSED (-1000)
#define VRB_ESTALL (-1001)

struct vrb {
	bool packed;
	uint32_t num;
	unsigned batch;
	unsigned payload; /* bytes per buffer */
	bool touch;       /* stream: payload written and copied out; else the
			     descriptor alone is the message */
	unsigned char *region;
	size_t region_len;
	size_t pool_off; /* offset of buffer 0 in the region (= bus address) */
	void *drv_state, *dev_state;
	/* Each queue object on lines of its own: one per thread. */
	struct vr_split_drv *sdrv;
	struct vr_packed_drv *pdrv;
	struct vr_split_dev *sdev;
	struct vr_packed_dev *pdev;
	/* Driver (producer) side. */
	uint64_t sent, done, kicks;
	/* Device side results, written by the consumer before it returns. */
	_Alignas(VB_LINE) uint64_t dev_got;
	uint64_t dev_irqs;
	struct vb_pair pair;
};

/* ---- The calls, per format (P is a constant after inlining) --------------- */

static VB_ALWAYS_INLINE int vrb_add(struct vrb *b, const bool P,
				    const struct vr_seg *seg, void *cookie)
{
	return P ? vr_packed_drv_add(b->pdrv, seg, 1, 0, cookie)
		 : vr_split_drv_add(b->sdrv, seg, 1, 0, cookie);
}

static VB_ALWAYS_INLINE int vrb_kick(struct vrb *b, const bool P)
{
	return P ? vr_packed_drv_kick_prepare(b->pdrv)
		 : vr_split_drv_kick_prepare(b->sdrv);
}

static VB_ALWAYS_INLINE int vrb_get_used(struct vrb *b, const bool P,
					 struct vr_used_buf *u)
{
	return P ? vr_packed_drv_get_used(b->pdrv, u)
		 : vr_split_drv_get_used(b->sdrv, u);
}

static VB_ALWAYS_INLINE unsigned vrb_free(struct vrb *b, const bool P)
{
	return P ? vr_packed_drv_free(b->pdrv) : vr_split_drv_free(b->sdrv);
}

static VB_ALWAYS_INLINE int vrb_pop(struct vrb *b, const bool P,
				    struct vr_chain *c)
{
	return P ? vr_packed_dev_pop(b->pdev, c) : vr_split_dev_pop(b->sdev, c);
}

static VB_ALWAYS_INLINE int vrb_complete(struct vrb *b, const bool P,
					 uint16_t id)
{
	return P ? vr_packed_dev_complete(b->pdev, id, 0)
		 : vr_split_dev_complete(b->sdev, id, 0);
}

static VB_ALWAYS_INLINE int vrb_complete_in_order(struct vrb *b, const bool P,
						  unsigned n)
{
	return P ? vr_packed_dev_complete_in_order(b->pdev, n, 0)
		 : vr_split_dev_complete_in_order(b->sdev, n, 0);
}

static VB_ALWAYS_INLINE int vrb_notify(struct vrb *b, const bool P)
{
	return P ? vr_packed_dev_notify_prepare(b->pdev)
		 : vr_split_dev_notify_prepare(b->sdev);
}

/* ---- Driver steps ------------------------------------------------------------ */

/* Write and add one batch of messages, then publish once. */
static VB_ALWAYS_INLINE int vrb_send(struct vrb *b, const bool P)
{
	const uint32_t mask = b->num - 1;
	unsigned i;
	int ret;

	for (i = 0; i < b->batch; i++) {
		uint64_t seq = b->sent;
		/* Buffer of message seq: at most num messages are in flight and
		 * they come back in order, so seq's buffer is free again once
		 * seq itself was collected. */
		size_t off = b->pool_off + (size_t)(seq & mask) * b->payload;
		struct vr_seg seg = { off, b->payload };

		if (b->touch)
			vb_fill(b->region + off, seq, b->payload);
		ret = vrb_add(b, P, &seg, (void *)(uintptr_t)seq);
		if (ret < 0)
			return ret;
		b->sent++;
	}
	ret = vrb_kick(b, P);
	if (ret < 0)
		return ret;
	b->kicks += (unsigned)ret;
	return 0;
}

/* Collect every used buffer there is; each must be the next one sent. */
static VB_ALWAYS_INLINE int vrb_reclaim(struct vrb *b, const bool P)
{
	struct vr_used_buf u;
	int err;

	while ((err = vrb_get_used(b, P, &u)) == 0) {
		if ((uintptr_t)u.cookie != (uintptr_t)b->done || u.len != 0)
			return VRB_EBADUSED;
		b->done++;
	}
	return err == VR_EAGAIN ? 0 : err;
}

/* Collect used buffers until at most @p outstanding_max messages are out. */
static VB_ALWAYS_INLINE int vrb_wait_back(struct vrb *b, const bool P,
					  uint64_t outstanding_max,
					  struct vb_pair *p)
{
	struct vb_spin w;

	vb_spin_init(&w);
	for (;;) {
		int err = vrb_reclaim(b, P);

		if (err)
			return err;
		if (b->sent - b->done <= outstanding_max)
			return 0;
		if (!vb_spin(&w, p, "used buffers"))
			return VRB_ESTALL;
	}
}

/* ---- Device step ---------------------------------------------------------------- */

struct vrb_dev_ctx {
	uint64_t expect;
	uint64_t irqs;
	struct vr_iov iov[1];
	struct vr_chain c;
	unsigned char copy[VB_PAYLOAD_MAX];
	char why[120];
};

/* Take up to a batch of chains, check each message, return them used and
 * publish once. Returns how many were taken, or a negative code with
 * why[] set. */
static VB_ALWAYS_INLINE int vrb_dev_step(struct vrb *b, const bool P,
					 const bool IO, struct vrb_dev_ctx *d)
{
	unsigned n = 0;
	int err = 0;

	while (n < b->batch) {
		d->c.iov = d->iov;
		d->c.iov_cap = 1;
		err = vrb_pop(b, P, &d->c);
		if (err)
			break;
		if (d->c.n_out != 1 || d->c.n_in != 0 ||
		    d->iov[0].len != b->payload) {
			snprintf(d->why, sizeof(d->why), "message %llu: bad chain shape",
				 (unsigned long long)d->expect);
			return VRB_EBADUSED;
		}
		if (b->touch ? !vb_take(d->copy, d->iov[0].base, d->expect,
					 b->payload)
			     : d->iov[0].base !=
				       b->region + b->pool_off +
					       (size_t)(d->expect & (b->num - 1)) *
						       b->payload) {
			snprintf(d->why, sizeof(d->why),
				 "message %llu: wrong or torn payload",
				 (unsigned long long)d->expect);
			return VRB_EBADUSED;
		}
		d->expect++;
		if (!IO) {
			err = vrb_complete(b, P, d->c.id);
			if (err) {
				snprintf(d->why, sizeof(d->why), "complete: %s",
					 vr_errname(err));
				return err;
			}
		}
		n++;
	}
	if (err && err != VR_EAGAIN) {
		snprintf(d->why, sizeof(d->why), "pop: %s (%s)", vr_errname(err),
			 vr_strerror(err));
		return err;
	}
	if (n == 0)
		return 0;
	if (IO) {
		err = vrb_complete_in_order(b, P, n);
		if (err) {
			snprintf(d->why, sizeof(d->why), "complete_in_order: %s",
				 vr_errname(err));
			return err;
		}
	}
	err = vrb_notify(b, P);
	if (err < 0) {
		snprintf(d->why, sizeof(d->why), "notify_prepare: %s",
			 vr_errname(err));
		return err;
	}
	d->irqs += (unsigned)err;
	return (int)n;
}

static VB_ALWAYS_INLINE void vrb_device_loop(struct vb_pair *p, void *arg,
					     const bool P, const bool IO)
{
	struct vrb *b = (struct vrb *)arg;
	struct vrb_dev_ctx d;

	memset(&d, 0, sizeof(d));
	vb_pair_ready(p);
	for (;;) {
		int n = vrb_dev_step(b, P, IO, &d);

		if (n < 0) {
			vb_pair_fail(p, "device: %s", d.why);
			break;
		}
		if (n > 0)
			continue;
		if (vb_pair_stopping(p))
			break;
		vb_cpu_relax();
	}
	b->dev_got = d.expect;
	b->dev_irqs = d.irqs;
}

/* ---- Set-up ---------------------------------------------------------------------- */

static void vrb_free_all(struct vrb *b)
{
	if (!b)
		return;
	free(b->region);
	free(b->drv_state);
	free(b->dev_state);
	free(b->sdrv);
	free(b->pdrv);
	free(b->sdev);
	free(b->pdev);
	free(b);
}

static struct vrb *vrb_new(struct vb_state *s, bool packed, bool in_order,
			   unsigned batch, unsigned payload, bool touch,
			   uint32_t num)
{
	struct vr_queue_cfg cfg;
	struct vr_layout lay;
	struct vrb *b;
	size_t ds, vs;
	int err;
	char msg[120];

	b = (struct vrb *)vb_alloc(sizeof(*b));
	if (!b) {
		vb_fail(s, "out of memory");
		return NULL;
	}
	b->packed = packed;
	b->num = num;
	b->batch = batch;
	b->payload = payload;
	b->touch = touch;
	err = packed ? vr_packed_layout(num, &lay)
		     : vr_split_layout(num, VR_LEGACY_ALIGN, &lay);
	if (err)
		goto fail;
	b->pool_off = (lay.total + 4095) & ~(size_t)4095;
	b->region_len = b->pool_off + (size_t)num * payload;
	b->region = (unsigned char *)vb_alloc(b->region_len);

	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_EVENT_IDX);
	if (packed)
		cfg.features |= VR_FEATURE(VR_F_RING_PACKED);
	if (in_order)
		cfg.features |= VR_FEATURE(VR_F_IN_ORDER);
	cfg.mem = vr_mem_window(b->region, 0, b->region_len);

	ds = packed ? vr_packed_drv_state_size(num) : vr_split_drv_state_size(num);
	vs = packed ? vr_packed_dev_state_size(num) : vr_split_dev_state_size(num);
	b->drv_state = vb_alloc(ds);
	b->dev_state = vb_alloc(vs);
	if (packed) {
		struct vr_packed_areas a;

		b->pdrv = (struct vr_packed_drv *)vb_alloc(sizeof(*b->pdrv));
		b->pdev = (struct vr_packed_dev *)vb_alloc(sizeof(*b->pdev));
		if (!b->region || !b->drv_state || !b->dev_state || !b->pdrv ||
		    !b->pdev)
			goto oom;
		err = vr_packed_areas_from_region(&a, b->region, lay.total, num);
		if (!err)
			err = vr_packed_drv_init(b->pdrv, &cfg, &a, b->drv_state, ds);
		if (!err)
			err = vr_packed_dev_init(b->pdev, &cfg, &a, b->dev_state, vs);
	} else {
		struct vr_split_areas a;

		b->sdrv = (struct vr_split_drv *)vb_alloc(sizeof(*b->sdrv));
		b->sdev = (struct vr_split_dev *)vb_alloc(sizeof(*b->sdev));
		if (!b->region || !b->drv_state || !b->dev_state || !b->sdrv ||
		    !b->sdev)
			goto oom;
		err = vr_split_areas_from_region(&a, b->region, lay.total, num,
						 VR_LEGACY_ALIGN);
		if (!err)
			err = vr_split_drv_init(b->sdrv, &cfg, &a, b->drv_state, ds);
		if (!err)
			err = vr_split_dev_init(b->sdev, &cfg, &a, b->dev_state, vs);
	}
	if (err)
		goto fail;
	/* Both sides poll, as a busy channel does: each asks the other not to
	 * notify it. need_notify still runs (fence, event check) after every
	 * publish and its answers are counted. */
	if (packed) {
		vr_packed_drv_suppress_used_notify(b->pdrv);
		vr_packed_dev_suppress_avail_notify(b->pdev);
	} else {
		vr_split_drv_suppress_used_notify(b->sdrv);
		vr_split_dev_suppress_avail_notify(b->sdev);
	}
	return b;
oom:
	vrb_free_all(b);
	vb_fail(s, "out of memory");
	return NULL;
fail:
	snprintf(msg, sizeof(msg), "ring set-up: %s", vr_errname(err));
	vrb_free_all(b);
	vb_fail(s, msg);
	return NULL;
}

/* Report an error of the driver side and leave the loop. */
static void vrb_driver_error(struct vb_state *s, struct vrb *b, int err)
{
	char msg[200];

	if (vb_pair_failed(&b->pair) || err == VRB_ESTALL)
		snprintf(msg, sizeof(msg), "%s", b->pair.why);
	else if (err == VRB_EBADUSED)
		snprintf(msg, sizeof(msg),
			 "driver: used buffer out of order or with a bad length "
			 "after message %llu",
			 (unsigned long long)b->done);
	else
		snprintf(msg, sizeof(msg), "driver: %s (%s)", vr_errname(err),
			 vr_strerror(err));
	vb_fail(s, msg);
}

/* After a run: every message went through, both ways; report. */
static void vrb_finish(struct vb_state *s, struct vrb *b,
		       const struct vb_timer *t, bool two_threads)
{
	char msg[160];

	if (two_threads && vb_pair_failed(&b->pair)) {
		vb_fail(s, b->pair.why);
		return;
	}
	if (b->dev_got != b->sent || b->done != b->sent) {
		snprintf(msg, sizeof(msg),
			 "lost messages: sent %llu, device took %llu, driver "
			 "collected %llu",
			 (unsigned long long)b->sent,
			 (unsigned long long)b->dev_got,
			 (unsigned long long)b->done);
		vb_fail(s, msg);
		return;
	}
	vb_report(s, t, b->sent);
	vb_counter(s, "notifications_per_msg",
		   (double)(b->kicks + b->dev_irqs) / (double)b->sent);
}

/* ---- The three patterns ------------------------------------------------------------ */

static VB_ALWAYS_INLINE void vrb_stream(struct vb_state *s, const bool P,
					const bool IO,
					void (*dev)(struct vb_pair *, void *))
{
	unsigned batch = (unsigned)vb_arg(s, 0, 32);
	unsigned payload = (unsigned)vb_arg(s, 1, 8);
	uint32_t num = (uint32_t)vb_arg(s, 2, VB_QSIZE);
	struct vb_timer t;
	struct vrb *b = vrb_new(s, P, IO, batch, payload, true, num);
	int err = 0;

	if (!b)
		return;
	if (vb_pair_start(&b->pair, dev, b)) {
		vb_pair_stop(&b->pair);
		vb_fail(s, b->pair.why);
		vrb_free_all(b);
		return;
	}
	vb_timer_start(&t);
	while (vb_run(s, batch)) {
		/* Collect used buffers only when a batch does not fit. */
		if (vrb_free(b, P) < batch &&
		    (err = vrb_wait_back(b, P, num - batch, &b->pair)))
			break;
		if ((err = vrb_send(b, P)))
			break;
		if (vb_last(s) && (err = vrb_wait_back(b, P, 0, &b->pair)))
			break;
	}
	vb_timer_stop(&t);
	vb_pair_stop(&b->pair);
	if (err)
		vrb_driver_error(s, b, err);
	else
		vrb_finish(s, b, &t, true);
	vrb_free_all(b);
}

static VB_ALWAYS_INLINE void vrb_pingpong(struct vb_state *s, const bool P,
					  const bool IO,
					  void (*dev)(struct vb_pair *, void *))
{
	unsigned batch = (unsigned)vb_arg(s, 0, 1);
	struct vb_timer t;
	struct vrb *b = vrb_new(s, P, IO, batch, 8, false, VB_QSIZE);
	int err = 0;

	if (!b)
		return;
	if (vb_pair_start(&b->pair, dev, b)) {
		vb_pair_stop(&b->pair);
		vb_fail(s, b->pair.why);
		vrb_free_all(b);
		return;
	}
	vb_timer_start(&t);
	while (vb_run(s, batch)) {
		if ((err = vrb_send(b, P)))
			break;
		if ((err = vrb_wait_back(b, P, 0, &b->pair)))
			break;
	}
	vb_timer_stop(&t);
	vb_pair_stop(&b->pair);
	if (err) {
		vrb_driver_error(s, b, err);
	} else {
		vrb_finish(s, b, &t, true);
		if (b->sent)
			vb_counter(s, "cycles_per_roundtrip",
				   (double)(t.c1 - t.c0) * batch / (double)b->sent);
	}
	vrb_free_all(b);
}

static VB_ALWAYS_INLINE void vrb_local(struct vb_state *s, const bool P,
				       const bool IO)
{
	unsigned batch = (unsigned)vb_arg(s, 0, 32);
	struct vb_timer t;
	struct vrb *b = vrb_new(s, P, IO, batch, 8, false, VB_QSIZE);
	struct vrb_dev_ctx *d;
	int err = 0;

	if (!b)
		return;
	d = (struct vrb_dev_ctx *)vb_alloc(sizeof(*d));
	if (!d) {
		vrb_free_all(b);
		vb_fail(s, "out of memory");
		return;
	}
	vb_pin_self(vb_cpu_producer);
	vb_timer_start(&t);
	while (vb_run(s, batch)) {
		if ((err = vrb_send(b, P)))
			break;
		err = vrb_dev_step(b, P, IO, d);
		if (err != (int)batch) {
			if (err >= 0)
				snprintf(d->why, sizeof(d->why),
					 "device took %d of %u", err, batch);
			break;
		}
		err = vrb_reclaim(b, P);
		if (err || b->done != b->sent) {
			snprintf(d->why, sizeof(d->why),
				 "driver: used buffers missing or wrong (%s)",
				 err ? vr_errname(err) : "short");
			err = -1;
			break;
		}
		err = 0;
	}
	vb_timer_stop(&t);
	b->dev_got = d->expect;
	b->dev_irqs = d->irqs;
	if (err)
		vb_fail(s, d->why);
	else
		vrb_finish(s, b, &t, false);
	free(d);
	vrb_free_all(b);
}

/* ---- The four implementations ---------------------------------------------------- */

#define VRB_IMPL(name, P, IO)                                                  \
	static void vrb_dev_##name(struct vb_pair *p, void *arg)               \
	{                                                                      \
		vrb_device_loop(p, arg, P, IO);                                \
	}                                                                      \
	static void bm_##name##_stream(struct vb_state *s)                     \
	{                                                                      \
		vrb_stream(s, P, IO, vrb_dev_##name);                          \
	}                                                                      \
	static void bm_##name##_pingpong(struct vb_state *s)                   \
	{                                                                      \
		vrb_pingpong(s, P, IO, vrb_dev_##name);                        \
	}                                                                      \
	static void bm_##name##_local(struct vb_state *s)                      \
	{                                                                      \
		vrb_local(s, P, IO);                                           \
	}

VRB_IMPL(split, false, false)
VRB_IMPL(packed, true, false)
VRB_IMPL(split_inorder, false, true)
VRB_IMPL(packed_inorder, true, true)

#define VRB_LIST(name)                                                         \
	{ "BM_" #name "_stream", bm_##name##_stream, VB_STREAM },              \
	{ "BM_" #name "_pingpong", bm_##name##_pingpong, VB_PINGPONG },        \
	{ "BM_" #name "_local", bm_##name##_local, VB_LOCAL }

const struct vb_bench vb_vring_benches[] = {
	VRB_LIST(split),
	VRB_LIST(packed),
	VRB_LIST(split_inorder),
	VRB_LIST(packed_inorder),
	{ NULL, NULL, VB_STREAM },
};
