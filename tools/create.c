// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - the commands that make a device: overlay, origin,
 * snapshot and attach. On success each prints the new device's path
 * alone on stdout; on failure, nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cmds.h"
#include "ctl.h"
#include "devref.h"
#include "msg.h"

/* How long to wait for udev to make a node devtmpfs did not. */
#ifndef NODE_WAIT_MS
#define NODE_WAIT_MS	1000
#endif
#define NODE_POLL_MS	20

/**
 * struct plan - what a creating command asks the module for.
 * @kind: SNAPBLK_KIND_* of the new device.
 * @flags: SNAPBLK_CREATE_ATTACH or 0.
 * @what: the device made, for messages ("overlay").
 * @parent_role: the parent's name in the synopsis ("BASE").
 * @parent_arg: the parent argument.
 * @parent_flags: DEVREF_* flags to open it with.
 * @store_arg: the STORE argument; NULL for an origin.
 */
struct plan {
	__u32 kind;
	__u32 flags;
	const char *what;
	const char *parent_role;
	const char *parent_arg;
	unsigned int parent_flags;
	const char *store_arg;
};

/* Fill @c from the options: 0 or EXIT_USAGE. */
static int plan_options(const struct args *a, const struct plan *p,
			struct snapblk_create *c)
{
	const char *name = a->val[OPT_NAME];
	int ret;

	memset(c, 0, sizeof(*c));
	c->kind = p->kind;
	c->flags = p->flags;
	c->store_fd = -1;
	c->parent_fd = -1;
	if (a->val[OPT_CHUNK_SIZE]) {
		ret = parse_chunk_size(a->val[OPT_CHUNK_SIZE], &c->chunk_size);
		if (ret)
			return ret;
	}
	if (a->val[OPT_ON_FULL]) {
		ret = parse_on_full(a->val[OPT_ON_FULL], &c->on_full);
		if (ret)
			return ret;
	}
	if (name) {
		ret = check_name(name);
		if (ret)
			return ret;
		memcpy(c->name, name, strlen(name) + 1);
		c->flags |= SNAPBLK_CREATE_NAMED;
	}
	return 0;
}

/* A snapshot's ORIGIN must be a snapblk origin: refuse what surely is not. */
static int check_origin(int ctl, const struct blkdev *bd)
{
	struct snapblk_info info;
	__u32 index;
	int ret;

	ret = devref_snapblk_index(bd, &index);
	if (ret < 0)
		return 0;	/* cannot tell: the module will */
	if (!ret)
		return err_fail("ORIGIN '%s' is not a snapblk origin (make one with '"
				PROG_NAME " origin %s')", bd->arg, bd->arg);
	if (ctl_info(ctl, index, &info) || info.kind == SNAPBLK_KIND_ORIGIN)
		return 0;
	return err_fail("ORIGIN '%s' is not an origin but %s", bd->arg,
			kind_article(info.kind));
}

static const char *create_cause(int err, const struct plan *p, const char *name,
				char *buf, size_t len)
{
	const char *devs = p->store_arg ? " or STORE" : "";
	bool formats = p->kind == SNAPBLK_KIND_OVERLAY &&
		       !(p->flags & SNAPBLK_CREATE_ATTACH);

	switch (err) {
	case EEXIST:
		if (!name[0])
			return "the device's name is already in use (give another with --name)";
		snprintf(buf, len, "name '%s' already in use", name);
		return buf;
	case EBUSY:
		snprintf(buf, len, "%s%s is in use (mounted, open or held by another device)",
			 p->parent_role, devs);
		return buf;
	case EINVAL:
		if (!p->store_arg)
			return "DEV cannot be wrapped as an origin";
		if (formats)
			return "BASE and STORE overlap, or a device is empty";
		return "store is not a valid snapblk store or belongs to another device";
	case ENOSPC:
		if (p->kind == SNAPBLK_KIND_SNAPSHOT)
			return "STORE is too small or holds the most snapshots it can";
		return "STORE is too small";
	case ENOENT:
		return "every snapshot in STORE is attached already";
	case EROFS:
		return p->store_arg ? "STORE is read-only" : "DEV is read-only";
	case ENODEV:
	case ENXIO:
	case ENOMEDIUM:
		return "a device went away or has no medium";
	case EBADMSG:
	case EUCLEAN:
		return "store metadata is damaged";
	case EMEDIUMTYPE:
		snprintf(buf, len, "STORE was made on another %s", p->parent_role);
		return buf;
	case EPROTONOSUPPORT:
		return "STORE has a format version this module does not support";
	case ENOTBLK:
		return "not a block device";
	case ELOOP:
		return "the devices would depend on each other in a loop";
	case EOPNOTSUPP:
		return "not supported by this module";
	default:
		return NULL;
	}
}

static int create_fail(int err, const struct plan *p,
		       const struct snapblk_create *c)
{
	char buf[160];
	const char *cause = create_cause(err, p, c->name, buf, sizeof(buf));

	if (cause)
		return err_sys(err, "%s", cause);
	return err_ctl(err, "cannot create the %s", p->what);
}

/* Give udev a moment if devtmpfs did not make the node already. */
static void wait_node(const char *path)
{
	struct timespec ts = { 0, NODE_POLL_MS * 1000000L };
	struct stat st;
	int waited;

	for (waited = 0; waited < NODE_WAIT_MS; waited += NODE_POLL_MS) {
		if (!stat(path, &st) || errno != ENOENT)
			return;
		nanosleep(&ts, NULL);
	}
}

static int open_devices(int ctl, const struct plan *p, struct blkdev *parent,
			struct blkdev *store)
{
	int ret;

	ret = devref_open(ctl, p->parent_role, p->parent_arg, p->parent_flags,
			  parent);
	if (ret)
		return ret;
	if (p->kind == SNAPBLK_KIND_SNAPSHOT) {
		ret = check_origin(ctl, parent);
		if (ret)
			return ret;
	}
	if (!p->store_arg)
		return 0;
	ret = devref_open(ctl, "STORE", p->store_arg, 0, store);
	if (ret)
		return ret;
	if (parent->rdev == store->rdev)
		return err_fail("%s and STORE are the same device", p->parent_role);
	return 0;
}

static void print_path(unsigned int index)
{
	char path[64];

	snprintf(path, sizeof(path), DEV_DIR SNAPBLK_DISK_NAME "%u", index);
	wait_node(path);
	printf("%s\n", path);
}

/*
 * A snapshot store may hold several snapshots: attach brings back every
 * one that has no device yet (the kernel answers ENOENT when none is
 * left), printing one path per line. With --name it attaches one.
 */
static bool attach_all(const struct plan *p, const struct snapblk_create *c)
{
	return p->kind == SNAPBLK_KIND_SNAPSHOT &&
	       (c->flags & SNAPBLK_CREATE_ATTACH) &&
	       !(c->flags & SNAPBLK_CREATE_NAMED);
}

static int create(const struct args *a, const struct plan *p)
{
	struct blkdev parent = { .fd = -1 }, store = { .fd = -1 };
	struct snapblk_create c;
	int ctl, ret;

	ret = plan_options(a, p, &c);
	if (ret)
		return ret;
	ctl = ctl_open(true);
	if (ctl < 0)
		return EXIT_FAIL;
	ret = open_devices(ctl, p, &parent, &store);
	if (!ret) {
		c.parent_fd = parent.fd;
		c.store_fd = store.fd;
		ret = ctl_create(ctl, &c);
		ret = ret ? create_fail(-ret, p, &c) : 0;
	}
	while (!ret && attach_all(p, &c)) {
		int err;

		print_path(c.index);
		c.index = 0;
		err = ctl_create(ctl, &c);
		if (err) {
			if (-err != ENOENT)
				ret = create_fail(-err, p, &c);
			break;
		}
	}
	devref_close(&parent);
	devref_close(&store);
	if (ret)
		return ret;
	if (!attach_all(p, &c))
		print_path(c.index);
	fflush(stdout);
	return 0;
}

int cmd_overlay(const struct args *a)
{
	struct plan p = {
		.kind = SNAPBLK_KIND_OVERLAY,
		.what = "overlay",
		.parent_role = "BASE",
		.parent_arg = a->pos[0],
		.parent_flags = DEVREF_NAMES | DEVREF_RO_OK,
		.store_arg = a->pos[1],
	};

	return create(a, &p);
}

int cmd_origin(const struct args *a)
{
	struct plan p = {
		.kind = SNAPBLK_KIND_ORIGIN,
		.what = "origin",
		.parent_role = "DEV",
		.parent_arg = a->pos[0],
	};

	return create(a, &p);
}

int cmd_snapshot(const struct args *a)
{
	struct plan p = {
		.kind = SNAPBLK_KIND_SNAPSHOT,
		.what = "snapshot",
		.parent_role = "ORIGIN",
		.parent_arg = a->pos[0],
		.parent_flags = DEVREF_NAMES,
		.store_arg = a->pos[1],
	};

	return create(a, &p);
}

int cmd_attach(const struct args *a)
{
	const char *base = a->val[OPT_BASE], *origin = a->val[OPT_ORIGIN];
	struct plan p = {
		.flags = SNAPBLK_CREATE_ATTACH,
		.store_arg = a->pos[0],
	};

	if (base && origin)
		return err_usage("--base and --origin exclude each other");
	if (!base && !origin)
		return err_usage("missing --base BASE or --origin ORIGIN (see '"
				 PROG_NAME " help attach')");
	if (base) {
		p.kind = SNAPBLK_KIND_OVERLAY;
		p.what = "overlay";
		p.parent_role = "BASE";
		p.parent_arg = base;
		p.parent_flags = DEVREF_NAMES | DEVREF_RO_OK;
	} else {
		p.kind = SNAPBLK_KIND_SNAPSHOT;
		p.what = "snapshot";
		p.parent_role = "ORIGIN";
		p.parent_arg = origin;
		p.parent_flags = DEVREF_NAMES;
	}
	return create(a, &p);
}
