/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblkctl - the control device /dev/snapblk-ctl and its ioctls.
 *
 * Functions here return 0 or a negative errno and print nothing, except
 * ctl_open(), so that each command can explain a failure in its terms.
 * A device that does not exist is always reported as -ENOENT.
 */
#ifndef SNAPBLKCTL_CTL_H
#define SNAPBLKCTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/snapblk.h>

#include "msg.h"

/* The environment variable that overrides SNAPBLK_CTL_PATH. */
#define CTL_PATH_ENV	"SNAPBLK_CTL"
/* Where the device nodes live (tools/tests/ overrides it). */
#ifndef DEV_DIR
#define DEV_DIR		"/dev/"
#endif

/* The ioctl(2) itself: 0 or -errno. Lives in kernel.c. */
int kernel_ioctl(int fd, unsigned long req, void *arg);

/* Open the control device; prints why and returns -1 on failure. */
int ctl_open(bool writable);

int ctl_version(int ctl, struct snapblk_version *ver);
/* The device /dev/snapblk@index. */
int ctl_info(int ctl, __u32 index, struct snapblk_info *info);
/* The first device with N >= @index. */
int ctl_next(int ctl, __u32 index, struct snapblk_info *info);
/* All devices, by index; *@infos is malloc()ed, possibly NULL. */
int ctl_list(int ctl, struct snapblk_info **infos, size_t *nr);
/* The device called @name. */
int ctl_find_name(int ctl, const char *name, struct snapblk_info *info);
int ctl_create(int ctl, struct snapblk_create *create);
/* SNAPBLK_IOC_REMOVE, _COMMIT, _REVERT or _GROW on /dev/snapblk@index. */
int ctl_cmd(int ctl, unsigned long req, __u32 index, __u32 flags);

/* Why an ioctl failed with @err when it means the same for all: or NULL. */
const char *ctl_common_cause(int err);
/*
 * "snapblkctl: <cmd>: <fmt>[: <common cause>]: strerror(err)" for a
 * failed ioctl; returns EXIT_FAIL.
 */
int err_ctl(int err, const char *fmt, ...) __printf(2, 3);

#endif /* SNAPBLKCTL_CTL_H */
