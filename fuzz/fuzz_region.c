/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_region: the fuzzer's bytes are a region as a peer left it (header
 * page, queue table, rings, pool), mapped with several lengths: the input's
 * own, shorter ones, and the header alone. vr_region_parse must refuse it
 * with a documented code or accept a header whose every area, pool and
 * statistics area (when present) lie inside the mapping, inside the
 * region, outside the header page, aligned and pairwise disjoint. An
 * accepted region's queues are then brought up on the device side (init,
 * one pop) over a window on the pool.
 *
 * Input: byte 0 picks how the mapped length is shortened; the rest is the
 * region from offset 0. The mapping is zero-filled up to the larger of the
 * input, the header page and the header's own region_bytes (up to 64 KiB),
 * so that an input need only hold the header and queue table.
 */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RG_MAX (64u * 1024u)

static void check_area(uint64_t off, uint64_t bytes, uint64_t align,
		       const struct vr_region_info *info, size_t len)
{
	FZ_CHECK(off >= VR_REGION_HEADER_BYTES);
	FZ_CHECK(off <= info->region_bytes && bytes <= info->region_bytes - off);
	FZ_CHECK(info->region_bytes <= len);
	FZ_CHECK((off & (align - 1)) == 0);
}

static int disjoint(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a + alen <= b || b + blen <= a;
}

static void bring_up(unsigned char *base, const struct vr_region_info *info,
		     uint32_t qi)
{
	static uint64_t state[8192];
	static struct vr_iov iov[8];
	const struct vr_region_queue *rq = &info->queue[qi];
	struct vr_queue_cfg cfg;
	struct vr_chain c;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.num = rq->size;
	cfg.features = VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_INDIRECT_DESC);
	cfg.mem = vr_region_pool_window(base, info);
	memset(&c, 0, sizeof(c));
	c.iov = iov;
	c.iov_cap = 8;
	if (rq->format == VR_FORMAT_SPLIT) {
		struct vr_split_areas a;
		struct vr_split_dev q;

		FZ_CHECK(vr_region_split_areas(base, info, qi, &a) == 0);
		if (vr_split_dev_state_size(rq->size) > sizeof(state))
			return;
		cfg.features |= VR_FEATURE(VR_F_EVENT_IDX);
		rc = vr_split_dev_init(&q, &cfg, &a, state, sizeof(state));
		FZ_CHECK_RC(rc == 0, rc);
		rc = vr_split_dev_pop(&q, &c);
		FZ_CHECK_RC(rc == 0 || rc == VR_EAGAIN || rc == VR_E2BIG ||
				    fz_is_proto(rc),
			    rc);
		if (rc == 0)
			fz_check_chain(&c, rq->size, base + info->pool_off,
				       base + info->pool_off + info->pool_bytes, 1);
	} else {
		struct vr_packed_areas a;
		struct vr_packed_dev q;

		FZ_CHECK(rq->format == VR_FORMAT_PACKED);
		FZ_CHECK(vr_region_packed_areas(base, info, qi, &a) == 0);
		if (vr_packed_dev_state_size(rq->size) > sizeof(state))
			return;
		rc = vr_packed_dev_init(&q, &cfg, &a, state, sizeof(state));
		FZ_CHECK_RC(rc == 0, rc);
		rc = vr_packed_dev_pop(&q, &c);
		FZ_CHECK_RC(rc == 0 || rc == VR_EAGAIN || rc == VR_E2BIG ||
				    fz_is_proto(rc),
			    rc);
		if (rc == 0)
			fz_check_chain(&c, rq->size, base + info->pool_off,
				       base + info->pool_off + info->pool_bytes, 1);
	}
}

static void parse_one(unsigned char *base, size_t len)
{
	struct vr_region_info info;
	uint64_t off[VR_REGION_MAX_QUEUES * 3 + 2], bytes[VR_REGION_MAX_QUEUES * 3 + 2];
	unsigned n = 0, i, j;
	int rc;

	rc = vr_region_parse(base, len, &info);
	FZ_CHECK_RC(rc == 0 || rc == VR_ETRUNC || rc == VR_EMAGIC ||
			    rc == VR_EVERSION || rc == VR_EREGION,
		    rc);
	if (rc != 0)
		return;
	FZ_CHECK(info.region_bytes >= VR_REGION_HEADER_BYTES && info.region_bytes <= len);
	FZ_CHECK(info.queue_count >= 1 && info.queue_count <= VR_REGION_MAX_QUEUES);
	FZ_CHECK(info.version == VR_REGION_VERSION);
	for (i = 0; i < info.queue_count; i++) {
		const struct vr_region_queue *q = &info.queue[i];
		int split = q->format == VR_FORMAT_SPLIT;

		FZ_CHECK(split || q->format == VR_FORMAT_PACKED);
		FZ_CHECK(split ? vr_split_size_valid(q->size) : vr_packed_size_valid(q->size));
		off[n] = q->desc_off;
		bytes[n] = split ? vr_split_desc_bytes(q->size) : vr_packed_desc_bytes(q->size);
		check_area(off[n], bytes[n], VR_DESC_ALIGN, &info, len);
		n++;
		off[n] = q->driver_off;
		bytes[n] = split ? vr_split_avail_bytes(q->size) : sizeof(struct vr_packed_event);
		check_area(off[n], bytes[n], split ? VR_AVAIL_ALIGN : VR_EVENT_ALIGN, &info, len);
		n++;
		off[n] = q->device_off;
		bytes[n] = split ? vr_split_used_bytes(q->size) : sizeof(struct vr_packed_event);
		check_area(off[n], bytes[n], split ? VR_USED_ALIGN : VR_EVENT_ALIGN, &info, len);
		n++;
	}
	FZ_CHECK(info.buf_bytes > 0 && info.buf_count > 0);
	FZ_CHECK((uint64_t)info.buf_bytes * info.buf_count <= info.pool_bytes);
	off[n] = info.pool_off;
	bytes[n] = info.pool_bytes;
	check_area(off[n], bytes[n], 1, &info, len);
	n++;
	if (info.stats_off != 0) {
		off[n] = info.stats_off;
		bytes[n] = VR_REGION_STATS_BYTES(info.queue_count);
		check_area(off[n], bytes[n], VR_REGION_ALIGN, &info, len);
		FZ_CHECK(vr_region_stats(base, &info, info.queue_count - 1, VR_ROLE_DEVICE) ==
			 (uint32_t *)(void *)(base + info.stats_off +
					      VR_REGION_STATS_BYTES(info.queue_count) -
					      VR_REGION_STATS_RECORD_BYTES));
		n++;
	} else {
		FZ_CHECK(vr_region_stats(base, &info, 0, VR_ROLE_DRIVER) == NULL);
	}
	/* The features word read atomically is the one parsed. */
	FZ_CHECK(vr_region_load_features(base, VR_RH_DEVICE_FEATURES) ==
		 info.device_features);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			FZ_CHECK(disjoint(off[i], bytes[i], off[j], bytes[j]));
	/* Every pool buffer address is inside the pool window. */
	FZ_CHECK(vr_region_buf_addr(&info, info.buf_count - 1) + info.buf_bytes <=
		 info.pool_off + info.pool_bytes);
	for (i = 0; i < info.queue_count && i < 4; i++)
		bring_up(base, &info, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len, lens[4];
	unsigned k;

	if (size < 1)
		return 0;
	len = size - 1;
	if (size >= 1 + VR_RH_REGION_BYTES + 8) {
		uint64_t rb = 0;
		int b;

		for (b = 7; b >= 0; b--)
			rb = rb << 8 | data[1 + VR_RH_REGION_BYTES + b];
		if (rb > len && rb <= RG_MAX)
			len = (size_t)rb;
	}
	if (len > RG_MAX)
		len = RG_MAX;
	if (len < VR_REGION_HEADER_BYTES)
		len = VR_REGION_HEADER_BYTES;
	lens[0] = len;
	lens[1] = len - (data[0] % 64u) * 64u > VR_REGION_HEADER_BYTES
			  ? len - (data[0] % 64u) * 64u : VR_REGION_HEADER_BYTES;
	lens[2] = len - 1;
	lens[3] = VR_REGION_HEADER_BYTES;
	for (k = 0; k < 4; k++) {
		/* A mapping of exactly lens[k] bytes, so that ASan sees a
		 * read past it; fresh each time (bring_up writes rings). */
		void *buf = NULL;

		FZ_CHECK(posix_memalign(&buf, 64, lens[k]) == 0);
		memset(buf, 0, lens[k]);
		memcpy(buf, data + 1, size - 1 < lens[k] ? size - 1 : lens[k]);
		parse_one((unsigned char *)buf, lens[k]);
		free(buf);
	}
	return 0;
}
