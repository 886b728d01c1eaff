/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vring-ivshmem-server: an ivshmem server speaking QEMU's protocol version
 * 0 (docs/TRANSPORT_IVSHMEM.md; the command line is in usage.h).
 *
 * One thread, one poll loop. Every client socket is non-blocking and every
 * send uses MSG_NOSIGNAL, so a peer dying at any point costs the server
 * nothing but that peer: its messages queue per client (each queued fd a
 * dup the queue owns) and are written as the socket takes them; a client
 * whose queue overflows, that sends anything (clients send nothing in this
 * protocol), or that hangs up, is dropped and its departure announced.
 * Within one poll round departures are handled before new connections, so
 * a peer restarted after a crash is announced after the old one left.
 * Ids are the lowest free one that no connected peer saw leave (QEMU 7.2
 * cannot take a departed id back: see struct server).
 */
#define _GNU_SOURCE

#include <vring/errors.h>
#include <vring/region.h>

#include "../proto.h"
#include "usage.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_PEERS VR__IVP_MAX_SLOTS /* connections at once (slots) */
#define ID_LIMIT VR__IVP_ID_LIMIT    /* ids 0..65535 */
#define MAX_VEC VR__IVP_MAX_VEC
/* Messages queued for one client before it counts as not reading. */
#define QUEUE_LIMIT 16384u

enum backing { B_MEMFD, B_SHM, B_FILE };

struct opts {
	const char *sock;
	uint64_t size;
	bool size_set;
	uint32_t vectors;
	uint32_t max_peers;
	enum backing backing;
	const char *name;
	bool keep;
	int format; /* -1: no region */
	uint32_t qsize, buf_bytes, buf_count;
	bool daemon, verbose;
	int ready_fd;
	const char *pidfile;
};

struct qmsg {
	int64_t value;
	int fd; /* owned by the queue, or -1 */
};

struct client {
	int fd;          /* -1: slot free */
	uint32_t id;     /* the peer id given to it */
	uint64_t serial; /* connection number: who saw which departure */
	int efd[MAX_VEC];
	struct qmsg *q;
	uint32_t qhead, qlen, qcap;
	uint32_t sent;   /* bytes of the head message already written */
};

struct server {
	struct opts o;
	int lsock, sigfd, shmfd;
	struct client c[MAX_PEERS];
	/* Id reuse. QEMU (7.2) frees a departed peer's eventfd array without
	 * forgetting it and writes into it when the same id joins again: a
	 * departed id must not come back while a peer that saw it leave is
	 * still connected. quarantine[id] is the serial that was next when
	 * it left (witnesses have smaller serials); 0: never used, or nobody
	 * saw it leave. */
	uint8_t *in_use;      /* [ID_LIMIT] */
	uint64_t *quarantine; /* [ID_LIMIT] */
	uint64_t next_serial;
	uint32_t connected;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t sock_dev;
	ino_t sock_ino;
	bool made_object, made_pidfile;
};

static void logv(const struct server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logv(const struct server *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->o.verbose)
		return;
	va_start(ap, fmt);
	fputs("vring-ivshmem-server: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vring-ivshmem-server: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

/* ---- Command line ---------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *out, bool suffixes)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	if (suffixes && *end) {
		switch (*end) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		default: return false;
		}
		end++;
	}
	if (*end || v > UINT64_MAX / mul)
		return false;
	*out = (uint64_t)v * mul;
	return true;
}

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v;

	if (!parse_u64(s, &v, false) || v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"socket", required_argument, 0, 'S'},
		{"size", required_argument, 0, 'l'},
		{"vectors", required_argument, 0, 'n'},
		{"max-peers", required_argument, 0, 'p'},
		{"memfd", no_argument, 0, 'm'},
		{"shm", required_argument, 0, 's'},
		{"file", required_argument, 0, 'f'},
		{"keep", no_argument, 0, 'k'},
		{"region", required_argument, 0, 'r'},
		{"queue-size", required_argument, 0, 'q'},
		{"buf-bytes", required_argument, 0, 'b'},
		{"buf-count", required_argument, 0, 'c'},
		{"foreground", no_argument, 0, 'F'},
		{"daemon", no_argument, 0, 'D'},
		{"verbose", no_argument, 0, 'v'},
		{"ready-fd", required_argument, 0, 'R'},
		{"pidfile", required_argument, 0, 'P'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}
	};
	uint32_t u;
	int ch;

	memset(o, 0, sizeof(*o));
	o->vectors = 2;
	o->max_peers = 16;
	o->format = -1;
	o->qsize = 256;
	o->buf_bytes = 2048;
	o->ready_fd = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":S:l:n:p:ms:f:kr:q:b:c:FDvR:P:h", lo,
				 NULL)) != -1) {
		switch (ch) {
		case 'S': o->sock = optarg; break;
		case 'l':
			if (!parse_u64(optarg, &o->size, true) || o->size < 4096 ||
			    (o->size & (o->size - 1)))
				return fail("--size %s: a power of two of at least 4096 "
					    "bytes (K, M, G suffixes)", optarg) + 1;
			o->size_set = true;
			break;
		case 'n':
			if (!parse_u32(optarg, 1, MAX_VEC, &o->vectors))
				return fail("--vectors %s: 1..%u", optarg, MAX_VEC) + 1;
			break;
		case 'p':
			if (!parse_u32(optarg, 1, MAX_PEERS, &o->max_peers))
				return fail("--max-peers %s: 1..%u", optarg, MAX_PEERS) + 1;
			break;
		case 'm': o->backing = B_MEMFD; o->name = NULL; break;
		case 's': o->backing = B_SHM; o->name = optarg; break;
		case 'f': o->backing = B_FILE; o->name = optarg; break;
		case 'k': o->keep = true; break;
		case 'r':
			if (strcmp(optarg, "split") == 0)
				o->format = VR_FORMAT_SPLIT;
			else if (strcmp(optarg, "packed") == 0)
				o->format = VR_FORMAT_PACKED;
			else if (strcmp(optarg, "none") == 0)
				o->format = -1;
			else
				return fail("--region %s: split, packed or none", optarg) + 1;
			break;
		case 'q':
			if (!parse_u32(optarg, 1, 32768, &o->qsize))
				return fail("--queue-size %s: 1..32768", optarg) + 1;
			break;
		case 'b':
			if (!parse_u32(optarg, 1, 1u << 30, &o->buf_bytes))
				return fail("--buf-bytes %s: 1..%u", optarg, 1u << 30) + 1;
			break;
		case 'c':
			if (!parse_u32(optarg, 1, 1u << 24, &o->buf_count))
				return fail("--buf-count %s: 1..%u", optarg, 1u << 24) + 1;
			break;
		case 'F': o->daemon = false; break;
		case 'D': o->daemon = true; break;
		case 'v': o->verbose = true; break;
		case 'R':
			if (!parse_u32(optarg, 0, INT_MAX, &u))
				return fail("--ready-fd %s: a file descriptor", optarg) + 1;
			o->ready_fd = (int)u;
			break;
		case 'P': o->pidfile = optarg; break;
		case 'h': fputs(vr_ivs_usage, stdout); exit(0);
		case ':':
			return fail("option %s needs an argument (--help)", argv[optind - 1]) + 1;
		default:
			return fail("unknown option %s (--help)", argv[optind - 1]) + 1;
		}
	}
	if (optind < argc)
		return fail("unexpected argument %s (--help)", argv[optind]) + 1;
	if (!o->sock)
		return fail("--socket PATH is required (--help)") + 1;
	if (strlen(o->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return fail("--socket %s: path too long", o->sock) + 1;
	if (o->backing == B_SHM && (o->name[0] != '/' || strchr(o->name + 1, '/') ||
				   strlen(o->name) < 2 || strlen(o->name) > NAME_MAX))
		return fail("--shm %s: a name like /NAME (one component)", o->name) + 1;
	if (o->format == VR_FORMAT_SPLIT && (o->qsize & (o->qsize - 1)))
		return fail("--queue-size %u: a split queue size is a power of two",
			    o->qsize) + 1;
	if (!o->buf_count)
		o->buf_count = 2 * o->qsize;
	return 0;
}

/* ---- Shared memory --------------------------------------------------------- */

static int make_object(struct server *s)
{
	struct opts *o = &s->o;
	struct vr_region_cfg rc;
	uint64_t need = 0;
	void *m;
	int fd, r;

	if (o->format >= 0) {
		memset(&rc, 0, sizeof(rc));
		rc.queue_count = 2;
		rc.queue[0].size = rc.queue[1].size = o->qsize;
		rc.queue[0].format = rc.queue[1].format = (uint32_t)o->format;
		rc.buf_bytes = o->buf_bytes;
		rc.buf_count = o->buf_count;
		rc.device_features = VR_FEATURE(VR_F_VERSION_1) |
			VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_INDIRECT_DESC) |
			VR_FEATURE(VR_F_RING_RESET) |
			(o->format == VR_FORMAT_PACKED ? VR_FEATURE(VR_F_RING_PACKED) : 0);
		need = vr_region_bytes(&rc);
		if (need == 0)
			return fail("the region (queue size %u, %u buffers of %u bytes) "
				    "is invalid", o->qsize, o->buf_count, o->buf_bytes);
	}
	if (!o->size_set) {
		o->size = 1u << 20;
		while (o->size < need && o->size < (1ull << 62))
			o->size <<= 1;
	} else if (o->size < need) {
		return fail("--size %llu is smaller than the region (%llu bytes)",
			    (unsigned long long)o->size, (unsigned long long)need);
	}
	if ((uint64_t)(off_t)o->size != o->size || o->size > SIZE_MAX)
		return fail("--size %llu: too large", (unsigned long long)o->size);

	switch (o->backing) {
	case B_MEMFD:
		fd = memfd_create("vring-ivshmem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		break;
	case B_SHM:
		fd = shm_open(o->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		break;
	default:
		fd = open(o->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		break;
	}
	if (fd < 0)
		return fail("creating the shared memory%s%s: %s%s",
			    o->name ? " " : "", o->name ? o->name : "", strerror(errno),
			    errno == EEXIST ? " (remove it, or choose another name)" : "");
	s->shmfd = fd;
	s->made_object = o->backing != B_MEMFD;
	if (ftruncate(fd, (off_t)o->size) != 0)
		return fail("sizing the shared memory to %llu bytes: %s",
			    (unsigned long long)o->size, strerror(errno));
	if (o->backing == B_MEMFD &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		return fail("sealing the memfd: %s", strerror(errno));
	if (o->format < 0)
		return 0;
	m = mmap(NULL, (size_t)o->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return fail("mapping the shared memory: %s", strerror(errno));
	r = vr_region_format(m, (size_t)o->size, &rc, 0, NULL);
	munmap(m, (size_t)o->size);
	if (r)
		return fail("laying out the region: %s", vr_strerror(r));
	return 0;
}

/* ---- Socket ------------------------------------------------------------------ */

static int make_socket(struct server *s)
{
	struct sockaddr_un a;
	struct stat st;
	mode_t old;
	int fd, r;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	strcpy(a.sun_path, s->o.sock);
	if (lstat(a.sun_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return fail("%s exists and is not a socket", a.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return fail("socket: %s", strerror(errno));
		r = connect(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (r == 0)
			return fail("%s is in use by a live server", a.sun_path);
		if (unlink(a.sun_path) != 0)
			return fail("removing the stale socket %s: %s", a.sun_path,
				    strerror(errno));
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fail("socket: %s", strerror(errno));
	s->lsock = fd;
	old = umask(0077);
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r != 0)
		return fail("bind %s: %s", a.sun_path, strerror(errno));
	strcpy(s->sock_path, a.sun_path);
	if (stat(a.sun_path, &st) == 0) {
		s->sock_dev = st.st_dev;
		s->sock_ino = st.st_ino;
	}
	if (listen(fd, 16) != 0)
		return fail("listen %s: %s", a.sun_path, strerror(errno));
	return 0;
}

/* ---- Clients ------------------------------------------------------------------ */

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void drop_client(struct server *s, uint32_t id, const char *why);

/* Queue one message; the queue owns a dup of @fd. False: the client must
 * be dropped (queue full, or no fd left to dup). */
static bool enqueue(struct client *c, int64_t value, int fd)
{
	struct qmsg *m;

	if (c->qlen >= QUEUE_LIMIT)
		return false;
	if (c->qhead + c->qlen == c->qcap) {
		if (c->qhead > 0) {
			memmove(c->q, c->q + c->qhead, c->qlen * sizeof(*c->q));
			c->qhead = 0;
		} else {
			uint32_t ncap = c->qcap ? 2 * c->qcap : 64;
			struct qmsg *nq = realloc(c->q, ncap * sizeof(*nq));

			if (!nq)
				return false;
			c->q = nq;
			c->qcap = ncap;
		}
	}
	m = &c->q[c->qhead + c->qlen];
	m->value = value;
	m->fd = -1;
	if (fd >= 0) {
		m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (m->fd < 0)
			return false;
	}
	c->qlen++;
	return true;
}

/* Write what the socket takes. False: the client is gone or broken. */
static bool flush(struct client *c)
{
	while (c->qlen) {
		struct qmsg *m = &c->q[c->qhead];
		unsigned char b[VR__IVP_MSG_BYTES];
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		struct iovec iov;
		struct msghdr mh;
		ssize_t r;

		vr__ivp_encode(m->value, b);
		iov.iov_base = b + c->sent;
		iov.iov_len = sizeof(b) - c->sent;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (m->fd >= 0 && c->sent == 0) {
			struct cmsghdr *ch;

			memset(&u, 0, sizeof(u));
			mh.msg_control = u.buf;
			mh.msg_controllen = sizeof(u.buf);
			ch = CMSG_FIRSTHDR(&mh);
			ch->cmsg_level = SOL_SOCKET;
			ch->cmsg_type = SCM_RIGHTS;
			ch->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(ch), &m->fd, sizeof(int));
		}
		r = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		c->sent += (uint32_t)r;
		if (c->sent < sizeof(b))
			continue;
		c->sent = 0;
		close_fd(&m->fd);
		c->qhead++;
		c->qlen--;
	}
	c->qhead = 0;
	return true;
}

static void free_client(struct client *c)
{
	uint32_t i;

	close_fd(&c->fd);
	for (i = 0; i < MAX_VEC; i++)
		close_fd(&c->efd[i]);
	for (i = 0; i < c->qlen; i++)
		close_fd(&c->q[c->qhead + i].fd);
	free(c->q);
	c->q = NULL;
	c->qhead = c->qlen = c->qcap = c->sent = 0;
}

/* Tell every client but the one in slot @who about peer @id: its vectors
 * (it joined; @who is its slot) or its departure (@who is -1). Those that
 * cannot take it are dropped afterwards (dropping announces, so not from
 * inside). */
static void broadcast(struct server *s, int who, uint32_t id)
{
	bool bad[MAX_PEERS] = {false};
	uint32_t i, v;

	for (i = 0; i < MAX_PEERS; i++) {
		struct client *c = &s->c[i];

		if (c->fd < 0 || (int)i == who)
			continue;
		if (who < 0) {
			bad[i] = !enqueue(c, id, -1);
		} else {
			for (v = 0; v < s->o.vectors && !bad[i]; v++)
				bad[i] = !enqueue(c, id, s->c[who].efd[v]);
		}
		if (!bad[i])
			bad[i] = !flush(c);
	}
	for (i = 0; i < MAX_PEERS; i++)
		if (bad[i] && s->c[i].fd >= 0)
			drop_client(s, i, "cannot take messages (hung up or not reading)");
}

/* Release the slot and the id of a client that was never announced. */
static void forget_client(struct server *s, uint32_t slot)
{
	s->in_use[s->c[slot].id] = 0;
	free_client(&s->c[slot]);
	s->connected--;
}

static void drop_client(struct server *s, uint32_t slot, const char *why)
{
	uint32_t id = s->c[slot].id;

	forget_client(s, slot);
	/* Everyone still here saw it leave: the id rests until they are gone. */
	s->quarantine[id] = s->connected ? s->next_serial : 0;
	logv(s, "peer %u left: %s", id, why);
	broadcast(s, -1, id);
}

/* The lowest id that is free and that no connected peer saw leave, or -1. */
static int64_t pick_id(const struct server *s)
{
	uint64_t oldest = UINT64_MAX;
	uint32_t i;

	for (i = 0; i < MAX_PEERS; i++)
		if (s->c[i].fd >= 0 && s->c[i].serial < oldest)
			oldest = s->c[i].serial;
	for (i = 0; i < ID_LIMIT; i++)
		if (!s->in_use[i] && (s->quarantine[i] == 0 || s->quarantine[i] <= oldest))
			return i;
	return -1;
}

static void accept_one(struct server *s)
{
	struct client *c;
	uint32_t id, slot, i, v;
	int64_t nid;
	int fd;

	fd = accept4(s->lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			logv(s, "accept: %s", strerror(errno));
		return;
	}
	if (s->connected >= s->o.max_peers) {
		logv(s, "refused a peer: %u peers already", s->o.max_peers);
		close(fd);
		return;
	}
	nid = pick_id(s);
	if (nid < 0) {
		logv(s, "refused a peer: every id is free only for peers that did not see "
			"it leave");
		close(fd);
		return;
	}
	id = (uint32_t)nid;
	for (slot = 0; s->c[slot].fd >= 0; slot++)
		;
	c = &s->c[slot];
	c->fd = fd;
	c->id = id;
	c->serial = s->next_serial++;
	s->in_use[id] = 1;
	s->connected++;
	for (v = 0; v < s->o.vectors; v++) {
		c->efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->efd[v] < 0) {
			logv(s, "refused a peer: eventfd: %s", strerror(errno));
			forget_client(s, slot);
			return;
		}
	}
	/* The new peer: version, its id, the memory, everyone's vectors, its
	 * own last. */
	bool ok = enqueue(c, 0 /* protocol version */, -1) &&
		  enqueue(c, id, -1) && enqueue(c, -1, s->shmfd);
	for (i = 0; ok && i < MAX_PEERS; i++) {
		if (i == slot || s->c[i].fd < 0)
			continue;
		for (v = 0; ok && v < s->o.vectors; v++)
			ok = enqueue(c, s->c[i].id, s->c[i].efd[v]);
	}
	for (v = 0; ok && v < s->o.vectors; v++)
		ok = enqueue(c, id, c->efd[v]);
	if (!ok || !flush(c)) {
		/* Nobody heard of it: the id is free again at once. */
		logv(s, "peer %u dropped during set-up", id);
		forget_client(s, slot);
		return;
	}
	logv(s, "peer %u joined", id);
	broadcast(s, (int)slot, id);
}

/* A client's socket is readable or hung up. Clients send nothing. */
static void client_event(struct server *s, uint32_t slot, short rev)
{
	struct client *c = &s->c[slot];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} u;
	char junk[64];
	struct iovec iov = {junk, sizeof(junk)};
	struct msghdr mh;
	struct cmsghdr *ch;
	ssize_t r;

	if (rev & POLLOUT) {
		if (!flush(c)) {
			drop_client(s, slot, "send failed");
			return;
		}
	}
	if (!(rev & (POLLIN | POLLHUP | POLLERR | POLLNVAL | POLLRDHUP)))
		return;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	r = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* Whatever fds came along are closed, whatever happens next. */
	for (ch = r >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; ch; ch = CMSG_NXTHDR(&mh, ch)) {
		if (ch->cmsg_level == SOL_SOCKET && ch->cmsg_type == SCM_RIGHTS) {
			size_t n = (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int), k;

			for (k = 0; k < n; k++) {
				int f;

				memcpy(&f, CMSG_DATA(ch) + k * sizeof(int), sizeof(int));
				close(f);
			}
		}
	}
	if (r > 0)
		drop_client(s, slot, "it sent data (the protocol has clients send nothing)");
	else
		drop_client(s, slot, r == 0 ? "hang-up" : strerror(errno));
}

/* ---- Main loop ---------------------------------------------------------------- */

static int serve(struct server *s)
{
	for (;;) {
		struct pollfd pf[2 + MAX_PEERS];
		uint32_t map[MAX_PEERS];
		nfds_t n = 2, k;
		uint32_t i;

		pf[0].fd = s->sigfd;
		pf[0].events = POLLIN;
		pf[1].fd = s->lsock;
		pf[1].events = POLLIN;
		for (i = 0; i < MAX_PEERS; i++) {
			if (s->c[i].fd < 0)
				continue;
			pf[n].fd = s->c[i].fd;
			pf[n].events = POLLIN | POLLRDHUP |
				       (s->c[i].qlen ? POLLOUT : 0);
			map[n - 2] = i;
			n++;
		}
		for (k = 0; k < n; k++)
			pf[k].revents = 0;
		if (poll(pf, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail("poll: %s", strerror(errno));
		}
		if (pf[0].revents) {
			struct signalfd_siginfo si;

			if (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				logv(s, "signal %u: exiting", si.ssi_signo);
			return 0;
		}
		/* Departures first, then newcomers. */
		for (k = 2; k < n; k++)
			if (pf[k].revents && s->c[map[k - 2]].fd == pf[k].fd)
				client_event(s, map[k - 2], pf[k].revents);
		if (pf[1].revents & POLLIN)
			accept_one(s);
	}
}

static void cleanup(struct server *s)
{
	struct stat st;
	uint32_t i;

	for (i = 0; i < MAX_PEERS; i++)
		free_client(&s->c[i]);
	close_fd(&s->lsock);
	close_fd(&s->shmfd);
	close_fd(&s->sigfd);
	/* Only the socket this server bound: a newer server may own the path. */
	if (s->sock_path[0] && stat(s->sock_path, &st) == 0 &&
	    st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
		unlink(s->sock_path);
	if (s->made_object && !s->o.keep) {
		if (s->o.backing == B_SHM)
			shm_unlink(s->o.name);
		else
			unlink(s->o.name);
	}
	if (s->made_pidfile)
		unlink(s->o.pidfile);
}

static int announce_ready(struct server *s)
{
	if (s->o.pidfile) {
		FILE *f = fopen(s->o.pidfile, "w");

		if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0)
			return fail("writing the pidfile %s: %s", s->o.pidfile,
				    strerror(errno));
		s->made_pidfile = true;
	}
	if (s->o.ready_fd >= 0) {
		if (write(s->o.ready_fd, "ready\n", 6) != 6)
			return fail("writing to --ready-fd %d: %s", s->o.ready_fd,
				    strerror(errno));
		close(s->o.ready_fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct server s;
	sigset_t mask;
	uint32_t i, v;
	int rc;

	memset(&s, 0, sizeof(s));
	s.lsock = s.sigfd = s.shmfd = -1;
	s.next_serial = 1;
	for (i = 0; i < MAX_PEERS; i++) {
		s.c[i].fd = -1;
		for (v = 0; v < MAX_VEC; v++)
			s.c[i].efd[v] = -1;
	}
	rc = parse_opts(argc, argv, &s.o);
	if (rc)
		return rc;
	s.in_use = calloc(ID_LIMIT, 1);
	s.quarantine = calloc(ID_LIMIT, sizeof(*s.quarantine));
	if (!s.in_use || !s.quarantine) {
		free(s.in_use);
		free(s.quarantine);
		return fail("out of memory");
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (s.o.ready_fd >= 0 && fcntl(s.o.ready_fd, F_GETFD) < 0)
		rc = fail("--ready-fd %d is not open", s.o.ready_fd);
	else if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
		 (s.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		rc = fail("signalfd: %s", strerror(errno));
	if (!rc)
		rc = make_object(&s);
	if (!rc)
		rc = make_socket(&s);
	if (!rc && s.o.daemon) {
		pid_t pid = fork();

		if (pid < 0) {
			rc = fail("fork: %s", strerror(errno));
		} else if (pid > 0) {
			/* The child owns everything now. */
			_exit(0);
		} else {
			int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

			setsid();
			if (nul >= 0) {
				dup2(nul, 0);
				dup2(nul, 1);
				close(nul);
			}
		}
	}
	if (!rc)
		rc = announce_ready(&s);
	if (!rc) {
		logv(&s, "listening on %s: %llu bytes (%s%s), %u vectors, %u peers at most%s",
		     s.o.sock, (unsigned long long)s.o.size,
		     s.o.backing == B_MEMFD ? "memfd" : s.o.name,
		     s.o.backing == B_MEMFD ? "" : "",
		     s.o.vectors, s.o.max_peers,
		     s.o.format < 0 ? "" : s.o.format == VR_FORMAT_SPLIT
						  ? ", split region" : ", packed region");
		rc = serve(&s);
	}
	cleanup(&s);
	free(s.in_use);
	free(s.quarantine);
	return rc ? 1 : 0;
}
