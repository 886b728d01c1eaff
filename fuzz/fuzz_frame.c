/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the frame stream parser (vring/frame.h), as the RTOS and the
 * Linux side run it on a virtio console: any bytes, fed at any split.
 *
 * Input:
 *   byte 0     max payload: 1 + byte * 4 (1..1021)
 *   byte 1     bit 0: no text; bits 1..7: text limit (0: the default)
 *   byte 2     n: how many chunk-size bytes follow (n % 32)
 *   n bytes    chunk sizes, used in turn: 1 + (b & 0x7f); bit 7 set: call
 *              vr_frame_parser_resync() after that chunk (the stream went
 *              quiet)
 *   the rest   the byte stream
 *
 * The stream is also checked whole with vr_frame_decode(), as one message
 * of a channel.
 *
 * Invariants (abort when broken): every binary frame yielded re-validates
 * with vr_frame_decode() and re-encodes to the same bytes, lies inside the
 * parser's buffer and within the payload limit; every text line is a line
 * of printable ASCII starting with a letter, within the text limit; every
 * byte fed is yielded, dropped, blank or pending (no byte lost or counted
 * twice); a full buffer always lets the parser decide (no stall).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vring/frame.h>

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",      \
				__FILE__, __LINE__, #c);                      \
			abort();                                              \
		}                                                             \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	const uint8_t *buf;
	size_t cap;
	uint32_t max_payload, text_max;
	uint64_t yielded;
};

static void check_frame(struct ctx *c, const struct vr_frame *f)
{
	CHECK(f->raw >= c->buf && f->raw_len <= c->cap &&
	      (size_t)(f->raw - c->buf) <= c->cap - f->raw_len);
	c->yielded += f->raw_len;
	if (f->kind == VR_FRAME_KIND_BINARY) {
		struct vr_frame g;
		uint8_t *again;
		int n;

		CHECK(f->len <= c->max_payload);
		CHECK(f->payload == f->raw + VR_FRAME_HDR_SIZE);
		CHECK(f->raw_len == VR_FRAME_HDR_SIZE + f->len);
		CHECK(f->type != 0);
		CHECK(vr_frame_decode(f->raw, f->raw_len, c->max_payload, &g) == 0);
		CHECK(g.kind == f->kind && g.type == f->type && g.flags == f->flags &&
		      g.seq == f->seq && g.len == f->len && g.payload == f->payload);
		again = malloc(f->raw_len);
		CHECK(again != NULL);
		n = vr_frame_encode(again, f->raw_len, f->type, f->flags, f->seq, f->payload, f->len);
		CHECK(n == (int)f->raw_len);
		CHECK(memcmp(again, f->raw, f->raw_len) == 0);
		free(again);
		return;
	}
	CHECK(f->kind == VR_FRAME_KIND_TEXT);
	CHECK(f->len >= 1 && f->len <= c->text_max);
	CHECK(f->payload == f->raw);
	CHECK((f->payload[0] >= 'A' && f->payload[0] <= 'Z') ||
	      (f->payload[0] >= 'a' && f->payload[0] <= 'z'));
	for (uint32_t i = 0; i < f->len; i++)
		CHECK(f->payload[i] >= 0x20 && f->payload[i] <= 0x7e);
	CHECK(f->raw_len == f->len + 1 || (f->raw_len == f->len + 2 && f->raw[f->len] == '\r'));
	CHECK(f->raw[f->raw_len - 1] == '\n');
}

static void check_books(const struct vr_frame_parser *p, const struct ctx *c)
{
	struct vr_frame_parser_stats st;

	vr_frame_parser_get_stats(p, &st);
	CHECK(st.bytes_in == st.bytes_yielded + st.bytes_dropped + st.bytes_blank +
				     vr_frame_parser_pending(p));
	CHECK(st.bytes_yielded == c->yielded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vr_frame_parser p;
	struct vr_frame f;
	struct ctx c;
	const uint8_t *chunks, *s;
	size_t nchunks, len, k = 0;
	uint32_t flags, text_max;
	uint8_t *buf;

	if (size < 3)
		return 0;
	memset(&c, 0, sizeof(c));
	c.max_payload = 1u + (uint32_t)data[0] * 4u;
	flags = (data[1] & 1u) ? VR_FRAME_PARSE_NO_TEXT : 0;
	text_max = data[1] >> 1;
	nchunks = data[2] % 32u;
	if (size - 3 < nchunks)
		nchunks = size - 3;
	chunks = data + 3;
	s = chunks + nchunks;
	len = size - 3 - nchunks;
	c.text_max = text_max ? text_max : VR_FRAME_TEXT_MAX;
	/* The smallest buffer the parser accepts, allocated exactly, so
	 * that ASan sees a byte past it. */
	c.cap = VR_FRAME_PARSER_BUF_SIZE(c.max_payload);
	if (c.cap < (size_t)c.text_max + 2)
		c.cap = (size_t)c.text_max + 2;
	buf = malloc(c.cap);
	CHECK(buf != NULL);
	c.buf = buf;
	CHECK(vr_frame_parser_init(&p, buf, c.cap - 1, c.max_payload, text_max, flags) == VR_ERANGE);
	CHECK(vr_frame_parser_init(&p, buf, c.cap, c.max_payload, text_max, flags) == 0);

	/* The same bytes as one channel message (boundaries kept). */
	{
		struct vr_frame g;
		uint8_t *copy = malloc(len ? len : 1);
		int rc;

		CHECK(copy != NULL);
		memcpy(copy, s, len);
		rc = vr_frame_decode(copy, len, c.max_payload, &g);
		CHECK(rc == 0 || rc == VR_EBADMSG || rc == VR_EMSGSIZE || rc == VR_ECRC);
		if (rc == 0 && g.kind == VR_FRAME_KIND_BINARY) {
			CHECK(g.raw == copy && g.raw_len == len && g.len <= c.max_payload);
			CHECK(g.len == len - VR_FRAME_HDR_SIZE);
		} else if (rc == 0) {
			CHECK(g.kind == VR_FRAME_KIND_TEXT && g.len >= 1 && g.len <= VR_FRAME_TEXT_MAX);
			CHECK(g.payload >= copy && g.payload + g.len <= copy + len);
			for (uint32_t i = 0; i < g.len; i++)
				CHECK(g.payload[i] >= 0x20 && g.payload[i] <= 0x7e);
		}
		free(copy);
	}

	while (len > 0) {
		uint8_t cb = nchunks ? chunks[k++ % nchunks] : 0x7f;
		size_t want = 1u + (cb & 0x7fu), took;

		if (want > len)
			want = len;
		took = vr_frame_parser_feed(&p, s, want);
		s += took;
		len -= took;
		/* The parser was drained to VR_EAGAIN: it never stalls with a
		 * full buffer, so there is room for at least one byte. */
		CHECK(took > 0);
		while (vr_frame_parser_next(&p, &f) == 0)
			check_frame(&c, &f);
		if (cb & 0x80u) {
			uint32_t before = vr_frame_parser_pending(&p);

			CHECK(vr_frame_parser_resync(&p) <= before);
			while (vr_frame_parser_next(&p, &f) == 0)
				check_frame(&c, &f);
		}
		check_books(&p, &c);
	}
	free(buf);
	return 0;
}
