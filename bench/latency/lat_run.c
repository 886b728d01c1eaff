/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One (policy, load) run: a fresh region and a fresh device process for
 * each, so that no run inherits another's ring state, spin budget or
 * doorbell backlog.
 *
 *   fork the device  ->  listen, open the driver end, set the policy,
 *   accept  ->  warm up (not recorded)  ->  START  ->  measured phase  ->
 *   STOP (the device's CPU time and counters come back)  ->  hang up, reap.
 *
 * Both processes arm a watchdog, and every wait has a deadline, so a run
 * that goes wrong ends with a message and a non-zero exit, never a hang.
 */
#include "lat_proto.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS 1000000ull
#define ACCEPT_TIMEOUT_NS (10000 * MS)
#define LIVENESS_TIMEOUT_NS (10000 * MS)
/* Watchdog margin over the run's own length (set-up, warm-up, drain). */
#define WATCHDOG_MARGIN_S 60u

struct run {
	struct vr_shm shm;
	struct vr_chan ch;
	void *state;
	struct vl_client c;
	char dir[200];
	char sock[240];
	pid_t child;
};

static int make_socket_dir(struct run *x)
{
	const char *tmp = getenv("TMPDIR");

	/* A directory only we can write: nobody else can bind or replace
	 * the socket. */
	if (!tmp || !*tmp || strlen(tmp) > 150)
		tmp = "/tmp";
	snprintf(x->dir, sizeof(x->dir), "%s/vring-lat-XXXXXX", tmp);
	if (!mkdtemp(x->dir)) {
		fprintf(stderr, VL_PROG ": mkdtemp %s: %s\n", x->dir, strerror(errno));
		x->dir[0] = '\0';
		return -1;
	}
	snprintf(x->sock, sizeof(x->sock), "%s/vring.sock", x->dir);
	return 0;
}

/* Wait for the device; kill it first when the run failed. Returns its
 * verdict: 0 when it exited 0. */
static int reap(pid_t pid, bool kill_it)
{
	int status;

	if (pid <= 0)
		return 0;
	if (kill_it)
		(void)kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return VL_EXIT_FAIL;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!kill_it) {
		if (WIFEXITED(status))
			fprintf(stderr, VL_PROG ": the device exited with status %d\n",
				WEXITSTATUS(status));
		else
			fprintf(stderr, VL_PROG ": the device died of signal %d\n",
				WTERMSIG(status));
	}
	return VL_EXIT_FAIL;
}

static int setup(struct run *x, const struct vl_opts *o, const struct vl_policy *p)
{
	struct vr_shm_cfg cfg;
	struct vr_chan_cfg cc;
	size_t need;
	int err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.region.queue_count = 2;
	cfg.region.queue[VR_CHAN_TX].size = o->qsize;
	cfg.region.queue[VR_CHAN_RX].size = o->qsize;
	cfg.region.queue[VR_CHAN_TX].format = o->format;
	cfg.region.queue[VR_CHAN_RX].format = o->format;
	cfg.region.buf_bytes = VL_BUF_BYTES;
	/* Half the pool sends (a full TX ring), half receives (a reply for
	 * every request in flight). */
	cfg.region.buf_count = 2 * o->qsize;
	cfg.region.device_features = vl_policy_features(p);
	cfg.backing = VR_SHM_MEMFD;
	cfg.flags = p->polling ? VR_SHM_POLLING : 0;
	cfg.socket_path = x->sock;
	/* Polling mode also watches heartbeats; a busy shared machine can
	 * starve the heartbeat thread (it shares its CPU with a spinning main
	 * thread) past the 300 ms default and end the run for nothing. The
	 * socket still reports a real death at once. */
	cfg.liveness_timeout_ns = LIVENESS_TIMEOUT_NS;
	err = vr_shm_listen(&x->shm, &cfg);
	if (err) {
		fprintf(stderr, VL_PROG ": cannot create the region: %s (%s)\n",
			vr_shm_last_error(&x->shm), vr_errname(err));
		return VL_EXIT_FAIL;
	}
	need = vr_chan_state_size(&x->shm.t);
	x->state = need ? aligned_alloc(64, (need + 63) & ~(size_t)63) : NULL;
	if (!x->state) {
		fprintf(stderr, VL_PROG ": %s\n", need ? "out of memory" : "bad region");
		return VL_EXIT_FAIL;
	}
	memset(&cc, 0, sizeof(cc));
	cc.features = vl_policy_features(p);
	cc.tx_bufs = o->qsize;
	err = vr_chan_open(&x->ch, &x->shm.t, &cc, x->state, need);
	if (!err)
		err = vl_policy_apply(p, &x->ch);
	if (err) {
		fprintf(stderr, VL_PROG ": opening the channel: %s (%s)\n", vr_strerror(err),
			vr_errname(err));
		return VL_EXIT_FAIL;
	}
	err = vr_shm_accept(&x->shm, ACCEPT_TIMEOUT_NS);
	if (err) {
		fprintf(stderr, VL_PROG ": the device did not attach: %s (%s)\n",
			vr_shm_last_error(&x->shm), vr_errname(err));
		return VL_EXIT_FAIL;
	}
	return 0;
}

static int measure(struct run *x, const struct vl_opts *o, const struct vl_load *l,
		   struct vl_result *r)
{
	struct vl_client *c = &x->c;
	struct vl_dev_report rep;
	struct vl_counts c1;
	uint64_t cpu0, t0;
	double secs = o->seconds > 0 ? o->seconds : l->seconds;
	uint32_t n;

	/* The slot table: a power of two at least the window. */
	for (n = 1; n < o->qsize; n <<= 1)
		;
	c->slot = calloc(n, sizeof(*c->slot));
	if (!c->slot) {
		fprintf(stderr, VL_PROG ": out of memory\n");
		return VL_EXIT_FAIL;
	}
	c->mask = n - 1;
	c->ch = &x->ch;
	c->o = o;
	c->load = l;
	c->r = r;
	c->window = o->qsize;
	c->next_seq = 1;

	if ((o->warmup_seconds > 0 || o->warmup_messages > 0) &&
	    vl_client_phase(c, o->warmup_seconds > 0 ? o->warmup_seconds : 1e9,
			    o->warmup_messages))
		return VL_EXIT_FAIL;
	if (vl_client_control(c, VL_START, &rep, sizeof(rep)) < 0)
		return VL_EXIT_FAIL;
	vl_counts_read(&x->ch, &r->client);
	cpu0 = vl_cpu_ns();
	t0 = vl_now_ns();
	c->record = true;
	if (vl_client_phase(c, secs, o->max_messages))
		return VL_EXIT_FAIL;
	c->record = false;
	r->elapsed_ns = vl_now_ns() - t0;
	r->cpu_client_ns = vl_cpu_ns() - cpu0;
	vl_counts_read(&x->ch, &c1);
	vl_counts_delta(&r->client, &c1);
	memset(&rep, 0, sizeof(rep));
	if (vl_client_control(c, VL_STOP, &rep, sizeof(rep)) < (int)sizeof(rep)) {
		fprintf(stderr, VL_PROG ": the device's report is short or missing\n");
		return VL_EXIT_FAIL;
	}
	if (rep.served != r->messages) {
		fprintf(stderr, VL_PROG ": %s/%s: the device answered %llu requests, the "
				"client counted %llu replies\n",
			r->policy.name, l->name, (unsigned long long)rep.served,
			(unsigned long long)r->messages);
		return VL_EXIT_FAIL;
	}
	r->cpu_device_ns = rep.cpu_ns;
	r->device = rep.counts;
	r->device_cpu = rep.cpu;
	return 0;
}

int vl_run(const struct vl_opts *o, const struct vl_policy *p,
	   const struct vl_load *l, struct vl_result *r)
{
	struct run *x = calloc(1, sizeof(*x));
	double secs = o->seconds > 0 ? o->seconds : l->seconds;
	unsigned budget = (unsigned)(secs + o->warmup_seconds) + WATCHDOG_MARGIN_S;
	int rc, crc;

	if (!x) {
		fprintf(stderr, VL_PROG ": out of memory\n");
		return VL_EXIT_FAIL;
	}
	memset(r, 0, sizeof(*r));
	r->policy = *p;
	r->load = *l;
	vl_hist_reset(&r->lat);
	vl_hist_reset(&r->service);
	vl_hist_reset(&r->late);
	r->client_cpu = o->cpu_client;
	r->device_cpu = -1;
	if (make_socket_dir(x)) {
		free(x);
		return VL_EXIT_FAIL;
	}
	/* Fork before anything starts a thread: the child is a clean copy. */
	fflush(NULL);
	x->child = fork();
	if (x->child < 0) {
		fprintf(stderr, VL_PROG ": fork: %s\n", strerror(errno));
		rc = VL_EXIT_FAIL;
		goto out;
	}
	if (x->child == 0) {
		vl_watchdog("device", budget);
		_exit(vl_device_main(x->sock, o, p));
	}
	vl_watchdog_files(x->sock, x->dir);
	vl_watchdog("client", budget);
	rc = setup(x, o, p);
	if (!rc)
		rc = measure(x, o, l, r);
	/* Hang up: the device sees it and exits. */
	vr_shm_close(&x->shm);
	crc = reap(x->child, rc != 0);
	if (!rc)
		rc = crc;
	vl_watchdog("client", 0);
	vl_watchdog_files(NULL, NULL);
out:
	if (x->dir[0] && rmdir(x->dir) != 0)
		fprintf(stderr, VL_PROG ": cannot remove %s: %s\n", x->dir, strerror(errno));
	free(x->c.slot);
	free(x->state);
	free(x);
	return rc;
}
