#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_snapshot_03 - writes to a snapshot: S1, S2, S3 of one origin in
# one store, with origin writes between them. Writes to S2 (4K, 512 B
# inside a chunk, chunk-spanning, buffered 100 bytes) on chunks whose
# preserved copy S2 shares with S1, on chunks S2 still reads from the
# origin, and on chunks only S1 has a copy of, read back from S2 and
# change neither the origin nor S1 nor S3. Origin writes over the same
# chunks afterwards leave S2's data (written and unwritten parts of its
# chunks) alone. All of it survives detach + attach of the store.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_kmod loop

size=$((32 * MiB))
chunk=$((64 * KiB))
diskf=$(sb_file disk.img $size 1) || sb_bail "cannot create the disk image"
mo=$(sb_copy "$diskf" model-origin.img) || sb_bail "cannot copy the disk image"
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $((100 * MiB)))") || sb_bail "losetup failed"
sb_origin "$disk" --name o03 || sb_bail "snapblkctl origin failed"
origin=$SB_DEV

psum() { "$PATTERN" sum "$1"; }

sum1=$(psum "$origin")
sb_snapshot o03 "$store" --name s1 || sb_bail "snapshot S1 failed"
s1=$SB_DEV
# R3 = [3M, 4M): changed after S1 only, S1 has its own copy
check "origin: write 3M-4M after S1" sb_write "$origin" "$mo" 2 $((3 * MiB)) $MiB
sb_snapshot o03 "$store" --name s2 || sb_bail "snapshot S2 failed"
s2=$SB_DEV
m2=$(sb_copy "$mo" model-s2.img) || sb_bail "cannot copy the model"
# R1 = [1M, 2M): changed after S2, the copy serves S1 and S2
check "origin: write 1M-2M after S2" sb_write "$origin" "$mo" 3 $MiB $MiB
sum3=$(psum "$origin")
sb_snapshot o03 "$store" --name s3 || sb_bail "snapshot S3 failed"
s3=$SB_DEV
diag "S1 $s1, S2 $s2, S3 $s3 on $store"

# ---- writes to S2
check "S2: 4K on a chunk shared with S1 (1M+4K)" sb_write "$s2" "$m2" 10 $((MiB + 4096)) 4K
check "S2: 512B inside a chunk shared with S1" \
	sb_write "$s2" "$m2" 11 $((MiB + chunk + 20 * 512)) 512 512
check "S2: 4K on a chunk read from the origin (2M)" sb_write "$s2" "$m2" 12 $((2 * MiB)) 4K
check "S2: 512B inside a chunk read from the origin" \
	sb_write "$s2" "$m2" 13 $((2 * MiB + 3 * chunk + 20 * 512)) 512 512
check "S2: 8K spanning two chunks S1 has copies of (3M+60K)" \
	sb_write "$s2" "$m2" 14 $((3 * MiB + 60 * KiB)) 8K 4K
check "S2: 1M spanning 17 chunks (5M-4K)" sb_write "$s2" "$m2" 15 $((5 * MiB - 4096)) $MiB 256K
check "S2: 100 bytes buffered at an odd offset" \
	bash -c "'$PATTERN' write -B '$s2' 16 $((6 * MiB + 7)) 100 &&
		'$PATTERN' write -B '$m2' 16 $((6 * MiB + 7)) 100"
check "S2: rewrite of its own 4K at 2M" sb_write "$s2" "$m2" 17 $((2 * MiB)) 4K
check "S2: 64K chunk-aligned write at 7M" sb_write "$s2" "$m2" 18 $((7 * MiB)) $chunk

check "S2 reads its writes and its moment elsewhere" sb_cmp "$s2" "$m2"
check "origin unchanged by S2's writes" sb_cmp "$origin" "$mo"
check "the disk unchanged by S2's writes" sb_cmp "$disk" "$mo"
check_eq "S1 unchanged by S2's writes" "$(psum "$s1")" "$sum1"
check_eq "S3 unchanged by S2's writes" "$(psum "$s3")" "$sum3"

# ---- origin writes over the same chunks afterwards
check "origin: write 0-8M after S2's writes" sb_write "$origin" "$mo" 20 0 $((8 * MiB)) 1M
check "origin: 512B writes inside S2's written chunks" bash -c "
	'$PATTERN' write -b 512 '$origin' 21 $((2 * MiB + 512)) 512 &&
	'$PATTERN' write -b 512 '$mo' 21 $((2 * MiB + 512)) 512 &&
	'$PATTERN' write -b 512 '$origin' 22 $((MiB + 60 * KiB)) 4K &&
	'$PATTERN' write -b 512 '$mo' 22 $((MiB + 60 * KiB)) 4K"
check "S2 keeps its data and its moment" sb_cmp "$s2" "$m2"
check "origin reads its latest writes" sb_cmp "$origin" "$mo"
check_eq "S1 still reads its moment" "$(psum "$s1")" "$sum1"
check_eq "S3 still reads its moment" "$(psum "$s3")" "$sum3"
check "S2: write after the origin changed (7M+64K, 128K)" \
	sb_write "$s2" "$m2" 23 $((7 * MiB + chunk)) $((2 * chunk)) 64K
check "S2 reads it" sb_cmp "$s2" "$m2" 
check "origin unchanged by it" sb_cmp "$origin" "$mo"

# ---- detach the store's snapshots and attach them again
for s in "$s1" "$s2" "$s3"; do
	check "detach $s" sb_detach "$s"
done
sb_ctl attach "$store" --origin o03
check_eq "attach brings back three snapshots" "$(_sb_lines "$SB_OUT")" 3 || _sb_show_ctl attach
for n in s1 s2 s3; do
	k=$(sb_kname $n)
	[ -b "/dev/$k" ] || sb_bail "snapshot $n not back after attach"
done
check "S2 after attach: its writes and its moment" sb_cmp "/dev/$(sb_kname s2)" "$m2"
check_eq "S1 after attach" "$(psum "/dev/$(sb_kname s1)")" "$sum1"
check_eq "S3 after attach" "$(psum "/dev/$(sb_kname s3)")" "$sum3"
check "origin after attach" sb_cmp "$origin" "$mo"

sb_done
