/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/shm.h
 * @brief Host shared-memory transport: a libvring region in a memfd, a
 *        named POSIX shm object or a file (hugetlbfs too), eventfd
 *        doorbells, and a unix-domain socket that hands both to the peer.
 *
 * Two ends. The listener (vr_shm_listen, then vr_shm_accept) creates and
 * owns the region and plays the driver role; it survives the peer and
 * accepts a new one on the same region. The connector (vr_shm_connect)
 * receives the region and the doorbells over the socket and plays the
 * device role. vr_shm_open() attaches to a named object or a file without
 * any socket, in polling mode only (vr_shm_open_wait() waits for the
 * driver to create it). Over the socket the connector accepts only a memfd
 * sealed against shrinking; a backing opened by path can be truncated by
 * whoever else can open it, which the opt-in SIGBUS guard
 * (VR_SHM_GUARD_SIGBUS) turns into a dead peer instead of a dead process.
 * The wire format of the handshake and the liveness rules are in
 * docs/TRANSPORT_SHM.md.
 *
 * After set-up, &s->t is the struct vr_transport a channel uses.
 *
 * Threads: vr_shm_listen, vr_shm_accept, vr_shm_connect, vr_shm_open and
 * vr_shm_close must not run concurrently with any other call on the same
 * object. Once attached, the transport ops follow vring/transport.h:
 * notify from any thread, wait on one queue from one thread at a time,
 * peer_state and vr_shm_peer_error from any thread. Each end runs one
 * background thread (heartbeat, hang-up watch, refusal of extra
 * connections) between attach and close. No global state: several objects
 * may live in one process.
 *
 * Errors: every call returns 0 or a negative VR_E* code; the set-up calls
 * also leave a one-line English explanation in vr_shm_last_error().
 */
#ifndef VRING_SHM_H
#define VRING_SHM_H

#include <stddef.h>
#include <stdint.h>

#include <vring/errors.h>
#include <vring/region.h>
#include <vring/transport.h>

VR_EXTERN_C_BEGIN

/** Where the listener keeps the region (struct vr_shm_cfg.backing). */
enum vr_shm_backing {
	VR_SHM_MEMFD = 0, /**< anonymous memfd, sealed against shrinking */
	VR_SHM_NAMED = 1, /**< POSIX shm object cfg.path ("/name"), created */
	VR_SHM_FILE = 2   /**< regular file cfg.path, created; on hugetlbfs
	                       the size is rounded up to the huge page size */
};

/** struct vr_shm_cfg.flags. */
enum vr_shm_flags {
	/** No doorbells: no eventfds are created or passed, notify does
	 *  nothing, wait sleeps briefly; liveness comes from heartbeats. */
	VR_SHM_POLLING = 1u << 0,
	/** vr_shm_close() unlinks the named object or file it created. */
	VR_SHM_UNLINK_BACKING = 1u << 1,
	/** SIGBUS guard (also in vr_shm_peer_cfg.flags): if the backing is
	 *  truncated under this end's mapping, the access that faults gets
	 *  anonymous zero pages instead of killing the process, and the peer
	 *  is reported dead ("backing truncated"). Installs one process-wide
	 *  SIGBUS handler (kept after close) that passes faults outside a
	 *  guarded region to the handler it replaced. For named and file
	 *  backings, which cannot be sealed; see docs/TRANSPORT_SHM.md. */
	VR_SHM_GUARD_SIGBUS = 1u << 2
};

/** Default liveness timeout: a peer whose heartbeat is still this long is
 *  dead (polling mode, or no socket). */
#define VR_SHM_LIVENESS_DEFAULT_NS 300000000ull
/** Default heartbeat period. */
#define VR_SHM_HEARTBEAT_DEFAULT_NS 10000000ull
/** Default time a connection gets to complete the handshake before the
 *  listener drops it and goes on to the next one. */
#define VR_SHM_HANDSHAKE_DEFAULT_NS 2000000000ull
/** Bytes of struct vr_shm.err. */
#define VR_SHM_ERR_BYTES 192

/** What the listener creates. Zero-initialise, then fill. */
struct vr_shm_cfg {
	struct vr_region_cfg region; /**< queues and pool, see vring/region.h */
	uint32_t backing;            /**< enum vr_shm_backing */
	uint32_t flags;              /**< enum vr_shm_flags */
	/** VR_SHM_NAMED: the shm object name ("/name"); VR_SHM_FILE: the
	 *  file path. Created exclusively (an existing one is an error), mode
	 *  0600. Ignored for VR_SHM_MEMFD. */
	const char *path;
	/** The unix socket to listen on (stale socket replaced, mode 0600;
	 *  put it in a directory only you can write). NULL: no socket, which
	 *  needs VR_SHM_POLLING and a named or file backing that the peer
	 *  attaches with vr_shm_open(). */
	const char *socket_path;
	uint64_t liveness_timeout_ns; /**< 0: VR_SHM_LIVENESS_DEFAULT_NS */
	uint64_t heartbeat_ns;        /**< 0: VR_SHM_HEARTBEAT_DEFAULT_NS */
	/** Per connection: a connector that has not acknowledged the
	 *  handshake this long after it was accepted is dropped, and accept
	 *  goes on to the next one. 0: VR_SHM_HANDSHAKE_DEFAULT_NS. */
	uint64_t handshake_timeout_ns;
};

/** Options of an end attaching without a socket (vr_shm_open). */
struct vr_shm_peer_cfg {
	uint64_t liveness_timeout_ns; /**< 0: VR_SHM_LIVENESS_DEFAULT_NS */
	uint64_t heartbeat_ns;        /**< 0: VR_SHM_HEARTBEAT_DEFAULT_NS */
	uint32_t flags;               /**< VR_SHM_GUARD_SIGBUS, or 0 */
};

struct vr__shm;

/** One end of a shared-memory transport. The caller owns the storage. */
struct vr_shm {
	struct vr_transport t; /**< first: what the channel gets (&s->t) */
	struct vr__shm *p;     /**< private state */
	char err[VR_SHM_ERR_BYTES]; /**< last set-up error, see vr_shm_last_error */
};

/**
 * @brief Create the region and its doorbells, and listen for the peer.
 *
 * Creates the backing (cfg->backing), sizes it to vr_region_bytes(),
 * maps it shared, lays it out with vr_region_format() (generation 0),
 * creates 2 * queue_count eventfds unless VR_SHM_POLLING, and binds
 * cfg->socket_path. This end is the driver (t.role = VR_ROLE_DRIVER). The
 * region is usable at once; the peer joins with vr_shm_accept(). With a
 * socket the backing is a memfd (sealed: the only kind a connector
 * accepts); named and file backings are for peers that vr_shm_open() them.
 * @return 0; VR_EINVAL (cfg: NULL, bad region, bad backing, no path for a
 *         named or file backing, a named or file backing with a socket, a
 *         socket path too long, no socket without polling, bad timing);
 *         VR_EPERM (the socket path is in use by a live
 *         listener); VR_EIO (the OS refused: see vr_shm_last_error)
 */
int vr_shm_listen(struct vr_shm *s, const struct vr_shm_cfg *cfg);

/**
 * @brief Attach one peer, waiting at most @p timeout_ns.
 *
 * With a socket: accepts connections until one completes the handshake
 * (region fd and doorbells out, acknowledgement with the peer's pid back);
 * connections from another uid, or that fail the handshake or do not
 * complete it within cfg.handshake_timeout_ns, are closed and the wait
 * goes on. Without a socket: waits until the device heartbeat
 * moves. Either way the region's generation is incremented before the peer
 * sees it, so a stale peer can tell. Call it again after the peer is gone
 * (peer_state returns VR_EPEERDEAD) to attach a new peer to the same
 * region; the rings are left as they are (resetting them is the channel's
 * job).
 * @return 0 (attached); VR_ETIMEDOUT; VR_ESTATE (not a listener, or a
 *         peer is attached and alive, or the guarded backing was
 *         truncated); VR_EIO
 */
int vr_shm_accept(struct vr_shm *s, uint64_t timeout_ns);

/**
 * @brief Connect to a listener, retrying until @p timeout_ns has passed
 *        (the connector may start first), and attach.
 *
 * Receives and checks the handshake, maps the region fd (its whole size,
 * from fstat), validates the region with vr_region_parse(), checks the
 * doorbells are eventfds, and acknowledges. This end is the device; it
 * takes the heartbeat period and liveness timeout from the listener.
 * @return 0; VR_EINVAL; VR_ETIMEDOUT (nobody answered in time); VR_EPERM
 *         (the listener refused: a peer is already attached, or another
 *         uid; or the listener runs as another uid); VR_EPEERDEAD (the
 *         listener hung up during the handshake); VR_EMAGIC, VR_EVERSION,
 *         VR_ETRUNC, VR_EREGION (bad region, or a region fd that is not a
 *         memfd sealed against shrinking); VR_EIO (bad handshake or the
 *         OS refused)
 */
int vr_shm_connect(struct vr_shm *s, const char *socket_path,
		   uint64_t timeout_ns);

/**
 * @brief Attach to an existing region without a socket, in polling mode:
 *        a named POSIX shm object (@p backing VR_SHM_NAMED) or a file
 *        (VR_SHM_FILE, hugetlbfs included).
 *
 * Maps the whole object and validates it with vr_region_parse(). This end
 * is the device; liveness comes from heartbeats, and a change of the
 * region's generation after attach also counts as the listener giving up
 * on this end. Such a backing cannot be sealed: anyone who can open it can
 * truncate it under the mapping (SIGBUS at the next access); set
 * VR_SHM_GUARD_SIGBUS in cfg->flags to survive that as a dead peer.
 * @return 0; VR_EINVAL; VR_ETRUNC (shorter than the header, or than the
 *         size the header states); VR_EMAGIC; VR_EVERSION; VR_EREGION;
 *         VR_EIO (cannot open or map)
 */
int vr_shm_open(struct vr_shm *s, uint32_t backing, const char *path,
		const struct vr_shm_peer_cfg *cfg);

/**
 * @brief vr_shm_open(), waiting at most @p timeout_ns for a live driver:
 *        the device may start first, as with vr_shm_connect().
 *
 * Retries while the backing is missing, cannot be opened or is still being
 * laid out (VR_EIO, VR_ETRUNC, VR_EMAGIC, VR_EVERSION, VR_EREGION), and
 * after a successful open waits until the driver's heartbeat moves, so
 * that a region left behind by a dead driver is not taken for a live one
 * (it is closed and opened again, in case the driver lays out a new one).
 * @return 0; VR_EINVAL (arguments, as vr_shm_open); VR_ETIMEDOUT (the
 *         last reason is in vr_shm_last_error())
 */
int vr_shm_open_wait(struct vr_shm *s, uint32_t backing, const char *path,
		     const struct vr_shm_peer_cfg *cfg, uint64_t timeout_ns);

/**
 * @brief Detach and free everything: stops the background thread, unmaps,
 *        closes every fd; the listener unlinks its socket, and the named
 *        object or file when VR_SHM_UNLINK_BACKING was set. Safe on a
 *        zeroed or already closed object.
 */
void vr_shm_close(struct vr_shm *s);

/** @brief The parsed region (valid after listen, connect or open). */
const struct vr_region_info *vr_shm_info(const struct vr_shm *s);

/** @brief The pid of the attached peer (socket mode), or 0. */
int vr_shm_peer_pid(const struct vr_shm *s);

/**
 * @brief One line on the last set-up failure (listen, accept, connect,
 *        open); "" if none. Never NULL.
 */
const char *vr_shm_last_error(const struct vr_shm *s);

/**
 * @brief Why the peer is considered gone ("socket hang-up", "heartbeat
 *        stopped", "region generation changed", "backing truncated"), or
 *        "" while it is not. A constant string; any thread.
 */
const char *vr_shm_peer_error(const struct vr_shm *s);

/**
 * @brief Put a mapping the caller made of a named object or a file (which
 *        cannot be sealed) under the SIGBUS guard of VR_SHM_GUARD_SIGBUS:
 *        if the backing is truncated, the access that faults gets anonymous
 *        zero pages over the whole mapping instead of killing the process.
 *        For tools that map a region themselves (vringctl's driver role).
 * @return a handle (>= 0) for vr_shm_guard_tripped() and vr_shm_unguard();
 *         VR_EINVAL (NULL or empty); VR_EIO (all 64 slots taken, or the
 *         handler could not be installed)
 */
int vr_shm_guard(void *base, size_t len);

/** @brief 1 once a fault inside guarded mapping @p handle was caught (the
 *         mapping is zero pages now), else 0. Any thread. */
int vr_shm_guard_tripped(int handle);

/** @brief Stop guarding @p handle's mapping (before unmapping it). */
void vr_shm_unguard(int handle);

VR_EXTERN_C_END

#endif /* VRING_SHM_H */
