#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_08 - store full: on a tiny store, writes fail with an I/O
# error once it is full, sysfs state says "full", reads keep working and
# everything written before is intact. After the store's device grows
# (bigger backing file, `losetup -c`) `snapblkctl grow` makes writes work
# again, and the grown store survives detach + attach.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_kmod loop

size=$((32 * MiB))
chunk=$((64 * KiB))
store_size=$((4 * MiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
model=$(sb_copy "$basef" model.img) || sb_bail "cannot copy the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
storef=$(sb_file store.img $store_size) || sb_bail "cannot create the store image"
store=$(sb_loop "$storef") || sb_bail "losetup failed"
sb_overlay "$base" "$store" || sb_bail "snapblkctl overlay of a 4M store failed"
dev=$SB_DEV

# fill: chunk-sized direct writes from offset 0 until one fails
out=$("$PATTERN" fill -b $chunk "$dev" 2 0 $size)
read -r written err <<<"$out"
diag "wrote $written bytes before errno $err; store_used $(sb_sysfs "$dev" store_used)"
check_true "a write failed before the end of the device" '[ "$err" != 0 ] && [ "$written" -lt $size ]'
check_true "the failure is an I/O error (EIO=5 or ENOSPC=28, got $err)" '[ "$err" = 5 ] || [ "$err" = 28 ]'
check_true "something fitted (written=$written)" '[ "$written" -ge $chunk ]'
check_true "no more than the store holds" '[ "$written" -le $store_size ]'
"$PATTERN" write "$model" 2 0 "$written"
check_eq "sysfs state" "$(sb_sysfs "$dev" state)" full
sb_ctl status "$dev" --json
check "status --json state is full" sb_json_check "$SB_OUT" 'j["state"] == "full"'

check_fails "further writes fail (elsewhere)" "$PATTERN" write "$dev" 3 $((20 * MiB)) 4K
check_fails "further writes fail (512 B)" "$PATTERN" write -b 512 "$dev" 3 $((25 * MiB + 512)) 512

# reads: everything written is there, the rest shows the base; the chunk
# whose write failed holds either its old or its new data
fail_off=$written
check "data written before the store filled is intact" \
	"$PATTERN" cmp "$dev" "$model" 0 "$written"
check "beyond the failed chunk: base data" \
	"$PATTERN" cmp "$dev" "$model" $((fail_off + chunk)) $((size - fail_off - chunk))
check "failed chunk: old or new data" bash -c "
	'$PATTERN' verify '$dev' 1 $fail_off $chunk 2>/dev/null ||
	'$PATTERN' verify '$dev' 2 $fail_off $chunk"
sb_drop_caches
check "reads work with cold caches" "$PATTERN" cmp -B "$dev" "$model" 0 "$written"
check "base unchanged" sb_verify "$base" 1 0 $size

# grow the store's device and tell snapblk
new_store_size=$((48 * MiB))
truncate -s $new_store_size "$storef" && losetup -c "$store" || sb_bail "cannot grow the store device"
check_eq "store device grew" "$(sb_size "$store")" $new_store_size
check "snapblkctl grow" "$SNAPBLKCTL" grow "$dev"
check_eq "sysfs store_size after grow" "$(sb_sysfs "$dev" store_size)" $new_store_size
check_eq "sysfs state after grow" "$(sb_sysfs "$dev" state)" active
check "writes work again: the rest of the device" \
	sb_write "$dev" "$model" 2 "$fail_off" $((size - fail_off)) $chunk
check "random rewrites" sb_scatter "$dev" "$model" 4 200 512 128K 512
check "the whole device reads like the model" sb_cmp "$dev" "$model"

check "detach" sb_detach "$dev"
sb_attach "$store" "$base" || sb_bail "attach of the grown store failed"
dev=$SB_DEV
check_eq "store_size after attach" "$(sb_sysfs "$dev" store_size)" $new_store_size
check_eq "state after attach" "$(sb_sysfs "$dev" state)" active
check "data intact after detach + attach" sb_cmp "$dev" "$model"
check "base unchanged at the end" sb_verify "$base" 1 0 $size

sb_done
