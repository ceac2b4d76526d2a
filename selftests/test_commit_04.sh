#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_commit_04 - an interrupted commit resumes, and a filesystem
# survives a commit.
# Resume: a 48M delta; the base sits behind dm-delay with 1 s per write,
# so that the commit is far from done when the overlay is detached right
# after `commit` returned. Detach is allowed mid-commit; the module is
# then unloaded and loaded again (when vm-run loaded it); `attach STORE
# --base BASE` of the store resumes the commit (state committing, or
# active if it already ended), the overlay reads its view meanwhile,
# `wait` exits 0, the delta ends empty and after detach the base reads
# exactly the view saved before the commit.
# ext4: mkfs.ext4 on an overlay, files written, `commit --wait` while it
# is mounted (the files stay readable), umount, a second `commit --wait`
# for what umount wrote, detach: `e2fsck -fn` of the base is clean and
# every file's checksum matches with the base mounted read-only.

# shellcheck disable=SC2016 # check_true conditions are expanded by eval
. "$(dirname "$0")/lib.sh"

DM=sbc04-$$

sb_init
require_snapblkctl
require_cmd timeout mkfs.ext4 e2fsck sha256sum mountpoint
require_kmod loop ext4
require_slow_disk

# ------------------------------------------------- interrupt and resume

size=$((64 * MiB))
basef=$(sb_file base.img $size 1) || sb_bail "cannot create the base image"
model=$(sb_copy "$basef" model.img) || sb_bail "cannot copy the base image"
base=$(sb_loop "$basef") || sb_bail "losetup failed"
store=$(sb_loop "$(sb_file store.img $((96 * MiB)))") || sb_bail "losetup failed"
pdev=$(sb_slow_disk "$DM" "$base") || sb_bail "cannot make the dm-delay device $DM over $base"
sb_overlay "$pdev" "$store" --name c04 || sb_bail "snapblkctl overlay failed"
dev=$SB_DEV
used0=$(sb_sysfs "$dev" store_used)
diag "overlay $dev: base $pdev (dm-delay on $base), store $store"
check "48M delta" sb_write "$dev" "$model" 5 $((8 * MiB)) $((48 * MiB))
check "scattered writes" sb_scatter "$dev" "$model" 6 100 512 128K
check "overlay reads its view" sb_cmp "$dev" "$model"
view=$("$PATTERN" sum "$model")

sb_slow_set "$DM" 1000 || sb_bail "cannot set the write delay of $DM"
sb_ctl commit "$dev"
check_eq "commit exits 0" "$SB_RC" 0 || { _sb_show_ctl commit "$dev"; sb_bail "commit failed"; }
st=$(sb_sysfs "$dev" state)
pr=$(sb_sysfs "$dev" progress)
diag "at the detach: state $st, progress $pr%"
check_eq "committing (1 s per base write)" "$st" committing
t0=$SECONDS
check "detach in the middle of the commit" sb_detach "$dev"
diag "the detach took $((SECONDS - t0))s"
[ -e "/sys/block/$(sb_kname "$dev")" ] && sb_bail "the overlay is still there"
interrupted=no
[ "$st" = committing ] && [ "$pr" != 100 ] && interrupted=yes
diag "the commit was interrupted: $interrupted"
if [ -n "${VM_KO:-}" ]; then
	check "module reload (rmmod, insmod) while the store holds the commit" sb_reload_module
else
	sb_skip_one "module reload" "no module to load again (not run by vm-run)"
fi

# the resumed commit is still slow at first, so that it can be seen
sb_slow_set "$DM" 200 || sb_bail "cannot set the write delay of $DM"
sb_drop_caches
sb_attach "$store" "$pdev" || sb_bail "attach of the store of the interrupted commit failed"
dev=$SB_DEV
st=$(sb_sysfs "$dev" state)
diag "after attach: state $st, progress $(sb_sysfs "$dev" progress)%"
check_true "after attach: committing (resumed) or active" \
	'[ "$st" = committing ] || [ "$st" = active ]'
if [ $interrupted = yes ]; then
	check_eq "the interrupted commit resumes on attach" "$st" committing
fi
check "the overlay reads the view right after attach" sb_cmp "$dev" "$model"
sb_slow_set "$DM" 0 || sb_bail "cannot clear the write delay of $DM"
t0=$SECONDS
timeout 300 "$SNAPBLKCTL" wait "$dev" >/dev/null 2>"$SB_TMP/wait.err"
rc=$?
diag "wait: exit $rc after $((SECONDS - t0))s"
check_eq "wait exits 0" "$rc" 0 || diag_file "$SB_TMP/wait.err"
check_true "wait: the last line is 'progress: 100%' (if any)" \
	'! [ -s "$SB_TMP/wait.err" ] || [ "$(tail -n 1 "$SB_TMP/wait.err")" = "progress: 100%" ]' ||
	diag_file "$SB_TMP/wait.err"
check_eq "state active" "$(sb_sysfs "$dev" state)" active
check_eq "store_used back to the empty overlay's" "$(sb_sysfs "$dev" store_used)" "$used0"
check "the overlay reads the view" sb_cmp "$dev" "$model"
check "detach" sb_detach "$dev"
check "dmsetup remove" dmsetup remove "$DM"
sb_drop_caches
check_eq "the base has the view's checksum" "$("$PATTERN" sum "$base")" "$view"
check "the base reads the view byte for byte" sb_cmp "$base" "$model"

# --------------------------------------------------------------- ext4

esize=$((64 * MiB))
ebase=$(sb_loop "$(sb_file ebase.img $esize 3)") || sb_bail "losetup failed"
estore=$(sb_loop "$(sb_file estore.img $((96 * MiB)))") || sb_bail "losetup failed"
sb_overlay "$ebase" "$estore" --name c04-fs || sb_bail "snapblkctl overlay failed"
edev=$SB_DEV
eused0=$(sb_sysfs "$edev" store_used)
mnt=$SB_TMP/mnt
check "mkfs.ext4 on the overlay" mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$edev"
sb_mount "$edev" "$mnt" || sb_bail "mount $edev failed"
mkdir -p "$mnt/data" "$mnt/tree"
ok=1
for spec in 1:0 2:1 3:4095 4:4097 5:65536 6:300000 7:5000000 8:9000000; do
	n=${spec%%:*} len=${spec#*:}
	truncate -s "$len" "$mnt/data/f$n" &&
		{ [ "$len" -eq 0 ] || "$PATTERN" write -B "$mnt/data/f$n" "$((200 + n))" 0 "$len"; } ||
		ok=0
done
cp -a /usr/bin/[a-b]* "$mnt/tree/" 2>/dev/null
ntree=$(find "$mnt/tree" -type f | wc -l)
check_true "files written ($ntree copied under tree/)" "[ $ok = 1 ] && [ $ntree -gt 10 ]"
(cd "$mnt" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$SB_TMP/manifest"
diag "$(wc -l <"$SB_TMP/manifest") files, $(du -sh "$mnt" | cut -f1)"
sync

sb_ctl commit "$edev" --wait
check_eq "commit --wait while mounted" "$SB_RC" 0 || _sb_show_ctl commit "$edev" --wait
check_eq "state active" "$(sb_sysfs "$edev" state)" active
sb_drop_caches
check "files read back on the mounted overlay" \
	bash -c "cd '$mnt' && sha256sum --quiet -c '$SB_TMP/manifest'"
check "umount" umount "$mnt"
sb_ctl commit "$edev" --wait
check_eq "commit --wait after umount" "$SB_RC" 0 || _sb_show_ctl commit "$edev" --wait
check_eq "store_used back to the empty overlay's" "$(sb_sysfs "$edev" store_used)" "$eused0"
esum=$("$PATTERN" sum "$edev")
check "detach" sb_detach "$edev"
sb_drop_caches
check_eq "the base has the overlay's checksum" "$("$PATTERN" sum "$ebase")" "$esum"
check "e2fsck -fn of the base: clean" e2fsck -fn "$ebase"
if sb_mount "$ebase" "$mnt" -o ro; then
	sb_ok "mount the base read-only"
	check "every file's checksum on the base" \
		bash -c "cd '$mnt' && sha256sum --quiet -c '$SB_TMP/manifest'"
	check "umount" umount "$mnt"
else
	sb_notok "mount the base read-only"
fi
check_eq "the read-only mount left the base alone" "$("$PATTERN" sum "$ebase")" "$esum"

sb_done
