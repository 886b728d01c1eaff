/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_mmio_device: the fuzzer is a hostile guest driver of the virtio-mmio
 * device model (transports/mmio/device). Its bytes become a sequence of
 * register reads and writes (raw offsets and widths, or the registers of
 * virtio 1.2 section 4.2.2 with chosen or interesting values, or whole
 * steps of a correct bring-up so that deep states are reached), writes into
 * guest memory, and device back-end calls (take chains from the queues the
 * model set up, complete them, publish and interrupt, config changes,
 * DEVICE_NEEDS_RESET). The guest memory (the arena) starts as the input's
 * tail.
 *
 * Input: fz_hdr (size: QueueNumMax selector; flags: FZ_F_TRANSLATE maps
 * only [FZ_BUS + 1024, FZ_BUS + FZ_ARENA) through a callback, other bits
 * pick the offered features; arg: more feature bits), then nops 4-byte
 * operations, then the arena bytes.
 *
 * Invariants, after every operation: every return code is one the header
 * documents; the interrupt line (as the callbacks drove it) equals
 * InterruptStatus != 0, InterruptStatus has no undefined bit; the status
 * holds only defined bits, DRIVER_OK only with FEATURES_OK, and status 0
 * means no queue ready and no interrupt; negotiated features are a subset
 * of the offer with VERSION_1; a ready queue has a size valid for its
 * format and at most QueueNumMax, and all three areas aligned, disjoint and
 * wholly inside the memory the driver may use (the model never accepts a
 * ring outside it); the queue_state callbacks match QueueReady; a refused
 * write after DRIVER_OK leaves DEVICE_NEEDS_RESET set; a status write is
 * taken exactly, taken without FEATURES_OK (VR_EFEATURES) or refused with
 * nothing changed; a queue register taken reads back; the back end gets a
 * queue only while the device is live; every chain it takes lies in the
 * allowed memory. ASan (libFuzzer build) catches any access outside the
 * arena, the state buffers or the config bytes, all allocated exactly.
 * Built with -DFZ_MMIO_TRACE it prints every step (to see how deep an
 * input goes).
 */
#include <stdbool.h>

#include <vring/mmio_dev.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NQ 3u
#define CFG_LEN 12u
#define LO_OFF 1024u /* FZ_F_TRANSLATE: memory starts here */

struct fz {
	struct vr_mmio_dev dev;
	struct vr_mmio_dev_queue queues[NQ];
	struct vr_mmio_dev_queue_cfg qcfg[NQ];
	unsigned char *arena;
	unsigned char *config;
	uint64_t lo, hi; /* guest-physical range the driver may use */
	int irq;
	unsigned up[NQ], down[NQ];
	bool translate;
	uint16_t iov_cap;
};

static void *fz_mmio_translate(void *ctx, uint64_t addr, uint64_t len,
			       enum vr_access access)
{
	struct fz *f = (struct fz *)ctx;

	FZ_CHECK(access == VR_ACCESS_READ || access == VR_ACCESS_WRITE);
	if (len == 0 || addr < f->lo || addr > f->hi || len > f->hi - addr)
		return NULL;
	return f->arena + (addr - FZ_BUS);
}

static void cb_notify(void *ctx, uint32_t queue, uint32_t value)
{
	struct fz *f = (struct fz *)ctx;

	(void)value;
	FZ_CHECK(queue < NQ && f->queues[queue].ready);
	FZ_CHECK(vr_mmio_dev_live(&f->dev));
}

static void cb_irq(void *ctx, int level)
{
	struct fz *f = (struct fz *)ctx;

	FZ_CHECK(level == 0 || level == 1);
	FZ_CHECK(level != f->irq); /* only changes are reported */
	f->irq = level;
}

static void cb_queue_state(void *ctx, uint32_t queue, int ready)
{
	struct fz *f = (struct fz *)ctx;

	FZ_CHECK(queue < NQ);
	/* Told after the queue is up, before it is forgotten. */
	if (ready)
		f->up[queue]++;
	else
		f->down[queue]++;
	FZ_CHECK(f->up[queue] - f->down[queue] <= 1);
}

static void cb_status(void *ctx, uint32_t old_status, uint32_t new_status)
{
	(void)ctx;
	FZ_CHECK(old_status != new_status);
}

static int cb_accept(void *ctx, uint64_t features)
{
	(void)ctx;
	/* Refuse IN_ORDER without EVENT_IDX, a device-specific dependency. */
	return (features & VR_FEATURE(VR_F_IN_ORDER)) &&
	       !(features & VR_FEATURE(VR_F_EVENT_IDX));
}

static int cb_config_write(void *ctx, uint32_t off, unsigned size, uint32_t v)
{
	struct fz *f = (struct fz *)ctx;
	unsigned i;

	FZ_CHECK(size == 1 || size == 2 || size == 4);
	FZ_CHECK(off % size == 0 && off + size <= CFG_LEN);
	if (off < 4)
		return -1;
	for (i = 0; i < size; i++)
		f->config[off + i] = (unsigned char)(v >> (8 * i));
	return 0;
}

static const struct vr_mmio_dev_ops fz_ops = {
	cb_notify, cb_irq, cb_queue_state, cb_status, cb_accept, cb_config_write,
};

static const uint32_t regs[] = {
	VR_MMIO_REG_MAGIC, VR_MMIO_REG_VERSION, VR_MMIO_REG_DEVICE_ID,
	VR_MMIO_REG_VENDOR_ID, VR_MMIO_REG_DEVICE_FEATURES,
	VR_MMIO_REG_DEVICE_FEATURES_SEL, VR_MMIO_REG_DRIVER_FEATURES,
	VR_MMIO_REG_DRIVER_FEATURES_SEL, VR_MMIO_REG_GUEST_PAGE_SIZE,
	VR_MMIO_REG_QUEUE_SEL, VR_MMIO_REG_QUEUE_NUM_MAX, VR_MMIO_REG_QUEUE_NUM,
	VR_MMIO_REG_QUEUE_ALIGN, VR_MMIO_REG_QUEUE_PFN, VR_MMIO_REG_QUEUE_READY,
	VR_MMIO_REG_QUEUE_NOTIFY, VR_MMIO_REG_INTERRUPT_STATUS,
	VR_MMIO_REG_INTERRUPT_ACK, VR_MMIO_REG_STATUS,
	VR_MMIO_REG_QUEUE_DESC_LOW, VR_MMIO_REG_QUEUE_DESC_HIGH,
	VR_MMIO_REG_QUEUE_DRIVER_LOW, VR_MMIO_REG_QUEUE_DRIVER_HIGH,
	VR_MMIO_REG_QUEUE_DEVICE_LOW, VR_MMIO_REG_QUEUE_DEVICE_HIGH,
	VR_MMIO_REG_SHM_SEL, VR_MMIO_REG_SHM_LEN_LOW, VR_MMIO_REG_SHM_LEN_HIGH,
	VR_MMIO_REG_SHM_BASE_LOW, VR_MMIO_REG_SHM_BASE_HIGH,
	VR_MMIO_REG_QUEUE_RESET, VR_MMIO_REG_CONFIG_GENERATION,
	VR_MMIO_REG_CONFIG, VR_MMIO_REG_CONFIG + 4, VR_MMIO_REG_CONFIG + 8,
	0x0c4u, 0x0f8u};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

static const uint32_t interesting[] = {
	0, 1, 2, 3, 4, 7, 8, 0xb, 0xf, 16, 0x40, 0x80, 0x8b, 64, 100, 128, 256,
	0x7fff, 0x8000, 0x8001, 0xffff, 0x10000, 0x7fffffffu, 0x80000000u,
	0xfffffffcu, 0xffffffffu,
	(uint32_t)FZ_BUS, (uint32_t)FZ_BUS + 2, (uint32_t)FZ_BUS + 8,
	(uint32_t)FZ_BUS + FZ_DRIVER_OFF, (uint32_t)FZ_BUS + FZ_DEVICE_EV_OFF,
	(uint32_t)FZ_BUS + FZ_USED_OFF, (uint32_t)FZ_BUS + FZ_POOL_OFF,
	(uint32_t)FZ_BUS + FZ_ARENA - 16, (uint32_t)FZ_BUS + FZ_ARENA,
	(uint32_t)FZ_BUS - 16};
#define NINT (sizeof(interesting) / sizeof(interesting[0]))

/* Every code vr_mmio_dev_write() documents. */
static bool write_rc_ok(int rc)
{
	switch (rc) {
	case 0: case VR_EMMIOREG: case VR_ESTATE: case VR_EINVAL:
	case VR_ERANGE: case VR_EALIGN: case VR_EFAULT: case VR_EOVERLAP:
	case VR_ENOTSUP: case VR_EFEATURES: case VR_EAGAIN:
		return true;
	default:
		return false;
	}
}

/* A write; checks the code and the DEVICE_NEEDS_RESET rule. */
static int w(struct fz *f, uint32_t off, unsigned size, uint32_t v)
{
	uint32_t before = vr_mmio_dev_status(&f->dev), after;
	uint64_t viol = vr_mmio_dev_stats(&f->dev)->violations;
	int rc = vr_mmio_dev_write(&f->dev, off, size, v);

	FZ_CHECK_RC(write_rc_ok(rc), rc);
	after = vr_mmio_dev_status(&f->dev);
	if (off == VR_MMIO_REG_STATUS && size == 4) {
		/* Taken exactly, taken without FEATURES_OK, or refused with
		 * nothing changed but DEVICE_NEEDS_RESET. */
		if (rc == 0)
			FZ_CHECK(after == v);
		else if (rc == VR_EFEATURES)
			FZ_CHECK(after == (v & ~VR_VIRTIO_STATUS_FEATURES_OK));
		else
			FZ_CHECK(after == before ||
				 ((before & VR_VIRTIO_STATUS_DRIVER_OK) &&
				  after == (before | VR_VIRTIO_STATUS_NEEDS_RESET)));
	} else if (rc == 0 && size == 4 && off >= VR_MMIO_REG_QUEUE_DESC_LOW &&
		   off <= VR_MMIO_REG_QUEUE_DEVICE_HIGH && f->dev.queue_sel < NQ) {
		/* An address half taken is what reads back from the model. */
		const struct vr_mmio_dev_queue *q = &f->queues[f->dev.queue_sel];
		uint64_t a = off < VR_MMIO_REG_QUEUE_DRIVER_LOW ? q->desc
			   : off < VR_MMIO_REG_QUEUE_DEVICE_LOW ? q->driver : q->device;

		FZ_CHECK((uint32_t)((off & 4u) ? a >> 32 : a) == v);
		FZ_CHECK(!q->ready);
	} else if (rc == 0 && size == 4 && off == VR_MMIO_REG_QUEUE_NUM) {
		FZ_CHECK(f->queues[f->dev.queue_sel].num == v);
	} else if (rc != 0 && rc != VR_EAGAIN && rc != VR_EFEATURES) {
		/* A refused or ignored write changes the status at most by
		 * DEVICE_NEEDS_RESET. */
		FZ_CHECK(after == before || after == (before | VR_VIRTIO_STATUS_NEEDS_RESET));
	}
	if (vr_mmio_dev_stats(&f->dev)->violations != viol) {
		FZ_CHECK(vr_mmio_dev_stats(&f->dev)->violations == viol + 1);
		FZ_CHECK_RC(rc != 0 && rc != VR_EMMIOREG && rc != VR_EFEATURES &&
			    rc != VR_EAGAIN, rc);
		if (before & VR_VIRTIO_STATUS_DRIVER_OK)
			FZ_CHECK(vr_mmio_dev_status(&f->dev) & VR_VIRTIO_STATUS_NEEDS_RESET);
	}
	return rc;
}

static void area_check(const struct fz *f, uint64_t addr, uint64_t len,
		       uint64_t align)
{
	FZ_CHECK((addr & (align - 1)) == 0);
	FZ_CHECK(addr >= f->lo && addr <= f->hi && len <= f->hi - addr);
}

static bool disjoint(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	return a + al <= b || b + bl <= a;
}

static void check_state(struct fz *f)
{
	const struct vr_mmio_dev *d = &f->dev;
	uint32_t st = vr_mmio_dev_status(d), isr = d->isr, i;
	const uint32_t all = VR_VIRTIO_STATUS_ACKNOWLEDGE | VR_VIRTIO_STATUS_DRIVER |
			     VR_VIRTIO_STATUS_DRIVER_OK | VR_VIRTIO_STATUS_FEATURES_OK |
			     VR_VIRTIO_STATUS_NEEDS_RESET | VR_VIRTIO_STATUS_FAILED;
	uint64_t neg = vr_mmio_dev_features(d);

	FZ_CHECK((st & ~all) == 0);
	FZ_CHECK((isr & ~3u) == 0);
	FZ_CHECK(f->irq == (isr != 0));
	if (st & VR_VIRTIO_STATUS_DRIVER_OK)
		FZ_CHECK(st & VR_VIRTIO_STATUS_FEATURES_OK);
	if (st & VR_VIRTIO_STATUS_FEATURES_OK) {
		FZ_CHECK((neg & ~d->offered) == 0);
		FZ_CHECK(neg & VR_FEATURE(VR_F_VERSION_1));
	} else {
		FZ_CHECK(neg == 0);
	}
	if (st == 0)
		FZ_CHECK(isr == 0);
	for (i = 0; i < NQ; i++) {
		const struct vr_mmio_dev_queue *q = &f->queues[i];
		uint64_t dl, vl, ul;

		FZ_CHECK(f->up[i] - f->down[i] == (q->ready ? 1u : 0u));
		if (!q->ready) {
			FZ_CHECK(vr_mmio_dev_split(&f->dev, i) == NULL);
			FZ_CHECK(vr_mmio_dev_packed(&f->dev, i) == NULL);
			continue;
		}
		FZ_CHECK(st & VR_VIRTIO_STATUS_FEATURES_OK);
		FZ_CHECK(q->packed == ((neg & VR_FEATURE(VR_F_RING_PACKED)) != 0));
		FZ_CHECK(q->num >= 1 && q->num <= q->num_max);
		if (q->packed) {
			FZ_CHECK(vr_packed_size_valid(q->num));
			dl = vr_packed_desc_bytes(q->num);
			vl = ul = 4;
			area_check(f, q->desc, dl, 16);
			area_check(f, q->driver, vl, 4);
			area_check(f, q->device, ul, 4);
		} else {
			FZ_CHECK(vr_split_size_valid(q->num));
			dl = vr_split_desc_bytes(q->num);
			vl = vr_split_avail_bytes(q->num);
			ul = vr_split_used_bytes(q->num);
			area_check(f, q->desc, dl, 16);
			area_check(f, q->driver, vl, 2);
			area_check(f, q->device, ul, 4);
		}
		FZ_CHECK(disjoint(q->desc, dl, q->driver, vl));
		FZ_CHECK(disjoint(q->desc, dl, q->device, ul));
		FZ_CHECK(disjoint(q->driver, vl, q->device, ul));
		if (!vr_mmio_dev_live(d)) {
			FZ_CHECK(vr_mmio_dev_split(&f->dev, i) == NULL);
			FZ_CHECK(vr_mmio_dev_packed(&f->dev, i) == NULL);
		} else {
			FZ_CHECK((vr_mmio_dev_split(&f->dev, i) != NULL) != q->packed);
			FZ_CHECK((vr_mmio_dev_packed(&f->dev, i) != NULL) == q->packed);
		}
	}
}

/* The device back end on queue @qi: take up to @max chains, complete them
 * (newest first when @reverse), publish. */
static void backend(struct fz *f, uint32_t qi, unsigned max, bool reverse)
{
	struct vr_split_dev *s = vr_mmio_dev_split(&f->dev, qi);
	struct vr_packed_dev *p = vr_mmio_dev_packed(&f->dev, qi);
	struct vr_iov iov[2 * FZ_MAX_NUM];
	struct vr_chain c;
	uint16_t ids[8];
	unsigned n = 0, i;
	int rc = 0;

	if (!s && !p) {
		rc = vr_mmio_dev_queue_publish(&f->dev, qi);
		FZ_CHECK_RC(rc == VR_EINVAL || rc == VR_EAGAIN, rc);
		return;
	}
	while (n < max) {
		c.iov = iov;
		c.iov_cap = f->iov_cap;
		rc = s ? vr_split_dev_pop(s, &c) : vr_packed_dev_pop(p, &c);
		if (rc != 0)
			break;
		/* Chains in the memory the driver may use, nothing else. */
		fz_check_chain(&c, f->queues[qi].num, f->arena + (f->lo - FZ_BUS),
			       f->arena + (f->hi - FZ_BUS), 1);
		ids[n++] = c.id;
	}
#ifdef FZ_MMIO_TRACE
	fprintf(stderr, "backend q%u: %u chains, rc %s\n", qi, n, vr_errname(rc));
#endif
	FZ_CHECK_RC(rc == 0 || rc == VR_EAGAIN || rc == VR_E2BIG || fz_is_proto(rc), rc);
	for (i = 0; i < n; i++) {
		uint16_t id = reverse ? ids[n - 1 - i] : ids[i];
		int crc = s ? vr_split_dev_complete(s, id, 0) : vr_packed_dev_complete(p, id, 0);

		FZ_CHECK_RC(crc == 0 || crc == VR_ESTATE || crc == VR_EBROKEN, crc);
	}
	rc = vr_mmio_dev_queue_publish(&f->dev, qi);
	FZ_CHECK_RC(rc == 0 || rc == 1 || rc == VR_EBROKEN, rc);
	if (rc == VR_EBROKEN)
		FZ_CHECK(vr_mmio_dev_status(&f->dev) & VR_VIRTIO_STATUS_NEEDS_RESET);
	if (rc == 1)
		FZ_CHECK(f->dev.isr & VR_MMIO_INT_VRING);
}

/* One step of a correct bring-up (sections 3.1.1 and 4.2.3.2). */
static void good_step(struct fz *f, uint8_t step, uint8_t b, uint8_t c)
{
	uint32_t st = vr_mmio_dev_read(&f->dev, VR_MMIO_REG_STATUS, 4);
	uint32_t qi = b % NQ, base = qi == 1 ? 8192u : 0u;
	uint64_t offer = f->dev.offered;

	switch (step % 8) {
	case 0:
		w(f, VR_MMIO_REG_STATUS, 4, 0);
		break;
	case 1:
		w(f, VR_MMIO_REG_STATUS, 4, st | VR_VIRTIO_STATUS_ACKNOWLEDGE);
		break;
	case 2:
		w(f, VR_MMIO_REG_STATUS, 4, st | VR_VIRTIO_STATUS_DRIVER);
		break;
	case 3: /* features: the offer, less the bits in b (low) and c (high) */
		w(f, VR_MMIO_REG_DRIVER_FEATURES_SEL, 4, 0);
		w(f, VR_MMIO_REG_DRIVER_FEATURES, 4, (uint32_t)offer & ~((uint32_t)b << 24));
		w(f, VR_MMIO_REG_DRIVER_FEATURES_SEL, 4, 1);
		w(f, VR_MMIO_REG_DRIVER_FEATURES, 4, (uint32_t)(offer >> 32) & ~((uint32_t)c & 0xfeu));
		break;
	case 4:
		w(f, VR_MMIO_REG_STATUS, 4, st | VR_VIRTIO_STATUS_FEATURES_OK);
		break;
	case 5: /* program queue qi: size 2^(c % 8) or c, the fixed areas */
		w(f, VR_MMIO_REG_QUEUE_SEL, 4, qi);
		w(f, VR_MMIO_REG_QUEUE_NUM, 4, (c & 0x80) ? (c & 0x7fu) : 1u << (c % 8));
		w(f, VR_MMIO_REG_QUEUE_DESC_LOW, 4, (uint32_t)FZ_BUS + base + FZ_DESC_OFF);
		w(f, VR_MMIO_REG_QUEUE_DESC_HIGH, 4, 0);
		w(f, VR_MMIO_REG_QUEUE_DRIVER_LOW, 4, (uint32_t)FZ_BUS + base + FZ_DRIVER_OFF);
		w(f, VR_MMIO_REG_QUEUE_DRIVER_HIGH, 4, 0);
		w(f, VR_MMIO_REG_QUEUE_DEVICE_LOW, 4, (uint32_t)FZ_BUS + base +
		  ((f->dev.negotiated & VR_FEATURE(VR_F_RING_PACKED)) ? FZ_DEVICE_EV_OFF : FZ_USED_OFF));
		w(f, VR_MMIO_REG_QUEUE_DEVICE_HIGH, 4, 0);
		break;
	case 6:
		w(f, VR_MMIO_REG_QUEUE_SEL, 4, qi);
		w(f, VR_MMIO_REG_QUEUE_READY, 4, 1);
		break;
	default:
		w(f, VR_MMIO_REG_STATUS, 4, st | VR_VIRTIO_STATUS_DRIVER_OK);
		break;
	}
}

static void run_op(struct fz *f, const struct fz_op *op)
{
	uint32_t v = (uint32_t)op->b | (uint32_t)op->c << 8;
	unsigned size;
	uint32_t r;

	switch (op->code % 12) {
	case 0: /* a register, small value */
		w(f, regs[op->a % NREGS], 4, v);
		break;
	case 1: /* a register, interesting value (+ c) */
		w(f, regs[op->a % NREGS], 4, interesting[op->b % NINT] + (op->c & 0xf));
		break;
	case 2: /* raw read, any offset and width */
		size = op->c % 9;
		r = vr_mmio_dev_read(&f->dev, (uint32_t)op->a << 2 | (op->b & 3u) |
					      (uint32_t)(op->b >> 2) << 10, size);
		if (size != 1 && size != 2 && size != 4)
			FZ_CHECK(r == 0);
		break;
	case 3: /* raw write, any offset and width */
		w(f, (uint32_t)op->a << 2 | (op->b & 3u) | (uint32_t)(op->b >> 6) << 10,
		  op->c % 9, interesting[op->c % NINT]);
		break;
	case 4: /* a step of a correct driver */
	case 5:
		good_step(f, op->a, op->b, op->c);
		break;
	case 6: /* an area register of queue a, at an arena offset */
		w(f, VR_MMIO_REG_QUEUE_SEL, 4, op->a % NQ);
		w(f, VR_MMIO_REG_QUEUE_DESC_LOW + 0x10u * (op->a / NQ % 3),
		  4, (uint32_t)FZ_BUS + ((v * 2u) % (FZ_ARENA + 64)));
		break;
	case 7: /* the driver writes guest memory (rings included) */
		f->arena[((uint32_t)op->a << 8 | op->b) % FZ_ARENA] = op->c;
		break;
	case 8: /* the back end serves a queue */
	case 9:
		backend(f, op->a % NQ, op->b % 8 + 1, op->c & 1);
		break;
	case 10: /* device-side events */
		if (op->a % 3 == 0)
			vr_mmio_dev_config_changed(&f->dev);
		else if (op->a % 3 == 1)
			vr_mmio_dev_set_needs_reset(&f->dev);
		else
			FZ_CHECK(vr_mmio_dev_interrupt_used(&f->dev) ==
				 (vr_mmio_dev_live(&f->dev) ? 0 : VR_EAGAIN));
		break;
	default: /* the ISR handler: read, acknowledge what was read */
		r = vr_mmio_dev_read(&f->dev, VR_MMIO_REG_INTERRUPT_STATUS, 4);
		w(f, VR_MMIO_REG_INTERRUPT_ACK, 4, r);
		FZ_CHECK(f->dev.isr == 0 && f->irq == 0);
		break;
	}
	/* Identification never changes. */
	FZ_CHECK(vr_mmio_dev_read(&f->dev, VR_MMIO_REG_MAGIC, 4) == VR_MMIO_MAGIC);
	FZ_CHECK(vr_mmio_dev_read(&f->dev, VR_MMIO_REG_VERSION, 4) == 2);
	check_state(f);
#ifdef FZ_MMIO_TRACE
	fprintf(stderr, "op %u/%u/%u/%u: status %#x isr %#x last %s ready %d%d%d viol %u\n",
		op->code, op->a, op->b, op->c, f->dev.status, f->dev.isr,
		vr_errname(f->dev.last_error), f->queues[0].ready, f->queues[1].ready,
		f->queues[2].ready, (unsigned)f->dev.stats.violations);
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t maxes[8] = {1, 2, 16, 64, 3, 100, 32768, 0};
	struct fz_hdr h;
	struct fz_op ops[FZ_MAX_OPS];
	const uint8_t *mem;
	size_t mem_len;
	unsigned nops, i;
	struct vr_mmio_dev_cfg cfg;
	struct fz *f;
	int rc;

	if (!fz_parse(data, size, &h, ops, &nops, &mem, &mem_len))
		return 0;
	f = (struct fz *)calloc(1, sizeof(*f));
	FZ_CHECK(f != NULL);
	f->arena = fz_arena();
	memset(f->arena, 0, FZ_ARENA);
	memcpy(f->arena, mem, mem_len < FZ_ARENA ? mem_len : FZ_ARENA);
	f->config = (unsigned char *)malloc(CFG_LEN);
	FZ_CHECK(f->config != NULL);
	memset(f->config, 0xa5, CFG_LEN);
	f->translate = (h.flags & FZ_F_TRANSLATE) != 0;
	f->lo = FZ_BUS + (f->translate ? LO_OFF : 0);
	f->hi = FZ_BUS + FZ_ARENA;
	f->iov_cap = (uint16_t)(h.iov_cap % (2 * FZ_MAX_NUM) + 1);
	for (i = 0; i < NQ; i++) {
		/* Queue 2 may be unavailable or huge (its state is sized for
		 * it; its rings cannot fit the arena and must be refused). */
		uint32_t m = i == 2 ? maxes[(h.size >> 3) % 8] : maxes[(h.size >> (i * 3)) % 4 + 2 * i];
		size_t n;

		if (m > FZ_MAX_NUM && i != 2)
			m = FZ_MAX_NUM;
		n = m ? vr_mmio_dev_queue_state_size(m) : 0;
		f->qcfg[i].num_max = m;
		f->qcfg[i].state = n ? aligned_alloc(sizeof(void *), n) : NULL;
		f->qcfg[i].state_len = n;
		f->qcfg[i].max_indirect = 0; /* the queue size */
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.device_id = 1 + h.arg[0] % 42;
	cfg.vendor_id = 0x1af4;
	cfg.features = VR_FEATURE(VR_F_VERSION_1) | h.arg[1] | ((uint64_t)h.arg[2] << 8);
	if (h.flags & FZ_F_EVENT_IDX)
		cfg.features |= VR_FEATURE(VR_F_EVENT_IDX);
	if (h.flags & FZ_F_INDIRECT)
		cfg.features |= VR_FEATURE(VR_F_INDIRECT_DESC);
	if (h.flags & FZ_F_IN_ORDER)
		cfg.features |= VR_FEATURE(VR_F_IN_ORDER);
	if (h.flags & 0x40)
		cfg.features |= VR_FEATURE(VR_F_RING_PACKED);
	if (h.flags & 0x80)
		cfg.features |= VR_FEATURE(VR_F_RING_RESET);
	if (h.flags & FZ_F_HOOKS)
		cfg.features |= VR_FEATURE(VR_F_NOTIFICATION_DATA);
	if (f->translate) {
		memset(&cfg.mem, 0, sizeof(cfg.mem));
		cfg.mem.translate = fz_mmio_translate;
		cfg.mem.ctx = f;
	} else {
		cfg.mem = vr_mem_window(f->arena, FZ_BUS, FZ_ARENA);
	}
	cfg.config = f->config;
	cfg.config_len = CFG_LEN;
	cfg.num_queues = NQ;
	cfg.queue = f->qcfg;
	cfg.queues = f->queues;
	cfg.ops = &fz_ops;
	cfg.ctx = f;
	rc = vr_mmio_dev_init(&f->dev, &cfg);
	FZ_CHECK_RC(rc == 0, rc);
	check_state(f);
	for (i = 0; i < nops; i++)
		run_op(f, &ops[i]);
	/* A reset always brings everything down. */
	FZ_CHECK(w(f, VR_MMIO_REG_STATUS, 4, 0) == 0);
	check_state(f);
	FZ_CHECK(vr_mmio_dev_status(&f->dev) == 0 && f->irq == 0);
	for (i = 0; i < NQ; i++) {
		FZ_CHECK(!f->queues[i].ready && f->up[i] == f->down[i]);
		free(f->qcfg[i].state);
	}
	free(f->config);
	free(f);
	return 0;
}
