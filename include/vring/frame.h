/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/frame.h
 * @brief Message framing over byte streams and over libvring channels:
 *        the freestanding core of the message protocol (docs/PROTOCOL.md).
 *
 * A virtio console port is a byte stream: what one side writes as one
 * message may arrive split in pieces or merged with the next one, and bytes
 * may be lost or damaged when a peer restarts half-way through a write.
 * Each message therefore travels in a frame that says where it starts
 * (magic), how long it is, and whether it arrived intact (CRC-32C over the
 * header and the payload, plus a CRC of the header alone so that a damaged
 * length is never trusted):
 *
 *   off size field
 *   0   2    magic 0xA5 0x56
 *   2   1    version (VR_FRAME_VERSION)
 *   3   1    type (VR_FRAME_T_*)
 *   4   2    flags (VR_FRAME_F_*), little-endian
 *   6   2    reserved, 0
 *   8   4    sequence number, little-endian
 *   12  4    payload length, little-endian
 *   16  4    CRC-32C of bytes 0..15 followed by the payload
 *   20  4    CRC-32C of bytes 0..19 (the header check)
 *   24  len  payload
 *
 * Plain text commands as a shell writes them (`echo START_ADAS_PROCESSING >
 * /dev/virtio-ports/my-ipc-port`: a line of printable ASCII ending in '\n')
 * are recognised on the same stream and reported as VR_FRAME_KIND_TEXT. A
 * text command must start a line: at the start of the stream, after a
 * frame or line the parser yielded, or after a '\n'; so the letters inside
 * damaged binary bytes are not taken for commands. Empty lines are skipped
 * (not counted as garbage): a sender that may follow damaged bytes (its
 * peer restarted mid-frame) starts a text line with '\n' to be sure.
 * Every byte fed ends up in exactly one of: yielded, dropped, blank, pending.
 *
 * Three parts, all freestanding (only memcpy/memset; memory from the
 * caller; no allocation, no clock of their own):
 *  - vr_crc32c(), vr_frame_encode() / vr_frame_seal(), and vr_frame_decode()
 *    for transports that keep message boundaries (a libvring channel: one
 *    frame per message);
 *  - struct vr_frame_parser: an incremental parser for byte streams; bytes
 *    go in at any split, validated frames come out, garbage is skipped and
 *    counted by reason;
 *  - struct vr_req_table: outstanding request sequence numbers with
 *    deadlines in the caller's clock; answers matched, duplicates, late and
 *    unknown answers reported.
 *
 * Threads: no shared state between objects; one thread at a time per
 * parser and per request table. vr_crc32c(), vr_frame_encode(),
 * vr_frame_seal() and vr_frame_decode() are reentrant.
 */
#ifndef VRING_FRAME_H
#define VRING_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detail/compiler.h"
#include "errors.h"

VR_EXTERN_C_BEGIN

/* ---- Wire format ------------------------------------------------------- */

#define VR_FRAME_MAGIC0 0xA5u /**< first magic byte: not ASCII, so never
                                   part of a text command */
#define VR_FRAME_MAGIC1 0x56u /**< second magic byte ('V') */
#define VR_FRAME_VERSION 1u
#define VR_FRAME_HDR_SIZE 24u
/** Largest payload length any parser accepts (its own limit may be lower). */
#define VR_FRAME_LEN_MAX 0x00100000u

/* Byte offsets in the header. */
#define VR_FRAME_OFF_MAGIC 0u
#define VR_FRAME_OFF_VERSION 2u
#define VR_FRAME_OFF_TYPE 3u
#define VR_FRAME_OFF_FLAGS 4u
#define VR_FRAME_OFF_RESERVED 6u
#define VR_FRAME_OFF_SEQ 8u
#define VR_FRAME_OFF_LEN 12u
#define VR_FRAME_OFF_CRC 16u
#define VR_FRAME_OFF_HCRC 20u

/** Frame types (header byte 3). 0 is never sent. */
enum vr_frame_type {
	VR_FRAME_T_REQUEST = 1,  /**< answered by a RESPONSE with the same seq
	                              (unless VR_FRAME_F_NO_REPLY) */
	VR_FRAME_T_RESPONSE = 2, /**< the answer to the REQUEST with its seq */
	VR_FRAME_T_EVENT = 3,    /**< unsolicited (telemetry); never answered */
	VR_FRAME_T_USER = 0x80   /**< 0x80..0xFF: free for applications */
};

/** Frame flags (header bytes 4..5). Receivers pass unknown bits on. */
#define VR_FRAME_F_NO_REPLY 0x0001u /**< REQUEST: the sender wants no answer */

/** What vr_frame_parser_next() / vr_frame_decode() found. */
enum vr_frame_kind {
	VR_FRAME_KIND_BINARY = 1, /**< a framed message (header valid, CRC ok) */
	VR_FRAME_KIND_TEXT = 2    /**< a plain text command line */
};

/** A frame as found. The pointers point into the parser's buffer (or the
 *  buffer given to vr_frame_decode()). */
struct vr_frame {
	uint8_t kind;     /**< enum vr_frame_kind */
	uint8_t type;     /**< BINARY: header type; TEXT: 0 */
	uint16_t flags;   /**< BINARY: header flags; TEXT: 0 */
	uint32_t seq;     /**< BINARY: header sequence number; TEXT: 0 */
	uint32_t len;     /**< payload bytes; TEXT: the line without its
	                       '\n' (and without a '\r' before it) */
	const uint8_t *payload;
	const uint8_t *raw; /**< the whole frame or line as it was on the wire */
	uint32_t raw_len;
};

/**
 * @brief CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the one of
 *        iSCSI and ext4: vr_crc32c(0, "123456789", 9) == 0xE3069283.
 * @param crc 0 to start, or the result over the bytes before @p data
 *        (so a CRC can be computed piecewise)
 * @return the CRC of everything so far
 */
uint32_t vr_crc32c(uint32_t crc, const void *data, size_t len);

/**
 * @brief Write a frame: header and a copy of @p payload into @p buf.
 * @param buf where the frame goes (VR_FRAME_HDR_SIZE + @p len bytes); may
 *        not overlap @p payload
 * @return the frame length (> 0); VR_EINVAL (buf NULL, payload NULL with
 *         len > 0, or type 0); VR_EMSGSIZE (len above VR_FRAME_LEN_MAX);
 *         VR_ENOSPC (cap too small: nothing written)
 */
int vr_frame_encode(void *buf, size_t cap, uint8_t type, uint16_t flags,
		    uint32_t seq, const void *payload, size_t len);

/**
 * @brief Zero-copy encode: the payload is already at buf +
 *        VR_FRAME_HDR_SIZE (an encoder wrote it there); fill in the header.
 * @return the frame length; errors as vr_frame_encode()
 */
int vr_frame_seal(void *buf, size_t cap, uint8_t type, uint16_t flags,
		  uint32_t seq, size_t len);

/**
 * @brief Check one whole message from a transport that keeps message
 *        boundaries (a libvring channel): exactly one frame, or one text
 *        command line (printable ASCII, starting with a letter, with or
 *        without the final '\n', after any empty lines; at most
 *        VR_FRAME_TEXT_MAX bytes).
 * @param max_payload the largest payload this receiver accepts
 * @return 0 and @p out filled; VR_EINVAL (NULL arguments, max_payload above
 *         VR_FRAME_LEN_MAX); VR_EBADMSG (too short, bad magic, version,
 *         header CRC or reserved field, length not matching the message,
 *         or neither a frame nor a text line); VR_EMSGSIZE (payload longer
 *         than max_payload); VR_ECRC (header fine, payload damaged)
 */
int vr_frame_decode(const void *msg, size_t len, uint32_t max_payload,
		    struct vr_frame *out);

/* ---- Stream parser ------------------------------------------------------ */

/** Longest text command line accepted by default (without '\n'). */
#define VR_FRAME_TEXT_MAX 128u

/** Parser options (vr_frame_parser_init flags). */
#define VR_FRAME_PARSE_NO_TEXT 0x1u /**< text lines are garbage too */

/** Why the parser skipped bytes (index into stats.drops[]). */
enum vr_frame_drop {
	VR_FRAME_DROP_JUNK = 0,   /**< bytes that start neither a frame nor a
	                               text line (one event per run) */
	VR_FRAME_DROP_MAGIC,      /**< 0xA5 not followed by 0x56 */
	VR_FRAME_DROP_HCRC,       /**< header check failed */
	VR_FRAME_DROP_VERSION,    /**< header intact, other version */
	VR_FRAME_DROP_RESERVED,   /**< header intact, reserved bytes or type 0 */
	VR_FRAME_DROP_LENGTH,     /**< header intact, length above the limit */
	VR_FRAME_DROP_CRC,        /**< header intact, payload damaged */
	VR_FRAME_DROP_TEXT,       /**< a line broken by a non-printable byte */
	VR_FRAME_DROP_TEXT_LONG,  /**< a line longer than the text limit */
	VR_FRAME_DROP_STALE,      /**< vr_frame_parser_resync(): a partial
	                               frame cut short, a complete one after it */
	VR_FRAME_DROP_COUNT
};

struct vr_frame_parser_stats {
	uint64_t bytes_in;      /**< bytes fed */
	uint64_t frames;        /**< binary frames yielded */
	uint64_t texts;         /**< text lines yielded */
	uint64_t bytes_yielded; /**< raw bytes of everything yielded */
	uint64_t bytes_dropped; /**< bytes skipped (for every reason) */
	uint64_t bytes_blank;   /**< empty lines ("\n", "\r\n") at a line start:
	                             not garbage, not yielded */
	uint64_t drops[VR_FRAME_DROP_COUNT]; /**< skip events by reason */
};

/** An incremental frame parser. Fields are private: use the functions. */
struct vr_frame_parser {
	uint8_t *buf;
	uint32_t cap;
	uint32_t head;  /* first byte not yet parsed */
	uint32_t tail;  /* end of the bytes held */
	uint32_t max_payload;
	uint32_t text_max;
	uint32_t flags;
	uint32_t text_scan; /* bytes of the line at head known printable */
	bool skip_line;     /* inside an over-long line: drop to its end */
	bool line_start;    /* the next byte starts a line: text may begin */
	bool in_junk;       /* the last byte dropped was junk (one event per run) */
	struct vr_frame_parser_stats st;
};

/** Buffer bytes a parser needs for payloads up to @p max_payload. */
#define VR_FRAME_PARSER_BUF_SIZE(max_payload) (VR_FRAME_HDR_SIZE + (max_payload))

/**
 * @brief Set up a parser over the caller's buffer.
 * @param buf at least VR_FRAME_PARSER_BUF_SIZE(max_payload) bytes, and more
 *        than the text limit + 2
 * @param max_payload longest payload accepted; a header announcing more is
 *        refused (VR_FRAME_DROP_LENGTH) before any payload byte is awaited
 * @param text_max longest text line (0: VR_FRAME_TEXT_MAX)
 * @param flags VR_FRAME_PARSE_*
 * @return 0; VR_EINVAL (NULL, max_payload 0 or above VR_FRAME_LEN_MAX,
 *         unknown flags); VR_ERANGE (buffer too small)
 */
int vr_frame_parser_init(struct vr_frame_parser *p, void *buf, size_t cap,
			 uint32_t max_payload, uint32_t text_max, uint32_t flags);

/** @brief Forget the bytes held (after a reconnect); statistics stay. */
void vr_frame_parser_reset(struct vr_frame_parser *p);

/**
 * @brief Copy bytes in. Frames yielded before stay valid until this call.
 * @return bytes taken (0..len): fewer than @p len only when the buffer is
 *         full; call vr_frame_parser_next() until VR_EAGAIN, then feed the
 *         rest
 */
size_t vr_frame_parser_feed(struct vr_frame_parser *p, const void *data, size_t len);

/**
 * @brief Zero-copy feed, step 1: where the next bytes may be written (for
 *        read(2) straight into the parser). Invalidates frames yielded
 *        before, like a feed.
 * @return the room at *@p space (0 when full: drain with next() first)
 */
size_t vr_frame_parser_space(struct vr_frame_parser *p, void **space);

/**
 * @brief Zero-copy feed, step 2: @p n bytes were written at the space.
 * @return 0; VR_EINVAL (n larger than the space)
 */
int vr_frame_parser_commit(struct vr_frame_parser *p, size_t n);

/**
 * @brief Take the next complete, validated frame or text line. Garbage in
 *        front of it is skipped and counted.
 * @return 0 and @p out filled (valid until the next feed/space/reset);
 *         VR_EAGAIN (needs more bytes); VR_EINVAL (NULL)
 */
int vr_frame_parser_next(struct vr_frame_parser *p, struct vr_frame *out);

/**
 * @brief Give up on the partial frame the held bytes start with, if a
 *        complete frame (or a complete text line after a '\n') follows
 *        it in the held bytes: drop everything before that one, so that
 *        the next vr_frame_parser_next() yields it.
 *
 * A frame cut short (its sender died mid-write) whose header is intact
 * makes the parser wait for the payload it announced, taking the frames
 * after it as that payload until the CRC fails. On a live stream that
 * happens as soon as enough bytes followed; on a quiet one, nothing more
 * may come (the peer waits for the answer to a request held in those
 * bytes). Call this when the stream has been idle for a while (say 50 ms:
 * no byte in) and vr_frame_parser_pending() is not 0. A frame that is only
 * slow to arrive is never dropped: nothing complete can follow its start
 * before its own end.
 * @return bytes still held (0: nothing was pending)
 */
uint32_t vr_frame_parser_resync(struct vr_frame_parser *p);

/** @brief Bytes held that are not parsed yet (a partial frame or line). */
uint32_t vr_frame_parser_pending(const struct vr_frame_parser *p);

/** @brief The counters since init. */
void vr_frame_parser_get_stats(const struct vr_frame_parser *p,
			       struct vr_frame_parser_stats *out);

/** Called by vr_frame_parser_push() for each frame; a negative return stops. */
typedef int (*vr_frame_cb)(void *ctx, const struct vr_frame *f);

/**
 * @brief Feed all of @p data and call @p cb for every frame it completes.
 * @return frames handled (>= 0); the callback's negative code (the rest
 *         of the bytes not fed); VR_EINVAL
 */
int vr_frame_parser_push(struct vr_frame_parser *p, const void *data, size_t len,
			 vr_frame_cb cb, void *ctx);

/** Short name of a drop reason ("junk", "hcrc", ...; "?" when unknown). */
const char *vr_frame_drop_name(unsigned reason);

/* ---- Request/response matching ------------------------------------------ */

enum vr_req_state {
	VR_REQ_FREE = 0,
	VR_REQ_PENDING = 1,  /**< sent, no answer yet, deadline not passed */
	VR_REQ_ANSWERED = 2, /**< answered (kept to spot duplicates) */
	VR_REQ_EXPIRED = 3,  /**< deadline passed (kept to spot late answers) */
	VR_REQ_CANCELLED = 4 /**< given up by the caller */
};

/** One slot of a request table (caller-provided array; private fields). */
struct vr_req_slot {
	uint64_t deadline;
	uint64_t done_at; /* when answered/expired/cancelled: oldest reused first */
	uint32_t seq;
	uint32_t state;
};

struct vr_req_stats {
	uint64_t started, answered, expired, cancelled;
	uint64_t late;      /**< answers after the deadline */
	uint64_t duplicate; /**< second answers */
	uint64_t unknown;   /**< answers to no request in the table */
};

/** Outstanding requests. Fields are private: use the functions. */
struct vr_req_table {
	struct vr_req_slot *slot;
	uint32_t n;
	uint32_t next_seq;
	uint32_t pending;
	uint64_t tick; /* orders completions for slot reuse */
	struct vr_req_stats st;
};

/**
 * @brief Set up a table over @p n caller-provided slots (at most @p n
 *        requests pending at once; finished ones are remembered until
 *        their slot is needed, to tell a duplicate or late answer from an
 *        unknown one).
 * @param first_seq the first sequence number handed out (0 becomes 1:
 *        0 is never used)
 * @return 0; VR_EINVAL (NULL or n == 0)
 */
int vr_req_init(struct vr_req_table *t, struct vr_req_slot *slots, uint32_t n,
		uint32_t first_seq);

/**
 * @brief Register a new request: picks the next sequence number (never 0,
 *        never one still in the table) and its deadline now + timeout (in
 *        the caller's clock units; saturates at UINT64_MAX).
 * @return 0 and *@p seq; VR_ENOSPC (n requests pending); VR_EINVAL
 */
int vr_req_start(struct vr_req_table *t, uint64_t now, uint64_t timeout,
		 uint32_t *seq);

/**
 * @brief An answer with sequence number @p seq arrived at @p now.
 * @return 0 (it answers a pending request, now answered); VR_ETIMEDOUT
 *         (late: its request expired, or its deadline has passed: now
 *         expired); VR_EDUPLICATE (already answered); VR_ENOMATCH
 *         (unknown, or cancelled); VR_EINVAL
 */
int vr_req_match(struct vr_req_table *t, uint32_t seq, uint64_t now);

/**
 * @brief Report one pending request whose deadline is <= @p now, marking
 *        it expired. Call until VR_EAGAIN.
 * @return 0 and *@p seq; VR_EAGAIN (none); VR_EINVAL
 */
int vr_req_expire(struct vr_req_table *t, uint64_t now, uint32_t *seq);

/** @brief Give up a pending request. @return 0; VR_ENOMATCH; VR_EINVAL */
int vr_req_cancel(struct vr_req_table *t, uint32_t seq);

/** @brief State of @p seq (enum vr_req_state), VR_REQ_FREE when unknown. */
int vr_req_state(const struct vr_req_table *t, uint32_t seq);

/** @brief The earliest pending deadline (UINT64_MAX when none is pending). */
uint64_t vr_req_next_deadline(const struct vr_req_table *t);

/** @brief Requests pending now. */
uint32_t vr_req_pending(const struct vr_req_table *t);

/** @brief The counters since init. */
void vr_req_get_stats(const struct vr_req_table *t, struct vr_req_stats *out);

VR_EXTERN_C_END

#endif /* VRING_FRAME_H */
