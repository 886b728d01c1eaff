/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl: a polling transport for the driver role on an existing region.
 *
 * The shm transport's listener creates its region; vringctl's driver
 * attaches to one that `vringctl create` (or anything else) laid out, so it
 * brings this small transport instead: the region mapped read-write, no
 * doorbells (the channel polls), a thread that bumps driver_heartbeat every
 * 10 ms, and the device's liveness from device_heartbeat, as in polling mode
 * of vring::shm (docs/TRANSPORT_SHM.md, "Liveness"), plus device_status: a
 * device that drops its DRIVER_OK has left. A vr_shm_open() device
 * interoperates with it.
 *
 * Claiming the region (REGION.md §6): refuse when another driver's
 * heartbeat is moving; else store driver_status 0 and device_status 0,
 * change the generation (a device still attached to an earlier session
 * stops), and zero the three areas of the channel's two queues. On close:
 * driver_status 0 and a new generation, so the device notices at once.
 *
 * A file or named object cannot be sealed: the mapping is under vring::shm's
 * SIGBUS guard (vr_shm_guard), so a region truncated under it reads as
 * zeros and the device counts as gone; vc_drvport_truncated() tells why.
 */
#ifndef VRINGCTL_DRVPORT_H
#define VRINGCTL_DRVPORT_H

#include <pthread.h>
#include <stdatomic.h>

#include <vring/transport.h>

#include "vringctl.h"

struct vc_drvport {
	struct vr_transport t; /* first: what the channel gets */
	int fd;
	void *map;
	size_t map_len;
	struct vr_region_info info;
	int guard;        /* vr_shm_guard handle, or -1 */
	uint64_t liveness_ns;
	pthread_t thr;
	bool thr_running;
	atomic_int stop;
	/* The device, as seen from its heartbeat (only the thread that uses
	 * the channel reads or writes these). */
	int state;        /* VR_PEER_WAITING, VR_PEER_ALIVE, or -1 dead */
	uint32_t peer_hb;
	uint64_t peer_seen_ns;
	bool ever_attached;
};

/* Open @t read-write and claim the driver role. Returns 0 or a VC_EXIT_*
 * code (printed). */
int vc_drvport_open(const char *cmd, const struct vc_target *t, struct vc_drvport *p);
/* After the device died: wait for the next one (peer state WAITING). */
void vc_drvport_accept(struct vc_drvport *p);
void vc_drvport_close(struct vc_drvport *p);
/* Was the region truncated under the mapping (now zero pages)? */
bool vc_drvport_truncated(const struct vc_drvport *p);

#endif /* VRINGCTL_DRVPORT_H */
