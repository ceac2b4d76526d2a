/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk origin devices: the overwrite-original kind (kind.h), which
 * wraps a disk that snapshot devices are taken of.
 */
#ifndef SNAPBLK_ORIGIN_DEV_H
#define SNAPBLK_ORIGIN_DEV_H

#include "dev.h"
#include "origin.h"

extern const struct snapblk_kind snapblk_origin_kind;

/* The I/O state of origin device @d. */
static inline struct snapblk_origin *snapblk_dev_origin(struct snapblk_dev *d)
{
	return d->priv;
}

#endif /* SNAPBLK_ORIGIN_DEV_H */
