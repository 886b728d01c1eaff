/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bare-metal aarch64 test image for qemu-system-aarch64 -M virt: libvring's
 * virtio driver core on its virtio-pci bus drives QEMU's virtio-rng-pci.
 *
 * No firmware has touched PCI: the image reaches configuration space
 * through ECAM, finds the device on bus 0, assigns its BARs from the PCI
 * memory window, enables it, finds the virtio structures through their
 * capabilities, negotiates (RING_PACKED when QEMU offers it), sets up the
 * one request queue, and reads random bytes REQUESTS times, each completion
 * taken from the device's INTx line through the GICv2 (the handler reads
 * the ISR status, which deasserts the line). It prints one line per step on
 * the PL011 UART, then "pci_rng: ok ..." or "pci_rng: FAIL ...", and powers
 * off through PSCI. tests/qemu/pci/run.sh boots it and checks the lines.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vring/virtio_drv.h>
#include <vring/virtio_pci.h>

#include "board.h"

void bm_irq(void);
void bm_bad_exception(uint64_t esr, uint64_t elr, uint64_t far);
void bm_power_off(void);
int main(void);

/* QEMU -M virt (hw/arm/virt.c memory map): PL011, GICv2, the high ECAM
 * window (highmem is on by default), the 32-bit PCI memory window, and
 * PCI INTA..INTD on SPIs 3..6, swizzled by slot. */
#define GICD_BASE 0x08000000u
#define GICC_BASE 0x08010000u
#define ECAM_BASE 0x4010000000ull
#define PCI_MEM_BASE 0x10000000ull
#define PCI_MEM_SIZE 0x2eff0000ull
#define PCI_SPI_BASE 3u
#define REQUESTS 64u
#define REQ_BYTES 32u
#define QSIZE 64u


static void put_err(const char *what, int err)
{
	puts_uart("pci_rng: FAIL ");
	puts_uart(what);
	puts_uart(": ");
	puts_uart(vr_errname(err));
	puts_uart(" (");
	puts_uart(vr_strerror(err));
	puts_uart(")\n");
}

void bm_power_off(void)
{
	board_power_off();
}

void bm_bad_exception(uint64_t esr, uint64_t elr, uint64_t far)
{
	puts_uart("pci_rng: FAIL exception esr=");
	put_hex(esr);
	puts_uart(" elr=");
	put_hex(elr);
	puts_uart(" far=");
	put_hex(far);
	puts_uart("\n");
	bm_power_off();
}

static struct vr_pci_bus bus;
static struct vr_virtio_pci vp;
static struct vr_virtio_dev vd;
static struct vr_virtio_queue vq;
static uint8_t ring[16384] __attribute__((aligned(4096)));
static uint64_t state[1024];
static uint8_t buf[REQUESTS][REQ_BYTES] __attribute__((aligned(64)));
static unsigned intid;
static volatile unsigned irqs, spurious, done;
static volatile uint32_t got_len[REQUESTS];
static volatile int irq_err;

void bm_irq(void)
{
	uint32_t iar = r32(GICC_BASE + 0x00c);
	struct vr_used_buf u;
	int r;

	if ((iar & 0x3ffu) != intid) {
		spurious++;
		if ((iar & 0x3ffu) < 1020)
			w32(GICC_BASE + 0x010, iar);
		return;
	}
	irqs++;
	/* Reading the ISR status acknowledges the interrupt: the line drops
	 * before the GIC is told the interrupt was handled. */
	r = vr_virtio_interrupt(&vd);
	if (r < 0)
		irq_err = r;
	else if (r == 0)
		spurious++;
	while ((r = vr_virtio_queue_get_used(&vq, &u)) == 0) {
		unsigned i = (unsigned)(uintptr_t)u.cookie;

		if (i < REQUESTS) {
			got_len[i] = u.len;
			done++;
		}
	}
	if (r != VR_EAGAIN)
		irq_err = r;
	w32(GICC_BASE + 0x010, iar);
}

static void gic_setup(unsigned id)
{
	w32(GICD_BASE + 0x000, 1);    /* distributor on */
	w32(GICC_BASE + 0x004, 0xff); /* every priority */
	w32(GICC_BASE + 0x000, 1);    /* CPU interface on */
	/* PCI INTx is level-sensitive, the reset configuration of an SPI. */
	*(volatile uint8_t *)(uintptr_t)(GICD_BASE + 0x400 + id) = 0xa0;
	*(volatile uint8_t *)(uintptr_t)(GICD_BASE + 0x800 + id) = 0x01;
	w32(GICD_BASE + 0x100 + 4u * (id / 32u), 1u << (id % 32u));
}

static int run(void)
{
	struct vr_virtio_queue_cfg qc;
	uint64_t feat;
	unsigned i, same = 0, zero = 0;
	int n, err;

	err = vr_pci_bus_init(&bus, (uintptr_t)ECAM_BASE, PCI_MEM_BASE, PCI_MEM_SIZE);
	if (!err)
		err = vr_virtio_pci_probe(&vp, &bus, VR_VIRTIO_ID_RNG, 0);
	if (err) {
		put_err("probe virtio-rng-pci", err);
		return 1;
	}
	/* The swizzle of the virt board: slot + pin - 1, modulo 4. */
	intid = 32u + PCI_SPI_BASE + (vr_virtio_pci_slot(&vp) + vr_virtio_pci_int_pin(&vp) - 1u) % 4u;
	puts_uart("pci_rng: found slot ");
	put_dec(vr_virtio_pci_slot(&vp));
	puts_uart(" device ");
	put_hex(vp.pci.device);
	puts_uart(" bar4 ");
	put_hex(vp.pci.bar_addr[4]);
	puts_uart(" intx pin ");
	put_dec(vr_virtio_pci_int_pin(&vp));
	puts_uart(" intid ");
	put_dec(intid);
	puts_uart("\n");
	if (vr_virtio_pci_int_pin(&vp) == 0) {
		puts_uart("pci_rng: FAIL no INTx pin\n");
		return 1;
	}
	err = vr_virtio_init(&vd, &vr_virtio_pci_bus_ops, &vp, NULL, NULL);
	if (!err)
		err = vr_virtio_begin(&vd);
	if (!err)
		err = vr_virtio_negotiate(&vd, VR_VIRTIO_DRV_FEATURES);
	if (err) {
		put_err("negotiate", err);
		vr_virtio_fail(&vd);
		return 1;
	}
	feat = vr_virtio_features(&vd);
	puts_uart("pci_rng: offered ");
	put_hex(vr_virtio_device_features(&vd));
	puts_uart(" negotiated ");
	put_hex(feat);
	puts_uart(feat & VR_FEATURE(VR_F_RING_PACKED) ? " packed\n" : " split\n");
	qc.num = QSIZE;
	qc.ring = ring;
	qc.ring_len = sizeof(ring);
	qc.state = state;
	qc.state_len = sizeof(state);
	/* QEMU sets no WRITE flag on packed used descriptors: take their
	 * length anyway (still checked against the buffer's size). */
	qc.flags = VR_QF_USED_LEN_WITHOUT_WRITE;
	qc.mem = vr_mem_window(NULL, 0, 0);
	n = vr_virtio_queue_setup(&vd, &vq, 0, &qc);
	if (n < 0) {
		put_err("queue set-up", n);
		vr_virtio_fail(&vd);
		return 1;
	}
	err = vr_virtio_driver_ok(&vd);
	if (err) {
		put_err("driver ok", err);
		return 1;
	}
	puts_uart("pci_rng: queue 0 size ");
	put_dec((uint64_t)n);
	puts_uart("\n");
	gic_setup(intid);

	/* One request at a time: each completion arrives by interrupt. */
	for (i = 0; i < REQUESTS; i++) {
		struct vr_seg s = {(uint64_t)(uintptr_t)buf[i], REQ_BYTES};
		uint64_t t0, hz;

		__asm__ volatile("msr daifset, #2" ::: "memory");
		/* Ask for the used-buffer interrupt (used_event or the flags)
		 * before the request exists: whenever the device completes
		 * it, the interrupt is due. (Armed after the kick, a fast
		 * device could finish in between, unasked, and arm would
		 * report the buffer instead.) Nothing is pending now. */
		err = vr_virtio_queue_arm(&vq);
		if (err > 0)
			err = VR_ESTATE;
		if (err >= 0)
			err = vr_virtio_queue_add(&vq, &s, 0, 1, (void *)(uintptr_t)i);
		if (err >= 0)
			err = vr_virtio_queue_kick(&vq);
		if (err < 0) {
			put_err("add", err);
			return 1;
		}
		/* Only the interrupt handler moves `done`: wait for it with
		 * IRQs open, at most two seconds of the generic timer. */
		t0 = ticks();
		hz = tick_hz();
		__asm__ volatile("msr daifclr, #2" ::: "memory");
		for (;;) {
			if (done > i || irq_err)
				break;
			if (ticks() - t0 > 2 * hz)
				break;
			__asm__ volatile("yield" ::: "memory");
		}
		if (irq_err) {
			put_err("interrupt", irq_err);
			return 1;
		}
		if (done <= i) {
			struct vr_used_buf u;

			puts_uart("pci_rng: FAIL no completion by interrupt for request ");
			put_dec(i);
			puts_uart(" (interrupts ");
			put_dec(irqs);
			puts_uart(", spurious ");
			put_dec(spurious);
			puts_uart(", used buffer waiting: ");
			puts_uart(vr_virtio_queue_get_used(&vq, &u) == 0 ? "yes)\n" : "no)\n");
			return 1;
		}
	}
	for (i = 0; i < REQUESTS; i++) {
		unsigned j, z = 0;

		if (got_len[i] != REQ_BYTES) {
			puts_uart("pci_rng: FAIL short read ");
			put_dec(got_len[i]);
			puts_uart("\n");
			return 1;
		}
		for (j = 0; j < REQ_BYTES; j++)
			z += buf[i][j] == 0;
		zero += z == REQ_BYTES;
		if (i) {
			for (j = 0; j < REQ_BYTES && buf[i][j] == buf[i - 1][j]; j++)
				;
			same += j == REQ_BYTES;
		}
	}
	if (zero || same) {
		puts_uart("pci_rng: FAIL the bytes are not random\n");
		return 1;
	}
	puts_uart("pci_rng: first bytes ");
	for (i = 0; i < 8; i++) {
		putc_uart("0123456789abcdef"[buf[0][i] >> 4]);
		putc_uart("0123456789abcdef"[buf[0][i] & 15u]);
	}
	puts_uart("\npci_rng: ok requests ");
	put_dec(REQUESTS);
	puts_uart(" bytes ");
	put_dec(REQUESTS * REQ_BYTES);
	puts_uart(" interrupts ");
	put_dec(irqs);
	puts_uart(" spurious ");
	put_dec(spurious);
	puts_uart(" bad_accesses ");
	put_dec(vp.bad_accesses);
	puts_uart(feat & VR_FEATURE(VR_F_RING_PACKED) ? " format packed" : " format split");
	puts_uart(feat & VR_FEATURE(VR_F_EVENT_IDX) ? " event_idx 1\n" : " event_idx 0\n");
	return 0;
}

int main(void)
{
	puts_uart("pci_rng: libvring virtio-pci driver, bare metal\n");
	run();
	return 0;
}
