// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - a small JSON writer.
 */
#include <string.h>

#include "json.h"

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void indent(struct json *j)
{
	int i;

	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Start a value: after its key, or as the next member of an array. */
static void begin_value(struct json *j)
{
	if (j->in_key) {
		j->in_key = false;
		return;
	}
	if (!j->depth)
		return;
	if (j->count[j->depth - 1]++)
		fputc(',', j->f);
	indent(j);
}

static void open_level(struct json *j, char c)
{
	begin_value(j);
	fputc(c, j->f);
	j->count[j->depth++] = 0;
}

static void close_level(struct json *j, char c)
{
	bool empty = !j->count[j->depth - 1];

	j->depth--;
	if (!empty)
		indent(j);
	fputc(c, j->f);
	if (!j->depth)
		fputc('\n', j->f);
}

void json_begin_object(struct json *j)
{
	open_level(j, '{');
}

void json_end_object(struct json *j)
{
	close_level(j, '}');
}

void json_begin_array(struct json *j)
{
	open_level(j, '[');
}

void json_end_array(struct json *j)
{
	close_level(j, ']');
}

void json_key(struct json *j, const char *key)
{
	begin_value(j);
	json_write_string(j->f, key);
	fputs(": ", j->f);
	j->in_key = true;
}

void json_write_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			/* control bytes; bytes >= 0x80 too: names are ASCII */
			if (*p < 0x20 || *p >= 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void json_string(struct json *j, const char *s)
{
	begin_value(j);
	json_write_string(j->f, s);
}

void json_uint(struct json *j, __u64 val)
{
	begin_value(j);
	fprintf(j->f, "%llu", (unsigned long long)val);
}

void json_null(struct json *j)
{
	begin_value(j);
	fputs("null", j->f);
}
