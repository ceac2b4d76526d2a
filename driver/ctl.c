// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk control device.
 *
 * /dev/snapblk-ctl takes the ioctls of uapi/linux/snapblk.h. This file
 * only copies and checks the arguments (reserved words, flags, sizes)
 * and hands them to dev.c; it keeps no state of its own.
 */
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "ctl.h"
#include "dev.h"

static bool snapblk_zeroed(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

static long snapblk_ctl_version(void __user *argp)
{
	struct snapblk_version v = {
		.abi_major = SNAPBLK_ABI_MAJOR,
		.abi_minor = SNAPBLK_ABI_MINOR,
		.features = snapblk_kind_features(),
	};

	strscpy(v.version, SNAPBLK_VERSION, sizeof(v.version));
	if (copy_to_user(argp, &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

static long snapblk_ctl_create(void __user *argp)
{
	struct snapblk_create c;
	int ret;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	if (c.flags & ~SNAPBLK_CREATE_FLAGS || c.__pad || c.index ||
	    !snapblk_zeroed(c.reserved, sizeof(c.reserved)))
		return -EINVAL;
	ret = snapblk_dev_create(&c);
	if (ret)
		return ret;
	if (put_user(c.index, &((struct snapblk_create __user *)argp)->index))
		return -EFAULT;
	return 0;
}

static long snapblk_ctl_info(void __user *argp)
{
	struct snapblk_info info;
	int ret;

	if (copy_from_user(&info, argp, sizeof(info)))
		return -EFAULT;
	if (info.flags & ~SNAPBLK_INFO_NEXT)
		return -EINVAL;
	ret = snapblk_dev_info(&info);
	if (ret)
		return ret;
	if (copy_to_user(argp, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long snapblk_ctl_cmd(unsigned int cmd, void __user *argp)
{
	struct snapblk_cmd c;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	if (!snapblk_zeroed(c.reserved, sizeof(c.reserved)))
		return -EINVAL;

	switch (cmd) {
	case SNAPBLK_IOC_REMOVE:
		if (c.flags & ~SNAPBLK_REMOVE_DISCARD)
			return -EINVAL;
		return snapblk_dev_remove(c.index, c.flags & SNAPBLK_REMOVE_DISCARD);
	case SNAPBLK_IOC_COMMIT:
	case SNAPBLK_IOC_REVERT:
	case SNAPBLK_IOC_GROW:
		if (c.flags)
			return -EINVAL;
		return snapblk_dev_command(c.index, cmd);
	}
	return -ENOTTY;
}

static long snapblk_ctl_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case SNAPBLK_IOC_VERSION:
		return snapblk_ctl_version(argp);
	case SNAPBLK_IOC_INFO:
		return snapblk_ctl_info(argp);
	case SNAPBLK_IOC_CREATE:
	case SNAPBLK_IOC_REMOVE:
	case SNAPBLK_IOC_COMMIT:
	case SNAPBLK_IOC_REVERT:
	case SNAPBLK_IOC_GROW:
		break;
	default:
		return -ENOTTY;
	}

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (cmd == SNAPBLK_IOC_CREATE)
		return snapblk_ctl_create(argp);
	return snapblk_ctl_cmd(cmd, argp);
}

static const struct file_operations snapblk_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= snapblk_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice snapblk_ctl_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= SNAPBLK_CTL_NAME,
	.mode	= 0600,
	.fops	= &snapblk_ctl_fops,
};

int snapblk_ctl_init(void)
{
	return misc_register(&snapblk_ctl_misc);
}

void snapblk_ctl_exit(void)
{
	misc_deregister(&snapblk_ctl_misc);
}
