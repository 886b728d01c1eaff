/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueue, both roles, with a well-behaved peer: single and
 * multi-segment chains, batching, bursts, wrap-around (16-bit too), a full
 * ring, indirect tables, notification suppression (flags and EVENT_IDX),
 * IN_ORDER, E2BIG, used-length clamping, reset, set-up errors, the cache
 * hooks (recorded, and a simulated non-coherent pair of caches) and the
 * error strings. Hostile peers are in test_split_hostile.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ring_fixture.h"

#define FEAT(bit) VR_FEATURE(bit)

/* ---- Helpers -------------------------------------------------------------- */

/* aligned_alloc() wants a size that is a multiple of the alignment. */
/* A split fixture on the heap (freed by rm). */
static struct fx *mk(uint32_t num, uint64_t features, uint32_t qflags)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_true(!(features & VR_FEATURE(VR_F_RING_PACKED)));
	assert_int_equal(fx_init_flags(f, num, features, qflags), 0);
	return f;
}

static void rm(struct fx *f)
{
	fx_fini(f);
	free(f);
}

static struct vr_desc *descs(struct fx *f)
{
	return (struct vr_desc *)f->sa.desc;
}

static struct vr_avail *avail_of(struct fx *f)
{
	return (struct vr_avail *)f->sa.avail;
}

static struct vr_used *used_of(struct fx *f)
{
	return (struct vr_used *)f->sa.used;
}

static uint16_t rd16(const uint16_t *p)
{
	return vr__le16(*p);
}

static void wr16(uint16_t *p, uint16_t v)
{
	*p = vr__le16(v);
}

static uint32_t rd32(const uint32_t *p)
{
	return vr__le32(*p);
}

static void wr32(uint32_t *p, uint32_t v)
{
	*p = vr__le32(v);
}

static uint16_t avail_idx(struct fx *f)
{
	return rd16(&avail_of(f)->idx);
}

static uint16_t used_idx(struct fx *f)
{
	return rd16(&used_of(f)->idx);
}

static uint16_t *avail_event(struct fx *f)
{
	return vr_used_avail_event(used_of(f), f->num);
}

static uint16_t *used_event(struct fx *f)
{
	return vr_avail_used_event(avail_of(f), f->num);
}

static struct vr_seg seg_at(struct fx *f, size_t pool_off, uint32_t len)
{
	struct vr_seg s;

	s.addr = fx_addr(f, pool_off);
	s.len = len;
	return s;
}

static void chain_init(struct vr_chain *c, struct vr_iov *iov, uint16_t cap)
{
	memset(c, 0, sizeof(*c));
	c->iov = iov;
	c->iov_cap = cap;
}

static void *cookie_of(unsigned n)
{
	return (void *)(uintptr_t)(0x1000u + n);
}

/* Small deterministic PRNG (xorshift64*). */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* One single-segment writable chain of @len bytes, published; returns the
 * head. */
static int add_one(struct fx *f, size_t pool_off, uint32_t len, void *cookie)
{
	struct vr_seg s = seg_at(f, pool_off, len);

	return vr_split_drv_add(&f->sdrv, &s, 0, 1, cookie);
}

/* Device: pop everything available and complete it with its full writable
 * length; driver: collect it. Returns how many went round. */
static unsigned drain(struct fx *f)
{
	struct vr_iov iov[64];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned n = 0;

	chain_init(&c, iov, 64);
	while (vr_split_dev_pop(&f->sdev, &c) == 0) {
		assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, c.in_bytes), 0);
		n++;
	}
	vr_split_dev_publish(&f->sdev);
	while (vr_split_drv_get_used(&f->sdrv, &u) == 0)
		n--;
	assert_int_equal(n, 0);
	return n;
}

/* ---- Single and multi-segment chains ---------------------------------------- */

static void test_single_chain_roundtrip(void **state)
{
	struct fx *f = mk(8, 0, 0);
	struct vr_seg s[2];
	struct vr_iov iov[4];
	struct vr_chain c;
	struct vr_used_buf u;
	struct vr_desc *d = descs(f);
	int cookie_obj = 0;
	int head;

	(void)state;
	s[0] = seg_at(f, 0, 100);
	s[1] = seg_at(f, 4096, 200);
	memset(fx_ptr(f, s[0].addr), 0x5a, 100);

	head = vr_split_drv_add(&f->sdrv, s, 1, 1, &cookie_obj);
	assert_int_equal(head, 0);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 6);
	assert_int_equal(vr_split_drv_in_flight(&f->sdrv), 1);
	/* The wire descriptors. */
	assert_true(vr__le64(d[0].addr) == s[0].addr);
	assert_int_equal(rd32(&d[0].len), 100);
	assert_int_equal(rd16(&d[0].flags), VR_DESC_F_NEXT);
	assert_int_equal(rd16(&d[0].next), 1);
	assert_true(vr__le64(d[1].addr) == s[1].addr);
	assert_int_equal(rd32(&d[1].len), 200);
	assert_int_equal(rd16(&d[1].flags), VR_DESC_F_WRITE);
	assert_int_equal(rd16(&vr_avail_ring(avail_of(f))[0]), 0);
	/* Not visible before publish. */
	assert_int_equal(avail_idx(f), 0);
	chain_init(&c, iov, 4);
	assert_int_equal(vr_split_dev_avail(&f->sdev), 0);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), VR_EAGAIN);

	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(avail_idx(f), 1);
	assert_int_equal(vr_split_dev_avail(&f->sdev), 1);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(c.id, 0);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 1);
	assert_int_equal(c.ndesc, 2);
	assert_int_equal(c.out_bytes, 100);
	assert_int_equal(c.in_bytes, 200);
	assert_ptr_equal(c.iov[0].base, fx_ptr(f, s[0].addr));
	assert_int_equal(c.iov[0].len, 100);
	assert_ptr_equal(c.iov[1].base, fx_ptr(f, s[1].addr));
	assert_int_equal(c.iov[1].len, 200);
	assert_int_equal(vr_split_dev_in_flight(&f->sdev), 1);
	assert_int_equal(((unsigned char *)c.iov[0].base)[99], 0x5a);
	memset(c.iov[1].base, 0xa5, 50);

	assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, 50), 0);
	assert_int_equal(used_idx(f), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), VR_EAGAIN);
	vr_split_dev_publish(&f->sdev);
	assert_int_equal(used_idx(f), 1);
	assert_int_equal(rd32(&vr_used_ring(used_of(f))[0].id), 0);
	assert_int_equal(rd32(&vr_used_ring(used_of(f))[0].len), 50);

	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_ptr_equal(u.cookie, &cookie_obj);
	assert_int_equal(u.len, 50);
	assert_int_equal(u.id, 0);
	assert_int_equal(((unsigned char *)fx_ptr(f, s[1].addr))[49], 0xa5);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 8);
	assert_int_equal(vr_split_drv_in_flight(&f->sdrv), 0);
	assert_int_equal(vr_split_dev_in_flight(&f->sdev), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), VR_EAGAIN);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), VR_EAGAIN);
	rm(f);
}

static void test_multi_segment_chains(void **state)
{
	struct fx *f = mk(16, 0, 0);
	const uint32_t lens[5] = {10, 20, 30, 40, 50};
	struct vr_seg a[5], b[2], t[2];
	struct vr_iov iov[8];
	struct vr_chain c;
	struct vr_used_buf u;
	struct vr_desc *d = descs(f);
	int ha, hb, ht;
	unsigned i;

	(void)state;
	for (i = 0; i < 5; i++)
		a[i] = seg_at(f, 1000 * i, lens[i]);
	b[0] = seg_at(f, 10000, 64);
	b[1] = seg_at(f, 11000, 65);
	t[0] = seg_at(f, 20000, 7);
	t[1] = seg_at(f, 21000, 9);

	ha = vr_split_drv_add(&f->sdrv, a, 3, 2, cookie_of(1)); /* 3 out, 2 in */
	hb = vr_split_drv_add(&f->sdrv, b, 0, 2, cookie_of(2)); /* writable only */
	ht = vr_split_drv_add(&f->sdrv, t, 2, 0, cookie_of(3)); /* readable only */
	assert_int_equal(ha, 0);
	assert_int_equal(hb, 5);
	assert_int_equal(ht, 7);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 16 - 9);
	/* Chain a on the wire: 0 -> 1 -> 2 -> 3 -> 4. */
	for (i = 0; i < 5; i++) {
		uint16_t want = (uint16_t)((i < 4 ? VR_DESC_F_NEXT : 0) |
					   (i >= 3 ? VR_DESC_F_WRITE : 0));

		assert_int_equal(rd16(&d[i].flags), want);
		assert_int_equal(rd32(&d[i].len), lens[i]);
		if (i < 4)
			assert_int_equal(rd16(&d[i].next), i + 1);
	}
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(avail_idx(f), 3);

	chain_init(&c, iov, 8);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(c.id, ha);
	assert_int_equal(c.n_out, 3);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(c.ndesc, 5);
	assert_int_equal(c.out_bytes, 60);
	assert_int_equal(c.in_bytes, 90);
	for (i = 0; i < 5; i++) {
		assert_ptr_equal(iov[i].base, fx_ptr(f, a[i].addr));
		assert_int_equal(iov[i].len, lens[i]);
	}
	assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, 90), 0);

	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(c.id, hb);
	assert_int_equal(c.n_out, 0);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(c.out_bytes, 0);
	assert_int_equal(c.in_bytes, 129);
	assert_ptr_equal(iov[0].base, fx_ptr(f, b[0].addr));
	assert_ptr_equal(iov[1].base, fx_ptr(f, b[1].addr));
	assert_int_equal(iov[1].len, 65);

	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(c.id, ht);
	assert_int_equal(c.n_out, 2);
	assert_int_equal(c.n_in, 0);
	assert_int_equal(c.out_bytes, 16);
	assert_int_equal(c.in_bytes, 0);
	assert_int_equal(c.ndesc, 2);

	/* Complete out of order: ht, then hb. */
	assert_int_equal(vr_split_dev_complete(&f->sdev, (uint16_t)ht, 0), 0);
	assert_int_equal(vr_split_dev_complete(&f->sdev, (uint16_t)hb, 7), 0);
	vr_split_dev_publish(&f->sdev);
	assert_int_equal(used_idx(f), 3);

	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.id, ha);
	assert_ptr_equal(u.cookie, cookie_of(1));
	assert_int_equal(u.len, 90);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.id, ht);
	assert_ptr_equal(u.cookie, cookie_of(3));
	assert_int_equal(u.len, 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.id, hb);
	assert_ptr_equal(u.cookie, cookie_of(2));
	assert_int_equal(u.len, 7);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 16);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), VR_EAGAIN);
	rm(f);
}

/* ---- Batching and bursts ---------------------------------------------------- */

static void test_batching(void **state)
{
	struct fx *f = mk(8, 0, 0);
	struct vr_iov iov[6][2];
	struct vr_chain c[6];
	struct vr_used_buf u;
	unsigned i;

	(void)state;
	for (i = 0; i < 6; i++) {
		assert_int_equal(add_one(f, 256 * i, 100 + i, cookie_of(i)), i);
		assert_int_equal(avail_idx(f), 0); /* nothing visible yet */
	}
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(avail_idx(f), 6);
	vr_split_drv_publish(&f->sdrv); /* nothing new: idx stays */
	assert_int_equal(avail_idx(f), 6);
	assert_int_equal(vr_split_drv_need_notify(&f->sdrv), 1);
	assert_int_equal(vr_split_drv_need_notify(&f->sdrv), 0);
	assert_int_equal(vr_split_drv_kick_prepare(&f->sdrv), 0);

	assert_int_equal(vr_split_dev_avail(&f->sdev), 6);
	for (i = 0; i < 6; i++) {
		chain_init(&c[i], iov[i], 2);
		assert_int_equal(vr_split_dev_pop(&f->sdev, &c[i]), 0);
		assert_int_equal(c[i].id, i);
	}
	/* Complete all six in reverse, one publish. */
	for (i = 6; i-- > 0;) {
		assert_int_equal(vr_split_dev_complete(&f->sdev, c[i].id, i), 0);
		assert_int_equal(used_idx(f), 0);
	}
	assert_int_equal(vr_split_dev_in_flight(&f->sdev), 0);
	vr_split_dev_publish(&f->sdev);
	assert_int_equal(used_idx(f), 6);
	assert_int_equal(vr_split_dev_need_notify(&f->sdev), 1);
	assert_int_equal(vr_split_dev_notify_prepare(&f->sdev), 0);
	for (i = 6; i-- > 0;) {
		assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
		assert_int_equal(u.id, i);
		assert_ptr_equal(u.cookie, cookie_of(i));
		assert_int_equal(u.len, i);
	}
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), VR_EAGAIN);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 8);
	rm(f);
}

static void test_push_and_complete_errors(void **state)
{
	struct fx *f = mk(8, 0, 0);
	struct vr_iov iov[2];
	struct vr_chain c;
	struct vr_used_buf u;

	(void)state;
	assert_int_equal(add_one(f, 0, 10, cookie_of(0)), 0);
	assert_int_equal(vr_split_drv_kick_prepare(&f->sdrv), 1);
	chain_init(&c, iov, 2);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	/* Ids this side did not take. */
	assert_int_equal(vr_split_dev_complete(&f->sdev, 1, 0), VR_ESTATE);
	assert_int_equal(vr_split_dev_complete(&f->sdev, 8, 0), VR_ESTATE);
	assert_int_equal(vr_split_dev_complete(&f->sdev, 0xffff, 0), VR_ESTATE);
	assert_int_equal(vr_split_dev_push(&f->sdev, 3, 0), VR_ESTATE);
	assert_int_equal(used_idx(f), 0);
	/* push = complete + publish. */
	assert_int_equal(vr_split_dev_push(&f->sdev, 0, 4), 0);
	assert_int_equal(used_idx(f), 1);
	/* Twice: no longer in flight. */
	assert_int_equal(vr_split_dev_complete(&f->sdev, 0, 4), VR_ESTATE);
	assert_int_equal(vr_split_dev_broken(&f->sdev), 0);
	assert_int_equal(vr_split_dev_notify_prepare(&f->sdev), 1);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.len, 4);
	/* Driver argument errors touch nothing. */
	{
		struct vr_seg s[2] = {seg_at(f, 0, 1), seg_at(f, 64, 0)};

		assert_int_equal(vr_split_drv_add(&f->sdrv, s, 0, 0, NULL), VR_EINVAL);
		assert_int_equal(vr_split_drv_add(&f->sdrv, NULL, 1, 0, NULL), VR_EINVAL);
		assert_int_equal(vr_split_drv_add(&f->sdrv, s, 1, 1, NULL), VR_EINVAL);
		assert_int_equal(vr_split_drv_free(&f->sdrv), 8);
		assert_int_equal(vr_split_drv_in_flight(&f->sdrv), 0);
	}
	assert_int_equal(vr_split_dev_pop(&f->sdev, NULL), VR_EINVAL);
	c.iov = NULL;
	c.iov_cap = 2;
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), VR_EINVAL);
	rm(f);
}

static void test_burst(void **state)
{
	struct fx *f = mk(8, 0, 0);
	struct vr_iov iov[8][2];
	struct vr_chain c[8];
	struct vr_used_buf u[10];
	unsigned i;

	(void)state;
	for (i = 0; i < 8; i++)
		chain_init(&c[i], iov[i], 2);
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), 0);
	assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u, 10), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(add_one(f, 512 * i, 32 + i, cookie_of(i)), i);
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(c[i].id, i);
		assert_int_equal(c[i].n_in, 1);
		assert_int_equal(c[i].in_bytes, 32 + i);
		assert_ptr_equal(c[i].iov, iov[i]);
		assert_ptr_equal(iov[i][0].base, fx_ptr(f, fx_addr(f, 512 * i)));
		assert_int_equal(vr_split_dev_complete(&f->sdev, c[i].id, i + 1), 0);
	}
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), 0);
	vr_split_dev_publish(&f->sdev);
	/* max smaller than ready: takes only max. */
	assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u, 2), 2);
	assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u + 2, 10), 3);
	for (i = 0; i < 5; i++) {
		assert_int_equal(u[i].id, i);
		assert_int_equal(u[i].len, i + 1);
		assert_ptr_equal(u[i].cookie, cookie_of(i));
	}
	assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u, 10), 0);
	/* pop_burst with max below what is ready. */
	for (i = 0; i < 3; i++)
		assert_int_equal(add_one(f, 512 * i, 8, NULL) >= 0, 1);
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 2), 2);
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c + 2, 6), 1);
	rm(f);
}

/* ---- Wrap-around ------------------------------------------------------------- */

struct expect {
	unsigned msg;
	unsigned n_out, n_in;
	uint32_t in_bytes, out_bytes;
	uint64_t addr0;
};

/* Run > 65536 messages through a small queue with random chain shapes,
 * random batch sizes and completion order. */
static void run_laps(uint32_t num, uint64_t features, unsigned total)
{
	struct fx *f = mk(num, features, 0);
	struct expect *ex = calloc(num, sizeof(*ex));
	struct vr_iov iov[32][8];
	struct vr_chain c[32];
	struct vr_used_buf u[32];
	unsigned sent = 0, done = 0, i;

	assert_non_null(ex);
	rng_state = 0x9e3779b97f4a7c15ULL ^ num ^ features;
	while (done < total) {
		unsigned batch = 1 + rnd_below(num), added = 0, order[32];
		int n;

		/* Driver: add a batch, one publish. */
		while (added < batch) {
			unsigned free_d = vr_split_drv_free(&f->sdrv);
			unsigned nseg = 1 + rnd_below(num < 4 ? num : 4);
			unsigned n_out = rnd_below(nseg + 1), k;
			struct vr_seg s[4];
			uint32_t in_b = 0, out_b = 0;
			int head;

			if (nseg > free_d)
				break;
			for (k = 0; k < nseg; k++) {
				s[k] = seg_at(f, (sent % 64) * 4096 + k * 512,
					      1 + rnd_below(300));
				if (k < n_out)
					out_b += s[k].len;
				else
					in_b += s[k].len;
			}
			head = vr_split_drv_add(&f->sdrv, s, n_out, nseg - n_out,
						cookie_of(sent));
			assert_true(head >= 0 && head < (int)num);
			ex[head].msg = sent;
			ex[head].n_out = n_out;
			ex[head].n_in = nseg - n_out;
			ex[head].in_bytes = in_b;
			ex[head].out_bytes = out_b;
			ex[head].addr0 = s[0].addr;
			sent++;
			added++;
		}
		assert_true(added > 0 || vr_split_drv_in_flight(&f->sdrv) > 0);
		vr_split_drv_publish(&f->sdrv);
		assert_int_equal(avail_idx(f), (uint16_t)sent);

		/* Device: take all, complete in random order, one publish. */
		for (i = 0; i < 32; i++)
			chain_init(&c[i], iov[i], 8);
		n = vr_split_dev_pop_burst(&f->sdev, c, 32);
		assert_int_equal(n, (int)added);
		for (i = 0; i < (unsigned)n; i++) {
			struct expect *e = &ex[c[i].id];

			assert_int_equal(c[i].n_out, e->n_out);
			assert_int_equal(c[i].n_in, e->n_in);
			assert_int_equal(c[i].out_bytes, e->out_bytes);
			assert_int_equal(c[i].in_bytes, e->in_bytes);
			assert_ptr_equal(iov[i][0].base, fx_ptr(f, e->addr0));
			order[i] = i;
		}
		if (!(features & FEAT(VR_F_IN_ORDER))) {
			for (i = (unsigned)n; i > 1; i--) {
				unsigned j = rnd_below(i), tmp = order[i - 1];

				order[i - 1] = order[j];
				order[j] = tmp;
			}
		}
		for (i = 0; i < (unsigned)n; i++) {
			struct vr_chain *ch = &c[order[i]];

			assert_int_equal(vr_split_dev_complete(&f->sdev, ch->id,
							       ch->in_bytes / 2), 0);
		}
		vr_split_dev_publish(&f->sdev);

		/* Driver: collect all. */
		i = 0;
		while (i < (unsigned)n) {
			int got = vr_split_drv_get_used_burst(&f->sdrv, u, 32);
			int k;

			assert_true(got > 0);
			for (k = 0; k < got; k++, i++) {
				struct vr_chain *ch = &c[order[i]];

				assert_int_equal(u[k].id, ch->id);
				assert_ptr_equal(u[k].cookie, cookie_of(ex[ch->id].msg));
				assert_int_equal(u[k].len, ex[ch->id].in_bytes / 2);
			}
		}
		done += (unsigned)n;
	}
	assert_true(sent > 65536);
	assert_int_equal(avail_idx(f), (uint16_t)sent);
	assert_int_equal(used_idx(f), (uint16_t)sent);
	assert_int_equal(vr_split_drv_free(&f->sdrv), num);
	assert_int_equal(vr_split_drv_in_flight(&f->sdrv), 0);
	assert_int_equal(vr_split_dev_in_flight(&f->sdev), 0);
	free(ex);
	rm(f);
}

static void test_wrap_many_laps(void **state)
{
	(void)state;
	run_laps(4, 0, 70000);
	run_laps(1, 0, 66000);
	run_laps(16, FEAT(VR_F_EVENT_IDX), 70000);
}

static void test_wrap_many_laps_in_order(void **state)
{
	(void)state;
	run_laps(4, FEAT(VR_F_IN_ORDER), 70000);
}

/* ---- Full ring ---------------------------------------------------------------- */

static void test_enospc_and_recovery(void **state)
{
	struct fx *f = mk(4, 0, 0);
	struct vr_seg s[3];
	struct vr_iov iov[4];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(add_one(f, 128 * i, 16, cookie_of(i)), i);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 0);
	assert_int_equal(add_one(f, 0, 16, NULL), VR_ENOSPC);
	assert_int_equal(vr_split_drv_in_flight(&f->sdrv), 4);
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(avail_idx(f), 4);
	assert_int_equal(vr_split_drv_broken(&f->sdrv), 0);

	chain_init(&c, iov, 4);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_push(&f->sdev, c.id, 3), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 1);
	s[0] = seg_at(f, 0, 8);
	s[1] = seg_at(f, 64, 8);
	s[2] = seg_at(f, 128, 8);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 1, 1, NULL), VR_ENOSPC);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 1);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 1, 0, cookie_of(9)), 0);
	/* Free everything and add a chain using the whole table. */
	vr_split_drv_publish(&f->sdrv);
	while (vr_split_dev_pop(&f->sdev, &c) == 0)
		assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, 0), 0);
	vr_split_dev_publish(&f->sdev);
	for (i = 0; i < 4; i++)
		assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 4);
	{
		struct vr_seg four[4] = {seg_at(f, 0, 1), seg_at(f, 8, 2),
					 seg_at(f, 16, 3), seg_at(f, 24, 4)};

		assert_true(vr_split_drv_add(&f->sdrv, four, 2, 2, NULL) >= 0);
		assert_int_equal(vr_split_drv_free(&f->sdrv), 0);
		vr_split_drv_publish(&f->sdrv);
		assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
		assert_int_equal(c.ndesc, 4);
		assert_int_equal(c.in_bytes, 7);
	}
	rm(f);
}

static void test_chain_of_queue_size(void **state)
{
	struct fx *f = mk(8, 0, 0);
	struct vr_seg s[9];
	struct vr_iov iov[8];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;

	(void)state;
	for (i = 0; i < 9; i++)
		s[i] = seg_at(f, 100 * i, 10 + i);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 5, 4, NULL), VR_EINVAL);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 8);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 5, 3, cookie_of(8)), 0);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 0);
	vr_split_drv_publish(&f->sdrv);
	chain_init(&c, iov, 8);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(c.ndesc, 8);
	assert_int_equal(c.n_out, 5);
	assert_int_equal(c.n_in, 3);
	for (i = 0; i < 8; i++) {
		assert_ptr_equal(iov[i].base, fx_ptr(f, s[i].addr));
		assert_int_equal(iov[i].len, 10 + i);
	}
	assert_int_equal(vr_split_dev_push(&f->sdev, c.id, 15 + 16 + 17), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.len, 48);
	assert_ptr_equal(u.cookie, cookie_of(8));
	/* More than 4 GiB of writable bytes is the caller's mistake. */
	{
		struct vr_seg big[2] = {{fx_addr(f, 0), 0xc0000000u},
					{fx_addr(f, 0), 0x40000000u}};

		assert_int_equal(vr_split_drv_add(&f->sdrv, big, 0, 2, NULL), VR_EINVAL);
		big[1].len = 0x3fffffffu; /* exactly UINT32_MAX: fine */
		assert_int_equal(vr_split_drv_add(&f->sdrv, big, 0, 2, NULL) >= 0, 1);
	}
	rm(f);
}

/* Spec 2.7.5.2: the driver MUST NOT add a chain of more than 2^32 bytes in
 * total (readable and writable together); our own device refuses one with
 * VR_EOVERFLOW and breaks the queue, so the driver must refuse it first. */
static void test_drv_chain_total_over_4gib(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_INDIRECT_DESC), 0);
	uint64_t taddr = fx_addr(f, 65536);
	struct vr_seg big[2] = {{fx_addr(f, 0), 0xc0000000u},
				{fx_addr(f, 0), 0x80000000u}};

	(void)state;
	/* Readable 3 GiB + writable 2 GiB. */
	assert_int_equal(vr_split_drv_add(&f->sdrv, big, 1, 1, NULL), VR_EINVAL);
	/* Readable only, 5 GiB. */
	assert_int_equal(vr_split_drv_add(&f->sdrv, big, 2, 0, NULL), VR_EINVAL);
	assert_int_equal(vr_split_drv_add_indirect(&f->sdrv, big, 1, 1, fx_ptr(f, taddr),
						   taddr, NULL), VR_EINVAL);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 8);
	assert_int_equal(vr_split_drv_in_flight(&f->sdrv), 0);
	rm(f);
}

/* ---- Indirect descriptors ------------------------------------------------------ */

static void test_indirect_add(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_INDIRECT_DESC), 0);
	const uint32_t lens[5] = {11, 22, 33, 44, 55};
	uint64_t taddr = fx_addr(f, 65536);
	struct vr_desc *table = fx_ptr(f, taddr);
	struct vr_desc *d = descs(f);
	struct vr_seg s[5];
	struct vr_iov iov[8];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;
	int head;

	(void)state;
	for (i = 0; i < 5; i++)
		s[i] = seg_at(f, 1024 * i, lens[i]);
	head = vr_split_drv_add_indirect(&f->sdrv, s, 2, 3, table, taddr, cookie_of(5));
	assert_int_equal(head, 0);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 7);
	assert_true(vr__le64(d[0].addr) == taddr);
	assert_int_equal(rd32(&d[0].len), 5 * 16);
	assert_int_equal(rd16(&d[0].flags), VR_DESC_F_INDIRECT);
	for (i = 0; i < 5; i++) {
		uint16_t want = (uint16_t)((i < 4 ? VR_DESC_F_NEXT : 0) |
					   (i >= 2 ? VR_DESC_F_WRITE : 0));

		assert_true(vr__le64(table[i].addr) == s[i].addr);
		assert_int_equal(rd32(&table[i].len), lens[i]);
		assert_int_equal(rd16(&table[i].flags), want);
		if (i < 4)
			assert_int_equal(rd16(&table[i].next), i + 1);
	}
	vr_split_drv_publish(&f->sdrv);
	chain_init(&c, iov, 8);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(c.id, 0);
	assert_int_equal(c.ndesc, 1);
	assert_int_equal(c.n_out, 2);
	assert_int_equal(c.n_in, 3);
	assert_int_equal(c.out_bytes, 33);
	assert_int_equal(c.in_bytes, 132);
	for (i = 0; i < 5; i++) {
		assert_ptr_equal(iov[i].base, fx_ptr(f, s[i].addr));
		assert_int_equal(iov[i].len, lens[i]);
	}
	assert_int_equal(vr_split_dev_push(&f->sdev, 0, 132), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.len, 132);
	assert_ptr_equal(u.cookie, cookie_of(5));
	assert_int_equal(vr_split_drv_free(&f->sdrv), 8);

	/* Argument errors. */
	assert_int_equal(vr_split_drv_add_indirect(&f->sdrv, s, 2, 3,
		(struct vr_desc *)(void *)((unsigned char *)table + 8), taddr + 8, NULL),
		VR_EINVAL);
	assert_int_equal(vr_split_drv_add_indirect(&f->sdrv, s, 0, 0, table, taddr, NULL),
			 VR_EINVAL);
	assert_int_equal(vr_split_drv_add_indirect(&f->sdrv, s, 1, 0, NULL, taddr, NULL),
			 VR_EINVAL);
	assert_int_equal(vr_split_drv_add_indirect(&f->sdrv, s, 9, 0, table, taddr, NULL),
			 VR_EINVAL);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 8);
	/* Each indirect chain takes one ring descriptor: 8 fit, not 9. */
	for (i = 0; i < 8; i++)
		assert_int_equal(vr_split_drv_add_indirect(&f->sdrv, s, 1, 1,
			table + 8 * i, taddr + 128 * i, cookie_of(i)) >= 0, 1);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 0);
	assert_int_equal(vr_split_drv_add_indirect(&f->sdrv, s, 1, 1, table + 64,
						   taddr + 1024, NULL), VR_ENOSPC);
	vr_split_drv_publish(&f->sdrv);
	for (i = 0; i < 8; i++) {
		assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
		assert_int_equal(c.n_out, 1);
		assert_int_equal(c.n_in, 1);
		assert_int_equal(c.in_bytes, 22);
		assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, 22), 0);
	}
	vr_split_dev_publish(&f->sdev);
	for (i = 0; i < 8; i++) {
		assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
		assert_int_equal(u.len, 22);
	}
	rm(f);
}

static void test_indirect_enotsup(void **state)
{
	struct fx *f = mk(8, 0, 0);
	uint64_t taddr = fx_addr(f, 65536);
	struct vr_seg s = seg_at(f, 0, 16);

	(void)state;
	assert_int_equal(vr_split_drv_add_indirect(&f->sdrv, &s, 1, 0, fx_ptr(f, taddr),
						   taddr, NULL), VR_ENOTSUP);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 8);
	assert_int_equal(vr_split_drv_in_flight(&f->sdrv), 0);
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(avail_idx(f), 0);
	rm(f);
}

static void put_desc(struct vr_desc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	d->addr = vr__le64(addr);
	d->len = vr__le32(len);
	d->flags = vr__le16(flags);
	d->next = vr__le16(next);
}

/* Spec 2.7.5.3.2: the device handles N direct descriptors followed by one
 * indirect descriptor at the tail (built by hand: our driver never does). */
static void test_direct_then_indirect_tail(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_INDIRECT_DESC), 0);
	struct vr_desc *d = descs(f);
	uint64_t taddr = fx_addr(f, 8192);
	struct vr_desc *t = fx_ptr(f, taddr);
	uint64_t b[5];
	struct vr_iov iov[8];
	struct vr_chain c;
	unsigned i;

	(void)state;
	for (i = 0; i < 5; i++)
		b[i] = fx_addr(f, 100 * i);
	put_desc(&d[2], b[0], 10, VR_DESC_F_NEXT, 5);
	put_desc(&d[5], b[1], 20, VR_DESC_F_NEXT, 6);
	put_desc(&d[6], taddr, 48, VR_DESC_F_INDIRECT, 0);
	put_desc(&t[0], b[2], 30, VR_DESC_F_NEXT, 1);
	put_desc(&t[1], b[3], 40, VR_DESC_F_WRITE | VR_DESC_F_NEXT, 2);
	put_desc(&t[2], b[4], 50, VR_DESC_F_WRITE, 0);
	wr16(&vr_avail_ring(avail_of(f))[0], 2);
	wr16(&avail_of(f)->idx, 1);

	chain_init(&c, iov, 8);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(c.id, 2);
	assert_int_equal(c.ndesc, 3);
	assert_int_equal(c.n_out, 3);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(c.out_bytes, 60);
	assert_int_equal(c.in_bytes, 90);
	for (i = 0; i < 5; i++) {
		assert_ptr_equal(iov[i].base, fx_ptr(f, b[i]));
		assert_int_equal(iov[i].len, 10 * (i + 1));
	}
	assert_int_equal(vr_split_dev_push(&f->sdev, 2, 90), 0);
	assert_int_equal(used_idx(f), 1);
	assert_int_equal(rd32(&vr_used_ring(used_of(f))[0].id), 2);
	assert_int_equal(rd32(&vr_used_ring(used_of(f))[0].len), 90);
	assert_int_equal(vr_split_dev_in_flight(&f->sdev), 0);
	rm(f);
}

/* ---- Notification suppression --------------------------------------------------- */

static void test_notify_flags_mode(void **state)
{
	struct fx *f = mk(8, 0, 0);
	struct vr_iov iov[2];
	struct vr_chain c;
	struct vr_used_buf u;

	(void)state;
	chain_init(&c, iov, 2);
	/* Kick side. */
	assert_int_equal(rd16(&used_of(f)->flags), 0);
	assert_int_equal(add_one(f, 0, 8, NULL), 0);
	assert_int_equal(vr_split_drv_kick_prepare(&f->sdrv), 1);
	assert_int_equal(f->sdrv.stats.notify_needed, 1);
	assert_int_equal(vr_split_drv_need_notify(&f->sdrv), 0); /* nothing new */

	vr_split_dev_suppress_avail_notify(&f->sdev);
	assert_int_equal(rd16(&used_of(f)->flags), VR_USED_F_NO_NOTIFY);
	assert_int_equal(rd16(avail_event(f)), 0); /* flags mode: untouched */
	assert_int_equal(add_one(f, 64, 8, NULL), 1);
	assert_int_equal(vr_split_drv_kick_prepare(&f->sdrv), 0);
	assert_int_equal(f->sdrv.stats.notify_suppressed, 1);

	/* arm: re-enable, and report the two chains already there. */
	assert_int_equal(vr_split_dev_arm_avail_notify(&f->sdev), 2);
	assert_int_equal(rd16(&used_of(f)->flags), 0);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_arm_avail_notify(&f->sdev), 0);
	/* Without EVENT_IDX avail_event is ignored, even if it says "no". */
	wr16(avail_event(f), 0x7777);
	assert_int_equal(add_one(f, 128, 8, NULL), 2);
	assert_int_equal(vr_split_drv_kick_prepare(&f->sdrv), 1);

	/* Interrupt side. */
	vr_split_drv_suppress_used_notify(&f->sdrv);
	assert_int_equal(rd16(&avail_of(f)->flags), VR_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(rd16(used_event(f)), 0);
	assert_int_equal(vr_split_dev_complete(&f->sdev, 0, 1), 0);
	assert_int_equal(vr_split_dev_notify_prepare(&f->sdev), 0);
	assert_int_equal(f->sdev.stats.notify_suppressed, 1);
	assert_int_equal(vr_split_drv_arm_used_notify(&f->sdrv), 1); /* one pending */
	assert_int_equal(rd16(&avail_of(f)->flags), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(vr_split_drv_arm_used_notify(&f->sdrv), 0);
	wr16(used_event(f), 0x7777); /* ignored without EVENT_IDX */
	assert_int_equal(vr_split_dev_complete(&f->sdev, 1, 1), 0);
	assert_int_equal(vr_split_dev_notify_prepare(&f->sdev), 1);
	assert_int_equal(f->sdev.stats.notify_needed, 1);
	assert_int_equal(vr_split_dev_notify_prepare(&f->sdev), 0); /* nothing new */
	rm(f);
}

/* With EVENT_IDX, one publish of k chains from old; avail_event = old + off. */
static void drv_event_case(struct fx *f, unsigned k, int off, int want)
{
	uint16_t old = avail_idx(f);
	unsigned i;

	for (i = 0; i < k; i++)
		assert_true(add_one(f, 64 * i, 8, NULL) >= 0);
	vr_split_drv_publish(&f->sdrv);
	wr16(avail_event(f), (uint16_t)(old + off));
	assert_int_equal(vr_split_drv_need_notify(&f->sdrv), want);
	drain(f);
}

static void test_notify_event_idx_driver(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_EVENT_IDX), 0);

	(void)state;
	/* Notify exactly when avail_event lies in [old, new). */
	drv_event_case(f, 3, 0, 1);
	drv_event_case(f, 3, 1, 1);
	drv_event_case(f, 3, 2, 1);
	drv_event_case(f, 3, 3, 0);
	drv_event_case(f, 3, 4, 0);
	drv_event_case(f, 3, -1, 0);
	drv_event_case(f, 1, 0, 1);
	drv_event_case(f, 1, 1, 0);
	drv_event_case(f, 8, 7, 1);
	drv_event_case(f, 8, 8, 0);
	drv_event_case(f, 2, 100, 0);
	drv_event_case(f, 2, -100, 0);
	/* used->flags is ignored with EVENT_IDX. */
	wr16(&used_of(f)->flags, VR_USED_F_NO_NOTIFY);
	drv_event_case(f, 1, 0, 1);
	wr16(&used_of(f)->flags, 0);
	drv_event_case(f, 1, 5, 0);
	/* Nothing published since the last call: 0 whatever the event. */
	wr16(avail_event(f), avail_idx(f));
	assert_int_equal(vr_split_drv_need_notify(&f->sdrv), 0);
	rm(f);
}

static void dev_event_case(struct fx *f, unsigned k, int off, int want)
{
	struct vr_iov iov[2];
	struct vr_chain c;
	struct vr_used_buf u;
	uint16_t old = used_idx(f);
	unsigned i;

	chain_init(&c, iov, 2);
	for (i = 0; i < k; i++)
		assert_true(add_one(f, 64 * i, 8, NULL) >= 0);
	vr_split_drv_publish(&f->sdrv);
	for (i = 0; i < k; i++) {
		assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
		assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, 0), 0);
	}
	vr_split_dev_publish(&f->sdev);
	wr16(used_event(f), (uint16_t)(old + off));
	assert_int_equal(vr_split_dev_need_notify(&f->sdev), want);
	for (i = 0; i < k; i++)
		assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
}

static void test_notify_event_idx_device(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_EVENT_IDX), 0);

	(void)state;
	dev_event_case(f, 3, 0, 1);
	dev_event_case(f, 3, 2, 1);
	dev_event_case(f, 3, 3, 0);
	dev_event_case(f, 3, -1, 0);
	dev_event_case(f, 1, 0, 1);
	dev_event_case(f, 1, 1, 0);
	dev_event_case(f, 8, 7, 1);
	dev_event_case(f, 8, 8, 0);
	/* avail->flags is ignored with EVENT_IDX. */
	wr16(&avail_of(f)->flags, VR_AVAIL_F_NO_INTERRUPT);
	dev_event_case(f, 2, 1, 1);
	wr16(&avail_of(f)->flags, 0);
	dev_event_case(f, 2, 2, 0);
	assert_int_equal(vr_split_dev_need_notify(&f->sdev), 0); /* nothing new */
	rm(f);
}

/* One message all the way round, with both notification checks, so that
 * every index and "last notified" mark moves by one. */
static void roundtrip1(struct fx *f)
{
	struct vr_iov iov[1];
	struct vr_chain c;
	struct vr_used_buf u;

	chain_init(&c, iov, 1);
	assert_true(add_one(f, 0, 4, NULL) >= 0);
	assert_true(vr_split_drv_kick_prepare(&f->sdrv) >= 0);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, 4), 0);
	assert_true(vr_split_dev_notify_prepare(&f->sdev) >= 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
}

/* k chains from the current index; both sides' event indexes absolute. */
static void wrap_case(struct fx *f, unsigned k, uint16_t drv_ev, int drv_want,
		      uint16_t dev_ev, int dev_want)
{
	struct vr_iov iov[1];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;

	chain_init(&c, iov, 1);
	for (i = 0; i < k; i++)
		assert_true(add_one(f, 0, 4, NULL) >= 0);
	vr_split_drv_publish(&f->sdrv);
	wr16(avail_event(f), drv_ev);
	assert_int_equal(vr_split_drv_need_notify(&f->sdrv), drv_want);
	for (i = 0; i < k; i++) {
		assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
		assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, 0), 0);
	}
	vr_split_dev_publish(&f->sdev);
	wr16(used_event(f), dev_ev);
	assert_int_equal(vr_split_dev_need_notify(&f->sdev), dev_want);
	for (i = 0; i < k; i++)
		assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
}

static void test_notify_event_idx_wrap(void **state)
{
	struct fx *f = mk(4, FEAT(VR_F_EVENT_IDX), 0);

	(void)state;
	/* The arithmetic itself, across the 16-bit wrap. */
	assert_int_equal(vr_need_event(0xffff, 1, 0xfffe), 1);
	assert_int_equal(vr_need_event(0xfffe, 1, 0xfffe), 1);
	assert_int_equal(vr_need_event(0, 1, 0xfffe), 1);
	assert_int_equal(vr_need_event(1, 1, 0xfffe), 0);
	assert_int_equal(vr_need_event(0xfffd, 1, 0xfffe), 0);
	assert_int_equal(vr_need_event(0, 0, 0xffff), 0);
	assert_int_equal(vr_need_event(0xffff, 0, 0xffff), 1);
	assert_int_equal(vr_need_event(5, 5, 5), 0);

	/* Through both queues, indexes just below the wrap. */
	while (avail_idx(f) != 65533)
		roundtrip1(f);
	assert_int_equal(used_idx(f), 65533);
	wrap_case(f, 1, 0, 0, 0, 0);                 /* [65533, 65534) */
	wrap_case(f, 3, 65535, 1, 0, 1);             /* [65534, 1) */
	assert_int_equal(avail_idx(f), 1);
	assert_int_equal(used_idx(f), 1);
	wrap_case(f, 1, 0xffff, 0, 1, 1);            /* [1, 2) */
	wrap_case(f, 2, 1, 0, 4, 0);                 /* [2, 4) */
	wrap_case(f, 2, 5, 1, 0xfffe, 0);            /* [4, 6) */
	rm(f);
}

static void test_arm_and_suppress_event_idx(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_EVENT_IDX), 0);
	struct vr_iov iov[1];
	struct vr_chain c;
	struct vr_used_buf u;

	(void)state;
	chain_init(&c, iov, 1);
	/* Driver: arm with nothing pending. */
	assert_int_equal(vr_split_drv_arm_used_notify(&f->sdrv), 0);
	assert_int_equal(rd16(used_event(f)), 0);
	assert_int_equal(rd16(&avail_of(f)->flags), 0); /* flags stay 0 */
	assert_int_equal(add_one(f, 0, 4, NULL), 0);
	assert_int_equal(vr_split_drv_kick_prepare(&f->sdrv), 1);
	/* Device: arm with one chain pending -> 1, avail_event = last_avail. */
	assert_int_equal(vr_split_dev_arm_avail_notify(&f->sdev), 1);
	assert_int_equal(rd16(avail_event(f)), 0);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_arm_avail_notify(&f->sdev), 0);
	assert_int_equal(rd16(avail_event(f)), 1);
	assert_int_equal(rd16(&used_of(f)->flags), 0);
	assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, 1), 0);
	assert_int_equal(vr_split_dev_notify_prepare(&f->sdev), 1); /* used_event 0 */
	assert_int_equal(vr_split_drv_arm_used_notify(&f->sdrv), 1);  /* pending */
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(vr_split_drv_arm_used_notify(&f->sdrv), 0);
	assert_int_equal(rd16(used_event(f)), 1);

	/* Suppress: event just behind, so the next publish does not cross it. */
	vr_split_dev_suppress_avail_notify(&f->sdev);
	assert_int_equal(rd16(avail_event(f)), 0);
	assert_int_equal(rd16(&used_of(f)->flags), 0);
	vr_split_drv_suppress_used_notify(&f->sdrv);
	assert_int_equal(rd16(used_event(f)), 0);
	assert_int_equal(rd16(&avail_of(f)->flags), 0);
	assert_int_equal(add_one(f, 0, 4, NULL) >= 0, 1);
	assert_int_equal(add_one(f, 64, 4, NULL) >= 0, 1);
	assert_int_equal(vr_split_drv_kick_prepare(&f->sdrv), 0);
	assert_int_equal(vr_split_dev_arm_avail_notify(&f->sdev), 2);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, 1), 0);
	assert_int_equal(vr_split_dev_notify_prepare(&f->sdev), 0);
	assert_int_equal(f->sdev.stats.notify_suppressed, 1);
	rm(f);
}

/* ---- IN_ORDER ----------------------------------------------------------------- */

static void test_in_order_sequential_alloc(void **state)
{
	struct fx *f = mk(4, FEAT(VR_F_IN_ORDER), 0);
	struct vr_desc *d = descs(f);
	struct vr_seg s[3];
	struct vr_iov iov[4];
	struct vr_chain c;
	struct vr_used_buf u;

	(void)state;
	s[0] = seg_at(f, 0, 10);
	s[1] = seg_at(f, 100, 20);
	s[2] = seg_at(f, 200, 30);
	chain_init(&c, iov, 4);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 2, 1, cookie_of(0)), 0);
	assert_int_equal(rd16(&d[0].next), 1);
	assert_int_equal(rd16(&d[1].next), 2);
	assert_int_equal(rd16(&d[0].flags), VR_DESC_F_NEXT);
	assert_int_equal(rd16(&d[2].flags), VR_DESC_F_WRITE);
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_push(&f->sdev, c.id, 30), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.len, 30);
	/* Next chain starts at 3 and wraps to 0, 1. */
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 2, 1, cookie_of(1)), 3);
	assert_int_equal(rd16(&d[3].next), 0);
	assert_int_equal(rd16(&d[3].flags), VR_DESC_F_NEXT);
	assert_int_equal(rd16(&d[0].next), 1);
	assert_int_equal(rd16(&d[0].flags), VR_DESC_F_NEXT);
	assert_int_equal(rd16(&d[1].flags), VR_DESC_F_WRITE);
	assert_true(vr__le64(d[1].addr) == s[2].addr);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 1, 0, cookie_of(2)), 2);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 0);
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(c.id, 3);
	assert_int_equal(c.n_out, 2);
	assert_int_equal(c.n_in, 1);
	assert_ptr_equal(iov[2].base, fx_ptr(f, s[2].addr));
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(c.id, 2);
	rm(f);
}

static void test_in_order_complete_order_enforced(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_IN_ORDER), 0);
	struct vr_iov iov[1];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;

	(void)state;
	chain_init(&c, iov, 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(add_one(f, 64 * i, 8, cookie_of(i)), i);
	vr_split_drv_publish(&f->sdrv);
	for (i = 0; i < 3; i++)
		assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_complete(&f->sdev, 1, 8), VR_ESTATE);
	assert_int_equal(vr_split_dev_complete(&f->sdev, 2, 8), VR_ESTATE);
	assert_int_equal(vr_split_dev_complete(&f->sdev, 0, 8), 0);
	assert_int_equal(vr_split_dev_complete(&f->sdev, 2, 8), VR_ESTATE);
	assert_int_equal(vr_split_dev_complete(&f->sdev, 1, 7), 0);
	assert_int_equal(vr_split_dev_complete(&f->sdev, 2, 6), 0);
	assert_int_equal(vr_split_dev_broken(&f->sdev), 0);
	vr_split_dev_publish(&f->sdev);
	assert_int_equal(used_idx(f), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
		assert_int_equal(u.id, i);
		assert_int_equal(u.len, 8 - i);
		assert_ptr_equal(u.cookie, cookie_of(i));
	}
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), VR_EAGAIN);
	rm(f);
}

static void test_in_order_batch(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_IN_ORDER), 0);
	struct vr_used_elem *ur = vr_used_ring(used_of(f));
	struct vr_iov iov[2];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;

	(void)state;
	chain_init(&c, iov, 2);
	assert_int_equal(vr_split_dev_complete_in_order(&f->sdev, 1, 0), VR_EINVAL);
	for (i = 0; i < 4; i++) {
		struct vr_seg s[2] = {seg_at(f, 1024 * i, 5), seg_at(f, 1024 * i + 512,
								      100 * (i + 1))};

		assert_int_equal(vr_split_drv_add(&f->sdrv, s, 1, 1, cookie_of(i)),
				 2 * i);
	}
	vr_split_drv_publish(&f->sdrv);
	for (i = 0; i < 4; i++) {
		assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
		assert_int_equal(c.id, 2 * i);
	}
	for (i = 0; i < 8; i++) {
		wr32(&ur[i].id, 0xdeadbeef);
		wr32(&ur[i].len, 0xdeadbeef);
	}
	assert_int_equal(vr_split_dev_complete_in_order(&f->sdev, 0, 1), VR_EINVAL);
	assert_int_equal(vr_split_dev_complete_in_order(&f->sdev, 5, 1), VR_EINVAL);
	assert_int_equal(vr_split_dev_complete_in_order(&f->sdev, 3, 17), 0);
	assert_int_equal(vr_split_dev_in_flight(&f->sdev), 1);
	assert_int_equal(used_idx(f), 0);
	vr_split_dev_publish(&f->sdev);
	assert_int_equal(used_idx(f), 3);
	assert_int_equal(rd32(&ur[0].id), 4); /* the batch's last head */
	assert_int_equal(rd32(&ur[0].len), 17);
	assert_int_equal(rd32(&ur[1].id), 0xdeadbeef); /* untouched */
	assert_int_equal(rd32(&ur[2].len), 0xdeadbeef);
	/* The driver gets all three: full length for the skipped ones. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
		assert_int_equal(u.id, 2 * i);
		assert_ptr_equal(u.cookie, cookie_of(i));
		assert_int_equal(u.len, i < 2 ? 100 * (i + 1) : 17);
	}
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), VR_EAGAIN);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 6);
	/* Now the single remaining chain, then a plain complete after it. */
	assert_int_equal(vr_split_dev_complete_in_order(&f->sdev, 1, 5), 0);
	vr_split_dev_publish(&f->sdev);
	assert_int_equal(rd32(&ur[3].id), 6);
	assert_int_equal(rd32(&ur[3].len), 5);
	assert_int_equal(used_idx(f), 4);
	assert_int_equal(vr_split_drv_arm_used_notify(&f->sdrv), 1);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.id, 6);
	assert_int_equal(u.len, 5);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 8);
	assert_int_equal(add_one(f, 0, 9, NULL), 0); /* cursor wrapped to 0 */
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_push(&f->sdev, c.id, 9), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.len, 9);
	rm(f);

	/* Without IN_ORDER the batch call is refused. */
	f = mk(8, 0, 0);
	assert_int_equal(add_one(f, 0, 9, NULL), 0);
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_complete_in_order(&f->sdev, 1, 0), VR_ENOTSUP);
	assert_int_equal(used_idx(f), 0);
	assert_int_equal(vr_split_dev_in_flight(&f->sdev), 1);
	rm(f);
}

/* ---- E2BIG, clamping, reset --------------------------------------------------- */

static void test_e2big(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_INDIRECT_DESC), 0);
	struct vr_seg s[5];
	struct vr_iov iov[5];
	struct vr_chain c;
	uint64_t taddr = fx_addr(f, 65536);
	unsigned i;

	(void)state;
	for (i = 0; i < 5; i++)
		s[i] = seg_at(f, 64 * i, 8 + i);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 3, 2, cookie_of(0)), 0);
	assert_int_equal(vr_split_drv_add_indirect(&f->sdrv, s, 2, 3, fx_ptr(f, taddr),
						   taddr, cookie_of(1)), 5);
	vr_split_drv_publish(&f->sdrv);

	chain_init(&c, iov, 4);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), VR_E2BIG);
	assert_int_equal(vr_split_dev_broken(&f->sdev), 0);
	assert_int_equal(vr_split_dev_in_flight(&f->sdev), 0);
	assert_int_equal(vr_split_dev_avail(&f->sdev), 2);
	chain_init(&c, NULL, 0);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), VR_E2BIG);
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, &c, 1), VR_E2BIG);
	chain_init(&c, iov, 5);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(c.id, 0);
	assert_int_equal(c.n_out, 3);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(c.in_bytes, 11 + 12);
	for (i = 0; i < 5; i++)
		assert_ptr_equal(iov[i].base, fx_ptr(f, s[i].addr));
	/* The same through an indirect table. */
	chain_init(&c, iov, 1);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), VR_E2BIG);
	assert_int_equal(vr_split_dev_broken(&f->sdev), 0);
	assert_int_equal(vr_split_dev_in_flight(&f->sdev), 1);
	chain_init(&c, iov, 5);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(c.id, 5);
	assert_int_equal(c.n_out, 2);
	assert_int_equal(c.n_in, 3);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), VR_EAGAIN);
	rm(f);
}

static void test_clamp_used_len(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_IN_ORDER), VR_QF_CLAMP_USED_LEN);
	struct vr_seg s[2];
	struct vr_iov iov[2];
	struct vr_chain c;
	struct vr_used_buf u;

	(void)state;
	s[0] = seg_at(f, 0, 28);
	s[1] = seg_at(f, 512, 100);
	chain_init(&c, iov, 2);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 1, 1, NULL), 0);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 1, 0, NULL), 2); /* TX */
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 1, 1, NULL), 3);
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_push(&f->sdev, c.id, 150), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.len, 100);
	assert_int_equal(f->sdrv.stats.used_len_clamped, 1);
	/* An rpmsg-style remote reports 28 on a TX buffer: clamped to 0. */
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_push(&f->sdev, c.id, 28), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.len, 0);
	assert_int_equal(f->sdrv.stats.used_len_clamped, 2);
	/* Exactly the writable length is not clamped. */
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_push(&f->sdev, c.id, 100), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.len, 100);
	assert_int_equal(f->sdrv.stats.used_len_clamped, 2);
	assert_int_equal(vr_split_drv_broken(&f->sdrv), 0);
	rm(f);

	/* The same on a plain (not in-order) queue. */
	f = mk(8, 0, VR_QF_CLAMP_USED_LEN);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 1, 1, NULL), 0);
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_push(&f->sdev, c.id, 0xffffffffu), 0);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	assert_int_equal(u.len, 100);
	assert_int_equal(f->sdrv.stats.used_len_clamped, 1);
	assert_int_equal(vr_split_drv_broken(&f->sdrv), 0);
	rm(f);
}

static void test_reset_after_break(void **state)
{
	struct fx *f = mk(8, 0, 0);
	struct vr_iov iov[2];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i;

	(void)state;
	chain_init(&c, iov, 2);
	/* Break the device: a head out of range. */
	wr16(&vr_avail_ring(avail_of(f))[0], 200);
	wr16(&avail_of(f)->idx, 1);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), VR_EHEAD);
	assert_int_equal(vr_split_dev_broken(&f->sdev), VR_EHEAD);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), VR_EBROKEN);
	/* Break the driver: a used id not in flight. */
	assert_int_equal(add_one(f, 0, 8, NULL), 0);
	wr32(&vr_used_ring(used_of(f))[0].id, 5);
	wr16(&used_of(f)->idx, 1);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), VR_EUSEDID);
	assert_int_equal(vr_split_drv_broken(&f->sdrv), VR_EUSEDID);
	assert_int_equal(add_one(f, 0, 8, NULL), VR_EBROKEN);

	vr_split_drv_reset(&f->sdrv);
	vr_split_dev_reset(&f->sdev);
	assert_int_equal(vr_split_drv_broken(&f->sdrv), 0);
	assert_int_equal(vr_split_dev_broken(&f->sdev), 0);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 8);
	assert_int_equal(vr_split_drv_in_flight(&f->sdrv), 0);
	assert_int_equal(avail_idx(f), 0);
	assert_int_equal(used_idx(f), 0);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), VR_EAGAIN);
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), VR_EAGAIN);
	for (i = 0; i < 20; i++) {
		assert_true(add_one(f, 0, 8, cookie_of(i)) >= 0);
		assert_true(vr_split_drv_kick_prepare(&f->sdrv) >= 0);
		assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
		assert_int_equal(vr_split_dev_push(&f->sdev, c.id, i % 9), 0);
		assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
		assert_ptr_equal(u.cookie, cookie_of(i));
		assert_int_equal(u.len, i % 9);
	}
	assert_int_equal(avail_idx(f), 20);
	rm(f);
}

/* ---- Set-up errors ------------------------------------------------------------- */

static void test_init_errors(void **state)
{
	struct fx *f = mk(8, 0, 0);
	struct vr_split_drv drv;
	struct vr_split_dev dev;
	struct vr_queue_cfg cfg = f->cfg;
	struct vr_split_areas a = f->sa, bad;
	size_t ds = vr_split_drv_state_size(8), vs = vr_split_dev_state_size(8);
	unsigned char *st = f->drv_state, *sv = f->dev_state;
	const uint32_t bad_num[] = {0, 3, 6, 65536, 32769, 0xffffffffu};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad_num) / sizeof(bad_num[0]); i++) {
		cfg.num = bad_num[i];
		assert_int_equal(vr_split_drv_state_size(bad_num[i]), 0);
		assert_int_equal(vr_split_dev_state_size(bad_num[i]), 0);
		assert_int_equal(vr_split_drv_init(&drv, &cfg, &a, st, 1 << 20), VR_EINVAL);
		assert_int_equal(vr_split_dev_init(&dev, &cfg, &a, sv, 1 << 20), VR_EINVAL);
	}
	cfg.num = 8;
	cfg.features = FEAT(VR_F_RING_PACKED);
	assert_int_equal(vr_split_drv_init(&drv, &cfg, &a, st, ds), VR_EINVAL);
	assert_int_equal(vr_split_dev_init(&dev, &cfg, &a, sv, vs), VR_EINVAL);
	cfg.features = 0;
	assert_int_equal(vr_split_drv_init(NULL, &cfg, &a, st, ds), VR_EINVAL);
	assert_int_equal(vr_split_drv_init(&drv, NULL, &a, st, ds), VR_EINVAL);
	assert_int_equal(vr_split_drv_init(&drv, &cfg, NULL, st, ds), VR_EINVAL);
	assert_int_equal(vr_split_drv_init(&drv, &cfg, &a, NULL, ds), VR_EINVAL);
	assert_int_equal(vr_split_dev_init(NULL, &cfg, &a, sv, vs), VR_EINVAL);
	assert_int_equal(vr_split_dev_init(&dev, &cfg, &a, NULL, vs), VR_EINVAL);
	bad = a;
	bad.used = NULL;
	assert_int_equal(vr_split_dev_init(&dev, &cfg, &bad, sv, vs), VR_EINVAL);
	/* Misaligned areas. */
	bad = a;
	bad.desc = (unsigned char *)a.desc + 8;
	assert_int_equal(vr_split_drv_init(&drv, &cfg, &bad, st, ds), VR_EALIGN);
	assert_int_equal(vr_split_dev_init(&dev, &cfg, &bad, sv, vs), VR_EALIGN);
	bad = a;
	bad.avail = (unsigned char *)a.avail + 1;
	assert_int_equal(vr_split_drv_init(&drv, &cfg, &bad, st, ds), VR_EALIGN);
	assert_int_equal(vr_split_dev_init(&dev, &cfg, &bad, sv, vs), VR_EALIGN);
	bad = a;
	bad.used = (unsigned char *)a.used + 2;
	assert_int_equal(vr_split_drv_init(&drv, &cfg, &bad, st, ds), VR_EALIGN);
	assert_int_equal(vr_split_dev_init(&dev, &cfg, &bad, sv, vs), VR_EALIGN);
	/* Misaligned private state. */
	assert_int_equal(vr_split_drv_init(&drv, &cfg, &a, st + 2, ds), VR_EALIGN);
	assert_int_equal(vr_split_dev_init(&dev, &cfg, &a, sv + 1, vs), VR_EALIGN);
	/* Private state too small. */
	assert_int_equal(vr_split_drv_init(&drv, &cfg, &a, st, ds - 1), VR_ERANGE);
	assert_int_equal(vr_split_dev_init(&dev, &cfg, &a, sv, vs - 1), VR_ERANGE);
	/* Overlapping areas. */
	bad = a;
	bad.used = (unsigned char *)a.desc + 64;
	assert_int_equal(vr_split_drv_init(&drv, &cfg, &bad, st, ds), VR_EINVAL);
	assert_int_equal(vr_split_dev_init(&dev, &cfg, &bad, sv, vs), VR_EINVAL);
	/* And the real thing works, at both ends of the size range. */
	assert_int_equal(vr_split_drv_init(&drv, &cfg, &a, st, ds), 0);
	assert_int_equal(vr_split_dev_init(&dev, &cfg, &a, sv, vs), 0);
	rm(f);
	f = mk(1, 0, 0);
	roundtrip1(f);
	rm(f);
	f = mk(32768, 0, 0);
	roundtrip1(f);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 32768);
	rm(f);
}

static void test_areas_from_region(void **state)
{
	unsigned char *base = aligned_alloc(4096, 16384);
	struct vr_split_areas a;
	struct vr_layout l;

	(void)state;
	assert_non_null(base);
	assert_int_equal(vr_split_layout(4, 4096, &l), 0);
	assert_int_equal(l.desc_off, 0);
	assert_int_equal(l.driver_off, 64);
	assert_int_equal(l.device_off, 4096);
	assert_int_equal(l.total, 4096 + 38);
	assert_int_equal(vr_split_layout(4, 4, &l), 0);
	assert_int_equal(l.device_off, 80); /* 64 + 14 rounded up to 4 */
	assert_int_equal(l.total, 118);
	assert_int_equal(vr_split_layout(0, 4096, &l), VR_EINVAL);
	assert_int_equal(vr_split_layout(4, 2, &l), VR_EINVAL);
	assert_int_equal(vr_split_layout(4, 4, NULL), VR_EINVAL);

	assert_int_equal(vr_split_areas_from_region(&a, base, 16384, 0, 4096), VR_EINVAL);
	assert_int_equal(vr_split_areas_from_region(&a, base, 16384, 3, 4096), VR_EINVAL);
	assert_int_equal(vr_split_areas_from_region(&a, base, 16384, 65536, 4096),
			 VR_EINVAL);
	assert_int_equal(vr_split_areas_from_region(&a, base, 16384, 4, 0), VR_EINVAL);
	assert_int_equal(vr_split_areas_from_region(&a, base, 16384, 4, 2), VR_EINVAL);
	assert_int_equal(vr_split_areas_from_region(&a, base, 16384, 4, 6), VR_EINVAL);
	assert_int_equal(vr_split_areas_from_region(NULL, base, 16384, 4, 4), VR_EINVAL);
	assert_int_equal(vr_split_areas_from_region(&a, NULL, 16384, 4, 4), VR_EINVAL);
	assert_int_equal(vr_split_areas_from_region(&a, base + 8, 16000, 4, 4096),
			 VR_EALIGN);
	assert_int_equal(vr_split_areas_from_region(&a, base, 4096 + 37, 4, 4096),
			 VR_ERANGE);
	assert_int_equal(vr_split_areas_from_region(&a, base, 4096 + 38, 4, 4096), 0);
	assert_ptr_equal(a.desc, base);
	assert_ptr_equal(a.avail, base + 64);
	assert_ptr_equal(a.used, base + 4096);
	free(base);
}

/* ---- Cache hooks: recorded ------------------------------------------------------ */

struct hook_ev {
	char op; /* 'c' clean, 'i' invalidate */
	const unsigned char *p;
	size_t len;
	uint16_t avail_idx_now; /* avail->idx in memory when called */
	uint16_t used_idx_now;
};

struct hook_log {
	struct hook_ev e[1024];
	unsigned n;
	struct fx *f;
};

static void hook_push(struct hook_log *l, char op, const void *p, size_t len)
{
	assert_true(l->n < 1024);
	l->e[l->n].op = op;
	l->e[l->n].p = p;
	l->e[l->n].len = len;
	l->e[l->n].avail_idx_now = avail_idx(l->f);
	l->e[l->n].used_idx_now = used_idx(l->f);
	l->n++;
}

static void log_clean(void *ctx, const void *p, size_t len)
{
	hook_push(ctx, 'c', p, len);
}

static void log_inval(void *ctx, const void *p, size_t len)
{
	hook_push(ctx, 'i', p, len);
}

/* First event at or after @from of kind @op covering [p, p + len). */
static int covered(const struct hook_log *l, char op, const void *p, size_t len,
		   unsigned from)
{
	const unsigned char *b = p;
	unsigned i;

	for (i = from; i < l->n; i++)
		if (l->e[i].op == op && l->e[i].p <= b && b + len <= l->e[i].p + l->e[i].len)
			return (int)i;
	return -1;
}

static unsigned count_op(const struct hook_log *l, char op)
{
	unsigned i, n = 0;

	for (i = 0; i < l->n; i++)
		n += l->e[i].op == op;
	return n;
}

static struct vr_queue_cfg hooked_cfg(struct fx *f, struct hook_log *l)
{
	struct vr_queue_cfg cfg = f->cfg;

	memset(l, 0, sizeof(*l));
	l->f = f;
	cfg.mem.clean = log_clean;
	cfg.mem.invalidate = log_inval;
	cfg.mem.ctx = l;
	return cfg;
}

static void test_cache_hooks_driver(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_INDIRECT_DESC), 0);
	struct hook_log *l = calloc(1, sizeof(*l));
	struct vr_queue_cfg cfg;
	struct vr_desc *d = descs(f);
	uint16_t *ring = vr_avail_ring(avail_of(f));
	uint64_t taddr = fx_addr(f, 65536);
	struct vr_seg s[3];
	struct vr_iov iov[4];
	struct vr_chain c;
	struct vr_used_buf u;
	unsigned i, mark;
	int k;

	(void)state;
	assert_non_null(l);
	cfg = hooked_cfg(f, l);
	assert_int_equal(vr_split_drv_init(&f->sdrv, &cfg, &f->sa, f->drv_state,
					   vr_split_drv_state_size(8)), 0);
	/* init zeroes and cleans the driver's areas. */
	assert_true(covered(l, 'c', d, vr_split_desc_bytes(8), 0) >= 0);
	assert_true(covered(l, 'c', avail_of(f), vr_split_avail_bytes(8), 0) >= 0);

	l->n = 0;
	s[0] = seg_at(f, 0, 64);
	s[1] = seg_at(f, 100, 32);
	s[2] = seg_at(f, 4096, 128);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 2, 1, NULL), 0);
	for (i = 0; i < 3; i++) {
		k = covered(l, 'c', &d[i], sizeof(d[i]), 0);
		assert_true(k >= 0);
		assert_int_equal(l->e[k].avail_idx_now, 0); /* before publish */
	}
	assert_true(covered(l, 'c', fx_ptr(f, s[0].addr), 64, 0) >= 0);
	assert_true(covered(l, 'c', fx_ptr(f, s[1].addr), 32, 0) >= 0);
	k = covered(l, 'c', &ring[0], 2, 0);
	assert_true(k >= 0);
	assert_int_equal(rd16(&ring[0]), 0);
	assert_int_equal(count_op(l, 'i'), 0);
	mark = l->n;
	vr_split_drv_publish(&f->sdrv);
	/* publish may clean the whole area before the store; one clean of
	 * the index must come after it. */
	k = covered(l, 'c', &avail_of(f)->idx, 2, mark);
	while (k >= 0 && l->e[k].avail_idx_now != 1)
		k = covered(l, 'c', &avail_of(f)->idx, 2, (unsigned)k + 1);
	assert_true(k >= 0);
	assert_int_equal(l->e[k].avail_idx_now, 1); /* after the store */

	/* A readable buffer outside the window: refused, nothing changed. */
	{
		struct vr_seg out = {f->region_len - 10, 20};

		assert_int_equal(vr_split_drv_add(&f->sdrv, &out, 1, 0, NULL), VR_EFAULT);
		assert_int_equal(vr_split_drv_free(&f->sdrv), 5);
		assert_int_equal(vr_split_drv_in_flight(&f->sdrv), 1);
		vr_split_drv_publish(&f->sdrv);
		assert_int_equal(avail_idx(f), 1);
	}

	/* Indirect: the table is cleaned too. */
	l->n = 0;
	k = vr_split_drv_add_indirect(&f->sdrv, s, 2, 1, fx_ptr(f, taddr), taddr, NULL);
	assert_int_equal(k, 3);
	assert_true(covered(l, 'c', fx_ptr(f, taddr), 48, 0) >= 0);
	assert_true(covered(l, 'c', &d[3], 16, 0) >= 0);
	assert_true(covered(l, 'c', &ring[1], 2, 0) >= 0);
	assert_true(covered(l, 'c', fx_ptr(f, s[1].addr), 32, 0) >= 0);
	vr_split_drv_publish(&f->sdrv);

	/* Collecting: invalidate used->idx, then the entry. */
	chain_init(&c, iov, 4);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_push(&f->sdev, c.id, 5), 0);
	l->n = 0;
	assert_int_equal(vr_split_drv_get_used(&f->sdrv, &u), 0);
	{
		int a = covered(l, 'i', &used_of(f)->idx, 2, 0);
		int b = covered(l, 'i', &vr_used_ring(used_of(f))[0], 8, 0);

		assert_true(a >= 0);
		assert_true(b > a);
	}
	/* Notification control. */
	l->n = 0;
	assert_int_equal(vr_split_drv_need_notify(&f->sdrv), 1);
	assert_true(covered(l, 'i', &used_of(f)->flags, 2, 0) >= 0);
	l->n = 0;
	vr_split_drv_suppress_used_notify(&f->sdrv);
	assert_true(covered(l, 'c', &avail_of(f)->flags, 2, 0) >= 0);
	l->n = 0;
	assert_int_equal(vr_split_drv_arm_used_notify(&f->sdrv), 0);
	{
		int a = covered(l, 'c', &avail_of(f)->flags, 2, 0);
		int b = covered(l, 'i', &used_of(f)->idx, 2, 0);

		assert_true(a >= 0);
		assert_true(b > a);
	}
	free(l);
	rm(f);
}

static void test_cache_hooks_device(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_INDIRECT_DESC), 0);
	struct hook_log *l = calloc(1, sizeof(*l));
	struct vr_queue_cfg cfg;
	struct vr_desc *d = descs(f);
	uint16_t *ring = vr_avail_ring(avail_of(f));
	uint64_t taddr = fx_addr(f, 65536);
	struct vr_seg s[4];
	struct vr_iov iov[4];
	struct vr_chain c;
	unsigned i;
	int ia, is, k;

	(void)state;
	assert_non_null(l);
	cfg = hooked_cfg(f, l);
	assert_int_equal(vr_split_dev_init(&f->sdev, &cfg, &f->sa, f->dev_state,
					   vr_split_dev_state_size(8)), 0);
	assert_true(covered(l, 'c', used_of(f), vr_split_used_bytes(8), 0) >= 0);

	s[0] = seg_at(f, 0, 64);
	s[1] = seg_at(f, 100, 32);
	s[2] = seg_at(f, 4096, 8);
	s[3] = seg_at(f, 8192, 16);
	assert_int_equal(vr_split_drv_add(&f->sdrv, s, 2, 2, NULL), 0);
	vr_split_drv_publish(&f->sdrv);
	l->n = 0;
	chain_init(&c, iov, 4);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	ia = covered(l, 'i', &avail_of(f)->idx, 2, 0);
	is = covered(l, 'i', &ring[0], 2, 0);
	assert_true(ia >= 0);
	assert_true(is > ia);
	for (i = 0; i < 4; i++) {
		k = covered(l, 'i', &d[i], 16, 0);
		assert_true(k > is);
		if (i < 2) /* readable buffers, after their descriptor */
			assert_true(covered(l, 'i', iov[i].base, iov[i].len, 0) > k);
	}
	assert_int_equal(count_op(l, 'c'), 0); /* pop writes nothing */

	l->n = 0;
	assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, 12), 0);
	assert_true(covered(l, 'c', &vr_used_ring(used_of(f))[0], 8, 0) >= 0);
	vr_split_dev_publish(&f->sdev);
	k = covered(l, 'c', &used_of(f)->idx, 2, 0);
	assert_true(k >= 0);
	assert_int_equal(l->e[k].used_idx_now, 1); /* after the store */
	/* Written bytes: all of the first writable segment, 4 of the second. */
	l->n = 0;
	vr_chain_clean_written(&f->sdev.mem, &c, 12);
	assert_int_equal(l->n, 2);
	assert_ptr_equal(l->e[0].p, iov[2].base);
	assert_int_equal(l->e[0].len, 8);
	assert_ptr_equal(l->e[1].p, iov[3].base);
	assert_int_equal(l->e[1].len, 4);

	/* Indirect table invalidated as a whole. */
	assert_int_equal(vr_split_drv_add_indirect(&f->sdrv, s, 2, 2, fx_ptr(f, taddr),
						   taddr, NULL), 4);
	vr_split_drv_publish(&f->sdrv);
	l->n = 0;
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	k = covered(l, 'i', fx_ptr(f, taddr), 64, 0);
	assert_true(k > covered(l, 'i', &d[4], 16, 0));
	assert_true(covered(l, 'i', iov[0].base, 64, 0) > k);

	/* Notification control. */
	l->n = 0;
	assert_int_equal(vr_split_dev_notify_prepare(&f->sdev), 1);
	assert_true(covered(l, 'i', &avail_of(f)->flags, 2, 0) >= 0);
	l->n = 0;
	vr_split_dev_suppress_avail_notify(&f->sdev);
	assert_true(covered(l, 'c', &used_of(f)->flags, 2, 0) >= 0);
	l->n = 0;
	assert_int_equal(vr_split_dev_arm_avail_notify(&f->sdev), 0);
	ia = covered(l, 'c', &used_of(f)->flags, 2, 0);
	assert_true(ia >= 0);
	assert_true(covered(l, 'i', &avail_of(f)->idx, 2, 0) > ia);
	free(l);
	rm(f);
}

static void test_cache_hooks_event_idx(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_EVENT_IDX), 0);
	struct hook_log *l = calloc(1, sizeof(*l));
	struct vr_queue_cfg cfg;
	struct vr_iov iov[1];
	struct vr_chain c;

	(void)state;
	assert_non_null(l);
	cfg = hooked_cfg(f, l);
	assert_int_equal(vr_split_drv_init(&f->sdrv, &cfg, &f->sa, f->drv_state,
					   vr_split_drv_state_size(8)), 0);
	assert_int_equal(vr_split_dev_init(&f->sdev, &cfg, &f->sa, f->dev_state,
					   vr_split_dev_state_size(8)), 0);
	l->n = 0;
	assert_int_equal(vr_split_dev_arm_avail_notify(&f->sdev), 0);
	assert_true(covered(l, 'c', avail_event(f), 2, 0) >= 0);
	assert_int_equal(add_one(f, 0, 8, NULL), 0);
	l->n = 0;
	assert_int_equal(vr_split_drv_kick_prepare(&f->sdrv), 1);
	assert_true(covered(l, 'i', avail_event(f), 2, 0) >= 0);
	l->n = 0;
	assert_int_equal(vr_split_drv_arm_used_notify(&f->sdrv), 0);
	assert_true(covered(l, 'c', used_event(f), 2, 0) >= 0);
	chain_init(&c, iov, 1);
	assert_int_equal(vr_split_dev_pop(&f->sdev, &c), 0);
	assert_int_equal(vr_split_dev_complete(&f->sdev, c.id, 8), 0);
	l->n = 0;
	assert_int_equal(vr_split_dev_notify_prepare(&f->sdev), 1);
	assert_true(covered(l, 'i', used_event(f), 2, 0) >= 0);
	l->n = 0;
	vr_split_dev_suppress_avail_notify(&f->sdev);
	assert_true(covered(l, 'c', avail_event(f), 2, 0) >= 0);
	l->n = 0;
	vr_split_drv_suppress_used_notify(&f->sdrv);
	assert_true(covered(l, 'c', used_event(f), 2, 0) >= 0);
	free(l);
	rm(f);
}

/* ---- Cache hooks: a simulated non-coherent pair ---------------------------------
 * The driver and the device each see the shared region through their own
 * "cache" (a private copy); "RAM" is a third copy. clean copies a range
 * from the caller's cache to RAM, invalidate copies RAM into the caller's
 * cache. Messages only get through when every hook is called at the right
 * place: a missing clean or invalidate shows up as stale bytes. */

#define NC_LEN (64u * 1024u)
#define NC_POOL 16384u

struct nc {
	unsigned char *view[2]; /* 0 driver cache, 1 device cache */
	unsigned char *ram;
	unsigned calls;
};

static unsigned char *nc_ram(struct nc *s, const void *p, size_t len)
{
	const unsigned char *b = p;
	unsigned v;

	for (v = 0; v < 2; v++)
		if (b >= s->view[v] && len <= NC_LEN &&
		    (size_t)(b - s->view[v]) <= NC_LEN - len)
			return s->ram + (b - s->view[v]);
	fail_msg("cache hook on memory outside the region");
	return NULL;
}

static void nc_clean(void *ctx, const void *p, size_t len)
{
	struct nc *s = ctx;

	memcpy(nc_ram(s, p, len), p, len);
	s->calls++;
}

static void nc_inval(void *ctx, const void *p, size_t len)
{
	struct nc *s = ctx;

	memcpy((void *)(uintptr_t)p, nc_ram(s, p, len), len);
	s->calls++;
}

static unsigned char pat(unsigned round, unsigned which, unsigned seg, unsigned i)
{
	return (unsigned char)(round * 31 + which * 7 + seg * 13 + i);
}

static void nc_run(uint64_t features)
{
	const uint32_t num = 8;
	struct nc s;
	struct vr_queue_cfg cd, cv;
	struct vr_split_areas ad, av;
	struct vr_split_drv *drv = calloc(1, sizeof(*drv));
	struct vr_split_dev *dev = calloc(1, sizeof(*dev));
	void *sd = aligned_alloc(64, 4096), *sv = aligned_alloc(64, 4096);
	unsigned round, v;

	assert_non_null(drv);
	assert_non_null(dev);
	for (v = 0; v < 2; v++) {
		s.view[v] = aligned_alloc(4096, NC_LEN);
		assert_non_null(s.view[v]);
		memset(s.view[v], v ? 0x55 : 0xaa, NC_LEN); /* stale garbage */
	}
	s.ram = aligned_alloc(4096, NC_LEN);
	memset(s.ram, 0, NC_LEN);
	s.calls = 0;
	memset(&cd, 0, sizeof(cd));
	cd.num = num;
	cd.features = features;
	cv = cd;
	cd.mem = vr_mem_window(s.view[0], 0, NC_LEN);
	cv.mem = vr_mem_window(s.view[1], 0, NC_LEN);
	cd.mem.clean = cv.mem.clean = nc_clean;
	cd.mem.invalidate = cv.mem.invalidate = nc_inval;
	cd.mem.ctx = cv.mem.ctx = &s;
	assert_int_equal(vr_split_areas_from_region(&ad, s.view[0], NC_POOL, num, 4), 0);
	assert_int_equal(vr_split_areas_from_region(&av, s.view[1], NC_POOL, num, 4), 0);
	assert_int_equal(vr_split_drv_init(drv, &cd, &ad, sd, 4096), 0);
	assert_int_equal(vr_split_dev_init(dev, &cv, &av, sv, 4096), 0);

	for (round = 0; round < 200; round++) {
		struct vr_seg seg[2][8];
		unsigned n_out[2], n_in[2], w, i, j;
		void *ck[2];
		struct vr_iov iov[2][8];
		struct vr_chain c[2];
		struct vr_used_buf u;
		uint64_t taddr[2];

		/* Two chains, A and B; each segment 64 bytes. */
		for (w = 0; w < 2; w++) {
			n_out[w] = 1 + (round + w) % 3;
			n_in[w] = 1 + (round / 3 + w) % 2;
			for (j = 0; j < n_out[w] + n_in[w]; j++) {
				seg[w][j].addr = NC_POOL + w * 8192 + j * 512;
				seg[w][j].len = 64;
				for (i = 0; i < 64 && j < n_out[w]; i++)
					s.view[0][seg[w][j].addr + i] = pat(round, w, j, i);
			}
			taddr[w] = NC_POOL + 16384 + w * 1024;
			ck[w] = cookie_of(round * 2 + w);
		}
		/* 1. device arms: nothing there yet. */
		assert_int_equal(vr_split_dev_arm_avail_notify(dev), 0);
		/* 2. driver adds A (indirectly on odd rounds when it can). */
		for (w = 0; w < 2; w++) {
			int h;

			if ((features & FEAT(VR_F_INDIRECT_DESC)) && (round + w) % 2)
				h = vr_split_drv_add_indirect(drv, seg[w], n_out[w], n_in[w],
					(struct vr_desc *)(void *)(s.view[0] + taddr[w]),
					taddr[w], ck[w]);
			else
				h = vr_split_drv_add(drv, seg[w], n_out[w], n_in[w], ck[w]);
			assert_true(h >= 0);
			/* A was asked for (armed); B not (suppressed below). */
			assert_int_equal(vr_split_drv_kick_prepare(drv), w == 0 ? 1 : 0);
			/* 3. device takes it and reads the payload. */
			chain_init(&c[w], iov[w], 8);
			if (vr_split_dev_pop(dev, &c[w]) != 0)
				fail_msg("features %llx round %u chain %u: pop %s",
					 (unsigned long long)features, round, w,
					 vr_errname(dev->broken));
			assert_int_equal(c[w].id, h);
			assert_int_equal(c[w].n_out, n_out[w]);
			assert_int_equal(c[w].n_in, n_in[w]);
			for (j = 0; j < n_out[w]; j++) {
				const unsigned char *p = iov[w][j].base;

				assert_ptr_equal(p, s.view[1] + seg[w][j].addr);
				for (i = 0; i < 64; i++)
					assert_int_equal(p[i], pat(round, w, j, i));
			}
			if (w == 0)
				vr_split_dev_suppress_avail_notify(dev);
		}
		assert_int_equal(vr_split_dev_pop(dev, &c[0]) == VR_EAGAIN, 1);
		/* 4. driver arms for used buffers: none yet. */
		assert_int_equal(vr_split_drv_arm_used_notify(drv), 0);
		/* 5. device answers in every writable byte, cleans, completes. */
		for (w = 0; w < 2; w++) {
			for (j = n_out[w]; j < n_out[w] + n_in[w]; j++)
				for (i = 0; i < 64; i++)
					((unsigned char *)iov[w][j].base)[i] =
						pat(round, w + 2, j, i);
			vr_chain_clean_written(&cv.mem, &c[w], c[w].in_bytes);
			/* IN_ORDER: every other round, one used entry for both. */
			if ((features & FEAT(VR_F_IN_ORDER)) && round % 2)
				continue;
			assert_int_equal(vr_split_dev_complete(dev, c[w].id,
							       c[w].in_bytes), 0);
		}
		if ((features & FEAT(VR_F_IN_ORDER)) && round % 2)
			assert_int_equal(vr_split_dev_complete_in_order(dev, 2,
									c[1].in_bytes), 0);
		assert_int_equal(vr_split_dev_notify_prepare(dev), 1);
		vr_split_drv_suppress_used_notify(drv);
		/* 6. driver collects, invalidates its buffers, checks them. */
		for (w = 0; w < 2; w++) {
			assert_int_equal(vr_split_drv_get_used(drv, &u), 0);
			assert_ptr_equal(u.cookie, ck[w]);
			assert_int_equal(u.len, 64 * n_in[w]);
			for (j = n_out[w]; j < n_out[w] + n_in[w]; j++) {
				unsigned char *p = s.view[0] + seg[w][j].addr;

				vr_mem_invalidate(&cd.mem, p, 64);
				for (i = 0; i < 64; i++)
					assert_int_equal(p[i], pat(round, w + 2, j, i));
			}
		}
		assert_int_equal(vr_split_drv_get_used(drv, &u), VR_EAGAIN);
		assert_int_equal(vr_split_drv_free(drv), num);
	}
	assert_true(s.calls > 200 * 10);
	free(s.view[0]);
	free(s.view[1]);
	free(s.ram);
	free(sd);
	free(sv);
	free(drv);
	free(dev);
}

static void test_cache_noncoherent_sim(void **state)
{
	(void)state;
	nc_run(0);
	nc_run(FEAT(VR_F_EVENT_IDX));
	nc_run(FEAT(VR_F_INDIRECT_DESC) | FEAT(VR_F_EVENT_IDX));
	nc_run(FEAT(VR_F_IN_ORDER) | FEAT(VR_F_INDIRECT_DESC));
}

/* ---- Error strings -------------------------------------------------------------- */

static void test_strerror(void **state)
{
	int codes[32];
	unsigned n = 0, i, j;
	int e;

	(void)state;
	codes[n++] = VR_OK;
	for (e = VR_EAGAIN; e >= VR_EBROKEN; e--)
		codes[n++] = e;
	for (e = VR_EPROTO_FIRST; e >= VR_EPROTO_LAST; e--)
		codes[n++] = e;
	assert_int_equal(n, 26);
	for (i = 0; i < n; i++) {
		const char *t = vr_strerror(codes[i]), *nm = vr_errname(codes[i]);

		assert_non_null(t);
		assert_non_null(nm);
		assert_true(strlen(t) > 0);
		assert_true(strncmp(nm, "VR_", 3) == 0);
		assert_string_not_equal(t, "unknown error");
		assert_string_not_equal(nm, "VR_E?");
		assert_int_equal(vr_is_protocol_error(codes[i]),
				 codes[i] <= -16 && codes[i] >= -31);
		for (j = 0; j < i; j++) {
			assert_string_not_equal(t, vr_strerror(codes[j]));
			assert_string_not_equal(nm, vr_errname(codes[j]));
		}
	}
	assert_string_equal(vr_errname(VR_ELOOP), "VR_ELOOP");
	assert_string_equal(vr_errname(VR_EUSEDLEN), "VR_EUSEDLEN");
	assert_string_equal(vr_errname(VR_OK), "VR_OK");
	assert_string_equal(vr_strerror(-10), "unknown error");
	assert_string_equal(vr_strerror(-32), "unknown error");
	assert_string_equal(vr_strerror(-1000), "unknown error");
	assert_string_equal(vr_errname(-15), "VR_E?");
	assert_string_equal(vr_errname(5), "VR_OK"); /* a count */
	assert_string_equal(vr_strerror(5), vr_strerror(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_chain_roundtrip),
		cmocka_unit_test(test_multi_segment_chains),
		cmocka_unit_test(test_batching),
		cmocka_unit_test(test_push_and_complete_errors),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_wrap_many_laps),
		cmocka_unit_test(test_wrap_many_laps_in_order),
		cmocka_unit_test(test_enospc_and_recovery),
		cmocka_unit_test(test_chain_of_queue_size),
		cmocka_unit_test(test_drv_chain_total_over_4gib),
		cmocka_unit_test(test_indirect_add),
		cmocka_unit_test(test_indirect_enotsup),
		cmocka_unit_test(test_direct_then_indirect_tail),
		cmocka_unit_test(test_notify_flags_mode),
		cmocka_unit_test(test_notify_event_idx_driver),
		cmocka_unit_test(test_notify_event_idx_device),
		cmocka_unit_test(test_notify_event_idx_wrap),
		cmocka_unit_test(test_arm_and_suppress_event_idx),
		cmocka_unit_test(test_in_order_sequential_alloc),
		cmocka_unit_test(test_in_order_complete_order_enforced),
		cmocka_unit_test(test_in_order_batch),
		cmocka_unit_test(test_e2big),
		cmocka_unit_test(test_clamp_used_len),
		cmocka_unit_test(test_reset_after_break),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_areas_from_region),
		cmocka_unit_test(test_cache_hooks_driver),
		cmocka_unit_test(test_cache_hooks_device),
		cmocka_unit_test(test_cache_hooks_event_idx),
		cmocka_unit_test(test_cache_noncoherent_sim),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
