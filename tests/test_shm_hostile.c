/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Faults a hostile or broken peer process causes through the host
 * shared-memory transport (docs/HOSTILE.md, docs/TRANSPORT_SHM.md), each
 * played by a real forked process:
 *
 *   - a listener that hands the connector a plain file instead of a sealed
 *     memfd, then truncates it (the connector must refuse the file, not die
 *     of SIGBUS); a backing opened by path and truncated under the opt-in
 *     SIGBUS guard (the peer is reported dead, the process lives);
 *   - a device stopped with SIGSTOP in polling mode over a socket, declared
 *     dead, resumed with SIGCONT after the driver reset the rings: it must
 *     see VR_EPEERDEAD and write nothing into the new session;
 *   - a silent connection queued before the real peer: accept drops it
 *     after a short handshake timeout and attaches the real peer;
 *   - a peer stopped (not dead) in doorbell mode: VR_EPEERDEAD within the
 *     liveness timeout, while a peer asleep in a wait stays alive;
 *   - a device that opens a region by path before the driver has created
 *     it, waiting with a timeout.
 *
 * Every child is forked at the start of its test, before the parent starts
 * any transport thread (ThreadSanitizer refuses a fork of a threaded
 * process), waits on a gate pipe, reports through a second pipe and its
 * exit status, and dies by alarm() if anything hangs. Time bounds are
 * generous (seconds against timeouts of a few hundred milliseconds): the
 * tests must pass on a loaded two-core machine and under the sanitizers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vring/channel.h>
#include <vring/shm.h>

#include "../transports/shm/handshake.h"

#define SEC 1000000000ull
#define MS 1000000ull

/* ---- Fixture ---------------------------------------------------------------- */

struct kid {
	pid_t pid;
	int gate;   /* write end: one byte lets the child go (more: later steps) */
	int report; /* read end: the child's progress bytes */
};

struct fx {
	char dir[64];
	char sock[128];
	char file[128];
	struct kid kids[4];
	int nkids;
};

/* In a child: the read end of its gate and the write end of its report. */
static int child_gate = -1, child_report = -1;

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/vrhost.XXXXXX");
	if (!mkdtemp(f.dir))
		return -1;
	snprintf(f.sock, sizeof(f.sock), "%s/sock", f.dir);
	snprintf(f.file, sizeof(f.file), "%s/region", f.dir);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = (struct fx *)*state;
	DIR *d;
	struct dirent *e;
	int i;

	for (i = 0; i < f->nkids; i++) {
		if (f->kids[i].pid > 0) {
			kill(f->kids[i].pid, SIGKILL);
			kill(f->kids[i].pid, SIGCONT);
			waitpid(f->kids[i].pid, NULL, 0);
		}
		close(f->kids[i].gate);
		close(f->kids[i].report);
	}
	f->nkids = 0;
	d = opendir(f->dir);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			char p[512];

			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(f->dir);
	return 0;
}

#define CHK(c)                                                                 \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "child %ld: %s:%d: %s\n", (long)getpid(), \
				__FILE__, __LINE__, #c);                       \
			_exit(100);                                            \
		}                                                              \
	} while (0)

typedef int (*child_fn)(struct fx *f, void *arg);

static int spawn(struct fx *f, child_fn fn, void *arg)
{
	int g[2], r[2], k = f->nkids;
	pid_t pid;

	assert_true(k < 4);
	fflush(stdout);
	fflush(stderr);
	assert_int_equal(pipe(g), 0);
	assert_int_equal(pipe(r), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;

		/* cmocka's handlers would turn a crash into a test report and
		 * go on running the suite in the child: die as a process. */
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		alarm(30);
		close(g[1]);
		close(r[0]);
		child_gate = g[0];
		child_report = r[1];
		if (read(g[0], &c, 1) != 1)
			_exit(99); /* the parent gave up */
		_exit(fn(f, arg));
	}
	close(g[0]);
	close(r[1]);
	f->kids[k].pid = pid;
	f->kids[k].gate = g[1];
	f->kids[k].report = r[0];
	f->nkids++;
	return k;
}

static void go(struct fx *f, int k)
{
	assert_int_equal(write(f->kids[k].gate, "g", 1), 1);
}

/* Parent: the child's next progress byte, within @ms (0 on timeout). */
static char heard(struct fx *f, int k, int ms)
{
	struct pollfd pf = {f->kids[k].report, POLLIN, 0};
	char c = 0;

	if (poll(&pf, 1, ms) == 1 && read(f->kids[k].report, &c, 1) == 1)
		return c;
	return 0;
}

/* Child: report progress / wait for the parent's next step. */
static void say(char c)
{
	CHK(write(child_report, &c, 1) == 1);
}

static void await_parent(void)
{
	char c;

	CHK(read(child_gate, &c, 1) == 1);
}

static int reap(struct fx *f, int k)
{
	int st = 0;

	assert_int_equal(waitpid(f->kids[k].pid, &st, 0), f->kids[k].pid);
	f->kids[k].pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void region_cfg(struct vr_region_cfg *r)
{
	memset(r, 0, sizeof(*r));
	r->queue_count = 2;
	r->queue[0].size = 16;
	r->queue[0].format = VR_FORMAT_SPLIT;
	r->queue[1].size = 16;
	r->queue[1].format = VR_FORMAT_SPLIT;
	r->buf_bytes = 64;
	r->buf_count = 16;
}

static void base_cfg(struct vr_shm_cfg *c, struct fx *f, uint32_t flags)
{
	memset(c, 0, sizeof(*c));
	region_cfg(&c->region);
	c->backing = VR_SHM_MEMFD;
	c->flags = flags;
	c->socket_path = f->sock;
}

/* A channel end on an attached transport; the device retries while the
 * driver is not ready. */
static int chan_open(struct vr_chan *ch, struct vr_shm *s, void **state)
{
	size_t n = vr_chan_state_size(&s->t);
	struct vr_chan_cfg cfg;
	uint64_t t0 = now_ns();
	int rc;

	if (n == 0)
		return VR_EREGION;
	*state = aligned_alloc(64, (n + 63) & ~(size_t)63);
	if (!*state)
		return VR_EIO;
	memset(&cfg, 0, sizeof(cfg));
	do {
		rc = vr_chan_open(ch, &s->t, &cfg, *state, n);
		if (rc != VR_EAGAIN)
			return rc;
		sleep_ms(1);
	} while (now_ns() - t0 < 5 * SEC);
	return rc;
}

/* ---- 1. A plain file instead of a sealed memfd, then truncated ---------------- */

static int send_fds(int sock, const void *msg, size_t len, const int *fds,
		    unsigned n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} u;
	struct iovec iov = {(void *)(uintptr_t)msg, len};
	struct msghdr mh;
	struct cmsghdr *c;

	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* The connector: attach, then (if it was let in) touch the end of the
 * region after the listener truncated it. Exit 0 when it refused. */
static int truncated_victim(struct fx *f, void *arg)
{
	struct vr_shm s;
	int rc;

	(void)arg;
	rc = vr_shm_connect(&s, f->sock, 10 * SEC);
	if (rc == 0) {
		volatile const unsigned char *p;
		unsigned char x;

		say('a');
		await_parent(); /* the file is truncated now */
		p = (volatile const unsigned char *)s.t.region;
		x = p[s.t.region_len - 1]; /* SIGBUS */
		(void)x;
		vr_shm_close(&s);
		return 1;
	}
	if (rc != VR_EREGION || !strstr(vr_shm_last_error(&s), "sealed"))
		fprintf(stderr, "connect: %s: %s\n", vr_errname(rc),
			vr_shm_last_error(&s));
	return rc == VR_EREGION && strstr(vr_shm_last_error(&s), "sealed") ? 0 : 2;
}

static void test_plain_file_refused(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_region_cfg rc;
	struct vr__hs_hello h;
	struct vr__hs_msg m;
	struct sockaddr_un a;
	int k, lsock, c, fd, fds[5], i;
	uint64_t bytes;
	void *map;
	char ack[256];

	k = spawn(f, truncated_victim, NULL);
	/* The hostile listener: a regular file, laid out as a good region. */
	region_cfg(&rc);
	bytes = vr_region_bytes(&rc);
	fd = open(f->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)bytes), 0);
	map = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(vr_region_format(map, (size_t)bytes, &rc, 1, NULL), 0);
	munmap(map, (size_t)bytes);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, f->sock, strlen(f->sock) + 1);
	lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(lsock >= 0);
	assert_int_equal(bind(lsock, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lsock, 4), 0);
	go(f, k);
	c = accept(lsock, NULL, NULL);
	assert_true(c >= 0);
	memset(&h, 0, sizeof(h));
	h.region_bytes = bytes;
	h.queue_count = 2;
	h.generation = 1;
	h.nfds = 5;
	h.pid = (uint32_t)getpid();
	h.heartbeat_ns = VR_SHM_HEARTBEAT_DEFAULT_NS;
	h.liveness_ns = VR_SHM_LIVENESS_DEFAULT_NS;
	vr__hs_make_hello(&m, &h);
	fds[0] = fd;
	for (i = 1; i < 5; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(send_fds(c, &m, sizeof(m), fds, 5), 0);
	for (i = 1; i < 5; i++)
		close(fds[i]);
	/* An ACK, or the hang-up of a connector that refused. */
	(void)!recv(c, ack, sizeof(ack), 0);
	/* Pull the file from under the mapping. */
	assert_int_equal(ftruncate(fd, 0), 0);
	if (heard(f, k, 10000) == 'a')
		go(f, k); /* attached (the bug): let it touch the region */
	i = reap(f, k);
	if (i != 0)
		print_error("connector exit status %d (%d = SIGBUS)\n", i, 128 + SIGBUS);
	assert_int_equal(i, 0);
	close(c);
	close(fd);
	close(lsock);
}

/* ---- 2. A stopped device resumed after the driver moved on ---------------------- */

static int stopped_device(struct fx *f, void *arg)
{
	struct vr_shm s;
	struct vr_chan ch;
	void *st = NULL;
	uint32_t m, i;
	int rc;

	(void)arg;
	CHK(vr_shm_connect(&s, f->sock, 10 * SEC) == 0);
	CHK(chan_open(&ch, &s, &st) == 0);
	for (i = 0; i < 3; i++) {
		CHK(vr_chan_recv(&ch, &m, sizeof(m), 10 * SEC) == 4);
		CHK(m == i);
	}
	say('r');
	/* Stopped in here, resumed after the driver reset the rings. */
	rc = vr_chan_recv(&ch, &m, sizeof(m), 20 * SEC);
	if (rc != VR_EPEERDEAD)
		fprintf(stderr, "stale device: recv gave %d (%s), m = %u\n", rc,
			rc < 0 ? vr_errname(rc) : "a message", m);
	/* And stays out: no call of a stale device touches the rings. */
	CHK(vr_chan_send(&ch, &m, sizeof(m), 0) == VR_EPEERDEAD);
	free(st);
	return rc == VR_EPEERDEAD ? 0 : 1;
}

static int second_device(struct fx *f, void *arg)
{
	struct vr_shm s;
	struct vr_chan ch;
	void *st = NULL;
	uint32_t m, i;

	(void)arg;
	CHK(vr_shm_connect(&s, f->sock, 10 * SEC) == 0);
	CHK(chan_open(&ch, &s, &st) == 0);
	/* The two messages the stopped device never took, once each. */
	for (i = 3; i < 5; i++) {
		CHK(vr_chan_recv(&ch, &m, sizeof(m), 10 * SEC) == 4);
		CHK(m == i);
	}
	CHK(vr_chan_recv(&ch, &m, sizeof(m), 50 * MS) == VR_ETIMEDOUT);
	m = 77;
	CHK(vr_chan_send(&ch, &m, sizeof(m), 10 * SEC) == 0);
	say('d');
	await_parent();
	vr_shm_close(&s);
	free(st);
	return 0;
}

static void test_stopped_device_resumed(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm_cfg c;
	struct vr_shm s;
	struct vr_chan ch;
	const struct vr_region_info *in;
	unsigned char *before;
	void *st = NULL;
	uint32_t m, i, dev_status;
	uint64_t t0;
	size_t rings;
	int ka, kb;

	ka = spawn(f, stopped_device, NULL);
	kb = spawn(f, second_device, NULL);
	base_cfg(&c, f, VR_SHM_POLLING);
	/* Long enough that no loaded machine declares a living peer dead. */
	c.heartbeat_ns = 10 * MS;
	c.liveness_timeout_ns = 1000 * MS;
	assert_int_equal(vr_shm_listen(&s, &c), 0);
	assert_int_equal(chan_open(&ch, &s, &st), 0);
	go(f, ka);
	assert_int_equal(vr_shm_accept(&s, 10 * SEC), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(vr_chan_send(&ch, &i, sizeof(i), SEC), 0);
	assert_int_equal(heard(f, ka, 10000), 'r');
	sleep_ms(20); /* into its wait */
	assert_int_equal(kill(f->kids[ka].pid, SIGSTOP), 0);
	for (i = 3; i < 5; i++)
		assert_int_equal(vr_chan_send(&ch, &i, sizeof(i), SEC), 0);
	/* Its heartbeat stops: dead within the liveness timeout (bound
	 * generous for a loaded machine). */
	t0 = now_ns();
	while (s.t.ops->peer_state(&s.t) != VR_EPEERDEAD && now_ns() - t0 < 10 * SEC)
		sleep_ms(2);
	assert_int_equal(s.t.ops->peer_state(&s.t), VR_EPEERDEAD);
	assert_string_equal(vr_shm_peer_error(&s), "heartbeat stopped");
	/* New session: the three it acknowledged stay acknowledged, the two
	 * it never took are submitted again. */
	assert_int_equal(vr_chan_reset(&ch), 0);
	assert_int_equal(vr_chan_stats(&ch).resubmitted, 2);
	/* Everything the device side could write into: the rings. */
	in = vr_shm_info(&s);
	rings = (size_t)(in->stats_off - VR_REGION_HEADER_BYTES);
	before = malloc(rings);
	assert_non_null(before);
	memcpy(before, (unsigned char *)s.t.region + VR_REGION_HEADER_BYTES, rings);
	dev_status = vr_region_load(s.t.region, VR_RH_DEVICE_STATUS);
	/* Resume the stale device before the new one attaches. */
	assert_int_equal(kill(f->kids[ka].pid, SIGCONT), 0);
	i = (uint32_t)reap(f, ka);
	assert_int_equal(i, 0);
	assert_int_equal(vr_region_load(s.t.region, VR_RH_DEVICE_STATUS), dev_status);
	assert_memory_equal(before, (unsigned char *)s.t.region + VR_REGION_HEADER_BYTES,
			    rings);
	free(before);
	/* The new device gets exactly the two, and the session works. */
	go(f, kb);
	assert_int_equal(vr_shm_accept(&s, 10 * SEC), 0);
	assert_int_equal(vr_chan_recv(&ch, &m, sizeof(m), 10 * SEC), 4);
	assert_int_equal(m, 77);
	assert_int_equal(heard(f, kb, 10000), 'd');
	go(f, kb);
	assert_int_equal(reap(f, kb), 0);
	vr_shm_close(&s);
	free(st);
}

/* ---- 3. A silent connection queued before the real peer -------------------------- */

static int silent_peer(struct fx *f, void *arg)
{
	struct sockaddr_un a;
	int fd;

	(void)arg;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, f->sock, strlen(f->sock) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHK(fd >= 0);
	CHK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	say('s');
	for (;;)
		pause(); /* never reads, never answers */
	return 1;
}

static int real_peer(struct fx *f, void *arg)
{
	struct vr_shm s;
	int rc;

	(void)arg;
	rc = vr_shm_connect(&s, f->sock, 15 * SEC);
	if (rc)
		fprintf(stderr, "real peer: %s\n", vr_shm_last_error(&s));
	CHK(rc == 0);
	say('c');
	await_parent();
	vr_shm_close(&s);
	return 0;
}

static void test_silent_connection_skipped(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm_cfg c;
	struct vr_shm s;
	uint64_t t0, dt;
	int ks, kr, rc;

	ks = spawn(f, silent_peer, NULL);
	kr = spawn(f, real_peer, NULL);
	base_cfg(&c, f, 0);
	assert_int_equal(vr_shm_listen(&s, &c), 0);
	go(f, ks);
	assert_int_equal(heard(f, ks, 10000), 's');
	go(f, kr);
	sleep_ms(100); /* the real peer queues behind the silent one */
	t0 = now_ns();
	rc = vr_shm_accept(&s, 30 * SEC);
	dt = now_ns() - t0;
	if (rc)
		print_error("accept: %s\n", vr_shm_last_error(&s));
	assert_int_equal(rc, 0);
	assert_int_equal(vr_shm_peer_pid(&s), f->kids[kr].pid);
	/* The silent one cost one handshake timeout, not the accept's. */
	assert_true(dt < 15 * SEC);
	assert_int_equal(heard(f, kr, 10000), 'c');
	go(f, kr);
	assert_int_equal(reap(f, kr), 0);
	vr_shm_close(&s);
}

/* ---- 4. A stopped peer in doorbell mode --------------------------------------------- */

static int doorbell_device(struct fx *f, void *arg)
{
	struct vr_shm s;
	uint64_t t0;

	(void)arg;
	CHK(vr_shm_connect(&s, f->sock, 10 * SEC) == 0);
	say('c');
	/* Asleep in waits: alive all the same. */
	t0 = now_ns();
	while (now_ns() - t0 < 20 * SEC)
		CHK(s.t.ops->wait(&s.t, 0, SEC) == VR_ETIMEDOUT);
	return 0;
}

static void test_stopped_peer_doorbell(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm_cfg c;
	struct vr_shm s;
	uint64_t t0, dt;
	int k, rc;

	k = spawn(f, doorbell_device, NULL);
	base_cfg(&c, f, 0);
	c.heartbeat_ns = 10 * MS;
	c.liveness_timeout_ns = 1000 * MS;
	assert_int_equal(vr_shm_listen(&s, &c), 0);
	go(f, k);
	assert_int_equal(vr_shm_accept(&s, 10 * SEC), 0);
	assert_int_equal(heard(f, k, 10000), 'c');
	/* Both asleep in waits, longer than the liveness timeout: alive. */
	assert_int_equal(s.t.ops->wait(&s.t, 1, 1500 * MS), VR_ETIMEDOUT);
	assert_int_equal(s.t.ops->peer_state(&s.t), VR_PEER_ALIVE);
	/* Stopped, not dead: the socket stays open. A wait without a limit
	 * returns VR_EPEERDEAD once the heartbeat is still. */
	assert_int_equal(kill(f->kids[k].pid, SIGSTOP), 0);
	t0 = now_ns();
	rc = s.t.ops->wait(&s.t, 1, 8 * SEC);
	dt = now_ns() - t0;
	assert_int_equal(rc, VR_EPEERDEAD);
	assert_true(dt < 5 * SEC);
	assert_string_equal(vr_shm_peer_error(&s), "heartbeat stopped");
	assert_int_equal(s.t.ops->notify(&s.t, 0), VR_EPEERDEAD);
	vr_shm_close(&s);
}

/* The other direction: a stopped listener, seen by the connector. */
static int doorbell_listener(struct fx *f, void *arg)
{
	struct vr_shm_cfg c;
	struct vr_shm s;

	(void)arg;
	base_cfg(&c, f, 0);
	c.heartbeat_ns = 10 * MS;
	c.liveness_timeout_ns = 1000 * MS;
	CHK(vr_shm_listen(&s, &c) == 0);
	CHK(vr_shm_accept(&s, 10 * SEC) == 0);
	say('a');
	for (;;)
		(void)s.t.ops->wait(&s.t, 0, SEC);
	return 1;
}

static void test_stopped_listener_doorbell(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm s;
	uint64_t t0, dt;
	int k, rc;

	k = spawn(f, doorbell_listener, NULL);
	go(f, k);
	assert_int_equal(vr_shm_connect(&s, f->sock, 10 * SEC), 0);
	assert_int_equal(heard(f, k, 10000), 'a');
	assert_int_equal(s.t.ops->wait(&s.t, 0, 1500 * MS), VR_ETIMEDOUT);
	assert_int_equal(s.t.ops->peer_state(&s.t), VR_PEER_ALIVE);
	assert_int_equal(kill(f->kids[k].pid, SIGSTOP), 0);
	t0 = now_ns();
	rc = s.t.ops->wait(&s.t, 0, 8 * SEC);
	dt = now_ns() - t0;
	assert_int_equal(rc, VR_EPEERDEAD);
	assert_true(dt < 5 * SEC);
	assert_string_equal(vr_shm_peer_error(&s), "heartbeat stopped");
	vr_shm_close(&s);
}

/* ---- 1b. A backing opened by path, truncated under the SIGBUS guard ------------- */

struct guard_arg {
	uint32_t flags; /* VR_SHM_GUARD_SIGBUS, or 0 */
};

/* A device that starts before the driver (vr_shm_open_wait), then touches
 * its mapping after the file was truncated. */
static int truncated_opener(struct fx *f, void *arg)
{
	struct guard_arg *a = (struct guard_arg *)arg;
	struct vr_shm_peer_cfg pc;
	volatile unsigned char *p;
	struct vr_shm s;
	unsigned char x;
	int rc;

	memset(&pc, 0, sizeof(pc));
	pc.flags = a->flags;
	rc = vr_shm_open_wait(&s, VR_SHM_FILE, f->file, &pc, 10 * SEC);
	if (rc)
		fprintf(stderr, "open_wait: %s\n", vr_shm_last_error(&s));
	CHK(rc == 0);
	CHK(s.t.ops->peer_state(&s.t) == VR_PEER_ALIVE);
	say('o');
	await_parent(); /* truncated now */
	p = (volatile unsigned char *)s.t.region;
	x = p[s.t.region_len - 1]; /* SIGBUS, unless guarded */
	p[s.t.region_len - 1] = (unsigned char)(x + 1);
	CHK(x == 0);
	CHK(s.t.ops->peer_state(&s.t) == VR_EPEERDEAD);
	CHK(strcmp(vr_shm_peer_error(&s), "backing truncated") == 0);
	CHK(s.t.ops->wait(&s.t, 0, SEC) == VR_EPEERDEAD);
	vr_shm_close(&s);
	return 0;
}

static void truncated_by_path(struct fx *f, uint32_t flags, int *status)
{
	struct guard_arg a = {flags};
	struct vr_shm_cfg c;
	struct vr_shm s;
	volatile const unsigned char *p;
	unsigned char x;
	uint64_t t0;
	int k;

	k = spawn(f, truncated_opener, &a);
	go(f, k); /* it waits for the file */
	sleep_ms(100);
	/* This end is guarded either way: the device's @flags are the test. */
	base_cfg(&c, f, VR_SHM_POLLING | VR_SHM_UNLINK_BACKING | VR_SHM_GUARD_SIGBUS);
	c.backing = VR_SHM_FILE;
	c.path = f->file;
	c.socket_path = NULL;
	assert_int_equal(vr_shm_listen(&s, &c), 0);
	assert_int_equal(vr_shm_accept(&s, 10 * SEC), 0);
	assert_int_equal(heard(f, k, 10000), 'o');
	assert_int_equal(truncate(f->file, 0), 0);
	go(f, k);
	*status = reap(f, k);
	/* This end survives too: its thread reads the heartbeat every
	 * period, faults, and the region turns into zero pages. (Asked
	 * first, so that this read comes after that remapping: to
	 * ThreadSanitizer the mmap is a write.) */
	t0 = now_ns();
	while (s.t.ops->peer_state(&s.t) != VR_EPEERDEAD && now_ns() - t0 < 5 * SEC)
		sleep_ms(1);
	assert_int_equal(s.t.ops->peer_state(&s.t), VR_EPEERDEAD);
	p = (volatile const unsigned char *)s.t.region;
	x = p[s.t.region_len - 1];
	assert_int_equal(x, 0);
	assert_string_equal(vr_shm_peer_error(&s), "backing truncated");
	assert_int_equal(vr_shm_accept(&s, 0), VR_ESTATE);
	vr_shm_close(&s);
}

static void test_guarded_backing_truncated(void **state)
{
	struct fx *f = (struct fx *)*state;
	int st;

	truncated_by_path(f, VR_SHM_GUARD_SIGBUS, &st);
	if (st != 0)
		print_error("guarded device exit status %d\n", st);
	assert_int_equal(st, 0);
}

/* What the guard is for: without it, the process dies of the truncation. */
static void test_unguarded_backing_truncated(void **state)
{
	struct fx *f = (struct fx *)*state;
	int st;

	truncated_by_path(f, 0, &st);
	/* SIGBUS, or a sanitizer's report of it. */
	assert_true(st == 128 + SIGBUS || (st >= 1 && st < 100));
}

/* ---- 12. A device-side open that waits for the driver ------------------------- */

static void test_open_wait_timeout(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_region_cfg rc;
	struct vr_shm s;
	uint64_t t0, dt, bytes;
	void *map;
	int fd;

	/* Nothing there. */
	t0 = now_ns();
	assert_int_equal(vr_shm_open_wait(&s, VR_SHM_FILE, f->file, NULL, 300 * MS),
			 VR_ETIMEDOUT);
	dt = now_ns() - t0;
	assert_true(dt >= 300 * MS && dt < 5 * SEC);
	assert_non_null(strstr(vr_shm_last_error(&s), "no live driver"));
	/* A region left behind by a dead driver: laid out, heartbeat still. */
	region_cfg(&rc);
	bytes = vr_region_bytes(&rc);
	fd = open(f->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)bytes), 0);
	map = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(vr_region_format(map, (size_t)bytes, &rc, 0, NULL), 0);
	munmap(map, (size_t)bytes);
	close(fd);
	t0 = now_ns();
	assert_int_equal(vr_shm_open_wait(&s, VR_SHM_FILE, f->file, NULL, 500 * MS),
			 VR_ETIMEDOUT);
	assert_true(now_ns() - t0 < 5 * SEC);
	assert_non_null(strstr(vr_shm_last_error(&s), "no driver heartbeat"));
	assert_null(s.t.region);
	/* Arguments. */
	assert_int_equal(vr_shm_open_wait(&s, VR_SHM_MEMFD, f->file, NULL, SEC), VR_EINVAL);
	assert_int_equal(vr_shm_open_wait(NULL, VR_SHM_FILE, f->file, NULL, SEC), VR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stopped_device_resumed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_connection_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stopped_peer_doorbell, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stopped_listener_doorbell, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guarded_backing_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unguarded_backing_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_wait_timeout, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
