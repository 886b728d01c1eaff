/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host peer of QEMU's ivshmem (docs/TRANSPORT_IVSHMEM.md): joins an ivshmem
 * server like a QEMU guest does, or maps an ivshmem-plain object, and
 * serves a channel through struct vr_transport.
 *
 * The server's stream is cut into 8-byte messages here and judged by
 * proto.h (also fuzzed); this file only stores or closes the fds as the
 * verdict says. After set-up a background thread keeps reading the server
 * (joins and departures), bumps this side's heartbeat and watches the
 * bound peer's. The bound peer's eventfds are duplicated at bind time, so
 * notify() uses them without a lock while the thread may close the
 * table's copies when the peer leaves.
 *
 * Nothing received is trusted: message framing, fd counts, ids, fd kinds
 * (eventfds must be eventfds, the memory a regular file or memfd, a memfd
 * sealed against shrinking), the object's size (fstat), and the region
 * (vr_region_parse on the whole mapping).
 */
#define _GNU_SOURCE

#include <vring/ivshmem.h>

#include "proto.h"
#include "../hosted_clock.h"
#include "../hosted_liveness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_PEERS VR_IVSHMEM_MAX_PEERS
#define MAX_VEC VR_IVSHMEM_MAX_VECTORS
/* fds one recvmsg may bring before the rest are cut (more than 1 is an
 * error anyway; a few are collected so that the error names the count). */
#define RX_FDS 4

_Static_assert(VR__IVP_MAX_SLOTS == VR_IVSHMEM_MAX_PEERS, "peer slots");
_Static_assert(VR__IVP_ID_LIMIT == VR_IVSHMEM_MAX_ID + 1u, "id bound");
_Static_assert(VR__IVP_MAX_VEC == VR_IVSHMEM_MAX_VECTORS, "vector bound");
_Static_assert(VR_IVSHMEM_MAX_PEERS <= 64, "slot mask is 64 bits");

enum { ST_WAITING = VR_PEER_WAITING, ST_ALIVE = VR_PEER_ALIVE, ST_DEAD = 2 };

enum { WHY_NONE, WHY_LEFT, WHY_HEARTBEAT, WHY_PROTOCOL, WHY_GENERATION };

struct vr__ivshmem {
	bool plain;
	atomic_bool hb_watch; /* watch the bound peer's heartbeat */
	uint32_t role;
	int32_t want;  /* cfg.peer_id */
	uint32_t nvec;
	int sock;      /* server connection; the thread's after set-up */
	int shmfd;
	void *map;
	size_t map_len;
	struct vr_region_info info;
	uint64_t liveness_ns, heartbeat_ns;
	int own_efd[MAX_VEC];
	/* Every other peer's eventfds, as the server sent them, by the
	 * parser's slot (parser.slot_id[] names the peer). The parser and the
	 * table change under lock, in the thread; readers take the lock. */
	pthread_mutex_t lock;
	int peer_efd[MAX_PEERS][MAX_VEC];
	uint64_t complete; /* slots whose peer has all its vectors; under lock */
	atomic_uint changes;
	struct vr__ivp parser;
	/* A message being assembled from the stream. */
	unsigned char rx[VR__IVP_MSG_BYTES];
	unsigned rxlen;
	int rxfd[RX_FDS];
	unsigned rxnfd; /* fds that came with it (may exceed RX_FDS) */
	bool server_gone;
	/* Where reading the server reports errors: s->err during set-up, then
	 * rt_err, the thread's own (s->err belongs to the caller's thread). */
	char *rxerr;
	char rt_err[VR_IVSHMEM_ERR_BYTES];
	/* The bound peer. */
	atomic_int bound;          /* id, or -1 (the thread reads it) */
	int bound_efd[MAX_VEC];    /* dups, ours until the next bind/close */
	uint32_t my_gen;           /* device: generation at bind */
	int deadfd;                /* eventfd: readable once the peer is dead */
	int stopfd;                /* eventfd: stops the thread */
	pthread_t thr;
	bool thr_running;
	atomic_int state;
	atomic_int why;
	struct vr__hb_watch hb; /* the peer's heartbeat (hosted_liveness.h) */
	char unlink_path[PATH_MAX]; /* plain + CREATE: removed on close */
	uint32_t backing;
};

/* ---- Small helpers --------------------------------------------------------- */

static void seterr(struct vr_ivshmem *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void seterr(struct vr_ivshmem *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

static void rxerr(struct vr__ivshmem *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void rxerr(struct vr__ivshmem *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->rxerr, VR_IVSHMEM_ERR_BYTES, fmt, ap);
	va_end(ap);
}

static int oserr(struct vr_ivshmem *s, const char *what)
{
	int e = errno;

	seterr(s, "%s: %s", what, strerror(e));
	return VR_EIO;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static struct vr__ivshmem *priv(struct vr_transport *t)
{
	return ((struct vr_ivshmem *)(void *)t)->p;
}

static bool fd_link_is(int fd, const char *prefix)
{
	char link[64], target[96];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strncmp(target, prefix, strlen(prefix)) == 0;
}

/* Is @fd an eventfd? Where /proc is missing, assume so: the worst a wrong
 * fd does is a failed write or a wait that never wakes. */
static bool is_eventfd(int fd)
{
	if (access("/proc/self/fd", F_OK) != 0)
		return true;
	return fd_link_is(fd, "anon_inode:[eventfd]");
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void drain_fd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

/* ---- Liveness ----------------------------------------------------------------- */

static enum vr_region_field own_hb(const struct vr__ivshmem *p)
{
	return p->role == VR_ROLE_DRIVER ? VR_RH_DRIVER_HEARTBEAT : VR_RH_DEVICE_HEARTBEAT;
}

static enum vr_region_field peer_hb(const struct vr__ivshmem *p)
{
	return p->role == VR_ROLE_DRIVER ? VR_RH_DEVICE_HEARTBEAT : VR_RH_DRIVER_HEARTBEAT;
}

/* Give the bound peer up. A driver also ends the session in the region:
 * not ready, and a new generation, so that neither the old device (if it
 * only stalled) nor a new one uses rings about to be reset. */
static void mark_dead(struct vr__ivshmem *p, int why)
{
	int expect = ST_ALIVE, none = WHY_NONE;

	atomic_compare_exchange_strong(&p->why, &none, why);
	if (!atomic_compare_exchange_strong(&p->state, &expect, ST_DEAD))
		return;
	if (p->role == VR_ROLE_DRIVER && p->map) {
		vr_region_store(p->map, VR_RH_DRIVER_STATUS,
				VR_STATUS_ACKNOWLEDGE | VR_STATUS_DRIVER);
		vr_region_store(p->map, VR_RH_GENERATION,
				vr_region_load(p->map, VR_RH_GENERATION) + 1);
	}
	signal_fd(p->deadfd);
}

static void hb_reset(struct vr__ivshmem *p)
{
	vr__hb_watch_reset(&p->hb, vr_region_load(p->map, peer_hb(p)), mono_ns());
}

static bool hb_stale(struct vr__ivshmem *p, uint64_t now)
{
	return vr__hb_watch_stale(&p->hb, vr_region_load(p->map, peer_hb(p)), now,
				  p->liveness_ns);
}

static int check_peer(struct vr__ivshmem *p)
{
	int st = atomic_load(&p->state);

	if (st == ST_DEAD)
		return VR_EPEERDEAD;
	if (st != ST_ALIVE)
		return VR_PEER_WAITING;
	if (atomic_load(&p->hb_watch) && hb_stale(p, mono_ns()))
		mark_dead(p, WHY_HEARTBEAT);
	else if (p->role == VR_ROLE_DEVICE &&
		 vr_region_load(p->map, VR_RH_GENERATION) != p->my_gen)
		mark_dead(p, WHY_GENERATION);
	return atomic_load(&p->state) == ST_DEAD ? VR_EPEERDEAD : VR_PEER_ALIVE;
}

/* ---- Server messages ---------------------------------------------------------- */

static void rx_close_fds(struct vr__ivshmem *p)
{
	unsigned i;

	for (i = 0; i < p->rxnfd && i < RX_FDS; i++)
		close_fd(&p->rxfd[i]);
	p->rxnfd = 0;
}

/* Close every fd the server gave about the peer in @slot (under lock). */
static void forget_peer(struct vr__ivshmem *p, uint32_t slot)
{
	uint32_t v;

	for (v = 0; v < MAX_VEC; v++)
		close_fd(&p->peer_efd[slot][v]);
	p->complete &= ~(1ull << slot);
}

/* The slot of complete peer @id, or -1 (under lock). */
static int complete_slot(struct vr__ivshmem *p, uint32_t id)
{
	int slot = vr__ivp_slot_of(&p->parser, id);

	return slot >= 0 && ((p->complete >> slot) & 1) ? slot : -1;
}

/* Act on one complete message. 0, or VR_EIO with s->err set (the
 * message's fds closed). */
static int apply_locked(struct vr_ivshmem *s);

static int apply_msg(struct vr_ivshmem *s)
{
	struct vr__ivshmem *p = s->p;
	int rc;

	pthread_mutex_lock(&p->lock);
	rc = apply_locked(s);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int apply_locked(struct vr_ivshmem *s)
{
	struct vr__ivshmem *p = s->p;
	struct vr__ivp_act act;
	int64_t value = vr__ivp_decode(p->rx);
	int fd = p->rxnfd == 1 ? p->rxfd[0] : -1;
	int rc;

	p->rxlen = 0;
	rc = vr__ivp_feed(&p->parser, value, p->rxnfd, &act, p->rxerr, VR_IVSHMEM_ERR_BYTES);
	if (rc) {
		rx_close_fds(p);
		return rc;
	}
	p->rxnfd = 0;
	switch (act.kind) {
	case VR__IVP_K_SHM:
		p->shmfd = fd;
		return 0;
	case VR__IVP_K_OWN_VEC:
	case VR__IVP_K_PEER_VEC:
		if (!is_eventfd(fd)) {
			close(fd);
			rxerr(p, "server sent peer %u vector %u as an fd that is not an eventfd",
			      act.id, act.vec);
			p->parser.stage = VR__IVP_FAILED;
			return VR_EIO;
		}
		if (act.kind == VR__IVP_K_OWN_VEC) {
			p->own_efd[act.vec] = fd;
			return 0;
		}
		p->peer_efd[act.slot][act.vec] = fd;
		if (act.complete) {
			p->complete |= 1ull << act.slot;
			atomic_fetch_add(&p->changes, 1);
		}
		return 0;
	case VR__IVP_K_PEER_GONE:
		forget_peer(p, act.slot);
		atomic_fetch_add(&p->changes, 1);
		if ((int)act.id == atomic_load(&p->bound) && atomic_load(&p->state) == ST_ALIVE)
			mark_dead(p, WHY_LEFT);
		return 0;
	default: /* VERSION, OWN_ID: nothing to keep */
		return 0;
	}
}

/*
 * Read from the server what is there (at most one recvmsg). Returns 1 when
 * a message was completed and applied, 0 when more bytes are needed,
 * VR_EAGAIN when nothing was readable, VR_EPEERDEAD when the server hung
 * up, VR_EIO on a protocol error or an OS failure (s->err set).
 */
static int rx_once(struct vr_ivshmem *s)
{
	struct vr__ivshmem *p = s->p;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * RX_FDS)];
	} u;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *ch;
	ssize_t r;

	iov.iov_base = p->rx + p->rxlen;
	iov.iov_len = VR__IVP_MSG_BYTES - p->rxlen;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	do
		r = recvmsg(p->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return VR_EAGAIN;
		if (errno == ECONNRESET)
			goto hangup;
		rxerr(p, "reading from the ivshmem server: %s", strerror(errno));
		return VR_EIO;
	}
	/* Collect every fd first, so that none leaks whatever follows. */
	for (ch = CMSG_FIRSTHDR(&mh); ch; ch = CMSG_NXTHDR(&mh, ch)) {
		size_t n, k;

		if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS)
			continue;
		n = (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < n; k++) {
			int f;

			memcpy(&f, CMSG_DATA(ch) + k * sizeof(int), sizeof(int));
			if (p->rxnfd < RX_FDS)
				p->rxfd[p->rxnfd] = f;
			else
				close(f);
			p->rxnfd++;
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		p->rxnfd = p->rxnfd > RX_FDS ? p->rxnfd : RX_FDS + 1;
	if (r == 0)
		goto hangup;
	p->rxlen += (unsigned)r;
	if (p->rxlen < VR__IVP_MSG_BYTES)
		return 0;
	return apply_msg(s) ? VR_EIO : 1;
hangup:
	if (p->rxlen || p->rxnfd) {
		rx_close_fds(p);
		rxerr(p, "the ivshmem server hung up in the middle of a message");
		return VR_EIO;
	}
	return VR_EPEERDEAD;
}

/* ---- Background thread ---------------------------------------------------------- */

static void server_lost(struct vr_ivshmem *s, int rc)
{
	struct vr__ivshmem *p = s->p;

	close_fd(&p->sock);
	p->server_gone = true;
	if (rc == VR_EPEERDEAD) {
		/* No more announcements: the heartbeat is all that is left. */
		hb_reset(p);
		atomic_store(&p->hb_watch, true);
	} else if (atomic_load(&p->state) == ST_ALIVE) {
		mark_dead(p, WHY_PROTOCOL);
	}
}

static void *thread_main(void *arg)
{
	struct vr_ivshmem *s = (struct vr_ivshmem *)arg;
	struct vr__ivshmem *p = s->p;
	uint32_t beat = vr_region_load(p->map, own_hb(p));
	uint64_t last_beat = 0;

	for (;;) {
		struct pollfd pf[2] = {{p->stopfd, POLLIN, 0}, {p->sock, POLLIN, 0}};
		nfds_t n = p->sock >= 0 ? 2 : 1;
		uint64_t now;

		if (poll_ns(pf, n, p->heartbeat_ns) < 0 && errno != EINTR)
			sleep_ns(p->heartbeat_ns);
		if (pf[0].revents)
			break;
		if (n == 2 && pf[1].revents) {
			int rc = 0, k;

			/* What is queued, then back to the heartbeat: a bounded
			 * batch, so that a server flooding us cannot stop this
			 * side's heartbeat. */
			for (k = 0; k < 4096 && (rc = rx_once(s)) >= 0; k++)
				;
			if (rc < 0 && rc != VR_EAGAIN)
				server_lost(s, rc);
		}
		now = mono_ns();
		if (now - last_beat >= p->heartbeat_ns) {
			/* Release: pairs with the peer's vr_region_load. */
			vr_region_store(p->map, own_hb(p), ++beat);
			last_beat = now;
		}
		if (atomic_load(&p->state) == ST_ALIVE)
			(void)check_peer(p);
	}
	return NULL;
}

static int start_thread(struct vr_ivshmem *s)
{
	struct vr__ivshmem *p = s->p;
	int e;

	p->rxerr = p->rt_err; /* before the thread exists: no race */
	e = pthread_create(&p->thr, NULL, thread_main, s);

	if (e != 0) {
		errno = e;
		return oserr(s, "pthread_create");
	}
	p->thr_running = true;
	return 0;
}

/* ---- Ops ------------------------------------------------------------------------ */

static int op_notify(struct vr_transport *t, uint32_t q)
{
	struct vr__ivshmem *p = priv(t);
	uint64_t one = 1;
	int st;

	if (q >= p->info.queue_count)
		return VR_EINVAL;
	st = atomic_load(&p->state);
	if (st == ST_DEAD)
		return VR_EPEERDEAD;
	if (p->plain || st != ST_ALIVE)
		return 0; /* nobody to ring: a new peer looks at its rings */
	for (;;) {
		if (write(p->bound_efd[q], &one, sizeof(one)) == (ssize_t)sizeof(one))
			return 0;
		if (errno == EINTR)
			continue;
		/* EAGAIN: the counter is at its maximum, the peer will wake. */
		return errno == EAGAIN ? 0 : VR_EIO;
	}
}

static int wait_polling(struct vr__ivshmem *p, uint64_t timeout_ns)
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

/* Wait on own vector @v (and, with @dead, on the bound peer's death). */
static int wait_efd(struct vr__ivshmem *p, uint32_t v, uint64_t timeout_ns, bool dead)
{
	uint64_t deadline = deadline_of(timeout_ns), val;

	for (;;) {
		struct pollfd pf[2] = {{p->own_efd[v], POLLIN, 0}, {p->deadfd, POLLIN, 0}};
		int r;

		if (dead) {
			int st = check_peer(p);

			if (st < 0)
				return st;
		}
		r = poll_ns(pf, dead ? 2 : 1, left_ns(deadline));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return VR_EIO;
		}
		if (pf[0].revents & POLLIN) {
			/* Clear the doorbell; EAGAIN if consumed meanwhile
			 * (one waiter per vector: cannot happen): spurious. */
			if (read(pf[0].fd, &val, sizeof(val)) < 0 && errno != EAGAIN &&
			    errno != EINTR)
				return VR_EIO;
			return 0;
		}
		if (pf[0].revents & (POLLERR | POLLNVAL))
			return VR_EIO;
		if (dead && (pf[1].revents & POLLIN))
			return VR_EPEERDEAD;
		if (r == 0 && left_ns(deadline) == 0)
			return VR_ETIMEDOUT;
	}
}

static int op_wait(struct vr_transport *t, uint32_t q, uint64_t timeout_ns)
{
	struct vr__ivshmem *p = priv(t);

	if (q >= p->info.queue_count)
		return VR_EINVAL;
	if (p->plain)
		return wait_polling(p, timeout_ns);
	return wait_efd(p, q, timeout_ns, atomic_load(&p->state) != ST_WAITING);
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

static const struct vr_transport_ops ivshmem_ops = {
	op_notify, op_wait, op_peer_state, op_now_ns
};

/* ---- Object life ------------------------------------------------------------------ */

static int alloc_priv(struct vr_ivshmem *s, const struct vr_ivshmem_cfg *cfg, bool plain)
{
	struct vr__ivshmem *p;
	uint32_t i, v;

	memset(s, 0, sizeof(*s));
	p = (struct vr__ivshmem *)calloc(1, sizeof(*p));
	if (!p) {
		seterr(s, "out of memory");
		return VR_EIO;
	}
	s->p = p;
	p->rxerr = s->err;
	p->plain = plain;
	p->sock = p->shmfd = p->deadfd = p->stopfd = -1;
	atomic_init(&p->bound, -1);
	for (v = 0; v < MAX_VEC; v++)
		p->own_efd[v] = p->bound_efd[v] = -1;
	for (i = 0; i < RX_FDS; i++)
		p->rxfd[i] = -1;
	for (i = 0; i < MAX_PEERS; i++)
		for (v = 0; v < MAX_VEC; v++)
			p->peer_efd[i][v] = -1;
	atomic_init(&p->changes, 0);
	atomic_init(&p->state, ST_WAITING);
	atomic_init(&p->why, WHY_NONE);
	vr__hb_watch_init(&p->hb);
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		s->p = NULL;
		seterr(s, "pthread_mutex_init failed");
		return VR_EIO;
	}
	s->t.ops = &ivshmem_ops;
	p->deadfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->deadfd < 0 || p->stopfd < 0)
		return oserr(s, "eventfd");
	if (!cfg) {
		seterr(s, "no configuration");
		return VR_EINVAL;
	}
	if (cfg->role != VR_ROLE_DRIVER && cfg->role != VR_ROLE_DEVICE) {
		seterr(s, "cfg.role must be VR_ROLE_DRIVER or VR_ROLE_DEVICE");
		return VR_EINVAL;
	}
	if (cfg->peer_id < VR_IVSHMEM_ANY_PEER || cfg->peer_id > (int32_t)VR_IVSHMEM_MAX_ID) {
		seterr(s, "cfg.peer_id %d: VR_IVSHMEM_ANY_PEER or 0..%u", (int)cfg->peer_id,
		       VR_IVSHMEM_MAX_ID);
		return VR_EINVAL;
	}
	p->nvec = cfg->vectors ? cfg->vectors : VR_IVSHMEM_DEFAULT_VECTORS;
	if (p->nvec > MAX_VEC) {
		seterr(s, "cfg.vectors %u: at most %u", cfg->vectors, MAX_VEC);
		return VR_EINVAL;
	}
	if ((cfg->flags & (VR_IVSHMEM_FORMAT | VR_IVSHMEM_CREATE)) &&
	    (!cfg->region || vr_region_bytes(cfg->region) == 0)) {
		seterr(s, "VR_IVSHMEM_FORMAT/CREATE need a valid cfg.region");
		return VR_EINVAL;
	}
	if ((cfg->flags & VR_IVSHMEM_FORMAT) && cfg->role != VR_ROLE_DRIVER) {
		seterr(s, "only the driver lays the region out (VR_IVSHMEM_FORMAT)");
		return VR_EINVAL;
	}
	if (cfg->flags & ~(uint32_t)(VR_IVSHMEM_NO_HEARTBEAT_WATCH | VR_IVSHMEM_FORMAT |
				     VR_IVSHMEM_CREATE)) {
		seterr(s, "unknown cfg.flags 0x%x", cfg->flags);
		return VR_EINVAL;
	}
	p->role = cfg->role;
	p->want = cfg->peer_id;
	atomic_init(&p->hb_watch, plain || !(cfg->flags & VR_IVSHMEM_NO_HEARTBEAT_WATCH));
	p->heartbeat_ns = cfg->heartbeat_ns ? cfg->heartbeat_ns : VR_IVSHMEM_HEARTBEAT_DEFAULT_NS;
	p->liveness_ns = cfg->liveness_timeout_ns ? cfg->liveness_timeout_ns
						  : VR_IVSHMEM_LIVENESS_DEFAULT_NS;
	if (p->heartbeat_ns < 100000 || p->heartbeat_ns > 1000000000 ||
	    p->liveness_ns < 2 * p->heartbeat_ns || p->liveness_ns > 60000000000ull) {
		seterr(s, "heartbeat %llu ns / liveness timeout %llu ns: the period must "
			  "be 100 us..1 s and the timeout 2 periods..60 s",
		       (unsigned long long)p->heartbeat_ns,
		       (unsigned long long)p->liveness_ns);
		return VR_EINVAL;
	}
	s->t.role = cfg->role;
	return 0;
}

void vr_ivshmem_close(struct vr_ivshmem *s)
{
	struct vr__ivshmem *p;
	uint32_t i;

	if (!s || !s->p)
		return;
	p = s->p;
	if (p->thr_running) {
		signal_fd(p->stopfd);
		pthread_join(p->thr, NULL);
		p->thr_running = false;
	}
	/* A driver leaving ends its session: a device still attached stops
	 * at once (generation) instead of after its liveness timeout. */
	if (p->map && p->role == VR_ROLE_DRIVER && atomic_load(&p->state) == ST_ALIVE) {
		vr_region_store(p->map, VR_RH_DRIVER_STATUS, 0);
		vr_region_store(p->map, VR_RH_GENERATION,
				vr_region_load(p->map, VR_RH_GENERATION) + 1);
	}
	if (p->map)
		munmap(p->map, p->map_len);
	close_fd(&p->sock);
	close_fd(&p->shmfd);
	close_fd(&p->deadfd);
	close_fd(&p->stopfd);
	rx_close_fds(p);
	for (i = 0; i < MAX_VEC; i++) {
		close_fd(&p->own_efd[i]);
		close_fd(&p->bound_efd[i]);
	}
	for (i = 0; i < MAX_PEERS; i++)
		forget_peer(p, i);
	if (p->unlink_path[0]) {
		if (p->backing == VR_IVSHMEM_NAMED)
			shm_unlink(p->unlink_path);
		else
			unlink(p->unlink_path);
	}
	pthread_mutex_destroy(&p->lock);
	free(p);
	s->p = NULL;
	s->t.region = NULL;
	s->t.region_len = 0;
}

/* Close after a failed set-up, keeping the reason. */
static int fail_close(struct vr_ivshmem *s, int rc)
{
	char keep[VR_IVSHMEM_ERR_BYTES];

	memcpy(keep, s->err, sizeof(keep));
	vr_ivshmem_close(s);
	memcpy(s->err, keep, sizeof(keep));
	return rc;
}

/* ---- Region --------------------------------------------------------------------- */

/* Map the memory fd whole, lay the region out if asked and blank, wait
 * (device) for a blank one to be laid out, and validate it. */
static int map_region(struct vr_ivshmem *s, const struct vr_ivshmem_cfg *cfg,
		      uint64_t deadline)
{
	struct vr__ivshmem *p = s->p;
	struct stat st;
	void *m;
	int seals, rc;

	if (fstat(p->shmfd, &st) != 0)
		return oserr(s, "fstat of the shared memory");
	if (!S_ISREG(st.st_mode)) {
		seterr(s, "the shared memory fd is not a file or memfd");
		return VR_EIO;
	}
	if (st.st_size < (off_t)VR_REGION_HEADER_BYTES) {
		seterr(s, "the shared memory is %lld bytes, less than a region header (%u)",
		       (long long)st.st_size, VR_REGION_HEADER_BYTES);
		return VR_ETRUNC;
	}
	if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
		seterr(s, "the shared memory (%lld bytes) does not fit the address space",
		       (long long)st.st_size);
		return VR_ETRUNC;
	}
	/* A memfd must be sealed against shrinking, or whoever holds it could
	 * truncate it under the mapping (SIGBUS). Named objects and files
	 * cannot be sealed (docs/TRANSPORT_IVSHMEM.md). */
	seals = fcntl(p->shmfd, F_GET_SEALS);
	if (fd_link_is(p->shmfd, "/memfd:") && (seals < 0 || !(seals & F_SEAL_SHRINK))) {
		seterr(s, "the shared memory is a memfd not sealed against shrinking");
		return VR_EREGION;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->shmfd, 0);
	if (m == MAP_FAILED)
		return oserr(s, "mmap of the shared memory");
	p->map = m;
	p->map_len = (size_t)st.st_size;
	/* Blank while the first magic word is 0: the creator writes it last
	 * (release), so the acquire load that sees it sees the layout. */
	while (vr_region_load(m, VR_RH_MAGIC) == 0) {
		if (cfg->flags & (VR_IVSHMEM_FORMAT | VR_IVSHMEM_CREATE)) {
			rc = vr_region_format(m, p->map_len, cfg->region, 0, NULL);
			if (rc) {
				seterr(s, "laying out the region in %zu bytes: %s", p->map_len,
				       vr_strerror(rc));
				return rc;
			}
			break;
		}
		if (p->role == VR_ROLE_DRIVER) {
			seterr(s, "the shared memory holds no region (start the server with "
				  "--region, or set VR_IVSHMEM_FORMAT)");
			return VR_EMAGIC;
		}
		if (left_ns(deadline) == 0) {
			seterr(s, "no region was laid out in the shared memory in time");
			return VR_ETIMEDOUT;
		}
		sleep_ns(1000000);
	}
	rc = vr_region_parse(m, p->map_len, &p->info);
	if (rc) {
		seterr(s, "bad region (%s): %s", vr_errname(rc), vr_strerror(rc));
		return rc;
	}
	if (!p->plain && p->info.queue_count > p->nvec) {
		seterr(s, "the region has %u queues but each peer only %u vectors "
			  "(queue q rings vector q: give the server --vectors %u)",
		       p->info.queue_count, p->nvec, p->info.queue_count);
		return VR_EINVAL;
	}
	return 0;
}

/* The region outlives its peers (the server owns the memory): a new
 * driver finds the rings of an earlier session, the device's areas
 * included, and would take the old used index for a protocol violation.
 * Back to the initial state, as vr_chan_reset() does for a dead device. */
static void clear_rings(struct vr__ivshmem *p)
{
	uint32_t q;

	for (q = 0; q < p->info.queue_count; q++) {
		size_t n = p->info.queue[q].size;
		struct vr_split_areas sa;
		struct vr_packed_areas pa;

		if (p->info.queue[q].format == VR_FORMAT_SPLIT &&
		    vr_region_split_areas(p->map, &p->info, q, &sa) == 0) {
			memset((void *)sa.desc, 0, 16 * n);
			memset((void *)sa.avail, 0, 6 + 2 * n);
			memset((void *)sa.used, 0, 6 + 8 * n);
		} else if (vr_region_packed_areas(p->map, &p->info, q, &pa) == 0) {
			memset((void *)pa.desc, 0, 16 * n);
			memset((void *)pa.driver_event, 0, 4);
			memset((void *)pa.device_event, 0, 4);
		}
	}
	/* Release: the cleared rings before anyone reads the status. */
	vr_region_store(p->map, VR_RH_DEVICE_STATUS, 0);
}

/* The end of set-up common to both modes. */
static int finish_setup(struct vr_ivshmem *s)
{
	struct vr__ivshmem *p = s->p;
	int rc;

	if (p->role == VR_ROLE_DRIVER) {
		/* A new driver session: not ready; a device of an earlier
		 * driver stops (generation) before its rings are cleared. */
		vr_region_store(p->map, VR_RH_DRIVER_STATUS, 0);
		vr_region_store(p->map, VR_RH_GENERATION,
				vr_region_load(p->map, VR_RH_GENERATION) + 1);
		p->info.generation = vr_region_load(p->map, VR_RH_GENERATION);
		clear_rings(p);
	}
	rc = start_thread(s);
	if (rc)
		return rc;
	s->t.region = p->map;
	s->t.region_len = p->map_len;
	s->t.flags = p->plain ? VR_TRANSPORT_POLLING : 0;
	s->err[0] = '\0';
	return 0;
}

/* ---- Doorbell mode: connect ------------------------------------------------------ */

static int connect_retry(struct vr_ivshmem *s, const char *path, uint64_t deadline)
{
	struct vr__ivshmem *p = s->p;
	struct sockaddr_un a;

	if (!path || !path[0] || strlen(path) >= sizeof(a.sun_path)) {
		seterr(s, "socket path %s", path ? "too long or empty" : "missing");
		return VR_EINVAL;
	}
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	strcpy(a.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		uint64_t left;
		int e;

		if (fd < 0)
			return oserr(s, "socket");
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			p->sock = fd;
			return 0;
		}
		e = errno;
		close(fd);
		if (e == EACCES || e == EPERM) {
			seterr(s, "connect(%s): %s", path, strerror(e));
			return VR_EPERM;
		}
		if (e != ENOENT && e != ECONNREFUSED && e != EAGAIN && e != EINTR) {
			seterr(s, "connect(%s): %s", path, strerror(e));
			return VR_EIO;
		}
		left = left_ns(deadline);
		if (left == 0) {
			seterr(s, "connect(%s): no ivshmem server in time (%s)", path,
			       strerror(e));
			return VR_ETIMEDOUT;
		}
		sleep_ns(left < 5000000 ? left : 5000000);
	}
}

/* Read the server's set-up until this peer's own vectors are in. */
static int recv_setup(struct vr_ivshmem *s, uint64_t deadline)
{
	struct vr__ivshmem *p = s->p;

	while (!vr__ivp_ready(&p->parser)) {
		struct pollfd pf = {p->sock, POLLIN, 0};
		int rc = rx_once(s);

		if (rc == VR_EPEERDEAD) {
			if (p->parser.stage <= VR__IVP_OWN_ID)
				seterr(s, "the ivshmem server closed the connection before "
					  "giving an id (too many peers?)");
			else
				seterr(s, "the ivshmem server closed the connection during "
					  "set-up");
			return p->parser.stage <= VR__IVP_OWN_ID ? VR_EPERM : VR_EIO;
		}
		if (rc == VR_EIO)
			return rc;
		if (rc != VR_EAGAIN)
			continue;
		rc = poll_ns(&pf, 1, left_ns(deadline));
		if (rc < 0 && errno != EINTR)
			return oserr(s, "poll on the ivshmem server");
		if (rc == 0) {
			seterr(s, "the ivshmem server did not finish the set-up in time "
				  "(stage %u, %u of %u own vectors)", p->parser.stage,
			       p->parser.own_nvec, p->nvec);
			return VR_ETIMEDOUT;
		}
	}
	return 0;
}

int vr_ivshmem_connect(struct vr_ivshmem *s, const char *socket_path,
		       const struct vr_ivshmem_cfg *cfg, uint64_t timeout_ns)
{
	uint64_t deadline = deadline_of(timeout_ns);
	struct vr__ivshmem *p;
	int rc;

	if (!s)
		return VR_EINVAL;
	rc = alloc_priv(s, cfg, false);
	if (rc)
		return fail_close(s, rc);
	p = s->p;
	if (cfg->flags & VR_IVSHMEM_CREATE) {
		seterr(s, "VR_IVSHMEM_CREATE is for plain mode (the server creates the memory)");
		return fail_close(s, VR_EINVAL);
	}
	vr__ivp_init(&p->parser, p->nvec, VR__IVP_ID_LIMIT);
	rc = connect_retry(s, socket_path, deadline);
	if (rc)
		return fail_close(s, rc);
	if (fcntl(p->sock, F_SETFL, fcntl(p->sock, F_GETFL) | O_NONBLOCK) != 0)
		return fail_close(s, oserr(s, "fcntl"));
	rc = recv_setup(s, deadline);
	if (!rc)
		rc = map_region(s, cfg, deadline);
	if (!rc)
		rc = finish_setup(s);
	return rc ? fail_close(s, rc) : 0;
}

/* ---- Plain mode ------------------------------------------------------------------- */

int vr_ivshmem_open_plain(struct vr_ivshmem *s, uint32_t backing, const char *path,
			  const struct vr_ivshmem_cfg *cfg, uint64_t timeout_ns)
{
	uint64_t deadline = deadline_of(timeout_ns);
	struct vr__ivshmem *p;
	bool create;
	int fd, rc;

	if (!s)
		return VR_EINVAL;
	rc = alloc_priv(s, cfg, true);
	if (rc)
		return fail_close(s, rc);
	p = s->p;
	if (!path || !path[0] || strlen(path) >= PATH_MAX ||
	    (backing != VR_IVSHMEM_NAMED && backing != VR_IVSHMEM_FILE)) {
		seterr(s, "plain mode needs VR_IVSHMEM_NAMED or VR_IVSHMEM_FILE and a path");
		return fail_close(s, VR_EINVAL);
	}
	create = (cfg->flags & VR_IVSHMEM_CREATE) != 0;
	if (create && cfg->role != VR_ROLE_DRIVER) {
		seterr(s, "only the driver creates the object (VR_IVSHMEM_CREATE)");
		return fail_close(s, VR_EINVAL);
	}
	p->backing = backing;
	if (backing == VR_IVSHMEM_NAMED)
		fd = shm_open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600);
	else
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW |
				(create ? O_CREAT | O_EXCL : 0), 0600);
	if (fd < 0) {
		seterr(s, "open(%s): %s", path, strerror(errno));
		return fail_close(s, VR_EIO);
	}
	p->shmfd = fd;
	if (create) {
		uint64_t need = vr_region_bytes(cfg->region);
		uint64_t size = cfg->size ? cfg->size : need;

		strcpy(p->unlink_path, path);
		if (size < need || (uint64_t)(off_t)size != size) {
			seterr(s, "cfg.size %llu is smaller than the region (%llu bytes)",
			       (unsigned long long)size, (unsigned long long)need);
			return fail_close(s, VR_EINVAL);
		}
		if (ftruncate(fd, (off_t)size) != 0)
			return fail_close(s, oserr(s, "ftruncate"));
	}
	rc = map_region(s, cfg, deadline);
	if (!rc)
		rc = finish_setup(s);
	return rc ? fail_close(s, rc) : 0;
}

/* ---- Binding the peer ------------------------------------------------------------ */

/* The candidate id (doorbell mode): cfg.peer_id if complete, or the
 * lowest complete id; -1 if none. */
static int pick_peer(struct vr__ivshmem *p)
{
	int best = -1;
	uint32_t i;

	pthread_mutex_lock(&p->lock);
	if (p->want >= 0) {
		best = complete_slot(p, (uint32_t)p->want) >= 0 ? p->want : -1;
	} else {
		for (i = 0; i < MAX_PEERS; i++)
			if (((p->complete >> i) & 1) &&
			    (best < 0 || p->parser.slot_id[i] < (uint32_t)best))
				best = (int)p->parser.slot_id[i];
	}
	pthread_mutex_unlock(&p->lock);
	return best;
}

int vr_ivshmem_attach_peer(struct vr_ivshmem *s, uint64_t timeout_ns)
{
	uint64_t deadline = deadline_of(timeout_ns);
	struct vr__ivshmem *p;
	int id = -1;
	uint32_t hb0 = 0, v;
	bool have_hb0 = false;

	if (!s || !s->p || !s->p->map)
		return VR_EINVAL;
	p = s->p;
	if (check_peer(p) == VR_PEER_ALIVE) {
		seterr(s, "a peer is bound and alive");
		return VR_ESTATE;
	}
	atomic_store(&p->state, ST_WAITING);
	drain_fd(p->deadfd);
	for (v = 0; v < MAX_VEC; v++)
		close_fd(&p->bound_efd[v]);
	atomic_store(&p->bound, -1);
retry:
	for (;;) {
		if (!p->plain) {
			int cand = pick_peer(p);

			if (cand != id) {
				/* A new candidate (or the old one left). */
				id = cand;
				have_hb0 = false;
			}
		} else {
			id = 0;
		}
		if (id >= 0 && !have_hb0) {
			hb0 = vr_region_load(p->map, peer_hb(p));
			have_hb0 = true;
		}
		/* Its heartbeat moving says it finished its own set-up (a
		 * driver has started its session). Without heartbeat watching
		 * the peer may not beat at all: its presence is enough. */
		if (id >= 0 && (!atomic_load(&p->hb_watch) ||
				vr_region_load(p->map, peer_hb(p)) != hb0))
			break;
		if (left_ns(deadline) == 0) {
			if (id >= 0)
				seterr(s, "peer %d is there but its heartbeat did not "
					  "move in time", id);
			else
				seterr(s, "no peer joined in time");
			return VR_ETIMEDOUT;
		}
		sleep_ns(1000000);
	}
	if (!p->plain) {
		int slot;

		pthread_mutex_lock(&p->lock);
		slot = complete_slot(p, (uint32_t)id);
		for (v = 0; slot >= 0 && v < p->nvec; v++) {
			p->bound_efd[v] = fcntl(p->peer_efd[slot][v], F_DUPFD_CLOEXEC, 0);
			if (p->bound_efd[v] < 0)
				break;
		}
		pthread_mutex_unlock(&p->lock);
		if (slot < 0) {
			/* It left after the pick: look again. */
			id = -1;
			goto retry;
		}
		if (v < p->nvec) {
			int e = errno;

			for (v = 0; v < MAX_VEC; v++)
				close_fd(&p->bound_efd[v]);
			errno = e;
			return oserr(s, "dup of the peer's eventfds");
		}
	}
	atomic_store(&p->bound, p->plain ? -1 : id);
	p->my_gen = vr_region_load(p->map, VR_RH_GENERATION);
	hb_reset(p);
	atomic_store(&p->why, WHY_NONE);
	atomic_store(&p->state, ST_ALIVE);
	/* It may have left between the dup and now: the thread only marks a
	 * bound peer dead, so look once more (under the lock, after which
	 * the thread sees this peer bound). */
	if (!p->plain) {
		int gone;

		pthread_mutex_lock(&p->lock);
		gone = complete_slot(p, (uint32_t)id) < 0;
		pthread_mutex_unlock(&p->lock);
		if (gone)
			mark_dead(p, WHY_LEFT);
	}
	s->err[0] = '\0';
	return 0;
}

/* ---- Raw doorbells and queries ------------------------------------------------------ */

int vr_ivshmem_ring_peer(struct vr_ivshmem *s, int peer, uint32_t vector)
{
	struct vr__ivshmem *p;
	uint64_t one = 1;
	int rc = 0;

	int slot;

	if (!s || !s->p || s->p->plain || peer < 0 || peer > (int)VR_IVSHMEM_MAX_ID)
		return VR_EINVAL;
	p = s->p;
	if (vector >= p->nvec)
		return VR_EINVAL;
	pthread_mutex_lock(&p->lock);
	slot = complete_slot(p, (uint32_t)peer);
	if (slot < 0) {
		rc = VR_EINVAL;
	} else {
		while (write(p->peer_efd[slot][vector], &one, sizeof(one)) < 0) {
			if (errno == EINTR)
				continue;
			rc = errno == EAGAIN ? 0 : VR_EIO;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int vr_ivshmem_wait_vector(struct vr_ivshmem *s, uint32_t vector, uint64_t timeout_ns)
{
	if (!s || !s->p || s->p->plain || vector >= s->p->nvec)
		return VR_EINVAL;
	return wait_efd(s->p, vector, timeout_ns, false);
}

int vr_ivshmem_own_id(const struct vr_ivshmem *s)
{
	return s && s->p && !s->p->plain && s->p->map ? (int)s->p->parser.own_id : -1;
}

int vr_ivshmem_peer_id(const struct vr_ivshmem *s)
{
	return s && s->p ? atomic_load(&s->p->bound) : -1;
}

int vr_ivshmem_peers(const struct vr_ivshmem *s, uint32_t *ids, unsigned cap)
{
	struct vr__ivshmem *p;
	uint32_t got[MAX_PEERS];
	unsigned n = 0, i, j;

	if (!s || !s->p || (cap && !ids))
		return VR_EINVAL;
	p = s->p;
	pthread_mutex_lock(&p->lock);
	for (i = 0; i < MAX_PEERS; i++)
		if ((p->complete >> i) & 1)
			got[n++] = p->parser.slot_id[i];
	pthread_mutex_unlock(&p->lock);
	/* Ascending (insertion sort: at most 64). */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && got[j - 1] > got[j]; j--) {
			uint32_t t = got[j];

			got[j] = got[j - 1];
			got[j - 1] = t;
		}
	for (i = 0; i < n && i < cap; i++)
		ids[i] = got[i];
	return (int)n;
}

uint64_t vr_ivshmem_peer_mask(const struct vr_ivshmem *s)
{
	uint32_t ids[MAX_PEERS];
	uint64_t m = 0;
	int n = vr_ivshmem_peers(s, ids, MAX_PEERS), i;

	for (i = 0; i < n; i++)
		if (ids[i] < 64)
			m |= 1ull << ids[i];
	return m;
}

uint32_t vr_ivshmem_peer_changes(const struct vr_ivshmem *s)
{
	return s && s->p ? atomic_load(&s->p->changes) : 0;
}

uint32_t vr_ivshmem_vectors(const struct vr_ivshmem *s)
{
	return s && s->p && !s->p->plain ? s->p->nvec : 0;
}

const struct vr_region_info *vr_ivshmem_info(const struct vr_ivshmem *s)
{
	return s && s->p && s->t.region ? &s->p->info : NULL;
}

const char *vr_ivshmem_last_error(const struct vr_ivshmem *s)
{
	return s ? s->err : "no object";
}

const char *vr_ivshmem_peer_error(const struct vr_ivshmem *s)
{
	static const char *const text[] = {
		"", "left the server", "heartbeat stopped", "server protocol error",
		"region generation changed"
	};
	int w;

	if (!s || !s->p || atomic_load(&s->p->state) != ST_DEAD)
		return "";
	w = atomic_load(&s->p->why);
	return w >= 0 && w <= WHY_GENERATION ? text[w] : "";
}
