/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk devices: the core that every kind of device is built on.
 *
 * dev.c keeps the registry of /dev/snapblkN disks, their sysfs
 * attributes and the commands the control device runs on them; build.c
 * creates and removes devices, with the checks every kind shares. Both
 * reach a device's kind only through its struct snapblk_kind (kind.h);
 * the kinds call down into what is declared here.
 */
#ifndef SNAPBLK_DEV_H
#define SNAPBLK_DEV_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/snapblk.h>
#include <linux/spinlock.h>

#include "compat.h"
#include "kind.h"

#define SNAPBLK_VERSION		"0.1.0"

/* minors per disk: the whole disk and 15 partitions */
#define SNAPBLK_MINORS		16

/**
 * struct snapblk_dev - one /dev/snapblkN.
 * @index: N.
 * @kind: what kind of device it is; set before its kind's build runs.
 * @name: NAME shown in sysfs and by snapblkctl.
 * @disk: the disk.
 * @parent: the device it is built on, claimed (not for a snapshot,
 *	which must leave its origin free to be mounted).
 * @parent_bdev: the device it is built on.
 * @parent_dev: the snapblk device it is built on, else NULL.
 * @priv: the kind's state (its I/O path), allocated by its build with
 *	kmalloc() and freed by the core once the device is torn down.
 * @node: in the registry list; guarded by snapblk_devs_lock.
 * @nr_children: devices built on this one; guarded by snapblk_devs_lock.
 * @nr_readers: children reading through this one, which makes it
 *	read-only; guarded by snapblk_devs_lock.
 * @open_lock: guards @open_count and @removing.
 * @open_count: opens of the disk or its partitions.
 * @removing: set once removal started; refuses new opens.
 * @ev_pending: events the kind latched (BIT(enum snapblk_ev)), sent by
 *	the event worker (event.c).
 * @ev_levels: store use thresholds reported and not re-armed since;
 *	guarded by snapblk_devs_lock.
 * @ev_state: the state at the last event check; guarded by
 *	snapblk_devs_lock.
 */
struct snapblk_dev {
	int index;
	const struct snapblk_kind *kind;
	char name[SNAPBLK_NAME_LEN];
	struct gendisk *disk;
	struct snapblk_bdev parent;
	struct block_device *parent_bdev;
	struct snapblk_dev *parent_dev;
	void *priv;
	struct list_head node;
	unsigned int nr_children;
	unsigned int nr_readers;

	/* guards open_count and removing */
	spinlock_t open_lock;
	unsigned int open_count;
	bool removing;

	unsigned long ev_pending;
	u32 ev_levels;
	u32 ev_state;
};

/* the registry; guards snapblk_devs, indexes, names and child counts */
extern struct mutex snapblk_devs_lock;
extern struct list_head snapblk_devs;
/* the holder of every claim snapblk makes */
extern char snapblk_holder;

/* dev.c: module set-up */
int snapblk_dev_init(void);
void snapblk_dev_exit(void);

/* dev.c: for the control device */
int snapblk_dev_info(struct snapblk_info *info);
int snapblk_dev_command(u32 index, unsigned int cmd);

/* dev.c: for the kinds */
struct snapblk_dev *snapblk_find(u32 index);
struct snapblk_dev *snapblk_find_name(const char *name);
struct snapblk_dev *snapblk_find_disk(dev_t devt);
bool snapblk_is_disk(struct block_device *bdev);
int snapblk_add_disk(struct snapblk_dev *d, const struct snapblk_limits *lim,
		     sector_t sectors);
void snapblk_del_disk(struct snapblk_dev *d);
void snapblk_dev_dispatch(struct bio *bio);
const char *snapblk_state_name(u32 state);
void snapblk_dev_submit_own(struct bio *bio);

/* build.c: for the control device and module exit */
int snapblk_dev_create(struct snapblk_create *c);
int snapblk_dev_remove(u32 index, bool discard);
void snapblk_build_exit(void);

/* build.c: for the kinds */
int snapblk_dev_remove_reverted(struct snapblk_dev *d);
/* callers hold snapblk_devs_lock */
int snapblk_check_chunk_size(u32 chunk_size);
int snapblk_close_opens(struct snapblk_dev *d);
void snapblk_refuse_opens(struct snapblk_dev *d, bool refuse);
int snapblk_fd_dev(int fd, dev_t *dev);
int snapblk_open_parent(struct snapblk_dev *d, dev_t dev, bool write);
void snapblk_close_parent(struct snapblk_dev *d);
int snapblk_check_store(struct block_device *parent,
			struct block_device *store);
int snapblk_unique_name(struct snapblk_dev *d, const char *stored);
bool snapblk_parent_shared(struct snapblk_dev *d);

#endif /* SNAPBLK_DEV_H */
