// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk devices: creation, removal, sysfs, and the disk operations.
 *
 * Every device claims the devices it is built on with one holder shared
 * by all snapblk devices (as device-mapper does): overlays may share a
 * base, while mount, mkfs and other exclusive openers are refused. As the
 * shared claim does not stop two snapblk devices from using one store,
 * creation checks stores and parents against the registry itself.
 */
#include <linux/blkdev.h>
#include <linux/ctype.h>
#include <linux/file.h>
#include <linux/idr.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "dev.h"
#include "overlay.h"

/* Guards the registry: snapblk_devs, snapblk_ida, names, nr_children. */
static DEFINE_MUTEX(snapblk_devs_lock);
static LIST_HEAD(snapblk_devs);
static DEFINE_IDA(snapblk_ida);
static int snapblk_major;
/* the holder of every claim snapblk makes */
static char snapblk_holder;

static const struct block_device_operations snapblk_fops;

static struct snapblk_dev *snapblk_find(u32 index)
{
	struct snapblk_dev *d;

	list_for_each_entry(d, &snapblk_devs, node)
		if (d->index == index)
			return d;
	return NULL;
}

static struct snapblk_dev *snapblk_find_name(const char *name)
{
	struct snapblk_dev *d;

	list_for_each_entry(d, &snapblk_devs, node)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

/* ---- disk operations ---- */

static int snapblk_open(SNAPBLK_OPEN_ARGS)
{
	struct snapblk_dev *d = SNAPBLK_OPEN_DISK()->private_data;
	int ret = 0;

	spin_lock(&d->open_lock);
	if (d->removing)
		ret = -ENXIO;
	else
		d->open_count++;
	spin_unlock(&d->open_lock);
	return ret;
}

static void snapblk_release(SNAPBLK_RELEASE_ARGS)
{
	struct snapblk_dev *d = disk->private_data;

	spin_lock(&d->open_lock);
	d->open_count--;
	spin_unlock(&d->open_lock);
}

/**
 * snapblk_dev_dispatch() - hand a bio to the I/O path of its device.
 * @bio: a bio for a snapblk disk or one of its partitions.
 *
 * Also used to dispatch again bios that waited for a chunk owner.
 */
void snapblk_dev_dispatch(struct bio *bio)
{
	struct snapblk_dev *d = bio->bi_bdev->bd_disk->private_data;

	snapblk_overlay_submit(d->ov, bio);
}

static void snapblk_submit_bio(struct bio *bio)
{
	struct snapblk_dev *d = bio->bi_bdev->bd_disk->private_data;

	/* children read through this device: it is read-only meanwhile */
	if (op_is_write(bio_op(bio)) && bio_sectors(bio) &&
	    READ_ONCE(d->nr_children)) {
		bio_io_error(bio);
		return;
	}
	snapblk_dev_dispatch(bio);
}

static const struct block_device_operations snapblk_fops = {
	.owner		= THIS_MODULE,
	.open		= snapblk_open,
	.release	= snapblk_release,
	.submit_bio	= snapblk_submit_bio,
};

/* ---- sysfs: /sys/block/snapblkN/snapblk/ ---- */

static struct snapblk_dev *snapblk_from_dev(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

static const char *snapblk_kind_name(u32 kind)
{
	switch (kind) {
	case SNAPBLK_KIND_OVERLAY:
		return "overlay";
	case SNAPBLK_KIND_ORIGIN:
		return "origin";
	case SNAPBLK_KIND_SNAPSHOT:
		return "snapshot";
	}
	return "unknown";
}

static u32 snapblk_state(struct snapblk_dev *d)
{
	return READ_ONCE(d->ov->full) ? SNAPBLK_STATE_FULL : SNAPBLK_STATE_ACTIVE;
}

static const char *snapblk_state_name(u32 state)
{
	static const char * const names[] = {
		[SNAPBLK_STATE_ACTIVE] = "active",
		[SNAPBLK_STATE_COMMITTING] = "committing",
		[SNAPBLK_STATE_REVERTING] = "reverting",
		[SNAPBLK_STATE_INVALID] = "invalid",
		[SNAPBLK_STATE_FULL] = "full",
	};

	return state < ARRAY_SIZE(names) && names[state] ? names[state] : "unknown";
}

static ssize_t name_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", snapblk_from_dev(dev)->name);
}

static ssize_t kind_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", snapblk_kind_name(snapblk_from_dev(dev)->kind));
}

static ssize_t parent_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%pg\n", snapblk_from_dev(dev)->parent.bdev);
}

static ssize_t store_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%pg\n", snapblk_from_dev(dev)->ov->store.dev.bdev);
}

static ssize_t chunk_size_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  1U << snapblk_from_dev(dev)->ov->store.geo.chunk_shift);
}

static ssize_t store_used_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  snapblk_store_used_bytes(&snapblk_from_dev(dev)->ov->store));
}

static ssize_t store_size_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct snapblk_dev *d = snapblk_from_dev(dev);

	return sysfs_emit(buf, "%llu\n", bdev_nr_bytes(d->ov->store.dev.bdev));
}

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  snapblk_state_name(snapblk_state(snapblk_from_dev(dev))));
}

static ssize_t progress_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "0\n");
}

static DEVICE_ATTR_RO(name);
static DEVICE_ATTR_RO(kind);
static DEVICE_ATTR_RO(parent);
static DEVICE_ATTR_RO(store);
static DEVICE_ATTR_RO(chunk_size);
static DEVICE_ATTR_RO(store_used);
static DEVICE_ATTR_RO(store_size);
static DEVICE_ATTR_RO(state);
static DEVICE_ATTR_RO(progress);

static struct attribute *snapblk_attrs[] = {
	&dev_attr_name.attr,
	&dev_attr_kind.attr,
	&dev_attr_parent.attr,
	&dev_attr_store.attr,
	&dev_attr_chunk_size.attr,
	&dev_attr_store_used.attr,
	&dev_attr_store_size.attr,
	&dev_attr_state.attr,
	&dev_attr_progress.attr,
	NULL,
};

static const struct attribute_group snapblk_attr_group = {
	.name = "snapblk",
	.attrs = snapblk_attrs,
};

static const struct attribute_group *snapblk_attr_groups[] = {
	&snapblk_attr_group,
	NULL,
};

/* ---- creation ---- */

/* The block device behind an fd passed by userspace. */
static int snapblk_fd_dev(int fd, dev_t *dev)
{
	struct file *f = fget(fd);
	struct inode *inode;
	int ret = 0;

	if (!f)
		return -EBADF;
	inode = file_inode(f);
	if (!S_ISBLK(inode->i_mode))
		ret = -ENOTBLK;
	else
		*dev = inode->i_rdev;
	fput(f);
	return ret;
}

/* Do @a and @b share sectors (the same device, or a disk and its part)? */
static bool snapblk_overlap(struct block_device *a, struct block_device *b)
{
	if (a->bd_disk != b->bd_disk)
		return false;
	return a == b || !bdev_is_partition(a) || !bdev_is_partition(b);
}

/*
 * May @store serve a new device on @parent? Not if it overlaps the
 * parent, or any device an existing snapblk device is built on.
 */
static int snapblk_check_devices(struct block_device *parent,
				 struct block_device *store)
{
	struct snapblk_dev *d;

	if (snapblk_overlap(parent, store))
		return -EINVAL;
	list_for_each_entry(d, &snapblk_devs, node) {
		struct block_device *s = d->ov->store.dev.bdev;

		if (snapblk_overlap(store, s) ||
		    snapblk_overlap(store, d->parent.bdev) ||
		    snapblk_overlap(parent, s) ||
		    snapblk_overlap(store, d->disk->part0))
			return -EBUSY;
	}
	return 0;
}

static int snapblk_check_args(const struct snapblk_create *c)
{
	if (c->kind == SNAPBLK_KIND_ORIGIN || c->kind == SNAPBLK_KIND_SNAPSHOT)
		return -EOPNOTSUPP;
	if (c->kind != SNAPBLK_KIND_OVERLAY || c->on_full)
		return -EINVAL;
	if (c->chunk_size && (!is_power_of_2(c->chunk_size) ||
			      c->chunk_size < SNAPBLK_CHUNK_MIN ||
			      c->chunk_size > SNAPBLK_CHUNK_MAX))
		return -EINVAL;
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

/* The store UUID of @parent if it is a whole snapblk overlay disk. */
static struct snapblk_dev *snapblk_parent_dev(struct block_device *parent)
{
	if (parent->bd_disk->fops != &snapblk_fops)
		return NULL;
	return parent->bd_disk->private_data;
}

static void snapblk_parent_uuid(struct snapblk_dev *d, u8 *uuid)
{
	memset(uuid, 0, 16);
	if (d->parent_dev && !bdev_is_partition(d->parent.bdev) &&
	    d->parent_dev->kind == SNAPBLK_KIND_OVERLAY)
		memcpy(uuid, d->parent_dev->ov->store.uuid, 16);
}

/* Is the store on @d's parent the one it was made on? */
static int snapblk_check_parent(struct snapblk_dev *d)
{
	struct snapblk_store *st = &d->ov->store;
	u8 uuid[16];

	snapblk_parent_uuid(d, uuid);
	if (st->geo.parent_sectors != bdev_nr_sectors(d->parent.bdev) ||
	    memcmp(uuid, st->geo.parent_uuid, sizeof(uuid)) ||
	    st->geo.parent_fp != snapblk_fingerprint(d->parent.bdev))
		return -EMEDIUMTYPE;
	return 0;
}

/* Format a new store, or load and check an existing one. */
static int snapblk_setup_store(struct snapblk_dev *d,
			       const struct snapblk_create *c)
{
	struct snapblk_store *st = &d->ov->store;
	struct snapblk_store_geo geo = {
		.kind = SNAPBLK_KIND_OVERLAY,
		.chunk_shift = ilog2(c->chunk_size ?: SNAPBLK_CHUNK_DEFAULT),
		.parent_sectors = bdev_nr_sectors(d->parent.bdev),
	};
	int ret;

	if (!geo.parent_sectors)
		return -EINVAL;
	if (!(c->flags & SNAPBLK_CREATE_ATTACH)) {
		geo.parent_fp = snapblk_fingerprint(d->parent.bdev);
		snapblk_parent_uuid(d, geo.parent_uuid);
		memcpy(geo.name, c->name, sizeof(geo.name));
		return snapblk_store_format(st, &geo);
	}
	ret = snapblk_store_load(st, SNAPBLK_KIND_OVERLAY);
	if (!ret)
		ret = snapblk_check_parent(d);
	if (!ret && (c->flags & SNAPBLK_CREATE_NAMED) &&
	    strcmp(c->name, st->geo.name))
		ret = snapblk_store_rename(st, c->name);
	return ret;
}

static void snapblk_set_name(struct snapblk_dev *d)
{
	const char *stored = d->ov->store.geo.name;

	if (stored[0])
		strscpy(d->name, stored, sizeof(d->name));
	else
		snprintf(d->name, sizeof(d->name), SNAPBLK_DISK_NAME "%d",
			 d->index);
}

static int snapblk_add_disk(struct snapblk_dev *d)
{
	struct block_device *base = d->parent.bdev, *store = d->ov->store.dev.bdev;
	struct snapblk_limits lim = {
		.logical_block_size = max(bdev_logical_block_size(base),
					  bdev_logical_block_size(store)),
		.physical_block_size = max3(bdev_physical_block_size(base),
					    bdev_physical_block_size(store),
					    (unsigned int)SNAPBLK_META_BLOCK),
		.io_opt = 1U << d->ov->store.geo.chunk_shift,
		.max_discard_sectors = UINT_MAX >> SECTOR_SHIFT,
		.max_write_zeroes_sectors = UINT_MAX >> SECTOR_SHIFT,
	};
	struct gendisk *disk = snapblk_alloc_disk(&lim);
	int ret;

	if (IS_ERR(disk))
		return PTR_ERR(disk);
	disk->major = snapblk_major;
	disk->first_minor = d->index * SNAPBLK_MINORS;
	disk->minors = SNAPBLK_MINORS;
	disk->fops = &snapblk_fops;
	disk->private_data = d;
	snprintf(disk->disk_name, DISK_NAME_LEN, SNAPBLK_DISK_NAME "%d", d->index);
	set_capacity(disk, d->ov->store.geo.parent_sectors);
	d->disk = disk;

	ret = device_add_disk(NULL, disk, snapblk_attr_groups);
	if (ret)
		goto undo_alloc;
	ret = bd_link_disk_holder(base, disk);
	if (ret)
		goto undo_add;
	ret = bd_link_disk_holder(store, disk);
	if (ret)
		goto undo_link_base;
	return 0;

undo_link_base:
	bd_unlink_disk_holder(base, disk);
undo_add:
	del_gendisk(disk);
undo_alloc:
	put_disk(disk);
	d->disk = NULL;
	return ret;
}

static void snapblk_del_disk(struct snapblk_dev *d)
{
	bd_unlink_disk_holder(d->ov->store.dev.bdev, d->disk);
	bd_unlink_disk_holder(d->parent.bdev, d->disk);
	del_gendisk(d->disk);
}

static void snapblk_adopt(struct snapblk_dev *d)
{
	struct snapblk_dev *p = d->parent_dev;

	if (p && !p->nr_children++)
		set_disk_ro(p->disk, true);
}

static void snapblk_orphan(struct snapblk_dev *d)
{
	struct snapblk_dev *p = d->parent_dev;

	if (p && !--p->nr_children)
		set_disk_ro(p->disk, false);
}

/* Open the parent and the store of a new device and check them. */
static int snapblk_open_devices(struct snapblk_dev *d,
				const struct snapblk_create *c)
{
	dev_t parent, store;
	int ret;

	ret = snapblk_fd_dev(c->parent_fd, &parent);
	if (!ret)
		ret = snapblk_fd_dev(c->store_fd, &store);
	if (ret)
		return ret;
	if (parent == store)
		return -EINVAL;
	ret = snapblk_bdev_open(parent, false, &snapblk_holder, &d->parent);
	if (ret)
		return ret;
	ret = snapblk_bdev_open(store, true, &snapblk_holder, &d->ov->store.dev);
	if (ret)
		goto undo_parent;
	ret = snapblk_check_devices(d->parent.bdev, d->ov->store.dev.bdev);
	if (ret)
		goto undo_store;
	d->parent_dev = snapblk_parent_dev(d->parent.bdev);
	return 0;

undo_store:
	snapblk_bdev_close(&d->ov->store.dev);
undo_parent:
	snapblk_bdev_close(&d->parent);
	return ret;
}

static void snapblk_close_devices(struct snapblk_dev *d)
{
	snapblk_bdev_close(&d->ov->store.dev);
	snapblk_bdev_close(&d->parent);
}

static struct snapblk_dev *snapblk_alloc_dev(void)
{
	struct snapblk_dev *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (!d)
		return NULL;
	d->ov = kzalloc(sizeof(*d->ov), GFP_KERNEL);
	if (!d->ov) {
		kfree(d);
		return NULL;
	}
	spin_lock_init(&d->open_lock);
	d->kind = SNAPBLK_KIND_OVERLAY;
	return d;
}

static void snapblk_free_dev(struct snapblk_dev *d)
{
	kfree(d->ov);
	kfree(d);
}

/* Build device @d under snapblk_devs_lock. */
static int snapblk_build(struct snapblk_dev *d, struct snapblk_create *c)
{
	int ret;

	ret = snapblk_open_devices(d, c);
	if (ret)
		return ret;
	ret = snapblk_setup_store(d, c);
	if (ret)
		goto undo_open;
	snapblk_set_name(d);
	ret = -EEXIST;
	if (snapblk_find_name(d->name))
		goto undo_store;
	ret = snapblk_overlay_start(d->ov, d->parent.bdev, d->index);
	if (ret)
		goto undo_store;
	ret = snapblk_add_disk(d);
	if (ret)
		goto undo_start;
	snapblk_adopt(d);
	list_add_tail(&d->node, &snapblk_devs);
	__module_get(THIS_MODULE);
	return 0;

undo_start:
	snapblk_overlay_stop(d->ov);
undo_store:
	snapblk_store_release(&d->ov->store);
undo_open:
	snapblk_close_devices(d);
	return ret;
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
	struct snapblk_dev *d;
	int ret;

	ret = snapblk_check_args(c);
	if (ret)
		return ret;
	d = snapblk_alloc_dev();
	if (!d)
		return -ENOMEM;
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

/* ---- removal ---- */

/* Refuse new opens of @d; fails if it is open or has children. */
static int snapblk_start_removal(struct snapblk_dev *d)
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
 * snapblk_dev_remove() - SNAPBLK_IOC_REMOVE: detach or delete a device.
 * @index: N of /dev/snapblkN.
 * @discard: destroy the store's contents (delete) instead of keeping
 *	them for attach (detach).
 *
 * Return: 0; -ENODEV if there is no such device; -EBUSY if it is open
 * or has children; or the errno of the final store commit (the device
 * is removed all the same).
 */
int snapblk_dev_remove(u32 index, bool discard)
{
	struct snapblk_dev *d;
	int ret;

	mutex_lock(&snapblk_devs_lock);
	d = snapblk_find(index);
	ret = d ? snapblk_start_removal(d) : -ENODEV;
	if (ret) {
		mutex_unlock(&snapblk_devs_lock);
		return ret;
	}
	list_del(&d->node);
	snapblk_del_disk(d);
	snapblk_overlay_stop(d->ov);
	if (discard)
		ret = snapblk_store_discard(&d->ov->store);
	else
		ret = snapblk_store_commit(&d->ov->store);
	if (ret)
		pr_err("snapblk: %s: store of %s: %s failed: %d\n", d->name,
		       d->disk->disk_name, discard ? "discard" : "commit", ret);
	snapblk_orphan(d);
	put_disk(d->disk);
	snapblk_store_release(&d->ov->store);
	snapblk_close_devices(d);
	ida_free(&snapblk_ida, d->index);
	mutex_unlock(&snapblk_devs_lock);
	snapblk_free_dev(d);
	module_put(THIS_MODULE);
	return ret;
}

/* ---- info and commands ---- */

static void snapblk_fill_info(struct snapblk_dev *d, struct snapblk_info *info)
{
	struct snapblk_store *st = &d->ov->store;

	memset(info, 0, sizeof(*info));
	info->index = d->index;
	info->kind = d->kind;
	info->state = snapblk_state(d);
	info->chunk_size = 1U << st->geo.chunk_shift;
	info->nr_children = d->nr_children;
	info->size = get_capacity(d->disk) << SECTOR_SHIFT;
	info->store_used = snapblk_store_used_bytes(st);
	info->store_size = bdev_nr_bytes(st->dev.bdev);
	strscpy(info->name, d->name, sizeof(info->name));
	snprintf(info->parent, sizeof(info->parent), "%pg", d->parent.bdev);
	snprintf(info->store, sizeof(info->store), "%pg", st->dev.bdev);
}

/**
 * snapblk_dev_info() - SNAPBLK_IOC_INFO.
 * @info: in: index and flags, reserved zero; out: the description.
 *
 * Return: 0, -EINVAL for non-zero reserved words, or -ENODEV.
 */
int snapblk_dev_info(struct snapblk_info *info)
{
	struct snapblk_dev *d, *found = NULL;

	if (memchr_inv(info->reserved, 0, sizeof(info->reserved)))
		return -EINVAL;
	mutex_lock(&snapblk_devs_lock);
	list_for_each_entry(d, &snapblk_devs, node) {
		if (d->index == info->index) {
			found = d;
			break;
		}
		if ((info->flags & SNAPBLK_INFO_NEXT) && d->index > info->index &&
		    (!found || d->index < found->index))
			found = d;
	}
	if (found)
		snapblk_fill_info(found, info);
	mutex_unlock(&snapblk_devs_lock);
	return found ? 0 : -ENODEV;
}

/**
 * snapblk_dev_command() - SNAPBLK_IOC_COMMIT, _REVERT, _GROW.
 * @index: N of /dev/snapblkN.
 * @cmd: the ioctl.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_dev_command(u32 index, unsigned int cmd)
{
	struct snapblk_dev *d;
	int ret;

	mutex_lock(&snapblk_devs_lock);
	d = snapblk_find(index);
	if (!d)
		ret = -ENODEV;
	else if (cmd == SNAPBLK_IOC_GROW)
		ret = snapblk_overlay_grow(d->ov);
	else
		ret = -EOPNOTSUPP;
	mutex_unlock(&snapblk_devs_lock);
	return ret;
}

/* ---- module ---- */

int snapblk_dev_init(void)
{
	snapblk_major = register_blkdev(0, SNAPBLK_DISK_NAME);
	return snapblk_major < 0 ? snapblk_major : 0;
}

void snapblk_dev_exit(void)
{
	unregister_blkdev(snapblk_major, SNAPBLK_DISK_NAME);
	ida_destroy(&snapblk_ida);
}
