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
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "owner.h"
#include "store.h"

#define SNAPBLK_OV_SLOTS	64

struct snapblk_merge;

/**
 * struct snapblk_overlay - an overlay's I/O state.
 * @store: the delta.
 * @base: the parent device (claimed by the owning snapblk_dev).
 * @bs: bio set for splits and clones; front pad holds struct snapblk_ov_io.
 * @lock: guards @flush_bios, @post_bios, @slow_bios, @hold and @held_bios.
 * @owners: chunks whose mapping is being changed, with bios waiting.
 * @flush_bios: bios that need a store commit before they run.
 * @post_bios: completed FUA writes that need a commit before they end.
 * @slow_bios: bios the worker must handle (partial first writes, zeroing).
 * @wq: runs @flush_work, @slow_work and the owners' redrive.
 * @flush_work: commits the store for @flush_bios and @post_bios.
 * @slow_work: handles @slow_bios one at a time (uses @granule_buf).
 * @granule_buf: one granule of memory for copy-ups.
 * @inflight: bios inside the overlay machinery (clones, queued bios).
 * @idle: woken when @inflight drops to zero.
 * @full: the store ran out of space.
 * @ios: reads and writes remapped to store chunks, in flight, by parent
 *	chunk hash; a commit drains a chunk's slot before it copies the
 *	chunk and before it frees its data chunk.
 * @io_wait: woken when a slot of @ios drops to zero.
 * @merging: a commit may own chunks: remapped writes check for owners.
 * @hold: new writes wait in @held_bios (the last pass of a commit).
 * @held_bios: writes held meanwhile.
 * @nr_bios: bios users sent (updated without atomicity: a commit only
 *	looks for a change, to yield to them).
 * @merge: the commit of this overlay, if one ran since it was built
 *	(commit.c); set and cleared under the device registry lock.
 */
struct snapblk_overlay {
	struct snapblk_store store;
	struct block_device *base;
	struct bio_set bs;

	/* guards flush_bios, post_bios, slow_bios, hold, held_bios */
	spinlock_t lock;
	struct snapblk_owners owners;
	struct bio_list flush_bios;
	struct bio_list post_bios;
	struct bio_list slow_bios;

	struct workqueue_struct *wq;
	struct work_struct flush_work;
	struct work_struct slow_work;
	struct page *granule_buf;

	atomic_t inflight;
	wait_queue_head_t idle;
	bool full;

	atomic_t ios[SNAPBLK_OV_SLOTS];
	wait_queue_head_t io_wait;
	bool merging;
	bool hold;
	struct bio_list held_bios;
	unsigned long nr_bios;
	struct snapblk_merge *merge;
};

int snapblk_overlay_start(struct snapblk_overlay *ov, struct block_device *base,
			  int index);
void snapblk_overlay_stop(struct snapblk_overlay *ov);
void snapblk_overlay_submit(struct snapblk_overlay *ov, struct bio *bio);
int snapblk_overlay_grow(struct snapblk_overlay *ov);
atomic_t *snapblk_overlay_slot(struct snapblk_overlay *ov, u64 chunk);
void snapblk_overlay_hold(struct snapblk_overlay *ov, bool hold);

#endif /* SNAPBLK_OVERLAY_H */
