/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk devices: the registry of /dev/snapblkN disks and the commands
 * the control device runs on them.
 */
#ifndef SNAPBLK_DEV_H
#define SNAPBLK_DEV_H

#include <linux/list.h>
#include <linux/snapblk.h>
#include <linux/spinlock.h>

#include "compat.h"

#define SNAPBLK_VERSION		"0.1.0"
#define SNAPBLK_FEATURES	(SNAPBLK_FEAT_OVERLAY | SNAPBLK_FEAT_GROW)

/* minors per disk: the whole disk and 15 partitions */
#define SNAPBLK_MINORS		16

struct snapblk_overlay;

/**
 * struct snapblk_dev - one /dev/snapblkN.
 * @index: N.
 * @kind: SNAPBLK_KIND_*.
 * @name: NAME shown in sysfs and by snapblkctl.
 * @disk: the disk.
 * @parent: the device it is built on, claimed.
 * @parent_dev: @parent's snapblk device when it is one, else NULL.
 * @ov: the overlay I/O path (kind overlay).
 * @node: in the registry list; guarded by snapblk_devs_lock.
 * @nr_children: devices built on this one; guarded by snapblk_devs_lock.
 * @open_lock: guards @open_count and @removing.
 * @open_count: opens of the disk or its partitions.
 * @removing: set once removal started; refuses new opens.
 */
struct snapblk_dev {
	int index;
	u32 kind;
	char name[SNAPBLK_NAME_LEN];
	struct gendisk *disk;
	struct snapblk_bdev parent;
	struct snapblk_dev *parent_dev;
	struct snapblk_overlay *ov;
	struct list_head node;
	unsigned int nr_children;

	spinlock_t open_lock;
	unsigned int open_count;
	bool removing;
};

int snapblk_dev_init(void);
void snapblk_dev_exit(void);

int snapblk_dev_create(struct snapblk_create *c);
int snapblk_dev_remove(u32 index, bool discard);
int snapblk_dev_info(struct snapblk_info *info);
int snapblk_dev_command(u32 index, unsigned int cmd);
void snapblk_dev_dispatch(struct bio *bio);

#endif /* SNAPBLK_DEV_H */
