/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/transport.h
 * @brief The one interface every transport implements.
 *
 * A transport gives a channel three things the ring core cannot provide
 * itself: the shared region (mapped by the transport, however it gets it:
 * memfd passed over a socket, an ivshmem PCI BAR, a fixed address on an
 * RTOS), doorbells (notify the peer about a queue, wait to be notified),
 * and news of the peer (alive, gone). The ring core never calls a
 * transport; the channel (vring/channel.h) calls notify only when the
 * suppression logic says the peer asked for it.
 *
 * Creating a transport is transport-specific (vr_shm_listen(),
 * vr_shm_connect(), ... in transports/<name>/); what they return is a
 * struct vr_transport whose ops the channel uses.
 *
 * Threads: notify may be called from any thread; wait on one queue from one
 * thread at a time; peer_state from any thread.
 */
#ifndef VRING_TRANSPORT_H
#define VRING_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "detail/compiler.h"

VR_EXTERN_C_BEGIN

/** Which side of every queue this end plays. */
enum vr_role {
	VR_ROLE_DRIVER = 1, /**< adds buffers (owns the pool), collects them */
	VR_ROLE_DEVICE = 2  /**< takes chains, returns them used */
};

/** Transport flags (struct vr_transport.flags). */
enum vr_transport_flags {
	/** No doorbells: notify does nothing, wait only sleeps briefly; the
	 *  channel polls the rings. Liveness comes from heartbeats. */
	VR_TRANSPORT_POLLING = 1u << 0
};

/** Peer states returned by peer_state. */
enum vr_peer_state {
	VR_PEER_WAITING = 0, /**< no peer attached yet */
	VR_PEER_ALIVE = 1    /**< attached and alive; VR_EPEERDEAD when gone */
};

/** "Wait without a time limit" for vr_transport_ops.wait. */
#define VR_WAIT_FOREVER UINT64_MAX

struct vr_transport;

struct vr_transport_ops {
	/**
	 * Ring the peer's doorbell for queue @p q: "there is work in q for
	 * you". Returns 0, VR_EPEERDEAD, VR_EIO, or VR_EINVAL (q out of
	 * range). In polling mode: nothing to ring, returns 0.
	 */
	int (*notify)(struct vr_transport *t, uint32_t q);
	/**
	 * Wait until the peer rings this side's doorbell for queue @p q, at
	 * most @p timeout_ns (0: just check). A wakeup may be spurious: the
	 * caller always re-checks its ring. Returns 0 (rung, or spurious),
	 * VR_ETIMEDOUT, VR_EPEERDEAD, VR_EIO, or VR_EINVAL (q out of range).
	 * In polling mode it sleeps a short while (or the timeout, if
	 * shorter) and returns 0, or VR_ETIMEDOUT when the timeout was that
	 * short: the caller polls its ring again.
	 */
	int (*wait)(struct vr_transport *t, uint32_t q, uint64_t timeout_ns);
	/** VR_PEER_WAITING, VR_PEER_ALIVE, or VR_EPEERDEAD. Cheap. */
	int (*peer_state)(struct vr_transport *t);
	/** Monotonic time in nanoseconds, for timeouts. */
	uint64_t (*now_ns)(struct vr_transport *t);
};

/** The part of every transport a channel sees. */
struct vr_transport {
	const struct vr_transport_ops *ops;
	void *region;      /**< the mapped shared region */
	size_t region_len; /**< bytes mapped */
	uint32_t role;     /**< enum vr_role of this end */
	uint32_t flags;    /**< enum vr_transport_flags */
};

VR_EXTERN_C_END

#endif /* VRING_TRANSPORT_H */
