/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk control device: /dev/snapblk-ctl and its ioctls.
 */
#ifndef SNAPBLK_CTL_H
#define SNAPBLK_CTL_H

int snapblk_ctl_init(void);
void snapblk_ctl_exit(void);

#endif /* SNAPBLK_CTL_H */
