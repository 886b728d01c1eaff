/* SPDX-License-Identifier: BSD-3-Clause */
/* vringctl send / recv: one end of the channel, in either role
 * (chan_end.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "chan_end.h"

#define LINGER_NS 50000000ull /* a device stays attached at least this long */

uint64_t vc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

uint64_t vc_slice(uint64_t deadline)
{
	uint64_t now = vc_now_ns();

	if (deadline == VC_NO_DEADLINE)
		return VC_SLICE_NS;
	if (now >= deadline)
		return 0;
	return deadline - now < VC_SLICE_NS ? deadline - now : VC_SLICE_NS;
}

static const char *peer_name(const struct vc_end *e)
{
	return e->role == VR_ROLE_DRIVER ? "device" : "driver";
}

static int state_for(struct vc_end *e, size_t need)
{
	if (need > e->state_len) {
		free(e->state);
		e->state_len = 0;
		e->state = aligned_alloc(64, (need + 63) & ~(size_t)63);
		if (!e->state) {
			vc_err(e->cmd, "out of memory");
			return VC_EXIT_REGION;
		}
		e->state_len = (need + 63) & ~(size_t)63;
	}
	return 0;
}

/* ---- Device role ------------------------------------------------------------- */

/* Does the region exist yet? (The device may start before it is made.) */
static bool region_exists(const struct vc_target *t)
{
	int fd = t->kind == VC_RK_SHM ? shm_open(t->path, O_RDONLY, 0)
				      : open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return errno != ENOENT;
	close(fd);
	return true;
}

/*
 * Wait until a driver is ready for a device: the region exists and is laid
 * out, the driver has set DRIVER_OK and its heartbeat moves, and
 * device_status is 0: no device is attached, and the driver has reset the
 * rings since the last one left (it stores 0 when it gives a device up,
 * REGION.md §6). Returns 0, VC_EXIT_TIMEOUT,
 * VC_EXIT_INTR, or VC_EXIT_REGION (printed).
 */
static int wait_driver(struct vc_end *e, uint64_t deadline)
{
	static const unsigned char zero[4];
	unsigned char head[VR_REGION_HEADER_BYTES];

	for (;;) {
		struct vc_region r;
		bool ready = false;
		int rc;

		if (vc_interrupted)
			return VC_EXIT_INTR;
		if (!region_exists(&e->t))
			goto later;
		rc = vc_region_open(e->cmd, &e->t, &r);
		if (rc)
			return rc;
		if (vc_read_header(&r, head) == 0 && r.file_bytes >= VR_REGION_HEADER_BYTES) {
			/* The creator stores the magic's first word last
			 * (REGION.md §1): while it is 0 the region is still
			 * being laid out (the rest of the magic may already
			 * be there). */
			if (memcmp(head, zero, 4) == 0) {
				vc_region_close(&r);
				goto later;
			}
			if (memcmp(head, VR_REGION_MAGIC, 8) != 0) {
				vc_err(e->cmd, "%s: %s (VR_EMAGIC)", e->t.shown,
				       vc_region_error_text(VR_EMAGIC));
				vc_region_close(&r);
				return VC_EXIT_REGION;
			}
			if ((vc_rd32(head + VR_RH_DRIVER_STATUS) & VR_STATUS_DRIVER_OK) &&
			    vc_rd32(head + VR_RH_DEVICE_STATUS) == 0) {
				uint32_t hb = vc_rd32(head + VR_RH_DRIVER_HEARTBEAT);
				uint64_t t0 = vc_now_ns();

				while (!ready && vc_now_ns() - t0 < 100000000ull) {
					nap_ms(5);
					if (vc_read_header(&r, head) != 0)
						break;
					ready = vc_rd32(head + VR_RH_DRIVER_HEARTBEAT) != hb;
				}
			}
		}
		vc_region_close(&r);
		if (ready)
			return 0;
later:
		if (vc_slice(deadline) == 0)
			return VC_EXIT_TIMEOUT;
		nap_ms(10);
	}
}

static const struct vr_shm_peer_cfg guard_cfg = {0, 0, VR_SHM_GUARD_SIGBUS};

static int dev_attach(struct vc_end *e, uint64_t deadline)
{
	uint32_t backing = e->t.kind == VC_RK_SHM ? VR_SHM_NAMED : VR_SHM_FILE;
	struct vr_chan_cfg cfg;
	size_t need;
	int err, rc;

	if (e->t.kind == VC_RK_PID) {
		vc_err(e->cmd, "%s: the device role needs a file path or a shm name",
		       e->t.shown);
		return VC_EXIT_USAGE;
	}
	for (;;) {
		rc = wait_driver(e, deadline);
		if (rc)
			return rc;
		/* A file or named object cannot be sealed: if it is truncated
		 * under us, the guard turns SIGBUS into a dead driver. */
		err = vr_shm_open(&e->shm, backing, e->t.path, &guard_cfg);
		if (err) {
			vc_err(e->cmd, "%s: cannot attach: %s (%s)", e->t.shown,
			       vr_shm_last_error(&e->shm), vr_errname(err));
			return VC_EXIT_REGION;
		}
		e->shm_open = true;
		need = vr_chan_state_size(&e->shm.t);
		if (need == 0) {
			vc_err(e->cmd, "%s: not a channel region: queues 0 and 1 must "
				       "both exist with one format, and the pool needs two "
				       "buffers", e->t.shown);
			return VC_EXIT_REGION;
		}
		rc = state_for(e, need);
		if (rc)
			return rc;
		memset(&cfg, 0, sizeof(cfg));
		cfg.features = VR_RING_FEATURES;
		err = vr_chan_open(&e->ch, &e->shm.t, &cfg, e->state, e->state_len);
		if (err == 0) {
			e->open = true;
			e->max_msg = vr_chan_max_msg(&e->ch);
			e->attached_ns = vc_now_ns();
			return 0;
		}
		vr_shm_close(&e->shm);
		e->shm_open = false;
		if (err != VR_EAGAIN) {
			vc_err(e->cmd, "%s: opening the channel as the device: %s (%s)",
			       e->t.shown, vr_strerror(err), vr_errname(err));
			return err == VR_EFEATURES ? VC_EXIT_FAIL : VC_EXIT_REGION;
		}
		nap_ms(10); /* the driver is between sessions */
	}
}

/* ---- Driver role ------------------------------------------------------------- */

static int drv_attach(struct vc_end *e)
{
	struct vr_chan_cfg cfg;
	uint32_t n0, n1, bufs;
	size_t need;
	int err, rc;

	if (e->t.kind == VC_RK_PID) {
		vc_err(e->cmd, "%s: the driver role needs a file path or a shm name "
			       "(a process's memfd belongs to its driver)", e->t.shown);
		return VC_EXIT_USAGE;
	}
	rc = vc_drvport_open(e->cmd, &e->t, &e->dp);
	if (rc)
		return rc;
	/* Half the pool sends, half receives, as the channel's default;
	 * neither half may outnumber its queue. */
	n0 = e->dp.info.queue[VR_CHAN_TX].size;
	n1 = e->dp.info.queue[VR_CHAN_RX].size;
	bufs = e->dp.info.buf_count;
	e->tx_bufs = bufs / 2 < n0 ? bufs / 2 : n0;
	if (bufs - e->tx_bufs > n1)
		e->tx_bufs = bufs - n1;
	if (bufs < 2 || e->tx_bufs == 0 || e->tx_bufs > n0) {
		vc_err(e->cmd, "%s: a pool of %u buffers cannot be shared between the "
			       "TX queue (%u) and the RX queue (%u)", e->t.shown, bufs,
		       n0, n1);
		return VC_EXIT_REGION;
	}
	need = vr_chan_state_size(&e->dp.t);
	rc = need ? state_for(e, need) : VC_EXIT_REGION;
	if (rc)
		return rc;
	memset(&cfg, 0, sizeof(cfg));
	cfg.features = VR_RING_FEATURES; /* whatever the device offers */
	cfg.tx_bufs = e->tx_bufs;
	err = vr_chan_open(&e->ch, &e->dp.t, &cfg, e->state, e->state_len);
	if (err) {
		vc_err(e->cmd, "%s: opening the channel as the driver: %s (%s)",
		       e->t.shown, vr_strerror(err), vr_errname(err));
		return VC_EXIT_REGION;
	}
	e->open = true;
	e->max_msg = vr_chan_max_msg(&e->ch);
	return 0;
}

int vc_end_attach(struct vc_end *e, uint64_t deadline)
{
	return e->role == VR_ROLE_DRIVER ? drv_attach(e) : dev_attach(e, deadline);
}

void vc_end_detach(struct vc_end *e)
{
	if (e->role == VR_ROLE_DRIVER) {
		vc_drvport_close(&e->dp);
	} else if (e->shm_open) {
		/* A listener without a socket counts a device as attached when
		 * its heartbeat moves (every 10 ms): stay long enough to be
		 * seen, however quick the job was. */
		uint64_t up = vc_now_ns() - e->attached_ns;

		if (up < LINGER_NS)
			nanosleep(&(struct timespec){0, (long)(LINGER_NS - up)}, NULL);
		/* Leaving: drop our DRIVER_OK (keeping ACKNOWLEDGE|DRIVER, so
		 * that no device attaches before the driver has reset the
		 * rings and cleared the word), which tells the driver at once;
		 * unless the driver has already moved on to a new session. */
		if (e->open && vr_region_load(e->shm.t.region, VR_RH_GENERATION) ==
				       vr_shm_info(&e->shm)->generation)
			vr_region_store(e->shm.t.region, VR_RH_DEVICE_STATUS,
					VR_STATUS_ACKNOWLEDGE | VR_STATUS_DRIVER);
		vr_shm_close(&e->shm);
		e->shm_open = false;
	}
	e->open = false;
}

/* What it had published is kept; unacknowledged messages go again. */
int vc_end_peer_gone(struct vc_end *e, uint64_t deadline)
{
	int err;

	if (e->role == VR_ROLE_DRIVER ? vc_drvport_truncated(&e->dp)
				      : strcmp(vr_shm_peer_error(&e->shm),
					       "backing truncated") == 0) {
		vc_err(e->cmd, "%s: the region was truncated while in use", e->t.shown);
		return VC_EXIT_REGION;
	}
	if (e->role == VR_ROLE_DRIVER) {
		err = vr_chan_reset(&e->ch);
		if (err) {
			vc_err(e->cmd, "%s: resetting the channel: %s (%s)", e->t.shown,
			       vr_strerror(err), vr_errname(err));
			return VC_EXIT_FAIL;
		}
		vc_drvport_accept(&e->dp);
		return 0;
	}
	vc_end_detach(e);
	return dev_attach(e, deadline);
}

int vc_end_failed(struct vc_end *e, int err, const char *doing)
{
	if (vr_is_protocol_error(err) || err == VR_EBROKEN)
		vc_err(e->cmd, "%s: the %s broke the ring protocol while %s: %s (%s)",
		       e->t.shown, peer_name(e), doing, vr_strerror(err), vr_errname(err));
	else
		vc_err(e->cmd, "%s: %s: %s (%s)", e->t.shown, doing, vr_strerror(err),
		       vr_errname(err));
	return VC_EXIT_FAIL;
}

int vc_end_timed_out(struct vc_end *e, uint64_t timeout, const char *what)
{
	bool nobody = e->role == VR_ROLE_DRIVER ? !e->dp.ever_attached : !e->open;

	vc_err(e->cmd, "%s: timed out after %.1f s %s%s", e->t.shown,
	       (double)timeout / 1e9, what,
	       nobody ? (e->role == VR_ROLE_DRIVER ? " (no device attached)"
						   : " (no driver ready)")
		      : "");
	return VC_EXIT_TIMEOUT;
}

/* ---- Options ----------------------------------------------------------------- */


static int parse_role(const char *cmd, const char *v, int *role)
{
	if (strcmp(v, "driver") == 0)
		*role = VR_ROLE_DRIVER;
	else if (strcmp(v, "device") == 0)
		*role = VR_ROLE_DEVICE;
	else {
		vc_err(cmd, "--role: \"%s\" is not driver or device", v);
		return -1;
	}
	return 0;
}

int vc_msg_parse(const char *cmd, int argc, char **argv, struct vc_msgopts *o,
		 void (*usage)(FILE *))
{
	enum { O_HELP = 1, O_ROLE, O_TIMEOUT, O_COUNT, O_HEX };
	static const struct vc_opt send_opts[] = {
		{"--help", false, O_HELP}, {"--role", true, O_ROLE},
		{"--timeout", true, O_TIMEOUT}, {"--hex", false, O_HEX},
		{NULL, false, 0},
	};
	static const struct vc_opt recv_opts[] = {
		{"--help", false, O_HELP}, {"--role", true, O_ROLE},
		{"--timeout", true, O_TIMEOUT}, {"--count", true, O_COUNT},
		{"--hex", false, O_HEX}, {NULL, false, 0},
	};
	bool is_send = strcmp(cmd, "send") == 0;
	struct vc_args args = {cmd, argc, argv, 1, false};
	const char *val;
	int id;

	o->msgs = calloc((size_t)argc + 1, sizeof(char *));
	if (!o->msgs) {
		vc_err(cmd, "out of memory");
		return -1;
	}
	while ((id = vc_next_arg(&args, is_send ? send_opts : recv_opts, &val)) !=
	       VC_ARG_END) {
		switch (id) {
		case VC_ARG_ERR:
			return -1;
		case O_HELP:
			usage(stdout);
			return 1;
		case O_ROLE:
			if (parse_role(cmd, val, &o->role))
				return -1;
			break;
		case O_TIMEOUT:
			if (vc_parse_secs(cmd, "--timeout", val, &o->timeout))
				return -1;
			break;
		case O_COUNT:
			if (vc_parse_u64(cmd, "--count", val, 1, UINT32_MAX, &o->count))
				return -1;
			break;
		case O_HEX:
			o->hex = true;
			break;
		default:
			if (!o->region)
				o->region = val;
			else if (is_send)
				o->msgs[o->nmsgs++] = (char *)(uintptr_t)val;
			else if (vc_take_region(cmd, &o->region, val))
				return -1;
		}
	}
	return vc_need_region(cmd, o->region);
}

struct vc_end *vc_end_new(const char *cmd, int role)
{
	struct vc_end *e = calloc(1, sizeof(*e));

	if (!e) {
		vc_err(cmd, "out of memory");
		return NULL;
	}
	e->cmd = cmd;
	e->role = role;
	e->dp.fd = -1;
	return e;
}

void vc_end_free(struct vc_end *e)
{
	if (!e)
		return;
	vc_end_detach(e);
	free(e->state);
	free(e);
}
