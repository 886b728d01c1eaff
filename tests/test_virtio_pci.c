/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-pci bus of the driver core (transports/pci) against a
 * simulated PCI function, in one process.
 *
 * The function is what QEMU presents for virtio-serial-pci on -M virt: a
 * type 0 header on bus 0 (slot 1, behind a host bridge in slot 0), BAR1 a
 * 4 KiB memory BAR (where QEMU keeps the MSI-X table), BAR4 a 16 KiB 64-bit
 * prefetchable memory BAR holding the four virtio structures, an MSI-X
 * capability and the five virtio vendor capabilities. Behind the common
 * configuration structure sits the virtio-mmio device model
 * (transports/mmio/device): each common-configuration field is forwarded
 * to the model's register of the same meaning, so the rules of the spec
 * are enforced by code this test does not contain, and a back end answers
 * every message with its bytes reversed.
 *
 * Then each way a device can lie in configuration space (a capability
 * outside its BAR, a list that loops, a pointer into the header, a BAR
 * size that is not a power of two, a missing structure, a bad notify
 * multiplier, a queue_notify_off outside the notify structure, a window
 * too small) must give its error code, and never an access outside the
 * BARs: every memory access the driver makes is checked to land inside an
 * assigned, enabled BAR.
 */
#include <stdio.h>

#include <linux/virtio_pci.h>

#include <vring/virtio_drv.h>
#include <vring/virtio_pci.h>

#include "test_mmio_device_fixture.h"

#define SLOT 1u
#define BDF(slot) ((uint16_t)((slot) << 3))
#define WIN_BASE 0x10000000ull
#define WIN_SIZE 0x00100000ull
#define BAR4_SIZE 0x4000u
#define BAR1_SIZE 0x1000u
#define OFF_COMMON 0x0000u
#define OFF_ISR 0x1000u
#define OFF_DEVICE 0x2000u
#define OFF_NOTIFY 0x3000u
#define NOTIFY_MULT 4u

/* Ways the simulated function lies. */
struct lies {
	int common_bar;          /* -1: as it should be (4) */
	uint32_t common_off;     /* used when common_len set */
	uint32_t common_len;
	int loop;                /* last capability points back to the first */
	int ptr_into_header;     /* capability pointer 0x20 */
	int bar4_not_pow2;       /* BAR4 size mask with a hole */
	int no_isr;              /* ISR capability of type 0x7f instead */
	uint32_t notify_mult;    /* overrides NOTIFY_MULT when nonzero */
	int notify_cap_short;    /* notify cap_len 16: no multiplier */
	uint16_t notify_off;     /* queue_notify_off added to the index */
	int reserved_bar_dup;    /* a common cap with BAR 7 before the real one */
	int msix_outside;        /* MSI-X table past the end of BAR1 */
};

struct pt {
	struct td *t;
	struct lies lie;
	uint8_t cfg[VR_PCI_DEVS][256];
	uint32_t bar_mask[VR_PCI_DEVS][6];
	uint16_t msix_config;
	uint16_t q_msix[TD_NQ];
	uint16_t q_sel;
	int q_size_written[TD_NQ];
	uint32_t stray;     /* memory accesses outside an enabled BAR */
	uint32_t msix_table[2][4]; /* BAR1: the MSI-X table */
	uint32_t notifies;
};

static void put8(uint8_t *c, uint32_t off, uint32_t v) { c[off] = (uint8_t)v; }
static void put16(uint8_t *c, uint32_t off, uint32_t v)
{
	c[off] = (uint8_t)v;
	c[off + 1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *c, uint32_t off, uint32_t v)
{
	put16(c, off, v & 0xffffu);
	put16(c, off + 2, v >> 16);
}
static uint32_t get32(const uint8_t *c, uint32_t off)
{
	return (uint32_t)c[off] | (uint32_t)c[off + 1] << 8 | (uint32_t)c[off + 2] << 16 |
	       (uint32_t)c[off + 3] << 24;
}

/* A virtio vendor capability at @at, chained to @next. */
static void vcap(uint8_t *c, uint32_t at, uint32_t next, uint32_t len, uint32_t type,
		 uint32_t bar, uint32_t off, uint32_t length)
{
	put8(c, at, VR_PCI_CAP_ID_VNDR);
	put8(c, at + 1, next);
	put8(c, at + 2, len);
	put8(c, at + 3, type);
	put8(c, at + 4, bar);
	put32(c, at + 8, off);
	put32(c, at + 12, length);
}

static void build(struct pt *p)
{
	uint8_t *h = p->cfg[0], *c = p->cfg[SLOT];
	struct lies *l = &p->lie;
	uint32_t first = l->reserved_bar_dup ? 0x48u : 0x50u;

	memset(p->cfg, 0xff, sizeof(p->cfg));
	memset(p->bar_mask, 0, sizeof(p->bar_mask));
	/* Slot 0: a host bridge, as QEMU's gpex (no BARs). */
	memset(h, 0, 256);
	put16(h, VR_PCI_CFG_VENDOR, 0x1b36);
	put16(h, VR_PCI_CFG_DEVICE, 0x0008);
	/* Slot 1: virtio console, modern id 0x1043. */
	memset(c, 0, 256);
	put16(c, VR_PCI_CFG_VENDOR, VR_VIRTIO_PCI_VENDOR);
	put16(c, VR_PCI_CFG_DEVICE, 0x1043);
	put16(c, VR_PCI_CFG_STATUS, VR_PCI_STATUS_CAP_LIST);
	put8(c, VR_PCI_CFG_REVISION, 1);
	put16(c, VR_PCI_CFG_SUBSYS_ID, 3);
	put8(c, VR_PCI_CFG_INT_PIN, 1);
	put32(c, VR_PCI_CFG_BAR0 + 4, 0);                               /* BAR1: 32-bit mem */
	p->bar_mask[SLOT][1] = ~(BAR1_SIZE - 1u);
	put32(c, VR_PCI_CFG_BAR0 + 16, VR_PCI_BAR_TYPE_64 | VR_PCI_BAR_PREFETCH); /* BAR4 */
	p->bar_mask[SLOT][4] = ~(BAR4_SIZE - 1u) & ~(l->bar4_not_pow2 ? 0x10000u : 0u);
	p->bar_mask[SLOT][5] = 0xffffffffu;
	put8(c, VR_PCI_CFG_CAP_PTR, l->ptr_into_header ? 0x20 : 0x40);
	/* MSI-X (id 0x11), then the virtio structures. */
	put8(c, 0x40, VR_PCI_CAP_ID_MSIX);
	put8(c, 0x41, first);
	put8(c, 0x42, 12);
	put16(c, 0x42, 2 - 1);                            /* MSI-X: 2 entries */
	put32(c, 0x44, l->msix_outside ? 0x1000u | 1u : 1u); /* table at BAR1 + 0 */
	if (l->reserved_bar_dup)
		vcap(c, 0x48, 0x50, 16, VR_VPCI_CAP_COMMON, 7, 0xdead0000u, 0x40);
	vcap(c, 0x50, 0x60, 16, VR_VPCI_CAP_COMMON, l->common_bar >= 0 ? (uint32_t)l->common_bar : 4,
	     l->common_len ? l->common_off : OFF_COMMON, l->common_len ? l->common_len : 0x40);
	vcap(c, 0x60, 0x70, 16, l->no_isr ? 0x7fu : VR_VPCI_CAP_ISR, 4, OFF_ISR, 0x1000);
	vcap(c, 0x70, 0x80, 16, VR_VPCI_CAP_DEVICE, 4, OFF_DEVICE, 0x1000);
	vcap(c, 0x80, 0x98, l->notify_cap_short ? 16 : 20, VR_VPCI_CAP_NOTIFY, 4, OFF_NOTIFY,
	     0x1000);
	put32(c, 0x80 + VR_VPCI_CAP_NOTIFY_MULT, l->notify_mult ? l->notify_mult : NOTIFY_MULT);
	vcap(c, 0x98, l->loop ? 0x50 : 0, 20, VR_VPCI_CAP_PCI_CFG, 0, 0, 0);
}

/* ---- Configuration space --------------------------------------------------- */

static uint32_t cfg_read(void *ctx, uint16_t bdf, uint32_t off, unsigned width)
{
	struct pt *p = (struct pt *)ctx;
	unsigned slot = bdf >> 3, fn = bdf & 7u;
	uint32_t v = 0;
	unsigned i;

	assert_true(off + width <= 256 && (off & (width - 1)) == 0);
	if ((bdf >> 8) != 0 || fn != 0)
		return width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
	for (i = 0; i < width; i++)
		v |= (uint32_t)p->cfg[slot][off + i] << (8 * i);
	return v;
}

static void cfg_write(void *ctx, uint16_t bdf, uint32_t off, uint32_t val, unsigned width)
{
	struct pt *p = (struct pt *)ctx;
	unsigned slot = bdf >> 3;
	uint8_t *c = p->cfg[slot];

	assert_true(off + width <= 256 && (off & (width - 1)) == 0);
	if ((bdf >> 8) != 0 || (bdf & 7u) != 0 || slot >= VR_PCI_DEVS)
		return;
	if (off >= VR_PCI_CFG_BAR0 && off < VR_PCI_CFG_BAR0 + 24) {
		unsigned bar = (off - VR_PCI_CFG_BAR0) / 4;
		uint32_t keep = bar == 5 && slot == SLOT ? 0 : (get32(c, off) & 0xfu);

		assert_int_equal(width, 4);
		if (bar == 5 && slot == SLOT) /* upper half of BAR4 */
			put32(c, off, val & p->bar_mask[slot][5]);
		else
			put32(c, off, (val & p->bar_mask[slot][bar] & ~0xfu) | keep);
		return;
	}
	if (off == VR_PCI_CFG_COMMAND) {
		put16(c, off, val);
		return;
	}
	if (off == 0x42 && width == 2 && slot == SLOT) {
		/* MSI-X message control: enable and function mask writable. */
		put16(c, off, (get32(c, 0x40) >> 16 & 0x07ffu) | (val & 0xc000u));
		return;
	}
	/* Everything else in this simple header is read-only. */
}

/* ---- BAR memory: BAR4 holds the virtio structures -------------------------- */

static uint64_t bar4(const struct pt *p)
{
	const uint8_t *c = p->cfg[SLOT];

	return ((uint64_t)get32(c, VR_PCI_CFG_BAR0 + 20) << 32) |
	       (get32(c, VR_PCI_CFG_BAR0 + 16) & ~0xfu);
}

/* The offset inside BAR4 of an access, or -1 when it is not inside an
 * enabled BAR4 (counted as stray). */
/* BAR1 holds the MSI-X table: the entry index, or -1. */
static long in_bar1(struct pt *p, uint64_t addr, unsigned width)
{
	uint64_t base = get32(p->cfg[SLOT], VR_PCI_CFG_BAR0 + 4) & ~0xfu;

	if (!(p->cfg[SLOT][VR_PCI_CFG_COMMAND] & VR_PCI_CMD_MEMORY) || addr < base ||
	    addr + width > base + sizeof(p->msix_table) || width != 4)
		return -1;
	return (long)(addr - base);
}

static long in_bar4(struct pt *p, uint64_t addr, unsigned width)
{
	uint64_t base = bar4(p);
	uint32_t cmd = p->cfg[SLOT][VR_PCI_CFG_COMMAND];

	if (!(cmd & VR_PCI_CMD_MEMORY) || addr < base || addr + width > base + BAR4_SIZE ||
	    (addr & (width - 1))) {
		p->stray++;
		return -1;
	}
	return (long)(addr - base);
}

/* Common configuration fields and the model registers they stand for. */
static uint32_t common_to_mmio(uint32_t off)
{
	switch (off) {
	case VR_VPCI_DFSELECT: return VR_MMIO_REG_DEVICE_FEATURES_SEL;
	case VR_VPCI_DF: return VR_MMIO_REG_DEVICE_FEATURES;
	case VR_VPCI_GFSELECT: return VR_MMIO_REG_DRIVER_FEATURES_SEL;
	case VR_VPCI_GF: return VR_MMIO_REG_DRIVER_FEATURES;
	case VR_VPCI_STATUS: return VR_MMIO_REG_STATUS;
	case VR_VPCI_CFG_GENERATION: return VR_MMIO_REG_CONFIG_GENERATION;
	case VR_VPCI_Q_ENABLE: return VR_MMIO_REG_QUEUE_READY;
	case VR_VPCI_Q_DESC: return VR_MMIO_REG_QUEUE_DESC_LOW;
	case VR_VPCI_Q_DESC + 4: return VR_MMIO_REG_QUEUE_DESC_HIGH;
	case VR_VPCI_Q_DRIVER: return VR_MMIO_REG_QUEUE_DRIVER_LOW;
	case VR_VPCI_Q_DRIVER + 4: return VR_MMIO_REG_QUEUE_DRIVER_HIGH;
	case VR_VPCI_Q_DEVICE: return VR_MMIO_REG_QUEUE_DEVICE_LOW;
	case VR_VPCI_Q_DEVICE + 4: return VR_MMIO_REG_QUEUE_DEVICE_HIGH;
	case VR_VPCI_Q_RESET: return VR_MMIO_REG_QUEUE_RESET;
	default: return 0;
	}
}

static uint32_t mem_read(void *ctx, uint64_t addr, unsigned width)
{
	struct pt *p = (struct pt *)ctx;
	long off = in_bar4(p, addr, width);
	uint32_t r;

	if (off < 0)
		return 0xffffffffu;
	if (off >= OFF_COMMON && off < OFF_COMMON + 0x40) {
		switch (off) {
		case VR_VPCI_MSIX_CONFIG: return p->msix_config;
		case VR_VPCI_NUM_QUEUES: return TD_NQ;
		case VR_VPCI_Q_SELECT: return p->q_sel;
		case VR_VPCI_Q_MSIX: return p->q_sel < TD_NQ ? p->q_msix[p->q_sel] : 0;
		case VR_VPCI_Q_NOTIFY_OFF: return (uint32_t)(p->q_sel + p->lie.notify_off) & 0xffffu;
		case VR_VPCI_Q_SIZE:
			/* The maximum until a size is written (4.1.4.3). */
			return vr_mmio_dev_read(&p->t->dev,
						p->q_sel < TD_NQ && p->q_size_written[p->q_sel]
							? VR_MMIO_REG_QUEUE_NUM
							: VR_MMIO_REG_QUEUE_NUM_MAX,
						4);
		}
		r = common_to_mmio((uint32_t)off);
		assert_true(r != 0 || off == VR_VPCI_DFSELECT);
		return vr_mmio_dev_read(&p->t->dev, r, 4);
	}
	if (off == OFF_ISR) {
		/* Reading the ISR status acknowledges it. */
		uint32_t isr = vr_mmio_dev_read(&p->t->dev, VR_MMIO_REG_INTERRUPT_STATUS, 4);

		if (isr)
			(void)vr_mmio_dev_write(&p->t->dev, VR_MMIO_REG_INTERRUPT_ACK, 4, isr);
		return isr;
	}
	if (off >= OFF_DEVICE && off < OFF_DEVICE + 0x1000)
		return vr_mmio_dev_read(&p->t->dev, VR_MMIO_REG_CONFIG + (uint32_t)(off - OFF_DEVICE),
					width);
	return 0;
}

static void mem_write(void *ctx, uint64_t addr, uint32_t val, unsigned width)
{
	struct pt *p = (struct pt *)ctx;
	long off = in_bar1(p, addr, width);

	if (off >= 0) {
		p->msix_table[off / 16][(off % 16) / 4] = val;
		return;
	}
	off = in_bar4(p, addr, width);

	if (off < 0)
		return;
	if (off >= OFF_COMMON && off < OFF_COMMON + 0x40) {
		switch (off) {
		case VR_VPCI_MSIX_CONFIG: p->msix_config = (uint16_t)val; return;
		case VR_VPCI_Q_SELECT:
			p->q_sel = (uint16_t)val;
			(void)vr_mmio_dev_write(&p->t->dev, VR_MMIO_REG_QUEUE_SEL, 4, val);
			return;
		case VR_VPCI_Q_MSIX:
			if (p->q_sel < TD_NQ)
				p->q_msix[p->q_sel] = (uint16_t)val;
			return;
		case VR_VPCI_Q_SIZE:
			if (p->q_sel < TD_NQ)
				p->q_size_written[p->q_sel] = 1;
			(void)vr_mmio_dev_write(&p->t->dev, VR_MMIO_REG_QUEUE_NUM, 4, val);
			return;
		case VR_VPCI_STATUS:
			if (val == 0)
				memset(p->q_size_written, 0, sizeof(p->q_size_written));
			break;
		case VR_VPCI_Q_RESET:
			/* A reset queue shows its maximum size again (the
			 * size register returns to its default). */
			if (val == 1 && p->q_sel < TD_NQ)
				p->q_size_written[p->q_sel] = 0;
			break;
		}
		if (common_to_mmio((uint32_t)off))
			(void)vr_mmio_dev_write(&p->t->dev, common_to_mmio((uint32_t)off), 4, val);
		return;
	}
	if (off >= OFF_NOTIFY && off < OFF_NOTIFY + 0x1000) {
		/* Each queue's address: its queue_notify_off x multiplier. */
		uint32_t q = val & 0xffffu;

		assert_int_equal(width, 2);
		assert_int_equal((uint32_t)(off - OFF_NOTIFY), (q + p->lie.notify_off) * NOTIFY_MULT);
		p->notifies++;
		(void)vr_mmio_dev_write(&p->t->dev, VR_MMIO_REG_QUEUE_NOTIFY, 4, q);
		return;
	}
	if (off >= OFF_DEVICE && off < OFF_DEVICE + 0x1000)
		(void)vr_mmio_dev_write(&p->t->dev, VR_MMIO_REG_CONFIG + (uint32_t)(off - OFF_DEVICE),
					width, val);
}

static const struct vr_pci_access acc = {cfg_read, cfg_write, mem_read, mem_write};

static uint64_t to_bus(void *ctx, const void *ptr)
{
	struct td *t = (struct td *)ctx;

	return TD_GPA + (uint64_t)((const unsigned char *)ptr - t->arena);
}

static struct pt *pt_new(const struct lies *l)
{
	struct pt *p = (struct pt *)calloc(1, sizeof(*p));

	assert_non_null(p);
	p->t = td_new(TD_OFFER);
	p->t->serve = td_serve_reverse;
	if (l)
		p->lie = *l;
	else
		p->lie.common_bar = -1;
	build(p);
	return p;
}

static void pt_free(struct pt *p)
{
	td_free(p->t);
	free(p);
}

static int probe(struct pt *p, struct vr_pci_bus *bus, struct vr_virtio_pci *vp,
		 uint64_t win_size)
{
	assert_int_equal(vr_pci_bus_init_access(bus, &acc, p, WIN_BASE, win_size), 0);
	return vr_virtio_pci_probe(vp, bus, VR_VIRTIO_ID_CONSOLE, 0);
}

/* ---- The layout matches <linux/virtio_pci.h> --------------------------------- */

static void test_layout_matches_linux(void **state)
{
	(void)state;
	assert_int_equal(VR_VPCI_CAP_CFG_TYPE, VIRTIO_PCI_CAP_CFG_TYPE);
	assert_int_equal(VR_VPCI_CAP_BAR, VIRTIO_PCI_CAP_BAR);
	assert_int_equal(VR_VPCI_CAP_OFFSET, VIRTIO_PCI_CAP_OFFSET);
	assert_int_equal(VR_VPCI_CAP_LENGTH, VIRTIO_PCI_CAP_LENGTH);
	assert_int_equal(VR_VPCI_CAP_NOTIFY_MULT, VIRTIO_PCI_NOTIFY_CAP_MULT);
	assert_int_equal(VR_VPCI_CAP_LEN_MIN, sizeof(struct virtio_pci_cap));
	assert_int_equal(VR_VPCI_NOTIFY_CAP_LEN_MIN, sizeof(struct virtio_pci_notify_cap));
	assert_int_equal(VR_VPCI_CAP_COMMON, VIRTIO_PCI_CAP_COMMON_CFG);
	assert_int_equal(VR_VPCI_CAP_NOTIFY, VIRTIO_PCI_CAP_NOTIFY_CFG);
	assert_int_equal(VR_VPCI_CAP_ISR, VIRTIO_PCI_CAP_ISR_CFG);
	assert_int_equal(VR_VPCI_CAP_DEVICE, VIRTIO_PCI_CAP_DEVICE_CFG);
	assert_int_equal(VR_VPCI_CAP_PCI_CFG, VIRTIO_PCI_CAP_PCI_CFG);
	assert_int_equal(VR_VPCI_DFSELECT, VIRTIO_PCI_COMMON_DFSELECT);
	assert_int_equal(VR_VPCI_DF, VIRTIO_PCI_COMMON_DF);
	assert_int_equal(VR_VPCI_GFSELECT, VIRTIO_PCI_COMMON_GFSELECT);
	assert_int_equal(VR_VPCI_GF, VIRTIO_PCI_COMMON_GF);
	assert_int_equal(VR_VPCI_MSIX_CONFIG, VIRTIO_PCI_COMMON_MSIX);
	assert_int_equal(VR_VPCI_NUM_QUEUES, VIRTIO_PCI_COMMON_NUMQ);
	assert_int_equal(VR_VPCI_STATUS, VIRTIO_PCI_COMMON_STATUS);
	assert_int_equal(VR_VPCI_CFG_GENERATION, VIRTIO_PCI_COMMON_CFGGENERATION);
	assert_int_equal(VR_VPCI_Q_SELECT, VIRTIO_PCI_COMMON_Q_SELECT);
	assert_int_equal(VR_VPCI_Q_SIZE, VIRTIO_PCI_COMMON_Q_SIZE);
	assert_int_equal(VR_VPCI_Q_MSIX, VIRTIO_PCI_COMMON_Q_MSIX);
	assert_int_equal(VR_VPCI_Q_ENABLE, VIRTIO_PCI_COMMON_Q_ENABLE);
	assert_int_equal(VR_VPCI_Q_NOTIFY_OFF, VIRTIO_PCI_COMMON_Q_NOFF);
	assert_int_equal(VR_VPCI_Q_DESC, VIRTIO_PCI_COMMON_Q_DESCLO);
	assert_int_equal(VR_VPCI_Q_DRIVER, offsetof(struct virtio_pci_common_cfg, queue_avail_lo));
	assert_int_equal(VR_VPCI_Q_DEVICE, offsetof(struct virtio_pci_common_cfg, queue_used_lo));
	assert_int_equal(VR_VPCI_COMMON_LEN_MIN, sizeof(struct virtio_pci_common_cfg));
	assert_int_equal(VR_PCI_CAP_ID_VNDR, 0x09);
}

/* Queue @num entries in the 16 KiB of @ring, with @state as its private
 * state, or fresh state of the right size when @state is NULL (returned:
 * the caller frees it). */
static void *queue_cfg(struct vr_virtio_queue_cfg *qc, uint64_t features, uint32_t num,
		       unsigned char *ring, void *state)
{
	memset(qc, 0, sizeof(*qc));
	qc->num = num;
	qc->ring = ring;
	qc->ring_len = 0x4000u;
	qc->state_len = vr_virtio_queue_state_size(features, num);
	if (!state)
		state = aligned_alloc(64, (qc->state_len + 63) & ~(size_t)63);
	assert_non_null(state);
	qc->state = state;
	return state;
}

/* ---- A correct device: discovery, bring-up, messages ------------------------ */

struct rig {
	struct pt *p;
	struct vr_pci_bus bus;
	struct vr_virtio_pci vp;
	struct vr_virtio_dev vd;
	struct vr_virtio_queue vq[2];
	void *qstate[2];
};

static void rig_up(struct rig *r, uint64_t wanted)
{
	static const uint32_t num[2] = {128, 64};
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->p = pt_new(NULL);
	assert_int_equal(probe(r->p, &r->bus, &r->vp, WIN_SIZE), 0);
	/* BARs placed in the window, aligned, decoding and DMA on. */
	assert_int_equal(r->vp.pci.bar_size[1], BAR1_SIZE);
	assert_int_equal(r->vp.pci.bar_size[4], BAR4_SIZE);
	assert_int_equal(r->vp.pci.bar_addr[4] % BAR4_SIZE, 0);
	assert_true(r->vp.pci.bar_addr[1] >= WIN_BASE && r->vp.pci.bar_addr[4] >= WIN_BASE);
	assert_true(r->vp.pci.bar_addr[4] + BAR4_SIZE <= WIN_BASE + WIN_SIZE);
	assert_true(r->vp.pci.bar_addr[1] + BAR1_SIZE <= r->vp.pci.bar_addr[4] ||
		    r->vp.pci.bar_addr[4] + BAR4_SIZE <= r->vp.pci.bar_addr[1]);
	assert_int_equal(r->p->cfg[SLOT][VR_PCI_CFG_COMMAND] &
				 (VR_PCI_CMD_MEMORY | VR_PCI_CMD_BUS_MASTER),
			 VR_PCI_CMD_MEMORY | VR_PCI_CMD_BUS_MASTER);
	assert_int_equal(vr_virtio_pci_slot(&r->vp), SLOT);
	assert_int_equal(vr_virtio_pci_int_pin(&r->vp), 1);
	assert_int_equal(r->p->msix_config, VR_VPCI_NO_VECTOR);

	assert_int_equal(vr_virtio_init(&r->vd, &vr_virtio_pci_bus_ops, &r->vp, to_bus, r->p->t), 0);
	assert_int_equal(vr_virtio_begin(&r->vd), 0);
	assert_true(vr_virtio_device_features(&r->vd) == TD_OFFER);
	assert_int_equal(vr_virtio_negotiate(&r->vd, wanted), 0);
	assert_true(vr_virtio_features(&r->vd) == vr_mmio_dev_features(&r->p->t->dev));
	for (i = 0; i < 2; i++) {
		struct vr_virtio_queue_cfg qc;
		int rc;

		r->qstate[i] = queue_cfg(&qc, vr_virtio_features(&r->vd), num[i],
					 r->p->t->arena + i * 0x4000u, NULL);
		rc = vr_virtio_queue_setup(&r->vd, &r->vq[i], (uint16_t)i, &qc);
		assert_int_equal(rc, (int)num[i]);
		assert_int_equal(r->p->q_msix[i], VR_VPCI_NO_VECTOR);
	}
	assert_int_equal(vr_virtio_driver_ok(&r->vd), 0);
	assert_true(vr_mmio_dev_live(&r->p->t->dev));
}

static void rig_down(struct rig *r)
{
	assert_int_equal(r->p->stray, 0);
	assert_int_equal(r->vp.bad_accesses, 0);
	assert_int_equal(vr_mmio_dev_stats(&r->p->t->dev)->violations, 0);
	free(r->qstate[0]);
	free(r->qstate[1]);
	pt_free(r->p);
}

/* @count messages on queue @q, @batch per kick, each answered reversed;
 * interrupts taken through the ISR as the IRQ handler would. */
static void exchange(struct rig *r, unsigned q, unsigned count, unsigned batch)
{
	struct td *t = r->p->t;
	struct vr_virtio_queue *vq = &r->vq[q];
	uint32_t base = TD_POOL + q * 0x2000u;
	unsigned sent = 0, got = 0, irqs = 0;

	while (got < count) {
		unsigned k;
		int rc;

		for (k = 0; k < batch && sent < count; k++, sent++) {
			uint64_t out = TD_GPA + base + (sent % 32) * 128;
			struct vr_seg seg[2] = {{out, 0}, {out + 64, 64}};

			seg[0].len = (uint32_t)snprintf((char *)td_ptr(t, out), 64,
							"pci q%u #%u", q, sent);
			rc = vr_virtio_queue_add(vq, seg, 1, 1, (void *)(uintptr_t)(sent + 1));
			assert_true(rc >= 0);
		}
		assert_true(vr_virtio_queue_kick(vq) >= 0);
		for (;;) {
			struct vr_used_buf u;
			char expect[64];
			const unsigned char *back;
			unsigned idx, j;
			int n;

			if (t->irq_level) {
				rc = vr_virtio_interrupt(&r->vd);
				assert_int_equal(rc, VR_VIRTIO_INT_VRING);
				/* The ISR read deasserted the line. */
				assert_int_equal(t->irq_level, 0);
				irqs++;
			}
			rc = vr_virtio_queue_get_used(vq, &u);
			if (rc == VR_EAGAIN) {
				rc = vr_virtio_queue_arm(vq);
				assert_true(rc >= 0);
				if (rc == 0 && got == sent)
					break;
				continue;
			}
			assert_int_equal(rc, 0);
			idx = (unsigned)(uintptr_t)u.cookie - 1;
			assert_int_equal(idx, got);
			n = snprintf(expect, sizeof(expect), "pci q%u #%u", q, idx);
			assert_int_equal(u.len, (uint32_t)n);
			back = (const unsigned char *)td_ptr(t, TD_GPA + base + (idx % 32) * 128 + 64);
			for (j = 0; j < (unsigned)n; j++)
				assert_int_equal(back[j], (unsigned char)expect[n - 1 - j]);
			got++;
		}
	}
	assert_int_equal(vr_virtio_queue_broken(vq), 0);
	assert_true(irqs > 0);
	assert_true(r->p->notifies > 0);
}

static void test_split(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, F(VR_F_EVENT_IDX));
	assert_false(vr_virtio_features(&r.vd) & F(VR_F_RING_PACKED));
	exchange(&r, 0, 2000, 8);
	exchange(&r, 1, 500, 1);
	rig_down(&r);
}

static void test_packed(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, F(VR_F_RING_PACKED) | F(VR_F_EVENT_IDX));
	assert_true(vr_virtio_features(&r.vd) & F(VR_F_RING_PACKED));
	exchange(&r, 0, 2000, 8);
	exchange(&r, 1, 500, 3);
	rig_down(&r);
}

static void test_config_read(void **state)
{
	struct rig r;
	unsigned char b[8];

	(void)state;
	rig_up(&r, 0);
	assert_int_equal(vr_virtio_config_read(&r.vd, 0, b, 8), 0);
	assert_memory_equal(b, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	rig_down(&r);
}

static void test_queue_reset(void **state)
{
	struct rig r;
	struct vr_virtio_queue_cfg qc;
	int rc;

	(void)state;
	rig_up(&r, F(VR_F_RING_RESET));
	exchange(&r, 0, 100, 4);
	assert_int_equal(vr_virtio_queue_reset(&r.vq[0]), 0);
	/* Enable it again: the same memory, a fresh ring. */
	queue_cfg(&qc, vr_virtio_features(&r.vd), 128, r.p->t->arena, r.qstate[0]);
	rc = vr_virtio_queue_setup(&r.vd, &r.vq[0], 0, &qc);
	assert_int_equal(rc, 128);
	exchange(&r, 0, 100, 4);
	rig_down(&r);
}

/* A transitional id whose subsystem id names the type is found too; a
 * function of another type is not taken. */
static void test_find_by_type(void **state)
{
	struct pt *p = pt_new(NULL);
	struct vr_pci_bus bus;
	struct vr_virtio_pci vp;

	(void)state;
	put16(p->cfg[SLOT], VR_PCI_CFG_DEVICE, 0x1003); /* transitional console */
	assert_int_equal(probe(p, &bus, &vp, WIN_SIZE), 0);
	assert_int_equal(vr_pci_bus_init_access(&bus, &acc, p, WIN_BASE, WIN_SIZE), 0);
	assert_int_equal(vr_virtio_pci_probe(&vp, &bus, VR_VIRTIO_ID_RNG, 0), VR_ENODEV);
	assert_int_equal(vr_virtio_pci_probe(&vp, &bus, VR_VIRTIO_ID_CONSOLE, 1), VR_ENODEV);
	assert_int_equal(p->stray, 0);
	pt_free(p);
}

/* ---- A lying function ----------------------------------------------------- */

static int probe_lie(const struct lies *l, uint64_t win)
{
	struct pt *p = pt_new(l);
	struct vr_pci_bus bus;
	struct vr_virtio_pci vp;
	int rc = probe(p, &bus, &vp, win);

	/* Whatever it said, nothing was read outside a BAR. */
	assert_int_equal(p->stray, 0);
	pt_free(p);
	return rc;
}

static void test_lie_cap_outside_bar(void **state)
{
	struct lies l = {.common_bar = -1, .common_off = BAR4_SIZE - 0x20, .common_len = 0x40};

	(void)state;
	assert_int_equal(probe_lie(&l, WIN_SIZE), VR_EDEVICE);
	/* An offset + length that wraps in 32 bits. */
	l.common_off = 0xfffffff0u;
	l.common_len = 0x40;
	assert_int_equal(probe_lie(&l, WIN_SIZE), VR_EDEVICE);
	/* A BAR that is not implemented (BAR2: size 0). */
	l.common_bar = 2;
	l.common_off = 0;
	assert_int_equal(probe_lie(&l, WIN_SIZE), VR_EDEVICE);
	/* Too short to hold the common fields. */
	l.common_bar = -1;
	l.common_len = 0x20;
	assert_int_equal(probe_lie(&l, WIN_SIZE), VR_EDEVICE);
}

static void test_lie_cap_list(void **state)
{
	struct lies l = {.common_bar = -1, .loop = 1};

	(void)state;
	/* The list loops after the PCI_CFG capability: every structure was
	 * found before it, but the walk must still end. */
	assert_int_equal(probe_lie(&l, WIN_SIZE), VR_EDEVICE);
	l.loop = 0;
	l.ptr_into_header = 1;
	assert_int_equal(probe_lie(&l, WIN_SIZE), VR_EDEVICE);
}

static void test_lie_bar_size(void **state)
{
	struct lies l = {.common_bar = -1, .bar4_not_pow2 = 1};

	(void)state;
	assert_int_equal(probe_lie(&l, WIN_SIZE), VR_EDEVICE);
	/* A window too small for the BARs. */
	l.bar4_not_pow2 = 0;
	assert_int_equal(probe_lie(&l, 0x4000), VR_ENOSPC);
}

static void test_lie_missing_structure(void **state)
{
	struct lies l = {.common_bar = -1, .no_isr = 1};

	(void)state;
	assert_int_equal(probe_lie(&l, WIN_SIZE), VR_ENODEV);
}

static void test_lie_notify(void **state)
{
	struct lies l = {.common_bar = -1, .notify_mult = 3};

	(void)state;
	assert_int_equal(probe_lie(&l, WIN_SIZE), VR_EDEVICE);
	l.notify_mult = 0;
	l.notify_cap_short = 1;
	assert_int_equal(probe_lie(&l, WIN_SIZE), VR_EDEVICE);
}

/* A capability with a reserved BAR value is ignored (section 4.1.4), and
 * the next common capability is used. */
static void test_reserved_bar_ignored(void **state)
{
	struct lies l = {.common_bar = -1, .reserved_bar_dup = 1};

	(void)state;
	assert_int_equal(probe_lie(&l, WIN_SIZE), 0);
}

/* queue_notify_off pointing past the notify structure: the queue is never
 * enabled, the core reports VR_EQUEUE, no notification goes astray. */
static void test_lie_notify_off(void **state)
{
	struct lies l = {.common_bar = -1, .notify_off = 0x4000};
	struct pt *p = pt_new(&l);
	struct vr_pci_bus bus;
	struct vr_virtio_pci vp;
	struct vr_virtio_dev vd;
	struct vr_virtio_queue vq;
	struct vr_virtio_queue_cfg qc;
	void *st;

	(void)state;
	assert_int_equal(probe(p, &bus, &vp, WIN_SIZE), 0);
	assert_int_equal(vr_virtio_init(&vd, &vr_virtio_pci_bus_ops, &vp, to_bus, p->t), 0);
	assert_int_equal(vr_virtio_begin(&vd), 0);
	assert_int_equal(vr_virtio_negotiate(&vd, 0), 0);
	st = queue_cfg(&qc, vr_virtio_features(&vd), 64, p->t->arena, NULL);
	assert_int_equal(vr_virtio_queue_setup(&vd, &vq, 0, &qc), VR_EQUEUE);
	assert_true(vp.bad_accesses > 0);
	assert_int_equal(p->stray, 0);
	assert_int_equal(p->notifies, 0);
	free(st);
	pt_free(p);
}

/* Device config accesses beyond the structure are refused, not made. */
/* MSI-X: table entry 0 gets the address and data, unmasked; MSI-X on;
 * every queue's vector is 0. A table outside its BAR is refused. */
static void test_msix(void **state)
{
	struct lies l = {.common_bar = -1, .msix_outside = 1};
	struct pt *p = pt_new(NULL);
	struct vr_pci_bus bus;
	struct vr_virtio_pci vp;
	struct vr_virtio_dev vd;
	struct vr_virtio_queue vq;
	struct vr_virtio_queue_cfg qc;
	void *st;

	(void)state;
	assert_int_equal(probe(p, &bus, &vp, WIN_SIZE), 0);
	assert_false(vr_virtio_pci_msix(&vp));
	assert_int_equal(vr_virtio_pci_msix_enable(&vp, 0x08090040ull, 7), 0);
	assert_true(vr_virtio_pci_msix(&vp));
	assert_int_equal(p->msix_table[0][0], 0x08090040u);
	assert_int_equal(p->msix_table[0][1], 0);
	assert_int_equal(p->msix_table[0][2], 7);
	assert_int_equal(p->msix_table[0][3] & 1u, 0); /* unmasked */
	assert_int_equal(p->cfg[SLOT][0x43] & 0xc0u, 0x80u); /* enabled, function unmasked */
	assert_int_equal(vr_virtio_init(&vd, &vr_virtio_pci_bus_ops, &vp, to_bus, p->t), 0);
	assert_int_equal(vr_virtio_begin(&vd), 0);
	assert_int_equal(vr_virtio_negotiate(&vd, 0), 0);
	st = queue_cfg(&qc, vr_virtio_features(&vd), 64, p->t->arena, NULL);
	assert_int_equal(vr_virtio_queue_setup(&vd, &vq, 0, &qc), 64);
	assert_int_equal(p->q_msix[0], 0);
	assert_int_equal(p->stray, 0);
	free(st);
	pt_free(p);

	p = pt_new(&l);
	assert_int_equal(probe(p, &bus, &vp, WIN_SIZE), 0);
	assert_int_equal(vr_virtio_pci_msix_enable(&vp, 0x08090040ull, 0), VR_EDEVICE);
	assert_false(vr_virtio_pci_msix(&vp));
	assert_int_equal(p->stray, 0);
	pt_free(p);
}

static void test_config_bounds(void **state)
{
	struct rig r;
	unsigned char b[4];

	(void)state;
	rig_up(&r, 0);
	r.vp.devcfg_len = 8; /* as if the capability said 8 bytes */
	assert_int_equal(vr_virtio_config_read(&r.vd, 6, b, 4), 0);
	assert_true(r.vp.bad_accesses > 0);
	r.vp.bad_accesses = 0;
	rig_down(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_matches_linux),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_packed),
		cmocka_unit_test(test_config_read),
		cmocka_unit_test(test_queue_reset),
		cmocka_unit_test(test_find_by_type),
		cmocka_unit_test(test_lie_cap_outside_bar),
		cmocka_unit_test(test_lie_cap_list),
		cmocka_unit_test(test_lie_bar_size),
		cmocka_unit_test(test_lie_missing_structure),
		cmocka_unit_test(test_lie_notify),
		cmocka_unit_test(test_reserved_bar_ignored),
		cmocka_unit_test(test_lie_notify_off),
		cmocka_unit_test(test_config_bounds),
		cmocka_unit_test(test_msix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
