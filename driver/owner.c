// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk chunk owners.
 *
 * An operation that changes the mapping of a chunk (a first write, a
 * copy-out, a discard) owns the chunk until the change is visible. A bio
 * that needs an owned chunk is parked on the owner and handed back to
 * the dispatcher, from a worker, when the owner lets go; it then sees
 * the new mapping.
 */
#include <linux/slab.h>

#include "inflight.h"
#include "owner.h"

#define SNAPBLK_OWNERS_RESERVE	64

/**
 * struct snapblk_owner - a chunk whose mapping is being changed.
 * @node: in snapblk_owners.owned.
 * @chunk: the chunk.
 * @waiters: bios for @chunk that arrived meanwhile.
 */
struct snapblk_owner {
	struct hlist_node node;
	u64 chunk;
	struct bio_list waiters;
};

static struct snapblk_owner *snapblk_owner_find(struct snapblk_owners *ow,
						u64 chunk)
{
	struct snapblk_owner *o;

	hash_for_each_possible(ow->owned, o, node, chunk)
		if (o->chunk == chunk)
			return o;
	return NULL;
}

/**
 * snapblk_own() - own @chunk for @bio, or park @bio behind its owner.
 * @ow: the owners.
 * @chunk: the chunk.
 * @bio: the bio that needs it.
 *
 * Process context (may sleep for memory).
 *
 * Return: true if the caller now owns @chunk; false if @bio was parked.
 */
bool snapblk_own(struct snapblk_owners *ow, u64 chunk, struct bio *bio)
{
	struct snapblk_owner *o, *new = mempool_alloc(ow->pool, GFP_NOIO);
	unsigned long flags;

	spin_lock_irqsave(&ow->lock, flags);
	o = snapblk_owner_find(ow, chunk);
	if (o) {
		atomic_inc(&ow->waiting);
		bio_list_add(&o->waiters, bio);
		spin_unlock_irqrestore(&ow->lock, flags);
		mempool_free(new, ow->pool);
		return false;
	}
	new->chunk = chunk;
	bio_list_init(&new->waiters);
	hash_add(ow->owned, &new->node, chunk);
	spin_unlock_irqrestore(&ow->lock, flags);
	return true;
}

/**
 * snapblk_try_own() - own @chunk for work that no bio waits on.
 * @ow: the owners.
 * @chunk: the chunk.
 *
 * Process context (may sleep for memory).
 *
 * Return: true if the caller now owns @chunk; false if it is owned.
 */
bool snapblk_try_own(struct snapblk_owners *ow, u64 chunk)
{
	struct snapblk_owner *new = mempool_alloc(ow->pool, GFP_NOIO);
	bool owned;

	spin_lock_irq(&ow->lock);
	owned = snapblk_owner_find(ow, chunk);
	if (!owned) {
		new->chunk = chunk;
		bio_list_init(&new->waiters);
		hash_add(ow->owned, &new->node, chunk);
	}
	spin_unlock_irq(&ow->lock);
	if (owned)
		mempool_free(new, ow->pool);
	return !owned;
}

/**
 * snapblk_owned() - is any of @nr chunks from @chunk owned?
 * @ow: the owners.
 * @chunk: the first chunk.
 * @nr: how many.
 *
 * Any context.
 *
 * Return: true if one of them is.
 */
bool snapblk_owned(struct snapblk_owners *ow, u64 chunk, unsigned int nr)
{
	unsigned long flags;
	bool found = false;

	spin_lock_irqsave(&ow->lock, flags);
	for (; nr && !found; nr--, chunk++)
		found = snapblk_owner_find(ow, chunk);
	spin_unlock_irqrestore(&ow->lock, flags);
	return found;
}

/**
 * snapblk_disown() - let go of @chunk; its waiters are dispatched again.
 * @ow: the owners.
 * @chunk: a chunk the caller owns.
 *
 * Any context.
 */
void snapblk_disown(struct snapblk_owners *ow, u64 chunk)
{
	struct snapblk_owner *o;
	unsigned long flags;
	bool redrive = false;

	spin_lock_irqsave(&ow->lock, flags);
	o = snapblk_owner_find(ow, chunk);
	if (o) {
		hash_del(&o->node);
		redrive = !bio_list_empty(&o->waiters);
		bio_list_merge(&ow->redrive, &o->waiters);
	}
	spin_unlock_irqrestore(&ow->lock, flags);
	if (WARN_ON_ONCE(!o))
		return;
	mempool_free(o, ow->pool);
	if (redrive)
		queue_work(ow->wq, &ow->work);
}

static void snapblk_owners_work(struct work_struct *work)
{
	struct snapblk_owners *ow = container_of(work, struct snapblk_owners, work);
	struct bio_list list;
	struct bio *bio;

	spin_lock_irq(&ow->lock);
	list = ow->redrive;
	bio_list_init(&ow->redrive);
	spin_unlock_irq(&ow->lock);
	while ((bio = bio_list_pop(&list))) {
		ow->dispatch(bio);
		snapblk_inflight_put(&ow->waiting, &ow->idle);
	}
}

/**
 * snapblk_owners_init() - set up an owner table.
 * @ow: the table.
 * @wq: where released bios are dispatched from.
 * @dispatch: how they are dispatched.
 *
 * Return: 0 or -ENOMEM.
 */
int snapblk_owners_init(struct snapblk_owners *ow, struct workqueue_struct *wq,
			void (*dispatch)(struct bio *bio))
{
	spin_lock_init(&ow->lock);
	hash_init(ow->owned);
	bio_list_init(&ow->redrive);
	atomic_set(&ow->waiting, 0);
	init_waitqueue_head(&ow->idle);
	INIT_WORK(&ow->work, snapblk_owners_work);
	ow->wq = wq;
	ow->dispatch = dispatch;
	ow->pool = mempool_create_kmalloc_pool(SNAPBLK_OWNERS_RESERVE,
					       sizeof(struct snapblk_owner));
	return ow->pool ? 0 : -ENOMEM;
}

/**
 * snapblk_owners_exit() - wait for parked bios, free the table.
 * @ow: the table; nothing may own a chunk any more.
 */
void snapblk_owners_exit(struct snapblk_owners *ow)
{
	snapblk_inflight_drain(&ow->waiting, &ow->idle);
	flush_work(&ow->work);
	mempool_destroy(ow->pool);
}
