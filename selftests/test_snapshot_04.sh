#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_snapshot_04 - a snapshot of a live ext4: mkfs.ext4 on the origin,
# mount it, a background writer keeps rewriting, creating and deleting
# files; `fsfreeze -f`, record every file's checksum, take the snapshot,
# `fsfreeze -u`, the writer goes on. Then `fsck.ext4 -fn` of the snapshot
# is clean, and the snapshot mounted `-o ro,noload` holds exactly the
# files of the freeze with their checksums. The origin's filesystem is
# clean too after unmounting it.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd mkfs.ext4 fsck.ext4 fsfreeze sha256sum
require_kmod loop ext4

size=$((64 * MiB))
disk=$(sb_loop "$(sb_file disk.img $size)") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $((128 * MiB)))") || sb_bail "losetup failed"
sb_origin "$disk" --name o04 || sb_bail "snapblkctl origin failed"
origin=$SB_DEV
mnt=$SB_TMP/mnt
smnt=$SB_TMP/smnt

check "mkfs.ext4 on the origin" mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$origin" ||
	sb_bail "mkfs.ext4 failed"
sb_mount "$origin" "$mnt" || sb_bail "mount of the origin failed"
sb_ok "mount the origin"

# the writer: rewrites files in place, appends, creates and deletes
count=$SB_TMP/count
stop=$SB_TMP/stop
echo 0 >"$count"
(
	i=0
	while ! [ -e "$stop" ]; do
		f=$mnt/f$((i % 16))
		dd if=/dev/urandom of="$f" bs=64K count=$((1 + i % 6)) seek=$((i % 3)) \
			conv=notrunc,fsync status=none 2>/dev/null || exit 1
		if [ $((i % 5)) -eq 4 ]; then
			rm -f "$mnt/n$((i - 20))"
			head -c $((4096 * (i % 7) + 100)) /dev/urandom >"$mnt/n$i" || exit 1
		fi
		i=$((i + 1))
		echo $i >"$count"
	done
) &
writer=$!
sb_register_pid $writer

# wait_count N: until the writer has done N more iterations
wait_count() {
	local want=$(($(cat "$count") + $1)) i

	for ((i = 0; i < 1200; i++)); do
		[ "$(cat "$count")" -ge $want ] && return 0
		kill -0 $writer 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

check "the writer is running (12 iterations)" wait_count 12
check "fsfreeze -f" fsfreeze -f "$mnt"
frozen_at=$(cat "$count")
(cd "$mnt" && find . -type f | LC_ALL=C sort >"$SB_TMP/files" && xargs -d '\n' sha256sum <"$SB_TMP/files" >"$SB_TMP/manifest")
rc_manifest=$?
sb_snapshot o04 "$store" --name s04
rc_snap=$?
snap=$SB_DEV
check "fsfreeze -u" fsfreeze -u "$mnt"
[ $rc_manifest -eq 0 ] || sb_bail "cannot checksum the files of the frozen filesystem"
[ $rc_snap -eq 0 ] || sb_bail "snapshot of the frozen origin failed"
sb_ok "snapshot of the frozen filesystem ($snap, $(wc -l <"$SB_TMP/files") files)"
check "the writer goes on after the thaw (12 iterations)" wait_count 12
touch "$stop"
wait $writer
wrc=$?
check_true "the writer had no error ($(cat "$count") iterations, $frozen_at at the freeze)" '[ $wrc -eq 0 ]'
check "sync" sync
diag "store_used $(sb_sysfs "$snap" store_used), state $(sb_sysfs "$snap" state)"

out=$(fsck.ext4 -fn "$snap" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
	sb_ok "fsck.ext4 -fn of the snapshot is clean"
else
	sb_notok "fsck.ext4 -fn of the snapshot is clean" "exit $rc"
	diag "$out"
fi
if sb_mount "$snap" "$smnt" -t ext4 -o ro,noload; then
	sb_ok "mount the snapshot -o ro,noload"
	check "every file of the freeze with its checksum" \
		bash -c "cd '$smnt' && sha256sum --quiet --strict -c '$SB_TMP/manifest'"
	(cd "$smnt" && find . -type f | LC_ALL=C sort >"$SB_TMP/files-snap")
	check "no other files" diff "$SB_TMP/files" "$SB_TMP/files-snap"
	check "umount the snapshot" umount "$smnt"
else
	sb_notok "mount the snapshot -o ro,noload"
fi

check "the origin's files changed after the freeze" \
	bash -c "! (cd '$mnt' && sha256sum --quiet -c '$SB_TMP/manifest' >/dev/null 2>&1)"
check "umount the origin" umount "$mnt"
out=$(fsck.ext4 -fn "$origin" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
	sb_ok "fsck.ext4 -fn of the origin is clean"
else
	sb_notok "fsck.ext4 -fn of the origin is clean" "exit $rc"
	diag "$out"
fi
check_eq "snapshot state" "$(sb_sysfs "$snap" state)" active

sb_done
