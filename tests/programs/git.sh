# git.sh: git under each setting on local repositories: clone --no-local (pack-objects
# and index-pack, with their threads), the history and a tree archive read back equal to
# the source's, a commit on the clone, repack -adf and gc, then fsck --full --strict.
# The source repository (300 files, 30 commits) is built once under glibc.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 5
require git seq sha256sum

# No user or system configuration may leak in.
HOME=$HK_TMP
GIT_CONFIG_NOSYSTEM=1
GIT_CONFIG_GLOBAL=/dev/null
GIT_AUTHOR_NAME=Hak GIT_AUTHOR_EMAIL=hak@example.org GIT_AUTHOR_DATE="2026-01-01T00:00:00Z"
GIT_COMMITTER_NAME=Hak GIT_COMMITTER_EMAIL=hak@example.org GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
export HOME GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
    GIT_AUTHOR_DATE GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_COMMITTER_DATE

src=$HK_TMP/src
plain git init -q -b main "$src" || fail_rest "git init failed"
for c in $(seq 1 30); do
    for f in $(seq $c 10 300); do
        d=$src/dir$((f % 6))
        mkdir -p "$d"
        seq "$c" $((f * 3 + c)) | sed "s/^/$f:/" >"$d/file$f.txt"
    done
    plain git -C "$src" add -A && plain git -C "$src" commit -q -m "commit $c"
done
want_log=$(plain git -C "$src" log --format='%H %s' | sha256sum)
want_tree=$(plain git -C "$src" archive --format=tar HEAD | sha256sum)
want_head=$(plain git -C "$src" rev-parse HEAD)
[ "$(plain git -C "$src" rev-list --count HEAD)" = 30 ] ||
    fail_rest "building the source repository failed"

body() {
    dst=$HK_TMP/clone-$setting
    run git clone -q --no-local "$src" "$dst"
    check_eq "git clone --no-local: HEAD is the source's" "$want_head" \
        "$(run git -C "$dst" rev-parse HEAD)"
    check_eq "the clone's history (30 commits) is the source's" "$want_log" \
        "$(run git -C "$dst" log --format='%H %s' | sha256sum)"
    check_eq "git archive of HEAD: the same tree" "$want_tree" \
        "$(run git -C "$dst" archive --format=tar HEAD | sha256sum)"
    echo "one more line" >>"$dst/dir1/file1.txt"
    run git -C "$dst" commit -q -a -m "on the clone"
    check_eq "a commit on the clone: 31 commits, 1 file changed" "31 1" \
        "$(run git -C "$dst" rev-list --count HEAD) $(run git -C "$dst" diff --name-only HEAD~1 | wc -l)"
    out=$(run git -C "$dst" repack -q -adf --threads=2 --window=50 2>&1 &&
        run git -C "$dst" gc -q --prune=now 2>&1 &&
        run git -C "$dst" fsck --full --strict --no-progress 2>&1 && echo clean)
    check_eq "repack -adf --threads=2, gc, then fsck --full --strict: clean" "clean" "$out"
    rm -rf "$dst"
}
corpus_run body

tap_done
