/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The policies and loads of the matrix: their names, their parameters, how
 * a command-line spec changes them, and how a policy is put in force on a
 * channel end.
 */
#include "lat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const vl_default_policies[] = {
	"notify-always", "flags", "event-idx", "coalesce", "adaptive", "polling",
	NULL};

const char *const vl_default_loads[] = {"single", "paced-10k", "paced-100k",
					"saturation", NULL};

/* Adaptive waiting for this benchmark: start with a 4 us spin, enough to
 * catch a reply that is on its way when the peer is awake (a round trip is
 * 1-2 us then); from there the channel chooses the budget from the gaps it
 * sees and the wake-up cost it measures (vring/channel.h, VR_WAIT_ADAPTIVE):
 * up to 30 us, about what one eventfd wake-up costs on the VM this was
 * tuned on (10-25 us one way), and down to no spin at all, so that at low
 * load (10k/s: 100 us gaps) a wait blocks at once as event-idx does. */
#define ADAPT_SPIN_NS 4000u
#define ADAPT_SPIN_MIN_NS 0u
#define ADAPT_SPIN_MAX_NS 30000u

/* Coalescing: one doorbell per 16 messages or 50 us. */
#define COALESCE_MSGS 16u
#define COALESCE_US 50u

static int builtin(const char *name, struct vl_policy *p)
{
	memset(p, 0, sizeof(*p));
	/* At most 31 characters (gcc -Os: -Wformat-truncation). */
	snprintf(p->name, sizeof(p->name), "%.31s", name);
	snprintf(p->base, sizeof(p->base), "%.31s", name);
	p->notify.mode = VR_NOTIFY_AS_ASKED;
	p->wait.mode = VR_WAIT_BLOCK;
	if (strcmp(name, "notify-always") == 0) {
		p->notify.mode = VR_NOTIFY_ALWAYS;
	} else if (strcmp(name, "flags") == 0) {
		/* Flag suppression: no EVENT_IDX negotiated. */
	} else if (strcmp(name, "event-idx") == 0) {
		p->event_idx = true;
	} else if (strcmp(name, "coalesce") == 0) {
		p->event_idx = true;
		p->notify.coalesce_msgs = COALESCE_MSGS;
		p->notify.coalesce_us = COALESCE_US;
	} else if (strcmp(name, "adaptive") == 0) {
		p->event_idx = true;
		p->wait.mode = VR_WAIT_ADAPTIVE;
		p->wait.spin_ns = ADAPT_SPIN_NS;
		p->wait.spin_min_ns = ADAPT_SPIN_MIN_NS;
		p->wait.spin_max_ns = ADAPT_SPIN_MAX_NS;
		p->wait.adapt = true;
	} else if (strcmp(name, "polling") == 0) {
		p->event_idx = true;
		p->polling = true;
		p->wait.mode = VR_WAIT_POLL;
	} else {
		return -1;
	}
	return 0;
}

static void describe(struct vl_policy *p)
{
	static const char *const wait_names[] = {"block", "poll", "adaptive"};
	char w[96], n[64];
	size_t len;

	if (p->wait.mode == VR_WAIT_ADAPTIVE)
		snprintf(w, sizeof(w), "adaptive spin %u ns%s (%u..%u)", p->wait.spin_ns,
			 p->wait.adapt ? " adapting" : " fixed", p->wait.spin_min_ns,
			 p->wait.spin_max_ns);
	else
		snprintf(w, sizeof(w), "%s", wait_names[p->wait.mode]);
	if (p->notify.coalesce_msgs > 1)
		snprintf(n, sizeof(n), "coalesce %u msgs/%u us", p->notify.coalesce_msgs,
			 p->notify.coalesce_us);
	else
		snprintf(n, sizeof(n), "%s",
			 p->notify.mode == VR_NOTIFY_ALWAYS ? "notify always" : "as asked");
	len = (size_t)snprintf(p->params, sizeof(p->params), "%s; %s; %s",
			       p->polling ? "polling transport (no doorbells)"
			       : p->event_idx ? "EVENT_IDX" : "flags (no EVENT_IDX)",
			       n, w);
	if (p->notify.batch > 1 && len < sizeof(p->params))
		snprintf(p->params + len, sizeof(p->params) - len, "; batch %u",
			 p->notify.batch);
}

static int parse_u32(const char *key, const char *val, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || end == val || *end || v > UINT32_MAX) {
		fprintf(stderr, VL_PROG ": policy parameter %s: \"%s\" is not a number\n",
			key, val);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int vl_policy_parse(const char *spec, struct vl_policy *p)
{
	char buf[256], *colon, *kv, *save = NULL;
	uint32_t adapt = 0; /* gcc -O3: maybe-uninitialized */

	if (strlen(spec) >= sizeof(buf)) {
		fprintf(stderr, VL_PROG ": policy spec too long: %s\n", spec);
		return -1;
	}
	strcpy(buf, spec);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (builtin(buf, p) != 0) {
		fprintf(stderr, VL_PROG ": unknown policy \"%s\" (notify-always, flags, "
				"event-idx, coalesce, adaptive, polling)\n", buf);
		return -1;
	}
	for (kv = colon ? strtok_r(colon + 1, ",", &save) : NULL; kv;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		const char *val;
		int err = 0;

		if (!eq) {
			fprintf(stderr, VL_PROG ": policy parameter \"%s\" needs =value\n", kv);
			return -1;
		}
		*eq = '\0';
		val = eq + 1;
		if (strcmp(kv, "label") == 0)
			snprintf(p->name, sizeof(p->name), "%s", val);
		else if (strcmp(kv, "spin_ns") == 0)
			err = parse_u32(kv, val, &p->wait.spin_ns);
		else if (strcmp(kv, "spin_min_ns") == 0)
			err = parse_u32(kv, val, &p->wait.spin_min_ns);
		else if (strcmp(kv, "spin_max_ns") == 0)
			err = parse_u32(kv, val, &p->wait.spin_max_ns);
		else if (strcmp(kv, "adapt") == 0) {
			err = parse_u32(kv, val, &adapt);
			p->wait.adapt = adapt != 0;
		} else if (strcmp(kv, "coalesce_msgs") == 0)
			err = parse_u32(kv, val, &p->notify.coalesce_msgs);
		else if (strcmp(kv, "coalesce_us") == 0)
			err = parse_u32(kv, val, &p->notify.coalesce_us);
		else if (strcmp(kv, "batch") == 0)
			err = parse_u32(kv, val, &p->notify.batch);
		else {
			fprintf(stderr, VL_PROG ": unknown policy parameter \"%s\" (spin_ns, "
					"spin_min_ns, spin_max_ns, adapt, coalesce_msgs, "
					"coalesce_us, batch, label)\n", kv);
			return -1;
		}
		if (err)
			return -1;
	}
	if (p->wait.mode == VR_WAIT_ADAPTIVE && p->wait.adapt &&
	    (p->wait.spin_min_ns > p->wait.spin_ns || p->wait.spin_ns > p->wait.spin_max_ns)) {
		fprintf(stderr, VL_PROG ": policy %s: need spin_min_ns <= spin_ns <= "
				"spin_max_ns\n", p->name);
		return -1;
	}
	if (p->notify.coalesce_msgs > 1 && p->notify.coalesce_us == 0) {
		fprintf(stderr, VL_PROG ": policy %s: coalesce_msgs needs coalesce_us\n",
			p->name);
		return -1;
	}
	describe(p);
	return 0;
}

uint64_t vl_policy_features(const struct vl_policy *p)
{
	uint64_t f = VR_FEATURE(VR_F_VERSION_1);

	if (p->event_idx)
		f |= VR_FEATURE(VR_F_EVENT_IDX);
	return f;
}

int vl_policy_apply(const struct vl_policy *p, struct vr_chan *ch)
{
	uint32_t q;
	int err;

	for (q = VR_CHAN_TX; q <= VR_CHAN_RX; q++) {
		err = vr_chan_set_notify_policy(ch, q, &p->notify);
		if (!err)
			err = vr_chan_set_wait_policy(ch, q, &p->wait);
		if (err)
			return err;
	}
	return 0;
}

/* ---- Loads ----------------------------------------------------------------------- */

/* Default measured seconds per load: the whole default matrix (6 policies)
 * then takes about two minutes; the 10k/s run is the longest so that its
 * p99.99 rests on several samples (80 000 round trips). */
#define SECONDS_SINGLE 3.0
#define SECONDS_PACED_10K 8.0
#define SECONDS_PACED 4.0
#define SECONDS_SATURATION 3.0

int vl_load_parse(const char *spec, struct vl_load *l)
{
	char buf[sizeof(l->name)], *at, *end;
	double secs = 0;

	memset(l, 0, sizeof(*l));
	if (strlen(spec) >= sizeof(buf))
		goto bad;
	strcpy(buf, spec);
	at = strchr(buf, '@'); /* "paced-10k@5": 5 seconds */
	if (at) {
		*at = '\0';
		secs = strtod(at + 1, &end);
		if (end == at + 1 || *end || secs <= 0)
			goto bad;
	}
	snprintf(l->name, sizeof(l->name), "%s", buf);
	if (strcmp(buf, "single") == 0) {
		l->kind = VL_LOAD_SINGLE;
		l->seconds = SECONDS_SINGLE;
	} else if (strcmp(buf, "saturation") == 0) {
		l->kind = VL_LOAD_SATURATION;
		l->seconds = SECONDS_SATURATION;
	} else if (strncmp(buf, "paced-", 6) == 0) {
		double r = strtod(buf + 6, &end);

		if (end == buf + 6 || r <= 0)
			goto bad;
		if (*end == 'k')
			r *= 1e3, end++;
		else if (*end == 'M')
			r *= 1e6, end++;
		if (*end || r < 1 || r > 10e6)
			goto bad;
		l->kind = VL_LOAD_PACED;
		l->rate = (uint64_t)r;
		l->seconds = l->rate <= 20000 ? SECONDS_PACED_10K : SECONDS_PACED;
	} else {
		goto bad;
	}
	if (secs > 0)
		l->seconds = secs;
	return 0;
bad:
	fprintf(stderr, VL_PROG ": bad load \"%s\" (single, paced-RATE[k|M], saturation; "
			"optionally @SECONDS)\n", spec);
	return -1;
}
