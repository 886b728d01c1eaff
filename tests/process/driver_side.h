/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver end of the two-process tests, in the test process: the
 * listener owns a memfd region and a socket in a private temporary
 * directory, opens the channel, execs vr_peer as the device, sends the
 * stream from the calling thread and checks the device's control messages
 * on a receiver thread (the channel lets one thread send while another
 * receives). No cmocka here: calls return 0 or a VR_E* code, and the tests
 * assert.
 *
 * The sender publishes prefix[seq + 1] (checksums of messages 0..seq)
 * before it sends message seq; the receiver checks every control message
 * about [first, next) against prefix[next] - prefix[first]. Both are
 * atomics: the receiver learns of a message through the other process,
 * which ThreadSanitizer cannot see.
 */
#ifndef VR_PROCESS_DRIVER_SIDE_H
#define VR_PROCESS_DRIVER_SIDE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <vring/channel.h>
#include <vring/shm.h>

/* Receiver outcome besides VR_E* codes. */
#define DS_RUNNING 1   /* still receiving */
#define DS_BAD (-1000) /* a control message failed its checks: see rx_why */
#define DS_STOPPED (-1001)

struct ds_cfg {
	uint32_t format;      /* VR_FORMAT_SPLIT or VR_FORMAT_PACKED */
	bool polling;         /* VR_SHM_POLLING: no doorbells */
	uint32_t qsize;       /* both queues */
	uint32_t buf_bytes;   /* pool buffer size = largest message */
	uint32_t buf_count;   /* pool buffers, half of them for TX */
	uint32_t min_len;     /* shortest message (4: each names its seq) */
	uint32_t messages;    /* the whole stream: seq 0..messages-1 */
	uint32_t reply_every; /* device's PROGRESS interval */
	uint64_t seed;
	uint64_t timeout_ns;  /* every blocking call */
	uint64_t liveness_ns; /* transport liveness timeout (0: default) */
	const char *peer;     /* the vr_peer executable */
	const char *tag;      /* temp directory name part */
	uint32_t open_delay_ms; /* resumed devices wait this long to open */
};

struct ds {
	struct ds_cfg cfg;
	char dir[128];
	char sock[192];
	struct vr_shm shm;
	bool listening;
	struct vr_chan ch;
	void *state;
	unsigned char *msg;        /* copy-send staging buffer */
	_Atomic uint64_t *prefix;  /* messages + 1 entries */
	_Atomic uint32_t published; /* prefix[0..published] are set */
	uint32_t phase_end;        /* the next DONE must say next == this */
	/* receiver thread */
	pthread_t rx;
	bool rx_running;
	atomic_int rx_stop;
	atomic_int rx_state; /* DS_RUNNING; 0 after DONE; VR_E* or DS_* */
	atomic_uint rx_count; /* control messages checked */
	atomic_uint rx_next;  /* the last 'next' reported */
	/* control messages still found after vr_chan_recv said VR_EPEERDEAD */
	atomic_uint rx_after_dead;
	_Atomic uint64_t rx_end_ns; /* when it stopped (pc_now_ns) */
	char rx_why[256];
	/* device processes */
	pid_t dev;
	unsigned devs; /* devices started */
};

/* The tests' defaults: a queue of 128, 128 buffers of 1 KiB (64 for TX),
 * messages of 1..1024 bytes, a reply every 64, 10 s per blocking call,
 * seed from VR_PROCESS_SEED (else fixed). */
void ds_default_cfg(struct ds_cfg *cfg, uint32_t format, bool polling,
		    uint32_t messages, const char *peer, const char *tag);

/* "split doorbells", "packed polling", ... */
const char *ds_cfg_name(const struct ds_cfg *cfg);

/* Create the temp dir, the region and socket (listen), open the channel. */
int ds_init(struct ds *d, const struct ds_cfg *cfg);

/* Exec vr_peer as device #d->devs. @log: seq log path or NULL; @resume:
 * the device takes its first seq from the first message; @end: it stops
 * after seq end - 1. Returns 0 or -1. */
int ds_spawn_device(struct ds *d, const char *log, bool resume, uint32_t end);

/* Path of the log of device @i in the temp dir. */
void ds_log_path(const struct ds *d, unsigned i, char *buf, size_t cap);

/* vr_shm_accept with the configured timeout. */
int ds_accept(struct ds *d);

int ds_rx_start(struct ds *d);
/* Join the receiver (it ends by itself on DONE, peer death or timeout;
 * @stop asks it to end now). Returns its final rx_state. */
int ds_rx_join(struct ds *d, bool stop);

/* Why the receiver stopped: "" while it runs (rx_why may be being
 * written then); once it has stopped, rx_why is complete. */
const char *ds_rx_why(struct ds *d);

/* Send message @seq (odd: zero-copy reserve/commit, even: copy). */
int ds_send(struct ds *d, uint32_t seq);

/* Kill the children, stop the receiver, close, free, remove the dir. */
void ds_destroy(struct ds *d);

#endif /* VR_PROCESS_DRIVER_SIDE_H */
