/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vring_latency: round-trip latency of a libvring channel between two
 * processes over the host shared-memory transport (transports/shm), under
 * each notification/wait policy and each load. What the parts share:
 *
 *   lat_main.c    options, the (policy, load) matrix, the summary
 *   lat_policy.c  the policies: names, parameters, applying them
 *   lat_run.c     one run: fork the device, connect, warm up, measure
 *   lat_client.c  the client's three loads (one at a time, paced, saturation)
 *   lat_device.c  the device process: answer every request
 *   lat_calib.c   what this machine's doorbells and timers cost
 *   lat_place.c   where the host put the two vCPUs during each run
 *   lat_sys.c     clocks, CPU pinning, CPU time, watchdog, machine facts
 *   lat_json.c    each run's figures, the medians over the rounds, the JSON
 *                 file and the text tables
 *   lat_hist.c    the histogram
 *
 * The client is the channel's driver (it creates the region), the device
 * the other process. A "message" throughout is one request and its reply
 * (one round trip): rates, throughput, doorbells and CPU are per message.
 */
#ifndef VL_LAT_H
#define VL_LAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <vring/channel.h>
#include <vring/shm.h>

#include "lat_hist.h"

#define VL_PROG "vring_latency"

/* Exit codes. */
enum {
	VL_EXIT_OK = 0,
	VL_EXIT_FAIL = 1,  /* a run failed: wrong or missing reply, set-up */
	VL_EXIT_USAGE = 2  /* bad arguments */
};

/* ---- Clock ----------------------------------------------------------------- */

/* CLOCK_MONOTONIC in ns: the transport's clock too, so timeouts, pacing
 * and measurement all use one time base (vDSO, about 20-40 ns a read). */
static inline uint64_t vl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void vl_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* ---- Policies (lat_policy.c) ------------------------------------------------- */

struct vl_policy {
	char name[32];     /* "event-idx", or a label given on the command line */
	char base[32];     /* the built-in policy it starts from */
	char params[160];  /* what is in force, in words, for the report */
	bool event_idx;    /* negotiate VIRTIO_F_EVENT_IDX */
	bool polling;      /* VR_SHM_POLLING transport: no doorbells at all */
	struct vr_notify_policy notify; /* both queues, both ends */
	struct vr_wait_policy wait;     /* both queues, both ends */
};

/* Parse "name[:key=value,...]" into @p (keys: spin_ns, spin_min_ns,
 * spin_max_ns, adapt, coalesce_msgs, coalesce_us, batch, label). Returns 0,
 * or -1 after printing why. */
int vl_policy_parse(const char *spec, struct vl_policy *p);
/* The built-in matrix, NULL-terminated: notify-always, flags, event-idx,
 * coalesce, adaptive, polling. */
extern const char *const vl_default_policies[];
/* Set @p's notify and wait policies on both queues of @ch. */
int vl_policy_apply(const struct vl_policy *p, struct vr_chan *ch);
/* The ring features to offer and ask for. */
uint64_t vl_policy_features(const struct vl_policy *p);

/* ---- Loads ----------------------------------------------------------------- */

enum vl_load_kind {
	VL_LOAD_SINGLE = 0,     /* next request right after the reply */
	VL_LOAD_PACED = 1,      /* requests at scheduled times, pipelined */
	VL_LOAD_SATURATION = 2  /* as many outstanding as the TX ring holds */
};

struct vl_load {
	char name[32];     /* "single", "paced-10k", "paced-100k", "saturation" */
	uint32_t kind;
	uint64_t rate;     /* paced: messages per second */
	double seconds;    /* measured phase (bounded by messages too) */
};

/* single, paced-10k, paced-100k, saturation; NULL-terminated. */
extern const char *const vl_default_loads[];
int vl_load_parse(const char *spec, struct vl_load *l);

/* ---- Options ------------------------------------------------------------------ */

struct vl_opts {
	uint32_t qsize;          /* ring size of both queues */
	uint32_t format;         /* VR_FORMAT_SPLIT or VR_FORMAT_PACKED */
	uint32_t msg_bytes;      /* request and reply size */
	double seconds;          /* > 0: every load runs this long */
	uint64_t max_messages;   /* > 0: a run stops after this many too */
	double warmup_seconds;   /* unrecorded phase before each run */
	uint64_t warmup_messages;/* ... or this many messages, if fewer */
	uint64_t reply_timeout_ns; /* a reply later than this is a failure */
	int cpu_client, cpu_device; /* -1: not pinned */
	uint32_t calib_rounds;   /* eventfd and timer calibration rounds (0: none) */
	uint32_t fault;          /* enum vl_fault: tests of the tool's own checks */
	int rt_priority;         /* > 0: both processes SCHED_FIFO at this priority */
	uint32_t rounds;         /* the whole matrix is measured this many times */
	double apart_factor;     /* a run whose placement probe is above this many
				  * times the usual one ran apart (0: never) */
	bool verbose;
};

/* Faults the device can inject (--fault), to prove that the client
 * notices: it must fail with a message, never hang. */
enum vl_fault {
	VL_FAULT_NONE = 0,
	VL_FAULT_DROP = 1,    /* no reply to one request */
	VL_FAULT_CORRUPT = 2, /* a reply with a wrong check word */
	VL_FAULT_EXIT = 3,    /* the device exits mid-run */
	/* Not the device's: the placement probes of a run's first attempt read
	 * VL_FAULT_APART_X times what they measured, as if the host had put the
	 * vCPUs apart (a repeated attempt reads them as they are). */
	VL_FAULT_APART = 4,
	/* Not the device's either: the first probe of the whole run (whatever
	 * --fault-round says) reads VL_FAULT_FAST_DIV times less, as one probe
	 * of a rarer, faster placement would; it must not make the usual runs
	 * look apart. */
	VL_FAULT_FAST = 5
};

#define VL_FAULT_APART_X 1000u
#define VL_FAULT_FAST_DIV 100u

/* The request (counted from 1 in each device) that a fault hits. */
#define VL_FAULT_AT 100u

/* ---- Counters of one end (both queues) --------------------------------------- */

/* The VR_RS_* slots this tool reads: PUBLISHED .. SPIN_HITS. */
#define VL_NSTAT 10u

struct vl_counts {
	uint64_t q[2][VL_NSTAT]; /* [VR_CHAN_TX / VR_CHAN_RX][VR_RS_*] */
};

void vl_counts_read(const struct vr_chan *ch, struct vl_counts *c);
/* @a = @b - @a, slot by slot. */
void vl_counts_delta(struct vl_counts *a, const struct vl_counts *b);
uint64_t vl_counts_sum(const struct vl_counts *c, unsigned which);

/* ---- One run's result ----------------------------------------------------------- */

struct vl_result {
	struct vl_policy policy;
	struct vl_load load;
	uint64_t messages;       /* round trips measured */
	uint64_t elapsed_ns;     /* measured phase, wall clock */
	struct vl_hist lat;      /* round trip; paced: from the scheduled send */
	struct vl_hist service;  /* paced: from the actual send */
	struct vl_hist late;     /* paced: actual send - scheduled send */
	uint32_t max_outstanding;
	uint64_t cpu_client_ns;  /* getrusage user + sys, whole process */
	uint64_t cpu_device_ns;
	struct vl_counts client; /* driver end */
	struct vl_counts device; /* device end */
	int client_cpu, device_cpu; /* where they ran (-1: not pinned) */
};

/* ---- One run's figures, and a cell's rounds (lat_json.c) ------------------------- */

/* The scalar figures of one run (one round of a cell), derived from its
 * vl_result; a cell's reported figures are the median over its rounds of
 * each. Per message = per round trip. */
enum vl_fig_id {
	VL_F_MESSAGES, VL_F_SECONDS, VL_F_THROUGHPUT,
	VL_F_P50, VL_F_P90, VL_F_P99, VL_F_P999, VL_F_P9999, VL_F_MAX, VL_F_MIN,
	VL_F_MEAN,
	VL_F_NOTIF_MSG, VL_F_NOTIF_PUB,           /* doorbells per message, per publish */
	VL_F_DB_REQ, VL_F_DB_REQ_BACK, VL_F_DB_REPLY_BUF, VL_F_DB_REPLY,
	VL_F_CPU_MSG, VL_F_CPU_CLIENT_MSG, VL_F_CPU_DEVICE_MSG, VL_F_CPU_CORES,
	VL_F_WAKEUPS_MSG, VL_F_SPURIOUS_MSG,
	/* The two queues that wait: the client's RX (replies), the device's
	 * TX (requests): sleeps and spin hits per message. */
	VL_F_CLIENT_SLEEPS, VL_F_CLIENT_HITS, VL_F_DEVICE_SLEEPS, VL_F_DEVICE_HITS,
	VL_F_MAX_OUTSTANDING,
	/* Paced loads: the service time (from the actual send) and how late
	 * the sends were, as count, p50, p90, p99, p99.9, max. */
	VL_F_SVC_COUNT, VL_F_SVC_P50, VL_F_SVC_P90, VL_F_SVC_P99, VL_F_SVC_P999, VL_F_SVC_MAX,
	VL_F_LATE_COUNT, VL_F_LATE_P50, VL_F_LATE_P90, VL_F_LATE_P99, VL_F_LATE_P999,
	VL_F_LATE_MAX,
	VL_F_COUNT
};

/* Points of the distribution plot: percentile 1 - 10^(-i/10) for i = 0 ..
 * while a sample lies above, at most VL_DIST_MAX of them. */
#define VL_DIST_MAX 101u

struct vl_fig {
	bool ok;                  /* the run passed (else nothing below counts) */
	uint32_t round;           /* 1 .. rounds */
	uint32_t seq;             /* its place in the whole run, from 1 */
	double started_s;         /* when it began, seconds after the first run */
	double v[VL_F_COUNT];
	struct vl_counts client, device;
	uint64_t dist[VL_DIST_MAX];
	uint32_t ndist;
	int client_cpu, device_cpu;
	/* Placement (lat_place.c): the cross-core round trip probed just
	 * before and just after the run, ns (0: not probed), the larger, and
	 * whether it ran with the vCPUs apart. */
	uint64_t xcore_before_ns, xcore_after_ns, xcore_ns;
	bool apart;
	uint32_t attempts; /* 1, or more when runs made apart were repeated */
};

/* The figures of the run @r. */
void vl_fig_from_result(const struct vl_result *r, struct vl_fig *f);

/* One (policy, load) of the matrix and its rounds. */
struct vl_cell {
	const struct vl_policy *policy;
	const struct vl_load *load;
	struct vl_fig *fig; /* [rounds], in round order */
};

/* ---- Runs (lat_run.c, lat_client.c, lat_device.c) ------------------------------- */

/* One (policy, load) run: fork the device, connect, warm up, measure,
 * collect both ends' counters and CPU time. Returns 0, or VL_EXIT_FAIL
 * after printing why (never hangs: every wait has a deadline). */
int vl_run(const struct vl_opts *o, const struct vl_policy *p,
	   const struct vl_load *l, struct vl_result *r);

/* A request in flight. */
struct vl_slot {
	uint64_t seq;
	uint64_t sched; /* when it was due */
	uint64_t sent;  /* when the send call began */
	bool busy;
};

/* The client side of the channel during a run. */
struct vl_client {
	struct vr_chan *ch;
	const struct vl_opts *o;
	const struct vl_load *load;
	struct vl_result *r;
	uint32_t window;        /* most requests outstanding (TX buffers) */
	uint64_t next_seq;
	uint32_t outstanding;
	uint64_t oldest;        /* lowest sequence number still outstanding */
	struct vl_slot *slot;   /* window slots, indexed by seq & mask */
	uint32_t mask;
	bool record;            /* false during the warm-up */
};

/* Run @c->load for @seconds or @messages round trips (0: no bound),
 * recording into @c->r when @c->record; every request answered before it
 * returns. Returns 0 or VL_EXIT_FAIL (printed). */
int vl_client_phase(struct vl_client *c, double seconds, uint64_t messages);
/* Send a control message (START / STOP) and wait for its answer, copied
 * into @reply (@cap bytes). Returns its length, or -1 (printed). */
int vl_client_control(struct vl_client *c, uint32_t kind, void *reply, size_t cap);

/* The device process: connect to @sock, serve until the client hangs up.
 * Returns the exit code. */
int vl_device_main(const char *sock, const struct vl_opts *o,
		   const struct vl_policy *p);

/* ---- Calibration (lat_calib.c) --------------------------------------------------- */

struct vl_calib {
	uint32_t rounds;
	/* Process ping-pong on two CPUs: eventfd with blocking reads (the
	 * doorbell path) and a spin on shared memory (the polling path);
	 * round trips, ns. */
	uint64_t efd_p50, efd_p99, efd_max;
	uint64_t efd_cpu_ns; /* CPU of both processes per eventfd round trip */
	uint64_t spin_p50, spin_p99, spin_max;
	/* A 10 us ppoll() timeout: how late it returns, ns. */
	uint64_t timer_p50, timer_p99, timer_max;
	/* One eventfd write (the doorbell a notifier rings), ns of CPU. */
	uint64_t efd_write_ns;
};

int vl_calibrate(const struct vl_opts *o, struct vl_calib *c);
/* @rounds round trips of a spin ping-pong between the client's CPU (the
 * caller's) and a child on the device's, each into @h. 0, or -1 when the
 * child failed or stopped answering. */
int vl_spin_pingpong(const struct vl_opts *o, uint32_t rounds, struct vl_hist *h);

/* ---- Placement (lat_place.c) ------------------------------------------------------ */

/* Round trips per probe: under a millisecond even apart, and enough for a
 * median that one preemption does not move. */
#define VL_PLACE_TRIPS 501u

/* Default of --apart (report.py's APART for the cycle benchmarks). */
#define VL_APART_DEFAULT 1.6
/* Default of --apart-retries. */
#define VL_APART_RETRIES 2u

/* The median cross-core round trip between the two CPUs now, ns; 0 when
 * they are not pinned or the probe failed. About a millisecond. */
uint64_t vl_place_probe(const struct vl_opts *o);

/* A run whose probe is @xcore_ns ran apart: above @factor times
 * @usual_ns (both non-zero). */
bool vl_place_is_apart(double factor, uint64_t usual_ns, uint64_t xcore_ns);

/* The probes so far, for the usual round trip: their 10th percentile, not
 * their minimum (one probe of a rarer, faster placement, e.g. two SMT
 * threads of a core, must not make the usual one look apart). */
struct vl_place_ref {
	uint64_t *v;
	size_t n, cap;
};

/* Add a probe (0: none, ignored; out of memory: ignored). */
void vl_place_ref_add(struct vl_place_ref *r, uint64_t ns);
/* The usual round trip: the 10th percentile of the probes (0: none). */
uint64_t vl_place_ref_usual(const struct vl_place_ref *r);
void vl_place_ref_free(struct vl_place_ref *r);

/* What vl_place_mark found. */
struct vl_place {
	uint64_t usual_ns;   /* the usual probe (vl_place_ref_usual; 0: none) */
	uint32_t probed;     /* passed runs with a probe */
	uint32_t apart;      /* ... that ran apart */
	uint32_t repeated;   /* passed runs measured more than once */
	uint32_t retries;    /* --apart-retries */
};

/* Mark every passed run of the @n cells (@rounds each) whose probe is above
 * @factor times @usual_ns as apart (@factor 0: none); fill @p. */
void vl_place_mark(struct vl_cell *cells, size_t n, uint32_t rounds, double factor,
		   uint64_t usual_ns, struct vl_place *p);

/* ---- System (lat_sys.c) ----------------------------------------------------------- */

struct vl_machine {
	char cpu_model[128];
	int cores;          /* online CPUs */
	int cpus_allowed;   /* CPUs this process may use */
	double load_before[3], load_after[3];
	char date[40];      /* UTC, ISO 8601 */
	char kernel[240];
	char cpuidle[48];   /* cpuidle driver (haltpoll polls in the guest) */
	char hypervisor[32];
};

void vl_machine_probe(struct vl_machine *m);
void vl_loadavg(double out[3]);
/* The @index-th CPU this process may use (modulo), or -1 with fewer than
 * two. */
int vl_cpu_pick(unsigned index);
/* Pin the calling thread (and threads it starts later) to @cpu (-1: no-op). */
int vl_pin(int cpu);
/* User + system CPU time of the whole process (all threads), ns. */
uint64_t vl_cpu_ns(void);
/* Timer slack of 1 ns: a 10 us sleep must not become 60 us. */
void vl_timer_slack_min(void);
/* SCHED_FIFO at @prio for this process (and the device it forks).
 * Returns 0 or an errno. */
int vl_realtime(int prio);
/* Arm (seconds > 0) or disarm (0) a watchdog that ends the process with a
 * message after @seconds: nothing may hang the benchmark. */
void vl_watchdog(const char *who, unsigned seconds);
/* Files the watchdog removes first (NULL: none). */
void vl_watchdog_files(const char *sock, const char *dir);

/* ---- Output (lat_json.c) ----------------------------------------------------------- */

/* Every cell (@n of them, each with @o->rounds rounds) as one record
 * holding the median over its passed rounds of each figure, the spread
 * and the rounds themselves; a cell no round of which passed has no
 * record. The cells with a failed round are listed in failed_runs. */
int vl_json_write(const char *path, const struct vl_opts *o,
		  const struct vl_machine *m, const struct vl_calib *c,
		  const struct vl_place *pl, const struct vl_cell *cells, size_t n);
/* One run as a table line (the header before the first); @rounds > 1
 * puts "round/rounds" in front. */
void vl_fig_line(const struct vl_cell *cell, const struct vl_fig *f, uint32_t rounds);
/* After the last round (@o->rounds > 1): each cell's medians and spread. */
void vl_summary(const struct vl_cell *cells, size_t n, uint32_t rounds);

#endif /* VL_LAT_H */
