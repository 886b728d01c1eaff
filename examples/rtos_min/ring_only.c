/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ring core alone, device side, for scripts/size.sh: pop a chain,
 * complete it, decide on the notification, arm before sleeping; the
 * queue's memory at a fixed address. RING_PACKED selects the format.
 */
#include <stddef.h>
#include <stdint.h>

#include <vring/vring.h>

#ifndef RING_BASE
#define RING_BASE 0x20010000u
#endif
#define QSIZE 64u

int main(void);
void board_kick(void);
void board_sleep(void);

/* The board's doorbell and sleep (weak no-ops here). */
__attribute__((weak)) void board_kick(void) {}
__attribute__((weak)) void board_sleep(void) {}

#ifdef RING_PACKED
static struct vr_packed_dev q;
#else
static struct vr_split_dev q;
#endif
static uint64_t state[QSIZE * 4];

int main(void)
{
	struct vr_queue_cfg cfg;
	struct vr_iov iov[4];
	struct vr_chain c;
	unsigned char *base = (unsigned char *)(uintptr_t)RING_BASE;
	int err;

	cfg.num = QSIZE;
	cfg.features = VR_FEATURE(VR_F_EVENT_IDX);
	cfg.flags = 0;
	cfg.max_indirect = 0;
	cfg.mem = vr_mem_window(base, 0, 0x8000);
#ifdef RING_PACKED
	struct vr_packed_areas a;

	vr_packed_areas_from_region(&a, base, 0x2000, QSIZE);
	if (vr_packed_dev_init(&q, &cfg, &a, state, sizeof(state)))
		return 1;
#else
	struct vr_split_areas a;

	vr_split_areas_from_region(&a, base, 0x2000, QSIZE, VR_LEGACY_ALIGN);
	if (vr_split_dev_init(&q, &cfg, &a, state, sizeof(state)))
		return 1;
#endif
	for (;;) {
		c.iov = iov;
		c.iov_cap = 4;
#ifdef RING_PACKED
		while ((err = vr_packed_dev_pop(&q, &c)) == 0)
			(void)vr_packed_dev_complete(&q, c.id, 0);
		if (vr_packed_dev_notify_prepare(&q) == 1)
			board_kick();
		if (err == VR_EAGAIN && vr_packed_dev_arm_avail_notify(&q) == 0)
			board_sleep();
#else
		while ((err = vr_split_dev_pop(&q, &c)) == 0)
			(void)vr_split_dev_complete(&q, c.id, 0);
		if (vr_split_dev_notify_prepare(&q) == 1)
			board_kick();
		if (err == VR_EAGAIN && vr_split_dev_arm_avail_notify(&q) == 0)
			board_sleep();
#endif
		if (vr_is_protocol_error(err))
			return 2;
	}
}
