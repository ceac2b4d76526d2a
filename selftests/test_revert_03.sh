#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_revert_03 - an ext4 round trip through revert, and what revert
# refuses.
# ext4: mkfs.ext4 on an origin, files with checksums, fsfreeze, a
# snapshot, thaw; then files overwritten, deleted, truncated, appended,
# renamed and created on the origin; unmount. The snapshot (mounted
# ro,noload) holds the first version; while it is mounted, and while a
# descriptor holds it open, `revert` is refused (non-zero exit, one line
# on stderr) and nothing changes. Unmounted and closed, `revert --wait`:
# the snapshot is gone, the origin is block for block the snapshot's
# image, e2fsck -fn finds it clean, mounted it holds exactly the first
# version's files, and after detach the disk itself is clean too.
# Refusals: revert of an origin, of an overlay and of a name that does
# not exist fail in the CLI and change nothing. While a revert of 48M
# runs (the disk's writes slowed with dm-delay), detaching or deleting the
# snapshot and detaching the origin are refused (busy) and the revert
# still ends well; without dm-delay, or if the revert ends too soon,
# those checks are skipped.

# check_true evaluates its single-quoted condition later:
# shellcheck disable=SC2016

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd python3 blockdev mkfs.ext4 e2fsck fsfreeze mountpoint sha256sum
require_kmod loop ext4
# the disk under the origin is a slow disk, so that a revert runs long
# enough to be watched; without dm-delay the checks that need a running
# revert are skipped
sb_slow_probe || diag "no dm-delay: the revert may end before it can be watched"

size=$((64 * MiB))

# list_state: the devices `snapblkctl list --json` shows, with their
# kind, parent and state (progress moves while a revert runs)
list_state() {
	"$SNAPBLKCTL" list --json | python3 -c '
import json, sys
for d in sorted(json.load(sys.stdin), key=lambda d: d["path"]):
    print(d["path"], d["name"], d["kind"], d["parent"], d["state"])'
}

# sums DIR: checksums of every file under DIR, and the list of its entries
sums() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum &&
		find . | sort)
}

# refused DESC ARGS...: snapblkctl ARGS must fail (one line on stderr)
# and the devices must look the same afterwards
refused() {
	local desc=$1 before

	shift
	before=$(list_state)
	expect_cli_error "$desc" "$@"
	check_eq "$desc: nothing changed" "$(list_state)" "$before"
}

# ------------------------------------------------------------------ ext4

diskf=$(sb_file disk.img $size) || sb_bail "cannot create the disk image"
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $((64 * MiB)))") || sb_bail "losetup failed"
sb_origin "$disk" --name o03 || sb_bail "snapblkctl origin $disk failed"
origin=$SB_DEV
check "mkfs.ext4 on the origin" \
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard "$origin" ||
	sb_bail "mkfs.ext4 failed"
mnt=$SB_TMP/mnt
sb_mount "$origin" "$mnt" || sb_bail "cannot mount the origin"
check "first version of the files" bash -c "
	cd '$mnt' && mkdir -p d/sub &&
	head -c 1M /dev/urandom >f1 && head -c 4K /dev/urandom >f2 &&
	head -c 300K /dev/urandom >f3 && head -c 2M /dev/urandom >d/f4 &&
	echo 'the first version' >d/sub/f5 && head -c 512K /dev/urandom >f6 &&
	head -c 1M /dev/urandom >f7 && head -c 100K /dev/urandom >f8 &&
	ln -s d/f4 link4 && sync"
sums "$mnt" >"$SB_TMP/sums1" || sb_bail "cannot checksum the files"
fsfreeze -f "$mnt" || sb_bail "fsfreeze -f failed"
sb_snapshot o03 "$store" --name s03
src=$?
snap=$SB_DEV
fsfreeze -u "$mnt" || sb_bail "fsfreeze -u failed"
[ $src -eq 0 ] || sb_bail "snapshot of the frozen filesystem failed"
sk=$(sb_kname "$snap")
sb_ok "snapshot of the frozen filesystem ($snap)"
check "second version: overwrite, delete, truncate, append, rename, create" bash -c "
	cd '$mnt' && head -c 1M /dev/urandom | dd of=f1 conv=notrunc status=none &&
	rm f6 && truncate -s 10K f7 && head -c 100K /dev/urandom >>f8 &&
	mv f3 d/f3moved && echo 'the second version' >d/sub/f5 &&
	head -c 3M /dev/urandom >new1 && mkdir newdir && echo x >newdir/x && sync"
sums "$mnt" >"$SB_TMP/sums2" || sb_bail "cannot checksum the files"
check_true "the second version differs" '! cmp -s "$SB_TMP/sums1" "$SB_TMP/sums2"'
check "umount the origin" umount "$mnt"

check "the snapshot: e2fsck -fn clean" e2fsck -fn "$snap"
check "save the snapshot's image" cp "$snap" "$SB_TMP/snap.img"
sumo=$("$PATTERN" sum "$origin")

# refused while the snapshot is mounted, and while it is held open
smnt=$SB_TMP/smnt
if sb_mount "$snap" "$smnt" -o ro,noload; then
	sb_ok "mount the snapshot read-only"
	sums "$smnt" >"$SB_TMP/sums-snap"
	check "the mounted snapshot holds the first version" diff "$SB_TMP/sums1" "$SB_TMP/sums-snap"
	refused "revert of a mounted snapshot is refused" revert s03
	check_true "  the error says busy" 'printf "%s" "$SB_ERR" | grep -qi busy'
	check_eq "the origin did not change" "$("$PATTERN" sum "$origin")" "$sumo"
	check "umount the snapshot" umount "$smnt"
else
	sb_notok "mount the snapshot read-only"
fi
exec 3<"$snap"
refused "revert of a snapshot held open is refused" revert s03
check_true "  the error says busy" 'printf "%s" "$SB_ERR" | grep -qi busy'
check_eq "the origin did not change" "$("$PATTERN" sum "$origin")" "$sumo"
check "the snapshot still reads its image" sb_cmp "$snap" "$SB_TMP/snap.img"
exec 3<&-

sb_ctl revert s03 --wait
diag "revert s03 --wait: exit $SB_RC; stderr: $SB_ERR"
check_eq "revert --wait, unmounted and closed, exits 0" "$SB_RC" 0 ||
	sb_bail "revert of the ext4 snapshot failed"
check "the snapshot is gone" sb_wait_gone "/sys/block/$sk" 1
check_eq "the origin: state" "$(sb_sysfs "$origin" state)" active
check "the origin is block for block the snapshot's image" sb_cmp "$origin" "$SB_TMP/snap.img"
check "the origin: e2fsck -fn clean" e2fsck -fn "$origin"
sb_mount "$origin" "$mnt" || sb_bail "cannot mount the reverted origin"
sums "$mnt" >"$SB_TMP/sums3"
check "the origin holds exactly the first version's files" diff "$SB_TMP/sums1" "$SB_TMP/sums3"
check "umount the origin" umount "$mnt"
check "detach the origin" sb_detach "$origin"
check "the disk: e2fsck -fn clean" e2fsck -fn "$disk"

# ------------------------------------------------------- revert of what is not a snapshot

sb_origin "$disk" --name o03 || sb_bail "snapblkctl origin $disk failed (second time)"
origin=$SB_DEV
refused "revert of an origin is refused" revert o03
check_true "  the error says only a snapshot can be reverted" \
	'printf "%s" "$SB_ERR" | grep -qi snapshot'
check "detach the origin" sb_detach "$origin"
base=$(sb_loop "$(sb_file base.img $((16 * MiB)) 7)") || sb_bail "losetup failed"
ostore=$(sb_loop "$(sb_file ostore.img $((16 * MiB)))") || sb_bail "losetup failed"
sb_overlay "$base" "$ostore" --name v03 || sb_bail "snapblkctl overlay failed"
overlay=$SB_DEV
check "overlay write" "$PATTERN" write "$overlay" 8 $MiB $MiB
refused "revert of an overlay is refused" revert v03
check_true "  the error says only a snapshot can be reverted" \
	'printf "%s" "$SB_ERR" | grep -qi snapshot'
check "the overlay still reads its writes" sb_verify "$overlay" 8 $MiB $MiB
check "the base was not written" sb_verify "$base" 7 0 $((16 * MiB))
refused "revert of a device that does not exist is refused" revert nosuch03
check "detach the overlay" sb_detach "$overlay"

# ------------------------------------------------------- while a revert runs

DMNAME=sbrev03.$$
chunk=$((64 * KiB))
diskf2=$(sb_file disk2.img $size 1) || sb_bail "cannot create the disk image"
model0=$(sb_copy "$diskf2" model0.img) || sb_bail "cannot copy the disk image"
loop2=$(sb_loop "$diskf2") || sb_bail "losetup failed"
disk2=$(sb_slow_disk "$DMNAME" "$loop2") || sb_bail "dmsetup create over $loop2 failed"
store2=$(sb_loop "$(sb_file store2.img $((100 * MiB)))") || sb_bail "losetup failed"
sb_origin "$disk2" --name o03b || sb_bail "snapblkctl origin $disk2 failed"
origin=$SB_DEV
sb_snapshot o03b "$store2" --name s03b || sb_bail "snapblkctl snapshot failed"
snap=$SB_DEV
sk=$(sb_kname "$snap")
check "origin: 48M write" "$PATTERN" write "$origin" 2 $((8 * MiB)) $((48 * MiB))
check "origin: 512B write inside chunk 2" "$PATTERN" write "$origin" 3 $((2 * chunk + 3 * 512)) 512

sb_slow_set "$DMNAME" 2000 0 || sb_bail "cannot slow down $disk2"
sb_ctl revert s03b
rc=$SB_RC
if [ $rc -ne 0 ]; then
	_sb_show_ctl revert s03b
	sb_bail "snapblkctl revert s03b failed"
fi
st=$(sb_sysfs "$sk" state)
diag "after revert: snapshot state '$st', origin state '$(sb_sysfs "$origin" state)'"
if [ "$st" = reverting ]; then
	refused "detach of the reverting snapshot is refused" detach s03b
	check_true "  the error says busy" 'printf "%s" "$SB_ERR" | grep -qi busy'
	refused "delete of the reverting snapshot is refused" delete s03b
	check_true "  the error says busy" 'printf "%s" "$SB_ERR" | grep -qi busy'
	refused "detach of the reverting origin is refused" detach o03b
	check_true "  the error says busy" 'printf "%s" "$SB_ERR" | grep -qi busy'
	check_eq "the snapshot is still reverting" "$(sb_sysfs "$sk" state)" reverting
	check_eq "the origin is still reverting" "$(sb_sysfs "$origin" state)" reverting
	sb_ctl revert s03b
	diag "a second revert of s03b while it runs: exit $SB_RC, stderr: $SB_ERR"
else
	sb_skip_one "detach/delete while reverting are refused" "the revert ended before it could be watched"
fi
check "the origin reads the snapshot's moment" sb_cmp "$origin" "$model0"
# `wait SNAP` (if the revert is still running) from before the delay is lifted
if [ -e "/sys/block/$sk" ]; then waitdev=s03b; else waitdev=o03b; fi
"$SNAPBLKCTL" wait $waitdev >/dev/null 2>"$SB_TMP/wait.err" &
waiter=$!
sb_register_pid $waiter
check "lift the write delay" sb_slow_set "$DMNAME" 0
wait $waiter
check_eq "wait $waitdev exits 0" $? 0 || diag_file "$SB_TMP/wait.err"
check "the snapshot is gone" sb_wait_gone "/sys/block/$sk" 5
check_eq "the origin: state" "$(sb_sysfs "$origin" state)" active
check "the origin reads the snapshot's moment" sb_cmp "$origin" "$model0"
check "detach the origin" sb_detach "$origin"
sb_drop_caches
check "the disk holds the snapshot's moment" sb_cmp "$diskf2" "$model0"

sb_done
