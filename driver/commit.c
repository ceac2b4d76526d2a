// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk commit: merge an overlay's delta into its parent, online.
 *
 * A worker walks the store's mapping in batches. For each batch it owns
 * the chunks (first writes and discards of them wait), waits for the
 * reads and writes already remapped to them (overlay.c counts those),
 * copies their valid granules, and zeroes for their zero granules, into
 * the parent with several requests in flight, flushes the parent, drops
 * the chunks from the mapping, waits for the reads that still used the
 * old mapping, and commits the store. Only then are the data chunks
 * free again, and the owners let go.
 *
 * The overlay shows its own view at every instant: a chunk reads from
 * the store until its data is durable in the parent, and from the
 * parent after. A crash at any point leaves a store that still maps
 * every chunk not yet merged, with the superblock in state COMMITTING,
 * and attach resumes the commit (copying a chunk twice is harmless).
 *
 * Writes go on during the commit; chunks they map again are merged by a
 * later pass. When little is left, new writes are held for the last
 * pass, so that the commit ends. The parent's fingerprint is then
 * recorded anew: the overlay is a fresh overlay of the updated parent.
 */
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "batch.h"
#include "commit.h"
#include "event.h"
#include "inflight.h"
#include "overlay_dev.h"

#define SNAPBLK_MERGE_HOLD_PASS	8		/* hold writes from this pass on */

/**
 * struct snapblk_merge - the commit of one overlay.
 * @dev: the overlay device, for its events.
 * @ov: the overlay's I/O state.
 * @parent: the device the delta goes to.
 * @mv: its worker and batch buffers.
 * @work: the merge (snapblk_merge_work()).
 * @stop: end after the current batch; the store keeps the commit.
 * @running: @work is queued or runs.
 * @err: errno that ended the last run early, or 0.
 * @progress: percent done.
 * @done: chunks merged by this run.
 * @cursor: next chunk the current pass looks at.
 * @nr: chunks owned in this batch (in @mv.chunks).
 * @entries: their entries.
 * @seen: @ov->nr_bios at the last batch, to notice users' I/O.
 */
struct snapblk_merge {
	struct snapblk_dev *dev;
	struct snapblk_overlay *ov;
	struct block_device *parent;
	struct snapblk_mover mv;
	struct work_struct work;
	bool stop;
	bool running;
	int err;
	unsigned int progress;
	u64 done;
	u64 cursor;
	unsigned int nr;
	u64 *entries;
	unsigned long seen;
};

/*
 * Own up to @max mapped chunks from the cursor. Chunks that users are
 * changing are left for a later pass. Return: false at the end of a pass.
 */
static bool snapblk_merge_pick(struct snapblk_merge *m)
{
	struct snapblk_store *st = &m->ov->store;
	unsigned long idx = m->cursor;

	m->nr = 0;
	while (m->nr < m->mv.max) {
		if (idx >= st->nr_chunks ||
		    !xa_find(&st->map, &idx, st->nr_chunks - 1, XA_PRESENT)) {
			m->cursor = st->nr_chunks;
			return m->nr;
		}
		if (snapblk_try_own(&m->ov->owners, idx))
			m->mv.chunks[m->nr++] = idx;
		idx++;
	}
	m->cursor = idx;
	return true;
}

/* Wait for the remapped I/O of the batch's chunks. */
static void snapblk_merge_drain(struct snapblk_merge *m)
{
	unsigned int i;

	/* pairs with snapblk_ov_slots_get(): it sees the owner, or we it */
	smp_mb();
	for (i = 0; i < m->nr; i++)
		wait_event(m->ov->io_wait,
			   !atomic_read(snapblk_overlay_slot(m->ov, m->mv.chunks[i])));
}

/* Zero granules @mask of the buffer of batch chunk @i. */
static void snapblk_merge_zero(struct snapblk_merge *m, unsigned int i,
			       unsigned long mask)
{
	struct snapblk_store *st = &m->ov->store;
	unsigned int gbytes = 1U << st->granule_shift, g, off;

	for_each_set_bit(g, &mask, SNAPBLK_E_MASK_BITS)
		for (off = 0; off < gbytes; off += PAGE_SIZE)
			clear_page(page_address(m->mv.pages[((i << st->geo.chunk_shift) +
							  g * gbytes + off) >> PAGE_SHIFT]));
}

/* Queue the writes of batch chunk @i into the parent: one per run. */
static void snapblk_merge_write_chunk(struct snapblk_merge *m,
				      struct snapblk_batch *b, unsigned int i)
{
	struct snapblk_store *st = &m->ov->store;
	u64 e = m->entries[i];
	unsigned long todo = snapblk_e_valid(e) | snapblk_e_zero(e);
	unsigned int gshift = st->granule_shift - SECTOR_SHIFT;
	sector_t start = m->mv.chunks[i] << st->chunk_sects_shift;
	unsigned int g = 0, end;

	snapblk_merge_zero(m, i, snapblk_e_zero(e));
	while ((g = find_next_bit(&todo, st->granules, g)) < st->granules) {
		sector_t from = start + ((sector_t)g << gshift);
		sector_t len;

		if (from >= st->geo.parent_sectors)
			break;
		end = find_next_zero_bit(&todo, st->granules, g);
		len = min_t(sector_t, (sector_t)(end - g) << gshift,
			    st->geo.parent_sectors - from);
		snapblk_batch_add(b, m->parent, from, m->mv.pages,
				  (i << st->geo.chunk_shift) +
				  (g << st->granule_shift),
				  len << SECTOR_SHIFT, REQ_OP_WRITE);
		g = end;
	}
}

/* Copy the batch's chunks into the parent. */
static int snapblk_merge_copy(struct snapblk_merge *m)
{
	struct snapblk_store *st = &m->ov->store;
	struct snapblk_batch b;
	unsigned int i;
	int ret;

	snapblk_batch_init(&b);
	for (i = 0; i < m->nr; i++) {
		u64 e = snapblk_store_lookup(st, m->mv.chunks[i]);

		m->entries[i] = e;
		if (snapblk_e_valid(e))
			snapblk_batch_add(&b, st->dev.bdev,
					  snapblk_store_sector(st, snapblk_e_chunk(e)),
					  m->mv.pages, i << st->geo.chunk_shift,
					  1U << st->geo.chunk_shift, REQ_OP_READ);
	}
	ret = snapblk_batch_wait(&b);
	if (ret)
		return ret;
	snapblk_batch_init(&b);
	/* the parent may be a snapblk disk that its children made read-only */
	b.submit = snapblk_dev_submit_own;
	for (i = 0; i < m->nr; i++)
		snapblk_merge_write_chunk(m, &b, i);
	return snapblk_batch_wait(&b);
}

/* Merge the owned chunks of the batch and let go of them. */
static int snapblk_merge_batch(struct snapblk_merge *m)
{
	struct snapblk_store *st = &m->ov->store;
	unsigned int i;
	int ret;

	snapblk_merge_drain(m);
	ret = snapblk_merge_copy(m);
	if (!ret)
		ret = blkdev_issue_flush(m->parent);
	if (!ret) {
		for (i = 0; i < m->nr; i++)
			snapblk_store_unmap(st, m->mv.chunks[i]);
		/* reads that found the old mapping still use the data chunks */
		snapblk_merge_drain(m);
		ret = snapblk_store_commit(st);
	}
	if (!ret) {
		m->done += m->nr;
		/* the freed data chunks take writes again */
		if (READ_ONCE(st->nr_used) < st->data_chunks)
			WRITE_ONCE(m->ov->full, false);
	}
	for (i = 0; i < m->nr; i++)
		snapblk_disown(&m->ov->owners, m->mv.chunks[i]);
	return ret;
}

static void snapblk_merge_progress(struct snapblk_merge *m)
{
	u64 left = READ_ONCE(m->ov->store.nr_used);

	WRITE_ONCE(m->progress,
		   min_t(u64, 99, div64_u64(m->done * 100, m->done + left + 1)));
}

/* Everything is merged: record the state and the updated parent. */
static int snapblk_merge_finish(struct snapblk_merge *m)
{
	struct snapblk_store *st = &m->ov->store;
	int ret = snapblk_store_commit(st);

	if (!ret)
		ret = snapblk_store_set_state(st, SNAPBLK_SB_STATE_ACTIVE,
					      snapblk_fingerprint(m->parent));
	if (ret)
		return ret;
	/* the parent's page cache predates the merge: readers see it now */
	invalidate_bdev(m->parent);
	WRITE_ONCE(m->progress, 100);
	return 0;
}

/* Hold writes for the last passes: when little is left, or late. */
static void snapblk_merge_pass_end(struct snapblk_merge *m, unsigned int pass)
{
	if (pass >= SNAPBLK_MERGE_HOLD_PASS ||
	    READ_ONCE(m->ov->store.nr_used) <= 2 * m->mv.max)
		snapblk_overlay_hold(m->ov, true);
	if (pass > SNAPBLK_MERGE_HOLD_PASS)
		usleep_range(1000, 2000);	/* chunks users own: let them end */
	m->cursor = 0;
}

static void snapblk_merge_work(struct work_struct *work)
{
	struct snapblk_merge *m = container_of(work, struct snapblk_merge, work);
	struct snapblk_overlay *ov = m->ov;
	unsigned int noio = memalloc_noio_save(), pass = 1;
	bool done = false;
	int ret = 0;

	m->done = 0;
	m->cursor = 0;
	WRITE_ONCE(ov->merging, true);
	while (!READ_ONCE(m->stop)) {
		unsigned long t0 = jiffies;

		if (snapblk_merge_pick(m)) {
			ret = snapblk_merge_batch(m);
			if (ret)
				break;
			snapblk_merge_progress(m);
			snapblk_batch_yield(&m->seen, READ_ONCE(ov->nr_bios), t0);
			continue;
		}
		if (xa_empty(&ov->store.map)) {
			ret = snapblk_merge_finish(m);
			done = !ret;
			break;
		}
		snapblk_merge_pass_end(m, pass++);
	}
	snapblk_overlay_hold(ov, false);
	WRITE_ONCE(ov->merging, false);
	if (ret)
		pr_err("snapblk: commit into %pg stopped: error %d\n",
		       m->parent, ret);
	WRITE_ONCE(m->err, ret);
	/* last: the state shown changes with it */
	smp_store_release(&m->running, false);
	if (ret)
		snapblk_dev_event(m->dev, SNAPBLK_EV_STOPPED);
	else if (done)
		snapblk_dev_event(m->dev, SNAPBLK_EV_COMMIT_DONE);
	memalloc_noio_restore(noio);
}

static struct snapblk_merge *snapblk_merge_alloc(struct snapblk_dev *d)
{
	struct snapblk_overlay *ov = snapblk_dev_overlay(d);
	struct snapblk_merge *m = kzalloc(sizeof(*m), GFP_KERNEL);

	if (!m)
		return NULL;
	m->dev = d;
	m->ov = ov;
	m->parent = d->parent_bdev;
	INIT_WORK(&m->work, snapblk_merge_work);
	if (snapblk_mover_init(&m->mv, ov->store.geo.chunk_shift, "commit",
			       d->index))
		goto undo_alloc;
	m->entries = kcalloc(m->mv.max, sizeof(*m->entries), GFP_KERNEL);
	if (!m->entries)
		goto undo_mover;
	return m;

undo_mover:
	snapblk_mover_exit(&m->mv);
undo_alloc:
	kfree(m);
	return NULL;
}

/**
 * snapblk_commit_start() - SNAPBLK_IOC_COMMIT: start (or resume, or
 *	retry) merging an overlay into its parent.
 * @d: the device; the caller holds snapblk_devs_lock.
 *
 * Return: 0 once the commit runs;
 * -EBUSY if a commit runs or another overlay reads the parent; -ENOMEM,
 * or the errno of recording the commit in the store.
 */
int snapblk_commit_start(struct snapblk_dev *d)
{
	struct snapblk_overlay *ov = snapblk_dev_overlay(d);
	struct snapblk_merge *m = ov->merge;
	int ret;

	/* pairs with the release at the end of snapblk_merge_work() */
	if ((m && smp_load_acquire(&m->running)) || snapblk_parent_shared(d))
		return -EBUSY;
	if (!m) {
		m = snapblk_merge_alloc(d);
		if (!m)
			return -ENOMEM;
		ov->merge = m;
	}
	if (ov->store.state != SNAPBLK_SB_STATE_COMMITTING) {
		ret = snapblk_store_set_state(&ov->store,
					      SNAPBLK_SB_STATE_COMMITTING,
					      ov->store.geo.parent_fp);
		if (ret)
			return ret;
	}
	m->stop = false;
	m->err = 0;
	m->progress = 0;
	m->running = true;
	queue_work(m->mv.wq, &m->work);
	return 0;
}

/**
 * snapblk_commit_stop() - end a running commit after its current batch.
 * @d: the overlay; it takes no more bios from users.
 *
 * The store keeps the commit: the next attach resumes it.
 */
void snapblk_commit_stop(struct snapblk_dev *d)
{
	struct snapblk_merge *m = snapblk_dev_overlay(d)->merge;

	if (!m)
		return;
	WRITE_ONCE(m->stop, true);
	flush_workqueue(m->mv.wq);
}

/**
 * snapblk_commit_free() - free what commits of @d used.
 * @d: the overlay; no commit runs.
 */
void snapblk_commit_free(struct snapblk_dev *d)
{
	struct snapblk_merge *m = snapblk_dev_overlay(d)->merge;

	if (!m)
		return;
	snapblk_mover_exit(&m->mv);
	kfree(m->entries);
	kfree(m);
	snapblk_dev_overlay(d)->merge = NULL;
}

/**
 * snapblk_commit_state() - the commit state of an overlay, if any.
 * @d: the overlay.
 * @state: out: SNAPBLK_STATE_COMMITTING while it runs, or
 *	SNAPBLK_STATE_STOPPED when the store holds a commit that does not
 *	run (an error stopped it, or it could not resume).
 * @progress: out: percent done of the running or last commit.
 *
 * Return: true if @state was set.
 */
bool snapblk_commit_state(struct snapblk_dev *d, u32 *state, u32 *progress)
{
	struct snapblk_merge *m = snapblk_dev_overlay(d)->merge;
	/* pairs with the release at the end of snapblk_merge_work() */
	bool running = m && smp_load_acquire(&m->running);

	*progress = m ? READ_ONCE(m->progress) : 0;
	if (running)
		*state = SNAPBLK_STATE_COMMITTING;
	else if (READ_ONCE(snapblk_dev_overlay(d)->store.state) == SNAPBLK_SB_STATE_COMMITTING)
		*state = SNAPBLK_STATE_STOPPED;
	else
		return false;
	return true;
}
