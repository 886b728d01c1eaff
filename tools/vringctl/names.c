/* SPDX-License-Identifier: BSD-3-Clause */
/* vringctl: names of feature bits, status bits, descriptor and event flags,
 * statistics counters, and what a region parse error means. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "vringctl.h"

struct bit_name {
	unsigned bit;
	const char *name;
	const char *alias; /* accepted by --features, lower case */
};

static const struct bit_name features[] = {
	{VR_F_INDIRECT_DESC, "INDIRECT_DESC", "indirect"},
	{VR_F_EVENT_IDX, "EVENT_IDX", NULL},
	{VR_F_VERSION_1, "VERSION_1", NULL},
	{VR_F_RING_PACKED, "RING_PACKED", NULL},
	{VR_F_IN_ORDER, "IN_ORDER", NULL},
	{VR_F_RING_RESET, "RING_RESET", NULL},
};

#define NFEATURES (sizeof(features) / sizeof(features[0]))

/* Append "|name" (or "name" first) to @out without overflowing it. */
static void append(char *out, size_t len, const char *name)
{
	size_t n = strlen(out);

	if (n + 1 >= len)
		return;
	snprintf(out + n, len - n, "%s%s", n ? "|" : "", name);
}

const char *vc_feature_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < NFEATURES; i++)
		if (features[i].bit == bit)
			return features[i].name;
	return NULL;
}

void vc_feature_names(uint64_t f, char *out, size_t len)
{
	unsigned bit;

	out[0] = '\0';
	for (bit = 0; bit < 64; bit++) {
		const char *name;
		char tmp[16];

		if (!(f & ((uint64_t)1 << bit)))
			continue;
		name = vc_feature_name(bit);
		if (!name) {
			snprintf(tmp, sizeof(tmp), "bit%u", bit);
			name = tmp;
		}
		append(out, len, name);
	}
	if (!out[0])
		snprintf(out, len, "-");
}

int vc_feature_bit(const char *name)
{
	size_t i;

	for (i = 0; i < NFEATURES; i++)
		if (strcasecmp(name, features[i].name) == 0 ||
		    (features[i].alias && strcasecmp(name, features[i].alias) == 0))
			return (int)features[i].bit;
	return -1;
}

const char *vc_feature_list(void)
{
	return "indirect_desc (or indirect), event_idx, in_order, ring_reset, "
	       "version_1, ring_packed";
}

void vc_status_names(uint32_t s, char *out, size_t len)
{
	static const struct bit_name bits[] = {
		{0, "ACKNOWLEDGE", NULL}, {1, "DRIVER", NULL},
		{3, "FEATURES_OK", NULL}, {2, "DRIVER_OK", NULL},
		{6, "NEEDS_RESET", NULL}, {7, "FAILED", NULL},
	};
	uint32_t known = 0;
	size_t i;

	out[0] = '\0';
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		known |= 1u << bits[i].bit;
		if (s & (1u << bits[i].bit))
			append(out, len, bits[i].name);
	}
	if (s & ~known) {
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "unknown(0x%x)", s & ~known);
		append(out, len, tmp);
	}
	if (!out[0])
		snprintf(out, len, "-");
}

void vc_desc_flag_names(uint16_t flags, bool packed, char *out, size_t len)
{
	uint16_t known = VR_DESC_F_NEXT | VR_DESC_F_WRITE | VR_DESC_F_INDIRECT;

	out[0] = '\0';
	if (flags & VR_DESC_F_NEXT)
		append(out, len, "NEXT");
	if (flags & VR_DESC_F_WRITE)
		append(out, len, "WRITE");
	if (flags & VR_DESC_F_INDIRECT)
		append(out, len, "INDIRECT");
	if (packed) {
		known |= VR_DESC_F_AVAIL | VR_DESC_F_USED;
		if (flags & VR_DESC_F_AVAIL)
			append(out, len, "AVAIL");
		if (flags & VR_DESC_F_USED)
			append(out, len, "USED");
	}
	if (flags & ~known) {
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "0x%x", (unsigned)(flags & ~known));
		append(out, len, tmp);
	}
	if (!out[0])
		snprintf(out, len, "-");
}

const char *vc_event_flags_name(uint16_t flags)
{
	switch (flags) {
	case VR_EVENT_F_ENABLE:
		return "ENABLE";
	case VR_EVENT_F_DISABLE:
		return "DISABLE";
	case VR_EVENT_F_DESC:
		return "DESC";
	default:
		return "reserved";
	}
}

const char *vc_stat_name(unsigned slot)
{
	static const char *const names[] = {
		"published", "consumed", "notifies", "suppressed", "coalesced",
		"waits", "wakeups", "spurious", "spins", "spin_hits", "error",
	};

	return slot < sizeof(names) / sizeof(names[0]) ? names[slot] : NULL;
}

const char *vc_region_error_text(int err)
{
	switch (err) {
	case VR_ETRUNC:
		return "truncated: shorter than its header page or than the size "
		       "its header states";
	case VR_EMAGIC:
		return "not a libvring region (bad magic)";
	case VR_EVERSION:
		return "unsupported region layout version";
	case VR_EREGION:
		return "inconsistent region header (run vringctl check for details)";
	case VR_EALIGN:
		return "misaligned copy (internal error)";
	default:
		return "unusable region";
	}
}
