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
#   crash_same SIZE DEV IMAGE WHAT  DEV reads like IMAGE (else which chunks differ)
#   crash_detach DEV...             detach what a point attached
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
CRASH_CHUNK=65536	# the chunk size crash_chunk_diff reports by
CRASH_DIFFED=		# crash_same showed a point's differences

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

# crash_chunk_diff DEV EXPECTED SIZE [NAME=IMAGE...]: which chunks
# ($CRASH_CHUNK bytes) of the first SIZE bytes of DEV differ from the
# image EXPECTED, and what their sectors hold instead: the data of a
# NAMEd image, zeroes, or other. Sectors that match an image named
# "right" count as right, as EXPECTED's do. Exit status 0 if no chunk
# differs.
crash_chunk_diff() {
	python3 - "$CRASH_CHUNK" "$@" <<-'EOF'
	import sys
	chunk, dev, exp, size = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
	names, imgs = zip(*(a.split('=', 1) for a in sys.argv[5:])) if sys.argv[5:] else ((), ())
	S = 512
	zero = bytes(S)
	files = [open(f, 'rb') for f in (dev, exp) + tuple(imgs)]
	bad = []
	for c in range(size // chunk):
	    a, b, *refs = [f.read(chunk) for f in files]
	    if a == b:
	        continue
	    n = {}
	    for k in range(0, chunk, S):
	        sa = a[k:k + S]
	        w = 'right' if sa == b[k:k + S] else next(
	            (names[j] for j in range(len(refs)) if sa == refs[j][k:k + S]),
	            'zeroes' if sa == zero else 'other')
	        n[w] = n.get(w, 0) + 1
	    if n.get('right', 0) != chunk // S:
	        bad.append((c, n))
	if not bad:
	    sys.exit(0)
	print('%d of %d chunks differ' % (len(bad), size // chunk))
	for c, n in bad[:10]:
	    print('  chunk %d (byte %d): sectors: %s' % (c, c * chunk,
	          ', '.join('%d %s' % (v, k) for k, v in n.items())))
	sys.exit(1)
	EOF
}

# crash_same SIZE DEV IMAGE WHAT [NAME=IMAGE...]: the first SIZE bytes of
# DEV read exactly like IMAGE; else say so, and which chunks differ
# (crash_chunk_diff) once per point (the test clears CRASH_DIFFED) at its
# first 3 failing points: that is slow under TCG
crash_same() {
	local size=$1 dev=$2 img=$3 what=$4

	shift 4
	"$PATTERN" cmp "$dev" "$img" 0 "$size" >/dev/null 2>&1 && return 0
	echo "$what does not read like $(basename "$img" .img)"
	[ -n "$CRASH_DIFFED" ] || [ "$nr_bad" -ge 3 ] && return 1
	CRASH_DIFFED=1
	crash_chunk_diff "$dev" "$img" "$size" "$@"
	return 1
}

# crash_detach DEV...: detach those of the devices that exist, the last
# first (name parents before their children); say what failed
crash_detach() {
	local i d rc=0

	for ((i = $#; i >= 1; i--)); do
		d=${!i}
		if [ -z "$d" ] || ! [ -e "/sys/block/${d#/dev/}" ]; then
			continue
		fi
		"$SNAPBLKCTL" detach "$d" || { echo "detach $d failed"; rc=1; }
		crash_wait_for test ! -e "/sys/block/${d#/dev/}" ||
			{ echo "$d still there after detach"; rc=1; }
	done
	return $rc
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
