// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk: creating and removing devices, and the checks every kind of
 * device shares.
 *
 * Every device claims the devices it is built on with one holder shared
 * by all snapblk devices (as device-mapper does): overlays may share a
 * base, while mount, mkfs and other exclusive openers are refused. As the
 * shared claim does not stop two snapblk devices from using one store,
 * creation checks stores and parents against the registry itself. A
 * snapshot does not claim its origin device, which stays mountable.
 *
 * What is particular to a kind is behind its struct snapblk_kind. All of
 * it runs under snapblk_devs_lock.
 */
#include <linux/blkdev.h>
#include <linux/ctype.h>
#include <linux/file.h>
#include <linux/idr.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "dev.h"
#include "event.h"
#include "meta.h"

static DEFINE_IDA(snapblk_ida);

/* ---- checks ---- */

static int snapblk_check_name(const struct snapblk_create *c)
{
	if (!(c->flags & SNAPBLK_CREATE_NAMED))
		return memchr_inv(c->name, 0, sizeof(c->name)) ? -EINVAL : 0;
	if (!c->name[0] || !snapblk_name_valid(c->name, sizeof(c->name)))
		return -EINVAL;
	/* "snapblkN" is how devices are named by number */
	if (!strncmp(c->name, SNAPBLK_DISK_NAME, strlen(SNAPBLK_DISK_NAME)) &&
	    isdigit(c->name[strlen(SNAPBLK_DISK_NAME)]))
		return -EINVAL;
	return 0;
}

/**
 * snapblk_check_chunk_size() - check a SNAPBLK_IOC_CREATE chunk size.
 * @chunk_size: bytes, or 0 for the default.
 *
 * Return: 0, or -EINVAL unless it is a power of two in range.
 */
int snapblk_check_chunk_size(u32 chunk_size)
{
	if (chunk_size && (!is_power_of_2(chunk_size) ||
			   chunk_size < SNAPBLK_CHUNK_MIN ||
			   chunk_size > SNAPBLK_CHUNK_MAX))
		return -EINVAL;
	return 0;
}

/**
 * snapblk_fd_dev() - the block device behind an fd passed by userspace.
 * @fd: the fd.
 * @dev: out: its device number.
 *
 * Return: 0, -EBADF or -ENOTBLK.
 */
int snapblk_fd_dev(int fd, dev_t *dev)
{
	struct file *f = fget(fd);
	int ret = 0;

	if (!f)
		return -EBADF;
	if (!S_ISBLK(file_inode(f)->i_mode))
		ret = -ENOTBLK;
	else
		*dev = file_inode(f)->i_rdev;
	fput(f);
	return ret;
}

/* Do @a and @b share sectors (the same device, or a disk and its part)? */
static bool snapblk_overlap(struct block_device *a, struct block_device *b)
{
	if (!a || !b || a->bd_disk != b->bd_disk)
		return false;
	return a == b || !bdev_is_partition(a) || !bdev_is_partition(b);
}

/**
 * snapblk_check_store() - may @store hold data for a device on @parent?
 * @parent: what the device is built on.
 * @store: the store device.
 *
 * Return: 0; -EINVAL if they overlap; -EBUSY if @store overlaps a store,
 * a parent or a disk of any device.
 */
int snapblk_check_store(struct block_device *parent, struct block_device *store)
{
	struct snapblk_dev *d;

	if (snapblk_overlap(parent, store))
		return -EINVAL;
	list_for_each_entry(d, &snapblk_devs, node) {
		if (snapblk_overlap(store, d->kind->store(d)) ||
		    snapblk_overlap(store, d->parent_bdev) ||
		    snapblk_overlap(store, d->disk->part0))
			return -EBUSY;
	}
	return 0;
}

/* Is @parent free to be built on (not a store of any device)? */
static int snapblk_check_parent(struct block_device *parent)
{
	struct snapblk_dev *d;

	list_for_each_entry(d, &snapblk_devs, node)
		if (snapblk_overlap(parent, d->kind->store(d)))
			return -EBUSY;
	return 0;
}

/**
 * snapblk_open_parent() - open and claim what @d is built on.
 * @d: the device being built.
 * @dev: the parent device.
 * @write: open it for writing too.
 *
 * Sets @d->parent, @d->parent_bdev and, for a snapblk parent,
 * @d->parent_dev.
 *
 * Return: 0; -EBUSY if @dev is the store of a device; or the errno of
 * the open.
 */
int snapblk_open_parent(struct snapblk_dev *d, dev_t dev, bool write)
{
	int ret = snapblk_bdev_open(dev, write, &snapblk_holder, &d->parent);

	if (ret)
		return ret;
	ret = snapblk_check_parent(d->parent.bdev);
	if (ret) {
		snapblk_bdev_close(&d->parent);
		return ret;
	}
	d->parent_bdev = d->parent.bdev;
	if (snapblk_is_disk(d->parent_bdev))
		d->parent_dev = d->parent_bdev->bd_disk->private_data;
	return 0;
}

/**
 * snapblk_close_parent() - drop what snapblk_open_parent() took.
 * @d: the device.
 */
void snapblk_close_parent(struct snapblk_dev *d)
{
	snapblk_bdev_close(&d->parent);
}

/**
 * snapblk_unique_name() - give @d its NAME: @stored, or snapblkN.
 * @d: the device, index set.
 * @stored: the NAME its store records (empty for none).
 *
 * Return: 0, or -EEXIST if another device has that NAME.
 */
int snapblk_unique_name(struct snapblk_dev *d, const char *stored)
{
	if (stored[0])
		strscpy(d->name, stored, sizeof(d->name));
	else
		snprintf(d->name, sizeof(d->name), SNAPBLK_DISK_NAME "%d",
			 d->index);
	return snapblk_find_name(d->name) ? -EEXIST : 0;
}

/**
 * snapblk_parent_shared() - does another device read through the parent
 *	of @d (so that changing the parent would change its view)?
 * @d: the device.
 *
 * Return: true if so.
 */
bool snapblk_parent_shared(struct snapblk_dev *d)
{
	struct snapblk_dev *o;

	list_for_each_entry(o, &snapblk_devs, node)
		if (o != d && o->kind->reads_parent &&
		    o->parent_bdev->bd_disk == d->parent_bdev->bd_disk)
			return true;
	return false;
}

/* ---- the parent's children ---- */

static void snapblk_adopt(struct snapblk_dev *d)
{
	struct snapblk_dev *p = d->parent_dev;

	if (!p)
		return;
	p->nr_children++;
	if (d->kind->reads_parent && !p->nr_readers++)
		set_disk_ro(p->disk, true);
}

static void snapblk_orphan(struct snapblk_dev *d)
{
	struct snapblk_dev *p = d->parent_dev;

	if (!p)
		return;
	p->nr_children--;
	if (d->kind->reads_parent && !--p->nr_readers)
		set_disk_ro(p->disk, false);
}

/* ---- create ---- */

/* Build @d as @c asks, make it its parent's child, resume what it had. */
static int snapblk_build(struct snapblk_dev *d, struct snapblk_create *c)
{
	int ret = d->kind->build(d, c);

	if (ret)
		return ret;
	snapblk_adopt(d);
	if (d->kind->resume)
		d->kind->resume(d);
	snapblk_event_start(d);
	return 0;
}

static void snapblk_free_dev(struct snapblk_dev *d)
{
	kfree(d->priv);
	kfree(d);
}

/**
 * snapblk_dev_create() - SNAPBLK_IOC_CREATE.
 * @c: the checked-for-reserved argument; @c->index is set on success.
 *
 * Return: 0 or a negative errno; nothing is changed on failure except
 * that a failed format may have written the store's superblock.
 */
int snapblk_dev_create(struct snapblk_create *c)
{
	const struct snapblk_kind *kind = snapblk_kind_find(c->kind);
	struct snapblk_dev *d;
	int ret;

	if (!kind)
		return -EINVAL;
	ret = kind->check(c);
	if (!ret)
		ret = snapblk_check_name(c);
	if (ret)
		return ret;
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	d->kind = kind;
	spin_lock_init(&d->open_lock);
	mutex_lock(&snapblk_devs_lock);
	ret = -EEXIST;
	if ((c->flags & SNAPBLK_CREATE_NAMED) && snapblk_find_name(c->name))
		goto undo_alloc;
	ret = ida_alloc_max(&snapblk_ida, (1U << MINORBITS) / SNAPBLK_MINORS - 1,
			    GFP_KERNEL);
	if (ret < 0)
		goto undo_alloc;
	d->index = ret;
	ret = snapblk_build(d, c);
	if (ret)
		goto undo_ida;
	list_add_tail(&d->node, &snapblk_devs);
	__module_get(THIS_MODULE);
	c->index = d->index;
	mutex_unlock(&snapblk_devs_lock);
	return 0;

undo_ida:
	ida_free(&snapblk_ida, d->index);
undo_alloc:
	mutex_unlock(&snapblk_devs_lock);
	snapblk_free_dev(d);
	return ret;
}

/* ---- remove ---- */

/**
 * snapblk_close_opens() - refuse new opens of @d.
 * @d: the device.
 *
 * Return: 0, or -EBUSY if it is open or has children (nothing changes).
 */
int snapblk_close_opens(struct snapblk_dev *d)
{
	int ret = 0;

	if (d->nr_children)
		return -EBUSY;
	spin_lock(&d->open_lock);
	if (d->open_count)
		ret = -EBUSY;
	else
		d->removing = true;
	spin_unlock(&d->open_lock);
	return ret;
}

/**
 * snapblk_refuse_opens() - refuse new opens of @d (whether it is open or
 *	not), or take them again after snapblk_close_opens().
 * @d: the device.
 * @refuse: true to refuse them.
 */
void snapblk_refuse_opens(struct snapblk_dev *d, bool refuse)
{
	spin_lock(&d->open_lock);
	d->removing = refuse;
	spin_unlock(&d->open_lock);
}

/* Remove @d; called with snapblk_devs_lock held, which it releases. */
static int snapblk_remove(struct snapblk_dev *d, bool discard)
{
	int ret = snapblk_close_opens(d);

	if (ret) {
		mutex_unlock(&snapblk_devs_lock);
		return ret;
	}
	list_del(&d->node);
	ret = d->kind->teardown(d, discard);
	if (ret)
		pr_err("snapblk: %s: final store %s failed: %d\n", d->name,
		       discard ? "discard" : "commit", ret);
	snapblk_orphan(d);
	put_disk(d->disk);
	ida_free(&snapblk_ida, d->index);
	mutex_unlock(&snapblk_devs_lock);
	snapblk_free_dev(d);
	module_put(THIS_MODULE);
	return ret;
}

/**
 * snapblk_dev_remove() - SNAPBLK_IOC_REMOVE: detach or delete a device.
 * @index: N of /dev/snapblkN.
 * @discard: destroy what its store holds for it (delete) instead of
 *	keeping it for attach (detach).
 *
 * Return: 0; -ENODEV if there is no such device; -EBUSY if it is open,
 * has children or an operation of its kind needs it; or the errno of
 * the final store update (the device is removed all the same).
 */
int snapblk_dev_remove(u32 index, bool discard)
{
	struct snapblk_dev *d;
	int ret;

	mutex_lock(&snapblk_devs_lock);
	d = snapblk_find(index);
	ret = d ? 0 : -ENODEV;
	if (d && d->kind->check_remove)
		ret = d->kind->check_remove(d);
	if (ret) {
		mutex_unlock(&snapblk_devs_lock);
		return ret;
	}
	return snapblk_remove(d, discard);
}

/**
 * snapblk_dev_remove_reverted() - delete a snapshot whose revert ended.
 * @d: the snapshot.
 *
 * Return: as snapblk_dev_remove().
 */
int snapblk_dev_remove_reverted(struct snapblk_dev *d)
{
	mutex_lock(&snapblk_devs_lock);
	return snapblk_remove(d, true);
}

/**
 * snapblk_build_exit() - at module exit: every device is gone.
 */
void snapblk_build_exit(void)
{
	ida_destroy(&snapblk_ida);
}
