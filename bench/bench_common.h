/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every benchmark body shares: the cycle clock, CPU pinning, the
 * producer/consumer thread pair, message payloads and their checks, bounded
 * spinning, and the counters every run reports.
 *
 * Clock: rdtsc on x86-64 (its frequency measured against CLOCK_MONOTONIC at
 * start-up), the generic timer cntvct_el0 on AArch64 (frequency from
 * cntfrq_el0), clock_gettime() elsewhere (1 GHz "cycles" = nanoseconds).
 * The run's JSON context names the clock and its frequency.
 *
 * Threads: the body runs on the producer CPU; vb_pair_start() starts the
 * consumer on the other CPU. The two share only what the ring under test
 * shares, plus the pair's control words (each on its own cache line, read
 * only when idle or at the end).
 */
#ifndef VB_BENCH_COMMON_H
#define VB_BENCH_COMMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "bench_shim.h"

#define VB_ALWAYS_INLINE inline __attribute__((always_inline))
#define VB_LINE 64

/* Largest payload the suite uses (bytes); consumers copy into a local
 * buffer of this size. */
#define VB_PAYLOAD_MAX 1024u

/* Default queue size of every implementation. */
#define VB_QSIZE 1024u

/* ---- Clock ------------------------------------------------------------------ */

extern double vb_cycles_hz;      /* ticks of vb_cycles() per second */
extern const char *vb_clock_name; /* "rdtsc", "cntvct_el0" or "clock_gettime" */

static inline uint64_t vb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
static inline uint64_t vb_cycles(void)
{
	uint32_t lo, hi;

	/* lfence: rdtsc is not ordered with earlier loads otherwise. */
	__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}
#elif defined(__aarch64__)
static inline uint64_t vb_cycles(void)
{
	uint64_t v;

	__asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
}
#else
static inline uint64_t vb_cycles(void)
{
	return vb_now_ns();
}
#endif

static inline void vb_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Start and stop of a measured stretch, in both clocks. */
struct vb_timer {
	uint64_t c0, c1, n0, n1;
};

static inline void vb_timer_start(struct vb_timer *t)
{
	t->n0 = vb_now_ns();
	t->c0 = vb_cycles();
}

static inline void vb_timer_stop(struct vb_timer *t)
{
	t->c1 = vb_cycles();
	t->n1 = vb_now_ns();
}

/* Report cycles_per_msg, ns_per_msg, msgs_per_s for @p msgs messages over
 * @p t (and items processed); and xcore_rt_cycles when a thread pair was
 * started before @p t began and stopped after it ended (vb_pair_start). */
void vb_report(struct vb_state *s, const struct vb_timer *t, uint64_t msgs);

/* ---- CPUs ---------------------------------------------------------------------- */

extern int vb_cpu_producer; /* -1: do not pin */
extern int vb_cpu_consumer;

/* Pin the calling thread to @p cpu (no-op for -1). Returns 0 or an errno. */
int vb_pin_self(int cpu);

/* ---- Producer/consumer pair ---------------------------------------------------- */

struct vb_pair {
	pthread_t thread;
	void (*fn)(struct vb_pair *p, void *arg);
	void *arg;
	bool started;
	/* Control words, one line each: stop is read by the consumer only when
	 * it is idle; failed is read by the producer only while it waits. */
	_Alignas(VB_LINE) atomic_int ready;
	_Alignas(VB_LINE) atomic_int stop;
	_Alignas(VB_LINE) atomic_int failed;
	/* The cross-core probe (vb_pair_start, vb_pair_stop): a bare cache
	 * line bounced between the two CPUs before and after the measured
	 * stretch, never during it. */
	_Alignas(VB_LINE) _Atomic uint64_t probe;
	_Alignas(VB_LINE) char why[160];
};

/* Pin the caller to the producer CPU, start @p fn(pair, arg) on a thread
 * pinned to the consumer CPU, and wait until it says it is ready
 * (vb_pair_ready). Returns 0, or -1 with why[] set.
 *
 * Before fn starts and after it returns (vb_pair_stop), the two threads
 * bounce a bare cache line (VB_PROBE_TRIPS round trips, median): the
 * cost of a cache line changing hands between the two CPUs at that
 * moment. On a VM it is not a constant: the host places the two vCPUs on
 * cores that share a cache or not, and moves them, for seconds at a time
 * (measured on the AMD EPYC VM of bench/results: this probe reads about
 * 290 cycles in one placement and 570 to 990 in the other, nothing in
 * between, and every two-thread body is several times slower in the
 * second).
 * vb_report() reports the larger of the two probes as xcore_rt_cycles,
 * so that report.py can tell the repetitions run in the usual placement
 * from those that were not. */
int vb_pair_start(struct vb_pair *p, void (*fn)(struct vb_pair *, void *),
		  void *arg);

/* Called by the consumer once it is pinned and about to poll. */
static inline void vb_pair_ready(struct vb_pair *p)
{
	atomic_store_explicit(&p->ready, 1, memory_order_release);
}

/* Tell the consumer to finish (it drains what is left first) and join it. */
void vb_pair_stop(struct vb_pair *p);

/* Record a failure from either side (the first one wins) and make both
 * sides stop. */
void vb_pair_fail(struct vb_pair *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline bool vb_pair_stopping(struct vb_pair *p)
{
	return atomic_load_explicit(&p->stop, memory_order_acquire) != 0;
}

static inline bool vb_pair_failed(struct vb_pair *p)
{
	return atomic_load_explicit(&p->failed, memory_order_relaxed) != 0;
}

/* ---- Bounded spinning ----------------------------------------------------------- */

/* Seconds a side may wait for its peer before the run fails: a ring that
 * loses a message must not hang the suite. */
#define VB_STALL_SECONDS 20u

struct vb_spin {
	uint32_t n;
	uint64_t deadline_ns;
};

static inline void vb_spin_init(struct vb_spin *w)
{
	w->n = 0;
	w->deadline_ns = 0;
}

/* One idle turn of a wait loop. Returns false when the pair failed or the
 * wait exceeded VB_STALL_SECONDS (then the pair is marked failed). */
bool vb_spin_slow(struct vb_spin *w, struct vb_pair *p, const char *what);

static VB_ALWAYS_INLINE bool vb_spin(struct vb_spin *w, struct vb_pair *p,
				     const char *what)
{
	vb_cpu_relax();
	if ((++w->n & 1023u) != 0)
		return true;
	return vb_spin_slow(w, p, what);
}

/* ---- Payloads -------------------------------------------------------------------- */

/* Bytes after the sequence number: a fixed pattern, so that a message is
 * really written and really read. */
extern const unsigned char vb_pattern[VB_PAYLOAD_MAX];

/* Write message @p seq into @p dst (@p len >= 8 bytes): the sequence number
 * in the first 8 bytes and, from 16 bytes up, in the last 8 as well (a
 * message torn by a broken ring fails one of the two). */
static VB_ALWAYS_INLINE void vb_fill(unsigned char *dst, uint64_t seq,
				     unsigned len)
{
	memcpy(dst, &seq, 8);
	if (len >= 16) {
		memcpy(dst + 8, vb_pattern, len - 16);
		memcpy(dst + len - 8, &seq, 8);
	}
}

/* Copy message bytes out of the shared buffer the way a receiver does and
 * check that they are message @p seq. */
static VB_ALWAYS_INLINE bool vb_take(unsigned char *copy, const void *src,
				     uint64_t seq, unsigned len)
{
	uint64_t a, b = seq;

	memcpy(copy, src, len);
	memcpy(&a, copy, 8);
	if (len >= 16)
		memcpy(&b, copy + len - 8, 8);
	return a == seq && b == seq;
}

/* Buffers a one-way peer (no completion path) needs so that a buffer is
 * never rewritten while the consumer may still read it: the ring's
 * capacity, plus what the consumer holds after a burst, plus the batch the
 * producer fills before its enqueue. */
static inline uint32_t vb_peer_bufs(uint32_t qsize, unsigned batch)
{
	return qsize + 2u * batch + 64u;
}

/* Allocate @p n bytes aligned to a cache line (or a page from 4 KiB up),
 * zeroed; NULL when out of memory. */
void *vb_alloc(size_t n);

#endif /* VB_BENCH_COMMON_H */
