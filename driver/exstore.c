// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk snapshot store: format, load, snapshots, versions, commit.
 *
 * The store keeps one descriptor per data chunk (see format.h), so a
 * chunk's record is written in place when it is reused and the store
 * never needs compaction. Everything read from disk is checked: a
 * descriptor that names a chunk outside the origin, an impossible run,
 * or overlapping runs of one chunk make the store damaged (-EUCLEAN).
 */
#include <linux/log2.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>

#include "event.h"
#include "exstore.h"

static u64 snapblk_exstore_nr_chunks(struct snapblk_exstore *s)
{
	return DIV_ROUND_UP_ULL(s->origin_sectors, 1ULL << s->chunk_sects_shift);
}

static u32 snapblk_exstore_blocks(struct snapblk_exstore *s)
{
	return DIV_ROUND_UP(s->data_chunks, SNAPBLK_DESC_ENTRIES);
}

/* Areas from data_start on a device of @dev_sectors: sets data_chunks. */
static int snapblk_exstore_layout(struct snapblk_exstore *s,
				  sector_t dev_sectors)
{
	sector_t meta = 2 * SNAPBLK_META_SECTORS, avail, rem;
	u64 chunks;

	s->chunk_sects_shift = s->chunk_shift - SECTOR_SHIFT;
	s->data_start = SNAPBLK_TABLE_START;
	s->area_sects = meta + ((sector_t)SNAPBLK_DESC_ENTRIES << s->chunk_sects_shift);
	if (dev_sectors <= s->data_start + meta)
		return -ENOSPC;
	avail = dev_sectors - s->data_start;
	chunks = div64_u64_rem(avail, s->area_sects, &rem) * SNAPBLK_DESC_ENTRIES;
	if (rem > meta)
		chunks += (rem - meta) >> s->chunk_sects_shift;
	if (!chunks)
		return -ENOSPC;
	s->data_chunks = min_t(u64, chunks, U32_MAX - SNAPBLK_DESC_ENTRIES);
	s->store_sectors = dev_sectors;
	return 0;
}

static sector_t snapblk_desc_sector(void *owner, u32 block, unsigned int slot)
{
	struct snapblk_exstore *s = owner;

	return s->data_start + (sector_t)block * s->area_sects +
	       slot * SNAPBLK_META_SECTORS;
}

static struct snapblk_ver *snapblk_ver_at(struct snapblk_verlist *vl, u32 loc)
{
	u32 i;

	for (i = 0; vl && i < vl->nr; i++)
		if (vl->v[i].loc == loc)
			return &vl->v[i];
	return NULL;
}

/* Descriptor block @block from memory (called under meta_lock). */
static void snapblk_desc_build(void *owner, void *buf, u32 block, u64 gen)
{
	struct snapblk_exstore *s = owner;
	struct snapblk_disk_desc *d = buf + sizeof(struct snapblk_disk_tb_header);
	u32 j, first = block * SNAPBLK_DESC_ENTRIES;

	memset(buf, 0, SNAPBLK_META_BLOCK);
	rcu_read_lock();
	for (j = 0; j < SNAPBLK_DESC_ENTRIES; j++) {
		void *c = xa_load(&s->locs, first + j);
		struct snapblk_ver *v;

		if (!c)
			continue;
		v = snapblk_ver_at(xa_load(&s->vers, xa_to_value(c)), first + j);
		if (!v)
			continue;
		d[j].chunk = cpu_to_le64(xa_to_value(c));
		d[j].first = cpu_to_le32(v->first);
		d[j].last = cpu_to_le32(v->last);
		d[j].flags = cpu_to_le32(SNAPBLK_DESC_USED |
					 (v->private ? SNAPBLK_DESC_PRIVATE : 0) |
					 (v->done ? SNAPBLK_DESC_DONE : 0));
	}
	rcu_read_unlock();
	snapblk_tb_seal(s->crc_seed, buf, block, gen);
}

static int snapblk_exstore_alloc_maps(struct snapblk_exstore *s)
{
	u32 blocks = snapblk_exstore_blocks(s);

	s->used = kvcalloc(BITS_TO_LONGS(s->data_chunks), sizeof(long), GFP_KERNEL);
	s->dirty = bitmap_zalloc(blocks, GFP_KERNEL);
	s->table.slot = bitmap_zalloc(blocks, GFP_KERNEL);
	if (!s->used || !s->dirty || !s->table.slot)
		return -ENOMEM;
	s->table.bdev = s->dev.bdev;
	s->table.nr_blocks = blocks;
	s->table.owner = s;
	s->table.sector = snapblk_desc_sector;
	s->table.build = snapblk_desc_build;
	return 0;
}

static void snapblk_exstore_init(struct snapblk_exstore *s)
{
	INIT_LIST_HEAD(&s->node);
	INIT_LIST_HEAD(&s->cows);
	spin_lock_init(&s->cow_lock);
	mutex_init(&s->meta_lock);
	spin_lock_init(&s->lock);
	xa_init(&s->vers);
	xa_init(&s->locs);
}

static void snapblk_ssb_fill(struct snapblk_exstore *s,
			     struct snapblk_disk_ssb *sb)
{
	int i;

	memset(sb, 0, SNAPBLK_META_BLOCK);
	sb->magic = cpu_to_le64(SNAPBLK_SB_MAGIC);
	sb->version = cpu_to_le32(SNAPBLK_FORMAT_VERSION);
	sb->generation = cpu_to_le64(s->sb_generation);
	sb->kind = cpu_to_le32(SNAPBLK_KIND_SNAPSHOT);
	memcpy(sb->uuid, s->uuid, sizeof(sb->uuid));
	sb->chunk_shift = cpu_to_le32(s->chunk_shift);
	sb->next_id = cpu_to_le32(s->next_id);
	sb->origin_sectors = cpu_to_le64(s->origin_sectors);
	sb->store_sectors = cpu_to_le64(s->store_sectors);
	sb->data_start = cpu_to_le64(s->data_start);
	sb->data_chunks = cpu_to_le64(s->data_chunks);
	for (i = 0; i < SNAPBLK_MAX_SNAPS; i++) {
		struct snapblk_snapmeta *m = &s->snaps[i];

		if (!m->id)
			continue;
		sb->snaps[i].id = cpu_to_le32(m->id);
		sb->snaps[i].flags = cpu_to_le32(m->flags);
		sb->snaps[i].created = cpu_to_le64(m->created);
		memcpy(sb->snaps[i].name, m->name, sizeof(sb->snaps[i].name));
		sb->snaps[i].fp = cpu_to_le32(m->fp);
	}
}

/* Write the superblock (meta_lock held). */
static int snapblk_exstore_write_sb(struct snapblk_exstore *s)
{
	struct page *page = alloc_page(GFP_NOIO);
	int ret;

	if (!page)
		return -ENOMEM;
	s->sb_generation++;
	snapblk_ssb_fill(s, page_address(page));
	ret = snapblk_sb_write(s->dev.bdev, page, s->sb_generation);
	__free_page(page);
	return ret;
}

static void snapblk_exstore_update_latest(struct snapblk_exstore *s)
{
	u32 latest = 0;
	int i;

	/* a snapshot being reverted needs no more copies: it goes away */
	for (i = 0; i < SNAPBLK_MAX_SNAPS; i++)
		if (s->snaps[i].id && !(s->snaps[i].flags &
					(SNAPBLK_SNAP_INVALID | SNAPBLK_SNAP_REVERTING)))
			latest = max(latest, s->snaps[i].id);
	spin_lock(&s->lock);
	s->latest = latest;
	spin_unlock(&s->lock);
}

/**
 * snapblk_exstore_format() - make an empty snapshot store.
 * @s: store whose @dev is open.
 * @origin_sectors: size of the origin.
 * @chunk_shift: log2 of the chunk size in bytes.
 *
 * Return: 0, -ENOSPC if the device is too small, or an errno.
 */
int snapblk_exstore_format(struct snapblk_exstore *s, u64 origin_sectors,
			   unsigned int chunk_shift)
{
	int ret;

	snapblk_exstore_init(s);
	s->origin_sectors = origin_sectors;
	s->chunk_shift = chunk_shift;
	ret = snapblk_exstore_layout(s, bdev_nr_sectors(s->dev.bdev));
	if (ret)
		return ret;
	ret = snapblk_exstore_alloc_maps(s);
	if (ret)
		goto undo_maps;
	generate_random_uuid(s->uuid);
	s->crc_seed = snapblk_uuid_seed(s->uuid);
	s->next_id = 1;
	mutex_lock(&s->meta_lock);
	ret = snapblk_exstore_write_sb(s);
	if (!ret)
		ret = snapblk_exstore_write_sb(s);
	mutex_unlock(&s->meta_lock);
	if (!ret)
		return 0;
undo_maps:
	snapblk_exstore_release(s);
	return ret;
}

static int snapblk_ssb_parse_snaps(struct snapblk_exstore *s,
				   struct snapblk_disk_ssb *sb)
{
	int i, j, reverting = 0;

	for (i = 0; i < SNAPBLK_MAX_SNAPS; i++) {
		struct snapblk_disk_snap *d = &sb->snaps[i];
		struct snapblk_snapmeta *m = &s->snaps[i];
		u32 flags = le32_to_cpu(d->flags);

		m->id = le32_to_cpu(d->id);
		if (!m->id) {
			if (memchr_inv(d, 0, sizeof(*d)))
				return -EINVAL;
			continue;
		}
		if (m->id >= s->next_id || (flags & ~SNAPBLK_SNAP_FLAGS) ||
		    !(flags & SNAPBLK_SNAP_LIVE) ||
		    !snapblk_name_valid(d->name, sizeof(d->name)) ||
		    d->reserved0 || d->reserved)
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (s->snaps[j].id == m->id)
				return -EINVAL;
		/* one revert at a time: DONE marks belong to it */
		if ((flags & SNAPBLK_SNAP_REVERTING) && reverting++)
			return -EINVAL;
		m->flags = flags;
		m->created = le64_to_cpu(d->created);
		memcpy(m->name, d->name, sizeof(m->name));
		m->fp = le32_to_cpu(d->fp);
	}
	return 0;
}

static int snapblk_ssb_parse(struct snapblk_exstore *s,
			     struct snapblk_disk_ssb *sb, u64 origin_sectors)
{
	sector_t recorded = le64_to_cpu(sb->store_sectors);
	u32 shift = le32_to_cpu(sb->chunk_shift);

	if (le32_to_cpu(sb->version) != SNAPBLK_FORMAT_VERSION)
		return -EPROTONOSUPPORT;
	if (le32_to_cpu(sb->kind) != SNAPBLK_KIND_SNAPSHOT || sb->flags ||
	    shift < ilog2(SNAPBLK_CHUNK_MIN) || shift > ilog2(SNAPBLK_CHUNK_MAX) ||
	    recorded > bdev_nr_sectors(s->dev.bdev) || sb->reserved0 ||
	    sb->reserved1 ||
	    memchr_inv(sb->reserved, 0, sizeof(sb->reserved)) ||
	    !le32_to_cpu(sb->next_id))
		return -EINVAL;
	if (le64_to_cpu(sb->origin_sectors) != origin_sectors)
		return -EMEDIUMTYPE;
	s->origin_sectors = origin_sectors;
	s->chunk_shift = shift;
	if (snapblk_exstore_layout(s, recorded) ||
	    le64_to_cpu(sb->data_start) != s->data_start ||
	    le64_to_cpu(sb->data_chunks) != s->data_chunks)
		return -EINVAL;
	memcpy(s->uuid, sb->uuid, sizeof(s->uuid));
	s->crc_seed = snapblk_uuid_seed(s->uuid);
	s->next_id = le32_to_cpu(sb->next_id);
	s->sb_generation = le64_to_cpu(sb->generation);
	return snapblk_ssb_parse_snaps(s, sb);
}

static bool snapblk_snap_live(struct snapblk_exstore *s, u32 first, u32 last)
{
	int i;

	for (i = 0; i < SNAPBLK_MAX_SNAPS; i++)
		if (s->snaps[i].id && s->snaps[i].id >= first &&
		    s->snaps[i].id <= last)
			return true;
	return false;
}

/* May @v join the versions of its chunk? Runs must not overlap. */
static bool snapblk_ver_fits(struct snapblk_verlist *vl,
			     const struct snapblk_ver *v)
{
	u32 i;

	for (i = 0; vl && i < vl->nr; i++) {
		const struct snapblk_ver *o = &vl->v[i];

		if (o->private != v->private)
			continue;
		if (v->first <= o->last && o->first <= v->last)
			return false;
	}
	return true;
}

/* Insert @v for @chunk (meta_lock held or not yet shared). */
static int snapblk_ver_insert(struct snapblk_exstore *s, u64 chunk,
			      const struct snapblk_ver *v)
{
	struct snapblk_verlist *old = xa_load(&s->vers, chunk), *new;
	u32 nr = old ? old->nr : 0;
	int ret;

	if (!snapblk_ver_fits(old, v))
		return -EUCLEAN;
	new = kmalloc(struct_size(new, v, nr + 1), GFP_NOIO);
	if (!new)
		return -ENOMEM;
	new->nr = nr + 1;
	if (nr)
		memcpy(new->v, old->v, nr * sizeof(*v));
	new->v[nr] = *v;
	ret = xa_err(xa_store(&s->vers, chunk, new, GFP_NOIO));
	if (ret) {
		kfree(new);
		return ret;
	}
	ret = xa_err(xa_store(&s->locs, v->loc, xa_mk_value(chunk), GFP_NOIO));
	if (ret)
		return ret;
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

static void snapblk_mark_used(struct snapblk_exstore *s, u32 loc, bool dirty)
{
	spin_lock(&s->lock);
	if (!__test_and_set_bit(loc, s->used)) {
		s->nr_used++;
		snapblk_level_note(s->nr_used - 1, s->nr_used, s->data_chunks);
	}
	if (dirty)
		__set_bit(loc / SNAPBLK_DESC_ENTRIES, s->dirty);
	spin_unlock(&s->lock);
}

/* Take the descriptors of block @b (current copy in @buf). */
static int snapblk_desc_parse(struct snapblk_exstore *s, void *buf, u32 b)
{
	struct snapblk_disk_desc *d = buf + sizeof(struct snapblk_disk_tb_header);
	u64 nr_chunks = snapblk_exstore_nr_chunks(s);
	u32 j;
	int ret;

	for (j = 0; j < SNAPBLK_DESC_ENTRIES; j++) {
		u32 loc = b * SNAPBLK_DESC_ENTRIES + j;
		u32 flags = le32_to_cpu(d[j].flags);
		struct snapblk_ver v = {
			.loc = loc,
			.first = le32_to_cpu(d[j].first),
			.last = le32_to_cpu(d[j].last),
			.private = !!(flags & SNAPBLK_DESC_PRIVATE),
			.done = !!(flags & SNAPBLK_DESC_DONE),
		};
		u64 chunk = le64_to_cpu(d[j].chunk);
		bool stale;

		if (!flags)
			continue;
		if (loc >= s->data_chunks || d[j].reserved ||
		    flags & ~(SNAPBLK_DESC_USED | SNAPBLK_DESC_PRIVATE |
			      SNAPBLK_DESC_DONE) ||
		    !(flags & SNAPBLK_DESC_USED) || chunk >= nr_chunks ||
		    !v.first || v.first > v.last || v.last >= s->next_id ||
		    (v.private && v.first != v.last))
			return -EUCLEAN;
		if (!snapblk_snap_live(s, v.first, v.last))
			continue;	/* its snapshots were deleted: free */
		/* the mark of a revert that has ended: cleared at the next commit */
		stale = v.done && !snapblk_exstore_reverting(s);
		if (stale)
			v.done = 0;
		ret = snapblk_ver_insert(s, chunk, &v);
		if (ret)
			return ret;
		snapblk_mark_used(s, loc, stale);
	}
	return 0;
}

/**
 * snapblk_exstore_load() - open an existing snapshot store.
 * @s: store whose @dev is open.
 * @origin_sectors: size of the origin it is attached to.
 *
 * Return: 0; -EINVAL if not a valid snapshot store; -EMEDIUMTYPE if it
 * was made for an origin of another size; -EUCLEAN if damaged; errno.
 */
int snapblk_exstore_load(struct snapblk_exstore *s, u64 origin_sectors)
{
	struct page *p0 = alloc_page(GFP_KERNEL), *p1 = alloc_page(GFP_KERNEL);
	struct page *cur;
	u32 b;
	int ret = -ENOMEM;

	snapblk_exstore_init(s);
	if (!p0 || !p1)
		goto out;
	ret = snapblk_sb_read(s->dev.bdev, p0);
	if (!ret)
		ret = snapblk_ssb_parse(s, page_address(p0), origin_sectors);
	if (!ret)
		ret = snapblk_exstore_alloc_maps(s);
	for (b = 0; !ret && b < s->table.nr_blocks; b++) {
		ret = snapblk_table_read(&s->table, s->crc_seed, b, p0, p1, &cur);
		if (!ret && cur)
			ret = snapblk_desc_parse(s, page_address(cur), b);
		cond_resched();
	}
	if (!ret)
		snapblk_exstore_update_latest(s);
	else
		snapblk_exstore_release(s);
out:
	if (p0)
		__free_page(p0);
	if (p1)
		__free_page(p1);
	return ret;
}

/**
 * snapblk_exstore_release() - free the memory of a snapshot store.
 * @s: the store.
 */
void snapblk_exstore_release(struct snapblk_exstore *s)
{
	struct snapblk_verlist *vl;
	unsigned long idx;

	xa_for_each(&s->vers, idx, vl)
		kfree(vl);
	xa_destroy(&s->vers);
	xa_destroy(&s->locs);
	kvfree(s->used);
	bitmap_free(s->dirty);
	bitmap_free(s->table.slot);
	s->used = NULL;
	s->dirty = NULL;
	s->table.slot = NULL;
}

static int snapblk_resize_bitmap(unsigned long **map, u32 old, u32 new)
{
	unsigned long *n = kvcalloc(BITS_TO_LONGS(new), sizeof(long), GFP_KERNEL);

	if (!n)
		return -ENOMEM;
	bitmap_copy(n, *map, old);
	kvfree(*map);
	*map = n;
	return 0;
}

/**
 * snapblk_exstore_grow() - use space the store device gained.
 * @s: the store; the origin is frozen (no copy-out runs, no I/O from
 *	reclaim).
 *
 * Return: 0 or a negative errno.
 */
int snapblk_exstore_grow(struct snapblk_exstore *s)
{
	u32 old_chunks = s->data_chunks, old_blocks = s->table.nr_blocks;
	sector_t old_sectors = s->store_sectors;
	int ret = 0;

	mutex_lock(&s->meta_lock);
	if (bdev_nr_sectors(s->dev.bdev) <= s->store_sectors)
		goto unlock;
	ret = snapblk_exstore_layout(s, bdev_nr_sectors(s->dev.bdev));
	if (!ret)
		ret = snapblk_resize_bitmap(&s->used, old_chunks, s->data_chunks);
	if (!ret)
		ret = snapblk_resize_bitmap(&s->dirty, old_blocks,
					    snapblk_exstore_blocks(s));
	if (!ret)
		ret = snapblk_resize_bitmap(&s->table.slot, old_blocks,
					    snapblk_exstore_blocks(s));
	if (ret) {
		snapblk_exstore_layout(s, old_sectors);
		goto unlock;
	}
	s->table.nr_blocks = snapblk_exstore_blocks(s);
	ret = snapblk_exstore_write_sb(s);
unlock:
	mutex_unlock(&s->meta_lock);
	return ret;
}

/**
 * snapblk_exstore_add_snap() - take a new snapshot in the store.
 * @s: the store; the origin is frozen.
 * @name: its NAME or "".
 * @flags: SNAPBLK_SNAP_BLOCK_WRITES or 0.
 * @fp: fingerprint of the origin now (snapblk_fingerprint()).
 * @id: out: its id.
 *
 * Return: 0; -ENOSPC when the store holds SNAPBLK_MAX_SNAPS; errno.
 */
int snapblk_exstore_add_snap(struct snapblk_exstore *s, const char *name,
			     u32 flags, u32 fp, u32 *id)
{
	struct snapblk_snapmeta *m = NULL;
	int i, ret;

	mutex_lock(&s->meta_lock);
	for (i = 0; i < SNAPBLK_MAX_SNAPS && !m; i++)
		if (!s->snaps[i].id)
			m = &s->snaps[i];
	ret = -ENOSPC;
	if (!m || s->next_id == U32_MAX)
		goto unlock;
	m->id = s->next_id++;
	m->flags = SNAPBLK_SNAP_LIVE | flags;
	m->created = ktime_get_real_seconds();
	m->fp = fp;
	strscpy_pad(m->name, name, sizeof(m->name));
	ret = snapblk_exstore_write_sb(s);
	if (ret) {
		memset(m, 0, sizeof(*m));
		s->next_id--;
		goto unlock;
	}
	*id = m->id;
	snapblk_exstore_update_latest(s);
unlock:
	mutex_unlock(&s->meta_lock);
	return ret;
}

/**
 * snapblk_exstore_snap() - the snapshot with @id, or NULL.
 * @s: the store.
 * @id: its id.
 *
 * Return: its metadata; the caller serialises with changes.
 */
struct snapblk_snapmeta *snapblk_exstore_snap(struct snapblk_exstore *s, u32 id)
{
	int i;

	for (i = 0; id && i < SNAPBLK_MAX_SNAPS; i++)
		if (s->snaps[i].id == id)
			return &s->snaps[i];
	return NULL;
}

/**
 * snapblk_exstore_nr_snaps() - how many snapshots the store holds.
 * @s: the store.
 *
 * Return: the count.
 */
unsigned int snapblk_exstore_nr_snaps(struct snapblk_exstore *s)
{
	unsigned int i, n = 0;

	for (i = 0; i < SNAPBLK_MAX_SNAPS; i++)
		n += !!s->snaps[i].id;
	return n;
}

/*
 * Drop the versions of @chunk that serve no snapshot any more; with
 * @undone, also the marks of a revert that ended.
 */
static void snapblk_prune_chunk(struct snapblk_exstore *s, u64 chunk,
				struct snapblk_verlist *vl, bool undone)
{
	struct snapblk_verlist *new;
	bool changed = false;
	u32 i, keep = 0;

	new = kmalloc(struct_size(new, v, vl->nr), GFP_NOIO | __GFP_NOFAIL);
	for (i = 0; i < vl->nr; i++) {
		struct snapblk_ver *v = &vl->v[i];

		if (!snapblk_snap_live(s, v->first, v->last)) {
			snapblk_exstore_free(s, v->loc);
			changed = true;
			continue;
		}
		new->v[keep] = *v;
		if (undone && v->done) {
			new->v[keep].done = 0;
			snapblk_mark_used(s, v->loc, true);
			changed = true;
		}
		keep++;
	}
	if (!changed) {
		kfree(new);
		return;
	}
	new->nr = keep;
	if (keep) {
		xa_store(&s->vers, chunk, new, GFP_NOIO | __GFP_NOFAIL);
	} else {
		xa_erase(&s->vers, chunk);
		kfree(new);
	}
	kfree_rcu(vl, rcu);
}

/**
 * snapblk_exstore_del_snap() - delete snapshot @id; free what only it used.
 * @s: the store; the snapshot's device is gone and the origin is frozen.
 * @id: the snapshot.
 *
 * Return: 0 or the errno of the superblock write (nothing is freed then).
 */
int snapblk_exstore_del_snap(struct snapblk_exstore *s, u32 id)
{
	struct snapblk_snapmeta *m;
	struct snapblk_verlist *vl;
	unsigned long chunk;
	bool undone;
	int ret;

	mutex_lock(&s->meta_lock);
	m = snapblk_exstore_snap(s, id);
	ret = -ENOENT;
	if (!m)
		goto unlock;
	undone = m->flags & SNAPBLK_SNAP_REVERTING;
	m->id = 0;
	ret = snapblk_exstore_write_sb(s);
	if (ret) {
		m->id = id;
		goto unlock;
	}
	memset(m, 0, sizeof(*m));
	snapblk_exstore_update_latest(s);
	/* the superblock no longer names @id: its chunks may be reused */
	xa_for_each(&s->vers, chunk, vl)
		snapblk_prune_chunk(s, chunk, vl, undone);
unlock:
	mutex_unlock(&s->meta_lock);
	return ret;
}

/**
 * snapblk_exstore_invalidate() - mark snapshot @id unusable.
 * @s: the store.
 * @id: the snapshot.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_exstore_invalidate(struct snapblk_exstore *s, u32 id)
{
	struct snapblk_snapmeta *m;
	int ret = -ENOENT;

	mutex_lock(&s->meta_lock);
	m = snapblk_exstore_snap(s, id);
	if (m) {
		m->flags |= SNAPBLK_SNAP_INVALID;
		snapblk_exstore_update_latest(s);
		ret = snapblk_exstore_write_sb(s);
	}
	mutex_unlock(&s->meta_lock);
	return ret;
}

/**
 * snapblk_exstore_rename() - record a new NAME for snapshot @id.
 * @s: the store.
 * @id: the snapshot.
 * @name: the NAME, valid.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_exstore_rename(struct snapblk_exstore *s, u32 id, const char *name)
{
	struct snapblk_snapmeta *m;
	int ret = -ENOENT;

	mutex_lock(&s->meta_lock);
	m = snapblk_exstore_snap(s, id);
	if (m) {
		strscpy_pad(m->name, name, sizeof(m->name));
		ret = snapblk_exstore_write_sb(s);
	}
	mutex_unlock(&s->meta_lock);
	return ret;
}

/**
 * snapblk_exstore_lookup() - where chunk @chunk of snapshot @id is kept.
 * @s: the store.
 * @chunk: origin chunk.
 * @id: snapshot.
 * @shared: ignore what the snapshot wrote (its origin's contents only).
 * @loc: out: the data chunk.
 *
 * Return: true if the store holds it; false if it is on the origin.
 */
bool snapblk_exstore_lookup(struct snapblk_exstore *s, u64 chunk, u32 id,
			    bool shared, u32 *loc)
{
	struct snapblk_verlist *vl;
	bool found = false;
	u32 i;

	rcu_read_lock();
	vl = xa_load(&s->vers, chunk);
	for (i = 0; vl && i < vl->nr; i++) {
		struct snapblk_ver *v = &vl->v[i];

		if (id < v->first || id > v->last || (shared && v->private))
			continue;
		*loc = v->loc;
		found = true;
		if (v->private)
			break;
	}
	rcu_read_unlock();
	return found;
}

/**
 * snapblk_exstore_start_revert() - record that snapshot @id is being
 *	copied back into the origin.
 * @s: the store; the origin is frozen.
 * @id: the snapshot.
 *
 * Return: 0 (also if it already was); -ENOENT; -EINVAL for an invalid
 * snapshot; -EBUSY if another snapshot of @s is being reverted; errno.
 */
int snapblk_exstore_start_revert(struct snapblk_exstore *s, u32 id)
{
	struct snapblk_snapmeta *m;
	u32 other;
	int ret = 0;

	mutex_lock(&s->meta_lock);
	m = snapblk_exstore_snap(s, id);
	other = snapblk_exstore_reverting(s);
	if (!m)
		ret = -ENOENT;
	else if (m->flags & SNAPBLK_SNAP_INVALID)
		ret = -EINVAL;
	else if (other && other != id)
		ret = -EBUSY;
	if (ret || other == id)
		goto unlock;
	m->flags |= SNAPBLK_SNAP_REVERTING;
	ret = snapblk_exstore_write_sb(s);
	if (ret)
		m->flags &= ~SNAPBLK_SNAP_REVERTING;
	snapblk_exstore_update_latest(s);
unlock:
	mutex_unlock(&s->meta_lock);
	return ret;
}

/**
 * snapblk_exstore_reverting() - the snapshot being reverted, if any.
 * @s: the store.
 *
 * Return: its id, or 0.
 */
u32 snapblk_exstore_reverting(struct snapblk_exstore *s)
{
	int i;

	for (i = 0; i < SNAPBLK_MAX_SNAPS; i++)
		if (s->snaps[i].id &&
		    (READ_ONCE(s->snaps[i].flags) & SNAPBLK_SNAP_REVERTING))
			return s->snaps[i].id;
	return 0;
}

/**
 * snapblk_exstore_revert_pending() - must chunk @chunk of snapshot @id
 *	still be copied back into the origin?
 * @s: the store.
 * @chunk: origin chunk.
 * @id: the snapshot being reverted.
 * @loc: out: the data chunk that holds its contents.
 *
 * Return: true if the store holds the chunk for @id and it was not
 * copied back yet.
 */
bool snapblk_exstore_revert_pending(struct snapblk_exstore *s, u64 chunk,
				    u32 id, u32 *loc)
{
	struct snapblk_verlist *vl;
	struct snapblk_ver *found = NULL;
	bool pending = false;
	u32 i;

	rcu_read_lock();
	vl = xa_load(&s->vers, chunk);
	for (i = 0; vl && i < vl->nr; i++) {
		struct snapblk_ver *v = &vl->v[i];

		if (id < v->first || id > v->last)
			continue;
		found = v;
		if (v->private)
			break;
	}
	if (found) {
		*loc = found->loc;
		pending = !found->done;
	}
	rcu_read_unlock();
	return pending;
}

/**
 * snapblk_exstore_mark_done() - the version in @loc is copied back.
 * @s: the store.
 * @chunk: its origin chunk.
 * @loc: its data chunk.
 *
 * Durable with the next commit.
 *
 * Return: 0, -ENOENT if there is no such version, or -ENOMEM.
 */
int snapblk_exstore_mark_done(struct snapblk_exstore *s, u64 chunk, u32 loc)
{
	struct snapblk_verlist *old, *new;
	struct snapblk_ver *v;
	int ret = -ENOENT;

	mutex_lock(&s->meta_lock);
	old = xa_load(&s->vers, chunk);
	if (!snapblk_ver_at(old, loc))
		goto unlock;
	ret = -ENOMEM;
	new = kmemdup(old, struct_size(old, v, old->nr), GFP_NOIO);
	if (!new)
		goto unlock;
	v = snapblk_ver_at(new, loc);
	v->done = 1;
	ret = xa_err(xa_store(&s->vers, chunk, new, GFP_NOIO));
	if (ret) {
		kfree(new);
		goto unlock;
	}
	kfree_rcu(old, rcu);
	snapblk_mark_used(s, loc, true);
unlock:
	mutex_unlock(&s->meta_lock);
	return ret;
}

/**
 * snapblk_exstore_find_private() - the data chunk snapshot @id wrote.
 * @s: the store.
 * @chunk: origin chunk.
 * @id: snapshot.
 * @loc: out: the data chunk.
 *
 * Return: true if snapshot @id has its own copy of @chunk.
 */
bool snapblk_exstore_find_private(struct snapblk_exstore *s, u64 chunk,
				  u32 id, u32 *loc)
{
	struct snapblk_verlist *vl;
	bool found = false;
	u32 i;

	rcu_read_lock();
	vl = xa_load(&s->vers, chunk);
	for (i = 0; vl && i < vl->nr && !found; i++) {
		if (vl->v[i].private && vl->v[i].first == id) {
			*loc = vl->v[i].loc;
			found = true;
		}
	}
	rcu_read_unlock();
	return found;
}

/**
 * snapblk_exstore_copied() - last snapshot id served by a copy of @chunk.
 * @s: the store.
 * @chunk: origin chunk.
 *
 * An origin write to @chunk must first copy it into this store if a
 * valid snapshot newer than this exists.
 *
 * Return: the id, 0 if the chunk was never copied.
 */
u32 snapblk_exstore_copied(struct snapblk_exstore *s, u64 chunk)
{
	struct snapblk_verlist *vl;
	u32 i, last = 0;

	rcu_read_lock();
	vl = xa_load(&s->vers, chunk);
	for (i = 0; vl && i < vl->nr; i++)
		if (!vl->v[i].private)
			last = max(last, vl->v[i].last);
	rcu_read_unlock();
	return last;
}

/**
 * snapblk_exstore_alloc() - take a free data chunk.
 * @s: the store.
 * @loc: out: the chunk.
 *
 * Return: 0 or -ENOSPC.
 */
int snapblk_exstore_alloc(struct snapblk_exstore *s, u32 *loc)
{
	u32 c;

	spin_lock(&s->lock);
	c = find_next_zero_bit(s->used, s->data_chunks, s->hint);
	if (c >= s->data_chunks)
		c = find_first_zero_bit(s->used, s->data_chunks);
	if (c >= s->data_chunks) {
		spin_unlock(&s->lock);
		return -ENOSPC;
	}
	__set_bit(c, s->used);
	s->nr_used++;
	snapblk_level_note(s->nr_used - 1, s->nr_used, s->data_chunks);
	s->hint = c + 1;
	spin_unlock(&s->lock);
	*loc = c;
	return 0;
}

/**
 * snapblk_exstore_free() - give a data chunk back.
 * @s: the store.
 * @loc: the chunk; no version may point at it any more.
 */
void snapblk_exstore_free(struct snapblk_exstore *s, u32 loc)
{
	bool described = xa_erase(&s->locs, loc);

	spin_lock(&s->lock);
	if (__test_and_clear_bit(loc, s->used)) {
		s->nr_used--;
		snapblk_level_note(s->nr_used + 1, s->nr_used, s->data_chunks);
	}
	if (described)
		__set_bit(loc / SNAPBLK_DESC_ENTRIES, s->dirty);
	spin_unlock(&s->lock);
}

/**
 * snapblk_exstore_add_ver() - record a version whose data is written.
 * @s: the store.
 * @chunk: origin chunk.
 * @ver: the version; its data chunk came from snapblk_exstore_alloc().
 *
 * Return: 0 or a negative errno.
 */
int snapblk_exstore_add_ver(struct snapblk_exstore *s, u64 chunk,
			    const struct snapblk_ver *ver)
{
	struct snapblk_ver v = *ver;
	u32 k;
	int ret;

	mutex_lock(&s->meta_lock);
	/*
	 * A shared copy made while snapshot k is reverted, for a run that
	 * holds k, is of a chunk k shows from the origin (else the run would
	 * start after k): nothing to copy back, and the origin write that
	 * needed the copy must stay.
	 */
	k = snapblk_exstore_reverting(s);
	if (k && !v.private && v.first <= k && k <= v.last)
		v.done = 1;
	ret = snapblk_ver_insert(s, chunk, &v);
	if (!ret)
		snapblk_mark_used(s, v.loc, true);
	mutex_unlock(&s->meta_lock);
	return ret;
}

/**
 * snapblk_exstore_commit() - make data written and versions recorded
 *	so far durable.
 * @s: the store.
 *
 * Return: 0 or a negative errno (the dirty blocks stay dirty).
 */
int snapblk_exstore_commit(struct snapblk_exstore *s)
{
	unsigned long *taken;
	u32 blocks;
	int ret;

	mutex_lock(&s->meta_lock);
	blocks = s->table.nr_blocks;
	taken = bitmap_zalloc(blocks, GFP_NOIO);
	ret = -ENOMEM;
	if (!taken)
		goto unlock;
	spin_lock(&s->lock);
	bitmap_copy(taken, s->dirty, blocks);
	bitmap_zero(s->dirty, blocks);
	spin_unlock(&s->lock);
	ret = snapblk_table_commit(&s->table, taken);
	if (ret) {
		spin_lock(&s->lock);
		bitmap_or(s->dirty, s->dirty, taken, blocks);
		spin_unlock(&s->lock);
	}
	bitmap_free(taken);
unlock:
	mutex_unlock(&s->meta_lock);
	return ret;
}
