#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_revert_04 - an I/O error during `snapblkctl revert` (issue: stop,
# report the state, keep all data readable, allow a retry). The disk
# under the origin is a faulty disk (dm-linear that the test swaps for a
# dm-flakey that fails every write) under a slow disk (dm-delay), so
# that the revert has copied part of the snapshot back when the disk
# starts failing. Then:
#   - `wait` exits non-zero and names the I/O error and the retry;
#   - sysfs state of the origin and of the snapshot is "stopped" (status
#     --json agrees); the origin still reads exactly like the snapshot,
#     and the snapshot reads its moment or refuses to open (ENXIO, as
#     while the revert runs);
#   - the snapshot and the origin cannot be removed meanwhile (EBUSY);
#   - `revert` again while the disk still fails starts and stops again;
#   - once the disk heals, `revert --wait` exits 0, the snapshot is gone,
#     the origin is active and reads like the snapshot, takes writes, and
#     after detach the disk itself holds the snapshot's data and them.

# shellcheck disable=SC2016 # check_true conditions are expanded by eval
. "$(dirname "$0")/lib.sh"

FAULTY=sbr04f-$$
SLOW=sbr04s-$$

sb_init
require_snapblkctl
require_cmd timeout python3
require_kmod loop
require_slow_disk
require_faulty_disk

size=$((32 * MiB))
chunk=$((64 * KiB))
diskf=$(sb_file disk.img $size 1) || sb_bail "cannot create the disk image"
model0=$(sb_copy "$diskf" model0.img) || sb_bail "cannot copy the disk image"
model1=$(sb_copy "$diskf" model1.img) || sb_bail "cannot copy the disk image"
loop=$(sb_loop "$diskf") || sb_bail "losetup failed"
fdev=$(sb_faulty_disk "$FAULTY" "$loop") || sb_bail "cannot make the dm-linear device $FAULTY"
disk=$(sb_slow_disk "$SLOW" "$fdev") || sb_bail "cannot make the dm-delay device $SLOW"
store=$(sb_loop "$(sb_file store.img $((64 * MiB)))") || sb_bail "losetup failed"

sb_origin "$disk" --name r04o || sb_bail "snapblkctl origin $disk failed"
origin=$SB_DEV
sb_snapshot r04o "$store" --name r04s || sb_bail "snapblkctl snapshot r04o $store failed"
snap=$SB_DEV
sk=$(sb_kname "$snap")
diag "origin $origin on $disk (dm-delay on $FAULTY on $loop), snapshot $snap on $store"
check "origin: 24M write (4M-28M)" sb_write "$origin" "$model1" 2 $((4 * MiB)) $((24 * MiB))
check "origin: 512B write inside chunk 1" \
	sb_write "$origin" "$model1" 3 $((chunk + 5 * 512)) 512 512
check "origin reads the new data" sb_cmp "$origin" "$model1"
check "snapshot reads its moment" sb_cmp "$snap" "$model0"

# ---- the disk fails once the revert has copied something back
sb_slow_set "$SLOW" 1000 0 || sb_bail "cannot slow down $SLOW"
sb_ctl revert r04s
check_eq "revert exits 0" "$SB_RC" 0 || { _sb_show_ctl revert r04s; sb_bail "revert failed"; }
read -r st pr <<<"$(sb_wait_batch "$origin" reverting)"
diag "when the disk starts failing: origin state $st, progress $pr%"
[ "$st" = reverting ] || sb_bail "the revert is not running any more ($st): nothing to interrupt"
sb_faulty_set "$FAULTY" fail || sb_bail "cannot make $FAULTY fail"
sb_slow_set "$SLOW" 0 || sb_bail "cannot clear the delay of $SLOW"

timeout 120 "$SNAPBLKCTL" wait r04s >/dev/null 2>"$SB_TMP/wait.err"
rc=$?
diag_file "$SB_TMP/wait.err" "wait: "
check_true "wait exits non-zero (exit $rc)" '[ $rc -ne 0 ] && [ $rc -ne 124 ]'
check_true "wait names the I/O error and the retry" \
	'grep -qi "I/O error" "$SB_TMP/wait.err" && grep -q "revert" "$SB_TMP/wait.err"'
check_eq "origin state stopped" "$(sb_sysfs "$origin" state)" stopped
check_eq "snapshot state stopped" "$(sb_sysfs "$snap" state)" stopped
prs=$(sb_sysfs "$origin" progress)
check_true "progress is where it stopped ($prs%)" '[ "$prs" -ge 0 ] && [ "$prs" -lt 100 ]'
sb_ctl status r04o --json
check "status --json of the origin: state stopped" sb_json_check "$SB_OUT" 'j["state"] == "stopped"'
sb_drop_caches
check "the origin reads like the snapshot" sb_cmp "$origin" "$model0"
if out=$("$PATTERN" cmp "$snap" "$model0" 2>&1); then
	sb_ok "the snapshot reads its moment"
elif [[ $out == *"No such device or address"* ]]; then
	sb_ok "the snapshot refuses to open while it is reverted"
else
	sb_notok "the snapshot reads its moment, or refuses to open" "$out"
fi
sb_ctl detach r04s
check_true "detach of the snapshot is refused (busy)" \
	'[ "$SB_RC" -ne 0 ] && printf "%s" "$SB_ERR" | grep -qi busy' || _sb_show_ctl detach r04s
sb_ctl detach r04o
check_true "detach of the origin is refused (busy)" \
	'[ "$SB_RC" -ne 0 ] && printf "%s" "$SB_ERR" | grep -qi busy' || _sb_show_ctl detach r04o

# ---- a retry while the disk still fails stops again
sb_ctl revert r04s
check_eq "revert again exits 0 (it starts)" "$SB_RC" 0 || _sb_show_ctl revert r04s
timeout 120 "$SNAPBLKCTL" wait r04o >/dev/null 2>"$SB_TMP/wait2.err"
rc=$?
check_true "... and stops again: wait exits non-zero (exit $rc)" '[ $rc -ne 0 ] && [ $rc -ne 124 ]' ||
	diag_file "$SB_TMP/wait2.err" "wait: "
check_eq "origin state stopped again" "$(sb_sysfs "$origin" state)" stopped
check "the origin still reads like the snapshot" sb_cmp "$origin" "$model0"

# ---- healed: the retry ends
sb_faulty_set "$FAULTY" heal || sb_bail "cannot heal $FAULTY"
timeout 300 "$SNAPBLKCTL" revert r04s --wait >/dev/null 2>"$SB_TMP/wait3.err"
rc=$?
check_eq "revert --wait on the healed disk exits 0" "$rc" 0 || diag_file "$SB_TMP/wait3.err" "revert: "
check "the snapshot is gone" sb_wait_gone "/sys/block/$sk" 10
check_eq "origin state active" "$(sb_sysfs "$origin" state)" active
check "the origin reads like the snapshot" sb_cmp "$origin" "$model0"
cp "$model0" "$model1"
check "origin: a write after the revert" \
	sb_write "$origin" "$model1" 4 $((10 * MiB + 512)) $((MiB + 1024)) 64K
check "the origin reads it" sb_cmp "$origin" "$model1"
check "detach the origin" sb_detach "$origin"
sb_drop_caches
check "the disk holds the snapshot's data and the later write" sb_cmp "$loop" "$model1"
sb_done
