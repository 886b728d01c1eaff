/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device process: connects to the client's region, puts the run's
 * policy in force on its end, and answers every request at once, until the
 * client hangs up. START and STOP bracket the measured phase: the device
 * notes its CPU time and counters at each and sends the difference back
 * with STOP_ACK.
 */
#include "lat_proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS 1000000ull
/* The client connects within this; it is a fresh local process. */
#define CONNECT_TIMEOUT_NS (10000 * MS)
/* Longest silence of the client between two requests (the slowest load
 * sends every 100 us): longer than the client's reply timeout, so that a
 * stall is reported by the client, which knows which request it hit. A
 * client that dies is seen at once (socket hang-up). */
#define IDLE_TIMEOUT_NS (60000 * MS)

struct device {
	struct vr_shm shm;
	struct vr_chan ch;
	void *state;
	const struct vl_opts *o;
	uint64_t served;
	/* At START: */
	uint64_t cpu0, served0;
	struct vl_counts c0;
	bool stopped;
};

static int fail(struct device *d, const char *what, int err)
{
	const char *why = err == VR_EPEERDEAD ? vr_shm_peer_error(&d->shm) : "";

	fprintf(stderr, VL_PROG " (device): %s: %s (%s)%s%s\n", what, vr_strerror(err),
		vr_errname(err), *why ? ": " : "", why);
	return VL_EXIT_FAIL;
}

static int reply(struct device *d, const void *m, size_t len)
{
	int err = vr_chan_send(&d->ch, m, len, d->o->reply_timeout_ns);

	return err ? fail(d, "sending a reply", err) : 0;
}

static int serve_control(struct device *d, const struct vl_msg *in, int cpu)
{
	struct vl_dev_report rep;
	struct vl_counts now;

	memset(&rep, 0, sizeof(rep));
	if (in->kind == VL_START) {
		d->cpu0 = vl_cpu_ns();
		d->served0 = d->served;
		vl_counts_read(&d->ch, &d->c0);
		vl_msg_fill(&rep.h, VL_START_ACK, in->seq);
		return reply(d, &rep.h, sizeof(rep.h));
	}
	/* STOP: the measured phase ends here. */
	rep.cpu_ns = vl_cpu_ns() - d->cpu0;
	rep.served = d->served - d->served0;
	vl_counts_read(&d->ch, &now);
	rep.counts = d->c0;
	vl_counts_delta(&rep.counts, &now);
	rep.cpu = cpu;
	vl_msg_fill(&rep.h, VL_STOP_ACK, in->seq);
	d->stopped = true;
	if (reply(d, &rep, sizeof(rep)))
		return VL_EXIT_FAIL;
	/* A coalesced doorbell for it must not wait for a timer. */
	(void)vr_chan_flush(&d->ch, VR_CHAN_RX);
	return 0;
}

/* --fault: spoil the answer to request VL_FAULT_AT. True: do not send it. */
static bool inject(struct device *d, struct vl_msg *out)
{
	if (d->served != VL_FAULT_AT)
		return false;
	switch (d->o->fault) {
	case VL_FAULT_DROP:
		fprintf(stderr, VL_PROG " (device): fault: dropping the reply to #%" PRIu64 "\n",
			out->seq);
		return true;
	case VL_FAULT_CORRUPT:
		fprintf(stderr, VL_PROG " (device): fault: corrupting the reply to #%" PRIu64
				"\n", out->seq);
		out->check ^= 1;
		return false;
	case VL_FAULT_EXIT:
		fprintf(stderr, VL_PROG " (device): fault: exiting before reply #%" PRIu64 "\n",
			out->seq);
		_exit(0);
	default:
		return false;
	}
}

static int serve(struct device *d, int cpu)
{
	union {
		struct vl_msg m;
		unsigned char bytes[VL_BUF_BYTES];
	} in, out;
	int n;

	memset(&out, 0, sizeof(out));
	for (;;) {
		n = vr_chan_recv(&d->ch, &in, sizeof(in), IDLE_TIMEOUT_NS);
		if (n == VR_EPEERDEAD && d->stopped)
			return VL_EXIT_OK; /* the client hung up after STOP */
		if (n < 0)
			return fail(d, d->stopped ? "waiting for the hang-up"
						  : "waiting for a request", n);
		if (n >= (int)sizeof(in.m) && in.m.magic == VL_MAGIC &&
		    in.m.check == vl_check(in.m.seq, in.m.kind)) {
			if (in.m.kind == VL_REQ) {
				if ((uint32_t)n != d->o->msg_bytes)
					goto bad;
				d->served++;
				vl_msg_fill(&out.m, VL_REQ_ACK, in.m.seq);
				if (d->o->fault && inject(d, &out.m))
					continue;
				if (reply(d, &out, (size_t)n))
					return VL_EXIT_FAIL;
				continue;
			}
			if (in.m.kind == VL_START || in.m.kind == VL_STOP) {
				if (serve_control(d, &in.m, cpu))
					return VL_EXIT_FAIL;
				continue;
			}
		}
bad:
		fprintf(stderr, VL_PROG " (device): malformed request of %d bytes "
				"(magic %08" PRIx32 ", kind %" PRIu32 ", seq %" PRIu64 ")\n",
			n, in.m.magic, in.m.kind, in.m.seq);
		return VL_EXIT_FAIL;
	}
}

int vl_device_main(const char *sock, const struct vl_opts *o,
		   const struct vl_policy *p)
{
	struct device *d = calloc(1, sizeof(*d));
	struct vr_chan_cfg cc;
	size_t need;
	uint64_t t0;
	int err, rc;

	if (!d) {
		fprintf(stderr, VL_PROG " (device): out of memory\n");
		return VL_EXIT_FAIL;
	}
	d->o = o;
	if (o->cpu_device >= 0 && vl_pin(o->cpu_device) != 0)
		fprintf(stderr, VL_PROG " (device): cannot pin to CPU %d\n", o->cpu_device);
	err = vr_shm_connect(&d->shm, sock, CONNECT_TIMEOUT_NS);
	if (err) {
		fprintf(stderr, VL_PROG " (device): cannot connect to %s: %s (%s)\n", sock,
			vr_shm_last_error(&d->shm), vr_errname(err));
		free(d);
		return VL_EXIT_FAIL;
	}
	rc = VL_EXIT_FAIL;
	need = vr_chan_state_size(&d->shm.t);
	d->state = need ? aligned_alloc(64, (need + 63) & ~(size_t)63) : NULL;
	if (!d->state) {
		fprintf(stderr, VL_PROG " (device): %s\n",
			need ? "out of memory" : "the region is not a channel");
		goto out;
	}
	memset(&cc, 0, sizeof(cc));
	cc.features = vl_policy_features(p);
	/* The client may still be opening its end: VR_EAGAIN until then. */
	t0 = vl_now_ns();
	while ((err = vr_chan_open(&d->ch, &d->shm.t, &cc, d->state, need)) == VR_EAGAIN &&
	       vl_now_ns() - t0 < CONNECT_TIMEOUT_NS)
		usleep(200);
	if (err) {
		rc = fail(d, "opening the channel", err);
		goto out;
	}
	err = vl_policy_apply(p, &d->ch);
	if (err) {
		rc = fail(d, "setting the policy", err);
		goto out;
	}
	rc = serve(d, o->cpu_device);
out:
	vr_shm_close(&d->shm);
	free(d->state);
	free(d);
	return rc;
}
