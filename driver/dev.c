// SPDX-License-Identifier: GPL-2.0
/* placeholder: replaced by the device implementation */
#include <linux/errno.h>
#include "dev.h"

int snapblk_dev_init(void) { return 0; }
void snapblk_dev_exit(void) { }
int snapblk_dev_create(struct snapblk_create *c) { return -EOPNOTSUPP; }
int snapblk_dev_remove(u32 index, bool discard) { return -ENODEV; }
int snapblk_dev_info(struct snapblk_info *info) { return -ENODEV; }
int snapblk_dev_command(u32 index, unsigned int cmd) { return -EOPNOTSUPP; }
