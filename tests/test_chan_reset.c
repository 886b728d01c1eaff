/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vr_chan_reset() when devices keep dying: unacknowledged messages are
 * submitted again at every reset, however many devices die before
 * acknowledging them, in their original order, and acknowledged ones never
 * are; and a channel broken by a device's protocol violation on one queue
 * still counts what that device acknowledged on the other one. Split and
 * packed, over the in-process loopback transport.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vring/vring.h>

#include "loopback.h"

static const uint32_t formats[2] = {VR_FORMAT_SPLIT, VR_FORMAT_PACKED};

static void set_dead(struct loop *l, int dead)
{
	__atomic_store_n(&l->dead, dead, __ATOMIC_RELEASE);
}

static void send_seq(struct end *d, uint32_t first, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint32_t m = first + i;

		assert_int_equal(vr_chan_send(&d->ch, &m, sizeof(m), 0), 0);
	}
}

/* The device receives (and so acknowledges) @n messages: first.. */
static void recv_seq(struct end *v, uint32_t first, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint32_t m = 0;

		assert_int_equal(vr_chan_recv(&v->ch, &m, sizeof(m), 0), 4);
		assert_int_equal(m, first + i);
	}
}

/* The device takes message @seq and dies before giving it back. */
static void take_unacked(struct end *v, uint32_t seq)
{
	struct vr_chan_msg msg;

	assert_int_equal(vr_chan_recv_borrow(&v->ch, &msg, 0), 4);
	assert_int_equal(*(const uint32_t *)msg.data, seq);
}

/* Driver side of one device death: dead, reset, alive; returns how many
 * messages this reset submitted again. */
static uint64_t die_and_reset(struct end *d, struct loop *l)
{
	uint64_t before = vr_chan_stats(&d->ch).resubmitted;

	set_dead(l, 1);
	assert_int_equal(vr_chan_reset(&d->ch), 0);
	set_dead(l, 0);
	return vr_chan_stats(&d->ch).resubmitted - before;
}

static void two_deaths(uint32_t format)
{
	struct loop *l = loop_new(format, 16, 64, 32, 0);
	struct end d = {0}, v1 = {0}, v2 = {0}, v3 = {0};
	uint32_t m;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, 0), 0);
	assert_int_equal(end_open(&v1, l, VR_ROLE_DEVICE, 0), 0);
	send_seq(&d, 0, 6);
	/* Device 1 acknowledges 0 and 1, takes 2 without returning it, dies. */
	recv_seq(&v1, 0, 2);
	take_unacked(&v1, 2);
	assert_int_equal(die_and_reset(&d, l), 4); /* 2, 3, 4, 5 */

	/* Device 2 acknowledges 2, takes 3, dies before returning it: the
	 * second reset must submit 3, 4, 5 again, although the first one
	 * already did. */
	assert_int_equal(end_open(&v2, l, VR_ROLE_DEVICE, 0), 0);
	recv_seq(&v2, 2, 1);
	take_unacked(&v2, 3);
	assert_int_equal(die_and_reset(&d, l), 3);

	/* Device 2 dies again at once, before taking anything: the same
	 * three once more. */
	assert_int_equal(die_and_reset(&d, l), 3);

	/* Device 3 gets exactly 3, 4, 5 in order, then the stream goes on. */
	assert_int_equal(end_open(&v3, l, VR_ROLE_DEVICE, 0), 0);
	recv_seq(&v3, 3, 3);
	assert_int_equal(vr_chan_recv(&v3.ch, &m, sizeof(m), 0), VR_EAGAIN);
	send_seq(&d, 6, 2);
	recv_seq(&v3, 6, 2);
	/* Every TX buffer comes back: all 8 acknowledged, none stuck. */
	send_seq(&d, 8, 16);
	recv_seq(&v3, 8, 16);
	assert_int_equal(vr_chan_stats(&d.ch).resubmitted, 10);
	free(d.state);
	free(v1.state);
	free(v2.state);
	free(v3.state);
	loop_free(l);
}

static void test_two_deaths_in_a_row_split(void **s)
{
	(void)s;
	two_deaths(VR_FORMAT_SPLIT);
}

static void test_two_deaths_in_a_row_packed(void **s)
{
	(void)s;
	two_deaths(VR_FORMAT_PACKED);
}

/* A device acknowledges messages on TX (the driver, with free buffers,
 * has not collected them yet), then publishes a used entry with an id out
 * of range on RX: the driver's receive breaks the channel. The reset must
 * still count the TX acknowledgements (that queue is intact), or it sends
 * acknowledged messages a second time. */
static void test_broken_reset_keeps_acks(void **s)
{
	struct loop *l = loop_new(VR_FORMAT_SPLIT, 16, 64, 32, 0);
	struct end d = {0}, v = {0}, v2 = {0};
	struct vr_region_info info;
	struct vr_split_areas a;
	unsigned char *used;
	uint32_t m, bad[2] = {999, 4};
	uint16_t idx;

	(void)s;
	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, 0), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, 0), 0);
	send_seq(&d, 0, 5);
	recv_seq(&v, 0, 4); /* 0..3 acknowledged, 4 not taken */
	/* The hostile part: a forged used entry on RX. */
	assert_int_equal(vr_region_parse(l->region, l->len, &info), 0);
	assert_int_equal(vr_region_split_areas(l->region, &info, VR_CHAN_RX, &a), 0);
	used = (unsigned char *)a.used;
	memcpy(used + 4, bad, sizeof(bad));
	idx = 1;
	__atomic_store_n((uint16_t *)(void *)(used + 2), idx, __ATOMIC_RELEASE);
	m = 0;
	assert_true(vr_is_protocol_error(vr_chan_recv(&d.ch, &m, sizeof(m), 0)));
	assert_int_equal(vr_chan_send(&d.ch, &m, sizeof(m), 0), VR_EBROKEN);

	/* Only message 4 is unacknowledged. */
	assert_int_equal(die_and_reset(&d, l), 1);
	assert_int_equal(end_open(&v2, l, VR_ROLE_DEVICE, 0), 0);
	recv_seq(&v2, 4, 1);
	assert_int_equal(vr_chan_recv(&v2.ch, &m, sizeof(m), 0), VR_EAGAIN);
	/* Nothing came from the forged RX entry; the RX ring works again. */
	assert_int_equal(vr_chan_recv(&d.ch, &m, sizeof(m), 0), VR_EAGAIN);
	m = 42;
	assert_int_equal(vr_chan_send(&v2.ch, &m, sizeof(m), 0), 0);
	m = 0;
	assert_int_equal(vr_chan_recv(&d.ch, &m, sizeof(m), 0), 4);
	assert_int_equal(m, 42);
	free(d.state);
	free(v.state);
	free(v2.state);
	loop_free(l);
}

/* A transport that never declares the device dead (a stopped device, an
 * RTOS that hung, then resumed): the driver resets anyway, and the old
 * device must not touch the new session's rings. vr_chan_reset moves the
 * generation itself. */
static void test_stale_device_after_reset(void **s)
{
	unsigned f;

	(void)s;
	for (f = 0; f < 2; f++) {
		struct loop *l = loop_new(formats[f], 16, 64, 32, 0);
		struct end d = {0}, v1 = {0}, v2 = {0};
		struct vr_region_info info;
		struct vr_chan_msg msg;
		unsigned char *before;
		size_t rings;
		uint32_t m = 0;

		assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, 0), 0);
		assert_int_equal(end_open(&v1, l, VR_ROLE_DEVICE, 0), 0);
		send_seq(&d, 0, 3);
		recv_seq(&v1, 0, 1);
		assert_int_equal(vr_chan_reset(&d.ch), 0);
		assert_int_equal(vr_chan_stats(&d.ch).resubmitted, 2);
		assert_int_equal(vr_region_parse(l->region, l->len, &info), 0);
		rings = (size_t)(info.stats_off - VR_REGION_HEADER_BYTES);
		before = malloc(rings);
		assert_non_null(before);
		memcpy(before, (unsigned char *)l->region + VR_REGION_HEADER_BYTES, rings);
		/* Every call of the stale device: VR_EPEERDEAD, nothing written. */
		assert_int_equal(vr_chan_recv(&v1.ch, &m, sizeof(m), 0), VR_EPEERDEAD);
		assert_int_equal(vr_chan_recv(&v1.ch, &m, sizeof(m), 1000000), VR_EPEERDEAD);
		assert_int_equal(vr_chan_recv_borrow(&v1.ch, &msg, 0), VR_EPEERDEAD);
		assert_int_equal(vr_chan_send(&v1.ch, &m, sizeof(m), 0), VR_EPEERDEAD);
		assert_int_equal(vr_chan_flush(&v1.ch, VR_CHAN_RX), VR_EPEERDEAD);
		assert_memory_equal(before, (unsigned char *)l->region + VR_REGION_HEADER_BYTES,
				    rings);
		free(before);
		/* The next device gets 1 and 2, once. */
		assert_int_equal(end_open(&v2, l, VR_ROLE_DEVICE, 0), 0);
		recv_seq(&v2, 1, 2);
		assert_int_equal(vr_chan_recv(&v2.ch, &m, sizeof(m), 0), VR_EAGAIN);
		free(d.state);
		free(v1.state);
		free(v2.state);
		loop_free(l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_deaths_in_a_row_split),
		cmocka_unit_test(test_two_deaths_in_a_row_packed),
		cmocka_unit_test(test_broken_reset_keeps_acks),
		cmocka_unit_test(test_stale_device_after_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
