/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl: what a snapshot says about each queue, and every invariant it
 * breaks. dump prints the views, check prints the findings, watch uses the
 * counts. Everything here reads the private copy only.
 *
 * What shared memory holds and what it does not: the peers' private indexes
 * (the driver's next used entry to collect, the device's next available
 * entry to take) are not in the region. The analysis infers what it can:
 * split rings count the chains in flight as avail idx - used idx, and with
 * EVENT_IDX the peers' event indexes tell where each one last asked to be
 * woken; packed rings give the driver's position and wrap counter through
 * the avail bits of the descriptors. Each inference is labelled as such in
 * the output.
 */
#ifndef VRINGCTL_ANALYZE_H
#define VRINGCTL_ANALYZE_H

#include "vringctl.h"

enum vc_sev {
	VC_SEV_ERROR = 0, /* an invariant is broken: a peer cannot use this */
	VC_SEV_WARN = 1   /* legal but suspicious: may strand a message */
};

struct vc_finding {
	int sev;
	int queue;   /* -1: the header */
	int code;    /* the VR_E* code libvring would report, or 0 */
	size_t more; /* 0; or this line stands for that many findings of its
			queue and severity that are not listed */
	char text[240];
};

/* Findings listed per queue (and for the header); the rest are counted
 * and summed up in one line, so a region of garbage cannot make check
 * print (or hold) millions of lines. */
#define VC_MAX_LISTED 64u

struct vc_findings {
	struct vc_finding *v;
	size_t n, cap;
	size_t errors, warnings;      /* all of them, listed or not */
	size_t listed[VR_REGION_MAX_QUEUES + 1];
	size_t unlisted[VR_REGION_MAX_QUEUES + 1][2];
};

/* Add the "N more" lines for what was not listed (after the last
 * vc_find). */
void vc_findings_close(struct vc_findings *f);

void vc_find(struct vc_findings *f, int sev, int queue, int code,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void vc_findings_free(struct vc_findings *f);
/* "error: queue 0: <text> (VR_ECODE)" and a newline, after @indent. */
void vc_print_finding(FILE *out, const char *indent, const struct vc_finding *e);

/* One descriptor as shown. */
struct vc_desc_view {
	bool indirect;   /* an entry of an indirect table */
	uint32_t index;  /* ring index, or entry number in its table */
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;   /* split: next; packed: buffer id */
};

/* One chain made available and not yet used (as far as the snapshot
 * tells). */
struct vc_chain_view {
	uint32_t pos;       /* split: avail ring index (free-running, 16
			       bits); packed: ring position of the head */
	uint32_t head;      /* split: head descriptor; packed: head position */
	uint32_t id;        /* split: head; packed: buffer id */
	uint32_t ndesc;     /* ring descriptors it occupies */
	uint32_t nsegs;     /* data segments (indirect entries included) */
	uint64_t out_bytes; /* device-readable bytes */
	uint64_t in_bytes;  /* device-writable bytes */
	size_t first, count; /* its shown descriptors in vc_queue_view.descs */
	uint32_t hidden;    /* descriptors not shown (display cap) */
	bool shown;         /* kept in vc_queue_view.chains */
	int err;            /* VR_E* of the problem that stops the walk, 0 */
	char why[160];      /* ... in words */
};

/* A used element (split) or used descriptor (packed). */
struct vc_used_view {
	uint32_t pos;   /* split: used ring index (free-running); packed:
			   ring position */
	uint32_t id;
	uint32_t len;
	uint16_t flags; /* packed */
};

struct vc_queue_view {
	uint32_t index, format, size;
	uint64_t desc_off, driver_off, device_off;

	/* Split. */
	uint16_t avail_flags, avail_idx, used_event;
	uint16_t used_flags, used_idx, avail_event;
	uint32_t pending;       /* avail idx - used idx */
	bool pending_ok;        /* <= size */
	bool in_order_evidence; /* recent used entries match the available
				   ones position by position */

	/* Packed. */
	uint16_t drv_evt_flags, drv_evt_off_wrap;
	uint16_t dev_evt_flags, dev_evt_off_wrap;
	bool pos_ok;            /* driver position found from the avail bits */
	uint32_t drv_pos;       /* the driver's next descriptor position */
	bool drv_wrap;          /* and its wrap counter */
	int held;               /* first head of a batch not yet published,
				   -1 for none */
	int last_used;          /* position of the newest used descriptor,
				   -1 when none in the last lap */
	uint32_t pending_descs; /* descriptors of pending chains */
	uint32_t avail_state, used_state; /* descriptors by state */
	uint32_t blank_state;   /* all zero: never written */

	/* Both. */
	struct vc_chain_view *chains; /* the first VC_SHOW_CHAINS */
	size_t nchains, chains_cap;
	size_t chains_total;    /* chains in flight, shown or not */
	size_t data_chains;     /* ... of them with device-readable bytes: a
				   message, not an empty buffer offered */
	struct vc_desc_view *descs;
	size_t ndescs, descs_cap;
	struct vc_used_view *used; /* newest last */
	size_t nused;

	bool has_stats;
	uint32_t stat[2][VR_RS_COUNT]; /* [0] driver, [1] device */
};

struct vc_analysis {
	const struct vc_snap *snap;
	uint64_t device_features, driver_features;
	uint64_t features;   /* what the rings are checked against */
	bool negotiated;     /* driver_status has FEATURES_OK */
	bool live;           /* both status words have DRIVER_OK: a session */
	uint32_t driver_status, device_status;
	uint32_t driver_heartbeat, device_heartbeat;
	uint32_t hdr_flags;
	uint32_t nq;
	struct vc_queue_view q[VR_REGION_MAX_QUEUES];
	struct vc_findings f;
};

/* Most descriptors shown per chain, chains per queue, used entries per
 * queue, descriptors per queue: what a hostile region can make vringctl
 * hold stays bounded. Chains beyond are checked all the same. */
#define VC_SHOW_DESCS 32u
#define VC_SHOW_CHAINS 4096u
#define VC_SHOW_USED 16u
#define VC_SHOW_QUEUE_DESCS 16384u

/*
 * Analyse a snapshot whose header parsed (s->parse_err == 0). Fills every
 * queue view and the findings (header, then queue by queue). Returns 0 or
 * -1 when out of memory (printed).
 */
int vc_analyze(const struct vc_snap *s, struct vc_analysis *a);
void vc_analysis_free(struct vc_analysis *a);

/*
 * For a header that vr_region_parse() refused with VR_EREGION or VR_ETRUNC
 * (but magic and version are right): one finding per rule of REGION.md §3
 * that the header breaks.
 */
void vc_header_diagnose(const struct vc_snap *s, struct vc_findings *f);

/* Per-format parts of vc_analyze (an_split.c, an_packed.c). */
struct vc_ctx {
	const struct vc_snap *s;
	const struct vc_analysis *a;
	struct vc_findings *f;
	uint64_t budget; /* descriptors left to walk in this queue */
};

int vc_analyze_split(struct vc_ctx *c, struct vc_queue_view *q);
int vc_analyze_packed(struct vc_ctx *c, struct vc_queue_view *q);

/* Shared walking helpers (analyze.c). */
struct vc_walk {
	uint64_t total;
	bool seen_write;
};

/* Check one data segment as libvring's device does, plus where it points;
 * returns 0 or the VR_E* code, with @why filled. */
int vc_check_segment(const struct vc_ctx *c, struct vc_walk *w,
		     struct vc_chain_view *ch, uint64_t addr, uint32_t len,
		     bool write);
/* Check an indirect descriptor; returns its entry count (> 0) or a
 * VR_E* code with ch->why filled. */
int vc_check_indirect(const struct vc_ctx *c, struct vc_chain_view *ch,
		      uint64_t addr, uint32_t len, uint16_t flags,
		      uint32_t max_entries);
/* Record a descriptor for display (capped). Returns -1 out of memory. */
int vc_show_desc(struct vc_queue_view *q, struct vc_chain_view *ch,
		 bool indirect, uint32_t index, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next);
/* The next chain: a new entry of q->chains, or @scratch (cleared) once
 * VC_SHOW_CHAINS are kept; counts it in chains_total. NULL: out of
 * memory. */
struct vc_chain_view *vc_new_chain(struct vc_queue_view *q,
				   struct vc_chain_view *scratch);
/* Set ch->err and ch->why. */
void vc_chain_fail(struct vc_chain_view *ch, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Free a queue view's arrays. */
void vc_queue_view_free(struct vc_queue_view *q);

#endif /* VRINGCTL_ANALYZE_H */
