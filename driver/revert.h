/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk revert: rolling an origin back to one of its snapshots while
 * the origin stays online.
 */
#ifndef SNAPBLK_REVERT_H
#define SNAPBLK_REVERT_H

#include <linux/bio.h>
#include <linux/types.h>

struct snapblk_dev;
struct snapblk_origin;
struct snapblk_revert;

int snapblk_revert_start(struct snapblk_dev *d, bool resume);
void snapblk_revert_free(struct snapblk_origin *o);
bool snapblk_revert_read(struct snapblk_revert *rv, struct bio *bio);
bool snapblk_revert_write(struct snapblk_revert *rv, struct bio *bio, u64 chunk);
bool snapblk_revert_state(struct snapblk_origin *o, struct snapblk_dev *snap_dev,
			  u32 *state, u32 *progress);
bool snapblk_revert_holds(struct snapblk_origin *o, struct snapblk_dev *snap_dev);

#endif /* SNAPBLK_REVERT_H */
