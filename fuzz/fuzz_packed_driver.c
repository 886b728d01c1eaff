/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_packed_driver: the fuzzer is a hostile device. The driver sets up
 * chains in flight with the real API (direct and indirect, header byte
 * arg[0] says how many), then the first arg[3] % 8 * 64 bytes of the
 * fuzzer's memory overwrite the descriptor ring, its next 4 bytes the
 * device event area; the operations mix driver calls (get_used,
 * get_used_burst, add, add_bufs, kick_prepare, arm/suppress, reset) with
 * device writes: a used descriptor (id, len, flags in either wrap), a flags
 * word, a byte anywhere in the ring, or an honest completion.
 *
 * Invariants: only documented return codes; every chain returned was in
 * flight, once, with its cookie and len <= its writable bytes, in add order
 * with IN_ORDER; the driver never writes the device event area; its
 * in-flight and free-descriptor counts match the model; broken stays
 * broken.
 */
#include "fuzz_driver_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int add_chain(struct vr_packed_drv *q, struct drv_model *m, uint32_t num,
		     unsigned char *arena, uint8_t a, uint8_t b, bool indirect)
{
	struct vr_seg seg[4];
	unsigned n_out, n_in, n = drv_segs(a, b, seg, &n_out, &n_in);
	unsigned nseg = n;
	void *cookie = (void *)(++m->next_cookie);
	int was_broken = vr_packed_drv_broken(q);
	unsigned free_before = vr_packed_drv_free(q);
	int rc;

	if (indirect) {
		unsigned slot = (unsigned)(m->next_cookie % 64u);
		uint64_t off = DRV_TABLE_OFF + 64u * slot;

		rc = vr_packed_drv_add_indirect(q, seg, n_out, n_in,
					       (struct vr_packed_desc *)(void *)(arena + off),
					       FZ_BUS + off, cookie);
		n = 1;
	} else {
		rc = vr_packed_drv_add(q, seg, n_out, n_in, cookie);
	}
	if (was_broken) {
		FZ_CHECK_RC(rc == VR_EBROKEN, rc);
	} else if (nseg > num) {
		FZ_CHECK_RC(rc == VR_EINVAL, rc); /* longer than the queue */
	} else if (rc == VR_ENOSPC) {
		FZ_CHECK(n > free_before);
	} else {
		FZ_CHECK_RC(rc >= 0, rc);
		drv_model_add(m, num, rc, cookie, drv_in_len(seg, n_out, n_in), n);
	}
	return rc;
}

/* add_bufs: 1..3 single-segment messages, all readable or all writable. */
static void add_bufs(struct vr_packed_drv *q, struct drv_model *m, uint32_t num,
		     uint8_t a, uint8_t b)
{
	struct vr_add_buf bufs[3];
	uint16_t ids[3];
	unsigned n = 1u + a % 3u, j;
	bool writable = (b & 1) != 0;
	int was_broken = vr_packed_drv_broken(q);
	unsigned free_before = vr_packed_drv_free(q);
	int rc;

	for (j = 0; j < n; j++) {
		bufs[j].seg.addr = FZ_BUS + FZ_POOL_OFF + 256u * ((b + j * 7u) % 32u);
		bufs[j].seg.len = (uint32_t)((b * 37u + j * 101u) % 256u) + 1;
		bufs[j].cookie = (void *)(++m->next_cookie);
	}
	rc = vr_packed_drv_add_bufs(q, bufs, n, writable, ids);
	if (was_broken) {
		FZ_CHECK_RC(rc == VR_EBROKEN, rc);
		return;
	}
	if (rc == VR_ENOSPC) {
		FZ_CHECK(free_before == 0);
		return;
	}
	FZ_CHECK_RC(rc >= 1 && rc <= (int)n, rc);
	/* Short only for want of room: one descriptor each. */
	FZ_CHECK(rc == (int)n || (unsigned)rc == free_before);
	FZ_CHECK(vr_packed_drv_free(q) == free_before - (unsigned)rc);
	for (j = 0; j < (unsigned)rc; j++)
		drv_model_add(m, num, ids[j], bufs[j].cookie,
			      writable ? bufs[j].seg.len : 0, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char ev_copy[sizeof(struct vr_packed_event)];
	static uint64_t state[1024];
	unsigned char *arena = fz_arena();
	struct fz_hdr h;
	struct fz_op ops[FZ_MAX_OPS];
	const uint8_t *mem;
	size_t mem_len, ring_bytes, over;
	unsigned nops, i, k;
	struct vr_queue_cfg cfg;
	struct vr_packed_areas areas;
	struct vr_packed_drv q;
	struct drv_model m;
	struct vr_used_buf u[4];
	struct vr_packed_desc *ring;
	bool in_order, indirect;
	uint32_t num;
	int rc;

	if (!fz_parse(data, size, &h, ops, &nops, &mem, &mem_len))
		return 0;
	num = (uint32_t)(h.size % FZ_MAX_NUM) + 1; /* 1..64 */
	in_order = (h.flags & FZ_F_IN_ORDER) != 0;
	indirect = (h.flags & FZ_F_INDIRECT) != 0;
	memset(arena, 0, FZ_ARENA);
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = fz_features(&h, 0);
	cfg.flags = (h.flags & FZ_F_CLAMP) ? VR_QF_CLAMP_USED_LEN : 0;
	cfg.mem = fz_mem(&h, arena);
	areas.desc = arena + FZ_DESC_OFF;
	areas.driver_event = arena + FZ_DRIVER_OFF;
	areas.device_event = arena + FZ_DEVICE_EV_OFF;
	FZ_CHECK(vr_packed_drv_state_size(num) <= sizeof(state));
	rc = vr_packed_drv_init(&q, &cfg, &areas, state, sizeof(state));
	FZ_CHECK_RC(rc == 0, rc);
	memset(&m, 0, sizeof(m));
	ring_bytes = vr_packed_desc_bytes(num);
	ring = (struct vr_packed_desc *)(void *)(arena + FZ_DESC_OFF);

	/* Chains in flight, through the real driver API. */
	for (k = 0; k < h.arg[0] % (num + 1); k++)
		add_chain(&q, &m, num, arena, (uint8_t)(h.arg[1] + k * 5),
			  (uint8_t)(h.arg[2] + k * 3),
			  indirect && ((h.arg[3] >> (k % 8)) & 1));
	vr_packed_drv_publish(&q);
	/* The device's first words: part of the ring, then its event area. */
	over = (size_t)(h.arg[3] % 8) * 64u;
	if (over > ring_bytes)
		over = ring_bytes;
	if (over > mem_len)
		over = mem_len;
	memcpy(arena + FZ_DESC_OFF, mem, over);
	memcpy(arena + FZ_DEVICE_EV_OFF, mem + over,
	       mem_len - over < 4 ? mem_len - over : 4);

	for (i = 0; i < nops; i++) {
		const struct fz_op *op = &ops[i];
		int was_broken = vr_packed_drv_broken(&q);
		bool device_write = false;

		memcpy(ev_copy, arena + FZ_DEVICE_EV_OFF, sizeof(ev_copy));
		switch (op->code % 11) {
		case 0:
			rc = vr_packed_drv_get_used(&q, &u[0]);
			check_get_used_rc(rc);
			if (rc == 0)
				drv_model_collect(&m, num, &u[0], in_order);
			break;
		case 1: {
			unsigned max = (unsigned)(op->a % 4) + 1;

			rc = vr_packed_drv_get_used_burst(&q, u, max);
			check_get_used_rc(rc > 0 ? 0 : rc);
			FZ_CHECK(rc <= (int)max);
			for (k = 0; rc > 0 && k < (unsigned)rc; k++)
				drv_model_collect(&m, num, &u[k], in_order);
			break;
		}
		case 2:
			if (op->c & 2)
				add_bufs(&q, &m, num, op->a, op->b);
			else
				add_chain(&q, &m, num, arena, op->a, op->b,
					  indirect && (op->c & 1));
			break;
		case 3:
			rc = vr_packed_drv_kick_prepare(&q);
			FZ_CHECK_RC(was_broken ? rc == VR_EBROKEN : (rc == 0 || rc == 1), rc);
			break;
		case 4:
			rc = vr_packed_drv_arm_used_notify(&q);
			FZ_CHECK_RC(was_broken ? rc == VR_EBROKEN : (rc == 0 || rc == 1), rc);
			break;
		case 5:
			vr_packed_drv_suppress_used_notify(&q);
			break;
		case 6:
			if (op->a & 1)
				break;
			vr_packed_drv_reset(&q);
			drv_model_reset(&m);
			device_write = true; /* reset zeroes the ring */
			break;
		case 7: { /* the device writes a used descriptor */
			struct vr_packed_desc *d = &ring[op->a % num];
			bool wrap = (op->c & 1) ? q.used_wrap : !q.used_wrap;
			static const uint32_t mult[4] = {1, 16, 4096, 0x1000000};

			d->id = op->b;
			d->len = (uint32_t)(op->c >> 2) * mult[op->a >> 6];
			d->flags = (uint16_t)(vr__packed_used_bits(wrap) |
					      ((op->c & 2) ? VR_DESC_F_WRITE : 0));
			device_write = true;
			break;
		}
		case 8: /* the device writes a flags word */
			ring[op->a % num].flags = (uint16_t)(op->b | op->c << 8);
			device_write = true;
			break;
		case 9:
			if (op->a & 0x80)
				arena[FZ_DEVICE_EV_OFF + op->b % 4] = op->c;
			else
				arena[FZ_DESC_OFF + ((unsigned)op->a << 8 | op->b) % ring_bytes] = op->c;
			device_write = true;
			break;
		case 10: { /* an honest completion of a chain in flight */
			struct vr_packed_desc *d;
			uint16_t id;
			unsigned pick;
			uint32_t len;

			if (m.count == 0)
				break;
			pick = in_order ? op->a % (m.count < 4 ? m.count : 4)
					: op->a % m.count;
			id = m.fifo[(m.head + pick) % FZ_MAX_NUM];
			len = m.in_len[id] ? (op->b | (uint32_t)op->c << 8) % (m.in_len[id] + 1) : 0;
			d = &ring[q.next_used];
			d->id = id;
			d->len = len;
			d->flags = (uint16_t)(vr__packed_used_bits(q.used_wrap) |
					      (len ? VR_DESC_F_WRITE : 0));
			device_write = true;
			break;
		}
		}
		/* The driver never writes the device's event area. */
		if (!device_write)
			FZ_CHECK(memcmp(ev_copy, arena + FZ_DEVICE_EV_OFF, sizeof(ev_copy)) == 0);
		if (was_broken && op->code % 11 != 6)
			FZ_CHECK(vr_packed_drv_broken(&q) == was_broken);
		FZ_CHECK(vr_packed_drv_broken(&q) == 0 ||
			 fz_is_proto(vr_packed_drv_broken(&q)));
		if (vr_packed_drv_broken(&q)) {
			FZ_CHECK(vr_packed_drv_get_used(&q, &u[0]) == VR_EBROKEN);
			FZ_CHECK(vr_packed_drv_need_notify(&q) == VR_EBROKEN);
		}
		FZ_CHECK(vr_packed_drv_in_flight(&q) == m.count);
		FZ_CHECK(vr_packed_drv_free(&q) == num - m.descs);
	}
	return 0;
}
