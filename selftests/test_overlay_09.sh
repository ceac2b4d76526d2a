#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_09 - attach checks the base: a store made on base A is
# refused with a base of another size and with a base of the same size
# but other content, and still attaches to A afterwards with its data.
# Stores that hold no snapblk data (zeros, random bytes) are refused too.
# Refusals print one error line, nothing on stdout, and make no device.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_kmod loop

size=$((32 * MiB))
basef=$(sb_file a.img $size 1) || sb_bail "cannot create base A"
model=$(sb_copy "$basef" model.img) || sb_bail "cannot copy base A"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
smaller=$(sb_loop "$(sb_file b.img $((16 * MiB)) 1)") || sb_bail "losetup failed"
larger=$(sb_loop "$(sb_file c.img $((48 * MiB)) 1)") || sb_bail "losetup failed"
other=$(sb_loop "$(sb_file d.img $size 7)") || sb_bail "losetup failed"
zeros=$(sb_loop "$(sb_file zeros.img $((16 * MiB)))") || sb_bail "losetup failed"
garbage=$(sb_loop "$(sb_file garbage.img $((16 * MiB)) 9)") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $size)") || sb_bail "losetup failed"

sb_overlay "$base" "$store" --name wb09 || sb_bail "snapblkctl overlay failed"
check "writes" sb_scatter "$SB_DEV" "$model" 91 300 512 128K 512
check "detach" sb_detach "$SB_DEV"

devs_before=$(_sb_snapblk_devs)
expect_cli_error "attach with a smaller base is refused" attach "$store" --base "$smaller"
expect_cli_error "attach with a larger base is refused" attach "$store" --base "$larger"
expect_cli_error "attach with a same-size base of other content is refused" \
	attach "$store" --base "$other"
expect_cli_error "attach of a zeroed store is refused" attach "$zeros" --base "$base"
expect_cli_error "attach of a store of random bytes is refused" attach "$garbage" --base "$base"
check_eq "the refusals made no device" "$(_sb_snapblk_devs)" "$devs_before"
for d in "$smaller" "$larger" "$other" "$zeros" "$garbage"; do
	check_true "$d released after the refusal" '[ "$("$PATTERN" excl "$d")" = ok ]'
done

sb_attach "$store" "$base" || sb_bail "attach with the right base failed after the refusals"
dev=$SB_DEV
check_eq "name kept" "$(sb_sysfs "$dev" name)" wb09
check "data intact" sb_cmp "$dev" "$model"
check "base unchanged" sb_verify "$base" 1 0 $size
check "other bases unchanged" bash -c "
	'$PATTERN' verify '$smaller' 1 0 $((16 * MiB)) &&
	'$PATTERN' verify '$larger' 1 0 $((48 * MiB)) &&
	'$PATTERN' verify '$other' 7 0 $size &&
	'$PATTERN' verify '$garbage' 9 0 $((16 * MiB)) &&
	'$PATTERN' verify '$zeros' zero 0 $((16 * MiB))"

sb_done
