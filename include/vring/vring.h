/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/vring.h
 * @brief Umbrella header of the freestanding libvring core.
 *
 * libvring moves messages between two mutually distrusting peers (two VMs,
 * two processes, a Linux guest and an RTOS) through shared memory laid out
 * byte for byte as virtio 1.2 virtqueues. This header pulls in the whole
 * core: wire layout, error codes, memory translation, split and packed
 * queues for both roles. It needs only <stdint.h>, <stddef.h>,
 * <stdbool.h> and <stdatomic.h>, and compiles in C11 and C++11.
 *
 * Thread-safety in one line: one thread per queue object; the driver and
 * device objects of one ring run concurrently anywhere.
 */
#ifndef VRING_VRING_H
#define VRING_VRING_H

#define VR_VERSION_MAJOR 0
#define VR_VERSION_MINOR 1
#define VR_VERSION_PATCH 0

#include "channel.h"
#include "config.h"
#include "errors.h"
#include "layout.h"
#include "mem.h"
#include "notify.h"
#include "packed.h"
#include "queue.h"
#include "region.h"
#include "split.h"
#include "transport.h"

#endif /* VRING_VRING_H */
