/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/mmio_dev.h
 * @brief virtio-mmio version 2 device model (virtio 1.2 section 4.2.2): the
 *        register file a hypervisor or VMM exposes to a guest driver, and
 *        the libvring device-side queues it sets up from what the driver
 *        programs.
 *
 * The embedding code (a VMM's trap handler, a hypervisor's MMIO emulation,
 * a test) feeds every trapped access to vr_mmio_dev_read() and
 * vr_mmio_dev_write(). The model keeps the device status, the 64-bit
 * feature negotiation, the per-queue registers, InterruptStatus and
 * ConfigGeneration, and serves the device-specific configuration space
 * (offset 0x100 on) out of bytes the embedding code owns. When the driver
 * sets QueueReady, it translates the three ring areas through the caller's
 * struct vr_mem (guest-physical addresses to local pointers), checks them
 * and initialises a struct vr_split_dev or vr_packed_dev over them; the
 * embedding code gets those with vr_mmio_dev_split() / vr_mmio_dev_packed()
 * and runs the libvring device calls on them.
 *
 * The driver is not trusted. The model enforces the spec's rules: driver
 * features only before FEATURES_OK, which is refused when the driver took a
 * feature not offered or left out VERSION_1; status bits set in order and
 * never cleared except by writing 0 (reset); queue size and addresses only
 * while the queue is not ready, the size within 1..QueueNumMax (a power of
 * two for split rings), every ring area inside the memory the driver may
 * use, correctly aligned and not overlapping another. A refused write
 * changes nothing, returns a negative VR_E* code and counts as a
 * violation; after DRIVER_OK it also sets DEVICE_NEEDS_RESET and raises a
 * configuration change interrupt (section 2.1.2). Accesses the device has
 * no register for (unknown offsets, writes to read-only registers, reads of
 * write-only ones, widths other than 32 bits, a config access past the
 * window) are ignored, read as 0, and counted; they change no state.
 *
 * The embedding code learns about the driver through callbacks
 * (struct vr_mmio_dev_ops): QueueNotify writes, the interrupt line level,
 * queues becoming ready or being torn down, status changes, an optional
 * veto on the negotiated features and writes to the config space.
 *
 * Freestanding: no malloc, no libc beyond memcpy/memset; every byte comes
 * from the caller (the model object, its queue array, the per-queue private
 * state of vr_mmio_dev_queue_state_size() bytes and the config bytes).
 *
 * Threads: a model object is single-threaded. Every call on it (the
 * register accesses from vCPU traps and the queue and interrupt calls from
 * the device back end) must be serialised by the caller, for example by one
 * lock per device. Callbacks run on the calling thread, inside that lock;
 * they may call every function of this header except vr_mmio_dev_read(),
 * vr_mmio_dev_write() and vr_mmio_dev_init(). The queues returned by
 * vr_mmio_dev_split()/vr_mmio_dev_packed() follow vring/split.h and
 * vring/packed.h: they run concurrently with the guest driver; the model
 * forgets them (reset, QueueReady 0, QueueReset) only after telling the back
 * end through ops->queue_state(ready = 0).
 */
#ifndef VRING_MMIO_DEV_H
#define VRING_MMIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vring/errors.h>
#include <vring/mem.h>
#include <vring/packed.h>
#include <vring/split.h>
#include <vring/virtio_mmio_regs.h>

VR_EXTERN_C_BEGIN

/** Largest device-specific config space the model serves: offsets 0x100
 *  to 0xfff, so a device fits one 4 KiB page. */
#define VR_MMIO_DEV_CONFIG_MAX 0xf00u

/** Most queues one device may have (QueueNotify with NOTIFICATION_DATA
 *  carries a 16-bit queue index). */
#define VR_MMIO_DEV_QUEUES_MAX 0xffffu

/**
 * Callbacks into the embedding code. Every member may be NULL. All run on
 * the thread that called into the model (see the thread notes above).
 */
struct vr_mmio_dev_ops {
	/**
	 * The driver wrote QueueNotify for a ready @p queue of a live device
	 * (DRIVER_OK set, neither FAILED nor DEVICE_NEEDS_RESET). @p value
	 * is the raw register value (with VIRTIO_F_NOTIFICATION_DATA it
	 * carries next_off/next_wrap in bits 16-31).
	 */
	void (*notify)(void *ctx, uint32_t queue, uint32_t value);
	/** The interrupt line changes level: 1 when InterruptStatus became
	 *  non-zero, 0 when the driver acknowledged the last bit or reset the
	 *  device (a level-triggered line, as on QEMU's -M virt). */
	void (*irq)(void *ctx, int level);
	/** @p queue became ready (1) or was torn down (0) by QueueReady 0,
	 *  QueueReset or a device reset. After a 0 the back end must drop
	 *  every pointer into the queue's rings and buffers. */
	void (*queue_state)(void *ctx, uint32_t queue, int ready);
	/** The status register changed from @p old_status to @p new_status
	 *  (0 = reset, after the queues were torn down). */
	void (*status)(void *ctx, uint32_t old_status, uint32_t new_status);
	/** Optional veto when the driver sets FEATURES_OK: return 0 to accept
	 *  @p features (already checked to be offered and to contain
	 *  VERSION_1), anything else to refuse (FEATURES_OK stays clear). */
	int (*accept_features)(void *ctx, uint64_t features);
	/** A driver write of @p size (1, 2 or 4) bytes at @p offset into the
	 *  config space (inside the window, naturally aligned). Return 0 when
	 *  taken (the callback updates the config bytes itself if it wants
	 *  the change to read back), negative to ignore it. NULL: the config
	 *  space is read-only and such writes are ignored. */
	int (*config_write)(void *ctx, uint32_t offset, unsigned size,
			    uint32_t value);
};

/** What the embedding code says about one queue (vr_mmio_dev_cfg.queue). */
struct vr_mmio_dev_queue_cfg {
	/** QueueNumMax: 0 = the queue is not available, else 1..32768. A
	 *  value that is not a power of two still lets a split driver pick
	 *  any power of two below it. */
	uint32_t num_max;
	/** Private state for the libvring queue: at least
	 *  vr_mmio_dev_queue_state_size(num_max) bytes, pointer-aligned. */
	void *state;
	size_t state_len;
	/** Longest indirect table accepted (see vr_queue_cfg.max_indirect);
	 *  0 = the queue size. */
	uint32_t max_indirect;
};

/** The model's view of one queue. Private: use the functions. */
struct vr_mmio_dev_queue {
	union {
		struct vr_split_dev split;
		struct vr_packed_dev packed;
	} ring;
	void *state;
	size_t state_len;
	uint32_t num_max;
	uint32_t max_indirect;
	uint32_t num;     /* QueueNum as last written (default num_max) */
	uint64_t desc;    /* QueueDesc{Low,High} */
	uint64_t driver;  /* QueueDriver{Low,High} */
	uint64_t device;  /* QueueDevice{Low,High} */
	int error;        /* why the last QueueReady 1 was refused, or 0 */
	bool ready;
	bool packed;      /* format of the ring set up (when ready) */
};

/** Counters the model keeps (plain, owned by the model's thread). */
struct vr_mmio_dev_stats {
	uint64_t reads;          /**< every vr_mmio_dev_read() */
	uint64_t writes;         /**< every vr_mmio_dev_write() */
	uint64_t ignored_reads;  /**< unknown offset, write-only register,
	                              bad width or alignment: read as 0 */
	uint64_t ignored_writes; /**< unknown offset, read-only register, bad
	                              width or alignment, refused config write */
	uint64_t violations;     /**< refused state-changing writes */
	uint64_t features_refused; /**< FEATURES_OK refused */
	uint64_t notifies;       /**< QueueNotify passed to ops->notify */
	uint64_t notifies_dropped; /**< QueueNotify for no ready queue, or
	                                before DRIVER_OK, or after an error */
	uint64_t interrupts;     /**< InterruptStatus bits raised */
	uint64_t resets;         /**< device resets (status 0) */
	uint64_t needs_reset;    /**< times DEVICE_NEEDS_RESET was set */
};

/** Device description for vr_mmio_dev_init(). */
struct vr_mmio_dev_cfg {
	uint32_t device_id; /**< DeviceID (section 5), non-zero */
	uint32_t vendor_id; /**< VendorID */
	/** Features offered (DeviceFeatures); must contain VERSION_1. The
	 *  ring format follows the driver's choice of RING_PACKED. */
	uint64_t features;
	/** Guest memory as the device sees it: the ring areas and every
	 *  buffer are translated through it (copied at init). */
	struct vr_mem mem;
	/** Device-specific config space (little-endian bytes as the spec
	 *  lays them out), read at offset 0x100 on; may be NULL when
	 *  @c config_len is 0. The embedding code may change it between
	 *  calls, then calls vr_mmio_dev_config_changed(). */
	void *config;
	uint32_t config_len; /**< bytes, at most VR_MMIO_DEV_CONFIG_MAX */
	uint32_t num_queues; /**< at most VR_MMIO_DEV_QUEUES_MAX */
	/** num_queues entries (read at init only). */
	const struct vr_mmio_dev_queue_cfg *queue;
	/** num_queues entries of storage for the model (caller memory). */
	struct vr_mmio_dev_queue *queues;
	const struct vr_mmio_dev_ops *ops; /**< may be NULL (copied) */
	void *ctx; /**< passed to every callback */
};

/** A virtio-mmio device model. Fields are private: use the functions. */
struct vr_mmio_dev {
	struct vr_mmio_dev_queue *queues;
	uint32_t num_queues;
	uint32_t device_id;
	uint32_t vendor_id;
	uint64_t offered;       /* DeviceFeatures */
	uint64_t drv_features;  /* DriverFeatures as written (bits 0-63) */
	uint64_t negotiated;    /* accepted at FEATURES_OK, else 0 */
	uint32_t drv_beyond;    /* DriverFeaturesSel 2..31 holding non-zero bits */
	bool drv_beyond_far;    /* a selector >= 32 got non-zero bits */
	uint32_t dev_feat_sel;
	uint32_t drv_feat_sel;
	uint32_t queue_sel;
	uint32_t shm_sel;
	uint32_t status;
	uint32_t isr;           /* InterruptStatus */
	uint32_t generation;    /* ConfigGeneration */
	int last_error;         /* last refused write's code, or 0 */
	struct vr_mem mem;
	unsigned char *config;
	uint32_t config_len;
	struct vr_mmio_dev_ops ops;
	void *ctx;
	struct vr_mmio_dev_stats stats;
};

/**
 * @brief Bytes of private state one queue of up to @p num_max entries
 *        needs (split or packed, whichever the driver picks).
 * @return the size, or 0 when @p num_max is not 1..32768
 */
size_t vr_mmio_dev_queue_state_size(uint32_t num_max);

/**
 * @brief Set up a model in its reset state (status 0, no queue ready).
 *        Calls no callback.
 * @return 0; VR_EINVAL for a NULL @p dev or @p cfg, a device id of 0,
 *         offered features without VERSION_1, more than
 *         VR_MMIO_DEV_QUEUES_MAX queues or queues without storage or
 *         config, a QueueNumMax above 32768, a max_indirect above 32768,
 *         a config space above VR_MMIO_DEV_CONFIG_MAX or NULL with a
 *         length; VR_ERANGE when a queue's state is smaller than
 *         vr_mmio_dev_queue_state_size(num_max); VR_EALIGN when a state
 *         buffer is not pointer-aligned
 */
int vr_mmio_dev_init(struct vr_mmio_dev *dev, const struct vr_mmio_dev_cfg *cfg);

/**
 * @brief A trapped driver read of @p size bytes at @p offset from the
 *        device's base.
 *
 * Registers below 0x100 take 32-bit aligned reads only; the config space
 * takes 1, 2 and 4 bytes naturally aligned inside config_len. Anything
 * else reads 0 and counts in stats.ignored_reads, as do reads of the
 * write-only registers.
 * @return the register value (little-endian value of the config bytes)
 */
uint32_t vr_mmio_dev_read(struct vr_mmio_dev *dev, uint32_t offset,
			  unsigned size);

/**
 * @brief A trapped driver write of @p value (@p size bytes) at @p offset.
 *
 * May call ops->notify, irq, queue_state, status, accept_features and
 * config_write before it returns.
 * @return 0 when the device took the write (the guest is never told:
 *         the codes are for the embedding code's logs and tests);
 *         ignored accesses, nothing changed:
 *         VR_EMMIOREG (unknown offset, read-only register, bad width or
 *         alignment, a config write outside the window or refused);
 *         refused writes, nothing changed, a violation (and after DRIVER_OK
 *         DEVICE_NEEDS_RESET): VR_ESTATE (not allowed in the current
 *         status: driver features after FEATURES_OK, queue registers while
 *         the queue is ready, status bits cleared or set out of order, a
 *         queue enabled before FEATURES_OK or after FAILED or
 *         DEVICE_NEEDS_RESET), VR_EINVAL (a queue that does not exist, a
 *         value the register cannot take: QueueReady other than 0/1,
 *         QueueReset 0, undefined InterruptACK or status bits), VR_ERANGE
 *         (QueueNum 0 or above QueueNumMax, or not a power of two for a
 *         split ring at QueueReady), VR_EALIGN (a ring area misaligned,
 *         as a guest-physical address or, after translation, locally),
 *         VR_EFAULT (a ring area outside the memory the driver may use),
 *         VR_EOVERLAP (ring areas overlapping, in guest-physical or in
 *         local memory), VR_ENOTSUP (QueueReset
 *         without VIRTIO_F_RING_RESET), VR_EFEATURES (FEATURES_OK refused:
 *         the rest of the status write is taken, FEATURES_OK stays clear;
 *         counted in stats.features_refused, not a violation);
 *         QueueNotify not delivered (counted in stats.notifies_dropped,
 *         not a violation): VR_EAGAIN (device not live: before DRIVER_OK,
 *         after FAILED or DEVICE_NEEDS_RESET) or VR_EINVAL (no such
 *         queue, or not ready)
 */
int vr_mmio_dev_write(struct vr_mmio_dev *dev, uint32_t offset, unsigned size,
		      uint32_t value);

/**
 * @brief The split device queue @p queue, when the driver made it ready
 *        with a split ring and the device is live (DRIVER_OK set, neither
 *        FAILED nor DEVICE_NEEDS_RESET); NULL otherwise. The device must
 *        not consume buffers before DRIVER_OK (section 2.1.2).
 */
struct vr_split_dev *vr_mmio_dev_split(struct vr_mmio_dev *dev, uint32_t queue);

/** @brief As vr_mmio_dev_split(), for a packed ring. */
struct vr_packed_dev *vr_mmio_dev_packed(struct vr_mmio_dev *dev, uint32_t queue);

/**
 * @brief Raise a used-buffer notification: set VR_MMIO_INT_VRING in
 *        InterruptStatus (ops->irq(1) when the line was low).
 * @return 0; VR_EAGAIN when the device is not live (no used-buffer
 *         notification before DRIVER_OK, section 2.1.2)
 */
int vr_mmio_dev_interrupt_used(struct vr_mmio_dev *dev);

/**
 * @brief After completing chains on @p queue: publish them, and raise a
 *        used-buffer interrupt when the driver asked for one.
 * @return 1 when the interrupt was raised, 0 when the driver suppressed
 *         it; VR_EINVAL (no such queue or not ready); VR_EAGAIN (device not
 *         live); VR_EBROKEN when the ring was broken by a protocol
 *         violation (the model then sets DEVICE_NEEDS_RESET)
 */
int vr_mmio_dev_queue_publish(struct vr_mmio_dev *dev, uint32_t queue);

/**
 * @brief The embedding code changed the config bytes: ConfigGeneration
 *        moves on and, once DRIVER_OK is set, a configuration change
 *        interrupt (VR_MMIO_INT_CONFIG) is raised.
 */
void vr_mmio_dev_config_changed(struct vr_mmio_dev *dev);

/**
 * @brief The device hit an error it cannot recover from without a reset
 *        (e.g. a ring broken by the driver): set DEVICE_NEEDS_RESET and,
 *        after DRIVER_OK, raise a configuration change interrupt.
 *        Idempotent; nothing happens in the reset state (status 0).
 */
void vr_mmio_dev_set_needs_reset(struct vr_mmio_dev *dev);

/** @brief The status register (VR_VIRTIO_STATUS_* bits). */
VR_INLINE uint32_t vr_mmio_dev_status(const struct vr_mmio_dev *dev)
{
	return dev->status;
}

/** @brief Features accepted at FEATURES_OK, or 0 before. */
VR_INLINE uint64_t vr_mmio_dev_features(const struct vr_mmio_dev *dev)
{
	return dev->negotiated;
}

/** @brief True while DRIVER_OK is set and neither FAILED nor
 *         DEVICE_NEEDS_RESET is: the device may process its queues. */
VR_INLINE bool vr_mmio_dev_live(const struct vr_mmio_dev *dev)
{
	return (dev->status & (VR_VIRTIO_STATUS_DRIVER_OK |
			       VR_VIRTIO_STATUS_FAILED |
			       VR_VIRTIO_STATUS_NEEDS_RESET)) ==
	       VR_VIRTIO_STATUS_DRIVER_OK;
}

/** @brief The model's counters. */
VR_INLINE const struct vr_mmio_dev_stats *vr_mmio_dev_stats(const struct vr_mmio_dev *dev)
{
	return &dev->stats;
}

/** @brief The code the last refused or ignored write returned, or 0. */
VR_INLINE int vr_mmio_dev_last_error(const struct vr_mmio_dev *dev)
{
	return dev->last_error;
}

/**
 * @brief Why the last QueueReady 1 on @p queue was refused (VR_ERANGE,
 *        VR_EALIGN, VR_EFAULT, VR_EOVERLAP, VR_ESTATE...), 0 when it was
 *        not or the queue does not exist.
 */
int vr_mmio_dev_queue_error(const struct vr_mmio_dev *dev, uint32_t queue);

VR_EXTERN_C_END

#endif /* VRING_MMIO_DEV_H */
