/* SPDX-License-Identifier: BSD-3-Clause */
/* One end of the ivshmem end-to-end tests: see peer.h. */
#define _GNU_SOURCE

#include "peer.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The device's last message: "everything you sent arrived, and this is
 * the end of mine". Shorter than any data message (min_len >= 8). */
static const char fin_msg[3] = {'F', 'I', 'N'};

uint64_t ivp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * IVP_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint32_t ivp_len(uint32_t seq, uint32_t min_len, uint32_t max_len)
{
	return min_len + (uint32_t)(mix(seq + 0x51ed) % ((uint64_t)max_len - min_len + 1));
}

unsigned char ivp_byte(uint32_t seq, uint32_t i)
{
	return (unsigned char)(mix(((uint64_t)seq << 20) ^ (i >> 3)) >> (8 * (i & 7)));
}

static void fill(unsigned char *b, uint32_t seq, uint32_t len)
{
	uint32_t i;

	b[0] = (unsigned char)seq;
	b[1] = (unsigned char)(seq >> 8);
	b[2] = (unsigned char)(seq >> 16);
	b[3] = (unsigned char)(seq >> 24);
	for (i = 4; i < len; i++)
		b[i] = ivp_byte(seq, i);
}

struct end {
	struct vr_transport *t;
	const struct ivp_ops *ops;
	void *ctx;
	const struct ivp_cfg *cfg;
	struct vr_chan ch;
	void *state;
	size_t state_len;
	uint64_t deadline;
	atomic_bool stop;
	atomic_int err[2];                /* what ended the sender / receiver */
	atomic_uint_least64_t last_ns;    /* last progress with the peer */
	/* sender */
	uint32_t next_tx;   /* next seq to send (the driver's survives resets) */
	bool tx_done, fin_sent;
	/* receiver */
	bool rx_started, fin_seen;
	atomic_bool rx_done; /* read by the sender (FIN waits for it) */
	uint32_t rx_next;
	struct ivp_result *res;
	bool have_hb;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static bool expired(struct end *e)
{
	return ivp_now() > e->deadline;
}

static void *sender(void *arg)
{
	struct end *e = (struct end *)arg;
	unsigned char *buf = (unsigned char *)malloc(e->cfg->max_len);
	int rc = 0;

	if (!buf) {
		atomic_store(&e->err[0], VR_EIO);
		return NULL;
	}
	while (e->next_tx < e->cfg->tx_count && !atomic_load(&e->stop)) {
		uint32_t len = ivp_len(e->next_tx, e->cfg->min_len, e->cfg->max_len);

		fill(buf, e->next_tx, len);
		rc = vr_chan_send(&e->ch, buf, len, 100 * IVP_MS);
		if (rc == 0) {
			e->next_tx++;
			e->res->tx++;
			atomic_store(&e->last_ns, ivp_now());
			continue;
		}
		if (rc == VR_ETIMEDOUT || rc == VR_EAGAIN) {
			if (expired(e))
				break;
			rc = 0;
			continue;
		}
		break;
	}
	if (rc == 0 && e->next_tx >= e->cfg->tx_count)
		e->tx_done = true;
	/* The device ends its stream with FIN once it has everything. */
	while (rc == 0 && e->tx_done && e->cfg->role == VR_ROLE_DEVICE && !e->fin_sent &&
	       !atomic_load(&e->stop)) {
		if (!atomic_load(&e->rx_done)) {
			struct timespec ts = {0, 2000000};

			nanosleep(&ts, NULL);
			if (expired(e))
				break;
			continue;
		}
		rc = vr_chan_send(&e->ch, fin_msg, sizeof(fin_msg), 100 * IVP_MS);
		if (rc == 0)
			e->fin_sent = true;
		else if (rc == VR_ETIMEDOUT || rc == VR_EAGAIN)
			rc = expired(e) ? VR_ETIMEDOUT : 0;
	}
	if (rc == 0 && !e->tx_done && expired(e))
		rc = VR_ETIMEDOUT;
	free(buf);
	atomic_store(&e->err[0], rc);
	if (rc)
		atomic_store(&e->stop, true);
	return NULL;
}

static bool check_msg(struct end *e, const unsigned char *b, int len)
{
	uint32_t seq, i, want;

	if (len < 4) {
		say("VR-FAIL message of %d bytes\n", len);
		return false;
	}
	seq = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
	      ((uint32_t)b[3] << 24);
	if (!e->rx_started) {
		e->rx_started = true;
		e->rx_next = seq;
		say("VR-SESSION first=%u\n", seq);
	}
	if (seq != e->rx_next) {
		if (e->res->bad < 5)
			say("VR-FAIL expected seq %u, got %u\n", e->rx_next, seq);
		return false;
	}
	want = ivp_len(seq, e->cfg->min_len, e->cfg->max_len);
	if ((uint32_t)len != want) {
		if (e->res->bad < 5)
			say("VR-FAIL seq %u: %d bytes, expected %u\n", seq, len, want);
		return false;
	}
	for (i = 4; i < (uint32_t)len; i++) {
		if (b[i] != ivp_byte(seq, i)) {
			if (e->res->bad < 5)
				say("VR-FAIL seq %u: byte %u is 0x%02x, expected 0x%02x\n", seq,
				    i, b[i], ivp_byte(seq, i));
			return false;
		}
	}
	return true;
}

static void *receiver(void *arg)
{
	struct end *e = (struct end *)arg;
	unsigned char *buf = (unsigned char *)malloc(e->cfg->max_len + 1);
	bool want_fin = e->cfg->role == VR_ROLE_DRIVER;
	int rc = 0;

	if (!buf) {
		atomic_store(&e->err[1], VR_EIO);
		return NULL;
	}
	if (e->cfg->rx_count == 0)
		atomic_store(&e->rx_done, true);
	while (!atomic_load(&e->stop) &&
	       (!atomic_load(&e->rx_done) || (want_fin && !e->fin_seen))) {
		rc = vr_chan_recv(&e->ch, buf, e->cfg->max_len + 1, 100 * IVP_MS);
		if (rc > 0) {
			atomic_store(&e->last_ns, ivp_now());
			if (rc == (int)sizeof(fin_msg) && memcmp(buf, fin_msg, sizeof(fin_msg)) == 0) {
				if (!atomic_load(&e->rx_done)) {
					say("VR-FAIL FIN after %llu of %llu messages\n",
					    (unsigned long long)e->res->rx,
					    (unsigned long long)e->cfg->rx_count);
					e->res->bad++;
				}
				e->fin_seen = true;
				rc = 0;
				continue;
			}
			if (atomic_load(&e->rx_done)) {
				say("VR-FAIL a message after the last one\n");
				e->res->bad++;
			} else if (!check_msg(e, buf, rc)) {
				e->res->bad++;
				/* resynchronise on what arrived */
				e->rx_next = (uint32_t)buf[0] | ((uint32_t)buf[1] << 8) |
					     ((uint32_t)buf[2] << 16) | ((uint32_t)buf[3] << 24);
			}
			e->rx_next++;
			e->res->rx++;
			if (e->cfg->progress && e->res->rx % e->cfg->progress == 0)
				say("VR-PROGRESS rx=%llu\n", (unsigned long long)e->res->rx);
			if (e->rx_next >= e->cfg->rx_count)
				atomic_store(&e->rx_done, true);
			rc = 0;
			continue;
		}
		if (rc == VR_ETIMEDOUT || rc == VR_EAGAIN) {
			rc = 0;
			if (expired(e)) {
				rc = VR_ETIMEDOUT;
				break;
			}
			continue;
		}
		break;
	}
	free(buf);
	atomic_store(&e->err[1], rc);
	if (rc)
		atomic_store(&e->stop, true);
	return NULL;
}

static void add_stats(struct end *e)
{
	struct vr_chan_stats s;

	vr_chan_get_stats(&e->ch, &s);
	e->res->notifies += s.notifies;
	e->res->wakeups += s.wakeups;
}

static int open_chan(struct end *e)
{
	struct vr_chan_cfg cc;
	int rc;

	memset(&cc, 0, sizeof(cc));
	cc.features = VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_RING_RESET);
	for (;;) {
		rc = vr_chan_open(&e->ch, e->t, &cc, e->state, e->state_len);
		if (rc != VR_EAGAIN)
			break;
		if (expired(e))
			return VR_ETIMEDOUT;
		{
			struct timespec ts = {0, 1000000};

			nanosleep(&ts, NULL);
		}
		if (e->t->ops->peer_state(e->t) == VR_EPEERDEAD)
			return VR_EPEERDEAD;
	}
	if (rc)
		say("VR-FAIL vr_chan_open: %s\n", vr_strerror(rc));
	return rc;
}

/* One session: both threads until done, a peer death, or an error. */
static int session(struct end *e)
{
	pthread_t ts, tr;
	int rs, rr;

	atomic_store(&e->stop, false);
	atomic_store(&e->err[0], 0);
	atomic_store(&e->err[1], 0);
	atomic_store(&e->last_ns, ivp_now());
	if (pthread_create(&ts, NULL, sender, e) != 0)
		return VR_EIO;
	if (pthread_create(&tr, NULL, receiver, e) != 0) {
		atomic_store(&e->stop, true);
		pthread_join(ts, NULL);
		return VR_EIO;
	}
	pthread_join(tr, NULL);
	pthread_join(ts, NULL);
	rs = atomic_load(&e->err[0]);
	rr = atomic_load(&e->err[1]);
	if (rs == VR_EPEERDEAD || rr == VR_EPEERDEAD)
		return VR_EPEERDEAD;
	return rs ? rs : rr;
}

int ivp_run(struct vr_transport *t, const struct ivp_ops *ops, void *ctx,
	    const struct ivp_cfg *cfg, struct ivp_result *res)
{
	struct end *e = (struct end *)calloc(1, sizeof(*e));
	char extra[256];
	uint64_t t0 = 0;
	int rc, sessions = 0;

	memset(res, 0, sizeof(*res));
	if (!e)
		return 1;
	e->t = t;
	e->ops = ops;
	e->ctx = ctx;
	e->cfg = cfg;
	e->res = res;
	e->deadline = ivp_now() + cfg->run_timeout_ns;
	e->state_len = vr_chan_state_size(t);
	e->state = malloc(e->state_len ? e->state_len : 1);
	if (!e->state || e->state_len == 0) {
		say("VR-FAIL no channel state (region does not parse)\n");
		rc = VR_EREGION;
		goto out;
	}
	if (cfg->role == VR_ROLE_DRIVER) {
		rc = open_chan(e);
		if (rc)
			goto out;
	}
	for (;;) {
		rc = ops->attach(ctx, cfg->attach_timeout_ns);
		if (rc) {
			say("VR-FAIL attach: %s\n", vr_strerror(rc));
			goto out;
		}
		say("VR-ATTACHED session=%d\n", sessions);
		if (cfg->role == VR_ROLE_DEVICE) {
			rc = open_chan(e);
			if (rc == VR_EPEERDEAD)
				goto dead;
			if (rc)
				goto out;
			/* A new driver session starts its streams over. */
			e->next_tx = 0;
			e->tx_done = e->fin_sent = false;
		}
		e->rx_started = false;
		e->fin_seen = false;
		atomic_store(&e->rx_done, false);
		e->rx_next = 0;
		if (!t0)
			t0 = ivp_now();
		rc = session(e);
		add_stats(e);
		res->secs = (double)(ivp_now() - t0) / 1e9;
		if (rc == 0)
			break;
		if (rc != VR_EPEERDEAD) {
			say("VR-FAIL session %d: %s (%s)\n", sessions, vr_strerror(rc),
			    vr_errname(rc));
			goto out;
		}
dead:
		res->deaths++;
		say("VR-PEERDEAD session=%d after_ms=%llu why=\"%s\"\n", sessions,
		    (unsigned long long)((ivp_now() - atomic_load(&e->last_ns)) / IVP_MS),
		    ops->peer_error(ctx));
		if (res->deaths > cfg->max_deaths) {
			if (cfg->dead_ok) {
				say("VR-RESULT role=%s rx=%llu tx=%llu bad=%llu deaths=%u end=peer-dead %s\n",
				    cfg->role == VR_ROLE_DRIVER ? "driver" : "device",
				    (unsigned long long)res->rx, (unsigned long long)res->tx,
				    (unsigned long long)res->bad, res->deaths,
				    res->bad ? "FAILED" : "ok");
				rc = res->bad ? 1 : 0;
				free(e->state);
				free(e);
				return rc;
			}
			say("VR-FAIL the peer died %u times\n", res->deaths);
			rc = VR_EPEERDEAD;
			goto out;
		}
		sessions++;
		if (cfg->role == VR_ROLE_DRIVER) {
			struct vr_chan_stats before, after;

			vr_chan_get_stats(&e->ch, &before);
			rc = vr_chan_reset(&e->ch);
			if (rc) {
				say("VR-FAIL vr_chan_reset: %s\n", vr_strerror(rc));
				goto out;
			}
			vr_chan_get_stats(&e->ch, &after);
			say("VR-RESET acked=%llu resubmitted=%llu\n",
			    (unsigned long long)(e->next_tx -
						 (after.resubmitted - before.resubmitted)),
			    (unsigned long long)(after.resubmitted - before.resubmitted));
		}
	}
	extra[0] = '\0';
	if (ops->describe)
		ops->describe(ctx, extra, sizeof(extra));
	{
		double msgs = (double)(res->rx + res->tx);
		double secs = res->secs > 0 ? res->secs : 1e-9;

		say("VR-RESULT role=%s rx=%llu tx=%llu bad=%llu deaths=%u secs=%.2f "
		    "rx_per_s=%.0f tx_per_s=%.0f doorbells=%llu doorbells_per_msg=%.3f "
		    "wakeups=%llu %s %s\n",
		    cfg->role == VR_ROLE_DRIVER ? "driver" : "device",
		    (unsigned long long)res->rx, (unsigned long long)res->tx,
		    (unsigned long long)res->bad, res->deaths, res->secs,
		    (double)res->rx / secs, (double)res->tx / secs,
		    (unsigned long long)res->notifies,
		    msgs > 0 ? (double)res->notifies / msgs : 0.0,
		    (unsigned long long)res->wakeups, extra, res->bad ? "FAILED" : "ok");
	}
	rc = res->bad ? 1 : 0;
	/* The device waits for the driver to leave, so that the driver has
	 * read FIN before anything of ours goes away. */
	if (cfg->role == VR_ROLE_DEVICE) {
		uint64_t until = ivp_now() + 5 * IVP_SEC;

		while (ivp_now() < until && t->ops->peer_state(t) == VR_PEER_ALIVE) {
			struct timespec ts = {0, 10000000};

			nanosleep(&ts, NULL);
		}
	}
	free(e->state);
	free(e);
	return rc;
out:
	free(e->state);
	free(e);
	return rc ? 1 : 0;
}
