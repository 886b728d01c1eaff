/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-pci (modern) as a bus of the virtio driver core: discovery through
 * the vendor capabilities, then each bus call as the common-configuration
 * accesses of virtio 1.2 section 4.1.4.3. Freestanding.
 */
#include <vring/virtio_pci.h>

struct match_arg {
	uint32_t virtio_id;
};

static int is_virtio(const struct vr_pci_dev *d, void *arg)
{
	const struct match_arg *m = (const struct match_arg *)arg;

	if (d->vendor != VR_VIRTIO_PCI_VENDOR)
		return 0;
	if (d->device >= VR_VIRTIO_PCI_MODERN_BASE && d->device <= 0x107fu)
		return d->device - VR_VIRTIO_PCI_MODERN_BASE == m->virtio_id;
	/* Transitional ids 0x1000..0x103f: the subsystem id is the type. */
	if (d->device >= 0x1000u && d->device <= 0x103fu)
		return d->subsys_id == m->virtio_id;
	return 0;
}

static uint32_t cap_u8(const struct vr_pci_dev *d, uint32_t cap, uint32_t off)
{
	return vr_pci_cfg_read(d->bus, d->bdf, cap + off, 1);
}

static uint32_t cap_u32(const struct vr_pci_dev *d, uint32_t cap, uint32_t off)
{
	return vr_pci_cfg_read(d->bus, d->bdf, cap + off, 4);
}

/* Where one structure lives, once its capability has been checked. */
struct region {
	uint64_t addr;
	uint64_t len;
	bool found;
};

/* Check a capability against its BAR and record the structure. Returns 0,
 * 1 when the capability is to be ignored (reserved BAR value), or
 * VR_EDEVICE. */
static int take_region(const struct vr_pci_dev *d, uint32_t cap, uint32_t min_len,
		       struct region *r)
{
	uint32_t cap_len = cap_u8(d, cap, 2), bar = cap_u8(d, cap, VR_VPCI_CAP_BAR);
	uint64_t off, len;

	if (bar >= VR_PCI_BARS)
		return 1; /* section 4.1.4: reserved values are ignored */
	/* The capability must fit configuration space (vr_pci_cap_next kept
	 * it at or below 0xfc) and hold the fields we read. */
	if (cap_len < VR_VPCI_CAP_LEN_MIN || cap + cap_len > 0x100u)
		return VR_EDEVICE;
	off = cap_u32(d, cap, VR_VPCI_CAP_OFFSET);
	len = cap_u32(d, cap, VR_VPCI_CAP_LENGTH);
	if (len < min_len || !vr_pci_bar_holds(d, bar, off, len))
		return VR_EDEVICE;
	r->addr = d->bar_addr[bar] + off;
	r->len = len;
	r->found = true;
	return 0;
}

static int find_structures(struct vr_virtio_pci *vp)
{
	const struct vr_pci_dev *d = &vp->pci;
	struct region common = {0, 0, false}, notify = {0, 0, false},
		      isr = {0, 0, false}, dev = {0, 0, false};
	uint32_t mult = 0;
	unsigned seen;
	int cap = 0, err;

	/* Each vr_pci_cap_next() call is bounded; so is the whole walk, or a
	 * list that loops through vendor capabilities would never end. */
	for (seen = 0;; seen++) {
		uint32_t type;
		struct region *r = NULL;
		uint32_t min_len = 1;

		cap = vr_pci_cap_next(d, VR_PCI_CAP_ID_VNDR, (uint32_t)cap);
		if (cap < 0)
			return cap;
		if (cap == 0)
			break;
		if (seen >= VR_PCI_MAX_CAPS)
			return VR_EDEVICE;
		type = cap_u8(d, (uint32_t)cap, VR_VPCI_CAP_CFG_TYPE);
		/* The first usable instance of each type counts (4.1.4). */
		if (type == VR_VPCI_CAP_COMMON && !common.found) {
			r = &common;
			min_len = VR_VPCI_COMMON_LEN_MIN;
		} else if (type == VR_VPCI_CAP_NOTIFY && !notify.found) {
			if (cap_u8(d, (uint32_t)cap, 2) < VR_VPCI_NOTIFY_CAP_LEN_MIN)
				return VR_EDEVICE;
			r = &notify;
			min_len = 2;
		} else if (type == VR_VPCI_CAP_ISR && !isr.found) {
			r = &isr;
		} else if (type == VR_VPCI_CAP_DEVICE && !dev.found) {
			r = &dev;
		}
		if (!r)
			continue; /* PCI_CFG, shared memory, vendor data, repeats */
		err = take_region(d, (uint32_t)cap, min_len, r);
		if (err < 0)
			return err;
		if (err == 0 && r == &notify) {
			mult = cap_u32(d, (uint32_t)cap, VR_VPCI_CAP_NOTIFY_MULT);
			/* 0, or a power of two of at least 2 (4.1.4.4). */
			if (mult == 1 || (mult & (mult - 1)))
				return VR_EDEVICE;
		}
	}
	/* Common, notify and ISR are required; a device may have no config. */
	if (!common.found || !notify.found || !isr.found)
		return VR_ENODEV;
	vp->common = common.addr;
	vp->common_len = common.len > 0xffffu ? 0xffffu : (uint32_t)common.len;
	vp->notify = notify.addr;
	vp->notify_len = notify.len;
	vp->notify_mult = mult;
	vp->isr = isr.addr;
	vp->devcfg = dev.found ? dev.addr : 0;
	vp->devcfg_len = !dev.found ? 0 : dev.len > 0xf00u ? 0xf00u : (uint32_t)dev.len;
	return 0;
}

static uint32_t common_read(const struct vr_virtio_pci *vp, uint32_t off, unsigned width)
{
	return vr_pci_mem_read(vp->pci.bus, vp->common + off, width);
}

static void common_write(const struct vr_virtio_pci *vp, uint32_t off, uint32_t v,
			 unsigned width)
{
	vr_pci_mem_write(vp->pci.bus, vp->common + off, v, width);
}

int vr_virtio_pci_probe(struct vr_virtio_pci *vp, struct vr_pci_bus *bus,
			uint32_t virtio_id, unsigned nth)
{
	struct match_arg m = {virtio_id};
	unsigned i;
	int err;

	if (!vp || !bus || virtio_id == 0 || virtio_id > 0x3fu)
		return VR_EINVAL;
	for (i = 0; i < VR_VIRTIO_MAX_QUEUES; i++)
		vp->notify_addr[i] = 0;
	vp->bad_accesses = 0;
	vp->msix_vector = VR_VPCI_NO_VECTOR;
	vp->device_id = virtio_id;
	err = vr_pci_find(bus, is_virtio, &m, nth, &vp->pci);
	if (err)
		return err;
	err = vr_pci_assign_bars(&vp->pci);
	if (err)
		return err;
	err = find_structures(vp);
	if (err)
		return err;
	vr_pci_enable(&vp->pci, true);
	vp->num_queues = (uint16_t)common_read(vp, VR_VPCI_NUM_QUEUES, 2);
	/* INTx only: no MSI-X vector for configuration changes. */
	common_write(vp, VR_VPCI_MSIX_CONFIG, VR_VPCI_NO_VECTOR, 2);
	return 0;
}

/* MSI-X capability (PCI Local Bus 3.0 section 6.8.2): message control at
 * +2 (table size - 1 in bits 10:0, function mask bit 14, enable bit 15),
 * table offset and BAR indicator at +4; 16-byte table entries (address
 * low, high, data, vector control with the mask in bit 0). */
#define MSIX_CTRL 2u
#define MSIX_TABLE 4u
#define MSIX_ENABLE 0x8000u
#define MSIX_FMASK 0x4000u

int vr_virtio_pci_msix_enable(struct vr_virtio_pci *vp, uint64_t addr, uint32_t data)
{
	const struct vr_pci_dev *d;
	uint32_t ctrl, tbl, bar;
	uint64_t entry;
	int cap;

	if (!vp || !vp->pci.bus)
		return VR_EINVAL;
	d = &vp->pci;
	cap = vr_pci_cap_next(d, VR_PCI_CAP_ID_MSIX, 0);
	if (cap < 0)
		return cap;
	if (cap == 0)
		return VR_ENODEV;
	ctrl = vr_pci_cfg_read(d->bus, d->bdf, (uint32_t)cap + MSIX_CTRL, 2);
	tbl = vr_pci_cfg_read(d->bus, d->bdf, (uint32_t)cap + MSIX_TABLE, 4);
	bar = tbl & 7u;
	/* Entry 0 must lie inside an assigned memory BAR. */
	if (!vr_pci_bar_holds(d, bar, tbl & ~7u, 16))
		return VR_EDEVICE;
	entry = d->bar_addr[bar] + (tbl & ~7u);
	/* Masked while it changes, then written, then unmasked. */
	vr_pci_cfg_write(d->bus, d->bdf, (uint32_t)cap + MSIX_CTRL,
			 (ctrl | MSIX_ENABLE | MSIX_FMASK) & 0xffffu, 2);
	vr_pci_mem_write(d->bus, entry + 12, 1, 4);
	vr_pci_mem_write(d->bus, entry + 0, (uint32_t)addr, 4);
	vr_pci_mem_write(d->bus, entry + 4, (uint32_t)(addr >> 32), 4);
	vr_pci_mem_write(d->bus, entry + 8, data, 4);
	vr_pci_mem_write(d->bus, entry + 12, 0, 4);
	vr_pci_cfg_write(d->bus, d->bdf, (uint32_t)cap + MSIX_CTRL,
			 (ctrl | MSIX_ENABLE) & ~(uint32_t)MSIX_FMASK & 0xffffu, 2);
	vp->msix_vector = 0;
	return 0;
}

/* ---- The bus operations -------------------------------------------------- */

static uint8_t pci_get_status(void *ctx)
{
	return (uint8_t)common_read((struct vr_virtio_pci *)ctx, VR_VPCI_STATUS, 1);
}

static void pci_set_status(void *ctx, uint8_t status)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;
	unsigned i;

	common_write(vp, VR_VPCI_STATUS, status, 1);
	if (status == 0) /* a reset forgets every queue's notify_off */
		for (i = 0; i < VR_VIRTIO_MAX_QUEUES; i++)
			vp->notify_addr[i] = 0;
}

static uint64_t pci_get_device_features(void *ctx)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;
	uint64_t hi, lo;

	common_write(vp, VR_VPCI_DFSELECT, 1, 4);
	hi = common_read(vp, VR_VPCI_DF, 4);
	common_write(vp, VR_VPCI_DFSELECT, 0, 4);
	lo = common_read(vp, VR_VPCI_DF, 4);
	return hi << 32 | lo;
}

static void pci_set_driver_features(void *ctx, uint64_t features)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;

	common_write(vp, VR_VPCI_GFSELECT, 0, 4);
	common_write(vp, VR_VPCI_GF, (uint32_t)features, 4);
	common_write(vp, VR_VPCI_GFSELECT, 1, 4);
	common_write(vp, VR_VPCI_GF, (uint32_t)(features >> 32), 4);
}

static uint32_t pci_config_generation(void *ctx)
{
	return common_read((struct vr_virtio_pci *)ctx, VR_VPCI_CFG_GENERATION, 1);
}

/* Device config accesses stay inside the structure the capability gave. */
static bool devcfg_ok(struct vr_virtio_pci *vp, uint32_t off, unsigned width)
{
	if (vp->devcfg == 0 || (width != 1 && width != 2 && width != 4) ||
	    off > vp->devcfg_len || width > vp->devcfg_len - off) {
		vp->bad_accesses++;
		return false;
	}
	return true;
}

static uint32_t pci_config_read(void *ctx, uint32_t off, unsigned width)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;

	if (!devcfg_ok(vp, off, width))
		return 0;
	return vr_pci_mem_read(vp->pci.bus, vp->devcfg + off, width);
}

static void pci_config_write(void *ctx, uint32_t off, uint32_t val, unsigned width)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;

	if (devcfg_ok(vp, off, width))
		vr_pci_mem_write(vp->pci.bus, vp->devcfg + off, val, width);
}

static bool select_queue(struct vr_virtio_pci *vp, uint16_t q)
{
	if (q >= vp->num_queues)
		return false;
	common_write(vp, VR_VPCI_Q_SELECT, q, 2);
	return true;
}

static uint32_t pci_queue_num_max(void *ctx, uint16_t q)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;

	/* queue_size reads the maximum until the driver writes a size. */
	return select_queue(vp, q) ? common_read(vp, VR_VPCI_Q_SIZE, 2) : 0;
}

static void write64(struct vr_virtio_pci *vp, uint32_t off, uint64_t v)
{
	common_write(vp, off, (uint32_t)v, 4);
	common_write(vp, off + 4, (uint32_t)(v >> 32), 4);
}

static void pci_queue_program(void *ctx, uint16_t q, uint32_t num, uint64_t desc,
			      uint64_t driver, uint64_t device)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;
	uint64_t at;

	if (q >= VR_VIRTIO_MAX_QUEUES || !select_queue(vp, q))
		return;
	common_write(vp, VR_VPCI_Q_SIZE, num, 2);
	common_write(vp, VR_VPCI_Q_MSIX, vp->msix_vector, 2);
	/* A device that could not give the queue its vector says so by
	 * reading back "no vector"; the queue then stays disabled below. */
	if (vp->msix_vector != VR_VPCI_NO_VECTOR &&
	    common_read(vp, VR_VPCI_Q_MSIX, 2) != vp->msix_vector) {
		vp->notify_addr[q] = 0;
		vp->bad_accesses++;
		return;
	}
	write64(vp, VR_VPCI_Q_DESC, desc);
	write64(vp, VR_VPCI_Q_DRIVER, driver);
	write64(vp, VR_VPCI_Q_DEVICE, device);
	/* Where this queue's notifications go (4.1.4.4): inside the notify
	 * structure, or the queue is never enabled (pci_queue_set_ready). */
	at = (uint64_t)common_read(vp, VR_VPCI_Q_NOTIFY_OFF, 2) * vp->notify_mult;
	if (vp->notify_len >= 2 && at <= vp->notify_len - 2) {
		vp->notify_addr[q] = vp->notify + at;
	} else {
		vp->notify_addr[q] = 0;
		vp->bad_accesses++;
	}
}

static void pci_queue_set_ready(void *ctx, uint16_t q, uint32_t ready)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;

	/* Writing 0 to queue_enable is not allowed (4.1.4.3.2): a queue is
	 * disabled by a reset. A queue whose notification address is
	 * outside the notify structure is left disabled, so the core sees
	 * QueueReady not reading back 1. */
	if (!ready || q >= VR_VIRTIO_MAX_QUEUES || !vp->notify_addr[q] ||
	    !select_queue(vp, q))
		return;
	common_write(vp, VR_VPCI_Q_ENABLE, 1, 2);
}

static uint32_t pci_queue_get_ready(void *ctx, uint16_t q)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;

	return select_queue(vp, q) ? common_read(vp, VR_VPCI_Q_ENABLE, 2) : 0;
}

static void pci_queue_reset(void *ctx, uint16_t q)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;

	if (vp->common_len >= VR_VPCI_COMMON_LEN_RESET && select_queue(vp, q)) {
		common_write(vp, VR_VPCI_Q_RESET, 1, 2);
		if (q < VR_VIRTIO_MAX_QUEUES)
			vp->notify_addr[q] = 0;
	}
}

static uint32_t pci_queue_reset_busy(void *ctx, uint16_t q)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;

	/* queue_reset reads 1 while the reset is ongoing and 0 once it is
	 * complete (4.1.4.3.2). Without the field there is no reset to
	 * wait for: report it busy, and the core's bounded wait gives up. */
	if (vp->common_len < VR_VPCI_COMMON_LEN_RESET || !select_queue(vp, q))
		return 1;
	return common_read(vp, VR_VPCI_Q_RESET, 2);
}

static void pci_notify(void *ctx, uint16_t q)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;

	if (q < VR_VIRTIO_MAX_QUEUES && vp->notify_addr[q])
		vr_pci_mem_write(vp->pci.bus, vp->notify_addr[q], q, 2);
	else
		vp->bad_accesses++;
}

static uint32_t pci_isr_read(void *ctx)
{
	struct vr_virtio_pci *vp = (struct vr_virtio_pci *)ctx;
	uint32_t isr = vr_pci_mem_read(vp->pci.bus, vp->isr, 1);

	/* Bit 0: a queue; bit 1: configuration change, the same bits as
	 * VR_VIRTIO_INT_*. The read itself acknowledged them. */
	return isr & (VR_VPCI_ISR_QUEUE | VR_VPCI_ISR_CONFIG);
}

static void pci_isr_ack(void *ctx, uint32_t bits)
{
	(void)ctx; /* reading the ISR status acknowledged it */
	(void)bits;
}

const struct vr_virtio_bus_ops vr_virtio_pci_bus_ops = {
	.get_status = pci_get_status,
	.set_status = pci_set_status,
	.get_device_features = pci_get_device_features,
	.set_driver_features = pci_set_driver_features,
	.config_generation = pci_config_generation,
	.config_read = pci_config_read,
	.config_write = pci_config_write,
	.queue_num_max = pci_queue_num_max,
	.queue_program = pci_queue_program,
	.queue_set_ready = pci_queue_set_ready,
	.queue_get_ready = pci_queue_get_ready,
	.queue_reset = pci_queue_reset,
	.queue_reset_busy = pci_queue_reset_busy,
	.notify = pci_notify,
	.isr_read = pci_isr_read,
	.isr_ack = pci_isr_ack,
};
