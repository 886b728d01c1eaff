/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vr-ivshmem-guest: the guest side of the ivshmem end-to-end tests and of
 * scripts/demo-ivshmem.sh. Runs as the program of a busybox initramfs
 * (scripts/lib/qemu_guest.sh), built -static; its arguments come from the
 * kernel command line after "--", its output goes to the serial console.
 *
 *   vr-ivshmem-guest --role driver|device [--peer ID|auto] [--count N]
 *       [--rx N] [--tx N] [--min-len B] [--max-len B] [--require-irq]
 *       [--no-vfio] [--polling] [--format split|packed] [--deaths N]
 *       [--dead-ok] [--liveness-ms T] [--timeout-s T] [--progress N]
 *       [--expect-error NAME]
 *
 * --count N sets both directions; --format makes a driver lay the region
 * out itself (else the server did). --require-irq fails unless the
 * doorbells arrive as VFIO interrupts, and also fails the run if none
 * arrived. --expect-error NAME: opening must fail with that VR_E* code
 * (the bad-input runs); exit 0 when it does.
 *
 * Exit status: 0 success, 1 failure (after a VR-FAIL line), 2 usage.
 */
#define _GNU_SOURCE

#include <vring/ivshmem_guest.h>

#include "peer.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int attach(void *ctx, uint64_t timeout_ns)
{
	return vr_ivshmem_guest_attach_peer((struct vr_ivshmem_guest *)ctx, timeout_ns);
}

static const char *peer_error(void *ctx)
{
	return vr_ivshmem_guest_peer_error((struct vr_ivshmem_guest *)ctx);
}

static void describe(void *ctx, char *buf, size_t cap)
{
	struct vr_ivshmem_guest *g = (struct vr_ivshmem_guest *)ctx;
	static const char *const mode[] = {"none", "poll", "vfio"};
	int m = vr_ivshmem_guest_irq_mode(g);

	snprintf(buf, cap, "irq=%s irqs=%llu+%llu rings=%llu", mode[m < 0 || m > 2 ? 0 : m],
		 (unsigned long long)vr_ivshmem_guest_irq_count(g, 0),
		 (unsigned long long)vr_ivshmem_guest_irq_count(g, 1),
		 (unsigned long long)vr_ivshmem_guest_rings(g));
}

static uint64_t num(const char *s, const char *what)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (end == s || *end) {
		fprintf(stderr, "vr-ivshmem-guest: bad %s \"%s\"\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"role", required_argument, 0, 'r'},   {"peer", required_argument, 0, 'p'},
		{"count", required_argument, 0, 'n'},  {"rx", required_argument, 0, 'R'},
		{"tx", required_argument, 0, 'T'},     {"min-len", required_argument, 0, 'm'},
		{"max-len", required_argument, 0, 'M'}, {"require-irq", no_argument, 0, 'i'},
		{"no-vfio", no_argument, 0, 'V'},      {"polling", no_argument, 0, 'P'},
		{"format", required_argument, 0, 'f'}, {"deaths", required_argument, 0, 'd'},
		{"dead-ok", no_argument, 0, 'D'},      {"liveness-ms", required_argument, 0, 'l'},
		{"timeout-s", required_argument, 0, 't'}, {"progress", required_argument, 0, 'g'},
		{"expect-error", required_argument, 0, 'e'}, {0, 0, 0, 0}};
	struct vr_ivshmem_guest_cfg gc;
	struct vr_region_cfg rc_region;
	struct ivp_cfg pc;
	struct ivp_result res;
	struct vr_ivshmem_guest g;
	const char *expect = NULL;
	const struct ivp_ops ops = {attach, peer_error, describe};
	int c, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&gc, 0, sizeof(gc));
	memset(&pc, 0, sizeof(pc));
	memset(&rc_region, 0, sizeof(rc_region));
	gc.peer_id = VR_IVSHMEM_GUEST_PEER_AUTO;
	pc.tx_count = pc.rx_count = 1000;
	pc.min_len = 8;
	pc.max_len = 512;
	pc.attach_timeout_ns = 60 * IVP_SEC;
	pc.run_timeout_ns = 240 * IVP_SEC;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (strcmp(optarg, "driver") == 0)
				gc.role = VR_ROLE_DRIVER;
			else if (strcmp(optarg, "device") == 0)
				gc.role = VR_ROLE_DEVICE;
			else
				return 2;
			break;
		case 'p':
			gc.peer_id = strcmp(optarg, "auto") == 0 ? VR_IVSHMEM_GUEST_PEER_AUTO
								 : (uint32_t)num(optarg, "peer");
			break;
		case 'n': pc.tx_count = pc.rx_count = num(optarg, "count"); break;
		case 'R': pc.rx_count = num(optarg, "rx"); break;
		case 'T': pc.tx_count = num(optarg, "tx"); break;
		case 'm': pc.min_len = (uint32_t)num(optarg, "min-len"); break;
		case 'M': pc.max_len = (uint32_t)num(optarg, "max-len"); break;
		case 'i': gc.flags |= VR_IVSHMEM_GUEST_REQUIRE_IRQ; break;
		case 'V': gc.flags |= VR_IVSHMEM_GUEST_NO_VFIO; break;
		case 'P': gc.flags |= VR_IVSHMEM_GUEST_POLLING; break;
		case 'f':
			gc.flags |= VR_IVSHMEM_GUEST_FORMAT;
			rc_region.queue_count = 2;
			rc_region.queue[0].size = rc_region.queue[1].size = 256;
			rc_region.queue[0].format = rc_region.queue[1].format =
				strcmp(optarg, "packed") == 0 ? VR_FORMAT_PACKED : VR_FORMAT_SPLIT;
			rc_region.buf_bytes = 2048;
			rc_region.buf_count = 256;
			rc_region.device_features = VR_FEATURE(VR_F_VERSION_1) |
						    VR_FEATURE(VR_F_EVENT_IDX) |
						    VR_FEATURE(VR_F_RING_RESET) |
						    (strcmp(optarg, "packed") == 0
							     ? VR_FEATURE(VR_F_RING_PACKED)
							     : 0);
			gc.region = &rc_region;
			break;
		case 'd': pc.max_deaths = (uint32_t)num(optarg, "deaths"); break;
		case 'D': pc.dead_ok = true; break;
		case 'l': gc.liveness_timeout_ns = num(optarg, "liveness-ms") * IVP_MS; break;
		case 't': pc.run_timeout_ns = num(optarg, "timeout-s") * IVP_SEC; break;
		case 'g': pc.progress = (uint32_t)num(optarg, "progress"); break;
		case 'e': expect = optarg; break;
		default:
			fprintf(stderr, "usage: see the comment at the top of guest_main.c\n");
			return 2;
		}
	}
	if (!gc.role || pc.min_len < 8 || pc.max_len < pc.min_len) {
		printf("VR-FAIL usage: --role driver|device, 8 <= min-len <= max-len\n");
		return 2;
	}
	pc.role = gc.role;
	rc = vr_ivshmem_guest_open(&g, &gc);
	if (expect) {
		if (rc == 0) {
			printf("VR-FAIL open succeeded, expected %s\n", expect);
			vr_ivshmem_guest_close(&g);
			return 1;
		}
		printf("VR-EXPECTED %s: %s\n", vr_errname(rc), vr_ivshmem_guest_last_error(&g));
		return strcmp(vr_errname(rc), expect) == 0 ? 0 : 1;
	}
	if (rc) {
		printf("VR-FAIL open: %s (%s): %s\n", vr_errname(rc), vr_strerror(rc),
		       vr_ivshmem_guest_last_error(&g));
		return 1;
	}
	{
		static const char *const mode[] = {"none", "poll", "vfio"};
		const struct vr_region_info *info = vr_ivshmem_guest_info(&g);

		printf("VR-GUEST id=%d peer=%d irq=%s note=\"%s\" region=%llu format=%s\n",
		       vr_ivshmem_guest_id(&g), vr_ivshmem_guest_peer_id(&g),
		       mode[vr_ivshmem_guest_irq_mode(&g)], vr_ivshmem_guest_irq_note(&g),
		       (unsigned long long)info->region_bytes,
		       info->queue[0].format == VR_FORMAT_PACKED ? "packed" : "split");
	}
	rc = ivp_run(&g.t, &ops, &g, &pc, &res);
	if (rc == 0 && (gc.flags & VR_IVSHMEM_GUEST_REQUIRE_IRQ) &&
	    (vr_ivshmem_guest_irq_mode(&g) != VR_IVSHMEM_GUEST_IRQ_VFIO ||
	     vr_ivshmem_guest_irq_count(&g, 0) + vr_ivshmem_guest_irq_count(&g, 1) == 0)) {
		printf("VR-FAIL interrupts required, but none arrived through VFIO\n");
		rc = 1;
	}
	vr_ivshmem_guest_close(&g);
	return rc;
}
