/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host shared-memory transport: the region in a memfd, a POSIX shm object
 * or a file; eventfd doorbells; a SOCK_SEQPACKET unix socket that hands
 * both to exactly one peer at a time (docs/TRANSPORT_SHM.md).
 *
 * Liveness has two sources. With a socket, the kernel closes the peer's end
 * when the peer dies, however it dies: wait() polls the socket next to the
 * doorbell and peer_state() polls it without blocking. And in every mode
 * each end bumps its heartbeat field in the region header from a background
 * thread, and the other end declares it dead when the field has not moved
 * for the liveness timeout: that finds a peer that is stopped (SIGSTOP, a
 * hung RTOS) rather than dead, whose socket stays open. The thread beats
 * whatever the application does, so a peer asleep in a wait stays alive.
 * Whoever declares the peer dead writes the dead eventfd, which every
 * wait() polls too.
 *
 * Nothing received from the peer is trusted: the handshake message is
 * checked field by field, received fds are checked for their kind, the
 * region is sized from fstat() and validated with vr_region_parse() before
 * anything in it is used.
 */
#define _GNU_SOURCE

#include <vring/shm.h>

#include "handshake.h"
#include "handshake_rx.h"
#include "../hosted_clock.h"
#include "../hosted_liveness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6 /* <linux/magic.h> */
#endif

/* ---- Handshake (docs/TRANSPORT_SHM.md) ------------------------------------ */

/* The wire format and every check of what the peer sends are in
 * handshake.h, as functions of plain values (fuzzed by
 * fuzz/fuzz_shm_handshake.c), and the fd collection of a received message
 * in handshake_rx.h; this file feeds them the system's answers. */
#define MAX_FDS VR__HS_MAX_FDS

_Static_assert(VR__HS_SEAL_SHRINK == F_SEAL_SHRINK, "F_SEAL_SHRINK");

/* ---- Private state ------------------------------------------------------ */

/* Peer states: the two public ones, plus these. */
enum {
	ST_WAITING = VR_PEER_WAITING,
	ST_ALIVE = VR_PEER_ALIVE,
	ST_DEAD = 2,
	ST_ACCEPTING = 3 /* vr_shm_accept owns the listening socket */
};

enum { WHY_NONE, WHY_HANGUP, WHY_HEARTBEAT, WHY_GENERATION, WHY_SIGBUS };

struct vr__shm {
	bool listener;
	bool polling;  /* no doorbells */
	bool hb_watch; /* liveness from the peer's heartbeat */
	uint32_t backing;
	uint32_t cfg_flags;
	int region_fd;
	void *map;
	size_t map_len;
	int lsock;  /* listening socket, or -1 */
	int csock;  /* socket to the attached peer, or -1 */
	int stopfd; /* eventfd that stops the watcher thread */
	int deadfd; /* eventfd written when the peer is declared dead */
	int guard;  /* SIGBUS guard slot, or -1 */
	uint64_t hs_timeout_ns; /* per-connection handshake timeout */
	int efd[2 * VR_REGION_MAX_QUEUES]; /* [2q] to device, [2q + 1] to driver */
	uint32_t nefd;
	struct vr_region_info info;
	uint64_t liveness_ns;
	uint64_t heartbeat_ns;
	uint32_t my_gen; /* connector: the generation it attached to */
	int peer_pid;
	char path[PATH_MAX];       /* backing to unlink on close, or "" */
	char sock_path[108];       /* socket we bound, or "" */
	dev_t sock_dev;
	ino_t sock_ino;
	pthread_t thr;
	bool thr_running;
	pthread_mutex_t lock; /* the watcher's refusals vs vr_shm_accept */
	atomic_int state;
	atomic_int why;
	struct vr__hb_watch hb; /* the peer's heartbeat (hosted_liveness.h) */
	atomic_int faulted; /* the guarded backing was truncated */
	/* The watcher is reading or writing the region (watcher_enter): the
	 * guard handler waits for it before it replaces the mapping. */
	atomic_int in_region;
};

/* ---- Small helpers -------------------------------------------------------- */

static void seterr(struct vr_shm *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void seterr(struct vr_shm *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

/* Record an OS failure with its errno text; returns VR_EIO. */
static int oserr(struct vr_shm *s, const char *what)
{
	int e = errno;

	seterr(s, "%s: %s", what, strerror(e));
	return VR_EIO;
}

static uint64_t earlier(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void close_fds(int *fds, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		close_fd(&fds[i]);
}

static struct vr__shm *priv(struct vr_transport *t)
{
	return ((struct vr_shm *)(void *)t)->p;
}

/* ---- Liveness ----------------------------------------------------------- */

/* Wake every wait() of this end: the dead eventfd stays readable (nobody
 * reads it) until the next attach. write() is async-signal-safe: the SIGBUS
 * guard calls this too. */
static void wake_dead(struct vr__shm *p)
{
	uint64_t one = 1;

	while (write(p->deadfd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void mark_dead(struct vr__shm *p, int why)
{
	int expect = ST_ALIVE, none = WHY_NONE;

	atomic_compare_exchange_strong(&p->why, &none, why);
	if (!atomic_compare_exchange_strong(&p->state, &expect, ST_DEAD))
		return;
	/* A peer declared dead may be stopped, not killed (SIGSTOP, a hung
	 * RTOS), and run again later: the generation is what tells it that
	 * it lost its place, so change it now, socket or not, before the
	 * driver resets the rings for a new peer. The stale device checks it
	 * before every access to the rings (vring/channel.h) and writes
	 * nothing once it moved. The handshake changes it again for the new
	 * peer. Not after a SIGBUS: the mapping is gone. */
	if (p->listener && why != WHY_SIGBUS)
		vr_region_store(p->map, VR_RH_GENERATION,
				vr_region_load(p->map, VR_RH_GENERATION) + 1);
	wake_dead(p);
}

static enum vr_region_field own_hb(const struct vr__shm *p)
{
	return p->listener ? VR_RH_DRIVER_HEARTBEAT : VR_RH_DEVICE_HEARTBEAT;
}

static enum vr_region_field peer_hb(const struct vr__shm *p)
{
	return p->listener ? VR_RH_DEVICE_HEARTBEAT : VR_RH_DRIVER_HEARTBEAT;
}

/* Start watching the peer's heartbeat from now. */
static void hb_reset(struct vr__shm *p)
{
	vr__hb_watch_reset(&p->hb, vr_region_load(p->map, peer_hb(p)), mono_ns());
}

/* Sample the peer's heartbeat; true when it has been still too long. */
static bool hb_stale(struct vr__shm *p, uint64_t now)
{
	return vr__hb_watch_stale(&p->hb, vr_region_load(p->map, peer_hb(p)), now,
				  p->liveness_ns);
}

static bool sock_hung_up(int fd)
{
	struct pollfd pf = {fd, POLLRDHUP, 0};

	if (poll(&pf, 1, 0) < 0)
		return false; /* EINTR or ENOMEM: ask again next time */
	return (pf.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/* The full check behind peer_state. */
static int check_peer(struct vr__shm *p)
{
	int st = atomic_load(&p->state);

	if (st == ST_DEAD)
		return VR_EPEERDEAD;
	if (atomic_load(&p->faulted)) {
		mark_dead(p, WHY_SIGBUS);
		return VR_EPEERDEAD;
	}
	if (st != ST_ALIVE)
		return VR_PEER_WAITING;
	if (p->csock >= 0 && sock_hung_up(p->csock))
		mark_dead(p, WHY_HANGUP);
	else if (p->hb_watch && hb_stale(p, mono_ns()))
		mark_dead(p, WHY_HEARTBEAT);
	else if (!p->listener &&
		 vr_region_load(p->map, VR_RH_GENERATION) != p->my_gen)
		mark_dead(p, WHY_GENERATION);
	return atomic_load(&p->state) == ST_DEAD ? VR_EPEERDEAD : VR_PEER_ALIVE;
}

/* ---- SIGBUS guard ------------------------------------------------------- */

/*
 * A named object or a file cannot be sealed: whoever can open it can
 * truncate it, and the next access to a page past the new end raises
 * SIGBUS. With VR_SHM_GUARD_SIGBUS the mapping is registered here, and one
 * process-wide handler, on a fault inside a registered mapping, maps
 * anonymous zero pages over the whole of it (MAP_FIXED: the faulting access
 * is retried on return and reads zeros), marks that transport's peer dead
 * and returns. A fault anywhere else goes to the handler that was installed
 * before ours. The handler uses only async-signal-safe operations: lock-free
 * atomics, mmap, write, sigaction, raise.
 *
 * The table is a fixed array of slots. A slot is published by its base
 * (stored last, release); the handler counts itself in `busy` before it
 * reads a slot, and unregistering clears the base, then waits until no
 * handler is inside before the owner may be freed.
 */
#define GUARD_SLOTS 64

struct guard_slot {
	atomic_uintptr_t base; /* 0: free */
	atomic_size_t len;
	_Atomic(struct vr__shm *) owner;
	atomic_int busy;  /* handlers looking at this slot */
	atomic_int taken; /* claimed by a register call */
	atomic_int hit;   /* a fault inside it was caught */
};

static struct guard_slot guard_tab[GUARD_SLOTS];
/* This thread is the watcher, between watcher_enter and watcher_leave: a
 * fault there must not wait for itself. Initial-exec: read from a signal
 * handler without a call into the dynamic loader. */
static __thread int tl_in_region __attribute__((tls_model("initial-exec")));
static struct sigaction guard_prev;
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;

/* Not ours: what the previous disposition would have done. */
static void guard_chain(int sig, siginfo_t *si, void *ctx)
{
	if (guard_prev.sa_flags & SA_SIGINFO) {
		guard_prev.sa_sigaction(sig, si, ctx);
		return;
	}
	if (guard_prev.sa_handler == SIG_DFL || guard_prev.sa_handler == SIG_IGN) {
		struct sigaction dfl;

		/* Die of it, as without us: a fault repeats on return, and
		 * the raised one is delivered once the handler unblocks it. */
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(sig, &dfl, NULL);
		raise(sig);
		return;
	}
	guard_prev.sa_handler(sig);
}

static void guard_handler(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno;
	unsigned i;

	for (i = 0; i < GUARD_SLOTS; i++) {
		struct guard_slot *g = &guard_tab[i];
		uintptr_t b;
		size_t len;

		atomic_fetch_add(&g->busy, 1);
		/* Acquire: len and owner were stored before base. */
		b = atomic_load(&g->base);
		len = atomic_load(&g->len);
		struct vr__shm *p = atomic_load(&g->owner);

		/* The watcher may be reading or writing these pages:
		 * faulted first, then wait for an access announced before it
		 * (seq_cst both sides, a Dekker pair with watcher_enter: the
		 * watcher sees faulted and stays out, or this sees in_region
		 * and waits, a bounded sequence without locks), so that no
		 * access of the watcher races the remap below. */
		if (p && b != 0 && a >= b && a - b < len) {
			atomic_store(&p->faulted, 1);
			if (!tl_in_region)
				while (atomic_load(&p->in_region))
					;
		}
		if (b != 0 && a >= b && a - b < len &&
		    mmap((void *)b, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
			atomic_store(&g->hit, 1);
			if (p) {
				int none = WHY_NONE, alive = ST_ALIVE;

				atomic_compare_exchange_strong(&p->why, &none, WHY_SIGBUS);
				if (atomic_compare_exchange_strong(&p->state, &alive, ST_DEAD))
					wake_dead(p);
			}
			atomic_fetch_sub(&g->busy, 1);
			errno = saved;
			return;
		}
		atomic_fetch_sub(&g->busy, 1);
	}
	errno = saved;
	guard_chain(sig, si, ctx);
}

/* Install the handler unless it is in place: at the first registration,
 * and again if the application (or a test framework) replaced it since;
 * the handler found there is the one faults outside our regions go to. */
static int guard_install(void)
{
	struct sigaction sa, cur;
	int rc = 0;

	pthread_mutex_lock(&guard_lock);
	if (sigaction(SIGBUS, NULL, &cur) != 0) {
		rc = -1;
	} else if (!(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != guard_handler) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = guard_handler;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		guard_prev = cur;
		if (sigaction(SIGBUS, &sa, NULL) != 0)
			rc = -1;
	}
	pthread_mutex_unlock(&guard_lock);
	return rc;
}

/* A free slot for [base, base + len) of @owner (NULL: none); the slot, or
 * -1 when all are taken. */
static int guard_slot_add(void *base, size_t len, struct vr__shm *owner)
{
	unsigned i;

	for (i = 0; i < GUARD_SLOTS; i++) {
		int free_slot = 0;

		if (!atomic_compare_exchange_strong(&guard_tab[i].taken, &free_slot, 1))
			continue;
		atomic_store(&guard_tab[i].hit, 0);
		atomic_store(&guard_tab[i].len, len);
		atomic_store(&guard_tab[i].owner, owner);
		/* Release: len and owner before the handler can match. */
		atomic_store(&guard_tab[i].base, (uintptr_t)base);
		return (int)i;
	}
	return -1;
}

static void guard_slot_remove(int slot)
{
	struct guard_slot *g = &guard_tab[slot];

	atomic_store(&g->base, 0);
	/* A handler that matched before the store may still use the owner. */
	while (atomic_load(&g->busy) != 0)
		sched_yield();
	atomic_store(&g->owner, NULL);
	atomic_store(&g->taken, 0);
}

/* Register @p's mapping; 0 or VR_EIO (no free slot, or sigaction). */
static int guard_add(struct vr_shm *s)
{
	struct vr__shm *p = s->p;

	if (guard_install() != 0)
		return oserr(s, "installing the SIGBUS guard");
	p->guard = guard_slot_add(p->map, p->map_len, p);
	if (p->guard >= 0)
		return 0;
	seterr(s, "the SIGBUS guard has no free slot (%d regions guarded)",
	       GUARD_SLOTS);
	return VR_EIO;
}

static void guard_remove(struct vr__shm *p)
{
	if (p->guard < 0)
		return;
	guard_slot_remove(p->guard);
	p->guard = -1;
}

int vr_shm_guard(void *base, size_t len)
{
	int slot;

	if (!base || len == 0)
		return VR_EINVAL;
	if (guard_install() != 0)
		return VR_EIO;
	slot = guard_slot_add(base, len, NULL);
	return slot >= 0 ? slot : VR_EIO;
}

int vr_shm_guard_tripped(int handle)
{
	if (handle < 0 || handle >= GUARD_SLOTS)
		return 0;
	return atomic_load(&guard_tab[handle].hit);
}

void vr_shm_unguard(int handle)
{
	if (handle >= 0 && handle < GUARD_SLOTS &&
	    atomic_load(&guard_tab[handle].taken))
		guard_slot_remove(handle);
}

/* ---- Ops ------------------------------------------------------------------ */

static int op_notify(struct vr_transport *t, uint32_t q)
{
	struct vr__shm *p = priv(t);
	uint64_t one = 1;
	int fd;

	if (q >= p->info.queue_count)
		return VR_EINVAL;
	if (atomic_load(&p->state) == ST_DEAD)
		return VR_EPEERDEAD;
	if (p->polling)
		return 0;
	fd = p->efd[2 * q + (p->listener ? 0 : 1)];
	for (;;) {
		if (write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
			return 0;
		if (errno == EINTR)
			continue;
		/* EAGAIN: the counter is at its maximum, the peer will wake. */
		return errno == EAGAIN ? 0 : VR_EIO;
	}
}

/* Polling mode: no doorbell, sleep a little and report. */
static int wait_polling(struct vr__shm *p, uint64_t timeout_ns)
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
	struct vr__shm *p = priv(t);
	uint64_t deadline, val;
	int st;

	if (q >= p->info.queue_count)
		return VR_EINVAL;
	if (p->polling)
		return wait_polling(p, timeout_ns);
	deadline = deadline_of(timeout_ns);
	for (;;) {
		struct pollfd pf[3];
		nfds_t n = 2;
		int r;

		st = check_peer(p);
		if (st < 0)
			return st;
		pf[0].fd = p->efd[2 * q + (p->listener ? 1 : 0)];
		pf[0].events = POLLIN;
		pf[0].revents = 0;
		/* Written by whoever declares the peer dead (the watcher thread
		 * when the heartbeat stops): a stopped peer ends this wait. */
		pf[1].fd = p->deadfd;
		pf[1].events = POLLIN;
		pf[1].revents = 0;
		if (st == ST_ALIVE && p->csock >= 0) {
			/* Not POLLIN: a peer sending junk must not wake us. */
			pf[2].fd = p->csock;
			pf[2].events = POLLRDHUP;
			pf[2].revents = 0;
			n = 3;
		}
		r = poll_ns(pf, n, left_ns(deadline));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return VR_EIO;
		}
		if (n == 3 && (pf[2].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) {
			mark_dead(p, WHY_HANGUP);
			return VR_EPEERDEAD;
		}
		if (pf[1].revents && atomic_load(&p->state) == ST_DEAD)
			return VR_EPEERDEAD;
		if (pf[0].revents & POLLIN) {
			/* Clear the doorbell; EAGAIN if it was consumed meanwhile
			 * (cannot happen with one waiter per queue): spurious. */
			if (read(pf[0].fd, &val, sizeof(val)) < 0 && errno != EAGAIN &&
			    errno != EINTR)
				return VR_EIO;
			return 0;
		}
		if (pf[0].revents & (POLLERR | POLLNVAL))
			return VR_EIO;
		if (r == 0 && left_ns(deadline) == 0)
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

static const struct vr_transport_ops shm_ops = {
	op_notify, op_wait, op_peer_state, op_now_ns
};

/* ---- Watcher thread --------------------------------------------------------- */

static ssize_t send_msg(int fd, const struct vr__hs_msg *m, const int *fds,
			unsigned nfds);

/* A connection while a peer is attached: say why, then close. */
static void refuse(int fd, int code, const char *text)
{
	struct vr__hs_msg m;

	vr__hs_make_refuse(&m, code, text);
	(void)send_msg(fd, &m, NULL, 0);
	close(fd);
}

/* Under p->lock, with the state ALIVE, csock is the attached peer's and
 * stays open: vr_shm_accept changes it only after taking the lock to leave
 * ALIVE. */
static bool watch_hangup_locked(struct vr__shm *p)
{
	if (atomic_load(&p->state) == ST_ALIVE && p->csock >= 0 &&
	    sock_hung_up(p->csock))
		mark_dead(p, WHY_HANGUP);
	return atomic_load(&p->state) == ST_ALIVE;
}

static void refuse_pending(struct vr__shm *p)
{
	int fd;

	pthread_mutex_lock(&p->lock);
	/* A restarted peer often knocks before anyone noticed the old one
	 * died: look at the old one's socket before turning it away. The
	 * connection then waits in the backlog for vr_shm_accept. */
	while (watch_hangup_locked(p) &&
	       (fd = accept4(p->lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
		refuse(fd, VR_EPERM, "busy: a peer is already attached");
	pthread_mutex_unlock(&p->lock);
}

/* The watcher is about to touch the region: false when the region was
 * truncated (the guard handler replaced or is replacing its pages), and
 * the watcher must stay out. Always paired with watcher_leave. Seq_cst:
 * the announcement is ordered before the look at faulted (partner:
 * guard_handler, which stores faulted, then reads in_region). */
static bool watcher_enter(struct vr__shm *p)
{
	tl_in_region = 1;
	atomic_store(&p->in_region, 1);
	return !atomic_load(&p->faulted);
}

/* Seq_cst: the accesses before it happen before the handler's remap,
 * which waits to read 0 here. */
static void watcher_leave(struct vr__shm *p)
{
	atomic_store(&p->in_region, 0);
	tl_in_region = 0;
}

/* Bumps this end's heartbeat, watches the peer's, refuses extra
 * connections. Never closes or replaces an fd other threads use. */
static void *watcher(void *arg)
{
	struct vr__shm *p = (struct vr__shm *)arg;
	uint32_t beat = 0;
	uint64_t last_beat = 0;

	if (watcher_enter(p))
		beat = vr_region_load(p->map, own_hb(p));
	watcher_leave(p);

	for (;;) {
		struct pollfd pf[2] = {{p->stopfd, POLLIN, 0}, {p->lsock, POLLIN, 0}};
		nfds_t n = p->lsock >= 0 && atomic_load(&p->state) == ST_ALIVE ? 2 : 1;
		uint64_t now;

		if (poll_ns(pf, n, p->heartbeat_ns) < 0 && errno != EINTR)
			sleep_ns(p->heartbeat_ns);
		if (pf[0].revents)
			break;
		if (n == 2 && (pf[1].revents & POLLIN)) {
			refuse_pending(p);
		} else if (p->lsock >= 0 || (!p->listener && p->csock >= 0)) {
			/* Notice a hang-up even while nobody asks. */
			pthread_mutex_lock(&p->lock);
			(void)watch_hangup_locked(p);
			pthread_mutex_unlock(&p->lock);
		}
		now = mono_ns();
		/* The region: a truncated one's pages are replaced only
		 * outside this block (watcher_enter). */
		if (watcher_enter(p)) {
			if (now - last_beat >= p->heartbeat_ns) {
				/* Release: pairs with the peer's vr_region_load. */
				vr_region_store(p->map, own_hb(p), ++beat);
				last_beat = now;
			}
			if (atomic_load(&p->state) == ST_ALIVE) {
				if (p->hb_watch && hb_stale(p, now))
					mark_dead(p, WHY_HEARTBEAT);
				else if (!p->listener &&
					 vr_region_load(p->map, VR_RH_GENERATION) != p->my_gen)
					mark_dead(p, WHY_GENERATION);
			}
		}
		watcher_leave(p);
	}
	return NULL;
}

static int start_watcher(struct vr_shm *s)
{
	struct vr__shm *p = s->p;
	int e;

	if (p->thr_running)
		return 0;
	e = pthread_create(&p->thr, NULL, watcher, p);
	if (e != 0) {
		errno = e;
		return oserr(s, "pthread_create");
	}
	p->thr_running = true;
	return 0;
}

static void stop_watcher(struct vr__shm *p)
{
	uint64_t one = 1;

	if (!p->thr_running)
		return;
	while (write(p->stopfd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	pthread_join(p->thr, NULL);
	p->thr_running = false;
}

/* ---- Object life ---------------------------------------------------------- */

static int alloc_priv(struct vr_shm *s, bool listener)
{
	struct vr__shm *p;
	unsigned i;

	memset(s, 0, sizeof(*s));
	p = (struct vr__shm *)calloc(1, sizeof(*p));
	if (!p) {
		seterr(s, "out of memory");
		return VR_EIO;
	}
	p->listener = listener;
	p->region_fd = p->lsock = p->csock = p->deadfd = -1;
	p->guard = -1;
	for (i = 0; i < 2 * VR_REGION_MAX_QUEUES; i++)
		p->efd[i] = -1;
	atomic_init(&p->state, ST_WAITING);
	atomic_init(&p->why, WHY_NONE);
	vr__hb_watch_init(&p->hb);
	atomic_init(&p->faulted, 0);
	atomic_init(&p->in_region, 0);
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		seterr(s, "pthread_mutex_init failed");
		return VR_EIO;
	}
	p->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->stopfd >= 0)
		p->deadfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->stopfd < 0 || p->deadfd < 0) {
		int rc = oserr(s, "eventfd");

		close_fd(&p->stopfd);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return rc;
	}
	s->p = p;
	s->t.ops = &shm_ops;
	s->t.role = listener ? VR_ROLE_DRIVER : VR_ROLE_DEVICE;
	return 0;
}

void vr_shm_close(struct vr_shm *s)
{
	struct vr__shm *p;
	struct stat st;

	if (!s || !s->p)
		return;
	p = s->p;
	stop_watcher(p);
	/* Without a socket, tell an attached device at once rather than after
	 * its liveness timeout: the generation moves. */
	if (p->listener && p->lsock < 0 && p->map &&
	    atomic_load(&p->state) == ST_ALIVE && !atomic_load(&p->faulted))
		vr_region_store(p->map, VR_RH_GENERATION,
				vr_region_load(p->map, VR_RH_GENERATION) + 1);
	guard_remove(p);
	if (p->map)
		munmap(p->map, p->map_len);
	close_fd(&p->region_fd);
	close_fd(&p->csock);
	close_fd(&p->lsock);
	close_fd(&p->stopfd);
	close_fd(&p->deadfd);
	close_fds(p->efd, 2 * VR_REGION_MAX_QUEUES);
	/* Unlink the socket only if it is still the one we bound. */
	if (p->sock_path[0] && lstat(p->sock_path, &st) == 0 &&
	    st.st_dev == p->sock_dev && st.st_ino == p->sock_ino)
		unlink(p->sock_path);
	if (p->path[0] && (p->cfg_flags & VR_SHM_UNLINK_BACKING)) {
		if (p->backing == VR_SHM_NAMED)
			shm_unlink(p->path);
		else
			unlink(p->path);
	}
	pthread_mutex_destroy(&p->lock);
	free(p);
	memset(&s->t, 0, sizeof(s->t));
	s->p = NULL;
}

/* ---- Listener: backing ---------------------------------------------------- */

static int create_backing(struct vr_shm *s, const struct vr_shm_cfg *cfg,
			  uint64_t need)
{
	struct vr__shm *p = s->p;
	uint64_t len = need;
	struct statfs sf;
	int fd;

	switch (cfg->backing) {
	case VR_SHM_MEMFD:
		fd = memfd_create("libvring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0)
			return oserr(s, "memfd_create");
		break;
	case VR_SHM_NAMED:
		fd = shm_open(cfg->path, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0) {
			seterr(s, "shm_open(%s): %s", cfg->path, strerror(errno));
			return VR_EIO;
		}
		snprintf(p->path, sizeof(p->path), "%s", cfg->path);
		break;
	case VR_SHM_FILE:
		fd = open(cfg->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			  0600);
		if (fd < 0) {
			seterr(s, "open(%s): %s", cfg->path, strerror(errno));
			return VR_EIO;
		}
		snprintf(p->path, sizeof(p->path), "%s", cfg->path);
		/* hugetlbfs: sizes are whole huge pages. */
		if (fstatfs(fd, &sf) == 0 && (unsigned long)sf.f_type == HUGETLBFS_MAGIC &&
		    sf.f_bsize > 0)
			len = (need + (uint64_t)sf.f_bsize - 1) / (uint64_t)sf.f_bsize *
			      (uint64_t)sf.f_bsize;
		break;
	default:
		seterr(s, "unknown backing %u", (unsigned)cfg->backing);
		return VR_EINVAL;
	}
	p->region_fd = fd;
	/* The umask may have removed bits we need, or a named object may
	 * have kept more: make it exactly 0600. */
	if (cfg->backing != VR_SHM_MEMFD && fchmod(fd, 0600) != 0)
		return oserr(s, "fchmod backing");
	if (len > (uint64_t)SIZE_MAX || len > (uint64_t)INT64_MAX) {
		seterr(s, "region of %llu bytes too large", (unsigned long long)len);
		return VR_EINVAL;
	}
	if (ftruncate(fd, (off_t)len) != 0)
		return oserr(s, "ftruncate backing");
	/* The peer maps the whole fd: sealing means no one can shrink it under
	 * either mapping (SIGBUS) or grow it. The connector checks the seal. */
	if (cfg->backing == VR_SHM_MEMFD &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		return oserr(s, "sealing the memfd");
	p->map = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		return oserr(s, "mmap region");
	}
	p->map_len = (size_t)len;
	return 0;
}

/* ---- Listener: socket ------------------------------------------------------- */

static int fill_addr(struct vr_shm *s, struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (!path || !path[0] || strlen(path) >= sizeof(a->sun_path)) {
		seterr(s, "socket path empty or longer than %zu bytes",
		       sizeof(a->sun_path) - 1);
		return VR_EINVAL;
	}
	memcpy(a->sun_path, path, strlen(path) + 1);
	return 0;
}

static int bind_socket(struct vr_shm *s, const char *path)
{
	struct vr__shm *p = s->p;
	struct sockaddr_un a;
	struct stat st;
	int fd, rc;

	rc = fill_addr(s, &a, path);
	if (rc)
		return rc;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			seterr(s, "%s exists and is not a socket", path);
			return VR_EINVAL;
		}
		/* A live listener answers; a stale socket refuses. */
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return oserr(s, "socket");
		rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
		if (rc == 0 || errno == EAGAIN) {
			close(fd);
			seterr(s, "%s is in use by a live listener", path);
			return VR_EPERM;
		}
		close(fd);
		if (unlink(path) != 0 && errno != ENOENT)
			return oserr(s, "unlink stale socket");
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return oserr(s, "socket");
	p->lsock = fd;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		seterr(s, "bind(%s): %s", path, strerror(errno));
		return VR_EIO;
	}
	snprintf(p->sock_path, sizeof(p->sock_path), "%s", path);
	/* Not umask(): it is process-wide. Between bind and chmod the socket
	 * may be wider than 0600; the uid check at accept covers that window,
	 * and the directory should be private anyway. */
	if (chmod(path, 0600) != 0)
		return oserr(s, "chmod socket");
	if (lstat(path, &st) == 0) {
		p->sock_dev = st.st_dev;
		p->sock_ino = st.st_ino;
	}
	if (listen(fd, 8) != 0)
		return oserr(s, "listen");
	return 0;
}

/* This end's heartbeat period and liveness timeout (0: the defaults),
 * refused with a message when a peer could be declared dead while alive. */
static int set_timing(struct vr_shm *s, uint64_t heartbeat_ns, uint64_t liveness_ns)
{
	struct vr__shm *p = s->p;

	p->heartbeat_ns = heartbeat_ns ? heartbeat_ns : VR_SHM_HEARTBEAT_DEFAULT_NS;
	p->liveness_ns = liveness_ns ? liveness_ns : VR_SHM_LIVENESS_DEFAULT_NS;
	if (vr__hs_timing_ok(p->heartbeat_ns, p->liveness_ns))
		return 0;
	seterr(s, "heartbeat %llu ns / liveness timeout %llu ns: the period must "
		  "be 100 us..1 s and the timeout 2 periods..60 s",
	       (unsigned long long)p->heartbeat_ns,
	       (unsigned long long)p->liveness_ns);
	return VR_EINVAL;
}

int vr_shm_listen(struct vr_shm *s, const struct vr_shm_cfg *cfg)
{
	struct vr__shm *p;
	uint64_t need;
	uint32_t i;
	int rc;

	if (!s)
		return VR_EINVAL;
	rc = alloc_priv(s, true);
	if (rc)
		return rc;
	p = s->p;
	if (!cfg) {
		seterr(s, "no configuration");
		rc = VR_EINVAL;
		goto fail;
	}
	need = vr_region_bytes(&cfg->region);
	if (need == 0) {
		seterr(s, "invalid region configuration (queues, sizes or pool)");
		rc = VR_EINVAL;
		goto fail;
	}
	if (cfg->backing != VR_SHM_MEMFD && (!cfg->path || !cfg->path[0])) {
		seterr(s, "a named or file backing needs cfg.path");
		rc = VR_EINVAL;
		goto fail;
	}
	if (!cfg->socket_path &&
	    (!(cfg->flags & VR_SHM_POLLING) || cfg->backing == VR_SHM_MEMFD)) {
		seterr(s, "without a socket the peer cannot get doorbells or a "
			  "memfd: use VR_SHM_POLLING with a named or file backing");
		rc = VR_EINVAL;
		goto fail;
	}
	if (cfg->socket_path && cfg->backing != VR_SHM_MEMFD) {
		/* The connector accepts only a region it knows nobody can
		 * shrink under its mapping: a sealed memfd. */
		seterr(s, "a named or file backing cannot be sealed, and a "
			  "connector accepts only a sealed memfd: use VR_SHM_MEMFD "
			  "with a socket, or no socket and vr_shm_open()");
		rc = VR_EINVAL;
		goto fail;
	}
	p->backing = cfg->backing;
	p->cfg_flags = cfg->flags;
	p->polling = (cfg->flags & VR_SHM_POLLING) != 0;
	p->hb_watch = true; /* every mode: a stopped peer keeps its socket */
	p->hs_timeout_ns = cfg->handshake_timeout_ns ? cfg->handshake_timeout_ns
						     : VR_SHM_HANDSHAKE_DEFAULT_NS;
	rc = set_timing(s, cfg->heartbeat_ns, cfg->liveness_timeout_ns);
	if (rc)
		goto fail;
	if (cfg->socket_path) {
		struct sockaddr_un a;

		rc = fill_addr(s, &a, cfg->socket_path);
		if (rc)
			goto fail;
	}
	rc = create_backing(s, cfg, need);
	if (rc)
		goto fail;
	rc = vr_region_format(p->map, p->map_len, &cfg->region, 0, &p->info);
	if (rc) {
		seterr(s, "vr_region_format: %s", vr_strerror(rc));
		goto fail;
	}
	if (cfg->flags & VR_SHM_GUARD_SIGBUS) {
		rc = guard_add(s);
		if (rc)
			goto fail;
	}
	if (!p->polling) {
		p->nefd = 2 * p->info.queue_count;
		for (i = 0; i < p->nefd; i++) {
			p->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (p->efd[i] < 0) {
				rc = oserr(s, "eventfd");
				goto fail;
			}
		}
	}
	if (cfg->socket_path) {
		rc = bind_socket(s, cfg->socket_path);
		if (rc)
			goto fail;
	} else {
		/* No socket: the peer tells liveness from our heartbeat from
		 * the start. With a socket the thread starts at attach. */
		rc = start_watcher(s);
		if (rc)
			goto fail;
	}
	s->t.region = p->map;
	s->t.region_len = p->map_len;
	s->t.flags = p->polling ? VR_TRANSPORT_POLLING : 0;
	s->err[0] = '\0';
	return 0;
fail:
	{
		char keep[VR_SHM_ERR_BYTES];

		/* Do not leave a half-made backing behind. */
		if (p->path[0])
			p->cfg_flags |= VR_SHM_UNLINK_BACKING;
		memcpy(keep, s->err, sizeof(keep));
		vr_shm_close(s);
		memcpy(s->err, keep, sizeof(keep));
	}
	return rc;
}

/* ---- Handshake messages ----------------------------------------------------- */

static ssize_t send_msg(int fd, const struct vr__hs_msg *m, const int *fds,
			unsigned nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} u;
	struct iovec iov = {(void *)(uintptr_t)m, sizeof(*m)};
	struct msghdr mh;
	ssize_t r;

	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		r = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Wait for one message until @deadline. Returns 0 with *m filled (and fds,
 * if @fds: at most @cap, count in *nfds); VR_ETIMEDOUT; VR_EPEERDEAD (the
 * other end closed); VR_EIO (wrong size, truncated fds, OS error). On error
 * no received fd is left open. */
static int recv_msg(int fd, struct vr__hs_msg *m, int *fds, unsigned cap,
		    unsigned *nfds, uint64_t deadline)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} u;
	struct iovec iov = {m, sizeof(*m)};
	struct msghdr mh;
	ssize_t r;

	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		int pr = poll_ns(&pf, 1, left_ns(deadline));

		if (pr < 0 && errno != EINTR)
			return VR_EIO;
		if (pr > 0)
			break;
		if (pr == 0)
			return VR_ETIMEDOUT;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fds) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
	}
	do
		r = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == ECONNRESET ? VR_EPEERDEAD : VR_EIO;
	/* Every fd received is collected (or closed) before the message is
	 * judged, an empty one included, so that none leaks. */
	return vr__hs_take_fds((size_t)r, &mh, fds, cap, nfds);
}

/* ---- Listener: accept --------------------------------------------------------- */

/* Run the handshake on a fresh connection; 0 when the peer acknowledged. */
static int handshake_listener(struct vr_shm *s, int fd, uint64_t deadline)
{
	struct vr__shm *p = s->p;
	int fds[MAX_FDS];
	struct vr__hs_msg m, ack;
	struct vr__hs_hello h;
	uint32_t gen, i;
	int rc;

	/* Fresh doorbells for every attempt: a previous peer, or a connector
	 * that failed the handshake, may still hold the old ones; it can no
	 * longer ring ours. (It may still hold the region: the generation
	 * below is what tells it.) */
	for (i = 0; i < p->nefd; i++) {
		int nfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

		if (nfd < 0)
			return oserr(s, "eventfd");
		close(p->efd[i]);
		p->efd[i] = nfd;
	}
	/* A new attach: a stale peer reading the header sees the change. */
	gen = vr_region_load(p->map, VR_RH_GENERATION) + 1;
	vr_region_store(p->map, VR_RH_GENERATION, gen);
	p->info.generation = gen;

	memset(&h, 0, sizeof(h));
	h.polling = p->polling;
	h.region_bytes = p->info.region_bytes;
	h.queue_count = p->info.queue_count;
	h.generation = gen;
	h.nfds = 1 + p->nefd;
	h.pid = (uint32_t)getpid();
	h.heartbeat_ns = p->heartbeat_ns;
	h.liveness_ns = p->liveness_ns;
	vr__hs_make_hello(&m, &h);
	fds[0] = p->region_fd;
	for (i = 0; i < p->nefd; i++)
		fds[1 + i] = p->efd[i];
	if (send_msg(fd, &m, fds, m.nfds) != (ssize_t)sizeof(m)) {
		seterr(s, "sending the region to the peer: %s", strerror(errno));
		return VR_EIO;
	}
	rc = recv_msg(fd, &ack, NULL, 0, NULL, deadline);
	if (rc) {
		seterr(s, "no acknowledgement from the peer: %s", vr_strerror(rc));
		return rc;
	}
	if (vr__hs_check_ack(&ack, gen) != 0) {
		seterr(s, "malformed acknowledgement from the peer");
		return VR_EIO;
	}
	p->peer_pid = (int)ack.pid;
	return 0;
}

static int accept_socket(struct vr_shm *s, uint64_t deadline)
{
	struct vr__shm *p = s->p;
	int last = VR_ETIMEDOUT;

	for (;;) {
		struct pollfd pf = {p->lsock, POLLIN, 0};
		struct ucred cr;
		socklen_t crlen = sizeof(cr);
		int fd, pr, rc;

		pr = poll_ns(&pf, 1, left_ns(deadline));
		if (pr < 0 && errno != EINTR)
			return oserr(s, "poll on the listening socket");
		if (pr == 0) {
			if (last == VR_ETIMEDOUT)
				seterr(s, "no peer connected in time");
			return VR_ETIMEDOUT;
		}
		if (pr < 0)
			continue;
		fd = accept4(p->lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				continue;
			return oserr(s, "accept");
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
		    cr.uid != geteuid()) {
			refuse(fd, VR_EPERM, "refused: peer runs as another user");
			seterr(s, "refused a connection from another uid");
			last = VR_EPERM;
			continue;
		}
		/* Each connection gets its own short deadline: a silent one
		 * (stopped, hostile, or not a libvring peer) must not hold up
		 * the real peer queued behind it. */
		rc = handshake_listener(s, fd, earlier(deadline, deadline_of(p->hs_timeout_ns)));
		if (rc == 0) {
			p->csock = fd;
			return 0;
		}
		close(fd);
		if (rc == VR_ETIMEDOUT) {
			seterr(s, "a connection did not complete the handshake in "
				  "%llu ms: dropped",
			       (unsigned long long)(p->hs_timeout_ns / 1000000u));
			rc = VR_EIO;
		}
		last = rc; /* the message stays; keep waiting for a good peer */
	}
}

/* No socket: the peer has attached when its heartbeat moves. */
static int accept_heartbeat(struct vr_shm *s, uint64_t deadline)
{
	struct vr__shm *p = s->p;
	uint32_t v0 = vr_region_load(p->map, peer_hb(p));

	for (;;) {
		uint64_t left;

		if (vr_region_load(p->map, peer_hb(p)) != v0)
			return 0;
		left = left_ns(deadline);
		if (left == 0) {
			seterr(s, "no peer heartbeat in time");
			return VR_ETIMEDOUT;
		}
		sleep_ns(left < 1000000 ? left : 1000000);
	}
}

int vr_shm_accept(struct vr_shm *s, uint64_t timeout_ns)
{
	struct vr__shm *p;
	uint64_t deadline = deadline_of(timeout_ns);
	int st, rc;

	if (!s || !s->p)
		return VR_EINVAL;
	p = s->p;
	if (!p->listener) {
		seterr(s, "vr_shm_accept on a connecting end");
		return VR_ESTATE;
	}
	if (check_peer(p) == VR_PEER_ALIVE) {
		seterr(s, "a peer is attached and alive");
		return VR_ESTATE;
	}
	if (atomic_load(&p->faulted)) {
		seterr(s, "the backing was truncated under the mapping: the region "
			  "is gone");
		return VR_ESTATE;
	}
	pthread_mutex_lock(&p->lock);
	st = atomic_load(&p->state);
	atomic_store(&p->state, ST_ACCEPTING);
	pthread_mutex_unlock(&p->lock);
	if (p->lsock >= 0) {
		/* The old peer's socket: nobody else uses it now (see the
		 * threading rules in vr/shm.h). */
		close_fd(&p->csock);
		p->peer_pid = 0;
		rc = accept_socket(s, deadline);
	} else {
		rc = accept_heartbeat(s, deadline);
	}
	if (rc) {
		atomic_store(&p->state, st == ST_DEAD ? ST_DEAD : ST_WAITING);
		return rc;
	}
	hb_reset(p);
	{
		uint64_t v;

		/* The previous peer's death is old news. */
		while (read(p->deadfd, &v, sizeof(v)) < 0 && errno == EINTR)
			;
	}
	atomic_store(&p->why, WHY_NONE);
	atomic_store(&p->state, ST_ALIVE);
	rc = start_watcher(s);
	if (rc)
		return rc;
	s->err[0] = '\0';
	return 0;
}

/* ---- Connector -------------------------------------------------------------- */

/* Is @fd an eventfd? Where /proc is missing, assume so: the worst a wrong
 * fd does is a failed write or a wait that never wakes. */
static bool is_eventfd(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT && access("/proc/self/fd", F_OK) != 0;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}

/* Map the region fd whole and validate it. @expect_bytes: what the
 * handshake said (0: no handshake). */
static int map_region(struct vr_shm *s, int fd, uint64_t expect_bytes)
{
	struct vr__shm *p = s->p;
	struct stat st;
	void *m;
	int rc;

	if (fstat(fd, &st) != 0)
		return oserr(s, "fstat region");
	rc = vr__hs_check_size(S_ISREG(st.st_mode), (uint64_t)st.st_size,
			       expect_bytes, (uint64_t)SIZE_MAX, s->err,
			       sizeof(s->err));
	if (rc)
		return rc;
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return oserr(s, "mmap region");
	p->map = m;
	p->map_len = (size_t)st.st_size;
	rc = vr_region_parse(m, p->map_len, &p->info);
	if (rc) {
		seterr(s, "bad region (%s): %s", vr_errname(rc), vr_strerror(rc));
		return rc;
	}
	return 0;
}

static int handshake_connector(struct vr_shm *s, int fd, uint64_t deadline)
{
	struct vr__shm *p = s->p;
	int fds[MAX_FDS];
	unsigned n = 0, i;
	struct vr__hs_msg m, ack;
	struct vr__hs_hello h;
	int rc;

	rc = recv_msg(fd, &m, fds, MAX_FDS, &n, deadline);
	if (rc == VR_ETIMEDOUT) {
		seterr(s, "connected, but the listener sent nothing in time "
			  "(not accepting?)");
		return rc;
	}
	if (rc == VR_EPEERDEAD) {
		seterr(s, "the listener closed the connection during the handshake");
		return rc;
	}
	if (rc) {
		seterr(s, "malformed handshake message (size or fds)");
		return rc;
	}
	rc = vr__hs_parse_hello(&m, n, &h, s->err, sizeof(s->err));
	if (rc)
		goto fail; /* VR_EPERM (refused) or VR_EIO */
	p->region_fd = fds[0];
	fds[0] = -1;
	/* Whatever arrived must be a memfd sealed against shrinking, or the
	 * listener could truncate it under our mapping (SIGBUS). F_GET_SEALS
	 * fails on anything but a memfd. */
	rc = vr__hs_check_seals(fcntl(p->region_fd, F_GET_SEALS), s->err,
				sizeof(s->err));
	if (rc)
		goto fail;
	rc = map_region(s, p->region_fd, h.region_bytes);
	if (rc)
		goto fail;
	rc = vr__hs_check_region(&h, &p->info, s->err, sizeof(s->err));
	if (rc)
		goto fail;
	for (i = 1; i < n; i++) {
		if (!is_eventfd(fds[i])) {
			seterr(s, "doorbell fd %u is not an eventfd", i);
			rc = VR_EIO;
			goto fail;
		}
		/* Ours to rely on, whatever the listener set. */
		if (fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK) != 0) {
			rc = oserr(s, "fcntl doorbell");
			goto fail;
		}
		p->efd[i - 1] = fds[i];
		fds[i] = -1;
	}
	p->nefd = n - 1;
	p->polling = h.polling;
	p->hb_watch = true; /* every mode: a stopped listener keeps its socket */
	p->heartbeat_ns = h.heartbeat_ns;
	p->liveness_ns = h.liveness_ns;
	p->my_gen = h.generation;
	p->peer_pid = (int)h.pid;

	vr__hs_make_ack(&ack, h.generation, (uint32_t)getpid());
	if (send_msg(fd, &ack, NULL, 0) != (ssize_t)sizeof(ack)) {
		seterr(s, "sending the acknowledgement: %s", strerror(errno));
		rc = errno == EPIPE || errno == ECONNRESET ? VR_EPEERDEAD : VR_EIO;
		goto fail;
	}
	return 0;
fail:
	close_fds(fds, n);
	return rc;
}

/* Connect, retrying while nobody listens yet. */
static int connect_retry(struct vr_shm *s, const char *path, uint64_t deadline,
			 int *out)
{
	struct sockaddr_un a;
	int rc = fill_addr(s, &a, path);

	if (rc)
		return rc;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		uint64_t left;

		if (fd < 0)
			return oserr(s, "socket");
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			*out = fd;
			return 0;
		}
		rc = errno;
		close(fd);
		if (rc == EACCES || rc == EPERM) {
			seterr(s, "connect(%s): %s", path, strerror(rc));
			return VR_EPERM;
		}
		if (rc != ENOENT && rc != ECONNREFUSED && rc != EAGAIN && rc != EINTR) {
			seterr(s, "connect(%s): %s", path, strerror(rc));
			return VR_EIO;
		}
		left = left_ns(deadline);
		if (left == 0) {
			seterr(s, "connect(%s): nobody listening in time (%s)", path,
			       strerror(rc));
			return VR_ETIMEDOUT;
		}
		sleep_ns(left < 5000000 ? left : 5000000);
	}
}

int vr_shm_connect(struct vr_shm *s, const char *socket_path, uint64_t timeout_ns)
{
	uint64_t deadline = deadline_of(timeout_ns);
	struct vr__shm *p;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	int fd = -1, rc;

	if (!s)
		return VR_EINVAL;
	rc = alloc_priv(s, false);
	if (rc)
		return rc;
	p = s->p;
	rc = connect_retry(s, socket_path, deadline, &fd);
	if (rc)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
	    cr.uid != geteuid()) {
		seterr(s, "the listener at %s runs as another user", socket_path);
		rc = VR_EPERM;
		close(fd);
		goto fail;
	}
	rc = handshake_connector(s, fd, deadline);
	if (rc) {
		close(fd);
		goto fail;
	}
	p->csock = fd;
	hb_reset(p);
	atomic_store(&p->state, ST_ALIVE);
	rc = start_watcher(s);
	if (rc)
		goto fail;
	s->t.region = p->map;
	s->t.region_len = p->map_len;
	s->t.flags = p->polling ? VR_TRANSPORT_POLLING : 0;
	s->err[0] = '\0';
	return 0;
fail:
	{
		char keep[VR_SHM_ERR_BYTES];

		memcpy(keep, s->err, sizeof(keep));
		vr_shm_close(s);
		memcpy(s->err, keep, sizeof(keep));
	}
	return rc;
}

int vr_shm_open(struct vr_shm *s, uint32_t backing, const char *path,
		const struct vr_shm_peer_cfg *cfg)
{
	struct vr__shm *p;
	int fd, rc;

	if (!s)
		return VR_EINVAL;
	rc = alloc_priv(s, false);
	if (rc)
		return rc;
	p = s->p;
	if (!path || !path[0] || (backing != VR_SHM_NAMED && backing != VR_SHM_FILE)) {
		seterr(s, "vr_shm_open needs a named or file backing and its path");
		rc = VR_EINVAL;
		goto fail;
	}
	if (backing == VR_SHM_NAMED)
		fd = shm_open(path, O_RDWR, 0);
	else
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		seterr(s, "open(%s): %s", path, strerror(errno));
		rc = VR_EIO;
		goto fail;
	}
	p->region_fd = fd;
	rc = map_region(s, fd, 0);
	if (rc)
		goto fail;
	p->polling = true;
	p->hb_watch = true;
	rc = set_timing(s, cfg ? cfg->heartbeat_ns : 0,
			cfg ? cfg->liveness_timeout_ns : 0);
	if (rc)
		goto fail;
	if (cfg && (cfg->flags & VR_SHM_GUARD_SIGBUS)) {
		rc = guard_add(s);
		if (rc)
			goto fail;
	}
	p->my_gen = p->info.generation;
	hb_reset(p);
	atomic_store(&p->state, ST_ALIVE);
	rc = start_watcher(s);
	if (rc)
		goto fail;
	s->t.region = p->map;
	s->t.region_len = p->map_len;
	s->t.flags = VR_TRANSPORT_POLLING;
	s->err[0] = '\0';
	return 0;
fail:
	{
		char keep[VR_SHM_ERR_BYTES];

		memcpy(keep, s->err, sizeof(keep));
		vr_shm_close(s);
		memcpy(s->err, keep, sizeof(keep));
	}
	return rc;
}

int vr_shm_open_wait(struct vr_shm *s, uint32_t backing, const char *path,
		     const struct vr_shm_peer_cfg *cfg, uint64_t timeout_ns)
{
	uint64_t deadline = deadline_of(timeout_ns);
	char why[VR_SHM_ERR_BYTES];
	int rc;

	if (!s)
		return VR_EINVAL;
	for (;;) {
		uint64_t left;

		rc = vr_shm_open(s, backing, path, cfg);
		if (rc == VR_EINVAL)
			return rc;
		if (rc == 0) {
			/* Attached to a region; a live driver beats within a
			 * period, a dead one left it still. */
			struct vr__shm *p = s->p;
			uint32_t v0 = vr_region_load(p->map, peer_hb(p));
			uint64_t until = earlier(deadline, deadline_of(p->liveness_ns));

			while (vr_region_load(p->map, peer_hb(p)) == v0 &&
			       left_ns(until) > 0 && !atomic_load(&p->faulted))
				sleep_ns(p->heartbeat_ns < 1000000 ? p->heartbeat_ns
								   : 1000000);
			if (!atomic_load(&p->faulted) &&
			    vr_region_load(p->map, peer_hb(p)) != v0) {
				hb_reset(p);
				return 0;
			}
			snprintf(why, sizeof(why), "%.150s: no driver heartbeat", path);
			vr_shm_close(s);
		} else {
			memcpy(why, s->err, sizeof(why));
		}
		left = left_ns(deadline);
		if (left == 0) {
			memset(s, 0, sizeof(*s));
			snprintf(s->err, sizeof(s->err), "no live driver in time (%.160s)", why);
			return VR_ETIMEDOUT;
		}
		sleep_ns(left < 2000000 ? left : 2000000);
	}
}

/* ---- Queries ---------------------------------------------------------------- */

const struct vr_region_info *vr_shm_info(const struct vr_shm *s)
{
	return s && s->p && s->p->map ? &s->p->info : NULL;
}

int vr_shm_peer_pid(const struct vr_shm *s)
{
	return s && s->p ? s->p->peer_pid : 0;
}

const char *vr_shm_last_error(const struct vr_shm *s)
{
	return s ? s->err : "no object";
}

const char *vr_shm_peer_error(const struct vr_shm *s)
{
	static const char *const text[] = {
		"", "socket hang-up", "heartbeat stopped", "region generation changed",
		"backing truncated"
	};
	int w;

	if (!s || !s->p || atomic_load(&s->p->state) != ST_DEAD)
		return "";
	w = atomic_load(&s->p->why);
	return w >= 0 && w <= WHY_SIGBUS ? text[w] : "";
}
