// SPDX-License-Identifier: BSD-3-Clause
// Every public libvring header and the Linux uapi virtio headers in one C++
// translation unit: a Linux-side C++ user includes them together.
// The legacy vring_init() in the uapi header is C only (void * conversions).
#define VIRTIO_RING_NO_LEGACY 1
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include <vring/errors.h>
#include <vring/layout.h>
#include <vring/mem.h>
#include <vring/notify.h>
#include <vring/packed.h>
#include <vring/queue.h>
#include <vring/split.h>
#include <vring/vring.h>

#include <cstdio>
#include <cstring>

static_assert(sizeof(vr_desc) == sizeof(vring_desc), "split descriptor");
static_assert(sizeof(vr_packed_desc) == sizeof(vring_packed_desc), "packed descriptor");
static_assert(VR_DESC_F_NEXT == VRING_DESC_F_NEXT, "NEXT");
static_assert(VR_DESC_F_WRITE == VRING_DESC_F_WRITE, "WRITE");
static_assert(VR_DESC_F_INDIRECT == VRING_DESC_F_INDIRECT, "INDIRECT");
static_assert(VR_F_EVENT_IDX == VIRTIO_RING_F_EVENT_IDX, "EVENT_IDX");
static_assert(VR_F_INDIRECT_DESC == VIRTIO_RING_F_INDIRECT_DESC, "INDIRECT_DESC");
static_assert(VR_F_RING_PACKED == VIRTIO_F_RING_PACKED, "RING_PACKED");
static_assert(VR_F_IN_ORDER == VIRTIO_F_IN_ORDER, "IN_ORDER");

int main()
{
	// Use the inline C++ view of the core once: a one-entry split ring
	// moved by both roles.
	alignas(4096) static unsigned char region[8192];
	static vr_drv_slot drv_state[1];
	static uint16_t dev_state[8];
	vr_queue_cfg cfg;
	vr_split_areas areas;
	vr_split_drv drv;
	vr_split_dev dev;
	std::memset(&cfg, 0, sizeof(cfg));
	cfg.num = 1;
	cfg.mem = vr_mem_window(region, 0, sizeof(region));
	if (vr_split_areas_from_region(&areas, region, 4096, 1, 4) ||
	    vr_split_drv_init(&drv, &cfg, &areas, drv_state, sizeof(drv_state)) ||
	    vr_split_dev_init(&dev, &cfg, &areas, dev_state, sizeof(dev_state)))
		return 1;
	vr_seg seg = {4096, 16};
	if (vr_split_drv_add(&drv, &seg, 0, 1, nullptr) != 0)
		return 2;
	vr_split_drv_kick_prepare(&drv);
	vr_iov iov[1];
	vr_chain c;
	std::memset(&c, 0, sizeof(c));
	c.iov = iov;
	c.iov_cap = 1;
	if (vr_split_dev_pop(&dev, &c) != 0 || c.n_in != 1)
		return 3;
	if (vr_split_dev_push(&dev, c.id, 16) != 0)
		return 4;
	vr_used_buf u;
	if (vr_split_drv_get_used(&drv, &u) != 0 || u.len != 16)
		return 5;
	std::printf("headers compile as C++ with <linux/virtio_ring.h>: %s\n",
		    vr_strerror(VR_OK));
	return 0;
}
