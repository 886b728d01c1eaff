/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed virtqueue against a hostile peer. The peer's writes are simulated
 * by storing struct vr_packed_desc / struct vr_packed_event values straight
 * into the shared ring, little-endian, the way a malicious driver or device
 * in another VM would. Each test names the entry of
 * /work/shared/hostile-inputs.md (or the spec rule of its section (b)) it
 * covers.
 *
 * A protocol violation must return its exact code and leave the queue
 * broken: every later call returns VR_EBROKEN until reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ring_fixture.h"

#define PKD VR_FEATURE(VR_F_RING_PACKED)
#define F_IND VR_FEATURE(VR_F_INDIRECT_DESC)
#define F_EVT VR_FEATURE(VR_F_EVENT_IDX)
#define F_ORD VR_FEATURE(VR_F_IN_ORDER)

#define AVAIL_BITS(w) ((uint16_t)((w) ? VR_DESC_F_AVAIL : VR_DESC_F_USED))
#define USED_BITS(w) ((uint16_t)((w) ? (VR_DESC_F_AVAIL | VR_DESC_F_USED) : 0))
#define A1 AVAIL_BITS(1)
#define A0 AVAIL_BITS(0)
#define U1 USED_BITS(1)
#define NX VR_DESC_F_NEXT
#define WR VR_DESC_F_WRITE
#define IND VR_DESC_F_INDIRECT
#define W1 0x8000u

/* ---- Wire access (little-endian whatever the host) --------------------- */

static uint16_t get16(const void *p)
{
	const unsigned char *b = (const unsigned char *)p;

	return (uint16_t)(b[0] | (b[1] << 8));
}

static uint32_t get32(const void *p)
{
	const unsigned char *b = (const unsigned char *)p;

	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
	       ((uint32_t)b[3] << 24);
}

static void put16(void *p, uint16_t v)
{
	unsigned char *b = (unsigned char *)p;

	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
}

static void put32(void *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16((unsigned char *)p + 2, (uint16_t)(v >> 16));
}

static void put64(void *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32((unsigned char *)p + 4, (uint32_t)(v >> 32));
}

static struct vr_packed_desc *ring(struct fx *f)
{
	return (struct vr_packed_desc *)f->pa.desc;
}

static void put_desc(struct vr_packed_desc *d, uint64_t addr, uint32_t len,
		     uint16_t id, uint16_t flags)
{
	put64(&d->addr, addr);
	put32(&d->len, len);
	put16(&d->id, id);
	put16(&d->flags, flags);
}

/* The hostile driver writes descriptor @p pos of the ring. */
static void wd(struct fx *f, unsigned pos, uint64_t addr, uint32_t len,
	       uint16_t id, uint16_t flags)
{
	put_desc(&ring(f)[pos], addr, len, id, flags);
}

static void put_event(void *ev, uint16_t off_wrap, uint16_t flags)
{
	put16(&((struct vr_packed_event *)ev)->off_wrap, off_wrap);
	put16(&((struct vr_packed_event *)ev)->flags, flags);
}

static uint32_t rng_state;

static uint32_t rnd(void)
{
	uint32_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rng_state = x;
	return x;
}

static uint64_t rnd64(void)
{
	return ((uint64_t)rnd() << 32) | rnd();
}

static void setup_q(struct fx *f, uint32_t num, uint64_t feat, uint32_t qflags)
{
	assert_int_equal(fx_init_flags(f, num, PKD | feat, qflags), 0);
}

static void *cookie_of(unsigned k)
{
	return (void *)(uintptr_t)(0x1000u + k);
}

static uint64_t pool(struct fx *f, size_t off)
{
	return fx_addr(f, off);
}

static void chain_init(struct vr_chain *c, struct vr_iov *iov, unsigned cap)
{
	memset(c, 0, sizeof(*c));
	c->iov = iov;
	c->iov_cap = (uint16_t)cap;
}

static int pop(struct fx *f, struct vr_chain *c, struct vr_iov *iov, unsigned cap)
{
	chain_init(c, iov, cap);
	return vr_packed_dev_pop(&f->pdev, c);
}

/* A well-behaved driver, simulated: make @p n single readable descriptors
 * available one at a time, the device takes and completes each. Leaves the
 * device at position n % num, nothing in flight. */
static void dev_advance(struct fx *f, unsigned n)
{
	struct vr_iov iov[1];
	struct vr_chain c;
	unsigned i;

	for (i = 0; i < n; i++) {
		unsigned pos = i % f->num;
		bool w = (i / f->num) % 2 == 0;

		wd(f, pos, pool(f, 0), 8, 0, AVAIL_BITS(w));
		assert_int_equal(pop(f, &c, iov, 1), 0);
		assert_int_equal(vr_packed_dev_push(&f->pdev, 0, 0), 0);
	}
}

/* The device is broken with @p err: every call refuses. */
static void check_dev_broken(struct fx *f, int err)
{
	struct vr_packed_dev *q = &f->pdev;
	struct vr_iov iov[4];
	struct vr_chain c;
	unsigned in_flight = vr_packed_dev_in_flight(q);
	uint16_t ev_before = get16(&((struct vr_packed_event *)f->pa.device_event)->flags);

	assert_true(vr_is_protocol_error(err));
	assert_int_equal(vr_packed_dev_broken(q), err);
	chain_init(&c, iov, 4);
	assert_int_equal(vr_packed_dev_pop(q, &c), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_pop_burst(q, &c, 1), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_avail(q), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_complete(q, 0, 0), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_push(q, 0, 0), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_complete_in_order(q, 1, 0), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_need_notify(q), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_notify_prepare(q), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_arm_avail_notify(q), VR_EBROKEN);
	vr_packed_dev_suppress_avail_notify(q);
	assert_int_equal(get16(&((struct vr_packed_event *)f->pa.device_event)->flags),
			 ev_before);
	assert_int_equal(vr_packed_dev_in_flight(q), in_flight);
	assert_int_equal(vr_packed_dev_broken(q), err);
}

static void check_drv_broken(struct fx *f, int err)
{
	struct vr_packed_drv *q = &f->pdrv;
	struct vr_used_buf u[2];
	struct vr_seg s = { 0, 8 };
	unsigned free_before = vr_packed_drv_free(q), inf = vr_packed_drv_in_flight(q);
	uint16_t ev_before = get16(&((struct vr_packed_event *)f->pa.driver_event)->flags);

	assert_true(vr_is_protocol_error(err));
	assert_int_equal(vr_packed_drv_broken(q), err);
	s.addr = pool(f, 0);
	assert_int_equal(vr_packed_drv_get_used(q, u), VR_EBROKEN);
	assert_int_equal(vr_packed_drv_get_used_burst(q, u, 2), VR_EBROKEN);
	assert_int_equal(vr_packed_drv_add(q, &s, 1, 0, NULL), VR_EBROKEN);
	assert_int_equal(vr_packed_drv_add_indirect(q, &s, 1, 0,
						    fx_ptr(f, pool(f, 0x10000)),
						    pool(f, 0x10000), NULL),
			 VR_EBROKEN);
	assert_int_equal(vr_packed_drv_need_notify(q), VR_EBROKEN);
	assert_int_equal(vr_packed_drv_kick_prepare(q), VR_EBROKEN);
	assert_int_equal(vr_packed_drv_arm_used_notify(q), VR_EBROKEN);
	vr_packed_drv_suppress_used_notify(q);
	assert_int_equal(get16(&((struct vr_packed_event *)f->pa.driver_event)->flags),
			 ev_before);
	assert_int_equal(vr_packed_drv_free(q), free_before);
	assert_int_equal(vr_packed_drv_in_flight(q), inf);
	assert_int_equal(vr_packed_drv_broken(q), err);
}

/* Pop expecting @p err, then check the queue is broken with it. */
static void expect_dev_violation(struct fx *f, int err)
{
	struct vr_iov iov[8];
	struct vr_chain c;

	assert_int_equal(pop(f, &c, iov, 8), err);
	check_dev_broken(f, err);
}

/* ======================================================================= */
/*                    Device side: the driver is hostile                    */
/* ======================================================================= */

/* hostile-inputs A.2 / D.40 (an index from the ring used unchecked), packed
 * form: buffer id >= queue size. The id is read from the last descriptor. */
static void test_dev_buffer_id_out_of_range(void **state)
{
	struct fx f;

	(void)state;
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 8, A1);
	expect_dev_violation(&f, VR_EBUFID);
	fx_fini(&f);

	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 0xffff, A1);
	expect_dev_violation(&f, VR_EBUFID);
	fx_fini(&f);

	/* A valid id on the head does not help: the last one counts. */
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 1, A1 | NX);
	wd(&f, 1, pool(&f, 0), 8, 9, A1);
	expect_dev_violation(&f, VR_EBUFID);
	fx_fini(&f);

	/* Boundary: id num - 1 is fine. */
	setup_q(&f, 8, 0, 0);
	{
		struct vr_iov iov[1];
		struct vr_chain c;

		wd(&f, 0, pool(&f, 0), 8, 7, A1);
		assert_int_equal(pop(&f, &c, iov, 1), 0);
		assert_int_equal(c.id, 7);
	}
	fx_fini(&f);
}

/* hostile-inputs A.3 / B.28 (in-flight buffers beyond what the ring holds)
 * and C.30 mirrored: a buffer id the device already holds. */
static void test_dev_buffer_id_in_flight(void **state)
{
	struct fx f;
	struct vr_iov iov[1];
	struct vr_chain c;

	(void)state;
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 3, A1);
	wd(&f, 1, pool(&f, 0), 8, 3, A1);
	assert_int_equal(pop(&f, &c, iov, 1), 0);
	assert_int_equal(c.id, 3);
	expect_dev_violation(&f, VR_EINFLIGHT);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 1);
	fx_fini(&f);
}

/* hostile-inputs A.3 (CVE-2016-5403) / B.28: the driver re-exposes ring
 * positions the device still holds, so the descriptors in flight would
 * exceed the ring. */
static void test_dev_descriptors_in_flight_exceed_ring(void **state)
{
	struct fx f;
	struct vr_iov iov[4];
	struct vr_chain c;

	(void)state;
	setup_q(&f, 4, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 0, A1 | NX);
	wd(&f, 1, pool(&f, 0), 8, 0, A1 | NX);
	wd(&f, 2, pool(&f, 0), 8, 0, A1);
	assert_int_equal(pop(&f, &c, iov, 4), 0);
	assert_int_equal(c.ndesc, 3);
	/* Position 0 is still in flight, yet offered again in wrap 0. */
	wd(&f, 3, pool(&f, 0), 8, 0, A1 | NX);
	wd(&f, 0, pool(&f, 0), 8, 1, A0);
	expect_dev_violation(&f, VR_EINFLIGHT);
	fx_fini(&f);
}

/* hostile-inputs B.26 and spec (b) §2.8.15/§2.8.17: a chained descriptor
 * that is not available in the current wrap (the driver exposed the head
 * before the rest, or wrote garbage flags). */
static void test_dev_later_descriptor_not_available(void **state)
{
	static const uint16_t bad[] = { 0, U1, A0, WR, U1 | WR, VR_DESC_F_USED | NX };
	struct fx f;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup_q(&f, 8, 0, 0);
		wd(&f, 0, pool(&f, 0), 8, 0, A1 | NX);
		wd(&f, 1, pool(&f, 0x100), 8, 0, bad[i]);
		expect_dev_violation(&f, VR_EFLAGS);
		assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 0);
		fx_fini(&f);
	}
}

/* hostile-inputs B.25/B.26: at the ring end the wrap counter toggles in the
 * middle of the chain; a descriptor after the end still carrying the old
 * wrap's bits is not available. */
static void test_dev_wrap_boundary_flags(void **state)
{
	struct fx f;
	struct vr_iov iov[2];
	struct vr_chain c;

	(void)state;
	/* Stale wrap-1 bits after the end: refused. */
	setup_q(&f, 4, 0, 0);
	dev_advance(&f, 3);
	wd(&f, 3, pool(&f, 0), 8, 1, A1 | NX);
	wd(&f, 0, pool(&f, 0x100), 8, 1, A1);
	expect_dev_violation(&f, VR_EFLAGS);
	fx_fini(&f);

	/* The same chain with wrap-0 bits after the end: accepted. */
	setup_q(&f, 4, 0, 0);
	dev_advance(&f, 3);
	wd(&f, 3, pool(&f, 0), 8, 1, A1 | NX);
	wd(&f, 0, pool(&f, 0x100), 8, 1, A0 | WR);
	assert_int_equal(pop(&f, &c, iov, 2), 0);
	assert_int_equal(c.ndesc, 2);
	assert_int_equal(c.id, 1);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 1);
	assert_ptr_equal(iov[1].base, fx_ptr(&f, pool(&f, 0x100)));
	/* Next chain at position 1 in wrap 0: a wrap-1 descriptor there is
	 * stale, not available. */
	wd(&f, 1, pool(&f, 0), 8, 2, A1);
	assert_int_equal(pop(&f, &c, iov, 2), VR_EAGAIN);
	wd(&f, 1, pool(&f, 0), 8, 2, A0);
	assert_int_equal(pop(&f, &c, iov, 2), 0);
	assert_int_equal(c.id, 2);
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	fx_fini(&f);
}

/* hostile-inputs A.5 / B.28 and spec (b) §2.8.17: a NEXT list longer than
 * the queue size (every descriptor has NEXT: the walk would go round
 * forever). */
static void test_dev_chain_longer_than_ring(void **state)
{
	struct fx f;
	unsigned i;

	(void)state;
	setup_q(&f, 4, 0, 0);
	for (i = 0; i < 4; i++)
		wd(&f, i, pool(&f, 0), 8, 0, A1 | NX);
	expect_dev_violation(&f, VR_ELOOP);
	fx_fini(&f);

	/* Starting mid-ring, correct wrap bits on both sides of the end. */
	setup_q(&f, 5, 0, 0);
	dev_advance(&f, 2);
	for (i = 0; i < 5; i++) {
		unsigned pos = (2 + i) % 5;

		wd(&f, pos, pool(&f, 0), 8, 0, (pos >= 2 ? A1 : A0) | NX);
	}
	expect_dev_violation(&f, VR_ELOOP);
	fx_fini(&f);

	/* Size 1: a single descriptor with NEXT. */
	setup_q(&f, 1, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 0, A1 | NX);
	expect_dev_violation(&f, VR_ELOOP);
	fx_fini(&f);
}

/* hostile-inputs B.25 and A.6: a chain spanning exactly the whole ring
 * lands back on its own start; it is legal and the wrap must toggle. */
static void test_dev_chain_spans_whole_ring(void **state)
{
	struct fx f;
	struct vr_iov iov[5];
	struct vr_chain c;
	unsigned i;

	(void)state;
	setup_q(&f, 5, 0, 0);
	dev_advance(&f, 2);
	for (i = 0; i < 5; i++) {
		unsigned pos = (2 + i) % 5;
		uint16_t fl = (uint16_t)((pos >= 2 ? A1 : A0) | (i < 4 ? NX : 0) |
					 (i >= 3 ? WR : 0));

		wd(&f, pos, pool(&f, 0x40 * i), 8 + i, 3, fl);
	}
	assert_int_equal(pop(&f, &c, iov, 5), 0);
	assert_int_equal(c.id, 3);
	assert_int_equal(c.ndesc, 5);
	assert_int_equal(c.n_out, 3);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(c.out_bytes, 8 + 9 + 10);
	assert_int_equal(c.in_bytes, 11 + 12);
	for (i = 0; i < 5; i++)
		assert_ptr_equal(iov[i].base, fx_ptr(&f, pool(&f, 0x40 * i)));
	/* Back at position 2, now in wrap 0: the same descriptor is stale. */
	assert_int_equal(pop(&f, &c, iov, 5), VR_EAGAIN);
	assert_int_equal(vr_packed_dev_push(&f.pdev, 3, 4), 0);
	assert_int_equal(get16(&ring(&f)[2].flags), U1 | WR);
	assert_int_equal(get16(&ring(&f)[2].id), 3);
	assert_int_equal(get32(&ring(&f)[2].len), 4);
	wd(&f, 2, pool(&f, 0), 8, 4, A0);
	assert_int_equal(pop(&f, &c, iov, 5), 0);
	assert_int_equal(c.id, 4);
	assert_int_equal(vr_packed_dev_push(&f.pdev, 4, 0), 0);
	/* The whole-ring chain moved the device's next_used a full lap: back
	 * to position 2, now in wrap 0. */
	assert_int_equal(get16(&ring(&f)[2].flags), USED_BITS(0));
	assert_int_equal(get16(&ring(&f)[2].id), 4);
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	fx_fini(&f);
}

/* ---- Indirect ---------------------------------------------------------- */

#define TBL_OFF 0x10000u

static struct vr_packed_desc *table(struct fx *f)
{
	return fx_ptr(f, pool(f, TBL_OFF));
}

/* A valid two-entry table at TBL_OFF. */
static void good_table(struct fx *f)
{
	put_desc(&table(f)[0], pool(f, 0), 8, 0, 0);
	put_desc(&table(f)[1], pool(f, 0x100), 8, 0, WR);
}

/* hostile-inputs A.13 and spec (b) §2.8.19 / section 2.7.5.3.1: INDIRECT and
 * NEXT on the same descriptor. */
static void test_dev_indirect_with_next(void **state)
{
	struct fx f;

	(void)state;
	setup_q(&f, 8, F_IND, 0);
	good_table(&f);
	wd(&f, 0, pool(&f, TBL_OFF), 32, 0, A1 | IND | NX);
	wd(&f, 1, pool(&f, 0), 8, 0, A1);
	expect_dev_violation(&f, VR_EINDIRECT);
	fx_fini(&f);
}

/* hostile-inputs B.27 and spec (b) §2.8.19: an INDIRECT descriptor inside
 * a NEXT-linked list. */
static void test_dev_indirect_in_next_list(void **state)
{
	struct fx f;

	(void)state;
	setup_q(&f, 8, F_IND, 0);
	good_table(&f);
	wd(&f, 0, pool(&f, 0), 8, 0, A1 | NX);
	wd(&f, 1, pool(&f, TBL_OFF), 32, 0, A1 | IND);
	expect_dev_violation(&f, VR_EINDIRECT);
	fx_fini(&f);
}

/* hostile-inputs A.7 context, spec (b) section 2.7.5.3.1: INDIRECT without
 * VIRTIO_F_INDIRECT_DESC negotiated. */
static void test_dev_indirect_not_negotiated(void **state)
{
	struct fx f;

	(void)state;
	setup_q(&f, 8, 0, 0);
	good_table(&f);
	wd(&f, 0, pool(&f, TBL_OFF), 32, 0, A1 | IND);
	expect_dev_violation(&f, VR_EINDIRECT);
	fx_fini(&f);
}

/* hostile-inputs A.9: an empty indirect table (len 0). */
static void test_dev_indirect_len_zero(void **state)
{
	struct fx f;

	(void)state;
	setup_q(&f, 8, F_IND, 0);
	good_table(&f);
	wd(&f, 0, pool(&f, TBL_OFF), 0, 0, A1 | IND);
	expect_dev_violation(&f, VR_EINDIRECT);
	fx_fini(&f);
}

/* hostile-inputs A.8: indirect len not a multiple of 16. */
static void test_dev_indirect_len_not_multiple(void **state)
{
	static const uint32_t lens[] = { 1, 15, 24, 33 };
	struct fx f;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		setup_q(&f, 8, F_IND, 0);
		good_table(&f);
		wd(&f, 0, pool(&f, TBL_OFF), lens[i], 0, A1 | IND);
		expect_dev_violation(&f, VR_EINDIRECT);
		fx_fini(&f);
	}
}

/* hostile-inputs A.10: a table with more entries than the queue size. */
static void test_dev_indirect_too_many_entries(void **state)
{
	struct fx f;
	struct vr_iov iov[8];
	struct vr_chain c;
	unsigned i;

	(void)state;
	setup_q(&f, 4, F_IND, 0);
	for (i = 0; i < 5; i++)
		put_desc(&table(&f)[i], pool(&f, 0x40 * i), 8, 0, 0);
	wd(&f, 0, pool(&f, TBL_OFF), 5 * 16, 0, A1 | IND);
	expect_dev_violation(&f, VR_EINDIRECT);
	fx_fini(&f);

	/* Boundary: exactly queue-size entries is accepted. */
	setup_q(&f, 4, F_IND, 0);
	for (i = 0; i < 4; i++)
		put_desc(&table(&f)[i], pool(&f, 0x40 * i), 8, 0, 0);
	wd(&f, 0, pool(&f, TBL_OFF), 4 * 16, 0, A1 | IND);
	assert_int_equal(pop(&f, &c, iov, 8), 0);
	assert_int_equal(c.n_out, 4);
	assert_int_equal(c.ndesc, 1);
	fx_fini(&f);
}

/* hostile-inputs A.7 and B.27: an indirect descriptor inside a table. */
static void test_dev_indirect_nested(void **state)
{
	struct fx f;

	(void)state;
	setup_q(&f, 8, F_IND, 0);
	put_desc(&table(&f)[0], pool(&f, 0), 8, 0, 0);
	put_desc(&table(&f)[1], pool(&f, TBL_OFF + 0x100), 32, 0, IND);
	wd(&f, 0, pool(&f, TBL_OFF), 32, 0, A1 | IND);
	expect_dev_violation(&f, VR_ENESTED);
	fx_fini(&f);
}

/* hostile-inputs A.11 (CVE-2018-1059): the table range not wholly inside
 * the shared window; A.16 for a wrapping table range. */
static void test_dev_indirect_outside_window(void **state)
{
	struct fx f;

	(void)state;
	/* Straddles the window end by one entry. */
	setup_q(&f, 8, F_IND, 0);
	wd(&f, 0, f.region_len - 16, 32, 0, A1 | IND);
	expect_dev_violation(&f, VR_EFAULT);
	fx_fini(&f);

	/* Entirely outside. */
	setup_q(&f, 8, F_IND, 0);
	wd(&f, 0, f.region_len, 32, 0, A1 | IND);
	expect_dev_violation(&f, VR_EFAULT);
	fx_fini(&f);

	/* addr + len wraps. */
	setup_q(&f, 8, F_IND, 0);
	wd(&f, 0, UINT64_MAX - 15, 32, 0, A1 | IND);
	expect_dev_violation(&f, VR_EOVERFLOW);
	fx_fini(&f);
}

/* hostile-inputs A.12 / A.14 / A.15 / A.17 inside a table: entries are
 * validated like ring descriptors. */
static void test_dev_indirect_bad_entries(void **state)
{
	struct fx f;

	(void)state;
	setup_q(&f, 8, F_IND, 0);
	put_desc(&table(&f)[0], pool(&f, 0), 8, 0, 0);
	put_desc(&table(&f)[1], pool(&f, 0), 0, 0, 0);
	wd(&f, 0, pool(&f, TBL_OFF), 32, 0, A1 | IND);
	expect_dev_violation(&f, VR_EZEROLEN);
	fx_fini(&f);

	setup_q(&f, 8, F_IND, 0);
	put_desc(&table(&f)[0], pool(&f, 0), 8, 0, WR);
	put_desc(&table(&f)[1], pool(&f, 0), 8, 0, 0);
	wd(&f, 0, pool(&f, TBL_OFF), 32, 0, A1 | IND);
	expect_dev_violation(&f, VR_EORDER);
	fx_fini(&f);

	setup_q(&f, 8, F_IND, 0);
	put_desc(&table(&f)[0], pool(&f, 0), 8, 0, 0);
	put_desc(&table(&f)[1], f.region_len - 4, 8, 0, WR);
	wd(&f, 0, pool(&f, TBL_OFF), 32, 0, A1 | IND);
	expect_dev_violation(&f, VR_EFAULT);
	fx_fini(&f);
}

/* hostile-inputs A.12: a table whose entries all carry NEXT is still read
 * sequentially, bounded by its own length (no loop to follow). */
static void test_dev_indirect_next_in_entries_bounded(void **state)
{
	struct fx f;
	struct vr_iov iov[8];
	struct vr_chain c;
	unsigned i;

	(void)state;
	setup_q(&f, 8, F_IND, 0);
	for (i = 0; i < 8; i++)
		put_desc(&table(&f)[i], pool(&f, 0x10 * i), 4, (uint16_t)i,
			 NX | (i >= 6 ? WR : 0));
	wd(&f, 0, pool(&f, TBL_OFF), 3 * 16, 6, A1 | IND);
	assert_int_equal(pop(&f, &c, iov, 8), 0);
	assert_int_equal(c.id, 6);
	assert_int_equal(c.n_out, 3);
	assert_int_equal(c.n_in, 0);
	assert_int_equal(c.out_bytes, 12);
	fx_fini(&f);
}

/* hostile-inputs A.11 (the table must be safely mappable). The spec sets
 * no alignment for an indirect table (our own driver writes 16-aligned
 * ones), so a table at any address is read right, without a load that
 * assumes alignment: such a load is undefined behaviour (UBSan aborts)
 * and a bus fault on strict-alignment cores. Issue 11 finding 6. */
static void test_dev_indirect_misaligned_table(void **state)
{
	static const unsigned offs[] = { 1, 2, 4, 6 };
	struct fx f;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct vr_iov iov[2];
		struct vr_chain c;
		unsigned char *t;

		setup_q(&f, 8, F_IND, 0);
		t = (unsigned char *)table(&f) + offs[i];
		/* Raw bytes: addr, len, id, flags at 0, 8, 12, 14. */
		put64(t, pool(&f, 0));
		put32(t + 8, 8);
		put16(t + 12, 0);
		put16(t + 14, 0);
		wd(&f, 0, pool(&f, TBL_OFF) + offs[i], 16, 0, A1 | IND);
		assert_int_equal(pop(&f, &c, iov, 2), 0);
		assert_int_equal(c.n_out, 1);
		assert_int_equal(c.n_in, 0);
		assert_int_equal(iov[0].len, 8);
		assert_ptr_equal(iov[0].base, fx_ptr(&f, pool(&f, 0)));
		fx_fini(&f);
	}
}

/* ---- Buffers ----------------------------------------------------------- */

/* hostile-inputs A.16: addr + len wraps past 2^64. */
static void test_dev_addr_len_wraps(void **state)
{
	struct fx f;

	(void)state;
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, UINT64_MAX - 0xf, 0x20, 0, A1);
	expect_dev_violation(&f, VR_EOVERFLOW);
	fx_fini(&f);

	/* In the second descriptor of a chain too. */
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 0, A1 | NX);
	wd(&f, 1, UINT64_MAX, 1 + 1, 0, A1 | WR);
	expect_dev_violation(&f, VR_EOVERFLOW);
	fx_fini(&f);
}

/* hostile-inputs A.17 (CVE-2018-1059, CVE-2016-7422): a buffer outside the
 * window, or straddling its end; the last byte of the window is fine. */
static void test_dev_buffer_outside_window(void **state)
{
	struct fx f;
	struct vr_iov iov[2];
	struct vr_chain c;

	(void)state;
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, f.region_len, 8, 0, A1);
	expect_dev_violation(&f, VR_EFAULT);
	fx_fini(&f);

	setup_q(&f, 8, 0, 0);
	wd(&f, 0, f.region_len - 4, 8, 0, A1 | WR);
	expect_dev_violation(&f, VR_EFAULT);
	fx_fini(&f);

	setup_q(&f, 8, 0, 0);
	wd(&f, 0, 0x1000000000ull, 8, 0, A1);
	expect_dev_violation(&f, VR_EFAULT);
	fx_fini(&f);

	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 0, A1 | NX);
	wd(&f, 1, f.region_len - 8, 8, 0, A1);
	assert_int_equal(pop(&f, &c, iov, 2), 0);
	assert_ptr_equal(iov[1].base, f.region + f.region_len - 8);
	/* The whole pool, up to the last byte of the window. */
	wd(&f, 2, pool(&f, 0), FX_POOL_BYTES, 1, A1);
	assert_int_equal(pop(&f, &c, iov, 2), 0);
	assert_ptr_equal(iov[0].base, f.region + FX_RING_BYTES);
	assert_int_equal(iov[0].len, FX_POOL_BYTES);
	fx_fini(&f);
}

/* A window that accepts any range, to put 4 GiB chains through. */
static void *accept_all(void *ctx, uint64_t addr, uint64_t len,
			enum vr_access access)
{
	(void)addr;
	(void)len;
	(void)access;
	return ctx;
}

/* hostile-inputs A.18: the chain's total exceeds 2^32 - 1 bytes. */
static void test_dev_total_over_4g(void **state)
{
	struct fx f;
	struct vr_iov iov[4];
	struct vr_chain c;

	(void)state;
	/* With the fixture's window: the first buffer fits, the sum does not. */
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), FX_POOL_BYTES, 0, A1 | NX);
	wd(&f, 1, pool(&f, 0), UINT32_MAX - FX_POOL_BYTES + 1, 0, A1 | WR);
	expect_dev_violation(&f, VR_EOVERFLOW);
	fx_fini(&f);

	/* Exact boundary, with a window that takes anything. */
	setup_q(&f, 8, 0, 0);
	f.cfg.mem.translate = accept_all;
	f.cfg.mem.ctx = f.region;
	assert_int_equal(vr_packed_dev_init(&f.pdev, &f.cfg, &f.pa, f.dev_state,
					    vr_packed_dev_state_size(8)), 0);
	wd(&f, 0, 0, UINT32_MAX - 1, 0, A1 | NX);
	wd(&f, 1, 0, 1, 0, A1 | WR);
	assert_int_equal(pop(&f, &c, iov, 4), 0);
	assert_int_equal(c.out_bytes, UINT32_MAX - 1);
	assert_int_equal(c.in_bytes, 1);
	wd(&f, 2, 0, UINT32_MAX - 1, 1, A1 | NX);
	wd(&f, 3, 0, 1, 1, A1 | NX | WR);
	wd(&f, 4, 0, 1, 1, A1 | WR);
	expect_dev_violation(&f, VR_EOVERFLOW);
	fx_fini(&f);

	/* Three 2 GiB readable segments: the sum wraps a 32-bit counter. */
	setup_q(&f, 8, 0, 0);
	f.cfg.mem.translate = accept_all;
	f.cfg.mem.ctx = f.region;
	assert_int_equal(vr_packed_dev_init(&f.pdev, &f.cfg, &f.pa, f.dev_state,
					    vr_packed_dev_state_size(8)), 0);
	wd(&f, 0, 0, 0x80000000u, 0, A1 | NX);
	wd(&f, 1, 0, 0x80000000u, 0, A1 | NX);
	wd(&f, 2, 0, 0x80000000u, 0, A1);
	expect_dev_violation(&f, VR_EOVERFLOW);
	fx_fini(&f);
}

/* hostile-inputs A.14: a device-readable descriptor after a writable one. */
static void test_dev_readable_after_writable(void **state)
{
	struct fx f;

	(void)state;
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 0, A1 | NX);
	wd(&f, 1, pool(&f, 0x100), 8, 0, A1 | WR | NX);
	wd(&f, 2, pool(&f, 0x200), 8, 0, A1);
	expect_dev_violation(&f, VR_EORDER);
	fx_fini(&f);
}

/* hostile-inputs A.15 (CVE-2016-6490): zero-length data descriptors. */
static void test_dev_zero_length(void **state)
{
	struct fx f;

	(void)state;
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), 0, 0, A1);
	expect_dev_violation(&f, VR_EZEROLEN);
	fx_fini(&f);

	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 0, A1 | NX);
	wd(&f, 1, pool(&f, 0), 0, 0, A1 | WR);
	expect_dev_violation(&f, VR_EZEROLEN);
	fx_fini(&f);
}

/* hostile-inputs A.24 and B.26, spec (b) §2.8.1 ("the ring is zero-
 * initialised"): a zero ring never looks available, in either wrap. */
static void test_dev_zero_ring_never_available(void **state)
{
	struct fx f;
	struct vr_iov iov[1];
	struct vr_chain c;
	unsigned i;

	(void)state;
	setup_q(&f, 4, 0, 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(vr_packed_dev_avail(&f.pdev), 0);
		assert_int_equal(pop(&f, &c, iov, 1), VR_EAGAIN);
	}
	/* One lap on: the device expects wrap 0; zero the whole ring. */
	dev_advance(&f, 4);
	memset(ring(&f), 0, 4 * 16);
	assert_int_equal(vr_packed_dev_avail(&f.pdev), 0);
	assert_int_equal(pop(&f, &c, iov, 1), VR_EAGAIN);
	assert_int_equal(vr_packed_dev_arm_avail_notify(&f.pdev), 0);
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 0);
	fx_fini(&f);
}

/* hostile-inputs B.26, spec (b) §2.8.15 (use a descriptor only when AVAIL
 * changed): descriptors whose AVAIL and USED bits are equal (used ones,
 * stale from an earlier lap) or carry the other wrap are never taken. */
static void test_dev_stale_descriptors_never_taken(void **state)
{
	static const uint16_t w1_stale[] = { U1, 0, A0, U1 | WR, U1 | NX };
	static const uint16_t w0_stale[] = { U1, 0, A1, A1 | NX };
	struct fx f;
	struct vr_iov iov[2];
	struct vr_chain c;
	unsigned i;

	(void)state;
	setup_q(&f, 4, 0, 0);
	for (i = 0; i < sizeof(w1_stale) / sizeof(w1_stale[0]); i++) {
		wd(&f, 0, pool(&f, 0), 8, 0, w1_stale[i]);
		assert_int_equal(vr_packed_dev_avail(&f.pdev), 0);
		assert_int_equal(pop(&f, &c, iov, 2), VR_EAGAIN);
	}
	dev_advance(&f, 4);
	for (i = 0; i < sizeof(w0_stale) / sizeof(w0_stale[0]); i++) {
		wd(&f, 0, pool(&f, 0), 8, 0, w0_stale[i]);
		assert_int_equal(vr_packed_dev_avail(&f.pdev), 0);
		assert_int_equal(pop(&f, &c, iov, 2), VR_EAGAIN);
	}
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	/* The genuine article is taken. */
	wd(&f, 0, pool(&f, 0), 8, 2, A0);
	assert_int_equal(vr_packed_dev_avail(&f.pdev), 1);
	assert_int_equal(pop(&f, &c, iov, 2), 0);
	assert_int_equal(c.id, 2);
	fx_fini(&f);
}

/* hostile-inputs A.21 (double fetch / TOCTOU): the driver rewrites a
 * descriptor after the device has read it, while the device is still in
 * the walk (simulated from the translate callback). The device must use
 * what it read once. */
struct tamper {
	struct fx *f;
	unsigned calls;
	unsigned fire_at;              /* translate call that tampers */
	struct vr_packed_desc *target; /* the descriptor rewritten then */
};

static void *tamper_translate(void *ctx, uint64_t addr, uint64_t len,
			      enum vr_access access)
{
	struct tamper *t = ctx;
	struct vr_mem w = vr_mem_window(t->f->region, 0, t->f->region_len);

	if (t->calls++ == t->fire_at && t->target)
		/* Zero length, a foreign address, NEXT and WRITE flipped. */
		put_desc(t->target, UINT64_MAX - 3, 0, 0xfff0,
			 (uint16_t)(get16(&t->target->flags) ^ (NX | WR)));
	return vr_mem_translate(&w, addr, len, access);
}

static void tamper_setup(struct fx *f, struct tamper *t)
{
	setup_q(f, 8, F_IND, 0);
	memset(t, 0, sizeof(*t));
	t->f = f;
	f->cfg.mem.translate = tamper_translate;
	f->cfg.mem.ctx = t;
	assert_int_equal(vr_packed_dev_init(&f->pdev, &f->cfg, &f->pa, f->dev_state,
					    vr_packed_dev_state_size(8)), 0);
}

static void test_dev_double_fetch(void **state)
{
	struct fx f;
	struct tamper t;
	struct vr_iov iov[4];
	struct vr_chain c;

	(void)state;
	/* Ring descriptor 0, rewritten when its buffer is translated (after
	 * the device read it, before it reads descriptor 1). */
	tamper_setup(&f, &t);
	t.fire_at = 0;
	t.target = &ring(&f)[0];
	wd(&f, 0, pool(&f, 0x40), 24, 0, A1 | NX);
	wd(&f, 1, pool(&f, 0x80), 16, 5, A1 | WR);
	assert_int_equal(pop(&f, &c, iov, 4), 0);
	assert_int_equal(t.calls, 2);
	assert_int_equal(get32(&ring(&f)[0].len), 0); /* it was rewritten */
	assert_int_equal(c.id, 5);
	assert_int_equal(c.ndesc, 2);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 1);
	assert_ptr_equal(iov[0].base, fx_ptr(&f, pool(&f, 0x40)));
	assert_int_equal(iov[0].len, 24);
	assert_int_equal(c.out_bytes, 24);
	assert_int_equal(c.in_bytes, 16);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 1);
	fx_fini(&f);

	/* Indirect table entry 0, rewritten when its buffer is translated
	 * (call 0 maps the table, call 1 entry 0's buffer). */
	tamper_setup(&f, &t);
	t.fire_at = 1;
	t.target = &table(&f)[0];
	put_desc(&table(&f)[0], pool(&f, 0x40), 24, 0, 0);
	put_desc(&table(&f)[1], pool(&f, 0x80), 16, 0, WR);
	wd(&f, 0, pool(&f, TBL_OFF), 32, 1, A1 | IND);
	assert_int_equal(pop(&f, &c, iov, 4), 0);
	assert_int_equal(t.calls, 3);
	assert_int_equal(get32(&table(&f)[0].len), 0);
	assert_int_equal(c.id, 1);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 1);
	assert_ptr_equal(iov[0].base, fx_ptr(&f, pool(&f, 0x40)));
	assert_int_equal(iov[0].len, 24);
	assert_ptr_equal(iov[1].base, fx_ptr(&f, pool(&f, 0x80)));
	fx_fini(&f);
}

/* hostile-inputs A.19 with A.17: a chain too long for the iov array and
 * malformed further on reports the violation, not VR_E2BIG. */
static void test_dev_e2big_does_not_hide_violation(void **state)
{
	struct fx f;
	struct vr_iov iov[1];
	struct vr_chain c;

	(void)state;
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 0, A1 | NX);
	wd(&f, 1, pool(&f, 0), 8, 0, A1 | NX);
	wd(&f, 2, f.region_len, 8, 0, A1);
	assert_int_equal(pop(&f, &c, iov, 1), VR_EFAULT);
	check_dev_broken(&f, VR_EFAULT);
	fx_fini(&f);

	/* Valid but too long: VR_E2BIG, nothing taken, not broken. */
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, pool(&f, 0), 8, 0, A1 | NX);
	wd(&f, 1, pool(&f, 0), 8, 0, A1);
	assert_int_equal(pop(&f, &c, iov, 1), VR_E2BIG);
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 0);
	fx_fini(&f);
}

/* ======================================================================= */
/*                    Driver side: the device is hostile                    */
/* ======================================================================= */

static int drv_add_simple(struct fx *f, unsigned n_out, unsigned n_in,
			  uint32_t len, void *cookie)
{
	struct vr_seg s[4];
	unsigned i;

	for (i = 0; i < n_out + n_in; i++) {
		s[i].addr = pool(f, 0x100 * i);
		s[i].len = len;
	}
	return vr_packed_drv_add(&f->pdrv, s, n_out, n_in, cookie);
}

/* hostile-inputs C.33 / C.36: a used descriptor while nothing is in
 * flight. */
static void test_drv_used_with_nothing_in_flight(void **state)
{
	struct fx f;
	struct vr_used_buf u;
	struct vr_iov iov[1];
	struct vr_chain c;

	(void)state;
	setup_q(&f, 8, 0, 0);
	wd(&f, 0, 0, 0, 0, U1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EUSEDIDX);
	check_drv_broken(&f, VR_EUSEDIDX);
	fx_fini(&f);

	/* After everything was collected, one extra used descriptor. */
	setup_q(&f, 8, 0, 0);
	assert_true(drv_add_simple(&f, 1, 0, 8, cookie_of(0)) >= 0);
	vr_packed_drv_publish(&f.pdrv);
	assert_int_equal(pop(&f, &c, iov, 1), 0);
	assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 0), 0);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	wd(&f, 1, 0, 0, 0, U1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EUSEDIDX);
	check_drv_broken(&f, VR_EUSEDIDX);
	fx_fini(&f);
}

/* hostile-inputs C.29 / C.35: used id >= queue size. */
static void test_drv_used_id_out_of_range(void **state)
{
	static const uint16_t ids[] = { 8, 9, 0x7fff, 0xffff };
	struct fx f;
	struct vr_used_buf u;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		setup_q(&f, 8, 0, 0);
		assert_int_equal(drv_add_simple(&f, 1, 1, 8, cookie_of(0)), 0);
		vr_packed_drv_publish(&f.pdrv);
		wd(&f, 0, 0, 0, ids[i], U1);
		u.cookie = NULL;
		assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EUSEDID);
		assert_null(u.cookie);
		check_drv_broken(&f, VR_EUSEDID);
		fx_fini(&f);
	}
}

/* hostile-inputs C.30 / C.35: used id in range but never handed out. */
static void test_drv_used_id_not_in_flight(void **state)
{
	struct fx f;
	struct vr_used_buf u;

	(void)state;
	setup_q(&f, 8, 0, 0);
	assert_int_equal(drv_add_simple(&f, 1, 1, 8, cookie_of(0)), 0);
	assert_int_equal(drv_add_simple(&f, 1, 1, 8, cookie_of(1)), 1);
	vr_packed_drv_publish(&f.pdrv);
	wd(&f, 0, 0, 0, 2, U1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EUSEDID);
	check_drv_broken(&f, VR_EUSEDID);
	assert_int_equal(vr_packed_drv_in_flight(&f.pdrv), 2);
	fx_fini(&f);
}

/* hostile-inputs C.30: a duplicate completion (replayed id). */
static void test_drv_used_duplicate(void **state)
{
	struct fx f;
	struct vr_used_buf u;
	struct vr_iov iov[2];
	struct vr_chain c;

	(void)state;
	setup_q(&f, 8, 0, 0);
	assert_int_equal(drv_add_simple(&f, 1, 1, 8, cookie_of(0)), 0);
	assert_int_equal(drv_add_simple(&f, 1, 1, 8, cookie_of(1)), 1);
	vr_packed_drv_publish(&f.pdrv);
	assert_int_equal(pop(&f, &c, iov, 2), 0);
	assert_int_equal(vr_packed_dev_push(&f.pdev, 0, 3), 0);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(u.id, 0);
	/* The device completes id 0 again, at the driver's next_used (2). */
	wd(&f, 2, 0, 3, 0, U1 | WR);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EUSEDID);
	check_drv_broken(&f, VR_EUSEDID);
	fx_fini(&f);
}

/* hostile-inputs C.31 (Linux 939779f5152d): used len larger than the
 * chain's writable bytes; with VR_QF_CLAMP_USED_LEN it is clamped. */
static void test_drv_used_len_too_big(void **state)
{
	struct fx f;
	struct vr_used_buf u;

	(void)state;
	setup_q(&f, 8, 0, 0);
	assert_int_equal(drv_add_simple(&f, 1, 2, 8, cookie_of(0)), 0);
	vr_packed_drv_publish(&f.pdrv);
	wd(&f, 0, 0, 17, 0, U1 | WR);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EUSEDLEN);
	check_drv_broken(&f, VR_EUSEDLEN);
	fx_fini(&f);

	/* Boundary: exactly the writable bytes. */
	setup_q(&f, 8, 0, 0);
	assert_int_equal(drv_add_simple(&f, 1, 2, 8, cookie_of(0)), 0);
	vr_packed_drv_publish(&f.pdrv);
	wd(&f, 0, 0, 16, 0, U1 | WR);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(u.len, 16);
	fx_fini(&f);

	setup_q(&f, 8, 0, VR_QF_CLAMP_USED_LEN);
	assert_int_equal(drv_add_simple(&f, 1, 2, 8, cookie_of(0)), 0);
	vr_packed_drv_publish(&f.pdrv);
	wd(&f, 0, 0, 0xffffffffu, 0, U1 | WR);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(0));
	assert_int_equal(u.len, 16);
	assert_int_equal(f.pdrv.stats.used_len_clamped, 1);
	assert_int_equal(vr_packed_drv_broken(&f.pdrv), 0);
	fx_fini(&f);
}

/* hostile-inputs C.31: a used descriptor without WRITE has a reserved len
 * (section 2.8.4); a huge value there is read as 0, not as an error. */
static void test_drv_used_len_without_write_ignored(void **state)
{
	struct fx f;
	struct vr_used_buf u;

	(void)state;
	setup_q(&f, 8, 0, 0);
	assert_int_equal(drv_add_simple(&f, 1, 0, 8, cookie_of(0)), 0);
	assert_int_equal(drv_add_simple(&f, 0, 1, 8, cookie_of(1)), 1);
	vr_packed_drv_publish(&f.pdrv);
	wd(&f, 0, 0, 0xffffffffu, 0, U1);
	wd(&f, 1, 0, 0x12345678u, 1, U1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(0));
	assert_int_equal(u.len, 0);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(1));
	assert_int_equal(u.len, 0);
	assert_int_equal(f.pdrv.stats.used_len_clamped, 0);
	assert_int_equal(vr_packed_drv_broken(&f.pdrv), 0);
	fx_fini(&f);
}

/* hostile-inputs C.35: used flags with inconsistent wrap bits are not
 * "used" (the driver waits; it does not take them). */
static void test_drv_inconsistent_used_flags(void **state)
{
	static const uint16_t bad[] = { VR_DESC_F_AVAIL, VR_DESC_F_USED, 0,
					VR_DESC_F_USED | WR };
	struct fx f;
	struct vr_used_buf u;
	unsigned i;

	(void)state;
	setup_q(&f, 8, 0, 0);
	assert_int_equal(drv_add_simple(&f, 0, 1, 8, cookie_of(0)), 0);
	vr_packed_drv_publish(&f.pdrv);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wd(&f, 0, 0, 4, 0, bad[i]);
		assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
		assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 0);
	}
	assert_int_equal(vr_packed_drv_broken(&f.pdrv), 0);
	wd(&f, 0, 0, 4, 0, U1 | WR);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(u.len, 4);
	fx_fini(&f);
}

/* hostile-inputs C.34 / C.35: the device rewrites ring descriptors after
 * use (or writes used-looking garbage inside a chain). The driver skips by
 * its private record of each chain's descriptor count and never reads the
 * chain back. */
static void test_drv_device_rewrites_descriptors(void **state)
{
	struct fx f;
	struct vr_used_buf u;
	struct vr_iov iov[4];
	struct vr_chain c;
	unsigned i;

	(void)state;
	setup_q(&f, 8, 0, 0);
	assert_int_equal(drv_add_simple(&f, 1, 2, 8, cookie_of(0)), 0);
	assert_int_equal(drv_add_simple(&f, 0, 1, 8, cookie_of(1)), 1);
	vr_packed_drv_publish(&f.pdrv);
	assert_int_equal(pop(&f, &c, iov, 4), 0);
	assert_int_equal(pop(&f, &c, iov, 4), 0);
	assert_int_equal(vr_packed_dev_push(&f.pdev, 0, 5), 0);
	/* Garbage that looks used, inside chain 0 (positions 1, 2), naming
	 * chain 1 with a bogus len; and the addresses scribbled over. */
	wd(&f, 1, 0xdeadbeef, 8, 1, U1 | WR | NX);
	wd(&f, 2, 0xdeadbeef, 8, 1, U1 | WR);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(0));
	assert_int_equal(u.len, 5);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 7);
	/* Next used is at 3, where the device has written nothing yet. */
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	/* The device also rewrites the used descriptor it already returned. */
	wd(&f, 0, 0, 8, 1, U1 | WR);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	assert_int_equal(vr_packed_dev_push(&f.pdev, 1, 8), 0);
	assert_int_equal(get16(&ring(&f)[3].id), 1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(1));
	assert_int_equal(u.len, 8);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 8);
	assert_int_equal(vr_packed_drv_in_flight(&f.pdrv), 0);
	/* Free-list intact: eight singles fit, the ninth does not. */
	for (i = 0; i < 8; i++)
		assert_true(drv_add_simple(&f, 1, 0, 8, NULL) >= 0);
	assert_int_equal(drv_add_simple(&f, 1, 0, 8, NULL), VR_ENOSPC);
	assert_int_equal(vr_packed_drv_broken(&f.pdrv), 0);
	fx_fini(&f);
}

/* hostile-inputs C.30 under IN_ORDER: the batch's last id is not in flight
 * (never issued, or already collected); C.31 for its len. */
static void test_drv_in_order_bad_used(void **state)
{
	struct fx f;
	struct vr_used_buf u;

	(void)state;
	setup_q(&f, 8, F_ORD, 0);
	assert_int_equal(drv_add_simple(&f, 0, 1, 8, cookie_of(0)), 0);
	assert_int_equal(drv_add_simple(&f, 0, 1, 8, cookie_of(1)), 1);
	vr_packed_drv_publish(&f.pdrv);
	wd(&f, 0, 0, 0, 5, U1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EUSEDID);
	check_drv_broken(&f, VR_EUSEDID);
	fx_fini(&f);

	setup_q(&f, 8, F_ORD, 0);
	assert_int_equal(drv_add_simple(&f, 0, 1, 8, cookie_of(0)), 0);
	assert_int_equal(drv_add_simple(&f, 0, 1, 8, cookie_of(1)), 1);
	vr_packed_drv_publish(&f.pdrv);
	wd(&f, 0, 0, 8, 0, U1 | WR);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(0));
	/* Id 0 again at position 1. */
	wd(&f, 1, 0, 8, 0, U1 | WR);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EUSEDID);
	check_drv_broken(&f, VR_EUSEDID);
	fx_fini(&f);

	setup_q(&f, 8, F_ORD, 0);
	assert_int_equal(drv_add_simple(&f, 0, 1, 8, cookie_of(0)), 0);
	assert_int_equal(drv_add_simple(&f, 0, 1, 8, cookie_of(1)), 1);
	vr_packed_drv_publish(&f.pdrv);
	wd(&f, 0, 0, 9, 1, U1 | WR);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EUSEDLEN);
	check_drv_broken(&f, VR_EUSEDLEN);
	fx_fini(&f);
}

/* ======================================================================= */
/*                 Event areas: garbage never loses a kick                  */
/* ======================================================================= */

/* hostile-inputs C.36 spirit and spec (b) §2.8.21.3.1 / §2.7.10: whatever
 * the peer writes in its event suppression area, except a clean DISABLE or
 * a DESC that is not yet reached, a needed notification is sent. */
static void test_event_area_garbage(void **state)
{
	static const struct {
		uint16_t flags, off_wrap;
		uint64_t feat;
	} cases[] = {
		{ 3, 0, 0 },
		{ 3, 0, F_EVT },
		{ 0xffff, 0xffff, F_EVT },
		{ 0x8001, 0, F_EVT },   /* DISABLE plus junk bits */
		{ 0x0101, 0, 0 },
		{ 0x8002, 0, F_EVT },   /* DESC plus junk bits */
		{ VR_EVENT_F_DESC, 8 | W1, F_EVT },     /* offset == num */
		{ VR_EVENT_F_DESC, 9, F_EVT },
		{ VR_EVENT_F_DESC, 0x7fff, F_EVT },
		{ VR_EVENT_F_DESC, 0xffff, F_EVT },
		{ VR_EVENT_F_DESC, 5, 0 },              /* DESC without EVENT_IDX */
	};
	struct fx f;
	struct vr_iov iov[1];
	struct vr_chain c;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setup_q(&f, 8, cases[i].feat, 0);
		/* Driver side: the device event area is garbage. */
		put_event(f.pa.device_event, cases[i].off_wrap, cases[i].flags);
		assert_true(drv_add_simple(&f, 1, 0, 8, NULL) >= 0);
		assert_int_equal(vr_packed_drv_kick_prepare(&f.pdrv), 1);
		/* Device side: the driver event area is garbage. */
		put_event(f.pa.driver_event, cases[i].off_wrap, cases[i].flags);
		assert_int_equal(pop(&f, &c, iov, 1), 0);
		assert_int_equal(vr_packed_dev_complete(&f.pdev, c.id, 0), 0);
		assert_int_equal(vr_packed_dev_notify_prepare(&f.pdev), 1);
		fx_fini(&f);
	}
}

/* ======================================================================= */
/*                     Deterministic random hostile peers                   */
/* ======================================================================= */

static bool iov_inside(const struct fx *f, const struct vr_iov *v)
{
	uintptr_t lo = (uintptr_t)f->region, hi = lo + f->region_len;
	uintptr_t b = (uintptr_t)v->base;

	return b >= lo && v->len <= hi - b && b + v->len <= hi;
}

/* A descriptor a fuzzer would write: often plausible, sometimes junk. */
static void random_desc(struct fx *f, struct vr_packed_desc *d, bool wrap,
			bool in_table)
{
	uint64_t addr;
	uint32_t len;
	uint16_t id, flags;

	if (rnd() % 8 == 0) {
		put64(&d->addr, rnd64());
		put32(&d->len, rnd());
		put16(&d->id, (uint16_t)rnd());
		put16(&d->flags, (uint16_t)rnd());
		return;
	}
	switch (rnd() % 8) {
	case 0:
		addr = rnd64();
		break;
	case 1:
		addr = f->region_len - rnd() % 64;
		break;
	case 2:
		addr = UINT64_MAX - rnd() % 64;
		break;
	case 3:
		addr = pool(f, TBL_OFF + (rnd() % 256) * 16);
		break;
	default:
		addr = rnd() % f->region_len;
		break;
	}
	switch (rnd() % 6) {
	case 0:
		len = 0;
		break;
	case 1:
		len = rnd();
		break;
	case 2:
		len = 16 * (rnd() % (f->num + 3));
		break;
	default:
		len = 1 + rnd() % 512;
		break;
	}
	id = (uint16_t)(rnd() % 4 ? rnd() % (f->num + 2) : rnd());
	flags = (uint16_t)(rnd() & (NX | WR | (rnd() % 4 == 0 ? IND : 0)));
	if (in_table || rnd() % 4)
		flags |= AVAIL_BITS(wrap);
	else
		flags |= (uint16_t)(rnd() & (VR_DESC_F_AVAIL | VR_DESC_F_USED));
	if (rnd() % 16 == 0)
		flags |= (uint16_t)(rnd() & 0x7f70);
	put64(&d->addr, addr);
	put32(&d->len, len);
	put16(&d->id, id);
	put16(&d->flags, flags);
}

static void random_ring(struct fx *f, bool wrap)
{
	unsigned i;

	for (i = 0; i < f->num; i++)
		random_desc(f, &ring(f)[i], rnd() % 8 ? wrap : !wrap, false);
	for (i = 0; i < 256; i++)
		random_desc(f, &table(f)[i], wrap, true);
	put_event(f->pa.driver_event, (uint16_t)rnd(), (uint16_t)(rnd() % 5));
	put_event(f->pa.device_event, (uint16_t)rnd(), (uint16_t)(rnd() % 5));
}

/* hostile-inputs (c) fuzzing practice (crosvm virtqueue_fuzzer style) over
 * A and B: random ring and event bytes; the device only ever answers 0,
 * VR_EAGAIN, VR_E2BIG or a protocol error, and every segment it hands out
 * lies inside the region. */
static void test_random_device_input(void **state)
{
	static const uint32_t sizes[] = { 1, 2, 3, 5, 8, 16, 31 };
	unsigned cfg, round, counts[4] = { 0, 0, 0, 0 };

	(void)state;
	rng_state = 0xC0FFEEu;
	for (cfg = 0; cfg < 70; cfg++) {
		struct fx f;
		uint32_t num = sizes[cfg % 7];
		uint64_t feat = ((cfg / 7) & 1 ? F_IND : 0) |
				((cfg / 7) & 2 ? F_EVT : 0) |
				((cfg / 7) & 4 ? F_ORD : 0);
		uint16_t held[64];
		unsigned n_held = 0, pos = 0;
		bool wrap = true;

		setup_q(&f, num, feat, 0);
		for (round = 0; round < 40; round++) {
			unsigned k;

			random_ring(&f, wrap);
			for (k = 0; k < 3 * num + 3; k++) {
				struct vr_iov iov[64];
				struct vr_chain c;
				unsigned cap = 1 + rnd() % 6, j;
				uint64_t out = 0, in = 0;
				int r = pop(&f, &c, iov, cap);

				if (r == VR_E2BIG) {
					counts[2]++;
					assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
					cap = 64;
					r = pop(&f, &c, iov, cap);
					assert_int_not_equal(r, VR_E2BIG);
					assert_int_not_equal(r, VR_EAGAIN);
				}
				if (r == VR_EAGAIN) {
					counts[1]++;
					assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
					break;
				}
				if (r != 0) {
					counts[3]++;
					assert_true(vr_is_protocol_error(r));
					assert_int_equal(vr_packed_dev_broken(&f.pdev), r);
					assert_int_equal(pop(&f, &c, iov, cap), VR_EBROKEN);
					vr_packed_dev_reset(&f.pdev);
					n_held = 0;
					pos = 0;
					wrap = true;
					break;
				}
				counts[0]++;
				assert_true(c.id < num);
				assert_true(c.ndesc >= 1 && c.ndesc <= num);
				assert_true((unsigned)c.n_out + c.n_in <= cap);
				assert_true(c.n_out + c.n_in >= 1);
				for (j = 0; j < (unsigned)c.n_out + c.n_in; j++) {
					assert_true(iov_inside(&f, &iov[j]));
					assert_true(iov[j].len > 0);
					if (j < c.n_out)
						out += iov[j].len;
					else
						in += iov[j].len;
				}
				assert_int_equal(out, c.out_bytes);
				assert_int_equal(in, c.in_bytes);
				assert_true(out + in <= UINT32_MAX);
				held[n_held++] = c.id;
				pos += c.ndesc;
				if (pos >= num) {
					pos -= num;
					wrap = !wrap;
				}
				/* Sometimes complete the oldest held chains. */
				while (n_held && rnd() % 2) {
					assert_int_equal(vr_packed_dev_complete(&f.pdev, held[0],
										rnd() % 2 ? 0 : c.in_bytes ? 1 : 0),
							 0);
					memmove(held, held + 1, --n_held * sizeof(held[0]));
				}
				vr_packed_dev_publish(&f.pdev);
			}
			{
				int n = vr_packed_dev_need_notify(&f.pdev);
				int a = vr_packed_dev_arm_avail_notify(&f.pdev);

				assert_true(n == 0 || n == 1 || n == VR_EBROKEN);
				assert_true(a == 0 || a == 1 || a == VR_EBROKEN);
			}
		}
		fx_fini(&f);
	}
	/* The generator reaches every outcome. */
	assert_true(counts[0] > 100);
	assert_true(counts[1] > 100);
	assert_true(counts[2] > 0);
	assert_true(counts[3] > 100);
}

/* hostile-inputs C.29-C.35, fuzzed: random used descriptors over a ring
 * with chains in flight. The driver only answers 0, VR_EAGAIN or a
 * protocol error; every buffer it returns is one it had in flight, once,
 * with a length no larger than its writable bytes. */
static void test_random_driver_input(void **state)
{
	static const uint32_t sizes[] = { 1, 2, 3, 5, 8, 16, 31 };
	unsigned cfg, round, counts[3] = { 0, 0, 0 };

	(void)state;
	rng_state = 0xBADC0DEu;
	for (cfg = 0; cfg < 42; cfg++) {
		struct fx f;
		uint32_t num = sizes[cfg % 7];
		uint64_t feat = (cfg / 7) & 1 ? F_ORD : 0;
		uint32_t qfl = (cfg / 7) & 2 ? VR_QF_CLAMP_USED_LEN : 0;
		/* Per cookie index: writable bytes, descriptors, in flight. */
		uint32_t in_len[64];
		unsigned ndesc[64];
		bool live[64];
		unsigned next_k = 0;

		setup_q(&f, num, feat, qfl);
		memset(live, 0, sizeof(live));
		for (round = 0; round < 40; round++) {
			unsigned k, j, total = 0;
			bool w;

			/* Fill the ring with chains. */
			for (;;) {
				unsigned L = 1 + rnd() % (num < 4 ? num : 4);
				unsigned n_out = rnd() % (L + 1);
				unsigned idx = next_k % 64;
				int id;

				if (L > vr_packed_drv_free(&f.pdrv) || live[idx])
					break;
				id = drv_add_simple(&f, n_out, L - n_out, 8, cookie_of(idx));
				assert_true(id >= 0);
				live[idx] = true;
				in_len[idx] = 8 * (L - n_out);
				ndesc[idx] = L;
				next_k++;
			}
			vr_packed_drv_publish(&f.pdrv);
			/* The device writes random "used" descriptors. */
			w = rnd() % 2;
			for (j = 0; j < num; j++) {
				uint16_t fl = (uint16_t)(rnd() % 4 ? USED_BITS(w) : rnd() & 0x8080);

				if (rnd() % 2)
					fl |= WR;
				wd(&f, j, rnd64(), rnd() % 4 ? rnd() % 64 : rnd(),
				   (uint16_t)(rnd() % 4 ? rnd() % (num + 1) : rnd()), fl);
			}
			put_event(f.pa.device_event, (uint16_t)rnd(), (uint16_t)(rnd() % 5));
			for (k = 0; k < 2 * num + 2; k++) {
				struct vr_used_buf u;
				unsigned idx;
				int r = vr_packed_drv_get_used(&f.pdrv, &u);

				if (r == VR_EAGAIN) {
					counts[1]++;
					break;
				}
				if (r != 0) {
					counts[2]++;
					assert_true(vr_is_protocol_error(r));
					assert_int_equal(vr_packed_drv_broken(&f.pdrv), r);
					assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u),
							 VR_EBROKEN);
					vr_packed_drv_reset(&f.pdrv);
					memset(live, 0, sizeof(live));
					break;
				}
				counts[0]++;
				assert_true(u.id < num);
				idx = (unsigned)((uintptr_t)u.cookie - 0x1000u);
				assert_true(idx < 64);
				assert_true(live[idx]);
				assert_true(u.len <= in_len[idx]);
				live[idx] = false;
			}
			for (j = 0; j < 64; j++)
				if (live[j])
					total += ndesc[j];
			assert_int_equal(vr_packed_drv_free(&f.pdrv), num - total);
			{
				int n = vr_packed_drv_need_notify(&f.pdrv);

				assert_true(n == 0 || n == 1);
			}
		}
		fx_fini(&f);
	}
	assert_true(counts[0] > 50);
	assert_true(counts[1] > 50);
	assert_true(counts[2] > 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dev_buffer_id_out_of_range),
		cmocka_unit_test(test_dev_buffer_id_in_flight),
		cmocka_unit_test(test_dev_descriptors_in_flight_exceed_ring),
		cmocka_unit_test(test_dev_later_descriptor_not_available),
		cmocka_unit_test(test_dev_wrap_boundary_flags),
		cmocka_unit_test(test_dev_chain_longer_than_ring),
		cmocka_unit_test(test_dev_chain_spans_whole_ring),
		cmocka_unit_test(test_dev_indirect_with_next),
		cmocka_unit_test(test_dev_indirect_in_next_list),
		cmocka_unit_test(test_dev_indirect_not_negotiated),
		cmocka_unit_test(test_dev_indirect_len_zero),
		cmocka_unit_test(test_dev_indirect_len_not_multiple),
		cmocka_unit_test(test_dev_indirect_too_many_entries),
		cmocka_unit_test(test_dev_indirect_nested),
		cmocka_unit_test(test_dev_indirect_outside_window),
		cmocka_unit_test(test_dev_indirect_bad_entries),
		cmocka_unit_test(test_dev_indirect_next_in_entries_bounded),
		cmocka_unit_test(test_dev_addr_len_wraps),
		cmocka_unit_test(test_dev_buffer_outside_window),
		cmocka_unit_test(test_dev_total_over_4g),
		cmocka_unit_test(test_dev_readable_after_writable),
		cmocka_unit_test(test_dev_zero_length),
		cmocka_unit_test(test_dev_zero_ring_never_available),
		cmocka_unit_test(test_dev_stale_descriptors_never_taken),
		cmocka_unit_test(test_dev_double_fetch),
		cmocka_unit_test(test_dev_e2big_does_not_hide_violation),
		cmocka_unit_test(test_drv_used_with_nothing_in_flight),
		cmocka_unit_test(test_drv_used_id_out_of_range),
		cmocka_unit_test(test_drv_used_id_not_in_flight),
		cmocka_unit_test(test_drv_used_duplicate),
		cmocka_unit_test(test_drv_used_len_too_big),
		cmocka_unit_test(test_drv_used_len_without_write_ignored),
		cmocka_unit_test(test_drv_inconsistent_used_flags),
		cmocka_unit_test(test_drv_device_rewrites_descriptors),
		cmocka_unit_test(test_drv_in_order_bad_used),
		cmocka_unit_test(test_event_area_garbage),
		cmocka_unit_test(test_random_driver_input),
		/* Last: a misaligned load in either aborts a
		 * -fsanitize=undefined run. */
		cmocka_unit_test(test_dev_indirect_misaligned_table),
		cmocka_unit_test(test_random_device_input),
	};

	return cmocka_run_group_tests_name("packed_hostile", tests, NULL, NULL);
}
