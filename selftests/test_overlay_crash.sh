#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_crash - crash consistency of an overlay's store (SPEC 4):
# writes acknowledged before a completed flush survive a power cut, and a
# crash at any instant leaves a store that attaches and shows, for every
# sector, either old or new data.
#
# The overlay's store sits under a dm-log-writes target, which logs every
# write that reached stable storage, in that order. The workload:
#   1. crashio: random self-describing writes (512 B .. 128 KiB, many
#      unaligned, many across 64 KiB chunk boundaries), an fsync every 8
#      writes, a log mark "fsync-N" after each fsync;
#   2. ext4: mkfs, mount, files, sync (marks ext4-mkfs, ext4-sync,
#      ext4-sync2), umount (ext4-umount).
# Then prefixes of the log are replayed onto a copy of the store as it
# was (zeroes): at every mark, at a sample of flush/FUA entries and of
# plain entries in between (a crash in the middle of a batch), and at the
# end of the log. At each point the store must attach on the base, and:
#   - crashio phase: `crashio verify`: every sector holds the base's data
#     or the data of a write that covered it, and every write made
#     durable by the last fsync before the point is there;
#   - ext4 phase: mount and umount (journal recovery), `e2fsck -fn`
#     clean, and after a sync mark the files have the checksums taken
#     after that sync;
#   - while mkfs runs: attach only.

. "$(dirname "$0")/lib.sh"
set -u

CRASHIO=$SB_DIR/crashio
LOGREPLAY=$SB_DIR/logreplay
DM=sbcrash_lw
BASE_SIZE=$((64 * MiB))
STORE_SIZE=$((32 * MiB))
LOG_SIZE=$((256 * MiB))
CRASHIO_OPS=${SNAPBLK_CRASH_OPS:-200}
CRASHIO_SEED=${SNAPBLK_CRASH_SEED:-20240611}
CRASHIO_SPAN=$((12 * MiB))
SAMPLE_FLUSH=12		# crashio-phase flush/FUA entries checked
SAMPLE_MID=6		# crashio-phase plain entries checked
SAMPLE_EXT4=8		# ext4-phase flush/FUA entries checked
SAMPLE_MKFS=3		# entries during mkfs (attach only)

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

t_start=$(date +%s)
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
diag "overlay $ov: base $base, store /dev/mapper/$DM ($store, logged to $log)"

# ------------------------------------------------------------ workload

dm_mark() {
	dmsetup message "$DM" 0 mark "$1"
}

if "$CRASHIO" write "$ov" --seed "$CRASHIO_SEED" --ops "$CRASHIO_OPS" --max-len 128K \
	--span $CRASHIO_SPAN --fsync-every 8 --journal "$journal" --mark-dm "$DM" \
	>"$SB_TMP/crashio.out" 2>&1; then
	sb_ok "crashio: $CRASHIO_OPS writes with an fsync and a mark every 8"
else
	sb_notok "crashio: $CRASHIO_OPS writes with an fsync and a mark every 8"
	diag_file "$SB_TMP/crashio.out"
	sb_bail "the workload failed"
fi

# the files of the ext4 phase: a few large, many small
ext4_files() {
	local i

	mkdir -p "$mnt/d/e"
	for i in 1 2 3 4 5; do
		head -c $((i * 151 * KiB + i * 777)) /dev/urandom >"$mnt/f$i"
	done
	for i in $(seq 1 40); do
		echo "small file $i $RANDOM" >"$mnt/d/s$i"
	done
	head -c $((300 * KiB)) /dev/urandom >"$mnt/d/e/big"
}

# the changes after the first sync: overwrite, append, delete, rename
ext4_changes() {
	dd if=/dev/urandom of="$mnt/f2" bs=4096 seek=7 count=9 conv=notrunc status=none
	head -c $((40 * KiB + 3)) /dev/urandom >>"$mnt/f3"
	rm "$mnt/f4" "$mnt/d/s7"
	mv "$mnt/d/s9" "$mnt/d/e/moved"
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
	sync
	sums "$mnt" >"$SB_TMP/sums-sync" || return 1
	dm_mark ext4-sync || return 1
	ext4_changes || return 1
	sync
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
sb_detach "$ov" || sb_bail "detach $ov failed"
ov=
dmsetup remove "$DM" || sb_bail "dmsetup remove $DM failed"
dm_made=
t_work=$(date +%s)

# ----------------------------------------------------------- the log

if ! "$LOGREPLAY" list "$log" >"$SB_TMP/log.list" 2>"$SB_TMP/log.err"; then
	diag_file "$SB_TMP/log.err"
	sb_bail "logreplay list failed"
fi
"$LOGREPLAY" flushes "$log" >"$SB_TMP/log.flushes" ||
	sb_bail "logreplay flushes failed"
nr_entries=$(grep -vc '^#' "$SB_TMP/log.list")
diag "log: $nr_entries entries, $(wc -l <"$SB_TMP/log.flushes") with FLUSH or FUA," \
	"$(grep -c ' MARK ' "$SB_TMP/log.list") marks"

mark_index() { # mark_index NAME: entry index of the mark, or fail
	awk -v m="$1" '!/^#/ && $4 ~ /MARK/ && $5 == m { print $1; found = 1; exit }
		END { exit !found }' "$SB_TMP/log.list"
}

# sample COUNT: up to COUNT evenly spaced lines of stdin
sample() {
	awk -v n="$1" '{ a[NR] = $0 } END {
		if (NR <= n) { for (i = 1; i <= NR; i++) print a[i]; exit }
		for (i = 0; i < n; i++) print a[1 + int(i * NR / n)] }'
}

nr_fsyncs=$(grep -c '^f ' "$journal")
i_mkfs=$(mark_index ext4-mkfs) || sb_bail "no mark ext4-mkfs in the log"
i_last=$(mark_index "fsync-$nr_fsyncs") || sb_bail "no mark fsync-$nr_fsyncs in the log"
i_umount=$(mark_index ext4-umount) || sb_bail "no mark ext4-umount in the log"

# points: "INDEX KIND ARGS", KIND one of crashio (ARGS: durable-mark max-mark,
# "-" for none), ext4 (ARGS: checksum file or "-"), attach
points=$SB_TMP/points
: >"$points"
for ((n = 1; n <= nr_fsyncs; n++)); do
	i=$(mark_index "fsync-$n") || sb_bail "no mark fsync-$n in the log"
	echo "$i crashio fsync-$n fsync-$n" >>"$points"
done

# the marks around entry i: the last fsync-N before it, the first after
crashio_between() {
	awk -v i="$1" '!/^#/ && $4 ~ /MARK/ && $5 ~ /^fsync-/ {
			if ($1 < i) lo = $5; else if (!hi) hi = $5 }
		END { print (lo ? lo : "-"), (hi ? hi : "-") }' "$SB_TMP/log.list"
}

for i in $(awk -v e="$i_last" '$1 < e' "$SB_TMP/log.flushes" | sample $SAMPLE_FLUSH); do
	echo "$i crashio $(crashio_between "$i")" >>"$points"
done
for i in $(awk -v e="$i_last" '!/^#/ && $1 < e && $4 == "-" { print $1 }' "$SB_TMP/log.list" |
	sample $SAMPLE_MID); do
	echo "$i crashio $(crashio_between "$i")" >>"$points"
done
for i in $(awk -v a="$i_last" -v b="$i_mkfs" '$1 > a && $1 < b' "$SB_TMP/log.flushes" |
	sample $SAMPLE_MKFS); do
	echo "$i attach" >>"$points"
done
echo "$i_mkfs ext4 -" >>"$points"
for i in $(awk -v a="$i_mkfs" -v b="$i_umount" '$1 > a && $1 < b' "$SB_TMP/log.flushes" |
	sample $SAMPLE_EXT4); do
	echo "$i ext4 -" >>"$points"
done
i_sync=$(mark_index ext4-sync) || sb_bail "no mark ext4-sync in the log"
i_sync2=$(mark_index ext4-sync2) || sb_bail "no mark ext4-sync2 in the log"
{
	echo "$i_sync ext4 $SB_TMP/sums-sync"
	echo "$i_sync2 ext4 $SB_TMP/sums-sync2"
	echo "$i_umount ext4 $SB_TMP/sums-sync2"
	echo "$((nr_entries - 1)) ext4 $SB_TMP/sums-sync2"
} >>"$points"
sort -n -u -k1,1 -o "$points" "$points"

# ------------------------------------------------------------ checks

cursor=$SB_TMP/cursor.img	# the store replayed up to entry $replayed
replayf=$SB_TMP/replay.img
truncate -s $STORE_SIZE "$cursor"
replayed=-1
out=$SB_TMP/point.out

# replay_to INDEX: bring the cursor image to the state after entry INDEX
replay_to() {
	[ "$1" -gt "$replayed" ] || return 0
	"$LOGREPLAY" replay "$log" "$cursor" --start-entry $((replayed + 1)) \
		--until-entry "$1" >/dev/null || return 1
	replayed=$1
}

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

# check_point INDEX KIND ARGS...: replay, attach, check, detach
check_point() {
	local idx=$1 kind=$2 rc=0

	shift 2
	replay_to "$idx" || return 1
	cp --sparse=always "$cursor" "$replayf" || return 1
	# not sb_loop: this loop device goes away before the end
	ploop=$(losetup --show -f "$replayf") || return 1
	if ! sb_attach "$ploop" "$base"; then
		echo "the replayed store does not attach:"
		cat "$SB_TMP/.err"
		losetup -d "$ploop"
		ploop=
		return 1
	fi
	pdev=$SB_DEV
	case $kind in
	crashio) check_crashio "$pdev" "$@" || rc=1 ;;
	ext4) check_ext4 "$pdev" "$@" || rc=1 ;;
	esac
	sb_detach "$pdev" || rc=1
	pdev=
	losetup -d "$ploop" || rc=1
	ploop=
	rm -f "$replayf"
	return $rc
}

nr_points=0 nr_bad=0
while read -r idx kind args; do
	nr_points=$((nr_points + 1))
	desc="entry $idx: $kind${args:+ $args}"
	desc=${desc//$SB_TMP\//}
	# shellcheck disable=SC2086 # args are words
	if check_point "$idx" "$kind" $args >"$out" 2>&1; then
		sb_ok "$desc"
	else
		nr_bad=$((nr_bad + 1))
		sb_notok "$desc"
		diag_file "$out" "  "
		diag "  log around entry $idx:"
		awk -v i="$idx" '!/^#/ && $1 >= i - 3 && $1 <= i + 1' "$SB_TMP/log.list" |
			sed 's/^/    /' | while IFS= read -r l; do diag "$l"; done
	fi
done <"$points"

t_end=$(date +%s)
diag "$nr_points crash points checked, $nr_bad failed; workload $((t_work - t_start))s," \
	"checks $((t_end - t_work))s"
sb_done
