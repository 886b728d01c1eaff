/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-mmio version 2 as a bus of the virtio driver core: each bus call
 * is the register sequence of virtio 1.2 section 4.2.3. Freestanding.
 */
#include <vring/virtio_mmio.h>

static int identify(struct vr_mmio *m)
{
	if (vr_mmio_read32(m, VR_MMIO_REG_MAGIC) != VR_MMIO_MAGIC)
		return VR_ENODEV;
	m->version = vr_mmio_read32(m, VR_MMIO_REG_VERSION);
	m->device_id = vr_mmio_read32(m, VR_MMIO_REG_DEVICE_ID);
	m->vendor_id = vr_mmio_read32(m, VR_MMIO_REG_VENDOR_ID);
	/* Section 4.2.3.1.1: the version first, then an id of 0 means a
	 * placeholder slot with no device behind it. */
	if (m->version == VR_MMIO_VERSION_LEGACY)
		return VR_ELEGACY;
	if (m->version != VR_MMIO_VERSION_MODERN)
		return VR_EDEVICE;
	if (m->device_id == 0)
		return VR_ENODEV;
	return 0;
}

int vr_mmio_probe(struct vr_mmio *m, uintptr_t base)
{
	if (!m || base == 0)
		return VR_EINVAL;
	m->base = base;
	m->acc = NULL;
	m->acc_ctx = NULL;
	m->version = m->device_id = m->vendor_id = 0;
	return identify(m);
}

int vr_mmio_probe_access(struct vr_mmio *m, const struct vr_mmio_access *acc,
			 void *ctx)
{
	if (!m || !acc || !acc->read || !acc->write)
		return VR_EINVAL;
	m->base = 0;
	m->acc = acc;
	m->acc_ctx = ctx;
	m->version = m->device_id = m->vendor_id = 0;
	return identify(m);
}

static uint8_t mmio_get_status(void *ctx)
{
	return (uint8_t)vr_mmio_read32((struct vr_mmio *)ctx, VR_MMIO_REG_STATUS);
}

static void mmio_set_status(void *ctx, uint8_t status)
{
	vr_mmio_write32((struct vr_mmio *)ctx, VR_MMIO_REG_STATUS, status);
}

static uint64_t mmio_get_device_features(void *ctx)
{
	struct vr_mmio *m = (struct vr_mmio *)ctx;
	uint64_t hi, lo;

	vr_mmio_write32(m, VR_MMIO_REG_DEVICE_FEATURES_SEL, 1);
	hi = vr_mmio_read32(m, VR_MMIO_REG_DEVICE_FEATURES);
	vr_mmio_write32(m, VR_MMIO_REG_DEVICE_FEATURES_SEL, 0);
	lo = vr_mmio_read32(m, VR_MMIO_REG_DEVICE_FEATURES);
	return hi << 32 | lo;
}

static void mmio_set_driver_features(void *ctx, uint64_t features)
{
	struct vr_mmio *m = (struct vr_mmio *)ctx;

	vr_mmio_write32(m, VR_MMIO_REG_DRIVER_FEATURES_SEL, 0);
	vr_mmio_write32(m, VR_MMIO_REG_DRIVER_FEATURES, (uint32_t)features);
	vr_mmio_write32(m, VR_MMIO_REG_DRIVER_FEATURES_SEL, 1);
	vr_mmio_write32(m, VR_MMIO_REG_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

static uint32_t mmio_config_generation(void *ctx)
{
	return vr_mmio_read32((struct vr_mmio *)ctx, VR_MMIO_REG_CONFIG_GENERATION);
}

static uint32_t mmio_config_read(void *ctx, uint32_t off, unsigned width)
{
	return vr_mmio_read((struct vr_mmio *)ctx, VR_MMIO_REG_CONFIG + off, width);
}

static void mmio_config_write(void *ctx, uint32_t off, uint32_t val,
			      unsigned width)
{
	vr_mmio_write((struct vr_mmio *)ctx, VR_MMIO_REG_CONFIG + off, val, width);
}

static uint32_t mmio_queue_num_max(void *ctx, uint16_t q)
{
	struct vr_mmio *m = (struct vr_mmio *)ctx;

	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_SEL, q);
	return vr_mmio_read32(m, VR_MMIO_REG_QUEUE_NUM_MAX);
}

static void mmio_queue_program(void *ctx, uint16_t q, uint32_t num,
			       uint64_t desc, uint64_t driver, uint64_t device)
{
	struct vr_mmio *m = (struct vr_mmio *)ctx;

	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_SEL, q);
	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_NUM, num);
	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_DESC_LOW, (uint32_t)desc);
	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)driver);
	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_DRIVER_HIGH, (uint32_t)(driver >> 32));
	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)device);
	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_DEVICE_HIGH, (uint32_t)(device >> 32));
}

static void mmio_queue_set_ready(void *ctx, uint16_t q, uint32_t ready)
{
	struct vr_mmio *m = (struct vr_mmio *)ctx;

	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_SEL, q);
	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_READY, ready);
}

static uint32_t mmio_queue_get_ready(void *ctx, uint16_t q)
{
	struct vr_mmio *m = (struct vr_mmio *)ctx;

	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_SEL, q);
	return vr_mmio_read32(m, VR_MMIO_REG_QUEUE_READY);
}

static void mmio_queue_reset(void *ctx, uint16_t q)
{
	struct vr_mmio *m = (struct vr_mmio *)ctx;

	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_SEL, q);
	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_RESET, 1);
}

static uint32_t mmio_queue_reset_busy(void *ctx, uint16_t q)
{
	struct vr_mmio *m = (struct vr_mmio *)ctx;

	vr_mmio_write32(m, VR_MMIO_REG_QUEUE_SEL, q);
	return vr_mmio_read32(m, VR_MMIO_REG_QUEUE_RESET);
}

static void mmio_notify(void *ctx, uint16_t q)
{
	vr_mmio_write32((struct vr_mmio *)ctx, VR_MMIO_REG_QUEUE_NOTIFY, q);
}

static uint32_t mmio_isr_read(void *ctx)
{
	return vr_mmio_read32((struct vr_mmio *)ctx, VR_MMIO_REG_INTERRUPT_STATUS);
}

static void mmio_isr_ack(void *ctx, uint32_t bits)
{
	vr_mmio_write32((struct vr_mmio *)ctx, VR_MMIO_REG_INTERRUPT_ACK, bits);
}

const struct vr_virtio_bus_ops vr_mmio_bus_ops = {
	mmio_get_status,
	mmio_set_status,
	mmio_get_device_features,
	mmio_set_driver_features,
	mmio_config_generation,
	mmio_config_read,
	mmio_config_write,
	mmio_queue_num_max,
	mmio_queue_program,
	mmio_queue_set_ready,
	mmio_queue_get_ready,
	mmio_queue_reset,
	mmio_queue_reset_busy,
	mmio_notify,
	mmio_isr_read,
	mmio_isr_ack,
};
