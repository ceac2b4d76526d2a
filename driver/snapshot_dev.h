/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk snapshot devices: the point-in-time views of an origin
 * (kind.h), kept in snapshot stores that the origin copies out to.
 */
#ifndef SNAPBLK_SNAPSHOT_DEV_H
#define SNAPBLK_SNAPSHOT_DEV_H

#include "dev.h"
#include "snapshot.h"

extern const struct snapblk_kind snapblk_snapshot_kind;

/* The I/O state of snapshot device @d. */
static inline struct snapblk_snapshot *snapblk_dev_snapshot(struct snapblk_dev *d)
{
	return d->priv;
}

#endif /* SNAPBLK_SNAPSHOT_DEV_H */
