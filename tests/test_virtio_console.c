/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio console layer (transports/virtio/virtio_console.c) on
 * libvring's virtio driver, against the virtio-mmio device model with a
 * console back end written here, in one process.
 *
 * The back end plays QEMU's virtio-serial: a console with MULTIPORT and
 * max_nr_ports 3. When the driver says DEVICE_READY it announces ports 0, 1
 * and 2; for each PORT_READY(1) it sends CONSOLE_PORT (port 0), the port's
 * name (with the NUL QEMU appends) and PORT_OPEN(1), as a host that is
 * connected. The driver sets up two ports, so it must refuse port 2 with
 * PORT_READY(0). Then the application finds "my-ipc-port" by name, opens
 * it (the back end must see PORT_OPEN(1)), and exchanges messages that the
 * back end echoes reversed. Finally the back end lies in every control
 * message field: each lie is counted and dropped, and the ports are intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vring/mmio_dev.h>
#include <vring/virtio_console.h>
#include <vring/virtio_mmio.h>
#include <vring/vring.h>

#define GPA 0x40000000ull
#define ARENA (256u * 1024u)
#define NQ 6u          /* ports 0, 1 and the control pair */
#define NPORTS 2u
#define QMAX 64u
#define RING_AT(q) ((q) * 0x4000u)   /* ring memory of queue q */
#define CTRL_RX_AT 0x18000u
#define CTRL_TX_AT 0x19000u
#define DATA_AT 0x20000u
#define F(b) VR_FEATURE(b)

struct msg {
	uint8_t b[128];
	uint32_t len;
};

struct rig {
	unsigned char *arena;
	struct vr_mmio_dev dev;
	struct vr_mmio_dev_queue mq[NQ];
	struct vr_mmio_dev_queue_cfg mqc[NQ];
	void *mstate[NQ];
	unsigned char config[12];
	struct vr_mmio_dev_ops ops;
	/* Control messages the back end still has to deliver. */
	struct msg pending[64];
	unsigned npending;
	/* What the back end saw from the driver. */
	unsigned device_ready, port_ready[4], port_refused[4], port_open[4];
	unsigned data_msgs[2];
	unsigned delivered; /* control messages put in the driver's buffers */
	/* The driver side. */
	struct vr_mmio mmio;
	struct vr_virtio_dev vd;
	struct vr_vcon con;
	void *qstate[NQ];
};

static uint64_t to_bus(void *ctx, const void *p)
{
	struct rig *r = (struct rig *)ctx;

	return GPA + (uint64_t)((const unsigned char *)p - r->arena);
}

static uint32_t acc_read(void *ctx, uint32_t off, unsigned width)
{
	return vr_mmio_dev_read(&((struct rig *)ctx)->dev, off, width);
}

static void acc_write(void *ctx, uint32_t off, uint32_t val, unsigned width)
{
	(void)vr_mmio_dev_write(&((struct rig *)ctx)->dev, off, width, val);
}

static const struct vr_mmio_access acc = {acc_read, acc_write};

static void ctrl(struct rig *r, uint32_t id, uint16_t event, uint16_t value,
		 const void *extra, uint32_t extra_len)
{
	struct msg *m;

	assert_true(r->npending < 64);
	m = &r->pending[r->npending++];
	m->b[0] = (uint8_t)id;
	m->b[1] = (uint8_t)(id >> 8);
	m->b[2] = (uint8_t)(id >> 16);
	m->b[3] = (uint8_t)(id >> 24);
	m->b[4] = (uint8_t)event;
	m->b[5] = (uint8_t)(event >> 8);
	m->b[6] = (uint8_t)value;
	m->b[7] = (uint8_t)(value >> 8);
	assert_true(8 + extra_len <= sizeof(m->b));
	if (extra_len)
		memcpy(m->b + 8, extra, extra_len);
	m->len = 8 + extra_len;
}

/* A raw (possibly malformed) control message. */
static void ctrl_raw(struct rig *r, const void *b, uint32_t len)
{
	struct msg *m = &r->pending[r->npending++];

	memcpy(m->b, b, len);
	m->len = len;
}

/* The device side of one queue (split or packed, as negotiated). When the
 * ring is empty, ask for the driver's next kick (as QEMU moves avail_event
 * or its flags) and look once more, so no kick is ever missed. */
static int pop(struct rig *r, uint32_t q, struct vr_chain *c)
{
	struct vr_split_dev *s = vr_mmio_dev_split(&r->dev, q);
	struct vr_packed_dev *p = s ? NULL : vr_mmio_dev_packed(&r->dev, q);
	int rc = s ? vr_split_dev_pop(s, c) : vr_packed_dev_pop(p, c);

	if (rc != VR_EAGAIN)
		return rc;
	rc = s ? vr_split_dev_arm_avail_notify(s) : vr_packed_dev_arm_avail_notify(p);
	assert_true(rc >= 0);
	if (rc == 0)
		return VR_EAGAIN;
	return s ? vr_split_dev_pop(s, c) : vr_packed_dev_pop(p, c);
}

static void complete(struct rig *r, uint32_t q, uint16_t id, uint32_t len)
{
	struct vr_split_dev *s = vr_mmio_dev_split(&r->dev, q);
	int rc = s ? vr_split_dev_complete(s, id, len)
		   : vr_packed_dev_complete(vr_mmio_dev_packed(&r->dev, q), id, len);

	assert_int_equal(rc, 0);
}

/* Deliver pending control messages into the driver's posted buffers. */
static void deliver(struct rig *r)
{
	struct vr_iov iov[4];
	struct vr_chain c;
	unsigned done = 0;

	while (done < r->npending) {
		struct msg *m = &r->pending[done];

		c.iov = iov;
		c.iov_cap = 4;
		if (pop(r, 2, &c) != 0)
			break; /* no buffer posted: later */
		assert_int_equal(c.n_out, 0);
		assert_int_equal(c.n_in, 1);
		assert_true(iov[0].len >= m->len);
		memcpy(iov[0].base, m->b, m->len);
		complete(r, 2, c.id, m->len);
		done++;
		r->delivered++;
	}
	memmove(r->pending, r->pending + done, (r->npending - done) * sizeof(r->pending[0]));
	r->npending -= done;
	if (done)
		(void)vr_mmio_dev_queue_publish(&r->dev, 2);
}

static const char *const port_names[3] = {"console0", "my-ipc-port", "spare"};

static void on_control(struct rig *r, const uint8_t *b, uint32_t len)
{
	uint32_t id = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		      (uint32_t)b[3] << 24;
	uint16_t event = (uint16_t)(b[4] | b[5] << 8), value = (uint16_t)(b[6] | b[7] << 8);

	assert_int_equal(len, 8);
	switch (event) {
	case VR_VCON_DEVICE_READY:
		assert_int_equal(id, 0xffffffffu);
		assert_int_equal(value, 1);
		r->device_ready++;
		ctrl(r, 0, VR_VCON_DEVICE_ADD, 0, NULL, 0);
		ctrl(r, 1, VR_VCON_DEVICE_ADD, 0, NULL, 0);
		ctrl(r, 2, VR_VCON_DEVICE_ADD, 0, NULL, 0);
		break;
	case VR_VCON_PORT_READY:
		assert_true(id < 3);
		if (!value) {
			r->port_refused[id]++;
			break;
		}
		r->port_ready[id]++;
		if (id == 0)
			ctrl(r, 0, VR_VCON_CONSOLE_PORT, 1, NULL, 0);
		ctrl(r, id, VR_VCON_PORT_NAME, 1, port_names[id], (uint32_t)strlen(port_names[id]) + 1);
		ctrl(r, id, VR_VCON_PORT_OPEN, 1, NULL, 0);
		break;
	case VR_VCON_PORT_OPEN:
		assert_true(id < 3);
		assert_int_equal(value, 1);
		r->port_open[id]++;
		break;
	default:
		fail_msg("driver sent control event %u", event);
	}
}

/* Port data: echo each message reversed on the port's receive queue. */
static void on_data(struct rig *r, uint32_t port)
{
	uint32_t txq = port == 0 ? 1u : 5u, rxq = port == 0 ? 0u : 4u;
	struct vr_iov iov[4], riov[4];
	struct vr_chain c, rc;

	for (;;) {
		unsigned char tmp[256];
		uint32_t n = 0, i;

		c.iov = iov;
		c.iov_cap = 4;
		if (pop(r, txq, &c) != 0)
			break;
		for (i = 0; i < c.n_out; i++) {
			assert_true(n + iov[i].len <= sizeof(tmp));
			memcpy(tmp + n, iov[i].base, iov[i].len);
			n += iov[i].len;
		}
		complete(r, txq, c.id, 0);
		r->data_msgs[port]++;
		rc.iov = riov;
		rc.iov_cap = 4;
		assert_int_equal(pop(r, rxq, &rc), 0); /* the test keeps rx stocked */
		assert_true(riov[0].len >= n);
		for (i = 0; i < n; i++)
			((unsigned char *)riov[0].base)[i] = tmp[n - 1 - i];
		complete(r, rxq, rc.id, n);
	}
	(void)vr_mmio_dev_queue_publish(&r->dev, txq);
	(void)vr_mmio_dev_queue_publish(&r->dev, rxq);
}

static void notify(void *ctx, uint32_t q, uint32_t value)
{
	struct rig *r = (struct rig *)ctx;
	struct vr_iov iov[4];
	struct vr_chain c;

	(void)value;
	if (q == 3) {
		for (;;) {
			uint8_t b[16];

			c.iov = iov;
			c.iov_cap = 4;
			if (pop(r, 3, &c) != 0)
				break;
			assert_int_equal(c.n_out, 1);
			assert_true(iov[0].len <= sizeof(b));
			memcpy(b, iov[0].base, iov[0].len);
			complete(r, 3, c.id, 0);
			on_control(r, b, iov[0].len);
		}
		(void)vr_mmio_dev_queue_publish(&r->dev, 3);
	} else if (q == 1 || q == 5) {
		on_data(r, q == 1 ? 0 : 1);
	}
	deliver(r);
}

static void irq(void *ctx, int level)
{
	(void)ctx;
	(void)level;
}

/* Bring the device up with @nports ports; returns vr_vcon_setup's code
 * (DRIVER_OK and start only when it succeeded). */
static int rig_up_ports(struct rig *r, uint64_t wanted, uint32_t nports)
{
	struct vr_mmio_dev_cfg cfg;
	struct vr_vcon_cfg vc;
	unsigned q;
	uint64_t f;
	int rc;

	memset(r, 0, sizeof(*r));
	r->arena = aligned_alloc(4096, ARENA);
	assert_non_null(r->arena);
	memset(r->arena, 0, ARENA);
	for (q = 0; q < NQ; q++) {
		size_t n = vr_mmio_dev_queue_state_size(QMAX);

		r->mstate[q] = aligned_alloc(64, (n + 63) & ~(size_t)63);
		r->mqc[q].num_max = QMAX;
		r->mqc[q].state = r->mstate[q];
		r->mqc[q].state_len = n;
	}
	r->config[4] = 3; /* max_nr_ports */
	r->ops.notify = notify;
	r->ops.irq = irq;
	memset(&cfg, 0, sizeof(cfg));
	cfg.device_id = VR_VIRTIO_ID_CONSOLE;
	cfg.vendor_id = 0x554d4551u;
	cfg.features = F(VR_F_VERSION_1) | F(VR_F_EVENT_IDX) | F(VR_F_RING_PACKED) |
		       F(VR_VCON_F_MULTIPORT);
	cfg.mem = vr_mem_window(r->arena, GPA, ARENA);
	cfg.config = r->config;
	cfg.config_len = sizeof(r->config);
	cfg.num_queues = NQ;
	cfg.queue = r->mqc;
	cfg.queues = r->mq;
	cfg.ops = &r->ops;
	cfg.ctx = r;
	assert_int_equal(vr_mmio_dev_init(&r->dev, &cfg), 0);

	assert_int_equal(vr_mmio_probe_access(&r->mmio, &acc, r), 0);
	assert_int_equal(vr_virtio_init(&r->vd, &vr_mmio_bus_ops, &r->mmio, to_bus, r), 0);
	assert_int_equal(vr_virtio_begin(&r->vd), 0);
	assert_int_equal(vr_virtio_negotiate(&r->vd, wanted), 0);
	f = vr_virtio_features(&r->vd);
	memset(&vc, 0, sizeof(vc));
	vc.nports = nports;
	vc.qsize = QMAX;
	for (q = 0; q < NQ; q++) {
		vc.q[q].ring = r->arena + RING_AT(q);
		vc.q[q].ring_len = 0x4000u;
		vc.q[q].state_len = vr_virtio_queue_state_size(f, QMAX);
		r->qstate[q] = aligned_alloc(64, (vc.q[q].state_len + 63) & ~(size_t)63);
		vc.q[q].state = r->qstate[q];
	}
	vc.ctrl_rx = (uint8_t(*)[VR_VCON_CTRL_BUF])(void *)(r->arena + CTRL_RX_AT);
	vc.ctrl_tx = (uint8_t(*)[VR_VCON_CTRL_HDR])(void *)(r->arena + CTRL_TX_AT);
	vc.queue_flags = 0;
	rc = vr_vcon_setup(&r->con, &r->vd, &vc);
	if (rc)
		return rc;
	assert_int_equal(vr_virtio_driver_ok(&r->vd), 0);
	assert_int_equal(vr_vcon_start(&r->con), 0);
	return 0;
}

static void rig_up(struct rig *r, uint64_t wanted)
{
	assert_int_equal(rig_up_ports(r, wanted, NPORTS), 0);
}

static void rig_down(struct rig *r)
{
	unsigned q;

	for (q = 0; q < NQ; q++) {
		free(r->mstate[q]);
		free(r->qstate[q]);
	}
	free(r->arena);
}

/* Run the control protocol until nothing changes: no message pending at
 * the back end, none delivered while the driver worked (its kicks reach
 * the back end synchronously), and nothing new to the driver. */
static int settle(struct rig *r)
{
	int ev = 0, k, rc;

	for (k = 0; k < 32; k++) {
		unsigned before;

		deliver(r);
		before = r->delivered;
		rc = vr_vcon_control(&r->con);
		assert_true(rc >= 0);
		ev |= rc;
		if (rc == 0 && r->npending == 0 && r->delivered == before)
			return ev;
	}
	fail_msg("the control protocol did not settle");
	return ev;
}

static void discover(struct rig *r)
{
	int ev = settle(r), p;


	struct vr_vcon_port *port;

	assert_int_equal(r->device_ready, 1);
	assert_true(ev & VR_VCON_EV_ADDED);
	assert_true(ev & VR_VCON_EV_NAMED);
	assert_true(ev & VR_VCON_EV_OPENED);
	assert_int_equal(r->port_ready[0], 1);
	assert_int_equal(r->port_ready[1], 1);
	/* Port 2 is beyond what the driver set up: refused. */
	assert_int_equal(r->port_refused[2], 1);
	assert_int_equal(r->port_ready[2], 0);
	p = vr_vcon_find(&r->con, "my-ipc-port");
	assert_int_equal(p, 1);
	assert_int_equal(vr_vcon_find(&r->con, "console0"), 0);
	assert_int_equal(vr_vcon_find(&r->con, "spare"), VR_ENODEV);
	assert_int_equal(vr_vcon_find(&r->con, "my-ipc"), VR_ENODEV);
	port = vr_vcon_port(&r->con, 1);
	assert_non_null(port);
	assert_true(port->added && port->host_open && !port->console);
	assert_true(vr_vcon_port(&r->con, 0)->console);
	assert_int_equal(vr_vcon_open(&r->con, (uint32_t)p), 0);
	assert_int_equal(r->port_open[1], 1);
	assert_int_equal(r->con.stats.bad_port, 1); /* port 2 */
	assert_int_equal(r->con.stats.bad_len + r->con.stats.bad_event + r->con.stats.bad_name, 0);
}

static void exchange(struct rig *r, uint32_t p, unsigned count)
{
	struct vr_vcon_port *port = vr_vcon_port(&r->con, p);
	unsigned i;

	for (i = 0; i < count; i++) {
		unsigned char *out = r->arena + DATA_AT + (i % 16) * 256;
		unsigned char *in = out + 128;
		struct vr_seg so = {to_bus(r, out), 0}, si = {to_bus(r, in), 128};
		struct vr_used_buf u;
		char expect[64];
		int n, j;

		n = snprintf((char *)out, 64, "SET_SENSOR_GAIN_HIGH #%u", i);
		so.len = (uint32_t)n;
		assert_true(vr_virtio_queue_add(&port->rx, &si, 0, 1, in) >= 0);
		assert_true(vr_virtio_queue_kick(&port->rx) >= 0);
		assert_true(vr_virtio_queue_add(&port->tx, &so, 1, 0, out) >= 0);
		assert_true(vr_virtio_queue_kick(&port->tx) >= 0);
		assert_int_equal(vr_virtio_queue_get_used(&port->tx, &u), 0);
		assert_ptr_equal(u.cookie, out);
		assert_int_equal(vr_virtio_queue_get_used(&port->rx, &u), 0);
		assert_ptr_equal(u.cookie, in);
		assert_int_equal(u.len, (uint32_t)n);
		snprintf(expect, sizeof(expect), "SET_SENSOR_GAIN_HIGH #%u", i);
		for (j = 0; j < n; j++)
			assert_int_equal(in[j], (unsigned char)expect[n - 1 - j]);
	}
	assert_int_equal(r->data_msgs[p], count);
}

static void test_console_split(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, F(VR_VCON_F_MULTIPORT) | F(VR_F_EVENT_IDX));
	discover(&r);
	exchange(&r, 1, 200);
	exchange(&r, 0, 20);
	rig_down(&r);
}

static void test_console_packed(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, F(VR_VCON_F_MULTIPORT) | F(VR_F_RING_PACKED));
	assert_true(vr_virtio_features(&r.vd) & F(VR_F_RING_PACKED));
	discover(&r);
	exchange(&r, 1, 200);
	rig_down(&r);
}

/* Without MULTIPORT there is port 0 only: no control queues, no names, and
 * a second port cannot be asked for. */
static void test_console_single_port(void **state)
{
	struct rig r;

	(void)state;
	assert_int_equal(rig_up_ports(&r, F(VR_F_EVENT_IDX), 2), VR_ERANGE);
	rig_down(&r);
	assert_int_equal(rig_up_ports(&r, F(VR_F_EVENT_IDX), 1), 0);
	assert_false(vr_virtio_features(&r.vd) & F(VR_VCON_F_MULTIPORT));
	assert_int_equal(vr_vcon_control(&r.con), 0);
	assert_int_equal(r.device_ready, 0);
	assert_true(vr_vcon_port(&r.con, 0)->added);
	assert_null(vr_vcon_port(&r.con, 1));
	assert_int_equal(vr_vcon_find(&r.con, "my-ipc-port"), VR_ENODEV);
	assert_int_equal(vr_vcon_open(&r.con, 0), 0);
	assert_int_equal(vr_vcon_open(&r.con, 1), VR_EINVAL);
	exchange(&r, 0, 50);
	rig_down(&r);
}

/* The device lies in every field of control messages. */
static void test_console_lies(void **state)
{
	struct rig r;
	static const uint8_t shorty[4] = {1, 0, 0, 0};
	char longname[VR_VCON_NAME_MAX + 1]; /* fills the buffer, one too many */
	int ev;

	(void)state;
	rig_up(&r, F(VR_VCON_F_MULTIPORT));
	discover(&r);
	ctrl_raw(&r, shorty, sizeof(shorty));                      /* too short */
	ctrl(&r, 7, VR_VCON_PORT_OPEN, 1, NULL, 0);                /* id >= max_nr_ports */
	ctrl(&r, 0xffffffffu, VR_VCON_DEVICE_ADD, 0, NULL, 0);     /* id far out */
	ctrl(&r, 1, 99, 0, NULL, 0);                               /* unknown event */
	ctrl(&r, 1, VR_VCON_PORT_READY, 1, NULL, 0);               /* the driver's event */
	ctrl(&r, 1, VR_VCON_PORT_OPEN, 5, NULL, 0);                /* value not 0/1 */
	ctrl(&r, 1, VR_VCON_PORT_NAME, 1, "bad\x01name", 8);       /* unprintable */
	ctrl(&r, 1, VR_VCON_PORT_NAME, 1, "", 0);                  /* empty */
	memset(longname, 'x', sizeof(longname));
	ctrl(&r, 1, VR_VCON_PORT_NAME, 1, longname, sizeof(longname)); /* too long */
	deliver(&r);
	ev = settle(&r);
	assert_int_equal(ev, 0);
	assert_int_equal(r.con.stats.bad_len, 1);
	assert_int_equal(r.con.stats.bad_port, 1 + 2);
	assert_int_equal(r.con.stats.bad_event, 3);
	assert_int_equal(r.con.stats.bad_name, 3);
	/* The ports are as they were. */
	assert_int_equal(vr_vcon_find(&r.con, "my-ipc-port"), 1);
	assert_true(vr_vcon_port(&r.con, 1)->host_open);
	/* A real close is taken. */
	ctrl(&r, 1, VR_VCON_PORT_OPEN, 0, NULL, 0);
	deliver(&r);
	ev = settle(&r);
	assert_int_equal(ev, VR_VCON_EV_CLOSED);
	assert_false(vr_vcon_port(&r.con, 1)->host_open);
	/* The control queue still works: every buffer came back. */
	exchange(&r, 1, 10);
	rig_down(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_console_split),
		cmocka_unit_test(test_console_packed),
		cmocka_unit_test(test_console_single_port),
		cmocka_unit_test(test_console_lies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
