/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What aaos and rtos share besides the protocol: clocks, the latency
 * histogram, CPU pinning, argument parsing and the end-of-run summary.
 */
#ifndef AAOS_RTOS_COMMON_H
#define AAOS_RTOS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <vring/channel.h>
#include <vring/shm.h>

/* Exit codes of both programs. */
enum {
	DEMO_EXIT_OK = 0,
	DEMO_EXIT_FAIL = 1,     /* set-up failed, a message was refused, ... */
	DEMO_EXIT_USAGE = 2,    /* bad arguments */
	DEMO_EXIT_PEERDEAD = 3  /* the peer went away mid-run */
};

/* ---- Time ---------------------------------------------------------------- */

static inline uint64_t demo_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time this process used (user + system, every thread), in ns. */
static inline uint64_t demo_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
static inline uint64_t demo_cycles(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}
#elif defined(__aarch64__)
static inline uint64_t demo_cycles(void)
{
	uint64_t v;

	__asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
}
#else
static inline uint64_t demo_cycles(void)
{
	return demo_now_ns();
}
#endif

/* Describe the counter behind demo_cycles() into @what (on x86-64 after
 * measuring the TSC against CLOCK_MONOTONIC for @ms milliseconds). */
void demo_cycles_describe(char *what, size_t len, unsigned ms);

/* ---- Latency histogram ------------------------------------------------------ */

/* Log-linear: 32 linear steps per power of two (about 3% resolution), from
 * 0 to 2^64 ns; fixed size, nothing allocated per sample. */
#define DEMO_HIST_SUB_BITS 5u
#define DEMO_HIST_SUB (1u << DEMO_HIST_SUB_BITS)
#define DEMO_HIST_BUCKETS ((64u - DEMO_HIST_SUB_BITS + 1u) * DEMO_HIST_SUB)

struct demo_hist {
	uint64_t count;
	uint64_t max;
	uint64_t bucket[DEMO_HIST_BUCKETS];
};

void demo_hist_add(struct demo_hist *h, uint64_t v);
/* The value at or below which a fraction @q of the samples lie (upper edge
 * of its bucket, never above the maximum); 0 when empty. */
uint64_t demo_hist_quantile(const struct demo_hist *h, double q);

/* ---- CPUs ---------------------------------------------------------------------- */

/* Pin the calling process to the @index-th CPU it may run on (counting from
 * 0, modulo their number), when it may run on at least two. Best effort. Returns the CPU number,
 * or -1 when not pinned. */
int demo_pin(unsigned index);
/* Give back the CPUs demo_pin() took away (a child about to exec another
 * program that pins itself). */
void demo_unpin(void);

/* ---- Arguments ------------------------------------------------------------------ */

/* Parse a decimal number in [min, max] for option @opt; on failure print
 * why to stderr, prefixed with @prog, and return -1. */
int demo_parse_u64(const char *prog, const char *opt, const char *s,
		   uint64_t min, uint64_t max, uint64_t *out);

/* "--opt=value" or "--opt value": match @name at argv[*i], set *val and
 * advance *i past a separate value. Returns 1 on a match with a value, 0
 * when argv[*i] is not @name, -1 when the value is missing (printed). */
int demo_opt_value(const char *prog, int argc, char **argv, int *i,
		   const char *name, const char **val);

/* ---- Reporting ------------------------------------------------------------------- */

struct demo_summary {
	const char *who;       /* "aaos" or "rtos" */
	uint64_t messages;     /* round trips (aaos) or messages served (rtos) */
	uint64_t ns;           /* wall time of the run */
	uint64_t cycles;       /* demo_cycles() over the same interval (wall) */
	uint64_t cpu_ns;       /* CPU time of this process over the interval */
	const char *clock;     /* demo_cycles_describe() */
	const char *lat_what;  /* what the histogram measures */
	const struct demo_hist *lat;
	const struct vr_chan_stats *stats;
	bool polling;          /* no doorbells: nothing was really rung */
};

void demo_print_summary(const struct demo_summary *s);

/* Progress of a long run, printed at most once a second. */
struct demo_progress {
	uint64_t next_ns;    /* print at or after this time (0: first call sets it) */
	uint64_t last_ns;    /* time and count of the previous line */
	uint64_t last_count;
};

/* Print one progress line when a second has passed since the last one:
 * @count of @total @what (total 0: unknown), the rate over the last
 * interval (wall clock), and @lat's p50/p99 so far, labelled @lat_what. */
void demo_progress_tick(struct demo_progress *p, const char *who, const char *what,
			uint64_t count, uint64_t total, uint64_t now_ns,
			const struct demo_hist *lat, const char *lat_what);

/* A one-line account of a channel or transport error @err during @what,
 * naming the peer's fate when it is VR_EPEERDEAD. Returns the exit code. */
int demo_report_error(const char *prog, const char *what, int err,
		      const struct vr_shm *shm);

#endif /* AAOS_RTOS_COMMON_H */
