/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed virtqueue (virtio 1.2 section 2.8), both roles, with a well-behaved
 * peer: chains, batching, bursts, laps around rings of odd sizes, out-of-order
 * and in-order completion, indirect tables, notification suppression, resets,
 * set-up errors and the cache-maintenance hooks. The hostile peer has its own
 * file, test_packed_hostile.c.
 *
 * The shared ring is inspected byte by byte (little-endian, as on the wire)
 * so that the tests check what the peer would see, not the library's view of
 * itself.
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
#define WRAP_BITS (VR_DESC_F_AVAIL | VR_DESC_F_USED)

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

static uint64_t get64(const void *p)
{
	const unsigned char *b = (const unsigned char *)p;

	return (uint64_t)get32(b) | ((uint64_t)get32(b + 4) << 32);
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

static uint16_t d_flags(struct fx *f, unsigned pos)
{
	return get16(&ring(f)[pos].flags);
}

static uint16_t d_id(struct fx *f, unsigned pos)
{
	return get16(&ring(f)[pos].id);
}

static uint32_t d_len(struct fx *f, unsigned pos)
{
	return get32(&ring(f)[pos].len);
}

static uint64_t d_addr(struct fx *f, unsigned pos)
{
	return get64(&ring(f)[pos].addr);
}

static void put_desc(struct vr_packed_desc *d, uint64_t addr, uint32_t len,
		     uint16_t id, uint16_t flags)
{
	put64(&d->addr, addr);
	put32(&d->len, len);
	put16(&d->id, id);
	put16(&d->flags, flags);
}

static void put_event(void *ev, uint16_t off_wrap, uint16_t flags)
{
	put16(&((struct vr_packed_event *)ev)->off_wrap, off_wrap);
	put16(&((struct vr_packed_event *)ev)->flags, flags);
}

static uint16_t ev_flags(void *ev)
{
	return get16(&((struct vr_packed_event *)ev)->flags);
}

static uint16_t ev_off_wrap(void *ev)
{
	return get16(&((struct vr_packed_event *)ev)->off_wrap);
}

/* ---- Small helpers ------------------------------------------------------ */

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

static void setup_q(struct fx *f, uint32_t num, uint64_t feat, uint32_t qflags)
{
	assert_int_equal(fx_init_flags(f, num, PKD | feat, qflags), 0);
}

static void *cookie_of(unsigned k)
{
	return (void *)(uintptr_t)(0x1000u + k);
}

/* One readable segment of 8 bytes at pool offset @p off. */
static int add_one(struct fx *f, size_t off, void *cookie)
{
	struct vr_seg s = { fx_addr(f, off), 8 };

	return vr_packed_drv_add(&f->pdrv, &s, 1, 0, cookie);
}

static void pop_ok(struct fx *f, struct vr_chain *c, struct vr_iov *iov,
		   unsigned cap)
{
	memset(c, 0, sizeof(*c));
	c->iov = iov;
	c->iov_cap = (uint16_t)cap;
	assert_int_equal(vr_packed_dev_pop(&f->pdev, c), 0);
}

/* Move both sides @p n single-descriptor chains along the ring, leaving
 * nothing in flight and both notification bookkeepings in step. */
static void advance(struct fx *f, unsigned n)
{
	struct vr_iov iov[1];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;

	for (i = 0; i < n; i++) {
		int id = add_one(f, 0, cookie_of(i));

		assert_true(id >= 0);
		assert_true(vr_packed_drv_kick_prepare(&f->pdrv) >= 0);
		pop_ok(f, &c, iov, 1);
		assert_int_equal(c.id, id);
		assert_int_equal(vr_packed_dev_complete(&f->pdev, c.id, 0), 0);
		assert_true(vr_packed_dev_notify_prepare(&f->pdev) >= 0);
		assert_int_equal(vr_packed_drv_get_used(&f->pdrv, &u), 0);
		assert_ptr_equal(u.cookie, cookie_of(i));
	}
	assert_int_equal(vr_packed_drv_in_flight(&f->pdrv), 0);
	assert_int_equal(vr_packed_dev_in_flight(&f->pdev), 0);
}

/* ======================================================================= */
/*                         Chains, both roles                              */
/* ======================================================================= */

static void test_single_segment(void **state)
{
	struct fx f;
	struct vr_seg s;
	struct vr_iov iov[2];
	struct vr_chain c;
	struct vr_used_buf u;
	int id;

	(void)state;
	setup_q(&f, 8, 0, 0);
	memcpy(fx_ptr(&f, fx_addr(&f, 0x40)), "hello, device", 13);
	s.addr = fx_addr(&f, 0x40);
	s.len = 13;
	id = vr_packed_drv_add(&f.pdrv, &s, 1, 0, cookie_of(1));
	assert_int_equal(id, 0);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 7);
	assert_int_equal(vr_packed_drv_in_flight(&f.pdrv), 1);
	vr_packed_drv_publish(&f.pdrv);

	/* What the device sees on the wire. */
	assert_int_equal(d_flags(&f, 0), VR_DESC_F_AVAIL);
	assert_int_equal(d_addr(&f, 0), fx_addr(&f, 0x40));
	assert_int_equal(d_len(&f, 0), 13);
	assert_int_equal(d_id(&f, 0), 0);

	assert_int_equal(vr_packed_dev_avail(&f.pdev), 1);
	pop_ok(&f, &c, iov, 2);
	assert_int_equal(c.id, 0);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 0);
	assert_int_equal(c.ndesc, 1);
	assert_int_equal(c.out_bytes, 13);
	assert_int_equal(c.in_bytes, 0);
	assert_ptr_equal(iov[0].base, fx_ptr(&f, fx_addr(&f, 0x40)));
	assert_int_equal(iov[0].len, 13);
	assert_memory_equal(iov[0].base, "hello, device", 13);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 1);
	assert_int_equal(vr_packed_dev_avail(&f.pdev), 0);
	assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_EAGAIN);

	/* Nothing written: used len 0 and no WRITE flag on the wire. */
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	assert_int_equal(vr_packed_dev_push(&f.pdev, 0, 0), 0);
	assert_int_equal(d_flags(&f, 0), VR_DESC_F_AVAIL | VR_DESC_F_USED);
	assert_int_equal(d_id(&f, 0), 0);
	assert_int_equal(d_len(&f, 0), 0);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 0);

	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(1));
	assert_int_equal(u.len, 0);
	assert_int_equal(u.id, 0);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 8);
	assert_int_equal(vr_packed_drv_in_flight(&f.pdrv), 0);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	assert_int_equal(vr_packed_drv_broken(&f.pdrv), 0);
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	fx_fini(&f);
}

static void test_multi_segment(void **state)
{
	static const uint32_t lens[5] = { 3, 17, 40, 1, 100 };
	static const size_t offs[5] = { 0x000, 0x100, 0x200, 0x300, 0x400 };
	struct fx f;
	struct vr_seg s[5];
	struct vr_iov iov[8];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;
	int id, id2;

	(void)state;
	setup_q(&f, 8, 0, 0);
	for (i = 0; i < 5; i++) {
		s[i].addr = fx_addr(&f, offs[i]);
		s[i].len = lens[i];
		memset(fx_ptr(&f, s[i].addr), 'a' + (int)i, lens[i]);
	}
	id = vr_packed_drv_add(&f.pdrv, s, 2, 3, cookie_of(7));
	assert_int_equal(id, 0);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 3);
	vr_packed_drv_publish(&f.pdrv);

	/* Readable first, then writable; NEXT on all but the last; the buffer
	 * id in the last descriptor. */
	for (i = 0; i < 5; i++) {
		uint16_t want = VR_DESC_F_AVAIL;

		if (i >= 2)
			want |= VR_DESC_F_WRITE;
		if (i < 4)
			want |= VR_DESC_F_NEXT;
		assert_int_equal(d_flags(&f, i), want);
		assert_int_equal(d_addr(&f, i), s[i].addr);
		assert_int_equal(d_len(&f, i), lens[i]);
	}
	assert_int_equal(d_id(&f, 4), id);

	pop_ok(&f, &c, iov, 8);
	assert_int_equal(c.id, id);
	assert_int_equal(c.n_out, 2);
	assert_int_equal(c.n_in, 3);
	assert_int_equal(c.ndesc, 5);
	assert_int_equal(c.out_bytes, 3 + 17);
	assert_int_equal(c.in_bytes, 40 + 1 + 100);
	for (i = 0; i < 5; i++) {
		assert_ptr_equal(iov[i].base, fx_ptr(&f, s[i].addr));
		assert_int_equal(iov[i].len, lens[i]);
	}
	/* The device writes 41 bytes: the whole first writable segment and
	 * the second. */
	memset(iov[2].base, 'X', 40);
	memset(iov[3].base, 'Y', 1);
	assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 41), 0);
	assert_int_equal(d_flags(&f, 0),
			 VR_DESC_F_AVAIL | VR_DESC_F_USED | VR_DESC_F_WRITE);
	assert_int_equal(d_len(&f, 0), 41);
	assert_int_equal(d_id(&f, 0), id);

	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(7));
	assert_int_equal(u.len, 41);
	assert_int_equal(u.id, id);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 8);
	assert_int_equal(*(unsigned char *)fx_ptr(&f, s[3].addr), 'Y');

	/* A writable chain the device writes nothing into: len 0. */
	id2 = vr_packed_drv_add(&f.pdrv, &s[2], 0, 2, cookie_of(8));
	assert_true(id2 >= 0);
	vr_packed_drv_publish(&f.pdrv);
	pop_ok(&f, &c, iov, 8);
	assert_int_equal(c.n_out, 0);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(c.in_bytes, 41);
	assert_int_equal(c.ndesc, 2);
	assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 0), 0);
	/* The device's next_used was 5 (skipped the 5-descriptor chain). */
	assert_int_equal(d_flags(&f, 5), VR_DESC_F_AVAIL | VR_DESC_F_USED);
	assert_int_equal(d_id(&f, 5), id2);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(8));
	assert_int_equal(u.len, 0);
	assert_int_equal(u.id, id2);
	fx_fini(&f);
}

static void test_add_invalid_args(void **state)
{
	struct fx f;
	struct vr_seg s[3] = { { 0, 8 }, { 0, 0 }, { 0, 8 } };

	(void)state;
	setup_q(&f, 4, 0, 0);
	s[0].addr = s[1].addr = s[2].addr = fx_addr(&f, 0);
	assert_int_equal(vr_packed_drv_add(&f.pdrv, s, 0, 0, NULL), VR_EINVAL);
	assert_int_equal(vr_packed_drv_add(&f.pdrv, NULL, 1, 0, NULL), VR_EINVAL);
	assert_int_equal(vr_packed_drv_add(&f.pdrv, s, 2, 1, NULL), VR_EINVAL);
	assert_int_equal(vr_packed_drv_add(&f.pdrv, s, 3, 2, NULL), VR_EINVAL);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 4);
	assert_int_equal(vr_packed_drv_in_flight(&f.pdrv), 0);
	assert_int_equal(d_flags(&f, 1), 0);
	assert_int_equal(vr_packed_drv_broken(&f.pdrv), 0);
	fx_fini(&f);
}

/* ======================================================================= */
/*                              Batching                                    */
/* ======================================================================= */

static void test_batch_add_publish(void **state)
{
	struct fx f;
	struct vr_iov iov[1];
	struct vr_chain c;
	int id[3];
	unsigned i, lap;

	(void)state;
	memset(&c, 0, sizeof(c));
	setup_q(&f, 5, 0, 0);
	for (lap = 0; lap < 2; lap++) {
		/* Both heads are in wrap 1; the second batch straddles the
		 * end (positions 3, 4, then 0 in wrap 0). */
		bool w = true;
		unsigned base = lap == 0 ? 0 : 3;

		for (i = 0; i < 3; i++) {
			id[i] = add_one(&f, 16 * i, cookie_of(i));
			assert_true(id[i] >= 0);
		}
		/* The first head is held back: the device sees nothing. */
		assert_false((d_flags(&f, base) & WRAP_BITS) == AVAIL_BITS(w));
		assert_int_equal(vr_packed_dev_avail(&f.pdev), 0);
		assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_EAGAIN);
		assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 0);

		vr_packed_drv_publish(&f.pdrv);
		assert_int_equal(d_flags(&f, base) & WRAP_BITS, AVAIL_BITS(w));
		for (i = 0; i < 3; i++) {
			pop_ok(&f, &c, iov, 1);
			assert_int_equal(c.id, id[i]);
			assert_ptr_equal(iov[0].base, fx_ptr(&f, fx_addr(&f, 16 * i)));
		}
		assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_EAGAIN);
		for (i = 0; i < 3; i++)
			assert_int_equal(vr_packed_dev_complete(&f.pdev, (uint16_t)id[i], 0), 0);
		vr_packed_dev_publish(&f.pdev);
		for (i = 0; i < 3; i++) {
			struct vr_used_buf u;

			assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
			assert_ptr_equal(u.cookie, cookie_of(i));
		}
	}
	/* Publish with nothing added changes nothing. */
	vr_packed_drv_publish(&f.pdrv);
	assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_EAGAIN);
	fx_fini(&f);
}

static void test_batch_complete_publish(void **state)
{
	struct fx f;
	struct vr_iov iov[1];
	struct vr_chain c[4];
	struct vr_used_buf u;
	unsigned i;

	(void)state;
	setup_q(&f, 8, 0, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(add_one(&f, 16 * i, cookie_of(i)), (int)i);
	vr_packed_drv_publish(&f.pdrv);
	for (i = 0; i < 4; i++)
		pop_ok(&f, &c[i], iov, 1);
	/* Complete 2, 0, 3 then publish once. */
	assert_int_equal(vr_packed_dev_complete(&f.pdev, 2, 0), 0);
	assert_int_equal(vr_packed_dev_complete(&f.pdev, 0, 0), 0);
	assert_int_equal(vr_packed_dev_complete(&f.pdev, 3, 0), 0);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 1);
	/* The first used descriptor is held: still the driver's avail flags. */
	assert_int_equal(d_flags(&f, 0), VR_DESC_F_AVAIL);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 0);

	vr_packed_dev_publish(&f.pdev);
	assert_int_equal(d_flags(&f, 0), VR_DESC_F_AVAIL | VR_DESC_F_USED);
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(u.id, 2);
	assert_ptr_equal(u.cookie, cookie_of(2));
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(u.id, 0);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(u.id, 3);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 7);
	assert_int_equal(vr_packed_dev_push(&f.pdev, 1, 0), 0);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(u.id, 1);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 8);
	/* Publish with nothing completed changes nothing. */
	vr_packed_dev_publish(&f.pdev);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	fx_fini(&f);
}

static void test_bursts(void **state)
{
	struct fx f;
	struct vr_iov iov[6][2];
	struct vr_chain c[6];
	struct vr_used_buf u[6];
	unsigned i;

	(void)state;
	setup_q(&f, 8, 0, 0);
	for (i = 0; i < 6; i++) {
		c[i].iov = iov[i];
		c[i].iov_cap = 2;
	}
	assert_int_equal(vr_packed_dev_pop_burst(&f.pdev, c, 6), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(add_one(&f, 16 * i, cookie_of(i)), (int)i);
	vr_packed_drv_publish(&f.pdrv);
	assert_int_equal(vr_packed_dev_pop_burst(&f.pdev, c, 3), 3);
	assert_int_equal(vr_packed_dev_pop_burst(&f.pdev, &c[3], 3), 2);
	assert_int_equal(vr_packed_dev_pop_burst(&f.pdev, c, 6), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(c[i].id, i);
		assert_ptr_equal(c[i].iov[0].base, fx_ptr(&f, fx_addr(&f, 16 * i)));
		assert_int_equal(vr_packed_dev_complete(&f.pdev, c[i].id, 0), 0);
	}
	vr_packed_dev_publish(&f.pdev);
	assert_int_equal(vr_packed_drv_get_used_burst(&f.pdrv, u, 2), 2);
	assert_int_equal(vr_packed_drv_get_used_burst(&f.pdrv, &u[2], 6), 3);
	assert_int_equal(vr_packed_drv_get_used_burst(&f.pdrv, u, 6), 0);
	for (i = 0; i < 5; i++)
		assert_ptr_equal(u[i].cookie, cookie_of(i));
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 8);
	fx_fini(&f);
}

/* ======================================================================= */
/*              Laps around rings of odd sizes, completion orders           */
/* ======================================================================= */

#define LAP_MAXSEG 5

enum lap_mode { LAP_FIFO, LAP_SHUFFLE, LAP_IN_ORDER };

struct lap_rec {
	uint64_t addr[LAP_MAXSEG];
	uint32_t len[LAP_MAXSEG];
	unsigned n_out, n_in, ndesc, k;
	uint32_t in_bytes, exp_len;
	bool busy, done;
};

static unsigned char pat(unsigned k, unsigned s, unsigned i)
{
	return (unsigned char)(k * 31u + s * 7u + i);
}

struct lap_ctx {
	struct fx f;
	struct lap_rec *rec;  /* by buffer id */
	uint16_t *pending;    /* ids popped, not completed, oldest first */
	unsigned n_pending;
	unsigned pos;         /* mirror of the driver's next_avail */
	bool wrap;
	unsigned straddles;   /* chains whose wrap toggled mid-chain */
	unsigned completed;   /* chains completed and not yet collected */
};

static void lap_add(struct lap_ctx *x, unsigned k, unsigned L, bool *held)
{
	struct fx *f = &x->f;
	struct vr_seg s[LAP_MAXSEG];
	struct lap_rec *r;
	unsigned n_out = rnd() % (L + 1), j, p;
	bool w;
	int id;

	for (j = 0; j < L; j++) {
		unsigned i;

		s[j].addr = fx_addr(f, (size_t)(k % 2048) * 128 + j * 24);
		s[j].len = 1 + rnd() % 20;
		for (i = 0; i < s[j].len; i++)
			((unsigned char *)fx_ptr(f, s[j].addr))[i] =
				j < n_out ? pat(k, j, i) : 0;
	}
	id = vr_packed_drv_add(&f->pdrv, s, n_out, L - n_out, cookie_of(k));
	assert_true(id >= 0 && id < (int)f->num);
	r = &x->rec[id];
	assert_false(r->busy);
	memset(r, 0, sizeof(*r));
	r->busy = true;
	r->k = k;
	r->n_out = n_out;
	r->n_in = L - n_out;
	r->ndesc = L;
	for (j = 0; j < L; j++) {
		r->addr[j] = s[j].addr;
		r->len[j] = s[j].len;
		if (j >= n_out)
			r->in_bytes += s[j].len;
	}
	/* Check the wire: every descriptor but a held head carries the wrap
	 * bits of its own position; the wrap toggles at the ring end. */
	p = x->pos;
	w = x->wrap;
	for (j = 0; j < L; j++) {
		uint16_t fl = d_flags(f, p);
		uint16_t want = AVAIL_BITS(w);

		if (j >= n_out)
			want |= VR_DESC_F_WRITE;
		if (j + 1 < L)
			want |= VR_DESC_F_NEXT;
		if (j == 0 && !*held) {
			/* First head of the batch: not available yet. */
			assert_false((fl & WRAP_BITS) == AVAIL_BITS(w));
		} else {
			assert_int_equal(fl, want);
		}
		assert_int_equal(d_addr(f, p), s[j].addr);
		assert_int_equal(d_len(f, p), s[j].len);
		if (++p == f->num) {
			p = 0;
			w = !w;
			if (j + 1 < L)
				x->straddles++;
		}
	}
	assert_int_equal(d_id(f, (x->pos + L - 1) % f->num), id);
	x->pos = p;
	x->wrap = w;
	*held = true;
}

static void lap_dev_pop_all(struct lap_ctx *x, unsigned expect)
{
	struct fx *f = &x->f;
	struct vr_iov iov[LAP_MAXSEG];
	struct vr_chain c;
	unsigned got = 0, j, i;

	for (;;) {
		struct lap_rec *r;
		int err;

		memset(&c, 0, sizeof(c));
		c.iov = iov;
		c.iov_cap = LAP_MAXSEG;
		err = vr_packed_dev_pop(&f->pdev, &c);
		if (err == VR_EAGAIN)
			break;
		assert_int_equal(err, 0);
		got++;
		assert_true(c.id < f->num);
		r = &x->rec[c.id];
		assert_true(r->busy);
		assert_int_equal(c.n_out, r->n_out);
		assert_int_equal(c.n_in, r->n_in);
		assert_int_equal(c.ndesc, r->ndesc);
		assert_int_equal(c.in_bytes, r->in_bytes);
		for (j = 0; j < r->ndesc; j++) {
			assert_ptr_equal(iov[j].base, fx_ptr(f, r->addr[j]));
			assert_int_equal(iov[j].len, r->len[j]);
			if (j < r->n_out)
				for (i = 0; i < r->len[j]; i++)
					assert_int_equal(((unsigned char *)iov[j].base)[i],
							 pat(r->k, j, i));
		}
		x->pending[x->n_pending++] = c.id;
	}
	assert_int_equal(got, expect);
}

/* The device writes @p len bytes into the writable segments of @p id. */
static void lap_dev_write(struct lap_ctx *x, uint16_t id, uint32_t len)
{
	struct lap_rec *r = &x->rec[id];
	unsigned j, i;

	for (j = r->n_out; j < r->ndesc && len; j++) {
		unsigned char *p = fx_ptr(&x->f, r->addr[j]);

		for (i = 0; i < r->len[j] && len; i++, len--)
			p[i] = (unsigned char)~pat(r->k, j, i);
	}
}

static void lap_dev_complete(struct lap_ctx *x, enum lap_mode mode)
{
	struct fx *f = &x->f;
	unsigned n, i;

	if (x->n_pending == 0)
		return;
	n = 1 + rnd() % x->n_pending;
	if (mode == LAP_IN_ORDER) {
		uint16_t last = x->pending[n - 1];
		uint32_t last_len = x->rec[last].in_bytes ?
					    rnd() % (x->rec[last].in_bytes + 1) : 0;

		for (i = 0; i + 1 < n; i++) {
			struct lap_rec *r = &x->rec[x->pending[i]];

			/* Skipped buffers count as fully written. */
			lap_dev_write(x, x->pending[i], r->in_bytes);
			r->exp_len = r->in_bytes;
			r->done = true;
		}
		lap_dev_write(x, last, last_len);
		x->rec[last].exp_len = last_len;
		x->rec[last].done = true;
		assert_int_equal(vr_packed_dev_complete_in_order(&f->pdev, n, last_len), 0);
		memmove(x->pending, x->pending + n,
			(x->n_pending - n) * sizeof(*x->pending));
		x->n_pending -= n;
		x->completed += n;
	} else {
		for (i = 0; i < n; i++) {
			unsigned pick = mode == LAP_SHUFFLE ? rnd() % x->n_pending : 0;
			uint16_t id = x->pending[pick];
			struct lap_rec *r = &x->rec[id];
			uint32_t len = r->in_bytes ? rnd() % (r->in_bytes + 1) : 0;

			lap_dev_write(x, id, len);
			r->exp_len = len;
			r->done = true;
			assert_int_equal(vr_packed_dev_complete(&f->pdev, id, len), 0);
			memmove(x->pending + pick, x->pending + pick + 1,
				(x->n_pending - pick - 1) * sizeof(*x->pending));
			x->n_pending--;
			x->completed++;
		}
	}
	vr_packed_dev_publish(&f->pdev);
}

static void lap_drv_collect(struct lap_ctx *x)
{
	struct fx *f = &x->f;
	struct vr_used_buf u;
	unsigned free_before = vr_packed_drv_free(&f->pdrv);
	int err;

	while ((err = vr_packed_drv_get_used(&f->pdrv, &u)) == 0) {
		struct lap_rec *r;
		unsigned j, i;
		uint32_t left;

		assert_true(u.id < f->num);
		r = &x->rec[u.id];
		assert_true(r->busy && r->done);
		assert_ptr_equal(u.cookie, cookie_of(r->k));
		assert_int_equal(u.len, r->exp_len);
		left = u.len;
		for (j = r->n_out; j < r->ndesc && left; j++)
			for (i = 0; i < r->len[j] && left; i++, left--)
				assert_int_equal(((unsigned char *)fx_ptr(f, r->addr[j]))[i],
						 (unsigned char)~pat(r->k, j, i));
		/* Exactly this chain's descriptors came back. */
		assert_int_equal(vr_packed_drv_free(&f->pdrv), free_before + r->ndesc);
		free_before += r->ndesc;
		r->busy = false;
		assert_true(x->completed > 0);
		x->completed--;
	}
	assert_int_equal(err, VR_EAGAIN);
	assert_int_equal(x->completed, 0);
}

static unsigned lap_inflight_desc(struct lap_ctx *x)
{
	unsigned i, n = 0;

	for (i = 0; i < x->f.num; i++)
		if (x->rec[i].busy)
			n += x->rec[i].ndesc;
	return n;
}

static void run_laps(uint32_t num, uint64_t feat, enum lap_mode mode,
		     unsigned laps, uint32_t seed)
{
	struct lap_ctx x;
	unsigned maxseg = num < LAP_MAXSEG ? num : LAP_MAXSEG;
	unsigned long target = (unsigned long)laps * num, added = 0;
	unsigned k = 0;

	memset(&x, 0, sizeof(x));
	rng_state = seed;
	setup_q(&x.f, num, feat, 0);
	x.rec = calloc(num, sizeof(*x.rec));
	x.pending = calloc(num, sizeof(*x.pending));
	assert_non_null(x.rec);
	assert_non_null(x.pending);
	x.wrap = true;
	while (added < target) {
		bool held = false;
		unsigned batch = 0;

		for (;;) {
			unsigned L = 1 + rnd() % maxseg;
			unsigned to_end = num - x.pos;

			/* Half the time near the end, pick a length that
			 * straddles it, so the wrap toggles mid-chain. */
			if (to_end < maxseg && rnd() % 2)
				L = to_end + 1 + rnd() % (maxseg - to_end);

			if (L > vr_packed_drv_free(&x.f.pdrv)) {
				/* Full (or nearly): a bigger chain is refused
				 * with nothing changed. */
				struct vr_seg s[LAP_MAXSEG];
				unsigned j;

				for (j = 0; j < L; j++) {
					s[j].addr = fx_addr(&x.f, 0);
					s[j].len = 4;
				}
				assert_int_equal(vr_packed_drv_add(&x.f.pdrv, s, L, 0, NULL),
						 VR_ENOSPC);
				break;
			}
			lap_add(&x, k++, L, &held);
			added += L;
			batch++;
			if (rnd() % 4 == 0)
				break;
		}
		assert_int_equal(vr_packed_drv_free(&x.f.pdrv),
				 num - lap_inflight_desc(&x));
		vr_packed_drv_publish(&x.f.pdrv);
		lap_dev_pop_all(&x, batch);
		lap_dev_complete(&x, mode);
		lap_drv_collect(&x);
		assert_int_equal(vr_packed_drv_free(&x.f.pdrv),
				 num - lap_inflight_desc(&x));
	}
	/* Drain. */
	while (x.n_pending) {
		lap_dev_complete(&x, mode);
		lap_drv_collect(&x);
	}
	assert_int_equal(vr_packed_drv_free(&x.f.pdrv), num);
	assert_int_equal(vr_packed_drv_in_flight(&x.f.pdrv), 0);
	assert_int_equal(vr_packed_dev_in_flight(&x.f.pdev), 0);
	assert_int_equal(vr_packed_drv_broken(&x.f.pdrv), 0);
	assert_int_equal(vr_packed_dev_broken(&x.f.pdev), 0);
	if (num > 1)
		assert_true(x.straddles > 0);
	free(x.rec);
	free(x.pending);
	fx_fini(&x.f);
}

static const uint32_t lap_sizes[] = { 1, 2, 3, 7, 100, 257 };

static void test_laps_fifo(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(lap_sizes) / sizeof(lap_sizes[0]); i++)
		run_laps(lap_sizes[i], 0, LAP_FIFO, 12, 0x1234u + i);
}

static void test_laps_out_of_order(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(lap_sizes) / sizeof(lap_sizes[0]); i++)
		run_laps(lap_sizes[i], 0, LAP_SHUFFLE, 12, 0x9876u + i);
}

static void test_laps_in_order(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(lap_sizes) / sizeof(lap_sizes[0]); i++)
		run_laps(lap_sizes[i], F_ORD, LAP_IN_ORDER, 12, 0x5555u + i);
}

/* A chain straddling the ring end, checked descriptor by descriptor. */
static void test_chain_straddles_end(void **state)
{
	struct fx f;
	struct vr_seg s[4];
	struct vr_iov iov[4];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;
	int id;

	(void)state;
	setup_q(&f, 7, 0, 0);
	advance(&f, 5);
	for (i = 0; i < 4; i++) {
		s[i].addr = fx_addr(&f, 64 * i);
		s[i].len = 10 + i;
	}
	id = vr_packed_drv_add(&f.pdrv, s, 1, 3, cookie_of(42));
	assert_true(id >= 0);
	vr_packed_drv_publish(&f.pdrv);
	/* Positions 5, 6 in wrap 1; 0, 1 in wrap 0. */
	assert_int_equal(d_flags(&f, 5), VR_DESC_F_AVAIL | VR_DESC_F_NEXT);
	assert_int_equal(d_flags(&f, 6),
			 VR_DESC_F_AVAIL | VR_DESC_F_NEXT | VR_DESC_F_WRITE);
	assert_int_equal(d_flags(&f, 0),
			 VR_DESC_F_USED | VR_DESC_F_NEXT | VR_DESC_F_WRITE);
	assert_int_equal(d_flags(&f, 1), VR_DESC_F_USED | VR_DESC_F_WRITE);
	assert_int_equal(d_id(&f, 1), id);
	pop_ok(&f, &c, iov, 4);
	assert_int_equal(c.id, id);
	assert_int_equal(c.ndesc, 4);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 3);
	for (i = 0; i < 4; i++)
		assert_ptr_equal(iov[i].base, fx_ptr(&f, s[i].addr));
	assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 12), 0);
	/* The used descriptor goes at the device's next_used: position 5. */
	assert_int_equal(d_flags(&f, 5),
			 VR_DESC_F_AVAIL | VR_DESC_F_USED | VR_DESC_F_WRITE);
	assert_int_equal(d_id(&f, 5), id);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(u.len, 12);
	assert_ptr_equal(u.cookie, cookie_of(42));
	/* Both sides are now at position 2 in wrap 0. */
	assert_int_equal(add_one(&f, 0, cookie_of(43)) >= 0, 1);
	vr_packed_drv_publish(&f.pdrv);
	assert_int_equal(d_flags(&f, 2), VR_DESC_F_USED);
	pop_ok(&f, &c, iov, 4);
	assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 0), 0);
	assert_int_equal(d_flags(&f, 2), 0); /* used in wrap 0: both bits 0 */
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(43));
	fx_fini(&f);
}

/* Out-of-order completion: the driver gets the right cookies and frees the
 * number of descriptors each chain had, whatever the device's order. */
static void test_out_of_order(void **state)
{
	static const unsigned lens[4] = { 2, 1, 3, 2 };
	struct fx f;
	struct vr_seg s[3];
	struct vr_iov iov[3];
	struct vr_chain c;
	struct vr_used_buf u;
	int id[4];
	unsigned i;

	(void)state;
	setup_q(&f, 8, 0, 0);
	for (i = 0; i < 3; i++) {
		s[i].addr = fx_addr(&f, 32 * i);
		s[i].len = 8;
	}
	for (i = 0; i < 4; i++) {
		id[i] = vr_packed_drv_add(&f.pdrv, s, 0, lens[i], cookie_of(i));
		assert_true(id[i] >= 0);
	}
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 0);
	vr_packed_drv_publish(&f.pdrv);
	for (i = 0; i < 4; i++) {
		pop_ok(&f, &c, iov, 3);
		assert_int_equal(c.id, id[i]);
		assert_int_equal(c.ndesc, lens[i]);
	}
	/* Complete 2 (3 descs), 0 (2 descs), 3 (2 descs), 1 (1 desc): used
	 * descriptors at positions 0, 3, 5, 7. */
	assert_int_equal(vr_packed_dev_push(&f.pdev, (uint16_t)id[2], 5), 0);
	assert_int_equal(vr_packed_dev_push(&f.pdev, (uint16_t)id[0], 6), 0);
	assert_int_equal(vr_packed_dev_push(&f.pdev, (uint16_t)id[3], 7), 0);
	assert_int_equal(vr_packed_dev_push(&f.pdev, (uint16_t)id[1], 8), 0);
	assert_int_equal(d_id(&f, 0), id[2]);
	assert_int_equal(d_id(&f, 3), id[0]);
	assert_int_equal(d_id(&f, 5), id[3]);
	assert_int_equal(d_id(&f, 7), id[1]);

	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(2));
	assert_int_equal(u.len, 5);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 3);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(0));
	assert_int_equal(u.len, 6);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 5);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(3));
	assert_int_equal(u.len, 7);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 7);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(1));
	assert_int_equal(u.len, 8);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 8);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	fx_fini(&f);
}

static void test_enospc_and_recovery(void **state)
{
	struct fx f;
	struct vr_seg s[3];
	struct vr_iov iov[3];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;

	(void)state;
	setup_q(&f, 5, 0, 0);
	for (i = 0; i < 3; i++) {
		s[i].addr = fx_addr(&f, 32 * i);
		s[i].len = 8;
	}
	assert_true(vr_packed_drv_add(&f.pdrv, s, 3, 0, cookie_of(0)) >= 0);
	assert_int_equal(vr_packed_drv_add(&f.pdrv, s, 3, 0, cookie_of(1)), VR_ENOSPC);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 2);
	assert_true(vr_packed_drv_add(&f.pdrv, s, 2, 0, cookie_of(1)) >= 0);
	assert_int_equal(vr_packed_drv_add(&f.pdrv, s, 1, 0, cookie_of(2)), VR_ENOSPC);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 0);
	assert_int_equal(vr_packed_drv_in_flight(&f.pdrv), 2);
	assert_int_equal(vr_packed_drv_broken(&f.pdrv), 0);
	vr_packed_drv_publish(&f.pdrv);
	pop_ok(&f, &c, iov, 3);
	assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 0), 0);
	/* Still full until the driver collects. */
	assert_int_equal(vr_packed_drv_add(&f.pdrv, s, 1, 0, cookie_of(2)), VR_ENOSPC);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 3);
	assert_true(vr_packed_drv_add(&f.pdrv, s, 3, 0, cookie_of(2)) >= 0);
	vr_packed_drv_publish(&f.pdrv);
	pop_ok(&f, &c, iov, 3);
	assert_int_equal(c.ndesc, 2);
	pop_ok(&f, &c, iov, 3);
	assert_int_equal(c.ndesc, 3);
	assert_int_equal(c.n_out, 3);
	assert_ptr_equal(iov[2].base, fx_ptr(&f, s[2].addr));
	fx_fini(&f);
}

/* A chain of exactly queue-size descriptors is legal (hostile-inputs 6). */
static void test_chain_of_queue_size(void **state)
{
	struct fx f;
	struct vr_seg s[8];
	struct vr_iov iov[8];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i, round;

	(void)state;
	for (round = 0; round < 2; round++) {
		uint32_t num = round == 0 ? 8 : 7;

		setup_q(&f, num, 0, 0);
		if (round == 1)
			advance(&f, 3); /* starts at 3: straddles the end */
		for (i = 0; i < num; i++) {
			s[i].addr = fx_addr(&f, 16 * i);
			s[i].len = 16;
		}
		assert_int_equal(vr_packed_drv_add(&f.pdrv, s, 3, num + 1 - 3, NULL),
				 VR_EINVAL);
		assert_true(vr_packed_drv_add(&f.pdrv, s, 3, num - 3, cookie_of(9)) >= 0);
		assert_int_equal(vr_packed_drv_free(&f.pdrv), 0);
		assert_int_equal(vr_packed_drv_add(&f.pdrv, s, 1, 0, NULL), VR_ENOSPC);
		vr_packed_drv_publish(&f.pdrv);
		pop_ok(&f, &c, iov, 8);
		assert_int_equal(c.ndesc, num);
		assert_int_equal(c.n_out, 3);
		assert_int_equal(c.n_in, num - 3);
		assert_int_equal(c.in_bytes, 16 * (num - 3));
		for (i = 0; i < num; i++)
			assert_ptr_equal(iov[i].base, fx_ptr(&f, s[i].addr));
		assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_EAGAIN);
		assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 16), 0);
		assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
		assert_int_equal(u.len, 16);
		assert_ptr_equal(u.cookie, cookie_of(9));
		assert_int_equal(vr_packed_drv_free(&f.pdrv), num);
		/* Both sides went exactly one lap: the ring goes on. */
		advance(&f, 2 * num + 1);
		fx_fini(&f);
	}
}

/* ======================================================================= */
/*                                Indirect                                  */
/* ======================================================================= */

static void test_indirect(void **state)
{
	struct fx f;
	struct vr_seg s[4];
	struct vr_iov iov[4];
	struct vr_chain c;
	struct vr_used_buf u;
	struct vr_packed_desc *table;
	uint64_t taddr;
	unsigned i;
	int id;

	(void)state;
	setup_q(&f, 4, F_IND, 0);
	taddr = fx_addr(&f, 0x10000);
	table = fx_ptr(&f, taddr);
	for (i = 0; i < 4; i++) {
		s[i].addr = fx_addr(&f, 0x100 * i);
		s[i].len = 10 * (i + 1);
	}
	memcpy(fx_ptr(&f, s[0].addr), "0123456789", 10);
	assert_int_equal(vr_packed_drv_add_indirect(&f.pdrv, s, 2, 2,
						    (struct vr_packed_desc *)(void *)((char *)table + 8),
						    taddr + 8, NULL), VR_EINVAL);
	id = vr_packed_drv_add_indirect(&f.pdrv, s, 2, 2, table, taddr, cookie_of(5));
	assert_int_equal(id, 0);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 3);
	assert_int_equal(vr_packed_drv_in_flight(&f.pdrv), 1);
	/* Held until publish. */
	assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_EAGAIN);
	vr_packed_drv_publish(&f.pdrv);
	assert_int_equal(d_flags(&f, 0), VR_DESC_F_AVAIL | VR_DESC_F_INDIRECT);
	assert_int_equal(d_addr(&f, 0), taddr);
	assert_int_equal(d_len(&f, 0), 4 * 16);
	assert_int_equal(d_id(&f, 0), id);
	for (i = 0; i < 4; i++) {
		assert_int_equal(get64(&table[i].addr), s[i].addr);
		assert_int_equal(get32(&table[i].len), s[i].len);
		assert_int_equal(get16(&table[i].flags), i >= 2 ? VR_DESC_F_WRITE : 0);
	}
	pop_ok(&f, &c, iov, 4);
	assert_int_equal(c.id, id);
	assert_int_equal(c.ndesc, 1);
	assert_int_equal(c.n_out, 2);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(c.out_bytes, 30);
	assert_int_equal(c.in_bytes, 70);
	for (i = 0; i < 4; i++) {
		assert_ptr_equal(iov[i].base, fx_ptr(&f, s[i].addr));
		assert_int_equal(iov[i].len, s[i].len);
	}
	assert_memory_equal(iov[0].base, "0123456789", 10);
	assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 55), 0);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(5));
	assert_int_equal(u.len, 55);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 4);

	/* Mixed with direct chains over several laps of a size-4 ring. */
	for (i = 0; i < 20; i++) {
		struct vr_packed_desc *t = (struct vr_packed_desc *)
			fx_ptr(&f, taddr + 0x100 * (i % 2));

		assert_true(vr_packed_drv_add_indirect(&f.pdrv, s, 1, 3, t,
						       taddr + 0x100 * (i % 2),
						       cookie_of(100 + i)) >= 0);
		assert_true(vr_packed_drv_add(&f.pdrv, s, 2, 1, cookie_of(200 + i)) >= 0);
		vr_packed_drv_publish(&f.pdrv);
		pop_ok(&f, &c, iov, 4);
		assert_int_equal(c.ndesc, 1);
		assert_int_equal(c.n_out, 1);
		assert_int_equal(c.n_in, 3);
		assert_int_equal(vr_packed_dev_complete(&f.pdev, c.id, 1), 0);
		pop_ok(&f, &c, iov, 4);
		assert_int_equal(c.ndesc, 3);
		assert_int_equal(c.n_in, 1);
		assert_int_equal(vr_packed_dev_complete(&f.pdev, c.id, 2), 0);
		vr_packed_dev_publish(&f.pdev);
		assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
		assert_ptr_equal(u.cookie, cookie_of(100 + i));
		assert_int_equal(u.len, 1);
		assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
		assert_ptr_equal(u.cookie, cookie_of(200 + i));
		assert_int_equal(u.len, 2);
		assert_int_equal(vr_packed_drv_free(&f.pdrv), 4);
	}
	fx_fini(&f);
}

static void test_indirect_not_negotiated(void **state)
{
	struct fx f;
	struct vr_seg s = { 0, 8 };
	struct vr_packed_desc *table;

	(void)state;
	setup_q(&f, 4, 0, 0);
	s.addr = fx_addr(&f, 0);
	table = fx_ptr(&f, fx_addr(&f, 0x10000));
	assert_int_equal(vr_packed_drv_add_indirect(&f.pdrv, &s, 1, 0, table,
						    fx_addr(&f, 0x10000), NULL),
			 VR_ENOTSUP);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 4);
	assert_int_equal(vr_packed_drv_in_flight(&f.pdrv), 0);
	assert_int_equal(vr_packed_drv_broken(&f.pdrv), 0);
	fx_fini(&f);
}

/* The device reads table entries one after another: only WRITE counts,
 * NEXT (and any other bit) in an entry is ignored, and the WRITE flag of
 * the ring descriptor carrying INDIRECT is ignored (section 2.8.7). */
static void test_indirect_device_reads_sequentially(void **state)
{
	struct fx f;
	struct vr_iov iov[4];
	struct vr_chain c;
	struct vr_packed_desc *t;
	uint64_t taddr;

	(void)state;
	setup_q(&f, 4, F_IND, 0);
	taddr = fx_addr(&f, 0x20000);
	t = fx_ptr(&f, taddr);
	put_desc(&t[0], fx_addr(&f, 0x000), 5, 77, VR_DESC_F_NEXT);
	put_desc(&t[1], fx_addr(&f, 0x100), 6, 0xffff,
		 VR_DESC_F_NEXT | VR_DESC_F_AVAIL);
	put_desc(&t[2], fx_addr(&f, 0x200), 7, 3,
		 VR_DESC_F_WRITE | VR_DESC_F_NEXT | VR_DESC_F_USED);
	put_desc(&ring(&f)[0], taddr, 3 * 16, 2,
		 VR_DESC_F_AVAIL | VR_DESC_F_INDIRECT | VR_DESC_F_WRITE);
	pop_ok(&f, &c, iov, 4);
	assert_int_equal(c.id, 2);
	assert_int_equal(c.ndesc, 1);
	assert_int_equal(c.n_out, 2);
	assert_int_equal(c.n_in, 1);
	assert_int_equal(c.out_bytes, 11);
	assert_int_equal(c.in_bytes, 7);
	assert_ptr_equal(iov[0].base, fx_ptr(&f, fx_addr(&f, 0x000)));
	assert_ptr_equal(iov[1].base, fx_ptr(&f, fx_addr(&f, 0x100)));
	assert_ptr_equal(iov[2].base, fx_ptr(&f, fx_addr(&f, 0x200)));
	assert_int_equal(iov[2].len, 7);
	/* The next ring position is not available: the table did not make the
	 * device walk on in the ring. */
	assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_EAGAIN);
	assert_int_equal(vr_packed_dev_push(&f.pdev, 2, 7), 0);
	assert_int_equal(d_id(&f, 0), 2);
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	fx_fini(&f);
}

/* ======================================================================= */
/*                              Notifications                               */
/* ======================================================================= */

static void test_notify_enable_disable(void **state)
{
	struct fx f;
	struct vr_iov iov[1];
	struct vr_chain c;
	struct vr_used_buf u;

	(void)state;
	setup_q(&f, 8, 0, 0);
	/* Nothing published yet: nothing to notify. */
	assert_int_equal(vr_packed_drv_need_notify(&f.pdrv), 0);
	/* The device event area starts as ENABLE (zero). */
	assert_int_equal(ev_flags(f.pa.device_event), VR_EVENT_F_ENABLE);
	assert_true(add_one(&f, 0, cookie_of(0)) >= 0);
	assert_int_equal(vr_packed_drv_kick_prepare(&f.pdrv), 1);
	/* Nothing new since: no second kick. */
	assert_int_equal(vr_packed_drv_kick_prepare(&f.pdrv), 0);
	assert_int_equal(f.pdrv.stats.notify_needed, 1);

	vr_packed_dev_suppress_avail_notify(&f.pdev);
	assert_int_equal(ev_flags(f.pa.device_event), VR_EVENT_F_DISABLE);
	assert_true(add_one(&f, 0, cookie_of(1)) >= 0);
	assert_int_equal(vr_packed_drv_kick_prepare(&f.pdrv), 0);
	assert_int_equal(f.pdrv.stats.notify_suppressed, 1);

	/* Work is pending: arm says so. */
	assert_int_equal(vr_packed_dev_arm_avail_notify(&f.pdev), 1);
	assert_int_equal(ev_flags(f.pa.device_event), VR_EVENT_F_ENABLE);
	pop_ok(&f, &c, iov, 1);
	assert_int_equal(vr_packed_dev_arm_avail_notify(&f.pdev), 1);
	pop_ok(&f, &c, iov, 1);
	assert_int_equal(vr_packed_dev_arm_avail_notify(&f.pdev), 0);
	assert_true(add_one(&f, 0, cookie_of(2)) >= 0);
	assert_int_equal(vr_packed_drv_kick_prepare(&f.pdrv), 1);
	assert_int_equal(vr_packed_dev_arm_avail_notify(&f.pdev), 1);
	pop_ok(&f, &c, iov, 1);

	/* Used side, the mirror image. */
	assert_int_equal(ev_flags(f.pa.driver_event), VR_EVENT_F_ENABLE);
	assert_int_equal(vr_packed_dev_need_notify(&f.pdev), 0);
	assert_int_equal(vr_packed_dev_complete(&f.pdev, 0, 0), 0);
	assert_int_equal(vr_packed_dev_notify_prepare(&f.pdev), 1);
	assert_int_equal(vr_packed_dev_notify_prepare(&f.pdev), 0);
	vr_packed_drv_suppress_used_notify(&f.pdrv);
	assert_int_equal(ev_flags(f.pa.driver_event), VR_EVENT_F_DISABLE);
	assert_int_equal(vr_packed_dev_complete(&f.pdev, 1, 0), 0);
	assert_int_equal(vr_packed_dev_notify_prepare(&f.pdev), 0);
	assert_int_equal(f.pdev.stats.notify_needed, 1);
	assert_int_equal(f.pdev.stats.notify_suppressed, 1);
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 1);
	assert_int_equal(ev_flags(f.pa.driver_event), VR_EVENT_F_ENABLE);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 0);
	assert_int_equal(vr_packed_dev_push(&f.pdev, 2, 0), 0);
	assert_int_equal(vr_packed_dev_need_notify(&f.pdev), 1);
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 1);
	/* Without EVENT_IDX a DESC request counts as ENABLE. */
	put_event(f.pa.device_event, 5 | 0x8000, VR_EVENT_F_DESC);
	assert_true(add_one(&f, 0, cookie_of(3)) >= 0);
	assert_int_equal(vr_packed_drv_kick_prepare(&f.pdrv), 1);
	fx_fini(&f);
}

/* Publish @p count single chains after @p pre round trips, with the device
 * event area set to DESC at @p off_wrap; return need_notify. */
static int drv_notify_case(uint32_t num, unsigned pre, unsigned count,
			   uint16_t off_wrap)
{
	struct fx f;
	unsigned i;
	int r;

	setup_q(&f, num, F_EVT, 0);
	advance(&f, pre);
	put_event(f.pa.device_event, off_wrap, VR_EVENT_F_DESC);
	for (i = 0; i < count; i++)
		assert_true(add_one(&f, 0, NULL) >= 0);
	vr_packed_drv_publish(&f.pdrv);
	r = vr_packed_drv_need_notify(&f.pdrv);
	/* Asked again with nothing new: no. */
	assert_int_equal(vr_packed_drv_need_notify(&f.pdrv), 0);
	fx_fini(&f);
	return r;
}

/* The device completes @p count chains after @p pre round trips, with the
 * driver event area set to DESC at @p off_wrap; return need_notify. */
static int dev_notify_case(uint32_t num, unsigned pre, unsigned count,
			   uint16_t off_wrap)
{
	struct fx f;
	struct vr_iov iov[1];
	struct vr_chain c;
	unsigned i;
	int r;

	setup_q(&f, num, F_EVT, 0);
	advance(&f, pre);
	for (i = 0; i < count; i++)
		assert_true(add_one(&f, 0, NULL) >= 0);
	vr_packed_drv_publish(&f.pdrv);
	put_event(f.pa.driver_event, off_wrap, VR_EVENT_F_DESC);
	for (i = 0; i < count; i++) {
		pop_ok(&f, &c, iov, 1);
		assert_int_equal(vr_packed_dev_complete(&f.pdev, c.id, 0), 0);
	}
	vr_packed_dev_publish(&f.pdev);
	r = vr_packed_dev_need_notify(&f.pdev);
	assert_int_equal(vr_packed_dev_need_notify(&f.pdev), 0);
	fx_fini(&f);
	return r;
}

#define W1 0x8000u

static void test_event_idx_desc(void **state)
{
	int side;

	(void)state;
	for (side = 0; side < 2; side++) {
		int (*fn)(uint32_t, unsigned, unsigned, uint16_t) =
			side == 0 ? drv_notify_case : dev_notify_case;

		/* Positions 0, 1 published in wrap 1. */
		assert_int_equal(fn(8, 0, 2, 0 | W1), 1);
		assert_int_equal(fn(8, 0, 2, 1 | W1), 1);
		assert_int_equal(fn(8, 0, 2, 2 | W1), 0);
		assert_int_equal(fn(8, 0, 2, 7 | W1), 0);
		assert_int_equal(fn(8, 0, 2, 0), 0); /* wrong wrap */
		assert_int_equal(fn(8, 0, 2, 1), 0);
		/* Positions 3..5 in wrap 1. */
		assert_int_equal(fn(8, 3, 3, 2 | W1), 0);
		assert_int_equal(fn(8, 3, 3, 3 | W1), 1);
		assert_int_equal(fn(8, 3, 3, 5 | W1), 1);
		assert_int_equal(fn(8, 3, 3, 6 | W1), 0);
		/* Across the wrap: 6, 7 in wrap 1 then 0, 1 in wrap 0. */
		assert_int_equal(fn(8, 6, 4, 5 | W1), 0);
		assert_int_equal(fn(8, 6, 4, 6 | W1), 1);
		assert_int_equal(fn(8, 6, 4, 7 | W1), 1);
		assert_int_equal(fn(8, 6, 4, 0), 1);
		assert_int_equal(fn(8, 6, 4, 1), 1);
		assert_int_equal(fn(8, 6, 4, 2), 0);
		assert_int_equal(fn(8, 6, 4, 0 | W1), 0); /* a lap ago */
		assert_int_equal(fn(8, 6, 4, 7), 0);       /* a lap ahead */
		/* Second lap to third: wrap 0 back to wrap 1. */
		assert_int_equal(fn(8, 14, 3, 6), 1);
		assert_int_equal(fn(8, 14, 3, 7), 1);
		assert_int_equal(fn(8, 14, 3, 0 | W1), 1);
		assert_int_equal(fn(8, 14, 3, 1 | W1), 0);
		assert_int_equal(fn(8, 14, 3, 0), 0);
		/* Odd size, whole ring published in one go. */
		assert_int_equal(fn(7, 4, 7, 3 | W1), 0);
		assert_int_equal(fn(7, 4, 7, 4 | W1), 1);
		assert_int_equal(fn(7, 4, 7, 3), 1);
		assert_int_equal(fn(7, 4, 7, 4), 0);
		/* Size 1: every publish toggles the wrap. */
		assert_int_equal(fn(1, 0, 1, 0 | W1), 1);
		assert_int_equal(fn(1, 0, 1, 0), 0);
		assert_int_equal(fn(1, 1, 1, 0), 1);
		assert_int_equal(fn(1, 1, 1, 0 | W1), 0);
	}
}

/* The arm calls publish the exact (position, wrap) of the next descriptor
 * and the DESC mode with EVENT_IDX; then need_notify on the other side
 * honours it. */
static void test_event_idx_arm(void **state)
{
	struct fx f;
	struct vr_iov iov[1];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;

	(void)state;
	setup_q(&f, 8, F_EVT, 0);
	advance(&f, 6);
	assert_int_equal(vr_packed_dev_arm_avail_notify(&f.pdev), 0);
	assert_int_equal(ev_flags(f.pa.device_event), VR_EVENT_F_DESC);
	assert_int_equal(ev_off_wrap(f.pa.device_event), 6 | W1);
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 0);
	assert_int_equal(ev_flags(f.pa.driver_event), VR_EVENT_F_DESC);
	assert_int_equal(ev_off_wrap(f.pa.driver_event), 6 | W1);

	/* 6, 7 published: the device asked for 6. */
	for (i = 0; i < 2; i++)
		assert_true(add_one(&f, 0, NULL) >= 0);
	assert_int_equal(vr_packed_drv_kick_prepare(&f.pdrv), 1);
	assert_int_equal(vr_packed_dev_arm_avail_notify(&f.pdev), 1);
	/* 0, 1 in wrap 0: the device did not re-arm, 6w1 is behind. */
	for (i = 0; i < 2; i++)
		assert_true(add_one(&f, 0, NULL) >= 0);
	assert_int_equal(vr_packed_drv_kick_prepare(&f.pdrv), 0);
	for (i = 0; i < 4; i++)
		pop_ok(&f, &c, iov, 1);
	assert_int_equal(vr_packed_dev_arm_avail_notify(&f.pdev), 0);
	assert_int_equal(ev_off_wrap(f.pa.device_event), 2);
	assert_true(add_one(&f, 0, NULL) >= 0);
	assert_int_equal(vr_packed_drv_kick_prepare(&f.pdrv), 1);

	/* Used side: the driver asked for 6w1. */
	assert_int_equal(vr_packed_dev_complete(&f.pdev, c.id, 0), 0);
	assert_int_equal(vr_packed_dev_notify_prepare(&f.pdev), 1);
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 0);
	assert_int_equal(ev_off_wrap(f.pa.driver_event), 7 | W1);
	fx_fini(&f);
}

/*
 * publish (and vr_packed_dev_push) make work visible without asking
 * need_notify; a caller may ask only now and then. After exactly 2 * num
 * descriptors published since the last need_notify, the (position, wrap)
 * pair is back where it was, yet the peer, which went to sleep asking for
 * a notification, has work waiting: need_notify must say 1.
 */
static void full_cycle_setup(struct fx *f, uint64_t feat)
{
	struct vr_iov iov[1];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;

	setup_q(f, 2, feat, 0);
	/* Three round trips, publishing without ever asking. */
	for (i = 0; i < 3; i++) {
		assert_true(add_one(f, 0, cookie_of(i)) >= 0);
		vr_packed_drv_publish(&f->pdrv);
		pop_ok(f, &c, iov, 1);
		assert_int_equal(vr_packed_dev_push(&f->pdev, c.id, 0), 0);
		assert_int_equal(vr_packed_drv_get_used(&f->pdrv, &u), 0);
	}
	/* Both sides go to sleep, asking to be woken. */
	assert_int_equal(vr_packed_dev_arm_avail_notify(&f->pdev), 0);
	assert_int_equal(vr_packed_drv_arm_used_notify(&f->pdrv), 0);
}

static void test_drv_need_notify_full_cycle(void **state)
{
	struct fx f;
	unsigned mode;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		full_cycle_setup(&f, mode ? F_EVT : 0);
		/* The fourth descriptor: the one the device asked for. */
		assert_true(add_one(&f, 0, cookie_of(3)) >= 0);
		vr_packed_drv_publish(&f.pdrv);
		assert_int_equal(vr_packed_dev_avail(&f.pdev), 1);
		assert_int_equal(vr_packed_drv_need_notify(&f.pdrv), 1);
		fx_fini(&f);
	}
}

static void test_dev_need_notify_full_cycle(void **state)
{
	struct fx f;
	struct vr_iov iov[1];
	struct vr_chain c;
	unsigned mode;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		full_cycle_setup(&f, mode ? F_EVT : 0);
		assert_true(add_one(&f, 0, cookie_of(3)) >= 0);
		vr_packed_drv_publish(&f.pdrv);
		pop_ok(&f, &c, iov, 1);
		/* The fourth used descriptor: the one the driver asked for. */
		assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 0), 0);
		assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 1);
		assert_int_equal(vr_packed_dev_need_notify(&f.pdev), 1);
		fx_fini(&f);
	}
}

static void test_need_event_unit(void **state)
{
	(void)state;
	/* Within one wrap: the arc [old, new). */
	assert_int_equal(vr_packed_need_event(3 | W1, 8, 5, 1, 2, 1), 1);
	assert_int_equal(vr_packed_need_event(2 | W1, 8, 5, 1, 2, 1), 1);
	assert_int_equal(vr_packed_need_event(4 | W1, 8, 5, 1, 2, 1), 1);
	assert_int_equal(vr_packed_need_event(5 | W1, 8, 5, 1, 2, 1), 0);
	assert_int_equal(vr_packed_need_event(1 | W1, 8, 5, 1, 2, 1), 0);
	assert_int_equal(vr_packed_need_event(3, 8, 5, 1, 2, 1), 0);
	/* Same in wrap 0. */
	assert_int_equal(vr_packed_need_event(2, 8, 4, 0, 1, 0), 1);
	assert_int_equal(vr_packed_need_event(2 | W1, 8, 4, 0, 1, 0), 0);
	/* Across the wrap, 1 -> 0. */
	assert_int_equal(vr_packed_need_event(5 | W1, 8, 2, 0, 6, 1), 0);
	assert_int_equal(vr_packed_need_event(6 | W1, 8, 2, 0, 6, 1), 1);
	assert_int_equal(vr_packed_need_event(7 | W1, 8, 2, 0, 6, 1), 1);
	assert_int_equal(vr_packed_need_event(0, 8, 2, 0, 6, 1), 1);
	assert_int_equal(vr_packed_need_event(1, 8, 2, 0, 6, 1), 1);
	assert_int_equal(vr_packed_need_event(2, 8, 2, 0, 6, 1), 0);
	assert_int_equal(vr_packed_need_event(0 | W1, 8, 2, 0, 6, 1), 0);
	assert_int_equal(vr_packed_need_event(7, 8, 2, 0, 6, 1), 0);
	/* Across the wrap, 0 -> 1. */
	assert_int_equal(vr_packed_need_event(7, 8, 2, 1, 6, 0), 1);
	assert_int_equal(vr_packed_need_event(0 | W1, 8, 2, 1, 6, 0), 1);
	assert_int_equal(vr_packed_need_event(1 | W1, 8, 2, 1, 6, 0), 1);
	assert_int_equal(vr_packed_need_event(2 | W1, 8, 2, 1, 6, 0), 0);
	assert_int_equal(vr_packed_need_event(0, 8, 2, 1, 6, 0), 0);
	/* Empty arc: never. */
	assert_int_equal(vr_packed_need_event(3 | W1, 8, 3, 1, 3, 1), 0);
	assert_int_equal(vr_packed_need_event(3, 8, 3, 0, 3, 0), 0);
	/* Offsets outside the ring: always notify. */
	assert_int_equal(vr_packed_need_event(8 | W1, 8, 3, 1, 3, 1), 1);
	assert_int_equal(vr_packed_need_event(8, 8, 3, 1, 2, 1), 1);
	assert_int_equal(vr_packed_need_event(0x7fff, 8, 3, 1, 2, 1), 1);
	assert_int_equal(vr_packed_need_event(0xffff, 8, 3, 1, 2, 1), 1);
	/* Size 1 and odd sizes. */
	assert_int_equal(vr_packed_need_event(0 | W1, 1, 0, 0, 0, 1), 1);
	assert_int_equal(vr_packed_need_event(0, 1, 0, 0, 0, 1), 0);
	assert_int_equal(vr_packed_need_event(0, 1, 0, 1, 0, 0), 1);
	assert_int_equal(vr_packed_need_event(0 | W1, 1, 0, 1, 0, 0), 0);
	assert_int_equal(vr_packed_need_event(1, 1, 0, 1, 0, 0), 1);
	assert_int_equal(vr_packed_need_event(100, 257, 10, 0, 200, 1), 0);
	assert_int_equal(vr_packed_need_event(5, 257, 10, 0, 200, 1), 1);
	assert_int_equal(vr_packed_need_event(256 | W1, 257, 10, 0, 200, 1), 1);
	assert_int_equal(vr_packed_need_event(199 | W1, 257, 10, 0, 200, 1), 0);
	/* The largest ring. */
	assert_int_equal(vr_packed_need_event(32767 | W1, 32768, 1, 0, 32767, 1), 1);
	assert_int_equal(vr_packed_need_event(0, 32768, 1, 0, 32767, 1), 1);
	assert_int_equal(vr_packed_need_event(1, 32768, 1, 0, 32767, 1), 0);
	assert_int_equal(vr_packed_need_event(32766 | W1, 32768, 1, 0, 32767, 1), 0);
	assert_int_equal(vr_packed_need_event(0 | W1, 32768, 1, 0, 32767, 1), 0);
}

/* ======================================================================= */
/*                                In order                                  */
/* ======================================================================= */

static void test_in_order_batches(void **state)
{
	struct fx f;
	struct vr_seg s[3];
	struct vr_iov iov[3];
	struct vr_chain c;
	struct vr_used_buf u;
	int id[4];
	unsigned i;

	(void)state;
	setup_q(&f, 8, F_ORD, 0);
	for (i = 0; i < 3; i++) {
		s[i].addr = fx_addr(&f, 0x100 * i);
		s[i].len = 10 * (i + 1);
	}
	/* A: 1 writable (10); B: 1 readable + 1 writable (20); C: 1 readable
	 * + 2 writable (20 + 30); D: 1 readable. */
	id[0] = vr_packed_drv_add(&f.pdrv, s, 0, 1, cookie_of(0));
	id[1] = vr_packed_drv_add(&f.pdrv, s, 1, 1, cookie_of(1));
	id[2] = vr_packed_drv_add(&f.pdrv, s, 1, 2, cookie_of(2));
	id[3] = vr_packed_drv_add(&f.pdrv, s, 1, 0, cookie_of(3));
	for (i = 0; i < 4; i++)
		assert_true(id[i] >= 0);
	vr_packed_drv_publish(&f.pdrv);
	for (i = 0; i < 4; i++) {
		pop_ok(&f, &c, iov, 3);
		assert_int_equal(c.id, id[i]);
	}
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 1);
	assert_int_equal(vr_packed_dev_complete_in_order(&f.pdev, 0, 0), VR_EINVAL);
	assert_int_equal(vr_packed_dev_complete_in_order(&f.pdev, 5, 0), VR_EINVAL);
	assert_int_equal(vr_packed_dev_complete_in_order(&f.pdev, 3, 7), 0);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	vr_packed_dev_publish(&f.pdev);
	/* One used descriptor over the batch's first, naming its last id. */
	assert_int_equal(d_flags(&f, 0),
			 VR_DESC_F_AVAIL | VR_DESC_F_USED | VR_DESC_F_WRITE);
	assert_int_equal(d_id(&f, 0), id[2]);
	assert_int_equal(d_len(&f, 0), 7);
	/* Positions 1..5 were not written as used. */
	for (i = 1; i < 6; i++)
		assert_false((d_flags(&f, i) & WRAP_BITS) == USED_BITS(1));

	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(0));
	assert_int_equal(u.id, id[0]);
	assert_int_equal(u.len, 10);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 2);
	/* The rest of the batch is pending: arm says so. */
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(1));
	assert_int_equal(u.len, 20);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 4);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(2));
	assert_int_equal(u.len, 7);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 7);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 0);

	/* D alone, nothing written: at position 6 (0 + 1 + 2 + 3). */
	assert_int_equal(vr_packed_dev_complete_in_order(&f.pdev, 1, 0), 0);
	vr_packed_dev_publish(&f.pdev);
	assert_int_equal(d_flags(&f, 6), VR_DESC_F_AVAIL | VR_DESC_F_USED);
	assert_int_equal(d_id(&f, 6), id[3]);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(3));
	assert_int_equal(u.len, 0);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 8);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 0);

	/* Both sides go on at position 7: a 2-chain straddles the end. */
	id[0] = vr_packed_drv_add(&f.pdrv, s, 1, 1, cookie_of(10));
	assert_true(id[0] >= 0);
	vr_packed_drv_publish(&f.pdrv);
	assert_int_equal(d_flags(&f, 7), VR_DESC_F_AVAIL | VR_DESC_F_NEXT);
	assert_int_equal(d_flags(&f, 0), VR_DESC_F_USED | VR_DESC_F_WRITE);
	pop_ok(&f, &c, iov, 3);
	assert_int_equal(c.ndesc, 2);
	assert_int_equal(vr_packed_dev_complete_in_order(&f.pdev, 1, 20), 0);
	vr_packed_dev_publish(&f.pdev);
	assert_int_equal(d_id(&f, 7), id[0]);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(u.len, 20);
	assert_ptr_equal(u.cookie, cookie_of(10));
	/* A full lap more of in-order traffic. */
	advance(&f, 17);
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	fx_fini(&f);
}

static void test_in_order_estate(void **state)
{
	struct fx f;
	struct vr_iov iov[1];
	struct vr_chain c;
	struct vr_used_buf u;
	int a, b;

	(void)state;
	setup_q(&f, 4, F_ORD, 0);
	a = add_one(&f, 0, cookie_of(0));
	b = add_one(&f, 16, cookie_of(1));
	vr_packed_drv_publish(&f.pdrv);
	pop_ok(&f, &c, iov, 1);
	pop_ok(&f, &c, iov, 1);
	/* B before A: refused, nothing written, queue fine. */
	assert_int_equal(vr_packed_dev_complete(&f.pdev, (uint16_t)b, 0), VR_ESTATE);
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 2);
	assert_int_equal(d_flags(&f, 0), VR_DESC_F_AVAIL);
	/* Not taken at all. */
	assert_int_equal(vr_packed_dev_complete(&f.pdev, 3, 0), VR_ESTATE);
	assert_int_equal(vr_packed_dev_complete(&f.pdev, 4, 0), VR_ESTATE);
	assert_int_equal(vr_packed_dev_push(&f.pdev, (uint16_t)a, 0), 0);
	assert_int_equal(vr_packed_dev_push(&f.pdev, (uint16_t)b, 0), 0);
	assert_int_equal(vr_packed_dev_complete(&f.pdev, (uint16_t)b, 0), VR_ESTATE);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(0));
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(1));
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 4);
	fx_fini(&f);

	/* complete_in_order needs the feature. */
	setup_q(&f, 4, 0, 0);
	a = add_one(&f, 0, NULL);
	vr_packed_drv_publish(&f.pdrv);
	pop_ok(&f, &c, iov, 1);
	assert_int_equal(vr_packed_dev_complete_in_order(&f.pdev, 1, 0), VR_ENOTSUP);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 1);
	/* Without IN_ORDER the device's complete still refuses ids it does
	 * not hold. */
	assert_int_equal(vr_packed_dev_complete(&f.pdev, 1, 0), VR_ESTATE);
	assert_int_equal(vr_packed_dev_push(&f.pdev, (uint16_t)a, 0), 0);
	assert_int_equal(vr_packed_dev_complete(&f.pdev, (uint16_t)a, 0), VR_ESTATE);
	fx_fini(&f);
}

/* ======================================================================= */
/*                         E2BIG, clamping, reset                           */
/* ======================================================================= */

static void test_e2big(void **state)
{
	struct fx f;
	struct vr_seg s[5];
	struct vr_iov iov[5];
	struct vr_chain c, cs[2];
	struct vr_iov iov2[2][5];
	unsigned i;
	int id;

	(void)state;
	setup_q(&f, 8, F_IND, 0);
	for (i = 0; i < 5; i++) {
		s[i].addr = fx_addr(&f, 0x40 * i);
		s[i].len = 4;
	}
	id = vr_packed_drv_add(&f.pdrv, s, 2, 3, cookie_of(1));
	vr_packed_drv_publish(&f.pdrv);
	memset(&c, 0, sizeof(c));
	c.iov = iov;
	c.iov_cap = 2;
	assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_E2BIG);
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 0);
	/* The counts say how big the array must be. */
	assert_int_equal(c.n_out + c.n_in, 5);
	assert_int_equal(vr_packed_dev_avail(&f.pdev), 1);
	assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_E2BIG);
	c.iov_cap = 0;
	c.iov = NULL;
	assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_E2BIG);
	c.iov = iov;
	c.iov_cap = 5;
	assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), 0);
	assert_int_equal(c.id, id);
	assert_int_equal(c.n_out, 2);
	assert_int_equal(c.n_in, 3);
	assert_int_equal(c.ndesc, 5);
	for (i = 0; i < 5; i++)
		assert_ptr_equal(iov[i].base, fx_ptr(&f, s[i].addr));
	assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 0), 0);

	/* Indirect tables too; and a burst stops at the big chain. */
	assert_true(add_one(&f, 0, NULL) >= 0);
	assert_true(vr_packed_drv_add_indirect(&f.pdrv, s, 1, 4,
					       fx_ptr(&f, fx_addr(&f, 0x10000)),
					       fx_addr(&f, 0x10000), NULL) >= 0);
	vr_packed_drv_publish(&f.pdrv);
	for (i = 0; i < 2; i++) {
		cs[i].iov = iov2[i];
		cs[i].iov_cap = 3;
	}
	assert_int_equal(vr_packed_dev_pop_burst(&f.pdev, cs, 2), 1);
	assert_int_equal(vr_packed_dev_pop_burst(&f.pdev, &cs[1], 1), VR_E2BIG);
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	cs[1].iov_cap = 5;
	assert_int_equal(vr_packed_dev_pop_burst(&f.pdev, &cs[1], 1), 1);
	assert_int_equal(cs[1].n_in, 4);
	assert_int_equal(cs[1].ndesc, 1);
	fx_fini(&f);
}

static void test_clamp_used_len(void **state)
{
	struct fx f;
	struct vr_seg s[2];
	struct vr_iov iov[2];
	struct vr_chain c;
	struct vr_used_buf u;

	(void)state;
	setup_q(&f, 4, 0, VR_QF_CLAMP_USED_LEN);
	s[0].addr = fx_addr(&f, 0);
	s[0].len = 8;
	s[1].addr = fx_addr(&f, 64);
	s[1].len = 16;
	assert_true(vr_packed_drv_add(&f.pdrv, s, 1, 1, cookie_of(1)) >= 0);
	assert_true(vr_packed_drv_add(&f.pdrv, s, 1, 0, cookie_of(2)) >= 0);
	vr_packed_drv_publish(&f.pdrv);
	pop_ok(&f, &c, iov, 2);
	assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 100), 0);
	pop_ok(&f, &c, iov, 2);
	/* An rpmsg-style remote reports 28 on a readable-only buffer. */
	assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 28), 0);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(1));
	assert_int_equal(u.len, 16);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(2));
	assert_int_equal(u.len, 0);
	assert_int_equal(f.pdrv.stats.used_len_clamped, 2);
	assert_int_equal(vr_packed_drv_broken(&f.pdrv), 0);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 4);
	fx_fini(&f);
}

static void test_reset_after_break(void **state)
{
	struct fx f;
	struct vr_chain c;
	struct vr_iov iov[1];
	struct vr_used_buf u;

	(void)state;
	setup_q(&f, 5, F_EVT, 0);
	advance(&f, 3);
	assert_true(add_one(&f, 0, cookie_of(1)) >= 0);
	vr_packed_drv_publish(&f.pdrv);
	/* The driver "goes bad": buffer id out of range. */
	put16(&ring(&f)[3].id, 5);
	memset(&c, 0, sizeof(c));
	c.iov = iov;
	c.iov_cap = 1;
	assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_EBUFID);
	assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_EBROKEN);
	vr_packed_dev_arm_avail_notify(&f.pdev);
	/* The device "goes bad": a used id nobody added. */
	put_desc(&ring(&f)[3], 0, 0, 4, USED_BITS(1));
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EUSEDID);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EBROKEN);
	assert_int_equal(add_one(&f, 0, NULL), VR_EBROKEN);

	vr_packed_drv_reset(&f.pdrv);
	vr_packed_dev_reset(&f.pdev);
	assert_int_equal(vr_packed_drv_broken(&f.pdrv), 0);
	assert_int_equal(vr_packed_dev_broken(&f.pdev), 0);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 5);
	assert_int_equal(vr_packed_drv_in_flight(&f.pdrv), 0);
	assert_int_equal(vr_packed_dev_in_flight(&f.pdev), 0);
	/* The driver zeroed the ring and its event area; the device its. */
	assert_int_equal(d_flags(&f, 3), 0);
	assert_int_equal(d_id(&f, 3), 0);
	assert_int_equal(ev_flags(f.pa.device_event), 0);
	assert_int_equal(ev_off_wrap(f.pa.device_event), 0);
	assert_int_equal(vr_packed_dev_pop(&f.pdev, &c), VR_EAGAIN);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	/* Both start again at position 0 in wrap 1. */
	assert_int_equal(add_one(&f, 0, cookie_of(2)), 0);
	assert_int_equal(vr_packed_drv_kick_prepare(&f.pdrv), 1);
	assert_int_equal(d_flags(&f, 0), VR_DESC_F_AVAIL);
	pop_ok(&f, &c, iov, 1);
	assert_int_equal(c.id, 0);
	assert_int_equal(vr_packed_dev_push(&f.pdev, 0, 0), 0);
	assert_int_equal(vr_packed_dev_need_notify(&f.pdev), 1);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_ptr_equal(u.cookie, cookie_of(2));
	advance(&f, 12);
	fx_fini(&f);
}

/* ======================================================================= */
/*                              Set-up errors                               */
/* ======================================================================= */

static void test_init_errors(void **state)
{
	struct fx f;
	struct vr_packed_areas a, bad;
	struct vr_layout l;
	struct vr_packed_drv drv;
	struct vr_packed_dev dev;
	struct vr_queue_cfg cfg;
	unsigned char *st;
	size_t ds, vs;

	(void)state;
	setup_q(&f, 8, 0, 0);
	cfg = f.cfg;
	st = aligned_alloc(64, 1u << 20);
	assert_non_null(st);

	/* Layout and sizes. */
	assert_int_equal(vr_packed_layout(7, &l), 0);
	assert_int_equal(l.desc_off, 0);
	assert_int_equal(l.driver_off, 112);
	assert_int_equal(l.device_off, 116);
	assert_int_equal(l.total, 120);
	assert_int_equal(vr_packed_layout(0, &l), VR_EINVAL);
	assert_int_equal(vr_packed_layout(32769, &l), VR_EINVAL);
	assert_int_equal(vr_packed_drv_state_size(0), 0);
	assert_int_equal(vr_packed_drv_state_size(32769), 0);
	assert_int_equal(vr_packed_dev_state_size(0), 0);
	assert_int_equal(vr_packed_dev_state_size(32769), 0);
	assert_true(vr_packed_drv_state_size(32768) > 0);
	assert_true(vr_packed_dev_state_size(32768) > 0);

	/* Carving a region. */
	assert_int_equal(vr_packed_areas_from_region(&a, f.region, 120, 7), 0);
	assert_ptr_equal(a.desc, f.region);
	assert_ptr_equal(a.driver_event, f.region + 112);
	assert_ptr_equal(a.device_event, f.region + 116);
	assert_int_equal(vr_packed_areas_from_region(&a, f.region, 119, 7), VR_ERANGE);
	assert_int_equal(vr_packed_areas_from_region(&a, f.region + 8, 4096, 7),
			 VR_EALIGN);
	assert_int_equal(vr_packed_areas_from_region(&a, f.region, 4096, 0), VR_EINVAL);
	assert_int_equal(vr_packed_areas_from_region(&a, f.region, 1u << 20, 32769),
			 VR_EINVAL);
	assert_int_equal(vr_packed_areas_from_region(&a, NULL, 4096, 8), VR_EINVAL);
	assert_int_equal(vr_packed_areas_from_region(NULL, f.region, 4096, 8), VR_EINVAL);
	assert_int_equal(vr_packed_areas_from_region(&a, f.region, 4096, 8), 0);

	ds = vr_packed_drv_state_size(8);
	vs = vr_packed_dev_state_size(8);
	cfg.num = 8;
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, &a, st, ds), 0);
	assert_int_equal(vr_packed_dev_init(&dev, &cfg, &a, st, vs), 0);

	/* Queue sizes. */
	cfg.num = 0;
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, &a, st, 1u << 20), VR_EINVAL);
	assert_int_equal(vr_packed_dev_init(&dev, &cfg, &a, st, 1u << 20), VR_EINVAL);
	cfg.num = 32769;
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, &a, st, 1u << 20), VR_EINVAL);
	assert_int_equal(vr_packed_dev_init(&dev, &cfg, &a, st, 1u << 20), VR_EINVAL);
	cfg.num = 8;

	/* NULL pointers. */
	assert_int_equal(vr_packed_drv_init(NULL, &cfg, &a, st, ds), VR_EINVAL);
	assert_int_equal(vr_packed_drv_init(&drv, NULL, &a, st, ds), VR_EINVAL);
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, NULL, st, ds), VR_EINVAL);
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, &a, NULL, ds), VR_EINVAL);
	assert_int_equal(vr_packed_dev_init(&dev, &cfg, &a, NULL, vs), VR_EINVAL);
	bad = a;
	bad.device_event = NULL;
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, &bad, st, ds), VR_EINVAL);
	assert_int_equal(vr_packed_dev_init(&dev, &cfg, &bad, st, vs), VR_EINVAL);

	/* Misaligned areas and state. */
	bad = a;
	bad.desc = f.region + 8;
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, &bad, st, ds), VR_EALIGN);
	assert_int_equal(vr_packed_dev_init(&dev, &cfg, &bad, st, vs), VR_EALIGN);
	bad = a;
	bad.driver_event = (unsigned char *)a.driver_event + 2;
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, &bad, st, ds), VR_EALIGN);
	assert_int_equal(vr_packed_dev_init(&dev, &cfg, &bad, st, vs), VR_EALIGN);
	bad = a;
	bad.device_event = (unsigned char *)a.device_event + 1;
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, &bad, st, ds), VR_EALIGN);
	assert_int_equal(vr_packed_dev_init(&dev, &cfg, &bad, st, vs), VR_EALIGN);
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, &a, st + 4, ds), VR_EALIGN);
	assert_int_equal(vr_packed_dev_init(&dev, &cfg, &a, st + 1, vs), VR_EALIGN);

	/* State too small. */
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, &a, st, ds - 1), VR_ERANGE);
	assert_int_equal(vr_packed_dev_init(&dev, &cfg, &a, st, vs - 1), VR_ERANGE);
	assert_int_equal(vr_packed_drv_init(&drv, &cfg, &a, st, 0), VR_ERANGE);
	assert_int_equal(vr_packed_dev_init(&dev, &cfg, &a, st, 0), VR_ERANGE);

	free(st);
	fx_fini(&f);
}

/* ======================================================================= */
/*                               Cache hooks                                */
/* ======================================================================= */

struct cache_ev {
	char op; /* 'C' clean, 'I' invalidate */
	const void *p;
	size_t len;
};

struct cache_log {
	unsigned n;
	struct cache_ev e[256];
};

static void log_clean(void *ctx, const void *p, size_t len)
{
	struct cache_log *l = ctx;

	assert_true(l->n < 256);
	l->e[l->n].op = 'C';
	l->e[l->n].p = p;
	l->e[l->n].len = len;
	l->n++;
}

static void log_inval(void *ctx, const void *p, size_t len)
{
	struct cache_log *l = ctx;

	assert_true(l->n < 256);
	l->e[l->n].op = 'I';
	l->e[l->n].p = p;
	l->e[l->n].len = len;
	l->n++;
}

/* Index of the first (op, p, len) entry, or -1. */
static int log_find(const struct cache_log *l, char op, const void *p, size_t len)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (l->e[i].op == op && l->e[i].p == p && l->e[i].len == len)
			return (int)i;
	return -1;
}

static unsigned log_count(const struct cache_log *l, char op)
{
	unsigned i, n = 0;

	for (i = 0; i < l->n; i++)
		n += l->e[i].op == op;
	return n;
}

static void test_cache_hooks(void **state)
{
	struct fx f;
	struct cache_log lg;
	struct vr_seg s[2];
	struct vr_iov iov[2];
	struct vr_chain c;
	struct vr_used_buf u;
	struct vr_packed_desc *d;
	void *bufA, *bufB;
	int id;

	(void)state;
	setup_q(&f, 4, F_IND | F_EVT, 0);
	memset(&lg, 0, sizeof(lg));
	f.cfg.mem.clean = log_clean;
	f.cfg.mem.invalidate = log_inval;
	f.cfg.mem.ctx = &lg;
	assert_int_equal(vr_packed_drv_init(&f.pdrv, &f.cfg, &f.pa, f.drv_state,
					    vr_packed_drv_state_size(4)), 0);
	assert_int_equal(vr_packed_dev_init(&f.pdev, &f.cfg, &f.pa, f.dev_state,
					    vr_packed_dev_state_size(4)), 0);
	d = ring(&f);
	/* Init cleaned what it zeroed: the ring and both event areas. */
	assert_true(log_find(&lg, 'C', d, 4 * 16) >= 0);
	assert_true(log_find(&lg, 'C', f.pa.driver_event, 4) >= 0);
	assert_true(log_find(&lg, 'C', f.pa.device_event, 4) >= 0);
	assert_int_equal(log_count(&lg, 'I'), 0);

	s[0].addr = fx_addr(&f, 0x100);
	s[0].len = 10;
	s[1].addr = fx_addr(&f, 0x200);
	s[1].len = 20;
	bufA = fx_ptr(&f, s[0].addr);
	bufB = fx_ptr(&f, s[1].addr);

	/* Driver add: the readable buffer and both descriptors are cleaned;
	 * the head's flags only at publish, and last. */
	lg.n = 0;
	id = vr_packed_drv_add(&f.pdrv, s, 1, 1, cookie_of(1));
	assert_int_equal(id, 0);
	assert_true(log_find(&lg, 'C', bufA, 10) >= 0);
	assert_int_equal(log_find(&lg, 'C', bufB, 20), -1);
	assert_true(log_find(&lg, 'C', &d[0], 16) >= 0);
	assert_true(log_find(&lg, 'C', &d[1], 16) >= 0);
	assert_int_equal(log_find(&lg, 'C', &d[0].flags, 2), -1);
	assert_int_equal(log_count(&lg, 'I'), 0);
	assert_int_equal(lg.n, 3);
	vr_packed_drv_publish(&f.pdrv);
	assert_int_equal(lg.n, 4);
	assert_int_equal(log_find(&lg, 'C', &d[0].flags, 2), 3);

	/* Driver need_notify invalidates the device event area first. */
	lg.n = 0;
	assert_int_equal(vr_packed_drv_need_notify(&f.pdrv), 1);
	assert_int_equal(lg.n, 1);
	assert_int_equal(log_find(&lg, 'I', f.pa.device_event, 4), 0);

	/* Device avail peeks at the head flags: invalidated. */
	lg.n = 0;
	assert_int_equal(vr_packed_dev_avail(&f.pdev), 1);
	assert_int_equal(lg.n, 1);
	assert_int_equal(log_find(&lg, 'I', &d[0].flags, 2), 0);

	/* Device pop: head descriptor, then the readable buffer, then the
	 * second descriptor, each invalidated before it is read. Nothing is
	 * cleaned; the writable buffer is not touched. */
	lg.n = 0;
	pop_ok(&f, &c, iov, 2);
	assert_int_equal(lg.n, 3);
	assert_int_equal(log_find(&lg, 'I', &d[0], 16), 0);
	assert_int_equal(log_find(&lg, 'I', bufA, 10), 1);
	assert_int_equal(log_find(&lg, 'I', &d[1], 16), 2);

	/* The device wrote 5 bytes and cleans them. */
	lg.n = 0;
	vr_chain_clean_written(&f.cfg.mem, &c, 5);
	assert_int_equal(lg.n, 1);
	assert_int_equal(log_find(&lg, 'C', bufB, 5), 0);

	/* Device complete cleans the used descriptor; publish its flags. */
	lg.n = 0;
	assert_int_equal(vr_packed_dev_complete(&f.pdev, c.id, 5), 0);
	assert_int_equal(lg.n, 1);
	assert_int_equal(log_find(&lg, 'C', &d[0], 16), 0);
	vr_packed_dev_publish(&f.pdev);
	assert_int_equal(lg.n, 2);
	assert_int_equal(log_find(&lg, 'C', &d[0].flags, 2), 1);
	lg.n = 0;
	assert_int_equal(vr_packed_dev_need_notify(&f.pdev), 1);
	assert_int_equal(lg.n, 1);
	assert_int_equal(log_find(&lg, 'I', f.pa.driver_event, 4), 0);

	/* Driver get_used invalidates the used descriptor before reading. */
	lg.n = 0;
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(u.len, 5);
	assert_int_equal(lg.n, 1);
	assert_int_equal(log_find(&lg, 'I', &d[0], 16), 0);
	lg.n = 0;
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
	assert_int_equal(log_find(&lg, 'I', &d[2], 16), 0);

	/* Event areas: written areas cleaned; re-read ring invalidated. */
	lg.n = 0;
	vr_packed_drv_suppress_used_notify(&f.pdrv);
	assert_int_equal(lg.n, 1);
	assert_int_equal(log_find(&lg, 'C', f.pa.driver_event, 4), 0);
	lg.n = 0;
	assert_int_equal(vr_packed_drv_arm_used_notify(&f.pdrv), 0);
	assert_int_equal(lg.n, 2);
	assert_int_equal(log_find(&lg, 'C', f.pa.driver_event, 4), 0);
	assert_int_equal(log_find(&lg, 'I', &d[2], 16), 1);
	lg.n = 0;
	vr_packed_dev_suppress_avail_notify(&f.pdev);
	assert_int_equal(lg.n, 1);
	assert_int_equal(log_find(&lg, 'C', f.pa.device_event, 4), 0);
	lg.n = 0;
	assert_int_equal(vr_packed_dev_arm_avail_notify(&f.pdev), 0);
	assert_int_equal(lg.n, 2);
	assert_int_equal(log_find(&lg, 'C', f.pa.device_event, 4), 0);
	assert_int_equal(log_find(&lg, 'I', &d[2], 16), 1);

	/* Indirect: the readable buffer and the table are cleaned, then the
	 * ring descriptor; the device invalidates the table before reading. */
	{
		uint64_t taddr = fx_addr(&f, 0x10000);
		void *t = fx_ptr(&f, taddr);

		lg.n = 0;
		assert_true(vr_packed_drv_add_indirect(&f.pdrv, s, 1, 1, t, taddr,
						       cookie_of(2)) >= 0);
		assert_true(log_find(&lg, 'C', bufA, 10) >= 0);
		assert_true(log_find(&lg, 'C', t, 32) >= 0);
		assert_true(log_find(&lg, 'C', &d[2], 16) >= 0);
		assert_true(log_find(&lg, 'C', t, 32) < log_find(&lg, 'C', &d[2], 16));
		vr_packed_drv_publish(&f.pdrv);
		assert_int_equal(log_find(&lg, 'C', &d[2].flags, 2), (int)lg.n - 1);
		lg.n = 0;
		pop_ok(&f, &c, iov, 2);
		assert_int_equal(log_find(&lg, 'I', &d[2], 16), 0);
		assert_int_equal(log_find(&lg, 'I', t, 32), 1);
		assert_int_equal(log_find(&lg, 'I', bufA, 10), 2);
		assert_int_equal(lg.n, 3);
	}

	/* A readable buffer outside the window fails the add, nothing done. */
	lg.n = 0;
	s[0].addr = f.region_len;
	assert_int_equal(vr_packed_drv_add(&f.pdrv, s, 1, 1, NULL), VR_EFAULT);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 3);
	assert_int_equal(vr_packed_drv_in_flight(&f.pdrv), 1);
	assert_int_equal(log_count(&lg, 'C'), 0);
	fx_fini(&f);
}

/* ======================================================================= */
/*                             Queue size 32768                             */
/* ======================================================================= */

static void test_queue_size_max(void **state)
{
	const uint32_t num = VR_QUEUE_SIZE_MAX;
	struct fx f;
	struct vr_seg *s;
	struct vr_iov *iov;
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;
	int id;

	(void)state;
	setup_q(&f, num, F_EVT, 0);
	s = calloc(num, sizeof(*s));
	iov = calloc(num, sizeof(*iov));
	assert_non_null(s);
	assert_non_null(iov);
	for (i = 0; i < num; i++) {
		s[i].addr = fx_addr(&f, i % 1024);
		s[i].len = 1;
	}
	/* Start near the end so that the whole-ring chain straddles it. */
	advance(&f, 3);
	assert_int_equal(vr_packed_dev_arm_avail_notify(&f.pdev), 0);
	id = vr_packed_drv_add(&f.pdrv, s, 100, num - 100, cookie_of(1));
	assert_true(id >= 0);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), 0);
	assert_int_equal(vr_packed_drv_kick_prepare(&f.pdrv), 1);
	assert_int_equal(d_flags(&f, 3), VR_DESC_F_AVAIL | VR_DESC_F_NEXT);
	assert_int_equal(d_flags(&f, 2), VR_DESC_F_USED | VR_DESC_F_WRITE);
	assert_int_equal(d_id(&f, 2), id);
	pop_ok(&f, &c, iov, num);
	assert_int_equal(c.ndesc, num);
	assert_int_equal(c.n_out, 100);
	assert_int_equal(c.n_in, num - 100);
	assert_int_equal(c.in_bytes, num - 100);
	assert_ptr_equal(iov[num - 1].base, fx_ptr(&f, s[num - 1].addr));
	assert_int_equal(vr_packed_dev_push(&f.pdev, c.id, 5), 0);
	assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), 0);
	assert_int_equal(u.len, 5);
	assert_int_equal(vr_packed_drv_free(&f.pdrv), num);

	/* A lap and a half of single chains in batches of 1000. */
	for (i = 0; i < num + num / 2;) {
		unsigned b, n = 0;
		int r;

		for (b = 0; b < 1000; b++, n++)
			assert_true(add_one(&f, 0, cookie_of(i + b)) >= 0);
		vr_packed_drv_publish(&f.pdrv);
		for (b = 0; b < n; b++) {
			pop_ok(&f, &c, iov, 1);
			assert_int_equal(vr_packed_dev_complete(&f.pdev, c.id, 0), 0);
		}
		vr_packed_dev_publish(&f.pdev);
		for (b = 0; b < n; b++) {
			r = vr_packed_drv_get_used(&f.pdrv, &u);
			assert_int_equal(r, 0);
			assert_ptr_equal(u.cookie, cookie_of(i + b));
		}
		assert_int_equal(vr_packed_drv_get_used(&f.pdrv, &u), VR_EAGAIN);
		i += n;
	}
	assert_int_equal(vr_packed_drv_free(&f.pdrv), num);
	free(s);
	free(iov);
	fx_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_segment),
		cmocka_unit_test(test_multi_segment),
		cmocka_unit_test(test_add_invalid_args),
		cmocka_unit_test(test_batch_add_publish),
		cmocka_unit_test(test_batch_complete_publish),
		cmocka_unit_test(test_bursts),
		cmocka_unit_test(test_laps_fifo),
		cmocka_unit_test(test_laps_out_of_order),
		cmocka_unit_test(test_laps_in_order),
		cmocka_unit_test(test_chain_straddles_end),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_enospc_and_recovery),
		cmocka_unit_test(test_chain_of_queue_size),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_indirect_not_negotiated),
		cmocka_unit_test(test_indirect_device_reads_sequentially),
		cmocka_unit_test(test_notify_enable_disable),
		cmocka_unit_test(test_event_idx_desc),
		cmocka_unit_test(test_event_idx_arm),
		cmocka_unit_test(test_need_event_unit),
		cmocka_unit_test(test_drv_need_notify_full_cycle),
		cmocka_unit_test(test_dev_need_notify_full_cycle),
		cmocka_unit_test(test_in_order_batches),
		cmocka_unit_test(test_in_order_estate),
		cmocka_unit_test(test_e2big),
		cmocka_unit_test(test_clamp_used_len),
		cmocka_unit_test(test_reset_after_break),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_cache_hooks),
		cmocka_unit_test(test_queue_size_max),
	};

	return cmocka_run_group_tests_name("packed", tests, NULL, NULL);
}
