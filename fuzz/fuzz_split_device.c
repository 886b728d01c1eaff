/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_split_device: the fuzzer is a hostile driver. Its bytes become the
 * descriptor table, available ring, indirect tables and buffers of a split
 * ring (see fuzz_common.h for the layout), and a sequence of device-side
 * calls runs over them: pop, pop_burst, pop_bufs, complete (in any order, and
 * in-order batches), publish, notification control, reset, with the
 * driver's memory rewritten between calls.
 *
 * Invariants: only documented return codes; every segment inside the
 * allowed window, readable before writable, sums right; the chain no
 * longer than the queue size allows; the device never writes the
 * descriptor table or the available ring; a protocol error breaks the
 * queue with that code and every later call answers VR_EBROKEN; the
 * in-flight count matches a model of the chains taken.
 */
#include <stdbool.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct model {
	bool in_flight[FZ_MAX_NUM];
	uint16_t fifo[FZ_MAX_NUM]; /* taken heads, oldest first */
	unsigned head, count;
};

static void model_take(struct model *m, uint32_t num, uint16_t id)
{
	FZ_CHECK(id < num);
	FZ_CHECK(!m->in_flight[id]); /* a head is never handed out twice */
	FZ_CHECK(m->count < num);
	m->in_flight[id] = true;
	m->fifo[(m->head + m->count) % FZ_MAX_NUM] = id;
	m->count++;
}

/* Remove @id from the FIFO (out-of-order completion). */
static void model_drop(struct model *m, uint16_t id)
{
	unsigned i, j;

	for (i = 0; i < m->count; i++)
		if (m->fifo[(m->head + i) % FZ_MAX_NUM] == id)
			break;
	FZ_CHECK(i < m->count);
	for (j = i; j + 1 < m->count; j++)
		m->fifo[(m->head + j) % FZ_MAX_NUM] =
			m->fifo[(m->head + j + 1) % FZ_MAX_NUM];
	m->count--;
	m->in_flight[id] = false;
}

/* The chain at avail entry @last_avail, walked independently. */
static void ref_walk(const struct vr_split_dev *q, uint16_t last_avail,
		     struct fz_ref *r)
{
	const uint16_t *ring = vr_avail_ring(q->avail);
	const unsigned char *table = (const unsigned char *)q->desc;
	uint32_t limit = q->num, count = 0;
	uint16_t idx = ring[last_avail & q->mask];
	bool ring_table = true;

	memset(r, 0, sizeof(*r));
	r->zero_ok = (q->flags & VR_QF_ZERO_LEN_OK) != 0;
	r->id = idx;
	for (;;) {
		struct vr_desc d;

		FZ_CHECK(++count <= limit && idx < limit);
		fz_load_desc(table + 16 * (size_t)idx, &d);
		if (ring_table)
			r->ndesc++;
		if (d.flags & VR_DESC_F_INDIRECT) {
			FZ_CHECK(ring_table);
			table = (const unsigned char *)vr_mem_translate(
				&q->mem, d.addr, d.len, VR_ACCESS_READ);
			FZ_CHECK(table != NULL);
			limit = d.len / 16;
			count = 0;
			idx = 0;
			ring_table = false;
			continue;
		}
		fz_ref_seg(r, &q->mem, d.addr, d.len, (d.flags & VR_DESC_F_WRITE) != 0);
		if (!(d.flags & VR_DESC_F_NEXT))
			break;
		idx = d.next;
	}
}

static void check_pop_rc(int rc)
{
	FZ_CHECK_RC(rc == 0 || rc == VR_EAGAIN || rc == VR_E2BIG ||
			    rc == VR_EBROKEN || rc == VR_EAVAILIDX ||
			    rc == VR_EHEAD || rc == VR_EINFLIGHT ||
			    rc == VR_ENEXT || rc == VR_ELOOP ||
			    rc == VR_ENESTED || rc == VR_EINDIRECT ||
			    rc == VR_EOVERFLOW || rc == VR_EFAULT ||
			    rc == VR_EORDER || rc == VR_EZEROLEN,
		    rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vr_iov iov[256];
	static struct vr_chain chains[4];
	static struct vr_iov burst_iov[4][8];
	static unsigned char driver_copy[FZ_USED_OFF];
	static uint16_t state[2 * FZ_MAX_NUM];
	unsigned char *arena = fz_arena();
	const unsigned char *lo, *hi;
	struct fz_hdr h;
	struct fz_op ops[FZ_MAX_OPS];
	const uint8_t *mem;
	size_t mem_len;
	unsigned nops, i;
	struct vr_queue_cfg cfg;
	struct vr_split_areas areas;
	struct vr_split_dev q;
	struct model m;
	static struct fz_ref ref;
	uint16_t last_avail;
	uint32_t num;
	int rc;

	if (!fz_parse(data, size, &h, ops, &nops, &mem, &mem_len))
		return 0;
	num = 1u << (h.size % 7); /* 1..64 */
	memset(arena, 0, FZ_ARENA);
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = fz_features(&h, 0);
	cfg.flags = fz_qflags(&h);
	cfg.mem = fz_mem(&h, arena);
	areas.desc = arena + FZ_DESC_OFF;
	areas.avail = arena + FZ_DRIVER_OFF;
	areas.used = arena + FZ_USED_OFF;
	rc = vr_split_dev_init(&q, &cfg, &areas, state, sizeof(state));
	FZ_CHECK_RC(rc == 0, rc);
	memcpy(arena, mem, mem_len < FZ_ARENA ? mem_len : FZ_ARENA);
	fz_window(&h, arena, &lo, &hi);
	memset(&m, 0, sizeof(m));

	for (i = 0; i < nops; i++) {
		const struct fz_op *op = &ops[i];
		int was_broken = vr_split_dev_broken(&q);
		bool mutates = false;
		struct vr_chain c;

		memcpy(driver_copy, arena, sizeof(driver_copy));
		switch (op->code % 12) {
		case 0: /* pop */
			memset(&c, 0, sizeof(c));
			c.iov = iov;
			c.iov_cap = (uint16_t)(h.iov_cap % 130);
			last_avail = q.last_avail;
			rc = vr_split_dev_pop(&q, &c);
			check_pop_rc(rc);
			if (rc == 0) {
				fz_check_chain(&c, num, lo, hi, FZ_COMPLETE(&h));
				ref_walk(&q, last_avail, &ref);
				fz_ref_compare(&ref, &c);
				FZ_CHECK(c.id < num);
				model_take(&m, num, c.id);
			} else if (rc == VR_E2BIG) {
				fz_check_chain(&c, num, lo, hi, 0);
				FZ_CHECK((unsigned)c.n_out + c.n_in > c.iov_cap);
				FZ_CHECK(!vr_split_dev_broken(&q));
			}
			break;
		case 1: { /* pop_burst, or pop_bufs */
			unsigned max = (unsigned)(op->a % 4) + 1, k;

			if (op->b & 1) {
				struct vr_buf b[4];

				rc = vr_split_dev_pop_bufs(&q, b, max);
				check_pop_rc(rc > 0 ? 0 : rc);
				FZ_CHECK(rc <= (int)max);
				for (k = 0; rc > 0 && k < (unsigned)rc; k++) {
					const unsigned char *p = (const unsigned char *)b[k].base;

					FZ_CHECK(b[k].writable <= 1);
					if (b[k].len == 0)
						FZ_CHECK(p == NULL && b[k].writable == 0);
					else
						FZ_CHECK(p >= lo && p <= hi &&
							 (size_t)(hi - p) >= b[k].len);
					model_take(&m, num, b[k].id);
				}
				break;
			}
			for (k = 0; k < 4; k++) {
				memset(&chains[k], 0, sizeof(chains[k]));
				chains[k].iov = burst_iov[k];
				chains[k].iov_cap = 8;
			}
			rc = vr_split_dev_pop_burst(&q, chains, max);
			check_pop_rc(rc > 0 ? 0 : rc);
			for (k = 0; rc > 0 && k < (unsigned)rc; k++) {
				fz_check_chain(&chains[k], num, lo, hi, FZ_COMPLETE(&h));
				model_take(&m, num, chains[k].id);
			}
			FZ_CHECK(rc <= (int)max);
			break;
		}
		case 2: { /* complete a chain in flight (any one) */
			uint16_t id;

			if (m.count == 0)
				break;
			id = m.fifo[(m.head + op->a % m.count) % FZ_MAX_NUM];
			rc = vr_split_dev_complete(&q, id, (uint32_t)op->b << 8 | op->c);
			if (was_broken) {
				FZ_CHECK_RC(rc == VR_EBROKEN, rc);
			} else if ((h.flags & FZ_F_IN_ORDER) &&
				   id != m.fifo[m.head % FZ_MAX_NUM]) {
				FZ_CHECK_RC(rc == VR_ESTATE, rc);
			} else {
				FZ_CHECK_RC(rc == 0, rc);
				model_drop(&m, id);
			}
			break;
		}
		case 3: { /* in-order batch */
			unsigned count = op->a % (m.count + 2);

			rc = vr_split_dev_complete_in_order(&q, count, op->b);
			if (was_broken) {
				FZ_CHECK_RC(rc == VR_EBROKEN, rc);
			} else if (!(h.flags & FZ_F_IN_ORDER)) {
				FZ_CHECK_RC(rc == VR_ENOTSUP, rc);
			} else if (count == 0 || count > m.count) {
				FZ_CHECK_RC(rc == VR_EINVAL, rc);
			} else {
				FZ_CHECK_RC(rc == 0, rc);
				while (count--)
					model_drop(&m, m.fifo[m.head % FZ_MAX_NUM]);
			}
			break;
		}
		case 4: /* publish and ask about notifying */
			rc = vr_split_dev_notify_prepare(&q);
			FZ_CHECK_RC(was_broken ? rc == VR_EBROKEN : (rc == 0 || rc == 1), rc);
			break;
		case 5: /* how many are available */
			rc = vr_split_dev_avail(&q);
			FZ_CHECK_RC(rc == VR_EBROKEN || rc == VR_EAVAILIDX ||
					    (rc >= 0 && (uint32_t)rc <= num),
				    rc);
			break;
		case 6:
			rc = vr_split_dev_arm_avail_notify(&q);
			FZ_CHECK_RC(rc == VR_EBROKEN || rc == VR_EAVAILIDX ||
					    (rc >= 0 && (uint32_t)rc <= num),
				    rc);
			break;
		case 7:
			vr_split_dev_suppress_avail_notify(&q);
			break;
		case 8: /* reset: the device forgets everything */
			if (op->a & 1)
				break;
			vr_split_dev_reset(&q);
			memset(&m, 0, sizeof(m));
			mutates = true;
			break;
		case 9: /* the driver rewrites a byte of its memory */
			arena[((unsigned)op->a << 8 | op->b) % FZ_ARENA] = op->c;
			mutates = true;
			break;
		case 10: { /* the driver moves avail->idx */
			uint16_t *idx = (uint16_t *)(void *)(arena + FZ_DRIVER_OFF + 2);

			*idx = (uint16_t)(*idx + (op->a | (op->b & 0x80 ? 0xff00 : 0)));
			mutates = true;
			break;
		}
		case 11: /* complete an id the device may not hold */
			rc = vr_split_dev_complete(&q, (uint16_t)(op->a | op->b << 8), 0);
			if (was_broken)
				FZ_CHECK_RC(rc == VR_EBROKEN, rc);
			else if ((uint16_t)(op->a | op->b << 8) >= num ||
				 !m.in_flight[op->a | op->b << 8])
				FZ_CHECK_RC(rc == VR_ESTATE, rc);
			else if (rc == 0)
				model_drop(&m, (uint16_t)(op->a | op->b << 8));
			else
				FZ_CHECK_RC(rc == VR_ESTATE && (h.flags & FZ_F_IN_ORDER), rc);
			break;
		}
		/* The device writes only its used ring: never the descriptor
		 * table or the available ring. */
		if (!mutates)
			FZ_CHECK(memcmp(driver_copy, arena, sizeof(driver_copy)) == 0);
		/* Broken stays broken (until reset), with the first code. */
		if (was_broken && !mutates)
			FZ_CHECK(vr_split_dev_broken(&q) == was_broken);
		FZ_CHECK(vr_split_dev_broken(&q) == 0 ||
			 fz_is_proto(vr_split_dev_broken(&q)));
		if (vr_split_dev_broken(&q)) {
			memset(&c, 0, sizeof(c));
			c.iov = iov;
			c.iov_cap = 4;
			FZ_CHECK(vr_split_dev_pop(&q, &c) == VR_EBROKEN);
			FZ_CHECK(vr_split_dev_avail(&q) == VR_EBROKEN);
		}
		FZ_CHECK(vr_split_dev_in_flight(&q) == m.count);
	}
	return 0;
}
