/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client side of QEMU's ivshmem server protocol (version 0), as a
 * function of plain values: what one received message said (its int64 and
 * how many fds came with it) and what came before. No system calls, no fd
 * is touched: the caller (ivshmem.c) stores or closes the fds as the
 * verdict says. fuzz/fuzz_ivshmem_client.c feeds it hostile sequences.
 *
 * The server sends, on a stream socket, 8-byte little-endian int64
 * messages, each with at most one fd (SCM_RIGHTS):
 *   1. the protocol version, 0, no fd;
 *   2. the new peer's own id, no fd;
 *   3. -1 with the shared-memory fd;
 *   then, at any time, in any number:
 *   4. a peer id with one eventfd: the next vector of that peer (the
 *      vectors of one peer arrive one after the other, vector 0 first;
 *      the own id's are this peer's own vectors);
 *   5. a peer id without fd: that peer left.
 * This parser also insists on what makes the stream unambiguous: every
 * peer has exactly nvec vectors, sent together (a message for another id
 * while a peer is incomplete is an error); ids in 0..max_id-1; at most
 * VR__IVP_MAX_SLOTS other peers at once; no second shared-memory fd; no
 * fd on the version or id; no departure of a peer that is not there,
 * still incomplete, or this peer itself; no vectors for a peer already
 * complete (a duplicate id); and this peer's own vectors exactly once.
 *
 * Other peers live in slots (ids go up to 65535, a table by id would be
 * large): the verdict names the slot, where the caller keeps that peer's
 * fds; a departed peer's slot is free for the next newcomer.
 *
 * Thread notes: plain functions of their arguments; one parser per
 * connection, used by one thread at a time.
 */
#ifndef VR_IVSHMEM_PROTO_H
#define VR_IVSHMEM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vring/errors.h>

#define VR__IVP_ID_LIMIT 65536u /* ids 0..65535: the Doorbell register's 16 bits */
#define VR__IVP_MAX_SLOTS 64u   /* = VR_IVSHMEM_MAX_PEERS: other peers at once */
#define VR__IVP_MAX_VEC 64u     /* = VR_IVSHMEM_MAX_VECTORS */
#define VR__IVP_MSG_BYTES 8u

/* Where the conversation is. */
enum vr__ivp_stage {
	VR__IVP_VERSION = 0, /* waiting for the protocol version */
	VR__IVP_OWN_ID = 1,  /* waiting for this peer's id */
	VR__IVP_SHM = 2,     /* waiting for -1 + the shared-memory fd */
	VR__IVP_RUN = 3,     /* peers' vectors and departures */
	VR__IVP_FAILED = 4   /* an error was reported: nothing more accepted */
};

/* What a message meant. */
enum vr__ivp_kind {
	VR__IVP_K_VERSION = 1, /* version accepted; no fd */
	VR__IVP_K_OWN_ID = 2,  /* own id is act.id; no fd */
	VR__IVP_K_SHM = 3,     /* keep the fd as the shared memory */
	VR__IVP_K_OWN_VEC = 4, /* keep the fd as own vector act.vec */
	VR__IVP_K_PEER_VEC = 5, /* keep the fd as vector act.vec of act.id, in
				   slot act.slot; act.complete: that peer now
				   has them all */
	VR__IVP_K_PEER_GONE = 6 /* act.id left: close the fds of act.slot */
};

struct vr__ivp_act {
	uint32_t kind;  /* enum vr__ivp_kind */
	uint32_t id;
	uint32_t vec;
	uint32_t slot;  /* PEER_VEC, PEER_GONE */
	bool complete;  /* PEER_VEC / OWN_VEC: the last vector of that id */
};

/* Per slot: the peer's id and how many of its vectors arrived (0: the
 * slot is free). */
struct vr__ivp {
	uint32_t stage;
	uint32_t nvec;    /* vectors every peer has, 1..VR__IVP_MAX_VEC */
	uint32_t max_id;  /* ids accepted: 0..max_id-1, max_id <= ID_LIMIT */
	uint32_t own_id;
	uint32_t own_nvec; /* own vectors received */
	int32_t open_id;   /* a peer whose vectors are still arriving, or -1 */
	uint32_t slot_id[VR__IVP_MAX_SLOTS];
	uint8_t got[VR__IVP_MAX_SLOTS];
};

/* The slot of peer @id, or -1. */
static inline int vr__ivp_slot_of(const struct vr__ivp *p, uint32_t id)
{
	unsigned i;

	for (i = 0; i < VR__IVP_MAX_SLOTS; i++)
		if (p->got[i] && p->slot_id[i] == id)
			return (int)i;
	return -1;
}

static inline void vr__ivp_init(struct vr__ivp *p, uint32_t nvec, uint32_t max_id)
{
	memset(p, 0, sizeof(*p));
	p->stage = VR__IVP_VERSION;
	p->nvec = nvec;
	p->max_id = max_id;
	p->open_id = -1;
}

/* Decode the 8 bytes of a message (little-endian on the wire). */
static inline int64_t vr__ivp_decode(const unsigned char b[VR__IVP_MSG_BYTES])
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < VR__IVP_MSG_BYTES; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return (int64_t)v;
}

static inline void vr__ivp_encode(int64_t value, unsigned char b[VR__IVP_MSG_BYTES])
{
	uint64_t v = (uint64_t)value;
	unsigned i;

	for (i = 0; i < VR__IVP_MSG_BYTES; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

/* True once the set-up is over: the shared memory and every own vector. */
static inline bool vr__ivp_ready(const struct vr__ivp *p)
{
	return p->stage == VR__IVP_RUN && p->own_nvec == p->nvec;
}

/* Report an error: the parser accepts nothing after it. */
static inline int vr__ivp_fail(struct vr__ivp *p, char *err, size_t cap,
			       const char *text, long long a, long long b)
{
	p->stage = VR__IVP_FAILED;
	if (err && cap)
		snprintf(err, cap, text, a, b);
	return VR_EIO;
}

/*
 * Judge one message: @value is its int64, @nfds how many fds came with it
 * (any number: more than one is an error). Returns 0 with @act filled, or
 * VR_EIO with a one-line reason in @err (every fd of the message is then
 * the caller's to close, as are those it kept: the connection is over).
 * The caller stores the fd as @act says on success; a message that carries
 * no fd and needs none says so by its kind (VERSION, OWN_ID, PEER_GONE).
 */
static inline int vr__ivp_feed(struct vr__ivp *p, int64_t value, unsigned nfds,
			       struct vr__ivp_act *act, char *err, size_t cap)
{
	uint32_t id;
	int slot;

	memset(act, 0, sizeof(*act));
	if (p->nvec == 0 || p->nvec > VR__IVP_MAX_VEC || p->max_id == 0 ||
	    p->max_id > VR__IVP_ID_LIMIT)
		return vr__ivp_fail(p, err, cap, "parser misconfigured (%lld vectors, %lld ids)",
				    (long long)p->nvec, (long long)p->max_id);
	if (nfds > 1)
		return vr__ivp_fail(p, err, cap,
				    "server sent %lld fds with one message (value %lld); at most 1",
				    (long long)nfds, (long long)value);
	switch (p->stage) {
	case VR__IVP_VERSION:
		if (value != 0)
			return vr__ivp_fail(p, err, cap,
					    "server speaks ivshmem protocol version %lld, not 0",
					    (long long)value, 0);
		if (nfds)
			return vr__ivp_fail(p, err, cap,
					    "server sent an fd with the protocol version", 0, 0);
		p->stage = VR__IVP_OWN_ID;
		act->kind = VR__IVP_K_VERSION;
		return 0;
	case VR__IVP_OWN_ID:
		if (nfds)
			return vr__ivp_fail(p, err, cap,
					    "server sent an fd with this peer's id %lld",
					    (long long)value, 0);
		if (value < 0 || value >= (int64_t)p->max_id)
			return vr__ivp_fail(p, err, cap,
					    "server gave this peer id %lld, outside 0..%lld",
					    (long long)value, (long long)p->max_id - 1);
		p->own_id = (uint32_t)value;
		p->stage = VR__IVP_SHM;
		act->kind = VR__IVP_K_OWN_ID;
		act->id = p->own_id;
		return 0;
	case VR__IVP_SHM:
		if (value != -1)
			return vr__ivp_fail(p, err, cap,
					    "server sent %lld where the shared memory (-1) was due",
					    (long long)value, 0);
		if (!nfds)
			return vr__ivp_fail(p, err, cap,
					    "server sent no fd with the shared memory message", 0, 0);
		p->stage = VR__IVP_RUN;
		act->kind = VR__IVP_K_SHM;
		return 0;
	case VR__IVP_RUN:
		break;
	default:
		return vr__ivp_fail(p, err, cap, "message after a protocol error", 0, 0);
	}

	/* Running: vectors and departures. */
	if (value == -1)
		return vr__ivp_fail(p, err, cap,
				    "server sent a second shared memory message (%lld fd)",
				    (long long)nfds, 0);
	if (value < 0 || value >= (int64_t)p->max_id)
		return vr__ivp_fail(p, err, cap, "server named peer id %lld, outside 0..%lld",
				    (long long)value, (long long)p->max_id - 1);
	id = (uint32_t)value;
	if (p->open_id >= 0 && (uint32_t)p->open_id != id)
		return vr__ivp_fail(p, err, cap,
				    "peer %lld sent only some of its vectors before peer %lld",
				    (long long)p->open_id, (long long)id);
	if (id == p->own_id) {
		if (!nfds)
			return vr__ivp_fail(p, err, cap,
					    "server announced the departure of this peer (id %lld)",
					    (long long)id, 0);
		if (p->own_nvec >= p->nvec)
			return vr__ivp_fail(p, err, cap,
					    "server sent this peer (id %lld) more than %lld vectors",
					    (long long)id, (long long)p->nvec);
		act->kind = VR__IVP_K_OWN_VEC;
		act->id = id;
		act->vec = p->own_nvec++;
		act->complete = p->own_nvec == p->nvec;
		p->open_id = act->complete ? -1 : (int32_t)id;
		return 0;
	}
	slot = vr__ivp_slot_of(p, id);
	if (!nfds) {
		if (p->open_id >= 0)
			return vr__ivp_fail(p, err, cap,
					    "server announced the departure of peer %lld before "
					    "sending all its vectors", (long long)id, 0);
		if (slot < 0)
			return vr__ivp_fail(p, err, cap,
					    "server announced the departure of unknown peer %lld",
					    (long long)id, 0);
		p->got[slot] = 0;
		act->kind = VR__IVP_K_PEER_GONE;
		act->id = id;
		act->slot = (uint32_t)slot;
		return 0;
	}
	if (slot >= 0 && p->got[slot] >= p->nvec)
		return vr__ivp_fail(p, err, cap,
				    "server sent vectors for peer %lld, which has all %lld already "
				    "(duplicate id)", (long long)id, (long long)p->nvec);
	if (slot < 0) {
		for (slot = 0; slot < (int)VR__IVP_MAX_SLOTS && p->got[slot]; slot++)
			;
		if (slot == (int)VR__IVP_MAX_SLOTS)
			return vr__ivp_fail(p, err, cap,
					    "server announced peer %lld while %lld others are "
					    "there (the most this peer keeps)", (long long)id,
					    (long long)VR__IVP_MAX_SLOTS);
		p->slot_id[slot] = id;
	}
	act->kind = VR__IVP_K_PEER_VEC;
	act->id = id;
	act->slot = (uint32_t)slot;
	act->vec = p->got[slot]++;
	act->complete = p->got[slot] == p->nvec;
	p->open_id = act->complete ? -1 : (int32_t)id;
	return 0;
}

#endif /* VR_IVSHMEM_PROTO_H */
