/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Linux side's checks of the AAOS <-> RTOS scenario, shared by the AAOS
 * guest program (examples/aaos_vm/aaos_app.c, inside the Linux guest) and
 * the host-side driver of the RTOS guest tests (tests/qemu/scenario): each
 * function talks to the RTOS through a message-protocol port (msg/linux)
 * and checks every answer, counting failures in sc_failures.
 */
#ifndef VR_SCENARIO_CLIENT_H
#define VR_SCENARIO_CLIENT_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <vring/msg_client.h>

/** Checks that failed so far (each printed as "FAIL ..." on stderr). */
extern int sc_failures;

/** Check @p cond; when false print "FAIL file:line: " and the message. */
#define SC_CHECK(cond, ...)                                                       \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
			fprintf(stderr, __VA_ARGS__);                             \
			fprintf(stderr, "\n");                                    \
			sc_failures++;                                            \
		}                                                                 \
	} while (0)

/** Send text command @p cmd and check the answer is "OK <cmd>". */
void sc_text(struct vr_msg_port *p, const char *cmd, int timeout_ms);

/** @p count typed commands (SetSensorGain, StartAdasProcessing,
 *  GetTelemetry in turn), every answer checked; prints the round trips
 *  (p50, p99, max). Returns how many were answered correctly. */
unsigned sc_typed(struct vr_msg_port *p, unsigned count, int timeout_ms);

/** Garbage, a cut frame, an inflated length and a flipped bit, each
 *  followed by a command that must be answered. Byte-stream ports only. */
void sc_garbage(struct vr_msg_port *p, int timeout_ms);

/** One SetSensorGain: 0 when answered OK, else the error. */
int sc_one(struct vr_msg_port *p, int timeout_ms);

/** CLOCK_MONOTONIC in ns. */
uint64_t sc_now_ns(void);

#endif /* VR_SCENARIO_CLIENT_H */
