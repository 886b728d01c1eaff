/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-mmio version 2 device model: the register file state machine and
 * the set-up of libvring device queues from what the driver programs.
 * Freestanding (no libc but memset through the compiler builtin). */
#include <vring/mmio_dev.h>

#define ST_ACK VR_VIRTIO_STATUS_ACKNOWLEDGE
#define ST_DRIVER VR_VIRTIO_STATUS_DRIVER
#define ST_DRIVER_OK VR_VIRTIO_STATUS_DRIVER_OK
#define ST_FEATURES_OK VR_VIRTIO_STATUS_FEATURES_OK
#define ST_NEEDS_RESET VR_VIRTIO_STATUS_NEEDS_RESET
#define ST_FAILED VR_VIRTIO_STATUS_FAILED
#define ST_ALL (ST_ACK | ST_DRIVER | ST_DRIVER_OK | ST_FEATURES_OK | \
		ST_NEEDS_RESET | ST_FAILED)
#define INT_ALL (VR_MMIO_INT_VRING | VR_MMIO_INT_CONFIG)

#define dev_zero(p, n) __builtin_memset((p), 0, (n))

static bool feature(const struct vr_mmio_dev *d, unsigned bit)
{
	return (d->negotiated & VR_FEATURE(bit)) != 0;
}

/* ---- Interrupts ---------------------------------------------------------- */

static void isr_set(struct vr_mmio_dev *d, uint32_t bits)
{
	uint32_t old = d->isr;

	d->isr |= bits;
	d->stats.interrupts++;
	if (old == 0 && d->ops.irq)
		d->ops.irq(d->ctx, 1);
}

static void isr_clear(struct vr_mmio_dev *d, uint32_t bits)
{
	uint32_t old = d->isr;

	d->isr &= ~bits;
	if (old != 0 && d->isr == 0 && d->ops.irq)
		d->ops.irq(d->ctx, 0);
}

void vr_mmio_dev_set_needs_reset(struct vr_mmio_dev *dev)
{
	uint32_t old = dev->status;

	if (old == 0 || (old & ST_NEEDS_RESET))
		return;
	dev->status = old | ST_NEEDS_RESET;
	dev->stats.needs_reset++;
	if (dev->ops.status)
		dev->ops.status(dev->ctx, old, dev->status);
	/* Section 2.1.2: with DRIVER_OK set, a configuration change
	 * notification tells the driver to look at the status. */
	if (old & ST_DRIVER_OK)
		isr_set(dev, VR_MMIO_INT_CONFIG);
}

/* A refused state-changing write: count it and, once the driver declared
 * itself ready, put the device in DEVICE_NEEDS_RESET. */
static int violation(struct vr_mmio_dev *d, int err)
{
	d->stats.violations++;
	d->last_error = err;
	if (d->status & ST_DRIVER_OK)
		vr_mmio_dev_set_needs_reset(d);
	return err;
}

static int ignored_write(struct vr_mmio_dev *d)
{
	d->stats.ignored_writes++;
	d->last_error = VR_EMMIOREG;
	return VR_EMMIOREG;
}

/* ---- Queues --------------------------------------------------------------- */

size_t vr_mmio_dev_queue_state_size(uint32_t num_max)
{
	uint32_t pow2 = 1;
	size_t s, p;

	if (num_max == 0 || num_max > VR_QUEUE_SIZE_MAX)
		return 0;
	while (pow2 * 2 <= num_max)
		pow2 *= 2;
	s = vr_split_dev_state_size(pow2);
	p = vr_packed_dev_state_size(num_max);
	return s > p ? s : p;
}

static void queue_defaults(struct vr_mmio_dev_queue *q)
{
	q->num = q->num_max;
	q->desc = q->driver = q->device = 0;
	q->error = 0;
	q->ready = false;
	q->packed = false;
}

/* Forget a ready queue: the back end hears it first, and must drop its
 * pointers; the ring memory is the driver's again. */
static void queue_teardown(struct vr_mmio_dev *d, uint32_t i)
{
	struct vr_mmio_dev_queue *q = &d->queues[i];

	if (!q->ready)
		return;
	q->ready = false;
	if (d->ops.queue_state)
		d->ops.queue_state(d->ctx, i, 0);
	dev_zero(&q->ring, sizeof(q->ring));
}

/* [a, a + alen) and [b, b + blen) in guest-physical space share a byte?
 * The lengths are small and every range was checked not to wrap. */
static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* One ring area: aligned in guest-physical space and wholly inside the
 * memory the driver may use. */
static int area_map(const struct vr_mmio_dev *d, uint64_t addr, uint64_t len,
		    uint64_t align, enum vr_access access, void **out)
{
	if (addr & (align - 1))
		return VR_EALIGN;
	if (addr + len < addr)
		return VR_EFAULT;
	*out = vr_mem_translate(&d->mem, addr, len, access);
	return *out ? 0 : VR_EFAULT;
}

/* QueueReady 1: check what the driver programmed and set up the ring. */
static int queue_enable(struct vr_mmio_dev *d, uint32_t i)
{
	struct vr_mmio_dev_queue *q = &d->queues[i];
	bool packed = feature(d, VR_F_RING_PACKED);
	uint64_t dlen, drvlen, devlen;
	struct vr_queue_cfg cfg;
	void *pd, *pdrv, *pdev;
	int err;

	if (q->num == 0 || q->num > q->num_max ||
	    !(packed ? vr_packed_size_valid(q->num) : vr_split_size_valid(q->num)))
		return VR_ERANGE;
	if (packed) {
		dlen = vr_packed_desc_bytes(q->num);
		drvlen = devlen = sizeof(struct vr_packed_event);
		err = area_map(d, q->desc, dlen, VR_DESC_ALIGN, VR_ACCESS_WRITE, &pd);
		if (!err)
			err = area_map(d, q->driver, drvlen, VR_EVENT_ALIGN,
				       VR_ACCESS_READ, &pdrv);
		if (!err)
			err = area_map(d, q->device, devlen, VR_EVENT_ALIGN,
				       VR_ACCESS_WRITE, &pdev);
	} else {
		dlen = vr_split_desc_bytes(q->num);
		drvlen = vr_split_avail_bytes(q->num);
		devlen = vr_split_used_bytes(q->num);
		err = area_map(d, q->desc, dlen, VR_DESC_ALIGN, VR_ACCESS_READ, &pd);
		if (!err)
			err = area_map(d, q->driver, drvlen, VR_AVAIL_ALIGN,
				       VR_ACCESS_READ, &pdrv);
		if (!err)
			err = area_map(d, q->device, devlen, VR_USED_ALIGN,
				       VR_ACCESS_WRITE, &pdev);
	}
	if (err)
		return err;
	if (ranges_overlap(q->desc, dlen, q->driver, drvlen) ||
	    ranges_overlap(q->desc, dlen, q->device, devlen) ||
	    ranges_overlap(q->driver, drvlen, q->device, devlen))
		return VR_EOVERLAP;

	dev_zero(&cfg, sizeof(cfg));
	cfg.num = q->num;
	cfg.features = d->negotiated;
	cfg.mem = d->mem;
	cfg.max_indirect = q->max_indirect;
	if (packed) {
		struct vr_packed_areas a;

		a.desc = pd;
		a.driver_event = pdrv;
		a.device_event = pdev;
		err = vr_packed_dev_init(&q->ring.packed, &cfg, &a, q->state,
					 q->state_len);
	} else {
		struct vr_split_areas a;

		a.desc = pd;
		a.avail = pdrv;
		a.used = pdev;
		err = vr_split_dev_init(&q->ring.split, &cfg, &a, q->state,
					q->state_len);
	}
	/* The guest ranges were disjoint and aligned; a failure here means
	 * the translation put them somewhere the ring cannot live (a local
	 * pointer misaligned, or two areas mapped onto the same bytes). */
	if (err == VR_EINVAL)
		err = VR_EOVERLAP;
	if (err)
		return err;
	q->packed = packed;
	q->ready = true;
	if (d->ops.queue_state)
		d->ops.queue_state(d->ctx, i, 1);
	return 0;
}

/* The queue QueueSel names, or NULL when it does not exist. */
static struct vr_mmio_dev_queue *sel_queue(struct vr_mmio_dev *d)
{
	if (d->queue_sel >= d->num_queues || d->queues[d->queue_sel].num_max == 0)
		return NULL;
	return &d->queues[d->queue_sel];
}

static int write_queue_ready(struct vr_mmio_dev *d, uint32_t value)
{
	struct vr_mmio_dev_queue *q = sel_queue(d);
	int err;

	if (!q)
		return violation(d, VR_EINVAL);
	if (value == 0) {
		/* Section 4.2.2.2: how the driver stops using a queue. */
		queue_teardown(d, d->queue_sel);
		return 0;
	}
	if (value != 1)
		return violation(d, VR_EINVAL);
	if (q->ready)
		return 0;
	/* The ring format is known only once the features are. */
	if (!(d->status & ST_FEATURES_OK) ||
	    (d->status & (ST_FAILED | ST_NEEDS_RESET)))
		err = VR_ESTATE;
	else
		err = queue_enable(d, d->queue_sel);
	q->error = err;
	return err ? violation(d, err) : 0;
}

/* QueueNum and the six address halves: only while the queue is not ready
 * (section 4.2.2.2). */
static int write_queue_reg(struct vr_mmio_dev *d, uint32_t off, uint32_t value)
{
	struct vr_mmio_dev_queue *q = sel_queue(d);
	uint64_t *field;
	bool high;

	if (!q)
		return violation(d, VR_EINVAL);
	if (q->ready)
		return violation(d, VR_ESTATE);
	switch (off) {
	case VR_MMIO_REG_QUEUE_NUM:
		if (value == 0 || value > q->num_max)
			return violation(d, VR_ERANGE);
		q->num = value;
		return 0;
	case VR_MMIO_REG_QUEUE_DESC_LOW:
	case VR_MMIO_REG_QUEUE_DESC_HIGH:
		field = &q->desc;
		break;
	case VR_MMIO_REG_QUEUE_DRIVER_LOW:
	case VR_MMIO_REG_QUEUE_DRIVER_HIGH:
		field = &q->driver;
		break;
	default:
		field = &q->device;
		break;
	}
	high = (off & 4u) != 0;
	if (high)
		*field = (*field & 0xffffffffull) | ((uint64_t)value << 32);
	else
		*field = (*field & ~0xffffffffull) | value;
	return 0;
}

static int write_queue_reset(struct vr_mmio_dev *d, uint32_t value)
{
	struct vr_mmio_dev_queue *q = sel_queue(d);

	if (!feature(d, VR_F_RING_RESET))
		return violation(d, VR_ENOTSUP);
	if (!q)
		return violation(d, VR_EINVAL);
	if (value != 1)
		return violation(d, VR_EINVAL);
	/* Section 2.6.1: stop the queue and return every queue register to
	 * its default. The reset completes before this write returns, so
	 * QueueReset never reads 1 ("ongoing") and QueueReady reads 0, as
	 * section 4.2.2.1 asks of a completed reset. */
	queue_teardown(d, d->queue_sel);
	queue_defaults(q);
	return 0;
}

static int write_notify(struct vr_mmio_dev *d, uint32_t value)
{
	uint32_t i = feature(d, VR_F_NOTIFICATION_DATA) ? (value & 0xffffu) : value;

	/* Section 3.1.1: no notification before DRIVER_OK; a spurious one is
	 * harmless (section 2.7.10), so it is dropped, not a violation. */
	if (!vr_mmio_dev_live(d)) {
		d->stats.notifies_dropped++;
		d->last_error = VR_EAGAIN;
		return VR_EAGAIN;
	}
	if (i >= d->num_queues || !d->queues[i].ready) {
		d->stats.notifies_dropped++;
		d->last_error = VR_EINVAL;
		return VR_EINVAL;
	}
	d->stats.notifies++;
	if (d->ops.notify)
		d->ops.notify(d->ctx, i, value);
	return 0;
}

/* ---- Status and features -------------------------------------------------- */

static void device_reset(struct vr_mmio_dev *d)
{
	uint32_t old = d->status, i;

	/* Section 4.2.2.1: clear InterruptStatus and every QueueReady. */
	d->status = 0;
	for (i = 0; i < d->num_queues; i++) {
		queue_teardown(d, i);
		queue_defaults(&d->queues[i]);
	}
	isr_clear(d, INT_ALL);
	d->drv_features = 0;
	d->negotiated = 0;
	d->drv_beyond = 0;
	d->drv_beyond_far = false;
	d->dev_feat_sel = d->drv_feat_sel = 0;
	d->queue_sel = 0;
	d->shm_sel = 0;
	d->stats.resets++;
	if (d->ops.status && old != 0)
		d->ops.status(d->ctx, old, 0);
}

/* FEATURES_OK: the driver may accept only what was offered, and a version
 * 2 (modern) device insists on VERSION_1 (section 6.1). */
static bool features_acceptable(struct vr_mmio_dev *d)
{
	if (d->drv_beyond || d->drv_beyond_far)
		return false;
	if (d->drv_features & ~d->offered)
		return false;
	if (!(d->drv_features & VR_FEATURE(VR_F_VERSION_1)))
		return false;
	if (d->ops.accept_features &&
	    d->ops.accept_features(d->ctx, d->drv_features) != 0)
		return false;
	return true;
}

static int write_status(struct vr_mmio_dev *d, uint32_t value)
{
	uint32_t old = d->status, added, want = value;
	int ret = 0;

	if (value == 0) {
		device_reset(d);
		return 0;
	}
	if (value & ~ST_ALL)
		return violation(d, VR_EINVAL);
	/* Section 2.1.1: the driver never clears a bit, and never sets
	 * DEVICE_NEEDS_RESET; after FAILED only a reset is accepted. */
	if ((old & ~value) || ((value & ~old) & ST_NEEDS_RESET))
		return violation(d, (old & ~value) ? VR_ESTATE : VR_EINVAL);
	if ((old & ST_FAILED) && value != old)
		return violation(d, VR_ESTATE);
	added = value & ~old;
	if (added == 0)
		return 0;
	/* Section 3.1.1 order: ACKNOWLEDGE, DRIVER, FEATURES_OK (re-read by
	 * the driver before going on), DRIVER_OK. FAILED may come at any
	 * step. */
	if (((value & ST_DRIVER) && !(value & ST_ACK)) ||
	    ((value & ST_FEATURES_OK) && !(value & ST_DRIVER)) ||
	    ((added & ST_DRIVER_OK) && !(old & ST_FEATURES_OK)))
		return violation(d, VR_ESTATE);
	if (added & ST_FEATURES_OK) {
		if (features_acceptable(d)) {
			d->negotiated = d->drv_features;
		} else {
			/* The device does not set FEATURES_OK; the driver
			 * reads the status back and sees it clear. */
			want &= ~ST_FEATURES_OK;
			d->stats.features_refused++;
			d->last_error = ret = VR_EFEATURES;
		}
	}
	d->status = want;
	if (want != old && d->ops.status)
		d->ops.status(d->ctx, old, want);
	return ret;
}

static int write_driver_features(struct vr_mmio_dev *d, uint32_t value)
{
	uint32_t sel = d->drv_feat_sel;

	if (d->status & ST_FEATURES_OK)
		return violation(d, VR_ESTATE);
	if (sel == 0) {
		d->drv_features = (d->drv_features & ~0xffffffffull) | value;
	} else if (sel == 1) {
		d->drv_features = (d->drv_features & 0xffffffffull) |
				  ((uint64_t)value << 32);
	} else if (sel < 32) {
		/* Nothing is offered there: a non-zero word is a feature
		 * the driver may not take, remembered until rewritten. */
		if (value)
			d->drv_beyond |= 1u << sel;
		else
			d->drv_beyond &= ~(1u << sel);
	} else if (value) {
		d->drv_beyond_far = true;
	}
	return 0;
}

/* ---- Config space ----------------------------------------------------------- */

/* Offset into the config bytes of an access of @size at @off, or -1 when
 * it is not a naturally aligned 1/2/4-byte access inside the window. */
static int64_t config_offset(const struct vr_mmio_dev *d, uint32_t off,
			     unsigned size)
{
	uint32_t c;

	if (off < VR_MMIO_REG_CONFIG || (size != 1 && size != 2 && size != 4) ||
	    (off & (size - 1)))
		return -1;
	c = off - VR_MMIO_REG_CONFIG;
	if (c >= d->config_len || size > d->config_len - c)
		return -1;
	return c;
}

static uint32_t config_read(struct vr_mmio_dev *d, uint32_t off, unsigned size)
{
	int64_t c = config_offset(d, off, size);
	uint32_t v = 0;
	unsigned i;

	if (c < 0) {
		d->stats.ignored_reads++;
		return 0;
	}
	/* Little-endian whatever the host: byte by byte. */
	for (i = 0; i < size; i++)
		v |= (uint32_t)d->config[c + i] << (8 * i);
	return v;
}

static int config_write(struct vr_mmio_dev *d, uint32_t off, unsigned size,
			uint32_t value)
{
	int64_t c = config_offset(d, off, size);

	if (c < 0 || !d->ops.config_write)
		return ignored_write(d);
	if (size < 4)
		value &= (1u << (8 * size)) - 1;
	if (d->ops.config_write(d->ctx, (uint32_t)c, size, value) != 0)
		return ignored_write(d);
	return 0;
}

/* ---- Register accesses ------------------------------------------------------ */

uint32_t vr_mmio_dev_read(struct vr_mmio_dev *d, uint32_t off, unsigned size)
{
	struct vr_mmio_dev_queue *q;

	d->stats.reads++;
	if (off >= VR_MMIO_REG_CONFIG)
		return config_read(d, off, size);
	if (size != 4 || (off & 3u)) {
		d->stats.ignored_reads++;
		return 0;
	}
	switch (off) {
	case VR_MMIO_REG_MAGIC:
		return VR_MMIO_MAGIC;
	case VR_MMIO_REG_VERSION:
		return VR_MMIO_VERSION_MODERN;
	case VR_MMIO_REG_DEVICE_ID:
		return d->device_id;
	case VR_MMIO_REG_VENDOR_ID:
		return d->vendor_id;
	case VR_MMIO_REG_DEVICE_FEATURES:
		if (d->dev_feat_sel == 0)
			return (uint32_t)d->offered;
		if (d->dev_feat_sel == 1)
			return (uint32_t)(d->offered >> 32);
		return 0;
	case VR_MMIO_REG_QUEUE_NUM_MAX:
		q = sel_queue(d);
		return q ? q->num_max : 0;
	case VR_MMIO_REG_QUEUE_READY:
		q = sel_queue(d);
		return q && q->ready ? 1u : 0u;
	case VR_MMIO_REG_QUEUE_RESET:
		/* 1 only while a reset is ongoing: never, here. */
		return 0;
	case VR_MMIO_REG_INTERRUPT_STATUS:
		return d->isr;
	case VR_MMIO_REG_STATUS:
		return d->status;
	case VR_MMIO_REG_SHM_LEN_LOW:
	case VR_MMIO_REG_SHM_LEN_HIGH:
		/* No shared memory regions: length -1 (section 4.2.2). */
		return 0xffffffffu;
	case VR_MMIO_REG_SHM_BASE_LOW:
	case VR_MMIO_REG_SHM_BASE_HIGH:
		return 0xffffffffu;
	case VR_MMIO_REG_CONFIG_GENERATION:
		return d->generation;
	default:
		/* Write-only registers and holes. */
		d->stats.ignored_reads++;
		return 0;
	}
}

int vr_mmio_dev_write(struct vr_mmio_dev *d, uint32_t off, unsigned size,
		      uint32_t value)
{
	uint32_t bad;

	d->stats.writes++;
	if (off >= VR_MMIO_REG_CONFIG)
		return config_write(d, off, size, value);
	if (size != 4 || (off & 3u))
		return ignored_write(d);
	switch (off) {
	case VR_MMIO_REG_DEVICE_FEATURES_SEL:
		d->dev_feat_sel = value;
		return 0;
	case VR_MMIO_REG_DRIVER_FEATURES:
		return write_driver_features(d, value);
	case VR_MMIO_REG_DRIVER_FEATURES_SEL:
		d->drv_feat_sel = value;
		return 0;
	case VR_MMIO_REG_QUEUE_SEL:
		d->queue_sel = value;
		return 0;
	case VR_MMIO_REG_QUEUE_NUM:
	case VR_MMIO_REG_QUEUE_DESC_LOW:
	case VR_MMIO_REG_QUEUE_DESC_HIGH:
	case VR_MMIO_REG_QUEUE_DRIVER_LOW:
	case VR_MMIO_REG_QUEUE_DRIVER_HIGH:
	case VR_MMIO_REG_QUEUE_DEVICE_LOW:
	case VR_MMIO_REG_QUEUE_DEVICE_HIGH:
		return write_queue_reg(d, off, value);
	case VR_MMIO_REG_QUEUE_READY:
		return write_queue_ready(d, value);
	case VR_MMIO_REG_QUEUE_RESET:
		return write_queue_reset(d, value);
	case VR_MMIO_REG_QUEUE_NOTIFY:
		return write_notify(d, value);
	case VR_MMIO_REG_INTERRUPT_ACK:
		/* The defined bits are acknowledged even when undefined ones
		 * come along (section 4.2.2.2 forbids those). */
		bad = value & ~INT_ALL;
		isr_clear(d, value & INT_ALL);
		return bad ? violation(d, VR_EINVAL) : 0;
	case VR_MMIO_REG_STATUS:
		return write_status(d, value);
	case VR_MMIO_REG_SHM_SEL:
		d->shm_sel = value;
		return 0;
	default:
		/* Read-only registers, legacy-only ones and holes. */
		return ignored_write(d);
	}
}

/* ---- The back end's side ------------------------------------------------------ */

static struct vr_mmio_dev_queue *live_queue(struct vr_mmio_dev *d, uint32_t i)
{
	if (i >= d->num_queues || !d->queues[i].ready || !vr_mmio_dev_live(d))
		return NULL;
	return &d->queues[i];
}

struct vr_split_dev *vr_mmio_dev_split(struct vr_mmio_dev *dev, uint32_t queue)
{
	struct vr_mmio_dev_queue *q = live_queue(dev, queue);

	return q && !q->packed ? &q->ring.split : NULL;
}

struct vr_packed_dev *vr_mmio_dev_packed(struct vr_mmio_dev *dev, uint32_t queue)
{
	struct vr_mmio_dev_queue *q = live_queue(dev, queue);

	return q && q->packed ? &q->ring.packed : NULL;
}

int vr_mmio_dev_interrupt_used(struct vr_mmio_dev *dev)
{
	if (!vr_mmio_dev_live(dev))
		return VR_EAGAIN;
	isr_set(dev, VR_MMIO_INT_VRING);
	return 0;
}

int vr_mmio_dev_queue_publish(struct vr_mmio_dev *dev, uint32_t queue)
{
	struct vr_mmio_dev_queue *q;
	int need;

	if (queue >= dev->num_queues || !dev->queues[queue].ready)
		return VR_EINVAL;
	if (!vr_mmio_dev_live(dev))
		return VR_EAGAIN;
	q = &dev->queues[queue];
	need = q->packed ? vr_packed_dev_notify_prepare(&q->ring.packed)
			 : vr_split_dev_notify_prepare(&q->ring.split);
	if (need < 0) {
		vr_mmio_dev_set_needs_reset(dev);
		return need;
	}
	if (need)
		isr_set(dev, VR_MMIO_INT_VRING);
	return need;
}

void vr_mmio_dev_config_changed(struct vr_mmio_dev *dev)
{
	dev->generation++;
	if (dev->status & ST_DRIVER_OK)
		isr_set(dev, VR_MMIO_INT_CONFIG);
}

int vr_mmio_dev_queue_error(const struct vr_mmio_dev *dev, uint32_t queue)
{
	return queue < dev->num_queues ? dev->queues[queue].error : 0;
}

int vr_mmio_dev_init(struct vr_mmio_dev *dev, const struct vr_mmio_dev_cfg *cfg)
{
	uint32_t i;

	if (!dev || !cfg || cfg->device_id == 0 ||
	    !(cfg->features & VR_FEATURE(VR_F_VERSION_1)) ||
	    cfg->num_queues > VR_MMIO_DEV_QUEUES_MAX ||
	    (cfg->num_queues && (!cfg->queue || !cfg->queues)) ||
	    cfg->config_len > VR_MMIO_DEV_CONFIG_MAX ||
	    (cfg->config_len && !cfg->config))
		return VR_EINVAL;
	for (i = 0; i < cfg->num_queues; i++) {
		const struct vr_mmio_dev_queue_cfg *qc = &cfg->queue[i];

		if (qc->num_max > VR_QUEUE_SIZE_MAX ||
		    qc->max_indirect > VR_QUEUE_SIZE_MAX)
			return VR_EINVAL;
		if (qc->num_max == 0)
			continue;
		if (!qc->state)
			return VR_EINVAL;
		if ((uintptr_t)qc->state & (sizeof(void *) - 1))
			return VR_EALIGN;
		if (qc->state_len < vr_mmio_dev_queue_state_size(qc->num_max))
			return VR_ERANGE;
	}
	dev_zero(dev, sizeof(*dev));
	dev->queues = cfg->queues;
	dev->num_queues = cfg->num_queues;
	dev->device_id = cfg->device_id;
	dev->vendor_id = cfg->vendor_id;
	dev->offered = cfg->features;
	dev->mem = cfg->mem;
	dev->config = (unsigned char *)cfg->config;
	dev->config_len = cfg->config_len;
	if (cfg->ops)
		dev->ops = *cfg->ops;
	dev->ctx = cfg->ctx;
	for (i = 0; i < cfg->num_queues; i++) {
		struct vr_mmio_dev_queue *q = &cfg->queues[i];

		dev_zero(q, sizeof(*q));
		q->state = cfg->queue[i].state;
		q->state_len = cfg->queue[i].state_len;
		q->num_max = cfg->queue[i].num_max;
		q->max_indirect = cfg->queue[i].max_indirect;
		queue_defaults(q);
	}
	return 0;
}
