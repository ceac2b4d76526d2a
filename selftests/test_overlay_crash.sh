#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_crash - crash consistency of an overlay's store (SPEC 4):
# writes acknowledged before a completed flush survive a power cut, and a
# crash at any instant leaves a store that attaches and shows, for every
# sector, either old or new data.
#
# The overlay's store sits under a dm-log-writes target, which logs every
# write that reached stable storage, in that order. The workload, after
# a mark "overlay-made" (before it, `snapblkctl overlay` was formatting
# the store and nothing is promised):
#   1. crashio: random self-describing writes (512 B .. 128 KiB, many
#      unaligned, many across 64 KiB chunk boundaries) and some zeroings
#      (BLKZEROOUT); every 8 of them a durable point (fsync, or for half
#      of them a last write with O_DSYNC: REQ_FUA + flush) and a log mark
#      "fsync-N" after it;
#   2. ext4: mkfs, mount, files, sync (marks ext4-mkfs, ext4-sync,
#      ext4-sync2), umount (ext4-umount).
# Then the log is replayed (selftests/logreplay) onto a zeroed image of
# the store's size - the store started zeroed, so a replayed prefix is
# exactly what a power cut at that entry leaves - and checked at every
# mark, at a sample of flush/FUA entries and of plain entries in between
# (a crash in the middle of a batch), and at the end of the log. At each
# point a copy of the image on its own loop device must attach on the
# base, and:
#   - crashio phase: `crashio verify`: every sector holds the base's data
#     or what an operation that covered it left there, and what every
#     operation made durable by the last fsync before the point left is
#     there (or what a later one left);
#   - ext4 phase: mount and umount (journal recovery), `e2fsck -fn`
#     clean, and after a sync mark the files have the checksums taken
#     after that sync;
#   - while mkfs runs: attach only.
#
# Every mark and the end of the log are always checked; a sampled point
# is skipped (reported as SKIP) when, at the pace so far, checking it
# and the marks still to come would take the test past
# SNAPBLK_CRASH_BUDGET seconds (default 240), so that a slow, loaded host
# stays within the runner's timeout. SNAPBLK_CRASH_OPS (crashio
# operations, default 120), SNAPBLK_CRASH_SEED, and SNAPBLK_CRASH_FLUSHES
# / _MID / _MKFS / _EXT4 (points sampled, see below) make a longer run.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-crash.sh"
set -u

CRASHIO=$SB_DIR/crashio
DM=sbcrash_lw
BASE_SIZE=$((32 * MiB))
STORE_SIZE=$((32 * MiB))
LOG_SIZE=$((256 * MiB))
CRASHIO_OPS=${SNAPBLK_CRASH_OPS:-120}
CRASHIO_SEED=${SNAPBLK_CRASH_SEED:-20240611}
CRASHIO_SPAN=$((12 * MiB))
# how many entries of each kind are checked besides the marks
# (each point costs a few seconds under TCG; the defaults keep the test
# within about 3 minutes, the variables allow a longer run)
SAMPLE_FLUSH=${SNAPBLK_CRASH_FLUSHES:-5}	# crashio phase, flush/FUA entries
SAMPLE_MID=${SNAPBLK_CRASH_MID:-3}		# crashio phase, plain entries
SAMPLE_MKFS=${SNAPBLK_CRASH_MKFS:-1}		# during mkfs (attach only)
SAMPLE_EXT4=${SNAPBLK_CRASH_EXT4:-3}		# ext4 phase, flush/FUA entries
BUDGET=${SNAPBLK_CRASH_BUDGET:-240}

dm_made=
ov=
pdev=
ploop=
mnt=
pmnt=

# shellcheck disable=SC2317 # called by the EXIT trap
crash_cleanup() {
	local rc=$?

	set +e
	for m in "$pmnt" "$mnt"; do
		[ -n "$m" ] && mountpoint -q "$m" && umount "$m"
	done
	for d in "$pdev" "$ov"; do
		[ -n "$d" ] && [ -e "/sys/block/$(sb_kname "$d")" ] &&
			"$SNAPBLKCTL" detach "$d" >/dev/null 2>&1
	done
	[ -n "$ploop" ] && losetup -d "$ploop"
	if [ -n "$dm_made" ] && dmsetup info "$DM" >/dev/null 2>&1; then
		dmsetup remove "$DM" || diag "cleanup: dmsetup remove $DM failed"
	fi
	(exit "$rc")
	sb_cleanup
}

sb_init
set -e	# after sb_init: some lib.sh internals end with a false test
trap crash_cleanup EXIT
trap 'diag "line $LINENO: a command failed (exit $?)"' ERR
require_snapblkctl
require_cmd dmsetup blockdev losetup mkfs.ext4 e2fsck sha256sum mountpoint
require_kmod loop
if ! [ -x "$CRASHIO" ] || ! [ -x "$LOGREPLAY" ]; then
	sb_bail "$CRASHIO or $LOGREPLAY not built: run make -C selftests"
fi
modprobe dm-log-writes 2>/dev/null || true
dmsetup targets 2>/dev/null | grep -q '^log-writes' ||
	sb_skip "dm-log-writes target not available"
dmsetup info "$DM" >/dev/null 2>&1 && sb_bail "device-mapper device $DM already exists"

t_start=$EPOCHSECONDS
basef=$(sb_file base.img $BASE_SIZE 11) || sb_bail "cannot create the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $STORE_SIZE)") || sb_bail "losetup failed"
log=$(sb_loop "$(sb_file log.img $LOG_SIZE)") || sb_bail "losetup failed"
journal=$SB_TMP/crashio.journal
mnt=$SB_TMP/mnt
pmnt=$SB_TMP/pmnt
mkdir -p "$mnt" "$pmnt"

dmsetup create "$DM" --table "0 $(blockdev --getsz "$store") log-writes $store $log" ||
	sb_bail "dmsetup create $DM failed"
dm_made=1
sb_overlay "$base" "/dev/mapper/$DM" || sb_bail "snapblkctl overlay on /dev/mapper/$DM failed"
ov=$SB_DEV
# before this mark the store was being formatted: no promise yet
dmsetup message "$DM" 0 mark overlay-made || sb_bail "dmsetup message $DM failed"
diag "overlay $ov: base $base, store /dev/mapper/$DM ($store, logged to $log)"

# ------------------------------------------------------------ workload

dm_mark() {
	dmsetup message "$DM" 0 mark "$1"
}

desc="crashio: $CRASHIO_OPS writes and zeroings, a durable point and a mark every 8"
if "$CRASHIO" write "$ov" --seed "$CRASHIO_SEED" --ops "$CRASHIO_OPS" --max-len 128K \
	--zero-pct 10 --dsync-pct 50 --span $CRASHIO_SPAN --fsync-every 8 \
	--journal "$journal" --mark-dm "$DM" >"$SB_TMP/crashio.out" 2>&1; then
	sb_ok "$desc"
	diag_file "$SB_TMP/crashio.out"
else
	sb_notok "$desc"
	diag_file "$SB_TMP/crashio.out"
	sb_bail "the workload failed"
fi

# the files of the ext4 phase: a few large, many small
ext4_files() {
	local i

	mkdir -p "$mnt/d/e" || return 1
	for i in 1 2 3 4 5; do
		head -c $((i * 151 * KiB + i * 777)) /dev/urandom >"$mnt/f$i" || return 1
	done
	for ((i = 1; i <= 40; i++)); do
		echo "small file $i $RANDOM" >"$mnt/d/s$i" || return 1
	done
	head -c $((300 * KiB)) /dev/urandom >"$mnt/d/e/big"
}

# the changes after the first sync: overwrite, append, delete, rename
ext4_changes() {
	dd if=/dev/urandom of="$mnt/f2" bs=4096 seek=7 count=9 conv=notrunc status=none &&
	head -c $((40 * KiB + 3)) /dev/urandom >>"$mnt/f3" &&
	rm "$mnt/f4" "$mnt/d/s7" &&
	mv "$mnt/d/s9" "$mnt/d/e/moved" &&
	head -c $((200 * KiB)) /dev/urandom >"$mnt/f6"
}

sums() { # sums DIR: checksums of the files under DIR
	(cd "$1" && find . -type f ! -path './lost+found/*' -print0 | sort -z |
		xargs -0 sha256sum)
}

ext4_phase() {
	mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 "$ov" || return 1
	dm_mark ext4-mkfs || return 1
	sb_mount "$ov" "$mnt" || return 1
	ext4_files || return 1
	sync || return 1
	sums "$mnt" >"$SB_TMP/sums-sync" || return 1
	dm_mark ext4-sync || return 1
	ext4_changes || return 1
	sync || return 1
	sums "$mnt" >"$SB_TMP/sums-sync2" || return 1
	dm_mark ext4-sync2 || return 1
	umount "$mnt" || return 1
	dm_mark ext4-umount
}

if ext4_phase >"$SB_TMP/ext4.out" 2>&1; then
	sb_ok "ext4: mkfs, files, sync, changes, sync, umount"
else
	sb_notok "ext4: mkfs, files, sync, changes, sync, umount"
	diag_file "$SB_TMP/ext4.out"
	sb_bail "the workload failed"
fi
diag "store used: $(sb_sysfs "$ov" store_used) of $(sb_sysfs "$ov" store_size) bytes"
check "the base was never written" sb_verify "$base" 11 0 $BASE_SIZE || true
sb_detach "$ov" || sb_bail "detach $ov failed"
ov=
dmsetup remove "$DM" || sb_bail "dmsetup remove $DM failed"
dm_made=
t_work=$EPOCHSECONDS

# ----------------------------------------------------------- the log

crash_log_read "$log"
nr_entries=$CRASH_ENTRIES
diag "log: $nr_entries entries, $(wc -l <"$CRASH_FLUSHES") with FLUSH or FUA," \
	"$(grep -c ' MARK ' "$CRASH_LIST") marks"

nr_fsyncs=$(grep -c '^f ' "$journal")
i_made=$(crash_mark_index overlay-made) || sb_bail "no mark overlay-made in the log"
i_mkfs=$(crash_mark_index ext4-mkfs) || sb_bail "no mark ext4-mkfs in the log"
i_last=$(crash_mark_index "fsync-$nr_fsyncs") || sb_bail "no mark fsync-$nr_fsyncs in the log"
i_umount=$(crash_mark_index ext4-umount) || sb_bail "no mark ext4-umount in the log"

# points: "INDEX WHY KIND ARGS"; WHY is m (a mark or the end: always
# checked) or s (sampled); KIND one of crashio (ARGS: durable-mark
# max-mark, "-" for none), ext4 (ARGS: checksum file or "-"), attach
points=$SB_TMP/points
: >"$points"
for ((n = 1; n <= nr_fsyncs; n++)); do
	i=$(crash_mark_index "fsync-$n") || sb_bail "no mark fsync-$n in the log"
	echo "$i m crashio fsync-$n fsync-$n" >>"$points"
done

# the marks around entry i: the last fsync-N before it, the first after
crashio_between() {
	awk -v i="$1" '!/^#/ && $4 ~ /MARK/ && $5 ~ /^fsync-/ {
			if ($1 < i) lo = $5; else if (!hi) hi = $5 }
		END { print (lo ? lo : "-"), (hi ? hi : "-") }' "$CRASH_LIST"
}

echo "$i_made m crashio - -" >>"$points"
for i in $(awk -v a="$i_made" -v b="$i_last" '$1 > a && $1 < b' "$CRASH_FLUSHES" |
	crash_sample "$SAMPLE_FLUSH"); do
	echo "$i s crashio $(crashio_between "$i")" >>"$points"
done
for i in $(awk -v a="$i_made" -v b="$i_last" '!/^#/ && $1 > a && $1 < b && $4 == "-" { print $1 }' "$CRASH_LIST" |
	crash_sample "$SAMPLE_MID"); do
	echo "$i s crashio $(crashio_between "$i")" >>"$points"
done
for i in $(awk -v a="$i_last" -v b="$i_mkfs" '$1 > a && $1 < b' "$CRASH_FLUSHES" |
	crash_sample "$SAMPLE_MKFS"); do
	echo "$i s attach" >>"$points"
done
echo "$i_mkfs m ext4 -" >>"$points"
for i in $(awk -v a="$i_mkfs" -v b="$i_umount" '$1 > a && $1 < b' "$CRASH_FLUSHES" |
	crash_sample "$SAMPLE_EXT4"); do
	echo "$i s ext4 -" >>"$points"
done
i_sync=$(crash_mark_index ext4-sync) || sb_bail "no mark ext4-sync in the log"
i_sync2=$(crash_mark_index ext4-sync2) || sb_bail "no mark ext4-sync2 in the log"
{
	echo "$i_sync m ext4 $SB_TMP/sums-sync"
	echo "$i_sync2 m ext4 $SB_TMP/sums-sync2"
	echo "$i_umount m ext4 $SB_TMP/sums-sync2"
	echo "$((nr_entries - 1)) m ext4 $SB_TMP/sums-sync2"
} >>"$points"
# in log order, one line per entry (a mark wins)
sort -k1,1n -k2,2 "$points" | awk '!seen[$1]++' >"$points.sorted"

# ------------------------------------------------------------ checks

truncate -s $STORE_SIZE "$SB_TMP/empty.img"
crash_cursor_init "$SB_TMP/empty.img"	# the store replayed
replayf=$SB_TMP/replay.img
out=$SB_TMP/point.out

check_crashio() { # DEV DURABLE-MARK MAX-MARK
	local args=()

	[ "$2" != - ] && args+=(--upto-mark "$2")
	[ "$3" != - ] && args+=(--max-mark "$3")
	"$CRASHIO" verify "$1" --base "$base" --journal "$journal" "${args[@]}"
}

check_ext4() { # DEV SUMS
	mount "$1" "$pmnt" || { echo "mount failed"; return 1; }
	if [ "$2" != - ] && ! (cd "$pmnt" && sha256sum --quiet -c "$2"); then
		umount "$pmnt"
		echo "files differ from the checksums taken after the sync"
		return 1
	fi
	umount "$pmnt" || return 1
	e2fsck -fn "$1" || { echo "e2fsck -fn: not clean"; return 1; }
}

# wait_for CMD...: up to 5 s until CMD (a builtin, ideally) succeeds
fifo=$SB_TMP/fifo
mkfifo "$fifo"
wait_for() {
	local i

	for ((i = 0; i < 50; i++)); do
		"$@" && return 0
		# sleep 0.1 s without a process: nobody writes to the fifo
		read -r -t 0.1 <>"$fifo" || true
	done
	return 1
}

# attach_replay: attach the store copy on $ploop; sets pdev. (Few
# processes: under TCG each one costs.)
attach_replay() {
	local err=$SB_TMP/attach.err

	pdev=$("$SNAPBLKCTL" attach "$ploop" --base "$base" 2>"$err") || pdev=
	if ! [[ $pdev =~ ^/dev/snapblk[0-9]+$ ]] || ! wait_for test -b "$pdev"; then
		echo "the replayed store does not attach: snapblkctl attach $ploop --base $base:"
		echo "stdout: $pdev"
		echo "stderr: $(cat "$err")"
		pdev=
		return 1
	fi
}

detach_replay() {
	local k=${pdev#/dev/}

	"$SNAPBLKCTL" detach "$pdev" || return 1
	pdev=
	wait_for test ! -e "/sys/block/$k"
}

# check_point INDEX KIND ARGS...: replay, attach, check, detach
check_point() {
	local idx=$1 kind=$2 rc=0

	shift 2
	crash_replay_to "$idx" || return 1
	cp --sparse=always "$CRASH_CURSOR" "$replayf" || return 1
	# not sb_loop: this loop device goes away before the end
	ploop=$(losetup --show -f "$replayf") || return 1
	if attach_replay; then
		case $kind in
		crashio) check_crashio "$pdev" "$@" || rc=1 ;;
		ext4) check_ext4 "$pdev" "$@" || rc=1 ;;
		esac
		detach_replay || { echo "detach $pdev failed"; rc=1; }
	else
		rc=1
	fi
	losetup -d "$ploop" || rc=1
	ploop=
	rm -f "$replayf"
	return $rc
}

# now_ms: NOW_MS = milliseconds since the epoch (no subshell)
now_ms() {
	local t=${EPOCHREALTIME/./}

	NOW_MS=$((t / 1000))
}

# over_budget: checking one more point and then the marks left
# (marks_left), at the average pace so far, would end past the budget
over_budget() {
	local pace

	[ "$nr_points" -gt 0 ] || return 1
	now_ms
	pace=$(((NOW_MS - t_checks) / nr_points))
	[ $((NOW_MS - t_start * 1000 + (marks_left + 1) * pace)) -gt $((BUDGET * 1000)) ]
}

declare -A n_kind=() ms_kind=()
nr_points=0 nr_bad=0 nr_skipped=0
marks_left=$(grep -c '^[0-9]* m ' "$points.sorted")
now_ms
t_checks=$NOW_MS
while read -r idx why kind args; do
	desc="entry $idx: $kind${args:+ $args}"
	desc=${desc//$SB_TMP\//}
	if [ "$why" = m ]; then
		marks_left=$((marks_left - 1))
	elif over_budget; then
		sb_skip_one "$desc" "time budget (SNAPBLK_CRASH_BUDGET=$BUDGET s)"
		nr_skipped=$((nr_skipped + 1))
		continue
	fi
	nr_points=$((nr_points + 1))
	n_kind[$kind]=$((${n_kind[$kind]:-0} + 1))
	now_ms
	t0=$NOW_MS
	rc=0
	# shellcheck disable=SC2086 # args are words
	check_point "$idx" "$kind" $args </dev/null >"$out" 2>&1 || rc=1
	crash_report $rc "$desc" "$out" "$idx" || true
	now_ms
	ms_kind[$kind]=$((${ms_kind[$kind]:-0} + NOW_MS - t0))
done <"$points.sorted"

t_end=$EPOCHSECONDS
diag "$nr_points crash points checked, $nr_bad failed, $nr_skipped skipped;" \
	"workload $((t_work - t_start))s, checks $((t_end - t_work))s (guest clock)"
for kind in "${!n_kind[@]}"; do
	diag "  $kind: ${n_kind[$kind]} points, $((ms_kind[$kind] / 1000))s"
done
sb_done
