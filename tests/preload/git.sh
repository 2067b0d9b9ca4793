# git.sh: git under LD_PRELOAD=libhakmem: init, add and commit a few hundred files, read
# the history back, gc (repack, with its threads) and fsck, in a private repository.

. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 7
require git seq

# No user or system configuration may leak in.
HOME=$HK_TMP
GIT_CONFIG_NOSYSTEM=1
GIT_CONFIG_GLOBAL=/dev/null
export HOME GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL
repo=$HK_TMP/repo

g() {
    preload git -C "$repo" -c user.name=Hak -c user.email=hak@example.org \
        -c init.defaultBranch=main -c gc.auto=0 "$@"
}

commit_all() {
    g add -A && g commit -q -m "$1"
}

mkdir "$repo"
check "git init" g init -q
for d in 1 2 3 4; do
    mkdir "$repo/dir$d"
    for f in $(seq 1 60); do
        seq "$f" $((f * d * 10)) >"$repo/dir$d/file$f.txt"
    done
done
check "git add and commit of 240 files" commit_all first
for f in $(seq 1 30); do
    echo "changed $f" >>"$repo/dir3/file$f.txt"
done
rm "$repo/dir4/file60.txt"
check "second commit (30 files changed, 1 deleted)" commit_all second
echo "new" >"$repo/new.txt"
commit_all third >/dev/null

check_eq "git log lists the three commits" "third
second
first" "$(g log --format=%s)"
check_eq "git diff --shortstat between the first and second commit" \
    " 31 files changed, 30 insertions(+), 2341 deletions(-)" "$(g diff --shortstat HEAD~2 HEAD~1)"
check "git gc" g gc -q
check_eq "after gc, git fsck is clean and file contents read back intact" \
    "ok $(seq 7 140 | cksum)" "$(g fsck --full --strict --no-progress && echo ok) $(g show HEAD:dir2/file7.txt | cksum)"

tap_done
