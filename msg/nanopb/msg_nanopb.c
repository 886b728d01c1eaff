/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Typed messages through nanopb (vring/msg_nanopb.h). Freestanding: the
 * Envelope is encoded straight into the frame's payload area and sealed
 * in place (no copy), and decoded from the parser's buffer.
 */
#include <string.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include <vring/msg_nanopb.h>

int vr_msgpb_encode(void *buf, size_t cap, uint8_t type, uint16_t flags,
		    uint32_t seq, const vrmsg_Envelope *env)
{
	pb_ostream_t os;

	if (!buf || !env || type == 0)
		return VR_EINVAL;
	if (cap < VR_FRAME_HDR_SIZE)
		return VR_ENOSPC;
	if (env->which_body == 0)
		return VR_EBADMSG;
	os = pb_ostream_from_buffer((pb_byte_t *)buf + VR_FRAME_HDR_SIZE,
				    cap - VR_FRAME_HDR_SIZE);
	if (!pb_encode(&os, vrmsg_Envelope_fields, env)) {
		/* Out of room, or a field nanopb cannot encode. */
		size_t need = 0;

		if (pb_get_encoded_size(&need, vrmsg_Envelope_fields, env) &&
		    need > cap - VR_FRAME_HDR_SIZE)
			return VR_ENOSPC;
		return VR_EBADMSG;
	}
	return vr_frame_seal(buf, cap, type, flags, seq, os.bytes_written);
}

int vr_msgpb_decode(const struct vr_frame *f, vrmsg_Envelope *env)
{
	pb_istream_t is;

	if (!f || !env || f->kind != VR_FRAME_KIND_BINARY || (!f->payload && f->len))
		return VR_EINVAL;
	memset(env, 0, sizeof(*env));
	is = pb_istream_from_buffer(f->payload, f->len);
	if (!pb_decode(&is, vrmsg_Envelope_fields, env) || env->which_body == 0) {
		memset(env, 0, sizeof(*env));
		return VR_EBADMSG;
	}
	return 0;
}

struct vr__textcmd {
	const char *name;
	pb_size_t body;
	vrmsg_GainLevel level;
};

static const struct vr__textcmd vr__textcmds[] = {
	{"START_ADAS_PROCESSING", vrmsg_Envelope_start_adas_processing_tag, vrmsg_GainLevel_GAIN_UNSPECIFIED},
	{"SET_SENSOR_GAIN_LOW", vrmsg_Envelope_set_sensor_gain_tag, vrmsg_GainLevel_GAIN_LOW},
	{"SET_SENSOR_GAIN_MEDIUM", vrmsg_Envelope_set_sensor_gain_tag, vrmsg_GainLevel_GAIN_MEDIUM},
	{"SET_SENSOR_GAIN_HIGH", vrmsg_Envelope_set_sensor_gain_tag, vrmsg_GainLevel_GAIN_HIGH},
	{"GET_TELEMETRY", vrmsg_Envelope_get_telemetry_tag, vrmsg_GainLevel_GAIN_UNSPECIFIED},
};

int vr_msgpb_from_text(const void *line, size_t len, vrmsg_Envelope *env)
{
	const char *l = (const char *)line;
	size_t i;

	if (!line || !env)
		return VR_EINVAL;
	while (len > 0 && (l[len - 1] == ' ' || l[len - 1] == '\t'))
		len--;
	for (i = 0; i < sizeof(vr__textcmds) / sizeof(vr__textcmds[0]); i++) {
		const char *n = vr__textcmds[i].name;
		size_t k = 0;

		while (k < len && n[k] != '\0' && n[k] == l[k])
			k++;
		if (k != len || n[k] != '\0')
			continue;
		memset(env, 0, sizeof(*env));
		env->which_body = vr__textcmds[i].body;
		if (env->which_body == vrmsg_Envelope_set_sensor_gain_tag) {
			env->body.set_sensor_gain.sensor = vrmsg_Sensor_SENSOR_ALL;
			env->body.set_sensor_gain.level = vr__textcmds[i].level;
		}
		return 0;
	}
	return VR_ENOMATCH;
}

int vr_msgpb_request(const struct vr_frame *f, vrmsg_Envelope *env)
{
	if (!f || !env)
		return VR_EINVAL;
	if (f->kind == VR_FRAME_KIND_TEXT)
		return vr_msgpb_from_text(f->payload, f->len, env);
	if (f->kind != VR_FRAME_KIND_BINARY)
		return VR_EINVAL;
	if (f->type != VR_FRAME_T_REQUEST)
		return VR_ENOMATCH;
	return vr_msgpb_decode(f, env);
}

const char *vr_msgpb_status_name(int status)
{
	static const char *const names[] = {
		"STATUS_OK", "STATUS_REJECTED", "STATUS_BUSY",
		"STATUS_BAD_REQUEST", "STATUS_UNSUPPORTED", "STATUS_INTERNAL",
	};

	if (status < 0 || (size_t)status >= sizeof(names) / sizeof(names[0]))
		return "STATUS_?";
	return names[status];
}

static size_t vr__strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

/* Append bytes, printable ones only (a detail string comes from the
 * application and must not break the line). The caller checked the room. */
static size_t vr__put(char *b, size_t at, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[at++] = (s[i] >= 0x20 && s[i] <= 0x7E) ? s[i] : '?';
	return at;
}

int vr_msgpb_text_answer(void *buf, size_t cap, const void *line, size_t len,
			 const vrmsg_Ack *ack)
{
	char *b = (char *)buf;
	const char *status;
	size_t at = 0, slen, dlen;
	bool ok = ack && ack->status == vrmsg_Status_STATUS_OK;

	if (!buf || (!line && len))
		return VR_EINVAL;
	if (len > VR_FRAME_TEXT_MAX)
		len = VR_FRAME_TEXT_MAX;
	status = vr_msgpb_status_name(ack ? (int)ack->status : vrmsg_Status_STATUS_UNSUPPORTED);
	slen = vr__strnlen(status, 32);
	dlen = ack && !ok ? vr__strnlen(ack->detail, sizeof(ack->detail)) : 0;
	/* "\nOK " cmd "\n", or "\nERR " cmd " " status [" " detail] "\n". The
	 * leading empty line makes the answer a line start even after damaged
	 * bytes (vring/frame.h); a shell reader sees an empty line. */
	if (cap < 1 + (ok ? 3 + len + 1 : 4 + len + 1 + slen + (dlen ? 1 + dlen : 0) + 1))
		return VR_ENOSPC;
	b[at++] = '\n';
	at = vr__put(b, at, ok ? "OK " : "ERR ", ok ? 3 : 4);
	at = vr__put(b, at, (const char *)line, len);
	if (!ok) {
		at = vr__put(b, at, " ", 1);
		at = vr__put(b, at, status, slen);
		if (dlen) {
			at = vr__put(b, at, " ", 1);
			at = vr__put(b, at, ack->detail, dlen);
		}
	}
	b[at++] = '\n';
	return (int)at;
}
