/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/layout.h
 * @brief virtio 1.2 virtqueue wire structures and constants (split and
 *        packed), and the size/offset arithmetic for a queue size.
 *
 * Nothing here has behaviour: it is the byte layout the peer sees. All
 * multi-byte fields are little-endian on the wire (virtio 1.x), whatever the
 * CPU; the ring code converts. Names use the vr_/VR_ prefix so that this
 * header and <linux/virtio_ring.h> can be included together.
 *
 * Split ring (virtio 1.2 section 2.7): descriptor table (16 * N bytes, align
 * 16), available ring (6 + 2 * N, align 2), used ring (6 + 8 * N, align 4).
 * Packed ring (section 2.8): descriptor ring (16 * N, align 16), driver and
 * device event suppression areas (4 bytes each, align 4).
 *
 * The size helpers are pure functions; call them from any thread.
 */
#ifndef VRING_LAYOUT_H
#define VRING_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "detail/compiler.h"

VR_EXTERN_C_BEGIN

/* ---- Feature bits (bit numbers, as in the spec) ------------------------ */
#define VR_F_INDIRECT_DESC 28 /**< indirect descriptor tables */
#define VR_F_EVENT_IDX 29     /**< used_event / avail_event suppression */
#define VR_F_VERSION_1 32     /**< virtio 1.x (little-endian rings) */
#define VR_F_RING_PACKED 34   /**< packed virtqueue layout */
#define VR_F_IN_ORDER 35      /**< buffers are used in the order made available */
#define VR_F_RING_RESET 40    /**< per-queue reset */

/** The mask of a feature bit number, e.g. VR_FEATURE(VR_F_EVENT_IDX). */
#define VR_FEATURE(bit) ((uint64_t)1 << (bit))

/** The ring features libvring implements; others are ignored by the core. */
#define VR_RING_FEATURES                                                   \
	(VR_FEATURE(VR_F_INDIRECT_DESC) | VR_FEATURE(VR_F_EVENT_IDX) |     \
	 VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_RING_PACKED) |       \
	 VR_FEATURE(VR_F_IN_ORDER) | VR_FEATURE(VR_F_RING_RESET))

/* ---- Descriptor flags --------------------------------------------------- */
#define VR_DESC_F_NEXT 0x1u     /**< chain continues (split: via next) */
#define VR_DESC_F_WRITE 0x2u    /**< device-writable buffer */
#define VR_DESC_F_INDIRECT 0x4u /**< buffer holds a descriptor table */
#define VR_DESC_F_AVAIL 0x80u   /**< packed: available bit (bit 7) */
#define VR_DESC_F_USED 0x8000u  /**< packed: used bit (bit 15) */

/* ---- Split ring suppression flags --------------------------------------- */
#define VR_AVAIL_F_NO_INTERRUPT 0x1u /**< driver: do not notify me of used */
#define VR_USED_F_NO_NOTIFY 0x1u     /**< device: do not kick me */

/* ---- Packed ring event suppression flags -------------------------------- */
#define VR_EVENT_F_ENABLE 0x0u  /**< notify on every change */
#define VR_EVENT_F_DISABLE 0x1u /**< do not notify */
#define VR_EVENT_F_DESC 0x2u    /**< notify at off_wrap (needs EVENT_IDX) */
#define VR_EVENT_WRAP_SHIFT 15  /**< wrap counter bit in off_wrap */

/* ---- Limits -------------------------------------------------------------- */
#define VR_QUEUE_SIZE_MAX 32768u /**< largest split or packed queue size */
#define VR_DESC_ALIGN 16u
#define VR_AVAIL_ALIGN 2u
#define VR_USED_ALIGN 4u
#define VR_EVENT_ALIGN 4u
/** Used-ring alignment of the legacy contiguous layout (vring_init). */
#define VR_LEGACY_ALIGN 4096u

/* ---- Split ring structures ---------------------------------------------- */

/** Split descriptor (section 2.7.5), also an indirect table entry. */
struct vr_desc {
	uint64_t addr; /**< bus address of the buffer */
	uint32_t len;  /**< length in bytes */
	uint16_t flags;
	uint16_t next; /**< next descriptor if flags has VR_DESC_F_NEXT */
};

/** Head of the available ring; ring[N] and used_event follow it. */
struct vr_avail {
	uint16_t flags;
	uint16_t idx;
};

/** One used ring element (section 2.7.8); id is 32 bits for padding. */
struct vr_used_elem {
	uint32_t id;
	uint32_t len;
};

/** Head of the used ring; ring[N] and avail_event follow it. */
struct vr_used {
	uint16_t flags;
	uint16_t idx;
};

/* ---- Packed ring structures --------------------------------------------- */

/** Packed descriptor (section 2.8.13), also an indirect table entry. */
struct vr_packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

/** Packed event suppression structure (section 2.8.14). */
struct vr_packed_event {
	uint16_t off_wrap; /**< bits 0..14 offset, bit 15 wrap counter */
	uint16_t flags;    /**< VR_EVENT_F_* */
};

VR_STATIC_ASSERT(sizeof(struct vr_desc) == 16, "split descriptor is 16 bytes");
VR_STATIC_ASSERT(offsetof(struct vr_desc, addr) == 0, "desc.addr at 0");
VR_STATIC_ASSERT(offsetof(struct vr_desc, len) == 8, "desc.len at 8");
VR_STATIC_ASSERT(offsetof(struct vr_desc, flags) == 12, "desc.flags at 12");
VR_STATIC_ASSERT(offsetof(struct vr_desc, next) == 14, "desc.next at 14");
VR_STATIC_ASSERT(sizeof(struct vr_avail) == 4, "avail header is 4 bytes");
VR_STATIC_ASSERT(offsetof(struct vr_avail, idx) == 2, "avail.idx at 2");
VR_STATIC_ASSERT(sizeof(struct vr_used_elem) == 8, "used element is 8 bytes");
VR_STATIC_ASSERT(offsetof(struct vr_used_elem, len) == 4, "used.len at 4");
VR_STATIC_ASSERT(sizeof(struct vr_used) == 4, "used header is 4 bytes");
VR_STATIC_ASSERT(offsetof(struct vr_used, idx) == 2, "used.idx at 2");
VR_STATIC_ASSERT(sizeof(struct vr_packed_desc) == 16, "packed desc is 16 bytes");
VR_STATIC_ASSERT(offsetof(struct vr_packed_desc, len) == 8, "pdesc.len at 8");
VR_STATIC_ASSERT(offsetof(struct vr_packed_desc, id) == 12, "pdesc.id at 12");
VR_STATIC_ASSERT(offsetof(struct vr_packed_desc, flags) == 14, "pdesc.flags at 14");
VR_STATIC_ASSERT(sizeof(struct vr_packed_event) == 4, "event area is 4 bytes");
VR_STATIC_ASSERT(offsetof(struct vr_packed_event, flags) == 2, "event.flags at 2");

/* ---- Accessors for the arrays that follow the ring headers -------------- */

/** avail->ring[i] */
VR_INLINE uint16_t *vr_avail_ring(struct vr_avail *avail)
{
	return (uint16_t *)(void *)(avail + 1);
}

/** avail->used_event, just after ring[num] */
VR_INLINE uint16_t *vr_avail_used_event(struct vr_avail *avail, uint32_t num)
{
	return vr_avail_ring(avail) + num;
}

/** used->ring[i] */
VR_INLINE struct vr_used_elem *vr_used_ring(struct vr_used *used)
{
	return (struct vr_used_elem *)(void *)(used + 1);
}

/** used->avail_event, just after ring[num] */
VR_INLINE uint16_t *vr_used_avail_event(struct vr_used *used, uint32_t num)
{
	return (uint16_t *)(void *)(vr_used_ring(used) + num);
}

/* ---- Sizes and offsets --------------------------------------------------- */

/** True for a valid split queue size: a power of two, 1..32768. */
VR_INLINE int vr_split_size_valid(uint32_t num)
{
	return num >= 1 && num <= VR_QUEUE_SIZE_MAX && (num & (num - 1)) == 0;
}

/** True for a valid packed queue size: 1..32768 (need not be a power of 2). */
VR_INLINE int vr_packed_size_valid(uint32_t num)
{
	return num >= 1 && num <= VR_QUEUE_SIZE_MAX;
}

/** Bytes of a split descriptor table for @p num entries. */
VR_INLINE size_t vr_split_desc_bytes(uint32_t num)
{
	return (size_t)16 * num;
}

/** Bytes of a split available ring, with used_event. */
VR_INLINE size_t vr_split_avail_bytes(uint32_t num)
{
	return (size_t)6 + (size_t)2 * num;
}

/** Bytes of a split used ring, with avail_event. */
VR_INLINE size_t vr_split_used_bytes(uint32_t num)
{
	return (size_t)6 + (size_t)8 * num;
}

/** Bytes of a packed descriptor ring. */
VR_INLINE size_t vr_packed_desc_bytes(uint32_t num)
{
	return (size_t)16 * num;
}

/**
 * Offsets of the three areas of a queue laid out contiguously from one base.
 * For the split ring this is the legacy layout of vring_init(): descriptor
 * table at 0, available ring right after it, used ring at the next multiple
 * of @c align. For the packed ring: descriptors at 0, the driver event area
 * right after them, the device event area after that.
 */
struct vr_layout {
	size_t desc_off;   /**< descriptor table / ring */
	size_t driver_off; /**< split: available ring; packed: driver event area */
	size_t device_off; /**< split: used ring; packed: device event area */
	size_t total;      /**< bytes from base to the end of the last area */
};

/**
 * @brief Compute the contiguous split layout for @p num entries.
 * @param align used-ring alignment: a power of two >= 4 (4096 for legacy)
 * @return 0, or VR_EINVAL for a bad queue size or alignment
 */
int vr_split_layout(uint32_t num, size_t align, struct vr_layout *out);

/**
 * @brief Compute the contiguous packed layout for @p num entries.
 * @return 0, or VR_EINVAL for a bad queue size
 */
int vr_packed_layout(uint32_t num, struct vr_layout *out);

VR_EXTERN_C_END

#endif /* VRING_LAYOUT_H */
