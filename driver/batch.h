/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk batches: several bios in flight at once, waited for together.
 * Commit and revert move data with them in large requests.
 */
#ifndef SNAPBLK_BATCH_H
#define SNAPBLK_BATCH_H

#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/completion.h>

/**
 * struct snapblk_batch - bios in flight and how they ended.
 * @pending: bios not yet ended, plus one until snapblk_batch_wait().
 * @err: first error of a bio (blk_status_t as an errno), or 0.
 * @done: completed when @pending drops to zero.
 * @submit: sends each request: submit_bio(), unless the caller sets
 *	another after snapblk_batch_init().
 */
struct snapblk_batch {
	atomic_t pending;
	int err;
	struct completion done;
	void (*submit)(struct bio *bio);
};

/**
 * struct snapblk_mover - what a background copy (commit, revert) moves
 *	its batches with.
 * @wq: runs the copy (one work item, WQ_MEM_RECLAIM: writeback may wait
 *	for chunks it owns).
 * @max: chunks per batch.
 * @chunks: the chunks of the current batch.
 * @pages: buffer for @max chunks.
 */
struct snapblk_mover {
	struct workqueue_struct *wq;
	unsigned int max;
	u64 *chunks;
	struct page **pages;
};

int snapblk_mover_init(struct snapblk_mover *mv, unsigned int chunk_shift,
		       const char *what, int index);
void snapblk_mover_exit(struct snapblk_mover *mv);

void snapblk_batch_init(struct snapblk_batch *b);
void snapblk_batch_add(struct snapblk_batch *b, struct block_device *bdev,
		       sector_t sector, struct page **pages, unsigned int off,
		       unsigned int bytes, blk_opf_t opf);
int snapblk_batch_wait(struct snapblk_batch *b);
void snapblk_batch_yield(unsigned long *seen, unsigned long count,
			 unsigned long t0);

#endif /* SNAPBLK_BATCH_H */
