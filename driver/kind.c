// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk device kinds: the registration of every kind the module makes.
 * A new kind is one table in its own files and one line here.
 */
#include "kind.h"
#include "origin_dev.h"
#include "overlay_dev.h"
#include "snapshot_dev.h"

static const struct snapblk_kind *const snapblk_kinds[] = {
	&snapblk_overlay_kind,
	&snapblk_origin_kind,
	&snapblk_snapshot_kind,
};

/**
 * snapblk_kind_find() - the kind of uapi number @kind.
 * @kind: SNAPBLK_KIND_*, from userspace.
 *
 * Return: its table, or NULL if the module makes no such kind.
 */
const struct snapblk_kind *snapblk_kind_find(u32 kind)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(snapblk_kinds); i++)
		if (snapblk_kinds[i]->kind == kind)
			return snapblk_kinds[i];
	return NULL;
}

/**
 * snapblk_kind_features() - what the module implements.
 *
 * Return: the SNAPBLK_FEAT_* bits of every kind.
 */
u64 snapblk_kind_features(void)
{
	u64 features = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(snapblk_kinds); i++)
		features |= snapblk_kinds[i]->features;
	return features;
}
