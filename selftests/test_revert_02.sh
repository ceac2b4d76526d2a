#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_revert_02 - revert the middle one of three snapshots. An origin O
# (32M, over a dm-delay device whose writes are slowed during the revert)
# and snapshots S1, S2, S3 of three moments, with different writes between
# them and after S3 (regions changed before S2 only, between S2 and S3
# only, after S3 only, and overlapping). `revert S2` (no --wait): O reads
# S2's moment at once; S1 and S3 read exactly their moments while the
# revert runs and after it. Writes to O while the revert runs, six at
# once (dd oflag=direct: 512 B, 1.5K and 3.5K at odd sectors inside
# chunks that S2 differs in, 4K, 64K+512 across a chunk boundary, and
# 128K where S2 does not differ) are kept: O reads them at once, and when
# `snapblkctl wait ORIGIN` returns, S2 is gone, O is active and reads
# S2's moment overlaid with those writes, byte for byte.
# Persistence: everything detached, the origin made again and the stores
# attached: S1 and S3 come back with their moments, S2 does not; new
# origin writes still copy out for them.
# Round a: S1, S2, S3 in one store. Round b: S2 alone in its store, S1
# and S3 in another.

# check_true evaluates its single-quoted condition later:
# shellcheck disable=SC2016

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd python3 blockdev
require_kmod loop
# the disk under the origin is a slow disk, so that a revert runs long
# enough to be watched; without dm-delay the checks that need a running
# revert are skipped
sb_slow_probe || diag "no dm-delay: the revert may end before it can be watched"

size=$((32 * MiB))
chunk=$((64 * KiB))

# shellcheck disable=SC2317 # called through check
# dw DEV MODEL SEED OFFSET LENGTH: one write of LENGTH bytes (the pattern
# of SEED) at OFFSET, with dd oflag=direct, and the same in the MODEL file
dw() {
	local src

	src=$(sb_file "dw.$3" "$5" "$3") || return 1
	dd if="$src" of="$1" bs="$5" count=1 seek="$4" oflag=direct,seek_bytes status=none || return 1
	dd if="$src" of="$2" bs="$5" count=1 seek="$4" oflag=seek_bytes conv=notrunc status=none
}

# names_of PATHS: the sorted snapblk names of the devices printed
names_of() {
	local p

	for p in $1; do
		sb_sysfs "$p" name
	done | sort | tr '\n' ' '
}

# round TAG STORE1 STORE2 STORE3: STOREi (a or b) is where Si lives
round() {
	local t=$1 dm=sbrev02$1.$$ o=o02$1 i rc running still t0 t1 wrc sts sto
	local diskf loop disk origin ok model m1 m2 m3 mf store out
	local -A sn=() sk=() ss=() st=()

	diag "---- round $t: S1 on store $2, S2 on store $3, S3 on store $4"
	diskf=$(sb_file "disk$t.img" $size 1) || sb_bail "cannot create the disk image"
	model=$(sb_copy "$diskf" "model$t.img") || sb_bail "cannot copy the disk image"
	loop=$(sb_loop "$diskf") || sb_bail "losetup failed"
	disk=$(sb_slow_disk "$dm" "$loop") || sb_bail "dmsetup create over $loop failed"
	st[a]=$(sb_loop "$(sb_file "store$t-a.img" $((64 * MiB)))") || sb_bail "losetup failed"
	st[b]=$(sb_loop "$(sb_file "store$t-b.img" $((64 * MiB)))") || sb_bail "losetup failed"
	ss[1]=${st[$2]} ss[2]=${st[$3]} ss[3]=${st[$4]}
	sb_origin "$disk" --name "$o" || sb_bail "snapblkctl origin $disk failed"
	origin=$SB_DEV
	ok=$(sb_kname "$origin")

	# the three moments: A = 2M-6M changes before S2 only; B = 4M-10M
	# and C = 16M-20M between S2 and S3; D = 8M-14M, E = 0-1M and F =
	# 20M-28M after S3
	m1=$(sb_copy "$model" "m1$t.img") || sb_bail "cannot copy the model"
	sb_snapshot "$o" "${ss[1]}" --name "${t}s1" || sb_bail "snapshot ${t}s1 failed"
	sn[1]=$SB_DEV
	check "[$t] after S1: 4M at 2M" sb_write "$origin" "$model" 2 $((2 * MiB)) $((4 * MiB)) 256K
	check "[$t] after S1: 20 random writes" sb_scatter "$origin" "$model" 3 20 4K 128K 4K
	m2=$(sb_copy "$model" "m2$t.img") || sb_bail "cannot copy the model"
	sb_snapshot "$o" "${ss[2]}" --name "${t}s2" || sb_bail "snapshot ${t}s2 failed"
	sn[2]=$SB_DEV
	check "[$t] after S2: 6M at 4M" sb_write "$origin" "$model" 4 $((4 * MiB)) $((6 * MiB))
	check "[$t] after S2: 4M at 16M" sb_write "$origin" "$model" 5 $((16 * MiB)) $((4 * MiB)) 64K
	check "[$t] after S2: 512B in the middle of a chunk at 24M" \
		sb_write "$origin" "$model" 6 $((24 * MiB + 7 * 512)) 512 512
	m3=$(sb_copy "$model" "m3$t.img") || sb_bail "cannot copy the model"
	sb_snapshot "$o" "${ss[3]}" --name "${t}s3" || sb_bail "snapshot ${t}s3 failed"
	sn[3]=$SB_DEV
	check "[$t] after S3: 6M at 8M" sb_write "$origin" "$model" 7 $((8 * MiB)) $((6 * MiB)) 128K
	check "[$t] after S3: 1M at 0" sb_write "$origin" "$model" 8 0 $MiB 4K
	check "[$t] after S3: 8M at 20M" sb_write "$origin" "$model" 10 $((20 * MiB)) $((8 * MiB))
	check "[$t] after S3: 15 random writes" sb_scatter "$origin" "$model" 9 15 512 64K 512
	for i in 1 2 3; do
		sk[$i]=$(sb_kname "${sn[$i]}")
	done
	diag "origin $origin; S1 ${sn[1]}, S2 ${sn[2]}, S3 ${sn[3]}"
	check "[$t] S1 reads its moment" sb_cmp "${sn[1]}" "$m1"
	check "[$t] S2 reads its moment" sb_cmp "${sn[2]}" "$m2"
	check "[$t] S3 reads its moment" sb_cmp "${sn[3]}" "$m3"
	check "[$t] O reads the latest data" sb_cmp "$origin" "$model"

	# ---- revert S2 with the disk's writes slowed down
	sb_slow_set "$dm" 2000 0 || sb_bail "cannot slow down $disk"
	t0=$(sb_now_ms)
	sb_ctl revert "${t}s2"
	t1=$(sb_now_ms)
	rc=$SB_RC
	if [ -e "/sys/block/${sk[2]}" ]; then running=1; else running=0; fi
	sts=$(sb_sysfs "${sk[2]}" state)
	sto=$(sb_sysfs "$ok" state)
	[ -e "/sys/block/${sk[2]}" ] || running=0
	diag "revert returned after $((t1 - t0)) ms; S2 state '$sts', O state '$sto'"
	if [ "$rc" -ne 0 ]; then
		_sb_show_ctl revert "${t}s2"
		sb_bail "snapblkctl revert ${t}s2 failed"
	fi
	sb_ok "[$t] revert S2 exits 0"
	check "[$t] O reads S2's moment as soon as revert returns" sb_cmp "$origin" "$m2"
	if [ $running -eq 1 ]; then
		check_eq "[$t] while reverting: S2 state" "$sts" reverting
		check_eq "[$t] while reverting: O state" "$sto" reverting
	else
		sb_skip_one "[$t] while reverting: states" "the revert ended before it could be watched"
	fi
	# origin writes while the revert runs, all at once, into chunks S2
	# differs in (C, B/D, E, D, A/B) and one it does not (30M)
	mf=$(sb_copy "$m2" "mf$t.img") || sb_bail "cannot copy the model"
	local -a wd=(
		"512B at an odd sector of a chunk changed after S2 (C)"
		"4K at 9M+12K (B and D)"
		"1.5K at an odd sector of a chunk changed after S3 (E)"
		"64K+512 across a chunk boundary at 12M-512 (D)"
		"3.5K at an odd sector of a chunk changed before and after S2 (A, B)"
		"128K at 30M (chunks S2 does not differ in)"
	)
	local -a wo=($((16 * MiB + 3 * chunk + 7 * 512)) $((9 * MiB + 12 * KiB))
		$((512 * KiB + 5 * 512)) $((12 * MiB - 512)) $((5 * MiB + 4 * chunk + 512))
		$((30 * MiB)))
	local -a wl=(512 4096 1536 $((chunk + 512)) 3584 $((128 * KiB)))
	local -a wp=()
	if [ -e "/sys/block/${sk[2]}" ]; then still=1; else still=0; fi
	for i in "${!wd[@]}"; do
		(
			dw "$origin" "$mf" $((20 + i)) "${wo[$i]}" "${wl[$i]}" >"$SB_TMP/dw.$i.log" 2>&1
			echo $? >"$SB_TMP/dw.$i.rc"
		) &
		wp+=($!)
		sb_register_pid $!
	done
	diag "the revert was $([ $still -eq 1 ] || echo "no longer ")running when the writes began"
	check "[$t] while reverting and writing: S1 reads its moment" sb_cmp "${sn[1]}" "$m1"
	check "[$t] while reverting and writing: S3 reads its moment" sb_cmp "${sn[3]}" "$m3"
	wait "${wp[@]}"
	for i in "${!wd[@]}"; do
		check_eq "[$t] while reverting: ${wd[$i]}" "$(cat "$SB_TMP/dw.$i.rc")" 0 ||
			diag_file "$SB_TMP/dw.$i.log"
	done
	if [ -e "/sys/block/${sk[2]}" ]; then still=1; else still=0; fi
	diag "after the writes the revert is $([ $still -eq 1 ] && echo "still running, at $(sb_sysfs "$ok" progress)%" || echo over)"
	for i in "${!wd[@]}"; do
		check "[$t] after the writes: O holds the write of ${wd[$i]}" \
			"$PATTERN" cmp "$origin" "$mf" "${wo[$i]}" "${wl[$i]}"
	done
	check "[$t] after the writes: O reads S2's moment with the new writes" sb_cmp "$origin" "$mf"
	check "[$t] after the writes: S1 still reads its moment" sb_cmp "${sn[1]}" "$m1"
	check "[$t] after the writes: S3 still reads its moment" sb_cmp "${sn[3]}" "$m3"

	# ---- the end: `wait ORIGIN` from before the delay is lifted
	if [ -e "/sys/block/${sk[2]}" ]; then still=1; else still=0; fi
	"$SNAPBLKCTL" wait "$o" >"$SB_TMP/wait.out" 2>"$SB_TMP/wait.err" &
	wp=($!)
	sb_register_pid $!
	check "[$t] lift the write delay" sb_slow_set "$dm" 0
	t0=$(sb_now_ms)
	wait "${wp[0]}"
	wrc=$?
	t1=$(sb_now_ms)
	diag "wait $o: exit $wrc, $((t1 - t0)) ms after the delay was lifted; $(wc -l <"$SB_TMP/wait.err") lines on stderr"
	check_eq "[$t] wait ORIGIN exits 0" "$wrc" 0 || diag_file "$SB_TMP/wait.err"
	if [ $still -eq 1 ]; then
		check_eq "[$t] wait ORIGIN: the last line on stderr" \
			"$(tail -n 1 "$SB_TMP/wait.err")" "progress: 100%"
	fi
	check "[$t] S2 is gone when wait ORIGIN returns" sb_wait_gone "/sys/block/${sk[2]}" 1
	sb_ctl list --json
	check "[$t] list --json: S2 gone, S1 and S3 there" sb_json_check "$SB_OUT" \
		"not [d for d in j if d.get('name') == '${t}s2']" \
		"sorted(d['name'] for d in j if d.get('parent') in ('$origin', '$o', '$ok')) == ['${t}s1', '${t}s3']"
	check_eq "[$t] O state" "$(sb_sysfs "$ok" state)" active
	check_eq "[$t] S1 state" "$(sb_sysfs "${sk[1]}" state)" active
	check_eq "[$t] S3 state" "$(sb_sysfs "${sk[3]}" state)" active
	check "[$t] O reads S2's moment with the writes made during the revert" sb_cmp "$origin" "$mf"
	check "[$t] S1 reads its moment" sb_cmp "${sn[1]}" "$m1"
	check "[$t] S3 reads its moment" sb_cmp "${sn[3]}" "$m3"

	# ---- persistence
	check "[$t] detach S1" sb_detach "${t}s1"
	check "[$t] detach S3" sb_detach "${t}s3"
	check "[$t] detach O" sb_detach "$o"
	sb_drop_caches
	check "[$t] the disk holds S2's moment with the writes" sb_cmp "$diskf" "$mf"
	sb_origin "$disk" --name "$o" || sb_bail "snapblkctl origin $disk failed (second time)"
	origin=$SB_DEV
	ok=$(sb_kname "$origin")
	out=
	for store in $(printf '%s\n' "${ss[1]}" "${ss[3]}" | sort -u); do
		sb_ctl attach "$store" --origin "$o"
		check_eq "[$t] attach $store --origin $o exits 0" "$SB_RC" 0 || _sb_show_ctl attach "$store"
		out="$out $SB_OUT"
	done
	check_eq "[$t] attach brings back S1 and S3" "$(names_of "$out")" "${t}s1 ${t}s3 "
	if [ "${ss[2]}" != "${ss[1]}" ] && [ "${ss[2]}" != "${ss[3]}" ]; then
		sb_ctl attach "${ss[2]}" --origin "$o"
		diag "attach of S2's store: exit $SB_RC, stdout '$SB_OUT', stderr '$SB_ERR'"
		check_eq "[$t] attach of S2's store brings back no S2" "$(names_of "$SB_OUT")" ""
	fi
	check_true "[$t] no device named ${t}s2" '! [ -e "/sys/block/$(sb_kname "${t}s2")" ]'
	for i in 1 3; do
		sn[$i]=/dev/$(sb_kname "${t}s$i")
	done
	check "[$t] after attach: S1 reads its moment" sb_cmp "${sn[1]}" "$m1"
	check "[$t] after attach: S3 reads its moment" sb_cmp "${sn[3]}" "$m3"
	check "[$t] after attach: O reads as before" sb_cmp "$origin" "$mf"
	check "[$t] origin: 3M at 1M after attach" sb_write "$origin" "$mf" 30 $MiB $((3 * MiB)) 256K
	check "[$t] origin: 512B at 16M+7.5K after attach" \
		sb_write "$origin" "$mf" 31 $((16 * MiB + 15 * 512)) 512 512
	check "[$t] S1 still reads its moment" sb_cmp "${sn[1]}" "$m1"
	check "[$t] S3 still reads its moment" sb_cmp "${sn[3]}" "$m3"
	check "[$t] O reads its writes" sb_cmp "$origin" "$mf"
	check "[$t] detach S1" sb_detach "${t}s1"
	check "[$t] detach S3" sb_detach "${t}s3"
	check "[$t] detach O" sb_detach "$o"
	rm -f "$model" "$m1" "$m2" "$m3" "$mf"
}

round a a a a
round b b a b

sb_done
