/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two-thread stress test: a driver thread and a device thread exchange
 * millions of messages over one region through a small queue, and every
 * byte, sequence number, cookie and notification is checked.
 *
 * This file holds the whole harness and runs it over split rings;
 * test_stress_packed.c defines VR_STRESS_PACKED and includes this file to
 * run the same harness over packed rings (the test directory has no shared
 * helper header of its own yet).
 *
 * The flow, per configuration (queue size, EVENT_IDX, IN_ORDER,
 * INDIRECT_DESC):
 *  - the driver sends message seq = 0, 1, 2, ...: an 8-byte header holding
 *    seq, then 1..256 payload bytes; size, chain shape and bytes are all
 *    functions of (seed, seq). Buffers are carved from the fixture's pool;
 *    bus address = offset in the region. Some chains are readable only,
 *    some carry a writable reply area (one or two segments), some go
 *    through an indirect table when the feature is negotiated;
 *  - the device pops chains, checks the shape, every byte and that seq is
 *    exactly the next one (nothing lost, duplicated or reordered in avail
 *    order), writes a reply derived from seq into the writable part, and
 *    completes chains in a random order (or, with IN_ORDER, in batches
 *    through vr_*_dev_complete_in_order);
 *  - the driver checks each cookie comes back once (in order with
 *    IN_ORDER), the used length, and every reply byte.
 *
 * Notifications are real: a side that finds nothing to do after a short
 * spin arms notifications (vr_*_drv_arm_used_notify /
 * vr_*_dev_arm_avail_notify) and, when that returns 0, sleeps on a futex
 * doorbell that the peer rings only when kick_prepare / notify_prepare
 * returns 1. A sleep times out after ST_SLEEP_MS: if the peer has published
 * work in the meantime, a needed wakeup never came (a lost-wakeup bug) and
 * the test fails instead of hanging.
 *
 * Environment: VR_STRESS_MESSAGES (messages per configuration, default
 * 10000000), VR_STRESS_SEED (default 0x5eed).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "ring_fixture.h"

#define ST_DEFAULT_MESSAGES 10000000ull
#define ST_DEFAULT_SEED 0x5eedull
#define ST_SPIN 128          /* idle polls before arming and sleeping */
#define ST_SLEEP_MS 2000     /* one futex wait */
#define ST_GRACE_MS 1000     /* extra wait once work is seen after a timeout */
#define ST_STALL_MS 60000    /* no work and no wakeup for this long: a hang */
#define ST_MAX_PAYLOAD 256u
#define ST_HDR 8u
#define ST_MAX_REPLY 32u
#define ST_REPLY_MAGIC 0x5eb1a7ed00000000ull

/* One buffer block per chain in flight, in the fixture's pool. */
#define ST_BLOCK 512u
#define ST_OFF_MSG 0u      /* header then payload: up to 264 bytes */
#define ST_OFF_REPLY 288u  /* reply, or its first 8 bytes when split */
#define ST_OFF_REPLY2 320u /* rest of a split reply: up to 24 bytes */
#define ST_OFF_TABLE 384u  /* indirect table: 3 entries, 16-aligned */
#define ST_POISON 0xa5

/* ---- Configurations ----------------------------------------------------- */

struct st_config {
	const char *name;
	uint32_t num;
	bool event_idx;
	bool in_order;
	bool indirect;
	unsigned spin; /* idle polls before sleeping; 0 = sleep at once */
};

#ifdef VR_STRESS_PACKED
#define ST_FORMAT "packed"
#define ST_PACKED true
/* Packed sizes need not be powers of two: one run uses 48. (Sizes are
 * multiples of 16 because ring_fixture.h sizes its aligned_alloc() calls as
 * state + 64, which C11 and the sanitizers only accept as a multiple of
 * 64 for those.) */
static const struct st_config st_configs[] = {
	{ "q64 event_idx out_of_order", 64, true, false, true, ST_SPIN },
	{ "q64 no_event_idx out_of_order", 64, false, false, true, ST_SPIN },
	{ "q64 event_idx in_order", 64, true, true, true, ST_SPIN },
	{ "q64 no_event_idx in_order", 64, false, true, false, ST_SPIN },
	{ "q16 event_idx in_order sleepy", 16, true, true, true, 32 },
	{ "q48 event_idx out_of_order", 48, true, false, true, ST_SPIN },
};
#else
#define ST_FORMAT "split"
#define ST_PACKED false
static const struct st_config st_configs[] = {
	{ "q64 event_idx out_of_order", 64, true, false, true, ST_SPIN },
	{ "q64 no_event_idx out_of_order", 64, false, false, true, ST_SPIN },
	{ "q64 event_idx in_order", 64, true, true, true, ST_SPIN },
	{ "q64 no_event_idx in_order", 64, false, true, false, ST_SPIN },
	{ "q16 event_idx in_order sleepy", 16, true, true, true, 32 },
	{ "q16 no_event_idx out_of_order", 16, false, false, true, ST_SPIN },
};
#endif

#define ST_NCONFIGS (sizeof(st_configs) / sizeof(st_configs[0]))

/* ---- Deterministic message contents -------------------------------------- */

/* splitmix64 finaliser: a counter-based PRNG, so that both sides derive
 * everything about message seq without sharing a stream. */
static inline uint64_t st_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* xorshift64*: each thread's private stream for batch sizes and orders. */
static inline uint64_t st_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

enum st_shape {
	ST_OUT1,     /* one readable segment: header + payload */
	ST_OUT2,     /* readable header, readable payload */
	ST_OUT1_IN1, /* readable, then one writable reply */
	ST_OUT1_IN2, /* readable, then the reply in two writable segments */
	ST_OUT2_IN1, /* header, payload, reply: direct */
	ST_INDIRECT  /* header, payload, reply: through an indirect table */
};

struct st_plan {
	uint64_t h;     /* everything else derives from it */
	uint32_t plen;  /* payload bytes, 1..256 */
	uint32_t rlen;  /* reply bytes, 0 when the chain has no writable part */
	enum st_shape shape;
};

static void st_plan(uint64_t seed, uint64_t seq, bool indirect,
		    struct st_plan *p)
{
	unsigned pick;

	p->h = st_mix(seed ^ st_mix(seq));
	p->plen = 1 + (uint32_t)(p->h & 0xff);
	pick = (unsigned)(p->h >> 8) & 15;
	if (pick < 5)
		p->shape = ST_OUT1;
	else if (pick < 7)
		p->shape = ST_OUT2;
	else if (pick < 12)
		p->shape = ST_OUT1_IN1;
	else if (pick < 14)
		p->shape = ST_OUT1_IN2;
	else
		p->shape = indirect ? ST_INDIRECT : ST_OUT2_IN1;
	p->rlen = p->shape >= ST_OUT1_IN1 ? 16 + 8 * (uint32_t)((p->h >> 16) % 3)
					  : 0;
}

/* Segments the device should see, and ring descriptors the chain takes. */
static void st_shape_counts(enum st_shape s, unsigned *n_out, unsigned *n_in,
			    unsigned *ndesc)
{
	static const unsigned tab[][3] = {
		[ST_OUT1] = { 1, 0, 1 },     [ST_OUT2] = { 2, 0, 2 },
		[ST_OUT1_IN1] = { 1, 1, 2 }, [ST_OUT1_IN2] = { 1, 2, 3 },
		[ST_OUT2_IN1] = { 2, 1, 3 }, [ST_INDIRECT] = { 2, 1, 1 },
	};

	*n_out = tab[s][0];
	*n_in = tab[s][1];
	*ndesc = tab[s][2];
}

static void st_fill_payload(unsigned char *dst, const struct st_plan *p)
{
	uint64_t w[ST_MAX_PAYLOAD / 8];
	unsigned k;

	for (k = 0; k < (p->plen + 7) / 8; k++)
		w[k] = p->h ^ ((uint64_t)(k + 1) * 0x9e3779b97f4a7c15ull);
	memcpy(dst, w, p->plen);
}

static void st_fill_reply(unsigned char *dst, uint64_t seq,
			  const struct st_plan *p)
{
	uint64_t w[ST_MAX_REPLY / 8], h2 = st_mix(p->h ^ ST_REPLY_MAGIC);
	unsigned k;

	w[0] = seq ^ ST_REPLY_MAGIC;
	for (k = 1; k < ST_MAX_REPLY / 8; k++)
		w[k] = h2 ^ ((uint64_t)k * 0xc2b2ae3d27d4eb4full);
	memcpy(dst, w, p->rlen);
}

/* ---- Doorbells ------------------------------------------------------------ */

/* A futex word per direction. The sleeper reads it before arming, so a ring
 * that lands between the arm and the wait makes the wait return at once. */
struct st_bell {
	_Alignas(64) _Atomic uint32_t word;
	_Atomic uint64_t rings;
};

static void st_ring(struct st_bell *b)
{
	atomic_fetch_add(&b->word, 1);
	atomic_fetch_add_explicit(&b->rings, 1, memory_order_relaxed);
	syscall(SYS_futex, (uint32_t *)&b->word, FUTEX_WAKE_PRIVATE, 1, NULL,
		NULL, 0);
}

static void st_futex_wait(struct st_bell *b, uint32_t seen, unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	/* EAGAIN (word moved), EINTR and ETIMEDOUT all come back to the
	 * caller, which looks at the word and the clock itself. */
	syscall(SYS_futex, (uint32_t *)&b->word, FUTEX_WAIT_PRIVATE, seen, &ts,
		NULL, 0);
}

static uint64_t st_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void st_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* ---- The shared run state ------------------------------------------------- */

/* What one side did, for the report (owned by its thread until join). */
struct st_side_stats {
	uint64_t sleeps;        /* futex waits entered after arming */
	uint64_t wakeups;       /* ... ended by the peer's ring */
	uint64_t arm_hits;      /* arm found work: no sleep */
	uint64_t idle_timeouts; /* a wait timed out with nothing pending */
	uint64_t late_wakeups;  /* the ring came within the grace period */
};

struct st_run {
	const struct st_config *cfg;
	struct fx f;
	uint64_t messages;
	uint64_t seed;
	struct st_bell to_dev; /* the driver kicks the device */
	struct st_bell to_drv; /* the device interrupts the driver */
	_Atomic int stop;
	pthread_mutex_t fail_lock;
	char fail_msg[512]; /* first failure, reported by the main thread */
	_Atomic uint64_t dev_done; /* messages the device has verified */
	struct st_side_stats drv_stats;
	struct st_side_stats dev_stats;
	uint64_t drv_done;
};

/* Record the first failure and stop both threads. cmocka's assertions may
 * only run on the main thread, which reports this after the join. */
static void st_fail(struct st_run *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->fail_lock);
	if (r->fail_msg[0] == '\0') {
		int n = snprintf(r->fail_msg, sizeof(r->fail_msg),
				 "%s %s (VR_STRESS_SEED=%#" PRIx64 "): ",
				 ST_FORMAT, r->cfg->name, r->seed);

		va_start(ap, fmt);
		if (n > 0 && (size_t)n < sizeof(r->fail_msg))
			vsnprintf(r->fail_msg + n, sizeof(r->fail_msg) - (size_t)n,
				  fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->fail_lock);
	atomic_store(&r->stop, 1);
	st_ring(&r->to_dev);
	st_ring(&r->to_drv);
}

static bool st_stopped(struct st_run *r)
{
	return atomic_load_explicit(&r->stop, memory_order_relaxed) != 0;
}

/* ---- Format dispatch (the fixture covers the rest) ------------------------ */

static int st_add_indirect(struct fx *f, const struct vr_seg *seg,
			   unsigned n_out, unsigned n_in, void *table,
			   uint64_t table_addr, void *cookie)
{
	return f->packed ? vr_packed_drv_add_indirect(&f->pdrv, seg, n_out, n_in,
						      table, table_addr, cookie)
			 : vr_split_drv_add_indirect(&f->sdrv, seg, n_out, n_in,
						     table, table_addr, cookie);
}

static int st_drv_arm(struct fx *f)
{
	return f->packed ? vr_packed_drv_arm_used_notify(&f->pdrv)
			 : vr_split_drv_arm_used_notify(&f->sdrv);
}

static void st_drv_suppress(struct fx *f)
{
	if (f->packed)
		vr_packed_drv_suppress_used_notify(&f->pdrv);
	else
		vr_split_drv_suppress_used_notify(&f->sdrv);
}

static int st_dev_arm(struct fx *f)
{
	return f->packed ? vr_packed_dev_arm_avail_notify(&f->pdev)
			 : vr_split_dev_arm_avail_notify(&f->sdev);
}

static void st_dev_suppress(struct fx *f)
{
	if (f->packed)
		vr_packed_dev_suppress_avail_notify(&f->pdev);
	else
		vr_split_dev_suppress_avail_notify(&f->sdev);
}

static int st_complete_in_order(struct fx *f, unsigned count, uint32_t last_len)
{
	return f->packed ? vr_packed_dev_complete_in_order(&f->pdev, count, last_len)
			 : vr_split_dev_complete_in_order(&f->sdev, count, last_len);
}

static unsigned st_drv_in_flight(const struct fx *f)
{
	return f->packed ? vr_packed_drv_in_flight(&f->pdrv)
			 : vr_split_drv_in_flight(&f->sdrv);
}

static unsigned st_dev_in_flight(const struct fx *f)
{
	return f->packed ? vr_packed_dev_in_flight(&f->pdev)
			 : vr_split_dev_in_flight(&f->sdev);
}

static const struct vr_queue_stats *st_drv_qstats(const struct fx *f)
{
	return f->packed ? &f->pdrv.stats : &f->sdrv.stats;
}

static const struct vr_queue_stats *st_dev_qstats(const struct fx *f)
{
	return f->packed ? &f->pdev.stats : &f->sdev.stats;
}

/* ---- Sleeping ------------------------------------------------------------- */

/* Wait until the bell moves (true) or @p ms pass (false). Early returns
 * of the futex (EINTR, spurious) just wait out the rest. */
static bool st_wait(struct st_bell *b, uint32_t seen, unsigned ms)
{
	uint64_t deadline = st_now_ns() + (uint64_t)ms * 1000000u, now;

	while (atomic_load(&b->word) == seen) {
		now = st_now_ns();
		if (now >= deadline)
			return false;
		st_futex_wait(b, seen, (unsigned)((deadline - now) / 1000000u) + 1);
	}
	return true;
}

/*
 * Sleep on @p bell after an arm call returned 0 with the bell reading
 * @p seen before the arm. @p recheck (the arm call again) says whether the
 * peer has published work since (> 0), nothing (0) or an error (< 0).
 * Returns 0 to go on (woken, or stopping), -1 after a recorded failure.
 */
static int st_sleep(struct st_run *r, struct st_bell *bell, uint32_t seen,
		    struct st_side_stats *st, const char *me, const char *peer,
		    int (*recheck)(struct fx *))
{
	uint64_t idle_since = st_now_ns();

	st->sleeps++;
	for (;;) {
		int pending;

		if (st_wait(bell, seen, ST_SLEEP_MS)) {
			st->wakeups++;
			return 0;
		}
		if (st_stopped(r))
			return 0;
		pending = recheck(&r->f);
		if (pending < 0) {
			st_fail(r, "%s: arm during sleep failed: %s (%s)", me,
				vr_errname(pending), vr_strerror(pending));
			return -1;
		}
		if (pending > 0) {
			/* The peer published after our arm (which saw
			 * nothing), so it had to ring. Allow for it being
			 * descheduled between publish and ring. */
			if (st_wait(bell, seen, ST_GRACE_MS)) {
				st->late_wakeups++;
				return 0;
			}
			if (st_stopped(r))
				return 0;
			st_fail(r,
				"LOST WAKEUP: the %s armed notifications (arm "
				"returned 0) and slept; the %s then published "
				"work but did not notify within %u ms "
				"(%" PRIu64 " messages verified by the device)",
				me, peer, ST_SLEEP_MS + ST_GRACE_MS,
				atomic_load(&r->dev_done));
			return -1;
		}
		st->idle_timeouts++;
		if (st_now_ns() - idle_since > (uint64_t)ST_STALL_MS * 1000000u) {
			st_fail(r, "%s: nothing to do and no wakeup for %u ms: "
				   "the %s seems stuck",
				me, ST_STALL_MS, peer);
			return -1;
		}
	}
}

/* ---- Driver thread -------------------------------------------------------- */

struct st_rec {
	uint64_t seq;
	uint32_t block;
	bool busy;
};

struct st_drv {
	struct st_run *r;
	struct fx *f;
	unsigned char *pool;   /* first block, local pointer */
	size_t pool_off;       /* its offset in the fixture's pool */
	struct st_rec *rec;    /* per block */
	uint32_t *free_blocks; /* stack of free block numbers */
	uint32_t nfree;
	uint64_t sent;
	uint64_t done;
	uint64_t rng;
};

static unsigned char *st_block(const struct st_drv *d, uint32_t b)
{
	return d->pool + (size_t)b * ST_BLOCK;
}

static uint64_t st_block_addr(const struct st_drv *d, uint32_t b, unsigned off)
{
	return fx_addr(d->f, d->pool_off + (size_t)b * ST_BLOCK + off);
}

/* Build message d->sent in a free block and add it. Returns 1 when added,
 * 0 when the ring has no room (the block goes back), -1 on failure. */
static int st_drv_send_one(struct st_drv *d)
{
	struct st_run *r = d->r;
	uint64_t seq = d->sent;
	struct st_plan p;
	struct vr_seg seg[3];
	unsigned n_out = 0, n_in = 0;
	uint32_t b = d->free_blocks[d->nfree - 1];
	unsigned char *blk = st_block(d, b);
	struct st_rec *rec = &d->rec[b];
	int ret;

	st_plan(r->seed, seq, r->cfg->indirect, &p);
	memcpy(blk + ST_OFF_MSG, &seq, ST_HDR);
	st_fill_payload(blk + ST_OFF_MSG + ST_HDR, &p);
	if (p.rlen) /* a reply the device fails to write shows up */
		memset(blk + ST_OFF_REPLY, ST_POISON, ST_OFF_TABLE - ST_OFF_REPLY);

	switch (p.shape) {
	case ST_OUT1:
	case ST_OUT1_IN1:
	case ST_OUT1_IN2:
		seg[n_out++] = (struct vr_seg){ st_block_addr(d, b, ST_OFF_MSG),
						ST_HDR + p.plen };
		break;
	case ST_OUT2:
	case ST_OUT2_IN1:
	case ST_INDIRECT:
		seg[n_out++] = (struct vr_seg){ st_block_addr(d, b, ST_OFF_MSG),
						ST_HDR };
		seg[n_out++] = (struct vr_seg){
			st_block_addr(d, b, ST_OFF_MSG + ST_HDR), p.plen };
		break;
	}
	if (p.shape == ST_OUT1_IN2) {
		seg[n_out + n_in++] = (struct vr_seg){
			st_block_addr(d, b, ST_OFF_REPLY), 8 };
		seg[n_out + n_in++] = (struct vr_seg){
			st_block_addr(d, b, ST_OFF_REPLY2), p.rlen - 8 };
	} else if (p.rlen) {
		seg[n_out + n_in++] = (struct vr_seg){
			st_block_addr(d, b, ST_OFF_REPLY), p.rlen };
	}

	if (p.shape == ST_INDIRECT)
		ret = st_add_indirect(d->f, seg, n_out, n_in, blk + ST_OFF_TABLE,
				      st_block_addr(d, b, ST_OFF_TABLE), rec);
	else
		ret = fx_add(d->f, seg, n_out, n_in, rec);
	if (ret == VR_ENOSPC)
		return 0;
	if (ret < 0) {
		st_fail(r, "driver: add of seq %" PRIu64 " failed: %s (%s)", seq,
			vr_errname(ret), vr_strerror(ret));
		return -1;
	}
	rec->seq = seq;
	rec->busy = true;
	d->nfree--;
	d->sent++;
	return 1;
}

/* Check one returned chain: its cookie, order, length and reply bytes. */
static int st_drv_check_used(struct st_drv *d, const struct vr_used_buf *u)
{
	struct st_run *r = d->r;
	struct st_rec *rec = (struct st_rec *)u->cookie;
	unsigned char want[ST_MAX_REPLY], got[ST_MAX_REPLY];
	const unsigned char *blk;
	struct st_plan p;

	if (rec < d->rec || rec >= d->rec + r->cfg->num ||
	    (size_t)((const char *)rec - (const char *)d->rec) % sizeof(*rec)) {
		st_fail(r, "driver: used chain %u came back with a cookie %p "
			   "that was never given",
			u->id, u->cookie);
		return -1;
	}
	if (!rec->busy) {
		st_fail(r, "driver: cookie of block %u (last seq %" PRIu64
			   ") returned twice",
			rec->block, rec->seq);
		return -1;
	}
	if (r->cfg->in_order && rec->seq != d->done) {
		st_fail(r, "driver: IN_ORDER negotiated but seq %" PRIu64
			   " came back while %" PRIu64 " was the oldest",
			rec->seq, d->done);
		return -1;
	}
	st_plan(r->seed, rec->seq, r->cfg->indirect, &p);
	if (u->len != p.rlen) {
		st_fail(r, "driver: seq %" PRIu64 " used length %u, expected %u",
			rec->seq, u->len, p.rlen);
		return -1;
	}
	if (p.rlen) {
		blk = st_block(d, rec->block);
		st_fill_reply(want, rec->seq, &p);
		if (p.shape == ST_OUT1_IN2) {
			memcpy(got, blk + ST_OFF_REPLY, 8);
			memcpy(got + 8, blk + ST_OFF_REPLY2, p.rlen - 8);
		} else {
			memcpy(got, blk + ST_OFF_REPLY, p.rlen);
		}
		if (memcmp(got, want, p.rlen) != 0) {
			st_fail(r, "driver: reply of seq %" PRIu64
				   " corrupted (first word %016" PRIx64 ")",
				rec->seq, *(const uint64_t *)(const void *)got);
			return -1;
		}
	}
	rec->busy = false;
	d->free_blocks[d->nfree++] = rec->block;
	d->done++;
	return 0;
}

static void *st_driver_main(void *arg)
{
	struct st_run *r = (struct st_run *)arg;
	struct fx *f = &r->f;
	const uint32_t num = r->cfg->num;
	struct st_drv d;
	unsigned idle = 0;
	uint32_t i;

	memset(&d, 0, sizeof(d));
	d.r = r;
	d.f = f;
	d.pool_off = 0;
	d.pool = (unsigned char *)fx_ptr(f, fx_addr(f, 0));
	d.rec = calloc(num, sizeof(*d.rec));
	d.free_blocks = calloc(num, sizeof(*d.free_blocks));
	d.rng = st_mix(r->seed ^ 0xd1);
	if (!d.rec || !d.free_blocks) {
		st_fail(r, "driver: out of memory");
		goto out;
	}
	for (i = 0; i < num; i++) {
		d.rec[i].block = i;
		d.free_blocks[d.nfree++] = num - 1 - i;
	}
	st_drv_suppress(f);

	while (!st_stopped(r) && d.done < r->messages) {
		struct vr_used_buf u;
		bool progress = false;
		int ret;

		while ((ret = fx_get_used(f, &u)) == 0) {
			if (st_drv_check_used(&d, &u))
				goto out;
			progress = true;
		}
		if (ret != VR_EAGAIN) {
			st_fail(r, "driver: get_used failed after %" PRIu64
				   " replies: %s (%s)",
				d.done, vr_errname(ret), vr_strerror(ret));
			goto out;
		}

		if (d.sent < r->messages && d.nfree > 0) {
			unsigned batch = 1 + (unsigned)(st_rand(&d.rng) % num);
			unsigned added = 0;

			while (added < batch && d.sent < r->messages &&
			       d.nfree > 0) {
				ret = st_drv_send_one(&d);
				if (ret < 0)
					goto out;
				if (ret == 0)
					break;
				/* Sometimes publish part of a batch early;
				 * need_notify later covers all of it. */
				if (++added % 5 == 0 && (st_rand(&d.rng) & 1))
					fx_publish(f);
			}
			if (added) {
				ret = fx_kick_prepare(f);
				if (ret < 0) {
					st_fail(r, "driver: kick_prepare: %s",
						vr_errname(ret));
					goto out;
				}
				if (ret)
					st_ring(&r->to_dev);
				progress = true;
			}
		}
		if (progress) {
			idle = 0;
			continue;
		}
		if (idle++ < r->cfg->spin) {
			st_cpu_relax();
			continue;
		}
		idle = 0;
		{
			uint32_t seen = atomic_load(&r->to_drv.word);

			ret = st_drv_arm(f);
			if (ret < 0) {
				st_fail(r, "driver: arm_used_notify: %s",
					vr_errname(ret));
				goto out;
			}
			if (ret > 0)
				r->drv_stats.arm_hits++;
			else if (st_sleep(r, &r->to_drv, seen, &r->drv_stats,
					  "driver", "device", st_drv_arm))
				goto out;
			st_drv_suppress(f);
		}
	}
	if (!st_stopped(r) && (d.sent != r->messages || st_drv_in_flight(f) != 0))
		st_fail(r, "driver: finished with %" PRIu64 " sent, %u in flight",
			d.sent, st_drv_in_flight(f));
out:
	r->drv_done = d.done;
	free(d.rec);
	free(d.free_blocks);
	return NULL;
}

/* ---- Device thread -------------------------------------------------------- */

struct st_pending {
	uint16_t id;
	uint32_t len;
};

struct st_dev {
	struct st_run *r;
	struct fx *f;
	struct st_pending *pending; /* popped, not yet completed; oldest first */
	unsigned npending;
	uint64_t expect; /* next seq in avail order */
	uint64_t rng;
};

/* Check a popped chain against message d->expect and write its reply. */
static int st_dev_handle(struct st_dev *d, const struct vr_chain *c)
{
	struct st_run *r = d->r;
	unsigned char msg[ST_HDR + ST_MAX_PAYLOAD], want[ST_MAX_PAYLOAD];
	unsigned char reply[ST_MAX_REPLY];
	unsigned n_out, n_in, ndesc, i;
	uint32_t off = 0;
	uint64_t seq;
	struct st_plan p;

	if (c->out_bytes < ST_HDR || c->out_bytes > sizeof(msg)) {
		st_fail(r, "device: chain %u (expected seq %" PRIu64 ") has %u "
			   "readable bytes",
			c->id, d->expect, c->out_bytes);
		return -1;
	}
	for (i = 0; i < c->n_out; i++) {
		memcpy(msg + off, c->iov[i].base, c->iov[i].len);
		off += c->iov[i].len;
	}
	memcpy(&seq, msg, ST_HDR);
	if (seq != d->expect) {
		st_fail(r, "device: got seq %" PRIu64 " where %" PRIu64
			   " was next: a message was %s",
			seq, d->expect,
			seq < d->expect ? "duplicated or reordered"
					: "lost or reordered");
		return -1;
	}
	st_plan(r->seed, seq, r->cfg->indirect, &p);
	st_shape_counts(p.shape, &n_out, &n_in, &ndesc);
	if (c->n_out != n_out || c->n_in != n_in || c->ndesc != ndesc ||
	    c->out_bytes != ST_HDR + p.plen || c->in_bytes != p.rlen) {
		st_fail(r, "device: seq %" PRIu64 " shape %d: got %u+%u segments "
			   "in %u descriptors, %u+%u bytes; expected %u+%u in %u, "
			   "%u+%u",
			seq, (int)p.shape, c->n_out, c->n_in, c->ndesc, c->out_bytes,
			c->in_bytes, n_out, n_in, ndesc, ST_HDR + p.plen, p.rlen);
		return -1;
	}
	st_fill_payload(want, &p);
	if (memcmp(msg + ST_HDR, want, p.plen) != 0) {
		for (i = 0; i < p.plen && msg[ST_HDR + i] == want[i]; i++)
			;
		st_fail(r, "device: payload of seq %" PRIu64 " corrupted at "
			   "byte %u of %u",
			seq, i, p.plen);
		return -1;
	}
	if (p.rlen) {
		st_fill_reply(reply, seq, &p);
		off = 0;
		for (i = c->n_out; i < (unsigned)c->n_out + c->n_in; i++) {
			memcpy(c->iov[i].base, reply + off, c->iov[i].len);
			off += c->iov[i].len;
		}
	}
	d->expect++;
	atomic_store_explicit(&r->dev_done, d->expect, memory_order_relaxed);
	return 0;
}

/* After a group of completions: publish only, publish and maybe notify,
 * or nothing yet (the final notify_prepare covers it). */
static int st_dev_maybe_notify(struct st_dev *d, bool force)
{
	uint64_t pick = force ? 1 : st_rand(&d->rng) % 3;
	int ret;

	if (pick == 0) {
		fx_dev_publish(d->f);
		return 0;
	}
	if (pick == 2)
		return 0;
	ret = fx_notify_prepare(d->f);
	if (ret < 0) {
		st_fail(d->r, "device: notify_prepare: %s", vr_errname(ret));
		return -1;
	}
	if (ret)
		st_ring(&d->r->to_drv);
	return 0;
}

/* Complete some of the pending chains: IN_ORDER in batches of the oldest
 * (mostly through complete_in_order), otherwise in a random order. */
static int st_dev_complete_some(struct st_dev *d, unsigned count)
{
	struct st_run *r = d->r;
	int ret;

	while (count > 0) {
		if (r->cfg->in_order) {
			unsigned k = 1 + (unsigned)(st_rand(&d->rng) % count);

			if (k == 1 && (st_rand(&d->rng) & 1))
				ret = fx_complete(d->f, d->pending[0].id,
						  d->pending[0].len);
			else
				ret = st_complete_in_order(d->f, k,
							   d->pending[k - 1].len);
			if (ret) {
				st_fail(r, "device: in-order completion of %u "
					   "failed: %s",
					k, vr_errname(ret));
				return -1;
			}
			memmove(d->pending, d->pending + k,
				(d->npending - k) * sizeof(*d->pending));
			d->npending -= k;
			count -= k;
		} else {
			unsigned j = (unsigned)(st_rand(&d->rng) % d->npending);

			ret = fx_complete(d->f, d->pending[j].id, d->pending[j].len);
			if (ret) {
				st_fail(r, "device: complete of chain %u failed: %s",
					d->pending[j].id, vr_errname(ret));
				return -1;
			}
			d->pending[j] = d->pending[--d->npending];
			count--;
		}
		if (st_dev_maybe_notify(d, false))
			return -1;
	}
	return st_dev_maybe_notify(d, true);
}

static void *st_device_main(void *arg)
{
	struct st_run *r = (struct st_run *)arg;
	struct fx *f = &r->f;
	const uint32_t num = r->cfg->num;
	struct st_dev d;
	struct vr_iov iov[4];
	struct vr_chain c;
	unsigned idle = 0;

	memset(&d, 0, sizeof(d));
	d.r = r;
	d.f = f;
	d.pending = calloc(num, sizeof(*d.pending));
	d.rng = st_mix(r->seed ^ 0xde);
	if (!d.pending) {
		st_fail(r, "device: out of memory");
		return NULL;
	}
	st_dev_suppress(f);

	while (!st_stopped(r) && (d.expect < r->messages || d.npending > 0)) {
		unsigned max_pop = 1 + (unsigned)(st_rand(&d.rng) % num);
		unsigned popped = 0, completed = 0;
		int ret = 0;

		while (popped < max_pop && d.npending < num) {
			memset(&c, 0, sizeof(c));
			c.iov = iov;
			c.iov_cap = 4;
			ret = fx_pop(f, &c);
			if (ret)
				break;
			if (st_dev_handle(&d, &c))
				goto out;
			d.pending[d.npending].id = c.id;
			d.pending[d.npending].len = c.in_bytes;
			d.npending++;
			popped++;
		}
		if (ret && ret != VR_EAGAIN) {
			st_fail(r, "device: pop failed after %" PRIu64
				   " messages: %s (%s)",
				d.expect, vr_errname(ret), vr_strerror(ret));
			goto out;
		}
		if (d.npending > 0) {
			/* Hold some chains back while new ones arrive; when
			 * nothing came, return everything before idling. */
			unsigned k = popped ? 1 + (unsigned)(st_rand(&d.rng) %
							     d.npending)
					    : d.npending;

			if (st_dev_complete_some(&d, k))
				goto out;
			completed = k;
		}
		if (popped || completed) {
			idle = 0;
			continue;
		}
		if (idle++ < r->cfg->spin) {
			st_cpu_relax();
			continue;
		}
		idle = 0;
		{
			uint32_t seen = atomic_load(&r->to_dev.word);

			ret = st_dev_arm(f);
			if (ret < 0) {
				st_fail(r, "device: arm_avail_notify: %s",
					vr_errname(ret));
				goto out;
			}
			if (ret > 0)
				r->dev_stats.arm_hits++;
			else if (st_sleep(r, &r->to_dev, seen, &r->dev_stats,
					  "device", "driver", st_dev_arm))
				goto out;
			st_dev_suppress(f);
		}
	}
	if (!st_stopped(r) && st_dev_in_flight(f) != 0)
		st_fail(r, "device: finished with %u chains in flight",
			st_dev_in_flight(f));
out:
	free(d.pending);
	return NULL;
}

/* ---- One configuration ---------------------------------------------------- */

/* An unsigned number from the environment (any base strtoull takes), at
 * least @p min, or @p def when unset. */
static uint64_t st_env_u64(const char *name, uint64_t def, uint64_t min)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || s[0] == '-') {
		fprintf(stderr, "%s=\"%s\": want an integer >= %" PRIu64 "\n",
			name, s, min);
		fail_msg("bad environment variable %s", name);
	}
	return v;
}

static void st_run_config(void **state)
{
	const struct st_config *cfg = (const struct st_config *)*state;
	uint64_t features = VR_FEATURE(VR_F_VERSION_1);
	uint64_t messages = st_env_u64("VR_STRESS_MESSAGES", ST_DEFAULT_MESSAGES, 1);
	uint64_t seed = st_env_u64("VR_STRESS_SEED", ST_DEFAULT_SEED, 0);
	struct st_run *r;
	pthread_t drv, dev;
	uint64_t t0, t1, kicks, irqs;
	double secs, per_msg;
	int err;

	if (ST_PACKED)
		features |= VR_FEATURE(VR_F_RING_PACKED);
	if (cfg->event_idx)
		features |= VR_FEATURE(VR_F_EVENT_IDX);
	if (cfg->in_order)
		features |= VR_FEATURE(VR_F_IN_ORDER);
	if (cfg->indirect)
		features |= VR_FEATURE(VR_F_INDIRECT_DESC);

	/* Aligned for the doorbells' cache lines. */
	r = aligned_alloc(64, (sizeof(*r) + 63) & ~(size_t)63);
	assert_non_null(r);
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->messages = messages;
	r->seed = seed;
	pthread_mutex_init(&r->fail_lock, NULL);
	err = fx_init(&r->f, cfg->num, features);
	assert_int_equal(err, 0);
	assert_true((size_t)cfg->num * ST_BLOCK <= FX_POOL_BYTES);

	t0 = st_now_ns();
	assert_int_equal(pthread_create(&dev, NULL, st_device_main, r), 0);
	assert_int_equal(pthread_create(&drv, NULL, st_driver_main, r), 0);
	pthread_join(drv, NULL);
	pthread_join(dev, NULL);
	t1 = st_now_ns();

	secs = (double)(t1 - t0) / 1e9;
	kicks = st_drv_qstats(&r->f)->notify_needed;
	irqs = st_dev_qstats(&r->f)->notify_needed;
	per_msg = (double)(kicks + irqs) / (double)r->messages;
	if (r->fail_msg[0]) {
		char why[sizeof(r->fail_msg)];

		memcpy(why, r->fail_msg, sizeof(why));
		fx_fini(&r->f);
		pthread_mutex_destroy(&r->fail_lock);
		free(r);
		fail_msg("%s", why);
		return; /* not reached: fail_msg jumps out */
	}
	printf("[stress] %s %-34s %" PRIu64 " msgs %7.2f s %6.2f M/s | "
	       "notify/msg %.4f (kicks %" PRIu64 ", interrupts %" PRIu64 ") | "
	       "sleeps drv %" PRIu64 " dev %" PRIu64 ", arm hits drv %" PRIu64
	       " dev %" PRIu64 ", idle timeouts %" PRIu64 ", late wakeups %" PRIu64
	       "\n",
	       ST_FORMAT, cfg->name, r->messages, secs,
	       (double)r->messages / secs / 1e6, per_msg, kicks, irqs,
	       r->drv_stats.sleeps, r->dev_stats.sleeps, r->drv_stats.arm_hits,
	       r->dev_stats.arm_hits,
	       r->drv_stats.idle_timeouts + r->dev_stats.idle_timeouts,
	       r->drv_stats.late_wakeups + r->dev_stats.late_wakeups);
	fflush(stdout);

	assert_int_equal(r->drv_done, r->messages);
	assert_int_equal(atomic_load(&r->dev_done), r->messages);
	assert_int_equal(fx_drv_broken(&r->f), 0);
	assert_int_equal(fx_dev_broken(&r->f), 0);
	/* Every notification asked for was rung, and only those. */
	assert_int_equal(atomic_load(&r->to_dev.rings), kicks);
	assert_int_equal(atomic_load(&r->to_drv.rings), irqs);
	/* A sleeper is only ever woken by a ring. */
	assert_true(r->drv_stats.wakeups + r->drv_stats.late_wakeups <= irqs);
	assert_true(r->dev_stats.wakeups + r->dev_stats.late_wakeups <= kicks);
	if (r->messages >= 100000)
		/* The notification path was taken for real, not just polled. */
		assert_true(r->drv_stats.sleeps + r->dev_stats.sleeps > 0);
	if (cfg->event_idx)
		/* Loose on purpose: the point is that suppression works at
		 * all, not a tuned ratio that a busy machine could break. */
		assert_true(per_msg < 1.0);

	fx_fini(&r->f);
	pthread_mutex_destroy(&r->fail_lock);
	free(r);
}

int main(void)
{
	struct CMUnitTest tests[ST_NCONFIGS];
	char names[ST_NCONFIGS][64];
	size_t i;

	for (i = 0; i < ST_NCONFIGS; i++) {
		snprintf(names[i], sizeof(names[i]), "stress_%s %s", ST_FORMAT,
			 st_configs[i].name);
		tests[i] = (struct CMUnitTest){
			.name = names[i],
			.test_func = st_run_config,
			.initial_state = (void *)(uintptr_t)&st_configs[i],
		};
	}
	return cmocka_run_group_tests_name("stress_" ST_FORMAT, tests, NULL,
					   NULL);
}
