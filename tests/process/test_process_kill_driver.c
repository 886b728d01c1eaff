/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kill -9 of the driver mid-stream. Here vr_peer is the driver (listener,
 * memfd region) and this process is the device. At two random points the
 * test SIGKILLs the driver; the device's next blocking call must report
 * VR_EPEERDEAD within a bound (2 s with doorbells; the liveness timeout
 * plus 1 s when polling). The region died with the driver: the test starts
 * a new driver on the same socket path, the device reconnects
 * (vr_shm_connect retries until the new listener answers), opens the
 * channel again and, as its first message, tells the new driver the next
 * seq it expects (application-level resume). The device counts each seq
 * before it releases the message (acknowledges it), so at the end every
 * seq must have been received exactly once.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <vring/channel.h>
#include <vring/shm.h>

#include "common.h"

#ifndef VR_PEER_PATH
#define VR_PEER_PATH "vr_peer"
#endif

#define KILLS 2
#define DOORBELL_BOUND_NS (2 * PC_SEC)
#define POLLING_MARGIN_NS (1 * PC_SEC)
/* Both ends watch each other's heartbeat in every mode: a liveness timeout
 * a loaded two-core machine under a sanitizer does not miss (a heartbeat
 * thread starved for 300 ms happens there). */
#define LIVENESS_NS (1000 * PC_MS)
#define QSIZE 128
#define BUF_BYTES 1024
#define BUF_COUNT 128

static const char *g_peer = VR_PEER_PATH;

struct kd {
	char dir[128];
	char sock[192];
	uint32_t format;
	bool polling;
	uint32_t n;
	uint64_t seed;
	uint64_t timeout_ns;
	pid_t drv;
	unsigned drivers;
	struct vr_shm shm;
	bool attached;
	struct vr_chan ch;
	void *state;
	uint8_t *count;
};

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct kd));
	return *state ? 0 : -1;
}

static void detach(struct kd *k)
{
	if (k->attached) {
		vr_shm_close(&k->shm);
		k->attached = false;
	}
}

static int teardown(void **state)
{
	struct kd *k = (struct kd *)*state;

	pc_kill_reap(&k->drv);
	detach(k);
	free(k->state);
	free(k->count);
	if (k->dir[0])
		pc_rmdir_all(k->dir);
	free(k);
	return 0;
}

static const char *name_of(const struct kd *k)
{
	if (k->format == VR_FORMAT_PACKED)
		return k->polling ? "packed polling" : "packed doorbells";
	return k->polling ? "split polling" : "split doorbells";
}

static void spawn_driver(struct kd *k)
{
	char s_end[16], s_seed[24], s_to[24], s_q[16], s_bb[16], s_bc[16], s_live[16];
	char *argv[32];
	int a = 0;

	snprintf(s_end, sizeof(s_end), "%u", k->n);
	snprintf(s_seed, sizeof(s_seed), "%llu", (unsigned long long)k->seed);
	snprintf(s_to, sizeof(s_to), "%llu", (unsigned long long)(k->timeout_ns / PC_MS));
	snprintf(s_q, sizeof(s_q), "%u", QSIZE);
	snprintf(s_bb, sizeof(s_bb), "%u", BUF_BYTES);
	snprintf(s_bc, sizeof(s_bc), "%u", BUF_COUNT);
	snprintf(s_live, sizeof(s_live), "%llu", (unsigned long long)(LIVENESS_NS / PC_MS));
	argv[a++] = (char *)g_peer;
	argv[a++] = (char *)"driver";
	argv[a++] = (char *)"--socket";
	argv[a++] = k->sock;
	argv[a++] = (char *)"--end";
	argv[a++] = s_end;
	argv[a++] = (char *)"--seed";
	argv[a++] = s_seed;
	argv[a++] = (char *)"--min-len";
	argv[a++] = (char *)"4";
	argv[a++] = (char *)"--format";
	argv[a++] = (char *)(k->format == VR_FORMAT_PACKED ? "packed" : "split");
	argv[a++] = (char *)"--queue-size";
	argv[a++] = s_q;
	argv[a++] = (char *)"--buf-bytes";
	argv[a++] = s_bb;
	argv[a++] = (char *)"--buf-count";
	argv[a++] = s_bc;
	argv[a++] = (char *)"--liveness-ms";
	argv[a++] = s_live;
	argv[a++] = (char *)"--timeout-ms";
	argv[a++] = s_to;
	if (k->polling)
		argv[a++] = (char *)"--polling";
	argv[a] = NULL;
	k->drv = pc_spawn(g_peer, argv);
	assert_true(k->drv > 0);
	k->drivers++;
}

static void send_ctl(struct kd *k, uint32_t kind, uint32_t next)
{
	struct pc_ctl c;
	int r;

	memset(&c, 0, sizeof(c));
	c.magic = PC_CTL_MAGIC;
	c.kind = kind;
	c.next = next;
	c.pid = (uint32_t)getpid();
	r = vr_chan_send(&k->ch, &c, sizeof(c), k->timeout_ns);
	if (r)
		fail_msg("%s: sending control message %u: %s", name_of(k), kind,
			 vr_strerror(r));
}

/* Connect to the current driver, open the channel, say where to resume. */
static void attach(struct kd *k, uint32_t next)
{
	struct vr_chan_cfg cc;
	uint64_t end;
	size_t n;
	int r;

	memset(&k->shm, 0, sizeof(k->shm));
	r = vr_shm_connect(&k->shm, k->sock, k->timeout_ns);
	if (r)
		fail_msg("%s: vr_shm_connect: %s (%s)", name_of(k), vr_strerror(r),
			 vr_shm_last_error(&k->shm));
	k->attached = true;
	n = vr_chan_state_size(&k->shm.t);
	assert_true(n > 0);
	free(k->state);
	k->state = aligned_alloc(64, (n + 63) & ~(size_t)63);
	assert_non_null(k->state);
	memset(&cc, 0, sizeof(cc));
	cc.features = PC_OFFERED; /* the driver chooses */
	end = pc_now_ns() + k->timeout_ns;
	while ((r = vr_chan_open(&k->ch, &k->shm.t, &cc, k->state, n)) == VR_EAGAIN) {
		if (pc_now_ns() > end)
			fail_msg("%s: driver not ready in time", name_of(k));
		pc_sleep_ns(PC_MS / 2);
	}
	assert_int_equal(r, 0);
	send_ctl(k, PC_RESUME, next);
}

static void kill_driver(void **state, uint32_t format, bool polling)
{
	struct kd *k = (struct kd *)*state;
	struct vr_chan_msg m;
	uint32_t next = 0, kill_at[KILLS], i;
	uint64_t rng, t_kill = 0, bound, t0;
	unsigned kills = 0;
	char why[64];
	int r, status;

	k->format = format;
	k->polling = polling;
	k->n = pc_kill_messages();
	k->seed = pc_env_u64("VR_PROCESS_SEED", 0x5eed0001);
	k->timeout_ns = pc_env_u64("VR_PROCESS_TIMEOUT_MS", 10000) * PC_MS;
	k->count = calloc(k->n, 1);
	assert_non_null(k->count);
	bound = polling ? LIVENESS_NS + POLLING_MARGIN_NS : DOORBELL_BOUND_NS;
	rng = pc_env_u64("VR_PROCESS_SEED", pc_now_ns()) | 1;
	printf("[ kill drv] %s: seed %llu\n", name_of(k), (unsigned long long)rng);
	/* As in test_process_kill_device: [10 %, 40 %) and [50 %, 80 %). */
	kill_at[0] = k->n / 10 + (uint32_t)(pc_rand(&rng) % (k->n * 3 / 10));
	kill_at[1] = k->n / 2 + (uint32_t)(pc_rand(&rng) % (k->n * 3 / 10));
	assert_int_equal(pc_mkdtemp(k->dir, sizeof(k->dir), "killdrv"), 0);
	snprintf(k->sock, sizeof(k->sock), "%s/sock", k->dir);

	spawn_driver(k);
	attach(k, 0);
	t0 = pc_now_ns();
	while (next < k->n) {
		uint32_t seq, bad;

		r = vr_chan_recv_borrow(&k->ch, &m, k->timeout_ns);
		if (r == VR_EPEERDEAD && t_kill) {
			uint64_t dt = pc_now_ns() - t_kill;

			printf("[ kill drv] %s: driver %u killed at seq %u; VR_EPEERDEAD "
			       "after %.1f ms (%s); resuming at %u\n", name_of(k),
			       k->drivers - 1, kill_at[kills - 1], (double)dt / 1e6,
			       vr_shm_peer_error(&k->shm), next);
			if (dt > bound)
				fail_msg("%s: peer death reported after %.1f ms (bound %.0f ms)",
					 name_of(k), (double)dt / 1e6, (double)bound / 1e6);
			t_kill = 0;
			detach(k);
			spawn_driver(k);
			attach(k, next);
			continue;
		}
		if (r < 0)
			fail_msg("%s: vr_chan_recv_borrow at seq %u: %s (%s)", name_of(k),
				 next, vr_strerror(r), vr_shm_peer_error(&k->shm));
		assert_int_equal(m.nseg, 1);
		if (m.len < 4)
			fail_msg("%s: message of %u bytes", name_of(k), m.len);
		seq = pc_seq_of(m.data);
		if (seq != next)
			fail_msg("%s: got seq %u, expected %u (%s)", name_of(k), seq, next,
				 seq < next ? "a repeat" : "a gap");
		if (m.len != pc_len(k->seed, seq, 4, BUF_BYTES))
			fail_msg("%s: seq %u has %u bytes, expected %u", name_of(k), seq,
				 m.len, pc_len(k->seed, seq, 4, BUF_BYTES));
		pc_check(m.data, k->seed, seq, m.len, &bad);
		if (bad != UINT32_MAX)
			fail_msg("%s: seq %u: byte %u wrong", name_of(k), seq, bad);
		/* Counted ("logged") before it is acknowledged. */
		k->count[seq]++;
		r = vr_chan_recv_release(&k->ch, &m);
		if (r)
			fail_msg("%s: release seq %u: %s", name_of(k), seq, vr_strerror(r));
		next++;
		if (kills < KILLS && next == kill_at[kills]) {
			t_kill = pc_now_ns();
			kill(k->drv, SIGKILL);
			assert_int_equal(pc_wait(k->drv, k->timeout_ns, &status), 0);
			k->drv = 0;
			assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
			kills++;
		}
	}
	assert_int_equal(kills, KILLS);
	send_ctl(k, PC_DONE, next);
	assert_int_equal(pc_wait(k->drv, k->timeout_ns, &status), 0);
	k->drv = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: last driver %s", name_of(k),
			 pc_status_str(status, why, sizeof(why)));
	for (i = 0; i < k->n; i++)
		if (k->count[i] != 1)
			fail_msg("%s: seq %u received %u times", name_of(k), i, k->count[i]);
	printf("[ kill drv] %s: %u messages, %u drivers, each seq exactly once, "
	       "%.2f s\n", name_of(k), k->n, k->drivers,
	       (double)(pc_now_ns() - t0) / 1e9);
}

static void split_doorbells(void **state)
{
	kill_driver(state, VR_FORMAT_SPLIT, false);
}

static void split_polling(void **state)
{
	kill_driver(state, VR_FORMAT_SPLIT, true);
}

static void packed_doorbells(void **state)
{
	kill_driver(state, VR_FORMAT_PACKED, false);
}

static void packed_polling(void **state)
{
	kill_driver(state, VR_FORMAT_PACKED, true);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(split_doorbells, setup, teardown),
		cmocka_unit_test_setup_teardown(split_polling, setup, teardown),
		cmocka_unit_test_setup_teardown(packed_doorbells, setup, teardown),
		cmocka_unit_test_setup_teardown(packed_polling, setup, teardown),
	};

	if (argc > 1)
		g_peer = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
