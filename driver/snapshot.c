// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk snapshot: reads and writes of a point-in-time view.
 *
 * A read of chunk c finds the snapshot's own copy, else the shared
 * version that serves it, else the origin disk (see origin.c for how
 * that read is kept safe from a racing copy-out). Writes go to a private
 * copy of the chunk in the store: the first write to a chunk copies it
 * from where the snapshot reads it, merges the new data and records the
 * copy, while owning the chunk so that no copy-out of it runs meanwhile.
 * Snapshot writes are rare (fsck, journal replay) and run in a worker.
 */
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/sched/mm.h>

#include "dev.h"
#include "inflight.h"
#include "snapshot.h"

static unsigned int snapblk_sn_css(struct snapblk_snapshot *sn)
{
	return sn->s->chunk_sects_shift;
}

/**
 * snapblk_snapshot_invalid() - is the snapshot unusable?
 * @sn: the snapshot.
 *
 * Return: true once its store could not keep a chunk it needed.
 */
bool snapblk_snapshot_invalid(struct snapblk_snapshot *sn)
{
	struct snapblk_snapmeta *m = snapblk_exstore_snap(sn->s, sn->id);

	return !m || (READ_ONCE(m->flags) & SNAPBLK_SNAP_INVALID);
}

static void snapblk_sn_put(struct snapblk_snapshot *sn)
{
	snapblk_inflight_put(&sn->inflight, &sn->idle);
}

static void snapblk_sn_queue(struct snapblk_snapshot *sn, struct bio_list *list,
			     struct bio *bio, struct work_struct *work)
{
	unsigned long flags;

	atomic_inc(&sn->inflight);
	spin_lock_irqsave(&sn->lock, flags);
	bio_list_add(list, bio);
	spin_unlock_irqrestore(&sn->lock, flags);
	queue_work(sn->o->wq, work);
}

static void snapblk_sn_take(struct snapblk_snapshot *sn, struct bio_list *from,
			    struct bio_list *to)
{
	spin_lock_irq(&sn->lock);
	bio_list_merge(to, from);
	bio_list_init(from);
	spin_unlock_irq(&sn->lock);
}

/* Cut @bio at the end of its first chunk; the rest is submitted again. */
static struct bio *snapblk_sn_front(struct snapblk_snapshot *sn, struct bio *bio)
{
	sector_t cs = 1ULL << snapblk_sn_css(sn);
	sector_t sector = bio->bi_iter.bi_sector;
	sector_t len = min_t(sector_t, bio_sectors(bio), cs - (sector & (cs - 1)));
	struct bio *split;

	if (len >= bio_sectors(bio))
		return bio;
	split = bio_split(bio, len, GFP_NOIO, &sn->o->bs);
	bio_chain(split, bio);
	submit_bio_noacct(bio);
	return split;
}

static void snapblk_sn_to_store(struct snapblk_snapshot *sn, struct bio *bio,
				u32 loc)
{
	sector_t off = bio->bi_iter.bi_sector & ((1ULL << snapblk_sn_css(sn)) - 1);

	bio_set_dev(bio, sn->s->dev.bdev);
	bio->bi_iter.bi_sector = snapblk_exstore_sector(sn->s, loc) + off;
	submit_bio_noacct(bio);
}

static void snapblk_sn_read(struct snapblk_snapshot *sn, struct bio *bio)
{
	u64 chunk;
	u32 loc;

	bio = snapblk_sn_front(sn, bio);
	chunk = bio->bi_iter.bi_sector >> snapblk_sn_css(sn);
	if (snapblk_exstore_find_private(sn->s, chunk, sn->id, &loc))
		snapblk_sn_to_store(sn, bio, loc);
	else
		snapblk_origin_read_origin(sn->o, bio, sn->s, sn->id);
}

static void snapblk_sn_write(struct snapblk_snapshot *sn, struct bio *bio)
{
	u64 chunk;
	u32 loc;

	bio = snapblk_sn_front(sn, bio);
	chunk = bio->bi_iter.bi_sector >> snapblk_sn_css(sn);
	if (!(bio->bi_opf & REQ_FUA) &&
	    snapblk_exstore_find_private(sn->s, chunk, sn->id, &loc)) {
		snapblk_sn_to_store(sn, bio, loc);
		return;
	}
	if (snapblk_own(&sn->o->owners, chunk, bio))
		snapblk_sn_queue(sn, &sn->writes, bio, &sn->write_work);
}

/* Copy the data of @bio into @buf at byte @off. */
static void snapblk_sn_merge(struct page **buf, struct bio *bio, unsigned int off)
{
	struct bio_vec bv;
	struct bvec_iter iter;

	bio_for_each_segment(bv, bio, iter) {
		unsigned int done = 0;

		while (done < bv.bv_len) {
			unsigned int in = (off + done) & ~PAGE_MASK;
			unsigned int n = min(bv.bv_len - done, (unsigned int)PAGE_SIZE - in);
			void *src = bvec_kmap_local(&bv);

			memcpy(page_address(buf[(off + done) >> PAGE_SHIFT]) + in,
			       src + done, n);
			kunmap_local(src);
			done += n;
		}
		off += bv.bv_len;
	}
}

/*
 * The first write of a chunk: copy what the snapshot shows into a new
 * data chunk, with the bio's data merged in, and record it as private.
 */
static int snapblk_sn_copy_write(struct snapblk_snapshot *sn, struct bio *bio,
				 u64 chunk)
{
	struct snapblk_exstore *s = sn->s;
	unsigned int bytes = 1U << s->chunk_shift;
	sector_t from = chunk << snapblk_sn_css(sn);
	struct snapblk_ver v = { .first = sn->id, .last = sn->id, .private = 1 };
	struct block_device *src = sn->o->bdev;
	struct page **buf;
	u32 loc;
	int ret;

	buf = snapblk_pages_alloc(bytes);
	if (!buf)
		return -ENOMEM;
	if (snapblk_exstore_find(s, chunk, sn->id, &loc)) {
		src = s->dev.bdev;
		from = snapblk_exstore_sector(s, loc);
	} else {
		bytes = min_t(u64, bytes, (sn->o->sectors - from) << SECTOR_SHIFT);
	}
	ret = snapblk_sync_io_pages(src, from, buf, bytes, REQ_OP_READ);
	if (!ret)
		ret = snapblk_exstore_alloc(s, &v.loc);
	if (ret)
		goto out;
	snapblk_sn_merge(buf, bio, (bio->bi_iter.bi_sector -
				    (chunk << snapblk_sn_css(sn))) << SECTOR_SHIFT);
	ret = snapblk_sync_io_pages(s->dev.bdev, snapblk_exstore_sector(s, v.loc),
				    buf, 1U << s->chunk_shift, REQ_OP_WRITE);
	if (!ret)
		ret = snapblk_exstore_add_ver(s, chunk, &v);
	if (ret)
		snapblk_exstore_free(s, v.loc);
out:
	snapblk_pages_free(buf);
	return ret;
}

/* Worker: an owned write; see snapblk_sn_copy_write(). */
static void snapblk_sn_write_owned(struct snapblk_snapshot *sn, struct bio *bio)
{
	u64 chunk = bio->bi_iter.bi_sector >> snapblk_sn_css(sn);
	struct bio *clone;
	u32 loc;
	int ret;

	if (snapblk_exstore_find_private(sn->s, chunk, sn->id, &loc)) {
		clone = bio_alloc_clone(sn->s->dev.bdev, bio, GFP_NOIO, &sn->o->bs);
		clone->bi_opf &= ~REQ_FUA;
		clone->bi_iter.bi_sector = snapblk_exstore_sector(sn->s, loc) +
			(bio->bi_iter.bi_sector & ((1ULL << snapblk_sn_css(sn)) - 1));
		ret = submit_bio_wait(clone);
		bio_put(clone);
	} else {
		ret = snapblk_sn_copy_write(sn, bio, chunk);
	}
	snapblk_disown(&sn->o->owners, chunk);
	if (!ret && (bio->bi_opf & REQ_FUA))
		ret = snapblk_exstore_commit(sn->s);
	if (ret)
		bio->bi_status = BLK_STS_IOERR;
	bio_endio(bio);
}

static void snapblk_sn_write_work(struct work_struct *work)
{
	struct snapblk_snapshot *sn = container_of(work, struct snapblk_snapshot,
						   write_work);
	struct bio_list list = BIO_EMPTY_LIST;
	unsigned int noio = memalloc_noio_save();
	struct bio *bio;

	snapblk_sn_take(sn, &sn->writes, &list);
	while ((bio = bio_list_pop(&list))) {
		snapblk_sn_write_owned(sn, bio);
		snapblk_sn_put(sn);
	}
	memalloc_noio_restore(noio);
}

static void snapblk_sn_dispatch(struct snapblk_snapshot *sn, struct bio *bio)
{
	if (snapblk_snapshot_invalid(sn)) {
		bio_io_error(bio);
		return;
	}
	switch (bio_op(bio)) {
	case REQ_OP_READ:
		snapblk_sn_read(sn, bio);
		return;
	case REQ_OP_WRITE:
		if (!bio_sectors(bio)) {
			bio_endio(bio);
			return;
		}
		snapblk_sn_write(sn, bio);
		return;
	default:
		bio->bi_status = BLK_STS_NOTSUPP;
		bio_endio(bio);
	}
}

/* Worker: one store commit for the flushes queued so far. */
static void snapblk_sn_flush_work(struct work_struct *work)
{
	struct snapblk_snapshot *sn = container_of(work, struct snapblk_snapshot,
						   flush_work);
	struct bio_list list = BIO_EMPTY_LIST;
	unsigned int noio = memalloc_noio_save();
	struct bio *bio;
	int ret;

	snapblk_sn_take(sn, &sn->flushes, &list);
	ret = snapblk_exstore_commit(sn->s);
	while ((bio = bio_list_pop(&list))) {
		bio->bi_opf &= ~REQ_PREFLUSH;
		if (ret) {
			bio->bi_status = errno_to_blk_status(ret);
			bio_endio(bio);
		} else if (!bio_sectors(bio)) {
			bio_endio(bio);
		} else {
			snapblk_sn_dispatch(sn, bio);
		}
		snapblk_sn_put(sn);
	}
	memalloc_noio_restore(noio);
}

/**
 * snapblk_snapshot_submit() - take a bio for a snapshot device.
 * @sn: the snapshot.
 * @bio: the bio.
 */
void snapblk_snapshot_submit(struct snapblk_snapshot *sn, struct bio *bio)
{
	if (bio->bi_opf & REQ_PREFLUSH) {
		snapblk_sn_queue(sn, &sn->flushes, bio, &sn->flush_work);
		return;
	}
	snapblk_sn_dispatch(sn, bio);
}

/**
 * snapblk_snapshot_start() - set up the I/O path of a snapshot device.
 * @sn: the snapshot.
 * @o: its origin.
 * @s: its store.
 * @id: its id in @s.
 */
void snapblk_snapshot_start(struct snapblk_snapshot *sn, struct snapblk_origin *o,
			    struct snapblk_exstore *s, u32 id)
{
	sn->o = o;
	sn->s = s;
	sn->id = id;
	spin_lock_init(&sn->lock);
	bio_list_init(&sn->writes);
	bio_list_init(&sn->flushes);
	INIT_WORK(&sn->write_work, snapblk_sn_write_work);
	INIT_WORK(&sn->flush_work, snapblk_sn_flush_work);
	atomic_set(&sn->inflight, 0);
	init_waitqueue_head(&sn->idle);
}

/**
 * snapblk_snapshot_stop() - wait for the snapshot's queued bios.
 * @sn: the snapshot; no new bio may arrive.
 */
void snapblk_snapshot_stop(struct snapblk_snapshot *sn)
{
	snapblk_inflight_drain(&sn->inflight, &sn->idle);
	flush_work(&sn->write_work);
	flush_work(&sn->flush_work);
}

/**
 * struct snapblk_sn_view - a snapshot seen by snapblk_fingerprint_view().
 * @o: the origin.
 * @s: the store.
 * @id: the snapshot.
 */
struct snapblk_sn_view {
	struct snapblk_origin *o;
	struct snapblk_exstore *s;
	u32 id;
};

static struct block_device *snapblk_sn_map(void *owner, sector_t *sector)
{
	struct snapblk_sn_view *v = owner;
	unsigned int css = v->s->chunk_sects_shift;
	u32 loc;

	if (!snapblk_exstore_lookup(v->s, *sector >> css, v->id, true, &loc))
		return v->o->bdev;
	*sector = snapblk_exstore_sector(v->s, loc) +
		  (*sector & ((1ULL << css) - 1));
	return v->s->dev.bdev;
}

/**
 * snapblk_snapshot_fingerprint() - fingerprint of the origin at the time
 *	snapshot @id was taken (what it shows, less its own writes).
 * @o: the origin, frozen (or the snapshot not yet taken).
 * @s: the store.
 * @id: the snapshot (a new id shows the origin as it is).
 *
 * Return: the fingerprint.
 */
u32 snapblk_snapshot_fingerprint(struct snapblk_origin *o,
				 struct snapblk_exstore *s, u32 id)
{
	struct snapblk_sn_view v = { .o = o, .s = s, .id = id };

	return snapblk_fingerprint_view(o->sectors, snapblk_sn_map, &v);
}
