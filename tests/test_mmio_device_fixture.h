/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fixture of the virtio-mmio device model tests: guest memory (an arena at
 * guest-physical address TD_GPA), a model with three queues (256 and 64
 * entries, and one not available), an 8-byte config space, callbacks that
 * record what the model tells the embedding code, and a register-level
 * "guest driver" that follows virtio 1.2 sections 3.1.1 and 4.2.3.
 */
#ifndef VR_TEST_MMIO_DEVICE_FIXTURE_H
#define VR_TEST_MMIO_DEVICE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vring/mmio_dev.h>
#include <vring/vring.h>

#define TD_GPA 0x80000000ull /* guest-physical address of arena[0] */
#define TD_ARENA (64u * 1024u)
#define TD_NQ 3u
#define TD_POOL 0x8000u /* buffers from here to the end of the arena */

#define F(bit) VR_FEATURE(bit)
#define TD_OFFER (F(VR_F_VERSION_1) | F(VR_F_EVENT_IDX) | F(VR_F_INDIRECT_DESC) | \
		  F(VR_F_RING_PACKED) | F(VR_F_RING_RESET) | 0x5u)

#define ST_ACK VR_VIRTIO_STATUS_ACKNOWLEDGE
#define ST_DRV VR_VIRTIO_STATUS_DRIVER
#define ST_FOK VR_VIRTIO_STATUS_FEATURES_OK
#define ST_DOK VR_VIRTIO_STATUS_DRIVER_OK
#define ST_NR VR_VIRTIO_STATUS_NEEDS_RESET
#define ST_FAIL VR_VIRTIO_STATUS_FAILED

struct td {
	unsigned char *arena;
	struct vr_mmio_dev dev;
	struct vr_mmio_dev_queue queues[TD_NQ];
	struct vr_mmio_dev_queue_cfg qcfg[TD_NQ];
	void *state[TD_NQ];
	unsigned char config[8];
	struct vr_mmio_dev_ops ops;
	uint64_t offer;
	/* What the callbacks saw. */
	unsigned notifies[TD_NQ];
	uint32_t last_notify_value;
	int irq_level;
	unsigned irq_raises;
	unsigned queue_up[TD_NQ], queue_down[TD_NQ];
	uint32_t last_old_status, last_new_status;
	unsigned status_calls;
	int veto;                 /* accept_features answer */
	uint64_t vetoed_features; /* what accept_features was shown */
	unsigned config_writes;
	/* Back end: called from notify when set. */
	void (*serve)(struct td *t, uint32_t queue);
	unsigned served;
};

static inline uint32_t rd(struct td *t, uint32_t off)
{
	return vr_mmio_dev_read(&t->dev, off, 4);
}

static inline int wr(struct td *t, uint32_t off, uint32_t v)
{
	return vr_mmio_dev_write(&t->dev, off, 4, v);
}

static inline void *td_ptr(struct td *t, uint64_t gpa)
{
	return t->arena + (gpa - TD_GPA);
}

static void td_notify(void *ctx, uint32_t queue, uint32_t value)
{
	struct td *t = (struct td *)ctx;

	assert_true(queue < TD_NQ);
	t->notifies[queue]++;
	t->last_notify_value = value;
	if (t->serve)
		t->serve(t, queue);
}

static void td_irq(void *ctx, int level)
{
	struct td *t = (struct td *)ctx;

	/* The line only ever changes level. */
	assert_int_not_equal(level, t->irq_level);
	t->irq_level = level;
	if (level)
		t->irq_raises++;
}

static void td_queue_state(void *ctx, uint32_t queue, int ready)
{
	struct td *t = (struct td *)ctx;

	assert_true(queue < TD_NQ);
	if (ready)
		t->queue_up[queue]++;
	else
		t->queue_down[queue]++;
}

static void td_status(void *ctx, uint32_t old_status, uint32_t new_status)
{
	struct td *t = (struct td *)ctx;

	t->last_old_status = old_status;
	t->last_new_status = new_status;
	t->status_calls++;
}

static int td_accept(void *ctx, uint64_t features)
{
	struct td *t = (struct td *)ctx;

	t->vetoed_features = features;
	return t->veto;
}

/* Config space: bytes 0-3 read-only, bytes 4-7 writable by the driver. */
static int td_config_write(void *ctx, uint32_t off, unsigned size, uint32_t v)
{
	struct td *t = (struct td *)ctx;
	unsigned i;

	if (off < 4)
		return -1;
	for (i = 0; i < size; i++)
		t->config[off + i] = (unsigned char)(v >> (8 * i));
	t->config_writes++;
	return 0;
}

static inline int td_init_mem(struct td *t, uint64_t offer, struct vr_mem mem)
{
	struct vr_mmio_dev_cfg cfg;
	static const uint32_t max[TD_NQ] = {256, 64, 0};
	unsigned i;

	t->offer = offer;
	for (i = 0; i < TD_NQ; i++) {
		size_t n = max[i] ? vr_mmio_dev_queue_state_size(max[i]) : 0;

		t->state[i] = n ? aligned_alloc(64, (n + 63) & ~(size_t)63) : NULL;
		t->qcfg[i].num_max = max[i];
		t->qcfg[i].state = t->state[i];
		t->qcfg[i].state_len = n;
		t->qcfg[i].max_indirect = 0;
	}
	t->ops.notify = td_notify;
	t->ops.irq = td_irq;
	t->ops.queue_state = td_queue_state;
	t->ops.status = td_status;
	t->ops.accept_features = td_accept;
	t->ops.config_write = td_config_write;
	memcpy(t->config, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	memset(&cfg, 0, sizeof(cfg));
	cfg.device_id = VR_VIRTIO_ID_CONSOLE;
	cfg.vendor_id = 0x4c425652u; /* "RVBL" */
	cfg.features = offer;
	cfg.mem = mem;
	cfg.config = t->config;
	cfg.config_len = sizeof(t->config);
	cfg.num_queues = TD_NQ;
	cfg.queue = t->qcfg;
	cfg.queues = t->queues;
	cfg.ops = &t->ops;
	cfg.ctx = t;
	return vr_mmio_dev_init(&t->dev, &cfg);
}

static inline struct td *td_new(uint64_t offer)
{
	struct td *t = (struct td *)calloc(1, sizeof(*t));

	assert_non_null(t);
	t->arena = (unsigned char *)aligned_alloc(4096, TD_ARENA);
	assert_non_null(t->arena);
	memset(t->arena, 0, TD_ARENA);
	assert_int_equal(td_init_mem(t, offer, vr_mem_window(t->arena, TD_GPA, TD_ARENA)), 0);
	return t;
}

static inline void td_free(struct td *t)
{
	unsigned i;

	for (i = 0; i < TD_NQ; i++)
		free(t->state[i]);
	free(t->arena);
	free(t);
}

/* ---- The guest driver's register sequences ------------------------------ */

static inline void td_set_status(struct td *t, uint32_t bits)
{
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, rd(t, VR_MMIO_REG_STATUS) | bits), 0);
}

static inline uint64_t td_read_features(struct td *t)
{
	uint64_t f;

	wr(t, VR_MMIO_REG_DEVICE_FEATURES_SEL, 0);
	f = rd(t, VR_MMIO_REG_DEVICE_FEATURES);
	wr(t, VR_MMIO_REG_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)rd(t, VR_MMIO_REG_DEVICE_FEATURES) << 32;
	return f;
}

static inline void td_write_features(struct td *t, uint64_t f)
{
	assert_int_equal(wr(t, VR_MMIO_REG_DRIVER_FEATURES_SEL, 0), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_DRIVER_FEATURES, (uint32_t)f), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_DRIVER_FEATURES_SEL, 1), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_DRIVER_FEATURES, (uint32_t)(f >> 32)), 0);
}

/* Reset, ACKNOWLEDGE, DRIVER, features (wanted & offered), FEATURES_OK
 * read back. */
static inline void td_negotiate(struct td *t, uint64_t wanted)
{
	uint64_t f;

	assert_int_equal(rd(t, VR_MMIO_REG_MAGIC), VR_MMIO_MAGIC);
	assert_int_equal(rd(t, VR_MMIO_REG_VERSION), 2);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, 0), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), 0);
	td_set_status(t, ST_ACK);
	td_set_status(t, ST_DRV);
	f = td_read_features(t) & wanted;
	td_write_features(t, f);
	td_set_status(t, ST_FOK);
	assert_true(rd(t, VR_MMIO_REG_STATUS) & ST_FOK);
	assert_true(vr_mmio_dev_features(&t->dev) == f);
}

/* Section 4.2.3.2 for queue @q: returns the QueueReady write's code. */
static inline int td_queue(struct td *t, uint32_t q, uint32_t num,
			   uint64_t desc, uint64_t drv, uint64_t dev)
{
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_SEL, q), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 0);
	assert_true(num <= rd(t, VR_MMIO_REG_QUEUE_NUM_MAX));
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NUM, num), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_DESC_LOW, (uint32_t)desc), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32)), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)drv), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_DRIVER_HIGH, (uint32_t)(drv >> 32)), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)dev), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_DEVICE_HIGH, (uint32_t)(dev >> 32)), 0);
	return wr(t, VR_MMIO_REG_QUEUE_READY, 1);
}

/* Standard split areas of queue 0 (256 entries) and queue 1 (64). */
#define Q0_DESC (TD_GPA + 0x0000u)
#define Q0_AVAIL (TD_GPA + 0x1000u)
#define Q0_USED (TD_GPA + 0x1400u)
#define Q1_DESC (TD_GPA + 0x4000u)
#define Q1_AVAIL (TD_GPA + 0x4400u)
#define Q1_USED (TD_GPA + 0x4600u)

/* The whole bring-up with split rings of @num0 and @num1 entries. */
static inline void td_bringup_split(struct td *t, uint64_t wanted,
				    uint32_t num0, uint32_t num1)
{
	td_negotiate(t, wanted & ~F(VR_F_RING_PACKED));
	assert_int_equal(td_queue(t, 0, num0, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
	assert_int_equal(td_queue(t, 1, num1, Q1_DESC, Q1_AVAIL, Q1_USED), 0);
	td_set_status(t, ST_DOK);
	assert_true(vr_mmio_dev_live(&t->dev));
}

/* ---- A back end ------------------------------------------------------------ */

/* The back end: answer every chain with the bytes of its readable part
 * reversed, then publish (the model raises the interrupt when asked). */
static inline void td_serve_reverse(struct td *t, uint32_t q)
{
	struct vr_split_dev *s = vr_mmio_dev_split(&t->dev, q);
	struct vr_packed_dev *p = vr_mmio_dev_packed(&t->dev, q);
	struct vr_iov iov[8];
	struct vr_chain c;
	int rc;

	assert_true((s != NULL) != (p != NULL));
	for (;;) {
		unsigned char tmp[256];
		uint32_t n = 0, i, j;

		c.iov = iov;
		c.iov_cap = 8;
		rc = s ? vr_split_dev_pop(s, &c) : vr_packed_dev_pop(p, &c);
		if (rc == VR_EAGAIN) {
			/* Ask for a kick at the next chain, then look again. */
			rc = s ? vr_split_dev_arm_avail_notify(s)
			       : vr_packed_dev_arm_avail_notify(p);
			assert_true(rc >= 0);
			if (rc == 0)
				break;
			continue;
		}
		assert_int_equal(rc, 0);
		for (i = 0; i < c.n_out; i++) {
			assert_true(n + iov[i].len <= sizeof(tmp));
			memcpy(tmp + n, iov[i].base, iov[i].len);
			n += iov[i].len;
		}
		assert_int_equal(c.n_in, 1);
		assert_true(iov[c.n_out].len >= n);
		for (j = 0; j < n; j++)
			((unsigned char *)iov[c.n_out].base)[j] = tmp[n - 1 - j];
		rc = s ? vr_split_dev_complete(s, c.id, n)
		       : vr_packed_dev_complete(p, c.id, n);
		assert_int_equal(rc, 0);
		t->served++;
	}
	rc = vr_mmio_dev_queue_publish(&t->dev, q);
	assert_true(rc == 0 || rc == 1);
}

#endif /* VR_TEST_MMIO_DEVICE_FIXTURE_H */
