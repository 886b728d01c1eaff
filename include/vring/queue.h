/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/queue.h
 * @brief Types shared by the split and packed queues of both roles.
 *
 * A driver hands buffers to the device as struct vr_seg (bus address and
 * length) and gets them back as struct vr_used_buf. A device takes chains as
 * struct vr_chain, whose segments are already translated to local pointers
 * (struct vr_iov) and validated.
 *
 * Concurrency: none of these types is shared between threads by libvring;
 * each queue object (struct vr_split_drv, ...) belongs to one thread at a
 * time. The driver object and the device object of one ring may run on two
 * threads, processes or VMs at once: that is the point of the library.
 */
#ifndef VRING_QUEUE_H
#define VRING_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detail/compiler.h"
#include "errors.h"
#include "mem.h"

VR_EXTERN_C_BEGIN

/** One buffer of a chain, as the driver describes it. */
struct vr_seg {
	uint64_t addr; /**< bus address (translated by the device's vr_mem) */
	uint32_t len;  /**< bytes; 0 is refused unless VR_QF_ZERO_LEN_OK */
};

/** One validated segment of a chain, as the device sees it. */
struct vr_iov {
	void *base;
	uint32_t len;
};

/**
 * A chain taken by the device. The caller sets @c iov and @c iov_cap; the
 * pop call fills the rest. Readable segments come first (n_out of them),
 * then writable ones (n_in).
 */
struct vr_chain {
	struct vr_iov *iov; /**< caller's array for the segments */
	uint16_t iov_cap;   /**< entries in @c iov */
	uint16_t id;        /**< head index (split) or buffer id (packed) */
	uint16_t n_out;     /**< device-readable segments */
	uint16_t n_in;      /**< device-writable segments */
	uint16_t ndesc;     /**< ring descriptors the chain occupies */
	uint32_t out_bytes; /**< total readable bytes */
	uint32_t in_bytes;  /**< total writable bytes */
};

/** A buffer the device has returned, as the driver collects it. */
struct vr_used_buf {
	void *cookie; /**< what the driver passed when adding the chain */
	uint32_t len; /**< bytes the device wrote (validated <= writable) */
	uint16_t id;  /**< head index (split) or buffer id (packed) */
};

/** One chain for a driver's add burst (vr_split_drv_add_burst, ...). */
struct vr_add {
	const struct vr_seg *seg; /**< n_out readable then n_in writable */
	uint16_t n_out;           /**< device-readable segments */
	uint16_t n_in;            /**< device-writable segments */
	void *cookie;             /**< returned with the chain when used */
};

/** One completion for a device's complete burst. */
struct vr_done {
	uint16_t id;  /**< chain id as popped */
	uint32_t len; /**< bytes written */
};

/**
 * One single-segment message for a driver's add_bufs call
 * (vr_split_drv_add_bufs, vr_packed_drv_add_bufs): the narrow form of
 * struct vr_add for the common case of one buffer per message. The
 * direction (device-readable or device-writable) is the call's.
 */
struct vr_add_buf {
	struct vr_seg seg; /**< the buffer */
	void *cookie;      /**< returned with the buffer when used */
};

/**
 * One single-segment chain as a device's pop_bufs call
 * (vr_split_dev_pop_bufs, vr_packed_dev_pop_bufs) hands it out: the narrow
 * form of struct vr_chain plus its one struct vr_iov, validated and
 * translated exactly as vr_*_dev_pop() does it.
 */
struct vr_buf {
	void *base;        /**< local address of the buffer */
	uint32_t len;      /**< bytes */
	uint16_t id;       /**< chain id, for the completion */
	uint16_t writable; /**< 1: device-writable (n_in = 1), 0: readable */
};

/** Per-queue options (vr_queue_cfg.flags). */
enum vr_queue_flags {
	/**
	 * Driver side: clamp a used length larger than the chain's writable
	 * bytes instead of breaking the queue. Some remotes (OpenAMP, Zephyr
	 * rpmsg) report a length on device-readable buffers; the length handed
	 * to the caller is still never larger than what it gave.
	 */
	VR_QF_CLAMP_USED_LEN = 1u << 0,
	/**
	 * Driver side, packed ring: take the used length even when the used
	 * descriptor lacks VIRTQ_DESC_F_WRITE (section 2.8.4 says it then
	 * carries no length). QEMU (7.2 and later) never sets WRITE on used
	 * descriptors and Linux ignores it, so a driver facing QEMU needs
	 * this. The length is still checked against the chain's writable
	 * bytes, and a chain with none gets 0.
	 */
	VR_QF_USED_LEN_WITHOUT_WRITE = 1u << 1,
	/**
	 * Accept zero-length descriptors (off by default: QEMU's rule, and a
	 * peer that sends one is usually broken). The spec does not forbid
	 * them and some implementations send them (OpenAMP's virtqueue, peers
	 * built on <linux/virtio_ring.h>). Device side: a zero-length data
	 * descriptor adds no segment and no byte to the chain (its address is
	 * never translated or touched), though its direction still counts
	 * for the readable-before-writable rule; a chain of only zero-length
	 * descriptors is an empty chain (n_out = n_in = 0). Driver side: add
	 * accepts zero-length segments. Either way the walk stays bounded by
	 * the descriptor count, so a loop of zero-length descriptors is still
	 * VR_ELOOP. An indirect descriptor of length 0 is still VR_EINDIRECT.
	 */
	VR_QF_ZERO_LEN_OK = 1u << 2
};

/** Configuration shared by every queue init call. */
struct vr_queue_cfg {
	uint32_t num;      /**< queue size */
	uint64_t features; /**< negotiated features, VR_FEATURE(VR_F_*) bits */
	uint32_t flags;    /**< VR_QF_* */
	struct vr_mem mem; /**< address translation and cache hooks (copied) */
	/**
	 * Device side: the most entries an indirect table may have. 0 means
	 * the queue size, as virtio 1.2 section 2.7.5.3.1 asks of drivers;
	 * some drivers (Linux with a large seg_max) send longer tables, so a
	 * device may allow up to 32768 (more is VR_EINVAL at init: a chain's
	 * segment count must fit 16 bits).
	 */
	uint32_t max_indirect;
};

/** Counters a queue keeps about itself (plain, owned by its thread). */
struct vr_queue_stats {
	uint64_t notify_needed;     /**< need_notify said "notify the peer" */
	uint64_t notify_suppressed; /**< need_notify said "no need" */
	uint64_t used_len_clamped;  /**< used lengths clamped (VR_QF_CLAMP_USED_LEN) */
};

/**
 * Driver-private record of one chain (by head index or buffer id). Kept out
 * of shared memory: the driver never reads back what the peer could change.
 */
struct vr_drv_slot {
	void *cookie;
	uint32_t in_len;     /**< writable bytes of the chain */
	uint16_t ndesc;      /**< ring descriptors of the chain; 0 = not in flight */
	uint16_t next;       /**< free-list link (and split chain link) */
	uint16_t last;       /**< split: tail descriptor of the chain */
	uint16_t order_next; /**< in-order FIFO link */
};

#define VR__NONE 0xffffu /* "no index" in 16-bit links */

/*
 * The checks every driver add makes before touching anything: at least one
 * segment, at most @max, none empty (unless @zero_ok: VR_QF_ZERO_LEN_OK),
 * and no more than 4 GiB in the whole chain (section 2.7.5.2). On success
 * *in_len is the writable bytes.
 */
VR_INLINE int vr__segs_check(const struct vr_seg *seg, unsigned n_out,
			     unsigned n_in, unsigned max, bool zero_ok,
			     uint32_t *in_len)
{
	unsigned n = n_out + n_in, i;
	uint64_t total = 0, writable = 0;

	if (VR_UNLIKELY(n == 0 || n > max || seg == NULL))
		return VR_EINVAL;
	for (i = 0; i < n; i++) {
		/* zero_ok is looked at only for an empty segment. */
		if (VR_UNLIKELY(seg[i].len == 0) && !zero_ok)
			return VR_EINVAL;
		total += seg[i].len;
		if (i >= n_out)
			writable += seg[i].len;
	}
	if (VR_UNLIKELY(total > UINT32_MAX))
		return VR_EINVAL;
	*in_len = (uint32_t)writable;
	return 0;
}

/**
 * @brief Device side, non-coherent memory: write back the first @p len
 *        bytes of the chain's writable segments (what the device wrote)
 *        before completing it. Does nothing without a clean hook.
 */
void vr_chain_clean_written(const struct vr_mem *mem,
			    const struct vr_chain *chain, uint32_t len);

VR_EXTERN_C_END

#endif /* VRING_QUEUE_H */
