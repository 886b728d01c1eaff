/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shm transport's handshake checks (transports/shm/handshake.h and
 * handshake_rx.h, the code shm.c runs), without a transport: every field
 * of HELLO, ACK and REFUSE at and beyond its bounds, the region fd's
 * seals and size, the region header against the HELLO, with the exact
 * code and reason; and, with real sockets and real descriptors, the fd
 * collection of a received message, which must leave no descriptor open
 * on any error (an empty message carrying fds included: the regression
 * for the leak fuzzing the handshake turned up, docs/FUZZING.md).
 *
 * The handshake headers are header-only and include their own public
 * header by a relative path, so this file compiles them in by theirs: it
 * links no transport library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../transports/shm/handshake_rx.h"

#define ERR VR_SHM_ERR_BYTES

/* A HELLO as a listener with @qc queues sends it. */
static void hello(struct vr__hs_msg *m, struct vr__hs_hello *h, uint32_t qc,
		  bool polling)
{
	memset(h, 0, sizeof(*h));
	h->region_bytes = 65536;
	h->queue_count = qc;
	h->generation = 9;
	h->nfds = 1 + (polling ? 0 : 2 * qc);
	h->pid = 1234;
	h->polling = polling;
	h->heartbeat_ns = VR_SHM_HEARTBEAT_DEFAULT_NS;
	h->liveness_ns = VR_SHM_LIVENESS_DEFAULT_NS;
	vr__hs_make_hello(m, h);
}

/* Parse @m with @nfds received; expect @code and, for errors, @why. */
static void expect_hello(const struct vr__hs_msg *m, unsigned nfds, int code,
			 const char *why)
{
	struct vr__hs_hello h;
	char err[ERR];
	int rc;

	memset(err, 0, sizeof(err));
	rc = vr__hs_parse_hello(m, nfds, &h, err, sizeof(err));
	if (rc != code)
		print_error("got %s (%s), want %s\n", vr_errname(rc), err,
			    vr_errname(code));
	assert_int_equal(rc, code);
	if (why) {
		if (strcmp(err, why) != 0)
			print_error("reason \"%s\", want \"%s\"\n", err, why);
		assert_string_equal(err, why);
	}
}

/* ---- Messages ----------------------------------------------------------- */

static void test_wire_layout(void **state)
{
	struct vr__hs_msg m;
	const unsigned char *b = (const unsigned char *)&m;
	uint32_t v;

	(void)state;
	/* docs/TRANSPORT_SHM.md's table, offset by offset. */
	assert_int_equal(offsetof(struct vr__hs_msg, version), 8);
	assert_int_equal(offsetof(struct vr__hs_msg, type), 10);
	assert_int_equal(offsetof(struct vr__hs_msg, flags), 12);
	assert_int_equal(offsetof(struct vr__hs_msg, region_bytes), 16);
	assert_int_equal(offsetof(struct vr__hs_msg, queue_count), 24);
	assert_int_equal(offsetof(struct vr__hs_msg, generation), 28);
	assert_int_equal(offsetof(struct vr__hs_msg, nfds), 32);
	assert_int_equal(offsetof(struct vr__hs_msg, status), 36);
	assert_int_equal(offsetof(struct vr__hs_msg, pid), 40);
	assert_int_equal(offsetof(struct vr__hs_msg, reserved), 44);
	assert_int_equal(offsetof(struct vr__hs_msg, heartbeat_ns), 48);
	assert_int_equal(offsetof(struct vr__hs_msg, liveness_ns), 56);
	assert_int_equal(offsetof(struct vr__hs_msg, text), 64);
	assert_int_equal(sizeof(m), 128);
	vr__hs_make_ack(&m, 0x01020304, 77);
	assert_memory_equal(b, "VRINGSHM", 8);
	assert_int_equal(m.version, 1);
	assert_int_equal(m.type, VR__HS_ACK);
	memcpy(&v, b + 28, 4);
	assert_int_equal(v, 0x01020304);
	/* Everything else zero. */
	assert_int_equal(m.flags | m.queue_count | m.nfds | m.reserved, 0);
	assert_int_equal(m.region_bytes | m.heartbeat_ns | m.liveness_ns, 0);
}

static void test_hello_round_trip(void **state)
{
	struct vr__hs_msg m;
	struct vr__hs_hello h, got;
	char err[ERR];
	uint32_t qc;

	(void)state;
	for (qc = 1; qc <= VR_REGION_MAX_QUEUES; qc++) {
		hello(&m, &h, qc, qc % 2 == 0);
		assert_int_equal(vr__hs_parse_hello(&m, h.nfds, &got, err, sizeof(err)), 0);
		assert_memory_equal(&h, &got, sizeof(h));
	}
	/* The largest HELLO carries every fd the receiver has room for. */
	hello(&m, &h, VR_REGION_MAX_QUEUES, false);
	assert_int_equal(h.nfds, VR__HS_MAX_FDS);
}

static void test_hello_refused(void **state)
{
	struct vr__hs_msg m;
	char want[ERR];

	(void)state;
	vr__hs_make_refuse(&m, VR_EPERM, "busy: a peer is already attached");
	assert_int_equal(m.status, VR_EPERM);
	/* fds with a refusal change nothing: the caller closes them. */
	expect_hello(&m, 0, VR_EPERM, "listener refused: busy: a peer is already attached");
	expect_hello(&m, 3, VR_EPERM, NULL);
	/* A text of 100 bytes is cut to 63 when built... */
	memset(want, 'a', 100);
	want[100] = '\0';
	vr__hs_make_refuse(&m, VR_EPERM, want);
	assert_int_equal(strlen(m.text), 63);
	/* ...and one without its NUL is cut to 63 when read. */
	memset(m.text, 'b', sizeof(m.text));
	snprintf(want, sizeof(want), "listener refused: %.63s",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	expect_hello(&m, 0, VR_EPERM, want);
	/* A REFUSE of another version is no REFUSE. */
	m.version = 2;
	expect_hello(&m, 0, VR_EIO, "not a libvring shm handshake (magic, version or type)");
}

static void test_hello_rejected(void **state)
{
	static const char not_hs[] = "not a libvring shm handshake (magic, version or type)";
	struct vr__hs_msg m;
	struct vr__hs_hello h;

	(void)state;
	hello(&m, &h, 2, false);
	m.magic[7] = 'X';
	expect_hello(&m, 5, VR_EIO, not_hs);
	hello(&m, &h, 2, false);
	m.version = 0;
	expect_hello(&m, 5, VR_EIO, not_hs);
	hello(&m, &h, 2, false);
	m.type = VR__HS_ACK;
	expect_hello(&m, 5, VR_EIO, not_hs);
	hello(&m, &h, 2, false);
	m.type = 0;
	expect_hello(&m, 5, VR_EIO, not_hs);

	hello(&m, &h, 2, false);
	m.queue_count = 0;
	m.nfds = 1;
	expect_hello(&m, 1, VR_EIO,
		     "inconsistent handshake: 0 queues, flags 0, 1 fds announced, 1 received");
	hello(&m, &h, 2, false);
	m.queue_count = VR_REGION_MAX_QUEUES + 1;
	m.nfds = 1 + 2 * m.queue_count;
	expect_hello(&m, m.nfds, VR_EIO, NULL);
	/* 2 * queue_count must not wrap into a match. */
	hello(&m, &h, 2, false);
	m.queue_count = 0x80000001u;
	m.nfds = 3;
	expect_hello(&m, 3, VR_EIO, NULL);
	hello(&m, &h, 2, false);
	m.flags = 0x2;
	expect_hello(&m, 5, VR_EIO,
		     "inconsistent handshake: 2 queues, flags 0x2, 5 fds announced, 5 received");
	/* Announced against the queue count, and against what came. */
	hello(&m, &h, 2, false);
	m.nfds = 3;
	expect_hello(&m, 3, VR_EIO, NULL);
	hello(&m, &h, 2, false);
	expect_hello(&m, 4, VR_EIO,
		     "inconsistent handshake: 2 queues, flags 0, 5 fds announced, 4 received");
	expect_hello(&m, 6, VR_EIO, NULL);
	expect_hello(&m, 0, VR_EIO, NULL);
	/* Polling: the region alone. */
	hello(&m, &h, 2, true);
	expect_hello(&m, 1, 0, NULL);
	expect_hello(&m, 5, VR_EIO, NULL);
	m.nfds = 5;
	expect_hello(&m, 5, VR_EIO, NULL);
	/* Fields nobody reads are not checked. */
	hello(&m, &h, 2, false);
	m.reserved = 0xffffffffu;
	m.status = -1;
	memset(m.text, 'z', sizeof(m.text));
	expect_hello(&m, 5, 0, NULL);
}

/* The HELLO's timing as the connector takes it. */
static void timing(uint64_t hb, uint64_t live, uint64_t want_hb, uint64_t want_live)
{
	struct vr__hs_msg m;
	struct vr__hs_hello h, got;
	char err[ERR];

	hello(&m, &h, 1, true);
	m.heartbeat_ns = hb;
	m.liveness_ns = live;
	assert_int_equal(vr__hs_parse_hello(&m, 1, &got, err, sizeof(err)), 0);
	assert_int_equal(got.heartbeat_ns, want_hb);
	assert_int_equal(got.liveness_ns, want_live);
}

static void test_hello_timing(void **state)
{
	const uint64_t dhb = VR_SHM_HEARTBEAT_DEFAULT_NS, dlive = VR_SHM_LIVENESS_DEFAULT_NS;

	(void)state;
	timing(100000, 200000, 100000, 200000);
	timing(99999, 200000, dhb, dlive); /* 200 us < 2 default periods */
	timing(99999, 20000000, dhb, 20000000);
	timing(1000000000, 2000000000, 1000000000, 2000000000);
	timing(1000000001, 2000000000, dhb, 2000000000);
	timing(0, 0, dhb, dlive);
	timing(UINT64_MAX, UINT64_MAX, dhb, dlive);
	timing(1000000, 1999999, 1000000, dlive);
	timing(1000000, 60000000000ull, 1000000, 60000000000ull);
	timing(1000000, 60000000001ull, 1000000, dlive);
	/* With a long period and an unusable timeout the fallback grows to
	 * three periods: 300 ms would call a healthy 1 s listener dead. */
	timing(1000000000, 0, 1000000000, 3000000000ull);
	timing(150000000, 0, 150000000, 450000000);
	timing(50000000, 0, 50000000, dlive);
	/* What vr_shm_listen and vr_shm_open accept from their caller. */
	assert_true(vr__hs_timing_ok(dhb, dlive));
	assert_true(vr__hs_timing_ok(100000, 200000));
	assert_false(vr__hs_timing_ok(99999, 200000));
	assert_false(vr__hs_timing_ok(1000000001, 60000000000ull));
	assert_false(vr__hs_timing_ok(200000000, 300000000)); /* < 2 periods */
	assert_false(vr__hs_timing_ok(1000000, 60000000001ull));
}

static void test_ack(void **state)
{
	struct vr__hs_msg m;
	struct vr__hs_hello h;

	(void)state;
	vr__hs_make_ack(&m, 41, 5);
	assert_int_equal(vr__hs_check_ack(&m, 41), 0);
	assert_int_equal(m.pid, 5);
	assert_int_equal(vr__hs_check_ack(&m, 42), VR_EIO);
	assert_int_equal(vr__hs_check_ack(&m, 40), VR_EIO);
	m.magic[0] = 'v';
	assert_int_equal(vr__hs_check_ack(&m, 41), VR_EIO);
	vr__hs_make_ack(&m, 41, 5);
	m.version = 2;
	assert_int_equal(vr__hs_check_ack(&m, 41), VR_EIO);
	/* A HELLO or a REFUSE echoing the generation is no ACK. */
	hello(&m, &h, 1, true);
	m.generation = 41;
	assert_int_equal(vr__hs_check_ack(&m, 41), VR_EIO);
	vr__hs_make_refuse(&m, VR_EPERM, "no");
	m.generation = 41;
	assert_int_equal(vr__hs_check_ack(&m, 41), VR_EIO);
}

static void test_frame(void **state)
{
	(void)state;
	assert_int_equal(vr__hs_check_frame(128, 0), 0);
	assert_int_equal(vr__hs_check_frame(0, 0), VR_EPEERDEAD);
	assert_int_equal(vr__hs_check_frame(0, VR__HS_RX_CUT), VR_EPEERDEAD);
	assert_int_equal(vr__hs_check_frame(127, 0), VR_EIO);
	assert_int_equal(vr__hs_check_frame(129, 0), VR_EIO);
	assert_int_equal(vr__hs_check_frame(1, 0), VR_EIO);
	assert_int_equal(vr__hs_check_frame(128, VR__HS_RX_CUT), VR_EIO);
	assert_int_equal(vr__hs_check_frame(128, VR__HS_RX_EXCESS), VR_EIO);
}

/* ---- The region fd ----------------------------------------------------------- */

static void expect_code(int rc, int code, const char *err, const char *why)
{
	if (rc != code)
		print_error("got %s (%s), want %s\n", vr_errname(rc), err,
			    vr_errname(code));
	assert_int_equal(rc, code);
	if (why)
		assert_string_equal(err, why);
}

static void test_seals(void **state)
{
	char err[ERR];

	(void)state;
	err[0] = '\0';
	assert_int_equal(vr__hs_check_seals(0x7, err, sizeof(err)), 0);
	assert_int_equal(vr__hs_check_seals(VR__HS_SEAL_SHRINK, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	expect_code(vr__hs_check_seals(0x5, err, sizeof(err)), VR_EREGION, err,
		    "the region fd is not a memfd sealed against shrinking");
	expect_code(vr__hs_check_seals(0, err, sizeof(err)), VR_EREGION, err, NULL);
	/* F_GET_SEALS fails on a plain file or a named object: refused too,
	 * as the listener could truncate them under the mapping. */
	expect_code(vr__hs_check_seals(-1, err, sizeof(err)), VR_EREGION, err, NULL);
}

static void test_size(void **state)
{
	const uint64_t H = VR_REGION_HEADER_BYTES, map64 = UINT64_MAX, map32 = UINT32_MAX;
	char err[ERR];

	(void)state;
	assert_int_equal(vr__hs_check_size(true, H, 0, map64, err, sizeof(err)), 0);
	assert_int_equal(vr__hs_check_size(true, H, H, map64, err, sizeof(err)), 0);
	/* Larger than announced (hugetlbfs rounds up): fine. */
	assert_int_equal(vr__hs_check_size(true, 2u << 20, 9000, map64, err, sizeof(err)), 0);
	expect_code(vr__hs_check_size(false, H, 0, map64, err, sizeof(err)), VR_EIO, err,
		    "the region is not a regular file or shared memory object");
	expect_code(vr__hs_check_size(true, H - 1, 0, map64, err, sizeof(err)), VR_ETRUNC,
		    err, "region truncated: 4095 bytes, less than the 4096-byte header");
	expect_code(vr__hs_check_size(true, 0, 0, map64, err, sizeof(err)), VR_ETRUNC, err,
		    NULL);
	expect_code(vr__hs_check_size(true, 8192, 8193, map64, err, sizeof(err)), VR_ETRUNC,
		    err, "region truncated: 8192 bytes, the handshake says 8193");
	/* A 32-bit process cannot map 4 GiB, whatever the handshake says. */
	assert_int_equal(vr__hs_check_size(true, map32, 0, map32, err, sizeof(err)), 0);
	expect_code(vr__hs_check_size(true, map32 + 1, 0, map32, err, sizeof(err)),
		    VR_EREGION, err, "region too large to map");
	expect_code(vr__hs_check_size(true, 5ull << 30, 6ull << 30, map32, err, sizeof(err)),
		    VR_EREGION, err, NULL);
}

static void test_region_agrees(void **state)
{
	static unsigned char region[65536] __attribute__((aligned(4096)));
	struct vr_region_cfg cfg;
	struct vr_region_info info;
	struct vr__hs_msg m;
	struct vr__hs_hello h, got;
	char err[ERR];

	(void)state;
	memset(&got, 0, sizeof(got)); /* gcc -O3: maybe-uninitialized */
	memset(&cfg, 0, sizeof(cfg));
	cfg.queue_count = 2;
	cfg.queue[0].size = 16;
	cfg.queue[0].format = VR_FORMAT_SPLIT;
	cfg.queue[1].size = 16;
	cfg.queue[1].format = VR_FORMAT_PACKED;
	cfg.buf_bytes = 128;
	cfg.buf_count = 8;
	assert_int_equal(vr_region_format(region, sizeof(region), &cfg, 9, &info), 0);
	hello(&m, &h, 2, false);
	m.region_bytes = info.region_bytes;
	assert_int_equal(vr__hs_parse_hello(&m, 5, &got, err, sizeof(err)), 0);
	assert_int_equal(vr__hs_check_size(true, info.region_bytes, got.region_bytes,
					   UINT64_MAX, err, sizeof(err)), 0);
	assert_int_equal(vr_region_parse(region, (size_t)info.region_bytes, &info), 0);
	assert_int_equal(vr__hs_check_region(&got, &info, err, sizeof(err)), 0);

	got.generation = 10;
	expect_code(vr__hs_check_region(&got, &info, err, sizeof(err)), VR_EREGION, err,
		    "the region header disagrees with the handshake");
	got.generation = 9;
	got.queue_count = 1;
	expect_code(vr__hs_check_region(&got, &info, err, sizeof(err)), VR_EREGION, err, NULL);
	got.queue_count = 2;
	got.region_bytes = info.region_bytes + 64;
	expect_code(vr__hs_check_region(&got, &info, err, sizeof(err)), VR_EREGION, err, NULL);
	got.region_bytes = info.region_bytes;
	assert_int_equal(vr__hs_check_region(&got, &info, err, sizeof(err)), 0);
}

/* ---- Receiving with real descriptors -------------------------------------------- */

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

/* Send @len bytes of a message and @n fresh eventfds (closed here once
 * sent: only the receiver holds them). */
static void send_with_fds(int sock, size_t len, unsigned n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 250)];
	} u;
	struct vr__hs_msg msg[2];
	struct iovec iov = {msg, len};
	struct msghdr mh;
	struct cmsghdr *c;
	int fds[250];
	unsigned i;

	assert_true(len <= sizeof(msg) && n <= 250);
	vr__hs_make_ack(&msg[0], 1, 1);
	memcpy(&msg[1], &msg[0], sizeof(msg[0]));
	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	for (i = 0; i < n; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	if (n) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Receive one message as shm.c's recv_msg does, with room for @cap fds
 * (@cap 0: no control buffer at all, as the listener receives the ACK).
 * Returns vr__hs_take_fds's answer; *n the fds kept, closed here. */
static int receive(int sock, unsigned cap, unsigned *n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * VR__HS_MAX_FDS)];
	} u;
	struct vr__hs_msg m;
	struct iovec iov = {&m, sizeof(m)};
	struct msghdr mh;
	int fds[VR__HS_MAX_FDS];
	unsigned i;
	ssize_t r;
	int rc;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (cap) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
	}
	r = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	assert_true(r >= 0);
	*n = 0;
	rc = vr__hs_take_fds((size_t)r, &mh, cap ? fds : NULL, cap, n);
	for (i = 0; rc == 0 && i < *n; i++) {
		/* What was kept is open, and is what was sent. */
		uint64_t one = 1;

		assert_int_equal(write(fds[i], &one, sizeof(one)), (ssize_t)sizeof(one));
		close(fds[i]);
	}
	return rc;
}

/* Send @len bytes with @sent fds; the receiver (room for @cap) answers
 * @code, keeps @kept, and afterwards this process holds no more fds than
 * before. */
static void rx_case(size_t len, unsigned sent, unsigned cap, int code, unsigned kept)
{
	int sv[2], before, rc;
	unsigned n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	before = count_fds();
	send_with_fds(sv[0], len, sent);
	rc = receive(sv[1], cap, &n);
	if (rc != code)
		print_error("%zu bytes, %u fds, room for %u: got %s, want %s\n", len, sent,
			    cap, vr_errname(rc), vr_errname(code));
	assert_int_equal(rc, code);
	if (rc == 0)
		assert_int_equal(n, kept);
	/* Anything still queued in the socket is not ours yet: the count
	 * is taken after the message was received and judged. */
	assert_int_equal(count_fds(), before);
	close(sv[0]);
	close(sv[1]);
}

static void test_rx_whole_message(void **state)
{
	(void)state;
	rx_case(128, 5, VR__HS_MAX_FDS, 0, 5);
	rx_case(128, 0, VR__HS_MAX_FDS, 0, 0);
	rx_case(128, VR__HS_MAX_FDS, VR__HS_MAX_FDS, 0, VR__HS_MAX_FDS);
	rx_case(128, 0, 0, 0, 0);
}

/* The regression: recvmsg returns 0 for an empty SEQPACKET message, and
 * the fds that came with it are already installed in this process. Judged
 * before they were collected (as shm.c's recv_msg did), they leaked, up to
 * VR__HS_MAX_FDS per vr_shm_connect. */
static void test_rx_empty_message_with_fds(void **state)
{
	(void)state;
	rx_case(0, 3, VR__HS_MAX_FDS, VR_EPEERDEAD, 0);
	rx_case(0, VR__HS_MAX_FDS, VR__HS_MAX_FDS, VR_EPEERDEAD, 0);
	rx_case(0, 0, VR__HS_MAX_FDS, VR_EPEERDEAD, 0);
}

static void test_rx_bad_messages(void **state)
{
	(void)state;
	/* Short, or longer than 128 (MSG_TRUNC): fds closed. */
	rx_case(10, 5, VR__HS_MAX_FDS, VR_EIO, 0);
	rx_case(200, 5, VR__HS_MAX_FDS, VR_EIO, 0);
	rx_case(127, 0, VR__HS_MAX_FDS, VR_EIO, 0);
	/* More fds than the array: the extra ones closed at once, the
	 * rest after. */
	rx_case(128, 5, 2, VR_EIO, 0);
	/* More than the control buffer holds: the kernel cuts
	 * (MSG_CTRUNC) and closes the rest itself. */
	rx_case(128, 200, VR__HS_MAX_FDS, VR_EIO, 0);
	/* No control buffer (the listener reading the ACK): the kernel
	 * drops the fds and says so. */
	rx_case(128, 2, 0, VR_EIO, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_layout),
		cmocka_unit_test(test_hello_round_trip),
		cmocka_unit_test(test_hello_refused),
		cmocka_unit_test(test_hello_rejected),
		cmocka_unit_test(test_hello_timing),
		cmocka_unit_test(test_ack),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_seals),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_region_agrees),
		cmocka_unit_test(test_rx_whole_message),
		cmocka_unit_test(test_rx_empty_message_with_fds),
		cmocka_unit_test(test_rx_bad_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
