/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interop, layout: libvring's wire structures, constants and size
 * arithmetic against the system's Linux uapi headers, which nobody here
 * wrote. Everything is checked twice: at compile time where C11 allows
 * (_Static_assert) and at run time with cmocka, so that a failure shows up
 * as a named test with both values.
 *
 * This file also is the proof that <vring/vring.h> and the uapi headers go
 * together in one C translation unit: libvring first here, Linux first in
 * test_interop_split.c and test_interop_packed.c.
 */
#include <vring/vring.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- Compile-time checks ----------------------------------------------- */

#define SAME_SIZE(a, b) _Static_assert(sizeof(a) == sizeof(b), #a " vs " #b)
#define SAME_OFF(a, fa, b, fb)                                              \
	_Static_assert(offsetof(a, fa) == offsetof(b, fb),                  \
		       #a "." #fa " vs " #b "." #fb)

SAME_SIZE(struct vr_desc, struct vring_desc);
SAME_OFF(struct vr_desc, addr, struct vring_desc, addr);
SAME_OFF(struct vr_desc, len, struct vring_desc, len);
SAME_OFF(struct vr_desc, flags, struct vring_desc, flags);
SAME_OFF(struct vr_desc, next, struct vring_desc, next);

SAME_SIZE(struct vr_avail, struct vring_avail);
SAME_OFF(struct vr_avail, flags, struct vring_avail, flags);
SAME_OFF(struct vr_avail, idx, struct vring_avail, idx);
_Static_assert(sizeof(struct vr_avail) == offsetof(struct vring_avail, ring),
	       "avail ring follows the libvring header");

SAME_SIZE(struct vr_used_elem, struct vring_used_elem);
SAME_OFF(struct vr_used_elem, id, struct vring_used_elem, id);
SAME_OFF(struct vr_used_elem, len, struct vring_used_elem, len);

SAME_SIZE(struct vr_used, struct vring_used);
SAME_OFF(struct vr_used, flags, struct vring_used, flags);
SAME_OFF(struct vr_used, idx, struct vring_used, idx);
_Static_assert(sizeof(struct vr_used) == offsetof(struct vring_used, ring),
	       "used ring follows the libvring header");

SAME_SIZE(struct vr_packed_desc, struct vring_packed_desc);
SAME_OFF(struct vr_packed_desc, addr, struct vring_packed_desc, addr);
SAME_OFF(struct vr_packed_desc, len, struct vring_packed_desc, len);
SAME_OFF(struct vr_packed_desc, id, struct vring_packed_desc, id);
SAME_OFF(struct vr_packed_desc, flags, struct vring_packed_desc, flags);

SAME_SIZE(struct vr_packed_event, struct vring_packed_desc_event);
SAME_OFF(struct vr_packed_event, off_wrap, struct vring_packed_desc_event, off_wrap);
SAME_OFF(struct vr_packed_event, flags, struct vring_packed_desc_event, flags);

_Static_assert(VR_DESC_F_NEXT == VRING_DESC_F_NEXT, "NEXT");
_Static_assert(VR_DESC_F_WRITE == VRING_DESC_F_WRITE, "WRITE");
_Static_assert(VR_DESC_F_INDIRECT == VRING_DESC_F_INDIRECT, "INDIRECT");
/* The uapi gives the packed AVAIL/USED flags as bit numbers. */
_Static_assert(VR_DESC_F_AVAIL == (1u << VRING_PACKED_DESC_F_AVAIL), "AVAIL");
_Static_assert(VR_DESC_F_USED == (1u << VRING_PACKED_DESC_F_USED), "USED");
_Static_assert(VR_AVAIL_F_NO_INTERRUPT == VRING_AVAIL_F_NO_INTERRUPT, "NO_INTERRUPT");
_Static_assert(VR_USED_F_NO_NOTIFY == VRING_USED_F_NO_NOTIFY, "NO_NOTIFY");
_Static_assert(VR_EVENT_F_ENABLE == VRING_PACKED_EVENT_FLAG_ENABLE, "ENABLE");
_Static_assert(VR_EVENT_F_DISABLE == VRING_PACKED_EVENT_FLAG_DISABLE, "DISABLE");
_Static_assert(VR_EVENT_F_DESC == VRING_PACKED_EVENT_FLAG_DESC, "DESC");
_Static_assert(VR_EVENT_WRAP_SHIFT == VRING_PACKED_EVENT_F_WRAP_CTR, "WRAP_CTR");
_Static_assert(VR_DESC_ALIGN == VRING_DESC_ALIGN_SIZE, "desc align");
_Static_assert(VR_AVAIL_ALIGN == VRING_AVAIL_ALIGN_SIZE, "avail align");
_Static_assert(VR_USED_ALIGN == VRING_USED_ALIGN_SIZE, "used align");

_Static_assert(VR_F_INDIRECT_DESC == VIRTIO_RING_F_INDIRECT_DESC, "INDIRECT_DESC");
_Static_assert(VR_F_EVENT_IDX == VIRTIO_RING_F_EVENT_IDX, "EVENT_IDX");
_Static_assert(VR_F_VERSION_1 == VIRTIO_F_VERSION_1, "VERSION_1");
_Static_assert(VR_F_RING_PACKED == VIRTIO_F_RING_PACKED, "RING_PACKED");
_Static_assert(VR_F_IN_ORDER == VIRTIO_F_IN_ORDER, "IN_ORDER");
_Static_assert(VR_F_RING_RESET == VIRTIO_F_RING_RESET, "RING_RESET");

/* ---- Run-time checks ----------------------------------------------------- */

static void test_struct_sizes_and_offsets(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct vr_desc), sizeof(struct vring_desc));
	assert_int_equal(sizeof(struct vr_desc), 16);
	assert_int_equal(offsetof(struct vr_desc, addr), offsetof(struct vring_desc, addr));
	assert_int_equal(offsetof(struct vr_desc, len), offsetof(struct vring_desc, len));
	assert_int_equal(offsetof(struct vr_desc, flags), offsetof(struct vring_desc, flags));
	assert_int_equal(offsetof(struct vr_desc, next), offsetof(struct vring_desc, next));
	assert_int_equal(_Alignof(struct vr_desc), _Alignof(struct vring_desc));

	assert_int_equal(sizeof(struct vr_avail), offsetof(struct vring_avail, ring));
	assert_int_equal(offsetof(struct vr_avail, flags), offsetof(struct vring_avail, flags));
	assert_int_equal(offsetof(struct vr_avail, idx), offsetof(struct vring_avail, idx));

	assert_int_equal(sizeof(struct vr_used_elem), sizeof(struct vring_used_elem));
	assert_int_equal(sizeof(struct vr_used_elem), 8);
	assert_int_equal(offsetof(struct vr_used_elem, id), offsetof(struct vring_used_elem, id));
	assert_int_equal(offsetof(struct vr_used_elem, len), offsetof(struct vring_used_elem, len));
	assert_int_equal(_Alignof(struct vr_used_elem), _Alignof(vring_used_elem_t));

	assert_int_equal(sizeof(struct vr_used), offsetof(struct vring_used, ring));
	assert_int_equal(offsetof(struct vr_used, flags), offsetof(struct vring_used, flags));
	assert_int_equal(offsetof(struct vr_used, idx), offsetof(struct vring_used, idx));

	assert_int_equal(sizeof(struct vr_packed_desc), sizeof(struct vring_packed_desc));
	assert_int_equal(sizeof(struct vr_packed_desc), 16);
	assert_int_equal(offsetof(struct vr_packed_desc, addr),
			 offsetof(struct vring_packed_desc, addr));
	assert_int_equal(offsetof(struct vr_packed_desc, len),
			 offsetof(struct vring_packed_desc, len));
	assert_int_equal(offsetof(struct vr_packed_desc, id),
			 offsetof(struct vring_packed_desc, id));
	assert_int_equal(offsetof(struct vr_packed_desc, flags),
			 offsetof(struct vring_packed_desc, flags));

	assert_int_equal(sizeof(struct vr_packed_event),
			 sizeof(struct vring_packed_desc_event));
	assert_int_equal(sizeof(struct vr_packed_event), 4);
	assert_int_equal(offsetof(struct vr_packed_event, off_wrap),
			 offsetof(struct vring_packed_desc_event, off_wrap));
	assert_int_equal(offsetof(struct vr_packed_event, flags),
			 offsetof(struct vring_packed_desc_event, flags));
}

static void test_field_widths(void **state)
{
	struct vr_desc d;
	struct vring_desc ld;
	struct vr_used_elem e;
	struct vring_used_elem le;
	struct vr_packed_desc p;
	struct vring_packed_desc lp;
	struct vr_packed_event ev;
	struct vring_packed_desc_event lev;

	(void)state;
	assert_int_equal(sizeof(d.addr), sizeof(ld.addr));
	assert_int_equal(sizeof(d.len), sizeof(ld.len));
	assert_int_equal(sizeof(d.flags), sizeof(ld.flags));
	assert_int_equal(sizeof(d.next), sizeof(ld.next));
	assert_int_equal(sizeof(e.id), sizeof(le.id));
	assert_int_equal(sizeof(e.len), sizeof(le.len));
	assert_int_equal(sizeof(p.addr), sizeof(lp.addr));
	assert_int_equal(sizeof(p.len), sizeof(lp.len));
	assert_int_equal(sizeof(p.id), sizeof(lp.id));
	assert_int_equal(sizeof(p.flags), sizeof(lp.flags));
	assert_int_equal(sizeof(ev.off_wrap), sizeof(lev.off_wrap));
	assert_int_equal(sizeof(ev.flags), sizeof(lev.flags));
}

static void test_flag_values(void **state)
{
	(void)state;
	assert_int_equal(VR_DESC_F_NEXT, VRING_DESC_F_NEXT);
	assert_int_equal(VR_DESC_F_WRITE, VRING_DESC_F_WRITE);
	assert_int_equal(VR_DESC_F_INDIRECT, VRING_DESC_F_INDIRECT);
	assert_int_equal(VR_DESC_F_AVAIL, 1u << VRING_PACKED_DESC_F_AVAIL);
	assert_int_equal(VR_DESC_F_USED, 1u << VRING_PACKED_DESC_F_USED);
	assert_int_equal(VR_DESC_F_AVAIL, 0x80);
	assert_int_equal(VR_DESC_F_USED, 0x8000);
	assert_int_equal(VR_AVAIL_F_NO_INTERRUPT, VRING_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(VR_USED_F_NO_NOTIFY, VRING_USED_F_NO_NOTIFY);
	assert_int_equal(VR_EVENT_F_ENABLE, VRING_PACKED_EVENT_FLAG_ENABLE);
	assert_int_equal(VR_EVENT_F_DISABLE, VRING_PACKED_EVENT_FLAG_DISABLE);
	assert_int_equal(VR_EVENT_F_DESC, VRING_PACKED_EVENT_FLAG_DESC);
	assert_int_equal(VR_EVENT_WRAP_SHIFT, VRING_PACKED_EVENT_F_WRAP_CTR);
	assert_int_equal(VR_DESC_ALIGN, VRING_DESC_ALIGN_SIZE);
	assert_int_equal(VR_AVAIL_ALIGN, VRING_AVAIL_ALIGN_SIZE);
	assert_int_equal(VR_USED_ALIGN, VRING_USED_ALIGN_SIZE);
}

static void test_feature_values(void **state)
{
	uint64_t linux_ring_features;

	(void)state;
	assert_int_equal(VR_F_INDIRECT_DESC, VIRTIO_RING_F_INDIRECT_DESC);
	assert_int_equal(VR_F_EVENT_IDX, VIRTIO_RING_F_EVENT_IDX);
	assert_int_equal(VR_F_VERSION_1, VIRTIO_F_VERSION_1);
	assert_int_equal(VR_F_RING_PACKED, VIRTIO_F_RING_PACKED);
	assert_int_equal(VR_F_IN_ORDER, VIRTIO_F_IN_ORDER);
	assert_int_equal(VR_F_RING_RESET, VIRTIO_F_RING_RESET);
	/* VR_FEATURE is a 64-bit mask: bit 40 must not be truncated. */
	assert_int_equal(VR_FEATURE(VR_F_RING_RESET), (uint64_t)1 << VIRTIO_F_RING_RESET);
	assert_int_equal(VR_FEATURE(VR_F_VERSION_1), 0x100000000ull);

	linux_ring_features = (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			      (1ull << VIRTIO_RING_F_EVENT_IDX) |
			      (1ull << VIRTIO_F_VERSION_1) |
			      (1ull << VIRTIO_F_RING_PACKED) |
			      (1ull << VIRTIO_F_IN_ORDER) |
			      (1ull << VIRTIO_F_RING_RESET);
	assert_int_equal(VR_RING_FEATURES, linux_ring_features);
	/* Every ring feature is a transport feature bit. */
	for (unsigned bit = 0; bit < 64; bit++) {
		if (VR_RING_FEATURES & ((uint64_t)1 << bit)) {
			assert_true(bit >= VIRTIO_TRANSPORT_F_START);
			assert_true(bit < VIRTIO_TRANSPORT_F_END);
		}
	}
}

/* Byte counts for a queue of @num entries, built from the Linux structs. */
static size_t linux_desc_bytes(unsigned num)
{
	return num * sizeof(struct vring_desc);
}

static size_t linux_avail_bytes(unsigned num)
{
	/* flags, idx, ring[num], used_event */
	return offsetof(struct vring_avail, ring) + num * sizeof(__virtio16) +
	       sizeof(__virtio16);
}

static size_t linux_used_bytes(unsigned num)
{
	/* flags, idx, ring[num], avail_event */
	return offsetof(struct vring_used, ring) + num * sizeof(vring_used_elem_t) +
	       sizeof(__virtio16);
}

static void test_split_area_bytes(void **state)
{
	(void)state;
	for (unsigned num = 1; num <= 32768; num <<= 1) {
		assert_int_equal(vr_split_desc_bytes(num), linux_desc_bytes(num));
		assert_int_equal(vr_split_avail_bytes(num), linux_avail_bytes(num));
		assert_int_equal(vr_split_used_bytes(num), linux_used_bytes(num));
		assert_int_equal(vr_packed_desc_bytes(num),
				 num * sizeof(struct vring_packed_desc));
	}
	/* Fixed points from the spec text (2.7): 16N, 6 + 2N, 6 + 8N. */
	assert_int_equal(vr_split_desc_bytes(256), 4096);
	assert_int_equal(vr_split_avail_bytes(256), 518);
	assert_int_equal(vr_split_used_bytes(256), 2054);
	assert_int_equal(vr_split_used_bytes(32768), 262150);
}

static const size_t g_aligns[] = {4, 8, 16, 64, 128, 256, 1024, 4096, 16384, 65536};

static void test_split_layout_vs_vring_size(void **state)
{
	unsigned checked = 0;

	(void)state;
	/* Every queue size: the powers of two match vring_size(), every other
	 * value is refused. */
	for (uint32_t num = 0; num <= 65536; num++) {
		for (size_t a = 0; a < sizeof(g_aligns) / sizeof(g_aligns[0]); a++) {
			struct vr_layout l;
			int valid = num >= 1 && num <= 32768 && (num & (num - 1)) == 0;
			int err = vr_split_layout(num, g_aligns[a], &l);

			if (!valid) {
				assert_int_equal(err, VR_EINVAL);
				continue;
			}
			assert_int_equal(err, 0);
			assert_int_equal(l.desc_off, 0);
			assert_int_equal(l.driver_off, linux_desc_bytes(num));
			assert_int_equal(l.total, vring_size(num, g_aligns[a]));
			assert_int_equal(l.device_off % g_aligns[a], 0);
			assert_int_equal(l.total - l.device_off, linux_used_bytes(num));
			checked++;
		}
	}
	assert_int_equal(checked, 16 * sizeof(g_aligns) / sizeof(g_aligns[0]));
}

/* vring_init() on a real buffer against vr_split_layout() offsets and
 * vr_split_areas_from_region() pointers, and the accessor helpers against
 * the uapi macros. */
static void test_split_layout_vs_vring_init(void **state)
{
	const size_t region_len = (size_t)2 << 20;
	unsigned char *region = aligned_alloc(65536, region_len);

	(void)state;
	assert_non_null(region);
	for (unsigned num = 1; num <= 32768; num <<= 1) {
		for (size_t a = 0; a < sizeof(g_aligns) / sizeof(g_aligns[0]); a++) {
			struct vring vr;
			struct vr_layout l;
			struct vr_split_areas sa;

			assert_int_equal(vr_split_layout(num, g_aligns[a], &l), 0);
			assert_true(l.total <= region_len);
			assert_int_equal(vr_split_areas_from_region(&sa, region, l.total,
								     num, g_aligns[a]), 0);
			vring_init(&vr, num, region, g_aligns[a]);
			assert_int_equal(vr.num, num);
			assert_ptr_equal(vr.desc, region + l.desc_off);
			assert_ptr_equal(vr.avail, region + l.driver_off);
			assert_ptr_equal(vr.used, region + l.device_off);
			assert_ptr_equal(sa.desc, (void *)vr.desc);
			assert_ptr_equal(sa.avail, (void *)vr.avail);
			assert_ptr_equal(sa.used, (void *)vr.used);
			/* One byte short is refused. */
			assert_int_equal(vr_split_areas_from_region(&sa, region, l.total - 1,
								     num, g_aligns[a]),
					 VR_ERANGE);

			/* Accessors vs the uapi's ring[] and event macros. */
			assert_ptr_equal(vr_avail_ring((struct vr_avail *)(void *)vr.avail),
					 &vr.avail->ring[0]);
			assert_ptr_equal(vr_avail_used_event((struct vr_avail *)(void *)vr.avail, num),
					 &vring_used_event(&vr));
			assert_ptr_equal(vr_used_ring((struct vr_used *)(void *)vr.used),
					 (void *)&vr.used->ring[0]);
			assert_ptr_equal(vr_used_avail_event((struct vr_used *)(void *)vr.used, num),
					 &vring_avail_event(&vr));
			/* The used ring's last byte is the end of the layout. */
			assert_ptr_equal((unsigned char *)&vring_avail_event(&vr) +
						 sizeof(__virtio16),
					 region + l.total);
		}
	}
	free(region);
}

static void test_split_layout_rejects(void **state)
{
	struct vr_layout l;
	struct vr_split_areas sa;
	static _Alignas(16) unsigned char buf[8192];

	(void)state;
	/* Used ring alignment below the spec's 4, or not a power of two. */
	assert_int_equal(vr_split_layout(8, 0, &l), VR_EINVAL);
	assert_int_equal(vr_split_layout(8, 1, &l), VR_EINVAL);
	assert_int_equal(vr_split_layout(8, 2, &l), VR_EINVAL);
	assert_int_equal(vr_split_layout(8, 3, &l), VR_EINVAL);
	assert_int_equal(vr_split_layout(8, 12, &l), VR_EINVAL);
	assert_int_equal(vr_split_layout(8, 4, NULL), VR_EINVAL);
	assert_int_equal(vr_split_areas_from_region(&sa, buf + 8, sizeof(buf) - 8, 8, 4),
			 VR_EALIGN);
}

static void test_packed_layout(void **state)
{
	(void)state;
	for (uint32_t num = 0; num <= 32769; num++) {
		struct vr_layout l;
		int err = vr_packed_layout(num, &l);

		if (num == 0 || num > 32768) {
			assert_int_equal(err, VR_EINVAL);
			continue;
		}
		assert_int_equal(err, 0);
		assert_int_equal(l.desc_off, 0);
		assert_int_equal(l.driver_off, num * sizeof(struct vring_packed_desc));
		assert_int_equal(l.device_off,
				 l.driver_off + sizeof(struct vring_packed_desc_event));
		assert_int_equal(l.total,
				 l.device_off + sizeof(struct vring_packed_desc_event));
		/* Both event areas land on the spec's 4-byte alignment. */
		assert_int_equal(l.driver_off % VR_EVENT_ALIGN, 0);
		assert_int_equal(l.device_off % VR_EVENT_ALIGN, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_struct_sizes_and_offsets),
		cmocka_unit_test(test_field_widths),
		cmocka_unit_test(test_flag_values),
		cmocka_unit_test(test_feature_values),
		cmocka_unit_test(test_split_area_bytes),
		cmocka_unit_test(test_split_layout_vs_vring_size),
		cmocka_unit_test(test_split_layout_vs_vring_init),
		cmocka_unit_test(test_split_layout_rejects),
		cmocka_unit_test(test_packed_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
