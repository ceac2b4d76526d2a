// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk revert: roll an origin back to a snapshot, online.
 *
 * From the moment the revert starts, the origin shows the snapshot: a
 * read of a chunk the snapshot keeps in its store and that is not yet
 * copied back is redirected there; a write to such a chunk waits until
 * the chunk is copied back, then goes to the disk like any write (so it
 * is kept). A worker copies the chunks back in batches: for each owned
 * chunk it first makes the copies other snapshots need of the origin's
 * current data (the origin's copy-out), then reads the snapshot's data
 * from the store and writes it to the disk with several requests in
 * flight, flushes the disk, marks the versions done and commits the
 * store. Only then may users' writes to those chunks go on.
 *
 * The store records the revert (the snapshot's REVERTING flag and the
 * versions' DONE marks), so attach resumes it after a crash, and a chunk
 * is never copied back over writes made after it was done. When every
 * chunk is done, the snapshot is deleted, which also drops the marks.
 */
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "batch.h"
#include "event.h"
#include "inflight.h"
#include "origin_dev.h"
#include "revert.h"
#include "snapshot_dev.h"

#define SNAPBLK_NO_LOC		U32_MAX

/**
 * struct snapblk_revert - the revert of an origin to one snapshot.
 * @o: the origin.
 * @origin_dev: the origin's device, for its events.
 * @s: the store of the snapshot.
 * @id: the snapshot's id in @s.
 * @snap_dev: the snapshot's device, until the revert has ended.
 * @mv: its worker and batch buffers.
 * @work: the copy back (snapblk_revert_work()).
 * @lock: guards @active, @running and @urgent.
 * @active: the origin shows the snapshot: reads and writes of chunks not
 *	yet copied back go through the revert.
 * @running: @work is queued or runs.
 * @urgent: users' writes to chunks not yet copied back, whose chunks
 *	they own; the next batch copies those chunks first.
 * @reads: origin reads redirected to the store, in flight.
 * @err: errno that stopped the last run, or 0.
 * @progress: percent done.
 * @total: chunks to copy back when the run started.
 * @done: chunks copied back since.
 * @cursor: next origin chunk the current pass looks at.
 * @nr: chunks owned in this batch (in @mv.chunks).
 * @locs: where the snapshot keeps them, or SNAPBLK_NO_LOC.
 * @bios: the urgent writes of this batch.
 * @seen: @o->nr_bios at the last batch, to notice users' I/O.
 */
struct snapblk_revert {
	struct snapblk_origin *o;
	struct snapblk_dev *origin_dev;
	struct snapblk_exstore *s;
	u32 id;
	struct snapblk_dev *snap_dev;
	struct snapblk_mover mv;
	struct work_struct work;

	/* guards active, running, urgent */
	spinlock_t lock;
	bool active;
	bool running;
	struct bio_list urgent;

	atomic_t reads;
	int err;
	unsigned int progress;
	u64 total;
	u64 done;
	u64 cursor;
	unsigned int nr;
	u32 *locs;
	struct bio_list bios;
	unsigned long seen;
};

static u64 snapblk_revert_nr_chunks(struct snapblk_revert *rv)
{
	return DIV_ROUND_UP_ULL(rv->o->sectors, 1ULL << rv->s->chunk_sects_shift);
}

static bool snapblk_revert_pending(struct snapblk_revert *rv, u64 chunk,
				   u32 *loc)
{
	return snapblk_exstore_revert_pending(rv->s, chunk, rv->id, loc);
}

/**
 * snapblk_revert_read() - an origin read while a revert may be active.
 * @rv: the origin's revert.
 * @bio: the read.
 *
 * Return: true if the revert took @bio; false if it goes to the disk.
 */
bool snapblk_revert_read(struct snapblk_revert *rv, struct bio *bio)
{
	struct snapblk_origin *o = rv->o;
	sector_t css, off;
	u64 chunk;
	u32 loc;

	if (!READ_ONCE(rv->active) || !bio_sectors(bio))
		return false;
	bio = snapblk_origin_front(o, bio);
	css = rv->s->chunk_sects_shift;
	chunk = bio->bi_iter.bi_sector >> css;
	off = bio->bi_iter.bi_sector & ((1ULL << css) - 1);
	atomic_inc(&rv->reads);
	/* pairs with snapblk_revert_finish(): it sees us, or we see it */
	smp_mb__after_atomic();
	if (READ_ONCE(rv->active) && snapblk_revert_pending(rv, chunk, &loc)) {
		snapblk_origin_redirect(o, bio, rv->s->dev.bdev,
					snapblk_exstore_sector(rv->s, loc) + off,
					&rv->reads);
		return true;
	}
	snapblk_inflight_put(&rv->reads, &o->wait);
	bio_set_dev(bio, o->bdev);
	submit_bio_noacct(bio);
	return true;
}

/**
 * snapblk_revert_write() - an origin write (within @chunk) while a
 *	revert may be active.
 * @rv: the origin's revert.
 * @bio: the write, counted in the origin's writes.
 * @chunk: its chunk.
 *
 * Return: true if the revert took @bio (it is dispatched again once its
 * chunk is copied back, or fails if the revert stopped); false if it
 * goes on as a plain origin write.
 */
bool snapblk_revert_write(struct snapblk_revert *rv, struct bio *bio, u64 chunk)
{
	struct snapblk_origin *o = rv->o;
	bool active, running;
	u32 loc;

	if (!READ_ONCE(rv->active) || !snapblk_revert_pending(rv, chunk, &loc))
		return false;
	if (!snapblk_own(&o->owners, chunk, bio)) {
		/* dispatched again, with a write count of its own */
		snapblk_origin_leave(o);
		return true;
	}
	spin_lock_irq(&rv->lock);
	active = rv->active;
	running = rv->running;
	if (active && running)
		bio_list_add(&rv->urgent, bio);
	spin_unlock_irq(&rv->lock);
	if (!active) {
		/* the revert ended meanwhile: a plain write */
		snapblk_disown(&o->owners, chunk);
		return false;
	}
	if (!running) {
		/* stopped: the chunk keeps the snapshot's data until a retry */
		snapblk_disown(&o->owners, chunk);
		bio_io_error(bio);
	}
	snapblk_origin_leave(o);
	return true;
}

/* Own the next chunks to copy back: users' urgent ones first. */
static bool snapblk_revert_pick(struct snapblk_revert *rv)
{
	u64 end = snapblk_revert_nr_chunks(rv);
	unsigned long idx = rv->cursor;
	struct bio *bio;
	u32 loc;

	rv->nr = 0;
	spin_lock_irq(&rv->lock);
	while (rv->nr < rv->mv.max && (bio = bio_list_pop(&rv->urgent))) {
		bio_list_add(&rv->bios, bio);
		rv->mv.chunks[rv->nr++] = bio->bi_iter.bi_sector >>
				       rv->s->chunk_sects_shift;
	}
	spin_unlock_irq(&rv->lock);
	while (rv->nr < rv->mv.max) {
		if (idx >= end || !xa_find(&rv->s->vers, &idx, end - 1, XA_PRESENT)) {
			rv->cursor = end;
			return false;
		}
		if (snapblk_revert_pending(rv, idx, &loc) &&
		    snapblk_try_own(&rv->o->owners, idx))
			rv->mv.chunks[rv->nr++] = idx;
		idx++;
	}
	rv->cursor = idx;
	return true;
}

/* Copy the snapshot's data of the batch's chunks to the disk. */
static int snapblk_revert_copy(struct snapblk_revert *rv)
{
	unsigned int cshift = rv->s->chunk_shift, css = rv->s->chunk_sects_shift;
	struct snapblk_batch b;
	unsigned int i;
	int ret;

	snapblk_batch_init(&b);
	for (i = 0; i < rv->nr; i++)
		if (rv->locs[i] != SNAPBLK_NO_LOC)
			snapblk_batch_add(&b, rv->s->dev.bdev,
					  snapblk_exstore_sector(rv->s, rv->locs[i]),
					  rv->mv.pages, i << cshift, 1U << cshift,
					  REQ_OP_READ);
	ret = snapblk_batch_wait(&b);
	if (ret)
		return ret;
	snapblk_batch_init(&b);
	for (i = 0; i < rv->nr; i++) {
		sector_t to = rv->mv.chunks[i] << css;

		if (rv->locs[i] == SNAPBLK_NO_LOC)
			continue;
		snapblk_batch_add(&b, rv->o->bdev, to, rv->mv.pages, i << cshift,
				  min_t(sector_t, 1ULL << css, rv->o->sectors - to)
				  << SECTOR_SHIFT, REQ_OP_WRITE);
	}
	return snapblk_batch_wait(&b);
}

/* Copy-outs for the other snapshots, then the copy back, then the marks. */
static int snapblk_revert_chunks(struct snapblk_revert *rv)
{
	unsigned int i, copied = 0;
	int ret = 0;

	for (i = 0; i < rv->nr && !ret; i++) {
		if (!snapblk_revert_pending(rv, rv->mv.chunks[i], &rv->locs[i])) {
			rv->locs[i] = SNAPBLK_NO_LOC;
			continue;
		}
		copied++;
		ret = snapblk_origin_copy_out(rv->o, rv->mv.chunks[i]);
	}
	if (ret || !copied)
		return ret;
	ret = snapblk_revert_copy(rv);
	if (!ret)
		ret = blkdev_issue_flush(rv->o->bdev);
	for (i = 0; i < rv->nr && !ret; i++)
		if (rv->locs[i] != SNAPBLK_NO_LOC)
			ret = snapblk_exstore_mark_done(rv->s, rv->mv.chunks[i],
							rv->locs[i]);
	if (!ret)
		ret = snapblk_exstore_commit(rv->s);
	if (!ret)
		rv->done += copied;
	return ret;
}

/* One batch: copy its chunks back, let go of them, release the writes. */
static int snapblk_revert_batch(struct snapblk_revert *rv)
{
	struct snapblk_origin *o = rv->o;
	struct bio *bio;
	unsigned int i;
	int ret;

	/* taking or dropping a snapshot waits for the batch */
	snapblk_origin_enter(o);
	ret = snapblk_revert_chunks(rv);
	snapblk_origin_leave(o);
	for (i = 0; i < rv->nr; i++)
		snapblk_disown(&o->owners, rv->mv.chunks[i]);
	while ((bio = bio_list_pop(&rv->bios))) {
		if (ret)
			bio_io_error(bio);
		else
			snapblk_dev_dispatch(bio);
	}
	return ret;
}

/* Chunks still to copy back. */
static u64 snapblk_revert_left(struct snapblk_revert *rv)
{
	struct snapblk_verlist *vl;
	unsigned long idx;
	u64 n = 0;
	u32 loc;

	xa_for_each(&rv->s->vers, idx, vl)
		n += snapblk_revert_pending(rv, idx, &loc);
	return n;
}

/* Nothing is left: the origin reads the disk again. False if something is. */
static bool snapblk_revert_deactivate(struct snapblk_revert *rv)
{
	bool done;

	if (snapblk_revert_left(rv))
		return false;
	spin_lock_irq(&rv->lock);
	done = bio_list_empty(&rv->urgent);
	if (done)
		rv->active = false;
	spin_unlock_irq(&rv->lock);
	return done;
}

/* Every chunk is back: wait for redirected reads, delete the snapshot. */
static int snapblk_revert_finish(struct snapblk_revert *rv)
{
	struct snapblk_dev *d = rv->snap_dev;
	int ret;

	/* pairs with snapblk_revert_read() */
	smp_mb();
	snapblk_inflight_drain(&rv->reads, &rv->o->wait);
	ret = snapblk_dev_remove_reverted(d);
	WRITE_ONCE(rv->snap_dev, NULL);
	WRITE_ONCE(rv->progress, 100);
	return ret;
}

static void snapblk_revert_progress(struct snapblk_revert *rv)
{
	WRITE_ONCE(rv->progress,
		   min_t(u64, 99, div64_u64(rv->done * 100, max(rv->total, 1ULL))));
}

/* Stopped by @err: fail the writes that waited, keep the redirection. */
static void snapblk_revert_stopped(struct snapblk_revert *rv, int err)
{
	struct bio_list urgent;
	struct bio *bio;

	pr_err("snapblk: revert of %pg stopped: error %d\n", rv->o->bdev, err);
	spin_lock_irq(&rv->lock);
	rv->err = err;
	rv->running = false;
	urgent = rv->urgent;
	bio_list_init(&rv->urgent);
	spin_unlock_irq(&rv->lock);
	while ((bio = bio_list_pop(&urgent))) {
		snapblk_disown(&rv->o->owners, bio->bi_iter.bi_sector >>
				rv->s->chunk_sects_shift);
		bio_io_error(bio);
	}
}

static void snapblk_revert_work(struct work_struct *work)
{
	struct snapblk_revert *rv = container_of(work, struct snapblk_revert,
						 work);
	unsigned int noio = memalloc_noio_save();
	int ret = 0;

	/* here, not when queued: the end of a run before clears it */
	WRITE_ONCE(rv->o->reverting, true);
	rv->done = 0;
	rv->cursor = 0;
	rv->total = snapblk_revert_left(rv);
	for (;;) {
		unsigned long t0 = jiffies;
		bool more = snapblk_revert_pick(rv);

		if (rv->nr) {
			ret = snapblk_revert_batch(rv);
			if (ret)
				break;
			snapblk_revert_progress(rv);
			/* writes that wait for the copy back must not wait more */
			if (bio_list_empty(&rv->urgent))
				snapblk_batch_yield(&rv->seen,
						    READ_ONCE(rv->o->nr_bios), t0);
			continue;
		}
		if (more)
			continue;
		if (snapblk_revert_deactivate(rv)) {
			ret = snapblk_revert_finish(rv);
			break;
		}
		/* chunks users own: let them finish */
		rv->cursor = 0;
		usleep_range(1000, 2000);
	}
	if (ret && READ_ONCE(rv->snap_dev)) {
		snapblk_dev_event(rv->snap_dev, SNAPBLK_EV_STOPPED);
		snapblk_dev_event(rv->origin_dev, SNAPBLK_EV_STOPPED);
		snapblk_revert_stopped(rv, ret);
	} else {
		snapblk_dev_event(rv->origin_dev, SNAPBLK_EV_REVERT_DONE);
		if (ret)
			pr_err("snapblk: revert of %pg: the snapshot was not deleted: error %d\n",
			       rv->o->bdev, ret);
		spin_lock_irq(&rv->lock);
		rv->running = false;
		spin_unlock_irq(&rv->lock);
	}
	WRITE_ONCE(rv->o->reverting, false);
	memalloc_noio_restore(noio);
}

static struct snapblk_revert *snapblk_revert_alloc(struct snapblk_dev *od,
						   unsigned int chunk_shift)
{
	struct snapblk_revert *rv = kzalloc(sizeof(*rv), GFP_KERNEL);

	if (!rv)
		return NULL;
	rv->o = snapblk_dev_origin(od);
	rv->origin_dev = od;
	spin_lock_init(&rv->lock);
	bio_list_init(&rv->urgent);
	bio_list_init(&rv->bios);
	atomic_set(&rv->reads, 0);
	INIT_WORK(&rv->work, snapblk_revert_work);
	if (snapblk_mover_init(&rv->mv, chunk_shift, "revert", od->index))
		goto undo_alloc;
	rv->locs = kcalloc(rv->mv.max, sizeof(*rv->locs), GFP_KERNEL);
	if (!rv->locs)
		goto undo_mover;
	return rv;

undo_mover:
	snapblk_mover_exit(&rv->mv);
undo_alloc:
	kfree(rv);
	return NULL;
}

static void snapblk_revert_run(struct snapblk_revert *rv)
{
	spin_lock_irq(&rv->lock);
	rv->running = true;
	rv->err = 0;
	spin_unlock_irq(&rv->lock);
	queue_work(rv->mv.wq, &rv->work);
}

/* Make the origin show snapshot @d through @rv. */
static int snapblk_revert_activate(struct snapblk_revert *rv,
				   struct snapblk_dev *d)
{
	struct snapblk_snapshot *sn = snapblk_dev_snapshot(d);
	struct snapblk_origin *o = sn->o;
	int ret;

	snapblk_origin_freeze(o);
	ret = snapblk_exstore_start_revert(sn->s, sn->id);
	if (!ret) {
		rv->s = sn->s;
		rv->id = sn->id;
		rv->snap_dev = d;
		rv->progress = 0;
		rv->active = true;
		WRITE_ONCE(o->revert, rv);
	}
	snapblk_origin_thaw(o);
	return ret;
}

/**
 * snapblk_revert_start() - SNAPBLK_IOC_REVERT: start (or resume, or
 *	retry) rolling the origin of snapshot @d back to it.
 * @d: the snapshot; the caller holds snapblk_devs_lock.
 * @resume: @d was just attached and its store records the revert: go on
 *	whatever the checks below say (the partition scan of the new disk
 *	may still hold it open).
 *
 * Return: 0 once the origin shows the snapshot; -EINVAL if @d is
 * invalid; -EBUSY if it is open or has children, a revert of its
 * origin runs, or overlays read through the origin (their views would
 * change); -ENOMEM;
 * or the errno of recording the revert.
 */
int snapblk_revert_start(struct snapblk_dev *d, bool resume)
{
	struct snapblk_snapshot *sn = snapblk_dev_snapshot(d);
	struct snapblk_revert *rv = sn->o->revert;
	int ret;

	if (rv && rv->snap_dev) {
		if (rv->snap_dev != d || READ_ONCE(rv->running))
			return -EBUSY;
		snapblk_revert_run(rv);	/* a retry after an error */
		return 0;
	}
	if (resume) {
		snapblk_refuse_opens(d, true);
	} else {
		if (snapblk_snapshot_invalid(sn))
			return -EINVAL;
		if (d->parent_dev->nr_readers)
			return -EBUSY;
		/* the snapshot goes away at the end: no opens, no children */
		ret = snapblk_close_opens(d);
		if (ret)
			return ret;
	}
	if (!rv) {
		rv = snapblk_revert_alloc(d->parent_dev, sn->s->chunk_shift);
		ret = -ENOMEM;
		if (!rv)
			goto undo_claim;
	}
	ret = snapblk_revert_activate(rv, d);
	if (ret)
		goto undo_claim;
	snapblk_revert_run(rv);
	return 0;

undo_claim:
	snapblk_refuse_opens(d, false);
	return ret;
}

/**
 * snapblk_revert_free() - free the revert state of an origin.
 * @o: the origin; it has no snapshots any more.
 */
void snapblk_revert_free(struct snapblk_origin *o)
{
	struct snapblk_revert *rv = o->revert;

	if (!rv)
		return;
	snapblk_mover_exit(&rv->mv);
	kfree(rv->locs);
	kfree(rv);
	o->revert = NULL;
}

/**
 * snapblk_revert_state() - the state of a revert of an origin.
 * @o: the origin.
 * @snap_dev: the snapshot device that asks, or NULL for the origin.
 * @state: out: SNAPBLK_STATE_REVERTING while it runs, or
 *	SNAPBLK_STATE_STOPPED after an error stopped it.
 * @progress: out (the origin, or the snapshot being reverted to): percent
 *	done of the running or last revert; untouched otherwise.
 *
 * Return: true if a revert of @o to @snap_dev (to any snapshot, for
 * NULL) has not ended.
 */
bool snapblk_revert_state(struct snapblk_origin *o, struct snapblk_dev *snap_dev,
			  u32 *state, u32 *progress)
{
	struct snapblk_revert *rv = READ_ONCE(o->revert);
	struct snapblk_dev *to;

	if (!rv)
		return false;
	to = READ_ONCE(rv->snap_dev);
	if (snap_dev && to != snap_dev)
		return false;
	*progress = READ_ONCE(rv->progress);
	if (!to)
		return false;
	*state = READ_ONCE(rv->running) ? SNAPBLK_STATE_REVERTING :
					  SNAPBLK_STATE_STOPPED;
	return true;
}

/**
 * snapblk_revert_holds() - has a revert of @o not ended?
 * @o: the origin.
 * @snap_dev: the snapshot device it must be reverting to, or NULL for any.
 *
 * Return: true if so: the snapshot it reverts to cannot be removed, nor
 * can its origin, nor can snapshots be taken of the origin.
 */
bool snapblk_revert_holds(struct snapblk_origin *o, struct snapblk_dev *snap_dev)
{
	struct snapblk_revert *rv = READ_ONCE(o->revert);
	struct snapblk_dev *to = rv ? READ_ONCE(rv->snap_dev) : NULL;

	return to && (!snap_dev || to == snap_dev);
}
