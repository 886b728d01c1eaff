/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Edge cases of the ring core, each run over both formats (split and
 * packed) from one table of cases (issue 11):
 *  - zero-length descriptors: refused by default, accepted as empty
 *    segments with VR_QF_ZERO_LEN_OK (driver and device), a zero-length
 *    loop still VR_ELOOP (finding 5);
 *  - indirect tables at any alignment, read without assuming one
 *    (finding 6; UBSan checks the loads);
 *  - buffers and indirect tables ending exactly at 2^64 (finding 7);
 *  - attaching to a live ring at given indices without touching shared
 *    memory (finding 8);
 *  - the boundary value of every range check (id = num - 1 accepted,
 *    id = num refused...), with private state of exactly
 *    vr_*_state_size() bytes so that ASan sees a read one slot past it
 *    (finding 16).
 * The peer's writes are simulated by writing the shared ring directly.
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

#include "ring_fixture.h"

#define NEXT VR_DESC_F_NEXT
#define WRITE VR_DESC_F_WRITE
#define INDIRECT VR_DESC_F_INDIRECT
#define IND VR_FEATURE(VR_F_INDIRECT_DESC)
#define INORDER VR_FEATURE(VR_F_IN_ORDER)
#define ZL VR_QF_ZERO_LEN_OK

/* ---- Fixture ------------------------------------------------------------ */

static struct fx *mk(bool packed, uint32_t num, uint64_t feat, uint32_t qflags)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	if (packed)
		feat |= VR_FEATURE(VR_F_RING_PACKED);
	assert_int_equal(fx_init_flags(f, num, feat, qflags), 0);
	assert_int_equal(fx_exact_states(f), 0);
	return f;
}

static void rm(struct fx *f)
{
	fx_fini(f);
	free(f);
}

/* Re-initialise the device side only, with @mem as its window. */
static void dev_reinit_mem(struct fx *f, struct vr_mem mem)
{
	struct vr_queue_cfg cfg = f->cfg;

	cfg.mem = mem;
	if (f->packed)
		assert_int_equal(vr_packed_dev_init(&f->pdev, &cfg, &f->pa, f->dev_state,
						    vr_packed_dev_state_size(f->num)), 0);
	else
		assert_int_equal(vr_split_dev_init(&f->sdev, &cfg, &f->sa, f->dev_state,
						   vr_split_dev_state_size(f->num)), 0);
}

/* Bus address of pool block @i (4 KiB apart) with the fixture's window. */
static uint64_t blk(unsigned i)
{
	return fx_addr(NULL, 4096 * (size_t)i);
}

/* 16-aligned place for indirect table @i, in the pool. */
static uint64_t tbl_addr(unsigned i)
{
	return fx_addr(NULL, 1024 * 1024 + 4096 * (size_t)i);
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/*
 * One descriptor as the hostile driver writes it, at any address (byte
 * stores, little-endian): split {addr, len, flags, next}, packed {addr,
 * len, id, flags}. @x is the split next or the packed buffer id. In the
 * packed ring @flags get the "available in wrap 1" bit added, except in
 * tables (@table).
 */
static void wdesc(const struct fx *f, unsigned char *p, uint64_t addr,
		  uint32_t len, uint16_t flags, uint16_t x, bool table)
{
	put64(p, addr);
	put32(p + 8, len);
	if (f->packed) {
		put16(p + 12, x);
		put16(p + 14, (uint16_t)(flags | (table ? 0 : VR_DESC_F_AVAIL)));
	} else {
		put16(p + 12, flags);
		put16(p + 14, x);
	}
}

/* Ring descriptor @i. */
static void ring_desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len,
		      uint16_t flags, uint16_t x)
{
	unsigned char *ring = (unsigned char *)(f->packed ? f->pa.desc : f->sa.desc);

	wdesc(f, ring + 16 * (size_t)i, addr, len, flags, x, false);
}

/* Split: make @head available (ring entry, then idx + 1). Packed: nothing
 * to do, the flags written by ring_desc made it available. */
static void expose(struct fx *f, uint16_t head)
{
	struct vr_avail *av;
	uint16_t idx;

	if (f->packed)
		return;
	av = (struct vr_avail *)f->sa.avail;
	idx = vr__le16(av->idx);
	vr_avail_ring(av)[idx & (f->num - 1)] = vr__le16(head);
	av->idx = vr__le16((uint16_t)(idx + 1));
}

/*
 * A chain of @n ring descriptors at ring positions 0..n-1, made available:
 * split links i -> i + 1 (head 0), packed carries buffer id @id.
 */
struct hd {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* WRITE, INDIRECT; NEXT is added between entries */
};

static void hchain(struct fx *f, const struct hd *d, unsigned n, uint16_t id)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint16_t fl = (uint16_t)(d[i].flags | (i + 1 < n ? NEXT : 0));

		ring_desc(f, i, d[i].addr, d[i].len, fl,
			  f->packed ? id : (uint16_t)(i + 1 < n ? i + 1 : 0));
	}
	expose(f, 0);
}

/* An indirect table of @n entries at local address @p (any alignment). */
static void htable(struct fx *f, unsigned char *p, const struct hd *d, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint16_t fl = (uint16_t)(d[i].flags | (i + 1 < n && !f->packed ? NEXT : 0));

		wdesc(f, p + 16 * (size_t)i, d[i].addr, d[i].len, fl,
		      (uint16_t)(i + 1 < n ? i + 1 : 0), true);
	}
}

static int pop(struct fx *f, struct vr_chain *c, struct vr_iov *iov, uint16_t cap)
{
	memset(c, 0, sizeof(*c));
	c->iov = iov;
	c->iov_cap = cap;
	return fx_pop(f, c);
}

static void expect_pop(struct fx *f, int want)
{
	struct vr_iov iov[64];
	struct vr_chain c;
	int r = pop(f, &c, iov, 64);

	if (r != want)
		fail_msg("%s pop returned %s, expected %s", f->packed ? "packed" : "split",
			 vr_errname(r), vr_errname(want));
	if (vr_is_protocol_error(want))
		assert_int_equal(fx_dev_broken(f), want);
}

static int add_indirect(struct fx *f, const struct vr_seg *s, unsigned n_out,
			unsigned n_in, unsigned t)
{
	if (f->packed)
		return vr_packed_drv_add_indirect(&f->pdrv, s, n_out, n_in,
						  fx_ptr(f, tbl_addr(t)), tbl_addr(t), NULL);
	return vr_split_drv_add_indirect(&f->sdrv, s, n_out, n_in,
					 fx_ptr(f, tbl_addr(t)), tbl_addr(t), NULL);
}

static void seg_set(struct vr_seg *s, uint64_t addr, uint32_t len)
{
	s->addr = addr;
	s->len = len;
}

static const char *fmt(const struct fx *f)
{
	return f->packed ? "packed" : "split";
}

/* ======================================================================= */
/*                  Finding 5: zero-length descriptors                      */
/* ======================================================================= */

/* The default stays strict: the device breaks the queue with VR_EZEROLEN
 * and the driver refuses to add one. */
static void test_zero_len_strict_by_default(void **state)
{
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, 8, IND, 0);
		struct hd d[3] = { { blk(0), 16, 0 }, { blk(1), 0, 0 }, { blk(2), 8, WRITE } };
		struct vr_seg s[2];

		hchain(f, d, 3, 0);
		expect_pop(f, VR_EZEROLEN);
		rm(f);

		f = mk(p, 8, IND, 0);
		hchain(f, &d[1], 1, 0);
		expect_pop(f, VR_EZEROLEN);
		seg_set(&s[0], blk(0), 16);
		seg_set(&s[1], blk(1), 0);
		assert_int_equal(fx_add(f, s, 1, 1, NULL), VR_EINVAL);
		assert_int_equal(add_indirect(f, s, 1, 1, 0), VR_EINVAL);
		rm(f);
	}
}

/* With VR_QF_ZERO_LEN_OK on both sides: the driver adds zero-length
 * segments, the device takes them as adding nothing (no iov entry, no
 * bytes), and a chain of only zero-length descriptors is an empty chain. */
static void test_zero_len_accepted_with_flag(void **state)
{
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, 8, IND, ZL);
		struct vr_seg s[4];
		struct vr_iov iov[8];
		struct vr_chain c;
		struct vr_used_buf u;
		int id;

		/* Mixed: R16, R0, W0, W32. */
		seg_set(&s[0], blk(0), 16);
		seg_set(&s[1], blk(1), 0);
		seg_set(&s[2], blk(2), 0);
		seg_set(&s[3], blk(3), 32);
		id = fx_add(f, s, 2, 2, (void *)0x11);
		assert_true(id >= 0);
		fx_publish(f);
		assert_int_equal(pop(f, &c, iov, 8), 0);
		assert_int_equal(c.id, id);
		assert_int_equal(c.n_out, 1);
		assert_int_equal(c.n_in, 1);
		assert_int_equal(c.ndesc, 4);
		assert_int_equal(c.out_bytes, 16);
		assert_int_equal(c.in_bytes, 32);
		assert_ptr_equal(iov[0].base, fx_ptr(f, blk(0)));
		assert_ptr_equal(iov[1].base, fx_ptr(f, blk(3)));
		assert_int_equal(fx_push(f, c.id, 32), 0);
		assert_int_equal(fx_get_used(f, &u), 0);
		assert_ptr_equal(u.cookie, (void *)0x11);
		assert_int_equal(u.len, 32);

		/* Only zero-length descriptors: an empty chain. */
		seg_set(&s[0], blk(0), 0);
		seg_set(&s[1], blk(1), 0);
		seg_set(&s[2], blk(2), 0);
		id = fx_add(f, s, 1, 2, (void *)0x22);
		assert_true(id >= 0);
		fx_publish(f);
		assert_int_equal(pop(f, &c, iov, 8), 0);
		assert_int_equal(c.id, id);
		assert_int_equal(c.n_out + c.n_in, 0);
		assert_int_equal(c.out_bytes + c.in_bytes, 0);
		assert_int_equal(c.ndesc, 3);
		assert_int_equal(fx_push(f, c.id, 0), 0);
		assert_int_equal(fx_get_used(f, &u), 0);
		assert_ptr_equal(u.cookie, (void *)0x22);
		assert_int_equal(u.len, 0);

		/* A single zero-length descriptor (the one-descriptor fast
		 * path), even with an address no buffer could have: no byte
		 * of it is ever touched. */
		{
			struct hd d = { UINT64_MAX - 3, 0, WRITE };

			rm(f);
			f = mk(p, 8, IND, ZL);
			hchain(f, &d, 1, 5);
			assert_int_equal(pop(f, &c, iov, 0), 0);
			assert_int_equal(c.n_out + c.n_in, 0);
			assert_int_equal(c.ndesc, 1);
			assert_int_equal(c.id, p ? 5 : 0);
		}

		/* Through an indirect table: R0, W8, W0. */
		rm(f);
		f = mk(p, 8, IND, ZL);
		seg_set(&s[0], blk(0), 0);
		seg_set(&s[1], blk(1), 8);
		seg_set(&s[2], blk(2), 0);
		id = add_indirect(f, s, 1, 2, 0);
		assert_true(id >= 0);
		fx_publish(f);
		assert_int_equal(pop(f, &c, iov, 8), 0);
		assert_int_equal(c.n_out, 0);
		assert_int_equal(c.n_in, 1);
		assert_int_equal(c.in_bytes, 8);
		assert_ptr_equal(iov[0].base, fx_ptr(f, blk(1)));

		/* Readable after writable is still out of order, empty or not. */
		{
			struct hd d[2] = { { blk(0), 8, WRITE }, { blk(1), 0, 0 } };

			rm(f);
			f = mk(p, 8, IND, ZL);
			hchain(f, d, 2, 0);
			expect_pop(f, VR_EORDER);
		}
		rm(f);
	}
}

/* A driver with cache hooks cleans its readable buffers at add: a
 * zero-length one has nothing to clean and is not refused. */
static unsigned cleaned;

static void count_clean(void *ctx, const void *p, size_t len)
{
	(void)ctx;
	(void)p;
	assert_true(len > 0);
	cleaned++;
}

static void test_zero_len_driver_cache_hooks(void **state)
{
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = calloc(1, sizeof(*f));
		struct vr_seg s[2];

		assert_non_null(f);
		assert_int_equal(fx_init_flags(f, 8, p ? VR_FEATURE(VR_F_RING_PACKED) : 0, ZL), 0);
		f->cfg.mem.clean = count_clean;
		assert_int_equal(fx_exact_states(f), 0);
		seg_set(&s[0], blk(0), 0);
		seg_set(&s[1], blk(1), 16);
		cleaned = 0;
		assert_true(fx_add(f, s, 2, 0, NULL) >= 0);
		assert_true(cleaned > 0);
		rm(f);
	}
}

/* The walk is bounded by the descriptor count, not by bytes: a loop of
 * zero-length descriptors still ends in VR_ELOOP. */
static void test_zero_len_loop_is_eloop(void **state)
{
	int p;
	unsigned i;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, 8, IND, ZL);

		if (!p) {
			/* 0 -> 1 -> 0 ... */
			ring_desc(f, 0, blk(0), 0, NEXT, 1);
			ring_desc(f, 1, blk(1), 0, NEXT, 0);
			expose(f, 0);
			expect_pop(f, VR_ELOOP);
			rm(f);
			/* Self loop. */
			f = mk(p, 8, IND, ZL);
			ring_desc(f, 0, blk(0), 0, NEXT | WRITE, 0);
			expose(f, 0);
			expect_pop(f, VR_ELOOP);
			rm(f);
			/* Inside an indirect table. */
			f = mk(p, 8, IND, ZL);
			wdesc(f, fx_ptr(f, tbl_addr(0)), blk(0), 0, NEXT, 1, true);
			wdesc(f, (unsigned char *)fx_ptr(f, tbl_addr(0)) + 16, blk(0), 0, NEXT, 0, true);
			ring_desc(f, 0, tbl_addr(0), 32, INDIRECT, 0);
			expose(f, 0);
			expect_pop(f, VR_ELOOP);
		} else {
			/* Every descriptor of the ring zero-length, available
			 * and chained: longer than the ring. */
			for (i = 0; i < 8; i++)
				ring_desc(f, i, blk(i), 0, NEXT, 0);
			expect_pop(f, VR_ELOOP);
		}
		rm(f);
	}
}

/* ======================================================================= */
/*             Finding 6: indirect tables at any alignment                  */
/* ======================================================================= */

/* The spec sets no alignment for an indirect table. One at 4 (not 8) bytes,
 * at 2 and at an odd address is read right; the loads assume nothing (a
 * misaligned 4-byte load is undefined behaviour, which UBSan reports, and
 * a fault on Cortex-M0). */
static void test_indirect_any_alignment(void **state)
{
	static const unsigned offs[] = { 4, 12, 2, 1, 7, 8 };
	int p;
	unsigned i;

	(void)state;
	for (p = 0; p < 2; p++) {
		for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			struct fx *f = mk(p, 8, IND, 0);
			uint64_t ta = tbl_addr(0) + offs[i];
			struct hd t[3] = { { blk(0), 16, 0 }, { blk(1), 24, 0 },
					   { blk(2), 32, WRITE } };
			struct hd r = { ta, 48, INDIRECT };
			struct vr_iov iov[4];
			struct vr_chain c;
			int rc;

			htable(f, fx_ptr(f, ta), t, 3);
			hchain(f, &r, 1, 3);
			rc = pop(f, &c, iov, 4);
			if (rc != 0)
				fail_msg("%s table at +%u: %s", fmt(f), offs[i], vr_errname(rc));
			assert_int_equal(c.n_out, 2);
			assert_int_equal(c.n_in, 1);
			assert_int_equal(c.ndesc, 1);
			assert_ptr_equal(iov[0].base, fx_ptr(f, blk(0)));
			assert_int_equal(iov[0].len, 16);
			assert_ptr_equal(iov[1].base, fx_ptr(f, blk(1)));
			assert_int_equal(iov[1].len, 24);
			assert_ptr_equal(iov[2].base, fx_ptr(f, blk(2)));
			assert_int_equal(iov[2].len, 32);
			assert_int_equal(c.id, p ? 3 : 0);
			rm(f);
		}
	}
}

/* ======================================================================= */
/*                Finding 7: ranges ending exactly at 2^64                  */
/* ======================================================================= */

static unsigned char top_byte[64];

/* A translate callback that places every range on top_byte[] when it lies
 * in the last 64 bytes of the bus address space. */
static void *top_translate(void *ctx, uint64_t addr, uint64_t len, enum vr_access a)
{
	(void)ctx;
	(void)a;
	if (len == 0 || addr < UINT64_MAX - 63 || len > UINT64_MAX - addr + 1)
		return NULL;
	return top_byte + (addr - (UINT64_MAX - 63));
}

static void test_range_ending_at_2_64(void **state)
{
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, 8, IND, 0);
		/* The device's window is the region at the top of the bus
		 * address space: region offset o is bus address top + o. */
		uint64_t top = 0 - (uint64_t)f->region_len;
		struct vr_mem win = vr_mem_window(f->region, top, f->region_len);
		unsigned char *end = f->region + f->region_len;
		struct vr_iov iov[8];
		struct vr_chain c;
		struct vr_mem cb;

		/* The window itself. */
		assert_ptr_equal(vr_mem_translate(&win, UINT64_MAX - 15, 16, VR_ACCESS_READ), end - 16);
		assert_ptr_equal(vr_mem_translate(&win, UINT64_MAX, 1, VR_ACCESS_READ), end - 1);
		assert_null(vr_mem_translate(&win, UINT64_MAX - 14, 16, VR_ACCESS_READ));

		/* A buffer whose last byte is the last bus address. */
		dev_reinit_mem(f, win);
		{
			struct hd d = { UINT64_MAX - 15, 16, WRITE };

			hchain(f, &d, 1, 1);
			if (pop(f, &c, iov, 8) != 0)
				fail_msg("%s: buffer ending at 2^64 refused", fmt(f));
			assert_ptr_equal(iov[0].base, end - 16);
			assert_int_equal(iov[0].len, 16);
		}
		rm(f);

		/* Second descriptor of a chain: the last byte alone. */
		f = mk(p, 8, IND, 0);
		dev_reinit_mem(f, win = vr_mem_window(f->region, top, f->region_len));
		end = f->region + f->region_len;
		{
			struct hd d[2] = { { top + FX_RING_BYTES, 8, 0 }, { UINT64_MAX, 1, WRITE } };

			hchain(f, d, 2, 1);
			assert_int_equal(pop(f, &c, iov, 8), 0);
			assert_ptr_equal(iov[1].base, end - 1);
		}
		rm(f);

		/* One byte further wraps: VR_EOVERFLOW. */
		f = mk(p, 8, IND, 0);
		dev_reinit_mem(f, vr_mem_window(f->region, top, f->region_len));
		{
			struct hd d = { UINT64_MAX - 14, 16, 0 };

			hchain(f, &d, 1, 1);
			expect_pop(f, VR_EOVERFLOW);
		}
		rm(f);

		/* An indirect table ending at 2^64. */
		f = mk(p, 8, IND, 0);
		dev_reinit_mem(f, vr_mem_window(f->region, top, f->region_len));
		end = f->region + f->region_len;
		{
			struct hd t[2] = { { top + FX_RING_BYTES, 8, 0 },
					   { UINT64_MAX - 7, 8, WRITE } };
			struct hd r = { UINT64_MAX - 31, 32, INDIRECT };

			htable(f, end - 32, t, 2);
			hchain(f, &r, 1, 2);
			if (pop(f, &c, iov, 8) != 0)
				fail_msg("%s: indirect table ending at 2^64 refused", fmt(f));
			assert_int_equal(c.n_out, 1);
			assert_int_equal(c.n_in, 1);
			assert_ptr_equal(iov[1].base, end - 8);
		}
		rm(f);

		/* ... and one 16 bytes further wraps. */
		f = mk(p, 8, IND, 0);
		dev_reinit_mem(f, vr_mem_window(f->region, top, f->region_len));
		{
			struct hd r = { UINT64_MAX - 15, 32, INDIRECT };

			hchain(f, &r, 1, 2);
			expect_pop(f, VR_EOVERFLOW);
		}
		rm(f);

		/* Through a translate callback: the range reaches it. */
		f = mk(p, 8, IND, 0);
		memset(&cb, 0, sizeof(cb));
		cb.translate = top_translate;
		dev_reinit_mem(f, cb);
		{
			struct hd d = { UINT64_MAX - 31, 32, 0 };

			hchain(f, &d, 1, 0);
			assert_int_equal(pop(f, &c, iov, 8), 0);
			assert_ptr_equal(iov[0].base, top_byte + 32);
		}
		rm(f);
	}
}

/* The ring areas are local memory, but their overlap check is a range
 * check too: a descriptor area ending exactly at the top of the address
 * space, with another area inside it, is refused at init before anything is
 * written (the sum pa + alen wraps to 0 there). The addresses are never
 * dereferenced when the check works. */
static void test_areas_overlap_at_top(void **state)
{
	const uintptr_t top = 0;
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, 8, 0, 0);
		uintptr_t d = top - 16 * 8; /* the 128-byte table ends at 2^N */

		if (p) {
			struct vr_packed_areas a = f->pa;

			a.desc = (void *)d;
			a.driver_event = (void *)(d + 64);
			assert_int_equal(vr_packed_drv_init(&f->pdrv, &f->cfg, &a, f->drv_state,
							    vr_packed_drv_state_size(8)), VR_EINVAL);
			assert_int_equal(vr_packed_dev_init(&f->pdev, &f->cfg, &a, f->dev_state,
							    vr_packed_dev_state_size(8)), VR_EINVAL);
		} else {
			struct vr_split_areas a = f->sa;

			a.desc = (void *)d;
			a.avail = (void *)(d + 64);
			assert_int_equal(vr_split_drv_init(&f->sdrv, &f->cfg, &a, f->drv_state,
							   vr_split_drv_state_size(8)), VR_EINVAL);
			assert_int_equal(vr_split_dev_init(&f->sdev, &f->cfg, &a, f->dev_state,
							   vr_split_dev_state_size(8)), VR_EINVAL);
		}
		rm(f);
	}
}

/* ======================================================================= */
/*          Finding 16: the boundary value of every range check             */
/* ======================================================================= */

/* Driver: add @n one-descriptor chains (64 writable bytes each), publish. */
static void drv_fill(struct fx *f, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct vr_seg s;

		seg_set(&s, blk(i), 64);
		assert_int_equal(fx_add(f, &s, 0, 1, (void *)(uintptr_t)(i + 1)), (int)i);
	}
	fx_publish(f);
}

/* The hostile device returns buffer @id with @len at the driver's next
 * used slot (split: entry, then used->idx + @adv; packed: the descriptor
 * at @pos, used in wrap 1). */
static void used_put(struct fx *f, unsigned pos, uint32_t id, uint32_t len,
		     uint16_t adv)
{
	if (f->packed) {
		unsigned char *d = (unsigned char *)f->pa.desc + 16 * (size_t)pos;

		put32(d + 8, len);
		put16(d + 12, (uint16_t)id);
		put16(d + 14, (uint16_t)(VR_DESC_F_AVAIL | VR_DESC_F_USED | (len ? WRITE : 0)));
	} else {
		struct vr_used *u = (struct vr_used *)f->sa.used;
		uint16_t idx = vr__le16(u->idx);
		struct vr_used_elem *e = &vr_used_ring(u)[idx & (f->num - 1)];

		e->id = vr__le32(id);
		e->len = vr__le32(len);
		u->idx = vr__le16((uint16_t)(idx + adv));
	}
}

static void expect_used(struct fx *f, int want)
{
	struct vr_used_buf u;
	int r = fx_get_used(f, &u);

	if (r != want)
		fail_msg("%s get_used returned %s, expected %s", fmt(f), vr_errname(r),
			 vr_errname(want));
	if (vr_is_protocol_error(want))
		assert_int_equal(fx_drv_broken(f), want);
}

/* Used id: num - 1 accepted, num refused (before the driver's private
 * record is indexed: its state is exactly num slots), also in order. */
static void test_bound_used_id(void **state)
{
	const uint32_t num = 8;
	int p, io;

	(void)state;
	for (p = 0; p < 2; p++) {
		for (io = 0; io < 2; io++) {
			uint64_t feat = io ? INORDER : 0;
			struct fx *f = mk(p, num, feat, 0);
			struct vr_used_buf u;

			drv_fill(f, num);
			/* In order, id num - 1 closes a batch of all num. */
			used_put(f, 0, num - 1, 64, (uint16_t)(io ? num : 1));
			assert_int_equal(fx_get_used(f, &u), 0);
			if (io) {
				assert_int_equal(u.id, 0);
				while (u.id != num - 1)
					assert_int_equal(fx_get_used(f, &u), 0);
			}
			assert_int_equal(u.id, num - 1);
			assert_int_equal(u.len, 64);
			rm(f);

			f = mk(p, num, feat, 0);
			drv_fill(f, num);
			used_put(f, 0, num, 0, 1);
			expect_used(f, VR_EUSEDID);
			rm(f);

			/* Ids far out of range too. */
			f = mk(p, num, feat, 0);
			drv_fill(f, num);
			used_put(f, 0, p ? 0xffffu : 0xffffffffu, 0, 1);
			expect_used(f, VR_EUSEDID);
			rm(f);
		}
	}
}

/* Used length: the writable bytes accepted, one more refused. */
static void test_bound_used_len(void **state)
{
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, 8, 0, 0);
		struct vr_used_buf u;

		drv_fill(f, 1);
		used_put(f, 0, 0, 64, 1);
		assert_int_equal(fx_get_used(f, &u), 0);
		assert_int_equal(u.len, 64);
		rm(f);

		f = mk(p, 8, 0, 0);
		drv_fill(f, 1);
		used_put(f, 0, 0, 65, 1);
		expect_used(f, VR_EUSEDLEN);
		rm(f);
	}
}

/* Split used->idx: as many as are in flight accepted, one more refused. */
static void test_bound_used_idx(void **state)
{
	const uint32_t num = 8;
	struct vr_used_buf u;
	struct fx *f;
	unsigned i;

	(void)state;
	f = mk(false, num, 0, 0);
	drv_fill(f, num);
	for (i = 0; i < num; i++)
		used_put(f, 0, i, 0, 1);
	for (i = 0; i < num; i++)
		assert_int_equal(fx_get_used(f, &u), 0);
	expect_used(f, VR_EAGAIN);
	rm(f);

	f = mk(false, num, 0, 0);
	drv_fill(f, num);
	for (i = 0; i < num; i++)
		used_put(f, 0, i, 0, 1);
	used_put(f, 0, 0, 0, 1);
	expect_used(f, VR_EUSEDIDX);
	rm(f);
}

/* Device: head (split) / buffer id (packed) num - 1 accepted, num refused. */
static void test_bound_head_and_buffer_id(void **state)
{
	const uint32_t num = 8;
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, num, 0, 0);
		struct vr_iov iov[2];
		struct vr_chain c;

		if (p) {
			ring_desc(f, 0, blk(0), 8, 0, (uint16_t)(num - 1));
		} else {
			ring_desc(f, num - 1, blk(0), 8, 0, 0);
			expose(f, (uint16_t)(num - 1));
		}
		assert_int_equal(pop(f, &c, iov, 2), 0);
		assert_int_equal(c.id, num - 1);
		/* complete: num refused (the caller's mistake), num - 1 ok */
		assert_int_equal(fx_complete(f, (uint16_t)num, 0), VR_ESTATE);
		assert_int_equal(fx_complete(f, (uint16_t)(num - 1), 0), 0);
		assert_int_equal(fx_complete(f, (uint16_t)(num - 1), 0), VR_ESTATE);
		rm(f);

		f = mk(p, num, 0, 0);
		if (p) {
			ring_desc(f, 0, blk(0), 8, 0, (uint16_t)num);
			expect_pop(f, VR_EBUFID);
		} else {
			expose(f, (uint16_t)num);
			expect_pop(f, VR_EHEAD);
		}
		rm(f);
	}
}

/* Split next: num - 1 accepted, num refused; in an indirect table of n
 * entries: n - 1 accepted, n refused. */
static void test_bound_next(void **state)
{
	const uint32_t num = 8;
	struct vr_iov iov[4];
	struct vr_chain c;
	unsigned char *t;
	struct fx *f;

	(void)state;
	f = mk(false, num, IND, 0);
	ring_desc(f, 0, blk(0), 8, NEXT, (uint16_t)(num - 1));
	ring_desc(f, num - 1, blk(1), 8, WRITE, 0);
	expose(f, 0);
	assert_int_equal(pop(f, &c, iov, 4), 0);
	assert_int_equal(c.ndesc, 2);
	rm(f);

	f = mk(false, num, IND, 0);
	ring_desc(f, 0, blk(0), 8, NEXT, (uint16_t)num);
	expose(f, 0);
	expect_pop(f, VR_ENEXT);
	rm(f);

	f = mk(false, num, IND, 0);
	t = fx_ptr(f, tbl_addr(0));
	wdesc(f, t, blk(0), 8, NEXT, 2, true);
	wdesc(f, t + 16, blk(1), 8, 0, 0, true);
	wdesc(f, t + 32, blk(2), 8, WRITE, 0, true);
	ring_desc(f, 0, tbl_addr(0), 48, INDIRECT, 0);
	expose(f, 0);
	assert_int_equal(pop(f, &c, iov, 4), 0);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 1);
	rm(f);

	f = mk(false, num, IND, 0);
	t = fx_ptr(f, tbl_addr(0));
	wdesc(f, t, blk(0), 8, NEXT, 3, true);
	wdesc(f, t + 16, blk(1), 8, 0, 0, true);
	wdesc(f, t + 32, blk(2), 8, WRITE, 0, true);
	ring_desc(f, 0, tbl_addr(0), 48, INDIRECT, 0);
	expose(f, 0);
	expect_pop(f, VR_ENEXT);
	rm(f);
}

/* Split avail->idx: num pending accepted, num + 1 refused. */
static void test_bound_avail_idx(void **state)
{
	const uint32_t num = 8;
	struct vr_avail *av;
	struct fx *f;

	(void)state;
	f = mk(false, num, 0, 0);
	av = (struct vr_avail *)f->sa.avail;
	av->idx = vr__le16((uint16_t)num);
	assert_int_equal(vr_split_dev_avail(&f->sdev), (int)num);
	rm(f);

	f = mk(false, num, 0, 0);
	av = (struct vr_avail *)f->sa.avail;
	av->idx = vr__le16((uint16_t)(num + 1));
	assert_int_equal(vr_split_dev_avail(&f->sdev), VR_EAVAILIDX);
	rm(f);
}

/* Indirect table entries: max_indirect accepted, one more refused; the
 * configured limit itself: 32768 accepted, 32769 refused at init. */
static void test_bound_indirect_entries(void **state)
{
	const uint32_t num = 8;
	int p, extra;

	(void)state;
	for (p = 0; p < 2; p++) {
		for (extra = 0; extra < 2; extra++) {
			struct fx *f = mk(p, num, IND, 0);
			unsigned n = num + (unsigned)extra, i;
			struct hd t[9], r;

			for (i = 0; i < n; i++) {
				t[i].addr = blk(i);
				t[i].len = 8;
				t[i].flags = 0;
			}
			htable(f, fx_ptr(f, tbl_addr(0)), t, n);
			r.addr = tbl_addr(0);
			r.len = 16 * n;
			r.flags = INDIRECT;
			hchain(f, &r, 1, 0);
			expect_pop(f, extra ? VR_EINDIRECT : 0);
			rm(f);
		}
		{
			struct fx *f = mk(p, num, IND, 0);
			struct vr_queue_cfg cfg = f->cfg;

			cfg.max_indirect = VR_QUEUE_SIZE_MAX;
			if (p)
				assert_int_equal(vr_packed_dev_init(&f->pdev, &cfg, &f->pa, f->dev_state,
								    vr_packed_dev_state_size(num)), 0);
			else
				assert_int_equal(vr_split_dev_init(&f->sdev, &cfg, &f->sa, f->dev_state,
								   vr_split_dev_state_size(num)), 0);
			cfg.max_indirect = VR_QUEUE_SIZE_MAX + 1;
			if (p)
				assert_int_equal(vr_packed_dev_init(&f->pdev, &cfg, &f->pa, f->dev_state,
								    vr_packed_dev_state_size(num)), VR_EINVAL);
			else
				assert_int_equal(vr_split_dev_init(&f->sdev, &cfg, &f->sa, f->dev_state,
								   vr_split_dev_state_size(num)), VR_EINVAL);
			rm(f);
		}
	}
}

/* The window: a buffer ending at its last byte accepted, one byte past
 * refused; state one byte short of vr_*_state_size() refused at init. */
static void test_bound_window_and_state(void **state)
{
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, 8, 0, 0);
		struct hd d = { f->region_len - 16, 16, 0 };
		struct vr_iov iov[2];
		struct vr_chain c;
		size_t dsz, vsz;

		hchain(f, &d, 1, 0);
		assert_int_equal(pop(f, &c, iov, 2), 0);
		assert_ptr_equal(iov[0].base, f->region + f->region_len - 16);
		rm(f);

		f = mk(p, 8, 0, 0);
		d.addr = f->region_len - 15;
		hchain(f, &d, 1, 0);
		expect_pop(f, VR_EFAULT);

		dsz = p ? vr_packed_drv_state_size(8) : vr_split_drv_state_size(8);
		vsz = p ? vr_packed_dev_state_size(8) : vr_split_dev_state_size(8);
		if (p) {
			assert_int_equal(vr_packed_drv_init(&f->pdrv, &f->cfg, &f->pa, f->drv_state, dsz - 1), VR_ERANGE);
			assert_int_equal(vr_packed_dev_init(&f->pdev, &f->cfg, &f->pa, f->dev_state, vsz - 1), VR_ERANGE);
		} else {
			assert_int_equal(vr_split_drv_init(&f->sdrv, &f->cfg, &f->sa, f->drv_state, dsz - 1), VR_ERANGE);
			assert_int_equal(vr_split_dev_init(&f->sdev, &f->cfg, &f->sa, f->dev_state, vsz - 1), VR_ERANGE);
		}
		rm(f);
	}
}

/* Packed: a chain of exactly num descriptors accepted; descriptors in
 * flight plus a new chain: num accepted, num + 1 refused. */
static void test_bound_packed_in_flight(void **state)
{
	const uint32_t num = 8;
	unsigned extra;

	(void)state;
	for (extra = 0; extra < 2; extra++) {
		struct fx *f = mk(true, num, 0, 0);
		struct vr_iov iov[16];
		struct vr_chain c;
		unsigned i, n = num - 1 + extra;

		/* One chain taken and not returned, at position 0. */
		ring_desc(f, 0, blk(0), 8, 0, 0);
		assert_int_equal(pop(f, &c, iov, 16), 0);
		/* Then a chain of n from position 1, wrapping to position 0
		 * in wrap 0 (AVAIL clear, USED set). */
		for (i = 0; i < n; i++) {
			unsigned pos = (1 + i) % num;
			unsigned char *d = (unsigned char *)f->pa.desc + 16 * (size_t)pos;
			uint16_t fl = (uint16_t)(i + 1 < n ? NEXT : 0);

			put64(d, blk(1 + i));
			put32(d + 8, 8);
			put16(d + 12, 1);
			put16(d + 14, (uint16_t)(fl | (pos >= 1 ? VR_DESC_F_AVAIL : VR_DESC_F_USED)));
		}
		expect_pop(f, extra ? VR_EINFLIGHT : 0);
		rm(f);
	}
}

/* ======================================================================= */
/*                 Finding 8: attaching to a live ring                      */
/* ======================================================================= */

static unsigned char *snap(const struct fx *f)
{
	unsigned char *s = malloc(FX_RING_BYTES);

	assert_non_null(s);
	memcpy(s, f->region, FX_RING_BYTES);
	return s;
}

static void assert_rings_unchanged(const struct fx *f, unsigned char *s)
{
	assert_memory_equal(f->region, s, FX_RING_BYTES);
	free(s);
}

/* Run @n messages through the ring (add, pop, complete, collect); each
 * carries its sequence number, checked at both ends. */
static void run_msgs(struct fx *f, unsigned n, uint32_t *seq)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct vr_seg s;
		struct vr_iov iov[2];
		struct vr_chain c;
		struct vr_used_buf u;
		uint32_t v = (*seq)++;

		memcpy(fx_ptr(f, blk(i % 4)), &v, sizeof(v));
		seg_set(&s, blk(i % 4), 4);
		assert_true(fx_add(f, &s, 1, 0, (void *)(uintptr_t)(v + 1)) >= 0);
		fx_publish(f);
		assert_int_equal(pop(f, &c, iov, 2), 0);
		assert_memory_equal(iov[0].base, &v, sizeof(v));
		assert_int_equal(fx_push(f, c.id, 0), 0);
		assert_int_equal(fx_get_used(f, &u), 0);
		assert_ptr_equal(u.cookie, (void *)(uintptr_t)(v + 1));
	}
}

static int dev_attach(struct fx *f, const void *base)
{
	size_t sz = f->packed ? vr_packed_dev_state_size(f->num)
			      : vr_split_dev_state_size(f->num);

	if (f->packed)
		return vr_packed_dev_attach(&f->pdev, &f->cfg, &f->pa, f->dev_state, sz,
					    (const struct vr_packed_base *)base);
	return vr_split_dev_attach(&f->sdev, &f->cfg, &f->sa, f->dev_state, sz,
				   (const struct vr_split_base *)base);
}

static int drv_attach(struct fx *f, const void *base)
{
	size_t sz = f->packed ? vr_packed_drv_state_size(f->num)
			      : vr_split_drv_state_size(f->num);

	if (f->packed)
		return vr_packed_drv_attach(&f->pdrv, &f->cfg, &f->pa, f->drv_state, sz,
					    (const struct vr_packed_base *)base);
	return vr_split_drv_attach(&f->sdrv, &f->cfg, &f->sa, f->drv_state, sz,
				   (const struct vr_split_base *)base);
}

/* A restarted device takes over a live ring at the indices its previous
 * incarnation reported: the driver collects what the old device completed,
 * the new one takes the chains the old one had not, in order, and shared
 * memory is not touched by the attach. */
static void test_attach_device_live(void **state)
{
	const uint32_t num = 4;
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, num, 0, 0);
		struct vr_split_base sb;
		struct vr_packed_base pb;
		struct vr_seg s;
		struct vr_iov iov[2];
		struct vr_chain c;
		struct vr_used_buf u;
		unsigned char *sn;
		uint32_t seq = 0;
		unsigned i;

		/* Several laps first, so that indices and wrap counters are
		 * nowhere near their initial values. */
		run_msgs(f, 4 * num + 1, &seq);
		/* Three chains made available; the device takes two and
		 * returns both; the driver collects one. */
		for (i = 0; i < 3; i++) {
			seg_set(&s, blk(i), 8);
			assert_true(fx_add(f, &s, 1, 0, (void *)(uintptr_t)(100 + i)) >= 0);
		}
		fx_publish(f);
		for (i = 0; i < 2; i++) {
			assert_int_equal(pop(f, &c, iov, 2), 0);
			assert_int_equal(fx_push(f, c.id, 0), 0);
		}
		assert_int_equal(fx_get_used(f, &u), 0);
		assert_ptr_equal(u.cookie, (void *)100);

		/* GET_VRING_BASE, the device goes away; SET_VRING_BASE to a
		 * new device object over fresh private state. */
		if (p)
			vr_packed_dev_get_base(&f->pdev, &pb);
		else
			vr_split_dev_get_base(&f->sdev, &sb);
		memset(&f->sdev, 0xa5, sizeof(f->sdev));
		memset(&f->pdev, 0xa5, sizeof(f->pdev));
		memset(f->dev_state, 0xa5, p ? vr_packed_dev_state_size(num)
					      : vr_split_dev_state_size(num));
		sn = snap(f);
		assert_int_equal(dev_attach(f, p ? (const void *)&pb : (const void *)&sb), 0);
		assert_rings_unchanged(f, sn);

		/* The driver still collects what the old device returned. */
		assert_int_equal(fx_get_used(f, &u), 0);
		assert_ptr_equal(u.cookie, (void *)101);
		/* The new device takes the third chain, and nothing twice. */
		assert_int_equal(pop(f, &c, iov, 2), 0);
		assert_ptr_equal(iov[0].base, fx_ptr(f, blk(2)));
		{
			struct vr_chain c2;
			struct vr_iov iov2[2];

			assert_int_equal(pop(f, &c2, iov2, 2), VR_EAGAIN);
		}
		assert_int_equal(fx_push(f, c.id, 0), 0);
		assert_int_equal(fx_get_used(f, &u), 0);
		assert_ptr_equal(u.cookie, (void *)102);
		expect_used(f, VR_EAGAIN);
		/* And the ring runs on over more laps. */
		run_msgs(f, 3 * num + 2, &seq);
		assert_int_equal(fx_dev_broken(f) | fx_drv_broken(f), 0);
		rm(f);
	}
}

/* The device died after taking two chains and returning one: attaching the
 * new one with its avail position at the used position makes it take the
 * unreturned chain again (what a vhost-user front end does on reconnect
 * when chains are returned in order). */
static void test_attach_device_reprocess(void **state)
{
	const uint32_t num = 8;
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, num, 0, 0);
		struct vr_split_base sb;
		struct vr_packed_base pb;
		struct vr_seg s;
		struct vr_iov iov[2];
		struct vr_chain c;
		struct vr_used_buf u;
		uint32_t seq = 0;
		unsigned i;

		run_msgs(f, 5, &seq);
		for (i = 0; i < 2; i++) {
			seg_set(&s, blk(i), 8);
			assert_true(fx_add(f, &s, 1, 0, (void *)(uintptr_t)(200 + i)) >= 0);
		}
		fx_publish(f);
		assert_int_equal(pop(f, &c, iov, 2), 0);
		assert_int_equal(fx_push(f, c.id, 0), 0);
		assert_int_equal(pop(f, &c, iov, 2), 0); /* never returned */
		if (p) {
			vr_packed_dev_get_base(&f->pdev, &pb);
			pb.avail_pos = pb.used_pos;
			pb.avail_wrap = pb.used_wrap;
		} else {
			vr_split_dev_get_base(&f->sdev, &sb);
			sb.avail_idx = sb.used_idx;
		}
		assert_int_equal(dev_attach(f, p ? (const void *)&pb : (const void *)&sb), 0);
		assert_int_equal(fx_get_used(f, &u), 0);
		assert_ptr_equal(u.cookie, (void *)200);
		assert_int_equal(pop(f, &c, iov, 2), 0);
		assert_ptr_equal(iov[0].base, fx_ptr(f, blk(1)));
		assert_int_equal(fx_push(f, c.id, 0), 0);
		assert_int_equal(fx_get_used(f, &u), 0);
		assert_ptr_equal(u.cookie, (void *)201);
		run_msgs(f, 2 * num + 3, &seq);
		rm(f);
	}
}

/* Both ends replaced on a drained ring at the indices they had: nothing in
 * shared memory changes, and the ring runs on, across the 16-bit index
 * wrap for split. */
static void test_attach_both_drained(void **state)
{
	const uint32_t num = 4;
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, num, VR_FEATURE(VR_F_EVENT_IDX), 0);
		struct vr_split_base sb, sd;
		struct vr_packed_base pb, pd;
		unsigned char *sn;
		uint32_t seq = 0;

		run_msgs(f, 2 * num + 3, &seq);
		if (p) {
			vr_packed_drv_get_base(&f->pdrv, &pb);
			vr_packed_dev_get_base(&f->pdev, &pd);
			assert_int_equal(pb.avail_pos, pd.avail_pos);
			assert_int_equal(pb.avail_wrap, pd.avail_wrap);
		} else {
			vr_split_drv_get_base(&f->sdrv, &sb);
			vr_split_dev_get_base(&f->sdev, &sd);
			assert_int_equal(sb.avail_idx, sd.avail_idx);
			assert_int_equal(sb.used_idx, sd.used_idx);
		}
		sn = snap(f);
		assert_int_equal(drv_attach(f, p ? (const void *)&pb : (const void *)&sb), 0);
		assert_int_equal(dev_attach(f, p ? (const void *)&pd : (const void *)&sd), 0);
		assert_rings_unchanged(f, sn);
		run_msgs(f, 3 * num, &seq);
		rm(f);
	}

	/* Split at indices about to wrap: a ring whose shared indices say
	 * 65533 (a long-running queue), attached by both ends. */
	{
		struct fx *f = mk(false, num, 0, 0);
		struct vr_split_base b = { 65533, 65533 };
		uint32_t seq = 0;

		((struct vr_avail *)f->sa.avail)->idx = vr__le16(65533);
		((struct vr_used *)f->sa.used)->idx = vr__le16(65533);
		assert_int_equal(drv_attach(f, &b), 0);
		assert_int_equal(dev_attach(f, &b), 0);
		run_msgs(f, 9, &seq);
		assert_int_equal(vr__le16(((struct vr_avail *)f->sa.avail)->idx), 65533 + 9 - 65536);
		rm(f);
	}
}

/* Bad attach arguments are the caller's mistake: VR_EINVAL, nothing
 * touched. A driver cannot attach with chains in flight (it would not know
 * their cookies); packed positions must lie in the ring. */
static void test_attach_errors(void **state)
{
	int p;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct fx *f = mk(p, 6 + (unsigned)(p ? 0 : 2), 0, 0);
		unsigned char *sn = snap(f);

		assert_int_equal(dev_attach(f, NULL), VR_EINVAL);
		assert_int_equal(drv_attach(f, NULL), VR_EINVAL);
		if (p) {
			struct vr_packed_base b = { 6, 0, true, true };

			assert_int_equal(dev_attach(f, &b), VR_EINVAL);
			b.avail_pos = 0;
			b.used_pos = 6;
			assert_int_equal(dev_attach(f, &b), VR_EINVAL);
			b.used_pos = 5;
			assert_int_equal(dev_attach(f, &b), 0);
			assert_int_equal(drv_attach(f, &b), VR_EINVAL);
			b.avail_pos = 5;
			b.used_wrap = false;
			assert_int_equal(drv_attach(f, &b), VR_EINVAL);
			b.used_wrap = true;
			assert_int_equal(drv_attach(f, &b), 0);
		} else {
			struct vr_split_base b = { 3, 2 };

			assert_int_equal(dev_attach(f, &b), 0);
			assert_int_equal(drv_attach(f, &b), VR_EINVAL);
			b.used_idx = 3;
			assert_int_equal(drv_attach(f, &b), 0);
		}
		assert_rings_unchanged(f, sn);
		rm(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_len_strict_by_default),
		cmocka_unit_test(test_zero_len_accepted_with_flag),
		cmocka_unit_test(test_zero_len_driver_cache_hooks),
		cmocka_unit_test(test_zero_len_loop_is_eloop),
		cmocka_unit_test(test_indirect_any_alignment),
		cmocka_unit_test(test_range_ending_at_2_64),
		cmocka_unit_test(test_areas_overlap_at_top),
		cmocka_unit_test(test_bound_used_id),
		cmocka_unit_test(test_bound_used_len),
		cmocka_unit_test(test_bound_used_idx),
		cmocka_unit_test(test_bound_head_and_buffer_id),
		cmocka_unit_test(test_bound_next),
		cmocka_unit_test(test_bound_avail_idx),
		cmocka_unit_test(test_bound_indirect_entries),
		cmocka_unit_test(test_bound_window_and_state),
		cmocka_unit_test(test_bound_packed_in_flight),
		cmocka_unit_test(test_attach_device_live),
		cmocka_unit_test(test_attach_device_reprocess),
		cmocka_unit_test(test_attach_both_drained),
		cmocka_unit_test(test_attach_errors),
	};

	return cmocka_run_group_tests_name("split_packed_edges", tests, NULL, NULL);
}
