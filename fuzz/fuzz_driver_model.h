/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver targets' model of the chains in flight: what the driver API
 * was given (id, cookie, writable bytes, ring descriptors, order), so that
 * whatever the hostile device writes, every chain the driver hands back
 * can be checked against it: an id it had in flight, once, with its own
 * cookie, a length no larger than its writable bytes, in add order with
 * IN_ORDER.
 */
#ifndef VR_FUZZ_DRIVER_MODEL_H
#define VR_FUZZ_DRIVER_MODEL_H

#include <stdbool.h>

#include "fuzz_common.h"

struct drv_model {
	bool in_flight[FZ_MAX_NUM];
	void *cookie[FZ_MAX_NUM];
	uint32_t in_len[FZ_MAX_NUM];
	uint16_t ndesc[FZ_MAX_NUM];
	uint16_t fifo[FZ_MAX_NUM]; /* ids in add order */
	unsigned head, count, descs;
	uintptr_t next_cookie;
};

static inline void drv_model_add(struct drv_model *m, uint32_t num, int id,
				 void *cookie, uint32_t in_len, unsigned ndesc)
{
	FZ_CHECK(id >= 0 && (uint32_t)id < num);
	FZ_CHECK(!m->in_flight[id]); /* the driver reuses only free ids */
	m->in_flight[id] = true;
	m->cookie[id] = cookie;
	m->in_len[id] = in_len;
	m->ndesc[id] = (uint16_t)ndesc;
	m->fifo[(m->head + m->count) % FZ_MAX_NUM] = (uint16_t)id;
	m->count++;
	m->descs += ndesc;
	FZ_CHECK(m->descs <= num);
}

/* Check a chain the driver returned, and forget it. */
static inline void drv_model_collect(struct drv_model *m, uint32_t num,
				     const struct vr_used_buf *u, bool in_order)
{
	unsigned i, j;

	FZ_CHECK(u->id < num);
	FZ_CHECK(m->in_flight[u->id]);        /* one it had in flight ... */
	FZ_CHECK(u->cookie == m->cookie[u->id]); /* ... with its cookie */
	FZ_CHECK(u->len <= m->in_len[u->id]); /* never more than it gave */
	if (in_order)
		FZ_CHECK(u->id == m->fifo[m->head % FZ_MAX_NUM]);
	for (i = 0; i < m->count; i++)
		if (m->fifo[(m->head + i) % FZ_MAX_NUM] == u->id)
			break;
	FZ_CHECK(i < m->count);
	for (j = i; j + 1 < m->count; j++)
		m->fifo[(m->head + j) % FZ_MAX_NUM] =
			m->fifo[(m->head + j + 1) % FZ_MAX_NUM];
	m->count--;
	m->descs -= m->ndesc[u->id];
	m->in_flight[u->id] = false; /* so a second return fails the check */
}

static inline void drv_model_reset(struct drv_model *m)
{
	uintptr_t c = m->next_cookie;

	memset(m, 0, sizeof(*m));
	m->next_cookie = c;
}

static inline void check_get_used_rc(int rc)
{
	FZ_CHECK_RC(rc == 0 || rc == VR_EAGAIN || rc == VR_EBROKEN ||
			    rc == VR_EUSEDIDX || rc == VR_EUSEDID ||
			    rc == VR_EUSEDLEN,
		    rc);
}

/*
 * Segments of a chain from two fuzz bytes: 1..4 segments, readable then
 * writable, lengths 1..256, at distinct places of the pool's first 8 KiB
 * (bus addresses; the driver never dereferences them without hooks, and
 * with hooks they are inside the window).
 */
static inline unsigned drv_segs(uint8_t a, uint8_t b, struct vr_seg *seg,
				unsigned *n_out, unsigned *n_in)
{
	unsigned i, n;

	*n_out = a % 3;
	*n_in = (a >> 2) % 3;
	if (*n_out + *n_in == 0)
		*n_in = 1;
	n = *n_out + *n_in;
	for (i = 0; i < n; i++) {
		seg[i].addr = FZ_BUS + FZ_POOL_OFF + 256u * ((b + i * 7u) % 32u);
		seg[i].len = (uint32_t)((b * 37u + i * 101u) % 256u) + 1;
	}
	return n;
}

static inline uint32_t drv_in_len(const struct vr_seg *seg, unsigned n_out,
				  unsigned n_in)
{
	uint32_t s = 0;
	unsigned i;

	for (i = n_out; i < n_out + n_in; i++)
		s += seg[i].len;
	return s;
}

/* An indirect table for the chain: 64 bytes per slot in the pool's last
 * 4 KiB, 16-byte aligned. */
#define DRV_TABLE_OFF (FZ_ARENA - 4096u)

#endif /* VR_FUZZ_DRIVER_MODEL_H */
