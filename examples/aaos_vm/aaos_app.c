/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * aaos_app: the Android Automotive side's program in the AAOS <-> RTOS
 * scenario, run inside the Linux guest (statically linked). It opens the
 * virtio console port by its udev name, /dev/virtio-ports/my-ipc-port, with
 * the message protocol's Linux call set (msg/linux: a terminal is put in
 * raw mode) and talks to the bare-metal RTOS guest at the other end of the
 * console (two QEMU guests joined by one chardev socket):
 *
 *   1. SET_SENSOR_GAIN_HIGH as a text line, as the seed's C program writes
 *      it, and the RTOS's "OK SET_SENSOR_GAIN_HIGH" checked;
 *   2. --commands N typed commands, every answer checked, round trips;
 *   3. garbage on the port between commands;
 *   4. with --restart-phase: prints "AAOS: RTOS-RESTART-NOW", expects its
 *      commands to time out while the RTOS is down, and to be answered
 *      again once it is back, without reopening anything;
 *   5. with --power-off-rtos: POWER_OFF to the RTOS.
 *
 * Prints "AAOS: ok" or "AAOS: N check(s) failed"; exit status 0 or 1.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vring/msg_client.h>
#include <vring/vring.h>

#include "scenario_client.h"

#define TIMEOUT_MS 10000

/* The RTOS goes away and comes back: commands time out, then succeed. */
static void restart_phase(struct vr_msg_port *p)
{
	uint64_t t0 = sc_now_ns();
	unsigned timeouts = 0, answered_before = 0;
	int err;

	printf("AAOS: RTOS-RESTART-NOW\n");
	fflush(stdout);
	/* Until the first command goes unanswered (the RTOS is down)... */
	while ((err = sc_one(p, 1000)) == 0 && sc_now_ns() - t0 < 60000000000ull)
		answered_before++;
	/* ... and until one is answered again (it is back). */
	while (err != 0 && sc_now_ns() - t0 < 120000000000ull) {
		if (err == VR_ETIMEDOUT)
			timeouts++;
		else if (err != VR_EPEERDEAD && err != VR_EAGAIN)
			printf("   while the RTOS was away: %s\n", vr_errname(err));
		err = sc_one(p, 1000);
	}
	if (err || timeouts == 0) {
		fprintf(stderr, "FAIL restart: %s after %u timeouts\n", vr_errname(err), timeouts);
		sc_failures++;
		return;
	}
	printf("   RTOS restart: %u command(s) timed out while it was down, then answered again "
	       "(%.1f s, the port never reopened)\n",
	       timeouts, (double)(sc_now_ns() - t0) / 1e9);
	fflush(stdout);
	if (sc_typed(p, 99, TIMEOUT_MS) != 99)
		sc_failures++;
}

int main(int argc, char **argv)
{
	const char *path = "/dev/virtio-ports/my-ipc-port";
	unsigned commands = 1000;
	bool restart = false, power_off = false;
	struct vr_msg_port *p;
	int i, err;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--commands") == 0 && i + 1 < argc)
			commands = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--restart-phase") == 0)
			restart = true;
		else if (strcmp(argv[i], "--power-off-rtos") == 0)
			power_off = true;
		else {
			fprintf(stderr, "usage: aaos_app [--port PATH] [--commands N] "
					"[--restart-phase] [--power-off-rtos]\n");
			return 2;
		}
	}
	err = vr_msg_open(path, NULL, &p);
	if (err) {
		fprintf(stderr, "AAOS: cannot open %s: %s\n", path, vr_strerror(err));
		return 1;
	}
	printf("AAOS: %s open\n", path);
	sc_text(p, "SET_SENSOR_GAIN_HIGH", TIMEOUT_MS);
	if (sc_typed(p, commands, TIMEOUT_MS) != commands)
		sc_failures++;
	sc_garbage(p, TIMEOUT_MS);
	if (restart)
		restart_phase(p);
	if (power_off)
		sc_text(p, "POWER_OFF", TIMEOUT_MS);
	vr_msg_close(p);
	if (sc_failures) {
		printf("AAOS: %d check(s) failed\n", sc_failures);
		return 1;
	}
	printf("AAOS: ok\n");
	return 0;
}
