// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - the one place that issues ioctls to the snapblk module.
 *
 * tools/tests/ builds the tool with a simulated module in place of this
 * file, to test everything above it without loading a kernel module.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "ctl.h"

int kernel_ioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}
