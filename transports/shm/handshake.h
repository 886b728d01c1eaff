/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the shm transport: the handshake's wire format
 * (docs/TRANSPORT_SHM.md, "Handshake") and every decision taken on what the
 * peer sends during it, as functions of plain values:
 *
 *  - vr__hs_check_frame: one received message, from recvmsg's length and
 *    flags;
 *  - vr__hs_parse_hello: the connector's check of the listener's HELLO (or
 *    REFUSE) and of the number of fds that came with it;
 *  - vr__hs_check_seals, vr__hs_check_size, vr__hs_check_region: the
 *    connector's checks of the region fd before and after mapping it;
 *  - vr__hs_check_ack: the listener's check of the connector's ACK;
 *  - vr__hs_make_*: the messages each end sends.
 *
 * shm.c turns the system's answers (recvmsg, fstat, F_GET_SEALS, the
 * region header after vr_region_parse) into these values and acts on the
 * result; fuzz/fuzz_shm_handshake.c and tests/test_shm_handshake.c call
 * the same code with values of their choosing. It is header-only (static
 * inline) so that each of the three compiles it in: the fuzz build has no
 * transport library, and the unit tests link none.
 *
 * All of it is pure C11: no system call, no global state, nothing from the
 * C library but memcmp, memcpy, memset and snprintf. Collecting the
 * fds of a received message, which closes those it cannot keep, is
 * handshake_rx.h.
 *
 * Every function that can fail returns 0 or a negative VR_E* code and, when
 * given a buffer, writes a one-line English reason into it (the text
 * vr_shm_last_error() shows).
 */
#ifndef VR_SHM_HANDSHAKE_H
#define VR_SHM_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vring/errors.h>
#include <vring/region.h>
/* Found next to this file whatever the includer's include path: the unit
 * test includes this header by its relative path. */
#include "include/vring/shm.h"

/* ---- Wire format ----------------------------------------------------------- */

#define VR__HS_MAGIC "VRINGSHM"
#define VR__HS_VERSION 1u
#define VR__HS_TEXT 64

enum vr__hs_type {
	VR__HS_HELLO = 1,  /* listener -> connector, with the fds */
	VR__HS_ACK = 2,    /* connector -> listener */
	VR__HS_REFUSE = 3  /* listener -> connector, then close */
};

/* Host byte order: both ends run on one host. */
struct vr__hs_msg {
	char magic[8];
	uint16_t version;
	uint16_t type;
	uint32_t flags;        /* HELLO: VR_SHM_POLLING */
	uint64_t region_bytes; /* HELLO: the header's region size */
	uint32_t queue_count;  /* HELLO */
	uint32_t generation;   /* HELLO; ACK echoes it */
	uint32_t nfds;         /* HELLO: 1 + 2 * queue_count, or 1 */
	int32_t status;        /* REFUSE: a VR_E* code */
	uint32_t pid;          /* HELLO: listener; ACK: connector */
	uint32_t reserved;     /* 0 */
	uint64_t heartbeat_ns; /* HELLO: the listener's period */
	uint64_t liveness_ns;  /* HELLO: the timeout both ends use */
	char text[VR__HS_TEXT]; /* REFUSE: reason, NUL-terminated */
};

_Static_assert(sizeof(struct vr__hs_msg) == 128, "handshake message is 128 bytes");

/* HELLO carries the region fd and, unless polling, two doorbells a queue. */
#define VR__HS_MAX_FDS (1 + 2 * VR_REGION_MAX_QUEUES)

/* The listener's timing, as the connector accepts it; outside these
 * bounds the connector uses its defaults (VR_SHM_*_DEFAULT_NS). */
#define VR__HS_HEARTBEAT_MIN_NS 100000ull      /* 100 us */
#define VR__HS_HEARTBEAT_MAX_NS 1000000000ull  /* 1 s */
#define VR__HS_LIVENESS_MAX_NS 60000000000ull  /* 60 s; at least 2 periods */

/* The timeout a connector uses when the listener's is unusable: the
 * default, or three heartbeat periods when those are longer (a timeout
 * shorter than two periods would declare a healthy peer dead). */
static inline uint64_t vr__hs_default_liveness(uint64_t heartbeat_ns)
{
	return 3 * heartbeat_ns > VR_SHM_LIVENESS_DEFAULT_NS
		       ? 3 * heartbeat_ns
		       : VR_SHM_LIVENESS_DEFAULT_NS;
}

/* Is a heartbeat period / liveness timeout pair one this end may offer? */
static inline int vr__hs_timing_ok(uint64_t heartbeat_ns, uint64_t liveness_ns)
{
	return heartbeat_ns >= VR__HS_HEARTBEAT_MIN_NS &&
	       heartbeat_ns <= VR__HS_HEARTBEAT_MAX_NS &&
	       liveness_ns >= 2 * heartbeat_ns &&
	       liveness_ns <= VR__HS_LIVENESS_MAX_NS;
}

/* F_SEAL_SHRINK of <fcntl.h> (Linux), which needs _GNU_SOURCE; shm.c
 * checks that the two agree. */
#define VR__HS_SEAL_SHRINK 0x0002

/* What a connector takes from a HELLO it accepted. */
struct vr__hs_hello {
	uint64_t region_bytes;
	uint32_t queue_count;  /* 1..VR_REGION_MAX_QUEUES */
	uint32_t generation;
	uint32_t nfds;         /* 1 + 2 * queue_count, or 1 when polling */
	uint32_t pid;
	bool polling;
	uint64_t heartbeat_ns; /* the listener's, or the default */
	uint64_t liveness_ns;  /* the listener's, or the default */
};

/* ---- Building messages --------------------------------------------------------- */

/* Zero @m, then magic, version and @type. */
static inline void vr__hs_init(struct vr__hs_msg *m, uint16_t type)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->magic, VR__HS_MAGIC, 8);
	m->version = VR__HS_VERSION;
	m->type = type;
}

/* The listener's HELLO announcing @h (h->nfds fds go with it). */
static inline void vr__hs_make_hello(struct vr__hs_msg *m,
				     const struct vr__hs_hello *h)
{
	vr__hs_init(m, VR__HS_HELLO);
	m->flags = h->polling ? VR_SHM_POLLING : 0;
	m->region_bytes = h->region_bytes;
	m->queue_count = h->queue_count;
	m->generation = h->generation;
	m->nfds = h->nfds;
	m->pid = h->pid;
	m->heartbeat_ns = h->heartbeat_ns;
	m->liveness_ns = h->liveness_ns;
}

/* The connector's ACK of generation @gen. */
static inline void vr__hs_make_ack(struct vr__hs_msg *m, uint32_t gen,
				   uint32_t pid)
{
	vr__hs_init(m, VR__HS_ACK);
	m->generation = gen;
	m->pid = pid;
}

/* The listener's REFUSE: @code and @text (cut to fit, NUL-terminated). */
static inline void vr__hs_make_refuse(struct vr__hs_msg *m, int code,
				      const char *text)
{
	size_t n = 0;

	vr__hs_init(m, VR__HS_REFUSE);
	m->status = code;
	/* At most 63 bytes: text[] keeps its NUL from vr__hs_init. */
	while (n < sizeof(m->text) - 1 && text[n] != '\0')
		n++;
	memcpy(m->text, text, n);
}

/* ---- Checking what the peer sent ------------------------------------------------- */

/* What recvmsg said besides the length (vr__hs_check_frame's @rx). */
#define VR__HS_RX_CUT 1u    /* MSG_TRUNC or MSG_CTRUNC: data or fds cut off */
#define VR__HS_RX_EXCESS 2u /* more fds than the receiver's array holds */

/*
 * One received message of @got bytes (recvmsg's positive or zero answer).
 * @return 0 (exactly one whole message, its fds all kept); VR_EPEERDEAD
 *         (@got 0: the peer closed the connection, or sent an empty
 *         message); VR_EIO (wrong size, data or fds cut off, too many fds)
 */
static inline int vr__hs_check_frame(size_t got, unsigned rx)
{
	if (got == 0)
		return VR_EPEERDEAD;
	if ((rx & (VR__HS_RX_CUT | VR__HS_RX_EXCESS)) != 0 ||
	    got != sizeof(struct vr__hs_msg))
		return VR_EIO;
	return 0;
}

static inline bool vr__hs_is(const struct vr__hs_msg *m, uint16_t type)
{
	return memcmp(m->magic, VR__HS_MAGIC, 8) == 0 &&
	       m->version == VR__HS_VERSION && m->type == type;
}

/*
 * The connector's check of the listener's first message @m, which came
 * with @nfds descriptors.
 * @return 0: a consistent HELLO, *h filled (timing within bounds or the
 *         defaults); VR_EPERM: a REFUSE (@err gives the listener's
 *         reason); VR_EIO: not a libvring shm handshake (magic, version or
 *         type), or an inconsistent HELLO (queue count outside
 *         1..VR_REGION_MAX_QUEUES, unknown flags, nfds not 1 + 2 *
 *         queue_count (1 when polling), or not the number received)
 */
static inline int vr__hs_parse_hello(const struct vr__hs_msg *m, unsigned nfds,
				     struct vr__hs_hello *h, char *err,
				     size_t err_len)
{
	uint64_t hb;

	if (vr__hs_is(m, VR__HS_REFUSE)) {
		char text[VR__HS_TEXT];

		size_t i;

		/* The peer need not have terminated it, and its bytes are
		 * not ours to print: anything but printable ASCII (a newline
		 * that would forge a second log line, escapes) becomes '?'. */
		memcpy(text, m->text, sizeof(text));
		text[VR__HS_TEXT - 1] = '\0';
		for (i = 0; i < VR__HS_TEXT - 1 && text[i]; i++)
			if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
				text[i] = '?';
		snprintf(err, err_len, "listener refused: %s", text);
		return VR_EPERM;
	}
	if (!vr__hs_is(m, VR__HS_HELLO)) {
		snprintf(err, err_len,
			 "not a libvring shm handshake (magic, version or type)");
		return VR_EIO;
	}
	/* queue_count is bounded before 2 * queue_count is computed. */
	if (m->queue_count == 0 || m->queue_count > VR_REGION_MAX_QUEUES ||
	    (m->flags & ~(uint32_t)VR_SHM_POLLING) != 0 ||
	    m->nfds != 1 + ((m->flags & VR_SHM_POLLING) ? 0 : 2 * m->queue_count) ||
	    nfds != m->nfds) {
		snprintf(err, err_len,
			 "inconsistent handshake: %u queues, flags %#x, %u fds "
			 "announced, %u received",
			 m->queue_count, m->flags, m->nfds, nfds);
		return VR_EIO;
	}
	memset(h, 0, sizeof(*h));
	h->region_bytes = m->region_bytes;
	h->queue_count = m->queue_count;
	h->generation = m->generation;
	h->nfds = m->nfds;
	h->pid = m->pid;
	h->polling = (m->flags & VR_SHM_POLLING) != 0;
	/* The listener's timing, within sane bounds. */
	hb = m->heartbeat_ns >= VR__HS_HEARTBEAT_MIN_NS &&
		     m->heartbeat_ns <= VR__HS_HEARTBEAT_MAX_NS
	     ? m->heartbeat_ns : VR_SHM_HEARTBEAT_DEFAULT_NS;
	h->heartbeat_ns = hb;
	h->liveness_ns = m->liveness_ns >= 2 * hb &&
				 m->liveness_ns <= VR__HS_LIVENESS_MAX_NS
			 ? m->liveness_ns : vr__hs_default_liveness(hb);
	return 0;
}

/*
 * The seals of the region fd, whatever kind of fd arrived: only a memfd
 * sealed against shrinking is accepted over the socket. Anything else (a
 * plain file, a named object, an unsealed memfd) could be truncated by the
 * listener under the mapping, and the connector would die of SIGBUS at its
 * next access (docs/TRANSPORT_SHM.md, "Backings").
 * @param seals fcntl(F_GET_SEALS)'s answer (negative: failed, as it does
 *        on a file that is not a memfd)
 * @return 0; VR_EREGION (not a memfd sealed against shrinking)
 */
static inline int vr__hs_check_seals(int seals, char *err, size_t err_len)
{
	if (seals < 0 || !(seals & VR__HS_SEAL_SHRINK)) {
		snprintf(err, err_len,
			 "the region fd is not a memfd sealed against shrinking");
		return VR_EREGION;
	}
	return 0;
}

/*
 * The region fd before it is mapped whole.
 * @param regular whether fstat says a regular file (memfds and shm
 *        objects are)
 * @param size fstat's st_size, as uint64_t
 * @param expect the region size the handshake announced (0: no handshake)
 * @param map_max the largest length this process can map (SIZE_MAX)
 * @return 0 (map @p size bytes); VR_EIO (not a regular file); VR_ETRUNC
 *         (smaller than the region header, or than @p expect); VR_EREGION
 *         (larger than @p map_max)
 */
static inline int vr__hs_check_size(bool regular, uint64_t size, uint64_t expect,
				    uint64_t map_max, char *err, size_t err_len)
{
	if (!regular) {
		snprintf(err, err_len,
			 "the region is not a regular file or shared memory object");
		return VR_EIO;
	}
	if (size < VR_REGION_HEADER_BYTES) {
		snprintf(err, err_len,
			 "region truncated: %lld bytes, less than the %u-byte header",
			 (long long)size, VR_REGION_HEADER_BYTES);
		return VR_ETRUNC;
	}
	if (size > map_max) {
		snprintf(err, err_len, "region too large to map");
		return VR_EREGION;
	}
	if (expect && size < expect) {
		snprintf(err, err_len,
			 "region truncated: %lld bytes, the handshake says %llu",
			 (long long)size, (unsigned long long)expect);
		return VR_ETRUNC;
	}
	return 0;
}

/*
 * After vr_region_parse accepted the mapped region: its header must say
 * what the HELLO said (size, queue count, generation).
 * @return 0; VR_EREGION
 */
static inline int vr__hs_check_region(const struct vr__hs_hello *h,
				      const struct vr_region_info *info,
				      char *err, size_t err_len)
{
	if (info->region_bytes != h->region_bytes ||
	    info->queue_count != h->queue_count ||
	    info->generation != h->generation) {
		snprintf(err, err_len, "the region header disagrees with the handshake");
		return VR_EREGION;
	}
	return 0;
}

/*
 * The listener's check of the connector's answer to the HELLO of
 * generation @gen.
 * @return 0 (an ACK echoing @gen: m->pid is the connector's); VR_EIO
 */
static inline int vr__hs_check_ack(const struct vr__hs_msg *m, uint32_t gen)
{
	if (!vr__hs_is(m, VR__HS_ACK) || m->generation != gen)
		return VR_EIO;
	return 0;
}

#endif /* VR_SHM_HANDSHAKE_H */
