#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh - run the snapblk selftests and report in KTAP.
#
#   selftests/run_tests.sh [GLOB...]
#
# Runs every executable selftests/test_* (C programs built by
# `make -C selftests`, and shell scripts; a name's .sh suffix is dropped
# in the report) in sorted order, or those matching one of the GLOBs, or
# $SNAPBLK_TESTS (a space-separated list of globs) when no GLOB is given.
# Meant to run as root in the QEMU guest, with snapblk loaded:
#
#   scripts/vm-run -- selftests/run_tests.sh 'test_ctl_*'
#
# Each test's output is shown as "# " diagnostic lines; each test gets a
# timeout (selftests/settings, or $SNAPBLK_TEST_TIMEOUT seconds); a test
# whose C source exists but is not built is reported as failed. Kselftest
# exit codes: 0 pass, 4 skip, anything else fail (124: timeout). After a
# test, snapblk and loop devices it left behind are reported, removed,
# and make it fail. The kernel log lines a failing test produced are shown.
# Ends with "# totals: pass:X fail:Y skip:Z"; exits 1 when any test failed.

set -u
DIR=$(cd "$(dirname "$0")" && pwd)
cd "$DIR" || exit 1

timeout=300
if [ -r settings ]; then
	t=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' settings)
	[ -n "$t" ] && timeout=$t
fi
timeout=${SNAPBLK_TEST_TIMEOUT:-$timeout}

globs=("$@")
[ ${#globs[@]} -eq 0 ] && [ -n "${SNAPBLK_TESTS:-}" ] && read -ra globs <<<"$SNAPBLK_TESTS"
[ ${#globs[@]} -eq 0 ] && globs=('*')

# test name (file name without .sh) -> file; C sources stand for their binary
declare -A file_of=()
for f in test_*; do
	[ -e "$f" ] || continue
	case "$f" in
	*.c)	name=${f%.c}
		[ -n "${file_of[$name]:-}" ] || file_of[$name]=$name ;;
	*.o|*.h|*.d|*~|*.orig|*.rej) ;;
	*.sh)	file_of[${f%.sh}]=$f ;;
	*)	[ -x "$f" ] && file_of[$f]=$f ;;
	esac
done

# (no process substitution: the guest has no /dev/fd)
selected=()
for name in $(printf '%s\n' "${!file_of[@]}" | sort); do
	for g in "${globs[@]}"; do
		g=${g##*/}
		g=${g%.sh}
		# shellcheck disable=SC2053 # the glob is meant to match
		if [[ $name == $g ]]; then
			selected+=("$name")
			break
		fi
	done
done

pass=0 fail=0 skip=0
echo "TAP version 13"
echo "1..${#selected[@]}"
echo "# kernel $(uname -r); snapblk $(cat /sys/module/snapblk/version 2>/dev/null || echo 'not loaded')"

module_missing=
if ! [ -c /dev/snapblk-ctl ] && [ "${SNAPBLK_REQUIRE_MODULE:-1}" = 1 ]; then
	module_missing=1
	echo "# /dev/snapblk-ctl missing: snapblk is not loaded (SNAPBLK_REQUIRE_MODULE=0 lets the tests skip instead)"
fi

snapblk_devs() {
	local d

	for d in /sys/block/snapblk*; do
		[ -e "$d" ] && basename "$d"
	done | sort
}

test_loops() { # loop devices backed by files of a test's /tmp directory
	losetup -nO NAME,BACK-FILE 2>/dev/null | awk '$2 ~ "^/tmp/snapblk-test\\." { print $1 }'
}

# remove leftovers, children first; print what was left
clean_leftovers() {
	local before=$1 d pass left

	left=$(snapblk_devs | grep -vxF -e "$before" -e "")
	[ -n "$left" ] && echo "snapblk devices: $(echo $left)"
	for pass in 1 2 3; do
		for d in $left; do
			[ -e "/sys/block/$d" ] || continue
			if command -v snapblkctl >/dev/null; then
				snapblkctl detach "/dev/$d" >/dev/null 2>&1
			elif [ -x ../tools/snapblkctl ]; then
				../tools/snapblkctl detach "/dev/$d" >/dev/null 2>&1
			fi
		done
	done
	for d in $(test_loops); do
		echo "loop device: $d"
		losetup -d "$d" 2>/dev/null
	done
	for d in /tmp/snapblk-test.*; do
		[ -e "$d" ] || continue
		grep -qs " ${d%/} " /proc/mounts && continue
		echo "directory: $d"
		rm -rf "$d"
	done
	return 0
}

if [ ${#selected[@]} -eq 0 ]; then
	echo "# no test matches: ${globs[*]}"
	echo "# totals: pass:0 fail:0 skip:0"
	exit 1
fi

log=$(mktemp /tmp/snapblk-run.XXXXXX)
trap 'rm -f "$log"' EXIT

n=0
for name in "${selected[@]}"; do
	n=$((n + 1))
	f=${file_of[$name]}
	echo "# ----- $name"
	if [ -n "$module_missing" ]; then
		echo "not ok $n $name # snapblk not loaded"
		fail=$((fail + 1))
		continue
	fi
	if ! [ -x "$f" ]; then
		echo "# $f is missing or not executable (run make -C selftests)"
		echo "not ok $n $name # not built"
		fail=$((fail + 1))
		continue
	fi
	before=$(snapblk_devs)
	klog_start=$(dmesg 2>/dev/null | wc -l)
	start=$(date +%s)
	# the test gets its own process group; timeout kills all of it
	timeout -k 30 "$timeout" "./$f" </dev/null 2>&1 | tee "$log" | sed -u 's/^/# /'
	rc=${PIPESTATUS[0]}
	secs=$(($(date +%s) - start))
	leftovers=$(clean_leftovers "$before")
	[ -n "$leftovers" ] && echo "$leftovers" | sed 's/^/# left behind: /'
	echo "# $name: exit $rc after ${secs}s"
	case $rc in
	0)	if [ -n "$leftovers" ]; then
			echo "not ok $n $name # left devices behind"
			fail=$((fail + 1))
		else
			echo "ok $n $name"
			pass=$((pass + 1))
		fi ;;
	4)	why=$(sed -n 's/^1\.\.0 # SKIP //p; s/^# SKIP: //p' "$log" | tail -n 1)
		echo "ok $n $name # SKIP ${why:-skipped}"
		skip=$((skip + 1)) ;;
	124|137)
		echo "not ok $n $name # TIMEOUT ${timeout}s"
		fail=$((fail + 1)) ;;
	*)	echo "not ok $n $name # exit=$rc"
		fail=$((fail + 1)) ;;
	esac
	if [ "$rc" != 0 ] && [ "$rc" != 4 ]; then
		dmesg 2>/dev/null | tail -n +"$((klog_start + 1))" | tail -n 60 | sed 's/^/# dmesg: /'
	fi
done

echo "# totals: pass:$pass fail:$fail skip:$skip"
[ "$fail" -eq 0 ]
