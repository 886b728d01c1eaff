/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * need_notify after a long silence: a side that publishes a whole index
 * cycle (65536 chains on a split ring) without asking need_notify must not
 * read "nothing new" from indexes that came back to where they were. The
 * packed twin (2 * num descriptors) is in test_packed.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "ring_fixture.h"

/* Move @count one-segment messages through the ring without any
 * need_notify call on either side. */
static void pump(struct fx *f, unsigned count)
{
	struct vr_seg seg = {fx_addr(f, 0), 64};
	struct vr_iov iov[1];
	struct vr_chain c = {iov, 1, 0, 0, 0, 0, 0, 0};
	struct vr_used_buf u;
	unsigned i;

	for (i = 0; i < count; i++) {
		assert_true(fx_add(f, &seg, 0, 1, NULL) >= 0);
		fx_publish(f);
		assert_int_equal(fx_pop(f, &c), 0);
		assert_int_equal(fx_push(f, c.id, 8), 0);
		assert_int_equal(fx_get_used(f, &u), 0);
	}
}

static void test_split_full_cycle_kick(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(fx_init(&f, 8, VR_FEATURE(VR_F_EVENT_IDX)), 0);
	/* The device asks for a kick at avail index 5, then sleeps. */
	assert_int_equal(vr_split_dev_arm_avail_notify(&f.sdev), 0);
	*vr_used_avail_event(f.sa.used, f.num) = 5;
	pump(&f, 65536);
	/* avail->idx is back at 0 == the last checked value, but 65536
	 * chains went by, index 5 among them. */
	assert_int_equal(vr_split_drv_need_notify(&f.sdrv), 1);
	/* Nothing new since: no kick. */
	assert_int_equal(vr_split_drv_need_notify(&f.sdrv), 0);
	fx_fini(&f);
}

static void test_split_full_cycle_interrupt(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(fx_init(&f, 8, VR_FEATURE(VR_F_EVENT_IDX)), 0);
	*vr_avail_used_event(f.sa.avail, f.num) = 3;
	pump(&f, 65536);
	assert_int_equal(vr_split_dev_need_notify(&f.sdev), 1);
	assert_int_equal(vr_split_dev_need_notify(&f.sdev), 0);
	fx_fini(&f);
}

static void test_split_short_gap_still_exact(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(fx_init(&f, 8, VR_FEATURE(VR_F_EVENT_IDX)), 0);
	assert_int_equal(vr_split_drv_need_notify(&f.sdrv), 0);
	*vr_used_avail_event(f.sa.used, f.num) = 100;
	pump(&f, 100); /* indexes 0..99 published: event 100 not reached */
	assert_int_equal(vr_split_drv_need_notify(&f.sdrv), 0);
	pump(&f, 1); /* index 100 published */
	assert_int_equal(vr_split_drv_need_notify(&f.sdrv), 1);
	fx_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_full_cycle_kick),
		cmocka_unit_test(test_split_full_cycle_interrupt),
		cmocka_unit_test(test_split_short_gap_still_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
