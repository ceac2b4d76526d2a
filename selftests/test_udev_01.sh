#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_udev_01 - with systemd-udevd running and udev/60-snapblk.rules
# installed (in /run/udev/rules.d, the guest's root being read-only),
# /dev/snapblk/NAME links to each device and /dev/snapblk/NAME-partN to
# its partitions, the links follow attach (NAME kept in the store) and go
# away with the device, and a device's change events pass through udev
# with their SNAPBLK_EVENT.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_pattern
require_kmod loop
UDEVD=/lib/systemd/systemd-udevd
[ -x $UDEVD ] && command -v udevadm >/dev/null || sb_skip "systemd-udevd not installed"
pgrep -x systemd-udevd >/dev/null && sb_skip "a udev daemon runs already"

mkdir -p /run/udev/rules.d
cp "$SB_ROOT/udev/60-snapblk.rules" /run/udev/rules.d/ || sb_bail "cannot install the rule"
$UDEVD --resolve-names=never >"$SB_TMP/udevd.log" 2>&1 &
udevd=$!
sb_register_pid $udevd
for ((i = 0; i < 50; i++)); do
	udevadm control --ping -t 1 2>/dev/null && break
	sleep 0.2
done
check "systemd-udevd answers" udevadm control --ping -t 5

settle() { udevadm settle -t 20; }

# detach DEV, again while udev's probe of a change event holds it open
detach_settled() {
	local i

	settle
	for ((i = 0; i < 25; i++)); do
		sb_detach "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	sb_detach "$1"
}

size=$((32 * MiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
printf 'label: dos\n1MiB,8MiB,L\n,,L\n' | sfdisk -q "$basef" || sb_bail "sfdisk failed"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
storef=$(sb_file store.img $((16 * MiB))) || sb_bail "cannot create the store image"
store=$(sb_loop "$storef") || sb_bail "losetup failed"

sb_overlay "$base" "$store" --name udevclone || sb_bail "snapblkctl overlay failed"
dev=$SB_DEV
settle
check_eq "/dev/snapblk/udevclone is the overlay" "$(readlink -f /dev/snapblk/udevclone)" "$dev"
check_eq "/dev/snapblk/udevclone-part1" "$(readlink -f /dev/snapblk/udevclone-part1)" "${dev}p1"
check_eq "/dev/snapblk/udevclone-part2" "$(readlink -f /dev/snapblk/udevclone-part2)" "${dev}p2"
check "write through the link" sb_write /dev/snapblk/udevclone-part1 - 7 0 $((4 * MiB))
check "read it back through the device" sb_verify "${dev}p1" 7 0 $((4 * MiB))

check "detach" detach_settled "$dev"
settle
check_true "the links are gone" '! [ -e /dev/snapblk/udevclone ] && ! [ -e /dev/snapblk/udevclone-part1 ]'

sb_attach "$store" "$base" || sb_bail "attach failed"
dev=$SB_DEV
settle
check_eq "after attach, the link has the NAME kept in the store" \
	"$(readlink -f /dev/snapblk/udevclone)" "$dev"
check "the data is there" sb_verify /dev/snapblk/udevclone-part1 7 0 $((4 * MiB))

# a device without --name: /dev/snapblk/snapblkN
diskf=$(sb_file disk.img $((8 * MiB)) 2) || sb_bail "cannot create the disk image"
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
sb_origin "$disk" || sb_bail "snapblkctl origin failed"
org=$SB_DEV
settle
check_eq "an unnamed device: /dev/snapblk/$(sb_kname "$org")" \
	"$(readlink -f "/dev/snapblk/$(sb_kname "$org")")" "$org"

# change events go through udev with their properties
udevadm monitor --udev --property --subsystem-match=block >"$SB_TMP/udev.txt" 2>&1 &
mon=$!
sb_register_pid $mon
sleep 1
check "fill the overlay's store past 80 %" sb_write "$dev" - 9 $((10 * MiB)) $((9 * MiB)) 64K
check_true "udev passed on a threshold event of udevclone" '
	for ((i = 0; i < 50; i++)); do
		grep -q "^SNAPBLK_EVENT=threshold" "$SB_TMP/udev.txt" && break
		sleep 0.2
	done
	grep -q "^SNAPBLK_NAME=udevclone" "$SB_TMP/udev.txt" &&
	grep -q "^SNAPBLK_EVENT=threshold" "$SB_TMP/udev.txt"'
kill $mon 2>/dev/null

check "detach the overlay" detach_settled "$dev"
check "detach the origin" detach_settled "$org"
settle
udevadm control --exit -t 10
sb_wait_pid $udevd 10
check_true "the links of removed devices are gone" '! ls /dev/snapblk/* >/dev/null 2>&1'
rm -f /run/udev/rules.d/60-snapblk.rules

sb_done
