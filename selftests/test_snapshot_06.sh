#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_snapshot_06 - snapshots persist: two snapshots in one store,
# detach both and the origin, new loop devices over the same files, a new
# origin; `attach STORE --origin ORIGIN` prints both paths and each reads
# its moment; origin writes still copy out; `attach --name` brings back
# one and renames it. Attach is refused, with a clear error, on an origin
# with other content of the same size, on an origin of another size, and
# after the disk was written without the origin (block 0 changed); once
# block 0 is back, attach works again.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_kmod loop

size=$((32 * MiB))
chunk=$((64 * KiB))
diskf=$(sb_file disk.img $size 1) || sb_bail "cannot create the disk image"
storef=$(sb_file store.img $((100 * MiB))) || sb_bail "cannot create the store image"
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
store=$(sb_loop "$storef") || sb_bail "losetup failed"
sb_origin "$disk" --name o06 || sb_bail "snapblkctl origin failed"
origin=$SB_DEV

psum() { "$PATTERN" sum "$1"; }

# origin writes stay away from chunk 0 (its block 0 is changed below
# behind the origin's back and must still be what both snapshots show)
sum1=$(psum "$origin")
sb_snapshot o06 "$store" --name p1 || sb_bail "snapshot p1 failed"
check "origin writes after p1" bash -c "
	'$PATTERN' write '$origin' 2 $MiB $MiB &&
	'$PATTERN' write -b 4K '$origin' 3 $((chunk + 4096)) 8K &&
	'$PATTERN' write -b 512 '$origin' 4 $((6 * MiB + 512)) 1536"
sum2=$(psum "$origin")
sb_snapshot o06 "$store" --name p2 || sb_bail "snapshot p2 failed"
check "origin writes after p2" bash -c "
	'$PATTERN' write -b 256K '$origin' 5 $((5 * MiB - 4096)) $MiB &&
	'$PATTERN' write -b 4K '$origin' 6 $((chunk + 8192)) 4K &&
	'$PATTERN' write '$origin' 7 $((20 * MiB)) $((2 * MiB))"
sumo=$(psum "$origin")
check_eq "p1 reads its moment" "$(psum /dev/"$(sb_kname p1)")" "$sum1"
check_eq "p2 reads its moment" "$(psum /dev/"$(sb_kname p2)")" "$sum2"

check "detach p1" sb_detach p1
check "detach p2" sb_detach p2
check "detach the origin" sb_detach o06
check "release the loop devices" losetup -d "$disk" "$store"
sb_drop_caches
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
store=$(sb_loop "$storef") || sb_bail "losetup failed"
sb_origin "$disk" --name o06 || sb_bail "snapblkctl origin failed (second time)"
origin=$SB_DEV
check_eq "the disk kept the origin's writes" "$(psum "$origin")" "$sumo"

# attach_all: `attach STORE --origin o06` must print p1's and p2's paths
attach_all() {
	local what=$1 line bad= names

	sb_ctl attach "$store" --origin o06
	if [ "$SB_RC" -ne 0 ]; then
		sb_notok "$what: attach STORE --origin ORIGIN" "exit $SB_RC: $SB_ERR"
		return 1
	fi
	while read -r line; do
		[[ $line =~ ^/dev/snapblk[0-9]+$ ]] && [ -b "$line" ] || bad="$bad '$line'"
	done <<<"$SB_OUT"
	if [ "$(_sb_lines "$SB_OUT")" -eq 2 ] && [ -z "$bad" ]; then
		sb_ok "$what: attach prints two device paths"
	else
		sb_notok "$what: attach prints two device paths" "stdout: $SB_OUT"
		return 1
	fi
	names=$(for line in $SB_OUT; do sb_sysfs "$line" name; done | sort | tr '\n' ' ')
	check_eq "$what: the paths are p1 and p2" "$names" "p1 p2 "
	check_eq "$what: p1 reads its moment" "$(psum /dev/"$(sb_kname p1)")" "$sum1"
	check_eq "$what: p2 reads its moment" "$(psum /dev/"$(sb_kname p2)")" "$sum2"
}

attach_all "after detach"
check_true "p1, p2 are holders of the origin" 'sb_is_holder o06 p1 && sb_is_holder o06 p2'
check "origin writes after attach (copy-outs)" bash -c "
	'$PATTERN' write '$origin' 8 $((2 * MiB)) $((2 * MiB)) &&
	'$PATTERN' write -b 512 '$origin' 9 $((MiB + 4096)) 512"
check_eq "p1 still reads its moment" "$(psum /dev/"$(sb_kname p1)")" "$sum1"
check_eq "p2 still reads its moment" "$(psum /dev/"$(sb_kname p2)")" "$sum2"
sumo=$(psum "$origin")

check "detach p2 only" sb_detach p2
sb_ctl attach "$store" --origin o06 --name p2b
check_true "attach --name p2b: one path" \
	'[ "$SB_RC" -eq 0 ] && [ "$(_sb_lines "$SB_OUT")" -eq 1 ] && [ -b "$SB_OUT" ]' || _sb_show_ctl attach
check_eq "attach --name p2b: sysfs name" "$(sb_sysfs "$SB_OUT" name)" p2b
check_eq "p2b reads p2's moment" "$(psum "$SB_OUT")" "$sum2"
sb_ctl attach "$store" --origin o06
check_true "attach with every snapshot attached already fails" '[ "$SB_RC" -ne 0 ] && [ -z "$SB_OUT" ]'
diag "  stderr: $SB_ERR"

check "detach p1" sb_detach p1
check "detach p2b" sb_detach p2b
check "detach the origin" sb_detach o06

# expect_other_origin DESC ORIGIN: attach STORE --origin ORIGIN is refused
expect_other_origin() {
	local before

	before=$(_sb_snapblk_devs)
	expect_cli_error "$1" attach "$store" --origin "$2"
	check_true "$1: the error says the store was made on another origin" \
		'printf "%s" "$SB_ERR" | grep -qi "another ORIGIN"'
	check_eq "$1: no device made" "$(_sb_snapblk_devs)" "$before"
}

other=$(sb_loop "$(sb_file other.img $size 9)") || sb_bail "losetup failed"
sb_origin "$other" --name o06x || sb_bail "snapblkctl origin failed"
expect_other_origin "attach on an origin with other content" o06x
check "detach it" sb_detach o06x
small=$(sb_loop "$(sb_file small.img $((16 * MiB)) 1)") || sb_bail "losetup failed"
sb_origin "$small" --name o06s || sb_bail "snapblkctl origin failed"
expect_other_origin "attach on an origin of another size" o06s
check "detach it" sb_detach o06s

# block 0 of the disk changes behind the origin's back
check "write 4K at 0 on the disk itself" "$PATTERN" write "$disk" 10 0 4K
sb_origin "$disk" --name o06 || sb_bail "snapblkctl origin failed (third time)"
expect_other_origin "attach after the disk changed without the origin" o06
check "detach the origin" sb_detach o06
check "restore block 0 on the disk" "$PATTERN" write "$disk" 1 0 4K
sb_origin "$disk" --name o06 || sb_bail "snapblkctl origin failed (fourth time)"
origin=$SB_DEV
check_eq "origin as before" "$(psum "$origin")" "$sumo"
sb_ctl attach "$store" --origin o06
check_eq "attach works again once block 0 is back: two paths" "$(_sb_lines "$SB_OUT")" 2 ||
	_sb_show_ctl attach
check_eq "p1 reads its moment" "$(psum /dev/"$(sb_kname p1)")" "$sum1"
check_true "p2b kept its new name" '[ -b "/dev/$(sb_kname p2b)" ]'
check_eq "p2b reads p2's moment" "$(psum /dev/"$(sb_kname p2b)")" "$sum2"

sb_done
