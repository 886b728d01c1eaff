/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_split_driver: the fuzzer is a hostile device. The driver sets up
 * chains in flight with the real API (direct and indirect, header byte
 * arg[0] says how many), then the fuzzer's memory bytes overwrite the used
 * ring (ids, lengths, used->idx, flags, avail_event) and the operations mix
 * driver calls (get_used, get_used_burst, add, add_bufs, kick_prepare,
 * arm/suppress, reset) with device writes: a used entry, a move of used->idx, a byte
 * anywhere in the used ring, or an honest completion (to reach deep
 * states).
 *
 * Invariants: only documented return codes; every chain returned was in
 * flight, once, with its cookie and len <= its writable bytes, in add order
 * with IN_ORDER; the driver never writes the used ring; its in-flight and
 * free-descriptor counts match the model; broken stays broken.
 */
#include "fuzz_driver_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int add_chain(struct vr_split_drv *q, struct drv_model *m, uint32_t num,
		     unsigned char *arena, uint8_t a, uint8_t b, bool indirect,
		     bool narrow)
{
	struct vr_seg seg[4];
	unsigned n_out, n_in, n = drv_segs(a, b, seg, &n_out, &n_in);
	unsigned nseg = n;
	void *cookie = (void *)(++m->next_cookie);
	int was_broken = vr_split_drv_broken(q);
	unsigned free_before = vr_split_drv_free(q);
	int rc;

	if (indirect) {
		unsigned slot = (unsigned)(m->next_cookie % 64u);
		uint64_t off = DRV_TABLE_OFF + 64u * slot;

		rc = vr_split_drv_add_indirect(q, seg, n_out, n_in,
					       (struct vr_desc *)(void *)(arena + off),
					       FZ_BUS + off, cookie);
		n = 1;
	} else if (narrow && n == 1) {
		/* The narrow call: one entry, its head back through ids. */
		struct vr_add_buf ab;
		uint16_t id = 0xffff;

		ab.seg = seg[0];
		ab.cookie = cookie;
		rc = vr_split_drv_add_bufs(q, &ab, 1, n_in == 1, &id);
		FZ_CHECK_RC(rc <= 1, rc);
		if (rc == 1)
			rc = id;
		else
			FZ_CHECK_RC(rc < 0, rc);
	} else {
		rc = vr_split_drv_add(q, seg, n_out, n_in, cookie);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char used_copy[2048];
	static uint64_t state[1024];
	unsigned char *arena = fz_arena();
	struct fz_hdr h;
	struct fz_op ops[FZ_MAX_OPS];
	const uint8_t *mem;
	size_t mem_len, used_bytes;
	unsigned nops, i, k;
	struct vr_queue_cfg cfg;
	struct vr_split_areas areas;
	struct vr_split_drv q;
	struct drv_model m;
	struct vr_used_buf u[4];
	uint16_t *used_idx;
	bool in_order, indirect;
	uint32_t num;
	int rc;

	if (!fz_parse(data, size, &h, ops, &nops, &mem, &mem_len))
		return 0;
	num = 1u << (h.size % 7); /* 1..64 */
	in_order = (h.flags & FZ_F_IN_ORDER) != 0;
	indirect = (h.flags & FZ_F_INDIRECT) != 0;
	memset(arena, 0, FZ_ARENA);
	memset(&cfg, 0, sizeof(cfg));
	cfg.num = num;
	cfg.features = fz_features(&h, 0);
	cfg.flags = (h.flags & FZ_F_CLAMP) ? VR_QF_CLAMP_USED_LEN : 0;
	cfg.mem = fz_mem(&h, arena);
	areas.desc = arena + FZ_DESC_OFF;
	areas.avail = arena + FZ_DRIVER_OFF;
	areas.used = arena + FZ_USED_OFF;
	FZ_CHECK(vr_split_drv_state_size(num) <= sizeof(state));
	rc = vr_split_drv_init(&q, &cfg, &areas, state, sizeof(state));
	FZ_CHECK_RC(rc == 0, rc);
	memset(&m, 0, sizeof(m));
	used_bytes = vr_split_used_bytes(num);
	used_idx = (uint16_t *)(void *)(arena + FZ_USED_OFF + 2);

	/* Chains in flight, through the real driver API. */
	for (k = 0; k < h.arg[0] % (num + 1); k++)
		add_chain(&q, &m, num, arena, (uint8_t)(h.arg[1] + k * 5),
			  (uint8_t)(h.arg[2] + k * 3),
			  indirect && ((h.arg[3] >> (k % 8)) & 1), false);
	vr_split_drv_publish(&q);
	/* The device's first words: the used ring. */
	memcpy(arena + FZ_USED_OFF, mem, mem_len < used_bytes ? mem_len : used_bytes);

	for (i = 0; i < nops; i++) {
		const struct fz_op *op = &ops[i];
		int was_broken = vr_split_drv_broken(&q);
		bool device_write = false;

		memcpy(used_copy, arena + FZ_USED_OFF, used_bytes);
		switch (op->code % 11) {
		case 0:
			rc = vr_split_drv_get_used(&q, &u[0]);
			check_get_used_rc(rc);
			if (rc == 0)
				drv_model_collect(&m, num, &u[0], in_order);
			break;
		case 1: {
			unsigned max = (unsigned)(op->a % 4) + 1;

			rc = vr_split_drv_get_used_burst(&q, u, max);
			check_get_used_rc(rc > 0 ? 0 : rc);
			FZ_CHECK(rc <= (int)max);
			for (k = 0; rc > 0 && k < (unsigned)rc; k++)
				drv_model_collect(&m, num, &u[k], in_order);
			break;
		}
		case 2:
			add_chain(&q, &m, num, arena, op->a, op->b,
				  indirect && (op->c & 1), (op->c & 2) != 0);
			break;
		case 3:
			rc = vr_split_drv_kick_prepare(&q);
			FZ_CHECK_RC(was_broken ? rc == VR_EBROKEN : (rc == 0 || rc == 1), rc);
			break;
		case 4:
			rc = vr_split_drv_arm_used_notify(&q);
			FZ_CHECK_RC(was_broken ? rc == VR_EBROKEN : (rc == 0 || rc == 1), rc);
			break;
		case 5:
			vr_split_drv_suppress_used_notify(&q);
			break;
		case 6:
			if (op->a & 1)
				break;
			vr_split_drv_reset(&q);
			drv_model_reset(&m);
			device_write = true; /* reset zeroes the used ring */
			break;
		case 7: { /* the device writes a used entry */
			struct vr_used_elem *e = &vr_used_ring((struct vr_used *)(void *)
							       (arena + FZ_USED_OFF))[op->a % num];
			static const uint32_t mult[4] = {1, 16, 4096, 0x1000000};

			e->id = op->b;
			e->len = op->c * mult[op->a >> 6];
			device_write = true;
			break;
		}
		case 8: /* the device moves used->idx */
			*used_idx = (uint16_t)(*used_idx + (op->a | (op->b & 0x80 ? 0xff00 : 0)));
			device_write = true;
			break;
		case 9:
			arena[FZ_USED_OFF + ((unsigned)op->a << 8 | op->b) % used_bytes] = op->c;
			device_write = true;
			break;
		case 10: { /* an honest completion of a chain in flight */
			struct vr_used_elem *e;
			uint16_t id;
			unsigned pick;

			if (m.count == 0)
				break;
			pick = in_order ? op->a % (m.count < 4 ? m.count : 4)
					: op->a % m.count;
			id = m.fifo[(m.head + pick) % FZ_MAX_NUM];
			e = &vr_used_ring((struct vr_used *)(void *)(arena + FZ_USED_OFF))
				[*used_idx % num];
			e->id = id;
			e->len = m.in_len[id] ? (op->b | (uint32_t)op->c << 8) % (m.in_len[id] + 1) : 0;
			*used_idx = (uint16_t)(*used_idx + (in_order ? pick + 1 : 1));
			device_write = true;
			break;
		}
		}
		/* The driver never writes the device's used ring. */
		if (!device_write)
			FZ_CHECK(memcmp(used_copy, arena + FZ_USED_OFF, used_bytes) == 0);
		if (was_broken && op->code % 11 != 6)
			FZ_CHECK(vr_split_drv_broken(&q) == was_broken);
		FZ_CHECK(vr_split_drv_broken(&q) == 0 ||
			 fz_is_proto(vr_split_drv_broken(&q)));
		if (vr_split_drv_broken(&q)) {
			FZ_CHECK(vr_split_drv_get_used(&q, &u[0]) == VR_EBROKEN);
			FZ_CHECK(vr_split_drv_need_notify(&q) == VR_EBROKEN);
		}
		FZ_CHECK(vr_split_drv_in_flight(&q) == m.count);
		FZ_CHECK(vr_split_drv_free(&q) == num - m.descs);
	}
	return 0;
}
