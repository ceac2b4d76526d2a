/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk devices: the registry of /dev/snapblkN disks and the commands
 * the control device runs on them.
 */
#ifndef SNAPBLK_DEV_H
#define SNAPBLK_DEV_H

#include <linux/snapblk.h>

#define SNAPBLK_VERSION		"0.1.0"
#define SNAPBLK_FEATURES	(SNAPBLK_FEAT_OVERLAY)

int snapblk_dev_init(void);
void snapblk_dev_exit(void);

int snapblk_dev_create(struct snapblk_create *c);
int snapblk_dev_remove(u32 index, bool discard);
int snapblk_dev_info(struct snapblk_info *info);
int snapblk_dev_command(u32 index, unsigned int cmd);

#endif /* SNAPBLK_DEV_H */
