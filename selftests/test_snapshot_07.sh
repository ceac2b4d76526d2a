#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_snapshot_07 - delete while busy: two snapshots in one store; S1
# alone holds copies of 0-8M, S1 and S2 share copies of 16-24M. fio
# rewrites 16-24M of the origin (crc32c verify) while `snapblkctl delete
# S1` runs: fio sees no error and reads back what it wrote, S2 still reads
# its moment, store_used drops by the 8M only S1 needed. Deleting S2, the
# last snapshot of the store, clears the store: `attach` of it fails, and
# a new snapshot on it works.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd fio
require_kmod loop

size=$((32 * MiB))
engine=libaio
fio --enghelp 2>/dev/null | grep -qx '[[:space:]]*libaio' || engine=psync
diskf=$(sb_file disk.img $size 1) || sb_bail "cannot create the disk image"
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $((100 * MiB)))") || sb_bail "losetup failed"
sb_origin "$disk" --name o07 || sb_bail "snapblkctl origin failed"
origin=$SB_DEV

psum() { "$PATTERN" sum "$1"; }

sb_snapshot o07 "$store" --name d1 || sb_bail "snapshot d1 failed"
s1=$SB_DEV
check "origin: write 0-8M after S1" "$PATTERN" write "$origin" 2 0 $((8 * MiB))
sum2=$(psum "$origin")
sb_snapshot o07 "$store" --name d2 || sb_bail "snapshot d2 failed"
s2=$SB_DEV
check "origin: write 16-24M after S2" "$PATTERN" write "$origin" 3 $((16 * MiB)) $((8 * MiB))
check "S1 reads its moment" sb_verify "$s1" 1 0 $size
check_eq "S2 reads its moment" "$(psum "$s2")" "$sum2"
used0=$(sb_sysfs "$s2" store_used)

# fio on 16-24M for 6 s, reading back every 16 blocks it writes: every
# chunk there is copied already for both snapshots
fio --name=busy --filename="$origin" --rw=randwrite --bsrange=4k-64k \
	--offset=$((16 * MiB)) --size=$((8 * MiB)) --time_based --runtime=6 \
	--direct=1 --ioengine=$engine --iodepth=4 --verify=crc32c \
	--verify_backlog=16 --verify_fatal=1 --randseed=707 >"$SB_TMP/fio.log" 2>&1 &
fiopid=$!
sb_register_pid $fiopid
sleep 1
kill -0 $fiopid 2>/dev/null && running=yes || running=no
t0=$(date +%s%N)
check "delete S1 while fio writes the origin" sb_delete "$s1"
t1=$(date +%s%N)
kill -0 $fiopid 2>/dev/null && still=yes || still=no
diag "fio running at the delete: $running, after it: $still; delete took $(((t1 - t0) / 1000000)) ms"
check_true "fio was running when the delete began" '[ $running = yes ]'
wait $fiopid
rc=$?
if [ $rc -eq 0 ]; then
	sb_ok "fio: no error, every block verified"
	diag "$(grep -E '^ *write:' "$SB_TMP/fio.log")"
else
	sb_notok "fio: no error, every block verified" "fio exit $rc"
	diag_file "$SB_TMP/fio.log"
fi
check_true "S1 is gone" '! [ -e "/sys/block/$(basename "$s1")" ] && ! [ -e "$s1" ]'
check_true "S1's holders link is gone" '! sb_is_holder "$origin" "$(basename "$s1")"'
check_eq "S2 still reads its moment" "$(psum "$s2")" "$sum2"
check "origin: 0-8M untouched by the delete" sb_verify "$origin" 2 0 $((8 * MiB))
used1=$(sb_sysfs "$s2" store_used)
diag "store_used before the delete $used0, after $used1"
check_true "store_used dropped by at least the 8M only S1 needed" \
	'[ -n "$used1" ] && [ "$used1" -le $((used0 - 8 * MiB)) ]'

# the last snapshot of the store
check "delete S2, the last snapshot of the store" sb_delete "$s2"
sb_ctl attach "$store" --origin o07
check_true "attach of the emptied store fails" '[ "$SB_RC" -ne 0 ] && [ -z "$SB_OUT" ]' ||
	_sb_show_ctl attach --origin o07
diag "  stderr: $SB_ERR"
sumo=$(psum "$origin")
sb_snapshot o07 "$store" --name d3 || sb_bail "a new snapshot on the emptied store failed"
s3=$SB_DEV
check_eq "a new snapshot on the emptied store reads the origin" "$(psum "$s3")" "$sumo"
check "origin write after it" "$PATTERN" write -b 64K "$origin" 4 $((8 * MiB)) $((4 * MiB))
check_eq "it keeps its moment" "$(psum "$s3")" "$sumo"
check "delete it" sb_delete "$s3"
check "detach the origin" sb_detach "$origin"

sb_done
