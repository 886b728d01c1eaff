/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rtos: the device end of the automotive demo, standing in for a
 * safety-island RTOS. It connects to aaos over the host shared-memory
 * transport, then serves the channel: each message is borrowed where it
 * lies in the shared region (zero-copy), its header copied out once and
 * checked, its checksum computed over the bytes in place, the buffer given
 * back, the command "executed" (a line for commands, a count for sensor
 * frames), and an ACK (or a NACK saying why) sent back on the channel.
 *
 *   rtos --socket PATH [--connect-timeout-ms N] [--cpu-index N] [--verbose]
 *
 * On SHUTDOWN it prints its summary, then acknowledges, then waits for aaos
 * to hang up. Exit codes: 0 done, 1 failure, 2 bad arguments, 3 aaos went
 * away mid-run.
 */
#define _GNU_SOURCE

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vring/channel.h>
#include <vring/shm.h>

#include "common.h"
#include "protocol.h"

#define PROG "rtos"
#define MS 1000000ull
#define RECV_TIMEOUT_NS (30000 * MS) /* nothing from aaos for this long: give up */
#define SEND_TIMEOUT_NS (10000 * MS)
#define LINGER_NS (5000 * MS)        /* after SHUTDOWN, wait for the hang-up */
#define MAX_LOGGED 10u               /* refusals logged one by one */

struct opts {
	const char *socket;
	uint64_t connect_timeout_ns;
	unsigned cpu_index;
	bool verbose;
};

struct rtos {
	struct vr_shm shm;
	struct vr_chan ch;
	void *state;
	uint32_t seq;            /* our ACKs, from 1 */
	bool gain_high, adas;
	uint64_t messages;       /* messages received */
	uint64_t refused;        /* NACKed */
	uint64_t peer_nacks;     /* aaos refused one of ours */
	uint64_t frames, frame_bytes;
	uint64_t skew;           /* frames stamped in our future */
	/* The ADAS phase: from START_ADAS_PROCESSING to STOP. */
	uint64_t t0, t1, c0, c1, cpu0, cpu1;
	struct vr_chan_stats st0, st1;
	struct demo_hist lat;    /* aaos send -> rtos receipt, frames */
	struct demo_progress progress;
	char clock[200];
	int cpu;                 /* pinned to, or -1 */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: rtos --socket PATH [options]\n"
		"The device end of the aaos/rtos demo (aaos starts it, or\n"
		"scripts/demo.sh does).\n"
		"  --socket PATH            aaos's unix socket (required)\n"
		"  --connect-timeout-ms N   keep trying to connect this long\n"
		"                           (default 10000)\n"
		"  --cpu-index N            pin to the N-th allowed CPU (default 1)\n"
		"  --verbose                a line for every refused message\n"
		"  --help                   this text\n");
}

/* 0 to run, 1 after --help, -1 on a bad argument. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->connect_timeout_ns = 10000 * MS;
	o->cpu_index = 1;
	for (i = 1; i < argc; i++) {
		const char *val = NULL;
		uint64_t v;
		int m;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(argv[i], "--verbose") == 0) {
			o->verbose = true;
			continue;
		}
		if ((m = demo_opt_value(PROG, argc, argv, &i, "--socket", &val)) != 0) {
			if (m < 0)
				return -1;
			if (!*val) {
				fprintf(stderr, PROG ": --socket: empty path\n");
				return -1;
			}
			o->socket = val;
		} else if ((m = demo_opt_value(PROG, argc, argv, &i,
					       "--connect-timeout-ms", &val)) != 0) {
			if (m < 0 || demo_parse_u64(PROG, "--connect-timeout-ms", val,
						    1, 3600000, &v))
				return -1;
			o->connect_timeout_ns = v * MS;
		} else if ((m = demo_opt_value(PROG, argc, argv, &i, "--cpu-index",
					       &val)) != 0) {
			if (m < 0 || demo_parse_u64(PROG, "--cpu-index", val, 0, 4095, &v))
				return -1;
			o->cpu_index = (unsigned)v;
		} else {
			fprintf(stderr, PROG ": unknown argument \"%s\" (try --help)\n",
				argv[i]);
			return -1;
		}
	}
	if (!o->socket) {
		fprintf(stderr, PROG ": --socket PATH is required (try --help)\n");
		return -1;
	}
	return 0;
}

/* ---- Reading a borrowed message: copy out, or checksum in place ------------ */

/* Copy @n bytes from offset @off of the message's segments into @dst. The
 * caller has checked off + n <= msg->len. */
static void msg_copy(const struct vr_chan_msg *m, size_t off, void *dst, size_t n)
{
	unsigned char *d = (unsigned char *)dst;
	uint32_t i;

	for (i = 0; i < m->nseg && n > 0; i++) {
		size_t len = m->seg[i].len;

		if (off >= len) {
			off -= len;
			continue;
		}
		len -= off;
		if (len > n)
			len = n;
		memcpy(d, (const unsigned char *)m->seg[i].base + off, len);
		d += len;
		n -= len;
		off = 0;
	}
}

/* FNV-1a over @n bytes at offset @off, read in place, each byte once. */
static uint32_t msg_fnv(uint32_t h, const struct vr_chan_msg *m, size_t off, size_t n)
{
	uint32_t i;

	for (i = 0; i < m->nseg && n > 0; i++) {
		size_t len = m->seg[i].len;

		if (off >= len) {
			off -= len;
			continue;
		}
		len -= off;
		if (len > n)
			len = n;
		h = proto_fnv(h, (const unsigned char *)m->seg[i].base + off, len);
		n -= len;
		off = 0;
	}
	return h;
}

/* ---- Replies --------------------------------------------------------------------- */

static int send_ack(struct rtos *r, const struct proto_hdr *about, bool seq_known,
		    int status, uint32_t detail)
{
	unsigned char m[PROTO_HDR_BYTES + PROTO_ACK_PAYLOAD];
	struct proto_ack a;
	int err;

	a.status = (uint16_t)status;
	a.acked_type = seq_known ? about->type : 0;
	a.acked_seq = seq_known ? about->seq : 0;
	a.detail = detail;
	proto_ack_payload(m + PROTO_HDR_BYTES, &a);
	proto_seal(m, PROTO_ACK, seq_known ? 0 : PROTO_F_SEQ_UNKNOWN, ++r->seq,
		   demo_now_ns(), PROTO_ACK_PAYLOAD);
	err = vr_chan_send(&r->ch, m, sizeof(m), SEND_TIMEOUT_NS);
	if (err)
		return demo_report_error(PROG, "sending an ACK", err, &r->shm);
	return 0;
}

static void log_refusal(struct rtos *r, const struct opts *o, const struct proto_hdr *h,
			bool seq_known, uint32_t len, int status)
{
	r->refused++;
	if (r->refused > MAX_LOGGED && !o->verbose) {
		if (r->refused == MAX_LOGGED + 1)
			fprintf(stderr, "[rtos] error: more refused messages; not "
					"logging each (--verbose)\n");
		return;
	}
	if (seq_known)
		fprintf(stderr,
			"[rtos] error: refused message seq %" PRIu32 " type %u (%s), "
			"%" PRIu32 " bytes: %s; sending NACK\n",
			h->seq, h->type, proto_type_name(h->type), len,
			proto_status_name((uint32_t)status));
	else
		fprintf(stderr,
			"[rtos] error: refused a %" PRIu32 "-byte message: %s; "
			"sending NACK\n",
			len, proto_status_name((uint32_t)status));
}

/* ---- Serving --------------------------------------------------------------------- */

enum { SERVE_MORE = 0, SERVE_SHUTDOWN = 1 };

static void print_summary(struct rtos *r)
{
	struct demo_summary s;
	struct vr_chan_stats d;

	if (r->adas) { /* SHUTDOWN without STOP: the phase ends now */
		r->c1 = demo_cycles();
		r->cpu1 = demo_cpu_ns();
		r->t1 = demo_now_ns();
		r->st1 = vr_chan_stats(&r->ch);
	}
	d.sent = r->st1.sent - r->st0.sent;
	d.received = r->st1.received - r->st0.received;
	d.notifies = r->st1.notifies - r->st0.notifies;
	d.notifies_suppressed = r->st1.notifies_suppressed - r->st0.notifies_suppressed;
	d.waits = r->st1.waits - r->st0.waits;
	d.resubmitted = 0;
	memset(&s, 0, sizeof(s));
	s.who = "rtos";
	s.messages = r->frames;
	s.ns = r->t1 - r->t0;
	s.cycles = r->c1 - r->c0;
	s.cpu_ns = r->cpu1 - r->cpu0;
	s.clock = r->clock;
	s.lat_what = "one-way latency of frames, aaos send_time_ns to rtos receipt "
		     "(CLOCK_MONOTONIC)";
	s.lat = &r->lat;
	s.stats = &d;
	s.polling = (r->shm.t.flags & VR_TRANSPORT_POLLING) != 0;
	printf("[rtos] frames served while ADAS ran: %" PRIu64 " (%" PRIu64
	       " payload bytes); messages in all %" PRIu64 ", refused %" PRIu64 "\n",
	       r->frames, r->frame_bytes, r->messages, r->refused);
	if (r->skew)
		printf("[rtos] %" PRIu64 " frames were stamped later than their receipt "
		       "(counted as 0 us)\n", r->skew);
	demo_print_summary(&s);
}

/* Execute one validated command. Returns the ACK status. */
static int execute(struct rtos *r, const struct proto_hdr *h, const unsigned char *pl,
		   uint64_t now, uint32_t *detail)
{
	switch (h->type) {
	case PROTO_SET_SENSOR_GAIN_HIGH: {
		uint32_t mask = proto_get32(pl), cdb = proto_get32(pl + 4);

		if (mask == 0 || cdb > 4800)
			return PROTO_ERR_PAYLOAD;
		r->gain_high = true;
		printf("[rtos] seq %" PRIu32 " SET_SENSOR_GAIN_HIGH: sensors 0x%02" PRIx32
		       " gain %.2f dB: applied\n",
		       h->seq, mask, (double)cdb / 100.0);
		*detail = mask;
		return PROTO_OK;
	}
	case PROTO_START_ADAS_PROCESSING: {
		uint32_t fn = proto_get32(pl), period = proto_get32(pl + 4);

		if (fn == 0)
			return PROTO_ERR_PAYLOAD;
		printf("[rtos] seq %" PRIu32 " START_ADAS_PROCESSING: functions 0x%02" PRIx32
		       ", frame period %" PRIu32 " us%s: started\n",
		       h->seq, fn, period, r->gain_high ? ", gain high" : "");
		if (!r->adas) {
			r->adas = true;
			r->frames = r->frame_bytes = 0;
			memset(&r->lat, 0, sizeof(r->lat));
			r->st0 = vr_chan_stats(&r->ch);
			r->t0 = now;
			r->c0 = demo_cycles();
			r->cpu0 = demo_cpu_ns();
			memset(&r->progress, 0, sizeof(r->progress));
			demo_progress_tick(&r->progress, "rtos", "frames served", 0, 0, now,
					   NULL, NULL);
		}
		*detail = fn;
		return PROTO_OK;
	}
	case PROTO_SENSOR_FRAME:
		if (!r->adas)
			return PROTO_ERR_STATE;
		r->frames++;
		r->frame_bytes += h->payload_len;
		if (h->send_time_ns <= now) {
			demo_hist_add(&r->lat, now - h->send_time_ns);
		} else {
			r->skew++;
			demo_hist_add(&r->lat, 0);
		}
		*detail = (uint32_t)r->frames;
		demo_progress_tick(&r->progress, "rtos", "frames served", r->frames, 0, now,
				   &r->lat, "one way");
		return PROTO_OK;
	case PROTO_STOP_ADAS_PROCESSING:
		if (r->adas) {
			r->c1 = demo_cycles();
			r->cpu1 = demo_cpu_ns();
			r->t1 = demo_now_ns();
			r->st1 = vr_chan_stats(&r->ch);
			r->adas = false;
		}
		printf("[rtos] seq %" PRIu32 " STOP_ADAS_PROCESSING: stopped after %" PRIu64
		       " frames\n", h->seq, r->frames);
		*detail = (uint32_t)r->frames;
		return PROTO_OK;
	case PROTO_SHUTDOWN:
		printf("[rtos] seq %" PRIu32 " SHUTDOWN\n", h->seq);
		return PROTO_OK;
	default:
		return PROTO_ERR_TYPE;
	}
}

/* Say who we are once the first message is in: by then aaos has printed its
 * own set-up lines, so the two outputs do not interleave. */
static void print_attached(struct rtos *r)
{
	const struct vr_region_info *info = vr_shm_info(&r->shm);

	printf("[rtos] attached to aaos (pid %d): %s rings, queue size %u, "
	       "EVENT_IDX %s, %s\n",
	       vr_shm_peer_pid(&r->shm),
	       info->queue[VR_CHAN_TX].format == VR_FORMAT_PACKED ? "packed" : "split",
	       info->queue[VR_CHAN_TX].size,
	       vr_chan_features(&r->ch) & VR_FEATURE(VR_F_EVENT_IDX) ? "on" : "off",
	       r->shm.t.flags & VR_TRANSPORT_POLLING ? "polling" : "eventfd doorbells");
	if (r->cpu >= 0)
		printf("[rtos] running on CPU %d\n", r->cpu);
	else
		printf("[rtos] not pinned (fewer than 2 CPUs)\n");
}

/* Take one message, check it, give it back, execute it, answer it. Returns
 * SERVE_MORE, SERVE_SHUTDOWN, or an exit code + 100 on failure. */
static int serve_one(struct rtos *r, const struct opts *o)
{
	struct vr_chan_msg msg;
	unsigned char hraw[PROTO_HDR_BYTES];
	unsigned char pl[PROTO_ACK_PAYLOAD]; /* the small payloads, copied out */
	struct proto_hdr h;
	uint32_t len, detail = 0;
	uint64_t now;
	int n, st, err;
	bool seq_known = false;

	n = vr_chan_recv_borrow(&r->ch, &msg, RECV_TIMEOUT_NS);
	if (n == VR_ETIMEDOUT) {
		fprintf(stderr, PROG ": nothing from aaos for %llu s: giving up\n",
			(unsigned long long)(RECV_TIMEOUT_NS / 1000000000ull));
		return 100 + DEMO_EXIT_FAIL;
	}
	if (n < 0)
		return 100 + demo_report_error(PROG, "receiving", n, &r->shm);
	now = demo_now_ns();
	if (r->messages++ == 0)
		print_attached(r);
	len = msg.len;
	memset(&h, 0, sizeof(h));

	/* The header is copied out of shared memory once; only the copy is
	 * used. Nothing is computed from payload_len before it has been
	 * compared with what actually arrived. */
	if (len >= PROTO_HDR_BYTES) {
		msg_copy(&msg, 0, hraw, PROTO_HDR_BYTES);
		proto_decode(hraw, &h);
		seq_known = true;
	}
	st = proto_check_header(&h, len);
	if (st == PROTO_OK)
		st = proto_check_payload_size(&h);
	if (st == PROTO_OK) {
		uint32_t sum = proto_header_sum(hraw);

		if (h.payload_len <= sizeof(pl)) {
			/* Commands: copy the payload out, then check the copy. */
			msg_copy(&msg, PROTO_HDR_BYTES, pl, h.payload_len);
			sum = proto_fnv(sum, pl, h.payload_len);
		} else {
			/* Frames: checksum in place, each byte read once;
			 * nothing else of a frame is used. */
			sum = msg_fnv(sum, &msg, PROTO_HDR_BYTES, h.payload_len);
		}
		if (sum != h.checksum)
			st = PROTO_ERR_CHECKSUM;
	}
	/* The buffer goes back whatever the verdict. */
	err = vr_chan_recv_release(&r->ch, &msg);
	if (err)
		return 100 + demo_report_error(PROG, "releasing a message", err, &r->shm);

	if (st == PROTO_OK && h.type == PROTO_ACK) {
		/* aaos refused something we sent: log it, never answer an ACK. */
		struct proto_ack a;

		a.status = proto_get16(pl);
		a.acked_type = proto_get16(pl + 2);
		a.acked_seq = proto_get32(pl + 4);
		if (a.status != PROTO_OK) {
			r->peer_nacks++;
			fprintf(stderr, "[rtos] error: aaos refused our message seq %" PRIu32
					" (%s): %s\n",
				a.acked_seq, proto_type_name(a.acked_type),
				proto_status_name(a.status));
		}
		return SERVE_MORE;
	}
	if (st == PROTO_OK)
		st = execute(r, &h, pl, now, &detail);
	if (st != PROTO_OK) {
		log_refusal(r, o, &h, seq_known, len, st);
		detail = len;
	}
	if (st == PROTO_OK && h.type == PROTO_SHUTDOWN) {
		/* Summary first, so that it is on the terminal before aaos,
		 * woken by the ACK, prints its own. */
		print_summary(r);
		fflush(stdout);
	} else if (h.type != PROTO_SENSOR_FRAME || st != PROTO_OK) {
		fflush(stdout); /* a command's line before its ACK */
	}
	err = send_ack(r, &h, seq_known, st, detail);
	if (err)
		return 100 + err;
	return st == PROTO_OK && h.type == PROTO_SHUTDOWN ? SERVE_SHUTDOWN : SERVE_MORE;
}

/* After SHUTDOWN: wait for aaos to read the ACK and hang up. */
static void linger(struct rtos *r)
{
	struct vr_chan_msg msg;
	uint64_t end = demo_now_ns() + LINGER_NS;

	for (;;) {
		uint64_t now = demo_now_ns();
		int n;

		if (now >= end) {
			fprintf(stderr, "[rtos] aaos did not hang up within %llu s after "
					"SHUTDOWN; leaving\n",
				(unsigned long long)(LINGER_NS / 1000000000ull));
			return;
		}
		n = vr_chan_recv_borrow(&r->ch, &msg, end - now);
		if (n < 0)
			return; /* VR_EPEERDEAD is the expected end */
		(void)vr_chan_recv_release(&r->ch, &msg);
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct rtos *r;
	uint64_t t0;
	size_t need;
	int cpu, err, rc = DEMO_EXIT_OK;

	err = parse_args(argc, argv, &o);
	if (err)
		return err > 0 ? DEMO_EXIT_OK : DEMO_EXIT_USAGE;
	setvbuf(stdout, NULL, _IOLBF, 0);

	r = calloc(1, sizeof(*r));
	if (!r) {
		fprintf(stderr, PROG ": out of memory\n");
		return DEMO_EXIT_FAIL;
	}
	cpu = demo_pin(o.cpu_index);
	demo_cycles_describe(r->clock, sizeof(r->clock), 50);

	err = vr_shm_connect(&r->shm, o.socket, o.connect_timeout_ns);
	if (err) {
		fprintf(stderr, PROG ": cannot connect to %s: %s (%s)\n", o.socket,
			vr_shm_last_error(&r->shm), vr_errname(err));
		free(r);
		return err == VR_EPEERDEAD ? DEMO_EXIT_PEERDEAD : DEMO_EXIT_FAIL;
	}
	need = vr_chan_state_size(&r->shm.t);
	r->state = need ? aligned_alloc(64, (need + 63) & ~(size_t)63) : NULL;
	if (!r->state) {
		fprintf(stderr, PROG ": %s\n",
			need ? "out of memory" : "the region does not parse as a channel");
		rc = DEMO_EXIT_FAIL;
		goto out;
	}
	/* The driver may still be setting the queues up: VR_EAGAIN until its
	 * DRIVER_OK. */
	t0 = demo_now_ns();
	while ((err = vr_chan_open(&r->ch, &r->shm.t, &(struct vr_chan_cfg){
					   .features = VR_RING_FEATURES },
				   r->state, need)) == VR_EAGAIN &&
	       demo_now_ns() - t0 < o.connect_timeout_ns)
		usleep(1000);
	if (err) {
		rc = demo_report_error(PROG, "opening the channel", err, &r->shm);
		goto out;
	}
	r->cpu = cpu;

	for (;;) {
		int s = serve_one(r, &o);

		if (s == SERVE_MORE)
			continue;
		if (s == SERVE_SHUTDOWN) {
			/* Refused messages were answered with NACKs and are
			 * aaos's to judge: serving to SHUTDOWN is success. */
			linger(r);
			rc = DEMO_EXIT_OK;
		} else {
			rc = s - 100;
		}
		break;
	}
out:
	vr_shm_close(&r->shm);
	free(r->state);
	free(r);
	return rc;
}
