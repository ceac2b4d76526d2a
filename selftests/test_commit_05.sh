#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_commit_05 - an I/O error during `snapblkctl commit` (issue: stop,
# report the state, keep all data readable, allow a retry). The base is a
# faulty disk (dm-linear that the test swaps for a dm-flakey that fails
# every write) under a slow disk (dm-delay), so that the commit has merged
# part of the delta when the base starts failing. Then:
#   - `wait` exits non-zero and names the I/O error and the retry;
#   - sysfs state is "stopped" (status --json agrees), the overlay reads
#     its view and takes writes;
#   - `commit` again while the base still fails starts and stops again;
#   - detach keeps the commit in the store: once the base heals, attach
#     resumes it, `wait` exits 0, the store is empty, and the base (read
#     directly after detach) holds the view, including the write made
#     while the commit was stopped.

# shellcheck disable=SC2016 # check_true conditions are expanded by eval
. "$(dirname "$0")/lib.sh"

FAULTY=sbc05f-$$
SLOW=sbc05s-$$

sb_init
require_snapblkctl
require_cmd timeout
require_kmod loop
require_slow_disk
require_faulty_disk

size=$((32 * MiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
model=$(sb_copy "$basef" model.img) || sb_bail "cannot copy the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $((48 * MiB)))") || sb_bail "losetup failed"
fdev=$(sb_faulty_disk "$FAULTY" "$base") || sb_bail "cannot make the dm-linear device $FAULTY"
pdev=$(sb_slow_disk "$SLOW" "$fdev") || sb_bail "cannot make the dm-delay device $SLOW"

sb_overlay "$pdev" "$store" --name c05 || sb_bail "snapblkctl overlay $pdev $store failed"
dev=$SB_DEV
diag "overlay $dev: base $pdev (dm-delay on $FAULTY on $base), store $store"
used0=$(sb_sysfs "$dev" store_used)
check "24M sequential write" sb_write "$dev" "$model" 5 $((4 * MiB)) $((24 * MiB))
check "scattered writes" sb_scatter "$dev" "$model" 6 100 512 128K
check "overlay reads its view" sb_cmp "$dev" "$model"

# ---- the base fails once the commit has merged something
sb_slow_set "$SLOW" 1000 || sb_bail "cannot slow down $SLOW"
sb_ctl commit "$dev"
check_eq "commit exits 0" "$SB_RC" 0 || { _sb_show_ctl commit "$dev"; sb_bail "commit failed"; }
read -r st pr <<<"$(sb_wait_batch "$dev" committing)"
diag "when the base starts failing: state $st, progress $pr%"
[ "$st" = committing ] || sb_bail "the commit is not running any more ($st): nothing to interrupt"
sb_faulty_set "$FAULTY" fail || sb_bail "cannot make $FAULTY fail"
sb_slow_set "$SLOW" 0 || sb_bail "cannot clear the delay of $SLOW"

timeout 120 "$SNAPBLKCTL" wait "$dev" >/dev/null 2>"$SB_TMP/wait.err"
rc=$?
diag_file "$SB_TMP/wait.err" "wait: "
check_true "wait exits non-zero (exit $rc)" '[ $rc -ne 0 ] && [ $rc -ne 124 ]'
check_true "wait names the I/O error and the retry" \
	'grep -qi "I/O error" "$SB_TMP/wait.err" && grep -q "commit" "$SB_TMP/wait.err"'
check_eq "sysfs state stopped" "$(sb_sysfs "$dev" state)" stopped
prs=$(sb_sysfs "$dev" progress)
check_true "progress is where it stopped ($prs%)" '[ "$prs" -ge 0 ] && [ "$prs" -lt 100 ]'
sb_ctl status "$dev" --json
check "status --json: state stopped" sb_json_check "$SB_OUT" 'j["state"] == "stopped"'
check "the overlay reads its view" sb_cmp "$dev" "$model"
check "a write to the stopped overlay" sb_write "$dev" "$model" 7 $((MiB + 512)) $((2 * MiB)) 64K
check "the overlay reads it" sb_cmp "$dev" "$model"

# ---- a retry while the base still fails stops again
sb_ctl commit "$dev"
check_eq "commit again exits 0 (it starts)" "$SB_RC" 0 || _sb_show_ctl commit "$dev"
timeout 120 "$SNAPBLKCTL" wait "$dev" >/dev/null 2>"$SB_TMP/wait2.err"
rc=$?
check_true "... and stops again: wait exits non-zero (exit $rc)" '[ $rc -ne 0 ] && [ $rc -ne 124 ]' ||
	diag_file "$SB_TMP/wait2.err" "wait: "
check_eq "state stopped again" "$(sb_sysfs "$dev" state)" stopped
check "the overlay still reads its view" sb_cmp "$dev" "$model"

# ---- detach keeps the commit; attach on the healed base resumes it
check "detach of the stopped overlay" sb_detach "$dev"
sb_faulty_set "$FAULTY" heal || sb_bail "cannot heal $FAULTY"
sb_drop_caches
sb_attach "$store" "$pdev" || sb_bail "attach of the store of the stopped commit failed"
dev=$SB_DEV
st=$(sb_sysfs "$dev" state)
diag "after attach: state $st, progress $(sb_sysfs "$dev" progress)%"
check_true "after attach: the commit resumes (committing, or active if it ended)" \
	'[ "$st" = committing ] || [ "$st" = active ]'
check "the overlay reads its view right after attach" sb_cmp "$dev" "$model"
timeout 300 "$SNAPBLKCTL" wait "$dev" >/dev/null 2>"$SB_TMP/wait3.err"
rc=$?
check_eq "wait exits 0" "$rc" 0 || diag_file "$SB_TMP/wait3.err" "wait: "
check_eq "state active" "$(sb_sysfs "$dev" state)" active
check_eq "store_used back to the empty overlay's" "$(sb_sysfs "$dev" store_used)" "$used0"
check "the overlay reads its view" sb_cmp "$dev" "$model"
check "detach" sb_detach "$dev"
sb_drop_caches
check "the base holds the view" sb_cmp "$base" "$model"
sb_done
