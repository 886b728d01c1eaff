/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/errors.h
 * @brief The one list of libvring error codes.
 *
 * Every libvring call that can fail returns an int: 0 or a count on success,
 * a negative VR_E* code on failure. The numbers are fixed (they may appear in
 * logs and in the shared region) and never reused.
 *
 * Three kinds of failure are kept apart:
 *  - "try again" (VR_EAGAIN, VR_ENOSPC): nothing is wrong, the ring is empty
 *    or full right now;
 *  - a mistake by the local caller (VR_EINVAL, VR_ESTATE, ...): nothing in
 *    shared memory was touched and the queue stays usable;
 *  - a protocol violation by the peer (codes <= VR_EPROTO_FIRST): the queue
 *    marks itself broken, every later call returns VR_EBROKEN, and only a
 *    reset makes it usable again. vr_is_protocol_error() tells these apart.
 *
 * vr_strerror() is safe from any thread at any time (it only reads constant
 * strings).
 */
#ifndef VRING_ERRORS_H
#define VRING_ERRORS_H

#include "detail/compiler.h"

VR_EXTERN_C_BEGIN

enum vr_error {
	VR_OK = 0,
	/* Try again later. */
	VR_EAGAIN = -1,   /**< nothing to take (ring empty) or to collect */
	VR_ENOSPC = -2,   /**< not enough free descriptors for this chain */
	/* The local caller's mistake: nothing shared was touched. */
	VR_EINVAL = -3,   /**< an argument is out of range or NULL */
	VR_ERANGE = -4,   /**< region or buffer too small for the queue size */
	VR_EALIGN = -5,   /**< a ring area is not aligned as the spec requires */
	VR_ENOTSUP = -6,  /**< the call needs a feature that was not negotiated */
	VR_E2BIG = -7,    /**< chain has more segments than the iov array holds;
	                       the chain stays in the ring, call again with more */
	VR_ESTATE = -8,   /**< call not valid now (e.g. push of an id not popped) */
	VR_EBROKEN = -9,  /**< queue broken by an earlier protocol violation;
	                       reset it (VIRTIO_F_RING_RESET semantics) */

	/* Protocol violations by the peer: the queue is now broken. */
	VR_EPROTO_FIRST = -16,
	VR_EAVAILIDX = -16, /**< avail index moved by more than the queue size */
	VR_EHEAD = -17,     /**< chain head index out of range */
	VR_ENEXT = -18,     /**< descriptor next index out of range */
	VR_ELOOP = -19,     /**< chain loops or is longer than the queue size */
	VR_ENESTED = -20,   /**< indirect descriptor inside an indirect table */
	VR_EINDIRECT = -21, /**< bad indirect descriptor: not negotiated, length 0,
	                         not a multiple of 16, too long, or with NEXT
	                         (a table may sit at any alignment) */
	VR_EOVERFLOW = -22, /**< addr + len wraps, or chain total exceeds 4 GiB */
	VR_EFAULT = -23,    /**< buffer outside the memory the caller allows */
	VR_EORDER = -24,    /**< device-readable segment after a writable one */
	VR_EZEROLEN = -25,  /**< zero-length data descriptor (refused unless the
	                         queue has VR_QF_ZERO_LEN_OK) */
	VR_EINFLIGHT = -26, /**< head already in flight, or more chains in
	                         flight than the queue size */
	VR_EBUFID = -27,    /**< packed buffer id out of range */
	VR_EUSEDID = -28,   /**< used id out of range or not in flight */
	VR_EUSEDLEN = -29,  /**< used length larger than the writable bytes */
	VR_EUSEDIDX = -30,  /**< used index moved past the buffers in flight */
	VR_EFLAGS = -31,    /**< packed flags inconsistent (a chained descriptor
	                         not available in the current wrap) */
	VR_EPROTO_LAST = -31,

	/* Regions, channels and transports. */
	VR_ETIMEDOUT = -40, /**< the wait ended before anything arrived */
	VR_EMSGSIZE = -41,  /**< message larger than the channel's maximum */
	VR_EPEERDEAD = -42, /**< the peer is gone (hang-up, heartbeat stopped,
	                         or it reset the region); reconnect */
	VR_EMAGIC = -43,    /**< not a libvring region (bad magic) */
	VR_EVERSION = -44,  /**< region layout version not supported */
	VR_EREGION = -45,   /**< region header inconsistent: an offset or size
	                         outside the region, overlapping areas, or a
	                         queue size the header cannot hold */
	VR_ETRUNC = -46,    /**< region smaller than its header says */
	VR_EIO = -47,       /**< the operating system refused (see errno) */
	VR_EPERM = -48,     /**< not allowed to join (authentication, busy) */
	VR_EFEATURES = -49, /**< feature negotiation failed */

	/* virtio drivers (transports/virtio, transports/mmio): the device. */
	VR_ENODEV = -50,    /**< no virtio device there (bad magic, id 0) */
	VR_ELEGACY = -51,   /**< legacy (pre-1.0) virtio device, not supported */
	VR_ECONFIGGEN = -52, /**< config generation never settled */
	VR_ENEEDSRESET = -53, /**< device set DEVICE_NEEDS_RESET (or dropped
	                           a status bit): reset and set it up again */
	VR_EQUEUE = -54,    /**< device's queue unusable: QueueNumMax 0 or
	                         above the library limit, already ready, or a
	                         value that did not read back */
	VR_EDEVICE = -55,   /**< device out of spec or unusable: a register
	                         value out of range (unknown version, features
	                         changing or not offered, unknown interrupt
	                         bits, a peer id out of range), a missing or
	                         too small BAR, no interrupt path where one was
	                         required */

	/* virtio device model (transports/mmio/device): the driver. */
	VR_EMMIOREG = -56,  /**< register access the device ignores: unknown
	                         offset, read-only register, bad width or
	                         alignment, config access outside the window */
	VR_EOVERLAP = -57,  /**< ring areas the driver programmed overlap */
	/* Message protocol (vring/frame.h, msg/). */
	VR_EDUPLICATE = -73, /**< a second answer to an answered request */
	VR_ENOMATCH = -74,   /**< no such request, command or message type */
	VR_EBADMSG = -75,    /**< malformed frame or message (bad magic,
	                          header, length, or payload that does not
	                          decode) */
	VR_ECRC = -76        /**< frame payload CRC-32C mismatch */
};

/**
 * @brief A short English description of an error code.
 * @param err any int returned by libvring (0, a count, or a VR_E* code)
 * @return a constant string; never NULL ("unknown error" for other values)
 */
const char *vr_strerror(int err);

/**
 * @brief The symbolic name of an error code, e.g. "VR_ELOOP".
 * @return a constant string; never NULL ("VR_E?" for unknown values)
 */
const char *vr_errname(int err);

/** @brief True when @p err is a protocol violation by the peer. */
VR_INLINE int vr_is_protocol_error(int err)
{
	return err <= VR_EPROTO_FIRST && err >= VR_EPROTO_LAST;
}

VR_EXTERN_C_END

#endif /* VRING_ERRORS_H */
