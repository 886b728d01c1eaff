/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/virtio_mmio_regs.h
 * @brief The virtio-mmio register layout (virtio 1.2 section 4.2.2) and the
 *        device-independent virtio constants both sides of the bus need:
 *        device status bits (section 2.1), reserved feature bit numbers
 *        (section 6) and interrupt status bits.
 *
 * Nothing here has behaviour: offsets and values only, usable by a driver
 * (transports/mmio, the bare-metal example) and by a device model
 * (transports/mmio/device) alike. Freestanding: needs only <stdint.h>.
 * Names use the VR_MMIO_ / VR_VIRTIO_ / VR_F_ prefixes so this header can be
 * included together with <linux/virtio_mmio.h> and <linux/virtio_config.h>;
 * tests/test_virtio_drv_regs.c checks every value against those headers.
 *
 * All registers are 32 bits wide, little-endian, and must be accessed with
 * 32-bit loads and stores (section 4.2.2.2) except the device-specific
 * configuration space at VR_MMIO_REG_CONFIG, which takes 8-, 16- and 32-bit
 * accesses of naturally aligned fields (a 64-bit field is two 32-bit
 * accesses under ConfigGeneration).
 *
 * Thread notes: constants only; include from anywhere.
 */
#ifndef VRING_VIRTIO_MMIO_REGS_H
#define VRING_VIRTIO_MMIO_REGS_H

#include <stdint.h>

/* ---- Register offsets from the device's base address ------------------ */
#define VR_MMIO_REG_MAGIC 0x000u            /**< R: VR_MMIO_MAGIC */
#define VR_MMIO_REG_VERSION 0x004u          /**< R: 2 (1 = legacy) */
#define VR_MMIO_REG_DEVICE_ID 0x008u        /**< R: 0 = no device here */
#define VR_MMIO_REG_VENDOR_ID 0x00cu        /**< R */
#define VR_MMIO_REG_DEVICE_FEATURES 0x010u  /**< R: 32 bits at ..._SEL */
#define VR_MMIO_REG_DEVICE_FEATURES_SEL 0x014u /**< W: 0 = bits 0-31, 1 = 32-63 */
#define VR_MMIO_REG_DRIVER_FEATURES 0x020u  /**< W: 32 bits at ..._SEL */
#define VR_MMIO_REG_DRIVER_FEATURES_SEL 0x024u /**< W */
#define VR_MMIO_REG_GUEST_PAGE_SIZE 0x028u  /**< W: legacy (version 1) only */
#define VR_MMIO_REG_QUEUE_SEL 0x030u        /**< W: queue the Queue* registers address */
#define VR_MMIO_REG_QUEUE_NUM_MAX 0x034u    /**< R: 0 = queue not available */
#define VR_MMIO_REG_QUEUE_NUM 0x038u        /**< W: queue size chosen */
#define VR_MMIO_REG_QUEUE_ALIGN 0x03cu      /**< W: legacy only */
#define VR_MMIO_REG_QUEUE_PFN 0x040u        /**< RW: legacy only */
#define VR_MMIO_REG_QUEUE_READY 0x044u      /**< RW: 1 = driver may use it */
#define VR_MMIO_REG_QUEUE_NOTIFY 0x050u     /**< W: queue index (notification) */
#define VR_MMIO_REG_INTERRUPT_STATUS 0x060u /**< R: VR_MMIO_INT_* bits */
#define VR_MMIO_REG_INTERRUPT_ACK 0x064u    /**< W: bits to clear */
#define VR_MMIO_REG_STATUS 0x070u           /**< RW: VR_VIRTIO_STATUS_*; 0 resets */
#define VR_MMIO_REG_QUEUE_DESC_LOW 0x080u   /**< W: descriptor area, bits 0-31 */
#define VR_MMIO_REG_QUEUE_DESC_HIGH 0x084u  /**< W: bits 32-63 */
#define VR_MMIO_REG_QUEUE_DRIVER_LOW 0x090u /**< W: driver area (avail ring) */
#define VR_MMIO_REG_QUEUE_DRIVER_HIGH 0x094u
#define VR_MMIO_REG_QUEUE_DEVICE_LOW 0x0a0u /**< W: device area (used ring) */
#define VR_MMIO_REG_QUEUE_DEVICE_HIGH 0x0a4u
#define VR_MMIO_REG_SHM_SEL 0x0acu          /**< W: shared memory region id */
#define VR_MMIO_REG_SHM_LEN_LOW 0x0b0u      /**< R: ~0 in both = no region */
#define VR_MMIO_REG_SHM_LEN_HIGH 0x0b4u
#define VR_MMIO_REG_SHM_BASE_LOW 0x0b8u
#define VR_MMIO_REG_SHM_BASE_HIGH 0x0bcu
#define VR_MMIO_REG_QUEUE_RESET 0x0c0u      /**< RW: 1 = reset the queue (RING_RESET) */
#define VR_MMIO_REG_CONFIG_GENERATION 0x0fcu /**< R: changes with the config */
#define VR_MMIO_REG_CONFIG 0x100u           /**< device-specific config space */

/** Bytes of register space one virtio-mmio device occupies (QEMU -M virt
 *  slots are 0x200 apart). The config space is what lies past 0x100. */
#define VR_MMIO_REGION_SIZE 0x200u

/* ---- Identification --------------------------------------------------- */
#define VR_MMIO_MAGIC 0x74726976u /**< "virt" read as a little-endian word */
#define VR_MMIO_VERSION_LEGACY 1u /**< pre-1.0 interface (QueuePFN) */
#define VR_MMIO_VERSION_MODERN 2u /**< virtio 1.x interface */

/* ---- InterruptStatus / InterruptACK bits ------------------------------ */
#define VR_MMIO_INT_VRING 0x1u  /**< a used buffer notification */
#define VR_MMIO_INT_CONFIG 0x2u /**< the configuration changed */

/* ---- Device status (section 2.1), bus independent ------------------- */
#define VR_VIRTIO_STATUS_ACKNOWLEDGE 0x01u /**< guest found the device */
#define VR_VIRTIO_STATUS_DRIVER 0x02u      /**< guest knows how to drive it */
#define VR_VIRTIO_STATUS_DRIVER_OK 0x04u   /**< driver is ready */
#define VR_VIRTIO_STATUS_FEATURES_OK 0x08u /**< feature negotiation done */
#define VR_VIRTIO_STATUS_NEEDS_RESET 0x40u /**< device hit an error */
#define VR_VIRTIO_STATUS_FAILED 0x80u      /**< driver gave up */

/* ---- Device ids (section 5) used by the examples and tests ------------ */
#define VR_VIRTIO_ID_NET 1u
#define VR_VIRTIO_ID_BLOCK 2u
#define VR_VIRTIO_ID_CONSOLE 3u
#define VR_VIRTIO_ID_RNG 4u
#define VR_VIRTIO_ID_BALLOON 5u

/* ---- Reserved (device-independent) feature bit numbers (section 6) ----
 * The ring features (INDIRECT_DESC, EVENT_IDX, VERSION_1, RING_PACKED,
 * IN_ORDER, RING_RESET) are in <vring/layout.h> as VR_F_*; the guard lets
 * both headers be included in either order. */
#ifndef VR_F_INDIRECT_DESC
#define VR_F_INDIRECT_DESC 28
#define VR_F_EVENT_IDX 29
#define VR_F_VERSION_1 32
#define VR_F_RING_PACKED 34
#define VR_F_IN_ORDER 35
#define VR_F_RING_RESET 40
#endif
#define VR_F_NOTIFY_ON_EMPTY 24    /**< legacy: notify when the ring empties */
#define VR_F_ANY_LAYOUT 27         /**< legacy: any descriptor layout */
#define VR_F_ACCESS_PLATFORM 33    /**< device behind an IOMMU / restricted DMA */
#define VR_F_ORDER_PLATFORM 36     /**< needs platform (not SMP) barriers */
#define VR_F_SR_IOV 37             /**< PCI SR-IOV */
#define VR_F_NOTIFICATION_DATA 38  /**< driver sends extra data on notify */
#define VR_F_NOTIF_CONFIG_DATA 39  /**< device-chosen notification value */
#define VR_F_TRANSPORT_FIRST 28    /**< first reserved (transport) bit */
#define VR_F_TRANSPORT_LAST 40     /**< last reserved bit in virtio 1.2 */

#endif /* VRING_VIRTIO_MMIO_REGS_H */
