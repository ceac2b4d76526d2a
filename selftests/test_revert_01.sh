#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_revert_01 - `snapblkctl revert SNAP` rolls the origin back to the
# snapshot. A 64M origin, one snapshot, then 48M of new data plus a few
# small writes (512 B inside a chunk, a buffered write at an odd offset)
# on the origin. The disk under the origin is a dm-delay device whose
# writes are slowed down during the revert, so that the background copy
# is still running when the command returns: from then on the origin
# reads exactly like the snapshot (direct and buffered reads); sysfs state
# of the origin and of the snapshot is "reverting", progress a percent,
# status --json agrees; the snapshot device either refuses to open or
# reads its moment; `snapblkctl wait SNAP` prints "progress: N%" lines
# on stderr (not a tty), ends with 100% and exits 0. Then the snapshot
# device is gone (sysfs, /dev, holders, list --json), the origin is
# active, its progress 100 (the last revert's), it still reads like the
# snapshot, and after detaching the origin the disk itself holds the
# snapshot's data.
# Second part: a new snapshot is written to (snapshots are writable), the
# origin too; `revert --wait` returns when the snapshot is gone, and the
# origin (and, after detach, the disk) reads the snapshot's view with its
# own writes.

# check_true evaluates its single-quoted condition later:
# shellcheck disable=SC2016

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd python3 blockdev
require_kmod loop
# the disk under the origin is a slow disk, so that a revert runs long
# enough to be watched; without dm-delay the checks that need a running
# revert are skipped
sb_slow_probe || diag "no dm-delay: the revert may end before it can be watched"

# sysfs_pct DEV: "ok" if the progress attribute is a percent
sysfs_pct() {
	local p

	p=$(sb_sysfs "$1" progress)
	if [[ $p =~ ^[0-9]+$ ]] && [ "$p" -le 100 ]; then
		echo ok
	else
		echo "progress '$p'"
	fi
}

# origin_and_snapshot STORE SNAPNAME: the origin r01o over $disk and a
# snapshot SNAPNAME of it on STORE; sets origin, ok (its kernel name),
# snap and sk
origin_and_snapshot() {
	sb_origin "$disk" --name r01o || sb_bail "snapblkctl origin $disk failed"
	origin=$SB_DEV
	ok=$(sb_kname "$origin")
	sb_snapshot r01o "$1" --name "$2" || sb_bail "snapblkctl snapshot $2 on $1 failed"
	snap=$SB_DEV
	sk=$(sb_kname "$snap")
}

DMNAME=sbrev01.$$
size=$((64 * MiB))
chunk=$((64 * KiB))
diskf=$(sb_file disk.img $size 1) || sb_bail "cannot create the disk image"
model0=$(sb_copy "$diskf" model0.img) || sb_bail "cannot copy the disk image"
model1=$(sb_copy "$diskf" model1.img) || sb_bail "cannot copy the disk image"
loop=$(sb_loop "$diskf") || sb_bail "losetup failed"
disk=$(sb_slow_disk "$DMNAME" "$loop") || sb_bail "dmsetup create over $loop failed"
store=$(sb_loop "$(sb_file store.img $((100 * MiB)))") || sb_bail "losetup failed"
diag "disk $disk over $loop, store $store"

origin_and_snapshot "$store" r01s
diag "origin $origin, snapshot $snap"

# ---- origin writes after the snapshot: 48M of chunks plus small ones
check "origin: 48M write (8M-56M)" sb_write "$origin" "$model1" 2 $((8 * MiB)) $((48 * MiB))
check "origin: 512B write in the middle of chunk 3" \
	sb_write "$origin" "$model1" 3 $((3 * chunk + 7 * 512)) 512 512
check "origin: 4K write at 60M+12K" sb_write "$origin" "$model1" 4 $((60 * MiB + 12 * KiB)) 4K 4K
check "origin: 100-byte buffered write at an odd offset" \
	bash -c "'$PATTERN' write -B '$origin' 5 $((62 * MiB + 13)) 100 &&
		'$PATTERN' write -B '$model1' 5 $((62 * MiB + 13)) 100"
check "origin reads the new data" sb_cmp "$origin" "$model1"
check "snapshot reads its moment" sb_cmp "$snap" "$model0"
check_eq "snapshot: state before the revert" "$(sb_sysfs "$snap" state)" active
diag "store_used before the revert: $(sb_sysfs "$snap" store_used)"

# ---- revert, with the disk's writes slowed down
sb_slow_set "$DMNAME" 2000 0 || sb_bail "cannot slow down $disk"
t0=$(sb_now_ms)
sb_ctl revert r01s
t1=$(sb_now_ms)
rv_rc=$SB_RC rv_out=$SB_OUT rv_err=$SB_ERR
# sample at once, while the copy is (most likely) still running
if [ -e "/sys/block/$sk" ]; then running=1; else running=0; fi
st_s=$(sb_sysfs "$sk" state)
st_o=$(sb_sysfs "$ok" state)
pr_s=$(sysfs_pct "$sk")
pr_o=$(sysfs_pct "$ok")
sb_ctl status "$sk" --json
js_s=$SB_OUT
sb_ctl status "$ok" --json
js_o=$SB_OUT
[ -e "/sys/block/$sk" ] || running=0
diag "revert returned after $((t1 - t0)) ms; then snapshot state '$st_s', origin state '$st_o'," \
	"progress $(sb_sysfs "$ok" progress)%"
if [ "$rv_rc" -ne 0 ]; then
	diag "snapblkctl revert r01s: exit $rv_rc, stderr: $rv_err"
	sb_bail "snapblkctl revert r01s failed"
fi
sb_ok "revert r01s exits 0"
# `wait SNAP` follows the revert from now on (on the origin if it ended)
if [ -e "/sys/block/$sk" ]; then
	waitdev=$snap
else
	waitdev=$origin
	diag "the snapshot is gone already: wait on the origin"
fi
"$SNAPBLKCTL" wait "$waitdev" >"$SB_TMP/wait.out" 2>"$SB_TMP/wait.err" &
waiter=$!
sb_register_pid $waiter
check_eq "revert prints nothing on stdout" "$rv_out" ""
check "origin reads like the snapshot as soon as revert returns" sb_cmp "$origin" "$model0"

if [ $running -eq 1 ]; then
	check_eq "while reverting: snapshot state" "$st_s" reverting
	check_eq "while reverting: origin state" "$st_o" reverting
	check_eq "while reverting: snapshot progress is a percent" "$pr_s" ok
	check_eq "while reverting: origin progress is a percent" "$pr_o" ok
	check "while reverting: status SNAP --json" sb_json_check "$js_s" \
		"j['state'] == 'reverting'" "0 <= int(j['progress']) <= 100" "j['kind'] == 'snapshot'"
	check "while reverting: status ORIGIN --json" sb_json_check "$js_o" \
		"j['state'] == 'reverting'" "0 <= int(j['progress']) <= 100" "j['kind'] == 'origin'"
	check "while reverting: origin, buffered reads, cold cache" \
		bash -c "echo 3 >/proc/sys/vm/drop_caches; '$PATTERN' verify -B '$origin' 1 0 $size"
	# the snapshot may refuse to open meanwhile, but it never reads wrong data
	if out=$("$PATTERN" cmp "$snap" "$model0" 2>&1); then
		sb_ok "while reverting: the snapshot reads its moment"
	elif [[ $out == "pattern: open "* ]]; then
		sb_ok "while reverting: the snapshot cannot be opened"
		diag "$out"
	else
		sb_notok "while reverting: the snapshot, if it opens, reads its moment" "$out"
	fi
	diag "progress now: origin $(sb_sysfs "$ok" progress)%"
else
	sb_skip_one "while reverting: states and progress" "the revert ended before it could be watched"
fi

# ---- lift the delay: the revert ends
check "lift the write delay" sb_slow_set "$DMNAME" 0
t0=$(sb_now_ms)
wait $waiter
wrc=$?
t1=$(sb_now_ms)
diag "wait $waitdev: exit $wrc, $((t1 - t0)) ms after the delay was lifted"
check_eq "wait exits 0" $wrc 0
check_true "wait prints nothing on stdout" '! [ -s "$SB_TMP/wait.out" ]' || diag_file "$SB_TMP/wait.out"
if [ $running -eq 1 ]; then
	check "wait: 'progress: N%' lines on stderr, rising, ending with 100%" \
		sb_progress_ok "$SB_TMP/wait.err" 1 1 || diag_file "$SB_TMP/wait.err" "stderr: "
else
	diag_file "$SB_TMP/wait.err" "wait stderr: "
fi
diag "wait printed $(wc -l <"$SB_TMP/wait.err") lines"

# ---- after the revert
check "the snapshot device is gone (sysfs)" sb_wait_gone "/sys/block/$sk" 10
check "the snapshot device node is gone" sb_wait_gone "$snap" 5
check_true "the origin's holders link is gone" '! [ -e "/sys/block/$ok/holders/$sk" ]'
sb_ctl list --json
check "list --json no longer shows the snapshot" sb_json_check "$SB_OUT" \
	"isinstance(j, list)" "not [d for d in j if d.get('name') == 'r01s' or d.get('path') == '$snap']" \
	"[d['kind'] for d in j if d.get('path') == '$origin'] == ['origin']"
sb_ctl status r01s
check_true "status r01s fails" '[ "$SB_RC" -ne 0 ]'
check_eq "origin: state after the revert" "$(sb_sysfs "$ok" state)" active
check_eq "origin: progress after the revert (the last one's)" "$(sb_sysfs "$ok" progress)" 100
check "origin reads like the snapshot's moment" sb_cmp "$origin" "$model0"
sb_drop_caches
check "origin: buffered reads, cold cache" "$PATTERN" verify -B "$origin" 1 0 $size
check "detach the origin" sb_detach "$origin"
sb_drop_caches
check "the disk image holds the snapshot's moment" sb_cmp "$diskf" "$model0"
check "the disk device holds the snapshot's moment" sb_cmp "$disk" "$model0"

# ---- a snapshot with its own writes
store2=$(sb_loop "$(sb_file store2.img $((48 * MiB)))") || sb_bail "losetup failed"
model2=$(sb_copy "$model0" model2.img) || sb_bail "cannot copy the model"
model3=$(sb_copy "$model0" model3.img) || sb_bail "cannot copy the model"
origin_and_snapshot "$store2" r01t
check "snapshot: 4K write at 1M+4K" sb_write "$snap" "$model2" 10 $((MiB + 4 * KiB)) 4K 4K
check "snapshot: 512B write in the middle of chunk 100" \
	sb_write "$snap" "$model2" 11 $((100 * chunk + 13 * 512)) 512 512
check "snapshot: 256K write across chunks at 20M-4K" \
	sb_write "$snap" "$model2" 12 $((20 * MiB - 4 * KiB)) 256K 64K
check "origin: 4M write at 0" sb_write "$origin" "$model3" 13 0 $((4 * MiB))
check "origin: random writes" sb_scatter "$origin" "$model3" 14 20 4K 128K 4K
check "origin: 8K write over the snapshot's 4K" sb_write "$origin" "$model3" 15 $((MiB)) 8K 8K
check "snapshot reads its moment with its writes" sb_cmp "$snap" "$model2"
check "origin reads its writes" sb_cmp "$origin" "$model3"

t0=$(sb_now_ms)
sb_ctl revert r01t --wait
t1=$(sb_now_ms)
diag "revert --wait: exit $SB_RC after $((t1 - t0)) ms"
if [ "$SB_RC" -ne 0 ]; then
	_sb_show_ctl revert r01t --wait
	sb_bail "snapblkctl revert r01t --wait failed"
fi
sb_ok "revert r01t --wait exits 0"
check_eq "revert --wait prints nothing on stdout" "$SB_OUT" ""
printf '%s\n' "$SB_ERR" | grep -v '^$' >"$SB_TMP/revert.err"
if [ -s "$SB_TMP/revert.err" ]; then
	check "revert --wait: stderr holds only progress lines" sb_progress_ok "$SB_TMP/revert.err" 1 1 ||
		diag_file "$SB_TMP/revert.err" "stderr: "
fi
check "the snapshot is gone when revert --wait returns" sb_wait_gone "/sys/block/$sk" 1
check_eq "origin: state" "$(sb_sysfs "$ok" state)" active
check "origin reads the snapshot's view, with its writes" sb_cmp "$origin" "$model2"
check "detach the origin" sb_detach "$origin"
sb_drop_caches
check "the disk image holds the snapshot's view" sb_cmp "$diskf" "$model2"

sb_done
