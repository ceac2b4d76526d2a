#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_overlay_11 - removal rules and status output: detach/delete of an
# open device is refused with a clear "busy" error, as is removing a
# parent that has children; `delete` discards the store so that attach
# fails, `detach` keeps it; DEV may be a NAME; `status --json` and
# `list --json` carry every key of SPEC section 3 with the right values.

. "$(dirname "$0")/lib.sh"

sb_init
require_snapblkctl
require_cmd python3
require_kmod loop

size=$((32 * MiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
s1=$(sb_loop "$(sb_file s1.img $size)") || sb_bail "losetup failed"
s2=$(sb_loop "$(sb_file s2.img $((24 * MiB)))") || sb_bail "losetup failed"

sb_overlay "$base" "$s1" --name t11-a --chunk-size 16K || sb_bail "overlay 1 failed"
o1=$SB_DEV
sb_overlay "$o1" "$s2" --name t11-b || sb_bail "overlay 2 on overlay 1 failed"
o2=$SB_DEV
check "some writes on o2" sb_write "$o2" - 5 $((3 * MiB)) $((2 * MiB)) 64K

# expect_refused DESC PATTERN ARGS...: a clean CLI error whose message
# matches the extended regex PATTERN (case-insensitive)
expect_refused() {
	local desc=$1 re=$2

	shift 2
	expect_cli_error "$desc" "$@" || return 1
	if printf '%s' "$SB_ERR" | grep -qiE "$re"; then
		sb_ok "$desc: message names the cause"
	else
		sb_notok "$desc: message names the cause" "'$SB_ERR' does not match /$re/"
	fi
}

exec 3<"$o2"
expect_refused "detach of an open device" 'busy|in use|open' detach "$o2"
expect_refused "delete of an open device" 'busy|in use|open' delete "$o2"
check "o2 still there" test -e "/sys/block/$(sb_kname "$o2")"
check "o2 still reads its data" sb_verify "$o2" 5 $((3 * MiB)) $((2 * MiB))
exec 3<&-

expect_refused "detach of a parent with a child" 'child|busy|in use|holder|overlay' detach "$o1"
expect_refused "delete of a parent with a child" 'child|busy|in use|holder|overlay' delete "$o1"
check "o1 still there" test -e "/sys/block/$(sb_kname "$o1")"

# --- status and list
json_keys='all(k in j for k in ("path", "name", "kind", "parent", "store", "chunk_size", "store_used", "store_size", "state", "progress"))'
sb_ctl status "$o1" --json
check_eq "status --json exits 0" "$SB_RC" 0
j1=$SB_OUT
check "status --json of o1: every key" sb_json_check "$j1" 'isinstance(j, dict)' "$json_keys"
check "status --json of o1: values" sb_json_check "$j1" \
	"j['path'] == '$o1'" \
	"j['name'] == 't11-a'" \
	"j['kind'] == 'overlay'" \
	"j['chunk_size'] == 16384" \
	"j['state'] == 'active'" \
	"j['progress'] == 0" \
	"j['store_size'] == $(sb_size "$s1")" \
	"isinstance(j['store_used'], int) and 0 < j['store_used'] <= j['store_size']" \
	"j['store_used'] == $(sb_sysfs "$o1" store_used)"
p=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["parent"])' "$j1" 2>/dev/null)
check_true "status --json of o1: parent ($p) is the base" 'sb_same_dev "$p" "$base"'
s=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["store"])' "$j1" 2>/dev/null)
check_true "status --json of o1: store ($s) is $s1" 'sb_same_dev "$s" "$s1"'

sb_ctl status t11-b --json
check_eq "status --json by NAME exits 0" "$SB_RC" 0
j2=$SB_OUT
check "status --json of o2 (by NAME)" sb_json_check "$j2" "$json_keys" \
	"j['path'] == '$o2'" "j['name'] == 't11-b'" "j['chunk_size'] == 65536" \
	"j['store_size'] == $(sb_size "$s2")" "j['store_used'] > 0"
p=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["parent"])' "$j2" 2>/dev/null)
check_true "status --json of o2: parent ($p) is o1" 'sb_same_dev "$p" "$o1"'

sb_ctl list --json
check_eq "list --json exits 0" "$SB_RC" 0
check "list --json: an array with o1 and o2, every key" sb_json_check "$SB_OUT" \
	'isinstance(j, list)' \
	"all($json_keys for j in j)" \
	"'$o1' in [d['path'] for d in j]" \
	"'$o2' in [d['path'] for d in j]" \
	"[d['name'] for d in j if d['path'] == '$o1'] == ['t11-a']"
check "list --json entries equal status --json" python3 -c '
import json, sys
l, a, b = (json.loads(x) for x in sys.argv[1:4])
byp = {d["path"]: d for d in l}
bad = [k for s in (a, b) for k in s if k not in ("store_used",) and byp[s["path"]].get(k) != s[k]]
sys.exit("differ: %s" % bad if bad else 0)' "$SB_OUT" "$j1" "$j2"

sb_ctl status
check_true "status (text) lists both devices" \
	'[ "$SB_RC" = 0 ] && printf "%s" "$SB_OUT" | grep -q t11-a && printf "%s" "$SB_OUT" | grep -q t11-b'
sb_ctl list
check_true "list (text) lists both devices" \
	'[ "$SB_RC" = 0 ] && printf "%s" "$SB_OUT" | grep -q t11-a && printf "%s" "$SB_OUT" | grep -q t11-b'
sb_ctl status "$o1"
check_true "status DEV (text) names it" '[ "$SB_RC" = 0 ] && printf "%s" "$SB_OUT" | grep -q t11-a'

# --- delete discards, detach keeps
check "delete o2 by NAME" sb_delete t11-b
check_true "o2 gone" '! [ -e "/sys/block/$(sb_kname "$o2")" ]'
check_true "o2's store released" '[ "$("$PATTERN" excl "$s2")" = ok ]'
devs_before=$(_sb_snapblk_devs)
expect_cli_error "attach of a deleted store fails" attach "$s2" --base "$o1"
check_eq "the refused attach made no device" "$(_sb_snapblk_devs)" "$devs_before"
check "o1 writable again without its child" sb_write "$o1" - 6 0 64K

check "detach o1 by NAME" sb_detach t11-a
sb_attach "$s1" "$base" || sb_bail "attach after detach failed"
check_eq "detach kept the store: name" "$(sb_sysfs "$SB_DEV" name)" t11-a
check "detach kept the store: data" sb_verify "$SB_DEV" 6 0 64K
check "base unchanged" sb_verify "$base" 1 0 $size

sb_done
