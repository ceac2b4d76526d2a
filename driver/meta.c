// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk metadata blocks.
 *
 * Every metadata block is 4 KiB with a CRC-32 over the whole block
 * (checksum field zero). Superblocks live in blocks 0 and 1 and start
 * with magic, csum, version, generation; the valid copy with the higher
 * generation wins. Table blocks start with struct snapblk_disk_tb_header
 * and are kept in two slots; a commit writes the slot that is not
 * current, so a torn write never loses the last committed copy.
 */
#include <linux/bio.h>
#include <linux/crc32.h>
#include <linux/ctype.h>
#include <linux/slab.h>

#include "meta.h"

#define SNAPBLK_FP_SAMPLES	16

/* Only the head that both kinds of superblock share. */
struct snapblk_disk_sb_head {
	__le64 magic;
	__le32 csum;
	__le32 version;
	__le64 generation;
};

static u32 snapblk_csum(u32 seed, void *block, __le32 *field)
{
	*field = 0;
	return crc32_le(seed, block, SNAPBLK_META_BLOCK);
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

/**
 * snapblk_meta_io() - synchronous I/O of one 4 KiB metadata block.
 * @bdev: device.
 * @sector: where.
 * @page: the block.
 * @opf: operation and flags.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_meta_io(struct block_device *bdev, sector_t sector,
		    struct page *page, blk_opf_t opf)
{
	return snapblk_sync_io(bdev, sector, page, SNAPBLK_META_BLOCK, opf);
}

/**
 * snapblk_fingerprint_view() - CRC of sampled blocks of a device's view.
 * @size: sectors of the view.
 * @map: where a sector of the view lives: returns the device and
 *	changes *@sector to the sector on it.
 * @owner: passed to @map.
 *
 * Reads SNAPBLK_FP_SAMPLES 4 KiB blocks spread over the view. Used to
 * check on attach that a parent is the one a store was made on.
 *
 * Return: the fingerprint; 0 if a block could not be read.
 */
u32 snapblk_fingerprint_view(sector_t size, snapblk_fp_map_t map, void *owner)
{
	struct page *page = alloc_page(GFP_KERNEL);
	u32 crc = ~0U;
	int i;

	if (!page)
		return 0;
	for (i = 0; i < SNAPBLK_FP_SAMPLES; i++) {
		sector_t s = div_u64(size * i, SNAPBLK_FP_SAMPLES);
		struct block_device *bdev;

		s = round_down(s, SNAPBLK_META_SECTORS);
		if (s + SNAPBLK_META_SECTORS > size)
			break;
		bdev = map(owner, &s);
		if (snapblk_meta_io(bdev, s, page, REQ_OP_READ)) {
			crc = 0;
			break;
		}
		crc = crc32_le(crc, page_address(page), SNAPBLK_META_BLOCK);
	}
	__free_page(page);
	return crc;
}

static struct block_device *snapblk_fp_identity(void *owner, sector_t *sector)
{
	return owner;
}

/**
 * snapblk_fingerprint() - CRC of sampled blocks of a device.
 * @bdev: the device.
 *
 * Return: the fingerprint; 0 if the device could not be read.
 */
u32 snapblk_fingerprint(struct block_device *bdev)
{
	return snapblk_fingerprint_view(bdev_nr_sectors(bdev),
					snapblk_fp_identity, bdev);
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
	/* ASCII only: isalnum() also takes Latin-1 letters */
	for (i = 0; name[i]; i++)
		if (!isascii(name[i]) || (!isalnum(name[i]) && !strchr("._-", name[i])))
			return false;
	return true;
}

/**
 * snapblk_uuid_seed() - checksum seed of the table blocks of a store.
 * @uuid: the store's 16-byte UUID.
 *
 * Return: the seed.
 */
u32 snapblk_uuid_seed(const u8 *uuid)
{
	return crc32_le(~0U, uuid, 16);
}

/*
 * Generations only grow by one per write; one this large is forged, and
 * would wrap to zero on the next write and lose to the older copy.
 */
#define SNAPBLK_GEN_MAX		(U64_MAX >> 1)

static bool snapblk_sb_valid(void *block)
{
	struct snapblk_disk_sb_head *h = block;
	u32 want = le32_to_cpu(h->csum);

	return le64_to_cpu(h->magic) == SNAPBLK_SB_MAGIC &&
	       le64_to_cpu(h->generation) <= SNAPBLK_GEN_MAX &&
	       snapblk_csum(~0U, block, &h->csum) == want;
}

/**
 * snapblk_sb_read() - read both superblock copies, keep the newest valid.
 * @bdev: the store device.
 * @page: receives the chosen copy.
 *
 * Return: 0; -EINVAL if neither copy is a snapblk superblock; an errno.
 */
int snapblk_sb_read(struct block_device *bdev, struct page *page)
{
	struct page *other = alloc_page(GFP_KERNEL);
	struct snapblk_disk_sb_head *a = page_address(page), *b;
	bool va, vb;
	int ret;

	if (!other)
		return -ENOMEM;
	b = page_address(other);
	ret = snapblk_meta_io(bdev, 0, page, REQ_OP_READ);
	if (!ret)
		ret = snapblk_meta_io(bdev, SNAPBLK_META_SECTORS, other,
				      REQ_OP_READ);
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
 * snapblk_sb_write() - write a filled superblock durably into copy @gen % 2.
 * @bdev: the store device.
 * @page: the superblock, generation @gen already set; its csum is set here.
 * @gen: its generation.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_sb_write(struct block_device *bdev, struct page *page, u64 gen)
{
	struct snapblk_disk_sb_head *h = page_address(page);

	h->csum = cpu_to_le32(snapblk_csum(~0U, h, &h->csum));
	return snapblk_meta_io(bdev, (gen % SNAPBLK_SB_COPIES) * SNAPBLK_META_SECTORS,
			       page, REQ_OP_WRITE | REQ_SYNC | REQ_PREFLUSH |
			       REQ_FUA);
}

/**
 * snapblk_sb_clear() - destroy both superblock copies.
 * @bdev: the store device.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_sb_clear(struct block_device *bdev)
{
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	int ret = 0, i;

	if (!page)
		return -ENOMEM;
	for (i = 0; i < SNAPBLK_SB_COPIES && !ret; i++)
		ret = snapblk_meta_io(bdev, i * SNAPBLK_META_SECTORS, page,
				      REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
	__free_page(page);
	return ret;
}

/**
 * snapblk_tb_check() - is @buf table block @index of the store of @seed?
 * @seed: the store's checksum seed.
 * @buf: the block.
 * @index: the block number it must carry.
 * @gen: out: its generation.
 *
 * Return: true if magic, index and checksum match.
 */
bool snapblk_tb_check(u32 seed, void *buf, u32 index, u64 *gen)
{
	struct snapblk_disk_tb_header *h = buf;
	u32 want = le32_to_cpu(h->csum);

	if (le32_to_cpu(h->magic) != SNAPBLK_TB_MAGIC ||
	    le64_to_cpu(h->index) != index || h->reserved ||
	    le64_to_cpu(h->generation) > SNAPBLK_GEN_MAX ||
	    snapblk_csum(seed, buf, &h->csum) != want)
		return false;
	*gen = le64_to_cpu(h->generation);
	return true;
}

/**
 * snapblk_tb_seal() - fill the header of table block @buf and checksum it.
 * @seed: the store's checksum seed.
 * @buf: the block, entries filled.
 * @index: its block number.
 * @gen: the commit generation.
 */
void snapblk_tb_seal(u32 seed, void *buf, u32 index, u64 gen)
{
	struct snapblk_disk_tb_header *h = buf;

	h->magic = cpu_to_le32(SNAPBLK_TB_MAGIC);
	h->generation = cpu_to_le64(gen);
	h->index = cpu_to_le64(index);
	h->reserved = 0;
	h->csum = cpu_to_le32(snapblk_csum(seed, buf, &h->csum));
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

static void snapblk_commit_submit(struct snapblk_table *t,
				  struct snapblk_commit_io *io,
				  struct page *page, u32 block)
{
	struct bio *bio = bio_alloc(t->bdev, 1, REQ_OP_WRITE | REQ_SYNC, GFP_NOIO);

	bio->bi_iter.bi_sector = t->sector(t->owner, block,
					   !test_bit(block, t->slot));
	__bio_add_page(bio, page, SNAPBLK_META_BLOCK, 0);
	bio->bi_private = io;
	bio->bi_end_io = snapblk_commit_endio;
	atomic_inc(&io->pending);
	submit_bio(bio);
}

/* Write the blocks in @taken (@nr of them) into their spare slots. */
static int snapblk_table_write(struct snapblk_table *t, unsigned long *taken,
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
	t->generation++;
	for_each_set_bit(b, taken, t->nr_blocks) {
		pages[i] = alloc_page(GFP_NOIO);
		if (!pages[i]) {
			ret = -ENOMEM;
			goto free_pages;
		}
		t->build(t->owner, page_address(pages[i]), b, t->generation);
		i++;
	}
	/* the data the images point at must be durable before them */
	ret = blkdev_issue_flush(t->bdev);
	if (ret)
		goto free_pages;
	init_completion(&io.done);
	i = 0;
	for_each_set_bit(b, taken, t->nr_blocks)
		snapblk_commit_submit(t, &io, pages[i++], b);
	if (!atomic_dec_and_test(&io.pending))
		wait_for_completion_io(&io.done);
	ret = blk_status_to_errno(io.error);
	if (!ret)
		ret = blkdev_issue_flush(t->bdev);
	if (!ret)
		bitmap_xor(t->slot, t->slot, taken, t->nr_blocks);
free_pages:
	while (i--)
		__free_page(pages[i]);
	kfree(pages);
	return ret;
}

/**
 * snapblk_table_commit() - make the blocks in @taken durable, or flush.
 * @t: the table; the caller serialises commits.
 * @taken: dirty blocks, built from memory now; may be empty.
 *
 * Return: 0 or a negative errno; on error the caller keeps @taken dirty.
 */
int snapblk_table_commit(struct snapblk_table *t, unsigned long *taken)
{
	unsigned int nr = bitmap_weight(taken, t->nr_blocks);

	if (!nr)
		return blkdev_issue_flush(t->bdev);
	return snapblk_table_write(t, taken, nr);
}

/**
 * snapblk_table_read() - read both slots of block @index, pick the current.
 * @t: the table; its slot bit and generation are updated.
 * @seed: the store's checksum seed.
 * @index: the block.
 * @p0: buffer for slot 0.
 * @p1: buffer for slot 1.
 * @cur: out: @p0 or @p1, whichever holds the current copy; NULL when
 *	neither slot was written by this store (the block is empty).
 *
 * Return: 0 or an I/O errno.
 */
int snapblk_table_read(struct snapblk_table *t, u32 seed, u32 index,
		       struct page *p0, struct page *p1, struct page **cur)
{
	u64 g0 = 0, g1 = 0;
	bool v0, v1;
	int ret;

	ret = snapblk_meta_io(t->bdev, t->sector(t->owner, index, 0), p0,
			      REQ_OP_READ);
	if (!ret)
		ret = snapblk_meta_io(t->bdev, t->sector(t->owner, index, 1), p1,
				      REQ_OP_READ);
	if (ret)
		return ret;
	v0 = snapblk_tb_check(seed, page_address(p0), index, &g0);
	v1 = snapblk_tb_check(seed, page_address(p1), index, &g1);
	*cur = NULL;
	if (!v0 && !v1)
		return 0;
	t->generation = max3(t->generation, g0, g1);
	if (v1 && (!v0 || g1 > g0)) {
		__set_bit(index, t->slot);
		*cur = p1;
	} else {
		*cur = p0;
	}
	return 0;
}

/**
 * snapblk_sync_io_pages() - synchronous I/O of a buffer of single pages.
 * @bdev: device.
 * @sector: where.
 * @pages: the buffer, enough pages for @bytes (at most BIO_MAX_VECS).
 * @bytes: length, a multiple of 512.
 * @opf: operation and flags.
 *
 * Return: 0 or a negative errno.
 */
int snapblk_sync_io_pages(struct block_device *bdev, sector_t sector,
			  struct page **pages, unsigned int bytes, blk_opf_t opf)
{
	unsigned int n = DIV_ROUND_UP(bytes, PAGE_SIZE), i;
	struct bio *bio = bio_alloc(bdev, n, opf, GFP_NOIO);
	int ret;

	bio->bi_iter.bi_sector = sector;
	for (i = 0; i < n; i++)
		__bio_add_page(bio, pages[i], min_t(unsigned int, PAGE_SIZE,
						    bytes - i * PAGE_SIZE), 0);
	ret = submit_bio_wait(bio);
	bio_put(bio);
	return ret;
}

/**
 * snapblk_pages_alloc() - a zeroed buffer of single pages for @bytes.
 * @bytes: its size.
 *
 * Return: the page array (free with snapblk_pages_free()) or NULL.
 */
struct page **snapblk_pages_alloc(unsigned int bytes)
{
	unsigned int n = DIV_ROUND_UP(bytes, PAGE_SIZE), i;
	struct page **pages = kcalloc(n + 1, sizeof(*pages), GFP_NOIO);

	if (!pages)
		return NULL;
	for (i = 0; i < n; i++) {
		pages[i] = alloc_page(GFP_NOIO | __GFP_ZERO);
		if (!pages[i]) {
			snapblk_pages_free(pages);
			return NULL;
		}
	}
	return pages;
}

/**
 * snapblk_pages_free() - free a buffer from snapblk_pages_alloc().
 * @pages: the buffer (NULL-terminated array), or NULL.
 */
void snapblk_pages_free(struct page **pages)
{
	unsigned int i;

	for (i = 0; pages && pages[i]; i++)
		__free_page(pages[i]);
	kfree(pages);
}
