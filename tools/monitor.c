// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - monitor: print snapblk events as they happen.
 *
 * Each snapblk device sends a "change" uevent with SNAPBLK_EVENT=,
 * SNAPBLK_NAME=, SNAPBLK_USED_PERCENT= and SNAPBLK_STATE= when its store
 * passes a use threshold, fills, becomes invalid, or a commit or revert
 * ends or stops. They are read here straight from the kernel's uevent
 * netlink socket, so no udev daemon is needed. Runs until SIGINT or
 * SIGTERM (taken through a signalfd), which end it with status 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "cmds.h"
#include "ctl.h"
#include "devref.h"
#include "json.h"
#include "msg.h"

#define UEVENT_GROUP_KERNEL	1
#define UEVENT_BUF		8192

/* The keys of a uevent that are read: indexes into struct uevent.val. */
enum uevent_key {
	UK_SUBSYSTEM,
	UK_DEVNAME,	/* snapblkN */
	UK_EVENT,
	UK_NAME,
	UK_USED,
	UK_STATE,
	UK_NR
};

static const char *const uevent_keys[UK_NR] = {
	[UK_SUBSYSTEM] = "SUBSYSTEM",
	[UK_DEVNAME] = "DEVNAME",
	[UK_EVENT] = "SNAPBLK_EVENT",
	[UK_NAME] = "SNAPBLK_NAME",
	[UK_USED] = "SNAPBLK_USED_PERCENT",
	[UK_STATE] = "SNAPBLK_STATE",
};

/**
 * struct uevent - the values of the keys that are read, or NULL.
 * @val: per enum uevent_key.
 */
struct uevent {
	const char *val[UK_NR];
};

/* Record KEY=VALUE string @kv if its key is one that is read. */
static void uevent_take(struct uevent *ev, const char *kv)
{
	int k;

	for (k = 0; k < UK_NR; k++) {
		size_t n = strlen(uevent_keys[k]);

		if (!strncmp(kv, uevent_keys[k], n) && kv[n] == '=') {
			ev->val[k] = kv + n + 1;
			return;
		}
	}
}

/* Parse @len bytes of @buf: true if it is a snapblk device's event. */
static bool uevent_parse(char *buf, size_t len, struct uevent *ev)
{
	size_t off;

	memset(ev, 0, sizeof(*ev));
	buf[len] = '\0';
	/* "ACTION@DEVPATH", then NUL-separated KEY=VALUE strings */
	for (off = strlen(buf) + 1; off < len; off += strlen(buf + off) + 1)
		uevent_take(ev, buf + off);
	return ev->val[UK_SUBSYSTEM] && !strcmp(ev->val[UK_SUBSYSTEM], "block") &&
	       ev->val[UK_DEVNAME] && ev->val[UK_EVENT];
}

/* The current time as 2026-12-03T10:40:00.123Z. */
static void now_iso(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void print_event(const struct uevent *ev, bool json)
{
	const char *used = ev->val[UK_USED] ? ev->val[UK_USED] : "0";
	const char *state = ev->val[UK_STATE] ? ev->val[UK_STATE] : "unknown";
	const char *name = ev->val[UK_NAME] ? ev->val[UK_NAME] : ev->val[UK_DEVNAME];
	const char *event = ev->val[UK_EVENT];
	char when[40], path[64];

	now_iso(when, sizeof(when));
	snprintf(path, sizeof(path), "/dev/%s", ev->val[UK_DEVNAME]);
	if (!json) {
		printf("%s %s %s %s used=%s%% state=%s\n", when, path, name,
		       event, used, state);
	} else {
		fputs("{\"time\": ", stdout);
		json_write_string(stdout, when);
		fputs(", \"path\": ", stdout);
		json_write_string(stdout, path);
		fputs(", \"name\": ", stdout);
		json_write_string(stdout, name);
		fputs(", \"event\": ", stdout);
		json_write_string(stdout, event);
		printf(", \"used_percent\": %lu, \"state\": ", strtoul(used, NULL, 10));
		json_write_string(stdout, state);
		fputs("}\n", stdout);
	}
	fflush(stdout);
}

static int uevent_socket(void)
{
	struct sockaddr_nl addr = {
		.nl_family = AF_NETLINK,
		.nl_groups = UEVENT_GROUP_KERNEL,
	};
	int size = 1 << 20;
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
			NETLINK_KOBJECT_UEVENT);

	if (fd < 0)
		return -errno;
	/* a burst of events must not be dropped while we print */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

/* Receive one message from the kernel (not from another process). */
static ssize_t uevent_recv(int fd, char *buf, size_t len)
{
	struct sockaddr_nl from;
	socklen_t fromlen = sizeof(from);
	ssize_t n;

	for (;;) {
		n = recvfrom(fd, buf, len, 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0 || from.nl_pid == 0)
			return n;
	}
}

/* A signalfd for SIGINT and SIGTERM, which no longer end the process. */
static int signal_fd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	/* a shell starts background jobs with SIGINT ignored: take it back */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Print the events of @only (or all) from @fd until @sfd has a signal. */
static int monitor_loop(int fd, int sfd, const char *only, bool json)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	char buf[UEVENT_BUF + 1];
	struct uevent ev;
	ssize_t n;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(errno, "cannot wait for events");
		}
		if (pfd[1].revents)
			return EXIT_OK;
		n = uevent_recv(fd, buf, UEVENT_BUF);
		if (n < 0) {
			/* the kernel dropped events (buffer full): go on */
			if (errno == ENOBUFS || errno == EINTR || errno == EAGAIN) {
				if (errno == ENOBUFS)
					fprintf(stderr, PROG_NAME ": monitor: events were lost\n");
				continue;
			}
			return err_sys(errno, "cannot read events");
		}
		if (!uevent_parse(buf, (size_t)n, &ev))
			continue;
		if (only && strcmp(only, ev.val[UK_DEVNAME]))
			continue;
		print_event(&ev, json);
	}
}

int cmd_monitor(const struct args *a)
{
	char only[32];
	int fd, sfd, ret;

	if (a->nr_pos) {
		struct snapblk_info info;
		int ctl = ctl_open(false);

		if (ctl < 0)
			return EXIT_FAIL;
		ret = devref_resolve(ctl, a->pos[0], &info);
		close(ctl);
		if (ret)
			return ret;
		snprintf(only, sizeof(only), SNAPBLK_DISK_NAME "%u", info.index);
	}
	sfd = signal_fd();
	if (sfd < 0)
		return err_sys(-sfd, "cannot take SIGINT and SIGTERM");
	fd = uevent_socket();
	if (fd < 0) {
		close(sfd);
		return err_sys(-fd, "cannot listen to the kernel's uevents");
	}
	ret = monitor_loop(fd, sfd, a->nr_pos ? only : NULL, a->val[OPT_JSON]);
	close(fd);
	close(sfd);
	return ret;
}
