/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio console's ports and its multiport control protocol over the
 * virtio driver core (vring/virtio_console.h). Freestanding.
 */
#include <vring/virtio_console.h>

/* VIRTIO_CONSOLE_BAD_ID: the id of messages about the whole device. */
#define VCON_ANY_PORT 0xffffffffu
/* Cookies: control receive buffers 1..CTRL_BUFS, transmit slots from
 * 0x100. */
#define COOKIE_TX 0x100u

static uint64_t bus_addr(const struct vr_virtio_dev *d, const void *p)
{
	return d->to_bus ? d->to_bus(d->to_bus_ctx, p) : (uint64_t)(uintptr_t)p;
}

static int queue_up(struct vr_vcon *c, struct vr_virtio_queue *vq, uint16_t idx,
		    const struct vr_vcon_cfg *cfg)
{
	struct vr_virtio_queue_cfg qc;
	const struct vr_vcon_qmem *m = &cfg->q[idx];
	int n;

	if (!m->ring || !m->state)
		return VR_EINVAL;
	qc.num = cfg->qsize;
	qc.ring = m->ring;
	qc.ring_len = m->ring_len;
	qc.state = m->state;
	qc.state_len = m->state_len;
	qc.flags = cfg->queue_flags;
	qc.mem = cfg->mem;
	n = vr_virtio_queue_setup(c->vd, vq, idx, &qc);
	return n < 0 ? n : 0;
}

int vr_vcon_setup(struct vr_vcon *c, struct vr_virtio_dev *vd,
		  const struct vr_vcon_cfg *cfg)
{
	uint32_t p;
	int err;

	if (!c || !vd || !cfg || cfg->nports == 0 || cfg->nports > VR_VCON_MAX_PORTS)
		return VR_EINVAL;
	for (p = 0; p < sizeof(*c); p++)
		((unsigned char *)c)[p] = 0;
	c->vd = vd;
	c->multiport = (vr_virtio_features(vd) & VR_FEATURE(VR_VCON_F_MULTIPORT)) != 0;
	c->max_ports = 1;
	if (c->multiport) {
		uint8_t b[4];

		err = vr_virtio_config_read(vd, VR_VCON_CFG_MAX_NR_PORTS, b, 4);
		if (err)
			return err;
		c->max_ports = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			       (uint32_t)b[3] << 24;
		/* Queue indices are 16 bits: 2 * ports + 2 of them. */
		if (c->max_ports == 0 || c->max_ports > 0x7fffu)
			return VR_EDEVICE;
		if (!cfg->ctrl_rx || !cfg->ctrl_tx)
			return VR_EINVAL;
	}
	if (cfg->nports > c->max_ports)
		return VR_ERANGE;
	c->nports = cfg->nports;
	c->ctrl_rx = cfg->ctrl_rx;
	c->ctrl_tx = cfg->ctrl_tx;
	err = queue_up(c, &c->port[0].rx, 0, cfg);
	if (!err)
		err = queue_up(c, &c->port[0].tx, 1, cfg);
	if (!err && c->multiport)
		err = queue_up(c, &c->cin, 2, cfg);
	if (!err && c->multiport)
		err = queue_up(c, &c->cout, 3, cfg);
	for (p = 1; !err && p < c->nports; p++) {
		err = queue_up(c, &c->port[p].rx, vr_vcon_rx_index(p), cfg);
		if (!err)
			err = queue_up(c, &c->port[p].tx, (uint16_t)(vr_vcon_rx_index(p) + 1u), cfg);
	}
	/* Without MULTIPORT port 0 simply exists, and nothing tells us
	 * whether the host side is connected. */
	if (!err && !c->multiport)
		c->port[0].added = true;
	return err;
}

static int post_ctrl_rx(struct vr_vcon *c, unsigned i)
{
	struct vr_seg s;

	s.addr = bus_addr(c->vd, c->ctrl_rx[i]);
	s.len = VR_VCON_CTRL_BUF;
	return vr_virtio_queue_add(&c->cin, &s, 0, 1, (void *)(uintptr_t)(i + 1u));
}

/* Finished control transmissions free their slots. */
static int reap_ctrl_tx(struct vr_vcon *c)
{
	struct vr_used_buf u;
	int err;

	while ((err = vr_virtio_queue_get_used(&c->cout, &u)) == 0) {
		uintptr_t k = (uintptr_t)u.cookie;

		if (k >= COOKIE_TX && k < COOKIE_TX + VR_VCON_CTRL_BUFS)
			c->ctrl_tx_busy[k - COOKIE_TX] = false;
	}
	return err == VR_EAGAIN ? 0 : err;
}

static void put_le(uint8_t *p, uint32_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int send_ctrl(struct vr_vcon *c, uint32_t id, uint16_t event, uint16_t value)
{
	struct vr_seg s;
	unsigned i;
	int err;

	err = reap_ctrl_tx(c);
	if (err)
		return err;
	for (i = 0; i < VR_VCON_CTRL_BUFS && c->ctrl_tx_busy[i]; i++)
		;
	if (i == VR_VCON_CTRL_BUFS) {
		c->stats.ctrl_tx_full++;
		return VR_ENOSPC;
	}
	put_le(c->ctrl_tx[i], id, 4);
	put_le(c->ctrl_tx[i] + 4, event, 2);
	put_le(c->ctrl_tx[i] + 6, value, 2);
	s.addr = bus_addr(c->vd, c->ctrl_tx[i]);
	s.len = VR_VCON_CTRL_HDR;
	err = vr_virtio_queue_add(&c->cout, &s, 1, 0, (void *)(uintptr_t)(COOKIE_TX + i));
	if (err < 0)
		return err;
	c->ctrl_tx_busy[i] = true;
	err = vr_virtio_queue_kick(&c->cout);
	return err < 0 ? err : 0;
}

int vr_vcon_start(struct vr_vcon *c)
{
	unsigned i;
	int err;

	if (!c || !c->vd)
		return VR_EINVAL;
	if (!c->multiport)
		return 0;
	for (i = 0; i < VR_VCON_CTRL_BUFS; i++) {
		err = post_ctrl_rx(c, i);
		if (err < 0)
			return err;
	}
	err = vr_virtio_queue_kick(&c->cin);
	if (err < 0)
		return err;
	/* Ask for interrupts on the control receive queue. */
	err = vr_virtio_queue_arm(&c->cin);
	if (err < 0)
		return err;
	return send_ctrl(c, VCON_ANY_PORT, VR_VCON_DEVICE_READY, 1);
}

/* A name as the device sent it: printable ASCII, a NUL at the end
 * allowed (QEMU sends one), at most VR_VCON_NAME_MAX characters. */
static bool take_name(struct vr_vcon_port *port, const uint8_t *s, uint32_t n)
{
	uint32_t i;

	if (n && s[n - 1] == 0)
		n--;
	if (n == 0 || n > VR_VCON_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	for (i = 0; i < n; i++)
		port->name[i] = (char)s[i];
	port->name[n] = 0;
	return true;
}

static int handle(struct vr_vcon *c, const uint8_t *m, uint32_t len)
{
	uint32_t id;
	uint16_t event, value;
	struct vr_vcon_port *port;

	c->stats.ctrl_msgs++;
	if (len < VR_VCON_CTRL_HDR) {
		c->stats.bad_len++;
		return 0;
	}
	id = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
	event = (uint16_t)(m[4] | m[5] << 8);
	value = (uint16_t)(m[6] | m[7] << 8);
	if (event == VR_VCON_DEVICE_READY || event == VR_VCON_PORT_READY ||
	    event > VR_VCON_PORT_NAME) {
		c->stats.bad_event++; /* the driver's to send, or unknown */
		return 0;
	}
	if (id >= c->max_ports) {
		c->stats.bad_port++;
		return 0;
	}
	if (id >= c->nports) {
		/* A port this driver has no queues for: refuse it as Linux
		 * refuses a port it cannot set up. */
		if (event == VR_VCON_DEVICE_ADD) {
			int err = send_ctrl(c, id, VR_VCON_PORT_READY, 0);

			if (err && err != VR_ENOSPC)
				return err;
		}
		c->stats.bad_port++;
		return 0;
	}
	port = &c->port[id];
	switch (event) {
	case VR_VCON_DEVICE_ADD: {
		int err;

		if (port->added)
			return 0; /* repeated: nothing new */
		port->added = true;
		err = send_ctrl(c, id, VR_VCON_PORT_READY, 1);
		if (err && err != VR_ENOSPC)
			return err;
		return (int)VR_VCON_EV_ADDED;
	}
	case VR_VCON_DEVICE_REMOVE:
		if (!port->added)
			return 0;
		port->added = port->console = port->host_open = port->guest_open = false;
		port->name[0] = 0;
		return (int)VR_VCON_EV_CLOSED;
	case VR_VCON_CONSOLE_PORT:
		if (!port->added) {
			c->stats.bad_port++;
			return 0;
		}
		port->console = true;
		return 0;
	case VR_VCON_RESIZE:
		return 0;
	case VR_VCON_PORT_OPEN:
		if (!port->added || value > 1) {
			c->stats.bad_event++;
			return 0;
		}
		if (port->host_open == (value == 1))
			return 0;
		port->host_open = value == 1;
		return (int)(value ? VR_VCON_EV_OPENED : VR_VCON_EV_CLOSED);
	case VR_VCON_PORT_NAME:
		if (!port->added || !take_name(port, m + VR_VCON_CTRL_HDR, len - VR_VCON_CTRL_HDR)) {
			c->stats.bad_name++;
			return 0;
		}
		return (int)VR_VCON_EV_NAMED;
	}
	return 0;
}

int vr_vcon_control(struct vr_vcon *c)
{
	struct vr_used_buf u;
	int events = 0, err, posted = 0;

	if (!c || !c->vd)
		return VR_EINVAL;
	if (!c->multiport)
		return 0;
	err = reap_ctrl_tx(c);
	if (err)
		return err;
	for (;;) {
		uintptr_t k;
		int r;

		err = vr_virtio_queue_get_used(&c->cin, &u);
		if (err == VR_EAGAIN) {
			/* Re-arm, and look again if something slipped in. */
			err = vr_virtio_queue_arm(&c->cin);
			if (err < 0)
				return err;
			if (err == 1)
				continue;
			break;
		}
		if (err)
			return err;
		k = (uintptr_t)u.cookie;
		if (k < 1 || k > VR_VCON_CTRL_BUFS)
			return VR_ESTATE; /* not ours: cannot happen */
		/* The core checked u.len against the buffer's size. */
		r = handle(c, c->ctrl_rx[k - 1], u.len);
		if (r < 0)
			return r;
		events |= r;
		err = post_ctrl_rx(c, (unsigned)(k - 1));
		if (err < 0)
			return err;
		posted = 1;
	}
	if (posted) {
		err = vr_virtio_queue_kick(&c->cin);
		if (err < 0)
			return err;
	}
	return events;
}

int vr_vcon_find(const struct vr_vcon *c, const char *name)
{
	uint32_t p;

	if (!c || !name)
		return VR_EINVAL;
	for (p = 0; p < c->nports; p++) {
		const char *a = c->port[p].name, *b = name;

		if (!c->port[p].added || !*a)
			continue;
		while (*a && *a == *b) {
			a++;
			b++;
		}
		if (*a == *b)
			return (int)p;
	}
	return VR_ENODEV;
}

int vr_vcon_open(struct vr_vcon *c, uint32_t p)
{
	int err;

	if (!c || p >= c->nports)
		return VR_EINVAL;
	if (!c->port[p].added)
		return VR_ESTATE;
	if (c->multiport) {
		err = send_ctrl(c, p, VR_VCON_PORT_OPEN, 1);
		if (err)
			return err;
	}
	c->port[p].guest_open = true;
	return 0;
}
