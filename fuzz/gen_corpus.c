/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed corpus generator: gen_corpus DIR writes DIR/<target>/seed-* for the
 * five targets. Ring seeds are built with the library's own driver API
 * over the arena layout of fuzz_common.h (so they start from valid rings
 * with every feature combination; indirect tables at the start of the pool,
 * buffers after them), then some are bent into the edge cases
 * of /work/shared/hostile-inputs.md: a chain of exactly the queue size,
 * loops, nested and malformed indirect tables, readable after writable,
 * zero lengths, wrapping addresses, jumps of the avail index, ids out of
 * range. Region seeds come from vr_region_format(). Handshake seeds
 * (VR_FUZZ_SHM, Linux) are the messages the shm transport's own builders
 * make for regions from vr_region_format(), then bent one field at a time.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "fuzz_common.h"

#ifdef VR_FUZZ_SHM
#include "handshake.h"
#endif

static const char *out_dir;
static unsigned char arena_buf[FZ_ARENA] __attribute__((aligned(4096)));
static uint64_t drv_state[1024];

static void write_file(const char *target, const char *name,
		       const unsigned char *p, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0777) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* header + ops + memory (trailing zeros trimmed) */
static void emit(const char *target, const char *name, const struct fz_hdr *h,
		 const struct fz_op *ops, unsigned nops,
		 const unsigned char *mem, size_t mem_len)
{
	static unsigned char buf[FZ_HDR_BYTES + 4 * FZ_MAX_OPS + FZ_ARENA];
	struct fz_hdr hh = *h;
	size_t n = 0;

	while (mem_len > 0 && mem[mem_len - 1] == 0)
		mem_len--;
	hh.nops = (uint8_t)nops;
	memcpy(buf, &hh, FZ_HDR_BYTES);
	n = FZ_HDR_BYTES;
	memcpy(buf + n, ops, 4 * nops);
	n += 4 * nops;
	memcpy(buf + n, mem, mem_len);
	n += mem_len;
	write_file(target, name, buf, n);
}

/* ---- Rings built by the driver API -------------------------------------- */

enum shape {
	SH_SIMPLE,   /* a few short chains */
	SH_FULL,     /* one chain of exactly num descriptors */
	SH_INDIRECT, /* indirect chains (when negotiated) */
	SH_MIXED     /* direct and indirect, readable and writable */
};

static uint64_t pool_addr(unsigned k)
{
	return FZ_BUS + FZ_POOL_OFF + 1024u + 128u * (k % 48u);
}

/* Build rings of @num with the driver of @packed; returns chains added. */
static unsigned build(bool packed, uint32_t num, uint8_t flags, enum shape sh)
{
	struct fz_hdr h;
	struct vr_queue_cfg cfg;
	struct vr_seg seg[64];
	unsigned added = 0, k, i, chains;
	struct vr_split_drv sq;
	struct vr_packed_drv pq;
	int rc;

	memset(&h, 0, sizeof(h));
	h.flags = flags;
	memset(arena_buf, 0, sizeof(arena_buf));
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = fz_features(&h, packed);
	cfg.mem = vr_mem_window(arena_buf, FZ_BUS, FZ_ARENA);
	if (packed) {
		struct vr_packed_areas a = {arena_buf + FZ_DESC_OFF,
					    arena_buf + FZ_DRIVER_OFF,
					    arena_buf + FZ_DEVICE_EV_OFF};
		rc = vr_packed_drv_init(&pq, &cfg, &a, drv_state, sizeof(drv_state));
	} else {
		struct vr_split_areas a = {arena_buf + FZ_DESC_OFF,
					   arena_buf + FZ_DRIVER_OFF,
					   arena_buf + FZ_USED_OFF};
		rc = vr_split_drv_init(&sq, &cfg, &a, drv_state, sizeof(drv_state));
	}
	FZ_CHECK_RC(rc == 0, rc);
	chains = sh == SH_FULL ? 1 : (num < 6 ? num : 6);
	for (k = 0; k < chains; k++) {
		unsigned n = sh == SH_FULL ? num : (k % 3) + 1;
		unsigned n_out = sh == SH_FULL ? num / 2 : (k % 2 ? n - 1 : n);
		bool ind = (flags & FZ_F_INDIRECT) &&
			   (sh == SH_INDIRECT || (sh == SH_MIXED && k % 2));

		for (i = 0; i < n; i++) {
			seg[i].addr = pool_addr(k * 4 + i);
			seg[i].len = 16u + 8u * i;
		}
		if (ind) {
			uint64_t off = FZ_POOL_OFF + 64u * k;

			rc = packed ? vr_packed_drv_add_indirect(
					      &pq, seg, n_out, n - n_out,
					      (struct vr_packed_desc *)(void *)(arena_buf + off),
					      FZ_BUS + off, NULL)
				    : vr_split_drv_add_indirect(
					      &sq, seg, n_out, n - n_out,
					      (struct vr_desc *)(void *)(arena_buf + off),
					      FZ_BUS + off, NULL);
		} else {
			rc = packed ? vr_packed_drv_add(&pq, seg, n_out, n - n_out, NULL)
				    : vr_split_drv_add(&sq, seg, n_out, n - n_out, NULL);
		}
		if (rc < 0)
			break;
		added++;
	}
	if (packed)
		vr_packed_drv_publish(&pq);
	else
		vr_split_drv_publish(&sq);
	return added;
}

static const struct fz_op dev_ops[] = {
	{5, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {2, 0, 0, 16}, {4, 0, 0, 0},
	{1, 3, 0, 0}, {3, 1, 0, 8},  {2, 1, 0, 0}, {6, 0, 0, 0}, {7, 0, 0, 0},
	{0, 0, 0, 0}, {11, 0, 0, 0}, {3, 9, 0, 0}, {4, 0, 0, 0}, {8, 0, 0, 0},
	{0, 0, 0, 0},
};

static void dev_seeds(bool packed)
{
	const char *target = packed ? "packed_device" : "split_device";
	static const uint32_t sizes[] = {1, 4, 64};
	static const uint8_t sizes_sel_split[] = {0, 2, 6};
	char name[128];
	unsigned f, s, sh;
	struct fz_hdr h;

	for (f = 0; f < 8; f++) {
		uint8_t flags = (uint8_t)((f & 1 ? FZ_F_EVENT_IDX : 0) |
					  (f & 2 ? FZ_F_INDIRECT : 0) |
					  (f & 4 ? FZ_F_IN_ORDER : 0));
		for (s = 0; s < 3; s++) {
			for (sh = 0; sh < 4; sh++) {
				if ((sh == SH_INDIRECT || sh == SH_MIXED) &&
				    !(flags & FZ_F_INDIRECT))
					continue;
				if (sh == SH_FULL && s == 0)
					continue;
				if (s == 1 && sh != SH_SIMPLE && f != 7)
					continue;
				build(packed, sizes[s], flags, (enum shape)sh);
				memset(&h, 0, sizeof(h));
				h.size = packed ? (uint8_t)(sizes[s] - 1) : sizes_sel_split[s];
				h.flags = (uint8_t)(flags | (f == 3 ? FZ_F_HOOKS : 0) |
						    (f == 5 ? FZ_F_TRANSLATE : 0));
				h.iov_cap = sh == SH_FULL ? 128 : 8;
				snprintf(name, sizeof(name), "seed-n%u-f%u-s%u", sizes[s], f, sh);
				emit(target, name, &h, dev_ops,
				     sizeof(dev_ops) / sizeof(dev_ops[0]), arena_buf,
				     FZ_ARENA);
			}
		}
	}
}

/* Bend a valid split ring of 4 into the catalogue's edge cases. */
static void split_dev_edges(void)
{
	struct vr_desc *d = (struct vr_desc *)(void *)(arena_buf + FZ_DESC_OFF);
	uint16_t *avail = (uint16_t *)(void *)(arena_buf + FZ_DRIVER_OFF);
	struct fz_hdr h;
	static const struct fz_op pop2[] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {4, 0, 0, 0}};
	static const char *names[] = {"edge-loop",     "edge-next-range", "edge-head-range",
				      "edge-idx-jump", "edge-zero-len",   "edge-wrap",
				      "edge-order",    "edge-nested",     "edge-ind-len",
				      "edge-outside",  "edge-e2big",      "edge-ind-next",
				      "edge-zero-len-ok", "edge-zero-loop", "edge-ind-align4"};
	unsigned e;

	for (e = 0; e < 15; e++) {
		build(false, 4, FZ_F_INDIRECT,
		      e == 7 || e == 8 || e == 11 || e == 14 ? SH_INDIRECT : SH_SIMPLE);
		memset(&h, 0, sizeof(h));
		h.size = 2;
		h.flags = FZ_F_INDIRECT;
		h.iov_cap = 8;
		switch (e) {
		case 0: d[1].flags |= VR_DESC_F_NEXT; d[1].next = 1; break;
		case 1: d[1].flags |= VR_DESC_F_NEXT; d[1].next = 4; break;
		case 2: avail[2] = 4; break;
		case 3: avail[1] = 5; break;
		case 4: d[0].len = 0; break;
		case 5: d[0].addr = ~0ull - 4; break;
		case 6: d[1].flags = VR_DESC_F_WRITE | VR_DESC_F_NEXT; d[2].flags = 0; break;
		case 7: { /* the table's first entry is itself indirect */
			struct vr_desc *t = (struct vr_desc *)(void *)
				(arena_buf + (d[0].addr - FZ_BUS));
			t[0].flags |= VR_DESC_F_INDIRECT;
			break;
		}
		case 8: d[0].len = 24; break;
		case 9: d[0].addr = FZ_BUS + FZ_ARENA - 8; break;
		case 10: h.iov_cap = 1; break;
		case 11: d[0].flags |= VR_DESC_F_NEXT; break;
		case 12: /* accepted with VR_QF_ZERO_LEN_OK */
			d[0].len = 0;
			h.flags |= FZ_F_ZERO_LEN;
			break;
		case 13: /* a loop of zero-length descriptors: still VR_ELOOP */
			d[0].len = 0;
			d[1].len = 0;
			d[1].flags |= VR_DESC_F_NEXT;
			d[1].next = 1;
			h.flags |= FZ_F_ZERO_LEN;
			break;
		case 14: /* the table moved to a 4-byte (not 8) boundary */
			memmove(arena_buf + (d[0].addr - FZ_BUS) + 4,
				arena_buf + (d[0].addr - FZ_BUS), d[0].len);
			d[0].addr += 4;
			break;
		}
		emit("split_device", names[e], &h, pop2, 3, arena_buf, FZ_ARENA);
	}
}

static void packed_dev_edges(void)
{
	struct vr_packed_desc *d = (struct vr_packed_desc *)(void *)(arena_buf + FZ_DESC_OFF);
	struct fz_hdr h;
	static const struct fz_op pop2[] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {4, 0, 0, 0}};
	static const char *names[] = {"edge-flags",  "edge-bufid", "edge-zero-len",
				      "edge-wrap",   "edge-order", "edge-nested",
				      "edge-ind-len", "edge-outside", "edge-e2big",
				      "edge-dup-id", "edge-zero-len-ok", "edge-ind-align4"};
	unsigned e;

	for (e = 0; e < 12; e++) {
		build(true, 5, FZ_F_INDIRECT,
		      e == 5 || e == 6 || e == 11 ? SH_INDIRECT : SH_SIMPLE);
		memset(&h, 0, sizeof(h));
		h.size = 4;
		h.flags = FZ_F_INDIRECT;
		h.iov_cap = 8;
		switch (e) {
		case 0: d[2].flags = (uint16_t)(d[2].flags ^ (VR_DESC_F_AVAIL | VR_DESC_F_USED)); break;
		case 1: d[0].id = 9; break;
		case 2: d[0].len = 0; break;
		case 3: d[0].addr = ~0ull - 4; break;
		case 4: d[1].flags = (uint16_t)((d[1].flags & ~VR_DESC_F_WRITE) | VR_DESC_F_NEXT); d[2].flags &= (uint16_t)~VR_DESC_F_WRITE; break;
		case 5: {
			struct vr_packed_desc *t = (struct vr_packed_desc *)(void *)
				(arena_buf + (d[0].addr - FZ_BUS));
			t[0].flags |= VR_DESC_F_INDIRECT;
			break;
		}
		case 6: d[0].len = 40; break;
		case 7: d[0].addr = FZ_BUS + FZ_ARENA - 8; break;
		case 8: h.iov_cap = 1; break;
		case 9: d[3].id = d[0].id; break;
		case 10: /* accepted with VR_QF_ZERO_LEN_OK */
			d[0].len = 0;
			h.flags |= FZ_F_ZERO_LEN;
			break;
		case 11: /* the table moved to a 4-byte (not 8) boundary */
			memmove(arena_buf + (d[0].addr - FZ_BUS) + 4,
				arena_buf + (d[0].addr - FZ_BUS), d[0].len);
			d[0].addr += 4;
			break;
		}
		emit("packed_device", names[e], &h, pop2, 3, arena_buf, FZ_ARENA);
	}
}

/* ---- Driver seeds: chains set up by the target, device ops here --------- */

static void drv_seeds(bool packed)
{
	const char *target = packed ? "packed_driver" : "split_driver";
	static const struct fz_op honest[] = {
		{10, 0, 5, 0}, {0, 0, 0, 0}, {10, 1, 200, 0}, {10, 0, 0, 1}, {1, 3, 0, 0},
		{2, 5, 9, 1},  {3, 0, 0, 0}, {10, 2, 1, 0},  {4, 0, 0, 0},  {0, 0, 0, 0},
		{5, 0, 0, 0},  {10, 0, 7, 0}, {0, 0, 0, 0},  {6, 0, 0, 0},  {2, 1, 2, 0},
		{3, 0, 0, 0},  {10, 0, 3, 0}, {0, 0, 0, 0},
	};
	static const struct fz_op hostile[] = {
		{7, 0, 0, 0}, {8, 1, 0, 0}, {0, 0, 0, 0}, {7, 1, 9, 3}, {8, 1, 0, 0},
		{0, 0, 0, 0}, {7, 0x42, 1, 255}, {8, 1, 0, 0}, {0, 0, 0, 0}, {8, 200, 0, 0},
		{0, 0, 0, 0}, {9, 0, 2, 9}, {0, 0, 0, 0}, {2, 0, 0, 0},
	};
	char name[128];
	unsigned f, s;
	struct fz_hdr h;
	unsigned char mem[64];

	for (f = 0; f < 16; f++) {
		for (s = 0; s < 3; s++) {
			static const uint8_t sel_split[] = {0, 2, 6}, sel_packed[] = {0, 4, 63};

			memset(&h, 0, sizeof(h));
			h.size = packed ? sel_packed[s] : sel_split[s];
			h.flags = (uint8_t)((f & 1 ? FZ_F_EVENT_IDX : 0) |
					    (f & 2 ? FZ_F_INDIRECT : 0) |
					    (f & 4 ? FZ_F_IN_ORDER : 0) |
					    (f & 8 ? FZ_F_CLAMP : 0) |
					    (f == 3 ? FZ_F_HOOKS : 0) |
					    (f == 6 ? FZ_F_TRANSLATE | FZ_F_HOOKS : 0));
			h.arg[0] = 6;
			h.arg[1] = (uint8_t)(f * 3);
			h.arg[2] = (uint8_t)(s * 11);
			h.arg[3] = 0x5a;
			memset(mem, 0, sizeof(mem));
			snprintf(name, sizeof(name), "seed-honest-f%u-s%u", f, s);
			emit(target, name, &h, honest, sizeof(honest) / sizeof(honest[0]),
			     mem, sizeof(mem));
			if (f % 4 == 0) {
				snprintf(name, sizeof(name), "seed-hostile-f%u-s%u", f, s);
				emit(target, name, &h, hostile,
				     sizeof(hostile) / sizeof(hostile[0]), mem, sizeof(mem));
			}
		}
	}
	/* Used ring bytes straight from the memory part: used->idx = 1 and an
	 * entry naming head 0 with a length of 4, then of 2^32 - 1. */
	memset(&h, 0, sizeof(h));
	h.size = packed ? 3 : 2;
	h.arg[0] = 3;
	h.arg[3] = packed ? 1 : 0; /* packed: overlay the first 64 ring bytes */
	memset(mem, 0, sizeof(mem));
	if (packed) {
		mem[12] = 0; /* id 0 */
		mem[8] = 4;  /* len 4 */
		mem[14] = 0x82; mem[15] = 0x80; /* AVAIL|USED|WRITE */
	} else {
		mem[2] = 1;                           /* used->idx */
		mem[4] = 0; mem[8] = 4;               /* id 0, len 4 */
	}
	{
		static const struct fz_op get[] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
		emit(target, "edge-used-mem", &h, get, 2, mem, 16);
		if (packed)
			mem[8] = mem[9] = mem[10] = mem[11] = 0xff;
		else
			mem[8] = mem[9] = mem[10] = mem[11] = 0xff;
		emit(target, "edge-used-len-max", &h, get, 2, mem, 16);
		if (!packed) {
			mem[2] = 0xff; mem[3] = 0xff; /* used->idx far ahead */
			emit(target, "edge-used-idx-jump", &h, get, 2, mem, 16);
		}
	}
}

/* ---- Regions ----------------------------------------------------------------- */

static void put_le64(unsigned char *p, uint64_t v)
{
	unsigned i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The statistics area bent: none (the layout before it existed), outside
 * the region, misaligned, on top of the pool. @buf: room for a region. */
static void region_stats_edges(unsigned char *buf, size_t cap)
{
	static const char *const names[] = {"edge-stats-none", "edge-stats-outside",
					    "edge-stats-misaligned", "edge-stats-pool"};
	struct vr_region_cfg cfg;
	struct vr_region_info info;
	unsigned e;

	for (e = 0; e < 4; e++) {
		uint64_t need, stats = 0;

		memset(&cfg, 0, sizeof(cfg));
		cfg.queue_count = 2;
		cfg.queue[0].format = VR_FORMAT_SPLIT;
		cfg.queue[0].size = 8;
		cfg.queue[1].format = VR_FORMAT_PACKED;
		cfg.queue[1].size = 8;
		cfg.buf_bytes = 64;
		cfg.buf_count = 4;
		need = vr_region_bytes(&cfg);
		FZ_CHECK(need > 0 && need < cap);
		FZ_CHECK(vr_region_format(buf, cap, &cfg, 1, &info) == 0);
		switch (e) {
		case 0: stats = 0; break;
		case 1: stats = info.region_bytes - 64; break;
		case 2: stats = info.stats_off + 8; break;
		case 3: stats = info.pool_off; break;
		}
		put_le64(buf + VR_RH_STATS_OFF, stats);
		memmove(buf + 1, buf, (size_t)need);
		buf[0] = 0;
		while (need > 0 && buf[need] == 0)
			need--;
		write_file("region", names[e], buf, (size_t)need + 1);
	}
}

static void region_seeds(void)
{
	static unsigned char buf[65536] __attribute__((aligned(4096)));
	struct vr_region_cfg cfg;
	struct vr_region_info info;
	char name[64];
	unsigned v;

	for (v = 0; v < 6; v++) {
		uint64_t need;
		unsigned i;

		memset(&cfg, 0, sizeof(cfg));
		cfg.queue_count = v == 5 ? VR_REGION_MAX_QUEUES : v + 1;
		for (i = 0; i < cfg.queue_count; i++) {
			cfg.queue[i].format = (i + v) % 2 ? VR_FORMAT_PACKED : VR_FORMAT_SPLIT;
			cfg.queue[i].size = v == 5 ? 1 : (cfg.queue[i].format == VR_FORMAT_PACKED
							 ? 3u + 5u * i : 4u << i);
		}
		cfg.buf_bytes = 64u << (v % 3);
		cfg.buf_count = 4;
		cfg.device_features = VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_EVENT_IDX);
		need = vr_region_bytes(&cfg);
		FZ_CHECK(need > 0 && need < sizeof(buf));
		FZ_CHECK(vr_region_format(buf, sizeof(buf), &cfg, v, &info) == 0);
		/* byte 0 of the input: how the mapping is shortened */
		memmove(buf + 1, buf, (size_t)need);
		buf[0] = (unsigned char)(v * 7);
		/* The target maps region_bytes whatever the input's length:
		 * the zeros after the queue table need not be stored. */
		while (need > 0 && buf[need] == 0)
			need--;
		snprintf(name, sizeof(name), "seed-region-%u", v);
		write_file("region", name, buf, (size_t)need + 1);
	}
	region_stats_edges(buf, sizeof(buf));
}

/* ---- The shm transport's handshake ---------------------------------------- */

#ifdef VR_FUZZ_SHM
/* The input of fuzz_shm_handshake (see its comment for the layout). */
struct hs_seed {
	uint8_t flags, sent, bad_fd, seals, got;
	uint64_t size; /* connector: st_size; listener: the generation */
	struct vr__hs_msg m;
	size_t body_len;
	unsigned char body[8192];
};

#define HS_LISTENER 0x01
#define HS_CUT 0x02
#define HS_EXCESS 0x04
#define HS_MAP32 0x08
#define HS_MEMFD 0x10
#define HS_NOTREG 0x20

static void hs_emit(const char *name, const struct hs_seed *sd)
{
	static unsigned char buf[13 + 128 + sizeof(sd->body)];
	size_t n = 0;
	int i;

	buf[n++] = sd->flags;
	buf[n++] = sd->sent;
	buf[n++] = sd->bad_fd;
	buf[n++] = sd->seals;
	buf[n++] = sd->got;
	for (i = 0; i < 8; i++)
		buf[n++] = (unsigned char)(sd->size >> (8 * i));
	memcpy(buf + n, &sd->m, sizeof(sd->m));
	n += sizeof(sd->m);
	memcpy(buf + n, sd->body, sd->body_len);
	n += sd->body_len;
	write_file("shm_handshake", name, buf, n);
}

/* A listener's HELLO and region as vr_shm_listen/vr_shm_accept make them:
 * @qc queues (split and packed in turn), @polling, generation @gen. The
 * connector's view: a sealed memfd of exactly the region's size. */
static void hs_valid(struct hs_seed *sd, uint32_t qc, bool polling, uint32_t gen)
{
	static unsigned char region[65536] __attribute__((aligned(4096)));
	struct vr_region_cfg cfg;
	struct vr_region_info info;
	struct vr__hs_hello h;
	uint64_t need;
	uint32_t i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.queue_count = qc;
	for (i = 0; i < qc; i++) {
		cfg.queue[i].format = i % 2 ? VR_FORMAT_PACKED : VR_FORMAT_SPLIT;
		cfg.queue[i].size = qc > 8 ? 2 : 16;
	}
	cfg.buf_bytes = 128;
	cfg.buf_count = 8;
	cfg.device_features = VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_EVENT_IDX);
	need = vr_region_bytes(&cfg);
	FZ_CHECK(need > 0 && need <= sizeof(region));
	FZ_CHECK(vr_region_format(region, sizeof(region), &cfg, gen, &info) == 0);
	memset(&h, 0, sizeof(h));
	h.polling = polling;
	h.region_bytes = info.region_bytes;
	h.queue_count = info.queue_count;
	h.generation = gen;
	h.nfds = 1 + (polling ? 0 : 2 * qc);
	h.pid = 1000;
	h.heartbeat_ns = VR_SHM_HEARTBEAT_DEFAULT_NS;
	h.liveness_ns = VR_SHM_LIVENESS_DEFAULT_NS;
	memset(sd, 0, sizeof(*sd));
	vr__hs_make_hello(&sd->m, &h);
	sd->flags = HS_MEMFD;
	sd->sent = (uint8_t)h.nfds;
	sd->seals = 0x07; /* F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW */
	sd->got = 128;
	sd->size = need;
	/* Only the header and queue table: the target zero-fills the rest. */
	sd->body_len = VR_REGION_QTABLE_OFF + qc * VR_REGION_QENTRY_BYTES;
	FZ_CHECK(sd->body_len <= sizeof(sd->body));
	memcpy(sd->body, region, sd->body_len);
}

static void shm_seeds(void)
{
	static const char *const edges[] = {
		"refuse",        "refuse-long",   "bad-magic",     "bad-version",
		"ack-not-hello", "queues-0",      "queues-65",     "flags-unknown",
		"nfds-announced", "nfds-received", "fds-overflow", "cut",
		"excess",        "short",         "empty",         "long",
		"unsealed",      "seals-failed",  "not-regular",   "size-header",
		"size-map32",    "size-short",    "size-larger",   "region-magic",
		"region-gen",    "region-bytes",  "region-queues", "heartbeat-low",
		"heartbeat-high", "liveness-low", "liveness-high", "timing-ok",
		"doorbell",      "file-backing",  "size-huge",
	};
	static struct hs_seed sd;
	char name[64];
	unsigned e;

	/* Valid handshakes: doorbells or polling, 1..64 queues. */
	hs_valid(&sd, 1, false, 1);
	hs_emit("hello-1q", &sd);
	hs_valid(&sd, 2, false, 7);
	hs_emit("hello-2q", &sd);
	hs_valid(&sd, 2, true, 3);
	hs_emit("hello-2q-polling", &sd);
	hs_valid(&sd, 64, true, 1);
	hs_emit("hello-64q-polling", &sd);
	hs_valid(&sd, 64, false, 2);
	hs_emit("hello-64q", &sd);

	/* Bent one thing at a time from the 2-queue doorbell handshake. */
	for (e = 0; e < sizeof(edges) / sizeof(edges[0]); e++) {
		hs_valid(&sd, 2, false, 7);
		switch (e) {
		case 0:
			vr__hs_make_refuse(&sd.m, VR_EPERM, "busy: a peer is already attached");
			sd.sent = 0;
			break;
		case 1: /* a text without its NUL, and fds with the refusal */
			vr__hs_make_refuse(&sd.m, VR_EPERM, "");
			memset(sd.m.text, 'x', sizeof(sd.m.text));
			break;
		case 2: sd.m.magic[0] = 'W'; break;
		case 3: sd.m.version = 2; break;
		case 4: sd.m.type = VR__HS_ACK; break;
		case 5: sd.m.queue_count = 0; break;
		case 6: sd.m.queue_count = 65; break;
		case 7: sd.m.flags = 0x2; break;
		case 8: sd.m.nfds = 3; break;
		case 9: sd.sent = 3; break;
		case 10: sd.sent = 200; break;
		case 11: sd.flags |= HS_CUT; break;
		case 12: sd.flags |= HS_EXCESS; break;
		case 13: sd.got = 10; break;
		case 14: sd.got = 0; break;
		case 15: sd.got = 129; break;
		case 16: sd.seals = 0; break;
		case 17: sd.seals = 0xff; break;
		case 18: sd.flags |= HS_NOTREG; break;
		case 19: sd.size = VR_REGION_HEADER_BYTES - 1; break;
		case 20: sd.flags |= HS_MAP32; sd.size = 5ull << 30; sd.m.region_bytes = 4096; break;
		case 21: sd.size = sd.m.region_bytes - 64; break;
		case 22: sd.size = (sd.size + 8191) / 8192 * 8192 + 8192; break; /* hugetlbfs-like */
		case 23: sd.body[0] = 'X'; break;
		case 24: sd.m.generation = 8; break;
		case 25: sd.m.region_bytes -= 64; break;
		case 26: /* a 1-queue region behind a 2-queue HELLO */
			hs_valid(&sd, 1, false, 7);
			sd.m.queue_count = 2;
			sd.m.nfds = 5;
			sd.sent = 5;
			break;
		case 27: sd.m.heartbeat_ns = 99999; break;
		case 28: sd.m.heartbeat_ns = 1000000001ull; break;
		case 29: sd.m.heartbeat_ns = 200000; sd.m.liveness_ns = 399999; break;
		case 30: sd.m.liveness_ns = 60000000001ull; break;
		case 31: sd.m.heartbeat_ns = 100000; sd.m.liveness_ns = 200000; break;
		case 32: sd.bad_fd = 3; break;
		case 33: sd.flags = 0; sd.seals = 0xff; break; /* named object or file */
		case 34: sd.size = 1ull << 40; break; /* larger than modelled */
		}
		snprintf(name, sizeof(name), "edge-%s", edges[e]);
		hs_emit(name, &sd);
	}

	/* The listener's side: the connector's ACK. */
	memset(&sd, 0, sizeof(sd));
	sd.flags = HS_LISTENER;
	sd.got = 128;
	sd.size = 7;
	vr__hs_make_ack(&sd.m, 7, 2000);
	hs_emit("ack", &sd);
	sd.size = 8;
	hs_emit("ack-other-generation", &sd);
	sd.size = 7;
	sd.sent = 1;
	hs_emit("ack-with-fd", &sd);
	sd.sent = 0;
	vr__hs_make_hello(&sd.m, &(struct vr__hs_hello){.generation = 7, .queue_count = 1, .nfds = 3});
	hs_emit("ack-is-hello", &sd);
	vr__hs_make_ack(&sd.m, 7, 2000);
	sd.body_len = 100;
	memset(sd.body, 'r', sd.body_len);
	hs_emit("ack-refusal-text", &sd);
}
#endif

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
		perror(out_dir);
		return 1;
	}
	dev_seeds(false);
	dev_seeds(true);
	split_dev_edges();
	packed_dev_edges();
	drv_seeds(false);
	drv_seeds(true);
	region_seeds();
#ifdef VR_FUZZ_SHM
	shm_seeds();
#endif
	return 0;
}
