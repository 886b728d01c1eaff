/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guest peer of the ivshmem transport (vring/ivshmem_guest.h): the
 * struct vr_transport a channel uses inside a Linux guest, on top of the
 * PCI device layer in device.c.
 *
 * Doorbells: notify(q) writes (peer << 16) | q to the Doorbell register;
 * wait(q) sleeps on the eventfd VFIO signals for MSI-X vector q, waking at
 * least every quarter of the liveness timeout to look at the peer's
 * heartbeat (the guest sees no join or leave messages from the server).
 * Without an interrupt path wait() sleeps in short slices, as the shm
 * transport's polling mode does.
 *
 * Liveness and sessions follow docs/REGION.md §6: a background thread bumps
 * this side's heartbeat and watches the peer's; the device end also watches
 * the generation, which a driver changes when it starts a session and when
 * it gives a device up.
 */
#define _GNU_SOURCE

#include <vring/ivshmem_guest.h>

#include "device.h"
#include "../../hosted_clock.h"
#include "../../hosted_liveness.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

enum { ST_WAITING = VR_PEER_WAITING, ST_ALIVE = VR_PEER_ALIVE, ST_DEAD = 2 };
enum { WHY_NONE, WHY_HEARTBEAT, WHY_GENERATION };

/* Without a known peer id, doorbells go to every other id below this. */
#define AUTO_PEERS 16u

struct vr__ivg {
	struct vr__ivg_dev dev;
	uint32_t role;
	uint32_t flags;
	bool polling;  /* no doorbells at all */
	int irq_mode;  /* enum vr_ivshmem_guest_irq */
	char irq_note[VR_IVSHMEM_GUEST_ERR_BYTES];
	int own_id;    /* IVPosition, -1 without */
	uint32_t peer_cfg; /* cfg.peer_id */
	void *map;     /* BAR2 */
	size_t map_len;
	struct vr_region_info info;
	uint64_t heartbeat_ns, liveness_ns, open_timeout_ns;
	atomic_uint_least32_t my_gen; /* device: the driver session attached to;
					* written by attach while the thread may read it */
	int stopfd;
	pthread_t thr;
	bool thr_running;
	/* The atomics below are shared between this process's threads only
	 * (the caller's, and the heartbeat thread), never with the peer: all
	 * are sequentially consistent (the default), except the counters
	 * rings and irqs, relaxed because they are only displayed. What the
	 * peer sees goes through vr_region_load/vr_region_store (acquire /
	 * release, partner named at each call). */
	atomic_int state;
	atomic_int why;
	struct vr__hb_watch hb; /* the peer's heartbeat (hosted_liveness.h) */
	atomic_uint_least64_t rings;
	atomic_uint_least64_t irqs[VR__IVG_MAX_VEC];
};

/* ---- Helpers -------------------------------------------------------------- */

static void seterr(struct vr_ivshmem_guest *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void seterr(struct vr_ivshmem_guest *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->err, sizeof(g->err), fmt, ap);
	va_end(ap);
}

static struct vr__ivg *priv(struct vr_transport *t)
{
	return ((struct vr_ivshmem_guest *)(void *)t)->p;
}

static enum vr_region_field own_hb(const struct vr__ivg *p)
{
	return p->role == VR_ROLE_DRIVER ? VR_RH_DRIVER_HEARTBEAT : VR_RH_DEVICE_HEARTBEAT;
}

static enum vr_region_field peer_hb(const struct vr__ivg *p)
{
	return p->role == VR_ROLE_DRIVER ? VR_RH_DEVICE_HEARTBEAT : VR_RH_DRIVER_HEARTBEAT;
}

/* ---- Liveness ------------------------------------------------------------- */

static void mark_dead(struct vr__ivg *p, int why)
{
	int expect = ST_ALIVE, none = WHY_NONE;

	atomic_compare_exchange_strong(&p->why, &none, why);
	if (!atomic_compare_exchange_strong(&p->state, &expect, ST_DEAD))
		return;
	/* A driver giving a device up says "not ready" and moves the
	 * generation at once, so that neither a device that was only stalled
	 * (not dead) nor a new one uses the rings before vr_chan_reset() has
	 * rebuilt them (docs/REGION.md §6, docs/TRANSPORT_IVSHMEM.md
	 * "Sessions"). Release: pairs with the device's acquire loads. */
	if (p->role == VR_ROLE_DRIVER) {
		vr_region_store(p->map, VR_RH_DRIVER_STATUS,
				VR_STATUS_ACKNOWLEDGE | VR_STATUS_DRIVER);
		vr_region_store(p->map, VR_RH_GENERATION,
				vr_region_load(p->map, VR_RH_GENERATION) + 1);
	}
}

static void hb_reset(struct vr__ivg *p)
{
	vr__hb_watch_reset(&p->hb, vr_region_load(p->map, peer_hb(p)), mono_ns());
}

/* Sample the peer's heartbeat; true when it stood still too long. */
static bool hb_stale(struct vr__ivg *p, uint64_t now)
{
	return vr__hb_watch_stale(&p->hb, vr_region_load(p->map, peer_hb(p)), now,
				  p->liveness_ns);
}

static int check_peer(struct vr__ivg *p)
{
	int st = atomic_load(&p->state);

	if (st == ST_DEAD)
		return VR_EPEERDEAD;
	if (st != ST_ALIVE)
		return VR_PEER_WAITING;
	if (hb_stale(p, mono_ns()))
		mark_dead(p, WHY_HEARTBEAT);
	else if (p->role == VR_ROLE_DEVICE &&
		 vr_region_load(p->map, VR_RH_GENERATION) != atomic_load(&p->my_gen))
		mark_dead(p, WHY_GENERATION);
	return atomic_load(&p->state) == ST_DEAD ? VR_EPEERDEAD : VR_PEER_ALIVE;
}

/* ---- Ops ------------------------------------------------------------------- */

static void ring(struct vr__ivg *p, uint32_t peer, uint32_t vector)
{
	/* The ring stores this doorbell announces must reach the shared
	 * memory before the device write that makes the peer look: the
	 * channel published them with release stores; the fence extends that
	 * order to the (uncached) register store. */
	atomic_thread_fence(memory_order_seq_cst);
	if (vr_ivshmem_ring(p->dev.regs, peer, vector) == 0)
		atomic_fetch_add_explicit(&p->rings, 1, memory_order_relaxed);
}

static int op_notify(struct vr_transport *t, uint32_t q)
{
	struct vr__ivg *p = priv(t);
	uint32_t id;

	if (q >= p->info.queue_count)
		return VR_EINVAL;
	if (atomic_load(&p->state) == ST_DEAD)
		return VR_EPEERDEAD;
	if (p->polling)
		return 0;
	if (p->peer_cfg != VR_IVSHMEM_GUEST_PEER_AUTO) {
		ring(p, p->peer_cfg, q);
		return 0;
	}
	/* No id known: every other id gets it (a spurious wakeup for a
	 * bystander is allowed by vring/transport.h; QEMU drops a doorbell
	 * to an id that has no peer). */
	for (id = 0; id < AUTO_PEERS; id++)
		if ((int)id != p->own_id)
			ring(p, id, q);
	return 0;
}

static int wait_polling(struct vr__ivg *p, uint64_t timeout_ns)
{
	const uint64_t slice = 50000; /* 50 us */
	int st = check_peer(p);

	if (st < 0)
		return st;
	if (timeout_ns == 0)
		return VR_ETIMEDOUT;
	sleep_ns(timeout_ns < slice ? timeout_ns : slice);
	st = check_peer(p);
	if (st < 0)
		return st;
	return timeout_ns <= slice ? VR_ETIMEDOUT : 0;
}

static int op_wait(struct vr_transport *t, uint32_t q, uint64_t timeout_ns)
{
	struct vr__ivg *p = priv(t);
	uint64_t deadline, val, slice;

	if (q >= p->info.queue_count)
		return VR_EINVAL;
	if (p->irq_mode != VR_IVSHMEM_GUEST_IRQ_VFIO || q >= p->dev.nvec)
		return wait_polling(p, timeout_ns);
	deadline = deadline_of(timeout_ns);
	/* Wake often enough to notice a dead peer within the bound
	 * (docs/TRANSPORT_IVSHMEM.md): the heartbeat is the only news. */
	slice = p->liveness_ns / 4;
	for (;;) {
		struct pollfd pf = {p->dev.efd[q], POLLIN, 0};
		uint64_t left;
		struct timespec ts;
		int st, r;

		st = check_peer(p);
		if (st < 0)
			return st;
		left = left_ns(deadline);
		if (left > slice)
			left = slice;
		ts.tv_sec = (time_t)(left / 1000000000u);
		ts.tv_nsec = (long)(left % 1000000000u);
		r = ppoll(&pf, 1, &ts, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return VR_EIO;
		}
		if (pf.revents & POLLIN) {
			if (read(pf.fd, &val, sizeof(val)) == (ssize_t)sizeof(val))
				atomic_fetch_add_explicit(&p->irqs[q], val,
							  memory_order_relaxed);
			else if (errno != EAGAIN && errno != EINTR)
				return VR_EIO;
			return 0;
		}
		if (pf.revents & (POLLERR | POLLNVAL))
			return VR_EIO;
		if (left_ns(deadline) == 0)
			return VR_ETIMEDOUT;
	}
}

static int op_peer_state(struct vr_transport *t)
{
	return check_peer(priv(t));
}

static uint64_t op_now_ns(struct vr_transport *t)
{
	(void)t;
	return mono_ns();
}

static const struct vr_transport_ops ivg_ops = {
	op_notify, op_wait, op_peer_state, op_now_ns
};

/* ---- Heartbeat thread ------------------------------------------------------- */

static void *watcher(void *arg)
{
	struct vr__ivg *p = (struct vr__ivg *)arg;
	uint32_t beat = vr_region_load(p->map, own_hb(p));

	for (;;) {
		struct pollfd pf = {p->stopfd, POLLIN, 0};
		struct timespec ts;

		ts.tv_sec = (time_t)(p->heartbeat_ns / 1000000000u);
		ts.tv_nsec = (long)(p->heartbeat_ns % 1000000000u);
		if (ppoll(&pf, 1, &ts, NULL) > 0 && pf.revents)
			break;
		/* Release: pairs with the peer's acquire load of our beat. */
		vr_region_store(p->map, own_hb(p), ++beat);
		if (atomic_load(&p->state) == ST_ALIVE)
			(void)check_peer(p);
	}
	return NULL;
}

/* ---- Set-up ---------------------------------------------------------------- */

/* A driver starting a session on a region that outlived the previous one
 * (ivshmem memory belongs to the server, not to a peer): every ring area
 * goes back to its initial state, the device's too, as vr_chan_reset()
 * does. Without it the new driver would read the old device's used index
 * and take it for a protocol violation. No device uses the rings now: the
 * generation has moved and the driver status is not DRIVER_OK. */
static void zero_rings(struct vr__ivg *p)
{
	uint32_t q;

	for (q = 0; q < p->info.queue_count; q++) {
		size_t n = p->info.queue[q].size;

		if (p->info.queue[q].format == VR_FORMAT_PACKED) {
			struct vr_packed_areas a;

			if (vr_region_packed_areas(p->map, &p->info, q, &a) != 0)
				continue;
			memset(a.desc, 0, 16 * n);
			memset(a.driver_event, 0, 4);
			memset(a.device_event, 0, 4);
		} else {
			struct vr_split_areas a;

			if (vr_region_split_areas(p->map, &p->info, q, &a) != 0)
				continue;
			memset(a.desc, 0, 16 * n);
			memset(a.avail, 0, 6 + 2 * n);
			memset(a.used, 0, 6 + 8 * n);
		}
	}
	/* Release: the zeroed rings before the status a device looks at. */
	vr_region_store(p->map, VR_RH_DEVICE_STATUS, 0);
}

static int check_timing(struct vr_ivshmem_guest *g, uint64_t hb, uint64_t live)
{
	struct vr__ivg *p = g->p;

	p->heartbeat_ns = hb ? hb : VR_IVSHMEM_GUEST_HEARTBEAT_DEFAULT_NS;
	p->liveness_ns = live ? live : VR_IVSHMEM_GUEST_LIVENESS_DEFAULT_NS;
	if (p->heartbeat_ns < 100000u || p->heartbeat_ns > 1000000000u ||
	    p->liveness_ns < 2 * p->heartbeat_ns || p->liveness_ns > 60000000000ull) {
		seterr(g, "heartbeat %llu ns / liveness timeout %llu ns: the period "
			  "must be 100 us..1 s and the timeout 2 periods..60 s",
		       (unsigned long long)p->heartbeat_ns,
		       (unsigned long long)p->liveness_ns);
		return VR_EINVAL;
	}
	return 0;
}

/* Map the device and choose the interrupt path. */
static int setup_device(struct vr_ivshmem_guest *g, const struct vr_ivshmem_guest_cfg *cfg)
{
	struct vr__ivg *p = g->p;
	bool msix = p->dev.bar_len[VR_IVSHMEM_BAR_MSIX] != 0;
	char why[VR__IVG_MSG_BYTES];
	int rc;

	why[0] = '\0';
	if (!msix)
		snprintf(p->irq_note, sizeof(p->irq_note),
			 "the device has no MSI-X (ivshmem-plain, or ivshmem-doorbell "
			 "without vectors)");
	else if (cfg->flags & VR_IVSHMEM_GUEST_POLLING)
		snprintf(p->irq_note, sizeof(p->irq_note), "polling asked for");
	else if (cfg->flags & VR_IVSHMEM_GUEST_NO_VFIO)
		snprintf(p->irq_note, sizeof(p->irq_note), "VFIO not asked for");
	if (msix && !(cfg->flags & (VR_IVSHMEM_GUEST_POLLING | VR_IVSHMEM_GUEST_NO_VFIO))) {
		rc = vr__ivg_dev_open_vfio(&p->dev, VR__IVG_MAX_VEC, why, sizeof(why));
		if (rc == 0) {
			p->irq_mode = VR_IVSHMEM_GUEST_IRQ_VFIO;
			p->irq_note[0] = '\0';
			return 0;
		}
		snprintf(p->irq_note, sizeof(p->irq_note), "no VFIO interrupts: %.160s", why);
		if (cfg->flags & VR_IVSHMEM_GUEST_REQUIRE_IRQ) {
			seterr(g, "%s", p->irq_note);
			return rc == VR_EIO ? VR_EIO : VR_EDEVICE;
		}
	}
	if (!msix && (cfg->flags & VR_IVSHMEM_GUEST_REQUIRE_IRQ)) {
		seterr(g, "interrupts required but %s", p->irq_note);
		return VR_EDEVICE;
	}
	rc = vr__ivg_dev_map_sysfs(&p->dev, why, sizeof(why));
	if (rc) {
		seterr(g, "%s", why);
		return rc;
	}
	p->irq_mode = VR_IVSHMEM_GUEST_IRQ_POLL;
	return 0;
}

/* Read IVPosition; decide doorbells or polling. A device without MSI-X is
 * taken for ivshmem-plain (whose IVPosition reads 0, a valid-looking id):
 * no doorbells. (ivshmem-doorbell with msi=off has no MSI-X either; its
 * doorbells would need INTx in the kernel, which userspace cannot take:
 * docs/TRANSPORT_IVSHMEM.md says to give it vectors.) */
static int setup_position(struct vr_ivshmem_guest *g, const struct vr_ivshmem_guest_cfg *cfg,
			  uint64_t deadline)
{
	struct vr__ivg *p = g->p;
	bool msix = p->dev.bar_len[VR_IVSHMEM_BAR_MSIX] != 0;
	uint32_t id = 0;
	int rc;

	if (!msix) {
		p->own_id = -1;
		p->polling = true;
		p->irq_mode = VR_IVSHMEM_GUEST_IRQ_NONE;
		if (cfg->flags & VR_IVSHMEM_GUEST_REQUIRE_IRQ) {
			seterr(g, "interrupts required but %s has no MSI-X (ivshmem-plain?)",
			       p->dev.addr);
			return VR_EDEVICE;
		}
		return 0;
	}
	for (;;) {
		rc = vr_ivshmem_read_position(p->dev.regs, VR_IVSHMEM_MAX_ID, &id);
		if (rc != VR_EAGAIN || left_ns(deadline) == 0)
			break;
		sleep_ns(1000000); /* QEMU has not heard from its server yet */
	}
	if (rc == VR_EDEVICE) {
		seterr(g, "IVPosition of %s reads 0x%08x: not a peer id (0..%u)", p->dev.addr,
		       vr_ivshmem_reg_read(p->dev.regs, VR_IVSHMEM_IV_POSITION),
		       VR_IVSHMEM_MAX_ID);
		return VR_EDEVICE;
	}
	if (rc == VR_EAGAIN) {
		seterr(g, "IVPosition of %s is unset: QEMU is not connected to its ivshmem "
			  "server", p->dev.addr);
		return VR_ETIMEDOUT;
	}
	p->own_id = (int)id;
	if (cfg->flags & VR_IVSHMEM_GUEST_POLLING) {
		p->polling = true;
		p->irq_mode = VR_IVSHMEM_GUEST_IRQ_NONE;
	}
	if (!p->polling && p->peer_cfg != VR_IVSHMEM_GUEST_PEER_AUTO &&
	    p->peer_cfg == id) {
		seterr(g, "peer id %u is this guest's own id", id);
		return VR_EINVAL;
	}
	return 0;
}

/* Find the region in BAR2 (or lay it out), waiting for it to appear. */
static int setup_region(struct vr_ivshmem_guest *g, const struct vr_ivshmem_guest_cfg *cfg,
			uint64_t deadline)
{
	struct vr__ivg *p = g->p;
	int rc;

	p->map = p->dev.shm;
	p->map_len = p->dev.shm_len;
	if (cfg->flags & VR_IVSHMEM_GUEST_FORMAT) {
		uint64_t need = vr_region_bytes(cfg->region);

		if (need == 0) {
			seterr(g, "invalid region configuration");
			return VR_EINVAL;
		}
		if (vr_ivshmem_check_bar(p->map_len, need) != 0) {
			seterr(g, "BAR2 of %s is %zu bytes, the region needs %llu", p->dev.addr,
			       p->map_len, (unsigned long long)need);
			return VR_ETRUNC;
		}
		rc = vr_region_format(p->map, p->map_len, cfg->region,
				      vr_region_load(p->map, VR_RH_GENERATION) + 1, &p->info);
		if (rc) {
			seterr(g, "vr_region_format: %s", vr_strerror(rc));
			return rc;
		}
		return 0;
	}
	for (;;) {
		/* Acquire: the creator stores the magic last, with release. */
		uint32_t m0 = vr_region_load(p->map, VR_RH_MAGIC);

		if (m0 != 0) {
			rc = vr_region_parse(p->map, p->map_len, &p->info);
			if (rc == 0)
				return 0;
			if (rc == VR_ETRUNC)
				seterr(g, "BAR2 of %s is %zu bytes, smaller than the region its "
					  "header describes (%s)", p->dev.addr, p->map_len,
				       vr_errname(rc));
			else
				seterr(g, "bad region in BAR2 of %s (%s): %s", p->dev.addr,
				       vr_errname(rc), vr_strerror(rc));
			return rc;
		}
		if (left_ns(deadline) == 0) {
			seterr(g, "no libvring region in BAR2 of %s (nobody laid it out "
				  "in time: server --region, or a driver with FORMAT)",
			       p->dev.addr);
			return VR_ETIMEDOUT;
		}
		sleep_ns(2000000);
	}
}

void vr_ivshmem_guest_close(struct vr_ivshmem_guest *g)
{
	struct vr__ivg *p;
	uint64_t one = 1;

	if (!g || !g->p)
		return;
	p = g->p;
	if (p->thr_running) {
		while (write(p->stopfd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		pthread_join(p->thr, NULL);
	}
	/* A driver leaving tells a device at once: not ready, and the
	 * generation moves. */
	if (p->role == VR_ROLE_DRIVER && p->map && p->info.queue_count &&
	    atomic_load(&p->state) == ST_ALIVE) {
		vr_region_store(p->map, VR_RH_DRIVER_STATUS, 0);
		vr_region_store(p->map, VR_RH_GENERATION,
				vr_region_load(p->map, VR_RH_GENERATION) + 1);
	}
	if (p->stopfd >= 0)
		close(p->stopfd);
	vr__ivg_dev_close(&p->dev);
	free(p);
	memset(&g->t, 0, sizeof(g->t));
	g->p = NULL;
}

int vr_ivshmem_guest_open(struct vr_ivshmem_guest *g,
			  const struct vr_ivshmem_guest_cfg *cfg)
{
	struct vr__ivg *p;
	uint64_t deadline;
	unsigned i;
	int rc, e;

	if (!g)
		return VR_EINVAL;
	memset(g, 0, sizeof(*g));
	if (!cfg || (cfg->role != VR_ROLE_DRIVER && cfg->role != VR_ROLE_DEVICE)) {
		seterr(g, "cfg missing or role not VR_ROLE_DRIVER / VR_ROLE_DEVICE");
		return VR_EINVAL;
	}
	if ((cfg->flags & VR_IVSHMEM_GUEST_FORMAT) &&
	    (cfg->role != VR_ROLE_DRIVER || !cfg->region)) {
		seterr(g, "VR_IVSHMEM_GUEST_FORMAT needs the driver role and cfg.region");
		return VR_EINVAL;
	}
	if (cfg->sysfs_root && (!cfg->sysfs_root[0] || strlen(cfg->sysfs_root) >= 128)) {
		seterr(g, "sysfs_root empty or longer than 127 bytes");
		return VR_EINVAL;
	}
	if (cfg->peer_id != VR_IVSHMEM_GUEST_PEER_AUTO && cfg->peer_id > VR_IVSHMEM_MAX_ID) {
		seterr(g, "peer id %u out of range (0..%u)", cfg->peer_id, VR_IVSHMEM_MAX_ID);
		return VR_EINVAL;
	}
	p = (struct vr__ivg *)calloc(1, sizeof(*p));
	if (!p) {
		seterr(g, "out of memory");
		return VR_EIO;
	}
	g->p = p;
	vr__ivg_dev_init(&p->dev, cfg->sysfs_root);
	p->stopfd = -1;
	p->own_id = -1;
	p->role = cfg->role;
	p->flags = cfg->flags;
	p->peer_cfg = cfg->peer_id;
	atomic_init(&p->state, ST_WAITING);
	atomic_init(&p->why, WHY_NONE);
	vr__hb_watch_init(&p->hb);
	atomic_init(&p->rings, 0);
	atomic_init(&p->my_gen, 0);
	for (i = 0; i < VR__IVG_MAX_VEC; i++)
		atomic_init(&p->irqs[i], 0);
	rc = check_timing(g, cfg->heartbeat_ns, cfg->liveness_timeout_ns);
	if (rc)
		goto fail;
	p->open_timeout_ns = cfg->open_timeout_ns ? cfg->open_timeout_ns : 10000000000ull;
	deadline = deadline_of(p->open_timeout_ns);
	rc = vr__ivg_dev_find(&p->dev, cfg->pci_addr, g->err, sizeof(g->err));
	if (rc)
		goto fail;
	rc = setup_device(g, cfg);
	if (rc)
		goto fail;
	rc = setup_position(g, cfg, deadline);
	if (rc)
		goto fail;
	rc = setup_region(g, cfg, deadline);
	if (rc)
		goto fail;
	if (!p->polling && p->irq_mode == VR_IVSHMEM_GUEST_IRQ_VFIO &&
	    p->dev.nvec < p->info.queue_count) {
		snprintf(p->irq_note, sizeof(p->irq_note),
			 "%u MSI-X vectors for %u queues: queues from %u on poll",
			 p->dev.nvec, p->info.queue_count, p->dev.nvec);
		if (cfg->flags & VR_IVSHMEM_GUEST_REQUIRE_IRQ) {
			seterr(g, "interrupts required but %s", p->irq_note);
			rc = VR_EDEVICE;
			goto fail;
		}
	}
	if (p->role == VR_ROLE_DRIVER) {
		/* A new session: not ready, and a device of an earlier driver
		 * sees the generation change (docs/REGION.md §6). */
		vr_region_store(p->map, VR_RH_DRIVER_STATUS, 0);
		if (!(cfg->flags & VR_IVSHMEM_GUEST_FORMAT)) {
			vr_region_store(p->map, VR_RH_GENERATION,
					vr_region_load(p->map, VR_RH_GENERATION) + 1);
			zero_rings(p);
		}
	}
	p->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->stopfd < 0) {
		seterr(g, "eventfd: %s", strerror(errno));
		rc = VR_EIO;
		goto fail;
	}
	e = pthread_create(&p->thr, NULL, watcher, p);
	if (e) {
		seterr(g, "pthread_create: %s", strerror(e));
		rc = VR_EIO;
		goto fail;
	}
	p->thr_running = true;
	g->t.ops = &ivg_ops;
	g->t.region = p->map;
	g->t.region_len = p->map_len;
	g->t.role = p->role;
	g->t.flags = p->polling ? VR_TRANSPORT_POLLING : 0;
	g->err[0] = '\0';
	return 0;
fail:
	{
		char keep[VR_IVSHMEM_GUEST_ERR_BYTES];

		memcpy(keep, g->err, sizeof(keep));
		vr_ivshmem_guest_close(g);
		memcpy(g->err, keep, sizeof(keep));
	}
	return rc;
}

int vr_ivshmem_guest_attach_peer(struct vr_ivshmem_guest *g, uint64_t timeout_ns)
{
	uint64_t deadline = deadline_of(timeout_ns);
	struct vr__ivg *p;
	uint32_t v0;

	if (!g || !g->p)
		return VR_EINVAL;
	p = g->p;
	if (check_peer(p) == VR_PEER_ALIVE) {
		seterr(g, "a peer is attached and alive");
		return VR_ESTATE;
	}
	v0 = vr_region_load(p->map, peer_hb(p));
	for (;;) {
		uint64_t left;

		if (vr_region_load(p->map, peer_hb(p)) != v0)
			break;
		left = left_ns(deadline);
		if (left == 0) {
			seterr(g, "no %s heartbeat in time",
			       p->role == VR_ROLE_DRIVER ? "device" : "driver");
			return VR_ETIMEDOUT;
		}
		sleep_ns(left < 1000000 ? left : 1000000);
	}
	/* Device: the session of the driver whose heartbeat moved. Acquire:
	 * pairs with the driver's release store of the new generation. */
	if (p->role == VR_ROLE_DEVICE)
		atomic_store(&p->my_gen, vr_region_load(p->map, VR_RH_GENERATION));
	hb_reset(p);
	atomic_store(&p->why, WHY_NONE);
	atomic_store(&p->state, ST_ALIVE);
	g->err[0] = '\0';
	return 0;
}

/* ---- Queries ---------------------------------------------------------------- */

int vr_ivshmem_guest_id(const struct vr_ivshmem_guest *g)
{
	return g && g->p ? g->p->own_id : -1;
}

int vr_ivshmem_guest_peer_id(const struct vr_ivshmem_guest *g)
{
	if (!g || !g->p || g->p->polling || g->p->peer_cfg == VR_IVSHMEM_GUEST_PEER_AUTO)
		return -1;
	return (int)g->p->peer_cfg;
}

int vr_ivshmem_guest_irq_mode(const struct vr_ivshmem_guest *g)
{
	return g && g->p ? g->p->irq_mode : VR_IVSHMEM_GUEST_IRQ_NONE;
}

const char *vr_ivshmem_guest_irq_note(const struct vr_ivshmem_guest *g)
{
	return g && g->p ? g->p->irq_note : "no object";
}

uint64_t vr_ivshmem_guest_irq_count(const struct vr_ivshmem_guest *g, uint32_t v)
{
	if (!g || !g->p || v >= VR__IVG_MAX_VEC)
		return 0;
	return atomic_load_explicit(&g->p->irqs[v], memory_order_relaxed);
}

uint64_t vr_ivshmem_guest_rings(const struct vr_ivshmem_guest *g)
{
	return g && g->p ? atomic_load_explicit(&g->p->rings, memory_order_relaxed) : 0;
}

const struct vr_region_info *vr_ivshmem_guest_info(const struct vr_ivshmem_guest *g)
{
	return g && g->p && g->p->map ? &g->p->info : NULL;
}

const char *vr_ivshmem_guest_last_error(const struct vr_ivshmem_guest *g)
{
	return g ? g->err : "no object";
}

const char *vr_ivshmem_guest_peer_error(const struct vr_ivshmem_guest *g)
{
	static const char *const text[] = {"", "heartbeat stopped",
					   "region generation changed"};
	int w;

	if (!g || !g->p || atomic_load(&g->p->state) != ST_DEAD)
		return "";
	w = atomic_load(&g->p->why);
	return w >= 0 && w <= WHY_GENERATION ? text[w] : "";
}
