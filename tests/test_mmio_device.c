/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-mmio device model driven like a correct driver would: raw register
 * sequences of virtio 1.2 sections 3.1.1 and 4.2.3, then buffers exchanged
 * through the queues the model set up, with libvring's split and packed
 * DRIVER calls on the driver side of the same guest memory and the model's
 * queues (libvring DEVICE calls) answering from the notify callback.
 */
#include <stdio.h>

#include "test_mmio_device_fixture.h"

/* ---- Register file at rest ----------------------------------------------- */

static void test_probe_registers(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	assert_int_equal(rd(t, VR_MMIO_REG_MAGIC), 0x74726976u);
	assert_int_equal(rd(t, VR_MMIO_REG_VERSION), 2);
	assert_int_equal(rd(t, VR_MMIO_REG_DEVICE_ID), VR_VIRTIO_ID_CONSOLE);
	assert_int_equal(rd(t, VR_MMIO_REG_VENDOR_ID), 0x4c425652u);
	assert_true(td_read_features(t) == TD_OFFER);
	wr(t, VR_MMIO_REG_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(t, VR_MMIO_REG_DEVICE_FEATURES), 0);
	wr(t, VR_MMIO_REG_DEVICE_FEATURES_SEL, 0xffffffffu);
	assert_int_equal(rd(t, VR_MMIO_REG_DEVICE_FEATURES), 0);
	/* QueueNumMax per queue; 0 for the unavailable one and past the end. */
	wr(t, VR_MMIO_REG_QUEUE_SEL, 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_NUM_MAX), 256);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 1);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_NUM_MAX), 64);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 2);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_NUM_MAX), 0);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 77);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_NUM_MAX), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_RESET), 0);
	/* No shared memory regions: length -1. */
	assert_int_equal(rd(t, VR_MMIO_REG_SHM_LEN_LOW), 0xffffffffu);
	assert_int_equal(rd(t, VR_MMIO_REG_SHM_LEN_HIGH), 0xffffffffu);
	assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_CONFIG_GENERATION), 0);
	/* Config space: little-endian, 1/2/4-byte accesses. */
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x100, 4), 0x44332211u);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x104, 4), 0x88776655u);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x102, 2), 0x4433u);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x107, 1), 0x88u);
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->ignored_reads, 0);
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->violations, 0);
	td_free(t);
}

static void test_init_sequence_status_callbacks(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	td_negotiate(t, F(VR_F_VERSION_1) | F(VR_F_EVENT_IDX) | 0x1u);
	assert_true(t->vetoed_features == (F(VR_F_VERSION_1) | F(VR_F_EVENT_IDX) | 0x1u));
	assert_int_equal(t->last_new_status, ST_ACK | ST_DRV | ST_FOK);
	assert_int_equal(td_queue(t, 0, 128, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 1);
	assert_int_equal(t->queue_up[0], 1);
	/* Not live before DRIVER_OK: no queue for the back end yet. */
	assert_null(vr_mmio_dev_split(&t->dev, 0));
	assert_int_equal(vr_mmio_dev_interrupt_used(&t->dev), VR_EAGAIN);
	td_set_status(t, ST_DOK);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK);
	assert_non_null(vr_mmio_dev_split(&t->dev, 0));
	assert_null(vr_mmio_dev_packed(&t->dev, 0));
	assert_null(vr_mmio_dev_split(&t->dev, 1)); /* not set up */
	assert_null(vr_mmio_dev_split(&t->dev, 9));
	/* The used ring was zeroed by the set-up. */
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->violations, 0);
	td_free(t);
}

/* ---- Buffer exchange -------------------------------------------------------- */

struct drvq {
	bool packed;
	struct vr_split_drv s;
	struct vr_packed_drv p;
	void *state;
};

static void drvq_init(struct td *t, struct drvq *d, uint32_t num, uint64_t desc,
		      uint64_t drv, uint64_t dev)
{
	struct vr_queue_cfg cfg;
	size_t n;

	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = vr_mmio_dev_features(&t->dev);
	cfg.mem = vr_mem_window(t->arena, TD_GPA, TD_ARENA);
	d->packed = (cfg.features & F(VR_F_RING_PACKED)) != 0;
	if (d->packed) {
		struct vr_packed_areas a = {td_ptr(t, desc), td_ptr(t, drv), td_ptr(t, dev)};

		n = vr_packed_drv_state_size(num);
		d->state = aligned_alloc(64, (n + 63) & ~(size_t)63);
		assert_int_equal(vr_packed_drv_init(&d->p, &cfg, &a, d->state, n), 0);
	} else {
		struct vr_split_areas a = {td_ptr(t, desc), td_ptr(t, drv), td_ptr(t, dev)};

		n = vr_split_drv_state_size(num);
		d->state = aligned_alloc(64, (n + 63) & ~(size_t)63);
		assert_int_equal(vr_split_drv_init(&d->s, &cfg, &a, d->state, n), 0);
	}
}

/* Send @count messages on queue @q (driver side in @d), up to @batch at
 * a time, and check every answer. */
static void exchange(struct td *t, struct drvq *d, uint32_t q, unsigned count,
		     unsigned batch)
{
	unsigned sent = 0, got = 0, before;
	uint32_t qbase = TD_POOL + q * 0x2000u;

	while (got < count) {
		unsigned k = 0;

		while (k < batch && sent < count) {
			uint32_t slot = sent % 32;
			uint64_t out = TD_GPA + qbase + slot * 128;
			struct vr_seg seg[2] = {{out, 0}, {out + 64, 64}};
			char *msg = (char *)td_ptr(t, out);
			int rc;

			seg[0].len = (uint32_t)snprintf(msg, 64, "q%u message %u", q, sent);
			rc = d->packed ? vr_packed_drv_add(&d->p, seg, 1, 1, (void *)(uintptr_t)(sent + 1))
				       : vr_split_drv_add(&d->s, seg, 1, 1, (void *)(uintptr_t)(sent + 1));
			assert_true(rc >= 0);
			sent++;
			k++;
		}
		/* Kick when the device asked for it: the model calls notify,
		 * the back end answers and the model raises the interrupt.
		 * Both sides re-arm after draining, so every batch is kicked
		 * and answered with an interrupt. */
		before = t->served;
		assert_int_equal(d->packed ? vr_packed_drv_kick_prepare(&d->p)
					   : vr_split_drv_kick_prepare(&d->s), 1);
		assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, q), 0);
		assert_int_equal(t->served - before, k);
		assert_int_equal(t->irq_level, 1);
		assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS), VR_MMIO_INT_VRING);
		assert_int_equal(wr(t, VR_MMIO_REG_INTERRUPT_ACK, VR_MMIO_INT_VRING), 0);
		assert_int_equal(t->irq_level, 0);
		for (;;) {
			struct vr_used_buf u;
			unsigned idx, j;
			char expect[64];
			int rc = d->packed ? vr_packed_drv_get_used(&d->p, &u)
					   : vr_split_drv_get_used(&d->s, &u);
			const unsigned char *back;
			int n;

			if (rc == VR_EAGAIN) {
				rc = d->packed ? vr_packed_drv_arm_used_notify(&d->p)
					       : vr_split_drv_arm_used_notify(&d->s);
				assert_true(rc >= 0);
				if (rc == 0)
					break;
				continue;
			}
			assert_int_equal(rc, 0);
			idx = (unsigned)(uintptr_t)u.cookie - 1;
			assert_int_equal(idx, got);
			n = snprintf(expect, sizeof(expect), "q%u message %u", q, idx);
			assert_int_equal(u.len, (uint32_t)n);
			back = (const unsigned char *)td_ptr(t, TD_GPA + qbase + (idx % 32) * 128 + 64);
			for (j = 0; j < (unsigned)n; j++)
				assert_int_equal(back[j], (unsigned char)expect[n - 1 - j]);
			got++;
		}
		assert_int_equal(got, sent);
	}
}

static void test_split_exchange(void **state)
{
	struct td *t = td_new(TD_OFFER);
	struct drvq d0, d1;

	(void)state;
	t->serve = td_serve_reverse;
	td_bringup_split(t, F(VR_F_VERSION_1) | F(VR_F_INDIRECT_DESC), 256, 64);
	drvq_init(t, &d0, 256, Q0_DESC, Q0_AVAIL, Q0_USED);
	drvq_init(t, &d1, 64, Q1_DESC, Q1_AVAIL, Q1_USED);
	exchange(t, &d0, 0, 1000, 16);
	exchange(t, &d1, 1, 500, 32);
	assert_int_equal(t->served, 1500);
	assert_true(t->notifies[0] > 0 && t->notifies[1] > 0);
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->violations, 0);
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->notifies_dropped, 0);
	free(d0.state);
	free(d1.state);
	td_free(t);
}

static void test_split_event_idx_exchange(void **state)
{
	struct td *t = td_new(TD_OFFER);
	struct drvq d0;

	(void)state;
	t->serve = td_serve_reverse;
	td_bringup_split(t, F(VR_F_VERSION_1) | F(VR_F_EVENT_IDX), 16, 64);
	drvq_init(t, &d0, 16, Q0_DESC, Q0_AVAIL, Q0_USED);
	/* Batches of 8 in a 16-entry ring: 16-bit indexes wrap many times. */
	exchange(t, &d0, 0, 70000, 8);
	assert_int_equal(t->served, 70000);
	free(d0.state);
	td_free(t);
}

static void test_packed_exchange(void **state)
{
	struct td *t = td_new(TD_OFFER);
	struct drvq d0;
	const uint64_t desc = TD_GPA + 0x0000u, drv = TD_GPA + 0x1000u,
		       dev = TD_GPA + 0x1010u;

	(void)state;
	t->serve = td_serve_reverse;
	td_negotiate(t, F(VR_F_VERSION_1) | F(VR_F_RING_PACKED) | F(VR_F_EVENT_IDX));
	/* Packed rings need not be a power of two. */
	assert_int_equal(td_queue(t, 0, 100, desc, drv, dev), 0);
	td_set_status(t, ST_DOK);
	assert_non_null(vr_mmio_dev_packed(&t->dev, 0));
	assert_null(vr_mmio_dev_split(&t->dev, 0));
	drvq_init(t, &d0, 100, desc, drv, dev);
	exchange(t, &d0, 0, 3000, 30);
	assert_int_equal(t->served, 3000);
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->violations, 0);
	free(d0.state);
	td_free(t);
}

/* Reset tears everything down, and the device comes up again. */
static void test_reset_and_reinit(void **state)
{
	struct td *t = td_new(TD_OFFER);
	struct drvq d0;

	(void)state;
	t->serve = td_serve_reverse;
	td_bringup_split(t, F(VR_F_VERSION_1), 256, 64);
	drvq_init(t, &d0, 256, Q0_DESC, Q0_AVAIL, Q0_USED);
	exchange(t, &d0, 0, 10, 4);
	free(d0.state);
	/* An interrupt pending at reset: the line drops. */
	vr_mmio_dev_config_changed(&t->dev);
	assert_int_equal(t->irq_level, 1);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, 0), 0);
	assert_int_equal(t->irq_level, 0);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS), 0);
	assert_int_equal(t->queue_down[0], 1);
	assert_int_equal(t->queue_down[1], 1);
	assert_int_equal(t->last_new_status, 0);
	assert_true(vr_mmio_dev_features(&t->dev) == 0);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 0);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 1);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 0);
	assert_null(vr_mmio_dev_split(&t->dev, 0));
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->resets, 2); /* with td_negotiate's */
	/* Again, packed this time, on the same memory. */
	memset(t->arena, 0, TD_POOL);
	t->served = 0;
	td_negotiate(t, F(VR_F_VERSION_1) | F(VR_F_RING_PACKED));
	assert_int_equal(td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
	td_set_status(t, ST_DOK);
	drvq_init(t, &d0, 256, Q0_DESC, Q0_AVAIL, Q0_USED);
	exchange(t, &d0, 0, 300, 10);
	assert_int_equal(t->served, 300);
	free(d0.state);
	td_free(t);
}

/* QueueReady 0 stops a queue; it can then be reprogrammed. */
static void test_queue_ready_zero_reprogram(void **state)
{
	struct td *t = td_new(TD_OFFER);
	struct drvq d1;

	(void)state;
	t->serve = td_serve_reverse;
	td_bringup_split(t, F(VR_F_VERSION_1), 256, 64);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 1);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_READY, 0), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 0);
	assert_int_equal(t->queue_down[1], 1);
	assert_null(vr_mmio_dev_split(&t->dev, 1));
	/* A notify for it is dropped, not delivered. */
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 1), VR_EINVAL);
	assert_int_equal(t->notifies[1], 0);
	/* Reprogram: 32 entries, elsewhere. */
	memset(td_ptr(t, TD_GPA + 0x6000u), 0, 0x1000);
	assert_int_equal(td_queue(t, 1, 32, TD_GPA + 0x6000u, TD_GPA + 0x6200u,
				  TD_GPA + 0x6400u), 0);
	assert_int_equal(t->queue_up[1], 2);
	drvq_init(t, &d1, 32, TD_GPA + 0x6000u, TD_GPA + 0x6200u, TD_GPA + 0x6400u);
	exchange(t, &d1, 1, 200, 8);
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->violations, 0);
	free(d1.state);
	td_free(t);
}

/* VIRTIO_F_RING_RESET: QueueReset; the reset completes at once (QueueReset
 * and QueueReady read 0, virtio 1.2 4.2.2.1); re-enable. */
static void test_queue_reset(void **state)
{
	struct td *t = td_new(TD_OFFER);
	struct drvq d0;

	(void)state;
	t->serve = td_serve_reverse;
	td_bringup_split(t, F(VR_F_VERSION_1) | F(VR_F_RING_RESET), 256, 64);
	drvq_init(t, &d0, 256, Q0_DESC, Q0_AVAIL, Q0_USED);
	exchange(t, &d0, 0, 50, 5);
	free(d0.state);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_RESET, 1), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_RESET), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 0);
	assert_int_equal(t->queue_down[0], 1);
	assert_null(vr_mmio_dev_split(&t->dev, 0));
	/* Queue 1 untouched, the device still live. */
	assert_non_null(vr_mmio_dev_split(&t->dev, 1));
	assert_true(vr_mmio_dev_live(&t->dev));
	/* Defaults: the addresses are 0 again, so enabling as is fails. */
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_READY, 1), VR_EFAULT);
	assert_true(rd(t, VR_MMIO_REG_STATUS) & ST_NR); /* after DRIVER_OK */
	td_free(t);

	/* Now done right: re-enable with fresh areas. */
	t = td_new(TD_OFFER);
	t->serve = td_serve_reverse;
	td_bringup_split(t, F(VR_F_VERSION_1) | F(VR_F_RING_RESET), 256, 64);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_RESET, 1), 0);
	memset(t->arena, 0, 0x2000);
	assert_int_equal(td_queue(t, 0, 64, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_RESET), 0);
	drvq_init(t, &d0, 64, Q0_DESC, Q0_AVAIL, Q0_USED);
	exchange(t, &d0, 0, 100, 7);
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->violations, 0);
	free(d0.state);
	td_free(t);
}

/* Config space: generation, change interrupt, writes through the hook. */
static void test_config_space(void **state)
{
	struct td *t = td_new(TD_OFFER);
	uint32_t g;

	(void)state;
	g = rd(t, VR_MMIO_REG_CONFIG_GENERATION);
	t->config[0] = 0x99;
	vr_mmio_dev_config_changed(&t->dev);
	assert_int_not_equal(rd(t, VR_MMIO_REG_CONFIG_GENERATION), g);
	/* No interrupt before DRIVER_OK. */
	assert_int_equal(t->irq_level, 0);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x100, 1), 0x99);
	td_bringup_split(t, F(VR_F_VERSION_1), 256, 64);
	g = rd(t, VR_MMIO_REG_CONFIG_GENERATION);
	vr_mmio_dev_config_changed(&t->dev);
	assert_int_equal(rd(t, VR_MMIO_REG_CONFIG_GENERATION), g + 1);
	assert_int_equal(t->irq_level, 1);
	assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS), VR_MMIO_INT_CONFIG);
	assert_int_equal(wr(t, VR_MMIO_REG_INTERRUPT_ACK, VR_MMIO_INT_CONFIG), 0);
	assert_int_equal(t->irq_level, 0);
	/* Writable half takes 1, 2 and 4-byte writes. */
	assert_int_equal(vr_mmio_dev_write(&t->dev, 0x104, 4, 0xa1b2c3d4u), 0);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x104, 4), 0xa1b2c3d4u);
	assert_int_equal(vr_mmio_dev_write(&t->dev, 0x106, 2, 0xffff0102u), 0);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x104, 4), 0x0102c3d4u);
	assert_int_equal(vr_mmio_dev_write(&t->dev, 0x105, 1, 0x77u), 0);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x105, 1), 0x77u);
	assert_int_equal(t->config_writes, 3);
	td_free(t);
}

/* Interrupt bits: both raised, acknowledged one at a time; the line stays
 * up until the last one goes. */
static void test_interrupt_line(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	td_bringup_split(t, F(VR_F_VERSION_1), 256, 64);
	assert_int_equal(vr_mmio_dev_interrupt_used(&t->dev), 0);
	vr_mmio_dev_config_changed(&t->dev);
	assert_int_equal(t->irq_raises, 1);
	assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS), 3);
	assert_int_equal(wr(t, VR_MMIO_REG_INTERRUPT_ACK, VR_MMIO_INT_VRING), 0);
	assert_int_equal(t->irq_level, 1);
	assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS), VR_MMIO_INT_CONFIG);
	assert_int_equal(wr(t, VR_MMIO_REG_INTERRUPT_ACK, VR_MMIO_INT_CONFIG), 0);
	assert_int_equal(t->irq_level, 0);
	assert_int_equal(vr_mmio_dev_interrupt_used(&t->dev), 0);
	assert_int_equal(t->irq_raises, 2);
	td_free(t);
}

/* VIRTIO_F_NOTIFICATION_DATA: the queue index is the low 16 bits; the
 * callback gets the whole value. */
static void test_notification_data(void **state)
{
	struct td *t = td_new(TD_OFFER | F(VR_F_NOTIFICATION_DATA));

	(void)state;
	td_bringup_split(t, F(VR_F_VERSION_1) | F(VR_F_NOTIFICATION_DATA), 256, 64);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 0x80050001u), 0);
	assert_int_equal(t->notifies[1], 1);
	assert_int_equal(t->last_notify_value, 0x80050001u);
	td_free(t);

	/* Without it the whole value is the index: out of range, dropped. */
	t = td_new(TD_OFFER);
	td_bringup_split(t, F(VR_F_VERSION_1), 256, 64);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 0x80050001u), VR_EINVAL);
	assert_int_equal(t->notifies[1], 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 1), 0);
	assert_int_equal(t->notifies[1], 1);
	td_free(t);
}

/* A translate callback instead of a window: two windows, the rings in one
 * and the buffers in the other. */
static unsigned char *g_lo, *g_hi;

static void *two_windows(void *ctx, uint64_t addr, uint64_t len, enum vr_access a)
{
	(void)ctx;
	(void)a;
	if (len == 0 || addr + len < addr)
		return NULL;
	if (addr >= TD_GPA && addr + len <= TD_GPA + 0x8000u)
		return g_lo + (addr - TD_GPA);
	if (addr >= 0x200000000ull && addr + len <= 0x200000000ull + 0x8000u)
		return g_hi + (addr - 0x200000000ull);
	return NULL;
}

static void test_translate_callback(void **state)
{
	struct td *t = (struct td *)calloc(1, sizeof(*t));
	struct vr_mem mem;
	struct vr_split_drv drv;
	struct vr_queue_cfg cfg;
	struct vr_split_areas a;
	void *st;
	struct vr_seg seg[2];
	struct vr_used_buf u;

	(void)state;
	assert_non_null(t);
	t->arena = (unsigned char *)aligned_alloc(4096, TD_ARENA);
	memset(t->arena, 0, TD_ARENA);
	g_lo = t->arena;
	g_hi = t->arena + 0x8000u;
	memset(&mem, 0, sizeof(mem));
	mem.translate = two_windows;
	assert_int_equal(td_init_mem(t, TD_OFFER, mem), 0);
	t->serve = td_serve_reverse;
	td_negotiate(t, F(VR_F_VERSION_1));
	/* A ring in the gap between the windows is refused. */
	assert_int_equal(td_queue(t, 0, 256, TD_GPA + 0x10000u, Q0_AVAIL, Q0_USED), VR_EFAULT);
	assert_int_equal(td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
	td_set_status(t, ST_DOK);
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = 256;
	cfg.features = vr_mmio_dev_features(&t->dev);
	cfg.mem = mem;
	a.desc = td_ptr(t, Q0_DESC);
	a.avail = td_ptr(t, Q0_AVAIL);
	a.used = td_ptr(t, Q0_USED);
	st = malloc(vr_split_drv_state_size(256));
	assert_int_equal(vr_split_drv_init(&drv, &cfg, &a, st, vr_split_drv_state_size(256)), 0);
	memcpy(g_hi, "abc", 3);
	seg[0].addr = 0x200000000ull;
	seg[0].len = 3;
	seg[1].addr = 0x200000000ull + 0x100u;
	seg[1].len = 16;
	assert_true(vr_split_drv_add(&drv, seg, 1, 1, NULL) >= 0);
	assert_int_equal(vr_split_drv_kick_prepare(&drv), 1);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 0), 0);
	assert_int_equal(vr_split_drv_get_used(&drv, &u), 0);
	assert_int_equal(u.len, 3);
	assert_memory_equal(g_hi + 0x100, "cba", 3);
	free(st);
	td_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_registers),
		cmocka_unit_test(test_init_sequence_status_callbacks),
		cmocka_unit_test(test_split_exchange),
		cmocka_unit_test(test_split_event_idx_exchange),
		cmocka_unit_test(test_packed_exchange),
		cmocka_unit_test(test_reset_and_reinit),
		cmocka_unit_test(test_queue_ready_zero_reprogram),
		cmocka_unit_test(test_queue_reset),
		cmocka_unit_test(test_config_space),
		cmocka_unit_test(test_interrupt_line),
		cmocka_unit_test(test_notification_data),
		cmocka_unit_test(test_translate_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
