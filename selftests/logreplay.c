// SPDX-License-Identifier: GPL-2.0
/*
 * logreplay - read and replay a dm-log-writes log, for the snapblk crash
 * consistency selftests.
 *
 *   logreplay list LOG
 *	one line per entry: INDEX SECTOR NR_SECTORS FLAGS [MARK-NAME]
 *	(SECTOR and NR_SECTORS in 512-byte units; FLAGS is FLUSH, FUA,
 *	DISCARD, MARK, META joined with '|', or '-' for a plain write)
 *   logreplay flushes LOG
 *	the index of every entry that has FLUSH or FUA, one per line
 *   logreplay replay LOG TARGET (--until-entry N | --until-mark NAME)
 *		[--start-entry M]
 *	apply entries M (default 0) .. N (inclusive), or up to and
 *	including the first mark called NAME, to TARGET (a block device
 *	or a file); discarded ranges are written with zeroes
 *
 * The log format (drivers/md/dm-log-writes.c): a super block in the
 * first sector (magic, version, number of entries, sector size), then
 * for each entry one sector holding its header (and, for a mark, the
 * mark's name right after the header), followed by the entry's data
 * (NR_SECTORS sectors; none for discards, flushes without data and
 * marks). All integers are little-endian; sectors and counts in the
 * entries are in units of the log's sector size.
 *
 * The entries are those writes that were on stable storage, in the
 * order they got there: a prefix of the log is a state the device could
 * have been left in by a power cut.
 *
 * Exit status: 0 success, 1 error (bad log, I/O error, unknown mark),
 * 2 usage error.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define LW_MAGIC	0x6a736677736872ULL
#define LW_VERSION	1ULL

#define LW_FLUSH	(1ULL << 0)
#define LW_FUA		(1ULL << 1)
#define LW_DISCARD	(1ULL << 2)
#define LW_MARK		(1ULL << 3)
#define LW_META		(1ULL << 4)
#define LW_KNOWN	(LW_FLUSH | LW_FUA | LW_DISCARD | LW_MARK | LW_META)

#define LW_SUPER_SIZE	28	/* magic, version, nr_entries, sectorsize */
#define LW_ENTRY_SIZE	32	/* sector, nr_sectors, flags, data_len */
#define IO_CHUNK	(1024 * 1024)
#define NO_ENTRY	UINT64_MAX
#define LW_MAX_SECTOR	(1ULL << 40)	/* in log sectors: 512 TiB of 512 bytes */

/* the log as read from its super block */
struct log {
	int fd;
	const char *path;
	uint64_t size;		/* bytes */
	uint64_t nr_entries;
	uint32_t sectorsize;
};

/* one entry header, decoded */
struct entry {
	uint64_t index;
	uint64_t pos;		/* byte offset of its header in the log */
	uint64_t sector;	/* in log sectors */
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
	char mark[65536];	/* name of a mark, NUL terminated */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: logreplay list LOG\n"
		"       logreplay flushes LOG\n"
		"       logreplay replay LOG TARGET (--until-entry N | --until-mark NAME) [--start-entry M]\n");
	exit(2);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("logreplay: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static uint32_t get_le32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t parse_u64(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr, "logreplay: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

/* size in bytes of a block device or regular file */
static uint64_t fd_size(int fd, const char *path)
{
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st))
		die("%s: stat: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size))
			die("%s: BLKGETSIZE64: %s", path, strerror(errno));
		return size;
	}
	if (!S_ISREG(st.st_mode))
		die("%s: not a block device or regular file", path);
	return st.st_size;
}

static void read_at(int fd, const char *path, void *buf, size_t len,
		    uint64_t pos)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, pos + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: read at %" PRIu64 ": %s", path, pos + done,
			    strerror(errno));
		if (n == 0)
			die("%s: unexpected end at %" PRIu64, path, pos + done);
		done += n;
	}
}

static void write_at(int fd, const char *path, const void *buf, size_t len,
		     uint64_t pos)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, (const char *)buf + done, len - done, pos + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: write at %" PRIu64 ": %s", path, pos + done,
			    n < 0 ? strerror(errno) : "short write");
		done += n;
	}
}

static void log_open(struct log *log, const char *path)
{
	unsigned char sb[LW_SUPER_SIZE];
	uint64_t magic, version;

	log->path = path;
	log->fd = open(path, O_RDONLY);
	if (log->fd < 0)
		die("%s: %s", path, strerror(errno));
	log->size = fd_size(log->fd, path);
	if (log->size < 512)
		die("%s: too small to hold a log (%" PRIu64 " bytes)", path, log->size);
	read_at(log->fd, path, sb, sizeof(sb), 0);
	magic = get_le64(sb);
	version = get_le64(sb + 8);
	log->nr_entries = get_le64(sb + 16);
	log->sectorsize = get_le32(sb + 24);
	if (magic != LW_MAGIC)
		die("%s: not a dm-log-writes log (magic %#" PRIx64 ", expected %#llx)",
		    path, magic, LW_MAGIC);
	if (version != LW_VERSION)
		die("%s: unsupported log version %" PRIu64 " (expected %llu)",
		    path, version, LW_VERSION);
	if (log->sectorsize < 512 || log->sectorsize > 65536 ||
	    (log->sectorsize & (log->sectorsize - 1)))
		die("%s: bad sector size %u in the log super block", path,
		    log->sectorsize);
	/* every entry takes at least one sector after the super block */
	if (log->nr_entries > log->size / log->sectorsize - 1)
		die("%s: super block claims %" PRIu64 " entries, more than the log can hold",
		    path, log->nr_entries);
}

/* bytes of log that the entry's data takes after its header */
static uint64_t entry_data_bytes(const struct log *log, const struct entry *e)
{
	if (e->flags & (LW_DISCARD | LW_MARK))
		return 0;
	return e->nr_sectors * log->sectorsize;
}

/* decode the header at e->pos into e; fails on anything inconsistent */
static void entry_read(const struct log *log, struct entry *e)
{
	unsigned char hdr[LW_ENTRY_SIZE];

	if (e->pos + log->sectorsize > log->size)
		die("%s: entry %" PRIu64 " at byte %" PRIu64 " is past the end of the log",
		    log->path, e->index, e->pos);
	read_at(log->fd, log->path, hdr, sizeof(hdr), e->pos);
	e->sector = get_le64(hdr);
	e->nr_sectors = get_le64(hdr + 8);
	e->flags = get_le64(hdr + 16);
	e->data_len = get_le64(hdr + 24);
	e->mark[0] = '\0';

	if (e->flags & ~LW_KNOWN)
		die("%s: entry %" PRIu64 " at byte %" PRIu64 ": unknown flags %#" PRIx64 " (garbage?)",
		    log->path, e->index, e->pos, e->flags);
	/* a discard has no data in the log: only keep its range sane */
	if (e->sector > LW_MAX_SECTOR || e->nr_sectors > LW_MAX_SECTOR)
		die("%s: entry %" PRIu64 ": absurd range %" PRIu64 "+%" PRIu64 " (garbage?)",
		    log->path, e->index, e->sector, e->nr_sectors);
	if (!(e->flags & LW_DISCARD) &&
	    (e->nr_sectors > log->size / log->sectorsize ||
	     e->pos + log->sectorsize + entry_data_bytes(log, e) > log->size))
		die("%s: entry %" PRIu64 ": %" PRIu64 " sectors of data run past the end of the log",
		    log->path, e->index, e->nr_sectors);
	if (!(e->flags & LW_MARK))
		return;
	if (e->data_len >= log->sectorsize - LW_ENTRY_SIZE || e->nr_sectors)
		die("%s: entry %" PRIu64 ": bad mark (name of %" PRIu64 " bytes, %" PRIu64 " sectors)",
		    log->path, e->index, e->data_len, e->nr_sectors);
	read_at(log->fd, log->path, e->mark, e->data_len, e->pos + LW_ENTRY_SIZE);
	e->mark[e->data_len] = '\0';
	if (strlen(e->mark) != e->data_len)
		die("%s: entry %" PRIu64 ": mark name holds a NUL byte",
		    log->path, e->index);
}

/* step from entry e to the next one */
static void entry_next(const struct log *log, struct entry *e)
{
	e->pos += log->sectorsize + entry_data_bytes(log, e);
	e->index++;
}

static void entry_first(const struct log *log, struct entry *e)
{
	e->index = 0;
	e->pos = log->sectorsize;
}

static void flags_str(uint64_t flags, char *out, size_t len)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} names[] = {
		{ LW_FLUSH, "FLUSH" }, { LW_FUA, "FUA" }, { LW_DISCARD, "DISCARD" },
		{ LW_MARK, "MARK" }, { LW_META, "META" },
	};
	size_t i;

	snprintf(out, len, "-");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		if (out[0] != '-')
			strncat(out, "|", len - strlen(out) - 1);
		else
			out[0] = '\0';
		strncat(out, names[i].name, len - strlen(out) - 1);
	}
}

/* 512-byte units of a count of log sectors */
static uint64_t to_512(const struct log *log, uint64_t n)
{
	return n * (log->sectorsize / 512);
}

static int cmd_list(const char *path)
{
	struct log log;
	struct entry e;
	char flags[64];

	log_open(&log, path);
	printf("# %s: %" PRIu64 " entries, sector size %u\n", path,
	       log.nr_entries, log.sectorsize);
	printf("# index sector nr_sectors flags [mark]\n");
	for (entry_first(&log, &e); e.index < log.nr_entries; entry_next(&log, &e)) {
		entry_read(&log, &e);
		flags_str(e.flags, flags, sizeof(flags));
		printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %s%s%s\n", e.index,
		       to_512(&log, e.sector), to_512(&log, e.nr_sectors), flags,
		       e.flags & LW_MARK ? " " : "", e.mark);
	}
	return 0;
}

static int cmd_flushes(const char *path)
{
	struct log log;
	struct entry e;

	log_open(&log, path);
	for (entry_first(&log, &e); e.index < log.nr_entries; entry_next(&log, &e)) {
		entry_read(&log, &e);
		if (e.flags & (LW_FLUSH | LW_FUA))
			printf("%" PRIu64 "\n", e.index);
	}
	return 0;
}

/* index of the first mark called name; dies if there is none */
static uint64_t find_mark(const struct log *log, const char *name)
{
	struct entry e;

	for (entry_first(log, &e); e.index < log->nr_entries; entry_next(log, &e)) {
		entry_read(log, &e);
		if ((e.flags & LW_MARK) && !strcmp(e.mark, name))
			return e.index;
	}
	die("%s: no mark '%s' in the log", log->path, name);
}

/* copy the entry's data, or zeroes for a discard, to the target */
static void apply_entry(const struct log *log, const struct entry *e, int tfd,
			const char *target, uint64_t tsize, char *buf)
{
	uint64_t dst = e->sector * log->sectorsize;
	uint64_t len = e->nr_sectors * log->sectorsize;
	uint64_t src = e->pos + log->sectorsize;
	uint64_t done, n;

	/* no overflow: entry_read() bounds sector and nr_sectors */
	if (!len || (e->flags & LW_MARK))
		return;
	if (dst > tsize || len > tsize - dst)
		die("%s: entry %" PRIu64 " writes sectors %" PRIu64 "+%" PRIu64 " beyond the end of %s (%" PRIu64 " bytes)",
		    log->path, e->index, to_512(log, e->sector),
		    to_512(log, e->nr_sectors), target, tsize);
	if (e->flags & LW_DISCARD)
		memset(buf, 0, IO_CHUNK);
	for (done = 0; done < len; done += n) {
		n = len - done < IO_CHUNK ? len - done : IO_CHUNK;
		if (!(e->flags & LW_DISCARD))
			read_at(log->fd, log->path, buf, n, src + done);
		write_at(tfd, target, buf, n, dst + done);
	}
}

static int cmd_replay(int argc, char **argv)
{
	const char *path = argv[0], *target = argv[1], *mark = NULL;
	uint64_t until = NO_ENTRY, start = 0, tsize, applied = 0;
	struct log log;
	struct entry e;
	char *buf;
	int i, tfd;

	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--until-entry") && i + 1 < argc)
			until = parse_u64(argv[++i]);
		else if (!strcmp(argv[i], "--until-mark") && i + 1 < argc)
			mark = argv[++i];
		else if (!strcmp(argv[i], "--start-entry") && i + 1 < argc)
			start = parse_u64(argv[++i]);
		else
			usage();
	}
	if ((until == NO_ENTRY) == !mark)
		usage();

	log_open(&log, path);
	if (mark)
		until = find_mark(&log, mark);
	if (until >= log.nr_entries)
		die("%s: no entry %" PRIu64 " (the log has %" PRIu64 ")", path,
		    until, log.nr_entries);
	if (start > until)
		die("--start-entry %" PRIu64 " is after the last entry to replay (%" PRIu64 ")",
		    start, until);

	tfd = open(target, O_WRONLY);
	if (tfd < 0)
		die("%s: %s", target, strerror(errno));
	tsize = fd_size(tfd, target);
	buf = malloc(IO_CHUNK);
	if (!buf)
		die("out of memory");

	for (entry_first(&log, &e); e.index <= until; entry_next(&log, &e)) {
		entry_read(&log, &e);
		if (e.index < start)
			continue;
		apply_entry(&log, &e, tfd, target, tsize, buf);
		applied++;
	}
	if (fsync(tfd))
		die("%s: fsync: %s", target, strerror(errno));
	close(tfd);
	free(buf);
	printf("replayed entries %" PRIu64 "..%" PRIu64 " (%" PRIu64 ") onto %s\n",
	       start, until, applied, target);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "list") && argc == 3)
		return cmd_list(argv[2]);
	if (!strcmp(argv[1], "flushes") && argc == 3)
		return cmd_flushes(argv[2]);
	if (!strcmp(argv[1], "replay") && argc >= 4)
		return cmd_replay(argc - 2, argv + 2);
	usage();
}
