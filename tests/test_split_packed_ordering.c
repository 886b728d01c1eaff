/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memory-ordering edges of docs/ORDERING.md, each on its own, under
 * ThreadSanitizer (and plain, and ASan: then it is a functional two-thread
 * test). A driver thread and a device thread exchange messages over one
 * ring by polling only: no doorbell, no lock, no other atomic, and the
 * notification calls (whose full fences would add edges) are never made.
 * Every byte of a buffer, an indirect table or a descriptor the driver
 * writes is a plain store, every byte of a reply the device writes is a
 * plain store, and each side reads the other's bytes with plain loads. So
 * the only happens-before between the threads is what the ring gives:
 *  - R1 -> A1: the driver's release of avail->idx (split) or of the head
 *    flags (packed) and the device's acquire of it order the descriptors,
 *    the indirect table and the message bytes before the device reads them;
 *  - R2 -> A2: the device's release of used->idx / the used flags and the
 *    driver's acquire order the reply bytes before the driver reads them,
 *    and the device's reads of a buffer before the driver rewrites it.
 * Make any of these relaxed and TSan reports a data race on those bytes
 * (docs/ORDERING.md names the mutations this was checked with).
 *
 * Environment: VR_ORDER_MESSAGES (messages per configuration, default
 * 20000).
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ring_fixture.h"

#define OR_NUM 16u        /* ring size */
#define OR_BLOCKS 8u      /* chains in flight at most (2 descriptors each) */
#define OR_BLOCK 512u      /* one buffer block per chain in flight */
#define OR_OFF_MSG 0u      /* 8-byte sequence number, then payload */
#define OR_MSG_BYTES 64u
#define OR_OFF_REPLY 128u
#define OR_REPLY_BYTES 48u
#define OR_OFF_TABLE 256u  /* indirect table: 2 entries */

struct ord {
	struct fx f;
	uint64_t messages;
	bool indirect;
	bool in_order;    /* IN_ORDER: the device returns batches with one entry */
	atomic_bool stop; /* the driver failed: the device gives up */
	/* Set by either thread on a failure; only read after join. */
	char fail_drv[160];
	char fail_dev[160];
};

static uint8_t pat(uint64_t seq, unsigned i, unsigned salt)
{
	return (uint8_t)(seq * 131u + i * 7u + salt);
}

static uint64_t block_addr(unsigned b)
{
	return fx_addr(NULL, OR_BLOCK * (size_t)b);
}

/* ---- Driver thread --------------------------------------------------------- */

static int collect(struct ord *o, uint64_t *expect_seq, bool *free_blk)
{
	struct vr_used_buf u;
	int r = fx_get_used(&o->f, &u);
	unsigned b, i;
	uint64_t seq;
	const uint8_t *rep;

	if (r != 0)
		return r;
	b = (unsigned)((uintptr_t)u.cookie - 1);
	/* Plain reads of the block: the sequence number we wrote, the reply
	 * the device wrote (ordered by R2 -> A2). */
	memcpy(&seq, fx_ptr(&o->f, block_addr(b) + OR_OFF_MSG), sizeof(seq));
	if (seq != *expect_seq) {
		snprintf(o->fail_drv, sizeof(o->fail_drv),
			 "used out of order: seq %llu, expected %llu",
			 (unsigned long long)seq, (unsigned long long)*expect_seq);
		return VR_EINVAL;
	}
	if (u.len != OR_REPLY_BYTES) {
		snprintf(o->fail_drv, sizeof(o->fail_drv), "used len %u", u.len);
		return VR_EINVAL;
	}
	rep = fx_ptr(&o->f, block_addr(b) + OR_OFF_REPLY);
	for (i = 0; i < OR_REPLY_BYTES; i++)
		if (rep[i] != pat(seq, i, 0x5a)) {
			snprintf(o->fail_drv, sizeof(o->fail_drv),
				 "reply byte %u of seq %llu wrong", i,
				 (unsigned long long)seq);
			return VR_EINVAL;
		}
	free_blk[b] = true;
	(*expect_seq)++;
	return 0;
}

static void *driver_thread(void *arg)
{
	struct ord *o = arg;
	bool free_blk[OR_BLOCKS];
	uint64_t sent = 0, done = 0;
	unsigned b, i, batch = 0;

	for (b = 0; b < OR_BLOCKS; b++)
		free_blk[b] = true;
	while (done < o->messages) {
		int r;

		/* Collect whatever came back. */
		while ((r = collect(o, &done, free_blk)) == 0)
			;
		if (r != VR_EAGAIN) {
			if (!o->fail_drv[0])
				snprintf(o->fail_drv, sizeof(o->fail_drv),
					 "get_used: %s", vr_errname(r));
			return NULL;
		}
		/* Send into every free block. */
		for (b = 0; b < OR_BLOCKS && sent < o->messages; b++) {
			unsigned char *m;
			struct vr_seg s[2];
			int id;

			if (!free_blk[b])
				continue;
			m = fx_ptr(&o->f, block_addr(b));
			/* Plain stores: published by R1. */
			memcpy(m + OR_OFF_MSG, &sent, sizeof(sent));
			for (i = 8; i < OR_MSG_BYTES; i++)
				m[OR_OFF_MSG + i] = pat(sent, i, 0xa5);
			memset(m + OR_OFF_REPLY, 0, OR_REPLY_BYTES);
			s[0].addr = block_addr(b) + OR_OFF_MSG;
			s[0].len = OR_MSG_BYTES;
			s[1].addr = block_addr(b) + OR_OFF_REPLY;
			s[1].len = OR_REPLY_BYTES;
			if (!o->indirect)
				id = fx_add(&o->f, s, 1, 1, (void *)(uintptr_t)(b + 1));
			else if (o->f.packed)
				id = vr_packed_drv_add_indirect(
					&o->f.pdrv, s, 1, 1,
					(struct vr_packed_desc *)(void *)(m + OR_OFF_TABLE),
					block_addr(b) + OR_OFF_TABLE, (void *)(uintptr_t)(b + 1));
			else
				id = vr_split_drv_add_indirect(
					&o->f.sdrv, s, 1, 1,
					(struct vr_desc *)(void *)(m + OR_OFF_TABLE),
					block_addr(b) + OR_OFF_TABLE, (void *)(uintptr_t)(b + 1));
			if (id < 0) {
				snprintf(o->fail_drv, sizeof(o->fail_drv), "add: %s",
					 vr_errname(id));
				return NULL;
			}
			free_blk[b] = false;
			sent++;
			/* Publish in batches of 1 to 3 chains. */
			if (++batch >= 1 + sent % 3) {
				fx_publish(&o->f);
				batch = 0;
			}
		}
		fx_publish(&o->f);
		batch = 0;
		sched_yield();
	}
	return NULL;
}

/* ---- Device thread --------------------------------------------------------- */

static void *device_thread(void *arg)
{
	struct ord *o = arg;
	uint64_t seen = 0;

	while (seen < o->messages) {
		struct vr_iov iov[4];
		struct vr_chain c;
		uint64_t seq;
		const uint8_t *m;
		uint8_t *rep;
		unsigned i;
		int r;

		memset(&c, 0, sizeof(c));
		c.iov = iov;
		c.iov_cap = 4;
		r = fx_pop(&o->f, &c);
		if (r == VR_EAGAIN) {
			fx_dev_publish(&o->f);
			/* Relaxed: only says "give up"; TSan sees no edge. */
			if (atomic_load_explicit(&o->stop, memory_order_relaxed))
				return NULL;
			sched_yield();
			continue;
		}
		if (r != 0 || c.n_out != 1 || c.n_in != 1 ||
		    iov[0].len != OR_MSG_BYTES || iov[1].len != OR_REPLY_BYTES) {
			snprintf(o->fail_dev, sizeof(o->fail_dev),
				 "pop: %s, %u + %u segments", vr_errname(r),
				 c.n_out, c.n_in);
			return NULL;
		}
		/* Plain reads of what the driver wrote (ordered by R1 -> A1). */
		m = iov[0].base;
		memcpy(&seq, m, sizeof(seq));
		if (seq != seen) {
			snprintf(o->fail_dev, sizeof(o->fail_dev),
				 "seq %llu, expected %llu", (unsigned long long)seq,
				 (unsigned long long)seen);
			return NULL;
		}
		for (i = 8; i < OR_MSG_BYTES; i++)
			if (m[i] != pat(seq, i, 0xa5)) {
				snprintf(o->fail_dev, sizeof(o->fail_dev),
					 "byte %u of seq %llu wrong", i,
					 (unsigned long long)seq);
				return NULL;
			}
		/* Plain stores of the reply: published by R2. */
		rep = iov[1].base;
		for (i = 0; i < OR_REPLY_BYTES; i++)
			rep[i] = pat(seq, i, 0x5a);
		if (o->in_order) {
			/* Return every second chain with the one before it as
			 * one in-order batch (one used entry for both): the
			 * driver then reads the first one's reply bytes
			 * ordered only by that entry's publish. */
			if (seq % 2 == 0 && seq + 1 < o->messages) {
				seen++;
				continue;
			}
			r = o->f.packed
				? vr_packed_dev_complete_in_order(&o->f.pdev,
								  vr_packed_dev_in_flight(&o->f.pdev),
								  OR_REPLY_BYTES)
				: vr_split_dev_complete_in_order(&o->f.sdev,
								 vr_split_dev_in_flight(&o->f.sdev),
								 OR_REPLY_BYTES);
		} else {
			r = fx_complete(&o->f, c.id, OR_REPLY_BYTES);
		}
		if (r != 0) {
			snprintf(o->fail_dev, sizeof(o->fail_dev), "complete: %s",
				 vr_errname(r));
			return NULL;
		}
		seen++;
		/* Publish every second completion, and whenever the ring
		 * is empty (above). */
		if (seen % 2 == 0)
			fx_dev_publish(&o->f);
	}
	fx_dev_publish(&o->f);
	return NULL;
}

/* ---- Runner ----------------------------------------------------------------- */

static uint64_t messages(void)
{
	const char *e = getenv("VR_ORDER_MESSAGES");

	return e && *e ? strtoull(e, NULL, 0) : 20000u;
}

static void run(bool packed, bool indirect, bool in_order)
{
	struct ord *o = calloc(1, sizeof(*o));
	uint64_t feat = (indirect ? VR_FEATURE(VR_F_INDIRECT_DESC) : 0) |
			(in_order ? VR_FEATURE(VR_F_IN_ORDER) : 0);
	pthread_t td, tv;

	assert_non_null(o);
	if (packed)
		feat |= VR_FEATURE(VR_F_RING_PACKED);
	assert_int_equal(fx_init(&o->f, OR_NUM, feat), 0);
	o->messages = messages();
	o->indirect = indirect;
	o->in_order = in_order;
	atomic_init(&o->stop, false);
	/* Everything above happens before both threads start. */
	assert_int_equal(pthread_create(&tv, NULL, device_thread, o), 0);
	assert_int_equal(pthread_create(&td, NULL, driver_thread, o), 0);
	assert_int_equal(pthread_join(td, NULL), 0);
	if (o->fail_drv[0]) {
		/* The device would wait for ever for what never comes. */
		atomic_store_explicit(&o->stop, true, memory_order_relaxed);
		pthread_join(tv, NULL);
		fail_msg("%s%s%s driver: %s", packed ? "packed" : "split",
			 indirect ? " indirect" : "", in_order ? " in-order" : "",
			 o->fail_drv);
	}
	assert_int_equal(pthread_join(tv, NULL), 0);
	if (o->fail_dev[0])
		fail_msg("%s%s%s device: %s", packed ? "packed" : "split",
			 indirect ? " indirect" : "", in_order ? " in-order" : "",
			 o->fail_dev);
	assert_int_equal(fx_drv_broken(&o->f), 0);
	assert_int_equal(fx_dev_broken(&o->f), 0);
	fx_fini(&o->f);
	free(o);
}

static void test_split_ordering(void **state)
{
	(void)state;
	run(false, false, false);
}

static void test_split_indirect_ordering(void **state)
{
	(void)state;
	run(false, true, false);
}

static void test_split_in_order_ordering(void **state)
{
	(void)state;
	run(false, false, true);
}

static void test_packed_ordering(void **state)
{
	(void)state;
	run(true, false, false);
}

static void test_packed_indirect_ordering(void **state)
{
	(void)state;
	run(true, true, false);
}

static void test_packed_in_order_ordering(void **state)
{
	(void)state;
	run(true, true, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_ordering),
		cmocka_unit_test(test_split_indirect_ordering),
		cmocka_unit_test(test_split_in_order_ordering),
		cmocka_unit_test(test_packed_ordering),
		cmocka_unit_test(test_packed_indirect_ordering),
		cmocka_unit_test(test_packed_in_order_ordering),
	};

	return cmocka_run_group_tests_name("split_packed_ordering", tests, NULL, NULL);
}
