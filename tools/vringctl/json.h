/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vringctl: a small JSON writer (RFC 8259), indented two spaces. Members
 * take a key inside objects and NULL inside arrays. 64-bit values that may
 * exceed 2^53 (addresses, feature words) are written as "0x..." strings so
 * that every JSON reader gets them exactly.
 */
#ifndef VRINGCTL_JSON_H
#define VRINGCTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define VJ_MAX_DEPTH 16

struct vj {
	FILE *out;
	int depth;
	bool first[VJ_MAX_DEPTH];
};

void vj_init(struct vj *j, FILE *out);
void vj_obj(struct vj *j, const char *key);
void vj_end_obj(struct vj *j);
void vj_arr(struct vj *j, const char *key);
void vj_end_arr(struct vj *j);
void vj_u64(struct vj *j, const char *key, uint64_t v);
void vj_i64(struct vj *j, const char *key, int64_t v);
void vj_hex(struct vj *j, const char *key, uint64_t v);
void vj_str(struct vj *j, const char *key, const char *s);
void vj_bool(struct vj *j, const char *key, bool v);
void vj_null(struct vj *j, const char *key);
/* A "A|B|C" name list as an array of strings ("-" gives []). */
void vj_names(struct vj *j, const char *key, const char *names);
/* End the document with a newline. */
void vj_finish(struct vj *j);

#endif /* VRINGCTL_JSON_H */
