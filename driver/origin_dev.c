// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk origin devices: building, reporting and tearing down the
 * wrapper of a disk that snapshots are taken of. Its I/O path is
 * origin.c; snapshot devices (snapshot_dev.c) are built on it, and a
 * revert (revert.c) rolls it back to one of them.
 */
#include <linux/blkdev.h>
#include <linux/slab.h>

#include "origin_dev.h"
#include "revert.h"

static int snapblk_origin_check(const struct snapblk_create *c)
{
	if (c->store_fd != -1 || c->chunk_size || c->on_full ||
	    (c->flags & SNAPBLK_CREATE_ATTACH))
		return -EINVAL;
	return 0;
}

static void snapblk_origin_limits(struct block_device *disk,
				  struct snapblk_limits *lim)
{
	lim->logical_block_size = bdev_logical_block_size(disk);
	lim->physical_block_size = bdev_physical_block_size(disk);
	lim->max_discard_sectors = bdev_max_discard_sectors(disk);
	lim->max_write_zeroes_sectors = bdev_write_zeroes_sectors(disk);
}

static int snapblk_origin_build(struct snapblk_dev *d, struct snapblk_create *c)
{
	struct snapblk_limits lim = {};
	struct snapblk_origin *o;
	dev_t dev;
	int ret;

	o = kzalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		return -ENOMEM;
	d->priv = o;
	ret = snapblk_fd_dev(c->parent_fd, &dev);
	if (!ret)
		ret = snapblk_open_parent(d, dev, true);
	if (ret)
		return ret;
	ret = bdev_nr_sectors(d->parent_bdev) ? 0 : -EINVAL;
	if (!ret)
		ret = snapblk_unique_name(d, c->name);
	if (!ret)
		ret = snapblk_origin_start(o, d->parent_bdev, d->index);
	if (ret)
		goto undo_open;
	snapblk_origin_limits(d->parent_bdev, &lim);
	ret = snapblk_add_disk(d, &lim, bdev_nr_sectors(d->parent_bdev));
	if (ret)
		goto undo_start;
	return 0;

undo_start:
	snapblk_origin_stop(o);
undo_open:
	snapblk_close_parent(d);
	return ret;
}

static int snapblk_origin_teardown(struct snapblk_dev *d, bool discard)
{
	snapblk_del_disk(d);
	snapblk_revert_free(snapblk_dev_origin(d));
	snapblk_origin_stop(snapblk_dev_origin(d));
	snapblk_close_parent(d);
	return 0;
}

static void snapblk_origin_dev_submit(struct snapblk_dev *d, struct bio *bio)
{
	snapblk_origin_submit(snapblk_dev_origin(d), bio);
}

static struct block_device *snapblk_origin_store(struct snapblk_dev *d)
{
	return NULL;
}

/* The chunk size of its snapshot stores, 0 while it has none. */
static u32 snapblk_origin_chunk_size(struct snapblk_dev *d)
{
	unsigned int shift = snapblk_dev_origin(d)->chunk_shift;

	return shift ? 1U << shift : 0;
}

static u64 snapblk_origin_store_used(struct snapblk_dev *d)
{
	return 0;
}

static u32 snapblk_origin_state(struct snapblk_dev *d, u32 *progress)
{
	u32 state;

	*progress = 0;
	if (snapblk_revert_state(snapblk_dev_origin(d), NULL, &state, progress))
		return state;
	return SNAPBLK_STATE_ACTIVE;
}

/* A revert that has not ended needs its origin. */
static int snapblk_origin_check_remove(struct snapblk_dev *d)
{
	return snapblk_revert_holds(snapblk_dev_origin(d), NULL) ? -EBUSY : 0;
}

const struct snapblk_kind snapblk_origin_kind = {
	.kind		= SNAPBLK_KIND_ORIGIN,
	.name		= "origin",
	.features	= SNAPBLK_FEAT_ORIGIN,
	.check		= snapblk_origin_check,
	.build		= snapblk_origin_build,
	.teardown	= snapblk_origin_teardown,
	.submit		= snapblk_origin_dev_submit,
	.store		= snapblk_origin_store,
	.chunk_size	= snapblk_origin_chunk_size,
	.store_used	= snapblk_origin_store_used,
	.state		= snapblk_origin_state,
	.check_remove	= snapblk_origin_check_remove,
};
