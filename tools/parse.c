// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - command line parsing: options, sizes, names.
 */
#include <stdint.h>
#include <string.h>

#include <linux/snapblk.h>

#include "msg.h"
#include "parse.h"

struct opt_def {
	const char *name;
	bool has_arg;
};

static const struct opt_def opt_defs[OPT_NR] = {
	[OPT_CHUNK_SIZE]	= { "--chunk-size",	true },
	[OPT_NAME]		= { "--name",		true },
	[OPT_ON_FULL]		= { "--on-full",	true },
	[OPT_BASE]		= { "--base",		true },
	[OPT_ORIGIN]		= { "--origin",		true },
	[OPT_WAIT]		= { "--wait",		false },
	[OPT_JSON]		= { "--json",		false },
	[OPT_HELP]		= { "--help",		false },
};

const char *opt_name(enum opt_id id)
{
	return opt_defs[id].name;
}

/* Find the option @word names ("--name" or "--name=..."); -1 if none. */
static int opt_lookup(const char *word, const char **eq)
{
	size_t len;
	int i;

	*eq = strchr(word, '=');
	len = *eq ? (size_t)(*eq - word) : strlen(word);
	if (len == 2 && !strncmp(word, "-h", 2))
		return OPT_HELP;
	for (i = 0; i < OPT_NR; i++) {
		if (strlen(opt_defs[i].name) == len &&
		    !strncmp(word, opt_defs[i].name, len))
			return i;
	}
	return -1;
}

/* Handle the option at argv[*i]; advances *i past a separate value. */
static int take_option(int argc, char *const *argv, int *i,
		       unsigned int allowed, struct args *a)
{
	const char *word = argv[*i];
	const char *eq, *val;
	int id;

	id = opt_lookup(word, &eq);
	if (id < 0 || (id != OPT_HELP && !(allowed & OPTF(id))))
		return err_usage("unknown option '%s' (see '" PROG_NAME " help %s')",
				 word, msg_cmd());
	if (!opt_defs[id].has_arg) {
		if (eq)
			return err_usage("option '%s' takes no value",
					 opt_defs[id].name);
		val = "";
	} else if (eq) {
		val = eq + 1;
	} else if (*i + 1 < argc) {
		val = argv[++*i];
	} else {
		return err_usage("option '%s' needs a value", word);
	}
	if (a->val[id] && id != OPT_HELP)
		return err_usage("option '%s' given more than once",
				 opt_defs[id].name);
	a->val[id] = val;
	return 0;
}

int args_parse(int argc, char *const *argv, unsigned int allowed, int max_pos,
	       struct args *a)
{
	bool opts_done = false;
	int i, ret;

	memset(a, 0, sizeof(*a));
	if (max_pos > ARGS_MAX_POS)
		max_pos = ARGS_MAX_POS;
	for (i = 0; i < argc; i++) {
		const char *word = argv[i];

		if (!opts_done && !strcmp(word, "--")) {
			opts_done = true;
			continue;
		}
		if (!opts_done && word[0] == '-' && word[1]) {
			ret = take_option(argc, argv, &i, allowed, a);
			if (ret)
				return ret;
			continue;
		}
		if (a->nr_pos >= max_pos)
			return err_usage("unexpected argument '%s' (see '" PROG_NAME
					 " help %s')", word, msg_cmd());
		a->pos[a->nr_pos++] = word;
	}
	return 0;
}

/* Unit of a size suffix: "", K, k, KiB, M, m, MiB; 0 if not one. */
static __u64 suffix_unit(const char *s)
{
	__u64 unit;

	switch (s[0]) {
	case '\0':
		return 1;
	case 'K':
	case 'k':
		unit = 1024;
		break;
	case 'M':
	case 'm':
		unit = 1024 * 1024;
		break;
	default:
		return 0;
	}
	if (!s[1] || !strcmp(s + 1, "iB"))
		return unit;
	return 0;
}

int parse_bytes(const char *s, __u64 *bytes)
{
	__u64 val = 0, unit;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (val > (UINT64_MAX - (*s - '0')) / 10)
			return -1;
		val = val * 10 + (*s - '0');
	}
	unit = suffix_unit(s);
	if (!unit || val > UINT64_MAX / unit)
		return -1;
	*bytes = val * unit;
	return 0;
}

int parse_chunk_size(const char *s, __u32 *bytes)
{
	__u64 val;

	if (parse_bytes(s, &val))
		return err_usage("invalid chunk size '%s' (expected e.g. 4K, 64K or 1M)",
				 s);
	if (val < SNAPBLK_CHUNK_MIN || val > SNAPBLK_CHUNK_MAX ||
	    (val & (val - 1)))
		return err_usage("chunk size '%s' is not a power of two from 4K to 1M",
				 s);
	*bytes = (__u32)val;
	return 0;
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* Why @name would read as a path or a device, or NULL if it does not. */
static const char *name_reserved(const char *name)
{
	const char *p = name + strlen(SNAPBLK_DISK_NAME);

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "looks like a path";
	if (!strcmp(name, SNAPBLK_CTL_NAME) ||
	    (!strncmp(name, SNAPBLK_DISK_NAME, strlen(SNAPBLK_DISK_NAME)) &&
	     *p >= '0' && *p <= '9'))
		return "looks like a device name";
	return NULL;
}

int check_name(const char *name)
{
	size_t len = strlen(name);
	size_t i;

	if (!len)
		return err_usage("empty name");
	if (len >= SNAPBLK_NAME_LEN)
		return err_usage("name '%s' is longer than %d characters", name,
				 SNAPBLK_NAME_LEN - 1);
	if (name[0] == '-')
		return err_usage("name '%s' must not start with '-'", name);
	for (i = 0; i < len; i++) {
		if (!name_char_ok(name[i]))
			return err_usage("name '%s' may only contain A-Z a-z 0-9 . _ -",
					 name);
	}
	if (name_reserved(name))
		return err_usage("name '%s' %s; choose another", name,
				 name_reserved(name));
	return 0;
}

int parse_on_full(const char *s, __u32 *on_full)
{
	if (!strcmp(s, "invalidate")) {
		*on_full = SNAPBLK_ON_FULL_INVALIDATE;
		return 0;
	}
	if (!strcmp(s, "block-writes")) {
		*on_full = SNAPBLK_ON_FULL_BLOCK_WRITES;
		return 0;
	}
	return err_usage("invalid --on-full '%s' (expected invalidate or block-writes)",
			 s);
}

bool parse_disk_name(const char *s, __u32 *index)
{
	size_t plen = strlen(SNAPBLK_DISK_NAME);
	__u64 val = 0;

	if (strncmp(s, SNAPBLK_DISK_NAME, plen))
		return false;
	s += plen;
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1]))
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		val = val * 10 + (*s - '0');
		if (val > UINT32_MAX)
			return false;
	}
	if (*s)
		return false;
	*index = (__u32)val;
	return true;
}
