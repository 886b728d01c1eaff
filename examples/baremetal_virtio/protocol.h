/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The command protocol between the host test program and the bare-metal
 * image, over QEMU's virtio console (a byte stream: frames may arrive split
 * across receive buffers or several in one). Freestanding; the host program
 * (tests/qemu/mmio/console_host.c) includes it too.
 *
 * Frame: magic 0xa5, command, payload length (u16 LE), sequence (u32 LE),
 * payload. Replies carry the command in lower case and the same sequence.
 *   'E' echo: the payload is bv_pattern(seq, i); the image checks every
 *       byte and replies with the payload followed by its FNV-1a (u32 LE).
 *   'C' counters, 'F' features: replies are "key=value" text.
 *   'R' random: payload u16 LE count (1..256); reply = bytes read from the
 *       virtio-rng device.
 *   'P' polling: payload 1 byte, 1 = poll, 0 = interrupts; empty reply.
 *   'X' reset the receive queue (VIRTIO_F_RING_RESET), set it up again;
 *       reply "reset=VR_OK" or the error name.
 *   'Q' quit: empty reply, then the image powers the machine off.
 *   'h' is sent once by the image when it is ready (text as 'F').
 */
#ifndef BAREMETAL_VIRTIO_PROTOCOL_H
#define BAREMETAL_VIRTIO_PROTOCOL_H

#include <stdint.h>

#define BV_MAGIC 0xa5u
#define BV_HDR 8u
#define BV_MAX_PAYLOAD 1024u
#define BV_MAX_ECHO 400u /* host-chosen echo sizes: 1..BV_MAX_ECHO */

static inline uint8_t bv_pattern(uint32_t seq, uint32_t i)
{
	uint32_t x = seq * 2654435761u + i * 40503u + 0x9e3779b9u;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (uint8_t)x;
}

static inline uint32_t bv_echo_len(uint32_t seq)
{
	uint32_t x = seq * 0x45d9f3bu + 7u;

	x ^= x >> 16;
	return 1u + x % BV_MAX_ECHO;
}

static inline uint32_t bv_fnv1a(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;
	uint32_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

#endif
