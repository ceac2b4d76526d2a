#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_snapshot_05 - a snapshot store fills up (8 MiB store, 64K chunks).
# on-full invalidate (the default): every origin write succeeds, the
# snapshot becomes `invalid` and reads and writes of it fail with EIO; the
# origin and its disk hold every write.
# on-full block-writes: once the store is full, origin writes that need a
# copy fail with EIO (writes to chunks already copied still work), the
# snapshot stays byte for byte its moment, state `full`. After the store's
# device grows (bigger file, `losetup -c`) `snapblkctl grow` makes origin
# writes work again, and the snapshot still reads its moment.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd python3
require_kmod loop

size=$((32 * MiB))
chunk=$((64 * KiB))
store_size=$((8 * MiB))

# expect_eio DESC CMD...: CMD must fail with "Input/output error"
expect_eio() {
	local desc=$1 out

	shift
	if out=$("$@" 2>&1); then
		sb_notok "$desc" "succeeded: $*"
		return 1
	fi
	if printf '%s' "$out" | grep -q "Input/output error"; then
		sb_ok "$desc"
		return 0
	fi
	sb_notok "$desc" "failed, but not with EIO: $out"
	return 1
}

# ---------------------------------------------------------- invalidate
diskf=$(sb_file disk1.img $size 1) || sb_bail "cannot create the disk image"
model=$(sb_copy "$diskf" model1.img) || sb_bail "cannot copy the disk image"
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store1.img $store_size)") || sb_bail "losetup failed"
sb_origin "$disk" --name o05a || sb_bail "snapblkctl origin failed"
origin=$SB_DEV
sb_snapshot o05a "$store" --name s05a || sb_bail "snapshot on an 8M store failed"
snap=$SB_DEV
check_eq "invalidate: state before" "$(sb_sysfs "$snap" state)" active
check "invalidate: snapshot reads its moment before the store fills" \
	"$PATTERN" verify "$snap" 1 0 $MiB

out=$("$PATTERN" fill -b $chunk "$origin" 2 0 $((16 * MiB)))
read -r written err <<<"$out"
"$PATTERN" write "$model" 2 0 "$written"
diag "origin wrote $written bytes (errno $err); store_used $(sb_sysfs "$snap" store_used) of $(sb_sysfs "$snap" store_size)"
check_true "invalidate: all 16M of origin writes succeeded" '[ "$err" = 0 ] && [ "$written" = $((16 * MiB)) ]'
check "invalidate: more origin writes succeed (random, 512B-128K)" \
	sb_scatter "$origin" "$model" 3 20 512 128K 512
check_eq "invalidate: state" "$(sb_sysfs "$snap" state)" invalid
sb_ctl status "$snap" --json
check "invalidate: status --json state" sb_json_check "$SB_OUT" "j['state'] == 'invalid'"
expect_eio "invalidate: reading a copied chunk of the snapshot fails with EIO" \
	dd if="$snap" of=/dev/null bs=64K count=1 iflag=direct
expect_eio "invalidate: reading an untouched chunk of the snapshot fails with EIO" \
	dd if="$snap" of=/dev/null bs=64K count=1 skip=400 iflag=direct
expect_eio "invalidate: buffered read of the snapshot fails with EIO" \
	dd if="$snap" of=/dev/null bs=4K count=1 skip=3000
expect_eio "invalidate: writing the snapshot fails with EIO" \
	dd if=/dev/zero of="$snap" bs=4K count=1 seek=5000 oflag=direct
check "invalidate: origin holds every write" sb_cmp "$origin" "$model"
check "invalidate: the disk holds every write" sb_cmp "$disk" "$model"
check "invalidate: origin writes keep working" sb_write "$origin" "$model" 4 $((20 * MiB)) $MiB
check "invalidate: origin reads them" sb_cmp "$origin" "$model" $((20 * MiB)) $MiB
check "invalidate: delete the invalid snapshot" sb_delete "$snap"
check "invalidate: detach the origin" sb_detach "$origin"
check "invalidate: the disk holds every write" sb_cmp "$disk" "$model"

# -------------------------------------------------------- block-writes
diskf=$(sb_file disk2.img $size 5) || sb_bail "cannot create the disk image"
model=$(sb_copy "$diskf" model2.img) || sb_bail "cannot copy the disk image"
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
storef=$(sb_file store2.img $store_size) || sb_bail "cannot create the store image"
store=$(sb_loop "$storef") || sb_bail "losetup failed"
sb_origin "$disk" --name o05b || sb_bail "snapblkctl origin failed"
origin=$SB_DEV
sb_snapshot o05b "$store" --name s05b --on-full block-writes ||
	sb_bail "snapshot --on-full block-writes failed"
snap=$SB_DEV

out=$("$PATTERN" fill -b $chunk "$origin" 6 0 $((16 * MiB)))
read -r written err <<<"$out"
"$PATTERN" write "$model" 6 0 "$written"
diag "origin wrote $written bytes before errno $err; store_used $(sb_sysfs "$snap" store_used) of $(sb_sysfs "$snap" store_size)"
check_true "block-writes: an origin write failed before 16M" '[ "$err" != 0 ] && [ "$written" -lt $((16 * MiB)) ]'
check_eq "block-writes: the failure is EIO" "$err" 5
check_true "block-writes: some chunks were copied ($written bytes)" '[ "$written" -ge $((2 * chunk)) ]'
check_true "block-writes: no more than the store holds" '[ "$written" -le $store_size ]'
check_eq "block-writes: state" "$(sb_sysfs "$snap" state)" full
sb_ctl status "$snap" --json
check "block-writes: status --json state" sb_json_check "$SB_OUT" "j['state'] == 'full'"
check "block-writes: snapshot is byte for byte its moment" sb_verify "$snap" 5 0 $size
check "block-writes: origin holds the writes that succeeded and old data after them" \
	sb_cmp "$origin" "$model"
expect_eio "block-writes: a 4K origin write elsewhere fails with EIO" \
	"$PATTERN" write -b 4K "$origin" 7 $((24 * MiB)) 4K
expect_eio "block-writes: a 512B origin write elsewhere fails with EIO" \
	"$PATTERN" write -b 512 "$origin" 7 $((28 * MiB + 512)) 512
check "block-writes: writes to chunks already copied work" \
	sb_write "$origin" "$model" 8 $((chunk / 2)) $chunk 4K
check "block-writes: origin reads like the model" sb_cmp "$origin" "$model"
check "block-writes: snapshot still its moment" sb_verify "$snap" 5 0 $size

# grow the store
new_size=$((64 * MiB))
truncate -s $new_size "$storef" && losetup -c "$store" || sb_bail "cannot grow the store device"
check "snapblkctl grow" "$SNAPBLKCTL" grow "$snap"
check_eq "grow: store_size" "$(sb_sysfs "$snap" store_size)" $new_size
check_eq "grow: state" "$(sb_sysfs "$snap" state)" active
check "grow: the origin writes that failed work now" \
	sb_write "$origin" "$model" 6 "$written" $((16 * MiB - written)) $chunk
check "grow: more origin writes" sb_write "$origin" "$model" 9 $((24 * MiB)) $((4 * MiB))
check "grow: origin reads like the model" sb_cmp "$origin" "$model"
check "grow: snapshot still byte for byte its moment" sb_verify "$snap" 5 0 $size
check "grow: the disk holds every origin write" sb_cmp "$disk" "$model"

sb_done
