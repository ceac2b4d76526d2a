#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_ctl_02 - snapblkctl: `version`, and bad command lines refused with
# a non-zero exit, nothing on stdout and one line on stderr (SPEC 3).
# Every refused command must also leave no new device behind.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_kmod loop

# --- version: a tool line and a module line
sb_ctl version
if [ "$SB_RC" -eq 0 ] && [ "$(_sb_lines "$SB_OUT")" -ge 2 ]; then
	sb_ok "version prints two lines"
else
	sb_notok "version prints two lines"
	_sb_show_ctl version
fi
diag "$SB_OUT"
modver=$(cat /sys/module/snapblk/version 2>/dev/null)
if [ -z "$modver" ]; then
	sb_notok "version shows the module version" "/sys/module/snapblk/version unreadable"
elif printf '%s\n' "$SB_OUT" | grep -qF -- "$modver"; then
	sb_ok "version shows the module version $modver"
else
	sb_notok "version shows the module version" "'$modver' (/sys/module/snapblk/version) not in the output"
fi

# --- devices for the command lines whose only fault is one option
base=$(sb_loop "$(sb_file base.img 16M 1)") || sb_bail "cannot set up a loop device"
store=$(sb_loop "$(sb_file store.img 16M)") || sb_bail "cannot set up a loop device"
regular=$(sb_file regular.img 16M)
devs_before=$(_sb_snapblk_devs)

# usage may take several lines here; it must still fail and print no stdout
sb_ctl
check_true "no arguments: non-zero exit, nothing on stdout" '[ "$SB_RC" -ne 0 ] && [ "$SB_RC" -lt 126 ] && [ -z "$SB_OUT" ]'
expect_cli_error "unknown command" frobnicate
expect_cli_error "unknown option" list --frobnicate
expect_cli_error "overlay without arguments" overlay
expect_cli_error "overlay without STORE" overlay "$base"
expect_cli_error "overlay with an extra argument" overlay "$base" "$store" extra
expect_cli_error "--chunk-size without a value" overlay "$base" "$store" --chunk-size
expect_cli_error "--chunk-size 3K (not a power of two)" overlay "$base" "$store" --chunk-size 3K
expect_cli_error "--chunk-size 2M (too big)" overlay "$base" "$store" --chunk-size 2M
expect_cli_error "--chunk-size 1k (too small)" overlay "$base" "$store" --chunk-size 1k
expect_cli_error "--chunk-size 2K (too small)" overlay "$base" "$store" --chunk-size 2K
expect_cli_error "--chunk-size 0" overlay "$base" "$store" --chunk-size 0
expect_cli_error "--chunk-size -64K" overlay "$base" "$store" --chunk-size -64K
expect_cli_error "--chunk-size 64Q (bad suffix)" overlay "$base" "$store" --chunk-size 64Q
expect_cli_error "--chunk-size abc" overlay "$base" "$store" --chunk-size abc
expect_cli_error "--name 'bad name'" overlay "$base" "$store" --name 'bad name'
expect_cli_error "--name with a slash" overlay "$base" "$store" --name 'a/b'
expect_cli_error "--name empty" overlay "$base" "$store" --name ''
expect_cli_error "--name too long (40 chars)" overlay "$base" "$store" \
	--name "$(printf 'n%.0s' $(seq 40))"
expect_cli_error "nonexistent BASE" overlay "$SB_TMP/nosuchfile" "$store"
expect_cli_error "nonexistent STORE" overlay "$base" "$SB_TMP/nosuchfile"
expect_cli_error "regular file as BASE" overlay "$regular" "$store"
expect_cli_error "regular file as STORE" overlay "$base" "$regular"
expect_cli_error "directory as BASE" overlay "$SB_TMP" "$store"
expect_cli_error "the same device as BASE and STORE" overlay "$base" "$base"
expect_cli_error "status nosuchdev" status nosuchdev
expect_cli_error "status /dev/snapblk999" status /dev/snapblk999
expect_cli_error "status --json nosuchdev" status nosuchdev --json
expect_cli_error "detach nosuchdev" detach nosuchdev
expect_cli_error "delete nosuchdev" delete nosuchdev
expect_cli_error "grow nosuchdev" grow nosuchdev
expect_cli_error "detach of a loop device (not snapblk)" detach "$base"
expect_cli_error "attach without --base or --origin" attach "$store"
expect_cli_error "attach with both --base and --origin" attach "$store" --base "$base" --origin "$base"
expect_cli_error "snapshot --on-full bogus" snapshot "$base" "$store" --on-full bogus
expect_cli_error "version with an argument" version extra

devs_after=$(_sb_snapblk_devs)
check_eq "refused commands made no device" "$devs_after" "$devs_before"

# the base must not have been touched by any of this
check "BASE unchanged" sb_verify "$base" 1 0 16M

sb_done
