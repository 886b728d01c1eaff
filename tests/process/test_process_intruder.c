/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A third process cannot join. This process is the driver with a device
 * (vr_peer) attached and streaming; halfway through, a third process
 * (vr_peer intruder) calls vr_shm_connect on the same socket and must get
 * VR_EPERM, while the stream goes on undisturbed. The intruder also looks
 * for the region by name and must not find it: the memfd has none, the
 * socket directory holds only the socket, /dev/shm has no such object.
 * After the device has finished and exited, the socket is the way in for
 * the next device: it attaches to the same region (after vr_chan_reset)
 * and the stream continues; a second intruder is refused again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Run the intruder to its end; it must report success (exit 0). */
static void intrude(struct ds *d)
{
	char s_bytes[24], s_bb[16], s_bc[16], s_pid[16], why[64];
	char *argv[20];
	int a = 0, status;
	pid_t pid;

	snprintf(s_bytes, sizeof(s_bytes), "%llu",
		 (unsigned long long)vr_shm_info(&d->shm)->region_bytes);
	snprintf(s_bb, sizeof(s_bb), "%u", d->cfg.buf_bytes);
	snprintf(s_bc, sizeof(s_bc), "%u", d->cfg.buf_count);
	snprintf(s_pid, sizeof(s_pid), "%ld", (long)getpid());
	argv[a++] = (char *)g_peer;
	argv[a++] = (char *)"intruder";
	argv[a++] = (char *)"--socket";
	argv[a++] = d->sock;
	argv[a++] = (char *)"--dir";
	argv[a++] = d->dir;
	argv[a++] = (char *)"--region-bytes";
	argv[a++] = s_bytes;
	argv[a++] = (char *)"--buf-bytes";
	argv[a++] = s_bb;
	argv[a++] = (char *)"--buf-count";
	argv[a++] = s_bc;
	argv[a++] = (char *)"--listener-pid";
	argv[a++] = s_pid;
	argv[a++] = (char *)"--timeout-ms";
	argv[a++] = (char *)"3000";
	argv[a] = NULL;
	pid = pc_spawn(g_peer, argv);
	assert_true(pid > 0);
	if (pc_wait(pid, d->cfg.timeout_ns + 5 * PC_SEC, &status) != 0) {
		pc_kill_reap(&pid);
		fail_msg("the intruder did not finish");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("intruder %s (see its message above)",
			 pc_status_str(status, why, sizeof(why)));
}

/* Send [from, to), sending in the intruder when @at is reached. */
static void stream_part(struct ds *d, uint32_t from, uint32_t to, uint32_t at)
{
	uint32_t seq;
	int r, status;
	char why[64];

	d->phase_end = to;
	assert_int_equal(ds_rx_start(d), 0);
	for (seq = from; seq < to; seq++) {
		if (seq == at) {
			intrude(d);
			/* The attached device was not disturbed. */
			assert_int_equal(d->shm.t.ops->peer_state(&d->shm.t), VR_PEER_ALIVE);
		}
		r = ds_send(d, seq);
		if (r)
			fail_msg("%s: send seq %u: %s (peer: %s; receiver %d: %s)",
				 ds_cfg_name(&d->cfg), seq, vr_strerror(r),
				 vr_shm_peer_error(&d->shm), atomic_load(&d->rx_state),
				 ds_rx_why(d));
	}
	r = ds_rx_join(d, false);
	if (r != 0)
		fail_msg("%s: receiver ended with %d %s (%s)", ds_cfg_name(&d->cfg), r,
			 vr_strerror(r), ds_rx_why(d));
	assert_int_equal(atomic_load(&d->rx_next), to);
	assert_int_equal(pc_wait(d->dev, d->cfg.timeout_ns, &status), 0);
	d->dev = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: device %s", ds_cfg_name(&d->cfg),
			 pc_status_str(status, why, sizeof(why)));
}

static void intruder(void **state, uint32_t format, bool polling)
{
	struct ds *d = (struct ds *)*state;
	struct ds_cfg cfg;
	uint32_t n = pc_messages() / 50;
	unsigned salt = (unsigned)getpid();

	if (n < 2000)
		n = 2000;
	ds_default_cfg(&cfg, format, polling, n, g_peer, "intruder");
	cfg.min_len = 4; /* the second device resumes where the first ended */
	/* A pool nobody else has, so the intruder knows the region when it
	 * sees it. */
	cfg.buf_bytes = 1088 + 64 * (salt % 16);
	cfg.buf_count = 96 + 2 * (salt / 16 % 16);
	assert_int_equal(ds_init(d, &cfg), 0);

	/* Device 1: seq 0 .. n/2 - 1, intruder refused in the middle. */
	assert_int_equal(ds_spawn_device(d, NULL, false, n / 2), 0);
	assert_int_equal(ds_accept(d), 0);
	stream_part(d, 0, n / 2, n / 4);

	/* Device 1 has exited: the next one comes in by the socket. */
	assert_int_equal(vr_chan_reset(&d->ch), 0);
	assert_int_equal(ds_spawn_device(d, NULL, true, n), 0);
	assert_int_equal(ds_accept(d), 0);
	stream_part(d, n / 2, n, n * 3 / 4);
	printf("[ intruder] %s: 2 intruders refused; %u messages through 2 devices\n",
	       ds_cfg_name(&cfg), n);
}

static void split_doorbells(void **state)
{
	intruder(state, VR_FORMAT_SPLIT, false);
}

static void packed_polling(void **state)
{
	intruder(state, VR_FORMAT_PACKED, true);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(split_doorbells, setup, teardown),
		cmocka_unit_test_setup_teardown(packed_polling, setup, teardown),
	};

	if (argc > 1)
		g_peer = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
