#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_07 - discard (`blkdiscard -o -l`) and write-zeroes
# (`blkdiscard -z`) on an overlay read as zeros afterwards, both where the
# overlay had written data and where it showed the base's data; bytes
# outside the ranges stay intact, the base is unchanged, later writes into
# a discarded range read back, and all of it survives detach + attach.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd blkdiscard
require_kmod loop

size=$((64 * MiB))
chunk=$((64 * KiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
model=$(sb_copy "$basef" model.img) || sb_bail "cannot copy the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $size)") || sb_bail "losetup failed"
sb_overlay "$base" "$store" || sb_bail "snapblkctl overlay failed"
dev=$SB_DEV
k=$(sb_kname "$dev")
diag "queue: discard_max_bytes=$(cat "/sys/block/$k/queue/discard_max_bytes")" \
	"discard_granularity=$(cat "/sys/block/$k/queue/discard_granularity")" \
	"write_zeroes_max_bytes=$(cat "/sys/block/$k/queue/write_zeroes_max_bytes")"

# the first half holds the overlay's own data, the second shows the base
check "write the first 32M" sb_write "$dev" "$model" 2 0 $((32 * MiB)) 1M
used_before=$(sb_sysfs "$dev" store_used)

# zero_range OFFSET LENGTH: the model's side of a discard or write-zeroes
zero_range() { "$PATTERN" write "$model" zero "$1" "$2"; }

# discard, chunk-aligned: over written data, over base data, one chunk
check "discard 2M of written data" blkdiscard -o $((4 * MiB)) -l $((2 * MiB)) "$dev" &&
	zero_range $((4 * MiB)) $((2 * MiB))
check "discard 4M of base data" blkdiscard -o $((40 * MiB)) -l $((4 * MiB)) "$dev" &&
	zero_range $((40 * MiB)) $((4 * MiB))
check "discard one chunk across the written/base boundary" \
	blkdiscard -o $((32 * MiB - chunk)) -l $((2 * chunk)) "$dev" &&
	zero_range $((32 * MiB - chunk)) $((2 * chunk))
# write-zeroes, unaligned to chunks and pages (512-byte multiples)
check "write-zeroes, unaligned, in written data" \
	blkdiscard -z -o $((10 * MiB + 512)) -l $((300 * KiB + 1536)) "$dev" &&
	zero_range $((10 * MiB + 512)) $((300 * KiB + 1536))
check "write-zeroes, unaligned, in base data" \
	blkdiscard -z -o $((50 * MiB + 3584)) -l $((3 * MiB + 512)) "$dev" &&
	zero_range $((50 * MiB + 3584)) $((3 * MiB + 512))
check "write-zeroes, one sector" blkdiscard -z -o $((20 * MiB + 4096)) -l 512 "$dev" &&
	zero_range $((20 * MiB + 4096)) 512

check "discarded ranges read zeros" bash -c "
	'$PATTERN' verify '$dev' zero $((4 * MiB)) $((2 * MiB)) &&
	'$PATTERN' verify '$dev' zero $((40 * MiB)) $((4 * MiB)) &&
	'$PATTERN' verify '$dev' zero $((10 * MiB + 512)) $((300 * KiB + 1536)) &&
	'$PATTERN' verify '$dev' zero $((50 * MiB + 3584)) $((3 * MiB + 512))"
check "everything else intact (whole-device compare)" sb_cmp "$dev" "$model"
sb_drop_caches
check "same with cold caches (buffered reads)" cmp "$dev" "$model"
check "base unchanged" sb_verify "$base" 1 0 $size
diag "store_used: $used_before before, $(sb_sysfs "$dev" store_used) after the discards"

check "write into a discarded range" sb_write "$dev" "$model" 5 $((4 * MiB + chunk + 512)) 4K 512
check "write into a discarded base range" sb_write "$dev" "$model" 6 $((42 * MiB)) $((chunk + 4096)) 4K
check "reads back, zeros around" sb_cmp "$dev" "$model"

check "detach" sb_detach "$dev"
sb_attach "$store" "$base" || sb_bail "attach failed"
dev=$SB_DEV
check "discards and writes survive detach + attach" sb_cmp "$dev" "$model"

sb_done
