/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-mmio device model used the way a VMM uses it: the guest's
 * driver on one thread (libvring driver calls on the rings, register
 * accesses trapped into the model), the device back end on another, woken
 * by QueueNotify (as by an ioeventfd) and waking the guest by the interrupt
 * line. One mutex serialises every call on the model (its thread contract);
 * the rings themselves run concurrently, both sides suppressing and arming
 * notifications (EVENT_IDX), so a lost wakeup would stall the test: every
 * wait has a generous timeout that fails it instead. Split and packed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "test_mmio_device_fixture.h"

#define MSGS 50000u
#define WAIT_S 30 /* a lost wakeup, not a slow machine */

struct vmm {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct td *t;
	bool kicked, irq, stop;
	unsigned served, kicks, irqs;
	int failed; /* set by the device thread on an unexpected code */
};

static struct vmm *g_vmm;

/* Called in the guest thread, inside vr_mmio_dev_write(), lock held. */
static void vmm_notify(struct td *t, uint32_t q)
{
	(void)t;
	(void)q;
	g_vmm->kicked = true;
	g_vmm->kicks++;
	pthread_cond_broadcast(&g_vmm->cv);
}

/* Interrupt line; lock held by whichever thread called the model. */
static void vmm_irq(void *ctx, int level)
{
	struct td *t = (struct td *)ctx;

	t->irq_level = level;
	if (level) {
		g_vmm->irq = true;
		g_vmm->irqs++;
		pthread_cond_broadcast(&g_vmm->cv);
	}
}

static int timed_wait(struct vmm *v, bool *flag)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_S;
	while (!*flag && !v->stop)
		if (pthread_cond_timedwait(&v->cv, &v->lock, &ts) == ETIMEDOUT)
			return -1;
	*flag = false;
	return 0;
}

/* The device back end: sleep until kicked, then serve until the ring is
 * empty with notifications armed, publish (maybe interrupting). */
static void *device_thread(void *arg)
{
	struct vmm *v = (struct vmm *)arg;
	struct vr_iov iov[4];
	struct vr_chain c;

	pthread_mutex_lock(&v->lock);
	while (!v->stop) {
		struct vr_split_dev *s;
		struct vr_packed_dev *p;

		if (timed_wait(v, &v->kicked) != 0) {
			v->failed = -1000;
			break;
		}
		s = vr_mmio_dev_split(&v->t->dev, 0);
		p = vr_mmio_dev_packed(&v->t->dev, 0);
		if (!s && !p)
			continue;
		for (;;) {
			int rc;

			c.iov = iov;
			c.iov_cap = 4;
			rc = s ? vr_split_dev_pop(s, &c) : vr_packed_dev_pop(p, &c);
			if (rc == VR_EAGAIN) {
				rc = s ? vr_split_dev_arm_avail_notify(s)
				       : vr_packed_dev_arm_avail_notify(p);
				if (rc > 0)
					continue;
				if (rc < 0)
					v->failed = rc;
				break;
			}
			if (rc != 0 || c.n_out != 1 || c.n_in != 1 ||
			    iov[1].len < iov[0].len) {
				v->failed = rc ? rc : -999;
				break;
			}
			/* The answer: the request, each byte + 1. */
			for (uint32_t i = 0; i < iov[0].len; i++)
				((unsigned char *)iov[1].base)[i] =
					(unsigned char)(((unsigned char *)iov[0].base)[i] + 1);
			rc = s ? vr_split_dev_complete(s, c.id, iov[0].len)
			       : vr_packed_dev_complete(p, c.id, iov[0].len);
			if (rc != 0) {
				v->failed = rc;
				break;
			}
			v->served++;
		}
		if (vr_mmio_dev_queue_publish(&v->t->dev, 0) < 0 && !v->failed)
			v->failed = -998;
		if (v->failed)
			break;
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

static void run(uint64_t wanted, uint32_t num)
{
	struct vmm v;
	struct td *t = td_new(TD_OFFER);
	struct vr_split_drv sd;
	struct vr_packed_drv pd;
	struct vr_queue_cfg cfg;
	pthread_t th;
	void *st;
	size_t n;
	unsigned sent = 0, got = 0, inflight = 0;
	bool packed = (wanted & F(VR_F_RING_PACKED)) != 0;

	memset(&v, 0, sizeof(v));
	pthread_mutex_init(&v.lock, NULL);
	pthread_cond_init(&v.cv, NULL);
	v.t = t;
	g_vmm = &v;
	t->serve = vmm_notify;
	t->dev.ops.irq = vmm_irq; /* the fixture's checks are single-threaded */

	/* Bring-up (one thread yet). */
	td_negotiate(t, wanted);
	assert_int_equal(td_queue(t, 0, num, Q0_DESC, Q0_AVAIL, Q0_USED), 0);
	td_set_status(t, ST_DOK);
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = vr_mmio_dev_features(&t->dev);
	cfg.mem = vr_mem_window(t->arena, TD_GPA, TD_ARENA);
	n = packed ? vr_packed_drv_state_size(num) : vr_split_drv_state_size(num);
	st = aligned_alloc(64, (n + 63) & ~(size_t)63);
	if (packed) {
		struct vr_packed_areas a = {td_ptr(t, Q0_DESC), td_ptr(t, Q0_AVAIL), td_ptr(t, Q0_USED)};

		assert_int_equal(vr_packed_drv_init(&pd, &cfg, &a, st, n), 0);
	} else {
		struct vr_split_areas a = {td_ptr(t, Q0_DESC), td_ptr(t, Q0_AVAIL), td_ptr(t, Q0_USED)};

		assert_int_equal(vr_split_drv_init(&sd, &cfg, &a, st, n), 0);
	}
	assert_int_equal(pthread_create(&th, NULL, device_thread, &v), 0);

	/* The guest: keep the ring fed, collect answers, sleep on the IRQ. */
	while (got < MSGS) {
		int rc;

		while (sent < MSGS && inflight < num / 2) {
			/* Buffer slot by message number: at most num/2 in
			 * flight, num slots of 128 bytes. */
			uint64_t out = TD_GPA + TD_POOL + (sent % num) * 128u;
			struct vr_seg seg[2] = {{out, 0}, {out + 64, 64}};

			seg[0].len = (uint32_t)snprintf((char *)td_ptr(t, out), 64, "m%u", sent);
			rc = packed ? vr_packed_drv_add(&pd, seg, 1, 1, (void *)(uintptr_t)(sent + 1))
				    : vr_split_drv_add(&sd, seg, 1, 1, (void *)(uintptr_t)(sent + 1));
			assert_true(rc >= 0);
			sent++;
			inflight++;
		}
		rc = packed ? vr_packed_drv_kick_prepare(&pd) : vr_split_drv_kick_prepare(&sd);
		assert_true(rc >= 0);
		if (rc) {
			pthread_mutex_lock(&v.lock);
			assert_int_equal(wr(t, VR_MMIO_REG_QUEUE_NOTIFY, 0), 0);
			pthread_mutex_unlock(&v.lock);
		}
		for (;;) {
			struct vr_used_buf u;
			const unsigned char *req, *ans;
			unsigned idx, j;

			rc = packed ? vr_packed_drv_get_used(&pd, &u) : vr_split_drv_get_used(&sd, &u);
			if (rc == VR_EAGAIN) {
				if (inflight < num / 2 && sent < MSGS)
					break; /* room to send more first */
				rc = packed ? vr_packed_drv_arm_used_notify(&pd)
					    : vr_split_drv_arm_used_notify(&sd);
				assert_true(rc >= 0);
				if (rc > 0 || inflight == 0)
					break;
				/* Sleep until the device interrupts, then
				 * read and acknowledge InterruptStatus as an
				 * IRQ handler would. */
				pthread_mutex_lock(&v.lock);
				if (timed_wait(&v, &v.irq) != 0)
					fail_msg("lost wakeup: no interrupt (sent %u got %u served %u)",
						 sent, got, v.served);
				rc = (int)rd(t, VR_MMIO_REG_INTERRUPT_STATUS);
				if (rc)
					assert_int_equal(wr(t, VR_MMIO_REG_INTERRUPT_ACK, (uint32_t)rc), 0);
				assert_int_equal(v.failed, 0);
				pthread_mutex_unlock(&v.lock);
				continue;
			}
			assert_int_equal(rc, 0);
			idx = (unsigned)(uintptr_t)u.cookie - 1;
			assert_int_equal(idx, got); /* the device answers in order */
			req = (const unsigned char *)td_ptr(t, TD_GPA + TD_POOL + (idx % num) * 128u);
			ans = req + 64;
			assert_int_equal(u.len, strlen((const char *)req));
			for (j = 0; j < u.len; j++)
				assert_int_equal(ans[j], (unsigned char)(req[j] + 1));
			got++;
			inflight--;
		}
	}

	pthread_mutex_lock(&v.lock);
	v.stop = true;
	pthread_cond_broadcast(&v.cv);
	pthread_mutex_unlock(&v.lock);
	pthread_join(th, NULL);
	assert_int_equal(v.failed, 0);
	assert_int_equal(v.served, MSGS);
	/* At most one kick and one interrupt a message, at least one of
	 * each (the exact numbers depend on the scheduling; printed). */
	assert_true(v.kicks >= 1 && v.kicks <= MSGS);
	assert_true(v.irqs >= 1 && v.irqs <= MSGS);
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->violations, 0);
	assert_int_equal(vr_mmio_dev_stats(&t->dev)->notifies_dropped, 0);
	printf("# %s: %u messages, %u kicks, %u interrupts\n",
	       packed ? "packed" : "split", MSGS, v.kicks, v.irqs);
	pthread_cond_destroy(&v.cv);
	pthread_mutex_destroy(&v.lock);
	free(st);
	td_free(t);
}

static void test_threads_split(void **state)
{
	(void)state;
	run(F(VR_F_VERSION_1) | F(VR_F_EVENT_IDX), 64);
}

static void test_threads_split_no_event_idx(void **state)
{
	(void)state;
	run(F(VR_F_VERSION_1), 16);
}

static void test_threads_packed(void **state)
{
	(void)state;
	run(F(VR_F_VERSION_1) | F(VR_F_RING_PACKED) | F(VR_F_EVENT_IDX), 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_split),
		cmocka_unit_test(test_threads_split_no_event_idx),
		cmocka_unit_test(test_threads_packed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
