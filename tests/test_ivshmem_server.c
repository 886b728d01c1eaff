/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vring-ivshmem-server against host peers and raw sockets (no QEMU):
 *  - the wire format a new client receives, read with a raw socket and
 *    checked independently of the library's parser;
 *  - joins and departures announced to the others, ids reused, doorbells
 *    between two host peers on every vector;
 *  - more peers than --max-peers refused; a client that sends data, or
 *    fds, dropped (and the fds closed); a client that never reads does
 *    not stall the server;
 *  - 1,000 connects and disconnects with the fds of this process and of
 *    the server counted before and after;
 *  - exit on SIGTERM removes the socket, the pidfile and the named
 *    object; a live server's socket is not taken over, a stale one is;
 *    bad command lines exit 2;
 *  - the region laid out by --region parses, with the configured sizes;
 *    without one, a device that comes first waits for the driver's.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "ivshmem_fixture.h"

struct fx {
	char dir[64];
	char sock[100];
	struct fx_server srv;
	/* Peers live here, so that teardown closes them (and stops their
	 * threads) when an assertion ends a test early. */
	struct vr_ivshmem a, b, c;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || fx_tmpdir(f->dir, sizeof(f->dir), "ivsrv") != 0)
		return -1;
	snprintf(f->sock, sizeof(f->sock), "%s/ivshmem.sock", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vr_ivshmem_close(&f->a);
	vr_ivshmem_close(&f->b);
	vr_ivshmem_close(&f->c);
	if (f->srv.pid > 0)
		fx_server_stop(&f->srv);
	fx_rmdir(f->dir);
	free(f);
	return 0;
}

static void cfg_of(struct vr_ivshmem_cfg *c, uint32_t role)
{
	memset(c, 0, sizeof(*c));
	c->role = role;
	c->peer_id = VR_IVSHMEM_ANY_PEER;
}

static int peer_connect(struct fx *f, struct vr_ivshmem *s, uint32_t role)
{
	struct vr_ivshmem_cfg c;
	int r;

	cfg_of(&c, role);
	r = vr_ivshmem_connect(s, f->sock, &c, 5 * FX_SEC);
	if (r)
		print_message("vr_ivshmem_connect: %s (%s)\n", vr_strerror(r),
			      vr_ivshmem_last_error(s));
	return r;
}

/* Does @s see exactly @n other peers, @id (>= 0) among them? */
static bool sees(struct vr_ivshmem *s, int n, int id)
{
	uint32_t ids[VR_IVSHMEM_MAX_PEERS];
	int k = vr_ivshmem_peers(s, ids, VR_IVSHMEM_MAX_PEERS), i;

	if (k != n)
		return false;
	for (i = 0; id >= 0 && i < k; i++)
		if (ids[i] == (uint32_t)id)
			return true;
	return id < 0;
}

/* Wait until sees(@s, @n, @id). */
static bool wait_peers(struct vr_ivshmem *s, int n, int id)
{
	uint64_t end = fx_now_ns() + 5 * FX_SEC;

	while (!sees(s, n, id)) {
		if (fx_now_ns() > end)
			return false;
		fx_sleep_ms(1);
	}
	return true;
}

static int raw_connect(const char *path)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One message from a raw socket: its value, and its fd (or -1) in *fd.
 * 0, or -1 (closed, timeout, short read). */
static int raw_recv(int sock, int64_t *value, int *fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	unsigned char b[8];
	struct iovec iov = {b, sizeof(b)};
	struct msghdr mh;
	struct cmsghdr *ch;
	struct pollfd pf = {sock, POLLIN, 0};
	ssize_t r;
	int i;

	*fd = -1;
	if (poll(&pf, 1, 5000) != 1)
		return -1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	r = recvmsg(sock, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
	for (ch = CMSG_FIRSTHDR(&mh); r >= 0 && ch; ch = CMSG_NXTHDR(&mh, ch)) {
		int n = (int)((ch->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		for (i = 0; i < n; i++) {
			int x;

			memcpy(&x, CMSG_DATA(ch) + (size_t)i * sizeof(int), sizeof(int));
			if (*fd < 0 && n == 1)
				*fd = x;
			else
				close(x); /* more than one: the test below fails */
		}
		if (n != 1)
			*fd = -2;
	}
	if (r != 8)
		return -1;
	*value = 0;
	for (i = 7; i >= 0; i--)
		*value = (int64_t)(((uint64_t)*value << 8) | b[i]);
	return 0;
}

/* ---- Wire format ------------------------------------------------------------- */

static void test_wire_format(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"--vectors", "3", NULL};
	int64_t v;
	int fd, s1, s2, i;
	struct stat st;

	assert_int_equal(fx_server_start(&f->srv, f->sock, args), 0);
	s1 = raw_connect(f->sock);
	assert_true(s1 >= 0);
	/* version 0, no fd */
	assert_int_equal(raw_recv(s1, &v, &fd), 0);
	assert_int_equal(v, 0);
	assert_int_equal(fd, -1);
	/* own id 0, no fd */
	assert_int_equal(raw_recv(s1, &v, &fd), 0);
	assert_int_equal(v, 0);
	assert_int_equal(fd, -1);
	/* -1 with the memory: a sealed memfd of 1 MiB */
	assert_int_equal(raw_recv(s1, &v, &fd), 0);
	assert_int_equal(v, -1);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	assert_true(fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK);
	close(fd);
	/* own vectors: id 0 three times, each with an eventfd */
	for (i = 0; i < 3; i++) {
		assert_int_equal(raw_recv(s1, &v, &fd), 0);
		assert_int_equal(v, 0);
		assert_true(fd >= 0);
		close(fd);
	}
	/* A second client: version, id 1, memory, peer 0's 3 vectors, its own 3. */
	s2 = raw_connect(f->sock);
	assert_true(s2 >= 0);
	for (i = 0; i < 9; i++) {
		static const int64_t want[9] = {0, 1, -1, 0, 0, 0, 1, 1, 1};

		assert_int_equal(raw_recv(s2, &v, &fd), 0);
		assert_int_equal(v, want[i]);
		assert_true(i < 2 ? fd == -1 : fd >= 0);
		if (fd >= 0)
			close(fd);
	}
	/* The first one hears of id 1: three messages with an fd each. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(raw_recv(s1, &v, &fd), 0);
		assert_int_equal(v, 1);
		assert_true(fd >= 0);
		close(fd);
	}
	/* id 1 leaves: announced as 1 without fd. */
	close(s2);
	assert_int_equal(raw_recv(s1, &v, &fd), 0);
	assert_int_equal(v, 1);
	assert_int_equal(fd, -1);
	close(s1);
	assert_int_equal(fx_server_stop(&f->srv), 0);
}

/* ---- Joins, departures, doorbells ---------------------------------------------- */

static void test_join_leave_ring(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"--region", "split", NULL};
	uint32_t changes, v;

	assert_int_equal(fx_server_start(&f->srv, f->sock, args), 0);
	assert_int_equal(peer_connect(f, &f->a, VR_ROLE_DRIVER), 0);
	assert_int_equal(vr_ivshmem_own_id(&f->a), 0);
	assert_int_equal(vr_ivshmem_vectors(&f->a), 2);
	assert_non_null(vr_ivshmem_info(&f->a));
	assert_int_equal(vr_ivshmem_peer_mask(&f->a), 0);
	changes = vr_ivshmem_peer_changes(&f->a);

	assert_int_equal(peer_connect(f, &f->b, VR_ROLE_DEVICE), 0);
	assert_int_equal(vr_ivshmem_own_id(&f->b), 1);
	assert_int_equal(vr_ivshmem_peer_mask(&f->b), 1); /* a was there */
	assert_true(wait_peers(&f->a, 1, 1));
	assert_int_equal(vr_ivshmem_peer_changes(&f->a), changes + 1);

	/* Doorbells on every vector, both ways; nothing rings by itself. */
	for (v = 0; v < 2; v++) {
		assert_int_equal(vr_ivshmem_wait_vector(&f->b, v, 0), VR_ETIMEDOUT);
		assert_int_equal(vr_ivshmem_ring_peer(&f->a, 1, v), 0);
		assert_int_equal(vr_ivshmem_wait_vector(&f->b, v, 5 * FX_SEC), 0);
		assert_int_equal(vr_ivshmem_wait_vector(&f->b, v, 0), VR_ETIMEDOUT);
		assert_int_equal(vr_ivshmem_ring_peer(&f->b, 0, v), 0);
		assert_int_equal(vr_ivshmem_wait_vector(&f->a, v, 5 * FX_SEC), 0);
	}
	assert_int_equal(vr_ivshmem_ring_peer(&f->a, 1, 2), VR_EINVAL); /* no vector 2 */
	assert_int_equal(vr_ivshmem_ring_peer(&f->a, 5, 0), VR_EINVAL); /* no peer 5 */
	assert_int_equal(vr_ivshmem_ring_peer(&f->a, 0, 0), VR_EINVAL); /* itself */

	/* Bind each other: the heartbeats move, both are alive. */
	assert_int_equal(vr_ivshmem_attach_peer(&f->a, 5 * FX_SEC), 0);
	assert_int_equal(vr_ivshmem_attach_peer(&f->b, 5 * FX_SEC), 0);
	assert_int_equal(vr_ivshmem_peer_id(&f->a), 1);
	assert_int_equal(vr_ivshmem_peer_id(&f->b), 0);
	assert_int_equal(f->a.t.ops->peer_state(&f->a.t), VR_PEER_ALIVE);
	assert_int_equal(f->a.t.ops->notify(&f->a.t, 1), 0);
	assert_int_equal(f->b.t.ops->wait(&f->b.t, 1, 5 * FX_SEC), 0);
	assert_int_equal(vr_ivshmem_attach_peer(&f->a, 0), VR_ESTATE);

	/* b leaves: a hears it, its bound peer is dead at once. */
	vr_ivshmem_close(&f->b);
	assert_true(wait_peers(&f->a, 0, -1));
	assert_int_equal(vr_ivshmem_peer_changes(&f->a), changes + 2);
	assert_int_equal(f->a.t.ops->peer_state(&f->a.t), VR_EPEERDEAD);
	assert_string_equal(vr_ivshmem_peer_error(&f->a), "left the server");
	assert_int_equal(f->a.t.ops->wait(&f->a.t, 0, 5 * FX_SEC), VR_EPEERDEAD);
	assert_int_equal(f->a.t.ops->notify(&f->a.t, 0), VR_EPEERDEAD);

	/* A newcomer does not get id 1 while a, which saw 1 leave, is here
	 * (QEMU 7.2 would write into the array it freed for 1): id 2. */
	assert_int_equal(peer_connect(f, &f->c, VR_ROLE_DEVICE), 0);
	assert_int_equal(vr_ivshmem_own_id(&f->c), 2);
	assert_true(wait_peers(&f->a, 1, 2));
	assert_int_equal(vr_ivshmem_attach_peer(&f->a, 5 * FX_SEC), 0);
	assert_int_equal(vr_ivshmem_peer_id(&f->a), 2);
	assert_int_equal(f->a.t.ops->peer_state(&f->a.t), VR_PEER_ALIVE);
	assert_int_equal(vr_ivshmem_ring_peer(&f->a, 1, 0), VR_EINVAL); /* gone */
	assert_int_equal(vr_ivshmem_ring_peer(&f->a, 2, 0), 0);
	/* Once a, which saw them all leave, is gone too, nobody remembers
	 * them: ids start at 0 again. */
	vr_ivshmem_close(&f->c);
	assert_true(wait_peers(&f->a, 0, -1));
	assert_int_equal(peer_connect(f, &f->b, VR_ROLE_DEVICE), 0);
	assert_int_equal(vr_ivshmem_own_id(&f->b), 3); /* a saw 1 and 2 leave */
	vr_ivshmem_close(&f->b);
	vr_ivshmem_close(&f->a);
	assert_int_equal(peer_connect(f, &f->a, VR_ROLE_DRIVER), 0);
	assert_int_equal(vr_ivshmem_own_id(&f->a), 0);
	assert_int_equal(peer_connect(f, &f->b, VR_ROLE_DEVICE), 0);
	assert_int_equal(vr_ivshmem_own_id(&f->b), 1);
	vr_ivshmem_close(&f->b);
	vr_ivshmem_close(&f->a);
	assert_int_equal(fx_server_stop(&f->srv), 0);
}

/* No region from the server: a device that comes first waits for the
 * driver to lay one out (VR_IVSHMEM_FORMAT). */
struct late_dev {
	struct fx *f;
	int rc;
};

static void *late_dev_main(void *arg)
{
	struct late_dev *d = (struct late_dev *)arg;
	struct vr_ivshmem_cfg c;

	cfg_of(&c, VR_ROLE_DEVICE);
	d->rc = vr_ivshmem_connect(&d->f->b, d->f->sock, &c, 10 * FX_SEC);
	return NULL;
}

static void test_device_first_driver_formats(void **state)
{
	struct fx *f = *state;
	struct late_dev d = {f, 1};
	struct vr_ivshmem_cfg c;
	struct vr_region_cfg rc;
	pthread_t t;

	assert_int_equal(fx_server_start(&f->srv, f->sock, NULL), 0);
	assert_int_equal(pthread_create(&t, NULL, late_dev_main, &d), 0);
	/* Let the device get its id and find the memory blank. */
	fx_sleep_ms(100);
	fx_region(&rc, VR_FORMAT_PACKED, 128, 1024, 64);
	cfg_of(&c, VR_ROLE_DRIVER);
	c.flags = VR_IVSHMEM_FORMAT;
	c.region = &rc;
	assert_int_equal(vr_ivshmem_connect(&f->a, f->sock, &c, 5 * FX_SEC), 0);
	pthread_join(t, NULL);
	assert_int_equal(d.rc, 0);
	assert_int_equal(vr_ivshmem_info(&f->b)->queue[0].size, 128);
	assert_int_equal(vr_ivshmem_info(&f->b)->queue[0].format, VR_FORMAT_PACKED);
	assert_int_equal(vr_ivshmem_info(&f->b)->buf_count, 64);
	/* The driver's session began after the layout (generation 0 -> 1). */
	assert_int_equal(vr_region_load(f->a.t.region, VR_RH_GENERATION), 1);
	vr_ivshmem_close(&f->b);
	vr_ivshmem_close(&f->a);
	assert_int_equal(fx_server_stop(&f->srv), 0);
}

/* ---- Refusals and misbehaving clients ---------------------------------------------- */

static void test_too_many_peers(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"--max-peers", "2", NULL};
	struct vr_ivshmem_cfg cfg;
	int fds;

	assert_int_equal(fx_server_start(&f->srv, f->sock, args), 0);
	assert_int_equal(peer_connect(f, &f->a, VR_ROLE_DRIVER), VR_EMAGIC); /* no region */
	assert_non_null(strstr(vr_ivshmem_last_error(&f->a), "no region"));
	cfg_of(&cfg, VR_ROLE_DEVICE);
	/* A device waits for a region: give it none, briefly. */
	assert_int_equal(vr_ivshmem_connect(&f->a, f->sock, &cfg, 200 * FX_MS), VR_ETIMEDOUT);
	assert_int_equal(vr_ivshmem_connect(&f->a, f->sock, &cfg, 200 * FX_MS), VR_ETIMEDOUT);
	{
		/* Lay one out from a driver, then the peers can stay. */
		struct vr_region_cfg rc;

		fx_region(&rc, VR_FORMAT_SPLIT, 64, 256, 128);
		cfg_of(&cfg, VR_ROLE_DRIVER);
		cfg.flags = VR_IVSHMEM_FORMAT;
		cfg.region = &rc;
		assert_int_equal(vr_ivshmem_connect(&f->a, f->sock, &cfg, 5 * FX_SEC), 0);
	}
	assert_int_equal(peer_connect(f, &f->b, VR_ROLE_DEVICE), 0);
	assert_true(wait_peers(&f->a, 1, 1)); /* a holds b's eventfds now */
	fds = fx_count_fds(0);
	cfg_of(&cfg, VR_ROLE_DEVICE);
	assert_int_equal(vr_ivshmem_connect(&f->c, f->sock, &cfg, 2 * FX_SEC), VR_EPERM);
	assert_non_null(strstr(vr_ivshmem_last_error(&f->c), "too many peers"));
	assert_int_equal(fx_count_fds(0), fds);
	/* One leaves: room again (id 2: a saw 1 leave). */
	vr_ivshmem_close(&f->b);
	assert_true(wait_peers(&f->a, 0, -1));
	assert_int_equal(peer_connect(f, &f->c, VR_ROLE_DEVICE), 0);
	assert_int_equal(vr_ivshmem_own_id(&f->c), 2);
	vr_ivshmem_close(&f->c);
	vr_ivshmem_close(&f->a);
	assert_int_equal(fx_server_stop(&f->srv), 0);
}

static void test_client_sends_data(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"--region", "packed", NULL};
	int64_t v;
	int s, fd, i;

	assert_int_equal(fx_server_start(&f->srv, f->sock, args), 0);
	assert_int_equal(peer_connect(f, &f->a, VR_ROLE_DRIVER), 0);
	s = raw_connect(f->sock);
	assert_true(s >= 0);
	for (i = 0; i < 5; i++) { /* version, id, memory, a's 2 vectors */
		assert_int_equal(raw_recv(s, &v, &fd), 0);
		if (fd >= 0)
			close(fd);
	}
	/* a has heard of it (id 1); then it sends junk. */
	assert_true(wait_peers(&f->a, 1, 1));
	assert_int_equal(write(s, "hello", 5), 5);
	/* The server drops it and announces the departure. */
	assert_true(wait_peers(&f->a, 0, -1));
	close(s);

	/* A client that never reads (id 2: a saw 1 leave): the others carry
	 * on. */
	s = raw_connect(f->sock);
	assert_true(s >= 0);
	assert_true(wait_peers(&f->a, 1, 2));
	{
		assert_int_equal(peer_connect(f, &f->b, VR_ROLE_DEVICE), 0);
		assert_int_equal(vr_ivshmem_own_id(&f->b), 3);
		vr_ivshmem_close(&f->b);
	}
	close(s);
	assert_true(wait_peers(&f->a, 0, -1));

	/* A client that sends fds: dropped, and the server keeps none. */
	{
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * 2)];
		} u;
		int fds[2] = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)};
		struct iovec iov = {(void *)"12345678", 8};
		struct msghdr mh;
		struct cmsghdr *ch;
		uint64_t end = fx_now_ns() + 5 * FX_SEC;
		int before;

		assert_true(fds[0] >= 0 && fds[1] >= 0);
		s = raw_connect(f->sock);
		assert_true(s >= 0);
		assert_true(wait_peers(&f->a, 1, -1));
		before = fx_count_fds_settled(f->srv.pid);
		memset(&mh, 0, sizeof(mh));
		memset(&u, 0, sizeof(u));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(sizeof(int) * 2);
		memcpy(CMSG_DATA(ch), fds, sizeof(fds));
		assert_int_equal(sendmsg(s, &mh, MSG_NOSIGNAL), 8);
		close(fds[0]);
		close(fds[1]);
		assert_true(wait_peers(&f->a, 0, -1));
		/* Its socket and its 2 eventfds are gone, and the 2 it sent. */
		while (fx_count_fds(f->srv.pid) != before - 3 && fx_now_ns() < end)
			fx_sleep_ms(5);
		assert_int_equal(fx_count_fds(f->srv.pid), before - 3);
		close(s);
	}
	vr_ivshmem_close(&f->a);
	assert_int_equal(fx_server_stop(&f->srv), 0);
}

/* ---- 1,000 connects: no fd leak on either side -------------------------------------- */

/* A join and a departure through f->b, seen by f->a: a has then handled
 * every announcement the server made before (they arrive in order). */
static void sync_peer(struct fx *f)
{
	uint64_t end = fx_now_ns() + 5 * FX_SEC;
	uint32_t c;
	int id;

	assert_int_equal(peer_connect(f, &f->b, VR_ROLE_DEVICE), 0);
	id = vr_ivshmem_own_id(&f->b);
	assert_true(wait_peers(&f->a, 1, id));
	c = vr_ivshmem_peer_changes(&f->a);
	vr_ivshmem_close(&f->b);
	/* Raw clients' joins and departures may still trickle in too. */
	while ((vr_ivshmem_peer_changes(&f->a) == c || !sees(&f->a, 0, -1)) &&
	       fx_now_ns() < end)
		fx_sleep_ms(1);
	assert_true(vr_ivshmem_peer_changes(&f->a) > c);
	assert_true(sees(&f->a, 0, -1));
}

static void test_fd_leak_1000(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"--region", "split", "--max-peers", "4", NULL};
	int mine, srv, i;

	assert_int_equal(fx_server_start(&f->srv, f->sock, args), 0);
	assert_int_equal(peer_connect(f, &f->a, VR_ROLE_DRIVER), 0);
	/* Warm up once (lazy allocations), then count. */
	sync_peer(f);
	mine = fx_count_fds(0);
	srv = fx_count_fds(f->srv.pid);
	assert_true(mine > 0 && srv > 0);
	for (i = 0; i < 1000; i++) {
		if (i % 100 == 99) {
			/* Some leave mid-set-up: connect and hang up at once. */
			int s = raw_connect(f->sock);

			assert_true(s >= 0);
			close(s);
			continue;
		}
		assert_int_equal(peer_connect(f, &f->b, VR_ROLE_DEVICE), 0);
		vr_ivshmem_close(&f->b);
	}
	sync_peer(f);
	/* The server announced every departure before the last one, but may
	 * still be closing the raw ones' fds: let the count settle. */
	{
		uint64_t end = fx_now_ns() + 5 * FX_SEC;

		while ((fx_count_fds(f->srv.pid) != srv || fx_count_fds(0) != mine) &&
		       fx_now_ns() < end)
			fx_sleep_ms(5);
	}
	assert_int_equal(fx_count_fds(0), mine);
	assert_int_equal(fx_count_fds(f->srv.pid), srv);
	vr_ivshmem_close(&f->a);
	assert_int_equal(fx_server_stop(&f->srv), 0);
}

/* ---- Life cycle and command line ------------------------------------------------------ */

static void test_cleanup_on_sigterm(void **state)
{
	struct fx *f = *state;
	char name[64], pidfile[320], shmpath[128];
	const char *args[] = {"--shm", name, "--pidfile", pidfile, "--region", "packed",
			      "--queue-size", "100", "--buf-bytes", "512", "--buf-count", "64",
			      "--size", "64K", NULL};
	struct stat st;
	FILE *pf;
	long pid = 0;

	snprintf(name, sizeof(name), "/vr-ivsrv-test-%ld", (long)getpid());
	snprintf(shmpath, sizeof(shmpath), "/dev/shm%s", name);
	snprintf(pidfile, sizeof(pidfile), "%s/server.pid", f->dir);
	assert_int_equal(fx_server_start(&f->srv, f->sock, args), 0);
	assert_int_equal(stat(shmpath, &st), 0);
	assert_int_equal(st.st_size, 65536);
	pf = fopen(pidfile, "r");
	assert_non_null(pf);
	assert_int_equal(fscanf(pf, "%ld", &pid), 1);
	fclose(pf);
	assert_int_equal(pid, (long)f->srv.pid);
	/* The region is there with what was asked. */
	assert_int_equal(peer_connect(f, &f->a, VR_ROLE_DEVICE), 0);
	assert_int_equal(vr_ivshmem_info(&f->a)->queue_count, 2);
	assert_int_equal(vr_ivshmem_info(&f->a)->queue[0].size, 100);
	assert_int_equal(vr_ivshmem_info(&f->a)->queue[1].format, VR_FORMAT_PACKED);
	assert_int_equal(vr_ivshmem_info(&f->a)->buf_bytes, 512);
	assert_int_equal(vr_ivshmem_info(&f->a)->buf_count, 64);
	/* A second server on the same socket is refused (exit 1). */
	{
		const char *dup[] = {"-S", f->sock, NULL};

		assert_int_equal(fx_server_run(dup), 1);
	}
	assert_int_equal(fx_server_stop(&f->srv), 0);
	assert_int_not_equal(stat(f->sock, &st), 0);
	assert_int_not_equal(stat(pidfile, &st), 0);
	assert_int_not_equal(stat(shmpath, &st), 0);
	/* The peer keeps its mapping; its server hang-up is no error. */
	assert_int_equal(f->a.t.ops->peer_state(&f->a.t), VR_PEER_WAITING);
	vr_ivshmem_close(&f->a);

	/* A stale socket (nobody listening) is replaced. */
	{
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un ad;

		memset(&ad, 0, sizeof(ad));
		ad.sun_family = AF_UNIX;
		snprintf(ad.sun_path, sizeof(ad.sun_path), "%s", f->sock);
		assert_int_equal(bind(s, (struct sockaddr *)&ad, sizeof(ad)), 0);
		close(s);
	}
	assert_int_equal(fx_server_start(&f->srv, f->sock, NULL), 0);
	assert_int_equal(fx_server_stop(&f->srv), 0);
}

static void test_bad_command_lines(void **state)
{
	struct fx *f = *state;
	const char *no_sock[] = {"--vectors", "2", NULL};
	const char *vec0[] = {"-S", f->sock, "--vectors", "0", NULL};
	const char *vec65[] = {"-S", f->sock, "--vectors", "65", NULL};
	const char *size[] = {"-S", f->sock, "--size", "3000", NULL};
	const char *small[] = {"-S", f->sock, "--size", "4K", "--region", "split", NULL};
	const char *peers[] = {"-S", f->sock, "--max-peers", "65", NULL};
	const char *fmt[] = {"-S", f->sock, "--region", "ring", NULL};
	const char *q3[] = {"-S", f->sock, "--region", "split", "--queue-size", "3", NULL};
	const char *shm[] = {"-S", f->sock, "--shm", "noslash", NULL};
	const char *junk[] = {"-S", f->sock, "extra", NULL};
	const char *unk[] = {"-S", f->sock, "--frobnicate", NULL};
	const char *arg[] = {"-S", NULL};
	struct stat st;

	assert_int_equal(fx_server_run(no_sock), 2);
	assert_int_equal(fx_server_run(vec0), 2);
	assert_int_equal(fx_server_run(vec65), 2);
	assert_int_equal(fx_server_run(size), 2);
	assert_int_equal(fx_server_run(peers), 2);
	assert_int_equal(fx_server_run(fmt), 2);
	assert_int_equal(fx_server_run(q3), 2);
	assert_int_equal(fx_server_run(shm), 2);
	assert_int_equal(fx_server_run(junk), 2);
	assert_int_equal(fx_server_run(unk), 2);
	assert_int_equal(fx_server_run(arg), 2);
	/* Valid syntax, impossible set-up: exit 1, nothing left behind. */
	assert_int_equal(fx_server_run(small), 1);
	assert_int_not_equal(stat(f->sock, &st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wire_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_leave_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_first_driver_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_sends_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_leak_1000, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_on_sigterm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_command_lines, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
