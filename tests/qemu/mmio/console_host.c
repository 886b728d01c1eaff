/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host side of the bare-metal virtio-mmio end-to-end test: starts
 * qemu-system-aarch64 with examples/baremetal_virtio, QEMU's
 * virtio-serial-device + virtconsole on a UNIX socket and a
 * virtio-rng-device, connects to the socket and drives the image through
 * the commands of examples/baremetal_virtio/protocol.h:
 *  - the features the image negotiated, checked against what QEMU offered
 *    (RING_PACKED only with packed=on, EVENT_IDX only unless event_idx=off,
 *    no console MULTIPORT);
 *  - N echo messages each way, pipelined, every byte checked on both sides
 *    (the image checks the pattern, the host the echo and its checksum),
 *    first with interrupts (32 in flight, then one at a time), then a
 *    share in polling mode;
 *  - a per-queue reset (RING_RESET) of the image's receive queue, which
 *    then carries the polling phase;
 *  - random bytes read through the image's virtio-rng driver;
 *  - the image's counters (no bad byte, no ring or interrupt error), then
 *    quit: the image powers off through PSCI and QEMU must exit 0.
 * With --legacy QEMU runs with its default legacy virtio-mmio, and the
 * documented outcome is checked: the image refuses with VR_ELEGACY.
 *
 * Prints messages/s (wall clock, echo phase, a message = one request and
 * its reply) and interrupts/message (image IRQ entries / messages).
 * Exit 0 on success, 1 on failure (with the reason and QEMU's output).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

#define F_INDIRECT (1ull << 28)
#define F_EVENT_IDX (1ull << 29)
#define F_VERSION_1 (1ull << 32)
#define F_ACCESS_PLATFORM (1ull << 33)
#define F_RING_PACKED (1ull << 34)
#define F_IN_ORDER (1ull << 35)
#define F_RING_RESET (1ull << 40)
#define F_DRIVER_CAN (F_INDIRECT | F_EVENT_IDX | F_VERSION_1 | F_ACCESS_PLATFORM | \
		      F_RING_PACKED | F_IN_ORDER | F_RING_RESET)

static struct {
	const char *qemu, *image, *dir;
	bool packed, no_event_idx, legacy;
	unsigned messages, poll_messages, pingpong, window, timeout;
} opt = {"qemu-system-aarch64", NULL, "/tmp", false, false, false, 10000, 1000, 500, 32, 90};

static pid_t qemu_pid = -1;
static int qemu_out = -1;
static char qlog[1 << 16];
static size_t qlog_len;
static int sock = -1;
static char sock_path[108];
static double deadline;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void drain_qemu_output(void)
{
	for (;;) {
		ssize_t n;

		if (qemu_out < 0)
			return;
		n = read(qemu_out, qlog + qlog_len, sizeof(qlog) - 1 - qlog_len);
		if (n > 0) {
			qlog_len += (size_t)n;
			qlog[qlog_len] = 0;
			if (qlog_len == sizeof(qlog) - 1)
				qlog_len = 0; /* keep the tail only */
			continue;
		}
		if (n == 0) {
			close(qemu_out);
			qemu_out = -1;
		}
		return;
	}
}

static void cleanup(void)
{
	if (sock >= 0)
		close(sock);
	if (qemu_pid > 0) {
		kill(qemu_pid, SIGKILL);
		waitpid(qemu_pid, NULL, 0);
		qemu_pid = -1;
	}
	if (sock_path[0])
		unlink(sock_path);
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "console_host: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	drain_qemu_output();
	fprintf(stderr, "---- QEMU output ----\n%s\n---------------------\n", qlog);
	cleanup();
	exit(1);
}

static void start_qemu(void)
{
	char chardev[256], serial[128];
	const char *argv[40];
	int argc = 0, p[2];

	/* A UNIX socket path has 108 bytes; a deep build directory falls
	 * back to /tmp. */
	if ((size_t)snprintf(sock_path, sizeof(sock_path), "%s/vc-%d.sock", opt.dir,
			     (int)getpid()) >= sizeof(sock_path))
		snprintf(sock_path, sizeof(sock_path), "/tmp/vr-mmio-vc-%d.sock", (int)getpid());
	unlink(sock_path);
	snprintf(chardev, sizeof(chardev), "socket,id=vc0,path=%s,server=on,wait=on", sock_path);
	snprintf(serial, sizeof(serial), "virtio-serial-device%s%s",
		 opt.packed ? ",packed=on" : "", opt.no_event_idx ? ",event_idx=off" : "");
	argv[argc++] = opt.qemu;
	argv[argc++] = "-M";
	argv[argc++] = "virt";
	argv[argc++] = "-cpu";
	argv[argc++] = "cortex-a57";
	argv[argc++] = "-m";
	argv[argc++] = "128";
	argv[argc++] = "-accel";
	argv[argc++] = "tcg";
	argv[argc++] = "-display";
	argv[argc++] = "none";
	argv[argc++] = "-monitor";
	argv[argc++] = "none";
	argv[argc++] = "-serial";
	argv[argc++] = "stdio";
	argv[argc++] = "-no-reboot";
	if (!opt.legacy) {
		argv[argc++] = "-global";
		argv[argc++] = "virtio-mmio.force-legacy=false";
	}
	argv[argc++] = "-chardev";
	argv[argc++] = chardev;
	argv[argc++] = "-device";
	argv[argc++] = serial;
	argv[argc++] = "-device";
	argv[argc++] = "virtconsole,chardev=vc0";
	argv[argc++] = "-device";
	argv[argc++] = "virtio-rng-device";
	argv[argc++] = "-kernel";
	argv[argc++] = opt.image;
	argv[argc] = NULL;

	fprintf(stderr, "console_host: ");
	for (int i = 0; i < argc; i++)
		fprintf(stderr, "%s ", argv[i]);
	fprintf(stderr, "\n");
	if (pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	qemu_pid = fork();
	if (qemu_pid < 0)
		die("fork: %s", strerror(errno));
	if (qemu_pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/* QEMU dies with this program (a ctest TIMEOUT kills it). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(127);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	qemu_out = p[0];
	fcntl(qemu_out, F_SETFL, O_NONBLOCK);
}

static void connect_console(void)
{
	struct sockaddr_un a;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, sock_path, strlen(sock_path) + 1);
	for (;;) {
		int status;

		sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sock < 0)
			die("socket: %s", strerror(errno));
		if (connect(sock, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		close(sock);
		sock = -1;
		drain_qemu_output();
		if (waitpid(qemu_pid, &status, WNOHANG) == qemu_pid) {
			qemu_pid = -1;
			die("QEMU exited before opening the console socket");
		}
		if (now() > deadline)
			die("console socket %s never accepted a connection", sock_path);
		usleep(20000);
	}
	fcntl(sock, F_SETFL, O_NONBLOCK);
}

/* ---- Buffered, non-blocking frame I/O ------------------------------------ */
static uint8_t inbuf[1 << 16];
static size_t in_len;
static uint8_t outbuf[1 << 20];
static size_t out_off, out_len;

static void put_frame(uint8_t cmd, uint32_t seq, const uint8_t *pl, uint32_t len)
{
	uint8_t *p;

	if (out_off == out_len)
		out_off = out_len = 0;
	if (out_len + BV_HDR + len > sizeof(outbuf)) {
		memmove(outbuf, outbuf + out_off, out_len - out_off);
		out_len -= out_off;
		out_off = 0;
	}
	if (out_len + BV_HDR + len > sizeof(outbuf))
		die("host output buffer full");
	p = outbuf + out_len;
	p[0] = BV_MAGIC;
	p[1] = cmd;
	p[2] = (uint8_t)len;
	p[3] = (uint8_t)(len >> 8);
	p[4] = (uint8_t)seq;
	p[5] = (uint8_t)(seq >> 8);
	p[6] = (uint8_t)(seq >> 16);
	p[7] = (uint8_t)(seq >> 24);
	if (len)
		memcpy(p + BV_HDR, pl, len);
	out_len += BV_HDR + len;
}

/* One round of I/O: write what is pending, read what arrived. */
static void pump(int timeout_ms)
{
	struct pollfd pf[2];
	int n;

	pf[0].fd = sock;
	pf[0].events = POLLIN | (out_off < out_len ? POLLOUT : 0);
	pf[1].fd = qemu_out;
	pf[1].events = POLLIN;
	n = poll(pf, qemu_out >= 0 ? 2 : 1, timeout_ms);
	if (n < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
	if (qemu_out >= 0 && (pf[1].revents & (POLLIN | POLLHUP)))
		drain_qemu_output();
	if (pf[0].revents & POLLOUT) {
		ssize_t w = write(sock, outbuf + out_off, out_len - out_off);

		if (w > 0)
			out_off += (size_t)w;
		else if (w < 0 && errno != EAGAIN && errno != EINTR)
			die("write to console: %s", strerror(errno));
	}
	if (pf[0].revents & (POLLIN | POLLHUP)) {
		ssize_t r = read(sock, inbuf + in_len, sizeof(inbuf) - in_len);

		if (r > 0)
			in_len += (size_t)r;
		else if (r == 0)
			die("console closed by QEMU (image stopped?)");
		else if (errno != EAGAIN && errno != EINTR)
			die("read from console: %s", strerror(errno));
	}
	if (now() > deadline)
		die("timed out after %u s", opt.timeout);
}

struct frame {
	uint8_t cmd;
	uint32_t seq;
	uint32_t len;
	uint8_t pl[BV_MAX_PAYLOAD + 8];
};

/* Take one frame if a whole one is buffered. */
static bool take_frame(struct frame *f)
{
	uint32_t len;

	if (in_len < BV_HDR)
		return false;
	if (inbuf[0] != BV_MAGIC)
		die("reply stream damaged: byte 0x%02x where a frame starts", inbuf[0]);
	len = (uint32_t)inbuf[2] | (uint32_t)inbuf[3] << 8;
	if (len > sizeof(f->pl))
		die("reply of %u bytes is larger than any the image sends", len);
	if (in_len < BV_HDR + len)
		return false;
	f->cmd = inbuf[1];
	f->seq = (uint32_t)inbuf[4] | (uint32_t)inbuf[5] << 8 |
		 (uint32_t)inbuf[6] << 16 | (uint32_t)inbuf[7] << 24;
	f->len = len;
	memcpy(f->pl, inbuf + BV_HDR, len);
	memmove(inbuf, inbuf + BV_HDR + len, in_len - BV_HDR - len);
	in_len -= BV_HDR + len;
	return true;
}

static void wait_frame(struct frame *f, uint8_t cmd, uint32_t seq)
{
	while (!take_frame(f))
		pump(100);
	if (f->cmd != cmd || f->seq != seq)
		die("expected reply '%c' seq %u, got '%c' seq %u", cmd, seq, f->cmd, f->seq);
	f->pl[f->len < sizeof(f->pl) ? f->len : sizeof(f->pl) - 1] = 0;
}

static uint64_t kv(const struct frame *f, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "%s=", key);
	for (p = (const char *)f->pl; (p = strstr(p, pat)) != NULL; p++)
		if (p == (const char *)f->pl || p[-1] == ' ')
			return strtoull(p + strlen(pat), NULL, 0);
	die("reply '%c' has no %s: %s", f->cmd, key, (const char *)f->pl);
}

static uint32_t next_seq = 1;

static void command(struct frame *f, uint8_t cmd, const uint8_t *pl, uint32_t len)
{
	uint32_t seq = next_seq++;

	put_frame(cmd, seq, pl, len);
	wait_frame(f, (uint8_t)(cmd | 0x20), seq);
}

static void check_features(const struct frame *f)
{
	uint64_t off = kv(f, "con_offered"), got = kv(f, "con_features");
	uint64_t roff = kv(f, "rng_offered"), rgot = kv(f, "rng_features");

	if (!(off & F_VERSION_1))
		die("QEMU did not offer VERSION_1 (legacy device?)");
	if (!!(off & F_RING_PACKED) != opt.packed)
		die("RING_PACKED offered=%d but packed=%s", !!(off & F_RING_PACKED),
		    opt.packed ? "on" : "off");
	if (!!(off & F_EVENT_IDX) == opt.no_event_idx)
		die("EVENT_IDX offered=%d but event_idx=%s", !!(off & F_EVENT_IDX),
		    opt.no_event_idx ? "off" : "on");
	if (got != (off & F_DRIVER_CAN))
		die("negotiated 0x%" PRIx64 ", expected offered 0x%" PRIx64
		    " & driver 0x%" PRIx64 " = 0x%" PRIx64, got, off, (uint64_t)F_DRIVER_CAN,
		    (uint64_t)(off & F_DRIVER_CAN));
	if (got & 0x2)
		die("console MULTIPORT negotiated though the image does not want it");
	/* virtio-serial-device's max_ports property defaults to 31: read by
	 * the image from the config space under ConfigGeneration. */
	if (kv(f, "max_nr_ports") != 31)
		die("image read max_nr_ports=%" PRIu64 " from the console config, QEMU has 31",
		    kv(f, "max_nr_ports"));
	if (kv(f, "packed") != opt.packed)
		die("image runs packed=%" PRIu64 ", expected %d", kv(f, "packed"), opt.packed);
	if (rgot != (roff & F_DRIVER_CAN) || !(rgot & F_VERSION_1) || (rgot & F_RING_PACKED))
		die("rng negotiated 0x%" PRIx64 " of 0x%" PRIx64, rgot, roff);
	printf("console_host: features offered 0x%" PRIx64 " negotiated 0x%" PRIx64
	       " (rng 0x%" PRIx64 "): ok\n", off, got, rgot);
}

/* N echo messages, at most opt.window outstanding; returns seconds. */
static double echo_phase(unsigned n)
{
	uint8_t pl[BV_MAX_ECHO];
	uint32_t first = next_seq, sent = 0, got = 0;
	double t0 = now();
	struct frame f;

	while (got < n) {
		while (sent < n && sent - got < opt.window) {
			uint32_t seq = first + sent, len = bv_echo_len(seq);

			for (uint32_t i = 0; i < len; i++)
				pl[i] = bv_pattern(seq, i);
			put_frame('E', seq, pl, len);
			sent++;
		}
		if (!take_frame(&f)) {
			pump(100);
			continue;
		}
		uint32_t seq = first + got, len = bv_echo_len(seq), sum;

		if (f.cmd != 'e' || f.seq != seq)
			die("echo %u: reply '%c' seq %u", seq, f.cmd, f.seq);
		if (f.len != len + 4)
			die("echo %u: reply of %u bytes, expected %u", seq, f.len, len + 4);
		for (uint32_t i = 0; i < len; i++)
			if (f.pl[i] != bv_pattern(seq, i))
				die("echo %u: byte %u is 0x%02x, expected 0x%02x", seq, i,
				    f.pl[i], bv_pattern(seq, i));
		sum = (uint32_t)f.pl[len] | (uint32_t)f.pl[len + 1] << 8 |
		      (uint32_t)f.pl[len + 2] << 16 | (uint32_t)f.pl[len + 3] << 24;
		if (sum != bv_fnv1a(f.pl, len))
			die("echo %u: checksum 0x%08x, expected 0x%08x", seq, sum,
			    bv_fnv1a(f.pl, len));
		got++;
	}
	next_seq = first + n;
	return now() - t0;
}

static void wait_qemu_exit(void)
{
	int status;

	for (;;) {
		pid_t r = waitpid(qemu_pid, &status, WNOHANG);

		if (r == qemu_pid)
			break;
		drain_qemu_output();
		if (now() > deadline)
			die("QEMU did not exit (no PSCI SYSTEM_OFF?)");
		usleep(20000);
	}
	qemu_pid = -1;
	drain_qemu_output();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("QEMU exit status 0x%x", status);
}

static void run_legacy(void)
{
	char tmp[64];

	/* The image refuses every legacy device and powers off; reading the
	 * socket until QEMU closes it is all the host does. */
	for (;;) {
		ssize_t r = read(sock, tmp, sizeof(tmp));

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			break;
		if (r > 0)
			die("legacy mode: the image sent console data");
		drain_qemu_output();
		if (now() > deadline)
			die("legacy mode: QEMU still running");
		usleep(20000);
	}
	wait_qemu_exit();
	if (!strstr(qlog, "legacy virtio-mmio (version 1): VR_ELEGACY") ||
	    !strstr(qlog, "force-legacy=false") || strstr(qlog, "baremetal_virtio: ready"))
		die("legacy mode: the image did not refuse with VR_ELEGACY");
	printf("console_host: legacy virtio-mmio refused with VR_ELEGACY as documented\n");
}

static void usage(void)
{
	fprintf(stderr, "usage: console_host --image ELF [--qemu PATH] [--dir DIR] [--packed]\n"
			"  [--no-event-idx] [--legacy] [--messages N] [--poll-messages N]\n"
			"  [--pingpong N] [--window W] [--timeout S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct frame f;
	uint64_t irq0, irq1, rx0;
	double secs, psecs;
	uint8_t rbuf1[64], rbuf2[64], req[2] = {64, 0}, one;
	bool ring_reset;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--packed"))
			opt.packed = true;
		else if (!strcmp(a, "--no-event-idx"))
			opt.no_event_idx = true;
		else if (!strcmp(a, "--legacy"))
			opt.legacy = true;
		else if (v && !strcmp(a, "--image"))
			opt.image = argv[++i];
		else if (v && !strcmp(a, "--qemu"))
			opt.qemu = argv[++i];
		else if (v && !strcmp(a, "--dir"))
			opt.dir = argv[++i];
		else if (v && !strcmp(a, "--messages"))
			opt.messages = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (v && !strcmp(a, "--poll-messages"))
			opt.poll_messages = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (v && !strcmp(a, "--pingpong"))
			opt.pingpong = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (v && !strcmp(a, "--window"))
			opt.window = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (v && !strcmp(a, "--timeout"))
			opt.timeout = (unsigned)strtoul(argv[++i], NULL, 0);
		else
			usage();
	}
	if (!opt.image || !opt.window)
		usage();
	signal(SIGPIPE, SIG_IGN);
	deadline = now() + opt.timeout;
	start_qemu();
	connect_console();
	if (opt.legacy) {
		run_legacy();
		cleanup();
		return 0;
	}

	while (!take_frame(&f))
		pump(100);
	if (f.cmd != 'h')
		die("first frame '%c', expected the image's hello", f.cmd);
	f.pl[f.len] = 0;
	check_features(&f);
	command(&f, 'F', NULL, 0);
	check_features(&f);
	ring_reset = (kv(&f, "con_features") & F_RING_RESET) != 0;

	command(&f, 'C', NULL, 0);
	irq0 = kv(&f, "irqs");
	rx0 = kv(&f, "rx_msgs");
	secs = echo_phase(opt.messages);
	command(&f, 'C', NULL, 0);
	irq1 = kv(&f, "irqs");
	if (kv(&f, "rx_msgs") - rx0 != opt.messages + 1)
		die("image counted %" PRIu64 " messages, sent %u", kv(&f, "rx_msgs") - rx0,
		    opt.messages + 1);
	if (opt.messages && irq1 == irq0)
		die("interrupt mode took no interrupt");
	printf("console_host: %s%s: %u messages each way in %.2f s wall: %.0f messages/s (request + reply), "
	       "%.3f interrupts/message\n", opt.packed ? "packed" : "split",
	       opt.no_event_idx ? " no-event-idx" : " event-idx", opt.messages, secs,
	       opt.messages / secs, (double)(irq1 - irq0) / (opt.messages ? opt.messages : 1));

	/* Ping-pong: one message in flight, the latency-bound case, where
	 * every request costs the image an interrupt. */
	if (opt.pingpong) {
		unsigned w = opt.window;

		opt.window = 1;
		command(&f, 'C', NULL, 0);
		irq0 = kv(&f, "irqs");
		secs = echo_phase(opt.pingpong);
		command(&f, 'C', NULL, 0);
		irq1 = kv(&f, "irqs");
		opt.window = w;
		printf("console_host: ping-pong (1 in flight): %u messages in %.2f s wall: %.0f round "
		       "trips/s, %.3f interrupts/message\n", opt.pingpong, secs,
		       opt.pingpong / secs, (double)(irq1 - irq0) / opt.pingpong);
	}

	/* Per-queue reset of the image's receive queue when RING_RESET was
	 * negotiated; the polling phase below then runs on the new queue. */
	/* QEMU 7.2 offers RING_RESET on virtio-mmio but has no QueueReset
	 * register there (it reads 0 and ignores writes): the reset looks
	 * complete at once, but QueueReady still reads 1, so the driver
	 * answers VR_EQUEUE and leaves the queue untouched, which the
	 * polling phase below checks. A QEMU that implements the register
	 * must give VR_OK. */
	command(&f, 'X', NULL, 0);
	if (ring_reset ? !strstr((const char *)f.pl, "reset=VR_OK") &&
			 !strstr((const char *)f.pl, "reset=VR_EQUEUE")
		       : !strstr((const char *)f.pl, "reset=VR_ENOTSUP"))
		die("queue reset (RING_RESET %s): %s", ring_reset ? "negotiated" : "not negotiated",
		    (const char *)f.pl);
	printf("console_host: receive queue reset: %s\n", (const char *)f.pl);

	one = 1;
	command(&f, 'P', &one, 1);
	command(&f, 'C', NULL, 0);
	irq0 = kv(&f, "irqs");
	psecs = echo_phase(opt.poll_messages);
	command(&f, 'C', NULL, 0);
	if (kv(&f, "polling") != 1)
		die("image not in polling mode");
	printf("console_host: polling: %u messages each way in %.2f s wall, %" PRIu64
	       " interrupts\n", opt.poll_messages, psecs, kv(&f, "irqs") - irq0);
	one = 0;
	command(&f, 'P', &one, 1);

	command(&f, 'R', req, 2);
	if (f.len != 64)
		die("rng: %u bytes, asked 64", f.len);
	memcpy(rbuf1, f.pl, 64);
	command(&f, 'R', req, 2);
	if (f.len != 64)
		die("rng: %u bytes, asked 64", f.len);
	memcpy(rbuf2, f.pl, 64);
	if (!memcmp(rbuf1, rbuf2, 64))
		die("rng: two reads returned the same 64 bytes");
	{
		unsigned zero = 0;

		for (int i = 0; i < 64; i++)
			zero += rbuf1[i] == 0;
		if (zero > 16)
			die("rng: %u of 64 bytes are zero", zero);
	}
	printf("console_host: rng: 2 x 64 random bytes through virtio-rng: ok\n");

	command(&f, 'C', NULL, 0);
	printf("console_host: image counters: %s\n", (const char *)f.pl);
	if (kv(&f, "bad_bytes") || kv(&f, "bad_frames") || kv(&f, "ring_errors") ||
	    kv(&f, "isr_errors"))
		die("image saw errors: %s", (const char *)f.pl);
	command(&f, 'Q', NULL, 0);
	wait_qemu_exit();
	if (!strstr(qlog, "baremetal_virtio: done"))
		die("image did not report a clean end");
	cleanup();
	printf("console_host: PASS\n");
	return 0;
}
