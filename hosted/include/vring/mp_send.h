/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/mp_send.h
 * @brief Thread-safe sending into one channel from many application threads
 *        (hosted: POSIX threads and liburcu).
 *
 * The channel itself is single-producer: its send path is lock-free and
 * wait-free, and stays so for a program that sends from one thread. When
 * many threads must send into the same channel, they go through a
 * struct vr_mp_sender instead of calling vr_chan_send() directly.
 *
 * Two strategies, chosen at init:
 *  - VR_MP_COMBINING (default): each sender enqueues a request on a
 *    wait-free queue (liburcu's wfcqueue: one atomic exchange, no lock),
 *    then whichever sender takes the combiner lock sends every queued
 *    request in order, so one lock hand-off serves a whole batch and the
 *    other senders never touch the channel's cache lines;
 *  - VR_MP_MUTEX: a mutex around vr_chan_send(), the hand-written baseline.
 * tests/mp_send_test.c measures both in the same run; the numbers and the
 * reason for the default are in hosted/mp_send.c.
 *
 * Order: messages from one thread arrive in the order that thread sent
 * them. Each call returns only when its message is in the ring (or failed),
 * so the caller's buffer may be reused at once.
 *
 * Installed with libvring when liburcu-cds was found at build time: link
 * the CMake target vring::mp, or pkg-config vring-mp.
 */
#ifndef VRING_MP_SEND_H
#define VRING_MP_SEND_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu/wfcqueue.h>

#include <vring/channel.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vr_mp_mode {
	VR_MP_COMBINING = 0,
	VR_MP_MUTEX = 1
};

struct vr_mp_sender {
	struct vr_chan *ch;
	int mode;
	pthread_mutex_t lock; /* the combiner (or the plain mutex) */
	struct __cds_wfcq_head head; /* requests; dequeued under lock only */
	struct cds_wfcq_tail tail;
	uint64_t batches;  /* combiner passes (under lock) */
	uint64_t combined; /* requests served by a combiner pass */
};

/** @brief Set up a sender for @p ch. @return 0 or VR_EINVAL / VR_EIO. */
int vr_mp_init(struct vr_mp_sender *mp, struct vr_chan *ch, int mode);

/**
 * @brief Send from any thread. The timeout covers waiting for room in the
 *        ring, not for the other senders.
 * @return as vr_chan_send(): 0 when the message is queued; after any
 *         error (VR_ETIMEDOUT, VR_EPEERDEAD, VR_EAGAIN, VR_EMSGSIZE, ...)
 *         nothing of it was queued; VR_EINVAL (NULL @p mp)
 */
int vr_mp_send(struct vr_mp_sender *mp, const void *data, size_t len,
	       uint64_t timeout_ns);

/**
 * @brief vr_chan_drain() for a channel many threads send on, from any
 *        thread: waits until every message whose vr_mp_send() returned
 *        before this call began is acknowledged (requests queued by
 *        senders still in their call are sent first and waited for too).
 *        The other senders wait while it drains.
 * @return as vr_chan_drain(): 0; VR_EAGAIN; VR_ETIMEDOUT; VR_EPEERDEAD;
 *         VR_EBROKEN; a protocol error; VR_EINVAL (NULL @p mp)
 */
int vr_mp_drain(struct vr_mp_sender *mp, uint64_t timeout_ns);

/** @brief Release the sender (no call may be in progress). */
void vr_mp_destroy(struct vr_mp_sender *mp);

#ifdef __cplusplus
}
#endif

#endif /* VRING_MP_SEND_H */
