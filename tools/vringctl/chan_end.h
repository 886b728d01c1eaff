/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl send / recv: one end of the region's channel (queue 0 TX driver
 * -> device, queue 1 RX device -> driver), driven with the library's
 * channel API, in the driver or the device role.
 *
 * Device: attaches with vr_shm_open() (vring::shm, polling mode) once the
 * driver is ready (DRIVER_OK, its heartbeat moving, device_status 0), and
 * attaches again when the driver starts a new session. Driver: vringctl's
 * own polling transport (drvport.h) on the existing region; when the device
 * goes away it resets the channel (unacknowledged messages are submitted
 * again) and waits for the next one.
 */
#ifndef VRINGCTL_CHAN_END_H
#define VRINGCTL_CHAN_END_H

#include <vring/channel.h>
#include <vring/shm.h>

#include "drvport.h"

#define VC_SLICE_NS 100000000ull /* how often long waits look at the clock
				    and at SIGINT */
#define VC_NO_DEADLINE UINT64_MAX

struct vc_end {
	const char *cmd;
	struct vc_target t;
	int role;
	struct vc_drvport dp;  /* driver */
	struct vr_shm shm;     /* device */
	bool shm_open;
	struct vr_chan ch;
	void *state;
	size_t state_len;
	bool open;
	uint64_t attached_ns;  /* device: when it attached */
	uint32_t tx_bufs;      /* driver: buffers it sends from */
	uint32_t max_msg;
};

/* Options both commands parse. */
struct vc_msgopts {
	int role;
	uint64_t timeout;  /* ns, VC_NO_DEADLINE for none */
	uint64_t count;    /* recv: 0 for no limit */
	bool hex;
	const char *region;
	char **msgs;       /* send: from argv */
	int nmsgs;
};

/* 0 to run, 1 after --help, -1 on a bad argument (printed). */
int vc_msg_parse(const char *cmd, int argc, char **argv, struct vc_msgopts *o,
		 void (*usage)(FILE *));

/* A new end (NULL: out of memory, printed). */
struct vc_end *vc_end_new(const char *cmd, int role);
void vc_end_free(struct vc_end *e);

/* Take the role: 0, or a VC_EXIT_* (printed, except VC_EXIT_TIMEOUT and
 * VC_EXIT_INTR). */
int vc_end_attach(struct vc_end *e, uint64_t deadline);
void vc_end_detach(struct vc_end *e);
/* The peer went away: driver, reset and wait for the next device; device,
 * attach to the driver's next session. 0 or a VC_EXIT_* as attach. */
int vc_end_peer_gone(struct vc_end *e, uint64_t deadline);
/* One line for a channel error that ends the command; VC_EXIT_FAIL. */
int vc_end_failed(struct vc_end *e, int err, const char *doing);
/* One line for a timeout ("timed out after T s WHAT"); VC_EXIT_TIMEOUT. */
int vc_end_timed_out(struct vc_end *e, uint64_t timeout, const char *what);

uint64_t vc_now_ns(void);
/* The next wait: at most a slice, at most what is left before @deadline;
 * 0 once it has passed. */
uint64_t vc_slice(uint64_t deadline);

#endif /* VRINGCTL_CHAN_END_H */
