// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk store: format, load, allocate, commit.
 *
 * Everything read from the store device is untrusted: load checks each
 * field against the geometry it implies and refuses the store with
 * -EINVAL (or -EUCLEAN for a damaged table) before anything is used.
 *
 * Durability follows the block layer contract (see format.h): data
 * writes complete before their mapping is on disk; a commit snapshots
 * the dirty table blocks, flushes the data, writes the blocks into their
 * spare slots and flushes again.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/log2.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/snapblk.h>
#include <linux/vmalloc.h>

#include "event.h"
#include "meta.h"
#include "store.h"

/* Layout of a store on a device of @dev_sectors; fills the geometry. */
static int snapblk_store_layout(struct snapblk_store *st, sector_t dev_sectors)
{
	sector_t chunk_sects = 1ULL << st->chunk_sects_shift;
	sector_t table_end, data_sects;

	st->granule_shift = max_t(unsigned int, SNAPBLK_META_SHIFT,
				  st->geo.chunk_shift - 4);
	st->granules = 1U << (st->geo.chunk_shift - st->granule_shift);
	st->nr_chunks = DIV_ROUND_UP_ULL(st->geo.parent_sectors, chunk_sects);
	if (!st->nr_chunks ||
	    DIV_ROUND_UP_ULL(st->nr_chunks, SNAPBLK_TB_ENTRIES) > U32_MAX / 4)
		return -EINVAL;
	st->table_blocks = DIV_ROUND_UP_ULL(st->nr_chunks, SNAPBLK_TB_ENTRIES);
	table_end = SNAPBLK_TABLE_START +
		    (sector_t)st->table_blocks * 2 * SNAPBLK_META_SECTORS;
	st->data_start = round_up(table_end, chunk_sects);
	if (dev_sectors < st->data_start + chunk_sects)
		return -ENOSPC;
	data_sects = dev_sectors - st->data_start;
	st->data_chunks = min_t(u64, data_sects >> st->chunk_sects_shift,
				SNAPBLK_MAX_DATA_CHUNKS);
	st->store_sectors = dev_sectors;
	return 0;
}

static sector_t snapblk_tb_sector(void *owner, u32 block, unsigned int slot)
{
	return SNAPBLK_TABLE_START +
	       ((sector_t)block * 2 + slot) * SNAPBLK_META_SECTORS;
}

/* Build the image of table block @index from the map. */
static void snapblk_tb_build(void *owner, void *buf, u32 index, u64 gen)
{
	struct snapblk_store *st = owner;
	struct snapblk_disk_tb_header *h = buf;
	struct snapblk_disk_entry *ent = buf + sizeof(*h);
	u64 first = (u64)index * SNAPBLK_TB_ENTRIES;
	u64 last = min(first + SNAPBLK_TB_ENTRIES, st->nr_chunks) - 1;
	unsigned long idx;
	void *v;

	memset(buf, 0, SNAPBLK_META_BLOCK);
	xa_for_each_range(&st->map, idx, v, first, last) {
		u64 e = xa_to_value(v);

		ent[idx - first].chunk = cpu_to_le32(snapblk_e_chunk(e));
		ent[idx - first].valid = cpu_to_le16(snapblk_e_valid(e));
		ent[idx - first].zero = cpu_to_le16(snapblk_e_zero(e));
	}
	snapblk_tb_seal(st->crc_seed, buf, index, gen);
}

static int snapblk_store_alloc_maps(struct snapblk_store *st)
{
	st->dirty = bitmap_zalloc(st->table_blocks, GFP_KERNEL);
	st->table.slot = bitmap_zalloc(st->table_blocks, GFP_KERNEL);
	st->used = kvcalloc(BITS_TO_LONGS(st->data_chunks),
			    sizeof(unsigned long), GFP_KERNEL);
	st->freed = kvcalloc(BITS_TO_LONGS(st->data_chunks),
			     sizeof(unsigned long), GFP_KERNEL);
	if (!st->dirty || !st->table.slot || !st->used || !st->freed)
		return -ENOMEM;
	st->table.bdev = st->dev.bdev;
	st->table.nr_blocks = st->table_blocks;
	st->table.owner = st;
	st->table.sector = snapblk_tb_sector;
	st->table.build = snapblk_tb_build;
	return 0;
}

static void snapblk_store_init(struct snapblk_store *st)
{
	xa_init_flags(&st->map, XA_FLAGS_LOCK_IRQ);
	mutex_init(&st->commit_lock);
}

static void snapblk_sb_fill(struct snapblk_store *st, struct snapblk_disk_sb *sb)
{
	memset(sb, 0, SNAPBLK_META_BLOCK);
	sb->magic = cpu_to_le64(SNAPBLK_SB_MAGIC);
	sb->version = cpu_to_le32(SNAPBLK_FORMAT_VERSION);
	sb->generation = cpu_to_le64(st->sb_generation);
	sb->kind = cpu_to_le32(st->geo.kind);
	memcpy(sb->uuid, st->uuid, sizeof(sb->uuid));
	memcpy(sb->name, st->geo.name, sizeof(sb->name));
	sb->chunk_shift = cpu_to_le32(st->geo.chunk_shift);
	sb->granule_shift = cpu_to_le32(st->granule_shift);
	sb->parent_sectors = cpu_to_le64(st->geo.parent_sectors);
	sb->parent_fp = cpu_to_le32(st->geo.parent_fp);
	sb->state = cpu_to_le32(st->state);
	memcpy(sb->parent_uuid, st->geo.parent_uuid, sizeof(sb->parent_uuid));
	sb->store_sectors = cpu_to_le64(st->store_sectors);
	sb->nr_chunks = cpu_to_le64(st->nr_chunks);
	sb->table_blocks = cpu_to_le32(st->table_blocks);
	sb->entries_per_block = cpu_to_le32(SNAPBLK_TB_ENTRIES);
	sb->data_start = cpu_to_le64(st->data_start);
	sb->data_chunks = cpu_to_le64(st->data_chunks);
}

/* Write the superblock into the copy after the current one, durably. */
static int snapblk_store_write_sb(struct snapblk_store *st)
{
	struct page *page = alloc_page(GFP_NOIO);
	int ret;

	if (!page)
		return -ENOMEM;
	st->sb_generation++;
	snapblk_sb_fill(st, page_address(page));
	ret = snapblk_sb_write(st->dev.bdev, page, st->sb_generation);
	__free_page(page);
	return ret;
}

/**
 * snapblk_store_format() - make an empty store on @st->dev.
 * @st: store whose @dev is open; the rest is set up here.
 * @geo: what the store is for.
 *
 * Return: 0, -ENOSPC if the device is too small, or another errno.
 */
int snapblk_store_format(struct snapblk_store *st,
			 const struct snapblk_store_geo *geo)
{
	int ret;

	snapblk_store_init(st);
	st->geo = *geo;
	st->chunk_sects_shift = geo->chunk_shift - SECTOR_SHIFT;
	ret = snapblk_store_layout(st, bdev_nr_sectors(st->dev.bdev));
	if (ret)
		return ret;
	ret = snapblk_store_alloc_maps(st);
	if (ret)
		return ret;
	st->state = SNAPBLK_SB_STATE_ACTIVE;
	generate_random_uuid(st->uuid);
	st->crc_seed = snapblk_uuid_seed(st->uuid);
	/* both copies, so that no older store's superblock survives */
	ret = snapblk_store_write_sb(st);
	if (!ret)
		ret = snapblk_store_write_sb(st);
	return ret;
}

/* Check a superblock against the geometry it implies; fill @st from it. */
static int snapblk_sb_parse(struct snapblk_store *st,
			    struct snapblk_disk_sb *sb, u32 kind)
{
	sector_t dev_sectors = bdev_nr_sectors(st->dev.bdev);
	sector_t recorded = le64_to_cpu(sb->store_sectors);
	u32 shift = le32_to_cpu(sb->chunk_shift);
	int ret;

	if (le32_to_cpu(sb->version) != SNAPBLK_FORMAT_VERSION)
		return -EPROTONOSUPPORT;
	st->state = le32_to_cpu(sb->state);
	if (sb->flags || le32_to_cpu(sb->kind) != kind ||
	    (st->state != SNAPBLK_SB_STATE_ACTIVE &&
	     st->state != SNAPBLK_SB_STATE_COMMITTING) ||
	    shift < ilog2(SNAPBLK_CHUNK_MIN) || shift > ilog2(SNAPBLK_CHUNK_MAX) ||
	    !snapblk_name_valid(sb->name, sizeof(sb->name)) ||
	    recorded > dev_sectors ||
	    le32_to_cpu(sb->entries_per_block) != SNAPBLK_TB_ENTRIES ||
	    memchr_inv(sb->reserved, 0, sizeof(sb->reserved)))
		return -EINVAL;

	st->geo.kind = kind;
	st->geo.chunk_shift = shift;
	st->geo.parent_sectors = le64_to_cpu(sb->parent_sectors);
	st->geo.parent_fp = le32_to_cpu(sb->parent_fp);
	memcpy(st->geo.parent_uuid, sb->parent_uuid, sizeof(sb->parent_uuid));
	memcpy(st->geo.name, sb->name, sizeof(sb->name));
	memcpy(st->uuid, sb->uuid, sizeof(st->uuid));
	st->crc_seed = snapblk_uuid_seed(st->uuid);
	st->sb_generation = le64_to_cpu(sb->generation);
	st->chunk_sects_shift = shift - SECTOR_SHIFT;

	/* recompute the layout for the recorded size; it must agree */
	ret = snapblk_store_layout(st, recorded);
	if (ret)
		return -EINVAL;
	if (le32_to_cpu(sb->granule_shift) != st->granule_shift ||
	    le64_to_cpu(sb->nr_chunks) != st->nr_chunks ||
	    le32_to_cpu(sb->table_blocks) != st->table_blocks ||
	    le64_to_cpu(sb->data_start) != st->data_start ||
	    le64_to_cpu(sb->data_chunks) != st->data_chunks)
		return -EINVAL;
	return 0;
}

/* Take the entries of a table block into the map; -EUCLEAN if insane. */
static int snapblk_tb_parse(struct snapblk_store *st, void *buf, u32 index)
{
	struct snapblk_disk_entry *ent = buf + sizeof(struct snapblk_disk_tb_header);
	u16 full = (1U << st->granules) - 1;
	u64 first = (u64)index * SNAPBLK_TB_ENTRIES;
	unsigned int i;
	int ret;

	for (i = 0; i < SNAPBLK_TB_ENTRIES; i++) {
		u32 c = le32_to_cpu(ent[i].chunk);
		u16 valid = le16_to_cpu(ent[i].valid);
		u16 zero = le16_to_cpu(ent[i].zero);

		if (!c && !valid && !zero)
			continue;
		if (first + i >= st->nr_chunks || (valid & zero) ||
		    (valid | zero) & ~full || (!c && valid) ||
		    c > st->data_chunks)
			return -EUCLEAN;
		if (c) {
			if (test_bit(c - 1, st->used))
				return -EUCLEAN;
			__set_bit(c - 1, st->used);
			st->nr_used++;
		}
		ret = xa_err(xa_store_irq(&st->map, first + i,
					  xa_mk_value(snapblk_e_make(c, valid, zero)),
					  GFP_KERNEL));
		if (ret)
			return ret;
	}
	return 0;
}

static int snapblk_tb_load(struct snapblk_store *st, struct page *p0,
			   struct page *p1, u32 index)
{
	struct page *cur;
	int ret;

	ret = snapblk_table_read(&st->table, st->crc_seed, index, p0, p1, &cur);
	if (ret || !cur)
		return ret;
	return snapblk_tb_parse(st, page_address(cur), index);
}

/**
 * snapblk_store_load() - open an existing store on @st->dev.
 * @st: store whose @dev is open.
 * @kind: the kind of device that wants it.
 *
 * Return: 0; -EINVAL if it is not a valid store of @kind;
 * -EPROTONOSUPPORT for an unknown version; -EUCLEAN for a damaged
 * table; or an I/O errno.
 */
int snapblk_store_load(struct snapblk_store *st, u32 kind)
{
	struct page *p0 = alloc_page(GFP_KERNEL);
	struct page *p1 = alloc_page(GFP_KERNEL);
	u32 i;
	int ret = -ENOMEM;

	snapblk_store_init(st);
	if (!p0 || !p1)
		goto out;
	ret = snapblk_sb_read(st->dev.bdev, p0);
	if (ret)
		goto out;
	ret = snapblk_sb_parse(st, page_address(p0), kind);
	if (ret)
		goto out;
	ret = snapblk_store_alloc_maps(st);
	for (i = 0; !ret && i < st->table_blocks; i++) {
		ret = snapblk_tb_load(st, p0, p1, i);
		cond_resched();
	}
	if (ret)
		snapblk_store_release(st);
out:
	if (p0)
		__free_page(p0);
	if (p1)
		__free_page(p1);
	return ret;
}

/**
 * snapblk_store_release() - free the memory of a store (not the device).
 * @st: the store.
 */
void snapblk_store_release(struct snapblk_store *st)
{
	xa_destroy(&st->map);
	bitmap_free(st->dirty);
	bitmap_free(st->table.slot);
	kvfree(st->used);
	kvfree(st->freed);
	st->dirty = NULL;
	st->table.slot = NULL;
	st->used = NULL;
	st->freed = NULL;
}

/**
 * snapblk_store_discard() - destroy the store's contents for good.
 * @st: the store; its device must no longer take I/O from users.
 *
 * Clears both superblock copies, so that the store no longer attaches,
 * and discards the rest where the device supports it.
 *
 * Return: 0 or the errno of clearing the superblocks.
 */
int snapblk_store_discard(struct snapblk_store *st)
{
	struct block_device *bdev = st->dev.bdev;
	int ret = snapblk_sb_clear(bdev);

	if (!ret && bdev_max_discard_sectors(bdev))
		blkdev_issue_discard(bdev, SNAPBLK_TABLE_START,
				     bdev_nr_sectors(bdev) - SNAPBLK_TABLE_START,
				     GFP_KERNEL);
	return ret;
}

/**
 * snapblk_store_grow() - take in space the store device gained.
 * @st: the store.
 *
 * Return: 0 (also when nothing changed) or a negative errno.
 */
int snapblk_store_grow(struct snapblk_store *st)
{
	sector_t dev_sectors = bdev_nr_sectors(st->dev.bdev);
	u32 old_chunks = st->data_chunks;
	unsigned long *used, *freed, *old, *old_freed;
	unsigned int noio;
	u64 nr;
	int ret = 0;

	/* flushes need commit_lock: reclaim must not wait for one */
	noio = memalloc_noio_save();
	mutex_lock(&st->commit_lock);
	if (dev_sectors <= st->store_sectors)
		goto unlock;
	nr = min_t(u64, (dev_sectors - st->data_start) >> st->chunk_sects_shift,
		   SNAPBLK_MAX_DATA_CHUNKS);
	used = kvcalloc(BITS_TO_LONGS(nr), sizeof(unsigned long), GFP_KERNEL);
	freed = kvcalloc(BITS_TO_LONGS(nr), sizeof(unsigned long), GFP_KERNEL);
	if (!used || !freed) {
		kvfree(used);
		kvfree(freed);
		ret = -ENOMEM;
		goto unlock;
	}
	xa_lock_irq(&st->map);
	bitmap_copy(used, st->used, old_chunks);
	bitmap_copy(freed, st->freed, old_chunks);
	old = st->used;
	old_freed = st->freed;
	st->used = used;
	st->freed = freed;
	st->data_chunks = nr;
	st->store_sectors = dev_sectors;
	xa_unlock_irq(&st->map);
	kvfree(old);
	kvfree(old_freed);
	ret = snapblk_store_write_sb(st);
unlock:
	mutex_unlock(&st->commit_lock);
	memalloc_noio_restore(noio);
	return ret;
}

/**
 * snapblk_store_rename() - record a new NAME in the superblock.
 * @st: the store.
 * @name: the NAME, valid, NUL terminated; empty for the default.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_store_rename(struct snapblk_store *st, const char *name)
{
	int ret;

	mutex_lock(&st->commit_lock);
	strscpy_pad(st->geo.name, name, sizeof(st->geo.name));
	ret = snapblk_store_write_sb(st);
	mutex_unlock(&st->commit_lock);
	return ret;
}

/**
 * snapblk_store_map_new() - give @chunk a data chunk.
 * @st: the store.
 * @chunk: parent chunk; the caller owns it (no concurrent updates).
 * @entry: in: its current entry (no data chunk); out: the new entry.
 *
 * Return: 0, or -ENOSPC when the store is full, or -ENOMEM.
 */
int snapblk_store_map_new(struct snapblk_store *st, u64 chunk, u64 *entry)
{
	unsigned long flags;
	u32 c;
	int ret;

	xa_lock_irqsave(&st->map, flags);
	c = find_next_zero_bit(st->used, st->data_chunks, st->alloc_hint);
	if (c >= st->data_chunks)
		c = find_first_zero_bit(st->used, st->data_chunks);
	if (c >= st->data_chunks) {
		xa_unlock_irqrestore(&st->map, flags);
		return -ENOSPC;
	}
	__set_bit(c, st->used);
	st->nr_used++;
	snapblk_level_note(st->nr_used - 1, st->nr_used, st->data_chunks);
	st->alloc_hint = c + 1;
	xa_unlock_irqrestore(&st->map, flags);

	*entry = snapblk_e_make(c + 1, 0, snapblk_e_zero(*entry));
	ret = xa_err(xa_store_irq(&st->map, chunk, xa_mk_value(*entry), GFP_NOIO));
	if (ret) {
		xa_lock_irqsave(&st->map, flags);
		__clear_bit(c, st->used);
		st->nr_used--;
		snapblk_level_note(st->nr_used + 1, st->nr_used, st->data_chunks);
		xa_unlock_irqrestore(&st->map, flags);
	}
	return ret;
}

/**
 * snapblk_store_update() - change the entry of a mapped chunk.
 * @st: the store.
 * @chunk: parent chunk; the caller owns it.
 * @entry: new entry; the chunk must already have an xarray slot, so this
 *	never allocates and may run in interrupt context.
 */
void snapblk_store_update(struct snapblk_store *st, u64 chunk, u64 entry)
{
	unsigned long flags;

	xa_lock_irqsave(&st->map, flags);
	__xa_store(&st->map, chunk, xa_mk_value(entry), GFP_ATOMIC);
	__set_bit(div_u64(chunk, SNAPBLK_TB_ENTRIES), st->dirty);
	xa_unlock_irqrestore(&st->map, flags);
}

/**
 * snapblk_store_set() - set the entry of a chunk, mapped or not.
 * @st: the store.
 * @chunk: parent chunk; the caller owns it.
 * @entry: new entry.
 *
 * May allocate; process context only.
 *
 * Return: 0 or -ENOMEM.
 */
int snapblk_store_set(struct snapblk_store *st, u64 chunk, u64 entry)
{
	int ret;

	xa_lock_irq(&st->map);
	ret = xa_err(__xa_store(&st->map, chunk, xa_mk_value(entry), GFP_NOIO));
	if (!ret)
		__set_bit(div_u64(chunk, SNAPBLK_TB_ENTRIES), st->dirty);
	xa_unlock_irq(&st->map);
	return ret;
}

/*
 * Take the dirty set and the data chunks freed so far (into @freed,
 * whose size the caller holds commit_lock for): returns a bitmap the
 * caller frees, or NULL.
 */
static unsigned long *snapblk_take_dirty(struct snapblk_store *st,
					 unsigned long *freed)
{
	unsigned long *taken = bitmap_zalloc(st->table_blocks, GFP_NOIO);

	if (!taken)
		return NULL;
	xa_lock_irq(&st->map);
	bitmap_copy(taken, st->dirty, st->table_blocks);
	bitmap_zero(st->dirty, st->table_blocks);
	if (freed) {
		bitmap_copy(freed, st->freed, st->data_chunks);
		bitmap_zero(st->freed, st->data_chunks);
		st->nr_freed = 0;
	}
	xa_unlock_irq(&st->map);
	return taken;
}

static void snapblk_give_back_dirty(struct snapblk_store *st,
				    unsigned long *taken, unsigned long *freed)
{
	xa_lock_irq(&st->map);
	bitmap_or(st->dirty, st->dirty, taken, st->table_blocks);
	if (freed) {
		bitmap_or(st->freed, st->freed, freed, st->data_chunks);
		st->nr_freed = bitmap_weight(st->freed, st->data_chunks);
	}
	xa_unlock_irq(&st->map);
}

/* The unmapping of @freed is on disk: the data chunks may be reused. */
static void snapblk_release_freed(struct snapblk_store *st,
				  unsigned long *freed)
{
	unsigned int n;

	if (!freed)
		return;
	n = bitmap_weight(freed, st->data_chunks);
	xa_lock_irq(&st->map);
	bitmap_andnot(st->used, st->used, freed, st->data_chunks);
	st->nr_used -= n;
	snapblk_level_note(st->nr_used + n, st->nr_used, st->data_chunks);
	xa_unlock_irq(&st->map);
}

/**
 * snapblk_store_commit() - make every completed write durable.
 * @st: the store.
 *
 * Data writes that completed before the call, and the mapping that
 * points at them, are on stable storage when it returns 0. Runs in
 * process context; may sleep.
 *
 * Return: 0 or a negative errno (the store stays consistent; the dirty
 * blocks are retried by the next commit).
 */
int snapblk_store_commit(struct snapblk_store *st)
{
	unsigned long *taken, *freed = NULL;
	int ret = -ENOMEM;

	mutex_lock(&st->commit_lock);
	/* unmapped data chunks exist only while a commit merges */
	if (READ_ONCE(st->nr_freed)) {
		freed = kvcalloc(BITS_TO_LONGS(st->data_chunks),
				 sizeof(unsigned long), GFP_NOIO);
		if (!freed)
			goto unlock;
	}
	taken = snapblk_take_dirty(st, freed);
	if (!taken)
		goto undo_freed;
	ret = snapblk_table_commit(&st->table, taken);
	if (ret)
		snapblk_give_back_dirty(st, taken, freed);
	else
		snapblk_release_freed(st, freed);
	bitmap_free(taken);
undo_freed:
	kvfree(freed);
unlock:
	mutex_unlock(&st->commit_lock);
	return ret;
}

/**
 * snapblk_store_unmap() - forget the mapping of @chunk.
 * @st: the store.
 * @chunk: parent chunk; the caller owns it, and no I/O to its data
 *	chunk is in flight.
 *
 * Its data chunk becomes free once a commit has recorded the change.
 */
void snapblk_store_unmap(struct snapblk_store *st, u64 chunk)
{
	u64 e;
	void *v;

	xa_lock_irq(&st->map);
	v = __xa_erase(&st->map, chunk);
	if (v) {
		e = xa_to_value(v);
		if (snapblk_e_chunk(e) &&
		    !__test_and_set_bit(snapblk_e_chunk(e) - 1, st->freed))
			st->nr_freed++;
		__set_bit(div_u64(chunk, SNAPBLK_TB_ENTRIES), st->dirty);
	}
	xa_unlock_irq(&st->map);
}

/**
 * snapblk_store_set_state() - record a state and parent fingerprint.
 * @st: the store.
 * @state: SNAPBLK_SB_STATE_*.
 * @parent_fp: the fingerprint of the parent's contents.
 *
 * Return: 0 or a negative errno (nothing changed).
 */
int snapblk_store_set_state(struct snapblk_store *st, u32 state, u32 parent_fp)
{
	u32 old_state, old_fp;
	int ret;

	mutex_lock(&st->commit_lock);
	old_state = st->state;
	old_fp = st->geo.parent_fp;
	st->state = state;
	st->geo.parent_fp = parent_fp;
	ret = snapblk_store_write_sb(st);
	if (ret) {
		st->state = old_state;
		st->geo.parent_fp = old_fp;
	}
	mutex_unlock(&st->commit_lock);
	return ret;
}
