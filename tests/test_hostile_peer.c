/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile peer, live: one thread runs one side of a real ring at full speed
 * while a second thread (the peer) keeps rewriting the shared ring with
 * random and adversarial values: plausible chains and completions mixed
 * with flipped flags, moved indexes, descriptors and indirect tables
 * rewritten after they were published or read, ids out of range.
 *
 * What must hold, whatever the peer does: every call returns one of its
 * documented codes; every segment the device side returns lies inside the
 * window it was given (and is real memory: its ends are read); every chain
 * the driver side returns was in flight, once, with its cookie and no more
 * than its writable bytes; a protocol error breaks the queue with that code
 * until reset; nothing crashes or hangs. Under ASan this shows there is no
 * out-of-bounds access whatever is read when; under TSan (the peer uses the
 * same 16/32-bit relaxed or release atomics as the core) any report is a
 * real race in the core.
 *
 * Each configuration runs VR_HOSTILE_SECONDS (default 3) seconds; the
 * queue is re-initialised with the next feature combination (EVENT_IDX,
 * INDIRECT_DESC, IN_ORDER) at every reset. A reset happens when the queue
 * breaks, and every few thousand calls otherwise; the peer is paused for
 * it (the reset itself writes the ring with plain stores, as documented:
 * the peer is stopped while it runs).
 *
 * The packed driver test also keeps the peer off the descriptors while the
 * driver writes new chains (a short gate): those descriptors belong to the
 * driver (section 2.8.16), which writes them with plain stores and never
 * reads them back, so a device scribbling there can only hurt itself.
 * Collection (get_used) runs in full race with the peer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <vring/vring.h>

/* Region: rings in the first 4 KiB, then the pool (the device's window). */
#define HP_RING_BYTES 4096u
#define HP_POOL_BYTES (64u * 1024u)
#define HP_TABLE_BYTES 4096u /* start of the pool: indirect tables */
#define HP_POOL_BUS 0x100000ull
#define HP_DESC_OFF 0u
#define HP_DRIVER_OFF 1024u
#define HP_DEVICE_EV_OFF 1040u
#define HP_USED_OFF 2048u
#define HP_MAX_NUM 64u

static const uint64_t feature_sets[8] = {
	0,
	VR_FEATURE(VR_F_EVENT_IDX),
	VR_FEATURE(VR_F_INDIRECT_DESC),
	VR_FEATURE(VR_F_IN_ORDER),
	VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_INDIRECT_DESC),
	VR_FEATURE(VR_F_INDIRECT_DESC) | VR_FEATURE(VR_F_IN_ORDER),
	VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_IN_ORDER),
	VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_INDIRECT_DESC) |
		VR_FEATURE(VR_F_IN_ORDER),
};

enum hp_kind { HP_SPLIT_DEV, HP_PACKED_DEV, HP_SPLIT_DRV, HP_PACKED_DRV };

struct hp {
	enum hp_kind kind;
	uint32_t num;
	unsigned char *region; /* rings, then the pool */
	unsigned char *pool;
	/* Handshake with the peer thread (seq_cst atomics). */
	int stop;
	int pause_req;
	int paused;
	int adding;  /* packed driver: writing new chains */
	int writing; /* packed driver: the peer is in a write */
	unsigned long peer_writes;
};

/* ---- Small helpers ---------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double hostile_seconds(void)
{
	const char *e = getenv("VR_HOSTILE_SECONDS");
	double s = e ? atof(e) : 3.0;

	return s > 0 ? s : 3.0;
}

/* In every wait loop: the two threads may share a core with others (the
 * test runs next to other tests), so a waiter spins briefly, then yields
 * instead of burning the time slice the other thread needs. */
static void relax(unsigned *k)
{
	if (++*k % 64 == 0)
		sched_yield();
}

/* The peer's stores: one relaxed (or release) atomic of the core's width. */
static void st16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

static void st16_rel(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}

static void st32(void *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED);
}

static uint16_t ld16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static uint16_t ld16_acq(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static void st_addr(void *p, uint64_t v)
{
	st32(p, (uint32_t)v);
	st32((unsigned char *)p + 4, (uint32_t)(v >> 32));
}

static unsigned char *ring(struct hp *h, unsigned off)
{
	return h->region + off;
}

/* A buffer address the device's window covers (or, 1 time in 16, not). */
static uint64_t peer_addr(uint64_t *s, uint32_t *len)
{
	uint64_t r = rnd(s);

	*len = (uint32_t)(r % 1024u) + 1;
	if ((r >> 20) % 16 == 0) {
		*len = (uint32_t)(r >> 32);
		return HP_POOL_BUS - 64 + (r >> 40) % 256;
	}
	return HP_POOL_BUS + HP_TABLE_BYTES + (r >> 24) % (HP_POOL_BYTES - HP_TABLE_BYTES - 1024);
}

/* An indirect table of 1..4 entries in the table area; returns its bus
 * address and byte length (sometimes malformed). */
static uint64_t peer_table(struct hp *h, uint64_t *s, uint32_t *len, bool packed)
{
	unsigned slot = (unsigned)(rnd(s) % (HP_TABLE_BYTES / 64u));
	unsigned n = (unsigned)(rnd(s) % 4u) + 1, i;
	unsigned char *t = h->pool + 64u * slot;

	for (i = 0; i < n; i++) {
		uint32_t l;
		uint64_t a = peer_addr(s, &l);
		uint16_t fl = (uint16_t)(i >= n / 2 ? VR_DESC_F_WRITE : 0);

		if (!packed && i + 1 < n)
			fl |= VR_DESC_F_NEXT;
		if (rnd(s) % 32 == 0)
			fl = (uint16_t)rnd(s);
		st_addr(t + 16 * i, a);
		st32(t + 16 * i + 8, l);
		if (packed) {
			st16(t + 16 * i + 12, 0);
			st16(t + 16 * i + 14, fl);
		} else {
			st16(t + 16 * i + 12, fl);
			st16(t + 16 * i + 14, (uint16_t)(i + 1));
		}
	}
	*len = rnd(s) % 16 == 0 ? (uint32_t)rnd(s) % 100 : 16u * n;
	return HP_POOL_BUS + 64u * slot;
}

/* ---- The peer thread -------------------------------------------------------- */

struct peer_state {
	uint16_t pos;   /* packed: the peer's ring position */
	bool wrap;      /* packed: the peer's wrap counter */
	uint16_t taken; /* split driver test: avail entries consumed */
};

/* Split device test: the peer is the driver. */
static void peer_split_driver(struct hp *h, uint64_t *s, struct peer_state *ps,
		bool calm)
{
	uint32_t num = h->num;
	unsigned char *desc = ring(h, HP_DESC_OFF), *avail = ring(h, HP_DRIVER_OFF);
	uint64_t r = rnd(s);

	(void)ps;
	if (calm)
		r &= ~(uint64_t)15; /* the plausible case only */
	switch (r % 16) {
	default: { /* a plausible chain of 1..3, made available */
		uint16_t head = (uint16_t)((r >> 8) % num), idx;
		unsigned n = (unsigned)((r >> 16) % 3) + 1, i, d = head;

		for (i = 0; i < n; i++) {
			unsigned char *p = desc + 16 * d;
			uint32_t len;
			uint64_t a;
			uint16_t fl = (uint16_t)(i > 0 && (r >> (24 + i)) & 1 ? VR_DESC_F_WRITE : 0);
			unsigned next = (d + 1) % num;

			if (i == n - 1 && (r >> 30) % 4 == 0) {
				a = peer_table(h, s, &len, false);
				fl = VR_DESC_F_INDIRECT;
			} else {
				a = peer_addr(s, &len);
			}
			if (i + 1 < n)
				fl |= VR_DESC_F_NEXT;
			st_addr(p, a);
			st32(p + 8, len);
			st16(p + 12, fl);
			st16(p + 14, (uint16_t)next);
			d = next;
		}
		idx = ld16(avail + 2);
		st16(avail + 4 + 2 * (idx % num), head);
		st16_rel(avail + 2, (uint16_t)(idx + 1));
		break;
	}
	case 8:
	case 9: /* any 32 bits of the table or the ring */
		st32(desc + 4 * ((r >> 8) % ((16 * num + 6 + 2 * num) / 4)), (uint32_t)(r >> 32));
		break;
	case 10: /* indirect tables rewritten, perhaps while read */
		st16(h->pool + 2 * ((r >> 8) % (HP_TABLE_BYTES / 2)), (uint16_t)(r >> 32));
		break;
	case 11: { /* flip flags of a descriptor */
		unsigned char *p = desc + 16 * ((r >> 8) % num) + 12;

		st16(p, (uint16_t)(ld16(p) ^ (uint16_t)(r >> 32)));
		break;
	}
	case 12: { /* rewrite the length and address of the newest head */
		uint16_t idx = ld16(avail + 2);
		uint16_t head = ld16(avail + 4 + 2 * ((uint16_t)(idx - 1) % num));

		if (head < num) {
			st32(desc + 16 * head + 8, (uint32_t)(r >> 32));
			st32(desc + 16 * head, (uint32_t)(r >> 8));
		}
		break;
	}
	case 13: /* move avail->idx anywhere */
		st16_rel(avail + 2, (uint16_t)(ld16(avail + 2) + (uint16_t)(r >> 40)));
		break;
	case 14:
		st16(avail + 4 + 2 * ((r >> 8) % num), (uint16_t)(r >> 32));
		break;
	case 15: /* flags and used_event */
		st16((r >> 8) & 1 ? avail : avail + 4 + 2 * num, (uint16_t)(r >> 32));
		break;
	}
}

/* Packed device test: the peer is the driver. */
static void peer_packed_driver(struct hp *h, uint64_t *s, struct peer_state *ps,
		bool calm)
{
	uint32_t num = h->num;
	unsigned char *desc = ring(h, HP_DESC_OFF);
	uint64_t r = rnd(s);

	if (calm)
		r &= ~(uint64_t)15; /* the plausible case only */
	switch (r % 16) {
	default: { /* a plausible chain at the peer's position, head last */
		unsigned n = (unsigned)((r >> 8) % 3) + 1, i;
		uint16_t id = (uint16_t)((r >> 16) % (num + 1));
		uint16_t head_pos = ps->pos, head_flags = 0;

		for (i = 0; i < n; i++) {
			unsigned char *p = desc + 16 * ps->pos;
			uint16_t fl = (uint16_t)(ps->wrap ? VR_DESC_F_AVAIL : VR_DESC_F_USED);
			uint32_t len;
			uint64_t a;

			if (i > 0 && (r >> (24 + i)) & 1)
				fl |= VR_DESC_F_WRITE;
			if (n == 1 && (r >> 30) % 4 == 0) {
				a = peer_table(h, s, &len, true);
				fl |= VR_DESC_F_INDIRECT;
			} else {
				a = peer_addr(s, &len);
			}
			if (i + 1 < n)
				fl |= VR_DESC_F_NEXT;
			st_addr(p, a);
			st32(p + 8, len);
			st16(p + 12, id);
			if (i == 0)
				head_flags = fl;
			else
				st16(p + 14, fl);
			if (++ps->pos == num) {
				ps->pos = 0;
				ps->wrap = !ps->wrap;
			}
		}
		st16_rel(desc + 16 * head_pos + 14, head_flags);
		break;
	}
	case 8:
	case 9:
		st32(desc + 4 * ((r >> 8) % (4 * num)), (uint32_t)(r >> 32));
		break;
	case 10:
		st16(h->pool + 2 * ((r >> 8) % (HP_TABLE_BYTES / 2)), (uint16_t)(r >> 32));
		break;
	case 11: { /* flags of any descriptor, in either wrap */
		static const uint16_t bits[4] = {0, VR_DESC_F_AVAIL, VR_DESC_F_USED,
						 VR_DESC_F_AVAIL | VR_DESC_F_USED};
		unsigned char *p = desc + 16 * ((r >> 8) % num) + 14;

		st16(p, (uint16_t)(bits[(r >> 16) % 4] | ((r >> 32) & 7)));
		break;
	}
	case 12: /* jump the peer's own position */
		ps->pos = (uint16_t)((r >> 8) % num);
		ps->wrap = (r >> 20) & 1;
		break;
	case 13: /* ids rewritten after publish */
		st16(desc + 16 * ((r >> 8) % num) + 12, (uint16_t)(r >> 32) % (num + 2));
		break;
	case 14:
	case 15: /* driver event area */
		st16(ring(h, HP_DRIVER_OFF) + 2 * ((r >> 8) % 2), (uint16_t)(r >> 32));
		break;
	}
}

/* Split driver test: the peer is the device. */
static void peer_split_device(struct hp *h, uint64_t *s, struct peer_state *ps,
		bool calm)
{
	uint32_t num = h->num;
	unsigned char *avail = ring(h, HP_DRIVER_OFF), *used = ring(h, HP_USED_OFF);
	uint64_t r = rnd(s);

	if (calm)
		r &= ~(uint64_t)15; /* the plausible case only */
	switch (r % 16) {
	default: { /* an honest-looking completion of the next avail head */
		uint16_t aidx = ld16_acq(avail + 2), uidx, head;

		if (aidx == ps->taken)
			break;
		head = ld16(avail + 4 + 2 * (ps->taken % num));
		ps->taken++;
		uidx = ld16(used + 2);
		st32(used + 4 + 8 * (uidx % num), head);
		st32(used + 8 + 8 * (uidx % num), (uint32_t)((r >> 8) % 600));
		st16_rel(used + 2, (uint16_t)(uidx + 1));
		break;
	}
	case 10: { /* an entry with any id and length */
		uint16_t uidx = ld16(used + 2);

		st32(used + 4 + 8 * (uidx % num), (uint32_t)(r >> 8) % (num + 2));
		st32(used + 8 + 8 * (uidx % num), (uint32_t)(r >> 32) >> ((r >> 4) % 32));
		break;
	}
	case 11: /* publish whatever is there */
		st16_rel(used + 2, (uint16_t)(ld16(used + 2) + (r >> 8) % 3));
		break;
	case 12: /* used->idx anywhere */
		st16_rel(used + 2, (uint16_t)(r >> 16));
		break;
	case 13: /* rewrite an entry after publishing it */
		st32(used + 4 + 8 * ((r >> 8) % num) + 4 * ((r >> 16) & 1), (uint32_t)(r >> 32));
		break;
	case 14: /* flags and avail_event */
		st16((r >> 8) & 1 ? used : used + 4 + 8 * num, (uint16_t)(r >> 32));
		break;
	case 15: /* lose track of the avail ring */
		ps->taken = (uint16_t)(ps->taken + (r >> 8) % 3);
		break;
	}
}

/* Packed driver test: the peer is the device. */
static void peer_packed_device(struct hp *h, uint64_t *s, struct peer_state *ps,
		bool calm)
{
	uint32_t num = h->num;
	unsigned char *desc = ring(h, HP_DESC_OFF);
	uint64_t r = rnd(s);

	if (calm)
		r &= ~(uint64_t)15; /* the plausible case only */
	switch (r % 16) {
	default: { /* an honest-looking completion at the peer's position */
		unsigned char *p = desc + 16 * ps->pos;
		uint16_t fl = ld16_acq(p + 14), id;
		unsigned n = 1;
		uint16_t want = (uint16_t)(ps->wrap ? VR_DESC_F_AVAIL : VR_DESC_F_USED);

		if ((fl & (VR_DESC_F_AVAIL | VR_DESC_F_USED)) != want)
			break;
		id = ld16(p + 12);
		/* Length of the chain from its NEXT flags (bounded). */
		while ((fl & VR_DESC_F_NEXT) && n < num) {
			fl = ld16(desc + 16 * ((ps->pos + n) % num) + 14);
			n++;
		}
		st16(p + 12, id);
		st32(p + 8, (uint32_t)((r >> 8) % 600));
		st16_rel(p + 14, (uint16_t)((ps->wrap ? VR_DESC_F_AVAIL | VR_DESC_F_USED : 0) |
					    ((r >> 20) & 1 ? VR_DESC_F_WRITE : 0)));
		ps->pos = (uint16_t)(ps->pos + n);
		if (ps->pos >= num) {
			ps->pos = (uint16_t)(ps->pos - num);
			ps->wrap = !ps->wrap;
		}
		break;
	}
	case 10: { /* a used descriptor with any id and length, either wrap */
		unsigned char *p = desc + 16 * ((r >> 8) % num);

		st16(p + 12, (uint16_t)((r >> 16) % (num + 2)));
		st32(p + 8, (uint32_t)(r >> 32) >> ((r >> 4) % 32));
		st16_rel(p + 14, (uint16_t)(((r >> 24) & 1 ? VR_DESC_F_AVAIL | VR_DESC_F_USED : 0) |
					    ((r >> 25) & 1 ? VR_DESC_F_WRITE : 0)));
		break;
	}
	case 11:
		st16(desc + 16 * ((r >> 8) % num) + 14, (uint16_t)(r >> 32));
		break;
	case 12:
		ps->pos = (uint16_t)((r >> 8) % num);
		ps->wrap = (r >> 20) & 1;
		break;
	case 13:
		st32(desc + 16 * ((r >> 8) % num) + 8, (uint32_t)(r >> 32));
		break;
	case 14:
	case 15: /* device event area */
		st16(ring(h, HP_DEVICE_EV_OFF) + 2 * ((r >> 8) % 2), (uint16_t)(r >> 32));
		break;
	}
}

static void *peer_main(void *arg)
{
	struct hp *h = arg;
	uint64_t s = 0x9e3779b97f4a7c15ull ^ (uint64_t)h->kind;
	struct peer_state ps = {0, true, 0};
	unsigned long n = 0;

	while (!__atomic_load_n(&h->stop, __ATOMIC_SEQ_CST)) {
		if (__atomic_load_n(&h->pause_req, __ATOMIC_SEQ_CST)) {
			unsigned k = 0;

			__atomic_store_n(&h->paused, 1, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&h->pause_req, __ATOMIC_SEQ_CST) &&
			       !__atomic_load_n(&h->stop, __ATOMIC_SEQ_CST))
				relax(&k);
			/* The ring was reset: start over with it. */
			ps.pos = 0;
			ps.wrap = true;
			ps.taken = 0;
			__atomic_store_n(&h->paused, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		/* Calm phases (plausible writes only, at a pace the other side
		 * can follow, so that it gets deep into valid traffic) alternate
		 * with storms of everything at full speed. */
		bool calm = (n++ >> 12) % 4 != 3;

		switch (h->kind) {
		case HP_SPLIT_DEV:
			peer_split_driver(h, &s, &ps, calm);
			break;
		case HP_PACKED_DEV:
			peer_packed_driver(h, &s, &ps, calm);
			break;
		case HP_SPLIT_DRV:
			peer_split_device(h, &s, &ps, calm);
			break;
		case HP_PACKED_DRV:
			/* Gate (see the file comment): stay off while the
			 * driver writes new chains. */
			__atomic_store_n(&h->writing, 1, __ATOMIC_SEQ_CST);
			if (!__atomic_load_n(&h->adding, __ATOMIC_SEQ_CST))
				peer_packed_device(h, &s, &ps, calm);
			__atomic_store_n(&h->writing, 0, __ATOMIC_SEQ_CST);
			break;
		}
		h->peer_writes++;
		if (calm) {
			uint64_t r = rnd(&s);
			unsigned spin = (unsigned)(r % 2048);

			while (spin-- > 0 && !__atomic_load_n(&h->stop, __ATOMIC_RELAXED))
				;
			if ((r >> 32) % 256 == 0)
				sched_yield();
		}
	}
	return NULL;
}

/* Stop the peer (it acknowledges), so the ring can be reset. */
static void peer_pause(struct hp *h)
{
	unsigned k = 0;

	__atomic_store_n(&h->pause_req, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&h->paused, __ATOMIC_SEQ_CST))
		relax(&k);
}

static void peer_resume(struct hp *h)
{
	unsigned k = 0;

	__atomic_store_n(&h->pause_req, 0, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&h->paused, __ATOMIC_SEQ_CST))
		relax(&k);
}

/* ---- The side under attack ----------------------------------------------------- */

struct stats {
	unsigned long calls, chains, broken, resets, e2big;
	int first_err[64];
};

static void note_err(struct stats *st, int rc)
{
	if (rc < 0 && -rc < 64)
		st->first_err[-rc]++;
}

static bool pop_rc_ok(int rc, bool packed)
{
	switch (rc) {
	case 0: case VR_EAGAIN: case VR_E2BIG: case VR_EBROKEN:
	case VR_EINFLIGHT: case VR_ELOOP: case VR_ENESTED: case VR_EINDIRECT:
	case VR_EOVERFLOW: case VR_EFAULT: case VR_EORDER: case VR_EZEROLEN:
		return true;
	case VR_EAVAILIDX: case VR_EHEAD: case VR_ENEXT:
		return !packed;
	case VR_EBUFID: case VR_EFLAGS:
		return packed;
	default:
		return false;
	}
}

/* Every segment inside the pool window, and real memory (read both ends
 * with byte atomics: the peer may be writing an indirect table there). */
static void check_chain(struct hp *h, const struct vr_chain *c)
{
	unsigned n = (unsigned)c->n_out + c->n_in, i;
	uint64_t out = 0, in = 0;

	assert_true(n >= 1 && n <= c->iov_cap);
	assert_true(c->ndesc >= 1 && c->ndesc <= h->num);
	for (i = 0; i < n; i++) {
		const unsigned char *b = c->iov[i].base;
		uint32_t len = c->iov[i].len;

		assert_true(len > 0);
		assert_true(b >= h->pool && b < h->pool + HP_POOL_BYTES);
		assert_true(len <= (size_t)(h->pool + HP_POOL_BYTES - b));
		(void)__atomic_load_n(b, __ATOMIC_RELAXED);
		(void)__atomic_load_n(b + len - 1, __ATOMIC_RELAXED);
		if (i < c->n_out)
			out += len;
		else
			in += len;
	}
	assert_true(out == c->out_bytes && in == c->in_bytes);
}

static void setup_region(struct hp *h, enum hp_kind kind, uint32_t num)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->num = num;
	h->region = aligned_alloc(4096, HP_RING_BYTES + HP_POOL_BYTES);
	assert_non_null(h->region);
	memset(h->region, 0, HP_RING_BYTES + HP_POOL_BYTES);
	h->pool = h->region + HP_RING_BYTES;
}

static struct vr_queue_cfg make_cfg(struct hp *h, unsigned round, bool packed)
{
	struct vr_queue_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.num = h->num;
	cfg.features = VR_FEATURE(VR_F_VERSION_1) | feature_sets[round % 8] |
		       (packed ? VR_FEATURE(VR_F_RING_PACKED) : 0);
	cfg.flags = round % 16 >= 8 ? VR_QF_CLAMP_USED_LEN : 0;
	cfg.mem = vr_mem_window(h->pool, HP_POOL_BUS, HP_POOL_BYTES);
	return cfg;
}

static void report(const char *what, struct hp *h, const struct stats *st)
{
	int i;

	printf("[ hostile ] %-12s num %2u: %lu calls, %lu chains, %lu broken, "
	       "%lu resets, %lu E2BIG, %lu peer writes; errors:",
	       what, h->num, st->calls, st->chains, st->broken, st->resets,
	       st->e2big, h->peer_writes);
	for (i = 1; i < 64; i++)
		if (st->first_err[i])
			printf(" %s=%d", vr_errname(-i), st->first_err[i]);
	printf("\n");
}

/* Device side (split or packed) against a hostile driver. */
static void run_device(enum hp_kind kind, uint32_t num)
{
	static uint64_t state[4 * HP_MAX_NUM];
	bool packed = kind == HP_PACKED_DEV;
	struct hp h;
	struct stats st;
	struct vr_split_dev sq;
	struct vr_packed_dev pq;
	struct vr_iov iov[2 * HP_MAX_NUM];
	uint16_t fifo[HP_MAX_NUM];
	unsigned head = 0, count = 0, round = 0;
	uint64_t s = 12345;
	pthread_t peer;
	double end;
	bool in_order;

	setup_region(&h, kind, num);
	memset(&st, 0, sizeof(st));
	{
		struct vr_queue_cfg cfg = make_cfg(&h, round, packed);
		in_order = (cfg.features & VR_FEATURE(VR_F_IN_ORDER)) != 0;
		if (packed) {
			struct vr_packed_areas a = {ring(&h, HP_DESC_OFF), ring(&h, HP_DRIVER_OFF),
						    ring(&h, HP_DEVICE_EV_OFF)};
			assert_int_equal(vr_packed_dev_init(&pq, &cfg, &a, state, sizeof(state)), 0);
		} else {
			struct vr_split_areas a = {ring(&h, HP_DESC_OFF), ring(&h, HP_DRIVER_OFF),
						   ring(&h, HP_USED_OFF)};
			assert_int_equal(vr_split_dev_init(&sq, &cfg, &a, state, sizeof(state)), 0);
		}
	}
	assert_int_equal(pthread_create(&peer, NULL, peer_main, &h), 0);
	end = now_s() + hostile_seconds();
	for (;;) {
		struct vr_chain c;
		int rc, brk;

		if ((st.calls & 255) == 0 && now_s() > end)
			break;
		st.calls++;
		memset(&c, 0, sizeof(c));
		c.iov = iov;
		c.iov_cap = (uint16_t)(rnd(&s) % 8 == 0 ? 1 : 2 * HP_MAX_NUM);
		rc = packed ? vr_packed_dev_pop(&pq, &c) : vr_split_dev_pop(&sq, &c);
		if (!pop_rc_ok(rc, packed))
			fail_msg("pop returned %d (%s)", rc, vr_errname(rc));
		if (rc == 0) {
			check_chain(&h, &c);
			assert_true(c.id < num);
			assert_true(count < num);
			fifo[(head + count++) % HP_MAX_NUM] = c.id;
			st.chains++;
		} else if (rc == VR_E2BIG) {
			st.e2big++;
		}
		/* Return the oldest chain(s), then publish. */
		while (count > 0 && (rnd(&s) % 4 != 0 || count == num)) {
			uint16_t id = fifo[head % HP_MAX_NUM];
			int crc;

			if (in_order && count > 1 && rnd(&s) % 4 == 0) {
				unsigned k = (unsigned)(rnd(&s) % count) + 1;

				crc = packed ? vr_packed_dev_complete_in_order(&pq, k, 7)
					     : vr_split_dev_complete_in_order(&sq, k, 7);
				if (crc == 0) {
					head += k;
					count -= k;
				}
			} else {
				crc = packed ? vr_packed_dev_complete(&pq, id, 1)
					     : vr_split_dev_complete(&sq, id, 1);
				if (crc == 0) {
					head++;
					count--;
				}
			}
			assert_true(crc == 0 || crc == VR_EBROKEN);
			if (crc)
				break;
		}
		rc = packed ? vr_packed_dev_notify_prepare(&pq) : vr_split_dev_notify_prepare(&sq);
		assert_true(rc == 0 || rc == 1 || rc == VR_EBROKEN);
		if (rnd(&s) % 64 == 0) {
			rc = packed ? vr_packed_dev_arm_avail_notify(&pq)
				    : vr_split_dev_arm_avail_notify(&sq);
			assert_true(rc >= 0 || rc == VR_EBROKEN || rc == VR_EAVAILIDX);
			if (packed)
				vr_packed_dev_suppress_avail_notify(&pq);
			else
				vr_split_dev_suppress_avail_notify(&sq);
		}
		assert_int_equal(packed ? vr_packed_dev_in_flight(&pq)
					: vr_split_dev_in_flight(&sq), count);
		brk = packed ? vr_packed_dev_broken(&pq) : vr_split_dev_broken(&sq);
		if (brk || rnd(&s) % 4096 == 0) {
			if (brk) {
				assert_true(vr_is_protocol_error(brk));
				note_err(&st, brk);
				st.broken++;
				assert_int_equal(packed ? vr_packed_dev_pop(&pq, &c)
							: vr_split_dev_pop(&sq, &c), VR_EBROKEN);
			}
			/* Reset into the next feature combination. */
			peer_pause(&h);
			round++;
			memset(h.region, 0, HP_RING_BYTES);
			{
				struct vr_queue_cfg cfg = make_cfg(&h, round, packed);
				in_order = (cfg.features & VR_FEATURE(VR_F_IN_ORDER)) != 0;
				if (packed) {
					struct vr_packed_areas a = {ring(&h, HP_DESC_OFF),
								    ring(&h, HP_DRIVER_OFF),
								    ring(&h, HP_DEVICE_EV_OFF)};
					assert_int_equal(vr_packed_dev_init(&pq, &cfg, &a, state,
									    sizeof(state)), 0);
				} else {
					struct vr_split_areas a = {ring(&h, HP_DESC_OFF),
								   ring(&h, HP_DRIVER_OFF),
								   ring(&h, HP_USED_OFF)};
					assert_int_equal(vr_split_dev_init(&sq, &cfg, &a, state,
									   sizeof(state)), 0);
				}
			}
			head = count = 0;
			st.resets++;
			peer_resume(&h);
		}
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(peer, NULL);
	report(packed ? "packed dev" : "split dev", &h, &st);
	/* The harness must have reached valid traffic. */
	assert_true(st.chains > 0);
	free(h.region);
}

/* Driver side (split or packed) against a hostile device. */
static void run_driver(enum hp_kind kind, uint32_t num)
{
	static uint64_t state[8 * HP_MAX_NUM];
	bool packed = kind == HP_PACKED_DRV;
	struct hp h;
	struct stats st;
	struct vr_split_drv sq;
	struct vr_packed_drv pq;
	bool in_flight[HP_MAX_NUM];
	void *cookie[HP_MAX_NUM];
	uint32_t in_len[HP_MAX_NUM];
	uint16_t fifo[HP_MAX_NUM];
	unsigned head = 0, count = 0, round = 0;
	uintptr_t next_cookie = 1;
	uint64_t s = 777;
	pthread_t peer;
	double end = 0;
	bool in_order = false, indirect = false;

	setup_region(&h, kind, num);
	memset(&st, 0, sizeof(st));
	memset(in_flight, 0, sizeof(in_flight));
	for (;;) { /* (re)initialise; the first pass before the peer starts */
		struct vr_queue_cfg cfg = make_cfg(&h, round, packed);

		in_order = (cfg.features & VR_FEATURE(VR_F_IN_ORDER)) != 0;
		indirect = (cfg.features & VR_FEATURE(VR_F_INDIRECT_DESC)) != 0;
		if (packed) {
			struct vr_packed_areas a = {ring(&h, HP_DESC_OFF), ring(&h, HP_DRIVER_OFF),
						    ring(&h, HP_DEVICE_EV_OFF)};
			assert_int_equal(vr_packed_drv_init(&pq, &cfg, &a, state, sizeof(state)), 0);
		} else {
			struct vr_split_areas a = {ring(&h, HP_DESC_OFF), ring(&h, HP_DRIVER_OFF),
						   ring(&h, HP_USED_OFF)};
			assert_int_equal(vr_split_drv_init(&sq, &cfg, &a, state, sizeof(state)), 0);
		}
		memset(in_flight, 0, sizeof(in_flight));
		head = count = 0;
		if (round == 0) {
			assert_int_equal(pthread_create(&peer, NULL, peer_main, &h), 0);
			end = now_s() + hostile_seconds();
		} else {
			st.resets++;
			peer_resume(&h);
		}

		for (;;) {
			struct vr_used_buf u[4];
			int rc, brk, k;

			/* Time is up once something was collected: on a loaded
			 * machine the peer thread may get little CPU, so up to
			 * ten times longer until the first valid used entry. */
			if ((st.calls & 255) == 0 && now_s() > end &&
			    (st.chains > 0 || now_s() > end + 9 * hostile_seconds()))
				goto done;
			st.calls++;
			/* Add a chain or two. */
			if (rnd(&s) % 2 == 0) {
				struct vr_seg seg[3];
				unsigned n = (unsigned)(rnd(&s) % 3) + 1, n_out = (unsigned)(rnd(&s) % (n + 1)), i;
				bool ind = indirect && rnd(&s) % 3 == 0;
				void *ck = (void *)next_cookie++;
				uint32_t inl = 0;
				int id;

				for (i = 0; i < n; i++) {
					seg[i].addr = HP_POOL_BUS + HP_TABLE_BYTES + 512u * (rnd(&s) % 100);
					seg[i].len = (uint32_t)(rnd(&s) % 512) + 1;
					if (i >= n_out)
						inl += seg[i].len;
				}
				if (packed) {
					unsigned w = 0;

					__atomic_store_n(&h.adding, 1, __ATOMIC_SEQ_CST);
					while (__atomic_load_n(&h.writing, __ATOMIC_SEQ_CST))
						relax(&w);
				}
				if (ind) {
					/* A table per buffer id would need the id
					 * first: use one per call, in the pool
					 * (the peer never writes there here). */
					unsigned slot = (unsigned)(next_cookie % (HP_TABLE_BYTES / 64u));
					void *t = h.pool + 64u * slot;
					uint64_t ta = HP_POOL_BUS + 64u * slot;

					id = packed ? vr_packed_drv_add_indirect(&pq, seg, n_out, n - n_out, t, ta, ck)
						    : vr_split_drv_add_indirect(&sq, seg, n_out, n - n_out, t, ta, ck);
				} else {
					id = packed ? vr_packed_drv_add(&pq, seg, n_out, n - n_out, ck)
						    : vr_split_drv_add(&sq, seg, n_out, n - n_out, ck);
				}
				if (packed)
					vr_packed_drv_publish(&pq);
				else
					vr_split_drv_publish(&sq);
				if (packed)
					__atomic_store_n(&h.adding, 0, __ATOMIC_SEQ_CST);
				assert_true(id >= 0 || id == VR_ENOSPC || id == VR_EBROKEN ||
					    (id == VR_EINVAL && n > num));
				if (id >= 0) {
					assert_true((uint32_t)id < num);
					assert_false(in_flight[id]);
					in_flight[id] = true;
					cookie[id] = ck;
					in_len[id] = inl;
					fifo[(head + count++) % HP_MAX_NUM] = (uint16_t)id;
				}
			}
			rc = packed ? vr_packed_drv_need_notify(&pq) : vr_split_drv_need_notify(&sq);
			assert_true(rc == 0 || rc == 1 || rc == VR_EBROKEN);
			/* Collect whatever the device says is used. */
			rc = packed ? vr_packed_drv_get_used_burst(&pq, u, 4)
				    : vr_split_drv_get_used_burst(&sq, u, 4);
			if (rc < 0) {
				if (!(rc == VR_EAGAIN || rc == VR_EBROKEN || rc == VR_EUSEDIDX ||
				      rc == VR_EUSEDID || rc == VR_EUSEDLEN))
					fail_msg("get_used returned %d (%s)", rc, vr_errname(rc));
			}
			for (k = 0; k < rc; k++) {
				unsigned j, pos;

				assert_true(u[k].id < num);
				assert_true(in_flight[u[k].id]);
				assert_ptr_equal(u[k].cookie, cookie[u[k].id]);
				assert_true(u[k].len <= in_len[u[k].id]);
				if (in_order)
					assert_int_equal(u[k].id, fifo[head % HP_MAX_NUM]);
				for (pos = 0; pos < count; pos++)
					if (fifo[(head + pos) % HP_MAX_NUM] == u[k].id)
						break;
				assert_true(pos < count);
				for (j = pos; j + 1 < count; j++)
					fifo[(head + j) % HP_MAX_NUM] = fifo[(head + j + 1) % HP_MAX_NUM];
				count--;
				in_flight[u[k].id] = false;
				st.chains++;
			}
			if (rnd(&s) % 64 == 0) {
				rc = packed ? vr_packed_drv_arm_used_notify(&pq)
					    : vr_split_drv_arm_used_notify(&sq);
				assert_true(rc == 0 || rc == 1 || rc == VR_EBROKEN);
				if (packed)
					vr_packed_drv_suppress_used_notify(&pq);
				else
					vr_split_drv_suppress_used_notify(&sq);
			}
			assert_int_equal(packed ? vr_packed_drv_in_flight(&pq)
						: vr_split_drv_in_flight(&sq), count);
			brk = packed ? vr_packed_drv_broken(&pq) : vr_split_drv_broken(&sq);
			if (brk || rnd(&s) % 4096 == 0) {
				if (brk) {
					assert_true(vr_is_protocol_error(brk));
					note_err(&st, brk);
					st.broken++;
					assert_int_equal(packed ? vr_packed_drv_get_used(&pq, u)
								: vr_split_drv_get_used(&sq, u),
							 VR_EBROKEN);
				}
				peer_pause(&h);
				round++;
				memset(h.region, 0, HP_RING_BYTES);
				break; /* re-init with the next features */
			}
		}
	}
done:
	__atomic_store_n(&h.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(peer, NULL);
	report(packed ? "packed drv" : "split drv", &h, &st);
	assert_true(st.chains > 0);
	free(h.region);
}

static void test_split_device(void **state)
{
	(void)state;
	run_device(HP_SPLIT_DEV, 16);
}

static void test_packed_device(void **state)
{
	(void)state;
	run_device(HP_PACKED_DEV, 13);
}

static void test_split_driver(void **state)
{
	(void)state;
	run_driver(HP_SPLIT_DRV, 16);
}

static void test_packed_driver(void **state)
{
	(void)state;
	run_driver(HP_PACKED_DRV, 13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_device),
		cmocka_unit_test(test_packed_device),
		cmocka_unit_test(test_split_driver),
		cmocka_unit_test(test_packed_driver),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
