#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_04 - detach/attach round trip: data written to an overlay
# survives `detach` and `attach STORE --base BASE`, also after the store's
# loop device is torn down and set up again (nothing may live only in
# memory); NAME and chunk size come back from the store; --name on
# attach renames; attaching a store that is in use is refused.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_kmod loop

size=$((32 * MiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
model=$(sb_copy "$basef" model.img) || sb_bail "cannot copy the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
storef=$(sb_file store.img $size) || sb_bail "cannot create the store image"
store=$(sb_loop "$storef") || sb_bail "losetup failed"

sb_overlay "$base" "$store" --name rt04 --chunk-size 16K || sb_bail "snapblkctl overlay failed"
dev=$SB_DEV
k=$(sb_kname "$dev")
check "random writes" sb_scatter "$dev" "$model" 41 400 512 200K 512
check "sequential write" sb_write "$dev" "$model" 42 $((20 * MiB)) $((3 * MiB + 512)) 128K
check "reads back before detach" sb_cmp "$dev" "$model"

expect_cli_error "attach of a store in use is refused" attach "$store" --base "$base"

check "detach" sb_detach "$dev"
check_true "/sys/block/$k gone" '! [ -e "/sys/block/$k" ]'
check "base unchanged" sb_verify "$base" 1 0 $size

sb_attach "$store" "$base" || sb_bail "attach $store --base $base failed"
dev=$SB_DEV
check_eq "attach: NAME from the store" "$(sb_sysfs "$dev" name)" rt04
check_eq "attach: chunk size from the store" "$(sb_sysfs "$dev" chunk_size)" 16384
check_eq "attach: kind" "$(sb_sysfs "$dev" kind)" overlay
check_eq "attach: state" "$(sb_sysfs "$dev" state)" active
check "attach: holders link" sb_is_holder "$base" "$dev"
check "data intact after detach + attach" sb_cmp "$dev" "$model"
check "detach by NAME" sb_detach rt04

# a fresh loop device for the store, and cold caches: the data must come
# from the store's blocks
losetup -d "$store" || sb_bail "losetup -d $store failed"
sb_drop_caches
store=$(sb_loop "$storef") || sb_bail "losetup failed"
sb_attach "$store" "$base" --name rt04b || sb_bail "attach on a new loop device failed"
dev=$SB_DEV
check_eq "attach --name renames" "$(sb_sysfs "$dev" name)" rt04b
check "data intact with a new loop device" sb_cmp "$dev" "$model"
check "more writes" sb_scatter "$dev" "$model" 43 200 4K 64K 4K
check "detach again" sb_detach "$dev"

sb_attach "$store" "$base" || sb_bail "third attach failed"
dev=$SB_DEV
check_eq "the new NAME is kept" "$(sb_sysfs "$dev" name)" rt04b
check "data intact after the second round" sb_cmp "$dev" "$model"
check "base unchanged at the end" sb_verify "$base" 1 0 $size

sb_done
