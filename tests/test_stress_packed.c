/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two-thread stress test of the packed ring: the harness of
 * test_stress_split.c (see there for what is checked and the environment
 * variables), run over packed configurations, one of them with a queue size
 * that is not a power of two.
 */
#define VR_STRESS_PACKED 1
#include "test_stress_split.c"
