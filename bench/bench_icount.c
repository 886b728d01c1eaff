/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vring_icount: the benchmark bodies of bench/ behind a second face of
 * bench_shim.h, made to be counted by callgrind instead of timed.
 *
 * Google Benchmark picks its iteration counts from the clock, so two runs
 * never execute the same instructions. Here a body runs for a fixed number
 * of messages, and callgrind's collection is switched on by the first
 * vb_run() (after the body's set-up) and off by the last one (before its
 * tear-down); vb_pause()/vb_resume() switch it off and on in between, as
 * they stop the timer under Google Benchmark. Run under
 *
 *   valgrind --tool=callgrind --collect-atstart=no vring_icount NAME/ARG MSGS
 *
 * callgrind's "Collected" total divided by MSGS is the instructions per
 * message of that benchmark, harness included: exact and the same on any
 * x86-64 machine for the same binary (scripts/bench.sh --instructions).
 *
 * Only the single-thread pattern (local: both roles on one CPU) is offered:
 * in the two-thread patterns one side spins while it waits, and the count
 * would measure the scheduler. BM_harness_* are the same local bodies on a
 * null ring or queue (bench_vring.c, bench_peer.h): their count is the
 * harness alone, which report_instructions.py subtracts to give each ring's
 * own cost.
 *
 *   vring_icount --list              the benchmarks it can count
 *   vring_icount NAME/ARG MESSAGES   run one, e.g. BM_packed_local/32 100000
 *
 * Per role (issue 14 asks that IN_ORDER cost less than plain for the
 * driver and for the device): the libvring local bodies and their
 * harnesses also exist with a switch of callgrind's collection at each
 * change of role, twice per batch (bench_vring.c, VRB_ROLES):
 *
 *   vring_icount --list-roles                     what can be split
 *   vring_icount --roles driver NAME/ARG MESSAGES the driver's steps alone
 *   vring_icount --roles device NAME/ARG MESSAGES the device's steps alone
 *
 * The driver's steps: the batch's adds and kick_prepare, the collection
 * and its checks, and the loop's own control (vb_run); the device's: pop
 * (or pop_burst, pop_bufs) and its checks, completion and notify_prepare.
 * "driver" starts with collection on, "device" with it off; the two runs
 * execute the same instructions, so each is counted in exactly one of
 * them and driver + device is the role instance's whole loop (the plain
 * body's instructions plus the two switches per batch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>

#include "bench_common.h"
#include "bench_shim.h"

struct vb_state {
	uint64_t want;    /* messages to run */
	uint64_t done;    /* messages handed out by vb_run */
	int64_t arg;      /* the instance's one argument (batch) */
	bool started, stopped, paused;
	/* --roles device: collection starts off (the body switches it on at
	 * each device step and off after it), so vb_run leaves it alone. */
	bool role_device;
	const char *failed;
};

static int g_failed;

bool vb_run(struct vb_state *s, uint64_t n)
{
	if (!s->started) {
		s->started = true;
		CALLGRIND_ZERO_STATS;
		if (!s->role_device)
			CALLGRIND_TOGGLE_COLLECT;
	}
	if (s->failed || s->done >= s->want) {
		if (!s->stopped) {
			s->stopped = true;
			if (!s->paused && !s->role_device)
				CALLGRIND_TOGGLE_COLLECT;
		}
		return false;
	}
	s->done += n;
	return true;
}

bool vb_last(const struct vb_state *s)
{
	return s->done >= s->want;
}

int64_t vb_arg(const struct vb_state *s, unsigned i, int64_t dflt)
{
	return i == 0 ? s->arg : dflt;
}

void vb_pause(struct vb_state *s)
{
	/* (The local bodies, the only ones counted, never pause.) */
	if (s->started && !s->stopped && !s->paused && !s->role_device) {
		s->paused = true;
		CALLGRIND_TOGGLE_COLLECT;
	}
}

void vb_resume(struct vb_state *s)
{
	if (s->paused) {
		s->paused = false;
		CALLGRIND_TOGGLE_COLLECT;
	}
}

void vb_counter(struct vb_state *s, const char *name, double value)
{
	(void)s;
	(void)name;
	(void)value;
}

void vb_items(struct vb_state *s, uint64_t n)
{
	(void)s;
	(void)n;
}

void vb_fail(struct vb_state *s, const char *msg)
{
	/* A copy: bodies pass messages built in their own stack frames. */
	static char why[256];

	if (!s->failed) {
		snprintf(why, sizeof(why), "%s", msg);
		s->failed = why;
		g_failed++;
	}
}

void vb_context(const char *key, const char *value)
{
	(void)key;
	(void)value;
}

static const struct vb_bench *const lists[] = {
	vb_vring_benches,
#ifdef VB_HAVE_CK
	vb_ck_ring_list,
#endif
#ifdef VB_HAVE_URCU
	vb_urcu_wfcq_list,
#endif
#ifdef VB_HAVE_DPDK
	vb_dpdk_ring_list,
	vb_dpdk_ring16_list,
#endif
	NULL,
};

static const struct vb_bench *const role_lists[] = {
#ifdef VRB_ROLES
	vb_vring_role_benches,
#endif
	NULL,
};

static const int64_t batches[] = {1, 8, 32, 256};
/* The role split: the batches the report's role table shows. */
static const int64_t role_batches[] = {1, 8, 32};

static void usage(FILE *out)
{
	fprintf(out, "usage: vring_icount --list | --list-roles\n"
		     "       vring_icount [--roles driver|device] NAME/BATCH MESSAGES\n"
		     "         (under valgrind --tool=callgrind --collect-atstart=no)\n");
}

static void list(const struct vb_bench *const *ls, const int64_t *bs, size_t nb)
{
	for (size_t i = 0; ls[i]; i++)
		for (const struct vb_bench *b = ls[i]; b->name; b++)
			if (b->pattern == VB_LOCAL)
				for (size_t k = 0; k < nb; k++)
					printf("%s/%lld\n", b->name, (long long)bs[k]);
}

int main(int argc, char **argv)
{
	const struct vb_bench *const *ls = lists;
	const struct vb_bench *found = NULL;
	struct vb_state s;
	char *end, name[96];
	const char *slash;
	unsigned long long msgs;
	long long batch;
	bool role_device = false;
	size_t i;

	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		list(lists, batches, sizeof(batches) / sizeof(batches[0]));
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--list-roles") == 0) {
		list(role_lists, role_batches, sizeof(role_batches) / sizeof(role_batches[0]));
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "--roles") == 0) {
		if (strcmp(argv[2], "device") == 0) {
			role_device = true;
		} else if (strcmp(argv[2], "driver") != 0) {
			fprintf(stderr, "vring_icount: role \"%s\" is not driver or device\n",
				argv[2]);
			return 2;
		}
		ls = role_lists;
		argc -= 2;
		argv += 2;
	}
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	slash = strrchr(argv[1], '/');
	if (!slash || (size_t)(slash - argv[1]) >= sizeof(name)) {
		fprintf(stderr, "vring_icount: \"%s\" is not NAME/BATCH\n", argv[1]);
		return 2;
	}
	memcpy(name, argv[1], (size_t)(slash - argv[1]));
	name[slash - argv[1]] = '\0';
	batch = strtoll(slash + 1, &end, 10);
	if (*end || batch < 1 || batch > 256) {
		fprintf(stderr, "vring_icount: batch \"%s\" is not 1..256\n", slash + 1);
		return 2;
	}
	msgs = strtoull(argv[2], &end, 10);
	if (*end || msgs < (unsigned long long)batch || msgs > 100000000ull) {
		fprintf(stderr, "vring_icount: MESSAGES \"%s\" is not %lld..100000000\n",
			argv[2], batch);
		return 2;
	}
	for (i = 0; ls[i] && !found; i++)
		for (const struct vb_bench *b = ls[i]; b->name; b++)
			if (b->pattern == VB_LOCAL && strcmp(b->name, name) == 0) {
				found = b;
				break;
			}
	if (!found) {
		fprintf(stderr, "vring_icount: no local benchmark \"%s\"%s (try %s)\n", name,
			ls == lists ? "" : " with a role split",
			ls == lists ? "--list" : "--list-roles");
		return 2;
	}
	/* Whole batches: the count is divided by what really ran. */
	memset(&s, 0, sizeof(s));
	s.want = msgs - msgs % (unsigned long long)batch;
	s.arg = batch;
	s.role_device = role_device;
	found->fn(&s);
	if (g_failed) {
		fprintf(stderr, "vring_icount: %s failed: %s\n", argv[1], s.failed);
		return 1;
	}
	printf("%s messages %llu\n", argv[1], (unsigned long long)s.done);
	return 0;
}
