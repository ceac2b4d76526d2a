/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblkctl - a small JSON writer: objects, arrays, strings, unsigned
 * numbers and null, indented by two spaces per level as `jq .` would.
 * Callers nest at most JSON_MAX_DEPTH levels and end what they begin.
 */
#ifndef SNAPBLKCTL_JSON_H
#define SNAPBLKCTL_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#define JSON_MAX_DEPTH	8

/**
 * struct json - writer state.
 * @f: where to write.
 * @depth: how many objects and arrays are open.
 * @count: per open level, how many members were written.
 * @in_key: a key was written, its value comes next.
 */
struct json {
	FILE *f;
	int depth;
	unsigned int count[JSON_MAX_DEPTH];
	bool in_key;
};

void json_init(struct json *j, FILE *f);
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);
void json_uint(struct json *j, __u64 val);
void json_null(struct json *j);

/* Write @s as a JSON string literal, quotes included. */
void json_write_string(FILE *f, const char *s);

#endif /* SNAPBLKCTL_JSON_H */
