/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk overlay: the keep-original I/O path.
 *
 * An overlay never writes its parent (the base): writes go to its store,
 * reads of chunks it never wrote are remapped to the base.
 */
#ifndef SNAPBLK_OVERLAY_H
#define SNAPBLK_OVERLAY_H

#include <linux/bio.h>
#include <linux/hashtable.h>
#include <linux/mempool.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "store.h"

#define SNAPBLK_OV_HASH_BITS	8

/**
 * struct snapblk_overlay - an overlay's I/O state.
 * @store: the delta.
 * @base: the parent device (claimed by the owning snapblk_dev).
 * @bs: bio set for splits and clones; front pad holds struct snapblk_ov_io.
 * @lock: guards @owned, @flush_bios, @post_bios, @slow_bios, @redrive_bios.
 * @owned: chunks some operation owns (struct snapblk_ov_owner), with the
 *	bios waiting for them.
 * @owner_pool: reserve of owner records.
 * @flush_bios: bios that need a store commit before they run.
 * @post_bios: completed FUA writes that need a commit before they end.
 * @slow_bios: bios the worker must handle (partial first writes, zeroing).
 * @redrive_bios: bios released by an owner, to be dispatched again.
 * @wq: runs @flush_work, @slow_work and @redrive_work.
 * @flush_work: commits the store for @flush_bios and @post_bios.
 * @slow_work: handles @slow_bios one at a time (uses @granule_buf).
 * @redrive_work: dispatches @redrive_bios.
 * @granule_buf: one granule of memory for copy-ups.
 * @inflight: bios inside the overlay machinery (clones, queued bios).
 * @idle: woken when @inflight drops to zero.
 * @full: the store ran out of space.
 */
struct snapblk_overlay {
	struct snapblk_store store;
	struct block_device *base;
	struct bio_set bs;

	spinlock_t lock;
	DECLARE_HASHTABLE(owned, SNAPBLK_OV_HASH_BITS);
	mempool_t *owner_pool;
	struct bio_list flush_bios;
	struct bio_list post_bios;
	struct bio_list slow_bios;
	struct bio_list redrive_bios;

	struct workqueue_struct *wq;
	struct work_struct flush_work;
	struct work_struct slow_work;
	struct work_struct redrive_work;
	struct page *granule_buf;

	atomic_t inflight;
	wait_queue_head_t idle;
	bool full;
};

int snapblk_overlay_start(struct snapblk_overlay *ov, struct block_device *base,
			  int index);
void snapblk_overlay_stop(struct snapblk_overlay *ov);
void snapblk_overlay_submit(struct snapblk_overlay *ov, struct bio *bio);
int snapblk_overlay_grow(struct snapblk_overlay *ov);

#endif /* SNAPBLK_OVERLAY_H */
