/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk origin: the overwrite-original I/O path.
 *
 * An origin wraps a disk that keeps taking writes. Before an origin
 * chunk is first overwritten after a snapshot, its old contents are
 * copied into every snapshot store that still needs them, once per
 * store, and the write waits only for that chunk.
 */
#ifndef SNAPBLK_ORIGIN_H
#define SNAPBLK_ORIGIN_H

#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "exstore.h"
#include "owner.h"

#define SNAPBLK_READ_SLOTS	64

struct snapblk_revert;

/**
 * struct snapblk_origin - an origin's I/O state.
 * @bdev: the disk it wraps.
 * @sectors: its size.
 * @chunk_shift: log2 of the chunk size of its snapshot stores (bytes);
 *	0 while it has none.
 * @stores: its snapshot stores (struct snapblk_exstore.node); changed
 *	only while frozen and under the device registry lock.
 * @bs: bio set for clones and splits.
 * @wq: copy-outs, store commits and redrives.
 * @owners: chunks being copied out or written through a snapshot.
 * @writes: writes inside the origin (from submission to completion,
 *	including those held for a copy-out).
 * @wait: woken when @writes drops to zero, and when a slot of @reads
 *	does.
 * @lock: guards @frozen and @frozen_bios.
 * @frozen: writes are held in @frozen_bios (a snapshot is being taken
 *	or dropped).
 * @frozen_bios: writes that arrived while frozen.
 * @noio: memalloc_noio_save() cookie of the task that froze it.
 * @reads: snapshot reads served from the origin in flight, by chunk hash;
 *	a copy-out waits for its slot before the origin write goes on.
 * @nr_bios: bios users sent while @reverting (updated without
 *	atomicity: a revert only looks for a change, to yield to them).
 * @reverting: a revert's copy back runs (revert.c sets and clears it).
 * @revert: the revert of this origin, if one ran since it was made
 *	(revert.c); set under the device registry lock while frozen.
 */
struct snapblk_origin {
	struct block_device *bdev;
	sector_t sectors;
	unsigned int chunk_shift;
	struct list_head stores;
	struct bio_set bs;
	struct workqueue_struct *wq;
	struct snapblk_owners owners;
	atomic_t writes;
	wait_queue_head_t wait;
	/* guards frozen and frozen_bios */
	spinlock_t lock;
	bool frozen;
	struct bio_list frozen_bios;
	unsigned int noio;
	atomic_t reads[SNAPBLK_READ_SLOTS];
	unsigned long nr_bios;
	bool reverting;
	struct snapblk_revert *revert;
};

int snapblk_origin_start(struct snapblk_origin *o, struct block_device *bdev,
			 int index);
void snapblk_origin_stop(struct snapblk_origin *o);
void snapblk_origin_submit(struct snapblk_origin *o, struct bio *bio);
void snapblk_origin_freeze(struct snapblk_origin *o);
void snapblk_origin_thaw(struct snapblk_origin *o);
void snapblk_origin_add_store(struct snapblk_origin *o, struct snapblk_exstore *s);
void snapblk_origin_del_store(struct snapblk_origin *o, struct snapblk_exstore *s);
void snapblk_origin_read_origin(struct snapblk_origin *o, struct bio *bio,
				struct snapblk_exstore *s, u32 id);
unsigned int snapblk_origin_nr_stores(struct snapblk_origin *o);
int snapblk_origin_copy_out(struct snapblk_origin *o, u64 chunk);
void snapblk_origin_enter(struct snapblk_origin *o);
void snapblk_origin_leave(struct snapblk_origin *o);
struct bio *snapblk_origin_front(struct snapblk_origin *o, struct bio *bio);
void snapblk_origin_redirect(struct snapblk_origin *o, struct bio *bio,
			     struct block_device *bdev, sector_t sector,
			     atomic_t *count);

#endif /* SNAPBLK_ORIGIN_H */
