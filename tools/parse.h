/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblkctl - command line parsing: options, sizes, names.
 *
 * These functions do no I/O besides printing a usage error, so that
 * tools/tests/test_parse.c can exercise them on the host.
 */
#ifndef SNAPBLKCTL_PARSE_H
#define SNAPBLKCTL_PARSE_H

#include <stdbool.h>
#include <linux/types.h>

enum opt_id {
	OPT_CHUNK_SIZE,
	OPT_NAME,
	OPT_ON_FULL,
	OPT_BASE,
	OPT_ORIGIN,
	OPT_WAIT,
	OPT_JSON,
	OPT_HELP,
	OPT_NR
};

#define OPTF(id)	(1U << (id))
#define ARGS_MAX_POS	2

/**
 * struct args - a parsed command line.
 * @val: per option: NULL if absent, its value, or "" for a flag.
 * @pos: the positional arguments, in order.
 * @nr_pos: how many of @pos are set.
 */
struct args {
	const char *val[OPT_NR];
	const char *pos[ARGS_MAX_POS];
	int nr_pos;
};

/*
 * Parse @argc words of @argv: options in @allowed (a mask of OPTF())
 * plus --help/-h, anywhere, and at most @max_pos positionals. Returns 0
 * or EXIT_USAGE after printing why.
 */
int args_parse(int argc, char *const *argv, unsigned int allowed, int max_pos,
	       struct args *a);

/* "--chunk-size" and so on, for messages. */
const char *opt_name(enum opt_id id);

/*
 * Parse a chunk SIZE ("64K", "1M", "4096", "64KiB") into *@bytes: a
 * power of two from SNAPBLK_CHUNK_MIN to SNAPBLK_CHUNK_MAX. Returns 0 or
 * EXIT_USAGE after printing why.
 */
int parse_chunk_size(const char *s, __u32 *bytes);

/* Parse a number with an optional K/M suffix, no range check: 0 or -1. */
int parse_bytes(const char *s, __u64 *bytes);

/* Check a device NAME: 0 or EXIT_USAGE after printing why. */
int check_name(const char *name);

/* Parse "invalidate" or "block-writes": 0 or EXIT_USAGE. */
int parse_on_full(const char *s, __u32 *on_full);

/*
 * Parse a kernel device name "snapblkN" (no partition, no leading
 * zero) into *@index: true on success.
 */
bool parse_disk_name(const char *s, __u32 *index);

#endif /* SNAPBLKCTL_PARSE_H */
