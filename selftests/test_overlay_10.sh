#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_10 - fio verify on an overlay: random writes of 512 B to
# 1 MiB at offsets not aligned to chunks, direct, queue depth 8, each
# block checked with crc32c; then fio --verify_only after detach + attach.
# Also reports overlay vs raw loop throughput (informational only).

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd fio
require_kmod loop

size=$((32 * MiB))
engine=libaio
fio --enghelp 2>/dev/null | grep -qx '[[:space:]]*libaio' || engine=psync
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $((48 * MiB)))") || sb_bail "losetup failed"
sb_overlay "$base" "$store" || sb_bail "snapblkctl overlay failed"
dev=$SB_DEV

# vfio DEV [ARGS...]: the verify job on DEV
vfio() {
	local d=$1

	shift
	fio --name=v --filename="$d" --rw=randwrite --bsrange=512-1M \
		--offset=1536 --size=$((24 * MiB)) --direct=1 --ioengine=$engine \
		--iodepth=8 --verify=crc32c --verify_fatal=1 --randseed=4242 "$@" \
		>"$SB_TMP/fio.log" 2>&1
}

if vfio "$dev" --do_verify=1; then
	sb_ok "fio randwrite 512-1M, crc32c verify"
else
	sb_notok "fio randwrite 512-1M, crc32c verify"
	diag_file "$SB_TMP/fio.log"
fi
check "base unchanged" sb_verify "$base" 1 0 $size
check "detach" sb_detach "$dev"
sb_drop_caches
sb_attach "$store" "$base" || sb_bail "attach failed"
dev=$SB_DEV
if vfio "$dev" --verify_only; then
	sb_ok "fio --verify_only after detach + attach"
else
	sb_notok "fio --verify_only after detach + attach"
	diag_file "$SB_TMP/fio.log"
fi
check "the range fio did not touch shows the base" sb_verify "$dev" 1 0 1536

# throughput, informational: a raw loop device vs a fresh overlay
rawdev=$(sb_loop "$(sb_file raw.img $size)") || sb_bail "losetup failed"
base2=$(sb_loop "$(sb_file base2.img $size 3)") || sb_bail "losetup failed"
store2=$(sb_loop "$(sb_file store2.img $((48 * MiB)))") || sb_bail "losetup failed"
sb_overlay "$base2" "$store2" || sb_bail "second overlay failed"
ov=$SB_DEV
bw() { # bw DEV RW BS: bytes per second
	fio --name=bw --filename="$1" --rw="$2" --bs="$3" --size=$((8 * MiB)) --direct=1 \
		--ioengine=$engine --iodepth=4 --output-format=json 2>/dev/null |
		python3 -c 'import json, sys
j = json.load(sys.stdin)["jobs"][0]
print(j["write" if j["write"]["io_bytes"] else "read"]["bw_bytes"])' 2>/dev/null || echo 0
}
mibs() { echo "$(($1 / MiB)) MiB/s"; }
for spec in write:1M randread:4K; do
	r=$(bw "$rawdev" "${spec%%:*}" "${spec#*:}")
	o=$(bw "$ov" "${spec%%:*}" "${spec#*:}")
	diag "$(printf '%-10s %-3s raw loop %10s   overlay %10s' "${spec%%:*}" "${spec#*:}" "$(mibs "$r")" "$(mibs "$o")")"
done
check "throughput runs left the base of the second overlay alone" sb_verify "$base2" 3 0 $size

sb_done
