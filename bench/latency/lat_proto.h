/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the client and the device say to each other over the channel.
 *
 * Every message starts with struct vl_msg. The client sends REQ (and the
 * two controls START, STOP); the device answers each with the matching
 * *_ACK kind, the same sequence number and a check word derived from both,
 * so that a reply that is lost, duplicated, torn or meant for another
 * request is caught. STOP_ACK carries the device's own accounting for the
 * measured phase (struct vl_dev_report): its CPU time and counters between
 * START and STOP.
 */
#ifndef VL_LAT_PROTO_H
#define VL_LAT_PROTO_H

#include <stdint.h>

#include "lat.h"

#define VL_MAGIC 0x54414c56u /* "VLAT" */

enum vl_kind {
	VL_REQ = 1,
	VL_REQ_ACK = 2,
	VL_START = 3,
	VL_START_ACK = 4,
	VL_STOP = 5,
	VL_STOP_ACK = 6
};

struct vl_msg {
	uint32_t magic;
	uint32_t kind;
	uint64_t seq;
	uint64_t check; /* vl_check(seq, kind) */
	uint64_t pad[5];
};

/* The smallest message (and the default size): 64 bytes, one cache line. */
#define VL_MSG_MIN ((uint32_t)sizeof(struct vl_msg))

struct vl_dev_report {
	struct vl_msg h;
	uint64_t cpu_ns;   /* getrusage user + sys between START and STOP */
	uint64_t served;   /* requests answered between START and STOP */
	struct vl_counts counts; /* counter deltas between START and STOP */
	int32_t cpu;       /* CPU the device was pinned to, or -1 */
	uint32_t reserved;
};

/* Pool buffers are this big: room for the report and any --size. */
#define VL_BUF_BYTES 1024u

/* A check word no other (seq, kind) pair is likely to share (splitmix64). */
static inline uint64_t vl_check(uint64_t seq, uint32_t kind)
{
	uint64_t z = seq * 0x9e3779b97f4a7c15ull + ((uint64_t)kind << 56);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void vl_msg_fill(struct vl_msg *m, uint32_t kind, uint64_t seq)
{
	m->magic = VL_MAGIC;
	m->kind = kind;
	m->seq = seq;
	m->check = vl_check(seq, kind);
}

/* A well-formed message of kind @kind, @len bytes received. */
static inline int vl_msg_ok(const struct vl_msg *m, int len, uint32_t kind)
{
	return len >= (int)sizeof(*m) && m->magic == VL_MAGIC && m->kind == kind &&
	       m->check == vl_check(m->seq, kind);
}

#endif /* VL_LAT_PROTO_H */
