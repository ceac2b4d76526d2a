#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_events_01 - the change uevents of SPEC section 10, as
# `snapblkctl monitor --json`, `snapblkctl monitor DEV` and
# `udevadm monitor --kernel` see them (no udev daemon runs):
#   - an overlay whose small store fills: threshold 80, 90, 95 (each once,
#     in that order), then full; after `grow` a commit: commit-done;
#     after the commit the store is empty again, and filling it once more
#     sends the thresholds again (falling use re-arms them);
#   - a snapshot whose store fills under origin writes (policy
#     invalidate): its thresholds, then invalid;
#   - a revert of another snapshot: revert-done from the origin;
#   - a commit into a base whose writes fail: stopped; healed and run
#     again: commit-done.
# The data is checked too: the base holds the overlay's view after the
# commit, the origin holds the snapshot's moment after the revert.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_pattern
require_kmod loop
command -v udevadm >/dev/null || sb_skip "udevadm not installed"
require_faulty_disk

size=$((16 * MiB))
chunk=$((64 * KiB))

# listen OUTFILE CMD...: a background listener, in $LISTEN_PID once it
# has its netlink socket (not for $(...): it must stay our child)
listen() {
	local out=$1 i fd

	shift
	"$@" >"$out" 2>"$out.err" &
	LISTEN_PID=$!
	sb_register_pid "$LISTEN_PID"
	for ((i = 0; i < 100; i++)); do
		for fd in "/proc/$LISTEN_PID/fd/"*; do
			[[ $(readlink "$fd") == socket:* ]] && return 0
		done
		sleep 0.1
	done
	sb_bail "$* did not open its socket"
}

# wait_lines FILE PATTERN COUNT: until FILE has COUNT lines matching
wait_lines() {
	local i

	for ((i = 0; i < 150; i++)); do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

mon_json=$SB_TMP/monitor.json
udev_out=$SB_TMP/udev.txt
listen "$mon_json" "$SNAPBLKCTL" monitor --json
mpid=$LISTEN_PID
listen "$udev_out" stdbuf -oL udevadm monitor --kernel --property --subsystem-match=block
upid=$LISTEN_PID

# ---- overlay: thresholds, full, commit-done
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
model=$(sb_copy "$basef" model.img) || sb_bail "cannot copy the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
storef=$(sb_file ovstore.img $((2 * MiB))) || sb_bail "cannot create the store image"
store=$(sb_loop "$storef") || sb_bail "losetup failed"
sb_overlay "$base" "$store" --name evov || sb_bail "snapblkctl overlay failed"
ov=$SB_DEV
used_new=$(sb_sysfs "$ov" store_used)
listen "$SB_TMP/monitor-ov.txt" "$SNAPBLKCTL" monitor evov
opid=$LISTEN_PID

read -r written err <<<"$("$PATTERN" fill -b $chunk "$ov" 2 0 $size)"
"$PATTERN" write "$model" 2 0 "$written"
check_true "the overlay's store filled (wrote $written bytes, errno $err)" '[ "$err" != 0 ]'
check_eq "overlay state" "$(sb_sysfs "$ov" state)" full
check "4 events of evov in monitor --json" wait_lines "$mon_json" '"name": "evov"' 4

truncate -s $((8 * MiB)) "$storef" && losetup -c "$store" || sb_bail "cannot grow the store"
check "grow" "$SNAPBLKCTL" grow "$ov"
check "commit --wait" sb_ctl commit "$ov" --wait
check "the base holds the overlay's view" sb_cmp "$base" "$model"
check "commit-done in monitor --json" wait_lines "$mon_json" '"commit-done"' 1
check_eq "store_used after the commit: as when new" "$(sb_sysfs "$ov" store_used)" "$used_new"
# 2 MiB of data on the grown store: 25 %, no threshold; emptied by the
# commit; then use rises past 80 % (not 90) again: 82 % of the device,
# about 83 % of its data chunks
data=$((8 * MiB * 82 / 100 / chunk * chunk))
check "write 82 % of the grown store" sb_write "$ov" "$model" 3 0 $data $chunk
check "threshold 80 again after the store emptied" \
	wait_lines "$mon_json" '"name": "evov", "event": "threshold", "used_percent": 80' 2

# ---- snapshot: thresholds and invalid; another one reverted
diskf=$(sb_file disk.img $size 4) || sb_bail "cannot create the disk image"
moment=$(sb_copy "$diskf" moment.img) || sb_bail "cannot copy the disk image"
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
s1f=$(sb_file s1.img $((2 * MiB))) || sb_bail "cannot create a store image"
s1=$(sb_loop "$s1f") || sb_bail "losetup failed"
s2f=$(sb_file s2.img $((24 * MiB))) || sb_bail "cannot create a store image"
s2=$(sb_loop "$s2f") || sb_bail "losetup failed"
sb_origin "$disk" --name evorg || sb_bail "snapblkctl origin failed"
org=$SB_DEV
sb_snapshot "$org" "$s1" --name evsmall || sb_bail "snapshot on the small store failed"
small=$SB_DEV
sb_snapshot "$org" "$s2" --name evkeep || sb_bail "snapshot on the big store failed"
keep=$SB_DEV
check "origin writes over the whole disk" sb_write "$org" - 5 0 $size $chunk
check_eq "the small store's snapshot is invalid" "$(sb_sysfs "$small" state)" invalid
check "invalid in monitor --json" wait_lines "$mon_json" '"invalid"' 1
check "delete the invalid snapshot" sb_delete "$small"
check "revert to evkeep --wait" sb_ctl revert "$keep" --wait
check "the origin shows the snapshot's moment" sb_cmp "$org" "$moment"
check "revert-done in monitor --json" wait_lines "$mon_json" '"revert-done"' 1

# ---- a commit that an I/O error stops: stopped; healed: commit-done
fbasef=$(sb_file fbase.img $((4 * MiB)) 6) || sb_bail "cannot create the base image"
fmodel=$(sb_copy "$fbasef" fmodel.img) || sb_bail "cannot copy the base image"
floop=$(sb_loop "$fbasef") || sb_bail "losetup failed"
FAULTY=sbev$$
fbase=$(sb_faulty_disk "$FAULTY" "$floop") || sb_bail "cannot make the dm-linear device"
fstoref=$(sb_file fstore.img $((8 * MiB))) || sb_bail "cannot create the store image"
fstore=$(sb_loop "$fstoref") || sb_bail "losetup failed"
sb_overlay "$fbase" "$fstore" --name evstop || sb_bail "snapblkctl overlay failed"
fov=$SB_DEV
check "write into evstop" sb_write "$fov" "$fmodel" 7 0 $((1 * MiB)) $chunk
sb_faulty_set "$FAULTY" fail || sb_bail "cannot make the base fail"
sb_ctl commit "$fov" --wait
check_true "commit --wait fails while the base fails (exit $SB_RC)" '[ "$SB_RC" = 1 ]'
check_eq "evstop state" "$(sb_sysfs "$fov" state)" stopped
check "stopped in monitor --json" wait_lines "$mon_json" '"stopped"' 1
sb_faulty_set "$FAULTY" heal || sb_bail "cannot heal the base"
check "commit --wait again, healed" sb_ctl commit "$fov" --wait
check "the base holds evstop's view" sb_cmp "$fbase" "$fmodel"
check "commit-done of evstop in monitor --json" \
	wait_lines "$mon_json" '"name": "evstop", "event": "commit-done"' 1
check "detach evstop" sb_detach "$fov"

# ---- what the listeners saw
sleep 1
kill -INT "$mpid" "$opid" "$upid" 2>/dev/null
sb_wait_pid "$mpid" 10
check_eq "monitor --json exits 0 on SIGINT" "$?" 0
sb_wait_pid "$opid" 10
check_eq "monitor DEV exits 0 on SIGINT" "$?" 0
sb_wait_pid "$upid" 10
diag_file "$mon_json" "monitor: "

check "monitor --json: every line is an object with the keys" python3 - "$mon_json" <<'EOF'
import json, sys
keys = {"time", "path", "name", "event", "used_percent", "state"}
for n, line in enumerate(open(sys.argv[1]), 1):
    j = json.loads(line)
    if set(j) != keys or not j["path"].startswith("/dev/snapblk"):
        sys.exit("line %d: %r" % (n, line))
    if not isinstance(j["used_percent"], int) or not j["time"].endswith("Z"):
        sys.exit("line %d: %r" % (n, line))
EOF

# the events of one device, in order: "event[:percent]" words
events_of() { # events_of NAME
	python3 - "$mon_json" "$1" <<'EOF'
import json, sys
out = []
for line in open(sys.argv[1]):
    j = json.loads(line)
    if j["name"] == sys.argv[2]:
        e = j["event"]
        if e == "threshold":
            e += ":%d" % j["used_percent"]
        out.append(e)
print(" ".join(out))
EOF
}

check_eq "evov: events in order, each once" "$(events_of evov)" \
	"threshold:80 threshold:90 threshold:95 full commit-done threshold:80"
ev=$(events_of evsmall)
diag "evsmall: $ev"
check_true "evsmall: thresholds in order, (full,) invalid" \
	'[[ "$ev" =~ ^threshold:80\ threshold:90\ threshold:95\ (full\ )?invalid$ ]]'
check_eq "evkeep: no event (its revert is the origin's)" "$(events_of evkeep)" ""
check_eq "evorg: revert-done" "$(events_of evorg)" "revert-done"
check_eq "evstop: stopped, then commit-done" "$(events_of evstop)" "stopped commit-done"

ovtext=$(cut -d' ' -f2- "$SB_TMP/monitor-ov.txt")
diag "monitor evov: $ovtext"
check_true "monitor DEV: only evov, with text lines" '
	[ "$(grep -vc " evov " "$SB_TMP/monitor-ov.txt")" = 0 ] &&
	[ "$(grep -c " evov " "$SB_TMP/monitor-ov.txt")" = 6 ] &&
	grep -q "^/dev/snapblk[0-9]* evov threshold used=80% state=active$" <<<"$ovtext"'

uev=$(awk -F= '/^SNAPBLK_EVENT=/ { e = $2 } /^SNAPBLK_NAME=/ { n = $2 }
	/^$/ { if (e != "") printf "%s:%s ", n, e; e = ""; n = "" }' "$udev_out")
diag "udevadm monitor: $uev"
check_true "udevadm monitor saw the same events in the same order" '
	want=$(python3 -c "
import json
print(\" \".join(\"%s:%s\" % (j[\"name\"], j[\"event\"]) for j in map(json.loads, open(\"$mon_json\"))))
	")
	[ "${uev% }" = "$want" ]'

sb_done
