#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_commit_01 - `snapblkctl commit` of an overlay into its base. The
# base sits behind a dm-delay device whose write delay the test sets, so
# that the commit is slow while the test looks at it and fast afterwards.
# While it runs: `commit` returned at once with nothing on stdout, sysfs
# state is "committing" and progress a percent (status --json agrees),
# the overlay reads its view and takes writes. A write that completes
# while the commit runs is merged with the rest; one the commit's last
# pass held (or that came after the end on a very slow VM) stays in the
# delta, and then the base must equal the view from before it. `wait` exits 0 with
# "progress: N%" lines on stderr ending at 100%. When it ends: state
# active, store_used back to its value right after the overlay was made,
# the base reads exactly the overlay's view (including the write made
# during the commit). Writes after the commit go to the store again and
# leave the base alone; `commit --wait` merges them (progress lines,
# monotonic, last 100%); a commit of an empty delta is a no-op. After
# detach the base reads the view, and the store attaches again to the
# updated base as an empty overlay.

# shellcheck disable=SC2016 # check_true conditions are expanded by eval
. "$(dirname "$0")/lib.sh"

DM=sbc01-$$

sb_init
require_snapblkctl
require_cmd timeout
require_kmod loop
require_slow_disk

is_percent() {
	[[ $1 =~ ^[0-9]+$ ]] && [ "$1" -le 100 ]
}

size=$((32 * MiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
model=$(sb_copy "$basef" model.img) || sb_bail "cannot copy the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $((48 * MiB)))") || sb_bail "losetup failed"
pdev=$(sb_slow_disk "$DM" "$base") || sb_bail "cannot make the dm-delay device $DM over $base"

sb_overlay "$pdev" "$store" --name c01 || sb_bail "snapblkctl overlay $pdev $store failed"
dev=$SB_DEV
diag "overlay $dev: base $pdev (dm-delay on $base), store $store"
used0=$(sb_sysfs "$dev" store_used)
check_eq "fresh overlay: state active" "$(sb_sysfs "$dev" state)" active
check_eq "fresh overlay: progress 0" "$(sb_sysfs "$dev" progress)" 0

# the delta: scattered writes, 8M over 12M-20M (where the base's
# fingerprint samples sit), the last sector
check "scattered writes" sb_scatter "$dev" "$model" 7 150 4K 128K
check "8M sequential write" sb_write "$dev" "$model" 8 $((12 * MiB)) $((8 * MiB))
check "last sector" sb_write "$dev" "$model" 9 $((size - 512)) 512 512
check "overlay reads its view" sb_cmp "$dev" "$model"
check "base unchanged before the commit" sb_verify "$base" 1 0 $size
used1=$(sb_sysfs "$dev" store_used)
check_true "store_used grew ($used0 -> $used1)" '[ "$used1" -gt "$used0" ]'

# ---- a slow commit, looked at while it runs
before=$(sb_copy "$model" before.img) || sb_bail "cannot copy the model"
sb_slow_set "$DM" 1000 || sb_bail "cannot set the write delay of $DM"
t0=$SECONDS
sb_ctl commit "$dev"
check_eq "commit exits 0" "$SB_RC" 0 || { _sb_show_ctl commit "$dev"; sb_bail "commit failed"; }
check_true "commit prints nothing" '[ -z "$SB_OUT" ] && [ -z "$SB_ERR" ]' || _sb_show_ctl commit "$dev"
st=$(sb_sysfs "$dev" state)
pr=$(sb_sysfs "$dev" progress)
check_eq "sysfs state right after commit returned" "$st" committing
check_true "sysfs progress is a percent ($pr)" 'is_percent "$pr"'
sb_ctl status "$dev" --json
check "status --json: state committing, progress a percent" sb_json_check "$SB_OUT" \
	'j["state"] == "committing"' 'isinstance(j["progress"], int) and 0 <= j["progress"] <= 100'

"$SNAPBLKCTL" wait "$dev" >"$SB_TMP/wait.out" 2>"$SB_TMP/wait.err" &
waitpid=$!
sb_register_pid $waitpid

check "write to the overlay while committing" \
	sb_write "$dev" "$model" 10 $((22 * MiB + 512)) $((MiB + 1024)) 1M
# committing still: the write completed before the end, so it is merged
stw=$(sb_sysfs "$dev" state)
diag "state when the write returned: $stw"
check "overlay reads its view, and the write, while committing" sb_cmp "$dev" "$model"
samples=
for i in 1 2 3 4; do
	sleep 0.5
	samples="$samples $(sb_sysfs "$dev" state)/$(sb_sysfs "$dev" progress)"
done
diag "state/progress every 0.5s with 1000ms write delay:$samples"
bad=
for s in $samples; do
	case ${s%/*} in committing | active) ;; *) bad="$bad $s" ;; esac
	is_percent "${s#*/}" || bad="$bad $s"
done
check_true "samples: state committing or active, progress a percent" '[ -z "$bad" ]' ||
	diag "bad samples:$bad"
kill -0 $waitpid 2>/dev/null && running=yes || running=no
diag "wait still running after 2s of 1000ms write delay: $running"

sb_slow_set "$DM" 0 || sb_bail "cannot clear the write delay of $DM"
sb_wait_pid $waitpid 300
rc=$?
[ $rc -eq 124 ] && kill $waitpid 2>/dev/null
diag "commit took $((SECONDS - t0))s; wait exit $rc"
check_eq "wait exits 0" "$rc" 0
diag_file "$SB_TMP/wait.err" "wait: "
check_true "wait prints nothing on stdout" '! [ -s "$SB_TMP/wait.out" ]'
check_progress "wait: progress lines on stderr, the last 100%" "$SB_TMP/wait.err" 1 0

check_eq "state active after the commit" "$(sb_sysfs "$dev" state)" active
used2=$(sb_sysfs "$dev" store_used)
sb_ctl status "$dev" --json
check "overlay still reads its view" sb_cmp "$dev" "$model"
if [ "$stw" = committing ]; then
	check_eq "store_used back to the empty overlay's" "$used2" "$used0"
	check "status --json: state active, store_used the empty overlay's" \
		sb_json_check "$SB_OUT" 'j["state"] == "active"' "j['store_used'] == $used0"
	check "the base now holds the view (read directly)" sb_cmp "$base" "$model"
	sumc=$("$PATTERN" sum "$model")
	check_eq "base checksum equals the view's" "$("$PATTERN" sum "$base")" "$sumc"
else
	diag "the write returned after the commit's end: it stays in the delta"
	check_true "store_used holds only that write ($used0 -> $used2)" \
		'[ "$used2" -gt "$used0" ]'
	check "status --json: state active, store_used as sysfs" \
		sb_json_check "$SB_OUT" 'j["state"] == "active"' "j['store_used'] == $used2"
	check "the base now holds the view from before that write" sb_cmp "$base" "$before"
	sumc=$("$PATTERN" sum "$before")
	check_eq "base checksum equals that view's" "$("$PATTERN" sum "$base")" "$sumc"
fi
sb_ctl wait "$dev"
check_true "wait with no commit running exits 0 at once" '[ "$SB_RC" -eq 0 ]' || _sb_show_ctl wait "$dev"

# ---- writes after the commit go to the store again
check "write after the commit" sb_write "$dev" "$model" 11 $((2 * MiB)) $((3 * MiB))
check "scattered writes after the commit" sb_scatter "$dev" "$model" 12 60 512 64K
check "overlay reads them" sb_cmp "$dev" "$model"
used3=$(sb_sysfs "$dev" store_used)
check_true "store_used grew again ($used0 -> $used3)" '[ "$used3" -gt "$used0" ]'
check_eq "the base does not see them" "$("$PATTERN" sum "$base")" "$sumc"

# ---- commit --wait: the progress lines go up to 100%
sb_slow_set "$DM" 100 || sb_bail "cannot set the write delay of $DM"
t0=$SECONDS
timeout 300 "$SNAPBLKCTL" commit "$dev" --wait >"$SB_TMP/cw.out" 2>"$SB_TMP/cw.err"
rc=$?
diag "commit --wait (100ms write delay) took $((SECONDS - t0))s"
sb_slow_set "$DM" 0 || sb_bail "cannot clear the write delay of $DM"
check_eq "commit --wait exits 0" "$rc" 0
diag_file "$SB_TMP/cw.err" "commit --wait: "
check_true "commit --wait prints nothing on stdout" '! [ -s "$SB_TMP/cw.out" ]'
check_progress "commit --wait: progress lines, monotonic, the last 100%" "$SB_TMP/cw.err" 1 1
check_eq "state active" "$(sb_sysfs "$dev" state)" active
check_eq "store_used back to the empty overlay's" "$(sb_sysfs "$dev" store_used)" "$used0"
check "overlay reads its view" sb_cmp "$dev" "$model"
check "the base holds the new view" sb_cmp "$base" "$model"
sumc=$("$PATTERN" sum "$model")

sb_ctl commit "$dev" --wait
check_eq "commit --wait of an empty delta exits 0" "$SB_RC" 0 || _sb_show_ctl commit "$dev" --wait
check_eq "... and changes nothing" "$("$PATTERN" sum "$base")" "$sumc"

# ---- detach: the base alone holds the data; the store attaches again
check "detach" sb_detach "$dev"
sb_drop_caches
check "base (dm device) reads the view after detach" sb_cmp "$pdev" "$model"
check_eq "base checksum after detach" "$("$PATTERN" sum "$base")" "$sumc"
if sb_attach "$store" "$pdev"; then
	sb_ok "the committed store attaches to the updated base"
	dev=$SB_DEV
	check_eq "attached: state active" "$(sb_sysfs "$dev" state)" active
	check_eq "attached: store_used is the empty overlay's" "$(sb_sysfs "$dev" store_used)" "$used0"
	check "attached: reads the base" sb_cmp "$dev" "$model"
	check "attached: write" sb_write "$dev" - 13 $((6 * MiB)) $((2 * MiB))
	check_eq "attached: the write does not reach the base" "$("$PATTERN" sum "$base")" "$sumc"
	check "detach" sb_detach "$dev"
else
	sb_notok "the committed store attaches to the updated base" "attach: $SB_ERR"
fi
check "base unchanged by the overlay's later writes" sb_cmp "$base" "$model"
check "dmsetup remove" dmsetup remove "$DM"

sb_done
