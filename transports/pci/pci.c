/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration space through ECAM, bus 0 enumeration, BAR assignment,
 * capability walk (vring/pci.h). Freestanding.
 */
#include <vring/pci.h>

static int init_window(struct vr_pci_bus *b, uint64_t mem_base, uint64_t mem_size)
{
	if (mem_size == 0 || mem_size - 1 > UINT64_MAX - mem_base)
		return VR_EINVAL;
	b->mem_next = mem_base;
	b->mem_limit = mem_base + (mem_size - 1); /* inclusive: no wrap at 2^64 */
	return 0;
}

int vr_pci_bus_init(struct vr_pci_bus *b, uintptr_t ecam, uint64_t mem_base,
		    uint64_t mem_size)
{
	if (!b || ecam == 0)
		return VR_EINVAL;
	b->ecam = ecam;
	b->acc = NULL;
	b->ctx = NULL;
	return init_window(b, mem_base, mem_size);
}

int vr_pci_bus_init_access(struct vr_pci_bus *b, const struct vr_pci_access *acc,
			   void *ctx, uint64_t mem_base, uint64_t mem_size)
{
	if (!b || !acc || !acc->cfg_read || !acc->cfg_write || !acc->mem_read ||
	    !acc->mem_write)
		return VR_EINVAL;
	b->ecam = 0;
	b->acc = acc;
	b->ctx = ctx;
	return init_window(b, mem_base, mem_size);
}

/* ECAM: 4 KiB of configuration space per function, bus/dev/fn in the
 * address (PCIe base 3.0 section 7.2.2). */
static uintptr_t ecam_addr(const struct vr_pci_bus *b, uint16_t bdf, uint32_t off)
{
	return b->ecam + ((uintptr_t)bdf << 12) + (off & 0xfffu);
}

uint32_t vr_pci_cfg_read(const struct vr_pci_bus *b, uint16_t bdf, uint32_t off,
			 unsigned width)
{
	if (b->acc)
		return b->acc->cfg_read(b->ctx, bdf, off, width);
	return vr__mmio_hw_read(ecam_addr(b, bdf, off), width);
}

void vr_pci_cfg_write(const struct vr_pci_bus *b, uint16_t bdf, uint32_t off,
		      uint32_t val, unsigned width)
{
	if (b->acc)
		b->acc->cfg_write(b->ctx, bdf, off, val, width);
	else
		vr__mmio_hw_write(ecam_addr(b, bdf, off), val, width);
}

static void read_identity(struct vr_pci_bus *b, uint16_t bdf, struct vr_pci_dev *d)
{
	unsigned i;

	d->bus = b;
	d->bdf = bdf;
	d->vendor = (uint16_t)vr_pci_cfg_read(b, bdf, VR_PCI_CFG_VENDOR, 2);
	d->device = (uint16_t)vr_pci_cfg_read(b, bdf, VR_PCI_CFG_DEVICE, 2);
	d->revision = (uint8_t)vr_pci_cfg_read(b, bdf, VR_PCI_CFG_REVISION, 1);
	d->subsys_id = (uint16_t)vr_pci_cfg_read(b, bdf, VR_PCI_CFG_SUBSYS_ID, 2);
	d->int_pin = (uint8_t)vr_pci_cfg_read(b, bdf, VR_PCI_CFG_INT_PIN, 1);
	if (d->int_pin > 4)
		d->int_pin = 0; /* out of spec: treat as "no INTx" */
	for (i = 0; i < VR_PCI_BARS; i++)
		d->bar_addr[i] = d->bar_size[i] = 0;
}

int vr_pci_find(struct vr_pci_bus *b, vr_pci_match_fn match, void *arg,
		unsigned nth, struct vr_pci_dev *out)
{
	unsigned dev, fn;

	if (!b || !match || !out)
		return VR_EINVAL;
	for (dev = 0; dev < VR_PCI_DEVS; dev++) {
		unsigned nfn = 1;

		for (fn = 0; fn < nfn; fn++) {
			uint16_t bdf = (uint16_t)(dev << 3 | fn);
			uint32_t vendor = vr_pci_cfg_read(b, bdf, VR_PCI_CFG_VENDOR, 2);

			if (vendor == 0xffffu || vendor == 0)
				continue; /* no function here */
			if (fn == 0 && (vr_pci_cfg_read(b, bdf, VR_PCI_CFG_HEADER_TYPE, 1) &
					0x80u))
				nfn = VR_PCI_FUNCS;
			read_identity(b, bdf, out);
			if (match(out, arg) && nth-- == 0)
				return 0;
		}
	}
	return VR_ENODEV;
}

/* Place a BAR of @p size (a power of two) in the window: the lowest free
 * address aligned to it. Returns the address, or 0 when it does not fit
 * (the window never starts at 0 on any platform this serves). */
static uint64_t window_take(struct vr_pci_bus *b, uint64_t size)
{
	uint64_t at = (b->mem_next + (size - 1)) & ~(size - 1);

	if (at < b->mem_next || at > b->mem_limit || size - 1 > b->mem_limit - at)
		return 0;
	b->mem_next = at + size;
	return at;
}

int vr_pci_assign_bars(struct vr_pci_dev *d)
{
	struct vr_pci_bus *b;
	uint32_t cmd;
	unsigned i;
	int err = 0;

	if (!d || !d->bus)
		return VR_EINVAL;
	b = d->bus;
	/* No decoding while BARs hold all ones or half-written addresses. */
	cmd = vr_pci_cfg_read(b, d->bdf, VR_PCI_CFG_COMMAND, 2);
	vr_pci_cfg_write(b, d->bdf, VR_PCI_CFG_COMMAND,
			 cmd & ~(uint32_t)(VR_PCI_CMD_MEMORY | VR_PCI_CMD_BUS_MASTER), 2);
	for (i = 0; i < VR_PCI_BARS; i++) {
		uint32_t off = VR_PCI_CFG_BAR0 + 4u * i;
		uint32_t orig = vr_pci_cfg_read(b, d->bdf, off, 4), lo, hi = 0xffffffffu;
		bool is64 = (orig & VR_PCI_BAR_TYPE_MASK) == VR_PCI_BAR_TYPE_64;
		uint64_t mask, size, at;

		d->bar_addr[i] = d->bar_size[i] = 0;
		if (orig & VR_PCI_BAR_IO)
			continue; /* I/O space: not used by modern virtio */
		if (is64 && i == VR_PCI_BARS - 1) {
			err = VR_EDEVICE;
			break;
		}
		vr_pci_cfg_write(b, d->bdf, off, 0xffffffffu, 4);
		lo = vr_pci_cfg_read(b, d->bdf, off, 4) & ~0xfu;
		if (is64) {
			vr_pci_cfg_write(b, d->bdf, off + 4, 0xffffffffu, 4);
			hi = vr_pci_cfg_read(b, d->bdf, off + 4, 4);
		}
		mask = (uint64_t)hi << 32 | lo;
		if (!is64)
			mask |= 0xffffffff00000000ull;
		if (lo == 0 && (!is64 || hi == 0)) {
			/* Not implemented. */
			vr_pci_cfg_write(b, d->bdf, off, 0, 4);
			if (is64)
				vr_pci_cfg_write(b, d->bdf, off + 4, 0, 4);
			if (is64)
				i++;
			continue;
		}
		size = ~mask + 1;
		/* The writable bits must be contiguous from the top: the
		 * size is a power of two, at least 16 bytes. */
		if (size == 0 || (size & (size - 1)) || size < 16) {
			err = VR_EDEVICE;
			break;
		}
		at = window_take(b, size < 4096 ? 4096 : size);
		if (!at || (!is64 && at > 0xffffffffull - (size - 1))) {
			err = VR_ENOSPC;
			break;
		}
		vr_pci_cfg_write(b, d->bdf, off, (uint32_t)at, 4);
		if (is64)
			vr_pci_cfg_write(b, d->bdf, off + 4, (uint32_t)(at >> 32), 4);
		d->bar_addr[i] = at;
		d->bar_size[i] = size;
		if (is64)
			i++; /* the upper half is not a BAR of its own */
	}
	return err;
}

void vr_pci_enable(struct vr_pci_dev *d, bool dma)
{
	uint32_t cmd = vr_pci_cfg_read(d->bus, d->bdf, VR_PCI_CFG_COMMAND, 2);

	cmd |= VR_PCI_CMD_MEMORY;
	if (dma)
		cmd |= VR_PCI_CMD_BUS_MASTER;
	cmd &= ~(uint32_t)VR_PCI_CMD_INTX_DISABLE;
	vr_pci_cfg_write(d->bus, d->bdf, VR_PCI_CFG_COMMAND, cmd & 0xffffu, 2);
}

int vr_pci_cap_next(const struct vr_pci_dev *d, uint8_t cap_id, uint32_t after)
{
	uint32_t at;
	unsigned n;

	if (after == 0) {
		if (!(vr_pci_cfg_read(d->bus, d->bdf, VR_PCI_CFG_STATUS, 2) &
		      VR_PCI_STATUS_CAP_LIST))
			return 0;
		at = vr_pci_cfg_read(d->bus, d->bdf, VR_PCI_CFG_CAP_PTR, 1);
	} else {
		at = vr_pci_cfg_read(d->bus, d->bdf, after + 1, 1);
	}
	for (n = 0; at != 0; n++) {
		/* Inside the 192 bytes after the header, dword aligned (the
		 * low two bits are reserved: a device that sets them lies). */
		if (n >= VR_PCI_MAX_CAPS || at < 0x40u || at > 0xfcu || (at & 3u))
			return VR_EDEVICE;
		if (vr_pci_cfg_read(d->bus, d->bdf, at, 1) == cap_id)
			return (int)at;
		at = vr_pci_cfg_read(d->bus, d->bdf, at + 1, 1);
	}
	return 0;
}

bool vr_pci_bar_holds(const struct vr_pci_dev *d, unsigned bar, uint64_t off,
		      uint64_t len)
{
	uint64_t size;

	if (bar >= VR_PCI_BARS || len == 0)
		return false;
	size = d->bar_size[bar];
	return size != 0 && off < size && len <= size - off;
}
