/* SPDX-License-Identifier: BSD-3-Clause */
/* The Linux side's checks of the AAOS <-> RTOS scenario (scenario_client.h). */
#define _GNU_SOURCE
#include "scenario_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vring/frame.h>
#include <vring/vring.h>

int sc_failures;

#define CHECK SC_CHECK

uint64_t sc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sc_text(struct vr_msg_port *p, const char *cmd, int timeout_ms)
{
	char reply[256], want[200];
	uint64_t t0 = sc_now_ns();
	int n = vr_msg_call_text(p, cmd, reply, sizeof(reply), timeout_ms);

	snprintf(want, sizeof(want), "OK %s", cmd);
	CHECK(n > 0 && strcmp(reply, want) == 0, "text %s: answer \"%s\" (%s)", cmd,
	      n > 0 ? reply : "", n > 0 ? "" : vr_errname(n));
	if (n > 0)
		printf("   linux -> \"%s\", rtos -> \"%s\" (%.0f us round trip)\n", cmd, reply,
		       (double)(sc_now_ns() - t0) / 1e3);
	fflush(stdout);
}

int sc_one(struct vr_msg_port *p, int timeout_ms)
{
	struct vr_msg_ack ack;
	int err = vr_msg_set_sensor_gain(p, VRMSG__SENSOR__SENSOR_LIDAR, VRMSG__GAIN_LEVEL__GAIN_LOW,
					 0, &ack, timeout_ms);

	if (err)
		return err;
	return ack.status == 0 ? 0 : VR_EBADMSG;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

unsigned sc_typed(struct vr_msg_port *p, unsigned count, int timeout_ms)
{
	uint64_t *rt = calloc(count ? count : 1, sizeof(*rt));
	unsigned i, ok = 0;
	int before = sc_failures;

	for (i = 0; i < count && sc_failures - before < 5; i++) {
		uint64_t t0 = sc_now_ns();
		struct vr_msg_ack ack;
		Vrmsg__Envelope *env = NULL;
		int err;
		bool good;

		memset(&ack, 0, sizeof(ack));
		switch (i % 3) {
		case 0:
			err = vr_msg_set_sensor_gain(p, VRMSG__SENSOR__SENSOR_FRONT_CAMERA,
						     VRMSG__GAIN_LEVEL__GAIN_HIGH, 0, &ack, timeout_ms);
			good = err == 0 && ack.status == 0 &&
			       strcmp(ack.detail, "sensor gain high applied") == 0;
			CHECK(good, "SetSensorGain #%u: %s status %d \"%s\"", i, vr_errname(err),
			      ack.status, ack.detail);
			break;
		case 1:
			err = vr_msg_start_adas(p, 0x5, 30, true, &ack, timeout_ms);
			good = err == 0 && ack.status == 0 &&
			       strcmp(ack.detail, "adas processing started") == 0;
			CHECK(good, "StartAdasProcessing #%u: %s status %d", i, vr_errname(err),
			      ack.status);
			break;
		default:
			err = vr_msg_get_telemetry(p, false, &env, timeout_ms);
			good = err == 0 && env && env->telemetry && env->telemetry->adas_active &&
			       env->telemetry->n_sensor_temp_cdeg == 4 &&
			       env->telemetry->sensor_temp_cdeg[3] == 3300;
			CHECK(good, "GetTelemetry #%u: %s", i, vr_errname(err));
			vr_msg_free(env);
			break;
		}
		ok += good;
		rt[i] = sc_now_ns() - t0;
	}
	qsort(rt, i, sizeof(*rt), cmp_u64);
	if (i)
		printf("   %u typed commands, %u answered correctly; round trip (CLOCK_MONOTONIC, wall): "
		       "p50 %.0f us, p99 %.0f us, max %.0f us\n",
		       i, ok, (double)rt[i / 2] / 1e3, (double)rt[(i * 99) / 100] / 1e3,
		       (double)rt[i - 1] / 1e3);
	fflush(stdout);
	free(rt);
	return ok;
}

static void raw(struct vr_msg_port *p, const void *b, size_t n)
{
	int fd = vr_msg_fd(p);
	const uint8_t *c = b;

	while (n) {
		ssize_t k = write(fd, c, n);

		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			usleep(1000);
			continue;
		}
		if (k <= 0)
			return;
		c += k;
		n -= (size_t)k;
	}
}

void sc_garbage(struct vr_msg_port *p, int timeout_ms)
{
	static const uint8_t junk[] = {0x01, 0xa5, 0x56, 0x00, 0xff, 0x13, 0xa5, 0x7f, 0x02, 0x03};
	uint8_t f[128];
	uint32_t v, c;
	int n, k;

	for (k = 0; k < 4; k++) {
		/* A real request frame, damaged in one of four ways. */
		n = vr_frame_encode(f, sizeof(f), VR_FRAME_T_REQUEST, 0, 0x7f000000u + (uint32_t)k,
				    "\x1a\x02\x08\x01", 4);
		CHECK(n > 0, "encode");
		if (n <= 0)
			return;
		switch (k) {
		case 0: /* junk with stray magic bytes */
			raw(p, junk, sizeof(junk));
			break;
		case 1: /* cut short */
			raw(p, f, (size_t)n - 2);
			break;
		case 2: /* a checked header announcing 2 GiB */
			v = 0x7fffffffu;
			memcpy(f + VR_FRAME_OFF_LEN, &v, 4);
			c = vr_crc32c(0, f, VR_FRAME_OFF_HCRC);
			memcpy(f + VR_FRAME_OFF_HCRC, &c, 4);
			raw(p, f, (size_t)n);
			break;
		default: /* one bit flipped in the payload */
			f[n - 1] ^= 0x10;
			raw(p, f, (size_t)n);
			break;
		}
		/* The RTOS gives a cut frame up after 50 ms of quiet. */
		usleep(100000);
		n = sc_one(p, timeout_ms);
		CHECK(n == 0, "command after garbage %d: %s", k, vr_errname(n));
	}
	printf("   garbage, a cut frame, an inflated length, a flipped bit: each skipped by the "
	       "RTOS, the next command answered\n");
	fflush(stdout);
}
