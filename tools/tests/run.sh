#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tests of snapblkctl that need no kernel module. From the repository root:
#
#   tools/tests/run.sh
#
# 1. test_parse: unit tests of size/name/option parsing and formatting.
# 2. The real tool: command line errors, help, and the message when
#    /dev/snapblk-ctl is missing.
# 3. The tool linked with fake_kernel.c, a simulated module: every
#    command end to end. This part needs root and /dev/loop0..7 (opened,
#    never written or bound) and is skipped without them.
#
# CC and EXTRA_CFLAGS (e.g. -fsanitize=address,undefined) are honoured.
# Everything is built in a temporary directory; the tree is not touched.
set -u

cd "$(dirname "$0")/../.." || exit 1
CC=${CC:-cc}
CFLAGS="-O2 -g -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter -Werror -Iuapi ${EXTRA_CFLAGS:-}"
tmp=$(mktemp -d /tmp/sbt.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); printf 'FAIL: %s\n' "$*"; }

# t RC STDOUT STDERR ARGS...: run $BIN ARGS, compare all three exactly.
t() {
	local want_rc=$1 want_out=$2 want_err=$3 out err rc
	shift 3
	out=$("$BIN" "$@" 2>"$tmp/err")
	rc=$?
	err=$(cat "$tmp/err")
	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ] &&
	   [ "$err" = "$want_err" ]; then
		ok
	else
		bad "snapblkctl $*"
		printf '  rc %s (want %s)\n  out: %s\n  want: %s\n  err: %s\n  want: %s\n' \
			"$rc" "$want_rc" "$out" "$want_out" "$err" "$want_err"
	fi
}

# json ARGS... PYTHON-EXPR: the output of ARGS parses as JSON (bound to
# j) and PYTHON-EXPR holds.
json() {
	local expr=${*: -1} out
	out=$("$BIN" "${@:1:$#-1}" 2>"$tmp/err") || { bad "$* (rc $?)"; return; }
	if printf '%s' "$out" | python3 -c "import json, sys; j = json.load(sys.stdin); sys.exit(0 if ($expr) else 1)"; then
		ok
	else
		bad "$*"
		printf '%s\n' "$out"
	fi
}

echo "== unit tests"
$CC $CFLAGS -o "$tmp/test_parse" tools/tests/test_parse.c tools/parse.c \
	tools/msg.c tools/json.c tools/show.c tools/ctl.c tools/devref.c \
	tools/kernel.c || exit 1
if "$tmp/test_parse" 2>/dev/null; then ok; else bad test_parse; fi

echo "== command line (real tool)"
BIN="$tmp/snapblkctl"
$CC $CFLAGS -o "$BIN" tools/*.c || exit 1
export SNAPBLK_CTL="$tmp/no-such-ctl"
U="snapblkctl"
t 2 "" "$U: missing command (see '$U --help')"
t 2 "" "$U: unknown command 'frob' (see '$U --help')" frob
t 2 "" "$U: unknown option '--frob' (see '$U --help')" --frob
t 2 "" "$U: overlay: missing BASE (see '$U help overlay')" overlay
t 2 "" "$U: overlay: missing STORE (see '$U help overlay')" overlay b
t 2 "" "$U: overlay: unexpected argument 'x' (see '$U help overlay')" overlay b s x
t 2 "" "$U: overlay: unknown option '--on-full' (see '$U help overlay')" overlay b s --on-full invalidate
t 2 "" "$U: overlay: option '--chunk-size' needs a value" overlay b s --chunk-size
t 2 "" "$U: overlay: chunk size '3K' is not a power of two from 4K to 1M" overlay b s --chunk-size 3K
t 2 "" "$U: overlay: chunk size '0' is not a power of two from 4K to 1M" overlay --chunk-size=0 b s
t 2 "" "$U: overlay: chunk size '2M' is not a power of two from 4K to 1M" overlay b s --chunk-size 2M
t 2 "" "$U: overlay: invalid chunk size '1.5K' (expected e.g. 4K, 64K or 1M)" overlay b s --chunk-size 1.5K
t 2 "" "$U: overlay: invalid chunk size '99999999999999999999K' (expected e.g. 4K, 64K or 1M)" overlay b s --chunk-size 99999999999999999999K
t 2 "" "$U: overlay: name '-x' must not start with '-'" overlay b s --name -x
t 2 "" "$U: overlay: name 'a/b' may only contain A-Z a-z 0-9 . _ -" overlay b s --name=a/b
t 2 "" "$U: overlay: name 'snapblk3' looks like a device name; choose another" overlay b s --name snapblk3
t 2 "" "$U: overlay: empty name" overlay b s --name=
t 2 "" "$U: overlay: option '--name' given more than once" overlay b s --name a --name b
t 2 "" "$U: snapshot: invalid --on-full 'never' (expected invalidate or block-writes)" snapshot o s --on-full never
t 2 "" "$U: attach: missing --base BASE or --origin ORIGIN (see '$U help attach')" attach s
t 2 "" "$U: attach: --base and --origin exclude each other" attach s --base b --origin o
t 2 "" "$U: attach: unknown option '--chunk-size' (see '$U help attach')" attach s --base b --chunk-size 4K
t 2 "" "$U: detach: missing DEV (see '$U help detach')" detach
t 2 "" "$U: delete: unexpected argument 'y' (see '$U help delete')" delete x y
t 2 "" "$U: commit: option '--wait' takes no value" commit x --wait=1
t 2 "" "$U: revert: unknown option '--json' (see '$U help revert')" revert x --json
t 2 "" "$U: grow: unknown option '--wait' (see '$U help grow')" grow x --wait
t 2 "" "$U: status: unexpected argument 'y' (see '$U help status')" status x y
t 2 "" "$U: list: unexpected argument 'x' (see '$U help list')" list x
t 2 "" "$U: version: unexpected argument 'x' (see '$U help version')" version x
t 2 "" "$U: help: unknown command 'frob' (see '$U --help')" help frob
NOCTL="$U: cannot open $SNAPBLK_CTL: No such file or directory (is the snapblk module loaded?)"
t 1 "" "$NOCTL" overlay /dev/loop0 /dev/loop1
t 1 "" "$NOCTL" status
t 1 "" "$NOCTL" list --json
t 1 "" "$NOCTL" wait x
t 1 "$U 0.1.0 (ABI 1.0)" "$NOCTL" version
unset SNAPBLK_CTL
if [ ! -e /dev/snapblk-ctl ]; then
	t 1 "" "$U: cannot open /dev/snapblk-ctl: No such file or directory (is the snapblk module loaded?)" list
fi
for c in overlay origin snapshot attach detach delete commit revert wait grow status list version help; do
	out=$("$BIN" help $c) && [ "$out" = "$("$BIN" $c --help)" ] &&
		[ "$out" = "$("$BIN" $c -h x y z)" ] &&
		"$BIN" --help | grep -q "^  $c" &&
		printf '%s\n' "$out" | head -1 | grep -q "^Usage: snapblkctl $c" &&
		! printf '%s\n' "$out" | grep -q ' $' && ok || bad "help $c"
done
"$BIN" --help | awk 'length > 80 { exit 1 }' && ok || bad "--help wider than 80"
[ "$("$BIN" -h)" = "$("$BIN" help)" ] && ok || bad "-h"
err=$("$BIN" help 2>&1 >/dev/full)
[ $? = 1 ] && [ "$err" = "$U: help: cannot write the output: No space left on device" ] &&
	ok || bad "help >/dev/full: $err"

echo "== commands (simulated module)"
if [ "$(id -u)" != 0 ] || [ ! -b /dev/loop7 ] || ! command -v python3 >/dev/null; then
	echo "skipped: needs root, /dev/loop0..7 and python3"
	echo "passed $pass, failed $fail"
	[ "$fail" = 0 ]
	exit
fi
D="$tmp/dev/"
mkdir "$tmp/dev"
for i in 0 1 2 3; do
	mknod "$D/snapblk$i" b 7 $((i + 4)) || exit 1
done
$CC $CFLAGS -DDEV_DIR="\"$D\"" -DNODE_WAIT_MS=0 -DPOLL_MS=10 \
	-o "$tmp/snapblkctl-fake" $(ls tools/*.c | grep -v kernel.c) \
	tools/tests/fake_kernel.c || exit 1
BIN="$tmp/snapblkctl-fake"
export SNAPBLK_CTL=/dev/null SNAPBLK_FAKE_STATE="$tmp/state"
HDR="DEVICE  NAME  KIND  PARENT  STORE  CHUNK  USED  SIZE  STATE  PROGRESS"

t 0 "" "" list
t 0 "$HDR" "" status
t 0 "[]" "" status --json
t 0 "[]" "" list --json
t 0 "${D}snapblk0" "" overlay /dev/loop0 /dev/loop1 --name golden
t 1 "" "$U: overlay: name 'golden' already in use: File exists" overlay --name=golden /dev/loop0 /dev/loop2
t 1 "" "$U: overlay: BASE and STORE are the same device" overlay /dev/loop0 /dev/loop0
t 1 "" "$U: overlay: BASE '/etc/passwd' is not a block device (attach an image file with losetup first)" overlay /etc/passwd /dev/loop1
t 1 "" "$U: overlay: cannot open STORE '$tmp/none': No such file or directory" overlay /dev/loop0 "$tmp/none"
t 1 "" "$U: overlay: cannot open BASE 'nosuchname': No such file or directory" overlay nosuchname /dev/loop1
t 0 "${D}snapblk1" "" overlay golden /dev/loop2 --chunk-size 4K
t 1 "" "$U: detach: device has child devices (remove them first): Device or resource busy" detach golden
json status golden --json 'j["path"] == "'"$D"'snapblk0" and j["name"] == "golden" and j["kind"] == "overlay" and j["parent"] == "'"$D"'loop0" and j["store"] == "'"$D"'loop1" and j["chunk_size"] == 65536 and j["store_used"] == 12288 and j["store_size"] == 16777216 and j["state"] == "active" and j["progress"] == 0 and j["size"] == 67108864 and j["index"] == 0 and j["on_full"] is None and j["children"] == 1'
json status snapblk1 --json 'j["parent"] == "'"$D"'snapblk0" and j["chunk_size"] == 4096 and j["name"] == "snapblk1"'
t 0 "${D}snapblk0 golden overlay ${D}loop0
${D}snapblk1 snapblk1 overlay ${D}snapblk0" "" list
t 1 "" "$U: revert: golden is an overlay; only a snapshot can be reverted" revert golden
t 0 "" "progress: 25%
progress: 50%
progress: 75%
progress: 100%" commit "${D}snapblk1" --wait
t 0 "" "" commit golden
t 2 "" "$U: detach: unexpected argument 'x' (see '$U help detach')" detach golden x
json status --json 'len(j) == 2 and j[0]["state"] == "committing" and j[0]["progress"] == 25'
SNAPBLK_FAKE_END=invalid t 1 "" "progress: 50%
progress: 75%
$U: wait: golden: commit failed: the device is now invalid" wait golden
t 0 "" "" wait golden
t 0 "${D}snapblk2" "" origin /dev/loop3 --name orig
t 1 "" "$U: snapshot: ORIGIN 'golden' is not an origin but an overlay" snapshot golden /dev/loop2
t 1 "" "$U: snapshot: ORIGIN '/dev/loop0' is not a snapblk origin (make one with '$U origin /dev/loop0')" snapshot /dev/loop0 /dev/loop2
t 0 "${D}snapblk3" "" snapshot orig /dev/loop2 --on-full block-writes --name snap1
t 1 "" "$U: commit: snap1 is a snapshot; only an overlay can be committed" commit snap1
t 1 "" "$U: grow: orig is an origin, which has no store" grow orig
json status --json 'len(j) == 4 and j[2]["kind"] == "origin" and j[2]["store"] is None and j[2]["children"] == 1 and j[3]["on_full"] == "block-writes" and j[3]["parent"] == "'"$D"'snapblk2" and j[0]["state"] == "invalid"'
out=$("$BIN" status)
[ "$(printf '%s\n' "$out" | head -1)" = "DEVICE                         NAME      KIND      PARENT                         STORE                       CHUNK   USED   SIZE  STATE    PROGRESS" ] ||
	printf '%s\n' "$out" | head -1 | grep -q '^DEVICE  *NAME  *KIND  *PARENT  *STORE  *CHUNK  *USED  *SIZE  *STATE  *PROGRESS$' && ok || bad "status header"
printf '%s\n' "$out" | grep -q "^${D}snapblk3  *snap1  *snapshot  *${D}snapblk2  *${D}loop2  *64K  *12.0K  *16.0M  *active  *-$" && ok || bad "status row: $out"
printf '%s\n' "$out" | grep -q "^${D}snapblk2  *orig  *origin  *${D}loop3  *-  *-  *-  *-  *active  *-$" && ok || bad "status origin row: $out"
t 0 "" "progress: 25%
progress: 50%
progress: 75%
progress: 100%" revert snap1 --wait
t 1 "" "$U: status: no such snapblk device: snap1" status snap1
json status orig --json 'j["children"] == 0'
t 0 "" "" grow snapblk1
json status snapblk1 --json 'j["store_size"] == 16777216 + 1048576'
t 0 "" "" delete snapblk1
t 1 "" "$U: detach: no such snapblk device: ${D}snapblk1" detach "${D}snapblk1"
t 1 "" "$U: detach: no such snapblk device: /dev/snapblk9" detach /dev/snapblk9
t 1 "" "$U: detach: no such snapblk device: nosuch" detach nosuch
t 1 "" "$U: detach: /dev/loop0 is not a snapblk device" detach /dev/loop0
t 1 "" "$U: detach: /etc/passwd is not a snapblk device (not a block device)" detach /etc/passwd
SNAPBLK_FAKE_FAIL=2:16 t 1 "" "$U: detach: device is in use (mounted or open): Device or resource busy" detach golden
SNAPBLK_FAKE_FAIL=2:1 t 1 "" "$U: delete: cannot delete golden: permission denied (only root may change snapblk devices): Operation not permitted" delete golden
SNAPBLK_FAKE_FAIL=4:16 t 1 "" "$U: commit: the parent has other children, or is in use: Device or resource busy" commit golden
SNAPBLK_FAKE_FAIL=1:22 t 1 "" "$U: attach: store is not a valid snapblk store or belongs to another device: Invalid argument" attach /dev/loop1 --base /dev/loop0
SNAPBLK_FAKE_FAIL=1:22 t 1 "" "$U: snapshot: store is not a valid snapblk store or belongs to another device: Invalid argument" snapshot orig /dev/loop1
SNAPBLK_FAKE_FAIL=1:28 t 1 "" "$U: overlay: STORE is too small: No space left on device" overlay /dev/loop0 /dev/loop1
SNAPBLK_FAKE_FAIL=1:16 t 1 "" "$U: origin: DEV is in use (mounted, open or held by another device): Device or resource busy" origin /dev/loop0
SNAPBLK_FAKE_FAIL=1:5 t 1 "" "$U: overlay: cannot create the overlay: Input/output error" overlay /dev/loop0 /dev/loop1
SNAPBLK_FAKE_FAIL=3:25 t 1 "" "$U: list: cannot list snapblk devices: the module does not know this request (tool and module versions differ?): Inappropriate ioctl for device" list
t 0 "" "" detach golden
t 0 "${D}snapblk0" "" attach /dev/loop1 --base /dev/loop0 --name golden
t 0 "${D}snapblk1" "" attach /dev/loop2 --origin "${D}snapblk2"
json list --json '[d["kind"] for d in j] == ["overlay", "snapshot", "origin"] and j[1]["on_full"] == "invalidate"'
t 0 "$U 0.1.0 (ABI 1.0)
module fake-0.0 (ABI 1.0)" "" version
t 0 "$U 0.1.0 (ABI 1.0)
module fake-0.0 (ABI 1.0)" "" --version

echo "passed $pass, failed $fail"
[ "$fail" = 0 ]
