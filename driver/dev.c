// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk devices: the registry, the disks, their sysfs attributes, and
 * the commands the control device runs on them. Creating and removing a
 * device is in build.c; everything particular to a kind is behind its
 * struct snapblk_kind (kind.h).
 */
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "dev.h"
#include "event.h"

/* Guards the registry: snapblk_devs, indexes, names, child counts. */
DEFINE_MUTEX(snapblk_devs_lock);
LIST_HEAD(snapblk_devs);
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
 * @bio: a bio for a snapblk disk, remapped from a partition to the
 *	whole disk.
 *
 * Also used to dispatch again bios that waited for a chunk owner.
 */
void snapblk_dev_dispatch(struct bio *bio)
{
	struct snapblk_dev *d = bio->bi_bdev->bd_disk->private_data;

	d->kind->submit(d, bio);
}

/**
 * snapblk_dev_submit_own() - submit a bio of snapblk's own, such as a
 *	commit's write into its parent.
 * @bio: the bio.
 *
 * A snapblk disk that children read through is read-only: it refuses
 * users' writes, and the block layer would warn about any write to it.
 * A bio for such a disk therefore goes straight to its kind, remapped
 * from a partition to the whole disk as the block layer would; bios for
 * any other device go through submit_bio().
 */
void snapblk_dev_submit_own(struct bio *bio)
{
	struct block_device *bdev = bio->bi_bdev;

	if (!snapblk_is_disk(bdev)) {
		submit_bio(bio);
		return;
	}
	if (bdev_is_partition(bdev)) {
		bio->bi_iter.bi_sector += get_start_sect(bdev);
		bio_set_dev(bio, bdev_whole(bdev));
	}
	snapblk_dev_dispatch(bio);
}

static void snapblk_submit_bio(struct bio *bio)
{
	struct snapblk_dev *d = bio->bi_bdev->bd_disk->private_data;

	/* children read through this device: it is read-only meanwhile */
	if (op_is_write(bio_op(bio)) && bio_sectors(bio) &&
	    READ_ONCE(d->nr_readers)) {
		bio_io_error(bio);
		return;
	}
	d->kind->submit(d, bio);
}

static const struct block_device_operations snapblk_fops = {
	.owner		= THIS_MODULE,
	.open		= snapblk_open,
	.release	= snapblk_release,
	.submit_bio	= snapblk_submit_bio,
};

/* ---- what a device reports, whatever its kind ---- */

static u64 snapblk_store_size(struct snapblk_dev *d)
{
	struct block_device *b = d->kind->store(d);

	return b ? bdev_nr_bytes(b) : 0;
}

static u32 snapblk_state(struct snapblk_dev *d, u32 *progress)
{
	u32 pct;

	return d->kind->state(d, progress ?: &pct);
}

static u32 snapblk_on_full(struct snapblk_dev *d)
{
	return d->kind->on_full ? d->kind->on_full(d) : 0;
}

/* ---- sysfs: /sys/block/snapblkN/snapblk/ ---- */

static struct snapblk_dev *snapblk_from_dev(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

/**
 * snapblk_state_name() - the name users see of a SNAPBLK_STATE_*.
 * @state: the state.
 *
 * Return: its name, or "unknown".
 */
const char *snapblk_state_name(u32 state)
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
	return sysfs_emit(buf, "%s\n", snapblk_from_dev(dev)->kind->name);
}

static ssize_t parent_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%pg\n", snapblk_from_dev(dev)->parent_bdev);
}

static ssize_t store_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct snapblk_dev *d = snapblk_from_dev(dev);
	struct block_device *b = d->kind->store(d);

	return b ? sysfs_emit(buf, "%pg\n", b) : sysfs_emit(buf, "\n");
}

static ssize_t chunk_size_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct snapblk_dev *d = snapblk_from_dev(dev);

	return sysfs_emit(buf, "%u\n", d->kind->chunk_size(d));
}

static ssize_t store_used_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct snapblk_dev *d = snapblk_from_dev(dev);

	return sysfs_emit(buf, "%llu\n", d->kind->store_used(d));
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
	struct block_device *store = d->kind->store(d);
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
	struct block_device *store = d->kind->store(d);

	if (store)
		snapblk_unlink(store, d->disk);
	snapblk_unlink(d->parent_bdev, d->disk);
	del_gendisk(d->disk);
}

/* ---- commands ---- */

static void snapblk_fill_info(struct snapblk_dev *d, struct snapblk_info *info)
{
	struct block_device *store = d->kind->store(d);

	memset(info, 0, sizeof(*info));
	info->index = d->index;
	info->kind = d->kind->kind;
	info->state = snapblk_state(d, &info->progress);
	info->chunk_size = d->kind->chunk_size(d);
	info->on_full = snapblk_on_full(d);
	info->nr_children = d->nr_children;
	info->size = get_capacity(d->disk) << SECTOR_SHIFT;
	info->store_used = d->kind->store_used(d);
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

/* Run command @cmd through the kind of @d: -EINVAL if it has none. */
static int snapblk_run_command(struct snapblk_dev *d, unsigned int cmd)
{
	int (*op)(struct snapblk_dev *d) = NULL;

	switch (cmd) {
	case SNAPBLK_IOC_GROW:
		op = d->kind->grow;
		break;
	case SNAPBLK_IOC_COMMIT:
		op = d->kind->commit;
		break;
	case SNAPBLK_IOC_REVERT:
		op = d->kind->revert;
		break;
	}
	return op ? op(d) : -EINVAL;
}

/**
 * snapblk_dev_command() - SNAPBLK_IOC_COMMIT, _REVERT, _GROW.
 * @index: N of /dev/snapblkN.
 * @cmd: the ioctl.
 *
 * Return: 0 or a negative errno; -EINVAL if the kind of the device has
 * no such command.
 */
int snapblk_dev_command(u32 index, unsigned int cmd)
{
	struct snapblk_dev *d;
	int ret;

	mutex_lock(&snapblk_devs_lock);
	d = snapblk_find(index);
	ret = d ? snapblk_run_command(d, cmd) : -ENODEV;
	mutex_unlock(&snapblk_devs_lock);
	/* what the device reports may have changed (grow: its space) */
	snapblk_event_kick();
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
	snapblk_build_exit();
}
