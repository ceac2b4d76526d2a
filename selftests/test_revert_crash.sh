#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_revert_crash - crash consistency of `snapblkctl revert` (SPEC 3-4):
# a revert that a power cut interrupts at any instant resumes on attach,
# the origin shows the snapshot at every instant once the revert is
# recorded, the other snapshot keeps its moment, and before the revert
# is recorded nothing of the origin has changed.
#
# The order between the two devices matters, so the origin disk and the
# store are two dm-linear parts of ONE dm-log-writes device (sbrc_lw over
# a loop device, logged to a second loop device): sbrc_disk (16 MiB with
# a pattern, written before logging starts) and sbrc_store (zeroes). The
# workload, with log marks:
#   snapblkctl origin sbrc_disk -> O                           origin-made
#   snapshot s1 of O on sbrc_store (its moment: the starting image)
#                                                              s1-made
#   writes A on O: dd oflag=direct of mixed sizes (1 MiB, 4 KiB, 512 B,
#     partial chunks), a zeroing (blkdiscard -z), none overlapping
#     another; fsync; O saved as s2's moment                   pre-s2
#   snapshot s2 of O in the same store                         s2-made
#   writes B on O (the same kinds; some over A's, some new); fsync; O
#     saved as the pre-revert image                            synced
#                                                              revert-start
#   snapblkctl revert s1 --wait (O shows s1 at once; a worker copies s1's
#     chunks back in batches: copy-outs of O's data for s2, the data,
#     a flush, DONE marks in the store, a commit; then s1 is deleted)
#                                                              revert-done
#   detach s2 and O, remove the dm devices.
# Then prefixes of the log are replayed onto a copy of the starting image
# at every mark, at the last entry, at a sample of flush/FUA entries and
# of plain entries (disk and store writes) between revert-start and
# revert-done, at a couple of flushes during the writes and after
# revert-done. At each point the image is split again into its disk and
# store parts (two loop devices with --offset/--sizelimit), the disk part
# is wrapped with `snapblkctl origin`, and `snapblkctl attach STOREPART
# --origin ORIG` must succeed (before s1-made it may fail cleanly: the
# store was being formatted). The snapshots it brings back are known by
# their names (sysfs), s1's state is read at once. Then:
#   - before revert-start: s1 (from s1-made) and s2 (from s2-made) are
#     back and read exactly like their moments; the origin reads like the
#     starting image before s1-made, like s2's moment from pre-s2 to
#     s2-made, like the pre-revert image from synced on, and during the
#     writes every sector holds the data before or after them;
#   - from revert-start on: s2 is back and reads like its moment.
#     Before attach, storetool.py reads the replayed store's superblock:
#     s1 with its REVERTING flag (the revert is recorded), s1 without it
#     (not recorded: allowed only until the first point where it was
#     recorded, and never from revert-done on), or no s1 (the revert had
#     ended). attach must agree: s1 back in state `reverting` (or gone by
#     itself at once: the resumed revert ended), s1 back `active`, or no
#     s1. Recorded or ended: right after attach the origin already reads
#     exactly like s1's moment. Not recorded: the origin reads like the
#     pre-revert image, s1 like its moment;
#   - `snapblkctl wait ORIG` exits 0; after it the origin and s2 read
#     the same as before it, and a recorded revert has removed s1;
#   - after detaching everything the disk part reads like the origin did.
# On a data mismatch it lists the chunks that differ and what they hold
# (at the first 3 failing points: that is slow under TCG).
#
# Tunables (environment): SNAPBLK_CRASH_FLUSHES (flush/FUA entries
# sampled during the revert, default 12), SNAPBLK_CRASH_MID (plain
# entries sampled, default 6).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-crash.sh"
set -u

DM=sbrc_lw
DM_DISK=sbrc_disk
DM_STORE=sbrc_store
DISK_SIZE=$((16 * MiB))
STORE_SIZE=$((24 * MiB))
LOG_SIZE=$((256 * MiB))
DISK_SECT=$((DISK_SIZE / 512))
STORE_SECT=$((STORE_SIZE / 512))
CHUNK=$((64 * KiB))
SAMPLE_FLUSH=${SNAPBLK_CRASH_FLUSHES:-12}	# flush/FUA entries during the revert
SAMPLE_MID=${SNAPBLK_CRASH_MID:-6}		# plain entries during the revert
SAMPLE_WRITES=2					# flush/FUA entries during writes A and B
SAMPLE_AFTER=1					# flush/FUA entries after revert-done

rorigin=	# the origin of the current point
snaps=()	# the snapshots attach brought back at the current point

crash_init

t_start=$SECONDS
# the starting image: the disk area holds a pattern, the store area zeroes
startf=$(sb_file start.img $DISK_SIZE 41) || sb_bail "cannot create the starting image"
truncate -s $((DISK_SIZE + STORE_SIZE)) "$startf"
cp --sparse=always "$startf" "$SB_TMP/disk.img" || sb_bail "cannot copy the starting image"
disk=$(sb_loop "$SB_TMP/disk.img") || sb_bail "losetup failed"
logf=$(sb_file log.img $LOG_SIZE) || sb_bail "cannot create the log file"
log=$(sb_loop "$logf") || sb_bail "losetup failed"
srca=$(sb_file srca.img $((4 * MiB)) 42) || sb_bail "cannot create the source of the writes"
srcb=$(sb_file srcb.img $((4 * MiB)) 43) || sb_bail "cannot create the source of the writes"
m1=$SB_TMP/m1.img	# the moment of s1
m2=$SB_TMP/m2.img	# the moment of s2
pre=$SB_TMP/pre.img	# the origin before the revert

crash_log_devices $DM "$disk" "$log" $DM_DISK $DISK_SECT $DM_STORE $STORE_SECT

# ------------------------------------------------------------ workload

# ddw SRC SKIP SEEK COUNT BS: copy COUNT blocks of BS bytes from SRC at
# block SKIP to the origin at block SEEK, with O_DIRECT
# shellcheck disable=SC2317 # this and the next functions run through phase()
ddw() {
	dd if="$1" of="$origin" bs="$5" skip="$2" seek="$3" count="$4" \
		oflag=direct conv=notrunc status=none
}

# the writes of one phase; within a phase none overlaps another, so that
# every sector of the origin holds the data before or after the phase
# shellcheck disable=SC2317
writes_a() {
	ddw "$srca" 0 2 3 1M &&					# 3 MiB of whole chunks
	ddw "$srca" 300 $(((8 * MiB + 20 * KiB) / 4096)) 30 4K &&	# 120 KiB over a boundary
	ddw "$srca" 9 $((11 * MiB / 512 + 3)) 5 512 &&		# 2.5 KiB at an odd sector
	blkdiscard -z -o $((12 * MiB + 4 * KiB)) -l $((72 * KiB)) "$origin" &&
	ddw "$srca" 50 $((14 * MiB / CHUNK + 1)) 4 64K &&		# 256 KiB, chunk-aligned
	sync_origin
}

# shellcheck disable=SC2317
writes_b() {
	ddw "$srcb" 1 3 1 1M &&					# over A's 3 MiB
	ddw "$srcb" 70 $((6 * MiB / CHUNK)) 16 64K &&		# 1 MiB of new chunks
	ddw "$srcb" 900 $(((10 * MiB + 8 * KiB) / 4096)) 3 4K &&	# 12 KiB inside a chunk
	ddw "$srcb" 5 $(((13 * MiB + 1536) / 512)) 11 512 &&	# 5.5 KiB at an odd sector
	ddw "$srcb" 123 $(((8 * MiB + 200 * KiB) / 4096)) 2 4K &&	# near A's 120 KiB
	sync_origin
}

# shellcheck disable=SC2317
sync_origin() {
	dd if=/dev/null of="$origin" conv=notrunc,fsync status=none && sync
}

# phase DESC FUNCTION: one phase of writes as a KTAP line
phase() {
	if "$2" >"$SB_TMP/writes.out" 2>&1; then
		sb_ok "$1"
	else
		sb_notok "$1"
		diag_file "$SB_TMP/writes.out"
		sb_bail "the workload failed"
	fi
}

save() {
	dd if="$origin" of="$1" bs=1M iflag=direct status=none || sb_bail "cannot read $origin"
}

sb_origin /dev/mapper/$DM_DISK --name sbrc_o || sb_bail "snapblkctl origin /dev/mapper/$DM_DISK failed"
origin=$SB_DEV
crash_mark origin-made
save "$m1"
check "origin $origin reads like the starting image" \
	"$PATTERN" cmp "$origin" "$startf" 0 $DISK_SIZE
sb_snapshot "$origin" /dev/mapper/$DM_STORE --name sbrc_s1 ||
	sb_bail "snapblkctl snapshot $origin /dev/mapper/$DM_STORE failed"
s1=$SB_DEV
crash_mark s1-made
diag "origin $origin on /dev/mapper/$DM_DISK, snapshot s1 $s1 on /dev/mapper/$DM_STORE;" \
	"both on /dev/mapper/$DM ($disk, logged to $log)"

phase "writes A on the origin (dd of mixed sizes, a zeroing), fsync" writes_a
save "$m2"
crash_mark pre-s2
sb_snapshot "$origin" /dev/mapper/$DM_STORE --name sbrc_s2 ||
	sb_bail "snapblkctl snapshot $origin /dev/mapper/$DM_STORE (the second) failed"
s2=$SB_DEV
crash_mark s2-made
diag "snapshot s2 $s2 in the same store"
phase "writes B on the origin (dd of mixed sizes), fsync" writes_b
save "$pre"
crash_mark synced
diag "store used before the revert: $(sb_sysfs "$s1" store_used) of $(sb_sysfs "$s1" store_size) bytes"
for f in "$m2" "$pre"; do
	"$PATTERN" cmp "$f" "$m1" 0 $DISK_SIZE >/dev/null 2>&1 &&
		sb_bail "$(basename "$f") equals the starting image: the writes did nothing"
done
check "live: s1 reads like its moment" "$PATTERN" cmp "$s1" "$m1" 0 $DISK_SIZE || true
check "live: s2 reads like its moment" "$PATTERN" cmp "$s2" "$m2" 0 $DISK_SIZE || true

crash_mark revert-start
t0=$SECONDS
check "live: snapblkctl revert $s1 --wait" "$SNAPBLKCTL" revert "$s1" --wait ||
	sb_bail "the revert failed"
crash_mark revert-done
diag "the revert took $((SECONDS - t0))s"
check "live: s1 is gone" crash_wait_for test ! -e "/sys/block/${s1#/dev/}" || true
check "live: the origin reads like s1's moment" "$PATTERN" cmp "$origin" "$m1" 0 $DISK_SIZE || true
check "live: s2 reads like its moment" "$PATTERN" cmp "$s2" "$m2" 0 $DISK_SIZE || true
for d in "$s2" "$origin"; do
	sb_detach "$d" || sb_bail "detach $d failed"
done
check "live: the disk reads like s1's moment" \
	"$PATTERN" cmp /dev/mapper/$DM_DISK "$m1" 0 $DISK_SIZE || true
crash_log_stop
# the log is read from its file from now on: faster than through the loop
# device, and the loop driver wrote it through the file's page cache
log=$logf
t_work=$SECONDS

# ----------------------------------------------------------- the log

crash_log_read "$log"
nr_entries=$CRASH_ENTRIES

i_omade=$(crash_mark_index origin-made) || sb_bail "no mark origin-made in the log"
i_s1=$(crash_mark_index s1-made) || sb_bail "no mark s1-made in the log"
i_pre2=$(crash_mark_index pre-s2) || sb_bail "no mark pre-s2 in the log"
i_s2=$(crash_mark_index s2-made) || sb_bail "no mark s2-made in the log"
i_sync=$(crash_mark_index synced) || sb_bail "no mark synced in the log"
i_rs=$(crash_mark_index revert-start) || sb_bail "no mark revert-start in the log"
i_rd=$(crash_mark_index revert-done) || sb_bail "no mark revert-done in the log"
i_last=$((nr_entries - 1))

diag "log: $nr_entries entries, $(wc -l <"$CRASH_FLUSHES") with FLUSH or FUA" \
	"($(crash_flushes_in "$i_rs" "$i_rd" | wc -l) during the revert)," \
	"$(crash_plain_in "$i_rs" "$i_rd" 0 | wc -l) plain writes to the disk during the revert"

# describe: for each entry index on stdin, "INDEX WHAT KIND": WHAT the
# entry (mark_NAME, FLUSH, write_to_disk...), KIND the phase it is in:
# pre (before s1-made), a (writes A), pre2 (s2 being made), b (writes
# B), synced, revert (from revert-start), done (from revert-done)
describe() {
	awk -v s1="$i_s1" -v p2="$i_pre2" -v s2="$i_s2" -v sy="$i_sync" -v rs="$i_rs" \
		-v rd="$i_rd" -v o=$DISK_SECT '
	NR == FNR {
		if (/^#/)
			next
		if ($4 ~ /MARK/)
			what[$1] = "mark_" $5
		else
			what[$1] = ($4 == "-" ? "write" : $4) ($3 == 0 ? "" : $2 < o ? "_to_disk" : "_to_store")
		next
	}
	{
		i = $1
		k = i < s1 ? "pre" : i < p2 ? "a" : i < s2 ? "pre2" : i < sy ? "b" : \
			i < rs ? "synced" : i < rd ? "revert" : "done"
		print i, what[i], k
	}' "$CRASH_LIST" -
}

points=$SB_TMP/points
{
	# every mark and the last entry
	crash_marks
	echo $i_last
	{ crash_flushes_in "$i_s1" "$i_pre2"; crash_flushes_in "$i_s2" "$i_sync"; } | crash_sample $SAMPLE_WRITES
	crash_flushes_in "$i_rs" "$i_rd" | crash_sample "$SAMPLE_FLUSH"
	crash_plain_in "$i_rs" "$i_rd" 0 | crash_sample $((SAMPLE_MID / 2))
	crash_plain_in "$i_rs" "$i_rd" 1 | crash_sample $((SAMPLE_MID - SAMPLE_MID / 2))
	crash_flushes_in "$i_rd" $((i_last + 1)) | crash_sample $SAMPLE_AFTER
} | sort -n -u | awk -v a="$i_omade" '$1 >= a' | describe >"$points"

# ------------------------------------------------------------ checks

crash_replay_init "$startf" $DISK_SIZE $STORE_SIZE
rdisk_part=${CRASH_PARTS[0]}
rstore_part=${CRASH_PARTS[1]}

# same DEV IMAGE WHAT: DEV reads exactly like IMAGE (crash_same)
same() {
	crash_same $DISK_SIZE "$@" "s1's moment=$m1" "s2's moment=$m2" \
		"the pre-revert image=$pre"
}

# old_or_new DEV OLD NEW WHAT: every sector of DEV holds OLD's or NEW's data
old_or_new() {
	crash_chunk_diff "$1" "$2" $DISK_SIZE "right=$3" "s1's moment=$m1" "s2's moment=$m2" \
		"the pre-revert image=$pre" >"$SB_TMP/diff.out" && return 0
	echo "$4: sectors that hold neither $(basename "$2" .img) nor $(basename "$3" .img)"
	cat "$SB_TMP/diff.out"
	return 1
}

# store_snaps: "NAME FLAGS" for each live snapshot in the current
# superblock of the replayed store (SNAPBLK_SNAP_* flags: 1 live, 8
# reverting), read with storetool from a copy of its two first blocks
store_snaps() {
	dd if="$CRASH_CURSOR" of="$SB_TMP/sb.img" bs=4K skip=$((DISK_SIZE / 4096)) count=2 \
		status=none || return 1
	python3 - "$SB_DIR" "$SB_TMP/sb.img" <<-'EOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import storetool as t
	st = t.open_store(sys.argv[2], layout='snapshot')
	if st.current_sb() is None:
	    sys.exit(0)
	for s in range(t.MAX_SNAPS):
	    flags = st.sbval('snap%d.flags' % s)
	    if flags & 1:
	        name = bytes(st.sbval('snap%d.name' % s)).rstrip(b'\0')
	        print(name.decode(errors='replace'), flags)
	EOF
}

recorded_seen=	# the first point where the store held the revert (or its end)
result=		# what the current point showed, for its KTAP line
nr_bad=0	# failed points so far
declare -A snap_dev=()	# name -> the device attach brought back

# point_run INDEX KIND: replay, build, attach, check
point_run() {
	local idx=$1 kind=$2 rc=0 arc=0 err=$SB_TMP/attach.err werr=$SB_TMP/wait.err
	local d k name st lines s1st='' recorded='' exp_orig rec='' f

	crash_replay_to "$idx" || return 1
	cp "$CRASH_CURSOR" "$CRASH_REPLAY" || return 1
	if [ "$kind" = revert ] || [ "$kind" = "done" ]; then
		# s1 in the store: ended (gone: the revert had ended), reverting, no
		f=$(store_snaps | awk '$1 == "sbrc_s1" { print $2 }') || return 1
		if [ -z "$f" ]; then
			rec=ended
		elif ((f & 8)); then
			rec=reverting
		else
			rec=no
		fi
	fi
	rorigin=$("$SNAPBLKCTL" origin "$rdisk_part" --name sbrc_ro) || {
		rorigin=
		echo "snapblkctl origin $rdisk_part failed"
		return 1
	}
	crash_wait_for test -b "$rorigin" || { echo "$rorigin did not appear"; return 1; }

	lines=$("$SNAPBLKCTL" attach "$rstore_part" --origin "$rorigin" 2>"$err") || arc=$?
	# names and states first, with builtins: a resumed revert may end soon
	for d in $lines; do
		if ! [[ $d =~ ^/dev/snapblk[0-9]+$ ]]; then
			echo "attach printed '$d', not a snapblk device"
			rc=1
			continue
		fi
		snaps+=("$d")
		k=${d#/dev/}
		name='' st=''
		{ read -r name <"/sys/block/$k/snapblk/name" &&
			read -r st <"/sys/block/$k/snapblk/state"; } 2>/dev/null || true
		if [ -z "$name" ] || [ -z "$st" ]; then
			# only a reverted snapshot goes by itself: s1 at its end
			name=sbrc_s1 st=gone
		fi
		if [ -n "${snap_dev[$name]+x}" ]; then
			echo "attach brought back $name twice"
			rc=1
		fi
		snap_dev[$name]=$d
		[ "$name" = sbrc_s1 ] && s1st=$st
		case $name in
		sbrc_s1 | sbrc_s2) ;;
		*)	echo "attach brought back $d named '$name', not a snapshot of this test"
			rc=1 ;;
		esac
	done
	if [ $arc -ne 0 ]; then
		if [ "$kind" != pre ]; then
			echo "attach failed (exit $arc) after s1 was made: $(cat "$err")"
			return 1
		elif [ $arc -ge 126 ] || [ "$(grep -c . "$err")" != 1 ]; then
			echo "attach did not fail cleanly: exit $arc, stderr:"
			cat "$err"
			rc=1
		fi
		result="attach refused"
	else
		result="s1 ${s1st:-not back}"
		[ -n "$rec" ] && result="store: s1 $rec; $result"
		[ -n "${snap_dev[sbrc_s2]+x}" ] && result+=", s2 back"
	fi

	# which snapshots must be back
	case $kind in
	pre) [ ${#snaps[@]} -eq 0 ] || { echo "attach brought back snapshots before s1 was made"; rc=1; } ;;
	a | pre2)
		[ -n "${snap_dev[sbrc_s1]+x}" ] || { echo "s1 not brought back"; rc=1; }
		[ "$kind" = a ] && [ -n "${snap_dev[sbrc_s2]+x}" ] &&
			{ echo "s2 brought back before it was begun"; rc=1; } ;;
	*)	[ -n "${snap_dev[sbrc_s2]+x}" ] || { echo "s2 not brought back"; rc=1; } ;;
	esac
	case $kind in
	a | pre2 | b | synced)
		[ -n "${snap_dev[sbrc_s1]+x}" ] || { echo "s1 not brought back"; rc=1; }
		[ "$s1st" = active ] || [ -z "$s1st" ] || { echo "s1 in state '$s1st'"; rc=1; } ;;
	revert | done)
		# what the store said (rec), and what attach made of it
		case $rec:$s1st in
		ended:) ;;
		reverting:reverting | reverting:gone) ;;
		no:active) ;;
		ended:*) echo "the store no longer holds s1, yet attach brought it back ($s1st)"; rc=1 ;;
		reverting:*)
			echo "the store records the revert of s1, but attach brought it back" \
				"${s1st:-not at all}${s1st:+ (not reverting)}"
			rc=1 ;;
		no:*)	echo "the store holds s1 without a revert, but attach brought it back" \
				"${s1st:-not at all}${s1st:+ (not active)}"
			rc=1 ;;
		esac
		[ "$rec" != no ] && recorded=1
		if [ "$rec" = no ] && [ "$kind" = "done" ]; then
			echo "after revert-done the store holds s1 without a revert"
			rc=1
		elif [ "$rec" = no ] && [ -n "$recorded_seen" ]; then
			echo "the store holds s1 without a revert, but it held the revert at entry $recorded_seen"
			rc=1
		fi ;;
	esac
	[ -n "$recorded" ] && [ -z "$recorded_seen" ] && recorded_seen=$idx

	# the origin right after attach
	case $kind in
	pre) exp_orig=$startf ;;
	a) exp_orig= ; old_or_new "$rorigin" "$m1" "$m2" "during writes A, the origin" || rc=1 ;;
	pre2) exp_orig=$m2 ;;
	b) exp_orig= ; old_or_new "$rorigin" "$m2" "$pre" "during writes B, the origin" || rc=1 ;;
	*) if [ -n "$recorded" ]; then exp_orig=$m1; else exp_orig=$pre; fi ;;
	esac
	if [ -n "$exp_orig" ]; then
		same "$rorigin" "$exp_orig" "right after attach, the origin" || rc=1
	fi
	if [ -n "${snap_dev[sbrc_s2]+x}" ]; then
		same "${snap_dev[sbrc_s2]}" "$m2" "right after attach, s2" || rc=1
	fi

	if ! "$SNAPBLKCTL" wait "$rorigin" 2>"$werr"; then
		echo "snapblkctl wait $rorigin failed: $(tail -n 1 "$werr")"
		return 1
	fi
	st=$(sb_sysfs "$rorigin" state)
	[ "$st" = active ] || { echo "the origin in state '$st' after wait"; rc=1; }
	if [ -n "$recorded" ] && [ -n "${snap_dev[sbrc_s1]+x}" ]; then
		d=${snap_dev[sbrc_s1]}
		if crash_wait_for test ! -e "/sys/block/${d#/dev/}"; then
			unset "snap_dev[sbrc_s1]"
		else
			echo "s1 ($d) is still there after the revert ended"
			rc=1
		fi
	fi
	if [ -n "$exp_orig" ]; then
		same "$rorigin" "$exp_orig" "after the wait, the origin" || rc=1
	else
		exp_orig=$SB_TMP/orig.img
		dd if="$rorigin" of="$exp_orig" bs=1M iflag=direct status=none || rc=1
	fi
	if [ -n "${snap_dev[sbrc_s1]+x}" ]; then
		same "${snap_dev[sbrc_s1]}" "$m1" "s1" || rc=1
	fi
	if [ -n "${snap_dev[sbrc_s2]+x}" ]; then
		same "${snap_dev[sbrc_s2]}" "$m2" "after the wait, s2" || rc=1
	fi
	point_teardown || return 1
	same "$rdisk_part" "$exp_orig" "after detach, the disk part" || rc=1
	return $rc
}

# point_teardown: remove what point_run made, also after it failed
point_teardown() {
	local rc=0

	if [ -n "$rorigin" ] && [ "$(sb_sysfs "$rorigin" state)" = reverting ]; then
		timeout 120 "$SNAPBLKCTL" wait "$rorigin" 2>/dev/null ||
			{ echo "wait $rorigin failed"; rc=1; }
	fi
	crash_detach "$rorigin" "${snaps[@]}" || rc=1
	snaps=()
	rorigin=
	return $rc
}

# check_point INDEX KIND: point_run, then remove what it left
check_point() {
	local rc=0

	snaps=()
	snap_dev=()
	result=
	CRASH_DIFFED=
	point_run "$@" || rc=1
	point_teardown || rc=1
	return $rc
}

out=$SB_TMP/point.out
nr_points=0
while read -r idx what kind; do
	nr_points=$((nr_points + 1))
	desc="entry $idx (${what//_/ }): $kind"
	rc=0
	check_point "$idx" "$kind" >"$out" 2>&1 || rc=1
	crash_report $rc "$desc${result:+: $result}" "$out" "$idx" || true
done <"$points"

diag "$nr_points crash points checked, $nr_bad failed; the revert was recorded" \
	"from entry ${recorded_seen:-(never)} on;" \
	"workload $((t_work - t_start))s, checks $((SECONDS - t_work))s"
sb_done
