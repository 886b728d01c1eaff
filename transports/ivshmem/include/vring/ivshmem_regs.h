/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/ivshmem_regs.h
 * @brief The registers of QEMU's ivshmem PCI device (BAR0) and the doorbell
 *        encoding, freestanding: for a Linux guest (transports/ivshmem/guest)
 *        and for an RTOS guest that finds the device with its own PCI
 *        enumeration and maps BAR0 and BAR2 itself.
 *
 * The device (PCI 1af4:1110, QEMU docs/specs/ivshmem-spec.rst) has three
 * BARs: BAR0 holds 256 bytes of 32-bit registers (this file), BAR1 the MSI-X
 * table (ivshmem-doorbell with MSI-X only), BAR2 the shared memory, which
 * holds the libvring region (vring/region.h) from its first byte.
 *
 * | offset | register   | access | meaning                                   |
 * |--------|------------|--------|-------------------------------------------|
 * | 0      | IntrMask   | r/w    | INTx only: bit 0 enables the interrupt    |
 * | 4      | IntrStatus | r/w    | INTx only: pending bits; a read clears    |
 * | 8      | IVPosition | r      | this guest's peer id (ivshmem-doorbell);  |
 * |        |            |        | 0xffffffff when it has none (not yet      |
 * |        |            |        | connected to the server, ivshmem-plain)   |
 * | 12     | Doorbell   | w      | (peer << 16) | vector rings that peer's   |
 * |        |            |        | vector                                    |
 *
 * Peer ids and vectors are 16-bit. Everything read from the device is
 * checked: a hypervisor is trusted to route doorbells, not to report sane
 * numbers, so an IVPosition outside the caller's range is an error, not an
 * index.
 *
 * Only <stdint.h> and <stddef.h> (through the vring headers); no libc, no OS.
 * Register accesses are single volatile 32-bit loads and stores of the
 * little-endian PCI registers. Threads: every function may be called from
 * any thread or interrupt handler; a doorbell write is one store, so two
 * threads may ring at once.
 */
#ifndef VRING_IVSHMEM_REGS_H
#define VRING_IVSHMEM_REGS_H

#include <stddef.h>
#include <stdint.h>

#include <vring/detail/compiler.h>
#include <vring/detail/endian.h>
#include <vring/errors.h>

VR_EXTERN_C_BEGIN

#define VR_IVSHMEM_VENDOR_ID 0x1af4u /**< PCI vendor id (Red Hat / Qumranet) */
#define VR_IVSHMEM_DEVICE_ID 0x1110u /**< PCI device id of ivshmem */

#define VR_IVSHMEM_BAR_REGS 0   /**< BAR of the registers */
#define VR_IVSHMEM_BAR_MSIX 1   /**< BAR of the MSI-X table */
#define VR_IVSHMEM_BAR_SHMEM 2  /**< BAR of the shared memory */
#define VR_IVSHMEM_REGS_BYTES 256u /**< size of BAR0 */

/** Register offsets in BAR0. */
enum vr_ivshmem_reg {
	VR_IVSHMEM_INTR_MASK = 0,
	VR_IVSHMEM_INTR_STATUS = 4,
	VR_IVSHMEM_IV_POSITION = 8,
	VR_IVSHMEM_DOORBELL = 12
};

/** IVPosition of a device without a peer id (plain, or no server yet). */
#define VR_IVSHMEM_NO_POSITION 0xffffffffu
/** Largest peer id and vector the doorbell encoding carries. */
#define VR_IVSHMEM_MAX_ID 0xffffu

/** PCI command register (config offset 4) bits a driver sets. */
#define VR_PCI_COMMAND 4u
#define VR_PCI_COMMAND_MEMORY 0x2u /**< decode memory BARs */
#define VR_PCI_COMMAND_MASTER 0x4u /**< bus master: without it QEMU drops
				       the device's MSI-X writes */

VR_INLINE volatile uint32_t *vr__ivshmem_reg(volatile void *bar0,
					     enum vr_ivshmem_reg r)
{
	return (volatile uint32_t *)(volatile void *)((volatile unsigned char *)bar0 +
						       (size_t)r);
}

/** @brief Read a register of BAR0 (one 32-bit device load). */
VR_INLINE uint32_t vr_ivshmem_reg_read(volatile void *bar0, enum vr_ivshmem_reg r)
{
	return vr__le32(*vr__ivshmem_reg(bar0, r));
}

/** @brief Write a register of BAR0 (one 32-bit device store). */
VR_INLINE void vr_ivshmem_reg_write(volatile void *bar0, enum vr_ivshmem_reg r,
				    uint32_t v)
{
	*vr__ivshmem_reg(bar0, r) = vr__le32(v);
}

/**
 * @brief The Doorbell value that rings vector @p vector of peer @p peer.
 * @param out receives (peer << 16) | vector
 * @return 0; VR_EINVAL (peer or vector above VR_IVSHMEM_MAX_ID, or @p out NULL)
 */
VR_INLINE int vr_ivshmem_doorbell_value(uint32_t peer, uint32_t vector,
					uint32_t *out)
{
	if (!out || peer > VR_IVSHMEM_MAX_ID || vector > VR_IVSHMEM_MAX_ID)
		return VR_EINVAL;
	*out = (peer << 16) | vector;
	return 0;
}

/**
 * @brief Ring vector @p vector of peer @p peer through BAR0.
 *
 * Ordering: the store is a device write; on the CPUs libvring targets a
 * device write is not reordered before earlier stores to (write-back)
 * shared memory only when a release fence precedes it, which the caller's
 * ring publication provides (the channel publishes with release before it
 * notifies). On a weakly ordered CPU with non-coherent device ordering the
 * RTOS's own I/O barrier belongs before this call.
 * @return 0; VR_EINVAL (ids out of range, @p bar0 NULL)
 */
VR_INLINE int vr_ivshmem_ring(volatile void *bar0, uint32_t peer, uint32_t vector)
{
	uint32_t v;

	if (!bar0 || vr_ivshmem_doorbell_value(peer, vector, &v) != 0)
		return VR_EINVAL;
	vr_ivshmem_reg_write(bar0, VR_IVSHMEM_DOORBELL, v);
	return 0;
}

/**
 * @brief This guest's peer id from IVPosition, checked.
 * @param max_id largest id the caller accepts (its server's peer limit
 *               minus one; VR_IVSHMEM_MAX_ID for "any the doorbell can carry")
 * @param id     receives the id
 * @return 0; VR_EAGAIN (IVPosition is 0xffffffff: no id yet, or
 *         ivshmem-plain); VR_EDEVICE (an id above @p max_id or above
 *         VR_IVSHMEM_MAX_ID); VR_EINVAL (NULL argument)
 */
VR_INLINE int vr_ivshmem_read_position(volatile void *bar0, uint32_t max_id,
				       uint32_t *id)
{
	uint32_t v;

	if (!bar0 || !id)
		return VR_EINVAL;
	v = vr_ivshmem_reg_read(bar0, VR_IVSHMEM_IV_POSITION);
	if (v == VR_IVSHMEM_NO_POSITION)
		return VR_EAGAIN;
	if (v > VR_IVSHMEM_MAX_ID || v > max_id)
		return VR_EDEVICE;
	*id = v;
	return 0;
}

/**
 * @brief INTx mode (no MSI-X): enable (@p on) or mask the interrupt.
 */
VR_INLINE void vr_ivshmem_intx_enable(volatile void *bar0, int on)
{
	vr_ivshmem_reg_write(bar0, VR_IVSHMEM_INTR_MASK, on ? 1u : 0u);
}

/**
 * @brief INTx mode: read and clear the pending status (call from the
 *        interrupt handler; nonzero means this device interrupted).
 */
VR_INLINE uint32_t vr_ivshmem_intx_ack(volatile void *bar0)
{
	return vr_ivshmem_reg_read(bar0, VR_IVSHMEM_INTR_STATUS);
}

/**
 * @brief Check that a shared-memory BAR of @p bar_bytes can hold a region
 *        whose header states @p region_bytes (read it with
 *        vr_region_parse(), which does the same check against what is
 *        mapped; this one runs before anything is mapped, on the size the
 *        PCI enumeration reported).
 * @return 0; VR_ETRUNC (the BAR is smaller than the region, or than the
 *         region header page)
 */
VR_INLINE int vr_ivshmem_check_bar(uint64_t bar_bytes, uint64_t region_bytes)
{
	if (bar_bytes < 4096u || bar_bytes < region_bytes)
		return VR_ETRUNC;
	return 0;
}

VR_EXTERN_C_END

#endif /* VRING_IVSHMEM_REGS_H */
