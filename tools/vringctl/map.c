/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl: the region argument, the read-only mapping, and the one-time
 * copy every read-only command works on.
 *
 * A named object or a file cannot be sealed, so its owner may shrink it
 * while we read: touching a page past the new end raises SIGBUS. The copy
 * is the only code that touches the mapping, and it runs under a SIGBUS
 * handler that jumps back out and reports the region as shrunk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vringctl.h"

/* ---- The region argument ---------------------------------------------- */

static int shm_name(const char *cmd, const char *arg, const char *name,
		    struct vc_target *t)
{
	if (!*name || strchr(name, '/') || strlen(name) > NAME_MAX) {
		vc_err(cmd, "\"%s\": a shared memory name is 1..%d characters "
			    "without '/'", arg, NAME_MAX);
		return VC_EXIT_USAGE;
	}
	t->kind = VC_RK_SHM;
	snprintf(t->path, sizeof(t->path), "/%s", name);
	return 0;
}

/* Find the memfd named "libvring" that process @pid holds. */
static int find_memfd(const char *cmd, const char *arg, long pid, struct vc_target *t)
{
	char dir[64], link[PATH_MAX + 1], path[96];
	struct dirent *e;
	long best = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
	d = opendir(dir);
	if (!d) {
		vc_err(cmd, "%s: cannot list %s: %s", arg, dir, strerror(errno));
		return VC_EXIT_REGION;
	}
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		ssize_t n;

		if (*end || end == e->d_name)
			continue;
		snprintf(path, sizeof(path), "%s/%ld", dir, fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		/* memfd_create("libvring", ...) shows as "/memfd:libvring
		 * (deleted)". */
		if (strncmp(link, "/memfd:libvring", 15) == 0 &&
		    (link[15] == '\0' || link[15] == ' ') && (best < 0 || fd < best))
			best = fd;
	}
	closedir(d);
	if (best < 0) {
		vc_err(cmd, "%s: process %ld holds no libvring memfd", arg, pid);
		return VC_EXIT_REGION;
	}
	t->kind = VC_RK_PID;
	snprintf(t->path, sizeof(t->path), "%s/%ld", dir, best);
	return 0;
}

int vc_target_parse(const char *cmd, const char *arg, struct vc_target *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->shown, sizeof(t->shown), "%s", arg);
	if (!*arg) {
		vc_err(cmd, "empty region argument");
		return VC_EXIT_USAGE;
	}
	if (strlen(arg) >= sizeof(t->path)) {
		vc_err(cmd, "region argument too long");
		return VC_EXIT_USAGE;
	}
	if (strncmp(arg, "shm:", 4) == 0)
		return shm_name(cmd, arg, arg + 4, t);
	if (strncmp(arg, "pid:", 4) == 0) {
		char *end;
		long pid = strtol(arg + 4, &end, 10);

		if (end == arg + 4 || *end || pid <= 0) {
			vc_err(cmd, "\"%s\": pid:PID needs a process id", arg);
			return VC_EXIT_USAGE;
		}
		return find_memfd(cmd, arg, pid, t);
	}
	if (strchr(arg, '/')) {
		t->kind = VC_RK_FILE;
		snprintf(t->path, sizeof(t->path), "%s", arg);
		return 0;
	}
	return shm_name(cmd, arg, arg, t);
}

/* ---- Read-only mapping ------------------------------------------------------ */

int vc_region_open(const char *cmd, const struct vc_target *t, struct vc_region *r)
{
	struct stat st;
	void *m;

	memset(r, 0, sizeof(*r));
	r->t = *t;
	r->fd = -1;
	if (t->kind == VC_RK_SHM)
		r->fd = shm_open(t->path, O_RDONLY, 0);
	else
		r->fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (r->fd < 0) {
		vc_err(cmd, "%s: %s", t->shown, strerror(errno));
		return VC_EXIT_REGION;
	}
	if (fstat(r->fd, &st) != 0) {
		vc_err(cmd, "%s: fstat: %s", t->shown, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		vc_err(cmd, "%s: not a regular file or shared memory object",
		       t->shown);
		goto fail;
	}
	r->file_bytes = (uint64_t)st.st_size;
	r->map_len = (size_t)(r->file_bytes < VC_MAX_COPY ? r->file_bytes : VC_MAX_COPY);
	if (r->map_len == 0)
		return 0;
	m = mmap(NULL, r->map_len, PROT_READ, MAP_SHARED, r->fd, 0);
	if (m == MAP_FAILED) {
		vc_err(cmd, "%s: mmap: %s", t->shown, strerror(errno));
		goto fail;
	}
	r->map = (const unsigned char *)m;
	return 0;
fail:
	close(r->fd);
	r->fd = -1;
	return VC_EXIT_REGION;
}

void vc_region_close(struct vc_region *r)
{
	if (r->map)
		munmap((void *)(uintptr_t)r->map, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	r->map = NULL;
	r->fd = -1;
}

/* ---- The copy -------------------------------------------------------------------- */

static sigjmp_buf *volatile guard_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	if (guard_jmp)
		siglongjmp(*guard_jmp, 1);
	/* Not ours: die as the default action would. */
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

/* memcpy from the shared mapping; -1 if the file shrank under it. */
static int guarded_copy(void *dst, const void *src, size_t n)
{
	struct sigaction sa, old;
	sigjmp_buf jb;
	int rc = 0;

	if (n == 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(jb, 1) == 0) {
		guard_jmp = &jb;
		memcpy(dst, src, n);
	} else {
		rc = -1;
	}
	guard_jmp = NULL;
	sigaction(SIGBUS, &old, NULL);
	return rc;
}

static int shrank(const char *cmd, const struct vc_region *r)
{
	vc_err(cmd, "%s: the region shrank while being read", r->t.shown);
	return VC_EXIT_REGION;
}

/* Copy [off, off + n) of the region, already bounded by s->len. */
static int copy_range(const struct vc_region *r, struct vc_snap *s, uint64_t off,
		      uint64_t n)
{
	if (off > s->len || n > s->len - off)
		return 0; /* the parse refuses such a header anyway */
	return guarded_copy(s->buf + off, r->map + off, (size_t)n);
}

int vc_snapshot(const char *cmd, const struct vc_region *r, int mode,
		struct vc_snap *s)
{
	unsigned char head[VR_REGION_HEADER_BYTES];
	uint64_t want, alloc;
	size_t hlen = r->map_len < sizeof(head) ? r->map_len : sizeof(head);
	uint32_t i;

	memset(s, 0, sizeof(*s));
	s->file_bytes = r->file_bytes;
	memset(head, 0, sizeof(head));
	if (guarded_copy(head, r->map, hlen) != 0)
		return shrank(cmd, r);
	/* How much stands for the region: what its header states, never
	 * more than the file. A header that states less than the header
	 * page gets the page (the parse then says what is wrong). */
	s->stated = vc_rd64(head + VR_RH_REGION_BYTES);
	want = s->stated < r->file_bytes ? s->stated : r->file_bytes;
	if (want < VR_REGION_HEADER_BYTES)
		want = r->file_bytes < VR_REGION_HEADER_BYTES ? r->file_bytes
							      : VR_REGION_HEADER_BYTES;
	if (want > VC_MAX_COPY) {
		vc_err(cmd, "%s: the region states %llu bytes; vringctl reads at "
			    "most %llu", r->t.shown, (unsigned long long)want,
		       (unsigned long long)VC_MAX_COPY);
		return VC_EXIT_REGION;
	}
	s->len = (size_t)want;
	alloc = want < VR_REGION_HEADER_BYTES ? VR_REGION_HEADER_BYTES : want;
	alloc = (alloc + VR_REGION_ALIGN - 1) & ~(uint64_t)(VR_REGION_ALIGN - 1);
	s->buf = aligned_alloc(VR_REGION_ALIGN, (size_t)alloc);
	if (!s->buf) {
		vc_err(cmd, "%s: out of memory for a %llu-byte copy", r->t.shown,
		       (unsigned long long)alloc);
		return VC_EXIT_REGION;
	}
	if (mode == VC_SNAP_FULL) {
		memset(s->buf + s->len, 0, (size_t)alloc - s->len);
		if (guarded_copy(s->buf, r->map, s->len) != 0) {
			vc_snap_free(s);
			return shrank(cmd, r);
		}
		s->parse_err = vr_region_parse(s->buf, s->len, &s->info);
	} else {
		/* The header, parsed; then only what watch reads. */
		memset(s->buf, 0, (size_t)alloc);
		if (guarded_copy(s->buf, r->map, s->len < hlen ? s->len : hlen) != 0) {
			vc_snap_free(s);
			return shrank(cmd, r);
		}
		s->parse_err = vr_region_parse(s->buf, s->len, &s->info);
		for (i = 0; s->parse_err == 0 && i < s->info.queue_count; i++) {
			const struct vr_region_queue *q = &s->info.queue[i];
			bool split = q->format == VR_FORMAT_SPLIT;
			uint64_t dsz = 16ull * q->size;
			uint64_t drv = split ? vr_split_avail_bytes(q->size) : 4;
			uint64_t dev = split ? vr_split_used_bytes(q->size) : 4;

			if (copy_range(r, s, q->desc_off, dsz) ||
			    copy_range(r, s, q->driver_off, drv) ||
			    copy_range(r, s, q->device_off, dev)) {
				vc_snap_free(s);
				return shrank(cmd, r);
			}
		}
		if (s->parse_err == 0 && s->info.stats_off &&
		    copy_range(r, s, s->info.stats_off,
			       VR_REGION_STATS_BYTES(s->info.queue_count))) {
			vc_snap_free(s);
			return shrank(cmd, r);
		}
	}
	if (s->len >= VR_RH_REGION_BYTES + 8)
		s->stated = vc_rd64(s->buf + VR_RH_REGION_BYTES);
	return 0;
}

int vc_read_header(const struct vc_region *r, unsigned char head[VR_REGION_HEADER_BYTES])
{
	size_t n = r->map_len < VR_REGION_HEADER_BYTES ? r->map_len : VR_REGION_HEADER_BYTES;

	memset(head, 0, VR_REGION_HEADER_BYTES);
	return guarded_copy(head, r->map, n);
}

void vc_snap_free(struct vc_snap *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = 0;
}

int vc_open_snapshot(const char *cmd, const char *arg, struct vc_target *t,
		     struct vc_region *r, struct vc_snap *s)
{
	int rc = vc_target_parse(cmd, arg, t);

	if (rc)
		return rc;
	rc = vc_region_open(cmd, t, r);
	if (rc)
		return rc;
	rc = vc_snapshot(cmd, r, VC_SNAP_FULL, s);
	if (rc)
		vc_region_close(r);
	return rc;
}
