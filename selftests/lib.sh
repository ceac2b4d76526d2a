# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# shellcheck disable=SC2034 # what it sets (MiB, SB_DEV...) is for the tests
#
# lib.sh - shared helpers of the snapblk shell selftests.
#
# A test sources this file, calls sb_init, records its checks with
# check/check_eq/sb_ok/sb_notok (each prints a KTAP subtest line), and
# ends with sb_done. sb_init installs an EXIT trap (sb_cleanup) that
# tears down what the test made, in this order: the write delay of slow
# disks is lifted, background jobs are stopped, open file descriptors
# closed, mounts unmounted, snapblk devices removed (after any running
# revert ended; children first, with `snapblkctl detach`), then the
# registered device-mapper devices (sb_slow_disk, sb_register_dm), the
# loop devices, the test's directory in /tmp. Tests do not install EXIT
# traps of their own. Loop, snapblk and dm devices are recorded in files
# so that helpers called in $(...) subshells register them too.
#
# Exit codes follow kselftest: 0 pass, 1 fail, 4 skip.
#
# Tests run as root inside the QEMU guest (scripts/vm-run), where /tmp is
# a writable tmpfs and the module is already loaded. They never load or
# unload snapblk themselves.

set -o pipefail

SB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SB_ROOT=$(dirname "$SB_DIR")
SB_TEST=$(basename "$0" .sh)
PATTERN=$SB_DIR/pattern
CTL_DEV=/dev/snapblk-ctl
KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4
KiB=1024
MiB=$((1024 * 1024))

if command -v snapblkctl >/dev/null 2>&1; then
	SNAPBLKCTL=$(command -v snapblkctl)
else
	SNAPBLKCTL=$SB_ROOT/tools/snapblkctl
fi

_sb_n=0
_sb_pass=0
_sb_fail=0
_sb_skip=0
_sb_done=0
SB_TMP=

# ---------------------------------------------------------------- KTAP

diag() {
	local s="$*"

	# one "# " line per line of the arguments; builtins only: forks are
	# slow under TCG
	printf '# %s\n' "${s//$'\n'/$'\n'# }"
}

# diag_file FILE [PREFIX]: show a file's lines as diagnostics
diag_file() {
	[ -s "$1" ] || return 0
	sed -e "s/^/# ${2:-}/" "$1"
}

sb_ok() {
	_sb_n=$((_sb_n + 1))
	_sb_pass=$((_sb_pass + 1))
	echo "ok $_sb_n $1"
}

sb_notok() {
	_sb_n=$((_sb_n + 1))
	_sb_fail=$((_sb_fail + 1))
	echo "not ok $_sb_n $1"
	shift
	[ $# -gt 0 ] && diag "$@"
	return 0
}

sb_skip_one() {
	_sb_n=$((_sb_n + 1))
	_sb_skip=$((_sb_skip + 1))
	echo "ok $_sb_n $1 # SKIP ${2:-}"
}

# check DESC CMD [ARG...]: run CMD; its output becomes diagnostics if it fails
check() {
	local desc=$1 out rc t0=$SECONDS

	shift
	out=$("$@" 2>&1)
	rc=$?
	# slow steps show their time, to see where a test spends it
	[ $((SECONDS - t0)) -ge 5 ] && diag "($((SECONDS - t0))s: $desc)"
	if [ $rc -eq 0 ]; then
		sb_ok "$desc"
	else
		sb_notok "$desc" "command failed (exit $rc): $*"
		[ -n "$out" ] && diag "$out"
	fi
	return $rc
}

# check_fails DESC CMD [ARG...]: CMD must fail
check_fails() {
	local desc=$1 out rc

	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		sb_ok "$desc"
		return 0
	fi
	sb_notok "$desc" "command succeeded but must fail: $*"
	[ -n "$out" ] && diag "$out"
	return 1
}

# check_eq DESC GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then
		sb_ok "$1"
		return 0
	fi
	sb_notok "$1" "got '$2', expected '$3'"
	return 1
}

# check_true DESC SHELL-CONDITION (evaluated with eval; shown when false)
check_true() {
	if eval "$2"; then
		sb_ok "$1"
		return 0
	fi
	sb_notok "$1" "false: $2"
	return 1
}

_sb_totals() {
	echo "1..$_sb_n"
	echo "# Totals: pass:$_sb_pass fail:$_sb_fail xfail:0 xpass:0 skip:$_sb_skip error:0"
}

# sb_done: end of the test; the EXIT trap cleans up
sb_done() {
	_sb_done=1
	_sb_totals
	[ "$_sb_fail" -eq 0 ] || exit $KSFT_FAIL
	[ "$_sb_n" -gt 0 ] && [ "$_sb_skip" -eq "$_sb_n" ] && exit $KSFT_SKIP
	exit $KSFT_PASS
}

# sb_bail MSG: a failure after which the rest of the test makes no sense
sb_bail() {
	_sb_done=1
	_sb_fail=$((_sb_fail + 1))
	echo "Bail out! $*"
	_sb_totals
	exit $KSFT_FAIL
}

# sb_skip MSG: skip the whole test
sb_skip() {
	_sb_done=1
	if [ "$_sb_n" -eq 0 ]; then
		echo "1..0 # SKIP $*"
	else
		diag "SKIP: $*"
		_sb_totals
		[ "$_sb_fail" -eq 0 ] || exit $KSFT_FAIL
	fi
	exit $KSFT_SKIP
}

# ------------------------------------------------------------ requires

require_root() {
	[ "$(id -u)" -eq 0 ] || sb_skip "must run as root"
}

require_cmd() {
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || sb_skip "$c not installed"
	done
}

require_module() {
	[ -c "$CTL_DEV" ] || sb_skip "$CTL_DEV missing: snapblk is not loaded"
}

# sb_reload_module: unload snapblk and load it again (the module that
# vm-run loaded, $VM_KO); no snapblk device may exist. Fails when that
# cannot be done here.
sb_reload_module() {
	[ -n "${VM_KO:-}" ] && [ -r "$VM_KO" ] || { diag "no \$VM_KO to load again"; return 1; }
	[ -z "$(_sb_snapblk_devs)" ] || { diag "snapblk devices exist: $(_sb_snapblk_devs)"; return 1; }
	rmmod snapblk || return 1
	insmod "$VM_KO" || return 1
	sb_wait_exists "$CTL_DEV"
}

require_snapblkctl() {
	[ -x "$SNAPBLKCTL" ] || sb_bail "snapblkctl not built ($SNAPBLKCTL)"
}

require_pattern() {
	[ -x "$PATTERN" ] || sb_bail "$PATTERN not built: run make -C selftests"
}

# Kernel modules the tests need besides snapblk (loop, ext4). They are
# loaded only where snapblk itself is loaded, which is the QEMU guest.
require_kmod() {
	local m

	for m in "$@"; do
		[ -d "/sys/module/$m" ] && continue
		[ -c "$CTL_DEV" ] && modprobe "$m" 2>/dev/null
		[ -d "/sys/module/$m" ] || sb_skip "kernel module $m not available"
	done
}

# ------------------------------------------------------------- cleanup

_sb_reg() { # _sb_reg KIND VALUE
	[ -n "$SB_TMP" ] && echo "$2" >>"$SB_TMP/.reg-$1"
}

sb_register_dev() { _sb_reg dev "$1"; }
sb_register_mount() { _sb_reg mnt "$1"; }
sb_register_pid() { _sb_reg pid "$1"; }
# sb_register_dm NAME: a device-mapper device the cleanup removes (after
# the snapblk devices, before the loop devices); sb_slow_disk does it
sb_register_dm() { _sb_reg dm "$1"; }

_sb_reg_list() { # newest first
	[ -f "$SB_TMP/.reg-$1" ] && tac "$SB_TMP/.reg-$1"
}

# the kernel name (snapblk3, loop0) of a device path, kernel name or
# snapblk NAME
sb_kname() {
	local p=$1 n

	case "$p" in
	/dev/*) p=$(readlink -f "$p") ;;
	*)	if [ -e "/dev/$p" ]; then
			p=$(readlink -f "/dev/$p")
		else
			for n in /sys/block/snapblk*/snapblk/name; do
				[ "$(cat "$n" 2>/dev/null)" = "$p" ] || continue
				n=${n%/snapblk/name}
				p=${n##*/}
				break
			done
		fi ;;
	esac
	basename "$p"
}

_sb_dev_exists() { [ -e "/sys/block/$(sb_kname "$1")" ]; }

# remove a snapblk device through the ioctl, for when snapblkctl cannot
_sb_ioctl_remove() {
	local idx=${1#snapblk}

	python3 - "$idx" <<-'EOF' 2>/dev/null
	import fcntl, os, struct, sys
	# SNAPBLK_IOC_REMOVE = _IOW(0xb5, 0x02, struct snapblk_cmd) (32 bytes)
	cmd = (1 << 30) | (32 << 16) | (0xb5 << 8) | 0x02
	fd = os.open("/dev/snapblk-ctl", os.O_RDWR)
	fcntl.ioctl(fd, cmd, struct.pack("<II3Q", int(sys.argv[1]), 0, 0, 0, 0))
	EOF
}

sb_cleanup() {
	local rc=$? bad=0 pass p d fd i left all loops

	set +e	# a test's set -e must not end its cleanup at the first miss
	trap - EXIT INT TERM
	[ -n "$SB_TMP" ] && [ -d "$SB_TMP" ] || exit $rc

	# slow disks at full speed first: the I/O jobs wait for ends sooner
	for d in $(_sb_reg_list dm); do
		sb_slow_set "$d" 0 >/dev/null 2>&1
	done
	# a job with an I/O that never completes does not end on SIGTERM:
	# SIGKILL after 5 s, and no waiting for it
	for p in $(_sb_reg_list pid); do
		kill "$p" 2>/dev/null || continue
		for ((i = 0; i < 10; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.5
		done
		kill -9 "$p" 2>/dev/null && disown "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for fd in 3 4 5 6 7 8 9; do
		eval "exec $fd>&-" 2>/dev/null
	done
	for d in $(_sb_reg_list mnt); do
		mountpoint -q "$d" || continue
		umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null ||
			{ diag "cleanup: cannot unmount $d"; bad=1; }
	done

	# a running revert refuses detach: let it end
	for d in $(_sb_snapblk_devs); do
		[ "$(sb_sysfs "$d" state)" = reverting ] || continue
		timeout 300 "$SNAPBLKCTL" wait "/dev/$d" >/dev/null 2>&1 ||
			diag "cleanup: snapblkctl wait /dev/$d failed"
	done

	# snapblk devices: the registered ones and any that appeared during
	# the test, children before parents (a parent refuses to go first)
	left=$(
		{
			_sb_reg_list dev | while read -r d; do sb_kname "$d"; done
			_sb_snapblk_devs | grep -vxF -f "$SB_TMP/.devs-before" -e ""
		} | awk '!seen[$0]++'
	)
	all=$left
	for pass in 1 2 3 4; do
		[ -z "$left" ] && break
		local next=
		for d in $left; do
			[ -e "/sys/block/$d" ] || continue
			if [ "$pass" -lt 4 ]; then
				"$SNAPBLKCTL" detach "/dev/$d" >/dev/null 2>"$SB_TMP/.cleanup-err" ||
					_sb_ioctl_remove "$d" || { next="$next $d"; continue; }
			else
				diag "cleanup: cannot remove /dev/$d: $(head -n1 "$SB_TMP/.cleanup-err")"
				bad=1
			fi
		done
		left=$next
	done

	# the dm devices, newest first, once nothing of snapblk holds them
	if [ -s "$SB_TMP/.reg-dm" ]; then
		for d in $all; do
			sb_wait_gone "/sys/block/$d" 5
		done
		for d in $(_sb_reg_list dm | awk '!seen[$0]++'); do
			dmsetup info "$d" >/dev/null 2>&1 || continue
			dmsetup remove --retry "$d" >/dev/null 2>&1 ||
				{ diag "cleanup: cannot remove dm device $d"; bad=1; }
		done
	fi

	# the loop devices still backed by the test's files (a test may have
	# detached some itself, and the number may have been reused)
	loops=$(_sb_reg_list loop | awk '!seen[$0]++')
	for d in $loops; do
		case $(cat "/sys/block/${d#/dev/}/loop/backing_file" 2>/dev/null) in
		"$SB_TMP"/*) ;;
		*) continue ;;
		esac
		losetup -d "$d" 2>/dev/null || { sleep 0.5; losetup -d "$d" 2>/dev/null; } ||
			{ diag "cleanup: cannot detach $d"; bad=1; }
	done
	rm -rf "$SB_TMP"
	if [ "$bad" -ne 0 ] && { [ $rc -eq 0 ] || [ $rc -eq $KSFT_SKIP ]; }; then
		echo "# cleanup failed: the test leaves devices behind"
		rc=$KSFT_FAIL
	fi
	if [ $rc -eq 0 ] && [ "$_sb_done" -eq 0 ]; then
		echo "# the test ended without sb_done"
		rc=$KSFT_FAIL
	fi
	exit $rc
}

_sb_snapblk_devs() {
	local d

	for d in /sys/block/snapblk*; do
		[ -e "$d" ] && basename "$d"
	done | sort
}

# sb_init: common start of every test
sb_init() {
	require_root
	require_module
	require_pattern
	SB_TMP=$(mktemp -d "/tmp/snapblk-test.$SB_TEST.XXXXXX") ||
		sb_bail "cannot create a directory in /tmp"
	_sb_snapblk_devs >"$SB_TMP/.devs-before"
	trap sb_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	echo "TAP version 13"
}

# ------------------------------------------------------ files and loops

# sb_file NAME SIZE [SEED]: a sparse file in the test directory, filled
# with the pattern of SEED when given; prints its path
sb_file() {
	local f=$SB_TMP/$1

	rm -f "$f"
	truncate -s "$2" "$f" || return 1
	if [ -n "${3:-}" ]; then
		"$PATTERN" write "$f" "$3" 0 "$2" || return 1
	fi
	echo "$f"
}

# sb_copy FILE NAME: a copy of FILE in the test directory; prints its path
sb_copy() {
	cp "$1" "$SB_TMP/$2" && echo "$SB_TMP/$2"
}

# sb_loop FILE: attach FILE to a free loop device; prints /dev/loopN
sb_loop() {
	local dev

	dev=$(losetup --show -f "$1") || return 1
	_sb_reg loop "$dev"
	echo "$dev"
}

# sb_wait_exists PATH [SECONDS]: wait for PATH to appear
sb_wait_exists() {
	local i n=$((${2:-5} * 10))

	for ((i = 0; i < n; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	[ -e "$1" ]
}

# sb_wait_gone PATH [SECONDS]
sb_wait_gone() {
	local i n=$((${2:-5} * 10))

	for ((i = 0; i < n; i++)); do
		[ -e "$1" ] || return 0
		sleep 0.1
	done
	! [ -e "$1" ]
}

# --------------------------------------------------- slow disk (dm-delay)

# A slow disk is a dm-delay device over another device whose write delay
# the test changes (dmsetup reload + resume) while it runs, so that a
# background commit or revert lasts long enough to be looked at. Reads
# are never delayed. The cleanup lifts the delay and removes the device.

SB_SLOW=

# sb_slow_probe: can slow disks be made here (dmsetup and the dm-delay
# target; dm-delay is loaded in the guest)? Sets SB_SLOW to 1 or 0.
sb_slow_probe() {
	SB_SLOW=0
	command -v dmsetup >/dev/null 2>&1 && command -v blockdev >/dev/null 2>&1 ||
		return 1
	[ -c "$CTL_DEV" ] && modprobe dm-delay 2>/dev/null
	dmsetup targets 2>/dev/null | grep -q '^delay ' || return 1
	SB_SLOW=1
}

# require_slow_disk: skip the test when slow disks cannot be made
require_slow_disk() {
	require_cmd dmsetup blockdev
	sb_slow_probe || sb_skip "dm-delay target not available"
}

# _sb_slow_table DEV SECTORS WRITE_MS FLUSH_MS
_sb_slow_table() {
	echo "0 $2 delay $1 0 0 $1 0 $3 $1 0 $4"
}

# sb_slow_disk NAME DEV: a dm-delay device NAME over all of DEV, with no
# delay yet, registered for the cleanup; prints /dev/mapper/NAME. Where
# slow disks cannot be made (sb_slow_probe) it prints DEV itself, and
# sb_slow_set does nothing: a test that can do without calls
# sb_slow_probe, one that cannot calls require_slow_disk.
sb_slow_disk() {
	[ -n "$SB_SLOW" ] || sb_slow_probe
	if [ "$SB_SLOW" != 1 ]; then
		echo "$2"
		return 0
	fi
	dmsetup create "$1" --table "$(_sb_slow_table "$2" "$(blockdev --getsz "$2")" 0 0)" ||
		return 1
	sb_register_dm "$1"
	sb_wait_exists "/dev/mapper/$1" || return 1
	echo "/dev/mapper/$1"
}

# sb_slow_set NAME MS [FLUSH_MS]: the writes to the slow disk NAME now
# take MS ms more each, flushes FLUSH_MS (default MS, as in a dm-delay
# table that gives no flush delay); 0 lifts the delay
sb_slow_set() {
	local len target dev rest

	[ -n "$SB_SLOW" ] || sb_slow_probe
	[ "$SB_SLOW" = 1 ] || return 0
	read -r _ len target dev rest <<<"$(dmsetup table "$1")" || return 1
	[ "$target" = delay ] || return 1
	dmsetup reload "$1" --table "$(_sb_slow_table "$dev" "$len" "$2" "${3:-$2}")" &&
		dmsetup resume "$1"
}

# sb_wait_pid PID SECONDS: wait for the background job PID, at most
# SECONDS; its exit status, or 124 when it still runs then (it is left
# running: kill it, or leave it to the cleanup if it is registered)
sb_wait_pid() {
	local i n=$(($2 * 5))

	for ((i = 0; i < n; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	kill -0 "$1" 2>/dev/null && return 124
	wait "$1"
}

# sb_wait_batch DEV STATE: wait (up to 60 s) while DEV is in STATE
# (committing or reverting) with progress 0, so that a batch is done;
# prints the state and the progress then
sb_wait_batch() {
	local i st pr

	for ((i = 0; i < 300; i++)); do
		st=$(sb_sysfs "$1" state)
		pr=$(sb_sysfs "$1" progress)
		[ "$st" = "$2" ] && [ "$pr" = 0 ] || break
		sleep 0.2
	done
	echo "$st $pr"
}

# ------------------------------------------------ faulty disk (dm-flakey)

# A faulty disk is a dm device over another device that the test can make
# fail every write with EIO (dm-flakey, always down, error_writes) and
# heal again (dm-linear). Reads always pass. The cleanup removes it.

# require_faulty_disk: skip the test when faulty disks cannot be made
require_faulty_disk() {
	require_cmd dmsetup blockdev
	modprobe dm-flakey 2>/dev/null
	dmsetup targets 2>/dev/null | grep -q '^flakey ' ||
		sb_skip "dm-flakey target not available"
}

# sb_faulty_disk NAME DEV: a healthy faulty disk NAME over all of DEV,
# registered for the cleanup; prints /dev/mapper/NAME
sb_faulty_disk() {
	dmsetup create "$1" --table "0 $(blockdev --getsz "$2") linear $2 0" || return 1
	sb_register_dm "$1"
	sb_wait_exists "/dev/mapper/$1" || return 1
	echo "/dev/mapper/$1"
}

# sb_faulty_set NAME fail|heal: writes to the faulty disk NAME now fail,
# or pass again
sb_faulty_set() {
	local len target dev table

	read -r _ len target dev _ <<<"$(dmsetup table "$1")" || return 1
	case $target:$2 in
	linear:fail | flakey:fail) table="0 $len flakey $dev 0 0 1 1 error_writes" ;;
	linear:heal | flakey:heal) table="0 $len linear $dev 0" ;;
	*) return 1 ;;
	esac
	dmsetup reload "$1" --table "$table" && dmsetup resume "$1"
}

# sb_now_ms: milliseconds since the epoch
sb_now_ms() {
	local t

	t=$(date +%s%N)
	echo $((t / 1000000))
}

# ----------------------------------------------------------- snapblkctl

# sb_ctl ARGS...: run snapblkctl; stdout in $SB_OUT, stderr in $SB_ERR,
# exit status in $SB_RC (and returned). Paths it prints are registered
# for cleanup, also when the command should have failed.
sb_ctl() {
	"$SNAPBLKCTL" "$@" >"$SB_TMP/.out" 2>"$SB_TMP/.err"
	SB_RC=$?
	_sb_slurp SB_OUT "$SB_TMP/.out"
	_sb_slurp SB_ERR "$SB_TMP/.err"
	local l
	while IFS= read -r l; do
		[[ $l =~ ^/dev/snapblk[0-9]+$ ]] && _sb_reg dev "$l"
	done <"$SB_TMP/.out"
	return $SB_RC
}

_sb_show_ctl() {
	diag "snapblkctl $* -> exit $SB_RC"
	[ -n "$SB_OUT" ] && diag "stdout: $SB_OUT"
	[ -n "$SB_ERR" ] && diag "stderr: $SB_ERR"
	return 0
}

_sb_lines() { # number of lines of $1 (0 for empty)
	local nl=${1//[!$'\n']/}

	if [ -z "$1" ]; then
		echo 0
	else
		echo $((${#nl} + 1))
	fi
}

# _sb_slurp VAR FILE: VAR = FILE's text without trailing newlines, like
# $(cat FILE) but without forking
_sb_slurp() {
	local _t=

	IFS= read -r -d '' _t <"$2"
	while [[ $_t == *$'\n' ]]; do
		_t=${_t%$'\n'}
	done
	printf -v "$1" '%s' "$_t"
}

# expect_cli_error DESC ARGS...: snapblkctl must fail with no stdout and
# exactly one non-empty line on stderr (SPEC section 3)
expect_cli_error() {
	local desc=$1 why=

	shift
	sb_ctl "$@"
	if [ "$SB_RC" -eq 0 ]; then
		why="exit status 0"
	elif [ "$SB_RC" -ge 126 ]; then
		why="exit status $SB_RC (crashed or not run)"
	elif [ -n "$SB_OUT" ]; then
		why="output on stdout"
	elif [ -z "$SB_ERR" ] || [[ $SB_ERR == *$'\n'* ]]; then
		why="$(_sb_lines "$SB_ERR") lines on stderr, expected 1"
	fi
	if [ -z "$why" ]; then
		sb_ok "$desc"
		diag "  stderr: $SB_ERR"
		return 0
	fi
	sb_notok "$desc" "$why"
	_sb_show_ctl "$@"
	return 1
}

# sb_progress_ok FILE MIN [MONOTONIC]: FILE (what `snapblkctl wait` or
# `commit --wait` printed on stderr) has only "progress: N%" lines, N at
# most 100, at least MIN of them, the last one 100% when there is one,
# and with MONOTONIC=1 never going down. Prints what is wrong.
sb_progress_ok() {
	local f=$1 min=$2 mono=${3:-0} n=0 last=-1 l v

	while IFS= read -r l; do
		if ! [[ $l =~ ^progress:\ ([0-9]+)%$ ]]; then
			echo "unexpected line on stderr: '$l'"
			return 1
		fi
		v=${BASH_REMATCH[1]}
		if [ "$v" -gt 100 ]; then
			echo "progress above 100: '$l'"
			return 1
		fi
		if [ "$mono" = 1 ] && [ "$v" -lt "$last" ]; then
			echo "progress went down: $last% -> $v%"
			return 1
		fi
		last=$v n=$((n + 1))
	done <"$f"
	if [ $n -lt "$min" ]; then
		echo "$n progress lines, expected at least $min"
		return 1
	fi
	if [ $n -gt 0 ] && [ "$last" -ne 100 ]; then
		echo "last progress line is $last%, expected 100%"
		return 1
	fi
	return 0
}

# check_progress DESC FILE MIN [MONOTONIC]: sb_progress_ok as a check
check_progress() {
	local out

	if out=$(sb_progress_ok "$2" "$3" "${4:-0}"); then
		sb_ok "$1"
	else
		sb_notok "$1" "$out"
	fi
}

# _sb_new_dev ARGS...: run a snapblkctl command that makes a device and
# check its output: exactly one line, /dev/snapblkN, which exists
_sb_new_dev() {
	sb_ctl "$@"
	if [ "$SB_RC" -ne 0 ]; then
		diag "snapblkctl $* failed (exit $SB_RC): $SB_ERR"
		return 1
	fi
	if ! printf '%s' "$SB_OUT" | grep -qxE '/dev/snapblk[0-9]+'; then
		_sb_show_ctl "$@"
		diag "expected exactly one line /dev/snapblkN on stdout"
		return 1
	fi
	if ! sb_wait_exists "$SB_OUT" || ! [ -b "$SB_OUT" ]; then
		diag "$SB_OUT was printed but is not a block device"
		return 1
	fi
	if ! [ -d "/sys/block/$(basename "$SB_OUT")/snapblk" ]; then
		diag "/sys/block/$(basename "$SB_OUT")/snapblk missing"
		return 1
	fi
	return 0
}

# sb_overlay BASE STORE [OPTS...]: sets $SB_DEV to the new /dev/snapblkN.
# Not for $(...): it must run in the test's shell to set SB_DEV.
sb_overlay() {
	SB_DEV=
	_sb_new_dev overlay "$@" || return 1
	SB_DEV=$SB_OUT
}

# sb_attach STORE BASE [OPTS...]: attach STORE as an overlay of BASE
sb_attach() {
	local store=$1 base=$2

	shift 2
	SB_DEV=
	_sb_new_dev attach "$store" --base "$base" "$@" || return 1
	SB_DEV=$SB_OUT
}

# sb_origin DEV [OPTS...]: wrap DEV in an origin; sets $SB_DEV (not for $(...))
sb_origin() {
	SB_DEV=
	_sb_new_dev origin "$@" || return 1
	SB_DEV=$SB_OUT
}

# sb_snapshot ORIGIN STORE [OPTS...]: a snapshot of ORIGIN kept on STORE;
# sets $SB_DEV (not for $(...))
sb_snapshot() {
	SB_DEV=
	_sb_new_dev snapshot "$@" || return 1
	SB_DEV=$SB_OUT
}

# sb_detach DEV: detach and wait until the disk is gone
sb_detach() {
	local k

	k=$(sb_kname "$1")
	sb_ctl detach "$1" || { diag "snapblkctl detach $1: $SB_ERR"; return 1; }
	sb_wait_gone "/sys/block/$k" || { diag "/sys/block/$k still there after detach"; return 1; }
}

# sb_delete DEV
sb_delete() {
	local k

	k=$(sb_kname "$1")
	sb_ctl delete "$1" || { diag "snapblkctl delete $1: $SB_ERR"; return 1; }
	sb_wait_gone "/sys/block/$k" || { diag "/sys/block/$k still there after delete"; return 1; }
}

# sb_sysfs DEV ATTR: a snapblk sysfs attribute of DEV
sb_sysfs() {
	cat "/sys/block/$(sb_kname "$1")/snapblk/$2" 2>/dev/null
}

# sb_is_holder PARENT CHILD: the block layer records CHILD as PARENT's holder
sb_is_holder() {
	[ -e "/sys/block/$(sb_kname "$1")/holders/$(sb_kname "$2")" ]
}

# sb_same_dev A B: A and B name the same block device (kernel name,
# /dev path, or snapblk NAME)
sb_same_dev() {
	[ "$(sb_kname "$1")" = "$(sb_kname "$2")" ]
}

# ---------------------------------------------------------------- data

# sb_write DEV MODEL SEED OFFSET LENGTH [BS]: write the pattern to DEV
# and to the MODEL file (the expected image; "-" for none)
sb_write() {
	local dev=$1 model=$2 seed=$3 off=$4 len=$5 bs=${6:-1M}

	"$PATTERN" write -b "$bs" "$dev" "$seed" "$off" "$len" || return 1
	[ "$model" = - ] || "$PATTERN" write -b "$bs" "$model" "$seed" "$off" "$len"
}

# sb_scatter DEV MODEL SEED COUNT MINLEN MAXLEN [ALIGN]: the same random
# writes (see pattern.c) on DEV and on the MODEL file
sb_scatter() {
	local dev=$1 model=$2 seed=$3 count=$4 min=$5 max=$6 align=${7:-512}

	"$PATTERN" scatter -a "$align" "$dev" "$seed" "$count" "$min" "$max" || return 1
	[ "$model" = - ] || "$PATTERN" scatter -a "$align" "$model" "$seed" "$count" "$min" "$max"
}

# sb_cmp DEV MODEL: DEV reads exactly like the model file
sb_cmp() {
	"$PATTERN" cmp "$1" "$2"
}

# sb_verify DEV SEED OFFSET LENGTH
sb_verify() {
	"$PATTERN" verify "$1" "$2" "$3" "$4"
}

# sb_sha DEV [OFFSET LENGTH]: sha256 of DEV or of a byte range of it
sb_sha() {
	if [ $# -ge 3 ]; then
		dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M 2>/dev/null |
			sha256sum | cut -d' ' -f1
	else
		sha256sum <"$1" | cut -d' ' -f1
	fi
}

sb_size() {
	blockdev --getsize64 "$1"
}

sb_drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# sb_mount DEV DIR [OPTS...]
sb_mount() {
	local dev=$1 dir=$2

	shift 2
	mkdir -p "$dir"
	mount "$@" "$dev" "$dir" || return 1
	sb_register_mount "$dir"
}

# sb_json_check JSON PYTHON-EXPR...: each expression, evaluated with the
# parsed JSON as `j`, must be true; prints the false ones
sb_json_check() {
	python3 - "$@" <<-'EOF'
	import json, sys
	try:
	    j = json.loads(sys.argv[1])
	except Exception as e:
	    print("not valid JSON: %s: %r" % (e, sys.argv[1][:300]))
	    sys.exit(1)
	bad = 0
	for expr in sys.argv[2:]:
	    try:
	        ok = eval(expr)
	    except Exception as e:
	        ok = False
	        print("%s: %s" % (expr, e))
	    if not ok:
	        print("false: %s" % expr)
	        bad = 1
	if bad:
	    print("json: %s" % json.dumps(j)[:600])
	sys.exit(bad)
	EOF
}
