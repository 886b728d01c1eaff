/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bare-metal AArch64 image for qemu-system-aarch64 -M virt that drives
 * QEMU's own virtio devices with libvring's virtio driver core over
 * virtio-mmio: a virtio console (virtio-serial-device + virtconsole on a
 * chardev socket) serving the commands of protocol.h to a host process,
 * and a virtio-rng-device read through the same driver code.
 *
 * Interrupt driven: the GICv2 routes each virtio-mmio slot's line (SPI
 * 16 + slot, INTID 48 + slot) to bm_irq(), which reads and acknowledges
 * the device's interrupt status and drains the used rings. A polling mode
 * (command 'P') masks the line and polls instead. No libc, no MMU, one
 * core; exit through PSCI SYSTEM_OFF.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vring/virtio_drv.h>
#include <vring/virtio_mmio.h>

#include "protocol.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void bm_irq(void);
void bm_bad_exception(uint64_t esr, uint64_t elr, uint64_t far);
void bm_power_off(void);
int main(void);

/* ---- Platform: QEMU -M virt --------------------------------------------- */
#define UART_BASE 0x09000000u
#define UART_DR 0x00u
#define UART_FR 0x18u
#define UART_FR_TXFF 0x20u
#define GICD_BASE 0x08000000u
#define GICC_BASE 0x08010000u
#define MMIO_BASE 0x0a000000u
#define MMIO_STRIDE 0x200u
#define MMIO_SLOTS 32u
#define MMIO_INTID0 48u
#define PSCI_SYSTEM_OFF 0x84000008u

static inline void reg_w32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

static inline uint32_t reg_r32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}

static inline void irq_off(void)
{
	__asm__ volatile("msr daifset, #2" ::: "memory");
}

static inline void irq_on(void)
{
	__asm__ volatile("msr daifclr, #2" ::: "memory");
}

/* Wait for an interrupt with IRQs masked: wfi wakes on a pending IRQ even
 * when masked, so a check made before it cannot miss the wake-up. */
static inline void wait_irq(void)
{
	__asm__ volatile("dsb sy\n\twfi" ::: "memory");
}

static inline uint64_t cntvct(void)
{
	uint64_t v;

	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
}

static inline uint64_t cntfrq(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
	return v;
}

/* ---- UART output ----------------------------------------------------------- */
static void putc_uart(char c)
{
	while (reg_r32(UART_BASE + UART_FR) & UART_FR_TXFF)
		;
	reg_w32(UART_BASE + UART_DR, (uint32_t)(unsigned char)c);
}

static void puts_uart(const char *s)
{
	while (*s)
		putc_uart(*s++);
}

/* A tiny text builder, used for the UART and for reply payloads. */
struct text {
	char *p;
	uint32_t len, cap;
};

static void t_str(struct text *t, const char *s)
{
	while (*s && t->len < t->cap)
		t->p[t->len++] = *s++;
}

static void t_dec(struct text *t, uint64_t v)
{
	char b[24];
	int n = 0;

	do {
		b[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n-- && t->len < t->cap)
		t->p[t->len++] = b[n];
}

static void t_hex(struct text *t, uint64_t v)
{
	int i;
	bool started = false;

	t_str(t, "0x");
	for (i = 60; i >= 0; i -= 4) {
		unsigned d = (unsigned)(v >> i) & 15u;

		if (!d && !started && i)
			continue;
		started = true;
		if (t->len < t->cap)
			t->p[t->len++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
	}
}

static void t_kv(struct text *t, const char *k, uint64_t v, bool hex)
{
	if (t->len)
		t_str(t, " ");
	t_str(t, k);
	t_str(t, "=");
	if (hex)
		t_hex(t, v);
	else
		t_dec(t, v);
}

static char logbuf[256];

static void log_flush(struct text *t)
{
	uint32_t i;

	for (i = 0; i < t->len; i++)
		putc_uart(t->p[i]);
	putc_uart('\n');
	t->len = 0;
}

/* ---- GICv2 ----------------------------------------------------------------- */
static void gic_init(void)
{
	reg_w32(GICD_BASE + 0x000, 1);    /* GICD_CTLR: forward group 0 */
	reg_w32(GICC_BASE + 0x004, 0xff); /* GICC_PMR: every priority */
	reg_w32(GICC_BASE + 0x000, 1);    /* GICC_CTLR: signal to the core */
}

static void gic_enable(unsigned intid, bool on)
{
	uintptr_t bank = 4u * (intid / 32u);
	uint32_t bit = 1u << (intid % 32u);

	if (on) {
		/* Priority 0xa0, target CPU 0; level-sensitive is the reset
		 * configuration of an SPI, which a virtio-mmio line is. */
		*(volatile uint8_t *)(uintptr_t)(GICD_BASE + 0x400 + intid) = 0xa0;
		*(volatile uint8_t *)(uintptr_t)(GICD_BASE + 0x800 + intid) = 0x01;
		reg_w32(GICD_BASE + 0x100 + bank, bit); /* ISENABLER */
	} else {
		reg_w32(GICD_BASE + 0x180 + bank, bit); /* ICENABLER */
	}
}

/* ---- Devices ---------------------------------------------------------------- */
#define QSIZE 64u
#define RX_BUF 256u
#define TX_BUF (BV_HDR + BV_MAX_PAYLOAD + 8u)
#define RING_BYTES 8192u
#define STATE_BYTES 4096u

struct bm_dev {
	struct vr_mmio mmio;
	struct vr_virtio_dev vd;
	unsigned slot;
	unsigned intid;
	bool present;
};

static struct bm_dev con, rng;
static struct vr_virtio_queue rxq, txq, rngq;

static uint8_t ring_rx[RING_BYTES] __attribute__((aligned(4096)));
static uint8_t ring_tx[RING_BYTES] __attribute__((aligned(4096)));
static uint8_t ring_rng[RING_BYTES] __attribute__((aligned(4096)));
static uint64_t state_rx[STATE_BYTES / 8];
static uint64_t state_tx[STATE_BYTES / 8];
static uint64_t state_rng[STATE_BYTES / 8];

static uint8_t rx_bufs[QSIZE][RX_BUF] __attribute__((aligned(64)));
static uint8_t tx_bufs[QSIZE][TX_BUF] __attribute__((aligned(64)));
static uint8_t rng_buf[256] __attribute__((aligned(64)));

/* Shared between bm_irq() and the main loop; the main loop touches them
 * (and the queues) only with IRQs masked. */
static struct {
	uint16_t idx[QSIZE + 1];
	uint16_t len[QSIZE + 1];
	unsigned head, tail; /* FIFO of used receive buffers */
} rx_done;
static bool rx_posted[QSIZE]; /* buffer i is with the device */
static uint16_t tx_free[QSIZE];
static unsigned tx_nfree;
static volatile uint32_t rng_got; /* bytes of the last rng request, or 0 */
static bool polling;
static uint32_t con_max_ports; /* console config, read under ConfigGeneration */

static struct {
	uint64_t irqs, irq_spurious, isr_errors, ring_errors;
	uint64_t rx_msgs, tx_msgs, rx_bytes, bad_bytes, bad_frames;
	uint64_t tx_waits, rx_bufs_used;
} ctr;

static int fatal_err;

static void on_used(void *ctx, struct vr_virtio_queue *vq,
		    const struct vr_used_buf *b)
{
	uintptr_t i = (uintptr_t)b->cookie;

	(void)ctx;
	if (vq == &rxq) {
		unsigned next = (rx_done.tail + 1) % (QSIZE + 1);

		/* Cannot overflow: at most QSIZE receive buffers exist. */
		rx_done.idx[rx_done.tail] = (uint16_t)i;
		rx_done.len[rx_done.tail] = (uint16_t)b->len;
		rx_done.tail = next;
		rx_posted[i] = false;
		ctr.rx_bufs_used++;
	} else if (vq == &txq) {
		tx_free[tx_nfree++] = (uint16_t)i;
	} else if (vq == &rngq) {
		rng_got = b->len ? b->len : 0xffffffffu;
	}
}

/* Drain a device's queues, re-arming the ones that want interrupts and
 * draining again if a buffer slipped in meanwhile (bounded). */
static void service(struct bm_dev *d)
{
	int round, err;

	for (round = 0; round < 4; round++) {
		bool again = false;
		unsigned i;

		err = vr_virtio_drain(&d->vd, on_used, NULL);
		if (err < 0) {
			ctr.ring_errors++;
			fatal_err = err;
			return;
		}
		if (polling)
			return;
		for (i = 0; i < VR_VIRTIO_MAX_QUEUES; i++) {
			struct vr_virtio_queue *vq = d->vd.queues[i];

			/* The transmit queue stays quiet: its buffers are
			 * reclaimed in passing, and armed only when the main
			 * loop runs out of them. */
			if (!vq || vq == &txq)
				continue;
			if (vr_virtio_queue_arm(vq) == 1)
				again = true;
		}
		if (!again)
			return;
	}
}

void bm_irq(void)
{
	uint32_t iar = reg_r32(GICC_BASE + 0x00c); /* GICC_IAR */
	unsigned intid = iar & 0x3ffu;
	struct bm_dev *d = NULL;
	int r;

	if (intid >= 1020) {
		ctr.irq_spurious++;
		return;
	}
	if (con.present && intid == con.intid)
		d = &con;
	else if (rng.present && intid == rng.intid)
		d = &rng;
	ctr.irqs++;
	if (d) {
		r = vr_virtio_interrupt(&d->vd);
		if (r < 0)
			ctr.isr_errors++;
		/* DEVICE_NEEDS_RESET: the device is broken until a reset;
		 * the example stops and says so. */
		if (r == VR_ENEEDSRESET && !fatal_err)
			fatal_err = r;
		if (r == 0)
			ctr.irq_spurious++;
		service(d);
	}
	reg_w32(GICC_BASE + 0x010, iar); /* GICC_EOIR */
}

void bm_bad_exception(uint64_t esr, uint64_t elr, uint64_t far)
{
	struct text t = {logbuf, 0, sizeof(logbuf)};

	t_str(&t, "baremetal_virtio: unexpected exception");
	t_kv(&t, "esr", esr, true);
	t_kv(&t, "elr", elr, true);
	t_kv(&t, "far", far, true);
	log_flush(&t);
	bm_power_off();
}

void bm_power_off(void)
{
	register uint64_t x0 __asm__("x0") = PSCI_SYSTEM_OFF;

	__asm__ volatile("hvc #0" : "+r"(x0)::"memory");
	for (;;)
		__asm__ volatile("wfi");
}

static void log_err(const char *what, int err)
{
	struct text t = {logbuf, 0, sizeof(logbuf)};

	t_str(&t, "baremetal_virtio: error: ");
	t_str(&t, what);
	t_str(&t, ": ");
	t_str(&t, vr_errname(err));
	t_str(&t, " (");
	t_str(&t, vr_strerror(err));
	t_str(&t, ")");
	log_flush(&t);
}

/* Wanted by both devices: every ring feature the core can drive, and no
 * device-specific one (console port 0 only: no MULTIPORT). */
#define WANTED VR_VIRTIO_DRV_FEATURES

static int bring_up(struct bm_dev *d, const char *name)
{
	int err = vr_virtio_init(&d->vd, &vr_mmio_bus_ops, &d->mmio, NULL, NULL);

	if (!err)
		err = vr_virtio_begin(&d->vd);
	if (!err)
		err = vr_virtio_negotiate(&d->vd, WANTED);
	if (err)
		log_err(name, err);
	return err;
}

static int queue(struct bm_dev *d, struct vr_virtio_queue *vq, uint16_t idx,
		 uint8_t *ring, uint64_t *state)
{
	struct vr_virtio_queue_cfg qc;
	int n;

	qc.num = QSIZE;
	qc.ring = ring;
	qc.ring_len = RING_BYTES;
	qc.state = state;
	qc.state_len = STATE_BYTES;
	qc.flags = 0;
	qc.mem = vr_mem_window(NULL, 0, 0);
	n = vr_virtio_queue_setup(&d->vd, vq, idx, &qc);
	if (n < 0)
		log_err("queue set-up", n);
	return n;
}

static void probe_slots(void)
{
	struct text t = {logbuf, 0, sizeof(logbuf)};
	unsigned s;

	for (s = 0; s < MMIO_SLOTS; s++) {
		struct vr_mmio m;
		int err = vr_mmio_probe(&m, MMIO_BASE + MMIO_STRIDE * s);
		struct bm_dev *d = NULL;

		if (err == VR_ELEGACY && vr_mmio_device_id(&m) != 0) {
			t_str(&t, "baremetal_virtio: error: slot ");
			t_dec(&t, s);
			t_kv(&t, "device_id", vr_mmio_device_id(&m), false);
			t_str(&t, ": legacy virtio-mmio (version 1): VR_ELEGACY (");
			t_str(&t, vr_strerror(VR_ELEGACY));
			t_str(&t, "); start QEMU with -global virtio-mmio.force-legacy=false");
			log_flush(&t);
			continue;
		}
		if (err)
			continue;
		if (vr_mmio_device_id(&m) == VR_VIRTIO_ID_CONSOLE && !con.present)
			d = &con;
		else if (vr_mmio_device_id(&m) == VR_VIRTIO_ID_RNG && !rng.present)
			d = &rng;
		if (!d)
			continue;
		d->mmio = m;
		d->slot = s;
		d->intid = MMIO_INTID0 + s;
		d->present = true;
		t_str(&t, "baremetal_virtio: slot ");
		t_dec(&t, s);
		t_kv(&t, "device_id", vr_mmio_device_id(&m), false);
		t_kv(&t, "vendor", vr_mmio_vendor_id(&m), true);
		t_kv(&t, "intid", d->intid, false);
		log_flush(&t);
	}
}

/* ---- Console data path ------------------------------------------------------ */
static int post_rx(unsigned i)
{
	struct vr_seg s;
	int err;

	s.addr = (uint64_t)(uintptr_t)rx_bufs[i];
	s.len = RX_BUF;
	err = vr_virtio_queue_add(&rxq, &s, 0, 1, (void *)(uintptr_t)i);
	if (err >= 0)
		rx_posted[i] = true;
	return err;
}

/* Per-queue reset (VIRTIO_F_RING_RESET) of the receive queue, then set it
 * up again and give back the buffers the device held. The host sends
 * nothing else until the reply, so no byte is in flight. */
static int reset_rx(void)
{
	unsigned i;
	int err;

	irq_off();
	err = vr_virtio_queue_reset(&rxq);
	if (!err) {
		err = queue(&con, &rxq, 0, ring_rx, state_rx);
		err = err < 0 ? err : 0;
	}
	for (i = 0; !err && i < rxq.num; i++) {
		if (!rx_posted[i])
			continue;
		err = post_rx(i);
		err = err < 0 ? err : 0;
	}
	if (!err && !polling)
		vr_virtio_queue_arm(&rxq);
	irq_on();
	return err;
}

/* A free transmit buffer, waiting (interrupt or poll) while none is. The
 * transmit queue interrupts only while this waits. */
static int get_tx(void)
{
	unsigned spins = 0;
	bool armed = false;

	for (;;) {
		struct vr_used_buf b;
		int err;

		irq_off();
		while ((err = vr_virtio_queue_get_used(&txq, &b)) == 0)
			tx_free[tx_nfree++] = (uint16_t)(uintptr_t)b.cookie;
		if (err != VR_EAGAIN) {
			irq_on();
			return err;
		}
		if (tx_nfree) {
			int i = tx_free[--tx_nfree];

			if (armed)
				vr_virtio_queue_suppress(&txq);
			irq_on();
			return i;
		}
		/* Out of buffers: push what is queued, then wait for the
		 * device to hand some back. */
		vr_virtio_queue_kick(&txq);
		ctr.tx_waits++;
		if (!polling) {
			armed = true;
			if (vr_virtio_queue_arm(&txq) == 0)
				wait_irq();
		}
		irq_on();
		if (++spins > 100000000u)
			return VR_ETIMEDOUT;
	}
}

static void put_le16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Queue one reply frame; published by the kick at the end of the batch. */
static int send_frame(uint8_t cmd, uint32_t seq, const uint8_t *a, uint32_t alen,
		      const uint8_t *b, uint32_t blen)
{
	struct vr_seg s;
	uint8_t *p;
	int i, err;

	if (alen + blen > BV_MAX_PAYLOAD + 8u)
		return VR_EMSGSIZE;
	i = get_tx();
	if (i < 0)
		return i;
	p = tx_bufs[i];
	p[0] = BV_MAGIC;
	p[1] = cmd;
	put_le16(p + 2, alen + blen);
	put_le32(p + 4, seq);
	if (alen)
		memcpy(p + BV_HDR, a, alen);
	if (blen)
		memcpy(p + BV_HDR + alen, b, blen);
	s.addr = (uint64_t)(uintptr_t)p;
	s.len = BV_HDR + alen + blen;
	irq_off();
	err = vr_virtio_queue_add(&txq, &s, 1, 0, (void *)(uintptr_t)i);
	irq_on();
	if (err >= 0)
		ctr.tx_msgs++;
	return err < 0 ? err : 0;
}

static void kick_all(void)
{
	irq_off();
	vr_virtio_queue_kick(&txq);
	vr_virtio_queue_kick(&rxq);
	irq_on();
}

static int read_rng(uint32_t n, uint8_t *out)
{
	struct vr_seg s;
	uint64_t t0 = cntvct(), limit = 2 * cntfrq();
	uint32_t got;
	int err;

	if (!rng.present)
		return VR_ENODEV;
	if (n == 0 || n > sizeof(rng_buf))
		return VR_EINVAL;
	s.addr = (uint64_t)(uintptr_t)rng_buf;
	s.len = n;
	irq_off();
	rng_got = 0;
	err = vr_virtio_queue_add(&rngq, &s, 0, 1, NULL);
	if (err >= 0)
		vr_virtio_queue_kick(&rngq);
	irq_on();
	if (err < 0)
		return err;
	for (;;) {
		irq_off();
		if (polling)
			service(&rng);
		got = rng_got;
		if (!got && !polling)
			wait_irq();
		irq_on();
		if (got)
			break;
		if (cntvct() - t0 > limit)
			return VR_ETIMEDOUT;
	}
	if (got == 0xffffffffu)
		return 0;
	memcpy(out, rng_buf, got);
	return (int)got;
}

static void set_polling(bool on)
{
	irq_off();
	polling = on;
	if (on) {
		gic_enable(con.intid, false);
		if (rng.present)
			gic_enable(rng.intid, false);
		vr_virtio_queue_suppress(&rxq);
		if (rng.present)
			vr_virtio_queue_suppress(&rngq);
	} else {
		vr_virtio_queue_arm(&rxq);
		if (rng.present)
			vr_virtio_queue_arm(&rngq);
		gic_enable(con.intid, true);
		if (rng.present)
			gic_enable(rng.intid, true);
	}
	irq_on();
}

static uint32_t features_text(char *buf, uint32_t cap)
{
	struct text t = {buf, 0, cap};

	t_kv(&t, "con_offered", vr_virtio_device_features(&con.vd), true);
	t_kv(&t, "con_features", vr_virtio_features(&con.vd), true);
	t_kv(&t, "con_slot", con.slot, false);
	t_kv(&t, "rx_num", rxq.num, false);
	t_kv(&t, "tx_num", txq.num, false);
	t_kv(&t, "packed", rxq.packed, false);
	t_kv(&t, "max_nr_ports", con_max_ports, false);
	if (rng.present) {
		t_kv(&t, "rng_offered", vr_virtio_device_features(&rng.vd), true);
		t_kv(&t, "rng_features", vr_virtio_features(&rng.vd), true);
		t_kv(&t, "rng_slot", rng.slot, false);
	}
	return t.len;
}

static uint32_t counters_text(char *buf, uint32_t cap)
{
	struct text t = {buf, 0, cap};

	t_kv(&t, "rx_msgs", ctr.rx_msgs, false);
	t_kv(&t, "tx_msgs", ctr.tx_msgs, false);
	t_kv(&t, "rx_bytes", ctr.rx_bytes, false);
	t_kv(&t, "bad_bytes", ctr.bad_bytes, false);
	t_kv(&t, "bad_frames", ctr.bad_frames, false);
	t_kv(&t, "irqs", ctr.irqs, false);
	t_kv(&t, "irq_spurious", ctr.irq_spurious, false);
	t_kv(&t, "isr_errors", ctr.isr_errors, false);
	t_kv(&t, "ring_errors", ctr.ring_errors, false);
	t_kv(&t, "rx_bufs_used", ctr.rx_bufs_used, false);
	t_kv(&t, "tx_waits", ctr.tx_waits, false);
	t_kv(&t, "rx_notifies", rxq.notifies, false);
	t_kv(&t, "tx_notifies", txq.notifies, false);
	t_kv(&t, "tx_kicks_suppressed", vr_virtio_queue_stats(&txq)->notify_suppressed, false);
	t_kv(&t, "polling", polling, false);
	return t.len;
}

static bool quit;
static uint8_t asm_buf[2 * (BV_HDR + BV_MAX_PAYLOAD) + RX_BUF];
static uint32_t asm_len;

static int handle_frame(uint8_t cmd, uint32_t seq, const uint8_t *pl, uint32_t len)
{
	static char text[512];
	uint8_t sum[4];
	uint32_t i, n;
	int r;

	ctr.rx_msgs++;
	switch (cmd) {
	case 'E':
		for (i = 0; i < len; i++)
			if (pl[i] != bv_pattern(seq, i))
				ctr.bad_bytes++;
		put_le32(sum, bv_fnv1a(pl, len));
		return send_frame('e', seq, pl, len, sum, 4);
	case 'C':
		n = counters_text(text, sizeof(text));
		return send_frame('c', seq, (const uint8_t *)text, n, NULL, 0);
	case 'F':
		n = features_text(text, sizeof(text));
		return send_frame('f', seq, (const uint8_t *)text, n, NULL, 0);
	case 'R':
		n = len >= 2 ? (uint32_t)pl[0] | (uint32_t)pl[1] << 8 : 0;
		r = read_rng(n, (uint8_t *)text);
		if (r < 0) {
			log_err("rng", r);
			r = 0;
		}
		return send_frame('r', seq, (const uint8_t *)text, (uint32_t)r, NULL, 0);
	case 'P':
		set_polling(len >= 1 && pl[0] != 0);
		return send_frame('p', seq, NULL, 0, NULL, 0);
	case 'X':
		r = reset_rx();
		n = 0;
		{
			struct text t = {text, 0, sizeof(text)};

			t_str(&t, "reset=");
			t_str(&t, vr_errname(r));
			n = t.len;
		}
		return send_frame('x', seq, (const uint8_t *)text, n, NULL, 0);
	case 'Q':
		quit = true;
		return send_frame('q', seq, NULL, 0, NULL, 0);
	default:
		ctr.bad_frames++;
		return 0;
	}
}

/* Parse every complete frame in the reassembly buffer. */
static int parse(void)
{
	uint32_t off = 0;
	int err = 0;

	while (asm_len - off >= BV_HDR) {
		const uint8_t *h = asm_buf + off;
		uint32_t len = (uint32_t)h[2] | (uint32_t)h[3] << 8;

		if (h[0] != BV_MAGIC || len > BV_MAX_PAYLOAD) {
			/* Resynchronise byte by byte on a damaged stream. */
			ctr.bad_frames++;
			off++;
			continue;
		}
		if (asm_len - off < BV_HDR + len)
			break;
		err = handle_frame(h[1], get_le32(h + 4), h + BV_HDR, len);
		off += BV_HDR + len;
		if (err)
			break;
	}
	if (off) {
		memmove(asm_buf, asm_buf + off, asm_len - off);
		asm_len -= off;
	}
	return err;
}

static int serve(void)
{
	int err;

	for (;;) {
		unsigned idx, len, handled = 0;

		irq_off();
		if (polling)
			service(&con);
		if (fatal_err) {
			irq_on();
			return fatal_err;
		}
		if (rx_done.head == rx_done.tail) {
			if (quit) {
				irq_on();
				return 0;
			}
			if (!polling)
				wait_irq();
			irq_on();
			continue;
		}
		irq_on();
		/* Everything the handler collected so far, then one kick for
		 * the replies and the receive buffers given back. */
		for (;;) {
			irq_off();
			if (rx_done.head == rx_done.tail) {
				irq_on();
				break;
			}
			idx = rx_done.idx[rx_done.head];
			len = rx_done.len[rx_done.head];
			rx_done.head = (rx_done.head + 1) % (QSIZE + 1);
			irq_on();
			if (len > RX_BUF || asm_len + len > sizeof(asm_buf)) {
				ctr.bad_frames++;
				asm_len = 0;
				len = 0;
			}
			memcpy(asm_buf + asm_len, rx_bufs[idx], len);
			asm_len += len;
			ctr.rx_bytes += len;
			irq_off();
			err = post_rx(idx);
			irq_on();
			if (err < 0)
				return err;
			err = parse();
			if (err)
				return err;
			if (++handled == QSIZE / 2) {
				kick_all();
				handled = 0;
			}
		}
		kick_all();
	}
}

/* Wait until the device has consumed every reply (the quit reply too). */
static void drain_tx(void)
{
	uint64_t t0 = cntvct(), limit = 2 * cntfrq();
	struct vr_used_buf b;

	kick_all();
	while (tx_nfree < txq.num && cntvct() - t0 < limit) {
		irq_off();
		while (vr_virtio_queue_get_used(&txq, &b) == 0)
			tx_free[tx_nfree++] = (uint16_t)(uintptr_t)b.cookie;
		irq_on();
	}
}

int main(void)
{
	struct text t = {logbuf, 0, sizeof(logbuf)};
	static char hello[512];
	uint32_t i, n;
	int err;

	puts_uart("baremetal_virtio: libvring virtio-mmio driver on qemu -M virt\n");
	gic_init();
	probe_slots();
	if (!con.present) {
		log_err("no usable virtio console", VR_ENODEV);
		return 1;
	}
	if (bring_up(&con, "console") ||
	    queue(&con, &rxq, 0, ring_rx, state_rx) < 0 ||
	    queue(&con, &txq, 1, ring_tx, state_tx) < 0) {
		vr_virtio_fail(&con.vd);
		return 1;
	}
	err = vr_virtio_driver_ok(&con.vd);
	if (err) {
		log_err("console DRIVER_OK", err);
		return 1;
	}
	{
		/* struct virtio_console_config: cols, rows (le16), max_nr_ports
		 * (le32) at offset 4. The device fills it whatever the features;
		 * reading it proves the ConfigGeneration path on a real device. */
		uint8_t cfg[8];

		err = vr_virtio_config_read(&con.vd, 0, cfg, sizeof(cfg));
		if (err) {
			log_err("console config", err);
			return 1;
		}
		con_max_ports = (uint32_t)cfg[4] | (uint32_t)cfg[5] << 8 |
				(uint32_t)cfg[6] << 16 | (uint32_t)cfg[7] << 24;
	}
	if (rng.present) {
		if (bring_up(&rng, "rng") || queue(&rng, &rngq, 0, ring_rng, state_rng) < 0 ||
		    vr_virtio_driver_ok(&rng.vd)) {
			vr_virtio_fail(&rng.vd);
			rng.present = false;
		}
	}
	for (i = 0; i < txq.num; i++)
		tx_free[tx_nfree++] = (uint16_t)i;
	vr_virtio_queue_suppress(&txq);
	for (i = 0; i < rxq.num; i++) {
		err = post_rx(i);
		if (err < 0) {
			log_err("receive buffers", err);
			return 1;
		}
	}
	set_polling(false); /* arms the queues, enables the lines */
	kick_all();

	n = features_text(hello, sizeof(hello));
	t_str(&t, "baremetal_virtio: ready ");
	for (i = 0; i < n && t.len < t.cap; i++)
		t.p[t.len++] = hello[i];
	log_flush(&t);
	err = send_frame('h', 0, (const uint8_t *)hello, n, NULL, 0);
	kick_all();
	if (!err)
		err = serve();
	if (err) {
		log_err("console", err);
		return 1;
	}
	drain_tx();
	n = counters_text(hello, sizeof(hello));
	t_str(&t, "baremetal_virtio: done ");
	for (i = 0; i < n && t.len < t.cap; i++)
		t.p[t.len++] = hello[i];
	log_flush(&t);
	return 0;
}
