// SPDX-License-Identifier: BSD-3-Clause
// The virtio driver headers with the Linux uapi virtio headers in one C++
// translation unit: no clashing names, and the inline code is valid C++.
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include <vring/virtio_drv.h>
#include <vring/virtio_mmio.h>
#include <vring/virtio_mmio_regs.h>

static_assert(VR_MMIO_REG_STATUS == VIRTIO_MMIO_STATUS, "Status");
static_assert(VR_MMIO_REG_QUEUE_READY == VIRTIO_MMIO_QUEUE_READY, "QueueReady");
static_assert(VR_VIRTIO_STATUS_FEATURES_OK == VIRTIO_CONFIG_S_FEATURES_OK, "FEATURES_OK");

int main()
{
	vr_mmio m;
	vr_virtio_dev d;

	// A NULL bus table is refused before anything is touched.
	if (vr_virtio_init(&d, nullptr, &m, nullptr, nullptr) != VR_EINVAL)
		return 1;
	return vr_virtio_init(&d, &vr_mmio_bus_ops, &m, nullptr, nullptr) == 0 ? 0 : 1;
}
