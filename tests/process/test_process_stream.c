/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two processes, one stream: this process is the driver (listener, memfd
 * region, socket in a private temp dir) and execs vr_peer as the device.
 * VR_PROCESS_MESSAGES messages (default 1,000,000) of random sizes
 * (1..1024 bytes, a function of the seed and the seq) go to the device,
 * which checks every byte; every 64 messages it sends back the count and a
 * running checksum, which the receiver thread here checks. Split and
 * packed, with doorbells (EVENT_IDX negotiated) and in polling mode
 * (IN_ORDER negotiated).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "common.h"
#include "driver_side.h"

#ifndef VR_PEER_PATH
#define VR_PEER_PATH "vr_peer"
#endif

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

static void stream(void **state, uint32_t format, bool polling)
{
	struct ds *d = (struct ds *)*state;
	struct ds_cfg cfg;
	struct vr_chan_stats stv, *st = &stv;
	uint32_t n = pc_messages(), seq;
	uint64_t t0, t1, bytes = 0;
	char why[64];
	int r, status;

	ds_default_cfg(&cfg, format, polling, n, g_peer, "stream");
	/* Nobody dies here: a liveness timeout no loaded machine reaches (the
	 * heartbeat is watched in every mode). */
	cfg.liveness_ns = 3 * PC_SEC;
	r = ds_init(d, &cfg);
	assert_int_equal(r, 0);
	/* Doorbells with EVENT_IDX, polling with IN_ORDER (see common.h). */
	assert_true((vr_chan_features(&d->ch) &
		     (VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_IN_ORDER))) ==
		    (pc_driver_features(polling) &
		     (VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_IN_ORDER))));
	assert_int_equal(ds_spawn_device(d, NULL, false, n), 0);
	assert_int_equal(ds_accept(d), 0);
	assert_int_equal(ds_rx_start(d), 0);

	t0 = pc_now_ns();
	for (seq = 0; seq < n; seq++) {
		r = ds_send(d, seq);
		if (r)
			fail_msg("%s: send seq %u: %s (peer: %s; receiver state %d: %s)",
				 ds_cfg_name(&cfg), seq, vr_strerror(r),
				 vr_shm_peer_error(&d->shm), atomic_load(&d->rx_state),
				 ds_rx_why(d));
		bytes += pc_len(cfg.seed, seq, cfg.min_len, cfg.buf_bytes);
		if ((seq & 1023) == 0 && atomic_load(&d->rx_state) != DS_RUNNING)
			fail_msg("%s: receiver stopped at seq %u: %d %s (%s)",
				 ds_cfg_name(&cfg), seq, atomic_load(&d->rx_state),
				 vr_strerror(atomic_load(&d->rx_state)), ds_rx_why(d));
	}
	r = ds_rx_join(d, false);
	t1 = pc_now_ns();
	if (r != 0)
		fail_msg("%s: receiver ended with %d %s (%s)", ds_cfg_name(&cfg), r,
			 vr_strerror(r), ds_rx_why(d));
	assert_int_equal(atomic_load(&d->rx_next), n);
	assert_int_equal(pc_wait(d->dev, cfg.timeout_ns, &status), 0);
	d->dev = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: device %s", ds_cfg_name(&cfg),
			 pc_status_str(status, why, sizeof(why)));
	vr_chan_get_stats(&d->ch, st);
	assert_int_equal(st->sent, n);
	printf("[ stream  ] %-16s %u messages, %.1f MiB in %.2f s: %.0f k msg/s, "
	       "%.0f MiB/s; %u replies (%u read after VR_EPEERDEAD); driver "
	       "notifies %.3f/msg, waits %.3f/msg\n",
	       ds_cfg_name(&cfg), n, (double)bytes / 1048576.0,
	       (double)(t1 - t0) / 1e9, n / ((double)(t1 - t0) / 1e6),
	       (double)bytes / 1048576.0 / ((double)(t1 - t0) / 1e9),
	       atomic_load(&d->rx_count), atomic_load(&d->rx_after_dead),
	       (double)st->notifies / n,
	       (double)st->waits / n);
}

static void split_doorbells(void **state)
{
	stream(state, VR_FORMAT_SPLIT, false);
}

static void split_polling(void **state)
{
	stream(state, VR_FORMAT_SPLIT, true);
}

static void packed_doorbells(void **state)
{
	stream(state, VR_FORMAT_PACKED, false);
}

static void packed_polling(void **state)
{
	stream(state, VR_FORMAT_PACKED, true);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(split_doorbells, setup, teardown),
		cmocka_unit_test_setup_teardown(split_polling, setup, teardown),
		cmocka_unit_test_setup_teardown(packed_doorbells, setup, teardown),
		cmocka_unit_test_setup_teardown(packed_polling, setup, teardown),
	};

	if (argc > 1)
		g_peer = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
