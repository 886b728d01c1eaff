/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compiler helpers shared by the libvring headers. Internal: include
 * <vring/vring.h> instead. Works in C11, in C++11 and later, and under
 * -ffreestanding.
 */
#ifndef VRING_DETAIL_COMPILER_H
#define VRING_DETAIL_COMPILER_H

#if defined(__cplusplus)
#define VR_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#define VR_EXTERN_C_BEGIN extern "C" {
#define VR_EXTERN_C_END }
#else
#define VR_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#define VR_EXTERN_C_BEGIN
#define VR_EXTERN_C_END
#endif

#if defined(__GNUC__) || defined(__clang__)
#define VR_LIKELY(x) __builtin_expect(!!(x), 1)
#define VR_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define VR_UNUSED __attribute__((unused))
#define VR_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define VR_LIKELY(x) (x)
#define VR_UNLIKELY(x) (x)
#define VR_UNUSED
#define VR_WARN_UNUSED
#endif

/* Hot paths live in the headers as static inline functions. GCC and clang
 * are told to inline them whatever their size heuristics say: a call per
 * ring operation costs more than the operation (measured in bench/). */
#if defined(__GNUC__) || defined(__clang__)
#define VR_INLINE static inline __attribute__((always_inline))
#else
#define VR_INLINE static inline
#endif

#endif /* VRING_DETAIL_COMPILER_H */
