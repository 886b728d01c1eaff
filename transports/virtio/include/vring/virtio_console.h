/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/virtio_console.h
 * @brief The virtio console device (virtio 1.2 section 5.3) on top of the
 *        virtio driver core: ports, the multiport control protocol, port
 *        names, opening a port, and the byte queues of each port.
 *
 * A console with VIRTIO_CONSOLE_F_MULTIPORT tells the driver about its
 * ports over a pair of control queues: DEVICE_ADD for each port, then
 * CONSOLE_PORT, PORT_NAME ("my-ipc-port", from QEMU's
 * `-device virtconsole,name=...` or `virtserialport,name=...`) and PORT_OPEN
 * when the host side connects; the driver answers DEVICE_READY, PORT_READY
 * and PORT_OPEN as Linux's virtio_console does. This layer runs that
 * protocol, so an RTOS application finds its port by name
 * (vr_vcon_find()), opens it, and moves bytes through the port's receive
 * and transmit queues with the driver core's queue calls.
 *
 * Every control message is checked before use: its length, the port id
 * against max_nr_ports and the ports this driver set up, the event and its
 * value, the name's length and characters; what fails is counted and
 * dropped (a device that lies about control messages cannot make this
 * layer read or write out of bounds, only lose ports).
 *
 * Bring-up (after vr_virtio_negotiate(), before vr_virtio_driver_ok()):
 * @code
 * vr_vcon_setup(&con, &dev, &cfg);   // reads max_nr_ports, sets up queues
 * vr_virtio_driver_ok(&dev);
 * vr_vcon_start(&con);               // control buffers, DEVICE_READY
 * // in the IRQ handler or a loop:
 * vr_virtio_interrupt(&dev); vr_vcon_control(&con);
 * int p = vr_vcon_find(&con, "my-ipc-port");
 * vr_vcon_open(&con, p);             // PORT_OPEN(1)
 * @endcode
 *
 * Freestanding; the caller gives every byte of memory. Concurrency: as the
 * core (one thread of execution at a time per device; mask the device's
 * interrupt around thread-side calls).
 */
#ifndef VRING_VIRTIO_CONSOLE_H
#define VRING_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include <vring/virtio_drv.h>

VR_EXTERN_C_BEGIN

/* Feature bits and config layout (section 5.3.3, 5.3.4). */
#define VR_VCON_F_SIZE 0u
#define VR_VCON_F_MULTIPORT 1u
#define VR_VCON_F_EMERG_WRITE 2u
#define VR_VCON_CFG_COLS 0u
#define VR_VCON_CFG_ROWS 2u
#define VR_VCON_CFG_MAX_NR_PORTS 4u
#define VR_VCON_CFG_EMERG_WR 8u

/* Control events (section 5.3.6.2). */
#define VR_VCON_DEVICE_READY 0u
#define VR_VCON_DEVICE_ADD 1u
#define VR_VCON_DEVICE_REMOVE 2u
#define VR_VCON_PORT_READY 3u
#define VR_VCON_CONSOLE_PORT 4u
#define VR_VCON_RESIZE 5u
#define VR_VCON_PORT_OPEN 6u
#define VR_VCON_PORT_NAME 7u
/** struct virtio_console_control: le32 id, le16 event, le16 value. */
#define VR_VCON_CTRL_HDR 8u

/** Ports this layer drives at most: port 0 and two more, whose queues
 *  with the control pair fill the core's VR_VIRTIO_MAX_QUEUES (8). */
#define VR_VCON_MAX_PORTS 3u
/** Control receive buffers kept posted, and their size: a header and a
 *  name of up to VR_VCON_NAME_MAX bytes. */
#define VR_VCON_CTRL_BUFS 8u
#define VR_VCON_NAME_MAX 55u
#define VR_VCON_CTRL_BUF (VR_VCON_CTRL_HDR + VR_VCON_NAME_MAX + 1u)
/** Virtqueues of @p nports ports with the control pair. */
#define VR_VCON_NQUEUES(nports) (2u * (nports) + 2u)

/** virtio queue index of port @p p's receive queue (transmit: + 1). */
VR_INLINE uint16_t vr_vcon_rx_index(uint32_t p)
{
	return (uint16_t)(p == 0 ? 0u : 2u * (p + 1u));
}

/** Memory of one virtqueue (see vr_virtio_queue_mem_size/state_size). */
struct vr_vcon_qmem {
	void *ring;
	size_t ring_len;
	void *state;
	size_t state_len;
};

struct vr_vcon_cfg {
	/** Ports to drive, 1..VR_VCON_MAX_PORTS (at most max_nr_ports with
	 *  MULTIPORT; 1 without). */
	uint32_t nports;
	/** Size wanted for every queue (the core takes what the device
	 *  allows). */
	uint32_t qsize;
	/** By virtio queue index: 0, 1 port 0; 2, 3 control; 4, 5 port 1... */
	struct vr_vcon_qmem q[VR_VCON_NQUEUES(VR_VCON_MAX_PORTS)];
	/** DMA-able control buffers: VR_VCON_CTRL_BUFS receive buffers of
	 *  VR_VCON_CTRL_BUF bytes, and as many 8-byte transmit slots. */
	uint8_t (*ctrl_rx)[VR_VCON_CTRL_BUF];
	uint8_t (*ctrl_tx)[VR_VCON_CTRL_HDR];
	uint32_t queue_flags; /**< VR_QF_* for every queue */
	struct vr_mem mem;    /**< cache hooks; zeroed = coherent */
};

/** What the device said about one port. */
struct vr_vcon_port {
	bool added;      /**< DEVICE_ADD seen (port 0 without MULTIPORT: always) */
	bool console;    /**< CONSOLE_PORT seen */
	bool host_open;  /**< the host side is connected (PORT_OPEN 1) */
	bool guest_open; /**< this side sent PORT_OPEN 1 */
	char name[VR_VCON_NAME_MAX + 1]; /**< PORT_NAME, "" if none */
	struct vr_virtio_queue rx, tx;
};

/** Counters of what the device sent that was dropped. */
struct vr_vcon_stats {
	uint32_t ctrl_msgs;     /**< control messages taken */
	uint32_t bad_len;       /**< shorter than the header */
	uint32_t bad_port;      /**< port id beyond what was set up */
	uint32_t bad_event;     /**< unknown event, or a driver-to-device one */
	uint32_t bad_name;      /**< empty, too long, or unprintable */
	uint32_t ctrl_tx_full;  /**< control messages not sent: no free slot */
};

/** A console device. Fields are private: use the functions. */
struct vr_vcon {
	struct vr_virtio_dev *vd;
	bool multiport;
	uint32_t max_ports; /* from the config (1 without MULTIPORT) */
	uint32_t nports;
	struct vr_virtio_queue cin, cout;
	uint8_t (*ctrl_rx)[VR_VCON_CTRL_BUF];
	uint8_t (*ctrl_tx)[VR_VCON_CTRL_HDR];
	bool ctrl_tx_busy[VR_VCON_CTRL_BUFS];
	struct vr_vcon_port port[VR_VCON_MAX_PORTS];
	struct vr_vcon_stats stats;
};

/** Events vr_vcon_control() reports (a bit mask). */
#define VR_VCON_EV_ADDED 0x1u   /**< a port appeared */
#define VR_VCON_EV_NAMED 0x2u   /**< a port got its name */
#define VR_VCON_EV_OPENED 0x4u  /**< the host side of a port connected */
#define VR_VCON_EV_CLOSED 0x8u  /**< ... or disconnected, or a port went */

/**
 * @brief Read the console's config and set up its queues: port 0's, and
 *        with MULTIPORT negotiated the control pair and ports 1 ..
 *        nports - 1. Call after vr_virtio_negotiate(), before
 *        vr_virtio_driver_ok().
 * @return 0; VR_EINVAL (NULL, nports out of range, memory missing);
 *         VR_EDEVICE (max_nr_ports 0 or above 0x8000 with MULTIPORT);
 *         VR_ERANGE (nports above max_nr_ports); the errors of
 *         vr_virtio_config_read() and vr_virtio_queue_setup()
 */
int vr_vcon_setup(struct vr_vcon *c, struct vr_virtio_dev *vd,
		  const struct vr_vcon_cfg *cfg);

/**
 * @brief After DRIVER_OK: post the control receive buffers and send
 *        DEVICE_READY(1). Without MULTIPORT nothing to do (port 0 exists).
 * @return 0; the queue errors
 */
int vr_vcon_start(struct vr_vcon *c);

/**
 * @brief Take every control message the device returned, act on it
 *        (DEVICE_ADD -> PORT_READY, names, opens), repost the buffers and
 *        collect finished control transmissions. Call after
 *        vr_virtio_interrupt() or from a polling loop.
 * @return a mask of VR_VCON_EV_* (0: nothing new); a negative code when a
 *         control queue broke (VR_EUSEDLEN, ...: the device broke the ring
 *         protocol; reset the device)
 */
int vr_vcon_control(struct vr_vcon *c);

/** @brief Index of the port named @p name. @return >= 0; VR_ENODEV */
int vr_vcon_find(const struct vr_vcon *c, const char *name);

/**
 * @brief Open port @p p from this side: PORT_OPEN(1) (with MULTIPORT).
 * @return 0; VR_EINVAL (no such port); VR_ESTATE (not added yet);
 *         VR_ENOSPC (no control slot free: call vr_vcon_control, retry)
 */
int vr_vcon_open(struct vr_vcon *c, uint32_t p);

/** @brief Port @p p (NULL when out of range). */
VR_INLINE struct vr_vcon_port *vr_vcon_port(struct vr_vcon *c, uint32_t p)
{
	return p < c->nports ? &c->port[p] : (struct vr_vcon_port *)0;
}

VR_EXTERN_C_END

#endif /* VRING_VIRTIO_CONSOLE_H */
