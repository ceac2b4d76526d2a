/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk metadata blocks: synchronous block I/O, checksummed 4 KiB
 * blocks kept in two copies (A/B) with generations, and the commit of a
 * table of such blocks. Shared by the overlay store (store.c) and the
 * snapshot store (exstore.c).
 */
#ifndef SNAPBLK_META_H
#define SNAPBLK_META_H

#include <linux/blkdev.h>
#include <linux/types.h>

#include "format.h"

int snapblk_sync_io(struct block_device *bdev, sector_t sector,
		    struct page *page, unsigned int bytes, blk_opf_t opf);
int snapblk_sync_io_pages(struct block_device *bdev, sector_t sector,
			  struct page **pages, unsigned int bytes, blk_opf_t opf);
struct page **snapblk_pages_alloc(unsigned int bytes);
void snapblk_pages_free(struct page **pages);
int snapblk_meta_io(struct block_device *bdev, sector_t sector,
		    struct page *page, blk_opf_t opf);
typedef struct block_device *(*snapblk_fp_map_t)(void *owner, sector_t *sector);
u32 snapblk_fingerprint_view(sector_t size, snapblk_fp_map_t map, void *owner);
u32 snapblk_fingerprint(struct block_device *bdev);
bool snapblk_name_valid(const char *name, size_t len);
u32 snapblk_uuid_seed(const u8 *uuid);

int snapblk_sb_read(struct block_device *bdev, struct page *page);
int snapblk_sb_write(struct block_device *bdev, struct page *page, u64 gen);
int snapblk_sb_clear(struct block_device *bdev);

bool snapblk_tb_check(u32 seed, void *buf, u32 index, u64 *gen);
void snapblk_tb_seal(u32 seed, void *buf, u32 index, u64 gen);

/**
 * struct snapblk_table - a table of 4 KiB blocks, each kept in two slots.
 * @bdev: the device.
 * @nr_blocks: blocks in the table.
 * @slot: bit i set when the current copy of block i is slot 1.
 * @generation: generation of the last commit.
 * @owner: passed to the callbacks.
 * @sector: where slot @slot of block @block lives.
 * @build: fill @buf with the image of block @block (header included;
 *	snapblk_tb_seal() it with @gen).
 *
 * The caller serialises commits; @slot and @generation belong to it.
 */
struct snapblk_table {
	struct block_device *bdev;
	u32 nr_blocks;
	unsigned long *slot;
	u64 generation;
	void *owner;
	sector_t (*sector)(void *owner, u32 block, unsigned int slot);
	void (*build)(void *owner, void *buf, u32 block, u64 gen);
};

int snapblk_table_commit(struct snapblk_table *t, unsigned long *taken);
int snapblk_table_read(struct snapblk_table *t, u32 seed, u32 index,
		       struct page *p0, struct page *p1, struct page **cur);

#endif /* SNAPBLK_META_H */
