# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# shellcheck disable=SC2034 # what it sets (CRASH_PARTS...) is for the tests
#
# lib-crash.sh - what the crash-consistency tests share. Source it after
# lib.sh.
#
# Where the order of writes across two devices matters (a parent and a
# store), both are dm-linear parts of ONE dm-log-writes device, so that
# the log records every write of both in the order the disk saw it:
#
#   crash_init                      sb_init, requirements, dm-log-writes
#   crash_log_devices LW DISK LOG NAME_A SECTORS_A NAME_B SECTORS_B
#   crash_mark NAME                 a mark in the log
#   crash_log_stop                  remove the three dm devices
#   crash_log_read LOG              $CRASH_LIST, $CRASH_FLUSHES, $CRASH_ENTRIES
#   crash_replay_init IMAGE SIZE_A SIZE_B
#   crash_replay_to INDEX           $CRASH_CURSOR holds entries 0..INDEX
#   crash_report RC DESC OUT INDEX  a crash point's KTAP line
#
# A test that logs one device only uses crash_log_read, crash_cursor_init
# and crash_replay_to, with its own set-up.
#
# After crash_replay_init, $CRASH_PARTS[0] and [1] are loop devices on
# the two parts of $CRASH_REPLAY, a copy of the cursor the test makes for
# each point (the loop driver reads through the file's page cache, so a
# new copy shows through them).

LOGREPLAY=$SB_DIR/logreplay
CRASH_LW=		# the dm-log-writes device
CRASH_DMS=()		# it and its two parts, in creation order
CRASH_SPLIT=0		# sectors of the first part
CRASH_LOG=		# the log, once crash_log_read has read it
CRASH_LIST=		# `logreplay list` of the log
CRASH_FLUSHES=		# `logreplay flushes` of the log
CRASH_ENTRIES=0		# entries in the log
CRASH_CURSOR=		# the image replayed up to entry $CRASH_REPLAYED
CRASH_REPLAYED=-1
CRASH_REPLAY=		# the copy of the cursor the parts show
CRASH_PARTS=()

# crash_init: the common start of a crash test; skips without
# dm-log-writes. After it, a failing command ends the test (set -e).
crash_init() {
	sb_init
	set -e	# after sb_init: some lib.sh internals end with a false test
	# shellcheck disable=SC2016 # expanded when the trap runs
	trap 'diag "line $LINENO: a command failed (exit $?)"' ERR
	require_snapblkctl
	require_cmd dmsetup blockdev losetup blkdiscard python3 timeout
	require_kmod loop
	[ -x "$LOGREPLAY" ] || sb_bail "$LOGREPLAY not built: run make -C selftests"
	modprobe dm-log-writes 2>/dev/null || true
	dmsetup targets 2>/dev/null | grep -q '^log-writes' ||
		sb_skip "dm-log-writes target not available"
}

# crash_wait_for CMD...: up to 5 s until CMD succeeds
crash_wait_for() {
	local i

	for ((i = 0; i < 50; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# crash_log_devices LW DISK LOG NAME_A SECTORS_A NAME_B SECTORS_B: the
# log-writes device LW over DISK, logging to LOG, and its parts NAME_A
# (the first SECTORS_A sectors) and NAME_B (the next SECTORS_B), all
# registered for the cleanup
crash_log_devices() {
	local d

	for d in "$1" "$4" "$6"; do
		dmsetup info "$d" >/dev/null 2>&1 &&
			sb_bail "device-mapper device $d already exists"
	done
	CRASH_LW=$1
	CRASH_SPLIT=$5
	_crash_dm "$1" "0 $(blockdev --getsz "$2") log-writes $2 $3"
	_crash_dm "$4" "0 $5 linear /dev/mapper/$1 0"
	_crash_dm "$6" "0 $7 linear /dev/mapper/$1 $5"
}

_crash_dm() { # _crash_dm NAME TABLE
	dmsetup create "$1" --table "$2" || sb_bail "dmsetup create $1 failed"
	sb_register_dm "$1"
	CRASH_DMS+=("$1")
	sb_wait_exists "/dev/mapper/$1" || sb_bail "/dev/mapper/$1 did not appear"
}

# crash_mark NAME: a mark in the log
crash_mark() {
	dmsetup message "$CRASH_LW" 0 mark "$1"
}

# crash_log_stop: remove the log-writes device and its parts, last first
crash_log_stop() {
	local i

	for ((i = ${#CRASH_DMS[@]} - 1; i >= 0; i--)); do
		dmsetup remove --retry "${CRASH_DMS[$i]}" >/dev/null ||
			sb_bail "dmsetup remove ${CRASH_DMS[$i]} failed"
	done
	CRASH_DMS=()
}

# crash_log_read LOG: list the entries and the flush/FUA entries of LOG
crash_log_read() {
	CRASH_LOG=$1
	CRASH_LIST=$SB_TMP/log.list
	CRASH_FLUSHES=$SB_TMP/log.flushes
	if ! "$LOGREPLAY" list "$1" >"$CRASH_LIST" 2>"$SB_TMP/log.err"; then
		diag_file "$SB_TMP/log.err"
		sb_bail "logreplay list failed"
	fi
	"$LOGREPLAY" flushes "$1" >"$CRASH_FLUSHES" || sb_bail "logreplay flushes failed"
	CRASH_ENTRIES=$(grep -vc '^#' "$CRASH_LIST")
}

# crash_mark_index NAME [AFTER]: entry index of the first mark NAME (after
# entry AFTER)
crash_mark_index() {
	awk -v m="$1" -v a="${2:--1}" '!/^#/ && $4 ~ /MARK/ && $5 == m && $1 > a {
			print $1; found = 1; exit }
		END { exit !found }' "$CRASH_LIST"
}

# crash_marks: the entry indexes of every mark
crash_marks() {
	awk '!/^#/ && $4 ~ /MARK/ { print $1 }' "$CRASH_LIST"
}

# crash_sample COUNT: up to COUNT evenly spaced lines of stdin
crash_sample() {
	awk -v n="$1" '{ a[NR] = $0 } END {
		if (NR <= n) { for (i = 1; i <= NR; i++) print a[i]; exit }
		for (i = 0; i < n; i++) print a[1 + int(i * NR / n)] }'
}

# crash_flushes_in A B: flush/FUA entries with A < index < B
crash_flushes_in() {
	awk -v a="$1" -v b="$2" '$1 > a && $1 < b' "$CRASH_FLUSHES"
}

# crash_plain_in A B PART: plain writes with A < index < B to the first
# (PART=0) or the second (PART=1) part of the log-writes device
crash_plain_in() {
	awk -v a="$1" -v b="$2" -v w="$3" -v o="$CRASH_SPLIT" '!/^#/ && $1 > a && $1 < b &&
		$4 == "-" && $3 > 0 && ((w == 0) == ($2 < o)) { print $1 }' "$CRASH_LIST"
}

# crash_cursor_init IMAGE: the cursor starts as IMAGE (the logged device
# before logging began)
crash_cursor_init() {
	CRASH_CURSOR=$SB_TMP/cursor.img
	CRASH_REPLAYED=-1
	cp --sparse=always "$1" "$CRASH_CURSOR" || sb_bail "cannot copy $1"
}

# crash_replay_init IMAGE SIZE_A SIZE_B: the cursor and the replay copy
# start as IMAGE; loop devices on the two parts of the copy, of SIZE_A
# and SIZE_B bytes
crash_replay_init() {
	local off d

	crash_cursor_init "$1"
	CRASH_REPLAY=$SB_TMP/replay.img
	cp --sparse=always "$1" "$CRASH_REPLAY" || sb_bail "cannot copy $1"
	for off in "0 $2" "$2 $3"; do
		# shellcheck disable=SC2086 # two numbers
		set -- $off
		d=$(losetup --show -f --offset "$1" --sizelimit "$2" "$CRASH_REPLAY") ||
			sb_bail "losetup --offset $1 --sizelimit $2 $CRASH_REPLAY failed"
		_sb_reg loop "$d"
		CRASH_PARTS+=("$d")
	done
}

# crash_replay_to INDEX: bring the cursor to the state after entry INDEX
# (forward only)
crash_replay_to() {
	[ "$1" -gt "$CRASH_REPLAYED" ] || return 0
	"$LOGREPLAY" replay "$CRASH_LOG" "$CRASH_CURSOR" \
		--start-entry $((CRASH_REPLAYED + 1)) --until-entry "$1" >/dev/null || return 1
	CRASH_REPLAYED=$1
}

# crash_report RC DESC OUT INDEX: the KTAP line of a crash point; on
# failure also its output file OUT and the log around entry INDEX.
# Counts failures in nr_bad.
crash_report() {
	if [ "$1" -eq 0 ]; then
		sb_ok "$2"
		return 0
	fi
	nr_bad=$((nr_bad + 1))
	sb_notok "$2"
	diag_file "$3" "  "
	diag "  log around entry $4:"
	awk -v i="$4" '!/^#/ && $1 >= i - 4 && $1 <= i + 1' "$CRASH_LIST" |
		sed 's/^/    /' | while IFS= read -r l; do diag "$l"; done
	return 1
}
