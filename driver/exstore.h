/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk snapshot store: the preserved chunks of one origin, shared by
 * every snapshot that store holds.
 *
 * A version is one preserved copy of an origin chunk. A shared version
 * serves the run of snapshots [first, last]: those taken after the chunk
 * was last copied, up to the copy. A private version holds what one
 * snapshot wrote. Reading chunk c of snapshot k finds k's private
 * version, else the shared version whose run holds k, else the origin.
 */
#ifndef SNAPBLK_EXSTORE_H
#define SNAPBLK_EXSTORE_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/snapblk.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>

#include "compat.h"
#include "format.h"
#include "meta.h"

struct snapblk_dev;

/**
 * struct snapblk_ver - one preserved chunk.
 * @loc: data chunk that holds it.
 * @first: first snapshot id it serves.
 * @last: last snapshot id it serves.
 * @private: it holds writes through snapshot @first (== @last).
 * @done: a revert to a snapshot it serves has copied it back into the
 *	origin (only one snapshot of a store is reverted at a time).
 */
struct snapblk_ver {
	u32 loc;
	u32 first;
	u32 last;
	u16 private;
	u16 done;
};

/**
 * struct snapblk_verlist - the versions of one origin chunk; replaced
 *	whole (RCU) when it changes.
 * @rcu: for freeing after readers.
 * @nr: versions in @v.
 * @v: the versions.
 */
struct snapblk_verlist {
	struct rcu_head rcu;
	u32 nr;
	struct snapblk_ver v[];
};

/**
 * struct snapblk_snapmeta - a snapshot of the store, as in the superblock.
 * @id: its number; 0 for an empty slot.
 * @flags: SNAPBLK_SNAP_*.
 * @created: wall-clock seconds when it was taken.
 * @name: its NAME or empty.
 * @fp: fingerprint of the origin as the snapshot shows it.
 * @dev: its device while attached, else NULL.
 */
struct snapblk_snapmeta {
	u32 id;
	u32 flags;
	u64 created;
	char name[SNAPBLK_NAME_LEN];
	u32 fp;
	struct snapblk_dev *dev;
};

/**
 * struct snapblk_exstore - an open snapshot store.
 * @dev: the store device, claimed.
 * @node: in the origin's list of stores.
 * @uuid: identity of the store.
 * @crc_seed: checksum seed of the descriptor blocks.
 * @chunk_shift: log2 of the chunk size in bytes.
 * @chunk_sects_shift: log2 of the chunk size in sectors.
 * @origin_sectors: size of the origin.
 * @store_sectors: size of the store device the layout uses.
 * @data_start: first sector of the first area.
 * @data_chunks: data chunks.
 * @area_sects: sectors of one area (two descriptor blocks and the chunks).
 * @meta_lock: serialises changes of versions, snapshots, the superblock
 *	and commits; guards @snaps, @next_id, @sb_generation, @table.
 * @next_id: id of the next snapshot.
 * @sb_generation: generation of the last superblock write.
 * @snaps: the snapshots.
 * @vers: origin chunk -> struct snapblk_verlist (RCU readers).
 * @lock: guards @locs, @used, @nr_used, @hint, @dirty, @latest.
 * @locs: data chunk in use -> origin chunk (xarray value).
 * @used: data chunks in use.
 * @nr_used: bits set in @used.
 * @hint: where the next free data chunk search starts.
 * @dirty: descriptor blocks changed since they were committed.
 * @latest: highest id of a live, valid snapshot; 0 if none.
 * @table: the descriptor blocks on disk.
 * @cow_lock: guards @cows.
 * @cows: copy-outs whose data is written, waiting for a commit.
 * @commit_work: commits the store for @cows (run by the origin).
 */
struct snapblk_exstore {
	struct snapblk_bdev dev;
	struct list_head node;
	u8 uuid[16];
	u32 crc_seed;
	unsigned int chunk_shift;
	unsigned int chunk_sects_shift;
	u64 origin_sectors;
	sector_t store_sectors;
	sector_t data_start;
	u32 data_chunks;
	sector_t area_sects;

	/* guards snaps, next_id, sb_generation, table; serialises vers changes */
	struct mutex meta_lock;
	u32 next_id;
	u64 sb_generation;
	struct snapblk_snapmeta snaps[SNAPBLK_MAX_SNAPS];
	struct xarray vers;

	/* guards locs, used, nr_used, hint, dirty, latest */
	spinlock_t lock;
	struct xarray locs;
	unsigned long *used;
	u32 nr_used;
	u32 hint;
	unsigned long *dirty;
	u32 latest;

	struct snapblk_table table;

	/* guards cows */
	spinlock_t cow_lock;
	struct list_head cows;
	struct work_struct commit_work;
};

int snapblk_exstore_format(struct snapblk_exstore *s, u64 origin_sectors,
			   unsigned int chunk_shift);
int snapblk_exstore_load(struct snapblk_exstore *s, u64 origin_sectors);
void snapblk_exstore_release(struct snapblk_exstore *s);
int snapblk_exstore_grow(struct snapblk_exstore *s);

int snapblk_exstore_add_snap(struct snapblk_exstore *s, const char *name,
			     u32 flags, u32 fp, u32 *id);
int snapblk_exstore_del_snap(struct snapblk_exstore *s, u32 id);
int snapblk_exstore_invalidate(struct snapblk_exstore *s, u32 id);
int snapblk_exstore_rename(struct snapblk_exstore *s, u32 id, const char *name);
struct snapblk_snapmeta *snapblk_exstore_snap(struct snapblk_exstore *s, u32 id);
unsigned int snapblk_exstore_nr_snaps(struct snapblk_exstore *s);

bool snapblk_exstore_lookup(struct snapblk_exstore *s, u64 chunk, u32 id,
			    bool shared, u32 *loc);

/* Where chunk @chunk of snapshot @id is kept, if in the store. */
static inline bool snapblk_exstore_find(struct snapblk_exstore *s, u64 chunk,
					u32 id, u32 *loc)
{
	return snapblk_exstore_lookup(s, chunk, id, false, loc);
}

int snapblk_exstore_start_revert(struct snapblk_exstore *s, u32 id);
u32 snapblk_exstore_reverting(struct snapblk_exstore *s);
bool snapblk_exstore_revert_pending(struct snapblk_exstore *s, u64 chunk,
				    u32 id, u32 *loc);
int snapblk_exstore_mark_done(struct snapblk_exstore *s, u64 chunk, u32 loc);
bool snapblk_exstore_find_private(struct snapblk_exstore *s, u64 chunk,
				  u32 id, u32 *loc);
u32 snapblk_exstore_copied(struct snapblk_exstore *s, u64 chunk);
int snapblk_exstore_alloc(struct snapblk_exstore *s, u32 *loc);
void snapblk_exstore_free(struct snapblk_exstore *s, u32 loc);
int snapblk_exstore_add_ver(struct snapblk_exstore *s, u64 chunk,
			    const struct snapblk_ver *ver);
int snapblk_exstore_commit(struct snapblk_exstore *s);

/* First sector of data chunk @loc. */
static inline sector_t snapblk_exstore_sector(struct snapblk_exstore *s,
					      u32 loc)
{
	u32 area = loc / SNAPBLK_DESC_ENTRIES, j = loc % SNAPBLK_DESC_ENTRIES;

	return s->data_start + (sector_t)area * s->area_sects +
	       2 * SNAPBLK_META_SECTORS + ((sector_t)j << s->chunk_sects_shift);
}

static inline u64 snapblk_exstore_used_bytes(struct snapblk_exstore *s)
{
	return ((u64)s->data_start << SECTOR_SHIFT) +
	       ((u64)READ_ONCE(s->nr_used) << s->chunk_shift);
}

#endif /* SNAPBLK_EXSTORE_H */
