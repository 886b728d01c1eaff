/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_ivshmem_client: the fuzzer is a hostile ivshmem server talking to
 * the host peer (transports/ivshmem). Its bytes are a sequence of server
 * messages, each an int64 and how many fds came with it, which the target
 * feeds to the peer's own parser (transports/ivshmem/proto.h, the code
 * ivshmem.c runs on every message) while it plays the caller's part with
 * fake fds: it stores an fd where the verdict says (the memory, an own
 * vector, a peer's vector), closes the fds of a departed peer, and after
 * an error closes the message's fds and everything stored.
 *
 * Invariants (abort on violation):
 *  - every verdict is exactly the one a reference model written from
 *    docs/TRANSPORT_IVSHMEM.md (below, independent of proto.h) expects:
 *    accepted or refused, and for an accepted message its kind, id,
 *    vector index and completeness;
 *  - slots: a present peer keeps one slot, no two present peers share
 *    one, a departure names the departed peer's slot;
 *  - an error comes with a one-line reason that fits its buffer, and the
 *    parser refuses everything after it;
 *  - no fake fd is stored twice, overwritten or lost: at the end every fd
 *    handed to the caller was stored exactly once or closed exactly once;
 *  - ready (set-up over) exactly when the memory and all own vectors
 *    arrived; at most VR__IVP_MAX_VEC vectors per peer, ids below max_id;
 *  - the 8-byte encoding round-trips.
 *
 * Input:
 *   0      vectors per peer: 1 + byte % 64
 *   1..2   ids accepted: 1 + the u16 (little-endian), so 1..65536
 *   3..    messages of 9 bytes: the int64 (little-endian), then a byte
 *          whose low 2 bits are the fd count (0..3); the other bits are
 *          ignored. A shorter tail is ignored.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "invariant failed: %s (line %d)\n", #c, \
				__LINE__);                                    \
			abort();                                              \
		}                                                             \
	} while (0)

#define MAX_FAKE 4096

/* ---- Reference model (from the docs, not from proto.h) ---------------------- */

struct ref {
	int stage; /* 0 version, 1 id, 2 memory, 3 running, 4 failed */
	uint32_t nvec, max_id;
	int64_t own;
	uint32_t own_n;
	int64_t open;
	uint32_t others;                 /* peers present (with a vector) */
	uint8_t got[VR__IVP_ID_LIMIT];   /* vectors per id */
	int16_t slot[VR__IVP_ID_LIMIT];  /* the slot the parser gave, or -1 */
};

/* The expected verdict: kind (0 = refused), id, vector, complete. */
static uint32_t ref_feed(struct ref *r, int64_t v, unsigned nfds, uint32_t *id,
			 uint32_t *vec, bool *complete)
{
	*id = *vec = 0;
	*complete = false;
	if (r->stage == 4 || nfds > 1)
		goto refuse;
	if (r->stage == 0) {
		if (v != 0 || nfds)
			goto refuse;
		r->stage = 1;
		return VR__IVP_K_VERSION;
	}
	if (r->stage == 1) {
		if (nfds || v < 0 || v >= (int64_t)r->max_id)
			goto refuse;
		r->own = v;
		*id = (uint32_t)v;
		r->stage = 2;
		return VR__IVP_K_OWN_ID;
	}
	if (r->stage == 2) {
		if (v != -1 || nfds != 1)
			goto refuse;
		r->stage = 3;
		return VR__IVP_K_SHM;
	}
	if (v < 0 || v >= (int64_t)r->max_id)
		goto refuse;
	if (r->open >= 0 && r->open != v)
		goto refuse;
	*id = (uint32_t)v;
	if (v == r->own) {
		if (!nfds || r->own_n == r->nvec)
			goto refuse;
		*vec = r->own_n++;
		*complete = r->own_n == r->nvec;
		r->open = *complete ? -1 : v;
		return VR__IVP_K_OWN_VEC;
	}
	if (!nfds) {
		if (r->open >= 0 || !r->got[v])
			goto refuse;
		r->got[v] = 0;
		r->others--;
		return VR__IVP_K_PEER_GONE;
	}
	if (r->got[v] == r->nvec)
		goto refuse;
	if (!r->got[v]) {
		if (r->others == VR__IVP_MAX_SLOTS)
			goto refuse; /* more than 64 others at once */
		r->others++;
	}
	*vec = r->got[v]++;
	*complete = r->got[v] == r->nvec;
	r->open = *complete ? -1 : v;
	return VR__IVP_K_PEER_VEC;
refuse:
	r->stage = 4;
	return 0;
}

/* ---- The caller's part, with fake fds ------------------------------------------- */

struct caller {
	int shm;
	int own[VR__IVP_MAX_VEC];
	int peer[VR__IVP_MAX_SLOTS][VR__IVP_MAX_VEC];
	int64_t slot_owner[VR__IVP_MAX_SLOTS]; /* id in each slot, or -1 */
	uint8_t fate[MAX_FAKE]; /* 0 unused, 1 handed out, 2 stored, 3 closed */
	int next;
};

static void fd_close(struct caller *c, int fd)
{
	CHECK(fd >= 0 && fd < MAX_FAKE);
	CHECK(c->fate[fd] == 1 || c->fate[fd] == 2);
	c->fate[fd] = 3;
}

static void fd_store(struct caller *c, int *slot, int fd)
{
	CHECK(*slot == -1); /* nothing overwritten */
	CHECK(c->fate[fd] == 1);
	c->fate[fd] = 2;
	*slot = fd;
}

static void close_all(struct caller *c)
{
	uint32_t i, v;

	if (c->shm >= 0)
		fd_close(c, c->shm);
	c->shm = -1;
	for (v = 0; v < VR__IVP_MAX_VEC; v++) {
		if (c->own[v] >= 0)
			fd_close(c, c->own[v]);
		c->own[v] = -1;
		for (i = 0; i < VR__IVP_MAX_SLOTS; i++) {
			if (c->peer[i][v] >= 0)
				fd_close(c, c->peer[i][v]);
			c->peer[i][v] = -1;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct caller c;
	static struct ref r;
	static bool r_ready;
	struct vr__ivp p;
	char err[96];
	size_t off;
	uint32_t i, v;
	int k;
	bool failed = false;

	if (size < 3)
		return 0;
	memset(&c, 0, sizeof(c));
	c.shm = -1;
	for (i = 0; i < VR__IVP_MAX_SLOTS; i++)
		c.slot_owner[i] = -1;
	for (v = 0; v < VR__IVP_MAX_VEC; v++) {
		c.own[v] = -1;
		for (i = 0; i < VR__IVP_MAX_SLOTS; i++)
			c.peer[i][v] = -1;
	}
	/* The per-id tables are large: cleared once, then only where the
	 * last input wrote (see the end). */
	if (!r_ready) {
		memset(r.got, 0, sizeof(r.got));
		memset(r.slot, 0xff, sizeof(r.slot));
		r_ready = true;
	}
	r.stage = 0;
	r.own = 0;
	r.own_n = 0;
	r.others = 0;
	r.nvec = 1u + data[0] % 64u;
	r.max_id = 1u + ((uint32_t)data[1] | (uint32_t)data[2] << 8);
	r.open = -1;
	vr__ivp_init(&p, r.nvec, r.max_id);

	for (off = 3; off + 9 <= size; off += 9) {
		struct vr__ivp_act act;
		unsigned char b[8];
		int64_t value = vr__ivp_decode(data + off);
		unsigned nfds = data[off + 8] & 3u;
		int fds[3];
		uint32_t eid, evec, ekind;
		bool ecomplete;
		int rc;

		if (c.next + 3 > MAX_FAKE)
			break; /* long enough */
		vr__ivp_encode(value, b);
		CHECK(memcmp(b, data + off, 8) == 0);
		for (k = 0; k < (int)nfds; k++) {
			CHECK(c.next < MAX_FAKE);
			fds[k] = c.next++;
			c.fate[fds[k]] = 1;
		}
		ekind = ref_feed(&r, value, nfds, &eid, &evec, &ecomplete);
		memset(err, 'x', sizeof(err));
		rc = vr__ivp_feed(&p, value, nfds, &act, err, sizeof(err));
		if (rc) {
			CHECK(rc == VR_EIO);
			CHECK(ekind == 0);
			CHECK(memchr(err, '\0', sizeof(err)) != NULL);
			CHECK(strlen(err) > 0 && strchr(err, '\n') == NULL);
			CHECK(p.stage == VR__IVP_FAILED);
			/* The caller closes the message's fds and everything. */
			for (k = 0; k < (int)nfds; k++)
				fd_close(&c, fds[k]);
			close_all(&c);
			failed = true;
			/* And the parser stays shut. */
			CHECK(vr__ivp_feed(&p, 0, 0, &act, err, sizeof(err)) == VR_EIO);
			break;
		}
		CHECK(ekind == act.kind);
		CHECK(act.id == eid && act.vec == evec && act.complete == ecomplete);
		CHECK(act.id < r.max_id && act.vec < r.nvec);
		if (act.kind == VR__IVP_K_PEER_VEC || act.kind == VR__IVP_K_PEER_GONE) {
			CHECK(act.slot < VR__IVP_MAX_SLOTS);
			if (r.slot[act.id] >= 0) {
				/* Known: the same slot as before. */
				CHECK((uint32_t)r.slot[act.id] == act.slot);
			} else {
				/* New: a slot nobody present holds. */
				CHECK(act.kind == VR__IVP_K_PEER_VEC && act.vec == 0);
				CHECK(c.slot_owner[act.slot] == -1);
				r.slot[act.id] = (int16_t)act.slot;
				c.slot_owner[act.slot] = act.id;
			}
			if (act.kind == VR__IVP_K_PEER_GONE) {
				r.slot[act.id] = -1;
				c.slot_owner[act.slot] = -1;
			}
		}
		switch (act.kind) {
		case VR__IVP_K_SHM:
			CHECK(nfds == 1);
			fd_store(&c, &c.shm, fds[0]);
			break;
		case VR__IVP_K_OWN_VEC:
			CHECK(nfds == 1 && act.id == p.own_id);
			fd_store(&c, &c.own[act.vec], fds[0]);
			break;
		case VR__IVP_K_PEER_VEC:
			CHECK(nfds == 1 && act.id != p.own_id);
			fd_store(&c, &c.peer[act.slot][act.vec], fds[0]);
			break;
		case VR__IVP_K_PEER_GONE:
			CHECK(nfds == 0);
			for (v = 0; v < VR__IVP_MAX_VEC; v++) {
				if (c.peer[act.slot][v] >= 0)
					fd_close(&c, c.peer[act.slot][v]);
				c.peer[act.slot][v] = -1;
			}
			break;
		default:
			CHECK(nfds == 0);
			break;
		}
		CHECK(vr__ivp_ready(&p) == (r.stage == 3 && r.own_n == r.nvec));
		CHECK(p.own_nvec <= p.nvec);
	}
	if (!failed)
		close_all(&c); /* the caller's close */
	/* Put back the per-id entries this input may have touched. */
	for (off = 3; off + 9 <= size; off += 9) {
		int64_t value = vr__ivp_decode(data + off);

		if (value >= 0 && value < (int64_t)VR__IVP_ID_LIMIT) {
			r.got[value] = 0;
			r.slot[value] = -1;
		}
	}
	/* Every fd handed out was stored and closed, or closed: none lost. */
	for (k = 0; k < c.next; k++)
		CHECK(c.fate[k] == 3);
	return 0;
}
