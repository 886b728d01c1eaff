/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interop, split ring: libvring against a peer written only with the
 * system's Linux uapi definitions (<linux/virtio_ring.h>: struct vring,
 * vring_init, vring_desc, vring_avail, vring_used, vring_used_elem,
 * VRING_DESC_F_*, vring_used_event / vring_avail_event, vring_need_event).
 *
 *  Part 1: libvring is the driver; a small device built on struct vring
 *          walks avail->ring, descriptor chains and indirect tables, and
 *          writes used elements.
 *  Part 2: libvring is the device; a small driver built on struct vring
 *          writes chains (direct, scattered, indirect, mixed) and reads the
 *          used ring back.
 *
 * The Linux-side peers below are this file's own code; only the structure
 * and macro definitions come from the uapi header. All wire fields are
 * little-endian (virtio 1.x). The host is little-endian, so le16toh() and
 * friends compile to nothing here, but every access still goes through
 * them, as a big-endian port of this test would need. __virtio16 and
 * friends are plain __u16/... outside sparse, so the converted values are
 * assigned directly.
 *
 * The rings live in one region; bus addresses are BUS_BASE + offset, with
 * BUS_BASE above 4 GiB so that a truncated 64-bit address cannot pass.
 * Everything runs on one thread: the fences in the Linux-side peers mark
 * where a real peer would need them.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <vring/vring.h>

#include <endian.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define BUS_BASE 0x4000000000ull
#define RING_BYTES ((size_t)1 << 20)
#define POOL_BYTES ((size_t)1 << 20)
#define SLOT_BYTES 4096u
#define NSLOTS ((unsigned)(POOL_BYTES / SLOT_BYTES))
#define SEG_STRIDE 256u   /* segment i of a slot is at i * SEG_STRIDE */
#define TABLE_OFF 3072u   /* indirect table of a slot */
#define MAXSEG 8
#define MAXNUM 256        /* largest queue the Linux-side peers handle */

#define FEAT(bit) VR_FEATURE(bit)
#define F_BASE FEAT(VR_F_VERSION_1)

/* ======================================================================= */
/*                         Shared region and buffers                       */
/* ======================================================================= */

struct shm {
	unsigned char *base;
	size_t len;
};

static void shm_init(struct shm *m)
{
	m->len = RING_BYTES + POOL_BYTES;
	m->base = aligned_alloc(4096, m->len);
	assert_non_null(m->base);
	memset(m->base, 0, m->len);
}

static uint64_t shm_bus(const struct shm *m, const void *p)
{
	return BUS_BASE + (uint64_t)((const unsigned char *)p - m->base);
}

/* The Linux-side peers' own translation: refuse anything outside. */
static void *shm_local(const struct shm *m, uint64_t addr, uint64_t len)
{
	assert_true(addr >= BUS_BASE);
	assert_true(addr - BUS_BASE <= m->len);
	assert_true(len <= m->len - (addr - BUS_BASE));
	return m->base + (addr - BUS_BASE);
}

static unsigned char *slot_ptr(const struct shm *m, unsigned slot)
{
	return m->base + RING_BYTES + (size_t)(slot % NSLOTS) * SLOT_BYTES;
}

static unsigned char *seg_ptr(const struct shm *m, unsigned slot, unsigned i)
{
	return slot_ptr(m, slot) + (size_t)i * SEG_STRIDE;
}

/* Byte k of readable segment i of the chain in @slot. */
static unsigned char out_byte(unsigned slot, unsigned i, unsigned k)
{
	return (unsigned char)(0x11u * (i + 1) + slot * 3u + k);
}

/* Byte k of what the device writes into the chain in @slot. */
static unsigned char in_byte(unsigned slot, unsigned k)
{
	return (unsigned char)(0xc3u ^ (slot * 5u + k));
}

/* The shape of a test chain. */
struct spec {
	unsigned n_out, n_in;
	uint32_t len[MAXSEG]; /* each <= SEG_STRIDE */
	bool indirect;
};

static uint32_t spec_in_bytes(const struct spec *sp)
{
	uint32_t t = 0;

	for (unsigned i = sp->n_out; i < sp->n_out + sp->n_in; i++)
		t += sp->len[i];
	return t;
}

static uint32_t g_rng = 0x2545f491u;

static uint32_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 17;
	g_rng ^= g_rng << 5;
	return g_rng;
}

static void random_spec(struct spec *sp, unsigned max_direct, bool allow_indirect)
{
	unsigned n;

	memset(sp, 0, sizeof(*sp));
	sp->indirect = allow_indirect && rnd() % 4 == 0;
	n = sp->indirect ? 1 + rnd() % 6 : 1 + rnd() % max_direct;
	sp->n_out = rnd() % (n + 1);
	sp->n_in = n - sp->n_out;
	for (unsigned i = 0; i < n; i++)
		sp->len[i] = 1 + rnd() % SEG_STRIDE;
}

/* Fill the readable segments of @slot and clear the writable ones. */
static void fill_slot(const struct shm *m, unsigned slot, const struct spec *sp)
{
	for (unsigned i = 0; i < sp->n_out + sp->n_in; i++) {
		unsigned char *p = seg_ptr(m, slot, i);

		for (unsigned k = 0; k < sp->len[i]; k++)
			p[k] = i < sp->n_out ? out_byte(slot, i, k) : 0;
	}
}

/* Check that the writable segments of @slot hold @len device bytes. */
static void check_written(const struct shm *m, unsigned slot,
			  const struct spec *sp, uint32_t len)
{
	uint32_t k = 0;

	for (unsigned i = sp->n_out; i < sp->n_out + sp->n_in && k < len; i++) {
		const unsigned char *p = seg_ptr(m, slot, i);

		for (unsigned j = 0; j < sp->len[i] && k < len; j++, k++)
			assert_int_equal(p[j], in_byte(slot, k));
	}
	assert_int_equal(k, len);
}

/* ======================================================================= */
/*       Part 1: a device written with the Linux definitions only          */
/* ======================================================================= */

struct lseg {
	unsigned char *p;
	uint32_t len;
	uint16_t flags; /* raw, as found in the descriptor */
	uint16_t next;  /* raw */
};

struct lchain {
	uint16_t head;
	unsigned n, n_out, n_in;
	uint32_t in_bytes;
	bool indirect;        /* the data came from an indirect table */
	uint16_t ring_flags;  /* raw flags of the ring descriptor naming it */
	uint16_t ring_next;
	uint64_t table_addr;
	uint32_t table_len;
	struct lseg seg[2 * MAXSEG];
};

struct ldev {
	struct vring vr;
	const struct shm *m;
	uint16_t last_avail;
	uint16_t used_idx; /* next used element to write */
	uint16_t used_pub; /* last value stored to used->idx */
};

/* Take the next available chain, or return false when there is none. */
static bool ldev_pop(struct ldev *d, struct lchain *c)
{
	const struct vring_desc *table = d->vr.desc;
	unsigned limit = d->vr.num, steps = 0;
	uint16_t avail_idx = le16toh(d->vr.avail->idx);
	uint16_t i;

	/* Pairs with the driver's release of avail->idx. */
	atomic_thread_fence(memory_order_acquire);
	if (avail_idx == d->last_avail)
		return false;
	assert_true((uint16_t)(avail_idx - d->last_avail) <= d->vr.num);
	memset(c, 0, sizeof(*c));
	c->head = le16toh(d->vr.avail->ring[d->last_avail % d->vr.num]);
	assert_true(c->head < d->vr.num);
	i = c->head;
	for (;;) {
		const struct vring_desc *desc = &table[i];
		uint64_t addr = le64toh(desc->addr);
		uint32_t len = le32toh(desc->len);
		uint16_t flags = le16toh(desc->flags);

		assert_true(++steps <= limit);
		if (flags & VRING_DESC_F_INDIRECT) {
			assert_false(c->indirect); /* one table per chain */
			assert_int_equal(flags & VRING_DESC_F_NEXT, 0);
			assert_int_equal(len % sizeof(struct vring_desc), 0);
			assert_true(len > 0);
			c->indirect = true;
			c->ring_flags = flags;
			c->ring_next = le16toh(desc->next);
			c->table_addr = addr;
			c->table_len = len;
			table = shm_local(d->m, addr, len);
			limit = len / sizeof(struct vring_desc);
			steps = 0;
			i = 0;
			continue;
		}
		assert_true(c->n < 2 * MAXSEG);
		assert_true(len > 0);
		c->seg[c->n].p = shm_local(d->m, addr, len);
		c->seg[c->n].len = len;
		c->seg[c->n].flags = flags;
		c->seg[c->n].next = le16toh(desc->next);
		if (flags & VRING_DESC_F_WRITE) {
			c->n_in++;
			c->in_bytes += len;
		} else {
			assert_int_equal(c->n_in, 0); /* readable ones first */
			c->n_out++;
		}
		c->n++;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16toh(desc->next);
		assert_true(i < limit);
	}
	d->last_avail++;
	return true;
}

/* Write @len device bytes into the chain's writable segments. */
static void ldev_write(const struct lchain *c, unsigned slot, uint32_t len)
{
	uint32_t k = 0;

	for (unsigned i = c->n_out; i < c->n && k < len; i++)
		for (uint32_t j = 0; j < c->seg[i].len && k < len; j++, k++)
			c->seg[i].p[j] = in_byte(slot, k);
	assert_int_equal(k, len);
}

static void ldev_use(struct ldev *d, uint16_t head, uint32_t len)
{
	vring_used_elem_t *e = &d->vr.used->ring[d->used_idx % d->vr.num];

	e->id = htole32(head);
	e->len = htole32(len);
	d->used_idx++;
}

static void ldev_publish(struct ldev *d)
{
	/* The used elements before the index. */
	atomic_thread_fence(memory_order_release);
	d->vr.used->idx = htole16(d->used_idx);
	d->used_pub = d->used_idx;
}

/* libvring driver over a region, with the Linux device on the same ring. */
struct sdrv_env {
	struct shm m;
	struct vring vr;
	struct vr_split_areas sa;
	struct vr_split_drv drv;
	void *state;
	struct ldev dev;
	uint32_t num;
};

static void sdrv_env_init(struct sdrv_env *e, uint32_t num, size_t align,
			  uint64_t features)
{
	struct vr_queue_cfg cfg;

	memset(e, 0, sizeof(*e));
	shm_init(&e->m);
	e->num = num;
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = features;
	cfg.mem = vr_mem_window(e->m.base, BUS_BASE, e->m.len);
	assert_int_equal(vr_split_areas_from_region(&e->sa, e->m.base, RING_BYTES,
						    num, align), 0);
	vring_init(&e->vr, num, e->m.base, align);
	e->state = malloc(vr_split_drv_state_size(num));
	assert_non_null(e->state);
	assert_int_equal(vr_split_drv_init(&e->drv, &cfg, &e->sa, e->state,
					   vr_split_drv_state_size(num)), 0);
	e->dev.vr = e->vr;
	e->dev.m = &e->m;
}

static void sdrv_env_fini(struct sdrv_env *e)
{
	free(e->m.base);
	free(e->state);
}

/* Add the chain @sp with the libvring driver, buffers in @slot. */
static int drv_add_spec(struct sdrv_env *e, unsigned slot, const struct spec *sp,
			void *cookie)
{
	struct vr_seg seg[MAXSEG];
	unsigned n = sp->n_out + sp->n_in;

	fill_slot(&e->m, slot, sp);
	for (unsigned i = 0; i < n; i++) {
		seg[i].addr = shm_bus(&e->m, seg_ptr(&e->m, slot, i));
		seg[i].len = sp->len[i];
	}
	if (sp->indirect) {
		struct vr_desc *table =
			(struct vr_desc *)(void *)(slot_ptr(&e->m, slot) + TABLE_OFF);

		return vr_split_drv_add_indirect(&e->drv, seg, sp->n_out, sp->n_in,
						 table, shm_bus(&e->m, table), cookie);
	}
	return vr_split_drv_add(&e->drv, seg, sp->n_out, sp->n_in, cookie);
}

/* What the Linux device found must be exactly the chain libvring added. */
static void check_lchain(const struct sdrv_env *e, const struct lchain *c,
			 unsigned slot, const struct spec *sp)
{
	unsigned n = sp->n_out + sp->n_in;

	assert_int_equal(c->n, n);
	assert_int_equal(c->n_out, sp->n_out);
	assert_int_equal(c->n_in, sp->n_in);
	assert_int_equal(c->in_bytes, spec_in_bytes(sp));
	assert_int_equal(c->indirect, sp->indirect);
	if (sp->indirect) {
		/* The ring descriptor is INDIRECT and nothing else. */
		assert_int_equal(c->ring_flags, VRING_DESC_F_INDIRECT);
		assert_int_equal(c->table_addr,
				 shm_bus(&e->m, slot_ptr(&e->m, slot) + TABLE_OFF));
		assert_int_equal(c->table_len, n * sizeof(struct vring_desc));
	}
	for (unsigned i = 0; i < n; i++) {
		uint16_t want = 0;

		if (i + 1 < n)
			want |= VRING_DESC_F_NEXT;
		if (i >= sp->n_out)
			want |= VRING_DESC_F_WRITE;
		assert_int_equal(c->seg[i].flags, want);
		assert_ptr_equal(c->seg[i].p, seg_ptr(&e->m, slot, i));
		assert_int_equal(c->seg[i].len, sp->len[i]);
		/* Inside an indirect table the chain is in table order. */
		if (sp->indirect && i + 1 < n)
			assert_int_equal(c->seg[i].next, i + 1);
		if (i < sp->n_out)
			for (unsigned k = 0; k < sp->len[i]; k++)
				assert_int_equal(c->seg[i].p[k], out_byte(slot, i, k));
	}
}

/* One chain all the way round: add, publish, Linux pop and use, collect. */
static void sdrv_cycle(struct sdrv_env *e, unsigned count)
{
	static const struct spec sp = {0, 1, {8}, false};

	for (unsigned i = 0; i < count; i++) {
		struct lchain c;
		struct vr_used_buf u;
		int head = drv_add_spec(e, 0, &sp, e);

		assert_true(head >= 0);
		vr_split_drv_publish(&e->drv);
		assert_true(ldev_pop(&e->dev, &c));
		assert_int_equal(c.head, head);
		ldev_use(&e->dev, c.head, 0);
		ldev_publish(&e->dev);
		assert_int_equal(vr_split_drv_get_used(&e->drv, &u), 0);
		assert_ptr_equal(u.cookie, e);
	}
}

/* ---- 1a: layout against vring_init ------------------------------------ */

static void test_drv_layout_matches_vring_init(void **state)
{
	static const size_t aligns[] = {VR_LEGACY_ALIGN, 4, 64};
	struct shm m;

	(void)state;
	shm_init(&m);
	for (size_t a = 0; a < 3; a++) {
		for (uint32_t num = 1; num <= 32768; num <<= 1) {
			struct vr_split_areas sa;
			struct vr_layout l;
			struct vring vr;
			struct vr_queue_cfg cfg;
			struct vr_split_drv drv;
			struct ldev dev;
			struct lchain c;
			struct vr_used_buf u;
			struct vr_seg seg;
			void *st;
			int head;

			assert_int_equal(vr_split_layout(num, aligns[a], &l), 0);
			assert_int_equal(l.total, vring_size(num, aligns[a]));
			assert_true(l.total <= RING_BYTES);
			memset(m.base, 0xa5, RING_BYTES);
			assert_int_equal(vr_split_areas_from_region(&sa, m.base, RING_BYTES,
								    num, aligns[a]), 0);
			vring_init(&vr, num, m.base, aligns[a]);
			assert_ptr_equal(sa.desc, (void *)vr.desc);
			assert_ptr_equal(sa.avail, (void *)vr.avail);
			assert_ptr_equal(sa.used, (void *)vr.used);
			assert_ptr_equal((unsigned char *)sa.avail, m.base + l.driver_off);
			assert_ptr_equal((unsigned char *)sa.used, m.base + l.device_off);

			memset(&cfg, 0, sizeof(cfg));
			cfg.num = num;
			cfg.features = F_BASE;
			cfg.mem = vr_mem_window(m.base, BUS_BASE, m.len);
			st = malloc(vr_split_drv_state_size(num));
			assert_non_null(st);
			assert_int_equal(vr_split_drv_init(&drv, &cfg, &sa, st,
							   vr_split_drv_state_size(num)), 0);
			/* The driver zeroed its parts, as seen through vring. */
			assert_int_equal(le16toh(vr.avail->flags), 0);
			assert_int_equal(le16toh(vr.avail->idx), 0);
			assert_int_equal(le16toh(vr.avail->ring[num - 1]), 0);
			assert_int_equal(le16toh(vring_used_event(&vr)), 0);
			assert_int_equal(le64toh(vr.desc[num - 1].addr), 0);
			/* The used ring belongs to the device: untouched. */
			assert_int_equal(vr.used->idx, 0xa5a5);
			memset(vr.used, 0, vr_split_used_bytes(num));

			seg.addr = shm_bus(&m, seg_ptr(&m, 0, 0));
			seg.len = 100;
			head = vr_split_drv_add(&drv, &seg, 0, 1, &drv);
			assert_true(head >= 0 && (uint32_t)head < num);
			vr_split_drv_publish(&drv);
			assert_int_equal(le16toh(vr.avail->idx), 1);
			assert_int_equal(le16toh(vr.avail->ring[0]), head);
			assert_int_equal(le64toh(vr.desc[head].addr), seg.addr);
			assert_int_equal(le32toh(vr.desc[head].len), 100);
			assert_int_equal(le16toh(vr.desc[head].flags), VRING_DESC_F_WRITE);

			memset(&dev, 0, sizeof(dev));
			dev.vr = vr;
			dev.m = &m;
			assert_true(ldev_pop(&dev, &c));
			assert_int_equal(c.head, head);
			assert_int_equal(c.n_in, 1);
			ldev_use(&dev, c.head, 42);
			ldev_publish(&dev);
			assert_int_equal(vr_split_drv_get_used(&drv, &u), 0);
			assert_ptr_equal(u.cookie, &drv);
			assert_int_equal(u.len, 42);
			assert_int_equal(u.id, head);
			assert_int_equal(vr_split_drv_get_used(&drv, &u), VR_EAGAIN);
			free(st);
		}
	}
	free(m.base);
}

/* ---- 1b: chains of every shape through the Linux device ------------------ */

static void test_drv_chains_to_linux_device(void **state)
{
	static const struct spec specs[] = {
		{1, 0, {64}, false},                        /* A: one readable */
		{2, 3, {10, 20, 30, 40, 50}, false},        /* B: 2 out + 3 in */
		{2, 2, {33, 44, 55, 66}, true},             /* C: indirect */
		{0, 1, {200}, false},                       /* D: one writable */
		{0, 4, {1, 2, 3, 4}, true},                 /* E: indirect, all in */
	};
	static const unsigned order[] = {3, 1, 0, 4, 2}; /* completion order */
	const unsigned nspec = sizeof(specs) / sizeof(specs[0]);
	struct sdrv_env *e = calloc(1, sizeof(*e));
	struct lchain c[5];
	int head[5];
	int cookie[5];
	uint32_t len[5];

	(void)state;
	assert_non_null(e);
	sdrv_env_init(e, 16, VR_LEGACY_ALIGN,
		      F_BASE | FEAT(VR_F_INDIRECT_DESC));
	for (unsigned i = 0; i < nspec; i++) {
		head[i] = drv_add_spec(e, i, &specs[i], &cookie[i]);
		assert_true(head[i] >= 0 && head[i] < 16);
	}
	/* 1 + 5 + 1 + 1 + 1 descriptors. */
	assert_int_equal(vr_split_drv_free(&e->drv), 16 - 9);
	/* Nothing visible before publish. */
	assert_false(ldev_pop(&e->dev, &c[0]));
	vr_split_drv_publish(&e->drv);
	assert_int_equal(le16toh(e->vr.avail->idx), nspec);
	for (unsigned i = 0; i < nspec; i++) {
		assert_true(ldev_pop(&e->dev, &c[i]));
		assert_int_equal(c[i].head, head[i]);
		check_lchain(e, &c[i], i, &specs[i]);
	}
	assert_false(ldev_pop(&e->dev, &c[0]));
	/* The direct multi-segment chain: its ring descriptors link through
	 * next, each index in range and distinct. */
	for (unsigned i = 0; i + 1 < c[1].n; i++) {
		assert_true(c[1].seg[i].next < 16);
		assert_true(c[1].seg[i].next != head[1]);
	}

	for (unsigned k = 0; k < nspec; k++) {
		unsigned i = order[k];

		len[i] = c[i].in_bytes ? c[i].in_bytes - k : 0;
		ldev_write(&c[i], i, len[i]);
		ldev_use(&e->dev, c[i].head, len[i]);
		if (k == 2)
			ldev_publish(&e->dev); /* two publishes in the batch */
	}
	ldev_publish(&e->dev);
	for (unsigned k = 0; k < nspec; k++) {
		unsigned i = order[k];
		struct vr_used_buf u;

		assert_int_equal(vr_split_drv_get_used(&e->drv, &u), 0);
		assert_ptr_equal(u.cookie, &cookie[i]);
		assert_int_equal(u.id, head[i]);
		assert_int_equal(u.len, len[i]);
		check_written(&e->m, i, &specs[i], len[i]);
	}
	{
		struct vr_used_buf u;

		assert_int_equal(vr_split_drv_get_used(&e->drv, &u), VR_EAGAIN);
	}
	assert_int_equal(vr_split_drv_free(&e->drv), 16);
	assert_int_equal(vr_split_drv_in_flight(&e->drv), 0);
	assert_int_equal(vr_split_drv_broken(&e->drv), 0);
	sdrv_env_fini(e);
	free(e);
}

/* ---- 1c: a long run across the 16-bit wrap of both indexes ------------- */

struct inflight {
	struct spec sp;
	unsigned slot;
	uint32_t len; /* what the device wrote */
};

static void test_drv_long_run_16bit_wrap(void **state)
{
	const unsigned total = 70000, num = 8;
	struct sdrv_env *e = calloc(1, sizeof(*e));
	struct inflight rec[NSLOTS];
	unsigned added = 0, collected = 0, popped_total = 0;
	unsigned used_fifo[MAXNUM], fifo_n, fifo_head;

	(void)state;
	assert_non_null(e);
	g_rng = 12345;
	sdrv_env_init(e, num, 4, F_BASE | FEAT(VR_F_INDIRECT_DESC));
	while (collected < total) {
		struct lchain c[MAXNUM];
		unsigned seqs[MAXNUM];
		unsigned npop = 0, batch = 1 + rnd() % num;

		/* Add a batch; slots are by sequence number (never more than
		 * num in flight, NSLOTS apart). */
		for (unsigned b = 0; b < batch && added < total; b++) {
			unsigned free_desc = vr_split_drv_free(&e->drv);
			unsigned slot = added % NSLOTS;
			int head;

			if (free_desc == 0)
				break;
			random_spec(&rec[slot].sp, free_desc < 4 ? free_desc : 4, true);
			rec[slot].slot = slot;
			head = drv_add_spec(e, slot, &rec[slot].sp,
					    (void *)(uintptr_t)(added + 1));
			assert_true(head >= 0);
			added++;
		}
		vr_split_drv_publish(&e->drv);
		assert_int_equal(le16toh(e->vr.avail->idx), (uint16_t)added);

		/* The Linux device takes everything, in avail order. */
		while (ldev_pop(&e->dev, &c[npop])) {
			unsigned slot = popped_total % NSLOTS;

			check_lchain(e, &c[npop], slot, &rec[slot].sp);
			seqs[npop] = popped_total++;
			npop++;
		}
		assert_int_equal(popped_total, added);

		/* ... and returns it in a shuffled order. */
		for (unsigned i = npop; i > 1; i--) {
			unsigned j = rnd() % i;
			struct lchain tc = c[i - 1];
			unsigned ts = seqs[i - 1];

			c[i - 1] = c[j];
			seqs[i - 1] = seqs[j];
			c[j] = tc;
			seqs[j] = ts;
		}
		fifo_n = 0;
		for (unsigned i = 0; i < npop; i++) {
			unsigned slot = seqs[i] % NSLOTS;
			uint32_t len = c[i].in_bytes ? rnd() % (c[i].in_bytes + 1) : 0;

			rec[slot].len = len;
			ldev_write(&c[i], slot, len);
			ldev_use(&e->dev, c[i].head, len);
			used_fifo[fifo_n++] = seqs[i];
		}
		ldev_publish(&e->dev);
		assert_int_equal(le16toh(e->vr.used->idx), (uint16_t)added);

		for (fifo_head = 0; fifo_head < fifo_n; fifo_head++) {
			struct vr_used_buf u;
			unsigned seq = used_fifo[fifo_head], slot = seq % NSLOTS;

			assert_int_equal(vr_split_drv_get_used(&e->drv, &u), 0);
			assert_ptr_equal(u.cookie, (void *)(uintptr_t)(seq + 1));
			assert_int_equal(u.len, rec[slot].len);
			check_written(&e->m, slot, &rec[slot].sp, u.len);
			collected++;
		}
		{
			struct vr_used_buf u;

			assert_int_equal(vr_split_drv_get_used(&e->drv, &u), VR_EAGAIN);
		}
		assert_int_equal(vr_split_drv_free(&e->drv), num);
	}
	assert_true(added > 65536);
	assert_int_equal(vr_split_drv_broken(&e->drv), 0);
	sdrv_env_fini(e);
	free(e);
}

/* ---- 1d: used_event written by libvring, read through the macro --------- */

static void test_drv_used_event_through_macro(void **state)
{
	/* Points of the free-running index to test at, crossing the wrap. */
	static const unsigned points[] = {0, 3, 65533, 65535, 65536 + 2};
	struct sdrv_env *e = calloc(1, sizeof(*e));
	unsigned done = 0;

	(void)state;
	assert_non_null(e);
	sdrv_env_init(e, 8, VR_LEGACY_ALIGN, F_BASE | FEAT(VR_F_EVENT_IDX));
	assert_int_equal(le16toh(vring_used_event(&e->vr)), 0);
	for (unsigned p = 0; p < sizeof(points) / sizeof(points[0]); p++) {
		struct lchain c;
		struct vr_used_buf u;
		uint16_t k, ev, old;
		static const struct spec sp = {0, 1, {16}, false};

		assert_true(points[p] >= done);
		sdrv_cycle(e, points[p] - done);
		done = points[p];
		k = (uint16_t)done;

		/* Nothing pending: safe to sleep, event = next used entry. */
		assert_int_equal(vr_split_drv_arm_used_notify(&e->drv), 0);
		ev = le16toh(vring_used_event(&e->vr));
		assert_int_equal(ev, k);
		/* avail->flags is left alone with EVENT_IDX. */
		assert_int_equal(le16toh(e->vr.avail->flags), 0);

		/* The Linux device completes one: it must interrupt. */
		assert_true(drv_add_spec(e, 0, &sp, e) >= 0);
		vr_split_drv_publish(&e->drv);
		assert_true(ldev_pop(&e->dev, &c));
		ldev_use(&e->dev, c.head, 1);
		old = e->dev.used_pub;
		ldev_publish(&e->dev);
		assert_int_equal(vring_need_event(le16toh(vring_used_event(&e->vr)),
						  e->dev.used_pub, old), 1);
		/* Armed again with one pending: "collect, don't sleep". */
		assert_int_equal(vr_split_drv_arm_used_notify(&e->drv), 1);
		assert_int_equal(le16toh(vring_used_event(&e->vr)), k);
		assert_int_equal(vr_split_drv_get_used(&e->drv, &u), 0);
		done++;

		/* Suppressed: the next completion must not interrupt. */
		vr_split_drv_suppress_used_notify(&e->drv);
		ev = le16toh(vring_used_event(&e->vr));
		assert_int_equal(ev, (uint16_t)(k + 1 - 1));
		assert_true(drv_add_spec(e, 0, &sp, e) >= 0);
		vr_split_drv_publish(&e->drv);
		assert_true(ldev_pop(&e->dev, &c));
		ldev_use(&e->dev, c.head, 1);
		old = e->dev.used_pub;
		ldev_publish(&e->dev);
		assert_int_equal(vring_need_event(ev, e->dev.used_pub, old), 0);
		assert_int_equal(vr_split_drv_get_used(&e->drv, &u), 0);
		done++;
	}
	sdrv_env_fini(e);
	free(e);
}

/* Without EVENT_IDX: avail->flags VRING_AVAIL_F_NO_INTERRUPT. */
static void test_drv_avail_flags_no_event_idx(void **state)
{
	struct sdrv_env *e = calloc(1, sizeof(*e));

	(void)state;
	assert_non_null(e);
	sdrv_env_init(e, 8, 64, F_BASE);
	assert_int_equal(le16toh(e->vr.avail->flags), 0);
	vr_split_drv_suppress_used_notify(&e->drv);
	assert_int_equal(le16toh(e->vr.avail->flags), VRING_AVAIL_F_NO_INTERRUPT);
	/* used_event is not the mechanism here: left at zero. */
	assert_int_equal(le16toh(vring_used_event(&e->vr)), 0);
	vr_split_drv_suppress_used_notify(&e->drv);
	assert_int_equal(le16toh(e->vr.avail->flags), VRING_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(vr_split_drv_arm_used_notify(&e->drv), 0);
	assert_int_equal(le16toh(e->vr.avail->flags), 0);
	sdrv_env_fini(e);
	free(e);
}

/* ---- 1e: the event index test itself ------------------------------------ */

static void test_need_event_pure_vs_vring_need_event(void **state)
{
	uint16_t w[48];
	static const uint16_t pairs[][2] = {
		/* (new, old) */
		{0, 0}, {1, 0}, {5, 0}, {0, 65535}, {3, 65530}, {65535, 65534},
		{32768, 0}, {0, 32768}, {32767, 65535}, {100, 90}, {65535, 0},
		{1, 65535}, {2, 1},
	};

	(void)state;
	/* Exhaustive over a window at each end of the 16-bit range. */
	for (unsigned i = 0; i < 24; i++) {
		w[i] = (uint16_t)i;
		w[24 + i] = (uint16_t)(65512 + i);
	}
	for (unsigned a = 0; a < 48; a++)
		for (unsigned b = 0; b < 48; b++)
			for (unsigned c = 0; c < 48; c++)
				assert_int_equal(vr_need_event(w[a], w[b], w[c]) != 0,
						 vring_need_event(w[a], w[b], w[c]) != 0);
	/* Every event value against a table of moves. */
	for (unsigned p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++)
		for (uint32_t ev = 0; ev <= 0xffff; ev++)
			assert_int_equal(vr_need_event((uint16_t)ev, pairs[p][0], pairs[p][1]) != 0,
					 vring_need_event((uint16_t)ev, pairs[p][0],
							  pairs[p][1]) != 0);
	/* A few by value, so that both cannot be wrong together. */
	assert_int_equal(vring_need_event(0, 1, 0), 1);
	assert_int_equal(vr_need_event(0, 1, 0), 1);
	assert_int_equal(vr_need_event(1, 1, 0), 0);
	assert_int_equal(vr_need_event(65535, 0, 65535), 1);
	assert_int_equal(vr_need_event(65534, 0, 65535), 0);
	assert_int_equal(vr_need_event(2, 3, 65530), 1);
	assert_int_equal(vr_need_event(3, 3, 65530), 0);
}

/*
 * libvring's driver need_notify reads avail_event (written by the Linux
 * device through vring_avail_event()) and must agree with
 * vring_need_event(event, new, old) for every event value, for moves of 0
 * to num chains from starting points across the 16-bit wrap.
 *
 * need_notify consumes the (old, new) pair, so each probe runs on a copy
 * of the queue object: need_notify only reads shared memory and updates
 * the copy's private kick_old and counters.
 */
static void test_drv_need_notify_vs_vring_need_event(void **state)
{
	static const unsigned starts[] = {0, 1, 700, 65527, 65530, 65534, 65535,
					  65536, 65537, 65541};
	const unsigned num = 8;
	struct sdrv_env *e = calloc(1, sizeof(*e));
	unsigned done = 0;

	(void)state;
	assert_non_null(e);
	sdrv_env_init(e, num, VR_LEGACY_ALIGN, F_BASE | FEAT(VR_F_EVENT_IDX));
	for (unsigned s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		uint16_t old;
		static const struct spec sp = {1, 0, {4}, false};

		if (starts[s] < done) {
			/* Indexes only move forward: start again. */
			sdrv_env_fini(e);
			sdrv_env_init(e, num, VR_LEGACY_ALIGN,
				      F_BASE | FEAT(VR_F_EVENT_IDX));
			done = 0;
		}
		sdrv_cycle(e, starts[s] - done);
		done = starts[s];
		old = (uint16_t)done;
		/* With EVENT_IDX the driver ignores used->flags (uapi comment
		 * on VIRTIO_RING_F_EVENT_IDX): set it to show that. */
		e->vr.used->flags = htole16(VRING_USED_F_NO_NOTIFY);
		(void)vr_split_drv_need_notify(&e->drv); /* kick_old = old */
		for (unsigned k = 0; k <= num; k++) {
			uint16_t nw = (uint16_t)(old + k);

			if (k > 0) {
				assert_true(drv_add_spec(e, 0, &sp, e) >= 0);
				vr_split_drv_publish(&e->drv);
			}
			assert_int_equal(le16toh(e->vr.avail->idx), nw);
			for (uint32_t ev = 0; ev <= 0xffff; ev++) {
				struct vr_split_drv probe = e->drv;
				int want = vring_need_event((uint16_t)ev, nw, old) != 0;

				vring_avail_event(&e->vr) = htole16((uint16_t)ev);
				assert_int_equal(vr_split_drv_need_notify(&probe), want);
			}
		}
		/* The real object, once: event = old (the next entry) kicks. */
		vring_avail_event(&e->vr) = htole16(old);
		assert_int_equal(vr_split_drv_need_notify(&e->drv), 1);
		assert_int_equal(vr_split_drv_need_notify(&e->drv), 0); /* nothing new */
		/* Drain the num chains. */
		for (unsigned k = 0; k < num; k++) {
			struct lchain c;
			struct vr_used_buf u;

			assert_true(ldev_pop(&e->dev, &c));
			ldev_use(&e->dev, c.head, 0);
			ldev_publish(&e->dev);
			assert_int_equal(vr_split_drv_get_used(&e->drv, &u), 0);
		}
		done += num;
	}
	sdrv_env_fini(e);
	free(e);
}

/* Without EVENT_IDX the driver honours VRING_USED_F_NO_NOTIFY. */
static void test_drv_need_notify_used_flags(void **state)
{
	static const struct spec sp = {1, 0, {4}, false};
	struct sdrv_env *e = calloc(1, sizeof(*e));

	(void)state;
	assert_non_null(e);
	sdrv_env_init(e, 8, VR_LEGACY_ALIGN, F_BASE);
	e->vr.used->flags = htole16(VRING_USED_F_NO_NOTIFY);
	/* avail_event must be ignored without EVENT_IDX. */
	vring_avail_event(&e->vr) = htole16(0);
	assert_true(drv_add_spec(e, 0, &sp, e) >= 0);
	assert_int_equal(vr_split_drv_kick_prepare(&e->drv), 0);
	e->vr.used->flags = htole16(0);
	vring_avail_event(&e->vr) = htole16(1234);
	assert_true(drv_add_spec(e, 0, &sp, e) >= 0);
	assert_int_equal(vr_split_drv_kick_prepare(&e->drv), 1);
	sdrv_env_fini(e);
	free(e);
}

/* ======================================================================= */
/*       Part 2: a driver written with the Linux definitions only          */
/* ======================================================================= */

struct lrec {
	void *cookie;
	unsigned ndesc;
	uint16_t idx[MAXSEG];
	uint32_t in_bytes;
	bool busy;
};

struct ldrv {
	struct vring vr;
	const struct shm *m;
	uint16_t free_stack[MAXNUM];
	unsigned nfree;
	uint16_t avail_idx, avail_pub, kick_old, last_used;
	struct lrec rec[MAXNUM];
};

static void ldrv_init(struct ldrv *d, const struct vring *vr, const struct shm *m)
{
	unsigned num = vr->num;

	assert_true(num <= MAXNUM);
	memset(d, 0, sizeof(*d));
	d->vr = *vr;
	d->m = m;
	/* A scrambled free list, so that chains are not in index order. */
	for (unsigned i = 0; i < num; i++)
		d->free_stack[i] = (uint16_t)((i * 5u + 3u) % num);
	d->nfree = num;
	/* The driver owns the descriptor table and the available ring. */
	memset(vr->desc, 0, num * sizeof(struct vring_desc));
	memset(vr->avail, 0, offsetof(struct vring_avail, ring) +
				     (num + 1) * sizeof(__virtio16));
}

struct lbuf {
	uint64_t addr;
	uint32_t len;
};

/*
 * Put a chain into the ring. With @table, the chain goes into that
 * indirect table, chain position j at table entry tpos[j] (tpos[0] must be
 * 0: the device starts at the table's first entry); @ring_next_garbage
 * goes into next fields that carry no NEXT flag, which the device must
 * ignore. Returns the head index.
 */
static uint16_t ldrv_add(struct ldrv *d, const struct lbuf *b, unsigned n_out,
			 unsigned n_in, struct vring_desc *table, const unsigned *tpos,
			 void *cookie)
{
	unsigned n = n_out + n_in;
	uint32_t in_bytes = 0;
	uint16_t head;
	struct lrec *r;

	for (unsigned i = n_out; i < n; i++)
		in_bytes += b[i].len;
	if (table) {
		assert_true(d->nfree >= 1);
		head = d->free_stack[--d->nfree];
		for (unsigned j = 0; j < n; j++) {
			struct vring_desc *t = &table[tpos ? tpos[j] : j];
			uint16_t fl = j >= n_out ? VRING_DESC_F_WRITE : 0;

			if (j + 1 < n)
				fl |= VRING_DESC_F_NEXT;
			t->addr = htole64(b[j].addr);
			t->len = htole32(b[j].len);
			t->flags = htole16(fl);
			t->next = htole16(j + 1 < n ? (uint16_t)(tpos ? tpos[j + 1] : j + 1)
						    : 0x7777);
		}
		d->vr.desc[head].addr = htole64(shm_bus(d->m, table));
		d->vr.desc[head].len = htole32(n * sizeof(struct vring_desc));
		d->vr.desc[head].flags = htole16(VRING_DESC_F_INDIRECT);
		d->vr.desc[head].next = htole16(0x5555);
		r = &d->rec[head];
		r->ndesc = 1;
		r->idx[0] = head;
	} else {
		uint16_t idx[MAXSEG] = {0};

		assert_true(n >= 1 && n <= MAXSEG && d->nfree >= n);
		for (unsigned j = 0; j < n; j++)
			idx[j] = d->free_stack[--d->nfree];
		head = idx[0];
		for (unsigned j = 0; j < n; j++) {
			struct vring_desc *t = &d->vr.desc[idx[j]];
			uint16_t fl = j >= n_out ? VRING_DESC_F_WRITE : 0;

			if (j + 1 < n)
				fl |= VRING_DESC_F_NEXT;
			t->addr = htole64(b[j].addr);
			t->len = htole32(b[j].len);
			t->flags = htole16(fl);
			t->next = htole16(j + 1 < n ? idx[j + 1] : 0xbeef);
		}
		r = &d->rec[head];
		r->ndesc = n;
		memcpy(r->idx, idx, n * sizeof(idx[0]));
	}
	assert_false(r->busy);
	r->busy = true;
	r->cookie = cookie;
	r->in_bytes = in_bytes;
	d->vr.avail->ring[d->avail_idx % d->vr.num] = htole16(head);
	d->avail_idx++;
	return head;
}

static void ldrv_publish(struct ldrv *d)
{
	/* Descriptors and ring entries before the index. */
	atomic_thread_fence(memory_order_release);
	d->vr.avail->idx = htole16(d->avail_idx);
	d->avail_pub = d->avail_idx;
}

/* Must the device be kicked for what was published since last time? */
static bool ldrv_kick_needed(struct ldrv *d, bool event_idx)
{
	uint16_t old = d->kick_old, nw = d->avail_pub;

	atomic_thread_fence(memory_order_seq_cst);
	d->kick_old = nw;
	if (event_idx)
		return vring_need_event(le16toh(vring_avail_event(&d->vr)), nw, old);
	return !(le16toh(d->vr.used->flags) & VRING_USED_F_NO_NOTIFY);
}

/* Read one used element; false when there is none. */
static bool ldrv_get_used(struct ldrv *d, void **cookie, uint16_t *id,
			  uint32_t *len)
{
	uint16_t used_idx = le16toh(d->vr.used->idx);
	const vring_used_elem_t *e;
	struct lrec *r;
	uint32_t eid;

	/* Pairs with the device's release of used->idx. */
	atomic_thread_fence(memory_order_acquire);
	if (used_idx == d->last_used)
		return false;
	e = &d->vr.used->ring[d->last_used % d->vr.num];
	eid = le32toh(e->id);
	*len = le32toh(e->len);
	assert_true(eid < d->vr.num);
	r = &d->rec[eid];
	assert_true(r->busy);
	assert_true(*len <= r->in_bytes);
	*id = (uint16_t)eid;
	*cookie = r->cookie;
	for (unsigned j = r->ndesc; j > 0; j--)
		d->free_stack[d->nfree++] = r->idx[j - 1];
	r->busy = false;
	d->last_used++;
	return true;
}

/* libvring device with the Linux driver on the same ring. */
struct sdev_env {
	struct shm m;
	struct vring vr;
	struct vr_split_areas sa;
	struct vr_split_dev dev;
	void *state;
	struct ldrv drv;
	uint32_t num;
};

static void sdev_env_init(struct sdev_env *e, uint32_t num, size_t align,
			  uint64_t features)
{
	struct vr_queue_cfg cfg;

	memset(e, 0, sizeof(*e));
	shm_init(&e->m);
	e->num = num;
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = features;
	cfg.mem = vr_mem_window(e->m.base, BUS_BASE, e->m.len);
	vring_init(&e->vr, num, e->m.base, align);
	e->sa.desc = e->vr.desc;
	e->sa.avail = e->vr.avail;
	e->sa.used = e->vr.used;
	e->state = malloc(vr_split_dev_state_size(num));
	assert_non_null(e->state);
	memset(e->vr.used, 0xa5, 64);
	assert_int_equal(vr_split_dev_init(&e->dev, &cfg, &e->sa, e->state,
					   vr_split_dev_state_size(num)), 0);
	/* The device zeroed the used ring, as seen through vring. */
	assert_int_equal(le16toh(e->vr.used->flags), 0);
	assert_int_equal(le16toh(e->vr.used->idx), 0);
	assert_int_equal(le16toh(vring_avail_event(&e->vr)), 0);
	ldrv_init(&e->drv, &e->vr, &e->m);
}

static void sdev_env_fini(struct sdev_env *e)
{
	free(e->m.base);
	free(e->state);
}

static void lbufs_for(const struct shm *m, unsigned slot, const struct spec *sp,
		      struct lbuf *b)
{
	fill_slot(m, slot, sp);
	for (unsigned i = 0; i < sp->n_out + sp->n_in; i++) {
		b[i].addr = shm_bus(m, seg_ptr(m, slot, i));
		b[i].len = sp->len[i];
	}
}

/* What libvring's device popped must be exactly what the Linux driver
 * wrote; then write @len bytes into it. */
static void check_vchain(const struct shm *m, const struct vr_chain *c,
			 uint16_t head, unsigned ndesc, unsigned slot,
			 const struct spec *sp)
{
	unsigned n = sp->n_out + sp->n_in;
	uint32_t out_bytes = 0;

	assert_int_equal(c->id, head);
	assert_int_equal(c->n_out, sp->n_out);
	assert_int_equal(c->n_in, sp->n_in);
	assert_int_equal(c->ndesc, ndesc);
	for (unsigned i = 0; i < sp->n_out; i++)
		out_bytes += sp->len[i];
	assert_int_equal(c->out_bytes, out_bytes);
	assert_int_equal(c->in_bytes, spec_in_bytes(sp));
	for (unsigned i = 0; i < n; i++) {
		assert_ptr_equal(c->iov[i].base, seg_ptr(m, slot, i));
		assert_int_equal(c->iov[i].len, sp->len[i]);
		if (i < sp->n_out)
			for (unsigned k = 0; k < sp->len[i]; k++)
				assert_int_equal(((unsigned char *)c->iov[i].base)[k],
						 out_byte(slot, i, k));
	}
}

static void vdev_write(const struct vr_chain *c, unsigned slot, uint32_t len)
{
	uint32_t k = 0;

	for (unsigned i = c->n_out; i < (unsigned)c->n_out + c->n_in && k < len; i++)
		for (uint32_t j = 0; j < c->iov[i].len && k < len; j++, k++)
			((unsigned char *)c->iov[i].base)[j] = in_byte(slot, k);
	assert_int_equal(k, len);
}

/* ---- 2a: chains of every shape into libvring's device ------------------- */

static void test_linux_drv_chains_to_vr_dev(void **state)
{
	static const struct spec specs[] = {
		{1, 0, {64}, false},                      /* A: one readable */
		{2, 2, {10, 20, 30, 40}, false},          /* B: scattered */
		{3, 2, {5, 6, 7, 8, 9}, true},            /* C: indirect, shuffled */
		{0, 1, {250}, false},                     /* D: one writable */
		{0, 3, {1, 2, 3}, true},                  /* E: indirect, all in */
		{4, 0, {11, 12, 13, 14}, false},          /* F: all readable */
	};
	static const unsigned tpos_c[] = {0, 3, 1, 4, 2};
	static const unsigned order[] = {2, 0, 5, 3, 1, 4};
	const unsigned nspec = sizeof(specs) / sizeof(specs[0]);
	struct sdev_env *e = calloc(1, sizeof(*e));
	uint16_t head[6];
	int cookie[6];
	uint32_t len[6];
	struct vr_iov iov[6][MAXSEG];
	struct vr_chain c[6];

	(void)state;
	assert_non_null(e);
	sdev_env_init(e, 16, VR_LEGACY_ALIGN, F_BASE | FEAT(VR_F_INDIRECT_DESC));
	for (unsigned i = 0; i < nspec; i++) {
		struct lbuf b[MAXSEG];
		struct vring_desc *table = NULL;

		lbufs_for(&e->m, i, &specs[i], b);
		if (specs[i].indirect)
			table = (struct vring_desc *)(void *)(slot_ptr(&e->m, i) + TABLE_OFF);
		head[i] = ldrv_add(&e->drv, b, specs[i].n_out, specs[i].n_in, table,
				   i == 2 ? tpos_c : NULL, &cookie[i]);
	}
	/* Not published yet. */
	assert_int_equal(vr_split_dev_avail(&e->dev), 0);
	memset(&c[0], 0, sizeof(c[0]));
	c[0].iov = iov[0];
	c[0].iov_cap = MAXSEG;
	assert_int_equal(vr_split_dev_pop(&e->dev, &c[0]), VR_EAGAIN);
	ldrv_publish(&e->drv);
	assert_int_equal(vr_split_dev_avail(&e->dev), (int)nspec);

	for (unsigned i = 0; i < nspec; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].iov = iov[i];
		c[i].iov_cap = MAXSEG;
		assert_int_equal(vr_split_dev_pop(&e->dev, &c[i]), 0);
		check_vchain(&e->m, &c[i], head[i],
			     specs[i].indirect ? 1 : specs[i].n_out + specs[i].n_in, i,
			     &specs[i]);
	}
	assert_int_equal(vr_split_dev_pop(&e->dev, &c[0]), VR_EAGAIN);
	assert_int_equal(vr_split_dev_in_flight(&e->dev), nspec);

	for (unsigned k = 0; k < nspec; k++) {
		unsigned i = order[k];

		len[i] = c[i].in_bytes ? c[i].in_bytes - (uint32_t)k % c[i].in_bytes : 0;
		vdev_write(&c[i], i, len[i]);
		assert_int_equal(vr_split_dev_complete(&e->dev, c[i].id, len[i]), 0);
	}
	/* Completed but not published: the Linux driver sees nothing. */
	{
		void *ck;
		uint16_t id;
		uint32_t l;

		assert_false(ldrv_get_used(&e->drv, &ck, &id, &l));
	}
	vr_split_dev_publish(&e->dev);
	assert_int_equal(le16toh(e->vr.used->idx), nspec);
	for (unsigned k = 0; k < nspec; k++) {
		unsigned i = order[k];
		void *ck;
		uint16_t id;
		uint32_t l;

		/* Raw used element, as the Linux struct sees it. */
		assert_int_equal(le32toh(e->vr.used->ring[k].id), head[i]);
		assert_int_equal(le32toh(e->vr.used->ring[k].len), len[i]);
		assert_true(ldrv_get_used(&e->drv, &ck, &id, &l));
		assert_ptr_equal(ck, &cookie[i]);
		assert_int_equal(id, head[i]);
		assert_int_equal(l, len[i]);
		check_written(&e->m, i, &specs[i], l);
	}
	assert_int_equal(e->drv.nfree, 16);
	assert_int_equal(vr_split_dev_in_flight(&e->dev), 0);
	assert_int_equal(vr_split_dev_broken(&e->dev), 0);
	sdev_env_fini(e);
	free(e);
}

/*
 * A direct readable descriptor whose NEXT leads to an indirect descriptor
 * (allowed: the spec forbids only INDIRECT together with NEXT, and nesting).
 */
static void test_linux_drv_direct_then_indirect(void **state)
{
	struct sdev_env *e = calloc(1, sizeof(*e));
	struct vring_desc *table;
	struct vr_iov iov[4];
	struct vr_chain c;
	unsigned char *out, *in0, *in1;
	void *ck;
	uint16_t id;
	uint32_t l;

	(void)state;
	assert_non_null(e);
	sdev_env_init(e, 8, 4, F_BASE | FEAT(VR_F_INDIRECT_DESC));
	out = seg_ptr(&e->m, 0, 0);
	in0 = seg_ptr(&e->m, 0, 1);
	in1 = seg_ptr(&e->m, 0, 2);
	memset(out, 0x5a, 12);
	table = (struct vring_desc *)(void *)(slot_ptr(&e->m, 0) + TABLE_OFF);
	table[0].addr = htole64(shm_bus(&e->m, in0));
	table[0].len = htole32(20);
	table[0].flags = htole16(VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	table[0].next = htole16(1);
	table[1].addr = htole64(shm_bus(&e->m, in1));
	table[1].len = htole32(30);
	table[1].flags = htole16(VRING_DESC_F_WRITE);
	table[1].next = htole16(0);
	e->vr.desc[6].addr = htole64(shm_bus(&e->m, out));
	e->vr.desc[6].len = htole32(12);
	e->vr.desc[6].flags = htole16(VRING_DESC_F_NEXT);
	e->vr.desc[6].next = htole16(2);
	e->vr.desc[2].addr = htole64(shm_bus(&e->m, table));
	e->vr.desc[2].len = htole32(2 * sizeof(struct vring_desc));
	e->vr.desc[2].flags = htole16(VRING_DESC_F_INDIRECT);
	e->vr.desc[2].next = htole16(0);
	e->drv.rec[6].busy = true;
	e->drv.rec[6].ndesc = 2;
	e->drv.rec[6].idx[0] = 6;
	e->drv.rec[6].idx[1] = 2;
	e->drv.rec[6].in_bytes = 50;
	e->drv.rec[6].cookie = e;
	e->vr.avail->ring[0] = htole16(6);
	e->drv.avail_idx = 1;
	ldrv_publish(&e->drv);

	memset(&c, 0, sizeof(c));
	c.iov = iov;
	c.iov_cap = 4;
	assert_int_equal(vr_split_dev_pop(&e->dev, &c), 0);
	assert_int_equal(c.id, 6);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(c.ndesc, 2);
	assert_int_equal(c.out_bytes, 12);
	assert_int_equal(c.in_bytes, 50);
	assert_ptr_equal(iov[0].base, out);
	assert_int_equal(iov[0].len, 12);
	assert_ptr_equal(iov[1].base, in0);
	assert_int_equal(iov[1].len, 20);
	assert_ptr_equal(iov[2].base, in1);
	assert_int_equal(iov[2].len, 30);
	assert_int_equal(vr_split_dev_push(&e->dev, 6, 25), 0);
	assert_true(ldrv_get_used(&e->drv, &ck, &id, &l));
	assert_ptr_equal(ck, e);
	assert_int_equal(id, 6);
	assert_int_equal(l, 25);
	sdev_env_fini(e);
	free(e);
}

/*
 * "The device MUST ignore the write-only flag in the descriptor that refers
 * to an indirect table" (section 2.7.5.3.2): a driver that sets it there
 * must still get its readable and writable segments from the table.
 */
static void test_linux_drv_indirect_with_write_flag(void **state)
{
	static const struct spec sp = {2, 1, {9, 10, 11}, true};
	struct sdev_env *e = calloc(1, sizeof(*e));
	struct vring_desc *table;
	struct lbuf b[3];
	struct vr_iov iov[4];
	struct vr_chain c;
	uint16_t head;
	void *ck;
	uint16_t id;
	uint32_t l;

	(void)state;
	assert_non_null(e);
	sdev_env_init(e, 8, VR_LEGACY_ALIGN, F_BASE | FEAT(VR_F_INDIRECT_DESC));
	lbufs_for(&e->m, 0, &sp, b);
	table = (struct vring_desc *)(void *)(slot_ptr(&e->m, 0) + TABLE_OFF);
	head = ldrv_add(&e->drv, b, 2, 1, table, NULL, e);
	e->vr.desc[head].flags = htole16(VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE);
	ldrv_publish(&e->drv);
	memset(&c, 0, sizeof(c));
	c.iov = iov;
	c.iov_cap = 4;
	assert_int_equal(vr_split_dev_pop(&e->dev, &c), 0);
	check_vchain(&e->m, &c, head, 1, 0, &sp);
	assert_int_equal(vr_split_dev_push(&e->dev, c.id, 11), 0);
	assert_true(ldrv_get_used(&e->drv, &ck, &id, &l));
	assert_int_equal(id, head);
	assert_int_equal(l, 11);
	sdev_env_fini(e);
	free(e);
}

/*
 * What drivers built on the uapi header (and OpenAMP's virtqueue) send and
 * a strict libvring device refuses (issue 11, findings 5 and 6): empty
 * segments, and an indirect table placed at a 4-byte (not 8-byte)
 * boundary. With VR_QF_ZERO_LEN_OK the device takes the empty segments as
 * nothing and a chain of only those as an empty chain; the table is read
 * wherever it is. The default device still breaks on the empty segment.
 */
static void test_linux_drv_zero_len_and_align4_table(void **state)
{
	struct sdev_env *e = calloc(1, sizeof(*e));
	struct vr_queue_cfg cfg;
	struct lbuf b[4];
	struct vr_iov iov[4];
	struct vr_chain c;
	unsigned char *tp;
	uint16_t head, id;
	uint32_t l;
	void *ck;
	int strict;

	(void)state;
	assert_non_null(e);
	for (strict = 1; strict >= 0; strict--) {
		sdev_env_init(e, 8, VR_LEGACY_ALIGN, F_BASE | FEAT(VR_F_INDIRECT_DESC));
		memset(&cfg, 0, sizeof(cfg));
		cfg.num = 8;
		cfg.features = F_BASE | FEAT(VR_F_INDIRECT_DESC);
		cfg.flags = strict ? 0 : VR_QF_ZERO_LEN_OK;
		cfg.mem = vr_mem_window(e->m.base, BUS_BASE, e->m.len);
		assert_int_equal(vr_split_dev_init(&e->dev, &cfg, &e->sa, e->state,
						   vr_split_dev_state_size(8)), 0);
		memset(&c, 0, sizeof(c));
		c.iov = iov;
		c.iov_cap = 4;

		/* R16, R0, W32, W0. */
		memset(seg_ptr(&e->m, 0, 0), 0x3c, 16);
		b[0].addr = shm_bus(&e->m, seg_ptr(&e->m, 0, 0));
		b[0].len = 16;
		b[1].addr = shm_bus(&e->m, seg_ptr(&e->m, 0, 1));
		b[1].len = 0;
		b[2].addr = shm_bus(&e->m, seg_ptr(&e->m, 0, 2));
		b[2].len = 32;
		b[3].addr = 0; /* an empty segment's address does not matter */
		b[3].len = 0;
		head = ldrv_add(&e->drv, b, 2, 2, NULL, NULL, e);
		ldrv_publish(&e->drv);
		if (strict) {
			assert_int_equal(vr_split_dev_pop(&e->dev, &c), VR_EZEROLEN);
			assert_int_equal(vr_split_dev_broken(&e->dev), VR_EZEROLEN);
			sdev_env_fini(e);
			continue;
		}
		assert_int_equal(vr_split_dev_pop(&e->dev, &c), 0);
		assert_int_equal(c.id, head);
		assert_int_equal(c.n_out, 1);
		assert_int_equal(c.n_in, 1);
		assert_int_equal(c.ndesc, 4);
		assert_ptr_equal(iov[0].base, seg_ptr(&e->m, 0, 0));
		assert_ptr_equal(iov[1].base, seg_ptr(&e->m, 0, 2));
		memset(iov[1].base, 0xc3, 32);
		assert_int_equal(vr_split_dev_push(&e->dev, c.id, 32), 0);
		assert_true(ldrv_get_used(&e->drv, &ck, &id, &l));
		assert_int_equal(id, head);
		assert_int_equal(l, 32);

		/* Only an empty segment: an empty chain, returned with 0. */
		b[0].len = 0;
		head = ldrv_add(&e->drv, b, 1, 0, NULL, NULL, e);
		ldrv_publish(&e->drv);
		assert_int_equal(vr_split_dev_pop(&e->dev, &c), 0);
		assert_int_equal(c.n_out + c.n_in, 0);
		assert_int_equal(vr_split_dev_push(&e->dev, c.id, 0), 0);
		assert_true(ldrv_get_used(&e->drv, &ck, &id, &l));
		assert_int_equal(id, head);
		assert_int_equal(l, 0);

		/* An indirect table (R16, W32) moved to slot + TABLE_OFF + 4:
		 * written aligned, then copied there byte by byte. */
		b[0].len = 16;
		b[1] = b[2];
		head = ldrv_add(&e->drv, b, 1, 1,
				(struct vring_desc *)(void *)(slot_ptr(&e->m, 1) + TABLE_OFF),
				NULL, e);
		tp = slot_ptr(&e->m, 1) + TABLE_OFF;
		memmove(tp + 4, tp, 2 * sizeof(struct vring_desc));
		e->vr.desc[head].addr = htole64(shm_bus(&e->m, tp + 4));
		ldrv_publish(&e->drv);
		assert_int_equal(vr_split_dev_pop(&e->dev, &c), 0);
		assert_int_equal(c.n_out, 1);
		assert_int_equal(c.n_in, 1);
		assert_ptr_equal(iov[0].base, seg_ptr(&e->m, 0, 0));
		assert_int_equal(iov[0].len, 16);
		assert_ptr_equal(iov[1].base, seg_ptr(&e->m, 0, 2));
		assert_int_equal(iov[1].len, 32);
		assert_int_equal(vr_split_dev_push(&e->dev, c.id, 8), 0);
		assert_true(ldrv_get_used(&e->drv, &ck, &id, &l));
		assert_int_equal(id, head);
		assert_int_equal(l, 8);
		assert_int_equal(vr_split_dev_broken(&e->dev), 0);
		sdev_env_fini(e);
	}
	free(e);
}

/* ---- 2b: a long run across the 16-bit wrap ------------------------------- */

static void test_linux_drv_long_run_16bit_wrap(void **state)
{
	const unsigned total = 70000, num = 16;
	struct sdev_env *e = calloc(1, sizeof(*e));
	struct inflight rec[NSLOTS];
	uint16_t head_of[NSLOTS];
	unsigned added = 0, collected = 0, popped = 0;

	(void)state;
	assert_non_null(e);
	g_rng = 777;
	sdev_env_init(e, num, 64, F_BASE | FEAT(VR_F_INDIRECT_DESC));
	while (collected < total) {
		struct vr_iov iov[MAXNUM][MAXSEG];
		struct vr_chain c[MAXNUM];
		unsigned seqs[MAXNUM], npop = 0, used_seq[MAXNUM], nused = 0;
		unsigned batch = 1 + rnd() % num;

		for (unsigned b = 0; b < batch && added < total; b++) {
			unsigned slot = added % NSLOTS;
			struct lbuf lb[MAXSEG];
			struct vring_desc *table = NULL;

			if (e->drv.nfree == 0)
				break;
			random_spec(&rec[slot].sp, e->drv.nfree < 5 ? e->drv.nfree : 5, true);
			rec[slot].slot = slot;
			lbufs_for(&e->m, slot, &rec[slot].sp, lb);
			if (rec[slot].sp.indirect)
				table = (struct vring_desc *)(void *)(slot_ptr(&e->m, slot) +
								      TABLE_OFF);
			head_of[slot] = ldrv_add(&e->drv, lb, rec[slot].sp.n_out,
						 rec[slot].sp.n_in, table, NULL,
						 (void *)(uintptr_t)(added + 1));
			added++;
		}
		ldrv_publish(&e->drv);

		for (;;) {
			unsigned slot = popped % NSLOTS;
			int err;

			memset(&c[npop], 0, sizeof(c[npop]));
			c[npop].iov = iov[npop];
			c[npop].iov_cap = MAXSEG;
			err = vr_split_dev_pop(&e->dev, &c[npop]);
			if (err == VR_EAGAIN)
				break;
			assert_int_equal(err, 0);
			check_vchain(&e->m, &c[npop], head_of[slot],
				     rec[slot].sp.indirect ? 1
							   : rec[slot].sp.n_out + rec[slot].sp.n_in,
				     slot, &rec[slot].sp);
			seqs[npop++] = popped++;
		}
		assert_int_equal(popped, added);

		/* Complete in a random order, publishing at random points. */
		while (npop > 0) {
			unsigned j = rnd() % npop, slot = seqs[j] % NSLOTS;
			uint32_t len = c[j].in_bytes ? rnd() % (c[j].in_bytes + 1) : 0;

			rec[slot].len = len;
			vdev_write(&c[j], slot, len);
			assert_int_equal(vr_split_dev_complete(&e->dev, c[j].id, len), 0);
			used_seq[nused++] = seqs[j];
			c[j] = c[npop - 1];
			memcpy(iov[j], iov[npop - 1], sizeof(iov[j]));
			c[j].iov = iov[j];
			seqs[j] = seqs[npop - 1];
			npop--;
			if (rnd() % 3 == 0)
				vr_split_dev_publish(&e->dev);
		}
		vr_split_dev_publish(&e->dev);
		assert_int_equal(le16toh(e->vr.used->idx), (uint16_t)added);

		for (unsigned k = 0; k < nused; k++) {
			unsigned slot = used_seq[k] % NSLOTS;
			void *ck;
			uint16_t id;
			uint32_t l;

			assert_true(ldrv_get_used(&e->drv, &ck, &id, &l));
			assert_ptr_equal(ck, (void *)(uintptr_t)(used_seq[k] + 1));
			assert_int_equal(id, head_of[slot]);
			assert_int_equal(l, rec[slot].len);
			check_written(&e->m, slot, &rec[slot].sp, l);
			collected++;
		}
		assert_int_equal(e->drv.nfree, num);
	}
	assert_true(added > 65536);
	assert_int_equal(vr_split_dev_broken(&e->dev), 0);
	sdev_env_fini(e);
	free(e);
}

/* Run @count one-segment chains through: Linux driver -> libvring device. */
static void sdev_cycle(struct sdev_env *e, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		struct lbuf b = {shm_bus(&e->m, seg_ptr(&e->m, 0, 0)), 8};
		struct vr_iov iov[1];
		struct vr_chain c;
		void *ck;
		uint16_t id, head;
		uint32_t l;

		head = ldrv_add(&e->drv, &b, 0, 1, NULL, NULL, e);
		ldrv_publish(&e->drv);
		memset(&c, 0, sizeof(c));
		c.iov = iov;
		c.iov_cap = 1;
		assert_int_equal(vr_split_dev_pop(&e->dev, &c), 0);
		assert_int_equal(c.id, head);
		assert_int_equal(vr_split_dev_push(&e->dev, c.id, 3), 0);
		assert_true(ldrv_get_used(&e->drv, &ck, &id, &l));
		assert_int_equal(l, 3);
	}
}

/* ---- 2c: avail_event written by libvring, read through the macro --------- */

static void test_dev_avail_event_through_macro(void **state)
{
	static const unsigned points[] = {0, 5, 65533, 65535, 65536 + 1};
	struct sdev_env *e = calloc(1, sizeof(*e));
	unsigned done = 0;

	(void)state;
	assert_non_null(e);
	sdev_env_init(e, 8, VR_LEGACY_ALIGN, F_BASE | FEAT(VR_F_EVENT_IDX));
	for (unsigned p = 0; p < sizeof(points) / sizeof(points[0]); p++) {
		struct lbuf b = {shm_bus(&e->m, seg_ptr(&e->m, 0, 0)), 8};
		struct vr_iov iov[1];
		struct vr_chain c;
		void *ck;
		uint16_t id, k;
		uint32_t l;

		assert_true(points[p] >= done);
		sdev_cycle(e, points[p] - done);
		done = points[p];
		k = (uint16_t)done;
		(void)ldrv_kick_needed(&e->drv, true); /* sync kick_old */

		assert_int_equal(vr_split_dev_arm_avail_notify(&e->dev), 0);
		assert_int_equal(le16toh(vring_avail_event(&e->vr)), k);
		assert_int_equal(le16toh(e->vr.used->flags), 0);

		/* The next chain must kick. */
		(void)ldrv_add(&e->drv, &b, 0, 1, NULL, NULL, e);
		ldrv_publish(&e->drv);
		assert_true(ldrv_kick_needed(&e->drv, true));
		/* Armed again with one pending: it says so. */
		assert_int_equal(vr_split_dev_arm_avail_notify(&e->dev), 1);
		assert_int_equal(le16toh(vring_avail_event(&e->vr)), k);
		memset(&c, 0, sizeof(c));
		c.iov = iov;
		c.iov_cap = 1;
		assert_int_equal(vr_split_dev_pop(&e->dev, &c), 0);
		assert_int_equal(vr_split_dev_push(&e->dev, c.id, 0), 0);
		assert_true(ldrv_get_used(&e->drv, &ck, &id, &l));
		done++;

		/* Suppressed: the next chain must not kick. */
		vr_split_dev_suppress_avail_notify(&e->dev);
		assert_int_equal(le16toh(vring_avail_event(&e->vr)), k);
		(void)ldrv_add(&e->drv, &b, 0, 1, NULL, NULL, e);
		ldrv_publish(&e->drv);
		assert_false(ldrv_kick_needed(&e->drv, true));
		assert_int_equal(vr_split_dev_pop(&e->dev, &c), 0);
		assert_int_equal(vr_split_dev_push(&e->dev, c.id, 0), 0);
		assert_true(ldrv_get_used(&e->drv, &ck, &id, &l));
		done++;
	}
	sdev_env_fini(e);
	free(e);
}

static void test_dev_used_flags_no_event_idx(void **state)
{
	struct sdev_env *e = calloc(1, sizeof(*e));
	struct lbuf b;

	(void)state;
	assert_non_null(e);
	sdev_env_init(e, 8, 64, F_BASE);
	b.addr = shm_bus(&e->m, seg_ptr(&e->m, 0, 0));
	b.len = 8;
	vr_split_dev_suppress_avail_notify(&e->dev);
	assert_int_equal(le16toh(e->vr.used->flags), VRING_USED_F_NO_NOTIFY);
	assert_int_equal(le16toh(vring_avail_event(&e->vr)), 0);
	(void)ldrv_add(&e->drv, &b, 0, 1, NULL, NULL, e);
	ldrv_publish(&e->drv);
	assert_false(ldrv_kick_needed(&e->drv, false));
	/* Armed with one chain already there: returns the count. */
	assert_int_equal(vr_split_dev_arm_avail_notify(&e->dev), 1);
	assert_int_equal(le16toh(e->vr.used->flags), 0);
	(void)ldrv_add(&e->drv, &b, 0, 1, NULL, NULL, e);
	ldrv_publish(&e->drv);
	assert_true(ldrv_kick_needed(&e->drv, false));
	sdev_env_fini(e);
	free(e);
}

/*
 * libvring's device need_notify reads used_event (written by the Linux
 * driver through vring_used_event()) and must agree with
 * vring_need_event(event, new, old) for every event value. Probes run on
 * copies of the queue object, as in the driver-side test.
 */
static void test_dev_need_notify_vs_vring_need_event(void **state)
{
	static const unsigned starts[] = {0, 2, 65528, 65531, 65535, 65536, 65539};
	const unsigned num = 8;
	struct sdev_env *e = calloc(1, sizeof(*e));
	unsigned done = 0;

	(void)state;
	assert_non_null(e);
	sdev_env_init(e, num, VR_LEGACY_ALIGN, F_BASE | FEAT(VR_F_EVENT_IDX));
	for (unsigned s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		struct vr_iov iov[MAXNUM][1];
		struct vr_chain c[MAXNUM];
		uint16_t old;

		if (starts[s] < done) {
			sdev_env_fini(e);
			sdev_env_init(e, num, VR_LEGACY_ALIGN,
				      F_BASE | FEAT(VR_F_EVENT_IDX));
			done = 0;
		}
		sdev_cycle(e, starts[s] - done);
		done = starts[s];
		old = (uint16_t)done;
		/* With EVENT_IDX the device ignores avail->flags. */
		e->vr.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
		(void)vr_split_dev_need_notify(&e->dev); /* notify_old = old */
		for (unsigned k = 0; k < num; k++) {
			struct lbuf b = {shm_bus(&e->m, seg_ptr(&e->m, 0, k)), 8};

			(void)ldrv_add(&e->drv, &b, 0, 1, NULL, NULL, e);
			ldrv_publish(&e->drv);
			memset(&c[k], 0, sizeof(c[k]));
			c[k].iov = iov[k];
			c[k].iov_cap = 1;
			assert_int_equal(vr_split_dev_pop(&e->dev, &c[k]), 0);
		}
		for (unsigned k = 0; k <= num; k++) {
			uint16_t nw = (uint16_t)(old + k);

			if (k > 0) {
				assert_int_equal(vr_split_dev_complete(&e->dev, c[k - 1].id, 1), 0);
				vr_split_dev_publish(&e->dev);
			}
			assert_int_equal(le16toh(e->vr.used->idx), nw);
			for (uint32_t ev = 0; ev <= 0xffff; ev++) {
				struct vr_split_dev probe = e->dev;
				int want = vring_need_event((uint16_t)ev, nw, old) != 0;

				vring_used_event(&e->vr) = htole16((uint16_t)ev);
				assert_int_equal(vr_split_dev_need_notify(&probe), want);
			}
		}
		vring_used_event(&e->vr) = htole16((uint16_t)(old + num - 1));
		assert_int_equal(vr_split_dev_need_notify(&e->dev), 1);
		assert_int_equal(vr_split_dev_need_notify(&e->dev), 0);
		for (unsigned k = 0; k < num; k++) {
			void *ck;
			uint16_t id;
			uint32_t l;

			assert_true(ldrv_get_used(&e->drv, &ck, &id, &l));
			assert_int_equal(id, c[k].id);
		}
		done += num;
	}
	sdev_env_fini(e);
	free(e);
}

static void test_dev_need_notify_avail_flags(void **state)
{
	struct sdev_env *e = calloc(1, sizeof(*e));
	struct lbuf b;
	struct vr_iov iov[1];
	struct vr_chain c;

	(void)state;
	assert_non_null(e);
	sdev_env_init(e, 8, VR_LEGACY_ALIGN, F_BASE);
	b.addr = shm_bus(&e->m, seg_ptr(&e->m, 0, 0));
	b.len = 8;
	memset(&c, 0, sizeof(c));
	c.iov = iov;
	c.iov_cap = 1;
	e->vr.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	vring_used_event(&e->vr) = htole16(0); /* ignored without EVENT_IDX */
	(void)ldrv_add(&e->drv, &b, 0, 1, NULL, NULL, e);
	ldrv_publish(&e->drv);
	assert_int_equal(vr_split_dev_pop(&e->dev, &c), 0);
	assert_int_equal(vr_split_dev_complete(&e->dev, c.id, 0), 0);
	assert_int_equal(vr_split_dev_notify_prepare(&e->dev), 0);
	e->vr.avail->flags = htole16(0);
	vring_used_event(&e->vr) = htole16(999);
	(void)ldrv_add(&e->drv, &b, 0, 1, NULL, NULL, e);
	ldrv_publish(&e->drv);
	assert_int_equal(vr_split_dev_pop(&e->dev, &c), 0);
	assert_int_equal(vr_split_dev_complete(&e->dev, c.id, 0), 0);
	assert_int_equal(vr_split_dev_notify_prepare(&e->dev), 1);
	sdev_env_fini(e);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drv_layout_matches_vring_init),
		cmocka_unit_test(test_drv_chains_to_linux_device),
		cmocka_unit_test(test_drv_long_run_16bit_wrap),
		cmocka_unit_test(test_drv_used_event_through_macro),
		cmocka_unit_test(test_drv_avail_flags_no_event_idx),
		cmocka_unit_test(test_need_event_pure_vs_vring_need_event),
		cmocka_unit_test(test_drv_need_notify_vs_vring_need_event),
		cmocka_unit_test(test_drv_need_notify_used_flags),
		cmocka_unit_test(test_linux_drv_chains_to_vr_dev),
		cmocka_unit_test(test_linux_drv_direct_then_indirect),
		cmocka_unit_test(test_linux_drv_indirect_with_write_flag),
		cmocka_unit_test(test_linux_drv_zero_len_and_align4_table),
		cmocka_unit_test(test_linux_drv_long_run_16bit_wrap),
		cmocka_unit_test(test_dev_avail_event_through_macro),
		cmocka_unit_test(test_dev_used_flags_no_event_idx),
		cmocka_unit_test(test_dev_need_notify_vs_vring_need_event),
		cmocka_unit_test(test_dev_need_notify_avail_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
