// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk overlay: the keep-original I/O path.
 *
 * Reads are remapped, never copied: each bio is cut where its source
 * changes (base, store, or zeroes) and every piece goes straight to the
 * device that holds it. Writes to granules the store already holds are
 * remapped to the store. Any write that changes the mapping (first write
 * of a chunk or granule, discard, write-zeroes) first takes ownership of
 * its chunk; bios for an owned chunk wait behind the owner and are
 * dispatched again when it finishes. A first write that covers only part
 * of a granule is handled by a worker that copies the granule up from
 * the base before the write goes to the store.
 *
 * Flushes and FUA writes commit the store (store.c) from a worker, so
 * that one commit serves every flush that arrived while the previous one
 * ran.
 *
 * Reads and writes remapped to the store are counted by chunk while in
 * flight (@ios), so that a commit (commit.c) can own a chunk, wait for
 * them, and move the chunk into the parent without racing them.
 */
#include <linux/blkdev.h>
#include <linux/hash.h>
#include <linux/highmem.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "dev.h"
#include "event.h"
#include "inflight.h"
#include "overlay.h"

/* Where a run of sectors of the overlay reads from. */
enum snapblk_ov_src {
	SNAPBLK_SRC_BASE,
	SNAPBLK_SRC_STORE,
	SNAPBLK_SRC_ZERO,
};

/**
 * struct snapblk_ov_io - a bio on its way to the store.
 * @ov: the overlay.
 * @orig: the bio it serves; ends when the clone ends.
 * @chunk: the owned parent chunk; for a remap, the first chunk counted
 *	in @ov->ios.
 * @nr: for a remap, chunks counted in @ov->ios from @chunk.
 * @mask: granules that hold valid data once the write succeeds.
 * @clone: the bio sent to the store (front-padded by the bio set).
 */
struct snapblk_ov_io {
	struct snapblk_overlay *ov;
	struct bio *orig;
	u64 chunk;
	unsigned int nr;
	u16 mask;
	struct bio clone;
};

static void snapblk_ov_dispatch(struct snapblk_overlay *ov, struct bio *bio);

static sector_t snapblk_ov_chunk_sects(struct snapblk_overlay *ov)
{
	return (sector_t)1 << ov->store.chunk_sects_shift;
}

static unsigned int snapblk_ov_gshift(struct snapblk_overlay *ov)
{
	return ov->store.granule_shift - SECTOR_SHIFT;
}

static void snapblk_ov_put(struct snapblk_overlay *ov)
{
	snapblk_inflight_put(&ov->inflight, &ov->idle);
}

/**
 * snapblk_overlay_slot() - the @ios slot that counts I/O of @chunk.
 * @ov: the overlay.
 * @chunk: a parent chunk.
 *
 * Return: the slot.
 */
atomic_t *snapblk_overlay_slot(struct snapblk_overlay *ov, u64 chunk)
{
	return &ov->ios[hash_64(chunk, ilog2(SNAPBLK_OV_SLOTS))];
}

/* Count I/O to @nr chunks from @chunk; pairs with the commit's drain. */
static void snapblk_ov_slots_get(struct snapblk_overlay *ov, u64 chunk,
				 unsigned int nr)
{
	for (; nr; nr--, chunk++)
		atomic_inc(snapblk_overlay_slot(ov, chunk));
	/* the commit owns a chunk, then reads its slot: it sees us, or we it */
	smp_mb__after_atomic();
}

static void snapblk_ov_slots_put(struct snapblk_overlay *ov, u64 chunk,
				 unsigned int nr)
{
	for (; nr; nr--, chunk++)
		snapblk_inflight_put(snapblk_overlay_slot(ov, chunk), &ov->io_wait);
}

/* Chunks touched by @nr sectors from @sector. */
static unsigned int snapblk_ov_nr_chunks(struct snapblk_overlay *ov,
					 sector_t sector, sector_t nr)
{
	unsigned int shift = ov->store.chunk_sects_shift;

	return ((sector + nr - 1) >> shift) - (sector >> shift) + 1;
}

/* Hand @bio to a worker through @list. */
static void snapblk_ov_queue(struct snapblk_overlay *ov, struct bio_list *list,
			     struct bio *bio, struct work_struct *work)
{
	unsigned long flags;

	atomic_inc(&ov->inflight);
	spin_lock_irqsave(&ov->lock, flags);
	bio_list_add(list, bio);
	spin_unlock_irqrestore(&ov->lock, flags);
	queue_work(ov->wq, work);
}

static void snapblk_ov_take(struct snapblk_overlay *ov, struct bio_list *from,
			    struct bio_list *to)
{
	spin_lock_irq(&ov->lock);
	bio_list_merge(to, from);
	bio_list_init(from);
	spin_unlock_irq(&ov->lock);
}

/*
 * Granules of @chunk touched by [@off, @off + @len) (sectors within the
 * chunk), and those it covers entirely. A granule that reaches past the
 * end of the device counts as covered when the write reaches the end.
 */
static void snapblk_ov_masks(struct snapblk_overlay *ov, u64 chunk,
			     sector_t off, sector_t len, u16 *touched,
			     u16 *covered)
{
	unsigned int gshift = snapblk_ov_gshift(ov);
	sector_t cstart = chunk << ov->store.chunk_sects_shift;
	sector_t dev_end = ov->store.geo.parent_sectors - cstart;
	unsigned int first = off >> gshift, last = (off + len - 1) >> gshift;
	unsigned int g;

	*touched = GENMASK(last, first);
	*covered = 0;
	for (g = first; g <= last; g++) {
		sector_t gstart = (sector_t)g << gshift;
		sector_t gend = min(gstart + (1U << gshift), dev_end);

		if (off <= gstart && off + len >= gend)
			*covered |= BIT(g);
	}
}

/* Cut the first @len sectors off @bio; the rest is submitted again. */
static struct bio *snapblk_ov_front(struct snapblk_overlay *ov,
				    struct bio *bio, sector_t len)
{
	struct bio *split;

	if (len >= bio_sectors(bio))
		return bio;
	split = bio_split(bio, len, GFP_NOIO, &ov->bs);
	bio_chain(split, bio);
	submit_bio_noacct(bio);
	return split;
}

/* A read of the base or of zeroes (store I/O goes through a counted clone). */
static void snapblk_ov_remap(struct snapblk_overlay *ov, struct bio *bio,
			     enum snapblk_ov_src src, sector_t to)
{
	if (src == SNAPBLK_SRC_ZERO) {
		zero_fill_bio(bio);
		bio_endio(bio);
		return;
	}
	bio_set_dev(bio, ov->base);
	bio->bi_iter.bi_sector = to;
	submit_bio_noacct(bio);
}

static void snapblk_ov_remap_done(struct bio *clone)
{
	struct snapblk_ov_io *io = container_of(clone, struct snapblk_ov_io, clone);
	struct snapblk_overlay *ov = io->ov;
	struct bio *orig = io->orig;
	u64 chunk = io->chunk;
	unsigned int nr = io->nr;

	if (clone->bi_status)
		orig->bi_status = clone->bi_status;
	bio_put(clone);
	bio_endio(orig);
	snapblk_ov_slots_put(ov, chunk, nr);
}

/*
 * Send @bio to sector @to of the store through a clone that keeps the
 * @nr chunks from @chunk counted (the caller counted them) until it ends.
 */
static void snapblk_ov_remap_store(struct snapblk_overlay *ov, struct bio *bio,
				   sector_t to, u64 chunk, unsigned int nr)
{
	struct bio *clone = bio_alloc_clone(ov->store.dev.bdev, bio, GFP_NOIO,
					    &ov->bs);
	struct snapblk_ov_io *io = container_of(clone, struct snapblk_ov_io, clone);

	io->ov = ov;
	io->orig = bio;
	io->chunk = chunk;
	io->nr = nr;
	clone->bi_iter.bi_sector = to;
	clone->bi_end_io = snapblk_ov_remap_done;
	submit_bio_noacct(clone);
}

static enum snapblk_ov_src snapblk_ov_granule_src(u64 e, unsigned int g)
{
	if (snapblk_e_valid(e) & BIT(g))
		return SNAPBLK_SRC_STORE;
	if (snapblk_e_zero(e) & BIT(g))
		return SNAPBLK_SRC_ZERO;
	return SNAPBLK_SRC_BASE;
}

/*
 * Where the first sectors of [@sector, @sector + @nr) live (@src, @to)
 * and how many consecutive sectors live there.
 */
static sector_t snapblk_ov_read_extent(struct snapblk_overlay *ov,
				       sector_t sector, sector_t nr,
				       enum snapblk_ov_src *src, sector_t *to)
{
	struct snapblk_store *st = &ov->store;
	unsigned int shift = st->chunk_sects_shift, gshift = snapblk_ov_gshift(ov);
	unsigned long chunk = sector >> shift;
	u64 e = snapblk_store_lookup(st, chunk);
	sector_t off = sector & (snapblk_ov_chunk_sects(ov) - 1);
	unsigned int g, end;

	*src = SNAPBLK_SRC_BASE;
	*to = sector;
	if (!e) {
		unsigned long idx = chunk;

		if (!nr || !xa_find(&st->map, &idx, (sector + nr - 1) >> shift,
				    XA_PRESENT))
			return nr;
		return min_t(sector_t, nr, ((sector_t)idx << shift) - sector);
	}
	g = off >> gshift;
	*src = snapblk_ov_granule_src(e, g);
	for (end = g + 1; end < st->granules; end++)
		if (snapblk_ov_granule_src(e, end) != *src)
			break;
	if (*src == SNAPBLK_SRC_STORE)
		*to = snapblk_store_sector(st, snapblk_e_chunk(e)) + off;
	return min_t(sector_t, nr, ((sector_t)end << gshift) - off);
}

static void snapblk_ov_read(struct snapblk_overlay *ov, struct bio *bio)
{
	u64 chunk = bio->bi_iter.bi_sector >> ov->store.chunk_sects_shift;
	enum snapblk_ov_src src;
	sector_t to, len;

	/* a store extent lies within the first chunk */
	snapblk_ov_slots_get(ov, chunk, 1);
	len = snapblk_ov_read_extent(ov, bio->bi_iter.bi_sector,
				     bio_sectors(bio), &src, &to);
	bio = snapblk_ov_front(ov, bio, len);
	if (src == SNAPBLK_SRC_STORE) {
		snapblk_ov_remap_store(ov, bio, to, chunk, 1);
		return;
	}
	snapblk_ov_slots_put(ov, chunk, 1);
	snapblk_ov_remap(ov, bio, src, to);
}

/*
 * Length of the run from @sector that the store already holds, in
 * consecutive data chunks, so that a write there is a plain remap.
 */
static sector_t snapblk_ov_write_extent(struct snapblk_overlay *ov,
					sector_t sector, sector_t nr,
					sector_t *to)
{
	struct snapblk_store *st = &ov->store;
	sector_t cs = snapblk_ov_chunk_sects(ov);
	u64 chunk = sector >> st->chunk_sects_shift;
	sector_t off = sector & (cs - 1), len = 0;
	u32 prev = 0;

	while (nr) {
		sector_t piece = min(nr, cs - off);
		u64 e = snapblk_store_lookup(st, chunk);
		u16 touched, covered;

		if (!snapblk_e_chunk(e) ||
		    (prev && snapblk_e_chunk(e) != prev + 1))
			break;
		snapblk_ov_masks(ov, chunk, off, piece, &touched, &covered);
		if ((snapblk_e_valid(e) & touched) != touched)
			break;
		if (!prev)
			*to = snapblk_store_sector(st, snapblk_e_chunk(e)) + off;
		prev = snapblk_e_chunk(e);
		len += piece;
		nr -= piece;
		off = 0;
		chunk++;
	}
	return len;
}

/* End an owned bio with an error, giving the chunk up. */
static void snapblk_ov_fail(struct snapblk_overlay *ov, struct bio *bio,
			    u64 chunk, int err)
{
	if (err == -ENOSPC && !READ_ONCE(ov->full)) {
		WRITE_ONCE(ov->full, true);
		snapblk_event_kick();
	}
	snapblk_disown(&ov->owners, chunk);
	bio->bi_status = BLK_STS_IOERR;
	bio_endio(bio);
}

static void snapblk_ov_write_done(struct bio *clone)
{
	struct snapblk_ov_io *io = container_of(clone, struct snapblk_ov_io, clone);
	struct snapblk_overlay *ov = io->ov;
	struct bio *orig = io->orig;
	u64 chunk = io->chunk;
	u16 mask = io->mask;

	if (!clone->bi_status) {
		u64 e = snapblk_store_lookup(&ov->store, chunk);
		u64 n = snapblk_e_make(snapblk_e_chunk(e),
				       snapblk_e_valid(e) | mask,
				       snapblk_e_zero(e) & ~mask);

		if (n != e)
			snapblk_store_update(&ov->store, chunk, n);
	} else {
		orig->bi_status = clone->bi_status;
	}
	bio_put(clone);
	snapblk_disown(&ov->owners, chunk);
	bio_endio(orig);
	snapblk_ov_put(ov);
}

/* Send an owned write (within one chunk) to the store chunk of @e. */
static void snapblk_ov_write_clone(struct snapblk_overlay *ov, struct bio *bio,
				   u64 chunk, u64 e, u16 mask)
{
	sector_t off = bio->bi_iter.bi_sector & (snapblk_ov_chunk_sects(ov) - 1);
	struct snapblk_ov_io *io;
	struct bio *clone;

	clone = bio_alloc_clone(ov->store.dev.bdev, bio, GFP_NOIO, &ov->bs);
	io = container_of(clone, struct snapblk_ov_io, clone);
	io->ov = ov;
	io->orig = bio;
	io->chunk = chunk;
	io->mask = mask;
	clone->bi_iter.bi_sector =
		snapblk_store_sector(&ov->store, snapblk_e_chunk(e)) + off;
	clone->bi_end_io = snapblk_ov_write_done;
	atomic_inc(&ov->inflight);
	submit_bio_noacct(clone);
}

/* Mapping state of the owned chunk under @bio: entry and granule masks. */
static u64 snapblk_ov_owned_state(struct snapblk_overlay *ov, struct bio *bio,
				  u64 *chunk, u16 *touched, u16 *covered)
{
	sector_t sector = bio->bi_iter.bi_sector;

	*chunk = sector >> ov->store.chunk_sects_shift;
	snapblk_ov_masks(ov, *chunk, sector & (snapblk_ov_chunk_sects(ov) - 1),
			 bio_sectors(bio), touched, covered);
	return snapblk_store_lookup(&ov->store, *chunk);
}

/* An owned write: give the chunk store space, copy up or send it. */
static void snapblk_ov_write_owned(struct snapblk_overlay *ov, struct bio *bio)
{
	u16 touched, covered;
	u64 chunk, e;
	int ret;

	e = snapblk_ov_owned_state(ov, bio, &chunk, &touched, &covered);
	if (!snapblk_e_chunk(e)) {
		ret = snapblk_store_map_new(&ov->store, chunk, &e);
		if (ret) {
			snapblk_ov_fail(ov, bio, chunk, ret);
			return;
		}
	}
	if (touched & ~covered & ~snapblk_e_valid(e)) {
		snapblk_ov_queue(ov, &ov->slow_bios, bio, &ov->slow_work);
		return;
	}
	snapblk_ov_write_clone(ov, bio, chunk, e, touched);
}

static void snapblk_ov_fua_done(struct bio *clone)
{
	struct snapblk_ov_io *io = container_of(clone, struct snapblk_ov_io, clone);
	struct snapblk_overlay *ov = io->ov;
	struct bio *orig = io->orig;
	blk_status_t status = clone->bi_status;

	bio_put(clone);
	if (status) {
		orig->bi_status = status;
		bio_endio(orig);
	} else {
		snapblk_ov_queue(ov, &ov->post_bios, orig, &ov->flush_work);
	}
	snapblk_ov_put(ov);
}

/*
 * A write to granules the store holds: remap it there (counted), and
 * return true. False if it needs an owner (first write, or a commit owns
 * the chunk).
 */
static bool snapblk_ov_write_remap(struct snapblk_overlay *ov, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector, nr = bio_sectors(bio);
	u64 chunk = sector >> ov->store.chunk_sects_shift;
	unsigned int n = snapblk_ov_nr_chunks(ov, sector, nr), used;
	sector_t to, len;

	snapblk_ov_slots_get(ov, chunk, n);
	if (READ_ONCE(ov->merging) && snapblk_owned(&ov->owners, chunk, n)) {
		snapblk_ov_slots_put(ov, chunk, n);
		return false;
	}
	len = snapblk_ov_write_extent(ov, sector, nr, &to);
	if (!len) {
		snapblk_ov_slots_put(ov, chunk, n);
		return false;
	}
	used = snapblk_ov_nr_chunks(ov, sector, len);
	snapblk_ov_slots_put(ov, chunk + used, n - used);
	bio = snapblk_ov_front(ov, bio, len);
	snapblk_ov_remap_store(ov, bio, to, chunk, used);
	return true;
}

/*
 * A FUA write runs as a plain write through the overlay; once it has
 * completed, a commit makes it and its mapping durable before it ends.
 */
static void snapblk_ov_write_fua(struct snapblk_overlay *ov, struct bio *bio)
{
	struct bio *clone = bio_alloc_clone(bio->bi_bdev, bio, GFP_NOIO, &ov->bs);
	struct snapblk_ov_io *io = container_of(clone, struct snapblk_ov_io, clone);

	io->ov = ov;
	io->orig = bio;
	clone->bi_opf &= ~REQ_FUA;
	clone->bi_end_io = snapblk_ov_fua_done;
	atomic_inc(&ov->inflight);
	submit_bio_noacct(clone);
}

static void snapblk_ov_write(struct snapblk_overlay *ov, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector, nr = bio_sectors(bio);
	sector_t cs = snapblk_ov_chunk_sects(ov);

	if (!nr) {
		bio_endio(bio);
		return;
	}
	if (bio->bi_opf & REQ_FUA) {
		snapblk_ov_write_fua(ov, bio);
		return;
	}
	if (snapblk_ov_write_remap(ov, bio))
		return;
	bio = snapblk_ov_front(ov, bio, min(nr, cs - (sector & (cs - 1))));
	if (snapblk_own(&ov->owners, sector >> ov->store.chunk_sects_shift, bio))
		snapblk_ov_write_owned(ov, bio);
}

/* Discard and write-zeroes: one chunk at a time, by the worker. */
static void snapblk_ov_zero(struct snapblk_overlay *ov, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector, cs = snapblk_ov_chunk_sects(ov);

	if (!bio_sectors(bio)) {
		bio_endio(bio);
		return;
	}
	bio = snapblk_ov_front(ov, bio,
			       min(bio_sectors(bio), cs - (sector & (cs - 1))));
	if (snapblk_own(&ov->owners, sector >> ov->store.chunk_sects_shift, bio))
		snapblk_ov_queue(ov, &ov->slow_bios, bio, &ov->slow_work);
}

/*
 * Copy granule @g of @chunk up into the store chunk of *@e, from the
 * base (or zeroes where it was discarded), and mark it valid.
 */
static int snapblk_ov_copy_up(struct snapblk_overlay *ov, u64 chunk, u64 *e,
			      unsigned int g)
{
	struct snapblk_store *st = &ov->store;
	unsigned int gshift = snapblk_ov_gshift(ov);
	unsigned int gbytes = 1U << st->granule_shift;
	sector_t from = (chunk << st->chunk_sects_shift) + ((sector_t)g << gshift);
	sector_t to = snapblk_store_sector(st, snapblk_e_chunk(*e)) +
		      ((sector_t)g << gshift);
	void *buf = page_address(ov->granule_buf);
	unsigned int bytes;
	int ret;

	memset(buf, 0, gbytes);
	if (!(snapblk_e_zero(*e) & BIT(g))) {
		bytes = min_t(u64, gbytes,
			      (st->geo.parent_sectors - from) << SECTOR_SHIFT);
		ret = snapblk_sync_io(ov->base, from, ov->granule_buf, bytes,
				      REQ_OP_READ);
		if (ret)
			return ret;
	}
	ret = snapblk_sync_io(st->dev.bdev, to, ov->granule_buf, gbytes,
			      REQ_OP_WRITE);
	if (ret)
		return ret;
	*e = snapblk_e_make(snapblk_e_chunk(*e), snapblk_e_valid(*e) | BIT(g),
			    snapblk_e_zero(*e) & ~BIT(g));
	snapblk_store_update(st, chunk, *e);
	return 0;
}

/* Copy up every granule in @mask that the store does not hold yet. */
static int snapblk_ov_copy_up_mask(struct snapblk_overlay *ov, u64 chunk,
				   u64 *e, u16 mask)
{
	unsigned long todo = mask & ~snapblk_e_valid(*e);
	unsigned int g;
	int ret;

	for_each_set_bit(g, &todo, SNAPBLK_E_MASK_BITS) {
		ret = snapblk_ov_copy_up(ov, chunk, e, g);
		if (ret)
			return ret;
	}
	return 0;
}

/* Worker: an owned write that covers part of a granule it never wrote. */
static void snapblk_ov_write_partial(struct snapblk_overlay *ov, struct bio *bio)
{
	u16 touched, covered;
	u64 chunk, e;
	int ret;

	e = snapblk_ov_owned_state(ov, bio, &chunk, &touched, &covered);
	ret = snapblk_ov_copy_up_mask(ov, chunk, &e, touched & ~covered);
	if (ret) {
		snapblk_ov_fail(ov, bio, chunk, ret);
		return;
	}
	snapblk_ov_write_clone(ov, bio, chunk, e, touched);
}

/* Zero the part of granules in @mask that [@off, @off + @len) touches. */
static int snapblk_ov_zero_partial(struct snapblk_overlay *ov, u64 e,
				   unsigned long mask, sector_t off, sector_t len)
{
	unsigned int gshift = snapblk_ov_gshift(ov), g;
	sector_t base = snapblk_store_sector(&ov->store, snapblk_e_chunk(e));
	int ret;

	for_each_set_bit(g, &mask, SNAPBLK_E_MASK_BITS) {
		sector_t s = max_t(sector_t, off, (sector_t)g << gshift);
		sector_t end = min_t(sector_t, off + len,
				     (sector_t)(g + 1) << gshift);

		ret = blkdev_issue_zeroout(ov->store.dev.bdev, base + s, end - s,
					   GFP_NOIO, BLKDEV_ZERO_NOUNMAP);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Worker: an owned discard or write-zeroes within one chunk. Covered
 * granules become zero granules (no I/O); partly covered ones are
 * copied up and the covered part is zeroed in the store.
 */
static void snapblk_ov_zero_owned(struct snapblk_overlay *ov, struct bio *bio)
{
	sector_t off = bio->bi_iter.bi_sector & (snapblk_ov_chunk_sects(ov) - 1);
	u16 touched, covered, partial;
	u64 chunk, e;
	int ret = 0;

	e = snapblk_ov_owned_state(ov, bio, &chunk, &touched, &covered);
	partial = touched & ~covered & ~snapblk_e_zero(e);
	if (partial && !snapblk_e_chunk(e))
		ret = snapblk_store_map_new(&ov->store, chunk, &e);
	if (!ret && partial)
		ret = snapblk_ov_copy_up_mask(ov, chunk, &e, partial);
	if (!ret && partial)
		ret = snapblk_ov_zero_partial(ov, e, partial, off, bio_sectors(bio));
	if (!ret)
		ret = snapblk_store_set(&ov->store, chunk,
					snapblk_e_make(snapblk_e_chunk(e),
						       snapblk_e_valid(e) & ~covered,
						       snapblk_e_zero(e) | covered));
	if (ret) {
		snapblk_ov_fail(ov, bio, chunk, ret);
		return;
	}
	snapblk_disown(&ov->owners, chunk);
	bio_endio(bio);
}

static void snapblk_ov_slow_work(struct work_struct *work)
{
	struct snapblk_overlay *ov = container_of(work, struct snapblk_overlay,
						  slow_work);
	struct bio_list list = BIO_EMPTY_LIST;
	unsigned int noio = memalloc_noio_save();
	struct bio *bio;

	snapblk_ov_take(ov, &ov->slow_bios, &list);
	while ((bio = bio_list_pop(&list))) {
		if (bio_op(bio) == REQ_OP_WRITE)
			snapblk_ov_write_partial(ov, bio);
		else
			snapblk_ov_zero_owned(ov, bio);
		snapblk_ov_put(ov);
	}
	memalloc_noio_restore(noio);
}

static void snapblk_ov_end_all(struct snapblk_overlay *ov, struct bio_list *list,
			       int err)
{
	struct bio *bio;

	while ((bio = bio_list_pop(list))) {
		if (err)
			bio->bi_status = errno_to_blk_status(err);
		bio_endio(bio);
		snapblk_ov_put(ov);
	}
}

/* Worker: one store commit for every flush and FUA write queued so far. */
static void snapblk_ov_flush_work(struct work_struct *work)
{
	struct snapblk_overlay *ov = container_of(work, struct snapblk_overlay,
						  flush_work);
	struct bio_list flush = BIO_EMPTY_LIST, post = BIO_EMPTY_LIST;
	unsigned int noio = memalloc_noio_save();
	struct bio *bio;
	int ret;

	snapblk_ov_take(ov, &ov->flush_bios, &flush);
	snapblk_ov_take(ov, &ov->post_bios, &post);
	ret = snapblk_store_commit(&ov->store);
	snapblk_ov_end_all(ov, &post, ret);
	while ((bio = bio_list_pop(&flush))) {
		bio->bi_opf &= ~REQ_PREFLUSH;
		if (ret) {
			bio->bi_status = errno_to_blk_status(ret);
			bio_endio(bio);
		} else if (!bio_sectors(bio)) {
			bio_endio(bio);
		} else {
			snapblk_ov_dispatch(ov, bio);
		}
		snapblk_ov_put(ov);
	}
	memalloc_noio_restore(noio);
}

static void snapblk_ov_dispatch(struct snapblk_overlay *ov, struct bio *bio)
{
	switch (bio_op(bio)) {
	case REQ_OP_READ:
		snapblk_ov_read(ov, bio);
		return;
	case REQ_OP_WRITE:
		snapblk_ov_write(ov, bio);
		return;
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		snapblk_ov_zero(ov, bio);
		return;
	default:
		bio->bi_status = BLK_STS_NOTSUPP;
		bio_endio(bio);
	}
}

/**
 * snapblk_overlay_submit() - take a bio for the overlay.
 * @ov: the overlay.
 * @bio: the bio, with sectors relative to the whole overlay disk.
 */
void snapblk_overlay_submit(struct snapblk_overlay *ov, struct bio *bio)
{
	/* only a commit looks at it: no shared line to write otherwise */
	if (unlikely(READ_ONCE(ov->merging)))
		WRITE_ONCE(ov->nr_bios, ov->nr_bios + 1);
	if (op_is_write(bio_op(bio)) && unlikely(READ_ONCE(ov->hold))) {
		spin_lock_irq(&ov->lock);
		if (ov->hold) {
			bio_list_add(&ov->held_bios, bio);
			spin_unlock_irq(&ov->lock);
			return;
		}
		spin_unlock_irq(&ov->lock);
	}
	if (bio->bi_opf & REQ_PREFLUSH) {
		snapblk_ov_queue(ov, &ov->flush_bios, bio, &ov->flush_work);
		return;
	}
	snapblk_ov_dispatch(ov, bio);
}

/**
 * snapblk_overlay_hold() - hold new writes, or let them in again.
 * @ov: the overlay.
 * @hold: true to hold them.
 */
void snapblk_overlay_hold(struct snapblk_overlay *ov, bool hold)
{
	struct bio_list held = BIO_EMPTY_LIST;
	struct bio *bio;

	spin_lock_irq(&ov->lock);
	ov->hold = hold;
	if (!hold) {
		bio_list_merge(&held, &ov->held_bios);
		bio_list_init(&ov->held_bios);
	}
	spin_unlock_irq(&ov->lock);
	while ((bio = bio_list_pop(&held)))
		snapblk_overlay_submit(ov, bio);
}

/**
 * snapblk_overlay_start() - set up the I/O path of an overlay.
 * @ov: the overlay; its store is open and loaded.
 * @base: the parent device.
 * @index: N of /dev/snapblkN, for the worker's name.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_overlay_start(struct snapblk_overlay *ov, struct block_device *base,
			  int index)
{
	int ret, i;

	ov->base = base;
	spin_lock_init(&ov->lock);
	bio_list_init(&ov->flush_bios);
	bio_list_init(&ov->post_bios);
	bio_list_init(&ov->slow_bios);
	INIT_WORK(&ov->flush_work, snapblk_ov_flush_work);
	INIT_WORK(&ov->slow_work, snapblk_ov_slow_work);
	atomic_set(&ov->inflight, 0);
	init_waitqueue_head(&ov->idle);
	for (i = 0; i < SNAPBLK_OV_SLOTS; i++)
		atomic_set(&ov->ios[i], 0);
	init_waitqueue_head(&ov->io_wait);
	bio_list_init(&ov->held_bios);

	ret = bioset_init(&ov->bs, BIO_POOL_SIZE,
			  offsetof(struct snapblk_ov_io, clone),
			  BIOSET_NEED_RESCUER);
	if (ret)
		return ret;
	ret = -ENOMEM;
	ov->granule_buf = alloc_pages(GFP_KERNEL,
				      get_order(1U << ov->store.granule_shift));
	if (!ov->granule_buf)
		goto undo_bioset;
	ov->wq = alloc_workqueue("snapblk%d", WQ_MEM_RECLAIM, 0, index);
	if (!ov->wq)
		goto undo_pages;
	ret = snapblk_owners_init(&ov->owners, ov->wq, snapblk_dev_dispatch);
	if (ret)
		goto undo_wq;
	return 0;

undo_wq:
	destroy_workqueue(ov->wq);
undo_pages:
	__free_pages(ov->granule_buf, get_order(1U << ov->store.granule_shift));
undo_bioset:
	bioset_exit(&ov->bs);
	return ret;
}

/**
 * snapblk_overlay_stop() - wait for the overlay's own I/O, tear it down.
 * @ov: the overlay; no new bios may arrive.
 */
void snapblk_overlay_stop(struct snapblk_overlay *ov)
{
	int i;

	snapblk_inflight_drain(&ov->inflight, &ov->idle);
	for (i = 0; i < SNAPBLK_OV_SLOTS; i++)
		snapblk_inflight_drain(&ov->ios[i], &ov->io_wait);
	snapblk_owners_exit(&ov->owners);
	destroy_workqueue(ov->wq);
	__free_pages(ov->granule_buf, get_order(1U << ov->store.granule_shift));
	bioset_exit(&ov->bs);
}

/**
 * snapblk_overlay_grow() - use space the store device gained.
 * @ov: the overlay.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_overlay_grow(struct snapblk_overlay *ov)
{
	int ret = snapblk_store_grow(&ov->store);

	if (!ret && READ_ONCE(ov->store.nr_used) < ov->store.data_chunks)
		WRITE_ONCE(ov->full, false);
	return ret;
}
