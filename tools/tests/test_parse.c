// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of snapblkctl's parsing and formatting: sizes, names,
 * options, human sizes and JSON. Run by tools/tests/run.sh; prints the
 * failed checks and exits non-zero if any.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cmds.h"
#include "../json.h"
#include "../msg.h"
#include "../parse.h"

static int failures;

#define CHECK(cond) check(cond, #cond, __LINE__)

static void check(bool ok, const char *what, int line)
{
	if (ok)
		return;
	printf("FAIL line %d: %s\n", line, what);
	failures++;
}

static __u64 bytes_of(const char *s)
{
	__u64 val = 0;

	return parse_bytes(s, &val) ? ~0ULL : val;
}

static __u32 chunk_of(const char *s)
{
	__u32 val = 0;

	return parse_chunk_size(s, &val) ? 0 : val;
}

static void test_sizes(void)
{
	CHECK(bytes_of("0") == 0);
	CHECK(bytes_of("4096") == 4096);
	CHECK(bytes_of("4K") == 4096);
	CHECK(bytes_of("4k") == 4096);
	CHECK(bytes_of("4KiB") == 4096);
	CHECK(bytes_of("1M") == 1048576);
	CHECK(bytes_of("1m") == 1048576);
	CHECK(bytes_of("1MiB") == 1048576);
	CHECK(bytes_of("18446744073709551615") == 18446744073709551615ULL);
	CHECK(bytes_of("18446744073709551616") == ~0ULL);
	CHECK(bytes_of("17592186044416M") == ~0ULL);
	CHECK(bytes_of("") == ~0ULL);
	CHECK(bytes_of("K") == ~0ULL);
	CHECK(bytes_of("4KB") == ~0ULL);
	CHECK(bytes_of("4Kib") == ~0ULL);
	CHECK(bytes_of("4G") == ~0ULL);
	CHECK(bytes_of("-4K") == ~0ULL);
	CHECK(bytes_of("+4K") == ~0ULL);
	CHECK(bytes_of(" 4K") == ~0ULL);
	CHECK(bytes_of("4K ") == ~0ULL);
	CHECK(bytes_of("0x1000") == ~0ULL);
	CHECK(bytes_of("1.5M") == ~0ULL);

	CHECK(chunk_of("4K") == 4096);
	CHECK(chunk_of("4096") == 4096);
	CHECK(chunk_of("8K") == 8192);
	CHECK(chunk_of("64K") == 65536);
	CHECK(chunk_of("64KiB") == 65536);
	CHECK(chunk_of("512k") == 524288);
	CHECK(chunk_of("1M") == 1048576);
	CHECK(chunk_of("1024K") == 1048576);
	CHECK(chunk_of("0") == 0);
	CHECK(chunk_of("2K") == 0);
	CHECK(chunk_of("4095") == 0);
	CHECK(chunk_of("48K") == 0);
	CHECK(chunk_of("2M") == 0);
	CHECK(chunk_of("4294967296K") == 0);
	CHECK(chunk_of("18014398509481984K") == 0);
	CHECK(chunk_of("abc") == 0);
}

static void test_names(void)
{
	CHECK(!check_name("a"));
	CHECK(!check_name("vm-disk_1.img"));
	CHECK(!check_name("0123456789012345678901234567890"));
	CHECK(!check_name("x-"));
	CHECK(!check_name("snapblk"));
	CHECK(!check_name("snapblkx"));
	CHECK(!check_name(".hidden"));
	CHECK(check_name("") == EXIT_USAGE);
	CHECK(check_name("01234567890123456789012345678901") == EXIT_USAGE);
	CHECK(check_name("-a") == EXIT_USAGE);
	CHECK(check_name("a/b") == EXIT_USAGE);
	CHECK(check_name("/dev/loop0") == EXIT_USAGE);
	CHECK(check_name("a b") == EXIT_USAGE);
	CHECK(check_name("a\tb") == EXIT_USAGE);
	CHECK(check_name("caf\xc3\xa9") == EXIT_USAGE);
	CHECK(check_name("a:b") == EXIT_USAGE);
	CHECK(check_name(".") == EXIT_USAGE);
	CHECK(check_name("..") == EXIT_USAGE);
	CHECK(check_name("snapblk0") == EXIT_USAGE);
	CHECK(check_name("snapblk12p1") == EXIT_USAGE);
	CHECK(check_name("snapblk-ctl") == EXIT_USAGE);
}

static void test_on_full(void)
{
	__u32 v = 7;

	CHECK(!parse_on_full("invalidate", &v) && v == SNAPBLK_ON_FULL_INVALIDATE);
	CHECK(!parse_on_full("block-writes", &v) && v == SNAPBLK_ON_FULL_BLOCK_WRITES);
	CHECK(parse_on_full("", &v) == EXIT_USAGE);
	CHECK(parse_on_full("Invalidate", &v) == EXIT_USAGE);
	CHECK(parse_on_full("block_writes", &v) == EXIT_USAGE);
}

static void test_disk_names(void)
{
	__u32 i = 99;

	CHECK(parse_disk_name("snapblk0", &i) && i == 0);
	CHECK(parse_disk_name("snapblk17", &i) && i == 17);
	CHECK(parse_disk_name("snapblk4294967295", &i) && i == 4294967295U);
	CHECK(!parse_disk_name("snapblk4294967296", &i));
	CHECK(!parse_disk_name("snapblk", &i));
	CHECK(!parse_disk_name("snapblk01", &i));
	CHECK(!parse_disk_name("snapblk1p1", &i));
	CHECK(!parse_disk_name("snapblk-ctl", &i));
	CHECK(!parse_disk_name("loop0", &i));
	CHECK(!parse_disk_name("/dev/snapblk0", &i));
}

static int parse(const char *line, unsigned int allowed, int max_pos,
		 struct args *a)
{
	static char copy[256];	/* @a points into it until the next call */
	char *argv[16], *tok;
	int argc = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (tok = strtok(copy, " "); tok && argc < 16; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	return args_parse(argc, argv, allowed, max_pos, a);
}

static bool is(const char *s, const char *want)
{
	return s && !strcmp(s, want);
}

static void test_args(void)
{
	unsigned int all = OPTF(OPT_CHUNK_SIZE) | OPTF(OPT_NAME) |
			   OPTF(OPT_WAIT) | OPTF(OPT_JSON);
	struct args a;

	msg_set_cmd("test");
	CHECK(!parse("b s", all, 2, &a) && a.nr_pos == 2 && is(a.pos[0], "b") &&
	      is(a.pos[1], "s") && !a.val[OPT_NAME]);
	CHECK(!parse("--name x b s", all, 2, &a) && is(a.val[OPT_NAME], "x") &&
	      a.nr_pos == 2);
	CHECK(!parse("b --name=x s", all, 2, &a) && is(a.val[OPT_NAME], "x") &&
	      is(a.pos[1], "s"));
	CHECK(!parse("b s --chunk-size 4K --wait", all, 2, &a) &&
	      is(a.val[OPT_CHUNK_SIZE], "4K") && is(a.val[OPT_WAIT], ""));
	CHECK(!parse("--name=a=b", all, 2, &a) && is(a.val[OPT_NAME], "a=b"));
	CHECK(!parse("--name= b", all, 2, &a) && is(a.val[OPT_NAME], "") &&
	      a.nr_pos == 1);
	CHECK(!parse("-- --name", all, 2, &a) && is(a.pos[0], "--name"));
	CHECK(!parse("- x", all, 2, &a) && is(a.pos[0], "-"));
	CHECK(!parse("x -h", all, 2, &a) && a.val[OPT_HELP]);
	CHECK(!parse("--help", 0, 0, &a) && a.val[OPT_HELP]);
	CHECK(!parse("--name --json", all, 2, &a) && is(a.val[OPT_NAME], "--json"));
	CHECK(parse("b s c", all, 2, &a) == EXIT_USAGE);
	CHECK(parse("--name", all, 2, &a) == EXIT_USAGE);
	CHECK(parse("--name a --name b", all, 2, &a) == EXIT_USAGE);
	CHECK(parse("--wait=1", all, 2, &a) == EXIT_USAGE);
	CHECK(parse("--json", OPTF(OPT_WAIT), 2, &a) == EXIT_USAGE);
	CHECK(parse("--nam x", all, 2, &a) == EXIT_USAGE);
	CHECK(parse("--names x", all, 2, &a) == EXIT_USAGE);
	CHECK(parse("-n x", all, 2, &a) == EXIT_USAGE);
	CHECK(parse("---name x", all, 2, &a) == EXIT_USAGE);
	CHECK(parse("-h=1", all, 2, &a) == EXIT_USAGE);
}

static bool size_is(__u64 bytes, const char *want)
{
	char buf[32];

	fmt_size(bytes, buf, sizeof(buf));
	if (strcmp(buf, want))
		printf("fmt_size(%llu) = %s\n", (unsigned long long)bytes, buf);
	return !strcmp(buf, want);
}

static void test_fmt_size(void)
{
	CHECK(size_is(0, "0B"));
	CHECK(size_is(1023, "1023B"));
	CHECK(size_is(1024, "1.0K"));
	CHECK(size_is(1536, "1.5K"));
	CHECK(size_is(12ULL << 20, "12.0M"));
	CHECK(size_is((1ULL << 20) - 1, "1.0M"));
	CHECK(size_is(3ULL << 30, "3.0G"));
	CHECK(size_is(5ULL << 40, "5.0T"));
	CHECK(size_is(~0ULL, "16.0E"));
}

static void test_json(void)
{
	struct json j;
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	json_init(&j, f);
	json_begin_array(&j);
	json_begin_object(&j);
	json_key(&j, "s");
	json_string(&j, "a\"b\\c\nd\x01\x7f");
	json_key(&j, "n");
	json_uint(&j, 18446744073709551615ULL);
	json_key(&j, "z");
	json_null(&j);
	json_key(&j, "e");
	json_begin_array(&j);
	json_end_array(&j);
	json_end_object(&j);
	json_begin_object(&j);
	json_end_object(&j);
	json_end_array(&j);
	fclose(f);
	CHECK(!strcmp(buf, "[\n  {\n    \"s\": \"a\\\"b\\\\c\\nd\\u0001\\u007f\",\n"
		      "    \"n\": 18446744073709551615,\n    \"z\": null,\n"
		      "    \"e\": []\n  },\n  {}\n]\n"));
	if (failures)
		printf("%s", buf);
	free(buf);

	f = open_memstream(&buf, &len);
	json_init(&j, f);
	json_begin_array(&j);
	json_end_array(&j);
	fclose(f);
	CHECK(!strcmp(buf, "[]\n"));
	free(buf);
}

int main(void)
{
	test_sizes();
	test_names();
	test_on_full();
	test_disk_names();
	test_args();
	test_fmt_size();
	test_json();
	if (failures) {
		printf("%d checks failed\n", failures);
		return 1;
	}
	printf("test_parse: all checks passed\n");
	return 0;
}
