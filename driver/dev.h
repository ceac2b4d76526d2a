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
#define SNAPBLK_FEATURES	(SNAPBLK_FEAT_OVERLAY | SNAPBLK_FEAT_ORIGIN | \
				 SNAPBLK_FEAT_SNAPSHOT | SNAPBLK_FEAT_GROW | \
				 SNAPBLK_FEAT_COMMIT | SNAPBLK_FEAT_REVERT)

/* minors per disk: the whole disk and 15 partitions */
#define SNAPBLK_MINORS		16

struct snapblk_overlay;
struct snapblk_origin;
struct snapblk_snapshot;

/**
 * struct snapblk_dev - one /dev/snapblkN.
 * @index: N.
 * @kind: SNAPBLK_KIND_*.
 * @name: NAME shown in sysfs and by snapblkctl.
 * @disk: the disk.
 * @parent: the device it is built on, claimed (not for a snapshot,
 *	which must leave its origin free to be mounted).
 * @parent_bdev: the device it is built on.
 * @parent_dev: the snapblk device it is built on, else NULL.
 * @ov: the overlay I/O path (kind overlay).
 * @origin: the origin I/O path (kind origin).
 * @snap: the snapshot I/O path (kind snapshot).
 * @node: in the registry list; guarded by snapblk_devs_lock.
 * @nr_children: devices built on this one; guarded by snapblk_devs_lock.
 * @nr_readers: overlays reading through this one, which makes it
 *	read-only; guarded by snapblk_devs_lock.
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
	struct block_device *parent_bdev;
	struct snapblk_dev *parent_dev;
	struct snapblk_overlay *ov;
	struct snapblk_origin *origin;
	struct snapblk_snapshot *snap;
	struct list_head node;
	unsigned int nr_children;
	unsigned int nr_readers;

	/* guards open_count and removing */
	spinlock_t open_lock;
	unsigned int open_count;
	bool removing;
};

int snapblk_dev_init(void);
void snapblk_dev_exit(void);

int snapblk_dev_create(struct snapblk_create *c);
int snapblk_dev_remove(u32 index, bool discard);
int snapblk_dev_remove_reverted(struct snapblk_dev *d);
int snapblk_close_opens(struct snapblk_dev *d);
void snapblk_refuse_opens(struct snapblk_dev *d, bool refuse);
int snapblk_dev_info(struct snapblk_info *info);
int snapblk_dev_command(u32 index, unsigned int cmd);
void snapblk_dev_dispatch(struct bio *bio);

/* for build.c: the registry (callers hold snapblk_devs_lock) */
extern struct mutex snapblk_devs_lock;
extern struct list_head snapblk_devs;
struct snapblk_dev *snapblk_find(u32 index);
struct snapblk_dev *snapblk_find_name(const char *name);
struct snapblk_dev *snapblk_find_disk(dev_t devt);
int snapblk_add_disk(struct snapblk_dev *d, const struct snapblk_limits *lim,
		     sector_t sectors);
void snapblk_del_disk(struct snapblk_dev *d);
void snapblk_set_name(struct snapblk_dev *d, const char *stored);
bool snapblk_is_disk(struct block_device *bdev);
extern char snapblk_holder;

/* build.c */
int snapblk_build(struct snapblk_dev *d, struct snapblk_create *c);
int snapblk_check_create(const struct snapblk_create *c);
int snapblk_teardown(struct snapblk_dev *d, bool discard);
int snapblk_grow(struct snapblk_dev *d);

#endif /* SNAPBLK_DEV_H */
