/* SPDX-License-Identifier: BSD-3-Clause */
/* The driver end of the two-process tests (see driver_side.h). */
#include "driver_side.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* The receiver's slice: it looks at rx_stop this often. */
#define RX_SLICE_NS (50 * PC_MS)

void ds_default_cfg(struct ds_cfg *cfg, uint32_t format, bool polling,
		    uint32_t messages, const char *peer, const char *tag)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->format = format;
	cfg->polling = polling;
	cfg->qsize = 128;
	cfg->buf_bytes = 1024;
	cfg->buf_count = 128;
	cfg->min_len = 1;
	cfg->messages = messages;
	cfg->reply_every = 64;
	cfg->seed = pc_env_u64("VR_PROCESS_SEED", 0x5eed0001);
	cfg->timeout_ns = pc_env_u64("VR_PROCESS_TIMEOUT_MS", 10000) * PC_MS;
	cfg->peer = peer;
	cfg->tag = tag;
}

const char *ds_cfg_name(const struct ds_cfg *cfg)
{
	if (cfg->format == VR_FORMAT_PACKED)
		return cfg->polling ? "packed polling" : "packed doorbells";
	return cfg->polling ? "split polling" : "split doorbells";
}

int ds_init(struct ds *d, const struct ds_cfg *cfg)
{
	struct vr_shm_cfg sc;
	struct vr_chan_cfg cc;
	size_t n;
	int r;

	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	atomic_init(&d->rx_stop, 0);
	atomic_init(&d->rx_state, DS_STOPPED);
	atomic_init(&d->rx_count, 0);
	atomic_init(&d->rx_next, 0);
	atomic_init(&d->rx_after_dead, 0);
	atomic_init(&d->rx_end_ns, 0);
	atomic_init(&d->published, 0);
	d->phase_end = cfg->messages;
	if (pc_mkdtemp(d->dir, sizeof(d->dir), cfg->tag) != 0) {
		d->dir[0] = '\0';
		return VR_EIO;
	}
	snprintf(d->sock, sizeof(d->sock), "%s/sock", d->dir);

	memset(&sc, 0, sizeof(sc));
	pc_region_cfg(&sc.region, cfg->format, cfg->qsize, cfg->buf_bytes,
		      cfg->buf_count);
	sc.backing = VR_SHM_MEMFD;
	sc.flags = cfg->polling ? VR_SHM_POLLING : 0;
	sc.socket_path = d->sock;
	sc.liveness_timeout_ns = cfg->liveness_ns;
	r = vr_shm_listen(&d->shm, &sc);
	if (r) {
		fprintf(stderr, "vr_shm_listen: %s (%s)\n", vr_strerror(r),
			vr_shm_last_error(&d->shm));
		return r;
	}
	d->listening = true;

	n = vr_chan_state_size(&d->shm.t);
	if (n == 0)
		return VR_EREGION;
	d->state = aligned_alloc(64, (n + 63) & ~(size_t)63);
	d->msg = malloc(cfg->buf_bytes);
	d->prefix = calloc((size_t)cfg->messages + 1, sizeof(*d->prefix));
	if (!d->state || !d->msg || !d->prefix)
		return VR_EIO;
	memset(&cc, 0, sizeof(cc));
	cc.features = pc_driver_features(cfg->polling);
	return vr_chan_open(&d->ch, &d->shm.t, &cc, d->state, n);
}

void ds_log_path(const struct ds *d, unsigned i, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/dev%u.log", d->dir, i);
}

int ds_spawn_device(struct ds *d, const char *log, bool resume, uint32_t end)
{
	char s_end[16], s_seed[24], s_min[16], s_every[16], s_to[24], s_delay[16];
	char *argv[24];
	int a = 0;

	snprintf(s_end, sizeof(s_end), "%u", end);
	snprintf(s_seed, sizeof(s_seed), "%llu", (unsigned long long)d->cfg.seed);
	snprintf(s_min, sizeof(s_min), "%u", d->cfg.min_len);
	snprintf(s_every, sizeof(s_every), "%u", d->cfg.reply_every);
	snprintf(s_to, sizeof(s_to), "%llu",
		 (unsigned long long)(d->cfg.timeout_ns / PC_MS));
	argv[a++] = (char *)d->cfg.peer;
	argv[a++] = (char *)"device";
	argv[a++] = (char *)"--socket";
	argv[a++] = d->sock;
	argv[a++] = (char *)"--end";
	argv[a++] = s_end;
	argv[a++] = (char *)"--seed";
	argv[a++] = s_seed;
	argv[a++] = (char *)"--min-len";
	argv[a++] = s_min;
	argv[a++] = (char *)"--reply-every";
	argv[a++] = s_every;
	argv[a++] = (char *)"--timeout-ms";
	argv[a++] = s_to;
	if (log) {
		argv[a++] = (char *)"--log";
		argv[a++] = (char *)log;
	}
	if (resume) {
		argv[a++] = (char *)"--resume";
		if (d->cfg.open_delay_ms) {
			snprintf(s_delay, sizeof(s_delay), "%u", d->cfg.open_delay_ms);
			argv[a++] = (char *)"--open-delay-ms";
			argv[a++] = s_delay;
		}
	}
	argv[a] = NULL;
	d->dev = pc_spawn(d->cfg.peer, argv);
	if (d->dev <= 0) {
		d->dev = 0;
		return -1;
	}
	d->devs++;
	return 0;
}

int ds_accept(struct ds *d)
{
	int r = vr_shm_accept(&d->shm, d->cfg.timeout_ns);

	if (r)
		fprintf(stderr, "vr_shm_accept: %s (%s)\n", vr_strerror(r),
			vr_shm_last_error(&d->shm));
	return r;
}

/* ---- Receiver ---------------------------------------------------------------- */

static void rx_fail(struct ds *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void rx_fail(struct ds *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->rx_why, sizeof(d->rx_why), fmt, ap);
	va_end(ap);
}

/* Check one control message: 1 DONE, 0 PROGRESS, DS_BAD. */
static int rx_check(struct ds *d, const struct pc_ctl *c, int len)
{
	uint32_t pub = atomic_load_explicit(&d->published, memory_order_acquire);
	uint64_t want;

	if (len != (int)sizeof(*c) || c->magic != PC_CTL_MAGIC ||
	    (c->kind != PC_PROGRESS && c->kind != PC_DONE)) {
		rx_fail(d, "bad control message (len %u, magic 0x%x, kind %u)",
			(unsigned)len, c->magic, c->kind);
		return DS_BAD;
	}
	if (c->first >= c->next || c->next > pub) {
		rx_fail(d, "reply about [%u, %u) with %u messages sent", c->first,
			c->next, pub);
		return DS_BAD;
	}
	if (c->next <= atomic_load(&d->rx_next)) {
		rx_fail(d, "reply about [%u, %u) after one up to %u", c->first,
			c->next, atomic_load(&d->rx_next));
		return DS_BAD;
	}
	want = atomic_load_explicit(&d->prefix[c->next], memory_order_acquire) -
	       atomic_load_explicit(&d->prefix[c->first], memory_order_acquire);
	if (c->sum != want) {
		rx_fail(d, "checksum of [%u, %u) wrong (device pid %u)", c->first,
			c->next, c->pid);
		return DS_BAD;
	}
	atomic_store(&d->rx_next, c->next);
	atomic_fetch_add(&d->rx_count, 1);
	if (c->kind == PC_DONE) {
		if (c->next != d->phase_end) {
			rx_fail(d, "DONE at %u, expected %u", c->next, d->phase_end);
			return DS_BAD;
		}
		return 1;
	}
	return 0;
}

static void *rx_main(void *arg)
{
	struct ds *d = (struct ds *)arg;
	uint64_t last = pc_now_ns();
	struct pc_ctl c;
	int r, st = DS_RUNNING;

	while (st == DS_RUNNING) {
		if (atomic_load(&d->rx_stop)) {
			st = DS_STOPPED;
			break;
		}
		r = vr_chan_recv(&d->ch, &c, sizeof(c), RX_SLICE_NS);
		if (r == VR_ETIMEDOUT) {
			if (pc_now_ns() - last > d->cfg.timeout_ns)
				st = VR_ETIMEDOUT;
			continue;
		}
		if (r == VR_EPEERDEAD) {
			/* What the device published before it died is still
			 * in the ring: a non-blocking call takes it. */
			while ((r = vr_chan_recv(&d->ch, &c, sizeof(c), 0)) > 0) {
				atomic_fetch_add(&d->rx_after_dead, 1);
				r = rx_check(d, &c, r);
				if (r != 0)
					break;
			}
			st = r == 1 ? 0 : r == DS_BAD ? DS_BAD : VR_EPEERDEAD;
			break;
		}
		if (r < 0) {
			st = r;
			break;
		}
		r = rx_check(d, &c, r);
		if (r == 1)
			st = 0;
		else if (r == DS_BAD)
			st = DS_BAD;
		last = pc_now_ns();
	}
	atomic_store(&d->rx_end_ns, pc_now_ns());
	atomic_store(&d->rx_state, st);
	return NULL;
}

int ds_rx_start(struct ds *d)
{
	d->rx_why[0] = '\0';
	atomic_store(&d->rx_stop, 0);
	atomic_store(&d->rx_state, DS_RUNNING);
	if (pthread_create(&d->rx, NULL, rx_main, d) != 0) {
		atomic_store(&d->rx_state, DS_STOPPED);
		return -1;
	}
	d->rx_running = true;
	return 0;
}

int ds_rx_join(struct ds *d, bool stop)
{
	if (d->rx_running) {
		if (stop)
			atomic_store(&d->rx_stop, 1);
		pthread_join(d->rx, NULL);
		d->rx_running = false;
	}
	return atomic_load(&d->rx_state);
}

const char *ds_rx_why(struct ds *d)
{
	/* Acquire (seq_cst): rx_why was written before rx_state was set. */
	return atomic_load(&d->rx_state) == DS_RUNNING ? "" : d->rx_why;
}

/* ---- Sender ---------------------------------------------------------------------- */

/* prefix[seq + 1] before message seq leaves: a reply cannot overtake it. */
static void publish(struct ds *d, uint32_t seq, uint64_t h)
{
	uint64_t before = atomic_load_explicit(&d->prefix[seq], memory_order_relaxed);

	atomic_store_explicit(&d->prefix[seq + 1], before + h, memory_order_release);
	if (atomic_load_explicit(&d->published, memory_order_relaxed) < seq + 1)
		atomic_store_explicit(&d->published, seq + 1, memory_order_release);
}

int ds_send(struct ds *d, uint32_t seq)
{
	uint32_t len = pc_len(d->cfg.seed, seq, d->cfg.min_len, d->cfg.buf_bytes);
	uint64_t h;

	if (seq & 1) {
		void *buf;
		uint32_t cap;
		int tok = vr_chan_send_reserve(&d->ch, &buf, &cap, d->cfg.timeout_ns);

		if (tok < 0)
			return tok;
		if (cap < len) {
			vr_chan_send_commit(&d->ch, tok, 0);
			return VR_EMSGSIZE;
		}
		h = pc_fill(buf, d->cfg.seed, seq, len);
		publish(d, seq, h);
		return vr_chan_send_commit(&d->ch, tok, len);
	}
	h = pc_fill(d->msg, d->cfg.seed, seq, len);
	publish(d, seq, h);
	return vr_chan_send(&d->ch, d->msg, len, d->cfg.timeout_ns);
}

void ds_destroy(struct ds *d)
{
	/* The device first: with it gone the receiver stops at once. */
	pc_kill_reap(&d->dev);
	ds_rx_join(d, true);
	if (d->listening) {
		vr_shm_close(&d->shm);
		d->listening = false;
	}
	free(d->state);
	free(d->msg);
	free(d->prefix);
	d->state = NULL;
	d->msg = NULL;
	d->prefix = NULL;
	if (d->dir[0]) {
		pc_rmdir_all(d->dir);
		d->dir[0] = '\0';
	}
}
