/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host shared-memory transport between real processes: fork()ed
 * listener and connector over a memfd, a named shm object and a file;
 * doorbells both ways on every queue; timeouts; kill -9 of either end and
 * reconnect to the same region; heartbeat liveness in polling mode; a third
 * process refused while a peer is attached; another uid refused.
 *
 * Every child is forked at the start of its test, before the parent starts
 * any transport thread (a fork of a threaded process is not something to
 * rely on, and ThreadSanitizer refuses it), and waits on a gate pipe until
 * the parent lets it go. Children report through their exit status and
 * die by alarm() if anything hangs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vring/shm.h>

#define SEC 1000000000ull
#define MS 1000000ull

/* ---- Fixture: a private directory, children to reap ---------------------- */

struct kid {
	pid_t pid;
	int gate; /* write end: one byte lets the child go */
};

struct fx {
	char dir[64];
	char sock[128];
	char file[128];
	char shm_name[64];
	struct kid kids[4];
	int nkids;
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/vrshm.XXXXXX");
	if (!mkdtemp(f.dir))
		return -1;
	snprintf(f.sock, sizeof(f.sock), "%s/sock", f.dir);
	snprintf(f.file, sizeof(f.file), "%s/region", f.dir);
	snprintf(f.shm_name, sizeof(f.shm_name), "/vrshm-test-%ld", (long)getpid());
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = (struct fx *)*state;
	DIR *d;
	struct dirent *e;
	int i;

	for (i = 0; i < f->nkids; i++) {
		if (f->kids[i].pid > 0) {
			kill(f->kids[i].pid, SIGKILL);
			waitpid(f->kids[i].pid, NULL, 0);
		}
		if (f->kids[i].gate >= 0)
			close(f->kids[i].gate);
	}
	shm_unlink(f->shm_name);
	d = opendir(f->dir);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			char p[512];

			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(f->dir);
	return 0;
}

/* In a child: no cmocka, just a message and an exit status. */
#define CHK(c)                                                                 \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "child %ld: %s:%d: %s\n", (long)getpid(), \
				__FILE__, __LINE__, #c);                       \
			_exit(100);                                            \
		}                                                              \
	} while (0)

typedef int (*child_fn)(struct fx *f, void *arg);

/* Fork a child that runs @fn once the parent calls go(). */
static int spawn(struct fx *f, child_fn fn, void *arg)
{
	int p[2], k = f->nkids;
	pid_t pid;

	assert_true(k < 4);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;

		alarm(15);
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(99); /* the parent gave up */
		close(p[0]);
		_exit(fn(f, arg));
	}
	close(p[0]);
	f->kids[k].pid = pid;
	f->kids[k].gate = p[1];
	f->nkids++;
	return k;
}

static void go(struct fx *f, int k)
{
	assert_int_equal(write(f->kids[k].gate, "g", 1), 1);
}

/* Exit status of child @k (waits for it). */
static int reap(struct fx *f, int k)
{
	int st = 0;

	assert_int_equal(waitpid(f->kids[k].pid, &st, 0), f->kids[k].pid);
	f->kids[k].pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void kill9(struct fx *f, int k)
{
	assert_int_equal(kill(f->kids[k].pid, SIGKILL), 0);
	assert_int_equal(reap(f, k), 128 + SIGKILL);
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void base_cfg(struct vr_shm_cfg *c, struct fx *f, uint32_t backing,
		     uint32_t flags)
{
	memset(c, 0, sizeof(*c));
	c->region.queue_count = 3;
	c->region.queue[0].size = 64;
	c->region.queue[0].format = VR_FORMAT_SPLIT;
	c->region.queue[1].size = 64;
	c->region.queue[1].format = VR_FORMAT_PACKED;
	c->region.queue[2].size = 8;
	c->region.queue[2].format = VR_FORMAT_SPLIT;
	c->region.buf_bytes = 256;
	c->region.buf_count = 16;
	c->backing = backing;
	c->flags = flags | VR_SHM_UNLINK_BACKING;
	c->path = backing == VR_SHM_NAMED ? f->shm_name : f->file;
	c->socket_path = f->sock;
	/* The heartbeat is watched in every mode: a timeout no loaded machine
	 * reaches with a living peer (tests of the heartbeat set their own). */
	c->liveness_timeout_ns = 1000 * MS;
}

/* Pool buffer @i of an attached end. */
static unsigned char *buf(struct vr_shm *s, uint32_t i)
{
	const struct vr_region_info *in = vr_shm_info(s);

	return (unsigned char *)s->t.region + vr_region_buf_addr(in, i);
}

static atomic_uint *flag(struct vr_shm *s)
{
	return (atomic_uint *)(void *)buf(s, 15);
}

static void fill(unsigned char *p, unsigned char seed)
{
	unsigned i;

	for (i = 0; i < 256; i++)
		p[i] = (unsigned char)(seed ^ i);
}

static bool same(const unsigned char *p, unsigned char seed)
{
	unsigned i;

	for (i = 0; i < 256; i++)
		if (p[i] != (unsigned char)(seed ^ i))
			return false;
	return true;
}

static int wait_(struct vr_shm *s, uint32_t q, uint64_t ns)
{
	return s->t.ops->wait(&s->t, q, ns);
}

static int notify_(struct vr_shm *s, uint32_t q)
{
	return s->t.ops->notify(&s->t, q);
}

static int peer_(struct vr_shm *s)
{
	return s->t.ops->peer_state(&s->t);
}

/* Polling mode: wait for the flag word to reach @v, using wait() as the
 * pause between looks. */
static int poll_flag(struct vr_shm *s, unsigned v, uint64_t timeout)
{
	uint64_t end = now_ns() + timeout;

	while (atomic_load(flag(s)) != v) {
		int rc = wait_(s, 0, MS);

		if (rc < 0 && rc != VR_ETIMEDOUT)
			return rc;
		if (now_ns() > end)
			return VR_ETIMEDOUT;
	}
	return 0;
}

/* ---- One listener, one connector, every backing ----------------------------- */

struct pair_arg {
	uint32_t polling;
};

static int pair_child(struct fx *f, void *arg)
{
	struct pair_arg *a = (struct pair_arg *)arg;
	struct vr_shm s;
	uint32_t q;
	uint64_t t0;
	int rc;

	rc = vr_shm_connect(&s, f->sock, 5 * SEC);
	if (rc)
		fprintf(stderr, "connect: %s\n", vr_shm_last_error(&s));
	CHK(rc == 0);
	CHK(s.t.role == VR_ROLE_DEVICE);
	CHK(!!(s.t.flags & VR_TRANSPORT_POLLING) == !!a->polling);
	CHK(vr_shm_info(&s)->queue_count == 3);
	CHK(vr_shm_info(&s)->generation == 1);
	CHK(vr_shm_peer_pid(&s) == (int)getppid());
	CHK(peer_(&s) == VR_PEER_ALIVE);
	/* The parent's bytes, then ours for it. */
	CHK(same(buf(&s, 0), 0xa5));
	fill(buf(&s, 1), 0x5a);
	if (a->polling) {
		CHK(notify_(&s, 0) == 0);
		atomic_store(flag(&s), 1);
		CHK(poll_flag(&s, 2, 5 * SEC) == 0);
		CHK(wait_(&s, 0, 0) == VR_ETIMEDOUT);
	} else {
		for (q = 0; q < 3; q++) {
			/* device -> driver on q, then driver -> device on q */
			CHK(notify_(&s, q) == 0);
			CHK(wait_(&s, q, 5 * SEC) == 0);
		}
		/* Nothing rung: the timeout is honoured. */
		t0 = now_ns();
		CHK(wait_(&s, 1, 30 * MS) == VR_ETIMEDOUT);
		CHK(now_ns() - t0 >= 30 * MS && now_ns() - t0 < 1000 * MS);
	}
	CHK(wait_(&s, 3, 0) == VR_EINVAL);
	CHK(notify_(&s, 3) == VR_EINVAL);
	vr_shm_close(&s);
	return 0;
}

static void run_pair(struct fx *f, uint32_t backing, uint32_t polling)
{
	struct pair_arg a = {polling};
	struct vr_shm_cfg c;
	struct vr_shm s;
	uint64_t t0;
	uint32_t q;
	int k, rc;

	k = spawn(f, pair_child, &a);
	base_cfg(&c, f, backing, polling ? VR_SHM_POLLING : 0);
	rc = vr_shm_listen(&s, &c);
	if (rc)
		print_error("listen: %s\n", vr_shm_last_error(&s));
	assert_int_equal(rc, 0);
	assert_int_equal(s.t.role, VR_ROLE_DRIVER);
	assert_int_equal(peer_(&s), VR_PEER_WAITING);
	fill(buf(&s, 0), 0xa5);
	go(f, k);
	rc = vr_shm_accept(&s, 5 * SEC);
	if (rc)
		print_error("accept: %s\n", vr_shm_last_error(&s));
	assert_int_equal(rc, 0);
	assert_int_equal(peer_(&s), VR_PEER_ALIVE);
	assert_int_equal(vr_shm_peer_pid(&s), f->kids[k].pid);
	assert_int_equal(vr_region_load(s.t.region, VR_RH_GENERATION), 1);
	/* A second accept while the peer lives is a caller mistake. */
	assert_int_equal(vr_shm_accept(&s, 0), VR_ESTATE);
	if (polling) {
		assert_int_equal(poll_flag(&s, 1, 5 * SEC), 0);
		assert_true(same(buf(&s, 1), 0x5a));
		assert_int_equal(notify_(&s, 2), 0);
		t0 = now_ns();
		/* Polling wait: brief sleeps, ETIMEDOUT only for tiny timeouts. */
		assert_int_equal(wait_(&s, 0, 20000), VR_ETIMEDOUT);
		assert_int_equal(wait_(&s, 0, SEC), 0);
		assert_true(now_ns() - t0 < 200 * MS);
		atomic_store(flag(&s), 2);
	} else {
		for (q = 0; q < 3; q++) {
			assert_int_equal(wait_(&s, q, 5 * SEC), 0);
			if (q == 0)
				assert_true(same(buf(&s, 1), 0x5a));
			assert_int_equal(notify_(&s, q), 0);
		}
		t0 = now_ns();
		assert_int_equal(wait_(&s, 2, 20 * MS), VR_ETIMEDOUT);
		assert_true(now_ns() - t0 >= 20 * MS);
	}
	assert_int_equal(reap(f, k), 0);
	/* The child closed cleanly: its end hung up. */
	t0 = now_ns();
	while (peer_(&s) == VR_PEER_ALIVE && now_ns() - t0 < 2 * SEC)
		sleep_ms(1);
	assert_int_equal(peer_(&s), VR_EPEERDEAD);
	assert_string_equal(vr_shm_peer_error(&s), "socket hang-up");
	assert_int_equal(notify_(&s, 0), VR_EPEERDEAD);
	vr_shm_close(&s);
	vr_shm_close(&s); /* idempotent */
	/* The listener cleaned up after itself. */
	assert_int_equal(access(f->sock, F_OK), -1);
	assert_int_equal(access(f->file, F_OK), -1);
}

static void test_pair_memfd(void **state)
{
	run_pair((struct fx *)*state, VR_SHM_MEMFD, 0);
}

/* A named object or a file cannot be sealed, and a connector accepts only
 * a sealed memfd over the socket: the listener refuses the combination
 * (they are for vr_shm_open() peers, tested below) and creates nothing. */
static void refused_with_socket(struct fx *f, uint32_t backing)
{
	struct vr_shm_cfg c;
	struct vr_shm s;

	base_cfg(&c, f, backing, 0);
	assert_int_equal(vr_shm_listen(&s, &c), VR_EINVAL);
	assert_non_null(strstr(vr_shm_last_error(&s), "sealed memfd"));
	assert_int_equal(access(f->sock, F_OK), -1);
	assert_int_equal(access(f->file, F_OK), -1);
	assert_int_equal(shm_unlink(f->shm_name), -1);
}

static void test_pair_named(void **state)
{
	refused_with_socket((struct fx *)*state, VR_SHM_NAMED);
}

static void test_pair_file(void **state)
{
	refused_with_socket((struct fx *)*state, VR_SHM_FILE);
}

static int open_retry(struct vr_shm *s, uint32_t backing, const char *path,
		      const struct vr_shm_peer_cfg *pc);

/* A device on a hugetlbfs file: maps it whole, sees the driver's bytes. */
static int huge_child(struct fx *f, void *arg)
{
	struct vr_shm s;

	(void)arg;
	CHK(open_retry(&s, VR_SHM_FILE, f->file, NULL) == 0);
	while (!same(buf(&s, 0), 0xa5))
		sleep_ms(1);
	fill(buf(&s, 1), 0x5a);
	atomic_store(flag(&s), 1);
	CHK(poll_flag(&s, 2, 5 * SEC) == 0);
	vr_shm_close(&s);
	return 0;
}

static void test_pair_polling_socket(void **state)
{
	run_pair((struct fx *)*state, VR_SHM_MEMFD, 1);
}

/* hugetlbfs, where a mount with free huge pages exists: the file size is
 * rounded up to whole huge pages and both ends map it whole. */
static void test_pair_hugetlbfs(void **state)
{
	struct fx *f = (struct fx *)*state;
	char line[512], dir[96] = "";
	long free_pages = 0;
	FILE *m = fopen("/proc/mounts", "r");

	while (m && fgets(line, sizeof(line), m)) {
		char dev[128], mnt[96], type[64];

		if (sscanf(line, "%127s %95s %63s", dev, mnt, type) == 3 &&
		    strcmp(type, "hugetlbfs") == 0 && access(mnt, W_OK) == 0) {
			snprintf(dir, sizeof(dir), "%s", mnt);
			break;
		}
	}
	if (m)
		fclose(m);
	m = fopen("/proc/meminfo", "r");
	while (m && fgets(line, sizeof(line), m))
		if (sscanf(line, "HugePages_Free: %ld", &free_pages) == 1)
			break;
	if (m)
		fclose(m);
	if (!dir[0] || free_pages < 1) {
		skip();
		return;
	}
	snprintf(f->file, sizeof(f->file), "%s/vrshm-%ld", dir, (long)getpid());
	{
		struct vr_shm_cfg c;
		struct vr_shm s;
		int k = spawn(f, huge_child, NULL);

		/* No socket: a file is for vr_shm_open() peers. */
		base_cfg(&c, f, VR_SHM_FILE, VR_SHM_POLLING);
		c.socket_path = NULL;
		assert_int_equal(vr_shm_listen(&s, &c), 0);
		/* Whole huge pages: more than the region needs. */
		assert_true(s.t.region_len >= vr_shm_info(&s)->region_bytes);
		fill(buf(&s, 0), 0xa5);
		go(f, k);
		assert_int_equal(vr_shm_accept(&s, 5 * SEC), 0);
		assert_int_equal(poll_flag(&s, 1, 5 * SEC), 0);
		assert_true(same(buf(&s, 1), 0x5a));
		atomic_store(flag(&s), 2);
		assert_int_equal(reap(f, k), 0);
		vr_shm_close(&s);
	}
}

/* ---- kill -9 of the connector, then a new one on the same region ----------- */

static int attach_and_sleep(struct fx *f, void *arg)
{
	struct vr_shm s;

	(void)arg;
	CHK(vr_shm_connect(&s, f->sock, 5 * SEC) == 0);
	fill(buf(&s, 2), 0x33);
	CHK(notify_(&s, 0) == 0);
	sleep_forever();
	return 1;
}

static int reattach_child(struct fx *f, void *arg)
{
	struct vr_shm s;

	(void)arg;
	CHK(vr_shm_connect(&s, f->sock, 5 * SEC) == 0);
	/* Same region: the first device's bytes and the driver's are there. */
	CHK(same(buf(&s, 2), 0x33));
	CHK(same(buf(&s, 0), 0x77));
	/* The death and the new attach each moved it. */
	CHK(vr_shm_info(&s)->generation == 3);
	CHK(notify_(&s, 1) == 0);
	CHK(wait_(&s, 1, 5 * SEC) == 0);
	vr_shm_close(&s);
	return 0;
}

static void test_connector_killed_reconnect(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm_cfg c;
	struct vr_shm s;
	int k1, k2, rc;
	uint64_t t0, dt;

	k1 = spawn(f, attach_and_sleep, NULL);
	k2 = spawn(f, reattach_child, NULL);
	base_cfg(&c, f, VR_SHM_MEMFD, 0);
	assert_int_equal(vr_shm_listen(&s, &c), 0);
	go(f, k1);
	assert_int_equal(vr_shm_accept(&s, 5 * SEC), 0);
	assert_int_equal(wait_(&s, 0, 5 * SEC), 0);
	assert_true(same(buf(&s, 2), 0x33));

	kill9(f, k1);
	t0 = now_ns();
	/* A blocked wait returns at once... */
	rc = wait_(&s, 0, 5 * SEC);
	dt = now_ns() - t0;
	assert_int_equal(rc, VR_EPEERDEAD);
	assert_true(dt < SEC);
	/* ...and so does everything after. */
	assert_int_equal(peer_(&s), VR_EPEERDEAD);
	assert_int_equal(notify_(&s, 0), VR_EPEERDEAD);
	assert_int_equal(wait_(&s, 1, SEC), VR_EPEERDEAD);
	assert_string_equal(vr_shm_peer_error(&s), "socket hang-up");

	/* A new device, same region, next generation. */
	fill(buf(&s, 0), 0x77);
	go(f, k2);
	rc = vr_shm_accept(&s, 5 * SEC);
	if (rc)
		print_error("accept: %s\n", vr_shm_last_error(&s));
	assert_int_equal(rc, 0);
	/* Moved when the first was declared dead, and for the new one. */
	assert_int_equal(vr_region_load(s.t.region, VR_RH_GENERATION), 3);
	assert_int_equal(peer_(&s), VR_PEER_ALIVE);
	assert_string_equal(vr_shm_peer_error(&s), "");
	assert_int_equal(wait_(&s, 1, 5 * SEC), 0);
	assert_int_equal(notify_(&s, 1), 0);
	assert_int_equal(reap(f, k2), 0);
	vr_shm_close(&s);
}

/* A restarted device knocks before anyone on the listener side asked about
 * the old one: it is not refused as "busy", it waits for vr_shm_accept. */
static void test_restart_before_noticed(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm_cfg c;
	struct vr_shm s;
	int k1, k2, rc;

	k1 = spawn(f, attach_and_sleep, NULL);
	k2 = spawn(f, reattach_child, NULL);
	base_cfg(&c, f, VR_SHM_MEMFD, 0);
	assert_int_equal(vr_shm_listen(&s, &c), 0);
	go(f, k1);
	assert_int_equal(vr_shm_accept(&s, 5 * SEC), 0);
	assert_int_equal(wait_(&s, 0, 5 * SEC), 0);
	fill(buf(&s, 0), 0x77);
	kill9(f, k1);
	go(f, k2);
	sleep_ms(200); /* k2 is connected and waiting for its HELLO */
	/* The watcher thread noticed the hang-up by itself. */
	assert_string_equal(vr_shm_peer_error(&s), "socket hang-up");
	assert_int_equal(peer_(&s), VR_EPEERDEAD);
	rc = vr_shm_accept(&s, 5 * SEC);
	if (rc)
		print_error("accept: %s\n", vr_shm_last_error(&s));
	assert_int_equal(rc, 0);
	assert_int_equal(wait_(&s, 1, 5 * SEC), 0);
	assert_int_equal(notify_(&s, 1), 0);
	assert_int_equal(reap(f, k2), 0);
	vr_shm_close(&s);
}

/* ---- kill -9 of the listener -------------------------------------------------- */

static int listen_and_sleep(struct fx *f, void *arg)
{
	struct vr_shm_cfg c;
	struct vr_shm s;

	base_cfg(&c, f, VR_SHM_MEMFD, 0);
	if (arg)
		c.flags |= VR_SHM_POLLING;
	CHK(vr_shm_listen(&s, &c) == 0);
	CHK(vr_shm_accept(&s, 5 * SEC) == 0);
	sleep_forever();
	return 1;
}

static void listener_killed(struct fx *f, bool polling)
{
	struct vr_shm s, s2;
	struct vr_shm_cfg c;
	uint64_t t0, dt;
	int k, rc;

	k = spawn(f, listen_and_sleep, polling ? f : NULL);
	go(f, k);
	/* Started together: connect retries until the listener is there. */
	rc = vr_shm_connect(&s, f->sock, 5 * SEC);
	if (rc)
		print_error("connect: %s\n", vr_shm_last_error(&s));
	assert_int_equal(rc, 0);
	assert_int_equal(peer_(&s), VR_PEER_ALIVE);
	/* Idle but alive: its heartbeat keeps it so. */
	sleep_ms(400);
	assert_int_equal(peer_(&s), VR_PEER_ALIVE);

	kill9(f, k);
	t0 = now_ns();
	do
		rc = wait_(&s, 0, 5 * SEC);
	while (rc >= 0 && now_ns() - t0 < 5 * SEC);
	dt = now_ns() - t0;
	assert_int_equal(rc, VR_EPEERDEAD);
	assert_true(dt < SEC);
	assert_int_equal(peer_(&s), VR_EPEERDEAD);
	assert_int_equal(notify_(&s, 0), VR_EPEERDEAD);
	vr_shm_close(&s);

	/* The dead listener's socket is stale: a new listener replaces it. */
	assert_int_equal(access(f->sock, F_OK), 0);
	base_cfg(&c, f, VR_SHM_MEMFD, 0);
	assert_int_equal(vr_shm_listen(&s2, &c), 0);
	vr_shm_close(&s2);
}

static void test_listener_killed(void **state)
{
	listener_killed((struct fx *)*state, false);
}

static void test_listener_killed_polling(void **state)
{
	listener_killed((struct fx *)*state, true);
}

/* ---- Polling without a socket: heartbeats only -------------------------------- */

static int file_listener_sleep(struct fx *f, void *arg)
{
	struct vr_shm_cfg c;
	struct vr_shm s;

	(void)arg;
	base_cfg(&c, f, VR_SHM_FILE, VR_SHM_POLLING);
	c.socket_path = NULL;
	CHK(vr_shm_listen(&s, &c) == 0);
	fill(buf(&s, 0), 0x42);
	CHK(vr_shm_accept(&s, 5 * SEC) == 0);
	sleep_forever();
	return 1;
}

/* Open until the listener has created and laid out the region. */
static int open_retry(struct vr_shm *s, uint32_t backing, const char *path,
		      const struct vr_shm_peer_cfg *pc)
{
	uint64_t t0 = now_ns();
	int rc;

	do {
		rc = vr_shm_open(s, backing, path, pc);
		if (rc == 0)
			return 0;
		sleep_ms(2);
	} while (now_ns() - t0 < 5 * SEC);
	return rc;
}

static void test_polling_listener_dies(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm_peer_cfg pc = {300 * MS, 10 * MS, 0};
	struct vr_shm s;
	uint64_t t0, dt;
	int k, rc;

	k = spawn(f, file_listener_sleep, NULL);
	go(f, k);
	rc = open_retry(&s, VR_SHM_FILE, f->file, &pc);
	if (rc)
		print_error("open: %s\n", vr_shm_last_error(&s));
	assert_int_equal(rc, 0);
	assert_true(s.t.flags & VR_TRANSPORT_POLLING);
	assert_int_equal(s.t.role, VR_ROLE_DEVICE);
	/* The listener may not have written its bytes yet at open. */
	t0 = now_ns();
	while (!same(buf(&s, 0), 0x42) && now_ns() - t0 < 2 * SEC)
		sleep_ms(1);
	assert_true(same(buf(&s, 0), 0x42));
	sleep_ms(500); /* longer than the liveness timeout */
	assert_int_equal(peer_(&s), VR_PEER_ALIVE);

	kill9(f, k);
	t0 = now_ns();
	do
		rc = wait_(&s, 0, SEC);
	while (rc >= 0 && now_ns() - t0 < 5 * SEC);
	dt = now_ns() - t0;
	assert_int_equal(rc, VR_EPEERDEAD);
	/* Liveness timeout plus a heartbeat period, plus margin. */
	assert_true(dt < 300 * MS + 400 * MS);
	assert_string_equal(vr_shm_peer_error(&s), "heartbeat stopped");
	vr_shm_close(&s);
}

static int file_listener_close(struct fx *f, void *arg)
{
	struct vr_shm_cfg c;
	struct vr_shm s;

	(void)arg;
	base_cfg(&c, f, VR_SHM_FILE, VR_SHM_POLLING);
	c.socket_path = NULL;
	c.flags &= ~(uint32_t)VR_SHM_UNLINK_BACKING;
	CHK(vr_shm_listen(&s, &c) == 0);
	CHK(vr_shm_accept(&s, 5 * SEC) == 0);
	sleep_ms(100);
	vr_shm_close(&s);
	sleep_forever();
	return 1;
}

/* A listener that closes (without a socket) tells its device at once. */
static void test_polling_listener_closes(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm_peer_cfg pc = {5 * SEC, 0, 0};
	struct vr_shm s;
	uint64_t t0;
	int k, rc;

	k = spawn(f, file_listener_close, NULL);
	go(f, k);
	assert_int_equal(open_retry(&s, VR_SHM_FILE, f->file, &pc), 0);
	t0 = now_ns();
	do
		rc = wait_(&s, 0, SEC);
	while (rc >= 0 && now_ns() - t0 < 5 * SEC);
	assert_int_equal(rc, VR_EPEERDEAD);
	/* Well before the 5 s liveness timeout. */
	assert_true(now_ns() - t0 < 2 * SEC);
	assert_string_equal(vr_shm_peer_error(&s), "region generation changed");
	vr_shm_close(&s);
}

static int named_opener(struct fx *f, void *arg)
{
	struct vr_shm s;

	CHK(open_retry(&s, VR_SHM_NAMED, f->shm_name, NULL) == 0);
	CHK(vr_shm_info(&s)->generation == (uint32_t)(uintptr_t)arg);
	if (arg) { /* the second one: exit cleanly after a while */
		sleep_ms(200);
		CHK(peer_(&s) == VR_PEER_ALIVE);
		vr_shm_close(&s);
		return 0;
	}
	sleep_forever();
	return 1;
}

static void test_polling_device_dies(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm_cfg c;
	struct vr_shm s;
	uint64_t t0, dt;
	int k1, k2, rc;

	k1 = spawn(f, named_opener, (void *)0);
	k2 = spawn(f, named_opener, (void *)1);
	base_cfg(&c, f, VR_SHM_NAMED, VR_SHM_POLLING);
	c.socket_path = NULL;
	c.liveness_timeout_ns = 300 * MS;
	assert_int_equal(vr_shm_listen(&s, &c), 0);
	go(f, k1);
	rc = vr_shm_accept(&s, 5 * SEC);
	if (rc)
		print_error("accept: %s\n", vr_shm_last_error(&s));
	assert_int_equal(rc, 0);
	sleep_ms(500);
	assert_int_equal(peer_(&s), VR_PEER_ALIVE);

	kill9(f, k1);
	t0 = now_ns();
	while (peer_(&s) == VR_PEER_ALIVE && now_ns() - t0 < 5 * SEC)
		sleep_ms(1);
	dt = now_ns() - t0;
	assert_int_equal(peer_(&s), VR_EPEERDEAD);
	assert_true(dt < 300 * MS + 400 * MS);
	assert_string_equal(vr_shm_peer_error(&s), "heartbeat stopped");
	/* Without a socket the generation moves when the peer is given up. */
	assert_int_equal(vr_region_load(s.t.region, VR_RH_GENERATION), 1);

	go(f, k2);
	assert_int_equal(vr_shm_accept(&s, 5 * SEC), 0);
	assert_int_equal(peer_(&s), VR_PEER_ALIVE);
	assert_int_equal(reap(f, k2), 0);
	vr_shm_close(&s);
}

/* ---- A third process while a peer is attached ---------------------------- */

/* Does this process hold an fd on a memfd? */
static bool holds_memfd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while ((e = readdir(d)) != NULL) {
		char p[300], t[256];
		ssize_t n;

		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		n = readlink(p, t, sizeof(t) - 1);
		if (n > 0) {
			t[n] = '\0';
			if (strncmp(t, "/memfd:", 7) == 0)
				found = true;
		}
	}
	closedir(d);
	return found;
}

static int intruder(struct fx *f, void *arg)
{
	struct vr_shm s;
	int rc;

	(void)arg;
	CHK(!holds_memfd());
	rc = vr_shm_connect(&s, f->sock, 2 * SEC);
	CHK(rc == VR_EPERM);
	CHK(strstr(vr_shm_last_error(&s), "busy") != NULL);
	CHK(s.t.region == NULL);
	CHK(vr_shm_info(&s) == NULL);
	CHK(!holds_memfd());
	vr_shm_close(&s);
	return 0;
}

static void test_third_refused(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm_cfg c;
	struct vr_shm s;
	int k1, k2;

	k1 = spawn(f, attach_and_sleep, NULL);
	k2 = spawn(f, intruder, NULL);
	base_cfg(&c, f, VR_SHM_MEMFD, 0);
	assert_int_equal(vr_shm_listen(&s, &c), 0);
	go(f, k1);
	assert_int_equal(vr_shm_accept(&s, 5 * SEC), 0);
	go(f, k2);
	assert_int_equal(reap(f, k2), 0);
	/* The attached peer is undisturbed. */
	assert_int_equal(peer_(&s), VR_PEER_ALIVE);
	assert_int_equal(wait_(&s, 0, 5 * SEC), 0);
	kill9(f, k1);
	vr_shm_close(&s);
}

/* ---- Another uid (needs root to switch) ------------------------------------ */

static int other_uid(struct fx *f, void *arg)
{
	struct vr_shm s;
	int rc;

	(void)arg;
	CHK(setgid(65534) == 0 && setuid(65534) == 0);
	rc = vr_shm_connect(&s, f->sock, 2 * SEC);
	CHK(rc == VR_EPERM);
	CHK(s.t.region == NULL);
	return 0;
}

static void test_other_uid_refused(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm_cfg c;
	struct vr_shm s;
	struct stat st;
	int k;

	if (geteuid() != 0) {
		skip();
		return;
	}
	k = spawn(f, other_uid, NULL);
	base_cfg(&c, f, VR_SHM_MEMFD, 0);
	assert_int_equal(vr_shm_listen(&s, &c), 0);
	assert_int_equal(stat(f->sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Open the door wide: only the uid check is left to stop it. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(f->sock, 0666), 0);
	go(f, k);
	assert_int_equal(vr_shm_accept(&s, 1500 * MS), VR_ETIMEDOUT);
	assert_non_null(strstr(vr_shm_last_error(&s), "another uid"));
	assert_int_equal(reap(f, k), 0);
	assert_int_equal(peer_(&s), VR_PEER_WAITING);
	vr_shm_close(&s);
	assert_int_equal(chmod(f->dir, 0700), 0);
}

/* ---- Caller mistakes and edge cases ------------------------------------------- */

static void test_arguments(void **state)
{
	struct fx *f = (struct fx *)*state;
	struct vr_shm_cfg c;
	struct vr_shm s, s2;
	char longp[200];
	uint64_t t0;
	int fd;

	assert_int_equal(vr_shm_listen(NULL, NULL), VR_EINVAL);
	assert_int_equal(vr_shm_listen(&s, NULL), VR_EINVAL);
	assert_true(strlen(vr_shm_last_error(&s)) > 0);

	base_cfg(&c, f, VR_SHM_MEMFD, 0);
	c.region.queue[0].size = 3; /* not a valid split size */
	assert_int_equal(vr_shm_listen(&s, &c), VR_EINVAL);

	base_cfg(&c, f, VR_SHM_MEMFD, 0);
	c.socket_path = NULL; /* no socket, no polling */
	assert_int_equal(vr_shm_listen(&s, &c), VR_EINVAL);
	c.flags |= VR_SHM_POLLING; /* still a memfd nobody can reach */
	assert_int_equal(vr_shm_listen(&s, &c), VR_EINVAL);

	base_cfg(&c, f, 7, 0);
	assert_int_equal(vr_shm_listen(&s, &c), VR_EINVAL);

	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	base_cfg(&c, f, VR_SHM_MEMFD, 0);
	c.socket_path = longp;
	assert_int_equal(vr_shm_listen(&s, &c), VR_EINVAL);

	/* The socket path is a regular file: not ours to remove. */
	fd = open(f->sock, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	base_cfg(&c, f, VR_SHM_MEMFD, 0);
	assert_int_equal(vr_shm_listen(&s, &c), VR_EINVAL);
	assert_int_equal(access(f->sock, F_OK), 0);
	unlink(f->sock);

	/* An existing file is not overwritten, and not unlinked on failure. */
	fd = open(f->file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	base_cfg(&c, f, VR_SHM_FILE, VR_SHM_POLLING);
	c.socket_path = NULL;
	assert_int_equal(vr_shm_listen(&s, &c), VR_EIO);
	assert_int_equal(access(f->file, F_OK), 0);
	unlink(f->file);

	/* A live listener keeps its path. */
	base_cfg(&c, f, VR_SHM_MEMFD, 0);
	assert_int_equal(vr_shm_listen(&s, &c), 0);
	assert_int_equal(vr_shm_listen(&s2, &c), VR_EPERM);
	assert_int_equal(peer_(&s), VR_PEER_WAITING);
	t0 = now_ns();
	assert_int_equal(vr_shm_accept(&s, 20 * MS), VR_ETIMEDOUT);
	assert_true(now_ns() - t0 >= 20 * MS);
	assert_int_equal(wait_(&s, 0, 10 * MS), VR_ETIMEDOUT);
	assert_int_equal(wait_(&s, 0, 0), VR_ETIMEDOUT);
	assert_int_equal(notify_(&s, 0), 0);
	assert_int_equal(notify_(&s, 99), VR_EINVAL);
	assert_true(s.t.ops->now_ns(&s.t) > 0);
	vr_shm_close(&s);

	/* Nobody listening: connect gives up at its timeout. */
	t0 = now_ns();
	assert_int_equal(vr_shm_connect(&s, f->sock, 50 * MS), VR_ETIMEDOUT);
	assert_true(now_ns() - t0 >= 50 * MS && now_ns() - t0 < SEC);
	assert_true(strlen(vr_shm_last_error(&s)) > 0);
	vr_shm_close(&s);
	assert_int_equal(vr_shm_connect(&s, longp, 0), VR_EINVAL);
	assert_int_equal(vr_shm_connect(&s, NULL, 0), VR_EINVAL);
	assert_int_equal(vr_shm_open(&s, VR_SHM_MEMFD, f->file, NULL), VR_EINVAL);
	assert_int_equal(vr_shm_open(&s, VR_SHM_FILE, NULL, NULL), VR_EINVAL);

	/* Zeroed objects are safe to close and to query. */
	memset(&s, 0, sizeof(s));
	vr_shm_close(&s);
	vr_shm_close(NULL);
	assert_null(vr_shm_info(&s));
	assert_string_equal(vr_shm_peer_error(&s), "");
	assert_int_equal(vr_shm_accept(&s, 0), VR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pair_memfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pair_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pair_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pair_polling_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pair_hugetlbfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connector_killed_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_before_noticed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener_killed_polling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_polling_listener_dies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_polling_device_dies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_polling_listener_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_third_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_uid_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
