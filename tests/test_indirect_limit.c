/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device's indirect-table limit (vr_queue_cfg.max_indirect): by default
 * the queue size, as the spec asks of drivers; raised for drivers that send
 * longer tables (Linux with a large seg_max on a small queue).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "ring_fixture.h"

#define NUM 4
#define ENTRIES 32

/* A table of ENTRIES readable 16-byte buffers in the pool; returns its bus
 * address. Split entries are chained with NEXT, packed ones sequential. */
static uint64_t put_table(struct fx *f, bool packed)
{
	uint64_t table = fx_addr(f, 0);
	unsigned i;

	for (i = 0; i < ENTRIES; i++) {
		uint64_t buf = fx_addr(f, 4096 + 16 * i);

		if (packed) {
			struct vr_packed_desc *d = (struct vr_packed_desc *)fx_ptr(f, table) + i;

			d->addr = buf;
			d->len = 16;
			d->id = 0;
			d->flags = 0;
		} else {
			struct vr_desc *d = (struct vr_desc *)fx_ptr(f, table) + i;

			d->addr = buf;
			d->len = 16;
			d->flags = (uint16_t)(i + 1 < ENTRIES ? VR_DESC_F_NEXT : 0);
			d->next = (uint16_t)(i + 1);
		}
	}
	return table;
}

/* Expose one chain made of a single indirect descriptor (little-endian
 * host: plain stores are the wire format). */
static void expose(struct fx *f, uint64_t table)
{
	if (f->packed) {
		struct vr_packed_desc *d = f->pa.desc;

		d->addr = table;
		d->len = ENTRIES * 16;
		d->id = 0;
		__atomic_store_n(&d->flags, (uint16_t)(VR_DESC_F_INDIRECT | VR_DESC_F_AVAIL),
				 __ATOMIC_RELEASE);
	} else {
		struct vr_desc *d = f->sa.desc;
		struct vr_avail *avail = f->sa.avail;

		d->addr = table;
		d->len = ENTRIES * 16;
		d->flags = VR_DESC_F_INDIRECT;
		vr_avail_ring(avail)[0] = 0;
		__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	}
}

static void reinit_device(struct fx *f, uint32_t max_indirect)
{
	f->cfg.max_indirect = max_indirect;
	if (f->packed)
		assert_int_equal(vr_packed_dev_init(&f->pdev, &f->cfg, &f->pa, f->dev_state,
						    vr_packed_dev_state_size(NUM)), 0);
	else
		assert_int_equal(vr_split_dev_init(&f->sdev, &f->cfg, &f->sa, f->dev_state,
						   vr_split_dev_state_size(NUM)), 0);
}

static void run(bool packed)
{
	uint64_t feat = VR_FEATURE(VR_F_INDIRECT_DESC) |
			(packed ? VR_FEATURE(VR_F_RING_PACKED) : 0);
	struct vr_iov iov[64];
	struct vr_chain c = {iov, 64, 0, 0, 0, 0, 0, 0};
	struct fx f;

	/* Default: the queue size (4) bounds the table: refused. */
	assert_int_equal(fx_init(&f, NUM, feat), 0);
	expose(&f, put_table(&f, packed));
	assert_int_equal(fx_pop(&f, &c), VR_EINDIRECT);
	assert_int_equal(fx_dev_broken(&f), VR_EINDIRECT);
	fx_fini(&f);

	/* Raised to 64: accepted, all 32 segments. */
	assert_int_equal(fx_init(&f, NUM, feat), 0);
	reinit_device(&f, 64);
	expose(&f, put_table(&f, packed));
	assert_int_equal(fx_pop(&f, &c), 0);
	assert_int_equal(c.n_out, ENTRIES);
	assert_int_equal(c.out_bytes, ENTRIES * 16);
	assert_ptr_equal(iov[31].base, fx_ptr(&f, fx_addr(&f, 4096 + 16 * 31)));
	fx_fini(&f);

	/* Raised to 31: one short of the table, refused. */
	assert_int_equal(fx_init(&f, NUM, feat), 0);
	reinit_device(&f, ENTRIES - 1);
	expose(&f, put_table(&f, packed));
	assert_int_equal(fx_pop(&f, &c), VR_EINDIRECT);
	fx_fini(&f);

	/* Above 32768 a chain's segment count could overflow 16 bits: a
	 * configuration error. 32768 itself is fine. */
	assert_int_equal(fx_init(&f, NUM, feat), 0);
	reinit_device(&f, VR_QUEUE_SIZE_MAX);
	f.cfg.max_indirect = VR_QUEUE_SIZE_MAX + 1;
	if (packed)
		assert_int_equal(vr_packed_dev_init(&f.pdev, &f.cfg, &f.pa, f.dev_state,
						    vr_packed_dev_state_size(NUM)), VR_EINVAL);
	else
		assert_int_equal(vr_split_dev_init(&f.sdev, &f.cfg, &f.sa, f.dev_state,
						   vr_split_dev_state_size(NUM)), VR_EINVAL);
	fx_fini(&f);
}

static void test_split(void **s)
{
	(void)s;
	run(false);
}

static void test_packed(void **s)
{
	(void)s;
	run(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_packed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
