/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jsoncheck: parse one JSON document (RFC 8259, strictly) from standard
 * input and print every leaf as "PATH VALUE", e.g.
 *
 *   .queues[0].avail.idx 4
 *   .findings[0].code "VR_ELOOP"
 *
 * so that shell tests can look values up. Exit 0 when the document is
 * valid (and nothing follows it), 1 with the offset of the first error
 * otherwise. Used instead of a scripting language so the tests need
 * nothing beyond the compiler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *src;
static size_t pos, len;

static int fail(const char *why)
{
	fprintf(stderr, "jsoncheck: %s at offset %zu\n", why, pos);
	exit(1);
}

static void ws(void)
{
	while (pos < len && (src[pos] == ' ' || src[pos] == '\t' || src[pos] == '\n' ||
			     src[pos] == '\r'))
		pos++;
}

static int hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string token; returns its start (the quote) and leaves pos after it. */
static size_t string(void)
{
	size_t start = pos;

	if (pos >= len || src[pos] != '"')
		fail("expected a string");
	pos++;
	for (;;) {
		unsigned char c;

		if (pos >= len)
			fail("unterminated string");
		c = (unsigned char)src[pos++];
		if (c == '"')
			return start;
		if (c < 0x20)
			fail("control character in a string");
		if (c == '\\') {
			if (pos >= len)
				fail("unterminated escape");
			c = (unsigned char)src[pos++];
			if (c == 'u') {
				int i;

				for (i = 0; i < 4; i++)
					if (pos >= len || !hex(src[pos++]))
						fail("bad \\u escape");
			} else if (!strchr("\"\\/bfnrt", c)) {
				fail("bad escape");
			}
		}
	}
}

static void digits(void)
{
	if (pos >= len || src[pos] < '0' || src[pos] > '9')
		fail("expected a digit");
	while (pos < len && src[pos] >= '0' && src[pos] <= '9')
		pos++;
}

static void number(void)
{
	if (src[pos] == '-')
		pos++;
	if (pos < len && src[pos] == '0')
		pos++;
	else
		digits();
	if (pos < len && src[pos] == '.') {
		pos++;
		digits();
	}
	if (pos < len && (src[pos] == 'e' || src[pos] == 'E')) {
		pos++;
		if (pos < len && (src[pos] == '+' || src[pos] == '-'))
			pos++;
		digits();
	}
}

static void value(char *path, size_t plen, int depth);

static void leaf(const char *path, size_t from)
{
	printf("%s %.*s\n", path[0] ? path : ".", (int)(pos - from), src + from);
}

static void value(char *path, size_t plen, int depth)
{
	size_t from;

	if (depth > 64)
		fail("nested too deeply");
	ws();
	if (pos >= len)
		fail("unexpected end");
	from = pos;
	if (src[pos] == '{') {
		pos++;
		ws();
		if (pos < len && src[pos] == '}') {
			pos++;
			return;
		}
		for (;;) {
			size_t k, klen;

			ws();
			k = string();
			klen = pos - k - 2;
			if (plen + klen + 2 >= 4096)
				fail("path too long");
			path[plen] = '.';
			memcpy(path + plen + 1, src + k + 1, klen);
			path[plen + 1 + klen] = '\0';
			ws();
			if (pos >= len || src[pos++] != ':')
				fail("expected ':'");
			value(path, plen + 1 + klen, depth + 1);
			path[plen] = '\0';
			ws();
			if (pos < len && src[pos] == ',') {
				pos++;
				continue;
			}
			if (pos < len && src[pos] == '}') {
				pos++;
				return;
			}
			fail("expected ',' or '}'");
		}
	}
	if (src[pos] == '[') {
		size_t i = 0;

		pos++;
		ws();
		if (pos < len && src[pos] == ']') {
			pos++;
			return;
		}
		for (;; i++) {
			int n = snprintf(path + plen, 4096 - plen, "[%zu]", i);

			if (n < 0 || plen + (size_t)n >= 4096)
				fail("path too long");
			value(path, plen + (size_t)n, depth + 1);
			path[plen] = '\0';
			ws();
			if (pos < len && src[pos] == ',') {
				pos++;
				continue;
			}
			if (pos < len && src[pos] == ']') {
				pos++;
				return;
			}
			fail("expected ',' or ']'");
		}
	}
	if (src[pos] == '"') {
		string();
	} else if (src[pos] == '-' || (src[pos] >= '0' && src[pos] <= '9')) {
		number();
	} else if (len - pos >= 4 && memcmp(src + pos, "true", 4) == 0) {
		pos += 4;
	} else if (len - pos >= 5 && memcmp(src + pos, "false", 5) == 0) {
		pos += 5;
	} else if (len - pos >= 4 && memcmp(src + pos, "null", 4) == 0) {
		pos += 4;
	} else {
		fail("unexpected character");
	}
	leaf(path, from);
}

int main(void)
{
	static char path[4096];
	size_t cap = 1 << 16;
	char *buf = malloc(cap);
	size_t n;

	if (!buf)
		return 1;
	while ((n = fread(buf + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				return 1;
			buf = nb;
			cap *= 2;
		}
	}
	src = buf;
	value(path, 0, 0);
	ws();
	if (pos != len)
		fail("text after the document");
	free(buf);
	return 0;
}
