/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What this machine's primitives cost, without libvring, on the same two
 * CPUs the runs use: the floor under every policy.
 *
 *   eventfd ping-pong   two processes, each blocked in read() until the
 *                       other writes: the doorbell path (a wakeup each way),
 *                       its latency and the CPU both sides spend on it
 *   spin ping-pong      two processes spinning on a shared cache line: the
 *                       polling path (two cache-line transfers)
 *   10 us timer         how late ppoll() with a 10 us timeout returns: what
 *                       a paced sender that sleeps between sends pays
 *   eventfd write       the CPU cost of ringing a doorbell nobody waits on
 */
#include "lat.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPIN_LIMIT_NS 2000000000ull /* a peer silent this long is gone */

struct spin_line {
	_Alignas(64) _Atomic uint64_t ping;
	_Alignas(64) _Atomic uint64_t pong;
	_Alignas(64) _Atomic int ready; /* the child is on its own CPU */
};

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* CPU time of the reaped children so far, ns. */
static uint64_t children_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

/* Also returns the CPU both processes spent per round trip in @cpu_ns:
 * what two wakeups cost, waker and wakee (in a VM the waker's IPI is a VM
 * exit, charged to it as system time). */
static int efd_pingpong(const struct vl_opts *o, uint32_t rounds, struct vl_hist *h,
			uint64_t *cpu_ns)
{
	int ab = eventfd(0, EFD_CLOEXEC), ba = eventfd(0, EFD_CLOEXEC);
	uint64_t v = 1, t0, self0 = vl_cpu_ns(), kids0 = children_cpu_ns();
	pid_t pid;
	uint32_t i;
	int bad = 0;

	if (ab < 0 || ba < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		vl_watchdog("calibration", 30);
		(void)vl_pin(o->cpu_device);
		for (i = 0; i < rounds; i++)
			if (read(ab, &v, sizeof(v)) != sizeof(v) ||
			    write(ba, &v, sizeof(v)) != sizeof(v))
				_exit(1);
		_exit(0);
	}
	for (i = 0; pid > 0 && i < rounds && !bad; i++) {
		v = 1;
		t0 = vl_now_ns();
		if (write(ab, &v, sizeof(v)) != sizeof(v) || read(ba, &v, sizeof(v)) != sizeof(v))
			bad = 1;
		else
			vl_hist_add(h, vl_now_ns() - t0);
	}
	if (pid > 0 && bad)
		(void)kill(pid, SIGKILL); /* it may be blocked in read() */
	if (pid > 0 && wait_child(pid) != 0)
		bad = 1;
	if (rounds)
		*cpu_ns = (vl_cpu_ns() - self0 + children_cpu_ns() - kids0) / rounds;
	close(ab);
	close(ba);
	return pid < 0 || bad ? -1 : 0;
}

int vl_spin_pingpong(const struct vl_opts *o, uint32_t rounds, struct vl_hist *h)
{
	struct spin_line *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t i, t0;
	pid_t pid;
	int bad = 0;

	if (s == MAP_FAILED)
		return -1;
	atomic_init(&s->ping, 0);
	atomic_init(&s->pong, 0);
	atomic_init(&s->ready, 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		(void)vl_pin(o->cpu_device);
		atomic_store_explicit(&s->ready, 1, memory_order_release);
		for (i = 1; i <= rounds; i++) {
			t0 = vl_now_ns();
			/* Acquire/release: a plain hand-off of a counter. */
			while (atomic_load_explicit(&s->ping, memory_order_acquire) != i) {
				vl_cpu_relax();
				if (vl_now_ns() - t0 > SPIN_LIMIT_NS)
					_exit(1);
			}
			atomic_store_explicit(&s->pong, i, memory_order_release);
		}
		_exit(0);
	}
	/* Until the child has moved to its CPU, let it run on ours: under
	 * SCHED_FIFO a parent spinning here would keep it off for good. */
	t0 = vl_now_ns();
	while (pid > 0 && !atomic_load_explicit(&s->ready, memory_order_acquire)) {
		sched_yield();
		if (vl_now_ns() - t0 > SPIN_LIMIT_NS) {
			bad = 1;
			break;
		}
	}
	for (i = 1; pid > 0 && i <= rounds && !bad; i++) {
		t0 = vl_now_ns();
		atomic_store_explicit(&s->ping, i, memory_order_release);
		while (atomic_load_explicit(&s->pong, memory_order_acquire) != i) {
			vl_cpu_relax();
			if (vl_now_ns() - t0 > SPIN_LIMIT_NS) {
				bad = 1;
				break;
			}
		}
		if (!bad)
			vl_hist_add(h, vl_now_ns() - t0);
	}
	if (pid > 0 && wait_child(pid) != 0)
		bad = 1;
	munmap(s, sizeof(*s));
	return pid < 0 || bad ? -1 : 0;
}

static void timer_late(uint32_t rounds, struct vl_hist *h)
{
	const struct timespec ts = {0, 10000};
	uint32_t i;

	for (i = 0; i < rounds; i++) {
		uint64_t t0 = vl_now_ns(), dt;

		(void)ppoll(NULL, 0, &ts, NULL);
		dt = vl_now_ns() - t0;
		vl_hist_add(h, dt > 10000 ? dt - 10000 : 0);
	}
}

static uint64_t efd_write_cost(uint32_t rounds)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t v = 1, t0, dt;
	uint32_t i;

	if (fd < 0)
		return 0;
	t0 = vl_now_ns();
	for (i = 0; i < rounds; i++)
		if (write(fd, &v, sizeof(v)) != sizeof(v))
			break;
	dt = vl_now_ns() - t0;
	close(fd);
	return rounds ? dt / rounds : 0;
}

int vl_calibrate(const struct vl_opts *o, struct vl_calib *c)
{
	struct vl_hist *h = malloc(sizeof(*h));
	int err = 0;

	memset(c, 0, sizeof(*c));
	if (!h)
		return -1;
	c->rounds = o->calib_rounds;
	vl_hist_reset(h);
	if (efd_pingpong(o, o->calib_rounds, h, &c->efd_cpu_ns) == 0) {
		c->efd_p50 = vl_hist_quantile(h, 0.5);
		c->efd_p99 = vl_hist_quantile(h, 0.99);
		c->efd_max = h->max;
	} else {
		fprintf(stderr, VL_PROG ": calibration: eventfd ping-pong failed\n");
		err = -1;
	}
	vl_hist_reset(h);
	if (vl_spin_pingpong(o, o->calib_rounds, h) == 0) {
		c->spin_p50 = vl_hist_quantile(h, 0.5);
		c->spin_p99 = vl_hist_quantile(h, 0.99);
		c->spin_max = h->max;
	} else {
		fprintf(stderr, VL_PROG ": calibration: spin ping-pong failed\n");
		err = -1;
	}
	vl_hist_reset(h);
	timer_late(o->calib_rounds / 4 + 1, h);
	c->timer_p50 = vl_hist_quantile(h, 0.5);
	c->timer_p99 = vl_hist_quantile(h, 0.99);
	c->timer_max = h->max;
	c->efd_write_ns = efd_write_cost(o->calib_rounds);
	free(h);
	return err;
}
