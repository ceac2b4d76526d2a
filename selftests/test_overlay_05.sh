#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_05 - a chain of three overlays (base <- o1 <- o2 <- o3) with
# writes at each level before its child exists: every level reads its own
# view; a device with an overlay child is read-only (writes fail and
# change nothing); sysfs parent and holders links follow the chain;
# removing the child makes the parent writable again.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_kmod loop

size=$((32 * MiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
parent=$base parentf=$basef
dev=() model=()
for i in 1 2 3; do
	store=$(sb_loop "$(sb_file "store$i.img" $((40 * MiB)))") || sb_bail "losetup failed"
	sb_overlay "$parent" "$store" --name "chain05-$i" || sb_bail "overlay level $i failed"
	d=$SB_DEV
	m=$(sb_copy "$parentf" "model$i.img") || sb_bail "cannot copy a model"
	diag "level $i: $d on $parent"
	p=$(sb_sysfs "$d" parent)
	check_true "level $i: sysfs parent ($p) is $parent" 'sb_same_dev "$p" "$parent"'
	check "level $i: holders link from $(sb_kname "$parent")" sb_is_holder "$parent" "$d"
	check "level $i: reads like its parent" sb_cmp "$d" "$m"
	check "level $i: random writes" sb_scatter "$d" "$m" $((50 + i)) 300 512 256K 512
	check "level $i: sequential write" sb_write "$d" "$m" $((60 + i)) $((i * 9 * MiB + 512)) $((2 * MiB)) 1M
	check "level $i: reads its writes" sb_cmp "$d" "$m"
	dev+=("$d")
	model+=("$m")
	parent=$d parentf=$m
done

for i in 0 1 2; do
	check "level $((i + 1)): view intact with the whole chain" sb_cmp "${dev[$i]}" "${model[$i]}"
done
check "base unchanged" sb_verify "$base" 1 0 $size

# o1 and o2 have children: writes must fail and change nothing
for i in 0 1; do
	check_fails "level $((i + 1)) has a child: 4K direct write fails" \
		"$PATTERN" write "${dev[$i]}" 99 $((4 * MiB)) 4K
	check_fails "level $((i + 1)) has a child: 512B direct write fails" \
		"$PATTERN" write -b 512 "${dev[$i]}" 99 $((5 * MiB + 512)) 512
	check_fails "level $((i + 1)) has a child: buffered write + fsync fails" \
		"$PATTERN" write -B "${dev[$i]}" 99 $((7 * MiB + 100)) 100
	diag "level $((i + 1)): blockdev --getro: $(blockdev --getro "${dev[$i]}" 2>&1)"
done
sb_drop_caches
for i in 0 1 2; do
	check "level $((i + 1)): unchanged by the refused writes" sb_cmp "${dev[$i]}" "${model[$i]}"
done

# without its child, o2 takes writes again; o1 (child o2) still does not
check "detach level 3" sb_detach "${dev[2]}"
check "level 2 writable once its child is gone" \
	sb_scatter "${dev[1]}" "${model[1]}" 70 100 4K 128K 4K
check "level 2 reads its new writes" sb_cmp "${dev[1]}" "${model[1]}"
check_fails "level 1 still read-only" "$PATTERN" write "${dev[0]}" 99 0 4K
check "level 1 intact" sb_cmp "${dev[0]}" "${model[0]}"
check "base unchanged at the end" sb_verify "$base" 1 0 $size

sb_done
