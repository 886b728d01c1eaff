/* SPDX-License-Identifier: BSD-3-Clause */
/* vringctl: the JSON writer (json.h). */
#include <inttypes.h>
#include <string.h>

#include "json.h"

void vj_init(struct vj *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->depth = -1;
}

static void put_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* Separator, indentation and key of the next member. */
static void member(struct vj *j, const char *key)
{
	int i;

	if (j->depth >= 0) {
		if (!j->first[j->depth])
			fputc(',', j->out);
		j->first[j->depth] = false;
		fputc('\n', j->out);
		for (i = 0; i <= j->depth; i++)
			fputs("  ", j->out);
	}
	if (key) {
		put_string(j->out, key);
		fputs(": ", j->out);
	}
}

static void open_(struct vj *j, const char *key, char c)
{
	member(j, key);
	fputc(c, j->out);
	if (j->depth + 1 < VJ_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct vj *j, char c)
{
	int i;

	if (!j->first[j->depth]) {
		fputc('\n', j->out);
		for (i = 0; i < j->depth; i++)
			fputs("  ", j->out);
	}
	fputc(c, j->out);
	j->depth--;
}

void vj_obj(struct vj *j, const char *key)
{
	open_(j, key, '{');
}

void vj_end_obj(struct vj *j)
{
	close_(j, '}');
}

void vj_arr(struct vj *j, const char *key)
{
	open_(j, key, '[');
}

void vj_end_arr(struct vj *j)
{
	close_(j, ']');
}

void vj_u64(struct vj *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->out, "%" PRIu64, v);
}

void vj_i64(struct vj *j, const char *key, int64_t v)
{
	member(j, key);
	fprintf(j->out, "%" PRId64, v);
}

void vj_hex(struct vj *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->out, "\"0x%" PRIx64 "\"", v);
}

void vj_str(struct vj *j, const char *key, const char *s)
{
	member(j, key);
	put_string(j->out, s);
}

void vj_bool(struct vj *j, const char *key, bool v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->out);
}

void vj_null(struct vj *j, const char *key)
{
	member(j, key);
	fputs("null", j->out);
}

void vj_names(struct vj *j, const char *key, const char *names)
{
	char one[64];
	const char *p = names;

	vj_arr(j, key);
	if (strcmp(names, "-") != 0) {
		while (*p) {
			size_t n = strcspn(p, "|");

			if (n >= sizeof(one))
				n = sizeof(one) - 1;
			memcpy(one, p, n);
			one[n] = '\0';
			vj_str(j, NULL, one);
			p += strcspn(p, "|");
			if (*p == '|')
				p++;
		}
	}
	vj_end_arr(j);
}

void vj_finish(struct vj *j)
{
	fputc('\n', j->out);
}
