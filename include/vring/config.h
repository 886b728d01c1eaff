/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/config.h
 * @brief Compile-time configuration: which ring formats, roles and
 *        optional features a build of libvring carries.
 *
 * An RTOS image that is only ever the device end of split rings need not
 * carry the packed format or the driver role, nor policies it never sets:
 * built with
 *
 *     -DVR_CONFIG_PACKED=0 -DVR_CONFIG_DRIVER=0 -DVR_CONFIG_NOTIFY_POLICIES=0
 *     -DVR_CONFIG_INDIRECT=0 -DVR_CONFIG_STATS=0 -DVR_CONFIG_CACHE_HOOKS=0
 *
 * the channel's dispatch on format and role folds to one branch and the
 * linker drops the rest (scripts/size.sh shows what each configuration
 * costs). What is left out is refused, never changed in silence:
 * vr_chan_open() returns VR_ENOTSUP for a region whose format, or a
 * transport whose role, this build does not carry (and vr_chan_state_size()
 * returns 0 for them), and so do the policy calls for a policy left out.
 * Validation is never configurable.
 *
 * Every switch defaults to 1 (everything, as without this header). The
 * same values must be used for the library and for the code that includes
 * its headers. Freestanding: only the preprocessor.
 *
 * The formats, roles and policies concern the channel only: an application
 * that calls the ring functions (split.h, packed.h) directly links only
 * those it calls. Indirect descriptors and cache hooks concern the ring
 * core as well (its queues refuse them at init).
 */
#ifndef VRING_CONFIG_H
#define VRING_CONFIG_H

/** The split ring format (virtio 1.2 section 2.7) in the channel. */
#ifndef VR_CONFIG_SPLIT
#define VR_CONFIG_SPLIT 1
#endif
/** The packed ring format (section 2.8) in the channel. */
#ifndef VR_CONFIG_PACKED
#define VR_CONFIG_PACKED 1
#endif
/** The driver role (adds buffers, owns the pool) in the channel. */
#ifndef VR_CONFIG_DRIVER
#define VR_CONFIG_DRIVER 1
#endif
/** The device role (takes chains, returns them used) in the channel. */
#ifndef VR_CONFIG_DEVICE
#define VR_CONFIG_DEVICE 1
#endif

/** Notification and wait policies beyond the default (vring/channel.h):
 *  VR_NOTIFY_ALWAYS, batching, coalescing (and its clock), and the POLL and
 *  ADAPTIVE waits. Without them an end rings when the peer asked and
 *  sleeps on the transport's doorbell; setting any other policy returns
 *  VR_ENOTSUP. */
#ifndef VR_CONFIG_NOTIFY_POLICIES
#define VR_CONFIG_NOTIFY_POLICIES 1
#endif

/** Indirect descriptors (VIRTIO_F_INDIRECT_DESC, section 2.7.5.3). Without
 *  them no queue carries the feature: a vr_queue_cfg that asks for it is
 *  refused at init (VR_ENOTSUP), the channel neither asks for it as a
 *  driver nor accepts it as a device (vr_chan_open: VR_ENOTSUP), the
 *  driver's *_add_indirect calls return VR_ENOTSUP, and a device meets an
 *  INDIRECT descriptor exactly as on a queue that did not negotiate the
 *  feature: VR_EINDIRECT, and the queue is broken. The table walk is not
 *  compiled. */
#ifndef VR_CONFIG_INDIRECT
#define VR_CONFIG_INDIRECT 1
#endif

/** The channel's statistics: its counters (vr_chan_get_stats(),
 *  vr_chan_get_queue_stats()) and the copies it writes into the region's
 *  statistics records (vringctl shows them). Without them the two calls
 *  zero what they fill and return VR_ENOTSUP, nothing is counted, and this
 *  end never writes its records in the region (they keep what the region's
 *  creator wrote: zeros). A protocol error is still reported in the
 *  region header (NEEDS_RESET in this side's status). The ring core's own
 *  counters (vr_split_dev.notifies...) are not affected. */
#ifndef VR_CONFIG_STATS
#define VR_CONFIG_STATS 1
#endif

/** Cache-maintenance hooks (vring/mem.h: vr_mem.clean, vr_mem.invalidate)
 *  for shared memory that is not coherent. Without them the hook calls
 *  compile to nothing, and a vr_queue_cfg whose mem sets either hook is
 *  refused at init (VR_ENOTSUP): memory that needs them cannot be used by
 *  mistake. The address translation (window or callback) is unaffected. */
#ifndef VR_CONFIG_CACHE_HOOKS
#define VR_CONFIG_CACHE_HOOKS 1
#endif

#if !VR_CONFIG_SPLIT && !VR_CONFIG_PACKED
#error "libvring: VR_CONFIG_SPLIT and VR_CONFIG_PACKED are both 0: no ring format left"
#endif
#if !VR_CONFIG_DRIVER && !VR_CONFIG_DEVICE
#error "libvring: VR_CONFIG_DRIVER and VR_CONFIG_DEVICE are both 0: no role left"
#endif

#endif /* VRING_CONFIG_H */
