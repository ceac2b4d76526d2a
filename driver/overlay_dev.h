/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk overlay devices: the keep-original kind (kind.h), built on a
 * base and a store that holds the delta.
 */
#ifndef SNAPBLK_OVERLAY_DEV_H
#define SNAPBLK_OVERLAY_DEV_H

#include "dev.h"
#include "overlay.h"

extern const struct snapblk_kind snapblk_overlay_kind;

/* The I/O state of overlay device @d. */
static inline struct snapblk_overlay *snapblk_dev_overlay(struct snapblk_dev *d)
{
	return d->priv;
}

#endif /* SNAPBLK_OVERLAY_DEV_H */
