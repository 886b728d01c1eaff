/* SPDX-License-Identifier: BSD-3-Clause */
/* Uses an installed libvring: one message through a split ring. */
#include <stdio.h>
#include <string.h>

#include <vring/vring.h>

int main(void)
{
	static _Alignas(4096) unsigned char region[16384];
	static _Alignas(8) unsigned char drv_state[4096], dev_state[4096];
	struct vr_queue_cfg cfg;
	struct vr_split_areas areas;
	struct vr_split_drv drv;
	struct vr_split_dev dev;
	struct vr_seg seg = {8192, 6};
	struct vr_iov iov[1];
	struct vr_chain chain = {iov, 1, 0, 0, 0, 0, 0, 0};
	struct vr_used_buf used;

	memset(&cfg, 0, sizeof(cfg));
	cfg.num = 4;
	cfg.mem = vr_mem_window(region, 0, sizeof(region));
	memcpy(region + 8192, "hello", 6);
	if (vr_split_areas_from_region(&areas, region, 8192, 4, VR_LEGACY_ALIGN) ||
	    vr_split_drv_init(&drv, &cfg, &areas, drv_state, sizeof(drv_state)) ||
	    vr_split_dev_init(&dev, &cfg, &areas, dev_state, sizeof(dev_state)))
		return 1;
	if (vr_split_drv_add(&drv, &seg, 1, 0, NULL) < 0)
		return 2;
	vr_split_drv_publish(&drv);
	if (vr_split_dev_pop(&dev, &chain) || strcmp(iov[0].base, "hello"))
		return 3;
	if (vr_split_dev_push(&dev, chain.id, 0) ||
	    vr_split_drv_get_used(&drv, &used))
		return 4;
	printf("installed libvring works: %s\n", vr_errname(VR_OK));
	return 0;
}
