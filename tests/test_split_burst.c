/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split ring burst calls (vr_split_drv_add_burst, vr_split_drv_get_used_burst,
 * vr_split_dev_pop_burst, vr_split_dev_complete_burst) against the single
 * calls in a loop.
 *
 * The differential test drives two identical rings with the same random
 * operations: ring A through the single calls, ring B through the bursts.
 * After every operation both must have given the same counts, heads, chains,
 * lengths and error codes, and hold the same ring bytes, the same private
 * state and the same number of cache-hook calls. Between operations the
 * same corruption is written into both rings at random points (a bad head,
 * a head in flight twice, a NEXT loop, next out of range, an address outside
 * the window or wrapping, a zero length, INDIRECT with NEXT, a nested table,
 * the avail index jumping, readable after writable; on the used side a
 * length above the writable bytes, an id out of range or not in flight, the
 * used index jumping), usually in the middle of what the next burst takes.
 * Ring sizes 1, 8 and 256, IN_ORDER on and off, cache hooks on and off,
 * indices starting near 65535 (attach) so that they wrap.
 *
 * The same differential run drives the narrow calls too
 * (test_differential_bufs): vr_split_drv_add_bufs against
 * vr_split_drv_add of one segment, vr_split_dev_pop_bufs against
 * vr_split_dev_pop with a one-entry iov array, on rings that also carry
 * multi-segment chains (the narrow pop stops before them: VR_E2BIG),
 * indirect ones, zero lengths with and without VR_QF_ZERO_LEN_OK, and the
 * corruptions above.
 *
 * Then direct tests of the burst semantics: partial bursts, the code of a
 * failing first entry, a violation in the middle of a burst; and a driver
 * thread and a device thread exchanging messages through the bursts alone
 * (polling, plain stores of every descriptor, request and reply byte), so
 * that a ThreadSanitizer build sees any missing acquire or release in the
 * burst paths (docs/ORDERING.md: A1, A2 inside the bursts, R1, R2 in
 * publish).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ring_fixture.h"

#define FEAT(bit) VR_FEATURE(bit)
#define MAXB 40      /* largest batch an operation asks for */
#define MAXSEG 4     /* longest chain added */
#define TABLES (FX_POOL_BYTES - 65536) /* pool offset of the indirect tables */

/* ---- Deterministic randomness ---------------------------------------------- */

static uint64_t rs;

static uint64_t rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545F4914F6CDD1DULL;
}

/* How often each code came back first (seen[-code]) and in the middle of a
 * burst (mid[-code]), over the whole differential run: the test checks
 * that every violation it is about was met both ways. */
static unsigned seen[64], mid[64];

static void count_code(unsigned done, int err)
{
	if (err < 0 && err > -64) {
		if (done)
			mid[-err]++;
		else
			seen[-err]++;
	}
}

static unsigned below(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

/* ---- Two rings ------------------------------------------------------------ */

struct side {
	struct fx f;
	unsigned long cleans, invals; /* cache-hook calls */
};

struct pair {
	struct side a, b;
	uint32_t num;
	uint64_t features;
	uint32_t qflags;
	bool hooks, in_order;
	size_t ring_bytes;
	/* Chains the device holds (the same on both sides), oldest first. */
	uint16_t held[256];
	uint32_t held_in[256];
	unsigned n_held;
	uint64_t cookie; /* next cookie */
	unsigned table;  /* next indirect table slot */
	unsigned violations;
};

static void hook_clean(void *ctx, const void *p, size_t len)
{
	(void)p;
	(void)len;
	((struct side *)ctx)->cleans++;
}

static void hook_inval(void *ctx, const void *p, size_t len)
{
	(void)p;
	(void)len;
	((struct side *)ctx)->invals++;
}

/* Both queues of one side, attached at @base (their indices start there:
 * the ring's idx words are set to it, as on a live ring handed over). */
static void side_attach(struct pair *p, struct side *s, uint16_t base)
{
	struct vr_split_base b = { base, base };
	struct fx *f = &s->f;

	if (p->hooks) {
		f->cfg.mem.clean = hook_clean;
		f->cfg.mem.invalidate = hook_inval;
		f->cfg.mem.ctx = s;
	}
	assert_int_equal(vr_split_drv_attach(&f->sdrv, &f->cfg, &f->sa, f->drv_state,
					     vr_split_drv_state_size(p->num), &b),
			 0);
	assert_int_equal(vr_split_dev_attach(&f->sdev, &f->cfg, &f->sa, f->dev_state,
					     vr_split_dev_state_size(p->num), &b),
			 0);
	((struct vr_avail *)f->sa.avail)->idx = vr__le16(base);
	((struct vr_used *)f->sa.used)->idx = vr__le16(base);
}

static void pair_restart(struct pair *p)
{
	uint16_t base = (uint16_t)(below(4) == 0 ? below(65536) : 65535 - below(300));

	vr_split_drv_reset(&p->a.f.sdrv);
	vr_split_dev_reset(&p->a.f.sdev);
	vr_split_drv_reset(&p->b.f.sdrv);
	vr_split_dev_reset(&p->b.f.sdev);
	side_attach(p, &p->a, base);
	side_attach(p, &p->b, base);
	p->n_held = 0;
}

static void pair_init(struct pair *p, uint32_t num, uint64_t features,
		      uint32_t qflags, bool hooks)
{
	struct vr_layout lay;

	memset(p, 0, sizeof(*p));
	p->num = num;
	p->features = features;
	p->qflags = qflags;
	p->hooks = hooks;
	p->in_order = (features & FEAT(VR_F_IN_ORDER)) != 0;
	assert_int_equal(fx_init_flags(&p->a.f, num, features, qflags), 0);
	assert_int_equal(fx_init_flags(&p->b.f, num, features, qflags), 0);
	/* State of exactly the size asked: ASan sees a read past it. */
	assert_int_equal(fx_exact_states(&p->a.f), 0);
	assert_int_equal(fx_exact_states(&p->b.f), 0);
	assert_int_equal(vr_split_layout(num, VR_LEGACY_ALIGN, &lay), 0);
	p->ring_bytes = lay.total;
	pair_restart(p);
}

static void pair_fini(struct pair *p)
{
	fx_fini(&p->a.f);
	fx_fini(&p->b.f);
}

/* Everything the two sides hold must be the same. */
static void pair_compare(struct pair *p)
{
	const struct vr_split_drv *da = &p->a.f.sdrv, *db = &p->b.f.sdrv;
	const struct vr_split_dev *va = &p->a.f.sdev, *vb = &p->b.f.sdev;
	unsigned i;

	assert_memory_equal(p->a.f.region, p->b.f.region, p->ring_bytes);
	assert_memory_equal(p->a.f.region + FX_RING_BYTES + TABLES,
			    p->b.f.region + FX_RING_BYTES + TABLES, 512 * 64);
	assert_int_equal(da->num_free, db->num_free);
	assert_int_equal(da->free_head, db->free_head);
	assert_int_equal(da->avail_idx, db->avail_idx);
	assert_int_equal(da->avail_pub, db->avail_pub);
	assert_int_equal(da->kick_old, db->kick_old);
	assert_int_equal(da->last_used, db->last_used);
	assert_int_equal(da->used_seen, db->used_seen);
	assert_int_equal(da->in_flight, db->in_flight);
	assert_int_equal(da->batch_end, db->batch_end);
	/* batch_len means something only while a batch is open. */
	if (da->batch_end != VR__NONE)
		assert_int_equal(da->batch_len, db->batch_len);
	assert_int_equal(da->since_kick, db->since_kick);
	assert_int_equal(da->broken, db->broken);
	assert_memory_equal(&da->stats, &db->stats, sizeof(da->stats));
	for (i = 0; i < p->num; i++) {
		assert_ptr_equal(da->slot[i].cookie, db->slot[i].cookie);
		assert_int_equal(da->slot[i].in_len, db->slot[i].in_len);
		assert_int_equal(da->slot[i].ndesc, db->slot[i].ndesc);
		assert_int_equal(da->slot[i].next, db->slot[i].next);
		assert_int_equal(da->slot[i].last, db->slot[i].last);
	}
	assert_int_equal(va->last_avail, vb->last_avail);
	assert_int_equal(va->avail_seen, vb->avail_seen);
	assert_int_equal(va->used_idx, vb->used_idx);
	assert_int_equal(va->used_pub, vb->used_pub);
	assert_int_equal(va->notify_old, vb->notify_old);
	assert_int_equal(va->in_flight, vb->in_flight);
	assert_int_equal(va->since_notify, vb->since_notify);
	assert_int_equal(va->broken, vb->broken);
	assert_memory_equal(&va->stats, &vb->stats, sizeof(va->stats));
	assert_memory_equal(va->chain_ndesc, vb->chain_ndesc, p->num * 2);
	assert_memory_equal(va->order, vb->order, p->num * 2);
	assert_int_equal(p->a.cleans, p->b.cleans);
	assert_int_equal(p->a.invals, p->b.invals);
}

/* A random segment: mostly inside the pool, now and then outside the
 * device's window or empty. */
static void rnd_seg(struct pair *p, struct vr_seg *s)
{
	unsigned r = below(1000);

	s->addr = FX_RING_BYTES + below(TABLES - 8192);
	s->len = 1 + below(2048);
	if (r < 4)
		s->len = 0;
	else if (r < 8)
		s->addr = FX_RING_BYTES + FX_POOL_BYTES + below(100);
	else if (r < 10)
		s->addr = UINT64_MAX - below(16);
	(void)p;
}

/* ---- Operations, each done on A with single calls and on B with a burst ---- */

static void op_add(struct pair *p)
{
	struct vr_seg segs[MAXB][MAXSEG];
	struct vr_add adds[MAXB];
	uint16_t ida[MAXB], idb[MAXB];
	unsigned k = 1 + below(p->num < MAXB ? p->num + 2 : MAXB), j, na = 0;
	int erra = 0, rb;

	for (j = 0; j < k; j++) {
		unsigned n = below(4) ? 1 : 1 + below(MAXSEG), s;

		if (below(200) == 0)
			n = p->num + 1 <= MAXSEG ? p->num + 1 : n; /* too long */
		for (s = 0; s < n; s++)
			rnd_seg(p, &segs[j][s]);
		adds[j].seg = below(300) ? segs[j] : NULL;
		adds[j].n_out = (uint16_t)below(n + 1);
		adds[j].n_in = (uint16_t)(n - adds[j].n_out);
		if (below(300) == 0)
			adds[j].n_out = adds[j].n_in = 0;
		adds[j].cookie = (void *)(uintptr_t)(p->cookie++);
	}
	for (j = 0; j < k; j++) {
		int r = vr_split_drv_add(&p->a.f.sdrv, adds[j].seg, adds[j].n_out,
					 adds[j].n_in, adds[j].cookie);

		if (r < 0) {
			erra = r;
			break;
		}
		ida[na++] = (uint16_t)r;
	}
	count_code(na, erra);
	rb = vr_split_drv_add_burst(&p->b.f.sdrv, adds, k, idb);
	assert_int_equal(rb, na ? (int)na : erra);
	if (na)
		assert_memory_equal(ida, idb, na * sizeof(ida[0]));
}

/* Indirect adds exist only as a single call: the same on both sides. */
static void op_add_indirect(struct pair *p)
{
	struct vr_seg segs[MAXSEG];
	unsigned n = 1 + below(MAXSEG), s, out = below(n + 1);
	size_t off = TABLES + (size_t)(p->table++ % 512) * 64;
	void *cookie = (void *)(uintptr_t)(p->cookie++);
	int ra, rb;

	for (s = 0; s < n; s++)
		rnd_seg(p, &segs[s]);
	ra = vr_split_drv_add_indirect(&p->a.f.sdrv, segs, out, n - out,
				       (struct vr_desc *)fx_ptr(&p->a.f, fx_addr(&p->a.f, off)),
				       fx_addr(&p->a.f, off), cookie);
	rb = vr_split_drv_add_indirect(&p->b.f.sdrv, segs, out, n - out,
				       (struct vr_desc *)fx_ptr(&p->b.f, fx_addr(&p->b.f, off)),
				       fx_addr(&p->b.f, off), cookie);
	assert_int_equal(ra, rb);
}

static void cmp_chain(struct pair *p, const struct vr_chain *a,
		      const struct vr_chain *b)
{
	unsigned i, n = (unsigned)a->n_out + a->n_in;

	assert_int_equal(a->id, b->id);
	assert_int_equal(a->n_out, b->n_out);
	assert_int_equal(a->n_in, b->n_in);
	assert_int_equal(a->ndesc, b->ndesc);
	assert_int_equal(a->out_bytes, b->out_bytes);
	assert_int_equal(a->in_bytes, b->in_bytes);
	if (n > a->iov_cap)
		n = a->iov_cap;
	for (i = 0; i < n; i++) {
		assert_int_equal((unsigned char *)a->iov[i].base - p->a.f.region,
				 (unsigned char *)b->iov[i].base - p->b.f.region);
		assert_int_equal(a->iov[i].len, b->iov[i].len);
	}
}

static void op_pop(struct pair *p)
{
	static struct vr_iov ioa[MAXB][MAXSEG], iob[MAXB][MAXSEG];
	struct vr_chain ca[MAXB], cb[MAXB];
	unsigned k = 1 + below(MAXB), j, na = 0;
	int erra = 0, rb;

	memset(ca, 0, sizeof(ca));
	memset(cb, 0, sizeof(cb));
	for (j = 0; j < k; j++) {
		unsigned r = below(200);
		uint16_t cap = (uint16_t)(1 + below(MAXSEG));

		if (r == 0)
			cap = 0; /* E2BIG for anything */
		ca[j].iov_cap = cb[j].iov_cap = cap;
		ca[j].iov = r == 1 ? NULL : ioa[j];
		cb[j].iov = r == 1 ? NULL : iob[j];
	}
	for (j = 0; j < k; j++) {
		int r = vr_split_dev_pop(&p->a.f.sdev, &ca[j]);

		if (r < 0) {
			erra = r;
			break;
		}
		na++;
	}
	count_code(na, erra);
	rb = vr_split_dev_pop_burst(&p->b.f.sdev, cb, k);
	assert_int_equal(rb, na ? (int)na : (erra == VR_EAGAIN ? 0 : erra));
	for (j = 0; j < na; j++) {
		cmp_chain(p, &ca[j], &cb[j]);
		p->held[p->n_held] = ca[j].id;
		p->held_in[p->n_held++] = ca[j].in_bytes;
	}
	if (na == 0 && erra == VR_E2BIG)
		cmp_chain(p, &ca[0], &cb[0]);
}

static void held_remove(struct pair *p, unsigned at)
{
	memmove(&p->held[at], &p->held[at + 1], (p->n_held - at - 1) * sizeof(p->held[0]));
	memmove(&p->held_in[at], &p->held_in[at + 1],
		(p->n_held - at - 1) * sizeof(p->held_in[0]));
	p->n_held--;
}

static uint32_t rnd_used_len(uint32_t in)
{
	unsigned r = below(100);

	if (r < 3)
		return in + 1 + below(100); /* too long: EUSEDLEN or clamped */
	return below(in + 1);
}

static void op_complete(struct pair *p)
{
	struct vr_done done[MAXB];
	unsigned k = 1 + below(p->n_held < MAXB ? p->n_held + 1 : MAXB), j, na = 0;
	int erra = 0, rb;

	for (j = 0; j < k; j++) {
		unsigned r = below(100);

		if (p->n_held > j && r >= 4) {
			/* IN_ORDER: oldest first; otherwise any still held. */
			unsigned pick = p->in_order ? j : j + below(p->n_held - j);

			if (!p->in_order && pick != j) {
				uint16_t h = p->held[j];
				uint32_t in = p->held_in[j];

				p->held[j] = p->held[pick];
				p->held_in[j] = p->held_in[pick];
				p->held[pick] = h;
				p->held_in[pick] = in;
			}
			done[j].id = p->held[j];
			done[j].len = rnd_used_len(p->held_in[j]);
		} else if (r < 2 && j > 0) {
			done[j] = done[j - 1]; /* twice */
		} else {
			done[j].id = (uint16_t)below(p->num + 2);
			done[j].len = below(100);
		}
	}
	for (j = 0; j < k; j++) {
		int r = vr_split_dev_complete(&p->a.f.sdev, done[j].id, done[j].len);

		if (r < 0) {
			erra = r;
			break;
		}
		na++;
	}
	count_code(na, erra);
	rb = vr_split_dev_complete_burst(&p->b.f.sdev, done, k);
	assert_int_equal(rb, na ? (int)na : erra);
	/* Forget what was completed (by id: a forged id may have named a
	 * held chain). */
	for (j = 0; j < na; j++) {
		unsigned h;

		for (h = 0; h < p->n_held; h++) {
			if (p->held[h] == done[j].id) {
				held_remove(p, h);
				break;
			}
		}
	}
}

static void op_complete_in_order(struct pair *p)
{
	unsigned count = below(p->n_held + 1), j;
	uint32_t len = below(4) ? below(64) : 100000;
	int ra = vr_split_dev_complete_in_order(&p->a.f.sdev, count, len);
	int rb = vr_split_dev_complete_in_order(&p->b.f.sdev, count, len);

	assert_int_equal(ra, rb);
	if (ra == 0)
		for (j = 0; j < count; j++)
			held_remove(p, 0);
}

static void op_get_used(struct pair *p)
{
	struct vr_used_buf ua[MAXB], ub[MAXB];
	unsigned k = 1 + below(MAXB), j, na = 0;
	int erra = 0, rb;

	memset(ua, 0, sizeof(ua));
	memset(ub, 0, sizeof(ub));
	for (j = 0; j < k; j++) {
		int r = vr_split_drv_get_used(&p->a.f.sdrv, &ua[j]);

		if (r < 0) {
			erra = r;
			break;
		}
		na++;
	}
	count_code(na, erra);
	rb = vr_split_drv_get_used_burst(&p->b.f.sdrv, ub, k);
	assert_int_equal(rb, na ? (int)na : (erra == VR_EAGAIN ? 0 : erra));
	for (j = 0; j < na; j++) {
		assert_ptr_equal(ua[j].cookie, ub[j].cookie);
		assert_int_equal(ua[j].len, ub[j].len);
		assert_int_equal(ua[j].id, ub[j].id);
	}
}

static void op_publish(struct pair *p)
{
	switch (below(4)) {
	case 0:
		vr_split_drv_publish(&p->a.f.sdrv);
		vr_split_drv_publish(&p->b.f.sdrv);
		break;
	case 1:
		assert_int_equal(vr_split_drv_kick_prepare(&p->a.f.sdrv),
				 vr_split_drv_kick_prepare(&p->b.f.sdrv));
		break;
	case 2:
		vr_split_dev_publish(&p->a.f.sdev);
		vr_split_dev_publish(&p->b.f.sdev);
		break;
	default:
		assert_int_equal(vr_split_dev_notify_prepare(&p->a.f.sdev),
				 vr_split_dev_notify_prepare(&p->b.f.sdev));
		break;
	}
}

/* ---- The narrow calls against the single ones ------------------------------ */

/* Use the narrow calls in run() (test_differential_bufs), and what they
 * returned first (bseen) and after some entries (bmid). */
static bool bufs_ops;
static unsigned bseen[64], bmid[64];

static void count_bcode(unsigned done, int err)
{
	if (err < 0 && err > -64) {
		if (done)
			bmid[-err]++;
		else
			bseen[-err]++;
	}
}

static void op_add_bufs(struct pair *p)
{
	struct vr_add_buf bufs[MAXB];
	uint16_t ida[MAXB], idb[MAXB], *ids;
	unsigned k = 1 + below(p->num < MAXB ? p->num + 2 : MAXB), j, na = 0;
	bool writable = below(2) != 0;
	int erra = 0, rb;

	for (j = 0; j < k; j++) {
		rnd_seg(p, &bufs[j].seg);
		bufs[j].cookie = (void *)(uintptr_t)(p->cookie++);
	}
	if (below(300) == 0) {
		/* No array: nothing changes on either side. */
		rb = vr_split_drv_add_bufs(&p->b.f.sdrv, NULL, k, writable, idb);
		assert_int_equal(rb, p->b.f.sdrv.broken ? VR_EBROKEN : VR_EINVAL);
		return;
	}
	for (j = 0; j < k; j++) {
		int r = vr_split_drv_add(&p->a.f.sdrv, &bufs[j].seg, writable ? 0 : 1,
					 writable ? 1 : 0, bufs[j].cookie);

		if (r < 0) {
			erra = r;
			break;
		}
		ida[na++] = (uint16_t)r;
	}
	count_bcode(na, erra);
	ids = below(4) ? idb : NULL;
	rb = vr_split_drv_add_bufs(&p->b.f.sdrv, bufs, k, writable, ids);
	assert_int_equal(rb, na ? (int)na : erra);
	if (na && ids)
		assert_memory_equal(ida, idb, na * sizeof(ida[0]));
}

static void op_pop_bufs(struct pair *p)
{
	struct vr_iov ioa[MAXB];
	struct vr_chain ca[MAXB];
	struct vr_buf ob[MAXB];
	unsigned k = 1 + below(MAXB), j, na = 0;
	int erra = 0, rb;

	memset(ca, 0, sizeof(ca));
	memset(ob, 0xa5, sizeof(ob));
	for (j = 0; j < k; j++) {
		int r;

		ca[j].iov = &ioa[j];
		ca[j].iov_cap = 1;
		r = vr_split_dev_pop(&p->a.f.sdev, &ca[j]);
		if (r < 0) {
			erra = r;
			break;
		}
		na++;
	}
	count_bcode(na, erra);
	rb = vr_split_dev_pop_bufs(&p->b.f.sdev, ob, k);
	assert_int_equal(rb, na ? (int)na : (erra == VR_EAGAIN ? 0 : erra));
	for (j = 0; j < na; j++) {
		const struct vr_chain *c = &ca[j];

		assert_int_equal(ob[j].id, c->id);
		if (c->n_out + c->n_in == 0) {
			assert_null(ob[j].base);
			assert_int_equal(ob[j].len, 0);
			assert_int_equal(ob[j].writable, 0);
		} else {
			assert_int_equal(c->n_out + c->n_in, 1);
			assert_int_equal((unsigned char *)ob[j].base - p->b.f.region,
					 (unsigned char *)ioa[j].base - p->a.f.region);
			assert_int_equal(ob[j].len, ioa[j].len);
			assert_int_equal(ob[j].writable, c->n_in == 1);
		}
		p->held[p->n_held] = c->id;
		p->held_in[p->n_held++] = c->in_bytes;
	}
}

/* ---- Corruption, written identically into both rings ----------------------- */

static void wr16_both(struct pair *p, size_t off, uint16_t v)
{
	uint16_t le = vr__le16(v);

	memcpy(p->a.f.region + off, &le, 2);
	memcpy(p->b.f.region + off, &le, 2);
}

static void wr32_both(struct pair *p, size_t off, uint32_t v)
{
	uint32_t le = vr__le32(v);

	memcpy(p->a.f.region + off, &le, 4);
	memcpy(p->b.f.region + off, &le, 4);
}

static void wr64_both(struct pair *p, size_t off, uint64_t v)
{
	wr32_both(p, off, (uint32_t)v);
	wr32_both(p, off + 4, (uint32_t)(v >> 32));
}

static uint16_t rd16_a(struct pair *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p->a.f.region + off, 2);
	return vr__le16(v);
}

/* Device side: spoil one of the entries published and not yet taken. */
static void corrupt_avail(struct pair *p)
{
	struct fx *f = &p->a.f;
	const struct vr_split_dev *q = &f->sdev;
	uint16_t pub = rd16_a(p, (size_t)((unsigned char *)&((struct vr_avail *)f->sa.avail)->idx -
					  f->region));
	uint16_t pending = (uint16_t)(pub - q->last_avail), pos, head;
	size_t ring_off = (size_t)((unsigned char *)vr_avail_ring((struct vr_avail *)f->sa.avail) -
				   f->region);
	size_t desc_off = (size_t)((unsigned char *)f->sa.desc - f->region), d;
	size_t table = TABLES + (size_t)(p->table++ % 512) * 64;

	if (pending == 0 || pending > p->num)
		return;
	pos = (uint16_t)(q->last_avail + below(pending));
	head = rd16_a(p, ring_off + 2 * (size_t)(pos & (p->num - 1)));
	if (head >= p->num)
		return;
	d = desc_off + 16 * (size_t)head;
	p->violations++;
	switch (below(12)) {
	case 0: /* head out of range (just past the state arrays too) */
		wr16_both(p, ring_off + 2 * (size_t)(pos & (p->num - 1)),
			  (uint16_t)(p->num + (below(2) ? below(4) : below(1000))));
		break;
	case 1: /* a head taken already, or the one before again */
		wr16_both(p, ring_off + 2 * (size_t)(pos & (p->num - 1)),
			  p->n_held ? p->held[below(p->n_held)]
				    : rd16_a(p, ring_off + 2 * (size_t)((uint16_t)(pos - 1) &
									 (p->num - 1))));
		break;
	case 2: /* NEXT to itself */
		wr16_both(p, d + 12, (uint16_t)(rd16_a(p, d + 12) | VR_DESC_F_NEXT));
		wr16_both(p, d + 14, head);
		break;
	case 3: /* next out of range */
		wr16_both(p, d + 12, (uint16_t)(rd16_a(p, d + 12) | VR_DESC_F_NEXT));
		wr16_both(p, d + 14, (uint16_t)(p->num + below(5)));
		break;
	case 4: /* outside the window */
		wr64_both(p, d, FX_RING_BYTES + FX_POOL_BYTES - below(3));
		break;
	case 5: /* addr + len wraps */
		wr64_both(p, d, UINT64_MAX - below(64));
		break;
	case 6: /* zero length */
		wr32_both(p, d + 8, 0);
		break;
	case 7: /* INDIRECT with NEXT */
		wr16_both(p, d + 12, VR_DESC_F_INDIRECT | VR_DESC_F_NEXT);
		break;
	case 8: /* a table whose entry is itself indirect */
		wr64_both(p, table + FX_RING_BYTES, FX_RING_BYTES + 4096);
		wr32_both(p, table + FX_RING_BYTES + 8, 32);
		wr16_both(p, table + FX_RING_BYTES + 12, VR_DESC_F_INDIRECT);
		wr64_both(p, d, FX_RING_BYTES + table);
		wr32_both(p, d + 8, 16);
		wr16_both(p, d + 12, VR_DESC_F_INDIRECT);
		break;
	case 9: /* the avail index jumps */
		wr16_both(p, ring_off - 2, (uint16_t)(q->last_avail + p->num + 1 + below(100)));
		break;
	case 10: /* writable first, then readable behind it */
		wr16_both(p, d + 12, (uint16_t)(rd16_a(p, d + 12) | VR_DESC_F_WRITE));
		break;
	default: /* a length past the window */
		wr32_both(p, d + 8, 0xfffffff0u);
		break;
	}
}

/* Driver side: spoil one of the used entries published and not collected. */
static void corrupt_used(struct pair *p)
{
	struct fx *f = &p->a.f;
	const struct vr_split_drv *q = &f->sdrv;
	size_t idx_off = (size_t)((unsigned char *)&((struct vr_used *)f->sa.used)->idx -
				  f->region);
	size_t ring_off = idx_off + 2, e;
	uint16_t pub = rd16_a(p, idx_off);
	uint16_t pending = (uint16_t)(pub - q->last_used), pos;

	if (pending == 0 || pending > p->num)
		return;
	pos = (uint16_t)(q->last_used + below(pending));
	e = ring_off + 8 * (size_t)(pos & (p->num - 1));
	p->violations++;
	switch (below(5)) {
	case 0: /* longer than the writable bytes */
		wr32_both(p, e + 4, 0x10000000u + (uint32_t)below(1000));
		break;
	case 1: /* id out of range */
		wr32_both(p, e, p->num + (uint32_t)below(70000));
		break;
	case 2: /* any id: often not a head in flight */
		wr32_both(p, e, (uint32_t)below(p->num));
		break;
	case 3: /* the used index jumps */
		wr16_both(p, idx_off, (uint16_t)(q->last_used + q->in_flight + 1 + below(50)));
		break;
	default: /* an entry repeated */
		if (pos != q->last_used)
			wr32_both(p, e, rd16_a(p, ring_off + 8 * (size_t)((uint16_t)(pos - 1) &
									    (p->num - 1))));
		break;
	}
}

static void run(uint32_t num, uint64_t features, uint32_t qflags, bool hooks,
		unsigned ops, uint64_t seed)
{
	struct pair *p = calloc(1, sizeof(*p));
	unsigned i, resets = 0;

	assert_non_null(p);
	rs = seed;
	pair_init(p, num, features, qflags, hooks);
	for (i = 0; i < ops; i++) {
		unsigned r = below(100);

		if (r < 25)
			bufs_ops && below(3) ? op_add_bufs(p) : op_add(p);
		else if (r < 30)
			op_add_indirect(p);
		else if (r < 50)
			bufs_ops && below(3) ? op_pop_bufs(p) : op_pop(p);
		else if (r < 65)
			op_complete(p);
		else if (r < 68)
			op_complete_in_order(p);
		else if (r < 85)
			op_get_used(p);
		else if (r < 95)
			op_publish(p);
		else if (r < 98)
			corrupt_avail(p);
		else
			corrupt_used(p);
		pair_compare(p);
		if (p->a.f.sdrv.broken || p->a.f.sdev.broken) {
			resets++;
			pair_restart(p);
		}
	}
	/* The random mix must have reached the violations it is about. */
	assert_true(p->violations > 0);
	assert_true(resets > 0 || ops < 1000);
	pair_fini(p);
	free(p);
}

static void test_differential(void **state)
{
	static const uint32_t sizes[] = {1, 8, 256};
	static const int want[] = {
		VR_ENOSPC, VR_EINVAL, VR_E2BIG, VR_ESTATE, VR_EAVAILIDX,
		VR_EHEAD, VR_ENEXT, VR_ELOOP, VR_ENESTED, VR_EINDIRECT,
		VR_EOVERFLOW, VR_EFAULT, VR_EORDER, VR_EZEROLEN, VR_EINFLIGHT,
		VR_EUSEDID, VR_EUSEDLEN, VR_EUSEDIDX,
	};
	static const int fast[] = {
		VR_ENOSPC, VR_EINVAL, VR_ESTATE, VR_EAVAILIDX, VR_EHEAD,
		VR_EOVERFLOW, VR_EFAULT, VR_EUSEDID, VR_EUSEDLEN, VR_EUSEDIDX,
	};
	unsigned s, m;

	(void)state;
	for (s = 0; s < 3; s++) {
		for (m = 0; m < 8; m++) {
			uint64_t feat = FEAT(VR_F_VERSION_1) | FEAT(VR_F_INDIRECT_DESC);
			uint32_t qf = 0;

			if (m & 1)
				feat |= FEAT(VR_F_IN_ORDER);
			if (m & 4)
				feat |= FEAT(VR_F_EVENT_IDX);
			if (m & 4)
				qf |= VR_QF_CLAMP_USED_LEN;
			if (m & 2 && s == 1)
				qf |= VR_QF_ZERO_LEN_OK;
			run(sizes[s], feat, qf, (m & 2) != 0, 4000,
			    0x9e3779b97f4a7c15ULL * (s * 8 + m + 1));
		}
	}
	for (s = 1; s < 64; s++)
		if (seen[s] || mid[s])
			print_message("%-14s first %5u  mid-burst %5u\n",
				      vr_errname(-(int)s), seen[s], mid[s]);
	/* Every violation the corruptions aim at was met; those the fast
	 * paths check, both first in a burst and in the middle of one. */
	for (s = 0; s < sizeof(want) / sizeof(want[0]); s++)
		assert_true(seen[-want[s]] + mid[-want[s]] > 0);
	for (s = 0; s < sizeof(fast) / sizeof(fast[0]); s++) {
		assert_true(seen[-fast[s]] > 0);
		assert_true(mid[-fast[s]] > 0);
	}
}

/* The narrow calls in the same differential run: every size, IN_ORDER,
 * hooks, EVENT_IDX with clamping and VR_QF_ZERO_LEN_OK each on and off. */
static void test_differential_bufs(void **state)
{
	static const uint32_t sizes[] = {1, 8, 256};
	/* Met by the narrow calls, first and after some entries. */
	static const int both[] = {
		VR_EAVAILIDX, VR_EHEAD, VR_EINFLIGHT, VR_EOVERFLOW, VR_EFAULT,
		VR_E2BIG, VR_ENOSPC,
	};
	static const int first[] = { VR_EINVAL, VR_ELOOP, VR_ENEXT, VR_EZEROLEN };
	unsigned s, m;

	(void)state;
	bufs_ops = true;
	for (s = 0; s < 3; s++) {
		for (m = 0; m < 16; m++) {
			uint64_t feat = FEAT(VR_F_VERSION_1) | FEAT(VR_F_INDIRECT_DESC);
			uint32_t qf = 0;

			if (m & 1)
				feat |= FEAT(VR_F_IN_ORDER);
			if (m & 4) {
				feat |= FEAT(VR_F_EVENT_IDX);
				qf |= VR_QF_CLAMP_USED_LEN;
			}
			if (m & 8)
				qf |= VR_QF_ZERO_LEN_OK;
			run(sizes[s], feat, qf, (m & 2) != 0, 2500,
			    0x2545f4914f6cdd1dULL * (s * 16 + m + 1));
		}
	}
	bufs_ops = false;
	for (s = 1; s < 64; s++)
		if (bseen[s] || bmid[s])
			print_message("bufs %-14s first %5u  mid-call %5u\n",
				      vr_errname(-(int)s), bseen[s], bmid[s]);
	for (s = 0; s < sizeof(both) / sizeof(both[0]); s++) {
		assert_true(bseen[-both[s]] > 0);
		assert_true(bmid[-both[s]] > 0);
	}
	for (s = 0; s < sizeof(first) / sizeof(first[0]); s++)
		assert_true(bseen[-first[s]] + bmid[-first[s]] > 0);
}

/* ---- Direct semantics --------------------------------------------------- */

static struct fx *mk(uint32_t num, uint64_t features, uint32_t qflags)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(fx_init_flags(f, num, features, qflags), 0);
	return f;
}

static void rm(struct fx *f)
{
	fx_fini(f);
	free(f);
}

static uint16_t avail_idx_of(struct fx *f)
{
	return vr__le16(((struct vr_avail *)f->sa.avail)->idx);
}

static void test_add_burst_semantics(void **state)
{
	struct fx *f = mk(4, 0, 0);
	struct vr_seg s[6], two[2];
	struct vr_add a[6];
	uint16_t ids[6];
	unsigned i;

	(void)state;
	for (i = 0; i < 6; i++) {
		s[i].addr = fx_addr(f, 64 * i);
		s[i].len = 8;
		a[i].seg = &s[i];
		a[i].n_out = 1;
		a[i].n_in = 0;
		a[i].cookie = NULL;
	}
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, NULL, 1, ids), VR_EINVAL);
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, NULL, 0, ids), 0);
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, a, 0, ids), 0);
	/* Four fit: a partial burst, then ENOSPC for the first entry. */
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, a, 6, ids), 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(ids[i], i);
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, a + 4, 2, NULL), VR_ENOSPC);
	assert_int_equal(vr_split_drv_in_flight(&f->sdrv), 4);
	assert_int_equal(avail_idx_of(f), 0); /* not published */
	vr_split_drv_publish(&f->sdrv);
	rm(f);

	/* A bad entry in the middle: what was before it is added. */
	f = mk(8, 0, 0);
	for (i = 0; i < 6; i++) {
		s[i].addr = fx_addr(f, 64 * i);
		s[i].len = 8;
		a[i].seg = &s[i];
		a[i].n_out = 1;
		a[i].n_in = 0;
	}
	s[2].len = 0;
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, a, 6, ids), 2);
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, a + 2, 4, ids), VR_EINVAL);
	a[2].seg = NULL;
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, a + 2, 4, ids), VR_EINVAL);
	/* A two-segment chain through the general path, inside the burst. */
	two[0] = s[0];
	two[1] = s[1];
	a[2].seg = two;
	a[2].n_out = 1;
	a[2].n_in = 1;
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, a + 2, 4, ids), 4);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 4);
	assert_int_equal(vr_split_drv_free(&f->sdrv), 1);
	/* Longer than the queue. */
	a[0].n_out = 9;
	a[0].n_in = 0;
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, a, 1, ids), VR_EINVAL);
	f->sdrv.broken = VR_EUSEDID;
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, a + 3, 1, ids), VR_EBROKEN);
	assert_int_equal(vr_split_drv_add_burst(&f->sdrv, a + 3, 0, ids), VR_EBROKEN);
	rm(f);
}

static void fill(struct fx *f, unsigned n, bool writable)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct vr_seg s = { fx_addr(f, 128 * i), 16 + i };

		assert_true(vr_split_drv_add(&f->sdrv, &s, writable ? 0 : 1,
					     writable ? 1 : 0,
					     (void *)(uintptr_t)(i + 1)) >= 0);
	}
	vr_split_drv_publish(&f->sdrv);
}

static void test_pop_burst_semantics(void **state)
{
	struct fx *f = mk(8, 0, 0);
	struct vr_iov iov[8][2];
	struct vr_chain c[8];
	struct vr_desc *d = (struct vr_desc *)f->sa.desc;
	unsigned i;

	(void)state;
	memset(c, 0, sizeof(c));
	for (i = 0; i < 8; i++) {
		c[i].iov = iov[i];
		c[i].iov_cap = 2;
	}
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), 0);
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, NULL, 1), VR_EINVAL);
	fill(f, 5, true);
	/* The third chain has no iov array: two, then EINVAL for it. */
	c[2].iov = NULL;
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), 2);
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c + 2, 6), VR_EINVAL);
	/* No room: E2BIG, the chain stays. */
	c[2].iov = iov[2];
	c[2].iov_cap = 0;
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c + 2, 6), VR_E2BIG);
	assert_int_equal(c[2].n_in, 1);
	c[2].iov_cap = 2;
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c + 2, 6), 3);
	for (i = 0; i < 5; i++) {
		assert_int_equal(c[i].id, i);
		assert_int_equal(c[i].n_in, 1);
		assert_int_equal(c[i].n_out, 0);
		assert_int_equal(c[i].in_bytes, 16 + i);
		assert_ptr_equal(c[i].iov[0].base, fx_ptr(f, fx_addr(f, 128 * i)));
	}
	rm(f);

	/* A violation in the middle: the chains before it, then EBROKEN. */
	f = mk(8, 0, 0);
	d = (struct vr_desc *)f->sa.desc;
	fill(f, 5, false);
	d[3].addr = vr__le64(FX_RING_BYTES + FX_POOL_BYTES);
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), 3);
	assert_int_equal(vr_split_dev_broken(&f->sdev), VR_EFAULT);
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), VR_EBROKEN);
	rm(f);

	/* The first one bad: its code. */
	f = mk(8, 0, 0);
	d = (struct vr_desc *)f->sa.desc;
	fill(f, 2, false);
	d[0].addr = vr__le64(UINT64_MAX - 4);
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), VR_EOVERFLOW);
	rm(f);
}

/* The narrow calls, directly: arguments, E2BIG first and after some, an
 * empty chain, direction, a violation after some. */
static void test_bufs_semantics(void **state)
{
	struct fx *f = mk(8, 0, 0);
	struct vr_desc *d = (struct vr_desc *)f->sa.desc;
	struct vr_add_buf ab[10];
	struct vr_buf b[8];
	struct vr_seg two[2];
	uint16_t ids[10];
	unsigned i;

	(void)state;
	assert_int_equal(vr_split_drv_add_bufs(&f->sdrv, NULL, 1, false, NULL), VR_EINVAL);
	assert_int_equal(vr_split_drv_add_bufs(&f->sdrv, NULL, 0, false, NULL), 0);
	assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, NULL, 1), VR_EINVAL);
	assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, b, 8), 0); /* no EAGAIN */
	for (i = 0; i < 10; i++) {
		ab[i].seg.addr = fx_addr(f, 128 * i);
		ab[i].seg.len = 16 + i;
		ab[i].cookie = (void *)(uintptr_t)(i + 1);
	}
	/* Zero length: EINVAL for the first, the count before it after. */
	ab[2].seg.len = 0;
	assert_int_equal(vr_split_drv_add_bufs(&f->sdrv, ab, 3, true, ids), 2);
	assert_int_equal(vr_split_drv_add_bufs(&f->sdrv, ab + 2, 1, true, ids), VR_EINVAL);
	ab[2].seg.len = 18;
	/* Eight descriptors: six more, then ENOSPC. */
	assert_int_equal(vr_split_drv_add_bufs(&f->sdrv, ab + 2, 8, false, ids + 2), 6);
	assert_int_equal(vr_split_drv_add_bufs(&f->sdrv, ab + 8, 1, false, ids), VR_ENOSPC);
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, b, 8), 8);
	for (i = 0; i < 8; i++) {
		assert_int_equal(b[i].id, i);
		assert_int_equal(b[i].len, 16 + i);
		assert_int_equal(b[i].writable, i < 2);
		assert_ptr_equal(b[i].base, fx_ptr(f, fx_addr(f, 128 * i)));
	}
	rm(f);

	/* A chain of two segments: E2BIG first (it stays), the count
	 * before it after some. */
	f = mk(8, 0, 0);
	two[0].addr = fx_addr(f, 0);
	two[0].len = 8;
	two[1].addr = fx_addr(f, 128);
	two[1].len = 8;
	fill(f, 2, false);
	assert_true(vr_split_drv_add(&f->sdrv, two, 1, 1, NULL) >= 0);
	vr_split_drv_publish(&f->sdrv);
	assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, b, 8), 2);
	assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, b, 8), VR_E2BIG);
	assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, b, 8), VR_E2BIG);
	assert_int_equal(vr_split_dev_broken(&f->sdev), 0);
	rm(f);

	/* An empty chain (VR_QF_ZERO_LEN_OK): {NULL, 0, id, 0}. */
	f = mk(8, 0, VR_QF_ZERO_LEN_OK);
	ab[0].seg.len = 0;
	ab[1].seg.len = 17;
	assert_int_equal(vr_split_drv_add_bufs(&f->sdrv, ab, 2, true, ids), 2);
	vr_split_drv_publish(&f->sdrv);
	memset(b, 0xa5, sizeof(b));
	assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, b, 8), 2);
	assert_null(b[0].base);
	assert_int_equal(b[0].len, 0);
	assert_int_equal(b[0].writable, 0);
	assert_int_equal(b[0].id, ids[0]);
	assert_int_equal(b[1].len, 17);
	assert_int_equal(b[1].writable, 1);
	rm(f);

	/* A violation after some: those, then EBROKEN; first: its code. */
	f = mk(8, FEAT(VR_F_IN_ORDER), 0);
	d = (struct vr_desc *)f->sa.desc;
	fill(f, 5, false);
	d[3].addr = vr__le64(FX_RING_BYTES + FX_POOL_BYTES);
	assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, b, 8), 3);
	assert_int_equal(vr_split_dev_broken(&f->sdev), VR_EFAULT);
	assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, b, 8), VR_EBROKEN);
	assert_int_equal(vr_split_drv_add_bufs(&f->sdrv, ab + 1, 1, false, NULL), 1);
	rm(f);
	f = mk(8, 0, 0);
	d = (struct vr_desc *)f->sa.desc;
	fill(f, 2, false);
	d[0].addr = vr__le64(UINT64_MAX - 4);
	assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, b, 8), VR_EOVERFLOW);
	rm(f);

	/* Every chain in flight and the driver publishes one more (a head
	 * in flight): no room, the single pop's code, with and without
	 * IN_ORDER, first and after none taken in the same call. */
	for (i = 0; i < 2; i++) {
		struct vr_avail *av;

		f = mk(4, i ? FEAT(VR_F_IN_ORDER) : 0, 0);
		av = (struct vr_avail *)f->sa.avail;
		fill(f, 4, false);
		assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, b, 8), 4);
		vr_avail_ring(av)[0] = vr__le16(2);
		av->idx = vr__le16((uint16_t)(vr__le16(av->idx) + 1));
		assert_int_equal(vr_split_dev_pop_bufs(&f->sdev, b, 8), VR_EINFLIGHT);
		rm(f);
	}
}

static void test_complete_and_collect_semantics(void **state)
{
	static const uint64_t feats[] = {0, FEAT(VR_F_IN_ORDER)};
	unsigned m;

	(void)state;
	for (m = 0; m < 2; m++) {
		struct fx *f = mk(8, feats[m], 0);
		struct vr_iov iov[8];
		struct vr_chain c[8];
		struct vr_done dn[8];
		struct vr_used_buf u[8];
		unsigned i;

		memset(c, 0, sizeof(c));
		for (i = 0; i < 8; i++) {
			c[i].iov = &iov[i];
			c[i].iov_cap = 1;
		}
		fill(f, 6, true);
		assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), 6);
		assert_int_equal(vr_split_dev_complete_burst(&f->sdev, NULL, 1), VR_EINVAL);
		/* Completions: 0 and 1 fine, then one never taken. */
		for (i = 0; i < 6; i++) {
			dn[i].id = c[i].id;
			dn[i].len = i;
		}
		dn[2].id = 7;
		assert_int_equal(vr_split_dev_complete_burst(&f->sdev, dn, 6), 2);
		assert_int_equal(vr_split_dev_complete_burst(&f->sdev, dn + 2, 4), VR_ESTATE);
		/* Twice the same. */
		dn[2].id = 0;
		assert_int_equal(vr_split_dev_complete_burst(&f->sdev, dn + 2, 1), VR_ESTATE);
		dn[2].id = 2;
		if (m == 1) {
			/* IN_ORDER: only the oldest. */
			dn[2].id = 3;
			assert_int_equal(vr_split_dev_complete_burst(&f->sdev, dn + 2, 1),
					 VR_ESTATE);
			dn[2].id = 2;
		}
		assert_int_equal(vr_split_dev_complete_burst(&f->sdev, dn + 2, 4), 4);
		assert_int_equal(vr_split_dev_in_flight(&f->sdev), 0);
		vr_split_dev_publish(&f->sdev);
		assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, NULL, 1), VR_EINVAL);
		assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u, 4), 4);
		assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u + 4, 8), 2);
		assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u, 8), 0);
		for (i = 0; i < 6; i++) {
			assert_int_equal(u[i].id, i);
			assert_int_equal(u[i].len, i);
			assert_ptr_equal(u[i].cookie, (void *)(uintptr_t)(i + 1));
		}
		/* A used entry naming a chain not in flight in the middle of a
		 * burst: the ones before, then EBROKEN. */
		fill(f, 4, true);
		assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), 4);
		for (i = 0; i < 4; i++) {
			dn[i].id = c[i].id;
			dn[i].len = 1;
		}
		assert_int_equal(vr_split_dev_complete_burst(&f->sdev, dn, 4), 4);
		vr_split_dev_publish(&f->sdev);
		vr_used_ring((struct vr_used *)f->sa.used)[(6 + 2) & 7].id = vr__le32(7);
		assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u, 8), 2);
		assert_int_equal(vr_split_drv_broken(&f->sdrv), VR_EUSEDID);
		assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u, 8), VR_EBROKEN);
		rm(f);
	}
}

/* IN_ORDER batches (one used entry for several chains) through the burst. */
static void test_in_order_batches(void **state)
{
	struct fx *f = mk(8, FEAT(VR_F_IN_ORDER), 0);
	struct vr_iov iov[8];
	struct vr_chain c[8];
	struct vr_used_buf u[8];
	struct vr_used_elem *ur = vr_used_ring((struct vr_used *)f->sa.used);
	unsigned i, round;

	(void)state;
	memset(c, 0, sizeof(c));
	for (i = 0; i < 8; i++) {
		c[i].iov = &iov[i];
		c[i].iov_cap = 1;
	}
	for (round = 0; round < 40; round++) {
		fill(f, 5, true);
		assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), 5);
		assert_int_equal(vr_split_dev_complete_in_order(&f->sdev, 3, 7), 0);
		assert_int_equal(vr_split_dev_complete_in_order(&f->sdev, 2, 9), 0);
		vr_split_dev_publish(&f->sdev);
		assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u, 2), 2);
		assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u + 2, 8), 3);
		for (i = 0; i < 5; i++) {
			assert_ptr_equal(u[i].cookie, (void *)(uintptr_t)(i + 1));
			assert_int_equal(u[i].len, i == 2 ? 7 : i == 4 ? 9 : 16 + i);
		}
	}
	/* A batch entry announcing more chains than used->idx covers. */
	fill(f, 3, true);
	assert_int_equal(vr_split_dev_pop_burst(&f->sdev, c, 8), 3);
	assert_int_equal(vr_split_dev_complete_in_order(&f->sdev, 1, 0), 0);
	vr_split_dev_publish(&f->sdev);
	ur[(uint16_t)(f->sdev.used_pub - 1) & 7].id = vr__le32(c[2].id);
	assert_int_equal(vr_split_drv_get_used_burst(&f->sdrv, u, 8), VR_EUSEDIDX);
	rm(f);
}

/* ---- Two threads, bursts only ------------------------------------------ */

#define TT_MSGS 20000u
#define TT_BUF 64u

struct tt {
	struct fx f;
	bool bufs;         /* the narrow calls: add_bufs, pop_bufs */
	atomic_int failed; /* set by either thread: both stop (relaxed: a
			      stop sign, no data rides on it) */
};

/* With the narrow calls, message seq is writable when this is 1: runs of
 * eight, so that one add_bufs call (one direction) adds several. */
static unsigned tt_dir(uint32_t seq)
{
	return (seq >> 3) & 1;
}

static void tt_fail(struct tt *t, int why)
{
	atomic_store_explicit(&t->failed, why, memory_order_relaxed);
}

static int tt_failed(struct tt *t)
{
	return atomic_load_explicit(&t->failed, memory_order_relaxed);
}

/* Message seq goes in the buffer of its head: even ones readable (the
 * device checks the request), odd ones writable (the driver checks the
 * reply the device wrote). */
static void *tt_device(void *arg)
{
	struct tt *t = (struct tt *)arg;
	struct vr_iov iov[16];
	struct vr_chain c[16];
	struct vr_done dn[16];
	unsigned got = 0, spins = 0;

	while (got < TT_MSGS && !tt_failed(t)) {
		struct vr_buf vb[16];
		int n, j;

		for (j = 0; j < 16; j++) {
			c[j].iov = &iov[j];
			c[j].iov_cap = 1;
		}
		if (t->bufs) {
			/* The narrow pop: its entries as chains, so that the
			 * checks below are the same. */
			n = vr_split_dev_pop_bufs(&t->f.sdev, vb, 16);
			for (j = 0; j < n; j++) {
				uint32_t seq;

				memcpy(&seq, vb[j].base, sizeof(seq)); /* plain read */
				if (vb[j].writable != tt_dir(seq) || vb[j].len != TT_BUF)
					tt_fail(t, 6);
				iov[j].base = vb[j].base;
				iov[j].len = vb[j].len;
				c[j].id = vb[j].id;
				c[j].n_in = vb[j].writable;
				c[j].n_out = (uint16_t)!vb[j].writable;
			}
		} else {
			n = vr_split_dev_pop_burst(&t->f.sdev, c, 16);
		}
		if (n < 0) {
			tt_fail(t, 1);
			break;
		}
		if (n == 0) {
			if (++spins > 200000000u)
				tt_fail(t, 2);
			continue;
		}
		for (j = 0; j < n; j++) {
			unsigned char *p = (unsigned char *)iov[j].base;
			uint32_t seq;

			memcpy(&seq, p, sizeof(seq)); /* plain read */
			if (c[j].n_in) {
				uint32_t reply = seq ^ 0x5a5a5a5au;

				memcpy(p + 4, &reply, sizeof(reply)); /* plain write */
				dn[j].len = 8;
			} else {
				if ((t->bufs ? tt_dir(seq) : seq % 2) != 0)
					tt_fail(t, 3);
				dn[j].len = 0;
			}
			dn[j].id = c[j].id;
		}
		if (vr_split_dev_complete_burst(&t->f.sdev, dn, (unsigned)n) != n)
			tt_fail(t, 4);
		vr_split_dev_publish(&t->f.sdev);
		got += (unsigned)n;
	}
	return NULL;
}

static void tt_run(uint64_t features, bool bufs)
{
	struct tt *t = calloc(1, sizeof(*t));
	pthread_t dev;
	uint32_t sent = 0, done = 0;
	unsigned spins = 0;

	assert_non_null(t);
	t->bufs = bufs;
	assert_int_equal(fx_init(&t->f, 64, features), 0);
	assert_int_equal(pthread_create(&dev, NULL, tt_device, t), 0);
	while (done < TT_MSGS && !tt_failed(t)) {
		struct vr_used_buf u[16];
		struct vr_seg segs[16];
		struct vr_add adds[16];
		unsigned k = 0, j;
		int n = vr_split_drv_get_used_burst(&t->f.sdrv, u, 16);

		if (n < 0)
			break;
		for (j = 0; j < (unsigned)n; j++) {
			uint32_t seq = (uint32_t)(uintptr_t)u[j].cookie, reply;
			unsigned char *p = (unsigned char *)fx_ptr(&t->f,
				fx_addr(&t->f, (size_t)u[j].id * TT_BUF));

			if (bufs ? tt_dir(seq) : seq % 2) {
				memcpy(&reply, p + 4, sizeof(reply)); /* plain read */
				assert_int_equal(u[j].len, 8);
				assert_int_equal(reply, seq ^ 0x5a5a5a5au);
			}
			assert_int_equal(seq, done);
			done++;
		}
		/* Each message goes into the buffer of the head it will
		 * get, known before the add from the driver's own state (the
		 * cursor with IN_ORDER, the private free list otherwise). */
		while (k < 16 && sent + k < TT_MSGS &&
		       k < vr_split_drv_free(&t->f.sdrv))
			k++;
		if (k) {
			uint16_t ids[16];
			uint16_t head = t->f.sdrv.free_head;

			for (j = 0; j < k; j++) {
				uint32_t seq = sent + j;
				unsigned char *p = (unsigned char *)fx_ptr(&t->f,
					fx_addr(&t->f, (size_t)head * TT_BUF));

				memcpy(p, &seq, sizeof(seq)); /* plain write */
				segs[j].addr = fx_addr(&t->f, (size_t)head * TT_BUF);
				segs[j].len = TT_BUF;
				adds[j].seg = &segs[j];
				adds[j].n_out = (uint16_t)(seq % 2 == 0);
				adds[j].n_in = (uint16_t)(seq % 2);
				adds[j].cookie = (void *)(uintptr_t)seq;
				head = (features & FEAT(VR_F_IN_ORDER))
					       ? (uint16_t)((head + 1) & 63)
					       : t->f.sdrv.slot[head].next;
			}
			if (bufs) {
				/* Runs of one direction, one add_bufs each. */
				struct vr_add_buf ab[16];
				unsigned at = 0;

				for (j = 0; j < k; j++) {
					ab[j].seg = segs[j];
					ab[j].cookie = adds[j].cookie;
				}
				while (at < k) {
					unsigned e = at + 1;
					unsigned w = tt_dir(sent + at);

					while (e < k && tt_dir(sent + e) == w)
						e++;
					assert_int_equal(vr_split_drv_add_bufs(&t->f.sdrv, ab + at,
									       e - at, w != 0,
									       ids + at),
							 (int)(e - at));
					at = e;
				}
			} else {
				assert_int_equal(vr_split_drv_add_burst(&t->f.sdrv, adds, k,
									ids),
						 (int)k);
			}
			assert_int_equal(ids[k - 1],
					 (uint16_t)(segs[k - 1].addr - fx_addr(&t->f, 0)) /
						 TT_BUF);
			vr_split_drv_publish(&t->f.sdrv);
			sent += k;
		} else if (++spins > 200000000u) {
			break;
		}
	}
	if (done < TT_MSGS && !tt_failed(t))
		tt_fail(t, 5); /* the driver gave up: stop the device too */
	assert_int_equal(pthread_join(dev, NULL), 0);
	assert_int_equal(tt_failed(t), 0);
	assert_int_equal(done, TT_MSGS);
	fx_fini(&t->f);
	free(t);
}

static void test_two_threads(void **state)
{
	(void)state;
	tt_run(FEAT(VR_F_VERSION_1), false);
	tt_run(FEAT(VR_F_VERSION_1) | FEAT(VR_F_IN_ORDER), false);
}

/* The narrow calls across two threads: driver add_bufs +
 * get_used_burst, device pop_bufs + complete_burst (TSan build: the
 * acquire A1 inside pop_bufs, R1 / R2 in publish, A2 in the collection). */
static void test_two_threads_bufs(void **state)
{
	(void)state;
	tt_run(FEAT(VR_F_VERSION_1), true);
	tt_run(FEAT(VR_F_VERSION_1) | FEAT(VR_F_IN_ORDER), true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_burst_semantics),
		cmocka_unit_test(test_pop_burst_semantics),
		cmocka_unit_test(test_bufs_semantics),
		cmocka_unit_test(test_complete_and_collect_semantics),
		cmocka_unit_test(test_in_order_batches),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_differential_bufs),
		cmocka_unit_test(test_two_threads),
		cmocka_unit_test(test_two_threads_bufs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
