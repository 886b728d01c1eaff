/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The freestanding builds' <string.h> (msg/check_freestanding.sh puts this
 * folder first on the include path): only what the framing core and
 * nanopb use, so no libc header is needed.
 */
#ifndef VR_FREESTANDING_STRING_H
#define VR_FREESTANDING_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

#endif
