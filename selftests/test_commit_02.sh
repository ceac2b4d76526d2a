#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_commit_02 - who a commit goes into.
# Siblings: two overlays of one base; `commit` (and `commit --wait`) of
# either is refused with a non-zero exit and one line on stderr, and
# changes nothing: base checksum, both views, states and store_used stay.
# Once the sibling is detached the commit is accepted and the base holds
# the view.
# Chain base <- mid <- top: `commit --wait` of top makes mid's view top's
# view, empties top's delta, and leaves the base unchanged; top still
# takes writes (to its store, not mid); mid keeps the committed data
# across detach + attach of its store; committing mid then puts the
# whole chain's view into the base.

# shellcheck disable=SC2016 # check_true conditions are expanded by eval
. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd timeout
require_kmod loop

# commit_wait DESC DEV: `commit DEV --wait` exits 0 within 300 s, prints
# nothing on stdout and only progress lines on stderr
commit_wait() {
	local desc=$1 dev=$2 rc out t0=$SECONDS

	timeout 300 "$SNAPBLKCTL" commit "$dev" --wait >"$SB_TMP/cw.out" 2>"$SB_TMP/cw.err"
	rc=$?
	diag "commit $dev --wait: exit $rc after $((SECONDS - t0))s"
	diag_file "$SB_TMP/cw.err" "  stderr: "
	if [ $rc -ne 0 ]; then
		sb_notok "$desc" "exit $rc"
		return 1
	fi
	if [ -s "$SB_TMP/cw.out" ]; then
		sb_notok "$desc" "output on stdout: $(head -c 200 "$SB_TMP/cw.out")"
		return 1
	fi
	if ! out=$(sb_progress_ok "$SB_TMP/cw.err" 0 1); then
		sb_notok "$desc" "$out"
		return 1
	fi
	sb_ok "$desc"
}

psum() { "$PATTERN" sum "$1"; }

size=$((32 * MiB))

# ------------------------------------------------------------ siblings

basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
m1=$(sb_copy "$basef" m1.img) || sb_bail "cannot copy the base image"
m2=$(sb_copy "$basef" m2.img) || sb_bail "cannot copy the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
s1=$(sb_loop "$(sb_file s1.img $((40 * MiB)))") || sb_bail "losetup failed"
s2=$(sb_loop "$(sb_file s2.img $((40 * MiB)))") || sb_bail "losetup failed"
sb_overlay "$base" "$s1" --name c02-a || sb_bail "overlay c02-a failed"
o1=$SB_DEV
u1_0=$(sb_sysfs "$o1" store_used)
sb_overlay "$base" "$s2" --name c02-b || sb_bail "overlay c02-b failed"
o2=$SB_DEV
diag "siblings $o1 and $o2 on $base"
check "o1: scattered writes" sb_scatter "$o1" "$m1" 21 120 4K 128K
check "o1: sequential write" sb_write "$o1" "$m1" 22 $((8 * MiB)) $((4 * MiB))
check "o2: scattered writes" sb_scatter "$o2" "$m2" 23 120 512 64K
check "o2: sequential write" sb_write "$o2" "$m2" 24 $((10 * MiB)) $((4 * MiB))
u1=$(sb_sysfs "$o1" store_used)
u2=$(sb_sysfs "$o2" store_used)
bsum=$(psum "$base")

expect_cli_error "commit of o1 refused: the base has another child" commit "$o1"
check_true "the reason names the cause (busy/children)" \
	'[[ ${SB_ERR,,} =~ busy|child|sibling|other|in\ use ]]'
expect_cli_error "commit --wait of o1 refused" commit "$o1" --wait
expect_cli_error "commit of o2 (by NAME) refused" commit c02-b
for d in "$o1" "$o2"; do
	check_eq "$d: state still active" "$(sb_sysfs "$d" state)" active
	check_eq "$d: progress 0" "$(sb_sysfs "$d" progress)" 0
done
check_eq "o1: store_used unchanged" "$(sb_sysfs "$o1" store_used)" "$u1"
check_eq "o2: store_used unchanged" "$(sb_sysfs "$o2" store_used)" "$u2"
check_eq "base checksum unchanged" "$(psum "$base")" "$bsum"
check "base unchanged byte for byte" sb_verify "$base" 1 0 $size
check "o1 reads its view" sb_cmp "$o1" "$m1"
check "o2 reads its view" sb_cmp "$o2" "$m2"
check "o1 still writable" sb_write "$o1" "$m1" 25 $((20 * MiB)) $((MiB))
check "o1 reads its view" sb_cmp "$o1" "$m1"

# without the sibling the commit is allowed
check "detach o2" sb_detach "$o2"
commit_wait "commit --wait of o1, now the only child" "$o1"
check_eq "o1: state active" "$(sb_sysfs "$o1" state)" active
check_eq "o1: store_used back to the empty overlay's" "$(sb_sysfs "$o1" store_used)" "$u1_0"
check "o1 reads its view" sb_cmp "$o1" "$m1"
check "the base holds o1's view" sb_cmp "$base" "$m1"
check "detach o1" sb_detach "$o1"
check "the base holds o1's view after detach" sb_cmp "$base" "$m1"

# --------------------------------------------------------------- chain

base2f=$(sb_file base2.img $size 2) || sb_bail "cannot create the base image"
mm=$(sb_copy "$base2f" mid.img) || sb_bail "cannot copy the base image"
base2=$(sb_loop "$base2f") || sb_bail "losetup failed"
sm=$(sb_loop "$(sb_file smid.img $((48 * MiB)))") || sb_bail "losetup failed"
st=$(sb_loop "$(sb_file stop.img $((48 * MiB)))") || sb_bail "losetup failed"
sb_overlay "$base2" "$sm" --name c02-mid || sb_bail "overlay c02-mid failed"
mid=$SB_DEV
check "mid: scattered writes" sb_scatter "$mid" "$mm" 31 150 512 128K
check "mid: sequential write 4M-8M" sb_write "$mid" "$mm" 32 $((4 * MiB)) $((4 * MiB))
mt=$(sb_copy "$mm" top.img) || sb_bail "cannot copy the mid image"
sb_overlay "$mid" "$st" --name c02-top || sb_bail "overlay c02-top failed"
top=$SB_DEV
diag "chain: $base2 <- $mid <- $top"
topu0=$(sb_sysfs "$top" store_used)
check "top: scattered writes" sb_scatter "$top" "$mt" 33 150 512 128K
check "top: sequential write 6M-12M (over mid's)" sb_write "$top" "$mt" 34 $((6 * MiB)) $((6 * MiB))
check "top: last sector" sb_write "$top" "$mt" 35 $((size - 512)) 512 512
check "mid reads its view" sb_cmp "$mid" "$mm"
check "top reads its view" sb_cmp "$top" "$mt"
midu=$(sb_sysfs "$mid" store_used)
b2sum=$(psum "$base2")

commit_wait "commit --wait of top into mid" "$top"
check_eq "top: state active" "$(sb_sysfs "$top" state)" active
check_eq "mid: state active" "$(sb_sysfs "$mid" state)" active
check_eq "top: store_used back to the empty overlay's" "$(sb_sysfs "$top" store_used)" "$topu0"
midu1=$(sb_sysfs "$mid" store_used)
diag "mid store_used $midu -> $midu1"
check_true "mid: store_used did not shrink" '[ "$midu1" -ge "$midu" ]'
check "top reads its view" sb_cmp "$top" "$mt"
check "mid now reads top's view" sb_cmp "$mid" "$mt"
check_eq "mid's checksum equals top's view's" "$(psum "$mid")" "$(psum "$mt")"
check_eq "base unchanged (checksum)" "$(psum "$base2")" "$b2sum"
check "base unchanged byte for byte" sb_verify "$base2" 2 0 $size

# after the commit top is a fresh overlay of mid
mc=$(sb_copy "$mt" midc.img) || sb_bail "cannot copy the model"
check "top: write after the commit" sb_write "$top" "$mt" 36 $((14 * MiB)) $((2 * MiB))
check "top reads it" sb_cmp "$top" "$mt"
check "mid does not see it" sb_cmp "$mid" "$mc"
check_fails "mid, which has a child, is still read-only" "$PATTERN" write "$mid" 99 0 4K
check "detach top" sb_detach "$top"
check "mid keeps the committed view" sb_cmp "$mid" "$mc"
check "detach mid" sb_detach "$mid"
sb_drop_caches
if sb_attach "$sm" "$base2" --name c02-mid; then
	mid=$SB_DEV
	sb_ok "mid's store attaches again"
	check "mid reads the committed view after detach + attach" sb_cmp "$mid" "$mc"
	commit_wait "commit --wait of mid into the base" "$mid"
	check "mid reads its view" sb_cmp "$mid" "$mc"
	check "detach mid" sb_detach "$mid"
	check "the base holds the whole chain's view" sb_cmp "$base2" "$mc"
else
	sb_notok "mid's store attaches again" "attach: $SB_ERR"
fi

sb_done
