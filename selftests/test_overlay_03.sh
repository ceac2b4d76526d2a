#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_03 - a filesystem on an overlay: mkfs.ext4, mount, copy
# files, umount, `fsck -fn` clean, remount and compare every file's
# checksum; then the same after detach + attach. The base (random data)
# stays unchanged.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd mkfs.ext4 e2fsck sha256sum
require_kmod loop ext4

size=$((64 * MiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $((96 * MiB)))") || sb_bail "losetup failed"
sb_overlay "$base" "$store" || sb_bail "snapblkctl overlay failed"
dev=$SB_DEV
mnt=$SB_TMP/mnt

check "mkfs.ext4" mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$dev"
sb_mount "$dev" "$mnt" || sb_bail "mount $dev failed"
sb_ok "mount"

# files: generated data of several sizes, and a tree of system files
mkdir -p "$mnt/data" "$mnt/tree"
ok=1
for spec in 1:0 2:1 3:4095 4:4097 5:65536 6:300000 7:5000000 8:13000000; do
	n=${spec%%:*} len=${spec#*:}
	truncate -s "$len" "$mnt/data/f$n" &&
		{ [ "$len" -eq 0 ] || "$PATTERN" write -B "$mnt/data/f$n" "$((100 + n))" 0 "$len"; } ||
		ok=0
done
cp -a /usr/bin/[a-b]* "$mnt/tree/" 2>/dev/null
check_true "files written" '[ $ok = 1 ] && [ "$(ls "$mnt/tree" | wc -l)" -gt 10 ]'
(cd "$mnt" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$SB_TMP/manifest"
diag "$(wc -l <"$SB_TMP/manifest") files, $(du -sh "$mnt" | cut -f1)"
sync
check "umount" umount "$mnt"

check "fsck -fn clean" e2fsck -fn "$dev"
sb_mount "$dev" "$mnt" || sb_bail "remount failed"
check "checksums after remount" bash -c "cd '$mnt' && sha256sum --quiet -c '$SB_TMP/manifest'"
check "umount" umount "$mnt"

check "detach" sb_detach "$dev"
sb_attach "$store" "$base" || sb_bail "attach failed"
dev=$SB_DEV
check "fsck -fn clean after detach + attach" e2fsck -fn "$dev"
sb_mount "$dev" "$mnt" || sb_bail "mount after attach failed"
check "checksums after detach + attach" bash -c "cd '$mnt' && sha256sum --quiet -c '$SB_TMP/manifest'"
check "umount" umount "$mnt"
check "base unchanged" sb_verify "$base" 1 0 $size

sb_done
