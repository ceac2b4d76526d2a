/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk device kinds: the operations the core calls for each kind of
 * device (overlay, origin, snapshot).
 *
 * The core (dev.c: registry, disks, sysfs, commands; build.c: create,
 * attach, remove) knows a device only through its struct snapblk_kind;
 * it never names a kind. Each kind fills one table in its own file and
 * is registered once, in kind.c.
 */
#ifndef SNAPBLK_KIND_H
#define SNAPBLK_KIND_H

#include <linux/bio.h>
#include <linux/snapblk.h>
#include <linux/types.h>

struct snapblk_dev;

/**
 * struct snapblk_kind - one kind of snapblk device.
 * @kind: its SNAPBLK_KIND_* number in the uapi.
 * @name: its name in sysfs ("kind") and in messages.
 * @features: the SNAPBLK_FEAT_* bits it brings to SNAPBLK_IOC_VERSION.
 * @reads_parent: devices of this kind read through their parent, which
 *	is read-only while any of them exists.
 *
 * @check: check the fields of a SNAPBLK_IOC_CREATE argument that are
 *	the kind's (store fd, chunk size, on-full policy, flags); the core
 *	has checked the name and the reserved words. Does not sleep; no
 *	lock held. Return: 0 or -EINVAL.
 * @build: make device @d (index set, not yet in the registry) as the
 *	argument asks: open and check what it is built on, set
 *	@d->parent, @d->parent_bdev, @d->parent_dev, @d->priv and @d->name,
 *	and show its disk (snapblk_add_disk()). Sleeps; called under
 *	snapblk_devs_lock. Return: 0, or a negative errno with everything
 *	undone except @d->priv, which the core frees.
 * @resume: optional: go on with what a crash or detach interrupted (a
 *	commit or revert that the store records), right after @build and
 *	the parent's adoption. Failing to resume leaves the device up and
 *	says why in the log. Sleeps; under snapblk_devs_lock.
 * @teardown: take the disk away (snapblk_del_disk()), stop the I/O path
 *	and let go of what @build opened, keeping (or with @discard,
 *	destroying) what the store holds for the device. @d is out of the
 *	registry, not open and has no children; the core frees @d->priv
 *	afterwards. Sleeps; under snapblk_devs_lock. Return: 0 or the
 *	errno of the final store update (the device goes all the same).
 * @submit: take a bio for the disk or one of its partitions, remapped
 *	to the whole disk. The block layer's submit_bio context: must not
 *	sleep except in GFP_NOIO mempool allocations; no lock held. Also
 *	called from workers to dispatch again bios that waited.
 *
 * @store: the device that holds its store, or NULL if it has none.
 * @chunk_size: its chunk size in bytes, or 0 if it has none.
 * @store_used: bytes of its store in use.
 * @used_percent: optional: percent of its store's data chunks in use,
 *	what the events report (absent: no store, no threshold events).
 * @state: its SNAPBLK_STATE_*, and in @progress the percent done of the
 *	running or last commit or revert (0 if none).
 * @on_full: optional: its SNAPBLK_ON_FULL_* policy (0 if absent).
 *	The members from @store to @on_full are called from sysfs without a
 *	lock and from SNAPBLK_IOC_INFO under snapblk_devs_lock, on a device
 *	that is built and not yet torn down; they read, they do not sleep.
 *
 * @check_remove: optional: may @d be detached or deleted now? Return: 0
 *	or -EBUSY (an operation needs it). Under snapblk_devs_lock.
 * @commit: optional: SNAPBLK_IOC_COMMIT. Absent: -EINVAL.
 * @revert: optional: SNAPBLK_IOC_REVERT. Absent: -EINVAL.
 * @grow: optional: SNAPBLK_IOC_GROW. Absent: -EINVAL.
 *	The three commands sleep and are called under snapblk_devs_lock;
 *	they return 0 or a negative errno.
 */
struct snapblk_kind {
	u32 kind;
	const char *name;
	u64 features;
	bool reads_parent;

	int (*check)(const struct snapblk_create *c);
	int (*build)(struct snapblk_dev *d, struct snapblk_create *c);
	void (*resume)(struct snapblk_dev *d);
	int (*teardown)(struct snapblk_dev *d, bool discard);
	void (*submit)(struct snapblk_dev *d, struct bio *bio);

	struct block_device *(*store)(struct snapblk_dev *d);
	u32 (*chunk_size)(struct snapblk_dev *d);
	u64 (*store_used)(struct snapblk_dev *d);
	u32 (*used_percent)(struct snapblk_dev *d);
	u32 (*state)(struct snapblk_dev *d, u32 *progress);
	u32 (*on_full)(struct snapblk_dev *d);

	int (*check_remove)(struct snapblk_dev *d);
	int (*commit)(struct snapblk_dev *d);
	int (*revert)(struct snapblk_dev *d);
	int (*grow)(struct snapblk_dev *d);
};

const struct snapblk_kind *snapblk_kind_find(u32 kind);
u64 snapblk_kind_features(void);

#endif /* SNAPBLK_KIND_H */
