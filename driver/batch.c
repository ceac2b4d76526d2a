// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk batches.
 *
 * A batch sends bios of a buffer of single pages and lets the caller
 * wait for all of them at once, so that a copy keeps several large
 * requests in flight instead of one synchronous request at a time.
 */
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "batch.h"
#include "meta.h"

#define SNAPBLK_MOVE_BYTES	(4U << 20)	/* data moved per batch */

/**
 * snapblk_mover_init() - set up the means of a background copy.
 * @mv: the mover.
 * @chunk_shift: log2 of the chunk size in bytes.
 * @what: "commit" or "revert", for the worker's name.
 * @index: N of the /dev/snapblkN it works for.
 *
 * Return: 0 or -ENOMEM (nothing to undo).
 */
int snapblk_mover_init(struct snapblk_mover *mv, unsigned int chunk_shift,
		       const char *what, int index)
{
	mv->max = max(1U, SNAPBLK_MOVE_BYTES >> chunk_shift);
	mv->chunks = kcalloc(mv->max, sizeof(*mv->chunks), GFP_KERNEL);
	mv->pages = snapblk_pages_alloc(mv->max << chunk_shift);
	mv->wq = alloc_workqueue("snapblk%d-%s", WQ_MEM_RECLAIM | WQ_UNBOUND, 1,
				 index, what);
	if (mv->chunks && mv->pages && mv->wq)
		return 0;
	snapblk_mover_exit(mv);
	return -ENOMEM;
}

/**
 * snapblk_mover_exit() - free what snapblk_mover_init() set up.
 * @mv: the mover; its work does not run.
 */
void snapblk_mover_exit(struct snapblk_mover *mv)
{
	if (mv->wq)
		destroy_workqueue(mv->wq);
	snapblk_pages_free(mv->pages);
	kfree(mv->chunks);
	mv->wq = NULL;
	mv->pages = NULL;
	mv->chunks = NULL;
}

static void snapblk_batch_put(struct snapblk_batch *b)
{
	if (atomic_dec_and_test(&b->pending))
		complete(&b->done);
}

static void snapblk_batch_end_io(struct bio *bio)
{
	struct snapblk_batch *b = bio->bi_private;

	if (bio->bi_status)
		cmpxchg(&b->err, 0, blk_status_to_errno(bio->bi_status));
	bio_put(bio);
	snapblk_batch_put(b);
}

/**
 * snapblk_batch_init() - start an empty batch.
 * @b: the batch.
 */
void snapblk_batch_init(struct snapblk_batch *b)
{
	atomic_set(&b->pending, 1);
	b->err = 0;
	init_completion(&b->done);
	b->submit = submit_bio;
}

/**
 * snapblk_batch_add() - send one request of the batch.
 * @b: the batch.
 * @bdev: the device.
 * @sector: where on it.
 * @pages: a buffer of single pages (snapblk_pages_alloc()).
 * @off: byte offset in @pages where the request's data starts; a
 *	multiple of 512.
 * @bytes: length, a multiple of 512.
 * @opf: operation and flags.
 *
 * Process context; may sleep for memory.
 */
void snapblk_batch_add(struct snapblk_batch *b, struct block_device *bdev,
		       sector_t sector, struct page **pages, unsigned int off,
		       unsigned int bytes, blk_opf_t opf)
{
	unsigned int nr = DIV_ROUND_UP((off & ~PAGE_MASK) + bytes, PAGE_SIZE);
	struct bio *bio = bio_alloc(bdev, min_t(unsigned int, nr, BIO_MAX_VECS),
				    opf, GFP_NOIO);

	bio->bi_iter.bi_sector = sector;
	bio->bi_private = b;
	bio->bi_end_io = snapblk_batch_end_io;
	while (bytes) {
		unsigned int in = off & ~PAGE_MASK;
		unsigned int len = min_t(unsigned int, bytes, PAGE_SIZE - in);

		if (bio_add_page(bio, pages[off >> PAGE_SHIFT], len, in) != len) {
			struct bio *next = bio_alloc(bdev, BIO_MAX_VECS, opf,
						     GFP_NOIO);

			next->bi_iter.bi_sector = bio_end_sector(bio);
			next->bi_private = b;
			next->bi_end_io = snapblk_batch_end_io;
			bio_chain(bio, next);
			b->submit(bio);
			bio = next;
			continue;
		}
		off += len;
		bytes -= len;
	}
	atomic_inc(&b->pending);
	b->submit(bio);
}

/**
 * snapblk_batch_wait() - wait for every request of the batch.
 * @b: the batch; it is spent afterwards (snapblk_batch_init() again).
 *
 * Return: 0 or the errno of the first request that failed.
 */
int snapblk_batch_wait(struct snapblk_batch *b)
{
	snapblk_batch_put(b);
	wait_for_completion_io(&b->done);
	return b->err;
}

/**
 * snapblk_batch_yield() - let users' I/O go first after a batch.
 * @seen: the users' bio count at the last call; updated.
 * @count: the users' bio count now.
 * @t0: jiffies when the batch began.
 *
 * A background copy (commit, revert) calls this after each batch: if
 * users sent bios meanwhile, it sleeps as long as the batch took, so
 * that the copy takes at most about half of the device's time.
 */
void snapblk_batch_yield(unsigned long *seen, unsigned long count,
			 unsigned long t0)
{
	if (count == *seen)
		return;
	*seen = count;
	msleep(jiffies_to_msecs(jiffies - t0) + 1);
}
