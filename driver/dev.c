// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk devices: the registry, the disks, their sysfs attributes, and
 * the commands the control device runs on them. How each kind of device
 * is built and torn down is in build.c.
 */
#include <linux/blkdev.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "batch.h"
#include "commit.h"
#include "dev.h"
#include "origin.h"
#include "overlay.h"
#include "revert.h"
#include "snapshot.h"

/* Guards the registry: snapblk_devs, snapblk_ida, names, child counts. */
DEFINE_MUTEX(snapblk_devs_lock);
LIST_HEAD(snapblk_devs);
static DEFINE_IDA(snapblk_ida);
static int snapblk_major;
/* the holder of every claim snapblk makes */
char snapblk_holder;

static const struct block_device_operations snapblk_fops;

/* ---- registry ---- */

struct snapblk_dev *snapblk_find(u32 index)
{
	struct snapblk_dev *d;

	list_for_each_entry(d, &snapblk_devs, node)
		if (d->index == index)
			return d;
	return NULL;
}

struct snapblk_dev *snapblk_find_name(const char *name)
{
	struct snapblk_dev *d;

	list_for_each_entry(d, &snapblk_devs, node)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

/* The device whose whole disk is @devt, or NULL. */
struct snapblk_dev *snapblk_find_disk(dev_t devt)
{
	struct snapblk_dev *d;

	list_for_each_entry(d, &snapblk_devs, node)
		if (disk_devt(d->disk) == devt)
			return d;
	return NULL;
}

bool snapblk_is_disk(struct block_device *bdev)
{
	return bdev->bd_disk->fops == &snapblk_fops;
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

	switch (d->kind) {
	case SNAPBLK_KIND_OVERLAY:
		snapblk_overlay_submit(d->ov, bio);
		break;
	case SNAPBLK_KIND_ORIGIN:
		snapblk_origin_submit(d->origin, bio);
		break;
	default:
		snapblk_snapshot_submit(d->snap, bio);
	}
}

static void snapblk_submit_bio(struct bio *bio)
{
	struct snapblk_dev *d = bio->bi_bdev->bd_disk->private_data;

	/* overlays read through this device: it is read-only meanwhile */
	if (op_is_write(bio_op(bio)) && bio_sectors(bio) &&
	    READ_ONCE(d->nr_readers) && !snapblk_batch_bio(bio)) {
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

/* ---- what a device reports, whatever its kind ---- */

static struct block_device *snapblk_store_bdev(struct snapblk_dev *d)
{
	switch (d->kind) {
	case SNAPBLK_KIND_OVERLAY:
		return d->ov->store.dev.bdev;
	case SNAPBLK_KIND_SNAPSHOT:
		return d->snap->s->dev.bdev;
	}
	return NULL;
}

static u32 snapblk_chunk_size(struct snapblk_dev *d)
{
	switch (d->kind) {
	case SNAPBLK_KIND_OVERLAY:
		return 1U << d->ov->store.geo.chunk_shift;
	case SNAPBLK_KIND_SNAPSHOT:
		return 1U << d->snap->s->chunk_shift;
	}
	return d->origin->chunk_shift ? 1U << d->origin->chunk_shift : 0;
}

static u64 snapblk_store_used(struct snapblk_dev *d)
{
	switch (d->kind) {
	case SNAPBLK_KIND_OVERLAY:
		return snapblk_store_used_bytes(&d->ov->store);
	case SNAPBLK_KIND_SNAPSHOT:
		return snapblk_exstore_used_bytes(d->snap->s);
	}
	return 0;
}

static u64 snapblk_store_size(struct snapblk_dev *d)
{
	struct block_device *b = snapblk_store_bdev(d);

	return b ? bdev_nr_bytes(b) : 0;
}

/* The device's SNAPBLK_STATE_*, and the progress of a commit or revert. */
static u32 snapblk_state(struct snapblk_dev *d, u32 *progress)
{
	struct snapblk_exstore *s;
	u32 state, pct;

	if (!progress)
		progress = &pct;
	*progress = 0;
	if (snapblk_revert_state(d, &state, progress))
		return state;
	switch (d->kind) {
	case SNAPBLK_KIND_OVERLAY:
		if (snapblk_commit_state(d, &state, progress))
			return state;
		return READ_ONCE(d->ov->full) ? SNAPBLK_STATE_FULL :
						SNAPBLK_STATE_ACTIVE;
	case SNAPBLK_KIND_SNAPSHOT:
		s = d->snap->s;
		if (snapblk_snapshot_invalid(d->snap))
			return SNAPBLK_STATE_INVALID;
		return READ_ONCE(s->nr_used) >= s->data_chunks ?
		       SNAPBLK_STATE_FULL : SNAPBLK_STATE_ACTIVE;
	}
	return SNAPBLK_STATE_ACTIVE;
}

static u32 snapblk_on_full(struct snapblk_dev *d)
{
	struct snapblk_snapmeta *m;

	if (d->kind != SNAPBLK_KIND_SNAPSHOT)
		return 0;
	m = snapblk_exstore_snap(d->snap->s, d->snap->id);
	return m && (m->flags & SNAPBLK_SNAP_BLOCK_WRITES) ?
	       SNAPBLK_ON_FULL_BLOCK_WRITES : SNAPBLK_ON_FULL_INVALIDATE;
}

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

static const char *snapblk_state_name(u32 state)
{
	static const char * const names[] = {
		[SNAPBLK_STATE_ACTIVE] = "active",
		[SNAPBLK_STATE_COMMITTING] = "committing",
		[SNAPBLK_STATE_REVERTING] = "reverting",
		[SNAPBLK_STATE_INVALID] = "invalid",
		[SNAPBLK_STATE_FULL] = "full",
		[SNAPBLK_STATE_STOPPED] = "stopped",
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
	return sysfs_emit(buf, "%pg\n", snapblk_from_dev(dev)->parent_bdev);
}

static ssize_t store_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct block_device *b = snapblk_store_bdev(snapblk_from_dev(dev));

	return b ? sysfs_emit(buf, "%pg\n", b) : sysfs_emit(buf, "\n");
}

static ssize_t chunk_size_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", snapblk_chunk_size(snapblk_from_dev(dev)));
}

static ssize_t store_used_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", snapblk_store_used(snapblk_from_dev(dev)));
}

static ssize_t store_size_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", snapblk_store_size(snapblk_from_dev(dev)));
}

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  snapblk_state_name(snapblk_state(snapblk_from_dev(dev), NULL)));
}

static ssize_t progress_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	u32 progress;

	snapblk_state(snapblk_from_dev(dev), &progress);
	return sysfs_emit(buf, "%u\n", progress);
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

/* ---- disks ---- */

/*
 * lsblk draws the tree from holders/ and slaves/ links. A snapshot does
 * not claim its origin (which stays mountable), so the links between
 * two snapblk disks are made here rather than by bd_link_disk_holder().
 */
static int snapblk_link(struct block_device *bdev, struct gendisk *disk)
{
	int ret;

	if (!snapblk_is_disk(bdev))
		return bd_link_disk_holder(bdev, disk);
	ret = sysfs_create_link(bdev->bd_holder_dir, &disk_to_dev(disk)->kobj,
				disk->disk_name);
	if (ret)
		return ret;
	ret = sysfs_create_link(disk->slave_dir, bdev_kobj(bdev),
				kobject_name(bdev_kobj(bdev)));
	if (ret)
		sysfs_remove_link(bdev->bd_holder_dir, disk->disk_name);
	return ret;
}

static void snapblk_unlink(struct block_device *bdev, struct gendisk *disk)
{
	if (!snapblk_is_disk(bdev)) {
		bd_unlink_disk_holder(bdev, disk);
		return;
	}
	sysfs_remove_link(disk->slave_dir, kobject_name(bdev_kobj(bdev)));
	sysfs_remove_link(bdev->bd_holder_dir, disk->disk_name);
}

/**
 * snapblk_add_disk() - create and show the disk of @d.
 * @d: the device; its kind's I/O path is ready.
 * @lim: queue limits.
 * @sectors: capacity.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_add_disk(struct snapblk_dev *d, const struct snapblk_limits *lim,
		     sector_t sectors)
{
	struct block_device *store = snapblk_store_bdev(d);
	struct gendisk *disk = snapblk_alloc_disk(lim);
	int ret;

	if (IS_ERR(disk))
		return PTR_ERR(disk);
	disk->major = snapblk_major;
	disk->first_minor = d->index * SNAPBLK_MINORS;
	disk->minors = SNAPBLK_MINORS;
	disk->fops = &snapblk_fops;
	disk->private_data = d;
	snprintf(disk->disk_name, DISK_NAME_LEN, SNAPBLK_DISK_NAME "%d", d->index);
	set_capacity(disk, sectors);
	d->disk = disk;

	ret = device_add_disk(NULL, disk, snapblk_attr_groups);
	if (ret)
		goto undo_alloc;
	ret = snapblk_link(d->parent_bdev, disk);
	if (ret)
		goto undo_add;
	if (store) {
		ret = snapblk_link(store, disk);
		if (ret)
			goto undo_link_parent;
	}
	return 0;

undo_link_parent:
	snapblk_unlink(d->parent_bdev, disk);
undo_add:
	del_gendisk(disk);
undo_alloc:
	put_disk(disk);
	d->disk = NULL;
	return ret;
}

/**
 * snapblk_del_disk() - take the disk of @d away (not yet freed).
 * @d: the device; nobody has it open.
 */
void snapblk_del_disk(struct snapblk_dev *d)
{
	struct block_device *store = snapblk_store_bdev(d);

	if (store)
		snapblk_unlink(store, d->disk);
	snapblk_unlink(d->parent_bdev, d->disk);
	del_gendisk(d->disk);
}

/**
 * snapblk_set_name() - the NAME of @d: @stored, or snapblkN if empty.
 * @d: the device, index set.
 * @stored: the NAME its store records.
 */
void snapblk_set_name(struct snapblk_dev *d, const char *stored)
{
	if (stored[0])
		strscpy(d->name, stored, sizeof(d->name));
	else
		snprintf(d->name, sizeof(d->name), SNAPBLK_DISK_NAME "%d",
			 d->index);
}

/* ---- commands ---- */

static void snapblk_free_dev(struct snapblk_dev *d)
{
	kfree(d->ov);
	kfree(d->origin);
	kfree(d->snap);
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
	struct snapblk_dev *d;
	int ret;

	ret = snapblk_check_create(c);
	if (ret)
		return ret;
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
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

static int snapblk_remove(struct snapblk_dev *d, bool discard);

/**
 * snapblk_dev_remove() - SNAPBLK_IOC_REMOVE: detach or delete a device.
 * @index: N of /dev/snapblkN.
 * @discard: destroy what its store holds for it (delete) instead of
 *	keeping it for attach (detach).
 *
 * Return: 0; -ENODEV if there is no such device; -EBUSY if it is open
 * or has children; or the errno of the final store update (the device
 * is removed all the same).
 */
int snapblk_dev_remove(u32 index, bool discard)
{
	struct snapblk_dev *d;

	mutex_lock(&snapblk_devs_lock);
	d = snapblk_find(index);
	if (!d || snapblk_revert_holds(d)) {
		mutex_unlock(&snapblk_devs_lock);
		return d ? -EBUSY : -ENODEV;
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

/* Remove @d; called with snapblk_devs_lock held, which it releases. */
static int snapblk_remove(struct snapblk_dev *d, bool discard)
{
	int ret = snapblk_close_opens(d);

	if (ret) {
		mutex_unlock(&snapblk_devs_lock);
		return ret;
	}
	list_del(&d->node);
	ret = snapblk_teardown(d, discard);
	if (ret)
		pr_err("snapblk: %s: final store %s failed: %d\n", d->name,
		       discard ? "discard" : "commit", ret);
	put_disk(d->disk);
	ida_free(&snapblk_ida, d->index);
	mutex_unlock(&snapblk_devs_lock);
	snapblk_free_dev(d);
	module_put(THIS_MODULE);
	return ret;
}

static void snapblk_fill_info(struct snapblk_dev *d, struct snapblk_info *info)
{
	struct block_device *store = snapblk_store_bdev(d);

	memset(info, 0, sizeof(*info));
	info->index = d->index;
	info->kind = d->kind;
	info->state = snapblk_state(d, &info->progress);
	info->chunk_size = snapblk_chunk_size(d);
	info->on_full = snapblk_on_full(d);
	info->nr_children = d->nr_children;
	info->size = get_capacity(d->disk) << SECTOR_SHIFT;
	info->store_used = snapblk_store_used(d);
	info->store_size = snapblk_store_size(d);
	strscpy(info->name, d->name, sizeof(info->name));
	snprintf(info->parent, sizeof(info->parent), "%pg", d->parent_bdev);
	if (store)
		snprintf(info->store, sizeof(info->store), "%pg", store);
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
		ret = snapblk_grow(d);
	else if (cmd == SNAPBLK_IOC_COMMIT)
		ret = snapblk_commit_start(d);
	else if (cmd == SNAPBLK_IOC_REVERT)
		ret = snapblk_revert_start(d, false);
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
