/* SPDX-License-Identifier: BSD-3-Clause */
/* Clock calibration, CPU choice and pinning, the thread pair, reporting. */

#include "bench_common.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

double vb_cycles_hz = 1e9;
const char *vb_clock_name = "clock_gettime";
int vb_cpu_producer = -1;
int vb_cpu_consumer = -1;

const unsigned char vb_pattern[VB_PAYLOAD_MAX] = { 0x5a, 0xa5, 0x3c, 0xc3 };

void *vb_alloc(size_t n)
{
	size_t align = n >= 4096 ? 4096 : VB_LINE;
	size_t len = (n + align - 1) & ~(align - 1);
	void *p = aligned_alloc(align, len ? len : align);

	if (p)
		memset(p, 0, len ? len : align);
	return p;
}

/* ---- Clock ---------------------------------------------------------------- */

static void vb_calibrate(void)
{
#if defined(__x86_64__)
	uint64_t t0, t1, c0, c1;

	/* 200 ms against CLOCK_MONOTONIC, after a short warm-up. */
	t0 = vb_now_ns();
	while (vb_now_ns() - t0 < 10000000u)
		;
	t0 = vb_now_ns();
	c0 = vb_cycles();
	while ((t1 = vb_now_ns()) - t0 < 200000000u)
		;
	c1 = vb_cycles();
	vb_cycles_hz = (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
	vb_clock_name = "rdtsc";
#elif defined(__aarch64__)
	uint64_t f;

	__asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(f));
	vb_cycles_hz = (double)f;
	vb_clock_name = "cntvct_el0";
#else
	vb_cycles_hz = 1e9;
	vb_clock_name = "clock_gettime";
#endif
}

/* ---- CPUs ---------------------------------------------------------------------- */

int vb_pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* "A,B" -> two CPU numbers; returns 0 or -1. */
static int vb_parse_cpus(const char *s, int *a, int *b)
{
	char *end;
	long x, y;

	errno = 0;
	x = strtol(s, &end, 10);
	if (errno || end == s || *end != ',' || x < 0 || x >= CPU_SETSIZE)
		return -1;
	s = end + 1;
	y = strtol(s, &end, 10);
	if (errno || end == s || *end || y < 0 || y >= CPU_SETSIZE || x == y)
		return -1;
	*a = (int)x;
	*b = (int)y;
	return 0;
}

int vb_setup(int *argc, char **argv)
{
	static char buf[64];
	const char *spec = getenv("VB_CPUS");
	cpu_set_t set;
	int i, j, n = 0;

	/* Take --vb_cpus=A,B out of argv before Google Benchmark sees it. */
	for (i = j = 1; i < *argc; i++) {
		if (strncmp(argv[i], "--vb_cpus=", 10) == 0)
			spec = argv[i] + 10;
		else
			argv[j++] = argv[i];
	}
	*argc = j;
	argv[j] = NULL;

	if (spec && *spec) {
		if (vb_parse_cpus(spec, &vb_cpu_producer, &vb_cpu_consumer)) {
			fprintf(stderr, "vring_bench: --vb_cpus / VB_CPUS wants two "
					"different CPU numbers \"A,B\", not \"%s\"\n",
				spec);
			return -1;
		}
	} else if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
		   CPU_COUNT(&set) >= 2) {
		/* Default: the first two CPUs this process may use. */
		for (i = 0; i < CPU_SETSIZE && n < 2; i++)
			if (CPU_ISSET(i, &set)) {
				if (n++ == 0)
					vb_cpu_producer = i;
				else
					vb_cpu_consumer = i;
			}
	}

	vb_calibrate();
	vb_context("vb_clock", vb_clock_name);
	snprintf(buf, sizeof(buf), "%.0f", vb_cycles_hz);
	vb_context("vb_clock_hz", buf);
	vb_context("vb_clock_note",
		   strcmp(vb_clock_name, "rdtsc") == 0
			   ? "cycles are TSC reference cycles; TSC frequency "
			     "measured against CLOCK_MONOTONIC over 200 ms"
		   : strcmp(vb_clock_name, "cntvct_el0") == 0
			   ? "cycles are generic-timer ticks (cntfrq_el0)"
			   : "no cycle counter: cycles are nanoseconds");
	snprintf(buf, sizeof(buf), "%d,%d", vb_cpu_producer, vb_cpu_consumer);
	vb_context("vb_cpus", vb_cpu_producer >= 0 ? buf : "not pinned");
	snprintf(buf, sizeof(buf), "%u", VB_QSIZE);
	vb_context("vb_queue_size", buf);
	return 0;
}

/* ---- Reporting ------------------------------------------------------------------ */

/* The last pair's probes: when it was started and stopped (vb_cycles) and
 * the larger of its two round trips; rt 0 when there is none. */
static struct {
	uint64_t c_start, c_stop, rt;
} vb_probe_last;

void vb_report(struct vb_state *s, const struct vb_timer *t, uint64_t msgs)
{
	double cyc = (double)(t->c1 - t->c0), ns = (double)(t->n1 - t->n0);

	if (msgs == 0)
		return;
	vb_counter(s, "cycles_per_msg", cyc / (double)msgs);
	vb_counter(s, "ns_per_msg", ns / (double)msgs);
	vb_counter(s, "msgs_per_s", ns > 0 ? (double)msgs * 1e9 / ns : 0.0);
	vb_items(s, msgs);
	/* Only the pair that ran around this very stretch. */
	if (vb_probe_last.rt != 0 && vb_probe_last.c_start <= t->c0 &&
	    t->c1 <= vb_probe_last.c_stop)
		vb_counter(s, "xcore_rt_cycles", (double)vb_probe_last.rt);
}

/* ---- The cross-core probe ---------------------------------------------------------- */

/* Round trips per probe: well under a millisecond even in the slow
 * placement, and enough for a median that a preemption does not move. */
#define VB_PROBE_TRIPS 501u

/* Phase k (1: at start, 2: at stop) writes the odd values
 * base + 1, base + 3, ... for the consumer to answer with the next even
 * one, then the phase's end value: base + 2 * VB_PROBE_TRIPS + 2, which
 * is the next phase's base. */
static uint64_t vb_probe_end(unsigned phase)
{
	return (uint64_t)phase * (2u * VB_PROBE_TRIPS + 2u);
}

static int vb_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Producer side of a phase: the median round trip in vb_cycles() ticks,
 * or 0 when the pair failed or the consumer did not answer. */
static uint64_t vb_probe_lead(struct vb_pair *p, unsigned phase)
{
	uint64_t trips[VB_PROBE_TRIPS];
	uint64_t v = vb_probe_end(phase - 1);
	struct vb_spin w;
	unsigned i;

	vb_spin_init(&w);
	for (i = 0; i < VB_PROBE_TRIPS; i++, v += 2) {
		uint64_t c0 = vb_cycles();

		/* Release here, acquire of the answer below; partner: the
		 * acquire load and release store of vb_probe_echo. A plain
		 * ping-pong: the ordering is not what is measured. */
		atomic_store_explicit(&p->probe, v + 1, memory_order_release);
		while (atomic_load_explicit(&p->probe, memory_order_acquire) != v + 2)
			if (!vb_spin(&w, p, "the cross-core probe"))
				return 0;
		trips[i] = vb_cycles() - c0;
	}
	atomic_store_explicit(&p->probe, vb_probe_end(phase), memory_order_release);
	qsort(trips, VB_PROBE_TRIPS, sizeof(trips[0]), vb_cmp_u64);
	return trips[VB_PROBE_TRIPS / 2];
}

/* Consumer side of a phase: answer each odd value until the phase's end
 * value, or until the pair fails (the producer then stops probing). */
static void vb_probe_echo(struct vb_pair *p, unsigned phase)
{
	const uint64_t end = vb_probe_end(phase);

	for (;;) {
		/* Acquire, and release of the answer; partner: vb_probe_lead. */
		uint64_t v = atomic_load_explicit(&p->probe, memory_order_acquire);

		if (v >= end || vb_pair_failed(p))
			return;
		if (v & 1u)
			atomic_store_explicit(&p->probe, v + 1, memory_order_release);
		else
			vb_cpu_relax();
	}
}

/* ---- The pair -------------------------------------------------------------------- */

static void *vb_pair_main(void *arg)
{
	struct vb_pair *p = (struct vb_pair *)arg;
	int err = vb_pin_self(vb_cpu_consumer);

	if (err)
		vb_pair_fail(p, "cannot pin the consumer to CPU %d: %s",
			     vb_cpu_consumer, strerror(err));
	vb_probe_echo(p, 1);
	p->fn(p, p->arg);
	vb_probe_echo(p, 2);
	return NULL;
}

int vb_pair_start(struct vb_pair *p, void (*fn)(struct vb_pair *, void *),
		  void *arg)
{
	struct vb_spin w;
	int err;

	p->fn = fn;
	p->arg = arg;
	p->started = false;
	p->why[0] = '\0';
	atomic_store(&p->ready, 0);
	atomic_store(&p->stop, 0);
	atomic_store(&p->failed, 0);
	atomic_store(&p->probe, 0);
	vb_probe_last.rt = 0;
	err = vb_pin_self(vb_cpu_producer);
	if (err) {
		vb_pair_fail(p, "cannot pin the producer to CPU %d: %s",
			     vb_cpu_producer, strerror(err));
		return -1;
	}
	err = pthread_create(&p->thread, NULL, vb_pair_main, p);
	if (err) {
		vb_pair_fail(p, "cannot start the consumer thread: %s",
			     strerror(err));
		return -1;
	}
	p->started = true;
	vb_probe_last.rt = vb_probe_lead(p, 1);
	vb_spin_init(&w);
	while (!atomic_load_explicit(&p->ready, memory_order_acquire))
		if (!vb_spin(&w, p, "the consumer to start"))
			return -1;
	vb_probe_last.c_start = vb_cycles();
	return 0;
}

void vb_pair_stop(struct vb_pair *p)
{
	uint64_t rt = 0;

	if (!p->started)
		return;
	vb_probe_last.c_stop = vb_cycles();
	atomic_store_explicit(&p->stop, 1, memory_order_release);
	/* The consumer drains, returns, then answers the second probe. */
	if (vb_probe_last.rt != 0)
		rt = vb_probe_lead(p, 2);
	pthread_join(p->thread, NULL);
	p->started = false;
	/* The larger: a placement that changed during the run counts as the
	 * slower one. No answer: no figure. */
	vb_probe_last.rt = rt > vb_probe_last.rt ? rt : (rt ? vb_probe_last.rt : 0);
}

void vb_pair_fail(struct vb_pair *p, const char *fmt, ...)
{
	int expected = 0;
	va_list ap;

	if (!atomic_compare_exchange_strong(&p->failed, &expected, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	atomic_store_explicit(&p->failed, 2, memory_order_release);
	atomic_store_explicit(&p->stop, 1, memory_order_release);
}

bool vb_spin_slow(struct vb_spin *w, struct vb_pair *p, const char *what)
{
	uint64_t now;

	if (p && vb_pair_failed(p))
		return false;
	now = vb_now_ns();
	if (w->deadline_ns == 0) {
		w->deadline_ns = now + (uint64_t)VB_STALL_SECONDS * 1000000000u;
		return true;
	}
	if (now > w->deadline_ns) {
		if (p)
			vb_pair_fail(p, "stalled for %u s waiting for %s",
				     VB_STALL_SECONDS, what);
		return false;
	}
	return true;
}
