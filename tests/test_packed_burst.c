/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packed ring's burst calls (vr_packed_drv_add_burst,
 * vr_packed_dev_pop_burst, vr_packed_dev_complete_burst,
 * vr_packed_drv_get_used_burst) against the single-message calls.
 *
 * The differential test runs two identical rings side by side, one driven
 * by the single calls in a loop (stopping where a burst stops), the other
 * by the bursts, with the same random operations: batches of chains of 1
 * to 4 segments, indirect chains, ring sizes that wrap at odd places,
 * IN_ORDER on and off, cache hooks on and off, the queue flags. A hostile
 * peer corrupts descriptors on both rings alike (available descriptors for
 * the device, used descriptors for the driver) at random places, in the
 * middle of bursts. After every step both must agree on everything: return
 * codes, ids, chains, lengths, cookies, the ring bytes, the private state
 * and the queue objects' fields. The single-segment calls
 * (vr_packed_drv_add_bufs, vr_packed_dev_pop_bufs) take part in the same
 * run against vr_packed_drv_add and vr_packed_dev_pop with one iov entry.
 * Then the bursts' own contract: partial bursts, the first entry's error
 * code, VR_ENOSPC, VR_E2BIG, VR_EBROKEN; and two threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include <vring/vring.h>

#define PKD VR_FEATURE(VR_F_RING_PACKED)
#define F_IND VR_FEATURE(VR_F_INDIRECT_DESC)
#define F_EVT VR_FEATURE(VR_F_EVENT_IDX)
#define F_ORD VR_FEATURE(VR_F_IN_ORDER)

#define POOL_BYTES (64u * 1024u)
#define MAXB 12   /* largest burst */
#define MAXSEG 4

/* ---- Random numbers (xorshift, seeded per run) -------------------------- */

static uint32_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static unsigned pick(unsigned n)
{
	return n ? rnd() % n : 0;
}

/* ---- One ring: region, queues, hook counters ---------------------------- */

struct side {
	unsigned char *region;
	size_t region_len, ring_len, pool_off;
	struct vr_packed_areas areas;
	struct vr_packed_drv drv;
	struct vr_packed_dev dev;
	void *drv_state, *dev_state;
	size_t drv_state_len, dev_state_len;
	unsigned long cleans, invalidates;
	uint64_t clean_sum; /* offsets and lengths of the calls, summed */
};

static void hook_clean(void *ctx, const void *p, size_t len)
{
	struct side *s = (struct side *)ctx;

	s->cleans++;
	s->clean_sum += (uint64_t)((const unsigned char *)p - s->region) * 31u + len;
}

static void hook_invalidate(void *ctx, const void *p, size_t len)
{
	struct side *s = (struct side *)ctx;

	s->invalidates++;
	s->clean_sum += (uint64_t)((const unsigned char *)p - s->region) * 7u + len;
}

struct cfgx {
	uint32_t num;
	uint64_t features;
	uint32_t qflags;
	bool hooks;
	uint64_t bus_base; /* the window's bus address (the region's start) */
};

static void side_init(struct side *s, const struct cfgx *c)
{
	struct vr_queue_cfg cfg;
	struct vr_layout lay;

	memset(s, 0, sizeof(*s));
	assert_int_equal(vr_packed_layout(c->num, &lay), 0);
	s->ring_len = lay.total;
	s->pool_off = (lay.total + 63) & ~(size_t)63;
	s->region_len = s->pool_off + POOL_BYTES;
	s->region = aligned_alloc(4096, (s->region_len + 4095) & ~(size_t)4095);
	assert_non_null(s->region);
	memset(s->region, 0, s->region_len);
	assert_int_equal(vr_packed_areas_from_region(&s->areas, s->region,
						     lay.total, c->num), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = c->num;
	cfg.features = c->features | PKD;
	cfg.flags = c->qflags;
	cfg.mem = vr_mem_window(s->region, c->bus_base, s->region_len);
	if (c->hooks) {
		cfg.mem.clean = hook_clean;
		cfg.mem.invalidate = hook_invalidate;
		cfg.mem.ctx = s;
	}
	s->drv_state_len = vr_packed_drv_state_size(c->num);
	s->dev_state_len = vr_packed_dev_state_size(c->num);
	/* Exactly the size asked for: a read past an array indexed by a
	 * peer's id is outside the buffer (ASan sees it). */
	s->drv_state = malloc(s->drv_state_len);
	s->dev_state = malloc(s->dev_state_len);
	assert_non_null(s->drv_state);
	assert_non_null(s->dev_state);
	memset(s->drv_state, 0, s->drv_state_len);
	memset(s->dev_state, 0, s->dev_state_len);
	assert_int_equal(vr_packed_drv_init(&s->drv, &cfg, &s->areas, s->drv_state,
					    s->drv_state_len), 0);
	assert_int_equal(vr_packed_dev_init(&s->dev, &cfg, &s->areas, s->dev_state,
					    s->dev_state_len), 0);
}

static void side_fini(struct side *s)
{
	free(s->region);
	free(s->drv_state);
	free(s->dev_state);
}

/* Both rings hold the same bytes and both queue objects the same state. */
static void same_state(const struct side *a, const struct side *b)
{
	const struct vr_packed_drv *x = &a->drv, *y = &b->drv;
	const struct vr_packed_dev *u = &a->dev, *v = &b->dev;

	/* The ring, and the start of the pool where indirect tables go (the
	 * rest of the pool is written by nobody). */
	assert_memory_equal(a->region, b->region, a->pool_off + 1024);
	assert_memory_equal(a->dev_state, b->dev_state, a->dev_state_len);
	/* Driver slots hold cookies (equal values on both sides). */
	assert_memory_equal(a->drv_state, b->drv_state, a->drv_state_len);
	assert_int_equal(a->cleans, b->cleans);
	assert_int_equal(a->invalidates, b->invalidates);
	assert_true(a->clean_sum == b->clean_sum);

	assert_int_equal(x->next_avail, y->next_avail);
	assert_int_equal(x->next_used, y->next_used);
	assert_int_equal(x->num_free, y->num_free);
	assert_int_equal(x->in_flight, y->in_flight);
	assert_int_equal(x->held, y->held);
	if (x->held) {
		assert_int_equal(x->held_pos, y->held_pos);
		assert_int_equal(x->held_flags, y->held_flags);
	}
	assert_int_equal(x->unpub, y->unpub);
	assert_int_equal(x->avail_wrap, y->avail_wrap);
	assert_int_equal(x->used_wrap, y->used_wrap);
	assert_int_equal(x->batch_end, y->batch_end);
	if (x->batch_end != VR__NONE)
		assert_int_equal(x->batch_len, y->batch_len);
	assert_int_equal(x->broken, y->broken);
	assert_true(x->stats.used_len_clamped == y->stats.used_len_clamped);
	if (!x->in_order)
		assert_int_equal(x->free_id, y->free_id);

	assert_int_equal(u->next_avail, v->next_avail);
	assert_int_equal(u->next_used, v->next_used);
	assert_int_equal(u->in_flight, v->in_flight);
	assert_int_equal(u->desc_in_flight, v->desc_in_flight);
	assert_int_equal(u->order_gap, v->order_gap);
	assert_true(u->io_one == v->io_one);
	assert_int_equal(u->held, v->held);
	if (u->held) {
		assert_int_equal(u->held_pos, v->held_pos);
		assert_int_equal(u->held_flags, v->held_flags);
	}
	assert_int_equal(u->unpub, v->unpub);
	assert_int_equal(u->avail_wrap, v->avail_wrap);
	assert_int_equal(u->used_wrap, v->used_wrap);
	assert_int_equal(u->broken, v->broken);
}

/* ---- The reference: single calls in a loop, stopping where a burst does -- */

static int ref_add(struct vr_packed_drv *q, const struct vr_add *adds,
		   unsigned n, uint16_t *ids)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		int id = vr_packed_drv_add(q, adds[i].seg, adds[i].n_out,
					   adds[i].n_in, adds[i].cookie);

		if (id < 0)
			return i ? (int)i : id;
		ids[i] = (uint16_t)id;
	}
	return (int)n;
}

static int ref_pop(struct vr_packed_dev *q, struct vr_chain *c, unsigned max)
{
	unsigned n;

	for (n = 0; n < max; n++) {
		int err = vr_packed_dev_pop(q, &c[n]);

		if (err == VR_EAGAIN)
			break;
		if (err < 0)
			return n ? (int)n : err;
	}
	return (int)n;
}

static int ref_complete(struct vr_packed_dev *q, const struct vr_done *d,
			unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		int err = vr_packed_dev_complete(q, d[i].id, d[i].len);

		if (err < 0)
			return i ? (int)i : err;
	}
	return (int)n;
}

static int ref_get_used(struct vr_packed_drv *q, struct vr_used_buf *u,
			unsigned max)
{
	unsigned n;

	for (n = 0; n < max; n++) {
		int err = vr_packed_drv_get_used(q, &u[n]);

		if (err == VR_EAGAIN)
			break;
		if (err < 0)
			return n ? (int)n : err;
	}
	return (int)n;
}

/* ---- The differential run ----------------------------------------------- */

struct pend {
	uint16_t id;
	uint32_t in_bytes;
};

struct run {
	struct cfgx cfg;
	struct side a, b;  /* a: single calls; b: bursts */
	struct pend pend[1024]; /* device: popped, not completed, oldest first */
	unsigned npend;
	unsigned long steps, adds, pops, dones, useds, breaks, corrupt, e2big;
	unsigned long fast_pops; /* chains of one descriptor popped */
	/* The single-segment calls: messages added, chains popped, popped
	 * chains that were empty, VR_E2BIG and other first-entry codes. */
	unsigned long buf_adds, buf_pops, buf_empty, buf_e2big, buf_codes;
};

/* Write the same bytes into both rings (the hostile peer). */
static void poke16(struct run *r, size_t off, uint16_t v)
{
	memcpy(r->a.region + off, &v, 2);
	memcpy(r->b.region + off, &v, 2);
}

static void poke32(struct run *r, size_t off, uint32_t v)
{
	memcpy(r->a.region + off, &v, 4);
	memcpy(r->b.region + off, &v, 4);
}

static void poke64(struct run *r, size_t off, uint64_t v)
{
	memcpy(r->a.region + off, &v, 8);
	memcpy(r->b.region + off, &v, 8);
}

static uint16_t peek16(const struct run *r, size_t off)
{
	uint16_t v;

	memcpy(&v, r->a.region + off, 2);
	return v;
}

#define DESC_OFF(pos) ((size_t)(pos) * 16u)

/* Reset both rings after a break (both broke alike: checked before). */
static void reset_both(struct run *r)
{
	vr_packed_drv_reset(&r->a.drv);
	vr_packed_drv_reset(&r->b.drv);
	vr_packed_dev_reset(&r->a.dev);
	vr_packed_dev_reset(&r->b.dev);
	r->npend = 0;
	r->breaks++;
}

static uint64_t pool_addr(const struct run *r, unsigned len)
{
	return r->cfg.bus_base + r->a.pool_off +
	       pick((unsigned)(POOL_BYTES - 4096 - len)) + 1024;
}

static void step_add(struct run *r)
{
	struct vr_seg seg[MAXB][MAXSEG];
	struct vr_add adds[MAXB];
	uint16_t ida[MAXB], idb[MAXB];
	unsigned n = 1 + pick(MAXB), i, j;
	bool zero_ok = (r->cfg.qflags & VR_QF_ZERO_LEN_OK) != 0;
	int ra, rb;

	for (i = 0; i < n; i++) {
		unsigned nseg = pick(4) ? 1 : 1 + pick(MAXSEG);
		unsigned n_out = pick(nseg + 1);

		for (j = 0; j < nseg; j++) {
			seg[i][j].len = 1 + pick(200);
			if (pick(40) == 0)
				seg[i][j].len = 0; /* VR_EINVAL unless zero_ok */
			seg[i][j].addr = pool_addr(r, seg[i][j].len);
		}
		adds[i].seg = seg[i];
		adds[i].n_out = (uint16_t)n_out;
		adds[i].n_in = (uint16_t)(nseg - n_out);
		adds[i].cookie = (void *)(uintptr_t)(0x1000 + r->adds + i);
		if (pick(60) == 0)
			adds[i].seg = NULL;       /* VR_EINVAL */
		if (pick(80) == 0)
			adds[i].n_out = adds[i].n_in = 0; /* VR_EINVAL */
	}
	(void)zero_ok;
	memset(ida, 0xee, sizeof(ida));
	memset(idb, 0xee, sizeof(idb));
	ra = ref_add(&r->a.drv, adds, n, ida);
	rb = vr_packed_drv_add_burst(&r->b.drv, adds, n, pick(8) ? idb : NULL);
	assert_int_equal(ra, rb);
	if (rb > 0 && idb[0] != 0xeeee)
		assert_memory_equal(ida, idb, (size_t)rb * sizeof(ida[0]));
	if (ra > 0)
		r->adds += (unsigned)ra;
}

static void step_add_indirect(struct run *r)
{
	struct vr_seg seg[MAXSEG];
	unsigned nseg = 1 + pick(MAXSEG), n_out = pick(nseg + 1), j;
	size_t toff = r->a.pool_off + 16 * pick(32);
	int ia, ib;

	for (j = 0; j < nseg; j++) {
		seg[j].len = 1 + pick(100);
		seg[j].addr = pool_addr(r, seg[j].len);
	}
	ia = vr_packed_drv_add_indirect(&r->a.drv, seg, n_out, nseg - n_out,
					(struct vr_packed_desc *)(void *)(r->a.region + toff),
					r->cfg.bus_base + toff, (void *)(uintptr_t)0x77);
	ib = vr_packed_drv_add_indirect(&r->b.drv, seg, n_out, nseg - n_out,
					(struct vr_packed_desc *)(void *)(r->b.region + toff),
					r->cfg.bus_base + toff, (void *)(uintptr_t)0x77);
	assert_int_equal(ia, ib);
}

static void chain_equal(const struct run *r, const struct vr_chain *x,
			const struct vr_chain *y)
{
	unsigned k, n;

	assert_int_equal(x->id, y->id);
	assert_int_equal(x->n_out, y->n_out);
	assert_int_equal(x->n_in, y->n_in);
	assert_int_equal(x->ndesc, y->ndesc);
	assert_int_equal(x->out_bytes, y->out_bytes);
	assert_int_equal(x->in_bytes, y->in_bytes);
	n = (unsigned)x->n_out + x->n_in;
	if (n > x->iov_cap)
		n = x->iov_cap;
	for (k = 0; k < n; k++) {
		assert_int_equal((unsigned char *)x->iov[k].base - r->a.region,
				 (unsigned char *)y->iov[k].base - r->b.region);
		assert_int_equal(x->iov[k].len, y->iov[k].len);
	}
}

static void step_pop(struct run *r)
{
	struct vr_chain ca[MAXB], cb[MAXB];
	struct vr_iov ia[MAXB][MAXSEG + 1], ib[MAXB][MAXSEG + 1];
	unsigned max = 1 + pick(MAXB), i;
	int ra, rb;

	memset(ca, 0, sizeof(ca));
	memset(cb, 0, sizeof(cb));
	for (i = 0; i < max; i++) {
		uint16_t cap = (uint16_t)(pick(30) ? MAXSEG + 1 : pick(3));

		ca[i].iov = ia[i];
		cb[i].iov = ib[i];
		ca[i].iov_cap = cb[i].iov_cap = cap;
		if (pick(300) == 0)
			ca[i].iov = cb[i].iov = NULL; /* VR_EINVAL when cap > 0 */
	}
	ra = ref_pop(&r->a.dev, ca, max);
	rb = vr_packed_dev_pop_burst(&r->b.dev, cb, max);
	assert_int_equal(ra, rb);
	if (ra == VR_E2BIG)
		r->e2big++;
	for (i = 0; ra > 0 && i < (unsigned)ra; i++) {
		chain_equal(r, &ca[i], &cb[i]);
		if (ca[i].ndesc == 1)
			r->fast_pops++;
		assert_true(r->npend < 1024);
		r->pend[r->npend].id = ca[i].id;
		r->pend[r->npend].in_bytes = ca[i].in_bytes;
		r->npend++;
	}
	/* A chain that stopped the burst with E2BIG or a violation: the
	 * partly filled chain must match too. */
	if (ra >= 0 && (unsigned)ra < max && ca[ra].iov)
		chain_equal(r, &ca[ra], &cb[ra]);
	if (ra > 0)
		r->pops += (unsigned)ra;
}

/* add_bufs against add of one segment, in a loop stopping where add_bufs
 * does. */
static void step_add_bufs(struct run *r)
{
	struct vr_add_buf bufs[MAXB];
	uint16_t ida[MAXB], idb[MAXB];
	unsigned n = 1 + pick(MAXB), i;
	bool writable = pick(2) != 0;
	uint16_t *ids = pick(8) ? idb : NULL;
	int ra = 0, rb;

	for (i = 0; i < n; i++) {
		bufs[i].seg.len = 1 + pick(200);
		if (pick(30) == 0)
			bufs[i].seg.len = 0; /* VR_EINVAL unless zero_ok */
		bufs[i].seg.addr = pool_addr(r, bufs[i].seg.len);
		bufs[i].cookie = (void *)(uintptr_t)(0x2000 + r->adds + i);
	}
	if (pick(200) == 0) {
		/* No array: VR_EINVAL (VR_EBROKEN first), nothing changed. */
		rb = vr_packed_drv_add_bufs(&r->b.drv, NULL, n, writable, ids);
		assert_int_equal(rb, r->b.drv.broken ? VR_EBROKEN : VR_EINVAL);
		return;
	}
	memset(ida, 0xee, sizeof(ida));
	memset(idb, 0xee, sizeof(idb));
	for (i = 0; i < n; i++) {
		int id = vr_packed_drv_add(&r->a.drv, &bufs[i].seg, writable ? 0 : 1,
					   writable ? 1 : 0, bufs[i].cookie);

		if (id < 0) {
			ra = i ? (int)i : id;
			break;
		}
		ida[i] = (uint16_t)id;
		ra = (int)(i + 1);
	}
	rb = vr_packed_drv_add_bufs(&r->b.drv, bufs, n, writable, ids);
	assert_int_equal(ra, rb);
	if (rb > 0 && ids)
		assert_memory_equal(ida, idb, (size_t)rb * sizeof(ida[0]));
	if (ra > 0) {
		r->adds += (unsigned)ra;
		r->buf_adds += (unsigned)ra;
	}
	if (ra <= 0)
		r->buf_codes++;
}

/* pop_bufs against pop with one iov entry, in a loop stopping where
 * pop_bufs does, each chain as pop_bufs hands it out. */
static void step_pop_bufs(struct run *r)
{
	struct vr_chain ca[MAXB];
	struct vr_iov ia[MAXB][1];
	struct vr_buf bb[MAXB];
	unsigned max = 1 + pick(MAXB), i;
	int ra, rb;

	if (pick(200) == 0) {
		rb = vr_packed_dev_pop_bufs(&r->b.dev, NULL, max);
		assert_int_equal(rb, r->b.dev.broken ? VR_EBROKEN : VR_EINVAL);
		return;
	}
	memset(ca, 0, sizeof(ca));
	memset(ia, 0xa5, sizeof(ia));
	memset(bb, 0x5a, sizeof(bb));
	for (i = 0; i < max; i++) {
		ca[i].iov = ia[i];
		ca[i].iov_cap = 1;
	}
	ra = ref_pop(&r->a.dev, ca, max);
	rb = vr_packed_dev_pop_bufs(&r->b.dev, bb, max);
	assert_int_equal(ra, rb);
	if (ra == VR_E2BIG)
		r->buf_e2big++;
	else if (ra < 0)
		r->buf_codes++;
	for (i = 0; ra > 0 && i < (unsigned)ra; i++) {
		const struct vr_chain *c = &ca[i];

		assert_int_equal(bb[i].id, c->id);
		assert_true(c->n_out + c->n_in <= 1);
		if (c->n_out + c->n_in == 0) {
			/* An empty chain (VR_QF_ZERO_LEN_OK). */
			assert_null(bb[i].base);
			assert_int_equal(bb[i].len, 0);
			assert_int_equal(bb[i].writable, 0);
			r->buf_empty++;
		} else {
			assert_int_equal((unsigned char *)bb[i].base - r->b.region,
					 (unsigned char *)ia[i][0].base - r->a.region);
			assert_int_equal(bb[i].len, ia[i][0].len);
			assert_int_equal(bb[i].writable, c->n_in);
		}
		if (c->ndesc == 1)
			r->fast_pops++;
		assert_true(r->npend < 1024);
		r->pend[r->npend].id = c->id;
		r->pend[r->npend].in_bytes = c->in_bytes;
		r->npend++;
	}
	if (ra > 0) {
		r->pops += (unsigned)ra;
		r->buf_pops += (unsigned)ra;
	}
}

static void step_complete(struct run *r)
{
	struct vr_done d[MAXB];
	unsigned n = 1 + pick(MAXB), i, k = 0;
	bool in_order = (r->cfg.features & F_ORD) != 0;
	int ra, rb;

	if (in_order && r->npend > 1 && pick(4) == 0) {
		/* One used descriptor for the oldest few (section 2.8.9). */
		unsigned c = 1 + pick(r->npend);
		uint32_t len = pick(50);

		ra = vr_packed_dev_complete_in_order(&r->a.dev, c, len);
		rb = vr_packed_dev_complete_in_order(&r->b.dev, c, len);
		assert_int_equal(ra, rb);
		if (ra == 0) {
			memmove(r->pend, r->pend + c, (r->npend - c) * sizeof(r->pend[0]));
			r->npend -= c;
		}
		return;
	}
	/* Taken from the pending list (oldest first with IN_ORDER, any
	 * order otherwise), now and then an id that is wrong. */
	while (k < n && r->npend > 0) {
		unsigned p = in_order ? 0 : pick(r->npend);

		d[k].id = r->pend[p].id;
		d[k].len = r->pend[p].in_bytes ? pick(r->pend[p].in_bytes + 1) : 0;
		if (pick(50) == 0)
			d[k].len = r->pend[p].in_bytes + 1 + pick(10); /* the device's
								      * own business */
		memmove(r->pend + p, r->pend + p + 1,
			(r->npend - p - 1) * sizeof(r->pend[0]));
		r->npend--;
		k++;
	}
	if (k < n && pick(3) == 0) {
		/* Not taken, taken and completed, or far out of range. */
		d[k].id = (uint16_t)(pick(4) ? pick(r->cfg.num + 2) : 0xffff - pick(4));
		d[k++].len = 0;
	}
	if (k > 1 && pick(40) == 0) {
		struct vr_done t = d[0];

		d[0] = d[1];
		d[1] = t; /* out of order */
	}
	if (k == 0)
		return;
	ra = ref_complete(&r->a.dev, d, k);
	rb = vr_packed_dev_complete_burst(&r->b.dev, d, k);
	assert_int_equal(ra, rb);
	/* What was not completed goes back to the front of the pending
	 * list, in its order: the ids the device still holds. */
	for (i = k; i-- > (ra < 0 ? 0u : (unsigned)ra);) {
		const uint16_t *nd = (const uint16_t *)r->a.dev_state + r->cfg.num;
		unsigned j;
		bool known = d[i].id < r->cfg.num && nd[d[i].id] != 0;

		for (j = 0; j < r->npend && known; j++)
			if (r->pend[j].id == d[i].id)
				known = false; /* the stray pick of a pending id */
		if (!known)
			continue;
		memmove(r->pend + 1, r->pend, r->npend * sizeof(r->pend[0]));
		r->pend[0].id = d[i].id;
		r->pend[0].in_bytes = 0;
		r->npend++;
	}
	if (ra > 0)
		r->dones += (unsigned)ra;
}

static void step_get_used(struct run *r)
{
	struct vr_used_buf ua[MAXB], ub[MAXB];
	unsigned max = 1 + pick(MAXB);
	int ra, rb, i;

	memset(ua, 0, sizeof(ua));
	memset(ub, 0, sizeof(ub));
	ra = ref_get_used(&r->a.drv, ua, max);
	rb = vr_packed_drv_get_used_burst(&r->b.drv, ub, max);
	assert_int_equal(ra, rb);
	for (i = 0; i < ra; i++) {
		assert_ptr_equal(ua[i].cookie, ub[i].cookie);
		assert_int_equal(ua[i].len, ub[i].len);
		assert_int_equal(ua[i].id, ub[i].id);
	}
	if (ra > 0)
		r->useds += (unsigned)ra;
}

/* The hostile driver: rewrite a descriptor the device has yet to take
 * (section B of hostile-inputs.md), on both rings alike. */
static void corrupt_avail(struct run *r)
{
	const unsigned num = r->cfg.num;
	unsigned pos = (r->a.dev.next_avail + pick(4)) % num;
	size_t o = DESC_OFF(pos);
	uint16_t fl = peek16(r, o + 14);
	uint16_t avail = r->a.dev.avail_wrap ? VR_DESC_F_AVAIL : VR_DESC_F_USED;

	if (pos != r->a.dev.next_avail && pick(2))
		avail ^= VR_DESC_F_AVAIL | VR_DESC_F_USED; /* maybe the next wrap */
	switch (pick(16)) {
	case 0: /* the wrap bits of the other wrap, or both, or none */
		poke16(r, o + 14, (uint16_t)(fl ^ (pick(2) ? VR_DESC_F_AVAIL
						      : VR_DESC_F_USED)));
		break;
	case 1: /* id out of range */
		poke16(r, o + 12, (uint16_t)(num + pick(100)));
		break;
	case 2: /* id of a chain in flight */
		if (r->npend)
			poke16(r, o + 12, r->pend[pick(r->npend)].id);
		break;
	case 3: /* zero length */
		poke32(r, o + 8, 0);
		break;
	case 4: /* outside the window: past its end, or before its start */
		if (r->cfg.bus_base && pick(2))
			poke64(r, o, r->cfg.bus_base - 1 - pick(100));
		else
			poke64(r, o, r->cfg.bus_base + r->a.region_len + pick(100));
		break;
	case 5: /* straddles the window's end */
		poke64(r, o, r->cfg.bus_base + r->a.region_len - 4);
		poke32(r, o + 8, 16);
		break;
	case 6: /* addr + len wraps */
		poke64(r, o, UINT64_MAX - pick(8));
		poke32(r, o + 8, 64);
		break;
	case 7: /* NEXT on a lone descriptor: the chain runs on */
		poke16(r, o + 14, (uint16_t)(avail | VR_DESC_F_NEXT));
		break;
	case 8: /* INDIRECT, with a table of a bad size or place */
		poke16(r, o + 14, (uint16_t)(avail | VR_DESC_F_INDIRECT));
		poke32(r, o + 8, (uint32_t)(pick(3) ? 16 * (1 + pick(4)) : 17));
		poke64(r, o, r->cfg.bus_base + r->a.pool_off + 16 * pick(32));
		break;
	case 9: /* INDIRECT and NEXT */
		poke16(r, o + 14, (uint16_t)(avail | VR_DESC_F_INDIRECT |
					     VR_DESC_F_NEXT));
		break;
	case 10: { /* a nested indirect entry in a table */
		size_t t = r->a.pool_off + 16 * pick(32);

		poke16(r, t + 14, VR_DESC_F_INDIRECT);
		poke16(r, o + 14, (uint16_t)(avail | VR_DESC_F_INDIRECT));
		poke64(r, o, r->cfg.bus_base + t);
		poke32(r, o + 8, 16);
		break;
	}
	case 11: /* a readable after a writable: NEXT into a readable one */
		poke16(r, o + 14, (uint16_t)(avail | VR_DESC_F_WRITE |
					     VR_DESC_F_NEXT));
		break;
	case 12: /* a whole ring of NEXT: a loop */
		{
			unsigned k;

			for (k = 0; k < num; k++)
				poke16(r, DESC_OFF((pos + k) % num) + 14,
				       (uint16_t)(VR_DESC_F_AVAIL | VR_DESC_F_USED |
						  VR_DESC_F_NEXT) ^
					       (pick(2) ? VR_DESC_F_USED
							: VR_DESC_F_AVAIL));
		}
		break;
	case 13: /* available in this wrap, a valid buffer, a random id */
		poke64(r, o, pool_addr(r, 8));
		poke32(r, o + 8, 8);
		poke16(r, o + 12, (uint16_t)pick(num));
		poke16(r, o + 14, (uint16_t)(avail | (pick(2) ? VR_DESC_F_WRITE : 0)));
		break;
	case 14: /* huge length */
		poke32(r, o + 8, UINT32_MAX - pick(4));
		break;
	default: /* garbage flags */
		poke16(r, o + 14, (uint16_t)rnd());
		break;
	}
	r->corrupt++;
}

/* The hostile device: write a used descriptor where the driver collects
 * next (section C), on both rings alike. */
static void corrupt_used(struct run *r)
{
	const unsigned num = r->cfg.num;
	unsigned pos = (r->a.drv.next_used + pick(3)) % num;
	size_t o = DESC_OFF(pos);
	uint16_t used = r->a.drv.used_wrap ? (VR_DESC_F_AVAIL | VR_DESC_F_USED) : 0;

	switch (pick(8)) {
	case 0: /* id out of range */
		poke16(r, o + 12, (uint16_t)(num + pick(50)));
		poke16(r, o + 14, used);
		break;
	case 1: /* any id: in flight or not, a head or not, or collected */
		poke16(r, o + 12, (uint16_t)pick(num));
		poke16(r, o + 14, (uint16_t)(used | (pick(2) ? VR_DESC_F_WRITE : 0)));
		break;
	case 2: /* a length past the writable bytes */
		poke32(r, o + 8, 1 + pick(400));
		poke16(r, o + 14, (uint16_t)(used | VR_DESC_F_WRITE));
		break;
	case 3: /* a length without WRITE */
		poke32(r, o + 8, pick(300));
		poke16(r, o + 14, used);
		break;
	case 4: /* the wrong wrap: not used yet, or garbage */
		poke16(r, o + 14, (uint16_t)(used ^ VR_DESC_F_USED));
		break;
	case 5: /* the driver's own id at this position (IN_ORDER head) */
		poke16(r, o + 12, (uint16_t)pos);
		poke32(r, o + 8, pick(64));
		poke16(r, o + 14, (uint16_t)(used | VR_DESC_F_WRITE));
		break;
	default:
		poke16(r, o + 14, (uint16_t)rnd());
		break;
	}
	r->corrupt++;
}

static void run_one(const struct cfgx *cfg, uint32_t seed, unsigned steps,
		    struct run *r)
{
	unsigned s;

	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	rng = seed | 1;
	side_init(&r->a, cfg);
	side_init(&r->b, cfg);
	for (s = 0; s < steps; s++) {
		unsigned op = pick(100);

		if (op < 30) {
			if (pick(3) == 0)
				step_add_bufs(r);
			else
				step_add(r);
		} else if (op < 33) {
			if (cfg->features & F_IND)
				step_add_indirect(r);
		} else if (op < 45) {
			vr_packed_drv_publish(&r->a.drv);
			vr_packed_drv_publish(&r->b.drv);
		} else if (op < 65) {
			if (pick(3) == 0)
				step_pop_bufs(r);
			else
				step_pop(r);
		} else if (op < 80) {
			step_complete(r);
			if (pick(2)) {
				vr_packed_dev_publish(&r->a.dev);
				vr_packed_dev_publish(&r->b.dev);
			}
		} else if (op < 95) {
			step_get_used(r);
		} else if (op < 97) {
			corrupt_avail(r);
		} else {
			corrupt_used(r);
		}
		same_state(&r->a, &r->b);
		if (r->a.drv.broken || r->a.dev.broken) {
			/* The next burst says VR_EBROKEN, like a single call. */
			if (r->a.drv.broken) {
				struct vr_used_buf u;

				assert_int_equal(vr_packed_drv_get_used_burst(&r->b.drv, &u, 1),
						 VR_EBROKEN);
				assert_int_equal(vr_packed_drv_get_used(&r->a.drv, &u),
						 VR_EBROKEN);
				assert_int_equal(vr_packed_drv_add_bufs(&r->b.drv, NULL, 1,
									false, NULL),
						 VR_EBROKEN);
			}
			if (r->a.dev.broken) {
				struct vr_chain c;
				struct vr_iov iov[1];

				memset(&c, 0, sizeof(c));
				c.iov = iov;
				c.iov_cap = 1;
				assert_int_equal(vr_packed_dev_pop_burst(&r->b.dev, &c, 1),
						 VR_EBROKEN);
				assert_int_equal(vr_packed_dev_pop_bufs(&r->b.dev, NULL, 1),
						 VR_EBROKEN);
			}
			reset_both(r);
			same_state(&r->a, &r->b);
		}
		r->steps++;
	}
	side_fini(&r->a);
	side_fini(&r->b);
}

static void test_differential(void **state)
{
	static const uint32_t sizes[] = { 1, 2, 7, 13, 64, 256 };
	static const uint64_t feats[] = { 0, F_ORD, F_IND, F_IND | F_ORD | F_EVT };
	static const uint32_t qflags[] = {
		0, VR_QF_ZERO_LEN_OK, VR_QF_CLAMP_USED_LEN,
		VR_QF_USED_LEN_WITHOUT_WRITE | VR_QF_CLAMP_USED_LEN,
	};
	unsigned long tot_steps = 0, tot_breaks = 0, tot_fast = 0, tot_used = 0,
		      tot_e2big = 0, b_adds = 0, b_pops = 0, b_empty = 0,
		      b_e2big = 0, b_codes = 0;
	unsigned si, fi, hi, qi = 0;
	struct run *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
		for (fi = 0; fi < sizeof(feats) / sizeof(feats[0]); fi++)
			for (hi = 0; hi < 2; hi++) {
				struct cfgx c;

				c.num = sizes[si];
				c.features = feats[fi];
				c.qflags = qflags[qi++ % 4];
				c.hooks = hi != 0;
				/* Every other size: a window at a bus
				 * address other than 0. */
				c.bus_base = si % 2 ? 0x100000000ull + 4096 * si : 0;
				run_one(&c, 0x9e3779b9u * (si * 8 + fi * 2 + hi + 1),
					3000, r);
				tot_steps += r->steps;
				tot_breaks += r->breaks;
				tot_fast += r->fast_pops;
				tot_used += r->useds;
				tot_e2big += r->e2big;
				b_adds += r->buf_adds;
				b_pops += r->buf_pops;
				b_empty += r->buf_empty;
				b_e2big += r->buf_e2big;
				b_codes += r->buf_codes;
			}
	/* The run must have reached what it is meant to compare. */
	assert_true(tot_breaks > 50);
	assert_true(tot_fast > 1000);
	assert_true(tot_used > 1000);
	assert_true(tot_e2big > 0);
	assert_true(b_adds > 1000);
	assert_true(b_pops > 1000);
	assert_true(b_e2big > 0);
	assert_true(b_codes > 50);
	printf("differential: %lu steps, %lu breaks, %lu single-descriptor pops, "
	       "%lu collected, %lu E2BIG\n",
	       tot_steps, tot_breaks, tot_fast, tot_used, tot_e2big);
	printf("single-segment calls: %lu added, %lu popped (%lu empty), "
	       "%lu E2BIG, %lu other first-entry codes\n",
	       b_adds, b_pops, b_empty, b_e2big, b_codes);
	free(r);
}

/* ---- The bursts' own contract -------------------------------------------- */

struct fx2 {
	struct cfgx cfg;
	struct side s;
};

static void fx2_up(struct fx2 *f, uint32_t num, uint64_t feat, uint32_t qflags)
{
	memset(f, 0, sizeof(*f));
	f->cfg.num = num;
	f->cfg.features = feat;
	f->cfg.qflags = qflags;
	side_init(&f->s, &f->cfg);
}

static void make_adds(struct fx2 *f, struct vr_seg *seg, struct vr_add *adds,
		      unsigned n, unsigned n_in)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		seg[i].addr = f->s.pool_off + 64 * i;
		seg[i].len = 32;
		adds[i].seg = &seg[i];
		adds[i].n_out = (uint16_t)(n_in ? 0 : 1);
		adds[i].n_in = (uint16_t)(n_in ? 1 : 0);
		adds[i].cookie = (void *)(uintptr_t)(i + 1);
	}
}

static void test_add_burst_contract(void **state)
{
	struct fx2 f;
	struct vr_seg seg[10], two[2];
	struct vr_add adds[10];
	uint16_t ids[10];
	unsigned i;

	(void)state;
	fx2_up(&f, 8, 0, 0);
	make_adds(&f, seg, adds, 10, 0);
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, adds, 0, ids), 0);
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, NULL, 1, ids), VR_EINVAL);
	/* Partial: 8 fit, the ninth is VR_ENOSPC and stops the burst. */
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, adds, 10, ids), 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(ids[i], i);
	assert_int_equal(vr_packed_drv_free(&f.s.drv), 0);
	/* First entry fails: its code. */
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, adds, 1, ids), VR_ENOSPC);
	/* Nothing visible before publish: the head is held. */
	assert_int_equal(vr_packed_dev_avail(&f.s.dev), 0);
	vr_packed_drv_publish(&f.s.drv);
	assert_int_equal(vr_packed_dev_avail(&f.s.dev), 1);
	side_fini(&f.s);

	/* A bad entry in the middle stops there, with its predecessors
	 * added; at the front, its code. */
	fx2_up(&f, 16, 0, 0);
	make_adds(&f, seg, adds, 4, 1);
	seg[2].len = 0;
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, adds, 4, ids), 2);
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, &adds[2], 2, ids), VR_EINVAL);
	adds[2].seg = NULL;
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, &adds[2], 2, ids), VR_EINVAL);
	/* A two-segment chain in the middle goes through the single call. */
	two[0].addr = f.s.pool_off;
	two[0].len = 10;
	two[1].addr = f.s.pool_off + 100;
	two[1].len = 20;
	adds[2].seg = two;
	adds[2].n_out = 1;
	adds[2].n_in = 1;
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, &adds[2], 2, ids), 2);
	assert_int_equal(vr_packed_drv_in_flight(&f.s.drv), 4);
	assert_int_equal(vr_packed_drv_free(&f.s.drv), 16 - 5);
	/* Broken: VR_EBROKEN before anything else. */
	vr__packed_drv_break(&f.s.drv, VR_EUSEDID);
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, adds, 1, ids), VR_EBROKEN);
	side_fini(&f.s);
}

static void test_pop_complete_burst_contract(void **state)
{
	struct fx2 f;
	struct vr_seg seg[8];
	struct vr_add adds[8];
	struct vr_chain c[8];
	struct vr_iov iov[8][2];
	struct vr_done d[8];
	struct vr_used_buf u[8];
	uint16_t ids[8];
	unsigned i;

	(void)state;
	fx2_up(&f, 8, F_ORD, 0);
	make_adds(&f, seg, adds, 6, 1);
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, adds, 6, ids), 6);
	/* IN_ORDER: ids are the heads' ring positions. */
	for (i = 0; i < 6; i++)
		assert_int_equal(ids[i], i);
	memset(c, 0, sizeof(c));
	for (i = 0; i < 8; i++) {
		c[i].iov = iov[i];
		c[i].iov_cap = 2;
	}
	/* Nothing published: 0, not VR_EAGAIN. */
	assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, c, 8), 0);
	assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, NULL, 8), VR_EINVAL);
	vr_packed_drv_publish(&f.s.drv);
	assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, c, 0), 0);
	/* iov_cap 0 on the fourth: E2BIG stops the burst after three, the
	 * chain stays; alone, it is the code. */
	c[3].iov_cap = 0;
	assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, c, 8), 3);
	assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, &c[3], 1), VR_E2BIG);
	c[3].iov_cap = 2;
	assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, &c[3], 5), 3);
	for (i = 0; i < 6; i++) {
		assert_int_equal(c[i].id, ids[i]);
		assert_int_equal(c[i].n_in, 1);
		assert_int_equal(c[i].in_bytes, 32);
		assert_ptr_equal(c[i].iov[0].base, f.s.region + seg[i].addr);
	}
	/* Complete: IN_ORDER refuses the second before the first. */
	d[0].id = c[1].id;
	d[0].len = 1;
	assert_int_equal(vr_packed_dev_complete_burst(&f.s.dev, d, 1), VR_ESTATE);
	assert_int_equal(vr_packed_dev_complete_burst(&f.s.dev, NULL, 1), VR_EINVAL);
	for (i = 0; i < 6; i++) {
		d[i].id = c[i].id;
		d[i].len = i;
	}
	d[4].id = 7; /* not taken: stops after four */
	assert_int_equal(vr_packed_dev_complete_burst(&f.s.dev, d, 6), 4);
	assert_int_equal(vr_packed_dev_complete_burst(&f.s.dev, &d[4], 2), VR_ESTATE);
	assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, u, 8), 0);
	vr_packed_dev_publish(&f.s.dev);
	assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, NULL, 8), VR_EINVAL);
	assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, u, 3), 3);
	assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, &u[3], 8), 1);
	for (i = 0; i < 4; i++) {
		assert_ptr_equal(u[i].cookie, (void *)(uintptr_t)(i + 1));
		assert_int_equal(u[i].len, i);
		assert_int_equal(u[i].id, i);
	}
	/* The last two, in one used descriptor naming the last (2.8.9). */
	assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 2, 5), 0);
	vr_packed_dev_publish(&f.s.dev);
	assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, u, 8), 2);
	assert_int_equal(u[0].len, 32); /* skipped: fully written */
	assert_int_equal(u[1].len, 5);
	assert_int_equal(vr_packed_drv_free(&f.s.drv), 8);
	/* Broken mid-burst: the count so far, then VR_EBROKEN. */
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, adds, 3, ids), 3);
	vr_packed_drv_publish(&f.s.drv);
	{
		/* The third descriptor (position 0 after the lap) names an
		 * id in flight: VR_EINFLIGHT. */
		uint16_t dup = c[0].id;
		size_t o = 16u * ((6u + 2u) % 8u) + 12u;

		(void)dup;
		memcpy(f.s.region + o, &ids[0], 2);
	}
	assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, c, 8), 2);
	assert_int_equal(vr_packed_dev_broken(&f.s.dev), VR_EINFLIGHT);
	assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, c, 8), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_complete_burst(&f.s.dev, d, 1), VR_EBROKEN);
	side_fini(&f.s);
}

/* A used descriptor naming a chain not in flight, in the middle of a
 * collect burst: the chains before it are returned, the queue breaks. */
static void test_get_used_burst_violation(void **state)
{
	struct fx2 f;
	struct vr_seg seg[4];
	struct vr_add adds[4];
	struct vr_chain c[4];
	struct vr_iov iov[4][1];
	struct vr_done d[4];
	struct vr_used_buf u[4];
	uint16_t ids[4];
	uint16_t bad;
	unsigned i;

	(void)state;
	fx2_up(&f, 16, 0, 0);
	make_adds(&f, seg, adds, 4, 1);
	assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, adds, 4, ids), 4);
	vr_packed_drv_publish(&f.s.drv);
	memset(c, 0, sizeof(c));
	for (i = 0; i < 4; i++) {
		c[i].iov = iov[i];
		c[i].iov_cap = 1;
	}
	assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, c, 4), 4);
	for (i = 0; i < 4; i++) {
		d[i].id = c[i].id;
		d[i].len = 3;
	}
	assert_int_equal(vr_packed_dev_complete_burst(&f.s.dev, d, 4), 4);
	vr_packed_dev_publish(&f.s.dev);
	/* The third used descriptor names the first id again. */
	bad = ids[0];
	memcpy(f.s.region + 16 * 2 + 12, &bad, 2);
	assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, u, 4), 2);
	assert_int_equal(vr_packed_drv_broken(&f.s.drv), VR_EUSEDID);
	assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, u, 4), VR_EBROKEN);
	side_fini(&f.s);
}

/* hostile-inputs #3 / #28: the device holds every ring descriptor (two
 * chains of two), and the driver marks one more available in the next
 * wrap under an id it has not used: more descriptors in flight than the
 * ring holds, VR_EINFLIGHT, from the burst as from the single call. */
static void test_pop_burst_ring_overcommit(void **state)
{
	int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		struct fx2 f;
		struct vr_seg seg[2];
		struct vr_chain c[3];
		struct vr_iov iov[3][2];
		uint16_t v16;
		uint32_t v32;
		uint64_t v64;
		unsigned i;

		fx2_up(&f, 4, 0, 0);
		seg[0].addr = f.s.pool_off;
		seg[0].len = 8;
		seg[1].addr = f.s.pool_off + 64;
		seg[1].len = 8;
		assert_int_equal(vr_packed_drv_add(&f.s.drv, seg, 1, 1, NULL), 0);
		assert_int_equal(vr_packed_drv_add(&f.s.drv, seg, 1, 1, NULL), 1);
		vr_packed_drv_publish(&f.s.drv);
		memset(c, 0, sizeof(c));
		for (i = 0; i < 3; i++) {
			c[i].iov = iov[i];
			c[i].iov_cap = 2;
		}
		assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, c, 2), 2);
		/* Position 0 again, available in wrap 0, id 2, one valid
		 * buffer. */
		v64 = f.s.pool_off + 128;
		memcpy(f.s.region + 0, &v64, 8);
		v32 = 8;
		memcpy(f.s.region + 8, &v32, 4);
		v16 = 2;
		memcpy(f.s.region + 12, &v16, 2);
		v16 = VR_DESC_F_USED; /* avail bits of wrap 0 */
		memcpy(f.s.region + 14, &v16, 2);
		if (pass == 0)
			assert_int_equal(vr_packed_dev_pop(&f.s.dev, &c[2]), VR_EINFLIGHT);
		else
			assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, &c[2], 1),
					 VR_EINFLIGHT);
		assert_int_equal(vr_packed_dev_broken(&f.s.dev), VR_EINFLIGHT);
		side_fini(&f.s);
	}
}

/* pop_bufs and a hostile driver that makes more descriptors available
 * than the ring holds: the room for descriptors in flight is checked per
 * chain, at the first and in the middle of a call. */
static void test_pop_bufs_ring_overcommit(void **state)
{
	int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		struct fx2 f;
		struct vr_seg seg[2];
		struct vr_chain c;
		struct vr_iov iov[2];
		struct vr_buf b[3];
		uint16_t v16;
		uint32_t v32;
		uint64_t v64;

		fx2_up(&f, 4, 0, 0);
		seg[0].addr = f.s.pool_off;
		seg[0].len = 8;
		seg[1].addr = f.s.pool_off + 64;
		seg[1].len = 8;
		/* A chain of two descriptors (id 0, positions 0 and 1), then
		 * (pass 0) another, or (pass 1) two of one descriptor. */
		assert_int_equal(vr_packed_drv_add(&f.s.drv, seg, 1, 1, NULL), 0);
		if (pass == 0) {
			assert_int_equal(vr_packed_drv_add(&f.s.drv, seg, 1, 1, NULL), 1);
		} else {
			assert_int_equal(vr_packed_drv_add(&f.s.drv, seg, 1, 0, NULL), 1);
			assert_int_equal(vr_packed_drv_add(&f.s.drv, seg, 1, 0, NULL), 2);
		}
		vr_packed_drv_publish(&f.s.drv);
		memset(&c, 0, sizeof(c));
		c.iov = iov;
		c.iov_cap = 2;
		assert_int_equal(vr_packed_dev_pop(&f.s.dev, &c), 0);
		if (pass == 0) {
			c.iov_cap = 2;
			assert_int_equal(vr_packed_dev_pop(&f.s.dev, &c), 0);
		}
		/* Position 0 again, available in wrap 0, id 3, one valid
		 * buffer: the ring's four descriptors are in flight (pass 0)
		 * or will be once the two single ones are taken (pass 1). */
		v64 = f.s.pool_off + 128;
		memcpy(f.s.region + 0, &v64, 8);
		v32 = 8;
		memcpy(f.s.region + 8, &v32, 4);
		v16 = 3;
		memcpy(f.s.region + 12, &v16, 2);
		v16 = VR_DESC_F_USED; /* avail bits of wrap 0 */
		memcpy(f.s.region + 14, &v16, 2);
		if (pass == 0) {
			assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 1),
					 VR_EINFLIGHT);
		} else {
			assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 3), 2);
			assert_int_equal(b[0].id, 1);
			assert_int_equal(b[1].id, 2);
			assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 3),
					 VR_EBROKEN);
		}
		assert_int_equal(vr_packed_dev_broken(&f.s.dev), VR_EINFLIGHT);
		side_fini(&f.s);
	}
}

/* VR_QF_USED_LEN_WITHOUT_WRITE (QEMU): get_used_burst takes a used length
 * without WRITE for a chain with writable bytes, and gives 0 for one
 * without; without the flag such a length is 0. As the single call. */
static void test_used_len_without_write_burst(void **state)
{
	int pass;

	(void)state;
	for (pass = 0; pass < 4; pass++) {
		const bool ulww = pass & 1, burst = pass & 2;
		struct fx2 f;
		struct vr_add_buf ab[2];
		struct vr_buf b[2];
		struct vr_used_buf u[2];
		uint16_t v16;
		int n;

		fx2_up(&f, 8, 0, ulww ? VR_QF_USED_LEN_WITHOUT_WRITE : 0);
		ab[0].seg.addr = f.s.pool_off;
		ab[0].seg.len = 100;
		ab[0].cookie = (void *)1;
		ab[1].seg.addr = f.s.pool_off + 128;
		ab[1].seg.len = 50;
		ab[1].cookie = (void *)2;
		assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, &ab[0], 1, true, NULL), 1);
		assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, &ab[1], 1, false, NULL), 1);
		vr_packed_drv_publish(&f.s.drv);
		assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 2), 2);
		assert_int_equal(vr_packed_dev_complete(&f.s.dev, b[0].id, 60), 0);
		assert_int_equal(vr_packed_dev_complete(&f.s.dev, b[1].id, 0), 0);
		vr_packed_dev_publish(&f.s.dev);
		/* The device leaves WRITE out of the first used descriptor and
		 * puts a length in the second, as QEMU may. */
		v16 = VR_DESC_F_AVAIL | VR_DESC_F_USED;
		memcpy(f.s.region + 14, &v16, 2);
		memcpy(f.s.region + 16 + 14, &v16, 2);
		memcpy(f.s.region + 16 + 8, &(uint32_t){ 30 }, 4);
		if (burst) {
			n = vr_packed_drv_get_used_burst(&f.s.drv, u, 2);
		} else {
			for (n = 0; n < 2; n++)
				assert_int_equal(vr_packed_drv_get_used(&f.s.drv, &u[n]), 0);
		}
		assert_int_equal(n, 2);
		assert_int_equal(u[0].len, ulww ? 60 : 0);
		assert_int_equal(u[1].len, 0); /* no writable bytes */
		side_fini(&f.s);
	}
}

/* complete_in_order of one chain (inline when the queue allows it): its
 * codes, with nothing in flight among them, as the compiled call's. */
static void test_complete_in_order_one(void **state)
{
	int pass;

	(void)state;
	for (pass = 0; pass < 3; pass++) {
		struct fx2 f;
		struct vr_add_buf ab;
		struct vr_buf b;
		struct vr_used_buf u;

		/* 0: IN_ORDER; 1: IN_ORDER with cache hooks (compiled);
		 * 2: without IN_ORDER. */
		memset(&f, 0, sizeof(f));
		f.cfg.num = 4;
		f.cfg.features = pass == 2 ? 0 : F_ORD;
		f.cfg.hooks = pass == 1;
		side_init(&f.s, &f.cfg);
		if (pass == 2) {
			assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 0),
					 VR_ENOTSUP);
			side_fini(&f.s);
			continue;
		}
		assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 0), VR_EINVAL);
		ab.seg.addr = f.s.pool_off;
		ab.seg.len = 20;
		ab.cookie = (void *)7;
		assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, &ab, 1, true, NULL), 1);
		vr_packed_drv_publish(&f.s.drv);
		assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, &b, 1), 1);
		assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 2, 0), VR_EINVAL);
		assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 9), 0);
		assert_int_equal(vr_packed_dev_in_flight(&f.s.dev), 0);
		assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 0), VR_EINVAL);
		assert_int_equal(vr_packed_dev_in_flight(&f.s.dev), 0);
		vr_packed_dev_publish(&f.s.dev);
		assert_int_equal(vr_packed_drv_get_used(&f.s.drv, &u), 0);
		assert_int_equal(u.len, 9);
		assert_ptr_equal(u.cookie, (void *)7);
		vr__packed_dev_break(&f.s.dev, VR_EBUFID);
		assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 0), VR_EBROKEN);
		side_fini(&f.s);
	}
}

/* The inline complete_in_order takes a count equal to the queue's io_one:
 * 1 exactly when the short path may run, otherwise a value no count
 * equals. With a chain in flight, every queue that must not take it
 * (no IN_ORDER, cache hooks, broken) answers a count of 0 and of 1 as the
 * compiled call does, and leaves the chain in flight; with cache hooks
 * one chain completed in order is cleaned (the compiled call). */
static void test_complete_in_order_key(void **state)
{
	int pass;

	(void)state;
	for (pass = 0; pass < 4; pass++) {
		struct fx2 f;
		struct vr_add_buf ab;
		struct vr_buf b;
		struct vr_used_buf u;
		unsigned long cleans;

		/* 0: IN_ORDER (short path); 1: without IN_ORDER; 2: IN_ORDER
		 * with cache hooks; 3: IN_ORDER, broken. */
		memset(&f, 0, sizeof(f));
		f.cfg.num = 4;
		f.cfg.features = pass == 1 ? 0 : F_ORD;
		f.cfg.hooks = pass == 2;
		side_init(&f.s, &f.cfg);
		ab.seg.addr = f.s.pool_off;
		ab.seg.len = 20;
		ab.cookie = (void *)5;
		assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, &ab, 1, true, NULL), 1);
		vr_packed_drv_publish(&f.s.drv);
		assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, &b, 1), 1);
		if (pass == 3)
			vr__packed_dev_break(&f.s.dev, VR_EBUFID);
		assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 0, 0),
				 pass == 1 ? VR_ENOTSUP :
				 pass == 3 ? VR_EBROKEN : VR_EINVAL);
		assert_int_equal(vr_packed_dev_in_flight(&f.s.dev), 1);
		cleans = f.s.cleans;
		assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 3),
				 pass == 1 ? VR_ENOTSUP :
				 pass == 3 ? VR_EBROKEN : 0);
		if (pass == 1 || pass == 3) {
			assert_int_equal(vr_packed_dev_in_flight(&f.s.dev), 1);
			side_fini(&f.s);
			continue;
		}
		/* The used descriptor is cleaned with the hooks (once), and
		 * by nobody without them. */
		assert_int_equal(f.s.cleans - cleans, pass == 2 ? 1 : 0);
		assert_int_equal(vr_packed_dev_in_flight(&f.s.dev), 0);
		vr_packed_dev_publish(&f.s.dev);
		assert_int_equal(vr_packed_drv_get_used(&f.s.drv, &u), 0);
		assert_int_equal(u.len, 3);
		assert_ptr_equal(u.cookie, (void *)5);
		side_fini(&f.s);
	}
}

/* The queue's own shortcuts (pop_fast, io_one): a broken queue answers
 * VR_EBROKEN on the short paths too, with a valid chain waiting or a
 * chain in flight; and after an attach that left chains behind, one
 * chain completed in order is the oldest (at next_used + the gap), even
 * when another chain's head sits at next_used. */
static void test_short_path_flags(void **state)
{
	struct fx2 f;
	struct vr_add_buf ab[8];
	struct vr_buf b[8];
	struct vr_chain c;
	struct vr_iov iov[1];
	struct vr_used_buf u[8];
	struct vr_packed_base base = { 3, 0, true, true };
	struct vr_queue_cfg cfg;
	uint16_t id;
	unsigned i;

	(void)state;
	for (i = 0; i < 8; i++) {
		ab[i].seg.len = 16;
		ab[i].cookie = (void *)(uintptr_t)(i + 1);
	}
	/* Broken, a valid chain available: pop, pop_bufs, pop_burst say
	 * VR_EBROKEN and take nothing. */
	fx2_up(&f, 8, 0, 0);
	for (i = 0; i < 8; i++)
		ab[i].seg.addr = f.s.pool_off + 64 * i;
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, ab, 2, false, NULL), 2);
	vr_packed_drv_publish(&f.s.drv);
	vr__packed_dev_break(&f.s.dev, VR_EBUFID);
	memset(&c, 0, sizeof(c));
	c.iov = iov;
	c.iov_cap = 1;
	assert_int_equal(vr_packed_dev_pop(&f.s.dev, &c), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 1), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 2), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, &c, 1), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_in_flight(&f.s.dev), 0);
	side_fini(&f.s);

	/* Broken with a chain in flight: complete_in_order of one says
	 * VR_EBROKEN and returns nothing. */
	fx2_up(&f, 8, F_ORD, 0);
	for (i = 0; i < 8; i++)
		ab[i].seg.addr = f.s.pool_off + 64 * i;
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, ab, 1, true, NULL), 1);
	vr_packed_drv_publish(&f.s.drv);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 1), 1);
	vr__packed_dev_break(&f.s.dev, VR_EBUFID);
	assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 0), VR_EBROKEN);
	assert_int_equal(vr_packed_dev_in_flight(&f.s.dev), 1);
	side_fini(&f.s);

	/* IN_ORDER, an attach at avail 3, used 0 (three chains left
	 * behind), then chains around the ring until one's head is at
	 * next_used: complete_in_order(1) still returns the oldest. */
	fx2_up(&f, 8, F_ORD, 0);
	for (i = 0; i < 8; i++)
		ab[i].seg.addr = f.s.pool_off + 64 * i;
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, ab, 3, true, NULL), 3);
	vr_packed_drv_publish(&f.s.drv);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 3), 3);
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = 8;
	cfg.features = F_ORD | PKD;
	cfg.mem = vr_mem_window(f.s.region, 0, f.s.region_len);
	assert_int_equal(vr_packed_dev_attach(&f.s.dev, &cfg, &f.s.areas, f.s.dev_state,
					      f.s.dev_state_len, &base), 0);
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, &ab[3], 4, true, NULL), 4);
	vr_packed_drv_publish(&f.s.drv);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 8), 4); /* heads 3..6 */
	assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 5), 0); /* 3 */
	vr_packed_dev_publish(&f.s.dev);
	/* The driver takes the used descriptor at 0 as a batch 0..3. */
	assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, u, 8), 4);
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, &ab[0], 3, true, NULL), 3);
	vr_packed_drv_publish(&f.s.drv);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 8), 3); /* heads 7, 0, 1 */
	assert_int_equal(b[2].id, 1); /* a head at next_used (1) */
	assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 6), 0);
	/* The used descriptor at next_used names the oldest chain, 4. */
	memcpy(&id, f.s.region + 16 * 1 + 12, 2);
	assert_int_equal(id, 4);
	assert_int_equal(vr_packed_dev_in_flight(&f.s.dev), 5);
	/* And the rest in order, each the oldest. */
	for (i = 0; i < 5; i++)
		assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 0), 0);
	assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 0), VR_EINVAL);
	side_fini(&f.s);
}

/* The single-segment calls' own contract. */
static void test_bufs_contract(void **state)
{
	struct fx2 f;
	struct vr_add_buf ab[8];
	struct vr_buf b[8];
	struct vr_seg two[2];
	struct vr_chain c;
	struct vr_iov iov[2];
	uint16_t ids[8];
	unsigned i;

	(void)state;
	fx2_up(&f, 8, 0, 0);
	for (i = 0; i < 8; i++) {
		ab[i].seg.addr = f.s.pool_off + 64 * i;
		ab[i].seg.len = 10 + i;
		ab[i].cookie = (void *)(uintptr_t)(100 + i);
	}
	/* Nothing asked: 0; no array: VR_EINVAL; an empty ring: 0. */
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, ab, 0, false, ids), 0);
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, NULL, 1, false, ids), VR_EINVAL);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 0), 0);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, NULL, 1), VR_EINVAL);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 8), 0);
	/* A zero length without VR_QF_ZERO_LEN_OK: first VR_EINVAL, then
	 * the count before it. */
	ab[1].seg.len = 0;
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, &ab[1], 2, false, ids), VR_EINVAL);
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, ab, 3, false, ids), 1);
	assert_int_equal(ids[0], 0);
	ab[1].seg.len = 11;
	/* Two readable and two writable, ids in order off the free list. */
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, &ab[1], 2, false, NULL), 2);
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, &ab[3], 2, true, ids), 2);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], 4);
	/* A chain of two segments between them. */
	two[0].addr = f.s.pool_off + 1024;
	two[0].len = 5;
	two[1].addr = f.s.pool_off + 2048;
	two[1].len = 6;
	assert_int_equal(vr_packed_drv_add(&f.s.drv, two, 1, 1, NULL), 5);
	/* Room for one descriptor more: one of two, then VR_ENOSPC. */
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, &ab[6], 2, false, ids), 1);
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, &ab[7], 1, false, ids), VR_ENOSPC);
	vr_packed_drv_publish(&f.s.drv);
	/* The device: five single ones, stopping before the two-segment
	 * chain, which then says VR_E2BIG and stays. */
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 8), 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(b[i].id, i);
		assert_ptr_equal(b[i].base, f.s.region + f.s.pool_off + 64 * i);
		assert_int_equal(b[i].len, 10 + i);
		assert_int_equal(b[i].writable, i >= 3);
	}
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 8), VR_E2BIG);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 8), VR_E2BIG);
	memset(&c, 0, sizeof(c));
	c.iov = iov;
	c.iov_cap = 2;
	assert_int_equal(vr_packed_dev_pop(&f.s.dev, &c), 0);
	assert_int_equal(c.id, 5);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 8), 1);
	assert_int_equal(b[0].id, 6);
	assert_int_equal(b[0].len, 16);
	assert_int_equal(b[0].writable, 0);
	assert_int_equal(vr_packed_dev_in_flight(&f.s.dev), 7);
	side_fini(&f.s);

	/* VR_QF_ZERO_LEN_OK: a zero-length message is added, and popped as
	 * an empty chain {NULL, 0, id, 0}. */
	fx2_up(&f, 4, F_ORD, VR_QF_ZERO_LEN_OK);
	ab[0].seg.addr = f.s.pool_off;
	ab[0].seg.len = 0;
	ab[1].seg.addr = f.s.pool_off + 64;
	ab[1].seg.len = 7;
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, ab, 2, true, ids), 2);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 1);
	vr_packed_drv_publish(&f.s.drv);
	memset(b, 0x5a, sizeof(b));
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, b, 4), 2);
	assert_null(b[0].base);
	assert_int_equal(b[0].len, 0);
	assert_int_equal(b[0].id, 0);
	assert_int_equal(b[0].writable, 0);
	assert_ptr_equal(b[1].base, f.s.region + f.s.pool_off + 64);
	assert_int_equal(b[1].len, 7);
	assert_int_equal(b[1].writable, 1);
	/* A broken queue: VR_EBROKEN before anything else. */
	vr__packed_drv_break(&f.s.drv, VR_EUSEDID);
	assert_int_equal(vr_packed_drv_add_bufs(&f.s.drv, NULL, 1, false, ids), VR_EBROKEN);
	vr__packed_dev_break(&f.s.dev, VR_EBUFID);
	assert_int_equal(vr_packed_dev_pop_bufs(&f.s.dev, NULL, 1), VR_EBROKEN);
	side_fini(&f.s);
}

/* IN_ORDER, a batched used descriptor (section 2.8.9) naming an id that
 * is not the head of a chain in flight: a chain already collected, a
 * position inside a chain, an id never issued. */
static void test_in_order_used_burst_bad_id(void **state)
{
	static const uint16_t bad[] = { 0, 1, 2, 3, 4, 7, 8, 0xffff };
	unsigned b;

	(void)state;
	for (b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		struct fx2 f;
		struct vr_seg seg[2];
		struct vr_used_buf u[4];
		uint16_t v16;
		uint32_t v32;

		fx2_up(&f, 8, F_ORD, 0);
		seg[0].addr = f.s.pool_off;
		seg[0].len = 8;
		seg[1].addr = f.s.pool_off + 64;
		seg[1].len = 8;
		/* Chains at 0 (one descriptor), 1 (two: 1, 2), 3 (one). */
		assert_int_equal(vr_packed_drv_add(&f.s.drv, seg, 0, 1, NULL), 0);
		assert_int_equal(vr_packed_drv_add(&f.s.drv, seg, 1, 1, NULL), 1);
		assert_int_equal(vr_packed_drv_add(&f.s.drv, seg, 0, 1, NULL), 3);
		vr_packed_drv_publish(&f.s.drv);
		/* The device returns chain 0 alone, then (hostile) a batch. */
		v16 = 0;
		memcpy(f.s.region + 12, &v16, 2);
		v32 = 8;
		memcpy(f.s.region + 8, &v32, 4);
		v16 = VR_DESC_F_AVAIL | VR_DESC_F_USED | VR_DESC_F_WRITE;
		memcpy(f.s.region + 14, &v16, 2);
		assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, u, 4), 1);
		memcpy(f.s.region + 16 + 12, &bad[b], 2);
		memcpy(f.s.region + 16 + 8, &v32, 4);
		memcpy(f.s.region + 16 + 14, &v16, 2);
		if (bad[b] == 1) {
			/* The chain at next_used alone: good. */
			assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, u, 4), 1);
			assert_int_equal(u[0].id, 1);
			assert_int_equal(u[0].len, 8);
		} else if (bad[b] == 3) {
			/* The last chain in flight: a good batch of two. */
			assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, u, 4), 2);
			assert_int_equal(u[0].id, 1);
			assert_int_equal(u[0].len, 8);
			assert_int_equal(u[1].id, 3);
			assert_int_equal(vr_packed_drv_free(&f.s.drv), 8);
		} else {
			assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, u, 4),
					 VR_EUSEDID);
			assert_int_equal(vr_packed_drv_broken(&f.s.drv), VR_EUSEDID);
		}
		side_fini(&f.s);
	}
}

/* ---- Two threads: the acquire and release edges of the bursts, of
 * add_bufs / pop_bufs and of the single pop's short path, under load ------ */

#define TH_MSGS 20000u
#define TH_PAY 16u

struct th {
	struct side s;
	int mode; /* 0: the bursts; 1: add_bufs and pop_bufs; 2: the device
		     pops with single calls (the pop's short path) */
	atomic_int dev_err; /* read by the driver thread while it runs */
	unsigned dev_got;   /* the device thread's, read after the join */
};

static void th_fill(unsigned char *p, unsigned seq)
{
	unsigned i;

	for (i = 0; i < TH_PAY; i++)
		p[i] = (unsigned char)(seq * 13u + i);
}

/* Device: pop a burst, check each payload, complete the burst, publish. */
static void *th_device(void *arg)
{
	struct th *t = (struct th *)arg;
	struct vr_chain c[MAXB];
	struct vr_iov iov[MAXB][1];
	struct vr_buf b[MAXB];
	struct vr_done d[MAXB];
	unsigned i;

	while (t->dev_got < TH_MSGS) {
		int n;

		for (i = 0; i < MAXB; i++) {
			c[i].iov = iov[i];
			c[i].iov_cap = 1;
		}
		if (t->mode == 2) {
			for (n = 0; n < (int)(1 + t->dev_got % MAXB); n++) {
				int err = vr_packed_dev_pop(&t->s.dev, &c[n]);

				if (err == VR_EAGAIN)
					break;
				if (err < 0) {
					n = err;
					break;
				}
			}
		} else if (t->mode == 1) {
			n = vr_packed_dev_pop_bufs(&t->s.dev, b, 1 + t->dev_got % MAXB);
			/* As a chain, for the checks below. */
			for (i = 0; n > 0 && i < (unsigned)n; i++) {
				c[i].id = b[i].id;
				c[i].n_out = (uint16_t)!b[i].writable;
				iov[i][0].base = b[i].base;
				iov[i][0].len = b[i].len;
			}
		} else {
			n = vr_packed_dev_pop_burst(&t->s.dev, c, 1 + t->dev_got % MAXB);
		}
		if (n < 0) {
			atomic_store(&t->dev_err, n);
			return NULL;
		}
		if (n == 0) {
			sched_yield();
			continue;
		}
		for (i = 0; i < (unsigned)n; i++) {
			unsigned char want[TH_PAY];

			th_fill(want, t->dev_got + i);
			if (c[i].n_out != 1 || iov[i][0].len != TH_PAY ||
			    memcmp(iov[i][0].base, want, TH_PAY) != 0) {
				atomic_store(&t->dev_err, -1000);
				return NULL;
			}
			d[i].id = c[i].id;
			d[i].len = 0;
		}
		if (vr_packed_dev_complete_burst(&t->s.dev, d, (unsigned)n) != n) {
			atomic_store(&t->dev_err, -1001);
			return NULL;
		}
		vr_packed_dev_publish(&t->s.dev);
		t->dev_got += (unsigned)n;
	}
	return NULL;
}

static void run_threads(uint64_t feat, int mode)
{
	const bool bufs = mode == 1;
	struct th t;
	struct cfgx c;
	pthread_t dev;
	unsigned sent = 0, done = 0, i;

	memset(&t, 0, sizeof(t));
	t.mode = mode;
	atomic_init(&t.dev_err, 0);
	c.num = 13;
	c.features = feat;
	c.qflags = 0;
	c.hooks = false;
	c.bus_base = 0;
	side_init(&t.s, &c);
	assert_int_equal(pthread_create(&dev, NULL, th_device, &t), 0);
	while (done < TH_MSGS) {
		struct vr_seg seg[MAXB];
		struct vr_add adds[MAXB];
		struct vr_add_buf ab[MAXB];
		struct vr_used_buf u[MAXB];
		unsigned want = 1 + sent % MAXB, k;
		int n;

		if (want > TH_MSGS - sent)
			want = TH_MSGS - sent;
		if (want > vr_packed_drv_free(&t.s.drv))
			want = vr_packed_drv_free(&t.s.drv);
		for (k = 0; k < want; k++) {
			/* Buffer of message m: slot m % 32 of the pool; at most
			 * 13 are in flight, collected in order of sending. */
			size_t off = t.s.pool_off + 4096 + ((sent + k) % 32) * 64;

			th_fill(t.s.region + off, sent + k);
			seg[k].addr = off;
			seg[k].len = TH_PAY;
			adds[k].seg = &seg[k];
			adds[k].n_out = 1;
			adds[k].n_in = 0;
			adds[k].cookie = (void *)(uintptr_t)(sent + k);
			ab[k].seg = seg[k];
			ab[k].cookie = adds[k].cookie;
		}
		if (want) {
			n = bufs ? vr_packed_drv_add_bufs(&t.s.drv, ab, want, false, NULL)
				 : vr_packed_drv_add_burst(&t.s.drv, adds, want, NULL);
			assert_int_equal(n, (int)want);
			vr_packed_drv_publish(&t.s.drv);
			sent += want;
		}
		n = vr_packed_drv_get_used_burst(&t.s.drv, u, MAXB);
		assert_true(n >= 0);
		for (i = 0; i < (unsigned)n; i++) {
			/* Both modes return in order here: the device completes
			 * in the order it pops. */
			assert_int_equal((uintptr_t)u[i].cookie, done);
			done++;
		}
		if (n == 0 && want == 0)
			sched_yield();
		if (atomic_load(&t.dev_err) != 0)
			break; /* the device thread has stopped */
	}
	assert_int_equal(pthread_join(dev, NULL), 0);
	assert_int_equal(atomic_load(&t.dev_err), 0);
	assert_int_equal(t.dev_got, TH_MSGS);
	side_fini(&t.s);
}

static void test_threads(void **state)
{
	(void)state;
	run_threads(0, 0);
	run_threads(F_ORD, 0);
	run_threads(0, 1);
	run_threads(F_ORD, 1);
	run_threads(0, 2);
	run_threads(F_ORD, 2);
}

/* IN_ORDER after a device attach that left chains behind (avail != used,
 * see vr_packed_dev_attach): the new device's oldest chain is the first it
 * pops, not the one at next_used, and it returns it at next_used; the
 * driver takes that as a batch (section 2.8.9) ending at its id. */
static void test_in_order_attach_left_behind(void **state)
{
	int pass;

	(void)state;
	for (pass = 0; pass < 3; pass++) {
		struct fx2 f;
		struct vr_seg seg[4];
		struct vr_add adds[4];
		struct vr_chain c[4];
		struct vr_iov iov[4][1];
		struct vr_used_buf u[8];
		struct vr_packed_base base = { 3, 0, true, true };
		struct vr_queue_cfg cfg;
		struct vr_done d;
		uint16_t ids[4];
		unsigned i;

		fx2_up(&f, 8, F_ORD, 0);
		make_adds(&f, seg, adds, 4, 1);
		assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, adds, 3, ids), 3);
		vr_packed_drv_publish(&f.s.drv);
		memset(c, 0, sizeof(c));
		for (i = 0; i < 4; i++) {
			c[i].iov = iov[i];
			c[i].iov_cap = 1;
		}
		assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, c, 4), 3);
		/* A new device takes over at avail 3, used 0. */
		memset(&cfg, 0, sizeof(cfg));
		cfg.num = 8;
		cfg.features = F_ORD | PKD;
		cfg.mem = vr_mem_window(f.s.region, 0, f.s.region_len);
		assert_int_equal(vr_packed_dev_attach(&f.s.dev, &cfg, &f.s.areas,
						      f.s.dev_state, f.s.dev_state_len,
						      &base), 0);
		assert_int_equal(vr_packed_drv_add_burst(&f.s.drv, &adds[3], 1, ids), 1);
		vr_packed_drv_publish(&f.s.drv);
		assert_int_equal(vr_packed_dev_pop_burst(&f.s.dev, c, 4), 1);
		assert_int_equal(c[0].id, 3);
		d.id = 3;
		d.len = 5;
		if (pass == 0)
			assert_int_equal(vr_packed_dev_complete(&f.s.dev, 3, 5), 0);
		else if (pass == 1)
			assert_int_equal(vr_packed_dev_complete_burst(&f.s.dev, &d, 1), 1);
		else
			assert_int_equal(vr_packed_dev_complete_in_order(&f.s.dev, 1, 5), 0);
		assert_int_equal(vr_packed_dev_in_flight(&f.s.dev), 0);
		vr_packed_dev_publish(&f.s.dev);
		assert_int_equal(vr_packed_drv_get_used_burst(&f.s.drv, u, 8), 4);
		for (i = 0; i < 4; i++) {
			assert_int_equal(u[i].id, i);
			assert_int_equal(u[i].len, i < 3 ? 32 : 5);
		}
		assert_int_equal(vr_packed_drv_free(&f.s.drv), 8);
		side_fini(&f.s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_burst_contract),
		cmocka_unit_test(test_pop_complete_burst_contract),
		cmocka_unit_test(test_get_used_burst_violation),
		cmocka_unit_test(test_pop_burst_ring_overcommit),
		cmocka_unit_test(test_pop_bufs_ring_overcommit),
		cmocka_unit_test(test_bufs_contract),
		cmocka_unit_test(test_short_path_flags),
		cmocka_unit_test(test_complete_in_order_one),
		cmocka_unit_test(test_complete_in_order_key),
		cmocka_unit_test(test_used_len_without_write_burst),
		cmocka_unit_test(test_in_order_used_burst_bad_id),
		cmocka_unit_test(test_in_order_attach_left_behind),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
