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
 * the lowest so far (of the probes and the calibration's spin ping-pong,
 * the same measurement) ran apart, and is measured again, up to
 * --apart-retries times (lat_main.c). After the whole matrix the runs kept
 * are judged again against the lowest of all: a run that ran apart is left
 * out of its cell's medians (lat_json.c) unless every round of the cell
 * did, and the report compares a cell with others in the usual placement
 * when both have rounds there. The cycle benchmarks do the same
 * (xcore_rt_cycles, bench/report.py's APART).
 */
#include "lat.h"

#include <stdlib.h>

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

bool vl_place_is_apart(double factor, uint64_t lowest, uint64_t xcore_ns)
{
	return factor > 0 && lowest != 0 && xcore_ns != 0 &&
	       (double)xcore_ns > factor * (double)lowest;
}

void vl_place_mark(struct vl_cell *cells, size_t n, uint32_t rounds, double factor,
		   uint64_t calib_ns, struct vl_place *p)
{
	size_t i;
	uint32_t r;

	p->lowest_ns = calib_ns;
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
			if (p->lowest_ns == 0 || f->xcore_ns < p->lowest_ns)
				p->lowest_ns = f->xcore_ns;
		}
	for (i = 0; i < n; i++)
		for (r = 0; r < rounds; r++) {
			struct vl_fig *f = &cells[i].fig[r];

			f->apart = f->ok && vl_place_is_apart(factor, p->lowest_ns, f->xcore_ns);
			p->apart += f->apart;
		}
}
