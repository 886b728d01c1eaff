/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host peer against a fake ivshmem server: a thread of this test
 * listens on a unix socket and plays a script of messages (an int64 and
 * zero, one or two fds of a chosen kind each), some of them wrong. Each
 * case asserts vr_ivshmem_connect's code, a one-line reason naming the
 * fault, and that this process has exactly the fds it had before (every
 * fd the fake sent was closed by the peer, every fd the fake made by the
 * fake). A good script connects; faults that arrive after set-up turn
 * the bound peer dead with "server protocol error".
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

/* What goes with one message. */
enum fd_kind {
	F_NONE,
	F_EVENTFD,
	F_TWO_EVENTFDS,
	F_PIPE,  /* not an eventfd */
	F_SHM,   /* the script's memory fd */
	F_HALF,  /* no fd: send only 4 bytes of the message, then hang up */
	F_SPLIT, /* one eventfd with the first 3 bytes, the other 5 apart */
	F_END = 99
};

struct step {
	int64_t value;
	int kind;
};

#define SCRIPT_MAX 16

struct fake {
	char dir[64];
	char sock[100];
	int lsock;
	int shmfd;              /* the memory sent with F_SHM, or -1 */
	struct step script[SCRIPT_MAX];
	bool hold;              /* keep the connection open after the script */
	int release;            /* eventfd: ends a held connection */
	int go;                 /* eventfd: the held part of the script */
	struct step late[SCRIPT_MAX]; /* sent after go */
	pthread_t thr;
};

static int send_one(int s, int64_t value, const int *fds, int nfds, size_t len)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 2)];
	} u;
	unsigned char b[8];
	struct iovec iov = {b, len};
	struct msghdr mh;
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)value >> (8 * i));
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	return sendmsg(s, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* @len raw bytes, with @fd attached if >= 0. */
static int send_raw(int s, const unsigned char *b, size_t len, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {(void *)(uintptr_t)b, len};
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(s, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* Play @steps on @s; false after an F_HALF (the connection is over). */
static bool play(struct fake *f, int s, const struct step *steps)
{
	int i;

	for (i = 0; i < SCRIPT_MAX && steps[i].kind != F_END; i++) {
		int fds[2] = {-1, -1}, n = 0, p[2];

		switch (steps[i].kind) {
		case F_EVENTFD:
			fds[n++] = eventfd(0, EFD_CLOEXEC);
			break;
		case F_TWO_EVENTFDS:
			fds[n++] = eventfd(0, EFD_CLOEXEC);
			fds[n++] = eventfd(0, EFD_CLOEXEC);
			break;
		case F_PIPE:
			if (pipe(p) == 0) {
				fds[n++] = p[0];
				close(p[1]);
			}
			break;
		case F_SHM:
			fds[n++] = f->shmfd;
			break;
		case F_HALF:
			(void)send_one(s, steps[i].value, NULL, 0, 4);
			return false;
		case F_SPLIT: {
			/* A stream socket may cut a message anywhere; the fd
			 * travels with its first byte. */
			int e = eventfd(0, EFD_CLOEXEC);
			unsigned char b[8];
			int j;

			for (j = 0; j < 8; j++)
				b[j] = (unsigned char)((uint64_t)steps[i].value >> (8 * j));
			(void)send_raw(s, b, 3, e);
			fx_sleep_ms(20);
			(void)send_raw(s, b + 3, 5, -1);
			close(e);
			continue;
		}
		default:
			break;
		}
		(void)send_one(s, steps[i].value, fds, n, 8);
		for (n--; n >= 0; n--)
			if (fds[n] != f->shmfd)
				close(fds[n]);
	}
	return true;
}

static void *fake_main(void *arg)
{
	struct fake *f = (struct fake *)arg;
	int s = accept4(f->lsock, NULL, NULL, SOCK_CLOEXEC);

	if (s < 0)
		return NULL;
	/* After a half message the connection ends at once. */
	if (play(f, s, f->script) && f->hold) {
		struct pollfd pf[2] = {{f->go, POLLIN, 0}, {f->release, POLLIN, 0}};

		if (poll(pf, 2, 10000) > 0 && pf[0].revents) {
			play(f, s, f->late);
			pf[1].revents = 0;
			poll(&pf[1], 1, 10000);
		}
	}
	close(s);
	return NULL;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	if (!f || fx_tmpdir(f->dir, sizeof(f->dir), "ivbad") != 0)
		return -1;
	snprintf(f->sock, sizeof(f->sock), "%s/fake.sock", f->dir);
	f->lsock = f->shmfd = f->release = f->go = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	fx_rmdir(f->dir);
	free(f);
	return 0;
}

/* A memfd of @size holding a region laid out for @claim bytes (0: none),
 * sealed unless @unsealed. */
static int make_shm(uint64_t size, uint64_t claim, bool unsealed)
{
	int fd = memfd_create("fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct vr_region_cfg rc;

	assert_true(fd >= 0);
	if (claim) {
		void *m = mmap(NULL, claim, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		assert_int_equal(ftruncate(fd, (off_t)claim), 0);
		assert_true(m != MAP_FAILED);
		fx_region(&rc, VR_FORMAT_SPLIT, 64, 256, (uint32_t)((claim - 16384) / 256));
		assert_true(vr_region_bytes(&rc) <= claim);
		assert_int_equal(vr_region_format(m, claim, &rc, 0, NULL), 0);
		/* The header claims the whole object. */
		munmap(m, claim);
	}
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (!unsealed)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

/* Start the fake with @script (and, if @late, a second part sent when
 * asked). */
static void fake_start(struct fake *f, const struct step *script, size_t n,
		       const struct step *late, size_t nlate, bool hold)
{
	struct sockaddr_un a;
	size_t i;

	for (i = 0; i < SCRIPT_MAX; i++)
		f->script[i].kind = f->late[i].kind = F_END;
	for (i = 0; i < n; i++)
		f->script[i] = script[i];
	for (i = 0; i < nlate; i++)
		f->late[i] = late[i];
	f->hold = hold;
	f->release = eventfd(0, EFD_CLOEXEC);
	f->go = eventfd(0, EFD_CLOEXEC);
	f->lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lsock >= 0 && f->release >= 0 && f->go >= 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->sock);
	unlink(f->sock);
	assert_int_equal(bind(f->lsock, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lsock, 4), 0);
	assert_int_equal(pthread_create(&f->thr, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	uint64_t one = 1;

	assert_int_equal(write(f->release, &one, sizeof(one)), (ssize_t)sizeof(one));
	pthread_join(f->thr, NULL);
	close(f->lsock);
	close(f->release);
	close(f->go);
	if (f->shmfd >= 0)
		close(f->shmfd);
	f->lsock = f->release = f->go = f->shmfd = -1;
}

/* Connect to a fake playing @script; expect @code and @words in the reason;
 * no fd left behind. */
static void expect(struct fake *f, const struct step *script, size_t n, uint32_t vectors,
		   int code, const char *words)
{
	struct vr_ivshmem s;
	struct vr_ivshmem_cfg cfg;
	/* A memory fd made by the caller is closed by fake_stop. */
	int before = fx_count_fds(0) - (f->shmfd >= 0), r;

	if (f->shmfd < 0)
		f->shmfd = make_shm(65536, 65536, false);
	fake_start(f, script, n, NULL, 0, true);
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VR_ROLE_DEVICE;
	cfg.peer_id = VR_IVSHMEM_ANY_PEER;
	cfg.vectors = vectors;
	r = vr_ivshmem_connect(&s, f->sock, &cfg, 1 * FX_SEC);
	if (r != code || !strstr(vr_ivshmem_last_error(&s), words))
		print_message("got %s (%s), wanted %s with \"%s\"\n", vr_errname(r),
			      vr_ivshmem_last_error(&s), vr_errname(code), words);
	assert_int_equal(r, code);
	assert_non_null(strstr(vr_ivshmem_last_error(&s), words));
	assert_null(strchr(vr_ivshmem_last_error(&s), '\n'));
	if (r == 0)
		vr_ivshmem_close(&s);
	fake_stop(f);
	assert_int_equal(fx_count_fds(0), before);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* version, own id 0, memory */
#define HELLO {0, F_NONE}, {0, F_NONE}, {-1, F_SHM}

static void test_bad_version(void **state)
{
	const struct step s1[] = {{1, F_NONE}};
	const struct step s2[] = {{0, F_EVENTFD}};
	const struct step s3[] = {{-1, F_NONE}};

	expect(*state, s1, N(s1), 2, VR_EIO, "protocol version 1");
	expect(*state, s2, N(s2), 2, VR_EIO, "fd with the protocol version");
	expect(*state, s3, N(s3), 2, VR_EIO, "version -1");
}

static void test_bad_own_id(void **state)
{
	const struct step s1[] = {{0, F_NONE}, {65536, F_NONE}};
	const struct step s2[] = {{0, F_NONE}, {-7, F_NONE}};
	const struct step s3[] = {{0, F_NONE}, {3, F_EVENTFD}};
	const struct step s4[] = {{0, F_NONE}, {INT64_MAX, F_NONE}};

	expect(*state, s1, N(s1), 2, VR_EIO, "id 65536, outside 0..65535");
	expect(*state, s2, N(s2), 2, VR_EIO, "id -7");
	expect(*state, s3, N(s3), 2, VR_EIO, "fd with this peer's id");
	expect(*state, s4, N(s4), 2, VR_EIO, "outside");
}

static void test_bad_shm_message(void **state)
{
	const struct step s1[] = {{0, F_NONE}, {0, F_NONE}, {-1, F_NONE}};
	const struct step s2[] = {{0, F_NONE}, {0, F_NONE}, {-1, F_TWO_EVENTFDS}};
	const struct step s3[] = {{0, F_NONE}, {0, F_NONE}, {5, F_SHM}};
	const struct step s4[] = {{0, F_NONE}, {0, F_NONE}, {-1, F_PIPE},
				  {0, F_EVENTFD}, {0, F_EVENTFD}};

	expect(*state, s1, N(s1), 2, VR_EIO, "no fd with the shared memory");
	expect(*state, s2, N(s2), 2, VR_EIO, "2 fds with one message");
	expect(*state, s3, N(s3), 2, VR_EIO, "sent 5 where the shared memory");
	expect(*state, s4, N(s4), 2, VR_EIO, "not a file or memfd");
}

static void test_bad_vectors(void **state)
{
	const struct step dup[] = {HELLO, {1, F_EVENTFD}, {1, F_EVENTFD}, {1, F_EVENTFD}};
	const struct step gone[] = {HELLO, {3, F_NONE}};
	const struct step self[] = {HELLO, {0, F_NONE}};
	const struct step part[] = {HELLO, {1, F_EVENTFD}, {2, F_EVENTFD}};
	const struct step pipe_[] = {HELLO, {1, F_PIPE}};
	const struct step two[] = {HELLO, {0, F_EVENTFD}, {0, F_TWO_EVENTFDS}};
	const struct step range[] = {HELLO, {70000, F_EVENTFD}};
	const struct step shm2[] = {HELLO, {-1, F_SHM}};
	const struct step few[] = {HELLO, {0, F_EVENTFD}};

	expect(*state, dup, N(dup), 2, VR_EIO, "duplicate id");
	expect(*state, gone, N(gone), 2, VR_EIO, "departure of unknown peer 3");
	expect(*state, self, N(self), 2, VR_EIO, "departure of this peer");
	expect(*state, part, N(part), 2, VR_EIO, "peer 1 sent only some of its vectors");
	expect(*state, pipe_, N(pipe_), 2, VR_EIO, "not an eventfd");
	expect(*state, two, N(two), 2, VR_EIO, "2 fds");
	expect(*state, range, N(range), 2, VR_EIO, "peer id 70000");
	expect(*state, shm2, N(shm2), 2, VR_EIO, "second shared memory");
	/* One of two own vectors, then silence. */
	expect(*state, few, N(few), 2, VR_ETIMEDOUT, "1 of 2 own vectors");
}

static void test_hangups(void **state)
{
	const struct step at_once[] = {{0, F_NONE}};
	const struct step half[] = {{0, F_NONE}, {0, F_HALF}};
	const struct step none[] = {{0, F_END}};
	const struct step late[] = {HELLO, {0, F_EVENTFD}};
	struct fake *f = *state;

	/* A server that says nothing. */
	expect(f, at_once, 0, 2, VR_ETIMEDOUT, "in time");
	{
		/* Closed after the version: what a full server does. */
		struct vr_ivshmem s;
		struct vr_ivshmem_cfg cfg;
		int before = fx_count_fds(0);

		f->shmfd = make_shm(65536, 65536, false);
		fake_start(f, at_once, N(at_once), NULL, 0, false);
		memset(&cfg, 0, sizeof(cfg));
		cfg.role = VR_ROLE_DEVICE;
		cfg.peer_id = VR_IVSHMEM_ANY_PEER;
		assert_int_equal(vr_ivshmem_connect(&s, f->sock, &cfg, 2 * FX_SEC), VR_EPERM);
		assert_non_null(strstr(vr_ivshmem_last_error(&s), "too many peers"));
		fake_stop(f);
		assert_int_equal(fx_count_fds(0), before);

		f->shmfd = make_shm(65536, 65536, false);
		fake_start(f, late, N(late), NULL, 0, false);
		assert_int_equal(vr_ivshmem_connect(&s, f->sock, &cfg, 2 * FX_SEC), VR_EIO);
		assert_non_null(strstr(vr_ivshmem_last_error(&s), "during set-up"));
		fake_stop(f);
		assert_int_equal(fx_count_fds(0), before);
	}
	expect(f, half, N(half), 2, VR_EIO, "middle of a message");
	(void)none;
	/* Nobody listening at all. */
	{
		struct vr_ivshmem s;
		struct vr_ivshmem_cfg cfg;

		memset(&cfg, 0, sizeof(cfg));
		cfg.role = VR_ROLE_DEVICE;
		cfg.peer_id = VR_IVSHMEM_ANY_PEER;
		assert_int_equal(vr_ivshmem_connect(&s, "/nonexistent/dir/sock", &cfg,
						    50 * FX_MS), VR_ETIMEDOUT);
		assert_non_null(strstr(vr_ivshmem_last_error(&s), "no ivshmem server"));
	}
}

static void test_bad_memory(void **state)
{
	struct fake *f = *state;
	const struct step ok[] = {HELLO, {0, F_EVENTFD}, {0, F_EVENTFD}};

	/* The header claims 64 KiB; the object has 8 KiB. */
	f->shmfd = make_shm(8192, 65536, false);
	expect(f, ok, N(ok), 2, VR_ETRUNC, "bad region (VR_ETRUNC)");
	/* Less than a header. */
	f->shmfd = make_shm(1000, 0, false);
	expect(f, ok, N(ok), 2, VR_ETRUNC, "less than a region header");
	/* A memfd anyone could shrink. */
	f->shmfd = make_shm(65536, 65536, true);
	expect(f, ok, N(ok), 2, VR_EREGION, "not sealed against shrinking");
	/* A region with 2 queues, peers with 1 vector. */
	{
		const struct step one[] = {HELLO, {0, F_EVENTFD}};

		f->shmfd = make_shm(65536, 65536, false);
		expect(f, one, N(one), 1, VR_EINVAL, "only 1 vectors");
	}
	/* Garbage instead of a region: a device waits, then gives up. */
	{
		int fd = make_shm(65536, 0, false);

		assert_int_equal(pwrite(fd, "NOTAREGN", 8, 0), 8);
		f->shmfd = fd;
		expect(f, ok, N(ok), 2, VR_EMAGIC, "bad magic");
	}
	/* And the good script connects, also cut in pieces. */
	f->shmfd = make_shm(65536, 65536, false);
	expect(f, ok, N(ok), 2, 0, "");
	{
		const struct step cut[] = {HELLO, {1, F_SPLIT}, {1, F_EVENTFD},
					   {0, F_EVENTFD}, {0, F_SPLIT}};

		f->shmfd = make_shm(65536, 65536, false);
		expect(f, cut, N(cut), 2, 0, "");
	}
}

/* Faults after set-up: the bound peer is given up, fds still all closed. */
static void test_fault_after_setup(void **state)
{
	struct fake *f = *state;
	const struct step script[] = {HELLO, {1, F_EVENTFD}, {1, F_EVENTFD},
				      {0, F_EVENTFD}, {0, F_EVENTFD}};
	const struct step late[] = {{1, F_EVENTFD}}; /* peer 1 again: duplicate */
	struct vr_ivshmem s;
	struct vr_ivshmem_cfg cfg;
	uint64_t one = 1, end;
	int before = fx_count_fds(0);

	f->shmfd = make_shm(65536, 65536, false);
	fake_start(f, script, N(script), late, N(late), true);
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VR_ROLE_DEVICE;
	cfg.peer_id = 1;
	cfg.flags = VR_IVSHMEM_NO_HEARTBEAT_WATCH; /* the fake's peer never beats */
	assert_int_equal(vr_ivshmem_connect(&s, f->sock, &cfg, 2 * FX_SEC), 0);
	assert_int_equal(vr_ivshmem_peer_mask(&s), 2);
	assert_int_equal(vr_ivshmem_attach_peer(&s, 2 * FX_SEC), 0);
	assert_int_equal(s.t.ops->peer_state(&s.t), VR_PEER_ALIVE);
	assert_int_equal(write(f->go, &one, sizeof(one)), (ssize_t)sizeof(one));
	end = fx_now_ns() + 5 * FX_SEC;
	while (s.t.ops->peer_state(&s.t) != VR_EPEERDEAD && fx_now_ns() < end)
		fx_sleep_ms(1);
	assert_int_equal(s.t.ops->peer_state(&s.t), VR_EPEERDEAD);
	assert_string_equal(vr_ivshmem_peer_error(&s), "server protocol error");
	vr_ivshmem_close(&s);
	fake_stop(f);
	assert_int_equal(fx_count_fds(0), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_own_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_shm_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hangups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_after_setup, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
