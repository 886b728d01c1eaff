/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/virtio_pci.h
 * @brief virtio-pci (modern, virtio 1.2 section 4.1) as the second bus of
 *        the virtio driver core (vring/virtio_drv.h).
 *
 * vr_virtio_pci_probe() finds a virtio function on PCI bus 0 (vendor
 * 0x1af4; modern ids 0x1040 + device id, or a transitional id whose
 * subsystem id names the device), assigns its BARs from the platform's
 * memory window, enables memory decoding and bus mastering, and locates the
 * four virtio structures through the vendor-specific capabilities: common
 * configuration, notifications (with their offset multiplier), ISR status
 * and the device configuration. Each capability is checked against the BAR
 * it points into (BAR index, offset and length, without overflow; lengths
 * at least what the spec defines) before anything is read through it. Then
 * vr_virtio_pci_bus_ops drives the device through the same core that
 * drives virtio-mmio: one driver core, two buses.
 *
 * Interrupts: INTx by default (the function's pin, routed by the platform:
 * on qemu-system-aarch64 -M virt, GIC SPI 3 + (slot + pin - 1) % 4); reading
 * the ISR status acknowledges the interrupt and deasserts the line. Or
 * MSI-X (vr_virtio_pci_msix_enable()): one vector for every queue, written
 * as a message to an address the platform's interrupt controller decodes
 * (a GICv3 ITS's GITS_TRANSLATER); the ISR status is then not used.
 *
 * Freestanding. Concurrency: as the core: one thread of execution at a
 * time per device (mask its interrupt around thread-side queue calls).
 */
#ifndef VRING_VIRTIO_PCI_H
#define VRING_VIRTIO_PCI_H

#include <stdint.h>

#include <vring/pci.h>
#include <vring/virtio_drv.h>

VR_EXTERN_C_BEGIN

#define VR_VIRTIO_PCI_VENDOR 0x1af4u
#define VR_VIRTIO_PCI_MODERN_BASE 0x1040u /**< device id = 0x1040 + virtio id */

/* Vendor capability (virtio 1.2 section 4.1.4): byte offsets. */
#define VR_VPCI_CAP_CFG_TYPE 3u
#define VR_VPCI_CAP_BAR 4u
#define VR_VPCI_CAP_OFFSET 8u
#define VR_VPCI_CAP_LENGTH 12u
#define VR_VPCI_CAP_NOTIFY_MULT 16u
#define VR_VPCI_CAP_LEN_MIN 16u        /**< struct virtio_pci_cap */
#define VR_VPCI_NOTIFY_CAP_LEN_MIN 20u /**< ... plus the multiplier */

/* cfg_type values. */
#define VR_VPCI_CAP_COMMON 1u
#define VR_VPCI_CAP_NOTIFY 2u
#define VR_VPCI_CAP_ISR 3u
#define VR_VPCI_CAP_DEVICE 4u
#define VR_VPCI_CAP_PCI_CFG 5u

/* Common configuration structure: byte offsets. */
#define VR_VPCI_DFSELECT 0u
#define VR_VPCI_DF 4u
#define VR_VPCI_GFSELECT 8u
#define VR_VPCI_GF 12u
#define VR_VPCI_MSIX_CONFIG 16u
#define VR_VPCI_NUM_QUEUES 18u
#define VR_VPCI_STATUS 20u
#define VR_VPCI_CFG_GENERATION 21u
#define VR_VPCI_Q_SELECT 22u
#define VR_VPCI_Q_SIZE 24u
#define VR_VPCI_Q_MSIX 26u
#define VR_VPCI_Q_ENABLE 28u
#define VR_VPCI_Q_NOTIFY_OFF 30u
#define VR_VPCI_Q_DESC 32u
#define VR_VPCI_Q_DRIVER 40u
#define VR_VPCI_Q_DEVICE 48u
#define VR_VPCI_Q_NOTIFY_DATA 56u
#define VR_VPCI_Q_RESET 58u
/** Length of the common structure up to queue_device (virtio 1.0). */
#define VR_VPCI_COMMON_LEN_MIN 56u
/** ... and with queue_notify_data and queue_reset (virtio 1.2). */
#define VR_VPCI_COMMON_LEN_RESET 60u
#define VR_VPCI_NO_VECTOR 0xffffu

/** ISR status bits. */
#define VR_VPCI_ISR_QUEUE 0x1u
#define VR_VPCI_ISR_CONFIG 0x2u

/** One virtio-pci device. Fields are private: use the functions. */
struct vr_virtio_pci {
	struct vr_pci_dev pci;
	uint32_t device_id;    /* virtio device type */
	uint64_t common;       /* bus addresses of the structures */
	uint32_t common_len;
	uint64_t notify;
	uint64_t notify_len;
	uint32_t notify_mult;
	uint64_t isr;
	uint64_t devcfg;
	uint32_t devcfg_len;
	uint16_t num_queues;
	/* Notification address of each queue, from its queue_notify_off
	 * (0: not programmed yet). */
	uint64_t notify_addr[VR_VIRTIO_MAX_QUEUES];
	uint64_t bad_accesses; /* config or notify accesses refused (bounds) */
	/* MSI-X vector every queue signals (VR_VPCI_NO_VECTOR: INTx). */
	uint16_t msix_vector;
};

/**
 * @brief Find the @p nth (from 0) virtio function of type @p virtio_id on
 *        bus 0, assign its BARs, enable it (memory, bus mastering, INTx)
 *        and locate its virtio structures.
 * @return 0; VR_ENODEV (no such function, or a required capability
 *         missing); VR_EDEVICE (a capability that points outside its BAR,
 *         is too short, names a BAR that does not exist, or a list that
 *         loops; a notify multiplier that is not 0 or a multiple of 2);
 *         VR_ENOSPC (the memory window is too small for the BARs);
 *         VR_EINVAL
 */
int vr_virtio_pci_probe(struct vr_virtio_pci *vp, struct vr_pci_bus *bus,
			uint32_t virtio_id, unsigned nth);

/** @brief The INTx pin of the function (1..4 = INTA..INTD; 0: none). */
VR_INLINE unsigned vr_virtio_pci_int_pin(const struct vr_virtio_pci *vp)
{
	return vp->pci.int_pin;
}

/** @brief Slot (device number) of the function on bus 0. */
VR_INLINE unsigned vr_virtio_pci_slot(const struct vr_virtio_pci *vp)
{
	return (unsigned)(vp->pci.bdf >> 3) & 31u;
}

/**
 * @brief Signal every queue through MSI-X vector 0 instead of INTx: the
 *        function's MSI-X table entry 0 gets @p addr / @p data (the
 *        platform's doorbell for this device and event), is unmasked, and
 *        MSI-X is enabled. Call after vr_virtio_pci_probe() and before the
 *        queues are set up; the configuration-change interrupt stays off.
 * @return 0; VR_ENODEV (no MSI-X capability); VR_EDEVICE (a table outside
 *         its BAR, or in a BAR not assigned); VR_EINVAL
 */
int vr_virtio_pci_msix_enable(struct vr_virtio_pci *vp, uint64_t addr, uint32_t data);

/** @brief Is MSI-X in use (vr_virtio_pci_msix_enable() succeeded)? */
VR_INLINE bool vr_virtio_pci_msix(const struct vr_virtio_pci *vp)
{
	return vp->msix_vector != VR_VPCI_NO_VECTOR;
}

/** The bus of the virtio driver core; its ctx is a struct vr_virtio_pci. */
extern const struct vr_virtio_bus_ops vr_virtio_pci_bus_ops;

VR_EXTERN_C_END

#endif /* VRING_VIRTIO_PCI_H */
