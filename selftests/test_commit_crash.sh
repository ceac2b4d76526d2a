#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_commit_crash - crash consistency of `snapblkctl commit` (SPEC 3-4):
# a commit that a power cut interrupts at any instant resumes on attach,
# the overlay reads its view at every instant (right after attach, while
# the commit resumes, after it), and when the commit ends the store is
# empty and the base holds the view. Before the store records the commit,
# the base is never written.
#
# The order between the two devices matters, so the base and the store
# are two dm-linear parts of ONE dm-log-writes device (sbcc_lw over a
# loop device, logged to a second loop device): sbcc_base (16 MiB with a
# pattern, written before logging starts) and sbcc_store (zeroes). The
# workload, with log marks:
#   snapblkctl overlay sbcc_base sbcc_store -> OV              overlay-made
#   a few MiB of distinct data into OV with dd oflag=direct (whole chunks,
#     partial chunks, odd sectors), `pattern scatter`, a discard and a
#     zeroing (blkdiscard, blkdiscard -z), then an fsync and `sync`;
#     OV's view saved to a file                                synced
#                                                              commit-start
#   snapblkctl commit OV --wait (the delta goes to the base in batches of
#     4 MiB: copy, flush the base, unmap, commit the store)    commit-done
#   detach OV, remove the dm devices.
# Then prefixes of the log are replayed onto a copy of the starting image,
# at every mark, at the last entry, at a sample of flush/FUA entries and
# of plain entries (base and store writes) between commit-start and
# commit-done, and at a couple of flushes after commit-done. At each
# point the replayed image is split again into its base and store parts
# (two loop devices with --offset/--sizelimit) and
#   - `snapblkctl attach STOREPART --base BASEPART` succeeds;
#   - right away the overlay reads exactly like the expected view (the
#     starting image at overlay-made, the saved view from synced on);
#     storetool.py reads the state in the replayed store's superblock
#     before attach: where it is COMMITTING the overlay comes back
#     `committing` (or `active`: the resumed commit ended at once), where
#     it is ACTIVE the overlay comes back `active`;
#   - `snapblkctl wait` exits 0, the state is then active and the overlay
#     still reads like the view;
#   - a commit that was recorded (COMMITTING in the store), or a store
#     that attached empty, ends with store_used back at its value in a new
#     overlay, and after detach the base part reads exactly like the
#     view;
#   - a store ACTIVE with a delta that is not empty (before commit-start, or
#     a commit not yet recorded) leaves the base part untouched: after
#     detach it reads exactly like the starting image. From commit-start
#     on, such a point may not follow one where the commit was recorded,
#     and from commit-done on it is not allowed at all.
# On a data mismatch it lists the chunks that differ and what they hold
# (at the first 3 failing points: that is slow under TCG).
#
# Tunables (environment): SNAPBLK_CRASH_FLUSHES (flush/FUA entries
# sampled during the commit, default 12), SNAPBLK_CRASH_MID (plain
# entries sampled, default 6).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-crash.sh"
set -u

STORETOOL=$SB_DIR/storetool.py
DM=sbcc_lw
DM_BASE=sbcc_base
DM_STORE=sbcc_store
BASE_SIZE=$((16 * MiB))
STORE_SIZE=$((16 * MiB))
LOG_SIZE=$((256 * MiB))
BASE_SECT=$((BASE_SIZE / 512))
STORE_SECT=$((STORE_SIZE / 512))
CHUNK=$((64 * KiB))
SAMPLE_FLUSH=${SNAPBLK_CRASH_FLUSHES:-12}	# flush/FUA entries during the commit
SAMPLE_MID=${SNAPBLK_CRASH_MID:-6}		# plain entries during the commit
SAMPLE_AFTER=2					# flush/FUA entries after commit-done

rov=		# the overlay attached at the current point

crash_init

t_start=$SECONDS
# the starting image: the base area holds a pattern, the store area zeroes
startf=$(sb_file start.img $BASE_SIZE 31) || sb_bail "cannot create the starting image"
truncate -s $((BASE_SIZE + STORE_SIZE)) "$startf"
cp --sparse=always "$startf" "$SB_TMP/disk.img" || sb_bail "cannot copy the starting image"
disk=$(sb_loop "$SB_TMP/disk.img") || sb_bail "losetup failed"
logf=$(sb_file log.img $LOG_SIZE) || sb_bail "cannot create the log file"
log=$(sb_loop "$logf") || sb_bail "losetup failed"
srcf=$(sb_file src.img $((4 * MiB)) 32) || sb_bail "cannot create the source of the writes"
view=$SB_TMP/view.img	# what the overlay showed before the commit

crash_log_devices $DM "$disk" "$log" $DM_BASE $BASE_SECT $DM_STORE $STORE_SECT

# ------------------------------------------------------------ workload

sb_overlay /dev/mapper/$DM_BASE /dev/mapper/$DM_STORE --name sbcc_ov ||
	sb_bail "snapblkctl overlay /dev/mapper/$DM_BASE /dev/mapper/$DM_STORE failed"
ov=$SB_DEV
# before this mark the store was being formatted: no promise yet
crash_mark overlay-made
used0=$(sb_sysfs "$ov" store_used)
diag "overlay $ov on /dev/mapper/$DM_BASE, store /dev/mapper/$DM_STORE," \
	"both on /dev/mapper/$DM ($disk, logged to $log); store_used $used0 when new"

# ddw SKIP SEEK COUNT BS: copy COUNT blocks of BS bytes from the source
# file at block SKIP to the overlay at block SEEK, with O_DIRECT
ddw() {
	dd if="$srcf" of="$ov" bs="$4" skip="$1" seek="$2" count="$3" \
		oflag=direct conv=notrunc status=none
}

ov_writes() {
	ddw 0 1 3 1M &&					# 3 MiB of whole chunks
	ddw 300 $(((6 * MiB + 12 * KiB) / 4096)) 25 4K &&	# 100 KiB over a chunk boundary
	ddw 7 $((9 * MiB / 512 + 5)) 7 512 &&		# 3.5 KiB at an odd sector
	"$PATTERN" scatter "$ov" 33 40 512 96K &&	# 40 writes anywhere
	blkdiscard -o $((12 * MiB)) -l $((1 * MiB)) "$ov" &&	# whole chunks
	ddw 600 $(((12 * MiB + 64 * KiB) / 4096)) 3 4K &&	# into the discarded range
	blkdiscard -z -o $((13 * MiB + 20 * KiB)) -l $((150 * KiB)) "$ov" &&
	ddw 40 $((14 * MiB / CHUNK + 2)) 8 64K &&		# 512 KiB, chunk-aligned
	ddw 1001 $((3 * MiB / 512 + 1)) 3 512 &&		# rewrite inside the 3 MiB
	dd if=/dev/null of="$ov" conv=notrunc,fsync status=none &&
	sync
}

if ov_writes >"$SB_TMP/writes.out" 2>&1; then
	sb_ok "writes into the overlay (dd, scatter, discard, zeroing), fsync"
else
	sb_notok "writes into the overlay (dd, scatter, discard, zeroing), fsync"
	diag_file "$SB_TMP/writes.out"
	sb_bail "the workload failed"
fi
dd if="$ov" of="$view" bs=1M iflag=direct status=none || sb_bail "cannot read $ov"
used1=$(sb_sysfs "$ov" store_used)
crash_mark synced
diag "store used after the writes: $used1 of $(sb_sysfs "$ov" store_size) bytes"
"$PATTERN" cmp "$view" "$startf" 0 $BASE_SIZE >/dev/null 2>&1 &&
	sb_bail "the view equals the starting image: the writes did nothing"

crash_mark commit-start
t0=$SECONDS
check "live: snapblkctl commit $ov --wait" "$SNAPBLKCTL" commit "$ov" --wait ||
	sb_bail "the commit failed"
crash_mark commit-done
diag "the commit took $((SECONDS - t0))s"
check "live: the overlay reads like its view" "$PATTERN" cmp "$ov" "$view" 0 $BASE_SIZE || true
check_eq "live: store_used back at its value when new" "$(sb_sysfs "$ov" store_used)" "$used0" || true
check_eq "live: state active" "$(sb_sysfs "$ov" state)" active || true
sb_detach "$ov" || sb_bail "detach $ov failed"
check "live: the base reads like the view" \
	"$PATTERN" cmp /dev/mapper/$DM_BASE "$view" 0 $BASE_SIZE || true
crash_log_stop
t_work=$SECONDS

# ----------------------------------------------------------- the log

# read from its file: faster than through the loop device, and the loop
# driver wrote it through the file's page cache
crash_log_read "$logf"
nr_entries=$CRASH_ENTRIES

i_omade=$(crash_mark_index overlay-made) || sb_bail "no mark overlay-made in the log"
i_sync=$(crash_mark_index synced) || sb_bail "no mark synced in the log"
i_cs=$(crash_mark_index commit-start) || sb_bail "no mark commit-start in the log"
i_cd=$(crash_mark_index commit-done) || sb_bail "no mark commit-done in the log"
i_last=$((nr_entries - 1))

diag "log: $nr_entries entries, $(wc -l <"$CRASH_FLUSHES") with FLUSH or FUA" \
	"($(crash_flushes_in "$i_cs" "$i_cd" | wc -l) during the commit)," \
	"$(crash_plain_in "$i_cs" "$i_cd" 0 | wc -l) plain writes to the base during the commit"

# describe: for each entry index on stdin, "INDEX WHAT KIND": WHAT the
# entry (mark_NAME, FLUSH, write_to_base...), KIND pre (before
# commit-start), commit (until commit-done) or done
describe() {
	awk -v cs="$i_cs" -v cd="$i_cd" -v o=$BASE_SECT '
	NR == FNR {
		if (/^#/)
			next
		if ($4 ~ /MARK/)
			what[$1] = "mark_" $5
		else
			what[$1] = ($4 == "-" ? "write" : $4) ($3 == 0 ? "" : $2 < o ? "_to_base" : "_to_store")
		next
	}
	{ print $1, what[$1], $1 < cs ? "pre" : $1 < cd ? "commit" : "done" }' "$CRASH_LIST" -
}

points=$SB_TMP/points
{
	# every mark and the last entry
	crash_marks
	echo $i_last
	crash_flushes_in "$i_cs" "$i_cd" | crash_sample "$SAMPLE_FLUSH"
	crash_plain_in "$i_cs" "$i_cd" 0 | crash_sample $((SAMPLE_MID / 2))
	crash_plain_in "$i_cs" "$i_cd" 1 | crash_sample $((SAMPLE_MID - SAMPLE_MID / 2))
	crash_flushes_in "$i_cd" $((i_last + 1)) | crash_sample $SAMPLE_AFTER
} | sort -n -u | awk -v a="$i_omade" '$1 >= a' | describe >"$points"

# ------------------------------------------------------------ checks

crash_replay_init "$startf" $BASE_SIZE $STORE_SIZE
rbase_part=${CRASH_PARTS[0]}
rstore_part=${CRASH_PARTS[1]}


# same DEV IMAGE WHAT: DEV reads exactly like IMAGE (crash_same)
same() {
	crash_same $BASE_SIZE "$@" "the view=$view" "the old base=$startf"
}

# store_state: the state in the current superblock of the replayed
# store (1 active, 2 committing), read with storetool from a copy of its
# two first blocks
store_state() {
	dd if="$CRASH_CURSOR" of="$SB_TMP/sb.img" bs=4K skip=$((BASE_SIZE / 4096)) count=2 \
		status=none || return 1
	"$STORETOOL" get "$SB_TMP/sb.img" state --layout overlay
}

recorded_seen=	# the first point where the store held the commit or its end
result=		# what the current point showed, for its KTAP line
nr_bad=0	# failed points so far

# point_run INDEX KIND: replay, attach, check
point_run() {
	local idx=$1 kind=$2 exp=$view rc=0 sst st st2 used werr=$SB_TMP/wait.err base_exp

	[ "$idx" -lt "$i_sync" ] && exp=$startf
	crash_replay_to "$idx" || return 1
	cp "$CRASH_CURSOR" "$CRASH_REPLAY" || return 1
	sst=$(store_state) || { echo "storetool cannot read the store's superblock"; return 1; }
	rov=$("$SNAPBLKCTL" attach "$rstore_part" --base "$rbase_part" 2>"$SB_TMP/attach.err") || {
		rov=
		echo "attach failed: $(cat "$SB_TMP/attach.err")"
		return 1
	}
	if ! [[ $rov =~ ^/dev/snapblk[0-9]+$ ]] || ! crash_wait_for test -b "$rov"; then
		echo "attach printed '$rov', not a snapblk device"
		rov=
		return 1
	fi
	# at once, with a builtin: a resumed commit may end soon
	read -r st <"/sys/block/${rov#/dev/}/snapblk/state" || st=
	result="store state $sst, $st after attach"
	same "$rov" "$exp" "right after attach, the overlay" || rc=1
	# a recorded commit resumes (and may have ended already); no other
	# may start
	case $kind:$sst:$st in
	pre:1:active | commit:1:active | commit:2:committing | commit:2:active) ;;
	done:1:active | done:2:committing | done:2:active) ;;
	*)	echo "state '$st' right after attach, with state $sst in the store before"
		rc=1 ;;
	esac
	if ! "$SNAPBLKCTL" wait "$rov" 2>"$werr"; then
		echo "snapblkctl wait $rov failed: $(tail -n 1 "$werr")"
		return 1
	fi
	st2=$(sb_sysfs "$rov" state)
	[ "$st2" = active ] || { echo "state '$st2' after wait"; rc=1; }
	same "$rov" "$exp" "after the wait, the overlay" || rc=1
	used=$(sb_sysfs "$rov" store_used)
	base_exp=$exp
	if [ "$sst" = 1 ] && [ "$used" != "$used0" ]; then
		# a delta and no commit: the base must not have been touched
		result+=", not committed"
		base_exp=$startf
		if [ "$kind" = "done" ]; then
			echo "after commit-done: the store holds a delta ($used bytes used) and no commit"
			rc=1
		elif [ "$kind" = commit ] && [ -n "$recorded_seen" ]; then
			echo "the store holds a delta and no commit, but at entry $recorded_seen" \
				"it held the commit"
			rc=1
		fi
	else
		[ "$kind" != pre ] && [ -z "$recorded_seen" ] && recorded_seen=$idx
		if [ "$used" != "$used0" ]; then
			echo "store_used $used after the commit, expected $used0 (an empty store)"
			rc=1
		fi
	fi
	crash_detach "$rov" || return 1
	rov=
	same "$rbase_part" "$base_exp" "after detach, the base part" || rc=1
	return $rc
}

# check_point INDEX KIND: point_run, then remove what it left
check_point() {
	local rc=0

	result=
	CRASH_DIFFED=
	point_run "$@" || rc=1
	crash_detach "$rov" || rc=1
	rov=
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

diag "$nr_points crash points checked, $nr_bad failed; the commit was recorded" \
	"from entry ${recorded_seen:-(never)} on;" \
	"workload $((t_work - t_start))s, checks $((SECONDS - t_work))s"
sb_done
