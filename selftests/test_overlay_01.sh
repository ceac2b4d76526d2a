#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_01 - a basic overlay: `snapblkctl overlay BASE STORE`
# prints /dev/snapblkN alone; sysfs shows kind, default chunk size and
# name, parent, store sizes; the overlay first reads like the base;
# aligned, unaligned (512 B), buffered sub-page and chunk-spanning writes
# read back right while the base stays byte for byte unchanged; the base
# and the store are claimed exclusively; lsblk/holders show base ->
# overlay; --chunk-size 4K and 1M are accepted.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_kmod loop

size=$((64 * MiB))
chunk=$((64 * KiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
model=$(sb_copy "$basef" model.img) || sb_bail "cannot copy the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $size)") || sb_bail "losetup failed"
base_sum=$("$PATTERN" sum "$base")

sb_overlay "$base" "$store" || sb_bail "snapblkctl overlay $base $store failed"
dev=$SB_DEV
k=$(sb_kname "$dev")
diag "overlay: $dev (base $base, store $store)"
check_true "prints exactly /dev/snapblkN" '[ "$SB_OUT" = "/dev/$k" ]'

check_eq "sysfs kind" "$(sb_sysfs "$dev" kind)" overlay
check_eq "sysfs chunk_size is 64K by default" "$(sb_sysfs "$dev" chunk_size)" $chunk
check_eq "sysfs name defaults to $k" "$(sb_sysfs "$dev" name)" "$k"
parent=$(sb_sysfs "$dev" parent)
check_true "sysfs parent is the base ($parent)" 'sb_same_dev "$parent" "$base"'
check_eq "sysfs state" "$(sb_sysfs "$dev" state)" active
check_eq "sysfs progress" "$(sb_sysfs "$dev" progress)" 0
check_eq "sysfs store_size is the store's size" "$(sb_sysfs "$dev" store_size)" "$(sb_size "$store")"
used0=$(sb_sysfs "$dev" store_used)
check_true "sysfs store_used ($used0) within the store" \
	'[ -n "$used0" ] && [ "$used0" -ge 0 ] && [ "$used0" -le $size ]'
check_eq "size equals the base's" "$(sb_size "$dev")" $size
check "the base's holders/ has $k" sb_is_holder "$base" "$dev"
check "lsblk shows $k under $(sb_kname "$base")" \
	bash -c "lsblk -rno NAME '$base' | grep -qx '$k'"
check_true "base is claimed exclusively (O_EXCL open: EBUSY)" \
	'[ "$("$PATTERN" excl "$base")" = EBUSY ]'
check_true "store is claimed exclusively (O_EXCL open: EBUSY)" \
	'[ "$("$PATTERN" excl "$store")" = EBUSY ]'

check "reads equal the base" sb_cmp "$dev" "$model"

# writes: chunk-aligned, 512-byte unaligned, partial overwrites,
# chunk-spanning, many-chunk, last sector, buffered sub-page
check "4K write at 0" sb_write "$dev" "$model" 2 0 4K
check "512B write at 3584 (inside chunk 0)" sb_write "$dev" "$model" 3 3584 512 512
check "512B write ending chunk 0" sb_write "$dev" "$model" 4 $((chunk - 512)) 512 512
check "512B write starting chunk 1" sb_write "$dev" "$model" 5 $chunk 512 512
check "1K write over an earlier write" sb_write "$dev" "$model" 6 3072 1K 512
check "write spanning three chunks" \
	sb_write "$dev" "$model" 7 $((3 * chunk - 4096)) $((chunk + 8192)) 1M
check "odd-sized write spanning chunks (512B-aligned)" \
	sb_write "$dev" "$model" 8 $((9 * chunk + 1536)) $((2 * chunk + 3584)) 8K
check "3M+1K write in 256K requests" \
	sb_write "$dev" "$model" 9 $((5 * MiB + 512)) $((3 * MiB + 1024)) 256K
check "last sector" sb_write "$dev" "$model" 10 $((size - 512)) 512 512
check "100-byte buffered write at an odd offset" \
	bash -c "'$PATTERN' write -B '$dev' 11 $((10 * MiB + 7)) 100 &&
		'$PATTERN' write -B '$model' 11 $((10 * MiB + 7)) 100"
check "whole 1M writes over a written region" \
	sb_write "$dev" "$model" 12 $((6 * MiB)) $((2 * MiB)) 1M

check "overlay reads its writes and the base elsewhere" sb_cmp "$dev" "$model"
sb_drop_caches
check "same after dropping caches (buffered reads)" \
	bash -c "cmp '$dev' '$model'"
check "base unchanged byte for byte" sb_verify "$base" 1 0 $size
check_eq "base checksum unchanged" "$("$PATTERN" sum "$base")" "$base_sum"
used1=$(sb_sysfs "$dev" store_used)
check_true "store_used grew ($used0 -> $used1)" '[ "$used1" -gt "$used0" ]'

# the chunk-size limits of SPEC section 3 are accepted (more overlays on
# the same base)
for cs in 4K:4096 1M:1048576; do
	store2=$(sb_loop "$(sb_file "store-${cs%%:*}.img" $size)") || sb_bail "losetup failed"
	if sb_overlay "$base" "$store2" --chunk-size "${cs%%:*}" --name "ov01-${cs%%:*}"; then
		check_eq "--chunk-size ${cs%%:*}: sysfs chunk_size" \
			"$(sb_sysfs "$SB_DEV" chunk_size)" "${cs#*:}"
		check_eq "--name ov01-${cs%%:*}: sysfs name" "$(sb_sysfs "$SB_DEV" name)" "ov01-${cs%%:*}"
		check "--chunk-size ${cs%%:*}: unaligned write reads back" bash -c "
			'$PATTERN' write -b 512 '$SB_DEV' 13 $((3 * MiB - 1536)) 5120 &&
			'$PATTERN' verify '$SB_DEV' 13 $((3 * MiB - 1536)) 5120 &&
			'$PATTERN' verify '$SB_DEV' 1 $((3 * MiB + 3584)) 1M"
		check "--chunk-size ${cs%%:*}: detach" sb_detach "$SB_DEV"
	else
		sb_notok "--chunk-size ${cs%%:*} accepted"
	fi
done
check "first overlay unaffected by its siblings" sb_cmp "$dev" "$model"

check "detach" sb_detach "$dev"
check_true "holders link gone" '! [ -e "/sys/block/$(sb_kname "$base")/holders/$k" ]'
check_true "/dev/$k gone" '! [ -e "/dev/$k" ]'
check "base unchanged after detach" sb_verify "$base" 1 0 $size
check_true "base no longer claimed" '[ "$("$PATTERN" excl "$base")" = ok ]'

sb_done
