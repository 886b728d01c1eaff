/* SPDX-License-Identifier: BSD-3-Clause */
/* Cache maintenance of buffer contents (the ring structures are handled
 * where they are written), and in a build optimised for size the shared
 * segment check of the device walks. */
#include <vring/vring.h>

/* In a build optimised for size, the one compiled copy of the device
 * walks' segment check (internal.h). */
#define VR__WALK_HELPERS_HERE
#include "internal.h"

int vr__mem_clean_segs(const struct vr_mem *mem, const struct vr_seg *seg,
		       unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		void *p;

		if (seg[i].len == 0)
			continue; /* VR_QF_ZERO_LEN_OK: no byte to clean */
		p = vr_mem_translate(mem, seg[i].addr, seg[i].len,
				     VR_ACCESS_READ);
		if (!p)
			return VR_EFAULT;
		vr_mem_clean(mem, p, seg[i].len);
	}
	return 0;
}

void vr_chain_clean_written(const struct vr_mem *mem,
			    const struct vr_chain *chain, uint32_t len)
{
	unsigned i, end = (unsigned)chain->n_out + chain->n_in;

	/* Without VR_CONFIG_CACHE_HOOKS no queue accepted a mem with hooks:
	 * there is nothing to clean. */
	if (!VR_CONFIG_CACHE_HOOKS || !mem->clean)
		return;
	if (end > chain->iov_cap)
		end = chain->iov_cap;
	for (i = chain->n_out; i < end && len > 0; i++) {
		uint32_t part = chain->iov[i].len < len ? chain->iov[i].len : len;

		mem->clean(mem->ctx, chain->iov[i].base, part);
		len -= part;
	}
}
