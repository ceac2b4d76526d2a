#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_snapshot_01 - a basic overwrite-original snapshot: `snapblkctl
# origin DEV` wraps a disk (kind origin, chunk_size 0 before any
# snapshot); `snapblkctl snapshot ORIGIN STORE` prints /dev/snapblkN
# alone; sysfs and `status --json` / `list --json` show kind, parent,
# chunk size, name, store sizes and state; the snapshot first reads like
# the origin; after origin writes (4K, 512 B inside a chunk, chunk-spanning
# 1M, unaligned buffered) the snapshot still reads the old data byte for
# byte while the origin and the disk under it hold the new data; lsblk and
# holders/ show origin -> snapshot; detach leaves the disk with the new data.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd python3 lsblk
require_kmod loop

size=$((64 * MiB))
chunk=$((64 * KiB))
store_size=$((100 * MiB))
diskf=$(sb_file disk.img $size 1) || sb_bail "cannot create the disk image"
model=$(sb_copy "$diskf" model.img) || sb_bail "cannot copy the disk image"
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $store_size)") || sb_bail "losetup failed"

# ---- the origin
sb_origin "$disk" --name orig01 || sb_bail "snapblkctl origin $disk failed"
origin=$SB_DEV
ok=$(sb_kname "$origin")
diag "origin: $origin over $disk"
check_true "origin prints exactly /dev/snapblkN" '[ "$SB_OUT" = "/dev/$ok" ]'
check_eq "origin: sysfs kind" "$(sb_sysfs "$origin" kind)" origin
check_eq "origin: sysfs name" "$(sb_sysfs "$origin" name)" orig01
check_eq "origin: sysfs chunk_size is 0 before any snapshot" "$(sb_sysfs "$origin" chunk_size)" 0
parent=$(sb_sysfs "$origin" parent)
check_true "origin: sysfs parent is the disk ($parent)" 'sb_same_dev "$parent" "$disk"'
check_eq "origin: sysfs state" "$(sb_sysfs "$origin" state)" active
check_eq "origin: size equals the disk's" "$(sb_size "$origin")" $size
check "origin reads like the disk" sb_cmp "$origin" "$model"
check_true "the disk is claimed exclusively" '[ "$("$PATTERN" excl "$disk")" = EBUSY ]'
check "the NAME works as DEV (status orig01)" "$SNAPBLKCTL" status orig01

sum0=$("$PATTERN" sum "$origin")

# ---- the snapshot
sb_snapshot orig01 "$store" --name snap01 || sb_bail "snapblkctl snapshot orig01 $store failed"
snap=$SB_DEV
sk=$(sb_kname "$snap")
diag "snapshot: $snap (store $store)"
check_true "snapshot prints exactly /dev/snapblkN" '[ "$SB_OUT" = "/dev/$sk" ]'
check_eq "snapshot: sysfs kind" "$(sb_sysfs "$snap" kind)" snapshot
check_eq "snapshot: sysfs name" "$(sb_sysfs "$snap" name)" snap01
check_eq "snapshot: sysfs chunk_size is 64K by default" "$(sb_sysfs "$snap" chunk_size)" $chunk
parent=$(sb_sysfs "$snap" parent)
check_true "snapshot: sysfs parent is the origin ($parent)" 'sb_same_dev "$parent" "$origin"'
check_eq "snapshot: sysfs state" "$(sb_sysfs "$snap" state)" active
check_eq "snapshot: sysfs progress" "$(sb_sysfs "$snap" progress)" 0
check_eq "snapshot: sysfs store_size is the store's size" "$(sb_sysfs "$snap" store_size)" $store_size
used0=$(sb_sysfs "$snap" store_used)
check_true "snapshot: sysfs store_used ($used0) within the store" \
	'[ -n "$used0" ] && [ "$used0" -ge 0 ] && [ "$used0" -lt $store_size ]'
check_eq "origin: sysfs chunk_size follows its snapshots" "$(sb_sysfs "$origin" chunk_size)" $chunk
check_eq "snapshot: size equals the origin's" "$(sb_size "$snap")" $size
check_true "the store is claimed exclusively" '[ "$("$PATTERN" excl "$store")" = EBUSY ]'

check "origin's holders/ has $sk" sb_is_holder "$origin" "$snap"
check "lsblk shows $sk under $ok" bash -c "lsblk -rno NAME '$origin' | grep -qx '$sk'"
check "lsblk shows $ok -> $sk under $(sb_kname "$disk")" \
	bash -c "lsblk -rno NAME '$disk' | grep -qx '$ok' && lsblk -rno NAME '$disk' | grep -qx '$sk'"

keys='all(k in j for k in ("path","name","kind","parent","store","chunk_size","store_used","store_size","state","progress"))'
sb_ctl status "$snap" --json
check "status SNAP --json: keys and values" sb_json_check "$SB_OUT" "$keys" \
	"j['path'] == '$snap'" "j['name'] == 'snap01'" "j['kind'] == 'snapshot'" \
	"j['parent'] in ('$origin', 'orig01', '$ok')" "j['store'] in ('$store', '$(sb_kname "$store")')" \
	"int(j['chunk_size']) == $chunk" "int(j['store_size']) == $store_size" \
	"0 <= int(j['store_used']) < $store_size" "j['state'] == 'active'" "int(j['progress']) == 0"
sb_ctl status orig01 --json
check "status ORIGIN --json: keys and values" sb_json_check "$SB_OUT" "$keys" \
	"j['path'] == '$origin'" "j['name'] == 'orig01'" "j['kind'] == 'origin'" \
	"j['parent'] in ('$disk', '$(sb_kname "$disk")')" "j['state'] == 'active'"
sb_ctl list --json
check "list --json: an array with both devices" sb_json_check "$SB_OUT" \
	"isinstance(j, list)" \
	"[d['kind'] for d in j if d.get('path') == '$origin'] == ['origin']" \
	"[d['kind'] for d in j if d.get('path') == '$snap'] == ['snapshot']" \
	"all(all(k in d for k in ('path','name','kind','parent','store','chunk_size','store_used','store_size','state','progress')) for d in j)"

check_eq "snapshot reads like the origin (checksum)" "$("$PATTERN" sum "$snap")" "$sum0"

# ---- origin writes: the snapshot keeps the old data
check "origin: 4K write at 0" sb_write "$origin" "$model" 2 0 4K
check "origin: 512B write in the middle of chunk 5" \
	sb_write "$origin" "$model" 3 $((5 * chunk + 30 * 512)) 512 512
check "origin: 512B write ending chunk 6" sb_write "$origin" "$model" 4 $((7 * chunk - 512)) 512 512
check "origin: 1M write spanning 17 chunks (unaligned start)" \
	sb_write "$origin" "$model" 5 $((20 * chunk - 4096)) $MiB 1M
check "origin: 3M+1K write in 256K requests" \
	sb_write "$origin" "$model" 6 $((9 * MiB + 1536)) $((3 * MiB + 1024)) 256K
check "origin: last sector" sb_write "$origin" "$model" 7 $((size - 512)) 512 512
check "origin: 100-byte buffered write at an odd offset" \
	bash -c "'$PATTERN' write -B '$origin' 8 $((30 * MiB + 7)) 100 &&
		'$PATTERN' write -B '$model' 8 $((30 * MiB + 7)) 100"
check "origin: rewrite of an already copied chunk" sb_write "$origin" "$model" 9 0 $chunk 4K
check "origin: random writes" sb_scatter "$origin" "$model" 10 40 512 192K 512

check_eq "snapshot: checksum unchanged" "$("$PATTERN" sum "$snap")" "$sum0"
check "origin: reads the new data" sb_cmp "$origin" "$model"
check "the disk under the origin has the new data" sb_cmp "$disk" "$model"
used1=$(sb_sysfs "$snap" store_used)
check_true "store_used grew ($used0 -> $used1)" '[ "$used1" -gt "$used0" ]'
check_true "store_used within the store ($used1)" '[ "$used1" -le $store_size ]'
sb_drop_caches
check "snapshot: byte for byte the old data (pattern 1), buffered reads, cold cache" \
	"$PATTERN" verify -B "$snap" 1 0 $size

# ---- detach: the disk keeps the new data
check "detach the snapshot" sb_detach "$snap"
check_true "holders link gone" '! [ -e "/sys/block/$ok/holders/$sk" ]'
check "detach the origin" sb_detach "$origin"
check_true "the disk is no longer claimed" '[ "$("$PATTERN" excl "$disk")" = ok ]'
check "the disk holds the new data" sb_cmp "$disk" "$model"

sb_done
