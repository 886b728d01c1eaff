/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-mmio device model against a driver that breaks the rules of
 * virtio 1.2 (sections 2.1, 3.1.1, 4.2.2, 4.2.3): one test per rule, each
 * checking the documented outcome: the write's return code, that nothing
 * changed, the counters, and DEVICE_NEEDS_RESET (with a configuration
 * change interrupt) when the driver broke the rule after DRIVER_OK.
 */
#include <stdio.h>

#include "test_mmio_device_fixture.h"

#define STATS(t) vr_mmio_dev_stats(&(t)->dev)

/* A refused write before DRIVER_OK: counted, no DEVICE_NEEDS_RESET. */
static void expect_violation(struct td *t, int rc, int want, uint64_t before)
{
	assert_int_equal(rc, want);
	assert_int_equal(vr_mmio_dev_last_error(&t->dev), want);
	assert_int_equal(STATS(t)->violations, before + 1);
}

static uint32_t qready(struct td *t, uint32_t q)
{
	wr(t, VR_MMIO_REG_QUEUE_SEL, q);
	return rd(t, VR_MMIO_REG_QUEUE_READY);
}

/* ---- Init-time checks of the embedding code's configuration ------------ */

static void test_init_refuses_bad_cfg(void **state)
{
	struct td *t = td_new(TD_OFFER);
	struct vr_mmio_dev_cfg cfg;
	struct vr_mmio_dev d;
	struct vr_mmio_dev_queue qs[1];
	struct vr_mmio_dev_queue_cfg qc[1];
	static uint64_t st[64]; /* 512 bytes */

	(void)state;
	/* The fixture's own set-up went through td_init_mem: now variants. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.device_id = 1;
	cfg.features = F(VR_F_VERSION_1);
	cfg.mem = vr_mem_window(t->arena, TD_GPA, TD_ARENA);
	cfg.num_queues = 1;
	cfg.queue = qc;
	cfg.queues = qs;
	qc[0].num_max = 64;
	qc[0].state = st;
	qc[0].state_len = vr_mmio_dev_queue_state_size(64);
	qc[0].max_indirect = 0;
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), 0);
	assert_int_equal(vr_mmio_dev_init(NULL, &cfg), VR_EINVAL);
	assert_int_equal(vr_mmio_dev_init(&d, NULL), VR_EINVAL);
	cfg.features = 0x1; /* no VERSION_1: not a modern device */
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), VR_EINVAL);
	cfg.features = F(VR_F_VERSION_1);
	cfg.device_id = 0;
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), VR_EINVAL);
	cfg.device_id = 1;
	qc[0].state_len--;
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), VR_ERANGE);
	qc[0].state_len++;
	qc[0].state = (unsigned char *)st + 2;
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), VR_EALIGN);
	qc[0].state = NULL;
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), VR_EINVAL);
	qc[0].state = st;
	qc[0].num_max = 65536;
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), VR_EINVAL);
	qc[0].num_max = 64;
	qc[0].max_indirect = 40000;
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), VR_EINVAL);
	qc[0].max_indirect = 0;
	cfg.config_len = 4; /* no bytes */
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), VR_EINVAL);
	cfg.config = t->config;
	cfg.config_len = VR_MMIO_DEV_CONFIG_MAX + 1;
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), VR_EINVAL);
	cfg.config_len = 4;
	cfg.queues = NULL;
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), VR_EINVAL);
	cfg.queues = qs;
	cfg.num_queues = VR_MMIO_DEV_QUEUES_MAX + 1;
	assert_int_equal(vr_mmio_dev_init(&d, &cfg), VR_EINVAL);
	/* The state size covers the largest split (power of two below) and
	 * packed ring. */
	assert_int_equal(vr_mmio_dev_queue_state_size(0), 0);
	assert_int_equal(vr_mmio_dev_queue_state_size(32769), 0);
	assert_true(vr_mmio_dev_queue_state_size(100) >= vr_packed_dev_state_size(100));
	assert_true(vr_mmio_dev_queue_state_size(100) >= vr_split_dev_state_size(64));
	td_free(t);
}

/* ---- Accesses the device ignores --------------------------------------- */

static void test_readonly_writes_ignored(void **state)
{
	static const uint32_t ro[] = {
		VR_MMIO_REG_MAGIC, VR_MMIO_REG_VERSION, VR_MMIO_REG_DEVICE_ID,
		VR_MMIO_REG_VENDOR_ID, VR_MMIO_REG_DEVICE_FEATURES,
		VR_MMIO_REG_QUEUE_NUM_MAX, VR_MMIO_REG_INTERRUPT_STATUS,
		VR_MMIO_REG_CONFIG_GENERATION, VR_MMIO_REG_SHM_LEN_LOW,
		VR_MMIO_REG_SHM_LEN_HIGH, VR_MMIO_REG_SHM_BASE_LOW,
		VR_MMIO_REG_SHM_BASE_HIGH};
	struct td *t = td_new(TD_OFFER);
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		assert_int_equal(wr(t, ro[i], 0xdeadbeefu), VR_EMMIOREG);
	assert_int_equal(STATS(t)->ignored_writes, sizeof(ro) / sizeof(ro[0]));
	assert_int_equal(STATS(t)->violations, 0);
	assert_int_equal(rd(t, VR_MMIO_REG_MAGIC), VR_MMIO_MAGIC);
	assert_int_equal(rd(t, VR_MMIO_REG_VERSION), 2);
	assert_int_equal(rd(t, VR_MMIO_REG_DEVICE_ID), VR_VIRTIO_ID_CONSOLE);
	assert_true(td_read_features(t) == TD_OFFER);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_NUM_MAX), 256);
	assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_CONFIG_GENERATION), 0);
	assert_int_equal(t->irq_raises, 0);
	td_free(t);
}

static void test_writeonly_and_unknown_reads(void **state)
{
	static const uint32_t wo[] = {
		VR_MMIO_REG_DEVICE_FEATURES_SEL, VR_MMIO_REG_DRIVER_FEATURES,
		VR_MMIO_REG_DRIVER_FEATURES_SEL, VR_MMIO_REG_QUEUE_SEL,
		VR_MMIO_REG_QUEUE_NUM, VR_MMIO_REG_QUEUE_NOTIFY,
		VR_MMIO_REG_INTERRUPT_ACK, VR_MMIO_REG_QUEUE_DESC_LOW,
		VR_MMIO_REG_QUEUE_DESC_HIGH, VR_MMIO_REG_QUEUE_DRIVER_LOW,
		VR_MMIO_REG_QUEUE_DRIVER_HIGH, VR_MMIO_REG_QUEUE_DEVICE_LOW,
		VR_MMIO_REG_QUEUE_DEVICE_HIGH, VR_MMIO_REG_SHM_SEL,
		/* legacy-only and holes */
		VR_MMIO_REG_GUEST_PAGE_SIZE, VR_MMIO_REG_QUEUE_ALIGN,
		VR_MMIO_REG_QUEUE_PFN, 0x018, 0x048, 0x0c4, 0x0f8};
	struct td *t = td_new(TD_OFFER);
	unsigned i;

	(void)state;
	td_negotiate(t, F(VR_F_VERSION_1));
	wr(t, VR_MMIO_REG_QUEUE_SEL, 0);
	wr(t, VR_MMIO_REG_QUEUE_DESC_LOW, 0x1000);
	for (i = 0; i < sizeof(wo) / sizeof(wo[0]); i++)
		assert_int_equal(rd(t, wo[i]), 0);
	assert_int_equal(STATS(t)->ignored_reads, sizeof(wo) / sizeof(wo[0]));
	/* Writes to the legacy registers and holes change nothing. */
	assert_int_equal(wr(t, VR_MMIO_REG_GUEST_PAGE_SIZE, 4096), VR_EMMIOREG);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_PFN, 0x1234), VR_EMMIOREG);
	assert_int_equal(wr(t, 0x0f8, 1), VR_EMMIOREG);
	assert_int_equal(qready(t, 0), 0);
	assert_int_equal(STATS(t)->violations, 0);
	td_free(t);
}

static void test_bad_width_or_alignment_ignored(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	/* Control registers take 32-bit aligned accesses only. */
	assert_int_equal(vr_mmio_dev_read(&t->dev, VR_MMIO_REG_MAGIC, 2), 0);
	assert_int_equal(vr_mmio_dev_read(&t->dev, VR_MMIO_REG_MAGIC + 1, 4), 0);
	assert_int_equal(vr_mmio_dev_read(&t->dev, VR_MMIO_REG_MAGIC, 8), 0);
	assert_int_equal(vr_mmio_dev_write(&t->dev, VR_MMIO_REG_STATUS, 1, ST_ACK), VR_EMMIOREG);
	assert_int_equal(vr_mmio_dev_write(&t->dev, VR_MMIO_REG_STATUS + 2, 4, ST_ACK), VR_EMMIOREG);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), 0);
	/* Config space: naturally aligned 1/2/4 inside the window only. */
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x101, 2), 0);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x102, 4), 0);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x108, 1), 0);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x106, 4), 0);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0xffffffffu, 1), 0);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x100, 3), 0);
	assert_int_equal(STATS(t)->ignored_reads, 9);
	assert_int_equal(vr_mmio_dev_write(&t->dev, 0x108, 4, 1), VR_EMMIOREG);
	assert_int_equal(vr_mmio_dev_write(&t->dev, 0x105, 2, 1), VR_EMMIOREG);
	/* The read-only half of the config space: the hook refuses. */
	assert_int_equal(vr_mmio_dev_write(&t->dev, 0x100, 4, 0), VR_EMMIOREG);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x100, 4), 0x44332211u);
	assert_int_equal(t->config_writes, 0);
	assert_int_equal(STATS(t)->ignored_writes, 5);
	assert_int_equal(STATS(t)->violations, 0);
	td_free(t);
}

static void test_config_write_without_hook_ignored(void **state)
{
	struct td *t = (struct td *)calloc(1, sizeof(*t));

	(void)state;
	t->arena = (unsigned char *)aligned_alloc(4096, TD_ARENA);
	assert_int_equal(td_init_mem(t, TD_OFFER, vr_mem_window(t->arena, TD_GPA, TD_ARENA)), 0);
	t->dev.ops.config_write = NULL; /* as if the ops had none */
	assert_int_equal(vr_mmio_dev_write(&t->dev, 0x104, 4, 0), VR_EMMIOREG);
	assert_int_equal(vr_mmio_dev_read(&t->dev, 0x104, 4), 0x88776655u);
	td_free(t);
}

/* ---- Features ------------------------------------------------------------ */

/* Driver features are writable only before FEATURES_OK. */
static void test_features_after_features_ok(void **state)
{
	struct td *t = td_new(TD_OFFER);
	uint64_t v;

	(void)state;
	td_negotiate(t, F(VR_F_VERSION_1));
	v = STATS(t)->violations;
	wr(t, VR_MMIO_REG_DRIVER_FEATURES_SEL, 0);
	expect_violation(t, wr(t, VR_MMIO_REG_DRIVER_FEATURES, 0x5), VR_ESTATE, v);
	assert_true(vr_mmio_dev_features(&t->dev) == F(VR_F_VERSION_1));
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS) & ST_NR, 0);
	/* After DRIVER_OK the same mistake needs a reset. */
	td_set_status(t, ST_DOK);
	wr(t, VR_MMIO_REG_DRIVER_FEATURES_SEL, 1);
	assert_int_equal(wr(t, VR_MMIO_REG_DRIVER_FEATURES, 0), VR_ESTATE);
	assert_true(vr_mmio_dev_features(&t->dev) == F(VR_F_VERSION_1));
	assert_true(rd(t, VR_MMIO_REG_STATUS) & ST_NR);
	assert_int_equal(STATS(t)->needs_reset, 1);
	assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS), VR_MMIO_INT_CONFIG);
	assert_int_equal(t->irq_level, 1);
	assert_false(vr_mmio_dev_live(&t->dev));
	td_free(t);
}

static void negotiate_to_driver(struct td *t)
{
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, 0), 0);
	td_set_status(t, ST_ACK);
	td_set_status(t, ST_DRV);
}

/* FEATURES_OK is refused (and reads back clear) for a feature not
 * offered, one beyond bit 63, a missing VERSION_1, or the back end's veto. */
static void test_features_ok_refused(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	/* Not offered: bit 1 (TD_OFFER has 0x5). */
	negotiate_to_driver(t);
	td_write_features(t, F(VR_F_VERSION_1) | 0x2);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_FOK), VR_EFEATURES);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), ST_ACK | ST_DRV);
	assert_true(vr_mmio_dev_features(&t->dev) == 0);
	assert_int_equal(STATS(t)->features_refused, 1);
	/* The driver may try again with a better set. */
	td_write_features(t, F(VR_F_VERSION_1) | 0x4);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_FOK), 0);
	assert_true(vr_mmio_dev_features(&t->dev) == (F(VR_F_VERSION_1) | 0x4));

	/* Above bit 63 (DriverFeaturesSel 2, and a far one). */
	negotiate_to_driver(t);
	td_write_features(t, F(VR_F_VERSION_1));
	wr(t, VR_MMIO_REG_DRIVER_FEATURES_SEL, 2);
	wr(t, VR_MMIO_REG_DRIVER_FEATURES, 1);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_FOK), VR_EFEATURES);
	wr(t, VR_MMIO_REG_DRIVER_FEATURES, 0); /* rewritten: fine again */
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_FOK), 0);
	negotiate_to_driver(t);
	td_write_features(t, F(VR_F_VERSION_1));
	wr(t, VR_MMIO_REG_DRIVER_FEATURES_SEL, 1000);
	wr(t, VR_MMIO_REG_DRIVER_FEATURES, 0x80000000u);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_FOK), VR_EFEATURES);

	/* Without VERSION_1 (a legacy driver on a modern device). */
	negotiate_to_driver(t);
	td_write_features(t, 0x1);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_FOK), VR_EFEATURES);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS) & ST_FOK, 0);

	/* The back end's veto. */
	negotiate_to_driver(t);
	td_write_features(t, F(VR_F_VERSION_1) | 0x1);
	t->veto = -1;
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_FOK), VR_EFEATURES);
	assert_true(t->vetoed_features == (F(VR_F_VERSION_1) | 0x1));
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS) & ST_FOK, 0);
	/* Refused FEATURES_OK is not a violation, and DRIVER_OK cannot
	 * follow it. */
	assert_int_equal(STATS(t)->features_refused, 5);
	assert_int_equal(STATS(t)->violations, 0);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_DOK), VR_ESTATE);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), ST_ACK | ST_DRV);
	td_free(t);
}

/* ---- Status ----------------------------------------------------------------- */

static void test_status_clear_bits_refused(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	td_negotiate(t, F(VR_F_VERSION_1));
	/* Before DRIVER_OK: refused, nothing else. */
	expect_violation(t, wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_FOK), VR_ESTATE, 0);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), ST_ACK | ST_DRV | ST_FOK);
	expect_violation(t, wr(t, VR_MMIO_REG_STATUS, ST_ACK), VR_ESTATE, 1);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), ST_ACK | ST_DRV | ST_FOK);
	assert_int_equal(t->irq_level, 0);
	/* After DRIVER_OK: DEVICE_NEEDS_RESET and a config interrupt. */
	assert_int_equal(td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
	td_set_status(t, ST_DOK);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_DOK), VR_ESTATE);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK | ST_NR);
	assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS), VR_MMIO_INT_CONFIG);
	assert_null(vr_mmio_dev_split(&t->dev, 0));
	/* The driver may set FAILED (keeping NEEDS_RESET), then reset. */
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, rd(t, VR_MMIO_REG_STATUS) | ST_FAIL), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, 0), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), 0);
	assert_int_equal(t->irq_level, 0);
	assert_int_equal(t->queue_down[0], 1);
	td_free(t);
}

static void test_status_out_of_order_refused(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	/* DRIVER without ACKNOWLEDGE. */
	expect_violation(t, wr(t, VR_MMIO_REG_STATUS, ST_DRV), VR_ESTATE, 0);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), 0);
	/* FEATURES_OK without DRIVER. */
	td_set_status(t, ST_ACK);
	expect_violation(t, wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_FOK), VR_ESTATE, 1);
	/* DRIVER_OK without FEATURES_OK, and in the same write as it (the
	 * driver must read FEATURES_OK back first). */
	td_set_status(t, ST_DRV);
	expect_violation(t, wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_DOK), VR_ESTATE, 2);
	td_write_features(t, F(VR_F_VERSION_1));
	expect_violation(t, wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK),
			 VR_ESTATE, 3);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), ST_ACK | ST_DRV);
	/* Undefined bits and DEVICE_NEEDS_RESET are not the driver's. */
	expect_violation(t, wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | 0x10), VR_EINVAL, 4);
	expect_violation(t, wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | 0x100), VR_EINVAL, 5);
	expect_violation(t, wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV | ST_NR), VR_EINVAL, 6);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), ST_ACK | ST_DRV);
	/* ACK and DRIVER in one write are in order. */
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, 0), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_DRV), 0);
	td_free(t);
}

static void test_status_after_failed(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	td_set_status(t, ST_ACK);
	td_set_status(t, ST_FAIL);
	expect_violation(t, wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_FAIL | ST_DRV), VR_ESTATE, 0);
	/* Rewriting the same value is harmless. */
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, ST_ACK | ST_FAIL), 0);
	/* A queue cannot be enabled either. */
	wr(t, VR_MMIO_REG_QUEUE_SEL, 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_READY, 1), VR_ESTATE);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, 0), 0);
	td_negotiate(t, F(VR_F_VERSION_1));
	td_free(t);
}

/* ---- Queue registers ------------------------------------------------------------ */

static void test_queue_num_out_of_range(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	td_negotiate(t, F(VR_F_VERSION_1));
	wr(t, VR_MMIO_REG_QUEUE_SEL, 1); /* QueueNumMax 64 */
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_NUM, 0), VR_ERANGE, 0);
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_NUM, 65), VR_ERANGE, 1);
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_NUM, 0x80000040u), VR_ERANGE, 2);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NUM, 64), 0);
	td_free(t);
}

/* A split ring's size is a power of two: refused at QueueReady. */
static void test_split_size_not_power_of_two(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	td_negotiate(t, F(VR_F_VERSION_1));
	assert_int_equal(td_queue(t, 0, 100, Q0_DESC, Q0_AVAIL, Q0_USED), VR_ERANGE);
	assert_int_equal(vr_mmio_dev_queue_error(&t->dev, 0), VR_ERANGE);
	assert_int_equal(qready(t, 0), 0);
	assert_int_equal(t->queue_up[0], 0);
	assert_int_equal(STATS(t)->violations, 1);
	/* The same size is fine packed. */
	td_negotiate(t, F(VR_F_VERSION_1) | F(VR_F_RING_PACKED));
	assert_int_equal(td_queue(t, 0, 100, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
	assert_int_equal(vr_mmio_dev_queue_error(&t->dev, 0), 0);
	td_free(t);
}

/* Size and addresses only while the queue is not ready. */
static void test_queue_regs_while_ready(void **state)
{
	static const uint32_t regs[] = {
		VR_MMIO_REG_QUEUE_NUM, VR_MMIO_REG_QUEUE_DESC_LOW,
		VR_MMIO_REG_QUEUE_DESC_HIGH, VR_MMIO_REG_QUEUE_DRIVER_LOW,
		VR_MMIO_REG_QUEUE_DRIVER_HIGH, VR_MMIO_REG_QUEUE_DEVICE_LOW,
		VR_MMIO_REG_QUEUE_DEVICE_HIGH};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		struct td *t = td_new(TD_OFFER);
		struct vr_mmio_dev_queue *q = &t->queues[0];

		td_negotiate(t, F(VR_F_VERSION_1));
		assert_int_equal(td_queue(t, 0, 128, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
		/* Before DRIVER_OK: refused, nothing changes. */
		expect_violation(t, wr(t, regs[i], 16), VR_ESTATE, 0);
		assert_int_equal(q->num, 128);
		assert_true(q->desc == Q0_DESC && q->driver == Q0_AVAIL && q->device == Q0_USED);
		assert_int_equal(rd(t, VR_MMIO_REG_STATUS) & ST_NR, 0);
		/* After DRIVER_OK: DEVICE_NEEDS_RESET, the back end stops. */
		td_set_status(t, ST_DOK);
		assert_non_null(vr_mmio_dev_split(&t->dev, 0));
		assert_int_equal(wr(t, regs[i], 16), VR_ESTATE);
		assert_true(q->desc == Q0_DESC && q->driver == Q0_AVAIL && q->device == Q0_USED);
		assert_true(rd(t, VR_MMIO_REG_STATUS) & ST_NR);
		assert_int_equal(t->irq_level, 1);
		assert_null(vr_mmio_dev_split(&t->dev, 0));
		/* Notifications stop reaching the back end. */
		assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 0), VR_EAGAIN);
		assert_int_equal(t->notifies[0], 0);
		/* The ring is still set up (QueueReady reads 1) until reset. */
		assert_int_equal(qready(t, 0), 1);
		assert_int_equal(wr(t, VR_MMIO_REG_STATUS, 0), 0);
		assert_int_equal(qready(t, 0), 0);
		td_free(t);
	}
}

/* Queue registers of a queue that does not exist. */
static void test_queue_regs_no_such_queue(void **state)
{
	struct td *t = td_new(TD_OFFER);
	unsigned v = 0;

	(void)state;
	td_negotiate(t, F(VR_F_VERSION_1));
	wr(t, VR_MMIO_REG_QUEUE_SEL, 2); /* QueueNumMax 0 */
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_NUM, 1), VR_EINVAL, v++);
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_DESC_LOW, 0), VR_EINVAL, v++);
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_READY, 1), VR_EINVAL, v++);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 0xffffffffu);
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_DEVICE_HIGH, 0), VR_EINVAL, v++);
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_READY, 1), VR_EINVAL, v++);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_NUM_MAX), 0);
	td_free(t);
}

static void test_queue_ready_bad_value_or_state(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	/* Before FEATURES_OK the ring format is unknown. */
	td_set_status(t, ST_ACK);
	td_set_status(t, ST_DRV);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 0);
	wr(t, VR_MMIO_REG_QUEUE_DESC_LOW, (uint32_t)Q0_DESC);
	wr(t, VR_MMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)Q0_AVAIL);
	wr(t, VR_MMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)Q0_USED);
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_READY, 1), VR_ESTATE, 0);
	assert_int_equal(vr_mmio_dev_queue_error(&t->dev, 0), VR_ESTATE);
	td_write_features(t, F(VR_F_VERSION_1));
	td_set_status(t, ST_FOK);
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_READY, 2), VR_EINVAL, 1);
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_READY, 0xffffffffu), VR_EINVAL, 2);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_READY, 1), 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 1);
	/* Setting it ready again is a no-op. */
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_READY, 1), 0);
	assert_int_equal(t->queue_up[0], 1);
	td_free(t);
}

/* Ring areas misaligned (split: 16/2/4; packed: 16/4/4). */
static void test_ring_misaligned(void **state)
{
	struct td *t = td_new(TD_OFFER);
	unsigned v = 0;

	(void)state;
	td_negotiate(t, F(VR_F_VERSION_1));
	expect_violation(t, td_queue(t, 0, 256, Q0_DESC + 8, Q0_AVAIL, Q0_USED), VR_EALIGN, v++);
	expect_violation(t, td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL + 1, Q0_USED), VR_EALIGN, v++);
	expect_violation(t, td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, Q0_USED + 2), VR_EALIGN, v++);
	assert_int_equal(vr_mmio_dev_queue_error(&t->dev, 0), VR_EALIGN);
	/* 2-aligned avail and 4-aligned used are enough. */
	assert_int_equal(td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL + 2, Q0_USED + 4), 0);
	td_negotiate(t, F(VR_F_VERSION_1) | F(VR_F_RING_PACKED));
	expect_violation(t, td_queue(t, 0, 64, Q0_DESC + 4, Q0_AVAIL, Q0_USED), VR_EALIGN, v++);
	expect_violation(t, td_queue(t, 0, 64, Q0_DESC, Q0_AVAIL + 2, Q0_USED), VR_EALIGN, v++);
	expect_violation(t, td_queue(t, 0, 64, Q0_DESC, Q0_AVAIL, Q0_USED + 2), VR_EALIGN, v++);
	assert_int_equal(qready(t, 0), 0);
	assert_int_equal(td_queue(t, 0, 64, Q0_DESC, Q0_AVAIL + 4, Q0_USED + 4), 0);
	td_free(t);
}

/* Every ring area inside the memory the driver may use. */
static void test_ring_outside_memory(void **state)
{
	struct td *t = td_new(TD_OFFER);
	const uint64_t end = TD_GPA + TD_ARENA;
	unsigned v = 0;

	(void)state;
	td_negotiate(t, F(VR_F_VERSION_1));
	/* Below the window, at address 0, above it. */
	expect_violation(t, td_queue(t, 0, 256, TD_GPA - 0x1000, Q0_AVAIL, Q0_USED), VR_EFAULT, v++);
	expect_violation(t, td_queue(t, 0, 256, Q0_DESC, 0, Q0_USED), VR_EFAULT, v++);
	expect_violation(t, td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, end), VR_EFAULT, v++);
	/* Straddling the end by one entry: 256 * 16 bytes from end - 4080. */
	expect_violation(t, td_queue(t, 0, 256, end - 4080, Q0_AVAIL, Q0_USED), VR_EFAULT, v++);
	/* The used ring's last byte past the end (6 + 8 * 256 = 2054). */
	expect_violation(t, td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, end - 2052), VR_EFAULT, v++);
	/* The high half matters. */
	expect_violation(t, td_queue(t, 0, 256, Q0_DESC | (1ull << 32), Q0_AVAIL, Q0_USED),
			 VR_EFAULT, v++);
	/* Ranges that wrap the 64-bit space. */
	expect_violation(t, td_queue(t, 0, 256, 0xfffffffffffff000ull, Q0_AVAIL, Q0_USED),
			 VR_EFAULT, v++);
	expect_violation(t, td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, 0xfffffffffffffffcull),
			 VR_EFAULT, v++);
	assert_int_equal(vr_mmio_dev_queue_error(&t->dev, 0), VR_EFAULT);
	assert_int_equal(qready(t, 0), 0);
	/* Flush with the end is inside. */
	assert_int_equal(td_queue(t, 0, 256, end - 8192, Q0_AVAIL, end - 2056), 0);
	td_free(t);
}

static void test_ring_areas_overlap(void **state)
{
	struct td *t = td_new(TD_OFFER);
	unsigned v = 0;

	(void)state;
	td_negotiate(t, F(VR_F_VERSION_1));
	/* avail inside the descriptor table (256 * 16 = 4096 bytes). */
	expect_violation(t, td_queue(t, 0, 256, Q0_DESC, Q0_DESC + 4094, Q0_USED), VR_EOVERLAP, v++);
	expect_violation(t, td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, Q0_AVAIL + 516), VR_EOVERLAP, v++);
	expect_violation(t, td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, Q0_DESC), VR_EOVERLAP, v++);
	td_negotiate(t, F(VR_F_VERSION_1) | F(VR_F_RING_PACKED));
	expect_violation(t, td_queue(t, 0, 64, Q0_DESC, Q0_DESC + 1020, Q0_USED), VR_EOVERLAP, v++);
	expect_violation(t, td_queue(t, 0, 64, Q0_DESC, Q0_AVAIL, Q0_AVAIL), VR_EOVERLAP, v++);
	assert_int_equal(vr_mmio_dev_queue_error(&t->dev, 0), VR_EOVERLAP);
	/* Adjacent is fine. */
	assert_int_equal(td_queue(t, 0, 64, Q0_DESC, Q0_DESC + 1024, Q0_DESC + 1028), 0);
	td_free(t);
}

/* A translation that maps disjoint guest ranges onto the same local bytes
 * (or onto a misaligned local address) is caught when the ring is set up:
 * the rings may not alias in local memory either. */
static unsigned char *g_alias;

static void *alias_all(void *ctx, uint64_t addr, uint64_t len, enum vr_access a)
{
	(void)a;
	if (len == 0 || len > 8192 || addr < TD_GPA || addr >= TD_GPA + TD_ARENA)
		return NULL;
	/* Every page of the guest onto the first page, plus @ctx bytes. */
	return g_alias + ((addr - TD_GPA) & 0xfffu) + (size_t)(uintptr_t)ctx;
}

static void test_ring_aliased_by_translation(void **state)
{
	struct td *t = (struct td *)calloc(1, sizeof(*t));
	struct vr_mem mem;

	(void)state;
	assert_non_null(t);
	t->arena = (unsigned char *)aligned_alloc(4096, TD_ARENA);
	g_alias = t->arena;
	memset(&mem, 0, sizeof(mem));
	mem.translate = alias_all;
	assert_int_equal(td_init_mem(t, TD_OFFER, mem), 0);
	td_negotiate(t, F(VR_F_VERSION_1));
	/* Guest ranges disjoint, local ones the same bytes. */
	expect_violation(t, td_queue(t, 1, 64, TD_GPA + 0x0000u, TD_GPA + 0x1000u,
				     TD_GPA + 0x2000u), VR_EOVERLAP, 0);
	assert_int_equal(qready(t, 1), 0);
	/* Disjoint locally too: fine. */
	assert_int_equal(td_queue(t, 1, 64, TD_GPA + 0x0000u, TD_GPA + 0x1400u,
				  TD_GPA + 0x2800u), 0);
	td_free(t);

	/* Local pointers 8 bytes off: the descriptor table is misaligned. */
	t = (struct td *)calloc(1, sizeof(*t));
	assert_non_null(t);
	t->arena = (unsigned char *)aligned_alloc(4096, TD_ARENA);
	g_alias = t->arena;
	memset(&mem, 0, sizeof(mem));
	mem.translate = alias_all;
	mem.ctx = (void *)(uintptr_t)8;
	assert_int_equal(td_init_mem(t, TD_OFFER, mem), 0);
	td_negotiate(t, F(VR_F_VERSION_1));
	expect_violation(t, td_queue(t, 1, 64, TD_GPA + 0x0000u, TD_GPA + 0x1400u,
				     TD_GPA + 0x2800u), VR_EALIGN, 0);
	td_free(t);
}

/* Enabling a queue with bad areas after DRIVER_OK needs a reset. */
static void test_bad_queue_after_driver_ok(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	td_negotiate(t, F(VR_F_VERSION_1));
	assert_int_equal(td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
	td_set_status(t, ST_DOK);
	assert_int_equal(td_queue(t, 1, 64, TD_GPA + TD_ARENA, Q1_AVAIL, Q1_USED), VR_EFAULT);
	assert_true(rd(t, VR_MMIO_REG_STATUS) & ST_NR);
	/* Now even a good queue is refused until reset. */
	assert_int_equal(td_queue(t, 1, 64, Q1_DESC, Q1_AVAIL, Q1_USED), VR_ESTATE);
	assert_int_equal(STATS(t)->needs_reset, 1);
	td_free(t);
}

static void test_queue_reset_misuse(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	/* Not negotiated. */
	td_bringup_split(t, F(VR_F_VERSION_1), 256, 64);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 0);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_RESET), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_RESET, 1), VR_ENOTSUP);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 1);
	assert_true(rd(t, VR_MMIO_REG_STATUS) & ST_NR);
	/* Negotiated, but 0 written (section 4.2.2.2 forbids it). */
	td_negotiate(t, F(VR_F_VERSION_1) | F(VR_F_RING_RESET));
	assert_int_equal(td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_RESET, 0), VR_EINVAL, 1);
	assert_int_equal(rd(t, VR_MMIO_REG_QUEUE_READY), 1);
	wr(t, VR_MMIO_REG_QUEUE_SEL, 2);
	expect_violation(t, wr(t, VR_MMIO_REG_QUEUE_RESET, 1), VR_EINVAL, 2);
	td_free(t);
}

/* ---- Interrupts and notifications ------------------------------------------ */

static void test_interrupt_ack_undefined_bits(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	td_bringup_split(t, F(VR_F_VERSION_1), 256, 64);
	assert_int_equal(vr_mmio_dev_interrupt_used(&t->dev), 0);
	/* The defined bit is still acknowledged; the write counts as a
	 * violation, after DRIVER_OK a reset is needed. */
	assert_int_equal(wr(t, VR_MMIO_REG_INTERRUPT_ACK, 0x5), VR_EINVAL);
	assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS) & VR_MMIO_INT_VRING, 0);
	assert_int_equal(STATS(t)->violations, 1);
	assert_true(rd(t, VR_MMIO_REG_STATUS) & ST_NR);
	assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS), VR_MMIO_INT_CONFIG);
	/* Acknowledging nothing pending is fine. */
	assert_int_equal(wr(t, VR_MMIO_REG_INTERRUPT_ACK, 3), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_INTERRUPT_ACK, 3), 0);
	assert_int_equal(t->irq_level, 0);
	td_free(t);
}

static void test_notify_dropped(void **state)
{
	struct td *t = td_new(TD_OFFER);

	(void)state;
	/* Before DRIVER_OK (queue ready, features done). */
	td_negotiate(t, F(VR_F_VERSION_1));
	assert_int_equal(td_queue(t, 0, 256, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 0), VR_EAGAIN);
	td_set_status(t, ST_DOK);
	/* A queue not set up, not available, past the end, negative. */
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 1), VR_EINVAL);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 2), VR_EINVAL);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 3), VR_EINVAL);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 0xffffffffu), VR_EINVAL);
	assert_int_equal(STATS(t)->notifies_dropped, 5);
	assert_int_equal(STATS(t)->notifies, 0);
	assert_int_equal(t->notifies[0] + t->notifies[1] + t->notifies[2], 0);
	/* Spurious notifications are not violations. */
	assert_int_equal(STATS(t)->violations, 0);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS) & ST_NR, 0);
	assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 0), 0);
	assert_int_equal(t->notifies[0], 1);
	td_free(t);
}

/* A driver that corrupts the ring after DRIVER_OK: the ring breaks, the
 * model needs a reset, and no interrupt for used buffers follows. */
static void test_broken_ring_needs_reset(void **state)
{
	struct td *t = td_new(TD_OFFER);
	struct vr_split_dev *s;
	struct vr_avail *avail;
	struct vr_iov iov[4];
	struct vr_chain c;

	(void)state;
	td_bringup_split(t, F(VR_F_VERSION_1), 256, 64);
	s = vr_mmio_dev_split(&t->dev, 0);
	assert_non_null(s);
	/* avail->idx jumps past the queue size. */
	avail = (struct vr_avail *)td_ptr(t, Q0_AVAIL);
	avail->idx = 1000;
	c.iov = iov;
	c.iov_cap = 4;
	assert_int_equal(vr_split_dev_pop(s, &c), VR_EAVAILIDX);
	assert_int_equal(vr_mmio_dev_queue_publish(&t->dev, 0), VR_EBROKEN);
	assert_true(rd(t, VR_MMIO_REG_STATUS) & ST_NR);
	assert_int_equal(rd(t, VR_MMIO_REG_INTERRUPT_STATUS), VR_MMIO_INT_CONFIG);
	assert_int_equal(vr_mmio_dev_interrupt_used(&t->dev), VR_EAGAIN);
	assert_int_equal(vr_mmio_dev_queue_publish(&t->dev, 0), VR_EAGAIN);
	assert_int_equal(vr_mmio_dev_queue_publish(&t->dev, 1), VR_EAGAIN);
	assert_int_equal(vr_mmio_dev_queue_publish(&t->dev, 2), VR_EINVAL);
	/* Idempotent, and nothing in the reset state. */
	vr_mmio_dev_set_needs_reset(&t->dev);
	assert_int_equal(STATS(t)->needs_reset, 1);
	assert_int_equal(wr(t, VR_MMIO_REG_STATUS, 0), 0);
	vr_mmio_dev_set_needs_reset(&t->dev);
	assert_int_equal(rd(t, VR_MMIO_REG_STATUS), 0);
	/* After the reset it works again. */
	memset(t->arena, 0, TD_POOL);
	td_bringup_split(t, F(VR_F_VERSION_1), 256, 64);
	assert_non_null(vr_mmio_dev_split(&t->dev, 0));
	td_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_refuses_bad_cfg),
		cmocka_unit_test(test_readonly_writes_ignored),
		cmocka_unit_test(test_writeonly_and_unknown_reads),
		cmocka_unit_test(test_bad_width_or_alignment_ignored),
		cmocka_unit_test(test_config_write_without_hook_ignored),
		cmocka_unit_test(test_features_after_features_ok),
		cmocka_unit_test(test_features_ok_refused),
		cmocka_unit_test(test_status_clear_bits_refused),
		cmocka_unit_test(test_status_out_of_order_refused),
		cmocka_unit_test(test_status_after_failed),
		cmocka_unit_test(test_queue_num_out_of_range),
		cmocka_unit_test(test_split_size_not_power_of_two),
		cmocka_unit_test(test_queue_regs_while_ready),
		cmocka_unit_test(test_queue_regs_no_such_queue),
		cmocka_unit_test(test_queue_ready_bad_value_or_state),
		cmocka_unit_test(test_ring_misaligned),
		cmocka_unit_test(test_ring_outside_memory),
		cmocka_unit_test(test_ring_areas_overlap),
		cmocka_unit_test(test_ring_aliased_by_translation),
		cmocka_unit_test(test_bad_queue_after_driver_ok),
		cmocka_unit_test(test_queue_reset_misuse),
		cmocka_unit_test(test_interrupt_ack_undefined_bits),
		cmocka_unit_test(test_notify_dropped),
		cmocka_unit_test(test_broken_ring_needs_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
