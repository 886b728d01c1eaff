/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the two-process tests and vr_peer (see common.h). */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- Message contents ----------------------------------------------------- */

static inline void put_le64(unsigned char *p, uint64_t w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &w, 8);
#else
	unsigned i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(w >> (8 * i));
#endif
}

static inline uint64_t get_le64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
#else
	uint64_t w = 0;
	unsigned i;

	for (i = 0; i < 8; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
#endif
}

/* The first @n (< 8) bytes of a little-endian word. */
static inline uint64_t get_tail(const unsigned char *p, uint32_t n)
{
	uint64_t w = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

static inline uint64_t tail_mask(uint32_t n)
{
	return n >= 8 ? ~0ull : (1ull << (8 * n)) - 1;
}

uint64_t pc_fill(void *dst, uint64_t seed, uint32_t seq, uint32_t len)
{
	unsigned char *p = (unsigned char *)dst;
	uint64_t key = pc_key(seed, seq), h = pc_mix(len), w;
	uint32_t k, full = len / 8, tail = len % 8, i;

	for (k = 0; k < full; k++) {
		w = pc_word(key, seq, k);
		put_le64(p + 8 * k, w);
		h = pc_hstep(h, w);
	}
	if (tail) {
		w = pc_word(key, seq, full) & tail_mask(tail);
		for (i = 0; i < tail; i++)
			p[8 * full + i] = (unsigned char)(w >> (8 * i));
		h = pc_hstep(h, w);
	}
	return pc_mix(h);
}

uint64_t pc_check(const void *src, uint64_t seed, uint32_t seq, uint32_t len,
		  uint32_t *bad)
{
	const unsigned char *p = (const unsigned char *)src;
	uint64_t key = pc_key(seed, seq), h = pc_mix(len), w, want;
	uint32_t k, full = len / 8, tail = len % 8, i;

	*bad = UINT32_MAX;
	for (k = 0; k < full; k++) {
		w = get_le64(p + 8 * k);
		want = pc_word(key, seq, k);
		if (w != want && *bad == UINT32_MAX) {
			for (i = 0; i < 8 && ((w ^ want) >> (8 * i) & 0xff) == 0; i++)
				;
			*bad = 8 * k + i;
		}
		h = pc_hstep(h, w);
	}
	if (tail) {
		w = get_tail(p + 8 * full, tail);
		want = pc_word(key, seq, full) & tail_mask(tail);
		if (w != want && *bad == UINT32_MAX) {
			for (i = 0; i < tail && ((w ^ want) >> (8 * i) & 0xff) == 0; i++)
				;
			*bad = 8 * full + i;
		}
		h = pc_hstep(h, w);
	}
	return pc_mix(h);
}

uint32_t pc_seq_of(const void *src)
{
	return (uint32_t)get_tail((const unsigned char *)src, 4);
}

/* ---- Region -------------------------------------------------------------------- */

void pc_region_cfg(struct vr_region_cfg *rc, uint32_t format, uint32_t qsize,
		   uint32_t buf_bytes, uint32_t buf_count)
{
	memset(rc, 0, sizeof(*rc));
	rc->queue_count = 2;
	rc->queue[0].size = rc->queue[1].size = qsize;
	rc->queue[0].format = rc->queue[1].format = format;
	rc->buf_bytes = buf_bytes;
	rc->buf_count = buf_count;
	rc->device_features = PC_OFFERED;
}

/* ---- Time, environment ----------------------------------------------------- */

uint64_t pc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * PC_SEC + (uint64_t)ts.tv_nsec;
}

void pc_sleep_ns(uint64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / PC_SEC);
	ts.tv_nsec = (long)(ns % PC_SEC);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

uint64_t pc_env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return def;
	return v;
}

uint32_t pc_messages(void)
{
	uint64_t n = pc_env_u64("VR_PROCESS_MESSAGES", 1000000);

	return n == 0 || n > 0x7fffffffu ? 1000000 : (uint32_t)n;
}

uint32_t pc_kill_messages(void)
{
	uint32_t n = pc_messages() / 4;

	return n < 2000 ? 2000 : n;
}

/* ---- Processes --------------------------------------------------------------- */

pid_t pc_spawn(const char *path, char *const argv[])
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid < 0 ? -1 : pid;
	/* Child: only async-signal-safe calls until exec (the parent may
	 * have threads). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(126);
	execv(path, argv);
	_exit(127);
}

int pc_wait(pid_t pid, uint64_t timeout_ns, int *status)
{
	uint64_t end = pc_now_ns() + timeout_ns;
	uint64_t nap = 100000; /* 0.1 ms, growing to 5 ms */

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (pc_now_ns() >= end)
			return -1;
		pc_sleep_ns(nap);
		if (nap < 5 * PC_MS)
			nap *= 2;
	}
}

void pc_kill_reap(pid_t *pid)
{
	int st;

	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	while (waitpid(*pid, &st, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}

const char *pc_status_str(int status, char *buf, size_t cap)
{
	if (WIFEXITED(status))
		snprintf(buf, cap, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, cap, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, cap, "status 0x%x", (unsigned)status);
	return buf;
}

/* ---- Files --------------------------------------------------------------------- */

int pc_mkdtemp(char *buf, size_t cap, const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	/* A unix socket path must fit in 108 bytes: fall back to /tmp when
	 * TMPDIR is long. */
	if (!tmp || !*tmp || strlen(tmp) > 48)
		tmp = "/tmp";
	n = snprintf(buf, cap, "%s/vr-%s.XXXXXX", tmp, tag);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return mkdtemp(buf) ? 0 : -1;
}

void pc_rmdir_all(const char *dir)
{
	DIR *d;
	struct dirent *e;
	char path[512];

	if (!dir || !*dir)
		return;
	d = opendir(dir);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) <
			    (int)sizeof(path))
				unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

int pc_read_u32_file(const char *path, uint32_t **out, size_t *n)
{
	struct stat st;
	uint32_t *v;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -1; /* a peer that logged nothing */
	if (fstat(fd, &st) != 0 || st.st_size % 4 != 0) {
		close(fd);
		return -1;
	}
	v = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!v) {
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, (char *)v + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(v);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	*out = v;
	*n = got / 4;
	return 0;
}
