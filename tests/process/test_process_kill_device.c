/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kill -9 of the device mid-stream. This process is the driver; vr_peer is
 * the device and appends the seq of every message it receives to its own
 * log file before releasing it. At two random points the test SIGKILLs the
 * device and asserts that the driver's next blocking call reports
 * VR_EPEERDEAD within a bound (2 s with doorbells; the liveness timeout
 * plus 1 s when polling): the first time while the sender streams (its
 * send sees it, with every TX buffer in flight), the second after a pause
 * in which the device acknowledged everything (the receiver sees it; the
 * reset must count those acknowledgements, which this side had not
 * collected yet). Then vr_chan_reset, a new device that waits 20 ms before
 * it opens (the driver meanwhile uses the reset rings), vr_shm_accept, and
 * the stream goes on to the end. From the logs: every seq was
 * received; a seq received more than once was, every time but the last,
 * among the final entries of a killed device's log (at most the TX
 * buffers: taken, not acknowledged) and not marked released there (the
 * device logs each release too); no acknowledged message was lost or
 * delivered twice.
 *
 * The *_stalled cases (polling mode) stop the device with SIGSTOP instead:
 * its socket stays open, so only the heartbeat tells; the driver must
 * report VR_EPEERDEAD ("heartbeat stopped") within the liveness timeout
 * plus 1 s. Then the stopped device is killed and the run goes on as
 * above.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "common.h"
#include "driver_side.h"

#ifndef VR_PEER_PATH
#define VR_PEER_PATH "vr_peer"
#endif

#define KILLS 2
#define DOORBELL_BOUND_NS (2 * PC_SEC)
#define POLLING_MARGIN_NS (1 * PC_SEC)
/* Both ends watch each other's heartbeat in every mode: a liveness timeout
 * a loaded two-core machine under a sanitizer does not miss (a heartbeat
 * thread starved for 300 ms happens there). */
#define LIVENESS_NS (1000 * PC_MS)

static const char *g_peer = VR_PEER_PATH;

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct ds));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	ds_destroy((struct ds *)*state);
	free(*state);
	return 0;
}

/* One device's log, parsed: the seqs it received, in order, and whether
 * each was marked acknowledged (released) after. */
struct devlog {
	uint32_t *seq;
	bool *acked;
	size_t n;
};

static void read_log(struct ds *d, unsigned i, uint32_t total, bool killed,
		     struct devlog *l)
{
	char path[256];
	uint32_t *raw;
	size_t nraw, j;

	ds_log_path(d, i, path, sizeof(path));
	assert_int_equal(pc_read_u32_file(path, &raw, &nraw), 0);
	l->seq = malloc((nraw + 1) * sizeof(*l->seq));
	l->acked = calloc(nraw + 1, sizeof(*l->acked));
	assert_non_null(l->seq);
	assert_non_null(l->acked);
	l->n = 0;
	for (j = 0; j < nraw; j++) {
		uint32_t v = raw[j], seq = v & ~PC_LOG_ACKED;

		if (v & PC_LOG_ACKED) {
			/* "released" follows "received" of the same seq */
			if (l->n == 0 || l->seq[l->n - 1] != seq || l->acked[l->n - 1])
				fail_msg("device %u: release of seq %u out of place", i, seq);
			l->acked[l->n - 1] = true;
			continue;
		}
		if (seq >= total)
			fail_msg("device %u logged seq %u of %u", i, seq, total);
		if (l->n > 0 && !l->acked[l->n - 1])
			fail_msg("device %u: seq %u received before seq %u was released",
				 i, seq, l->seq[l->n - 1]);
		if (l->n > 0 && seq != l->seq[l->n - 1] + 1)
			fail_msg("device %u: seq %u after %u", i, seq, l->seq[l->n - 1]);
		l->seq[l->n++] = seq;
	}
	if (!killed && l->n > 0 && !l->acked[l->n - 1])
		fail_msg("device %u (not killed) did not release seq %u", i,
			 l->seq[l->n - 1]);
	free(raw);
}

/*
 * Check the logs of devices 0..ndev-1 (all but the last were killed):
 * each runs consecutively; together they cover 0..n-1; a seq received
 * more than once was, each time but the last, received and not yet
 * released by a killed device, among the last tx_bufs it took (the
 * brief's bound; the device releases before it takes the next, so in fact
 * the last one). A released message is acknowledged: it must never come
 * again.
 */
static void check_logs(struct ds *d, unsigned ndev, uint32_t n, uint32_t tx_bufs,
		       uint64_t resubmitted)
{
	uint8_t *count = calloc(n, 1);
	struct devlog l[KILLS + 1];
	size_t j, worst = 0;
	uint64_t dups = 0;
	unsigned i;

	assert_non_null(count);
	assert_true(ndev <= KILLS + 1);
	for (i = 0; i < ndev; i++) {
		read_log(d, i, n, i + 1 < ndev, &l[i]);
		for (j = 0; j < l[i].n; j++)
			count[l[i].seq[j]]++;
	}
	for (i = 0; i < n; i++) {
		if (count[i] == 0)
			fail_msg("seq %u never received", i);
		dups += count[i] - 1u;
	}
	/* count[] now counts the receipts still to come. */
	for (i = 0; i < ndev; i++) {
		for (j = 0; j < l[i].n; j++) {
			uint32_t seq = l[i].seq[j];

			if (--count[seq] == 0)
				continue; /* its last receipt */
			if (i == ndev - 1)
				fail_msg("seq %u received twice by the last device", seq);
			if (l[i].acked[j])
				fail_msg("seq %u released (acknowledged) by device %u and "
					 "delivered again", seq, i);
			if (l[i].n - j > tx_bufs)
				fail_msg("seq %u received by device %u and again later, "
					 "although %zu messages followed it there (at most "
					 "%u can be in flight)", seq, i, l[i].n - j - 1, tx_bufs);
			if (l[i].n - j > worst)
				worst = l[i].n - j;
		}
	}
	for (i = 0; i < ndev; i++) {
		free(l[i].seq);
		free(l[i].acked);
	}
	free(count);
	if (dups > resubmitted)
		fail_msg("%llu messages received twice, only %llu resubmitted",
			 (unsigned long long)dups, (unsigned long long)resubmitted);
	printf("[ kill dev] logs of %u devices cover all %u messages; %llu received "
	       "twice, each unreleased by a killed device (deepest from its log's "
	       "end: %zu); %llu resubmitted\n",
	       ndev, n, (unsigned long long)dups, worst,
	       (unsigned long long)resubmitted);
}

/*
 * The device died (or stopped) and the driver saw VR_EPEERDEAD @dt after:
 * check the bound, make sure a stopped device is gone for good, reset the
 * channel, start a new device (resuming) and accept it. @quiet: the
 * receiver has already been joined.
 */
static void recover(struct ds *d, int sig, uint64_t dt, uint64_t bound,
		    uint32_t kill_seq, uint32_t seq, bool quiet)
{
	const char *name = ds_cfg_name(&d->cfg);
	uint64_t resent = vr_chan_stats(&d->ch).resubmitted;
	char log[256];

	printf("[ kill dev] %s: device %u %s after seq %u; VR_EPEERDEAD (%s, "
	       "next seq %u) after %.1f ms (%s)\n", name, d->devs - 1,
	       sig == SIGKILL ? "killed" : "stopped", kill_seq,
	       quiet ? "receiver" : "sender", seq, (double)dt / 1e6,
	       vr_shm_peer_error(&d->shm));
	if (dt > bound)
		fail_msg("%s: peer death reported after %.1f ms (bound %.0f ms)", name,
			 (double)dt / 1e6, (double)bound / 1e6);
	if (sig == SIGSTOP) {
		/* Only the heartbeat could tell; now make sure the stale
		 * device never touches the rings again. */
		if (!strstr(vr_shm_peer_error(&d->shm), "heartbeat"))
			fail_msg("%s: stopped device reported as \"%s\"", name,
				 vr_shm_peer_error(&d->shm));
		pc_kill_reap(&d->dev);
	}
	if (!quiet) {
		int rx = ds_rx_join(d, false);

		if (rx != VR_EPEERDEAD)
			fail_msg("%s: receiver ended with %d %s (%s)", name, rx,
				 vr_strerror(rx), ds_rx_why(d));
	}
	assert_int_equal(vr_chan_reset(&d->ch), 0);
	printf("[ kill dev] %s: reset sent %llu unacknowledged messages again\n", name,
	       (unsigned long long)(vr_chan_stats(&d->ch).resubmitted - resent));
	ds_log_path(d, d->devs, log, sizeof(log));
	assert_int_equal(ds_spawn_device(d, log, true, d->cfg.messages), 0);
	assert_int_equal(ds_accept(d), 0);
	assert_int_equal(ds_rx_start(d), 0);
}

static void kill_device(void **state, uint32_t format, bool polling, int sig)
{
	struct ds *d = (struct ds *)*state;
	struct ds_cfg cfg;
	uint32_t n = pc_kill_messages(), seq, kill_at[KILLS];
	uint64_t rng, t_kill = 0, bound, t0;
	unsigned kills = 0;
	char log[256], why[64];
	int r, status;

	ds_default_cfg(&cfg, format, polling, n, g_peer, "killdev");
	cfg.min_len = 4; /* every message names its seq: a new device resumes */
	cfg.liveness_ns = LIVENESS_NS;
	/* A replacement device that takes a moment to open: the driver uses
	 * the reset channel before the device has set up its side. */
	cfg.open_delay_ms = (uint32_t)pc_env_u64("VR_PROCESS_OPEN_DELAY_MS", 20);
	bound = polling ? LIVENESS_NS + POLLING_MARGIN_NS : DOORBELL_BOUND_NS;
	rng = pc_env_u64("VR_PROCESS_SEED", pc_now_ns()) | 1;
	printf("[ kill dev] %s: seed %llu\n", ds_cfg_name(&cfg), (unsigned long long)rng);
	/* One kill in [10 %, 40 %) of the stream, one in [50 %, 80 %): well
	 * apart, and the stream always goes on after each. */
	kill_at[0] = n / 10 + (uint32_t)(pc_rand(&rng) % (n * 3 / 10));
	kill_at[1] = n / 2 + (uint32_t)(pc_rand(&rng) % (n * 3 / 10));

	assert_int_equal(ds_init(d, &cfg), 0);
	ds_log_path(d, 0, log, sizeof(log));
	assert_int_equal(ds_spawn_device(d, log, false, n), 0);
	assert_int_equal(ds_accept(d), 0);
	assert_int_equal(ds_rx_start(d), 0);
	t0 = pc_now_ns();

	for (seq = 0; seq < n;) {
		r = ds_send(d, seq);
		if (r == VR_EPEERDEAD && t_kill) {
			/* The sender's blocking call saw it first. */
			recover(d, sig, pc_now_ns() - t_kill, bound, kill_at[kills - 1], seq,
				false);
			t_kill = 0;
			continue; /* seq was not sent */
		}
		if (r)
			fail_msg("%s: send seq %u: %s (peer: %s; receiver state %d: %s)",
				 ds_cfg_name(&cfg), seq, vr_strerror(r),
				 vr_shm_peer_error(&d->shm), atomic_load(&d->rx_state),
				 ds_rx_why(d));
		if (kills < KILLS && seq == kill_at[kills]) {
			/* The second time, the sender stops first: the device
			 * takes and releases everything in flight, and this
			 * side has not collected those acknowledgements when
			 * the device dies; vr_chan_reset must count them, not
			 * send them again. The receiver's blocking call is then
			 * the one to see the death. */
			bool quiet = kills == 1;

			if (quiet)
				pc_sleep_ns(20 * PC_MS);
			t_kill = pc_now_ns();
			kill(d->dev, sig);
			if (sig == SIGKILL) {
				assert_int_equal(pc_wait(d->dev, cfg.timeout_ns, &status), 0);
				d->dev = 0;
				assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
			}
			kills++;
			if (quiet) {
				int rx = ds_rx_join(d, false);

				if (rx != VR_EPEERDEAD)
					fail_msg("%s: receiver ended with %d %s (%s)",
						 ds_cfg_name(&cfg), rx, vr_strerror(rx), ds_rx_why(d));
				recover(d, sig, atomic_load(&d->rx_end_ns) - t_kill, bound, seq,
					seq + 1, true);
				t_kill = 0;
			}
		}
		if ((seq & 1023) == 0 && t_kill == 0 &&
		    atomic_load(&d->rx_state) != DS_RUNNING)
			fail_msg("%s: receiver stopped at seq %u: %d %s (%s)",
				 ds_cfg_name(&cfg), seq, atomic_load(&d->rx_state),
				 vr_strerror(atomic_load(&d->rx_state)), ds_rx_why(d));
		seq++;
	}
	assert_int_equal(kills, KILLS);
	assert_int_equal(t_kill, 0);
	r = ds_rx_join(d, false);
	if (r != 0)
		fail_msg("%s: receiver ended with %d %s (%s)", ds_cfg_name(&cfg), r,
			 vr_strerror(r), ds_rx_why(d));
	assert_int_equal(atomic_load(&d->rx_next), n);
	assert_int_equal(pc_wait(d->dev, cfg.timeout_ns, &status), 0);
	d->dev = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: last device %s", ds_cfg_name(&cfg),
			 pc_status_str(status, why, sizeof(why)));
	printf("[ kill dev] %s: %u messages, %u devices, %.2f s\n", ds_cfg_name(&cfg),
	       n, d->devs, (double)(pc_now_ns() - t0) / 1e9);
	check_logs(d, d->devs, n, cfg.buf_count / 2,
		   vr_chan_stats(&d->ch).resubmitted);
}

static void split_doorbells(void **state)
{
	kill_device(state, VR_FORMAT_SPLIT, false, SIGKILL);
}

static void split_polling(void **state)
{
	kill_device(state, VR_FORMAT_SPLIT, true, SIGKILL);
}

static void packed_doorbells(void **state)
{
	kill_device(state, VR_FORMAT_PACKED, false, SIGKILL);
}

static void packed_polling(void **state)
{
	kill_device(state, VR_FORMAT_PACKED, true, SIGKILL);
}

static void split_polling_stalled(void **state)
{
	kill_device(state, VR_FORMAT_SPLIT, true, SIGSTOP);
}

static void packed_polling_stalled(void **state)
{
	kill_device(state, VR_FORMAT_PACKED, true, SIGSTOP);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(split_doorbells, setup, teardown),
		cmocka_unit_test_setup_teardown(split_polling, setup, teardown),
		cmocka_unit_test_setup_teardown(packed_doorbells, setup, teardown),
		cmocka_unit_test_setup_teardown(packed_polling, setup, teardown),
		cmocka_unit_test_setup_teardown(split_polling_stalled, setup, teardown),
		cmocka_unit_test_setup_teardown(packed_polling_stalled, setup, teardown),
	};

	if (argc > 1)
		g_peer = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
