/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The message protocol on bare metal, no libc: what an RTOS image does
 * with it. Built by msg/check_freestanding.sh for aarch64 (run on
 * qemu-system-aarch64 -M virt, result on the PL011 UART) and for Cortex-M4
 * (linked only). It encodes typed requests with nanopb into frames, mixes
 * them with text commands, garbage, an inflated length and a damaged
 * frame, feeds the stream to the parser seven bytes at a time, decodes
 * what comes out, checks every field, answers, and matches the answers in
 * a request table. Prints "vrmsg selftest: ok" or the failing line.
 */
#include <vring/frame.h>
#include <vring/msg_nanopb.h>

#ifndef VR_FS_UART
#define VR_FS_UART 0x09000000u /* PL011 data register on -M virt */
#endif

/* The two libc functions the code may call (no libc here). */
void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = (unsigned char *)dst;
	const unsigned char *s = (const unsigned char *)src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = (unsigned char *)dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

#ifdef VR_FS_NO_UART
volatile char vr_fs_sink; /* no UART: the characters land here */
#endif

static void out_ch(char c)
{
#ifdef VR_FS_NO_UART
	vr_fs_sink = c;
#else
	*(volatile uint32_t *)(uintptr_t)VR_FS_UART = (uint32_t)(unsigned char)c;
#endif
}

static void out_s(const char *s)
{
	while (*s)
		out_ch(*s++);
}

static void out_u(uint32_t v)
{
	char b[11];
	int i = 0;

	do {
		b[i++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v);
	while (i)
		out_ch(b[--i]);
}

static unsigned fails;

static void fail(unsigned line)
{
	if (fails++ < 8) {
		out_s("vrmsg selftest: FAIL at selftest.c:");
		out_u(line);
		out_s("\n");
	}
}

#define CHECK(c)                         \
	do {                             \
		if (!(c))                \
			fail(__LINE__);  \
	} while (0)

static uint8_t stream[2048];
static size_t stream_len;
static uint8_t pbuf[VR_FRAME_PARSER_BUF_SIZE(VR_MSGPB_MAX_PAYLOAD) + VR_FRAME_TEXT_MAX];

static void put(const void *d, size_t n)
{
	CHECK(stream_len + n <= sizeof(stream));
	if (stream_len + n <= sizeof(stream)) {
		memcpy(stream + stream_len, d, n);
		stream_len += n;
	}
}

static void put_env(uint8_t type, uint32_t seq, const vrmsg_Envelope *e)
{
	uint8_t f[VR_MSGPB_FRAME_MAX];
	int n = vr_msgpb_encode(f, sizeof(f), type, 0, seq, e);

	CHECK(n > (int)VR_FRAME_HDR_SIZE);
	if (n > 0)
		put(f, (size_t)n);
}

static void put_str(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	put(s, n);
}

static vrmsg_Envelope telemetry(void)
{
	vrmsg_Envelope e;

	memset(&e, 0, sizeof(e));
	e.which_body = vrmsg_Envelope_telemetry_tag;
	e.body.telemetry.uptime_us = 0x123456789ull;
	e.body.telemetry.cpu_temp_cdeg = -1234;
	e.body.telemetry.cpu_load_permille = 615;
	e.body.telemetry.frames_processed = 100000;
	e.body.telemetry.frames_dropped = 3;
	e.body.telemetry.vehicle_speed_cmps = 2778;
	e.body.telemetry.adas_active = true;
	e.body.telemetry.sensor_temp_cdeg_count = 4;
	e.body.telemetry.sensor_temp_cdeg[0] = 4100;
	e.body.telemetry.sensor_temp_cdeg[1] = -500;
	e.body.telemetry.sensor_temp_cdeg[2] = 0;
	e.body.telemetry.sensor_temp_cdeg[3] = 7000;
	e.body.telemetry.timestamp_ns = 0xFEDCBA9876543210ull;
	return e;
}

static void build_stream(void)
{
	vrmsg_Envelope e;
	uint8_t f[VR_MSGPB_FRAME_MAX];
	int n;
	uint32_t big = 0x7FFFFFF0u, c;

	memset(&e, 0, sizeof(e));
	e.which_body = vrmsg_Envelope_set_sensor_gain_tag;
	e.body.set_sensor_gain.sensor = vrmsg_Sensor_SENSOR_LIDAR;
	e.body.set_sensor_gain.level = vrmsg_GainLevel_GAIN_HIGH;
	e.body.set_sensor_gain.gain_mdb = -2500;
	put_env(VR_FRAME_T_REQUEST, 1, &e);
	put("\x00\x13\xA5\x00\xA5", 5); /* garbage, with lone magic bytes */

	memset(&e, 0, sizeof(e));
	e.which_body = vrmsg_Envelope_start_adas_processing_tag;
	e.body.start_adas_processing.stage_mask = 5;
	e.body.start_adas_processing.frame_rate_hz = 30;
	e.body.start_adas_processing.low_latency = true;
	put_env(VR_FRAME_T_REQUEST, 2, &e);

	/* A header that checks out but announces 2 GiB. */
	n = vr_frame_encode(f, sizeof(f), VR_FRAME_T_REQUEST, 0, 9, "x", 1);
	CHECK(n > 0);
	f[12] = (uint8_t)big;
	f[13] = (uint8_t)(big >> 8);
	f[14] = (uint8_t)(big >> 16);
	f[15] = (uint8_t)(big >> 24);
	c = vr_crc32c(0, f, 20);
	f[20] = (uint8_t)c;
	f[21] = (uint8_t)(c >> 8);
	f[22] = (uint8_t)(c >> 16);
	f[23] = (uint8_t)(c >> 24);
	put(f, (size_t)n);

	put_str("\nSTART_ADAS_PROCESSING\n");

	memset(&e, 0, sizeof(e));
	e.which_body = vrmsg_Envelope_get_telemetry_tag;
	e.body.get_telemetry.reset_counters = true;
	put_env(VR_FRAME_T_REQUEST, 3, &e);

	/* A damaged copy of a telemetry event, then the real one. */
	e = telemetry();
	n = vr_msgpb_encode(f, sizeof(f), VR_FRAME_T_EVENT, 0, 0, &e);
	CHECK(n > 40);
	f[40] ^= 0x20;
	put(f, (size_t)n);
	put_env(VR_FRAME_T_EVENT, 0, &e);
	put_str("SET_SENSOR_GAIN_HIGH\n");
}

static unsigned seen;

static int on_frame(void *ctx, const struct vr_frame *f)
{
	struct vr_req_table *t = (struct vr_req_table *)ctx;
	vrmsg_Envelope e, ref;
	uint8_t ans[VR_MSGPB_TEXT_ANSWER_MAX];
	int rc;

	switch (seen++) {
	case 0:
		CHECK(vr_msgpb_request(f, &e) == 0);
		CHECK(f->seq == 1 && e.which_body == vrmsg_Envelope_set_sensor_gain_tag);
		CHECK(e.body.set_sensor_gain.sensor == vrmsg_Sensor_SENSOR_LIDAR);
		CHECK(e.body.set_sensor_gain.level == vrmsg_GainLevel_GAIN_HIGH);
		CHECK(e.body.set_sensor_gain.gain_mdb == -2500);
		break;
	case 1:
		CHECK(vr_msgpb_request(f, &e) == 0);
		CHECK(f->seq == 2 && e.which_body == vrmsg_Envelope_start_adas_processing_tag);
		CHECK(e.body.start_adas_processing.stage_mask == 5);
		CHECK(e.body.start_adas_processing.frame_rate_hz == 30);
		CHECK(e.body.start_adas_processing.low_latency);
		break;
	case 2:
		CHECK(f->kind == VR_FRAME_KIND_TEXT);
		CHECK(vr_msgpb_request(f, &e) == 0);
		CHECK(e.which_body == vrmsg_Envelope_start_adas_processing_tag);
		rc = vr_msgpb_text_answer(ans, sizeof(ans), f->payload, f->len, NULL);
		CHECK(rc == 1 + 4 + 21 + 1 + 18 + 1);
		CHECK(ans[0] == '\n' && ans[1] == 'E' && ans[rc - 1] == '\n');
		break;
	case 3:
		CHECK(vr_msgpb_request(f, &e) == 0);
		CHECK(f->seq == 3 && e.which_body == vrmsg_Envelope_get_telemetry_tag);
		CHECK(e.body.get_telemetry.reset_counters);
		break;
	case 4:
		CHECK(f->type == VR_FRAME_T_EVENT);
		CHECK(vr_msgpb_request(f, &e) == VR_ENOMATCH); /* not a request */
		CHECK(vr_msgpb_decode(f, &e) == 0);
		ref = telemetry();
		CHECK(e.which_body == ref.which_body);
		CHECK(e.body.telemetry.uptime_us == ref.body.telemetry.uptime_us);
		CHECK(e.body.telemetry.cpu_temp_cdeg == ref.body.telemetry.cpu_temp_cdeg);
		CHECK(e.body.telemetry.cpu_load_permille == ref.body.telemetry.cpu_load_permille);
		CHECK(e.body.telemetry.frames_processed == ref.body.telemetry.frames_processed);
		CHECK(e.body.telemetry.frames_dropped == ref.body.telemetry.frames_dropped);
		CHECK(e.body.telemetry.vehicle_speed_cmps == ref.body.telemetry.vehicle_speed_cmps);
		CHECK(e.body.telemetry.adas_active == ref.body.telemetry.adas_active);
		CHECK(e.body.telemetry.sensor_temp_cdeg_count == 4);
		for (int i = 0; i < 4; i++)
			CHECK(e.body.telemetry.sensor_temp_cdeg[i] == ref.body.telemetry.sensor_temp_cdeg[i]);
		CHECK(e.body.telemetry.timestamp_ns == ref.body.telemetry.timestamp_ns);
		break;
	case 5:
		CHECK(vr_msgpb_request(f, &e) == 0);
		CHECK(e.which_body == vrmsg_Envelope_set_sensor_gain_tag);
		CHECK(e.body.set_sensor_gain.level == vrmsg_GainLevel_GAIN_HIGH);
		memset(&ref, 0, sizeof(ref));
		ref.which_body = vrmsg_Envelope_ack_tag;
		rc = vr_msgpb_text_answer(ans, sizeof(ans), f->payload, f->len, &ref.body.ack);
		CHECK(rc == 1 + 3 + 20 + 1 && ans[1] == 'O' && ans[2] == 'K');
		break;
	default:
		CHECK(0);
	}
	(void)t;
	return 0;
}

int vr_fs_main(void);
int vr_fs_main(void)
{
	struct vr_frame_parser p;
	struct vr_frame_parser_stats st;
	struct vr_req_slot slots[4];
	struct vr_req_table t;
	uint32_t seq[3];
	size_t off;

	CHECK(vr_crc32c(0, "123456789", 9) == 0xE3069283u);
	build_stream();
	CHECK(vr_frame_parser_init(&p, pbuf, sizeof(pbuf), VR_MSGPB_MAX_PAYLOAD, 0, 0) == 0);
	CHECK(vr_req_init(&t, slots, 4, 1) == 0);
	for (off = 0; off < stream_len; off += 7) {
		size_t n = stream_len - off < 7 ? stream_len - off : 7;

		CHECK(vr_frame_parser_push(&p, stream + off, n, on_frame, &t) >= 0);
	}
	CHECK(seen == 6);
	vr_frame_parser_get_stats(&p, &st);
	CHECK(st.frames == 4 && st.texts == 2);
	CHECK(st.drops[VR_FRAME_DROP_LENGTH] == 1);
	CHECK(st.drops[VR_FRAME_DROP_CRC] == 1);
	CHECK(st.bytes_in == st.bytes_yielded + st.bytes_dropped + st.bytes_blank);

	/* The other direction: requests out, answers matched. */
	for (int i = 0; i < 3; i++)
		CHECK(vr_req_start(&t, 1000, 50, &seq[i]) == 0);
	CHECK(vr_req_match(&t, seq[1], 1010) == 0);
	CHECK(vr_req_match(&t, seq[1], 1011) == VR_EDUPLICATE);
	CHECK(vr_req_match(&t, 77, 1011) == VR_ENOMATCH);
	CHECK(vr_req_match(&t, seq[0], 1060) == VR_ETIMEDOUT);
	CHECK(vr_req_expire(&t, 1060, &seq[2]) == 0);
	CHECK(vr_req_pending(&t) == 0);

	if (fails == 0) {
		out_s("vrmsg selftest: ok, ");
		out_u((uint32_t)st.frames);
		out_s(" frames, ");
		out_u((uint32_t)st.texts);
		out_s(" text commands, ");
		out_u((uint32_t)st.bytes_dropped);
		out_s(" bytes of garbage dropped\n");
	}
	return fails ? 1 : 0;
}
