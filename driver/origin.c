// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk origin: pass-through with copy-out before the first overwrite.
 *
 * Reads are remapped to the disk. Every write is cloned so the origin
 * knows when it ends: taking a snapshot freezes the origin (new writes
 * wait, writes in flight drain), so each write is wholly before or after
 * the snapshot.
 *
 * A write to chunk c needs a copy-out into store S when S holds a valid
 * snapshot newer than the last copy of c in S. The writer owns c, reads
 * it once from the disk and writes it to a free data chunk of every such
 * store; each store then records the version and commits (one commit
 * for all copy-outs that finished meanwhile). Only then, and once the
 * snapshot reads of c that still went to the disk have ended, does the
 * write reach the disk. A store that runs out of space applies the
 * snapshots' policy: invalidate them, or fail the write.
 */
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/hash.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "dev.h"
#include "event.h"
#include "inflight.h"
#include "origin.h"
#include "revert.h"

/**
 * struct snapblk_cow_part - the copy of one chunk into one store.
 * @node: in snapblk_exstore.cows while it waits for a commit.
 * @cow: the copy-out it belongs to.
 * @s: the store.
 * @ver: the version it adds (data chunk and snapshot run).
 */
struct snapblk_cow_part {
	struct list_head node;
	struct snapblk_cow *cow;
	struct snapblk_exstore *s;
	struct snapblk_ver ver;
};

/**
 * struct snapblk_cow - a held origin write and the copies it waits for.
 * @o: the origin.
 * @chunk: the origin chunk.
 * @bio: the write, within @chunk.
 * @work: reads the chunk and writes the copies.
 * @pending: parts not yet committed, plus one while @work runs.
 * @fail: the write must fail (a block-writes snapshot lacks space).
 * @done: without @bio (a revert copies the chunk back): completed at
 *	the end instead of sending a write.
 * @nr: parts in @parts.
 * @parts: one per store that needs the chunk.
 */
struct snapblk_cow {
	struct snapblk_origin *o;
	u64 chunk;
	struct bio *bio;
	struct work_struct work;
	atomic_t pending;
	bool fail;
	struct completion *done;
	unsigned int nr;
	struct snapblk_cow_part parts[];
};

/**
 * struct snapblk_origin_io - a clone sent to the disk on behalf of a bio.
 * @o: the origin.
 * @orig: the bio it serves.
 * @slot: for snapshot reads, the @reads slot it holds; else NULL.
 * @clone: the clone (front-padded by the bio set).
 */
struct snapblk_origin_io {
	struct snapblk_origin *o;
	struct bio *orig;
	atomic_t *slot;
	struct bio clone;
};

static void snapblk_origin_put_write(struct snapblk_origin *o)
{
	snapblk_inflight_put(&o->writes, &o->wait);
}

static atomic_t *snapblk_read_slot(struct snapblk_origin *o, u64 chunk)
{
	return &o->reads[hash_64(chunk, ilog2(SNAPBLK_READ_SLOTS))];
}

static void snapblk_origin_clone_done(struct bio *clone)
{
	struct snapblk_origin_io *io = container_of(clone, struct snapblk_origin_io,
						    clone);
	struct snapblk_origin *o = io->o;
	struct bio *orig = io->orig;
	atomic_t *slot = io->slot;

	if (clone->bi_status)
		orig->bi_status = clone->bi_status;
	bio_put(clone);
	bio_endio(orig);
	snapblk_inflight_put(slot ?: &o->writes, &o->wait);
}

/* Send @bio to the disk through a clone; @slot as in snapblk_origin_io. */
static void snapblk_origin_pass(struct snapblk_origin *o, struct bio *bio,
				atomic_t *slot)
{
	struct bio *clone = bio_alloc_clone(o->bdev, bio, GFP_NOIO, &o->bs);
	struct snapblk_origin_io *io = container_of(clone, struct snapblk_origin_io,
						    clone);

	io->o = o;
	io->orig = bio;
	io->slot = slot;
	clone->bi_end_io = snapblk_origin_clone_done;
	submit_bio_noacct(clone);
}

/**
 * snapblk_origin_redirect() - send @bio to @sector of @bdev through a
 *	clone, and drop one from @count when it ends.
 * @o: the origin.
 * @bio: the bio.
 * @bdev: where it goes.
 * @sector: where on @bdev.
 * @count: a counter the caller raised, dropped on @o->wait.
 */
void snapblk_origin_redirect(struct snapblk_origin *o, struct bio *bio,
			     struct block_device *bdev, sector_t sector,
			     atomic_t *count)
{
	struct bio *clone = bio_alloc_clone(bdev, bio, GFP_NOIO, &o->bs);
	struct snapblk_origin_io *io = container_of(clone, struct snapblk_origin_io,
						    clone);

	io->o = o;
	io->orig = bio;
	io->slot = count;
	clone->bi_iter.bi_sector = sector;
	clone->bi_end_io = snapblk_origin_clone_done;
	submit_bio_noacct(clone);
}

/* Does chunk @chunk need a copy into @s before it is overwritten? */
static bool snapblk_cow_needed(struct snapblk_exstore *s, u64 chunk, u32 *first,
			       u32 *last)
{
	u32 latest = READ_ONCE(s->latest);

	*first = snapblk_exstore_copied(s, chunk) + 1;
	*last = latest;
	return latest && *first <= latest;
}

static unsigned int snapblk_cow_count(struct snapblk_origin *o, u64 chunk)
{
	struct snapblk_exstore *s;
	unsigned int n = 0;
	u32 first, last;

	list_for_each_entry(s, &o->stores, node)
		n += snapblk_cow_needed(s, chunk, &first, &last);
	return n;
}

/* The copy-out is over: let the write go (or fail it). */
static void snapblk_cow_finish(struct snapblk_cow *cow)
{
	struct snapblk_origin *o = cow->o;
	atomic_t *slot = snapblk_read_slot(o, cow->chunk);
	struct bio *bio = cow->bio;

	/*
	 * Snapshot reads that went to the disk must not see the write. The
	 * version is recorded; pairs with snapblk_origin_read_origin().
	 */
	smp_mb();
	wait_event(o->wait, !atomic_read(slot));
	if (!bio) {
		/* the caller owns the chunk and frees @cow */
		complete(cow->done);
		return;
	}
	snapblk_disown(&o->owners, cow->chunk);
	if (cow->fail) {
		bio_io_error(bio);
		snapblk_origin_put_write(o);
	} else {
		snapblk_origin_pass(o, bio, NULL);
	}
	kfree(cow);
}

static void snapblk_cow_put(struct snapblk_cow *cow)
{
	if (atomic_dec_and_test(&cow->pending))
		snapblk_cow_finish(cow);
}

/*
 * A store could not keep the chunk: apply the snapshots' policy. With
 * block-writes the write fails and the snapshots stay intact; otherwise
 * the snapshots that needed the chunk become invalid.
 */
static void snapblk_cow_no_room(struct snapblk_cow_part *p)
{
	struct snapblk_exstore *s = p->s;
	bool block = false;
	u32 id;

	mutex_lock(&s->meta_lock);
	for (id = p->ver.first; id <= p->ver.last; id++) {
		struct snapblk_snapmeta *m = snapblk_exstore_snap(s, id);

		if (m && (m->flags & SNAPBLK_SNAP_BLOCK_WRITES) &&
		    !(m->flags & SNAPBLK_SNAP_INVALID))
			block = true;
	}
	mutex_unlock(&s->meta_lock);
	if (block) {
		p->cow->fail = true;
		return;
	}
	for (id = p->ver.first; id <= p->ver.last; id++)
		if (snapblk_exstore_invalidate(s, id) != -ENOENT)
			pr_warn("snapblk: snapshot %u of store %pg invalidated: store full or failing\n",
				id, s->dev.bdev);
	snapblk_event_kick();
}

static void snapblk_cow_queue_commit(struct snapblk_cow_part *p)
{
	struct snapblk_exstore *s = p->s;

	spin_lock(&s->cow_lock);
	list_add_tail(&p->node, &s->cows);
	spin_unlock(&s->cow_lock);
	queue_work(p->cow->o->wq, &s->commit_work);
}

/* Worker: read the chunk once, write it into each store that needs it. */
static void snapblk_cow_work(struct work_struct *work)
{
	struct snapblk_cow *cow = container_of(work, struct snapblk_cow, work);
	struct snapblk_origin *o = cow->o;
	unsigned int bytes = 1U << o->chunk_shift, noio, i;
	sector_t from = cow->chunk << (o->chunk_shift - SECTOR_SHIFT);
	struct page **buf;
	int ret;

	noio = memalloc_noio_save();
	bytes = min_t(u64, bytes, (o->sectors - from) << SECTOR_SHIFT);
	buf = snapblk_pages_alloc(1U << o->chunk_shift);
	ret = buf ? snapblk_sync_io_pages(o->bdev, from, buf, bytes, REQ_OP_READ)
		  : -ENOMEM;
	for (i = 0; i < cow->nr; i++) {
		struct snapblk_cow_part *p = &cow->parts[i];

		if (ret) {
			/* the old data cannot be read: nothing can keep it */
			cow->fail = true;
			break;
		}
		if (snapblk_exstore_alloc(p->s, &p->ver.loc) ||
		    snapblk_sync_io_pages(p->s->dev.bdev,
					  snapblk_exstore_sector(p->s, p->ver.loc),
					  buf, 1U << o->chunk_shift, REQ_OP_WRITE)) {
			snapblk_cow_no_room(p);
			continue;
		}
		atomic_inc(&cow->pending);
		snapblk_cow_queue_commit(p);
	}
	snapblk_pages_free(buf);
	memalloc_noio_restore(noio);
	snapblk_cow_put(cow);
}

/* Worker: record the versions copied into a store and commit them. */
static void snapblk_store_commit_work(struct work_struct *work)
{
	struct snapblk_exstore *s = container_of(work, struct snapblk_exstore,
						 commit_work);
	struct snapblk_cow_part *p, *tmp;
	unsigned int noio = memalloc_noio_save();
	LIST_HEAD(list);
	int ret;

	spin_lock(&s->cow_lock);
	list_splice_init(&s->cows, &list);
	spin_unlock(&s->cow_lock);
	list_for_each_entry_safe(p, tmp, &list, node) {
		if (snapblk_exstore_add_ver(s, p->cow->chunk, &p->ver)) {
			snapblk_exstore_free(s, p->ver.loc);
			snapblk_cow_no_room(p);
			list_del(&p->node);
			snapblk_cow_put(p->cow);
		}
	}
	ret = snapblk_exstore_commit(s);
	list_for_each_entry_safe(p, tmp, &list, node) {
		if (ret)
			snapblk_cow_no_room(p);
		snapblk_cow_put(p->cow);
	}
	memalloc_noio_restore(noio);
}

/* A copy-out of @chunk into the @n stores that need it, not started. */
static struct snapblk_cow *snapblk_cow_make(struct snapblk_origin *o,
					    struct bio *bio, u64 chunk,
					    unsigned int n)
{
	struct snapblk_exstore *s;
	struct snapblk_cow *cow;
	unsigned int i = 0;

	cow = kzalloc(struct_size(cow, parts, n), GFP_NOIO | __GFP_NOFAIL);
	cow->o = o;
	cow->chunk = chunk;
	cow->bio = bio;
	atomic_set(&cow->pending, 1);
	list_for_each_entry(s, &o->stores, node) {
		struct snapblk_cow_part *p = &cow->parts[i];

		if (i == n ||
		    !snapblk_cow_needed(s, chunk, &p->ver.first, &p->ver.last))
			continue;
		p->cow = cow;
		p->s = s;
		i++;
	}
	/* a snapshot may have become invalid meanwhile: fewer, never more */
	cow->nr = i;
	INIT_WORK(&cow->work, snapblk_cow_work);
	return cow;
}

/* An owned write to @chunk: start its copy-outs, or let it go. */
static void snapblk_origin_cow(struct snapblk_origin *o, struct bio *bio,
			       u64 chunk)
{
	unsigned int n = snapblk_cow_count(o, chunk);

	if (!n) {
		snapblk_disown(&o->owners, chunk);
		snapblk_origin_pass(o, bio, NULL);
		return;
	}
	queue_work(o->wq, &snapblk_cow_make(o, bio, chunk, n)->work);
}

/**
 * snapblk_origin_copy_out() - copy @chunk into every store that needs
 *	it before it is overwritten, and wait for that.
 * @o: the origin.
 * @chunk: a chunk the caller owns.
 *
 * Return: 0 once the copies are durable; -EIO if one could not be made
 * and a block-writes snapshot needed it.
 */
int snapblk_origin_copy_out(struct snapblk_origin *o, u64 chunk)
{
	DECLARE_COMPLETION_ONSTACK(done);
	unsigned int n = snapblk_cow_count(o, chunk);
	struct snapblk_cow *cow;
	int ret;

	if (!n)
		return 0;
	cow = snapblk_cow_make(o, NULL, chunk, n);
	cow->done = &done;
	queue_work(o->wq, &cow->work);
	wait_for_completion(&done);
	ret = cow->fail ? -EIO : 0;
	kfree(cow);
	return ret;
}

/* Hold @bio while the origin is frozen; false if it is not (any more). */
static bool snapblk_origin_hold(struct snapblk_origin *o, struct bio *bio)
{
	unsigned long flags;
	bool held = false;

	if (!READ_ONCE(o->frozen))
		return false;
	spin_lock_irqsave(&o->lock, flags);
	if (o->frozen) {
		bio_list_add(&o->frozen_bios, bio);
		held = true;
	}
	spin_unlock_irqrestore(&o->lock, flags);
	return held;
}

/**
 * snapblk_origin_front() - cut @bio at the end of its first chunk.
 * @o: the origin; it has snapshot stores.
 * @bio: the bio.
 *
 * Return: the first piece; the rest is submitted again.
 */
struct bio *snapblk_origin_front(struct snapblk_origin *o, struct bio *bio)
{
	sector_t cs = 1ULL << (o->chunk_shift - SECTOR_SHIFT);
	sector_t sector = bio->bi_iter.bi_sector;
	sector_t len = min_t(sector_t, bio_sectors(bio), cs - (sector & (cs - 1)));
	struct bio *split;

	if (len >= bio_sectors(bio))
		return bio;
	split = bio_split(bio, len, GFP_NOIO, &o->bs);
	bio_chain(split, bio);
	submit_bio_noacct(bio);
	return split;
}

static void snapblk_origin_write(struct snapblk_origin *o, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector;
	u64 chunk;

	atomic_inc(&o->writes);
	/* pairs with snapblk_origin_freeze(): it sees us, or we see frozen */
	smp_mb__after_atomic();
	if (snapblk_origin_hold(o, bio)) {
		snapblk_origin_put_write(o);
		return;
	}
	if (list_empty(&o->stores) || !bio_sectors(bio)) {
		snapblk_origin_pass(o, bio, NULL);
		return;
	}
	bio = snapblk_origin_front(o, bio);
	chunk = sector >> (o->chunk_shift - SECTOR_SHIFT);
	if (unlikely(READ_ONCE(o->revert)) &&
	    snapblk_revert_write(o->revert, bio, chunk))
		return;
	if (!snapblk_cow_count(o, chunk)) {
		snapblk_origin_pass(o, bio, NULL);
		return;
	}
	if (!snapblk_own(&o->owners, chunk, bio)) {
		/* dispatched again, with a write count of its own */
		snapblk_origin_put_write(o);
		return;
	}
	snapblk_origin_cow(o, bio, chunk);
}

/**
 * snapblk_origin_submit() - take a bio for the origin.
 * @o: the origin.
 * @bio: the bio.
 */
void snapblk_origin_submit(struct snapblk_origin *o, struct bio *bio)
{
	/* only a running revert looks at it: no shared line to write otherwise */
	if (unlikely(READ_ONCE(o->reverting)))
		WRITE_ONCE(o->nr_bios, o->nr_bios + 1);
	if (op_is_write(bio_op(bio)) || (bio->bi_opf & REQ_PREFLUSH)) {
		snapblk_origin_write(o, bio);
		return;
	}
	if (unlikely(READ_ONCE(o->revert)) && snapblk_revert_read(o->revert, bio))
		return;
	bio_set_dev(bio, o->bdev);
	submit_bio_noacct(bio);
}

/**
 * snapblk_origin_read_origin() - a snapshot read of a chunk the store
 *	does not hold: serve it from the disk, or from the store if a
 *	copy-out just recorded it.
 * @o: the origin.
 * @bio: the read, within one chunk.
 * @s: the snapshot's store.
 * @id: the snapshot.
 */
void snapblk_origin_read_origin(struct snapblk_origin *o, struct bio *bio,
				struct snapblk_exstore *s, u32 id)
{
	sector_t sector = bio->bi_iter.bi_sector;
	unsigned int css = o->chunk_shift - SECTOR_SHIFT;
	u64 chunk = sector >> css;
	atomic_t *slot = snapblk_read_slot(o, chunk);
	u32 loc;

	atomic_inc(slot);
	/*
	 * Pairs with the version being recorded before snapblk_cow_finish()
	 * waits for the slot: either it sees this read, or we see the copy.
	 */
	smp_mb__after_atomic();
	if (!snapblk_exstore_find(s, chunk, id, &loc)) {
		snapblk_origin_pass(o, bio, slot);
		return;
	}
	snapblk_inflight_put(slot, &o->wait);
	bio_set_dev(bio, s->dev.bdev);
	bio->bi_iter.bi_sector = snapblk_exstore_sector(s, loc) +
				 (sector & ((1ULL << css) - 1));
	submit_bio_noacct(bio);
}

/**
 * snapblk_origin_freeze() - hold new writes and wait for those in flight.
 * @o: the origin.
 *
 * Until snapblk_origin_thaw(), which the same task calls, its memory
 * allocations do no I/O.
 */
void snapblk_origin_freeze(struct snapblk_origin *o)
{
	/* a frozen origin cannot take writeback: no I/O from reclaim */
	o->noio = memalloc_noio_save();
	spin_lock_irq(&o->lock);
	o->frozen = true;
	spin_unlock_irq(&o->lock);
	/* pairs with snapblk_origin_write(): we see its count, or it sees us */
	smp_mb();
	snapblk_inflight_drain(&o->writes, &o->wait);
}

/**
 * snapblk_origin_thaw() - let writes in again, held ones first.
 * @o: the origin.
 */
void snapblk_origin_thaw(struct snapblk_origin *o)
{
	struct bio_list held;
	struct bio *bio;

	spin_lock_irq(&o->lock);
	o->frozen = false;
	held = o->frozen_bios;
	bio_list_init(&o->frozen_bios);
	spin_unlock_irq(&o->lock);
	while ((bio = bio_list_pop(&held)))
		snapblk_origin_write(o, bio);
	memalloc_noio_restore(o->noio);
}

/**
 * snapblk_origin_add_store() - copy-outs go to @s from now on.
 * @o: the origin, frozen.
 * @s: a loaded snapshot store with the origin's chunk size.
 */
void snapblk_origin_add_store(struct snapblk_origin *o, struct snapblk_exstore *s)
{
	INIT_WORK(&s->commit_work, snapblk_store_commit_work);
	o->chunk_shift = s->chunk_shift;
	list_add_tail(&s->node, &o->stores);
}

/**
 * snapblk_origin_del_store() - stop copying out to @s.
 * @o: the origin, frozen (no copy-out runs).
 * @s: the store.
 */
void snapblk_origin_del_store(struct snapblk_origin *o, struct snapblk_exstore *s)
{
	flush_work(&s->commit_work);
	list_del_init(&s->node);
	if (list_empty(&o->stores))
		o->chunk_shift = 0;
}

/**
 * snapblk_origin_enter() - count the caller as a write in the origin,
 *	once it is not frozen; taking a snapshot then waits for it.
 * @o: the origin.
 */
void snapblk_origin_enter(struct snapblk_origin *o)
{
	for (;;) {
		atomic_inc(&o->writes);
		/* pairs with snapblk_origin_freeze() */
		smp_mb__after_atomic();
		if (!READ_ONCE(o->frozen))
			return;
		snapblk_origin_put_write(o);
		usleep_range(1000, 2000);
	}
}

/**
 * snapblk_origin_leave() - end what snapblk_origin_enter() counted, or
 *	the count of a write that waits elsewhere.
 * @o: the origin.
 */
void snapblk_origin_leave(struct snapblk_origin *o)
{
	snapblk_origin_put_write(o);
}

/**
 * snapblk_origin_nr_stores() - how many snapshot stores are attached.
 * @o: the origin.
 *
 * Return: the count.
 */
unsigned int snapblk_origin_nr_stores(struct snapblk_origin *o)
{
	struct snapblk_exstore *s;
	unsigned int n = 0;

	list_for_each_entry(s, &o->stores, node)
		n++;
	return n;
}

/**
 * snapblk_origin_start() - set up the I/O path of an origin.
 * @o: the origin.
 * @bdev: the disk it wraps, claimed.
 * @index: N of /dev/snapblkN, for the worker's name.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_origin_start(struct snapblk_origin *o, struct block_device *bdev,
			 int index)
{
	int ret, i;

	o->bdev = bdev;
	o->sectors = bdev_nr_sectors(bdev);
	INIT_LIST_HEAD(&o->stores);
	atomic_set(&o->writes, 0);
	init_waitqueue_head(&o->wait);
	spin_lock_init(&o->lock);
	bio_list_init(&o->frozen_bios);
	for (i = 0; i < SNAPBLK_READ_SLOTS; i++)
		atomic_set(&o->reads[i], 0);
	ret = bioset_init(&o->bs, BIO_POOL_SIZE,
			  offsetof(struct snapblk_origin_io, clone),
			  BIOSET_NEED_RESCUER);
	if (ret)
		return ret;
	ret = -ENOMEM;
	o->wq = alloc_workqueue("snapblk%d", WQ_MEM_RECLAIM | WQ_UNBOUND, 0, index);
	if (!o->wq)
		goto undo_bioset;
	ret = snapblk_owners_init(&o->owners, o->wq, snapblk_dev_dispatch);
	if (ret)
		goto undo_wq;
	return 0;

undo_wq:
	destroy_workqueue(o->wq);
undo_bioset:
	bioset_exit(&o->bs);
	return ret;
}

/**
 * snapblk_origin_stop() - tear the I/O path down.
 * @o: the origin; no snapshot store is attached, no bio may arrive.
 */
void snapblk_origin_stop(struct snapblk_origin *o)
{
	int i;

	snapblk_inflight_drain(&o->writes, &o->wait);
	for (i = 0; i < SNAPBLK_READ_SLOTS; i++)
		snapblk_inflight_drain(&o->reads[i], &o->wait);
	snapblk_owners_exit(&o->owners);
	destroy_workqueue(o->wq);
	bioset_exit(&o->bs);
}
