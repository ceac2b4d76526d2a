#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_snapshot_08 - what `snapblkctl snapshot`, `attach`, `detach` and
# `delete` refuse (non-zero exit, nothing on stdout, one line on stderr,
# no device made): a STORE holding an overlay store (attached or not); a
# STORE in use by, or holding snapshots of, another origin; detach or
# delete of an origin that has snapshots (EBUSY; the origin keeps
# working); a --chunk-size other than the one the origin's snapshots use;
# a bad --on-full value; an ORIGIN that is not an origin; the origin's
# own disk or device as STORE; a store too small; a 33rd snapshot in one
# store; attach of a snapshot store as an overlay and of an overlay store
# as snapshots.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_kmod loop

size=$((16 * MiB))

# the snapblk disks (no exec: many devices exist at the end)
devs() {
	local d

	for d in /sys/block/snapblk*; do
		[ -e "$d" ] && printf '%s ' "${d##*/}"
	done
}

# refused DESC ARGS...: snapblkctl ARGS must fail and make no device
refused() {
	local desc=$1 before

	shift
	before=$(devs)
	expect_cli_error "$desc" "$@"
	if [ "$(devs)" != "$before" ]; then
		sb_notok "$desc: no device made" "devices before: $before; after: $(devs)"
	fi
}

diska=$(sb_loop "$(sb_file diska.img $size 1)") || sb_bail "losetup failed"
diskb=$(sb_loop "$(sb_file diskb.img $size 2)") || sb_bail "losetup failed"
sb_origin "$diska" --name o08a || sb_bail "snapblkctl origin failed"
origin=$SB_DEV
sb_origin "$diskb" --name o08b || sb_bail "snapblkctl origin failed"

# ---- a STORE holding an overlay store
base=$(sb_loop "$(sb_file base.img $size 3)") || sb_bail "losetup failed"
ovstore=$(sb_loop "$(sb_file ovstore.img $((32 * MiB)))") || sb_bail "losetup failed"
sb_overlay "$base" "$ovstore" --name ov08 || sb_bail "overlay failed"
check "overlay: a write" "$PATTERN" write "$SB_DEV" 4 0 $MiB
refused "snapshot on the store of an attached overlay" snapshot o08a "$ovstore"
check "detach the overlay" sb_detach ov08
refused "snapshot on a store holding an overlay" snapshot o08a "$ovstore"
refused "attach --origin of an overlay store" attach "$ovstore" --origin o08a
sb_attach "$ovstore" "$base" || sb_notok "the overlay store is intact: attach --base works"
check "the overlay reads its write" "$PATTERN" verify "$SB_DEV" 4 0 $MiB
check "detach the overlay" sb_detach ov08

# ---- a STORE of another origin
storey=$(sb_loop "$(sb_file storey.img $((32 * MiB)))") || sb_bail "losetup failed"
sb_snapshot o08b "$storey" --name sb08 || sb_bail "snapshot of o08b failed"
refused "snapshot on a store in use by another origin's snapshot" snapshot o08a "$storey"
check "detach o08b's snapshot" sb_detach sb08
refused "snapshot on a store holding another origin's snapshots" snapshot o08a "$storey"
refused "attach --base of a snapshot store" attach "$storey" --base "$diska"
sb_ctl attach "$storey" --origin o08b
check_true "that store still attaches to its own origin" '[ "$SB_RC" -eq 0 ] && [ "$(_sb_lines "$SB_OUT")" -eq 1 ]' ||
	_sb_show_ctl attach

# ---- an origin with snapshots
storea=$(sb_loop "$(sb_file storea.img $((32 * MiB)))") || sb_bail "losetup failed"
sb_snapshot o08a "$storea" --name sa08 || sb_bail "snapshot of o08a failed"
snap=$SB_DEV
refused "detach of an origin with snapshots" detach o08a
check_true "detach: the error is EBUSY" 'printf "%s" "$SB_ERR" | grep -qi "busy"'
refused "delete of an origin with snapshots" delete o08a
check "the origin still works" sb_write "$origin" - 5 $MiB $MiB
check "and its snapshot reads its moment" sb_verify "$snap" 1 0 $size

# ---- chunk sizes: one for all stores of an origin
storeb=$(sb_loop "$(sb_file storeb.img $((32 * MiB)))") || sb_bail "losetup failed"
refused "a second store of the origin with --chunk-size 4K" snapshot o08a "$storeb" --chunk-size 4K
refused "a second store of the origin with --chunk-size 128K" snapshot o08a "$storeb" --chunk-size 128K
refused "the same store with --chunk-size 4K" snapshot o08a "$storea" --chunk-size 4K
if [ "$SB_RC" -eq 0 ] && [ -b "$SB_OUT" ]; then
	diag "made $SB_OUT with chunk_size $(sb_sysfs "$SB_OUT" chunk_size)"
	sb_detach "$SB_OUT"
fi
if sb_snapshot o08a "$storeb" --chunk-size 64K; then
	sb_ok "a second store with the origin's chunk size (64K)"
	check "detach it" sb_detach "$SB_DEV"
else
	sb_notok "a second store with the origin's chunk size (64K)"
fi

# ---- command line and devices
refused "--on-full with a bad value" snapshot o08a "$storeb" --on-full sometimes
refused "--on-full without a value" snapshot o08a "$storeb" --on-full
refused "ORIGIN that is a plain disk" snapshot "$diska" "$storeb"
refused "ORIGIN that is a snapshot" snapshot sa08 "$storeb"
refused "ORIGIN that is an unused loop device" snapshot "$base" "$storeb"
refused "STORE that is the origin's disk" snapshot o08a "$diska"
refused "STORE that is the origin itself" snapshot o08a "$origin"
refused "STORE that is a snapshot of the origin" snapshot o08a "$snap"
tiny=$(sb_loop "$(sb_file tiny.img $((64 * KiB)))") || sb_bail "losetup failed"
refused "a 64K STORE (too small)" snapshot o08a "$tiny"

# ---- at most 32 snapshots per store
storem=$(sb_loop "$(sb_file storem.img $((32 * MiB)))") || sb_bail "losetup failed"
# (made and deleted with plain snapblkctl calls: the EXIT trap removes
# whatever is left, and registering each costs forks)
n=0
t0=$SECONDS
for ((i = 1; i <= 32; i++)); do
	"$SNAPBLKCTL" snapshot o08b "$storem" --name "m$i" >/dev/null 2>"$SB_TMP/err" || break
	n=$i
done
check_eq "32 snapshots in one store" $n 32 || diag "snapshot $((n + 1)): $(cat "$SB_TMP/err")"
diag "32 snapshots took $((SECONDS - t0)) s"
refused "a 33rd snapshot in the store" snapshot o08b "$storem"
check "delete one of them" "$SNAPBLKCTL" delete m7
if "$SNAPBLKCTL" snapshot o08b "$storem" --name m33 >/dev/null; then
	sb_ok "then another fits"
else
	sb_notok "then another fits"
fi
bad=0
for ((i = 1; i <= 33; i++)); do
	[ $i -eq 7 ] || "$SNAPBLKCTL" delete "m$i" || bad=1
done
check_true "delete them all" '[ $bad -eq 0 ]'

sb_done
