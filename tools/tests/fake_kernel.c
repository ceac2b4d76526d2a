// SPDX-License-Identifier: GPL-2.0
/*
 * A simulated snapblk module for testing snapblkctl without loading one:
 * linked in place of tools/kernel.c, it answers the ioctls from a state
 * file ($SNAPBLK_FAKE_STATE) so that successive runs of the tool see the
 * same devices.
 *
 * A running commit or revert advances by 25% at each SNAPBLK_IOC_INFO of
 * the device; a commit ends ACTIVE, or as $SNAPBLK_FAKE_END says
 * ("invalid", "full"); a revert removes the snapshot. $SNAPBLK_FAKE_FAIL
 * set to "NR:ERRNO" makes the ioctl numbered NR fail with ERRNO.
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

#include "../ctl.h"

#define FAKE_MAX	16

struct fake {
	unsigned int nr;
	struct snapblk_info dev[FAKE_MAX];
};

static void fake_load(struct fake *f)
{
	const char *path = getenv("SNAPBLK_FAKE_STATE");
	FILE *fp = path ? fopen(path, "rb") : NULL;

	memset(f, 0, sizeof(*f));
	if (!fp)
		return;
	if (fread(f, sizeof(*f), 1, fp) != 1)
		memset(f, 0, sizeof(*f));
	fclose(fp);
}

static void fake_save(const struct fake *f)
{
	const char *path = getenv("SNAPBLK_FAKE_STATE");
	FILE *fp = path ? fopen(path, "wb") : NULL;

	if (!fp)
		return;
	fwrite(f, sizeof(*f), 1, fp);
	fclose(fp);
}

static struct snapblk_info *fake_find(struct fake *f, __u32 index)
{
	unsigned int i;

	for (i = 0; i < f->nr; i++) {
		if (f->dev[i].index == index)
			return &f->dev[i];
	}
	return NULL;
}

static struct snapblk_info *fake_find_disk(struct fake *f, const char *disk)
{
	__u32 index;
	size_t plen = strlen(SNAPBLK_DISK_NAME);

	if (strncmp(disk, SNAPBLK_DISK_NAME, plen))
		return NULL;
	index = strtoul(disk + plen, NULL, 10);
	return fake_find(f, index);
}

static void fake_drop(struct fake *f, struct snapblk_info *d)
{
	struct snapblk_info *parent = fake_find_disk(f, d->parent);

	if (parent && parent->nr_children)
		parent->nr_children--;
	*d = f->dev[--f->nr];
}

/* Kernel name of the block device open as @fd: node name, else sysfs. */
static int fd_disk(int fd, char *name)
{
	char link[64], target[PATH_MAX];
	const char *base;
	struct stat st;
	ssize_t len;

	if (fd < 0 || fstat(fd, &st) || !S_ISBLK(st.st_mode))
		return -EBADF;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, target, sizeof(target) - 1);
	if (len > 0) {
		target[len] = '\0';
		base = strrchr(target, '/') + 1;
		if (!strncmp(base, SNAPBLK_DISK_NAME, strlen(SNAPBLK_DISK_NAME))) {
			snprintf(name, SNAPBLK_DISK_LEN, "%s", base);
			return 0;
		}
	}
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st.st_rdev),
		 minor(st.st_rdev));
	len = readlink(link, target, sizeof(target) - 1);
	if (len <= 0)
		return -ENODEV;
	target[len] = '\0';
	snprintf(name, SNAPBLK_DISK_LEN, "%s", strrchr(target, '/') + 1);
	return 0;
}

static bool zero(const void *p, size_t len)
{
	const unsigned char *b = p;

	while (len--) {
		if (*b++)
			return false;
	}
	return true;
}

static int check_create(struct fake *f, const struct snapblk_create *c)
{
	__u32 cs = c->chunk_size;
	unsigned int i;
	bool is_origin;

	if (!zero(c->reserved, sizeof(c->reserved)) || c->__pad || c->index ||
	    (c->flags & ~SNAPBLK_CREATE_FLAGS))
		return -EINVAL;
	if (c->kind < SNAPBLK_KIND_OVERLAY || c->kind > SNAPBLK_KIND_SNAPSHOT)
		return -EINVAL;
	if (cs && (cs < SNAPBLK_CHUNK_MIN || cs > SNAPBLK_CHUNK_MAX || (cs & (cs - 1))))
		return -EINVAL;
	if (c->on_full > SNAPBLK_ON_FULL_BLOCK_WRITES ||
	    (c->on_full && c->kind != SNAPBLK_KIND_SNAPSHOT))
		return -EINVAL;
	is_origin = c->kind == SNAPBLK_KIND_ORIGIN;
	if (is_origin != (c->store_fd == -1))
		return -EINVAL;
	if (!(c->flags & SNAPBLK_CREATE_NAMED))
		return zero(c->name, sizeof(c->name)) ? 0 : -EINVAL;
	if (!c->name[0] || !memchr(c->name, '\0', sizeof(c->name)))
		return -EINVAL;
	for (i = 0; i < f->nr; i++) {
		if (!strcmp(f->dev[i].name, c->name))
			return -EEXIST;
	}
	return 0;
}

static __u32 free_index(struct fake *f)
{
	__u32 index = 0;

	while (fake_find(f, index))
		index++;
	return index;
}

static int fake_create(struct fake *f, struct snapblk_create *c)
{
	struct snapblk_info *d, *parent;
	unsigned int i;
	int ret;

	ret = check_create(f, c);
	if (ret)
		return ret;
	if (f->nr == FAKE_MAX)
		return -ENOSPC;
	d = &f->dev[f->nr];
	memset(d, 0, sizeof(*d));
	ret = fd_disk(c->parent_fd, d->parent);
	if (!ret && c->store_fd >= 0)
		ret = fd_disk(c->store_fd, d->store);
	if (ret)
		return ret;
	parent = fake_find_disk(f, d->parent);
	if (c->kind == SNAPBLK_KIND_SNAPSHOT &&
	    (!parent || parent->kind != SNAPBLK_KIND_ORIGIN))
		return -EINVAL;
	/* a store holds one snapshot here: attached already, none is left */
	if (c->kind == SNAPBLK_KIND_SNAPSHOT && (c->flags & SNAPBLK_CREATE_ATTACH))
		for (i = 0; i < f->nr; i++)
			if (!strcmp(f->dev[i].store, d->store))
				return -ENOENT;
	d->index = free_index(f);
	d->kind = c->kind;
	d->state = SNAPBLK_STATE_ACTIVE;
	d->on_full = c->on_full;
	if (c->kind != SNAPBLK_KIND_ORIGIN) {
		d->chunk_size = c->chunk_size ? c->chunk_size : SNAPBLK_CHUNK_DEFAULT;
		d->store_used = 3 * 4096;
		d->store_size = 16ULL << 20;
	}
	d->size = 64ULL << 20;
	if (c->flags & SNAPBLK_CREATE_NAMED)
		snprintf(d->name, sizeof(d->name), "%s", c->name);
	else
		snprintf(d->name, sizeof(d->name), SNAPBLK_DISK_NAME "%u", d->index);
	if (parent)
		parent->nr_children++;
	c->index = d->index;
	f->nr++;
	return 0;
}

/* Move a running commit or revert on; false if the device went away. */
static bool fake_advance(struct fake *f, struct snapblk_info *d)
{
	const char *end = getenv("SNAPBLK_FAKE_END");

	if (d->state != SNAPBLK_STATE_COMMITTING &&
	    d->state != SNAPBLK_STATE_REVERTING)
		return true;
	d->progress += 25;
	if (d->progress < 100)
		return true;
	if (d->state == SNAPBLK_STATE_REVERTING) {
		fake_drop(f, d);
		return false;
	}
	d->progress = 0;
	d->state = SNAPBLK_STATE_ACTIVE;
	if (end && !strcmp(end, "invalid"))
		d->state = SNAPBLK_STATE_INVALID;
	else if (end && !strcmp(end, "full"))
		d->state = SNAPBLK_STATE_FULL;
	return true;
}

static int fake_info(struct fake *f, struct snapblk_info *info)
{
	struct snapblk_info *d = NULL;
	unsigned int i;

	if (info->flags & ~SNAPBLK_INFO_NEXT || !zero(info->reserved, sizeof(info->reserved)))
		return -EINVAL;
	for (i = 0; i < f->nr; i++) {
		struct snapblk_info *e = &f->dev[i];

		if (e->index == info->index ||
		    ((info->flags & SNAPBLK_INFO_NEXT) && e->index > info->index &&
		     (!d || e->index < d->index)))
			d = e;
		if (d && d->index == info->index)
			break;
	}
	if (!d)
		return -ENODEV;
	if (!fake_advance(f, d))
		return info->flags & SNAPBLK_INFO_NEXT ? fake_info(f, info) : -ENODEV;
	*info = *d;
	return 0;
}

static int fake_cmd(struct fake *f, unsigned long req, struct snapblk_cmd *cmd)
{
	struct snapblk_info *d = fake_find(f, cmd->index);

	if (!zero(cmd->reserved, sizeof(cmd->reserved)))
		return -EINVAL;
	if (!d)
		return -ENODEV;
	if (req != SNAPBLK_IOC_REMOVE && cmd->flags)
		return -EINVAL;
	if (d->state == SNAPBLK_STATE_COMMITTING || d->state == SNAPBLK_STATE_REVERTING)
		return -EBUSY;
	switch (req) {
	case SNAPBLK_IOC_REMOVE:
		if (cmd->flags & ~SNAPBLK_REMOVE_DISCARD)
			return -EINVAL;
		if (d->nr_children)
			return -EBUSY;
		fake_drop(f, d);
		return 0;
	case SNAPBLK_IOC_COMMIT:
		if (d->kind != SNAPBLK_KIND_OVERLAY)
			return -EINVAL;
		d->state = SNAPBLK_STATE_COMMITTING;
		return 0;
	case SNAPBLK_IOC_REVERT:
		if (d->kind != SNAPBLK_KIND_SNAPSHOT)
			return -EINVAL;
		d->state = SNAPBLK_STATE_REVERTING;
		return 0;
	default:
		if (d->kind == SNAPBLK_KIND_ORIGIN)
			return -EINVAL;
		d->store_size += 1 << 20;
		return 0;
	}
}

static int forced_error(unsigned long req)
{
	const char *spec = getenv("SNAPBLK_FAKE_FAIL");
	unsigned int nr, err;

	if (spec && sscanf(spec, "%u:%u", &nr, &err) == 2 && nr == _IOC_NR(req))
		return -(int)err;
	return 0;
}

static int fake_ioctl(struct fake *f, unsigned long req, void *arg)
{
	struct snapblk_version *ver = arg;

	switch (req) {
	case SNAPBLK_IOC_VERSION:
		memset(ver, 0, sizeof(*ver));
		ver->abi_major = SNAPBLK_ABI_MAJOR;
		ver->abi_minor = SNAPBLK_ABI_MINOR;
		snprintf(ver->version, sizeof(ver->version), "fake-0.0");
		return 0;
	case SNAPBLK_IOC_CREATE:
		return fake_create(f, arg);
	case SNAPBLK_IOC_INFO:
		return fake_info(f, arg);
	case SNAPBLK_IOC_REMOVE:
	case SNAPBLK_IOC_COMMIT:
	case SNAPBLK_IOC_REVERT:
	case SNAPBLK_IOC_GROW:
		return fake_cmd(f, req, arg);
	default:
		return -ENOTTY;
	}
}

int kernel_ioctl(int fd, unsigned long req, void *arg)
{
	struct fake f;
	int ret;

	ret = forced_error(req);
	if (ret)
		return ret;
	fake_load(&f);
	ret = fake_ioctl(&f, req, arg);
	fake_save(&f);
	return ret;
}
