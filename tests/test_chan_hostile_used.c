/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A driver end facing a device that returns a bad used entry among good
 * ones: the channel collects used buffers in bursts, and a burst that meets
 * a violation hands back the buffers before it and breaks the queue. The
 * channel must then report the violation itself (VR_EUSEDID), not the
 * "queue is broken" that the next burst call answers, and must have taken
 * back the good buffers before it. Split and packed, over the loopback
 * transport, one thread.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <vring/vring.h>

#include "loopback.h"

#define EVIDX VR_FEATURE(VR_F_EVENT_IDX)

/* Overwrite the buffer id of the @k-th used entry the device wrote on the
 * TX queue (the device returns one entry per chain, in ring order here). */
static void forge_used_id(struct loop *l, uint32_t format, unsigned k, uint16_t id)
{
	struct vr_region_info info;

	assert_int_equal(vr_region_parse(l->region, l->len, &info), 0);
	if (format == VR_FORMAT_SPLIT) {
		struct vr_split_areas a;

		assert_int_equal(vr_region_split_areas(l->region, &info, VR_CHAN_TX, &a), 0);
		/* Little-endian host: the value as is. */
		vr_used_ring((struct vr_used *)a.used)[k].id = id;
	} else {
		struct vr_packed_areas a;
		struct vr_packed_desc *d;

		assert_int_equal(vr_region_packed_areas(l->region, &info, VR_CHAN_TX, &a), 0);
		d = (struct vr_packed_desc *)a.desc;
		d[k].id = id; /* one descriptor per chain: position k */
	}
}

static void bad_used_mid_burst(uint32_t format)
{
	struct loop *l = loop_new(format, 16, 64, 16, EVIDX);
	struct end d = {0}, v = {0};
	unsigned char buf[64];
	uint64_t st[VR_RS_COUNT];
	int i;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, EVIDX), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, EVIDX), 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(vr_chan_send(&d.ch, "abcd", 4, 0), 0);
	assert_int_equal(vr_chan_flush(&d.ch, VR_CHAN_TX), 0);
	/* The device takes all six and returns them used. */
	for (i = 0; i < 6; i++)
		assert_int_equal(vr_chan_recv(&v.ch, buf, sizeof(buf), 0), 4);
	assert_int_equal(vr_chan_flush(&v.ch, VR_CHAN_TX), 0);
	/* The fourth used entry names a buffer id no chain has. */
	forge_used_id(l, format, 3, 0x7ff0);
	assert_int_equal(vr_chan_drain(&d.ch, 0), VR_EUSEDID);
	/* The channel stays broken. */
	assert_int_equal(vr_chan_send(&d.ch, "x", 1, 0), VR_EBROKEN);
	/* The three good ones were counted as consumed before the bad one. */
	assert_int_equal(vr_chan_get_queue_stats(&d.ch, VR_CHAN_TX, st), 0);
	assert_int_equal(st[VR_RS_CONSUMED], 3);
	free(d.state);
	free(v.state);
	loop_free(l);
}

static void test_split(void **s)
{
	(void)s;
	bad_used_mid_burst(VR_FORMAT_SPLIT);
}

static void test_packed(void **s)
{
	(void)s;
	bad_used_mid_burst(VR_FORMAT_PACKED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_packed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
