/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_shm_handshake: the fuzzer is a hostile peer of the shm transport's
 * handshake (docs/TRANSPORT_SHM.md). Its bytes are one message as
 * recvmsg() delivered it (length, truncation flags, how many descriptors
 * came with it), what the system says about the region fd (regular file or
 * not, memfd or not, its seals, its size), and the region's contents. The
 * target runs the transport's own checks (transports/shm/handshake.h, the
 * code shm.c runs) in shm.c's order:
 *
 *   connector: vr__hs_check_frame -> vr__hs_parse_hello -> vr__hs_check_seals
 *              -> vr__hs_check_size -> vr_region_parse (over a mapping of
 *              exactly the fd's size) -> vr__hs_check_region -> doorbells
 *   listener:  vr__hs_check_frame (no fds accepted) -> vr__hs_check_ack
 *
 * Real descriptors cannot be fuzzed: each is modelled by what the
 * transport learns about it (present or not, eventfd or not; the region
 * fd's kind, seals and size).
 *
 * Invariants: every step answers only its documented codes, and exactly
 * the one a reference written from docs/TRANSPORT_SHM.md (reading the raw
 * bytes at the documented offsets) expects; every error comes with a
 * one-line reason that fits its buffer; an accepted HELLO has 1..64
 * queues, only known flags, as many fds as announced and received (1 + 2
 * per queue, or 1 when polling), and timing within bounds or the
 * defaults; an accepted region agrees with the HELLO, lies inside the
 * mapping, and has a doorbell pair for each of its queues; the messages
 * each end builds pass the other end's checks (HELLO, ACK, REFUSE round
 * trips); the connector's overall answer is one vr_shm_connect documents.
 *
 * Input (all integers little-endian, the message in host order):
 *   0        flags: FH_*
 *   1        descriptors sent with the message (above VR__HS_MAX_FDS the
 *            kernel cuts the rest: MSG_CTRUNC)
 *   2        the descriptor that is not an eventfd (0: none; k: fd k)
 *   3        F_GET_SEALS on the region fd (0xff: the call failed)
 *   4        recvmsg's length (above 128: 128 and MSG_TRUNC)
 *   5..12    connector: the region fd's size (st_size); listener: the
 *            generation it sent (low 32 bits)
 *   13..140  the message (zero-filled when the input is shorter)
 *   141..    connector: the region from offset 0, zero-filled up to its
 *            size; mapped when the size is at most 64 KiB.
 *            listener: a refusal text for the REFUSE round trip
 */
#define _POSIX_C_SOURCE 200809L /* posix_memalign, strnlen */
#include "fuzz_common.h"

#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input flags (byte 0). */
#define FH_LISTENER 0x01 /* the message is the connector's ACK to a listener */
#define FH_CUT 0x02      /* recvmsg set MSG_TRUNC or MSG_CTRUNC */
#define FH_EXCESS 0x04   /* more fds than the receiver's array (closed) */
#define FH_MAP32 0x08    /* a 32-bit process: nothing above 4 GiB maps */
#define FH_MEMFD 0x10    /* the region fd is a memfd */
#define FH_NOTREG 0x20   /* the region fd is not a regular file */

#define FH_HDR 13u
#define FH_MSG 128u
#define FH_MAP_MAX (64u * 1024u)
#define FH_ERR VR_SHM_ERR_BYTES

/* ---- The reference: the documented offsets, read from the raw bytes ------- */

static uint16_t rd16(const unsigned char *m, unsigned off)
{
	uint16_t v;

	memcpy(&v, m + off, sizeof(v));
	return v;
}

static uint32_t rd32(const unsigned char *m, unsigned off)
{
	uint32_t v;

	memcpy(&v, m + off, sizeof(v));
	return v;
}

static uint64_t rd64(const unsigned char *m, unsigned off)
{
	uint64_t v;

	memcpy(&v, m + off, sizeof(v));
	return v;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* docs/TRANSPORT_SHM.md: magic at 0, version at 8, type at 10. */
static int ref_is(const unsigned char *m, uint16_t type)
{
	return memcmp(m, "VRINGSHM", 8) == 0 && rd16(m, 8) == 1 && rd16(m, 10) == type;
}

/* The reason a REFUSE gives (into @want, FH_ERR bytes): the listener's text
 * cut at 63 bytes or its NUL, every byte that is not printable ASCII shown
 * as '?', after the prefix. */
static void ref_refused(char *want, const unsigned char *text)
{
	char t[64];
	size_t k;

	for (k = 0; k < 63 && text[k]; k++)
		t[k] = text[k] < 0x20 || text[k] > 0x7e ? '?' : (char)text[k];
	t[k] = '\0';
	snprintf(want, FH_ERR, "listener refused: %s", t);
}

/* The reason a failing check gives: one line, inside its buffer. */
static void check_err(int rc, const char *err)
{
	size_t n = strnlen(err, FH_ERR);

	FZ_CHECK(n < FH_ERR);
	if (rc != 0) {
		FZ_CHECK(n > 0);
		FZ_CHECK(strchr(err, '\n') == NULL);
	}
}

/* Empty the reason buffer, so that a check that fails without writing
 * one is caught (check_err). */
static void err_reset(char *err)
{
	memset(err, 0, FH_ERR);
}

/* ---- Connector ------------------------------------------------------------- */

/* The HELLO (and the fds with it) through the connector's checks. Returns
 * the connector's answer. */
static int connector(const uint8_t *in, size_t in_len, const unsigned char *raw,
		     const struct vr__hs_msg *m, char *err)
{
	uint8_t flags = in[0];
	unsigned sent = in[1], n, bad_fd = in[2];
	int seals = in[3] == 0xff ? -1 : in[3];
	uint64_t st_size = le64(in + 5);
	uint64_t map_max = (flags & FH_MAP32) ? UINT32_MAX : (uint64_t)SIZE_MAX;
	const uint8_t *body = in_len > FH_HDR + FH_MSG ? in + FH_HDR + FH_MSG : NULL;
	size_t body_len = body ? in_len - FH_HDR - FH_MSG : 0;
	struct vr__hs_hello h, h2;
	struct vr__hs_msg again;
	struct vr_region_info info;
	unsigned qc, want_nfds, i;
	uint32_t mflags;
	int rc, want;

	n = sent > VR__HS_MAX_FDS ? VR__HS_MAX_FDS : sent;

	/* Refusal, or a HELLO consistent with what arrived. */
	err_reset(err);
	memset(&h, 0xa5, sizeof(h));
	rc = vr__hs_parse_hello(m, n, &h, err, FH_ERR);
	check_err(rc, err);
	FZ_CHECK_RC(rc == 0 || rc == VR_EPERM || rc == VR_EIO, rc);
	qc = rd32(raw, 24);
	mflags = rd32(raw, 12);
	want_nfds = 1 + ((mflags & 1u) ? 0 : 2 * (qc <= 64 ? qc : 0));
	if (ref_is(raw, 3)) {
		char want_err[FH_ERR];

		FZ_CHECK_RC(rc == VR_EPERM, rc);
		ref_refused(want_err, raw + 64);
		FZ_CHECK(strcmp(err, want_err) == 0);
		return rc;
	}
	want = !ref_is(raw, 1) || qc == 0 || qc > 64 || (mflags & ~1u) != 0 ||
			       rd32(raw, 32) != want_nfds || n != want_nfds
		       ? VR_EIO : 0;
	FZ_CHECK_RC(rc == want, rc);
	if (rc)
		return rc;
	/* Accepted: what the connector now believes. */
	FZ_CHECK(h.queue_count >= 1 && h.queue_count <= VR_REGION_MAX_QUEUES);
	FZ_CHECK(h.queue_count == qc && h.region_bytes == rd64(raw, 16) &&
		 h.generation == rd32(raw, 28) && h.pid == rd32(raw, 40));
	FZ_CHECK(h.polling == ((mflags & VR_SHM_POLLING) != 0));
	FZ_CHECK(h.nfds == n && h.nfds == 1 + (h.polling ? 0 : 2 * h.queue_count));
	FZ_CHECK(h.nfds <= VR__HS_MAX_FDS);
	/* Timing: the listener's period if within 100 us..1 s, else the
	 * default; its timeout if within 2 periods..60 s, else the default
	 * or three periods, whichever is longer (never under 2 periods). */
	FZ_CHECK(h.heartbeat_ns >= VR__HS_HEARTBEAT_MIN_NS &&
		 h.heartbeat_ns <= VR__HS_HEARTBEAT_MAX_NS);
	FZ_CHECK(h.heartbeat_ns == (rd64(raw, 48) >= 100000 && rd64(raw, 48) <= 1000000000
					    ? rd64(raw, 48) : VR_SHM_HEARTBEAT_DEFAULT_NS));
	FZ_CHECK(h.liveness_ns ==
		 (rd64(raw, 56) >= 2 * h.heartbeat_ns && rd64(raw, 56) <= 60000000000ull
			  ? rd64(raw, 56)
			  : (3 * h.heartbeat_ns > VR_SHM_LIVENESS_DEFAULT_NS
				     ? 3 * h.heartbeat_ns : VR_SHM_LIVENESS_DEFAULT_NS)));
	FZ_CHECK(h.liveness_ns >= 2 * h.heartbeat_ns);
	FZ_CHECK(h.liveness_ns <= VR__HS_LIVENESS_MAX_NS);
	/* The listener's builder says the same thing. */
	vr__hs_make_hello(&again, &h);
	err_reset(err);
	FZ_CHECK(vr__hs_parse_hello(&again, h.nfds, &h2, err, FH_ERR) == 0);
	FZ_CHECK(memcmp(&h, &h2, sizeof(h)) == 0);

	/* The region fd: seals, then its size. */
	err_reset(err);
	rc = vr__hs_check_seals(seals, err, FH_ERR);
	check_err(rc, err);
	/* Whatever the fd (FH_MEMFD or not): sealed against shrinking. */
	want = seals < 0 || !(seals & 2) ? VR_EREGION : 0;
	FZ_CHECK_RC(rc == want, rc);
	if (rc)
		return rc;
	err_reset(err);
	rc = vr__hs_check_size(!(flags & FH_NOTREG), st_size, h.region_bytes,
			       map_max, err, FH_ERR);
	check_err(rc, err);
	if (flags & FH_NOTREG)
		want = VR_EIO;
	else if (st_size < VR_REGION_HEADER_BYTES)
		want = VR_ETRUNC;
	else if (st_size > map_max)
		want = VR_EREGION;
	else if (h.region_bytes != 0 && st_size < h.region_bytes)
		want = VR_ETRUNC;
	else
		want = 0;
	FZ_CHECK_RC(rc == want, rc);
	if (rc)
		return rc;
	/* What is mapped is the whole fd, so the HELLO's size fits in it. */
	FZ_CHECK(h.region_bytes <= st_size && st_size <= map_max);
	if (st_size > FH_MAP_MAX)
		return 0; /* too large to model here: the region's own parse
			   * is fuzz_region's (the connector goes on) */

	/* The mapping: page-aligned like mmap's, of exactly st_size bytes,
	 * so that ASan sees any read past it. */
	{
		size_t len = (size_t)st_size;
		void *mp = NULL;
		unsigned char *map;

		FZ_CHECK(posix_memalign(&mp, 4096, len) == 0);
		map = (unsigned char *)mp;
		memset(map, 0, len);
		memcpy(map, body ? body : (const uint8_t *)"", body_len < len ? body_len : len);
		rc = vr_region_parse(map, len, &info);
		FZ_CHECK_RC(rc == 0 || rc == VR_ETRUNC || rc == VR_EMAGIC ||
				    rc == VR_EVERSION || rc == VR_EREGION,
			    rc);
		free(map);
	}
	if (rc)
		return rc;
	FZ_CHECK(info.region_bytes <= st_size);
	err_reset(err);
	rc = vr__hs_check_region(&h, &info, err, FH_ERR);
	check_err(rc, err);
	want = info.region_bytes != rd64(raw, 16) || info.queue_count != qc ||
			       info.generation != rd32(raw, 28)
		       ? VR_EREGION : 0;
	FZ_CHECK_RC(rc == want, rc);
	if (rc)
		return rc;
	/* The configuration the connector runs with. */
	FZ_CHECK(info.region_bytes == h.region_bytes && h.region_bytes <= st_size);
	FZ_CHECK(info.queue_count == h.queue_count);
	FZ_CHECK(h.polling || h.nfds - 1 == 2 * info.queue_count);
	for (i = 0; i < info.queue_count; i++)
		FZ_CHECK(info.queue[i].format == VR_FORMAT_SPLIT ||
			 info.queue[i].format == VR_FORMAT_PACKED);

	/* Doorbells: fd 1..n-1, each must be an eventfd. */
	if (bad_fd >= 1 && bad_fd < h.nfds)
		return VR_EIO;

	/* The ACK this connector sends passes the listener's check, for
	 * this generation only. */
	vr__hs_make_ack(&again, h.generation, 4242);
	FZ_CHECK(vr__hs_check_frame(sizeof(again), 0) == 0);
	FZ_CHECK(vr__hs_check_ack(&again, h.generation) == 0);
	FZ_CHECK(again.pid == 4242);
	FZ_CHECK(vr__hs_check_ack(&again, h.generation + 1) == VR_EIO);
	return 0;
}

/* ---- Listener --------------------------------------------------------------- */

static void listener(const uint8_t *in, size_t in_len, const unsigned char *raw,
		     const struct vr__hs_msg *m, char *err)
{
	uint32_t gen = (uint32_t)le64(in + 5);
	const uint8_t *body = in_len > FH_HDR + FH_MSG ? in + FH_HDR + FH_MSG : NULL;
	size_t body_len = body ? in_len - FH_HDR - FH_MSG : 0;
	struct vr__hs_msg refuse;
	struct vr__hs_hello h;
	char text[256], want_err[FH_ERR];
	size_t tl;
	int rc;

	rc = vr__hs_check_ack(m, gen);
	FZ_CHECK_RC(rc == (ref_is(raw, 2) && rd32(raw, 28) == gen ? 0 : VR_EIO), rc);

	/* The REFUSE this listener sends, with the rest of the input as
	 * its text: the connector reports the first 63 bytes of it. */
	tl = body_len < sizeof(text) - 1 ? body_len : sizeof(text) - 1;
	if (tl)
		memcpy(text, body, tl);
	text[tl] = '\0';
	vr__hs_make_refuse(&refuse, VR_EPERM, text);
	FZ_CHECK(refuse.status == VR_EPERM);
	FZ_CHECK(memchr(refuse.text, '\0', sizeof(refuse.text)) != NULL);
	FZ_CHECK(vr__hs_check_ack(&refuse, gen) == VR_EIO);
	err_reset(err);
	rc = vr__hs_parse_hello(&refuse, 0, &h, err, FH_ERR);
	FZ_CHECK_RC(rc == VR_EPERM, rc);
	ref_refused(want_err, (const unsigned char *)text);
	FZ_CHECK(strcmp(err, want_err) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char raw[FH_MSG];
	struct vr__hs_msg *m;
	char *err;
	unsigned sent, rx = 0;
	size_t got, have;
	int rc, want;

	if (size < FH_HDR)
		return 0;
	/* The message as received: got bytes of what the peer sent, the
	 * rest of the buffer as it was (zero). */
	sent = data[1];
	got = data[4];
	if (got > FH_MSG) {
		got = FH_MSG;
		rx |= VR__HS_RX_CUT; /* MSG_TRUNC */
	}
	if (data[0] & FH_CUT)
		rx |= VR__HS_RX_CUT;
	if (data[0] & FH_LISTENER) {
		/* The listener asks for no fds: the kernel drops any sent. */
		if (sent)
			rx |= VR__HS_RX_CUT;
	} else {
		if (sent > VR__HS_MAX_FDS)
			rx |= VR__HS_RX_CUT; /* MSG_CTRUNC */
		if (data[0] & FH_EXCESS)
			rx |= VR__HS_RX_EXCESS;
	}
	memset(raw, 0, sizeof(raw));
	have = size - FH_HDR < FH_MSG ? size - FH_HDR : FH_MSG;
	memcpy(raw, data + FH_HDR, have < got ? have : got);

	rc = vr__hs_check_frame(got, rx);
	if (got == 0)
		want = VR_EPEERDEAD;
	else if (rx || got != FH_MSG)
		want = VR_EIO;
	else
		want = 0;
	FZ_CHECK_RC(rc == want, rc);
	if (rc)
		return 0;

	/* Exact-size heap copies: ASan sees a read past either. */
	m = (struct vr__hs_msg *)malloc(sizeof(*m));
	err = (char *)malloc(FH_ERR);
	FZ_CHECK(m != NULL && err != NULL);
	memcpy(m, raw, sizeof(*m));
	if (data[0] & FH_LISTENER) {
		listener(data, size, raw, m, err);
	} else {
		rc = connector(data, size, raw, m, err);
		/* One of vr_shm_connect's documented answers. */
		FZ_CHECK_RC(rc == 0 || rc == VR_EPERM || rc == VR_EIO ||
				    rc == VR_EPEERDEAD || rc == VR_EMAGIC ||
				    rc == VR_EVERSION || rc == VR_ETRUNC ||
				    rc == VR_EREGION,
			    rc);
	}
	free(err);
	free(m);
	return 0;
}
