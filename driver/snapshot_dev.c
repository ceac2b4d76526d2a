// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk snapshot devices: taking, attaching, reporting and dropping
 * snapshots of an origin device (origin_dev.c). A store holds up to
 * SNAPBLK_MAX_SNAPS snapshots of one origin; the origin copies out to
 * every store it has. The I/O path of a snapshot is snapshot.c; a revert
 * (revert.c) rolls its origin back to it.
 */
#include <linux/blkdev.h>
#include <linux/log2.h>
#include <linux/slab.h>

#include "event.h"
#include "origin_dev.h"
#include "revert.h"
#include "snapshot_dev.h"

static int snapblk_snapshot_check(const struct snapblk_create *c)
{
	if (c->on_full > SNAPBLK_ON_FULL_BLOCK_WRITES)
		return -EINVAL;
	return snapblk_check_chunk_size(c->chunk_size);
}

/* ---- the origin's stores ---- */

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
	struct snapblk_origin *o = snapblk_dev_origin(od);
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
	snapblk_origin_freeze(o);
	ret = snapblk_exstore_setup(o, s, c);
	if (!ret)
		snapblk_origin_add_store(o, s);
	snapblk_origin_thaw(o);
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

/* ---- build and teardown ---- */

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
	struct snapblk_origin *o = snapblk_dev_origin(od);
	struct snapblk_snapmeta *m = snapblk_exstore_snap(s, id);
	struct snapblk_limits lim = {};
	struct snapblk_snapshot *sn;
	int ret;

	sn = kzalloc(sizeof(*sn), GFP_KERNEL);
	if (!sn)
		return -ENOMEM;
	d->priv = sn;
	ret = snapblk_unique_name(d, m->name);
	if (ret)
		return ret;
	snapblk_snapshot_start(sn, o, s, id);
	d->parent_dev = od;
	d->parent_bdev = od->disk->part0;
	lim.logical_block_size = max(bdev_logical_block_size(od->parent_bdev),
				     bdev_logical_block_size(s->dev.bdev));
	lim.physical_block_size = max(bdev_physical_block_size(od->parent_bdev),
				      bdev_physical_block_size(s->dev.bdev));
	lim.io_opt = 1U << s->chunk_shift;
	ret = snapblk_add_disk(d, &lim, o->sectors);
	if (ret)
		return ret;
	m->dev = d;
	return 0;
}

static int snapblk_snapshot_build(struct snapblk_dev *d, struct snapblk_create *c)
{
	struct snapblk_exstore *s;
	struct snapblk_origin *o;
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
	if (!od || od->kind != &snapblk_origin_kind)
		return -EINVAL;
	o = snapblk_dev_origin(od);
	/* a new snapshot would see the disk, not what the origin shows */
	if (!(c->flags & SNAPBLK_CREATE_ATTACH) && snapblk_revert_holds(o, NULL))
		return -EBUSY;
	s = snapblk_find_exstore(o, sdev);
	/* a store in use keeps its chunk size */
	if (s && c->chunk_size && ilog2(c->chunk_size) != s->chunk_shift)
		return -EINVAL;
	if (!s) {
		ret = snapblk_exstore_open(od, sdev, c, &s);
		if (ret)
			return ret;
		opened = true;
	}
	ret = snapblk_pick_snap(o, s, c, &id);
	if (ret)
		goto undo_open;
	ret = snapblk_snapshot_disk(d, od, s, id);
	if (ret)
		goto undo_snap;
	return 0;

undo_snap:
	if (!(c->flags & SNAPBLK_CREATE_ATTACH)) {
		snapblk_origin_freeze(o);
		snapblk_exstore_del_snap(s, id);
		snapblk_origin_thaw(o);
	}
undo_open:
	if (opened && !snapblk_exstore_in_use(s))
		snapblk_exstore_close(o, s);
	return ret;
}

/* A revert a crash or reboot interrupted goes on. */
static void snapblk_snapshot_resume(struct snapblk_dev *d)
{
	struct snapblk_snapshot *sn = snapblk_dev_snapshot(d);
	int ret;

	if (!(snapblk_exstore_snap(sn->s, sn->id)->flags & SNAPBLK_SNAP_REVERTING))
		return;
	ret = snapblk_revert_start(d, true);
	if (ret)
		pr_warn("snapblk: %s: the interrupted revert cannot resume: %d\n",
			d->name, ret);
}

static int snapblk_snapshot_teardown(struct snapblk_dev *d, bool discard)
{
	struct snapblk_snapshot *sn = snapblk_dev_snapshot(d);
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
	return ret;
}

/* ---- the rest of the table ---- */

static void snapblk_snapshot_dev_submit(struct snapblk_dev *d, struct bio *bio)
{
	snapblk_snapshot_submit(snapblk_dev_snapshot(d), bio);
}

static struct block_device *snapblk_snapshot_store(struct snapblk_dev *d)
{
	return snapblk_dev_snapshot(d)->s->dev.bdev;
}

static u32 snapblk_snapshot_chunk_size(struct snapblk_dev *d)
{
	return 1U << snapblk_dev_snapshot(d)->s->chunk_shift;
}

static u64 snapblk_snapshot_store_used(struct snapblk_dev *d)
{
	return snapblk_exstore_used_bytes(snapblk_dev_snapshot(d)->s);
}

static u32 snapblk_snapshot_used_percent(struct snapblk_dev *d)
{
	struct snapblk_exstore *s = snapblk_dev_snapshot(d)->s;

	return snapblk_level_percent(READ_ONCE(s->nr_used), s->data_chunks);
}

static u32 snapblk_snapshot_state(struct snapblk_dev *d, u32 *progress)
{
	struct snapblk_snapshot *sn = snapblk_dev_snapshot(d);
	u32 state;

	*progress = 0;
	if (snapblk_revert_state(sn->o, d, &state, progress))
		return state;
	if (snapblk_snapshot_invalid(sn))
		return SNAPBLK_STATE_INVALID;
	return READ_ONCE(sn->s->nr_used) >= sn->s->data_chunks ?
	       SNAPBLK_STATE_FULL : SNAPBLK_STATE_ACTIVE;
}

static u32 snapblk_snapshot_on_full(struct snapblk_dev *d)
{
	struct snapblk_snapshot *sn = snapblk_dev_snapshot(d);
	struct snapblk_snapmeta *m = snapblk_exstore_snap(sn->s, sn->id);

	return m && (m->flags & SNAPBLK_SNAP_BLOCK_WRITES) ?
	       SNAPBLK_ON_FULL_BLOCK_WRITES : SNAPBLK_ON_FULL_INVALIDATE;
}

/* A snapshot being reverted to goes away only when the revert ends. */
static int snapblk_snapshot_check_remove(struct snapblk_dev *d)
{
	return snapblk_revert_holds(snapblk_dev_snapshot(d)->o, d) ? -EBUSY : 0;
}

static int snapblk_snapshot_revert(struct snapblk_dev *d)
{
	return snapblk_revert_start(d, false);
}

static int snapblk_snapshot_grow(struct snapblk_dev *d)
{
	struct snapblk_snapshot *sn = snapblk_dev_snapshot(d);
	int ret;

	snapblk_origin_freeze(sn->o);
	ret = snapblk_exstore_grow(sn->s);
	snapblk_origin_thaw(sn->o);
	return ret;
}

const struct snapblk_kind snapblk_snapshot_kind = {
	.kind		= SNAPBLK_KIND_SNAPSHOT,
	.name		= "snapshot",
	.features	= SNAPBLK_FEAT_SNAPSHOT | SNAPBLK_FEAT_REVERT |
			  SNAPBLK_FEAT_GROW,
	.check		= snapblk_snapshot_check,
	.build		= snapblk_snapshot_build,
	.resume		= snapblk_snapshot_resume,
	.teardown	= snapblk_snapshot_teardown,
	.submit		= snapblk_snapshot_dev_submit,
	.store		= snapblk_snapshot_store,
	.chunk_size	= snapblk_snapshot_chunk_size,
	.store_used	= snapblk_snapshot_store_used,
	.used_percent	= snapblk_snapshot_used_percent,
	.state		= snapblk_snapshot_state,
	.on_full	= snapblk_snapshot_on_full,
	.check_remove	= snapblk_snapshot_check_remove,
	.revert		= snapblk_snapshot_revert,
	.grow		= snapblk_snapshot_grow,
};
