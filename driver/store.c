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
#include <linux/crc32.h>
#include <linux/ctype.h>
#include <linux/log2.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/snapblk.h>
#include <linux/vmalloc.h>

#include "store.h"

#define SNAPBLK_FP_SAMPLES	16

static u32 snapblk_csum(u32 seed, void *block, __le32 *field)
{
	u32 crc;

	*field = 0;
	crc = crc32_le(seed, block, SNAPBLK_META_BLOCK);
	return crc;
}

/**
 * snapblk_sync_io() - synchronous I/O of physically contiguous memory.
 * @bdev: device.
 * @sector: where.
 * @page: first page of the buffer.
 * @bytes: length, a multiple of 512.
 * @opf: REQ_OP_READ or REQ_OP_WRITE plus flags.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_sync_io(struct block_device *bdev, sector_t sector,
		    struct page *page, unsigned int bytes, blk_opf_t opf)
{
	struct bio *bio = bio_alloc(bdev, 1, opf, GFP_NOIO);
	int ret;

	bio->bi_iter.bi_sector = sector;
	__bio_add_page(bio, page, bytes, 0);
	ret = submit_bio_wait(bio);
	bio_put(bio);
	return ret;
}

static int snapblk_meta_io(struct block_device *bdev, sector_t sector,
			   struct page *page, blk_opf_t opf)
{
	return snapblk_sync_io(bdev, sector, page, SNAPBLK_META_BLOCK, opf);
}

/**
 * snapblk_fingerprint() - CRC of sampled blocks of a device.
 * @bdev: the device.
 *
 * Reads SNAPBLK_FP_SAMPLES blocks spread over the device. Used to check
 * on attach that a base is the one a store was made on.
 *
 * Return: the fingerprint; 0 if the device could not be read.
 */
u32 snapblk_fingerprint(struct block_device *bdev)
{
	sector_t size = bdev_nr_sectors(bdev);
	struct page *page = alloc_page(GFP_KERNEL);
	u32 crc = ~0U;
	int i;

	if (!page)
		return 0;
	for (i = 0; i < SNAPBLK_FP_SAMPLES; i++) {
		sector_t s = div_u64(size * i, SNAPBLK_FP_SAMPLES);

		s = round_down(s, SNAPBLK_META_SECTORS);
		if (s + SNAPBLK_META_SECTORS > size)
			break;
		if (snapblk_meta_io(bdev, s, page, REQ_OP_READ)) {
			crc = 0;
			break;
		}
		crc = crc32_le(crc, page_address(page), SNAPBLK_META_BLOCK);
	}
	__free_page(page);
	return crc;
}

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

static int snapblk_store_alloc_maps(struct snapblk_store *st)
{
	st->dirty = bitmap_zalloc(st->table_blocks, GFP_KERNEL);
	st->slot = bitmap_zalloc(st->table_blocks, GFP_KERNEL);
	st->used = kvcalloc(BITS_TO_LONGS(st->data_chunks),
			    sizeof(unsigned long), GFP_KERNEL);
	if (!st->dirty || !st->slot || !st->used)
		return -ENOMEM;
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
	sb->state = cpu_to_le32(SNAPBLK_SB_STATE_ACTIVE);
	memcpy(sb->parent_uuid, st->geo.parent_uuid, sizeof(sb->parent_uuid));
	sb->store_sectors = cpu_to_le64(st->store_sectors);
	sb->nr_chunks = cpu_to_le64(st->nr_chunks);
	sb->table_blocks = cpu_to_le32(st->table_blocks);
	sb->entries_per_block = cpu_to_le32(SNAPBLK_TB_ENTRIES);
	sb->data_start = cpu_to_le64(st->data_start);
	sb->data_chunks = cpu_to_le64(st->data_chunks);
	sb->csum = cpu_to_le32(snapblk_csum(~0U, sb, &sb->csum));
}

/* Write the superblock into the copy after the current one, durably. */
static int snapblk_sb_write(struct snapblk_store *st)
{
	struct page *page = alloc_page(GFP_NOIO);
	sector_t where;
	int ret;

	if (!page)
		return -ENOMEM;
	st->sb_generation++;
	snapblk_sb_fill(st, page_address(page));
	where = (st->sb_generation % SNAPBLK_SB_COPIES) * SNAPBLK_META_SECTORS;
	ret = snapblk_meta_io(st->dev.bdev, where, page, REQ_OP_WRITE | REQ_SYNC | REQ_PREFLUSH | REQ_FUA);
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
	generate_random_uuid(st->uuid);
	st->crc_seed = crc32_le(~0U, st->uuid, sizeof(st->uuid));
	/* both copies, so that no older store's superblock survives */
	ret = snapblk_sb_write(st);
	if (!ret)
		ret = snapblk_sb_write(st);
	return ret;
}

static bool snapblk_sb_valid(struct snapblk_disk_sb *sb)
{
	u32 want = le32_to_cpu(sb->csum);

	return le64_to_cpu(sb->magic) == SNAPBLK_SB_MAGIC &&
	       snapblk_csum(~0U, sb, &sb->csum) == want;
}

/* Read both superblock copies; leave the newest valid one in @page. */
static int snapblk_sb_read(struct snapblk_store *st, struct page *page)
{
	struct page *other = alloc_page(GFP_KERNEL);
	struct snapblk_disk_sb *a = page_address(page), *b;
	bool va, vb;
	int ret;

	if (!other)
		return -ENOMEM;
	b = page_address(other);
	ret = snapblk_meta_io(st->dev.bdev, 0, page, REQ_OP_READ);
	if (!ret)
		ret = snapblk_meta_io(st->dev.bdev, SNAPBLK_META_SECTORS, other, REQ_OP_READ);
	if (ret)
		goto out;
	va = snapblk_sb_valid(a);
	vb = snapblk_sb_valid(b);
	if (!va && !vb) {
		ret = -EINVAL;
		goto out;
	}
	if (!va || (vb && le64_to_cpu(b->generation) > le64_to_cpu(a->generation)))
		memcpy(a, b, SNAPBLK_META_BLOCK);
out:
	__free_page(other);
	return ret;
}

/**
 * snapblk_name_valid() - is @name a NUL-terminated NAME (or empty)?
 * @name: the buffer.
 * @len: its size.
 *
 * Return: true if it holds only [A-Za-z0-9._-] and a NUL within @len.
 */
bool snapblk_name_valid(const char *name, size_t len)
{
	size_t i;

	if (strnlen(name, len) == len)
		return false;
	for (i = 0; name[i]; i++)
		if (!isalnum(name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
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
	if (sb->flags || le32_to_cpu(sb->kind) != kind ||
	    le32_to_cpu(sb->state) != SNAPBLK_SB_STATE_ACTIVE ||
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
	st->crc_seed = crc32_le(~0U, st->uuid, sizeof(st->uuid));
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

static sector_t snapblk_tb_sector(u32 block, unsigned int slot)
{
	return SNAPBLK_TABLE_START +
	       ((sector_t)block * 2 + slot) * SNAPBLK_META_SECTORS;
}

/* Is @buf a table block @index written by this store? Returns its gen. */
static bool snapblk_tb_valid(struct snapblk_store *st, void *buf, u32 index,
			     u64 *gen)
{
	struct snapblk_disk_tb_header *h = buf;
	u32 want = le32_to_cpu(h->csum);

	if (le32_to_cpu(h->magic) != SNAPBLK_TB_MAGIC ||
	    le64_to_cpu(h->index) != index ||
	    snapblk_csum(st->crc_seed, buf, &h->csum) != want)
		return false;
	*gen = le64_to_cpu(h->generation);
	return true;
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
	bool v0, v1;
	u64 g0 = 0, g1 = 0;
	int ret;

	ret = snapblk_meta_io(st->dev.bdev, snapblk_tb_sector(index, 0), p0, REQ_OP_READ);
	if (!ret)
		ret = snapblk_meta_io(st->dev.bdev, snapblk_tb_sector(index, 1),
				      p1, REQ_OP_READ);
	if (ret)
		return ret;
	v0 = snapblk_tb_valid(st, page_address(p0), index, &g0);
	v1 = snapblk_tb_valid(st, page_address(p1), index, &g1);
	if (!v0 && !v1)
		return 0;	/* never written: empty */
	st->generation = max3(st->generation, g0, g1);
	if (v1 && (!v0 || g1 > g0)) {
		__set_bit(index, st->slot);
		return snapblk_tb_parse(st, page_address(p1), index);
	}
	return snapblk_tb_parse(st, page_address(p0), index);
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
	ret = snapblk_sb_read(st, p0);
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
	bitmap_free(st->slot);
	kvfree(st->used);
	st->dirty = NULL;
	st->slot = NULL;
	st->used = NULL;
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
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	struct block_device *bdev = st->dev.bdev;
	int ret, i;

	if (!page)
		return -ENOMEM;
	for (i = 0, ret = 0; i < SNAPBLK_SB_COPIES && !ret; i++)
		ret = snapblk_meta_io(bdev, i * SNAPBLK_META_SECTORS, page, REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
	__free_page(page);
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
	unsigned long *used, *old;
	u64 nr;
	int ret = 0;

	mutex_lock(&st->commit_lock);
	if (dev_sectors <= st->store_sectors)
		goto unlock;
	nr = min_t(u64, (dev_sectors - st->data_start) >> st->chunk_sects_shift,
		   SNAPBLK_MAX_DATA_CHUNKS);
	used = kvcalloc(BITS_TO_LONGS(nr), sizeof(unsigned long), GFP_KERNEL);
	if (!used) {
		ret = -ENOMEM;
		goto unlock;
	}
	xa_lock_irq(&st->map);
	bitmap_copy(used, st->used, old_chunks);
	old = st->used;
	st->used = used;
	st->data_chunks = nr;
	st->store_sectors = dev_sectors;
	xa_unlock_irq(&st->map);
	kvfree(old);
	ret = snapblk_sb_write(st);
unlock:
	mutex_unlock(&st->commit_lock);
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
	ret = snapblk_sb_write(st);
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
	st->alloc_hint = c + 1;
	xa_unlock_irqrestore(&st->map, flags);

	*entry = snapblk_e_make(c + 1, 0, snapblk_e_zero(*entry));
	ret = xa_err(xa_store_irq(&st->map, chunk, xa_mk_value(*entry), GFP_NOIO));
	if (ret) {
		xa_lock_irqsave(&st->map, flags);
		__clear_bit(c, st->used);
		st->nr_used--;
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

/* Build the image of table block @index from the map. */
static void snapblk_tb_build(struct snapblk_store *st, void *buf, u32 index)
{
	struct snapblk_disk_tb_header *h = buf;
	struct snapblk_disk_entry *ent = buf + sizeof(*h);
	u64 first = (u64)index * SNAPBLK_TB_ENTRIES;
	u64 last = min(first + SNAPBLK_TB_ENTRIES, st->nr_chunks) - 1;
	unsigned long idx;
	void *v;

	memset(buf, 0, SNAPBLK_META_BLOCK);
	h->magic = cpu_to_le32(SNAPBLK_TB_MAGIC);
	h->generation = cpu_to_le64(st->generation);
	h->index = cpu_to_le64(index);
	xa_for_each_range(&st->map, idx, v, first, last) {
		u64 e = xa_to_value(v);

		ent[idx - first].chunk = cpu_to_le32(snapblk_e_chunk(e));
		ent[idx - first].valid = cpu_to_le16(snapblk_e_valid(e));
		ent[idx - first].zero = cpu_to_le16(snapblk_e_zero(e));
	}
	h->csum = cpu_to_le32(snapblk_csum(st->crc_seed, buf, &h->csum));
}

/**
 * struct snapblk_commit_io - table writes of one commit in flight.
 * @pending: bios not yet completed, plus one for the submitter.
 * @error: first error seen.
 * @done: completed when @pending drops to zero.
 */
struct snapblk_commit_io {
	atomic_t pending;
	blk_status_t error;
	struct completion done;
};

static void snapblk_commit_endio(struct bio *bio)
{
	struct snapblk_commit_io *io = bio->bi_private;

	if (bio->bi_status)
		io->error = bio->bi_status;
	bio_put(bio);
	if (atomic_dec_and_test(&io->pending))
		complete(&io->done);
}

static void snapblk_commit_submit(struct snapblk_store *st,
				  struct snapblk_commit_io *io,
				  struct page *page, u32 index)
{
	struct bio *bio = bio_alloc(st->dev.bdev, 1, REQ_OP_WRITE | REQ_SYNC,
				    GFP_NOIO);

	bio->bi_iter.bi_sector = snapblk_tb_sector(index,
						   !test_bit(index, st->slot));
	__bio_add_page(bio, page, SNAPBLK_META_BLOCK, 0);
	bio->bi_private = io;
	bio->bi_end_io = snapblk_commit_endio;
	atomic_inc(&io->pending);
	submit_bio(bio);
}

/* Take the dirty set: returns a bitmap the caller frees, or NULL. */
static unsigned long *snapblk_take_dirty(struct snapblk_store *st)
{
	unsigned long *taken = bitmap_zalloc(st->table_blocks, GFP_NOIO);

	if (!taken)
		return NULL;
	xa_lock_irq(&st->map);
	bitmap_copy(taken, st->dirty, st->table_blocks);
	bitmap_zero(st->dirty, st->table_blocks);
	xa_unlock_irq(&st->map);
	return taken;
}

static void snapblk_give_back_dirty(struct snapblk_store *st,
				    unsigned long *taken)
{
	xa_lock_irq(&st->map);
	bitmap_or(st->dirty, st->dirty, taken, st->table_blocks);
	xa_unlock_irq(&st->map);
}

/* Write the table blocks in @taken into their spare slots. */
static int snapblk_commit_tables(struct snapblk_store *st, unsigned long *taken,
				 unsigned int nr)
{
	struct snapblk_commit_io io = { .pending = ATOMIC_INIT(1) };
	struct page **pages;
	unsigned int i = 0;
	u32 b;
	int ret = 0;

	pages = kcalloc(nr, sizeof(*pages), GFP_NOIO);
	if (!pages)
		return -ENOMEM;
	for_each_set_bit(b, taken, st->table_blocks) {
		pages[i] = alloc_page(GFP_NOIO);
		if (!pages[i]) {
			ret = -ENOMEM;
			goto free_pages;
		}
		snapblk_tb_build(st, page_address(pages[i]), b);
		i++;
	}
	/* the data the images point at must be durable before them */
	ret = blkdev_issue_flush(st->dev.bdev);
	if (ret)
		goto free_pages;
	init_completion(&io.done);
	i = 0;
	for_each_set_bit(b, taken, st->table_blocks)
		snapblk_commit_submit(st, &io, pages[i++], b);
	if (!atomic_dec_and_test(&io.pending))
		wait_for_completion_io(&io.done);
	ret = blk_status_to_errno(io.error);
	if (!ret)
		ret = blkdev_issue_flush(st->dev.bdev);
	if (!ret)
		bitmap_xor(st->slot, st->slot, taken, st->table_blocks);
free_pages:
	while (i--)
		__free_page(pages[i]);
	kfree(pages);
	return ret;
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
	unsigned long *taken;
	unsigned int nr;
	int ret;

	mutex_lock(&st->commit_lock);
	taken = snapblk_take_dirty(st);
	if (!taken) {
		ret = -ENOMEM;
		goto unlock;
	}
	nr = bitmap_weight(taken, st->table_blocks);
	if (!nr) {
		ret = blkdev_issue_flush(st->dev.bdev);
	} else {
		st->generation++;
		ret = snapblk_commit_tables(st, taken, nr);
		if (ret)
			snapblk_give_back_dirty(st, taken);
	}
	bitmap_free(taken);
unlock:
	mutex_unlock(&st->commit_lock);
	return ret;
}
