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

#include "batch.h"

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
			submit_bio(bio);
			bio = next;
			continue;
		}
		off += len;
		bytes -= len;
	}
	atomic_inc(&b->pending);
	submit_bio(bio);
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
 * snapblk_batch_bio() - is @bio (or the rest of it, after a split) a
 *	request of a batch?
 * @bio: the bio.
 *
 * Snapblk devices that children read through refuse writes from users;
 * a commit writes into such a parent with batch requests.
 *
 * Return: true for a batch request.
 */
bool snapblk_batch_bio(struct bio *bio)
{
	return bio->bi_end_io == snapblk_batch_end_io;
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
