// SPDX-License-Identifier: GPL-2.0
/*
 * pattern - deterministic data on block devices and files, for the
 * snapblk selftests.
 *
 *   pattern write  [opts] FILE SEED OFFSET LENGTH
 *	write the pattern of SEED over [OFFSET, OFFSET+LENGTH)
 *   pattern verify [opts] FILE SEED OFFSET LENGTH
 *	check that [OFFSET, OFFSET+LENGTH) holds the pattern of SEED
 *   pattern fill   [opts] FILE SEED OFFSET LENGTH
 *	like write, but stop at the first failed write instead of failing;
 *	prints "BYTES ERRNO" (bytes written before the error, 0 if none)
 *   pattern scatter [opts] [-a ALIGN] FILE SEED COUNT MINLEN MAXLEN
 *	COUNT writes of random lengths in [MINLEN, MAXLEN] at random
 *	offsets, both multiples of ALIGN (default 512), each with its own
 *	pattern; the same arguments on a file of the same size produce the
 *	same result (later writes win where they overlap)
 *   pattern cmp    [opts] FILE1 FILE2 [OFFSET LENGTH]
 *	compare two files/devices (whole, or a range at the same offset);
 *	whole-file comparison also requires equal sizes
 *   pattern sum    [opts] FILE [OFFSET LENGTH]
 *	print a 64-bit checksum of the range (or the whole file) and its length
 *   pattern size   FILE
 *	print the size in bytes
 *   pattern excl   FILE
 *	try to open FILE with O_EXCL (a block device claimed by someone
 *	else gives EBUSY); exit 0 if the open worked, 1 otherwise, and
 *	print "ok" or the errno name
 *
 * options:
 *   -b BS	I/O size (default 1M; the last request may be shorter)
 *   -o ORIGIN	pattern position origin: byte at file offset X gets the
 *		pattern value of position X - ORIGIN (so data written at
 *		ORIGIN in a disk image verifies at offset 0 of a partition)
 *   -B		buffered I/O (default: O_DIRECT when offset, length and BS
 *		are multiples of 512 and the file supports it; buffered
 *		writes are followed by fsync)
 *
 * The pattern depends on SEED and on the absolute position of each byte,
 * so data that lands at the wrong place, or another chunk's data, does
 * not verify. SEED "zero" stands for all-zero data. Numbers take the
 * suffixes K, M, G (powers of 1024) or a 0x prefix.
 *
 * Exit status: 0 success, 1 mismatch or I/O error, 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR ((uint64_t)512)

static uint64_t opt_bs = 1024 * 1024;
static uint64_t opt_origin;
static bool opt_buffered;
static uint64_t opt_align = 512;

static void usage(void)
{
	fprintf(stderr,
		"usage: pattern write|verify|fill [-b BS] [-o ORIGIN] [-B] FILE SEED OFFSET LENGTH\n"
		"       pattern scatter [-a ALIGN] [-B] FILE SEED COUNT MINLEN MAXLEN\n"
		"       pattern cmp [-b BS] [-B] FILE1 FILE2 [OFFSET LENGTH]\n"
		"       pattern sum [-b BS] [-B] FILE [OFFSET LENGTH]\n"
		"       pattern size|excl FILE\n");
	exit(2);
}

static uint64_t parse_num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		goto bad;
	switch (*end) {
	case 'k': case 'K':
		v <<= 10; end++; break;
	case 'm': case 'M':
		v <<= 20; end++; break;
	case 'g': case 'G':
		v <<= 30; end++; break;
	}
	if (*end)
		goto bad;
	return v;
bad:
	fprintf(stderr, "pattern: bad number '%s'\n", s);
	exit(2);
}

/* seed: a number, or "zero" (returned as the flag *zero) */
static uint64_t parse_seed(const char *s, bool *zero)
{
	*zero = !strcmp(s, "zero");
	return *zero ? 0 : parse_num(s);
}

static uint64_t mix(uint64_t seed, uint64_t word)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ULL + word + 0x632be59bd9b4e019ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* fill buf with the pattern of positions [pos, pos+len) */
static void gen(unsigned char *buf, uint64_t seed, bool zero, uint64_t pos,
		size_t len)
{
	size_t i = 0;

	if (zero) {
		memset(buf, 0, len);
		return;
	}
	while (i < len) {
		uint64_t p = pos + i;
		uint64_t v = mix(seed, p >> 3);
		unsigned int b = p & 7;

		if (b == 0 && len - i >= 8) {
			/* little-endian byte order, independent of the host */
			for (b = 0; b < 8; b++)
				buf[i + b] = v >> (8 * b);
			i += 8;
		} else {
			buf[i++] = v >> (8 * b);
		}
	}
}

static bool aligned(uint64_t off, uint64_t len)
{
	return !(off % SECTOR) && !(len % SECTOR) && !(opt_bs % SECTOR);
}

/* open for I/O, with O_DIRECT when allowed and supported */
static int open_io(const char *path, int flags, bool direct, bool *is_direct)
{
	int fd = -1;

	if (direct && !opt_buffered) {
		fd = open(path, flags | O_DIRECT);
		if (fd < 0 && errno != EINVAL)
			goto fail;
	}
	*is_direct = fd >= 0;
	if (fd < 0)
		fd = open(path, flags);
	if (fd >= 0)
		return fd;
fail:
	fprintf(stderr, "pattern: open %s: %s\n", path, strerror(errno));
	exit(1);
}

static void *alloc_buf(size_t len)
{
	void *p;

	if (posix_memalign(&p, 4096, len ? len : 4096)) {
		fprintf(stderr, "pattern: out of memory\n");
		exit(1);
	}
	return p;
}

static uint64_t file_size(int fd, const char *path)
{
	off_t end = lseek(fd, 0, SEEK_END);

	if (end < 0) {
		fprintf(stderr, "pattern: seek %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return end;
}

/* full read; returns bytes read (short only at end of file) or -1 */
static ssize_t read_full(int fd, unsigned char *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, buf + done, len - done, off + done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += r;
	}
	return done;
}

static int do_write(const char *path, uint64_t seed, bool zero, uint64_t off,
		    uint64_t len, bool fill)
{
	bool direct;
	int fd = open_io(path, O_WRONLY, aligned(off, len), &direct);
	unsigned char *buf = alloc_buf(opt_bs);
	uint64_t done = 0;
	int err = 0;

	if (off < opt_origin) {
		fprintf(stderr, "pattern: offset below origin\n");
		return 2;
	}
	while (done < len) {
		size_t n = len - done < opt_bs ? len - done : opt_bs;
		ssize_t w;

		gen(buf, seed, zero, off + done - opt_origin, n);
		w = pwrite(fd, buf, n, off + done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = errno;
			break;
		}
		done += w;
		if ((size_t)w < n) {
			/* a short write: retry the rest, an error shows then */
			continue;
		}
	}
	if (!err && !direct && fsync(fd) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	free(buf);
	if (fill) {
		printf("%" PRIu64 " %d\n", done, err);
		return 0;
	}
	if (err) {
		fprintf(stderr, "pattern: write %s at %" PRIu64 ": %s\n",
			path, off + done, strerror(err));
		return 1;
	}
	return 0;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

static int do_verify(const char *path, uint64_t seed, bool zero, uint64_t off,
		     uint64_t len)
{
	bool direct;
	int fd = open_io(path, O_RDONLY, aligned(off, len), &direct);
	unsigned char *buf = alloc_buf(opt_bs), *exp = alloc_buf(opt_bs);
	uint64_t done = 0, bad_sectors = 0, first_bad = 0, last_bad = 0;
	uint64_t zero_sectors = 0;

	if (off < opt_origin) {
		fprintf(stderr, "pattern: offset below origin\n");
		return 2;
	}
	while (done < len) {
		size_t n = len - done < opt_bs ? len - done : opt_bs;
		ssize_t r = read_full(fd, buf, n, off + done);
		size_t i;

		if (r < 0) {
			fprintf(stderr, "pattern: read %s at %" PRIu64 ": %s\n",
				path, off + done, strerror(errno));
			return 1;
		}
		if ((size_t)r < n) {
			fprintf(stderr, "pattern: %s ends at %" PRIu64 "\n",
				path, off + done + r);
			return 1;
		}
		gen(exp, seed, zero, off + done - opt_origin, n);
		if (!memcmp(buf, exp, n)) {
			done += n;
			continue;
		}
		/* count bad 512-byte sectors (relative to the device) */
		for (i = 0; i < n;) {
			uint64_t pos = off + done + i;
			size_t s = SECTOR - pos % SECTOR;

			if (s > n - i)
				s = n - i;
			if (memcmp(buf + i, exp + i, s)) {
				if (!bad_sectors) {
					size_t j = i;

					while (buf[j] == exp[j])
						j++;
					first_bad = off + done + j;
					fprintf(stderr,
						"pattern: %s: first mismatch at byte %" PRIu64
						" (sector %" PRIu64 "): read 0x%02x, expected 0x%02x\n",
						path, first_bad, first_bad / SECTOR,
						buf[j], exp[j]);
				}
				bad_sectors++;
				if (all_zero(buf + i, s))
					zero_sectors++;
				last_bad = pos;
			}
			i += s;
		}
		done += n;
	}
	close(fd);
	free(buf);
	free(exp);
	if (bad_sectors) {
		char seedstr[24];

		if (zero)
			strcpy(seedstr, "zero");
		else
			snprintf(seedstr, sizeof(seedstr), "%" PRIu64, seed);
		fprintf(stderr,
			"pattern: %s: %" PRIu64 " bad sectors (%" PRIu64
			" of them all zero) between bytes %" PRIu64 " and %" PRIu64
			" (verifying seed %s over offset %" PRIu64 " length %" PRIu64 ")\n",
			path, bad_sectors, zero_sectors, first_bad,
			last_bad + SECTOR, seedstr, off, len);
		return 1;
	}
	return 0;
}

static int do_scatter(const char *path, uint64_t seed, uint64_t count,
		      uint64_t minlen, uint64_t maxlen, uint64_t align)
{
	bool direct;
	int fd = open_io(path, O_WRONLY, !(align % SECTOR), &direct);
	uint64_t size = file_size(fd, path), i;
	unsigned char *buf = alloc_buf(maxlen);

	if (!align || minlen < align || maxlen < minlen || maxlen > size ||
	    maxlen > (1ULL << 30)) {
		fprintf(stderr, "pattern: bad scatter lengths\n");
		return 2;
	}
	for (i = 0; i < count; i++) {
		uint64_t len = minlen + mix(seed, 2 * i) % (maxlen - minlen + 1);
		uint64_t off, s = mix(seed, 1000000007ULL + i);
		ssize_t w;

		len -= len % align;
		off = mix(seed, 2 * i + 1) % ((size - len) / align + 1) * align;
		gen(buf, s, false, off, len);
		w = pwrite(fd, buf, len, off);
		if (w != (ssize_t)len) {
			fprintf(stderr, "pattern: scatter write %" PRIu64 " of %s at %" PRIu64
				" length %" PRIu64 ": %s\n", i, path, off, len,
				w < 0 ? strerror(errno) : "short write");
			return 1;
		}
	}
	if (!direct && fsync(fd) < 0) {
		fprintf(stderr, "pattern: fsync %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	free(buf);
	return 0;
}

static int do_cmp(const char *p1, const char *p2, int argc, char **argv)
{
	bool d1, d2;
	uint64_t off = 0, len, s1, s2, done = 0, bad = 0;
	int fd1, fd2;
	unsigned char *b1 = alloc_buf(opt_bs), *b2 = alloc_buf(opt_bs);

	if (argc == 2) {
		off = parse_num(argv[0]);
		len = parse_num(argv[1]);
	} else if (argc) {
		usage();
	}
	fd1 = open_io(p1, O_RDONLY, argc ? aligned(off, len) : true, &d1);
	fd2 = open_io(p2, O_RDONLY, argc ? aligned(off, len) : true, &d2);
	s1 = file_size(fd1, p1);
	s2 = file_size(fd2, p2);
	if (!argc) {
		if (s1 != s2) {
			fprintf(stderr, "pattern: %s has %" PRIu64 " bytes, %s has %" PRIu64 "\n",
				p1, s1, p2, s2);
			return 1;
		}
		len = s1;
		if (len % SECTOR) {
			/* odd-sized files: no O_DIRECT for the tail */
			opt_buffered = true;
			close(fd1);
			close(fd2);
			fd1 = open_io(p1, O_RDONLY, false, &d1);
			fd2 = open_io(p2, O_RDONLY, false, &d2);
		}
	}
	while (done < len) {
		size_t n = len - done < opt_bs ? len - done : opt_bs;
		ssize_t r1 = read_full(fd1, b1, n, off + done);
		ssize_t r2 = read_full(fd2, b2, n, off + done);
		size_t i;

		if (r1 < 0 || r2 < 0) {
			fprintf(stderr, "pattern: read %s at %" PRIu64 ": %s\n",
				r1 < 0 ? p1 : p2, off + done, strerror(errno));
			return 1;
		}
		if ((size_t)r1 < n || (size_t)r2 < n) {
			fprintf(stderr, "pattern: %s ends before %" PRIu64 "\n",
				(size_t)r1 < n ? p1 : p2, off + done + n);
			return 1;
		}
		if (memcmp(b1, b2, n)) {
			for (i = 0; i < n; i += SECTOR) {
				size_t s = n - i < SECTOR ? n - i : SECTOR;

				if (!memcmp(b1 + i, b2 + i, s))
					continue;
				if (!bad) {
					size_t j = i;

					while (b1[j] == b2[j])
						j++;
					fprintf(stderr,
						"pattern: %s and %s differ first at byte %" PRIu64
						" (0x%" PRIx64 "): 0x%02x vs 0x%02x%s\n",
						p1, p2, off + done + j, off + done + j,
						b1[j], b2[j],
						all_zero(b1 + i, s) ? " (sector of the first is zero)" : "");
				}
				bad++;
			}
		}
		done += n;
	}
	if (bad) {
		fprintf(stderr, "pattern: %" PRIu64 " differing sectors in [%" PRIu64 ", %" PRIu64 ")\n",
			bad, off, off + len);
		return 1;
	}
	return 0;
}

static int do_sum(const char *path, int argc, char **argv)
{
	bool direct;
	uint64_t off = 0, len, done = 0, h = 0xcbf29ce484222325ULL;
	unsigned char *buf;
	int fd;

	if (argc == 2) {
		off = parse_num(argv[0]);
		len = parse_num(argv[1]);
	} else if (argc) {
		usage();
	}
	if (opt_bs % 8) {
		fprintf(stderr, "pattern: sum needs a block size multiple of 8\n");
		return 2;
	}
	fd = open_io(path, O_RDONLY, argc ? aligned(off, len) : true, &direct);
	if (!argc) {
		len = file_size(fd, path);
		if (len % SECTOR && direct) {
			close(fd);
			opt_buffered = true;
			fd = open_io(path, O_RDONLY, false, &direct);
		}
	}
	buf = alloc_buf(opt_bs);
	while (done < len) {
		size_t n = len - done < opt_bs ? len - done : opt_bs;
		ssize_t r = read_full(fd, buf, n, off + done);
		size_t i;

		if (r < 0 || (size_t)r < n) {
			fprintf(stderr, "pattern: read %s at %" PRIu64 ": %s\n",
				path, off + done, r < 0 ? strerror(errno) : "end of file");
			return 1;
		}
		for (i = 0; i < n; i += 8) {
			uint64_t w = 0;
			unsigned int b;

			for (b = 0; b < 8 && i + b < n; b++)
				w |= (uint64_t)buf[i + b] << (8 * b);
			h = (h ^ w) * 0x100000001b3ULL;
			h = (h << 31) | (h >> 33);
		}
		done += n;
	}
	h = mix(h, len);
	printf("%016" PRIx64 " %" PRIu64 "\n", h, len);
	close(fd);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int c;

	if (argc < 2)
		usage();
	cmd = argv[1];
	argv++;
	argc--;
	while ((c = getopt(argc, argv, "a:b:o:B")) != -1) {
		switch (c) {
		case 'a':
			opt_align = parse_num(optarg);
			break;
		case 'b':
			opt_bs = parse_num(optarg);
			if (!opt_bs || opt_bs > (1ULL << 30))
				usage();
			break;
		case 'o':
			opt_origin = parse_num(optarg);
			break;
		case 'B':
			opt_buffered = true;
			break;
		default:
			usage();
		}
	}
	argv += optind;
	argc -= optind;

	if (!strcmp(cmd, "write") || !strcmp(cmd, "verify") ||
	    !strcmp(cmd, "fill")) {
		bool zero;
		uint64_t seed, off, len;

		if (argc != 4)
			usage();
		seed = parse_seed(argv[1], &zero);
		off = parse_num(argv[2]);
		len = parse_num(argv[3]);
		if (!strcmp(cmd, "verify"))
			return do_verify(argv[0], seed, zero, off, len);
		return do_write(argv[0], seed, zero, off, len,
				!strcmp(cmd, "fill"));
	}
	if (!strcmp(cmd, "scatter")) {
		bool zero;
		uint64_t seed;

		if (argc != 5)
			usage();
		seed = parse_seed(argv[1], &zero);
		return do_scatter(argv[0], seed, parse_num(argv[2]),
				  parse_num(argv[3]), parse_num(argv[4]), opt_align);
	}
	if (!strcmp(cmd, "cmp")) {
		if (argc < 2)
			usage();
		return do_cmp(argv[0], argv[1], argc - 2, argv + 2);
	}
	if (!strcmp(cmd, "sum")) {
		if (argc < 1)
			usage();
		return do_sum(argv[0], argc - 1, argv + 1);
	}
	if (!strcmp(cmd, "size")) {
		int fd;

		if (argc != 1)
			usage();
		fd = open(argv[0], O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "pattern: open %s: %s\n", argv[0], strerror(errno));
			return 1;
		}
		printf("%" PRIu64 "\n", file_size(fd, argv[0]));
		return 0;
	}
	if (!strcmp(cmd, "excl")) {
		int fd;

		if (argc != 1)
			usage();
		fd = open(argv[0], O_RDONLY | O_EXCL);
		if (fd < 0) {
			printf("%s\n", errno == EBUSY ? "EBUSY" : strerror(errno));
			return 1;
		}
		printf("ok\n");
		close(fd);
		return 0;
	}
	usage();
	return 2;
}
