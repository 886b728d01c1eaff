/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file vring/msg_client.h
 * @brief The Linux side of the message protocol: open a port, send a typed
 *        request, wait for its answer with a timeout (hosted, protobuf-c).
 *
 * A port is a byte stream to the RTOS: a virtio console
 * (/dev/virtio-ports/my-ipc-port), a unix socket (QEMU's chardev, a test
 * peer), any file descriptor; or a libvring channel, which keeps message
 * boundaries (one frame per message). Framing, CRC, resynchronisation
 * after garbage and request/response matching (vring/frame.h) happen
 * inside; the application sees vrmsg.proto's messages (protobuf-c) or text
 * lines:
 *
 *   struct vr_msg_port *port;
 *   struct vr_msg_ack ack;
 *   vr_msg_open("/dev/virtio-ports/my-ipc-port", NULL, &port);
 *   vr_msg_set_sensor_gain(port, VRMSG__SENSOR__SENSOR_ALL,
 *                          VRMSG__GAIN_LEVEL__GAIN_HIGH, 0, &ack, 1000);
 *   vr_msg_call_text(port, "START_ADAS_PROCESSING", line, sizeof(line), 1000);
 *   vr_msg_close(port);
 *
 * Timeouts are in milliseconds (CLOCK_MONOTONIC): 0 looks once without
 * waiting, a negative value waits for ever. A request that timed out stays
 * known until its slot is needed: an answer arriving later is counted as
 * late and dropped, so the next call is never confused by it.
 *
 * Peer absence: on a socket or pipe, end of file or a hang-up is final
 * (VR_EPEERDEAD). On a character device (a virtio console) it is not: the
 * other end (QEMU's chardev, the RTOS) may come back, so calls wait out
 * their timeout (VR_ETIMEDOUT) and work again once it is back
 * (vr_msg_cfg.reconnect).
 *
 * Threads: a port is used by one thread at a time (calls on one port must
 * not overlap); different ports are independent.
 */
#ifndef VRING_MSG_CLIENT_H
#define VRING_MSG_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vring/frame.h>

#include "vrmsg.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vr_chan;
struct vr_msg_port;

/** Port options; all-zero (or a NULL pointer) means the defaults. */
struct vr_msg_cfg {
	uint32_t max_payload;  /**< longest payload accepted (0: 4096) */
	uint32_t max_pending;  /**< requests in flight at once (0: 32) */
	uint32_t inbox;        /**< incoming frames kept for vr_msg_recv()
	                            (0: 64); the oldest is dropped when full */
	/** End of file / hang-up: VR_MSG_RECONNECT_AUTO (0) decides from the
	 *  fd (a character device may come back, a socket or pipe not);
	 *  VR_MSG_RECONNECT_YES waits for the peer to come back;
	 *  VR_MSG_RECONNECT_NO reports VR_EPEERDEAD. */
	int reconnect;
	/** A partial frame left this long with no byte arriving is given up
	 *  (vr_frame_parser_resync()): ms, 0 = 50. */
	uint32_t idle_resync_ms;
};

#define VR_MSG_RECONNECT_AUTO 0
#define VR_MSG_RECONNECT_YES 1
#define VR_MSG_RECONNECT_NO 2

/** What came in that no waiting call consumed (vr_msg_recv()). */
struct vr_msg_in {
	uint8_t kind;            /**< VR_FRAME_KIND_BINARY or _TEXT */
	uint8_t type;            /**< frame type (binary) */
	uint16_t flags;
	uint32_t seq;
	uint8_t *data;           /**< payload copy (text: the line, with a
	                              terminating NUL not counted in len) */
	uint32_t len;
	Vrmsg__Envelope *env;    /**< decoded REQUEST/EVENT/RESPONSE payload,
	                              NULL when it does not decode or for text */
};

/** An Ack answer in plain C. */
struct vr_msg_ack {
	int status;              /**< Vrmsg__Status (0 = STATUS_OK) */
	char detail[64];
};

struct vr_msg_stats {
	struct vr_frame_parser_stats rx; /**< bytes, frames, garbage by reason */
	struct vr_req_stats req;         /**< answered, expired, late, ... */
	uint64_t frames_sent;
	uint64_t bytes_sent;
	uint64_t texts_sent;
	uint64_t undecodable;    /**< binary frames whose payload did not decode */
	uint64_t inbox_dropped;  /**< incoming frames lost to a full inbox */
	uint64_t peer_gone;      /**< end-of-file / hang-up events seen */
	uint64_t bad_messages;   /**< channel ports: messages that were no valid
	                              frame or line (vr_frame_decode() refused
	                              them; byte-stream ports count in rx) */
};

/** Byte transport under a port (vr_msg_open_io()); the fd and channel
 *  ports are built on it. */
struct vr_msg_io {
	/** Write all @p len bytes before @p deadline_ms (CLOCK_MONOTONIC ms,
	 *  -1: none). Return 0, VR_ETIMEDOUT, VR_EPEERDEAD or VR_EIO. */
	int (*write)(void *ctx, const void *buf, size_t len, int64_t deadline_ms);
	/** Read what is there, waiting until @p deadline_ms for something.
	 *  Return the bytes read (> 0), VR_ETIMEDOUT, VR_EAGAIN (nothing, try
	 *  again: the peer is away but may come back), VR_EPEERDEAD or VR_EIO. */
	int (*read)(void *ctx, void *buf, size_t cap, int64_t deadline_ms);
	/** Release the transport (vr_msg_close()); may be NULL. */
	void (*close)(void *ctx);
	void *ctx;
};

/**
 * @brief Open a port on @p path: a character device (a virtio console, a
 *        terminal) is opened read-write, a unix socket is connected to. A
 *        terminal (a virtio console port is an hvc tty) is put in raw mode
 *        (cfmakeraw: no echo, no line editing, bytes as they are).
 * @return 0 and *@p out; VR_EINVAL; VR_EIO (open/connect failed: errno
 *         says why)
 */
int vr_msg_open(const char *path, const struct vr_msg_cfg *cfg,
		struct vr_msg_port **out);

/**
 * @brief Open a port on an open fd (socket, tty, device: anything
 *        readable and writable); the fd is put in non-blocking mode.
 *        Sockets are written with MSG_NOSIGNAL; on other fds whose reader
 *        can vanish (a pipe), the program must ignore SIGPIPE itself.
 * @param own_fd close the fd in vr_msg_close()
 * @return 0; VR_EINVAL; VR_EIO
 */
int vr_msg_open_fd(int fd, bool own_fd, const struct vr_msg_cfg *cfg,
		   struct vr_msg_port **out);

/**
 * @brief Open a port on a libvring channel end (already open): each frame
 *        is one channel message. The channel stays the caller's.
 * @return 0; VR_EINVAL; VR_EIO (no memory)
 */
int vr_msg_open_chan(struct vr_chan *ch, const struct vr_msg_cfg *cfg,
		     struct vr_msg_port **out);

/** @brief Open a port over any byte transport. @return 0; VR_EINVAL; VR_EIO */
int vr_msg_open_io(const struct vr_msg_io *io, const struct vr_msg_cfg *cfg,
		   struct vr_msg_port **out);

/** @brief Close the port: frees everything still held (NULL is fine). */
void vr_msg_close(struct vr_msg_port *p);

/**
 * @brief Send a typed request and wait for its answer.
 * @param resp receives the answer (free with vr_msg_free())
 * @return 0; VR_ETIMEDOUT (no answer in time; an answer arriving later
 *         is dropped and counted as late); VR_ENOSPC (max_pending requests
 *         in flight); VR_EBADMSG (the answer does not decode);
 *         VR_EMSGSIZE (request above max_payload); VR_EPEERDEAD; VR_EIO;
 *         VR_EINVAL
 */
int vr_msg_call(struct vr_msg_port *p, const Vrmsg__Envelope *req,
		Vrmsg__Envelope **resp, int timeout_ms);

/**
 * @brief Send a typed request without waiting (several may be in flight);
 *        collect the answer with vr_msg_wait().
 * @param timeout_ms how long the answer may take (also bounds the write)
 * @return 0 and *@p seq; errors as vr_msg_call()
 */
int vr_msg_send_request(struct vr_msg_port *p, const Vrmsg__Envelope *req,
			int timeout_ms, uint32_t *seq);

/**
 * @brief Wait for the answer to @p seq (until its own deadline, or
 *        @p timeout_ms if that is sooner).
 * @return 0 and *@p resp; VR_ETIMEDOUT (its deadline passed: it is given
 *         up; or only @p timeout_ms passed: wait again); VR_ENOMATCH (no
 *         such request, or its answer was taken already); VR_EBADMSG;
 *         VR_EPEERDEAD; VR_EIO
 */
int vr_msg_wait(struct vr_msg_port *p, uint32_t seq, Vrmsg__Envelope **resp,
		int timeout_ms);

/** @brief Send an EVENT (no answer). @return 0 or as vr_msg_call(). */
int vr_msg_send_event(struct vr_msg_port *p, const Vrmsg__Envelope *ev,
		      int timeout_ms);

/**
 * @brief Answer a REQUEST the peer sent (seen through vr_msg_recv()).
 * @return 0 or as vr_msg_call()
 */
int vr_msg_respond(struct vr_msg_port *p, uint32_t seq,
		   const Vrmsg__Envelope *resp, int timeout_ms);

/** @brief Free an answer (NULL is fine). */
void vr_msg_free(Vrmsg__Envelope *e);

/**
 * @brief Send a plain text command as a shell would: @p cmd and '\n'.
 * @param cmd printable ASCII, starting with a letter, at most
 *        VR_FRAME_TEXT_MAX bytes, without the '\n'
 * @return 0; VR_EINVAL (not such a line); VR_ETIMEDOUT; VR_EPEERDEAD; VR_EIO
 */
int vr_msg_send_text(struct vr_msg_port *p, const char *cmd, int timeout_ms);

/**
 * @brief Send a text command and wait for the next text line that comes
 *        back (the RTOS answers "OK <cmd>" or "ERR <cmd> <STATUS> ...").
 * @return the reply length (NUL-terminated in @p reply, cut to @p cap - 1);
 *         VR_ETIMEDOUT; errors as vr_msg_send_text()
 */
int vr_msg_call_text(struct vr_msg_port *p, const char *cmd, char *reply,
		     size_t cap, int timeout_ms);

/**
 * @brief Take the next incoming frame no call consumed: an event, a request
 *        from the peer, a text line.
 * @return 0 and *@p in (release it with vr_msg_in_release()); VR_EAGAIN
 *         (timeout 0, nothing); VR_ETIMEDOUT; VR_EPEERDEAD; VR_EIO
 */
int vr_msg_recv(struct vr_msg_port *p, struct vr_msg_in *in, int timeout_ms);

/** @brief Free what vr_msg_recv() gave. */
void vr_msg_in_release(struct vr_msg_in *in);

/**
 * @brief SetSensorGain, waiting for its Ack.
 * @return 0 and *@p ack (its status is the RTOS's verdict); VR_EBADMSG
 *         (the answer is not an Ack); errors as vr_msg_call()
 */
int vr_msg_set_sensor_gain(struct vr_msg_port *p, Vrmsg__Sensor sensor,
			   Vrmsg__GainLevel level, int32_t gain_mdb,
			   struct vr_msg_ack *ack, int timeout_ms);

/** @brief StartAdasProcessing, waiting for its Ack; as above. */
int vr_msg_start_adas(struct vr_msg_port *p, uint32_t stage_mask,
		      uint32_t frame_rate_hz, bool low_latency,
		      struct vr_msg_ack *ack, int timeout_ms);

/**
 * @brief GetTelemetry, waiting for the Telemetry (free with vr_msg_free()
 *        on the Envelope: *@p env; (*env)->telemetry is the answer).
 * @return 0; VR_EBADMSG (the answer is no Telemetry; an Ack refusal is
 *         VR_EPERM with *@p env still set); errors as vr_msg_call()
 */
int vr_msg_get_telemetry(struct vr_msg_port *p, bool reset_counters,
			 Vrmsg__Envelope **env, int timeout_ms);

/** @brief The port's counters. */
void vr_msg_get_stats(const struct vr_msg_port *p, struct vr_msg_stats *out);

/** @brief The fd under an fd port (-1 for other ports). */
int vr_msg_fd(const struct vr_msg_port *p);

#ifdef __cplusplus
}
#endif

#endif /* VRING_MSG_CLIENT_H */
