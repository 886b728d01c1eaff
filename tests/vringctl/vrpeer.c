/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vrpeer: a library peer for the vringctl send/recv tests, written only
 * with the public API (vring::shm in polling mode, the channel).
 *
 *   vrpeer device-recv FILE N       attach as the device (vr_shm_open) and
 *                                   print N messages, one per line
 *   vrpeer device-send FILE MSG...  attach as the device and send
 *   vrpeer driver-send FILE MSG...  create FILE as the listener (driver,
 *                                   no socket), send, wait for a device to
 *                                   acknowledge everything
 *   vrpeer driver-recv FILE N       create FILE as the listener, wait for a
 *                                   device, print N messages
 *
 * Every wait is bounded (10 s); exit 0 on success, 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vring/channel.h>
#include <vring/shm.h>

#define SEC 1000000000ull
#define LIMIT (10 * SEC)

static struct vr_shm shm;
static struct vr_chan ch;
static void *state;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static void nap(void)
{
	struct timespec ts = {0, 10000000L};

	nanosleep(&ts, NULL);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "vrpeer: %s: %s (%s) %s\n", what, vr_strerror(err),
		vr_errname(err), vr_shm_last_error(&shm));
	vr_shm_close(&shm);
	free(state);
	return 1;
}

static int open_chan(void)
{
	struct vr_chan_cfg cc;
	size_t n = vr_chan_state_size(&shm.t);

	if (!n)
		return VR_EREGION;
	free(state);
	state = aligned_alloc(64, (n + 63) & ~(size_t)63);
	memset(&cc, 0, sizeof(cc));
	cc.features = VR_RING_FEATURES;
	return vr_chan_open(&ch, &shm.t, &cc, state, (n + 63) & ~(size_t)63);
}

/* Attach as the device, retrying while the file or the driver is not
 * there yet. */
static int attach_device(const char *path)
{
	uint64_t end = now_ns() + LIMIT;
	int err;

	for (;;) {
		err = vr_shm_open(&shm, VR_SHM_FILE, path, NULL);
		if (err == 0) {
			err = open_chan();
			/* The driver may have started a new session between the
			 * two calls: the transport would count it as gone. */
			if (err == 0 && vr_region_load(shm.t.region, VR_RH_GENERATION) ==
						vr_shm_info(&shm)->generation)
				return 0;
			if (err == 0)
				err = VR_EPEERDEAD;
			vr_shm_close(&shm);
		}
		if (now_ns() > end)
			return err;
		nap();
	}
}

static int listen_driver(const char *path)
{
	struct vr_shm_cfg cfg;
	int err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.region.queue_count = 2;
	cfg.region.queue[0].size = cfg.region.queue[1].size = 8;
	cfg.region.queue[0].format = cfg.region.queue[1].format = VR_FORMAT_SPLIT;
	cfg.region.buf_bytes = 256;
	cfg.region.buf_count = 16;
	cfg.region.device_features = VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_EVENT_IDX);
	cfg.backing = VR_SHM_FILE;
	cfg.path = path;
	cfg.flags = VR_SHM_POLLING | VR_SHM_UNLINK_BACKING;
	err = vr_shm_listen(&shm, &cfg);
	return err ? err : open_chan();
}

static int recv_n(long n)
{
	char buf[4096];
	long i;

	for (i = 0; i < n; i++) {
		int r = vr_chan_recv(&ch, buf, sizeof(buf), LIMIT);

		if (r < 0)
			return r;
		printf("%.*s\n", r, buf);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int err, i;

	if (argc < 3) {
		fprintf(stderr, "usage: vrpeer device-recv|device-send|driver-send|"
				"driver-recv FILE ...\n");
		return 2;
	}
	if (strcmp(argv[1], "device-recv") == 0 && argc == 4) {
		err = attach_device(argv[2]);
		if (err)
			return fail("attach", err);
		err = recv_n(atol(argv[3]));
		if (err)
			return fail("recv", err);
	} else if (strcmp(argv[1], "device-send") == 0) {
		err = attach_device(argv[2]);
		if (err)
			return fail("attach", err);
		for (i = 3; i < argc; i++) {
			err = vr_chan_send(&ch, argv[i], strlen(argv[i]), LIMIT);
			if (err)
				return fail("send", err);
		}
	} else if (strcmp(argv[1], "driver-send") == 0) {
		uint32_t held = 0;

		err = listen_driver(argv[2]);
		if (err)
			return fail("listen", err);
		err = vr_shm_accept(&shm, LIMIT);
		if (err)
			return fail("accept", err);
		for (i = 3; i < argc; i++) {
			err = vr_chan_send(&ch, argv[i], strlen(argv[i]), LIMIT);
			if (err)
				return fail("send", err);
		}
		/* Every TX buffer back (8 of 16): everything acknowledged. */
		while (held < 8) {
			void *b;
			uint32_t cap;
			int t = vr_chan_send_reserve(&ch, &b, &cap, LIMIT);

			if (t < 0)
				return fail("waiting for acknowledgements", t);
			held++;
		}
	} else if (strcmp(argv[1], "driver-recv") == 0 && argc == 4) {
		err = listen_driver(argv[2]);
		if (err)
			return fail("listen", err);
		err = vr_shm_accept(&shm, LIMIT);
		if (err)
			return fail("accept", err);
		err = recv_n(atol(argv[3]));
		if (err)
			return fail("recv", err);
	} else {
		fprintf(stderr, "vrpeer: bad arguments\n");
		return 2;
	}
	vr_shm_close(&shm);
	free(state);
	return 0;
}
