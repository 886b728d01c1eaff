/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test fixture: one shared "region" in process memory holding a split or a
 * packed ring plus a buffer pool, with a driver and a device queue over it.
 * Bus addresses are offsets into the region (the inter-VM convention), and
 * the device's window covers exactly the region, so anything outside it is
 * refused.
 */
#ifndef VR_TEST_RING_FIXTURE_H
#define VR_TEST_RING_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vring/vring.h>

#define FX_RING_BYTES (1u << 20)  /* room for the rings of any test size */
#define FX_POOL_BYTES (4u << 20)  /* buffer pool after the rings */

/* aligned_alloc() wants a size that is a multiple of the alignment. */
static inline void *fx_alloc64(size_t n)
{
	return aligned_alloc(64, (n + 127) & ~(size_t)63);
}

struct fx {
	unsigned char *region;   /* FX_RING_BYTES of rings, then the pool */
	size_t region_len;
	uint32_t num;
	uint64_t features;
	bool packed;
	struct vr_queue_cfg cfg;
	struct vr_split_areas sa;
	struct vr_packed_areas pa;
	struct vr_split_drv sdrv;
	struct vr_split_dev sdev;
	struct vr_packed_drv pdrv;
	struct vr_packed_dev pdev;
	void *drv_state;
	void *dev_state;
};

/* Bus address of a pool offset, and a local pointer to it. */
static inline uint64_t fx_addr(const struct fx *f, size_t pool_off)
{
	(void)f;
	return FX_RING_BYTES + pool_off;
}

static inline void *fx_ptr(const struct fx *f, uint64_t addr)
{
	return f->region + addr;
}

/* Set up a ring of @num entries with @features; packed when the features
 * include VR_F_RING_PACKED. Returns 0 or the first init error. */
static inline int fx_init_flags(struct fx *f, uint32_t num, uint64_t features,
				uint32_t qflags)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->region_len = FX_RING_BYTES + FX_POOL_BYTES;
	f->region = (unsigned char *)aligned_alloc(4096, f->region_len);
	if (!f->region)
		return VR_ERANGE;
	memset(f->region, 0, f->region_len);
	f->num = num;
	f->features = features;
	f->packed = (features & VR_FEATURE(VR_F_RING_PACKED)) != 0;
	f->cfg.num = num;
	f->cfg.features = features;
	f->cfg.flags = qflags;
	f->cfg.mem = vr_mem_window(f->region, 0, f->region_len);
	if (f->packed) {
		err = vr_packed_areas_from_region(&f->pa, f->region, FX_RING_BYTES, num);
		if (err)
			return err;
		f->drv_state = fx_alloc64(vr_packed_drv_state_size(num));
		f->dev_state = fx_alloc64(vr_packed_dev_state_size(num));
		err = vr_packed_drv_init(&f->pdrv, &f->cfg, &f->pa, f->drv_state,
					 vr_packed_drv_state_size(num));
		if (err)
			return err;
		return vr_packed_dev_init(&f->pdev, &f->cfg, &f->pa, f->dev_state,
					  vr_packed_dev_state_size(num));
	}
	err = vr_split_areas_from_region(&f->sa, f->region, FX_RING_BYTES, num,
					 VR_LEGACY_ALIGN);
	if (err)
		return err;
	f->drv_state = fx_alloc64(vr_split_drv_state_size(num));
	f->dev_state = fx_alloc64(vr_split_dev_state_size(num));
	err = vr_split_drv_init(&f->sdrv, &f->cfg, &f->sa, f->drv_state,
				vr_split_drv_state_size(num));
	if (err)
		return err;
	return vr_split_dev_init(&f->sdev, &f->cfg, &f->sa, f->dev_state,
				 vr_split_dev_state_size(num));
}

static inline int fx_init(struct fx *f, uint32_t num, uint64_t features)
{
	return fx_init_flags(f, num, features, 0);
}

/* Re-create both queues over private state of exactly vr_*_state_size()
 * bytes from malloc (not the rounded-up aligned blocks fx_init uses), so
 * that ASan reports a read one element past the end of the driver's or the
 * device's state. Re-initialising zeroes the ring as fx_init did. Returns 0
 * or the first init error. */
static inline int fx_exact_states(struct fx *f)
{
	size_t dsz = f->packed ? vr_packed_drv_state_size(f->num)
			       : vr_split_drv_state_size(f->num);
	size_t vsz = f->packed ? vr_packed_dev_state_size(f->num)
			       : vr_split_dev_state_size(f->num);
	int err;

	free(f->drv_state);
	free(f->dev_state);
	f->drv_state = malloc(dsz);
	f->dev_state = malloc(vsz);
	if (!f->drv_state || !f->dev_state)
		return VR_ERANGE;
	if (f->packed) {
		err = vr_packed_drv_init(&f->pdrv, &f->cfg, &f->pa, f->drv_state, dsz);
		if (err)
			return err;
		return vr_packed_dev_init(&f->pdev, &f->cfg, &f->pa, f->dev_state, vsz);
	}
	err = vr_split_drv_init(&f->sdrv, &f->cfg, &f->sa, f->drv_state, dsz);
	if (err)
		return err;
	return vr_split_dev_init(&f->sdev, &f->cfg, &f->sa, f->dev_state, vsz);
}

static inline void fx_fini(struct fx *f)
{
	free(f->region);
	free(f->drv_state);
	free(f->dev_state);
	memset(f, 0, sizeof(*f));
}

/* Format-independent wrappers, so one test body can run on both formats. */
static inline int fx_add(struct fx *f, const struct vr_seg *seg, unsigned n_out,
			 unsigned n_in, void *cookie)
{
	return f->packed ? vr_packed_drv_add(&f->pdrv, seg, n_out, n_in, cookie)
			 : vr_split_drv_add(&f->sdrv, seg, n_out, n_in, cookie);
}

static inline int fx_kick_prepare(struct fx *f)
{
	return f->packed ? vr_packed_drv_kick_prepare(&f->pdrv)
			 : vr_split_drv_kick_prepare(&f->sdrv);
}

static inline void fx_publish(struct fx *f)
{
	if (f->packed)
		vr_packed_drv_publish(&f->pdrv);
	else
		vr_split_drv_publish(&f->sdrv);
}

static inline int fx_pop(struct fx *f, struct vr_chain *c)
{
	return f->packed ? vr_packed_dev_pop(&f->pdev, c)
			 : vr_split_dev_pop(&f->sdev, c);
}

static inline int fx_push(struct fx *f, uint16_t id, uint32_t len)
{
	return f->packed ? vr_packed_dev_push(&f->pdev, id, len)
			 : vr_split_dev_push(&f->sdev, id, len);
}

static inline int fx_complete(struct fx *f, uint16_t id, uint32_t len)
{
	return f->packed ? vr_packed_dev_complete(&f->pdev, id, len)
			 : vr_split_dev_complete(&f->sdev, id, len);
}

static inline void fx_dev_publish(struct fx *f)
{
	if (f->packed)
		vr_packed_dev_publish(&f->pdev);
	else
		vr_split_dev_publish(&f->sdev);
}

static inline int fx_notify_prepare(struct fx *f)
{
	return f->packed ? vr_packed_dev_notify_prepare(&f->pdev)
			 : vr_split_dev_notify_prepare(&f->sdev);
}

static inline int fx_get_used(struct fx *f, struct vr_used_buf *u)
{
	return f->packed ? vr_packed_drv_get_used(&f->pdrv, u)
			 : vr_split_drv_get_used(&f->sdrv, u);
}

static inline int fx_drv_broken(const struct fx *f)
{
	return f->packed ? vr_packed_drv_broken(&f->pdrv)
			 : vr_split_drv_broken(&f->sdrv);
}

static inline int fx_dev_broken(const struct fx *f)
{
	return f->packed ? vr_packed_dev_broken(&f->pdev)
			 : vr_split_dev_broken(&f->sdev);
}

#endif /* VR_TEST_RING_FIXTURE_H */
