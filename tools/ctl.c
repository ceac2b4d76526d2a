// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - the control device /dev/snapblk-ctl and its ioctls.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "msg.h"

/* Stop a listing that does not end (a module bug) at some point. */
#define CTL_MAX_DEVICES	(1024U * 1024U)

int ctl_open(bool writable)
{
	const char *path = getenv(CTL_PATH_ENV);
	const char *hint = "";
	int fd, err;

	if (!path || !*path)
		path = SNAPBLK_CTL_PATH;
	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	err = errno;
	if (err == ENOENT || err == ENODEV || err == ENXIO)
		hint = " (is the snapblk module loaded?)";
	else if (err == EACCES || err == EPERM)
		hint = " (are you root?)";
	fprintf(stderr, PROG_NAME ": cannot open %s: %s%s\n", path,
		strerror(err), hint);
	return -1;
}

int ctl_version(int ctl, struct snapblk_version *ver)
{
	int ret;

	memset(ver, 0, sizeof(*ver));
	ret = kernel_ioctl(ctl, SNAPBLK_IOC_VERSION, ver);
	ver->version[sizeof(ver->version) - 1] = '\0';
	return ret;
}

/* Make the strings safe to print whatever the module returned. */
static void info_terminate(struct snapblk_info *info)
{
	info->name[sizeof(info->name) - 1] = '\0';
	info->parent[sizeof(info->parent) - 1] = '\0';
	info->store[sizeof(info->store) - 1] = '\0';
}

static int info_ioctl(int ctl, __u32 index, __u32 flags,
		      struct snapblk_info *info)
{
	int ret;

	memset(info, 0, sizeof(*info));
	info->index = index;
	info->flags = flags;
	ret = kernel_ioctl(ctl, SNAPBLK_IOC_INFO, info);
	if (ret == -ENODEV)
		ret = -ENOENT;
	if (ret)
		return ret;
	info_terminate(info);
	return 0;
}

int ctl_info(int ctl, __u32 index, struct snapblk_info *info)
{
	int ret = info_ioctl(ctl, index, 0, info);

	if (!ret && info->index != index)
		return -EPROTO;
	return ret;
}

int ctl_next(int ctl, __u32 index, struct snapblk_info *info)
{
	int ret = info_ioctl(ctl, index, SNAPBLK_INFO_NEXT, info);

	if (!ret && info->index < index)
		return -EPROTO;
	return ret;
}

int ctl_list(int ctl, struct snapblk_info **infos, size_t *nr)
{
	struct snapblk_info info, *arr = NULL, *tmp;
	size_t n = 0, cap = 0;
	__u32 index = 0;
	int ret;

	for (;;) {
		ret = ctl_next(ctl, index, &info);
		if (ret == -ENOENT)
			break;
		if (!ret && n >= CTL_MAX_DEVICES)
			ret = -EPROTO;
		if (ret)
			goto fail;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			tmp = realloc(arr, cap * sizeof(*arr));
			if (!tmp) {
				ret = -ENOMEM;
				goto fail;
			}
			arr = tmp;
		}
		arr[n++] = info;
		if (info.index == UINT32_MAX)
			break;
		index = info.index + 1;
	}
	*infos = arr;
	*nr = n;
	return 0;
fail:
	free(arr);
	return ret;
}

int ctl_find_name(int ctl, const char *name, struct snapblk_info *info)
{
	__u32 index = 0;
	size_t n;
	int ret;

	for (n = 0; n < CTL_MAX_DEVICES; n++) {
		ret = ctl_next(ctl, index, info);
		if (ret)
			return ret;
		if (!strcmp(info->name, name))
			return 0;
		if (info->index == UINT32_MAX)
			return -ENOENT;
		index = info->index + 1;
	}
	return -EPROTO;
}

int ctl_create(int ctl, struct snapblk_create *create)
{
	return kernel_ioctl(ctl, SNAPBLK_IOC_CREATE, create);
}

int ctl_cmd(int ctl, unsigned long req, __u32 index, __u32 flags)
{
	struct snapblk_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.index = index;
	cmd.flags = flags;
	return kernel_ioctl(ctl, req, &cmd);
}

const char *ctl_common_cause(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return "permission denied (only root may change snapblk devices)";
	case ENOTTY:
		return "the module does not know this request (tool and module versions differ?)";
	case ENOMEM:
		return "out of memory";
	case EPROTO:
		return "the module gave an inconsistent answer";
	default:
		return NULL;
	}
}

int err_ctl(int err, const char *fmt, ...)
{
	const char *cause = ctl_common_cause(err);
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (cause)
		return err_sys(err, "%s: %s", what, cause);
	return err_sys(err, "%s", what);
}
