/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl: inspect, check and drive the rings of a libvring region from the
 * shell. This header is what the tool's small files share: exit codes, the
 * option parser, the region argument, the read-only mapping and its one-time
 * copy (a "snapshot"), and the name tables. The analysis of a snapshot is in
 * analyze.h; docs/VRINGCTL.md is the user's reference.
 *
 * Safety rule for every read-only command: the shared mapping is touched
 * only by vc_snapshot(), which copies it into private memory under a SIGBUS
 * guard; everything else reads the copy, so a peer rewriting (or
 * truncating) the region while we look can neither crash the tool nor make
 * it follow a pointer it did not check.
 */
#ifndef VRINGCTL_H
#define VRINGCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <vring/region.h>

#define VC_PROG "vringctl"

/* Exit codes (docs/VRINGCTL.md, "Exit status"). */
enum {
	VC_EXIT_OK = 0,      /* done; check: no error found */
	VC_EXIT_FAIL = 1,    /* check: broken invariants; send/recv/create:
				the operation failed (peer gone, protocol
				violation, message too large, driver busy) */
	VC_EXIT_USAGE = 2,   /* bad command line */
	VC_EXIT_REGION = 3,  /* the region cannot be used: missing, not a
				libvring region, unsupported version, too
				short, inconsistent header, I/O error */
	VC_EXIT_TIMEOUT = 4, /* send/recv: the time limit passed */
	VC_EXIT_INTR = 130   /* send: interrupted before every message was
				acknowledged */
};

/* The most bytes a read-only command copies (the region's stated size,
 * bounded by the file's). */
#define VC_MAX_COPY ((uint64_t)1 << 30)

/* ---- Messages --------------------------------------------------------- */

/* "vringctl CMD: text\n" on stderr. */
void vc_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Option parsing ------------------------------------------------------ */

struct vc_opt {
	const char *name; /* "--count" */
	bool has_arg;
	int id;           /* > 0 */
};

struct vc_args {
	const char *cmd;
	int argc;
	char **argv;
	int i;         /* next argument */
	bool only_pos; /* after "--" */
};

enum { VC_ARG_END = -1, VC_ARG_ERR = -2, VC_ARG_POS = 0 };

/*
 * Next argument: an option id (with *val for an option with a value,
 * "--opt value" or "--opt=value"), VC_ARG_POS with *val for a positional
 * argument, VC_ARG_END, or VC_ARG_ERR after printing why. "-h" and
 * "--help" come back as the id of the option named "--help", which every
 * table has.
 */
int vc_next_arg(struct vc_args *a, const struct vc_opt *opts, const char **val);

/* The one REGION argument of a command: take @val as *region unless one
 * was given already (then print why and return -1). */
int vc_take_region(const char *cmd, const char **region, const char *val);
/* After the arguments: -1 (printed) when no REGION was given. */
int vc_need_region(const char *cmd, const char *region);

/* Parse a decimal integer in [min, max]; prints and returns -1 on error. */
int vc_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t min,
		 uint64_t max, uint64_t *out);
/* Parse seconds ("2", "0.25", "1.5s", "250ms") into nanoseconds. */
int vc_parse_secs(const char *cmd, const char *opt, const char *s, uint64_t *ns);

/* ---- Names ------------------------------------------------------------------ */

/* "EVENT_IDX|VERSION_1", unknown bits as "bit42"; "-" for none. */
void vc_feature_names(uint64_t features, char *out, size_t len);
/* One feature by name ("event_idx", "EVENT_IDX", "indirect"...): its bit
 * number, or -1. */
int vc_feature_bit(const char *name);
/* The names of the feature bits vc_feature_bit() knows, for help texts. */
const char *vc_feature_list(void);
/* Name of feature bit @bit, or NULL. */
const char *vc_feature_name(unsigned bit);
/* "ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK"; "-" for 0. */
void vc_status_names(uint32_t status, char *out, size_t len);
/* Descriptor flags: "NEXT|WRITE|AVAIL"; "-" for 0. */
void vc_desc_flag_names(uint16_t flags, bool packed, char *out, size_t len);
/* Packed event flags: "ENABLE", "DISABLE", "DESC", "reserved(3)". */
const char *vc_event_flags_name(uint16_t flags);
/* Statistics counter names, by VR_RS_* slot; NULL for reserved slots. */
const char *vc_stat_name(unsigned slot);
/* The meaning of a region parse error, e.g. "not a libvring region (bad
 * magic)". */
const char *vc_region_error_text(int err);

/* ---- The region argument --------------------------------------------------- */

enum vc_region_kind {
	VC_RK_FILE = 0, /* a path: file, hugetlbfs file, /proc/PID/fd/N */
	VC_RK_SHM = 1,  /* a POSIX shm name: "shm:NAME" or a bare NAME */
	VC_RK_PID = 2   /* "pid:PID": the libvring memfd a process holds */
};

struct vc_target {
	int kind;
	char path[4096]; /* FILE: the path; SHM: "/NAME"; PID: the /proc
			    path of the fd found */
	char shown[4200]; /* for messages: the argument as the user wrote it */
};

/* Resolve a region argument. Returns 0, or VC_EXIT_USAGE / VC_EXIT_REGION
 * after printing why. */
int vc_target_parse(const char *cmd, const char *arg, struct vc_target *t);

/* ---- Read-only mapping and its one-time copy ------------------------------ */

struct vc_region {
	struct vc_target t;
	int fd;
	const unsigned char *map; /* PROT_READ, MAP_SHARED; NULL when empty */
	size_t map_len;           /* bytes mapped */
	uint64_t file_bytes;      /* fstat size when opened */
};

/* Open and map read-only. Returns 0 or VC_EXIT_REGION (printed). */
int vc_region_open(const char *cmd, const struct vc_target *t, struct vc_region *r);
void vc_region_close(struct vc_region *r);

enum vc_snap_mode {
	VC_SNAP_FULL = 0, /* every byte the header states (up to the file) */
	VC_SNAP_RINGS = 1 /* header, ring areas and statistics; the pool
			     stays zero (watch) */
};

struct vc_snap {
	unsigned char *buf;  /* private copy, 64-byte aligned, >= 4096 bytes */
	size_t len;          /* bytes that stand for the region (parse length) */
	uint64_t file_bytes; /* the file's size when copied */
	uint64_t stated;     /* region_bytes as the copied header states it */
	int parse_err;       /* vr_region_parse() of the copy */
	struct vr_region_info info; /* valid when parse_err == 0 */
};

/* Copy the region once. Returns 0 (the copy exists; parse_err says what
 * the header is worth) or VC_EXIT_REGION after printing why (the region
 * shrank under us, it is larger than VC_MAX_COPY, out of memory). */
int vc_snapshot(const char *cmd, const struct vc_region *r, int mode,
		struct vc_snap *s);
void vc_snap_free(struct vc_snap *s);
/* What dump and check start with: parse the REGION argument, open it and
 * take one full copy. 0, or an exit status after printing why (nothing
 * left open). */
int vc_open_snapshot(const char *cmd, const char *arg, struct vc_target *t,
		     struct vc_region *r, struct vc_snap *s);
/* Copy the header page (what there is of it, the rest zero) from the
 * mapping under the SIGBUS guard. Returns 0, or -1 if the region shrank. */
int vc_read_header(const struct vc_region *r, unsigned char head[VR_REGION_HEADER_BYTES]);

/* Little-endian reads from the private copy (any alignment). */
static inline uint16_t vc_rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t vc_rd32(const unsigned char *p)
{
	return (uint32_t)vc_rd16(p) | (uint32_t)vc_rd16(p + 2) << 16;
}

static inline uint64_t vc_rd64(const unsigned char *p)
{
	return (uint64_t)vc_rd32(p) | (uint64_t)vc_rd32(p + 4) << 32;
}

/* ---- Commands ------------------------------------------------------------------ */

int vc_cmd_create(int argc, char **argv);
int vc_cmd_dump(int argc, char **argv);
int vc_cmd_check(int argc, char **argv);
int vc_cmd_watch(int argc, char **argv);
int vc_cmd_send(int argc, char **argv);
int vc_cmd_recv(int argc, char **argv);

/* Set by SIGINT/SIGTERM while a long-running command (watch, send, recv)
 * runs; it stops at its next check. */
extern volatile int vc_interrupted;
void vc_catch_signals(void);

#endif /* VRINGCTL_H */
