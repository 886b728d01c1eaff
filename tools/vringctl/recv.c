/* SPDX-License-Identifier: BSD-3-Clause */
/* vringctl recv: messages from the channel to standard output, as the
 * device or the driver. */
#include <stdlib.h>
#include <string.h>

#include "chan_end.h"

static void recv_usage(FILE *out)
{
	fprintf(out,
		"usage: vringctl recv [--role device|driver] [--count N] [--timeout SEC]\n"
		"                     [--hex] REGION\n"
		"Receive messages from the region's channel and print each on its own\n"
		"line: as the device from queue 0 (TX), as the driver from queue 1\n"
		"(RX). The device attaches when a driver is ready and follows it\n"
		"across sessions; the driver takes over the region and waits for\n"
		"devices.\n"
		"  --role R       device (default) or driver\n"
		"  --count N      stop after N messages (default: until interrupted)\n"
		"  --timeout SEC  give up after SEC seconds in all (default: never)\n"
		"  --hex          print messages as hex strings\n"
		"  --help         this text\n"
		"Exit status: 0 done (or interrupted); 1 failed (the peer broke the\n"
		"protocol, a message larger than the buffers); 2 bad arguments; 3 the\n"
		"region cannot be used; 4 timed out before N messages.\n");
}

static void print_msg(const unsigned char *m, size_t n, bool hex)
{
	size_t i;

	if (hex) {
		for (i = 0; i < n; i++)
			printf("%02x", m[i]);
	} else {
		fwrite(m, 1, n, stdout);
	}
	putchar('\n');
	fflush(stdout);
}

int vc_cmd_recv(int argc, char **argv)
{
	struct vc_msgopts o;
	struct vc_end *e;
	uint64_t deadline, got = 0;
	unsigned char *buf = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	o.role = VR_ROLE_DEVICE;
	o.timeout = VC_NO_DEADLINE;
	rc = vc_msg_parse("recv", argc, argv, &o, recv_usage);
	free(o.msgs);
	if (rc)
		return rc > 0 ? VC_EXIT_OK : VC_EXIT_USAGE;
	e = vc_end_new("recv", o.role);
	if (!e)
		return VC_EXIT_FAIL;
	rc = vc_target_parse("recv", o.region, &e->t);
	if (rc)
		goto out;
	vc_catch_signals();
	deadline = o.timeout == VC_NO_DEADLINE ? VC_NO_DEADLINE : vc_now_ns() + o.timeout;
	rc = vc_end_attach(e, deadline);
	if (rc == VC_EXIT_TIMEOUT)
		rc = vc_end_timed_out(e, o.timeout, "waiting for a driver");
	if (rc == VC_EXIT_INTR)
		rc = VC_EXIT_OK; /* interrupted before anything came: done */
	if (rc)
		goto out;
	buf = malloc(e->max_msg ? e->max_msg : 1);
	if (!buf) {
		vc_err("recv", "out of memory");
		rc = VC_EXIT_FAIL;
		goto out;
	}
	while (o.count == 0 || got < o.count) {
		uint64_t wait = vc_slice(deadline);
		int r;

		if (vc_interrupted)
			break;
		if (wait == 0) {
			char what[64];

			snprintf(what, sizeof(what), "after %llu message%s",
				 (unsigned long long)got, got == 1 ? "" : "s");
			rc = vc_end_timed_out(e, o.timeout, what);
			break;
		}
		r = vr_chan_recv(&e->ch, buf, e->max_msg, wait);
		if (r > 0) {
			print_msg(buf, (size_t)r, o.hex);
			got++;
			continue;
		}
		if (r == VR_ETIMEDOUT || r == VR_EAGAIN)
			continue;
		if (r == VR_EPEERDEAD) {
			r = vc_end_peer_gone(e, deadline);
			if (r == VC_EXIT_TIMEOUT) {
				char what[64];

				snprintf(what, sizeof(what), "after %llu message%s",
					 (unsigned long long)got, got == 1 ? "" : "s");
				rc = vc_end_timed_out(e, o.timeout, what);
				break;
			}
			if (r == VC_EXIT_INTR)
				break;
			if (r) {
				rc = r;
				break;
			}
			if (e->max_msg > 0) {
				unsigned char *nb = realloc(buf, e->max_msg);

				if (!nb) {
					vc_err("recv", "out of memory");
					rc = VC_EXIT_FAIL;
					break;
				}
				buf = nb;
			}
			continue;
		}
		if (r == VR_EMSGSIZE) {
			vc_err("recv", "%s: a message is larger than the region's %u-byte "
				       "buffers", e->t.shown, e->max_msg);
			rc = VC_EXIT_FAIL;
			break;
		}
		rc = vc_end_failed(e, r, "receiving");
		break;
	}
out:
	vc_end_free(e);
	free(buf);
	return rc;
}
