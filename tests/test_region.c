/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The region header: layout by vr_region_format, and vr_region_parse
 * refusing every kind of inconsistent header with its own code (docs/REGION.md
 * section 3), never reading outside the mapping. Runs under ASan in
 * scripts/test.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vring/vring.h>

static void put16(void *b, size_t off, uint16_t v)
{
	unsigned char *p = (unsigned char *)b + off;

	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(void *b, size_t off, uint32_t v)
{
	put16(b, off, (uint16_t)v);
	put16(b, off + 2, (uint16_t)(v >> 16));
}

static void put64(void *b, size_t off, uint64_t v)
{
	put32(b, off, (uint32_t)v);
	put32(b, off + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const void *b, size_t off)
{
	const unsigned char *p = (const unsigned char *)b + off;
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

struct reg {
	unsigned char *base;
	size_t len;
	struct vr_region_info info;
};

/* A channel-like region: split TX, split RX (or packed), pool. Mapped
 * length is exactly region_bytes, so any overrun is an ASan report. */
static void make(struct reg *r, uint32_t format, uint32_t size)
{
	struct vr_region_cfg cfg;
	uint64_t n;

	memset(&cfg, 0, sizeof(cfg));
	cfg.queue_count = 2;
	cfg.queue[0].size = cfg.queue[1].size = size;
	cfg.queue[0].format = cfg.queue[1].format = format;
	cfg.buf_bytes = 256;
	cfg.buf_count = 8;
	cfg.device_features = VR_FEATURE(VR_F_EVENT_IDX);
	n = vr_region_bytes(&cfg);
	assert_true(n > 4096);
	r->len = (size_t)n;
	r->base = aligned_alloc(64, (r->len + 63) & ~(size_t)63);
	assert_non_null(r->base);
	assert_int_equal(vr_region_format(r->base, r->len, &cfg, 7, &r->info), 0);
}

static void test_format_parse_roundtrip(void **s)
{
	struct reg r;
	struct vr_region_info p;
	uint32_t fmt;

	(void)s;
	for (fmt = 0; fmt < 2; fmt++) {
		make(&r, fmt, fmt ? 100 : 128);
		assert_int_equal(vr_region_parse(r.base, r.len, &p), 0);
		assert_memory_equal(&p, &r.info, sizeof(p));
		assert_memory_equal(r.base, "LIBVRING", 8);
		assert_int_equal(p.generation, 7);
		assert_int_equal(p.queue_count, 2);
		assert_int_equal(p.buf_bytes, 256);
		assert_int_equal(p.region_bytes, r.len);
		assert_true(p.pool_off % VR_REGION_ALIGN == 0);
		assert_int_equal(p.device_features, VR_FEATURE(VR_F_EVENT_IDX));
		assert_int_equal(vr_region_load(r.base, VR_RH_GENERATION), 7);
		vr_region_store_features(r.base, VR_RH_DRIVER_FEATURES, 0x123456789abcull);
		assert_int_equal(vr_region_load_features(r.base, VR_RH_DRIVER_FEATURES),
				 0x123456789abcull);
		/* Areas usable by the ring code. */
		if (fmt) {
			struct vr_packed_areas a;
			assert_int_equal(vr_region_packed_areas(r.base, &p, 1, &a), 0);
			assert_ptr_equal(a.desc, r.base + p.queue[1].desc_off);
			assert_int_equal(vr_region_split_areas(r.base, &p, 1, NULL), VR_EINVAL);
		} else {
			struct vr_split_areas a;
			assert_int_equal(vr_region_split_areas(r.base, &p, 0, &a), 0);
			assert_ptr_equal(a.used, r.base + p.queue[0].device_off);
			assert_int_equal(vr_region_split_areas(r.base, &p, 2, &a), VR_EINVAL);
		}
		free(r.base);
	}
}

static void test_format_errors(void **s)
{
	struct vr_region_cfg cfg;
	unsigned char *b = aligned_alloc(64, 1 << 16);

	(void)s;
	memset(&cfg, 0, sizeof(cfg));
	cfg.queue_count = 1;
	cfg.queue[0].size = 3; /* not a power of two: split refuses */
	cfg.buf_bytes = 16;
	cfg.buf_count = 1;
	assert_int_equal(vr_region_bytes(&cfg), 0);
	assert_int_equal(vr_region_format(b, 1 << 16, &cfg, 0, NULL), VR_EINVAL);
	cfg.queue[0].format = VR_FORMAT_PACKED; /* fine for packed */
	assert_true(vr_region_bytes(&cfg) > 0);
	assert_int_equal(vr_region_format(b + 8, 1 << 16, &cfg, 0, NULL), VR_EALIGN);
	assert_int_equal(vr_region_format(b, 4096, &cfg, 0, NULL), VR_ERANGE);
	cfg.queue_count = 0;
	assert_int_equal(vr_region_format(b, 1 << 16, &cfg, 0, NULL), VR_EINVAL);
	cfg.queue_count = VR_REGION_MAX_QUEUES + 1;
	assert_int_equal(vr_region_format(b, 1 << 16, &cfg, 0, NULL), VR_EINVAL);
	free(b);
}

/* Corrupt a fresh region with @how and expect @code from the parser. */
static void expect(void (*how)(struct reg *), int code)
{
	struct reg r;
	struct vr_region_info p;
	int rc;

	make(&r, VR_FORMAT_SPLIT, 64);
	how(&r);
	memset(&p, 0xa5, sizeof(p));
	rc = vr_region_parse(r.base, r.len, &p);
	assert_int_equal(rc, code);
	free(r.base);
}

static void bad_magic(struct reg *r) { r->base[3] ^= 0x20; }
static void bad_version(struct reg *r) { put16(r->base, VR_RH_VERSION, 2); }
static void bad_header_bytes(struct reg *r) { put16(r->base, VR_RH_HEADER_BYTES, 512); }
static void truncated(struct reg *r) { r->len -= 1; }
static void shorter_than_header(struct reg *r) { r->len = 4095; }
static void region_bytes_small(struct reg *r) { put64(r->base, VR_RH_REGION_BYTES, 100); }
static void no_queues(struct reg *r) { put32(r->base, VR_RH_QUEUE_COUNT, 0); }
static void too_many_queues(struct reg *r) { put32(r->base, VR_RH_QUEUE_COUNT, 65); }
static void queue_count_lies(struct reg *r)
{
	/* Says 3 queues: entry 2 is zero, so its areas sit in the header. */
	put32(r->base, VR_RH_QUEUE_COUNT, 3);
}
static void size_not_pow2(struct reg *r) { put16(r->base, 256 + VR_RQ_SIZE, 48); }
static void size_zero(struct reg *r) { put16(r->base, 256 + VR_RQ_SIZE, 0); }
static void size_lies(struct reg *r)
{
	/* A larger queue than was laid out: its used ring runs into the next
	 * queue's areas. */
	put16(r->base, 256 + VR_RQ_SIZE, 1024);
}
static void size_lies_last(struct reg *r)
{
	/* The last queue claims 32768 entries: beyond the region. */
	put16(r->base, 256 + 32 + VR_RQ_SIZE, 32768);
}
static void bad_format(struct reg *r) { put16(r->base, 256 + VR_RQ_FORMAT, 9); }
static void desc_outside(struct reg *r)
{
	put64(r->base, 256 + VR_RQ_DESC_OFF, get64(r->base, VR_RH_REGION_BYTES) - 16);
}
static void desc_in_header(struct reg *r) { put64(r->base, 256 + VR_RQ_DESC_OFF, 1024); }
static void desc_huge(struct reg *r) { put64(r->base, 256 + VR_RQ_DESC_OFF, UINT64_MAX - 8); }
static void used_misaligned(struct reg *r)
{
	put64(r->base, 256 + VR_RQ_DEVICE_OFF, get64(r->base, 256 + VR_RQ_DEVICE_OFF) + 2);
}
static void areas_overlap(struct reg *r)
{
	/* Queue 1's descriptor table on top of queue 0's. */
	put64(r->base, 256 + 32 + VR_RQ_DESC_OFF, get64(r->base, 256 + VR_RQ_DESC_OFF));
}
static void pool_over_rings(struct reg *r)
{
	put64(r->base, VR_RH_POOL_OFF, get64(r->base, 256 + VR_RQ_DESC_OFF));
}
static void pool_outside(struct reg *r)
{
	put64(r->base, VR_RH_POOL_BYTES, get64(r->base, VR_RH_POOL_BYTES) + 64);
}
static void pool_buffers_overflow(struct reg *r)
{
	put32(r->base, VR_RH_BUF_BYTES, 0x80000000u);
	put32(r->base, VR_RH_BUF_COUNT, 0x80000000u);
}
static void zero_buffers(struct reg *r) { put32(r->base, VR_RH_BUF_COUNT, 0); }
static void stats_misaligned(struct reg *r)
{
	put64(r->base, VR_RH_STATS_OFF, get64(r->base, VR_RH_STATS_OFF) + 4);
}
static void stats_in_header(struct reg *r) { put64(r->base, VR_RH_STATS_OFF, 2048); }
static void stats_over_pool(struct reg *r)
{
	put64(r->base, VR_RH_STATS_OFF, get64(r->base, VR_RH_POOL_OFF));
}
static void stats_over_rings(struct reg *r)
{
	put64(r->base, VR_RH_STATS_OFF, get64(r->base, 256 + VR_RQ_DESC_OFF));
}
static void stats_past_end(struct reg *r)
{
	/* Aligned, starts inside, ends one record past the region. */
	put64(r->base, VR_RH_STATS_OFF,
	      (r->len - 64) & ~(uint64_t)63);
}
static void stats_huge(struct reg *r) { put64(r->base, VR_RH_STATS_OFF, UINT64_MAX - 63); }

static void test_bad_headers(void **s)
{
	(void)s;
	expect(bad_magic, VR_EMAGIC);
	expect(bad_version, VR_EVERSION);
	expect(bad_header_bytes, VR_EREGION);
	expect(truncated, VR_ETRUNC);
	expect(shorter_than_header, VR_ETRUNC);
	expect(region_bytes_small, VR_EREGION);
	expect(no_queues, VR_EREGION);
	expect(too_many_queues, VR_EREGION);
	expect(queue_count_lies, VR_EREGION);
	expect(size_not_pow2, VR_EREGION);
	expect(size_zero, VR_EREGION);
	expect(size_lies, VR_EREGION);
	expect(size_lies_last, VR_EREGION);
	expect(bad_format, VR_EREGION);
	expect(desc_outside, VR_EREGION);
	expect(desc_in_header, VR_EREGION);
	expect(desc_huge, VR_EREGION);
	expect(used_misaligned, VR_EREGION);
	expect(areas_overlap, VR_EREGION);
	expect(pool_over_rings, VR_EREGION);
	expect(pool_outside, VR_EREGION);
	expect(pool_buffers_overflow, VR_EREGION);
	expect(zero_buffers, VR_EREGION);
	expect(stats_misaligned, VR_EREGION);
	expect(stats_in_header, VR_EREGION);
	expect(stats_over_pool, VR_EREGION);
	expect(stats_over_rings, VR_EREGION);
	expect(stats_past_end, VR_EREGION);
	expect(stats_huge, VR_EREGION);
}

/* The statistics area: laid out between the rings and the pool, one
 * record per queue and side; optional for other creators. */
static void test_stats_area(void **s)
{
	struct reg r;
	struct vr_region_info info;
	uint32_t *drv, *dev;

	(void)s;
	make(&r, VR_FORMAT_SPLIT, 64);
	assert_int_not_equal(r.info.stats_off, 0);
	assert_int_equal(r.info.stats_off % 64, 0);
	assert_true(r.info.stats_off >= r.info.queue[1].device_off);
	assert_true(r.info.stats_off + VR_REGION_STATS_BYTES(2) <= r.info.pool_off);
	assert_int_equal(get64(r.base, VR_RH_STATS_OFF), r.info.stats_off);
	drv = vr_region_stats(r.base, &r.info, 1, VR_ROLE_DRIVER);
	dev = vr_region_stats(r.base, &r.info, 1, VR_ROLE_DEVICE);
	assert_ptr_equal(drv, r.base + r.info.stats_off + 128);
	assert_ptr_equal(dev, r.base + r.info.stats_off + 192);
	assert_null(vr_region_stats(r.base, &r.info, 2, VR_ROLE_DRIVER));
	assert_null(vr_region_stats(r.base, &r.info, 0, 3));
	vr_region_stat_store(dev, VR_RS_NOTIFIES, 0xdeadbeefu);
	assert_int_equal(vr_region_stat_load(dev, VR_RS_NOTIFIES), 0xdeadbeefu);
	assert_int_equal(r.base[r.info.stats_off + 192 + 8], 0xef); /* LE */
	/* A region without statistics (another creator) parses; no records. */
	put64(r.base, VR_RH_STATS_OFF, 0);
	assert_int_equal(vr_region_parse(r.base, r.len, &info), 0);
	assert_int_equal(info.stats_off, 0);
	assert_null(vr_region_stats(r.base, &info, 0, VR_ROLE_DRIVER));
	free(r.base);
}

static void test_parse_args(void **s)
{
	struct reg r;
	struct vr_region_info p;

	(void)s;
	make(&r, VR_FORMAT_PACKED, 7);
	assert_int_equal(vr_region_parse(NULL, r.len, &p), VR_EINVAL);
	assert_int_equal(vr_region_parse(r.base, r.len, NULL), VR_EINVAL);
	assert_int_equal(vr_region_parse(r.base + 4, r.len - 4, &p), VR_EALIGN);
	free(r.base);
}

/* Seeded random corruption of header bytes: the parser answers 0 or a
 * documented code, and on 0 everything it names lies inside the mapping. */
static void test_random_headers(void **s)
{
	uint64_t x = 0x243f6a8885a308d3ull;
	unsigned round, ok = 0, refused = 0;

	(void)s;
	for (round = 0; round < 20000; round++) {
		struct reg r;
		struct vr_region_info p;
		unsigned k, flips;
		int rc;

		make(&r, round & 1 ? VR_FORMAT_PACKED : VR_FORMAT_SPLIT, round & 1 ? 13 : 16);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		flips = 1 + (unsigned)(x % 4);
		for (k = 0; k < flips; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* bias towards the fields that matter */
			r.base[(x >> 8) % (x & 1 ? 96 : 320)] ^= (unsigned char)(1u << ((x >> 3) & 7));
		}
		rc = vr_region_parse(r.base, r.len, &p);
		if (rc == 0) {
			uint32_t q;

			ok++;
			assert_true(p.region_bytes <= r.len);
			assert_true(p.pool_off + p.pool_bytes <= p.region_bytes);
			for (q = 0; q < p.queue_count; q++) {
				assert_true(p.queue[q].desc_off + 16ull * p.queue[q].size <= p.region_bytes);
				assert_true(p.queue[q].driver_off >= 4096 && p.queue[q].device_off >= 4096);
			}
		} else {
			refused++;
			assert_true(rc == VR_EMAGIC || rc == VR_EVERSION || rc == VR_EREGION ||
				    rc == VR_ETRUNC);
		}
		free(r.base);
	}
	assert_true(ok > 0 && refused > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse_roundtrip),
		cmocka_unit_test(test_format_errors),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_parse_args),
		cmocka_unit_test(test_stats_area),
		cmocka_unit_test(test_random_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
