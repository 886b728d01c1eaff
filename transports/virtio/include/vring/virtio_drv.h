/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/virtio_drv.h
 * @brief A bus-independent virtio 1.x driver core: device status handshake,
 *        64-bit feature negotiation, config space reads under the config
 *        generation, virtqueue set-up on libvring's split and packed driver
 *        queues, per-queue reset and interrupt handling.
 *
 * The core talks to the device only through struct vr_virtio_bus_ops, a
 * dozen calls every virtio transport has (virtio 1.2 section 4). virtio-mmio
 * is the first bus (<vring/virtio_mmio.h>, vr_mmio_bus_ops); virtio-pci
 * (modern) can be the second without changing this file.
 *
 * Freestanding: no libc, no allocation, no OS. The caller owns every byte:
 * the struct vr_virtio_dev, each struct vr_virtio_queue, the ring memory the
 * device reaches by DMA and the queue's private state. It runs as is on a
 * bare-metal Cortex-A with the MMU off (examples/baremetal_virtio) and in
 * the host tests against a simulated register file.
 *
 * The device is never trusted: every register value is checked (version,
 * features that change or were never offered, a QueueNumMax of 0 or above
 * VR_QUEUE_SIZE_MAX, a queue that is already live, status bits the device
 * drops, interrupt bits the spec does not define, a config generation that
 * never settles), and the used rings are validated by libvring's ring core,
 * which breaks the queue on the first violation. Each gives a distinct
 * negative VR_E* code; no call loops on a device value without a bound.
 *
 * Bring-up, in the order the spec requires (section 3.1.1):
 * @code
 * vr_virtio_init(&dev, &vr_mmio_bus_ops, &mmio, NULL);
 * vr_virtio_begin(&dev);                        // reset, ACKNOWLEDGE, DRIVER
 * vr_virtio_negotiate(&dev, wanted);            // FEATURES_OK, read back
 * vr_virtio_queue_setup(&dev, &rxq, 0, &qc);    // per queue, then
 * vr_virtio_driver_ok(&dev);                    // DRIVER_OK
 * @endcode
 * On any failure after begin, vr_virtio_fail() sets FAILED.
 *
 * Concurrency: a device and its queues belong to one thread of execution at
 * a time. On an RTOS or bare metal the interrupt handler
 * (vr_virtio_interrupt() then vr_virtio_queue_get_used()) and the thread
 * that adds buffers touch the same queue object: mask the device's
 * interrupt (or all interrupts) around the thread's queue calls.
 */
#ifndef VRING_VIRTIO_DRV_H
#define VRING_VIRTIO_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vring/errors.h>
#include <vring/layout.h>
#include <vring/packed.h>
#include <vring/queue.h>
#include <vring/split.h>

VR_EXTERN_C_BEGIN

/* ---- Device status bits and interrupt causes (section 2.1) ----------- */
#ifndef VR_VIRTIO_STATUS_ACKNOWLEDGE
#define VR_VIRTIO_STATUS_ACKNOWLEDGE 0x01u
#define VR_VIRTIO_STATUS_DRIVER 0x02u
#define VR_VIRTIO_STATUS_DRIVER_OK 0x04u
#define VR_VIRTIO_STATUS_FEATURES_OK 0x08u
#define VR_VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VR_VIRTIO_STATUS_FAILED 0x80u
#endif
/** Interrupt causes as vr_virtio_interrupt() returns them (bus neutral). */
#define VR_VIRTIO_INT_VRING 0x1u  /**< some queue has used buffers */
#define VR_VIRTIO_INT_CONFIG 0x2u /**< the config space changed */

/** Ring and transport features this core can drive (besides device ones). */
#define VR_VIRTIO_DRV_FEATURES                                           \
	(VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_RING_PACKED) |      \
	 VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_INDIRECT_DESC) |    \
	 VR_FEATURE(VR_F_IN_ORDER) | VR_FEATURE(VR_F_RING_RESET) |        \
	 VR_FEATURE(33) /* ACCESS_PLATFORM: a to_bus hook translates */)

/** Feature bits 24..49, reserved for the queue and negotiation
 *  mechanisms (section 2.2): only those in VR_VIRTIO_DRV_FEATURES can be
 *  taken. Bits 0..23 and 50..63 are the device type's. */
#define VR_VIRTIO_TRANSPORT_MASK ((((uint64_t)1 << 26) - 1) << 24)

/** Largest config offset + length accepted (a 4 KiB page less 0x100). */
#define VR_VIRTIO_CONFIG_MAX 0xf00u

/** Bounds on device-driven loops (each a count of register reads). */
#define VR_VIRTIO_CONFIG_RETRIES 64u /**< config generation re-reads */
#define VR_VIRTIO_RESET_POLLS 100000u /**< status / QueueReset polls */

/** Most queues one device may have registered for interrupt handling. */
#define VR_VIRTIO_MAX_QUEUES 8u

/**
 * The bus: how the core reaches one device's registers. Every call gets
 * the @c ctx given to vr_virtio_init(). Calls on a queue take its index and
 * select it themselves (virtio-mmio QueueSel, virtio-pci queue_select).
 * Reads return what the device says, unchecked: the core checks.
 */
struct vr_virtio_bus_ops {
	uint8_t (*get_status)(void *ctx);
	/** Writing 0 resets the device. */
	void (*set_status)(void *ctx, uint8_t status);
	/** 64 feature bits (two 32-bit halves read through the selector). */
	uint64_t (*get_device_features)(void *ctx);
	void (*set_driver_features)(void *ctx, uint64_t features);
	uint32_t (*config_generation)(void *ctx);
	/** Read @p width (1, 2 or 4) bytes at config offset @p off,
	 *  naturally aligned; the value as the device presents it (LE). */
	uint32_t (*config_read)(void *ctx, uint32_t off, unsigned width);
	void (*config_write)(void *ctx, uint32_t off, uint32_t val,
			     unsigned width);
	/** QueueNumMax of queue @p q (0: the queue does not exist). */
	uint32_t (*queue_num_max)(void *ctx, uint16_t q);
	/** Program size and the three area bus addresses of queue @p q. */
	void (*queue_program)(void *ctx, uint16_t q, uint32_t num,
			      uint64_t desc, uint64_t driver, uint64_t device);
	void (*queue_set_ready)(void *ctx, uint16_t q, uint32_t ready);
	uint32_t (*queue_get_ready)(void *ctx, uint16_t q);
	/** Ask for a reset of queue @p q (RING_RESET); NULL if unsupported. */
	void (*queue_reset)(void *ctx, uint16_t q);
	/** The queue-reset register of queue @p q: 1 while a reset is
	 *  ongoing, 0 once it is complete (and when no reset was asked). */
	uint32_t (*queue_reset_busy)(void *ctx, uint16_t q);
	/** Available-buffer notification for queue @p q. */
	void (*notify)(void *ctx, uint16_t q);
	/** Interrupt cause bits (VR_VIRTIO_INT_* on both buses). */
	uint32_t (*isr_read)(void *ctx);
	/** Acknowledge cause bits (virtio-pci: reading acked them; no-op). */
	void (*isr_ack)(void *ctx, uint32_t bits);
};

/** Translate a local pointer to the address the device uses (DMA). */
typedef uint64_t (*vr_virtio_to_bus_fn)(void *ctx, const void *p);

struct vr_virtio_queue;

/** Counters the core keeps about the device (plain: one owner). */
struct vr_virtio_stats {
	uint64_t interrupts;     /**< vr_virtio_interrupt() calls that found a cause */
	uint64_t spurious;       /**< ... that found none */
	uint64_t config_changes; /**< configuration change interrupts */
	uint64_t config_retries; /**< config reads repeated for a new generation */
};

/** One virtio device. Fields are private: use the functions. */
struct vr_virtio_dev {
	const struct vr_virtio_bus_ops *ops;
	void *bus;
	vr_virtio_to_bus_fn to_bus;
	void *to_bus_ctx;
	uint64_t device_features; /* offered, read at begin */
	uint64_t features;        /* negotiated, valid after negotiate */
	uint8_t status;           /* what the driver last wrote */
	int broken;               /* 0, or the code that stopped the device */
	struct vr_virtio_queue *queues[VR_VIRTIO_MAX_QUEUES];
	struct vr_virtio_stats stats;
};

/** What the caller gives for one queue. */
struct vr_virtio_queue_cfg {
	/** Wanted size; the core takes min(num, QueueNumMax), rounded down
	 *  to a power of two for split rings. */
	uint32_t num;
	/** DMA-able ring memory for vr_virtio_queue_mem_size() bytes,
	 *  16-byte aligned (4096 is kind to IOMMUs). */
	void *ring;
	size_t ring_len;
	/** Private state of vr_virtio_queue_state_size() bytes, pointer aligned. */
	void *state;
	size_t state_len;
	/** VR_QF_* for the ring core; packed queues always get
	 *  VR_QF_USED_LEN_WITHOUT_WRITE (QEMU needs it). */
	uint32_t flags;
	struct vr_mem mem;   /**< cache hooks; zeroed = coherent memory */
};

/** One virtqueue of a device. Fields are private: use the functions. */
struct vr_virtio_queue {
	struct vr_virtio_dev *dev;
	union {
		struct vr_split_drv split;
		struct vr_packed_drv packed;
	} q;
	void *ring;
	size_t ring_len;
	uint64_t desc_bus, driver_bus, device_bus;
	uint32_t num;
	uint16_t index;
	bool packed;
	bool ready;
	uint64_t notifies; /**< notifications sent to the device */
};

/**
 * @brief Bind a device object to its bus. Touches no register.
 * @param to_bus pointer to bus address translation; NULL = identity (the
 *        pointer's value, as on bare metal with the MMU off)
 * @return 0; VR_EINVAL (NULL @p d or @p ops, or an op missing)
 */
int vr_virtio_init(struct vr_virtio_dev *d, const struct vr_virtio_bus_ops *ops,
		   void *bus, vr_virtio_to_bus_fn to_bus, void *to_bus_ctx);

/**
 * @brief Reset the device, wait for the reset to complete (status reads 0),
 *        set ACKNOWLEDGE then DRIVER, and read the offered features.
 * @return 0; VR_ETIMEDOUT (status never read 0 after the reset);
 *         VR_ENEEDSRESET (the device set DEVICE_NEEDS_RESET or dropped a
 *         status bit); VR_EDEVICE (two reads of the features differ);
 *         VR_ELEGACY (VERSION_1 not offered: a legacy-only device);
 *         VR_EINVAL. On failure after the reset FAILED is set.
 */
int vr_virtio_begin(struct vr_virtio_dev *d);

/** @brief The features the device offered (valid after begin). */
VR_INLINE uint64_t vr_virtio_device_features(const struct vr_virtio_dev *d)
{
	return d->device_features;
}

/** @brief The negotiated features (valid after negotiate). */
VR_INLINE uint64_t vr_virtio_features(const struct vr_virtio_dev *d)
{
	return d->features;
}

/**
 * @brief Negotiate: accept offered & @p wanted, where of the ring and
 *        transport bits only those in VR_VIRTIO_DRV_FEATURES can be taken
 *        (VERSION_1 always is), write them, set FEATURES_OK and read it
 *        back (section 3.1.1 step 5-6).
 * @param wanted device-specific bits the caller's driver understands plus
 *        the ring features it wants (e.g. VR_FEATURE(VR_F_RING_PACKED))
 * @return 0; VR_EFEATURES (the device cleared FEATURES_OK: it refuses this
 *         subset); VR_EDEVICE (the offer changed since begin, or a bit
 *         turned up after FEATURES_OK); VR_ENEEDSRESET; VR_ESTATE (begin
 *         not done, or negotiated already); VR_EBROKEN; VR_EINVAL.
 *         On failure FAILED is set.
 */
int vr_virtio_negotiate(struct vr_virtio_dev *d, uint64_t wanted);

/**
 * @brief Read @p len bytes of device config at @p off into @p buf, the
 *        whole read repeated until the config generation is the same
 *        before and after it (at most VR_VIRTIO_CONFIG_RETRIES times).
 * @return 0; VR_ECONFIGGEN (the generation never settled); VR_EINVAL
 *         (NULL, or off + len above VR_VIRTIO_CONFIG_MAX); VR_ESTATE
 *         (before begin); VR_EBROKEN
 */
int vr_virtio_config_read(struct vr_virtio_dev *d, uint32_t off, void *buf,
			  size_t len);

/** @brief Write @p len config bytes at @p off (1, 2 or 4 aligned units).
 *  @return 0; VR_EINVAL; VR_EBROKEN */
int vr_virtio_config_write(struct vr_virtio_dev *d, uint32_t off,
			   const void *buf, size_t len);

/** @brief Ring bytes a queue of @p num entries needs with @p features
 *         (split: desc, avail, used at 4-byte alignment; packed: ring and
 *         two event areas); 0 for a size the format cannot have. */
size_t vr_virtio_queue_mem_size(uint64_t features, uint32_t num);

/** @brief Private state bytes for the same queue. */
size_t vr_virtio_queue_state_size(uint64_t features, uint32_t num);

/**
 * @brief Set up queue @p index: check it is not live, read QueueNumMax,
 *        choose the size, initialise libvring's split or packed driver
 *        queue (by the negotiated RING_PACKED) in the caller's memory,
 *        program size and addresses, set QueueReady and read it back.
 *        Call after negotiate and before driver_ok (or after a queue
 *        reset, to enable it again).
 * @return the queue size (> 0); VR_EQUEUE (QueueNumMax 0 or above
 *         VR_QUEUE_SIZE_MAX, the queue already ready, QueueReady not
 *         reading back 1); VR_ERANGE (ring or state memory too small for
 *         the size chosen); VR_EALIGN; VR_ESTATE (not negotiated yet);
 *         VR_EINVAL (index >= VR_VIRTIO_MAX_QUEUES, NULL); VR_EBROKEN
 */
int vr_virtio_queue_setup(struct vr_virtio_dev *d, struct vr_virtio_queue *vq,
			  uint16_t index, const struct vr_virtio_queue_cfg *cfg);

/**
 * @brief Set DRIVER_OK and check the device kept it.
 * @return 0; VR_ENEEDSRESET (DEVICE_NEEDS_RESET set, or a bit dropped);
 *         VR_EDEVICE (features offered changed); VR_ESTATE (not
 *         negotiated, or FAILED); VR_EBROKEN; VR_EINVAL. A failure marks
 *         the device broken and sets FAILED.
 */
int vr_virtio_driver_ok(struct vr_virtio_dev *d);

/** @brief Give up on the device: set FAILED (section 3.1.1 step 8). */
void vr_virtio_fail(struct vr_virtio_dev *d);

/** @brief Reset the whole device (status 0, bounded wait) and forget its
 *  queues; begin must run again. @return 0; VR_ETIMEDOUT; VR_EINVAL */
int vr_virtio_reset(struct vr_virtio_dev *d);

/**
 * @brief Check the device status for DEVICE_NEEDS_RESET.
 * @return 0; VR_ENEEDSRESET (marks the device broken: reset it); the code
 *         that broke the device earlier (VR_ENEEDSRESET, VR_EDEVICE);
 *         VR_EINVAL
 */
int vr_virtio_check_status(struct vr_virtio_dev *d);

/**
 * @brief Interrupt entry: read the cause, acknowledge exactly what was
 *        read, then (for a config change) check for DEVICE_NEEDS_RESET.
 *        The caller then drains its queues with vr_virtio_queue_get_used()
 *        or vr_virtio_drain().
 * @return the VR_VIRTIO_INT_* causes (0: spurious); VR_EDEVICE when the
 *         cause holds bits the spec does not define (acknowledged all the
 *         same, so a level-triggered line drops: drain the queues
 *         anyway); VR_ENEEDSRESET (config change with DEVICE_NEEDS_RESET:
 *         the device is broken until reset); VR_EBROKEN; VR_EINVAL
 */
int vr_virtio_interrupt(struct vr_virtio_dev *d);

/** Called by vr_virtio_drain() for each used buffer. */
typedef void (*vr_virtio_used_fn)(void *ctx, struct vr_virtio_queue *vq,
				  const struct vr_used_buf *buf);

/**
 * @brief Collect every used buffer of every set-up queue, at most num per
 *        queue per call, calling @p fn for each.
 * @return buffers collected (>= 0), or the first ring violation (the queue
 *         is broken: VR_EUSEDIDX, VR_EUSEDID, VR_EUSEDLEN, VR_EBROKEN on
 *         later calls); VR_EINVAL (NULL @p d)
 */
int vr_virtio_drain(struct vr_virtio_dev *d, vr_virtio_used_fn fn, void *ctx);

/**
 * @brief Reset one queue (VIRTIO_F_RING_RESET, section 2.6.1): write 1 to
 *        QueueReset, wait (bounded) until it reads 0 again, check that
 *        QueueReady reads 0, then forget every buffer in flight and zero
 *        the ring. vr_virtio_queue_setup() enables it again.
 * @return 0; VR_ENOTSUP (RING_RESET not negotiated or the bus cannot);
 *         VR_ETIMEDOUT (QueueReset kept reading 1); VR_EQUEUE (the reset
 *         "completed" but the queue is still ready: the device did not
 *         reset it, and the queue stays as it was, usable); VR_EINVAL;
 *         VR_EBROKEN
 */
int vr_virtio_queue_reset(struct vr_virtio_queue *vq);

/* ---- Data path: thin dispatch onto the split or packed driver queue ---- */

/** @brief Add a chain (see vr_split_drv_add()); not visible until kick.
 *  @return head / buffer id >= 0; VR_ENOSPC; VR_EINVAL; VR_EBROKEN;
 *          VR_ESTATE (queue not set up, or reset) */
VR_INLINE int vr_virtio_queue_add(struct vr_virtio_queue *vq,
				  const struct vr_seg *seg, unsigned n_out,
				  unsigned n_in, void *cookie)
{
	if (VR_UNLIKELY(!vq->ready))
		return VR_ESTATE;
	return vq->packed ? vr_packed_drv_add(&vq->q.packed, seg, n_out, n_in, cookie)
			  : vr_split_drv_add(&vq->q.split, seg, n_out, n_in, cookie);
}

/**
 * @brief Publish what was added and notify the device if it asked for it
 *        (event index / flags after a full fence).
 * @return 1 when notified, 0 when suppressed; VR_EBROKEN; VR_ESTATE
 */
VR_INLINE int vr_virtio_queue_kick(struct vr_virtio_queue *vq)
{
	int need;

	if (VR_UNLIKELY(!vq->ready))
		return VR_ESTATE;
	need = vq->packed ? vr_packed_drv_kick_prepare(&vq->q.packed)
			  : vr_split_drv_kick_prepare(&vq->q.split);
	if (need > 0) {
		vq->dev->ops->notify(vq->dev->bus, vq->index);
		vq->notifies++;
	}
	return need;
}

/** @brief Collect one used buffer (validated by the ring core).
 *  @return 0; VR_EAGAIN; VR_EBROKEN; VR_EUSEDIDX, VR_EUSEDID, VR_EUSEDLEN
 *          (the queue is now broken); VR_ESTATE (not set up, or reset) */
VR_INLINE int vr_virtio_queue_get_used(struct vr_virtio_queue *vq,
				       struct vr_used_buf *out)
{
	if (VR_UNLIKELY(!vq->ready))
		return VR_ESTATE;
	return vq->packed ? vr_packed_drv_get_used(&vq->q.packed, out)
			  : vr_split_drv_get_used(&vq->q.split, out);
}

/** @brief Ask for used-buffer interrupts (flags, or used_event with
 *         EVENT_IDX), full fence, then look again.
 *  @return 1 when used buffers already wait, 0 when safe to sleep;
 *          VR_EBROKEN; VR_ESTATE (not set up, or reset) */
VR_INLINE int vr_virtio_queue_arm(struct vr_virtio_queue *vq)
{
	if (VR_UNLIKELY(!vq->ready))
		return VR_ESTATE;
	return vq->packed ? vr_packed_drv_arm_used_notify(&vq->q.packed)
			  : vr_split_drv_arm_used_notify(&vq->q.split);
}

/** @brief Ask the device not to interrupt for this queue (a hint). */
VR_INLINE void vr_virtio_queue_suppress(struct vr_virtio_queue *vq)
{
	if (!vq->ready)
		return;
	if (vq->packed)
		vr_packed_drv_suppress_used_notify(&vq->q.packed);
	else
		vr_split_drv_suppress_used_notify(&vq->q.split);
}

/** @brief Free ring descriptors right now. */
VR_INLINE unsigned vr_virtio_queue_free(const struct vr_virtio_queue *vq)
{
	return vq->packed ? vr_packed_drv_free(&vq->q.packed)
			  : vr_split_drv_free(&vq->q.split);
}

/** @brief 0, or the VR_E* code that broke the queue. */
VR_INLINE int vr_virtio_queue_broken(const struct vr_virtio_queue *vq)
{
	return vq->packed ? vr_packed_drv_broken(&vq->q.packed)
			  : vr_split_drv_broken(&vq->q.split);
}

/** @brief The ring core's counters of the queue. */
VR_INLINE const struct vr_queue_stats *
vr_virtio_queue_stats(const struct vr_virtio_queue *vq)
{
	return vq->packed ? vr_packed_drv_stats(&vq->q.packed)
			  : vr_split_drv_stats(&vq->q.split);
}

VR_EXTERN_C_END

#endif /* VRING_VIRTIO_DRV_H */
