/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libvring built with parts configured out (vring/config.h), each test
 * compiled with its own copy of the core (tests/CMakeLists.txt), as an RTOS
 * image would be:
 *   test_chan_config           the minimal device end: -DVR_CONFIG_PACKED=0
 *                              -DVR_CONFIG_DRIVER=0 -DVR_CONFIG_NOTIFY_POLICIES=0
 *                              -DVR_CONFIG_INDIRECT=0 -DVR_CONFIG_STATS=0
 *                              -DVR_CONFIG_CACHE_HOOKS=0
 *   test_chan_config_features  both formats and roles, but no indirect
 *                              descriptors, statistics or cache hooks
 * What is left out must be refused with VR_ENOTSUP, never run: a packed
 * region, a driver transport, a policy other than the default, indirect
 * descriptors asked for or negotiated, a vr_mem with cache hooks, the
 * statistics calls; an INDIRECT descriptor met by a device is the protocol
 * error it is on a queue that did not negotiate the feature. What is kept
 * must still work. Every refusal is asserted: removing one fails a test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vring/vring.h>

#if VR_CONFIG_INDIRECT || VR_CONFIG_STATS || VR_CONFIG_CACHE_HOOKS || !VR_CONFIG_SPLIT || \
	!VR_CONFIG_DEVICE
#error "test_chan_config is built without indirect descriptors, statistics and cache hooks"
#endif
#define MINIMAL (!VR_CONFIG_PACKED && !VR_CONFIG_DRIVER && !VR_CONFIG_NOTIFY_POLICIES)

static uint64_t clock_ns;

static int t_notify(struct vr_transport *t, uint32_t q)
{
	(void)t;
	return q < 2 ? 0 : VR_EINVAL;
}

static int t_wait(struct vr_transport *t, uint32_t q, uint64_t timeout_ns)
{
	(void)t;
	(void)q;
	clock_ns += timeout_ns ? 1000000u : 0;
	return VR_ETIMEDOUT;
}

static int t_peer_state(struct vr_transport *t)
{
	(void)t;
	return VR_PEER_ALIVE;
}

static uint64_t t_now(struct vr_transport *t)
{
	(void)t;
	return clock_ns += 1000u;
}

static const struct vr_transport_ops ops = {t_notify, t_wait, t_peer_state, t_now};

/* A region of two queues in @p format, laid out as a driver would,
 * offering @p features. */
static void *region_offering(uint32_t format, uint64_t features, size_t *len)
{
	struct vr_region_cfg cfg;
	void *base;

	memset(&cfg, 0, sizeof(cfg));
	cfg.device_features = features;
	cfg.queue_count = 2;
	cfg.queue[0].size = cfg.queue[1].size = 64;
	cfg.queue[0].format = cfg.queue[1].format = format;
	cfg.buf_bytes = 256;
	cfg.buf_count = 64;
	*len = (size_t)vr_region_bytes(&cfg);
	assert_true(*len > 0);
	base = aligned_alloc(4096, (*len + 4095) & ~(size_t)4095);
	assert_non_null(base);
	assert_int_equal(vr_region_format(base, *len, &cfg, 1, NULL), 0);
	return base;
}

static void *region(uint32_t format, size_t *len)
{
	return region_offering(format, 0, len);
}

#if MINIMAL
static void test_configured_out_refused(void **state)
{
	struct vr_chan_cfg cc = {0, 0, 0};
	struct vr_transport t;
	struct vr_chan ch;
	static uint64_t st[4096];
	size_t len;
	void *packed = region(VR_FORMAT_PACKED, &len);

	(void)state;
	t.ops = &ops;
	t.region = packed;
	t.region_len = len;
	t.flags = VR_TRANSPORT_POLLING;
	/* A packed region: not in this build. */
	t.role = VR_ROLE_DEVICE;
	assert_int_equal(vr_chan_state_size(&t), 0);
	assert_int_equal(vr_chan_open(&ch, &t, &cc, st, sizeof(st)), VR_ENOTSUP);
	free(packed);

	/* The driver role: not in this build, whatever the region. */
	t.region = region(VR_FORMAT_SPLIT, &len);
	t.region_len = len;
	t.role = VR_ROLE_DRIVER;
	assert_int_equal(vr_chan_state_size(&t), 0);
	assert_int_equal(vr_chan_open(&ch, &t, &cc, st, sizeof(st)), VR_ENOTSUP);

	/* What the build carries still works: the split device end opens
	 * (the driver never marked the region ready, so it is told to wait
	 * or opens; either way not VR_ENOTSUP). */
	t.role = VR_ROLE_DEVICE;
	assert_true(vr_chan_state_size(&t) > 0 && vr_chan_state_size(&t) <= sizeof(st));
	assert_int_not_equal(vr_chan_open(&ch, &t, &cc, st, sizeof(st)), VR_ENOTSUP);
	free(t.region);
}

/* Policies beyond the default are refused; the default is accepted. */
static void test_policies_configured_out(void **state)
{
	struct vr_chan ch;
	struct vr_transport t;
	struct vr_notify_policy np = {VR_NOTIFY_AS_ASKED, 0, 0, 0};
	struct vr_wait_policy wp = {VR_WAIT_BLOCK, 0, 0, 0, false};

	(void)state;
	memset(&ch, 0, sizeof(ch));
	memset(&t, 0, sizeof(t));
	t.ops = &ops;
	ch.t = &t;
	ch.broken = 1; /* nothing to flush: only the decision is tested */
	assert_int_equal(vr_chan_set_notify_policy(&ch, VR_CHAN_TX, &np), 0);
	np.mode = VR_NOTIFY_ALWAYS;
	assert_int_equal(vr_chan_set_notify_policy(&ch, VR_CHAN_TX, &np), VR_ENOTSUP);
	np.mode = VR_NOTIFY_AS_ASKED;
	np.batch = 8;
	assert_int_equal(vr_chan_set_notify_policy(&ch, VR_CHAN_TX, &np), VR_ENOTSUP);
	np.batch = 0;
	np.coalesce_msgs = 4;
	np.coalesce_us = 100;
	assert_int_equal(vr_chan_set_notify_policy(&ch, VR_CHAN_TX, &np), VR_ENOTSUP);
	assert_int_equal(vr_chan_set_wait_policy(&ch, VR_CHAN_RX, &wp), 0);
	wp.mode = VR_WAIT_POLL;
	assert_int_equal(vr_chan_set_wait_policy(&ch, VR_CHAN_RX, &wp), VR_ENOTSUP);
	wp.mode = VR_WAIT_ADAPTIVE;
	wp.spin_ns = 1000;
	assert_int_equal(vr_chan_set_wait_policy(&ch, VR_CHAN_RX, &wp), VR_ENOTSUP);
}
#endif /* MINIMAL */

/* ---- Ring queues: what every init refuses ------------------------------ */

#define QN 16u

/* One queue's memory: areas of either format, state, all 64-aligned. */
struct qmem {
	_Alignas(64) unsigned char desc[16 * QN];
	_Alignas(64) unsigned char drv[64];
	_Alignas(64) unsigned char dev[16 + 8 * QN];
	_Alignas(64) unsigned char state[4096];
	_Alignas(64) unsigned char pool[4096];
};

static void nop_hook(void *ctx, const void *p, size_t len)
{
	(void)ctx;
	(void)p;
	(void)len;
	fail_msg("a cache hook was called in a build without them");
}

static struct vr_queue_cfg qcfg(struct qmem *m, uint64_t features)
{
	struct vr_queue_cfg c;

	memset(&c, 0, sizeof(c));
	c.num = QN;
	c.features = features;
	c.mem = vr_mem_window(m->pool, 0, sizeof(m->pool));
	return c;
}

/* Init all four queue kinds with @p c: the common result, asserted equal. */
static int init_all(struct qmem *m, const struct vr_queue_cfg *c)
{
	struct vr_split_areas sa = {m->desc, m->drv, m->dev};
	struct vr_packed_areas pa = {m->desc, m->drv, m->dev};
	struct vr_split_dev sdev;
	struct vr_split_drv sdrv;
	struct vr_packed_dev pdev;
	struct vr_packed_drv pdrv;
	int r = vr_split_dev_init(&sdev, c, &sa, m->state, sizeof(m->state));

	assert_int_equal(vr_split_drv_init(&sdrv, c, &sa, m->state, sizeof(m->state)), r);
	assert_int_equal(vr_packed_dev_init(&pdev, c, &pa, m->state, sizeof(m->state)), r);
	assert_int_equal(vr_packed_drv_init(&pdrv, c, &pa, m->state, sizeof(m->state)), r);
	return r;
}

static void test_indirect_feature_refused(void **state)
{
	static struct qmem m;
	struct vr_queue_cfg c = qcfg(&m, VR_FEATURE(VR_F_EVENT_IDX));

	(void)state;
	assert_int_equal(init_all(&m, &c), 0);
	c.features |= VR_FEATURE(VR_F_INDIRECT_DESC);
	assert_int_equal(init_all(&m, &c), VR_ENOTSUP);
}

static void test_cache_hooks_refused(void **state)
{
	static struct qmem m;
	struct vr_queue_cfg c = qcfg(&m, 0);

	(void)state;
	c.mem.clean = nop_hook;
	assert_int_equal(init_all(&m, &c), VR_ENOTSUP);
	c.mem.clean = NULL;
	c.mem.invalidate = nop_hook;
	assert_int_equal(init_all(&m, &c), VR_ENOTSUP);
	c.mem.invalidate = NULL;
	assert_int_equal(init_all(&m, &c), 0);
}

/* A device queue meets an INDIRECT descriptor: the protocol error of a
 * queue that did not negotiate the feature, and the queue is broken. */
static void test_indirect_descriptor_is_an_error(void **state)
{
	static struct qmem m;
	struct vr_queue_cfg c = qcfg(&m, 0);
	struct vr_split_areas sa = {m.desc, m.drv, m.dev};
	struct vr_packed_areas pa = {m.desc, m.drv, m.dev};
	struct vr_split_dev sdev;
	struct vr_packed_dev pdev;
	struct vr_iov iov[4];
	struct vr_chain ch;
	struct vr_desc *d = (struct vr_desc *)(void *)m.desc;
	struct vr_packed_desc *pd = (struct vr_packed_desc *)(void *)m.desc;
	struct vr_avail *av = (struct vr_avail *)(void *)m.drv;

	(void)state;
	memset(&ch, 0, sizeof(ch));
	ch.iov = iov;
	ch.iov_cap = 4;
	/* Split: a table of one entry, well inside the window. */
	memset(&m, 0, sizeof(m));
	assert_int_equal(vr_split_dev_init(&sdev, &c, &sa, m.state, sizeof(m.state)), 0);
	d[0].addr = vr__le64(64);
	d[0].len = vr__le32(16);
	d[0].flags = vr__le16(VR_DESC_F_INDIRECT);
	vr_avail_ring(av)[0] = 0;
	av->idx = vr__le16(1);
	assert_int_equal(vr_split_dev_pop(&sdev, &ch), VR_EINDIRECT);
	assert_int_equal(vr_split_dev_pop(&sdev, &ch), VR_EBROKEN);

	/* Packed: the first descriptor available in wrap 1. */
	memset(&m, 0, sizeof(m));
	assert_int_equal(vr_packed_dev_init(&pdev, &c, &pa, m.state, sizeof(m.state)), 0);
	pd[0].addr = vr__le64(64);
	pd[0].len = vr__le32(16);
	pd[0].id = 0;
	pd[0].flags = vr__le16(VR_DESC_F_INDIRECT | VR_DESC_F_AVAIL);
	assert_int_equal(vr_packed_dev_pop(&pdev, &ch), VR_EINDIRECT);
	assert_int_equal(vr_packed_dev_pop(&pdev, &ch), VR_EBROKEN);
}

static void test_add_indirect_refused(void **state)
{
	static struct qmem m;
	struct vr_queue_cfg c = qcfg(&m, 0);
	struct vr_split_areas sa = {m.desc, m.drv, m.dev};
	struct vr_packed_areas pa = {m.desc, m.drv, m.dev};
	struct vr_split_drv sdrv;
	struct vr_packed_drv pdrv;
	static struct vr_desc table[4];
	static struct vr_packed_desc ptable[4];
	struct vr_seg seg = {64, 16};

	(void)state;
	assert_int_equal(vr_split_drv_init(&sdrv, &c, &sa, m.state, sizeof(m.state)), 0);
	assert_int_equal(vr_split_drv_add_indirect(&sdrv, &seg, 1, 0, table, 1024, NULL),
			 VR_ENOTSUP);
	assert_int_equal(vr_packed_drv_init(&pdrv, &c, &pa, m.state, sizeof(m.state)), 0);
	assert_int_equal(vr_packed_drv_add_indirect(&pdrv, &seg, 1, 0, ptable, 1024, NULL),
			 VR_ENOTSUP);
}

/* ---- The channel's device end over a region a "driver" set up by hand ---- */

/* Mark the region ready as a driver would, with @p features negotiated. */
static void driver_ready(void *base, uint64_t features)
{
	vr_region_store_features(base, VR_RH_DRIVER_FEATURES, features);
	vr_region_store(base, VR_RH_DRIVER_STATUS,
			VR_STATUS_ACKNOWLEDGE | VR_STATUS_DRIVER | VR_STATUS_FEATURES_OK |
				VR_STATUS_DRIVER_OK);
}

/* Post one readable descriptor on split queue TX as the driver would. */
static void driver_post_tx(void *base, uint16_t flags, uint32_t len)
{
	struct vr_region_info info;
	unsigned char *b = (unsigned char *)base;
	struct vr_desc *d;
	struct vr_avail *av;

	/* The header states the region's size: a copy of it bounds the parse. */
	assert_int_equal(vr_region_parse(base, (size_t)vr__le64(*(uint64_t *)(void *)(b + VR_RH_REGION_BYTES)), &info), 0);
	d = (struct vr_desc *)(void *)(b + info.queue[VR_CHAN_TX].desc_off);
	av = (struct vr_avail *)(void *)(b + info.queue[VR_CHAN_TX].driver_off);
	d[0].addr = vr__le64(info.pool_off);
	d[0].len = vr__le32(len);
	d[0].flags = vr__le16(flags);
	memcpy(b + info.pool_off, "hello", 5);
	vr_avail_ring(av)[0] = 0;
	av->idx = vr__le16(1);
}

static void dev_transport(struct vr_transport *t, void *base, size_t len)
{
	memset(t, 0, sizeof(*t));
	t->ops = &ops;
	t->region = base;
	t->region_len = len;
	t->role = VR_ROLE_DEVICE;
	t->flags = VR_TRANSPORT_POLLING;
}

static void test_chan_indirect_refused(void **state)
{
	struct vr_chan_cfg cc = {VR_FEATURE(VR_F_INDIRECT_DESC), 0, 0};
	struct vr_transport t;
	struct vr_chan ch;
	static uint64_t st[8192];
	size_t len;
	void *base = region_offering(VR_FORMAT_SPLIT, VR_FEATURE(VR_F_INDIRECT_DESC), &len);

	(void)state;
	dev_transport(&t, base, len);
	/* Asked for by this end. */
	assert_int_equal(vr_chan_open(&ch, &t, &cc, st, sizeof(st)), VR_ENOTSUP);
	cc.features = 0;
	/* Negotiated by the driver. */
	driver_ready(base, VR_FEATURE(VR_F_INDIRECT_DESC));
	assert_int_equal(vr_chan_open(&ch, &t, &cc, st, sizeof(st)), VR_ENOTSUP);
	/* Not negotiated: opens. */
	driver_ready(base, 0);
	assert_int_equal(vr_chan_open(&ch, &t, &cc, st, sizeof(st)), 0);
#if VR_CONFIG_DRIVER
	/* A driver end asking for them, though the region offers them. */
	t.role = VR_ROLE_DRIVER;
	cc.features = VR_FEATURE(VR_F_INDIRECT_DESC);
	assert_int_equal(vr_chan_open(&ch, &t, &cc, st, sizeof(st)), VR_ENOTSUP);
	cc.features = VR_FEATURE(VR_F_EVENT_IDX);
	assert_int_equal(vr_chan_open(&ch, &t, &cc, st, sizeof(st)), 0);
	assert_int_equal(vr_chan_features(&ch) & VR_FEATURE(VR_F_INDIRECT_DESC), 0);
#endif
	free(base);
}

/* The driver sends a chain whose descriptor is INDIRECT: VR_EINDIRECT, the
 * channel is broken and says so (NEEDS_RESET). */
static void test_chan_indirect_descriptor(void **state)
{
	struct vr_chan_cfg cc = {0, 0, 0};
	struct vr_transport t;
	struct vr_chan ch;
	static uint64_t st[8192];
	char buf[64];
	size_t len;
	void *base = region(VR_FORMAT_SPLIT, &len);

	(void)state;
	dev_transport(&t, base, len);
	driver_ready(base, 0);
	assert_int_equal(vr_chan_open(&ch, &t, &cc, st, sizeof(st)), 0);
	driver_post_tx(base, VR_DESC_F_INDIRECT, 16);
	assert_int_equal(vr_chan_recv(&ch, buf, sizeof(buf), 0), VR_EINDIRECT);
	assert_true(vr_region_load(base, VR_RH_DEVICE_STATUS) & VR_STATUS_NEEDS_RESET);
	assert_int_equal(vr_chan_recv(&ch, buf, sizeof(buf), 0), VR_EBROKEN);
	free(base);
}

/* Statistics: the calls say VR_ENOTSUP and zero what they fill; nothing is
 * counted, in the channel or in the region's records; messages flow. */
static void test_chan_stats_configured_out(void **state)
{
	struct vr_chan_cfg cc = {0, 0, 0};
	struct vr_transport t;
	struct vr_chan ch;
	struct vr_chan_stats cs;
	struct vr_region_info info;
	uint64_t qs[VR_RS_COUNT];
	static uint64_t st[8192];
	char buf[64];
	size_t len;
	unsigned i;
	uint32_t *rec;
	void *base = region(VR_FORMAT_SPLIT, &len);

	(void)state;
	dev_transport(&t, base, len);
	driver_ready(base, 0);
	assert_int_equal(vr_chan_open(&ch, &t, &cc, st, sizeof(st)), 0);
	driver_post_tx(base, 0, 5);
	assert_int_equal(vr_chan_recv(&ch, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);

	memset(&cs, 0xff, sizeof(cs));
	assert_int_equal(vr_chan_get_stats(&ch, &cs), VR_ENOTSUP);
	for (i = 0; i < sizeof(cs) / sizeof(uint64_t); i++)
		assert_int_equal(((uint64_t *)(void *)&cs)[i], 0);
	memset(qs, 0xff, sizeof(qs));
	assert_int_equal(vr_chan_get_queue_stats(&ch, VR_CHAN_TX, qs), VR_ENOTSUP);
	for (i = 0; i < VR_RS_COUNT; i++)
		assert_int_equal(qs[i], 0);
	assert_int_equal(vr_chan_get_queue_stats(&ch, 2, qs), VR_EINVAL);
	/* The device's record of TX saw a chain consumed: still zero. */
	assert_int_equal(vr_region_parse(base, len, &info), 0);
	rec = vr_region_stats(base, &info, VR_CHAN_TX, VR_ROLE_DEVICE);
	assert_non_null(rec);
	for (i = 0; i < VR_RS_COUNT; i++)
		assert_int_equal(vr_region_stat_load(rec, (enum vr_region_stat)i), 0);
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#if MINIMAL
		cmocka_unit_test(test_configured_out_refused),
		cmocka_unit_test(test_policies_configured_out),
#endif
		cmocka_unit_test(test_indirect_feature_refused),
		cmocka_unit_test(test_cache_hooks_refused),
		cmocka_unit_test(test_indirect_descriptor_is_an_error),
		cmocka_unit_test(test_add_indirect_refused),
		cmocka_unit_test(test_chan_indirect_refused),
		cmocka_unit_test(test_chan_indirect_descriptor),
		cmocka_unit_test(test_chan_stats_configured_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
