/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio driver core over the virtio-mmio bus, against a virtio-mmio
 * register file simulated in this test: first a correct device (its queues
 * are libvring device-side queues on the rings the driver programmed), then
 * the same device lying in one register or one ring field at a time. Every
 * lie must end in its own clear VR_E* code: never a hang, never a read or
 * write outside the memory the driver gave (run under ASan + UBSan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vring/virtio_drv.h>
#include <vring/virtio_mmio.h>

#define NQ 3
#define QMAX 64u
#define RING_BYTES 8192u
#define STATE_BYTES 8192u
#define CFG_BYTES 16u
#define BUF 128u

enum lie {
	LIE_NONE,
	LIE_MAGIC,             /* not "virt" */
	LIE_VERSION_1,         /* legacy */
	LIE_VERSION_3,         /* unknown version */
	LIE_DEVICE_ID_0,       /* empty slot */
	LIE_NO_VERSION_1,      /* VERSION_1 not offered */
	LIE_FEATURES_FLICKER,  /* the offer changes between two reads */
	LIE_FEATURES_GROW,     /* a bit turns up after FEATURES_OK */
	LIE_FEATURES_REFUSED,  /* clears FEATURES_OK */
	LIE_RESET_STUCK,       /* status never reads 0 */
	LIE_DROP_ACK,          /* forgets ACKNOWLEDGE */
	LIE_NEEDS_RESET_AT_OK, /* DEVICE_NEEDS_RESET at DRIVER_OK */
	LIE_QNUM_MAX_0,
	LIE_QNUM_MAX_HUGE,     /* 65536 */
	LIE_QUEUE_LIVE,        /* QueueReady reads 1 before set-up */
	LIE_READY_NOT_KEPT,    /* QueueReady reads 0 after writing 1 */
	LIE_CONFIG_GEN_SPIN,   /* generation moves on every read */
	LIE_CONFIG_GEN_ONCE,   /* moves once: one retry, then fine */
	LIE_ISR_UNKNOWN,       /* undefined interrupt status bits */
	LIE_QRESET_STUCK,      /* QueueReset keeps reading 1 */
	LIE_QRESET_IGNORED,    /* no QueueReset register (QEMU 7.2 mmio) */
	LIE_RANDOM,            /* any read may return a random value, and the
				  used rings get random bytes */
};

struct simq {
	uint32_t num_max, num, ready, reset;
	uint64_t desc, driver, device;
	bool live;
	union {
		struct vr_split_dev s;
		struct vr_packed_dev p;
	} q;
	uint64_t state[STATE_BYTES / 8];
	unsigned notified;
};

struct sim {
	enum lie lie;
	uint64_t offer;
	uint32_t dev_sel, drv_sel, qsel;
	uint64_t drv_features;
	uint32_t status;
	uint32_t isr;
	uint32_t gen;
	uint8_t config[CFG_BYTES];
	unsigned feature_reads, gen_reads;
	struct simq q[NQ];
	bool auto_process;
	uint8_t fill; /* byte the device writes into writable buffers */
	uint64_t consumed; /* readable bytes the device checked */
	uint64_t bad;      /* readable bytes that were not as expected */
	uint64_t rng;      /* LIE_RANDOM state */
	uintptr_t win_lo, win_hi; /* the driver's buffers: all the device may touch */
};

static uint32_t sim_rand(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (uint32_t)(s->rng >> 16);
}

/* The device's own checks of the driver: hard failures, except while the
 * device lies at random (the driver then acts on random values, rightly
 * refusing some, and the device's view of the queues may not match). */
#define SIM_CHECK(s, cond)                                    \
	do {                                                  \
		if ((s)->lie != LIE_RANDOM)                   \
			assert_true(cond);                    \
	} while (0)

static bool packed(const struct sim *s)
{
	return (s->drv_features & VR_FEATURE(VR_F_RING_PACKED)) != 0;
}

/* Bus address = pointer, inside the driver's buffer array only: with
 * random bytes in a packed ring the device must not write elsewhere. */
static void *ident(void *ctx, uint64_t addr, uint64_t len, enum vr_access a)
{
	const struct sim *s = ctx;

	(void)a;
	if (len == 0 || addr < s->win_lo || addr > s->win_hi || len > s->win_hi - addr)
		return NULL;
	return (void *)(uintptr_t)addr;
}

/* The device's side of a queue the driver just made ready. */
static void sim_queue_live(struct sim *s, unsigned i)
{
	struct simq *q = &s->q[i];
	struct vr_queue_cfg c;
	int err;

	memset(&c, 0, sizeof(c));
	c.num = q->num;
	c.features = s->drv_features & VR_RING_FEATURES;
	c.mem.translate = ident;
	c.mem.ctx = s;
	if (packed(s)) {
		struct vr_packed_areas a = {(void *)(uintptr_t)q->desc,
					    (void *)(uintptr_t)q->driver,
					    (void *)(uintptr_t)q->device};

		err = vr_packed_dev_init(&q->q.p, &c, &a, q->state, sizeof(q->state));
	} else {
		struct vr_split_areas a = {(void *)(uintptr_t)q->desc,
					   (void *)(uintptr_t)q->driver,
					   (void *)(uintptr_t)q->device};

		err = vr_split_dev_init(&q->q.s, &c, &a, q->state, sizeof(q->state));
	}
	SIM_CHECK(s, err == 0);
	q->live = err == 0;
}

/* Serve every available chain: check readable bytes (the driver writes
 * byte i of a buffer as (uint8_t)(len + i)), fill writable ones with
 * s->fill, complete, publish, raise the interrupt if the driver asked. */
static void sim_process(struct sim *s, unsigned i)
{
	struct simq *q = &s->q[i];
	struct vr_iov iov[8];
	struct vr_chain ch;
	int err, need;

	if (!q->live)
		return;
	for (;;) {
		uint32_t written = 0;
		unsigned k;

		ch.iov = iov;
		ch.iov_cap = 8;
		err = packed(s) ? vr_packed_dev_pop(&q->q.p, &ch) : vr_split_dev_pop(&q->q.s, &ch);
		if (err == VR_EAGAIN)
			break;
		SIM_CHECK(s, err == 0);
		if (err) {
			q->live = false;
			return;
		}
		for (k = 0; k < ch.n_out; k++) {
			const uint8_t *p = iov[k].base;

			for (uint32_t b = 0; b < iov[k].len; b++)
				if (p[b] != (uint8_t)(iov[k].len + b))
					s->bad++;
			s->consumed += iov[k].len;
		}
		for (k = ch.n_out; k < ch.n_out + ch.n_in; k++) {
			memset(iov[k].base, s->fill, iov[k].len);
			written += iov[k].len;
		}
		err = packed(s) ? vr_packed_dev_complete(&q->q.p, ch.id, written)
				: vr_split_dev_complete(&q->q.s, ch.id, written);
		assert_int_equal(err, 0);
	}
	need = packed(s) ? vr_packed_dev_notify_prepare(&q->q.p)
			 : vr_split_dev_notify_prepare(&q->q.s);
	if (need > 0)
		s->isr |= VR_MMIO_INT_VRING;
	if (s->lie == LIE_RANDOM && (sim_rand(s) & 7) == 0) {
		/* A random byte anywhere in what the device writes. */
		uint8_t *area = (uint8_t *)(uintptr_t)(packed(s) ? q->desc : q->device);
		size_t len = packed(s) ? vr_packed_desc_bytes(q->num) : vr_split_used_bytes(q->num);

		area[sim_rand(s) % len] = (uint8_t)sim_rand(s);
	}
}

static uint32_t sim_read(void *ctx, uint32_t off, unsigned width)
{
	struct sim *s = ctx;
	struct simq *q = &s->q[s->qsel < NQ ? s->qsel : 0];
	uint64_t f;

	if (off >= VR_MMIO_REG_CONFIG) {
		uint32_t o = off - VR_MMIO_REG_CONFIG, v = 0;

		assert_true(width == 1 || width == 2 || width == 4);
		assert_int_equal(o % width, 0);
		if (o + width > CFG_BYTES)
			return 0;
		for (unsigned k = 0; k < width; k++)
			v |= (uint32_t)s->config[o + k] << (8 * k);
		return v;
	}
	assert_int_equal(width, 4); /* registers take 32-bit accesses only */
	if (s->lie == LIE_RANDOM && (sim_rand(s) & 15) == 0)
		return sim_rand(s) << (sim_rand(s) & 16);
	switch (off) {
	case VR_MMIO_REG_MAGIC:
		return s->lie == LIE_MAGIC ? 0x74726977u : VR_MMIO_MAGIC;
	case VR_MMIO_REG_VERSION:
		return s->lie == LIE_VERSION_1 ? 1 : s->lie == LIE_VERSION_3 ? 3 : 2;
	case VR_MMIO_REG_DEVICE_ID:
		return s->lie == LIE_DEVICE_ID_0 ? 0 : VR_VIRTIO_ID_CONSOLE;
	case VR_MMIO_REG_VENDOR_ID:
		return 0x554d4551u;
	case VR_MMIO_REG_DEVICE_FEATURES:
		f = s->offer;
		if (s->lie == LIE_NO_VERSION_1)
			f &= ~VR_FEATURE(VR_F_VERSION_1);
		if (s->lie == LIE_FEATURES_FLICKER && (s->feature_reads++ & 2))
			f ^= VR_FEATURE(5);
		if (s->lie == LIE_FEATURES_GROW &&
		    (s->status & VR_VIRTIO_STATUS_FEATURES_OK))
			f |= VR_FEATURE(VR_F_IN_ORDER);
		return (uint32_t)(s->dev_sel ? f >> 32 : f);
	case VR_MMIO_REG_QUEUE_NUM_MAX:
		if (s->lie == LIE_QNUM_MAX_0)
			return 0;
		if (s->lie == LIE_QNUM_MAX_HUGE)
			return 65536;
		return q->num_max;
	case VR_MMIO_REG_QUEUE_READY:
		if (s->lie == LIE_QUEUE_LIVE)
			return 1;
		if (s->lie == LIE_READY_NOT_KEPT)
			return 0;
		return q->ready;
	case VR_MMIO_REG_QUEUE_RESET:
		/* 1 while the reset is ongoing (three reads here), then 0. */
		if (s->lie == LIE_QRESET_STUCK)
			return 1;
		if (q->reset) {
			q->reset--;
			return 1;
		}
		return 0;
	case VR_MMIO_REG_INTERRUPT_STATUS:
		return s->lie == LIE_ISR_UNKNOWN ? s->isr | 0x1cu : s->isr;
	case VR_MMIO_REG_STATUS:
		if (s->lie == LIE_RESET_STUCK)
			return s->status | VR_VIRTIO_STATUS_ACKNOWLEDGE;
		if (s->lie == LIE_DROP_ACK)
			return s->status & ~VR_VIRTIO_STATUS_ACKNOWLEDGE;
		if (s->lie == LIE_FEATURES_REFUSED)
			return s->status & ~VR_VIRTIO_STATUS_FEATURES_OK;
		if (s->lie == LIE_NEEDS_RESET_AT_OK && (s->status & VR_VIRTIO_STATUS_DRIVER_OK))
			return s->status | VR_VIRTIO_STATUS_NEEDS_RESET;
		return s->status;
	case VR_MMIO_REG_CONFIG_GENERATION:
		s->gen_reads++;
		if (s->lie == LIE_CONFIG_GEN_SPIN)
			return s->gen_reads;
		if (s->lie == LIE_CONFIG_GEN_ONCE && s->gen_reads == 2)
			s->gen++;
		return s->gen;
	default:
		fail_msg("driver read write-only or unknown register 0x%x", off);
		return 0;
	}
}

static void sim_write(void *ctx, uint32_t off, uint32_t v, unsigned width)
{
	struct sim *s = ctx;
	struct simq *q = &s->q[s->qsel < NQ ? s->qsel : 0];

	assert_int_equal(width, 4);
	switch (off) {
	case VR_MMIO_REG_DEVICE_FEATURES_SEL:
		s->dev_sel = v;
		break;
	case VR_MMIO_REG_DRIVER_FEATURES_SEL:
		s->drv_sel = v;
		break;
	case VR_MMIO_REG_DRIVER_FEATURES:
		/* Section 4.2.2.2: only before FEATURES_OK. */
		SIM_CHECK(s, !(s->status & VR_VIRTIO_STATUS_FEATURES_OK));
		if (s->drv_sel)
			s->drv_features = (s->drv_features & 0xffffffffu) | (uint64_t)v << 32;
		else
			s->drv_features = (s->drv_features & ~0xffffffffull) | v;
		break;
	case VR_MMIO_REG_QUEUE_SEL:
		s->qsel = v;
		break;
	case VR_MMIO_REG_QUEUE_NUM:
		SIM_CHECK(s, !q->ready);
		q->num = v;
		break;
	case VR_MMIO_REG_QUEUE_DESC_LOW:
	case VR_MMIO_REG_QUEUE_DESC_HIGH:
	case VR_MMIO_REG_QUEUE_DRIVER_LOW:
	case VR_MMIO_REG_QUEUE_DRIVER_HIGH:
	case VR_MMIO_REG_QUEUE_DEVICE_LOW:
	case VR_MMIO_REG_QUEUE_DEVICE_HIGH: {
		uint64_t *a = off < VR_MMIO_REG_QUEUE_DRIVER_LOW ? &q->desc
			      : off < VR_MMIO_REG_QUEUE_DEVICE_LOW ? &q->driver : &q->device;

		SIM_CHECK(s, !q->ready); /* addresses only while not ready */
		if (off & 4)
			*a = (*a & 0xffffffffu) | (uint64_t)v << 32;
		else
			*a = (*a & ~0xffffffffull) | v;
		break;
	}
	case VR_MMIO_REG_QUEUE_READY:
		q->ready = v;
		if (v) {
			SIM_CHECK(s, q->num >= 1 && q->num <= q->num_max);
			q->reset = 0;
			if (s->qsel < NQ)
				sim_queue_live(s, s->qsel);
		}
		break;
	case VR_MMIO_REG_QUEUE_RESET:
		SIM_CHECK(s, v == 1);
		SIM_CHECK(s, s->drv_features & VR_FEATURE(VR_F_RING_RESET));
		if (s->lie == LIE_QRESET_IGNORED)
			break;
		q->ready = 0;
		q->live = false;
		q->reset = 3;
		break;
	case VR_MMIO_REG_QUEUE_NOTIFY:
		assert_true(v < NQ);
		SIM_CHECK(s, s->status & VR_VIRTIO_STATUS_DRIVER_OK);
		s->q[v].notified++;
		if (s->auto_process)
			sim_process(s, v);
		break;
	case VR_MMIO_REG_INTERRUPT_ACK:
		s->isr &= ~v;
		break;
	case VR_MMIO_REG_STATUS:
		if (v == 0) {
			s->status = 0;
			s->drv_features = 0;
			s->isr = 0;
			for (unsigned i = 0; i < NQ; i++) {
				s->q[i].ready = s->q[i].num = 0;
				s->q[i].live = false;
			}
		} else {
			/* The driver never clears a bit but by reset. */
			SIM_CHECK(s, (v & s->status) == s->status);
			s->status = v;
		}
		break;
	default:
		fail_msg("driver wrote read-only or unknown register 0x%x", off);
	}
}

static const struct vr_mmio_access sim_access = {sim_read, sim_write};

#define OFFER (VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_EVENT_IDX) |       \
	       VR_FEATURE(VR_F_INDIRECT_DESC) | VR_FEATURE(VR_F_RING_RESET) |  \
	       VR_FEATURE(VR_F_RING_PACKED) | VR_FEATURE(0) | VR_FEATURE(1) |   \
	       VR_FEATURE(VR_F_SR_IOV) | VR_FEATURE(52))

struct fix {
	struct sim sim;
	struct vr_mmio mmio;
	struct vr_virtio_dev dev;
	struct vr_virtio_queue vq[NQ];
	uint8_t *ring[NQ];
	uint64_t state[NQ][STATE_BYTES / 8];
	uint8_t bufs[QMAX][BUF];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	for (unsigned i = 0; i < NQ; i++) {
		f->ring[i] = aligned_alloc(4096, RING_BYTES);
		assert_non_null(f->ring[i]);
		f->sim.q[i].num_max = QMAX;
	}
	f->sim.offer = OFFER;
	f->sim.win_lo = (uintptr_t)f->bufs;
	f->sim.win_hi = (uintptr_t)f->bufs + sizeof(f->bufs);
	f->sim.auto_process = true;
	f->sim.fill = 0x5a;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	for (unsigned i = 0; i < NQ; i++)
		free(f->ring[i]);
	free(f);
	return 0;
}

static struct vr_virtio_queue_cfg qcfg(struct fix *f, unsigned i, uint32_t num)
{
	struct vr_virtio_queue_cfg c;

	memset(&c, 0, sizeof(c));
	c.num = num;
	c.ring = f->ring[i];
	c.ring_len = RING_BYTES;
	c.state = f->state[i];
	c.state_len = sizeof(f->state[i]);
	return c;
}

/* Probe, begin, negotiate @wanted; returns the first error. */
static int bring_up(struct fix *f, uint64_t wanted)
{
	int err = vr_mmio_probe_access(&f->mmio, &sim_access, &f->sim);

	if (err)
		return err;
	err = vr_virtio_init(&f->dev, &vr_mmio_bus_ops, &f->mmio, NULL, NULL);
	if (!err)
		err = vr_virtio_begin(&f->dev);
	if (!err)
		err = vr_virtio_negotiate(&f->dev, wanted);
	return err;
}

/* The whole bring-up with two queues (0: driver -> device, 1: device ->
 * driver). Returns the first error. */
static int full_up(struct fix *f, uint64_t wanted)
{
	struct vr_virtio_queue_cfg c;
	int err = bring_up(f, wanted);

	if (err)
		return err;
	for (unsigned i = 0; i < 2; i++) {
		c = qcfg(f, i, 0);
		err = vr_virtio_queue_setup(&f->dev, &f->vq[i], (uint16_t)i, &c);
		if (err < 0)
			return err;
	}
	return vr_virtio_driver_ok(&f->dev);
}

static void fill_out(uint8_t *p, uint32_t len)
{
	for (uint32_t b = 0; b < len; b++)
		p[b] = (uint8_t)(len + b);
}

static unsigned used_seen;
static uint64_t used_bytes;

static void count_used(void *ctx, struct vr_virtio_queue *vq, const struct vr_used_buf *b)
{
	(void)ctx;
	(void)vq;
	used_seen++;
	used_bytes += b->len;
}

/* 1000 buffers each way through the interrupt path. */
static void exchange(struct fix *f)
{
	unsigned irqs = 0;

	used_seen = 0;
	used_bytes = 0;
	for (unsigned round = 0; round < 1000; round++) {
		uint32_t len = 1 + round % BUF;
		struct vr_seg out = {(uint64_t)(uintptr_t)f->bufs[round % QMAX], len};
		struct vr_seg in = {(uint64_t)(uintptr_t)f->bufs[(round + 1) % QMAX], BUF};
		int r;

		fill_out(f->bufs[round % QMAX], len);
		assert_true(vr_virtio_queue_add(&f->vq[0], &out, 1, 0, NULL) >= 0);
		assert_true(vr_virtio_queue_kick(&f->vq[0]) >= 0);
		assert_true(vr_virtio_queue_add(&f->vq[1], &in, 0, 1, NULL) >= 0);
		assert_true(vr_virtio_queue_kick(&f->vq[1]) >= 0);
		/* A suppressed kick leaves the work for the next one. */
		sim_process(&f->sim, 0);
		sim_process(&f->sim, 1);
		r = vr_virtio_interrupt(&f->dev);
		assert_true(r >= 0);
		if (r & VR_VIRTIO_INT_VRING)
			irqs++;
		assert_true(vr_virtio_drain(&f->dev, count_used, NULL) >= 0);
		assert_true(vr_virtio_queue_arm(&f->vq[0]) >= 0);
		assert_true(vr_virtio_queue_arm(&f->vq[1]) >= 0);
	}
	assert_int_equal(used_seen, 2000);
	assert_int_equal(used_bytes, 1000u * BUF); /* only writable bytes count */
	assert_int_equal(f->sim.bad, 0);
	assert_true(irqs > 0);
	/* The last receive buffer holds what the device wrote. */
	for (unsigned b = 0; b < BUF; b++)
		assert_int_equal(f->bufs[1000 % QMAX][b], f->sim.fill);
}

static void good_split(void **state)
{
	struct fix *f = *state;

	assert_int_equal(full_up(f, VR_VIRTIO_DRV_FEATURES & ~VR_FEATURE(VR_F_RING_PACKED)), 0);
	assert_false(vr_virtio_features(&f->dev) & VR_FEATURE(VR_F_RING_PACKED));
	assert_int_equal(f->vq[0].num, QMAX);
	assert_int_equal(f->sim.status, VR_VIRTIO_STATUS_ACKNOWLEDGE | VR_VIRTIO_STATUS_DRIVER |
						VR_VIRTIO_STATUS_FEATURES_OK | VR_VIRTIO_STATUS_DRIVER_OK);
	exchange(f);
}

static void good_packed(void **state)
{
	struct fix *f = *state;

	assert_int_equal(full_up(f, VR_VIRTIO_DRV_FEATURES), 0);
	assert_true(vr_virtio_features(&f->dev) & VR_FEATURE(VR_F_RING_PACKED));
	assert_true(f->vq[0].packed);
	exchange(f);
}

static void good_no_event_idx(void **state)
{
	struct fix *f = *state;

	f->sim.offer &= ~VR_FEATURE(VR_F_EVENT_IDX);
	assert_int_equal(full_up(f, VR_VIRTIO_DRV_FEATURES), 0);
	assert_false(vr_virtio_features(&f->dev) & VR_FEATURE(VR_F_EVENT_IDX));
	exchange(f);
}

static void good_in_order(void **state)
{
	for (int packed_ring = 0; packed_ring < 2; packed_ring++) {
		struct fix *f;

		teardown(state);
		setup(state);
		f = *state;
		f->sim.offer |= VR_FEATURE(VR_F_IN_ORDER);
		assert_int_equal(full_up(f, packed_ring ? VR_VIRTIO_DRV_FEATURES
							: VR_VIRTIO_DRV_FEATURES &
								  ~VR_FEATURE(VR_F_RING_PACKED)),
				 0);
		assert_true(vr_virtio_features(&f->dev) & VR_FEATURE(VR_F_IN_ORDER));
		exchange(f);
	}
}

static void negotiation_takes_the_intersection(void **state)
{
	struct fix *f = *state;
	uint64_t got;

	/* Wanted: device bits 0 and 3, everything in the transport range
	 * (SR_IOV included), device bit 52. */
	assert_int_equal(bring_up(f, VR_FEATURE(0) | VR_FEATURE(3) | VR_VIRTIO_TRANSPORT_MASK |
					 VR_FEATURE(52)), 0);
	got = vr_virtio_features(&f->dev);
	assert_int_equal(got, f->sim.drv_features);
	assert_true(got & VR_FEATURE(0));
	assert_false(got & VR_FEATURE(1));  /* offered, not wanted */
	assert_false(got & VR_FEATURE(3));  /* wanted, not offered */
	assert_true(got & VR_FEATURE(52));  /* device-specific high bit */
	assert_false(got & VR_FEATURE(VR_F_SR_IOV)); /* transport bit the core cannot drive */
	assert_true(got & VR_FEATURE(VR_F_VERSION_1));
	assert_true(got & VR_FEATURE(VR_F_RING_PACKED));
	assert_int_equal(vr_virtio_device_features(&f->dev), OFFER);
	/* Not twice. */
	assert_int_equal(vr_virtio_negotiate(&f->dev, 0), VR_ESTATE);
}

static void queue_size_choice(void **state)
{
	struct fix *f = *state;
	struct vr_virtio_queue_cfg c;

	f->sim.q[0].num_max = 100;
	f->sim.q[1].num_max = 100;
	assert_int_equal(bring_up(f, VR_VIRTIO_DRV_FEATURES & ~VR_FEATURE(VR_F_RING_PACKED)), 0);
	c = qcfg(f, 0, 0);
	assert_int_equal(vr_virtio_queue_setup(&f->dev, &f->vq[0], 0, &c), 64); /* power of 2 */
	c = qcfg(f, 1, 16);
	assert_int_equal(vr_virtio_queue_setup(&f->dev, &f->vq[1], 1, &c), 16);
	/* Too little ring memory for the size. */
	c = qcfg(f, 2, 0);
	c.ring_len = 100;
	assert_int_equal(vr_virtio_queue_setup(&f->dev, &f->vq[2], 2, &c), VR_ERANGE);
	c = qcfg(f, 2, 0);
	c.state_len = 8;
	assert_int_equal(vr_virtio_queue_setup(&f->dev, &f->vq[2], 2, &c), VR_ERANGE);
	/* Set up twice. */
	c = qcfg(f, 0, 0);
	assert_int_equal(vr_virtio_queue_setup(&f->dev, &f->vq[0], 0, &c), VR_ESTATE);
	/* Out of range. */
	assert_int_equal(vr_virtio_queue_setup(&f->dev, &f->vq[2], VR_VIRTIO_MAX_QUEUES, &c), VR_EINVAL);
}

static void packed_size_need_not_be_power_of_two(void **state)
{
	struct fix *f = *state;
	struct vr_virtio_queue_cfg c;

	f->sim.q[0].num_max = 100;
	assert_int_equal(bring_up(f, VR_VIRTIO_DRV_FEATURES), 0);
	c = qcfg(f, 0, 0);
	assert_int_equal(vr_virtio_queue_setup(&f->dev, &f->vq[0], 0, &c), 100);
}

static void config_read_widths(void **state)
{
	struct fix *f = *state;
	uint8_t out[CFG_BYTES];

	for (unsigned i = 0; i < CFG_BYTES; i++)
		f->sim.config[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(bring_up(f, 0), 0);
	memset(out, 0, sizeof(out));
	/* Offsets 1..11: a byte, a 16-bit, 32-bit ones, a tail. */
	assert_int_equal(vr_virtio_config_read(&f->dev, 1, out, 11), 0);
	for (unsigned i = 0; i < 11; i++)
		assert_int_equal(out[i], 0xa1 + i);
	assert_int_equal(vr_virtio_config_read(&f->dev, VR_VIRTIO_CONFIG_MAX, out, 1), VR_EINVAL);
	assert_int_equal(f->dev.stats.config_retries, 0);
}

static void config_generation_retry(void **state)
{
	struct fix *f = *state;
	uint8_t out[8];

	f->sim.lie = LIE_CONFIG_GEN_ONCE;
	assert_int_equal(bring_up(f, 0), 0);
	assert_int_equal(vr_virtio_config_read(&f->dev, 0, out, 8), 0);
	assert_int_equal(f->dev.stats.config_retries, 1);
}

static void queue_reset_and_reuse(void **state)
{
	struct fix *f = *state;
	struct vr_virtio_queue_cfg c;
	struct vr_seg in;

	assert_int_equal(full_up(f, VR_VIRTIO_DRV_FEATURES), 0);
	assert_true(vr_virtio_features(&f->dev) & VR_FEATURE(VR_F_RING_RESET));
	/* A buffer in flight that the device never uses. */
	f->sim.auto_process = false;
	in.addr = (uint64_t)(uintptr_t)f->bufs[0];
	in.len = BUF;
	assert_true(vr_virtio_queue_add(&f->vq[1], &in, 0, 1, NULL) >= 0);
	assert_true(vr_virtio_queue_kick(&f->vq[1]) >= 0);
	assert_int_equal(vr_virtio_queue_reset(&f->vq[1]), 0);
	assert_int_equal(f->sim.q[1].ready, 0);
	assert_int_equal(vr_virtio_queue_add(&f->vq[1], &in, 0, 1, NULL), VR_ESTATE);
	c = qcfg(f, 1, 0);
	assert_int_equal(vr_virtio_queue_setup(&f->dev, &f->vq[1], 1, &c), (int)QMAX);
	assert_int_equal(vr_virtio_queue_free(&f->vq[1]), QMAX);
	f->sim.auto_process = true;
	exchange(f);
}

static void queue_reset_needs_the_feature(void **state)
{
	struct fix *f = *state;

	f->sim.offer &= ~VR_FEATURE(VR_F_RING_RESET);
	assert_int_equal(full_up(f, VR_VIRTIO_DRV_FEATURES), 0);
	assert_int_equal(vr_virtio_queue_reset(&f->vq[0]), VR_ENOTSUP);
}

static void interrupt_spurious_and_config(void **state)
{
	struct fix *f = *state;

	assert_int_equal(full_up(f, VR_VIRTIO_DRV_FEATURES), 0);
	assert_int_equal(vr_virtio_interrupt(&f->dev), 0);
	assert_int_equal(f->dev.stats.spurious, 1);
	f->sim.isr = VR_MMIO_INT_CONFIG;
	assert_int_equal(vr_virtio_interrupt(&f->dev), VR_VIRTIO_INT_CONFIG);
	assert_int_equal(f->sim.isr, 0); /* acknowledged */
	/* A config change that announces DEVICE_NEEDS_RESET. */
	f->sim.status |= VR_VIRTIO_STATUS_NEEDS_RESET;
	f->sim.isr = VR_MMIO_INT_CONFIG;
	assert_int_equal(vr_virtio_interrupt(&f->dev), VR_ENEEDSRESET);
	assert_int_equal(vr_virtio_interrupt(&f->dev), VR_EBROKEN);
	assert_int_equal(vr_virtio_check_status(&f->dev), VR_ENEEDSRESET);
	/* A reset and a new bring-up recover. */
	f->sim.status = 0;
	assert_int_equal(full_up(f, VR_VIRTIO_DRV_FEATURES), 0);
	exchange(f);
}

/* ---- Lies in registers ---------------------------------------------------- */
struct lie_case {
	enum lie lie;
	int expect;
	int stage; /* 0 probe, 1 begin/negotiate, 2 queue setup, 3 driver_ok, 4 reset */
};

static const struct lie_case lies[] = {
	{LIE_MAGIC, VR_ENODEV, 0},
	{LIE_VERSION_1, VR_ELEGACY, 0},
	{LIE_VERSION_3, VR_EDEVICE, 0},
	{LIE_DEVICE_ID_0, VR_ENODEV, 0},
	{LIE_NO_VERSION_1, VR_ELEGACY, 1},
	{LIE_FEATURES_FLICKER, VR_EDEVICE, 1},
	{LIE_FEATURES_GROW, VR_EDEVICE, 1},
	{LIE_FEATURES_REFUSED, VR_EFEATURES, 1},
	{LIE_RESET_STUCK, VR_ETIMEDOUT, 4}, /* never got past reset */
	{LIE_DROP_ACK, VR_ENEEDSRESET, 1},
	{LIE_QNUM_MAX_0, VR_EQUEUE, 2},
	{LIE_QNUM_MAX_HUGE, VR_EQUEUE, 2},
	{LIE_QUEUE_LIVE, VR_EQUEUE, 2},
	{LIE_READY_NOT_KEPT, VR_EQUEUE, 2},
	{LIE_NEEDS_RESET_AT_OK, VR_ENEEDSRESET, 3},
};

static void register_lies(void **state)
{
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		int err;

		teardown(state);
		setup(state);
		f = *state;
		f->sim.lie = lies[i].lie;
		err = full_up(f, VR_VIRTIO_DRV_FEATURES);
		if (err != lies[i].expect)
			fail_msg("lie %d: got %s, expected %s", (int)lies[i].lie,
				 vr_errname(err), vr_errname(lies[i].expect));
		/* From negotiation on, the driver gives up with FAILED. */
		if (lies[i].stage == 1 || lies[i].stage == 3)
			assert_true(f->sim.status & VR_VIRTIO_STATUS_FAILED);
		if (lies[i].stage == 3) {
			assert_int_equal(vr_virtio_check_status(&f->dev), VR_ENEEDSRESET);
			assert_int_equal(vr_virtio_driver_ok(&f->dev), VR_EBROKEN);
		}
	}
}

static void config_generation_never_settles(void **state)
{
	struct fix *f = *state;
	uint8_t out[8];

	f->sim.lie = LIE_CONFIG_GEN_SPIN;
	assert_int_equal(bring_up(f, 0), 0);
	assert_int_equal(vr_virtio_config_read(&f->dev, 0, out, 8), VR_ECONFIGGEN);
	assert_int_equal(f->dev.stats.config_retries, VR_VIRTIO_CONFIG_RETRIES);
	assert_true(f->sim.gen_reads <= 2 * VR_VIRTIO_CONFIG_RETRIES);
}

static void interrupt_status_unknown_bits(void **state)
{
	struct fix *f = *state;

	assert_int_equal(full_up(f, VR_VIRTIO_DRV_FEATURES), 0);
	f->sim.lie = LIE_ISR_UNKNOWN;
	f->sim.isr = VR_MMIO_INT_VRING;
	assert_int_equal(vr_virtio_interrupt(&f->dev), VR_EDEVICE);
	assert_int_equal(f->sim.isr, 0); /* still acknowledged: the line drops */
	f->sim.lie = LIE_NONE;
	exchange(f); /* the device is still usable */
}

static void queue_reset_never_completes(void **state)
{
	struct fix *f = *state;

	assert_int_equal(full_up(f, VR_VIRTIO_DRV_FEATURES), 0);
	f->sim.lie = LIE_QRESET_STUCK;
	assert_int_equal(vr_virtio_queue_reset(&f->vq[0]), VR_ETIMEDOUT);
}

/* RING_RESET offered, no QueueReset register (QEMU 7.2's virtio-mmio):
 * the reset "completes" at once but the queue is still ready. The driver
 * says so and leaves the queue as it was, still carrying traffic. */
static void queue_reset_ignored(void **state)
{
	struct fix *f = *state;

	assert_int_equal(full_up(f, VR_VIRTIO_DRV_FEATURES), 0);
	f->sim.lie = LIE_QRESET_IGNORED;
	assert_int_equal(vr_virtio_queue_reset(&f->vq[0]), VR_EQUEUE);
	assert_int_equal(f->sim.q[0].ready, 1);
	f->sim.lie = LIE_NONE;
	exchange(f);
}

/* ---- Lies in the used ring ------------------------------------------------- */
enum ring_lie { RL_IDX, RL_ID, RL_LEN };

static void used_ring_lie(struct fix *f, bool use_packed, enum ring_lie how, int expect)
{
	struct vr_seg in = {0, BUF};
	struct vr_used_buf b;
	uint64_t wanted = VR_VIRTIO_DRV_FEATURES;

	if (!use_packed)
		wanted &= ~VR_FEATURE(VR_F_RING_PACKED);
	assert_int_equal(full_up(f, wanted), 0);
	f->sim.auto_process = false;
	for (unsigned i = 0; i < 4; i++) {
		in.addr = (uint64_t)(uintptr_t)f->bufs[i];
		assert_true(vr_virtio_queue_add(&f->vq[1], &in, 0, 1, NULL) >= 0);
	}
	assert_true(vr_virtio_queue_kick(&f->vq[1]) >= 0);
	sim_process(&f->sim, 1);
	if (use_packed) {
		struct vr_packed_desc *d = (struct vr_packed_desc *)(uintptr_t)f->sim.q[1].desc;

		if (how == RL_IDX) {
			/* Four more "used" descriptors than in flight: mark
			 * the whole ring used in the current wrap. */
			for (unsigned i = 0; i < QMAX; i++)
				d[i].flags = (uint16_t)(VR_DESC_F_AVAIL | VR_DESC_F_USED);
		} else if (how == RL_ID) {
			d[0].id = 999;
		} else {
			d[0].len = BUF + 1;
		}
	} else {
		struct vr_used *u = (struct vr_used *)(uintptr_t)f->sim.q[1].device;

		if (how == RL_IDX)
			u->idx = (uint16_t)(u->idx + 5);
		else if (how == RL_ID)
			vr_used_ring(u)[0].id = 999;
		else
			vr_used_ring(u)[0].len = BUF + 1;
	}
	if (how == RL_IDX && use_packed) {
		/* The four real ones come first; the fifth has nothing in flight. */
		for (unsigned i = 0; i < 4; i++)
			assert_int_equal(vr_virtio_queue_get_used(&f->vq[1], &b), 0);
	}
	assert_int_equal(vr_virtio_queue_get_used(&f->vq[1], &b), expect);
	assert_int_equal(vr_virtio_queue_broken(&f->vq[1]), expect);
	assert_int_equal(vr_virtio_queue_get_used(&f->vq[1], &b), VR_EBROKEN);
	assert_int_equal(vr_virtio_drain(&f->dev, NULL, NULL), VR_EBROKEN);
}

static void used_lies_split(void **state)
{
	const struct {
		enum ring_lie how;
		int expect;
	} c[] = {{RL_IDX, VR_EUSEDIDX}, {RL_ID, VR_EUSEDID}, {RL_LEN, VR_EUSEDLEN}};

	for (size_t i = 0; i < 3; i++) {
		teardown(state);
		setup(state);
		used_ring_lie(*state, false, c[i].how, c[i].expect);
	}
}

static void used_lies_packed(void **state)
{
	const struct {
		enum ring_lie how;
		int expect;
	} c[] = {{RL_IDX, VR_EUSEDIDX}, {RL_ID, VR_EUSEDID}, {RL_LEN, VR_EUSEDLEN}};

	for (size_t i = 0; i < 3; i++) {
		teardown(state);
		setup(state);
		used_ring_lie(*state, true, c[i].how, c[i].expect);
	}
}

/* QEMU marks packed used descriptors without WRITE; the virtio driver takes
 * the length anyway (VR_QF_USED_LEN_WITHOUT_WRITE), bounded by what the
 * chain could take, and 0 for a chain with nothing writable. */
static void packed_used_len_without_write(void **state)
{
	struct fix *f = *state;
	struct vr_packed_desc *d;
	struct vr_used_buf b;
	struct vr_seg in = {0, BUF}, out = {0, 16};

	assert_int_equal(full_up(f, VR_VIRTIO_DRV_FEATURES), 0);
	f->sim.auto_process = false;
	in.addr = (uint64_t)(uintptr_t)f->bufs[0];
	out.addr = (uint64_t)(uintptr_t)f->bufs[1];
	fill_out(f->bufs[1], 16);
	assert_true(vr_virtio_queue_add(&f->vq[1], &in, 0, 1, NULL) >= 0);
	assert_true(vr_virtio_queue_add(&f->vq[1], &in, 0, 1, NULL) >= 0);
	assert_true(vr_virtio_queue_add(&f->vq[0], &out, 1, 0, NULL) >= 0);
	assert_true(vr_virtio_queue_kick(&f->vq[1]) >= 0);
	assert_true(vr_virtio_queue_kick(&f->vq[0]) >= 0);
	sim_process(&f->sim, 1);
	sim_process(&f->sim, 0);
	d = (struct vr_packed_desc *)(uintptr_t)f->sim.q[1].desc;
	d[0].flags = (uint16_t)(d[0].flags & ~VR_DESC_F_WRITE);
	d[0].len = 50;
	assert_int_equal(vr_virtio_queue_get_used(&f->vq[1], &b), 0);
	assert_int_equal(b.len, 50);
	d = (struct vr_packed_desc *)(uintptr_t)f->sim.q[0].desc;
	d[0].len = 77; /* a length on a chain with nothing writable */
	assert_int_equal(vr_virtio_queue_get_used(&f->vq[0], &b), 0);
	assert_int_equal(b.len, 0);
	d = (struct vr_packed_desc *)(uintptr_t)f->sim.q[1].desc;
	d[1].flags = (uint16_t)(d[1].flags & ~VR_DESC_F_WRITE);
	d[1].len = BUF + 1;
	assert_int_equal(vr_virtio_queue_get_used(&f->vq[1], &b), VR_EUSEDLEN);
}

/* A thousand bring-ups and exchanges against a device whose every register
 * read may be random and whose used rings get random bytes: every call
 * returns a success or a known VR_E* code; ASan and UBSan watch the rest. */
static bool known(int r)
{
	return r >= 0 || strcmp(vr_errname(r), "VR_E?") != 0;
}

static void random_lies(void **state)
{
	unsigned ok_runs = 0, used_total = 0;

	for (unsigned run = 0; run < 1000; run++) {
		struct fix *f;
		int r;

		teardown(state);
		setup(state);
		f = *state;
		f->sim.lie = LIE_RANDOM;
		f->sim.rng = 0x9e3779b97f4a7c15ull * (run + 1);
		f->sim.auto_process = (run & 1) != 0;
		r = full_up(f, run & 2 ? VR_VIRTIO_DRV_FEATURES
				       : VR_VIRTIO_DRV_FEATURES & ~VR_FEATURE(VR_F_RING_PACKED));
		if (!known(r))
			fail_msg("run %u: bring-up returned %d", run, r);
		if (r < 0)
			continue;
		ok_runs++;
		for (unsigned i = 0; i < 40; i++) {
			struct vr_seg in = {(uint64_t)(uintptr_t)f->bufs[i % QMAX], BUF};
			struct vr_seg out = {(uint64_t)(uintptr_t)f->bufs[(i + 7) % QMAX], 9};
			struct vr_used_buf b;

			r = vr_virtio_queue_add(&f->vq[1], &in, 0, 1, NULL);
			assert_true(known(r));
			r = vr_virtio_queue_add(&f->vq[0], &out, 1, 0, NULL);
			assert_true(known(r));
			assert_true(known(vr_virtio_queue_kick(&f->vq[0])));
			assert_true(known(vr_virtio_queue_kick(&f->vq[1])));
			sim_process(&f->sim, 0);
			sim_process(&f->sim, 1);
			assert_true(known(vr_virtio_interrupt(&f->dev)));
			r = vr_virtio_drain(&f->dev, NULL, NULL);
			assert_true(known(r));
			if (r > 0)
				used_total += (unsigned)r;
			while ((r = vr_virtio_queue_get_used(&f->vq[1], &b)) == 0)
				assert_true(b.len <= BUF);
			assert_true(known(r));
			assert_true(known(vr_virtio_queue_arm(&f->vq[1])));
			if (i == 20) {
				uint8_t cfg[8];

				assert_true(known(vr_virtio_config_read(&f->dev, 0, cfg, 8)));
				assert_true(known(vr_virtio_queue_reset(&f->vq[0])));
			}
		}
	}
	print_message("random lies: %u of 1000 devices came up, %u buffers used\n", ok_runs, used_total);
	/* The lies are sparse enough that some devices come up and move data. */
	assert_true(ok_runs > 0);
	assert_true(used_total > 0);
}

static void bad_arguments(void **state)
{
	struct fix *f = *state;
	struct vr_virtio_bus_ops partial = vr_mmio_bus_ops;
	uint8_t out[4];

	assert_int_equal(vr_mmio_probe(NULL, 0x1000), VR_EINVAL);
	assert_int_equal(vr_mmio_probe(&f->mmio, 0), VR_EINVAL);
	assert_int_equal(vr_mmio_probe_access(&f->mmio, NULL, NULL), VR_EINVAL);
	partial.notify = NULL;
	assert_int_equal(vr_virtio_init(&f->dev, &partial, &f->mmio, NULL, NULL), VR_EINVAL);
	assert_int_equal(vr_mmio_probe_access(&f->mmio, &sim_access, &f->sim), 0);
	assert_int_equal(vr_virtio_init(&f->dev, &vr_mmio_bus_ops, &f->mmio, NULL, NULL), 0);
	/* Out of order. */
	assert_int_equal(vr_virtio_negotiate(&f->dev, 0), VR_ESTATE);
	assert_int_equal(vr_virtio_driver_ok(&f->dev), VR_ESTATE);
	assert_int_equal(vr_virtio_config_read(&f->dev, 0, out, 4), VR_ESTATE);
	assert_int_equal(vr_virtio_begin(&f->dev), 0);
	assert_int_equal(vr_virtio_driver_ok(&f->dev), VR_ESTATE);
	assert_int_equal(vr_virtio_config_read(&f->dev, 0, NULL, 4), VR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(good_split, setup, teardown),
		cmocka_unit_test_setup_teardown(good_packed, setup, teardown),
		cmocka_unit_test_setup_teardown(good_no_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(good_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(negotiation_takes_the_intersection, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_size_choice, setup, teardown),
		cmocka_unit_test_setup_teardown(packed_size_need_not_be_power_of_two, setup, teardown),
		cmocka_unit_test_setup_teardown(config_read_widths, setup, teardown),
		cmocka_unit_test_setup_teardown(config_generation_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_reset_and_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_reset_needs_the_feature, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupt_spurious_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(register_lies, setup, teardown),
		cmocka_unit_test_setup_teardown(config_generation_never_settles, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupt_status_unknown_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_reset_never_completes, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_reset_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(used_lies_split, setup, teardown),
		cmocka_unit_test_setup_teardown(used_lies_packed, setup, teardown),
		cmocka_unit_test_setup_teardown(packed_used_len_without_write, setup, teardown),
		cmocka_unit_test_setup_teardown(random_lies, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
