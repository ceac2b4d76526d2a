/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblkctl - the commands. Each takes the parsed command line, whose
 * positionals the dispatcher has already counted, and returns the exit
 * status after printing any error.
 */
#ifndef SNAPBLKCTL_CMDS_H
#define SNAPBLKCTL_CMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/snapblk.h>

#include "parse.h"

/* create.c */
int cmd_overlay(const struct args *a);
int cmd_origin(const struct args *a);
int cmd_snapshot(const struct args *a);
int cmd_attach(const struct args *a);

/* devcmd.c */
int cmd_detach(const struct args *a);
int cmd_delete(const struct args *a);
int cmd_commit(const struct args *a);
int cmd_revert(const struct args *a);
int cmd_grow(const struct args *a);

/* wait.c */
int cmd_wait(const struct args *a);
/*
 * Follow the commit or revert of @dev (as resolved from @arg) until it
 * ends. @started: the command just started it, so a state that is
 * already final is judged rather than taken as "nothing to wait for".
 */
int wait_device(int ctl, const char *arg, const struct snapblk_info *dev,
		bool started);

/* monitor.c */
int cmd_monitor(const struct args *a);

/* show.c */
int cmd_status(const struct args *a);
int cmd_list(const struct args *a);
const char *kind_str(__u32 kind);
const char *state_str(__u32 state);
/* 512B, 4.0K, 12.0M, 1.5G ... */
void fmt_size(__u64 bytes, char *buf, size_t len);
/* "an overlay", "an origin", "a snapshot" */
const char *kind_article(__u32 kind);

#endif /* SNAPBLKCTL_CMDS_H */
