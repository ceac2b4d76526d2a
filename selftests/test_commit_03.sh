#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_commit_03 - commit under load. The overlay holds a 24M delta; fio
# writes 4M-24M of it at random (512 B - 256 KiB, direct, queue depth 8,
# every block once, crc32c with verify_backlog, rate-limited so that it
# lasts several seconds) while `snapblkctl commit` merges into the base,
# which sits behind dm-delay (30 ms per write) so that the commit lasts
# as long as fio. fio must see no error and verify every block; the
# overlay's view must hold throughout. After fio, a second `commit
# --wait` merges the writes that came after the first one ended; then the
# delta is empty, and after detach the base has the overlay's checksum,
# the model outside fio's range, and passes `fio --verify_only` inside.

# shellcheck disable=SC2016 # check_true conditions are expanded by eval
. "$(dirname "$0")/lib.sh"

DM=sbc03-$$

sb_init
require_snapblkctl
require_cmd fio timeout
require_kmod loop
require_slow_disk

size=$((32 * MiB))
fio_off=$((4 * MiB))
fio_len=$((20 * MiB))
engine=libaio
fio --enghelp 2>/dev/null | grep -qx '[[:space:]]*libaio' || engine=psync

# the verify job: every block of [fio_off, fio_off + fio_len) once
fio_job=(--name=c03 --rw=randwrite --bsrange=512-256k "--offset=$fio_off"
	"--size=$fio_len" --direct=1 "--ioengine=$engine" --iodepth=8
	--verify=crc32c --verify_fatal=1 --randseed=303)

# vfio DEV LOG [ARGS...]: the verify job on DEV
vfio() {
	local d=$1 log=$2

	shift 2
	fio "${fio_job[@]}" --filename="$d" "$@" >"$log" 2>&1
}

# check_fio_view WHAT DEV LOG: outside fio's range DEV reads the model;
# inside it, `fio --verify_only` passes (its output in LOG)
check_fio_view() {
	local what=$1 d=$2 log=$3

	check "outside fio's range the $what reads the model" \
		bash -c "'$PATTERN' cmp '$d' '$model' 0 $fio_off &&
			'$PATTERN' cmp '$d' '$model' $((fio_off + fio_len)) $((size - fio_off - fio_len))"
	if vfio "$d" "$log" --verify_only; then
		sb_ok "fio --verify_only on the $what"
	else
		sb_notok "fio --verify_only on the $what"
		diag_file "$log"
	fi
}

# fio_stuck: what fio and the overlay are doing (fio did not end)
fio_stuck() {
	diag "overlay: state $(sb_sysfs "$dev" state), progress $(sb_sysfs "$dev" progress)%, store_used $(sb_sysfs "$dev" store_used)"
	diag "$(ps -o pid,stat,wchan:32,comm -p $fiopid --ppid $fiopid 2>&1)"
	diag "dm: $(dmsetup status "$DM" 2>&1); inflight dm $(cat "/sys/block/$(dmsetup info -c --noheadings -o blkdevname "$DM" 2>/dev/null)/inflight" 2>&1), base $(cat "/sys/block/$(sb_kname "$base")/inflight" 2>&1), store $(cat "/sys/block/$(sb_kname "$store")/inflight" 2>&1)"
	diag_file "$SB_TMP/fio.log" "fio: "
}

basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
model=$(sb_copy "$basef" model.img) || sb_bail "cannot copy the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $((64 * MiB)))") || sb_bail "losetup failed"
pdev=$(sb_slow_disk "$DM" "$base") || sb_bail "cannot make the dm-delay device $DM over $base"
sb_overlay "$pdev" "$store" --name c03 || sb_bail "snapblkctl overlay failed"
dev=$SB_DEV
used0=$(sb_sysfs "$dev" store_used)
diag "overlay $dev: base $pdev (dm-delay on $base), store $store; fio engine $engine"

check "24M delta before the commit" sb_write "$dev" "$model" 5 0 $((24 * MiB))
check "scattered writes" \
	bash -c "'$PATTERN' scatter '$dev' 6 40 4K 64K && '$PATTERN' scatter '$model' 6 40 4K 64K"
check "overlay reads its view" sb_cmp "$dev" "$model"

sb_slow_set "$DM" 30 || sb_bail "cannot set the write delay of $DM"
t0=$SECONDS
fio "${fio_job[@]}" --filename="$dev" --do_verify=1 --verify_backlog=32 --rate=3m,3m \
	>"$SB_TMP/fio.log" 2>&1 &
fiopid=$!
sb_register_pid $fiopid
sleep 1
kill -0 $fiopid 2>/dev/null && running=yes || running=no
check_true "fio is running when the commit starts" "[ $running = yes ]"
sb_ctl commit "$dev"
check_eq "commit while fio writes: exit 0" "$SB_RC" 0 ||
	{ _sb_show_ctl commit "$dev"; sb_bail "commit failed"; }
st=$(sb_sysfs "$dev" state)
diag "state right after commit returned: $st"
check_true "state committing (or active already)" '[ "$st" = committing ] || [ "$st" = active ]'
check "the range fio does not write reads the view while committing" \
	"$PATTERN" cmp "$dev" "$model" $((24 * MiB)) $((8 * MiB))
check "... and 0-4M" "$PATTERN" cmp "$dev" "$model" 0 $((4 * MiB))
timeout 300 "$SNAPBLKCTL" wait "$dev" >/dev/null 2>"$SB_TMP/wait.err"
rc=$?
kill -0 $fiopid 2>/dev/null && still=yes || still=no
diag "the commit took $((SECONDS - t0 - 1))s; fio still running at its end: $still"
check_eq "wait exits 0 under load" "$rc" 0 || diag_file "$SB_TMP/wait.err"
check_true "wait: the last line is 'progress: 100%' (if any)" \
	'! [ -s "$SB_TMP/wait.err" ] || [ "$(tail -n 1 "$SB_TMP/wait.err")" = "progress: 100%" ]' ||
	diag_file "$SB_TMP/wait.err"
check_eq "state active after the commit" "$(sb_sysfs "$dev" state)" active
if [ "$still" = yes ]; then
	# the commit ended first: a second one, also under load
	sb_ctl commit "$dev" --wait
	check_eq "a second commit --wait while fio still writes" "$SB_RC" 0 ||
		_sb_show_ctl commit "$dev" --wait
	kill -0 $fiopid 2>/dev/null && still=yes || still=no
	diag "fio still running after the second commit: $still"
fi
# it writes 20M at 3M/s: 7 s, more under TCG, far less than 120 s
sb_wait_pid $fiopid 120
rc=$?
diag "fio ran $((SECONDS - t0))s"
if [ $rc -eq 124 ]; then
	sb_notok "fio ends" "fio did not end within 120s: one of its I/Os never completed"
	fio_stuck
	sb_bail "fio hangs"
elif [ $rc -eq 0 ]; then
	sb_ok "fio: no error, every block verified"
	diag "$(grep -E '^ *(write|read):' "$SB_TMP/fio.log")"
else
	sb_notok "fio: no error, every block verified" "fio exit $rc"
	diag_file "$SB_TMP/fio.log"
fi
sb_slow_set "$DM" 0 || sb_bail "cannot clear the write delay of $DM"

# what fio wrote after the first commit ended is in the store again
sb_ctl commit "$dev" --wait
check_eq "final commit --wait exits 0" "$SB_RC" 0 || _sb_show_ctl commit "$dev" --wait
check_eq "state active" "$(sb_sysfs "$dev" state)" active
check_eq "store_used back to the empty overlay's" "$(sb_sysfs "$dev" store_used)" "$used0"
check_fio_view overlay "$dev" "$SB_TMP/fio2.log"
view=$("$PATTERN" sum "$dev")
check "detach" sb_detach "$dev"
check "dmsetup remove" dmsetup remove "$DM"
sb_drop_caches
check_eq "the base has the overlay's checksum" "$("$PATTERN" sum "$base")" "$view"
check_fio_view base "$base" "$SB_TMP/fio3.log"

sb_done
