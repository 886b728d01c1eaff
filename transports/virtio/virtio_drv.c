/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bus-independent virtio driver core: status handshake, feature
 * negotiation, config reads, queue set-up and reset, interrupt entry.
 * Freestanding (see vring/virtio_drv.h): every loop on a device value has a
 * bound, and every value the device returns is checked before use.
 */
#include <vring/virtio_drv.h>

static int fail_with(struct vr_virtio_dev *d, int err)
{
	vr_virtio_fail(d);
	return err;
}

static void zero_bytes(void *p, size_t n)
{
	volatile unsigned char *b = (volatile unsigned char *)p;

	/* Byte stores through volatile: the ring memory may be Device memory
	 * (bare metal, MMU off) where wider unaligned stores would fault,
	 * and no libc memset is assumed. */
	while (n--)
		*b++ = 0;
}

int vr_virtio_init(struct vr_virtio_dev *d, const struct vr_virtio_bus_ops *ops,
		   void *bus, vr_virtio_to_bus_fn to_bus, void *to_bus_ctx)
{
	unsigned i;

	if (!d || !ops || !ops->get_status || !ops->set_status ||
	    !ops->get_device_features || !ops->set_driver_features ||
	    !ops->config_generation || !ops->config_read ||
	    !ops->config_write || !ops->queue_num_max || !ops->queue_program ||
	    !ops->queue_set_ready || !ops->queue_get_ready || !ops->notify ||
	    !ops->isr_read || !ops->isr_ack)
		return VR_EINVAL;
	d->ops = ops;
	d->bus = bus;
	d->to_bus = to_bus;
	d->to_bus_ctx = to_bus_ctx;
	d->device_features = 0;
	d->features = 0;
	d->status = 0;
	d->broken = 0;
	for (i = 0; i < VR_VIRTIO_MAX_QUEUES; i++)
		d->queues[i] = NULL;
	zero_bytes(&d->stats, sizeof(d->stats));
	return 0;
}

/* Write status 0 and wait, boundedly, for the device to read back 0
 * (section 2.1.2: the reset is complete when status reads 0). */
static int reset_device(struct vr_virtio_dev *d)
{
	unsigned i;

	d->ops->set_status(d->bus, 0);
	d->status = 0;
	for (i = 0; i < VR_VIRTIO_RESET_POLLS; i++)
		if (d->ops->get_status(d->bus) == 0)
			return 0;
	return VR_ETIMEDOUT;
}

/* Add @bits to the status and check that every bit the driver has set is
 * still set and that the device does not need a reset. */
static int set_status_bits(struct vr_virtio_dev *d, uint8_t bits)
{
	uint8_t st;

	d->status = (uint8_t)(d->status | bits);
	d->ops->set_status(d->bus, d->status);
	st = d->ops->get_status(d->bus);
	if (st & VR_VIRTIO_STATUS_NEEDS_RESET)
		return VR_ENEEDSRESET;
	if ((st & d->status) != d->status)
		return VR_ENEEDSRESET;
	return 0;
}

int vr_virtio_reset(struct vr_virtio_dev *d)
{
	unsigned i;
	int err;

	if (!d || !d->ops)
		return VR_EINVAL;
	err = reset_device(d);
	for (i = 0; i < VR_VIRTIO_MAX_QUEUES; i++) {
		if (d->queues[i])
			d->queues[i]->ready = false;
		d->queues[i] = NULL;
	}
	d->features = 0;
	d->device_features = 0;
	d->broken = err;
	return err;
}

int vr_virtio_begin(struct vr_virtio_dev *d)
{
	uint64_t f1, f2;
	int err;

	err = vr_virtio_reset(d);
	if (err)
		return err;
	err = set_status_bits(d, VR_VIRTIO_STATUS_ACKNOWLEDGE);
	if (!err)
		err = set_status_bits(d, VR_VIRTIO_STATUS_DRIVER);
	if (err)
		return fail_with(d, err);
	/* Read twice: the offer is a constant of the device; one that moves
	 * between two reads cannot be negotiated against. */
	f1 = d->ops->get_device_features(d->bus);
	f2 = d->ops->get_device_features(d->bus);
	if (f1 != f2)
		return fail_with(d, VR_EDEVICE);
	if (!(f1 & VR_FEATURE(VR_F_VERSION_1)))
		return fail_with(d, VR_ELEGACY);
	d->device_features = f1;
	return 0;
}

int vr_virtio_negotiate(struct vr_virtio_dev *d, uint64_t wanted)
{
	const uint8_t need = VR_VIRTIO_STATUS_ACKNOWLEDGE | VR_VIRTIO_STATUS_DRIVER;
	uint64_t take, again;
	int err;

	if (!d || !d->ops)
		return VR_EINVAL;
	if (d->broken)
		return VR_EBROKEN;
	if ((d->status & need) != need ||
	    (d->status & (VR_VIRTIO_STATUS_FEATURES_OK | VR_VIRTIO_STATUS_FAILED)))
		return VR_ESTATE;
	if (d->ops->get_device_features(d->bus) != d->device_features)
		return fail_with(d, VR_EDEVICE);
	take = (wanted & ~(uint64_t)VR_VIRTIO_TRANSPORT_MASK) |
	       (wanted & VR_VIRTIO_TRANSPORT_MASK & VR_VIRTIO_DRV_FEATURES) |
	       VR_FEATURE(VR_F_VERSION_1);
	take &= d->device_features;
	d->ops->set_driver_features(d->bus, take);
	err = set_status_bits(d, VR_VIRTIO_STATUS_FEATURES_OK);
	if (err) {
		/* A device that refuses the subset clears FEATURES_OK and
		 * nothing else (section 3.1.1 step 6). */
		uint8_t st = d->ops->get_status(d->bus);

		if (!(st & VR_VIRTIO_STATUS_NEEDS_RESET) &&
		    (st & need) == need)
			err = VR_EFEATURES;
		return fail_with(d, err);
	}
	/* After FEATURES_OK the offer must still be what it was: a bit
	 * turning up now was never offered when the driver chose. */
	again = d->ops->get_device_features(d->bus);
	if (again != d->device_features)
		return fail_with(d, VR_EDEVICE);
	d->features = take;
	return 0;
}

int vr_virtio_driver_ok(struct vr_virtio_dev *d)
{
	int err;

	if (!d || !d->ops)
		return VR_EINVAL;
	if (d->broken)
		return VR_EBROKEN;
	if (!(d->status & VR_VIRTIO_STATUS_FEATURES_OK) ||
	    (d->status & VR_VIRTIO_STATUS_FAILED))
		return VR_ESTATE;
	err = set_status_bits(d, VR_VIRTIO_STATUS_DRIVER_OK);
	if (err) {
		d->broken = err;
		return fail_with(d, err);
	}
	if (d->ops->get_device_features(d->bus) != d->device_features) {
		d->broken = VR_EDEVICE;
		return fail_with(d, VR_EDEVICE);
	}
	return 0;
}

void vr_virtio_fail(struct vr_virtio_dev *d)
{
	if (!d || !d->ops)
		return;
	d->status = (uint8_t)(d->status | VR_VIRTIO_STATUS_FAILED);
	d->ops->set_status(d->bus, d->status);
}

int vr_virtio_check_status(struct vr_virtio_dev *d)
{
	if (!d || !d->ops)
		return VR_EINVAL;
	if (d->broken)
		return d->broken;
	if (d->ops->get_status(d->bus) & VR_VIRTIO_STATUS_NEEDS_RESET) {
		d->broken = VR_ENEEDSRESET;
		return VR_ENEEDSRESET;
	}
	return 0;
}

/* The widest naturally aligned access that fits at @off with @left bytes
 * to go: 4, 2 or 1 (section 4.2.2.2 allows no other on the config space). */
static unsigned access_width(uint32_t off, size_t left)
{
	if ((off & 3u) == 0 && left >= 4)
		return 4;
	if ((off & 1u) == 0 && left >= 2)
		return 2;
	return 1;
}

int vr_virtio_config_read(struct vr_virtio_dev *d, uint32_t off, void *buf,
			  size_t len)
{
	unsigned char *out = (unsigned char *)buf;
	unsigned tries, w, k;
	size_t i;

	if (!d || !d->ops || (!buf && len))
		return VR_EINVAL;
	if (off > VR_VIRTIO_CONFIG_MAX || len > VR_VIRTIO_CONFIG_MAX - off)
		return VR_EINVAL;
	if (d->broken)
		return VR_EBROKEN;
	if (!(d->status & VR_VIRTIO_STATUS_DRIVER))
		return VR_ESTATE;
	for (tries = 0; tries < VR_VIRTIO_CONFIG_RETRIES; tries++) {
		uint32_t before = d->ops->config_generation(d->bus), after;

		for (i = 0; i < len; i += w) {
			uint32_t at = off + (uint32_t)i;
			uint32_t v;

			w = access_width(at, len - i);
			v = d->ops->config_read(d->bus, at, w);
			for (k = 0; k < w; k++)
				out[i + k] = (unsigned char)(v >> (8 * k));
		}
		after = d->ops->config_generation(d->bus);
		if (before == after)
			return 0;
		/* The device changed its config during the read: the bytes
		 * may mix two versions; read all of them again. */
		d->stats.config_retries++;
	}
	return VR_ECONFIGGEN;
}

int vr_virtio_config_write(struct vr_virtio_dev *d, uint32_t off,
			   const void *buf, size_t len)
{
	const unsigned char *in = (const unsigned char *)buf;
	unsigned w, k;
	size_t i;

	if (!d || !d->ops || (!buf && len))
		return VR_EINVAL;
	if (off > VR_VIRTIO_CONFIG_MAX || len > VR_VIRTIO_CONFIG_MAX - off)
		return VR_EINVAL;
	if (d->broken)
		return VR_EBROKEN;
	if (!(d->status & VR_VIRTIO_STATUS_DRIVER))
		return VR_ESTATE;
	for (i = 0; i < len; i += w) {
		uint32_t at = off + (uint32_t)i, v = 0;

		w = access_width(at, len - i);
		for (k = 0; k < w; k++)
			v |= (uint32_t)in[i + k] << (8 * k);
		d->ops->config_write(d->bus, at, v, w);
	}
	return 0;
}

size_t vr_virtio_queue_mem_size(uint64_t features, uint32_t num)
{
	struct vr_layout l;
	int err;

	if (features & VR_FEATURE(VR_F_RING_PACKED))
		err = vr_packed_layout(num, &l);
	else
		err = vr_split_layout(num, VR_USED_ALIGN, &l);
	return err ? 0 : l.total;
}

size_t vr_virtio_queue_state_size(uint64_t features, uint32_t num)
{
	if (features & VR_FEATURE(VR_F_RING_PACKED))
		return vr_packed_size_valid(num) ? vr_packed_drv_state_size(num) : 0;
	return vr_split_size_valid(num) ? vr_split_drv_state_size(num) : 0;
}

static uint64_t to_bus(const struct vr_virtio_dev *d, const void *p)
{
	if (d->to_bus)
		return d->to_bus(d->to_bus_ctx, p);
	return (uint64_t)(uintptr_t)p;
}

int vr_virtio_queue_setup(struct vr_virtio_dev *d, struct vr_virtio_queue *vq,
			  uint16_t index, const struct vr_virtio_queue_cfg *cfg)
{
	struct vr_queue_cfg qc;
	uint32_t max, num;
	bool packed;
	int err;

	if (!d || !d->ops || !vq || !cfg || index >= VR_VIRTIO_MAX_QUEUES)
		return VR_EINVAL;
	if (d->broken)
		return VR_EBROKEN;
	if (!(d->status & VR_VIRTIO_STATUS_FEATURES_OK) ||
	    (d->status & VR_VIRTIO_STATUS_FAILED) ||
	    (d->queues[index] && d->queues[index] != vq) ||
	    (d->queues[index] == vq && vq->ready))
		return VR_ESTATE;
	/* A queue the device already calls live was never set up by this
	 * driver after the reset: refuse to reprogram it under the device. */
	if (d->ops->queue_get_ready(d->bus, index) != 0)
		return VR_EQUEUE;
	max = d->ops->queue_num_max(d->bus, index);
	if (max == 0 || max > VR_QUEUE_SIZE_MAX)
		return VR_EQUEUE;
	packed = (d->features & VR_FEATURE(VR_F_RING_PACKED)) != 0;
	num = cfg->num == 0 || cfg->num > max ? max : cfg->num;
	if (!packed)
		while (num & (num - 1))
			num &= num - 1; /* round down to a power of two */
	if (!cfg->ring || !cfg->state)
		return VR_EINVAL;
	if (cfg->ring_len < vr_virtio_queue_mem_size(d->features, num) ||
	    cfg->state_len < vr_virtio_queue_state_size(d->features, num))
		return VR_ERANGE;

	zero_bytes(cfg->ring, vr_virtio_queue_mem_size(d->features, num));
	qc.num = num;
	qc.features = d->features & VR_RING_FEATURES;
	/* Packed: QEMU (and other devices written against Linux, which
	 * ignores the flag) report the written length without setting WRITE
	 * on the used descriptor. The length is still bounded by the
	 * chain's writable bytes, so taking it is safe. */
	qc.flags = cfg->flags | (packed ? VR_QF_USED_LEN_WITHOUT_WRITE : 0u);
	qc.mem = cfg->mem;
	qc.max_indirect = 0;
	vq->dev = d;
	vq->index = index;
	vq->packed = packed;
	vq->ready = false;
	vq->num = num;
	vq->ring = cfg->ring;
	vq->ring_len = cfg->ring_len;
	vq->notifies = 0;
	if (packed) {
		struct vr_packed_areas a;

		err = vr_packed_areas_from_region(&a, cfg->ring, cfg->ring_len, num);
		if (!err)
			err = vr_packed_drv_init(&vq->q.packed, &qc, &a, cfg->state,
						 cfg->state_len);
		if (err)
			return err;
		vq->desc_bus = to_bus(d, a.desc);
		vq->driver_bus = to_bus(d, a.driver_event);
		vq->device_bus = to_bus(d, a.device_event);
	} else {
		struct vr_split_areas a;

		err = vr_split_areas_from_region(&a, cfg->ring, cfg->ring_len, num,
						 VR_USED_ALIGN);
		if (!err)
			err = vr_split_drv_init(&vq->q.split, &qc, &a, cfg->state,
						cfg->state_len);
		if (err)
			return err;
		vq->desc_bus = to_bus(d, a.desc);
		vq->driver_bus = to_bus(d, a.avail);
		vq->device_bus = to_bus(d, a.used);
	}
	/* The ring memory (zeroed above, initialised by the ring core) is
	 * made visible to the device by the bus's register write barrier,
	 * which orders every earlier memory store before the MMIO store. */
	d->ops->queue_program(d->bus, index, num, vq->desc_bus, vq->driver_bus,
			      vq->device_bus);
	d->ops->queue_set_ready(d->bus, index, 1);
	if (d->ops->queue_get_ready(d->bus, index) != 1) {
		d->ops->queue_set_ready(d->bus, index, 0);
		return VR_EQUEUE;
	}
	vq->ready = true;
	d->queues[index] = vq;
	return (int)num;
}

int vr_virtio_queue_reset(struct vr_virtio_queue *vq)
{
	struct vr_virtio_dev *d;
	unsigned i;

	if (!vq || !vq->dev)
		return VR_EINVAL;
	d = vq->dev;
	if (d->broken)
		return VR_EBROKEN;
	if (!(d->features & VR_FEATURE(VR_F_RING_RESET)) ||
	    !d->ops->queue_reset || !d->ops->queue_reset_busy)
		return VR_ENOTSUP;
	if (d->queues[vq->index] != vq)
		return VR_EINVAL;
	d->ops->queue_reset(d->bus, vq->index);
	/* virtio 1.2 section 4.2.2.2 (and 4.1.4.3.2 for PCI): the device
	 * reads 1 in QueueReset while the reset is ongoing and 0 in both
	 * QueueReset and QueueReady once it is complete; the driver must not
	 * consider the queue reset before it reads 0. */
	for (i = 0; i < VR_VIRTIO_RESET_POLLS; i++)
		if (d->ops->queue_reset_busy(d->bus, vq->index) == 0)
			break;
	if (i == VR_VIRTIO_RESET_POLLS)
		return VR_ETIMEDOUT;
	/* A device without the register (QEMU 7.2's virtio-mmio offers
	 * RING_RESET all the same) reads 0 at once and keeps the queue
	 * live: the ring is still the device's, so nothing is forgotten. */
	if (d->ops->queue_get_ready(d->bus, vq->index) != 0)
		return VR_EQUEUE;
	/* The device has let go of the ring: forget what was in flight
	 * (the caller's cookies are lost with it) and clear the memory. */
	if (vq->packed)
		vr_packed_drv_reset(&vq->q.packed);
	else
		vr_split_drv_reset(&vq->q.split);
	vq->ready = false;
	return 0;
}

int vr_virtio_interrupt(struct vr_virtio_dev *d)
{
	uint32_t isr;

	if (!d || !d->ops)
		return VR_EINVAL;
	if (d->broken)
		return VR_EBROKEN;
	isr = d->ops->isr_read(d->bus);
	if (isr == 0) {
		d->stats.spurious++;
		return 0;
	}
	/* Acknowledge exactly what was read: a cause raised after the read
	 * stays pending and interrupts again. The used rings are read only
	 * after this (the bus's read barrier orders the ISR load before
	 * them), so a buffer used before the cause was set is seen. */
	d->ops->isr_ack(d->bus, isr);
	d->stats.interrupts++;
	if (isr & ~(uint32_t)(VR_VIRTIO_INT_VRING | VR_VIRTIO_INT_CONFIG))
		return VR_EDEVICE;
	if (isr & VR_VIRTIO_INT_CONFIG) {
		d->stats.config_changes++;
		if (d->ops->get_status(d->bus) & VR_VIRTIO_STATUS_NEEDS_RESET) {
			d->broken = VR_ENEEDSRESET;
			return VR_ENEEDSRESET;
		}
	}
	return (int)isr;
}

int vr_virtio_drain(struct vr_virtio_dev *d, vr_virtio_used_fn fn, void *ctx)
{
	struct vr_used_buf b;
	unsigned i, n;
	int total = 0, err;

	if (!d)
		return VR_EINVAL;
	for (i = 0; i < VR_VIRTIO_MAX_QUEUES; i++) {
		struct vr_virtio_queue *vq = d->queues[i];

		if (!vq || !vq->ready)
			continue;
		/* At most num per queue: the ring core already refuses more
		 * used entries than buffers in flight, this bounds the call
		 * even when the callback adds buffers back. */
		for (n = 0; n < vq->num; n++) {
			err = vr_virtio_queue_get_used(vq, &b);
			if (err == VR_EAGAIN)
				break;
			if (err < 0)
				return err;
			total++;
			if (fn)
				fn(ctx, vq, &b);
		}
	}
	return total;
}
