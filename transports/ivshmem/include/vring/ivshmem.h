/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/ivshmem.h
 * @brief Host peer of QEMU's ivshmem device: a Linux process that joins an
 *        ivshmem server (vring-ivshmem-server, or any server speaking
 *        QEMU's protocol version 0) like a QEMU guest does, or attaches to
 *        an ivshmem-plain object without a server, and gives a channel the
 *        struct vr_transport it needs.
 *
 * Doorbell mode (vr_ivshmem_connect): the server hands every peer the
 * shared-memory fd, an id (0..VR_IVSHMEM_MAX_ID), and one eventfd per vector for
 * every peer, itself included. A peer rings another by writing that
 * peer's eventfd for a vector, exactly what a guest does through the
 * Doorbell register of BAR0; it is rung on its own eventfds (in a guest:
 * MSI-X vectors). Queue q of the region is rung on vector q of the
 * receiving peer, so the server must give at least as many vectors as the
 * region has queues (a channel uses 2: the default).
 *
 * Plain mode (vr_ivshmem_open_plain): the same region in a named POSIX shm
 * object or a file that QEMU maps with ivshmem-plain; no doorbells
 * (VR_TRANSPORT_POLLING), liveness from heartbeats only.
 *
 * The other end: every transport binds one other peer, the channel's peer.
 * cfg.peer_id names it, or VR_IVSHMEM_ANY_PEER binds the lowest id among
 * the complete peers present or, failing that, the first to join. The role (driver or
 * device of the channel) is the caller's choice; the two ends must choose
 * differently. Liveness of the bound peer: the server's announcement that
 * it left, and (unless VR_IVSHMEM_NO_HEARTBEAT_WATCH) its heartbeat in the
 * region, which also catches a guest program that died inside a living
 * QEMU. Once the bound peer is gone, peer_state() says VR_EPEERDEAD until
 * vr_ivshmem_attach_peer() binds a new one. The protocol, the ids, the
 * queue-to-vector map and the session rules are in docs/TRANSPORT_IVSHMEM.md.
 *
 * Everything read from the server socket and the shared memory is
 * untrusted: wrong protocol version, missing or extra fds, unknown or
 * duplicate ids, ids out of range, more than VR_IVSHMEM_MAX_PEERS others
 * at once, an object smaller than its region
 * header says each fail with a clear one-line error (vr_ivshmem_last_error)
 * and every received fd closed.
 *
 * Threads: vr_ivshmem_connect, vr_ivshmem_open_plain,
 * vr_ivshmem_attach_peer and vr_ivshmem_close must not run concurrently
 * with any other call on the same object. Once set up, the transport ops
 * follow vring/transport.h (notify and vr_ivshmem_ring_peer from any thread,
 * wait and vr_ivshmem_wait_vector on one vector from one thread at a time,
 * peer_state and the queries from any thread). Each object runs one
 * background thread (server messages, heartbeat, liveness) between set-up
 * and close. No global state.
 *
 * Errors: every call returns 0 (or a documented non-negative value) or a
 * negative VR_E* code; the set-up calls also leave a one-line English
 * explanation in vr_ivshmem_last_error().
 */
#ifndef VRING_IVSHMEM_H
#define VRING_IVSHMEM_H

#include <stddef.h>
#include <stdint.h>

#include <vring/errors.h>
#include <vring/region.h>
#include <vring/transport.h>

VR_EXTERN_C_BEGIN

/** The ivshmem server protocol version spoken (QEMU ivshmem-spec). */
#define VR_IVSHMEM_PROTOCOL_VERSION 0
/** Largest peer id (the Doorbell register holds it in 16 bits). The same
 *  definition, token for token, as in vring/ivshmem_regs.h, so that both
 *  headers may be included together. */
#ifndef VR_IVSHMEM_MAX_ID
#define VR_IVSHMEM_MAX_ID 0xffffu
#endif
/** Most other peers a host peer keeps track of at once. */
#define VR_IVSHMEM_MAX_PEERS 64u
/** Most vectors (eventfds) per peer. */
#define VR_IVSHMEM_MAX_VECTORS 64u
/** Vectors per peer when the configuration says 0. */
#define VR_IVSHMEM_DEFAULT_VECTORS 2u
/** cfg.peer_id: bind the lowest other peer present, or the first to join. */
#define VR_IVSHMEM_ANY_PEER (-1)
/** Default liveness timeout of the peer's heartbeat. Longer than the shm
 *  transport's: a guest under TCG emulation can stall for a while. */
#define VR_IVSHMEM_LIVENESS_DEFAULT_NS 1000000000ull
/** Default heartbeat period. */
#define VR_IVSHMEM_HEARTBEAT_DEFAULT_NS 10000000ull
/** Bytes of struct vr_ivshmem.err. */
#define VR_IVSHMEM_ERR_BYTES 192

/** Where an ivshmem-plain region lives (vr_ivshmem_open_plain). */
enum vr_ivshmem_backing {
	VR_IVSHMEM_NAMED = 1, /**< POSIX shm object "/name" (/dev/shm/name) */
	VR_IVSHMEM_FILE = 2   /**< a file path (hugetlbfs too) */
};

/** struct vr_ivshmem_cfg.flags. */
enum vr_ivshmem_flags {
	/** Doorbell mode: the peer is alive until the server announces it
	 *  left; its heartbeat is not watched. (Plain mode always watches.) */
	VR_IVSHMEM_NO_HEARTBEAT_WATCH = 1u << 0,
	/** Driver: lay the region out (cfg.region) when the object holds
	 *  none yet (its first 4 bytes are zero). Without it the region must
	 *  exist (the server's --region lays it out). */
	VR_IVSHMEM_FORMAT = 1u << 1,
	/** Plain mode: create the file or named object (exclusively, mode
	 *  0600, sized to cfg.size or the region) and remove it on close. */
	VR_IVSHMEM_CREATE = 1u << 2
};

/** How a host peer joins. Zero-initialise, then fill. */
struct vr_ivshmem_cfg {
	uint32_t role;    /**< VR_ROLE_DRIVER or VR_ROLE_DEVICE */
	int32_t peer_id;  /**< the other end's id, or VR_IVSHMEM_ANY_PEER */
	uint32_t vectors; /**< vectors per peer the server gives (0: 2); a
			       peer with another count is a protocol error */
	uint32_t flags;   /**< enum vr_ivshmem_flags */
	/** VR_IVSHMEM_FORMAT / VR_IVSHMEM_CREATE: the region to lay out. */
	const struct vr_region_cfg *region;
	uint64_t size;    /**< VR_IVSHMEM_CREATE: object size (0: the region's) */
	uint64_t liveness_timeout_ns; /**< 0: VR_IVSHMEM_LIVENESS_DEFAULT_NS */
	uint64_t heartbeat_ns;        /**< 0: VR_IVSHMEM_HEARTBEAT_DEFAULT_NS */
};

struct vr__ivshmem;

/** One host peer. The caller owns the storage. */
struct vr_ivshmem {
	struct vr_transport t; /**< first: what the channel gets (&s->t) */
	struct vr__ivshmem *p; /**< private state */
	char err[VR_IVSHMEM_ERR_BYTES]; /**< see vr_ivshmem_last_error */
};

/**
 * @brief Join an ivshmem server (doorbell mode).
 *
 * Connects to @p socket_path (a stream unix socket), retrying until
 * @p timeout_ns has passed so that the peer may start before the server;
 * reads the protocol version, this peer's id, the shared-memory fd, the
 * eventfds of the peers already there and its own, checking each; maps
 * the whole object; validates the region with vr_region_parse() (a driver
 * with VR_IVSHMEM_FORMAT lays it out first when the object is blank; a
 * device waits, within the timeout, for a blank object to be laid out).
 * A driver starts a new session: it clears the driver status, changes
 * the region's generation (so a device of a previous driver stops) and
 * clears every ring area (the region outlives its peers).
 * Returns with no peer bound (peer_state VR_PEER_WAITING): call
 * vr_ivshmem_attach_peer().
 * @return 0; VR_EINVAL (bad arguments or configuration, or fewer vectors
 *         than the region has queues); VR_ETIMEDOUT (no server, or the
 *         server did not finish in time, or a device found no region);
 *         VR_EPERM (the server closed the connection: too many peers);
 *         VR_EIO (protocol violation by the server: wrong version,
 *         missing or extra fds, unknown, duplicate or out-of-range ids,
 *         an fd that is not an eventfd; or the OS refused); VR_ETRUNC
 *         (object smaller than its region header says); VR_EMAGIC,
 *         VR_EVERSION, VR_EREGION (bad region)
 */
int vr_ivshmem_connect(struct vr_ivshmem *s, const char *socket_path,
		       const struct vr_ivshmem_cfg *cfg, uint64_t timeout_ns);

/**
 * @brief Attach to an ivshmem-plain region without a server: polling
 *        mode, heartbeat liveness, no ids.
 *
 * Opens (or with VR_IVSHMEM_CREATE creates and lays out) @p path, a
 * named object (@p backing VR_IVSHMEM_NAMED, "/name") or a file
 * (VR_IVSHMEM_FILE), maps it whole and validates it as vr_ivshmem_connect
 * does. The peer is bound by vr_ivshmem_attach_peer() once its heartbeat
 * moves.
 * @return as vr_ivshmem_connect, without the protocol errors
 */
int vr_ivshmem_open_plain(struct vr_ivshmem *s, uint32_t backing,
			  const char *path, const struct vr_ivshmem_cfg *cfg,
			  uint64_t timeout_ns);

/**
 * @brief Bind the channel's peer, waiting at most @p timeout_ns.
 *
 * Doorbell mode: the peer cfg.peer_id (or, with VR_IVSHMEM_ANY_PEER, the
 * lowest other complete peer present, or the first to join) once all its
 * vectors are known and its heartbeat moves (with
 * VR_IVSHMEM_NO_HEARTBEAT_WATCH its presence is enough). Plain mode: the peer's
 * heartbeat moves. Call it first after connect, and again after
 * peer_state() said VR_EPEERDEAD (a driver resets its channel with
 * vr_chan_reset() before or after; a device opens its channel again).
 * @return 0 (bound: peer_state VR_PEER_ALIVE); VR_ETIMEDOUT; VR_ESTATE (a
 *         bound peer is alive); VR_EINVAL
 */
int vr_ivshmem_attach_peer(struct vr_ivshmem *s, uint64_t timeout_ns);

/**
 * @brief Leave: stops the thread, unmaps, closes every fd (this closes
 *        the server connection, which announces the departure). Safe on a
 *        zeroed or already closed object.
 */
void vr_ivshmem_close(struct vr_ivshmem *s);

/** @brief This peer's id from the server, or -1 (plain mode). */
int vr_ivshmem_own_id(const struct vr_ivshmem *s);

/** @brief The bound peer's id, or -1 (none; plain mode). */
int vr_ivshmem_peer_id(const struct vr_ivshmem *s);

/**
 * @brief The ids of the other peers the server announced and that have
 *        not left, complete ones only (all their vectors received), in
 *        ascending order: the first @p cap into @p ids. Any thread.
 * @return how many there are (may exceed @p cap); VR_EINVAL
 */
int vr_ivshmem_peers(const struct vr_ivshmem *s, uint32_t *ids, unsigned cap);

/**
 * @brief vr_ivshmem_peers() as a bit mask, for ids below 64 only (bit i:
 *        id i). Any thread.
 */
uint64_t vr_ivshmem_peer_mask(const struct vr_ivshmem *s);

/** @brief Joins plus departures announced since connect. Any thread. */
uint32_t vr_ivshmem_peer_changes(const struct vr_ivshmem *s);

/** @brief Vectors per peer (0 in plain mode). */
uint32_t vr_ivshmem_vectors(const struct vr_ivshmem *s);

/**
 * @brief Ring peer @p peer on @p vector (any peer present, not only the
 *        bound one): what a guest's Doorbell write does.
 * @return 0; VR_EINVAL (no such peer present, vector out of range, plain
 *         mode); VR_EIO
 */
int vr_ivshmem_ring_peer(struct vr_ivshmem *s, int peer, uint32_t vector);

/**
 * @brief Wait until this peer's @p vector is rung, at most @p timeout_ns
 *        (0: just check), and clear it.
 * @return 0 (rung); VR_ETIMEDOUT; VR_EINVAL (vector out of range, plain
 *         mode); VR_EIO
 */
int vr_ivshmem_wait_vector(struct vr_ivshmem *s, uint32_t vector,
			   uint64_t timeout_ns);

/** @brief The parsed region (valid after a successful set-up), or NULL. */
const struct vr_region_info *vr_ivshmem_info(const struct vr_ivshmem *s);

/** @brief One line on the last set-up failure; "" if none. Never NULL. */
const char *vr_ivshmem_last_error(const struct vr_ivshmem *s);

/**
 * @brief Why the bound peer is considered gone ("left the server",
 *        "heartbeat stopped", "server protocol error", "region generation
 *        changed"), or "" while it is not. A constant string; any thread.
 */
const char *vr_ivshmem_peer_error(const struct vr_ivshmem *s);

VR_EXTERN_C_END

#endif /* VRING_IVSHMEM_H */
