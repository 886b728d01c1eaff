/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/pci.h
 * @brief Just enough PCI for a bare-metal virtio driver: configuration space
 *        through ECAM, enumeration of one bus, BAR sizing and assignment from
 *        a memory window, command register, capability list walk.
 *
 * On a board without firmware (qemu-system-aarch64 -M virt booted straight
 * into an image) nobody has assigned the BARs: the driver sizes each memory
 * BAR, places it in the PCI memory window the platform gives, and turns on
 * memory decoding and bus mastering itself. Everything read from
 * configuration space is checked before use: a BAR whose size is not a power
 * of two, a capability pointer outside the configuration header or into
 * the standard header, a capability list that loops, a BAR that does not
 * fit the window. No call loops on a value the device gives without a bound.
 *
 * Configuration and BAR accesses go either to real memory-mapped I/O
 * (volatile accesses with the barriers an Arm core needs, as for
 * virtio-mmio) or, for host tests and trapping hypervisors, to callbacks.
 *
 * Freestanding: no libc, no allocation. Concurrency: one bus and its
 * devices belong to one thread of execution at a time.
 */
#ifndef VRING_PCI_H
#define VRING_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include <vring/errors.h>
#include <vring/virtio_mmio.h> /* the MMIO accessors (vr__mmio_hw_*) */

VR_EXTERN_C_BEGIN

/* ---- Configuration space (PCI Local Bus 3.0, type 0 header) ------------ */
#define VR_PCI_CFG_VENDOR 0x00u
#define VR_PCI_CFG_DEVICE 0x02u
#define VR_PCI_CFG_COMMAND 0x04u
#define VR_PCI_CFG_STATUS 0x06u
#define VR_PCI_CFG_REVISION 0x08u
#define VR_PCI_CFG_HEADER_TYPE 0x0eu
#define VR_PCI_CFG_BAR0 0x10u
#define VR_PCI_CFG_SUBSYS_ID 0x2eu
#define VR_PCI_CFG_CAP_PTR 0x34u
#define VR_PCI_CFG_INT_LINE 0x3cu
#define VR_PCI_CFG_INT_PIN 0x3du

#define VR_PCI_CMD_MEMORY 0x0002u      /**< memory space decoding */
#define VR_PCI_CMD_BUS_MASTER 0x0004u  /**< the device may DMA */
#define VR_PCI_CMD_INTX_DISABLE 0x0400u
#define VR_PCI_STATUS_CAP_LIST 0x0010u

#define VR_PCI_BAR_IO 0x1u
#define VR_PCI_BAR_TYPE_MASK 0x6u
#define VR_PCI_BAR_TYPE_64 0x4u
#define VR_PCI_BAR_PREFETCH 0x8u

#define VR_PCI_CAP_ID_MSIX 0x11u
#define VR_PCI_CAP_ID_VNDR 0x09u

/** Devices per bus and functions per device. */
#define VR_PCI_DEVS 32u
#define VR_PCI_FUNCS 8u
#define VR_PCI_BARS 6u
/** At most this many capabilities are walked (48 fit in 192 bytes). */
#define VR_PCI_MAX_CAPS 48u

/** Callbacks standing in for ECAM and BAR memory (host tests, trapping). */
struct vr_pci_access {
	/** Configuration read of @p width (1, 2, 4) bytes at @p off of
	 *  function @p bdf (bus << 8 | dev << 3 | fn). All ones for a
	 *  function that does not exist, as real ECAM returns. */
	uint32_t (*cfg_read)(void *ctx, uint16_t bdf, uint32_t off, unsigned width);
	void (*cfg_write)(void *ctx, uint16_t bdf, uint32_t off, uint32_t val,
			  unsigned width);
	/** Memory access at bus address @p addr (inside an assigned BAR). */
	uint32_t (*mem_read)(void *ctx, uint64_t addr, unsigned width);
	void (*mem_write)(void *ctx, uint64_t addr, uint32_t val, unsigned width);
};

/** One PCI host bridge's bus 0 and its memory window. */
struct vr_pci_bus {
	uintptr_t ecam;                  /* ECAM base (acc == NULL) */
	const struct vr_pci_access *acc; /* or the callbacks */
	void *ctx;
	uint64_t mem_next;  /* next free address in the window */
	uint64_t mem_limit; /* end of the window (exclusive) */
};

/** One function found on the bus. */
struct vr_pci_dev {
	struct vr_pci_bus *bus;
	uint16_t bdf;
	uint16_t vendor, device;
	uint16_t subsys_id;
	uint8_t revision;
	uint8_t int_pin; /**< 0 none, 1..4 INTA..INTD */
	/** Memory BARs after vr_pci_assign_bars(): bus address and size
	 *  (0: absent, an I/O BAR, or the upper half of a 64-bit one). */
	uint64_t bar_addr[VR_PCI_BARS];
	uint64_t bar_size[VR_PCI_BARS];
};

/**
 * @brief A bus reached through ECAM at @p ecam, with the memory window
 *        [@p mem_base, @p mem_base + @p mem_size) for BARs.
 * @return 0; VR_EINVAL (NULL, zero base or size, a window that wraps)
 */
int vr_pci_bus_init(struct vr_pci_bus *b, uintptr_t ecam, uint64_t mem_base,
		    uint64_t mem_size);

/** @brief The same through callbacks. @return 0; VR_EINVAL */
int vr_pci_bus_init_access(struct vr_pci_bus *b, const struct vr_pci_access *acc,
			   void *ctx, uint64_t mem_base, uint64_t mem_size);

/** @brief Configuration read (@p off naturally aligned for @p width). */
uint32_t vr_pci_cfg_read(const struct vr_pci_bus *b, uint16_t bdf, uint32_t off,
			 unsigned width);
/** @brief Configuration write. */
void vr_pci_cfg_write(const struct vr_pci_bus *b, uint16_t bdf, uint32_t off,
		      uint32_t val, unsigned width);

/** @brief Memory read at a bus address inside an assigned BAR. */
VR_INLINE uint32_t vr_pci_mem_read(const struct vr_pci_bus *b, uint64_t addr,
				   unsigned width)
{
	if (b->acc)
		return b->acc->mem_read(b->ctx, addr, width);
	return vr__mmio_hw_read((uintptr_t)addr, width);
}

/** @brief Memory write at a bus address inside an assigned BAR. */
VR_INLINE void vr_pci_mem_write(const struct vr_pci_bus *b, uint64_t addr,
				uint32_t val, unsigned width)
{
	if (b->acc)
		b->acc->mem_write(b->ctx, addr, val, width);
	else
		vr__mmio_hw_write((uintptr_t)addr, val, width);
}

/** Chooses functions in vr_pci_find(): nonzero to take @p d. */
typedef int (*vr_pci_match_fn)(const struct vr_pci_dev *d, void *arg);

/**
 * @brief Enumerate bus 0 (every device, every function of a multi-function
 *        device) and return the @p nth function (from 0) that @p match
 *        takes, with its identity read (BARs not yet assigned).
 * @return 0; VR_ENODEV (fewer matches); VR_EINVAL
 */
int vr_pci_find(struct vr_pci_bus *b, vr_pci_match_fn match, void *arg,
		unsigned nth, struct vr_pci_dev *out);

/**
 * @brief Size every memory BAR of @p d and place it in the bus's window,
 *        aligned to its size; I/O BARs are left alone. Decoding is off
 *        while the BARs change.
 * @return 0; VR_EDEVICE (a size that is not a power of two, or a 64-bit
 *         BAR in the last slot); VR_ENOSPC (the window is full)
 */
int vr_pci_assign_bars(struct vr_pci_dev *d);

/** @brief Turn on memory decoding, and bus mastering when @p dma, with INTx
 *  enabled (PCI command register). */
void vr_pci_enable(struct vr_pci_dev *d, bool dma);

/**
 * @brief Walk the capability list: the offset of the first capability with
 *        id @p cap_id after the one at @p after (0: from the start).
 * @return the offset (0x40..0xfc); 0 when there is none; VR_EDEVICE (a
 *         pointer into the header or past 0xfc, unaligned, or a list
 *         longer than VR_PCI_MAX_CAPS: it loops)
 */
int vr_pci_cap_next(const struct vr_pci_dev *d, uint8_t cap_id, uint32_t after);

/** @brief Does [@p off, @p off + @p len) lie inside assigned BAR @p bar?
 *  Checked without overflow. */
bool vr_pci_bar_holds(const struct vr_pci_dev *d, unsigned bar, uint64_t off,
		      uint64_t len);

VR_EXTERN_C_END

#endif /* VRING_PCI_H */
