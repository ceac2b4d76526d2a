#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_06 - a whole-disk image with a partition table as the base:
# the overlay shows /dev/snapblkNp1 and p2 with the partitions' data;
# writes through a partition land at the right place of the disk and
# leave the base alone.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_kmod loop

size=$((64 * MiB))
p1_off=$((1 * MiB)) p1_len=$((24 * MiB))
p2_off=$((26 * MiB)) p2_len=$((32 * MiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"

# an MBR with two Linux partitions; with sfdisk when installed
if command -v sfdisk >/dev/null; then
	printf 'label: dos\nstart=%d, size=%d, type=83\nstart=%d, size=%d, type=83\n' \
		$((p1_off / 512)) $((p1_len / 512)) $((p2_off / 512)) $((p2_len / 512)) |
		sfdisk -q "$basef" >/dev/null || sb_bail "sfdisk failed"
	diag "partition table made by sfdisk"
else
	python3 - "$basef" $((p1_off / 512)) $((p1_len / 512)) $((p2_off / 512)) $((p2_len / 512)) <<-'PY' ||
	import struct, sys
	f, s1, n1, s2, n2 = sys.argv[1], *map(int, sys.argv[2:])
	def entry(start, count):
	    # status, CHS first (unused), type 0x83, CHS last, LBA start, sectors
	    return struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", 0x83, b"\xfe\xff\xff", start, count)
	mbr = bytearray(512)
	mbr[440:444] = struct.pack("<I", 0x5b1b0006)
	mbr[446:478] = entry(s1, n1) + entry(s2, n2)
	mbr[510:512] = b"\x55\xaa"
	with open(f, "r+b") as fp:
	    fp.write(mbr)
	PY
		sb_bail "cannot write the MBR"
	diag "partition table written by hand (no sfdisk)"
fi
# partition data, with patterns positioned relative to each partition
"$PATTERN" write -o $p1_off "$basef" 31 $p1_off $p1_len || sb_bail "pattern failed"
"$PATTERN" write -o $p2_off "$basef" 32 $p2_off $p2_len || sb_bail "pattern failed"
model=$(sb_copy "$basef" model.img) || sb_bail "cannot copy the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
base_sum=$("$PATTERN" sum "$base")
store=$(sb_loop "$(sb_file store.img $size)") || sb_bail "losetup failed"

sb_overlay "$base" "$store" || sb_bail "snapblkctl overlay failed"
dev=$SB_DEV
k=$(sb_kname "$dev")

auto=1
if ! sb_wait_exists "/dev/${k}p2" 5; then
	auto=0
	partx -u "$dev" 2>/dev/null || blockdev --rereadpt "$dev"
	sb_wait_exists "/dev/${k}p2" 5
fi
if [ $auto = 1 ]; then
	sb_ok "partitions appear on their own"
else
	sb_notok "partitions appear on their own" "needed partx -u / blockdev --rereadpt"
fi
check "/dev/${k}p1 is a block device" test -b "/dev/${k}p1"
check "/dev/${k}p2 is a block device" test -b "/dev/${k}p2"
check "sysfs /sys/block/$k/${k}p1" test -d "/sys/block/$k/${k}p1"
check "lsblk shows ${k}p1 and ${k}p2" bash -c \
	"lsblk -rno NAME '$dev' | grep -qx '${k}p1' && lsblk -rno NAME '$dev' | grep -qx '${k}p2'"
check_eq "p1 size" "$(sb_size "/dev/${k}p1" 2>&1)" $p1_len
check_eq "p2 size" "$(sb_size "/dev/${k}p2" 2>&1)" $p2_len
check "p1 holds partition 1's data" sb_verify "/dev/${k}p1" 31 0 $p1_len
check "p2 holds partition 2's data" sb_verify "/dev/${k}p2" 32 0 $p2_len

check "write through p2" sb_write "/dev/${k}p2" - 33 $((4 * MiB)) $((MiB + 512)) 64K
"$PATTERN" write -o $p2_off "$model" 33 $((p2_off + 4 * MiB)) $((MiB + 512))
check "write through p1 (its last sector)" sb_write "/dev/${k}p1" - 34 $((p1_len - 512)) 512 512
"$PATTERN" write -o $p1_off "$model" 34 $((p1_off + p1_len - 512)) 512
check "p2 reads the write" sb_verify "/dev/${k}p2" 33 $((4 * MiB)) $((MiB + 512))
check "the whole disk reads like the model" sb_cmp "$dev" "$model"
check_eq "base checksum unchanged" "$("$PATTERN" sum "$base")" "$base_sum"

# a partition in use keeps the overlay: detach must refuse it
exec 3<"/dev/${k}p1"
check_fails "detach refused while a partition is open" "$SNAPBLKCTL" detach "$dev"
exec 3<&-
check "detach once the partition is closed" sb_detach "$dev"
check_true "partition nodes gone" '! [ -e "/dev/${k}p1" ] && ! [ -e "/dev/${k}p2" ]'

sb_done
