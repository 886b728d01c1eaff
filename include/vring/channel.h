/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/channel.h
 * @brief A bidirectional message channel over a shared region: what
 *        applications call.
 *
 * A channel is a pair of virtqueues in a region (vring/region.h), like
 * virtio-console or rpmsg: queue VR_CHAN_TX carries the driver's messages to
 * the device, queue VR_CHAN_RX the device's messages to the driver. The
 * driver owns the region's buffer pool: it sends from its own buffers on TX
 * and keeps RX stocked with empty buffers the device fills. Both roles get
 * the same calls:
 *
 *   vr_chan_send()  / vr_chan_recv()              by copy
 *   vr_chan_send_reserve() + vr_chan_send_commit() zero-copy send
 *   vr_chan_recv_borrow()  + vr_chan_recv_release() zero-copy receive
 *
 * Split or packed is the region's choice (both queues share one format);
 * the calls are the same. Blocking calls take a timeout in nanoseconds
 * (0: do not block, return VR_EAGAIN; VR_WAIT_FOREVER). Waiting follows the
 * race-free pattern: arm the notification, look again, then sleep on the
 * transport's doorbell.
 *
 * Acknowledgement and reconnect: a message is acknowledged when the peer has
 * returned its buffer used. The driver keeps every unacknowledged message in
 * its pool buffer; when the device side dies and a new one attaches,
 * vr_chan_reset() collects whatever the old device had published (those
 * messages are acknowledged, or received), resets the queues
 * (VIRTIO_F_RING_RESET semantics) and submits the unacknowledged messages
 * again in their original order, at every reset, however many devices die
 * before acknowledging them. So no acknowledged message is lost or sent
 * twice; an unacknowledged one may reach the device twice if the old device
 * took it but died before returning it. A queue the old device broke (a
 * protocol violation) is not collected past the violation; the other queue
 * still is. A device end whose session ended (the region's generation
 * moved: the driver declared it dead, or a new device attached) touches the
 * rings no more: every call returns VR_EPEERDEAD.
 *
 * Was it queued? Every send call (vr_chan_send, vr_chan_send_reserve,
 * vr_chan_send_commit, and vr_mp_send) either queues the whole message and
 * returns 0 (or a token), or queues nothing and returns a negative code:
 * after VR_ETIMEDOUT, VR_EAGAIN, VR_EPEERDEAD, VR_EMSGSIZE, VR_EINVAL or
 * VR_EBROKEN nothing of the message is in the ring, and the caller still
 * owns its data (send it again, after vr_chan_reset() for a dead peer). A
 * protocol error breaks the channel; the driver's vr_chan_reset() then
 * resubmits every message not acknowledged, which may include the one whose
 * send reported the error. A send that returned 0 on the driver stays in
 * flight until the device acknowledges it, a reset resubmits it if the
 * device dies first, and vr_chan_drain() waits for it; the driver's send
 * does not wait for the device, so it may return 0 while the device is
 * already dead (the next blocking call reports VR_EPEERDEAD). A device's
 * send that returned 0 lies in the driver's buffer; once published (at
 * once, or with the rest of its batch under a batching policy:
 * vr_chan_flush(), vr_chan_drain()) it survives the device's death.
 *
 * Threads: one thread per channel object for each direction at most: one
 * thread may send while another receives (they touch different queues),
 * but two senders need the multi-producer sender, struct vr_mp_sender in
 * <vring/mp_send.h> (hosted/; CMake target vring::mp, pkg-config vring-mp).
 * The ring core stays freestanding: this file uses only memcpy.
 */
#ifndef VRING_CHANNEL_H
#define VRING_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "detail/compiler.h"
#include "errors.h"
#include "packed.h"
#include "queue.h"
#include "region.h"
#include "split.h"
#include "transport.h"

VR_EXTERN_C_BEGIN

/** Queue indices of a channel in its region. */
enum vr_chan_queue {
	VR_CHAN_TX = 0, /**< driver -> device */
	VR_CHAN_RX = 1  /**< device -> driver */
};

/** Most segments a received chain may have. */
#define VR_CHAN_MAX_SEGS 16u

struct vr_chan_cfg {
	/** Ring features this side wants (VR_FEATURE(VR_F_EVENT_IDX) | ...);
	 *  the result is what both sides offer (see vr_chan_features()). */
	uint64_t features;
	/** VR_QF_* for the queues. */
	uint32_t queue_flags;
	/** Driver: pool buffers reserved for sending (the rest receive);
	 *  at most the TX queue size (VR_EINVAL above). 0 = half of the
	 *  pool, capped at the TX queue size. Receive buffers beyond the RX
	 *  queue size are left unused. Ignored by the device. */
	uint32_t tx_bufs;
};

/** A message lent by vr_chan_recv_borrow(). */
struct vr_chan_msg {
	const void *data;   /**< first (often only) segment */
	uint32_t len;       /**< total bytes */
	uint32_t nseg;      /**< segments (device role; 1 for the driver) */
	struct vr_iov seg[VR_CHAN_MAX_SEGS]; /**< all segments */
	uint32_t token;     /**< give back to vr_chan_recv_release() */
};

struct vr_chan_stats {
	uint64_t sent;          /**< messages sent */
	uint64_t received;      /**< messages received */
	uint64_t notifies;      /**< doorbells rung */
	uint64_t notifies_suppressed; /**< doorbells the peer did not need */
	uint64_t waits;         /**< sleeps on the transport */
	uint64_t resubmitted;   /**< messages sent again after a reset */
	uint64_t coalesced;     /**< doorbells the coalescing policy merged */
	uint64_t wakeups;       /**< sleeps ended by the peer's doorbell */
	uint64_t spurious_wakeups; /**< ... that found no work */
	uint64_t spins;         /**< spin phases (polling, adaptive waits) */
	uint64_t spin_hits;     /**< spin phases that found work */
};

/* ---- Notification and wait policies (per queue, changeable at run time) --- */

/** When this side rings the peer's doorbell after publishing. */
enum vr_notify_mode {
	/** Only when the peer asked for it: its flags (NO_NOTIFY /
	 *  NO_INTERRUPT, packed DISABLE/ENABLE) or, with VIRTIO_F_EVENT_IDX
	 *  negotiated, its event index. Which of the two is in force is the
	 *  negotiated feature set (vr_chan_cfg.features). The default. */
	VR_NOTIFY_AS_ASKED = 0,
	/** On every publish, whatever the peer asked. */
	VR_NOTIFY_ALWAYS = 1
};

/**
 * How this end publishes and notifies on one queue. The default (all
 * zero) publishes every buffer at once and rings when the peer asked.
 */
struct vr_notify_policy {
	uint32_t mode;          /**< enum vr_notify_mode */
	/** Batching: make buffers visible to the peer only once this many are
	 *  pending (0 or 1: each at once). Pending buffers are also published
	 *  by vr_chan_flush(), and before this end waits on the same queue;
	 *  a thread that sends and then waits for a reply on the other queue
	 *  must call vr_chan_flush() first. */
	uint32_t batch;
	/** Coalescing: ring at most once per this many published buffers the
	 *  peer asked to hear about (0 or 1: no coalescing) ... */
	uint32_t coalesce_msgs;
	/** ... and never later than this many microseconds after the first
	 *  of them: required (> 0) with coalesce_msgs > 1. The late doorbell
	 *  is rung by the next call on this end, by any blocking wait on this
	 *  end (its sleep is cut short for it), or by vr_chan_service(). */
	uint32_t coalesce_us;
};

/** How this end waits for work on one queue. */
enum vr_wait_mode {
	/** Ask for a doorbell, look again, sleep on it. The default. */
	VR_WAIT_BLOCK = 0,
	/** Never ask for a doorbell: spin on the ring until the timeout.
	 *  Lowest latency; one CPU busy; the peer never rings. */
	VR_WAIT_POLL = 1,
	/** Spin for a budget, then ask for a doorbell, look again and sleep.
	 *  With adapt set, the budget follows the recent gaps (how long waits
	 *  on this queue lasted), kept as a decayed histogram in log2 buckets,
	 *  and the measured cost of a wake-up: it is the spin that minimises
	 *  the expected cost of a wait, where spinning costs its time and a
	 *  sleep costs two wake-ups' worth (the waiter's latency and the CPU
	 *  of sleeping and waking), and one more for each message beyond the
	 *  eighth of the runs the peer sends (messages taken in a row after a
	 *  wait, counted with VR_CONFIG_STATS): a saturating peer's long runs
	 *  would all wait for the wake-up. Short gaps (back-to-back traffic) get a
	 *  budget that covers a high quantile of them, so that even the slow
	 *  percentiles are served by the spin; gaps longer than a wake-up
	 *  costs get no spin at all (with spin_min_ns 0): the wait blocks at
	 *  once. The budget stays within spin_min_ns .. spin_max_ns; now and
	 *  then a wait spins the longest useful budget anyway (a probe), so a
	 *  queue that blocks notices when its gaps become short again. The
	 *  wake-up cost is measured on this queue's own sleeps (how late a
	 *  short timed sleep returns, and the shortest sleeps that a doorbell
	 *  ended); until then it is taken as spin_max_ns / 2. A spin that is
	 *  preempted (a CPU shared with other work) costs the time it lost
	 *  too: when spinning keeps losing its CPU, blocking wins even for
	 *  short gaps. All state is per queue, integer only, and timed by the
	 *  transport's now_ns. */
	VR_WAIT_ADAPTIVE = 2
};

struct vr_wait_policy {
	uint32_t mode;        /**< enum vr_wait_mode */
	uint32_t spin_ns;     /**< ADAPTIVE: spin budget (initial, if adapt) */
	/** ADAPTIVE with adapt: bounds of the budget; spin_min_ns 0 lets the
	 *  queue block at once when spinning does not pay, and spin_max_ns is
	 *  the longest spin worth considering (about a wake-up's cost or a few
	 *  times it: longer gaps are left to the doorbell). */
	uint32_t spin_min_ns;
	uint32_t spin_max_ns;
	bool adapt;           /**< ADAPTIVE: adapt the budget */
};

/* Buckets of the adaptive wait's gap histogram: [0, 256 ns), then one per
 * power of two up to 256 us, then everything longer. */
#define VR__GAP_BUCKETS 12u

/* Private per-queue policy state. */
struct vr__chan_qpol {
	struct vr_notify_policy notify;
	struct vr_wait_policy wait;
	uint32_t unpublished; /* buffers added/completed, not yet published */
	uint32_t spin_budget; /* current adaptive budget, ns */
	/* Adaptive waiting (chan_wait.c), written only by the thread that
	 * waits on the queue: recent gaps (weighted counts, halved as they
	 * age), the estimated wake-up cost (ns), recent spinning time and the
	 * part of it lost to preemption (units of 1024 ns), and countdowns to
	 * the next choice of budget, probe spin and wake-up measurement. */
	uint16_t gap_hist[VR__GAP_BUCKETS];
	uint32_t wake_ns;
	uint32_t spin_run;
	uint32_t spin_lost;
	uint16_t probe_in;
	uint8_t probe_shift;   /* log2 of the probe interval (backs off) */
	uint8_t measure_shift; /* log2 of the measuring interval (backs off) */
	uint16_t measure_in;
	uint8_t gap_new;
	uint8_t chosen; /* budgets chosen (wraps): ages spin_lost */
	/* Messages taken in the run after a wait (from the work found to the
	 * next wait), averaged, in sixteenths: how many a sleep would delay;
	 * and the consumed count where the open run began (run_open). */
	uint16_t backlog16;
	bool run_open;
	uintptr_t run_from;
	/* Coalescing: doorbells owed to the peer, and since when (us, free
	 * running u32). Atomic: any thread of this end may ring them. */
	uint32_t owed;
	uint32_t owed_since_us;
};

/* Private counters of one queue: the region's statistics record (the
 * VR_RS_* slots) plus the application messages. Each queue of a channel end
 * is driven by one thread at a time (TX by the sender on the driver, the
 * receiver on the device; RX the other way), so each counter has a single
 * writer (doorbells rung by vr_chan_service excepted: an atomic add).
 * Native words: atomic without a lock everywhere. */
struct vr__chan_qstats {
	uintptr_t msgs;
	uintptr_t c[VR_RS_COUNT];
};

/* Private per-buffer record (driver). */
struct vr__chan_buf {
	uint32_t seq; /* send order, for resubmission */
	uint32_t len; /* message length while in flight or received */
	uint8_t state;
};

/** A channel end. Fields are private: use the functions. */
struct vr_chan {
	struct vr_transport *t;
	unsigned char *base;
	struct vr_region_info info;
	struct vr_chan_cfg cfg;
	uint32_t role;
	uint32_t format;
	uint64_t features;   /* negotiated */
	uint32_t generation; /* region generation at open */
	int broken;
	/* The two queues, in this end's role and format: one array used,
	 * the one vr_chan_open initialised (they share the memory). */
	union {
		struct vr_split_drv sdrv[2];
		struct vr_split_dev sdev[2];
		struct vr_packed_drv pdrv[2];
		struct vr_packed_dev pdev[2];
	};
	void *qstate[2];
	size_t qstate_len;
	/* Driver: the pool. TX buffers are [0, tx_bufs), RX [tx_bufs,
	 * rx_end); any beyond (more than the RX ring holds) are unused. */
	struct vr__chan_buf *buf;
	uint32_t *free_tx;   /* stack of free TX buffer indices */
	uint32_t n_free_tx;
	uint32_t tx_bufs;
	uint32_t rx_end;
	uint32_t next_seq;
	uint32_t *backlog;   /* RX buffers received before a reset, in order */
	uint32_t backlog_head, backlog_count;
	/* Device: a chain taken but not usable yet (too small a buffer). */
	bool held[2];
	struct vr_chain held_chain[2];
	struct vr_iov held_iov[2][VR_CHAN_MAX_SEGS];
	struct vr__chan_qstats qs[2];
	uintptr_t resubmitted;
	/* This end's statistics records in the region (or a private stand-in
	 * when the region has none). */
	uint32_t *rstats[2];
	uint32_t rstats_none[2][VR_RS_COUNT];
	struct vr__chan_qpol pol[2];
	/* Set while the driver (re)builds its queues for a peer that is not
	 * attached yet: publishing rings no doorbell (a new peer looks at its
	 * rings when it attaches). */
	bool no_peer;
};

/**
 * @brief Bytes of private state vr_chan_open() needs for the region the
 *        transport maps (0 when that region does not parse).
 */
size_t vr_chan_state_size(const struct vr_transport *t);

/**
 * @brief Open the channel end on @p t's region in @p t->role.
 *
 * Driver: validates the region, negotiates features (writes the driver
 * features), initialises both queues, stocks RX with empty buffers, then
 * sets DRIVER_OK. Device: validates the region, requires the driver's
 * DRIVER_OK (else VR_EAGAIN: call again later) and features that are a
 * subset of the offer, initialises its side, sets its DRIVER_OK.
 * @return 0; VR_EAGAIN (device: the driver is not ready); VR_EINVAL;
 *         VR_ERANGE (state too small); region errors (VR_EMAGIC,
 *         VR_EVERSION, VR_EREGION, VR_ETRUNC); VR_EFEATURES; VR_ENOTSUP
 *         (the region's format, this role, or indirect descriptors asked
 *         for by @p cfg or negotiated by the driver are not in this
 *         build: vring/config.h)
 */
int vr_chan_open(struct vr_chan *ch, struct vr_transport *t,
		 const struct vr_chan_cfg *cfg, void *state, size_t state_len);

/**
 * @brief Driver: after the device side died and before a new one attaches,
 *        collect what the old device published, reset both queues, and
 *        submit unacknowledged messages again (see the file comment).
 * @return 0; VR_ESTATE on a device end
 */
int vr_chan_reset(struct vr_chan *ch);

/** @brief Negotiated ring features. */
VR_INLINE uint64_t vr_chan_features(const struct vr_chan *ch)
{
	return ch->features;
}

/** @brief Largest message the channel carries (the pool's buffer size). */
VR_INLINE uint32_t vr_chan_max_msg(const struct vr_chan *ch)
{
	return ch->info.buf_bytes;
}

/**
 * @brief Read the channel end's counters into @p out, from any thread,
 *        while the end is in use. Each counter has one writer and is a
 *        native-word atomic (so on a 32-bit MCU it wraps after 2^32).
 * @return 0; VR_ENOTSUP when statistics are configured out
 *         (VR_CONFIG_STATS=0 in vring/config.h: @p out is zeroed)
 */
int vr_chan_get_stats(const struct vr_chan *ch, struct vr_chan_stats *out);

/** @brief vr_chan_get_stats() by value. */
VR_INLINE struct vr_chan_stats vr_chan_stats(const struct vr_chan *ch)
{
	struct vr_chan_stats s;

	(void)vr_chan_get_stats(ch, &s); /* zeroed when configured out */
	return s;
}

/**
 * @brief Set how this end notifies the peer about queue @p q (VR_CHAN_TX or
 *        VR_CHAN_RX), from the thread that publishes on it (see the file
 *        comment: on the driver TX is the sender's, RX the receiver's; on
 *        the device the other way round). Buffers pending under the old
 *        policy are published and owed doorbells rung first.
 * @return 0; VR_EINVAL (bad queue, mode, or coalesce_msgs > 1 without
 *         coalesce_us: a message could be stranded)
 */
int vr_chan_set_notify_policy(struct vr_chan *ch, uint32_t q,
			      const struct vr_notify_policy *pol);

/**
 * @brief Set how this end waits for work on queue @p q, from the thread
 *        that waits on it.
 * @return 0; VR_EINVAL (bad queue or mode; ADAPTIVE with adapt needs
 *         spin_min_ns <= spin_ns <= spin_max_ns)
 */
int vr_chan_set_wait_policy(struct vr_chan *ch, uint32_t q,
			    const struct vr_wait_policy *pol);

/** @brief The policies in force on queue @p q (NULL arguments skipped). */
int vr_chan_get_policy(const struct vr_chan *ch, uint32_t q,
		       struct vr_notify_policy *notify,
		       struct vr_wait_policy *wait);

/**
 * @brief Publish every pending (batched) buffer of the queues this thread
 *        publishes on, and ring every doorbell owed, now.
 * @param q VR_CHAN_TX or VR_CHAN_RX: the queue to flush (batches are per
 *          queue and belong to one thread)
 * @return 0; VR_EINVAL; VR_EBROKEN; VR_EPEERDEAD (a device whose session
 *         ended: nothing is published)
 */
int vr_chan_flush(struct vr_chan *ch, uint32_t q);

/**
 * @brief Ring the doorbells the coalescing policy owes whose time has come
 *        (safe from any thread, an RTOS timer or a hosted timer thread
 *        included: a doorbell is rung at most once per owed batch).
 * @return nanoseconds until the next one falls due, VR_WAIT_FOREVER when
 *         none is owed
 */
uint64_t vr_chan_service(struct vr_chan *ch);

/**
 * @brief One queue's counters (the same values the end writes into the
 *        region's statistics record, as 64-bit counts), indexed by enum
 *        vr_region_stat; from any thread.
 * @return 0; VR_EINVAL (NULL, bad queue); VR_ENOTSUP when statistics are
 *         configured out (VR_CONFIG_STATS=0: @p out is zeroed)
 */
int vr_chan_get_queue_stats(const struct vr_chan *ch, uint32_t q,
			    uint64_t out[VR_RS_COUNT]);

/**
 * @brief Send @p len bytes (copied into a buffer of the region).
 *
 * Blocks (up to @p timeout_ns) only for room: a free pool buffer on the
 * driver, an empty buffer from the driver on the device. Returns 0 once the
 * message is queued, without waiting for the peer to take it (see
 * vr_chan_drain()). Every error below but a protocol error means that
 * nothing was queued (see "Was it queued?" above).
 * @return 0 (queued); VR_EMSGSIZE (len above vr_chan_max_msg(); device:
 *         above the driver's buffer); VR_EINVAL (len 0, NULL); VR_EAGAIN
 *         (timeout 0 and no room); VR_ETIMEDOUT (no room in time: not
 *         queued); VR_EPEERDEAD (peer gone while waiting for room, or
 *         device: the driver started a new session; not queued);
 *         VR_EBROKEN; a protocol error (the channel is broken: the peer
 *         violated the ring protocol)
 */
int vr_chan_send(struct vr_chan *ch, const void *data, size_t len,
		 uint64_t timeout_ns);

/**
 * @brief Receive one message into @p buf.
 * @return its length (> 0); VR_EMSGSIZE when it is larger than @p cap (it
 *         stays queued: call again with a larger buffer); VR_EAGAIN;
 *         VR_ETIMEDOUT; VR_EPEERDEAD; a protocol error
 */
int vr_chan_recv(struct vr_chan *ch, void *buf, size_t cap,
		 uint64_t timeout_ns);

/**
 * @brief Zero-copy send, step 1: get a buffer in the region to fill.
 * Nothing is queued until vr_chan_send_commit(); after an error (as
 * vr_chan_send(): VR_ETIMEDOUT, VR_EPEERDEAD, ...) no buffer was reserved.
 * @param buf receives the buffer; @p cap its size
 * @return a token (>= 0) for commit; errors as vr_chan_send()
 */
int vr_chan_send_reserve(struct vr_chan *ch, void **buf, uint32_t *cap,
			 uint64_t timeout_ns);

/**
 * @brief Zero-copy send, step 2: send the first @p len bytes of the
 *        reserved buffer (len 0 gives the buffer back unsent). Never
 *        blocks: it returns neither VR_ETIMEDOUT nor, on the driver,
 *        VR_EPEERDEAD.
 * @return 0 (queued); VR_EMSGSIZE (len above cap: not queued, the buffer
 *         stays reserved); VR_EINVAL (bad token); VR_EBROKEN; device:
 *         VR_EPEERDEAD (the driver started a new session: not queued, the
 *         buffer belongs to the old session)
 */
int vr_chan_send_commit(struct vr_chan *ch, int token, uint32_t len);

/**
 * @brief Wait until every message this end sent has been acknowledged.
 *
 * Driver: publishes what its batching policy still holds back, then waits
 * (up to @p timeout_ns, as the TX queue's wait policy says) until the
 * device has returned every sent message's buffer used. Call it from the
 * thread that sends (it collects acknowledgements, as a send does); with a
 * struct vr_mp_sender, call vr_mp_drain() instead. Messages reserved but not
 * committed are not waited for. Device: its messages are delivered once
 * published (they lie in the driver's buffers, and the driver keeps them
 * if the device dies), so it publishes what batching holds back, rings the
 * doorbells owed and returns 0 without waiting.
 * @return 0 (nothing left unacknowledged); VR_EAGAIN (timeout 0, some
 *         still unacknowledged); VR_ETIMEDOUT (some still unacknowledged
 *         at the timeout); VR_EPEERDEAD (the device died with messages
 *         unacknowledged: vr_chan_reset() resubmits them; device: the
 *         driver started a new session); VR_EINVAL; VR_EBROKEN; a protocol
 *         error
 */
int vr_chan_drain(struct vr_chan *ch, uint64_t timeout_ns);

/**
 * @brief Zero-copy receive: lend the next message where it lies in the
 *        region. Give it back with vr_chan_recv_release().
 * @return its length (> 0); errors as vr_chan_recv()
 */
int vr_chan_recv_borrow(struct vr_chan *ch, struct vr_chan_msg *msg,
			uint64_t timeout_ns);

/** @brief Give a borrowed message back (its buffer returns to the peer). */
int vr_chan_recv_release(struct vr_chan *ch, const struct vr_chan_msg *msg);

VR_EXTERN_C_END

#endif /* VRING_CHANNEL_H */
