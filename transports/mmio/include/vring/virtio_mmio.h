/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/virtio_mmio.h
 * @brief virtio-mmio (version 2, virtio 1.2 section 4.2) as a bus of the
 *        virtio driver core (<vring/virtio_drv.h>), and the register
 *        accessor under it.
 *
 * The accessor reads and writes one device's registers either on real
 * memory-mapped I/O (a base address: volatile single-instruction 32-bit
 * loads and stores, with the barriers an Arm core needs so that ring
 * memory written before a register write is visible to the device first,
 * and ring memory read after a register read is not read early), or
 * through two callbacks (a simulated register file in host tests, a
 * hypervisor's trap path, a bus with its own rules). The choice is made
 * per device at probe time; the same driver code runs on both.
 *
 * Legacy virtio-mmio (version 1, QEMU's default unless
 * `-global virtio-mmio.force-legacy=false`) is refused by vr_mmio_probe()
 * with VR_ELEGACY: it has no 64-bit queue addresses, no FEATURES_OK and
 * a page-based queue layout, and nothing in libvring needs it.
 *
 * Freestanding. Thread notes: one struct vr_mmio belongs to one device and
 * one thread of execution at a time (the driver core's rule).
 */
#ifndef VRING_VIRTIO_MMIO_H
#define VRING_VIRTIO_MMIO_H

#include <stdint.h>

#include <vring/detail/atomic.h>
#include <vring/virtio_drv.h>
#include <vring/virtio_mmio_regs.h>

VR_EXTERN_C_BEGIN

/** Callbacks that stand in for the memory bus (simulation, trapping). */
struct vr_mmio_access {
	/** Read @p width (1, 2 or 4) bytes at register offset @p off. */
	uint32_t (*read)(void *ctx, uint32_t off, unsigned width);
	/** Write @p width bytes of @p val at register offset @p off. */
	void (*write)(void *ctx, uint32_t off, uint32_t val, unsigned width);
};

/** One virtio-mmio device. Fields are private: use the functions. */
struct vr_mmio {
	uintptr_t base;                   /* real MMIO base (acc == NULL) */
	const struct vr_mmio_access *acc; /* or the callbacks */
	void *acc_ctx;
	uint32_t version;
	uint32_t device_id;
	uint32_t vendor_id;
};

/* ---- The accessor ----------------------------------------------------- */

/*
 * Real MMIO. On AArch64 each access is one ldr/str with a plain base
 * register (no writeback: a hypervisor trapping the access can decode it
 * from the syndrome). Barriers, as Arm requires between Normal memory (the
 * rings) and Device memory (the registers):
 *  - before a register store, dmb oshst: the ring stores that precede it
 *    in program order (descriptors, avail index) reach the point where the
 *    device observes them before the store that tells the device to look
 *    (QueueNotify, QueueReady, Status);
 *  - after a register load, dmb oshld: ring loads that follow (used ring
 *    after InterruptStatus) are not satisfied before it.
 * Other CPUs get a full C11 fence on the same sides.
 */
VR_INLINE uint32_t vr__mmio_hw_read(uintptr_t a, unsigned width)
{
	uint32_t v;

#if defined(__aarch64__)
	if (width == 4)
		__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	else if (width == 2)
		__asm__ volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	else
		__asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	__asm__ volatile("dmb oshld" ::: "memory");
#else
	if (width == 4)
		v = *(volatile uint32_t *)a;
	else if (width == 2)
		v = *(volatile uint16_t *)a;
	else
		v = *(volatile uint8_t *)a;
	vr__fence_full();
#endif
	return v;
}

VR_INLINE void vr__mmio_hw_write(uintptr_t a, uint32_t v, unsigned width)
{
#if defined(__aarch64__)
	__asm__ volatile("dmb oshst" ::: "memory");
	if (width == 4)
		__asm__ volatile("str %w0, [%1]" : : "rZ"(v), "r"(a) : "memory");
	else if (width == 2)
		__asm__ volatile("strh %w0, [%1]" : : "rZ"(v), "r"(a) : "memory");
	else
		__asm__ volatile("strb %w0, [%1]" : : "rZ"(v), "r"(a) : "memory");
#else
	vr__fence_full();
	if (width == 4)
		*(volatile uint32_t *)a = v;
	else if (width == 2)
		*(volatile uint16_t *)a = (uint16_t)v;
	else
		*(volatile uint8_t *)a = (uint8_t)v;
#endif
}

/** @brief Read a register (@p width 1, 2 or 4 bytes; 4 outside config). */
VR_INLINE uint32_t vr_mmio_read(const struct vr_mmio *m, uint32_t off,
				unsigned width)
{
	if (m->acc)
		return m->acc->read(m->acc_ctx, off, width);
	return vr__mmio_hw_read(m->base + off, width);
}

/** @brief Write a register. */
VR_INLINE void vr_mmio_write(const struct vr_mmio *m, uint32_t off,
			     uint32_t v, unsigned width)
{
	if (m->acc)
		m->acc->write(m->acc_ctx, off, v, width);
	else
		vr__mmio_hw_write(m->base + off, v, width);
}

VR_INLINE uint32_t vr_mmio_read32(const struct vr_mmio *m, uint32_t off)
{
	return vr_mmio_read(m, off, 4);
}

VR_INLINE void vr_mmio_write32(const struct vr_mmio *m, uint32_t off, uint32_t v)
{
	vr_mmio_write(m, off, v, 4);
}

/* ---- Probe and bus ---------------------------------------------------- */

/**
 * @brief Identify the device at a real MMIO base address.
 * @return 0 (a version 2 device: vr_mmio_device_id() says which);
 *         VR_ENODEV (no magic, or device id 0: an empty slot);
 *         VR_ELEGACY (version 1); VR_EDEVICE (any other version);
 *         VR_EINVAL (NULL @p m or base 0)
 */
int vr_mmio_probe(struct vr_mmio *m, uintptr_t base);

/**
 * @brief As vr_mmio_probe(), through callbacks instead of real MMIO.
 * @return as vr_mmio_probe(); VR_EINVAL for NULL callbacks
 */
int vr_mmio_probe_access(struct vr_mmio *m, const struct vr_mmio_access *acc,
			 void *ctx);

/** @brief Device id (VR_VIRTIO_ID_*), valid after probe. */
VR_INLINE uint32_t vr_mmio_device_id(const struct vr_mmio *m)
{
	return m->device_id;
}

/** @brief Vendor id, valid after probe. */
VR_INLINE uint32_t vr_mmio_vendor_id(const struct vr_mmio *m)
{
	return m->vendor_id;
}

/** @brief The register version read at probe (2; 1 = legacy, refused). */
VR_INLINE uint32_t vr_mmio_version(const struct vr_mmio *m)
{
	return m->version;
}

/** The virtio-mmio bus: pass with a probed struct vr_mmio * as bus ctx. */
extern const struct vr_virtio_bus_ops vr_mmio_bus_ops;

VR_EXTERN_C_END

#endif /* VRING_VIRTIO_MMIO_H */
