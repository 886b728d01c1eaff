/* SPDX-License-Identifier: BSD-3-Clause */
/* vringctl: the driver-role polling transport (drvport.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vring/region.h>
#include <vring/shm.h>

#include "drvport.h"

#define HEARTBEAT_NS 10000000ull  /* as vring::shm's default */
#define LIVENESS_NS 300000000ull  /* as vring::shm's default */
#define POLL_SLICE_NS 200000ull   /* a CLI can afford 200 us of latency */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / 1000000000ull);
	ts.tv_nsec = (long)(ns % 1000000000ull);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !vc_interrupted)
		;
}

static struct vc_drvport *port(struct vr_transport *t)
{
	return (struct vc_drvport *)(void *)t;
}

/* The device is dead: tell a stale device (one that was stopped, not
 * killed) that it lost its place, as vring::shm's listener does. */
static void mark_dead(struct vc_drvport *p)
{
	p->state = -1;
	vr_region_store(p->map, VR_RH_GENERATION,
			vr_region_load(p->map, VR_RH_GENERATION) + 1);
}

/*
 * The device is attached once its heartbeat moves or its status word is
 * no longer 0 (a short-lived device may come and go within one heartbeat
 * period). It is gone when its heartbeat has been still for the liveness
 * time, or when its status is set but without DRIVER_OK: vringctl's device
 * leaves that way (and the word stays so until the driver resets it to 0,
 * which keeps the next device out until the rings are reset).
 */
static int op_peer_state(struct vr_transport *t)
{
	struct vc_drvport *p = port(t);
	uint32_t hb = vr_region_load(p->map, VR_RH_DEVICE_HEARTBEAT);
	uint32_t st = vr_region_load(p->map, VR_RH_DEVICE_STATUS);
	uint64_t now = mono_ns();

	if (p->state < 0)
		return VR_EPEERDEAD;
	if (vc_drvport_truncated(p)) {
		p->state = -1; /* the region is gone: nothing to tell anyone */
		return VR_EPEERDEAD;
	}
	if (p->state == VR_PEER_WAITING) {
		if (hb == p->peer_hb && st == 0)
			return VR_PEER_WAITING;
		p->state = VR_PEER_ALIVE;
		p->ever_attached = true;
		p->peer_hb = hb;
		p->peer_seen_ns = now;
	} else if (hb != p->peer_hb) {
		p->peer_hb = hb;
		p->peer_seen_ns = now;
	}
	if ((st != 0 && !(st & VR_STATUS_DRIVER_OK)) ||
	    now - p->peer_seen_ns > p->liveness_ns) {
		mark_dead(p);
		return VR_EPEERDEAD;
	}
	return VR_PEER_ALIVE;
}

static int op_notify(struct vr_transport *t, uint32_t q)
{
	struct vc_drvport *p = port(t);

	if (q >= p->info.queue_count)
		return VR_EINVAL;
	return p->state < 0 ? VR_EPEERDEAD : 0; /* no doorbells: the peer polls */
}

static int op_wait(struct vr_transport *t, uint32_t q, uint64_t timeout_ns)
{
	struct vc_drvport *p = port(t);
	int st;

	if (q >= p->info.queue_count)
		return VR_EINVAL;
	st = op_peer_state(t);
	if (st < 0)
		return st;
	if (timeout_ns == 0)
		return VR_ETIMEDOUT;
	sleep_ns(timeout_ns < POLL_SLICE_NS ? timeout_ns : POLL_SLICE_NS);
	st = op_peer_state(t);
	if (st < 0)
		return st;
	return timeout_ns <= POLL_SLICE_NS ? VR_ETIMEDOUT : 0;
}

static uint64_t op_now_ns(struct vr_transport *t)
{
	(void)t;
	return mono_ns();
}

static const struct vr_transport_ops drvport_ops = {
	op_notify, op_wait, op_peer_state, op_now_ns
};

static void *beat(void *arg)
{
	struct vc_drvport *p = (struct vc_drvport *)arg;
	uint32_t v = vr_region_load(p->map, VR_RH_DRIVER_HEARTBEAT);

	while (!atomic_load(&p->stop)) {
		/* Release: pairs with the device's acquire load. */
		vr_region_store(p->map, VR_RH_DRIVER_HEARTBEAT, ++v);
		sleep_ns(HEARTBEAT_NS);
	}
	return NULL;
}

/* Is another driver alive? Its heartbeat moves within the liveness time. */
static bool driver_alive(struct vc_drvport *p)
{
	uint32_t st = vr_region_load(p->map, VR_RH_DRIVER_STATUS);
	uint32_t hb0 = vr_region_load(p->map, VR_RH_DRIVER_HEARTBEAT);
	uint64_t t0 = mono_ns();

	if (st == 0)
		return false; /* closed cleanly, or never there */
	while (mono_ns() - t0 < LIVENESS_NS && !vc_interrupted) {
		if (vr_region_load(p->map, VR_RH_DRIVER_HEARTBEAT) != hb0)
			return true;
		sleep_ns(5000000ull);
	}
	return false;
}

/* Zero the three areas of queue @q (REGION.md §6, step 3). */
static void zero_queue(struct vc_drvport *p, uint32_t q)
{
	const struct vr_region_queue *rq = &p->info.queue[q];
	unsigned char *b = (unsigned char *)p->map;
	bool split = rq->format == VR_FORMAT_SPLIT;

	memset(b + rq->desc_off, 0, 16u * rq->size);
	memset(b + rq->driver_off, 0, split ? vr_split_avail_bytes(rq->size) : 4);
	memset(b + rq->device_off, 0, split ? vr_split_used_bytes(rq->size) : 4);
}

int vc_drvport_open(const char *cmd, const struct vc_target *t, struct vc_drvport *p)
{
	struct stat st;
	int err, e;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->guard = -1;
	p->liveness_ns = LIVENESS_NS;
	atomic_init(&p->stop, 0);
	if (t->kind == VC_RK_SHM)
		p->fd = shm_open(t->path, O_RDWR, 0);
	else
		p->fd = open(t->path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (p->fd < 0) {
		vc_err(cmd, "%s: %s", t->shown, strerror(errno));
		return VC_EXIT_REGION;
	}
	if (fstat(p->fd, &st) != 0) {
		vc_err(cmd, "%s: fstat: %s", t->shown, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		vc_err(cmd, "%s: not a regular file or shared memory object", t->shown);
		goto fail;
	}
	if (st.st_size < (off_t)VR_REGION_HEADER_BYTES) {
		vc_err(cmd, "%s: %s (VR_ETRUNC)", t->shown,
		       vc_region_error_text(VR_ETRUNC));
		goto fail;
	}
	p->map_len = (size_t)st.st_size;
	p->map = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		vc_err(cmd, "%s: mmap: %s", t->shown, strerror(errno));
		goto fail;
	}
	/* Truncated under us: zero pages and a dead device, not SIGBUS. */
	p->guard = vr_shm_guard(p->map, p->map_len);
	if (p->guard < 0) {
		vc_err(cmd, "%s: cannot guard the mapping against truncation: %s",
		       t->shown, vr_strerror(p->guard));
		goto fail;
	}
	err = vr_region_parse(p->map, p->map_len, &p->info);
	if (err) {
		vc_err(cmd, "%s: %s (%s)", t->shown, vc_region_error_text(err),
		       vr_errname(err));
		goto fail;
	}
	if (p->info.queue_count < 2 || p->info.queue[0].format != p->info.queue[1].format) {
		vc_err(cmd, "%s: not a channel region: queues 0 and 1 must both exist "
			    "and have one format", t->shown);
		goto fail;
	}
	if (driver_alive(p)) {
		vc_err(cmd, "%s: another driver is attached (its heartbeat is moving)",
		       t->shown);
		vc_drvport_close(p);
		return VC_EXIT_FAIL;
	}
	/* Claim: not ready, no device, a new session, clean rings. */
	vr_region_store(p->map, VR_RH_DRIVER_STATUS, 0);
	vr_region_store(p->map, VR_RH_DEVICE_STATUS, 0);
	vr_region_store(p->map, VR_RH_GENERATION,
			vr_region_load(p->map, VR_RH_GENERATION) + 1);
	zero_queue(p, 0);
	zero_queue(p, 1);
	p->t.ops = &drvport_ops;
	p->t.region = p->map;
	p->t.region_len = p->map_len;
	p->t.role = VR_ROLE_DRIVER;
	p->t.flags = VR_TRANSPORT_POLLING;
	vc_drvport_accept(p);
	e = pthread_create(&p->thr, NULL, beat, p);
	if (e != 0) {
		vc_err(cmd, "pthread_create: %s", strerror(e));
		goto fail;
	}
	p->thr_running = true;
	return 0;
fail:
	vc_drvport_close(p);
	return VC_EXIT_REGION;
}

bool vc_drvport_truncated(const struct vc_drvport *p)
{
	return p->guard >= 0 && vr_shm_guard_tripped(p->guard);
}

void vc_drvport_accept(struct vc_drvport *p)
{
	p->state = VR_PEER_WAITING;
	p->peer_hb = vr_region_load(p->map, VR_RH_DEVICE_HEARTBEAT);
	p->peer_seen_ns = mono_ns();
}

void vc_drvport_close(struct vc_drvport *p)
{
	if (p->thr_running) {
		atomic_store(&p->stop, 1);
		pthread_join(p->thr, NULL);
		p->thr_running = false;
	}
	if (p->map && p->t.ops && !vc_drvport_truncated(p)) {
		/* The session ends: not ready, and a new generation tells an
		 * attached device at once. */
		vr_region_store(p->map, VR_RH_DRIVER_STATUS, 0);
		vr_region_store(p->map, VR_RH_GENERATION,
				vr_region_load(p->map, VR_RH_GENERATION) + 1);
	}
	vr_shm_unguard(p->guard);
	p->guard = -1;
	if (p->map)
		munmap(p->map, p->map_len);
	if (p->fd >= 0)
		close(p->fd);
	p->map = NULL;
	p->fd = -1;
	p->t.ops = NULL;
}
