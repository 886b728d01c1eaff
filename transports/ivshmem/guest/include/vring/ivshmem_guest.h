/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/ivshmem_guest.h
 * @brief The guest peer of the ivshmem transport: a Linux guest process
 *        reaches a libvring region through QEMU's ivshmem PCI device.
 *
 * The device (PCI 1af4:1110, registers in vring/ivshmem_regs.h) shows the
 * shared memory as BAR2; the libvring region (docs/REGION.md) starts at its
 * first byte. With ivshmem-doorbell the guest has a peer id (IVPosition),
 * rings other peers by writing the Doorbell register, and is rung on its
 * MSI-X vectors. Vector q carries the doorbell of queue q: a side rings the
 * peer's vector q when there is work in queue q for it, and waits on its own
 * vector q (docs/TRANSPORT_IVSHMEM.md).
 *
 * This file finds the device through sysfs, maps BAR0 and BAR2, and takes
 * the interrupts to userspace through VFIO: with an IOMMU (QEMU
 * `-device intel-iommu,intremap=on`, guest `intel_iommu=on`) and the
 * vfio-pci and vfio_iommu_type1 modules loaded, it binds the device to
 * vfio-pci, routes every MSI-X vector to an eventfd and sets the PCI Bus
 * Master bit (without it QEMU drops the MSI-X writes). Where that is not
 * possible it still rings through the Doorbell register but waits by
 * polling, and says so (vr_ivshmem_guest_irq_mode(), and the reason in
 * vr_ivshmem_guest_irq_note()); VR_IVSHMEM_GUEST_REQUIRE_IRQ turns the
 * fall-back into an error. ivshmem-plain has no doorbells: the transport
 * polls (VR_TRANSPORT_POLLING).
 *
 * Liveness: the guest cannot see the server's join and leave messages, so
 * both sides keep their heartbeat in the region header moving
 * (docs/REGION.md §6) and a side whose heartbeat stands still for the
 * liveness timeout is dead. The device end also treats a change of the
 * region's generation as the driver starting a new session.
 *
 * Nothing the device or the shared memory says is trusted: the BAR sizes are
 * checked against the region, IVPosition against the 16-bit id range, the
 * region header with vr_region_parse() (once, into a private copy), the peer
 * id the other side publishes against the same range, on every use.
 *
 * Threads: open, attach_peer and close must not run concurrently with any other
 * call on the same object. Between open and close the transport ops follow
 * vring/transport.h. Each object runs one background thread (heartbeat and
 * liveness watch). No global state.
 *
 * Errors: every call returns 0 or a negative VR_E* code and leaves a
 * one-line English explanation in vr_ivshmem_guest_last_error().
 */
#ifndef VRING_IVSHMEM_GUEST_H
#define VRING_IVSHMEM_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include <vring/errors.h>
#include <vring/ivshmem_regs.h>
#include <vring/region.h>
#include <vring/transport.h>

VR_EXTERN_C_BEGIN

/** struct vr_ivshmem_guest_cfg.flags. */
enum vr_ivshmem_guest_flags {
	/** Never use doorbells (not even on ivshmem-doorbell): poll, with
	 *  heartbeat liveness. Implied on ivshmem-plain. */
	VR_IVSHMEM_GUEST_POLLING = 1u << 0,
	/** Do not take interrupts through VFIO: ring through the Doorbell
	 *  register, wait by polling. */
	VR_IVSHMEM_GUEST_NO_VFIO = 1u << 1,
	/** Fail with VR_EDEVICE instead of falling back to polling waits when
	 *  the device has doorbells but no interrupt path works. */
	VR_IVSHMEM_GUEST_REQUIRE_IRQ = 1u << 2,
	/** Driver only: lay the region out in BAR2 (vr_region_format() with
	 *  cfg.region) instead of using the one already there. */
	VR_IVSHMEM_GUEST_FORMAT = 1u << 3
};

/** How this end learns that the peer rang (vr_ivshmem_guest_irq_mode). */
enum vr_ivshmem_guest_irq {
	VR_IVSHMEM_GUEST_IRQ_NONE = 0, /**< polling: no doorbells at all */
	VR_IVSHMEM_GUEST_IRQ_POLL = 1, /**< rings the peer, but waits by polling */
	VR_IVSHMEM_GUEST_IRQ_VFIO = 2  /**< MSI-X through VFIO to eventfds */
};

/** "Find the peer's id in the region" for cfg.peer_id. */
#define VR_IVSHMEM_GUEST_PEER_AUTO 0xffffffffu
/** Default heartbeat period of the guest end. */
#define VR_IVSHMEM_GUEST_HEARTBEAT_DEFAULT_NS 10000000ull
/** Default liveness timeout: generous, because an emulated guest (TCG) on
 *  a loaded host can stall for a few hundred milliseconds. */
#define VR_IVSHMEM_GUEST_LIVENESS_DEFAULT_NS 1000000000ull
/** Bytes of struct vr_ivshmem_guest.err and the note buffers. */
#define VR_IVSHMEM_GUEST_ERR_BYTES 192

/** What the guest end needs. Zero-initialise, then fill. */
struct vr_ivshmem_guest_cfg {
	/** PCI address ("0000:00:01.0"); NULL: the first 1af4:1110 device. */
	const char *pci_addr;
	uint32_t role;  /**< VR_ROLE_DRIVER or VR_ROLE_DEVICE */
	uint32_t flags; /**< enum vr_ivshmem_guest_flags */
	/** The other side's peer id for doorbells (its server id: a host peer
	 *  prints vr_ivshmem_own_id()), or VR_IVSHMEM_GUEST_PEER_AUTO: every
	 *  other id below 16 is rung (bystanders get spurious wakeups, which
	 *  vring/transport.h allows). 0 is a valid id: set this field. */
	uint32_t peer_id;
	/** VR_IVSHMEM_GUEST_FORMAT: the region to lay out. */
	const struct vr_region_cfg *region;
	uint64_t heartbeat_ns;        /**< 0: VR_IVSHMEM_GUEST_HEARTBEAT_DEFAULT_NS */
	uint64_t liveness_timeout_ns; /**< 0: VR_IVSHMEM_GUEST_LIVENESS_DEFAULT_NS */
	/** How long open waits for a region to appear in BAR2 (the server or
	 *  the driver lays it out) and for IVPosition to be set. */
	uint64_t open_timeout_ns;
	/** Where sysfs is mounted (NULL: "/sys"): for containers, and for
	 *  tests that present a fake device. */
	const char *sysfs_root;
};

struct vr__ivg;

/** One guest end. The caller owns the storage. */
struct vr_ivshmem_guest {
	struct vr_transport t; /**< first: what the channel gets (&g->t) */
	struct vr__ivg *p;     /**< private state */
	char err[VR_IVSHMEM_GUEST_ERR_BYTES];
};

/**
 * @brief Find the device, map it, set up the interrupt path, and attach to
 *        the region in BAR2.
 *
 * Driver: the region must be there (laid out by the server) unless
 * VR_IVSHMEM_GUEST_FORMAT; opening starts a new session (driver status
 * cleared, generation changed). Device: waits (open_timeout_ns, default
 * 10 s) for a valid region. Either way the heartbeat thread starts and no
 * peer is bound yet (peer_state VR_PEER_WAITING): call
 * vr_ivshmem_guest_attach_peer(). (The channel's vr_chan_open() on a device
 * returns VR_EAGAIN until the driver is ready.)
 * @return 0; VR_EINVAL (cfg); VR_ETIMEDOUT (no region or no IVPosition in
 *         time); VR_EDEVICE (no such device, a BAR missing or smaller than
 *         the region header page, IVPosition out of range, no interrupt
 *         path under REQUIRE_IRQ); VR_ETRUNC (BAR2 smaller than the region
 *         header says); VR_EMAGIC, VR_EVERSION, VR_EREGION (bad region);
 *         VR_EIO (the OS refused: sysfs, VFIO, mmap)
 */
int vr_ivshmem_guest_open(struct vr_ivshmem_guest *g,
			  const struct vr_ivshmem_guest_cfg *cfg);

/**
 * @brief Bind the channel's peer, waiting at most @p timeout_ns: until the
 *        peer's heartbeat in the region moves. Call it after open, and
 *        again after peer_state() said VR_EPEERDEAD (a driver resets its
 *        channel with vr_chan_reset(), a device opens its channel again).
 *        A device binds to the driver session whose generation it reads
 *        then; a driver that gave a device up has already changed the
 *        generation, so a stale device can tell.
 * @return 0 (peer_state VR_PEER_ALIVE); VR_ETIMEDOUT; VR_ESTATE (a bound
 *         peer is alive); VR_EINVAL
 */
int vr_ivshmem_guest_attach_peer(struct vr_ivshmem_guest *g, uint64_t timeout_ns);

/** @brief Stop the thread, unmap, release VFIO; safe on a failed open. */
void vr_ivshmem_guest_close(struct vr_ivshmem_guest *g);

/** @brief This guest's peer id (IVPosition), or -1 without one (plain). */
int vr_ivshmem_guest_id(const struct vr_ivshmem_guest *g);

/** @brief The peer id doorbells go to now, or -1 when none is known. */
int vr_ivshmem_guest_peer_id(const struct vr_ivshmem_guest *g);

/** @brief enum vr_ivshmem_guest_irq in force. */
int vr_ivshmem_guest_irq_mode(const struct vr_ivshmem_guest *g);

/** @brief Why there is no interrupt path ("" when there is one). */
const char *vr_ivshmem_guest_irq_note(const struct vr_ivshmem_guest *g);

/** @brief Doorbell interrupts received on vector @p v so far (VFIO). */
uint64_t vr_ivshmem_guest_irq_count(const struct vr_ivshmem_guest *g, uint32_t v);

/** @brief Doorbells this end wrote to the Doorbell register. */
uint64_t vr_ivshmem_guest_rings(const struct vr_ivshmem_guest *g);

/** @brief The parsed region header (NULL before open). */
const struct vr_region_info *vr_ivshmem_guest_info(const struct vr_ivshmem_guest *g);

/** @brief One line on the last failure, "" if none. */
const char *vr_ivshmem_guest_last_error(const struct vr_ivshmem_guest *g);

/** @brief Why the peer is considered gone ("" while it is not). */
const char *vr_ivshmem_guest_peer_error(const struct vr_ivshmem_guest *g);

VR_EXTERN_C_END

#endif /* VRING_IVSHMEM_GUEST_H */
