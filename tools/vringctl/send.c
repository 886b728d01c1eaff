/* SPDX-License-Identifier: BSD-3-Clause */
/* vringctl send: messages from the command line or standard input into the
 * channel, as the driver (waiting for every acknowledgement) or the
 * device. */
#include <stdlib.h>
#include <string.h>

#include "chan_end.h"

static void send_usage(FILE *out)
{
	fprintf(out,
		"usage: vringctl send [--role driver|device] [--timeout SEC] [--hex]\n"
		"                     REGION [MESSAGE...]\n"
		"Send each MESSAGE (or each line of standard input when there is none;\n"
		"empty lines are skipped) over the region's channel: as the driver on\n"
		"queue 0 (TX), as the device on queue 1 (RX). The driver waits until the\n"
		"device has acknowledged every message (across device restarts); the\n"
		"device is done when the driver's buffers hold them.\n"
		"  --role R       driver (default) or device\n"
		"  --timeout SEC  give up after SEC seconds (default 10)\n"
		"  --hex          messages are hex strings (\"48690a\")\n"
		"  --help         this text\n"
		"Exit status: 0 sent; 1 failed (message larger than a buffer, another\n"
		"driver attached, the peer broke the protocol); 2 bad arguments;\n"
		"3 the region cannot be used; 4 timed out; 130 interrupted.\n");
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int unhex(const char *cmd, const char *s, unsigned char *out, size_t *len)
{
	size_t n = strlen(s), i;

	if (n == 0 || n % 2) {
		vc_err(cmd, "--hex: \"%s\" is not an even number of hex digits", s);
		return -1;
	}
	for (i = 0; i < n; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0) {
			vc_err(cmd, "--hex: \"%s\" is not hex", s);
			return -1;
		}
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

/* Send one message, riding out the peer's restarts. */
static int send_one(struct vc_end *e, const void *m, size_t len, uint64_t deadline,
		    uint64_t timeout, unsigned long nth)
{
	for (;;) {
		uint64_t wait = vc_slice(deadline);
		int r;

		if (vc_interrupted)
			return VC_EXIT_INTR;
		if (wait == 0)
			return vc_end_timed_out(e, timeout, "sending");
		r = vr_chan_send(&e->ch, m, len, wait);
		if (r == 0)
			return 0;
		if (r == VR_ETIMEDOUT || r == VR_EAGAIN)
			continue;
		if (r == VR_EPEERDEAD) {
			r = vc_end_peer_gone(e, deadline);
			if (r == VC_EXIT_TIMEOUT)
				return vc_end_timed_out(e, timeout, "sending");
			if (r)
				return r;
			continue;
		}
		if (r == VR_EMSGSIZE) {
			vc_err(e->cmd, "%s: message %lu (%zu bytes) does not fit the %s's "
				       "buffer", e->t.shown, nth, len,
			       e->role == VR_ROLE_DRIVER ? "region" : "driver");
			return VC_EXIT_FAIL;
		}
		return vc_end_failed(e, r, "sending");
	}
}

/* Driver: wait until every TX buffer is back, i.e. every message is
 * acknowledged, by reserving them all (then giving them back). */
static int wait_acks(struct vc_end *e, uint64_t deadline, uint64_t timeout)
{
	int *tok = calloc(e->tx_bufs, sizeof(int));
	uint32_t held = 0, i;
	int rc = 0;

	if (!tok) {
		vc_err(e->cmd, "out of memory");
		return VC_EXIT_FAIL;
	}
	while (held < e->tx_bufs) {
		uint64_t wait = vc_slice(deadline);
		void *buf;
		uint32_t cap;
		int r;

		if (vc_interrupted) {
			rc = VC_EXIT_INTR;
			break;
		}
		if (wait == 0) {
			char what[96];

			snprintf(what, sizeof(what), "with %u message%s not acknowledged",
				 e->tx_bufs - held, e->tx_bufs - held == 1 ? "" : "s");
			rc = vc_end_timed_out(e, timeout, what);
			break;
		}
		r = vr_chan_send_reserve(&e->ch, &buf, &cap, wait);
		if (r >= 0) {
			tok[held++] = r;
			continue;
		}
		if (r == VR_ETIMEDOUT || r == VR_EAGAIN)
			continue;
		if (r == VR_EPEERDEAD) {
			rc = vc_end_peer_gone(e, deadline);
			if (rc)
				break;
			continue;
		}
		rc = vc_end_failed(e, r, "waiting for acknowledgements");
		break;
	}
	for (i = 0; i < held && e->open; i++)
		vr_chan_send_commit(&e->ch, tok[i], 0);
	free(tok);
	return rc;
}

int vc_cmd_send(int argc, char **argv)
{
	struct vc_msgopts o;
	struct vc_end *e;
	uint64_t deadline;
	unsigned char *buf = NULL;
	char *line = NULL;
	size_t cap = 0;
	unsigned long nth = 0;
	int i, rc;

	memset(&o, 0, sizeof(o));
	o.role = VR_ROLE_DRIVER;
	o.timeout = 10000000000ull;
	rc = vc_msg_parse("send", argc, argv, &o, send_usage);
	if (rc) {
		free(o.msgs);
		return rc > 0 ? VC_EXIT_OK : VC_EXIT_USAGE;
	}
	for (i = 0; i < o.nmsgs; i++)
		if (!o.msgs[i][0]) {
			vc_err("send", "message %d is empty", i + 1);
			free(o.msgs);
			return VC_EXIT_USAGE;
		}
	e = vc_end_new("send", o.role);
	if (!e) {
		free(o.msgs);
		return VC_EXIT_FAIL;
	}
	rc = vc_target_parse("send", o.region, &e->t);
	if (rc)
		goto out;
	vc_catch_signals();
	deadline = vc_now_ns() + o.timeout;
	rc = vc_end_attach(e, deadline);
	if (rc == VC_EXIT_TIMEOUT)
		rc = vc_end_timed_out(e, o.timeout, "waiting for a driver");
	if (rc)
		goto out;
	buf = malloc(e->max_msg + 1);
	if (!buf) {
		vc_err("send", "out of memory");
		rc = VC_EXIT_FAIL;
		goto out;
	}
	for (i = 0; rc == 0; i++) {
		const char *m;
		size_t len;

		if (o.nmsgs) {
			if (i >= o.nmsgs)
				break;
			m = o.msgs[i];
		} else {
			ssize_t n = getline(&line, &cap, stdin);

			if (n < 0)
				break;
			if (n > 0 && line[n - 1] == '\n')
				line[--n] = '\0';
			if (n == 0)
				continue;
			m = line;
		}
		nth++;
		len = strlen(m);
		if (o.hex) {
			if (len / 2 > e->max_msg) {
				vc_err("send", "%s: message %lu (%zu bytes) is larger than the "
					       "region's %u-byte buffers", e->t.shown, nth,
				       len / 2, e->max_msg);
				rc = VC_EXIT_FAIL;
				break;
			}
			if (unhex("send", m, buf, &len)) {
				rc = VC_EXIT_USAGE;
				break;
			}
			m = (const char *)buf;
		} else if (len > e->max_msg) {
			vc_err("send", "%s: message %lu (%zu bytes) is larger than the "
				       "region's %u-byte buffers", e->t.shown, nth, len,
			       e->max_msg);
			rc = VC_EXIT_FAIL;
			break;
		}
		rc = send_one(e, m, len, deadline, o.timeout, nth);
	}
	if (rc == 0 && e->role == VR_ROLE_DRIVER)
		rc = wait_acks(e, deadline, o.timeout);
	if (rc == VC_EXIT_INTR)
		vc_err("send", "interrupted");
out:
	vc_end_free(e);
	free(buf);
	free(line);
	free(o.msgs);
	return rc;
}
