/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk commit: merging an overlay's delta into its parent while the
 * overlay stays online.
 */
#ifndef SNAPBLK_COMMIT_H
#define SNAPBLK_COMMIT_H

#include <linux/types.h>

struct snapblk_dev;

int snapblk_commit_start(struct snapblk_dev *d);
void snapblk_commit_stop(struct snapblk_dev *d);
void snapblk_commit_free(struct snapblk_dev *d);
bool snapblk_commit_state(struct snapblk_dev *d, u32 *state, u32 *progress);

#endif /* SNAPBLK_COMMIT_H */
