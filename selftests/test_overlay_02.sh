#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_02 - three overlays on one base, written concurrently with
# different heavy patterns (sequential 1M, random 4K-256K, random
# 512B-8K): each reads back its own data and the base elsewhere, the base
# stays byte for byte unchanged, and detaching one leaves the others
# intact.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_kmod loop

size=$((64 * MiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
devs=() models=()
for i in 1 2 3; do
	store=$(sb_loop "$(sb_file "store$i.img" $((80 * MiB)))") || sb_bail "losetup failed"
	sb_overlay "$base" "$store" --name "ov02-$i" || sb_bail "overlay $i failed"
	devs+=("$SB_DEV")
	models+=("$(sb_copy "$basef" "model$i.img")") || sb_bail "cannot copy the base"
	diag "overlay $i: $SB_DEV (store $store)"
done

check "three overlays are holders of the base" bash -c "
	for d in ${devs[*]}; do [ -e /sys/block/$(sb_kname "$base")/holders/\$(basename \$d) ] || exit 1; done"

# the three writers run at the same time
writer() {
	case $1 in
	0) sb_write "${devs[0]}" "${models[0]}" 11 0 $size 1M ;;
	1) sb_scatter "${devs[1]}" "${models[1]}" 12 600 4K 256K 4K ;;
	2) sb_scatter "${devs[2]}" "${models[2]}" 13 3000 512 8K 512 ;;
	esac
}
pids=()
for i in 0 1 2; do
	writer $i >"$SB_TMP/writer$i.log" 2>&1 &
	pids+=($!)
	sb_register_pid $!
done
for i in 0 1 2; do
	wait "${pids[$i]}"
	rc=$?
	check_eq "writer $((i + 1)) finished" $rc 0 || diag_file "$SB_TMP/writer$i.log"
done

# a second round on overlay 1 that overwrites part of the first
check "overlay 1: random rewrites" sb_scatter "${devs[0]}" "${models[0]}" 14 200 512 128K 512

for i in 0 1 2; do
	check "overlay $((i + 1)) reads its own data" sb_cmp "${devs[$i]}" "${models[$i]}"
done
check "base unchanged byte for byte" sb_verify "$base" 1 0 $size

check "detach overlay 2" sb_detach "${devs[1]}"
check "overlay 1 intact after detaching overlay 2" sb_cmp "${devs[0]}" "${models[0]}"
check "overlay 3 intact after detaching overlay 2" sb_cmp "${devs[2]}" "${models[2]}"
check "overlay 3 still writable" sb_scatter "${devs[2]}" "${models[2]}" 15 100 4K 64K 4K
check "overlay 3 reads its data" sb_cmp "${devs[2]}" "${models[2]}"
check "base unchanged at the end" sb_verify "$base" 1 0 $size

sb_done
