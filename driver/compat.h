/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk: the differences between the kernels it builds on (6.1, 6.12).
 *
 * Everything that depends on LINUX_VERSION_CODE lives here, so that the
 * rest of the driver reads as one version of the block layer API.
 */
#ifndef SNAPBLK_COMPAT_H
#define SNAPBLK_COMPAT_H

#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
#define SNAPBLK_BDEV_FILE 1
#endif

/**
 * struct snapblk_bdev - a block device opened and claimed by snapblk.
 * @bdev: the device.
 * @file: on kernels that open block devices as files, the open file.
 * @mode_write: it was opened for writing.
 */
struct snapblk_bdev {
	struct block_device *bdev;
#ifdef SNAPBLK_BDEV_FILE
	struct file *file;
#endif
	bool mode_write;
};

/**
 * snapblk_bdev_open() - open block device @dev exclusively for @holder.
 * @dev: device number.
 * @write: open for writing as well as reading.
 * @holder: claim owner; claims by the same holder do not conflict.
 * @out: filled on success.
 *
 * Return: 0 or a negative errno (-EBUSY when another holder claims it).
 */
static inline int snapblk_bdev_open(dev_t dev, bool write, void *holder,
				    struct snapblk_bdev *out)
{
#ifdef SNAPBLK_BDEV_FILE
	blk_mode_t mode = BLK_OPEN_READ | (write ? BLK_OPEN_WRITE : 0);
	struct file *f = bdev_file_open_by_dev(dev, mode, holder, NULL);

	if (IS_ERR(f))
		return PTR_ERR(f);
	out->file = f;
	out->bdev = file_bdev(f);
#else
	fmode_t mode = FMODE_READ | FMODE_EXCL | (write ? FMODE_WRITE : 0);
	struct block_device *b = blkdev_get_by_dev(dev, mode, holder);

	if (IS_ERR(b))
		return PTR_ERR(b);
	out->bdev = b;
#endif
	out->mode_write = write;
	return 0;
}

/**
 * snapblk_bdev_close() - drop what snapblk_bdev_open() took.
 * @b: the device; cleared.
 */
static inline void snapblk_bdev_close(struct snapblk_bdev *b)
{
	if (!b->bdev)
		return;
#ifdef SNAPBLK_BDEV_FILE
	bdev_fput(b->file);
	b->file = NULL;
#else
	blkdev_put(b->bdev, FMODE_READ | FMODE_EXCL |
		   (b->mode_write ? FMODE_WRITE : 0));
#endif
	b->bdev = NULL;
}

/**
 * struct snapblk_limits - queue limits snapblk sets on its disks.
 * @logical_block_size: bytes.
 * @physical_block_size: bytes.
 * @io_opt: preferred I/O size in bytes (the chunk size), or 0.
 * @max_discard_sectors: 0 when discard is not supported.
 * @max_write_zeroes_sectors: 0 when write-zeroes is not supported.
 */
struct snapblk_limits {
	unsigned int logical_block_size;
	unsigned int physical_block_size;
	unsigned int io_opt;
	unsigned int max_discard_sectors;
	unsigned int max_write_zeroes_sectors;
};

/**
 * snapblk_alloc_disk() - allocate a bio-based disk with @l applied.
 * @l: limits; the disk has a volatile write cache and takes FUA.
 *
 * Return: the disk or an ERR_PTR.
 */
static inline struct gendisk *snapblk_alloc_disk(const struct snapblk_limits *l)
{
	struct gendisk *disk;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	struct queue_limits lim = {
		.logical_block_size = l->logical_block_size,
		.physical_block_size = l->physical_block_size,
		.io_opt = l->io_opt,
		.max_hw_discard_sectors = l->max_discard_sectors,
		.max_write_zeroes_sectors = l->max_write_zeroes_sectors,
		.discard_granularity = l->max_discard_sectors ?
				       l->logical_block_size : 0,
		.features = BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA,
	};

	disk = blk_alloc_disk(&lim, NUMA_NO_NODE);
	if (IS_ERR(disk))
		return disk;
#else
	struct request_queue *q;

	disk = blk_alloc_disk(NUMA_NO_NODE);
	if (!disk)
		return ERR_PTR(-ENOMEM);
	q = disk->queue;
	blk_queue_logical_block_size(q, l->logical_block_size);
	blk_queue_physical_block_size(q, l->physical_block_size);
	blk_queue_io_opt(q, l->io_opt);
	blk_queue_max_discard_sectors(q, l->max_discard_sectors);
	if (l->max_discard_sectors)
		q->limits.discard_granularity = l->logical_block_size;
	blk_queue_max_write_zeroes_sectors(q, l->max_write_zeroes_sectors);
	blk_queue_write_cache(q, true, true);
#endif
	return disk;
}

/*
 * block_device_operations.open/.release: 6.5 changed them to take the
 * gendisk. SNAPBLK_OPEN_DISK() names the disk inside either signature.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define SNAPBLK_OPEN_ARGS	struct gendisk *disk, blk_mode_t mode
#define SNAPBLK_RELEASE_ARGS	struct gendisk *disk
#define SNAPBLK_OPEN_DISK()	(disk)
#else
#define SNAPBLK_OPEN_ARGS	struct block_device *bdev, fmode_t mode
#define SNAPBLK_RELEASE_ARGS	struct gendisk *disk, fmode_t mode
#define SNAPBLK_OPEN_DISK()	(bdev->bd_disk)
#endif

#endif /* SNAPBLK_COMPAT_H */
