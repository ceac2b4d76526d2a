// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - wait: follow a commit or revert until it ends.
 *
 * The device is polled every POLL_MS. Progress goes to stderr: a bar
 * redrawn in place on a terminal, else a "progress: N%" line whenever the
 * percentage changes. A revert removes the snapshot device when it ends,
 * so a device that disappears while reverting has succeeded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "ctl.h"
#include "devref.h"
#include "msg.h"
#include "parse.h"

#ifndef POLL_MS
#define POLL_MS		200
#endif
#define BAR_WIDTH	40

/**
 * struct progress - what has been shown.
 * @tty: stderr is a terminal: draw a bar.
 * @shown: last percentage shown, or -1.
 */
struct progress {
	bool tty;
	int shown;
};

static void progress_show(struct progress *pr, unsigned int pct)
{
	char bar[BAR_WIDTH + 1];
	unsigned int fill;

	if (pct > 100)
		pct = 100;
	if ((int)pct == pr->shown)
		return;
	pr->shown = pct;
	if (!pr->tty) {
		fprintf(stderr, "progress: %u%%\n", pct);
		return;
	}
	fill = pct * BAR_WIDTH / 100;
	memset(bar, '#', fill);
	memset(bar + fill, '.', BAR_WIDTH - fill);
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r[%s] %3u%%", bar, pct);
	fflush(stderr);
}

/* Finish the display; @complete: the work ended well, show 100%. */
static void progress_end(struct progress *pr, bool complete)
{
	if (complete && pr->shown >= 0)
		progress_show(pr, 100);
	if (pr->tty && pr->shown >= 0)
		fputc('\n', stderr);
}

static bool is_running(__u32 state)
{
	return state == SNAPBLK_STATE_COMMITTING ||
	       state == SNAPBLK_STATE_REVERTING;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Refetch @info; -ENOENT also if the index now holds another device. */
static int refresh(int ctl, struct snapblk_info *info)
{
	struct snapblk_info now;
	int ret;

	ret = ctl_info(ctl, info->index, &now);
	if (ret)
		return ret;
	if (now.kind != info->kind || strcmp(now.name, info->name))
		return -ENOENT;
	*info = now;
	return 0;
}

/*
 * After a revert: if it shows on the snapshot's origin rather than on the
 * snapshot itself, follow the origin instead.
 */
static void follow_origin(int ctl, struct snapblk_info *info)
{
	struct snapblk_info origin;
	__u32 index;

	if (info->kind != SNAPBLK_KIND_SNAPSHOT || is_running(info->state) ||
	    !parse_disk_name(info->parent, &index) ||
	    ctl_info(ctl, index, &origin) ||
	    origin.state != SNAPBLK_STATE_REVERTING)
		return;
	*info = origin;
}

/* The exit status for a device whose commit or revert does not run. */
static int final_status(const char *arg, const struct snapblk_info *info)
{
	/* overlays commit; origins and snapshots revert */
	const char *op = info->kind == SNAPBLK_KIND_OVERLAY ? "commit" : "revert";

	switch (info->state) {
	case SNAPBLK_STATE_ACTIVE:
		return EXIT_OK;
	case SNAPBLK_STATE_INVALID:
		return err_fail("%s: %s failed: the device is now invalid", arg, op);
	case SNAPBLK_STATE_FULL:
		return err_fail("%s: %s stopped: the store is full", arg, op);
	case SNAPBLK_STATE_STOPPED:
		return err_fail("%s: %s stopped by an I/O error (see dmesg); "
				"run '%s %s %s' again to retry", arg, op, PROG_NAME,
				op, arg);
	default:
		return err_fail("%s: %s ended in unknown state %u", arg, op,
				info->state);
	}
}

int wait_device(int ctl, const char *arg, const struct snapblk_info *dev,
		bool started)
{
	struct progress pr = { .tty = isatty(STDERR_FILENO), .shown = -1 };
	struct snapblk_info info = *dev;
	__u32 was = dev->state;
	int ret;

	if (started) {
		ret = refresh(ctl, &info);
		if (ret == -ENOENT && dev->kind == SNAPBLK_KIND_SNAPSHOT)
			return EXIT_OK;	/* the revert already ended */
		if (ret)
			goto fail;
		follow_origin(ctl, &info);
	} else if (!is_running(info.state)) {
		/* nothing runs; one that an error stopped has not ended */
		return info.state == SNAPBLK_STATE_STOPPED ?
		       final_status(arg, &info) : EXIT_OK;
	}
	while (is_running(info.state)) {
		was = info.state;
		progress_show(&pr, info.progress);
		sleep_ms(POLL_MS);
		ret = refresh(ctl, &info);
		if (ret == -ENOENT && was == SNAPBLK_STATE_REVERTING) {
			progress_end(&pr, true);
			return EXIT_OK;
		}
		if (ret) {
			progress_end(&pr, false);
			goto fail;
		}
	}
	progress_end(&pr, info.state == SNAPBLK_STATE_ACTIVE);
	return final_status(arg, &info);
fail:
	if (ret == -ENOENT)
		return err_fail("%s disappeared", arg);
	return err_ctl(-ret, "cannot query %s", arg);
}

int cmd_wait(const struct args *a)
{
	struct snapblk_info info;
	int ctl, ret;

	ctl = ctl_open(false);
	if (ctl < 0)
		return EXIT_FAIL;
	ret = devref_resolve(ctl, a->pos[0], &info);
	if (ret)
		return ret;
	return wait_device(ctl, a->pos[0], &info, false);
}
