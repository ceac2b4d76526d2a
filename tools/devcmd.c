// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - the commands on one device: detach, delete, commit,
 * revert and grow. They print nothing on success.
 */
#include <errno.h>
#include <stdio.h>

#include "cmds.h"
#include "ctl.h"
#include "devref.h"
#include "msg.h"

/**
 * struct devop - one per-device request.
 * @req: SNAPBLK_IOC_*.
 * @flags: snapblk_cmd.flags.
 * @action: what failed, for messages ("cannot remove").
 * @kind: the only kind of device it applies to, or 0 for any.
 * @done: what is done to the device ("committed"), if @kind is set.
 * @cause: why @err happened, or NULL.
 */
struct devop {
	unsigned long req;
	__u32 flags;
	const char *action;
	__u32 kind;
	const char *done;
	const char *(*cause)(int err, const struct snapblk_info *info);
};

/* EBUSY: a running commit or revert, else @other. */
static const char *busy_cause(const struct snapblk_info *info,
			      const char *other)
{
	if (info->state == SNAPBLK_STATE_COMMITTING)
		return "a commit is running (see '" PROG_NAME " wait')";
	if (info->state == SNAPBLK_STATE_REVERTING)
		return "a revert is running (see '" PROG_NAME " wait')";
	return other;
}

static const char *remove_cause(int err, const struct snapblk_info *info)
{
	if (err == ENOTEMPTY || (err == EBUSY && info->nr_children))
		return "device has child devices (remove them first)";
	if (err == EBUSY)
		return busy_cause(info, "device is in use (mounted or open)");
	return NULL;
}

static const char *commit_cause(int err, const struct snapblk_info *info)
{
	switch (err) {
	case EBUSY:
		return busy_cause(info, "the parent has other children, or is in use");
	case EINVAL:
		return "the overlay cannot be committed in its state";
	case ENOSPC:
		return "no space for the merge";
	default:
		return NULL;
	}
}

static const char *revert_cause(int err, const struct snapblk_info *info)
{
	switch (err) {
	case EBUSY:
		return busy_cause(info, "the snapshot or its origin is busy (mounted or open?)");
	case EINVAL:
		return "the snapshot cannot be reverted in its state";
	default:
		return NULL;
	}
}

static const char *grow_cause(int err, const struct snapblk_info *info)
{
	if (err == EINVAL)
		return "the store did not grow";
	if (err == EBUSY)
		return busy_cause(info, NULL);
	return NULL;
}

static int devop_fail(int err, const struct devop *op, const char *arg,
		      const struct snapblk_info *info)
{
	const char *cause = NULL;

	if (err == ENOENT)
		return err_fail("no such snapblk device: %s (it went away)", arg);
	if (op->cause)
		cause = op->cause(err, info);
	if (cause)
		return err_sys(err, "%s", cause);
	return err_ctl(err, "%s %s", op->action, arg);
}

/* A kind check before asking: clearer than the module's -EINVAL. */
static int devop_check(const struct devop *op, const char *arg,
		       const struct snapblk_info *info)
{
	if (op->kind && info->kind != op->kind)
		return err_fail("%s is %s; only %s can be %s", arg,
				kind_article(info->kind), kind_article(op->kind),
				op->done);
	if (op->req == SNAPBLK_IOC_GROW && info->kind == SNAPBLK_KIND_ORIGIN)
		return err_fail("%s is an origin, which has no store", arg);
	return 0;
}

static int devop_run(const struct args *a, const struct devop *op)
{
	const char *arg = a->pos[0];
	struct snapblk_info info;
	int ctl, ret;

	ctl = ctl_open(true);
	if (ctl < 0)
		return EXIT_FAIL;
	ret = devref_resolve(ctl, arg, &info);
	if (!ret)
		ret = devop_check(op, arg, &info);
	if (!ret) {
		ret = -ctl_cmd(ctl, op->req, info.index, op->flags);
		if (ret)
			ret = devop_fail(ret, op, arg, &info);
	}
	if (!ret && a->val[OPT_WAIT])
		ret = wait_device(ctl, arg, &info, true);
	return ret;
}

int cmd_detach(const struct args *a)
{
	static const struct devop op = {
		.req = SNAPBLK_IOC_REMOVE,
		.action = "cannot remove",
		.cause = remove_cause,
	};

	return devop_run(a, &op);
}

int cmd_delete(const struct args *a)
{
	static const struct devop op = {
		.req = SNAPBLK_IOC_REMOVE,
		.flags = SNAPBLK_REMOVE_DISCARD,
		.action = "cannot delete",
		.cause = remove_cause,
	};

	return devop_run(a, &op);
}

int cmd_commit(const struct args *a)
{
	static const struct devop op = {
		.req = SNAPBLK_IOC_COMMIT,
		.action = "cannot commit",
		.kind = SNAPBLK_KIND_OVERLAY,
		.done = "committed",
		.cause = commit_cause,
	};

	return devop_run(a, &op);
}

int cmd_revert(const struct args *a)
{
	static const struct devop op = {
		.req = SNAPBLK_IOC_REVERT,
		.action = "cannot revert",
		.kind = SNAPBLK_KIND_SNAPSHOT,
		.done = "reverted",
		.cause = revert_cause,
	};

	return devop_run(a, &op);
}

int cmd_grow(const struct args *a)
{
	static const struct devop op = {
		.req = SNAPBLK_IOC_GROW,
		.action = "cannot grow",
		.cause = grow_cause,
	};

	return devop_run(a, &op);
}
