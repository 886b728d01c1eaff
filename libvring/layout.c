/* SPDX-License-Identifier: BSD-3-Clause */
/* Size and offset arithmetic of the ring layouts, and carving a region. */
#include <vring/vring.h>

#include "internal.h"

int vr_split_layout(uint32_t num, size_t align, struct vr_layout *out)
{
	size_t used;

	if (!out || !vr_split_size_valid(num) || align < VR_USED_ALIGN ||
	    (align & (align - 1)) != 0)
		return VR_EINVAL;
	out->desc_off = 0;
	out->driver_off = vr_split_desc_bytes(num);
	used = out->driver_off + vr_split_avail_bytes(num);
	out->device_off = (used + align - 1) & ~(align - 1);
	out->total = out->device_off + vr_split_used_bytes(num);
	return 0;
}

int vr_packed_layout(uint32_t num, struct vr_layout *out)
{
	if (!out || !vr_packed_size_valid(num))
		return VR_EINVAL;
	out->desc_off = 0;
	out->driver_off = vr_packed_desc_bytes(num);
	out->device_off = out->driver_off + sizeof(struct vr_packed_event);
	out->total = out->device_off + sizeof(struct vr_packed_event);
	return 0;
}

int vr_split_areas_from_region(struct vr_split_areas *areas, void *base,
			       size_t len, uint32_t num, size_t align)
{
	struct vr_layout l;
	int err;

	if (!areas || !base)
		return VR_EINVAL;
	err = vr_split_layout(num, align, &l);
	if (err)
		return err;
	if (!vr__aligned(base, VR_DESC_ALIGN))
		return VR_EALIGN;
	if (len < l.total)
		return VR_ERANGE;
	areas->desc = base;
	areas->avail = (unsigned char *)base + l.driver_off;
	areas->used = (unsigned char *)base + l.device_off;
	return 0;
}

int vr_packed_areas_from_region(struct vr_packed_areas *areas, void *base,
				size_t len, uint32_t num)
{
	struct vr_layout l;
	int err;

	if (!areas || !base)
		return VR_EINVAL;
	err = vr_packed_layout(num, &l);
	if (err)
		return err;
	if (!vr__aligned(base, VR_DESC_ALIGN))
		return VR_EALIGN;
	if (len < l.total)
		return VR_ERANGE;
	areas->desc = base;
	areas->driver_event = (unsigned char *)base + l.driver_off;
	areas->device_event = (unsigned char *)base + l.device_off;
	return 0;
}
