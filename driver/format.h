/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk: the on-disk format of a store (version 1).
 *
 * All integers are little-endian. The layout, in 4 KiB blocks:
 *
 *   block 0, 1            superblock, two copies (A/B)
 *   block 2 ...           mapping table: table_blocks pairs of blocks,
 *                         pair i = copies (slot 0, slot 1) of table block i
 *   data_start ...        data chunks, chunk_size each, aligned to it
 *
 * Each copy carries a generation and a checksum; the valid copy with the
 * highest generation is the current one, and an update always writes
 * the other copy, so a torn write never destroys the last committed one.
 * Checksums are CRC-32 (IEEE, little-endian) seeded with the store UUID
 * (table blocks) or ~0 (superblock), computed with the csum field zero.
 * A table block whose magic, UUID seed or index does not match was never
 * written by this store and reads as empty, so formatting does not have
 * to clear the table area. See docs/store-format.md.
 */
#ifndef SNAPBLK_FORMAT_H
#define SNAPBLK_FORMAT_H

#include <linux/bits.h>
#include <linux/types.h>

#define SNAPBLK_SB_MAGIC	0x314b4c4250414e53ULL	/* "SNAPBLK1" */
#define SNAPBLK_TB_MAGIC	0x42544253U		/* "SBTB" */
#define SNAPBLK_FORMAT_VERSION	1

#define SNAPBLK_META_BLOCK	4096
#define SNAPBLK_META_SHIFT	12
#define SNAPBLK_META_SECTORS	(SNAPBLK_META_BLOCK >> SECTOR_SHIFT)
#define SNAPBLK_SB_COPIES	2
#define SNAPBLK_TABLE_START	(SNAPBLK_SB_COPIES * SNAPBLK_META_SECTORS)

/* store states recorded in the superblock */
#define SNAPBLK_SB_STATE_ACTIVE	1
#define SNAPBLK_SB_STATE_COMMITTING	2	/* a commit into the parent runs */

/**
 * struct snapblk_disk_sb - superblock (one 4 KiB block, rest zero).
 * @magic: SNAPBLK_SB_MAGIC.
 * @csum: CRC-32 of the whole 4 KiB block with @csum zero.
 * @version: SNAPBLK_FORMAT_VERSION.
 * @generation: bumped at each write; the highest valid copy wins.
 * @kind: SNAPBLK_KIND_* of the device the store belongs to.
 * @flags: must be zero in version 1.
 * @uuid: identity of the store; seeds the table checksums.
 * @name: NAME of the device, NUL padded.
 * @chunk_shift: log2 of the chunk size in bytes (12..20).
 * @granule_shift: log2 of the validity granule in bytes.
 * @parent_sectors: size of the parent (base) device in 512-byte sectors.
 * @parent_fp: fingerprint of the parent's contents (sampled blocks).
 * @state: SNAPBLK_SB_STATE_*.
 * @parent_uuid: store UUID of the parent when it is a snapblk overlay.
 * @store_sectors: size of the store device this layout uses.
 * @nr_chunks: chunks of the parent covered by the table.
 * @table_blocks: table blocks per slot.
 * @entries_per_block: mapping entries per table block.
 * @data_start: first sector of the data area.
 * @data_chunks: chunks in the data area.
 * @reserved: zero.
 */
struct snapblk_disk_sb {
	__le64 magic;
	__le32 csum;
	__le32 version;
	__le64 generation;
	__le32 kind;
	__le32 flags;
	__u8 uuid[16];
	char name[32];
	__le32 chunk_shift;
	__le32 granule_shift;
	__le64 parent_sectors;
	__le32 parent_fp;
	__le32 state;
	__u8 parent_uuid[16];
	__le64 store_sectors;
	__le64 nr_chunks;
	__le32 table_blocks;
	__le32 entries_per_block;
	__le64 data_start;
	__le64 data_chunks;
	__le64 reserved[16];
};

/**
 * struct snapblk_disk_tb_header - head of a mapping table block.
 * @csum: CRC-32 of the 4 KiB block with @csum zero, seeded by the UUID.
 * @magic: SNAPBLK_TB_MAGIC.
 * @generation: commit generation that wrote this copy.
 * @index: number of this table block.
 * @reserved: zero.
 */
struct snapblk_disk_tb_header {
	__le32 csum;
	__le32 magic;
	__le64 generation;
	__le64 index;
	__le64 reserved;
};

/**
 * struct snapblk_disk_entry - mapping of one parent chunk.
 * @chunk: 1 + the data chunk holding it, or 0 when it has none;
 *	bit 31 must be zero.
 * @valid: granules whose data is in the store chunk.
 * @zero: granules that read as zeroes (discarded); disjoint from @valid.
 *
 * Granules in neither mask read from the parent.
 */
struct snapblk_disk_entry {
	__le32 chunk;
	__le16 valid;
	__le16 zero;
};

#define SNAPBLK_TB_ENTRIES \
	((SNAPBLK_META_BLOCK - sizeof(struct snapblk_disk_tb_header)) / \
	 sizeof(struct snapblk_disk_entry))

/*
 * Snapshot stores (kind SNAPBLK_KIND_SNAPSHOT) hold the preserved chunks
 * of one origin for up to SNAPBLK_MAX_SNAPS snapshots. Block 0/1 are
 * superblock copies (struct snapblk_disk_ssb). From data_start the store
 * is a sequence of areas: two 4 KiB descriptor blocks (slots 0 and 1 of
 * descriptor block i, same A/B rule as the overlay table) followed by
 * SNAPBLK_DESC_ENTRIES data chunks. Descriptor j of area i describes
 * data chunk i * SNAPBLK_DESC_ENTRIES + j: which origin chunk it holds
 * and for which snapshots, so a chunk copied once serves every snapshot
 * taken since that origin chunk was last copied.
 */
#define SNAPBLK_MAX_SNAPS	32

/* snapblk_disk_snap.flags */
#define SNAPBLK_SNAP_LIVE		BIT(0)
#define SNAPBLK_SNAP_INVALID		BIT(1)
#define SNAPBLK_SNAP_BLOCK_WRITES	BIT(2)
#define SNAPBLK_SNAP_REVERTING		BIT(3)	/* being copied back into the origin */
#define SNAPBLK_SNAP_FLAGS \
	(SNAPBLK_SNAP_LIVE | SNAPBLK_SNAP_INVALID | SNAPBLK_SNAP_BLOCK_WRITES | \
	 SNAPBLK_SNAP_REVERTING)

/**
 * struct snapblk_disk_snap - one snapshot of a snapshot store.
 * @id: its number, increasing with the time it was taken; 0: empty slot.
 * @flags: SNAPBLK_SNAP_*.
 * @created: wall-clock seconds when it was taken.
 * @name: NAME of its device, NUL padded; empty: the default.
 * @fp: fingerprint of the origin as this snapshot shows it; checked
 *	when the store is attached again.
 * @reserved0: zero.
 * @reserved: zero.
 */
struct snapblk_disk_snap {
	__le32 id;
	__le32 flags;
	__le64 created;
	char name[32];
	__le32 fp;
	__le32 reserved0;
	__le64 reserved;
};

/**
 * struct snapblk_disk_ssb - superblock of a snapshot store.
 * @magic: SNAPBLK_SB_MAGIC.
 * @csum: CRC-32 of the block with @csum zero.
 * @version: SNAPBLK_FORMAT_VERSION.
 * @generation: bumped at each write; the highest valid copy wins.
 * @kind: SNAPBLK_KIND_SNAPSHOT.
 * @flags: zero.
 * @uuid: identity of the store; seeds the descriptor checksums.
 * @chunk_shift: log2 of the chunk size in bytes.
 * @next_id: the id the next snapshot gets.
 * @origin_sectors: size of the origin.
 * @reserved1: zero.
 * @reserved0: zero.
 * @store_sectors: size of the store device the layout uses.
 * @data_start: first sector of the first area.
 * @data_chunks: data chunks in all areas.
 * @reserved: zero.
 * @snaps: the snapshots.
 */
struct snapblk_disk_ssb {
	__le64 magic;
	__le32 csum;
	__le32 version;
	__le64 generation;
	__le32 kind;
	__le32 flags;
	__u8 uuid[16];
	__le32 chunk_shift;
	__le32 next_id;
	__le64 origin_sectors;
	__le32 reserved1;
	__le32 reserved0;
	__le64 store_sectors;
	__le64 data_start;
	__le64 data_chunks;
	__le64 reserved[8];
	struct snapblk_disk_snap snaps[SNAPBLK_MAX_SNAPS];
};

/* snapblk_disk_desc.flags */
#define SNAPBLK_DESC_USED	BIT(0)	/* holds a preserved chunk */
#define SNAPBLK_DESC_PRIVATE	BIT(1)	/* written through snapshot @first */
#define SNAPBLK_DESC_DONE	BIT(2)	/* copied back for the reverting snapshot */

/**
 * struct snapblk_disk_desc - what one data chunk of a snapshot store holds.
 * @chunk: the origin chunk.
 * @first: first snapshot id it serves.
 * @last: last snapshot id it serves (== @first when private).
 * @flags: SNAPBLK_DESC_*; 0: the data chunk is free.
 * @reserved: zero.
 */
struct snapblk_disk_desc {
	__le64 chunk;
	__le32 first;
	__le32 last;
	__le32 flags;
	__le32 reserved;
};

#define SNAPBLK_DESC_ENTRIES \
	((SNAPBLK_META_BLOCK - sizeof(struct snapblk_disk_tb_header)) / \
	 sizeof(struct snapblk_disk_desc))

#endif /* SNAPBLK_FORMAT_H */
