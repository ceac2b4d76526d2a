// SPDX-License-Identifier: GPL-2.0
/*
 * crashio - random writes of self-describing sectors, and a verifier for
 * what a device holds after a simulated power cut; for the snapblk crash
 * consistency selftests.
 *
 *   crashio write DEV --seed S --ops N --max-len BYTES [--fsync-every K]
 *		[--zero-pct P] [--dsync-pct P] [--span BYTES] [--journal FILE]
 *		[--mark-dm NAME]
 *	N random writes with O_DIRECT, of 512 bytes to BYTES, at random
 *	512-aligned places in the first --span bytes of DEV (default all);
 *	many are not 4 KiB aligned and many cross a 64 KiB boundary.
 *	--zero-pct P percent of them (default 0) are BLKZEROOUT instead
 *	(write zeroes; half of them whole 64 KiB chunks). After every K
 *	operations (default 8) and after the last one comes a durable
 *	point: fsync (or, for --dsync-pct P percent of these points, the
 *	last write goes through an O_DSYNC descriptor instead: REQ_FUA,
 *	then a flush), a line "f N SEQ" in the journal (the Nth durable
 *	point made operations 1..SEQ durable) and, with --mark-dm,
 *	`dmsetup message NAME 0 mark fsync-N`, so that a dm-log-writes
 *	log holds a mark right after the flush. The journal (keep it off
 *	DEV) has one line per operation: "w SEQ SECTOR NR_SECTORS" for a
 *	write, "z SEQ SECTOR NR_SECTORS" for a zeroing.
 *   crashio verify DEV --base BASE --journal FILE
 *		[--upto-mark fsync-N | --durable-seq Q]
 *		[--max-mark fsync-N | --max-seq M]
 *	check every sector of DEV after a crash: it must hold what one of
 *	the operations that covered it left there (a valid crashio sector
 *	of this run for exactly that sector and that write, or zeroes for
 *	a zeroing), with a sequence number <= M (default: the last one),
 *	or the BASE device's sector. Where operations <= Q (the durable
 *	point; 0 when not given) covered a sector, it must hold what the
 *	last of them or a later one left: acknowledged and flushed data is
 *	never lost. --upto-mark / --max-mark take Q / M from the journal.
 *
 * Each 512-byte sector written carries a header (magic "CRASHIO1", its
 * own sector number, the write's sequence number, the run's seed and a
 * CRC-32 of the sector) and a payload generated from (seed, sector,
 * sequence), so data at the wrong place, torn sectors and stale data
 * from another run are all recognized.
 *
 * Exit status: 0 success, 1 violation or error, 2 usage error.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECT		512
#define CHUNK_SECTS	128		/* 64 KiB: boundaries writes cross */
#define IO_BYTES	(1024 * 1024)
#define MAGIC		0x314f494853415243ULL	/* "CRASHIO1" */
#define MAX_REPORT	10
#define NO_SEQ		UINT64_MAX

/* the head of every sector written; the rest is payload */
struct sect_hdr {
	uint64_t magic;
	uint64_t lba;
	uint64_t seq;
	uint64_t seed;
	uint32_t crc;
	uint32_t reserved;
};

#define HDR_SIZE	sizeof(struct sect_hdr)

/* one operation of the journal */
struct op {
	uint64_t lba;
	uint32_t nr;
	bool zero;		/* BLKZEROOUT, not a write */
};

/* the journal, as read back by verify */
struct journal {
	uint64_t seed;
	uint64_t sectors;	/* size of DEV */
	struct op *op;		/* op[seq], seq 1..nr_ops */
	uint64_t nr_ops;
	uint64_t cap;		/* entries allocated in op */
	uint64_t *fsync_seq;	/* fsync_seq[n], n 1..nr_fsyncs */
	uint64_t nr_fsyncs;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: crashio write DEV --seed S --ops N --max-len BYTES [--fsync-every K]\n"
		"                     [--zero-pct P] [--dsync-pct P] [--span BYTES] [--journal FILE]\n"
		"                     [--mark-dm NAME]\n"
		"       crashio verify DEV --base BASE --journal FILE\n"
		"                     [--upto-mark fsync-N | --durable-seq Q]\n"
		"                     [--max-mark fsync-N | --max-seq M]\n");
	exit(2);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("crashio: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t parse_num(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		goto bad;
	switch (*end) {
	case 'k': case 'K':
		v <<= 10; end++; break;
	case 'm': case 'M':
		v <<= 20; end++; break;
	}
	if (*end)
		goto bad;
	return v;
bad:
	fprintf(stderr, "crashio: bad number '%s'\n", s);
	exit(2);
}

/* ------------------------------------------------------------ data */

static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t c, i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320U ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_ieee(const unsigned char *p, size_t len)
{
	uint32_t c = 0xffffffffU;

	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* splitmix64 stream */
static uint64_t rnd_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ULL;
	return mix(*state);
}

static uint64_t rnd_below(uint64_t *state, uint64_t n)
{
	return n ? rnd_next(state) % n : 0;
}

/* the full contents of sector lba as written by write seq of run seed */
static void make_sector(unsigned char *buf, uint64_t seed, uint64_t lba,
			uint64_t seq)
{
	uint64_t st = mix(seed ^ mix(lba * 0x100000001b3ULL ^ mix(seq)));
	struct sect_hdr h = {
		.magic = htole64(MAGIC),
		.lba = htole64(lba),
		.seq = htole64(seq),
		.seed = htole64(seed),
	};
	size_t i;
	uint64_t v;

	for (i = HDR_SIZE; i < SECT; i += sizeof(v)) {
		v = rnd_next(&st);
		memcpy(buf + i, &v, sizeof(v));
	}
	memcpy(buf, &h, HDR_SIZE);
	h.crc = htole32(crc32_ieee(buf, SECT));
	memcpy(buf, &h, HDR_SIZE);
}

/* ----------------------------------------------------------- devices */

static int open_dev(const char *path, int flags, bool direct)
{
	int fd = -1;

	if (direct)
		fd = open(path, flags | O_DIRECT);
	if (fd < 0 && (!direct || errno == EINVAL))
		fd = open(path, flags);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	return fd;
}

static uint64_t dev_size(int fd, const char *path)
{
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st))
		die("%s: stat: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode))
		return st.st_size;
	if (!S_ISBLK(st.st_mode))
		die("%s: not a block device or file", path);
	if (ioctl(fd, BLKGETSIZE64, &size))
		die("%s: BLKGETSIZE64: %s", path, strerror(errno));
	return size;
}

/* logical block size in sectors (1 for files) */
static unsigned int dev_unit(int fd)
{
	int lbs;

	if (ioctl(fd, BLKSSZGET, &lbs) || lbs < SECT)
		return 1;
	return lbs / SECT;
}

static void *xalloc(size_t len)
{
	void *p;

	if (posix_memalign(&p, 4096, len ? len : 1))
		die("out of memory (%zu bytes)", len);
	return p;
}

static void pread_all(int fd, const char *path, void *buf, size_t len,
		      uint64_t pos)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, pos + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: read at byte %" PRIu64 ": %s", path, pos + done,
			    n < 0 ? strerror(errno) : "end of device");
		done += n;
	}
}

/* ------------------------------------------------------------- write */

struct wopts {
	const char *dev;
	const char *journal;
	const char *mark_dm;
	uint64_t seed;
	uint64_t ops;
	uint64_t max_len;
	uint64_t fsync_every;
	uint64_t zero_pct;
	uint64_t dsync_pct;
	uint64_t span;
};

/* choose where write seq goes: *lba, *nr (sectors) within span sectors */
static void pick_extent(uint64_t *rs, uint64_t span, uint64_t max_nr,
			unsigned int unit, uint64_t *lba, uint64_t *nr)
{
	uint64_t n, start, d, kmin, kmax, kind = rnd_below(rs, 6);

	/* half short writes (1..8 units), half up to the maximum */
	if (rnd_below(rs, 2))
		n = 1 + rnd_below(rs, max_nr < 8 ? max_nr : 8);
	else
		n = 1 + rnd_below(rs, max_nr);
	n *= unit;
	if (kind == 2 && n >= 8)
		n &= ~7ULL;			/* 4 KiB long and aligned */

	/* straddle a 64 KiB boundary b: start = b - d, 0 < d < n */
	d = n > unit ? unit * (1 + rnd_below(rs, n / unit - 1)) : 0;
	kmin = (d + CHUNK_SECTS - 1) / CHUNK_SECTS;
	kmax = (span - n + d) / CHUNK_SECTS;
	if (kind < 2 && d && kmin <= kmax) {
		start = CHUNK_SECTS * (kmin + rnd_below(rs, kmax - kmin + 1)) - d;
	} else {
		start = rnd_below(rs, span - n + 1);
		if (kind == 2)
			start &= ~7ULL;		/* 4 KiB aligned */
	}
	start -= start % unit;
	*lba = start;
	*nr = n;
}

static void dm_mark(const char *dm, uint64_t n)
{
	char name[64];
	pid_t pid;
	int status;

	snprintf(name, sizeof(name), "fsync-%" PRIu64, n);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		execlp("dmsetup", "dmsetup", "message", dm, "0", "mark", name,
		       (char *)NULL);
		fprintf(stderr, "crashio: exec dmsetup: %s\n", strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("dmsetup message %s 0 mark %s failed", dm, name);
}

/* a zeroing: half whole 64 KiB chunks, half like a write */
static void pick_zero_extent(uint64_t *rs, uint64_t span, uint64_t max_nr,
			     unsigned int unit, uint64_t *lba, uint64_t *nr)
{
	uint64_t chunks = span / CHUNK_SECTS, n;

	if (rnd_below(rs, 2) && chunks >= 2) {
		n = 1 + rnd_below(rs, 2);
		*lba = CHUNK_SECTS * rnd_below(rs, chunks - n + 1);
		*nr = n * CHUNK_SECTS;
		return;
	}
	pick_extent(rs, span, max_nr, unit, lba, nr);
}

/* the state of a write run */
struct writer {
	const struct wopts *o;
	int fd;
	int dsync_fd;		/* the same device opened with O_DSYNC */
	bool blkdev;
	FILE *jf;
	unsigned char *buf;
	unsigned int unit;	/* logical block size in sectors */
	uint64_t span;		/* sectors */
	uint64_t max_nr;	/* longest write in units */
	uint64_t rs;		/* random state */
	uint64_t nr_zero, nr_fsync, nr_dsync;
};

static void writer_open(struct writer *w, const struct wopts *o)
{
	struct stat st;
	uint64_t size;

	memset(w, 0, sizeof(*w));
	w->o = o;
	w->rs = o->seed;
	w->fd = open_dev(o->dev, O_WRONLY, true);
	w->dsync_fd = open_dev(o->dev, O_WRONLY | O_DSYNC, true);
	if (fstat(w->fd, &st))
		die("%s: %s", o->dev, strerror(errno));
	w->blkdev = S_ISBLK(st.st_mode);
	size = dev_size(w->fd, o->dev) / SECT;
	w->unit = dev_unit(w->fd);
	w->span = o->span ? o->span / SECT : size;
	if (w->span > size)
		die("--span is beyond the end of %s", o->dev);
	w->max_nr = o->max_len / SECT / w->unit;
	if (!w->max_nr || w->max_nr * w->unit > w->span)
		die("--max-len must be at least one block and within the span");
	w->buf = xalloc(w->max_nr * w->unit * SECT > IO_BYTES ?
			w->max_nr * w->unit * SECT : IO_BYTES);
	if (o->journal) {
		w->jf = fopen(o->journal, "w");
		if (!w->jf)
			die("%s: %s", o->journal, strerror(errno));
		fprintf(w->jf, "crashio 1 %" PRIu64 " %" PRIu64 "\n", o->seed, size);
	}
}

static void writer_close(struct writer *w)
{
	if (w->jf && fclose(w->jf))
		die("%s: %s", w->o->journal, strerror(errno));
	close(w->fd);
	close(w->dsync_fd);
	free(w->buf);
}

static void journal_flush(struct writer *w)
{
	if (w->jf && fflush(w->jf))
		die("%s: %s", w->o->journal, strerror(errno));
}

/* operations 1..seq are durable: journal it, and mark the log */
static void durable_point(struct writer *w, uint64_t seq)
{
	w->nr_fsync++;
	if (w->jf) {
		fprintf(w->jf, "f %" PRIu64 " %" PRIu64 "\n", w->nr_fsync, seq);
		journal_flush(w);
	}
	if (w->o->mark_dm)
		dm_mark(w->o->mark_dm, w->nr_fsync);
}

static void zero_one(struct writer *w, uint64_t seq, uint64_t lba, uint64_t nr)
{
	uint64_t range[2] = { lba * SECT, nr * SECT };
	uint64_t done, n;

	if (w->blkdev) {
		if (ioctl(w->fd, BLKZEROOUT, range))
			die("%s: BLKZEROOUT %" PRIu64 " (sectors %" PRIu64 "+%" PRIu64 "): %s",
			    w->o->dev, seq, lba, nr, strerror(errno));
		return;
	}
	/* a file: write the zeroes */
	for (done = 0; done < nr; done += n) {
		n = nr - done < IO_BYTES / SECT ? nr - done : IO_BYTES / SECT;
		memset(w->buf, 0, n * SECT);
		if (pwrite(w->fd, w->buf, n * SECT, (lba + done) * SECT) != (ssize_t)(n * SECT))
			die("%s: zeroing %" PRIu64 ": write failed", w->o->dev, seq);
	}
}

static void write_one(struct writer *w, int fd, uint64_t seq, uint64_t lba,
		      uint64_t nr)
{
	uint64_t i;
	ssize_t n;

	for (i = 0; i < nr; i++)
		make_sector(w->buf + i * SECT, w->o->seed, lba + i, seq);
	n = pwrite(fd, w->buf, nr * SECT, lba * SECT);
	if (n != (ssize_t)(nr * SECT))
		die("%s: write %" PRIu64 " (sectors %" PRIu64 "+%" PRIu64 "): %s",
		    w->o->dev, seq, lba, nr, n < 0 ? strerror(errno) : "short write");
}

/*
 * Operation seq: a zeroing or a write; at a durable point (every
 * fsync_every operations, and the last) the write may go through the
 * O_DSYNC descriptor (REQ_FUA and a flush) instead of being followed by
 * fsync().
 */
static void one_op(struct writer *w, uint64_t seq)
{
	const struct wopts *o = w->o;
	bool sync = (o->fsync_every && seq % o->fsync_every == 0) || seq == o->ops;
	bool zero = rnd_below(&w->rs, 100) < o->zero_pct;
	bool dsync = rnd_below(&w->rs, 100) < o->dsync_pct && sync && !zero;
	uint64_t lba, nr;

	if (zero) {
		pick_zero_extent(&w->rs, w->span, w->max_nr, w->unit, &lba, &nr);
		zero_one(w, seq, lba, nr);
		w->nr_zero++;
	} else {
		pick_extent(&w->rs, w->span, w->max_nr, w->unit, &lba, &nr);
		write_one(w, dsync ? w->dsync_fd : w->fd, seq, lba, nr);
		w->nr_dsync += dsync;
	}
	if (w->jf)
		fprintf(w->jf, "%c %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
			zero ? 'z' : 'w', seq, lba, nr);
	if (!sync)
		return;
	if (!dsync && fsync(w->fd))
		die("%s: fsync after operation %" PRIu64 ": %s", o->dev, seq,
		    strerror(errno));
	durable_point(w, seq);
}

static int do_write(const struct wopts *o)
{
	struct writer w;
	uint64_t seq;

	writer_open(&w, o);
	for (seq = 1; seq <= o->ops; seq++)
		one_op(&w, seq);
	writer_close(&w);
	printf("crashio: %" PRIu64 " operations on %s (%" PRIu64 " zeroings), %" PRIu64 " durable points (%" PRIu64 " by an O_DSYNC write, the others by fsync)\n",
	       o->ops, o->dev, w.nr_zero, w.nr_fsync, w.nr_dsync);
	return 0;
}

static int cmd_write(int argc, char **argv)
{
	struct wopts o = { .dev = argv[0], .fsync_every = 8 };
	bool have_seed = false;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		have_seed |= !strcmp(a, "--seed");
		if (!strcmp(a, "--seed"))
			o.seed = parse_num(v);
		else if (!strcmp(a, "--ops"))
			o.ops = parse_num(v);
		else if (!strcmp(a, "--max-len"))
			o.max_len = parse_num(v);
		else if (!strcmp(a, "--fsync-every"))
			o.fsync_every = parse_num(v);
		else if (!strcmp(a, "--dsync-pct"))
			o.dsync_pct = parse_num(v);
		else if (!strcmp(a, "--zero-pct"))
			o.zero_pct = parse_num(v);
		else if (!strcmp(a, "--span"))
			o.span = parse_num(v);
		else if (!strcmp(a, "--journal"))
			o.journal = v;
		else if (!strcmp(a, "--mark-dm"))
			o.mark_dm = v;
		else
			usage();
	}
	if (!have_seed || !o.ops || !o.max_len)
		usage();
	if (o.max_len % SECT || o.span % SECT)
		die("--max-len and --span must be multiples of 512");
	return do_write(&o);
}

/* ------------------------------------------------------------ verify */

static void journal_add_op(struct journal *j, bool zero, uint64_t seq,
			   uint64_t lba, uint64_t nr, unsigned int line)
{
	if (seq != j->nr_ops + 1)
		die("journal line %u: operation %" PRIu64 " out of order", line, seq);
	if (!nr || lba > j->sectors || nr > j->sectors - lba)
		die("journal line %u: operation %" PRIu64 " outside the device", line, seq);
	if (seq >= j->cap) {
		j->cap = j->cap ? j->cap * 2 : 1024;
		j->op = realloc(j->op, j->cap * sizeof(*j->op));
		if (!j->op)
			die("out of memory");
	}
	j->op[seq].lba = lba;
	j->op[seq].nr = nr;
	j->op[seq].zero = zero;
	j->nr_ops = seq;
}

static void journal_add_fsync(struct journal *j, uint64_t n, uint64_t seq,
			      unsigned int line)
{
	if (n != j->nr_fsyncs + 1 || seq > j->nr_ops)
		die("journal line %u: bad fsync record", line);
	j->fsync_seq = realloc(j->fsync_seq, (n + 1) * sizeof(uint64_t));
	if (!j->fsync_seq)
		die("out of memory");
	j->fsync_seq[n] = seq;
	j->nr_fsyncs = n;
}

static void journal_load(struct journal *j, const char *path)
{
	uint64_t a, b, c;
	unsigned int line = 1;
	char buf[256], op;
	FILE *f;

	memset(j, 0, sizeof(*j));
	f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	if (!fgets(buf, sizeof(buf), f) ||
	    sscanf(buf, "crashio 1 %" SCNu64 " %" SCNu64, &j->seed, &j->sectors) != 2)
		die("%s: not a crashio journal", path);
	while (fgets(buf, sizeof(buf), f)) {
		line++;
		if (sscanf(buf, "%c %" SCNu64 " %" SCNu64 " %" SCNu64, &op, &a, &b, &c) == 4 &&
		    (op == 'w' || op == 'z'))
			journal_add_op(j, op == 'z', a, b, c, line);
		else if (sscanf(buf, "f %" SCNu64 " %" SCNu64, &a, &b) == 2)
			journal_add_fsync(j, a, b, line);
		else
			die("%s line %u: cannot parse '%.40s'", path, line, buf);
	}
	fclose(f);
}

/* the durable sequence number of mark "fsync-N" */
static uint64_t mark_seq(const struct journal *j, const char *mark)
{
	uint64_t n;

	if (strncmp(mark, "fsync-", 6))
		die("mark '%s' is not fsync-N", mark);
	n = parse_num(mark + 6);
	if (!n || n > j->nr_fsyncs)
		die("mark %s: the journal has fsyncs 1..%" PRIu64, mark, j->nr_fsyncs);
	return j->fsync_seq[n];
}

/* contiguous bad sectors with the same finding */
struct bad_run {
	uint64_t first;
	uint64_t count;
	char found[160];
	char expected[160];
};

struct verify {
	const char *dev;
	const char *base;
	struct journal j;
	uint64_t durable;	/* Q */
	uint64_t max_seq;	/* M */
	uint32_t *need;		/* need[lba]: last operation <= Q over lba, or 0 */
	uint32_t *last;		/* last[lba]: last operation <= M over lba, or 0 */
	uint32_t *lastz;	/* lastz[lba]: last zeroing <= M over lba, or 0 */
	/* results */
	uint64_t n_base, n_new, n_zero, n_latest, n_bad, n_runs;
	struct bad_run run;
};

static bool write_covers(const struct journal *j, uint64_t seq, uint64_t lba)
{
	return seq >= 1 && seq <= j->nr_ops && !j->op[seq].zero &&
	       lba >= j->op[seq].lba && lba < j->op[seq].lba + j->op[seq].nr;
}

/*
 * map[lba] = the last operation with seq <= upto over lba (only zeroings
 * if zeroings_only), 0 if none
 */
static uint32_t *last_ops(const struct journal *j, uint64_t upto,
			  bool zeroings_only)
{
	uint32_t *map = calloc(j->sectors ? j->sectors : 1, sizeof(*map));
	uint64_t seq, i;

	if (!map)
		die("out of memory");
	for (seq = 1; seq <= upto; seq++) {
		if (zeroings_only && !j->op[seq].zero)
			continue;
		for (i = 0; i < j->op[seq].nr; i++)
			map[j->op[seq].lba + i] = seq;
	}
	return map;
}

static bool all_zero(const unsigned char *p)
{
	size_t i;

	for (i = 0; i < SECT; i++)
		if (p[i])
			return false;
	return true;
}

/* describe sector lba's contents p, neither base nor valid there */
static void describe_found(const struct verify *v, uint64_t lba,
			   const unsigned char *p, char *out, size_t len)
{
	unsigned char copy[SECT], want[SECT];
	struct sect_hdr h;
	const char *why = "";

	memcpy(&h, p, HDR_SIZE);
	if (le64toh(h.magic) != MAGIC) {
		snprintf(out, len, all_zero(p) ? "zeroes" :
			 "unknown data (neither the base's sector nor crashio data)");
		return;
	}
	memcpy(copy, p, SECT);
	memset(copy + offsetof(struct sect_hdr, crc), 0, sizeof(h.crc));
	if (crc32_ieee(copy, SECT) != le32toh(h.crc)) {
		snprintf(out, len, "crashio header (sector %" PRIu64 " seq %" PRIu64 ") with a bad CRC: torn or corrupt",
			 (uint64_t)le64toh(h.lba), (uint64_t)le64toh(h.seq));
		return;
	}
	if (le64toh(h.seed) != v->j.seed) {
		snprintf(out, len, "crashio data of another run (seed %" PRIu64 ")",
			 (uint64_t)le64toh(h.seed));
		return;
	}
	make_sector(want, v->j.seed, le64toh(h.lba), le64toh(h.seq));
	if (memcmp(want, p, SECT))
		why = " with a corrupt payload";
	else if (le64toh(h.lba) != lba)
		why = " (another place's data)";
	else
		why = " (no write with that number covered it)";
	snprintf(out, len, "crashio data of sector %" PRIu64 " seq %" PRIu64 "%s",
		 (uint64_t)le64toh(h.lba), (uint64_t)le64toh(h.seq), why);
}

/* print the pending run of violations */
static void report_flush(struct verify *v)
{
	struct bad_run *r = &v->run;

	if (!r->count)
		return;
	v->n_runs++;
	if (v->n_runs <= MAX_REPORT)
		printf("crashio: VIOLATION at sectors %" PRIu64 "-%" PRIu64 " (bytes %" PRIu64 "+%" PRIu64 "): found %s; expected %s\n",
		       r->first, r->first + r->count - 1, r->first * SECT,
		       r->count * SECT, r->found, r->expected);
	r->count = 0;
}

/* record a bad sector; neighbours with the same finding make one run */
static void report(struct verify *v, uint64_t lba, const char *found,
		   const char *expected)
{
	struct bad_run *r = &v->run;

	v->n_bad++;
	if (r->count && r->first + r->count == lba &&
	    !strcmp(r->found, found) && !strcmp(r->expected, expected)) {
		r->count++;
		return;
	}
	report_flush(v);
	r->first = lba;
	r->count = 1;
	snprintf(r->found, sizeof(r->found), "%s", found);
	snprintf(r->expected, sizeof(r->expected), "%s", expected);
}

static void expected_str(const struct verify *v, uint64_t lba, char *out,
			 size_t len)
{
	uint64_t need = v->need[lba], last = v->last[lba];

	if (need)
		snprintf(out, len, "what operation %" PRIu64 " (a durable %s) or a later one <= %" PRIu64 " left (the last: %" PRIu64 ")",
			 need, v->j.op[need].zero ? "zeroing" : "write",
			 v->max_seq, last);
	else if (last)
		snprintf(out, len, "the base's data or what an operation <= %" PRIu64 " left (the last: %" PRIu64 ")",
			 v->max_seq, last);
	else
		snprintf(out, len, "the base's data (no operation <= %" PRIu64 " covers it)",
			 v->max_seq);
}

/* zeroes here: a zeroing <= M and not older than the durable point */
static bool zeroes_ok(const struct verify *v, uint64_t lba)
{
	return v->lastz[lba] && v->lastz[lba] >= v->need[lba];
}

static void check_sector(struct verify *v, uint64_t lba,
			 const unsigned char *p, const unsigned char *base)
{
	unsigned char want[SECT];
	char found[160], expected[160];
	struct sect_hdr h;
	uint64_t seq;

	memcpy(&h, p, HDR_SIZE);
	seq = le64toh(h.seq);
	if (le64toh(h.magic) == MAGIC && le64toh(h.lba) == lba &&
	    le64toh(h.seed) == v->j.seed && write_covers(&v->j, seq, lba)) {
		make_sector(want, v->j.seed, lba, seq);
		if (!memcmp(want, p, SECT)) {
			if (seq <= v->max_seq && seq >= v->need[lba]) {
				v->n_new++;
				if (seq == v->last[lba])
					v->n_latest++;
				return;
			}
			snprintf(found, sizeof(found), "version %" PRIu64 "%s", seq,
				 seq > v->max_seq ? " (written after the point checked)" :
				 " (an older write: a durable operation was lost)");
			expected_str(v, lba, expected, sizeof(expected));
			report(v, lba, found, expected);
			return;
		}
	}
	if (all_zero(p) && zeroes_ok(v, lba)) {
		v->n_zero++;
		if (v->lastz[lba] == v->last[lba])
			v->n_latest++;
		return;
	}
	if (!memcmp(p, base, SECT)) {
		if (!v->need[lba]) {
			v->n_base++;
			return;
		}
		snprintf(found, sizeof(found), "the base's data (a durable operation was lost)");
	} else {
		describe_found(v, lba, p, found, sizeof(found));
	}
	expected_str(v, lba, expected, sizeof(expected));
	report(v, lba, found, expected);
}

static void scan(struct verify *v)
{
	unsigned char *d = xalloc(IO_BYTES), *b = xalloc(IO_BYTES);
	uint64_t pos, len, i, size = v->j.sectors * SECT;
	int dfd, bfd;

	dfd = open_dev(v->dev, O_RDONLY, true);
	bfd = open_dev(v->base, O_RDONLY, true);
	if (dev_size(dfd, v->dev) != size)
		die("%s: size %" PRIu64 " differs from the journal's %" PRIu64,
		    v->dev, dev_size(dfd, v->dev), size);
	if (dev_size(bfd, v->base) < size)
		die("%s: smaller than %s", v->base, v->dev);
	for (pos = 0; pos < size; pos += len) {
		len = size - pos < IO_BYTES ? size - pos : IO_BYTES;
		pread_all(dfd, v->dev, d, len, pos);
		pread_all(bfd, v->base, b, len, pos);
		for (i = 0; i < len; i += SECT)
			check_sector(v, (pos + i) / SECT, d + i, b + i);
	}
	close(dfd);
	close(bfd);
	free(d);
	free(b);
}

static int cmd_verify(int argc, char **argv)
{
	const char *journal = NULL, *upto = NULL, *maxmark = NULL;
	uint64_t dseq = 0, mseq = NO_SEQ, durable_sects = 0, i;
	struct verify v = { .dev = argv[0] };
	int k;

	for (k = 1; k < argc; k++) {
		const char *a = argv[k], *val = k + 1 < argc ? argv[k + 1] : NULL;

		if (!val)
			usage();
		k++;
		if (!strcmp(a, "--base"))
			v.base = val;
		else if (!strcmp(a, "--journal"))
			journal = val;
		else if (!strcmp(a, "--upto-mark"))
			upto = val;
		else if (!strcmp(a, "--durable-seq"))
			dseq = parse_num(val);
		else if (!strcmp(a, "--max-mark"))
			maxmark = val;
		else if (!strcmp(a, "--max-seq"))
			mseq = parse_num(val);
		else
			usage();
	}
	if (!v.base || !journal)
		usage();
	journal_load(&v.j, journal);
	v.durable = upto ? mark_seq(&v.j, upto) : dseq;
	v.max_seq = maxmark ? mark_seq(&v.j, maxmark) : mseq;
	if (v.max_seq > v.j.nr_ops)
		v.max_seq = v.j.nr_ops;
	if (v.durable > v.max_seq)
		die("the durable point (%" PRIu64 ") is after the last write allowed (%" PRIu64 ")",
		    v.durable, v.max_seq);
	v.need = last_ops(&v.j, v.durable, false);
	v.last = last_ops(&v.j, v.max_seq, false);
	v.lastz = last_ops(&v.j, v.max_seq, true);
	for (i = 0; i < v.j.sectors; i++)
		durable_sects += !!v.need[i];

	scan(&v);
	report_flush(&v);
	printf("crashio: %s: %" PRIu64 " sectors: %" PRIu64 " base, %" PRIu64 " written, %" PRIu64 " zeroed (%" PRIu64 " by the latest operation), %" PRIu64 " bad; durable seq %" PRIu64 " (%" PRIu64 " sectors covered), max seq %" PRIu64 " of %" PRIu64 "\n",
	       v.dev, v.j.sectors, v.n_base, v.n_new, v.n_zero, v.n_latest, v.n_bad,
	       v.durable, durable_sects, v.max_seq, v.j.nr_ops);
	if (v.n_runs > MAX_REPORT)
		printf("crashio: ... and %" PRIu64 " more runs of bad sectors\n",
		       v.n_runs - MAX_REPORT);
	free(v.need);
	free(v.last);
	free(v.lastz);
	free(v.j.op);
	free(v.j.fsync_seq);
	return v.n_bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	crc_init();
	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "write"))
		return cmd_write(argc - 2, argv + 2);
	if (!strcmp(argv[1], "verify"))
		return cmd_verify(argc - 2, argv + 2);
	usage();
}
