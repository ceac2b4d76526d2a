// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - messages and exit statuses.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"

static const char *cur_cmd;

void msg_set_cmd(const char *cmd)
{
	cur_cmd = cmd;
}

const char *msg_cmd(void)
{
	return cur_cmd;
}

static __printf(2, 0) void vmsg(int err, const char *fmt, va_list ap)
{
	fputs(PROG_NAME ": ", stderr);
	if (cur_cmd)
		fprintf(stderr, "%s: ", cur_cmd);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

int err_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(0, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

int err_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(0, fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

int err_sys(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(err, fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}
