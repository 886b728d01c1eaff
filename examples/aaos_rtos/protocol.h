/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The automotive demo's message protocol, shared by aaos (the driver end of
 * the channel) and rtos (the device end).
 *
 * Every message is a fixed 24-byte header followed by payload_len bytes of
 * payload. All integers are little-endian, whatever the CPU:
 *
 *   offset  type  field
 *        0  u16   type          enum proto_type
 *        2  u16   flags         enum proto_flags
 *        4  u32   seq           sender's message number, from 1, +1 each
 *        8  u64   send_time_ns  sender's CLOCK_MONOTONIC at sending
 *       16  u32   payload_len   bytes after the header
 *       20  u32   checksum      FNV-1a 32 over header bytes 0..19, then
 *                               the payload
 *
 * Payloads (little-endian too):
 *   SET_SENSOR_GAIN_HIGH   u32 sensor_mask, u32 gain_centi_db       (8)
 *   START_ADAS_PROCESSING  u32 function_mask, u32 frame_period_us   (8)
 *   SENSOR_FRAME           u16 sensor_id, u16 0, u32 frame_no, then
 *                          sensor bytes                             (64..1024)
 *   STOP_ADAS_PROCESSING   none                                     (0)
 *   SHUTDOWN               none                                     (0)
 *   ACK                    u16 status, u16 acked_type, u32 acked_seq,
 *                          u32 detail                               (12)
 *
 * Every message but an ACK gets exactly one ACK back, in order; status 0
 * acknowledges, any other status is a NACK saying why the message was
 * refused. An ACK is never acknowledged (no loops); a side that refuses an
 * ACK logs it and sends a NACK for it all the same, which the other side
 * only logs.
 *
 * The peer is not trusted (docs/HOSTILE.md, entries 20, 32 and 39): a
 * receiver copies the header out of shared memory once, refuses a message
 * shorter than the header or whose payload_len disagrees with the length
 * it received (never computing len - 24 before checking it), checks the
 * type and the checksum, and only then looks at the payload, which it also
 * reads once. The buffer always goes back to the ring, valid or not.
 */
#ifndef AAOS_RTOS_PROTOCOL_H
#define AAOS_RTOS_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PROTO_HDR_BYTES 24u
#define PROTO_ACK_PAYLOAD 12u
#define PROTO_CMD_PAYLOAD 8u
#define PROTO_FRAME_MIN 64u   /* frame payload bytes, smallest */
#define PROTO_FRAME_MAX 1024u /* and largest */
#define PROTO_MAX_MSG (PROTO_HDR_BYTES + PROTO_FRAME_MAX)

enum proto_type {
	PROTO_SET_SENSOR_GAIN_HIGH = 1,
	PROTO_START_ADAS_PROCESSING = 2,
	PROTO_SENSOR_FRAME = 3,
	PROTO_STOP_ADAS_PROCESSING = 4,
	PROTO_SHUTDOWN = 5,
	PROTO_ACK = 6
};

enum proto_flags {
	/* ACK: the refused message was too short to carry a type and a
	 * sequence number; acked_type and acked_seq are 0. */
	PROTO_F_SEQ_UNKNOWN = 1u << 0
};

/* ACK status: 0 acknowledges, the rest are NACK reasons. */
enum proto_status {
	PROTO_OK = 0,
	PROTO_ERR_SHORT = 1,    /* shorter than the header */
	PROTO_ERR_LENGTH = 2,   /* payload_len disagrees with the received length */
	PROTO_ERR_TYPE = 3,     /* unknown type */
	PROTO_ERR_CHECKSUM = 4, /* checksum mismatch */
	PROTO_ERR_PAYLOAD = 5,  /* payload size or content wrong for the type */
	PROTO_ERR_STATE = 6     /* not valid now (frame while ADAS is stopped) */
};

/* The header, decoded into host byte order. */
struct proto_hdr {
	uint16_t type;
	uint16_t flags;
	uint32_t seq;
	uint64_t send_time_ns;
	uint32_t payload_len;
	uint32_t checksum;
};

struct proto_ack {
	uint16_t status;
	uint16_t acked_type;
	uint32_t acked_seq;
	uint32_t detail;
};

/* ---- Little-endian access ---------------------------------------------- */

static inline void proto_put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void proto_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static inline void proto_put64(unsigned char *p, uint64_t v)
{
	proto_put32(p, (uint32_t)v);
	proto_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t proto_get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t proto_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t proto_get64(const unsigned char *p)
{
	return (uint64_t)proto_get32(p) | ((uint64_t)proto_get32(p + 4) << 32);
}

/* ---- Checksum: FNV-1a, 32 bits ------------------------------------------- */

#define PROTO_FNV_INIT 2166136261u

static inline uint32_t proto_fnv(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

/* ---- Names ------------------------------------------------------------------ */

static inline const char *proto_type_name(uint32_t type)
{
	switch (type) {
	case PROTO_SET_SENSOR_GAIN_HIGH: return "SET_SENSOR_GAIN_HIGH";
	case PROTO_START_ADAS_PROCESSING: return "START_ADAS_PROCESSING";
	case PROTO_SENSOR_FRAME: return "SENSOR_FRAME";
	case PROTO_STOP_ADAS_PROCESSING: return "STOP_ADAS_PROCESSING";
	case PROTO_SHUTDOWN: return "SHUTDOWN";
	case PROTO_ACK: return "ACK";
	default: return "(unknown type)";
	}
}

static inline const char *proto_status_name(uint32_t status)
{
	switch (status) {
	case PROTO_OK: return "ok";
	case PROTO_ERR_SHORT: return "shorter than the header";
	case PROTO_ERR_LENGTH: return "payload_len disagrees with the received length";
	case PROTO_ERR_TYPE: return "unknown type";
	case PROTO_ERR_CHECKSUM: return "checksum mismatch";
	case PROTO_ERR_PAYLOAD: return "payload wrong for the type";
	case PROTO_ERR_STATE: return "not valid in this state";
	default: return "(unknown status)";
	}
}

/* ---- Building ------------------------------------------------------------------ */

/*
 * Sending in three steps, so that a message built in place in the shared
 * region is never read back from there (the peer could change it under us):
 * proto_head() encodes the first 20 header bytes into a private @h and
 * starts the checksum; the payload is written, its bytes folded into the
 * checksum from private copies (proto_frame_fill does so); proto_finish()
 * stores the checksum and copies the header to @out.
 */
static inline uint32_t proto_head(unsigned char h[PROTO_HDR_BYTES], uint16_t type,
				  uint16_t flags, uint32_t seq, uint64_t send_time_ns,
				  uint32_t payload_len)
{
	proto_put16(h + 0, type);
	proto_put16(h + 2, flags);
	proto_put32(h + 4, seq);
	proto_put64(h + 8, send_time_ns);
	proto_put32(h + 16, payload_len);
	return proto_fnv(PROTO_FNV_INIT, h, 20);
}

static inline void proto_finish(unsigned char *out, unsigned char h[PROTO_HDR_BYTES],
				uint32_t sum)
{
	proto_put32(h + 20, sum);
	memcpy(out, h, PROTO_HDR_BYTES);
}

/*
 * All three steps for a message built in private memory: the payload_len
 * payload bytes are already at out + PROTO_HDR_BYTES.
 */
static inline void proto_seal(unsigned char *out, uint16_t type, uint16_t flags,
			      uint32_t seq, uint64_t send_time_ns,
			      uint32_t payload_len)
{
	unsigned char h[PROTO_HDR_BYTES];
	uint32_t sum = proto_head(h, type, flags, seq, send_time_ns, payload_len);

	proto_finish(out, h, proto_fnv(sum, out + PROTO_HDR_BYTES, payload_len));
}

static inline void proto_ack_payload(unsigned char *p, const struct proto_ack *a)
{
	proto_put16(p + 0, a->status);
	proto_put16(p + 2, a->acked_type);
	proto_put32(p + 4, a->acked_seq);
	proto_put32(p + 8, a->detail);
}

/* ---- Checking --------------------------------------------------------------------- */

/* Decode a header from a private copy of its 24 bytes. */
static inline void proto_decode(const unsigned char *h, struct proto_hdr *out)
{
	out->type = proto_get16(h + 0);
	out->flags = proto_get16(h + 2);
	out->seq = proto_get32(h + 4);
	out->send_time_ns = proto_get64(h + 8);
	out->payload_len = proto_get32(h + 16);
	out->checksum = proto_get32(h + 20);
}

/*
 * The checks that need the header only: @received_len is what the channel
 * says arrived, @h the decoded private copy (only meaningful when
 * received_len >= PROTO_HDR_BYTES). Returns a proto_status.
 */
static inline int proto_check_header(const struct proto_hdr *h, size_t received_len)
{
	if (received_len < PROTO_HDR_BYTES)
		return PROTO_ERR_SHORT;
	/* received_len >= 24 here, so the subtraction cannot wrap. */
	if ((uint64_t)h->payload_len != (uint64_t)(received_len - PROTO_HDR_BYTES))
		return PROTO_ERR_LENGTH;
	if (h->type < PROTO_SET_SENSOR_GAIN_HIGH || h->type > PROTO_ACK)
		return PROTO_ERR_TYPE;
	return PROTO_OK;
}

/* The payload size each type must have (frames: a range). */
static inline int proto_check_payload_size(const struct proto_hdr *h)
{
	switch (h->type) {
	case PROTO_SET_SENSOR_GAIN_HIGH:
	case PROTO_START_ADAS_PROCESSING:
		return h->payload_len == PROTO_CMD_PAYLOAD ? PROTO_OK : PROTO_ERR_PAYLOAD;
	case PROTO_SENSOR_FRAME:
		return h->payload_len >= PROTO_FRAME_MIN && h->payload_len <= PROTO_FRAME_MAX
			? PROTO_OK : PROTO_ERR_PAYLOAD;
	case PROTO_STOP_ADAS_PROCESSING:
	case PROTO_SHUTDOWN:
		return h->payload_len == 0 ? PROTO_OK : PROTO_ERR_PAYLOAD;
	case PROTO_ACK:
		return h->payload_len == PROTO_ACK_PAYLOAD ? PROTO_OK : PROTO_ERR_PAYLOAD;
	default:
		return PROTO_ERR_TYPE;
	}
}

/* The header part of the checksum, from the private copy of the header. */
static inline uint32_t proto_header_sum(const unsigned char *h)
{
	return proto_fnv(PROTO_FNV_INIT, h, 20);
}

/* ---- Deterministic frame content ---------------------------------------------- */

/* Payload size of frame @n: 64..1024 bytes, spread by a hash of n. */
static inline uint32_t proto_frame_size(uint64_t n)
{
	uint64_t x = (n + 1) * 0x9e3779b97f4a7c15ull;

	x ^= x >> 29;
	return PROTO_FRAME_MIN + (uint32_t)(x % (PROTO_FRAME_MAX - PROTO_FRAME_MIN + 1));
}

/*
 * Write the payload of frame @n (sensor @sensor, @len >= 8 bytes) at @p,
 * folding every byte into the checksum @sum from the private value written,
 * never from @p. Returns the checksum.
 */
static inline uint32_t proto_frame_fill(unsigned char *p, uint32_t len, uint64_t n,
					uint16_t sensor, uint32_t sum)
{
	uint64_t x = n * 0xd1b54a32d192ed03ull + 0x8bb84b93962eacc9ull;
	unsigned char w[8];
	uint32_t i;

	proto_put16(w, sensor);
	proto_put16(w + 2, 0);
	proto_put32(w + 4, (uint32_t)n);
	memcpy(p, w, 8);
	sum = proto_fnv(sum, w, 8);
	for (i = 8; i + 8 <= len; i += 8) {
		/* xorshift64: cheap, deterministic sensor "pixels" */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		proto_put64(w, x);
		memcpy(p + i, w, 8);
		sum = proto_fnv(sum, w, 8);
	}
	for (; i < len; i++) {
		w[0] = (unsigned char)(i ^ n);
		p[i] = w[0];
		sum = proto_fnv(sum, w, 1);
	}
	return sum;
}

#endif /* AAOS_RTOS_PROTOCOL_H */
