/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * aaos: the driver end of the automotive demo, standing in for Android
 * Automotive on the application cores. It creates the shared region (a
 * memfd), listens on a unix socket for rtos, opens the channel as the
 * driver, then:
 *
 *   SET_SENSOR_GAIN_HIGH, START_ADAS_PROCESSING   one at a time, each ACK
 *                                                  awaited and printed
 *   SENSOR_FRAME x N                               streamed: up to --window
 *                                                  frames unacknowledged,
 *                                                  built in place in the
 *                                                  region (zero-copy send)
 *   STOP_ADAS_PROCESSING, SHUTDOWN                 one at a time
 *
 * and prints progress every second, then messages/s, wall cycles/message
 * (elapsed time, not CPU cost), CPU time/message, the round-trip latency of every
 * frame (send_time_ns to its ACK) as percentiles, and notifications/message.
 * Replies from rtos are checked before use (protocol.h); a bad one is
 * logged and NACKed.
 *
 *   aaos [--socket PATH | --spawn-rtos PATH] [--format split|packed]
 *        [--polling] [--frames N] [--window N] [--queue-size N] ...
 *
 * Exit codes: 0 every message acknowledged; 1 failure (including a NACK,
 * or rtos exiting non-zero); 2 bad arguments; 3 rtos went away mid-run.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vring/channel.h>
#include <vring/shm.h>
#include <vring/vring.h>

#include "common.h"
#include "protocol.h"

#define PROG "aaos"
#define MS 1000000ull
#define ACK_TIMEOUT_NS (5000 * MS)  /* an ACK later than this: rtos is stuck */
#define SEND_TIMEOUT_NS (5000 * MS)
#define DEFAULT_FRAMES 200000ull
#define DEFAULT_QSIZE 256u
#define DEFAULT_WINDOW 64u
#define MAX_QSIZE 4096u             /* also the largest window */
#define BUF_BYTES 1088u             /* PROTO_MAX_MSG rounded up to 64 */
#define MAX_LOGGED 10u

struct opts {
	const char *socket;      /* NULL: a fresh private directory */
	const char *spawn;       /* rtos executable to start, or NULL */
	bool packed, polling, event_idx, inject_bad;
	uint64_t frames;
	uint32_t window, qsize;
	uint64_t accept_timeout_ns;
	unsigned cpu_index, rtos_cpu_index;
};

/* One unacknowledged message: what its ACK must echo, and when it left. */
struct pending {
	uint32_t seq;
	uint64_t t;
};

struct aaos {
	struct vr_shm shm;
	struct vr_chan ch;
	void *state;
	uint32_t seq;          /* our messages, from 1 */
	uint64_t refused;      /* replies we refused (and NACKed) */
	uint64_t nacks;        /* our messages rtos refused */
	uint64_t unexpected;   /* ACKs for something else than was due */
	struct pending pend[MAX_QSIZE]; /* frames in flight, by frame number */
	uint64_t t0, t1, c0, c1, cpu0, cpu1;
	struct vr_chan_stats st0, st1;
	struct demo_hist lat;  /* round trips of frames */
	struct demo_progress progress;
	char clock[200];
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: aaos [options]\n"
		"The driver end of the aaos/rtos demo: creates the region, waits for\n"
		"rtos, sends commands and sensor frames, prints the numbers.\n"
		"  --socket PATH           listen here (default: a new private\n"
		"                          directory under $TMPDIR)\n"
		"  --spawn-rtos PATH       start the rtos executable at PATH and\n"
		"                          wait for it at the end\n"
		"  --format F              split or packed rings (default split)\n"
		"  --polling               no doorbells: both sides poll the rings\n"
		"  --frames N              sensor frames to stream (default %llu)\n"
		"  --window N              most frames unacknowledged at once\n"
		"                          (default %u, at most the queue size)\n"
		"  --queue-size N          descriptors per queue, 2..%u; a power of\n"
		"                          two for split (default %u)\n"
		"  --no-event-idx          do not offer VIRTIO_F_EVENT_IDX\n"
		"  --accept-timeout-ms N   wait this long for rtos (default 10000)\n"
		"  --inject-bad            before the stream, send four bad messages\n"
		"                          (too short, lying payload_len, bad\n"
		"                          checksum, frame before START) and check\n"
		"                          that rtos NACKs each with the right reason\n"
		"  --cpu-index N           pin to the N-th allowed CPU (default 0)\n"
		"  --rtos-cpu-index N      passed to a spawned rtos (default 1)\n"
		"  --help                  this text\n",
		DEFAULT_FRAMES, DEFAULT_WINDOW, MAX_QSIZE, DEFAULT_QSIZE);
}

/* 0 to run, 1 after --help, -1 on a bad argument. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	bool window_set = false;
	int i;

	memset(o, 0, sizeof(*o));
	o->frames = DEFAULT_FRAMES;
	o->window = DEFAULT_WINDOW;
	o->qsize = DEFAULT_QSIZE;
	o->event_idx = true;
	o->accept_timeout_ns = 10000 * MS;
	o->rtos_cpu_index = 1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		uint64_t v;
		int m;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		} else if (strcmp(a, "--polling") == 0) {
			o->polling = true;
		} else if (strcmp(a, "--no-event-idx") == 0) {
			o->event_idx = false;
		} else if (strcmp(a, "--inject-bad") == 0) {
			o->inject_bad = true;
		} else if ((m = demo_opt_value(PROG, argc, argv, &i, "--socket", &val))) {
			if (m < 0)
				return -1;
			if (!*val) {
				fprintf(stderr, PROG ": --socket: empty path\n");
				return -1;
			}
			o->socket = val;
		} else if ((m = demo_opt_value(PROG, argc, argv, &i, "--spawn-rtos", &val))) {
			if (m < 0)
				return -1;
			if (access(val, X_OK) != 0) {
				fprintf(stderr, PROG ": --spawn-rtos: %s is not an "
						"executable file\n", val);
				return -1;
			}
			o->spawn = val;
		} else if ((m = demo_opt_value(PROG, argc, argv, &i, "--format", &val))) {
			if (m < 0)
				return -1;
			if (strcmp(val, "split") == 0) {
				o->packed = false;
			} else if (strcmp(val, "packed") == 0) {
				o->packed = true;
			} else {
				fprintf(stderr, PROG ": --format: \"%s\" is not split "
						"or packed (try --help)\n", val);
				return -1;
			}
		} else if ((m = demo_opt_value(PROG, argc, argv, &i, "--frames", &val))) {
			if (m < 0 || demo_parse_u64(PROG, "--frames", val, 0,
						    UINT64_C(1) << 32, &v))
				return -1;
			o->frames = v;
		} else if ((m = demo_opt_value(PROG, argc, argv, &i, "--window", &val))) {
			if (m < 0 || demo_parse_u64(PROG, "--window", val, 1, MAX_QSIZE, &v))
				return -1;
			o->window = (uint32_t)v;
			window_set = true;
		} else if ((m = demo_opt_value(PROG, argc, argv, &i, "--queue-size", &val))) {
			if (m < 0 || demo_parse_u64(PROG, "--queue-size", val, 2,
						    MAX_QSIZE, &v))
				return -1;
			o->qsize = (uint32_t)v;
		} else if ((m = demo_opt_value(PROG, argc, argv, &i,
					       "--accept-timeout-ms", &val))) {
			if (m < 0 || demo_parse_u64(PROG, "--accept-timeout-ms", val, 1,
						    3600000, &v))
				return -1;
			o->accept_timeout_ns = v * MS;
		} else if ((m = demo_opt_value(PROG, argc, argv, &i, "--cpu-index", &val))) {
			if (m < 0 || demo_parse_u64(PROG, "--cpu-index", val, 0, 4095, &v))
				return -1;
			o->cpu_index = (unsigned)v;
		} else if ((m = demo_opt_value(PROG, argc, argv, &i, "--rtos-cpu-index",
					       &val))) {
			if (m < 0 || demo_parse_u64(PROG, "--rtos-cpu-index", val, 0, 4095, &v))
				return -1;
			o->rtos_cpu_index = (unsigned)v;
		} else {
			fprintf(stderr, PROG ": unknown argument \"%s\" (try --help)\n", a);
			return -1;
		}
	}
	if (!o->packed && !vr_split_size_valid(o->qsize)) {
		fprintf(stderr, PROG ": --queue-size %" PRIu32 ": split rings need a "
				"power of two (or use --format packed)\n", o->qsize);
		return -1;
	}
	if (o->window > o->qsize) {
		if (window_set) {
			fprintf(stderr, PROG ": --window %" PRIu32 " is larger than the "
					"queue size %" PRIu32 "\n", o->window, o->qsize);
			return -1;
		}
		o->window = o->qsize;
	}
	return 0;
}

/* ---- Replies ------------------------------------------------------------------ */

static void nack(struct aaos *a, const struct proto_hdr *about, bool seq_known,
		 int status, uint32_t len)
{
	unsigned char m[PROTO_HDR_BYTES + PROTO_ACK_PAYLOAD];
	struct proto_ack k;
	int err;

	k.status = (uint16_t)status;
	k.acked_type = seq_known ? about->type : 0;
	k.acked_seq = seq_known ? about->seq : 0;
	k.detail = len;
	proto_ack_payload(m + PROTO_HDR_BYTES, &k);
	proto_seal(m, PROTO_ACK, seq_known ? 0 : PROTO_F_SEQ_UNKNOWN, ++a->seq,
		   demo_now_ns(), PROTO_ACK_PAYLOAD);
	/* Best effort: the NACK is information, it must not stall the stream. */
	err = vr_chan_send(&a->ch, m, sizeof(m), 0);
	if (err && a->refused <= MAX_LOGGED)
		fprintf(stderr, "[aaos] (NACK not sent: %s)\n", vr_errname(err));
}

/*
 * Check a reply received by copy (@buf is private memory, @n bytes).
 * Returns 1 with @out (and @hdr) filled for a valid ACK, 0 when the reply
 * was refused (logged, NACKed).
 */
static int check_reply(struct aaos *a, const unsigned char *buf, int n,
		       struct proto_hdr *hdr, struct proto_ack *out)
{
	size_t len = (size_t)n;
	int st;

	memset(hdr, 0, sizeof(*hdr));
	if (len >= PROTO_HDR_BYTES)
		proto_decode(buf, hdr);
	st = proto_check_header(hdr, len);
	if (st == PROTO_OK && hdr->type != PROTO_ACK)
		st = PROTO_ERR_STATE; /* rtos only ever sends ACKs */
	if (st == PROTO_OK)
		st = proto_check_payload_size(hdr);
	if (st == PROTO_OK &&
	    proto_fnv(proto_header_sum(buf), buf + PROTO_HDR_BYTES, hdr->payload_len) !=
		    hdr->checksum)
		st = PROTO_ERR_CHECKSUM;
	if (st != PROTO_OK) {
		a->refused++;
		if (a->refused <= MAX_LOGGED)
			fprintf(stderr, "[aaos] error: refused a %zu-byte reply%s: %s; "
					"sending NACK\n",
				len, len >= PROTO_HDR_BYTES ? "" : " (no header)",
				proto_status_name((uint32_t)st));
		nack(a, hdr, len >= PROTO_HDR_BYTES, st, (uint32_t)len);
		return 0;
	}
	out->status = proto_get16(buf + PROTO_HDR_BYTES);
	out->acked_type = proto_get16(buf + PROTO_HDR_BYTES + 2);
	out->acked_seq = proto_get32(buf + PROTO_HDR_BYTES + 4);
	out->detail = proto_get32(buf + PROTO_HDR_BYTES + 8);
	return 1;
}

/*
 * vr_chan_recv, but a reply the peer published just before it went away is
 * still delivered: a blocked receive can report the hang-up (VR_EPEERDEAD)
 * although that reply is already in the ring, so look once more without
 * waiting. The next call reports the hang-up again.
 */
static int recv_reply(struct aaos *a, void *buf, size_t cap, uint64_t timeout_ns)
{
	int n = vr_chan_recv(&a->ch, buf, cap, timeout_ns);

	if (n == VR_EPEERDEAD) {
		int m = vr_chan_recv(&a->ch, buf, cap, 0);

		if (m > 0)
			return m;
	}
	return n;
}

/*
 * Wait for the ACK of the message @seq of @type (seq_known false: a message
 * too short to carry one). Returns 0 with @ack filled, or an exit code.
 */
static int wait_ack(struct aaos *a, uint32_t seq, uint16_t type, bool seq_known,
		    struct proto_ack *ack, struct proto_hdr *hdr)
{
	unsigned char buf[BUF_BYTES];

	for (;;) {
		int n = recv_reply(a, buf, sizeof(buf), ACK_TIMEOUT_NS);

		if (n == VR_ETIMEDOUT) {
			fprintf(stderr, PROG ": no ACK for seq %" PRIu32 " (%s) within "
					"%llu s\n", seq, proto_type_name(type),
				(unsigned long long)(ACK_TIMEOUT_NS / 1000000000ull));
			return DEMO_EXIT_FAIL;
		}
		if (n < 0)
			return demo_report_error(PROG, "waiting for an ACK", n, &a->shm);
		if (!check_reply(a, buf, n, hdr, ack))
			continue;
		if (seq_known ? (ack->acked_seq != seq || ack->acked_type != type)
			      : !(hdr->flags & PROTO_F_SEQ_UNKNOWN)) {
			fprintf(stderr, PROG ": error: ACK for seq %" PRIu32 " (%s) where "
					"the one for seq %" PRIu32 " (%s) was due\n",
				ack->acked_seq, proto_type_name(ack->acked_type), seq,
				proto_type_name(type));
			a->unexpected++;
			return DEMO_EXIT_FAIL;
		}
		return 0;
	}
}

/* Send one command and wait for its ACK, printing both. */
static int command(struct aaos *a, uint16_t type, uint32_t p0, uint32_t p1,
		   const char *what)
{
	unsigned char m[PROTO_HDR_BYTES + PROTO_CMD_PAYLOAD];
	uint32_t plen = 0, seq = ++a->seq;
	struct proto_ack ack;
	struct proto_hdr hdr;
	uint64_t t;
	int err;

	if (type == PROTO_SET_SENSOR_GAIN_HIGH || type == PROTO_START_ADAS_PROCESSING) {
		proto_put32(m + PROTO_HDR_BYTES, p0);
		proto_put32(m + PROTO_HDR_BYTES + 4, p1);
		plen = PROTO_CMD_PAYLOAD;
	}
	printf("[aaos] -> seq %" PRIu32 " %s%s\n", seq, proto_type_name(type), what);
	fflush(stdout);
	t = demo_now_ns();
	proto_seal(m, type, 0, seq, t, plen);
	err = vr_chan_send(&a->ch, m, PROTO_HDR_BYTES + plen, SEND_TIMEOUT_NS);
	if (err)
		return demo_report_error(PROG, "sending a command", err, &a->shm);
	err = wait_ack(a, seq, type, true, &ack, &hdr);
	if (err)
		return err;
	printf("[aaos] <- ACK seq %" PRIu32 " %s: %s (round trip %.1f us)\n",
	       ack.acked_seq, proto_type_name(ack.acked_type),
	       proto_status_name(ack.status), (double)(demo_now_ns() - t) / 1e3);
	fflush(stdout);
	if (ack.status != PROTO_OK) {
		a->nacks++;
		return DEMO_EXIT_FAIL;
	}
	return 0;
}

/* ---- Hostile-input check: malformed messages must come back NACKed ----------- */

static int inject_one(struct aaos *a, const char *what, unsigned char *m, uint32_t len,
		      bool seq_known, uint32_t seq, uint16_t type, int expect)
{
	struct proto_ack ack;
	struct proto_hdr hdr;
	int err = vr_chan_send(&a->ch, m, len, SEND_TIMEOUT_NS);

	if (err)
		return demo_report_error(PROG, "sending a malformed message", err, &a->shm);
	err = wait_ack(a, seq, type, seq_known, &ack, &hdr);
	if (err)
		return err;
	printf("[aaos] hostile-input check: %s -> NACK \"%s\"%s\n", what,
	       proto_status_name(ack.status),
	       ack.status == expect ? " as expected" : ": WRONG");
	if (ack.status != expect) {
		a->unexpected++;
		return DEMO_EXIT_FAIL;
	}
	return 0;
}

static int inject_bad(struct aaos *a)
{
	unsigned char m[PROTO_HDR_BYTES + PROTO_FRAME_MIN];
	uint32_t seq;
	int err;

	/* Shorter than the header. */
	memset(m, 0x5a, sizeof(m));
	err = inject_one(a, "10-byte message", m, 10, false, 0, 0, PROTO_ERR_SHORT);
	/* payload_len says 1000, 8 bytes follow. */
	if (!err) {
		seq = ++a->seq;
		proto_put32(m + PROTO_HDR_BYTES, 1);
		proto_put32(m + PROTO_HDR_BYTES + 4, 100);
		proto_seal(m, PROTO_SET_SENSOR_GAIN_HIGH, 0, seq, demo_now_ns(), 8);
		proto_put32(m + 16, 1000); /* the lie, after the checksum */
		err = inject_one(a, "payload_len 1000 with 8 bytes of payload", m,
				 PROTO_HDR_BYTES + 8, true, seq, PROTO_SET_SENSOR_GAIN_HIGH,
				 PROTO_ERR_LENGTH);
	}
	/* A flipped payload bit. */
	if (!err) {
		seq = ++a->seq;
		proto_put32(m + PROTO_HDR_BYTES, 1);
		proto_put32(m + PROTO_HDR_BYTES + 4, 100);
		proto_seal(m, PROTO_SET_SENSOR_GAIN_HIGH, 0, seq, demo_now_ns(), 8);
		m[PROTO_HDR_BYTES + 1] ^= 0x10;
		err = inject_one(a, "a payload bit flipped after the checksum", m,
				 PROTO_HDR_BYTES + 8, true, seq, PROTO_SET_SENSOR_GAIN_HIGH,
				 PROTO_ERR_CHECKSUM);
	}
	/* Well-formed, but ADAS is not running yet. */
	if (!err) {
		seq = ++a->seq;
		proto_frame_fill(m + PROTO_HDR_BYTES, PROTO_FRAME_MIN, 0, 0, 0);
		proto_seal(m, PROTO_SENSOR_FRAME, 0, seq, demo_now_ns(), PROTO_FRAME_MIN);
		err = inject_one(a, "a sensor frame before START_ADAS_PROCESSING", m,
				 sizeof(m), true, seq, PROTO_SENSOR_FRAME, PROTO_ERR_STATE);
	}
	return err;
}

/* ---- The frame stream ------------------------------------------------------------ */

static int on_frame_ack(struct aaos *a, const struct proto_ack *ack, uint64_t done,
			uint64_t now)
{
	const struct pending *p = &a->pend[done % MAX_QSIZE];

	if (ack->acked_seq != p->seq || ack->acked_type != PROTO_SENSOR_FRAME) {
		fprintf(stderr, PROG ": error: ACK for seq %" PRIu32 " (%s) where the "
				"one for frame seq %" PRIu32 " was due\n",
			ack->acked_seq, proto_type_name(ack->acked_type), p->seq);
		a->unexpected++;
		return DEMO_EXIT_FAIL;
	}
	demo_hist_add(&a->lat, now - p->t);
	if (ack->status != PROTO_OK) {
		a->nacks++;
		if (a->nacks <= MAX_LOGGED)
			fprintf(stderr, "[aaos] error: rtos refused frame seq %" PRIu32
					": %s\n", p->seq, proto_status_name(ack->status));
	}
	return 0;
}

static int stream(struct aaos *a, const struct opts *o)
{
	unsigned char buf[BUF_BYTES];
	uint64_t sent = 0, done = 0;
	int err;

	a->st0 = vr_chan_stats(&a->ch);
	a->t0 = demo_now_ns();
	a->c0 = demo_cycles();
	a->cpu0 = demo_cpu_ns();
	memset(&a->progress, 0, sizeof(a->progress));
	demo_progress_tick(&a->progress, "aaos", "frames acknowledged", 0, o->frames,
			   a->t0, NULL, NULL);
	while (done < o->frames) {
		bool room = true, first;

		/* Fill the window, each frame built where it will be read. */
		while (sent < o->frames && sent - done < o->window) {
			void *p;
			unsigned char h[PROTO_HDR_BYTES];
			uint32_t cap, sum, len = proto_frame_size(sent);
			struct pending *pd = &a->pend[sent % MAX_QSIZE];
			int tok = vr_chan_send_reserve(&a->ch, &p, &cap, 0);

			if (tok == VR_EAGAIN) {
				room = false;
				break;
			}
			if (tok < 0)
				return demo_report_error(PROG, "reserving a frame buffer", tok,
							 &a->shm);
			pd->seq = ++a->seq;
			pd->t = demo_now_ns();
			sum = proto_head(h, PROTO_SENSOR_FRAME, 0, pd->seq, pd->t, len);
			sum = proto_frame_fill((unsigned char *)p + PROTO_HDR_BYTES, len,
					       sent, (uint16_t)(sent & 3), sum);
			proto_finish((unsigned char *)p, h, sum);
			err = vr_chan_send_commit(&a->ch, tok, PROTO_HDR_BYTES + len);
			if (err)
				return demo_report_error(PROG, "sending a frame", err, &a->shm);
			sent++;
		}
		room = room && sent < o->frames && sent - done < o->window;

		/* Collect ACKs: block only when nothing more can be sent. */
		for (first = true;; first = false) {
			struct proto_ack ack;
			struct proto_hdr hdr;
			int n = recv_reply(a, buf, sizeof(buf),
					   first && !room ? ACK_TIMEOUT_NS : 0);

			if (n == VR_EAGAIN)
				break;
			if (n == VR_ETIMEDOUT) {
				fprintf(stderr, PROG ": no ACK for frame seq %" PRIu32
						" within %llu s\n",
					a->pend[done % MAX_QSIZE].seq,
					(unsigned long long)(ACK_TIMEOUT_NS / 1000000000ull));
				return DEMO_EXIT_FAIL;
			}
			if (n < 0)
				return demo_report_error(PROG, "receiving ACKs", n, &a->shm);
			if (!check_reply(a, buf, n, &hdr, &ack))
				continue;
			if (done == sent) {
				fprintf(stderr, PROG ": error: ACK for seq %" PRIu32
						" with no frame in flight\n", ack.acked_seq);
				a->unexpected++;
				return DEMO_EXIT_FAIL;
			}
			err = on_frame_ack(a, &ack, done, demo_now_ns());
			if (err)
				return err;
			done++;
		}
		demo_progress_tick(&a->progress, "aaos", "frames acknowledged", done,
				   o->frames, demo_now_ns(), &a->lat, "round trip");
	}
	a->c1 = demo_cycles();
	a->cpu1 = demo_cpu_ns();
	a->t1 = demo_now_ns();
	a->st1 = vr_chan_stats(&a->ch);
	return 0;
}

static void print_summary(struct aaos *a, const struct opts *o)
{
	struct demo_summary s;
	struct vr_chan_stats d;

	d.sent = a->st1.sent - a->st0.sent;
	d.received = a->st1.received - a->st0.received;
	d.notifies = a->st1.notifies - a->st0.notifies;
	d.notifies_suppressed = a->st1.notifies_suppressed - a->st0.notifies_suppressed;
	d.waits = a->st1.waits - a->st0.waits;
	d.resubmitted = 0;
	memset(&s, 0, sizeof(s));
	s.who = "aaos";
	s.messages = o->frames;
	s.ns = a->t1 - a->t0;
	s.cycles = a->c1 - a->c0;
	s.cpu_ns = a->cpu1 - a->cpu0;
	s.clock = a->clock;
	s.lat_what = "round-trip latency of frames, send_time_ns to ACK receipt "
		     "(CLOCK_MONOTONIC)";
	s.lat = &a->lat;
	s.stats = &d;
	s.polling = o->polling;
	printf("[aaos] frames acknowledged: %" PRIu64 " (window %" PRIu32 "); "
	       "NACKs received %" PRIu64 ", replies refused %" PRIu64 "\n",
	       o->frames, o->window, a->nacks, a->refused);
	demo_print_summary(&s);
}

/* ---- Set-up and the run ------------------------------------------------------------- */

static pid_t spawn_rtos(const struct opts *o, const char *sock)
{
	char idx[16];
	pid_t pid;

	snprintf(idx, sizeof(idx), "%u", o->rtos_cpu_index);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		demo_unpin();
		execl(o->spawn, o->spawn, "--socket", sock, "--cpu-index", idx,
		      (char *)NULL);
		fprintf(stderr, PROG ": cannot run %s: %s\n", o->spawn, strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		fprintf(stderr, PROG ": fork: %s\n", strerror(errno));
	return pid;
}

/* Wait for the spawned rtos; returns its exit code as ours would be. */
static int reap(pid_t pid, bool kill_it)
{
	int status;

	if (pid <= 0)
		return 0;
	if (kill_it)
		(void)kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return DEMO_EXIT_FAIL;
	}
	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) != 0 && !kill_it)
			fprintf(stderr, PROG ": rtos exited with status %d\n",
				WEXITSTATUS(status));
		return WEXITSTATUS(status) == 0 ? 0 : DEMO_EXIT_FAIL;
	}
	if (!kill_it)
		fprintf(stderr, PROG ": rtos died of signal %d\n", WTERMSIG(status));
	return DEMO_EXIT_FAIL;
}

static int run(struct aaos *a, const struct opts *o, const char *sock, pid_t *child)
{
	struct vr_shm_cfg cfg;
	struct vr_chan_cfg cc;
	uint64_t feat = VR_FEATURE(VR_F_VERSION_1);
	size_t need;
	int err, cpu;

	if (o->event_idx)
		feat |= VR_FEATURE(VR_F_EVENT_IDX);
	memset(&cfg, 0, sizeof(cfg));
	cfg.region.queue_count = 2;
	cfg.region.queue[VR_CHAN_TX].size = o->qsize;
	cfg.region.queue[VR_CHAN_RX].size = o->qsize;
	cfg.region.queue[VR_CHAN_TX].format = cfg.region.queue[VR_CHAN_RX].format =
		o->packed ? VR_FORMAT_PACKED : VR_FORMAT_SPLIT;
	cfg.region.buf_bytes = BUF_BYTES;
	cfg.region.buf_count = 2 * o->qsize; /* half send, half receive */
	cfg.region.device_features = feat;
	cfg.backing = VR_SHM_MEMFD;
	cfg.flags = o->polling ? VR_SHM_POLLING : 0;
	cfg.socket_path = sock;

	cpu = demo_pin(o->cpu_index);
	demo_cycles_describe(a->clock, sizeof(a->clock), 100);
	printf("[aaos] libvring %d.%d.%d aaos/rtos demo: %s rings, queue size %" PRIu32
	       ", EVENT_IDX %s, %s\n",
	       VR_VERSION_MAJOR, VR_VERSION_MINOR, VR_VERSION_PATCH,
	       o->packed ? "packed" : "split", o->qsize, o->event_idx ? "offered" : "off",
	       o->polling ? "polling (no doorbells)" : "eventfd doorbells");
	printf("[aaos] %" PRIu64 " sensor frames of %u..%u bytes + %u-byte header, "
	       "window %" PRIu32 "%s\n",
	       o->frames, PROTO_FRAME_MIN, PROTO_FRAME_MAX, PROTO_HDR_BYTES, o->window,
	       cpu >= 0 ? "" : "; not pinned (fewer than 2 CPUs)");
	if (cpu >= 0)
		printf("[aaos] running on CPU %d\n", cpu);

	err = vr_shm_listen(&a->shm, &cfg);
	if (err) {
		fprintf(stderr, PROG ": cannot create the region on %s: %s (%s)\n", sock,
			vr_shm_last_error(&a->shm), vr_errname(err));
		return DEMO_EXIT_FAIL;
	}
	need = vr_chan_state_size(&a->shm.t);
	a->state = need ? aligned_alloc(64, (need + 63) & ~(size_t)63) : NULL;
	if (!a->state) {
		fprintf(stderr, PROG ": %s\n",
			need ? "out of memory" : "the region does not parse as a channel");
		return DEMO_EXIT_FAIL;
	}
	memset(&cc, 0, sizeof(cc));
	cc.features = feat;
	cc.tx_bufs = o->qsize;
	err = vr_chan_open(&a->ch, &a->shm.t, &cc, a->state, need);
	if (err)
		return demo_report_error(PROG, "opening the channel", err, &a->shm);
	if (vr_chan_max_msg(&a->ch) < PROTO_MAX_MSG) {
		fprintf(stderr, PROG ": channel buffers of %" PRIu32 " bytes are too "
				"small\n", vr_chan_max_msg(&a->ch));
		return DEMO_EXIT_FAIL;
	}
	printf("[aaos] region: memfd, %.0f KiB; listening on %s\n",
	       (double)a->shm.t.region_len / 1024.0, sock);
	if (o->spawn) {
		*child = spawn_rtos(o, sock);
		if (*child < 0)
			return DEMO_EXIT_FAIL;
	}
	fflush(stdout);
	err = vr_shm_accept(&a->shm, o->accept_timeout_ns);
	if (err == VR_ETIMEDOUT) {
		fprintf(stderr, PROG ": no rtos attached within %llu ms\n",
			(unsigned long long)(o->accept_timeout_ns / MS));
		return DEMO_EXIT_FAIL;
	}
	if (err) {
		fprintf(stderr, PROG ": accepting rtos failed: %s (%s)\n",
			vr_shm_last_error(&a->shm), vr_errname(err));
		return DEMO_EXIT_FAIL;
	}
	printf("[aaos] rtos attached (pid %d)\n", vr_shm_peer_pid(&a->shm));
	fflush(stdout);

	err = command(a, PROTO_SET_SENSOR_GAIN_HIGH, 0x0f, 2400,
		      " (front cameras 0x0f, +24.00 dB)");
	if (!err && o->inject_bad)
		err = inject_bad(a);
	if (!err)
		err = command(a, PROTO_START_ADAS_PROCESSING, 0x07, 33333,
			      " (lane keeping, adaptive cruise, emergency braking)");
	if (!err) {
		printf("[aaos] streaming %" PRIu64 " sensor frames...\n", o->frames);
		fflush(stdout);
		err = stream(a, o);
	}
	if (!err)
		err = command(a, PROTO_STOP_ADAS_PROCESSING, 0, 0, "");
	if (!err)
		err = command(a, PROTO_SHUTDOWN, 0, 0, "");
	if (err)
		return err;
	print_summary(a, o);
	if (a->nacks || a->refused || a->unexpected) {
		fprintf(stderr, PROG ": %" PRIu64 " NACKs, %" PRIu64 " replies refused, %"
				PRIu64 " unexpected ACKs\n",
			a->nacks, a->refused, a->unexpected);
		return DEMO_EXIT_FAIL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct aaos *a;
	char dir[256];
	char sockbuf[sizeof(dir) + 16];
	const char *tmp = getenv("TMPDIR");
	const char *sock;
	bool made_dir = false;
	pid_t child = 0;
	int rc, crc;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc > 0 ? DEMO_EXIT_OK : DEMO_EXIT_USAGE;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A hung-up socket must give an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);

	sock = o.socket;
	if (!sock) {
		/* A directory only we can write: nobody else can bind or
		 * replace the socket. */
		if (!tmp || !*tmp || strlen(tmp) > 200)
			tmp = "/tmp";
		snprintf(dir, sizeof(dir), "%s/vring-aaos-XXXXXX", tmp);
		if (!mkdtemp(dir)) {
			fprintf(stderr, PROG ": mkdtemp: %s\n", strerror(errno));
			return DEMO_EXIT_FAIL;
		}
		made_dir = true;
		snprintf(sockbuf, sizeof(sockbuf), "%s/vring.sock", dir);
		sock = sockbuf;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		fprintf(stderr, PROG ": out of memory\n");
		rc = DEMO_EXIT_FAIL;
	} else {
		rc = run(a, &o, sock, &child);
		/* Hang up: rtos sees it and exits. */
		vr_shm_close(&a->shm);
		free(a->state);
		free(a);
	}
	crc = reap(child, rc != 0 && rc != DEMO_EXIT_PEERDEAD);
	if (rc == 0)
		rc = crc;
	if (made_dir && rmdir(dir) != 0)
		fprintf(stderr, PROG ": cannot remove %s: %s\n", dir, strerror(errno));
	return rc;
}
