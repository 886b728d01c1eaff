/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nanopb's system header for the freestanding builds (PB_SYSTEM_HEADER):
 * the freestanding C11 headers (not <limits.h>) plus the two libc functions nanopb and the
 * framing core call, which the RTOS (or msg/freestanding/selftest.c)
 * provides. No <string.h>: a bare-metal toolchain may have no libc.
 */
#ifndef VR_PB_SYSTEM_H
#define VR_PB_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

/* pb.h checks CHAR_BIT; a cross compiler's <limits.h> may reach for the
 * target libc's, which a bare-metal toolchain does not have. */
#ifndef CHAR_BIT
#define CHAR_BIT __CHAR_BIT__
#endif

#endif /* VR_PB_SYSTEM_H */
