/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblkctl - messages and exit statuses.
 *
 * Every diagnostic is one line on stderr of the form
 * "snapblkctl: <command>: <cause>", so that scripts and users see at once
 * which command failed and why.
 */
#ifndef SNAPBLKCTL_MSG_H
#define SNAPBLKCTL_MSG_H

#define PROG_NAME	"snapblkctl"
#define TOOL_VERSION	"0.1.0"

#define EXIT_OK		0
#define EXIT_FAIL	1	/* the request failed */
#define EXIT_USAGE	2	/* bad command line */

/* printf-style argument checking, as the kernel's __printf() */
#define __printf(a, b) __attribute__(( \
	format(printf, a, b)))

void msg_set_cmd(const char *cmd);
const char *msg_cmd(void);

/* "snapblkctl: <cmd>: <fmt>"; returns EXIT_USAGE. */
int err_usage(const char *fmt, ...) __printf(1, 2);
/* "snapblkctl: <cmd>: <fmt>"; returns EXIT_FAIL. */
int err_fail(const char *fmt, ...) __printf(1, 2);
/* "snapblkctl: <cmd>: <fmt>: strerror(err)"; returns EXIT_FAIL. */
int err_sys(int err, const char *fmt, ...) __printf(2, 3);

#endif /* SNAPBLKCTL_MSG_H */
