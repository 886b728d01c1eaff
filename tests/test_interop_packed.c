/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interop, packed ring: libvring against a peer written only with the
 * system's Linux uapi definitions (<linux/virtio_ring.h>: struct
 * vring_packed_desc, struct vring_packed_desc_event, VRING_DESC_F_*,
 * VRING_PACKED_DESC_F_AVAIL / _USED, VRING_PACKED_EVENT_FLAG_*,
 * VRING_PACKED_EVENT_F_WRAP_CTR, vring_need_event).
 *
 * Note that the uapi gives VRING_PACKED_DESC_F_AVAIL and _USED as bit
 * NUMBERS (7 and 15), so the flags are 1 << VRING_PACKED_DESC_F_AVAIL and
 * 1 << VRING_PACKED_DESC_F_USED; likewise the wrap counter of an event
 * structure is bit VRING_PACKED_EVENT_F_WRAP_CTR of off_wrap.
 *
 * The protocol as the Linux-side peers here implement it (virtio 1.2
 * section 2.8): both wrap counters start at 1; a descriptor is available
 * when its AVAIL bit equals the driver's wrap counter and its USED bit is
 * the inverse; the buffer id is read from the last descriptor of a chain;
 * the device writes one used descriptor per chain at its own position
 * (AVAIL and USED both equal to the device's wrap counter) and skips by the
 * chain's length.
 *
 *  Part 1: libvring is the driver, a Linux-definition device consumes.
 *  Part 2: a Linux-definition driver feeds libvring's device.
 *
 * The peers are this file's own code; all fields go through le16toh() and
 * friends (no-ops on this little-endian host, kept for the record), and
 * the fences mark where a concurrent peer would need them. Bus addresses
 * are BUS_BASE + offset into the region, above 4 GiB.
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
#define SEG_STRIDE 256u
#define TABLE_OFF 3072u
#define MAXSEG 8
#define MAXNUM 64

#define FEAT(bit) VR_FEATURE(bit)
#define F_PACKED (FEAT(VR_F_VERSION_1) | FEAT(VR_F_RING_PACKED))

#define L_AVAIL ((uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL))
#define L_USED ((uint16_t)(1u << VRING_PACKED_DESC_F_USED))
#define L_WRAP_BIT ((uint16_t)(1u << VRING_PACKED_EVENT_F_WRAP_CTR))

/* ======================================================================= */
/*                    Shared region, buffers, helpers                      */
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

static unsigned char out_byte(unsigned slot, unsigned i, unsigned k)
{
	return (unsigned char)(0x29u * (i + 1) + slot * 7u + k);
}

static unsigned char in_byte(unsigned slot, unsigned k)
{
	return (unsigned char)(0x5cu ^ (slot * 11u + k));
}

struct spec {
	unsigned n_out, n_in;
	uint32_t len[MAXSEG];
	bool indirect;
};

static unsigned spec_n(const struct spec *sp)
{
	return sp->n_out + sp->n_in;
}

static uint32_t spec_in_bytes(const struct spec *sp)
{
	uint32_t t = 0;

	for (unsigned i = sp->n_out; i < spec_n(sp); i++)
		t += sp->len[i];
	return t;
}

static uint32_t g_rng = 0x9e3779b9u;

static uint32_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 17;
	g_rng ^= g_rng << 5;
	return g_rng;
}

/* A random chain: up to @max_direct ring descriptors, or (one time in four
 * when @max_table > 0) an indirect table of up to @max_table entries. */
static void random_spec(struct spec *sp, unsigned max_direct, unsigned max_table)
{
	unsigned n;

	memset(sp, 0, sizeof(*sp));
	sp->indirect = max_table > 0 && rnd() % 4 == 0;
	n = sp->indirect ? 1 + rnd() % max_table : 1 + rnd() % max_direct;
	sp->n_out = rnd() % (n + 1);
	sp->n_in = n - sp->n_out;
	for (unsigned i = 0; i < n; i++)
		sp->len[i] = 1 + rnd() % SEG_STRIDE;
}

static void fill_slot(const struct shm *m, unsigned slot, const struct spec *sp)
{
	for (unsigned i = 0; i < spec_n(sp); i++) {
		unsigned char *p = seg_ptr(m, slot, i);

		for (unsigned k = 0; k < sp->len[i]; k++)
			p[k] = i < sp->n_out ? out_byte(slot, i, k) : 0;
	}
}

static void check_written(const struct shm *m, unsigned slot,
			  const struct spec *sp, uint32_t len)
{
	uint32_t k = 0;

	for (unsigned i = sp->n_out; i < spec_n(sp) && k < len; i++) {
		const unsigned char *p = seg_ptr(m, slot, i);

		for (unsigned j = 0; j < sp->len[i] && k < len; j++, k++)
			assert_int_equal(p[j], in_byte(slot, k));
	}
	assert_int_equal(k, len);
}

/* Flags bits of a descriptor the driver makes available in @wrap. */
static uint16_t l_avail_bits(bool wrap)
{
	return wrap ? L_AVAIL : L_USED;
}

/* Flags bits of a descriptor the device marks used in @wrap. */
static uint16_t l_used_bits(bool wrap)
{
	return wrap ? (uint16_t)(L_AVAIL | L_USED) : 0;
}

static bool l_is_avail(uint16_t flags, bool wrap)
{
	bool a = (flags & L_AVAIL) != 0, u = (flags & L_USED) != 0;

	return a == wrap && u != wrap;
}

static bool l_is_used(uint16_t flags, bool wrap)
{
	bool a = (flags & L_AVAIL) != 0, u = (flags & L_USED) != 0;

	return a == wrap && u == wrap;
}

static void l_advance(uint16_t *pos, bool *wrap, unsigned by, unsigned num)
{
	unsigned p = *pos + by;

	if (p >= num) {
		p -= num;
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}

static uint16_t l_off_wrap(uint16_t pos, bool wrap)
{
	return (uint16_t)(pos | (wrap ? L_WRAP_BIT : 0));
}

/*
 * The packed notification test, built on vring_need_event(): a side moved
 * its position by @moved descriptors, ending at (@new_pos, @new_wrap); was
 * the descriptor named by the peer's @off_wrap among them? The event's
 * offset is put on the same line as new_pos (one lap back when its wrap
 * counter differs), then it is the split ring's index test.
 */
static bool ref_packed_need_event(uint16_t off_wrap, unsigned num, uint16_t new_pos,
				  bool new_wrap, unsigned moved)
{
	uint16_t off = (uint16_t)(off_wrap & (uint16_t)~L_WRAP_BIT);
	bool wrap = (off_wrap & L_WRAP_BIT) != 0;

	if (wrap != new_wrap)
		off = (uint16_t)(off - num);
	return vring_need_event(off, new_pos, (uint16_t)(new_pos - moved)) != 0;
}

/* ======================================================================= */
/*        Part 1: a device written with the Linux definitions only         */
/* ======================================================================= */

struct lpseg {
	unsigned char *p;
	uint32_t len;
	bool write;
};

struct lpchain {
	uint16_t id;
	unsigned ndesc;            /* ring descriptors */
	unsigned n, n_out, n_in;
	uint32_t in_bytes;
	bool indirect;
	uint16_t first_pos;
	uint16_t raw_flags[MAXNUM]; /* ring descriptors, as found */
	bool raw_wrap[MAXNUM];      /* device's avail wrap at each of them */
	uint64_t table_addr;
	uint32_t table_len;
	uint16_t table_flags[MAXSEG];
	struct lpseg seg[MAXSEG];
};

struct lpdev {
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *driver_ev; /* the driver writes it */
	struct vring_packed_desc_event *device_ev; /* we write it */
	unsigned num;
	const struct shm *m;
	uint16_t next_avail, next_used;
	bool avail_wrap, used_wrap;
	uint16_t chain_len[MAXNUM]; /* by buffer id; 0 = not in flight */
	uint16_t sig_pos;           /* used position at the last notify check */
	bool sig_wrap;
};

static void lpdev_init(struct lpdev *d, const struct vr_packed_areas *pa,
		       unsigned num, const struct shm *m)
{
	memset(d, 0, sizeof(*d));
	d->desc = pa->desc;
	d->driver_ev = pa->driver_event;
	d->device_ev = pa->device_event;
	d->num = num;
	d->m = m;
	d->avail_wrap = d->used_wrap = d->sig_wrap = true;
	memset(d->device_ev, 0, sizeof(*d->device_ev));
}

static bool lpdev_pop(struct lpdev *d, struct lpchain *c)
{
	uint16_t pos = d->next_avail;
	bool wrap = d->avail_wrap;
	uint16_t flags = le16toh(d->desc[pos].flags);

	if (!l_is_avail(flags, wrap))
		return false;
	/* Pairs with the driver's release of the first flags. */
	atomic_thread_fence(memory_order_acquire);
	memset(c, 0, sizeof(*c));
	c->first_pos = pos;
	for (unsigned k = 0;; k++) {
		const struct vring_packed_desc *dsc = &d->desc[pos];
		uint64_t addr = le64toh(dsc->addr);
		uint32_t len = le32toh(dsc->len);

		assert_true(k < d->num);
		flags = le16toh(dsc->flags);
		assert_true(l_is_avail(flags, wrap));
		c->raw_flags[k] = flags;
		c->raw_wrap[k] = wrap;
		c->ndesc = k + 1;
		if (flags & VRING_DESC_F_INDIRECT) {
			const struct vring_packed_desc *t;
			unsigned entries;

			assert_int_equal(k, 0);
			assert_int_equal(flags & VRING_DESC_F_NEXT, 0);
			assert_int_equal(len % sizeof(struct vring_packed_desc), 0);
			entries = len / sizeof(struct vring_packed_desc);
			assert_true(entries >= 1 && entries <= MAXSEG);
			t = shm_local(d->m, addr, len);
			c->indirect = true;
			c->table_addr = addr;
			c->table_len = len;
			for (unsigned i = 0; i < entries; i++) {
				uint16_t tf = le16toh(t[i].flags);
				uint32_t tl = le32toh(t[i].len);

				c->table_flags[i] = tf;
				c->seg[i].p = shm_local(d->m, le64toh(t[i].addr), tl);
				c->seg[i].len = tl;
				c->seg[i].write = (tf & VRING_DESC_F_WRITE) != 0;
			}
			c->n = entries;
			c->id = le16toh(dsc->id);
			break;
		}
		assert_true(c->n < MAXSEG);
		c->seg[c->n].p = shm_local(d->m, addr, len);
		c->seg[c->n].len = len;
		c->seg[c->n].write = (flags & VRING_DESC_F_WRITE) != 0;
		c->n++;
		if (!(flags & VRING_DESC_F_NEXT)) {
			c->id = le16toh(dsc->id); /* the last one carries the id */
			break;
		}
		l_advance(&pos, &wrap, 1, d->num);
	}
	for (unsigned i = 0; i < c->n; i++) {
		if (c->seg[i].write) {
			c->n_in++;
			c->in_bytes += c->seg[i].len;
		} else {
			assert_int_equal(c->n_in, 0);
			c->n_out++;
		}
	}
	assert_true(c->id < d->num);
	assert_int_equal(d->chain_len[c->id], 0);
	d->chain_len[c->id] = (uint16_t)c->ndesc;
	l_advance(&d->next_avail, &d->avail_wrap, c->ndesc, d->num);
	return true;
}

static void lpdev_write(const struct lpchain *c, unsigned slot, uint32_t len)
{
	uint32_t k = 0;

	for (unsigned i = c->n_out; i < c->n && k < len; i++)
		for (uint32_t j = 0; j < c->seg[i].len && k < len; j++, k++)
			c->seg[i].p[j] = in_byte(slot, k);
	assert_int_equal(k, len);
}

/* Write one used descriptor for buffer @id and publish it. With
 * @set_write false the WRITE flag is left out whatever @len says. */
static void lpdev_use(struct lpdev *d, uint16_t id, uint32_t len, bool set_write)
{
	struct vring_packed_desc *u = &d->desc[d->next_used];
	uint16_t flags = l_used_bits(d->used_wrap);

	assert_true(id < d->num && d->chain_len[id] != 0);
	if (set_write)
		flags |= VRING_DESC_F_WRITE;
	u->id = htole16(id);
	u->len = htole32(len);
	/* id and len before the flags that hand the descriptor back. */
	atomic_thread_fence(memory_order_release);
	u->flags = htole16(flags);
	l_advance(&d->next_used, &d->used_wrap, d->chain_len[id], d->num);
	d->chain_len[id] = 0;
}

/* libvring driver and the Linux device on one packed ring. */
struct pdrv_env {
	struct shm m;
	struct vr_packed_areas pa;
	struct vr_packed_drv drv;
	void *state;
	struct lpdev dev;
	unsigned num;
};

static void pdrv_env_init(struct pdrv_env *e, unsigned num, uint64_t features)
{
	struct vr_queue_cfg cfg;

	memset(e, 0, sizeof(*e));
	shm_init(&e->m);
	e->num = num;
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = features;
	cfg.mem = vr_mem_window(e->m.base, BUS_BASE, e->m.len);
	assert_int_equal(vr_packed_areas_from_region(&e->pa, e->m.base, RING_BYTES, num), 0);
	e->state = malloc(vr_packed_drv_state_size(num));
	assert_non_null(e->state);
	assert_int_equal(vr_packed_drv_init(&e->drv, &cfg, &e->pa, e->state,
					    vr_packed_drv_state_size(num)), 0);
	lpdev_init(&e->dev, &e->pa, num, &e->m);
}

static void pdrv_env_fini(struct pdrv_env *e)
{
	free(e->m.base);
	free(e->state);
}

static int pdrv_add_spec(struct pdrv_env *e, unsigned slot, const struct spec *sp,
			 void *cookie)
{
	struct vr_seg seg[MAXSEG];

	fill_slot(&e->m, slot, sp);
	for (unsigned i = 0; i < spec_n(sp); i++) {
		seg[i].addr = shm_bus(&e->m, seg_ptr(&e->m, slot, i));
		seg[i].len = sp->len[i];
	}
	if (sp->indirect) {
		struct vr_packed_desc *table =
			(struct vr_packed_desc *)(void *)(slot_ptr(&e->m, slot) + TABLE_OFF);

		return vr_packed_drv_add_indirect(&e->drv, seg, sp->n_out, sp->n_in,
						  table, shm_bus(&e->m, table), cookie);
	}
	return vr_packed_drv_add(&e->drv, seg, sp->n_out, sp->n_in, cookie);
}

/* What the Linux device found must be the chain libvring added, with the
 * exact flags words the spec asks for. */
static void check_lpchain(const struct pdrv_env *e, const struct lpchain *c,
			  int id, unsigned slot, const struct spec *sp)
{
	unsigned n = spec_n(sp);

	assert_int_equal(c->id, id);
	assert_int_equal(c->n, n);
	assert_int_equal(c->n_out, sp->n_out);
	assert_int_equal(c->n_in, sp->n_in);
	assert_int_equal(c->in_bytes, spec_in_bytes(sp));
	assert_int_equal(c->indirect, sp->indirect);
	if (sp->indirect) {
		assert_int_equal(c->ndesc, 1);
		assert_int_equal(c->raw_flags[0],
				 l_avail_bits(c->raw_wrap[0]) | VRING_DESC_F_INDIRECT);
		assert_int_equal(c->table_addr,
				 shm_bus(&e->m, slot_ptr(&e->m, slot) + TABLE_OFF));
		assert_int_equal(c->table_len, n * sizeof(struct vring_packed_desc));
		for (unsigned i = 0; i < n; i++)
			assert_int_equal(c->table_flags[i],
					 i >= sp->n_out ? VRING_DESC_F_WRITE : 0);
	} else {
		assert_int_equal(c->ndesc, n);
		for (unsigned i = 0; i < n; i++) {
			uint16_t want = l_avail_bits(c->raw_wrap[i]);

			if (i + 1 < n)
				want |= VRING_DESC_F_NEXT;
			if (i >= sp->n_out)
				want |= VRING_DESC_F_WRITE;
			assert_int_equal(c->raw_flags[i], want);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		assert_ptr_equal(c->seg[i].p, seg_ptr(&e->m, slot, i));
		assert_int_equal(c->seg[i].len, sp->len[i]);
		assert_int_equal(c->seg[i].write, i >= sp->n_out);
		if (i < sp->n_out)
			for (unsigned k = 0; k < sp->len[i]; k++)
				assert_int_equal(c->seg[i].p[k], out_byte(slot, i, k));
	}
}

/* Run @count one-descriptor chains all the way round. */
static void pdrv_cycle(struct pdrv_env *e, unsigned count)
{
	static const struct spec sp = {0, 1, {8}, false};

	for (unsigned i = 0; i < count; i++) {
		struct lpchain c;
		struct vr_used_buf u;
		int id = pdrv_add_spec(e, 0, &sp, e);

		assert_true(id >= 0);
		vr_packed_drv_publish(&e->drv);
		assert_true(lpdev_pop(&e->dev, &c));
		assert_int_equal(c.id, id);
		lpdev_use(&e->dev, c.id, 2, true);
		assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), 0);
		assert_ptr_equal(u.cookie, e);
		assert_int_equal(u.len, 2);
	}
}

/* ---- 1a: areas and init -------------------------------------------------- */

static void test_pdrv_areas_and_init(void **state)
{
	static const unsigned sizes[] = {1, 2, 3, 5, 7, 8, 100, 256, 1000, 32768};
	struct shm m;

	(void)state;
	shm_init(&m);
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned num = sizes[s];
		struct vr_packed_areas pa;
		struct vr_queue_cfg cfg;
		struct vr_packed_drv drv;
		struct vring_packed_desc *ld = (struct vring_packed_desc *)(void *)m.base;
		struct vring_packed_desc_event *dre, *dve;
		void *st;

		memset(m.base, 0xa5, RING_BYTES);
		assert_int_equal(vr_packed_areas_from_region(&pa, m.base, RING_BYTES, num), 0);
		dre = (struct vring_packed_desc_event *)(void *)&ld[num];
		dve = dre + 1;
		assert_ptr_equal(pa.desc, (void *)ld);
		assert_ptr_equal(pa.driver_event, (void *)dre);
		assert_ptr_equal(pa.device_event, (void *)dve);
		memset(&cfg, 0, sizeof(cfg));
		cfg.num = num;
		cfg.features = F_PACKED;
		cfg.mem = vr_mem_window(m.base, BUS_BASE, m.len);
		st = malloc(vr_packed_drv_state_size(num));
		assert_non_null(st);
		assert_int_equal(vr_packed_drv_init(&drv, &cfg, &pa, st,
						    vr_packed_drv_state_size(num)), 0);
		/* Every descriptor zero: neither available nor used in wrap 1. */
		for (unsigned i = 0; i < num; i++) {
			assert_int_equal(le16toh(ld[i].flags), 0);
			assert_false(l_is_avail(le16toh(ld[i].flags), true));
			assert_false(l_is_used(le16toh(ld[i].flags), true));
		}
		assert_int_equal(le16toh(dre->off_wrap), 0);
		assert_int_equal(le16toh(dre->flags), VRING_PACKED_EVENT_FLAG_ENABLE);
		/* The device event area is the device's: untouched. */
		assert_int_equal(dve->flags, 0xa5a5);
		assert_int_equal(dve->off_wrap, 0xa5a5);

		/* One chain round trip at this size, straddling the end of
		 * the ring when it has more than one descriptor. */
		{
			struct lpdev dev;
			struct lpchain c;
			struct vr_used_buf u;
			struct vr_seg seg[2];
			unsigned fill = num > 1 ? num - 1 : 0, nseg = num > 1 ? 2 : 1;
			int id;

			lpdev_init(&dev, &pa, num, &m);
			if (fill) {
				/* Move both sides to position num - 1. */
				seg[0].addr = shm_bus(&m, seg_ptr(&m, 0, 0));
				seg[0].len = 4;
				for (unsigned i = 0; i < fill; i++) {
					id = vr_packed_drv_add(&drv, seg, 1, 0, NULL);
					assert_true(id >= 0);
					vr_packed_drv_publish(&drv);
					assert_true(lpdev_pop(&dev, &c));
					lpdev_use(&dev, c.id, 0, false);
					assert_int_equal(vr_packed_drv_get_used(&drv, &u), 0);
				}
			}
			seg[0].addr = shm_bus(&m, seg_ptr(&m, 0, 0));
			seg[0].len = 16;
			seg[1].addr = shm_bus(&m, seg_ptr(&m, 0, 1));
			seg[1].len = 32;
			id = vr_packed_drv_add(&drv, seg, 1, nseg - 1, &m);
			assert_true(id >= 0 && (unsigned)id < num);
			vr_packed_drv_publish(&drv);
			assert_true(lpdev_pop(&dev, &c));
			assert_int_equal(c.id, id);
			assert_int_equal(c.ndesc, nseg);
			assert_int_equal(c.first_pos, (uint16_t)(num - 1));
			assert_ptr_equal(c.seg[0].p, seg_ptr(&m, 0, 0));
			assert_int_equal(c.seg[0].len, 16);
			if (nseg == 2) {
				assert_true(c.raw_wrap[0]);
				assert_false(c.raw_wrap[1]);
				assert_int_equal(c.raw_flags[1], L_USED | VRING_DESC_F_WRITE);
				assert_int_equal(c.seg[1].len, 32);
			}
			lpdev_use(&dev, c.id, nseg == 2 ? 30 : 0, nseg == 2);
			assert_int_equal(vr_packed_drv_get_used(&drv, &u), 0);
			assert_ptr_equal(u.cookie, &m);
			assert_int_equal(u.len, nseg == 2 ? 30 : 0);
		}
		free(st);
	}
	free(m.base);
}

/* ---- 1b: chains of every shape, one full lap, then wrap 0 ---------------- */

static void test_pdrv_chains_to_linux_device(void **state)
{
	static const struct spec specs[] = {
		{1, 0, {64}, false},                 /* A: pos 0 */
		{2, 2, {10, 20, 30, 40}, false},     /* B: pos 1..4 */
		{2, 2, {33, 44, 55, 66}, true},      /* C: pos 5, indirect */
		{0, 1, {200}, false},                /* D: pos 6 */
	};
	static const unsigned order[] = {3, 1, 0, 2};
	static const uint16_t used_pos[] = {0, 1, 5, 6}; /* D(1) B(4) A(1) C(1) */
	const unsigned num = 7;
	struct pdrv_env *e = calloc(1, sizeof(*e));
	struct lpchain c[4];
	int id[4], cookie[4];
	uint32_t len[4];

	(void)state;
	assert_non_null(e);
	pdrv_env_init(e, num, F_PACKED | FEAT(VR_F_INDIRECT_DESC));
	for (unsigned i = 0; i < 4; i++) {
		id[i] = pdrv_add_spec(e, i, &specs[i], &cookie[i]);
		assert_true(id[i] >= 0 && id[i] < (int)num);
	}
	assert_int_equal(vr_packed_drv_free(&e->drv), 0);
	{
		static const struct spec one = {1, 0, {1}, false};

		assert_int_equal(pdrv_add_spec(e, 9, &one, NULL), VR_ENOSPC);
	}
	/* The batch's first flags are held back until publish. */
	assert_int_equal(le16toh(e->dev.desc[0].flags), 0);
	assert_false(lpdev_pop(&e->dev, &c[0]));
	vr_packed_drv_publish(&e->drv);
	for (unsigned i = 0; i < 4; i++) {
		assert_true(lpdev_pop(&e->dev, &c[i]));
		check_lpchain(e, &c[i], id[i], i, &specs[i]);
	}
	assert_int_equal(c[1].first_pos, 1);
	assert_int_equal(c[2].first_pos, 5);
	assert_int_equal(e->dev.next_avail, 0);
	assert_false(e->dev.avail_wrap);
	assert_false(lpdev_pop(&e->dev, &c[0]));

	for (unsigned k = 0; k < 4; k++) {
		unsigned i = order[k];

		assert_int_equal(e->dev.next_used, used_pos[k]);
		len[i] = c[i].in_bytes ? c[i].in_bytes - k : 0;
		lpdev_write(&c[i], i, len[i]);
		lpdev_use(&e->dev, c[i].id, len[i], len[i] != 0);
		/* The used descriptor as written at the device's position. */
		assert_int_equal(le16toh(e->dev.desc[used_pos[k]].id), id[i]);
	}
	assert_int_equal(e->dev.next_used, 0);
	assert_false(e->dev.used_wrap);
	for (unsigned k = 0; k < 4; k++) {
		unsigned i = order[k];
		struct vr_used_buf u;

		assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), 0);
		assert_ptr_equal(u.cookie, &cookie[i]);
		assert_int_equal(u.id, id[i]);
		assert_int_equal(u.len, len[i]);
		check_written(&e->m, i, &specs[i], len[i]);
	}
	{
		struct vr_used_buf u;

		assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), VR_EAGAIN);
	}
	assert_int_equal(vr_packed_drv_free(&e->drv), num);

	/* Second lap, driver wrap 0: AVAIL clear, USED set. Then a chain of
	 * three from position 5 straddles the end: 5 and 6 in wrap 0, 0 in
	 * wrap 1. */
	{
		static const struct spec s2[] = {
			{1, 1, {5, 6}, false},       /* pos 0..1 */
			{3, 0, {1, 2, 3}, false},    /* pos 2..4 */
			{1, 2, {7, 8, 9}, false},    /* pos 5, 6 | 0 */
		};
		struct lpchain c2[3];
		struct vr_used_buf u;
		int id2[3];

		for (unsigned i = 0; i < 2; i++) {
			id2[i] = pdrv_add_spec(e, 10 + i, &s2[i], &cookie[i]);
			assert_true(id2[i] >= 0);
		}
		vr_packed_drv_publish(&e->drv);
		for (unsigned i = 0; i < 2; i++) {
			assert_true(lpdev_pop(&e->dev, &c2[i]));
			check_lpchain(e, &c2[i], id2[i], 10 + i, &s2[i]);
			assert_false(c2[i].raw_wrap[0]);
			assert_int_equal(c2[i].raw_flags[0] & (L_AVAIL | L_USED), L_USED);
			lpdev_use(&e->dev, c2[i].id, 0, false);
			/* Used in device wrap 0: both bits clear. */
			assert_int_equal(le16toh(e->dev.desc[c2[i].first_pos].flags), 0);
			assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), 0);
			assert_ptr_equal(u.cookie, &cookie[i]);
			assert_int_equal(u.len, 0);
		}
		id2[2] = pdrv_add_spec(e, 12, &s2[2], &cookie[2]);
		assert_true(id2[2] >= 0);
		vr_packed_drv_publish(&e->drv);
		assert_true(lpdev_pop(&e->dev, &c2[2]));
		check_lpchain(e, &c2[2], id2[2], 12, &s2[2]);
		assert_int_equal(c2[2].first_pos, 5);
		assert_int_equal(le16toh(e->dev.desc[5].flags), L_USED | VRING_DESC_F_NEXT);
		assert_int_equal(le16toh(e->dev.desc[6].flags),
				 L_USED | VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
		assert_int_equal(le16toh(e->dev.desc[0].flags), L_AVAIL | VRING_DESC_F_WRITE);
		assert_int_equal(le16toh(e->dev.desc[0].id), id2[2]);
		lpdev_write(&c2[2], 12, 9);
		lpdev_use(&e->dev, c2[2].id, 9, true);
		assert_int_equal(le16toh(e->dev.desc[5].flags), VRING_DESC_F_WRITE);
		assert_int_equal(e->dev.next_used, 1);
		assert_true(e->dev.used_wrap);
		assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), 0);
		assert_ptr_equal(u.cookie, &cookie[2]);
		assert_int_equal(u.len, 9);
		check_written(&e->m, 12, &s2[2], 9);
		assert_int_equal(vr_packed_drv_free(&e->drv), num);
	}
	pdrv_env_fini(e);
	free(e);
}

/* ---- 1c: straddling chains, many laps, explicit flags ---------------------- */

static void test_pdrv_straddle_many_laps(void **state)
{
	const unsigned num = 5;
	struct pdrv_env *e = calloc(1, sizeof(*e));
	unsigned laps_pos = 0;

	(void)state;
	assert_non_null(e);
	pdrv_env_init(e, num, F_PACKED);
	/* Chains of 3 on a ring of 5: every other one straddles the end, and
	 * the wrap counter flips inside it. */
	for (unsigned i = 0; i < 40; i++) {
		static const struct spec sp = {1, 2, {11, 22, 33}, false};
		struct lpchain c;
		struct vr_used_buf u;
		uint16_t pos = e->dev.next_avail;
		bool wrap = e->dev.avail_wrap;
		int id = pdrv_add_spec(e, i, &sp, (void *)(uintptr_t)(i + 1));

		assert_true(id >= 0);
		vr_packed_drv_publish(&e->drv);
		assert_true(lpdev_pop(&e->dev, &c));
		check_lpchain(e, &c, id, i, &sp);
		for (unsigned k = 0; k < 3; k++) {
			/* The flags word at each position, by hand. */
			uint16_t want = (wrap ? L_AVAIL : L_USED) |
					(k < 2 ? VRING_DESC_F_NEXT : 0) |
					(k >= 1 ? VRING_DESC_F_WRITE : 0);

			assert_int_equal(le16toh(e->dev.desc[pos].flags), want);
			/* The buffer id, read from the last one. */
			if (k == 2)
				assert_int_equal(le16toh(e->dev.desc[pos].id), id);
			if (++pos == num) {
				pos = 0;
				wrap = !wrap;
			}
		}
		lpdev_write(&c, i, 50);
		lpdev_use(&e->dev, c.id, 50, true);
		assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), 0);
		assert_ptr_equal(u.cookie, (void *)(uintptr_t)(i + 1));
		assert_int_equal(u.len, 50);
		check_written(&e->m, i, &sp, 50);
		laps_pos += 3;
	}
	assert_int_equal(laps_pos / num, 24);
	assert_int_equal(vr_packed_drv_broken(&e->drv), 0);
	pdrv_env_fini(e);
	free(e);
}

/* ---- 1d: random long run, out-of-order completion ------------------------ */

struct inflight {
	struct spec sp;
	uint32_t len;
	int id;
};

static void pdrv_long_run(unsigned num, unsigned total, uint32_t seed)
{
	struct pdrv_env *e = calloc(1, sizeof(*e));
	struct inflight rec[NSLOTS];
	unsigned added = 0, collected = 0, popped = 0;

	assert_non_null(e);
	g_rng = seed;
	pdrv_env_init(e, num, F_PACKED | FEAT(VR_F_INDIRECT_DESC));
	while (collected < total) {
		struct lpchain c[MAXNUM];
		unsigned seqs[MAXNUM], npop = 0, used_seq[MAXNUM], nused = 0;
		unsigned batch = 1 + rnd() % num;

		for (unsigned b = 0; b < batch && added < total; b++) {
			unsigned fr = vr_packed_drv_free(&e->drv), slot = added % NSLOTS;
			unsigned maxd = fr < MAXSEG ? fr : MAXSEG;

			if (fr == 0)
				break;
			random_spec(&rec[slot].sp, maxd, num < 6 ? num : 6);
			rec[slot].id = pdrv_add_spec(e, slot, &rec[slot].sp,
						     (void *)(uintptr_t)(added + 1));
			assert_true(rec[slot].id >= 0);
			added++;
		}
		vr_packed_drv_publish(&e->drv);
		while (lpdev_pop(&e->dev, &c[npop])) {
			unsigned slot = popped % NSLOTS;

			check_lpchain(e, &c[npop], rec[slot].id, slot, &rec[slot].sp);
			seqs[npop++] = popped++;
		}
		assert_int_equal(popped, added);
		while (npop > 0) {
			unsigned j = rnd() % npop, slot = seqs[j] % NSLOTS;
			uint32_t len = c[j].in_bytes ? rnd() % (c[j].in_bytes + 1) : 0;

			rec[slot].len = len;
			lpdev_write(&c[j], slot, len);
			lpdev_use(&e->dev, c[j].id, len, len != 0);
			used_seq[nused++] = seqs[j];
			c[j] = c[npop - 1];
			seqs[j] = seqs[npop - 1];
			npop--;
		}
		for (unsigned k = 0; k < nused; k++) {
			unsigned slot = used_seq[k] % NSLOTS;
			struct vr_used_buf u;

			assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), 0);
			assert_ptr_equal(u.cookie, (void *)(uintptr_t)(used_seq[k] + 1));
			assert_int_equal(u.id, rec[slot].id);
			assert_int_equal(u.len, rec[slot].len);
			check_written(&e->m, slot, &rec[slot].sp, u.len);
			collected++;
		}
		{
			struct vr_used_buf u;

			assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), VR_EAGAIN);
		}
		assert_int_equal(vr_packed_drv_free(&e->drv), num);
	}
	assert_int_equal(vr_packed_drv_broken(&e->drv), 0);
	pdrv_env_fini(e);
	free(e);
}

static void test_pdrv_long_run(void **state)
{
	(void)state;
	pdrv_long_run(5, 20000, 1);
	pdrv_long_run(8, 20000, 2);
	pdrv_long_run(13, 20000, 3);
}

/* A used descriptor without WRITE carries no length (section 2.8.4). */
static void test_pdrv_used_len_without_write(void **state)
{
	static const struct spec sp = {0, 1, {100}, false};
	struct pdrv_env *e = calloc(1, sizeof(*e));
	struct lpchain c;
	struct vr_used_buf u;

	(void)state;
	assert_non_null(e);
	pdrv_env_init(e, 4, F_PACKED);
	assert_true(pdrv_add_spec(e, 0, &sp, e) >= 0);
	vr_packed_drv_publish(&e->drv);
	assert_true(lpdev_pop(&e->dev, &c));
	lpdev_use(&e->dev, c.id, 77, false);
	assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), 0);
	assert_int_equal(u.len, 0);
	assert_true(pdrv_add_spec(e, 0, &sp, e) >= 0);
	vr_packed_drv_publish(&e->drv);
	assert_true(lpdev_pop(&e->dev, &c));
	lpdev_use(&e->dev, c.id, 77, true);
	assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), 0);
	assert_int_equal(u.len, 77);
	pdrv_env_fini(e);
	free(e);
}

/* ---- 1e: event suppression, driver side ---------------------------------- */

static void test_pdrv_driver_event_area(void **state)
{
	const unsigned num = 5;
	struct pdrv_env *e = calloc(1, sizeof(*e));

	(void)state;
	assert_non_null(e);
	pdrv_env_init(e, num, F_PACKED | FEAT(VR_F_EVENT_IDX));
	/* Points around two laps: the event names the device's next used
	 * position and its wrap counter. */
	for (unsigned p = 0; p < 3 * num; p++) {
		static const struct spec sp = {0, 1, {8}, false};
		uint16_t want = l_off_wrap(e->dev.next_used, e->dev.used_wrap);
		struct lpchain c;
		struct vr_used_buf u;

		assert_int_equal(vr_packed_drv_arm_used_notify(&e->drv), 0);
		assert_int_equal(le16toh(e->dev.driver_ev->flags),
				 VRING_PACKED_EVENT_FLAG_DESC);
		assert_int_equal(le16toh(e->dev.driver_ev->off_wrap), want);
		assert_int_equal(le16toh(e->dev.driver_ev->off_wrap) >>
					 VRING_PACKED_EVENT_F_WRAP_CTR,
				 e->dev.used_wrap);

		/* The Linux device uses one: its own check says notify. */
		assert_true(pdrv_add_spec(e, 0, &sp, e) >= 0);
		vr_packed_drv_publish(&e->drv);
		assert_true(lpdev_pop(&e->dev, &c));
		lpdev_use(&e->dev, c.id, 1, true);
		assert_true(ref_packed_need_event(le16toh(e->dev.driver_ev->off_wrap), num,
						  e->dev.next_used, e->dev.used_wrap, 1));
		/* Armed with one pending: collect instead of sleeping. */
		assert_int_equal(vr_packed_drv_arm_used_notify(&e->drv), 1);
		assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), 0);

		vr_packed_drv_suppress_used_notify(&e->drv);
		assert_int_equal(le16toh(e->dev.driver_ev->flags),
				 VRING_PACKED_EVENT_FLAG_DISABLE);
		/* One more cycle so that the positions move by varying steps. */
		if (p % 2)
			pdrv_cycle(e, 1);
	}
	pdrv_env_fini(e);
	free(e);

	/* Without EVENT_IDX: ENABLE / DISABLE only. */
	e = calloc(1, sizeof(*e));
	assert_non_null(e);
	pdrv_env_init(e, num, F_PACKED);
	pdrv_cycle(e, 3);
	vr_packed_drv_suppress_used_notify(&e->drv);
	assert_int_equal(le16toh(e->dev.driver_ev->flags), VRING_PACKED_EVENT_FLAG_DISABLE);
	assert_int_equal(vr_packed_drv_arm_used_notify(&e->drv), 0);
	assert_int_equal(le16toh(e->dev.driver_ev->flags), VRING_PACKED_EVENT_FLAG_ENABLE);
	pdrv_env_fini(e);
	free(e);
}

/* The pure packed event test against the vring_need_event() reference, for
 * every (event, start, move) on small rings. */
static void test_packed_need_event_pure(void **state)
{
	(void)state;
	for (unsigned num = 1; num <= 12; num++) {
		for (unsigned start = 0; start < 2 * num; start++) {
			uint16_t old_pos = (uint16_t)(start % num);
			bool old_wrap = start < num; /* lap 1 first */

			for (unsigned moved = 0; moved <= num; moved++) {
				uint16_t new_pos = old_pos;
				bool new_wrap = old_wrap;

				l_advance(&new_pos, &new_wrap, moved, num);
				for (unsigned ev = 0; ev < 2 * num; ev++) {
					uint16_t ow = l_off_wrap((uint16_t)(ev % num), ev >= num);

					assert_int_equal(
						vr_packed_need_event(ow, num, new_pos, new_wrap,
								     old_pos, old_wrap) != 0,
						ref_packed_need_event(ow, num, new_pos, new_wrap,
								      moved));
				}
			}
		}
	}
	/* By value: ring of 8, moved from (6, wrap 1) to (2, wrap 0). */
	assert_true(vr_packed_need_event(l_off_wrap(7, true), 8, 2, false, 6, true));
	assert_true(vr_packed_need_event(l_off_wrap(1, false), 8, 2, false, 6, true));
	assert_false(vr_packed_need_event(l_off_wrap(2, false), 8, 2, false, 6, true));
	assert_false(vr_packed_need_event(l_off_wrap(6, false), 8, 2, false, 6, true));
	assert_false(vr_packed_need_event(l_off_wrap(5, true), 8, 2, false, 6, true));
	/* An offset beyond the ring is nonsense: notify. */
	assert_true(vr_packed_need_event(l_off_wrap(8, true), 8, 2, false, 1, false));
}

/*
 * libvring driver need_notify against the device event area written by the
 * Linux device: DISABLE, ENABLE, and DESC with every (offset, wrap) on a
 * small ring, from every start position over two laps, for moves of 0 to
 * num descriptors. Probes run on copies of the queue object (need_notify
 * only reads shared memory and updates the copy's private kick state).
 */
static void pdrv_need_notify_sweep(unsigned num, unsigned chain_len)
{
	struct pdrv_env *e = calloc(1, sizeof(*e));
	struct spec sp;

	assert_non_null(e);
	memset(&sp, 0, sizeof(sp));
	sp.n_out = chain_len;
	for (unsigned i = 0; i < chain_len; i++)
		sp.len[i] = 4;
	unsigned abs_pos = 0; /* descriptors ever made available, mod 2 * num */

	pdrv_env_init(e, num, F_PACKED | FEAT(VR_F_EVENT_IDX));
	for (unsigned start = 0; start < 2 * num; start++) {
		uint16_t pos = e->dev.next_avail;
		bool wrap = e->dev.avail_wrap;
		unsigned moved = 0, nchains = 0;

		(void)vr_packed_drv_need_notify(&e->drv); /* sync the kick state */
		for (;;) {
			struct vr_packed_drv probe;

			/* DISABLE and ENABLE. */
			e->dev.device_ev->flags = htole16(VRING_PACKED_EVENT_FLAG_DISABLE);
			probe = e->drv;
			assert_int_equal(vr_packed_drv_need_notify(&probe), 0);
			e->dev.device_ev->flags = htole16(VRING_PACKED_EVENT_FLAG_ENABLE);
			probe = e->drv;
			assert_int_equal(vr_packed_drv_need_notify(&probe), moved ? 1 : 0);
			/* DESC at every (offset, wrap). */
			e->dev.device_ev->flags = htole16(VRING_PACKED_EVENT_FLAG_DESC);
			for (unsigned ev = 0; ev < 2 * num; ev++) {
				uint16_t ow = l_off_wrap((uint16_t)(ev % num), ev >= num);
				uint16_t np = pos;
				bool nw = wrap;
				int want;

				l_advance(&np, &nw, moved, num);
				want = moved ? ref_packed_need_event(ow, num, np, nw, moved) : 0;
				e->dev.device_ev->off_wrap = htole16(ow);
				probe = e->drv;
				assert_int_equal(vr_packed_drv_need_notify(&probe), want);
			}
			if (moved + chain_len > num)
				break;
			assert_true(pdrv_add_spec(e, nchains, &sp, e) >= 0);
			vr_packed_drv_publish(&e->drv);
			moved += chain_len;
			nchains++;
		}
		/* Drain, then step the start by one descriptor. */
		for (unsigned k = 0; k < nchains; k++) {
			struct lpchain c;
			struct vr_used_buf u;

			assert_true(lpdev_pop(&e->dev, &c));
			lpdev_use(&e->dev, c.id, 0, false);
			assert_int_equal(vr_packed_drv_get_used(&e->drv, &u), 0);
		}
		/* Step to the next start state: position start + 1 of the
		 * two-lap cycle, whatever the stride. */
		abs_pos += moved;
		while (abs_pos % (2 * num) != (start + 1) % (2 * num)) {
			pdrv_cycle(e, 1);
			abs_pos++;
		}
		assert_int_equal(e->dev.next_avail, (start + 1) % num);
		assert_int_equal(e->dev.avail_wrap, ((start + 1) % (2 * num)) < num);
	}
	/* Without EVENT_IDX, DESC is not valid: treated as ENABLE. */
	pdrv_env_fini(e);
	pdrv_env_init(e, num, F_PACKED);
	e->dev.device_ev->flags = htole16(VRING_PACKED_EVENT_FLAG_DESC);
	e->dev.device_ev->off_wrap = htole16(l_off_wrap((uint16_t)(num - 1), false));
	assert_true(pdrv_add_spec(e, 0, &sp, e) >= 0);
	assert_int_equal(vr_packed_drv_kick_prepare(&e->drv), 1);
	pdrv_env_fini(e);
	free(e);
}

static void test_pdrv_need_notify_vs_reference(void **state)
{
	(void)state;
	pdrv_need_notify_sweep(5, 1);
	pdrv_need_notify_sweep(8, 1);
	pdrv_need_notify_sweep(7, 3); /* chains straddle the end */
	pdrv_need_notify_sweep(1, 1);
}

/* ======================================================================= */
/*        Part 2: a driver written with the Linux definitions only         */
/* ======================================================================= */

struct lprec {
	void *cookie;
	unsigned ndesc;
	uint32_t in_bytes;
	bool busy;
};

struct lpdrv {
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *driver_ev; /* we write it */
	struct vring_packed_desc_event *device_ev; /* the device writes it */
	unsigned num;
	const struct shm *m;
	uint16_t next_avail, next_used;
	bool avail_wrap, used_wrap;
	unsigned free_desc;
	uint16_t free_ids[MAXNUM];
	unsigned nfree_ids;
	struct lprec rec[MAXNUM];
	bool held;
	uint16_t held_pos, held_flags;
	unsigned unkicked; /* descriptors published since the last kick check */
	unsigned pending;  /* descriptors added since the last publish */
};

static void lpdrv_init(struct lpdrv *d, const struct vr_packed_areas *pa,
		       unsigned num, const struct shm *m)
{
	assert_true(num <= MAXNUM);
	memset(d, 0, sizeof(*d));
	d->desc = pa->desc;
	d->driver_ev = pa->driver_event;
	d->device_ev = pa->device_event;
	d->num = num;
	d->m = m;
	d->avail_wrap = d->used_wrap = true;
	d->free_desc = num;
	/* Ids handed out in a scrambled order (a fixed shuffle), so that
	 * buffer ids and ring positions differ. */
	for (unsigned i = 0; i < num; i++)
		d->free_ids[i] = (uint16_t)i;
	for (unsigned i = num, x = 0x1234567u; i > 1; i--) {
		unsigned j;
		uint16_t t;

		x = x * 1103515245u + 12345u;
		j = (x >> 8) % i;
		t = d->free_ids[i - 1];
		d->free_ids[i - 1] = d->free_ids[j];
		d->free_ids[j] = t;
	}
	d->nfree_ids = num;
	/* All zero: nothing available in wrap 1. */
	memset(d->desc, 0, num * sizeof(struct vring_packed_desc));
	memset(d->driver_ev, 0, sizeof(*d->driver_ev));
}

/* Store the flags of @pos; the first of a batch waits for publish. */
static void lpdrv_set_flags(struct lpdrv *d, uint16_t pos, uint16_t flags)
{
	if (!d->held) {
		d->held = true;
		d->held_pos = pos;
		d->held_flags = flags;
	} else {
		d->desc[pos].flags = htole16(flags);
	}
}

/*
 * Add a chain; with @table, through that indirect table. The buffer id goes
 * only into the last descriptor (the others get junk the device must
 * ignore), and table entries carry junk ids too. Returns the buffer id.
 */
static uint16_t lpdrv_add(struct lpdrv *d, const struct spec *sp, unsigned slot,
			  struct vring_packed_desc *table, void *cookie)
{
	unsigned n = spec_n(sp), nd = table ? 1 : n;
	uint16_t id, pos = d->next_avail;
	bool wrap = d->avail_wrap;
	struct lprec *r;

	assert_true(d->nfree_ids > 0 && d->free_desc >= nd);
	id = d->free_ids[--d->nfree_ids];
	fill_slot(d->m, slot, sp);
	if (table) {
		struct vring_packed_desc *rd = &d->desc[pos];

		for (unsigned i = 0; i < n; i++) {
			table[i].addr = htole64(shm_bus(d->m, seg_ptr(d->m, slot, i)));
			table[i].len = htole32(sp->len[i]);
			table[i].id = htole16(0x6b6b);
			table[i].flags = htole16(i >= sp->n_out ? VRING_DESC_F_WRITE : 0);
		}
		rd->addr = htole64(shm_bus(d->m, table));
		rd->len = htole32(n * sizeof(struct vring_packed_desc));
		rd->id = htole16(id);
		lpdrv_set_flags(d, pos, l_avail_bits(wrap) | VRING_DESC_F_INDIRECT);
		l_advance(&pos, &wrap, 1, d->num);
	} else {
		for (unsigned i = 0; i < n; i++) {
			struct vring_packed_desc *dd = &d->desc[pos];
			uint16_t fl = l_avail_bits(wrap);

			if (i + 1 < n)
				fl |= VRING_DESC_F_NEXT;
			if (i >= sp->n_out)
				fl |= VRING_DESC_F_WRITE;
			dd->addr = htole64(shm_bus(d->m, seg_ptr(d->m, slot, i)));
			dd->len = htole32(sp->len[i]);
			dd->id = htole16(i + 1 < n ? (uint16_t)(0xd000 + i) : id);
			lpdrv_set_flags(d, pos, fl);
			l_advance(&pos, &wrap, 1, d->num);
		}
	}
	d->next_avail = pos;
	d->avail_wrap = wrap;
	d->free_desc -= nd;
	d->pending += nd;
	r = &d->rec[id];
	assert_false(r->busy);
	r->busy = true;
	r->cookie = cookie;
	r->ndesc = nd;
	r->in_bytes = spec_in_bytes(sp);
	return id;
}

static void lpdrv_publish(struct lpdrv *d)
{
	if (!d->held)
		return;
	/* Every descriptor of the batch before the first one's flags. */
	atomic_thread_fence(memory_order_release);
	d->desc[d->held_pos].flags = htole16(d->held_flags);
	d->held = false;
	d->unkicked += d->pending;
	d->pending = 0;
}

static bool lpdrv_kick_needed(struct lpdrv *d, bool event_idx)
{
	uint16_t flags, off_wrap;
	unsigned moved = d->unkicked;

	atomic_thread_fence(memory_order_seq_cst);
	d->unkicked = 0;
	if (moved == 0)
		return false;
	flags = le16toh(d->device_ev->flags);
	off_wrap = le16toh(d->device_ev->off_wrap);
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags == VRING_PACKED_EVENT_FLAG_DESC && event_idx)
		return ref_packed_need_event(off_wrap, d->num, d->next_avail,
					     d->avail_wrap, moved);
	return true;
}

static bool lpdrv_get_used(struct lpdrv *d, void **cookie, uint16_t *id,
			   uint32_t *len, uint16_t *raw_flags)
{
	const struct vring_packed_desc *u = &d->desc[d->next_used];
	uint16_t flags = le16toh(u->flags);
	struct lprec *r;

	if (!l_is_used(flags, d->used_wrap))
		return false;
	/* Pairs with the device's release of the flags. */
	atomic_thread_fence(memory_order_acquire);
	*id = le16toh(u->id);
	*len = (flags & VRING_DESC_F_WRITE) ? le32toh(u->len) : 0;
	*raw_flags = flags;
	assert_true(*id < d->num);
	r = &d->rec[*id];
	assert_true(r->busy);
	assert_true(*len <= r->in_bytes);
	*cookie = r->cookie;
	l_advance(&d->next_used, &d->used_wrap, r->ndesc, d->num);
	d->free_desc += r->ndesc;
	d->free_ids[d->nfree_ids++] = *id;
	r->busy = false;
	return true;
}

/* libvring device and the Linux driver on one packed ring. */
struct pdev_env {
	struct shm m;
	struct vr_packed_areas pa;
	struct vr_packed_dev dev;
	void *state;
	struct lpdrv drv;
	unsigned num;
};

static void pdev_env_init(struct pdev_env *e, unsigned num, uint64_t features)
{
	struct vr_queue_cfg cfg;

	memset(e, 0, sizeof(*e));
	shm_init(&e->m);
	e->num = num;
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = features;
	cfg.mem = vr_mem_window(e->m.base, BUS_BASE, e->m.len);
	/* The Linux driver's own layout: events right after the ring. */
	e->pa.desc = e->m.base;
	e->pa.driver_event = e->m.base + num * sizeof(struct vring_packed_desc);
	e->pa.device_event = (unsigned char *)e->pa.driver_event +
			     sizeof(struct vring_packed_desc_event);
	memset(e->pa.device_event, 0xa5, sizeof(struct vring_packed_desc_event));
	e->state = malloc(vr_packed_dev_state_size(num));
	assert_non_null(e->state);
	assert_int_equal(vr_packed_dev_init(&e->dev, &cfg, &e->pa, e->state,
					    vr_packed_dev_state_size(num)), 0);
	lpdrv_init(&e->drv, &e->pa, num, &e->m);
	/* The device zeroed its event area: ENABLE at offset 0, wrap 0. */
	assert_int_equal(le16toh(e->drv.device_ev->flags), VRING_PACKED_EVENT_FLAG_ENABLE);
	assert_int_equal(le16toh(e->drv.device_ev->off_wrap), 0);
}

static void pdev_env_fini(struct pdev_env *e)
{
	free(e->m.base);
	free(e->state);
}

static uint16_t pdev_add(struct pdev_env *e, unsigned slot, const struct spec *sp,
			 void *cookie)
{
	struct vring_packed_desc *table = NULL;

	if (sp->indirect)
		table = (struct vring_packed_desc *)(void *)(slot_ptr(&e->m, slot) +
							     TABLE_OFF);
	return lpdrv_add(&e->drv, sp, slot, table, cookie);
}

static void check_vchain(const struct shm *m, const struct vr_chain *c,
			 uint16_t id, unsigned slot, const struct spec *sp)
{
	unsigned n = spec_n(sp);
	uint32_t out_bytes = 0;

	assert_int_equal(c->id, id);
	assert_int_equal(c->n_out, sp->n_out);
	assert_int_equal(c->n_in, sp->n_in);
	assert_int_equal(c->ndesc, sp->indirect ? 1 : n);
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

static void pdev_cycle(struct pdev_env *e, unsigned count)
{
	static const struct spec sp = {0, 1, {8}, false};

	for (unsigned i = 0; i < count; i++) {
		struct vr_iov iov[1];
		struct vr_chain c;
		void *ck;
		uint16_t id, fl;
		uint32_t l;
		uint16_t want = pdev_add(e, 0, &sp, e);

		lpdrv_publish(&e->drv);
		memset(&c, 0, sizeof(c));
		c.iov = iov;
		c.iov_cap = 1;
		assert_int_equal(vr_packed_dev_pop(&e->dev, &c), 0);
		assert_int_equal(c.id, want);
		assert_int_equal(vr_packed_dev_push(&e->dev, c.id, 3), 0);
		assert_true(lpdrv_get_used(&e->drv, &ck, &id, &l, &fl));
		assert_int_equal(id, want);
		assert_int_equal(l, 3);
	}
}

/* ---- 2a: chains of every shape into libvring's device ------------------- */

static void test_linux_pdrv_chains_to_vr_dev(void **state)
{
	static const struct spec specs[] = {
		{1, 0, {64}, false},                /* pos 0 */
		{2, 2, {10, 20, 30, 40}, false},    /* pos 1..4 */
		{3, 2, {5, 6, 7, 8, 9}, true},      /* pos 5, indirect */
		{0, 1, {250}, false},               /* pos 6 */
	};
	static const unsigned order[] = {2, 0, 3, 1};
	static const uint16_t used_pos[] = {0, 1, 2, 3}; /* C(1) A(1) D(1) B(4) */
	const unsigned num = 7;
	struct pdev_env *e = calloc(1, sizeof(*e));
	struct vr_iov iov[4][MAXSEG];
	struct vr_chain c[4];
	uint16_t id[4];
	int cookie[4];
	uint32_t len[4];

	(void)state;
	assert_non_null(e);
	pdev_env_init(e, num, F_PACKED | FEAT(VR_F_INDIRECT_DESC));
	for (unsigned i = 0; i < 4; i++)
		id[i] = pdev_add(e, i, &specs[i], &cookie[i]);
	/* Held back: the device sees nothing yet. */
	assert_int_equal(vr_packed_dev_avail(&e->dev), 0);
	memset(&c[0], 0, sizeof(c[0]));
	c[0].iov = iov[0];
	c[0].iov_cap = MAXSEG;
	assert_int_equal(vr_packed_dev_pop(&e->dev, &c[0]), VR_EAGAIN);
	lpdrv_publish(&e->drv);
	assert_int_equal(vr_packed_dev_avail(&e->dev), 1);
	for (unsigned i = 0; i < 4; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].iov = iov[i];
		c[i].iov_cap = MAXSEG;
		assert_int_equal(vr_packed_dev_pop(&e->dev, &c[i]), 0);
		check_vchain(&e->m, &c[i], id[i], i, &specs[i]);
	}
	assert_int_equal(vr_packed_dev_pop(&e->dev, &c[0]), VR_EAGAIN);
	assert_int_equal(vr_packed_dev_in_flight(&e->dev), 4);

	for (unsigned k = 0; k < 4; k++) {
		unsigned i = order[k];

		len[i] = c[i].in_bytes ? c[i].in_bytes - k : 0;
		vdev_write(&c[i], i, len[i]);
		assert_int_equal(vr_packed_dev_complete(&e->dev, c[i].id, len[i]), 0);
	}
	/* Not published: the first used flags are still the driver's. */
	{
		void *ck;
		uint16_t gid, fl;
		uint32_t l;

		assert_false(lpdrv_get_used(&e->drv, &ck, &gid, &l, &fl));
	}
	vr_packed_dev_publish(&e->dev);
	for (unsigned k = 0; k < 4; k++) {
		unsigned i = order[k];
		const struct vring_packed_desc *u = &e->drv.desc[used_pos[k]];
		uint16_t want = l_used_bits(true) | (len[i] ? VRING_DESC_F_WRITE : 0);
		void *ck;
		uint16_t gid, fl;
		uint32_t l;

		/* The used descriptor, field by field. */
		assert_int_equal(le16toh(u->flags), want);
		assert_int_equal(le16toh(u->id), id[i]);
		if (len[i])
			assert_int_equal(le32toh(u->len), len[i]);
		assert_true(lpdrv_get_used(&e->drv, &ck, &gid, &l, &fl));
		assert_ptr_equal(ck, &cookie[i]);
		assert_int_equal(gid, id[i]);
		assert_int_equal(l, len[i]);
		check_written(&e->m, i, &specs[i], l);
	}
	assert_int_equal(e->drv.free_desc, num);

	/* Second lap in driver wrap 0, then a chain straddling the end. */
	{
		static const struct spec s2[] = {
			{1, 1, {5, 6}, false},       /* pos 0..1, wrap 0 */
			{2, 1, {1, 2, 3}, false},    /* pos 2..4 */
			{1, 3, {7, 8, 9, 10}, false} /* pos 5, 6 | 0, 1 (wrap 1) */
		};
		uint16_t id2[3];

		for (unsigned i = 0; i < 2; i++)
			id2[i] = pdev_add(e, 10 + i, &s2[i], e);
		lpdrv_publish(&e->drv);
		for (unsigned i = 0; i < 2; i++) {
			void *ck;
			uint16_t gid, fl;
			uint32_t l;

			memset(&c[i], 0, sizeof(c[i]));
			c[i].iov = iov[i];
			c[i].iov_cap = MAXSEG;
			assert_int_equal(vr_packed_dev_pop(&e->dev, &c[i]), 0);
			check_vchain(&e->m, &c[i], id2[i], 10 + i, &s2[i]);
			assert_int_equal(vr_packed_dev_push(&e->dev, c[i].id, 1), 0);
			assert_true(lpdrv_get_used(&e->drv, &ck, &gid, &l, &fl));
			assert_int_equal(gid, id2[i]);
			/* Used in device wrap 0: both bits clear. */
			assert_int_equal(fl, VRING_DESC_F_WRITE);
		}
		id2[2] = pdev_add(e, 12, &s2[2], e);
		lpdrv_publish(&e->drv);
		assert_int_equal(le16toh(e->drv.desc[6].flags),
				 L_USED | VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
		assert_int_equal(le16toh(e->drv.desc[0].flags),
				 L_AVAIL | VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
		memset(&c[2], 0, sizeof(c[2]));
		c[2].iov = iov[2];
		c[2].iov_cap = MAXSEG;
		assert_int_equal(vr_packed_dev_pop(&e->dev, &c[2]), 0);
		check_vchain(&e->m, &c[2], id2[2], 12, &s2[2]);
		assert_int_equal(vr_packed_dev_push(&e->dev, c[2].id, 20), 0);
		{
			void *ck;
			uint16_t gid, fl;
			uint32_t l;

			assert_true(lpdrv_get_used(&e->drv, &ck, &gid, &l, &fl));
			assert_int_equal(gid, id2[2]);
			assert_int_equal(l, 20);
			assert_int_equal(fl, VRING_DESC_F_WRITE); /* device wrap 0 */
		}
		assert_int_equal(e->drv.next_used, 2);
		assert_true(e->drv.used_wrap);
	}
	assert_int_equal(vr_packed_dev_broken(&e->dev), 0);
	pdev_env_fini(e);
	free(e);
}

/* The device ignores WRITE on the descriptor naming an indirect table
 * (section 2.8.7 points at the split ring's rule). */
static void test_linux_pdrv_indirect_with_write_flag(void **state)
{
	static const struct spec sp = {1, 2, {9, 10, 11}, true};
	struct pdev_env *e = calloc(1, sizeof(*e));
	struct vr_iov iov[4];
	struct vr_chain c;
	uint16_t id, gid, fl;
	void *ck;
	uint32_t l;

	(void)state;
	assert_non_null(e);
	pdev_env_init(e, 4, F_PACKED | FEAT(VR_F_INDIRECT_DESC));
	id = pdev_add(e, 0, &sp, e);
	e->drv.held_flags |= VRING_DESC_F_WRITE; /* on the ring descriptor */
	lpdrv_publish(&e->drv);
	assert_int_equal(le16toh(e->drv.desc[0].flags),
			 L_AVAIL | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE);
	memset(&c, 0, sizeof(c));
	c.iov = iov;
	c.iov_cap = 4;
	assert_int_equal(vr_packed_dev_pop(&e->dev, &c), 0);
	check_vchain(&e->m, &c, id, 0, &sp);
	assert_int_equal(vr_packed_dev_push(&e->dev, c.id, 21), 0);
	assert_true(lpdrv_get_used(&e->drv, &ck, &gid, &l, &fl));
	assert_int_equal(gid, id);
	assert_int_equal(l, 21);
	pdev_env_fini(e);
	free(e);
}

/*
 * A packed driver built on the uapi header sends empty segments and an
 * indirect table at a 4-byte (not 8-byte) boundary (issue 11, findings 5
 * and 6): a strict libvring device breaks on the first with VR_EZEROLEN;
 * with VR_QF_ZERO_LEN_OK it takes the empty segments as nothing, a chain
 * of one empty segment as an empty chain, and reads the table where it is.
 */
static void test_linux_pdrv_zero_len_and_align4_table(void **state)
{
	static const struct spec mixed = {2, 2, {16, 0, 32, 0}, false};
	static const struct spec empty = {1, 0, {0}, false};
	static const struct spec ind = {1, 1, {16, 32}, true};
	struct pdev_env *e = calloc(1, sizeof(*e));
	struct vr_queue_cfg cfg;
	struct vr_iov iov[4];
	struct vr_chain c;
	uint16_t id, gid, fl, pos;
	unsigned char *tp;
	void *ck;
	uint32_t l;
	int strict;

	(void)state;
	assert_non_null(e);
	for (strict = 1; strict >= 0; strict--) {
		pdev_env_init(e, 8, F_PACKED | FEAT(VR_F_INDIRECT_DESC));
		memset(&cfg, 0, sizeof(cfg));
		cfg.num = 8;
		cfg.features = F_PACKED | FEAT(VR_F_INDIRECT_DESC);
		cfg.flags = strict ? 0 : VR_QF_ZERO_LEN_OK;
		cfg.mem = vr_mem_window(e->m.base, BUS_BASE, e->m.len);
		assert_int_equal(vr_packed_dev_init(&e->dev, &cfg, &e->pa, e->state,
						    vr_packed_dev_state_size(8)), 0);
		memset(&c, 0, sizeof(c));
		c.iov = iov;
		c.iov_cap = 4;

		id = pdev_add(e, 0, &mixed, e);
		lpdrv_publish(&e->drv);
		if (strict) {
			assert_int_equal(vr_packed_dev_pop(&e->dev, &c), VR_EZEROLEN);
			assert_int_equal(vr_packed_dev_broken(&e->dev), VR_EZEROLEN);
			pdev_env_fini(e);
			continue;
		}
		assert_int_equal(vr_packed_dev_pop(&e->dev, &c), 0);
		assert_int_equal(c.id, id);
		assert_int_equal(c.n_out, 1);
		assert_int_equal(c.n_in, 1);
		assert_int_equal(c.ndesc, 4);
		assert_ptr_equal(iov[0].base, seg_ptr(&e->m, 0, 0));
		assert_ptr_equal(iov[1].base, seg_ptr(&e->m, 0, 2));
		assert_int_equal(vr_packed_dev_push(&e->dev, c.id, 32), 0);
		assert_true(lpdrv_get_used(&e->drv, &ck, &gid, &l, &fl));
		assert_int_equal(gid, id);
		assert_int_equal(l, 32);

		id = pdev_add(e, 1, &empty, e);
		lpdrv_publish(&e->drv);
		assert_int_equal(vr_packed_dev_pop(&e->dev, &c), 0);
		assert_int_equal(c.id, id);
		assert_int_equal(c.n_out + c.n_in, 0);
		assert_int_equal(c.ndesc, 1);
		assert_int_equal(vr_packed_dev_push(&e->dev, c.id, 0), 0);
		assert_true(lpdrv_get_used(&e->drv, &ck, &gid, &l, &fl));
		assert_int_equal(gid, id);
		assert_int_equal(l, 0);

		/* The table written aligned, then moved 4 bytes up byte by
		 * byte, and the ring descriptor pointed at it. */
		pos = e->drv.next_avail;
		id = pdev_add(e, 2, &ind, e);
		tp = slot_ptr(&e->m, 2) + TABLE_OFF;
		memmove(tp + 4, tp, 2 * sizeof(struct vring_packed_desc));
		e->drv.desc[pos].addr = htole64(shm_bus(&e->m, tp + 4));
		lpdrv_publish(&e->drv);
		assert_int_equal(vr_packed_dev_pop(&e->dev, &c), 0);
		assert_int_equal(c.id, id);
		assert_int_equal(c.n_out, 1);
		assert_int_equal(c.n_in, 1);
		assert_ptr_equal(iov[0].base, seg_ptr(&e->m, 2, 0));
		assert_int_equal(iov[0].len, 16);
		assert_ptr_equal(iov[1].base, seg_ptr(&e->m, 2, 1));
		assert_int_equal(iov[1].len, 32);
		assert_int_equal(vr_packed_dev_push(&e->dev, c.id, 5), 0);
		assert_true(lpdrv_get_used(&e->drv, &ck, &gid, &l, &fl));
		assert_int_equal(gid, id);
		assert_int_equal(l, 5);
		assert_int_equal(vr_packed_dev_broken(&e->dev), 0);
		pdev_env_fini(e);
	}
	free(e);
}

/* ---- 2b: random long run ------------------------------------------------- */

static void pdev_long_run(unsigned num, unsigned total, uint32_t seed)
{
	struct pdev_env *e = calloc(1, sizeof(*e));
	struct inflight rec[NSLOTS];
	unsigned added = 0, collected = 0, popped = 0;

	assert_non_null(e);
	g_rng = seed;
	pdev_env_init(e, num, F_PACKED | FEAT(VR_F_INDIRECT_DESC));
	while (collected < total) {
		struct vr_iov iov[MAXNUM][MAXSEG];
		struct vr_chain c[MAXNUM];
		unsigned seqs[MAXNUM], npop = 0, used_seq[MAXNUM], nused = 0;
		unsigned batch = 1 + rnd() % num;

		for (unsigned b = 0; b < batch && added < total; b++) {
			unsigned fr = e->drv.free_desc, slot = added % NSLOTS;

			if (fr == 0)
				break;
			random_spec(&rec[slot].sp, fr < MAXSEG ? fr : MAXSEG, num < 6 ? num : 6);
			rec[slot].id = pdev_add(e, slot, &rec[slot].sp,
						(void *)(uintptr_t)(added + 1));
			added++;
		}
		lpdrv_publish(&e->drv);
		for (;;) {
			unsigned slot = popped % NSLOTS;
			int err;

			memset(&c[npop], 0, sizeof(c[npop]));
			c[npop].iov = iov[npop];
			c[npop].iov_cap = MAXSEG;
			err = vr_packed_dev_pop(&e->dev, &c[npop]);
			if (err == VR_EAGAIN)
				break;
			assert_int_equal(err, 0);
			check_vchain(&e->m, &c[npop], (uint16_t)rec[slot].id, slot,
				     &rec[slot].sp);
			seqs[npop++] = popped++;
		}
		assert_int_equal(popped, added);
		while (npop > 0) {
			unsigned j = rnd() % npop, slot = seqs[j] % NSLOTS;
			uint32_t len = c[j].in_bytes ? rnd() % (c[j].in_bytes + 1) : 0;

			rec[slot].len = len;
			vdev_write(&c[j], slot, len);
			assert_int_equal(vr_packed_dev_complete(&e->dev, c[j].id, len), 0);
			used_seq[nused++] = seqs[j];
			c[j] = c[npop - 1];
			memcpy(iov[j], iov[npop - 1], sizeof(iov[j]));
			c[j].iov = iov[j];
			seqs[j] = seqs[npop - 1];
			npop--;
			if (rnd() % 3 == 0)
				vr_packed_dev_publish(&e->dev);
		}
		vr_packed_dev_publish(&e->dev);
		for (unsigned k = 0; k < nused; k++) {
			unsigned slot = used_seq[k] % NSLOTS;
			void *ck;
			uint16_t id, fl;
			uint32_t l;

			assert_true(lpdrv_get_used(&e->drv, &ck, &id, &l, &fl));
			assert_ptr_equal(ck, (void *)(uintptr_t)(used_seq[k] + 1));
			assert_int_equal(id, rec[slot].id);
			assert_int_equal(l, rec[slot].len);
			check_written(&e->m, slot, &rec[slot].sp, l);
			collected++;
		}
		assert_int_equal(e->drv.free_desc, num);
	}
	assert_int_equal(vr_packed_dev_broken(&e->dev), 0);
	pdev_env_fini(e);
	free(e);
}

static void test_linux_pdrv_long_run(void **state)
{
	(void)state;
	pdev_long_run(5, 20000, 11);
	pdev_long_run(8, 20000, 12);
	pdev_long_run(13, 20000, 13);
}

/* ---- 2c: event suppression, device side ---------------------------------- */

static void test_pdev_device_event_area(void **state)
{
	const unsigned num = 5;
	struct pdev_env *e = calloc(1, sizeof(*e));

	(void)state;
	assert_non_null(e);
	pdev_env_init(e, num, F_PACKED | FEAT(VR_F_EVENT_IDX));
	for (unsigned p = 0; p < 3 * num; p++) {
		static const struct spec sp = {0, 1, {8}, false};
		uint16_t want = l_off_wrap(e->drv.next_avail, e->drv.avail_wrap);
		struct vr_iov iov[1];
		struct vr_chain c;
		void *ck;
		uint16_t id, fl;
		uint32_t l;

		(void)lpdrv_kick_needed(&e->drv, true);
		assert_int_equal(vr_packed_dev_arm_avail_notify(&e->dev), 0);
		assert_int_equal(le16toh(e->drv.device_ev->flags),
				 VRING_PACKED_EVENT_FLAG_DESC);
		assert_int_equal(le16toh(e->drv.device_ev->off_wrap), want);

		/* The next chain must kick. */
		(void)pdev_add(e, 0, &sp, e);
		lpdrv_publish(&e->drv);
		assert_true(lpdrv_kick_needed(&e->drv, true));
		assert_int_equal(vr_packed_dev_arm_avail_notify(&e->dev), 1);
		memset(&c, 0, sizeof(c));
		c.iov = iov;
		c.iov_cap = 1;
		assert_int_equal(vr_packed_dev_pop(&e->dev, &c), 0);
		assert_int_equal(vr_packed_dev_push(&e->dev, c.id, 0), 0);
		assert_true(lpdrv_get_used(&e->drv, &ck, &id, &l, &fl));

		/* Suppressed: no kick. */
		vr_packed_dev_suppress_avail_notify(&e->dev);
		assert_int_equal(le16toh(e->drv.device_ev->flags),
				 VRING_PACKED_EVENT_FLAG_DISABLE);
		(void)pdev_add(e, 0, &sp, e);
		lpdrv_publish(&e->drv);
		assert_false(lpdrv_kick_needed(&e->drv, true));
		assert_int_equal(vr_packed_dev_pop(&e->dev, &c), 0);
		assert_int_equal(vr_packed_dev_push(&e->dev, c.id, 0), 0);
		assert_true(lpdrv_get_used(&e->drv, &ck, &id, &l, &fl));
		if (p % 2)
			pdev_cycle(e, 1);
	}
	pdev_env_fini(e);

	/* Without EVENT_IDX: ENABLE / DISABLE. */
	pdev_env_init(e, num, F_PACKED);
	vr_packed_dev_suppress_avail_notify(&e->dev);
	assert_int_equal(le16toh(e->drv.device_ev->flags), VRING_PACKED_EVENT_FLAG_DISABLE);
	assert_int_equal(vr_packed_dev_arm_avail_notify(&e->dev), 0);
	assert_int_equal(le16toh(e->drv.device_ev->flags), VRING_PACKED_EVENT_FLAG_ENABLE);
	pdev_env_fini(e);
	free(e);
}

/*
 * libvring device need_notify against the driver event area written by the
 * Linux driver, exhaustively on small rings; probes on copies as above.
 */
static void pdev_need_notify_sweep(unsigned num, unsigned chain_len)
{
	struct pdev_env *e = calloc(1, sizeof(*e));
	struct spec sp;

	assert_non_null(e);
	memset(&sp, 0, sizeof(sp));
	sp.n_in = chain_len;
	for (unsigned i = 0; i < chain_len; i++)
		sp.len[i] = 4;
	unsigned abs_pos = 0;

	pdev_env_init(e, num, F_PACKED | FEAT(VR_F_EVENT_IDX));
	for (unsigned start = 0; start < 2 * num; start++) {
		struct vr_iov iov[MAXNUM][MAXSEG];
		struct vr_chain c[MAXNUM];
		unsigned nchains = num / chain_len, moved = 0;
		/* The device's used position, as the Linux driver tracks it. */
		uint16_t pos = e->drv.next_used;
		bool wrap = e->drv.used_wrap;

		for (unsigned k = 0; k < nchains; k++)
			(void)pdev_add(e, k, &sp, e);
		lpdrv_publish(&e->drv);
		for (unsigned k = 0; k < nchains; k++) {
			memset(&c[k], 0, sizeof(c[k]));
			c[k].iov = iov[k];
			c[k].iov_cap = MAXSEG;
			assert_int_equal(vr_packed_dev_pop(&e->dev, &c[k]), 0);
		}
		(void)vr_packed_dev_need_notify(&e->dev); /* sync */
		for (unsigned k = 0; k <= nchains; k++) {
			struct vr_packed_dev probe;

			if (k > 0) {
				assert_int_equal(vr_packed_dev_complete(&e->dev, c[k - 1].id, 1), 0);
				vr_packed_dev_publish(&e->dev);
				moved += chain_len;
			}
			e->drv.driver_ev->flags = htole16(VRING_PACKED_EVENT_FLAG_DISABLE);
			probe = e->dev;
			assert_int_equal(vr_packed_dev_need_notify(&probe), 0);
			e->drv.driver_ev->flags = htole16(VRING_PACKED_EVENT_FLAG_ENABLE);
			probe = e->dev;
			assert_int_equal(vr_packed_dev_need_notify(&probe), moved ? 1 : 0);
			e->drv.driver_ev->flags = htole16(VRING_PACKED_EVENT_FLAG_DESC);
			for (unsigned ev = 0; ev < 2 * num; ev++) {
				uint16_t ow = l_off_wrap((uint16_t)(ev % num), ev >= num);
				uint16_t np = pos;
				bool nw = wrap;
				int want;

				l_advance(&np, &nw, moved, num);
				want = moved ? ref_packed_need_event(ow, num, np, nw, moved) : 0;
				e->drv.driver_ev->off_wrap = htole16(ow);
				probe = e->dev;
				assert_int_equal(vr_packed_dev_need_notify(&probe), want);
			}
		}
		for (unsigned k = 0; k < nchains; k++) {
			void *ck;
			uint16_t id, fl;
			uint32_t l;

			assert_true(lpdrv_get_used(&e->drv, &ck, &id, &l, &fl));
			assert_int_equal(id, c[k].id);
		}
		abs_pos += moved;
		while (abs_pos % (2 * num) != (start + 1) % (2 * num)) {
			pdev_cycle(e, 1);
			abs_pos++;
		}
		assert_int_equal(e->drv.next_used, (start + 1) % num);
		assert_int_equal(e->drv.used_wrap, ((start + 1) % (2 * num)) < num);
	}
	pdev_env_fini(e);
	free(e);
}

static void test_pdev_need_notify_vs_reference(void **state)
{
	(void)state;
	pdev_need_notify_sweep(5, 1);
	pdev_need_notify_sweep(8, 1);
	pdev_need_notify_sweep(7, 3);
	pdev_need_notify_sweep(1, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pdrv_areas_and_init),
		cmocka_unit_test(test_pdrv_chains_to_linux_device),
		cmocka_unit_test(test_pdrv_straddle_many_laps),
		cmocka_unit_test(test_pdrv_long_run),
		cmocka_unit_test(test_pdrv_used_len_without_write),
		cmocka_unit_test(test_pdrv_driver_event_area),
		cmocka_unit_test(test_packed_need_event_pure),
		cmocka_unit_test(test_pdrv_need_notify_vs_reference),
		cmocka_unit_test(test_linux_pdrv_chains_to_vr_dev),
		cmocka_unit_test(test_linux_pdrv_indirect_with_write_flag),
		cmocka_unit_test(test_linux_pdrv_zero_len_and_align4_table),
		cmocka_unit_test(test_linux_pdrv_long_run),
		cmocka_unit_test(test_pdev_device_event_area),
		cmocka_unit_test(test_pdev_need_notify_vs_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
