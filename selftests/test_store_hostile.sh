#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_store_hostile - damaged and hostile store images (SPEC section 4:
# "refused with a clear error; never crashes or hangs the kernel").
#
# Makes an overlay store (4K chunks, data written in two commits) and a
# snapshot store (64K chunks, origin + 2 snapshots, origin writes in two
# commits, a write through a snapshot), all detached. Each case applies
# one mutation with storetool.py to a fresh copy of a store image: most
# re-seal the checksum, so the damage passes it (a hostile image); a few
# flip bytes without fixing checksums (plain corruption). Then
# `snapblkctl attach COPY --base BASE` (or --origin ORIGIN) must
#
#   refuse  fail with status != 0, one line on stderr, nothing on stdout
#   attach  attach and read back exactly the original data
#   either  refuse, or attach with exactly the original data (mutations
#           that are legitimately harmless)
#   stale   refuse, or attach with every 4K block holding data the device
#           held at some commit (old or new, base or origin), never garbage
#           (a table/descriptor block lost its current copy)
#   any     refuse, or attach (a consistent re-interpretation the format
#           cannot detect; the data read is only reported)
#   rewrite attach with the original data; then new data written to the
#           overlay, or a new snapshot taken in the snapshot store, must
#           survive detach and attach
#
# and the kernel must not log a BUG/WARNING/Oops, nor hang (attach runs
# under a timeout). The store copy must be released after each case.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd python3 losetup timeout dmesg
require_kmod loop

KBAD='BUG|WARNING|Oops|general protection|KASAN|UBSAN|Call Trace|blocked for more than|Kernel panic'
size=$((8 * MiB))		# base and origin
store_size=$((16 * MiB))
sectors=$((size / 512))
store_sectors=$((store_size / 512))

# storetool.py runs as one coprocess (python starts slowly under TCG):
# st LINE sends a command line, leaves its output in $ST_OUT and returns
# its status
coproc STP { exec python3 -S "$SB_DIR/storetool.py" serve 2>&1; }
sb_register_pid "$STP_PID"
ST_IN=${STP[1]} ST_FROM=${STP[0]}
st() {
	local line

	ST_OUT=
	printf '%s\n' "$1" >&"$ST_IN" || return 99
	while IFS= read -r line <&"$ST_FROM"; do
		if [[ $line == "@@ "* ]]; then
			return "${line#@@ }"
		fi
		ST_OUT+=$line$'\n'
	done
	return 99
}

# the kernel log, followed by a reader (no fork per case)
: >"$SB_TMP/kmsg"
cat /dev/kmsg >>"$SB_TMP/kmsg" 2>/dev/null &
sb_register_pid $!
exec 6<"$SB_TMP/kmsg"
KLOG=
klog_new() { # the kernel log lines since the last call, in $KLOG
	local line

	KLOG=
	while IFS= read -r line <&6; do
		KLOG+=${line#*;}$'\n'
	done
}

# overlay geometry of chunk shift $1, parent and store sectors $2 $3:
# "nr_chunks table_blocks data_start data_chunks"
ov_geo() {
	local cs=$((1 << ($1 - 9))) nr tb ds

	nr=$((($2 + cs - 1) / cs))
	tb=$(((nr + 507) / 508))
	ds=$(((16 + tb * 16 + cs - 1) / cs * cs))
	echo "$nr $tb $ds $((($3 - ds) / cs))"
}

# data chunks of a snapshot store of chunk shift $1 on $2 sectors
sn_geo() {
	local cs=$((1 << ($1 - 9))) area avail n rem

	area=$((16 + 169 * cs))
	avail=$(($2 - 16))
	n=$((avail / area))
	n=$((n * 169))
	rem=$((avail % area))
	[ $rem -gt 16 ] && n=$((n + (rem - 16) / cs))
	echo $n
}

# ------------------------------------------------------ the overlay store
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
ovf=$(sb_file ov.img $store_size) || sb_bail "cannot create the overlay store"
ovl=$(sb_loop "$ovf") || sb_bail "losetup failed"
ov_model=$(sb_copy "$basef" ov_model.img) || sb_bail "cp failed"

sb_overlay "$base" "$ovl" --chunk-size 4K --name hov || sb_bail "snapblkctl overlay failed"
dev=$SB_DEV
sb_write "$dev" "$ov_model" 2 0 256K 64K || sb_bail "overlay write 1"
sb_scatter "$dev" "$ov_model" 3 24 4K 64K 4096 || sb_bail "overlay scatter 1"
sync "$dev" || sb_bail "fsync of the overlay"	# a commit: first table generation
ov_mid=$(sb_copy "$ov_model" ov_mid.img) || sb_bail "cp failed"
sb_write "$dev" "$ov_model" 4 1M 64K 64K || sb_bail "overlay write 2"
sb_write "$dev" "$ov_model" 5 64K 32K 32K || sb_bail "overlay write 3"
sb_scatter "$dev" "$ov_model" 6 8 4K 32K 4096 || sb_bail "overlay scatter 2"
check "overlay reads its model before detach" sb_cmp "$dev" "$ov_model"
sb_detach "$dev" || sb_bail "detach of the overlay failed"
losetup -d "$ovl"

# ----------------------------------------------------- the snapshot store
diskf=$(sb_file disk.img $size 1) || sb_bail "cannot create the disk"
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
snf=$(sb_file sn.img $store_size) || sb_bail "cannot create the snapshot store"
snl=$(sb_loop "$snf") || sb_bail "losetup failed"
o_model=$(sb_copy "$diskf" sn_origin.img) || sb_bail "cp failed"
s1_model=$(sb_copy "$diskf" sn_s1.img) || sb_bail "cp failed"

sb_origin "$disk" --name hor || sb_bail "snapblkctl origin failed"
origin=$SB_DEV
sb_snapshot "$origin" "$snl" --name hs1 --chunk-size 64K || sb_bail "snapshot hs1 failed"
s1=$SB_DEV
sb_write "$origin" "$o_model" 7 0 256K 64K || sb_bail "origin write 1"
sb_snapshot "$origin" "$snl" --name hs2 || sb_bail "snapshot hs2 failed"
s2=$SB_DEV
s2_model=$(sb_copy "$o_model" sn_s2.img) || sb_bail "cp failed"
sb_write "$origin" "$o_model" 8 128K 256K 64K || sb_bail "origin write 2"
sync "$origin" || sb_bail "fsync of the origin"
sb_write "$origin" "$o_model" 9 2M 128K 64K || sb_bail "origin write 3"
sb_write "$s2" "$s2_model" 10 4M 64K 64K || sb_bail "snapshot write"
check "hs1 reads its model" sb_cmp "$s1" "$s1_model"
check "hs2 reads its model" sb_cmp "$s2" "$s2_model"
sb_detach "$s1" || sb_bail "detach hs1 failed"
sb_detach "$s2" || sb_bail "detach hs2 failed"
losetup -d "$snl"

# --------------------------------------------------- what the stores hold
st "dump $ovf" || sb_bail "storetool dump failed: $ST_OUT"
printf '%s' "$ST_OUT" >"$SB_TMP/ov.dump"
st "dump $snf" || sb_bail "storetool dump failed: $ST_OUT"
printf '%s' "$ST_OUT" >"$SB_TMP/sn.dump"
grep -v '^  entry' "$SB_TMP/ov.dump" | sed 's/^/# ov: /'
diag "ov: $(grep -c '^  entry' "$SB_TMP/ov.dump") mapped chunks"
diag_file "$SB_TMP/sn.dump" "sn: "

sbfield() { # sbfield DUMP FIELD: a field's decimal value from a dump
	sed -n "s/^  $2 *\([0-9]*\) .*/\1/p" "$1"
}
check_eq "both superblock copies of the overlay store valid" \
	"$(grep -c '^superblock .: valid' "$SB_TMP/ov.dump")" 2
check_eq "both superblock copies of the snapshot store valid" \
	"$(grep -c '^superblock .: valid' "$SB_TMP/sn.dump")" 2
read -r ov_nc ov_tb ov_ds ov_dc <<<"$(ov_geo 12 $sectors $store_sectors)"
for f in nr_chunks:$ov_nc table_blocks:$ov_tb data_start:$ov_ds data_chunks:$ov_dc; do
	[ "$(sbfield "$SB_TMP/ov.dump" "${f%:*}")" = "${f#*:}" ] ||
		sb_bail "overlay store: ${f%:*} is not ${f#*:}"
done
sn_dc=$(sn_geo 16 $store_sectors)
sn_next=$(sbfield "$SB_TMP/sn.dump" next_id)
[ "$(sbfield "$SB_TMP/sn.dump" data_chunks)/$sn_next" = "$sn_dc/3" ] ||
	sb_bail "unexpected snapshot store geometry"
ov_cur_sb=$(sed -n 's/^superblock \(.\): valid.*(current)/\1/p' "$SB_TMP/ov.dump")
sn_cur_sb=$(sed -n 's/^superblock \(.\): valid.*(current)/\1/p' "$SB_TMP/sn.dump")
ov_other_sb=b sn_other_sb=b
[ "$ov_cur_sb" = A ] || ov_other_sb=a
[ "$sn_cur_sb" = A ] || sn_other_sb=a
sn_cur_sb=${sn_cur_sb,,}

# overlay entries: "block index chunk valid zero"; the written table blocks
sed -n 's/^table block \([0-9]*\): current.*/B \1/p; s/^  entry \([0-9]*\) (chunk [0-9]*): data=\([0-9]*\) valid=\(0x[0-9a-f]*\) zero=\(0x[0-9a-f]*\)/E \1 \2 \3 \4/p' "$SB_TMP/ov.dump" |
	awk '$1 == "B" { b = $2; blocks = blocks " " b; next } { print b, $2, $3, $4, $5 } END { print "blocks" blocks }' >"$SB_TMP/ov.ents"
mapfile -t ents <"$SB_TMP/ov.ents"
ov_blocks=${ents[-1]#blocks }
unset 'ents[-1]'
[ ${#ents[@]} -ge 2 ] || sb_bail "the overlay store has fewer than 2 table entries"
read -r e0b e0i e0c _ <<<"${ents[0]}"
read -r e1b e1i _ <<<"${ents[1]}"
# table block 0 was committed twice: both slots valid
tb0_cur=$(sed -n 's/^table block 0: current slot \([01]\) (slot 0 gen [0-9]*, slot 1 gen [0-9]*)/\1/p' "$SB_TMP/ov.dump")
[ -n "$tb0_cur" ] || sb_bail "table block 0 of the overlay store does not have two valid slots"
tb0_old=$((1 - tb0_cur))
diag "ov: entries ${ents[0]} / ${ents[1]}; written blocks:$ov_blocks; block 0 current slot $tb0_cur"

# snapshot descriptors "loc chunk first last flags"
sed -n 's/^  desc loc \([0-9]*\): chunk=\([0-9]*\) first=\([0-9]*\) last=\([0-9]*\) flags=\(0x[0-9a-f]*\)$/\1 \2 \3 \4 \5/p' "$SB_TMP/sn.dump" >"$SB_TMP/sn.descs"
mapfile -t descs <"$SB_TMP/sn.descs"
d_shared='' d_shared_chunk='' d_shared2='' d_one='' d_two='' d_priv=''
for d in "${descs[@]}"; do
	read -r l c f la fl <<<"$d"
	if [ "$fl" = 0x3 ]; then
		d_priv=${d_priv:-$l}
	elif [ "$f" -lt "$la" ]; then
		[ -n "$d_shared" ] && d_shared2=${d_shared2:-$l}
		d_shared_chunk=${d_shared_chunk:-$c}
		d_shared=${d_shared:-$l}
	fi
done
# a chunk with a run 1..1 and a run 2..2
for d in "${descs[@]}"; do
	read -r l c f la fl <<<"$d"
	[ "$f/$la/$fl" = 1/1/0x1 ] || continue
	for d2 in "${descs[@]}"; do
		read -r l2 c2 f2 la2 fl2 <<<"$d2"
		if [ "$c2/$f2/$la2/$fl2" = "$c/2/2/0x1" ]; then
			d_one=$l d_two=$l2
			break 2
		fi
	done
done
if [ -z "$d_shared" ] || [ -z "$d_shared2" ] || [ -z "$d_one" ] || [ -z "$d_priv" ]; then
	sb_bail "the snapshot store lacks the descriptors the cases need (${descs[*]})"
fi
sd0_cur=$(sed -n 's/^descriptor block 0: current slot \([01]\) (slot 0 gen [0-9]*, slot 1 gen [0-9]*)/\1/p' "$SB_TMP/sn.dump")
[ -n "$sd0_cur" ] || sb_bail "descriptor block 0 does not have two valid slots"
sd0_old=$((1 - sd0_cur))
read -r s0_created s0_fp <<<"$(sed -n 's/^  snap0: .*created=\([0-9]*\) .*fp=\([0-9]*\) .*/\1 \2/p' "$SB_TMP/sn.dump")"
diag "sn: shared $d_shared $d_shared2, runs 1..1/2..2 at $d_one/$d_two, private $d_priv; desc block 0 current slot $sd0_cur"

# ------------------------------------------------------------ the cases
C_NAME=() C_STORE=() C_EXP=() C_OPS=()

# def STORE NAME EXPECT [OP...]: a case. STORE: ov or sn (attached with
# --base / --origin), ov@origin or sn@base (attached the other way). OP:
# a storetool.py command line with % for the store image.
def() {
	local store=$1 name=$2 exp=$3 ops

	shift 3
	C_NAME+=("$name") C_STORE+=("$store") C_EXP+=("$exp")
	printf -v ops '%s\n' "$@"
	C_OPS+=("$ops")
}

A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa	# 32 bytes: no NUL

# ---- overlay superblock
def ov ov-pristine attach
def ov@origin ov-attached-as-snapshot-store refuse
def ov ov-version-2 refuse 'set % version 2'
def ov ov-flags-1 refuse 'set % flags 1'
def ov ov-flags-bit31 refuse 'set % flags 0x80000000'
def ov ov-kind-snapshot refuse 'set % kind 3'
def ov@origin ov-kind-snapshot-via-origin refuse 'set % kind 3'
def ov ov-kind-origin refuse 'set % kind 2'
def ov ov-kind-0 refuse 'set % kind 0'
def ov ov-state-0 refuse 'set % state 0'
for v in 11 21 31 13 0xffffffff; do
	def ov ov-chunk-shift-$v refuse "set % chunk_shift $v"
done
# the geometry of 64K and of 8K chunks, recomputed consistently
for v in 16 13; do
	read -r nr tb ds dc <<<"$(ov_geo $v $sectors $store_sectors)"
	def ov ov-chunk-shift-$v-consistent any "set % chunk_shift $v" 'set % granule_shift 12' \
		"set % nr_chunks $nr" "set % table_blocks $tb" "set % data_start $ds" \
		"set % data_chunks $dc"
done
for v in 13 0xffffffff; do
	def ov ov-granule-shift-$v refuse "set % granule_shift $v"
done
for v in $((ov_nc + 1)) 0 0xffffffffffffffff; do
	def ov ov-nr-chunks-$v refuse "set % nr_chunks $v"
done
for v in $((ov_tb + 1)) 0 0xffffffff; do
	def ov ov-table-blocks-$v refuse "set % table_blocks $v"
done
for v in $((ov_ds + 8)) 0 0xffffffffffffffff; do
	def ov ov-data-start-$v refuse "set % data_start $v"
done
for v in $((ov_dc + 1)) 0 0x80000000 0xffffffffffffffff; do
	def ov ov-data-chunks-$v refuse "set % data_chunks $v"
done
for v in $((store_sectors + 8)) 0 0xffffffffffffffff; do
	def ov ov-store-sectors-$v refuse "set % store_sectors $v"
done
# a store not grown to its device yet: legitimate
read -r nr tb ds dc <<<"$(ov_geo 12 $sectors $((store_sectors / 2)))"
def ov ov-store-sectors-half-consistent either "set % store_sectors $((store_sectors / 2))" \
	"set % data_chunks $dc"
# 2 data chunks: the table points beyond them
def ov ov-store-sectors-tiny-consistent refuse "set % store_sectors $((ov_ds + 16))" \
	'set % data_chunks 2'
def ov ov-parent-sectors-smaller refuse "set % parent_sectors $((sectors - 8))"
def ov ov-parent-sectors-0 refuse 'set % parent_sectors 0'
def ov ov-parent-sectors-max refuse 'set % parent_sectors 0xffffffffffffffff'
# a parent twice as big, table recomputed
read -r nr tb ds dc <<<"$(ov_geo 12 $((sectors * 2)) $store_sectors)"
def ov ov-parent-sectors-double-consistent refuse "set % parent_sectors $((sectors * 2))" \
	"set % nr_chunks $nr" "set % table_blocks $tb" "set % data_start $ds" \
	"set % data_chunks $dc"
def ov ov-parent-fp refuse 'set % parent_fp 1'
def ov ov-parent-uuid refuse 'set % parent_uuid hex:0102030405060708090a0b0c0d0e0f10'
for v in 509 0; do
	def ov ov-entries-per-block-$v refuse "set % entries_per_block $v"
done
def ov ov-name-no-nul refuse "set % name $A"
def ov ov-name-slash refuse 'set % name a/b'
def ov ov-name-space refuse "set % name 'a b'"
def ov ov-name-high-byte refuse 'set % name hex:68ff'
def ov ov-name-empty either "set % name ''"
def ov ov-name-junk-after-nul either 'set % name hex:686f7600ff2f41'
def ov ov-reserved-0 refuse 'set % reserved[0] 1'
def ov ov-reserved-15 refuse 'set % reserved[15] 0x8000000000000000'
def ov ov-block-tail-byte either 'set % @4095 1'
def ov ov-uuid-changed stale 'set % uuid hex:00112233445566778899aabbccddeeff'
def ov ov-sb-current-generation-0 attach 'set % generation 0'
def ov ov-sb-generation-max attach 'set % generation 0xffffffffffffffff'
def ov ov-sb-older-copy-version-2 attach "set % version 2 --copy $ov_other_sb"
def ov ov-sb-older-copy-newest-version-2 refuse "set % version 2 --copy $ov_other_sb" \
	"set % generation 1000 --copy $ov_other_sb"
def ov ov-magic-both refuse 'set % magic 0 --copy both'
def ov ov-flip-sb-a attach 'flip % sb-a+300'
def ov ov-flip-sb-a-magic attach 'flip % sb-a+0'
def ov ov-flip-sb-b attach 'flip % sb-b+300'
def ov ov-flip-sb-both refuse 'flip % sb-a+300' 'flip % sb-b+300'
def ov ov-zero-filled refuse 'zero %'
def ov ov-truncated-below-data-start refuse "truncate % $((ov_ds * 512 - 16384))"
def ov ov-truncated-4k refuse 'truncate % 4K'
def ov ov-truncated-8m refuse 'truncate % 8M'

# ---- overlay table
def ov tb-chunk-beyond-data refuse "set-entry % $e0b $e0i chunk $((ov_dc + 1))"
def ov tb-chunk-max refuse "set-entry % $e0b $e0i chunk 0xffffffff"
def ov tb-chunk-bit31 refuse "set-entry % $e0b $e0i chunk $((0x80000000 | e0c))"
def ov tb-chunk-last-data any "set-entry % $e0b $e0i chunk $ov_dc"
def ov tb-valid-zero-overlap refuse "set-entry % $e0b $e0i zero 1"
def ov tb-valid-beyond-granules refuse "set-entry % $e0b $e0i valid 3"
def ov tb-valid-bit15 refuse "set-entry % $e0b $e0i valid 0x8000"
def ov tb-zero-beyond-granules refuse "set-entry % $e0b $e0i zero 2"
def ov tb-valid-without-chunk refuse "set-entry % $e0b $e0i chunk 0"
def ov tb-two-entries-one-chunk refuse "set-entry % $e1b $e1i chunk $e0c"
last=$((ov_tb - 1)) past=$((ov_nc - (ov_tb - 1) * 508))
def ov tb-entry-beyond-nr-chunks refuse "set-entry % $last $past chunk $((ov_dc - 5))"
def ov tb-entry-beyond-nr-chunks-zero refuse "set-entry % $last 507 zero 1"
def ov tb-hdr-index stale "set-entry % $e0b hdr index $((e0b + 1))"
def ov tb-hdr-reserved stale "set-entry % $e0b hdr reserved 1"
def ov tb-hdr-magic stale "set-entry % $e0b hdr magic 0"
def ov tb-hdr-generation-max stale "set-entry % 0 hdr generation 0xffffffffffffffff"
# a forged generation: that slot is ignored, so the block is at its
# previous commit (stale, never garbage)
def ov tb-hdr-generation-max-then-write stale "set-entry % 0 hdr generation 0xffffffffffffffff"
def ov tb-older-slot-hostile attach "set-entry % 0 $e0i chunk 0xffffffff --slot $tb0_old"
def ov tb-older-slot-newest-hostile refuse "set-entry % 0 $e0i chunk 0xffffffff --slot $tb0_old" \
	"set-entry % 0 hdr generation 1000 --slot $tb0_old"
def ov tb-flip-current-slot-0 stale 'flip % tb:0+100'
flips=()
for b in $ov_blocks; do
	flips+=("flip % tb:$b+2000")
done
def ov tb-flip-current-slot-all stale "${flips[@]}"
def ov tb-flip-both-slots-0 stale 'flip % slot:0:0+100' 'flip % slot:0:1+100'
def ov tb-flip-older-slot-0 attach "flip % slot:0:$tb0_old+100"

# ---- snapshot store superblock
def sn sn-pristine attach
def sn@base sn-attached-as-overlay-store refuse
def sn sn-version-2 refuse 'set % version 2'
def sn sn-flags-1 refuse 'set % flags 1'
def sn sn-kind-overlay refuse 'set % kind 1'
def sn@base sn-kind-overlay-via-base refuse 'set % kind 1'
def sn sn-kind-origin refuse 'set % kind 2'
def sn sn-kind-0 refuse 'set % kind 0'
for v in 11 21 31 12; do
	def sn sn-chunk-shift-$v refuse "set % chunk_shift $v"
done
# 4K chunks, data_chunks recomputed
def sn sn-chunk-shift-12-consistent any 'set % chunk_shift 12' \
	"set % data_chunks $(sn_geo 12 $store_sectors)"
def sn sn-next-id-0 refuse 'set % next_id 0'
def sn sn-next-id-2 refuse 'set % next_id 2'
def sn sn-next-id-max either 'set % next_id 0xffffffff'
for v in $((sectors - 8)) $((sectors * 2)) 0 0xffffffffffffffff; do
	def sn sn-origin-sectors-$v refuse "set % origin_sectors $v"
done
for v in $((store_sectors + 8)) 0 0xffffffffffffffff; do
	def sn sn-store-sectors-$v refuse "set % store_sectors $v"
done
def sn sn-store-sectors-half-consistent either "set % store_sectors $((store_sectors / 2))" \
	"set % data_chunks $(sn_geo 16 $((store_sectors / 2)))"
# room for 4 data chunks: the descriptors name more
def sn sn-store-sectors-tiny-consistent refuse 'set % store_sectors 544' \
	"set % data_chunks $(sn_geo 16 544)"
for v in 0 24 0xffffffffffffffff; do
	def sn sn-data-start-$v refuse "set % data_start $v"
done
for v in $((sn_dc + 1)) 0 0xffffffffffffffff; do
	def sn sn-data-chunks-$v refuse "set % data_chunks $v"
done
def sn sn-reserved0 refuse 'set % reserved0 1'
def sn sn-reserved1 refuse 'set % reserved1 1'
def sn sn-reserved-7 refuse 'set % reserved[7] 1'
def sn sn-block-tail-byte either 'set % @4095 1'
# a forged generation: that copy is ignored (the older one is used)
def sn sn-sb-generation-max-then-snapshot either 'set % generation 0xffffffffffffffff'
def sn sn-uuid-changed stale 'set % uuid hex:00112233445566778899aabbccddeeff'
# snapshot slots
def sn sn-snap-duplicate-id refuse 'set % snap1.id 1'
def sn sn-snap-id-next-id refuse "set % snap1.id $sn_next"
def sn sn-snap-flags-unknown refuse 'set % snap0.flags 17'
# one revert at a time: two REVERTING snapshots (flag 8) are refused (a
# single one is a revert to resume: attach would roll the origin back)
def sn sn-snap-two-reverting refuse 'set % snap0.flags 9' 'set % snap1.flags 9'
def sn sn-snap-flags-bit31 refuse 'set % snap0.flags 0x80000001'
def sn sn-snap-flags-not-live refuse 'set % snap0.flags 0'
def sn sn-snap-flags-block-writes either 'set % snap0.flags 5'
def sn sn-snap-flags-invalid any 'set % snap0.flags 3'
def sn sn-snap-empty-slot-name refuse 'set % snap5.name x'
def sn sn-snap-empty-slot-fp refuse 'set % snap31.fp 1'
def sn sn-snap-name-no-nul refuse "set % snap0.name $A"
def sn sn-snap-name-slash refuse 'set % snap0.name a/b'
def sn sn-snap-reserved0 refuse 'set % snap0.reserved0 1'
def sn sn-snap-reserved refuse 'set % snap1.reserved 1'
def sn sn-snap-fp refuse 'set % snap0.fp 1'
def sn sn-snap-created-max either 'set % snap0.created 0xffffffffffffffff'
def sn sn-snap-moved-to-slot-7 either 'set % snap7.id 1' 'set % snap7.flags 1' \
	"set % snap7.created $s0_created" 'set % snap7.name hs1' "set % snap7.fp $s0_fp" \
	'set % snap0.id 0' 'set % snap0.flags 0' 'set % snap0.created 0' \
	"set % snap0.name ''" 'set % snap0.fp 0'
# descriptors
def sn sn-desc-chunk-beyond-origin refuse "set-desc % $d_shared chunk $((size / 65536))"
def sn sn-desc-chunk-max refuse "set-desc % $d_shared chunk 0xffffffffffffffff"
def sn sn-desc-chunk-other any "set-desc % $d_shared chunk $((size / 65536 - 1))"
def sn sn-desc-first-gt-last refuse "set-desc % $d_shared first 2" "set-desc % $d_shared last 1"
def sn sn-desc-first-0 refuse "set-desc % $d_shared first 0"
def sn sn-desc-last-next-id refuse "set-desc % $d_shared last $sn_next"
def sn sn-desc-private-run refuse "set-desc % $d_shared flags 3"
def sn sn-desc-private-first-ne-last refuse "set-desc % $d_priv first 1"
def sn sn-desc-overlapping-runs refuse "set-desc % $d_two first 1"
def sn sn-desc-two-runs-one-chunk refuse \
	"set-desc % $d_shared2 chunk $d_shared_chunk"
def sn sn-desc-flags-unknown refuse "set-desc % $d_shared flags 9"
# a DONE mark (4) with no revert running is stale: ignored and cleared
def sn sn-desc-flags-done-stale attach "set-desc % $d_shared flags 5"
def sn sn-desc-flags-private-only refuse "set-desc % $d_shared flags 2"
def sn sn-desc-flags-bit31 refuse "set-desc % $d_shared flags 0x80000001"
def sn sn-desc-reserved refuse "set-desc % $d_shared reserved 1"
def sn sn-desc-loc-beyond-data refuse "set-desc % $((sn_dc + 30)) chunk 100" \
	"set-desc % $((sn_dc + 30)) first 1" "set-desc % $((sn_dc + 30)) last 1" \
	"set-desc % $((sn_dc + 30)) flags 1"
def sn sn-desc-new-record any "set-desc % 200 chunk 100" "set-desc % 200 first 1" \
	"set-desc % 200 last 1" "set-desc % 200 flags 1"
def sn sn-desc-hdr-index stale 'set-desc % hdr:0 index 1'
def sn sn-desc-hdr-generation-max stale 'set-desc % hdr:0 generation 0xffffffffffffffff'
def sn sn-desc-older-slot-hostile attach "set-desc % $d_shared chunk 0xffffffffffffffff --slot $sd0_old"
def sn sn-desc-flip-current-slot stale 'flip % desc:0+100'
def sn sn-desc-flip-both-slots stale 'flip % slot:0:0+100' 'flip % slot:0:1+100'
def sn sn-desc-flip-older-slot attach "flip % slot:0:$sd0_old+100"
# the current superblock copy is the only one that knows snapshot 2:
# losing it may refuse the store (the older copy cannot serve)
def sn sn-flip-sb-current either "flip % sb-$sn_cur_sb+300"
def sn sn-flip-sb-older attach "flip % sb-$sn_other_sb+300"
def sn sn-flip-sb-both refuse 'flip % sb-a+300' 'flip % sb-b+300'
def sn sn-zero-filled refuse 'zero %'
def sn sn-truncated-below-data-start refuse 'truncate % 4K'
def sn sn-truncated-to-data-start refuse 'truncate % 8K'
def sn sn-truncated-8m refuse 'truncate % 8M'

diag "${#C_NAME[@]} cases"

# ------------------------------------------------------------- run them
# One loop device per store kind, on a work file that storetool restores
# from the pristine image after each case.
ovw=$SB_TMP/ov-work.img snw=$SB_TMP/sn-work.img
st "work $ovw $ovf" || sb_bail "storetool work: $ST_OUT"
st "work $snw $snf" || sb_bail "storetool work: $ST_OUT"
ovwl=$(sb_loop "$ovw") || sb_bail "losetup failed"
snwl=$(sb_loop "$snw") || sb_bail "losetup failed"
klog_new
kernel_bad=0

# cmp_dev DEV MODEL EXP: DEV reads like MODEL; with EXP stale, every 4K
# block like one of MODEL and the models in $cmp_more. Prints what is wrong.
cmp_dev() {
	local cmp_more=${cmp_more:-}

	if [ "$3" = stale ]; then
		# shellcheck disable=SC2086 # a list
		st "blockcmp $1 $2 $cmp_more" && diag "    $1: ${ST_OUT%$'\n'}" >&2 && return 0
		printf ' %s' "$1: garbage (${ST_OUT%$'\n'})"
		return 1
	fi
	"$PATTERN" cmp "$1" "$2" >/dev/null 2>&1 && return 0
	printf ' %s' "$1 reads wrong data"
	return 1
}

# verify_sn EXP DEV...: the snapshot devices an attach made read right
verify_sn() {
	local exp=$1 d n m seen='' why=''

	shift
	for d in "$@"; do
		n=
		read -r n <"/sys/block/${d#/dev/}/snapblk/name"
		case $n in
		hs1) m=$s1_model ;;
		hs2) m=$s2_model ;;
		*) why+=" $d has name '$n'"; continue ;;
		esac
		seen+=" $n"
		why+=$(cmp_more="$o_model $s1_model $s2_model" cmp_dev "$d" "$m" "$exp")
	done
	[ "$seen" = " hs1 hs2" ] || [ "$seen" = " hs2 hs1" ] || why+=" snapshots attached:${seen:- none}"
	printf '%s' "$why"
}

tdiffs() { # tdiffs T0 [NAME T]...: milliseconds from T0 to each T
	local t0=${1/./}

	shift
	while [ $# -ge 2 ]; do
		printf ' %s %d' "$1" $(((${2/./} - t0) / 1000))
		shift 2
	done
}

# rewrite_check DEV STORE: write new data into unmapped chunks of table
# block 0 (the 64K at 1536K), flush, detach, attach STORE again; the new
# data must be there. Leaves the new device in $SB_DEV. Prints what is wrong.
rewrite_check() {
	local dev=$1 loop=$2 m=$SB_TMP/rewrite.img

	SB_DEV='' RW_WHY=''
	if ! cp "$ov_model" "$m" || ! "$PATTERN" write "$m" 11 1536K 64K >/dev/null; then
		RW_WHY=" cannot make the model"
	elif ! "$PATTERN" write "$dev" 11 1536K 64K >/dev/null || ! sync "$dev"; then
		RW_WHY=" the write failed"
	elif ! "$SNAPBLKCTL" detach "$dev" >/dev/null 2>&1; then
		RW_WHY=" detach failed"
	elif ! SB_DEV=$(timeout 60 "$SNAPBLKCTL" attach "$loop" --base "$base" 2>&1); then
		RW_WHY=" attach again failed: $SB_DEV"
		SB_DEV=''
	else
		_sb_reg dev "$SB_DEV"
		"$PATTERN" cmp "$SB_DEV" "$m" >/dev/null 2>&1 ||
			RW_WHY=" after detach and attach the new data is lost ($(python3 -S \
				"$SB_DIR/storetool.py" blockcmp "$SB_DEV" "$m" "$ov_model"))"
	fi
}

# rewrite_check_sn STORE DEV...: with the snapshots DEV... of STORE
# attached, take a third one (hs3), detach all, attach STORE again: hs1,
# hs2 and hs3 must come back with their data. Leaves the devices in
# $RW_DEVS, what is wrong in $RW_WHY.
rewrite_check_sn() {
	local loop=$1 d n out why=''

	shift
	RW_DEVS=() RW_WHY=''
	if ! out=$(timeout 60 "$SNAPBLKCTL" snapshot "$origin" "$loop" --name hs3 2>&1); then
		RW_WHY=" snapshot hs3 failed: $out"
		RW_DEVS=("$@")
		return
	fi
	_sb_reg dev "$out"
	for d in "$out" "$@"; do
		"$SNAPBLKCTL" detach "$d" >/dev/null 2>&1 || RW_WHY+=" detach $d failed"
	done
	if ! out=$(timeout 60 "$SNAPBLKCTL" attach "$loop" --origin "$origin" 2>&1); then
		RW_WHY+=" attach again failed: $out"
		return
	fi
	for d in $out; do
		_sb_reg dev "$d"
		RW_DEVS+=("$d")
		read -r n <"/sys/block/${d#/dev/}/snapblk/name"
		case $n in
		hs1) why+=$(cmp_dev "$d" "$s1_model" attach) ;;
		hs2) why+=$(cmp_dev "$d" "$s2_model" attach) ;;
		hs3) why+=$(cmp_dev "$d" "$o_model" attach) ;;
		esac
		RW_NAMES+=" $n"
	done
	[ ${#RW_DEVS[@]} = 3 ] || why+=" after detach and attach the store holds ${#RW_DEVS[@]} snapshots:$RW_NAMES"
	RW_WHY+=$why
}

run_case() {
	local name=$1 store=$2 exp=$3 ops=$4 work loop op rc out err got
	local why='' ok=0 devs=() d leftover='' resize=0 t0=$EPOCHREALTIME tl=''

	# shellcheck disable=SC2254 # a glob: SNAPBLK_HOSTILE_CASES picks cases
	case $name in
	${SNAPBLK_HOSTILE_CASES:-*}) ;;
	*) return 0 ;;
	esac

	case $store in
	ov*) work=$ovw loop=$ovwl ;;
	*) work=$snw loop=$snwl ;;
	esac
	while IFS= read -r op; do
		[ -n "$op" ] || continue
		st "${op//%/$work}" || { sb_notok "$name: storetool $op: $ST_OUT"; st "restore $work"; return; }
		case $op in truncate* | zero*) resize=1 ;; esac
	done <<<"$ops"
	[ $resize = 1 ] && losetup -c "$loop"
	tl+=" mutate $EPOCHREALTIME"
	case $store in
	ov | sn@base) set -- --base "$base" ;;
	*) set -- --origin "$origin" ;;
	esac
	timeout 60 "$SNAPBLKCTL" attach "$loop" "$@" >"$SB_TMP/.out" 2>"$SB_TMP/.err"
	rc=$?
	tl+=" attach $EPOCHREALTIME"
	_sb_slurp out "$SB_TMP/.out"
	_sb_slurp err "$SB_TMP/.err"
	for d in $out; do
		[[ $d =~ ^/dev/snapblk[0-9]+$ ]] && { _sb_reg dev "$d"; devs+=("$d"); }
	done

	if [ $rc -eq 124 ]; then
		got="HANG (attach did not return in 60 s)"
	elif [ $rc -ge 126 ]; then
		got="snapblkctl died (exit $rc)"
	elif [ $rc -ne 0 ]; then
		got="refused"
		if [ -z "$err" ] || [[ $err == *$'\n'* ]]; then
			got+=" with $(_sb_lines "$err") stderr lines"
		elif [ -n "$out" ]; then
			got+=" after printing '$out'"
		else
			ok=1
		fi
		got+=" (exit $rc: $err)"
	else
		got="attached"
		if [ "${store%@*}" = ov ]; then
			if [ ${#devs[@]} -ne 1 ]; then
				why=" output '$out'"
			else
				why=$(cmp_more="$ov_mid $basef" cmp_dev "${devs[0]}" "$ov_model" "$exp")
			fi
		else
			why=$(verify_sn "$exp" "${devs[@]}")
		fi
		if [ -z "$why" ] && [ "$exp" = stale ]; then
			got+=", no garbage"
			ok=2
		elif [ -z "$why" ]; then
			got+=", data ok"
			ok=2
		else
			got+=", but:$why"
			ok=3
		fi
	fi
	if [ $ok = 2 ] && [ "$exp" = rewrite ]; then
		if [ "${store%@*}" = ov ]; then
			rewrite_check "${devs[0]}" "$loop"
			devs=()
			[ -n "$SB_DEV" ] && devs=("$SB_DEV")
		else
			RW_NAMES=''
			rewrite_check_sn "$loop" "${devs[@]}"
			devs=("${RW_DEVS[@]}")
		fi
		st "dirty $work"
		if [ -n "$RW_WHY" ]; then
			got+=", then:$RW_WHY"
			ok=3
		else
			got+=", then new data written, kept after detach and attach"
		fi
	fi
	tl+=" verify $EPOCHREALTIME"
	for ((d = ${#devs[@]} - 1; d >= 0; d--)); do
		"$SNAPBLKCTL" detach "${devs[d]}" >/dev/null 2>"$SB_TMP/.err" ||
			leftover+="; detach ${devs[d]} failed: $(cat "$SB_TMP/.err")"
	done
	if [ $rc -ne 124 ] && ! st "excl $loop"; then
		sleep 0.5
		st "excl $loop" || leftover+="; the store is still claimed (${ST_OUT%$'\n'})"
	fi
	got+=$leftover
	st "restore $work" || sb_bail "storetool restore: $ST_OUT"
	[ $resize = 1 ] && losetup -c "$loop"

	klog_new
	tl+=" end $EPOCHREALTIME"
	# shellcheck disable=SC2086 # a list
	[ -n "${SNAPBLK_HOSTILE_DEBUG:-}" ] && diag "  $name: ms:$(tdiffs "$t0" $tl)"
	if [[ $KLOG =~ $KBAD ]]; then
		got+="; KERNEL: $(grep -E "$KBAD" <<<"$KLOG" | head -n 3)"
		kernel_bad=1
		ok=0
	fi

	local good=0
	case $exp in
	refuse) [ $ok = 1 ] && good=1 ;;
	attach | rewrite) [ $ok = 2 ] && good=1 ;;
	either | stale) { [ $ok = 1 ] || [ $ok = 2 ]; } && good=1 ;;
	any) [ $ok != 0 ] && good=1 ;;
	esac
	[ -n "$leftover" ] && good=0
	if [ $good = 1 ]; then
		sb_ok "$name: expected $exp, got $got"
	else
		sb_notok "$name: expected $exp, got $got"
		[ -n "$KLOG" ] && diag "$(printf '%s' "$KLOG" | tail -n 20 | sed 's/^/  kernel: /')"
	fi
	[ $rc -eq 124 ] && sb_bail "attach hung in case $name"
}

for i in "${!C_NAME[@]}"; do
	run_case "${C_NAME[i]}" "${C_STORE[i]}" "${C_EXP[i]}" "${C_OPS[i]}"
done

st "check $ovw"
check_eq "the overlay work image was restored after the last case" "$ST_OUT" ""
st "check $snw"
check_eq "the snapshot work image was restored after the last case" "$ST_OUT" ""
check "origin still reads its data" sb_cmp "$origin" "$o_model"
check "base unchanged" sb_verify "$base" 1 0 $size
dmesg | grep -qE 'BUG|WARNING|Oops' && kernel_bad=1
check_eq "no BUG/WARNING/Oops in the kernel log" "$kernel_bad" 0
sb_done
