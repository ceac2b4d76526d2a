// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk - snapshot and overlay block devices.
 *
 * Module entry points: register the block major and the control device.
 * Every device holds a module reference, so the module cannot be
 * unloaded while a device exists.
 */
#include <linux/module.h>

#include "ctl.h"
#include "dev.h"
#include "event.h"

static int __init snapblk_init(void)
{
	int ret;

	ret = snapblk_dev_init();
	if (ret)
		return ret;
	ret = snapblk_ctl_init();
	if (ret)
		goto undo_dev_init;
	pr_info("snapblk: version %s loaded\n", SNAPBLK_VERSION);
	return 0;

undo_dev_init:
	snapblk_dev_exit();
	return ret;
}

static void __exit snapblk_exit(void)
{
	snapblk_ctl_exit();
	snapblk_event_exit();
	snapblk_dev_exit();
}

module_init(snapblk_init);
module_exit(snapblk_exit);

MODULE_DESCRIPTION("snapshot and overlay block devices with a copy-on-write store");
MODULE_LICENSE("GPL");
MODULE_VERSION(SNAPBLK_VERSION);
