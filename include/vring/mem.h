/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/mem.h
 * @brief How a queue turns the peer's bus addresses into local pointers, and
 *        the cache-maintenance hooks for non-coherent shared memory.
 *
 * Descriptors carry bus addresses chosen by the driver. Before the device
 * side touches a buffer, the address and length go through the queue's
 * struct vr_mem:
 *  - by default a single window: bus addresses [bus_base, bus_base + size)
 *    are the local bytes [local, local + size). For inter-VM messaging the
 *    natural choice is bus_base = 0 and local = the region's mapping, so
 *    descriptors carry offsets into the shared region and each side maps the
 *    region wherever it likes;
 *  - or, when @c translate is set, a callback that maps or refuses any range
 *    (several windows, an IOMMU, a hypervisor's page table).
 * Nothing is ever touched unless the whole range [addr, addr + len) was
 * accepted.
 *
 * Cache hooks (optional, NULL = coherent memory) are called at exactly the
 * points where ownership of shared bytes passes between the sides: @c clean
 * (write back) on bytes this side wrote, just before publishing them to the
 * peer; @c invalidate on bytes the peer wrote, just after acquiring them and
 * before reading them. AMP SoCs whose cores do not snoop each other's caches
 * set them to their cache-maintenance routines (OpenAMP has the same hooks).
 * The core covers every ring structure (descriptors, ring entries, indexes,
 * event areas) and the buffer bytes it hands over: the driver's readable
 * buffers at add, the device's readable segments at pop. Bytes the device
 * writes into a writable segment are cleaned by vr_chain_clean_written()
 * before complete; bytes the driver reads back from its own writable buffer
 * after collecting it are invalidated by the driver, which alone knows where
 * that buffer is (the core keeps no copy of the peer-visible addresses).
 *
 * The hooks can be configured out (VR_CONFIG_CACHE_HOOKS=0 in
 * vring/config.h): the calls then compile to nothing, and a queue init
 * whose vr_mem sets a hook returns VR_ENOTSUP.
 *
 * A struct vr_mem is copied into the queue at init: the caller's copy may go
 * away. The callbacks run on the thread that calls the queue function.
 */
#ifndef VRING_MEM_H
#define VRING_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "detail/compiler.h"

VR_EXTERN_C_BEGIN

/** Direction of a buffer access, as passed to vr_mem.translate. */
enum vr_access {
	VR_ACCESS_READ = 0,  /**< the device reads it (or a descriptor table) */
	VR_ACCESS_WRITE = 1  /**< the device writes it */
};

/**
 * Translate [addr, addr + len) to a local pointer, or refuse with NULL.
 * Called for every data buffer and indirect table the device side uses, and
 * by the driver side for its own buffers when cache hooks are set. Must be
 * safe to call with any addr and len (they come from the peer).
 */
typedef void *(*vr_translate_fn)(void *ctx, uint64_t addr, uint64_t len,
				 enum vr_access access);

/** Cache maintenance on [p, p + len) of local memory. */
typedef void (*vr_cache_fn)(void *ctx, const void *p, size_t len);

struct vr_mem {
	/** Window: local address of bus address @c bus_base (may be NULL
	 *  when @c translate is set). */
	void *local;
	uint64_t bus_base; /**< first bus address of the window */
	uint64_t size;     /**< bytes in the window (0 = refuse everything) */
	vr_translate_fn translate; /**< optional; replaces the window */
	vr_cache_fn clean;         /**< optional write-back before publishing */
	vr_cache_fn invalidate;    /**< optional invalidate after acquiring */
	void *ctx;                 /**< passed to the three callbacks */
};

/**
 * @brief Translate a range through @p mem (window or callback).
 * @return the local pointer of @p addr, or NULL when any byte of the range
 *         lies outside what @p mem allows, or addr + len wraps.
 *         A zero @p len is refused too: no valid buffer is empty.
 */
VR_INLINE void *vr_mem_translate(const struct vr_mem *mem, uint64_t addr,
				 uint64_t len, enum vr_access access)
{
	uint64_t off;

	if (mem->translate)
		return mem->translate(mem->ctx, addr, len, access);
	/* Subtractions only: no sum here can wrap. */
	if (len == 0 || addr < mem->bus_base)
		return NULL;
	off = addr - mem->bus_base;
	if (off > mem->size || len > mem->size - off)
		return NULL;
	return (void *)((unsigned char *)mem->local + (size_t)off);
}

/* Without VR_CONFIG_CACHE_HOOKS (vring/config.h) the two calls below are
 * empty: every queue init refused a vr_mem with hooks, so none is set. */
VR_INLINE void vr_mem_clean(const struct vr_mem *mem, const void *p, size_t len)
{
#if VR_CONFIG_CACHE_HOOKS
	if (mem->clean)
		mem->clean(mem->ctx, p, len);
#else
	(void)mem;
	(void)p;
	(void)len;
#endif
}

VR_INLINE void vr_mem_invalidate(const struct vr_mem *mem, const void *p,
				 size_t len)
{
#if VR_CONFIG_CACHE_HOOKS
	if (mem->invalidate)
		mem->invalidate(mem->ctx, p, len);
#else
	(void)mem;
	(void)p;
	(void)len;
#endif
}

/** Does @p mem ask for something this build does not carry (cache hooks
 *  without VR_CONFIG_CACHE_HOOKS)? Every queue init refuses it
 *  (VR_ENOTSUP). */
VR_INLINE int vr_mem_supported(const struct vr_mem *mem)
{
#if VR_CONFIG_CACHE_HOOKS
	(void)mem;
	return 1;
#else
	return !mem->clean && !mem->invalidate;
#endif
}

/**
 * @brief A window mapping bus addresses [bus_base, bus_base + size) onto
 *        local memory at @p local; no callbacks.
 */
VR_INLINE struct vr_mem vr_mem_window(void *local, uint64_t bus_base,
				      uint64_t size)
{
	struct vr_mem m;

	m.local = local;
	m.bus_base = bus_base;
	m.size = size;
	m.translate = NULL;
	m.clean = NULL;
	m.invalidate = NULL;
	m.ctx = NULL;
	return m;
}

/* Compiled (libvring/mem.c): translate and clean the readable buffers of a
 * driver's chain; VR_EFAULT when one is outside @p mem. */
struct vr_seg;
int vr__mem_clean_segs(const struct vr_mem *mem, const struct vr_seg *seg,
		       unsigned n);

VR_EXTERN_C_END

#endif /* VRING_MEM_H */
