/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bad regions and hostile listeners: whatever the file or the handshake
 * says, the attaching end returns its distinct error code with a one-line
 * explanation, never crashes (this file runs under ASan+UBSan too), and
 * leaves no fd or mapping behind.
 *
 *  - files for vr_shm_open(): empty, shorter than the header, shorter than
 *    the header says, wrong magic, unsupported version, offsets outside the
 *    region or into the header, misaligned or overlapping areas, queue
 *    sizes the header lies about, a pool that does not fit; then random
 *    corruptions of the header;
 *  - a fake listener speaking the handshake of docs/TRANSPORT_SHM.md
 *    badly: bad region behind a good handshake, unsealed memfd, wrong
 *    counts of fds, fds that are not eventfds, a refusal, a hang-up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include <unistd.h>

#include <vring/shm.h>

#define SEC 1000000000ull

struct fx {
	char dir[64];
	char file[128];
	char sock[128];
	char shm_name[64];
	unsigned char *img; /* a valid region image */
	size_t len;
};

static void put(unsigned char *img, size_t off, uint64_t v, unsigned bytes)
{
	unsigned i;

	for (i = 0; i < bytes; i++)
		img[off + i] = (unsigned char)(v >> (8 * i));
}

static int setup(void **state)
{
	static struct fx f;
	struct vr_region_cfg c;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/vrbad.XXXXXX");
	if (!mkdtemp(f.dir))
		return -1;
	snprintf(f.file, sizeof(f.file), "%s/region", f.dir);
	snprintf(f.sock, sizeof(f.sock), "%s/sock", f.dir);
	snprintf(f.shm_name, sizeof(f.shm_name), "/vrbad-test-%ld", (long)getpid());
	memset(&c, 0, sizeof(c));
	c.queue_count = 2;
	c.queue[0].size = 16;
	c.queue[0].format = VR_FORMAT_SPLIT;
	c.queue[1].size = 16;
	c.queue[1].format = VR_FORMAT_PACKED;
	c.buf_bytes = 128;
	c.buf_count = 8;
	f.len = (size_t)vr_region_bytes(&c);
	f.img = (unsigned char *)aligned_alloc(4096, (f.len + 4095) / 4096 * 4096);
	if (!f.img || vr_region_format(f.img, f.len, &c, 0, NULL) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = (struct fx *)*state;
	DIR *d;
	struct dirent *e;

	free(f->img);
	shm_unlink(f->shm_name);
	d = opendir(f->dir);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			char p[512];

			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
			if (unlink(p) != 0)
				rmdir(p);
		}
		closedir(d);
	}
	rmdir(f->dir);
	return 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

/* Open @path; expect @code, an explanation, and nothing left behind. */
static void expect_open(uint32_t backing, const char *path, int code)
{
	struct vr_shm s;
	int before = count_fds(), rc;

	rc = vr_shm_open(&s, backing, path, NULL);
	if (rc != code)
		print_error("%s: got %s (%s), want %s\n", path, vr_errname(rc),
			    vr_shm_last_error(&s), vr_errname(code));
	assert_int_equal(rc, code);
	if (code == 0) {
		assert_non_null(s.t.region);
		assert_non_null(vr_shm_info(&s));
		vr_shm_close(&s);
	} else {
		assert_true(strlen(vr_shm_last_error(&s)) > 0);
		assert_null(strchr(vr_shm_last_error(&s), '\n'));
		if (code != VR_EIO && code != VR_EINVAL)
			assert_non_null(strstr(vr_shm_last_error(&s), vr_errname(code)) ||
					strstr(vr_shm_last_error(&s), "truncated"));
		assert_null(s.t.region);
		assert_null(vr_shm_info(&s));
	}
	assert_int_equal(count_fds(), before);
}

/* Write the valid image with one field changed, then open it. */
static void expect_field(struct fx *f, size_t off, uint64_t v, unsigned bytes,
			 int code)
{
	unsigned char *img = (unsigned char *)malloc(f->len);

	assert_non_null(img);
	memcpy(img, f->img, f->len);
	put(img, off, v, bytes);
	write_file(f->file, img, f->len);
	free(img);
	expect_open(VR_SHM_FILE, f->file, code);
}

static size_t qe(unsigned q, unsigned field)
{
	return VR_REGION_QTABLE_OFF + q * VR_REGION_QENTRY_BYTES + field;
}

/* ---- Files ----------------------------------------------------------------- */

static void test_valid_file(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm s;

	write_file(f->file, f->img, f->len);
	expect_open(VR_SHM_FILE, f->file, 0);
	assert_int_equal(vr_shm_open(&s, VR_SHM_FILE, f->file, NULL), 0);
	assert_int_equal(vr_shm_info(&s)->queue_count, 2);
	assert_int_equal(s.t.region_len, f->len);
	assert_int_equal(s.t.ops->peer_state(&s.t), VR_PEER_ALIVE);
	vr_shm_close(&s);
}

static void test_truncated(void **state)
{
	struct fx *f = (struct fx *)*state;

	write_file(f->file, f->img, 0);
	expect_open(VR_SHM_FILE, f->file, VR_ETRUNC);
	write_file(f->file, f->img, 100);
	expect_open(VR_SHM_FILE, f->file, VR_ETRUNC);
	write_file(f->file, f->img, VR_REGION_HEADER_BYTES - 1);
	expect_open(VR_SHM_FILE, f->file, VR_ETRUNC);
	write_file(f->file, f->img, VR_REGION_HEADER_BYTES);
	expect_open(VR_SHM_FILE, f->file, VR_ETRUNC);
	write_file(f->file, f->img, f->len - 1);
	expect_open(VR_SHM_FILE, f->file, VR_ETRUNC);
	/* The header claims more than the file holds. */
	expect_field(f, VR_RH_REGION_BYTES, f->len + 4096, 8, VR_ETRUNC);
	expect_field(f, VR_RH_REGION_BYTES, UINT64_MAX, 8, VR_ETRUNC);
	/* ...or less than a header. */
	expect_field(f, VR_RH_REGION_BYTES, 100, 8, VR_EREGION);
}

static void test_magic_version(void **state)
{
	struct fx *f = (struct fx *)*state;
	unsigned char *zero = (unsigned char *)calloc(1, f->len);

	expect_field(f, VR_RH_MAGIC, 0x474e495256424c4cull, 8, VR_EMAGIC);
	expect_field(f, VR_RH_MAGIC + 7, 'X', 1, VR_EMAGIC);
	assert_non_null(zero);
	write_file(f->file, zero, f->len);
	free(zero);
	expect_open(VR_SHM_FILE, f->file, VR_EMAGIC);
	expect_field(f, VR_RH_VERSION, 2, 2, VR_EVERSION);
	expect_field(f, VR_RH_VERSION, 0, 2, VR_EVERSION);
	expect_field(f, VR_RH_VERSION, 0xffff, 2, VR_EVERSION);
}

static void test_header_lies(void **state)
{
	struct fx *f = (struct fx *)*state;
	uint64_t desc0 = f->img[qe(0, VR_RQ_DESC_OFF)] |
			 (uint64_t)f->img[qe(0, VR_RQ_DESC_OFF) + 1] << 8;

	expect_field(f, VR_RH_HEADER_BYTES, 2048, 2, VR_EREGION);
	/* Queue count. */
	expect_field(f, VR_RH_QUEUE_COUNT, 0, 4, VR_EREGION);
	expect_field(f, VR_RH_QUEUE_COUNT, VR_REGION_MAX_QUEUES + 1, 4, VR_EREGION);
	expect_field(f, VR_RH_QUEUE_COUNT, UINT32_MAX, 4, VR_EREGION);
	expect_field(f, VR_RH_QUEUE_COUNT, 3, 4, VR_EREGION); /* entry 2 empty */
	/* Queue sizes the header cannot hold, or invalid for the format. */
	expect_field(f, qe(0, VR_RQ_SIZE), 3, 2, VR_EREGION);
	expect_field(f, qe(0, VR_RQ_SIZE), 0, 2, VR_EREGION);
	expect_field(f, qe(0, VR_RQ_SIZE), 32768, 2, VR_EREGION);
	expect_field(f, qe(0, VR_RQ_SIZE), 32, 2, VR_EREGION); /* areas overlap */
	expect_field(f, qe(1, VR_RQ_SIZE), 0xffff, 2, VR_EREGION);
	expect_field(f, qe(0, VR_RQ_FORMAT), 7, 2, VR_EREGION);
	/* Offsets outside the region, into the header, misaligned, wrapping. */
	expect_field(f, qe(0, VR_RQ_DESC_OFF), f->len, 8, VR_EREGION);
	expect_field(f, qe(0, VR_RQ_DESC_OFF), f->len - 8, 8, VR_EREGION);
	expect_field(f, qe(0, VR_RQ_DESC_OFF), 0, 8, VR_EREGION);
	expect_field(f, qe(0, VR_RQ_DESC_OFF), desc0 + 1, 8, VR_EREGION);
	expect_field(f, qe(0, VR_RQ_DESC_OFF), UINT64_MAX - 15, 8, VR_EREGION);
	expect_field(f, qe(1, VR_RQ_DRIVER_OFF), UINT64_MAX, 8, VR_EREGION);
	expect_field(f, qe(1, VR_RQ_DEVICE_OFF), 1ull << 40, 8, VR_EREGION);
	expect_field(f, qe(0, VR_RQ_DRIVER_OFF), desc0, 8, VR_EREGION); /* overlap */
	/* The pool. */
	expect_field(f, VR_RH_POOL_OFF, f->len, 8, VR_EREGION);
	expect_field(f, VR_RH_POOL_OFF, desc0, 8, VR_EREGION);
	expect_field(f, VR_RH_POOL_BYTES, UINT64_MAX, 8, VR_EREGION);
	expect_field(f, VR_RH_BUF_BYTES, 0, 4, VR_EREGION);
	expect_field(f, VR_RH_BUF_COUNT, 9, 4, VR_EREGION);
	expect_field(f, VR_RH_BUF_BYTES, UINT32_MAX, 4, VR_EREGION);
}

static void test_not_a_region(void **state)
{
	struct fx *f = (struct fx *)*state;
	char p[256];

	expect_open(VR_SHM_FILE, f->dir, VR_EIO); /* a directory */
	snprintf(p, sizeof(p), "%s/none", f->dir);
	expect_open(VR_SHM_FILE, p, VR_EIO);
	/* Not followed: a symlink to a good region. */
	write_file(f->file, f->img, f->len);
	snprintf(p, sizeof(p), "%s/link", f->dir);
	assert_int_equal(symlink(f->file, p), 0);
	expect_open(VR_SHM_FILE, p, VR_EIO);
	expect_open(VR_SHM_NAMED, "/vrbad-does-not-exist", VR_EIO);
	expect_open(VR_SHM_MEMFD, f->file, VR_EINVAL);
}

static void test_named_bad(void **state)
{
	struct fx *f = (struct fx *)*state;
	unsigned char *img = (unsigned char *)malloc(f->len);
	int fd;

	assert_non_null(img);
	memcpy(img, f->img, f->len);
	img[0] = 'X';
	fd = shm_open(f->shm_name, O_CREAT | O_RDWR | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, f->len), (ssize_t)f->len);
	expect_open(VR_SHM_NAMED, f->shm_name, VR_EMAGIC);
	img[0] = 'L';
	assert_int_equal(pwrite(fd, img, f->len, 0), (ssize_t)f->len);
	expect_open(VR_SHM_NAMED, f->shm_name, 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	expect_open(VR_SHM_NAMED, f->shm_name, VR_ETRUNC);
	close(fd);
	free(img);
}

/* Random corruption of the header: a code from the list, never a crash. */
static void test_random_headers(void **state)
{
	struct fx *f = (struct fx *)*state;
	unsigned char *img = (unsigned char *)malloc(f->len);
	unsigned it, k, seen[64] = {0};
	uint32_t x = 12345;
	struct vr_shm s;
	int fd, rc;

	assert_non_null(img);
	fd = open(f->file, O_CREAT | O_TRUNC | O_RDWR, 0600);
	assert_true(fd >= 0);
	for (it = 0; it < 3000; it++) {
		unsigned nflip;

		memcpy(img, f->img, f->len);
		x = x * 1103515245u + 12345u;
		nflip = 1 + (x >> 16) % 8;
		for (k = 0; k < nflip; k++) {
			size_t off;

			x = x * 1103515245u + 12345u;
			/* Mostly the fields and the queue table, not the magic. */
			off = 8 + (x >> 8) % (VR_REGION_QTABLE_OFF + 2 * VR_REGION_QENTRY_BYTES - 8);
			x = x * 1103515245u + 12345u;
			img[off] = (unsigned char)(x >> 16);
		}
		assert_int_equal(pwrite(fd, img, f->len, 0), (ssize_t)f->len);
		/* Sometimes also a shorter file. */
		assert_int_equal(ftruncate(fd, (off_t)(it % 7 == 0 ? (x >> 4) % f->len
								    : f->len)), 0);
		rc = vr_shm_open(&s, VR_SHM_FILE, f->file, NULL);
		assert_true(rc == 0 || rc == VR_ETRUNC || rc == VR_EMAGIC ||
			    rc == VR_EVERSION || rc == VR_EREGION);
		seen[-rc]++;
		if (rc == 0) {
			/* Whatever parsed is inside what was mapped. */
			const struct vr_region_info *in = vr_shm_info(&s);

			assert_true(in->region_bytes <= s.t.region_len);
			assert_true(in->pool_off + in->pool_bytes <= in->region_bytes);
		}
		vr_shm_close(&s);
	}
	close(fd);
	free(img);
	assert_true(seen[-VR_EREGION] > 0 && seen[-VR_ETRUNC] > 0 &&
		    seen[-VR_EVERSION] > 0);
}

/* ---- A fake listener speaking the handshake badly --------------------------- */

/* docs/TRANSPORT_SHM.md: the 128-byte handshake message. */
struct hs_msg {
	char magic[8];
	uint16_t version;
	uint16_t type;
	uint32_t flags;
	uint64_t region_bytes;
	uint32_t queue_count;
	uint32_t generation;
	uint32_t nfds;
	int32_t status;
	uint32_t pid;
	uint32_t reserved;
	uint64_t heartbeat_ns;
	uint64_t liveness_ns;
	char text[64];
};

enum fake {
	FAKE_BAD_MAGIC_REGION,
	FAKE_UNSEALED,
	FAKE_FEWER_FDS,
	FAKE_TOO_MANY_FDS,
	FAKE_BAD_HS_MAGIC,
	FAKE_SHORT_MSG,
	FAKE_SIZE_LIE,
	FAKE_NOT_EVENTFD,
	FAKE_GEN_MISMATCH,
	FAKE_TRUNC_REGION,
	FAKE_HANGUP,
	FAKE_REFUSE,
	FAKE_DIR_FD,
	FAKE_COUNT
};

static const int fake_expect[FAKE_COUNT] = {
	VR_EMAGIC, VR_EREGION, VR_EIO, VR_EIO, VR_EIO, VR_EIO, VR_ETRUNC,
	VR_EIO, VR_EREGION, VR_ETRUNC, VR_EPEERDEAD, VR_EPERM,
	VR_EREGION /* a directory is not a sealed memfd */
};

static int sealed_memfd(const void *img, size_t len, size_t size, bool seal)
{
	int fd = memfd_create("fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) != 0 ||
	    pwrite(fd, img, len < size ? len : size, 0) < 0)
		return -1;
	if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		return -1;
	return fd;
}

static int send_fds(int sock, const void *msg, size_t len, const int *fds,
		    unsigned n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 200)];
	} u;
	struct iovec iov = {(void *)(uintptr_t)msg, len};
	struct msghdr mh;
	struct cmsghdr *c;

	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (n) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* Serve one connection as a bad listener would. */
static void fake_listener(struct fx *f, int lsock, enum fake kind)
{
	unsigned char *img = (unsigned char *)malloc(f->len);
	struct hs_msg m;
	int fds[200], n = 0, i, c;
	size_t size = f->len;
	bool seal = true;

	assert_non_null(img);
	memcpy(img, f->img, f->len);
	c = accept(lsock, NULL, NULL);
	assert_true(c >= 0);
	memset(&m, 0, sizeof(m));
	memcpy(m.magic, "VRINGSHM", 8);
	m.version = 1;
	m.type = 1;
	m.flags = 0;
	m.region_bytes = f->len;
	m.queue_count = 2;
	m.generation = 0;
	m.nfds = 5;
	m.pid = (uint32_t)getpid();
	switch (kind) {
	case FAKE_BAD_MAGIC_REGION:
		img[3] = 'x';
		break;
	case FAKE_UNSEALED:
		seal = false;
		break;
	case FAKE_SIZE_LIE:
		m.region_bytes = f->len + 65536;
		break;
	case FAKE_GEN_MISMATCH:
		m.generation = 7;
		break;
	case FAKE_TRUNC_REGION:
		size = VR_REGION_HEADER_BYTES + 64; /* header says more */
		m.region_bytes = size;
		break;
	case FAKE_BAD_HS_MAGIC:
		m.magic[0] = 'W';
		break;
	default:
		break;
	}
	fds[n++] = kind == FAKE_DIR_FD ? open(f->dir, O_RDONLY | O_DIRECTORY)
				       : sealed_memfd(img, f->len, size, seal);
	assert_true(fds[0] >= 0);
	for (i = 0; i < 4; i++)
		fds[n++] = kind == FAKE_NOT_EVENTFD && i == 2
				   ? open("/dev/null", O_RDWR)
				   : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (kind == FAKE_FEWER_FDS)
		n = 3;
	if (kind == FAKE_TOO_MANY_FDS)
		while (n < 200)
			fds[n++] = eventfd(0, EFD_CLOEXEC);
	if (kind == FAKE_REFUSE) {
		m.type = 3;
		m.status = VR_EPERM;
		snprintf(m.text, sizeof(m.text), "go away");
		assert_int_equal(send_fds(c, &m, sizeof(m), NULL, 0), 0);
	} else if (kind == FAKE_SHORT_MSG) {
		assert_int_equal(send_fds(c, &m, 10, fds, (unsigned)n), 0);
	} else if (kind != FAKE_HANGUP) {
		assert_int_equal(send_fds(c, &m, sizeof(m), fds, (unsigned)n), 0);
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	/* Let the connector finish before hanging up (except FAKE_HANGUP). */
	if (kind != FAKE_HANGUP) {
		char b[256];

		(void)!recv(c, b, sizeof(b), 0);
	}
	close(c);
	free(img);
}

static void test_hostile_listener(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct sockaddr_un a;
	int lsock, kind;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	assert_true(strlen(f->sock) < sizeof(a.sun_path));
	memcpy(a.sun_path, f->sock, strlen(f->sock) + 1);
	lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(lsock >= 0);
	assert_int_equal(bind(lsock, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lsock, 4), 0);
	for (kind = 0; kind < FAKE_COUNT; kind++) {
		pid_t pid = fork();
		int st;

		assert_true(pid >= 0);
		if (pid == 0) {
			struct vr_shm s;
			int before, rc;

			alarm(10);
			close(lsock);
			before = count_fds();
			rc = vr_shm_connect(&s, f->sock, 3 * SEC);
			if (rc != fake_expect[kind])
				fprintf(stderr, "case %d: got %s (%s)\n", kind,
					vr_errname(rc), vr_shm_last_error(&s));
			/* Nothing kept: no fd, no mapping. */
			if (count_fds() != before || s.t.region)
				_exit(2);
			if (strlen(vr_shm_last_error(&s)) == 0)
				_exit(3);
			_exit(rc == fake_expect[kind] ? 0 : 1);
		}
		fake_listener(f, lsock, (enum fake)kind);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			print_error("hostile listener case %d failed (status %#x)\n",
				    kind, st);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	close(lsock);
	unlink(f->sock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_magic_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_lies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_named_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_listener, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
