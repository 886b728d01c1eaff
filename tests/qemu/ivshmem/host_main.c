/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vr-ivshmem-host: the host side of the ivshmem end-to-end tests and of
 * scripts/demo-ivshmem.sh, over the host peer (vring/ivshmem.h). The same
 * message stream and result lines as the guest (peer.h).
 *
 *   vr-ivshmem-host --socket PATH | --plain /NAME
 *       --role driver|device [--peer ID|any] [--count N] [--rx N] [--tx N]
 *       [--min-len B] [--max-len B] [--format split|packed] [--deaths N]
 *       [--dead-ok] [--liveness-ms T] [--timeout-s T] [--progress N]
 *       [--size BYTES] [--id-file PATH]
 *
 * --socket joins a vring-ivshmem-server (doorbell mode); --plain creates
 * the named POSIX shm object /NAME (driver only, removed on exit) that QEMU
 * maps with ivshmem-plain. --format: a driver lays the region out (in
 * plain mode always; with a server only when the server did not).
 * --id-file: write this peer's server id there once connected, so that a
 * script can tell a guest which id to ring.
 *
 * Exit status: 0 success, 1 failure (after a VR-FAIL line), 2 usage.
 */
#define _GNU_SOURCE

#include <vring/ivshmem.h>

#include "peer.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int attach(void *ctx, uint64_t timeout_ns)
{
	return vr_ivshmem_attach_peer((struct vr_ivshmem *)ctx, timeout_ns);
}

static const char *peer_error(void *ctx)
{
	return vr_ivshmem_peer_error((struct vr_ivshmem *)ctx);
}

static void describe(void *ctx, char *buf, size_t cap)
{
	struct vr_ivshmem *s = (struct vr_ivshmem *)ctx;

	snprintf(buf, cap, "id=%d peer=%d vectors=%u", vr_ivshmem_own_id(s),
		 vr_ivshmem_peer_id(s), vr_ivshmem_vectors(s));
}

static uint64_t num(const char *s, const char *what)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (end == s || *end) {
		fprintf(stderr, "vr-ivshmem-host: bad %s \"%s\"\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, 0, 'S'}, {"plain", required_argument, 0, 'N'},
		{"role", required_argument, 0, 'r'},   {"peer", required_argument, 0, 'p'},
		{"count", required_argument, 0, 'n'},  {"rx", required_argument, 0, 'R'},
		{"tx", required_argument, 0, 'T'},     {"min-len", required_argument, 0, 'm'},
		{"max-len", required_argument, 0, 'M'}, {"format", required_argument, 0, 'f'},
		{"deaths", required_argument, 0, 'd'}, {"dead-ok", no_argument, 0, 'D'},
		{"liveness-ms", required_argument, 0, 'l'},
		{"timeout-s", required_argument, 0, 't'}, {"progress", required_argument, 0, 'g'},
		{"size", required_argument, 0, 'z'},   {"id-file", required_argument, 0, 'I'},
		{0, 0, 0, 0}};
	struct vr_ivshmem_cfg hc;
	struct vr_region_cfg region;
	struct ivp_cfg pc;
	struct ivp_result res;
	struct vr_ivshmem s;
	const char *sock = NULL, *plain = NULL, *idfile = NULL;
	const struct ivp_ops ops = {attach, peer_error, describe};
	int c, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&hc, 0, sizeof(hc));
	memset(&pc, 0, sizeof(pc));
	memset(&region, 0, sizeof(region));
	memset(&s, 0, sizeof(s));
	hc.peer_id = VR_IVSHMEM_ANY_PEER;
	pc.tx_count = pc.rx_count = 1000;
	pc.min_len = 8;
	pc.max_len = 512;
	pc.attach_timeout_ns = 120 * IVP_SEC;
	pc.run_timeout_ns = 240 * IVP_SEC;
	region.queue_count = 2;
	region.queue[0].size = region.queue[1].size = 256;
	region.buf_bytes = 2048;
	region.buf_count = 256;
	region.device_features = VR_FEATURE(VR_F_VERSION_1) | VR_FEATURE(VR_F_EVENT_IDX) |
				 VR_FEATURE(VR_F_RING_RESET);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'S': sock = optarg; break;
		case 'N': plain = optarg; break;
		case 'r':
			if (strcmp(optarg, "driver") == 0)
				hc.role = VR_ROLE_DRIVER;
			else if (strcmp(optarg, "device") == 0)
				hc.role = VR_ROLE_DEVICE;
			else
				return 2;
			break;
		case 'p':
			hc.peer_id = strcmp(optarg, "any") == 0 ? VR_IVSHMEM_ANY_PEER
								: (int32_t)num(optarg, "peer");
			break;
		case 'n': pc.tx_count = pc.rx_count = num(optarg, "count"); break;
		case 'R': pc.rx_count = num(optarg, "rx"); break;
		case 'T': pc.tx_count = num(optarg, "tx"); break;
		case 'm': pc.min_len = (uint32_t)num(optarg, "min-len"); break;
		case 'M': pc.max_len = (uint32_t)num(optarg, "max-len"); break;
		case 'f':
			hc.flags |= VR_IVSHMEM_FORMAT;
			if (strcmp(optarg, "packed") == 0) {
				region.queue[0].format = region.queue[1].format = VR_FORMAT_PACKED;
				region.device_features |= VR_FEATURE(VR_F_RING_PACKED);
			}
			break;
		case 'd': pc.max_deaths = (uint32_t)num(optarg, "deaths"); break;
		case 'D': pc.dead_ok = true; break;
		case 'l': hc.liveness_timeout_ns = num(optarg, "liveness-ms") * IVP_MS; break;
		case 't': pc.run_timeout_ns = num(optarg, "timeout-s") * IVP_SEC; break;
		case 'g': pc.progress = (uint32_t)num(optarg, "progress"); break;
		case 'z': hc.size = num(optarg, "size"); break;
		case 'I': idfile = optarg; break;
		default:
			fprintf(stderr, "usage: see the comment at the top of host_main.c\n");
			return 2;
		}
	}
	if (!hc.role || !sock == !plain || pc.min_len < 8 || pc.max_len < pc.min_len) {
		printf("VR-FAIL usage: --role and one of --socket / --plain\n");
		return 2;
	}
	pc.role = hc.role;
	hc.region = &region;
	if (plain) {
		hc.flags |= VR_IVSHMEM_CREATE | VR_IVSHMEM_FORMAT;
		rc = vr_ivshmem_open_plain(&s, VR_IVSHMEM_NAMED, plain, &hc, 30 * IVP_SEC);
	} else {
		rc = vr_ivshmem_connect(&s, sock, &hc, 30 * IVP_SEC);
	}
	if (rc) {
		printf("VR-FAIL %s: %s: %s\n", plain ? "open_plain" : "connect", vr_errname(rc),
		       vr_ivshmem_last_error(&s));
		return 1;
	}
	printf("VR-HOST id=%d mode=%s format=%s\n", vr_ivshmem_own_id(&s),
	       plain ? "plain" : "doorbell",
	       vr_ivshmem_info(&s)->queue[0].format == VR_FORMAT_PACKED ? "packed" : "split");
	if (idfile) {
		FILE *f = fopen(idfile, "w");

		if (!f || fprintf(f, "%d\n", vr_ivshmem_own_id(&s)) < 0 || fclose(f) != 0) {
			printf("VR-FAIL cannot write %s\n", idfile);
			vr_ivshmem_close(&s);
			return 1;
		}
	}
	rc = ivp_run(&s.t, &ops, &s, &pc, &res);
	vr_ivshmem_close(&s);
	return rc;
}
