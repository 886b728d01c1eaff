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
 * larger of the two is the run's. After the whole matrix, a run whose probe
 * is above --apart times the lowest (of the runs' probes and the
 * calibration's spin ping-pong, the same measurement) ran apart: its
 * cell's medians leave it out (lat_json.c) unless every round of the cell
 * ran apart, and the report compares a cell only with cells measured in
 * the same placement. The cycle benchmarks do the same (xcore_rt_cycles,
 * bench/report.py's APART).
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

void vl_place_mark(struct vl_cell *cells, size_t n, uint32_t rounds, double factor,
		   uint64_t calib_ns, struct vl_place *p)
{
	size_t i;
	uint32_t r;

	p->lowest_ns = calib_ns;
	p->probed = 0;
	p->apart = 0;
	for (i = 0; i < n; i++)
		for (r = 0; r < rounds; r++) {
			const struct vl_fig *f = &cells[i].fig[r];

			if (!f->ok || f->xcore_ns == 0)
				continue;
			p->probed++;
			if (p->lowest_ns == 0 || f->xcore_ns < p->lowest_ns)
				p->lowest_ns = f->xcore_ns;
		}
	for (i = 0; i < n; i++)
		for (r = 0; r < rounds; r++) {
			struct vl_fig *f = &cells[i].fig[r];

			f->apart = f->ok && f->xcore_ns != 0 && factor > 0 &&
				   (double)f->xcore_ns > factor * (double)p->lowest_ns;
			p->apart += f->apart;
		}
}
