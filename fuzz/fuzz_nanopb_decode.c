/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: nanopb's decode path for every message of vrmsg.proto, as
 * the RTOS runs it on a payload that passed the frame CRC (a peer may send
 * any bytes with a good CRC).
 *
 * Input: byte 0 picks the message type (% 6: Envelope, SetSensorGain,
 * StartAdasProcessing, GetTelemetry, Ack, Telemetry); the rest is the
 * payload.
 *
 * Invariants: the decoder never reads or writes outside the input and the
 * struct (ASan); a message that decodes has bounded fields (a known oneof
 * tag, a NUL-terminated detail, at most 4 temperatures), re-encodes within
 * the generated maximum size (within VR_MSGPB_MAX_PAYLOAD when an enum
 * holds a value outside its range, which proto3 allows), and decodes again
 * to the same values; an
 * Envelope also decodes the same through a frame (vr_msgpb_decode()), and
 * vr_msgpb_request() agrees on whether it is a request.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>
#include <pb_encode.h>
#include <vring/frame.h>
#include <vring/msg_nanopb.h>

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",      \
				__FILE__, __LINE__, #c);                      \
			abort();                                              \
		}                                                             \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

union any {
	vrmsg_Envelope env;
	vrmsg_SetSensorGain gain;
	vrmsg_StartAdasProcessing adas;
	vrmsg_GetTelemetry get;
	vrmsg_Ack ack;
	vrmsg_Telemetry tel;
};

static const pb_msgdesc_t *const descs[6] = {
	vrmsg_Envelope_fields, vrmsg_SetSensorGain_fields, vrmsg_StartAdasProcessing_fields,
	vrmsg_GetTelemetry_fields, vrmsg_Ack_fields, vrmsg_Telemetry_fields,
};
static const size_t max_sizes[6] = {
	vrmsg_Envelope_size, vrmsg_SetSensorGain_size, vrmsg_StartAdasProcessing_size,
	vrmsg_GetTelemetry_size, vrmsg_Ack_size, vrmsg_Telemetry_size,
};

static void check_ack(const vrmsg_Ack *a)
{
	CHECK(memchr(a->detail, 0, sizeof(a->detail)) != NULL);
}

static void check_tel(const vrmsg_Telemetry *t)
{
	CHECK(t->sensor_temp_cdeg_count <= 4);
}

/* Same values (strings compared as C strings: nanopb stops at a NUL). */
static void same_ack(const vrmsg_Ack *a, const vrmsg_Ack *b)
{
	CHECK(a->status == b->status);
	CHECK(strcmp(a->detail, b->detail) == 0);
}

static void same_tel(const vrmsg_Telemetry *a, const vrmsg_Telemetry *b)
{
	CHECK(a->uptime_us == b->uptime_us && a->cpu_temp_cdeg == b->cpu_temp_cdeg &&
	      a->cpu_load_permille == b->cpu_load_permille &&
	      a->frames_processed == b->frames_processed && a->frames_dropped == b->frames_dropped &&
	      a->vehicle_speed_cmps == b->vehicle_speed_cmps && a->adas_active == b->adas_active &&
	      a->timestamp_ns == b->timestamp_ns);
	CHECK(a->sensor_temp_cdeg_count == b->sensor_temp_cdeg_count);
	for (unsigned i = 0; i < a->sensor_temp_cdeg_count; i++)
		CHECK(a->sensor_temp_cdeg[i] == b->sensor_temp_cdeg[i]);
}

static void same_gain(const vrmsg_SetSensorGain *a, const vrmsg_SetSensorGain *b)
{
	CHECK(a->sensor == b->sensor && a->level == b->level && a->gain_mdb == b->gain_mdb);
}

static void same_adas(const vrmsg_StartAdasProcessing *a, const vrmsg_StartAdasProcessing *b)
{
	CHECK(a->stage_mask == b->stage_mask && a->frame_rate_hz == b->frame_rate_hz &&
	      a->low_latency == b->low_latency);
}

static void same_get(const vrmsg_GetTelemetry *a, const vrmsg_GetTelemetry *b)
{
	CHECK(a->reset_counters == b->reset_counters);
}

static void same_env(const vrmsg_Envelope *a, const vrmsg_Envelope *b)
{
	CHECK(a->which_body == b->which_body);
	switch (a->which_body) {
	case vrmsg_Envelope_set_sensor_gain_tag:
		same_gain(&a->body.set_sensor_gain, &b->body.set_sensor_gain);
		break;
	case vrmsg_Envelope_start_adas_processing_tag:
		same_adas(&a->body.start_adas_processing, &b->body.start_adas_processing);
		break;
	case vrmsg_Envelope_get_telemetry_tag:
		same_get(&a->body.get_telemetry, &b->body.get_telemetry);
		break;
	case vrmsg_Envelope_ack_tag:
		same_ack(&a->body.ack, &b->body.ack);
		break;
	case vrmsg_Envelope_telemetry_tag:
		same_tel(&a->body.telemetry, &b->body.telemetry);
		break;
	default:
		CHECK(a->which_body == 0);
	}
}

static void same(unsigned type, const union any *a, const union any *b)
{
	switch (type) {
	case 0:
		same_env(&a->env, &b->env);
		break;
	case 1:
		same_gain(&a->gain, &b->gain);
		break;
	case 2:
		same_adas(&a->adas, &b->adas);
		break;
	case 3:
		same_get(&a->get, &b->get);
		break;
	case 4:
		same_ack(&a->ack, &b->ack);
		break;
	default:
		same_tel(&a->tel, &b->tel);
		break;
	}
}

/* proto3 enums are open: a peer may send any int32. The generated _size
 * bounds assume values inside the enum (one byte each); outside, a value
 * takes up to ten. */
static bool enums_in_range(unsigned type, const union any *m)
{
	const vrmsg_Envelope *e = &m->env;

	switch (type) {
	case 0:
		if (e->which_body == vrmsg_Envelope_set_sensor_gain_tag)
			return enums_in_range(1, (const union any *)(const void *)&e->body);
		if (e->which_body == vrmsg_Envelope_ack_tag)
			return enums_in_range(4, (const union any *)(const void *)&e->body);
		return true;
	case 1:
		return m->gain.sensor >= _vrmsg_Sensor_MIN && m->gain.sensor <= _vrmsg_Sensor_MAX &&
		       m->gain.level >= _vrmsg_GainLevel_MIN && m->gain.level <= _vrmsg_GainLevel_MAX;
	case 4:
		return m->ack.status >= _vrmsg_Status_MIN && m->ack.status <= _vrmsg_Status_MAX;
	default:
		return true;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union any *m, *m2;
	unsigned type;
	pb_istream_t is;
	pb_ostream_t os;
	uint8_t *enc, *frame;
	bool ok;

	if (size < 1)
		return 0;
	type = data[0] % 6u;
	data++;
	size--;
	/* Exact-size heap copies, so that ASan sees a byte past them. */
	m = malloc(sizeof(*m));
	m2 = malloc(sizeof(*m2));
	CHECK(m && m2);
	memset(m, 0xA5, sizeof(*m)); /* decode must not rely on a zeroed struct */
	is = pb_istream_from_buffer(data, size);
	ok = pb_decode(&is, descs[type], m);
	if (ok) {
		if (type == 0) {
			CHECK(m->env.which_body <= vrmsg_Envelope_telemetry_tag);
			if (m->env.which_body == vrmsg_Envelope_ack_tag)
				check_ack(&m->env.body.ack);
			if (m->env.which_body == vrmsg_Envelope_telemetry_tag)
				check_tel(&m->env.body.telemetry);
		}
		if (type == 4)
			check_ack(&m->ack);
		if (type == 5)
			check_tel(&m->tel);
		/* Re-encode (within the generated bound when the enums are in
		 * range), decode again: the same values. */
		size_t need = 0;

		CHECK(pb_get_encoded_size(&need, descs[type], m));
		if (enums_in_range(type, m))
			CHECK(need <= max_sizes[type]);
		CHECK(need <= VR_MSGPB_MAX_PAYLOAD);
		enc = malloc(need ? need : 1);
		CHECK(enc != NULL);
		os = pb_ostream_from_buffer(enc, need);
		CHECK(pb_encode(&os, descs[type], m));
		CHECK(os.bytes_written == need);
		memset(m2, 0x5A, sizeof(*m2));
		is = pb_istream_from_buffer(enc, os.bytes_written);
		CHECK(pb_decode(&is, descs[type], m2));
		same(type, m, m2);
		free(enc);
	}
	if (type == 0 && size <= VR_FRAME_LEN_MAX) {
		/* The same bytes as a frame's payload, through the glue. */
		struct vr_frame f;
		vrmsg_Envelope e, r;
		int n, rc;

		frame = malloc(VR_FRAME_HDR_SIZE + size);
		CHECK(frame != NULL);
		n = vr_frame_encode(frame, VR_FRAME_HDR_SIZE + size, VR_FRAME_T_REQUEST, 0, 1, data, size);
		CHECK(n == (int)(VR_FRAME_HDR_SIZE + size));
		CHECK(vr_frame_decode(frame, (size_t)n, VR_FRAME_LEN_MAX, &f) == 0);
		rc = vr_msgpb_decode(&f, &e);
		CHECK(rc == 0 || rc == VR_EBADMSG);
		CHECK(rc == 0 ? (ok && m->env.which_body != 0) : (!ok || m->env.which_body == 0));
		if (rc == 0)
			same_env(&e, &m->env);
		CHECK(vr_msgpb_request(&f, &r) == rc);
		if (rc == 0) {
			/* And it re-frames within VR_MSGPB_FRAME_MAX. */
			uint8_t out[VR_MSGPB_FRAME_MAX];

			CHECK(vr_msgpb_encode(out, sizeof(out), VR_FRAME_T_RESPONSE, 0, 2, &e) > 0);
		}
		free(frame);
	}
	free(m);
	free(m2);
	return 0;
}
