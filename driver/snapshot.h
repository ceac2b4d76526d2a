/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk snapshot: the I/O path of a point-in-time view of an origin.
 */
#ifndef SNAPBLK_SNAPSHOT_H
#define SNAPBLK_SNAPSHOT_H

#include <linux/bio.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "exstore.h"
#include "origin.h"

/**
 * struct snapblk_snapshot - a snapshot device's I/O state.
 * @o: its origin.
 * @s: the store that holds it.
 * @id: its id in @s.
 * @lock: guards @writes and @flushes.
 * @writes: owned writes of chunks it has no copy of yet, and FUA writes.
 * @flushes: flushes waiting for a store commit.
 * @write_work: handles @writes.
 * @flush_work: handles @flushes.
 * @inflight: bios in @writes and @flushes.
 * @idle: woken when @inflight drops to zero.
 */
struct snapblk_snapshot {
	struct snapblk_origin *o;
	struct snapblk_exstore *s;
	u32 id;
	/* guards writes and flushes */
	spinlock_t lock;
	struct bio_list writes;
	struct bio_list flushes;
	struct work_struct write_work;
	struct work_struct flush_work;
	atomic_t inflight;
	wait_queue_head_t idle;
};

void snapblk_snapshot_start(struct snapblk_snapshot *sn, struct snapblk_origin *o,
			    struct snapblk_exstore *s, u32 id);
void snapblk_snapshot_stop(struct snapblk_snapshot *sn);
void snapblk_snapshot_submit(struct snapblk_snapshot *sn, struct bio *bio);
bool snapblk_snapshot_invalid(struct snapblk_snapshot *sn);
u32 snapblk_snapshot_fingerprint(struct snapblk_origin *o,
				 struct snapblk_exstore *s, u32 id);

#endif /* SNAPBLK_SNAPSHOT_H */
