/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frames: encode, decode one whole message, and the incremental stream
 * parser (vring/frame.h; the format and the resynchronisation rules are in
 * docs/PROTOCOL.md). Freestanding: memcpy/memset only.
 *
 * The parser never trusts a length it has not checked: a header is used
 * only once its own CRC matches, its version and reserved bytes are right,
 * and its length is within the caller's limit, which the buffer was sized
 * for at init. So a payload is never awaited past the buffer and no sum
 * of untrusted numbers can overflow (lengths are at most VR_FRAME_LEN_MAX).
 * Whatever fails a check costs one byte (the parser moves one byte on and
 * looks for the next magic), so a frame hidden inside damaged bytes is
 * still found.
 */
#include <string.h>

#include <vring/frame.h>

static uint32_t vr__rd16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t vr__rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void vr__wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void vr__wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static bool vr__is_print(uint8_t c)
{
	return c >= 0x20u && c <= 0x7Eu;
}

static bool vr__is_letter(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* ---- Encode ------------------------------------------------------------- */

int vr_frame_seal(void *buf, size_t cap, uint8_t type, uint16_t flags,
		  uint32_t seq, size_t len)
{
	uint8_t *h = (uint8_t *)buf;
	uint32_t crc;

	if (!buf || type == 0)
		return VR_EINVAL;
	if (len > VR_FRAME_LEN_MAX)
		return VR_EMSGSIZE;
	if (cap < VR_FRAME_HDR_SIZE || cap - VR_FRAME_HDR_SIZE < len)
		return VR_ENOSPC;
	h[VR_FRAME_OFF_MAGIC] = VR_FRAME_MAGIC0;
	h[VR_FRAME_OFF_MAGIC + 1] = VR_FRAME_MAGIC1;
	h[VR_FRAME_OFF_VERSION] = VR_FRAME_VERSION;
	h[VR_FRAME_OFF_TYPE] = type;
	vr__wr16(h + VR_FRAME_OFF_FLAGS, flags);
	vr__wr16(h + VR_FRAME_OFF_RESERVED, 0);
	vr__wr32(h + VR_FRAME_OFF_SEQ, seq);
	vr__wr32(h + VR_FRAME_OFF_LEN, (uint32_t)len);
	crc = vr_crc32c(0, h, VR_FRAME_OFF_CRC);
	crc = vr_crc32c(crc, h + VR_FRAME_HDR_SIZE, len);
	vr__wr32(h + VR_FRAME_OFF_CRC, crc);
	vr__wr32(h + VR_FRAME_OFF_HCRC, vr_crc32c(0, h, VR_FRAME_OFF_HCRC));
	return (int)(VR_FRAME_HDR_SIZE + len);
}

int vr_frame_encode(void *buf, size_t cap, uint8_t type, uint16_t flags,
		    uint32_t seq, const void *payload, size_t len)
{
	if (!buf || (!payload && len > 0) || type == 0)
		return VR_EINVAL;
	if (len > VR_FRAME_LEN_MAX)
		return VR_EMSGSIZE;
	if (cap < VR_FRAME_HDR_SIZE || cap - VR_FRAME_HDR_SIZE < len)
		return VR_ENOSPC;
	if (len > 0)
		memcpy((uint8_t *)buf + VR_FRAME_HDR_SIZE, payload, len);
	return vr_frame_seal(buf, cap, type, flags, seq, len);
}

/* ---- Header checks shared by decode and the parser ----------------------- */

/* Check the 24 header bytes at h. Returns a VR_FRAME_DROP_* reason, or
 * VR_FRAME_DROP_COUNT when the header is good (then *len is its length). */
static unsigned vr__check_header(const uint8_t *h, uint32_t max_payload, uint32_t *len)
{
	if (h[VR_FRAME_OFF_MAGIC + 1] != VR_FRAME_MAGIC1)
		return VR_FRAME_DROP_MAGIC;
	if (vr_crc32c(0, h, VR_FRAME_OFF_HCRC) != vr__rd32(h + VR_FRAME_OFF_HCRC))
		return VR_FRAME_DROP_HCRC;
	if (h[VR_FRAME_OFF_VERSION] != VR_FRAME_VERSION)
		return VR_FRAME_DROP_VERSION;
	if (vr__rd16(h + VR_FRAME_OFF_RESERVED) != 0 || h[VR_FRAME_OFF_TYPE] == 0)
		return VR_FRAME_DROP_RESERVED;
	*len = vr__rd32(h + VR_FRAME_OFF_LEN);
	if (*len > max_payload)
		return VR_FRAME_DROP_LENGTH;
	return VR_FRAME_DROP_COUNT;
}

static bool vr__payload_ok(const uint8_t *h, uint32_t len)
{
	uint32_t crc = vr_crc32c(0, h, VR_FRAME_OFF_CRC);

	crc = vr_crc32c(crc, h + VR_FRAME_HDR_SIZE, len);
	return crc == vr__rd32(h + VR_FRAME_OFF_CRC);
}

static void vr__fill_binary(struct vr_frame *f, const uint8_t *h, uint32_t len)
{
	f->kind = VR_FRAME_KIND_BINARY;
	f->type = h[VR_FRAME_OFF_TYPE];
	f->flags = (uint16_t)vr__rd16(h + VR_FRAME_OFF_FLAGS);
	f->seq = vr__rd32(h + VR_FRAME_OFF_SEQ);
	f->len = len;
	f->payload = h + VR_FRAME_HDR_SIZE;
	f->raw = h;
	f->raw_len = VR_FRAME_HDR_SIZE + len;
}

static void vr__fill_text(struct vr_frame *f, const uint8_t *line, uint32_t len,
			  uint32_t raw_len)
{
	f->kind = VR_FRAME_KIND_TEXT;
	f->type = 0;
	f->flags = 0;
	f->seq = 0;
	f->len = len;
	f->payload = line;
	f->raw = line;
	f->raw_len = raw_len;
}

int vr_frame_decode(const void *msg, size_t len, uint32_t max_payload,
		    struct vr_frame *out)
{
	const uint8_t *m = (const uint8_t *)msg;
	uint32_t plen = 0;
	size_t n, i;

	if (!msg || !out || max_payload > VR_FRAME_LEN_MAX)
		return VR_EINVAL;
	if (len == 0)
		return VR_EBADMSG;
	if (m[0] == VR_FRAME_MAGIC0) {
		unsigned why;

		if (len < VR_FRAME_HDR_SIZE)
			return VR_EBADMSG;
		why = vr__check_header(m, max_payload, &plen);
		if (why == VR_FRAME_DROP_LENGTH)
			return VR_EMSGSIZE;
		if (why != VR_FRAME_DROP_COUNT)
			return VR_EBADMSG;
		if (len - VR_FRAME_HDR_SIZE != plen)
			return VR_EBADMSG;
		if (!vr__payload_ok(m, plen))
			return VR_ECRC;
		vr__fill_binary(out, m, plen);
		return 0;
	}
	/* A text command: empty lines, a letter, printable bytes, an
	 * optional line end. */
	while (len > 0 && (m[0] == '\n' || m[0] == '\r')) {
		m++;
		len--;
	}
	if (len == 0)
		return VR_EBADMSG;
	n = len;
	if (m[n - 1] == '\n') {
		n--;
		if (n > 0 && m[n - 1] == '\r')
			n--;
	}
	if (n == 0 || n > VR_FRAME_TEXT_MAX || !vr__is_letter(m[0]))
		return VR_EBADMSG;
	for (i = 0; i < n; i++)
		if (!vr__is_print(m[i]))
			return VR_EBADMSG;
	vr__fill_text(out, m, (uint32_t)n, (uint32_t)len);
	out->raw = (const uint8_t *)msg;
	out->raw_len = (uint32_t)(len + (size_t)(m - (const uint8_t *)msg));
	return 0;
}

/* ---- Stream parser ------------------------------------------------------- */

int vr_frame_parser_init(struct vr_frame_parser *p, void *buf, size_t cap,
			 uint32_t max_payload, uint32_t text_max, uint32_t flags)
{
	if (!p || !buf || max_payload == 0 || max_payload > VR_FRAME_LEN_MAX ||
	    (flags & ~(uint32_t)VR_FRAME_PARSE_NO_TEXT))
		return VR_EINVAL;
	if (text_max == 0)
		text_max = VR_FRAME_TEXT_MAX;
	if (text_max > VR_FRAME_LEN_MAX)
		return VR_EINVAL;
	/* A whole frame, and a whole line with "\r\n", must fit: then the
	 * parser always decides once its buffer is full. */
	if (cap < VR_FRAME_PARSER_BUF_SIZE(max_payload) || cap < (size_t)text_max + 2u ||
	    cap > UINT32_MAX)
		return VR_ERANGE;
	memset(p, 0, sizeof(*p));
	p->buf = (uint8_t *)buf;
	p->cap = (uint32_t)cap;
	p->max_payload = max_payload;
	p->text_max = text_max;
	p->flags = flags;
	p->line_start = true;
	return 0;
}

void vr_frame_parser_reset(struct vr_frame_parser *p)
{
	if (!p)
		return;
	p->head = p->tail = 0;
	p->text_scan = 0;
	p->skip_line = false;
	p->in_junk = false;
	p->line_start = true;
}

/* Move the unparsed bytes to the front of the buffer. Frames yielded
 * before are invalid from here on (the API says so). A forward byte copy:
 * the destination is below the source. */
static void vr__compact(struct vr_frame_parser *p)
{
	uint32_t i, n;

	if (p->head == 0)
		return;
	n = p->tail - p->head;
	for (i = 0; i < n; i++)
		p->buf[i] = p->buf[p->head + i];
	p->head = 0;
	p->tail = n;
}

size_t vr_frame_parser_feed(struct vr_frame_parser *p, const void *data, size_t len)
{
	size_t n;

	if (!p || (!data && len > 0))
		return 0;
	vr__compact(p);
	n = p->cap - p->tail;
	if (n > len)
		n = len;
	if (n > 0)
		memcpy(p->buf + p->tail, data, n);
	p->tail += (uint32_t)n;
	p->st.bytes_in += n;
	return n;
}

size_t vr_frame_parser_space(struct vr_frame_parser *p, void **space)
{
	if (!p || !space)
		return 0;
	vr__compact(p);
	*space = p->buf + p->tail;
	return p->cap - p->tail;
}

int vr_frame_parser_commit(struct vr_frame_parser *p, size_t n)
{
	if (!p || n > (size_t)(p->cap - p->tail))
		return VR_EINVAL;
	p->tail += (uint32_t)n;
	p->st.bytes_in += n;
	return 0;
}

/* Is there a complete frame (header, payload, CRC all good) at b, or,
 * with text on, a complete text line right after a '\n' at b? */
static bool vr__complete_at(const struct vr_frame_parser *p, const uint8_t *b, uint32_t avail)
{
	uint32_t len = 0, i;

	if (b[0] == VR_FRAME_MAGIC0) {
		if (avail < VR_FRAME_HDR_SIZE ||
		    vr__check_header(b, p->max_payload, &len) != VR_FRAME_DROP_COUNT ||
		    avail - VR_FRAME_HDR_SIZE < len)
			return false;
		return vr__payload_ok(b, len);
	}
	if (b[0] != '\n' || (p->flags & VR_FRAME_PARSE_NO_TEXT) || avail < 3 ||
	    !vr__is_letter(b[1]))
		return false;
	for (i = 1; i < avail && i <= p->text_max + 1; i++) {
		if (b[i] == '\n')
			return true;
		if (!vr__is_print(b[i]))
			return false;
	}
	return false;
}

uint32_t vr_frame_parser_resync(struct vr_frame_parser *p)
{
	uint32_t i, avail;

	if (!p || p->head == p->tail)
		return 0;
	avail = p->tail - p->head;
	/* Only when something complete follows: a frame that is merely slow
	 * to arrive (no complete frame can follow its start before its own
	 * end) is left alone. */
	for (i = 1; i < avail; i++) {
		if (!vr__complete_at(p, p->buf + p->head + i, avail - i))
			continue;
		p->head += i;
		p->st.bytes_dropped += i;
		p->st.drops[VR_FRAME_DROP_STALE]++;
		p->text_scan = 0;
		p->skip_line = false;
		p->in_junk = false;
		/* A line found after its '\n': the '\n' is dropped too, so the
		 * line starts the held bytes. */
		p->line_start = p->buf[p->head] == '\n';
		if (p->line_start) {
			p->head++;
			p->st.bytes_dropped++;
		}
		break;
	}
	return p->tail - p->head;
}

uint32_t vr_frame_parser_pending(const struct vr_frame_parser *p)
{
	return p ? p->tail - p->head : 0;
}

void vr_frame_parser_get_stats(const struct vr_frame_parser *p,
			       struct vr_frame_parser_stats *out)
{
	if (p && out)
		*out = p->st;
}

static void vr__drop(struct vr_frame_parser *p, uint32_t n, unsigned reason, bool event)
{
	p->head += n;
	p->st.bytes_dropped += n;
	if (event)
		p->st.drops[reason]++;
	p->text_scan = 0;
	p->line_start = false;
}

/* 1: a frame in *out; 0: need more bytes; -1: dropped something. */
static int vr__try_binary(struct vr_frame_parser *p, struct vr_frame *out)
{
	const uint8_t *h = p->buf + p->head;
	uint32_t avail = p->tail - p->head, len = 0;
	unsigned why;

	if (avail < 2)
		return 0;
	if (h[1] != VR_FRAME_MAGIC1) {
		vr__drop(p, 1, VR_FRAME_DROP_MAGIC, true);
		return -1;
	}
	if (avail < VR_FRAME_HDR_SIZE)
		return 0;
	why = vr__check_header(h, p->max_payload, &len);
	if (why != VR_FRAME_DROP_COUNT) {
		vr__drop(p, 1, why, true);
		return -1;
	}
	/* len <= max_payload, and the buffer holds HDR + max_payload. */
	if (avail - VR_FRAME_HDR_SIZE < len)
		return 0;
	if (!vr__payload_ok(h, len)) {
		vr__drop(p, 1, VR_FRAME_DROP_CRC, true);
		return -1;
	}
	vr__fill_binary(out, h, len);
	p->head += VR_FRAME_HDR_SIZE + len;
	p->line_start = true;
	p->st.frames++;
	p->st.bytes_yielded += VR_FRAME_HDR_SIZE + len;
	return 1;
}

static int vr__try_text(struct vr_frame_parser *p, struct vr_frame *out)
{
	const uint8_t *line = p->buf + p->head;
	uint32_t avail = p->tail - p->head, i = p->text_scan;

	while (i < avail) {
		uint8_t c = line[i];
		uint32_t raw;

		if (vr__is_print(c)) {
			if (++i > p->text_max) {
				/* Too long: drop it all, up to its end. */
				vr__drop(p, i, VR_FRAME_DROP_TEXT_LONG, true);
				p->skip_line = true;
				return -1;
			}
			continue;
		}
		if (c == '\n') {
			raw = i + 1;
		} else if (c == '\r') {
			if (i + 1 >= avail)
				break; /* is a '\n' next? wait and see */
			if (line[i + 1] != '\n') {
				vr__drop(p, i, VR_FRAME_DROP_TEXT, true);
				return -1;
			}
			raw = i + 2;
		} else {
			/* Broken by a byte no command has: the printable
			 * bytes before it were noise. The byte itself is
			 * looked at again (it may start a frame). */
			vr__drop(p, i, VR_FRAME_DROP_TEXT, true);
			return -1;
		}
		vr__fill_text(out, line, i, raw);
		p->head += raw;
		p->text_scan = 0;
		p->line_start = true;
		p->st.texts++;
		p->st.bytes_yielded += raw;
		return 1;
	}
	p->text_scan = i;
	return 0;
}

int vr_frame_parser_next(struct vr_frame_parser *p, struct vr_frame *out)
{
	const bool text = !(p && (p->flags & VR_FRAME_PARSE_NO_TEXT));

	if (!p || !out)
		return VR_EINVAL;
	for (;;) {
		uint32_t avail = p->tail - p->head, n;
		const uint8_t *b = p->buf + p->head;
		int r;

		if (avail == 0)
			return VR_EAGAIN;
		if (p->skip_line) {
			/* The rest of an over-long line, up to its '\n'. */
			bool nl = false;

			n = 0;
			while (n < avail && vr__is_print(b[n]))
				n++;
			if (n < avail) {
				p->skip_line = false;
				nl = b[n] == '\n';
				n += nl;
			}
			vr__drop(p, n, VR_FRAME_DROP_TEXT_LONG, false);
			p->line_start = nl;
			continue;
		}
		if (b[0] == VR_FRAME_MAGIC0) {
			p->in_junk = false;
			r = vr__try_binary(p, out);
		} else if (text && p->line_start && (b[0] == '\n' || b[0] == '\r')) {
			/* An empty line ("\n" or "\r\n"): skipped, not junk. */
			if (b[0] == '\r' && avail < 2)
				return VR_EAGAIN;
			if (b[0] == '\n' || b[1] == '\n') {
				n = b[0] == '\n' ? 1u : 2u;
				p->head += n;
				p->st.bytes_blank += n;
				p->in_junk = false;
				continue;
			}
			p->in_junk = false;
			vr__drop(p, 1, VR_FRAME_DROP_JUNK, true);
			continue;
		} else if (text && p->line_start && vr__is_letter(b[0])) {
			p->in_junk = false;
			r = vr__try_text(p, out);
		} else {
			/* Junk: skip to the next byte that may start
			 * something (a magic byte, a letter starting a
			 * line); one event per run. */
			bool nl = false;

			n = 0;
			while (n < avail && b[n] != VR_FRAME_MAGIC0 &&
			       !(text && nl && vr__is_letter(b[n]))) {
				nl = b[n] == '\n';
				n++;
			}
			vr__drop(p, n, VR_FRAME_DROP_JUNK, !p->in_junk);
			p->in_junk = true;
			p->line_start = nl;
			continue;
		}
		if (r > 0)
			return 0;
		if (r == 0)
			return VR_EAGAIN;
	}
}

int vr_frame_parser_push(struct vr_frame_parser *p, const void *data, size_t len,
			 vr_frame_cb cb, void *ctx)
{
	const uint8_t *d = (const uint8_t *)data;
	struct vr_frame f;
	int frames = 0, rc;

	if (!p || !cb || (!data && len > 0))
		return VR_EINVAL;
	do {
		size_t n = vr_frame_parser_feed(p, d, len);

		d += n;
		len -= n;
		while (vr_frame_parser_next(p, &f) == 0) {
			rc = cb(ctx, &f);
			if (rc < 0)
				return rc;
			if (frames < INT32_MAX)
				frames++;
		}
	} while (len > 0);
	return frames;
}

const char *vr_frame_drop_name(unsigned reason)
{
	static const char *const names[VR_FRAME_DROP_COUNT] = {
		"junk", "magic", "hcrc", "version", "reserved",
		"length", "crc", "text", "text_long", "stale",
	};

	return reason < VR_FRAME_DROP_COUNT ? names[reason] : "?";
}
