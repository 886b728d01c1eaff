/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/msg_nanopb.h
 * @brief Typed messages on the freestanding side (an RTOS, bare metal):
 *        vrmsg.proto through nanopb, inside frames (vring/frame.h).
 *
 * The RTOS application takes frames from a struct vr_frame_parser (byte
 * stream: a virtio console) or vr_frame_decode() (a libvring channel, one
 * frame per message) and turns each into a vrmsg_Envelope with
 * vr_msgpb_request(), which accepts both a framed request and a plain text
 * command (`START_ADAS_PROCESSING`, `SET_SENSOR_GAIN_HIGH`, ...). It answers
 * a framed request with vr_msgpb_encode(VR_FRAME_T_RESPONSE, same seq) and
 * a text command with the text line vr_msgpb_text_answer() writes.
 *
 * Freestanding: nanopb's runtime (pb_encode.c, pb_decode.c, pb_common.c)
 * and the generated vrmsg.pb.c; no heap (vrmsg.options bounds every field),
 * memcpy/memset only. Every call is reentrant: no state outside its
 * arguments.
 */
#ifndef VRING_MSG_NANOPB_H
#define VRING_MSG_NANOPB_H

#include <stddef.h>
#include <stdint.h>

#include <vring/frame.h>

#include "vrmsg.pb.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest encoded Envelope: the payload limit a typed receiver needs.
 *  nanopb's vrmsg_Envelope_size assumes enum values inside their enums (one
 *  byte each); proto3 enums are open, and a value outside takes up to ten
 *  bytes, so a peer's Ack{status: -1, 63-byte detail} is one byte over it.
 *  The margin covers every message of vrmsg.proto (at most two enums). */
#define VR_MSGPB_MAX_PAYLOAD ((uint32_t)vrmsg_Envelope_size + 20u)
/** Largest typed frame on the wire. */
#define VR_MSGPB_FRAME_MAX (VR_FRAME_HDR_SIZE + VR_MSGPB_MAX_PAYLOAD)
/** Longest answer line vr_msgpb_text_answer() writes, with its '\n'. */
#define VR_MSGPB_TEXT_ANSWER_MAX (VR_FRAME_TEXT_MAX + 100u)

/**
 * @brief Encode @p env as the payload of a frame in @p buf.
 * @return the frame length; VR_EINVAL (NULL, type 0); VR_ENOSPC (@p cap
 *         too small); VR_EBADMSG (nanopb refused the message: no body set,
 *         or a field out of its bounds)
 */
int vr_msgpb_encode(void *buf, size_t cap, uint8_t type, uint16_t flags,
		    uint32_t seq, const vrmsg_Envelope *env);

/**
 * @brief Decode a binary frame's payload into @p env.
 * @return 0; VR_EINVAL (NULL, or a text frame); VR_EBADMSG (the payload
 *         does not decode, or has no body)
 */
int vr_msgpb_decode(const struct vr_frame *f, vrmsg_Envelope *env);

/**
 * @brief The Envelope a text command stands for. Known commands (exact,
 *        upper case, trailing blanks ignored): START_ADAS_PROCESSING,
 *        SET_SENSOR_GAIN_LOW, SET_SENSOR_GAIN_MEDIUM, SET_SENSOR_GAIN_HIGH,
 *        GET_TELEMETRY.
 * @return 0; VR_ENOMATCH (not a known command); VR_EINVAL
 */
int vr_msgpb_from_text(const void *line, size_t len, vrmsg_Envelope *env);

/**
 * @brief One entry point for what an RTOS application receives: a
 *        REQUEST frame is decoded, a text command translated.
 * @return 0; VR_ENOMATCH (a text line that is no known command, or a
 *         binary frame that is not a REQUEST); VR_EBADMSG; VR_EINVAL
 */
int vr_msgpb_request(const struct vr_frame *f, vrmsg_Envelope *env);

/**
 * @brief Write the text answer to a text command: "\nOK <command>\n", or
 *        "\nERR <command> <STATUS> <detail>\n" when @p ack says so (the
 *        leading '\n' makes it a line start even after damaged bytes).
 * @param ack the answer (NULL: unknown command, STATUS_UNSUPPORTED)
 * @return bytes written; VR_ENOSPC; VR_EINVAL
 */
int vr_msgpb_text_answer(void *buf, size_t cap, const void *line, size_t len,
			 const vrmsg_Ack *ack);

/** @brief "STATUS_OK", "STATUS_BUSY", ...; "STATUS_?" when unknown. */
const char *vr_msgpb_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif /* VRING_MSG_NANOPB_H */
