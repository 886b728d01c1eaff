/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Channels over the ivshmem host peer, with vring-ivshmem-server, no QEMU:
 *
 *  - stream_{split,packed}: a driver and a device peer in this process
 *    (four threads: each end sends and receives) exchange 100,000
 *    messages each way (VR_IVSHMEM_MESSAGES overrides), every byte
 *    checked, in order, over eventfd doorbells (queue q rings vector q);
 *  - plain: the same over an ivshmem-plain file without a server, by
 *    polling with heartbeat liveness (20,000 each way); and over a file
 *    the server created and laid out, where a closing driver stops the
 *    device at once (generation);
 *  - kill_device: the device is another process (this binary run as
 *    "device"); it is SIGKILLed twice mid-stream: the driver must see
 *    VR_EPEERDEAD within 2 s (the server's announcement; the documented
 *    bound is the liveness timeout, 1 s, plus two heartbeat periods),
 *    reset its channel, bind a new device process, and finish. Every
 *    device records each message when it takes it (borrow) and again
 *    when it gave it back (release = acknowledged), in a file both map:
 *    every sequence number was taken, none was acknowledged twice, and
 *    one is taken again only if a killed device took it without giving
 *    it back (at most the TX buffers per kill);
 *  - kill_driver: the driver process dies; the device sees VR_EPEERDEAD
 *    within 2 s, binds the next driver and receives its stream;
 *  - restart_driver_{split,packed}: a new driver on a region whose rings
 *    hold an earlier session's indexes works before and after the device
 *    opens again (the driver's session start clears every ring area).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include <cmocka.h>

#include <vring/channel.h>

#include "ivshmem_fixture.h"

#define BUF_BYTES 512u
#define QSIZE 256u
#define SALT_D2V 0x11u /* driver -> device */
#define SALT_V2D 0x22u /* device -> driver */
#define DEAD_BOUND_NS (2 * FX_SEC)

static const char *g_self = "/proc/self/exe";

struct end {
	struct vr_ivshmem iv;
	struct vr_chan ch;
	void *state;
};

struct fx {
	char dir[64];
	char sock[100];
	struct fx_server srv;
	/* The ends live here, so that teardown closes them (threads, fds,
	 * memory) when an assertion ends a test early. */
	struct end drv, dev;
};

static void end_close(struct end *e);

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || fx_tmpdir(f->dir, sizeof(f->dir), "ivch") != 0)
		return -1;
	snprintf(f->sock, sizeof(f->sock), "%s/ivshmem.sock", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	end_close(&f->drv);
	end_close(&f->dev);
	if (f->srv.pid > 0)
		fx_server_stop(&f->srv);
	fx_rmdir(f->dir);
	free(f);
	return 0;
}

static uint32_t messages(uint32_t dflt)
{
	const char *e = getenv("VR_IVSHMEM_MESSAGES");

	return e && atoi(e) > 0 ? (uint32_t)atoi(e) : dflt;
}

/* Open the channel end of @e on its transport; a device retries while the
 * driver is not ready. 0 or a VR_E* code. */
static int end_open(struct end *e, uint64_t timeout_ns)
{
	struct vr_chan_cfg cc;
	uint64_t end = fx_now_ns() + timeout_ns;
	size_t n = vr_chan_state_size(&e->iv.t);
	int r;

	if (n == 0)
		return VR_EREGION;
	if (!e->state)
		e->state = aligned_alloc(64, (n + 63) & ~(size_t)63);
	if (!e->state)
		return VR_EIO;
	memset(&cc, 0, sizeof(cc));
	cc.features = VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_VERSION_1);
	for (;;) {
		r = vr_chan_open(&e->ch, &e->iv.t, &cc, e->state, (n + 63) & ~(size_t)63);
		if (r != VR_EAGAIN || fx_now_ns() > end)
			return r;
		fx_sleep_ms(1);
	}
}

static void end_close(struct end *e)
{
	vr_ivshmem_close(&e->iv);
	free(e->state);
	e->state = NULL;
}

/* ---- Four-thread stream in one process --------------------------------------------- */

struct worker {
	struct vr_chan *ch;
	uint32_t n;
	uint32_t salt;
	bool send;
	int result; /* 0, or the failing code (-1000: bad content / order) */
	uint32_t done;
	char why[160];
};

static void *worker_main(void *arg)
{
	struct worker *w = (struct worker *)arg;
	uint8_t *buf = malloc(BUF_BYTES);
	uint32_t i;

	w->result = 0;
	for (i = 0; buf && i < w->n; i++) {
		int r;

		if (w->send) {
			uint32_t len = fx_fill(buf, i, BUF_BYTES, w->salt);

			r = vr_chan_send(w->ch, buf, len, 20 * FX_SEC);
			if (r) {
				snprintf(w->why, sizeof(w->why), "send %u: %s", i, vr_errname(r));
				w->result = r;
				break;
			}
		} else {
			r = vr_chan_recv(w->ch, buf, BUF_BYTES, 20 * FX_SEC);
			if (r < 0) {
				snprintf(w->why, sizeof(w->why), "recv %u: %s", i, vr_errname(r));
				w->result = r;
				break;
			}
			if (fx_check(buf, r, BUF_BYTES, w->salt) != (int64_t)i) {
				snprintf(w->why, sizeof(w->why), "message %u wrong (%d bytes)", i, r);
				w->result = -1000;
				break;
			}
		}
		w->done = i + 1;
	}
	free(buf);
	return NULL;
}

/* Bring both ends up on the server at @f->sock. */
static void pair_up(struct fx *f, struct end *drv, struct end *dev)
{
	struct vr_ivshmem_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VR_ROLE_DRIVER;
	cfg.peer_id = VR_IVSHMEM_ANY_PEER;
	assert_int_equal(vr_ivshmem_connect(&drv->iv, f->sock, &cfg, 5 * FX_SEC), 0);
	assert_int_equal(end_open(drv, 0), 0);
	cfg.role = VR_ROLE_DEVICE;
	assert_int_equal(vr_ivshmem_connect(&dev->iv, f->sock, &cfg, 5 * FX_SEC), 0);
	assert_int_equal(vr_ivshmem_attach_peer(&drv->iv, 5 * FX_SEC), 0);
	assert_int_equal(vr_ivshmem_attach_peer(&dev->iv, 5 * FX_SEC), 0);
	assert_int_equal(end_open(dev, 5 * FX_SEC), 0);
}

static void run_stream(struct end *drv, struct end *dev, uint32_t n)
{
	struct worker w[4] = {
		{&drv->ch, n, SALT_D2V, true, 0, 0, ""},
		{&dev->ch, n, SALT_D2V, false, 0, 0, ""},
		{&dev->ch, n, SALT_V2D, true, 0, 0, ""},
		{&drv->ch, n, SALT_V2D, false, 0, 0, ""},
	};
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++) {
		if (w[i].result)
			print_message("worker %d: %s\n", i, w[i].why);
		assert_int_equal(w[i].result, 0);
		assert_int_equal(w[i].done, n);
	}
}

static void stream(void **state, const char *format)
{
	struct fx *f = *state;
	const char *args[] = {"--region", format, "--queue-size", "256", "--buf-bytes", "512",
			      "--buf-count", "512", NULL};
	struct vr_chan_stats st;
	uint32_t n = messages(100000);
	uint64_t t0;

	assert_int_equal(fx_server_start(&f->srv, f->sock, args), 0);
	pair_up(f, &f->drv, &f->dev);
	t0 = fx_now_ns();
	run_stream(&f->drv, &f->dev, n);
	vr_chan_get_stats(&f->drv.ch, &st);
	print_message("%s: %u messages each way in %.2f s (wall clock); driver rang %llu "
		      "doorbells, woke %llu times\n", format, n,
		      (double)(fx_now_ns() - t0) / 1e9, (unsigned long long)st.notifies,
		      (unsigned long long)st.wakeups);
	/* Doorbells really went through the eventfds. */
	assert_true(st.notifies > 0);
	assert_int_equal(st.sent, n);
	assert_int_equal(st.received, n);
	end_close(&f->dev);
	end_close(&f->drv);
	assert_int_equal(fx_server_stop(&f->srv), 0);
}

static void test_stream_split(void **state)
{
	stream(state, "split");
}

static void test_stream_packed(void **state)
{
	stream(state, "packed");
}

static void test_plain(void **state)
{
	struct fx *f = *state;
	struct vr_ivshmem_cfg cfg;
	struct vr_region_cfg rc;
	char path[128];
	struct stat st;
	uint32_t n = messages(100000) / 5;

	snprintf(path, sizeof(path), "%s/plain.shm", f->dir);
	fx_region(&rc, VR_FORMAT_PACKED, QSIZE, BUF_BYTES, 2 * QSIZE);
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VR_ROLE_DRIVER;
	cfg.flags = VR_IVSHMEM_CREATE;
	cfg.region = &rc;
	cfg.size = 1 << 20;
	assert_int_equal(vr_ivshmem_open_plain(&f->drv.iv, VR_IVSHMEM_FILE, path, &cfg, 0), 0);
	assert_int_equal(f->drv.iv.t.flags & VR_TRANSPORT_POLLING, VR_TRANSPORT_POLLING);
	assert_int_equal(vr_ivshmem_own_id(&f->drv.iv), -1);
	assert_int_equal(end_open(&f->drv, 0), 0);
	cfg.role = VR_ROLE_DEVICE;
	cfg.flags = 0;
	cfg.region = NULL;
	assert_int_equal(vr_ivshmem_open_plain(&f->dev.iv, VR_IVSHMEM_FILE, path, &cfg, FX_SEC), 0);
	assert_int_equal(vr_ivshmem_attach_peer(&f->drv.iv, 5 * FX_SEC), 0);
	assert_int_equal(vr_ivshmem_attach_peer(&f->dev.iv, 5 * FX_SEC), 0);
	assert_int_equal(end_open(&f->dev, 5 * FX_SEC), 0);
	run_stream(&f->drv, &f->dev, n);
	/* The device stops beating (closed): the driver sees it die within
	 * the liveness timeout plus two periods, with slack for a loaded
	 * machine. */
	end_close(&f->dev);
	{
		uint64_t t0 = fx_now_ns();

		while (f->drv.iv.t.ops->peer_state(&f->drv.iv.t) != VR_EPEERDEAD &&
		       fx_now_ns() - t0 < 5 * FX_SEC)
			fx_sleep_ms(5);
		assert_int_equal(f->drv.iv.t.ops->peer_state(&f->drv.iv.t), VR_EPEERDEAD);
		assert_string_equal(vr_ivshmem_peer_error(&f->drv.iv), "heartbeat stopped");
		assert_true(fx_now_ns() - t0 >= VR_IVSHMEM_LIVENESS_DEFAULT_NS / 2);
	}
	end_close(&f->drv);
	/* CREATE removes the file on close. */
	assert_int_not_equal(stat(path, &st), 0);
}

/* ivshmem-plain over an object the server made (--file, --region): no
 * socket for the peers, and a driver that closes tells the device at once
 * through the generation. */
static void test_plain_server_file(void **state)
{
	struct fx *f = *state;
	char path[128];
	const char *args[] = {"--file", path, "--region", "split", "--queue-size", "128",
			      "--buf-bytes", "256", "--buf-count", "256", NULL};
	struct vr_ivshmem_cfg cfg;
	uint8_t buf[BUF_BYTES];
	struct stat st;
	uint64_t t0;

	snprintf(path, sizeof(path), "%s/plain.shm", f->dir);
	assert_int_equal(fx_server_start(&f->srv, f->sock, args), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VR_ROLE_DEVICE;
	assert_int_equal(vr_ivshmem_open_plain(&f->dev.iv, VR_IVSHMEM_FILE, path, &cfg, FX_SEC), 0);
	cfg.role = VR_ROLE_DRIVER;
	assert_int_equal(vr_ivshmem_open_plain(&f->drv.iv, VR_IVSHMEM_FILE, path, &cfg, FX_SEC), 0);
	assert_int_equal(end_open(&f->drv, 0), 0);
	assert_int_equal(vr_ivshmem_attach_peer(&f->dev.iv, 5 * FX_SEC), 0);
	assert_int_equal(vr_ivshmem_attach_peer(&f->drv.iv, 5 * FX_SEC), 0);
	assert_int_equal(end_open(&f->dev, 5 * FX_SEC), 0);
	/* 256-byte buffers: fx messages up to 256 bytes. */
	{
		uint32_t i;
		int r;

		for (i = 0; i < 5000; i++) {
			assert_int_equal(vr_chan_send(&f->drv.ch, buf, fx_fill(buf, i, 256, SALT_D2V),
						      5 * FX_SEC), 0);
			r = vr_chan_recv(&f->dev.ch, buf, sizeof(buf), 5 * FX_SEC);
			assert_int_equal(fx_check(buf, r, 256, SALT_D2V), i);
		}
	}
	t0 = fx_now_ns();
	end_close(&f->drv);
	assert_int_equal(vr_chan_recv(&f->dev.ch, buf, sizeof(buf), 5 * FX_SEC), VR_EPEERDEAD);
	assert_true(fx_now_ns() - t0 < FX_SEC / 2); /* not the 1 s heartbeat */
	assert_int_equal(f->dev.iv.t.ops->peer_state(&f->dev.iv.t), VR_EPEERDEAD);
	end_close(&f->dev);
	assert_int_equal(fx_server_stop(&f->srv), 0);
	assert_int_not_equal(stat(path, &st), 0); /* the server removed it */
}

/* A new driver on a region that outlived the last session: the old
 * device's used indexes must not look like a protocol violation to it,
 * before or after the device opens again. */
static void restart_driver(struct fx *f, const char *format)
{
	const char *args[] = {"--region", format, "--queue-size", "64", "--buf-bytes", "512",
			      "--buf-count", "128", NULL};
	struct vr_ivshmem_cfg cfg;
	uint8_t buf[BUF_BYTES];
	uint32_t i;
	int r;

	assert_int_equal(fx_server_start(&f->srv, f->sock, args), 0);
	pair_up(f, &f->drv, &f->dev);
	run_stream(&f->drv, &f->dev, 1000); /* used indexes well away from 0 */
	end_close(&f->drv);
	r = vr_chan_recv(&f->dev.ch, buf, sizeof(buf), 5 * FX_SEC);
	assert_int_equal(r, VR_EPEERDEAD);

	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VR_ROLE_DRIVER;
	cfg.peer_id = VR_IVSHMEM_ANY_PEER;
	assert_int_equal(vr_ivshmem_connect(&f->drv.iv, f->sock, &cfg, 5 * FX_SEC), 0);
	assert_int_equal(end_open(&f->drv, 0), 0);
	/* No device yet: nothing to receive, room to send, no error. */
	assert_int_equal(vr_chan_recv(&f->drv.ch, buf, sizeof(buf), 0), VR_EAGAIN);
	for (i = 0; i < 10; i++)
		assert_int_equal(vr_chan_send(&f->drv.ch, buf, fx_fill(buf, i, BUF_BYTES, SALT_D2V),
					      0), 0);
	assert_int_equal(vr_chan_recv(&f->drv.ch, buf, sizeof(buf), 0), VR_EAGAIN);
	/* The device binds the new driver and opens again. */
	assert_int_equal(vr_ivshmem_attach_peer(&f->dev.iv, 5 * FX_SEC), 0);
	assert_int_equal(vr_ivshmem_attach_peer(&f->drv.iv, 5 * FX_SEC), 0);
	assert_int_equal(end_open(&f->dev, 5 * FX_SEC), 0);
	for (i = 0; i < 10; i++) {
		r = vr_chan_recv(&f->dev.ch, buf, sizeof(buf), 5 * FX_SEC);
		assert_true(r > 0);
		assert_int_equal(fx_check(buf, r, BUF_BYTES, SALT_D2V), i);
	}
	end_close(&f->dev);
	end_close(&f->drv);
	assert_int_equal(fx_server_stop(&f->srv), 0);
}

static void test_restart_driver_split(void **state)
{
	restart_driver(*state, "split");
}

static void test_restart_driver_packed(void **state)
{
	restart_driver(*state, "packed");
}

/* ---- Device and driver as processes ----------------------------------------------- */

/* The results file both sides map. */
struct shared {
	atomic_uint seen[1 << 17];     /* times each seq was taken */
	atomic_uint released[1 << 17]; /* ... and given back (acknowledged) */
	atomic_uint total;
	atomic_uint bad;
	atomic_uint stop;
	atomic_uint ready; /* a device has its channel open */
};

static struct shared *map_shared(const char *path, bool create)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0600);
	void *m;

	if (fd < 0)
		return NULL;
	if (create && ftruncate(fd, sizeof(struct shared)) != 0) {
		close(fd);
		return NULL;
	}
	m = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return m == MAP_FAILED ? NULL : (struct shared *)m;
}

/* "device SOCK RESULTS": receive and record until told to stop or the
 * driver is gone. Exit 0, or 1 on a failure (printed). */
static int device_process(const char *sock, const char *results)
{
	struct shared *sh = map_shared(results, false);
	struct end e = {0};
	struct vr_ivshmem_cfg cfg;
	struct vr_chan_msg msg;
	int r;

	if (!sh)
		return 1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VR_ROLE_DEVICE;
	cfg.peer_id = VR_IVSHMEM_ANY_PEER;
	r = vr_ivshmem_connect(&e.iv, sock, &cfg, 10 * FX_SEC);
	if (!r)
		r = vr_ivshmem_attach_peer(&e.iv, 10 * FX_SEC);
	if (!r)
		r = end_open(&e, 10 * FX_SEC);
	if (r) {
		fprintf(stderr, "device: %s (%s)\n", vr_strerror(r), vr_ivshmem_last_error(&e.iv));
		return 1;
	}
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->stop)) {
		int64_t seq;

		r = vr_chan_recv_borrow(&e.ch, &msg, 100 * FX_MS);
		if (r == VR_ETIMEDOUT)
			continue;
		if (r < 0) {
			fprintf(stderr, "device %ld: recv: %s (peer: %s)\n", (long)getpid(),
				vr_errname(r), vr_ivshmem_peer_error(&e.iv));
			break;
		}
		seq = msg.nseg == 1 ? fx_check(msg.data, (int)msg.len, BUF_BYTES, SALT_D2V) : -1;
		if (seq < 0 || seq >= (int64_t)(1 << 17)) {
			atomic_fetch_add(&sh->bad, 1);
			seq = -1;
		} else {
			/* Taken before it is acknowledged: a kill after this
			 * point and before the release may bring it again. */
			atomic_fetch_add(&sh->seen[seq], 1);
		}
		r = vr_chan_recv_release(&e.ch, &msg);
		if (r < 0) {
			fprintf(stderr, "device: release: %s\n", vr_errname(r));
			break;
		}
		if (seq >= 0) {
			atomic_fetch_add(&sh->released[seq], 1);
			atomic_fetch_add(&sh->total, 1);
		}
	}
	end_close(&e);
	return 0;
}

static pid_t spawn(const char *role, const char *sock, const char *results)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl(g_self, g_self, role, sock, results, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void kill_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_kill_device(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"--region", "split", "--queue-size", "64", "--buf-bytes", "512",
			      "--buf-count", "128", NULL};
	char results[128];
	struct shared *sh;
	struct vr_ivshmem_cfg cfg;
	uint8_t buf[BUF_BYTES];
	uint32_t n = messages(100000) / 2, seq, kill_at[2] = {n / 3, 2 * n / 3}, i;
	unsigned kills = 0;
	pid_t dev;
	int st = 0;

	if (n > (1u << 17))
		n = 1u << 17;
	snprintf(results, sizeof(results), "%s/results", f->dir);
	sh = map_shared(results, true);
	assert_non_null(sh);
	assert_int_equal(fx_server_start(&f->srv, f->sock, args), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VR_ROLE_DRIVER;
	cfg.peer_id = VR_IVSHMEM_ANY_PEER;
	assert_int_equal(vr_ivshmem_connect(&f->drv.iv, f->sock, &cfg, 5 * FX_SEC), 0);
	assert_int_equal(end_open(&f->drv, 0), 0);
	dev = spawn("device", f->sock, results);
	assert_true(dev > 0);
	assert_int_equal(vr_ivshmem_attach_peer(&f->drv.iv, 10 * FX_SEC), 0);

	for (seq = 0; seq < n;) {
		int r;

		if (kills < 2 && seq == kill_at[kills]) {
			uint64_t t0;

			kill_reap(dev);
			t0 = fx_now_ns();
			kills++;
			/* The next blocking call reports it: keep sending until
			 * one does (the free TX buffers fill first). */
			do {
				uint32_t len = fx_fill(buf, seq, BUF_BYTES, SALT_D2V);

				r = vr_chan_send(&f->drv.ch, buf, len, 10 * FX_SEC);
				if (r == 0)
					seq++;
			} while (r == 0 && seq < n);
			assert_int_equal(r, VR_EPEERDEAD);
			print_message("kill %u: VR_EPEERDEAD after %.1f ms (%s)\n", kills,
				      (double)(fx_now_ns() - t0) / 1e6,
				      vr_ivshmem_peer_error(&f->drv.iv));
			assert_true(fx_now_ns() - t0 < DEAD_BOUND_NS);
			assert_string_equal(vr_ivshmem_peer_error(&f->drv.iv), "left the server");
			/* Resume: reset (collects the acknowledgements, requeues
			 * the rest), then a new device. */
			assert_int_equal(vr_chan_reset(&f->drv.ch), 0);
			dev = spawn("device", f->sock, results);
			assert_true(dev > 0);
			assert_int_equal(vr_ivshmem_attach_peer(&f->drv.iv, 10 * FX_SEC), 0);
			continue; /* seq was not sent */
		}
		r = vr_chan_send(&f->drv.ch, buf, fx_fill(buf, seq, BUF_BYTES, SALT_D2V),
				 10 * FX_SEC);
		assert_int_equal(r, 0);
		seq++;
	}
	/* Everything arrives at the last device. */
	{
		uint64_t end = fx_now_ns() + 30 * FX_SEC;
		uint32_t missing = n;

		while (fx_now_ns() < end) {
			for (missing = 0, i = 0; i < n; i++)
				missing += atomic_load(&sh->seen[i]) == 0;
			if (!missing)
				break;
			fx_sleep_ms(10);
		}
		if (missing) {
			for (i = 0; i < n; i++)
				if (atomic_load(&sh->seen[i]) == 0)
					print_message("seq %u never arrived (kills at %u, %u; "
						      "%u bad messages)\n", i, kill_at[0],
						      kill_at[1], atomic_load(&sh->bad));
		}
		assert_int_equal(missing, 0);
	}
	atomic_store(&sh->stop, 1);
	assert_int_equal(waitpid(dev, &st, 0), dev);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(atomic_load(&sh->bad), 0);
	assert_int_equal(kills, 2);
	/* Nothing lost (every seq taken); nothing acknowledged twice; a seq
	 * taken again only after a device took it and died before giving it
	 * back, so at most the TX buffers (64) per kill. */
	{
		uint32_t dups = 0;

		for (i = 0; i < n; i++) {
			uint32_t t = atomic_load(&sh->seen[i]), a = atomic_load(&sh->released[i]);

			if (t == 0 || a > 1)
				print_message("seq %u taken %u times, acknowledged %u times\n", i,
					      t, a);
			assert_true(t >= 1);
			assert_true(a <= 1);
			dups += t - 1;
		}
		print_message("%u messages taken again after a kill\n", dups);
		assert_true(dups <= 2 * 64);
	}
	assert_int_equal(atomic_load(&sh->ready), 3);
	end_close(&f->drv);
	munmap(sh, sizeof(*sh));
	assert_int_equal(fx_server_stop(&f->srv), 0);
}

/* "driver SOCK RESULTS": send messages 0..n-1 (n in total), then wait to
 * be killed. */
static int driver_process(const char *sock, const char *results)
{
	struct shared *sh = map_shared(results, false);
	struct end e = {0};
	struct vr_ivshmem_cfg cfg;
	uint8_t buf[BUF_BYTES];
	uint32_t i;
	int r;

	if (!sh)
		return 1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VR_ROLE_DRIVER;
	cfg.peer_id = VR_IVSHMEM_ANY_PEER;
	r = vr_ivshmem_connect(&e.iv, sock, &cfg, 10 * FX_SEC);
	if (!r)
		r = end_open(&e, 0);
	if (!r)
		r = vr_ivshmem_attach_peer(&e.iv, 10 * FX_SEC);
	for (i = 0; !r && i < 1000; i++)
		r = vr_chan_send(&e.ch, buf, fx_fill(buf, i, BUF_BYTES, SALT_D2V), 10 * FX_SEC);
	if (r) {
		fprintf(stderr, "driver: %s (%s)\n", vr_strerror(r), vr_ivshmem_last_error(&e.iv));
		return 1;
	}
	atomic_fetch_add(&sh->ready, 1);
	for (;;)
		pause();
}

static void test_kill_driver(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"--region", "packed", "--queue-size", "64", "--buf-bytes", "512",
			      "--buf-count", "128", NULL};
	char results[128];
	struct shared *sh;
	struct vr_ivshmem_cfg cfg;
	uint8_t buf[BUF_BYTES];
	unsigned round;
	pid_t drv;

	snprintf(results, sizeof(results), "%s/results", f->dir);
	sh = map_shared(results, true);
	assert_non_null(sh);
	assert_int_equal(fx_server_start(&f->srv, f->sock, args), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = VR_ROLE_DEVICE;
	cfg.peer_id = VR_IVSHMEM_ANY_PEER;
	assert_int_equal(vr_ivshmem_connect(&f->dev.iv, f->sock, &cfg, 5 * FX_SEC), 0);
	for (round = 0; round < 2; round++) {
		uint64_t t0;
		uint32_t i;
		int r;

		drv = spawn("driver", f->sock, results);
		assert_true(drv > 0);
		assert_int_equal(vr_ivshmem_attach_peer(&f->dev.iv, 10 * FX_SEC), 0);
		assert_int_equal(end_open(&f->dev, 10 * FX_SEC), 0);
		/* Each driver's stream from 0: the region is new for it. */
		for (i = 0; i < 1000; i++) {
			r = vr_chan_recv(&f->dev.ch, buf, sizeof(buf), 10 * FX_SEC);
			assert_true(r > 0);
			assert_int_equal(fx_check(buf, r, BUF_BYTES, SALT_D2V), i);
		}
		kill_reap(drv);
		t0 = fx_now_ns();
		r = vr_chan_recv(&f->dev.ch, buf, sizeof(buf), 10 * FX_SEC);
		assert_int_equal(r, VR_EPEERDEAD);
		print_message("driver killed: VR_EPEERDEAD after %.1f ms (%s)\n",
			      (double)(fx_now_ns() - t0) / 1e6, vr_ivshmem_peer_error(&f->dev.iv));
		assert_true(fx_now_ns() - t0 < DEAD_BOUND_NS);
	}
	end_close(&f->dev);
	munmap(sh, sizeof(*sh));
	assert_int_equal(fx_server_stop(&f->srv), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stream_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_packed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_server_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_driver_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_driver_packed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_driver, setup, teardown),
	};
	static char self[4096];
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && strcmp(argv[1], "device") == 0)
		return device_process(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "driver") == 0)
		return driver_process(argv[2], argv[3]);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		g_self = self;
	}
	if (getenv("VR_TEST_FILTER"))
		cmocka_set_test_filter(getenv("VR_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
