/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One end of the ivshmem end-to-end tests, the same code in the guest (over
 * vring/ivshmem_guest.h) and on the host (over vring/ivshmem.h): a channel
 * on a transport, a sender thread and a receiver thread, every byte of
 * every message checked, dead peers survived by re-attaching, and one line
 * of results on stdout (the guest's stdout is its serial console), which
 * tests/qemu/ivshmem/run.sh parses.
 *
 * Message seq of a session has ivp_len(seq) bytes: bytes 0..3 hold seq
 * (little-endian), byte i >= 4 is ivp_byte(seq, i). A receiver checks every
 * byte and that the sequence numbers of a session run without a gap or a
 * repeat from the first one it sees. The first one is 0 unless the session
 * began with a reset that resubmitted unacknowledged messages (a restarted
 * device): then it is the oldest unacknowledged one, and the driver prints
 * which one it must be ("acked=").
 *
 * Lines printed (all start with "VR-"):
 *   VR-ATTACHED session=S                     a peer was bound
 *   VR-PROGRESS rx=N                          every `progress` messages received
 *   VR-PEERDEAD session=S after_ms=T why=...  the peer went away; T is the
 *                                             time since this end last saw it
 *                                             make progress
 *   VR-RESET acked=A resubmitted=R            driver: the reset after a death
 *   VR-SESSION first=F                        receiver: first seq of a session
 *   VR-RESULT ...                             final counts, rates, verdict
 *   VR-FAIL reason                            anything wrong
 */
#ifndef VR_QEMU_IVSHMEM_PEER_H
#define VR_QEMU_IVSHMEM_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vring/channel.h>
#include <vring/transport.h>

#define IVP_MS 1000000ull
#define IVP_SEC 1000000000ull

/* What the end needs from its transport beyond struct vr_transport. */
struct ivp_ops {
	/* Bind a (new) peer, at most timeout_ns: 0, VR_ETIMEDOUT, ... */
	int (*attach)(void *ctx, uint64_t timeout_ns);
	/* Why the peer is considered gone. */
	const char *(*peer_error)(void *ctx);
	/* Extra words for the VR-RESULT line (interrupts...), may be NULL. */
	void (*describe)(void *ctx, char *buf, size_t cap);
};

struct ivp_cfg {
	uint32_t role;       /* VR_ROLE_DRIVER / VR_ROLE_DEVICE */
	uint64_t tx_count;   /* messages this end sends per session (0: none) */
	uint64_t rx_count;   /* messages this end expects, up to seq rx_count-1 */
	uint32_t min_len, max_len;
	uint32_t progress;   /* VR-PROGRESS every this many received (0: never) */
	uint32_t max_deaths; /* peer deaths survived (re-attach) before giving up */
	uint64_t attach_timeout_ns;
	uint64_t run_timeout_ns; /* the whole run */
	bool dead_ok;        /* a peer death ending the run is the expected end
			      * (the end whose peer is killed for good) */
};

struct ivp_result {
	uint64_t rx, tx;       /* messages received / sent (incl. resubmitted) */
	uint64_t bad;          /* messages with a wrong byte, length or seq */
	uint32_t deaths;       /* peer deaths seen */
	uint64_t notifies;     /* doorbells this end rang */
	uint64_t wakeups;      /* sleeps ended by the peer's doorbell */
	double secs;           /* wall clock of the exchange */
};

/* Length and content of message seq. */
uint32_t ivp_len(uint32_t seq, uint32_t min_len, uint32_t max_len);
unsigned char ivp_byte(uint32_t seq, uint32_t i);

/* Run the end: open the channel on @t, attach, exchange, survive deaths.
 * Returns 0 when everything was as expected (and prints VR-RESULT ... ok),
 * nonzero otherwise (after VR-FAIL). */
int ivp_run(struct vr_transport *t, const struct ivp_ops *ops, void *ctx,
	    const struct ivp_cfg *cfg, struct ivp_result *res);

/* Monotonic ns. */
uint64_t ivp_now(void);

#endif
