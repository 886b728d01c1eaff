/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where the host put the two vCPUs during each run. On a shared cloud VM
 * the hypervisor may run the client's and the device's vCPUs on cores that
 * share a cache, or far apart; a cache-line round trip then takes several
 * times longer, and every policy's figures move with it (at saturation the
 * fast policies fall from about 4.5 M to 1.5 M round trips a second). Which
 * cell draws the slow placement is luck, and a comparison between a cell
 * measured close and one measured apart compares placements, not policies.
 *
 * So each run is bracketed by two short probes, a spin ping-pong between
 * its two CPUs (the calibration's, 501 round trips, their median); the
 * larger of the two is the run's. A run whose probe is above --apart times
 * the usual round trip (the 10th percentile of the probes so far and the
 * calibration's spin ping-pong, the same measurement) ran apart, and is
 * measured again, up to --apart-retries times (lat_main.c). After the
 * whole matrix the runs kept are judged again against the usual round trip
 * of all the probes: a run that ran apart is left
 * out of its cell's medians (lat_json.c) unless every round of the cell
 * did, and the report compares a cell with others in the usual placement
 * when both have rounds there. The cycle benchmarks do the same
 * (xcore_rt_cycles, bench/report.py's APART).
 */
#include "lat.h"

#include <stdlib.h>
#include <string.h>

uint64_t vl_place_probe(const struct vl_opts *o)
{
	struct vl_hist *h;
	uint64_t med = 0;

	if (o->cpu_client < 0 || o->cpu_device < 0)
		return 0; /* not pinned: no placement to speak of */
	h = malloc(sizeof(*h));
	if (!h)
		return 0;
	vl_hist_reset(h);
	if (vl_spin_pingpong(o, VL_PLACE_TRIPS, h) == 0)
		med = vl_hist_quantile(h, 0.5);
	free(h);
	return med;
}

bool vl_place_is_apart(double factor, uint64_t usual_ns, uint64_t xcore_ns)
{
	return factor > 0 && usual_ns != 0 && xcore_ns != 0 &&
	       (double)xcore_ns > factor * (double)usual_ns;
}

void vl_place_ref_add(struct vl_place_ref *r, uint64_t ns)
{
	if (ns == 0)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		uint64_t *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return; /* one probe fewer: the reference stands */
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

uint64_t vl_place_ref_usual(const struct vl_place_ref *r)
{
	uint64_t *s, q;

	if (r->n == 0)
		return 0;
	s = malloc(r->n * sizeof(*s));
	if (!s)
		return r->v[0];
	memcpy(s, r->v, r->n * sizeof(*s));
	qsort(s, r->n, sizeof(*s), cmp_u64);
	q = s[r->n / 10]; /* nearest rank below: the minimum under ten probes */
	free(s);
	return q;
}

void vl_place_ref_free(struct vl_place_ref *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

void vl_place_mark(struct vl_cell *cells, size_t n, uint32_t rounds, double factor,
		   uint64_t usual_ns, struct vl_place *p)
{
	size_t i;
	uint32_t r;

	p->usual_ns = usual_ns;
	p->probed = 0;
	p->apart = 0;
	p->repeated = 0;
	for (i = 0; i < n; i++)
		for (r = 0; r < rounds; r++) {
			const struct vl_fig *f = &cells[i].fig[r];

			if (!f->ok)
				continue;
			p->repeated += f->attempts > 1;
			if (f->xcore_ns == 0)
				continue;
			p->probed++;
		}
	for (i = 0; i < n; i++)
		for (r = 0; r < rounds; r++) {
			struct vl_fig *f = &cells[i].fig[r];

			f->apart = f->ok && vl_place_is_apart(factor, usual_ns, f->xcore_ns);
			p->apart += f->apart;
		}
}
