/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A log-linear latency histogram (the HdrHistogram idea, written for this
 * tool): 128 linear sub-buckets per power of two, so a value is stored with
 * at most 1/128 (0.78%) relative error, and exactly below 128 ns. Fixed
 * size (about 60 KiB), nothing allocated per sample: recording is one
 * count-leading-zeros, a shift and an increment, cheap enough for every
 * round trip.
 */
#ifndef VL_LAT_HIST_H
#define VL_LAT_HIST_H

#include <stdint.h>

#define VL_HIST_SUB_BITS 7u
#define VL_HIST_SUB (1u << VL_HIST_SUB_BITS)
#define VL_HIST_BUCKETS ((64u - VL_HIST_SUB_BITS + 1u) * VL_HIST_SUB)

struct vl_hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	double sum; /* for the mean; a double does not wrap */
	uint64_t bucket[VL_HIST_BUCKETS];
};

void vl_hist_reset(struct vl_hist *h);

static inline unsigned vl_hist_index(uint64_t v)
{
	unsigned e;

	if (v < VL_HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* e >= SUB_BITS */
	return (e - VL_HIST_SUB_BITS + 1u) * VL_HIST_SUB +
	       (unsigned)((v >> (e - VL_HIST_SUB_BITS)) & (VL_HIST_SUB - 1u));
}

static inline void vl_hist_add(struct vl_hist *h, uint64_t v)
{
	h->bucket[vl_hist_index(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v > h->max)
		h->max = v;
	if (v < h->min)
		h->min = v;
}

/* The value at or below which a fraction @q (0..1) of the samples lie:
 * the highest value of its bucket, never above the maximum seen; 0 when
 * the histogram is empty. */
uint64_t vl_hist_quantile(const struct vl_hist *h, double q);

double vl_hist_mean(const struct vl_hist *h);

#endif /* VL_LAT_HIST_H */
