/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mkregion: regions in known states for the vringctl tests, made with the
 * library itself (channel and ring APIs over a file mapping, both ends in
 * this one process, nothing blocking), then, for the broken states, one
 * deliberate violation patched in. Deterministic: the statistics records
 * are overwritten with fixed values and no heartbeat runs.
 *
 *   mkregion list             the state names, one per line
 *   mkregion STATE FILE       write FILE in STATE
 *   mkregion fuzz SEED FILE   a valid state, then corrupted at random
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vring/vring.h>

/* ---- A transport that never waits: both ends live in this process -------- */

static int f_notify(struct vr_transport *t, uint32_t q)
{
	(void)t;
	(void)q;
	return 0;
}

static int f_wait(struct vr_transport *t, uint32_t q, uint64_t ns)
{
	(void)t;
	(void)q;
	(void)ns;
	return VR_ETIMEDOUT;
}

static int f_peer(struct vr_transport *t)
{
	(void)t;
	return VR_PEER_ALIVE;
}

static uint64_t f_now(struct vr_transport *t)
{
	(void)t;
	return 0;
}

static const struct vr_transport_ops fake_ops = {f_notify, f_wait, f_peer, f_now};

static void die(const char *what, int err)
{
	fprintf(stderr, "mkregion: %s: %s (%s)\n", what, vr_strerror(err), vr_errname(err));
	exit(1);
}

#define CHECK(call)                                                                 \
	do {                                                                        \
		int err_ = (call);                                                  \
		if (err_ < 0)                                                       \
			die(#call, err_);                                           \
	} while (0)

/* ---- The region ------------------------------------------------------------- */

struct reg {
	unsigned char *base;
	size_t len;
	struct vr_region_info info;
	struct vr_transport tdrv, tdev;
	struct vr_chan drv, dev;
	void *sdrv, *sdev;
};

static void make(struct reg *r, const char *path, uint32_t format, uint32_t queues,
		 uint32_t size, uint32_t buf_bytes, uint32_t buf_count, uint64_t features)
{
	struct vr_region_cfg cfg;
	uint32_t i;
	int fd;

	memset(r, 0, sizeof(*r));
	memset(&cfg, 0, sizeof(cfg));
	cfg.queue_count = queues;
	for (i = 0; i < queues; i++) {
		cfg.queue[i].size = size;
		cfg.queue[i].format = format;
	}
	cfg.buf_bytes = buf_bytes;
	cfg.buf_count = buf_count;
	cfg.device_features = features | VR_FEATURE(VR_F_VERSION_1) |
			      (format == VR_FORMAT_PACKED ? VR_FEATURE(VR_F_RING_PACKED) : 0);
	r->len = (size_t)vr_region_bytes(&cfg);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)r->len) != 0) {
		perror(path);
		exit(1);
	}
	r->base = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (r->base == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	CHECK(vr_region_format(r->base, r->len, &cfg, 7, &r->info));
}

/* Both ends of the channel on queues 0 and 1. */
static void open_channel(struct reg *r, uint64_t want)
{
	struct vr_chan_cfg cc;
	size_t n;

	r->tdrv.ops = r->tdev.ops = &fake_ops;
	r->tdrv.region = r->tdev.region = r->base;
	r->tdrv.region_len = r->tdev.region_len = r->len;
	r->tdrv.role = VR_ROLE_DRIVER;
	r->tdev.role = VR_ROLE_DEVICE;
	r->tdrv.flags = r->tdev.flags = VR_TRANSPORT_POLLING;
	memset(&cc, 0, sizeof(cc));
	cc.features = want;
	n = vr_chan_state_size(&r->tdrv);
	r->sdrv = aligned_alloc(64, (n + 63) & ~(size_t)63);
	CHECK(vr_chan_open(&r->drv, &r->tdrv, &cc, r->sdrv, (n + 63) & ~(size_t)63));
	n = vr_chan_state_size(&r->tdev);
	r->sdev = aligned_alloc(64, (n + 63) & ~(size_t)63);
	CHECK(vr_chan_open(&r->dev, &r->tdev, &cc, r->sdev, (n + 63) & ~(size_t)63));
}

/* Fixed statistics values, whatever the channel wrote. */
static void fix_stats(struct reg *r)
{
	uint32_t q, side, k;

	for (q = 0; q < r->info.queue_count; q++)
		for (side = 0; side < 2; side++) {
			uint32_t *rec = vr_region_stats(r->base, &r->info, q,
							side ? VR_ROLE_DEVICE : VR_ROLE_DRIVER);

			for (k = 0; rec && k < VR_RS_COUNT; k++)
				vr_region_stat_store(rec, (enum vr_region_stat)k,
						     k < VR_RS_ERROR ? 1000 * q + 100 * side + k : 0);
		}
}

static void set_status(struct reg *r, uint64_t features)
{
	uint32_t ok = VR_STATUS_ACKNOWLEDGE | VR_STATUS_DRIVER | VR_STATUS_FEATURES_OK |
		      VR_STATUS_DRIVER_OK;

	vr_region_store_features(r->base, VR_RH_DRIVER_FEATURES, features);
	vr_region_store(r->base, VR_RH_DRIVER_STATUS, ok);
	vr_region_store(r->base, VR_RH_DEVICE_STATUS, ok);
}

/* ---- Little-endian pokes for the broken states -------------------------------- */

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

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static unsigned char *split_desc(struct reg *r, uint32_t q, uint32_t i)
{
	return r->base + r->info.queue[q].desc_off + 16 * i;
}

static unsigned char *avail(struct reg *r, uint32_t q)
{
	return r->base + r->info.queue[q].driver_off;
}

static unsigned char *used(struct reg *r, uint32_t q)
{
	return r->base + r->info.queue[q].device_off;
}

static uint16_t avail_head(struct reg *r, uint32_t q, uint32_t pos)
{
	return get16(avail(r, q) + 4 + 2 * (pos % r->info.queue[q].size));
}

/* ---- Good states -------------------------------------------------------------- */

/* Channel, split, size 8, 16 buffers of 64 bytes, nothing sent. */
static void st_split_idle(struct reg *r, const char *path)
{
	make(r, path, VR_FORMAT_SPLIT, 2, 8, 64, 16, VR_FEATURE(VR_F_EVENT_IDX));
	open_channel(r, VR_RING_FEATURES);
	fix_stats(r);
}

/*
 * Channel, split, traffic both ways: TX m1..m4 sent, m1 received
 * (returned used), m2 borrowed (taken, in flight), m3 and m4 not taken;
 * RX: r1 and r2 sent by the device, r1 received by the driver (its buffer
 * offered again).
 */
static void busy_traffic(struct reg *r)
{
	struct vr_chan_msg msg;
	char buf[64];

	CHECK(vr_chan_send(&r->drv, "m1", 2, 0));
	CHECK(vr_chan_send(&r->drv, "m22", 3, 0));
	CHECK(vr_chan_send(&r->drv, "m333", 4, 0));
	CHECK(vr_chan_send(&r->drv, "m4444", 5, 0));
	CHECK(vr_chan_recv(&r->dev, buf, sizeof(buf), 0));
	CHECK(vr_chan_recv_borrow(&r->dev, &msg, 0));
	CHECK(vr_chan_send(&r->dev, "r1", 2, 0));
	CHECK(vr_chan_send(&r->dev, "r22", 3, 0));
	CHECK(vr_chan_recv(&r->drv, buf, sizeof(buf), 0));
}

static void st_split_busy(struct reg *r, const char *path)
{
	make(r, path, VR_FORMAT_SPLIT, 2, 8, 64, 16, VR_FEATURE(VR_F_EVENT_IDX));
	open_channel(r, VR_RING_FEATURES);
	busy_traffic(r);
	fix_stats(r);
}

/* As split-busy, without EVENT_IDX. */
static void st_split_noevt(struct reg *r, const char *path)
{
	make(r, path, VR_FORMAT_SPLIT, 2, 8, 64, 16, 0);
	open_channel(r, VR_RING_FEATURES);
	busy_traffic(r);
	fix_stats(r);
}

/* Channel, packed, size 4: seven round trips (both rings wrap), then two
 * messages the device has not taken. */
static void st_packed_wrap(struct reg *r, const char *path)
{
	char buf[64];
	int i;

	make(r, path, VR_FORMAT_PACKED, 2, 4, 64, 8, VR_FEATURE(VR_F_EVENT_IDX));
	open_channel(r, VR_RING_FEATURES);
	for (i = 0; i < 7; i++) {
		CHECK(vr_chan_send(&r->drv, "ping", 4, 0));
		CHECK(vr_chan_recv(&r->dev, buf, sizeof(buf), 0));
		CHECK(vr_chan_send(&r->dev, "pong!", 5, 0));
		CHECK(vr_chan_recv(&r->drv, buf, sizeof(buf), 0));
	}
	CHECK(vr_chan_send(&r->drv, "late1", 5, 0));
	CHECK(vr_chan_send(&r->drv, "late22", 6, 0));
	fix_stats(r);
}

/* Ring API, one split queue of 8 with INDIRECT_DESC and EVENT_IDX: chain
 * A (2 readable + 1 writable) returned used with 40 bytes, chain B
 * (indirect: 1 readable + 2 writable) taken, chain C (1 readable) not
 * taken. */
struct rings {
	struct vr_split_drv sd;
	struct vr_split_dev sv;
	struct vr_packed_drv pd;
	struct vr_packed_dev pv;
	unsigned char sdrv[4096], sdev[4096];
};

static struct rings rg;

static uint64_t buf_addr(struct reg *r, uint32_t i)
{
	return vr_region_buf_addr(&r->info, i);
}

static void st_split_chains(struct reg *r, const char *path)
{
	uint64_t f = VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_INDIRECT_DESC) |
		     VR_FEATURE(VR_F_VERSION_1);
	struct vr_split_areas a;
	struct vr_queue_cfg qc;
	struct vr_seg sa[3], sb[3], sc[1];
	struct vr_iov iov[8];
	struct vr_chain ch;
	int head_a;

	make(r, path, VR_FORMAT_SPLIT, 1, 8, 64, 8, f);
	set_status(r, f);
	CHECK(vr_region_split_areas(r->base, &r->info, 0, &a));
	memset(&qc, 0, sizeof(qc));
	qc.num = 8;
	qc.features = f;
	CHECK(vr_split_drv_init(&rg.sd, &qc, &a, rg.sdrv, sizeof(rg.sdrv)));
	qc.mem = vr_region_pool_window(r->base, &r->info);
	CHECK(vr_split_dev_init(&rg.sv, &qc, &a, rg.sdev, sizeof(rg.sdev)));
	sa[0].addr = buf_addr(r, 0), sa[0].len = 16;
	sa[1].addr = buf_addr(r, 1), sa[1].len = 32;
	sa[2].addr = buf_addr(r, 2), sa[2].len = 64;
	sb[0].addr = buf_addr(r, 4), sb[0].len = 10;
	sb[1].addr = buf_addr(r, 5), sb[1].len = 64;
	sb[2].addr = buf_addr(r, 6), sb[2].len = 20;
	sc[0].addr = buf_addr(r, 7), sc[0].len = 8;
	CHECK(head_a = vr_split_drv_add(&rg.sd, sa, 2, 1, NULL));
	CHECK(vr_split_drv_add_indirect(&rg.sd, sb, 1, 2,
					(struct vr_desc *)(void *)(r->base + buf_addr(r, 3)),
					buf_addr(r, 3), NULL));
	CHECK(vr_split_drv_add(&rg.sd, sc, 1, 0, NULL));
	vr_split_drv_publish(&rg.sd);
	memset(&ch, 0, sizeof(ch));
	ch.iov = iov;
	ch.iov_cap = 8;
	CHECK(vr_split_dev_pop(&rg.sv, &ch));
	CHECK(vr_split_dev_complete(&rg.sv, ch.id, 40));
	CHECK(vr_split_dev_pop(&rg.sv, &ch));
	vr_split_dev_publish(&rg.sv);
	(void)head_a;
	fix_stats(r);
}

/* Ring API, one packed queue of 8 with INDIRECT_DESC (no EVENT_IDX): the
 * same three chains. */
static void st_packed_chains(struct reg *r, const char *path)
{
	uint64_t f = VR_FEATURE(VR_F_INDIRECT_DESC) | VR_FEATURE(VR_F_VERSION_1) |
		     VR_FEATURE(VR_F_RING_PACKED);
	struct vr_packed_areas a;
	struct vr_queue_cfg qc;
	struct vr_seg sa[3], sb[3], sc[1];
	struct vr_iov iov[8];
	struct vr_chain ch;

	make(r, path, VR_FORMAT_PACKED, 1, 8, 64, 8, VR_FEATURE(VR_F_INDIRECT_DESC));
	set_status(r, f);
	CHECK(vr_region_packed_areas(r->base, &r->info, 0, &a));
	memset(&qc, 0, sizeof(qc));
	qc.num = 8;
	qc.features = f;
	CHECK(vr_packed_drv_init(&rg.pd, &qc, &a, rg.sdrv, sizeof(rg.sdrv)));
	qc.mem = vr_region_pool_window(r->base, &r->info);
	CHECK(vr_packed_dev_init(&rg.pv, &qc, &a, rg.sdev, sizeof(rg.sdev)));
	sa[0].addr = buf_addr(r, 0), sa[0].len = 16;
	sa[1].addr = buf_addr(r, 1), sa[1].len = 32;
	sa[2].addr = buf_addr(r, 2), sa[2].len = 64;
	sb[0].addr = buf_addr(r, 4), sb[0].len = 10;
	sb[1].addr = buf_addr(r, 5), sb[1].len = 64;
	sb[2].addr = buf_addr(r, 6), sb[2].len = 20;
	sc[0].addr = buf_addr(r, 7), sc[0].len = 8;
	CHECK(vr_packed_drv_add(&rg.pd, sa, 2, 1, NULL));
	CHECK(vr_packed_drv_add_indirect(&rg.pd, sb, 1, 2,
					 (struct vr_packed_desc *)(void *)(r->base + buf_addr(r, 3)),
					 buf_addr(r, 3), NULL));
	CHECK(vr_packed_drv_add(&rg.pd, sc, 1, 0, NULL));
	/* A fourth chain of two readable segments, to break later. */
	sc[0].addr = buf_addr(r, 7) + 8, sc[0].len = 8;
	sa[0].addr = buf_addr(r, 7) + 16, sa[0].len = 8;
	{
		struct vr_seg sd[2] = {sc[0], sa[0]};

		CHECK(vr_packed_drv_add(&rg.pd, sd, 2, 0, NULL));
	}
	vr_packed_drv_publish(&rg.pd);
	memset(&ch, 0, sizeof(ch));
	ch.iov = iov;
	ch.iov_cap = 8;
	CHECK(vr_packed_dev_pop(&rg.pv, &ch));
	CHECK(vr_packed_dev_complete(&rg.pv, ch.id, 40));
	CHECK(vr_packed_dev_pop(&rg.pv, &ch));
	vr_packed_dev_publish(&rg.pv);
	fix_stats(r);
}

/* ---- Broken states: one violation each ---------------------------------------- */

struct state {
	const char *name;
	void (*base)(struct reg *r, const char *path);
	void (*patch)(struct reg *r);
};

/* split-busy TX: A = 4, U = 1; m2 taken at avail[1], m3 avail[2], m4
 * avail[3]. */
static void p_availidx(struct reg *r) { put16(avail(r, 0) + 2, 1 + 9); }
static void p_head(struct reg *r) { put16(avail(r, 0) + 4 + 2 * 3, 11); }
static void p_outside_region(struct reg *r)
{
	put64(split_desc(r, 0, avail_head(r, 0, 3)), r->info.region_bytes - 2);
}
static void p_outside_pool(struct reg *r)
{
	put64(split_desc(r, 0, avail_head(r, 0, 3)), 0x100);
}
static void p_zerolen(struct reg *r) { put32(split_desc(r, 0, avail_head(r, 0, 3)) + 8, 0); }
static void p_dup_head(struct reg *r)
{
	put16(avail(r, 0) + 4 + 2 * 3, avail_head(r, 0, 2));
}
static void p_used_id(struct reg *r) { put32(used(r, 0) + 4, 20); }
static void p_used_flags(struct reg *r) { put16(used(r, 0), 0x8001); }
/* RX: r1's used entry (index 0, its descriptor not offered again) says
 * more than the 64-byte buffer. */
static void p_used_len(struct reg *r) { put32(used(r, 1) + 4 + 4, 65); }
static void p_needs_reset(struct reg *r)
{
	uint32_t *rec = vr_region_stats(r->base, &r->info, 1, VR_ROLE_DEVICE);

	vr_region_store(r->base, VR_RH_DEVICE_STATUS,
			vr_region_load(r->base, VR_RH_DEVICE_STATUS) | VR_STATUS_NEEDS_RESET);
	vr_region_stat_store(rec, VR_RS_ERROR, (uint32_t)VR_ELOOP);
}
static void p_features(struct reg *r)
{
	vr_region_store_features(r->base, VR_RH_DRIVER_FEATURES,
				 vr_region_load_features(r->base, VR_RH_DRIVER_FEATURES) |
					 VR_FEATURE(VR_F_RING_RESET) |
					 VR_FEATURE(VR_F_RING_PACKED));
}
/* split-noevt: the device asks not to be kicked with chains pending. */
static void p_nonotify(struct reg *r) { put16(used(r, 0), VR_USED_F_NO_NOTIFY); }

/* split-chains: A at avail[0] (descriptors 0 1 2), B at avail[1]
 * (descriptor 3, indirect), C at avail[2] (descriptor 4). */
static void p_next(struct reg *r)
{
	unsigned char *d = split_desc(r, 0, avail_head(r, 0, 2));

	put16(d + 12, VR_DESC_F_NEXT);
	put16(d + 14, 9);
}
static void p_loop(struct reg *r)
{
	/* C -> C: a chain of one descriptor that points at itself. */
	unsigned char *d = split_desc(r, 0, avail_head(r, 0, 2));

	put16(d + 12, VR_DESC_F_NEXT);
	put16(d + 14, avail_head(r, 0, 2));
}
static void p_order(struct reg *r)
{
	/* B's table: entry 0 (readable) made writable, entry 1 readable. */
	unsigned char *t = r->base + buf_addr(r, 3);

	put16(t + 12, VR_DESC_F_WRITE | VR_DESC_F_NEXT);
	put16(t + 16 + 12, VR_DESC_F_NEXT);
}
static void p_ind_align(struct reg *r)
{
	/* B's table moved to a 4-byte (not 8-byte) boundary: valid, the spec
	 * sets no alignment for indirect tables. */
	unsigned char *d = split_desc(r, 0, avail_head(r, 0, 1));

	memmove(r->base + buf_addr(r, 3) + 4, r->base + buf_addr(r, 3), 48);
	put64(d, buf_addr(r, 3) + 4);
}
static void p_ind_len(struct reg *r)
{
	put32(split_desc(r, 0, avail_head(r, 0, 1)) + 8, 40);
}
static void p_ind_nested(struct reg *r)
{
	unsigned char *t = r->base + buf_addr(r, 3);

	put16(t + 12, VR_DESC_F_INDIRECT);
}
static void p_ind_nofeature(struct reg *r)
{
	vr_region_store_features(r->base, VR_RH_DRIVER_FEATURES,
				 VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_VERSION_1));
}
static void p_ind_next(struct reg *r)
{
	unsigned char *d = split_desc(r, 0, avail_head(r, 0, 1));

	put16(d + 12, VR_DESC_F_INDIRECT | VR_DESC_F_NEXT);
}

/* packed-wrap: TX (queue 0) of 4. */
static unsigned char *pdesc(struct reg *r, uint32_t q, uint32_t i)
{
	return r->base + r->info.queue[q].desc_off + 16 * i;
}
static void p_pbufid(struct reg *r)
{
	/* The newest pending chain (late22, at descriptor 0) gets id 9. */
	put16(pdesc(r, 0, 0) + 12, 9);
}
static void p_pevent(struct reg *r)
{
	put16(r->base + r->info.queue[0].device_off + 2, 3);
}
static void p_pused_id(struct reg *r)
{
	/* TX descriptor 2 is used (lap 0): its id becomes 7. */
	put16(pdesc(r, 0, 2) + 12, 7);
}
/* packed-chains: ring positions 0-2 chain A (used at 0), 3 chain B
 * (indirect, taken), 4 chain C, 5-6 chain D; driver position 7. */
static void p_peflags(struct reg *r)
{
	/* D's last descriptor says the chain goes on, into position 7. */
	unsigned char *d = pdesc(r, 0, 6);

	put16(d + 14, get16(d + 14) | VR_DESC_F_NEXT);
}
static void p_pwrap(struct reg *r)
{
	/* Avail bits 1 0 1 0 1 0 1 0: seven lap boundaries where a driver
	 * leaves one (three with a batch being published). */
	uint32_t i;

	for (i = 1; i < 7; i += 2) {
		unsigned char *d = pdesc(r, 0, i);

		put16(d + 14, get16(d + 14) ^ VR_DESC_F_AVAIL);
	}
}
static void p_pdesc_noevt(struct reg *r)
{
	unsigned char *e = r->base + r->info.queue[0].driver_off;

	put16(e, 2 | 1u << VR_EVENT_WRAP_SHIFT);
	put16(e + 2, VR_EVENT_F_DESC);
}
static void p_pind_nested(struct reg *r)
{
	unsigned char *t = r->base + buf_addr(r, 3);

	put16(t + 14, VR_DESC_F_INDIRECT);
}

/* Headers. */
static void p_stats_overlap(struct reg *r)
{
	put64(r->base + VR_RH_STATS_OFF, r->info.pool_off);
}
static void p_magic(struct reg *r) { r->base[0] = 'X'; }
static void p_version(struct reg *r) { put16(r->base + VR_RH_VERSION, 2); }
static void p_queue_size(struct reg *r)
{
	put16(r->base + VR_REGION_QTABLE_OFF + VR_REGION_QENTRY_BYTES + VR_RQ_SIZE, 6);
}
static void p_area_outside(struct reg *r)
{
	put64(r->base + VR_REGION_QTABLE_OFF + VR_RQ_DEVICE_OFF, r->info.region_bytes);
}

static const struct state states[] = {
	{"split-idle", st_split_idle, NULL},
	{"split-busy", st_split_busy, NULL},
	{"split-noevt", st_split_noevt, NULL},
	{"split-chains", st_split_chains, NULL},
	{"packed-wrap", st_packed_wrap, NULL},
	{"packed-chains", st_packed_chains, NULL},
	{"split-bad-availidx", st_split_busy, p_availidx},
	{"split-bad-head", st_split_busy, p_head},
	{"split-bad-outside-region", st_split_busy, p_outside_region},
	{"split-bad-outside-pool", st_split_busy, p_outside_pool},
	{"split-bad-zerolen", st_split_busy, p_zerolen},
	{"split-bad-dup-head", st_split_busy, p_dup_head},
	{"split-bad-used-id", st_split_busy, p_used_id},
	{"split-bad-used-flags", st_split_busy, p_used_flags},
	{"split-bad-used-len", st_split_busy, p_used_len},
	{"split-warn-nonotify", st_split_noevt, p_nonotify},
	{"split-bad-next", st_split_chains, p_next},
	{"split-bad-loop", st_split_chains, p_loop},
	{"split-bad-order", st_split_chains, p_order},
	{"split-indirect-align4", st_split_chains, p_ind_align},
	{"split-bad-indirect-len", st_split_chains, p_ind_len},
	{"split-bad-indirect-nested", st_split_chains, p_ind_nested},
	{"split-bad-indirect-feature", st_split_chains, p_ind_nofeature},
	{"split-bad-indirect-next", st_split_chains, p_ind_next},
	{"packed-bad-wrap", st_packed_chains, p_pwrap},
	{"packed-bad-bufid", st_packed_wrap, p_pbufid},
	{"packed-bad-event", st_packed_wrap, p_pevent},
	{"packed-bad-used-id", st_packed_wrap, p_pused_id},
	{"packed-bad-chain-flags", st_packed_chains, p_peflags},
	{"packed-bad-event-desc", st_packed_chains, p_pdesc_noevt},
	{"packed-bad-indirect-nested", st_packed_chains, p_pind_nested},
	{"hdr-needs-reset", st_split_busy, p_needs_reset},
	{"hdr-bad-features", st_split_busy, p_features},
	{"hdr-bad-stats-overlap", st_split_idle, p_stats_overlap},
	{"hdr-bad-queue-size", st_split_idle, p_queue_size},
	{"hdr-bad-area", st_split_idle, p_area_outside},
	{"hdr-bad-magic", st_split_idle, p_magic},
	{"hdr-bad-version", st_split_idle, p_version},
};

#define NSTATES (sizeof(states) / sizeof(states[0]))

/* ---- Fuzz: a valid state, then damage --------------------------------------------- */

static uint64_t rng;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic per seed. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static void fuzz(const char *seed_s, const char *path)
{
	struct reg r;
	uint32_t kind, n, i;
	int fd;

	rng = strtoull(seed_s, NULL, 0) * 0x9E3779B97F4A7C15ull + 1;
	states[rnd() % 6].base(&r, path);
	kind = rnd() % 5;
	n = 1 + rnd() % 64;
	for (i = 0; i < n; i++) {
		size_t at;

		switch (kind) {
		case 0: /* the header */
			at = rnd() % 512;
			break;
		case 1: /* the rings (just after the header page) */
			at = 4096 + rnd() % 1024;
			break;
		case 2: /* anywhere */
		default:
			at = rnd() % r.len;
			break;
		}
		r.base[at] = (unsigned char)rnd();
	}
	if (kind == 3) /* a 64-bit offset or size field gone wild */
		put64(r.base + 8 * (2 + rnd() % 12), ((uint64_t)rnd() << 32) | rnd());
	munmap(r.base, r.len);
	free(r.sdrv);
	free(r.sdev);
	if (kind == 4) { /* truncated somewhere */
		fd = open(path, O_RDWR);
		if (fd < 0 || ftruncate(fd, (off_t)(rnd() % r.len)) != 0) {
			perror(path);
			exit(1);
		}
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct reg r;
	size_t i;

	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		for (i = 0; i < NSTATES; i++)
			printf("%s\n", states[i].name);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "fuzz") == 0) {
		fuzz(argv[2], argv[3]);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: mkregion list | STATE FILE | fuzz SEED FILE\n");
		return 2;
	}
	for (i = 0; i < NSTATES; i++) {
		if (strcmp(argv[1], states[i].name) != 0)
			continue;
		states[i].base(&r, argv[2]);
		if (states[i].patch)
			states[i].patch(&r);
		munmap(r.base, r.len);
		free(r.sdrv);
		free(r.sdev);
		return 0;
	}
	fprintf(stderr, "mkregion: unknown state %s\n", argv[1]);
	return 2;
}
