/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every register offset and constant of <vring/virtio_mmio_regs.h> against
 * the system's <linux/virtio_mmio.h> and <linux/virtio_config.h>: a typo in
 * the freestanding header would make the bare-metal driver and the device
 * model agree with each other and disagree with every real device.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include <string.h>

#include <vring/layout.h>
#include <vring/virtio_mmio.h>
#include <vring/virtio_mmio_regs.h>

static void offsets_match_linux(void **state)
{
	(void)state;
	assert_int_equal(VR_MMIO_REG_MAGIC, VIRTIO_MMIO_MAGIC_VALUE);
	assert_int_equal(VR_MMIO_REG_VERSION, VIRTIO_MMIO_VERSION);
	assert_int_equal(VR_MMIO_REG_DEVICE_ID, VIRTIO_MMIO_DEVICE_ID);
	assert_int_equal(VR_MMIO_REG_VENDOR_ID, VIRTIO_MMIO_VENDOR_ID);
	assert_int_equal(VR_MMIO_REG_DEVICE_FEATURES, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_int_equal(VR_MMIO_REG_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DEVICE_FEATURES_SEL);
	assert_int_equal(VR_MMIO_REG_DRIVER_FEATURES, VIRTIO_MMIO_DRIVER_FEATURES);
	assert_int_equal(VR_MMIO_REG_DRIVER_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES_SEL);
	assert_int_equal(VR_MMIO_REG_GUEST_PAGE_SIZE, VIRTIO_MMIO_GUEST_PAGE_SIZE);
	assert_int_equal(VR_MMIO_REG_QUEUE_SEL, VIRTIO_MMIO_QUEUE_SEL);
	assert_int_equal(VR_MMIO_REG_QUEUE_NUM_MAX, VIRTIO_MMIO_QUEUE_NUM_MAX);
	assert_int_equal(VR_MMIO_REG_QUEUE_NUM, VIRTIO_MMIO_QUEUE_NUM);
	assert_int_equal(VR_MMIO_REG_QUEUE_ALIGN, VIRTIO_MMIO_QUEUE_ALIGN);
	assert_int_equal(VR_MMIO_REG_QUEUE_PFN, VIRTIO_MMIO_QUEUE_PFN);
	assert_int_equal(VR_MMIO_REG_QUEUE_READY, VIRTIO_MMIO_QUEUE_READY);
	assert_int_equal(VR_MMIO_REG_QUEUE_NOTIFY, VIRTIO_MMIO_QUEUE_NOTIFY);
	assert_int_equal(VR_MMIO_REG_INTERRUPT_STATUS, VIRTIO_MMIO_INTERRUPT_STATUS);
	assert_int_equal(VR_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_INTERRUPT_ACK);
	assert_int_equal(VR_MMIO_REG_STATUS, VIRTIO_MMIO_STATUS);
	assert_int_equal(VR_MMIO_REG_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_LOW);
	assert_int_equal(VR_MMIO_REG_QUEUE_DESC_HIGH, VIRTIO_MMIO_QUEUE_DESC_HIGH);
	assert_int_equal(VR_MMIO_REG_QUEUE_DRIVER_LOW, VIRTIO_MMIO_QUEUE_AVAIL_LOW);
	assert_int_equal(VR_MMIO_REG_QUEUE_DRIVER_HIGH, VIRTIO_MMIO_QUEUE_AVAIL_HIGH);
	assert_int_equal(VR_MMIO_REG_QUEUE_DEVICE_LOW, VIRTIO_MMIO_QUEUE_USED_LOW);
	assert_int_equal(VR_MMIO_REG_QUEUE_DEVICE_HIGH, VIRTIO_MMIO_QUEUE_USED_HIGH);
	assert_int_equal(VR_MMIO_REG_SHM_SEL, VIRTIO_MMIO_SHM_SEL);
	assert_int_equal(VR_MMIO_REG_SHM_LEN_LOW, VIRTIO_MMIO_SHM_LEN_LOW);
	assert_int_equal(VR_MMIO_REG_SHM_LEN_HIGH, VIRTIO_MMIO_SHM_LEN_HIGH);
	assert_int_equal(VR_MMIO_REG_SHM_BASE_LOW, VIRTIO_MMIO_SHM_BASE_LOW);
	assert_int_equal(VR_MMIO_REG_SHM_BASE_HIGH, VIRTIO_MMIO_SHM_BASE_HIGH);
	assert_int_equal(VR_MMIO_REG_CONFIG_GENERATION, VIRTIO_MMIO_CONFIG_GENERATION);
	assert_int_equal(VR_MMIO_REG_CONFIG, VIRTIO_MMIO_CONFIG);
#ifdef VIRTIO_MMIO_QUEUE_RESET
	assert_int_equal(VR_MMIO_REG_QUEUE_RESET, VIRTIO_MMIO_QUEUE_RESET);
#else
	/* Older uapi headers lack it; virtio 1.2 table 4.1 puts it at 0xc0,
	 * right after the shared memory registers. */
	assert_int_equal(VR_MMIO_REG_QUEUE_RESET, VIRTIO_MMIO_SHM_BASE_HIGH + 4);
#endif
	/* Every register is a naturally aligned 32-bit word. */
	assert_int_equal(VR_MMIO_REG_QUEUE_RESET % 4, 0);
	assert_true(VR_MMIO_REG_CONFIG_GENERATION < VR_MMIO_REG_CONFIG);
	assert_true(VR_MMIO_REG_CONFIG < VR_MMIO_REGION_SIZE);
}

static void constants_match_linux(void **state)
{
	(void)state;
	/* "virt" as the little-endian word a 32-bit load returns. */
	assert_int_equal(VR_MMIO_MAGIC, ('v' | 'i' << 8 | 'r' << 16 | (uint32_t)'t' << 24));
	assert_int_equal(VR_MMIO_INT_VRING, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(VR_MMIO_INT_CONFIG, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(VR_VIRTIO_STATUS_ACKNOWLEDGE, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(VR_VIRTIO_STATUS_DRIVER, VIRTIO_CONFIG_S_DRIVER);
	assert_int_equal(VR_VIRTIO_STATUS_DRIVER_OK, VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(VR_VIRTIO_STATUS_FEATURES_OK, VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(VR_VIRTIO_STATUS_NEEDS_RESET, VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(VR_VIRTIO_STATUS_FAILED, VIRTIO_CONFIG_S_FAILED);
	assert_int_equal(VR_VIRTIO_ID_NET, VIRTIO_ID_NET);
	assert_int_equal(VR_VIRTIO_ID_BLOCK, VIRTIO_ID_BLOCK);
	assert_int_equal(VR_VIRTIO_ID_CONSOLE, VIRTIO_ID_CONSOLE);
	assert_int_equal(VR_VIRTIO_ID_RNG, VIRTIO_ID_RNG);
	assert_int_equal(VR_VIRTIO_ID_BALLOON, VIRTIO_ID_BALLOON);
}

static void feature_bits_match_linux(void **state)
{
	(void)state;
	assert_int_equal(VR_F_INDIRECT_DESC, VIRTIO_RING_F_INDIRECT_DESC);
	assert_int_equal(VR_F_EVENT_IDX, VIRTIO_RING_F_EVENT_IDX);
	assert_int_equal(VR_F_VERSION_1, VIRTIO_F_VERSION_1);
	assert_int_equal(VR_F_RING_PACKED, VIRTIO_F_RING_PACKED);
	assert_int_equal(VR_F_IN_ORDER, VIRTIO_F_IN_ORDER);
	assert_int_equal(VR_F_RING_RESET, VIRTIO_F_RING_RESET);
	assert_int_equal(VR_F_NOTIFY_ON_EMPTY, VIRTIO_F_NOTIFY_ON_EMPTY);
	assert_int_equal(VR_F_ANY_LAYOUT, VIRTIO_F_ANY_LAYOUT);
	assert_int_equal(VR_F_ACCESS_PLATFORM, VIRTIO_F_ACCESS_PLATFORM);
	assert_int_equal(VR_F_ORDER_PLATFORM, VIRTIO_F_ORDER_PLATFORM);
	assert_int_equal(VR_F_SR_IOV, VIRTIO_F_SR_IOV);
#ifdef VIRTIO_F_NOTIFICATION_DATA
	assert_int_equal(VR_F_NOTIFICATION_DATA, VIRTIO_F_NOTIFICATION_DATA);
#endif
	assert_int_equal(VR_F_TRANSPORT_FIRST, VIRTIO_TRANSPORT_F_START);
	/* Linux's END is one past the last reserved bit. */
	assert_int_equal(VR_F_TRANSPORT_LAST + 1, VIRTIO_TRANSPORT_F_END);
}

/* The accessor's real-MMIO path (volatile loads and stores at base +
 * offset) on a register block in plain memory: probe reads the identity,
 * widths land where they should. */
static void accessor_real_mmio(void **state)
{
	static uint32_t regs[VR_MMIO_REGION_SIZE / 4];
	struct vr_mmio m;
	uint8_t *cfg = (uint8_t *)regs + VR_MMIO_REG_CONFIG;

	(void)state;
	memset(regs, 0, sizeof(regs));
	regs[VR_MMIO_REG_MAGIC / 4] = VR_MMIO_MAGIC;
	regs[VR_MMIO_REG_VERSION / 4] = 2;
	regs[VR_MMIO_REG_DEVICE_ID / 4] = VR_VIRTIO_ID_RNG;
	regs[VR_MMIO_REG_VENDOR_ID / 4] = 0x554d4551u;
	assert_int_equal(vr_mmio_probe(&m, (uintptr_t)regs), 0);
	assert_int_equal(vr_mmio_device_id(&m), VR_VIRTIO_ID_RNG);
	assert_int_equal(vr_mmio_vendor_id(&m), 0x554d4551u);
	assert_int_equal(vr_mmio_version(&m), 2);
	vr_mmio_write32(&m, VR_MMIO_REG_QUEUE_NOTIFY, 5);
	assert_int_equal(regs[VR_MMIO_REG_QUEUE_NOTIFY / 4], 5);
	cfg[0] = 0x11;
	cfg[1] = 0x22;
	cfg[2] = 0x33;
	cfg[3] = 0x44;
	assert_int_equal(vr_mmio_read(&m, VR_MMIO_REG_CONFIG + 1, 1), 0x22);
	assert_int_equal(vr_mmio_read(&m, VR_MMIO_REG_CONFIG + 2, 2), 0x4433);
	assert_int_equal(vr_mmio_read(&m, VR_MMIO_REG_CONFIG, 4), 0x44332211u);
	vr_mmio_write(&m, VR_MMIO_REG_CONFIG + 1, 0xab, 1);
	vr_mmio_write(&m, VR_MMIO_REG_CONFIG + 2, 0xcdef, 2);
	assert_int_equal(cfg[0], 0x11);
	assert_int_equal(cfg[1], 0xab);
	assert_int_equal(cfg[2], 0xef);
	assert_int_equal(cfg[3], 0xcd);
	/* Legacy, unknown version, empty slot, no magic. */
	regs[VR_MMIO_REG_VERSION / 4] = 1;
	assert_int_equal(vr_mmio_probe(&m, (uintptr_t)regs), VR_ELEGACY);
	regs[VR_MMIO_REG_VERSION / 4] = 7;
	assert_int_equal(vr_mmio_probe(&m, (uintptr_t)regs), VR_EDEVICE);
	regs[VR_MMIO_REG_VERSION / 4] = 2;
	regs[VR_MMIO_REG_DEVICE_ID / 4] = 0;
	assert_int_equal(vr_mmio_probe(&m, (uintptr_t)regs), VR_ENODEV);
	regs[VR_MMIO_REG_MAGIC / 4] = 0;
	assert_int_equal(vr_mmio_probe(&m, (uintptr_t)regs), VR_ENODEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(offsets_match_linux),
		cmocka_unit_test(constants_match_linux),
		cmocka_unit_test(feature_bits_match_linux),
		cmocka_unit_test(accessor_real_mmio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
