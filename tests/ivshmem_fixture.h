/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the host-only ivshmem tests (tests/test_ivshmem_*.c): start and
 * stop vring-ivshmem-server (fork + exec, --ready-fd), count open fds,
 * temporary directories, message contents that the receiver can check
 * byte by byte from the sequence number alone.
 */
#ifndef VR_TEST_IVSHMEM_FIXTURE_H
#define VR_TEST_IVSHMEM_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vring/ivshmem.h>

#ifndef VR_IVSHMEM_SERVER
#define VR_IVSHMEM_SERVER "vring-ivshmem-server"
#endif

#define FX_MS 1000000ull
#define FX_SEC 1000000000ull

static inline uint64_t fx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * FX_SEC + (uint64_t)ts.tv_nsec;
}

static inline void fx_sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Open fds of process @pid (0: this one), or -1. */
static inline int fx_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/fd");
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return pid ? n : n - 1; /* the directory's own fd */
}

/* The fds @pid holds once that number has stood still for 100 ms (at most
 * 5 s): the server may still hold, for a moment, a copy of an eventfd it
 * is passing on (a peer that has seen an announcement may not have taken
 * all of it yet), so a count taken the instant a peer reacts can be one
 * high. */
static inline int fx_count_fds_settled(pid_t pid)
{
	int n = fx_count_fds(pid), still = 0, tries;

	for (tries = 0; tries < 500 && still < 10; tries++) {
		int m;

		fx_sleep_ms(10);
		m = fx_count_fds(pid);
		still = m == n ? still + 1 : 0;
		n = m;
	}
	return n;
}

/* A private directory for sockets and objects. */
static inline int fx_tmpdir(char *buf, size_t cap, const char *tag)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, cap, "%s/vr-%s-XXXXXX", base && *base ? base : "/tmp", tag);
	return mkdtemp(buf) ? 0 : -1;
}

static inline void fx_rmdir(const char *dir)
{
	char cmd[4200];

	if (!dir || !dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

struct fx_server {
	pid_t pid;
	char sock[256];
};

/*
 * Start the server on @sock with the extra arguments @args (NULL ended),
 * and wait until it says it listens. 0, or -1 (it exited or stayed
 * silent for 10 s: it is then killed).
 */
static inline int fx_server_start(struct fx_server *s, const char *sock,
				  const char *const *args)
{
	char fdarg[16];
	const char *argv[48];
	int pfd[2], a = 0, i;
	char buf[8];
	struct pollfd pf;

	memset(s, 0, sizeof(*s));
	snprintf(s->sock, sizeof(s->sock), "%s", sock);
	if (pipe(pfd) != 0)
		return -1;
	snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
	argv[a++] = VR_IVSHMEM_SERVER;
	argv[a++] = "-S";
	argv[a++] = sock;
	argv[a++] = "--ready-fd";
	argv[a++] = fdarg;
	for (i = 0; args && args[i] && a < 46; i++)
		argv[a++] = args[i];
	argv[a] = NULL;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		close(pfd[0]);
		execv(VR_IVSHMEM_SERVER, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	pf.fd = pfd[0];
	pf.events = POLLIN;
	pf.revents = 0;
	if (poll(&pf, 1, 10000) != 1 || read(pfd[0], buf, sizeof(buf)) != 6 ||
	    memcmp(buf, "ready\n", 6) != 0) {
		close(pfd[0]);
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
		return -1;
	}
	close(pfd[0]);
	return 0;
}

/* SIGTERM and reap: the exit status (0 expected), or -1. */
static inline int fx_server_stop(struct fx_server *s)
{
	int st = 0;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	if (waitpid(s->pid, &st, 0) != s->pid)
		return -1;
	s->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run the server to completion with @argv (NULL ended, without the
 * program name), stderr to /dev/null: its exit status, or -1. */
static inline int fx_server_run(const char *const *args)
{
	const char *argv[32];
	int a = 0, st;
	pid_t pid;

	argv[a++] = VR_IVSHMEM_SERVER;
	while (args[a - 1] && a < 31) {
		argv[a] = args[a - 1];
		a++;
	}
	argv[a] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);

		if (nul >= 0)
			dup2(nul, 2);
		execv(VR_IVSHMEM_SERVER, (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- Message contents ------------------------------------------------------- */

/* Length of message @seq: 8 .. @max bytes, varied. */
static inline uint32_t fx_len(uint32_t seq, uint32_t max)
{
	return 8 + (uint32_t)(((uint64_t)seq * 2654435761u) >> 7) % (max - 7);
}

static inline uint8_t fx_byte(uint32_t seq, uint32_t i, uint32_t salt)
{
	uint32_t x = seq * 0x9e3779b1u ^ (i + salt) * 0x85ebca6bu;

	x ^= x >> 15;
	return (uint8_t)(x * 0xc2b2ae35u >> 24);
}

/* Fill @buf with message @seq of direction @salt; its length. */
static inline uint32_t fx_fill(uint8_t *buf, uint32_t seq, uint32_t max, uint32_t salt)
{
	uint32_t len = fx_len(seq, max), i;

	memcpy(buf, &seq, 4);
	memcpy(buf + 4, &len, 4);
	for (i = 8; i < len; i++)
		buf[i] = fx_byte(seq, i, salt);
	return len;
}

/* The seq of a received message whose every byte is right, or -1. */
static inline int64_t fx_check(const uint8_t *buf, int len, uint32_t max, uint32_t salt)
{
	uint32_t seq, l, i;

	if (len < 8)
		return -1;
	memcpy(&seq, buf, 4);
	memcpy(&l, buf + 4, 4);
	if (l != (uint32_t)len || l != fx_len(seq, max))
		return -1;
	for (i = 8; i < l; i++)
		if (buf[i] != fx_byte(seq, i, salt))
			return -1;
	return seq;
}

/* A two-queue region config of @format. */
static inline void fx_region(struct vr_region_cfg *rc, uint32_t format, uint32_t qsize,
			     uint32_t buf_bytes, uint32_t buf_count)
{
	memset(rc, 0, sizeof(*rc));
	rc->queue_count = 2;
	rc->queue[0].size = rc->queue[1].size = qsize;
	rc->queue[0].format = rc->queue[1].format = format;
	rc->buf_bytes = buf_bytes;
	rc->buf_count = buf_count;
	rc->device_features = VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_EVENT_IDX) |
		VR_FEATURE(VR_F_INDIRECT_DESC) | VR_FEATURE(VR_F_RING_RESET) |
		(format == VR_FORMAT_PACKED ? VR_FEATURE(VR_F_RING_PACKED) : 0);
}

#endif /* VR_TEST_IVSHMEM_FIXTURE_H */
