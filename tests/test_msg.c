/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Linux call set (vring/msg_client.h) against a fake RTOS: a thread
 * that runs what a bare-metal application would (the freestanding frame
 * parser and nanopb, vring/msg_nanopb.h) on the other end of a socketpair,
 * a unix socket or a libvring channel. 1,000 typed commands each answered
 * and checked; garbage, truncated frames, inflated lengths, bit flips,
 * duplicates and unknown answers injected both ways; every split position;
 * a responder that stops answering, then resumes; and protobuf-c <-> nanopb
 * interop, field by field.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <pb_decode.h>
#include <pb_encode.h>
#include <vring/frame.h>
#include <vring/msg_client.h>
#include <vring/msg_nanopb.h>
#include <vring/vring.h>

#include "loopback.h"

#define CALL_MS 5000 /* generous: the machine is shared */
#define MS 1000000ull

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- The fake RTOS ------------------------------------------------------------- */

enum rtos_mode {
	RTOS_RUN = 0,
	RTOS_MUTE = 1, /* takes requests, never answers */
	RTOS_HOLD = 2, /* keeps its answers, sends them when back to RUN */
	RTOS_STOP = 3
};

struct rtos {
	int fd;               /* byte-stream end, or -1 */
	struct vr_chan *ch;   /* channel end (device), or NULL */
	pthread_t th;
	_Atomic int mode;
	_Atomic int garbage;  /* inject garbage before each answer */
	_Atomic int split;    /* write each answer in two, cut here (0: whole) */
	_Atomic int send_event; /* send one Telemetry event and a text line */
	_Atomic unsigned handled;
	_Atomic unsigned texts;
	_Atomic unsigned seen;  /* frames and lines taken from the stream */
	unsigned adas_started;
	uint32_t rng;
	uint8_t *pbuf;        /* exact size: ASan sees any overrun */
	struct vr_frame_parser parser;
	uint8_t held[64][VR_MSGPB_FRAME_MAX];
	int held_len[64];
	unsigned nheld;
	uint8_t last[VR_MSGPB_FRAME_MAX + VR_MSGPB_TEXT_ANSWER_MAX];
	int last_len;
	struct vr_frame_parser_stats st; /* copy at stop */
};

static uint32_t xr(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void rtos_write_raw(struct rtos *r, const void *d, size_t n)
{
	const uint8_t *b = d;

	if (r->ch) {
		assert_int_equal(vr_chan_send(r->ch, d, n, 1000 * MS), 0);
		return;
	}
	while (n > 0) {
		ssize_t k = send(r->fd, b, n, MSG_NOSIGNAL);

		if (k < 0 && errno == ENOTSOCK)
			k = write(r->fd, b, n); /* a terminal */
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return; /* the Linux side went away */
		b += k;
		n -= (size_t)k;
	}
}

/* Garbage before an answer, of one kind after another. */
static void rtos_garbage(struct rtos *r)
{
	uint8_t g[300], f[VR_MSGPB_FRAME_MAX];
	vrmsg_Envelope e;
	unsigned kind = xr(&r->rng) % 6, i;
	uint32_t v, c;
	int n;

	memset(&e, 0, sizeof(e));
	e.which_body = vrmsg_Envelope_ack_tag;
	e.body.ack.status = vrmsg_Status_STATUS_OK;
	memcpy(e.body.ack.detail, "bogus", 6);
	switch (kind) {
	case 0: /* junk, with stray magic bytes; no '\n' and a control byte
		 * first, so that it cannot pass for a text line (which no
		 * parser could tell from a real one) */
		for (i = 0; i < sizeof(g); i++) {
			g[i] = (uint8_t)(xr(&r->rng) % 7 == 0 ? VR_FRAME_MAGIC0 : xr(&r->rng));
			if (g[i] == '\n')
				g[i] = 0;
		}
		g[0] = 0x01;
		/* A channel message is at most its buffer (256 here). */
		rtos_write_raw(r, g, 1 + xr(&r->rng) % (r->ch ? 200u : sizeof(g)));
		break;
	case 1: /* a frame cut short */
		n = vr_msgpb_encode(f, sizeof(f), VR_FRAME_T_RESPONSE, 0, 0x0F000000u, &e);
		rtos_write_raw(r, f, (size_t)(VR_FRAME_HDR_SIZE + 1 + xr(&r->rng) % (unsigned)(n - VR_FRAME_HDR_SIZE - 1)));
		break;
	case 2: /* a checked header announcing far too much */
		n = vr_msgpb_encode(f, sizeof(f), VR_FRAME_T_RESPONSE, 0, 0x0F000001u, &e);
		v = 0x80000000u | xr(&r->rng);
		memcpy(f + VR_FRAME_OFF_LEN, &v, 4);
		c = vr_crc32c(0, f, VR_FRAME_OFF_HCRC);
		memcpy(f + VR_FRAME_OFF_HCRC, &c, 4);
		rtos_write_raw(r, f, (size_t)n);
		break;
	case 3: /* one bit flipped */
		n = vr_msgpb_encode(f, sizeof(f), VR_FRAME_T_RESPONSE, 0, 0x0F000002u, &e);
		v = xr(&r->rng) % ((unsigned)n * 8);
		f[v / 8] ^= (uint8_t)(1u << (v % 8));
		rtos_write_raw(r, f, (size_t)n);
		break;
	case 4: /* an answer to nothing */
		n = vr_msgpb_encode(f, sizeof(f), VR_FRAME_T_RESPONSE, 0, 0x0F000003u, &e);
		rtos_write_raw(r, f, (size_t)n);
		break;
	default: /* the previous answer again: a duplicate */
		if (r->last_len > 0)
			rtos_write_raw(r, r->last, (size_t)r->last_len);
		break;
	}
}

static void rtos_answer(struct rtos *r, const void *d, size_t n)
{
	int cut = atomic_load(&r->split);

	if (atomic_load(&r->mode) == RTOS_MUTE)
		return;
	if (atomic_load(&r->mode) == RTOS_HOLD && r->nheld < 64 && n <= VR_MSGPB_FRAME_MAX) {
		memcpy(r->held[r->nheld], d, n);
		r->held_len[r->nheld++] = (int)n;
		return;
	}
	if (atomic_load(&r->garbage))
		rtos_garbage(r);
	if (cut > 0 && (size_t)cut < n && !r->ch) {
		rtos_write_raw(r, d, (size_t)cut);
		sleep_ms(2);
		rtos_write_raw(r, (const uint8_t *)d + cut, n - (size_t)cut);
	} else {
		rtos_write_raw(r, d, n);
	}
	if (n <= sizeof(r->last) && ((const uint8_t *)d)[0] == VR_FRAME_MAGIC0) {
		memcpy(r->last, d, n);
		r->last_len = (int)n;
	}
}

/* What the RTOS application does with a request. */
static void rtos_handle(struct rtos *r, const vrmsg_Envelope *q, vrmsg_Envelope *a)
{
	unsigned count = atomic_fetch_add(&r->handled, 1) + 1;

	memset(a, 0, sizeof(*a));
	a->which_body = vrmsg_Envelope_ack_tag;
	switch (q->which_body) {
	case vrmsg_Envelope_set_sensor_gain_tag: {
		const vrmsg_SetSensorGain *g = &q->body.set_sensor_gain;

		if (g->level > vrmsg_GainLevel_GAIN_HIGH || g->sensor > vrmsg_Sensor_SENSOR_REAR_CAMERA) {
			a->body.ack.status = vrmsg_Status_STATUS_BAD_REQUEST;
			snprintf(a->body.ack.detail, sizeof(a->body.ack.detail), "bad gain");
		} else {
			snprintf(a->body.ack.detail, sizeof(a->body.ack.detail), "gain s=%d l=%d mdb=%d",
				 (int)g->sensor, (int)g->level, (int)g->gain_mdb);
		}
		break;
	}
	case vrmsg_Envelope_start_adas_processing_tag: {
		const vrmsg_StartAdasProcessing *s = &q->body.start_adas_processing;

		if (s->frame_rate_hz > 120) {
			a->body.ack.status = vrmsg_Status_STATUS_REJECTED;
			snprintf(a->body.ack.detail, sizeof(a->body.ack.detail), "rate");
		} else {
			r->adas_started = 1;
			snprintf(a->body.ack.detail, sizeof(a->body.ack.detail), "adas m=%u r=%u ll=%d",
				 (unsigned)s->stage_mask, (unsigned)s->frame_rate_hz, (int)s->low_latency);
		}
		break;
	}
	case vrmsg_Envelope_get_telemetry_tag: {
		vrmsg_Telemetry *t = &a->body.telemetry;

		a->which_body = vrmsg_Envelope_telemetry_tag;
		t->uptime_us = (uint64_t)count * 1000u;
		t->cpu_temp_cdeg = -(int32_t)count;
		t->cpu_load_permille = count % 1000u;
		t->frames_processed = count;
		t->frames_dropped = (uint32_t)r->parser.st.bytes_dropped;
		t->vehicle_speed_cmps = 1234;
		t->adas_active = r->adas_started != 0;
		t->sensor_temp_cdeg_count = 4;
		t->sensor_temp_cdeg[0] = (int32_t)count;
		t->sensor_temp_cdeg[1] = -(int32_t)count;
		t->sensor_temp_cdeg[2] = 2 * (int32_t)count;
		t->sensor_temp_cdeg[3] = 7;
		t->timestamp_ns = 0xABCDEF0000000000ull | count;
		break;
	}
	default:
		a->body.ack.status = vrmsg_Status_STATUS_UNSUPPORTED;
		break;
	}
}

static int rtos_on_frame(void *ctx, const struct vr_frame *f)
{
	struct rtos *r = ctx;
	vrmsg_Envelope q, a;
	uint8_t out[VR_MSGPB_FRAME_MAX + VR_MSGPB_TEXT_ANSWER_MAX];
	int rc, n;

	atomic_fetch_add(&r->seen, 1);
	rc = vr_msgpb_request(f, &q);
	if (f->kind == VR_FRAME_KIND_TEXT) {
		atomic_fetch_add(&r->texts, 1);
		if (rc == 0) {
			rtos_handle(r, &q, &a);
			n = vr_msgpb_text_answer(out, sizeof(out), f->payload, f->len,
						 a.which_body == vrmsg_Envelope_ack_tag ? &a.body.ack : &(vrmsg_Ack){0});
		} else {
			n = vr_msgpb_text_answer(out, sizeof(out), f->payload, f->len, NULL);
		}
		assert_true(n > 0);
		rtos_answer(r, out, (size_t)n);
		return 0;
	}
	if (f->type != VR_FRAME_T_REQUEST)
		return 0; /* the RTOS takes no answers or events */
	if (rc != 0) {
		memset(&a, 0, sizeof(a));
		a.which_body = vrmsg_Envelope_ack_tag;
		a.body.ack.status = vrmsg_Status_STATUS_BAD_REQUEST;
	} else {
		rtos_handle(r, &q, &a);
	}
	n = vr_msgpb_encode(out, sizeof(out), VR_FRAME_T_RESPONSE, 0, f->seq, &a);
	assert_true(n > 0);
	rtos_answer(r, out, (size_t)n);
	return 0;
}

static void rtos_events(struct rtos *r)
{
	vrmsg_Envelope e;
	uint8_t out[VR_MSGPB_FRAME_MAX];
	int n;

	if (!atomic_exchange(&r->send_event, 0))
		return;
	memset(&e, 0, sizeof(e));
	e.which_body = vrmsg_Envelope_telemetry_tag;
	e.body.telemetry.frames_processed = 4242;
	n = vr_msgpb_encode(out, sizeof(out), VR_FRAME_T_EVENT, 0, 0, &e);
	assert_true(n > 0);
	rtos_write_raw(r, out, (size_t)n);
	rtos_write_raw(r, "HELLO FROM RTOS\n", 16);
}

static void *rtos_main(void *arg)
{
	struct rtos *r = arg;
	uint8_t in[512];

	while (atomic_load(&r->mode) != RTOS_STOP) {
		ssize_t n;

		if (atomic_load(&r->mode) == RTOS_RUN && r->nheld > 0) {
			for (unsigned i = 0; i < r->nheld; i++)
				rtos_write_raw(r, r->held[i], (size_t)r->held_len[i]);
			r->nheld = 0;
		}
		rtos_events(r);
		if (r->ch) {
			/* A channel keeps boundaries: one frame per message. */
			int len = vr_chan_recv(r->ch, in, sizeof(in), 20 * MS);
			struct vr_frame f;

			if (len > 0 && vr_frame_decode(in, (size_t)len, VR_MSGPB_MAX_PAYLOAD, &f) == 0)
				rtos_on_frame(r, &f);
			continue;
		}
		struct pollfd pfd = {r->fd, POLLIN, 0};
		if (poll(&pfd, 1, 20) == 0) {
			/* Quiet: give up a partial frame (cut short). */
			if (vr_frame_parser_pending(&r->parser) > 0) {
				vr_frame_parser_resync(&r->parser);
				vr_frame_parser_push(&r->parser, NULL, 0, rtos_on_frame, r);
			}
			continue;
		}
		n = read(r->fd, in, 1 + xr(&r->rng) % sizeof(in)); /* any split */
		if (n == 0)
			break;
		if (n < 0)
			continue;
		assert_true(vr_frame_parser_push(&r->parser, in, (size_t)n, rtos_on_frame, r) >= 0);
	}
	r->st = r->parser.st;
	return NULL;
}

static void rtos_start(struct rtos *r, int fd, struct vr_chan *ch)
{
	size_t cap = VR_FRAME_PARSER_BUF_SIZE(VR_MSGPB_MAX_PAYLOAD) + VR_FRAME_TEXT_MAX;

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->ch = ch;
	r->rng = 0x1234567u;
	r->pbuf = malloc(cap);
	assert_non_null(r->pbuf);
	assert_int_equal(vr_frame_parser_init(&r->parser, r->pbuf, cap, VR_MSGPB_MAX_PAYLOAD, 0, 0), 0);
	assert_int_equal(pthread_create(&r->th, NULL, rtos_main, r), 0);
}

static void rtos_stop(struct rtos *r)
{
	atomic_store(&r->mode, RTOS_STOP);
	pthread_join(r->th, NULL);
	free(r->pbuf);
	if (r->fd >= 0)
		close(r->fd);
}

/* ---- Linux-side checks ------------------------------------------------------------ */

struct fixture {
	struct rtos rtos;
	struct vr_msg_port *port;
	int fd; /* the Linux end */
};

static int setup_pair(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	int sv[2];

	assert_non_null(fx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fx->fd = sv[0];
	assert_int_equal(vr_msg_open_fd(sv[0], true, NULL, &fx->port), 0);
	rtos_start(&fx->rtos, sv[1], NULL);
	*state = fx;
	return 0;
}

static int teardown_pair(void **state)
{
	struct fixture *fx = *state;

	rtos_stop(&fx->rtos);
	vr_msg_close(fx->port);
	free(fx);
	return 0;
}

static void check_gain(struct vr_msg_port *p, uint32_t *rng)
{
	struct vr_msg_ack ack;
	char want[64];
	Vrmsg__Sensor s = (Vrmsg__Sensor)(xr(rng) % 5);
	Vrmsg__GainLevel l = (Vrmsg__GainLevel)(xr(rng) % 4);
	int32_t mdb = (int32_t)(xr(rng) % 60000) - 30000;

	assert_int_equal(vr_msg_set_sensor_gain(p, s, l, mdb, &ack, CALL_MS), 0);
	assert_int_equal(ack.status, VRMSG__STATUS__STATUS_OK);
	snprintf(want, sizeof(want), "gain s=%d l=%d mdb=%d", (int)s, (int)l, (int)mdb);
	assert_string_equal(ack.detail, want);
}

static void check_adas(struct vr_msg_port *p, uint32_t *rng)
{
	struct vr_msg_ack ack;
	char want[64];
	uint32_t m = xr(rng) % 16, rate = xr(rng) % 121;
	bool ll = xr(rng) & 1;

	assert_int_equal(vr_msg_start_adas(p, m, rate, ll, &ack, CALL_MS), 0);
	assert_int_equal(ack.status, VRMSG__STATUS__STATUS_OK);
	snprintf(want, sizeof(want), "adas m=%u r=%u ll=%d", (unsigned)m, (unsigned)rate, (int)ll);
	assert_string_equal(ack.detail, want);
}

static unsigned check_telemetry(struct vr_msg_port *p, unsigned after)
{
	Vrmsg__Envelope *e = NULL;
	Vrmsg__Telemetry *t;
	unsigned c;

	assert_int_equal(vr_msg_get_telemetry(p, false, &e, CALL_MS), 0);
	t = e->telemetry;
	c = t->frames_processed;
	assert_true(c > after);
	assert_int_equal(t->uptime_us, (uint64_t)c * 1000u);
	assert_int_equal(t->cpu_temp_cdeg, -(int32_t)c);
	assert_int_equal(t->cpu_load_permille, c % 1000u);
	assert_int_equal(t->vehicle_speed_cmps, 1234);
	assert_int_equal(t->n_sensor_temp_cdeg, 4);
	assert_int_equal(t->sensor_temp_cdeg[0], (int32_t)c);
	assert_int_equal(t->sensor_temp_cdeg[1], -(int32_t)c);
	assert_int_equal(t->sensor_temp_cdeg[2], 2 * (int32_t)c);
	assert_int_equal(t->sensor_temp_cdeg[3], 7);
	assert_int_equal(t->timestamp_ns, 0xABCDEF0000000000ull | c);
	vr_msg_free(e);
	return c;
}

static void check_text(struct vr_msg_port *p, const char *cmd, const char *want)
{
	char reply[256];
	int n = vr_msg_call_text(p, cmd, reply, sizeof(reply), CALL_MS);

	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(reply, want);
}

/* One mixed round of n commands, every answer checked. */
static void mixed_calls(struct vr_msg_port *p, unsigned n, uint32_t seed)
{
	uint32_t rng = seed;
	unsigned last = 0;

	for (unsigned i = 0; i < n; i++) {
		switch (i % 3) {
		case 0:
			check_gain(p, &rng);
			break;
		case 1:
			check_adas(p, &rng);
			break;
		default:
			last = check_telemetry(p, last);
			break;
		}
	}
}

static void test_thousand_commands(void **state)
{
	struct fixture *fx = *state;
	struct vr_msg_stats st;
	struct vr_msg_ack ack;

	mixed_calls(fx->port, 1000, 99);
	/* Refusals come back as such. */
	assert_int_equal(vr_msg_start_adas(fx->port, 1, 500, false, &ack, CALL_MS), 0);
	assert_int_equal(ack.status, VRMSG__STATUS__STATUS_REJECTED);
	assert_string_equal(ack.detail, "rate");
	assert_int_equal(vr_msg_set_sensor_gain(fx->port, (Vrmsg__Sensor)9, VRMSG__GAIN_LEVEL__GAIN_LOW,
						0, &ack, CALL_MS), 0);
	assert_int_equal(ack.status, VRMSG__STATUS__STATUS_BAD_REQUEST);
	/* The seed's text commands, and one the RTOS does not know. */
	check_text(fx->port, "SET_SENSOR_GAIN_HIGH", "OK SET_SENSOR_GAIN_HIGH");
	check_text(fx->port, "START_ADAS_PROCESSING", "OK START_ADAS_PROCESSING");
	check_text(fx->port, "SELF_DESTRUCT", "ERR SELF_DESTRUCT STATUS_UNSUPPORTED");
	vr_msg_get_stats(fx->port, &st);
	assert_int_equal(st.req.answered, 1002);
	assert_int_equal(st.frames_sent, 1002);
	assert_int_equal(st.texts_sent, 3);
	assert_int_equal(st.rx.frames, 1002);
	assert_int_equal(st.rx.texts, 3);
	assert_int_equal(st.rx.bytes_dropped, 0);
	assert_int_equal(st.req.late + st.req.duplicate + st.req.unknown + st.req.expired, 0);
	assert_int_equal(atomic_load(&fx->rtos.handled), 1002 + 2);
}

/* Raw bytes from the Linux side into the RTOS's stream. */
static void inject(struct fixture *fx, unsigned kind, uint32_t *rng)
{
	uint8_t b[6000];
	Vrmsg__Envelope env = VRMSG__ENVELOPE__INIT;
	Vrmsg__StartAdasProcessing s = VRMSG__START_ADAS_PROCESSING__INIT;
	size_t plen, n;
	uint32_t v, c;

	env.body_case = VRMSG__ENVELOPE__BODY_START_ADAS_PROCESSING;
	env.start_adas_processing = &s;
	s.stage_mask = 3;
	s.frame_rate_hz = 30;
	plen = vrmsg__envelope__pack(&env, b + VR_FRAME_HDR_SIZE);
	assert_true(vr_frame_seal(b, sizeof(b), VR_FRAME_T_REQUEST, 0, 0x7F000000u + kind, plen) > 0);
	n = VR_FRAME_HDR_SIZE + plen;
	switch (kind % 5) {
	case 0: /* junk, long enough to fill the RTOS's buffer many times */
		n = sizeof(b);
		for (size_t i = 0; i < n; i++) {
			b[i] = (uint8_t)(xr(rng) % 5 == 0 ? VR_FRAME_MAGIC0 : xr(rng));
			if (b[i] == '\n')
				b[i] = 0; /* no text lines in the junk (see rtos_garbage) */
		}
		b[0] = 0x01;
		break;
	case 1: /* cut short: header intact, part of the payload */
		n = VR_FRAME_HDR_SIZE + 1 + xr(rng) % (plen - 1);
		break;
	case 2: /* inflated length with a valid header CRC */
		v = 0xFFFFFF00u | (xr(rng) & 0xFF);
		memcpy(b + VR_FRAME_OFF_LEN, &v, 4);
		c = vr_crc32c(0, b, VR_FRAME_OFF_HCRC);
		memcpy(b + VR_FRAME_OFF_HCRC, &c, 4);
		break;
	case 3: /* one bit flipped anywhere */
		v = xr(rng) % (unsigned)(n * 8);
		b[v / 8] ^= (uint8_t)(1u << (v % 8));
		break;
	default: /* a text line broken by a control byte, then a CRLF */
		memcpy(b, "START_ADAS\x03PROCESSING\r\n", 24);
		n = 24;
		break;
	}
	for (size_t off = 0; off < n;) {
		ssize_t k = write(fx->fd, b + off, n - off);

		assert_true(k > 0);
		off += (size_t)k;
	}
}

static void test_garbage_both_ways(void **state)
{
	struct fixture *fx = *state;
	struct vr_msg_stats st;
	uint32_t rng = 7;
	unsigned before;

	atomic_store(&fx->rtos.garbage, 1);
	for (unsigned round = 0; round < 60; round++) {
		inject(fx, round, &rng);
		/* The next valid command is answered. */
		before = atomic_load(&fx->rtos.handled);
		switch (round % 3) {
		case 0:
			check_gain(fx->port, &rng);
			break;
		case 1:
			check_adas(fx->port, &rng);
			break;
		default:
			check_text(fx->port, "SET_SENSOR_GAIN_LOW", "OK SET_SENSOR_GAIN_LOW");
			break;
		}
		assert_true(atomic_load(&fx->rtos.handled) > before);
	}
	atomic_store(&fx->rtos.garbage, 0);
	mixed_calls(fx->port, 30, 5);
	vr_msg_get_stats(fx->port, &st);
	/* The Linux side saw the RTOS's garbage and dropped it. */
	assert_true(st.rx.bytes_dropped > 0);
	assert_true(st.rx.drops[VR_FRAME_DROP_LENGTH] > 0);
	assert_true(st.rx.drops[VR_FRAME_DROP_CRC] + st.rx.drops[VR_FRAME_DROP_HCRC] +
		    st.rx.drops[VR_FRAME_DROP_MAGIC] > 0);
	assert_true(st.req.unknown > 0);   /* answers to nothing */
	assert_true(st.req.duplicate > 0); /* answers sent twice */
	assert_int_equal(st.req.answered, 40 + 30);
	assert_int_equal(st.req.expired, 0);
	/* And the RTOS dropped what the Linux side injected. */
	rtos_stop(&fx->rtos);
	fx->rtos.fd = -1;
	assert_true(fx->rtos.st.drops[VR_FRAME_DROP_JUNK] > 0);
	assert_true(fx->rtos.st.drops[VR_FRAME_DROP_LENGTH] >= 12);
	assert_true(fx->rtos.st.drops[VR_FRAME_DROP_TEXT] >= 12);
	assert_true(fx->rtos.st.drops[VR_FRAME_DROP_CRC] + fx->rtos.st.drops[VR_FRAME_DROP_HCRC] +
		    fx->rtos.st.drops[VR_FRAME_DROP_STALE] >= 12);
	assert_int_equal(fx->rtos.st.bytes_in, fx->rtos.st.bytes_yielded + fx->rtos.st.bytes_dropped +
						       fx->rtos.st.bytes_blank + vr_frame_parser_pending(&fx->rtos.parser));
	/* Restart the responder so that teardown has one to stop. */
	rtos_start(&fx->rtos, -1, NULL);
}

/* A byte transport that writes each frame in two pieces, cut at *cut. */
struct split_io {
	int fd;
	size_t cut;
};

static int split_write(void *ctx, const void *buf, size_t len, int64_t deadline)
{
	struct split_io *s = ctx;
	size_t first = s->cut < len ? s->cut : len;

	(void)deadline;
	assert_int_equal(write(s->fd, buf, first), (ssize_t)first);
	if (first < len) {
		sleep_ms(1);
		assert_int_equal(write(s->fd, (const uint8_t *)buf + first, len - first),
				 (ssize_t)(len - first));
	}
	return 0;
}

static int split_read(void *ctx, void *buf, size_t cap, int64_t deadline)
{
	struct split_io *s = ctx;
	int64_t left = deadline < 0 ? -1 : deadline - (int64_t)mono_ms();
	struct pollfd pfd = {s->fd, POLLIN, 0};
	ssize_t n;

	if (deadline >= 0 && left <= 0)
		left = 0;
	if (poll(&pfd, 1, (int)left) == 0)
		return VR_ETIMEDOUT;
	n = read(s->fd, buf, cap);
	if (n == 0)
		return VR_EPEERDEAD;
	return n < 0 ? VR_EIO : (int)n;
}

static void test_split_every_position(void **state)
{
	static struct rtos r; /* outlives a failed assert (the thread runs on) */
	struct split_io sio;
	struct vr_msg_io io = {split_write, split_read, NULL, &sio};
	struct vr_msg_port *p;
	struct vr_msg_ack ack;
	struct vr_msg_stats st;
	int sv[2];
	unsigned calls = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sio.fd = sv[0];
	assert_int_equal(vr_msg_open_io(&io, NULL, &p), 0);
	rtos_start(&r, sv[1], NULL);
	/* Requests cut at every position (the RTOS reassembles), answers cut
	 * at every position (the Linux side reassembles). */
	for (size_t cut = 1; cut < 64; cut++) {
		sio.cut = cut;
		atomic_store(&r.split, (int)cut);
		assert_int_equal(vr_msg_start_adas(p, 15, 60, true, &ack, CALL_MS), 0);
		assert_string_equal(ack.detail, "adas m=15 r=60 ll=1");
		assert_int_equal(vr_msg_set_sensor_gain(p, VRMSG__SENSOR__SENSOR_LIDAR, VRMSG__GAIN_LEVEL__GAIN_MEDIUM,
							-7, &ack, CALL_MS), 0);
		assert_string_equal(ack.detail, "gain s=3 l=2 mdb=-7");
		check_text(p, "GET_TELEMETRY", "OK GET_TELEMETRY");
		calls += 2;
	}
	vr_msg_get_stats(p, &st);
	assert_int_equal(st.req.answered, calls);
	assert_int_equal(st.rx.bytes_dropped, 0);
	rtos_stop(&r);
	assert_int_equal(r.st.bytes_dropped, 0);
	assert_int_equal(r.st.frames, calls);
	vr_msg_close(p);
	close(sv[0]);
}

/* Wait until the RTOS has taken n frames from the stream (so that a mode
 * change applies to the requests after it, however slow the machine). */
static void wait_seen(struct rtos *r, unsigned n)
{
	uint64_t end = mono_ms() + 20000;

	while (atomic_load(&r->seen) < n && mono_ms() < end)
		sleep_ms(1);
	assert_int_equal(atomic_load(&r->seen), n);
}

static void test_timeout_then_resume(void **state)
{
	struct fixture *fx = *state;
	struct vr_msg_ack ack;
	struct vr_msg_stats st;
	char reply[64];

	mixed_calls(fx->port, 9, 1);
	/* The RTOS stops answering: each call times out. */
	atomic_store(&fx->rtos.mode, RTOS_MUTE);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vr_msg_start_adas(fx->port, 1, 10, false, &ack, 150), VR_ETIMEDOUT);
	assert_int_equal(vr_msg_call_text(fx->port, "GET_TELEMETRY", reply, sizeof(reply), 100),
			 VR_ETIMEDOUT);
	vr_msg_get_stats(fx->port, &st);
	assert_int_equal(st.req.expired, 3);
	wait_seen(&fx->rtos, 9 + 4);
	/* It keeps its answers for a while: they arrive after their
	 * deadlines, are counted late and dropped, and do not answer the
	 * next call. */
	atomic_store(&fx->rtos.mode, RTOS_HOLD);
	for (int i = 0; i < 2; i++)
		assert_int_equal(vr_msg_set_sensor_gain(fx->port, VRMSG__SENSOR__SENSOR_ALL,
							VRMSG__GAIN_LEVEL__GAIN_LOW, 1, &ack, 150),
				 VR_ETIMEDOUT);
	wait_seen(&fx->rtos, 9 + 4 + 2);
	atomic_store(&fx->rtos.mode, RTOS_RUN);
	/* Resumed: answers again, every one checked. */
	mixed_calls(fx->port, 30, 2);
	check_text(fx->port, "SET_SENSOR_GAIN_HIGH", "OK SET_SENSOR_GAIN_HIGH");
	vr_msg_get_stats(fx->port, &st);
	assert_int_equal(st.req.expired, 5);
	assert_int_equal(st.req.late, 2);
	assert_int_equal(st.req.answered, 9 + 30);
	assert_int_equal(st.req.duplicate + st.req.unknown, 0);
}

static void test_events_inbox_and_errors(void **state)
{
	struct fixture *fx = *state;
	struct vr_msg_in in;
	struct vr_msg_ack ack;
	Vrmsg__Envelope *e = NULL;
	Vrmsg__Envelope env = VRMSG__ENVELOPE__INIT;
	Vrmsg__Ack a = VRMSG__ACK__INIT;
	char big[80], reply[8];
	int got_event = 0, got_text = 0;

	/* Unsolicited: an event and a text line reach vr_msg_recv(). */
	assert_int_equal(vr_msg_recv(fx->port, &in, 0), VR_EAGAIN);
	atomic_store(&fx->rtos.send_event, 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vr_msg_recv(fx->port, &in, CALL_MS), 0);
		if (in.kind == VR_FRAME_KIND_BINARY) {
			assert_int_equal(in.type, VR_FRAME_T_EVENT);
			assert_non_null(in.env);
			assert_int_equal(in.env->body_case, VRMSG__ENVELOPE__BODY_TELEMETRY);
			assert_int_equal(in.env->telemetry->frames_processed, 4242);
			got_event++;
		} else {
			assert_string_equal((const char *)in.data, "HELLO FROM RTOS");
			got_text++;
		}
		vr_msg_in_release(&in);
	}
	assert_int_equal(got_event + got_text * 2, 3);
	assert_int_equal(vr_msg_recv(fx->port, &in, 50), VR_ETIMEDOUT);

	/* Caller mistakes. */
	assert_int_equal(vr_msg_call(fx->port, &env, &e, 100), VR_EINVAL); /* no body */
	assert_int_equal(vr_msg_call(NULL, &env, &e, 100), VR_EINVAL);
	assert_int_equal(vr_msg_send_text(fx->port, "", 100), VR_EINVAL);
	assert_int_equal(vr_msg_send_text(fx->port, "9LIVES", 100), VR_EINVAL);
	assert_int_equal(vr_msg_send_text(fx->port, "TWO\nLINES", 100), VR_EINVAL);
	memset(big, 'A', sizeof(big));
	big[sizeof(big) - 1] = 0;
	assert_int_equal(vr_msg_send_text(fx->port, big, 100), 0); /* 79 bytes: fine */
	/* Its answer comes in as an unsolicited line (text has no seq). */
	assert_int_equal(vr_msg_recv(fx->port, &in, CALL_MS), 0);
	assert_int_equal(in.kind, VR_FRAME_KIND_TEXT);
	assert_int_equal(in.len, 4 + 79 + 1 + 18);
	assert_memory_equal(in.data, "ERR AAAA", 8);
	vr_msg_in_release(&in);
	assert_int_equal(vr_msg_wait(fx->port, 12345, &e, 10), VR_ENOMATCH);
	assert_int_equal(vr_msg_open("/nonexistent/port", NULL, &fx->port), VR_EIO);
	assert_int_equal(vr_msg_open_fd(-1, false, NULL, NULL), VR_EINVAL);
	assert_int_equal(vr_msg_open_io(NULL, NULL, NULL), VR_EINVAL);
	/* Oversized for a small port. */
	{
		struct vr_msg_cfg cfg = {.max_payload = 8};
		struct vr_msg_port *small;
		int sv[2];

		env.body_case = VRMSG__ENVELOPE__BODY_ACK;
		env.ack = &a;
		a.detail = "this detail is longer than eight bytes";
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_int_equal(vr_msg_open_fd(sv[0], true, &cfg, &small), 0);
		assert_int_equal(vr_msg_send_event(small, &env, 100), VR_EMSGSIZE);
		vr_msg_close(small);
		close(sv[1]);
		cfg.reconnect = 7;
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_int_equal(vr_msg_open_fd(sv[0], true, &cfg, &small), VR_EINVAL);
		close(sv[0]);
		close(sv[1]);
	}
	/* The port works on. */
	check_text(fx->port, "START_ADAS_PROCESSING", "OK START_ADAS_PROCESSING");
	/* A cut reply. */
	assert_int_equal(vr_msg_call_text(fx->port, "GET_TELEMETRY", reply, sizeof(reply), CALL_MS), 7);
	assert_string_equal(reply, "OK GET_");

	/* The peer goes away for good (a socket): VR_EPEERDEAD, no hang. */
	atomic_store(&fx->rtos.mode, RTOS_STOP);
	pthread_join(fx->rtos.th, NULL);
	close(fx->rtos.fd);
	fx->rtos.fd = -1;
	assert_int_equal(vr_msg_start_adas(fx->port, 1, 1, false, &ack, CALL_MS), VR_EPEERDEAD);
	free(fx->rtos.pbuf);
	rtos_start(&fx->rtos, -1, NULL);
}

static void test_unix_socket_path(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vr_msg_port *p;
	static struct rtos r;
	int ls, fd;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/vrmsg-test-%d.sock", (int)getpid());
	unlink(sa.sun_path);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 1), 0);
	assert_int_equal(vr_msg_open(sa.sun_path, NULL, &p), 0);
	fd = accept(ls, NULL, NULL);
	assert_true(fd >= 0);
	rtos_start(&r, fd, NULL);
	mixed_calls(p, 30, 3);
	check_text(p, "SET_SENSOR_GAIN_HIGH", "OK SET_SENSOR_GAIN_HIGH");
	assert_true(vr_msg_fd(p) >= 0);
	rtos_stop(&r);
	vr_msg_close(p);
	close(ls);
	unlink(sa.sun_path);
}

/* Several requests in flight, answers collected in any order; a full
 * table refuses the next one. */
static void test_pipelined(void **state)
{
	struct fixture *fx = *state;
	Vrmsg__Envelope env = VRMSG__ENVELOPE__INIT;
	Vrmsg__SetSensorGain g = VRMSG__SET_SENSOR_GAIN__INIT;
	Vrmsg__Envelope *resp;
	uint32_t seq[32], extra;
	char want[64];
	int i;

	env.body_case = VRMSG__ENVELOPE__BODY_SET_SENSOR_GAIN;
	env.set_sensor_gain = &g;
	for (i = 0; i < 32; i++) {
		g.sensor = (Vrmsg__Sensor)(i % 5);
		g.level = (Vrmsg__GainLevel)(i % 4);
		g.gain_mdb = i * 100;
		assert_int_equal(vr_msg_send_request(fx->port, &env, CALL_MS, &seq[i]), 0);
	}
	/* 32 is the default table size. */
	assert_int_equal(vr_msg_send_request(fx->port, &env, CALL_MS, &extra), VR_ENOSPC);
	for (i = 31; i >= 0; i--) {
		assert_int_equal(vr_msg_wait(fx->port, seq[i], &resp, CALL_MS), 0);
		assert_int_equal(resp->body_case, VRMSG__ENVELOPE__BODY_ACK);
		snprintf(want, sizeof(want), "gain s=%d l=%d mdb=%d", i % 5, i % 4, i * 100);
		assert_string_equal(resp->ack->detail, want);
		vr_msg_free(resp);
		/* Taken once only. */
		assert_int_equal(vr_msg_wait(fx->port, seq[i], &resp, 0), VR_ENOMATCH);
	}
	mixed_calls(fx->port, 9, 8);
}

/* Linux on both ends: one port serves requests it receives. */
static void *server_main(void *arg)
{
	struct vr_msg_port *p = arg;
	struct vr_msg_in in;
	int served = 0;

	while (served < 100 && vr_msg_recv(p, &in, CALL_MS) == 0) {
		if (in.kind == VR_FRAME_KIND_BINARY && in.type == VR_FRAME_T_REQUEST && in.env) {
			Vrmsg__Envelope env = VRMSG__ENVELOPE__INIT;
			Vrmsg__Ack a = VRMSG__ACK__INIT;
			char d[64];

			snprintf(d, sizeof(d), "pong %u", (unsigned)in.seq);
			a.detail = d;
			env.body_case = VRMSG__ENVELOPE__BODY_ACK;
			env.ack = &a;
			assert_int_equal(vr_msg_respond(p, in.seq, &env, CALL_MS), 0);
			served++;
		}
		vr_msg_in_release(&in);
	}
	return NULL;
}

static void test_linux_both_ends(void **state)
{
	struct vr_msg_port *cli, *srv;
	struct vr_msg_ack ack;
	pthread_t th;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(vr_msg_open_fd(sv[0], true, NULL, &cli), 0);
	assert_int_equal(vr_msg_open_fd(sv[1], true, NULL, &srv), 0);
	assert_int_equal(pthread_create(&th, NULL, server_main, srv), 0);
	for (unsigned i = 0; i < 100; i++) {
		char want[32];

		assert_int_equal(vr_msg_start_adas(cli, 1, 2, true, &ack, CALL_MS), 0);
		snprintf(want, sizeof(want), "pong %u", i + 1); /* seqs from 1 */
		assert_string_equal(ack.detail, want);
	}
	pthread_join(th, NULL);
	vr_msg_close(cli);
	vr_msg_close(srv);
}

/* A terminal is a character device, like a virtio console: the port
 * opens it by path and, when its other side goes away, waits out its
 * timeouts instead of failing for good. */
static void test_char_device_pty(void **state)
{
	static struct rtos r;
	struct vr_msg_port *p;
	struct vr_msg_ack ack;
	struct vr_msg_stats st;
	struct termios tio;
	int master, keep;
	uint64_t t0;

	(void)state;
	master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	keep = open(ptsname(master), O_RDWR | O_NOCTTY);
	assert_true(keep >= 0);
	/* Raw: no echo, no line editing, no CR/LF translation. */
	assert_int_equal(tcgetattr(keep, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(keep, TCSANOW, &tio), 0);
	assert_int_equal(vr_msg_open(ptsname(master), NULL, &p), 0);
	rtos_start(&r, master, NULL);
	mixed_calls(p, 60, 6);
	check_text(p, "START_ADAS_PROCESSING", "OK START_ADAS_PROCESSING");
	/* The other side goes away: timeouts, no VR_EPEERDEAD, no busy loop
	 * past the deadline. */
	rtos_stop(&r);
	t0 = mono_ms();
	assert_int_equal(vr_msg_start_adas(p, 1, 1, false, &ack, 200), VR_ETIMEDOUT);
	assert_true(mono_ms() - t0 >= 150);
	vr_msg_get_stats(p, &st);
	assert_true(st.peer_gone > 0);
	assert_int_equal(st.req.answered, 60);
	vr_msg_close(p);
	close(keep);
}

/* The same choice forced on a socket (VR_MSG_RECONNECT_YES), and refused
 * (VR_MSG_RECONNECT_NO) on a terminal. */
static void test_reconnect_modes(void **state)
{
	struct vr_msg_cfg yes = {.reconnect = VR_MSG_RECONNECT_YES};
	struct vr_msg_port *p;
	struct vr_msg_ack ack;
	char reply[32];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(vr_msg_open_fd(sv[0], true, &yes, &p), 0);
	close(sv[1]);
	assert_int_equal(vr_msg_start_adas(p, 1, 1, false, &ack, 100), VR_ETIMEDOUT);
	assert_int_equal(vr_msg_call_text(p, "GET_TELEMETRY", reply, sizeof(reply), 100), VR_ETIMEDOUT);
	vr_msg_close(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(vr_msg_open_fd(sv[0], true, NULL, &p), 0);
	close(sv[1]);
	assert_int_equal(vr_msg_start_adas(p, 1, 1, false, &ack, 100), VR_EPEERDEAD);
	vr_msg_close(p);
}

static void chan_calls(uint32_t format)
{
	struct loop *l = loop_new(format, 8, 256, 8, 0);
	struct end d = {0}, v = {0};
	struct vr_msg_port *p;
	static struct rtos r;
	struct vr_msg_stats st;

	assert_int_equal(end_open(&d, l, VR_ROLE_DRIVER, 0), 0);
	assert_int_equal(end_open(&v, l, VR_ROLE_DEVICE, 0), 0);
	assert_int_equal(vr_msg_open_chan(&d.ch, NULL, &p), 0);
	rtos_start(&r, -1, &v.ch);
	mixed_calls(p, 300, 4);
	/* Text over a channel: one line per message. */
	check_text(p, "SET_SENSOR_GAIN_HIGH", "OK SET_SENSOR_GAIN_HIGH");
	/* Bad messages between the answers: each refused whole, the answers
	 * still taken. */
	atomic_store(&r.garbage, 1);
	mixed_calls(p, 60, 9);
	vr_msg_get_stats(p, &st);
	assert_int_equal(st.req.answered, 360);
	assert_true(st.bad_messages > 0);
	assert_true(st.req.unknown > 0);
	assert_int_equal(st.req.expired, 0);
	rtos_stop(&r);
	vr_msg_close(p);
	free(d.state);
	free(v.state);
	loop_free(l);
}

static void test_over_channel_split(void **state)
{
	(void)state;
	chan_calls(VR_FORMAT_SPLIT);
}

static void test_over_channel_packed(void **state)
{
	(void)state;
	chan_calls(VR_FORMAT_PACKED);
}

/* ---- Interop: protobuf-c <-> nanopb, every field ------------------------------------ */

static void rand_nanopb(vrmsg_Envelope *e, uint32_t *rng, unsigned body)
{
	static const int32_t i32[] = {0, 1, -1, INT32_MAX, INT32_MIN, 300, -300};
	static const uint32_t u32[] = {0, 1, 127, 128, UINT32_MAX, 0x80000000u};

	memset(e, 0, sizeof(*e));
	switch (body % 5) {
	case 0:
		e->which_body = vrmsg_Envelope_set_sensor_gain_tag;
		e->body.set_sensor_gain.sensor = (vrmsg_Sensor)(xr(rng) % 5);
		e->body.set_sensor_gain.level = (vrmsg_GainLevel)(xr(rng) % 4);
		e->body.set_sensor_gain.gain_mdb = xr(rng) & 1 ? i32[xr(rng) % 7] : (int32_t)xr(rng);
		break;
	case 1:
		e->which_body = vrmsg_Envelope_start_adas_processing_tag;
		e->body.start_adas_processing.stage_mask = u32[xr(rng) % 6];
		e->body.start_adas_processing.frame_rate_hz = xr(rng);
		e->body.start_adas_processing.low_latency = xr(rng) & 1;
		break;
	case 2:
		e->which_body = vrmsg_Envelope_get_telemetry_tag;
		e->body.get_telemetry.reset_counters = xr(rng) & 1;
		break;
	case 3: {
		size_t n = xr(rng) % 64; /* up to 63 bytes */

		e->which_body = vrmsg_Envelope_ack_tag;
		e->body.ack.status = (vrmsg_Status)(xr(rng) % 6);
		for (size_t i = 0; i < n; i++)
			e->body.ack.detail[i] = (char)(0x20 + xr(rng) % 95);
		break;
	}
	default: {
		vrmsg_Telemetry *t = &e->body.telemetry;

		e->which_body = vrmsg_Envelope_telemetry_tag;
		t->uptime_us = (uint64_t)xr(rng) << 32 | xr(rng);
		t->cpu_temp_cdeg = i32[xr(rng) % 7];
		t->cpu_load_permille = xr(rng) % 1001;
		t->frames_processed = u32[xr(rng) % 6];
		t->frames_dropped = xr(rng);
		t->vehicle_speed_cmps = xr(rng) % 10000;
		t->adas_active = xr(rng) & 1;
		t->sensor_temp_cdeg_count = (pb_size_t)(xr(rng) % 5);
		for (unsigned i = 0; i < t->sensor_temp_cdeg_count; i++)
			t->sensor_temp_cdeg[i] = i32[xr(rng) % 7];
		t->timestamp_ns = xr(rng) & 1 ? UINT64_MAX : (uint64_t)xr(rng) << 20;
		break;
	}
	}
}

/* Every field of a nanopb Envelope equals the protobuf-c one. */
static void same(const vrmsg_Envelope *n, const Vrmsg__Envelope *c)
{
	assert_int_equal((int)c->body_case, (int)n->which_body); /* same tags */
	switch (n->which_body) {
	case vrmsg_Envelope_set_sensor_gain_tag:
		assert_int_equal(c->set_sensor_gain->sensor, n->body.set_sensor_gain.sensor);
		assert_int_equal(c->set_sensor_gain->level, n->body.set_sensor_gain.level);
		assert_int_equal(c->set_sensor_gain->gain_mdb, n->body.set_sensor_gain.gain_mdb);
		break;
	case vrmsg_Envelope_start_adas_processing_tag:
		assert_int_equal(c->start_adas_processing->stage_mask, n->body.start_adas_processing.stage_mask);
		assert_int_equal(c->start_adas_processing->frame_rate_hz, n->body.start_adas_processing.frame_rate_hz);
		assert_int_equal(c->start_adas_processing->low_latency, n->body.start_adas_processing.low_latency);
		break;
	case vrmsg_Envelope_get_telemetry_tag:
		assert_int_equal(c->get_telemetry->reset_counters, n->body.get_telemetry.reset_counters);
		break;
	case vrmsg_Envelope_ack_tag:
		assert_int_equal(c->ack->status, n->body.ack.status);
		assert_string_equal(c->ack->detail, n->body.ack.detail);
		break;
	case vrmsg_Envelope_telemetry_tag: {
		const Vrmsg__Telemetry *ct = c->telemetry;
		const vrmsg_Telemetry *nt = &n->body.telemetry;

		assert_int_equal(ct->uptime_us, nt->uptime_us);
		assert_int_equal(ct->cpu_temp_cdeg, nt->cpu_temp_cdeg);
		assert_int_equal(ct->cpu_load_permille, nt->cpu_load_permille);
		assert_int_equal(ct->frames_processed, nt->frames_processed);
		assert_int_equal(ct->frames_dropped, nt->frames_dropped);
		assert_int_equal(ct->vehicle_speed_cmps, nt->vehicle_speed_cmps);
		assert_int_equal(ct->adas_active, nt->adas_active);
		assert_int_equal(ct->n_sensor_temp_cdeg, nt->sensor_temp_cdeg_count);
		for (unsigned i = 0; i < nt->sensor_temp_cdeg_count; i++)
			assert_int_equal(ct->sensor_temp_cdeg[i], nt->sensor_temp_cdeg[i]);
		assert_int_equal(ct->timestamp_ns, nt->timestamp_ns);
		break;
	}
	default:
		fail();
	}
}

/* The protobuf-c image of a nanopb Envelope, built field by field. */
struct pbc_env {
	Vrmsg__Envelope env;
	Vrmsg__SetSensorGain g;
	Vrmsg__StartAdasProcessing s;
	Vrmsg__GetTelemetry gt;
	Vrmsg__Ack a;
	Vrmsg__Telemetry t;
	int32_t temps[4];
	char detail[64];
};

static void to_pbc(const vrmsg_Envelope *n, struct pbc_env *c)
{
	c->env = (Vrmsg__Envelope)VRMSG__ENVELOPE__INIT;
	c->g = (Vrmsg__SetSensorGain)VRMSG__SET_SENSOR_GAIN__INIT;
	c->s = (Vrmsg__StartAdasProcessing)VRMSG__START_ADAS_PROCESSING__INIT;
	c->gt = (Vrmsg__GetTelemetry)VRMSG__GET_TELEMETRY__INIT;
	c->a = (Vrmsg__Ack)VRMSG__ACK__INIT;
	c->t = (Vrmsg__Telemetry)VRMSG__TELEMETRY__INIT;
	c->env.body_case = (Vrmsg__Envelope__BodyCase)n->which_body;
	switch (n->which_body) {
	case vrmsg_Envelope_set_sensor_gain_tag:
		c->g.sensor = (Vrmsg__Sensor)n->body.set_sensor_gain.sensor;
		c->g.level = (Vrmsg__GainLevel)n->body.set_sensor_gain.level;
		c->g.gain_mdb = n->body.set_sensor_gain.gain_mdb;
		c->env.set_sensor_gain = &c->g;
		break;
	case vrmsg_Envelope_start_adas_processing_tag:
		c->s.stage_mask = n->body.start_adas_processing.stage_mask;
		c->s.frame_rate_hz = n->body.start_adas_processing.frame_rate_hz;
		c->s.low_latency = n->body.start_adas_processing.low_latency;
		c->env.start_adas_processing = &c->s;
		break;
	case vrmsg_Envelope_get_telemetry_tag:
		c->gt.reset_counters = n->body.get_telemetry.reset_counters;
		c->env.get_telemetry = &c->gt;
		break;
	case vrmsg_Envelope_ack_tag:
		c->a.status = (Vrmsg__Status)n->body.ack.status;
		memcpy(c->detail, n->body.ack.detail, sizeof(c->detail));
		c->a.detail = c->detail;
		c->env.ack = &c->a;
		break;
	default:
		c->t.uptime_us = n->body.telemetry.uptime_us;
		c->t.cpu_temp_cdeg = n->body.telemetry.cpu_temp_cdeg;
		c->t.cpu_load_permille = n->body.telemetry.cpu_load_permille;
		c->t.frames_processed = n->body.telemetry.frames_processed;
		c->t.frames_dropped = n->body.telemetry.frames_dropped;
		c->t.vehicle_speed_cmps = n->body.telemetry.vehicle_speed_cmps;
		c->t.adas_active = n->body.telemetry.adas_active;
		c->t.n_sensor_temp_cdeg = n->body.telemetry.sensor_temp_cdeg_count;
		memcpy(c->temps, n->body.telemetry.sensor_temp_cdeg, sizeof(c->temps));
		c->t.sensor_temp_cdeg = c->temps;
		c->t.timestamp_ns = n->body.telemetry.timestamp_ns;
		c->env.telemetry = &c->t;
		break;
	}
}

static void test_interop_nanopb_protobuf_c(void **state)
{
	uint32_t rng = 2024;

	(void)state;
	for (unsigned i = 0; i < 1000; i++) {
		vrmsg_Envelope n, back;
		struct pbc_env c;
		Vrmsg__Envelope *u;
		uint8_t buf[VR_MSGPB_FRAME_MAX], cbuf[256];
		struct vr_frame f;
		size_t clen;
		int len;

		rand_nanopb(&n, &rng, i);
		/* nanopb -> frame -> protobuf-c */
		len = vr_msgpb_encode(buf, sizeof(buf), VR_FRAME_T_EVENT, 0, i, &n);
		assert_true(len >= (int)VR_FRAME_HDR_SIZE);
		assert_int_equal(vr_frame_decode(buf, (size_t)len, VR_MSGPB_MAX_PAYLOAD, &f), 0);
		u = vrmsg__envelope__unpack(NULL, f.len, f.payload);
		assert_non_null(u);
		same(&n, u);
		vrmsg__envelope__free_unpacked(u, NULL);
		/* protobuf-c -> frame -> nanopb */
		to_pbc(&n, &c);
		clen = vrmsg__envelope__get_packed_size(&c.env);
		assert_true(clen <= VR_MSGPB_MAX_PAYLOAD);
		assert_int_equal(vrmsg__envelope__pack(&c.env, cbuf + VR_FRAME_HDR_SIZE), clen);
		len = vr_frame_seal(cbuf, sizeof(cbuf), VR_FRAME_T_EVENT, 0, i, clen);
		assert_int_equal(vr_frame_decode(cbuf, (size_t)len, VR_MSGPB_MAX_PAYLOAD, &f), 0);
		assert_int_equal(vr_msgpb_decode(&f, &back), 0);
		same(&back, &c.env);
		/* And the two encoders agree byte for byte. */
		assert_int_equal(f.len, (uint32_t)(buf[12] | buf[13] << 8));
		assert_memory_equal(cbuf + VR_FRAME_HDR_SIZE, buf + VR_FRAME_HDR_SIZE, clen);
	}
}

static void test_nanopb_side(void **state)
{
	vrmsg_Envelope e;
	struct vr_frame f = {0};
	uint8_t buf[VR_MSGPB_FRAME_MAX], out[VR_MSGPB_TEXT_ANSWER_MAX];
	vrmsg_Ack ack = {vrmsg_Status_STATUS_BUSY, "pipeline\nbusy"};

	(void)state;
	/* Text commands. */
	assert_int_equal(vr_msgpb_from_text("START_ADAS_PROCESSING", 21, &e), 0);
	assert_int_equal(e.which_body, vrmsg_Envelope_start_adas_processing_tag);
	assert_int_equal(vr_msgpb_from_text("SET_SENSOR_GAIN_HIGH  ", 22, &e), 0);
	assert_int_equal(e.body.set_sensor_gain.level, vrmsg_GainLevel_GAIN_HIGH);
	assert_int_equal(vr_msgpb_from_text("SET_SENSOR_GAIN_LOW", 19, &e), 0);
	assert_int_equal(e.body.set_sensor_gain.level, vrmsg_GainLevel_GAIN_LOW);
	assert_int_equal(vr_msgpb_from_text("SET_SENSOR_GAIN", 15, &e), VR_ENOMATCH);
	assert_int_equal(vr_msgpb_from_text("SET_SENSOR_GAIN_HIGHER", 22, &e), VR_ENOMATCH);
	assert_int_equal(vr_msgpb_from_text("start_adas_processing", 21, &e), VR_ENOMATCH);
	/* Answers: OK, and an error whose detail cannot break the line. */
	assert_int_equal(vr_msgpb_text_answer(out, sizeof(out), "GET_TELEMETRY", 13, &(vrmsg_Ack){0}), 18);
	assert_memory_equal(out, "\nOK GET_TELEMETRY\n", 18);
	assert_int_equal(vr_msgpb_text_answer(out, sizeof(out), "GO", 2, &ack), 34);
	assert_memory_equal(out, "\nERR GO STATUS_BUSY pipeline?busy\n", 34);
	assert_int_equal(vr_msgpb_text_answer(out, 10, "GO", 2, &ack), VR_ENOSPC);
	/* Encode/decode errors. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(vr_msgpb_encode(buf, sizeof(buf), VR_FRAME_T_REQUEST, 0, 1, &e), VR_EBADMSG);
	e.which_body = vrmsg_Envelope_ack_tag;
	memset(e.body.ack.detail, 'x', sizeof(e.body.ack.detail) - 1);
	assert_int_equal(vr_msgpb_encode(buf, 30, VR_FRAME_T_REQUEST, 0, 1, &e), VR_ENOSPC);
	assert_int_equal(vr_msgpb_encode(buf, 10, VR_FRAME_T_REQUEST, 0, 1, &e), VR_ENOSPC);
	assert_int_equal(vr_msgpb_encode(NULL, 10, VR_FRAME_T_REQUEST, 0, 1, &e), VR_EINVAL);
	f.kind = VR_FRAME_KIND_BINARY;
	f.type = VR_FRAME_T_REQUEST;
	f.payload = (const uint8_t *)"\xff\xff\xff";
	f.len = 3;
	assert_int_equal(vr_msgpb_decode(&f, &e), VR_EBADMSG);
	f.len = 0; /* an empty Envelope has no body */
	assert_int_equal(vr_msgpb_request(&f, &e), VR_EBADMSG);
	f.kind = VR_FRAME_KIND_TEXT;
	assert_int_equal(vr_msgpb_decode(&f, &e), VR_EINVAL);
	assert_string_equal(vr_msgpb_status_name(99), "STATUS_?");
	assert_string_equal(vr_strerror(VR_EDUPLICATE), "duplicate answer to a request already answered");
	assert_string_equal(vr_errname(VR_ECRC), "VR_ECRC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thousand_commands, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_garbage_both_ways, setup_pair, teardown_pair),
		cmocka_unit_test(test_split_every_position),
		cmocka_unit_test_setup_teardown(test_timeout_then_resume, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_events_inbox_and_errors, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_pipelined, setup_pair, teardown_pair),
		cmocka_unit_test(test_linux_both_ends),
		cmocka_unit_test(test_unix_socket_path),
		cmocka_unit_test(test_char_device_pty),
		cmocka_unit_test(test_reconnect_modes),
		cmocka_unit_test(test_over_channel_split),
		cmocka_unit_test(test_over_channel_packed),
		cmocka_unit_test(test_interop_nanopb_protobuf_c),
		cmocka_unit_test(test_nanopb_side),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
