/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rtos_min: the smallest useful libvring program for a microcontroller. The
 * device end of a channel over a region at a fixed address (the other side,
 * the driver, laid it out: an application core, another VM), with a polled
 * transport: no doorbells, a tick counter for timeouts. It echoes every
 * message back. Built for Cortex-M4, Cortex-R5 and Cortex-M0+ by
 * scripts/size.sh (and the ctest size_rtos_min), in the minimal and the
 * default configuration of vring/config.h, which report what it costs in
 * flash; on Cortex-M0+ the default configuration links atomic_armv6m.c.
 *
 * A board port replaces three things: REGION_BASE/REGION_LEN (where the
 * shared memory is), now_ns() (a hardware timer), and, with doorbells, the
 * notify/wait ops (an interrupt line each way instead of polling).
 */
#include <stddef.h>
#include <stdint.h>

#include <vring/channel.h>
#include <vring/vring.h>

#ifndef REGION_BASE
#define REGION_BASE 0x20010000u /* shared SRAM, as a linker script or MPU sets it */
#endif
#ifndef REGION_LEN
#define REGION_LEN 0x8000u
#endif

int main(void);

/* A free-running tick; a board reads its timer here (SysTick, the generic
 * timer). Each call advances it so a polled wait always ends. */
static uint64_t ticks_ns;

static uint64_t now_ns(struct vr_transport *t)
{
	(void)t;
	ticks_ns += 1000u;
	return ticks_ns;
}

/* Polled transport: nothing to ring, and a wait is one look at the clock
 * (the channel polls its rings around it). */
static int notify(struct vr_transport *t, uint32_t q)
{
	(void)t;
	return q < 2 ? 0 : VR_EINVAL;
}

static int wait(struct vr_transport *t, uint32_t q, uint64_t timeout_ns)
{
	(void)t;
	if (q >= 2)
		return VR_EINVAL;
	return timeout_ns == 0 ? VR_ETIMEDOUT : 0;
}

static int peer_state(struct vr_transport *t)
{
	(void)t;
	return VR_PEER_ALIVE; /* a real port reads the peer's heartbeat */
}

static const struct vr_transport_ops polled_ops = {notify, wait, peer_state, now_ns};

static struct vr_transport transport;
static struct vr_chan chan;
static uint64_t chan_state[512];
static unsigned char msg[256];

int main(void)
{
	struct vr_chan_cfg cfg = {0, 0, 0};
	int n;

	transport.ops = &polled_ops;
	transport.region = (void *)(uintptr_t)REGION_BASE;
	transport.region_len = REGION_LEN;
	transport.role = VR_ROLE_DEVICE;
	transport.flags = VR_TRANSPORT_POLLING;
	for (;;) {
		uint32_t gen;

		/* The driver lays the region out and marks it ready; wait
		 * until it has. A state buffer too small for the region the
		 * driver made is final. */
		while ((n = vr_chan_open(&chan, &transport, &cfg, chan_state,
					 sizeof(chan_state))) != 0)
			if (n == VR_ERANGE)
				return 1;
		gen = vr_region_load(transport.region, VR_RH_GENERATION);
		do {
			n = vr_chan_recv(&chan, msg, sizeof(msg), 1000000u);
			if (n > 0)
				n = vr_chan_send(&chan, msg, (size_t)n, 1000000u);
		} while (n >= 0 || n == VR_ETIMEDOUT);
		/* The session ended (VR_EPEERDEAD: the driver started a new
		 * one) or the driver broke the protocol (the channel is
		 * broken; NEEDS_RESET tells the driver): a device does not
		 * reset, it waits for the driver's next session (the
		 * generation moves) and opens that. */
		while (vr_region_load(transport.region, VR_RH_GENERATION) == gen)
			;
	}
}
