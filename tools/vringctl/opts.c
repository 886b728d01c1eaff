/* SPDX-License-Identifier: BSD-3-Clause */
/* vringctl: the command-line parser every command shares. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vringctl.h"

static const struct vc_opt *find_opt(const struct vc_opt *opts, const char *name,
				     size_t len)
{
	for (; opts->name; opts++)
		if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
			return opts;
	return NULL;
}

int vc_next_arg(struct vc_args *a, const struct vc_opt *opts, const char **val)
{
	const struct vc_opt *o;
	const char *arg, *eq;
	size_t len;

	*val = NULL;
	if (a->i >= a->argc)
		return VC_ARG_END;
	arg = a->argv[a->i++];
	if (a->only_pos || arg[0] != '-' || strcmp(arg, "-") == 0) {
		*val = arg;
		return VC_ARG_POS;
	}
	if (strcmp(arg, "--") == 0) {
		a->only_pos = true;
		return vc_next_arg(a, opts, val);
	}
	if (strcmp(arg, "-h") == 0)
		arg = "--help";
	eq = strchr(arg, '=');
	len = eq ? (size_t)(eq - arg) : strlen(arg);
	o = find_opt(opts, arg, len);
	if (!o) {
		vc_err(a->cmd, "unknown option \"%.*s\" (try vringctl %s --help)",
		       (int)len, arg, a->cmd);
		return VC_ARG_ERR;
	}
	if (!o->has_arg) {
		if (eq) {
			vc_err(a->cmd, "option %s takes no value", o->name);
			return VC_ARG_ERR;
		}
		return o->id;
	}
	if (eq) {
		*val = eq + 1;
	} else {
		if (a->i >= a->argc) {
			vc_err(a->cmd, "option %s needs a value", o->name);
			return VC_ARG_ERR;
		}
		*val = a->argv[a->i++];
	}
	return o->id;
}

int vc_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t min,
		 uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+') {
		vc_err(cmd, "%s: \"%s\" is not a number", opt, s ? s : "");
		return -1;
	}
	v = strtoull(s, &end, 0);
	if (errno || *end) {
		vc_err(cmd, "%s: \"%s\" is not a number", opt, s);
		return -1;
	}
	if (v < min || v > max) {
		vc_err(cmd, "%s: %s is out of range (%llu..%llu)", opt, s,
		       (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

int vc_parse_secs(const char *cmd, const char *opt, const char *s, uint64_t *ns)
{
	/* Digits, an optional fraction, an optional unit; no exponent, no
	 * sign: strtod would accept "inf" and "1e9". */
	uint64_t whole = 0, frac = 0, scale = 1, unit = 1000000000ull;
	const char *p = s;
	int digits = 0;

	if (!s)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (whole > 1000000000ull)
			goto bad;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			if (scale < 1000000000ull) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
		}
	}
	if (digits == 0)
		goto bad;
	if (strcmp(p, "ms") == 0)
		unit = 1000000ull;
	else if (strcmp(p, "s") != 0 && *p != '\0')
		goto bad;
	if (whole > 86400ull * 365)
		goto bad;
	*ns = whole * unit + frac * unit / scale;
	return 0;
bad:
	vc_err(cmd, "%s: \"%s\" is not a duration (seconds, e.g. 2, 0.5, 250ms)",
	       opt, s);
	return -1;
}

int vc_take_region(const char *cmd, const char **region, const char *val)
{
	if (*region) {
		vc_err(cmd, "unexpected argument \"%s\" (try vringctl %s --help)",
		       val, cmd);
		return -1;
	}
	*region = val;
	return 0;
}

int vc_need_region(const char *cmd, const char *region)
{
	if (region)
		return 0;
	vc_err(cmd, "missing REGION (try vringctl %s --help)", cmd);
	return -1;
}
