/* SPDX-License-Identifier: BSD-3-Clause */
/* The channel counters of one end, both queues, and their differences. */
#include "lat.h"

void vl_counts_read(const struct vr_chan *ch, struct vl_counts *c)
{
	uint64_t all[VR_RS_COUNT];
	uint32_t q;
	unsigned i;

	for (q = VR_CHAN_TX; q <= VR_CHAN_RX; q++) {
		(void)vr_chan_get_queue_stats(ch, q, all);
		for (i = 0; i < VL_NSTAT; i++)
			c->q[q][i] = all[i];
	}
}

void vl_counts_delta(struct vl_counts *a, const struct vl_counts *b)
{
	unsigned q, i;

	for (q = 0; q < 2; q++)
		for (i = 0; i < VL_NSTAT; i++)
			a->q[q][i] = b->q[q][i] - a->q[q][i];
}

uint64_t vl_counts_sum(const struct vl_counts *c, unsigned which)
{
	return c->q[VR_CHAN_TX][which] + c->q[VR_CHAN_RX][which];
}
