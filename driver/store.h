/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk store: the copy-on-write exception store on a block device.
 *
 * A store maps chunks of a parent device to chunks of its data area,
 * with per-granule validity, and commits that mapping to disk on
 * demand (see format.h for the layout). It knows nothing of bios from
 * users; the overlay I/O path (overlay.c) drives it.
 */
#ifndef SNAPBLK_STORE_H
#define SNAPBLK_STORE_H

#include <linux/mutex.h>
#include <linux/snapblk.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include "compat.h"
#include "format.h"
#include "meta.h"

/*
 * In-memory mapping entry, kept as an xarray value (63 bits):
 * bits 0-30 data chunk + 1 (0: none), 31-46 valid mask, 47-62 zero mask.
 */
#define SNAPBLK_E_CHUNK_BITS	31
#define SNAPBLK_E_MASK_BITS	16
#define SNAPBLK_MAX_DATA_CHUNKS	((1U << SNAPBLK_E_CHUNK_BITS) - 1)

static inline u32 snapblk_e_chunk(u64 e)
{
	return e & ((1ULL << SNAPBLK_E_CHUNK_BITS) - 1);
}

static inline u16 snapblk_e_valid(u64 e)
{
	return (e >> SNAPBLK_E_CHUNK_BITS) & 0xffff;
}

static inline u16 snapblk_e_zero(u64 e)
{
	return (e >> (SNAPBLK_E_CHUNK_BITS + SNAPBLK_E_MASK_BITS)) & 0xffff;
}

static inline u64 snapblk_e_make(u32 chunk_plus1, u16 valid, u16 zero)
{
	return (u64)chunk_plus1 | (u64)valid << SNAPBLK_E_CHUNK_BITS |
	       (u64)zero << (SNAPBLK_E_CHUNK_BITS + SNAPBLK_E_MASK_BITS);
}

/**
 * struct snapblk_store_geo - what a store is made for; input of format.
 * @kind: SNAPBLK_KIND_* of the owner.
 * @chunk_shift: log2 of the chunk size in bytes.
 * @parent_sectors: size of the parent device.
 * @parent_fp: fingerprint of the parent's contents.
 * @parent_uuid: store UUID of a snapblk parent, or zeroes.
 * @name: NAME of the device.
 */
struct snapblk_store_geo {
	u32 kind;
	unsigned int chunk_shift;
	u64 parent_sectors;
	u32 parent_fp;
	u8 parent_uuid[16];
	char name[SNAPBLK_NAME_LEN];
};

/**
 * struct snapblk_store - an open store.
 * @dev: the store's block device, claimed.
 * @geo: what the store is made for (as recorded in the superblock).
 * @uuid: identity of the store.
 * @crc_seed: checksum seed of table blocks, derived from @uuid.
 * @granule_shift: log2 of the validity granule in bytes.
 * @chunk_sects_shift: log2 of the chunk size in sectors.
 * @granules: granules per chunk (1..16).
 * @nr_chunks: parent chunks.
 * @table_blocks: table blocks per slot.
 * @data_start: first sector of the data area.
 * @store_sectors: sectors of the store device in use by the layout.
 * @data_chunks: chunks in the data area.
 * @map: parent chunk -> packed entry (snapblk_e_*). Its xa_lock (taken
 *	with interrupts off) also guards @dirty, @used, @freed, @nr_freed,
 *	@nr_used and @alloc_hint.
 * @dirty: table blocks changed since they were last committed.
 * @used: data chunks that hold a mapping.
 * @freed: data chunks unmapped since the last commit; they stay in
 *	@used until a commit has recorded that nothing points at them.
 * @nr_freed: bits set in @freed.
 * @nr_used: bits set in @used.
 * @alloc_hint: where the next search for a free data chunk starts.
 * @commit_lock: serialises commits, superblock writes and grow; guards
 *	@table, @sb_generation, @state and the geometry on grow.
 * @table: the mapping table on disk (slots, generation).
 * @sb_generation: generation of the last superblock write.
 * @state: SNAPBLK_SB_STATE_* recorded in the superblock.
 */
struct snapblk_store {
	struct snapblk_bdev dev;
	struct snapblk_store_geo geo;
	u8 uuid[16];
	u32 crc_seed;
	unsigned int granule_shift;
	unsigned int chunk_sects_shift;
	unsigned int granules;
	u64 nr_chunks;
	u32 table_blocks;
	sector_t data_start;
	sector_t store_sectors;
	u32 data_chunks;

	struct xarray map;
	unsigned long *dirty;
	unsigned long *used;
	unsigned long *freed;
	u32 nr_freed;
	u32 nr_used;
	u32 alloc_hint;

	/* serialises commits, superblock writes and grow */
	struct mutex commit_lock;
	struct snapblk_table table;
	u64 sb_generation;
	u32 state;
};

int snapblk_store_format(struct snapblk_store *st,
			 const struct snapblk_store_geo *geo);
int snapblk_store_load(struct snapblk_store *st, u32 kind);
void snapblk_store_release(struct snapblk_store *st);
int snapblk_store_discard(struct snapblk_store *st);
int snapblk_store_grow(struct snapblk_store *st);

int snapblk_store_map_new(struct snapblk_store *st, u64 chunk, u64 *entry);
void snapblk_store_update(struct snapblk_store *st, u64 chunk, u64 entry);
int snapblk_store_set(struct snapblk_store *st, u64 chunk, u64 entry);
int snapblk_store_commit(struct snapblk_store *st);
void snapblk_store_unmap(struct snapblk_store *st, u64 chunk);
int snapblk_store_set_state(struct snapblk_store *st, u32 state, u32 parent_fp);

int snapblk_store_rename(struct snapblk_store *st, const char *name);

/* The packed entry of @chunk, 0 when unmapped. Safe in any context. */
static inline u64 snapblk_store_lookup(struct snapblk_store *st, u64 chunk)
{
	void *v = xa_load(&st->map, chunk);

	return v ? xa_to_value(v) : 0;
}

/* First sector of data chunk @chunk_plus1 - 1. */
static inline sector_t snapblk_store_sector(struct snapblk_store *st,
					    u32 chunk_plus1)
{
	return st->data_start +
	       ((sector_t)(chunk_plus1 - 1) << st->chunk_sects_shift);
}

static inline u64 snapblk_store_used_bytes(struct snapblk_store *st)
{
	return ((u64)st->data_start << SECTOR_SHIFT) +
	       ((u64)READ_ONCE(st->nr_used) << st->geo.chunk_shift);
}

#endif /* SNAPBLK_STORE_H */
