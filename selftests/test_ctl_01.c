// SPDX-License-Identifier: GPL-2.0
/*
 * test_ctl_01 - the control device and its ioctl ABI.
 *
 * Checks /dev/snapblk-ctl against uapi/linux/snapblk.h and SPEC.md:
 * node mode, SNAPBLK_IOC_VERSION, -ENOTTY for unknown ioctls, -EINVAL
 * for unknown flags and non-zero reserved words, errors for devices
 * that do not exist, and -EPERM (or no access at all) without
 * CAP_SYS_ADMIN. It creates no device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/fs.h>

#include <linux/snapblk.h>

#include "ktap.h"

/* an index no test run ever reaches */
#define NO_SUCH_INDEX	0x7ffffff0U

static int ctl = -1;

static const char *ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";
	static char buf[16];

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/*
 * Run an ioctl and compare the outcome: want 0 means success; otherwise
 * failure with errno want or alt (alt 0: only want; want -1: any errno).
 */
static bool try_ioctl(const char *what, int fd, unsigned long cmd, void *arg,
		      int want, int alt)
{
	int ret = ioctl(fd, cmd, arg);
	int err = ret < 0 ? errno : 0;

	if (!want && !ret)
		return true;
	if (want && ret == -1 && (want == -1 || err == want || (alt && err == alt)))
		return true;
	if (ret >= 0)
		ktap_diag("%s: ioctl succeeded (returned %d), expected %s%s%s", what,
			  ret, want == -1 ? "an error" : ename(want),
			  alt ? " or " : "", alt ? ename(alt) : "");
	else if (!want)
		ktap_diag("%s: ioctl failed with %s, expected success", what, ename(err));
	else
		ktap_diag("%s: ioctl failed with %s, expected %s%s%s", what, ename(err),
			  ename(want), alt ? " or " : "", alt ? ename(alt) : "");
	return false;
}

static bool test_node_mode(void)
{
	struct stat st;

	if (stat(SNAPBLK_CTL_PATH, &st)) {
		ktap_diag("stat %s: %s", SNAPBLK_CTL_PATH, strerror(errno));
		return false;
	}
	if (!S_ISCHR(st.st_mode)) {
		ktap_diag("%s is not a character device", SNAPBLK_CTL_PATH);
		return false;
	}
	if ((st.st_mode & 07777) != 0600 || st.st_uid != 0) {
		ktap_diag("%s: mode %04o uid %u, expected 0600 uid 0", SNAPBLK_CTL_PATH,
			  st.st_mode & 07777, st.st_uid);
		return false;
	}
	return true;
}

static bool test_version(void)
{
	struct snapblk_version v;
	char sysver[64] = "";
	bool ok = true;
	FILE *f;
	size_t i;

	memset(&v, 0xa5, sizeof(v));
	if (!try_ioctl("VERSION", ctl, SNAPBLK_IOC_VERSION, &v, 0, 0))
		return false;
	if (!memchr(v.version, 0, sizeof(v.version))) {
		ktap_diag("version string is not NUL terminated");
		return false;
	}
	ktap_diag("module: abi %u.%u features 0x%llx version '%s'", v.abi_major,
		  v.abi_minor, (unsigned long long)v.features, v.version);
	if (v.abi_major != SNAPBLK_ABI_MAJOR) {
		ktap_diag("abi_major %u, header has %u", v.abi_major, SNAPBLK_ABI_MAJOR);
		ok = false;
	}
	if (!v.version[0]) {
		ktap_diag("empty version string");
		ok = false;
	}
	for (i = 0; i < sizeof(v.reserved) / sizeof(v.reserved[0]); i++) {
		if (v.reserved[i]) {
			ktap_diag("reserved[%zu] = 0x%llx, expected 0", i,
				  (unsigned long long)v.reserved[i]);
			ok = false;
		}
	}
	if (!(v.features & SNAPBLK_FEAT_OVERLAY)) {
		ktap_diag("features lack SNAPBLK_FEAT_OVERLAY");
		ok = false;
	}
	/* MODULE_VERSION shows in sysfs; it must agree with the ioctl */
	f = fopen("/sys/module/snapblk/version", "r");
	if (f) {
		if (fgets(sysver, sizeof(sysver), f))
			sysver[strcspn(sysver, "\n")] = 0;
		fclose(f);
		if (strcmp(sysver, v.version)) {
			ktap_diag("/sys/module/snapblk/version is '%s', ioctl says '%s'",
				  sysver, v.version);
			ok = false;
		}
	}
	return ok;
}

static bool test_efault(void)
{
	return try_ioctl("VERSION to NULL", ctl, SNAPBLK_IOC_VERSION, NULL, EFAULT, 0) &
	       try_ioctl("INFO from NULL", ctl, SNAPBLK_IOC_INFO, NULL, EFAULT, 0) &
	       try_ioctl("CREATE from NULL", ctl, SNAPBLK_IOC_CREATE, NULL, EFAULT, 0);
}

static bool test_unknown_ioctl(void)
{
	char buf[256] = { 0 };
	bool ok = true;

	ok &= try_ioctl("_IO(MAGIC, 0x7f)", ctl, _IO(SNAPBLK_IOC_MAGIC, 0x7f),
			buf, ENOTTY, 0);
	ok &= try_ioctl("_IOWR(MAGIC, 0x7f, 64 bytes)", ctl,
			_IOC(_IOC_READ | _IOC_WRITE, SNAPBLK_IOC_MAGIC, 0x7f, 64),
			buf, ENOTTY, 0);
	/* the number of VERSION with the wrong size is another command */
	ok &= try_ioctl("VERSION with a wrong size", ctl,
			_IOR(SNAPBLK_IOC_MAGIC, 0x00, __u32), buf, ENOTTY, 0);
	ok &= try_ioctl("CREATE with a wrong size", ctl,
			_IOWR(SNAPBLK_IOC_MAGIC, 0x01, __u64), buf, ENOTTY, 0);
	ok &= try_ioctl("BLKGETSIZE64 on the control device", ctl, BLKGETSIZE64,
			buf, ENOTTY, 0);
	return ok;
}

static void create_init(struct snapblk_create *c)
{
	memset(c, 0, sizeof(*c));
	c->kind = SNAPBLK_KIND_OVERLAY;
	c->parent_fd = -1;
	c->store_fd = -1;
}

static bool test_create_reserved(void)
{
	struct snapblk_create c;
	bool ok = true;
	size_t i;

	for (i = 0; i < sizeof(c.reserved) / sizeof(c.reserved[0]); i++) {
		char what[64];

		create_init(&c);
		c.reserved[i] = 1ULL << (i * 9);
		snprintf(what, sizeof(what), "CREATE with reserved[%zu] set", i);
		ok &= try_ioctl(what, ctl, SNAPBLK_IOC_CREATE, &c, EINVAL, 0);
	}
	create_init(&c);
	c.__pad = 1;
	ok &= try_ioctl("CREATE with __pad set", ctl, SNAPBLK_IOC_CREATE, &c, EINVAL, 0);
	return ok;
}

static bool test_create_flags(void)
{
	struct snapblk_create c;
	bool ok = true;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		char what[64];

		if ((1U << bit) & SNAPBLK_CREATE_FLAGS)
			continue;
		create_init(&c);
		c.flags = 1U << bit;
		snprintf(what, sizeof(what), "CREATE with unknown flag 1<<%u", bit);
		ok &= try_ioctl(what, ctl, SNAPBLK_IOC_CREATE, &c, EINVAL, 0);
	}
	return ok;
}

static bool test_info_nonexistent(void)
{
	struct snapblk_info info;
	bool ok = true;

	memset(&info, 0, sizeof(info));
	info.index = NO_SUCH_INDEX;
	ok &= try_ioctl("INFO of a nonexistent index", ctl, SNAPBLK_IOC_INFO, &info,
			ENOENT, ENODEV);
	memset(&info, 0, sizeof(info));
	info.index = NO_SUCH_INDEX;
	info.flags = SNAPBLK_INFO_NEXT;
	ok &= try_ioctl("INFO_NEXT past the last device", ctl, SNAPBLK_IOC_INFO, &info,
			ENOENT, ENODEV);
	return ok;
}

static bool test_info_invalid(void)
{
	struct snapblk_info info;
	bool ok = true;

	memset(&info, 0, sizeof(info));
	info.flags = 1U << 31;
	ok &= try_ioctl("INFO with an unknown flag", ctl, SNAPBLK_IOC_INFO, &info,
			EINVAL, 0);
	memset(&info, 0, sizeof(info));
	info.flags = SNAPBLK_INFO_NEXT;
	info.reserved[3] = 1;
	/* uapi: @reserved zero on input; non-zero reserved words are -EINVAL */
	ok &= try_ioctl("INFO with reserved[3] set", ctl, SNAPBLK_IOC_INFO, &info,
			EINVAL, 0);
	return ok;
}

static bool test_cmd_nonexistent(void)
{
	static const struct {
		const char *name;
		unsigned long cmd;
	} cmds[] = {
		{ "REMOVE", SNAPBLK_IOC_REMOVE },
		{ "COMMIT", SNAPBLK_IOC_COMMIT },
		{ "REVERT", SNAPBLK_IOC_REVERT },
		{ "GROW", SNAPBLK_IOC_GROW },
	};
	struct snapblk_cmd c;
	bool ok = true;
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char what[64];

		memset(&c, 0, sizeof(c));
		c.index = NO_SUCH_INDEX;
		snprintf(what, sizeof(what), "%s of a nonexistent index", cmds[i].name);
		if (cmds[i].cmd == SNAPBLK_IOC_REMOVE)
			ok &= try_ioctl(what, ctl, cmds[i].cmd, &c, ENODEV, ENOENT);
		else
			ok &= try_ioctl(what, ctl, cmds[i].cmd, &c, -1, 0);
	}
	memset(&c, 0, sizeof(c));
	c.index = NO_SUCH_INDEX;
	c.flags = SNAPBLK_REMOVE_DISCARD;
	ok &= try_ioctl("REMOVE|DISCARD of a nonexistent index", ctl,
			SNAPBLK_IOC_REMOVE, &c, ENODEV, ENOENT);
	return ok;
}

static bool test_cmd_invalid(void)
{
	static const unsigned long cmds[] = {
		SNAPBLK_IOC_REMOVE, SNAPBLK_IOC_COMMIT, SNAPBLK_IOC_REVERT,
		SNAPBLK_IOC_GROW,
	};
	static const char * const names[] = { "REMOVE", "COMMIT", "REVERT", "GROW" };
	struct snapblk_cmd c;
	bool ok = true;
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char what[64];

		memset(&c, 0, sizeof(c));
		c.index = NO_SUCH_INDEX;
		c.flags = 1U << 30;
		snprintf(what, sizeof(what), "%s with an unknown flag", names[i]);
		ok &= try_ioctl(what, ctl, cmds[i], &c, EINVAL, 0);

		memset(&c, 0, sizeof(c));
		c.index = NO_SUCH_INDEX;
		c.reserved[2] = 1;
		snprintf(what, sizeof(what), "%s with reserved[2] set", names[i]);
		ok &= try_ioctl(what, ctl, cmds[i], &c, EINVAL, 0);
	}
	/* DISCARD means something only to REMOVE */
	memset(&c, 0, sizeof(c));
	c.index = NO_SUCH_INDEX;
	c.flags = SNAPBLK_REMOVE_DISCARD;
	ok &= try_ioctl("GROW with the REMOVE_DISCARD flag", ctl, SNAPBLK_IOC_GROW,
			&c, EINVAL, 0);
	return ok;
}

/* run fn in a child; the child's exit status 0 means pass */
static bool in_child(bool (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		ktap_diag("fork: %s", strerror(errno));
		return false;
	}
	if (!pid)
		_exit(fn() ? 0 : 1);
	if (waitpid(pid, &status, 0) != pid) {
		ktap_diag("waitpid: %s", strerror(errno));
		return false;
	}
	if (!WIFEXITED(status)) {
		ktap_diag("child died with status 0x%x", status);
		return false;
	}
	return WEXITSTATUS(status) == 0;
}

static bool become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) {
		ktap_diag("dropping to uid 65534: %s", strerror(errno));
		return false;
	}
	return true;
}

/* the privileged commands, all of which must give EPERM */
static bool privileged_cmds_refused(const char *who)
{
	struct snapblk_create c;
	struct snapblk_cmd cmd;
	struct snapblk_version v;
	bool ok = true;
	char what[96];

	create_init(&c);
	snprintf(what, sizeof(what), "CREATE %s", who);
	ok &= try_ioctl(what, ctl, SNAPBLK_IOC_CREATE, &c, EPERM, 0);
	memset(&cmd, 0, sizeof(cmd));
	snprintf(what, sizeof(what), "REMOVE %s", who);
	ok &= try_ioctl(what, ctl, SNAPBLK_IOC_REMOVE, &cmd, EPERM, 0);
	snprintf(what, sizeof(what), "COMMIT %s", who);
	ok &= try_ioctl(what, ctl, SNAPBLK_IOC_COMMIT, &cmd, EPERM, 0);
	snprintf(what, sizeof(what), "REVERT %s", who);
	ok &= try_ioctl(what, ctl, SNAPBLK_IOC_REVERT, &cmd, EPERM, 0);
	snprintf(what, sizeof(what), "GROW %s", who);
	ok &= try_ioctl(what, ctl, SNAPBLK_IOC_GROW, &cmd, EPERM, 0);
	/* reading the version changes nothing and stays allowed */
	snprintf(what, sizeof(what), "VERSION %s", who);
	ok &= try_ioctl(what, ctl, SNAPBLK_IOC_VERSION, &v, 0, 0);
	return ok;
}

static bool child_nobody_open(void)
{
	int fd;

	if (!become_nobody())
		return false;
	fd = open(SNAPBLK_CTL_PATH, O_RDWR);
	if (fd >= 0) {
		ktap_diag("uid 65534 could open %s", SNAPBLK_CTL_PATH);
		return false;
	}
	if (errno != EACCES) {
		ktap_diag("open as uid 65534: %s, expected EACCES", ename(errno));
		return false;
	}
	return true;
}

static bool child_nobody_ioctl(void)
{
	return become_nobody() && privileged_cmds_refused("as uid 65534 (inherited fd)");
}

static bool child_no_cap(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	int fd;
	bool ok;

	if (syscall(SYS_capget, &hdr, data)) {
		ktap_diag("capget: %s", strerror(errno));
		return false;
	}
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].permitted &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].inheritable &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &hdr, data)) {
		ktap_diag("capset: %s", strerror(errno));
		return false;
	}
	ok = privileged_cmds_refused("as root without CAP_SYS_ADMIN");
	/* a fresh open (root keeps CAP_DAC_OVERRIDE) changes nothing */
	fd = open(SNAPBLK_CTL_PATH, O_RDWR);
	if (fd < 0) {
		ktap_diag("reopen without CAP_SYS_ADMIN: %s", strerror(errno));
		return false;
	}
	ctl = fd;
	ok &= privileged_cmds_refused("as root without CAP_SYS_ADMIN (new fd)");
	return ok;
}

static bool test_nobody_open(void)
{
	return in_child(child_nobody_open);
}

static bool test_nobody_ioctl(void)
{
	return in_child(child_nobody_ioctl);
}

static bool test_no_cap_sys_admin(void)
{
	return in_child(child_no_cap);
}

static const struct {
	const char *name;
	bool (*fn)(void);
} tests[] = {
	{ "ctl_node_mode_0600", test_node_mode },
	{ "version", test_version },
	{ "efault", test_efault },
	{ "unknown_ioctl_enotty", test_unknown_ioctl },
	{ "create_reserved_einval", test_create_reserved },
	{ "create_unknown_flags_einval", test_create_flags },
	{ "info_nonexistent", test_info_nonexistent },
	{ "info_invalid_einval", test_info_invalid },
	{ "cmd_nonexistent", test_cmd_nonexistent },
	{ "cmd_invalid_einval", test_cmd_invalid },
	{ "nobody_cannot_open", test_nobody_open },
	{ "nobody_eperm", test_nobody_ioctl },
	{ "no_cap_sys_admin_eperm", test_no_cap_sys_admin },
};

int main(void)
{
	size_t i, n = sizeof(tests) / sizeof(tests[0]);

	if (geteuid())
		ktap_skip_all("must run as root");
	ctl = open(SNAPBLK_CTL_PATH, O_RDWR);
	if (ctl < 0) {
		if (errno == ENOENT)
			ktap_skip_all(SNAPBLK_CTL_PATH " missing: snapblk not loaded");
		printf("TAP version 13\n1..0\n# open %s: %s\nBail out!\n",
		       SNAPBLK_CTL_PATH, strerror(errno));
		return KSFT_FAIL;
	}
	ktap_plan(n);
	for (i = 0; i < n; i++)
		ktap_result(tests[i].name, tests[i].fn());
	ktap_finish();
}
