/* SPDX-License-Identifier: BSD-3-Clause */
/* The log-linear histogram: bucket edges and quantiles. */
#include "lat_hist.h"

#include <string.h>

void vl_hist_reset(struct vl_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/* Largest value that falls into bucket @i. */
static uint64_t bucket_top(unsigned i)
{
	unsigned e, sub;
	uint64_t lo;

	if (i < VL_HIST_SUB)
		return i;
	e = i / VL_HIST_SUB + VL_HIST_SUB_BITS - 1u;
	sub = i % VL_HIST_SUB;
	lo = ((uint64_t)1 << e) | ((uint64_t)sub << (e - VL_HIST_SUB_BITS));
	return lo + (((uint64_t)1 << (e - VL_HIST_SUB_BITS)) - 1u);
}

uint64_t vl_hist_quantile(const struct vl_hist *h, double q)
{
	uint64_t want, seen = 0, top;
	double exact;
	unsigned i;

	if (h->count == 0)
		return 0;
	if (q >= 1.0)
		return h->max;
	/* The rank of the sample, counting from 1: ceil(q * count). */
	exact = q * (double)h->count;
	want = (uint64_t)exact;
	if ((double)want < exact)
		want++;
	if (want == 0)
		want = 1;
	for (i = 0; i < VL_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want) {
			top = bucket_top(i);
			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}

double vl_hist_mean(const struct vl_hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}
