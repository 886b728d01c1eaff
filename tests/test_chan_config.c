/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The channel built with a format and a role configured out (vring/config.h):
 * this test is compiled with -DVR_CONFIG_PACKED=0 -DVR_CONFIG_DRIVER=0
 * -DVR_CONFIG_NOTIFY_POLICIES=0 and
 * its own copy of the core (tests/CMakeLists.txt), as an RTOS image that is
 * only the device end of split rings would be. What is left out must be
 * refused with VR_ENOTSUP, never run: a packed region, a driver transport,
 * a notification or wait policy other than the default; what is kept must
 * still work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vring/vring.h>

#if VR_CONFIG_PACKED || VR_CONFIG_DRIVER || !VR_CONFIG_SPLIT || !VR_CONFIG_DEVICE || \
	VR_CONFIG_NOTIFY_POLICIES
#error "test_chan_config is built as a split, device-only configuration"
#endif

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

/* A region of two queues in @p format, laid out as a driver would. */
static void *region(uint32_t format, size_t *len)
{
	struct vr_region_cfg cfg;
	void *base;

	memset(&cfg, 0, sizeof(cfg));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configured_out_refused),
		cmocka_unit_test(test_policies_configured_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
