// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk overlay devices: building, attaching, reporting and tearing
 * down an overlay. Its I/O path is overlay.c; its commit is commit.c.
 */
#include <linux/blkdev.h>
#include <linux/log2.h>
#include <linux/slab.h>

#include "commit.h"
#include "event.h"
#include "overlay_dev.h"

static int snapblk_overlay_check(const struct snapblk_create *c)
{
	if (c->on_full)
		return -EINVAL;
	return snapblk_check_chunk_size(c->chunk_size);
}

/* The identity a store on @d's parent records: its overlay store's UUID. */
static void snapblk_parent_uuid(struct snapblk_dev *d, u8 *uuid)
{
	memset(uuid, 0, 16);
	if (d->parent_dev && !bdev_is_partition(d->parent_bdev) &&
	    d->parent_dev->kind == &snapblk_overlay_kind)
		memcpy(uuid, snapblk_dev_overlay(d->parent_dev)->store.uuid, 16);
}

/* Is the store on @d's base the one it was made on? */
static int snapblk_check_base(struct snapblk_dev *d)
{
	struct snapblk_store *st = &snapblk_dev_overlay(d)->store;
	u8 uuid[16];

	snapblk_parent_uuid(d, uuid);
	if (st->geo.parent_sectors != bdev_nr_sectors(d->parent_bdev) ||
	    memcmp(uuid, st->geo.parent_uuid, sizeof(uuid)))
		return -EMEDIUMTYPE;
	/* an interrupted commit has changed the parent: it cannot match */
	if (st->state != SNAPBLK_SB_STATE_COMMITTING &&
	    st->geo.parent_fp != snapblk_fingerprint(d->parent_bdev))
		return -EMEDIUMTYPE;
	return 0;
}

/* Format a new overlay store, or load and check an existing one. */
static int snapblk_overlay_store(struct snapblk_dev *d,
				 const struct snapblk_create *c)
{
	struct snapblk_store *st = &snapblk_dev_overlay(d)->store;
	struct snapblk_store_geo geo = {
		.kind = SNAPBLK_KIND_OVERLAY,
		.chunk_shift = ilog2(c->chunk_size ?: SNAPBLK_CHUNK_DEFAULT),
		.parent_sectors = bdev_nr_sectors(d->parent_bdev),
	};
	int ret;

	if (!geo.parent_sectors)
		return -EINVAL;
	if (!(c->flags & SNAPBLK_CREATE_ATTACH)) {
		geo.parent_fp = snapblk_fingerprint(d->parent_bdev);
		snapblk_parent_uuid(d, geo.parent_uuid);
		memcpy(geo.name, c->name, sizeof(geo.name));
		return snapblk_store_format(st, &geo);
	}
	ret = snapblk_store_load(st, SNAPBLK_KIND_OVERLAY);
	if (!ret)
		ret = snapblk_check_base(d);
	if (!ret && (c->flags & SNAPBLK_CREATE_NAMED) &&
	    strcmp(c->name, st->geo.name))
		ret = snapblk_store_rename(st, c->name);
	return ret;
}

/* Open the base and the store of a new overlay and check them. */
static int snapblk_overlay_open(struct snapblk_dev *d,
				const struct snapblk_create *c)
{
	struct snapblk_store *st = &snapblk_dev_overlay(d)->store;
	dev_t parent, store;
	int ret;

	ret = snapblk_fd_dev(c->parent_fd, &parent);
	if (!ret)
		ret = snapblk_fd_dev(c->store_fd, &store);
	if (ret)
		return ret;
	if (parent == store)
		return -EINVAL;
	ret = snapblk_open_parent(d, parent, false);
	if (ret)
		return ret;
	ret = snapblk_bdev_open(store, true, &snapblk_holder, &st->dev);
	if (ret)
		goto undo_parent;
	ret = snapblk_check_store(d->parent_bdev, st->dev.bdev);
	if (ret)
		goto undo_store;
	return 0;

undo_store:
	snapblk_bdev_close(&st->dev);
undo_parent:
	snapblk_close_parent(d);
	return ret;
}

static void snapblk_overlay_close(struct snapblk_dev *d)
{
	snapblk_bdev_close(&snapblk_dev_overlay(d)->store.dev);
	snapblk_close_parent(d);
}

static void snapblk_overlay_limits(struct snapblk_dev *d,
				   struct snapblk_limits *lim)
{
	struct snapblk_overlay *ov = snapblk_dev_overlay(d);
	struct block_device *base = d->parent_bdev, *store = ov->store.dev.bdev;

	lim->logical_block_size = max(bdev_logical_block_size(base),
				      bdev_logical_block_size(store));
	lim->physical_block_size = max3(bdev_physical_block_size(base),
					bdev_physical_block_size(store),
					(unsigned int)SNAPBLK_META_BLOCK);
	lim->io_opt = 1U << ov->store.geo.chunk_shift;
	lim->max_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
	lim->max_write_zeroes_sectors = UINT_MAX >> SECTOR_SHIFT;
}

static int snapblk_overlay_build(struct snapblk_dev *d, struct snapblk_create *c)
{
	struct snapblk_limits lim = {};
	struct snapblk_overlay *ov;
	int ret;

	ov = kzalloc(sizeof(*ov), GFP_KERNEL);
	if (!ov)
		return -ENOMEM;
	d->priv = ov;
	ret = snapblk_overlay_open(d, c);
	if (ret)
		return ret;
	ret = snapblk_overlay_store(d, c);
	if (ret)
		goto undo_store;
	ret = snapblk_unique_name(d, ov->store.geo.name);
	if (ret)
		goto undo_store;
	ret = snapblk_overlay_start(ov, d->parent_bdev, d->index);
	if (ret)
		goto undo_store;
	snapblk_overlay_limits(d, &lim);
	ret = snapblk_add_disk(d, &lim, ov->store.geo.parent_sectors);
	if (ret)
		goto undo_start;
	return 0;

undo_start:
	snapblk_overlay_stop(ov);
undo_store:
	/* also frees what a failed format or load left */
	snapblk_store_release(&ov->store);
	snapblk_overlay_close(d);
	return ret;
}

/* A commit a crash or detach interrupted goes on. */
static void snapblk_overlay_resume(struct snapblk_dev *d)
{
	int ret;

	if (snapblk_dev_overlay(d)->store.state != SNAPBLK_SB_STATE_COMMITTING)
		return;
	ret = snapblk_commit_start(d);
	if (ret)
		pr_warn("snapblk: %s: the interrupted commit cannot resume: %d\n",
			d->name, ret);
}

static int snapblk_overlay_teardown(struct snapblk_dev *d, bool discard)
{
	struct snapblk_overlay *ov = snapblk_dev_overlay(d);
	int ret;

	snapblk_del_disk(d);
	snapblk_commit_stop(d);
	snapblk_overlay_stop(ov);
	snapblk_commit_free(d);
	if (discard)
		ret = snapblk_store_discard(&ov->store);
	else
		ret = snapblk_store_commit(&ov->store);
	snapblk_store_release(&ov->store);
	snapblk_overlay_close(d);
	return ret;
}

static void snapblk_overlay_dev_submit(struct snapblk_dev *d, struct bio *bio)
{
	snapblk_overlay_submit(snapblk_dev_overlay(d), bio);
}

static struct block_device *snapblk_overlay_store_bdev(struct snapblk_dev *d)
{
	return snapblk_dev_overlay(d)->store.dev.bdev;
}

static u32 snapblk_overlay_chunk_size(struct snapblk_dev *d)
{
	return 1U << snapblk_dev_overlay(d)->store.geo.chunk_shift;
}

static u64 snapblk_overlay_store_used(struct snapblk_dev *d)
{
	return snapblk_store_used_bytes(&snapblk_dev_overlay(d)->store);
}

static u32 snapblk_overlay_used_percent(struct snapblk_dev *d)
{
	struct snapblk_store *st = &snapblk_dev_overlay(d)->store;

	return snapblk_level_percent(READ_ONCE(st->nr_used), st->data_chunks);
}

static u32 snapblk_overlay_state(struct snapblk_dev *d, u32 *progress)
{
	u32 state;

	if (snapblk_commit_state(d, &state, progress))
		return state;
	return READ_ONCE(snapblk_dev_overlay(d)->full) ? SNAPBLK_STATE_FULL :
							 SNAPBLK_STATE_ACTIVE;
}

static int snapblk_overlay_dev_grow(struct snapblk_dev *d)
{
	return snapblk_overlay_grow(snapblk_dev_overlay(d));
}

const struct snapblk_kind snapblk_overlay_kind = {
	.kind		= SNAPBLK_KIND_OVERLAY,
	.name		= "overlay",
	.features	= SNAPBLK_FEAT_OVERLAY | SNAPBLK_FEAT_COMMIT |
			  SNAPBLK_FEAT_GROW,
	.reads_parent	= true,
	.check		= snapblk_overlay_check,
	.build		= snapblk_overlay_build,
	.resume		= snapblk_overlay_resume,
	.teardown	= snapblk_overlay_teardown,
	.submit		= snapblk_overlay_dev_submit,
	.store		= snapblk_overlay_store_bdev,
	.chunk_size	= snapblk_overlay_chunk_size,
	.store_used	= snapblk_overlay_store_used,
	.used_percent	= snapblk_overlay_used_percent,
	.state		= snapblk_overlay_state,
	.commit		= snapblk_commit_start,
	.grow		= snapblk_overlay_dev_grow,
};
