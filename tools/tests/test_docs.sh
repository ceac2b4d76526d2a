#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The man page and the bash completion agree with the tool. Needs no
# module and no root. From anywhere:
#
#   tools/tests/test_docs.sh
#
# Checks that every command of `snapblkctl --help` (and `monitor`) has a
# .SS heading in docs/snapblkctl.8, that every long option of
# `snapblkctl help COMMAND` appears in it, that it renders with groff
# without warnings (skipped without groff), and that the completion
# script loads in a plain bash and completes commands, options and
# option values as the tool takes them.
#
# Prints "ok N ..." / "not ok N ..." lines and "# docs: N passed, N
# failed" (", N skipped" when some were); exits 1 if any check failed.
#
# Environment: SNAPBLKCTL, the tool to ask (default: tools/snapblkctl if
# it is newer than its sources, else one built from them in a temporary
# directory; CC is honoured); MANPAGE and COMPLETION, the files to check
# (default docs/snapblkctl.8 and tools/snapblkctl.bash-completion).
set -u

cd "$(dirname "$0")/../.." || exit 1
MANPAGE=${MANPAGE:-docs/snapblkctl.8}
COMPLETION=${COMPLETION:-tools/snapblkctl.bash-completion}
tmp=$(mktemp -d /tmp/sbdocs.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
pass=0
fail=0
skip=0

ok() { n=$((n + 1)); pass=$((pass + 1)); printf 'ok %d %s\n' "$n" "$*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); printf 'not ok %d %s\n' "$n" "$*"; }
skipped() { n=$((n + 1)); skip=$((skip + 1)); printf 'ok %d %s # SKIP %s\n' "$n" "$1" "$2"; }
# flat TEXT: its lines joined by spaces
flat() { printf '%s' "$1" | tr '\n' ' ' | sed 's/ *$//'; }
# diag TEXT...: indented detail lines after a failure
diag() {
	local line

	for line in "$@"; do
		[ -n "$line" ] && printf '%s\n' "$line" | sed 's/^/#   /'
	done
	return 0
}

finish() {
	local extra=''

	[ "$skip" -gt 0 ] && extra=", $skip skipped"
	printf '# docs: %d passed, %d failed%s\n' "$pass" "$fail" "$extra"
	[ "$fail" -eq 0 ]
	exit
}

# ---- the tool ----

tool_fresh() {
	[ -x tools/snapblkctl ] &&
		[ -z "$(find tools uapi -maxdepth 2 \( -name '*.c' -o -name '*.h' \) \
			-newer tools/snapblkctl ! -path 'tools/tests/*' 2>/dev/null)" ]
}

if [ -n "${SNAPBLKCTL:-}" ]; then
	BIN=$SNAPBLKCTL
elif tool_fresh; then
	BIN=tools/snapblkctl
else
	BIN=$tmp/snapblkctl
	if ! ${CC:-cc} -O1 -Iuapi -o "$BIN" tools/*.c 2>"$tmp/cc"; then
		not_ok "build snapblkctl from tools/*.c"
		diag "$(head -20 "$tmp/cc")"
		finish
	fi
fi
# the tool never needs the module here
export SNAPBLK_CTL="$tmp/no-such-ctl"

if ! "$BIN" --help >"$tmp/help" 2>"$tmp/err"; then
	not_ok "$BIN --help runs"
	diag "$(cat "$tmp/err")"
	finish
fi
# Command names: the first word of the lines of "Commands:" indented by
# exactly two spaces (the summaries below them are indented further).
mapfile -t cmds < <(awk '/^Commands:/ { f = 1; next }
	f && /^$/ { exit }
	f && /^  [^ ]/ { print $1 }' "$tmp/help")
if [ "${#cmds[@]}" -ge 5 ]; then
	ok "--help lists ${#cmds[@]} commands: ${cmds[*]}"
else
	not_ok "--help lists commands (found: ${cmds[*]:-none})"
fi
all_cmds=("${cmds[@]}")
[[ " ${cmds[*]} " == *" monitor "* ]] || all_cmds+=(monitor)

# ---- the man page ----

if [ ! -r "$MANPAGE" ]; then
	not_ok "$MANPAGE exists"
	finish
fi
# The page as text: \- as -, font changes and \& dropped.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f([A-Z][A-Z]//g' \
	-e 's/\\&//g' "$MANPAGE" >"$tmp/man.txt"

missing=()
for c in "${all_cmds[@]}"; do
	grep -qE "^\.SS +\"?\\\\fB$c\\\\f[RP]( |\"|\$)" "$MANPAGE" || missing+=("$c")
done
if [ "${#missing[@]}" -eq 0 ]; then
	ok "every command has a .SS heading starting with its name in bold"
else
	not_ok "commands without a .SS heading: ${missing[*]}"
fi

for c in "${all_cmds[@]}"; do
	if ! "$BIN" help "$c" >"$tmp/cmdhelp" 2>/dev/null; then
		# monitor before the tool has it: its one option is checked below
		[ "$c" = monitor ] && continue
		not_ok "snapblkctl help $c runs"
		continue
	fi
	opts=$(grep -oE -- '--[a-z][a-z-]*' "$tmp/cmdhelp" | sort -u)
	missing=()
	for o in $opts; do
		grep -qE -- "(^|[^a-z-])$o([^a-z-]|\$)" "$tmp/man.txt" || missing+=("$o")
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		ok "man page has the options of $c: $(flat "${opts:-(none)}")"
	else
		not_ok "man page lacks options of $c: ${missing[*]}"
	fi
done

missing=()
for w in --json --help -h --version; do
	grep -qE -- "(^|[^a-z-])$w([^a-z-]|\$)" "$tmp/man.txt" || missing+=("$w")
done
if [ "${#missing[@]}" -eq 0 ]; then
	ok "man page has --json (monitor), --help, -h and --version"
else
	not_ok "man page lacks ${missing[*]}"
fi

missing=()
for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS ARGUMENTS EVENTS \
	'EXIT STATUS' ENVIRONMENT FILES EXAMPLES 'SEE ALSO'; do
	grep -qE "^\.SH +\"?$s\"?\$" "$MANPAGE" || missing+=("$s")
done
if grep -q '^\.TH SNAPBLKCTL 8 ' "$MANPAGE" && [ "${#missing[@]}" -eq 0 ]; then
	ok "man page has .TH SNAPBLKCTL 8 and every section"
else
	not_ok "man page lacks .TH SNAPBLKCTL 8 or sections: ${missing[*]}"
fi

missing=()
for w in active committing reverting invalid full stopped \
	threshold commit-done revert-done SNAPBLK_EVENT SNAPBLK_CTL \
	/dev/snapblk-ctl /dev/snapblk/NAME /sys/block/snapblkN/snapblk/ \
	name kind parent store chunk_size store_used store_size state progress; do
	grep -qE -- "(^|[^a-zA-Z_/-])$w([^a-zA-Z_-]|\$)" "$tmp/man.txt" || missing+=("$w")
done
if [ "${#missing[@]}" -eq 0 ]; then
	ok "man page has the states, events, environment, files and sysfs attributes"
else
	not_ok "man page lacks: ${missing[*]}"
fi

# The JSON keys 'help status' lists ("with the keys a, b (x), ... and z.")
keys=$("$BIN" help status 2>/dev/null | tr '\n' ' ' |
	sed -n 's/.*with the keys \([^.]*\)\..*/\1/p' |
	sed -e 's/([^)]*)//g' -e 's/ and /, /g' | tr ',' '\n' | tr -d ' ')
missing=()
for k in $keys; do
	grep -qE "^\.B +$k\$" "$MANPAGE" || missing+=("$k")
done
if [ -z "$keys" ]; then
	not_ok "found the JSON keys in 'snapblkctl help status'"
elif [ "${#missing[@]}" -eq 0 ]; then
	ok "man page describes every key of status --json: $(flat "$keys")"
else
	not_ok "man page does not describe status --json keys: ${missing[*]}"
fi

if sed -n '/^\.SH "\?EXIT STATUS/,/^\.SH/p' "$MANPAGE" | grep -qE '^\.B +2$' &&
	sed -n '/^\.SH "\?EXIT STATUS/,/^\.SH/p' "$MANPAGE" | grep -qE '^\.B +1$' &&
	sed -n '/^\.SH "\?EXIT STATUS/,/^\.SH/p' "$MANPAGE" | grep -qE '^\.B +0$'; then
	ok "EXIT STATUS lists 0, 1 and 2"
else
	not_ok "EXIT STATUS lists 0, 1 and 2"
fi

if command -v groff >/dev/null 2>&1; then
	if groff -man -Tutf8 -ww -z "$MANPAGE" >"$tmp/groff" 2>&1 && [ ! -s "$tmp/groff" ]; then
		ok "groff -man -Tutf8 -ww -z renders it without warnings"
	else
		not_ok "groff -man -Tutf8 -ww -z renders it without warnings"
		diag "$(head -20 "$tmp/groff")"
	fi
else
	skipped "groff renders the man page without warnings" "groff not installed"
fi
if command -v man >/dev/null 2>&1; then
	if MANWIDTH=80 man --warnings -l "$MANPAGE" >"$tmp/man.out" 2>"$tmp/man.err" &&
		[ ! -s "$tmp/man.err" ] && grep -q '^COMMANDS' "$tmp/man.out"; then
		ok "man -l renders it without warnings"
	else
		not_ok "man -l renders it without warnings"
		diag "$(head -20 "$tmp/man.err")"
	fi
else
	skipped "man -l renders the man page" "man not installed"
fi

# ---- the bash completion ----

# A fake snapblkctl on PATH for the NAMEs; LIST_MODE=ok|fail.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/snapblkctl" <<'EOF'
#!/bin/sh
if [ "$1" = list ] && [ "${LIST_MODE:-fail}" = ok ]; then
	echo "/dev/snapblk0 vm1 overlay /dev/loop0"
	echo "/dev/snapblk1 vm2 overlay /dev/loop0"
	echo "/dev/snapblk2 data origin /dev/sdb"
	exit 0
fi
echo "snapblkctl: cannot open /dev/snapblk-ctl: No such file or directory" >&2
exit 1
EOF
chmod +x "$tmp/bin/snapblkctl"

# comp WORD...: the completions of the last WORD, sorted, one per line;
# what bash printed on stderr goes to $tmp/comp.err.
comp() {
	PATH="$tmp/bin:$PATH" bash --norc --noprofile -c '
		f=$1; shift
		source "$f" || exit 3
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_snapblkctl snapblkctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || exit 4
		printf "%s\n" "${COMPREPLY[@]}"
	' comp "$COMPLETION" "$@" 2>"$tmp/comp.err" | sort
}

# want DESCRIPTION "EXPECTED WORDS" WORD...: exactly these completions.
want() {
	local desc=$1 expect got
	expect=$(printf '%s' "$2" | tr ' ' '\n' | sed '/^$/d' | sort)
	shift 2
	got=$(comp "$@")
	if [ "$got" = "$expect" ] && [ ! -s "$tmp/comp.err" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "got: $(flat "$got")" "want: $(flat "$expect")" "$(cat "$tmp/comp.err")"
	fi
}

if [ ! -r "$COMPLETION" ]; then
	not_ok "$COMPLETION exists"
	finish
fi
if out=$(bash --norc --noprofile -c 'source "$1" && declare -F _snapblkctl && complete -p snapblkctl' \
	_ "$COMPLETION" 2>&1) && [[ $out == *"complete -F _snapblkctl snapblkctl"* ]] &&
	[[ $out != *"line "* ]]; then
	ok "the completion loads in bash --norc and registers _snapblkctl"
else
	not_ok "the completion loads in bash --norc and registers _snapblkctl"
	diag "$out"
	finish
fi

want "'snapblkctl ov' completes to overlay" overlay snapblkctl ov
want "'snapblkctl snapshot --on-full ' offers invalidate block-writes" \
	"invalidate block-writes" snapblkctl snapshot --on-full ""
want "'snapblkctl snapshot --on-full=b' (split at =) completes to block-writes" \
	block-writes snapblkctl snapshot --on-full = b
want "'snapblkctl overlay --chunk-size ' offers the chunk sizes" \
	"4K 8K 16K 32K 64K 128K 256K 512K 1M" snapblkctl overlay --chunk-size ""
want "'snapblkctl help com' completes to commit" commit snapblkctl help com

got=$(comp snapblkctl status --)
if printf '%s\n' "$got" | grep -qx -- --json; then
	ok "'snapblkctl status --' offers --json"
else
	not_ok "'snapblkctl status --' offers --json"
	diag "got: $(flat "$got")"
fi

got=$(comp snapblkctl "")
missing=()
for c in "${all_cmds[@]}"; do
	printf '%s\n' "$got" | grep -qx -- "$c" || missing+=("$c")
done
if [ "${#missing[@]}" -eq 0 ]; then
	ok "an empty command word offers every command"
else
	not_ok "an empty command word does not offer: ${missing[*]}"
fi
got=$(comp snapblkctl help "")
missing=()
for c in "${all_cmds[@]}"; do
	printf '%s\n' "$got" | grep -qx -- "$c" || missing+=("$c")
done
if [ "${#missing[@]}" -eq 0 ]; then
	ok "'snapblkctl help ' offers every command"
else
	not_ok "'snapblkctl help ' does not offer: ${missing[*]}"
fi

# Each command's options: exactly the long options of 'help CMD', plus
# --help, which every command takes.
for c in "${all_cmds[@]}"; do
	if "$BIN" help "$c" >"$tmp/cmdhelp" 2>/dev/null; then
		opts=$( (grep -oE -- '--[a-z][a-z-]*' "$tmp/cmdhelp"; echo --help) | sort -u)
	elif [ "$c" = monitor ]; then
		opts=$(printf '%s\n' --json --help | sort)
	else
		continue
	fi
	want "'snapblkctl $c --' offers exactly $(flat "$opts")" "$opts" snapblkctl "$c" --
done

want "an option already given is not offered again" "--name --help" \
	snapblkctl overlay --chunk-size 4K --
want "attach with --base does not offer --origin" "--name --help" \
	snapblkctl attach --base x /dev/sdb --

export LIST_MODE=ok
want "DEV completes to the NAMEs of 'snapblkctl list'" "vm1 vm2" \
	snapblkctl commit vm
want "ORIGIN of snapshot completes to the NAMEs" data snapblkctl snapshot da
want "--origin of attach completes to the NAMEs" data snapblkctl attach /dev/sdc --origin d
want "--base of attach completes to the NAMEs" "vm1 vm2" snapblkctl attach /dev/sdc --base=vm
unset LIST_MODE
want "a failing 'snapblkctl list' gives no NAMEs, quietly" "" snapblkctl commit vm
want "STORE does not complete NAMEs" "" snapblkctl overlay /dev/sda v

# Block devices for BASE: what /sys/class/block has, as /dev paths.
got=$(comp snapblkctl overlay /dev/)
bad=$(printf '%s\n' "$got" | while read -r f; do
	[ -z "$f" ] || [ -b "$f" ] || [ -d "$f" ] || echo "$f"
done)
if [ -z "$bad" ]; then
	ok "BASE offers only block devices and directories under /dev/"
else
	not_ok "BASE offers what is not a block device: $(flat "$bad")"
fi

if command -v shellcheck >/dev/null 2>&1; then
	if shellcheck -s bash "$COMPLETION" >"$tmp/sc" 2>&1; then
		ok "shellcheck finds nothing in the completion"
	else
		not_ok "shellcheck finds nothing in the completion"
		diag "$(head -20 "$tmp/sc")"
	fi
else
	skipped "shellcheck finds nothing in the completion" "shellcheck not installed"
fi

finish
