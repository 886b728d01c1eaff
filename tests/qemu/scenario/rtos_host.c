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
 *   4. POWER_OFF: the image prints its counters and QEMU exits 0.
 *
 *   rtos_host --image ELF [--packed] [--commands N] [--qemu PATH]
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

#define TIMEOUT_MS 10000

static int failures;
static pid_t qemu_pid;
static char dir[] = "/tmp/vring-rtos-XXXXXX";
static char sock[200], uart[200];

#define CHECK(cond, ...)                                                          \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
			fprintf(stderr, __VA_ARGS__);                             \
			fprintf(stderr, "\n");                                    \
			failures++;                                               \
		}                                                                 \
	} while (0)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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
	unsigned long long req = 0, dropped = 0;
	bool counters = false;
	FILE *f = fopen(uart, "r");

	if (!f) {
		CHECK(0, "no UART log");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		const char *c = strstr(line, "rtos: counters requests ");
		const char *d = strstr(line, " dropped_bytes ");

		printf("   | %s", line);
		if (c && d) {
			counters = true;
			req = strtoull(c + strlen("rtos: counters requests "), NULL, 10);
			dropped = strtoull(d + strlen(" dropped_bytes "), NULL, 10);
		}
	}
	fclose(f);
	CHECK(counters, "the image printed no counters");
	CHECK(req == commands + 4, "the image counted %llu requests, not %u", req, commands + 4);
	CHECK(dropped >= 10, "the image's parser dropped only %llu garbage bytes", dropped);
}

static void start_qemu(const char *qemu, const char *image, bool packed)
{
	char chardev[300], serial[300];

	snprintf(chardev, sizeof(chardev), "socket,id=c1,path=%s,server=on,wait=on", sock);
	snprintf(serial, sizeof(serial), "file:%s", uart);
	qemu_pid = fork();
	if (qemu_pid == 0) {
		execlp(qemu, qemu, "-M", "virt", "-cpu", "cortex-a57", "-m", "128", "-accel", "tcg",
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
	uint64_t t0 = now_ns();
	int err;

	for (;;) {
		struct stat st;

		if (stat(sock, &st) == 0) {
			err = vr_msg_open(sock, NULL, out);
			if (err == 0)
				return 0;
		}
		if (now_ns() - t0 > 20000000000ull)
			return VR_ETIMEDOUT;
		usleep(20000);
	}
}

static void raw(struct vr_msg_port *p, const void *b, size_t n)
{
	int fd = vr_msg_fd(p);
	const uint8_t *c = b;

	while (n) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);

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

static void text(struct vr_msg_port *p, const char *cmd)
{
	char reply[256], want[200];
	int n = vr_msg_call_text(p, cmd, reply, sizeof(reply), TIMEOUT_MS);

	snprintf(want, sizeof(want), "OK %s", cmd);
	CHECK(n > 0 && strcmp(reply, want) == 0, "text %s: answer \"%s\" (%s)", cmd,
	      n > 0 ? reply : "", n > 0 ? "" : vr_errname(n));
	if (n > 0)
		printf("   linux -> \"%s\", rtos -> \"%s\"\n", cmd, reply);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void typed(struct vr_msg_port *p, unsigned count)
{
	uint64_t *rt = calloc(count, sizeof(*rt));
	unsigned i;

	for (i = 0; i < count && failures < 5; i++) {
		uint64_t t0 = now_ns();
		struct vr_msg_ack ack;
		Vrmsg__Envelope *env = NULL;
		int err;

		switch (i % 3) {
		case 0:
			err = vr_msg_set_sensor_gain(p, VRMSG__SENSOR__SENSOR_FRONT_CAMERA,
						     VRMSG__GAIN_LEVEL__GAIN_HIGH, 0, &ack, TIMEOUT_MS);
			CHECK(err == 0 && ack.status == 0 && strcmp(ack.detail, "sensor gain high applied") == 0,
			      "SetSensorGain #%u: %s status %d \"%s\"", i, vr_errname(err), ack.status, ack.detail);
			break;
		case 1:
			err = vr_msg_start_adas(p, 0x5, 30, true, &ack, TIMEOUT_MS);
			CHECK(err == 0 && ack.status == 0 && strcmp(ack.detail, "adas processing started") == 0,
			      "StartAdasProcessing #%u: %s status %d", i, vr_errname(err), ack.status);
			break;
		default:
			err = vr_msg_get_telemetry(p, false, &env, TIMEOUT_MS);
			CHECK(err == 0 && env && env->telemetry && env->telemetry->adas_active &&
				      env->telemetry->n_sensor_temp_cdeg == 4 &&
				      env->telemetry->sensor_temp_cdeg[3] == 3300 &&
				      env->telemetry->frames_processed >= i,
			      "GetTelemetry #%u: %s", i, vr_errname(err));
			vr_msg_free(env);
			break;
		}
		rt[i] = now_ns() - t0;
	}
	qsort(rt, i, sizeof(*rt), cmp_u64);
	if (i)
		printf("   %u typed commands, round trip (CLOCK_MONOTONIC, QEMU under TCG): "
		       "p50 %.0f us, p99 %.0f us, max %.0f us\n",
		       i, rt[i / 2] / 1e3, rt[(i * 99) / 100] / 1e3, rt[i - 1] / 1e3);
	free(rt);
}

static void garbage(struct vr_msg_port *p)
{
	uint8_t f[128];
	uint32_t v, c;
	int n, k;
	struct vr_msg_ack ack;
	static const uint8_t junk[] = {0x01, 0xa5, 0x56, 0x00, 0xff, 0x13, 0xa5, 0x7f, 0x02, 0x03};

	for (k = 0; k < 4; k++) {
		/* A frame with a real header, damaged in one of four ways. */
		n = vr_frame_encode(f, sizeof(f), VR_FRAME_T_REQUEST, 0, 0x7f000000u + (uint32_t)k,
				    "\x1a\x02\x08\x01", 4);
		CHECK(n > 0, "encode");
		switch (k) {
		case 0: raw(p, junk, sizeof(junk)); break;           /* junk */
		case 1: raw(p, f, (size_t)n - 2); break;              /* cut short */
		case 2:                                               /* inflated length */
			v = 0x7fffffffu;
			memcpy(f + VR_FRAME_OFF_LEN, &v, 4);
			c = vr_crc32c(0, f, VR_FRAME_OFF_HCRC);
			memcpy(f + VR_FRAME_OFF_HCRC, &c, 4);
			raw(p, f, (size_t)n);
			break;
		default:                                              /* one bit */
			f[n - 1] ^= 0x10;
			raw(p, f, (size_t)n);
			break;
		}
		/* The next valid command is answered (a cut frame is given up
		 * after the RTOS's 50 ms idle resync). */
		usleep(100000);
		n = vr_msg_set_sensor_gain(p, VRMSG__SENSOR__SENSOR_LIDAR, VRMSG__GAIN_LEVEL__GAIN_LOW,
					   0, &ack, TIMEOUT_MS);
		CHECK(n == 0 && ack.status == 0, "command after garbage %d: %s", k, vr_errname(n));
	}
	printf("   garbage, a cut frame, an inflated length, a flipped bit: each skipped, "
	       "the next command answered\n");
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
		else {
			fprintf(stderr, "usage: rtos_host --image ELF [--packed] [--commands N] [--qemu PATH]\n");
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
	printf("== RTOS guest: qemu-system-aarch64 -M virt, virtio-serial-pci%s, virtconsole my-ipc-port\n",
	       packed ? ",packed=on" : "");
	start_qemu(qemu, image, packed);
	err = connect_port(&p);
	CHECK(err == 0, "connect to %s: %s", sock, vr_errname(err));
	if (err == 0) {
		text(p, "START_ADAS_PROCESSING");
		text(p, "SET_SENSOR_GAIN_HIGH");
		typed(p, commands);
		garbage(p);
		text(p, "POWER_OFF");
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
	if (failures) {
		printf("rtos_host: %d check(s) failed\n", failures);
		return 1;
	}
	printf("rtos_host: every check passed\n");
	return 0;
}
