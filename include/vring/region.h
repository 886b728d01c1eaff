/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/region.h
 * @brief The libvring shared region: a header, a queue table, the rings,
 *        and a buffer pool, in one block of memory both peers map.
 *
 * The byte layout is specified in docs/REGION.md, precisely enough to write
 * a peer without libvring. In short: a 4096-byte header page (magic,
 * version, features, per-side status and heartbeat, a generation counter,
 * the pool description, and a table of up to VR_REGION_MAX_QUEUES queues with
 * the offsets of their three areas), then the rings, then the pool. Every
 * multi-byte field is little-endian. Bus addresses in descriptors are byte
 * offsets from the start of the region, so each side maps the region
 * wherever it likes.
 *
 * vr_region_format() lays a region out (the creator's job);
 * vr_region_parse() reads a header once, validates every offset and size
 * against the mapping it is given, and returns a private copy that the rest
 * of the code uses, so a peer rewriting the header later changes nothing.
 *
 * Concurrency: format and parse are plain functions of their arguments; the
 * status, heartbeat, feature and generation accessors are single atomic
 * accesses, safe against a concurrent peer.
 */
#ifndef VRING_REGION_H
#define VRING_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detail/atomic.h"
#include "detail/compiler.h"
#include "detail/endian.h"
#include "errors.h"
#include "layout.h"
#include "packed.h"
#include "split.h"
#include "transport.h"

VR_EXTERN_C_BEGIN

#define VR_REGION_MAGIC "LIBVRING"   /**< bytes 0..7 of every region */
#define VR_REGION_VERSION 1          /**< layout version this code speaks */
#define VR_REGION_HEADER_BYTES 4096u /**< the header page */
#define VR_REGION_QTABLE_OFF 256u    /**< offset of the queue table */
#define VR_REGION_QENTRY_BYTES 32u   /**< bytes per queue table entry */
#define VR_REGION_MAX_QUEUES 64u     /**< (4096 - 256) / 32 would allow more */
#define VR_REGION_ALIGN 64u          /**< alignment of rings and the pool */

/** Queue formats in the queue table. */
enum vr_format {
	VR_FORMAT_SPLIT = 0,
	VR_FORMAT_PACKED = 1
};

/** Status bits of each side (the virtio device status values). */
enum vr_status {
	VR_STATUS_ACKNOWLEDGE = 1,  /**< the side has seen the region */
	VR_STATUS_DRIVER = 2,       /**< the side knows how to drive it */
	VR_STATUS_DRIVER_OK = 4,    /**< the side is ready: queues live */
	VR_STATUS_FEATURES_OK = 8,  /**< features negotiated */
	VR_STATUS_NEEDS_RESET = 64, /**< the side saw a protocol violation */
	VR_STATUS_FAILED = 128      /**< the side gave up */
};

/** Header fields (byte offsets; see docs/REGION.md for their meaning). */
enum vr_region_field {
	VR_RH_MAGIC = 0,             /* u8[8]  */
	VR_RH_VERSION = 8,           /* u16    */
	VR_RH_HEADER_BYTES = 10,     /* u16, 4096 */
	VR_RH_QUEUE_COUNT = 12,      /* u32    */
	VR_RH_REGION_BYTES = 16,     /* u64    */
	VR_RH_DEVICE_FEATURES = 24,  /* u64, low then high u32 */
	VR_RH_DRIVER_FEATURES = 32,  /* u64, low then high u32 */
	VR_RH_GENERATION = 40,       /* u32    */
	VR_RH_FLAGS = 44,            /* u32, 0 */
	VR_RH_DRIVER_STATUS = 48,    /* u32    */
	VR_RH_DEVICE_STATUS = 52,    /* u32    */
	VR_RH_DRIVER_HEARTBEAT = 56, /* u32    */
	VR_RH_DEVICE_HEARTBEAT = 60, /* u32    */
	VR_RH_POOL_OFF = 64,         /* u64    */
	VR_RH_POOL_BYTES = 72,       /* u64    */
	VR_RH_BUF_BYTES = 80,        /* u32    */
	VR_RH_BUF_COUNT = 84,        /* u32    */
	VR_RH_STATS_OFF = 88         /* u64, 0 = no statistics area */
};

/** Queue table entry fields (offsets within a 32-byte entry). */
enum vr_region_qfield {
	VR_RQ_SIZE = 0,       /* u16 */
	VR_RQ_FORMAT = 2,     /* u16 */
	VR_RQ_FLAGS = 4,      /* u32, 0 */
	VR_RQ_DESC_OFF = 8,   /* u64 */
	VR_RQ_DRIVER_OFF = 16, /* u64: split avail ring / packed driver event */
	VR_RQ_DEVICE_OFF = 24  /* u64: split used ring / packed device event */
};

/**
 * Statistics area: one 64-byte record per queue and side (driver record of
 * queue q at stats_off + 128 q, device record 64 bytes after it), each written only by
 * its side with single relaxed 32-bit stores, and read by anyone (vringctl)
 * for display. Counters are free-running u32 values: compute rates with
 * unsigned differences. They are informational: no side ever reads the
 * peer's record to make a decision, so a hostile peer that scribbles on
 * them changes nothing but what a monitor shows.
 */
enum vr_region_stat {
	VR_RS_PUBLISHED = 0,  /**< buffers made available to the peer (driver:
				   chains added; device: chains returned used) */
	VR_RS_CONSUMED = 1,   /**< buffers taken from the peer (driver: used
				   entries collected; device: chains popped) */
	VR_RS_NOTIFIES = 2,   /**< doorbells rung */
	VR_RS_SUPPRESSED = 3, /**< doorbells not rung: the peer did not ask */
	VR_RS_COALESCED = 4,  /**< doorbells this side's policy merged away */
	VR_RS_WAITS = 5,      /**< sleeps on the doorbell */
	VR_RS_WAKEUPS = 6,    /**< sleeps ended by the doorbell */
	VR_RS_SPURIOUS = 7,   /**< ... that then found no work */
	VR_RS_SPINS = 8,      /**< spin phases (adaptive or polling waits) */
	VR_RS_SPIN_HITS = 9,  /**< spin phases that found work */
	VR_RS_ERROR = 10,     /**< last protocol error this side met (a
				   negative VR_E* code as u32), 0 if none */
	VR_RS_COUNT = 16      /**< u32 slots per record (64 bytes) */
};

#define VR_REGION_STATS_RECORD_BYTES 64u
/** Bytes of the statistics area of a region with @p queue_count queues. */
#define VR_REGION_STATS_BYTES(queue_count) \
	((uint64_t)(queue_count) * 2u * VR_REGION_STATS_RECORD_BYTES)

/** One queue of a region, as configured or as parsed. */
struct vr_region_queue {
	uint32_t size;     /**< queue size */
	uint32_t format;   /**< enum vr_format */
	uint64_t desc_off; /**< offsets from the region base */
	uint64_t driver_off;
	uint64_t device_off;
};

/** What a creator asks for. Offsets are computed by vr_region_format(). */
struct vr_region_cfg {
	uint32_t queue_count;
	struct vr_region_queue queue[VR_REGION_MAX_QUEUES]; /**< size, format */
	uint32_t buf_bytes;       /**< bytes per pool buffer (max message) */
	uint32_t buf_count;       /**< pool buffers */
	uint64_t device_features; /**< features the device side offers */
};

/** A validated private copy of a region header. */
struct vr_region_info {
	uint64_t region_bytes;
	uint32_t version;
	uint32_t queue_count;
	uint32_t generation;
	uint64_t device_features;
	uint64_t pool_off;
	uint64_t pool_bytes;
	uint32_t buf_bytes;
	uint32_t buf_count;
	uint64_t stats_off; /**< statistics area, 0 when the region has none */
	struct vr_region_queue queue[VR_REGION_MAX_QUEUES];
};

/**
 * @brief Bytes a region laid out from @p cfg needs.
 * @return the size, or 0 when @p cfg is invalid (see vr_region_format)
 */
uint64_t vr_region_bytes(const struct vr_region_cfg *cfg);

/**
 * @brief Lay out a region: header, queue table, zeroed rings, zeroed pool.
 *
 * Rings follow the header page in queue order, each area aligned to
 * VR_REGION_ALIGN; then the statistics area (VR_REGION_STATS_BYTES); the
 * pool comes last, aligned likewise. The status words
 * and heartbeats start at 0, driver features at 0.
 * @param base       region base, VR_REGION_ALIGN-aligned
 * @param len        bytes mapped at @p base
 * @param cfg        queues (1..VR_REGION_MAX_QUEUES, sizes valid for
 *                   their format), pool (buf_bytes >= 1, buf_count >= 1)
 * @param generation the value to store in the generation field
 * @param out        if not NULL, receives the parsed view of the result
 * @return 0; VR_EINVAL (bad cfg); VR_EALIGN (base); VR_ERANGE (len too
 *         small)
 */
int vr_region_format(void *base, size_t len, const struct vr_region_cfg *cfg,
		     uint32_t generation, struct vr_region_info *out);

/**
 * @brief Read and validate a region header, once.
 *
 * Copies every header field out of @p base once, then checks the copy:
 * magic, version, header size, region size against @p len, queue count,
 * each queue's size for its format, every area's offset, size and alignment
 * within the region and clear of the header, the pool and each other, and
 * the pool's buffers within the pool (no overflow).
 * @return 0 with @p out filled; VR_EINVAL (NULL); VR_EALIGN (base);
 *         VR_ETRUNC (@p len below the header page or below the size the
 *         header states); VR_EMAGIC; VR_EVERSION; VR_EREGION (anything
 *         else inconsistent)
 */
int vr_region_parse(const void *base, size_t len, struct vr_region_info *out);

/**
 * @brief The three areas of queue @p q of a parsed region, as pointers.
 * @return 0; VR_EINVAL (q out of range or not of that format)
 */
int vr_region_split_areas(void *base, const struct vr_region_info *info,
			  uint32_t q, struct vr_split_areas *areas);
int vr_region_packed_areas(void *base, const struct vr_region_info *info,
			   uint32_t q, struct vr_packed_areas *areas);

/* @p a times @p b, all 64 bits of it. Cortex-M0+ (armv6-m) has no 32x32->64
 * multiply, and GCC would call libgcc's __aeabi_lmul, which a freestanding
 * image need not carry: there, four 16-bit products (each fits 32 bits).
 * Elsewhere the plain product. */
VR_INLINE uint64_t vr__mul32_wide(uint32_t a, uint32_t b)
{
#if defined(__ARM_ARCH_6M__)
	uint32_t al = a & 0xffffu, ah = a >> 16, bl = b & 0xffffu, bh = b >> 16;
	uint64_t mid = (uint64_t)(ah * bl) + (al * bh);

	return ((uint64_t)(ah * bh) << 32) + (mid << 16) + (al * bl);
#else
	return (uint64_t)a * b;
#endif
}

/** @brief Bus address (region offset) and pointer of pool buffer @p i. */
VR_INLINE uint64_t vr_region_buf_addr(const struct vr_region_info *info,
				      uint32_t i)
{
	return info->pool_off + vr__mul32_wide(i, info->buf_bytes);
}

/**
 * @brief The device's view: a window covering the pool only, so that a
 *        descriptor naming the header or the rings is refused.
 */
VR_INLINE struct vr_mem vr_region_pool_window(void *base,
					      const struct vr_region_info *info)
{
	return vr_mem_window((unsigned char *)base + info->pool_off,
			     info->pool_off, info->pool_bytes);
}

/**
 * @brief The statistics record of queue @p q, side @p role (VR_ROLE_DRIVER
 *        or VR_ROLE_DEVICE, see vring/transport.h), or NULL when the region
 *        has no statistics area or @p q / @p role are out of range.
 */
VR_INLINE uint32_t *vr_region_stats(void *base, const struct vr_region_info *info,
				    uint32_t q, uint32_t role)
{
	if (info->stats_off == 0 || q >= info->queue_count ||
	    (role != VR_ROLE_DRIVER && role != VR_ROLE_DEVICE))
		return (uint32_t *)0;
	return (uint32_t *)(void *)((unsigned char *)base + info->stats_off +
				    (uint64_t)q * 2u * VR_REGION_STATS_RECORD_BYTES +
				    (role == VR_ROLE_DEVICE ? VR_REGION_STATS_RECORD_BYTES : 0u));
}

/** Read counter @p which of a statistics record (relaxed: a snapshot). */
VR_INLINE uint32_t vr_region_stat_load(const uint32_t *rec, enum vr_region_stat which)
{
	return vr__le32(vr__load32(&rec[which]));
}

/** Write counter @p which of this side's record (relaxed: one writer, and
 *  readers only display it). */
VR_INLINE void vr_region_stat_store(uint32_t *rec, enum vr_region_stat which,
				    uint32_t v)
{
	vr__store32(&rec[which], vr__le32(v));
}

/* ---- Live fields: one atomic access each ------------------------------- */

VR_INLINE uint32_t *vr__region_u32(void *base, unsigned off)
{
	return (uint32_t *)(void *)((unsigned char *)base + off);
}

/**
 * Read a u32 field the peer may write at any time (status, heartbeat,
 * generation). Acquire: what the peer wrote before its release store of
 * the field (for example its rings before DRIVER_OK) is visible after.
 */
VR_INLINE uint32_t vr_region_load(void *base, enum vr_region_field field)
{
	return vr__le32(vr__load32_acquire(vr__region_u32(base, field)));
}

/** Write a u32 field this side owns. Release: pairs with vr_region_load. */
VR_INLINE void vr_region_store(void *base, enum vr_region_field field,
			       uint32_t v)
{
	vr__store32_release(vr__region_u32(base, field), vr__le32(v));
}

/** Read a 64-bit feature field as two untorn halves (low first). */
uint64_t vr_region_load_features(void *base, enum vr_region_field field);

/** Write a 64-bit feature field (high half, then low half with release). */
void vr_region_store_features(void *base, enum vr_region_field field,
			      uint64_t v);

VR_EXTERN_C_END

#endif /* VRING_REGION_H */
