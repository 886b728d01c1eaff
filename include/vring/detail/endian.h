/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Little-endian conversion for the wire fields. virtio 1.x rings are
 * little-endian whatever the CPU; on a little-endian CPU every helper here
 * compiles to nothing. Internal: include <vring/vring.h> instead.
 */
#ifndef VRING_DETAIL_ENDIAN_H
#define VRING_DETAIL_ENDIAN_H

#include <stdint.h>

#include "compiler.h"

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && \
	__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define VR__BIG_ENDIAN 1
#else
#define VR__BIG_ENDIAN 0
#endif

VR_INLINE uint16_t vr__le16(uint16_t v)
{
#if VR__BIG_ENDIAN
	return __builtin_bswap16(v);
#else
	return v;
#endif
}

VR_INLINE uint32_t vr__le32(uint32_t v)
{
#if VR__BIG_ENDIAN
	return __builtin_bswap32(v);
#else
	return v;
#endif
}

VR_INLINE uint64_t vr__le64(uint64_t v)
{
#if VR__BIG_ENDIAN
	return __builtin_bswap64(v);
#else
	return v;
#endif
}

#endif /* VRING_DETAIL_ENDIAN_H */
