/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblkctl - resolving device arguments.
 *
 * DEV, a snapblk device, is "/dev/snapblkN" (or any path to that node),
 * "snapblkN", or the device's NAME. BASE, STORE and the disk of an origin
 * are block devices given by path and passed to the module as open file
 * descriptors; BASE and ORIGIN may also be a snapblk NAME.
 */
#ifndef SNAPBLKCTL_DEVREF_H
#define SNAPBLKCTL_DEVREF_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <linux/snapblk.h>

/* devref_open() flags */
#define DEVREF_NAMES	0x1	/* a snapblk NAME stands for its /dev/snapblkN */
#define DEVREF_RO_OK	0x2	/* open read-only if read-write is refused */

/**
 * struct blkdev - an open block device argument.
 * @fd: open file descriptor, or -1.
 * @rdev: its device number.
 * @read_only: opened O_RDONLY after O_RDWR was refused.
 * @arg: the argument as given.
 * @path: what was opened: @arg, or the node a NAME resolved to.
 */
struct blkdev {
	int fd;
	dev_t rdev;
	bool read_only;
	const char *arg;
	char path[PATH_MAX];
};

/* Resolve DEV to the device's info: 0, or EXIT_FAIL after printing why. */
int devref_resolve(int ctl, const char *arg, struct snapblk_info *info);

/*
 * Open the block device argument @arg, called @role ("BASE", "STORE") in
 * messages: 0, or EXIT_FAIL after printing why.
 */
int devref_open(int ctl, const char *role, const char *arg, unsigned int flags,
		struct blkdev *bd);

void devref_close(struct blkdev *bd);

/*
 * Which snapblk device an open block device is: 1 and *@index if it is
 * /dev/snapblkN, 0 if it is another device, -1 if that cannot be told.
 */
int devref_snapblk_index(const struct blkdev *bd, __u32 *index);

#endif /* SNAPBLKCTL_DEVREF_H */
