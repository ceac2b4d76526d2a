// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk: building and tearing down each kind of device.
 *
 * Every device claims the devices it is built on with one holder shared
 * by all snapblk devices (as device-mapper does): overlays may share a
 * base, while mount, mkfs and other exclusive openers are refused. As the
 * shared claim does not stop two snapblk devices from using one store,
 * creation checks stores and parents against the registry itself. A
 * snapshot does not claim its origin device, which stays mountable.
 *
 * All of it runs under snapblk_devs_lock.
 */
#include <linux/blkdev.h>
#include <linux/ctype.h>
#include <linux/file.h>
#include <linux/log2.h>
#include <linux/slab.h>

#include "commit.h"
#include "dev.h"
#include "origin.h"
#include "overlay.h"
#include "revert.h"
#include "snapshot.h"

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
 * snapblk_check_create() - check a SNAPBLK_IOC_CREATE argument.
 * @c: the argument.
 *
 * Return: 0 or -EINVAL.
 */
int snapblk_check_create(const struct snapblk_create *c)
{
	if (c->kind != SNAPBLK_KIND_OVERLAY && c->kind != SNAPBLK_KIND_ORIGIN &&
	    c->kind != SNAPBLK_KIND_SNAPSHOT)
		return -EINVAL;
	if (c->chunk_size && (!is_power_of_2(c->chunk_size) ||
			      c->chunk_size < SNAPBLK_CHUNK_MIN ||
			      c->chunk_size > SNAPBLK_CHUNK_MAX))
		return -EINVAL;
	if (c->kind == SNAPBLK_KIND_SNAPSHOT ?
	    c->on_full > SNAPBLK_ON_FULL_BLOCK_WRITES : c->on_full)
		return -EINVAL;
	if (c->kind == SNAPBLK_KIND_ORIGIN &&
	    (c->store_fd != -1 || c->chunk_size || (c->flags & SNAPBLK_CREATE_ATTACH)))
		return -EINVAL;
	return snapblk_check_name(c);
}

/* The block device behind an fd passed by userspace. */
static int snapblk_fd_dev(int fd, dev_t *dev)
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

static struct block_device *snapblk_dev_store(struct snapblk_dev *d)
{
	if (d->kind == SNAPBLK_KIND_OVERLAY)
		return d->ov->store.dev.bdev;
	if (d->kind == SNAPBLK_KIND_SNAPSHOT)
		return d->snap->s->dev.bdev;
	return NULL;
}

/* May @store hold data for a device on @parent? */
static int snapblk_check_store(struct block_device *parent,
			       struct block_device *store)
{
	struct snapblk_dev *d;

	if (snapblk_overlap(parent, store))
		return -EINVAL;
	list_for_each_entry(d, &snapblk_devs, node) {
		if (snapblk_overlap(store, snapblk_dev_store(d)) ||
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
		if (snapblk_overlap(parent, snapblk_dev_store(d)))
			return -EBUSY;
	return 0;
}

static void snapblk_adopt(struct snapblk_dev *d)
{
	struct snapblk_dev *p = d->parent_dev;

	if (!p)
		return;
	p->nr_children++;
	if (d->kind == SNAPBLK_KIND_OVERLAY && !p->nr_readers++)
		set_disk_ro(p->disk, true);
}

static void snapblk_orphan(struct snapblk_dev *d)
{
	struct snapblk_dev *p = d->parent_dev;

	if (!p)
		return;
	p->nr_children--;
	if (d->kind == SNAPBLK_KIND_OVERLAY && !--p->nr_readers)
		set_disk_ro(p->disk, false);
}

static int snapblk_unique_name(struct snapblk_dev *d, const char *stored)
{
	snapblk_set_name(d, stored);
	return snapblk_find_name(d->name) ? -EEXIST : 0;
}

/* ---- overlay ---- */

static void snapblk_parent_uuid(struct snapblk_dev *d, u8 *uuid)
{
	memset(uuid, 0, 16);
	if (d->parent_dev && !bdev_is_partition(d->parent_bdev) &&
	    d->parent_dev->kind == SNAPBLK_KIND_OVERLAY)
		memcpy(uuid, d->parent_dev->ov->store.uuid, 16);
}

/* Is the store on @d's base the one it was made on? */
static int snapblk_check_base(struct snapblk_dev *d)
{
	struct snapblk_store *st = &d->ov->store;
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
	struct snapblk_store *st = &d->ov->store;
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
	d->parent_bdev = d->parent.bdev;
	ret = snapblk_bdev_open(store, true, &snapblk_holder, &d->ov->store.dev);
	if (ret)
		goto undo_parent;
	ret = snapblk_check_parent(d->parent_bdev);
	if (!ret)
		ret = snapblk_check_store(d->parent_bdev, d->ov->store.dev.bdev);
	if (ret)
		goto undo_store;
	if (snapblk_is_disk(d->parent_bdev))
		d->parent_dev = d->parent_bdev->bd_disk->private_data;
	return 0;

undo_store:
	snapblk_bdev_close(&d->ov->store.dev);
undo_parent:
	snapblk_bdev_close(&d->parent);
	return ret;
}

static void snapblk_overlay_close(struct snapblk_dev *d)
{
	snapblk_bdev_close(&d->ov->store.dev);
	snapblk_bdev_close(&d->parent);
}

static int snapblk_build_overlay(struct snapblk_dev *d, struct snapblk_create *c)
{
	struct block_device *base, *store;
	struct snapblk_limits lim = {};
	int ret;

	d->ov = kzalloc(sizeof(*d->ov), GFP_KERNEL);
	if (!d->ov)
		return -ENOMEM;
	ret = snapblk_overlay_open(d, c);
	if (ret)
		return ret;
	ret = snapblk_overlay_store(d, c);
	if (ret)
		goto undo_store;
	ret = snapblk_unique_name(d, d->ov->store.geo.name);
	if (ret)
		goto undo_store;
	ret = snapblk_overlay_start(d->ov, d->parent_bdev, d->index);
	if (ret)
		goto undo_store;
	base = d->parent_bdev;
	store = d->ov->store.dev.bdev;
	lim.logical_block_size = max(bdev_logical_block_size(base),
				     bdev_logical_block_size(store));
	lim.physical_block_size = max3(bdev_physical_block_size(base),
				       bdev_physical_block_size(store),
				       (unsigned int)SNAPBLK_META_BLOCK);
	lim.io_opt = 1U << d->ov->store.geo.chunk_shift;
	lim.max_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
	lim.max_write_zeroes_sectors = UINT_MAX >> SECTOR_SHIFT;
	ret = snapblk_add_disk(d, &lim, d->ov->store.geo.parent_sectors);
	if (ret)
		goto undo_start;
	snapblk_adopt(d);
	/* a commit a crash or detach interrupted goes on */
	if (d->ov->store.state == SNAPBLK_SB_STATE_COMMITTING) {
		ret = snapblk_commit_start(d);
		if (ret)
			pr_warn("snapblk: %s: the interrupted commit cannot resume: %d\n",
				d->name, ret);
	}
	return 0;

undo_start:
	snapblk_overlay_stop(d->ov);
undo_store:
	/* also frees what a failed format or load left */
	snapblk_store_release(&d->ov->store);
	snapblk_overlay_close(d);
	return ret;
}

static int snapblk_teardown_overlay(struct snapblk_dev *d, bool discard)
{
	int ret;

	snapblk_del_disk(d);
	snapblk_commit_stop(d);
	snapblk_overlay_stop(d->ov);
	snapblk_commit_free(d);
	if (discard)
		ret = snapblk_store_discard(&d->ov->store);
	else
		ret = snapblk_store_commit(&d->ov->store);
	snapblk_orphan(d);
	snapblk_store_release(&d->ov->store);
	snapblk_overlay_close(d);
	return ret;
}

/* ---- origin ---- */

static int snapblk_build_origin(struct snapblk_dev *d, struct snapblk_create *c)
{
	struct snapblk_limits lim = {};
	struct block_device *disk;
	dev_t dev;
	int ret;

	d->origin = kzalloc(sizeof(*d->origin), GFP_KERNEL);
	if (!d->origin)
		return -ENOMEM;
	ret = snapblk_fd_dev(c->parent_fd, &dev);
	if (ret)
		return ret;
	ret = snapblk_bdev_open(dev, true, &snapblk_holder, &d->parent);
	if (ret)
		return ret;
	d->parent_bdev = d->parent.bdev;
	disk = d->parent_bdev;
	ret = snapblk_check_parent(disk);
	if (!ret && !bdev_nr_sectors(disk))
		ret = -EINVAL;
	if (!ret)
		ret = snapblk_unique_name(d, c->name);
	if (ret)
		goto undo_open;
	if (snapblk_is_disk(disk))
		d->parent_dev = disk->bd_disk->private_data;
	ret = snapblk_origin_start(d->origin, disk, d->index);
	if (ret)
		goto undo_open;
	lim.logical_block_size = bdev_logical_block_size(disk);
	lim.physical_block_size = bdev_physical_block_size(disk);
	lim.max_discard_sectors = bdev_max_discard_sectors(disk);
	lim.max_write_zeroes_sectors = bdev_write_zeroes_sectors(disk);
	ret = snapblk_add_disk(d, &lim, bdev_nr_sectors(disk));
	if (ret)
		goto undo_start;
	snapblk_adopt(d);
	return 0;

undo_start:
	snapblk_origin_stop(d->origin);
undo_open:
	snapblk_bdev_close(&d->parent);
	return ret;
}

static int snapblk_teardown_origin(struct snapblk_dev *d)
{
	snapblk_del_disk(d);
	snapblk_revert_free(d);
	snapblk_origin_stop(d->origin);
	snapblk_orphan(d);
	snapblk_bdev_close(&d->parent);
	return 0;
}

/* ---- snapshot ---- */

static struct snapblk_exstore *snapblk_find_exstore(struct snapblk_origin *o,
						    dev_t devt)
{
	struct snapblk_exstore *s;

	list_for_each_entry(s, &o->stores, node)
		if (s->dev.bdev->bd_dev == devt)
			return s;
	return NULL;
}

/* What kind of snapblk store @bdev holds: 0 if none. */
static int snapblk_probe_kind(struct block_device *bdev, u32 *kind)
{
	struct page *page = alloc_page(GFP_KERNEL);
	int ret;

	if (!page)
		return -ENOMEM;
	ret = snapblk_sb_read(bdev, page);
	*kind = 0;
	if (!ret)
		*kind = le32_to_cpu(((struct snapblk_disk_ssb *)page_address(page))->kind);
	__free_page(page);
	return ret == -EINVAL ? 0 : ret;
}

/* Does every snapshot of @s still see the origin it was taken of? */
static int snapblk_check_origin(struct snapblk_origin *o,
				struct snapblk_exstore *s)
{
	int i;

	for (i = 0; i < SNAPBLK_MAX_SNAPS; i++) {
		struct snapblk_snapmeta *m = &s->snaps[i];

		if (m->id && !(m->flags & SNAPBLK_SNAP_INVALID) &&
		    snapblk_snapshot_fingerprint(o, s, m->id) != m->fp)
			return -EMEDIUMTYPE;
	}
	return 0;
}

/* Format (or, with @load, load and check) the store @s of origin @o. */
static int snapblk_exstore_setup(struct snapblk_origin *o,
				 struct snapblk_exstore *s,
				 const struct snapblk_create *c)
{
	unsigned int shift = c->chunk_size ? ilog2(c->chunk_size) :
			     o->chunk_shift ?: ilog2(SNAPBLK_CHUNK_DEFAULT);
	u32 kind;
	int ret;

	ret = snapblk_probe_kind(s->dev.bdev, &kind);
	if (ret)
		return ret;
	if (kind && kind != SNAPBLK_KIND_SNAPSHOT)
		return -EMEDIUMTYPE;
	if (!kind) {
		if (c->flags & SNAPBLK_CREATE_ATTACH)
			return -EINVAL;
		if (o->chunk_shift && shift != o->chunk_shift)
			return -EINVAL;
		return snapblk_exstore_format(s, o->sectors, shift);
	}
	ret = snapblk_exstore_load(s, o->sectors);
	if (ret)
		return ret;
	if ((o->chunk_shift && s->chunk_shift != o->chunk_shift) ||
	    (c->chunk_size && ilog2(c->chunk_size) != s->chunk_shift))
		ret = -EINVAL;
	if (!ret)
		ret = snapblk_check_origin(o, s);
	if (ret)
		snapblk_exstore_release(s);
	return ret;
}

/* Open, check and load or format a store not yet used by origin @od. */
static int snapblk_exstore_open(struct snapblk_dev *od, dev_t devt,
				const struct snapblk_create *c,
				struct snapblk_exstore **out)
{
	struct snapblk_exstore *s = kzalloc(sizeof(*s), GFP_KERNEL);
	int ret;

	if (!s)
		return -ENOMEM;
	ret = snapblk_bdev_open(devt, true, &snapblk_holder, &s->dev);
	if (ret)
		goto undo_alloc;
	ret = snapblk_check_store(od->disk->part0, s->dev.bdev);
	if (!ret)
		ret = snapblk_check_store(od->parent_bdev, s->dev.bdev);
	if (ret)
		goto undo_open;
	snapblk_origin_freeze(od->origin);
	ret = snapblk_exstore_setup(od->origin, s, c);
	if (!ret)
		snapblk_origin_add_store(od->origin, s);
	snapblk_origin_thaw(od->origin);
	if (ret)
		goto undo_open;
	*out = s;
	return 0;

undo_open:
	snapblk_bdev_close(&s->dev);
undo_alloc:
	kfree(s);
	return ret;
}

/* Let go of a store no snapshot device uses; clear it if it is empty. */
static int snapblk_exstore_close(struct snapblk_origin *o,
				 struct snapblk_exstore *s)
{
	int ret;

	snapblk_origin_freeze(o);
	snapblk_origin_del_store(o, s);
	snapblk_origin_thaw(o);
	if (snapblk_exstore_nr_snaps(s))
		ret = snapblk_exstore_commit(s);
	else
		ret = snapblk_sb_clear(s->dev.bdev);
	snapblk_exstore_release(s);
	snapblk_bdev_close(&s->dev);
	kfree(s);
	return ret;
}

static bool snapblk_exstore_in_use(struct snapblk_exstore *s)
{
	int i;

	for (i = 0; i < SNAPBLK_MAX_SNAPS; i++)
		if (s->snaps[i].id && s->snaps[i].dev)
			return true;
	return false;
}

/* The snapshot the new device shows: a new one, or one to attach. */
static int snapblk_pick_snap(struct snapblk_origin *o, struct snapblk_exstore *s,
			     const struct snapblk_create *c, u32 *id)
{
	u32 flags = c->on_full == SNAPBLK_ON_FULL_BLOCK_WRITES ?
		    SNAPBLK_SNAP_BLOCK_WRITES : 0;
	int i, ret;

	if (!(c->flags & SNAPBLK_CREATE_ATTACH)) {
		snapblk_origin_freeze(o);
		ret = snapblk_exstore_add_snap(s, c->name, flags,
					       snapblk_snapshot_fingerprint(o, s, s->next_id),
					       id);
		snapblk_origin_thaw(o);
		return ret;
	}
	*id = 0;
	for (i = 0; i < SNAPBLK_MAX_SNAPS; i++) {
		struct snapblk_snapmeta *m = &s->snaps[i];

		if (m->id && !m->dev && (!*id || m->id < *id))
			*id = m->id;
	}
	if (!*id)
		return -ENOENT;
	if (c->flags & SNAPBLK_CREATE_NAMED)
		return snapblk_exstore_rename(s, *id, c->name);
	return 0;
}

static int snapblk_snapshot_disk(struct snapblk_dev *d, struct snapblk_dev *od,
				 struct snapblk_exstore *s, u32 id)
{
	struct snapblk_snapmeta *m = snapblk_exstore_snap(s, id);
	struct snapblk_limits lim = {};
	int ret;

	d->snap = kzalloc(sizeof(*d->snap), GFP_KERNEL);
	if (!d->snap)
		return -ENOMEM;
	ret = snapblk_unique_name(d, m->name);
	if (ret)
		return ret;
	snapblk_snapshot_start(d->snap, od->origin, s, id);
	d->parent_dev = od;
	d->parent_bdev = od->disk->part0;
	lim.logical_block_size = max(bdev_logical_block_size(od->parent_bdev),
				     bdev_logical_block_size(s->dev.bdev));
	lim.physical_block_size = max(bdev_physical_block_size(od->parent_bdev),
				      bdev_physical_block_size(s->dev.bdev));
	lim.io_opt = 1U << s->chunk_shift;
	ret = snapblk_add_disk(d, &lim, od->origin->sectors);
	if (ret)
		return ret;
	m->dev = d;
	snapblk_adopt(d);
	return 0;
}

static int snapblk_build_snapshot(struct snapblk_dev *d, struct snapblk_create *c)
{
	struct snapblk_exstore *s;
	struct snapblk_dev *od;
	dev_t odev, sdev;
	bool opened = false;
	u32 id;
	int ret;

	ret = snapblk_fd_dev(c->parent_fd, &odev);
	if (!ret)
		ret = snapblk_fd_dev(c->store_fd, &sdev);
	if (ret)
		return ret;
	od = snapblk_find_disk(odev);
	if (!od || od->kind != SNAPBLK_KIND_ORIGIN)
		return -EINVAL;
	/* a new snapshot would see the disk, not what the origin shows */
	if (!(c->flags & SNAPBLK_CREATE_ATTACH) && snapblk_revert_holds(od))
		return -EBUSY;
	s = snapblk_find_exstore(od->origin, sdev);
	/* a store in use keeps its chunk size */
	if (s && c->chunk_size && ilog2(c->chunk_size) != s->chunk_shift)
		return -EINVAL;
	if (!s) {
		ret = snapblk_exstore_open(od, sdev, c, &s);
		if (ret)
			return ret;
		opened = true;
	}
	ret = snapblk_pick_snap(od->origin, s, c, &id);
	if (ret)
		goto undo_open;
	ret = snapblk_snapshot_disk(d, od, s, id);
	if (ret)
		goto undo_snap;
	/* a revert a crash or reboot interrupted goes on */
	if (snapblk_exstore_snap(s, id)->flags & SNAPBLK_SNAP_REVERTING) {
		ret = snapblk_revert_start(d, true);
		if (ret)
			pr_warn("snapblk: %s: the interrupted revert cannot resume: %d\n",
				d->name, ret);
	}
	return 0;

undo_snap:
	if (!(c->flags & SNAPBLK_CREATE_ATTACH)) {
		snapblk_origin_freeze(od->origin);
		snapblk_exstore_del_snap(s, id);
		snapblk_origin_thaw(od->origin);
	}
undo_open:
	if (opened && !snapblk_exstore_in_use(s))
		snapblk_exstore_close(od->origin, s);
	return ret;
}

static int snapblk_teardown_snapshot(struct snapblk_dev *d, bool discard)
{
	struct snapblk_snapshot *sn = d->snap;
	struct snapblk_exstore *s = sn->s;
	struct snapblk_origin *o = sn->o;
	int ret;

	snapblk_del_disk(d);
	snapblk_snapshot_stop(sn);
	snapblk_exstore_snap(s, sn->id)->dev = NULL;
	if (discard) {
		snapblk_origin_freeze(o);
		ret = snapblk_exstore_del_snap(s, sn->id);
		snapblk_origin_thaw(o);
	} else {
		ret = snapblk_exstore_commit(s);
	}
	if (!snapblk_exstore_in_use(s)) {
		int err = snapblk_exstore_close(o, s);

		ret = ret ?: err;
	}
	snapblk_orphan(d);
	return ret;
}

/* ---- entry points ---- */

/**
 * snapblk_build() - build device @d as @c asks.
 * @d: the device, index set, not yet in the registry.
 * @c: the checked argument.
 *
 * Return: 0 or a negative errno (everything undone).
 */
int snapblk_build(struct snapblk_dev *d, struct snapblk_create *c)
{
	d->kind = c->kind;
	switch (c->kind) {
	case SNAPBLK_KIND_OVERLAY:
		return snapblk_build_overlay(d, c);
	case SNAPBLK_KIND_ORIGIN:
		return snapblk_build_origin(d, c);
	}
	return snapblk_build_snapshot(d, c);
}

/**
 * snapblk_teardown() - remove the disk of @d and let go of its devices.
 * @d: the device, out of the registry, not open, without children.
 * @discard: destroy what its store keeps for it.
 *
 * Return: 0 or the errno of the final store update.
 */
int snapblk_teardown(struct snapblk_dev *d, bool discard)
{
	switch (d->kind) {
	case SNAPBLK_KIND_OVERLAY:
		return snapblk_teardown_overlay(d, discard);
	case SNAPBLK_KIND_ORIGIN:
		return snapblk_teardown_origin(d);
	}
	return snapblk_teardown_snapshot(d, discard);
}

/**
 * snapblk_grow() - the store of @d grew: use the new space.
 * @d: the device.
 *
 * Return: 0 or a negative errno; -EINVAL for an origin.
 */
int snapblk_grow(struct snapblk_dev *d)
{
	int ret;

	switch (d->kind) {
	case SNAPBLK_KIND_OVERLAY:
		return snapblk_overlay_grow(d->ov);
	case SNAPBLK_KIND_SNAPSHOT:
		snapblk_origin_freeze(d->snap->o);
		ret = snapblk_exstore_grow(d->snap->s);
		snapblk_origin_thaw(d->snap->o);
		return ret;
	}
	return -EINVAL;
}
