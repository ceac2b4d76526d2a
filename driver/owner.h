/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk chunk owners: one operation at a time changes a chunk's
 * mapping; bios that need the chunk meanwhile wait and are dispatched
 * again when the owner lets go.
 */
#ifndef SNAPBLK_OWNER_H
#define SNAPBLK_OWNER_H

#include <linux/bio.h>
#include <linux/hashtable.h>
#include <linux/mempool.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#define SNAPBLK_OWNER_HASH_BITS	8

/**
 * struct snapblk_owners - the chunks being changed, with their waiters.
 * @lock: guards @owned and @redrive.
 * @owned: struct snapblk_owner by chunk.
 * @pool: reserve of owner records.
 * @redrive: bios released by an owner, to be dispatched again.
 * @waiting: bios parked behind an owner or in @redrive.
 * @idle: woken when @waiting drops to zero.
 * @wq: runs @work.
 * @work: dispatches @redrive with @dispatch.
 * @dispatch: how a released bio is submitted again.
 */
struct snapblk_owners {
	/* guards owned and redrive */
	spinlock_t lock;
	DECLARE_HASHTABLE(owned, SNAPBLK_OWNER_HASH_BITS);
	mempool_t *pool;
	struct bio_list redrive;
	atomic_t waiting;
	wait_queue_head_t idle;
	struct workqueue_struct *wq;
	struct work_struct work;
	void (*dispatch)(struct bio *bio);
};

int snapblk_owners_init(struct snapblk_owners *ow, struct workqueue_struct *wq,
			void (*dispatch)(struct bio *bio));
void snapblk_owners_exit(struct snapblk_owners *ow);
bool snapblk_own(struct snapblk_owners *ow, u64 chunk, struct bio *bio);
bool snapblk_try_own(struct snapblk_owners *ow, u64 chunk);
bool snapblk_owned(struct snapblk_owners *ow, u64 chunk, unsigned int nr);
void snapblk_disown(struct snapblk_owners *ow, u64 chunk);

#endif /* SNAPBLK_OWNER_H */
