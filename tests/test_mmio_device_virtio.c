/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libvring's own virtio driver (transports/virtio core + the virtio-mmio
 * bus of transports/mmio) against the virtio-mmio device model, in one
 * process: the driver's register accessor calls the model's read and
 * write, guest memory is one arena both see (the driver's to_bus turns its
 * pointers into guest-physical addresses, the model's window turns them
 * back). Split and packed rings, EVENT_IDX on and off, config reads under
 * the generation, per-queue reset, and DEVICE_NEEDS_RESET reaching the
 * driver.
 */
#include <stdio.h>

#include <vring/virtio_drv.h>
#include <vring/virtio_mmio.h>

#include "test_mmio_device_fixture.h"

/* ---- The glue a VMM would be: accessor onto the model ------------------- */

static uint32_t acc_read(void *ctx, uint32_t off, unsigned width)
{
	return vr_mmio_dev_read(&((struct td *)ctx)->dev, off, width);
}

static void acc_write(void *ctx, uint32_t off, uint32_t val, unsigned width)
{
	/* The code goes to the model's counters; check_clean() asserts a
	 * correct driver never had a write refused or ignored. */
	(void)vr_mmio_dev_write(&((struct td *)ctx)->dev, off, width, val);
}

static const struct vr_mmio_access acc = {acc_read, acc_write};

static uint64_t to_bus(void *ctx, const void *p)
{
	struct td *t = (struct td *)ctx;

	return TD_GPA + (uint64_t)((const unsigned char *)p - t->arena);
}

struct rig {
	struct td *t;
	struct vr_mmio mmio;
	struct vr_virtio_dev vd;
	struct vr_virtio_queue vq[2];
	void *qstate[2];
};

static void rig_up(struct rig *r, uint64_t offer, uint64_t wanted,
		   const uint32_t num[2])
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->t = td_new(offer);
	r->t->serve = td_serve_reverse;
	assert_int_equal(vr_mmio_probe_access(&r->mmio, &acc, r->t), 0);
	assert_int_equal(vr_mmio_device_id(&r->mmio), VR_VIRTIO_ID_CONSOLE);
	assert_int_equal(vr_mmio_vendor_id(&r->mmio), 0x4c425652u);
	assert_int_equal(vr_virtio_init(&r->vd, &vr_mmio_bus_ops, &r->mmio, to_bus, r->t), 0);
	assert_int_equal(vr_virtio_begin(&r->vd), 0);
	assert_true(vr_virtio_device_features(&r->vd) == offer);
	assert_int_equal(vr_virtio_negotiate(&r->vd, wanted), 0);
	/* Both sides agree on what was negotiated. */
	assert_true(vr_virtio_features(&r->vd) == vr_mmio_dev_features(&r->t->dev));
	for (i = 0; i < 2; i++) {
		struct vr_virtio_queue_cfg qc;
		uint64_t f = vr_virtio_features(&r->vd);
		int rc;

		memset(&qc, 0, sizeof(qc));
		qc.num = num[i];
		qc.ring = r->t->arena + i * 0x4000u;
		qc.ring_len = 0x4000u;
		qc.state_len = vr_virtio_queue_state_size(f, num[i]);
		r->qstate[i] = aligned_alloc(64, (qc.state_len + 63) & ~(size_t)63);
		qc.state = r->qstate[i];
		rc = vr_virtio_queue_setup(&r->vd, &r->vq[i], (uint16_t)i, &qc);
		assert_true(rc > 0);
		assert_int_equal(r->t->queue_up[i], 1);
	}
	assert_int_equal(vr_virtio_driver_ok(&r->vd), 0);
	assert_true(vr_mmio_dev_live(&r->t->dev));
}

static void rig_down(struct rig *r)
{
	free(r->qstate[0]);
	free(r->qstate[1]);
	td_free(r->t);
}

/* Send @count messages on queue @q, @batch per kick; the model's back end
 * answers each with its bytes reversed; interrupts are taken through
 * vr_virtio_interrupt() as an IRQ handler would. */
static void exchange(struct rig *r, unsigned q, unsigned count, unsigned batch)
{
	struct td *t = r->t;
	struct vr_virtio_queue *vq = &r->vq[q];
	uint32_t base = TD_POOL + q * 0x2000u;
	unsigned sent = 0, got = 0;

	/* Two descriptors a message, all answered before the next batch. */
	assert_true(batch * 2 <= vr_virtio_queue_free(vq) && batch <= 32);

	while (got < count) {
		unsigned k = 0, spins = 0;
		int rc;

		while (k < batch && sent < count) {
			uint64_t out = TD_GPA + base + (sent % 32) * 128;
			struct vr_seg seg[2] = {{out, 0}, {out + 64, 64}};

			seg[0].len = (uint32_t)snprintf((char *)td_ptr(t, out), 64,
							"virtio q%u #%u", q, sent);
			rc = vr_virtio_queue_add(vq, seg, 1, 1, (void *)(uintptr_t)(sent + 1));
			if (rc < 0)
				fail_msg("add: %s sent %u got %u served %u notifies %u free %u", vr_errname(rc), sent, got, t->served, t->notifies[q], vr_virtio_queue_free(vq));
			sent++;
			k++;
		}
		rc = vr_virtio_queue_kick(vq);
		assert_true(rc >= 0);
		for (;;) {
			struct vr_used_buf u;
			char expect[64];
			const unsigned char *back;
			unsigned idx, j;
			int n;

			if (t->irq_level) {
				rc = vr_virtio_interrupt(&r->vd);
				assert_int_equal(rc, VR_VIRTIO_INT_VRING);
				assert_int_equal(t->irq_level, 0);
			}
			rc = vr_virtio_queue_get_used(vq, &u);
			if (rc == VR_EAGAIN) {
				rc = vr_virtio_queue_arm(vq);
				assert_true(rc >= 0);
				if (rc == 0 && got == sent)
					break;
				/* Everything is answered inside the kick. */
				assert_true(++spins < 4);
				continue;
			}
			assert_int_equal(rc, 0);
			idx = (unsigned)(uintptr_t)u.cookie - 1;
			assert_int_equal(idx, got);
			n = snprintf(expect, sizeof(expect), "virtio q%u #%u", q, idx);
			assert_int_equal(u.len, (uint32_t)n);
			back = (const unsigned char *)td_ptr(t, TD_GPA + base + (idx % 32) * 128 + 64);
			for (j = 0; j < (unsigned)n; j++)
				assert_int_equal(back[j], (unsigned char)expect[n - 1 - j]);
			got++;
		}
	}
	assert_int_equal(vr_virtio_queue_broken(vq), 0);
}

static void check_clean(struct rig *r)
{
	const struct vr_mmio_dev_stats *s = vr_mmio_dev_stats(&r->t->dev);

	assert_int_equal(s->violations, 0);
	assert_int_equal(s->ignored_reads, 0);
	assert_int_equal(s->ignored_writes, 0);
	assert_int_equal(s->notifies_dropped, 0);
	assert_int_equal(s->features_refused, 0);
	assert_int_equal(vr_mmio_dev_status(&r->t->dev) & ST_NR, 0);
}

static void test_virtio_split(void **state)
{
	static const uint32_t num[2] = {256, 64};
	struct rig r;

	(void)state;
	rig_up(&r, TD_OFFER, F(VR_F_INDIRECT_DESC), num);
	assert_true(vr_virtio_features(&r.vd) == (F(VR_F_VERSION_1) | F(VR_F_INDIRECT_DESC)));
	assert_non_null(vr_mmio_dev_split(&r.t->dev, 0));
	exchange(&r, 0, 2000, 16);
	exchange(&r, 1, 1000, 32);
	assert_int_equal(r.t->served, 3000);
	check_clean(&r);
	rig_down(&r);
}

static void test_virtio_split_event_idx(void **state)
{
	static const uint32_t num[2] = {32, 16};
	struct rig r;

	(void)state;
	rig_up(&r, TD_OFFER, F(VR_F_EVENT_IDX), num);
	assert_true(vr_virtio_features(&r.vd) & F(VR_F_EVENT_IDX));
	/* Past a 16-bit index wrap on the small queue. */
	exchange(&r, 1, 70000, 7);
	exchange(&r, 0, 1000, 16);
	assert_int_equal(r.t->served, 71000);
	check_clean(&r);
	rig_down(&r);
}

static void test_virtio_packed(void **state)
{
	static const uint32_t num[2] = {100, 64};
	struct rig r;

	(void)state;
	rig_up(&r, TD_OFFER, F(VR_F_RING_PACKED) | F(VR_F_EVENT_IDX), num);
	assert_true(vr_virtio_features(&r.vd) & F(VR_F_RING_PACKED));
	assert_non_null(vr_mmio_dev_packed(&r.t->dev, 0));
	assert_int_equal(r.t->queues[0].num, 100);
	exchange(&r, 0, 3000, 30);
	exchange(&r, 1, 1000, 32);
	check_clean(&r);
	rig_down(&r);
}

static void test_virtio_packed_no_event_idx(void **state)
{
	static const uint32_t num[2] = {256, 8};
	struct rig r;

	(void)state;
	rig_up(&r, TD_OFFER, F(VR_F_RING_PACKED), num);
	exchange(&r, 1, 70000, 4);
	assert_int_equal(r.t->served, 70000);
	assert_true(r.t->irq_raises >= 70000 / 4);
	check_clean(&r);
	rig_down(&r);
}

/* IN_ORDER on both formats: the back end answers in the order it takes. */
static void test_virtio_in_order(void **state)
{
	static const uint32_t num[2] = {64, 32};
	const uint64_t offer = TD_OFFER | F(VR_F_IN_ORDER);
	struct rig r;

	(void)state;
	rig_up(&r, offer, F(VR_F_IN_ORDER) | F(VR_F_EVENT_IDX), num);
	assert_true(vr_virtio_features(&r.vd) & F(VR_F_IN_ORDER));
	exchange(&r, 0, 5000, 16);
	exchange(&r, 1, 5000, 16);
	check_clean(&r);
	rig_down(&r);
	rig_up(&r, offer, F(VR_F_IN_ORDER) | F(VR_F_RING_PACKED), num);
	assert_true(vr_virtio_features(&r.vd) & F(VR_F_RING_PACKED));
	exchange(&r, 0, 5000, 16);
	check_clean(&r);
	rig_down(&r);
}

/* Config space through the driver's generation loop, and a change
 * interrupt on the way. */
static void test_virtio_config(void **state)
{
	static const uint32_t num[2] = {64, 64};
	struct rig r;
	unsigned char buf[8];

	(void)state;
	rig_up(&r, TD_OFFER, 0, num);
	assert_int_equal(vr_virtio_config_read(&r.vd, 0, buf, 8), 0);
	assert_memory_equal(buf, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	r.t->config[2] = 0xee;
	vr_mmio_dev_config_changed(&r.t->dev);
	assert_int_equal(r.t->irq_level, 1);
	assert_int_equal(vr_virtio_interrupt(&r.vd), VR_VIRTIO_INT_CONFIG);
	assert_int_equal(r.t->irq_level, 0);
	assert_int_equal(vr_virtio_config_read(&r.vd, 2, buf, 1), 0);
	assert_int_equal(buf[0], 0xee);
	/* The writable half. */
	assert_int_equal(vr_virtio_config_write(&r.vd, 4, "\x01\x02\x03\x04", 4), 0);
	assert_memory_equal(r.t->config + 4, "\x01\x02\x03\x04", 4);
	check_clean(&r);
	rig_down(&r);
}

/* Per-queue reset (RING_RESET) by the driver, then the queue again. */
static void test_virtio_queue_reset(void **state)
{
	static const uint32_t num[2] = {128, 64};
	struct rig r;
	struct vr_virtio_queue_cfg qc;

	(void)state;
	rig_up(&r, TD_OFFER, F(VR_F_RING_RESET), num);
	exchange(&r, 0, 100, 10);
	assert_int_equal(vr_virtio_queue_reset(&r.vq[0]), 0);
	assert_int_equal(r.t->queue_down[0], 1);
	assert_null(vr_mmio_dev_split(&r.t->dev, 0));
	/* The other queue runs on. */
	exchange(&r, 1, 100, 10);
	memset(&qc, 0, sizeof(qc));
	qc.num = 32;
	qc.ring = r.t->arena;
	qc.ring_len = 0x4000u;
	qc.state = r.qstate[0];
	qc.state_len = vr_virtio_queue_state_size(vr_virtio_features(&r.vd), 128);
	assert_int_equal(vr_virtio_queue_setup(&r.vd, &r.vq[0], 0, &qc), 32);
	assert_int_equal(r.t->queue_up[0], 2);
	assert_int_equal(r.t->queues[0].num, 32);
	exchange(&r, 0, 500, 16);
	check_clean(&r);
	rig_down(&r);
}

/* The device gives up (a back-end error): the driver learns it from the
 * configuration change interrupt, and a full reset brings it back. */
static void test_virtio_needs_reset(void **state)
{
	static const uint32_t num[2] = {64, 64};
	struct rig r;
	struct vr_virtio_queue_cfg qc;
	unsigned i;

	(void)state;
	rig_up(&r, TD_OFFER, 0, num);
	exchange(&r, 0, 10, 5);
	vr_mmio_dev_set_needs_reset(&r.t->dev);
	assert_int_equal(r.t->irq_level, 1);
	assert_int_equal(vr_virtio_interrupt(&r.vd), VR_ENEEDSRESET);
	assert_int_equal(vr_virtio_check_status(&r.vd), VR_ENEEDSRESET);
	assert_int_equal(vr_virtio_reset(&r.vd), 0);
	assert_int_equal(r.t->queue_down[0], 1);
	assert_int_equal(vr_mmio_dev_status(&r.t->dev), 0);
	/* Bring-up again on the same objects. */
	assert_int_equal(vr_virtio_begin(&r.vd), 0);
	assert_int_equal(vr_virtio_negotiate(&r.vd, F(VR_F_RING_PACKED)), 0);
	for (i = 0; i < 2; i++) {
		memset(&qc, 0, sizeof(qc));
		qc.num = 64;
		qc.ring = r.t->arena + i * 0x4000u;
		qc.ring_len = 0x4000u;
		qc.state = r.qstate[i];
		qc.state_len = vr_virtio_queue_state_size(vr_virtio_features(&r.vd), 64);
		assert_int_equal(vr_virtio_queue_setup(&r.vd, &r.vq[i], (uint16_t)i, &qc), 64);
	}
	assert_int_equal(vr_virtio_driver_ok(&r.vd), 0);
	assert_non_null(vr_mmio_dev_packed(&r.t->dev, 1));
	exchange(&r, 1, 300, 16);
	assert_int_equal(vr_mmio_dev_stats(&r.t->dev)->violations, 0);
	rig_down(&r);
}

/* A feature the back end vetoes: the driver sees FEATURES_OK refused. */
static void test_virtio_features_vetoed(void **state)
{
	struct td *t = td_new(TD_OFFER);
	struct vr_mmio mmio;
	struct vr_virtio_dev vd;

	(void)state;
	t->veto = 1;
	assert_int_equal(vr_mmio_probe_access(&mmio, &acc, t), 0);
	assert_int_equal(vr_virtio_init(&vd, &vr_mmio_bus_ops, &mmio, to_bus, t), 0);
	assert_int_equal(vr_virtio_begin(&vd), 0);
	assert_int_equal(vr_virtio_negotiate(&vd, F(VR_F_EVENT_IDX)), VR_EFEATURES);
	/* The driver set FAILED; the model took it. (The driver's FAILED
	 * write carries FEATURES_OK again, which is refused again.) */
	assert_true(vr_mmio_dev_status(&t->dev) & ST_FAIL);
	assert_int_equal(vr_mmio_dev_status(&t->dev) & ST_FOK, 0);
	assert_true(vr_mmio_dev_stats(&t->dev)->features_refused >= 1);
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->violations, 0);
	assert_null(vr_mmio_dev_split(&t->dev, 0));
	td_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_virtio_split),
		cmocka_unit_test(test_virtio_split_event_idx),
		cmocka_unit_test(test_virtio_packed),
		cmocka_unit_test(test_virtio_packed_no_event_idx),
		cmocka_unit_test(test_virtio_in_order),
		cmocka_unit_test(test_virtio_config),
		cmocka_unit_test(test_virtio_queue_reset),
		cmocka_unit_test(test_virtio_needs_reset),
		cmocka_unit_test(test_virtio_features_vetoed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
