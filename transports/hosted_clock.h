/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Time helpers the hosted transports share (transports/shm, transports/
 * ivshmem and its guest peer): CLOCK_MONOTONIC in ns, deadlines that
 * saturate at VR_WAIT_FOREVER, the time left to one, ppoll and nanosleep
 * with ns timeouts. Private to the transports (not installed); include it
 * after <vring/transport.h> in a file compiled with _GNU_SOURCE (ppoll).
 */
#ifndef VR_TRANSPORTS_HOSTED_CLOCK_H
#define VR_TRANSPORTS_HOSTED_CLOCK_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>

#include <vring/transport.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The absolute time @timeout_ns from now (VR_WAIT_FOREVER stays so, and
 * so does a sum that would wrap). */
static inline uint64_t deadline_of(uint64_t timeout_ns)
{
	uint64_t now = mono_ns();

	if (timeout_ns == VR_WAIT_FOREVER || timeout_ns > UINT64_MAX - now)
		return VR_WAIT_FOREVER;
	return now + timeout_ns;
}

/* Time left until @deadline: 0 once passed, VR_WAIT_FOREVER for none. */
static inline uint64_t left_ns(uint64_t deadline)
{
	uint64_t now;

	if (deadline == VR_WAIT_FOREVER)
		return VR_WAIT_FOREVER;
	now = mono_ns();
	return deadline > now ? deadline - now : 0;
}

static inline struct timespec ts_of(uint64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	return ts;
}

/* ppoll with a timeout in ns (VR_WAIT_FOREVER: none); EINTR is retried by
 * the callers' loops, which recompute the time left. */
static inline int poll_ns(struct pollfd *fds, nfds_t n, uint64_t ns)
{
	struct timespec ts;

	if (ns == VR_WAIT_FOREVER)
		return ppoll(fds, n, NULL, NULL);
	ts = ts_of(ns);
	return ppoll(fds, n, &ts, NULL);
}

/* Sleep @ns, resuming after signals. */
static inline void sleep_ns(uint64_t ns)
{
	struct timespec ts = ts_of(ns);

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

#endif /* VR_TRANSPORTS_HOSTED_CLOCK_H */
