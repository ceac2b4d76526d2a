#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_snapshot_crash - crash consistency of snapshots (SPEC 4, design.md
# "Copy-out"): after a power cut at any instant during origin writes that
# trigger copy-outs, the store attaches, every snapshot still reads
# exactly like the origin at its moment, and the origin holds, sector by
# sector, old or new data, with nothing lost that an fsync made durable.
# A copied chunk's record must never reach the store before its data, and
# an origin write must never reach the disk before the copy it needs.
#
# The order between the two devices matters, so the origin disk and the
# store are two dm-linear parts of ONE dm-log-writes device (sbsc_lw over
# a loop device L, logged to a second loop device): sbsc_orig (the origin
# area, filled with a pattern before logging starts) and sbsc_store
# (zeroes). The workload, with log marks:
#   snapblkctl origin sbsc_orig -> O                      mark origin-made
#   snapshot s1 of O on sbsc_store                        mark s1-made
#   crashio: random self-describing writes and a few zeroings on O, an
#     fsync (half of them an O_DSYNC last write: FUA) every few, each
#     followed by a mark fsync-N; most first touch a chunk since the
#     snapshot, so they need a copy-out
#   (writer stopped; O's image saved as the moment of s2) mark s2-start
#   snapshot s2 of O in the same store                    mark s2-made
#   crashio again (another seed, another journal; marks fsync-N again)
#                                                         mark end
#   detach s2, s1 and O (the log goes on until the dm devices go).
# The sha256 of O at each moment is recorded (the images of the two
# moments are kept) and the live snapshots must match them.
# Then prefixes of the log are replayed onto a copy of L's starting image:
# at every mark, at the last entry, at a sample of the flush/FUA entries
# (some while each snapshot was being made, most during the writes and
# the detaches) and of plain entries in between (origin-area writes and
# store writes, i.e. crashes inside a batch). At each point the replayed
# image is split again into its origin and store parts (two loop devices
# with an offset: fewer processes than dm-linear, which counts under TCG),
# the origin part is wrapped with `snapblkctl origin`, and
# `snapblkctl attach STORE --origin` must:
#   - before s1-made (s1 being made): succeed, or fail cleanly (an exit
#     status below 126 and one line on stderr); the origin is untouched;
#   - from s1-made on: succeed, and bring back s1, and from s2-made on s2
#     too (between s2-start and s2-made s2 may be there or not);
#   - every snapshot it brings back reads exactly like its moment: byte
#     for byte like the image whose sha256 was recorded (a comparison
#     with `pattern cmp`: sha256sum is slow under TCG);
#   - the origin passes `crashio verify` against the journal of the
#     writes of its phase (base: the starting image before s2, the image
#     saved at s2's moment after it), with the last fsync-N mark before
#     the point as the durable point.
# On a snapshot mismatch it lists the chunks that differ and what they
# hold (the origin's newer data, zeroes, something else).
#
# Sizes are small for TCG: an 8 MiB origin (128 chunks of 64 KiB), a
# 24 MiB store. Tunables (environment): SNAPBLK_CRASH_OPS (writes per
# phase, default 100), SNAPBLK_CRASH_SEED, SNAPBLK_CRASH_FLUSHES
# (flush/FUA entries sampled during the writes and detaches, default
# 14), SNAPBLK_CRASH_MID (plain entries sampled, default 6).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-crash.sh"
set -u

CRASHIO=$SB_DIR/crashio
DM=sbsc_lw
DM_ORIG=sbsc_orig
DM_STORE=sbsc_store
ORIG_SIZE=$((8 * MiB))
STORE_SIZE=$((24 * MiB))
LOG_SIZE=$((256 * MiB))
ORIG_SECT=$((ORIG_SIZE / 512))
STORE_SECT=$((STORE_SIZE / 512))
OPS=${SNAPBLK_CRASH_OPS:-100}
SEED=${SNAPBLK_CRASH_SEED:-20240717}
FSYNC_EVERY=10
SAMPLE_FLUSH=${SNAPBLK_CRASH_FLUSHES:-14}	# during the writes and detaches
SAMPLE_MID=${SNAPBLK_CRASH_MID:-6}		# plain entries during the writes
SAMPLE_MAKE=3					# flush/FUA entries while a snapshot is made
SAMPLE_MAKE_MID=1				# plain entries while a snapshot is made

snaps=()	# the snapshots attach brought back at the current point

crash_init
require_cmd sha256sum
[ -x "$CRASHIO" ] || sb_bail "$CRASHIO not built: run make -C selftests"

t_start=$SECONDS
# the starting image: the origin area holds a pattern, the store area zeroes
startf=$(sb_file start.img $ORIG_SIZE 23) || sb_bail "cannot create the starting image"
truncate -s $((ORIG_SIZE + STORE_SIZE)) "$startf"
cp --sparse=always "$startf" "$SB_TMP/disk.img" || sb_bail "cannot copy the starting image"
disk=$(sb_loop "$SB_TMP/disk.img") || sb_bail "losetup failed"
logf=$(sb_file log.img $LOG_SIZE) || sb_bail "cannot create the log file"
log=$(sb_loop "$logf") || sb_bail "losetup failed"
journal1=$SB_TMP/crashio1.journal
journal2=$SB_TMP/crashio2.journal
moment2=$SB_TMP/moment2.img	# O at the moment of s2

crash_log_devices $DM "$disk" "$log" $DM_ORIG $ORIG_SECT $DM_STORE $STORE_SECT

# dsha DEV: sha256 of a whole device, read with O_DIRECT (slow under TCG)
dsha() {
	local s

	s=$(dd if="$1" bs=1M iflag=direct status=none | sha256sum) || return 1
	echo "${s%% *}"
}

# ------------------------------------------------------------ workload

sb_origin /dev/mapper/$DM_ORIG --name sbsc_o || sb_bail "snapblkctl origin /dev/mapper/$DM_ORIG failed"
origin=$SB_DEV
crash_mark origin-made
sha1=$(dsha "$origin")	# the moment of s1: the starting image
check "origin $origin reads like the starting image" \
	"$PATTERN" cmp "$origin" "$startf" 0 $ORIG_SIZE
sb_snapshot "$origin" /dev/mapper/$DM_STORE --name sbsc_s1 ||
	sb_bail "snapblkctl snapshot $origin /dev/mapper/$DM_STORE failed"
s1=$SB_DEV
crash_mark s1-made
diag "origin $origin on /dev/mapper/$DM_ORIG, snapshot s1 $s1 on /dev/mapper/$DM_STORE;" \
	"both on /dev/mapper/$DM ($disk, logged to $log)"

# crash_write JOURNAL SEED: the writes of one phase
crash_write() {
	local out=$SB_TMP/crashio.out

	if "$CRASHIO" write "$origin" --seed "$2" --ops "$OPS" --max-len 64K \
		--zero-pct 5 --dsync-pct 50 --fsync-every $FSYNC_EVERY --journal "$1" \
		--mark-dm $DM >"$out" 2>&1; then
		sb_ok "crashio: $OPS writes on the origin, an fsync and a mark every $FSYNC_EVERY"
		diag_file "$out"
	else
		sb_notok "crashio: $OPS writes on the origin, an fsync and a mark every $FSYNC_EVERY"
		diag_file "$out"
		sb_bail "the workload failed"
	fi
}

crash_write "$journal1" "$SEED"
# the writer has ended: O is quiet while s2 is taken
dd if="$origin" of="$moment2" bs=1M iflag=direct status=none || sb_bail "cannot read $origin"
sha2=$(sha256sum <"$moment2")
sha2=${sha2%% *}
crash_mark s2-start
sb_snapshot "$origin" /dev/mapper/$DM_STORE --name sbsc_s2 ||
	sb_bail "snapblkctl snapshot $origin /dev/mapper/$DM_STORE (the second) failed"
s2=$SB_DEV
crash_mark s2-made
diag "snapshot s2 $s2 in the same store"
crash_write "$journal2" $((SEED + 1))
crash_mark end

diag "sha256 of the origin at the moment of s1: $sha1"
diag "sha256 of the origin at the moment of s2: $sha2"
check "live: s1 reads like its moment" "$PATTERN" cmp "$s1" "$startf" 0 $ORIG_SIZE
check "live: s2 reads like its moment" "$PATTERN" cmp "$s2" "$moment2" 0 $ORIG_SIZE
check "live: the origin holds every write" \
	"$CRASHIO" verify "$origin" --base "$moment2" --journal "$journal2" \
	--upto-mark "fsync-$(grep -c '^f ' "$journal2")"
diag "store used: $(sb_sysfs "$s1" store_used) of $(sb_sysfs "$s1" store_size) bytes"
for d in "$s2" "$s1" "$origin"; do
	sb_detach "$d" || sb_bail "detach $d failed"
done
crash_log_stop
# the log is read from its file from now on: faster than through the loop
# device, and the loop driver wrote it through the file's page cache
log=$logf
t_work=$SECONDS

# ----------------------------------------------------------- the log

crash_log_read "$log"
nr_entries=$CRASH_ENTRIES
diag "log: $nr_entries entries, $(wc -l <"$CRASH_FLUSHES") with FLUSH or FUA," \
	"$(grep -c ' MARK ' "$CRASH_LIST") marks"

i_omade=$(crash_mark_index origin-made) || sb_bail "no mark origin-made in the log"
i_s1=$(crash_mark_index s1-made) || sb_bail "no mark s1-made in the log"
i_s2a=$(crash_mark_index s2-start) || sb_bail "no mark s2-start in the log"
i_s2=$(crash_mark_index s2-made) || sb_bail "no mark s2-made in the log"
i_end=$(crash_mark_index end) || sb_bail "no mark end in the log"
i_last=$((nr_entries - 1))
for p in 1 2; do
	j=journal$p
	n=$(grep -c '^f ' "${!j}")
	if [ $p = 1 ]; then lo=$i_s1 hi=$i_s2a; else lo=$i_s2 hi=$i_end; fi
	m=$(awk -v a="$lo" -v b="$hi" '!/^#/ && $4 ~ /MARK/ && $5 ~ /^fsync-/ &&
		$1 > a && $1 < b' "$CRASH_LIST" | wc -l)
	[ "$n" = "$m" ] || sb_bail "phase $p: $n fsyncs in the journal but $m fsync marks in the log"
done

# classify: for each entry index on stdin (sorted), the point's line
# "INDEX WHAT pre" before s1-made, else "INDEX WHAT pN DURABLE MAX" for
# phase N with the fsync-K marks of that phase around the entry (the last
# at or before it, the first at or after it; "-" for none). WHAT: the
# entry, for the report (mark_NAME, FLUSH, write_to_origin...).
classify() {
	awk -v s1="$i_s1" -v s2a="$i_s2a" -v s2="$i_s2" -v end="$i_end" -v o=$ORIG_SECT '
	NR == FNR {
		if (/^#/)
			next
		if ($4 ~ /MARK/)
			what[$1] = "mark_" $5
		else
			what[$1] = ($4 == "-" ? "write" : $4) ($3 == 0 ? "" : $2 < o ? "_to_origin" : "_to_store")
		if ($4 ~ /MARK/ && $5 ~ /^fsync-/)
			fs[nfs++] = $1 " " $5
		next
	}
	{
		i = $1
		if (i < s1) {
			print i, what[i], "pre"
			next
		}
		ph = i < s2 ? "p1" : "p2"
		lo = i < s2 ? s1 : s2
		hi = i < s2 ? s2a : end
		l = "-"
		h = "-"
		for (k = 0; k < nfs; k++) {
			split(fs[k], f, " ")
			if (f[1] + 0 <= lo || f[1] + 0 >= hi)
				continue
			if (f[1] + 0 <= i)
				l = f[2]
			if (f[1] + 0 >= i && h == "-")
				h = f[2]
		}
		print i, what[i], ph, l, h
	}' "$CRASH_LIST" -
}

points=$SB_TMP/points
{
	# every mark and the last entry
	crash_marks
	echo $i_last
	# while s1 and s2 were being made
	crash_flushes_in "$i_omade" "$i_s1" | crash_sample $SAMPLE_MAKE
	crash_flushes_in "$i_s2a" "$i_s2" | crash_sample $SAMPLE_MAKE
	crash_plain_in "$i_omade" "$i_s1" 1 | crash_sample $SAMPLE_MAKE_MID
	crash_plain_in "$i_s2a" "$i_s2" 1 | crash_sample $SAMPLE_MAKE_MID
	# during the writes and the detaches
	{ crash_flushes_in "$i_s1" "$i_s2a"; crash_flushes_in "$i_s2" $((i_last + 1)); } | crash_sample "$SAMPLE_FLUSH"
	{ crash_plain_in "$i_s1" "$i_s2a" 0; crash_plain_in "$i_s2" "$i_end" 0; } |
		crash_sample $((SAMPLE_MID / 2))
	{ crash_plain_in "$i_s1" "$i_s2a" 1; crash_plain_in "$i_s2" "$i_end" 1; } |
		crash_sample $((SAMPLE_MID - SAMPLE_MID / 2))
} | sort -n -u | awk -v a="$i_omade" '$1 >= a' | classify >"$points"

# ------------------------------------------------------------ checks

crash_replay_init "$startf" $ORIG_SIZE $STORE_SIZE
rorig_part=${CRASH_PARTS[0]}
rstore_part=${CRASH_PARTS[1]}

# the moment of each snapshot: name -> its image (first ORIG_SIZE bytes)
declare -A want_img=([sbsc_s1]=$startf [sbsc_s2]=$moment2)

# check_origin KIND DURABLE MAX: the replayed origin's data
check_origin() {
	local args=() base=$startf journal=$journal1

	if [ "$1" = pre ]; then
		"$PATTERN" cmp "$rorigin" "$startf" 0 $ORIG_SIZE && return 0
		echo "the origin differs from the starting image before any write"
		return 1
	fi
	[ "$1" = p2 ] && base=$moment2 journal=$journal2
	[ "$2" != - ] && args+=(--upto-mark "$2")
	[ "$3" != - ] && args+=(--max-mark "$3")
	"$CRASHIO" verify "$rorigin" --base "$base" --journal "$journal" "${args[@]}" >/dev/null
}

# check_snaps KIND INDEX SNAP...: the snapshots attach brought back
check_snaps() {
	local kind=$1 idx=$2 rc=0 d name want=" sbsc_s1" seen=" "

	shift 2
	case $kind in
	pre) want= ;;
	p2) want=" sbsc_s1 sbsc_s2" ;;
	esac
	for d in "$@"; do
		name=
		read -r name <"/sys/block/${d#/dev/}/snapblk/name" || name=
		if [ -z "${want_img[$name]+x}" ]; then
			echo "attach brought back $d named '$name', not a snapshot of this test"
			rc=1
			continue
		fi
		if [[ $seen == *" $name "* ]]; then
			echo "attach brought back $name twice"
			rc=1
			continue
		fi
		seen+="$name "
		if ! "$PATTERN" cmp "$d" "${want_img[$name]}" 0 $ORIG_SIZE; then
			echo "snapshot $name ($d) does not read like its moment:" \
				"sha256 $(dsha "$d"), expected" \
				"$([ "$name" = sbsc_s1 ] && echo "$sha1" || echo "$sha2")"
			crash_chunk_diff "$d" "${want_img[$name]}" $ORIG_SIZE \
				"origin's data now=$rorigin"
			rc=1
		fi
	done
	for name in $want; do
		[[ $seen == *" $name "* ]] && continue
		echo "attach did not bring back $name (made before this point)"
		rc=1
	done
	if [ "$kind" = p1 ] && [ "$idx" -lt "$i_s2a" ] && [[ $seen == *" sbsc_s2 "* ]]; then
		echo "attach brought back sbsc_s2 before it was begun"
		rc=1
	fi
	return $rc
}

# point_run INDEX KIND [DURABLE MAX]: replay, build, attach, check
point_run() {
	local idx=$1 kind=$2 rc=0 arc=0 err=$SB_TMP/attach.err d lines

	crash_replay_to "$idx" || return 1
	cp "$CRASH_CURSOR" "$CRASH_REPLAY" || return 1
	rorigin=$("$SNAPBLKCTL" origin "$rorig_part" --name sbsc_ro) || {
		rorigin=
		echo "snapblkctl origin $rorig_part failed"
		return 1
	}
	crash_wait_for test -b "$rorigin" || { echo "$rorigin did not appear"; return 1; }

	lines=$("$SNAPBLKCTL" attach "$rstore_part" --origin "$rorigin" 2>"$err") || arc=$?
	for d in $lines; do
		if [[ $d =~ ^/dev/snapblk[0-9]+$ ]] && crash_wait_for test -b "$d"; then
			snaps+=("$d")
		else
			echo "attach printed '$d', not a snapblk device"
			rc=1
		fi
	done
	if [ $arc -ne 0 ]; then
		if [ "$kind" != pre ]; then
			echo "attach failed (exit $arc) after the snapshot was made: $(cat "$err")"
			rc=1
		elif [ $arc -ge 126 ] || [ "$(grep -c . "$err")" != 1 ]; then
			echo "attach did not fail cleanly: exit $arc, stderr:"
			cat "$err"
			rc=1
		else
			echo "attach refused, as it may here: $(cat "$err")"
		fi
	fi
	check_snaps "$kind" "$idx" "${snaps[@]}" || rc=1
	check_origin "$kind" "${3:-}" "${4:-}" || rc=1
	return $rc
}

# point_teardown: remove what point_run made, also after it failed
point_teardown() {
	local rc=0

	crash_detach "$rorigin" "${snaps[@]}" || rc=1
	rorigin=
	return $rc
}

# check_point INDEX KIND [DURABLE MAX]
check_point() {
	local rc=0

	snaps=()
	point_run "$@" || rc=1
	point_teardown || rc=1
	return $rc
}

out=$SB_TMP/point.out
nr_points=0 nr_bad=0
declare -A nr_kind=()
while read -r idx what kind args; do
	nr_points=$((nr_points + 1))
	nr_kind[$kind]=$((${nr_kind[$kind]:-0} + 1))
	desc="entry $idx (${what//_/ }): $kind${args:+ $args}"
	rc=0
	# shellcheck disable=SC2086 # args are words
	check_point "$idx" "$kind" $args >"$out" 2>&1 || rc=1
	if crash_report $rc "$desc: ${#snaps[@]} snapshots" "$out" "$idx"; then
		[ "$kind" = pre ] && diag_file "$out" "  "
	fi
done <"$points"

diag "$nr_points crash points checked (${nr_kind[pre]:-0} while s1 was made," \
	"${nr_kind[p1]:-0} in phase 1, ${nr_kind[p2]:-0} in phase 2), $nr_bad failed;" \
	"workload $((t_work - t_start))s, checks $((SECONDS - t_work))s"
sb_done
