/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctest qemu_rtos_*: the Linux side of the AAOS <-> RTOS protocol against
 * the RTOS guest image (examples/rtos_vm) running under
 * qemu-system-aarch64 -M virt with QEMU's own virtio-serial-pci and a
 * virtconsole named my-ipc-port on a chardev socket. This program starts
 * QEMU, connects to the socket with the message protocol's Linux call set
 * (msg/linux) and checks every answer:
 *   1. the seed's two commands as text lines, "START_ADAS_PROCESSING" and
 *      "SET_SENSOR_GAIN_HIGH", each answered "OK <command>";
 *   2. N typed commands (SetSensorGain, StartAdasProcessing, GetTelemetry
 *      in turn), each answer checked field by field, round trips timed;
 *   3. garbage, truncated frames, an inflated length and a bit flip written
 *      between valid commands: the RTOS resynchronises, rejects them, and
 *      the next command is answered;
 *   4. POLLING_ON, N/4 typed commands served by the polling fallback,
 *      POLLING_OFF;
 *   5. POWER_OFF: the image prints its counters and QEMU exits 0.
 *
 * With --gic3 QEMU runs -M virt,gic-version=3: the image takes its
 * interrupts as MSI-X messages through the GICv3 ITS instead of INTx.
 *
 *   rtos_host --image ELF [--packed] [--gic3] [--commands N] [--qemu PATH]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vring/frame.h>
#include <vring/msg_client.h>
#include <vring/vring.h>

#include "scenario_client.h"

#define TIMEOUT_MS 10000

static pid_t qemu_pid;
static char dir[] = "/tmp/vring-rtos-XXXXXX";
static char sock[200], uart[200];
static bool gic3; /* -M virt,gic-version=3: MSI-X through the ITS */

#define CHECK SC_CHECK

static void cleanup(void)
{
	if (qemu_pid > 0) {
		kill(qemu_pid, SIGKILL);
		waitpid(qemu_pid, NULL, 0);
		qemu_pid = 0;
	}
	unlink(sock);
	unlink(uart);
	rmdir(dir);
}

/* Print the image's UART output; check its closing counters: every typed
 * command counted, and the garbage dropped by its parser. */
static void show_uart(unsigned commands)
{
	char line[512];
	unsigned long long req = 0, dropped = 0, polled = 0;
	bool counters = false, path = false;
	unsigned long long irqs = 0;
	FILE *f = fopen(uart, "r");

	if (!f) {
		CHECK(0, "no UART log");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		const char *c = strstr(line, "rtos: counters requests ");
		const char *d = strstr(line, " dropped_bytes ");
		const char *q = strstr(line, " polled ");
		const char *irq = strstr(line, " irqs ");

		if (strstr(line, gic3 ? "MSI-X through the GICv3 ITS" : "INTx through the GICv2"))
			path = true;
		if (c && irq)
			irqs = strtoull(irq + strlen(" irqs "), NULL, 10);

		printf("   | %s", line);
		if (c && d) {
			counters = true;
			req = strtoull(c + strlen("rtos: counters requests "), NULL, 10);
			dropped = strtoull(d + strlen(" dropped_bytes "), NULL, 10);
			polled = q ? strtoull(q + strlen(" polled "), NULL, 10) : 0;
		}
	}
	fclose(f);
	CHECK(counters, "the image printed no counters");
	CHECK(path, "the image did not take its interrupts %s", gic3 ? "as MSI-X through the ITS"
								       : "as INTx through the GICv2");
	/* Interrupt mode served three quarters of the commands. */
	CHECK(irqs >= commands / 4, "only %llu interrupts for %u commands", irqs, commands);
	CHECK(req == commands + commands / 4 + 4, "the image counted %llu requests, not %u", req,
	      commands + commands / 4 + 4);
	/* Every command of the polling phase was served by the fallback. */
	CHECK(polled == commands / 4, "%llu served in polling mode, not %u", polled, commands / 4);
	CHECK(dropped >= 10, "the image's parser dropped only %llu garbage bytes", dropped);
}

static void start_qemu(const char *qemu, const char *image, bool packed)
{
	char chardev[300], serial[300];

	snprintf(chardev, sizeof(chardev), "socket,id=c1,path=%s,server=on,wait=on", sock);
	snprintf(serial, sizeof(serial), "file:%s", uart);
	qemu_pid = fork();
	if (qemu_pid == 0) {
		execlp(qemu, qemu, "-M", gic3 ? "virt,gic-version=3" : "virt", "-cpu", "cortex-a57", "-m", "128", "-accel", "tcg",
		       "-nographic", "-nodefaults", "-monitor", "none", "-serial", serial, "-kernel",
		       image, "-device", packed ? "virtio-serial-pci,packed=on" : "virtio-serial-pci",
		       "-chardev", chardev, "-device", "virtconsole,chardev=c1,name=my-ipc-port",
		       (char *)NULL);
		perror("exec qemu");
		_exit(127);
	}
}

/* QEMU listens once it is up: connect, retrying for a while. */
static int connect_port(struct vr_msg_port **out)
{
	uint64_t t0 = sc_now_ns();
	int err;

	for (;;) {
		struct stat st;

		if (stat(sock, &st) == 0) {
			err = vr_msg_open(sock, NULL, out);
			if (err == 0)
				return 0;
		}
		if (sc_now_ns() - t0 > 20000000000ull)
			return VR_ETIMEDOUT;
		usleep(20000);
	}
}

int main(int argc, char **argv)
{
	const char *image = NULL, *qemu = "qemu-system-aarch64";
	bool packed = false;
	unsigned commands = 1000;
	struct vr_msg_port *p = NULL;
	int i, status = 0, err;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--image") == 0 && i + 1 < argc)
			image = argv[++i];
		else if (strcmp(argv[i], "--qemu") == 0 && i + 1 < argc)
			qemu = argv[++i];
		else if (strcmp(argv[i], "--commands") == 0 && i + 1 < argc)
			commands = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--packed") == 0)
			packed = true;
		else if (strcmp(argv[i], "--gic3") == 0)
			gic3 = true;
		else {
			fprintf(stderr, "usage: rtos_host --image ELF [--packed] [--gic3] [--commands N] "
					"[--qemu PATH]\n");
			return 2;
		}
	}
	if (!image || !mkdtemp(dir)) {
		fprintf(stderr, "rtos_host: --image is required (and a temporary directory)\n");
		return 2;
	}
	snprintf(sock, sizeof(sock), "%s/ipc.sock", dir);
	snprintf(uart, sizeof(uart), "%s/uart.log", dir);
	signal(SIGPIPE, SIG_IGN);
	printf("== RTOS guest: qemu-system-aarch64 -M virt%s, virtio-serial-pci%s, virtconsole my-ipc-port\n",
	       gic3 ? ",gic-version=3" : "", packed ? ",packed=on" : "");
	start_qemu(qemu, image, packed);
	err = connect_port(&p);
	CHECK(err == 0, "connect to %s: %s", sock, vr_errname(err));
	if (err == 0) {
		sc_text(p, "START_ADAS_PROCESSING", TIMEOUT_MS);
		sc_text(p, "SET_SENSOR_GAIN_HIGH", TIMEOUT_MS);
		CHECK(sc_typed(p, commands, TIMEOUT_MS) == commands, "typed commands");
		sc_garbage(p, TIMEOUT_MS);
		sc_text(p, "POLLING_ON", TIMEOUT_MS);
		CHECK(sc_typed(p, commands / 4, TIMEOUT_MS) == commands / 4, "typed commands, polling");
		sc_text(p, "POLLING_OFF", TIMEOUT_MS);
		sc_text(p, "POWER_OFF", TIMEOUT_MS);
		vr_msg_close(p);
	}
	/* The image powers off by itself after POWER_OFF. */
	for (i = 0; i < 200 && qemu_pid > 0; i++) {
		if (waitpid(qemu_pid, &status, WNOHANG) == qemu_pid) {
			qemu_pid = 0;
			break;
		}
		usleep(50000);
	}
	CHECK(qemu_pid == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "QEMU did not power off cleanly");
	show_uart(commands);
	cleanup();
	if (sc_failures) {
		printf("rtos_host: %d check(s) failed\n", sc_failures);
		return 1;
	}
	printf("rtos_host: every check passed\n");
	return 0;
}
