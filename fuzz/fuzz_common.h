/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the fuzz targets: how the fuzzer's bytes are laid out, the
 * shared "arena" the rings and buffers live in, the memory hooks, and the
 * invariant checks. A violated invariant abort()s, so that libFuzzer (or
 * the corpus replay) reports a wrong answer, not only a crash.
 *
 * Input of the ring targets (fuzz_split_device, fuzz_packed_device,
 * fuzz_split_driver, fuzz_packed_driver):
 *
 *   bytes 0..7   header (struct fz_hdr)
 *   then         nops operations of 4 bytes each (code, a, b, c)
 *   then         ring memory: copied over the arena from offset 0 (device
 *                targets) or over the device-owned areas (driver targets)
 *
 * Arena (FZ_ARENA bytes, 4096-aligned; bus address FZ_BUS is offset 0):
 *   0     split descriptor table / packed descriptor ring (<= 64 entries)
 *   1024  split available ring / packed driver event area
 *   1040  packed device event area
 *   2048  split used ring
 *   4096  buffer pool up to FZ_ARENA
 * The offsets do not depend on the queue size, so a byte of the input
 * means the same field whatever size the header picks.
 */
#ifndef VR_FUZZ_COMMON_H
#define VR_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vring/vring.h>

#define FZ_ARENA 16384u
#define FZ_DESC_OFF 0u
#define FZ_DRIVER_OFF 1024u
#define FZ_DEVICE_EV_OFF 1040u
#define FZ_USED_OFF 2048u
#define FZ_POOL_OFF 4096u
#define FZ_BUS 0x10000ull /* bus address of arena offset 0 */
#define FZ_MAX_NUM 64u
#define FZ_MAX_OPS 64u
#define FZ_HDR_BYTES 8u

/* Header flags (fz_hdr.flags). */
#define FZ_F_EVENT_IDX 0x01u
#define FZ_F_INDIRECT 0x02u
#define FZ_F_IN_ORDER 0x04u
#define FZ_F_CLAMP 0x08u     /* VR_QF_CLAMP_USED_LEN */
#define FZ_F_TRANSLATE 0x10u /* translate callback: the pool only */
#define FZ_F_HOOKS 0x20u     /* clean/invalidate hooks that check ranges */
#define FZ_F_ZERO_LEN 0x40u  /* VR_QF_ZERO_LEN_OK */

struct fz_hdr {
	uint8_t size;  /* queue size selector */
	uint8_t flags; /* FZ_F_* */
	uint8_t iov_cap;
	uint8_t nops;
	uint8_t arg[4]; /* per target (driver set-up) */
};

struct fz_op {
	uint8_t code, a, b, c;
};

/* Print what went wrong and abort: the fuzzer keeps the input. */
#define FZ_CHECK(cond)                                                      \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",    \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

#define FZ_CHECK_RC(cond, rc)                                               \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s (rc %d %s)\n", \
				__FILE__, __LINE__, #cond, (int)(rc),        \
				vr_errname((int)(rc)));                      \
			abort();                                             \
		}                                                            \
	} while (0)

/* The arena, allocated once with its exact size so that ASan sees any
 * access past it. */
static inline unsigned char *fz_arena(void)
{
	static unsigned char *arena;

	if (!arena) {
		arena = (unsigned char *)aligned_alloc(4096, FZ_ARENA);
		FZ_CHECK(arena != NULL);
	}
	return arena;
}

/* Split the input into header, ops and memory. Returns 0 when too short. */
static inline int fz_parse(const uint8_t *data, size_t size, struct fz_hdr *h,
			   struct fz_op *ops, unsigned *nops,
			   const uint8_t **mem, size_t *mem_len)
{
	unsigned i, n;

	if (size < FZ_HDR_BYTES)
		return 0;
	memcpy(h, data, FZ_HDR_BYTES);
	data += FZ_HDR_BYTES;
	size -= FZ_HDR_BYTES;
	n = h->nops % (FZ_MAX_OPS + 1);
	if (n > size / 4)
		n = (unsigned)(size / 4);
	for (i = 0; i < n; i++) {
		ops[i].code = data[4 * i];
		ops[i].a = data[4 * i + 1];
		ops[i].b = data[4 * i + 2];
		ops[i].c = data[4 * i + 3];
	}
	*nops = n;
	*mem = data + 4 * n;
	*mem_len = size - 4 * n;
	return 1;
}

static inline uint64_t fz_features(const struct fz_hdr *h, int packed)
{
	uint64_t f = VR_FEATURE(VR_F_VERSION_1);

	if (h->flags & FZ_F_EVENT_IDX)
		f |= VR_FEATURE(VR_F_EVENT_IDX);
	if (h->flags & FZ_F_INDIRECT)
		f |= VR_FEATURE(VR_F_INDIRECT_DESC);
	if (h->flags & FZ_F_IN_ORDER)
		f |= VR_FEATURE(VR_F_IN_ORDER);
	if (packed)
		f |= VR_FEATURE(VR_F_RING_PACKED);
	return f;
}

/* The queue flags (VR_QF_*) the header picks. */
static inline uint32_t fz_qflags(const struct fz_hdr *h)
{
	return ((h->flags & FZ_F_CLAMP) ? VR_QF_CLAMP_USED_LEN : 0) |
	       ((h->flags & FZ_F_ZERO_LEN) ? VR_QF_ZERO_LEN_OK : 0);
}

/* fz_check_chain's @complete for a chain pop returned 0: 2 when a chain may
 * be empty (zero-length descriptors accepted), else 1. */
#define FZ_COMPLETE(h) (((h)->flags & FZ_F_ZERO_LEN) ? 2 : 1)

/* ---- Memory hooks ------------------------------------------------------- */

/* Translate callback: only the pool is reachable, as when a transport
 * maps nothing but the buffer pool. */
static inline void *fz_translate(void *ctx, uint64_t addr, uint64_t len,
				 enum vr_access access)
{
	unsigned char *arena = (unsigned char *)ctx;
	const uint64_t lo = FZ_BUS + FZ_POOL_OFF, hi = FZ_BUS + FZ_ARENA;

	FZ_CHECK(access == VR_ACCESS_READ || access == VR_ACCESS_WRITE);
	if (len == 0 || addr < lo || addr > hi || len > hi - addr)
		return NULL;
	return arena + (addr - FZ_BUS);
}

/* Cache hooks: every range the core cleans or invalidates must be inside
 * the arena (rings or buffers it was allowed to name). */
static inline void fz_cache_check(void *ctx, const void *p, size_t len)
{
	const unsigned char *arena = (const unsigned char *)ctx;
	const unsigned char *c = (const unsigned char *)p;

	FZ_CHECK(len > 0);
	FZ_CHECK(c >= arena && len <= FZ_ARENA &&
		 (size_t)(c - arena) <= FZ_ARENA - len);
}

static inline struct vr_mem fz_mem(const struct fz_hdr *h, unsigned char *arena)
{
	struct vr_mem m = vr_mem_window(arena, FZ_BUS, FZ_ARENA);

	if (h->flags & FZ_F_TRANSLATE) {
		m.translate = fz_translate;
		m.ctx = arena;
	}
	if (h->flags & FZ_F_HOOKS) {
		m.clean = fz_cache_check;
		m.invalidate = fz_cache_check;
		m.ctx = arena;
	}
	return m;
}

/* The bytes a device segment may cover: the whole arena through the
 * window, the pool alone through the translate callback. */
static inline void fz_window(const struct fz_hdr *h, unsigned char *arena,
			     const unsigned char **lo, const unsigned char **hi)
{
	*lo = arena + ((h->flags & FZ_F_TRANSLATE) ? FZ_POOL_OFF : 0);
	*hi = arena + FZ_ARENA;
}

/* ---- Invariants ------------------------------------------------------------- */

/* Reads into it are kept by the compiler. */
static volatile unsigned char fz_sink;

static inline int fz_is_proto(int rc)
{
	return vr_is_protocol_error(rc);
}

/*
 * A chain the device side returned with 0 (or the part it filled before
 * VR_E2BIG): every segment non-empty and inside [lo, hi); readable ones
 * first; byte counts add up; no more segments than the caller's array; the
 * ring descriptors it occupies bounded by the queue size. @complete: 0 for
 * the part filled before VR_E2BIG, 1 for a whole chain, 2 for a whole chain
 * that may be empty (VR_QF_ZERO_LEN_OK: only zero-length descriptors).
 */
static inline void fz_check_chain(const struct vr_chain *c, uint32_t num,
				  const unsigned char *lo,
				  const unsigned char *hi, int complete)
{
	unsigned n = (unsigned)c->n_out + c->n_in, i;
	uint64_t out = 0, in = 0;

	FZ_CHECK(c->ndesc >= 1 && c->ndesc <= num);
	/* Ring descriptors plus at most one indirect table of num entries. */
	FZ_CHECK(n <= 2u * num);
	FZ_CHECK((uint64_t)c->out_bytes + c->in_bytes <= UINT32_MAX);
	if (complete) {
		FZ_CHECK(n >= 1 || complete == 2);
		FZ_CHECK(n <= c->iov_cap);
	}
	for (i = 0; i < n && i < c->iov_cap; i++) {
		const unsigned char *b = (const unsigned char *)c->iov[i].base;
		uint32_t len = c->iov[i].len;

		FZ_CHECK(len > 0);
		FZ_CHECK(b >= lo && b < hi && len <= (size_t)(hi - b));
		/* Touch both ends: ASan checks the pointer is real memory. */
		fz_sink = (unsigned char)(fz_sink + b[0] + b[len - 1]);
		if (i < c->n_out)
			out += len;
		else
			in += len;
	}
	if (complete) {
		FZ_CHECK(out == c->out_bytes);
		FZ_CHECK(in == c->in_bytes);
	}
}

/* One 16-byte descriptor (split or packed layout) copied from wherever it
 * is: indirect tables may sit at any address. */
static inline void fz_load_desc(const void *p, void *out)
{
	memcpy(out, p, 16);
}

/*
 * Reference model of a chain the core accepted: what a walk of the
 * (unchanged, single-threaded) ring memory says the chain is. The core's
 * answer must match it segment by segment: same pointers, lengths and
 * directions, readable ones first, same ring descriptor count and id.
 */
struct fz_ref {
	unsigned n_out, n_in, ndesc;
	uint16_t id;
	int zero_ok; /* VR_QF_ZERO_LEN_OK: zero-length segments add nothing */
	int seen_w;  /* a writable descriptor was seen (empty or not) */
	struct vr_iov iov[2 * FZ_MAX_NUM];
};

static inline void fz_ref_seg(struct fz_ref *r, const struct vr_mem *mem,
			      uint64_t addr, uint32_t len, int write)
{
	unsigned n = r->n_out + r->n_in;

	FZ_CHECK(!(write == 0 && r->seen_w)); /* readable after writable */
	if (write)
		r->seen_w = 1;
	if (len == 0) {
		FZ_CHECK(r->zero_ok); /* else the core must have refused it */
		return;
	}
	FZ_CHECK(n < 2 * FZ_MAX_NUM);
	r->iov[n].base = vr_mem_translate(mem, addr, len,
					  write ? VR_ACCESS_WRITE : VR_ACCESS_READ);
	r->iov[n].len = len;
	FZ_CHECK(r->iov[n].base != NULL);
	if (write)
		r->n_in++;
	else
		r->n_out++;
}

static inline void fz_ref_compare(const struct fz_ref *r, const struct vr_chain *c)
{
	unsigned i;

	FZ_CHECK(c->n_out == r->n_out && c->n_in == r->n_in);
	FZ_CHECK(c->ndesc == r->ndesc);
	FZ_CHECK(c->id == r->id);
	for (i = 0; i < r->n_out + r->n_in; i++)
		FZ_CHECK(c->iov[i].base == r->iov[i].base && c->iov[i].len == r->iov[i].len);
}

#endif /* VR_FUZZ_COMMON_H */
