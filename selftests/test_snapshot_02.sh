#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_snapshot_02 - snapshots of four moments: S1, S2 and S4 share one
# store, S3 lives in a second store of the same origin; between the
# moments the origin gets different random writes. Each Si must read
# exactly like the origin at its moment (checksums taken on the origin
# right before each snapshot), also after later writes.
# Then snapshots taken while a writer keeps rewriting a region of the
# origin in whole 64K blocks, sequentially, one pass after the other with
# a new pattern per pass (one in the shared store, one in the second
# store): every block of such a snapshot must be the whole block of one
# pass (or the data from before the writer), and the passes seen must
# form a point in time of a sequential writer: block by block the version
# never increases and spans at most two consecutive versions.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd python3
require_kmod loop

size=$((32 * MiB))
blk=$((64 * KiB))
diskf=$(sb_file disk.img $size 1) || sb_bail "cannot create the disk image"
model=$(sb_copy "$diskf" model.img) || sb_bail "cannot copy the disk image"
disk=$(sb_loop "$diskf") || sb_bail "losetup failed"
storea=$(sb_loop "$(sb_file storea.img $((100 * MiB)))") || sb_bail "losetup failed"
storeb=$(sb_loop "$(sb_file storeb.img $((100 * MiB)))") || sb_bail "losetup failed"
sb_origin "$disk" --name o02 || sb_bail "snapblkctl origin failed"
origin=$SB_DEV

psum() { "$PATTERN" sum "$1"; }

# moment I STORE: checksum the origin, take snapshot sI on STORE
declare -A snap=() msum=()
moment() {
	msum[$1]=$(psum "$origin")
	if sb_snapshot o02 "$2" --name "s$1"; then
		snap[$1]=$SB_DEV
		sb_ok "S$1: snapshot on $2 ($SB_DEV)"
	else
		sb_bail "S$1: snapshot on $2 failed"
	fi
}

moment 1 "$storea"
check "writes after S1 (30 random, 4K-256K)" sb_scatter "$origin" "$model" 2 30 4K 256K 4K
moment 2 "$storea"
check "writes after S2 (30 random, 512B-200K)" sb_scatter "$origin" "$model" 3 30 512 200K 512
check "a 2M write after S2" sb_write "$origin" "$model" 30 $((3 * MiB + 512)) $((2 * MiB)) 512K
moment 3 "$storeb"
check "writes after S3 (30 random, 4K-128K)" sb_scatter "$origin" "$model" 4 30 4K 128K 4K
moment 4 "$storea"
check "writes after S4 (40 random, 512B-64K)" sb_scatter "$origin" "$model" 5 40 512 64K 512
check "a write over the whole first 1M after S4" sb_write "$origin" "$model" 50 0 $MiB 64K

check_true "the four moments differ" \
	'[ "$(printf "%s\n" "${msum[@]}" | sort -u | wc -l)" -eq 4 ]'
check_eq "S1 reads like the origin at its moment" "$(psum "${snap[1]}")" "${msum[1]}"
diag "store_used: S1 $(sb_sysfs "${snap[1]}" store_used), S3 $(sb_sysfs "${snap[3]}" store_used)"

# ---- snapshots while a sequential writer rewrites the region R
roff=$((8 * MiB))
rlen=$((4 * MiB))
pre=$SB_TMP/pre.img
check "origin reads the latest data" sb_cmp "$origin" "$model"
cp "$model" "$pre" || sb_bail "cannot copy the model"
passes=$SB_TMP/passes
stop=$SB_TMP/stop
: >"$passes"
(
	p=0
	while ! [ -e "$stop" ] && [ $p -lt 60 ]; do
		"$PATTERN" write -b $blk "$origin" $((100 + p)) $roff $rlen || { echo "fail $p" >>"$passes"; exit 1; }
		echo $p >>"$passes"
		p=$((p + 1))
	done
) &
writer=$!
sb_register_pid $writer
for ((i = 0; i < 600; i++)); do
	[ -s "$passes" ] && break
	sleep 0.1
done
check_true "the writer completed a pass" '[ -s "$passes" ]'
# lo[I]: passes complete before snapshot I began (the last of them, p =
# lo - 1, is in it); hi[I]: passes complete when it ended (pass hi, the one
# running then, is the newest it may hold)
declare -A lo=() hi=()
lo[5]=$(wc -l <"$passes")
sb_snapshot o02 "$storea" --name s5 || sb_bail "S5: snapshot during writes failed"
hi[5]=$(wc -l <"$passes")
snap[5]=$SB_DEV
sb_ok "S5: snapshot on $storea during writes"
lo[6]=$(wc -l <"$passes")
sb_snapshot o02 "$storeb" --name s6 || sb_bail "S6: snapshot during writes failed"
hi[6]=$(wc -l <"$passes")
snap[6]=$SB_DEV
sb_ok "S6: snapshot on $storeb during writes"
after6=${hi[6]}
# let the writer run a full pass after S6
for ((i = 0; i < 600; i++)); do
	[ "$(wc -l <"$passes")" -ge $((after6 + 2)) ] && break
	kill -0 $writer 2>/dev/null || break
	sleep 0.1
done
touch "$stop"
wait $writer
wrc=$?
last=$(tail -n 1 "$passes")
diag "writer: $(wc -l <"$passes") passes, last $last; S5 during passes ${lo[5]}-${hi[5]}, S6 during passes ${lo[6]}-${hi[6]}"
check_true "all writer passes succeeded" '[ $wrc -eq 0 ] && [ "${last#fail}" = "$last" ]'

# snapcheck I: blocks of R in snapshot I
snapcheck() {
	local s=${snap[$1]} ranges v o l bad=0

	if ! "$PATTERN" cmp "$s" "$model" 0 $roff ||
	   ! "$PATTERN" cmp "$s" "$model" $((roff + rlen)) $((size - roff - rlen)); then
		sb_notok "S$1: outside R like the origin at the snapshot"
		bad=1
	else
		sb_ok "S$1: outside R like the origin at the snapshot"
	fi
	ranges=$(python3 - "$s" "$pre" $roff $rlen $blk "$last" $((lo[$1] - 1)) "${hi[$1]}" <<-'EOF'
	import struct, sys
	dev, pre, roff, rlen, blk, last, lo, hi = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
	M = (1 << 64) - 1
	def mix(seed, word):
	    z = (seed * 0x9e3779b97f4a7c15 + word + 0x632be59bd9b4e019) & M
	    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
	    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
	    return z ^ (z >> 31)
	def word(seed, pos):
	    return struct.pack("<Q", mix(seed, pos >> 3))
	with open(dev, "rb") as f:
	    f.seek(roff)
	    data = f.read(rlen)
	with open(pre, "rb") as f:
	    f.seek(roff)
	    old = f.read(rlen)
	vers = []
	for b in range(rlen // blk):
	    off = roff + b * blk
	    d = data[b * blk:(b + 1) * blk]
	    if d == old[b * blk:(b + 1) * blk]:
	        vers.append(-1)
	        continue
	    # passes write seed 100 + p; probe the first, a middle and the last word
	    probes = (0, blk // 2 + 8, blk - 8)
	    v = [p for p in range(last + 1)
	         if all(d[q:q + 8] == word(100 + p, off + q) for q in probes)]
	    if len(v) != 1:
	        print("block at %d is from no pass (first bytes %s)" % (off, d[:8].hex()))
	        sys.exit(1)
	    vers.append(v[0])
	if any(a < b for a, b in zip(vers, vers[1:])) or max(vers) - min(vers) > 1:
	    print("not a point in time: versions %s" % vers)
	    sys.exit(1)
	if min(vers) < lo or max(vers) > hi:
	    print("versions %d-%d, but the snapshot ran during passes %d-%d" %
	          (min(vers), max(vers), lo, hi))
	    sys.exit(1)
	i = 0
	while i < len(vers):
	    j = i
	    while j < len(vers) and vers[j] == vers[i]:
	        j += 1
	    print(vers[i], roff + i * blk, (j - i) * blk)
	    i = j
	EOF
	)
	if [ $? -ne 0 ]; then
		sb_notok "S$1: R is a point in time of the writer" "$ranges"
		return 1
	fi
	diag "S$1: R holds (pass offset length): $(echo $ranges)"
	sb_ok "S$1: R is a point in time of the writer"
	# now every byte of each range
	while read -r v o l; do
		if [ "$v" = -1 ]; then
			"$PATTERN" cmp "$s" "$pre" "$o" "$l" || bad=1
		else
			"$PATTERN" verify "$s" $((100 + v)) "$o" "$l" || bad=1
		fi
	done <<<"$ranges"
	check_true "S$1: R byte for byte as identified" '[ $bad -eq 0 ]'
}

snapcheck 5
snapcheck 6
"$PATTERN" write "$model" $((100 + last)) $roff $rlen
check "origin holds the last pass in R and the model elsewhere" sb_cmp "$origin" "$model"
for i in 1 2 3 4; do
	check_eq "S$i still reads like the origin at its moment" "$(psum "${snap[$i]}")" "${msum[$i]}"
done
for i in 1 2 3 4 5 6; do
	check_eq "S$i: state" "$(sb_sysfs "${snap[$i]}" state)" active
done

sb_done
