/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/notify.h
 * @brief The arithmetic of notification suppression, shared by both roles.
 *
 * Pure functions of their arguments; safe anywhere. The memory-ordering side
 * of suppression (the full fence between publishing and reading the peer's
 * event index) lives in the need_notify and arm calls of split.h and
 * packed.h.
 */
#ifndef VRING_NOTIFY_H
#define VRING_NOTIFY_H

#include <stdint.h>

#include "detail/compiler.h"

VR_EXTERN_C_BEGIN

/**
 * @brief Split ring event index test (VIRTIO_F_EVENT_IDX, section 2.7.7.2
 *        and 2.7.10.2).
 *
 * The peer asked to be notified once the index passes @p event. This side
 * moved its index from @p old_idx to @p new_idx (free-running 16-bit
 * values). True when @p event lies in [old_idx, new_idx), with 16-bit wrap.
 */
VR_INLINE int vr_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/**
 * @brief Packed ring event test (section 2.8.10): was the descriptor at
 *        @p event_off_wrap (offset in bits 0..14, wrap counter in bit 15)
 *        among those this side published between (old_pos, old_wrap) and
 *        (new_pos, new_wrap)?
 *
 * A (position, wrap) pair names a point on a cycle of 2 * num steps; the
 * event fires when the event point lies in the half-open arc [old, new).
 * The arc is shorter than num, so the answer is never ambiguous.
 */
VR_INLINE int vr_packed_need_event(uint16_t event_off_wrap, uint32_t num,
				   uint16_t new_pos, int new_wrap,
				   uint16_t old_pos, int old_wrap)
{
	uint32_t cycle = 2 * num;
	uint32_t ev_pos = event_off_wrap & 0x7fffu;
	uint32_t ev = ev_pos + ((event_off_wrap >> 15) ? num : 0);
	uint32_t nw = new_pos + (new_wrap ? num : 0);
	uint32_t od = old_pos + (old_wrap ? num : 0);

	uint32_t ev_dist, new_dist;

	if (ev_pos >= num)
		return 1; /* nonsense from the peer: notifying is always safe */
	/* Distances along the cycle from old; every term is < 2 * cycle, so
	 * one conditional subtraction replaces a modulo (no divide on an MCU). */
	ev_dist = ev + cycle - od;
	if (ev_dist >= cycle)
		ev_dist -= cycle;
	new_dist = nw + cycle - od;
	if (new_dist >= cycle)
		new_dist -= cycle;
	return ev_dist < new_dist;
}

VR_EXTERN_C_END

#endif /* VRING_NOTIFY_H */
