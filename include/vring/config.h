/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/config.h
 * @brief Compile-time configuration of the channel: which ring formats and
 *        roles a build of libvring carries.
 *
 * An RTOS image that is only ever the device end of split rings need not
 * carry the packed format or the driver role, nor policies it never sets:
 * built with
 *
 *     -DVR_CONFIG_PACKED=0 -DVR_CONFIG_DRIVER=0 -DVR_CONFIG_NOTIFY_POLICIES=0
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
 * The ring core itself (split.h, packed.h) is not affected: an application
 * that calls the ring functions directly links only those it calls.
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

#if !VR_CONFIG_SPLIT && !VR_CONFIG_PACKED
#error "libvring: VR_CONFIG_SPLIT and VR_CONFIG_PACKED are both 0: no ring format left"
#endif
#if !VR_CONFIG_DRIVER && !VR_CONFIG_DEVICE
#error "libvring: VR_CONFIG_DRIVER and VR_CONFIG_DEVICE are both 0: no role left"
#endif

#endif /* VRING_CONFIG_H */
