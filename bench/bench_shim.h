/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The C face of the benchmark harness. Benchmark bodies are C11 and see only
 * this header; bench_shim.cpp (the one C++ file) maps every call onto Google
 * Benchmark's benchmark::State and registers the bodies listed in
 * vb_suite[]. Nothing here is part of libvring.
 *
 * A body looks like Google Benchmark's own loop, with messages as the
 * iteration unit:
 *
 *     static void bm_x_stream(struct vb_state *s)
 *     {
 *         unsigned batch = (unsigned)vb_arg(s, 0);
 *         ... set up, outside the timer ...
 *         while (vb_run(s, batch)) {
 *             ... move `batch` messages; if vb_last(s), drain ...
 *         }
 *         vb_counter(s, "cycles_per_msg", ...);
 *     }
 *
 * Threads: only the thread that runs the body may call these functions.
 */
#ifndef VB_BENCH_SHIM_H
#define VB_BENCH_SHIM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque: a benchmark::State behind a C pointer. */
struct vb_state;

/** benchmark::State::KeepRunningBatch(n): true while @p n more iterations
 *  (messages) are wanted; the first call starts the timer, the last one
 *  (returning false) stops it. */
bool vb_run(struct vb_state *s, uint64_t n);

/** True inside the last vb_run() batch: the body drains its ring now so
 *  that the time of the final messages is inside the measurement. */
bool vb_last(const struct vb_state *s);

/** Argument @p i of this instance (batch, payload, queue size), or
 *  @p dflt when the instance has fewer arguments. */
int64_t vb_arg(const struct vb_state *s, unsigned i, int64_t dflt);

/** Stop / restart the timer (benchmark::State::PauseTiming/ResumeTiming)
 *  around work inside the loop that must not be measured. */
void vb_pause(struct vb_state *s);
void vb_resume(struct vb_state *s);

/** A named figure reported with the run (and in its aggregates). */
void vb_counter(struct vb_state *s, const char *name, double value);

/** Messages processed, for Google Benchmark's items_per_second. */
void vb_items(struct vb_state *s, uint64_t n);

/** Fail the run with @p msg (benchmark::State::SkipWithError), at most
 *  once per run; the body then leaves its loop and returns. A failed run
 *  makes vring_bench exit non-zero. */
void vb_fail(struct vb_state *s, const char *msg);

/** A key/value pair in the JSON "context" of the whole run. */
void vb_context(const char *key, const char *value);

/* ---- The suite: what bench_shim.cpp registers ---------------------------- */

/** Argument sets a body is registered with. */
enum vb_pattern {
	VB_STREAM,   /* /<batch>/<payload>, and /32/8/256 (queue size 256) */
	VB_PINGPONG, /* /<batch> */
	VB_LOCAL     /* /<batch> */
};

struct vb_bench {
	const char *name; /* "BM_<impl>_<pattern>" */
	void (*fn)(struct vb_state *s);
	enum vb_pattern pattern;
};

/** The bodies of each implementation (NULL-terminated lists), filled in by
 *  the files that are compiled in (a peer whose package is missing is
 *  simply absent). */
extern const struct vb_bench vb_vring_benches[];
/** vring_icount only (VRB_ROLES): the local bodies of vb_vring_benches
 *  with callgrind's collection switched at each change of role. */
extern const struct vb_bench vb_vring_role_benches[];
extern const struct vb_bench vb_cacheline_benches[];
extern const struct vb_bench vb_ck_ring_list[];
extern const struct vb_bench vb_urcu_wfcq_list[];
extern const struct vb_bench vb_dpdk_ring_list[];
extern const struct vb_bench vb_dpdk_ring16_list[];

/** Start-up work of the C side (clock calibration, CPU choice from
 *  --vb_cpus=A,B or VB_CPUS); called by main() before anything runs.
 *  Returns 0, or -1 after printing why it cannot run. */
int vb_setup(int *argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* VB_BENCH_SHIM_H */
