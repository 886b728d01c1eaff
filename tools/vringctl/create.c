/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl create: lay out a new region with vr_region_format(), exactly
 * as the shm transport's listener does (generation 0, mode 0600, created
 * exclusively; on hugetlbfs the size is rounded up to the huge page size).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "vringctl.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6 /* <linux/magic.h> */
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vringctl create [options] REGION\n"
		"Create REGION (a file, a file on hugetlbfs, or a shm name) and lay\n"
		"out a libvring region in it, as the shm transport does. Refuses an\n"
		"existing REGION unless --force.\n"
		"  --format F        split (default) or packed, for every queue\n"
		"  --queues N        1..64 queues (default 2: a channel, TX and RX)\n"
		"  --size N          descriptors per queue (default 64; split: a power\n"
		"                    of two; at most 32768)\n"
		"  --features LIST   ring features the device offers, comma-separated:\n"
		"                    %s,\n"
		"                    or none (default event_idx); VERSION_1 is always\n"
		"                    offered, RING_PACKED with --format packed\n"
		"  --buf-bytes B     bytes per pool buffer = largest message (default 2048)\n"
		"  --buf-count N     pool buffers (default: queue 0's size plus queue 1's,\n"
		"                    half to send and half to receive)\n"
		"  --force           replace an existing REGION (peers that have it\n"
		"                    mapped keep the old one)\n"
		"  --help            this text\n"
		"Exit status: 0 created; 1 REGION exists; 2 bad arguments; 3 cannot\n"
		"create it (I/O error).\n", vc_feature_list());
}

static int parse_features(const char *list, uint64_t *out)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int rc = 0;

	if (!copy)
		return -1;
	*out = 0;
	if (strcmp(list, "none") == 0) {
		free(copy);
		return 0;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int bit = vc_feature_bit(tok);

		if (bit < 0) {
			vc_err("create", "--features: unknown feature \"%s\" (known: %s)",
			       tok, vc_feature_list());
			rc = -1;
			break;
		}
		*out |= VR_FEATURE(bit);
	}
	free(copy);
	return rc;
}

/* Create the backing exclusively, 0600. Returns the fd or -1 (printed,
 * *rc set). */
static int make_backing(const struct vc_target *t, bool force, int *rc)
{
	int fd;

	if (force) {
		if ((t->kind == VC_RK_SHM ? shm_unlink(t->path) : unlink(t->path)) != 0 &&
		    errno != ENOENT) {
			vc_err("create", "%s: cannot replace it: %s", t->shown, strerror(errno));
			*rc = VC_EXIT_REGION;
			return -1;
		}
	}
	if (t->kind == VC_RK_SHM)
		fd = shm_open(t->path, O_RDWR | O_CREAT | O_EXCL, 0600);
	else
		fd = open(t->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST) {
			vc_err("create", "%s: exists (--force replaces it)", t->shown);
			*rc = VC_EXIT_FAIL;
		} else {
			vc_err("create", "%s: %s", t->shown, strerror(errno));
			*rc = VC_EXIT_REGION;
		}
		return -1;
	}
	/* Exactly 0600, whatever the umask. */
	(void)fchmod(fd, 0600);
	return fd;
}

static void remove_backing(const struct vc_target *t)
{
	if (t->kind == VC_RK_SHM)
		shm_unlink(t->path);
	else
		unlink(t->path);
}

int vc_cmd_create(int argc, char **argv)
{
	enum { O_HELP = 1, O_FORMAT, O_QUEUES, O_SIZE, O_FEATURES, O_BUFBYTES,
	       O_BUFCOUNT, O_FORCE };
	static const struct vc_opt opts[] = {
		{"--help", false, O_HELP}, {"--format", true, O_FORMAT},
		{"--queues", true, O_QUEUES}, {"--size", true, O_SIZE},
		{"--features", true, O_FEATURES}, {"--buf-bytes", true, O_BUFBYTES},
		{"--buf-count", true, O_BUFCOUNT}, {"--force", false, O_FORCE},
		{NULL, false, 0},
	};
	struct vc_args args = {"create", argc, argv, 1, false};
	uint64_t queues = 2, size = 64, buf_bytes = 2048, buf_count = 0;
	uint64_t features = VR_FEATURE(VR_F_EVENT_IDX), bytes, len;
	uint32_t format = VR_FORMAT_SPLIT, i;
	const char *val, *region = NULL;
	struct vr_region_cfg *cfg;
	struct vr_region_info info;
	struct vc_target t;
	struct statfs sf;
	bool force = false;
	char names[256];
	void *m;
	int id, rc = 0, fd, err;

	while ((id = vc_next_arg(&args, opts, &val)) != VC_ARG_END) {
		switch (id) {
		case VC_ARG_ERR:
			return VC_EXIT_USAGE;
		case O_HELP:
			usage(stdout);
			return VC_EXIT_OK;
		case O_FORMAT:
			if (strcmp(val, "split") == 0)
				format = VR_FORMAT_SPLIT;
			else if (strcmp(val, "packed") == 0)
				format = VR_FORMAT_PACKED;
			else {
				vc_err("create", "--format: \"%s\" is not split or packed", val);
				return VC_EXIT_USAGE;
			}
			break;
		case O_QUEUES:
			if (vc_parse_u64("create", "--queues", val, 1, VR_REGION_MAX_QUEUES,
					 &queues))
				return VC_EXIT_USAGE;
			break;
		case O_SIZE:
			if (vc_parse_u64("create", "--size", val, 1, VR_QUEUE_SIZE_MAX, &size))
				return VC_EXIT_USAGE;
			break;
		case O_FEATURES:
			if (parse_features(val, &features))
				return VC_EXIT_USAGE;
			break;
		case O_BUFBYTES:
			if (vc_parse_u64("create", "--buf-bytes", val, 1, UINT32_MAX, &buf_bytes))
				return VC_EXIT_USAGE;
			break;
		case O_BUFCOUNT:
			if (vc_parse_u64("create", "--buf-count", val, 1, UINT32_MAX, &buf_count))
				return VC_EXIT_USAGE;
			break;
		case O_FORCE:
			force = true;
			break;
		default:
			if (vc_take_region("create", &region, val))
				return VC_EXIT_USAGE;
		}
	}
	if (vc_need_region("create", region))
		return VC_EXIT_USAGE;
	if (format == VR_FORMAT_SPLIT && !vr_split_size_valid((uint32_t)size)) {
		vc_err("create", "--size %llu: a split queue needs a power of two "
				 "(or use --format packed)", (unsigned long long)size);
		return VC_EXIT_USAGE;
	}
	if (strncmp(region, "pid:", 4) == 0) {
		vc_err("create", "%s: create needs a file path or a shm name", region);
		return VC_EXIT_USAGE;
	}
	rc = vc_target_parse("create", region, &t);
	if (rc)
		return rc;
	features |= VR_FEATURE(VR_F_VERSION_1);
	if (format == VR_FORMAT_PACKED)
		features |= VR_FEATURE(VR_F_RING_PACKED);
	if (buf_count == 0)
		buf_count = queues >= 2 ? 2 * size : size;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		vc_err("create", "out of memory");
		return VC_EXIT_REGION;
	}
	cfg->queue_count = (uint32_t)queues;
	for (i = 0; i < queues; i++) {
		cfg->queue[i].size = (uint32_t)size;
		cfg->queue[i].format = format;
	}
	cfg->buf_bytes = (uint32_t)buf_bytes;
	cfg->buf_count = (uint32_t)buf_count;
	cfg->device_features = features;
	bytes = (uint64_t)buf_bytes * buf_count > VC_MAX_COPY ? 0 : vr_region_bytes(cfg);
	if (bytes == 0 || bytes > VC_MAX_COPY) {
		vc_err("create", "a region of that many buffers is larger than the %llu "
				 "bytes vringctl reads", (unsigned long long)VC_MAX_COPY);
		free(cfg);
		return VC_EXIT_USAGE;
	}
	fd = make_backing(&t, force, &rc);
	if (fd < 0) {
		free(cfg);
		return rc;
	}
	len = bytes;
	if (fstatfs(fd, &sf) == 0 && (unsigned long)sf.f_type == HUGETLBFS_MAGIC &&
	    sf.f_bsize > 0)
		len = (bytes + (uint64_t)sf.f_bsize - 1) / (uint64_t)sf.f_bsize *
		      (uint64_t)sf.f_bsize;
	if (ftruncate(fd, (off_t)len) != 0) {
		vc_err("create", "%s: sizing to %llu bytes: %s", t.shown,
		       (unsigned long long)len, strerror(errno));
		rc = VC_EXIT_REGION;
		goto fail;
	}
	m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		vc_err("create", "%s: mmap: %s", t.shown, strerror(errno));
		rc = VC_EXIT_REGION;
		goto fail;
	}
	err = vr_region_format(m, (size_t)len, cfg, 0, &info);
	munmap(m, (size_t)len);
	if (err) {
		vc_err("create", "%s: laying out the region: %s (%s)", t.shown,
		       vr_strerror(err), vr_errname(err));
		rc = VC_EXIT_REGION;
		goto fail;
	}
	close(fd);
	vc_feature_names(features, names, sizeof(names));
	printf("created %s: %u %s queue%s of %u, %u buffers of %u bytes, %llu bytes, "
	       "features %s\n", t.shown, info.queue_count,
	       format == VR_FORMAT_SPLIT ? "split" : "packed",
	       info.queue_count == 1 ? "" : "s", (uint32_t)size, info.buf_count,
	       info.buf_bytes, (unsigned long long)info.region_bytes, names);
	free(cfg);
	return VC_EXIT_OK;
fail:
	close(fd);
	remove_backing(&t);
	free(cfg);
	return rc;
}
