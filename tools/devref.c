// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - resolving device arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ctl.h"
#include "devref.h"
#include "msg.h"
#include "parse.h"

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The kernel's name for device @rdev, from sysfs: 1, 0 if not a snapblk disk, -1. */
static int sysfs_index(dev_t rdev, __u32 *index)
{
	char link[64], target[PATH_MAX];
	ssize_t len;

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(rdev),
		 minor(rdev));
	len = readlink(link, target, sizeof(target) - 1);
	if (len < 0)
		return -1;
	target[len] = '\0';
	return parse_disk_name(base_name(target), index) ? 1 : 0;
}

/*
 * Which snapblk device the block special file @path (device @rdev) is:
 * by the name of the node it resolves to, else by what sysfs says.
 */
static int node_index(const char *path, dev_t rdev, __u32 *index)
{
	char *real = realpath(path, NULL);
	bool found = real && parse_disk_name(base_name(real), index);

	free(real);
	if (found)
		return 1;
	return sysfs_index(rdev, index);
}

int devref_snapblk_index(const struct blkdev *bd, __u32 *index)
{
	return node_index(bd->path, bd->rdev, index);
}

/* DEV given as a path: find N of the /dev/snapblkN it is. */
static int path_index(const char *arg, __u32 *index)
{
	struct stat st;

	if (stat(arg, &st)) {
		/* No node (no devtmpfs?): the module may still know it. */
		if (errno == ENOENT && parse_disk_name(base_name(arg), index))
			return 0;
		if (errno == ENOENT)
			return err_fail("no such snapblk device: %s", arg);
		return err_sys(errno, "cannot access %s", arg);
	}
	if (!S_ISBLK(st.st_mode))
		return err_fail("%s is not a snapblk device (not a block device)",
				arg);
	if (node_index(arg, st.st_rdev, index) <= 0)
		return err_fail("%s is not a snapblk device", arg);
	return 0;
}

int devref_resolve(int ctl, const char *arg, struct snapblk_info *info)
{
	__u32 index;
	int ret;

	if (strchr(arg, '/')) {
		ret = path_index(arg, &index);
		if (ret)
			return ret;
	} else {
		ret = *arg ? ctl_find_name(ctl, arg, info) : -ENOENT;
		if (!ret)
			return 0;
		if (ret != -ENOENT)
			return err_ctl(-ret, "cannot list snapblk devices");
		if (!parse_disk_name(arg, &index))
			return err_fail("no such snapblk device: %s", arg);
	}
	ret = ctl_info(ctl, index, info);
	if (ret == -ENOENT)
		return err_fail("no such snapblk device: %s", arg);
	if (ret)
		return err_ctl(-ret, "cannot query %s", arg);
	return 0;
}

/* A NAME or "snapblkN" stands for DEV_DIR "snapblkN"; else a path. */
static int name_to_path(int ctl, const char *arg, struct blkdev *bd)
{
	struct snapblk_info info;
	int ret;

	ret = ctl_find_name(ctl, arg, &info);
	if (ret == -ENOENT && parse_disk_name(arg, &info.index))
		ret = 0;
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return err_ctl(-ret, "cannot list snapblk devices");
	snprintf(bd->path, sizeof(bd->path), DEV_DIR SNAPBLK_DISK_NAME "%u",
		 info.index);
	return 0;
}

static int open_fail(int err, const char *role, const struct blkdev *bd)
{
	if (strcmp(bd->path, bd->arg))
		return err_sys(err, "cannot open %s '%s' (%s)", role, bd->arg,
			       bd->path);
	return err_sys(err, "cannot open %s '%s'", role, bd->arg);
}

int devref_open(int ctl, const char *role, const char *arg, unsigned int flags,
		struct blkdev *bd)
{
	struct stat st;
	int ret;

	memset(bd, 0, sizeof(*bd));
	bd->fd = -1;
	bd->arg = arg;
	if (!*arg)
		return err_fail("empty %s", role);
	if ((flags & DEVREF_NAMES) && !strchr(arg, '/')) {
		ret = name_to_path(ctl, arg, bd);
		if (ret)
			return ret;
	}
	if (!bd->path[0]) {
		if (strlen(arg) >= sizeof(bd->path))
			return err_sys(ENAMETOOLONG, "cannot open %s '%s'", role, arg);
		strcpy(bd->path, arg);
	}
	bd->fd = open(bd->path, O_RDWR | O_CLOEXEC);
	if (bd->fd < 0 && (flags & DEVREF_RO_OK) &&
	    (errno == EROFS || errno == EACCES)) {
		bd->fd = open(bd->path, O_RDONLY | O_CLOEXEC);
		bd->read_only = true;
	}
	if (bd->fd < 0)
		return open_fail(errno, role, bd);
	if (fstat(bd->fd, &st)) {
		ret = open_fail(errno, role, bd);
		devref_close(bd);
		return ret;
	}
	if (!S_ISBLK(st.st_mode)) {
		devref_close(bd);
		return err_fail("%s '%s' is not a block device%s", role, arg,
				S_ISREG(st.st_mode) ?
				" (attach an image file with losetup first)" : "");
	}
	bd->rdev = st.st_rdev;
	return 0;
}

void devref_close(struct blkdev *bd)
{
	if (bd->fd >= 0)
		close(bd->fd);
	bd->fd = -1;
}
