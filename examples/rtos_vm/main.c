/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RTOS guest of the AAOS <-> RTOS scenario, bare metal on
 * qemu-system-aarch64 -M virt, with libvring as its virtio driver:
 *
 *   PCI bus 0 through ECAM, no firmware: the virtio-serial-pci function is
 *   found, its BARs assigned, its virtio structures located (virtio-pci bus
 *   of the driver core); negotiation, queues and DRIVER_OK (driver core);
 *   the console's multiport control protocol tells the ports and their
 *   names (console layer), and the port named "my-ipc-port" is opened;
 *   its interrupts reach the IRQ handler as INTx through a GICv2 (the
 *   default), or as MSI-X messages through a GICv3's ITS (LPIs) when QEMU
 *   runs with -M virt,gic-version=3.
 *
 * Then it serves the message protocol (docs/PROTOCOL.md) on that port: a
 * byte stream in which frames (typed requests, nanopb) and plain text
 * commands ("START_ADAS_PROCESSING\n", as `echo` writes them) arrive split
 * and merged arbitrarily; garbage is skipped (the parser resynchronises).
 * Each request is executed and answered: Ack or Telemetry for frames, an
 * "OK ..."/"ERR ..." line for text. Local text commands: POLLING_ON and
 * POLLING_OFF switch between interrupt-driven service (the default) and the
 * polling fallback (the device's line masked at the GIC, the rings looked at
 * in a loop); POWER_OFF makes it answer, print its counters and power off
 * through PSCI.
 *
 * Everything it prints goes to the PL011 UART, one "rtos: " line per event.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vring/frame.h>
#include <vring/msg_nanopb.h>
#include <vring/virtio_console.h>
#include <vring/virtio_drv.h>
#include <vring/virtio_pci.h>

#include "board.h"
#include "gic.h"

void bm_irq(void);
void bm_bad_exception(uint64_t esr, uint64_t elr, uint64_t far);
void bm_power_off(void);
int main(void);

/* ---- Platform: QEMU -M virt --------------------------------------------- */
#define ECAM_BASE 0x4010000000ull /* high ECAM (highmem on, the default) */
#define PCI_MEM_BASE 0x10000000ull
#define PCI_MEM_SIZE 0x2eff0000ull
#define PCI_SPI_BASE 3u           /* INTA..INTD: SPIs 3..6, swizzled */
#define PORT_NAME "my-ipc-port"

static inline void irq_off(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }
static inline void irq_on(void) { __asm__ volatile("msr daifclr, #2" ::: "memory"); }

static uint64_t now_us(void)
{
	return ticks() / (tick_hz() / 1000000u);
}

static void put_err(const char *what, int err)
{
	puts_uart("rtos: error: ");
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
	puts_uart("rtos: error: exception esr=");
	put_hex(esr);
	puts_uart(" elr=");
	put_hex(elr);
	puts_uart(" far=");
	put_hex(far);
	puts_uart("\n");
	bm_power_off();
}

/* ---- The device ------------------------------------------------------------- */
#define NPORTS VR_VCON_MAX_PORTS
#define NQ VR_VCON_NQUEUES(NPORTS)
#define QSIZE 64u
#define RING_BYTES 8192u
#define STATE_BYTES 4096u
#define RXN 16u
#define RX_BUF 512u
#define TXN 16u
#define TX_BUF 512u

static struct vr_pci_bus bus;
static struct vr_virtio_pci vp;
static struct vr_virtio_dev vd;
static struct vr_vcon con;
static uint8_t rings[NQ][RING_BYTES] __attribute__((aligned(4096)));
static uint64_t states[NQ][STATE_BYTES / 8];
static uint8_t ctrl_rx[VR_VCON_CTRL_BUFS][VR_VCON_CTRL_BUF] __attribute__((aligned(64)));
static uint8_t ctrl_tx[VR_VCON_CTRL_BUFS][VR_VCON_CTRL_HDR] __attribute__((aligned(64)));
static uint8_t rx_buf[RXN][RX_BUF] __attribute__((aligned(64)));
static uint8_t tx_buf[TXN][TX_BUF] __attribute__((aligned(64)));
static bool tx_busy[TXN];
static unsigned intid;
static bool msix; /* MSI-X through the ITS, else INTx */
#define MSIX_LPI 8192u
static volatile int ctrl_err;
static volatile unsigned ctrl_events;
static struct vr_vcon_port *port;

static struct {
	uint64_t irqs, spurious, rx_msgs, rx_bytes, tx_msgs, tx_bytes;
	uint64_t requests, texts, refused, tx_full;
	uint64_t polled; /* frames and lines handled in polling mode */
} ctr;

void bm_irq(void)
{
	uint32_t iar = gic_ack(), id = iar & 0xffffffu;
	int r;

	if (id >= 1020 && id <= 1023) {
		ctr.spurious++;
		return;
	}
	if (id == intid) {
		ctr.irqs++;
		/* INTx: reading the ISR acknowledges it and drops the line.
		 * MSI-X: the message was the whole interrupt; no ISR. */
		if (!msix) {
			r = vr_virtio_interrupt(&vd);
			if (r == 0)
				ctr.spurious++;
		}
		/* Control messages are the handler's; port data the main
		 * loop's (it finds the used buffers when it wakes). */
		r = vr_vcon_control(&con);
		if (r < 0)
			ctrl_err = r;
		else
			ctrl_events |= (unsigned)r;
	}
	gic_eoi(iar);
}

static int bring_up(void)
{
	struct vr_vcon_cfg cfg;
	unsigned q;
	int err;

	err = vr_pci_bus_init(&bus, (uintptr_t)ECAM_BASE, PCI_MEM_BASE, PCI_MEM_SIZE);
	if (!err)
		err = vr_virtio_pci_probe(&vp, &bus, VR_VIRTIO_ID_CONSOLE, 0);
	if (err) {
		put_err("no virtio-serial-pci", err);
		return err;
	}
	if (gic_version() == 3) {
		uint64_t doorbell;
		const char *why = "";

		/* MSI-X: event 0 of this function (device id = its requester
		 * id) is LPI MSIX_LPI; the table entry writes 0 to the ITS. */
		if (gic3_its_init(vp.pci.bdf, MSIX_LPI, &doorbell, &why)) {
			puts_uart("rtos: error: GICv3 ITS: ");
			puts_uart(why);
			puts_uart("\n");
			return VR_EIO;
		}
		err = vr_virtio_pci_msix_enable(&vp, doorbell, 0);
		if (err) {
			put_err("MSI-X", err);
			return err;
		}
		msix = true;
		intid = MSIX_LPI;
	} else {
		intid = 32u + PCI_SPI_BASE +
			(vr_virtio_pci_slot(&vp) + vr_virtio_pci_int_pin(&vp) - 1u) % 4u;
		gic2_init(intid);
	}
	puts_uart("rtos: virtio-serial-pci at slot ");
	put_dec(vr_virtio_pci_slot(&vp));
	puts_uart(", BAR4 ");
	put_hex(vp.pci.bar_addr[4]);
	puts_uart(msix ? ", MSI-X through the GICv3 ITS, LPI " : ", INTx through the GICv2, intid ");
	put_dec(intid);
	puts_uart("\n");
	err = vr_virtio_init(&vd, &vr_virtio_pci_bus_ops, &vp, NULL, NULL);
	if (!err)
		err = vr_virtio_begin(&vd);
	if (!err)
		err = vr_virtio_negotiate(&vd, VR_VIRTIO_DRV_FEATURES |
						   VR_FEATURE(VR_VCON_F_MULTIPORT));
	if (err) {
		put_err("negotiation", err);
		return err;
	}
	for (q = 0; q < sizeof(cfg); q++)
		((unsigned char *)&cfg)[q] = 0;
	cfg.nports = NPORTS;
	cfg.qsize = QSIZE;
	for (q = 0; q < NQ; q++) {
		cfg.q[q].ring = rings[q];
		cfg.q[q].ring_len = RING_BYTES;
		cfg.q[q].state = states[q];
		cfg.q[q].state_len = STATE_BYTES;
	}
	cfg.ctrl_rx = ctrl_rx;
	cfg.ctrl_tx = ctrl_tx;
	/* QEMU sets no WRITE flag on packed used descriptors. */
	cfg.queue_flags = VR_QF_USED_LEN_WITHOUT_WRITE;
	cfg.mem = vr_mem_window(NULL, 0, 0);
	err = vr_vcon_setup(&con, &vd, &cfg);
	if (err == VR_ERANGE) {
		/* Fewer ports than this image could drive: take them all. */
		cfg.nports = con.max_ports;
		err = vr_vcon_setup(&con, &vd, &cfg);
	}
	if (!err)
		err = vr_virtio_driver_ok(&vd);
	if (err) {
		put_err("console set-up", err);
		vr_virtio_fail(&vd);
		return err;
	}
	puts_uart("rtos: features ");
	put_hex(vr_virtio_features(&vd));
	puts_uart(vr_virtio_features(&vd) & VR_FEATURE(VR_F_RING_PACKED) ? " (packed rings)"
									  : " (split rings)");
	puts_uart(", ports ");
	put_dec(con.nports);
	puts_uart(" of ");
	put_dec(con.max_ports);
	puts_uart("\n");
	irq_off();
	err = vr_vcon_start(&con);
	irq_on();
	if (err)
		put_err("console start", err);
	return err;
}

/* Wait (interrupt driven) until the port named PORT_NAME shows up. */
static int find_port(void)
{
	uint64_t t0 = ticks(), limit = 10u * tick_hz();
	int p;

	for (;;) {
		irq_off();
		p = vr_vcon_find(&con, PORT_NAME);
		if (ctrl_err) {
			irq_on();
			put_err("control queue", ctrl_err);
			return ctrl_err;
		}
		if (p >= 0)
			break;
		if (ticks() - t0 > limit) {
			irq_on();
			puts_uart("rtos: error: no port named " PORT_NAME " within 10 s\n");
			return VR_ENODEV;
		}
		/* Masked wfi: a pending IRQ still wakes the core. */
		__asm__ volatile("dsb sy\n\twfi" ::: "memory");
		irq_on();
	}
	port = vr_vcon_port(&con, (uint32_t)p);
	p = vr_vcon_open(&con, (uint32_t)p) ? -1 : p;
	irq_on();
	if (p < 0) {
		puts_uart("rtos: error: cannot open " PORT_NAME "\n");
		return VR_EIO;
	}
	puts_uart("rtos: port " PORT_NAME " is port ");
	put_dec((uint64_t)p);
	puts_uart(port->console ? " (a console port)" : "");
	puts_uart(", opened\n");
	return 0;
}

/* ---- The application ---------------------------------------------------------- */
static struct vr_frame_parser parser;
static uint8_t parse_buf[VR_FRAME_PARSER_BUF_SIZE(VR_MSGPB_MAX_PAYLOAD) + 256];
static struct {
	bool adas;
	int32_t gain_mdb;
	uint32_t gain_level, stage_mask, rate_hz;
	uint32_t frames;
} app;
static bool quit;

static void reap_tx(void)
{
	struct vr_used_buf u;

	while (vr_virtio_queue_get_used(&port->tx, &u) == 0) {
		uintptr_t i = (uintptr_t)u.cookie;

		if (i >= 1 && i <= TXN)
			tx_busy[i - 1] = false;
	}
}

/* A free transmit buffer, waiting for one while the host drains. */
static int tx_slot(void)
{
	uint64_t t0 = ticks();
	unsigned i;

	for (;;) {
		reap_tx();
		for (i = 0; i < TXN; i++)
			if (!tx_busy[i])
				return (int)i;
		if (ticks() - t0 > 2u * tick_hz())
			return -1;
	}
}

static void send_bytes(const uint8_t *b, uint32_t n)
{
	struct vr_seg s;
	int i = tx_slot();

	if (i < 0 || n > TX_BUF) {
		ctr.tx_full++;
		return;
	}
	__builtin_memcpy(tx_buf[i], b, n);
	s.addr = (uint64_t)(uintptr_t)tx_buf[i];
	s.len = n;
	if (vr_virtio_queue_add(&port->tx, &s, 1, 0, (void *)(uintptr_t)(i + 1)) < 0) {
		ctr.tx_full++;
		return;
	}
	tx_busy[i] = true;
	(void)vr_virtio_queue_kick(&port->tx);
	ctr.tx_msgs++;
	ctr.tx_bytes += n;
}

static void set_ack(vrmsg_Envelope *a, int status, const char *detail)
{
	unsigned i;

	a->which_body = vrmsg_Envelope_ack_tag;
	a->body.ack.status = (vrmsg_Status)status;
	for (i = 0; detail[i] && i + 1 < sizeof(a->body.ack.detail); i++)
		a->body.ack.detail[i] = detail[i];
	a->body.ack.detail[i] = 0;
}

/* What the RTOS does with a request. */
static void execute(const vrmsg_Envelope *q, vrmsg_Envelope *a)
{
	unsigned i;

	for (i = 0; i < sizeof(*a); i++)
		((unsigned char *)a)[i] = 0;
	switch (q->which_body) {
	case vrmsg_Envelope_set_sensor_gain_tag: {
		const vrmsg_SetSensorGain *g = &q->body.set_sensor_gain;

		if (g->level > vrmsg_GainLevel_GAIN_HIGH || g->sensor > vrmsg_Sensor_SENSOR_REAR_CAMERA ||
		    g->gain_mdb < -20000 || g->gain_mdb > 48000) {
			set_ack(a, vrmsg_Status_STATUS_BAD_REQUEST, "gain out of range");
			break;
		}
		app.gain_level = (uint32_t)g->level;
		app.gain_mdb = g->gain_mdb;
		set_ack(a, vrmsg_Status_STATUS_OK, g->level == vrmsg_GainLevel_GAIN_HIGH
							  ? "sensor gain high applied"
							  : "sensor gain applied");
		break;
	}
	case vrmsg_Envelope_start_adas_processing_tag: {
		const vrmsg_StartAdasProcessing *s = &q->body.start_adas_processing;

		if (s->frame_rate_hz > 120) {
			set_ack(a, vrmsg_Status_STATUS_REJECTED, "frame rate above 120 Hz");
			break;
		}
		app.adas = true;
		app.stage_mask = s->stage_mask ? s->stage_mask : 0xfu;
		app.rate_hz = s->frame_rate_hz ? s->frame_rate_hz : 30u;
		set_ack(a, vrmsg_Status_STATUS_OK, "adas processing started");
		break;
	}
	case vrmsg_Envelope_get_telemetry_tag: {
		vrmsg_Telemetry *t = &a->body.telemetry;

		a->which_body = vrmsg_Envelope_telemetry_tag;
		t->uptime_us = now_us();
		t->cpu_temp_cdeg = 4150;
		t->cpu_load_permille = app.adas ? 370u : 20u;
		t->frames_processed = (uint32_t)ctr.requests;
		t->frames_dropped = (uint32_t)ctr.refused;
		t->vehicle_speed_cmps = 0;
		t->adas_active = app.adas;
		t->sensor_temp_cdeg_count = 4;
		for (i = 0; i < 4; i++)
			t->sensor_temp_cdeg[i] = 3000 + (int32_t)i * 100;
		t->timestamp_ns = ticks() * (1000000000u / tick_hz());
		if (q->body.get_telemetry.reset_counters)
			ctr.requests = ctr.texts = ctr.refused = 0;
		break;
	}
	default:
		set_ack(a, vrmsg_Status_STATUS_UNSUPPORTED, "unknown request");
		break;
	}
}

/* Is the text line @f the local command @cmd (trailing blanks ignored)? */
static bool is_local(const struct vr_frame *f, const char *cmd)
{
	uint32_t i, n = f->len, len = 0;

	while (cmd[len])
		len++;
	while (n && (f->payload[n - 1] == ' ' || f->payload[n - 1] == '\t'))
		n--;
	if (f->kind != VR_FRAME_KIND_TEXT || n != len)
		return false;
	for (i = 0; i < n; i++)
		if (f->payload[i] != (uint8_t)cmd[i])
			return false;
	return true;
}

static bool polling;

/* The polling fallback: interrupts stay masked at the CPU (whatever the
 * controller: GICv2 INTx or GICv3 LPI), nobody asks for them, and the main
 * loop looks at the rings and the control queue. */
static void set_polling(bool on)
{
	polling = on;
	if (on)
		vr_virtio_queue_suppress(&port->rx);
	puts_uart(on ? "rtos: polling mode (interrupts masked)\n" : "rtos: interrupt mode\n");
}

static void handle(const struct vr_frame *f)
{
	static uint8_t out[VR_MSGPB_FRAME_MAX + VR_MSGPB_TEXT_ANSWER_MAX];
	vrmsg_Envelope q, a;
	int n, err;

	if (is_local(f, "POWER_OFF")) {
		static const uint8_t bye[] = "\nOK POWER_OFF\n";

		send_bytes(bye, sizeof(bye) - 1);
		quit = true;
		return;
	}
	if (is_local(f, "POLLING_ON") || is_local(f, "POLLING_OFF")) {
		static const uint8_t on[] = "\nOK POLLING_ON\n", off[] = "\nOK POLLING_OFF\n";
		bool want = is_local(f, "POLLING_ON");

		set_polling(want);
		send_bytes(want ? on : off, (uint32_t)(want ? sizeof(on) : sizeof(off)) - 1);
		return;
	}
	if (polling)
		ctr.polled++;
	err = vr_msgpb_request(f, &q);
	if (f->kind == VR_FRAME_KIND_TEXT) {
		ctr.texts++;
		if (err) {
			ctr.refused++;
			n = vr_msgpb_text_answer(out, sizeof(out), f->payload, f->len, NULL);
		} else {
			static const vrmsg_Ack ok = {vrmsg_Status_STATUS_OK, "telemetry follows"};

			execute(&q, &a);
			n = vr_msgpb_text_answer(out, sizeof(out), f->payload, f->len,
						 a.which_body == vrmsg_Envelope_ack_tag ? &a.body.ack : &ok);
			if (a.which_body == vrmsg_Envelope_telemetry_tag) {
				/* GET_TELEMETRY as text: the typed answer follows. */
				if (n > 0)
					send_bytes(out, (uint32_t)n);
				n = vr_msgpb_encode(out, sizeof(out), VR_FRAME_T_EVENT, 0, 0, &a);
			}
		}
		puts_uart("rtos: text command \"");
		for (uint32_t i = 0; i < f->len && i < 64; i++)
			putc_uart((char)f->payload[i]);
		puts_uart(err ? "\": unknown\n" : "\": done\n");
		if (n > 0)
			send_bytes(out, (uint32_t)n);
		return;
	}
	if (f->type != VR_FRAME_T_REQUEST) {
		ctr.refused++; /* responses and events are not for the RTOS */
		return;
	}
	ctr.requests++;
	if (err) {
		ctr.refused++;
		set_ack(&a, err == VR_ENOMATCH ? vrmsg_Status_STATUS_UNSUPPORTED
					       : vrmsg_Status_STATUS_BAD_REQUEST,
			"request does not decode");
	} else {
		execute(&q, &a);
	}
	if (f->flags & VR_FRAME_F_NO_REPLY)
		return;
	n = vr_msgpb_encode(out, sizeof(out), VR_FRAME_T_RESPONSE, 0, f->seq, &a);
	if (n > 0)
		send_bytes(out, (uint32_t)n);
}

static int post_rx(unsigned i)
{
	struct vr_seg s = {(uint64_t)(uintptr_t)rx_buf[i], RX_BUF};

	return vr_virtio_queue_add(&port->rx, &s, 0, 1, (void *)(uintptr_t)(i + 1));
}

/* Take the bytes the host sent; true when there were any. */
static bool drain_rx(void)
{
	struct vr_used_buf u;
	bool any = false;
	int r;

	while ((r = vr_virtio_queue_get_used(&port->rx, &u)) == 0) {
		uintptr_t i = (uintptr_t)u.cookie;
		struct vr_frame f;
		uint32_t off = 0;

		if (i < 1 || i > RXN)
			continue;
		any = true;
		ctr.rx_msgs++;
		ctr.rx_bytes += u.len;
		/* The parser holds one frame's worth: feed, drain, repeat. */
		while (off < u.len) {
			off += (uint32_t)vr_frame_parser_feed(&parser, rx_buf[i - 1] + off, u.len - off);
			while (vr_frame_parser_next(&parser, &f) == 0)
				handle(&f);
		}
		(void)post_rx((unsigned)(i - 1));
	}
	if (r != VR_EAGAIN && r != 0)
		put_err("receive queue", r);
	if (any)
		(void)vr_virtio_queue_kick(&port->rx);
	return any;
}

static void serve(void)
{
	uint64_t idle_since = ticks(), hz = tick_hz();
	unsigned i;

	irq_off();
	for (i = 0; i < RXN; i++)
		(void)post_rx(i);
	(void)vr_virtio_queue_kick(&port->rx);
	irq_on();
	puts_uart("rtos: serving " PORT_NAME "\n");
	while (!quit) {
		bool any;

		irq_off();
		any = drain_rx();
		reap_tx();
		if (any) {
			idle_since = ticks();
		} else if (vr_frame_parser_pending(&parser) && ticks() - idle_since > hz / 20u) {
			/* 50 ms quiet with a partial frame held: a frame cut
			 * short must not hide the ones after it. */
			(void)vr_frame_parser_resync(&parser);
			while (1) {
				struct vr_frame f;

				if (vr_frame_parser_next(&parser, &f) != 0)
					break;
				handle(&f);
			}
			idle_since = ticks();
		} else if (polling) {
			/* The fallback: the control queue by hand, then look
			 * again at once. */
			int r = vr_vcon_control(&con);

			if (r < 0)
				ctrl_err = r;
			else
				ctrl_events |= (unsigned)r;
		} else if (vr_virtio_queue_arm(&port->rx) == 0 && !ctrl_err) {
			/* Nothing waiting and the interrupt asked for: sleep
			 * until it comes (masked wfi: a pending interrupt still
			 * wakes the core). */
			__asm__ volatile("dsb sy\n\twfi" ::: "memory");
		}
		if (!polling)
			irq_on();
		if (ctrl_err) {
			put_err("control queue", ctrl_err);
			return;
		}
		if (ctrl_events & VR_VCON_EV_CLOSED) {
			ctrl_events &= ~VR_VCON_EV_CLOSED;
			puts_uart("rtos: the host side of " PORT_NAME " closed\n");
		}
	}
}

int main(void)
{
	struct vr_frame_parser_stats st;

	puts_uart("rtos: libvring RTOS guest (bare metal, virtio-pci)\n");
	if (bring_up() || find_port())
		return 0;
	if (vr_frame_parser_init(&parser, parse_buf, sizeof(parse_buf), VR_MSGPB_MAX_PAYLOAD, 0, 0)) {
		puts_uart("rtos: error: parser\n");
		return 0;
	}
	serve();
	vr_frame_parser_get_stats(&parser, &st);
	puts_uart("rtos: counters requests ");
	put_dec(ctr.requests);
	puts_uart(" texts ");
	put_dec(ctr.texts);
	puts_uart(" refused ");
	put_dec(ctr.refused);
	puts_uart(" rx_bytes ");
	put_dec(ctr.rx_bytes);
	puts_uart(" tx_msgs ");
	put_dec(ctr.tx_msgs);
	puts_uart(" dropped_bytes ");
	put_dec(st.bytes_dropped);
	puts_uart(" irqs ");
	put_dec(ctr.irqs);
	puts_uart(" polled ");
	put_dec(ctr.polled);
	puts_uart("\n");
	puts_uart("rtos: power off\n");
	return 0;
}
