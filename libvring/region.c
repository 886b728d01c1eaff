/* SPDX-License-Identifier: BSD-3-Clause */
/* The shared region: lay it out, and parse (read once, validate) a header
 * that the peer may have written. Layout in docs/REGION.md. */
#include <vring/region.h>

#include "internal.h"

/* ---- Little-endian field access at byte offsets ---------------------- */

/* Creator-side writes happen before the region is shared: plain stores of
 * bytes, so no alignment or endianness assumption is needed. */
static void put16(void *base, uint64_t off, uint16_t v)
{
	unsigned char *p = (unsigned char *)base + off;

	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(void *base, uint64_t off, uint32_t v)
{
	put16(base, off, (uint16_t)v);
	put16(base, off + 2, (uint16_t)(v >> 16));
}

static void put64(void *base, uint64_t off, uint64_t v)
{
	put32(base, off, (uint32_t)v);
	put32(base, off + 4, (uint32_t)(v >> 32));
}

/* Parser reads: the peer may be writing, so each field is one untorn atomic
 * access (relaxed: the parse result is validated as a whole, and nothing it
 * names is trusted before that). Offsets are aligned to the field's size. */
static uint16_t get16(const void *base, unsigned off)
{
	return vr__le16(vr__load16((const uint16_t *)(const void *)
				   ((const unsigned char *)base + off)));
}

static uint32_t get32(const void *base, unsigned off)
{
	return vr__le32(vr__load32((const uint32_t *)(const void *)
				   ((const unsigned char *)base + off)));
}

static uint64_t get64(const void *base, unsigned off)
{
	return (uint64_t)get32(base, off) | ((uint64_t)get32(base, off + 4) << 32);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* ---- Sizes of a queue's areas -------------------------------------------- */

static bool queue_size_ok(uint32_t format, uint32_t size)
{
	if (format == VR_FORMAT_SPLIT)
		return vr_split_size_valid(size);
	if (format == VR_FORMAT_PACKED)
		return vr_packed_size_valid(size);
	return false;
}

/*
 * Bytes and alignment of area @which (0 desc, 1 driver, 2 device) of a
 * queue of @size entries: bytes = per_entry * size + fixed (layout.h:
 * split desc 16 n, avail 6 + 2 n, used 6 + 8 n; packed desc 16 n, each
 * event area 4). One table for both formats.
 */
static const struct {
	uint8_t per_entry, fixed, align;
} area_table[2][3] = {
	{{16, 0, VR_DESC_ALIGN}, {2, 6, VR_AVAIL_ALIGN}, {8, 6, VR_USED_ALIGN}},
	{{16, 0, VR_DESC_ALIGN},
	 {0, sizeof(struct vr_packed_event), VR_EVENT_ALIGN},
	 {0, sizeof(struct vr_packed_event), VR_EVENT_ALIGN}},
};

static void area_shape(uint32_t format, uint32_t size, int which,
		       uint64_t *bytes, uint64_t *align)
{
	unsigned f = format == VR_FORMAT_PACKED;

	*align = area_table[f][which].align;
	/* size <= 32768 (queue_size_ok came first): the product fits 32
	 * bits, so no 64-bit multiply (a libgcc call on Cortex-M0+). */
	*bytes = (uint32_t)(area_table[f][which].per_entry * size) +
		 area_table[f][which].fixed;
}

static uint64_t *area_off(struct vr_region_queue *q, int which)
{
	return which == 0 ? &q->desc_off : which == 1 ? &q->driver_off
						      : &q->device_off;
}

/* ---- Layout --------------------------------------------------------------- */

/* Place every area and the pool; 0 on an invalid cfg. */
static uint64_t plan(const struct vr_region_cfg *cfg, struct vr_region_info *info)
{
	uint64_t off = VR_REGION_HEADER_BYTES;
	uint32_t i;
	int a;

	if (!cfg || cfg->queue_count == 0 ||
	    cfg->queue_count > VR_REGION_MAX_QUEUES || cfg->buf_bytes == 0 ||
	    cfg->buf_count == 0)
		return 0;
	vr__zero(info, sizeof(*info));
	info->version = VR_REGION_VERSION;
	info->queue_count = cfg->queue_count;
	info->device_features = cfg->device_features;
	for (i = 0; i < cfg->queue_count; i++) {
		struct vr_region_queue *q = &info->queue[i];

		q->size = cfg->queue[i].size;
		q->format = cfg->queue[i].format;
		if (!queue_size_ok(q->format, q->size))
			return 0;
		for (a = 0; a < 3; a++) {
			uint64_t bytes, align;

			area_shape(q->format, q->size, a, &bytes, &align);
			off = align_up(off, VR_REGION_ALIGN);
			*area_off(q, a) = off;
			off += bytes;
		}
	}
	info->stats_off = align_up(off, VR_REGION_ALIGN);
	off = info->stats_off + VR_REGION_STATS_BYTES(cfg->queue_count);
	info->pool_off = align_up(off, VR_REGION_ALIGN);
	info->buf_bytes = cfg->buf_bytes;
	info->buf_count = cfg->buf_count;
	info->pool_bytes = vr__mul32_wide(cfg->buf_bytes, cfg->buf_count);
	info->region_bytes = info->pool_off + info->pool_bytes;
	return info->region_bytes;
}

uint64_t vr_region_bytes(const struct vr_region_cfg *cfg)
{
	struct vr_region_info info;

	return plan(cfg, &info);
}

int vr_region_format(void *base, size_t len, const struct vr_region_cfg *cfg,
		     uint32_t generation, struct vr_region_info *out)
{
	struct vr_region_info info;
	uint64_t need;
	uint32_t i;

	if (!base)
		return VR_EINVAL;
	need = plan(cfg, &info);
	if (need == 0)
		return VR_EINVAL;
	if (!vr__aligned(base, VR_REGION_ALIGN))
		return VR_EALIGN;
	if (need > len)
		return VR_ERANGE;
	info.generation = generation;
	/* Nobody else uses the region while it is laid out. */
	vr__zero(base, (size_t)need);
	put16(base, VR_RH_VERSION, VR_REGION_VERSION);
	put16(base, VR_RH_HEADER_BYTES, VR_REGION_HEADER_BYTES);
	put32(base, VR_RH_QUEUE_COUNT, info.queue_count);
	put64(base, VR_RH_REGION_BYTES, info.region_bytes);
	put64(base, VR_RH_DEVICE_FEATURES, info.device_features);
	put64(base, VR_RH_DRIVER_FEATURES, 0);
	put32(base, VR_RH_GENERATION, generation);
	put64(base, VR_RH_POOL_OFF, info.pool_off);
	put64(base, VR_RH_POOL_BYTES, info.pool_bytes);
	put32(base, VR_RH_BUF_BYTES, info.buf_bytes);
	put32(base, VR_RH_BUF_COUNT, info.buf_count);
	put64(base, VR_RH_STATS_OFF, info.stats_off);
	for (i = 0; i < info.queue_count; i++) {
		uint64_t e = VR_REGION_QTABLE_OFF + (uint64_t)i * VR_REGION_QENTRY_BYTES;
		const struct vr_region_queue *q = &info.queue[i];

		put16(base, e + VR_RQ_SIZE, (uint16_t)q->size);
		put16(base, e + VR_RQ_FORMAT, (uint16_t)q->format);
		put32(base, e + VR_RQ_FLAGS, 0);
		put64(base, e + VR_RQ_DESC_OFF, q->desc_off);
		put64(base, e + VR_RQ_DRIVER_OFF, q->driver_off);
		put64(base, e + VR_RQ_DEVICE_OFF, q->device_off);
	}
	/* The magic goes last: a peer that opens a named region while it is
	 * being laid out sees no magic until everything else is there.
	 * Release, paired with the acquire load of the first magic word in
	 * vr_region_parse. */
	for (i = 4; i < 8; i++)
		((unsigned char *)base)[i] = (unsigned char)VR_REGION_MAGIC[i];
	vr__store32_release((uint32_t *)base,
			    vr__le32((uint32_t)(unsigned char)VR_REGION_MAGIC[0] |
				     (uint32_t)(unsigned char)VR_REGION_MAGIC[1] << 8 |
				     (uint32_t)(unsigned char)VR_REGION_MAGIC[2] << 16 |
				     (uint32_t)(unsigned char)VR_REGION_MAGIC[3] << 24));
	if (out)
		*out = info;
	return 0;
}

/* ---- Parse ---------------------------------------------------------------- */

/*
 * The areas a parse has placed so far (every queue's three, the pool, the
 * statistics area), to check them against each other. Each one was first
 * bounded by the region's size, which is at most the caller's mapping
 * length: from there on offsets and sizes are size_t, so a 32-bit MCU does
 * no 64-bit arithmetic, and no sum below can wrap.
 */
struct spans {
	size_t end; /* the region's size */
	unsigned n;
	size_t off[VR_REGION_MAX_QUEUES * 3 + 2], len[VR_REGION_MAX_QUEUES * 3 + 2];
};

/* Record area [off, off + bytes) if it lies inside [VR_REGION_HEADER_BYTES,
 * sp->end), aligned to @align (a power of two), clear of every area recorded
 * before; false if not. One check for every area of the region. */
static bool place(struct spans *sp, uint64_t off, uint64_t bytes,
		  unsigned align)
{
	unsigned i;

	if (off < VR_REGION_HEADER_BYTES || off > sp->end || bytes > sp->end - off ||
	    ((size_t)off & (align - 1)) != 0)
		return false;
	for (i = 0; i < sp->n; i++)
		if (!((size_t)off + (size_t)bytes <= sp->off[i] ||
		      sp->off[i] + sp->len[i] <= (size_t)off))
			return false;
	sp->off[sp->n] = (size_t)off;
	sp->len[sp->n] = (size_t)bytes;
	sp->n++;
	return true;
}

/* The magic as the two little-endian words it is stored as. */
static uint32_t magic_word(unsigned i)
{
	static const char magic[8] = VR_REGION_MAGIC;

	return (uint32_t)(unsigned char)magic[i] |
	       (uint32_t)(unsigned char)magic[i + 1] << 8 |
	       (uint32_t)(unsigned char)magic[i + 2] << 16 |
	       (uint32_t)(unsigned char)magic[i + 3] << 24;
}

/* The checks after the magic, on a copy of the header: VR_ETRUNC,
 * VR_EVERSION or VR_EREGION. */
static int parse_header(const void *base, size_t len, struct vr_region_info *info,
			struct spans *sp)
{
	uint32_t i;
	int a;

	info->version = get16(base, VR_RH_VERSION);
	if (info->version != VR_REGION_VERSION)
		return VR_EVERSION;
	if (get16(base, VR_RH_HEADER_BYTES) != VR_REGION_HEADER_BYTES)
		return VR_EREGION;
	info->region_bytes = get64(base, VR_RH_REGION_BYTES);
	if (info->region_bytes > len)
		return VR_ETRUNC;
	sp->end = (size_t)info->region_bytes; /* <= len: a size_t */
	info->queue_count = get32(base, VR_RH_QUEUE_COUNT);
	info->generation = get32(base, VR_RH_GENERATION);
	info->device_features = get64(base, VR_RH_DEVICE_FEATURES);
	info->pool_off = get64(base, VR_RH_POOL_OFF);
	info->pool_bytes = get64(base, VR_RH_POOL_BYTES);
	info->buf_bytes = get32(base, VR_RH_BUF_BYTES);
	info->buf_count = get32(base, VR_RH_BUF_COUNT);
	info->stats_off = get64(base, VR_RH_STATS_OFF);
	if (info->region_bytes < VR_REGION_HEADER_BYTES ||
	    info->queue_count == 0 || info->queue_count > VR_REGION_MAX_QUEUES)
		return VR_EREGION;
	for (i = 0; i < info->queue_count; i++) {
		unsigned e = VR_REGION_QTABLE_OFF + i * VR_REGION_QENTRY_BYTES;
		struct vr_region_queue *q = &info->queue[i];

		q->size = get16(base, e + VR_RQ_SIZE);
		q->format = get16(base, e + VR_RQ_FORMAT);
		if (!queue_size_ok(q->format, q->size))
			return VR_EREGION;
		/* The three offsets follow each other in the entry (desc,
		 * driver, device), in the order of area_shape's areas. */
		VR_STATIC_ASSERT(VR_RQ_DRIVER_OFF == VR_RQ_DESC_OFF + 8 &&
					 VR_RQ_DEVICE_OFF == VR_RQ_DESC_OFF + 16,
				 "queue entry offsets are consecutive");
		for (a = 0; a < 3; a++) {
			uint64_t bytes, align, *off = area_off(q, a);

			*off = get64(base, e + VR_RQ_DESC_OFF + 8 * (unsigned)a);
			area_shape(q->format, q->size, a, &bytes, &align);
			if (!place(sp, *off, bytes, (unsigned)align))
				return VR_EREGION;
		}
	}
	if (info->buf_bytes == 0 || info->buf_count == 0 ||
	    vr__mul32_wide(info->buf_bytes, info->buf_count) > info->pool_bytes ||
	    !place(sp, info->pool_off, info->pool_bytes, 1))
		return VR_EREGION;
	if (info->stats_off != 0 &&
	    !place(sp, info->stats_off, VR_REGION_STATS_BYTES(info->queue_count),
		   VR_REGION_ALIGN))
		return VR_EREGION;
	return 0;
}

int vr_region_parse(const void *base, size_t len, struct vr_region_info *out)
{
	struct vr_region_info info;
	struct spans sp;
	int err;

	if (!base || !out)
		return VR_EINVAL;
	if (!vr__aligned(base, VR_REGION_ALIGN))
		return VR_EALIGN;
	if (len < VR_REGION_HEADER_BYTES)
		return VR_ETRUNC;
	/* Acquire on the first word: pairs with the release that
	 * vr_region_format stores it with, after the rest. */
	if (vr__le32(vr__load32_acquire((const uint32_t *)base)) != magic_word(0) ||
	    get32(base, 4) != magic_word(4))
		return VR_EMAGIC;
	vr__zero(&info, sizeof(info));
	sp.n = 0;
	err = parse_header(base, len, &info, &sp);
	if (err)
		return err;
	*out = info;
	return 0;
}

/* ---- Views ------------------------------------------------------------------ */

int vr_region_split_areas(void *base, const struct vr_region_info *info,
			  uint32_t q, struct vr_split_areas *areas)
{
	unsigned char *b = (unsigned char *)base;

	if (!base || !info || !areas || q >= info->queue_count ||
	    info->queue[q].format != VR_FORMAT_SPLIT)
		return VR_EINVAL;
	areas->desc = b + info->queue[q].desc_off;
	areas->avail = b + info->queue[q].driver_off;
	areas->used = b + info->queue[q].device_off;
	return 0;
}

int vr_region_packed_areas(void *base, const struct vr_region_info *info,
			   uint32_t q, struct vr_packed_areas *areas)
{
	unsigned char *b = (unsigned char *)base;

	if (!base || !info || !areas || q >= info->queue_count ||
	    info->queue[q].format != VR_FORMAT_PACKED)
		return VR_EINVAL;
	areas->desc = b + info->queue[q].desc_off;
	areas->driver_event = b + info->queue[q].driver_off;
	areas->device_event = b + info->queue[q].device_off;
	return 0;
}

uint64_t vr_region_load_features(void *base, enum vr_region_field field)
{
	/* Acquire on the low half, stored last with release by the writer. */
	uint32_t lo = vr_region_load(base, field);
	uint32_t hi = vr__le32(vr__load32(vr__region_u32(base, (unsigned)field + 4)));

	return ((uint64_t)hi << 32) | lo;
}

void vr_region_store_features(void *base, enum vr_region_field field,
			      uint64_t v)
{
	/* Relaxed high half, then the low half with release: a reader that
	 * acquires the new low half sees the new high half. */
	vr__store32(vr__region_u32(base, (unsigned)field + 4), vr__le32((uint32_t)(v >> 32)));
	vr_region_store(base, field, (uint32_t)v);
}
